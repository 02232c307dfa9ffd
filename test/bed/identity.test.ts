import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GoogleAuth } from 'google-auth-library';
import { ConfigurationError } from '../../src/errors.ts';
import { createGoogleAuth, parseWorkloadIdentityProvider } from '../../src/gcp/auth.ts';
import { BedClock } from './clock.ts';
import { crc32c } from '../../src/local/crc32c.ts';
import { BedServer, Recorder, sendJson } from './http.ts';
import {
  CLOUD_PLATFORM_SCOPE,
  GitHubOidcStandIn,
  IamCredentialsStandIn,
  SecretManagerStandIn,
  StsStandIn,
  decodeJwt,
  externalAccountCredentials,
  verifyJwt,
} from './identity.ts';
import type { ProviderConfig } from './identity.ts';
import { TokenRegistry } from './tokens.ts';

const PROJECT = 'bed-project';
const NUMBER = '123456789012';
const REPO = 'octo-org/bench-repo';
const SA = `launcher@${PROJECT}.iam.gserviceaccount.com`;
const POOL = `projects/${NUMBER}/locations/global/workloadIdentityPools/github`;
const REPO_MEMBER = `principalSet://iam.googleapis.com/${POOL}/attribute.repository/${REPO}`;

/** The identity stand-ins on loopback, with one provider, one allowed service account and one secret. */
class IdentityBed {
  readonly recorder = new Recorder();
  readonly clock: BedClock;
  readonly tokens: TokenRegistry;
  readonly oidc: GitHubOidcStandIn;
  readonly sts: StsStandIn;
  readonly iam: IamCredentialsStandIn;
  readonly secrets: SecretManagerStandIn;
  readonly provider: string;
  private readonly servers: BedServer[];
  dir = '';

  constructor(opts: { scale?: number; provider?: Partial<ProviderConfig> } = {}) {
    this.clock = new BedClock(opts.scale ?? 1);
    this.tokens = new TokenRegistry(this.clock);
    this.oidc = new GitHubOidcStandIn({ clock: this.clock, repository: REPO });
    this.sts = new StsStandIn({ clock: this.clock, tokens: this.tokens, oidc: this.oidc });
    this.iam = new IamCredentialsStandIn({ clock: this.clock, tokens: this.tokens });
    this.secrets = new SecretManagerStandIn({ tokens: this.tokens, projectNumber: NUMBER });
    this.provider = this.sts.addProvider({
      projectNumber: NUMBER,
      pool: 'github',
      provider: 'gh-actions',
      attributeCondition: `assertion.repository == '${REPO}'`,
      ...opts.provider,
    });
    this.iam.allow(SA, REPO_MEMBER);
    this.secrets.addSecret(PROJECT, 'api-key', 'first');
    this.secrets.addSecret(PROJECT, 'api-key', 's3cr3t value');
    // Both the impersonated account and the repository's own federated identity may read the project's secrets.
    this.secrets.grantAccessor(`serviceAccount:${SA}`, PROJECT);
    this.secrets.grantAccessor(REPO_MEMBER, PROJECT);
    this.servers = [
      new BedServer('oidc', this.recorder, this.oidc.handle),
      new BedServer('sts', this.recorder, this.sts.handle),
      new BedServer('iamcredentials', this.recorder, this.iam.handle),
      new BedServer('secretmanager', this.recorder, this.secrets.handle),
    ];
  }

