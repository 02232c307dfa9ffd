import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { createWriteStream } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Crc32c } from './crc32c.ts';

/** Where and what to serve. */
export interface LocalStorageOptions {
  /** The directory that holds the bucket's objects: object `a/b.txt` is the file `root/a/b.txt`. Created. */
  root: string;
  /** The one bucket name served; any other is answered as a bucket that does not exist. */
  bucket: string;
  /** Address to listen on; default 127.0.0.1 (a free port is picked). */
  host?: string;
}

/** A running local Cloud Storage server. */
export interface LocalStorage {
  /** `http://HOST:PORT`, no trailing slash: the `apiEndpoint` of the Node client, or the agent's storage endpoint. */
  readonly url: string;
  readonly bucket: string;
  /** The absolute directory served. */
  readonly root: string;
  /** Stops listening, drops open connections and removes unfinished uploads. */
  close(): Promise<void>;
}

/**
 * Serves one directory as one Cloud Storage bucket over the JSON API subset that gce-matrix and its VM agent
 * use (bucket metadata, listing, object metadata, downloads with ranges, media/multipart/resumable uploads,
 * deletes, generation preconditions), so that the real clients run unchanged against local files.
 *
 * Files are the objects: the directory is laid out exactly as the bucket would be. A file's generation is
 * its modification time in microseconds, so rewriting a file makes a new generation. Because a directory
 * cannot be a file as well, a bucket here cannot hold both `a` and `a/b`; such a write is refused with 409.
 * Uploads are written to a temporary file under a reserved directory and renamed into place: a reader sees
 * the old object or the new one, never a partial one.
 */
export async function startLocalStorage(opts: LocalStorageOptions): Promise<LocalStorage> {
  const root = path.resolve(opts.root);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const uploads = path.join(root, UPLOADS_DIR, randomBytes(8).toString('hex'));
  await mkdir(uploads, { recursive: true });
  const bucket = new DirectoryBucket(opts.bucket, root, realRoot, uploads);
  const server = http.createServer((req, res) => {
    void bucket.handle(req, res);
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  bucket.origin = url;
  let closed: Promise<void> | undefined;
  return {
    url,
    bucket: opts.bucket,
    root,
    close() {
      closed ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await done;
        await rm(uploads, { recursive: true, force: true });
        // The reserved directory goes too when no other server is using it.
        await rmdir(path.dirname(uploads)).catch(() => undefined);
      })();
      return closed;
    },
  };
}

/** The reserved top-level directory for partial uploads: never listed, and no object may be named under it. */
const UPLOADS_DIR = '.gce-matrix-uploads';
/** Object names are at most 1024 bytes of UTF-8 in Cloud Storage. */
const MAX_NAME_BYTES = 1024;
/** A page of a listing holds at most this many items and prefixes together. */
const MAX_PAGE = 1000;
/** JSON request bodies (object metadata) are small; anything larger is a mistake. */
const MAX_JSON_BYTES = 1024 * 1024;
/** Hashes and upload content types remembered, oldest forgotten first. */
const CACHE_ENTRIES = 100_000;
/** Files hashed at once while answering one listing. */
const HASH_CONCURRENCY = 16;

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  txt: 'text/plain',
  log: 'text/plain',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  md: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  js: 'text/javascript',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  pdf: 'application/pdf',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  zip: 'application/zip',
  tar: 'application/x-tar',
};

/** An error answered in the JSON API's error shape. */
class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly headers: Record<string, string>;
  constructor(status: number, reason: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }
}

/** A read whose NotMatch precondition failed: answered 304 without a body, as the service does. */
class NotModified extends Error {}

const invalid = (message: string): ApiError => new ApiError(400, 'invalid', message);
const notImplemented = (what: string): ApiError =>
  new ApiError(501, 'notImplemented', `${what} is not supported by the gce-matrix local storage server`);
const conditionNotMet = (): ApiError =>
  new ApiError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');

interface Preconditions {
  ifGenerationMatch?: bigint;
  ifGenerationNotMatch?: bigint;
  ifMetagenerationMatch?: bigint;
  ifMetagenerationNotMatch?: bigint;
}

const PRECONDITIONS = [
  'ifGenerationMatch',
  'ifGenerationNotMatch',
  'ifMetagenerationMatch',
  'ifMetagenerationNotMatch',
] as const;

interface Hashes {
  md5: string;
  crc32c: string;
}

interface CachedHashes extends Hashes {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

interface UploadSession {
  id: string;
  name: string;
  tmp: string;
  /** Bytes persisted so far. */
  size: number;
  contentType: string | undefined;
  declaredSize: number | undefined;
  preconditions: Preconditions;
  /** The object resource once the upload is committed: a repeated final request gets it again. */
  result: Record<string, unknown> | undefined;
}

/** One field selection of the `fields` parameter: a name maps to everything (null) or to sub-fields. */
type FieldSelection = Map<string, FieldSelection | null>;

class DirectoryBucket {
  private readonly name: string;
  private readonly root: string;
  private readonly realRoot: string;
  private readonly uploads: string;
  private readonly hashes = new Map<string, CachedHashes>();
  /** Content types sent with uploads, valid while the object is still the generation uploaded. */
  private readonly contentTypes = new Map<string, { generation: bigint; contentType: string }>();
  private readonly sessions = new Map<string, UploadSession>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly created = new Date().toISOString();
  /** `http://host:port` of the server, for the links in resources; known once it listens. */
  origin = '';

