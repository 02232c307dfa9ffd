import type { Bucket, File, Storage } from '@google-cloud/storage';
import { CRC32C } from '@google-cloud/storage';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Limiter } from '../concurrency.ts';
import { GcpError, classifyError } from '../gcp/errors.ts';

/** An object as a listing reports it. */
export interface RemoteObject {
  readonly name: string;
  readonly size: number;
  readonly crc32c?: string;
  readonly md5Hash?: string;
  readonly generation?: string;
}

/** What one listing returned, every page of it. */
export interface Listing {
  readonly objects: RemoteObject[];
  /** With a delimiter: the "folders" (`prefix/x/`). */
  readonly prefixes: string[];
}

function remoteObject(f: File): RemoteObject {
  const m = f.metadata;
  return {
    name: f.name,
    size: Number(m.size ?? 0),
    ...(typeof m.crc32c === 'string' ? { crc32c: m.crc32c } : {}),
    ...(typeof m.md5Hash === 'string' ? { md5Hash: m.md5Hash } : {}),
    ...(m.generation !== undefined ? { generation: String(m.generation) } : {}),
  };
}

/** Lists every object under `prefix` (all pages), optionally one level deep with `delimiter`. */
export async function listObjects(bucket: Bucket, prefix: string, delimiter?: string): Promise<Listing> {
  const objects: RemoteObject[] = [];
  const prefixes: string[] = [];
  let pageToken: string | undefined;
  do {
    let page;
    try {
      page = await bucket.getFiles({
        prefix,
        autoPaginate: false,
        maxResults: 1000,
        ...(delimiter ? { delimiter } : {}),
        ...(pageToken ? { pageToken } : {}),
      });
    } catch (err) {
      throw new GcpError(`list gs://${bucket.name}/${prefix}`, classifyError(err));
    }
    const [files, next, response] = page;
    for (const f of files) objects.push(remoteObject(f));
    const more = (response as { prefixes?: unknown } | undefined)?.prefixes;
    if (Array.isArray(more)) for (const p of more) if (typeof p === 'string') prefixes.push(p);
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
  } while (pageToken);
  return { objects, prefixes };
}

/** How one download ended. */
export type FetchResult =
  | {
      readonly ok: true;
      readonly size: number;
      readonly verified: 'md5' | 'crc32c' | 'size';
      readonly tries: number;
    }
  | {
      readonly ok: false;
      readonly kind: 'checksum' | 'download' | 'vanished';
      readonly message: string;
      readonly tries: number;
    };

/** Tuning of the downloader. */
export interface DownloaderOptions {
  /** Downloads in flight at once. */
  concurrency: number;
  /** Tries per object, counting the first (default 4). */
  maxTries?: number;
  /** First back-off after a failed try, doubled each time (default 250 ms). */
  backoffMs?: number;
  /** A directory on the same file system as every destination, for partial files. */
  tempDir: string;
}

class Mismatch extends Error {}

/** A download that sends nothing for this long is abandoned (and tried again). */
const STALL_MS = 60_000;

/** The error of a non-200 answer, shaped as the Google libraries' errors so classifyError reads it. */
async function apiError(res: IncomingMessage): Promise<Error> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < 64 * 1024) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let message = `HTTP ${res.statusCode}`;
  let errors: unknown;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; errors?: unknown } };
    if (typeof body.error?.message === 'string') message = `${message}: ${body.error.message}`;
    errors = body.error?.errors;
  } catch {
    if (text) message = `${message}: ${text.slice(0, 200)}`;
  }
  return Object.assign(new Error(message), { code: res.statusCode, errors });
}

/** The counters a downloader keeps. */
export interface DownloadStats {
  requests: number;
  retries: number;
  bytes: number;
}

/**
 * Downloads objects to files with bounded concurrency: each streams to a partial file while its MD5 (or, for
 * objects without one, CRC32C) is computed, and is renamed into place only when the bytes match what Cloud
 * Storage reported, so a file on disk is always a verified one. A mismatch, a short read, a rate limit or a
 * 5xx is tried again after a back-off; an error of the local disk is thrown, since nothing else will fit.
 */
export class Downloader {
  readonly stats: DownloadStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly storage: Storage;
  private readonly bucket: string;
  private readonly limiter: Limiter;
  private readonly maxTries: number;
  private readonly backoffMs: number;
  private readonly tempDir: string;
  private agent: http.Agent | undefined;

  constructor(storage: Storage, bucket: string, opts: DownloaderOptions) {
    this.storage = storage;
    this.bucket = bucket;
    this.limiter = new Limiter(opts.concurrency);
    this.maxTries = opts.maxTries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.tempDir = opts.tempDir;
  }

  /** Downloads `obj` (the generation listed) to `dest`, verified; waits for a free slot first. */
  fetch(obj: RemoteObject, dest: string): Promise<FetchResult> {
    return this.limiter.run(() => this.fetchWithRetries(obj, dest));
  }

