import { ConfigurationError } from '../errors.ts';

/**
 * Where each Google API is reached. Defaults are Google's public endpoints; every one can be redirected with
 * the conventions Google's own tools use, for emulators and private endpoints.
 */
export interface GoogleEndpoints {
  /** Compute Engine REST base, ending in `/compute/v1/`. */
  readonly compute: URL;
  /** Cloud Storage: a base URL without `/storage/v1` (as `STORAGE_EMULATOR_HOST` gives it), or undefined for Google's. */
  readonly storage: string | undefined;
  /** Security Token Service base (`v1/token` is appended). */
  readonly sts: URL;
  /** IAM Service Account Credentials base (`v1/projects/-/serviceAccounts/...` is appended). */
  readonly iamCredentials: URL;
  /** Secret Manager base (`v1/projects/...` is appended). */
  readonly secretManager: URL;
}

const DEFAULTS = {
  compute: 'https://compute.googleapis.com/compute/v1/',
  sts: 'https://sts.googleapis.com/',
  iamCredentials: 'https://iamcredentials.googleapis.com/',
  secretManager: 'https://secretmanager.googleapis.com/',
} as const;

/** Reads endpoint overrides from the environment (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`, `STORAGE_EMULATOR_HOST`). */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): GoogleEndpoints {
  const compute = parseOverride(env, 'COMPUTE', DEFAULTS.compute);
  if (!compute.pathname.endsWith('/compute/v1/')) {
    throw new ConfigurationError(
      `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE must be a URL ending in /compute/v1/ (got ${compute.href}); ` +
        'set it like http://127.0.0.1:9000/compute/v1/',
    );
  }
  const storageHost = env.STORAGE_EMULATOR_HOST?.trim();
  return {
    compute,
    storage: storageHost ? withScheme(storageHost).replace(/\/+$/, '') : undefined,
    sts: parseOverride(env, 'STS', DEFAULTS.sts),
    iamCredentials: parseOverride(env, 'IAMCREDENTIALS', DEFAULTS.iamCredentials),
    secretManager: parseOverride(env, 'SECRETMANAGER', DEFAULTS.secretManager),
  };
}

function parseOverride(env: NodeJS.ProcessEnv, api: string, fallback: string): URL {
  const name = `CLOUDSDK_API_ENDPOINT_OVERRIDES_${api}`;
  const raw = env[name]?.trim();
  if (!raw) return new URL(fallback);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `${name} is not a URL (got ${JSON.stringify(raw)}); set it like ${fallback}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`${name} must be an http or https URL (got ${raw})`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function withScheme(host: string): string {
  return /^https?:\/\//.test(host) ? host : `http://${host}`;
}

/**
 * The options the generated Compute Engine clients need to talk REST to `base`: host, port and protocol
 * (their path templates already start with `/compute/v1/`).
 */
export function computeClientOptions(base: URL): {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
  fallback: true;
} {
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return {
    apiEndpoint: base.hostname,
    port: base.port ? Number(base.port) : protocol === 'http' ? 80 : 443,
    protocol,
    fallback: true,
  };
}