  constructor(name: string, root: string, realRoot: string, uploads: string) {
    this.name = name;
    this.root = root;
    this.realRoot = realRoot;
    this.uploads = uploads;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof NotModified) {
        res.writeHead(304).end();
        return;
      }
      const e =
        err instanceof ApiError
          ? err
          : new ApiError(500, 'backendError', `gce-matrix local storage server: ${(err as Error).message}`);
      sendJson(
        res,
        e.status,
        {
          error: {
            code: e.status,
            message: e.message,
            errors: [{ message: e.message, domain: 'global', reason: e.reason }],
          },
        },
        e.headers,
      );
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const method = req.method ?? 'GET';
    let kind: 'json' | 'upload' | 'download' = 'json';
    let rest = rawPath;
    for (const k of ['upload', 'download'] as const) {
      if (rest.startsWith(`/${k}/`)) {
        kind = k;
        rest = rest.slice(k.length + 1);
      }
    }
    // With STORAGE_EMULATOR_HOST the Node client leaves out /storage/v1: both forms are served.
    if (rest.startsWith('/storage/v1/')) rest = rest.slice('/storage/v1'.length);
    const seg = rest.split('/').slice(1);
    if (seg[seg.length - 1] === '' && seg.length <= 4) seg.pop();
    if (seg[0] !== 'b') throw new ApiError(404, 'notFound', `Not Found: ${rawPath}`);
    if (seg.length === 1) {
      if (method === 'GET')
        return sendJson(res, 200, { kind: 'storage#buckets', items: [this.bucketResource()] });
      throw notImplemented(`${method} on the bucket list`);
    }
    const bucketName = decodeSegment(seg[1]);
    if (bucketName !== this.name) {
      throw new ApiError(
        404,
        'notFound',
        `The specified bucket does not exist (this server serves only ${this.name}).`,
      );
    }
    if (seg.length === 2) {
      if (method === 'GET') return sendJson(res, 200, this.bucketResource());
      throw notImplemented(`${method} on a bucket`);
    }
    if (seg[2] !== 'o') throw notImplemented(`The bucket sub-resource ${seg[2]}`);
    if (seg.length === 3) {
      if (kind === 'upload') {
        if (query.has('upload_id')) return this.resumableRequest(req, res, query.get('upload_id')!, method);
        if (method !== 'POST')
          throw new ApiError(405, 'methodNotAllowed', `${method} is not allowed on uploads.`);
        return this.upload(req, res, query);
      }
      if (method === 'GET') return this.list(res, query);
      if (method === 'POST') throw notImplemented('Creating an object without data (POST .../o)');
      throw new ApiError(405, 'methodNotAllowed', `${method} is not allowed on the object list.`);
    }
    const objectPath = seg.slice(3).join('/');
    if (method === 'POST') throw notImplemented('Copy, rewrite and compose (POST on an object)');
    // Names are meant to come percent-encoded, but a bare `/` is read as part of the name too.
    const name = decodeSegment(objectPath);
    switch (method) {
      case 'GET':
      case 'HEAD':
        if (query.get('alt') === 'media' || kind === 'download') return this.download(req, res, name, query);
        return this.getMetadata(res, name, query);
      case 'DELETE':
        return this.remove(res, name, query);
      case 'PATCH':
      case 'PUT':
        throw notImplemented('Updating object metadata');
      default:
        throw new ApiError(405, 'methodNotAllowed', `${method} is not allowed on an object.`);
    }
  }

  // ---- names and files

