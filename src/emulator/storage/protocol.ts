import type { IncomingHttpHeaders } from 'node:http';

/** A permission Cloud Storage checks for one JSON API method, as IAM names it. */
export type StoragePermission =
  `storage.${'buckets' | 'objects'}.${'list' | 'get' | 'create' | 'update' | 'delete'}`;

/**
 * An error answered in the JSON API's error shape, `{ error: { code, message, errors: [{ domain, reason,
 * message }] } }`; status 304 is answered without a body, as the service answers a failed NotMatch read.
 */
export class StorageApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
  /** Fields added to the `errors[0]` entry, e.g. `locationType` and `location` of a 401. */
  readonly detail: Record<string, string>;

  constructor(
    status: number,
    reason: string,
    message: string,
    opts: { headers?: Record<string, string>; detail?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.headers = opts.headers ?? {};
    this.detail = opts.detail ?? {};
  }

  /** The JSON body Cloud Storage sends with this error. */
  body(): unknown {
    const entry = { domain: 'global', reason: this.reason, message: this.message, ...this.detail };
    return { error: { code: this.status, message: this.message, errors: [entry] } };
  }
}

export const invalid = (message: string): StorageApiError => new StorageApiError(400, 'invalid', message);
export const required = (message: string): StorageApiError => new StorageApiError(400, 'required', message);
export const forbidden = (message: string): StorageApiError => new StorageApiError(403, 'forbidden', message);
export const notFound = (message: string): StorageApiError => new StorageApiError(404, 'notFound', message);
export const conflict = (message: string): StorageApiError => new StorageApiError(409, 'conflict', message);
export const methodNotAllowed = (): StorageApiError =>
  new StorageApiError(405, 'methodNotAllowed', 'Method not allowed for this resource.');
export const notImplemented = (what: string): StorageApiError =>
  new StorageApiError(501, 'notImplemented', `${what} is not supported by this Cloud Storage emulator.`);
export const conditionNotMet = (): StorageApiError =>
  new StorageApiError(
    412,
    'conditionNotMet',
    'At least one of the pre-conditions you specified did not hold.',
  );
const notModified = (): StorageApiError => new StorageApiError(304, 'notModified', 'Not Modified');
export const bucketNotFound = (): StorageApiError => notFound('The specified bucket does not exist.');
export const rangeNotSatisfiable = (size: number): StorageApiError =>
  new StorageApiError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', {
    headers: { 'content-range': `bytes */${size}` },
  });
export const objectNotFound = (bucket: string, name: string): StorageApiError =>
  notFound(`No such object: ${bucket}/${name}`);

const WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/"';
const AT_AUTHORIZATION = { locationType: 'header', location: 'Authorization' };

/** The 401 for a bearer token that is unknown or expired. */
export function invalidCredentials(): StorageApiError {
  return new StorageApiError(401, 'authError', 'Invalid Credentials', {
    headers: { 'www-authenticate': `${WWW_AUTHENTICATE}, error="invalid_token"` },
    detail: AT_AUTHORIZATION,
  });
}

/**
 * Cloud Storage's refusal of `permission` on `resource`: a 401 for an anonymous caller (`caller` undefined),
 * a 403 naming the caller otherwise.
 */
export function accessDenied(
  caller: string | undefined,
  permission: StoragePermission,
  resource: string,
): StorageApiError {
  const kind = /\/objects\//.test(resource)
    ? 'object'
    : resource.includes('/buckets/')
      ? 'bucket'
      : 'project';
  const message =
    `${caller ?? 'Anonymous caller'} does not have ${permission} access to the Google Cloud Storage ${kind}. ` +
    `Permission '${permission}' denied on resource (or it may not exist).`;
  if (caller === undefined) {
    return new StorageApiError(401, 'required', message, {
      headers: { 'www-authenticate': WWW_AUTHENTICATE },
      detail: AT_AUTHORIZATION,
    });
  }
  return forbidden(message);
}

/** The IAM resource name of a bucket, or of an object in it. */
export function resourceName(bucket: string, object?: string): string {
  return object === undefined
    ? `projects/_/buckets/${bucket}`
    : `projects/_/buckets/${bucket}/objects/${object}`;
}

