/**
 * A stand-in for the artifact service @actions/artifact v6 talks to: the results service's Twirp JSON API
 * (`/twirp/github.actions.results.api.v1.ArtifactService/*` at ACTIONS_RESULTS_URL) and the Azure Blob
 * endpoint its signed URLs point to (block uploads, block-list commit, single-shot PUT, GET).
 * ACTIONS_RUNTIME_TOKEN is a JWT signed by this stand-in; `mintRuntimeToken` makes one.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { inflateRawSync } from 'node:zlib';
import type { BedClock } from './clock.ts';
import type { BedRequest } from './http.ts';
import { sendJson } from './http.ts';

/** An artifact as the stand-in keeps it. */
export interface StoredArtifact {
  readonly id: number;
  readonly name: string;
  readonly runBackendId: string;
  readonly jobBackendId: string;
  readonly mimeType: string | undefined;
  readonly version: number;
  readonly createdAt: number;
  readonly expiresAt: string | undefined;
  /** Set by FinalizeArtifact; only finalized artifacts are listed or downloadable. */
  finalized: boolean;
  /** Size and hash the client declared at finalization. */
  declaredSize: number | undefined;
  declaredHash: string | undefined;
  /** The committed blob (the zip, or the raw file with skipArchive). */
  bytes: Buffer | undefined;
  readonly blobPath: string;
  readonly blocks: Map<string, Buffer>;
  /** Blob uploads seen for this artifact, in order: `block`, `blocklist` or `put`. */
  readonly uploads: string[];
}

/** Claims of a runtime token. */
export interface RuntimeTokenOptions {
  runBackendId?: string;
  jobBackendId?: string;
  /** Lifetime in seconds (virtual, if the stand-in has a clock); default 6 hours. Negative: already expired. */
  expiresInSeconds?: number;
  /** Extra scopes placed before `Actions.Results:...` in `scp`. */
  extraScopes?: string[];
}

type TwirpCode =
  'unauthenticated' | 'permission_denied' | 'not_found' | 'already_exists' | 'invalid_argument' | 'internal';
const TWIRP_STATUS: Record<TwirpCode, number> = {
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  invalid_argument: 400,
  internal: 500,
};

class TwirpError extends Error {
  readonly code: TwirpCode;
  constructor(code: TwirpCode, msg: string) {
    super(msg);
    this.code = code;
  }
}

const SERVICE = '/twirp/github.actions.results.api.v1.ArtifactService/';
const BLOB_PREFIX = '/blob/actions-results/';
const AZURE_VERSION = '2025-11-05';

/** The artifact service, on loopback. Mount with `new BedServer('artifacts', recorder, a.handle)`. */
export class ArtifactStandIn {
  private readonly secret = randomBytes(32);
  private readonly store: StoredArtifact[] = [];
  private readonly clock: BedClock | undefined;
  private nextId = 1000;
  private origin: string | undefined;
  private defaultToken: string | undefined;
  /** The run and job of `runtimeToken()`. */
  readonly runBackendId = randomUUID();
  readonly jobBackendId = randomUUID();

  constructor(opts: { clock?: BedClock } = {}) {
    this.clock = opts.clock;
  }

  /** Origin the signed blob URLs use; by default the Host the client called. */
  setOrigin(origin: string): void {
    this.origin = origin;
  }

  /** The job's ACTIONS_RUNTIME_TOKEN for `runBackendId`/`jobBackendId` (minted once). */
  runtimeToken(): string {
    this.defaultToken ??= this.mintRuntimeToken({
      runBackendId: this.runBackendId,
      jobBackendId: this.jobBackendId,
    });
    return this.defaultToken;
  }

  /** A JWT as the runner's ACTIONS_RUNTIME_TOKEN: HS256, `scp` holding `Actions.Results:<run>:<job>`. */
  mintRuntimeToken(opts: RuntimeTokenOptions = {}): string {
    const run = opts.runBackendId ?? randomUUID();
    const job = opts.jobBackendId ?? randomUUID();
    const now = Math.floor(this.now() / 1000);
    const claims = {
      nameid: 'dddddddd-dddd-dddd-dddd-dddddddddddd',
      scp: [
        ...(opts.extraScopes ?? ['Actions.GenericRead:00000000-0000-0000-0000-000000000000']),
        `Actions.Results:${run}:${job}`,
      ].join(' '),
      iss: 'vstoken.actions.githubusercontent.com',
      aud: 'vstoken.actions.githubusercontent.com',
      nbf: now - 60,
      iat: now - 60,
      exp: now + (opts.expiresInSeconds ?? 6 * 3600),
    };
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
    const body = b64url(JSON.stringify(claims));
    return `${head}.${body}.${this.sign(`${head}.${body}`)}`;
  }

