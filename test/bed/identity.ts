import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type http from 'node:http';
import {
  AccessBoundaryError,
  downscopedTokenRefusal,
  isStorageOnly,
  parseAccessBoundaryOptions,
  predefinedRolePermissions,
} from './access-boundary.ts';
import type { RolePermissions } from './access-boundary.ts';
import type { BedClock } from './clock.ts';
import { crc32c } from '../../src/local/crc32c.ts';
import { sendGoogleError, sendGoogleResponse, sendJson } from './http.ts';
import type { BedRequest, Handler } from './http.ts';
import {
  IamModel,
  iamCredentialsDenied,
  memberMatches,
  secretManagerDenied,
  secretVersionResource,
  serviceAccountResource,
} from './iam.ts';
import type { Principal, TokenRegistry } from './tokens.ts';

/** The issuer of GitHub Actions OIDC tokens. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** The OAuth scope Google clients ask for by default. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPES = new Set([
  'urn:ietf:params:oauth:token-type:jwt',
  'urn:ietf:params:oauth:token-type:id_token',
]);

// ---------------------------------------------------------------------------------------------------------------
// JWTs (RS256) with node:crypto

/** An RSA key that signs RS256 JWTs and publishes itself as a JWKS. */
class JwtSigner {
  readonly kid = randomBytes(8).toString('hex');
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  sign(claims: Record<string, unknown>): string {
    const header = b64json({ typ: 'JWT', alg: 'RS256', kid: this.kid });
    const payload = b64json(claims);
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), this.privateKey).toString(
      'base64url',
    );
    return `${header}.${payload}.${signature}`;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return {
      keys: [{ ...this.publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' }],
    };
  }
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The parts of a compact JWT; throws on anything that is not one. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signed: string;
  signature: Buffer;
} {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWT');
  const [h, p, s] = parts as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>,
    signed: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Verifies an RS256 JWT against a JWKS (as a verifier outside the bed would); returns its claims or throws. */
export function verifyJwt(token: string, jwks: { keys: Record<string, unknown>[] }): Record<string, unknown> {
  const { header, claims, signed, signature } = decodeJwt(token);
  if (header.alg !== 'RS256') throw new Error(`unexpected alg ${String(header.alg)}`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${String(header.kid)}`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  if (!verify('sha256', Buffer.from(signed), key, signature)) throw new Error('bad signature');
  return claims;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers

/** When a token the bed issued with `virtualExpiry` expires in the client's own (real) clock. */
function wallClockAt(clock: BedClock, virtualAt: number): number {
  return Date.now() + clock.toReal(virtualAt - clock.now());
}

function bearer(req: BedRequest): string | undefined {
  const header = req.headers.authorization;
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1];
}

function sendUnauthenticated(res: http.ServerResponse, missing: boolean): void {
  const message = missing
    ? 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'
    : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
  sendGoogleError(res, 401, missing ? 'required' : 'authError', message);
}

/** A federated principal: the token STS issued for a workload identity pool, with its mapped attributes. */
export interface FederatedPrincipal extends Principal {
  readonly kind: 'federated';
  /** `projects/NUM/locations/global/workloadIdentityPools/POOL` */
  readonly pool: string;
  /** Mapped attributes without the `attribute.` prefix, e.g. `{ repository: 'o/r' }`. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Whether an IAM member string names a principal; the IAM model's matching, kept here for existing importers. */
export { memberMatches };

// ---------------------------------------------------------------------------------------------------------------
// GitHub Actions OIDC token endpoint

/** What the job's OIDC token says about the run; every field can be overridden. */
export interface GitHubRunClaims {
  repository: string;
  ref: string;
  sha: string;
  event_name: string;
  actor: string;
  workflow: string;
  run_id: string;
  run_number: string;
  run_attempt: string;
  /** GitHub environment the job deploys to, if any (changes `sub`). */
  environment?: string;
  /** Any further or replacing claims (`sub`, `job_workflow_ref`, ...). */
  extra?: Record<string, unknown>;
}

/**
 * The Actions runtime's OIDC token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`): `GET .../idtoken?api-version=2.0&audience=A`
 * with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers `{"value": "<JWT>"}`, an RS256 JWT with GitHub's
 * claims. Its JWKS is served at `/.well-known/jwks`.
 */
export class GitHubOidcStandIn {
  readonly clock: BedClock;
  /** The bearer token the runner would put in `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. */
  readonly requestToken = `bed-oidc-${randomBytes(16).toString('hex')}`;
  readonly claims: GitHubRunClaims;
  /** Lifetime of minted tokens, virtual seconds. */
  lifetimeSeconds = 300;
  /** Tokens minted so far, newest last. */
  readonly minted: { audience: string; token: string }[] = [];
  private readonly signer = new JwtSigner();
  private readonly path = `/_apis/distributedtask/hubs/build/plans/${randomUUID()}/jobs/${randomUUID()}/idtoken`;

  constructor(opts: { clock: BedClock } & Partial<GitHubRunClaims>) {
    const { clock, ...claims } = opts;
    this.clock = clock;
    this.claims = {
      repository: 'octo-org/octo-repo',
      ref: 'refs/heads/main',
      sha: 'a'.repeat(40),
      event_name: 'push',
      actor: 'octocat',
      workflow: 'CI',
      run_id: '1234567890',
      run_number: '42',
      run_attempt: '1',
      ...claims,
    };
  }

  /** The repository's numeric id, as the `repository_id` claim carries it (unless `extra` replaces it). */
  get repositoryId(): string {
    return numericId(this.claims.repository);
  }

  /** Path and query of `ACTIONS_ID_TOKEN_REQUEST_URL` (append it to the server's origin). */
  get requestPath(): string {
    return `${this.path}?api-version=2.0`;
  }

  /** `ACTIONS_ID_TOKEN_REQUEST_URL` as the runner sets it, for this stand-in served at `origin`. */
  requestUrl(origin: string): string {
    return `${origin}${this.requestPath}`;
  }

  /** The two environment variables the runner sets when the job has `permissions: id-token: write`. */
  env(origin: string): { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string } {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: this.requestUrl(origin),
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken,
    };
  }

  /** The verification keys, as GitHub publishes them at `.well-known/jwks`. */
  jwks(): { keys: Record<string, unknown>[] } {
    return this.signer.jwks();
  }

  /** Verifies a token's signature against this stand-in's key; returns its claims or throws. */
  verify(token: string): Record<string, unknown> {
    return verifyJwt(token, this.jwks());
  }

  /** Mints a token as the endpoint would (audience default: the owner's URL), with optional claim overrides. */
  mint(audience?: string, overrides: Record<string, unknown> = {}): string {
    const c = this.claims;
    const [owner] = c.repository.split('/');
    const iat = Math.floor(this.clock.now() / 1000);
    const sub = c.environment
      ? `repo:${c.repository}:environment:${c.environment}`
      : c.event_name === 'pull_request' || c.event_name === 'pull_request_target'
        ? `repo:${c.repository}:pull_request`
        : `repo:${c.repository}:ref:${c.ref}`;
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      sub,
      aud: audience ?? `https://github.com/${owner}`,
      ref: c.ref,
      sha: c.sha,
      repository: c.repository,
      repository_owner: owner,
      repository_id: this.repositoryId,
      repository_owner_id: numericId(owner ?? ''),
      repository_visibility: 'private',
      run_id: c.run_id,
      run_number: c.run_number,
      run_attempt: c.run_attempt,
      actor: c.actor,
      actor_id: numericId(c.actor),
      workflow: c.workflow,
      workflow_ref: `${c.repository}/.github/workflows/ci.yml@${c.ref}`,
      job_workflow_ref: `${c.repository}/.github/workflows/ci.yml@${c.ref}`,
      event_name: c.event_name,
      ref_type: c.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      runner_environment: 'github-hosted',
      ...(c.environment ? { environment: c.environment } : {}),
      iss: GITHUB_ISSUER,
      nbf: iat - 5,
      iat,
      exp: iat + this.lifetimeSeconds,
      ...c.extra,
      ...overrides,
    };
    const token = this.signer.sign(claims);
    this.minted.push({ audience: String(claims.aud), token });
    return token;
  }

  readonly handle: Handler = (req, res) => {
    if (req.method === 'GET' && req.url.pathname === '/.well-known/jwks') {
      sendJson(res, 200, this.jwks());
      return;
    }
    if (req.method !== 'GET' || req.url.pathname !== this.path) {
      sendJson(res, 404, { message: `no route for ${req.method} ${req.url.pathname}` });
      return;
    }
    if (bearer(req) !== this.requestToken) {
      sendJson(res, 401, { message: 'The user is not authorized to access this resource.' });
      return;
    }
    const audience = req.url.searchParams.get('audience') ?? undefined;
    sendJson(res, 200, { count: 1, value: this.mint(audience || undefined) });
  };
}

