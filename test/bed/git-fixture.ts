/**
 * Real git repositories for tests: files in, commits with a fixed identity and date out, so that the same
 * content at the same time gives the same SHAs on every machine. Works without any git identity or config on
 * the machine (the machine's own config, hooks and signing settings are ignored).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A file of a fixture commit: text or bytes (mode 0o644), content with a mode (0o755: executable), or a symlink. */
export type GitFixtureFile =
  | string
  | Uint8Array
  | { readonly content: string | Uint8Array; readonly mode?: number }
  | { readonly symlink: string };

/** Files of a commit by their path in the repository (`/`-separated); `null` deletes a file the parent has. */
export type GitFixtureFiles = Readonly<Record<string, GitFixtureFile | null>>;

/** Options of one fixture commit. */
export interface GitCommitOptions {
  /** Default: `Fixture commit`. */
  message?: string;
  /** Author and committer date; default `FIXTURE_DATE`. */
  date?: string | Date;
  /** Where a branch that does not exist yet starts; default the default branch's tip. */
  from?: string;
}

/** Options of a new fixture repository. */
export interface GitFixtureOptions extends Omit<GitCommitOptions, 'from'> {
  /** The default branch, which HEAD names; default `main`. */
  branch?: string;
  /** An empty directory to use instead of a new temporary one. */
  dir?: string;
}

/** The author and committer of every fixture commit. */
export const FIXTURE_IDENTITY = { name: 'Bed Fixture', email: 'fixture@bed.invalid' } as const;
/** The date of fixture commits that do not name one. */
export const FIXTURE_DATE = '2025-01-02T03:04:05Z';

const ZERO = '0'.repeat(40);

/** A git repository (with a work tree) in a directory of its own; see `createGitFixture`. */
export class GitFixture {
  /** The repository's directory; `dir/.git` is its git directory. */
  readonly dir: string;
  /** The branch HEAD names. */
  readonly defaultBranch: string;
  /** The first commit. */
  readonly initialSha: string;

  private constructor(dir: string, defaultBranch: string, initialSha: string) {
    this.dir = dir;
    this.defaultBranch = defaultBranch;
    this.initialSha = initialSha;
  }

  /** Creates the repository and commits `files` on the default branch. */
  static async create(files: GitFixtureFiles, opts: GitFixtureOptions = {}): Promise<GitFixture> {
    const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-git-')));
    const branch = opts.branch ?? 'main';
    await git(dir, ['init', '--quiet', `--initial-branch=${branch}`, '.']);
    const sha = await commitFiles(dir, branch, undefined, undefined, files, opts);
    await git(dir, ['reset', '--quiet', '--hard']);
    return new GitFixture(dir, branch, sha);
  }

  /**
   * Commits `files` on top of `branch` (created from `opts.from` or the default branch when missing) and
   * returns the new commit's SHA. Files not named keep their content from the parent.
   */
  async commit(branch: string, files: GitFixtureFiles, opts: GitCommitOptions = {}): Promise<string> {
    const tip = await this.tryRev(`refs/heads/${branch}`);
    const parent = tip ?? (await this.rev(opts.from ?? this.defaultBranch));
    const sha = await commitFiles(this.dir, branch, tip, parent, files, opts);
    // The work tree follows the checked-out branch, so that it never looks modified to git.
    if (branch === (await this.currentBranch())) await git(this.dir, ['reset', '--quiet', '--hard']);
    return sha;
  }

  /** Tags a commit (annotated when `message` is given); returns the tagged commit's SHA. */
  async tag(name: string, ref = 'HEAD', message?: string): Promise<string> {
    const sha = await this.rev(ref);
    const args = message === undefined ? ['tag', name, sha] : ['tag', '-a', '-m', message, name, sha];
    await git(this.dir, args, undefined, FIXTURE_DATE);
    return sha;
  }

  /** The full SHA of the commit a ref, branch, tag or abbreviated SHA names; throws when there is none. */
  async rev(ref: string): Promise<string> {
    const sha = await this.tryRev(ref);
    if (!sha) throw new Error(`no commit ${ref} in ${this.dir}`);
    return sha;
  }

