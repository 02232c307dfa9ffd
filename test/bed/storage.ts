import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { BedClock } from './clock.ts';
import { crc32c, crc32cBase64, crc32cToBase64 } from './crc32c.ts';
import type { BedRequest, Handler } from './http.ts';
import { googleStatus, sendGoogleError, sendJson } from './http.ts';
import type { TokenRegistry } from './tokens.ts';

/** An object resource as the Cloud Storage JSON API prints it. */
export interface ObjectResource {
  kind: 'storage#object';
  id: string;
  selfLink: string;
  mediaLink: string;
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  contentType: string;
  storageClass: string;
  size: string;
  md5Hash?: string;
  crc32c: string;
  etag: string;
  timeCreated: string;
  updated: string;
  timeStorageClassUpdated: string;
  componentCount?: number;
  metadata?: Record<string, string>;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  customTime?: string;
}

/** A bucket resource as the Cloud Storage JSON API prints it. */
export interface BucketResource {
  kind: 'storage#bucket';
  id: string;
  selfLink: string;
  projectNumber: string;
  name: string;
  timeCreated: string;
  updated: string;
  metageneration: string;
  location: string;
  locationType: string;
  storageClass: string;
  etag: string;
}

/** Options for {@link StorageStandIn.putObject}. */
export interface PutObjectOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

interface StoredObject {
  data: Buffer;
  name: string;
  bucket: string;
  generation: number;
  metageneration: number;
  contentType: string;
  md5Hash: string | undefined;
  crc32c: string;
  timeCreated: string;
  updated: string;
  componentCount: number | undefined;
  metadata: Record<string, string>;
  /** cacheControl, contentDisposition, contentEncoding, contentLanguage, customTime */
  extra: Record<string, string>;
}

interface Bucket {
  name: string;
  created: string;
  objects: Map<string, StoredObject>;
}

interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  /** The object metadata sent when the session was started. */
  metadata: Record<string, unknown>;
  contentType: string;
  /** Precondition parameters of the initiating request, re-checked on commit. */
  query: URLSearchParams;
  received: Buffer[];
  size: number;
  declaredTotal: number | undefined;
  result: StoredObject | undefined;
}

type Send = (res: http.ServerResponse) => void;

const EXTRA_FIELDS = [
  'cacheControl',
  'contentDisposition',
  'contentEncoding',
  'contentLanguage',
  'customTime',
];
/** Non-final resumable chunks must be a multiple of this (the real service keeps only whole multiples). */
const CHUNK_GRANULARITY = 256 * 1024;
const PROJECT_NUMBER = '123456789012';

/** The error a handler throws to answer with a Google-shaped error. */
class ApiFailure extends Error {
  readonly code: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
  constructor(code: number, reason: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.headers = headers;
  }
}

const notFoundBucket = (): ApiFailure =>
  new ApiFailure(404, 'notFound', 'The specified bucket does not exist.');
const notFoundObject = (bucket: string, name: string): ApiFailure =>
  new ApiFailure(404, 'notFound', `No such object: ${bucket}/${name}`);