  async start(): Promise<this> {
    for (const s of this.servers) await s.listen();
    this.dir = await mkdtemp(path.join(tmpdir(), 'identity-bed-'));
    return this;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  origin(service: string): string {
    return this.servers.find((s) => s.service === service)!.origin;
  }

  /** What a job step sees: OIDC variables and the endpoint overrides. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...this.oidc.env(this.origin('oidc')),
      CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `${this.origin('sts')}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `${this.origin('iamcredentials')}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER: `${this.origin('secretmanager')}/`,
      ...extra,
    };
  }

  /** Writes the credential file google-github-actions/auth would write; returns its path. */
  async credentialsFile(serviceAccount = SA): Promise<string> {
    const file = path.join(this.dir, `gha-creds-${Math.random().toString(36).slice(2)}.json`);
    const creds = externalAccountCredentials({
      oidcUrl: this.oidc.requestUrl(this.origin('oidc')),
      oidcRequestToken: this.oidc.requestToken,
      audience: this.provider,
      stsUrl: `${this.origin('sts')}/`,
      iamCredentialsUrl: `${this.origin('iamcredentials')}/`,
      serviceAccount,
    });
    await writeFile(file, JSON.stringify(creds, null, 2));
    return file;
  }

  wif(extra: Partial<Parameters<typeof createGoogleAuth>[0]> = {}): ReturnType<typeof createGoogleAuth> {
    return createGoogleAuth({
      projectId: PROJECT,
      workloadIdentityProvider: this.provider,
      serviceAccount: SA,
      env: this.env(),
      ...extra,
    });
  }

  async readSecret(token: string | undefined, name = 'api-key', version = 'latest'): Promise<Response> {
    return fetch(
      `${this.origin('secretmanager')}/v1/projects/${PROJECT}/secrets/${name}/versions/${version}:access`,
      {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
    );
  }
}

/** Runs `fn` with process.env changed, for code that reads it itself; restores it afterwards. */
async function withProcessEnv<T>(
  changes: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(changes);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.match(String(err.message), pattern);
    return true;
  });
}

describe('GitHub OIDC stand-in', () => {
  let bed: IdentityBed;
  before(async () => {
    bed = await new IdentityBed().start();
  });
  after(() => bed.close());

  it('issues a JWT like GitHub for the requested audience, verifiable with its JWKS', async () => {
    const url = `${bed.oidc.requestUrl(bed.origin('oidc'))}&audience=${encodeURIComponent('https://example.test/aud')}`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${bed.oidc.requestToken}` } });
    assert.equal(res.status, 200);
    const { value } = (await res.json()) as { value: string };
    const jwks = (await (await fetch(`${bed.origin('oidc')}/.well-known/jwks`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const claims = verifyJwt(value, jwks);
    assert.equal(decodeJwt(value).header.alg, 'RS256');
    assert.equal(claims.iss, 'https://token.actions.githubusercontent.com');
    assert.equal(claims.aud, 'https://example.test/aud');
    assert.equal(claims.sub, `repo:${REPO}:ref:refs/heads/main`);
    assert.equal(claims.repository, REPO);
    assert.equal(claims.repository_owner, 'octo-org');
    assert.ok((claims.exp as number) > (claims.iat as number));
  });

  it('defaults the audience to the owner URL, and refuses a wrong request token', async () => {
    const url = bed.oidc.requestUrl(bed.origin('oidc'));
    const ok = (await (
      await fetch(url, { headers: { Authorization: `Bearer ${bed.oidc.requestToken}` } })
    ).json()) as { value: string };
    assert.equal(decodeJwt(ok.value).claims.aud, 'https://github.com/octo-org');
    const bad = await fetch(url, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
  });

  it('uses the pull_request subject for pull_request events', () => {
    const pr = new GitHubOidcStandIn({ clock: new BedClock(), repository: REPO, event_name: 'pull_request' });
    assert.equal(decodeJwt(pr.mint('a')).claims.sub, `repo:${REPO}:pull_request`);
  });
});

describe('STS stand-in', () => {
  let bed: IdentityBed;
  before(async () => {
    bed = await new IdentityBed().start();
  });
  after(() => bed.close());

  const exchange = (body: string | Record<string, string>): Promise<Response> =>
    fetch(`${bed.origin('sts')}/v1/token`, {
      method: 'POST',
      headers: {
        'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('accepts the camelCase JSON body google-github-actions/auth sends', async () => {
    const res = await exchange({
      audience: `//iam.googleapis.com/${bed.provider}`,
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: CLOUD_PLATFORM_SCOPE,
      subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt',
      subjectToken: bed.oidc.mint(`https://iam.googleapis.com/${bed.provider}`),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    const principal = bed.tokens.check(`Bearer ${body.access_token}`);
    assert.equal(
      principal?.subject,
      `principal://iam.googleapis.com/${POOL}/subject/repo:${REPO}:ref:refs/heads/main`,
    );
  });

  it('rejects an expired token, a foreign signature and an unknown provider with OAuth errors', async () => {
    const form = (subjectToken: string, audience = `//iam.googleapis.com/${bed.provider}`): string =>
      new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        subject_token: subjectToken,
      }).toString();
    const aud = `https://iam.googleapis.com/${bed.provider}`;
    const now = Math.floor(Date.now() / 1000);

    const expired = await exchange(form(bed.oidc.mint(aud, { iat: now - 900, exp: now - 600 })));
    assert.equal(expired.status, 400);
    assert.equal(((await expired.json()) as { error: string }).error, 'invalid_grant');

    const stranger = new GitHubOidcStandIn({ clock: bed.clock, repository: REPO });
    const forged = await exchange(form(stranger.mint(aud)));
    assert.equal(forged.status, 400);
    assert.equal(((await forged.json()) as { error: string }).error, 'invalid_grant');

    const unknown = await exchange(form(bed.oidc.mint(aud), `//iam.googleapis.com/${POOL}/providers/nope`));
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { error: string }).error, 'invalid_target');

    const missing = await exchange('grant_type=urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(((await missing.json()) as { error: string }).error, 'invalid_request');
  });
});