/** Why Cloud Storage refuses `name` as an object name (undefined when it takes it). */
export function objectNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (!name.isWellFormed() || name.includes('\uFFFD')) return 'it is not valid UTF-8';
  if (Buffer.byteLength(name) > 1024) return 'it is longer than 1024 bytes';
  if (/[\r\n]/.test(name)) return 'it contains CR or LF';
  if (name === '.' || name === '..') return 'it is . or ..';
  if (name.startsWith('.well-known/acme-challenge/')) return 'it starts with .well-known/acme-challenge/';
  return undefined;
}

/** Byte order of UTF-8, which is how Cloud Storage sorts names. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`Invalid percent-encoding in the path: ${s}`);
  }
}

/** Parses a JSON object body; empty is `{}`. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new StorageApiError(400, 'parseError', 'Parse Error: the body is not a JSON object.');
}

// ---- generation and metageneration preconditions

/** The `if[Source](Generation|Metageneration)[Not]Match` parameters of a request. */
export interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
  ifMetagenerationNotMatch?: number;
}

const PRECONDITION_NAMES = [
  'GenerationMatch',
  'GenerationNotMatch',
  'MetagenerationMatch',
  'MetagenerationNotMatch',
] as const;

/** Reads the preconditions of `query`; `prefix` is `ifSource` for the source of a copy or rewrite. */
export function readPreconditions(query: URLSearchParams, prefix: 'if' | 'ifSource' = 'if'): Preconditions {
  const out: Preconditions = {};
  for (const name of PRECONDITION_NAMES) {
    const v = query.get(prefix + name);
    if (v === null) continue;
    if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value for ${prefix}${name}: ${v}`);
    out[`if${name}`] = Number(v);
  }
  return out;
}

/**
 * Checks preconditions against the object's current version (undefined: no object). A failed Match is 412;
 * a failed NotMatch is 304 on a read and 412 on a write, as the service answers.
 */
export function checkPreconditions(
  pre: Preconditions,
  current: { generation: number; metageneration: number } | undefined,
  mode: 'read' | 'write',
): void {
  const { ifGenerationMatch: gm, ifGenerationNotMatch: gnm } = pre;
  const { ifMetagenerationMatch: mm, ifMetagenerationNotMatch: mnm } = pre;
  if (gm !== undefined && (current ? current.generation !== gm : gm !== 0)) throw conditionNotMet();
  if (mm !== undefined && current?.metageneration !== mm) throw conditionNotMet();
  const notMatchFailed =
    (gnm !== undefined && (current ? current.generation === gnm : gnm === 0)) ||
    (mnm !== undefined && current?.metageneration === mnm);
  if (notMatchFailed) throw mode === 'read' ? notModified() : conditionNotMet();
}

// ---- checksums a client sends with an upload

/** MD5 and CRC32C in Cloud Storage's base64 forms. */
export interface Checksums {
  md5?: string;
  crc32c?: string;
}

/** The checksums of an `x-goog-hash` header, over those of the object metadata (`md5Hash`, `crc32c`). */
export function clientChecksums(
  headers: IncomingHttpHeaders,
  metadata: Record<string, unknown> = {},
): Checksums {
  const out: Checksums = {};
  if (typeof metadata.md5Hash === 'string') out.md5 = metadata.md5Hash;
  if (typeof metadata.crc32c === 'string') out.crc32c = metadata.crc32c;
  const h = headers['x-goog-hash'];
  for (const value of Array.isArray(h) ? h : h ? [h] : []) {
    for (const pair of value.split(',')) {
      const i = pair.indexOf('=');
      const key = pair.slice(0, Math.max(0, i)).trim().toLowerCase();
      if (key === 'md5' || key === 'crc32c') out[key] = pair.slice(i + 1).trim();
    }
  }
  return out;
}

/** Refuses data whose checksums are not the ones the client sent. */
export function checkChecksums(actual: { md5: string; crc32c: string }, given: Checksums): void {
  if (given.crc32c !== undefined && given.crc32c !== actual.crc32c) {
    throw invalid(`Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`);
  }
  if (given.md5 !== undefined && given.md5 !== actual.md5) {
    throw invalid(`Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${actual.md5}".`);
  }
}