function numericId(s: string): string {
  return String(createHash('sha256').update(s).digest().readUInt32BE(0));
}

// ---------------------------------------------------------------------------------------------------------------
// Security Token Service

/** A workload identity pool provider of the STS stand-in. */
export interface ProviderConfig {
  projectNumber: string;
  pool: string;
  provider: string;
  /** Accepted `aud` values; default `https://iam.googleapis.com/projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`. */
  allowedAudiences?: string[];
  /** Required `iss`; default GitHub's. */
  issuer?: string;
  /** `google.subject` / `attribute.NAME` -> `assertion.CLAIM`; default subject from `sub` and the usual GitHub claims. */
  attributeMapping?: Record<string, string>;
  /**
   * A CEL-like condition on `assertion.X` / `attribute.X` with `==`, `!=`, `&&`, `||` and string literals
   * (e.g. `assertion.repository == 'o/r'`), mapped attributes that must equal given values
   * (`{ repository: 'o/r' }`), or a predicate on the mapped attributes and the claims.
   */
  attributeCondition?:
    | string
    | Record<string, string>
    | ((attributes: Record<string, string>, assertion: Record<string, unknown>) => boolean);
}

const DEFAULT_MAPPING: Record<string, string> = {
  'google.subject': 'assertion.sub',
  'attribute.actor': 'assertion.actor',
  'attribute.repository': 'assertion.repository',
  'attribute.repository_owner': 'assertion.repository_owner',
  'attribute.ref': 'assertion.ref',
  'attribute.event_name': 'assertion.event_name',
  'attribute.workflow': 'assertion.workflow',
};