  /** Runs git in the repository with the fixture's identity; returns its standard output. */
  git(...args: string[]): Promise<string> {
    return git(this.dir, args);
  }

  /** Deletes the repository's directory. */
  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private async tryRev(ref: string): Promise<string | undefined> {
    try {
      return (
        await git(this.dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])
      ).trim();
    } catch {
      return undefined;
    }
  }

  private async currentBranch(): Promise<string> {
    return (await git(this.dir, ['symbolic-ref', '--short', 'HEAD'])).trim();
  }
}

/**
 * Creates a git repository in a new temporary directory with `files` committed on `main` by `FIXTURE_IDENTITY`
 * at `FIXTURE_DATE` (or as `opts` say).
 */
export function createGitFixture(files: GitFixtureFiles, opts: GitFixtureOptions = {}): Promise<GitFixture> {
  return GitFixture.create(files, opts);
}

async function commitFiles(
  dir: string,
  branch: string,
  tip: string | undefined,
  parent: string | undefined,
  files: GitFixtureFiles,
  opts: GitCommitOptions,
): Promise<string> {
  const date = opts.date === undefined ? FIXTURE_DATE : new Date(opts.date).toISOString();
  // A private index: the repository's own index and work tree stay as they are.
  const indexDir = await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-git-index-'));
  const index = { GIT_INDEX_FILE: path.join(indexDir, 'index') };
  try {
    if (parent) await git(dir, ['read-tree', parent], undefined, date, index);
    const entries: string[] = [];
    for (const [file, spec] of Object.entries(files)) {
      if (spec === null) {
        entries.push(`0 ${ZERO}\t${file}`);
        continue;
      }
      const { bytes, mode } = blobOf(spec);
      const blob = (await git(dir, ['hash-object', '-w', '--stdin'], bytes)).trim();
      entries.push(`${mode} ${blob}\t${file}`);
    }
    if (entries.length) {
      await git(dir, ['update-index', '-z', '--index-info'], entries.join('\0') + '\0', date, index);
    }
    const tree = (await git(dir, ['write-tree'], undefined, date, index)).trim();
    const args = ['commit-tree', tree, '-m', opts.message ?? 'Fixture commit'];
    if (parent) args.push('-p', parent);
    const sha = (await git(dir, args, undefined, date)).trim();
    await git(dir, ['update-ref', `refs/heads/${branch}`, sha, tip ?? ZERO]);
    return sha;
  } finally {
    await rm(indexDir, { recursive: true, force: true });
  }
}

function blobOf(spec: GitFixtureFile): { bytes: Uint8Array | string; mode: string } {
  if (typeof spec === 'string' || spec instanceof Uint8Array) return { bytes: spec, mode: '100644' };
  if ('symlink' in spec) return { bytes: spec.symlink, mode: '120000' };
  return { bytes: spec.content, mode: (spec.mode ?? 0o644) & 0o111 ? '100755' : '100644' };
}

/** The environment of a git child: no inherited repository, no global or system config, a fixed identity. */
function fixtureEnv(date: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: os.devNull,
    GIT_AUTHOR_NAME: FIXTURE_IDENTITY.name,
    GIT_AUTHOR_EMAIL: FIXTURE_IDENTITY.email,
    GIT_COMMITTER_NAME: FIXTURE_IDENTITY.name,
    GIT_COMMITTER_EMAIL: FIXTURE_IDENTITY.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    LC_ALL: 'C',
    ...extra,
  };
}

function git(
  dir: string,
  args: string[],
  input?: string | Uint8Array,
  date = FIXTURE_DATE,
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const identity = ['-c', `user.name=${FIXTURE_IDENTITY.name}`, '-c', `user.email=${FIXTURE_IDENTITY.email}`];
  const child = spawn('git', ['-C', dir, ...identity, '-c', 'commit.gpgSign=false', ...args], {
    env: fixtureEnv(date, extraEnv),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // A git that exits without reading its input is answered by its exit code, not by EPIPE.
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new Error(`git ${args.join(' ')} in ${dir}: exit ${code}: ${Buffer.concat(err).toString().trim()}`),
        );
    });
  });
}