describe('workload identity federation through google-auth-library', () => {
  let bed: IdentityBed;
  before(async () => {
    bed = await new IdentityBed().start();
  });
  after(() => bed.close());

  it('loads the external_account file from GOOGLE_APPLICATION_CREDENTIALS (library ADC) and gets a SA token', async () => {
    const file = await bed.credentialsFile();
    bed.recorder.clear();
    const token = await withProcessEnv({ GOOGLE_APPLICATION_CREDENTIALS: file }, async () => {
      const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE], projectId: PROJECT });
      return (await auth.getAccessToken()) ?? '';
    });
    assert.equal(bed.tokens.check(`Bearer ${token}`)?.email, SA);

    const [oidcReq] = bed.recorder.of('oidc', 'GET');
    assert.equal(oidcReq?.query.audience, `https://iam.googleapis.com/${bed.provider}`);
    assert.equal(oidcReq?.headers.authorization, `Bearer ${bed.oidc.requestToken}`);

    const [stsReq] = bed.recorder.of('sts', 'POST', '/v1/token');
    assert.match(String(stsReq?.headers['content-type']), /application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(stsReq?.bodyText);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(form.get('audience'), `//iam.googleapis.com/${bed.provider}`);
    assert.equal(form.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(form.get('requested_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(form.get('scope'), CLOUD_PLATFORM_SCOPE);

    const [iamReq] = bed.recorder.of('iamcredentials', 'POST');
    assert.equal(iamReq?.path, `/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`);
    assert.deepEqual(JSON.parse(iamReq?.bodyText ?? ''), {
      scope: [CLOUD_PLATFORM_SCOPE],
      lifetime: '3600s',
    });
  });

  it('loads the same file through createGoogleAuth with an injected env', async () => {
    const file = await bed.credentialsFile();
    const { auth, source } = createGoogleAuth({
      projectId: PROJECT,
      env: { GOOGLE_APPLICATION_CREDENTIALS: file },
    });
    assert.equal(source, 'credentials-file');
    assert.equal(await auth.getProjectId(), PROJECT);
    const token = await auth.getAccessToken();
    assert.equal(bed.tokens.check(`Bearer ${token}`)?.email, SA);
  });

  it('exchanges the OIDC token itself with workload-identity-provider + service-account', async () => {
    bed.recorder.clear();
    const { auth, source, client } = bed.wif();
    assert.equal(source, 'workload-identity-federation');
    const token = await auth.getAccessToken();
    assert.equal(bed.tokens.check(`Bearer ${token}`)?.email, SA);
    assert.equal(bed.recorder.of('oidc').length, 1);
    assert.equal(bed.recorder.of('sts').length, 1);
    assert.equal(bed.recorder.of('iamcredentials').length, 1);
    // A cached token is reused, and request headers carry it.
    const headers = await client.getRequestHeaders();
    assert.equal(headers.get('authorization'), `Bearer ${token}`);
    assert.equal(bed.recorder.of('sts').length, 1);

    // As the VM agent's curl will: a raw request to Secret Manager with the fetched token.
    const res = await bed.readSecret(token ?? undefined);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; payload: { data: string; dataCrc32c: string } };
    assert.equal(body.name, `projects/${NUMBER}/secrets/api-key/versions/2`);
    const data = Buffer.from(body.payload.data, 'base64');
    assert.equal(data.toString(), 's3cr3t value');
    assert.equal(body.payload.dataCrc32c, String(crc32c(data)));
  });

  it('surfaces a wrong audience as the STS invalid_grant error', async () => {
    const other = await new IdentityBed({
      provider: { allowedAudiences: ['https://example.test/other'] },
    }).start();
    try {
      await rejectsWith(
        other.wif().auth.getAccessToken(),
        /invalid_grant.*does not match the expected audience/,
      );
    } finally {
      await other.close();
    }
  });

  it('surfaces a repository outside the attribute condition as unauthorized_client', async () => {
    const other = await new IdentityBed({
      provider: { attributeCondition: "assertion.repository == 'someone-else/repo'" },
    }).start();
    try {
      await rejectsWith(
        other.wif().auth.getAccessToken(),
        /unauthorized_client.*rejected by the attribute condition/,
      );
    } finally {
      await other.close();
    }
  });

  it('surfaces a service account the repository may not impersonate as IAM PERMISSION_DENIED', async () => {
    const err = await bed
      .wif({ serviceAccount: `other@${PROJECT}.iam.gserviceaccount.com` })
      .auth.getAccessToken()
      .then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e as Error & { status?: number; response?: { status: number } },
      );
    assert.equal(err.response?.status, 403);
    assert.match(
      err.message,
      /Permission 'iam\.serviceAccounts\.getAccessToken' denied on resource \(or it may not exist\)\./,
    );
  });

  it('fails on an unknown provider with invalid_target', async () => {
    await rejectsWith(
      bed.wif({ workloadIdentityProvider: `${POOL}/providers/missing` }).auth.getAccessToken(),
      /invalid_target/,
    );
  });
});

