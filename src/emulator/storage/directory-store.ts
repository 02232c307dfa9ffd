import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Crc32c } from '../../local/crc32c.ts';
import { conditionNotMet, conflict, forbidden, invalid, notImplemented } from './protocol.ts';
import type {
  BucketRecord,
  NewObject,
  ObjectRecord,
  ObjectStore,
  ObjectVersion,
  OpenedObject,
  StagedBytes,
} from './store.ts';

/** The reserved top-level directory for partial uploads: never listed, and no object may be named under it. */
const UPLOADS_DIR = '.gce-matrix-uploads';
/** Objects whose metadata and checksums are remembered, oldest forgotten first. */
const REMEMBERED_OBJECTS = 100_000;

/** What a file written by other means is served as, by its extension. */
const CONTENT_TYPES = new Map(
  [
    'json application/json|txt text/plain|log text/plain|csv text/csv|tsv text/tab-separated-values',
    'md text/markdown|html text/html|htm text/html|css text/css|js text/javascript|xml application/xml',
    'yaml application/yaml|yml application/yaml|png image/png|jpg image/jpeg|jpeg image/jpeg|gif image/gif',
    'svg image/svg+xml|webp image/webp|pdf application/pdf|gz application/gzip|tgz application/gzip',
    'zip application/zip|tar application/x-tar',
  ]
    .join('|')
    .split('|')
    .map((pair) => pair.split(' ') as [string, string]),
);

/**
 * One bucket kept as a directory: object `a/b.txt` is the file `root/a/b.txt`, so the directory is laid out
 * exactly as the bucket would be, and files put there by other means are objects too.
 *
 * A file's generation is its modification time in microseconds, so rewriting a file makes a new generation.
 * Metadata beyond the bytes (content type, user metadata, metageneration) is remembered in memory for the
 * generation it was written with; a file without any is served with its extension's content type. Because a
 * directory cannot be a file as well, this bucket cannot hold both `a` and `a/b` (such a write is a 409), nor
 * names a path cannot express (`/a`, `a//b`, `a/./b`). Uploads are staged under a reserved directory and
 * renamed into place: a reader sees the old object or the new one, never a partial one.
 */
export class DirectoryObjectStore implements ObjectStore {
  /** The directory that holds the bucket's objects. */
  readonly root: string;
  private readonly bucket: BucketRecord;
  private readonly realRoot: string;
  private readonly uploads: string;
  /** The records of files written or read here, valid while the file is the generation recorded. */
  private readonly known = new Map<string, ObjectRecord>();

  private constructor(root: string, realRoot: string, bucket: string, uploads: string) {
    this.root = root;
    this.realRoot = realRoot;
    this.uploads = uploads;
    this.bucket = { name: bucket, timeCreated: Date.now() };
  }

  /** Serves `root` (created if needed) as the bucket `bucket`. */
  static async open(root: string, bucket: string): Promise<DirectoryObjectStore> {
    const dir = path.resolve(root);
    await fs.mkdir(dir, { recursive: true });
    const uploads = path.join(dir, UPLOADS_DIR, randomBytes(8).toString('hex'));
    await fs.mkdir(uploads, { recursive: true });
    return new DirectoryObjectStore(dir, await fs.realpath(dir), bucket, uploads);
  }

  /** Removes the staged bytes of unfinished uploads; the objects stay. */
  async close(): Promise<void> {
    await fs.rm(this.uploads, { recursive: true, force: true });
    // The reserved directory goes too when no other store is using it.
    await fs.rmdir(path.dirname(this.uploads)).catch(() => undefined);
  }

  nameProblem(name: string): string | undefined {
    if (name.includes('\0')) return 'it contains NUL';
    if (name.startsWith('/')) return 'it starts with /';
    const segments = name.split('/');
    if (segments.includes('')) return 'it has an empty path segment (// or a trailing /)';
    if (segments.some((s) => s === '.' || s === '..')) return 'it has a . or .. path segment';
    if (segments[0] === UPLOADS_DIR) return `${UPLOADS_DIR}/ is reserved for partial uploads`;
    return undefined;
  }