// ---- byte ranges

/** A `Range: bytes=...` header against an object of `size` bytes; undefined: send it whole. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  // A malformed or multi-range header is ignored, as HTTP allows; an empty object has no byte to range over.
  if (!m || (m[1] === '' && m[2] === '') || size === 0) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return end < start ? undefined : { start, end };
}

/** The `Content-Range` of a resumable upload request. */
export type UploadRange =
  | { kind: 'whole' }
  | { kind: 'status'; total: number | undefined }
  | { kind: 'chunk'; start: number; end: number | undefined; total: number | undefined };

/** `bytes a-b/T`, `bytes a-b/*`, `bytes a-* /T` (no space), `bytes *\/T`, `bytes *\/*`; none: the whole object. */
export function parseUploadRange(header: string | undefined): UploadRange {
  if (header === undefined) return { kind: 'whole' };
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw invalid(`Invalid Content-Range header: ${header}`);
  const total = m[4] === '*' ? undefined : Number(m[4]);
  if (m[1] === '*') return { kind: 'status', total };
  return { kind: 'chunk', start: Number(m[2]), end: m[3] === '*' ? undefined : Number(m[3]), total };
}

// ---- the `fields` parameter

/** A field selection: a name maps to everything (null) or to sub-fields. */
export type FieldSelection = Map<string, FieldSelection | null>;

/** Parses `fields` (`items(name,size),nextPageToken`, `a/b`, `*`); undefined: everything. */
export function parseFields(spec: string | null): FieldSelection | undefined {
  if (spec === null || spec.trim() === '') return undefined;
  const s = spec.replace(/\s+/g, '');
  let i = 0;
  const fail = (): StorageApiError =>
    new StorageApiError(400, 'invalidParameter', `Invalid field selection ${spec}`);
  const parsePath = (into: FieldSelection): void => {
    const m = /^[A-Za-z0-9_*]+/.exec(s.slice(i));
    if (!m) throw fail();
    i += m[0].length;
    const c = s[i];
    if (c !== '/' && c !== '(') {
      into.set(m[0], null);
      return;
    }
    i++;
    const known = into.get(m[0]);
    // A part of something already selected whole stays whole: the sub-selection is parsed and dropped.
    const sub: FieldSelection = known ?? new Map<string, FieldSelection | null>();
    if (known === undefined) into.set(m[0], sub);
    if (c === '/') parsePath(sub);
    else parseList(sub, true);
  };
  const parseList = (into: FieldSelection, nested: boolean): void => {
    for (;;) {
      parsePath(into);
      if (i >= s.length && !nested) return;
      if (s[i] === ',') i++;
      else if (s[i] === ')' && nested) {
        i++;
        return;
      } else throw fail();
    }
  };
  const root: FieldSelection = new Map();
  parseList(root, false);
  return root;
}

/** A response cut down to the selected fields (arrays: each element). */
export function projectFields(value: unknown, fields: FieldSelection | undefined): unknown {
  if (fields === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => projectFields(v, fields));
  if (!value || typeof value !== 'object') return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of fields) {
    for (const k of key === '*' ? Object.keys(src) : key in src ? [key] : []) {
      out[k] = sub === null ? src[k] : projectFields(src[k], sub);
    }
  }
  return out;
}

// ---- matchGlob

/**
 * `matchGlob` as Cloud Storage reads it: `*` matches within one path segment, `**` across segments, `?` one
 * character, `[...]` a class, `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  const bad = (): StorageApiError => invalid(`Invalid matchGlob: ${glob}`);
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) throw bad();
      const cls = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      re += `[${cls.startsWith('!') ? `^${cls.slice(1)}` : cls}]`;
      i = close;
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\{}[\]]/g, '\\$&');
  }
  if (braces) throw bad();
  return new RegExp(`^${re}$`, 's');
}

// ---- multipart/related uploads

/** The most a JSON body (object metadata, a multipart upload's metadata part) may hold. */
export const MAX_JSON_BYTES = 1024 * 1024;

