import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** Where a file entry's bytes come from: a buffer, or a file (optionally a byte range of it). */
export type TarContent = Buffer | { readonly file: string; readonly offset?: number; readonly size?: number };

/** One archive member. Paths are relative and `/`-separated; a directory's path has no trailing slash. */
export type TarEntry =
  | { readonly kind: 'file'; readonly path: string; readonly mode: number; readonly content: TarContent }
  | { readonly kind: 'directory'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

/** What {@link ustarHeaderBlocks} needs to describe one member. */
export interface TarHeaderFields {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink';
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly linkTarget?: string;
}

/** What a finished `.tar.gz` holds, measured while it was written. */
export interface TarGzSummary {
  /** Hex SHA-256 of the compressed bytes. */
  readonly sha256: string;
  /** Compressed bytes. */
  readonly size: number;
  /** Bytes of the tar stream before compression: what unpacking needs at most, headers included. */
  readonly unpackedBytes: number;
}

const BLOCK = 512;
/** The largest value an 11-digit octal field holds: 8 GiB - 1 for sizes. */
export const USTAR_MAX_OCTAL = 8 ** 11 - 1;
const TYPE_FLAGS = { file: '0', directory: '5', symlink: '2' } as const;
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/** Throws unless `path` is relative, `/`-separated, with no empty, `.` or `..` segments and no NUL. */
export function checkEntryPath(path: string): void {
  const segments = path.split('/');
  if (path.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(
      `tar: refusing path ${JSON.stringify(path)}: it must be relative, with no empty or .. parts`,
    );
  }
}

/** Splits `path` into ustar's prefix (≤155 bytes) and name (≤100 bytes), or undefined when it cannot. */
export function splitUstarName(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
    const prefix = path.slice(0, slash);
    const name = path.slice(slash + 1);
    if (Buffer.byteLength(prefix) > 155) return undefined;
    if (name !== '' && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  return undefined;
}

/** Encodes pax extended-header records: each is `LEN key=value\n`, LEN counting itself. */
export function paxRecords(records: Readonly<Record<string, string>>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const rest = Buffer.byteLength(` ${key}=${value}\n`);
    let length = rest + 1;
    while (String(length).length + rest !== length) length = String(length).length + rest;
    return `${length} ${key}=${value}\n`;
  });
  return Buffer.from(lines.join(''));
}

function octal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