  private async fetchWithRetries(obj: RemoteObject, dest: string): Promise<FetchResult> {
    let last = '';
    let lastKind: 'checksum' | 'download' = 'download';
    for (let tryNo = 1; tryNo <= this.maxTries; tryNo++) {
      if (tryNo > 1) {
        this.stats.retries += 1;
        const wait = this.backoffMs * 2 ** (tryNo - 2);
        await new Promise((r) => setTimeout(r, wait + Math.random() * wait * 0.5));
      }
      try {
        const verified = await this.fetchOnce(obj, dest);
        return { ok: true, size: obj.size, verified, tries: tryNo };
      } catch (err) {
        if (isLocalDiskError(err)) throw err;
        if (err instanceof Mismatch) {
          last = err.message;
          lastKind = 'checksum';
          continue;
        }
        const f = classifyError(err);
        if (f.kind === 'not-found') {
          return {
            ok: false,
            kind: 'vanished',
            message: `gs://${this.bucket}/${obj.name} changed or was deleted while collecting (generation ${obj.generation ?? '?'} is gone)`,
            tries: tryNo,
          };
        }
        last = f.message;
        lastKind = 'download';
        if (f.kind === 'permission' || f.kind === 'invalid') break;
      }
    }
    return { ok: false, kind: lastKind, message: last, tries: this.maxTries };
  }

  /**
   * Starts the media download of one object generation. Not File#createReadStream: on an error status it
   * throws from inside an event handler (teeny-request pipes into the stream it has just destroyed), which
   * ends the whole process rather than the one download; and plain HTTP keeps the stored bytes (no
   * transparent gunzip) at about twice the speed of the library's fetch layer.
   */
  private async open(obj: RemoteObject): Promise<IncomingMessage> {
    const url = new URL(
      `${this.storage.baseUrl}/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(obj.name)}`,
    );
    url.searchParams.set('alt', 'media');
    if (obj.generation) url.searchParams.set('generation', obj.generation);
    const auth = await this.storage.authClient.getRequestHeaders(url.href);
    const headers: Record<string, string> = { 'accept-encoding': 'gzip' };
    auth.forEach((value, key) => (headers[key] = value));
    const secure = url.protocol === 'https:';
    this.agent ??= secure
      ? new https.Agent({ keepAlive: true, maxSockets: this.limiter.limit, proxyEnv: process.env })
      : new http.Agent({ keepAlive: true, maxSockets: this.limiter.limit, proxyEnv: process.env });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (secure ? https : http).request(url, { headers, agent: this.agent }, resolve);
      req.on('error', reject);
      req.setTimeout(STALL_MS, () => req.destroy(new Error(`ETIMEDOUT: no data for ${STALL_MS / 1000} s`)));
      req.end();
    });
    if (res.statusCode === 200) return res;
    throw await apiError(res);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent?.destroy();
  }

  private async fetchOnce(obj: RemoteObject, dest: string): Promise<'md5' | 'crc32c' | 'size'> {
    this.stats.requests += 1;
    const source = await this.open(obj);
    const md5 = obj.md5Hash ? createHash('md5') : undefined;
    const crc = !md5 && obj.crc32c ? new CRC32C() : undefined;
    const expected = obj.size;
    let bytes = 0;
    const tmp = path.join(this.tempDir, randomBytes(12).toString('hex'));
    try {
      await pipeline(
        source,
        async function* (chunks: Readable) {
          for await (const chunk of chunks) {
            const buf = chunk as Buffer;
            bytes += buf.length;
            if (bytes > expected) throw new Mismatch(`more bytes than the ${expected} listed`);
            if (md5) md5.update(buf);
            else crc?.update(buf);
            yield buf;
          }
        },
        createWriteStream(tmp, { flags: 'wx' }),
      );
      this.stats.bytes += bytes;
      if (bytes !== expected) throw new Mismatch(`got ${bytes} of ${expected} bytes`);
      if (md5) {
        const got = md5.digest('base64');
        if (got !== obj.md5Hash) throw new Mismatch(`MD5 ${got} does not match the object's ${obj.md5Hash}`);
      } else if (crc) {
        const got = crc.toString();
        if (got !== obj.crc32c) throw new Mismatch(`CRC32C ${got} does not match the object's ${obj.crc32c}`);
      }
      await mkdir(path.dirname(dest), { recursive: true });
      await rename(tmp, dest);
      return md5 ? 'md5' : crc ? 'crc32c' : 'size';
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof Mismatch) {
        throw new Mismatch(`gs://${this.bucket}/${obj.name}: ${err.message}`);
      }
      throw err;
    }
  }
}

/** An error of the local file system (it names a path), as opposed to one of the network or the service. */
function isLocalDiskError(err: unknown): boolean {
  return !!err && typeof err === 'object' && typeof (err as { path?: unknown }).path === 'string';
}