/** Reads a request body of JSON object metadata, up to {@link MAX_JSON_BYTES}. */
export async function readJsonBody(
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw invalid(`The request body is larger than ${MAX_JSON_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return parseJsonObject(Buffer.concat(chunks));
}

/**
 * Reads a multipart/related upload as it arrives: the JSON metadata part at once, the media part as a stream
 * that ends at the closing boundary (and fails when the body is not exactly those two parts).
 */
export async function readMultipart(
  contentType: string | undefined,
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<{
  metadata: Record<string, unknown>;
  mediaType: string | undefined;
  media: AsyncIterable<Buffer>;
}> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!/^multipart\//i.test(contentType ?? '') || !m) {
    throw invalid('A multipart upload needs a multipart/related Content-Type with a boundary.');
  }
  // Reading as if the body began with CRLF makes every delimiter, the first one too, `CRLF--boundary`.
  const delimiter = Buffer.from(`\r\n--${m[1] ?? m[2]}`);
  const input = new ByteReader(body, Buffer.from('\r\n'));
  const crlf = Buffer.from('\r\n');
  const twoParts = (): StorageApiError =>
    invalid('A multipart upload must have exactly two parts: metadata and media.');
  const partHeaders = async (): Promise<Record<string, string>> => {
    if ((await input.until(crlf)).subarray(0, 2).toString() === '--') throw twoParts();
    const headers: Record<string, string> = {};
    for (;;) {
      const line = (await input.until(crlf)).toString('latin1');
      if (line === '') return headers;
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  };
  await input.until(delimiter);
  await partHeaders();
  const metadata = parseJsonObject(await input.until(delimiter));
  const mediaHeaders = await partHeaders();
  const media = async function* (): AsyncGenerator<Buffer> {
    yield* input.streamUntil(delimiter);
    if (!(await input.peek(2)).equals(Buffer.from('--'))) throw twoParts();
    await input.drain(); // an epilogue after the closing delimiter is allowed and ignored
  };
  return { metadata, mediaType: mediaHeaders['content-type'], media: media() };
}

/** Reads a byte stream up to markers, keeping what it has read ahead. */
class ByteReader {
  private readonly source: AsyncIterator<Buffer>;
  private buf: Buffer;
  private ended = false;

  constructor(body: AsyncIterable<Buffer> | Iterable<Buffer>, start: Buffer) {
    this.source = (async function* () {
      for await (const chunk of body) yield chunk;
    })();
    this.buf = start;
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) this.ended = true;
    else this.buf = Buffer.concat([this.buf, next.value]);
    return !this.ended;
  }

  /** Consumes everything up to and including `marker` (looking at most a JSON body's size ahead). */
  async until(marker: Buffer): Promise<Buffer> {
    for (;;) {
      const at = this.buf.indexOf(marker);
      if (at >= 0) {
        const before = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + marker.length);
        return before;
      }
      if (this.buf.length > MAX_JSON_BYTES + marker.length || !(await this.more())) {
        throw invalid('Malformed multipart body: expected a metadata part and a media part.');
      }
    }
  }

  /** Yields everything before `marker`, consuming the marker too. */
  async *streamUntil(marker: Buffer): AsyncGenerator<Buffer> {
    for (;;) {
      const at = this.buf.indexOf(marker);
      if (at >= 0) {
        if (at > 0) yield this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + marker.length);
        return;
      }
      // Keep enough bytes to find a marker split across chunks.
      const keep = marker.length - 1;
      if (this.buf.length > keep) {
        yield this.buf.subarray(0, this.buf.length - keep);
        this.buf = this.buf.subarray(this.buf.length - keep);
      }
      if (!(await this.more())) throw invalid('The multipart body ends before its closing boundary.');
    }
  }

  async peek(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.more()));
    return this.buf.subarray(0, n);
  }

  async drain(): Promise<void> {
    while (await this.more()) this.buf = Buffer.alloc(0);
  }
}