/** `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV` for a provider config. */
export function providerName(p: Pick<ProviderConfig, 'projectNumber' | 'pool' | 'provider'>): string {
  return `projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}/providers/${p.provider}`;
}

/** Evaluates the small CEL subset of {@link ProviderConfig.attributeCondition}. */
export function evaluateCondition(
  condition: string,
  attributes: Record<string, string>,
  assertion: Record<string, unknown>,
): boolean {
  const lookup = (ref: string): unknown => {
    const m = /^(assertion|attribute)\.(\w+)$/.exec(ref.trim());
    if (!m) throw new Error(`unsupported term ${ref}`);
    return m[1] === 'assertion' ? assertion[m[2]] : attributes[m[2]];
  };
  const comparison = (term: string): boolean => {
    const t = term.trim().replace(/^\((.*)\)$/, '$1');
    const m = /^(\S+)\s*(==|!=)\s*(['"])(.*)\3$/.exec(t.trim());
    if (!m) throw new Error(`unsupported condition ${term}`);
    const equal = lookup(m[1]) === m[4];
    return m[2] === '==' ? equal : !equal;
  };
  return condition.split('||').some((alt) => alt.split('&&').every(comparison));
}

function stsError(res: http.ServerResponse, error: string, description: string, status = 400): void {
  sendJson(res, status, { error, error_description: description });
}

/**
 * Google's Security Token Service: `POST /v1/token` exchanging a GitHub OIDC JWT (form-urlencoded, as
 * google-auth-library sends it, or JSON with snake_case or camelCase keys, as google-github-actions/auth does) for
 * a federated access token, checking signature, expiry, issuer, the provider's allowed audiences and its
 * attribute condition. Errors are OAuth-shaped: `400 {"error": "invalid_grant", "error_description": ...}`.
 *
 * It also downscopes: an access token the bed issued (`subject_token_type` and `requested_token_type`
 * `urn:ietf:params:oauth:token-type:access_token`) with a Credential Access Boundary in `options` is exchanged
 * for a token of the same principal carrying the boundary and expiring with the subject token; `expires_in` is
 * left out for a user account's token, as Google leaves it out. A malformed request or boundary is answered
 * `400 invalid_request`; a subject token that is unknown, expired, without the cloud-platform scope or already
 * downscoped (Google adds no security attributes to a token that has some) `400 invalid_grant`.
 */
export class StsStandIn {
  readonly clock: BedClock;
  readonly tokens: TokenRegistry;
  readonly oidc: GitHubOidcStandIn;
  /** Resolves the roles a boundary names (default: the predefined roles the bed models). */
  rolePermissions: RolePermissions = predefinedRolePermissions;
  private readonly providers = new Map<string, ProviderConfig>();

  constructor(opts: { clock: BedClock; tokens: TokenRegistry; oidc: GitHubOidcStandIn }) {
    this.clock = opts.clock;
    this.tokens = opts.tokens;
    this.oidc = opts.oidc;
  }

  /** Adds a provider; returns its resource name (`projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`). */
  addProvider(config: ProviderConfig): string {
    const name = providerName(config);
    this.providers.set(name, config);
    return name;
  }

  readonly handle: Handler = (req, res) => {
    if (req.method !== 'POST' || req.url.pathname !== '/v1/token') {
      sendGoogleError(
        res,
        404,
        'notFound',
        `The requested URL ${req.url.pathname} was not found on this server.`,
      );
      return;
    }
    const params = readParams(req);
    const grantType = params.get('grant_type');
    if (grantType !== TOKEN_EXCHANGE_GRANT) {
      stsError(res, 'unsupported_grant_type', `Invalid value for "grant_type": ${grantType ?? '(missing)'}`);
      return;
    }
    const subjectTokenType = params.get('subject_token_type');
    if (subjectTokenType === ACCESS_TOKEN_TYPE) {
      this.downscope(params, res);
      return;
    }
    if (!subjectTokenType || !JWT_TOKEN_TYPES.has(subjectTokenType)) {
      stsError(
        res,
        'invalid_request',
        `Invalid value for "subject_token_type": ${subjectTokenType ?? '(missing)'}`,
      );
      return;
    }
    const requested = params.get('requested_token_type');
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
      stsError(res, 'invalid_request', `Invalid value for "requested_token_type": ${requested}`);
      return;
    }
    const subjectToken = params.get('subject_token');
    if (!subjectToken) {
      stsError(res, 'invalid_request', 'Missing required parameter "subject_token".');
      return;
    }
    const audience = params.get('audience') ?? '';
    const provider = this.providers.get(audience.replace(/^\/\/iam\.googleapis\.com\//, ''));
    if (!audience.startsWith('//iam.googleapis.com/') || !provider) {
      stsError(
        res,
        'invalid_target',
        'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
      );
      return;
    }
    let claims: Record<string, unknown>;
    try {
      claims = this.oidc.verify(subjectToken);
    } catch {
      stsError(res, 'invalid_grant', 'Invalid JWT signature or malformed ID Token.');
      return;
    }
    const now = this.clock.now() / 1000;
    const issuer = provider.issuer ?? GITHUB_ISSUER;
    if (claims.iss !== issuer) {
      stsError(
        res,
        'invalid_grant',
        `The issuer in ID Token ${String(claims.iss)} does not match the expected ones: ${issuer}.`,
      );
      return;
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now) {
      stsError(res, 'invalid_grant', `ID Token expired at ${String(claims.exp)}, now is ${Math.floor(now)}.`);
      return;
    }
    if (typeof claims.nbf === 'number' && claims.nbf > now + 60) {
      stsError(res, 'invalid_grant', `ID Token is not valid before ${claims.nbf}.`);
      return;
    }
    const allowed = provider.allowedAudiences ?? [`https://iam.googleapis.com/${providerName(provider)}`];
    const auds = Array.isArray(claims.aud) ? (claims.aud as unknown[]).map(String) : [String(claims.aud)];
    if (!auds.some((a) => allowed.includes(a))) {
      stsError(
        res,
        'invalid_grant',
        `The audience in ID Token [${auds.join(', ')}] does not match the expected audience ${allowed.join(', ')}.`,
      );
      return;
    }
    const attributes: Record<string, string> = {};
    let subject: string | undefined;
    for (const [target, source] of Object.entries(provider.attributeMapping ?? DEFAULT_MAPPING)) {
      const claim = /^assertion\.(\w+)$/.exec(source)?.[1];
      const value = claim === undefined ? undefined : claims[claim];
      if (value === undefined) continue;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (target === 'google.subject') subject = text;
      else if (target.startsWith('attribute.')) attributes[target.slice(10)] = text;
    }
    if (!subject) {
      stsError(res, 'invalid_request', "The mapped attribute 'google.subject' must be of type STRING.");
      return;
    }
    const condition = provider.attributeCondition;
    if (condition !== undefined) {
      let admitted: boolean;
      try {
        admitted =
          typeof condition === 'function'
            ? condition(attributes, claims)
            : typeof condition === 'string'
              ? evaluateCondition(condition, attributes, claims)
              : Object.entries(condition).every(([k, v]) => attributes[k] === v);
      } catch {
        admitted = false;
      }
      if (!admitted) {
        stsError(res, 'unauthorized_client', 'The given credential is rejected by the attribute condition.');
        return;
      }
    }
    const pool = `projects/${provider.projectNumber}/locations/global/workloadIdentityPools/${provider.pool}`;
    const principal: FederatedPrincipal = {
      subject: `principal://iam.googleapis.com/${pool}/subject/${subject}`,
      scopes: (params.get('scope') ?? CLOUD_PLATFORM_SCOPE).split(/\s+/).filter(Boolean),
      kind: 'federated',
      pool,
      attributes,
    };
    const { token, expiresAt } = this.tokens.issue(principal);
    sendJson(res, 200, {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: Math.max(1, Math.round((wallClockAt(this.clock, expiresAt) - Date.now()) / 1000)),
    });
  };

  /** Applies a Credential Access Boundary to an access token the bed issued. */
  private downscope(params: { get(name: string): string | undefined }, res: http.ServerResponse): void {
    const requested = params.get('requested_token_type');
    if (requested !== ACCESS_TOKEN_TYPE) {
      stsError(
        res,
        'invalid_request',
        requested === undefined
          ? 'Missing required parameter "requested_token_type".'
          : `Invalid value for "requested_token_type": ${requested}`,
      );
      return;
    }
    const subjectToken = params.get('subject_token');
    if (!subjectToken) {
      stsError(res, 'invalid_request', 'Missing required parameter "subject_token".');
      return;
    }
    const options = params.get('options');
    if (options === undefined) {
      stsError(
        res,
        'invalid_request',
        'Missing required parameter "options": an access token can only be exchanged with an access boundary.',
      );
      return;
    }
    let accessBoundary;
    try {
      accessBoundary = parseAccessBoundaryOptions(options, this.rolePermissions);
    } catch (err) {
      if (!(err instanceof AccessBoundaryError)) throw err;
      stsError(res, err.error, err.message);
      return;
    }
    const subject = this.tokens.lookup(subjectToken);
    if (!subject) {
      stsError(res, 'invalid_grant', 'The subject token is invalid or has expired.');
      return;
    }
    const { principal, expiresAt } = subject;
    if (principal.accessBoundary !== undefined) {
      stsError(
        res,
        'invalid_grant',
        'The subject token already has security attributes (an access boundary); no further ones can be applied.',
      );
      return;
    }
    if (!principal.scopes.includes(CLOUD_PLATFORM_SCOPE)) {
      stsError(res, 'invalid_grant', `The subject token does not have the scope ${CLOUD_PLATFORM_SCOPE}.`);
      return;
    }
    const issued = this.tokens.issueUntil({ ...principal, accessBoundary }, expiresAt);
    const body: Record<string, unknown> = {
      access_token: issued.token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
    };
    // Google leaves expires_in out when the subject token is a user account's: it expires with that token.
    if (!principal.subject.startsWith('user:')) {
      body.expires_in = Math.max(1, Math.round((wallClockAt(this.clock, expiresAt) - Date.now()) / 1000));
    }
    sendJson(res, 200, body);
  }
}

/** STS parameters from a form or JSON body; JSON keys may be camelCase. */
function readParams(req: BedRequest): { get(name: string): string | undefined } {
  const type = String(req.headers['content-type'] ?? '');
  const text = req.body.toString('utf8');
  const values = new Map<string, string>();
  if (/json/.test(type) || text.trimStart().startsWith('{')) {
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text || '{}') as Record<string, unknown>;
    } catch {
      // an unparsable body has no parameters, which the checks report
    }
    for (const [k, v] of Object.entries(parsed)) {
      const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      values.set(snake, Array.isArray(v) ? v.join(' ') : String(v));
    }
  } else {
    for (const [k, v] of new URLSearchParams(text)) values.set(k, v);
  }
  return { get: (name) => values.get(name) || undefined };
}

// ---------------------------------------------------------------------------------------------------------------
// IAM Service Account Credentials

/**
 * IAM Service Account Credentials: `POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken` (JSON
 * `{scope[], lifetime: "3600s"}` -> `{accessToken, expireTime}`) and `:generateIdToken` (`{audience, includeEmail}` ->
 * `{token}`), for a caller whose principal holds a role on the service account ({@link allow}). The issued
 * lifetime is the requested one capped at the registry's `lifetimeSeconds`, and `expireTime` is told in the
 * caller's wall clock so a real client refreshes when the virtual lifetime runs out.
 */
export class IamCredentialsStandIn {
  readonly clock: BedClock;
  readonly tokens: TokenRegistry;
  /** Issuer of Google-signed ID tokens (`generateIdToken`). */
  readonly googleSigner = new JwtSigner();
  /** The policies each call is checked against (the bed's, or one of this stand-in's own). */
  readonly iam: IamModel;

  constructor(opts: { clock: BedClock; tokens: TokenRegistry; iam?: IamModel }) {
    this.clock = opts.clock;
    this.tokens = opts.tokens;
    this.iam = opts.iam ?? new IamModel();
  }

  /** Grants `member` a role on the service account (default `roles/iam.workloadIdentityUser`). */
  allow(serviceAccount: string, member: string, role = 'roles/iam.workloadIdentityUser'): void {
    this.iam.grant(`projects/-/serviceAccounts/${serviceAccount}`, member, role);
  }

  /** Removes every binding on the service account. */
  revokeAll(serviceAccount: string): void {
    this.iam.setPolicy(`projects/-/serviceAccounts/${serviceAccount}`, []);
  }

  /** Keys that verify `generateIdToken` tokens. */
  jwks(): { keys: Record<string, unknown>[] } {
    return this.googleSigner.jwks();
  }

  private permitted(serviceAccount: string, p: Principal, permission: string): boolean {
    return this.iam.check(p, permission, serviceAccountResource(serviceAccount)).allowed;
  }

  readonly handle: Handler = (req, res) => {
    const m =
      /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+)(?::|%3A)(generateAccessToken|generateIdToken)$/i.exec(
        req.url.pathname,
      );
    if (req.method !== 'POST' || !m) {
      sendGoogleError(
        res,
        404,
        'notFound',
        `The requested URL ${req.url.pathname} was not found on this server.`,
      );
      return;
    }
    const email = decodeURIComponent(m[1]);
    const method = m[2];
    const token = bearer(req);
    const principal = this.tokens.check(req.headers.authorization);
    if (!principal) {
      sendUnauthenticated(res, token === undefined);
      return;
    }
    if (
      !principal.scopes.some((s) => s === CLOUD_PLATFORM_SCOPE || s === 'https://www.googleapis.com/auth/iam')
    ) {
      sendGoogleError(res, 403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
      return;
    }
    if (isStorageOnly(principal)) {
      sendGoogleResponse(
        res,
        downscopedTokenRefusal(
          'iamcredentials.googleapis.com',
          `google.iam.credentials.v1.IAMCredentials.${method === 'generateAccessToken' ? 'GenerateAccessToken' : 'GenerateIdToken'}`,
        ),
      );
      return;
    }
    const permission =
      method === 'generateAccessToken'
        ? 'iam.serviceAccounts.getAccessToken'
        : 'iam.serviceAccounts.getOpenIdToken';
    if (!this.permitted(email, principal, permission)) {
      sendGoogleResponse(res, iamCredentialsDenied(permission));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = req.body.length ? (JSON.parse(req.body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      sendGoogleError(res, 400, 'badRequest', 'Invalid JSON payload received.');
      return;
    }
    if (method === 'generateIdToken') {
      this.idToken(res, email, body);
      return;
    }
    const scopes = Array.isArray(body.scope) ? body.scope.map(String) : [];
    if (scopes.length === 0) {
      sendGoogleError(res, 400, 'badRequest', 'Scope required.');
      return;
    }
    const lifetime = body.lifetime === undefined ? 3600 : parseDuration(body.lifetime);
    if (lifetime === undefined || lifetime <= 0 || lifetime > 43200) {
      sendGoogleError(res, 400, 'badRequest', `Invalid value for lifetime: ${String(body.lifetime)}`);
      return;
    }
    const issued = this.tokens.issue(
      { subject: `serviceAccount:${email}`, email, scopes, kind: 'service-account' },
      Math.min(lifetime, this.tokens.lifetimeSeconds),
    );
    sendJson(res, 200, {
      accessToken: issued.token,
      // Millisecond precision (Google prints whole seconds) so that scaled lifetimes of a second still work.
      expireTime: new Date(wallClockAt(this.clock, issued.expiresAt)).toISOString(),
    });
  };

  private idToken(res: http.ServerResponse, email: string, body: Record<string, unknown>): void {
    if (typeof body.audience !== 'string' || body.audience === '') {
      sendGoogleError(res, 400, 'badRequest', 'Audience required.');
      return;
    }
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: body.audience,
      azp: numericId(email),
      sub: numericId(email),
      iss: 'https://accounts.google.com',
      iat,
      exp: iat + 3600,
      ...(body.includeEmail === true ? { email, email_verified: true } : {}),
    };
    sendJson(res, 200, { token: this.googleSigner.sign(claims) });
  }
}

function parseDuration(value: unknown): number | undefined {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(value));
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Secret Manager

interface SecretVersion {
  readonly data: Buffer;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
}

/**
 * Secret Manager: `GET /v1/projects/P/secrets/S/versions/V:access` (V a number or `latest`) ->
 * `{name: "projects/NUM/secrets/S/versions/N", payload: {data, dataCrc32c}}`. Only a caller that holds
 * `secretmanager.versions.access` on the version (through the secret's or the project's policy) may read it:
 * 403 otherwise, before whether the secret exists is told. 401 without a valid token, 404 for a missing secret or
 * version.
 */
export class SecretManagerStandIn {
  readonly tokens: TokenRegistry;
  private readonly secrets = new Map<string, SecretVersion[]>();
  private readonly numbers = new Map<string, string>();
  private readonly defaultNumber: string | undefined;
  /** The policies each call is checked against (the bed's, or one of this stand-in's own). */
  readonly iam: IamModel;

  /** `projectNumber`: the number every project id maps to unless {@link setProjectNumber} says otherwise. */
  constructor(opts: { tokens: TokenRegistry; clock?: BedClock; projectNumber?: string; iam?: IamModel }) {
    this.tokens = opts.tokens;
    this.defaultNumber = opts.projectNumber;
    this.iam = opts.iam ?? new IamModel();
  }

  /** Declares the number of a project given by id (otherwise the default, or a stable made-up number). */
  setProjectNumber(projectId: string, projectNumber: string): void {
    this.numbers.set(projectId, projectNumber);
  }

  /** The project number for an id or number. */
  projectNumber(project: string): string {
    if (/^\d+$/.test(project)) return project;
    return (
      this.numbers.get(project) ??
      this.defaultNumber ??
      String(100000000000 + (Number(numericId(project)) % 899999999999))
    );
  }

  /** Adds a version to the secret (creating it); returns the version number. */
  addSecret(project: string, name: string, value: string | Buffer): number {
    const key = `${this.projectNumber(project)}/${name}`;
    const versions = this.secrets.get(key) ?? [];
    versions.push({ data: Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), state: 'ENABLED' });
    this.secrets.set(key, versions);
    return versions.length;
  }

  /** Disables a version (reads of it then fail with FAILED_PRECONDITION). */
  disableVersion(project: string, name: string, version: number): void {
    const v = this.secrets.get(`${this.projectNumber(project)}/${name}`)?.[version - 1];
    if (v) v.state = 'DISABLED';
  }

  /** Grants `member` `roles/secretmanager.secretAccessor` on one secret, or on the whole project. */
  grantAccessor(member: string, project: string, secret?: string): void {
    const number = this.projectNumber(project);
    if (!/^\d+$/.test(project)) this.iam.addProject({ id: project, number });
    const target = secret === undefined ? `projects/${number}` : `projects/${number}/secrets/${secret}`;
    this.iam.grant(target, member, 'roles/secretmanager.secretAccessor');
  }

  readonly handle: Handler = (req, res) => {
    const path = req.url.pathname.replace(/%3A/gi, ':');
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(path);
    if (req.method !== 'GET' || !m) {
      sendGoogleError(
        res,
        404,
        'notFound',
        `The requested URL ${req.url.pathname} was not found on this server.`,
      );
      return;
    }
    const [, project, secret, version] = m as unknown as [string, string, string, string];
    const principal = this.tokens.check(req.headers.authorization);
    if (!principal) {
      sendUnauthenticated(res, bearer(req) === undefined);
      return;
    }
    if (isStorageOnly(principal)) {
      sendGoogleResponse(
        res,
        downscopedTokenRefusal(
          'secretmanager.googleapis.com',
          'google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion',
        ),
      );
      return;
    }
    const number = this.projectNumber(project);
    const requested = `projects/${project}/secrets/${secret}/versions/${version}`;
    const permission = 'secretmanager.versions.access';
    if (!this.iam.check(principal, permission, secretVersionResource(number, secret, version)).allowed) {
      sendGoogleResponse(res, secretManagerDenied(permission, requested));
      return;
    }
    const versions = this.secrets.get(`${number}/${secret}`);
    if (!versions || versions.length === 0) {
      sendGoogleError(
        res,
        404,
        'notFound',
        `Secret [projects/${number}/secrets/${secret}] not found or has no versions.`,
      );
      return;
    }
    let n: number;
    if (version === 'latest') {
      n = versions.findLastIndex((v) => v.state === 'ENABLED') + 1;
      if (n === 0) {
        sendGoogleError(
          res,
          400,
          'failedPrecondition',
          `Secret [projects/${number}/secrets/${secret}] has no enabled versions.`,
        );
        return;
      }
    } else {
      n = /^\d+$/.test(version) ? Number(version) : 0;
    }
    const name = `projects/${number}/secrets/${secret}/versions/${n}`;
    const found = versions[n - 1];
    if (!found || found.state === 'DESTROYED') {
      sendGoogleError(
        res,
        404,
        'notFound',
        `Secret Version [projects/${number}/secrets/${secret}/versions/${version}] not found.`,
      );
      return;
    }
    if (found.state !== 'ENABLED') {
      sendGoogleError(res, 400, 'failedPrecondition', `Secret Version [${name}] is in ${found.state} state.`);
      return;
    }
    sendJson(res, 200, {
      name,
      payload: { data: found.data.toString('base64'), dataCrc32c: String(crc32c(found.data)) },
    });
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Credential file

/** Inputs of {@link externalAccountCredentials}. */
export interface ExternalAccountInputs {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL` */
  oidcUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN` */
  oidcRequestToken: string;
  /** Provider resource name (`projects/NUM/.../providers/PROV`) or the STS audience (`//iam.googleapis.com/...`). */
  audience: string;
  /** JWT audience to request from the OIDC endpoint; default `https://iam.googleapis.com/<provider>`. */
  oidcAudience?: string;
  /** STS base URL (`v1/token` is appended) or the full token URL ending in `/token`. */
  stsUrl: string;
  /** IAM Credentials base URL (`v1/projects/-/serviceAccounts/...` is appended) or the full `:generateAccessToken` URL. */
  iamCredentialsUrl?: string;
  /** Service account to impersonate; omitted: direct federation (no impersonation URL). */
  serviceAccount?: string;
}

/** The `external_account` credential file google-github-actions/auth writes for workload identity federation. */
export function externalAccountCredentials(inputs: ExternalAccountInputs): Record<string, unknown> {
  const provider = inputs.audience.replace(/^\/\/iam\.googleapis\.com\//, '');
  const requestUrl = new URL(inputs.oidcUrl);
  requestUrl.searchParams.set('audience', inputs.oidcAudience ?? `https://iam.googleapis.com/${provider}`);
  const tokenUrl = /\/token$/.test(inputs.stsUrl)
    ? inputs.stsUrl
    : new URL('v1/token', withSlash(inputs.stsUrl)).href;
  const data: Record<string, unknown> = {
    type: 'external_account',
    audience: `//iam.googleapis.com/${provider}`,
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    token_url: tokenUrl,
    credential_source: {
      url: requestUrl.href,
      headers: { Authorization: `Bearer ${inputs.oidcRequestToken}` },
      format: { type: 'json', subject_token_field_name: 'value' },
    },
  };
  if (inputs.iamCredentialsUrl?.endsWith(':generateAccessToken')) {
    data.service_account_impersonation_url = inputs.iamCredentialsUrl;
  } else if (inputs.serviceAccount) {
    data.service_account_impersonation_url = new URL(
      `v1/projects/-/serviceAccounts/${inputs.serviceAccount}:generateAccessToken`,
      withSlash(inputs.iamCredentialsUrl ?? 'https://iamcredentials.googleapis.com/'),
    ).href;
  }
  return data;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
