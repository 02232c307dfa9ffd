import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Crc32c } from '../../local/crc32c.ts';
import { bucketNotFound, conditionNotMet, conflict } from './protocol.ts';

/** Object fields that a download answers as response headers of the same meaning. */
export const OBJECT_HEADER_FIELDS = [
  'cacheControl',
  'contentDisposition',
  'contentEncoding',
  'contentLanguage',
  'customTime',
] as const;
export type ObjectHeaderField = (typeof OBJECT_HEADER_FIELDS)[number];

/** What a writer sets on an object besides its bytes. */
export interface ObjectMetadata {
  contentType: string;
  /** User metadata: the `metadata` field of the JSON API. */
  metadata: Record<string, string>;
  headerFields: Partial<Record<ObjectHeaderField, string>>;
}

/** An object as the emulator hands it to a store to keep: its metadata and the checksums of its bytes. */
export interface NewObject extends ObjectMetadata {
  /** Base64 MD5; undefined for a composed object, which Cloud Storage gives none. */
  md5Hash: string | undefined;
  /** Base64 big-endian CRC32C. */
  crc32c: string;
  /** How many objects a composed object was made of; undefined for any other. */
  componentCount: number | undefined;
}

/** What preconditions compare: the object's generation (its data) and metageneration (its metadata). */
export interface ObjectVersion {
  generation: number;
  metageneration: number;
}

/** The current generation of an object, bytes aside. Times are epoch milliseconds. */
export interface ObjectRecord extends NewObject, ObjectVersion {
  bucket: string;
  name: string;
  size: number;
  timeCreated: number;
  updated: number;
}

/** A bucket. `timeCreated` is epoch milliseconds. */
export interface BucketRecord {
  name: string;
  timeCreated: number;
}

/** Bytes received for an object not yet stored: an upload in progress, or a copy being made. */
export interface StagedBytes {
  /** Bytes held so far. */
  readonly size: number;
  /** Appends the bytes; when it fails midway, what was appended stays and `size` says how much. */
  append(chunks: AsyncIterable<Buffer>): Promise<void>;
  /** Keeps the first `size` bytes only. */
  truncate(size: number): Awaitable<void>;
  read(): AsyncIterable<Buffer>;
  /** Drops the bytes (nothing when they have been committed). */
  discard(): Awaitable<void>;
}

/** An object opened for reading: `record` describes exactly the bytes `read` gives. */
export interface OpenedObject {
  readonly record: ObjectRecord;
  /** Bytes `start` to `end`, both included. */
  read(start: number, end: number): Readable;
  close(): Promise<void>;
}

/** A value, or a promise of it: a store in memory answers at once. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where a Cloud Storage emulator keeps buckets and objects. The emulator owns the API (routing, preconditions,
 * checksums, listing order and pages, error answers) and serializes the writes to one object; a store only
 * keeps what it is given. A store may throw a {@link StorageApiError} for what it cannot hold.
 */
export interface ObjectStore {
  listBuckets(): Awaitable<BucketRecord[]>;
  getBucket(name: string): Awaitable<BucketRecord | undefined>;
  /** Creates a bucket, or refuses with 409 when it exists. */
  createBucket(name: string, now: number): Awaitable<BucketRecord>;
  /** Deletes an empty bucket; 404 when there is none, 409 when it holds objects. */
  deleteBucket(name: string): Awaitable<void>;
  /** The current version of an object, cheaply (no checksums computed). */
  version(bucket: string, name: string): Awaitable<ObjectVersion | undefined>;
  head(bucket: string, name: string): Awaitable<ObjectRecord | undefined>;
  open(bucket: string, name: string): Awaitable<OpenedObject | undefined>;
  /**
   * Names of a bucket's objects that start with `prefix`, in any order; may leave out names below `from` or
   * from `to` on (byte order), and may include them: the emulator filters again.
   */
  listNames(bucket: string, range: { prefix: string; from?: string; to?: string }): Awaitable<string[]>;
  stage(): Awaitable<StagedBytes>;
  /**
   * Stores `staged` (from this store's `stage`) as a new generation of the object, with metageneration 1.
   * `createOnly`: refuse with 412 if the object exists (the emulator has checked; a store shared with other
   * writers checks again).
   */
  commit(
    bucket: string,
    name: string,
    staged: StagedBytes,
    object: NewObject,
    opts: { now: number; createOnly: boolean },
  ): Awaitable<ObjectRecord>;
  /** Keeps new metadata for the object's current generation (ignored if the generation is gone). */
  updateMetadata(record: ObjectRecord): Awaitable<void>;
  /** Deletes the object; false when there was none. */
  delete(bucket: string, name: string): Awaitable<boolean>;
  /** Why this store cannot hold an object of this name, beyond Cloud Storage's own rules. */
  nameProblem?(name: string): string | undefined;
}