  /** Every artifact created so far (finalized or not), oldest first. */
  artifacts(): readonly StoredArtifact[] {
    return this.store;
  }

  /** The bytes of the newest finalized artifact called `name` (in one run, if given). */
  zipOf(name: string, runBackendId?: string): Buffer {
    const a = [...this.store]
      .reverse()
      .find(
        (x) =>
          x.name === name && x.finalized && (runBackendId === undefined || x.runBackendId === runBackendId),
      );
    if (!a?.bytes) throw new Error(`no finalized artifact named ${name}`);
    return a.bytes;
  }

  /** The files inside the newest finalized artifact called `name`. */
  filesOf(name: string, runBackendId?: string): Map<string, Buffer> {
    return unzip(this.zipOf(name, runBackendId));
  }

  /** Request handler for BedServer. */
  readonly handle = (req: BedRequest, res: http.ServerResponse): void => {
    if (req.url.pathname.startsWith(SERVICE)) {
      this.twirp(req, res);
    } else if (req.url.pathname.startsWith(BLOB_PREFIX)) {
      this.blob(req, res);
    } else {
      sendJson(res, 404, { code: 'bad_route', msg: `no handler for path ${req.url.pathname}` });
    }
  };

  private twirp(req: BedRequest, res: http.ServerResponse): void {
    try {
      if (req.method !== 'POST')
        throw new TwirpError('invalid_argument', 'unsupported method (only POST is allowed)');
      const scope = this.verifyToken(req.headers.authorization);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        throw new TwirpError('invalid_argument', 'the json request could not be decoded');
      }
      const method = req.url.pathname.slice(SERVICE.length);
      const run = str(body.workflow_run_backend_id);
      const job = str(body.workflow_job_run_backend_id);
      if (run !== scope.run || (job !== '' && job !== scope.job)) {
        throw new TwirpError('permission_denied', 'token is not valid for this workflow run');
      }
      sendJson(res, 200, this.call(method, body, scope, this.origin ?? origin(req)));
    } catch (err) {
      if (!(err instanceof TwirpError)) throw err;
      sendJson(res, TWIRP_STATUS[err.code], { code: err.code, msg: err.message });
    }
  }

  private call(
    method: string,
    body: Record<string, unknown>,
    scope: { run: string; job: string },
    base: string,
  ): Record<string, unknown> {
    const name = str(body.name);
    switch (method) {
      case 'CreateArtifact': {
        if (!name) throw new TwirpError('invalid_argument', 'name: value is required');
        if (this.store.some((a) => a.runBackendId === scope.run && a.name === name)) {
          throw new TwirpError(
            'already_exists',
            'an artifact with this name already exists on the workflow run',
          );
        }
        const id = this.nextId++;
        const a: StoredArtifact = {
          id,
          name,
          runBackendId: scope.run,
          jobBackendId: scope.job,
          mimeType: typeof body.mime_type === 'string' ? body.mime_type : undefined,
          version: Number(body.version ?? 0),
          createdAt: this.now(),
          expiresAt: typeof body.expires_at === 'string' ? body.expires_at : undefined,
          finalized: false,
          declaredSize: undefined,
          declaredHash: undefined,
          bytes: undefined,
          blobPath: `${BLOB_PREFIX}${scope.run}/${scope.job}/${id}/${encodeURIComponent(name)}${name.endsWith('.zip') ? '' : '.zip'}`,
          blocks: new Map(),
          uploads: [],
        };
        this.store.push(a);
        return { ok: true, signed_upload_url: this.signedUrl(base, a, 'cw') };
      }
      case 'FinalizeArtifact': {
        const a = this.find(scope.run, name, false);
        if (!a.bytes)
          throw new TwirpError('not_found', 'artifact blob not found: upload it before finalizing');
        const size = Number(body.size ?? 0);
        if (size !== a.bytes.length) {
          throw new TwirpError(
            'invalid_argument',
            `size ${size} does not match the uploaded ${a.bytes.length} bytes`,
          );
        }
        const hash = typeof body.hash === 'string' ? body.hash : undefined;
        if (hash !== undefined && hash !== `sha256:${createHash('sha256').update(a.bytes).digest('hex')}`) {
          throw new TwirpError('invalid_argument', 'hash does not match the uploaded content');
        }
        a.declaredSize = size;
        a.declaredHash = hash;
        a.finalized = true;
        return { ok: true, artifact_id: String(a.id) };
      }
      case 'ListArtifacts': {
        const nameFilter = typeof body.name_filter === 'string' ? body.name_filter : undefined;
        // Int64Value: protobuf JSON writes it as a string, but a number is valid too.
        const rawId = body.id_filter;
        const idFilter = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined;
        const list = this.store.filter(
          (a) =>
            a.finalized &&
            a.runBackendId === scope.run &&
            (nameFilter === undefined || a.name === nameFilter) &&
            (idFilter === undefined || String(a.id) === idFilter),
        );
        return {
          artifacts: list.map((a) => ({
            workflow_run_backend_id: a.runBackendId,
            workflow_job_run_backend_id: a.jobBackendId,
            database_id: String(a.id),
            name: a.name,
            size: String(a.bytes?.length ?? 0),
            created_at: new Date(a.createdAt).toISOString(),
            ...(a.declaredHash ? { digest: a.declaredHash } : {}),
          })),
        };
      }
      case 'GetSignedArtifactURL': {
        const a = this.find(scope.run, name, true);
        return { signed_url: this.signedUrl(base, a, 'r') };
      }
      case 'DeleteArtifact': {
        const a = this.find(scope.run, name, true);
        this.store.splice(this.store.indexOf(a), 1);
        return { ok: true, artifact_id: String(a.id) };
      }
      default:
        throw new TwirpError('not_found', `unknown method ${method}`);
    }
  }

  private find(run: string, name: string, finalized: boolean): StoredArtifact {
    const a = this.store.find(
      (x) => x.runBackendId === run && x.name === name && (!finalized || x.finalized),
    );
    if (!a) throw new TwirpError('not_found', 'artifact not found');
    return a;
  }

  private verifyToken(authorization: string | undefined): { run: string; job: string } {
    const m = /^Bearer\s+([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? '');
    if (!m) throw new TwirpError('unauthenticated', 'missing or malformed bearer token');
    const expected = Buffer.from(this.sign(`${m[1]}.${m[2]}`));
    const given = Buffer.from(m[3]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new TwirpError('unauthenticated', 'token signature is invalid');
    }
    const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString('utf8')) as {
      exp?: number;
      scp?: string;
    };
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) {
      throw new TwirpError('unauthenticated', 'token is expired');
    }
    for (const s of (claims.scp ?? '').split(' ')) {
      const parts = s.split(':');
      if (parts[0] === 'Actions.Results' && parts.length === 3) return { run: parts[1], job: parts[2] };
    }
    throw new TwirpError('permission_denied', 'token has no Actions.Results scope');
  }

  private signedUrl(base: string, a: StoredArtifact, permissions: string): string {
    const se = new Date(this.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const u = new URL(a.blobPath, base);
    u.searchParams.set('sv', AZURE_VERSION);
    u.searchParams.set('sr', 'b');
    u.searchParams.set('sp', permissions);
    u.searchParams.set('se', se);
    u.searchParams.set('sig', this.sign(`${a.blobPath}\n${permissions}\n${se}`));
    return u.href;
  }

  private blob(req: BedRequest, res: http.ServerResponse): void {
    const q = req.url.searchParams;
    const sp = q.get('sp') ?? '';
    const se = q.get('se') ?? '';
    const sig = q.get('sig') ?? '';
    const expected = this.sign(`${req.url.pathname}\n${sp}\n${se}`);
    if (sig !== expected || Date.parse(se) <= this.now()) {
      azureError(res, 403, 'AuthenticationFailed', 'Server failed to authenticate the request.');
      return;
    }
    const a = this.store.find((x) => x.blobPath === req.url.pathname);
    if (!a) {
      azureError(res, 404, 'BlobNotFound', 'The specified blob does not exist.');
      return;
    }
    const write = req.method === 'PUT';
    if ((write && !sp.includes('w')) || (!write && !sp.includes('r'))) {
      azureError(
        res,
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      );
      return;
    }
    const headers = this.azureHeaders(req.headers['x-ms-version']);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!a.bytes) {
        azureError(res, 404, 'BlobNotFound', 'The specified blob does not exist.');
        return;
      }
      res.writeHead(200, {
        ...headers,
        'content-type': a.mimeType ?? 'application/zip',
        'content-length': a.bytes.length,
        'content-md5': createHash('md5').update(a.bytes).digest('base64'),
        'x-ms-blob-type': 'BlockBlob',
      });
      res.end(req.method === 'GET' ? a.bytes : undefined);
      return;
    }
    if (!write) {
      azureError(res, 405, 'UnsupportedHttpVerb', "The resource doesn't support specified Http Verb.");
      return;
    }
    const comp = q.get('comp');
    if (comp === 'block') {
      const id = q.get('blockid');
      if (!id) {
        azureError(res, 400, 'MissingRequiredQueryParameter', 'blockid is required.');
        return;
      }
      a.blocks.set(id, req.body);
      a.uploads.push('block');
      res.writeHead(201, {
        ...headers,
        'content-md5': createHash('md5').update(req.body).digest('base64'),
        'x-ms-request-server-encrypted': 'true',
        'content-length': 0,
      });
      res.end();
      return;
    }
    if (comp === 'blocklist') {
      const ids = [
        ...req.body.toString('utf8').matchAll(/<(Latest|Committed|Uncommitted)>([^<]*)<\/\1>/g),
      ].map((m) => m[2]);
      const missing = ids.find((id) => !a.blocks.has(id));
      if (missing !== undefined) {
        azureError(res, 400, 'InvalidBlockList', 'The specified block list is invalid.');
        return;
      }
      a.bytes = Buffer.concat(ids.map((id) => a.blocks.get(id)!));
      a.blocks.clear();
      a.uploads.push('blocklist');
    } else if (comp === null) {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') {
        azureError(
          res,
          400,
          'MissingRequiredHeader',
          "An HTTP header that's mandatory for this request is not specified.",
        );
        return;
      }
      a.bytes = req.body;
      a.uploads.push('put');
    } else {
      azureError(res, 400, 'InvalidQueryParameterValue', `comp=${comp} is not supported by the stand-in.`);
      return;
    }
    res.writeHead(201, {
      ...headers,
      'content-md5': createHash('md5').update(a.bytes).digest('base64'),
      'x-ms-request-server-encrypted': 'true',
      'content-length': 0,
    });
    res.end();
  }

  private azureHeaders(requestVersion: string | string[] | undefined): Record<string, string> {
    const at = new Date(this.now());
    return {
      etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
      'last-modified': at.toUTCString(),
      date: at.toUTCString(),
      'x-ms-request-id': randomUUID(),
      // Azure answers in the service version the client asked for.
      'x-ms-version': typeof requestVersion === 'string' ? requestVersion : AZURE_VERSION,
    };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.secret).update(data).digest('base64url');
  }

  private now(): number {
    return this.clock ? this.clock.now() : Date.now();
  }
}