describe('token refresh', () => {
  it('fetches a new token chain when the first token runs out (scaled clock)', async () => {
    // 600x: a 20-minute token lasts two real seconds.
    const bed = await new IdentityBed({ scale: 600 }).start();
    bed.tokens.lifetimeSeconds = 1200;
    bed.oidc.lifetimeSeconds = 1800; // room for a loaded machine between minting and exchange
    try {
      const { auth } = bed.wif({ eagerRefreshThresholdMillis: 100 });
      const first = await auth.getAccessToken();
      assert.equal(await auth.getAccessToken(), first, 'a fresh token is reused');
      assert.equal(bed.recorder.of('iamcredentials').length, 1);

      await new Promise((r) => setTimeout(r, 2300));
      assert.equal((await bed.readSecret(first ?? undefined)).status, 401, 'the first token has expired');
      const second = await auth.getAccessToken();
      assert.notEqual(second, first);
      assert.equal(bed.recorder.of('oidc').length, 2, 'a new OIDC token');
      assert.equal(bed.recorder.of('sts').length, 2, 'a new exchange');
      assert.equal(bed.recorder.of('iamcredentials').length, 2, 'a new impersonation');
      assert.equal((await bed.readSecret(second ?? undefined)).status, 200);
    } finally {
      await bed.close();
    }
  });

  it('honours the requested lifetime in expireTime, in the caller clock', async () => {
    const bed = await new IdentityBed().start();
    try {
      const client = bed.wif().client;
      await client.getAccessToken();
      const expiry = client.credentials.expiry_date ?? 0;
      assert.ok(
        Math.abs(expiry - (Date.now() + 3600_000)) < 5_000,
        `expiry ${new Date(expiry).toISOString()}`,
      );
    } finally {
      await bed.close();
    }
  });
});

