import { mapLimited } from '../../concurrency.ts';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Crc32c } from '../../local/crc32c.ts';
import type { Checksums, Preconditions, StoragePermission } from './protocol.ts';
import {
  StorageApiError,
  bucketNotFound,
  checkChecksums,
  checkPreconditions,
  clientChecksums,
  compareNames,
  decodeSegment,
  globToRegExp,
  headerValue,
  invalid,
  invalidCredentials,
  methodNotAllowed,
  notFound,
  notImplemented,
  objectNameProblem,
  objectNotFound,
  parseFields,
  parseRange,
  parseUploadRange,
  rangeNotSatisfiable,
  projectFields,
  readJsonBody,
  readMultipart,
  readPreconditions,
  required,
  resourceName,
} from './protocol.ts';
import type {
  BucketRecord,
  ObjectMetadata,
  ObjectRecord,
  ObjectStore,
  ObjectVersion,
  StagedBytes,
} from './store.ts';
import { OBJECT_HEADER_FIELDS } from './store.ts';

/** A request body: streamed (a Node request) or already read. */
export type RequestBody = AsyncIterable<Buffer> | Iterable<Buffer>;

/** One HTTP request to the emulator. */
export interface StorageRequest {
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/upload/storage/v1/b/B/o?uploadType=media&name=x`. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: RequestBody;
}

/**
 * Who may do what. `identify` turns a request's bearer token into its principal (undefined: the token is
 * unknown or expired, answered 401 "Invalid Credentials"). `authorize` is called for every permission a call
 * needs, with the caller (undefined: the request carried no token), the permission as Cloud Storage's IAM
 * names it and the resource (`projects/_/buckets/B`, `projects/_/buckets/B/objects/NAME`, or `projects/P` for
 * listing and creating buckets); for `storage.objects.list` also the request's `prefix` (what IAM Conditions see as
 * `api.getAttribute('storage.googleapis.com/objectListPrefix', '')`). It returns the refusal to answer (see
 * `accessDenied`), or undefined to allow. Requests to a resumable staged session carry no token: the session URI is the credential, and the session
 * keeps the principal that started it.
 */
export interface StorageAccessControl<P> {
  identify(bearerToken: string): P | undefined;
  authorize(
    who: P | undefined,
    permission: StoragePermission,
    resource: string,
    request?: { readonly listPrefix?: string },
  ): StorageApiError | undefined;
}

/** How an emulator is put together. */
export interface StorageEmulatorOptions<P> {
  store: ObjectStore;
  /** Epoch milliseconds now; default the system clock. */
  now?: () => number;
  /** Default: everything is allowed, with or without a token. */
  access?: StorageAccessControl<P>;
  /** Shown in bucket resources. */
  projectNumber?: string;
  location?: string;
  locationType?: string;
}

/** An object resource as the JSON API prints it. */
export type ObjectResource = ReturnType<typeof objectResource>;
/** A bucket resource as the JSON API prints it. */
export type BucketResource = ReturnType<StorageEmulator['bucketResource']>;

/** Non-final resumable chunks count in multiples of this; the service keeps only whole multiples. */
const CHUNK_GRANULARITY = 256 * 1024;
/** A page of a listing holds at most this many items and prefixes together. */
const MAX_PAGE = 1000;
/** Objects described at once while answering one listing. */
const LIST_CONCURRENCY = 16;

/** The object resource of a record, with links on `origin` (`http://host:port`). */
export function objectResource(r: ObjectRecord, origin: string) {
  const path = `b/${encodeURIComponent(r.bucket)}/o/${encodeURIComponent(r.name)}`;
  return {
    kind: 'storage#object' as const,
    id: `${r.bucket}/${r.name}/${r.generation}`,
    selfLink: `${origin}/storage/v1/${path}`,
    mediaLink: `${origin}/download/storage/v1/${path}?generation=${r.generation}&alt=media`,
    name: r.name,
    bucket: r.bucket,
    generation: String(r.generation),
    metageneration: String(r.metageneration),
    contentType: r.contentType,
    storageClass: 'STANDARD',
    size: String(r.size),
    ...(r.md5Hash === undefined ? {} : { md5Hash: r.md5Hash }),
    crc32c: r.crc32c,
    etag: etagOf(r),
    timeCreated: new Date(r.timeCreated).toISOString(),
    updated: new Date(r.updated).toISOString(),
    timeStorageClassUpdated: new Date(r.timeCreated).toISOString(),
    ...(r.componentCount === undefined ? {} : { componentCount: r.componentCount }),
    ...r.headerFields,
    ...(Object.keys(r.metadata).length > 0 ? { metadata: { ...r.metadata } } : {}),
  };
}

/** One source object of a compose request. */
interface ComposeSource {
  name?: string;
  generation?: string;
  objectPreconditions?: { ifGenerationMatch?: string };
}

/** One call being answered. */
interface Call<P> {
  readonly req: StorageRequest;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  /** `http://host:port` as the client addressed the emulator: the base of the links in resources. */
  readonly origin: string;
  readonly who: P | undefined;
}

interface UploadSession<P> {
  readonly id: string;
  readonly bucket: string;
  readonly name: string;
  /** The object metadata sent when the session was started. */
  readonly metadata: Record<string, unknown>;
  readonly contentType: string | undefined;
  readonly preconditions: Preconditions;
  readonly declaredSize: number | undefined;
  readonly who: P | undefined;
  readonly staged: StagedBytes;
  /** The object once the staged is committed: a repeated final request gets it again. */
  result: ObjectRecord | undefined;
}

/**
 * The Cloud Storage JSON API over an {@link ObjectStore}: buckets, object metadata, downloads with ranges,
 * media, multipart and resumable uploads, copy, rewrite and compose, listing with prefixes, delimiters,
 * offsets, globs and pages, metadata updates, deletes, generation and metageneration preconditions, MD5 and
 * CRC32C, and the service's error answers. Serves both path forms, with and without `/storage/v1`
 * (`STORAGE_EMULATOR_HOST` makes the Node client drop it). Writes to one object are serialized, so checking
 * a precondition and replacing the object are one step.
 */
export class StorageEmulator<P = unknown> {
  private readonly store: ObjectStore;
  private readonly now: () => number;
  private readonly access: StorageAccessControl<P> | undefined;
  private readonly placement: { projectNumber: string; location: string; locationType: string };
  private readonly sessions = new Map<string, UploadSession<P>>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(opts: StorageEmulatorOptions<P>) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.access = opts.access;
    this.placement = {
      projectNumber: opts.projectNumber ?? '0',
      location: opts.location ?? 'US',
      locationType: opts.locationType ?? 'multi-region',
    };
  }