/** One 512-byte ustar header with uid/gid 0, empty user/group names and its checksum filled in. */
export function ustarHeader(f: {
  name: string;
  prefix: string;
  typeFlag: string;
  mode: number;
  size: number;
  mtime: number;
  linkName: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(f.name, 0, 100);
  octal(block, 100, 8, f.mode & 0o7777);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, f.size);
  octal(block, 136, 12, f.mtime);
  block.write(f.typeFlag, 156, 1, 'ascii');
  block.write(f.linkName, 157, 100);
  block.write('ustar\u000000', 257, 8, 'ascii');
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  block.write(f.prefix, 345, 155);
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** The header blocks for one member: a pax `x` header first when the path, link target or size needs it. */
export function ustarHeaderBlocks(h: TarHeaderFields): Buffer {
  checkEntryPath(h.path);
  if (!Number.isSafeInteger(h.mtime) || h.mtime < 0 || h.mtime > USTAR_MAX_OCTAL) {
    throw new Error(`tar: mtime ${h.mtime} is out of range`);
  }
  const path = h.type === 'directory' ? `${h.path}/` : h.path;
  const linkTarget = h.linkTarget ?? '';
  const split = splitUstarName(path);
  const pax: Record<string, string> = {};
  if (!split) pax.path = path;
  if (Buffer.byteLength(linkTarget) > 100) pax.linkpath = linkTarget;
  if (h.size > USTAR_MAX_OCTAL) pax.size = String(h.size);
  const member = ustarHeader({
    name: split?.name ?? path,
    prefix: split?.prefix ?? '',
    typeFlag: TYPE_FLAGS[h.type],
    mode: h.mode,
    size: h.size > USTAR_MAX_OCTAL ? 0 : h.size,
    mtime: h.mtime,
    linkName: linkTarget,
  });
  if (Object.keys(pax).length === 0) return member;
  const records = paxRecords(pax);
  const paxHeader = ustarHeader({
    name: '././@PaxHeader',
    prefix: '',
    typeFlag: 'x',
    mode: 0o644,
    size: records.length,
    mtime: h.mtime,
    linkName: '',
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), member]);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * Writes a gzip-compressed (level 6) tar stream to `out`, measuring it as it goes. Add members in the order
 * they should appear, then call {@link TarGzWriter.finish}. Every member gets the same mtime, so the same
 * members give the same bytes.
 */
export class TarGzWriter {
  readonly #gzip = createGzip({ level: 6 });
  readonly #hash = createHash('sha256');
  readonly #mtime: number;
  readonly #done: Promise<void>;
  #compressedBytes = 0;
  #tarBytes = 0;

  constructor(out: Writable, options: { mtime: number }) {
    this.#mtime = options.mtime;
    const measure = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.#hash.update(chunk);
        this.#compressedBytes += chunk.length;
        callback(null, chunk);
      },
    });
    this.#done = pipeline(this.#gzip, measure, out);
    this.#done.catch(() => {}); // reported by the next write or by finish()
  }

  /** Appends one member; for a file read from disk, throws naming the file if it cannot be read whole. */
  async add(entry: TarEntry): Promise<void> {
    if (entry.kind !== 'file') {
      const link = entry.kind === 'symlink' ? entry.target : undefined;
      const mode = entry.kind === 'directory' ? (entry.mode ?? 0o755) : 0o777;
      const fields = { path: entry.path, type: entry.kind, mode, size: 0, linkTarget: link };
      return this.#write(ustarHeaderBlocks({ ...fields, mtime: this.#mtime }));
    }
    const header = { path: entry.path, type: 'file', mode: entry.mode, mtime: this.#mtime } as const;
    if (Buffer.isBuffer(entry.content)) {
      await this.#write(ustarHeaderBlocks({ ...header, size: entry.content.length }));
      await this.#write(entry.content);
      return this.#write(Buffer.alloc(padding(entry.content.length)));
    }
    const { file, offset = 0 } = entry.content;
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | NO_FOLLOW);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`cannot read ${file}: it is not a regular file`);
      const size = entry.content.size ?? stat.size - offset;
      await this.#write(ustarHeaderBlocks({ ...header, size }));
      let copied = 0;
      if (size > 0) {
        for await (const chunk of handle.createReadStream({
          start: offset,
          end: offset + size - 1,
          autoClose: false,
        })) {
          copied += (chunk as Buffer).length;
          await this.#write(chunk as Buffer);
        }
      }
      if (copied !== size || (entry.content.size === undefined && (await handle.stat()).size !== stat.size)) {
        throw new Error(`cannot read ${file}: it changed while being archived`);
      }
      await this.#write(Buffer.alloc(padding(size)));
    } finally {
      await handle.close();
    }
  }

  /** Writes the two zero blocks that end a tar stream, waits for `out` to finish and returns the measures. */
  async finish(): Promise<TarGzSummary> {
    await this.#write(Buffer.alloc(2 * BLOCK));
    this.#gzip.end();
    await this.#done;
    return { sha256: this.#hash.digest('hex'), size: this.#compressedBytes, unpackedBytes: this.#tarBytes };
  }

  async #write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.#tarBytes += bytes.length;
    if (!this.#gzip.write(bytes)) await Promise.race([once(this.#gzip, 'drain'), this.#done]);
  }
}

/** A member of an existing tar file, with where its content lies in that file. */
export interface TarFileMember {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
  readonly mode: number;
  readonly size: number;
  /** Byte offset of the content in the tar file. */
  readonly offset: number;
  readonly linkTarget: string;
}

/** Lists the members of an uncompressed ustar/pax tar file (as `git archive` writes), applying pax `x` headers. */
export async function* readTarFile(file: string): AsyncGenerator<TarFileMember> {
  const handle = await open(file, 'r');
  try {
    const block = Buffer.alloc(BLOCK);
    let pax: Record<string, string> = {};
    for (let offset = 0; ;) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, offset);
      if (bytesRead < BLOCK || block.every((b) => b === 0)) return;
      const text = (start: number, length: number) => {
        const field = block.subarray(start, start + length);
        const end = field.indexOf(0);
        return field.subarray(0, end === -1 ? length : end).toString('utf8');
      };
      const number = (start: number, length: number) => parseInt(text(start, length).trim() || '0', 8);
      const typeFlag = text(156, 1);
      const size = pax.size !== undefined ? Number(pax.size) : number(124, 12);
      const contentOffset = offset + BLOCK;
      offset = contentOffset + size + padding(size);
      if (typeFlag === 'x' || typeFlag === 'g') {
        const records = Buffer.alloc(size);
        await handle.read(records, 0, size, contentOffset);
        if (typeFlag === 'x') pax = parsePaxRecords(records);
        continue;
      }
      const prefix = text(345, 155);
      const name = pax.path ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
      const type =
        typeFlag === '0' || typeFlag === ''
          ? 'file'
          : typeFlag === '5'
            ? 'directory'
            : typeFlag === '2'
              ? 'symlink'
              : 'other';
      yield {
        path: name.replace(/\/+$/, ''),
        type,
        mode: number(100, 8),
        size,
        offset: contentOffset,
        linkTarget: pax.linkpath ?? text(157, 100),
      };
      pax = {};
    }
  } finally {
    await handle.close();
  }
}

function parsePaxRecords(records: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  for (let at = 0; at < records.length;) {
    const space = records.indexOf(0x20, at);
    const length = parseInt(records.subarray(at, space).toString('ascii'), 10);
    if (space === -1 || !(length > 0)) break;
    const record = records.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    result[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return result;
}
