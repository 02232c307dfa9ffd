/**
 * The source snapshot: the repository at the commit being evaluated, as one `.tar.gz` stored once per run and
 * commit beside the run's results, which every VM of the run unpacks as its command's working directory.
 * Pure names, records and checks; the I/O is in src/source/stage.ts.
 *
 * gs://BUCKET/PREFIX/runs/RUN_ID/source/
 *   sha256-HEX.tar.gz     the archive, named by its own SHA-256 (one top-level directory, stripped on unpack)
 *   KEY.json              the manifest: which commit, which archive, its checksum and sizes (written last)
 *   KEY.lock              held (ifGenerationMatch=0) by the one launch that builds and uploads the archive
 *
 * KEY is `commit-SHA` for a commit of the repository, `tree-HEX` for a local working tree.
 */
import { ConfigurationError } from '../errors.ts';
import type { RunLocation } from '../layout.ts';
import { runPrefix } from '../layout.ts';

/** Where an experiment's code comes from: the repository snapshot, or nothing (an image that has it all). */
export type SourceMode = 'repository' | 'none';

/** The schema of the manifest this gce-matrix writes and reads. */
export const SOURCE_SCHEMA = 1;

/** What the manifest says about one snapshot. */
export interface SourceManifest {
  readonly schema: number;
  /** `owner/repo`, or `local` for a working tree. */
  readonly repository: string;
  /** The commit the snapshot is of (for a working tree: HEAD, when there is one). */
  readonly commit: string;
  /** How it was made: GitHub's tarball of the commit, or a local working tree, HEAD or plain directory. */
  readonly origin: 'github' | 'worktree' | 'head' | 'directory';
  /** A working tree with uncommitted changes or untracked files. */
  readonly dirty: boolean;
  /** The archive's object name in the bucket. */
  readonly object: string;
  /** SHA-256 of the archive, hex. */
  readonly sha256: string;
  /** The archive's bytes. */
  readonly size: number;
  /** Bytes of the uncompressed tar stream: about what it takes unpacked. */
  readonly unpackedBytes: number;
  readonly createdAt: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A full commit SHA, as GitHub answers it. */
export const FULL_SHA = /^[0-9a-f]{40}$/;

/** A `source-ref` as given (a branch, tag or SHA), or undefined when empty; `input` names it in the error. */
export function parseSourceRef(text: string, input = 'input source-ref'): string | undefined {
  const ref = text.trim();
  if (!ref) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/.test(ref) || ref.includes('..') || ref.endsWith('/')) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(ref)} is not a branch, tag or commit SHA of the repository`,
    );
  }
  return ref;
}
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** Object names of a run's source snapshots. */
export function sourceObjects(loc: RunLocation) {
  const base = `${runPrefix(loc)}source/`;
  return {
    prefix: base,
    archive: (sha256: string) => `${base}sha256-${sha256}.tar.gz`,
    manifest: (key: string) => `${base}${key}.json`,
    lock: (key: string) => `${base}${key}.lock`,
  };
}

/** The manifest key of a repository commit. */
export function commitKey(commit: string): string {
  if (!COMMIT.test(commit)) throw new Error(`not a full commit SHA: ${JSON.stringify(commit)}`);
  return `commit-${commit}`;
}

/** The manifest key of a local snapshot, by its content. */
export function treeKey(sha256: string): string {
  return `tree-${sha256}`;
}

/** The manifest as stored (one line of JSON). */
export function manifestText(m: SourceManifest): string {
  return `${JSON.stringify(m)}\n`;
}

/** Parses a stored manifest; throws an Error naming what is wrong (a corrupt or newer manifest). */
export function parseManifest(text: string, name: string): SourceManifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${name} is not JSON`);
  }
  const m = v as Partial<SourceManifest> | null;
  if (!m || typeof m !== 'object') throw new Error(`${name} is not a JSON object`);
  if (m.schema !== SOURCE_SCHEMA) {
    throw new Error(`${name} has schema ${String(m.schema)}; this gce-matrix reads ${SOURCE_SCHEMA}`);
  }
  const ok =
    typeof m.repository === 'string' &&
    typeof m.commit === 'string' &&
    typeof m.object === 'string' &&
    typeof m.sha256 === 'string' &&
    SHA256.test(m.sha256) &&
    Number.isSafeInteger(m.size) &&
    Number.isSafeInteger(m.unpackedBytes) &&
    typeof m.createdAt === 'string' &&
    ['github', 'worktree', 'head', 'directory'].includes(m.origin ?? '');
  if (!ok) throw new Error(`${name} lacks a field or has one of the wrong type`);
  return { ...(m as SourceManifest), dirty: m.dirty === true };
}

/** The instance attribute the agent reads: `KEY=VALUE` lines (see docs/agent.md). */
export function sourceAttribute(m: SourceManifest): string {
  return [
    `object=${m.object}`,
    `sha256=${m.sha256}`,
    `size=${m.size}`,
    `commit=${m.commit}`,
    `unpacked-bytes=${m.unpackedBytes}`,
  ].join('\n');
}

/** What a boot disk keeps for the image itself and the system (GiB); Debian images need about 3. */
export const IMAGE_RESERVE_GB = 10;

/**
 * Refuses a snapshot that cannot fit on the boot disk: while the agent unpacks it, the archive and the tree
 * are both there, beside the image.
 */
export function checkFitsBootDisk(m: SourceManifest, bootDiskSizeGb: number): void {
  const gib = 1024 ** 3;
  const need = m.size + m.unpackedBytes;
  const room = (bootDiskSizeGb - IMAGE_RESERVE_GB) * gib;
  if (need > room) {
    const wanted = Math.ceil(need / gib) + IMAGE_RESERVE_GB + 10;
    throw new ConfigurationError(
      `the source snapshot of ${m.commit.slice(0, 12)} needs ${(need / gib).toFixed(1)} GiB on the VM (archive and unpacked tree), ` +
        `more than boot-disk-size-gb ${bootDiskSizeGb} leaves beside the image (${IMAGE_RESERVE_GB} GiB); ` +
        `set boot-disk-size-gb to ${wanted} or more, or source: none with the code in the image`,
    );
  }
}
