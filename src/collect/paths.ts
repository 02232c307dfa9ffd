import { createHash } from 'node:crypto';
import { EXPERIMENT_ID } from '../naming.ts';

/** What to do with one object name, relative to the folder it is collected into. */
export type PathDecision =
  /** Safe as it is. */
  | { readonly kind: 'ok'; readonly path: string }
  /** Safe after replacing characters an artifact (or a file system) cannot hold; `reason` says which. */
  | { readonly kind: 'renamed'; readonly path: string; readonly reason: string }
  /** Could escape the folder or cannot be written at all: not collected. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** A zero-byte "folder" placeholder (`name/`), as consoles create: nothing to collect. */
  | { readonly kind: 'directory' };

/**
 * Characters @actions/artifact refuses anywhere in a file's path (one such name fails the whole upload),
 * plus every other control character, which no later tool handles well.
 */
const ARTIFACT_UNSAFE = /[":<>|*?\u0000-\u001f\u007f]/g;
/** Most file systems stop at 255 bytes per name. */
const MAX_SEGMENT_BYTES = 255;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function describeChars(chars: Set<string>): string {
  return [...chars]
    .map((c) =>
      c.charCodeAt(0) < 0x20 || c === '\u007f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c,
    )
    .join(' ');
}

/** Cuts an over-long name segment, keeping its extension and making it unique with a hash of the whole. */
function shortenSegment(segment: string): string {
  if (Buffer.byteLength(segment) <= MAX_SEGMENT_BYTES) return segment;
  const dot = segment.lastIndexOf('.');
  const ext = dot > 0 && segment.length - dot <= 16 ? segment.slice(dot) : '';
  let head = segment.slice(0, segment.length - ext.length);
  const tail = `~${shortHash(segment)}${ext}`;
  while (Buffer.byteLength(head) + Buffer.byteLength(tail) > MAX_SEGMENT_BYTES) head = head.slice(0, -1);
  return `${head}${tail}`;
}

/**
 * Decides where an object goes, given its name relative to the folder being collected (e.g. the part of
 * `.../outputs/a/b.txt` after `outputs/`). Names are untrusted: anything that could land outside the folder
 * (`..`, `.`, an absolute path, a backslash, which is a separator on Windows, an empty segment) is refused;
 * characters @actions/artifact rejects are replaced with `_`, and over-long segments are shortened.
 */
export function decideRelativePath(name: string): PathDecision {
  if (name === '') return { kind: 'refused', reason: 'the name is empty' };
  if (name.endsWith('/')) return { kind: 'directory' };
  if (name.includes('\\')) {
    return {
      kind: 'refused',
      reason: 'it holds a backslash, a path separator on Windows that could escape the folder',
    };
  }
  if (name.startsWith('/')) return { kind: 'refused', reason: 'it is an absolute path' };
  const segments = name.split('/');
  if (segments.some((s) => s === '..'))
    return { kind: 'refused', reason: 'it climbs out of the folder with ..' };
  if (segments.some((s) => s === '.')) return { kind: 'refused', reason: 'it holds a . segment' };
  if (segments.some((s) => s === ''))
    return { kind: 'refused', reason: 'it holds an empty path segment (//)' };
  const bad = new Set(name.match(ARTIFACT_UNSAFE) ?? []);
  const cleaned = segments.map((s) => shortenSegment(s.replace(ARTIFACT_UNSAFE, '_')));
  const path = cleaned.join('/');
  if (path === name) return { kind: 'ok', path };
  const reasons: string[] = [];
  if (bad.size > 0) reasons.push(`characters an artifact cannot hold (${describeChars(bad)}) became _`);
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) {
    reasons.push(`a name segment over ${MAX_SEGMENT_BYTES} bytes was shortened`);
  }
  return { kind: 'renamed', path, reason: reasons.join('; ') };
}

/** The files collect writes at the root of the results directory, beside the experiments' folders. */
export const ROOT_FILES: readonly string[] = ['manifest.json', 'results.csv'];

/**
 * The folder name an experiment's files go into. A valid id (see src/naming.ts) is used as it is; anything
 * else found in the bucket is made safe and suffixed with a hash of the original, so two odd ids never
 * share a folder and no id can take the place of a root file ({@link ROOT_FILES}) or a hidden entry.
 */
export function experimentDir(id: string): string {
  if (EXPERIMENT_ID.test(id) && !ROOT_FILES.includes(id)) return id;
  const cleaned = id.replace(ARTIFACT_UNSAFE, '_').replace(/[/\\]/g, '_').replace(/^\.+/, '_').slice(0, 100);
  return `${cleaned || '_'}~${shortHash(id)}`;
}

/** Inserts `~N` before a file's extension: `a/b.txt` -> `a/b~2.txt`. */
function withCounter(path: string, n: number): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot > slash + 1) return `${path.slice(0, dot)}~${n}${path.slice(dot)}`;
  return `${path}~${n}`;
}

/**
 * Hands out unique relative file paths within one folder. A path clashes when it equals a file already
 * given out, is a folder of one (`a` after `a/b`), or has a given-out file as a folder (`a/b` after `a`).
 * A clashing renamed path gets a `~N` counter; names that needed no change are placed first (see
 * {@link PathAllocator.allocateAll}), so a real `a_b.txt` keeps its name over a renamed `a:b.txt`.
 */
export class PathAllocator {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.take(r);
  }

  private clashes(path: string): boolean {
    return this.files.has(path) || this.dirs.has(path);
  }

  private parentIsFile(path: string): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (this.files.has(parts.slice(0, i).join('/'))) return true;
    }
    return false;
  }

  private take(path: string): void {
    this.files.add(path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'));
  }

  /** The path, or a `~N` variant of it, now taken; undefined when a parent folder is taken by a file. */
  allocate(path: string): string | undefined {
    if (this.parentIsFile(path)) return undefined;
    if (!this.clashes(path)) {
      this.take(path);
      return path;
    }
    for (let n = 2; n < 10_000; n++) {
      const candidate = withCounter(path, n);
      if (!this.clashes(candidate)) {
        this.take(candidate);
        return candidate;
      }
    }
    return undefined;
  }

  /**
   * Decides and allocates a path for each name, unchanged names first. Returns one result per name, in the
   * input order: the decision, with `path` replaced by the unique one when it had to change.
   */
  allocateAll(names: readonly string[]): PathDecision[] {
    const decisions = names.map((n) => decideRelativePath(n));
    const out: PathDecision[] = [...decisions];
    const order = [...decisions.keys()].sort((a, b) => {
      const ra = decisions[a].kind === 'ok' ? 0 : 1;
      const rb = decisions[b].kind === 'ok' ? 0 : 1;
      return ra - rb || a - b;
    });
    for (const i of order) {
      const d = decisions[i];
      if (d.kind !== 'ok' && d.kind !== 'renamed') continue;
      const got = this.allocate(d.path);
      if (got === undefined) {
        out[i] = { kind: 'refused', reason: `it clashes with another collected file at ${d.path}` };
      } else if (got !== d.path) {
        const why = `another file already has the name ${d.path}`;
        out[i] = { kind: 'renamed', path: got, reason: d.kind === 'renamed' ? `${d.reason}; ${why}` : why };
      }
    }
    return out;
  }
}