describe('IAM Credentials and Secret Manager stand-ins', () => {
  let bed: IdentityBed;
  let federated: string;
  before(async () => {
    bed = await new IdentityBed().start();
    const res = await fetch(`${bed.origin('sts')}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience: `//iam.googleapis.com/${bed.provider}`,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        subject_token: bed.oidc.mint(`https://iam.googleapis.com/${bed.provider}`),
        scope: CLOUD_PLATFORM_SCOPE,
      }),
    });
    federated = ((await res.json()) as { access_token: string }).access_token;
  });
  after(() => bed.close());

  it('generates an ID token for an allowed principal', async () => {
    const res = await fetch(
      `${bed.origin('iamcredentials')}/v1/projects/-/serviceAccounts/${SA}:generateIdToken`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${federated}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: 'https://run.example', includeEmail: true }),
      },
    );
    assert.equal(res.status, 200);
    const { token } = (await res.json()) as { token: string };
    const claims = verifyJwt(token, bed.iam.jwks());
    assert.equal(claims.aud, 'https://run.example');
    assert.equal(claims.email, SA);
  });

  it('answers 401 without a token and 403 with the real shape when not allowed', async () => {
    const url = `${bed.origin('iamcredentials')}/v1/projects/-/serviceAccounts/${SA}:generateAccessToken`;
    const init = (token?: string): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ scope: [CLOUD_PLATFORM_SCOPE] }),
    });
    assert.equal((await fetch(url, init())).status, 401);
    const denied = await fetch(url.replace(SA, 'x@p.iam.gserviceaccount.com'), init(federated));
    assert.equal(denied.status, 403);
    const body = (await denied.json()) as { error: { status: string; message: string } };
    assert.equal(body.error.status, 'PERMISSION_DENIED');
    assert.equal(
      body.error.message,
      "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
    );
  });

  it('reads versions by number and latest, 404s missing ones, 401s without a token', async () => {
    const v1 = (await (await bed.readSecret(federated, 'api-key', '1')).json()) as {
      payload: { data: string };
    };
    assert.equal(Buffer.from(v1.payload.data, 'base64').toString(), 'first');
    assert.equal((await bed.readSecret(federated, 'api-key', '9')).status, 404);
    const missing = await bed.readSecret(federated, 'nope');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { status: string } }).error.status, 'NOT_FOUND');
    assert.equal((await bed.readSecret(undefined)).status, 401);
    assert.equal((await bed.readSecret('ya29.unknown')).status, 401);
  });

  it('answers 403 to a caller whose account holds no grant, and 200 once it holds one on the secret', async () => {
    const restricted = await new IdentityBed().start();
    try {
      restricted.secrets.iam.revoke(
        `projects/${PROJECT}`,
        `serviceAccount:${SA}`,
        'roles/secretmanager.secretAccessor',
      );
      restricted.secrets.grantAccessor(`serviceAccount:vm@${PROJECT}.iam.gserviceaccount.com`, PROJECT);
      const token = (await restricted.wif().auth.getAccessToken()) ?? undefined;
      const res = await restricted.readSecret(token);
      assert.equal(res.status, 403);
      assert.match(
        ((await res.json()) as { error: { message: string } }).error.message,
        /Permission 'secretmanager\.versions\.access' denied/,
      );
      restricted.secrets.grantAccessor(`serviceAccount:${SA}`, PROJECT, 'api-key');
      assert.equal((await restricted.readSecret(token)).status, 200);
    } finally {
      await restricted.close();
    }
  });
});

