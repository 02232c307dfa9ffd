import { execFile } from 'node:child_process';
import { createWriteStream, type Stats } from 'node:fs';
import { constants, lstat, mkdtemp, open, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { checkEntryPath, readTarFile, type TarEntry, TarGzWriter } from './tar.ts';

/** A `.tar.gz` of a directory, shaped like GitHub's repository tarball: one top-level directory. */
export interface WorktreeSnapshot {
  /** The `.tar.gz` written. */
  readonly file: string;
  /** Hex SHA-256 of the compressed file. */
  readonly sha256: string;
  /** Compressed bytes. */
  readonly size: number;
  /** Bytes of the uncompressed tar stream. */
  readonly unpackedBytes: number;
  /** Regular files and symlinks in the archive (directories not counted). */
  readonly fileCount: number;
  /** HEAD's SHA when `dir` is in a git repository with a commit. */
  readonly commit: string | undefined;
  /** True when uncommitted changes or untracked files are part of what was archived. */
  readonly dirty: boolean;
  readonly mode: 'worktree' | 'head' | 'directory';
  /** Human-readable remarks: submodules left out, LFS pointers, skipped entries. */
  readonly notes: readonly string[];
}

/** The mtime of every member when no commit time is known: 2000-01-01T00:00:00Z. */
export const FALLBACK_MTIME = 946684800;
const LFS_POINTER = Buffer.from('version https://git-lfs.github.com/spec/v1');
/** Files smaller than this are read whole, to recognise LFS pointers (which the LFS spec keeps under 1024). */
const SMALL_FILE = 1024;
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const run = promisify(execFile);

async function git(cwd: string, args: readonly string[]): Promise<string> {
  const result = await run('git', ['-C', cwd, '--no-optional-locks', ...args], {
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  return result.stdout;
}

function zSeparated(output: string): string[] {
  return output.split('\0').filter((p) => p !== '');
}

interface Repository {
  readonly toplevel: string;
  /** `dir` relative to the toplevel, `/`-separated with a trailing slash, or empty. */
  readonly prefix: string;
  readonly commit: string | undefined;
  readonly commitTime: number | undefined;
}

/** The repository `dir` is in, or a sentence saying why it is not used. */
async function findRepository(dir: string): Promise<Repository | string> {
  let lines: string[];
  try {
    lines = (await git(dir, ['rev-parse', '--show-toplevel', '--show-prefix'])).split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'git was not found';
    const said = ((err as { stderr?: string }).stderr ?? '').split('\n')[0];
    return `it is not in a git repository (git: ${said})`;
  }
  const [toplevel = dir, prefix = ''] = lines;
  try {
    const [commit, time] = (await git(dir, ['show', '-s', '--format=%H %ct', 'HEAD^{commit}']))
      .trim()
      .split(' ');
    return { toplevel, prefix, commit, commitTime: Number(time) };
  } catch {
    return { toplevel, prefix, commit: undefined, commitTime: undefined };
  }
}

/**
 * Archives `dir` into `out` (a `.tar.gz` whose single top-level directory is `topDir`, default `snapshot`),
 * so it can travel like GitHub's repository tarball and be unpacked with `tar -xzf --strip-components=1`.
 * `worktree` (default) takes what git calls the working tree under `dir`: tracked files as they are on disk
 * and untracked files that are not ignored. `head` takes HEAD's committed tree under `dir`. Outside a git
 * repository every file and symlink under `dir` is taken (mode `directory`). Members are sorted and share
 * one mtime (HEAD's commit time when known), so the same tree gives the same sha256.
 */
export async function snapshotWorktree(opts: {
  dir: string;
  out: string;
  mode?: 'worktree' | 'head';
  topDir?: string;
  /** Paths relative to `dir` left out with everything below them (a run directory inside the checkout). */
  exclude?: readonly string[];
}): Promise<WorktreeSnapshot> {
  const dir = resolve(opts.dir);
  const topDir = opts.topDir ?? 'snapshot';
  if (topDir.includes('/')) throw new Error(`topDir ${JSON.stringify(topDir)} must be a single path segment`);
  checkEntryPath(topDir);
  if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  const repository = await findRepository(dir);
  const notes: string[] = [];
  const leftOut = [relative(dir, resolve(opts.out)).split(sep).join('/'), ...(opts.exclude ?? [])].map((p) =>
    p.replace(/\/+$/, ''),
  );
  const ownOutput = (path: string): boolean => leftOut.some((x) => path === x || path.startsWith(`${x}/`));
  let collected: Collected;
  let mode: WorktreeSnapshot['mode'];
  let commit: string | undefined;
  let mtime = FALLBACK_MTIME;
  let dirty = false;
  let cleanup: string | undefined;
  try {
    if (typeof repository === 'string') {
      if (opts.mode === 'head') throw new Error(`cannot snapshot HEAD of ${dir}: ${repository}`);
      mode = 'directory';
      notes.push(`${dir} is archived as a plain directory (every file except .git): ${repository}`);
      collected = await collectDirectory(dir, ownOutput, notes);
    } else {
      commit = repository.commit;
      mtime = repository.commitTime ?? FALLBACK_MTIME;
      mode = opts.mode ?? 'worktree';
      if (mode === 'head') {
        if (!commit) throw new Error(`cannot snapshot HEAD of ${dir}: the repository has no commit yet`);
        cleanup = await mkdtemp(join(tmpdir(), 'gce-matrix-head-'));
        collected = await collectHead(repository, join(cleanup, 'head.tar'), notes);
      } else {
        collected = await collectWorktree(dir, ownOutput, notes);
        const status = await git(dir, ['status', '--porcelain', '-z', '--ignore-submodules=all', '--', '.']);
        dirty = status !== '';
      }
    }
    if (collected.lfsPointers.length > 0) {
      notes.push(
        `Git LFS pointer files are included as they are; their LFS objects are not fetched (run \`git lfs pull\` first): ${listed(collected.lfsPointers)}`,
      );
    }
    const written = await writeArchive(opts.out, topDir, mtime, collected.entries);
    const fileCount = collected.entries.filter((e) => e.kind !== 'directory').length;
    return { file: opts.out, ...written, fileCount, commit, dirty, mode, notes };
  } finally {
    if (cleanup) await rm(cleanup, { recursive: true, force: true });
  }
}

const submoduleNote = (path: string) =>
  `submodule ${path} is not included: gce-matrix does not fetch submodules for local runs; vendor it or fetch it in the command`;

function listed(paths: readonly string[]): string {
  const shown = paths.slice(0, 10).join(', ');
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}

interface Collected {
  /** Paths relative to the snapshot root; implied directories not yet added. */
  readonly entries: TarEntry[];
  readonly lfsPointers: string[];
}

async function writeArchive(out: string, topDir: string, mtime: number, members: readonly TarEntry[]) {
  const directories = new Set<string>();
  for (const member of members) {
    const segments = member.path.split('/');
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join('/'));
  }
  const known = new Set(members.map((m) => m.path));
  const all = [
    ...members,
    ...[...directories].filter((d) => !known.has(d)).map((path) => ({ kind: 'directory', path }) as const),
  ].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const writer = new TarGzWriter(createWriteStream(out), { mtime });
  try {
    await writer.add({ kind: 'directory', path: topDir });
    for (const member of all) await writer.add({ ...member, path: `${topDir}/${member.path}` });
    return await writer.finish();
  } catch (err) {
    await writer.finish().catch(() => undefined);
    await rm(out, { force: true });
    throw err;
  }
}

/** A symlink as a link; a small file read now (without following a symlink) to spot LFS pointers. */
async function diskEntry(
  path: string,
  absolute: string,
  info: Stats,
  lfsPointers: string[],
): Promise<TarEntry> {
  if (info.isSymbolicLink()) return { kind: 'symlink', path, target: await readlink(absolute) };
  const mode = info.mode & 0o100 ? 0o755 : 0o644;
  if (info.size >= SMALL_FILE) return { kind: 'file', path, mode, content: { file: absolute } };
  let content: Buffer;
  try {
    const handle = await open(absolute, constants.O_RDONLY | NO_FOLLOW);
    try {
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new Error(`cannot read ${absolute}: ${(err as Error).message}`, { cause: err });
  }
  if (content.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) lfsPointers.push(path);
  return { kind: 'file', path, mode, content };
}

async function collectWorktree(
  dir: string,
  ownOutput: (path: string) => boolean,
  notes: string[],
): Promise<Collected> {
  const [listedPaths, staged, deletedPaths] = await Promise.all([
    git(dir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']),
    git(dir, ['ls-files', '-z', '--stage']),
    git(dir, ['ls-files', '-z', '--deleted']),
  ]);
  const submodules = new Set(
    zSeparated(staged)
      .filter((line) => line.startsWith('160000 '))
      .map((line) => line.slice(line.indexOf('\t') + 1)),
  );
  const deleted = new Set(zSeparated(deletedPaths));
  const entries: TarEntry[] = [];
  const lfsPointers: string[] = [];
  const realDirectories = new Map<string, boolean>();
  for (const path of new Set(zSeparated(listedPaths))) {
    if (ownOutput(path)) continue;
    if (submodules.has(path)) {
      notes.push(submoduleNote(path));
      continue;
    }
    if (path.endsWith('/')) {
      notes.push(`nested git repository ${path.slice(0, -1)} is not included (it is not a submodule)`);
      continue;
    }
    checkEntryPath(path);
    const absolute = join(dir, path);
    // Behind a symlinked directory, git status calls a tracked file deleted: so do we, and read nothing there.
    if (!(await insideRealDirectories(dir, path, realDirectories))) continue;
    const info = await lstat(absolute).catch(() => undefined);
    if (!info) {
      if (deleted.has(path)) continue;
      throw new Error(
        `cannot read ${absolute}: it is gone (removed while archiving, or its name is not UTF-8)`,
      );
    }
    if (info.isSymbolicLink() || info.isFile()) {
      entries.push(await diskEntry(path, absolute, info, lfsPointers));
    } else if (!deleted.has(path)) {
      notes.push(`${path} is skipped: it is neither a file nor a symlink`);
    }
  }
  return { entries, lfsPointers };
}

/** True when every directory on the way to `path` is a real directory, not a symlink out of the tree. */
async function insideRealDirectories(
  dir: string,
  path: string,
  cache: Map<string, boolean>,
): Promise<boolean> {
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const parent = segments.slice(0, i).join('/');
    let real = cache.get(parent);
    if (real === undefined) {
      real = (await lstat(join(dir, parent)).catch(() => undefined))?.isDirectory() ?? false;
      cache.set(parent, real);
    }
    if (!real) return false;
  }
  return true;
}

async function collectDirectory(
  dir: string,
  ownOutput: (path: string) => boolean,
  notes: string[],
): Promise<Collected> {
  const entries: TarEntry[] = [];
  const lfsPointers: string[] = [];
  const walk = async (relativeDir: string): Promise<void> => {
    const absoluteDir = relativeDir ? join(dir, relativeDir) : dir;
    for (const name of await readdir(absoluteDir)) {
      if (name === '.git') continue;
      const path = relativeDir ? `${relativeDir}/${name}` : name;
      if (ownOutput(path)) continue;
      const absolute = join(dir, path);
      let info: Stats;
      try {
        info = await lstat(absolute);
      } catch (err) {
        throw new Error(`cannot read ${absolute}: ${(err as Error).message}`, { cause: err });
      }
      if (info.isDirectory()) {
        entries.push({ kind: 'directory', path });
        await walk(path);
      } else if (info.isSymbolicLink() || info.isFile()) {
        entries.push(await diskEntry(path, absolute, info, lfsPointers));
      } else {
        notes.push(`${path} is skipped: it is neither a file, a directory nor a symlink`);
      }
    }
  };
  await walk('');
  return { entries, lfsPointers };
}

async function collectHead(repository: Repository, tarFile: string, notes: string[]): Promise<Collected> {
  const tree = `HEAD:${repository.prefix}`;
  await git(repository.toplevel, ['archive', '--format=tar', '-o', tarFile, tree]);
  const submodules = zSeparated(await git(repository.toplevel, ['ls-tree', '-r', '-z', tree]))
    .filter((line) => line.startsWith('160000 '))
    .map((line) => line.slice(line.indexOf('\t') + 1));
  notes.push(...submodules.map(submoduleNote));
  const skipped = new Set(submodules);
  const entries: TarEntry[] = [];
  const lfsPointers: string[] = [];
  const head = await open(tarFile, 'r');
  try {
    for await (const member of readTarFile(tarFile)) {
      if (skipped.has(member.path)) continue;
      checkEntryPath(member.path);
      // Directories come from the paths, as in worktree mode: one that held only a submodule goes too.
      if (member.type === 'symlink') {
        entries.push({ kind: 'symlink', path: member.path, target: member.linkTarget });
      } else if (member.type === 'file') {
        const mode = member.mode & 0o100 ? 0o755 : 0o644;
        if (member.size < SMALL_FILE) {
          const content = Buffer.alloc(member.size);
          await head.read(content, 0, member.size, member.offset);
          if (content.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) lfsPointers.push(member.path);
          entries.push({ kind: 'file', path: member.path, mode, content });
        } else {
          entries.push({
            kind: 'file',
            path: member.path,
            mode,
            content: { file: tarFile, offset: member.offset, size: member.size },
          });
        }
      }
    }
  } finally {
    await head.close();
  }
  return { entries, lfsPointers };
}
