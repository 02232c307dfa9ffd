import { readFileSync } from 'node:fs';
import {
  Compute,
  ExternalAccountClient,
  GoogleAuth,
  IdentityPoolClient,
  UserRefreshClient,
  gcpMetadata,
} from 'google-auth-library';
import type { AuthClient, IdentityPoolClientOptions } from 'google-auth-library';
import { ConfigurationError } from '../errors.ts';
import { endpointsFromEnv } from './endpoints.ts';

/** The one OAuth scope gce-matrix asks for. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Where the credentials come from. */
export type CredentialSource = 'workload-identity-federation' | 'credentials-file' | 'metadata-server';

/** What {@link createGoogleAuth} needs; everything comes in, nothing is read from globals. */
export interface GoogleAuthInputs {
  /** Project for every call; set explicitly so that the library never looks one up over the network. */
  readonly projectId: string;
  /** Input `workload-identity-provider`: `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`. */
  readonly workloadIdentityProvider?: string;
  /** Input `service-account`: the email of the service account to impersonate. */
  readonly serviceAccount?: string;
  /** The process environment (the runner's variables, endpoint overrides). */
  readonly env: NodeJS.ProcessEnv;
  /** Refresh this long before a token expires; the library's default (5 minutes) when omitted. */
  readonly eagerRefreshThresholdMillis?: number;
  /** Whether this machine is a Compute Engine VM; default: gcp-metadata's local (no network) residency check. */
  readonly onGce?: () => boolean;
}

/** An authenticated GoogleAuth for the Google clients (`auth` for Compute, `authClient` for Storage). */
export interface GoogleCredentials {
  readonly auth: GoogleAuth<AuthClient>;
  readonly client: AuthClient;
  readonly source: CredentialSource;
  /** For the log, e.g. `workload identity federation as sa@p.iam.gserviceaccount.com`. */
  readonly description: string;
}