/**
 * Buckets and objects in memory: what a test bed serves. It answers at once, so tests read and write it
 * directly too.
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly buckets = new Map<string, { record: BucketRecord; objects: Map<string, MemoryObject> }>();
  private lastGeneration = 0;

  /** The bucket, created if needed. */
  ensureBucket(name: string, now: number): BucketRecord {
    const b = this.buckets.get(name) ?? { record: { name, timeCreated: now }, objects: new Map() };
    this.buckets.set(name, b);
    return b.record;
  }

  /** Stores an object directly (creating its bucket if needed); the checksums are computed here. */
  put(bucket: string, name: string, data: Buffer, metadata: ObjectMetadata, now: number): ObjectRecord {
    this.ensureBucket(bucket, now);
    const md5Hash = createHash('md5').update(data).digest('base64');
    const object = {
      ...metadata,
      md5Hash,
      crc32c: new Crc32c().update(data).base64(),
      componentCount: undefined,
    };
    return this.store(bucket, name, data, object, now);
  }

  /** An object and its bytes, or undefined. */
  get(bucket: string, name: string): MemoryObject | undefined {
    return this.buckets.get(bucket)?.objects.get(name);
  }

  listBuckets(): BucketRecord[] {
    return [...this.buckets.values()].map((b) => b.record);
  }

  getBucket(name: string): BucketRecord | undefined {
    return this.buckets.get(name)?.record;
  }

  createBucket(name: string, now: number): BucketRecord {
    if (this.buckets.has(name)) {
      throw conflict('Your previous request to create the named bucket succeeded and you already own it.');
    }
    return this.ensureBucket(name, now);
  }

  deleteBucket(name: string): void {
    const b = this.buckets.get(name);
    if (!b) throw bucketNotFound();
    if (b.objects.size > 0) throw conflict('The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
  }

  version(bucket: string, name: string): ObjectVersion | undefined {
    return this.get(bucket, name)?.record;
  }

  head(bucket: string, name: string): ObjectRecord | undefined {
    return this.get(bucket, name)?.record;
  }

  open(bucket: string, name: string): OpenedObject | undefined {
    const found = this.get(bucket, name);
    return (
      found && {
        record: found.record,
        read: (start, end) => Readable.from([found.data.subarray(start, end + 1)]),
        close: () => Promise.resolve(),
      }
    );
  }

  listNames(bucket: string, range: { prefix: string }): string[] {
    return [...(this.buckets.get(bucket)?.objects.keys() ?? [])].filter((n) => n.startsWith(range.prefix));
  }

  stage(): StagedBytes {
    return new MemoryStagedBytes();
  }

  commit(
    bucket: string,
    name: string,
    staged: StagedBytes,
    object: NewObject,
    opts: { now: number; createOnly: boolean },
  ): ObjectRecord {
    if (!(staged instanceof MemoryStagedBytes)) throw new Error('bytes staged by another store');
    if (!this.buckets.has(bucket)) throw bucketNotFound();
    if (opts.createOnly && this.get(bucket, name)) throw conditionNotMet();
    return this.store(bucket, name, Buffer.concat(staged.chunks), object, opts.now);
  }

  updateMetadata(record: ObjectRecord): void {
    const found = this.get(record.bucket, record.name);
    if (found?.record.generation === record.generation) found.record = record;
  }

  delete(bucket: string, name: string): boolean {
    return this.buckets.get(bucket)?.objects.delete(name) ?? false;
  }

  private store(bucket: string, name: string, data: Buffer, object: NewObject, now: number): ObjectRecord {
    // Generations are microseconds of the clock, and always grow, as Cloud Storage's do.
    this.lastGeneration = Math.max(this.lastGeneration + 1, Math.floor(now) * 1000);
    const generation = this.lastGeneration;
    const record = {
      ...object,
      bucket,
      name,
      generation,
      metageneration: 1,
      size: data.length,
      timeCreated: now,
      updated: now,
    };
    this.buckets.get(bucket)!.objects.set(name, { record, data });
    return record;
  }
}

interface MemoryObject {
  record: ObjectRecord;
  data: Buffer;
}

class MemoryStagedBytes implements StagedBytes {
  chunks: Buffer[] = [];
  size = 0;

  async append(chunks: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of chunks) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
  }

  truncate(size: number): void {
    this.chunks = [Buffer.concat(this.chunks).subarray(0, size)];
    this.size = this.chunks[0].length;
  }

  read(): AsyncIterable<Buffer> {
    return Readable.from(this.chunks);
  }

  discard(): void {
    this.chunks = [];
    this.size = 0;
  }
}