const conditionNotMet = (): ApiFailure =>
  new ApiFailure(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
/** A read whose NotMatch precondition failed: the real service answers 304 with no body. */
class NotModified extends Error {}

/**
 * An in-memory Cloud Storage JSON API: buckets, objects, media/multipart/resumable uploads, ranged downloads,
 * listing with pages, preconditions and checksums, answering as the real service does. Serves both path
 * forms, with and without the `/storage/v1` prefix (`STORAGE_EMULATOR_HOST` makes the library drop it).
 */
export class StorageStandIn {
  private readonly clock: BedClock;
  private readonly tokens: TokenRegistry;
  private readonly requireAuth: boolean;
  private readonly buckets = new Map<string, Bucket>();
  private readonly sessions = new Map<string, UploadSession>();
  private lastGeneration = 0;
  /** Origin used in links; learnt from the Host of the latest request. */
  private origin = 'http://127.0.0.1';

  constructor(opts: { clock: BedClock; tokens: TokenRegistry; requireAuth?: boolean }) {
    this.clock = opts.clock;
    this.tokens = opts.tokens;
    this.requireAuth = opts.requireAuth ?? true;
  }

  /** Creates a bucket (or returns the existing one). */
  createBucket(name: string): BucketResource {
    return this.renderBucket(this.ensureBucket(name));
  }

  /** Stores an object directly, creating the bucket if needed; returns its resource. */
  putObject(
    bucket: string,
    name: string,
    data: Buffer | string,
    opts: PutObjectOptions = {},
  ): ObjectResource {
    const b = this.ensureBucket(bucket);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const obj = this.commit(b, name, buf, {
      contentType: opts.contentType,
      metadata: opts.metadata,
    });
    return this.render(obj);
  }

  /** An object's data and resource, or undefined. */
  getObject(bucket: string, name: string): { data: Buffer; resource: ObjectResource } | undefined {
    const obj = this.buckets.get(bucket)?.objects.get(name);
    return obj && { data: obj.data, resource: this.render(obj) };
  }

  /** The resources of a bucket's objects whose names start with `prefix`, in name order. */
  listObjects(bucket: string, prefix = ''): ObjectResource[] {
    const b = this.buckets.get(bucket);
    if (!b) return [];
    return sortedNames(b)
      .filter((n) => n.startsWith(prefix))
      .map((n) => this.render(b.objects.get(n)!));
  }

  /** Deletes an object; true when it existed. */
  deleteObject(bucket: string, name: string): boolean {
    return this.buckets.get(bucket)?.objects.delete(name) ?? false;
  }

  /** Resumable upload sessions started and not yet committed or cancelled. */
  openUploads(): number {
    return [...this.sessions.values()].filter((s) => !s.result).length;
  }

  /** The HTTP handler to serve with a `BedServer`. */
  readonly handle: Handler = (req, res) => {
    this.origin = req.url.origin;
    try {
      const answer = this.route(req);
      answer(res);
    } catch (err) {
      if (err instanceof NotModified) {
        res.writeHead(304).end();
      } else if (err instanceof ApiFailure) {
        if (Object.keys(err.headers).length > 0) {
          sendJson(res, err.code, errorBody(err.code, err.reason, err.message), err.headers);
        } else {
          sendGoogleError(res, err.code, err.reason, err.message);
        }
      } else {
        throw err;
      }
    }
  };

  private route(req: BedRequest): Send {
    const raw = req.url.pathname;
    let kind: 'json' | 'upload' | 'download';
    let rest: string;
    const m = /^\/(upload|download)(\/storage\/v1)?(\/.*)$/.exec(raw);
    if (m) {
      kind = m[1] as 'upload' | 'download';
      rest = m[3]!;
    } else {
      kind = 'json';
      rest = raw.startsWith('/storage/v1/') ? raw.slice('/storage/v1'.length) : raw;
    }
    const q = req.url.searchParams;

    // The session id authorizes resumable upload requests; the client sends no token with them.
    const uploadId = q.get('upload_id');
    if (kind === 'upload' && uploadId !== null && req.method !== 'POST') {
      return this.resumableRequest(req, uploadId);
    }
    this.authorize(req);

    const seg = rest.split('/').slice(1);
    if (seg[0] !== 'b') throw new ApiFailure(404, 'notFound', `Not Found: ${raw}`);
    if (seg.length === 1) {
      if (req.method === 'GET') return this.listBuckets();
      if (req.method === 'POST') return this.insertBucket(req);
      throw methodNotAllowed();
    }
    const bucketName = decodeSegment(seg[1]);
    if (seg.length === 2) {
      if (req.method === 'GET') return this.getBucket(bucketName);
      if (req.method === 'DELETE') return this.removeBucket(bucketName);
      throw methodNotAllowed();
    }
    if (seg[2] !== 'o') throw new ApiFailure(404, 'notFound', `Not Found: ${raw}`);
    if (seg.length === 3) {
      if (kind === 'upload') {
        if (req.method !== 'POST') throw methodNotAllowed();
        return this.upload(req, bucketName);
      }
      if (req.method === 'GET') return this.list(bucketName, q);
      if (req.method === 'POST') return this.insertMetadataOnly(req, bucketName);
      throw methodNotAllowed();
    }
    const objectPath = seg.slice(3);
    if (req.method === 'POST') {
      const to = objectPath.findIndex((s) => s === 'rewriteTo' || s === 'copyTo');
      if (to > 0 && objectPath[to + 1] === 'b' && objectPath[to + 3] === 'o' && objectPath.length > to + 4) {
        return this.rewrite(
          req,
          bucketName,
          decodeSegment(objectPath.slice(0, to).join('/')),
          decodeSegment(objectPath[to + 2]),
          decodeSegment(objectPath.slice(to + 4).join('/')),
          objectPath[to] === 'rewriteTo',
        );
      }
      if (objectPath.length > 1 && objectPath[objectPath.length - 1] === 'compose') {
        return this.compose(req, bucketName, decodeSegment(objectPath.slice(0, -1).join('/')));
      }
      throw methodNotAllowed();
    }
    // Names are meant to be sent percent-encoded, but curl users often leave the slashes bare.
    const name = decodeSegment(objectPath.join('/'));
    switch (req.method) {
      case 'GET':
        return q.get('alt') === 'media' || kind === 'download'
          ? this.download(req, bucketName, name)
          : this.getMetadata(q, bucketName, name);
      case 'PATCH':
      case 'PUT':
        return this.patch(req, bucketName, name, req.method === 'PUT');
      case 'DELETE':
        return this.remove(q, bucketName, name);
      default:
        throw methodNotAllowed();
    }
  }

  private authorize(req: BedRequest): void {
    if (!this.requireAuth) return;
    const header = req.headers.authorization;
    const wwwAuth = { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' };
    if (!header) {
      throw new ApiFailure(
        401,
        'required',
        'Anonymous caller does not have storage access to the Google Cloud Storage resource. ' +
          'Permission denied on resource (or it may not exist).',
        wwwAuth,
      );
    }
    if (!this.tokens.check(header)) {
      throw new ApiFailure(401, 'authError', 'Invalid Credentials', {
        ...wwwAuth,
        'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      });
    }
  }

  // ---- buckets

  private ensureBucket(name: string): Bucket {
    let b = this.buckets.get(name);
    if (!b) {
      b = { name, created: this.clock.iso(), objects: new Map() };
      this.buckets.set(name, b);
    }
    return b;
  }

  private bucket(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw notFoundBucket();
    return b;
  }

  private renderBucket(b: Bucket): BucketResource {
    return {
      kind: 'storage#bucket',
      id: b.name,
      selfLink: `${this.origin}/storage/v1/b/${b.name}`,
      projectNumber: PROJECT_NUMBER,
      name: b.name,
      timeCreated: b.created,
      updated: b.created,
      metageneration: '1',
      location: 'US',
      locationType: 'multi-region',
      storageClass: 'STANDARD',
      etag: 'CAE=',
    };
  }

  private listBuckets(): Send {
    const items = [...this.buckets.values()]
      .sort((a, b) => compareNames(a.name, b.name))
      .map((b) => this.renderBucket(b));
    return json(200, items.length ? { kind: 'storage#buckets', items } : { kind: 'storage#buckets' });
  }

  private insertBucket(req: BedRequest): Send {
    if (!req.url.searchParams.get('project'))
      throw new ApiFailure(400, 'required', 'Required parameter: project');
    const body = parseJson(req);
    const name = typeof body.name === 'string' ? body.name : '';
    if (!name) throw new ApiFailure(400, 'required', 'Required');
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) {
      throw new ApiFailure(400, 'invalid', 'Invalid bucket name: ' + `'${name}'`);
    }
    if (this.buckets.has(name)) {
      throw new ApiFailure(
        409,
        'conflict',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    }
    return json(200, this.renderBucket(this.ensureBucket(name)));
  }

  private getBucket(name: string): Send {
    return json(200, this.renderBucket(this.bucket(name)));
  }

  private removeBucket(name: string): Send {
    const b = this.bucket(name);
    if (b.objects.size > 0)
      throw new ApiFailure(409, 'conflict', 'The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
    return empty(204);
  }

  // ---- objects

  private render(obj: StoredObject): ObjectResource {
    const enc = encodeURIComponent(obj.name);
    const r: ObjectResource = {
      kind: 'storage#object',
      id: `${obj.bucket}/${obj.name}/${obj.generation}`,
      selfLink: `${this.origin}/storage/v1/b/${obj.bucket}/o/${enc}`,
      mediaLink: `${this.origin}/download/storage/v1/b/${obj.bucket}/o/${enc}?generation=${obj.generation}&alt=media`,
      name: obj.name,
      bucket: obj.bucket,
      generation: String(obj.generation),
      metageneration: String(obj.metageneration),
      contentType: obj.contentType,
      storageClass: 'STANDARD',
      size: String(obj.data.length),
      crc32c: obj.crc32c,
      etag: etag(obj),
      timeCreated: obj.timeCreated,
      updated: obj.updated,
      timeStorageClassUpdated: obj.timeCreated,
    };
    if (obj.md5Hash !== undefined) r.md5Hash = obj.md5Hash;
    if (obj.componentCount !== undefined) r.componentCount = obj.componentCount;
    Object.assign(r, obj.extra);
    if (Object.keys(obj.metadata).length > 0) r.metadata = { ...obj.metadata };
    return r;
  }

  private object(bucket: string, name: string, q?: URLSearchParams): StoredObject {
    const obj = this.bucket(bucket).objects.get(name);
    const gen = q?.get('generation');
    if (!obj || (gen && gen !== String(obj.generation))) throw notFoundObject(bucket, name);
    return obj;
  }

  /** Stores a new generation of an object. */
  private commit(
    b: Bucket,
    name: string,
    data: Buffer,
    meta: { contentType?: string | undefined; metadata?: unknown; extra?: Record<string, unknown> },
    componentCount?: number,
  ): StoredObject {
    const now = this.clock.now();
    this.lastGeneration = Math.max(this.lastGeneration + 1, Math.floor(now) * 1000);
    const at = this.clock.iso(now);
    const obj: StoredObject = {
      data,
      name,
      bucket: b.name,
      generation: this.lastGeneration,
      metageneration: 1,
      contentType: meta.contentType || 'application/octet-stream',
      // Composite objects carry no MD5, as in the real service.
      md5Hash: componentCount === undefined ? createHash('md5').update(data).digest('base64') : undefined,
      crc32c: crc32cBase64(data),
      timeCreated: at,
      updated: at,
      componentCount,
      metadata: stringMap(meta.metadata),
      extra: pickExtra(meta.extra ?? {}),
    };
    b.objects.set(name, obj);
    return obj;
  }

  private getMetadata(q: URLSearchParams, bucket: string, name: string): Send {
    const obj = this.object(bucket, name, q);
    checkPreconditions(q, obj, 'read');
    return json(200, this.render(obj));
  }

  private download(req: BedRequest, bucket: string, name: string): Send {
    const q = req.url.searchParams;
    const obj = this.object(bucket, name, q);
    checkPreconditions(q, obj, 'read');
    const size = obj.data.length;
    const headers: Record<string, string | number> = {
      'content-type': obj.contentType,
      'x-goog-hash': obj.md5Hash ? `crc32c=${obj.crc32c},md5=${obj.md5Hash}` : `crc32c=${obj.crc32c}`,
      'x-goog-generation': String(obj.generation),
      'x-goog-metageneration': String(obj.metageneration),
      'x-goog-stored-content-encoding': obj.extra.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': String(size),
      'x-goog-storage-class': 'STANDARD',
      etag: etag(obj),
      'last-modified': new Date(obj.updated).toUTCString(),
      'accept-ranges': 'bytes',
    };
    if (obj.extra.cacheControl) headers['cache-control'] = obj.extra.cacheControl;
    if (obj.extra.contentDisposition) headers['content-disposition'] = obj.extra.contentDisposition;
    if (obj.extra.contentLanguage) headers['content-language'] = obj.extra.contentLanguage;
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      throw new ApiFailure(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', {
        'content-range': `bytes */${size}`,
      });
    }
    return (res) => {
      if (range) {
        const part = obj.data.subarray(range.start, range.end + 1);
        res.writeHead(206, {
          ...headers,
          'content-range': `bytes ${range.start}-${range.end}/${size}`,
          'content-length': part.length,
        });
        res.end(part);
      } else {
        res.writeHead(200, { ...headers, 'content-length': size });
        res.end(obj.data);
      }
    };
  }

  private list(bucket: string, q: URLSearchParams): Send {
    const b = this.bucket(bucket);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') ?? '';
    const endOffset = q.get('endOffset') ?? '';
    const includeTrailing = q.get('includeTrailingDelimiter') === 'true';
    const glob = q.get('matchGlob');
    const matcher = glob ? globToRegExp(glob) : undefined;
    const maxRaw = q.get('maxResults');
    let max = 1000;
    if (maxRaw !== null) {
      if (!/^\d+$/.test(maxRaw))
        throw new ApiFailure(400, 'invalid', `Invalid value for maxResults: ${maxRaw}`);
      max = Math.min(1000, Math.max(1, Number(maxRaw)));
    }
    let after: string | undefined;
    const token = q.get('pageToken');
    if (token) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (!after.startsWith('p:')) throw new ApiFailure(400, 'invalid', 'Invalid page token');
      after = after.slice(2);
    }

    // Items and prefixes form one sorted sequence, paged together as the real service does.
    const entries: { key: string; item?: StoredObject }[] = [];
    const seenPrefixes = new Set<string>();
    for (const name of sortedNames(b)) {
      if (!name.startsWith(prefix)) continue;
      if (startOffset && compareNames(name, startOffset) < 0) continue;
      if (endOffset && compareNames(name, endOffset) >= 0) continue;
      if (matcher && !matcher.test(name)) continue;
      if (delimiter) {
        const cut = name.indexOf(delimiter, prefix.length);
        if (cut >= 0) {
          const p = name.slice(0, cut + delimiter.length);
          if (!seenPrefixes.has(p)) {
            seenPrefixes.add(p);
            entries.push({ key: p });
          }
          if (!(includeTrailing && p === name)) continue;
        }
      }
      entries.push({ key: name, item: b.objects.get(name)! });
    }
    let start = 0;
    if (after !== undefined) {
      const a = after;
      start = entries.findIndex((e) => compareNames(e.key, a) > 0);
      if (start < 0) start = entries.length;
    }
    const page = entries.slice(start, start + max);
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (start + max < entries.length) {
      out.nextPageToken = Buffer.from(`p:${page[page.length - 1].key}`).toString('base64url');
    }
    const prefixes = page.filter((e) => !e.item).map((e) => e.key);
    if (prefixes.length) out.prefixes = prefixes;
    const items = page.filter((e) => e.item).map((e) => this.render(e.item!));
    if (items.length) out.items = items;
    return json(200, out);
  }

  private patch(req: BedRequest, bucket: string, name: string, replace: boolean): Send {
    const q = req.url.searchParams;
    const obj = this.object(bucket, name, q);
    checkPreconditions(q, obj, 'write');
    const body = parseJson(req);
    if (replace) {
      obj.metadata = {};
      obj.extra = {};
    }
    if ('metadata' in body) {
      if (body.metadata === null) obj.metadata = {};
      else if (typeof body.metadata === 'object') {
        for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) {
          if (v === null) delete obj.metadata[k];
          else obj.metadata[k] = scalar(v, `metadata.${k}`);
        }
      } else throw new ApiFailure(400, 'invalid', 'Invalid value for metadata');
    }
    if (typeof body.contentType === 'string') obj.contentType = body.contentType;
    for (const f of EXTRA_FIELDS) {
      if (!(f in body)) continue;
      const v = body[f];
      if (v === null) delete obj.extra[f];
      else obj.extra[f] = scalar(v, f);
    }
    obj.metageneration += 1;
    obj.updated = this.clock.iso();
    return json(200, this.render(obj));
  }

  private remove(q: URLSearchParams, bucket: string, name: string): Send {
    const obj = this.object(bucket, name, q);
    checkPreconditions(q, obj, 'write');
    this.bucket(bucket).objects.delete(name);
    return empty(204);
  }

  private insertMetadataOnly(req: BedRequest, bucket: string): Send {
    const b = this.bucket(bucket);
    const meta = parseJson(req);
    const name = req.url.searchParams.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
    if (!name) throw new ApiFailure(400, 'required', 'Required');
    checkPreconditions(req.url.searchParams, b.objects.get(name), 'write');
    const obj = this.commit(b, name, Buffer.alloc(0), objectMeta(meta, undefined));
    return json(200, this.render(obj));
  }

  private rewrite(req: BedRequest, sb: string, so: string, db: string, dn: string, isRewrite: boolean): Send {
    const q = req.url.searchParams;
    const src = this.object(sb, so, sourceQuery(q));
    checkPreconditions(q, src, 'write', 'ifSource');
    const dest = this.bucket(db);
    checkPreconditions(q, dest.objects.get(dn), 'write');
    const body = parseJson(req);
    const meta =
      Object.keys(body).length > 0
        ? objectMeta(body, undefined)
        : { contentType: src.contentType, metadata: src.metadata, extra: src.extra };
    const obj = this.commit(dest, dn, Buffer.from(src.data), meta);
    const resource = this.render(obj);
    if (!isRewrite) return json(200, resource);
    const size = String(obj.data.length);
    return json(200, {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: size,
      objectSize: size,
      done: true,
      resource,
    });
  }

  private compose(req: BedRequest, bucket: string, name: string): Send {
    const b = this.bucket(bucket);
    const body = parseJson(req);
    const sources = body.sourceObjects;
    if (!Array.isArray(sources) || sources.length === 0) throw new ApiFailure(400, 'required', 'Required');
    if (sources.length > 32) {
      throw new ApiFailure(
        400,
        'invalid',
        'The number of source components provided (' + `${sources.length}) exceeds 32.`,
      );
    }
    const parts: Buffer[] = [];
    let components = 0;
    for (const s of sources as {
      name?: string;
      generation?: string;
      objectPreconditions?: { ifGenerationMatch?: string };
    }[]) {
      if (!s.name) throw new ApiFailure(400, 'required', 'Required');
      const src = b.objects.get(s.name);
      if (!src || (s.generation && String(s.generation) !== String(src.generation))) {
        throw notFoundObject(bucket, s.name);
      }
      const want = s.objectPreconditions?.ifGenerationMatch;
      if (want !== undefined && String(want) !== String(src.generation)) throw conditionNotMet();
      parts.push(src.data);
      components += src.componentCount ?? 1;
    }
    checkPreconditions(req.url.searchParams, b.objects.get(name), 'write');
    const dest = (body.destination ?? {}) as Record<string, unknown>;
    const obj = this.commit(b, name, Buffer.concat(parts), objectMeta(dest, undefined), components);
    return json(200, this.render(obj));
  }

  // ---- uploads

  private upload(req: BedRequest, bucket: string): Send {
    const q = req.url.searchParams;
    const b = this.bucket(bucket);
    switch (q.get('uploadType')) {
      case 'media': {
        const name = q.get('name');
        if (!name) throw new ApiFailure(400, 'required', 'Required');
        checkPreconditions(q, b.objects.get(name), 'write');
        checkClientHashes(req.body, hashesFromHeader(req.headers['x-goog-hash']));
        const obj = this.commit(b, name, req.body, { contentType: headerValue(req.headers['content-type']) });
        return json(200, this.render(obj));
      }
      case 'multipart': {
        const parts = parseMultipart(req);
        if (parts.length !== 2) {
          throw new ApiFailure(
            400,
            'invalid',
            'Multipart upload must have exactly two parts: metadata and media.',
          );
        }
        const meta = JSON.parse(parts[0].body.toString('utf8') || '{}') as Record<string, unknown>;
        const name = q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
        if (!name) throw new ApiFailure(400, 'required', 'Required');
        checkPreconditions(q, b.objects.get(name), 'write');
        const data = parts[1].body;
        checkClientHashes(data, {
          ...hashesFromMetadata(meta),
          ...hashesFromHeader(req.headers['x-goog-hash']),
        });
        const obj = this.commit(b, name, data, objectMeta(meta, parts[1].headers['content-type']));
        return json(200, this.render(obj));
      }
      case 'resumable':
        return this.startResumable(req, b);
      default:
        throw new ApiFailure(
          400,
          'invalid',
          'Upload requests must include an uploadType URL parameter and a URL-encoded object name.',
        );
    }
  }

  private startResumable(req: BedRequest, b: Bucket): Send {
    const q = req.url.searchParams;
    const meta = parseJson(req);
    const name = q.get('name') ?? (typeof meta.name === 'string' ? meta.name : '');
    if (!name) throw new ApiFailure(400, 'required', 'Required');
    checkPreconditions(q, b.objects.get(name), 'write');
    const totalHeader = headerValue(req.headers['x-upload-content-length']);
    const session: UploadSession = {
      id: `ADPycd${randomBytes(24).toString('base64url')}`,
      bucket: b.name,
      name,
      metadata: meta,
      contentType:
        (typeof meta.contentType === 'string' && meta.contentType) ||
        headerValue(req.headers['x-upload-content-type']) ||
        'application/octet-stream',
      query: new URLSearchParams(
        [...q].filter(([k]) => /^if(Generation|Metageneration)(Not)?Match$/.test(k)),
      ),
      received: [],
      size: 0,
      declaredTotal: totalHeader && /^\d+$/.test(totalHeader) ? Number(totalHeader) : undefined,
      result: undefined,
    };
    this.sessions.set(session.id, session);
    const location = new URL(req.url.pathname, req.url.origin);
    location.searchParams.set('uploadType', 'resumable');
    location.searchParams.set('name', name);
    location.searchParams.set('upload_id', session.id);
    return (res) => {
      res.writeHead(200, {
        location: location.href,
        'x-guploader-uploadid': session.id,
        'content-length': 0,
      });
      res.end();
    };
  }

  private resumableRequest(req: BedRequest, uploadId: string): Send {
    const s = this.sessions.get(uploadId);
    if (!s) throw new ApiFailure(404, 'notFound', 'No such upload session.');
    if (req.method === 'DELETE') {
      this.sessions.delete(uploadId);
      return (res) => {
        res.writeHead(499, { 'content-length': 0 });
        res.end();
      };
    }
    if (req.method !== 'PUT') throw methodNotAllowed();
    if (s.result) return json(200, this.render(s.result));

    const cr = headerValue(req.headers['content-range']);
    let start = 0;
    let end: number | '*' | undefined; // inclusive, '*': to the end of this request
    let total: number | '*' = '*';
    if (cr === undefined) {
      // No Content-Range: the body is the whole object.
      end = req.body.length - 1;
      total = req.body.length;
      if (s.size > 0)
        throw new ApiFailure(400, 'invalid', 'Missing Content-Range on an upload already in progress.');
    } else {
      const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(cr.trim());
      if (!m) throw new ApiFailure(400, 'invalid', `Invalid Content-Range header: ${cr}`);
      total = m[4] === '*' ? '*' : Number(m[4]);
      if (m[1] === '*') {
        end = undefined;
      } else {
        start = Number(m[2]);
        end = m[3] === '*' ? '*' : Number(m[3]);
      }
    }

    if (end === undefined) {
      // A status query, or a commit of what was already sent when the total is now given.
      if (req.body.length > 0)
        throw new ApiFailure(400, 'invalid', 'Content-Range bytes */N carries no data.');
      if (total !== '*' && total === s.size) return this.finishUpload(req, s);
      if (total !== '*' && total < s.size) throw badTotal(total, s.size);
      return incomplete(s.size);
    }

    const last = end === '*' ? start + req.body.length - 1 : end;
    if (end !== '*' && req.body.length !== end - start + 1) {
      throw new ApiFailure(
        400,
        'invalid',
        `Content-Range ${cr ?? ''} does not match the ${req.body.length} byte(s) sent.`,
      );
    }
    if (start > s.size) {
      throw new ApiFailure(
        400,
        'invalid',
        `Invalid request. According to the Content-Range header, the upload offset is ${start} byte(s), ` +
          `which exceeds already uploaded size of ${s.size} byte(s).`,
      );
    }
    // A retried chunk may overlap bytes already persisted; keep only what is new.
    const fresh = req.body.subarray(Math.min(req.body.length, s.size - start));
    if (total !== '*' && last + 1 > total) throw badTotal(total, last + 1);
    const isFinal = total !== '*' ? last + 1 === total : end === '*';
    if (isFinal) {
      s.received.push(fresh);
      s.size += fresh.length;
      return this.finishUpload(req, s);
    }
    if (req.body.length < CHUNK_GRANULARITY) {
      throw new ApiFailure(
        400,
        'invalid',
        `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_GRANULARITY}, ` +
          `except for the final request (it's recommended to be the exact multiple of ${CHUNK_GRANULARITY}). ` +
          `The received request contained ${req.body.length} bytes, which does not meet this requirement.`,
      );
    }
    // The real service persists only whole multiples of 256 KiB of a non-final chunk.
    const keepTo = Math.floor((last + 1) / CHUNK_GRANULARITY) * CHUNK_GRANULARITY;
    const keep = fresh.subarray(0, Math.max(0, keepTo - s.size));
    s.received.push(keep);
    s.size += keep.length;
    return incomplete(s.size);
  }

  private finishUpload(req: BedRequest, s: UploadSession): Send {
    const data = Buffer.concat(s.received);
    if (s.declaredTotal !== undefined && s.declaredTotal !== data.length) {
      this.sessions.delete(s.id);
      throw new ApiFailure(
        400,
        'invalid',
        `Upload size ${data.length} does not match X-Upload-Content-Length ${s.declaredTotal}.`,
      );
    }
    const b = this.buckets.get(s.bucket);
    if (!b) {
      this.sessions.delete(s.id);
      throw notFoundBucket();
    }
    try {
      checkPreconditions(s.query, b.objects.get(s.name), 'write');
      checkClientHashes(data, {
        ...hashesFromMetadata(s.metadata),
        ...hashesFromHeader(req.headers['x-goog-hash']),
      });
    } catch (err) {
      this.sessions.delete(s.id);
      throw err;
    }
    s.result = this.commit(b, s.name, data, objectMeta(s.metadata, s.contentType));
    s.received = [];
    return json(200, this.render(s.result));
  }
}

// ---- helpers

function json(status: number, body: unknown): Send {
  return (res) => sendJson(res, status, body);
}

function empty(status: number): Send {
  return (res) => {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
  };
}

function incomplete(size: number): Send {
  return (res) => {
    // No Range header at all means the service holds no bytes yet.
    const headers: Record<string, string | number> = { 'content-length': 0 };
    if (size > 0) headers.range = `bytes=0-${size - 1}`;
    res.writeHead(308, headers);
    res.end();
  };
}

function badTotal(total: number, atLeast: number): ApiFailure {
  return new ApiFailure(
    400,
    'invalid',
    `Content-Range total ${total} is smaller than the ${atLeast} byte(s) of the upload.`,
  );
}

function methodNotAllowed(): ApiFailure {
  return new ApiFailure(405, 'methodNotAllowed', 'Method not allowed for this resource.');
}

function errorBody(code: number, reason: string, message: string): unknown {
  const detail: Record<string, string> = { message, domain: 'global', reason };
  if (code === 401) Object.assign(detail, { locationType: 'header', location: 'Authorization' });
  return { error: { code, message, errors: [detail], status: googleStatus(code) } };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiFailure(400, 'invalid', `Invalid percent-encoding in path: ${s}`);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseJson(req: BedRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(req.body.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiFailure(400, 'parseError', 'Parse Error');
}

function etag(obj: StoredObject): string {
  return Buffer.from(`${obj.generation}/${obj.metageneration}`).toString('base64');
}

/** Byte order of UTF-8, which is how the real service sorts names. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sortedNames(b: Bucket): string[] {
  return [...b.objects.keys()].sort(compareNames);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') {
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (val !== null && val !== undefined) out[k] = scalar(val, `metadata.${k}`);
    }
  }
  return out;
}

/** A JSON scalar as the string the API stores; anything else is a bad request. */
function scalar(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ApiFailure(400, 'invalid', `Invalid value for ${field}: ${JSON.stringify(v)}`);
}

function pickExtra(src: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of EXTRA_FIELDS) {
    const v = src[f];
    if (v !== undefined && v !== null) out[f] = scalar(v, f);
  }
  return out;
}

function objectMeta(
  meta: Record<string, unknown>,
  fallbackContentType: string | undefined,
): { contentType: string | undefined; metadata: unknown; extra: Record<string, unknown> } {
  return {
    contentType: (typeof meta.contentType === 'string' && meta.contentType) || fallbackContentType,
    metadata: meta.metadata,
    extra: meta,
  };
}

/** The rewrite's source generation is passed as `sourceGeneration`. */
function sourceQuery(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  const g = q.get('sourceGeneration');
  if (g) out.set('generation', g);
  return out;
}

/**
 * Evaluates the generation/metageneration preconditions of a request (`prefix` `ifSource` for a rewrite's
 * source). Match failures are 412; NotMatch failures are 304 on reads and 412 on writes.
 */
function checkPreconditions(
  q: URLSearchParams,
  obj: StoredObject | undefined,
  mode: 'read' | 'write',
  prefix = 'if',
): void {
  const num = (name: string): number | undefined => {
    const v = q.get(prefix + name);
    if (v === null) return undefined;
    if (!/^-?\d+$/.test(v))
      throw new ApiFailure(400, 'invalid', `Invalid argument for ${prefix}${name}: ${v}`);
    return Number(v);
  };
  const gm = num('GenerationMatch');
  const gnm = num('GenerationNotMatch');
  const mm = num('MetagenerationMatch');
  const mnm = num('MetagenerationNotMatch');
  if (gm !== undefined && (obj ? obj.generation !== gm : gm !== 0)) throw conditionNotMet();
  if (mm !== undefined && (!obj || obj.metageneration !== mm)) throw conditionNotMet();
  const notMatchFailed =
    (gnm !== undefined && (obj ? obj.generation === gnm : gnm === 0)) ||
    (mnm !== undefined && obj !== undefined && obj.metageneration === mnm);
  if (notMatchFailed) {
    if (mode === 'read') throw new NotModified();
    throw conditionNotMet();
  }
}

interface ClientHashes {
  crc32c?: string;
  md5?: string;
}

function hashesFromHeader(h: string | string[] | undefined): ClientHashes {
  const out: ClientHashes = {};
  for (const v of Array.isArray(h) ? h : h ? [h] : []) {
    for (const pair of v.split(',')) {
      const i = pair.indexOf('=');
      if (i < 0) continue;
      const k = pair.slice(0, i).trim().toLowerCase();
      const val = pair.slice(i + 1).trim();
      if (k === 'crc32c') out.crc32c = val;
      else if (k === 'md5') out.md5 = val;
    }
  }
  return out;
}

function hashesFromMetadata(meta: Record<string, unknown>): ClientHashes {
  const out: ClientHashes = {};
  if (typeof meta.crc32c === 'string') out.crc32c = meta.crc32c;
  if (typeof meta.md5Hash === 'string') out.md5 = meta.md5Hash;
  return out;
}

function checkClientHashes(data: Buffer, given: ClientHashes): void {
  if (given.crc32c !== undefined) {
    const actual = crc32cToBase64(crc32c(data));
    if (given.crc32c !== actual) {
      throw new ApiFailure(
        400,
        'invalid',
        `Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${actual}".`,
      );
    }
  }
  if (given.md5 !== undefined) {
    const actual = createHash('md5').update(data).digest('base64');
    if (given.md5 !== actual) {
      throw new ApiFailure(
        400,
        'invalid',
        `Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${actual}".`,
      );
    }
  }
}

/** Parses `Range: bytes=...` against an object of `size` bytes; undefined means "send it all". */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // A malformed or multi-range header is ignored, as HTTP allows.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  // An empty object has no satisfiable range; the real service then sends it whole.
  if (size === 0) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

function parseMultipart(req: BedRequest): Part[] {
  const ct = headerValue(req.headers['content-type']) ?? '';
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  if (!/^multipart\//i.test(ct) || !m) {
    throw new ApiFailure(
      400,
      'invalid',
      'Multipart upload requires a multipart/related Content-Type with a boundary.',
    );
  }
  const boundary = m[1] ?? m[2];
  const body = req.body;
  const delim = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new ApiFailure(400, 'invalid', 'Multipart body has no boundary.');
  pos += delim.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd < 0) throw new ApiFailure(400, 'invalid', 'Malformed multipart body.');
    const headerEnd = body.indexOf('\r\n\r\n', lineEnd);
    const partEnd = body.indexOf(next, lineEnd);
    if (headerEnd < 0 || partEnd < 0 || headerEnd > partEnd) {
      throw new ApiFailure(400, 'invalid', 'Malformed multipart body.');
    }
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(lineEnd + 2, headerEnd)
      .toString('latin1')
      .split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, body: body.subarray(headerEnd + 4, partEnd) });
    pos = partEnd + next.length;
  }
  return parts;
}

/**
 * `matchGlob` as the real service reads it: `*` matches within one path segment, `**` across segments,
 * `?` one character, `[...]` a class, `{a,b}` alternatives.
 */
function globToRegExp(glob: string): RegExp {
  let re = '';
  let inBraces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) throw new ApiFailure(400, 'invalid', `Invalid matchGlob: ${glob}`);
      let cls = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = close;
    } else if (c === '{') {
      inBraces++;
      re += '(?:';
    } else if (c === '}' && inBraces > 0) {
      inBraces--;
      re += ')';
    } else if (c === ',' && inBraces > 0) re += '|';
    else re += c.replace(/[.+^$()|\\{}[\]]/g, '\\$&');
  }
  if (inBraces) throw new ApiFailure(400, 'invalid', `Invalid matchGlob: ${glob}`);
  return new RegExp(`^${re}$`, 's');
}