  listBuckets(): BucketRecord[] {
    return [this.bucket];
  }

  getBucket(name: string): BucketRecord | undefined {
    return name === this.bucket.name ? this.bucket : undefined;
  }

  createBucket(name: string): never {
    if (name !== this.bucket.name)
      throw notImplemented('Creating buckets besides the one a directory serves');
    throw conflict('Your previous request to create the named bucket succeeded and you already own it.');
  }

  deleteBucket(): never {
    throw notImplemented('Deleting the bucket a directory serves');
  }

  async version(bucket: string, name: string): Promise<ObjectVersion | undefined> {
    const file = await this.readableFile(bucket, name);
    const st = file && (await this.current(file));
    if (!st || st === 'directory') return undefined;
    const generation = generationOf(st);
    const known = this.known.get(name);
    return { generation, metageneration: known?.generation === generation ? known.metageneration : 1 };
  }

  async head(bucket: string, name: string): Promise<ObjectRecord | undefined> {
    const opened = await this.open(bucket, name);
    await opened?.close();
    return opened?.record;
  }

  async open(bucket: string, name: string): Promise<OpenedObject | undefined> {
    const file = await this.readableFile(bucket, name);
    let fh: FileHandle;
    try {
      if (!file) return undefined;
      fh = await fs.open(file, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP')) return undefined;
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        await fh.close();
        return undefined;
      }
      const record = await this.recordOf(name, st, fh);
      return {
        record,
        read: (start, end) => fh.createReadStream({ start, end, autoClose: false }),
        close: () => fh.close(),
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async listNames(bucket: string, range: { prefix: string; from?: string; to?: string }): Promise<string[]> {
    if (bucket !== this.bucket.name) return [];
    const { prefix } = range;
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1);
    // A prefix whose directory part no object name here can have matches nothing (and must not reach the disk).
    if (base && this.nameProblem(base.slice(0, -1))) return [];
    if (!(await this.inside(path.join(this.root, ...base.split('/').filter(Boolean))))) return [];
    const from = range.from === undefined ? undefined : Buffer.from(range.from);
    const to = range.to === undefined ? undefined : Buffer.from(range.to);
    // Every name under directory D starts with `D/`; against a bound that does not start with `D/`, the
    // comparison is settled within those bytes, so the whole directory is in or out together.
    const skipDir = (dirKey: Buffer): boolean =>
      (from !== undefined && Buffer.compare(dirKey, from) < 0 && !startsWith(from, dirKey)) ||
      (to !== undefined && Buffer.compare(dirKey, to) > 0 && !startsWith(to, dirKey));
    const out: string[] = [];
    const pending = [base];
    while (pending.length > 0) {
      const rel = pending.pop()!;
      let entries;
      try {
        entries = await fs.readdir(path.join(this.root, ...rel.split('/').filter(Boolean)), {
          withFileTypes: true,
        });
      } catch (err) {
        if (isCode(err, 'ENOENT', 'ENOTDIR')) continue;
        throw err;
      }
      for (const e of entries) {
        const name = rel + e.name;
        // Only names that can still match the prefix are walked into.
        if (!name.startsWith(prefix) && !prefix.startsWith(name)) continue;
        if (e.isDirectory()) {
          if (!(rel === '' && e.name === UPLOADS_DIR) && !skipDir(Buffer.from(`${name}/`)))
            pending.push(`${name}/`);
        } else if (e.isFile() && name.startsWith(prefix) && !this.nameProblem(name)) {
          out.push(name);
        }
      }
    }
    return out;
  }

  async stage(): Promise<StagedBytes> {
    const file = path.join(this.uploads, randomBytes(12).toString('hex'));
    await (await fs.open(file, 'wx')).close();
    return new FileStagedBytes(file);
  }

  async commit(
    bucket: string,
    name: string,
    staged: StagedBytes,
    object: NewObject,
    opts: { createOnly: boolean },
  ): Promise<ObjectRecord> {
    if (!(staged instanceof FileStagedBytes)) throw new Error('bytes staged by another store');
    const file = this.fileOf(bucket, name);
    const existing = await this.current(file);
    if (existing === 'directory') {
      throw conflict(
        `Cannot store ${name}: objects named ${name}/... exist, and a directory cannot be a file too.`,
      );
    }
    if (existing) await distinctGeneration(staged.file, generationOf(existing));
    for (let attempt = 1; ; attempt++) {
      await this.makeParent(name, file);
      try {
        if (opts.createOnly) {
          // link() fails if anything took the name meanwhile (another process too): create-if-absent.
          await fs.link(staged.file, file);
          await fs.unlink(staged.file);
        } else {
          await fs.rename(staged.file, file);
        }
        break;
      } catch (err) {
        if (isCode(err, 'EEXIST') && opts.createOnly) throw conditionNotMet();
        // An emptied parent directory can be removed by a delete between makeParent and rename.
        if (isCode(err, 'ENOENT') && attempt < 5) continue;
        if (isCode(err, 'EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR')) {
          throw conflict(`Cannot store ${name}: a directory of other objects has that name.`);
        }
        if (isCode(err, 'ENAMETOOLONG'))
          throw invalid(`Object name ${name} is too long for the file system.`);
        throw err;
      }
    }
    const st = await fs.lstat(file, { bigint: true });
    return this.remember({ ...object, ...timesOf(st), bucket, name, metageneration: 1 });
  }

  async updateMetadata(record: ObjectRecord): Promise<void> {
    if ((await this.version(record.bucket, record.name))?.generation === record.generation)
      this.remember(record);
  }

  async delete(bucket: string, name: string): Promise<boolean> {
    const file = await this.readableFile(bucket, name);
    try {
      if (!file || (await this.current(file)) === 'directory') return false;
      await fs.unlink(file);
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return false;
      throw err;
    }
    this.known.delete(name);
    // Directories exist only to hold objects: one left empty goes too (the root never does).
    for (
      let dir = path.dirname(file);
      dir !== this.root && dir.startsWith(this.root);
      dir = path.dirname(dir)
    ) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
    }
    return true;
  }

  /** The file of an object name; a name that cannot be a file here is a 400. */
  private fileOf(bucket: string, name: string): string {
    const why = this.nameProblem(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    if (bucket !== this.bucket.name) throw new Error(`this store serves ${this.bucket.name} only`);
    return path.join(this.root, ...name.split('/'));
  }

  /** The file to read for an object; undefined when no such object can be here. */
  private async readableFile(bucket: string, name: string): Promise<string | undefined> {
    if (bucket !== this.bucket.name) return undefined;
    const file = this.fileOf(bucket, name);
    return (await this.inside(path.dirname(file))) ? file : undefined;
  }

  /** Whether a directory's real location is inside the root (no symbolic link planted in the tree leads out). */
  private async inside(dir: string): Promise<boolean> {
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch {
      return true; // it does not exist (yet): nothing to follow
    }
    return real === this.realRoot || real.startsWith(this.realRoot + path.sep);
  }

  private async current(file: string): Promise<BigIntStats | 'directory' | undefined> {
    try {
      const st = await fs.lstat(file, { bigint: true });
      if (st.isDirectory()) return 'directory';
      return st.isFile() ? st : undefined;
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /** The record of an opened file: the one remembered for its generation, or one made from its bytes. */
  private async recordOf(name: string, st: BigIntStats, fh: FileHandle): Promise<ObjectRecord> {
    const times = timesOf(st);
    const known = this.known.get(name);
    if (known && known.generation === times.generation && known.size === times.size) return known;
    const md5 = createHash('md5');
    const crc = new Crc32c();
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(times.size, 1024 * 1024)));
    for (let pos = 0; ;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      md5.update(buf.subarray(0, bytesRead));
      crc.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const dot = name.lastIndexOf('.');
    const ext = dot > name.lastIndexOf('/') ? name.slice(dot + 1).toLowerCase() : '';
    return this.remember({
      ...times,
      bucket: this.bucket.name,
      name,
      metageneration: 1,
      contentType: CONTENT_TYPES.get(ext) ?? 'application/octet-stream',
      metadata: {},
      headerFields: {},
      md5Hash: md5.digest('base64'),
      crc32c: crc.base64(),
      componentCount: undefined,
    });
  }

  private remember(record: ObjectRecord): ObjectRecord {
    this.known.delete(record.name);
    this.known.set(record.name, record);
    if (this.known.size > REMEMBERED_OBJECTS) this.known.delete(this.known.keys().next().value!);
    return record;
  }

  /** Creates the directories above an object's file; an object standing where one must go is a 409. */
  private async makeParent(name: string, file: string): Promise<void> {
    const dir = path.dirname(file);
    try {
      await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      if (isCode(err, 'ENAMETOOLONG')) throw invalid(`Object name ${name} is too long for the file system.`);
      if (!isCode(err, 'ENOTDIR', 'EEXIST')) throw err;
      const parts = name.split('/');
      let blocker = parts[0];
      for (let i = 1; i < parts.length; i++) {
        const st = await this.current(path.join(this.root, ...parts.slice(0, i)));
        if (st && st !== 'directory') {
          blocker = parts.slice(0, i).join('/');
          break;
        }
      }
      throw conflict(`Cannot store ${name}: ${blocker} is an object, and a directory cannot be a file too.`);
    }
    if (!(await this.inside(dir))) {
      throw forbidden(`Cannot store ${name}: its directory leads outside the served root.`);
    }
  }
}

/** Bytes received into a file under the reserved directory, renamed into place on commit. */
class FileStagedBytes implements StagedBytes {
  readonly file: string;
  size = 0;

  constructor(file: string) {
    this.file = file;
  }

  async append(chunks: AsyncIterable<Buffer>): Promise<void> {
    try {
      await pipeline(chunks, createWriteStream(this.file, { flags: 'r+', start: this.size }));
    } finally {
      this.size = Number((await fs.stat(this.file)).size);
    }
  }

  async truncate(size: number): Promise<void> {
    await fs.truncate(this.file, size);
    this.size = size;
  }

  read(): AsyncIterable<Buffer> {
    return createReadStream(this.file);
  }

  async discard(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

/**
 * An object's generation: its file's modification time in microseconds, as the service's generations are.
 * Nanoseconds would not survive clients that hold generations as JavaScript numbers (the Node client does).
 */
function generationOf(st: BigIntStats): number {
  return Number(st.mtimeNs / 1000n);
}

/** What a file's status says of the object it is. */
function timesOf(st: BigIntStats) {
  const born = st.birthtimeNs > 0n && st.birthtimeNs < st.mtimeNs ? st.birthtimeNs : st.mtimeNs;
  return {
    generation: generationOf(st),
    size: Number(st.size),
    timeCreated: Number(born / 1_000_000n),
    updated: Number(st.mtimeNs / 1_000_000n),
  };
}

/**
 * Makes the file about to replace an object carry a later modification time than the object's, so the
 * generation changes even when both were written within one tick of the file system's clock.
 */
async function distinctGeneration(file: string, previous: number): Promise<void> {
  let st = await fs.stat(file, { bigint: true });
  // Aim at the middle of a later microsecond: utimes() takes seconds as a double, good to about 0.25 µs.
  for (const step of [1, 1_000, 1_000_000, 2_000_000]) {
    if (generationOf(st) > previous) return;
    const targetNs = (BigInt(previous) + BigInt(step)) * 1000n + 500n;
    const seconds = Number(targetNs / 1_000_000_000n) + Number(targetNs % 1_000_000_000n) / 1e9;
    await fs.utimes(file, seconds, seconds);
    st = await fs.stat(file, { bigint: true });
  }
  if (generationOf(st) <= previous) {
    throw new Error('the file system keeps modification times too coarse to tell generations apart');
  }
}

function isCode(err: unknown, ...codes: string[]): boolean {
  return !!err && typeof err === 'object' && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

function startsWith(buf: Buffer, head: Buffer): boolean {
  return buf.length >= head.length && buf.subarray(0, head.length).equals(head);
}