function azureError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${randomUUID()}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-ms-error-code': code,
    'x-ms-request-id': randomUUID(),
    'x-ms-version': AZURE_VERSION,
  });
  res.end(body);
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function origin(req: BedRequest): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

/**
 * Reads a zip archive (stored or deflated entries) through its central directory, since streamed zips
 * put zero sizes in their local headers. Directories are skipped. Returns path -> contents.
 */
export function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip: no end of central directory record');
  let count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) {
    const locator = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]), eocd);
    const z64 = Number(zip.readBigUInt64LE(locator + 8));
    count = Number(zip.readBigUInt64LE(z64 + 32));
    offset = Number(zip.readBigUInt64LE(z64 + 48));
  }
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(offset + 10);
    let compressed = zip.readUInt32LE(offset + 20);
    let size = zip.readUInt32LE(offset + 24);
    const nameLen = zip.readUInt16LE(offset + 28);
    const extraLen = zip.readUInt16LE(offset + 30);
    const commentLen = zip.readUInt16LE(offset + 32);
    let local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLen);
    // ZIP64: the 0xffffffff fields come, in this order, from the extra field with tag 1.
    let e = offset + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const tag = zip.readUInt16LE(e);
      const len = zip.readUInt16LE(e + 2);
      if (tag === 1) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = Number(zip.readBigUInt64LE(p));
          p += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(zip.readBigUInt64LE(p));
          p += 8;
        }
        if (local === 0xffffffff) local = Number(zip.readBigUInt64LE(p));
      }
      e += 4 + len;
    }
    offset = extraEnd + commentLen;
    if (name.endsWith('/')) continue;
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw new Error(`zip entry ${name} uses unsupported method ${method}`);
    if (files.get(name)!.length !== size) throw new Error(`zip entry ${name}: size mismatch`);
  }
  return files;
}