describe('createGoogleAuth configuration errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'identity-auth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('rejects a service account key file', async () => {
    const file = path.join(dir, 'key.json');
    await writeFile(
      file,
      JSON.stringify({
        type: 'service_account',
        project_id: PROJECT,
        private_key_id: 'abc',
        private_key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
        client_email: SA,
      }),
    );
    assert.throws(
      () => createGoogleAuth({ projectId: PROJECT, env: { GOOGLE_APPLICATION_CREDENTIALS: file } }),
      (err: Error) => err instanceof ConfigurationError && /never uses key files/.test(err.message),
    );
  });

  it('names the missing id-token permission when the OIDC variables are absent', () => {
    assert.throws(
      () =>
        createGoogleAuth({
          projectId: PROJECT,
          workloadIdentityProvider: `${POOL}/providers/gh-actions`,
          serviceAccount: SA,
          env: {},
        }),
      (err: Error) => err instanceof ConfigurationError && /permissions: id-token: write/.test(err.message),
    );
  });

  it('validates the provider and the pairing of the inputs', () => {
    assert.equal(
      parseWorkloadIdentityProvider(`//iam.googleapis.com/${POOL}/providers/gh-1`),
      `${POOL}/providers/gh-1`,
    );
    assert.throws(
      () =>
        parseWorkloadIdentityProvider(
          'projects/my-project/locations/global/workloadIdentityPools/p00l/providers/prov',
        ),
      /by NUMBER/,
    );
    assert.throws(() => parseWorkloadIdentityProvider('my-provider'), ConfigurationError);
    assert.throws(() => createGoogleAuth({ projectId: PROJECT, serviceAccount: SA, env: {} }), /go together/);
    assert.throws(
      () =>
        createGoogleAuth({
          projectId: PROJECT,
          workloadIdentityProvider: `${POOL}/providers/gh-actions`,
          serviceAccount: 'launcher',
          env: {},
        }),
      /service-account/,
    );
  });

  it('says how to authenticate when there are no credentials at all', () => {
    assert.throws(
      () => createGoogleAuth({ projectId: PROJECT, env: {}, onGce: () => false }),
      (err: Error) => err instanceof ConfigurationError && /google-github-actions\/auth/.test(err.message),
    );
  });
});

describe('metadata server credentials', () => {
  it('uses the metadata server at GCE_METADATA_HOST on a VM', async () => {
    const recorder = new Recorder();
    const server = await new BedServer('metadata', recorder, (req, res) => {
      if (req.url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
        sendJson(
          res,
          200,
          { access_token: 'ya29.vm-token', expires_in: 3599, token_type: 'Bearer' },
          {
            'Metadata-Flavor': 'Google',
          },
        );
      } else {
        sendJson(res, 404, {}, { 'Metadata-Flavor': 'Google' });
      }
    }).listen();
    try {
      const host = `127.0.0.1:${server.port}`;
      // gcp-metadata reads GCE_METADATA_HOST from process.env on every request.
      const token = await withProcessEnv({ GCE_METADATA_HOST: host }, async () => {
        const { auth, source } = createGoogleAuth({ projectId: PROJECT, env: { GCE_METADATA_HOST: host } });
        assert.equal(source, 'metadata-server');
        return auth.getAccessToken();
      });
      assert.equal(token, 'ya29.vm-token');
      assert.equal(recorder.of('metadata')[0]?.headers['metadata-flavor'], 'Google');
    } finally {
      await server.close();
    }
  });
});