  /** A `node:http` request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const request = { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body: req };
    // A body left unread (a request refused early) is drained so that the connection can carry the next one.
    void this.handle(request, res).finally(() => req.resume());
  };

  /** Answers one request; never throws. */
  async handle(req: StorageRequest, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e =
        err instanceof StorageApiError
          ? err
          : new StorageApiError(500, 'backendError', `Cloud Storage emulator: ${(err as Error).message}`);
      if (e.status === 304) res.writeHead(304).end();
      else sendJson(res, e.status, e.body(), e.headers);
    }
  }

  /** Resumable staged sessions started and neither committed nor cancelled. */
  openUploads(): number {
    return [...this.sessions.values()].filter((s) => !s.result).length;
  }

  /** Drops unfinished uploads. */
  async close(): Promise<void> {
    for (const s of this.sessions.values()) await s.staged.discard();
    this.sessions.clear();
  }

  /** The bucket resource of a record, with links on `origin`. */
  bucketResource(b: BucketRecord, origin: string) {
    const created = new Date(b.timeCreated).toISOString();
    return {
      kind: 'storage#bucket' as const,
      id: b.name,
      selfLink: `${origin}/storage/v1/b/${encodeURIComponent(b.name)}`,
      ...this.placement,
      name: b.name,
      timeCreated: created,
      updated: created,
      metageneration: '1',
      storageClass: 'STANDARD',
      etag: 'CAE=',
    };
  }

  private async route(req: StorageRequest, res: ServerResponse): Promise<void> {
    const q = req.target.indexOf('?');
    const rawPath = q < 0 ? req.target : req.target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : req.target.slice(q + 1));
    const m = /^\/(upload|download)(?=\/)/.exec(rawPath);
    let rest = m ? rawPath.slice(m[0].length) : rawPath;
    if (rest.startsWith('/storage/v1/')) rest = rest.slice('/storage/v1'.length);
    const origin = `http://${headerValue(req.headers.host) ?? 'localhost'}`;
    const uploadId = query.get('upload_id');
    if (m?.[1] === 'upload' && uploadId !== null && req.method !== 'POST') {
      return this.resumableRequest({ req, res, query, origin, who: undefined }, uploadId);
    }
    const c: Call<P> = { req, res, query, origin, who: this.identify(req.headers.authorization) };
    const seg = rest.split('/').slice(1);
    if (seg.length <= 4 && seg[seg.length - 1] === '') seg.pop();
    if (seg[0] !== 'b') throw notFound(`Not Found: ${rawPath}`);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (seg.length === 1) {
      if (method === 'GET') return this.listBuckets(c);
      if (method === 'POST') return this.insertBucket(c);
      throw methodNotAllowed();
    }
    const bucket = decodeSegment(seg[1]);
    if (seg.length === 2) {
      if (method === 'GET') return this.getBucket(c, bucket);
      if (method === 'DELETE') return this.deleteBucket(c, bucket);
      throw methodNotAllowed();
    }
    if (seg[2] !== 'o') throw notImplemented(`The bucket sub-resource ${seg[2]}`);
    if (seg.length === 3) {
      if (m?.[1] === 'upload') {
        if (method !== 'POST') throw methodNotAllowed();
        return this.upload(c, bucket);
      }
      if (method === 'GET') return this.list(c, bucket);
      if (method === 'POST') return this.upload(c, bucket, true);
      throw methodNotAllowed();
    }
    const objectPath = seg.slice(3);
    if (method === 'POST') {
      const to = objectPath.findIndex((s) => s === 'rewriteTo' || s === 'copyTo');
      if (to > 0 && objectPath[to + 1] === 'b' && objectPath[to + 3] === 'o' && objectPath.length > to + 4) {
        const source = decodeSegment(objectPath.slice(0, to).join('/'));
        const target = {
          bucket: decodeSegment(objectPath[to + 2]),
          name: decodeSegment(objectPath.slice(to + 4).join('/')),
        };
        return this.copy(c, { bucket, name: source }, target, objectPath[to] === 'rewriteTo');
      }
      if (objectPath.length > 1 && objectPath[objectPath.length - 1] === 'compose') {
        return this.compose(c, bucket, decodeSegment(objectPath.slice(0, -1).join('/')));
      }
      throw notImplemented('This POST on an object');
    }
    // Names are meant to come percent-encoded, but a bare `/` is read as part of the name too.
    const name = decodeSegment(objectPath.join('/'));
    switch (method) {
      case 'GET':
        if (query.get('alt') === 'media' || m?.[1] === 'download') return this.download(c, bucket, name);
        return this.getObject(c, bucket, name);
      case 'PATCH':
      case 'PUT':
        return this.updateObject(c, bucket, name, method === 'PUT');
      case 'DELETE':
        return this.deleteObject(c, bucket, name);
      default:
        throw methodNotAllowed();
    }
  }

  // ---- access

  private identify(authorization: string | string[] | undefined): P | undefined {
    const header = headerValue(authorization);
    if (!this.access || header === undefined) return undefined;
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const who = token === undefined ? undefined : this.access.identify(token);
    if (who === undefined) throw invalidCredentials();
    return who;
  }

  private authorize(
    who: P | undefined,
    permission: StoragePermission,
    resource: string,
    request?: { readonly listPrefix?: string },
  ): void {
    const refusal = this.access?.authorize(who, permission, resource, request);
    if (refusal) throw refusal;
  }

  // ---- buckets

  private async listBuckets(c: Call<P>): Promise<void> {
    const project = c.query.get('project');
    if (!project) throw required('Required parameter: project');
    this.authorize(c.who, 'storage.buckets.list', `projects/${project}`);
    const items = (await this.store.listBuckets())
      .sort((a, b) => compareNames(a.name, b.name))
      .map((b) => this.bucketResource(b, c.origin));
    this.reply(c, { kind: 'storage#buckets', ...(items.length > 0 ? { items } : {}) });
  }

  private async insertBucket(c: Call<P>): Promise<void> {
    const project = c.query.get('project');
    if (!project) throw required('Required parameter: project');
    this.authorize(c.who, 'storage.buckets.create', `projects/${project}`);
    const body = await readJsonBody(c.req.body);
    const name = typeof body.name === 'string' ? body.name : '';
    if (!name) throw required('Required: the bucket name.');
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) throw invalid(`Invalid bucket name: '${name}'`);
    this.reply(c, this.bucketResource(await this.store.createBucket(name, this.now()), c.origin));
  }

  private async getBucket(c: Call<P>, bucket: string): Promise<void> {
    this.authorize(c.who, 'storage.buckets.get', resourceName(bucket));
    this.reply(c, this.bucketResource(await this.requireBucket(bucket), c.origin));
  }

  private async deleteBucket(c: Call<P>, bucket: string): Promise<void> {
    this.authorize(c.who, 'storage.buckets.delete', resourceName(bucket));
    await this.store.deleteBucket(bucket);
    c.res.writeHead(204, { 'content-length': 0 }).end();
  }

  private async requireBucket(bucket: string): Promise<BucketRecord> {
    const b = await this.store.getBucket(bucket);
    if (!b) throw bucketNotFound();
    return b;
  }

  // ---- reads

  private async getObject(c: Call<P>, bucket: string, name: string): Promise<void> {
    this.authorize(c.who, 'storage.objects.get', resourceName(bucket, name));
    const record = await this.found(
      bucket,
      name,
      await this.store.head(bucket, name),
      c.query.get('generation'),
    );
    checkPreconditions(readPreconditions(c.query), record, 'read');
    this.reply(c, objectResource(record, c.origin));
  }

  private async download(c: Call<P>, bucket: string, name: string): Promise<void> {
    this.authorize(c.who, 'storage.objects.get', resourceName(bucket, name));
    const opened = await this.store.open(bucket, name);
    try {
      const r = await this.found(bucket, name, opened?.record, c.query.get('generation'));
      checkPreconditions(readPreconditions(c.query), r, 'read');
      const headers: Record<string, string | number> = {
        'content-type': r.contentType,
        'x-goog-hash': r.md5Hash ? `crc32c=${r.crc32c},md5=${r.md5Hash}` : `crc32c=${r.crc32c}`,
        'x-goog-generation': String(r.generation),
        'x-goog-metageneration': String(r.metageneration),
        'x-goog-stored-content-length': String(r.size),
        'x-goog-stored-content-encoding': r.headerFields.contentEncoding ?? 'identity',
        'x-goog-storage-class': 'STANDARD',
        etag: etagOf(r),
        'last-modified': new Date(r.updated).toUTCString(),
        'accept-ranges': 'bytes',
      };
      if (r.headerFields.cacheControl) headers['cache-control'] = r.headerFields.cacheControl;
      if (r.headerFields.contentDisposition)
        headers['content-disposition'] = r.headerFields.contentDisposition;
      if (r.headerFields.contentLanguage) headers['content-language'] = r.headerFields.contentLanguage;
      const range = parseRange(headerValue(c.req.headers.range), r.size);
      if (range === 'unsatisfiable') throw rangeNotSatisfiable(r.size);
      const start = range?.start ?? 0;
      const end = range?.end ?? r.size - 1;
      if (range) headers['content-range'] = `bytes ${start}-${end}/${r.size}`;
      headers['content-length'] = end - start + 1;
      c.res.writeHead(range ? 206 : 200, headers);
      if (c.req.method === 'HEAD' || end < start) c.res.end();
      else await pipeline(opened!.read(start, end), c.res);
    } finally {
      await opened?.close();
    }
  }

  /** `record` when it is there and is the generation asked for (only the current one is kept); else the 404. */
  private async found<R extends ObjectVersion>(
    bucket: string,
    name: string,
    record: R | undefined,
    generation: string | null | undefined,
  ): Promise<R> {
    if (record && (!generation || generation === String(record.generation))) return record;
    throw (await this.store.getBucket(bucket)) ? objectNotFound(bucket, name) : bucketNotFound();
  }

  private async list(c: Call<P>, bucket: string): Promise<void> {
    const q = c.query;
    const prefix = q.get('prefix') ?? '';
    this.authorize(c.who, 'storage.objects.list', resourceName(bucket), { listPrefix: prefix });
    await this.requireBucket(bucket);
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') || undefined;
    const endOffset = q.get('endOffset') || undefined;
    const glob = q.get('matchGlob');
    const matcher = glob ? globToRegExp(glob) : undefined;
    const fields = parseFields(q.get('fields'));
    let max = MAX_PAGE;
    const maxRaw = q.get('maxResults');
    if (maxRaw !== null && maxRaw !== '') {
      if (!/^\d+$/.test(maxRaw)) throw invalid(`Invalid value for maxResults: ${maxRaw}`);
      max = Math.min(MAX_PAGE, Math.max(1, Number(maxRaw)));
    }
    let after: string | undefined;
    const token = q.get('pageToken');
    if (token) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!decoded.startsWith('after:')) throw invalid(`Invalid page token: ${token}`);
      after = decoded.slice('after:'.length);
    }
    const from = [after, startOffset].reduce<string | undefined>(
      (a, b) => (a === undefined || (b !== undefined && compareNames(b, a) > 0) ? b : a),
      undefined,
    );
    const names = (await this.store.listNames(bucket, { prefix, from, to: endOffset }))
      .filter(
        (n) =>
          n.startsWith(prefix) &&
          (!startOffset || compareNames(n, startOffset) >= 0) &&
          (!endOffset || compareNames(n, endOffset) < 0) &&
          (!matcher || matcher.test(n)),
      )
      .sort(compareNames);
    // Items and prefixes are one sequence in name order, paged together as the service does.
    const entries: { key: string; isPrefix: boolean }[] = [];
    for (const name of names) {
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const p = name.slice(0, cut + delimiter.length);
        if (entries.at(-1)?.key !== p) entries.push({ key: p, isPrefix: true });
        if (!(q.get('includeTrailingDelimiter') === 'true' && p === name)) continue;
      }
      entries.push({ key: name, isPrefix: false });
    }
    let first = 0;
    if (after !== undefined) {
      const a = after;
      first = entries.findIndex((e) => compareNames(e.key, a) > 0);
      if (first < 0) first = entries.length;
    }
    const page = entries.slice(first, first + max);
    // The agent lists with fields=items(name): names need no look at each object.
    const itemFields = fields?.get('items');
    const namesOnly = itemFields instanceof Map && [...itemFields.keys()].every((k) => k === 'name');
    const items = await mapLimited(
      page.filter((e) => !e.isPrefix),
      LIST_CONCURRENCY,
      async (e) => {
        if (namesOnly) return { name: e.key };
        const record = await this.store.head(bucket, e.key);
        return record && objectResource(record, c.origin);
      },
    );
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    const prefixes = page.filter((e) => e.isPrefix).map((e) => e.key);
    if (prefixes.length > 0) out.prefixes = prefixes;
    const found = items.filter((r) => r !== undefined);
    if (found.length > 0) out.items = found;
    if (first + max < entries.length) {
      out.nextPageToken = Buffer.from(`after:${page[page.length - 1].key}`).toString('base64url');
    }
    this.reply(c, out);
  }

  // ---- metadata updates and deletes

  private async updateObject(c: Call<P>, bucket: string, name: string, replace: boolean): Promise<void> {
    this.authorize(c.who, 'storage.objects.update', resourceName(bucket, name));
    const pre = readPreconditions(c.query);
    const body = await readJsonBody(c.req.body);
    const updated = await this.locked(`${bucket}/${name}`, async () => {
      const r = await this.found(
        bucket,
        name,
        await this.store.head(bucket, name),
        c.query.get('generation'),
      );
      checkPreconditions(pre, r, 'write');
      const next: ObjectRecord = {
        ...r,
        metadata: replace ? {} : { ...r.metadata },
        headerFields: replace ? {} : { ...r.headerFields },
        metageneration: r.metageneration + 1,
        updated: this.now(),
      };
      if (body.metadata === null) next.metadata = {};
      else if (body.metadata !== undefined) {
        if (typeof body.metadata !== 'object' || Array.isArray(body.metadata))
          throw invalid('Invalid value for metadata');
        for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) {
          if (v === null) delete next.metadata[k];
          else next.metadata[k] = scalar(v, `metadata.${k}`);
        }
      }
      if (typeof body.contentType === 'string') next.contentType = body.contentType;
      for (const f of OBJECT_HEADER_FIELDS) {
        if (body[f] === null) delete next.headerFields[f];
        else if (body[f] !== undefined) next.headerFields[f] = scalar(body[f], f);
      }
      await this.store.updateMetadata(next);
      return next;
    });
    this.reply(c, objectResource(updated, c.origin));
  }

  private async deleteObject(c: Call<P>, bucket: string, name: string): Promise<void> {
    this.authorize(c.who, 'storage.objects.delete', resourceName(bucket, name));
    const pre = readPreconditions(c.query);
    await this.locked(`${bucket}/${name}`, async () => {
      const version = await this.found(
        bucket,
        name,
        await this.store.version(bucket, name),
        c.query.get('generation'),
      );
      checkPreconditions(pre, version, 'write');
      if (!(await this.store.delete(bucket, name))) throw objectNotFound(bucket, name);
    });
    c.res.writeHead(204, { 'content-length': 0 }).end();
  }

  // ---- writes

  /** An upload; `withoutData`: `POST .../o` (not on the upload path) with metadata only, an empty object. */
  private async upload(c: Call<P>, bucket: string, withoutData = false): Promise<void> {
    const type = withoutData ? 'metadata' : c.query.get('uploadType');
    const pre = readPreconditions(c.query);
    if (type === 'resumable') return this.startResumable(c, bucket, pre);
    if (type !== 'media' && type !== 'multipart' && type !== 'metadata') {
      throw invalid(
        type
          ? `uploadType=${type} is not supported (media, multipart and resumable are).`
          : 'Upload requests must include an uploadType URL parameter and a URL-encoded object name.',
      );
    }
    let name = c.query.get('name') ?? '';
    let metadata: Record<string, unknown> = {};
    let media: RequestBody = c.req.body;
    let mediaType = headerValue(c.req.headers['content-type']);
    if (type === 'multipart') ({ metadata, mediaType, media } = await readMultipart(mediaType, c.req.body));
    if (type === 'metadata') [metadata, mediaType, media] = [await readJsonBody(c.req.body), undefined, []];
    name ||= typeof metadata.name === 'string' ? metadata.name : '';
    await this.checkNewObject(c.who, bucket, name);
    const record = await this.withStaged(async (staged) => {
      await appendBody(staged, media);
      const checksums = clientChecksums(c.req.headers, metadata);
      return this.commit(c.who, bucket, name, staged, {
        pre,
        checksums,
        metadata: objectMetadata(metadata, mediaType),
      });
    });
    this.reply(c, objectResource(record, c.origin));
  }

  /** Refuses an object name Cloud Storage or the store cannot take, a caller without create, a missing bucket. */
  private async checkNewObject(who: P | undefined, bucket: string, name: string): Promise<void> {
    if (!name) throw required('Required: the object name (the name parameter or the metadata).');
    const why = objectNameProblem(name) ?? this.store.nameProblem?.(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    this.authorize(who, 'storage.objects.create', resourceName(bucket, name));
    await this.requireBucket(bucket);
  }

  /** Runs `task` with newly staged bytes, dropped afterwards (committed ones have moved). */
  private async withStaged<T>(task: (staged: StagedBytes) => Promise<T>): Promise<T> {
    const staged = await this.store.stage();
    try {
      return await task(staged);
    } finally {
      await staged.discard();
    }
  }

  /**
   * Stores an upload's bytes as the new generation of an object, under the preconditions. Replacing an
   * object also takes `storage.objects.delete`, as in Cloud Storage.
   */
  private async commit(
    who: P | undefined,
    bucket: string,
    name: string,
    staged: StagedBytes,
    opts: { pre: Preconditions; metadata: ObjectMetadata; checksums?: Checksums; componentCount?: number },
  ): Promise<ObjectRecord> {
    const digest = await digestOf(staged);
    if (opts.checksums) checkChecksums(digest, opts.checksums);
    return this.locked(`${bucket}/${name}`, async () => {
      await this.requireBucket(bucket);
      const existing = await this.store.version(bucket, name);
      checkPreconditions(opts.pre, existing, 'write');
      if (existing) this.authorize(who, 'storage.objects.delete', resourceName(bucket, name));
      const object = {
        ...opts.metadata,
        md5Hash: opts.componentCount === undefined ? digest.md5 : undefined,
        crc32c: digest.crc32c,
        componentCount: opts.componentCount,
      };
      const createOnly = opts.pre.ifGenerationMatch === 0;
      return this.store.commit(bucket, name, staged, object, { now: this.now(), createOnly });
    });
  }

  private async copy(
    c: Call<P>,
    source: { bucket: string; name: string },
    target: { bucket: string; name: string },
    isRewrite: boolean,
  ): Promise<void> {
    this.authorize(c.who, 'storage.objects.get', resourceName(source.bucket, source.name));
    const body = await readJsonBody(c.req.body);
    await this.checkNewObject(c.who, target.bucket, target.name);
    const record = await this.withStaged(async (staged) => {
      const from = await this.appendObject(staged, source, c.query.get('sourceGeneration'), (r) =>
        checkPreconditions(readPreconditions(c.query, 'ifSource'), r, 'write'),
      );
      const { contentType, metadata, headerFields } =
        Object.keys(body).length > 0 ? objectMetadata(body) : from;
      const pre = readPreconditions(c.query);
      return this.commit(c.who, target.bucket, target.name, staged, {
        pre,
        metadata: { contentType, metadata, headerFields },
      });
    });
    const resource = objectResource(record, c.origin);
    const size = String(record.size);
    const rewritten = {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: size,
      objectSize: size,
      done: true,
    };
    this.reply(c, isRewrite ? { ...rewritten, resource } : resource);
  }

  private async compose(c: Call<P>, bucket: string, name: string): Promise<void> {
    const body = await readJsonBody(c.req.body);
    const sources = body.sourceObjects as ComposeSource[];
    if (!Array.isArray(sources) || sources.length === 0) throw required('Required: sourceObjects.');
    if (sources.length > 32)
      throw invalid(`The number of source components provided (${sources.length}) exceeds 32.`);
    await this.checkNewObject(c.who, bucket, name);
    const record = await this.withStaged(async (staged) => {
      let componentCount = 0;
      for (const source of sources) {
        if (!source.name) throw required('Required: sourceObjects[].name.');
        this.authorize(c.who, 'storage.objects.get', resourceName(bucket, source.name));
        const want = source.objectPreconditions?.ifGenerationMatch;
        const from = await this.appendObject(
          staged,
          { bucket, name: source.name },
          source.generation,
          (r) => {
            if (want !== undefined) checkPreconditions({ ifGenerationMatch: Number(want) }, r, 'write');
          },
        );
        componentCount += from.componentCount ?? 1;
      }
      const metadata = objectMetadata((body.destination ?? {}) as Record<string, unknown>);
      return this.commit(c.who, bucket, name, staged, {
        pre: readPreconditions(c.query),
        metadata,
        componentCount,
      });
    });
    this.reply(c, objectResource(record, c.origin));
  }

  /** Appends an object's bytes to an staged, once `check` accepts its record; returns the record. */
  private async appendObject(
    staged: StagedBytes,
    source: { bucket: string; name: string },
    generation: string | null | undefined,
    check: (r: ObjectRecord) => void,
  ): Promise<ObjectRecord> {
    const opened = await this.store.open(source.bucket, source.name);
    try {
      const r = await this.found(source.bucket, source.name, opened?.record, generation);
      check(r);
      if (r.size > 0) await appendBody(staged, opened!.read(0, r.size - 1));
      return r;
    } finally {
      await opened?.close();
    }
  }

  // ---- resumable uploads

  private async startResumable(c: Call<P>, bucket: string, pre: Preconditions): Promise<void> {
    const metadata = await readJsonBody(c.req.body);
    const name = c.query.get('name') || (typeof metadata.name === 'string' ? metadata.name : '');
    await this.checkNewObject(c.who, bucket, name);
    checkPreconditions(pre, await this.store.version(bucket, name), 'write');
    const declared = headerValue(c.req.headers['x-upload-content-length']);
    const contentType =
      (typeof metadata.contentType === 'string' && metadata.contentType) ||
      headerValue(c.req.headers['x-upload-content-type']);
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, {
      id,
      bucket,
      name,
      metadata,
      contentType,
      preconditions: pre,
      declaredSize: declared && /^\d+$/.test(declared) ? Number(declared) : undefined,
      who: c.who,
      staged: await this.store.stage(),
      result: undefined,
    });
    const location = new URLSearchParams({ uploadType: 'resumable', name, upload_id: id });
    c.res
      .writeHead(200, {
        location: `${c.origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${location.toString()}`,
        'x-guploader-uploadid': id,
        'content-length': 0,
      })
      .end();
  }

  private async resumableRequest(c: Call<P>, id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`No such staged session: ${id}`);
    await this.locked(`\0upload:${id}`, async () => {
      if (c.req.method === 'DELETE') {
        this.sessions.delete(id);
        await s.staged.discard();
        c.res.writeHead(499, { 'content-length': 0 }).end();
        return;
      }
      if (c.req.method !== 'PUT') throw methodNotAllowed();
      if (s.result) return this.reply(c, objectResource(s.result, c.origin));
      const rangeHeader = headerValue(c.req.headers['content-range']);
      const range = parseUploadRange(rangeHeader);
      const held = s.staged.size;
      if (range.kind === 'status') {
        for await (const chunk of c.req.body) {
          if (chunk.length > 0) throw invalid('Content-Range bytes */N carries no data.');
        }
        if (range.total === held) return this.finishResumable(c, s);
        if (range.total !== undefined && range.total < held) throw badTotal(range.total, held);
        return incomplete(c.res, held);
      }
      if (range.kind === 'whole' && held > 0)
        throw invalid('Missing Content-Range on an staged already in progress.');
      const start = range.kind === 'whole' ? 0 : range.start;
      if (start > held) {
        throw invalid(
          `Invalid request. According to the Content-Range header, the upload offset is ${start} byte(s), ` +
            `which exceeds already uploaded size of ${held} byte(s).`,
        );
      }
      // Of a request cut off midway, the whole multiples of the granularity that arrived stay.
      const keepWhole = async (): Promise<void> => {
        await s.staged.truncate(
          Math.max(held, Math.floor(s.staged.size / CHUNK_GRANULARITY) * CHUNK_GRANULARITY),
        );
      };
      let received: number;
      try {
        // A retried chunk may overlap bytes already held; only what is new is kept.
        received = await appendBody(s.staged, c.req.body, held - start);
      } catch (err) {
        await keepWhole();
        throw err;
      }
      const last = start + received - 1;
      const total = range.kind === 'whole' ? received : range.total;
      const refuse = async (e: StorageApiError): Promise<never> => {
        await s.staged.truncate(held);
        throw e;
      };
      if (range.kind === 'chunk' && range.end !== undefined && range.end !== last) {
        await refuse(invalid(`Content-Range ${rangeHeader} does not match the ${received} byte(s) sent.`));
      }
      if (total !== undefined && last + 1 > total) await refuse(badTotal(total, last + 1));
      const isFinal =
        total !== undefined ? last + 1 === total : range.kind === 'chunk' && range.end === undefined;
      if (isFinal) return this.finishResumable(c, s);
      if (received < CHUNK_GRANULARITY) {
        await refuse(
          invalid(
            `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_GRANULARITY}, ` +
              `except for the final request (it's recommended to be the exact multiple of ${CHUNK_GRANULARITY}). ` +
              `The received request contained ${received} bytes, which does not meet this requirement.`,
          ),
        );
      }
      // The service persists only whole multiples of the granularity of a non-final chunk.
      await keepWhole();
      incomplete(c.res, s.staged.size);
    });
  }

  private async finishResumable(c: Call<P>, s: UploadSession<P>): Promise<void> {
    try {
      if (s.declaredSize !== undefined && s.declaredSize !== s.staged.size) {
        throw invalid(
          `Upload size ${s.staged.size} does not match X-Upload-Content-Length ${s.declaredSize}.`,
        );
      }
      s.result = await this.commit(s.who, s.bucket, s.name, s.staged, {
        pre: s.preconditions,
        checksums: clientChecksums(c.req.headers, s.metadata),
        metadata: objectMetadata(s.metadata, s.contentType),
      });
    } catch (err) {
      this.sessions.delete(s.id);
      throw err;
    } finally {
      await s.staged.discard();
    }
    this.reply(c, objectResource(s.result, c.origin));
  }

  // ---- plumbing

  /** Answers 200 with a JSON body, cut down to the request's `fields`. */
  private reply(c: Call<P>, body: unknown): void {
    sendJson(c.res, 200, projectFields(body, parseFields(c.query.get('fields'))));
  }

  private async locked<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}