const PROVIDER_RE =
  /^projects\/([^/]+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
const POOL_OR_PROVIDER_ID = /^[a-z0-9-]{4,32}$/;
const EMAIL_RE = /^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$/;

/**
 * Checks a `workload-identity-provider` input and returns its canonical resource name
 * (`projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`); a leading `//iam.googleapis.com/`
 * or `https://iam.googleapis.com/` is accepted and removed.
 */
export function parseWorkloadIdentityProvider(value: string): string {
  const name = value.trim().replace(/^(?:https:)?\/\/iam\.googleapis\.com\//, '');
  const m = PROVIDER_RE.exec(name);
  const example = 'projects/123456789/locations/global/workloadIdentityPools/my-pool/providers/my-provider';
  if (!m) {
    throw new ConfigurationError(
      `Input workload-identity-provider must be the provider's full resource name, like ${example} (got ${JSON.stringify(value)})`,
    );
  }
  const [, project, pool, provider] = m as unknown as [string, string, string, string];
  if (!/^\d+$/.test(project)) {
    throw new ConfigurationError(
      `Input workload-identity-provider must name the project by NUMBER, not id (got projects/${project}); ` +
        'find it with `gcloud projects describe PROJECT --format="value(projectNumber)"`',
    );
  }
  if (!POOL_OR_PROVIDER_ID.test(pool) || !POOL_OR_PROVIDER_ID.test(provider)) {
    throw new ConfigurationError(
      `Input workload-identity-provider has an invalid pool or provider id (4-32 of a-z, 0-9, -): ${JSON.stringify(value)}`,
    );
  }
  return name;
}

/**
 * The Google credentials of an action. With `workload-identity-provider` and `service-account` it exchanges the
 * job's GitHub OIDC token at STS and impersonates the service account (endpoints from {@link endpointsFromEnv});
 * otherwise it uses Application Default Credentials: the `external_account` file in `GOOGLE_APPLICATION_CREDENTIALS`
 * (as google-github-actions/auth writes it) or, on a Compute Engine VM, the metadata server. Service account key
 * files are refused. Tokens are refreshed by the library before they expire, so one object serves for hours.
 */
export function createGoogleAuth(inputs: GoogleAuthInputs): GoogleCredentials {
  const { env, projectId } = inputs;
  if (!projectId.trim())
    throw new ConfigurationError('A Google Cloud project id is required (input project)');
  const provider = inputs.workloadIdentityProvider?.trim();
  const serviceAccount = inputs.serviceAccount?.trim();
  const common = {
    scopes: [CLOUD_PLATFORM_SCOPE],
    ...(inputs.eagerRefreshThresholdMillis
      ? { eagerRefreshThresholdMillis: inputs.eagerRefreshThresholdMillis }
      : {}),
  };

  let client: AuthClient;
  let source: CredentialSource;
  let description: string;
  if (provider || serviceAccount) {
    if (!provider || !serviceAccount) {
      throw new ConfigurationError(
        'Inputs workload-identity-provider and service-account go together: give both, or neither and run ' +
          'google-github-actions/auth before this step',
      );
    }
    client = federatedClient(
      parseWorkloadIdentityProvider(provider),
      checkEmail(serviceAccount),
      env,
      common,
    );
    source = 'workload-identity-federation';
    description = `workload identity federation as ${serviceAccount}`;
  } else if (env.GOOGLE_APPLICATION_CREDENTIALS?.trim()) {
    const path = env.GOOGLE_APPLICATION_CREDENTIALS.trim();
    client = clientFromFile(path, common);
    source = 'credentials-file';
    description = `credentials file ${path}`;
  } else if (
    env.GCE_METADATA_HOST ||
    env.GCE_METADATA_IP ||
    (inputs.onGce ?? gcpMetadata.getGCPResidency)()
  ) {
    // gcp-metadata reads GCE_METADATA_HOST from process.env itself; in an action that is this same environment.
    client = new Compute(common);
    source = 'metadata-server';
    description = "the VM's service account (metadata server)";
  } else {
    throw new ConfigurationError(
      'No Google Cloud credentials: give inputs workload-identity-provider and service-account (the job needs ' +
        '`permissions: id-token: write`), or run google-github-actions/auth before this step',
    );
  }
  const auth = new GoogleAuth<AuthClient>({ authClient: client, projectId, scopes: [CLOUD_PLATFORM_SCOPE] });
  return { auth, client, source, description };
}

function checkEmail(serviceAccount: string): string {
  if (!EMAIL_RE.test(serviceAccount)) {
    throw new ConfigurationError(
      `Input service-account must be a service account email like name@project.iam.gserviceaccount.com (got ${JSON.stringify(serviceAccount)})`,
    );
  }
  return serviceAccount;
}

interface ClientOptions {
  scopes: string[];
  eagerRefreshThresholdMillis?: number;
}

/** The `external_account` configuration google-github-actions/auth would write, built in memory. */
function federatedClient(
  provider: string,
  serviceAccount: string,
  env: NodeJS.ProcessEnv,
  options: ClientOptions,
): AuthClient {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim();
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim();
  if (!requestUrl || !requestToken) {
    throw new ConfigurationError(
      "Workload identity federation needs the job's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set: " +
        'add `permissions: id-token: write` to the job (a pull_request from a fork never gets one)',
    );
  }
  const endpoints = endpointsFromEnv(env);
  const oidcUrl = new URL(requestUrl);
  oidcUrl.searchParams.set('audience', `https://iam.googleapis.com/${provider}`);
  // The IdentityPoolClient constructor, unlike ExternalAccountClient.fromJSON, does not warn about untrusted
  // configurations: this one is built from the action's own inputs.
  return new IdentityPoolClient({
    type: 'external_account',
    audience: `//iam.googleapis.com/${provider}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: new URL('v1/token', endpoints.sts).href,
    service_account_impersonation_url: new URL(
      `v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
      endpoints.iamCredentials,
    ).href,
    credential_source: {
      url: oidcUrl.href,
      headers: { Authorization: `Bearer ${requestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
    ...options,
  });
}

/** A client from a credentials file; `external_account` (and `authorized_user`) only, never a key. */
function clientFromFile(path: string, options: ClientOptions): AuthClient {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigurationError(
      `GOOGLE_APPLICATION_CREDENTIALS points to ${path}, which is not a readable JSON credentials file: ${(err as Error).message}`,
    );
  }
  if (json.type === 'service_account' || 'private_key' in json) {
    throw new ConfigurationError(
      `GOOGLE_APPLICATION_CREDENTIALS (${path}) is a service account key file; gce-matrix never uses key files. ` +
        'Use workload identity federation: google-github-actions/auth with workload_identity_provider, or the ' +
        'inputs workload-identity-provider and service-account',
    );
  }
  if (json.type === 'external_account') {
    const source = json.credential_source as Record<string, unknown> | undefined;
    if (source && (typeof source.url === 'string' || typeof source.file === 'string')) {
      return new IdentityPoolClient({ ...json, ...options } as IdentityPoolClientOptions);
    }
    const client = ExternalAccountClient.fromJSON({ ...json, ...options } as Parameters<
      typeof ExternalAccountClient.fromJSON
    >[0]);
    if (!client)
      throw new ConfigurationError(
        `GOOGLE_APPLICATION_CREDENTIALS (${path}) has an unsupported credential_source`,
      );
    return client;
  }
  if (json.type === 'authorized_user') {
    return new UserRefreshClient({
      clientId: String(json.client_id),
      clientSecret: String(json.client_secret),
      refreshToken: String(json.refresh_token),
      ...(options.eagerRefreshThresholdMillis
        ? { eagerRefreshThresholdMillis: options.eagerRefreshThresholdMillis }
        : {}),
    });
  }
  throw new ConfigurationError(
    `GOOGLE_APPLICATION_CREDENTIALS (${path}) has credentials of type ${JSON.stringify(json.type)}; ` +
      'gce-matrix accepts an external_account file as google-github-actions/auth writes it',
  );
}