  /** The file of an object name, after checking the name can be one. */
  private fileOf(name: string): string {
    const why = nameProblem(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    return path.join(this.root, ...name.split('/'));
  }

  /** Refuses a path whose real location is outside the root (a symbolic link planted in the tree). */
  private async checkInside(dir: string): Promise<boolean> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      return true; // it does not exist (yet): nothing to follow
    }
    return real === this.realRoot || real.startsWith(this.realRoot + path.sep);
  }

  private async current(file: string): Promise<BigIntStats | 'directory' | undefined> {
    try {
      const st = await lstat(file, { bigint: true });
      if (st.isDirectory()) return 'directory';
      return st.isFile() ? st : undefined;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw err;
    }
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

  /** MD5 and CRC32C of a file, from the cache when the file is the one hashed. */
  private async hashesOf(file: string, st: BigIntStats, fh?: FileHandle): Promise<Hashes> {
    const hit = this.hashes.get(file);
    if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeNs === st.mtimeNs) return hit;
    const own = fh ?? (await open(file, 'r'));
    try {
      const md5 = createHash('md5');
      const crc = new Crc32c();
      const buf = Buffer.allocUnsafe(Math.max(1, Math.min(Number(st.size), 1024 * 1024)));
      for (let pos = 0; ;) {
        const { bytesRead } = await own.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        md5.update(buf.subarray(0, bytesRead));
        crc.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      const hashes = { md5: md5.digest('base64'), crc32c: crc.base64() };
      this.remember(file, st, hashes);
      return hashes;
    } finally {
      if (!fh) await own.close();
    }
  }

  private remember(file: string, st: BigIntStats, hashes: Hashes): void {
    this.hashes.delete(file);
    this.hashes.set(file, { ...hashes, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs });
    if (this.hashes.size > CACHE_ENTRIES) this.hashes.delete(this.hashes.keys().next().value!);
  }

  private contentTypeOf(name: string, st: BigIntStats): string {
    const known = this.contentTypes.get(name);
    if (known && known.generation === generationOf(st)) return known.contentType;
    const dot = name.lastIndexOf('.');
    const ext = dot > name.lastIndexOf('/') ? name.slice(dot + 1).toLowerCase() : '';
    return CONTENT_TYPES[ext] ?? 'application/octet-stream';
  }

  // ---- resources

  private bucketResource(): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      id: this.name,
      selfLink: `${this.origin}/storage/v1/b/${encodeURIComponent(this.name)}`,
      projectNumber: '0',
      name: this.name,
      timeCreated: this.created,
      updated: this.created,
      metageneration: '1',
      location: 'LOCAL',
      locationType: 'region',
      storageClass: 'STANDARD',
      etag: 'CAE=',
    };
  }

  private objectResource(name: string, st: BigIntStats, hashes: Hashes | undefined): Record<string, unknown> {
    const generation = generationOf(st).toString();
    const enc = encodeURIComponent(name);
    const bucket = encodeURIComponent(this.name);
    const updated = isoFromNs(st.mtimeNs);
    const born = st.birthtimeNs > 0n && st.birthtimeNs < st.mtimeNs ? st.birthtimeNs : st.mtimeNs;
    return {
      kind: 'storage#object',
      id: `${this.name}/${name}/${generation}`,
      selfLink: `${this.origin}/storage/v1/b/${bucket}/o/${enc}`,
      mediaLink: `${this.origin}/download/storage/v1/b/${bucket}/o/${enc}?generation=${generation}&alt=media`,
      name,
      bucket: this.name,
      generation,
      metageneration: '1',
      contentType: this.contentTypeOf(name, st),
      storageClass: 'STANDARD',
      size: st.size.toString(),
      ...(hashes ? { md5Hash: hashes.md5, crc32c: hashes.crc32c } : {}),
      etag: Buffer.from(`${generation}/1`).toString('base64'),
      timeCreated: isoFromNs(born),
      updated,
      timeStorageClassUpdated: isoFromNs(born),
    };
  }

  /** The object's stat (and hashes when wanted), opened once so that both describe the same file. */
  private async describe(
    name: string,
    file: string,
    wantHashes: boolean,
  ): Promise<{ st: BigIntStats; hashes: Hashes | undefined } | undefined> {
    const st = await this.current(file);
    if (!st || st === 'directory') return undefined;
    if (!wantHashes) return { st, hashes: undefined };
    const hit = this.hashes.get(file);
    if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeNs === st.mtimeNs)
      return { st, hashes: hit };
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      throw err;
    }
    try {
      const now = await fh.stat({ bigint: true });
      if (!now.isFile()) return undefined;
      return { st: now, hashes: await this.hashesOf(file, now, fh) };
    } catch (err) {
      throw new Error(`cannot read ${name}: ${(err as Error).message}`);
    } finally {
      await fh.close();
    }
  }

  // ---- reads

  private async getMetadata(res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
    const file = this.fileOf(name);
    const fields = parseFields(query.get('fields'));
    if (!(await this.checkInside(path.dirname(file)))) throw noSuchObject(this.name, name);
    const found = await this.describe(name, file, wants(fields, ['md5Hash']) || wants(fields, ['crc32c']));
    if (!found) throw noSuchObject(this.name, name);
    const generation = query.get('generation');
    if (generation && generation !== generationOf(found.st).toString()) throw noSuchObject(this.name, name);
    checkPreconditions(readPreconditions(query), generationOf(found.st), 'read');
    sendJson(res, 200, project(this.objectResource(name, found.st, found.hashes), fields));
  }

  private async download(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    query: URLSearchParams,
  ): Promise<void> {
    const file = this.fileOf(name);
    if (!(await this.checkInside(path.dirname(file)))) throw noSuchObject(this.name, name);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP')) throw noSuchObject(this.name, name);
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw noSuchObject(this.name, name);
      const generation = query.get('generation');
      if (generation && generation !== generationOf(st).toString()) throw noSuchObject(this.name, name);
      checkPreconditions(readPreconditions(query), generationOf(st), 'read');
      const hashes = await this.hashesOf(file, st, fh);
      const size = Number(st.size);
      const headers: Record<string, string | number> = {
        'content-type': this.contentTypeOf(name, st),
        'x-goog-hash': `crc32c=${hashes.crc32c},md5=${hashes.md5}`,
        'x-goog-generation': generationOf(st).toString(),
        'x-goog-metageneration': '1',
        'x-goog-stored-content-length': String(size),
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-storage-class': 'STANDARD',
        etag: Buffer.from(`${generationOf(st)}/1`).toString('base64'),
        'last-modified': new Date(Number(st.mtimeNs / 1_000_000n)).toUTCString(),
        'accept-ranges': 'bytes',
      };
      const range = parseRange(headerValue(req.headers.range), size);
      if (range === 'unsatisfiable') {
        throw new ApiError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.', {
          'content-range': `bytes */${size}`,
        });
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
      headers['content-length'] = end - start + 1;
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === 'HEAD' || end < start) {
        res.end();
        return;
      }
      await pipeline(fh.createReadStream({ start, end, autoClose: false }), res);
    } finally {
      await fh.close();
    }
  }

  private async list(res: ServerResponse, query: URLSearchParams): Promise<void> {
    if (query.has('matchGlob')) throw notImplemented('Listing with matchGlob');
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const startOffset = query.get('startOffset') ?? '';
    const endOffset = query.get('endOffset') ?? '';
    const includeTrailing = query.get('includeTrailingDelimiter') === 'true';
    const fields = parseFields(query.get('fields'));
    let max = MAX_PAGE;
    const maxRaw = query.get('maxResults');
    if (maxRaw !== null && maxRaw !== '') {
      if (!/^\d+$/.test(maxRaw)) throw invalid(`Invalid value for maxResults: ${maxRaw}`);
      max = Math.min(MAX_PAGE, Math.max(1, Number(maxRaw)));
    }
    let after: Buffer | undefined;
    const token = query.get('pageToken');
    if (token) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!decoded.startsWith('after:')) throw invalid(`Invalid page token: ${token}`);
      after = Buffer.from(decoded.slice('after:'.length));
    }

    const bytes = (s: string): Buffer => Buffer.from(s);
    const startKey = startOffset ? bytes(startOffset) : undefined;
    const endKey = endOffset ? bytes(endOffset) : undefined;
    const from = [after, startKey].filter((b) => b !== undefined);
    const names = (await this.walk(prefix, from, endKey))
      .map((name) => ({ name, key: bytes(name) }))
      .filter(
        (n) =>
          (!startKey || Buffer.compare(n.key, startKey) >= 0) &&
          (!endKey || Buffer.compare(n.key, endKey) < 0),
      )
      .sort((a, b) => Buffer.compare(a.key, b.key));

    // Items and prefixes are one sequence in name order, paged together as the service does.
    const entries: { key: Buffer; name: string; isPrefix: boolean }[] = [];
    let lastPrefix: string | undefined;
    for (const n of names) {
      if (delimiter) {
        const cut = n.name.indexOf(delimiter, prefix.length);
        if (cut >= 0) {
          const p = n.name.slice(0, cut + delimiter.length);
          if (p !== lastPrefix) {
            lastPrefix = p;
            entries.push({ key: bytes(p), name: p, isPrefix: true });
          }
          if (!(includeTrailing && p === n.name)) continue;
        }
      }
      entries.push({ key: n.key, name: n.name, isPrefix: false });
    }
    let first = 0;
    if (after) {
      const a = after;
      first = entries.findIndex((e) => Buffer.compare(e.key, a) > 0);
      if (first < 0) first = entries.length;
    }
    const page = entries.slice(first, first + max);
    const wantHashes = wants(fields, ['items', 'md5Hash']) || wants(fields, ['items', 'crc32c']);
    const itemFields = fields?.get('items');
    // The agent lists with fields=items(name): names need no stat of each file.
    const namesOnly = itemFields instanceof Map && [...itemFields.keys()].every((k) => k === 'name');
    const described = await mapLimit(
      page.filter((e) => !e.isPrefix),
      HASH_CONCURRENCY,
      async (e) => {
        if (namesOnly) return { name: e.name };
        const found = await this.describe(e.name, path.join(this.root, ...e.name.split('/')), wantHashes);
        return found && this.objectResource(e.name, found.st, found.hashes);
      },
    );
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    const prefixes = page.filter((e) => e.isPrefix).map((e) => e.name);
    if (prefixes.length > 0) out.prefixes = prefixes;
    const items = described.filter((r) => r !== undefined);
    if (items.length > 0) out.items = items;
    if (first + max < entries.length) {
      out.nextPageToken = Buffer.from(`after:${page[page.length - 1].name}`).toString('base64url');
    }
    sendJson(res, 200, project(out, fields));
  }

  /**
   * Every object name under `prefix`, unsorted: one walk of the directories the prefix can reach, leaving
   * out directories whose names all sort below `from` (the page token, startOffset) or from `to` on.
   */
  private async walk(prefix: string, from: Buffer[], to: Buffer | undefined): Promise<string[]> {
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1);
    // A prefix whose directory part no object name can have matches nothing (and must not reach the disk).
    if (base && nameProblem(base.slice(0, -1))) return [];
    const baseDir = path.join(this.root, ...base.split('/').filter(Boolean));
    if (!(await this.checkInside(baseDir))) return [];
    // Every name under directory D starts with `D/`; against a bound that does not start with `D/`, the
    // comparison is settled within those bytes, so the whole directory is in or out together.
    const skipDir = (dirKey: Buffer): boolean =>
      from.some((b) => Buffer.compare(dirKey, b) < 0 && !startsWith(b, dirKey)) ||
      (to !== undefined && Buffer.compare(dirKey, to) > 0 && !startsWith(to, dirKey));
    const out: string[] = [];
    const pending = [base];
    while (pending.length > 0) {
      const rel = pending.pop()!;
      let entries;
      try {
        entries = await readdir(path.join(this.root, ...rel.split('/').filter(Boolean)), {
          withFileTypes: true,
        });
      } catch (err) {
        if (isCode(err, 'ENOENT', 'ENOTDIR')) continue;
        throw err;
      }
      for (const e of entries) {
        if (rel === '' && e.name === UPLOADS_DIR) continue;
        const name = rel + e.name;
        // Only names that can still match the prefix are walked into.
        if (!name.startsWith(prefix) && !prefix.startsWith(name)) continue;
        if (e.isDirectory()) {
          if (!skipDir(Buffer.from(`${name}/`))) pending.push(`${name}/`);
        } else if (e.isFile() && name.startsWith(prefix) && !nameProblem(name)) {
          out.push(name);
        }
      }
    }
    return out;
  }

  // ---- deletes

  private async remove(res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
    const file = this.fileOf(name);
    const pre = readPreconditions(query);
    if (!(await this.checkInside(path.dirname(file)))) throw noSuchObject(this.name, name);
    await this.locked(name, async () => {
      const st = await this.current(file);
      if (!st || st === 'directory') throw noSuchObject(this.name, name);
      const generation = query.get('generation');
      if (generation && generation !== generationOf(st).toString()) throw noSuchObject(this.name, name);
      checkPreconditions(pre, generationOf(st), 'write');
      try {
        await unlink(file);
      } catch (err) {
        if (isCode(err, 'ENOENT')) throw noSuchObject(this.name, name);
        throw err;
      }
      this.hashes.delete(file);
      this.contentTypes.delete(name);
      // Directories exist only to hold objects: one left empty goes too (the root never does).
      for (
        let dir = path.dirname(file);
        dir !== this.root && dir.startsWith(this.root);
        dir = path.dirname(dir)
      ) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    });
    res.writeHead(204, { 'content-length': 0 }).end();
  }

  // ---- uploads

  private async upload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const type = query.get('uploadType');
    const pre = readPreconditions(query);
    if (type === 'media') {
      const name = query.get('name');
      if (!name)
        throw new ApiError(400, 'required', 'A media upload needs the object name in the name parameter.');
      this.fileOf(name);
      const tmp = this.tempFile();
      try {
        const received = await receive(req, tmp);
        checkClientHashes(received, hashesFromHeader(req.headers['x-goog-hash']));
        const contentType = headerValue(req.headers['content-type']);
        sendJson(res, 200, await this.commit(name, tmp, pre, received, contentType));
      } finally {
        await rm(tmp, { force: true });
      }
      return;
    }
    if (type === 'multipart') {
      const tmp = this.tempFile();
      try {
        const { metadata, mediaType, received } = await receiveMultipart(req, tmp);
        const name = query.get('name') || (typeof metadata.name === 'string' ? metadata.name : '');
        if (!name)
          throw new ApiError(400, 'required', 'A multipart upload needs the object name in its metadata.');
        this.fileOf(name);
        checkClientHashes(received, {
          ...hashesFromMetadata(metadata),
          ...hashesFromHeader(req.headers['x-goog-hash']),
        });
        const contentType = (typeof metadata.contentType === 'string' && metadata.contentType) || mediaType;
        sendJson(res, 200, await this.commit(name, tmp, pre, received, contentType));
      } finally {
        await rm(tmp, { force: true });
      }
      return;
    }
    if (type === 'resumable') return this.startResumable(req, res, query, pre);
    throw invalid(
      type
        ? `uploadType=${type} is not supported by the gce-matrix local storage server (media, multipart and resumable are)`
        : 'Upload requests must include an uploadType URL parameter and a URL-encoded object name.',
    );
  }

  private tempFile(): string {
    return path.join(this.uploads, randomBytes(12).toString('hex'));
  }

  private async startResumable(
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    pre: Preconditions,
  ): Promise<void> {
    const metadata = await readJson(req);
    const name = query.get('name') || (typeof metadata.name === 'string' ? metadata.name : '');
    if (!name) throw new ApiError(400, 'required', 'A resumable upload needs the object name.');
    const file = this.fileOf(name);
    const st = await this.current(file);
    checkPreconditions(pre, st && st !== 'directory' ? generationOf(st) : undefined, 'write');
    const declared = headerValue(req.headers['x-upload-content-length']);
    const id = randomBytes(24).toString('base64url');
    const session: UploadSession = {
      id,
      name,
      tmp: path.join(this.uploads, `session-${id}`),
      size: 0,
      contentType:
        (typeof metadata.contentType === 'string' && metadata.contentType) ||
        headerValue(req.headers['x-upload-content-type']),
      declaredSize: declared && /^\d+$/.test(declared) ? Number(declared) : undefined,
      preconditions: pre,
      result: undefined,
    };
    await (await open(session.tmp, 'wx')).close();
    this.sessions.set(id, session);
    const location = new URLSearchParams({ uploadType: 'resumable', name, upload_id: id });
    const origin = `http://${headerValue(req.headers.host) ?? 'localhost'}`;
    res
      .writeHead(200, {
        location: `${origin}/upload/storage/v1/b/${encodeURIComponent(this.name)}/o?${location.toString()}`,
        'x-guploader-uploadid': id,
        'content-length': 0,
      })
      .end();
  }

  private async resumableRequest(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    method: string,
  ): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) throw new ApiError(404, 'notFound', `No such upload session: ${id}`);
    await this.locked(`\0upload:${id}`, async () => {
      if (method === 'DELETE') {
        this.sessions.delete(id);
        await rm(session.tmp, { force: true });
        res.writeHead(499, { 'content-length': 0 }).end();
        return;
      }
      if (method !== 'PUT' && method !== 'POST') {
        throw new ApiError(405, 'methodNotAllowed', `${method} is not allowed on an upload session.`);
      }
      if (session.result) return sendJson(res, 200, session.result);
      const range = parseContentRange(headerValue(req.headers['content-range']));
      if (range.kind === 'status') {
        if (range.total !== undefined && range.total === session.size) {
          return sendJson(res, 200, await this.finishResumable(req, session));
        }
        if (range.total !== undefined && range.total < session.size) {
          throw invalid(
            `Content-Range total ${range.total} is less than the ${session.size} bytes already uploaded.`,
          );
        }
        return incomplete(res, session.size);
      }
      if (range.kind === 'whole' && session.size > 0) {
        throw invalid('Missing Content-Range on an upload already in progress.');
      }
      const start = range.kind === 'whole' ? 0 : range.start;
      if (start > session.size) {
        throw invalid(
          `The upload offset ${start} is past the ${session.size} byte(s) already uploaded; query the session for its offset.`,
        );
      }
      let sent: number;
      try {
        sent = await appendFrom(req, session.tmp, session.size, session.size - start);
      } finally {
        // A chunk cut off midway keeps the bytes that arrived; the client asks for the offset and goes on.
        session.size = Number((await stat(session.tmp)).size);
      }
      if (range.kind === 'chunk' && range.end !== undefined && sent !== range.end - start + 1) {
        throw invalid(
          `Content-Range ${headerValue(req.headers['content-range'])} does not match the ${sent} byte(s) sent.`,
        );
      }
      const total = range.kind === 'whole' ? session.size : range.total;
      if (total !== undefined && session.size > total) {
        throw invalid(`Content-Range total ${total} is less than the ${session.size} bytes uploaded.`);
      }
      // Without a total, a chunk sent as `a-*` is the rest of the object.
      const last =
        total !== undefined ? session.size === total : range.kind === 'chunk' && range.end === undefined;
      if (!last) return incomplete(res, session.size);
      sendJson(res, 200, await this.finishResumable(req, session));
    });
  }

  private async finishResumable(
    req: IncomingMessage,
    session: UploadSession,
  ): Promise<Record<string, unknown>> {
    try {
      if (session.declaredSize !== undefined && session.declaredSize !== session.size) {
        throw invalid(
          `The upload has ${session.size} bytes but X-Upload-Content-Length declared ${session.declaredSize}.`,
        );
      }
      const st = await stat(session.tmp, { bigint: true });
      const hashes = await this.hashesOf(session.tmp, st);
      this.hashes.delete(session.tmp);
      checkClientHashes(hashes, hashesFromHeader(req.headers['x-goog-hash']));
      session.result = await this.commit(
        session.name,
        session.tmp,
        session.preconditions,
        { ...hashes, size: session.size },
        session.contentType,
      );
      return session.result;
    } catch (err) {
      this.sessions.delete(session.id);
      await rm(session.tmp, { force: true });
      throw err;
    }
  }

  /**
   * Moves a received temporary file into place as object `name`, under the preconditions; answers the new
   * object's resource. Writes to one name are serialized, so checking a precondition and replacing the file
   * are one step.
   */
  private async commit(
    name: string,
    tmp: string,
    pre: Preconditions,
    received: Hashes & { size: number },
    contentType: string | undefined,
  ): Promise<Record<string, unknown>> {
    const file = this.fileOf(name);
    return this.locked(name, async () => {
      const existing = await this.current(file);
      if (existing === 'directory') {
        throw new ApiError(
          409,
          'conflict',
          `Cannot store ${name}: objects named ${name}/... exist, and a directory-backed bucket cannot hold an object and names under it.`,
        );
      }
      checkPreconditions(pre, existing && generationOf(existing), 'write');
      if (existing) await distinctGeneration(tmp, generationOf(existing));
      for (let attempt = 1; ; attempt++) {
        await this.makeParent(name, file);
        try {
          if (pre.ifGenerationMatch === 0n) {
            // link() fails if anything took the name meanwhile (another process too): create-if-absent.
            await link(tmp, file);
            await unlink(tmp);
          } else {
            await rename(tmp, file);
          }
          break;
        } catch (err) {
          if (isCode(err, 'EEXIST') && pre.ifGenerationMatch === 0n) throw conditionNotMet();
          // An emptied parent directory can be removed by a delete between makeParent and rename.
          if (isCode(err, 'ENOENT') && attempt < 5) continue;
          if (isCode(err, 'EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR')) {
            throw new ApiError(
              409,
              'conflict',
              `Cannot store ${name}: a directory of other objects has that name.`,
            );
          }
          if (isCode(err, 'ENAMETOOLONG'))
            throw invalid(`Object name ${name} is too long for the file system.`);
          throw err;
        }
      }
      const st = await lstat(file, { bigint: true });
      this.remember(file, st, received);
      if (contentType) {
        this.contentTypes.delete(name);
        this.contentTypes.set(name, { generation: generationOf(st), contentType });
        if (this.contentTypes.size > CACHE_ENTRIES)
          this.contentTypes.delete(this.contentTypes.keys().next().value!);
      } else {
        this.contentTypes.delete(name);
      }
      return this.objectResource(name, st, received);
    });
  }

  /** Creates the directories above an object's file; an object standing where one must go is a 409. */
  private async makeParent(name: string, file: string): Promise<void> {
    const dir = path.dirname(file);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      if (!isCode(err, 'ENOTDIR', 'EEXIST')) {
        if (isCode(err, 'ENAMETOOLONG'))
          throw invalid(`Object name ${name} is too long for the file system.`);
        throw err;
      }
      const parts = name.split('/');
      let blocker = parts[0];
      for (let i = 1; i < parts.length; i++) {
        const st = await this.current(path.join(this.root, ...parts.slice(0, i)));
        if (st && st !== 'directory') {
          blocker = parts.slice(0, i).join('/');
          break;
        }
      }
      throw new ApiError(
        409,
        'conflict',
        `Cannot store ${name}: ${blocker} is an object, and a directory-backed bucket cannot hold an object and names under it.`,
      );
    }
    if (!(await this.checkInside(dir))) {
      throw new ApiError(
        403,
        'forbidden',
        `Cannot store ${name}: its directory leads outside the served root.`,
      );
    }
  }
}