/** Appends a request body to staged bytes, leaving out its first `skip` bytes; returns how many it had. */
async function appendBody(staged: StagedBytes, body: RequestBody, skip = 0): Promise<number> {
  let received = 0;
  await staged.append(
    (async function* () {
      for await (const chunk of body) {
        const from = Math.min(chunk.length, Math.max(0, skip - received));
        received += chunk.length;
        if (from < chunk.length) yield from > 0 ? chunk.subarray(from) : chunk;
      }
    })(),
  );
  return received;
}

/** MD5 and CRC32C of staged bytes, computed once they are all there. */
async function digestOf(staged: StagedBytes): Promise<{ md5: string; crc32c: string }> {
  const md5 = createHash('md5');
  const crc = new Crc32c();
  for await (const chunk of staged.read()) {
    md5.update(chunk);
    crc.update(chunk);
  }
  return { md5: md5.digest('base64'), crc32c: crc.base64() };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

function incomplete(res: ServerResponse, size: number): void {
  // No Range header at all says no bytes are persisted yet.
  res
    .writeHead(
      308,
      size > 0 ? { range: `bytes=0-${size - 1}`, 'content-length': 0 } : { 'content-length': 0 },
    )
    .end();
}

function badTotal(total: number, atLeast: number): StorageApiError {
  return invalid(`Content-Range total ${total} is less than the ${atLeast} byte(s) of the upload.`);
}

function etagOf(r: ObjectRecord): string {
  return Buffer.from(`${r.generation}/${r.metageneration}`).toString('base64');
}

/** The metadata a request body (or a multipart upload's metadata part) gives a new object. */
function objectMetadata(meta: Record<string, unknown>, fallbackContentType?: string): ObjectMetadata {
  const metadata: Record<string, string> = {};
  if (meta.metadata && typeof meta.metadata === 'object') {
    for (const [k, v] of Object.entries(meta.metadata as Record<string, unknown>)) {
      if (v !== null && v !== undefined) metadata[k] = scalar(v, `metadata.${k}`);
    }
  }
  const headerFields: ObjectMetadata['headerFields'] = {};
  for (const f of OBJECT_HEADER_FIELDS) {
    if (meta[f] !== undefined && meta[f] !== null) headerFields[f] = scalar(meta[f], f);
  }
  const contentType =
    (typeof meta.contentType === 'string' && meta.contentType) ||
    fallbackContentType ||
    'application/octet-stream';
  return { contentType, metadata, headerFields };
}

/** A JSON scalar as the string the API stores; anything else is a bad request. */
function scalar(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(`Invalid value for ${field}: ${JSON.stringify(v)}`);
}