// ---- helpers

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

function noSuchObject(bucket: string, name: string): ApiError {
  return new ApiError(404, 'notFound', `No such object: ${bucket}/${name}`);
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return !!err && typeof err === 'object' && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`Invalid percent-encoding in the path: ${s}`);
  }
}

function startsWith(buf: Buffer, head: Buffer): boolean {
  return buf.length >= head.length && buf.subarray(0, head.length).equals(head);
}

function isoFromNs(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

/** Why `name` cannot be an object here (undefined when it can). */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (!name.isWellFormed() || name.includes('\uFFFD')) return 'it is not valid UTF-8';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes`;
  if (/[\0\r\n]/.test(name)) return 'it contains NUL, CR or LF';
  if (name.startsWith('/')) return 'it starts with /';
  const segments = name.split('/');
  if (segments.includes('')) return 'it has an empty path segment (// or a trailing /)';
  if (segments.some((s) => s === '.' || s === '..')) return 'it has a . or .. path segment';
  if (segments[0] === UPLOADS_DIR) return `${UPLOADS_DIR}/ is reserved for the server's partial uploads`;
  return undefined;
}

function readPreconditions(query: URLSearchParams): Preconditions {
  const out: Preconditions = {};
  for (const key of PRECONDITIONS) {
    const v = query.get(key);
    if (v === null) continue;
    if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value for ${key}: ${v}`);
    out[key] = BigInt(v);
  }
  return out;
}

/**
 * Checks preconditions against the current generation (undefined: no object). Objects here never change
 * their metadata, so the metageneration of an existing object is always 1. A failed Match is 412; a failed
 * NotMatch is 304 on a read and 412 on a write, as the service answers.
 */
function checkPreconditions(
  pre: Preconditions,
  generation: bigint | undefined,
  mode: 'read' | 'write',
): void {
  const exists = generation !== undefined;
  if (
    pre.ifGenerationMatch !== undefined &&
    (exists ? generation !== pre.ifGenerationMatch : pre.ifGenerationMatch !== 0n)
  ) {
    throw conditionNotMet();
  }
  if (pre.ifMetagenerationMatch !== undefined && (!exists || pre.ifMetagenerationMatch !== 1n))
    throw conditionNotMet();
  const notMatchFailed =
    (pre.ifGenerationNotMatch !== undefined &&
      (exists ? generation === pre.ifGenerationNotMatch : pre.ifGenerationNotMatch === 0n)) ||
    (pre.ifMetagenerationNotMatch !== undefined && exists && pre.ifMetagenerationNotMatch === 1n);
  if (notMatchFailed) {
    if (mode === 'read') throw new NotModified();
    throw conditionNotMet();
  }
}

/**
 * An object's generation: its file's modification time in microseconds, as the service's generations are.
 * Nanoseconds would not survive clients that hold generations as JavaScript numbers (the Node client does).
 */
function generationOf(st: BigIntStats): bigint {
  return st.mtimeNs / 1000n;
}

/**
 * Makes the file about to replace an object carry a later modification time than the object's, so the
 * generation changes even when both were written within one tick of the file system's clock.
 */
async function distinctGeneration(tmp: string, previous: bigint): Promise<void> {
  let st = await stat(tmp, { bigint: true });
  // Aim at the middle of a later microsecond: utimes() takes seconds as a double, good to about 0.25 µs.
  for (const step of [1n, 1_000n, 1_000_000n, 2_000_000n]) {
    if (generationOf(st) > previous) return;
    const targetNs = (previous + step) * 1000n + 500n;
    const seconds = Number(targetNs / 1_000_000_000n) + Number(targetNs % 1_000_000_000n) / 1e9;
    await utimes(tmp, seconds, seconds);
    st = await stat(tmp, { bigint: true });
  }
  if (generationOf(st) <= previous) {
    throw new Error('the file system keeps modification times too coarse to tell generations apart');
  }
}

/** Streams `source` into a new file `tmp`, hashing on the way. */
async function receive(source: AsyncIterable<Buffer>, tmp: string): Promise<Hashes & { size: number }> {
  const md5 = createHash('md5');
  const crc = new Crc32c();
  let size = 0;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        md5.update(chunk);
        crc.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(tmp, { flags: 'wx' }),
  );
  return { md5: md5.digest('base64'), crc32c: crc.base64(), size };
}

/** Appends the request body to `file` at `offset`, dropping its first `skip` bytes; returns the bytes sent. */
async function appendFrom(
  source: AsyncIterable<Buffer>,
  file: string,
  offset: number,
  skip: number,
): Promise<number> {
  let sent = 0;
  let toSkip = skip;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        sent += chunk.length;
        if (toSkip >= chunk.length) {
          toSkip -= chunk.length;
          continue;
        }
        const fresh = toSkip > 0 ? chunk.subarray(toSkip) : chunk;
        toSkip = 0;
        yield fresh;
      }
    },
    createWriteStream(file, { flags: 'r+', start: offset }),
  );
  return sent;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw invalid(`The object metadata is larger than ${MAX_JSON_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return parseJsonObject(Buffer.concat(chunks));
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new ApiError(400, 'parseError', 'The object metadata is not a JSON object.');
}

/**
 * Reads a multipart/related upload: the JSON metadata part into memory, the media part streamed into `tmp`
 * (hashed on the way) up to the closing boundary.
 */
async function receiveMultipart(
  req: IncomingMessage,
  tmp: string,
): Promise<{
  metadata: Record<string, unknown>;
  mediaType: string | undefined;
  received: Hashes & { size: number };
}> {
  const type = headerValue(req.headers['content-type']) ?? '';
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (!/^multipart\//i.test(type) || !m) {
    throw invalid('A multipart upload needs a multipart/related Content-Type with a boundary.');
  }
  // Reading as if the body began with CRLF makes every delimiter, the first one too, `CRLF--boundary`.
  const delimiter = Buffer.from(`\r\n--${m[1] ?? m[2]}`);
  const input = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let buf = Buffer.from('\r\n');
  let ended = false;
  const more = async (): Promise<boolean> => {
    if (ended) return false;
    const next = await input.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buf = Buffer.concat([buf, next.value]);
    if (buf.length > MAX_JSON_BYTES + delimiter.length * 4) {
      throw invalid('The multipart metadata part is too large or the body is malformed.');
    }
    return true;
  };
  const malformed = (): ApiError =>
    invalid('Malformed multipart body: expected a metadata part and a media part.');
  /** Consumes up to and including `needle`; returns what came before it. */
  const until = async (needle: Buffer): Promise<Buffer> => {
    for (;;) {
      const at = buf.indexOf(needle);
      if (at >= 0) {
        const before = buf.subarray(0, at);
        buf = buf.subarray(at + needle.length);
        return before;
      }
      if (!(await more())) throw malformed();
    }
  };
  /** Reads the rest of a delimiter line and the part's header lines, up to the blank line. */
  const partHeaders = async (): Promise<Record<string, string>> => {
    const restOfLine = await until(Buffer.from('\r\n'));
    if (restOfLine.subarray(0, 2).toString() === '--') {
      throw invalid('A multipart upload must have exactly two parts: metadata and media.');
    }
    const headers: Record<string, string> = {};
    for (;;) {
      const line = (await until(Buffer.from('\r\n'))).toString('latin1');
      if (line === '') return headers;
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  };

  await until(delimiter);
  await partHeaders();
  const metadata = parseJsonObject(await until(delimiter));
  const mediaHeaders = await partHeaders();

  const body = async function* (): AsyncGenerator<Buffer> {
    for (;;) {
      const at = buf.indexOf(delimiter);
      if (at >= 0) {
        if (at > 0) yield buf.subarray(0, at);
        const tail = buf.subarray(at + delimiter.length);
        buf = tail;
        while (buf.length < 2 && (await more()));
        if (!buf.subarray(0, 2).equals(Buffer.from('--'))) {
          throw invalid('A multipart upload must have exactly two parts: metadata and media.');
        }
        // Whatever follows the closing delimiter is an epilogue; drain it.
        while (await more()) buf = Buffer.alloc(0);
        return;
      }
      // Keep enough bytes to find a delimiter split across chunks.
      const keep = delimiter.length - 1;
      if (buf.length > keep) {
        yield buf.subarray(0, buf.length - keep);
        buf = buf.subarray(buf.length - keep);
      }
      if (ended) throw invalid('The multipart body ends before its closing boundary.');
      const next = await input.next();
      if (next.done) {
        ended = true;
        continue;
      }
      buf = Buffer.concat([buf, next.value]);
    }
  };
  const received = await receive(body(), tmp);
  return { metadata, mediaType: mediaHeaders['content-type'], received };
}

interface ClientHashes {
  md5?: string;
  crc32c?: string;
}

function hashesFromHeader(h: string | string[] | undefined): ClientHashes {
  const out: ClientHashes = {};
  for (const value of Array.isArray(h) ? h : h ? [h] : []) {
    for (const pair of value.split(',')) {
      const i = pair.indexOf('=');
      if (i < 0) continue;
      const key = pair.slice(0, i).trim().toLowerCase();
      const v = pair.slice(i + 1).trim();
      if (key === 'md5') out.md5 = v;
      else if (key === 'crc32c') out.crc32c = v;
    }
  }
  return out;
}

function hashesFromMetadata(metadata: Record<string, unknown>): ClientHashes {
  const out: ClientHashes = {};
  if (typeof metadata.md5Hash === 'string') out.md5 = metadata.md5Hash;
  if (typeof metadata.crc32c === 'string') out.crc32c = metadata.crc32c;
  return out;
}

function checkClientHashes(actual: Hashes, given: ClientHashes): void {
  if (given.crc32c !== undefined && given.crc32c !== actual.crc32c) {
    throw invalid(`Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`);
  }
  if (given.md5 !== undefined && given.md5 !== actual.md5) {
    throw invalid(`Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${actual.md5}".`);
  }
}

type ContentRange =
  | { kind: 'whole' }
  | { kind: 'status'; total: number | undefined }
  | { kind: 'chunk'; start: number; end: number | undefined; total: number | undefined };

/** `bytes a-b/T`, `bytes a-b/*`, `bytes a-* /T` (without the space), `bytes *\/T`, `bytes *\/*`; none: the whole object. */
function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined) return { kind: 'whole' };
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw invalid(`Invalid Content-Range header: ${header}`);
  const total = m[4] === '*' ? undefined : Number(m[4]);
  if (m[1] === '*') return { kind: 'status', total };
  return { kind: 'chunk', start: Number(m[2]), end: m[3] === '*' ? undefined : Number(m[3]), total };
}

/** A `Range: bytes=...` header against an object of `size` bytes; undefined: send it whole. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // A malformed or multi-range header is ignored, as HTTP allows.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  // An empty object has no byte to range over; the service sends it whole.
  if (size === 0) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return undefined;
  return { start, end };
}

/** Parses the `fields` parameter (`items(name,size),nextPageToken`, `a/b`, `*`); null: everything. */
function parseFields(spec: string | null): FieldSelection | undefined {
  if (spec === null || spec.trim() === '') return undefined;
  const s = spec.replace(/\s+/g, '');
  let i = 0;
  const fail = (): ApiError => new ApiError(400, 'invalidParameter', `Invalid field selection ${spec}`);
  const parsePath = (into: FieldSelection): void => {
    const m = /^[A-Za-z0-9_*]+/.exec(s.slice(i));
    if (!m) throw fail();
    i += m[0].length;
    const key = m[0];
    const c = s[i];
    if (c !== '/' && c !== '(') {
      into.set(key, null);
      return;
    }
    i++;
    let sub = into.get(key);
    // A part of something already selected whole stays whole: the sub-selection is parsed and dropped.
    if (sub === null) sub = new Map();
    else if (sub === undefined) {
      sub = new Map();
      into.set(key, sub);
    }
    if (c === '/') parsePath(sub);
    else parseList(sub, true);
  };
  const parseList = (into: FieldSelection, nested: boolean): void => {
    for (;;) {
      parsePath(into);
      if (i >= s.length) {
        if (nested) throw fail();
        return;
      }
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === ')' && nested) {
        i++;
        return;
      }
      throw fail();
    }
  };
  const root: FieldSelection = new Map();
  parseList(root, false);
  return root;
}

/** Whether a field selection includes the field at `at` (a path of names). */
function wants(fields: FieldSelection | undefined, at: string[]): boolean {
  let node: FieldSelection | null | undefined = fields;
  for (const key of at) {
    if (node === undefined || node === null) return true;
    const next: FieldSelection | null | undefined = node.get(key) ?? node.get('*');
    if (next === undefined) return false;
    node = next;
  }
  return true;
}

/** A response cut down to the selected fields (arrays: each element). */
function project(value: unknown, fields: FieldSelection | undefined): unknown {
  if (fields === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, fields));
  if (!value || typeof value !== 'object') return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of fields) {
    const keys = key === '*' ? Object.keys(src) : key in src ? [key] : [];
    for (const k of keys) out[k] = sub === null ? src[k] : project(src[k], sub);
  }
  return out;
}

async function mapLimit<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
