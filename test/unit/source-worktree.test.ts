import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { snapshotWorktree } from '../../src/source/worktree.ts';

// Hermetic git: no user or system configuration, a fixed identity and dates.
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';
const COMMIT_TIME = 1_700_000_000;
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_DATE: `@${COMMIT_TIME} +0000`,
  GIT_COMMITTER_DATE: `@${COMMIT_TIME} +0000`,
};

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    [
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      '-c',
      'init.defaultBranch=main',
      '-C',
      dir,
      ...args,
    ],
    { encoding: 'utf8', env: gitEnv },
  ).trim();
}

async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

const longPath = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(28)}`; // 150 characters
const longTarget = `../${'t'.repeat(117)}`; // 120 characters
const LFS_POINTER =
  'version https://git-lfs.github.com/spec/v1\noid sha256:' + '0'.repeat(64) + '\nsize 12345\n';

let scratch: string;
let counter = 0;
async function fresh(name: string): Promise<string> {
  const dir = join(scratch, `${name}-${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * A repository with a committed tree, then an uncommitted change, an untracked file, an ignored file and a
 * deleted tracked file.
 */
async function sampleRepository(): Promise<string> {
  const repo = await fresh('repo');
  git(repo, 'init', '-q');
  await put(repo, {
    '.gitignore': '*.log\n',
    'bench/run.sh': '#!/bin/sh\necho run\n',
    'bench/data/input.txt': 'committed\n',
    'deleted.txt': 'gone soon\n',
    [longPath]: 'long path\n',
  });
  await chmod(join(repo, 'bench/run.sh'), 0o755);
  await symlink('data/input.txt', join(repo, 'bench/link'));
  await symlink(longTarget, join(repo, 'dangling'));
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'first');
  await writeFile(join(repo, 'bench/data/input.txt'), 'changed\n');
  await writeFile(join(repo, 'bench/untracked.txt'), 'new\n');
  await writeFile(join(repo, 'bench/noise.log'), 'ignored\n');
  await rm(join(repo, 'deleted.txt'));
  return repo;
}

/** Unpacks as the VM agent does and lists what came out (directories with a trailing slash). */
async function unpack(file: string): Promise<{ dir: string; paths: string[]; topLevel: string[] }> {
  const dir = await fresh('unpacked');
  const names = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
  execFileSync('tar', ['-xzf', file, '--strip-components=1', '-C', dir]);
  const topLevel = [...new Set(names.map((n) => n.split('/')[0]))];
  const paths = names.map((n) => n.slice(n.indexOf('/') + 1)).filter((n) => n !== '');
  return { dir, paths, topLevel };
}

describe('snapshotWorktree', () => {
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'source-worktree-'));
  });
  after(async () => rm(scratch, { recursive: true, force: true }));

  it('worktree mode: uncommitted changes and untracked files in, ignored and deleted files out', async () => {
    const repo = await sampleRepository();
    const out = join(await fresh('out'), 'snap.tar.gz');
    const snap = await snapshotWorktree({ dir: repo, out });
    assert.equal(snap.mode, 'worktree');
    assert.equal(snap.commit, git(repo, 'rev-parse', 'HEAD'));
    assert.equal(snap.dirty, true);
    assert.deepEqual(snap.notes, []);
    assert.equal(snap.file, out);
    const bytes = await readFile(out);
    assert.equal(snap.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(snap.size, bytes.length);
    assert.ok(snap.unpackedBytes > 7 * 512);

    const { dir, paths, topLevel } = await unpack(out);
    assert.deepEqual(topLevel, ['snapshot']);
    assert.deepEqual(paths, [
      '.gitignore',
      `${'a'.repeat(60)}/`,
      `${'a'.repeat(60)}/${'b'.repeat(60)}/`,
      longPath,
      'bench/',
      'bench/data/',
      'bench/data/input.txt',
      'bench/link',
      'bench/run.sh',
      'bench/untracked.txt',
      'dangling',
    ]);
    assert.equal(snap.fileCount, 7);
    assert.equal(await readFile(join(dir, 'bench/data/input.txt'), 'utf8'), 'changed\n');
    assert.equal(await readFile(join(dir, longPath), 'utf8'), 'long path\n');
    assert.equal((await stat(join(dir, 'bench/run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(dir, 'bench/untracked.txt'))).mode & 0o111, 0);
    assert.equal(await readlink(join(dir, 'bench/link')), 'data/input.txt');
    assert.equal(await readlink(join(dir, 'dangling')), longTarget);
    const listing = execFileSync('tar', ['-tzvf', out], { encoding: 'utf8' });
    assert.match(listing, /^-rwxr-xr-x 0\/0 +19 2023-11-14 22:13 snapshot\/bench\/run\.sh$/m);
  });

  it('a subdirectory gives only its subtree, rooted at it', async () => {
    const repo = await sampleRepository();
    const out = join(await fresh('out'), 'sub.tar.gz');
    const snap = await snapshotWorktree({ dir: join(repo, 'bench'), out, topDir: 'owner-repo-abc' });
    const { paths, topLevel } = await unpack(out);
    assert.deepEqual(topLevel, ['owner-repo-abc']);
    assert.deepEqual(paths, ['data/', 'data/input.txt', 'link', 'run.sh', 'untracked.txt']);
    assert.equal(snap.dirty, true);
  });

  it('head mode takes the committed tree only', async () => {
    const repo = await sampleRepository();
    const out = join(await fresh('out'), 'head.tar.gz');
    const snap = await snapshotWorktree({ dir: repo, out, mode: 'head' });
    assert.equal(snap.mode, 'head');
    assert.equal(snap.dirty, false);
    assert.equal(snap.commit, git(repo, 'rev-parse', 'HEAD'));
    const { dir, paths } = await unpack(out);
    assert.ok(paths.includes('deleted.txt'));
    assert.ok(paths.includes(longPath));
    assert.ok(!paths.includes('bench/untracked.txt'));
    assert.equal(await readFile(join(dir, 'bench/data/input.txt'), 'utf8'), 'committed\n');
    assert.equal((await stat(join(dir, 'bench/run.sh'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(dir, 'dangling')), longTarget);
    assert.equal(snap.fileCount, 7);

    const sub = await snapshotWorktree({ dir: join(repo, 'bench'), out: `${out}.sub`, mode: 'head' });
    assert.deepEqual((await unpack(sub.file)).paths, ['data/', 'data/input.txt', 'link', 'run.sh']);
  });

  it('head mode and worktree mode agree on a clean tree, byte for byte', async () => {
    const repo = await sampleRepository();
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'second');
    await rm(join(repo, 'bench/noise.log'));
    const outDir = await fresh('out');
    const worktree = await snapshotWorktree({ dir: repo, out: join(outDir, 'w.tar.gz') });
    const head = await snapshotWorktree({ dir: repo, out: join(outDir, 'h.tar.gz'), mode: 'head' });
    assert.equal(worktree.dirty, false);
    assert.equal(worktree.sha256, head.sha256);
  });

  it('head mode refuses a directory outside git and a repository without a commit', async () => {
    const plain = await fresh('plain');
    const empty = await fresh('empty');
    git(empty, 'init', '-q');
    const out = join(await fresh('out'), 'x.tar.gz');
    await assert.rejects(snapshotWorktree({ dir: plain, out, mode: 'head' }), /not in a git repository/);
    await assert.rejects(snapshotWorktree({ dir: empty, out, mode: 'head' }), /has no commit/);
    const unborn = await snapshotWorktree({ dir: empty, out });
    assert.equal(unborn.commit, undefined);
    assert.equal(unborn.fileCount, 0);
  });

  it('leaves out submodules and nested repositories with a note', async () => {
    const repo = await sampleRepository();
    await writeFile(join(repo, 'deleted.txt'), 'back\n');
    const blob = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'update-index', '--add', '--cacheinfo', `160000,${blob},vendor/lib`);
    git(repo, 'commit', '-q', '-m', 'gitlink');
    const nested = join(repo, 'bench/nested');
    await mkdir(nested);
    git(nested, 'init', '-q');
    await writeFile(join(nested, 'f'), 'x');
    const outDir = await fresh('out');
    const note =
      'submodule vendor/lib is not included: gce-matrix does not fetch submodules for local runs; vendor it or fetch it in the command';
    for (const mode of ['worktree', 'head'] as const) {
      const snap = await snapshotWorktree({ dir: repo, out: join(outDir, `${mode}.tar.gz`), mode });
      assert.ok(snap.notes.includes(note), `${mode}: ${snap.notes.join('; ')}`);
      const { paths } = await unpack(snap.file);
      assert.ok(!paths.some((p) => p.startsWith('vendor') || p.startsWith('bench/nested')), paths.join(' '));
      if (mode === 'worktree')
        assert.ok(snap.notes.some((n) => n.includes('nested git repository bench/nested')));
    }
  });

  it('includes Git LFS pointers as they are, with a note', async () => {
    const repo = await sampleRepository();
    await put(repo, { 'models/weights.bin': LFS_POINTER });
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'lfs');
    const outDir = await fresh('out');
    for (const mode of ['worktree', 'head'] as const) {
      const snap = await snapshotWorktree({ dir: repo, out: join(outDir, `${mode}.tar.gz`), mode });
      assert.equal(snap.notes.length, 1);
      assert.match(snap.notes[0], /Git LFS pointer.*not fetched.*git lfs pull.*: models\/weights\.bin$/);
      const { dir } = await unpack(snap.file);
      assert.equal(await readFile(join(dir, 'models/weights.bin'), 'utf8'), LFS_POINTER);
    }
  });

  it('outside git: every file and symlink except .git, with a note', async () => {
    const plain = await fresh('plain');
    await put(plain, {
      'run.sh': 'x',
      'd/e/f.txt': 'f',
      'd/.git/config': 'not a repository',
      'empty/.keep': '',
    });
    await symlink('/etc/passwd', join(plain, 'outside'));
    const out = join(plain, 'snap.tar.gz'); // inside the directory: must not archive itself
    const snap = await snapshotWorktree({ dir: plain, out });
    assert.equal(snap.mode, 'directory');
    assert.equal(snap.commit, undefined);
    assert.equal(snap.dirty, false);
    assert.match(snap.notes[0], /archived as a plain directory.*not in a git repository/);
    const { dir, paths } = await unpack(out);
    assert.deepEqual(paths, ['d/', 'd/e/', 'd/e/f.txt', 'empty/', 'empty/.keep', 'outside', 'run.sh']);
    assert.ok((await lstat(join(dir, 'outside'))).isSymbolicLink());
  });

  it('is reproducible: same tree, same sha256; one changed byte, another', async () => {
    const repo = await sampleRepository();
    const outDir = await fresh('out');
    const first = await snapshotWorktree({ dir: repo, out: join(outDir, '1.tar.gz') });
    await utimes(join(repo, 'bench/run.sh'), new Date(), new Date());
    const second = await snapshotWorktree({ dir: repo, out: join(outDir, '2.tar.gz') });
    assert.equal(second.sha256, first.sha256);
    await writeFile(join(repo, 'bench/data/input.txt'), 'changeD\n');
    const third = await snapshotWorktree({ dir: repo, out: join(outDir, '3.tar.gz') });
    assert.notEqual(third.sha256, first.sha256);
    assert.equal(third.size > 0 && third.unpackedBytes === first.unpackedBytes, true);
  });

  it('a tracked file behind a directory replaced by a symlink counts as deleted, as git status says', async () => {
    const repo = await sampleRepository();
    await rm(join(repo, 'bench/noise.log'));
    await rename(join(repo, 'bench'), join(repo, 'elsewhere'));
    await symlink('elsewhere', join(repo, 'bench'));
    const snap = await snapshotWorktree({ dir: repo, out: join(await fresh('out'), 'x.tar.gz') });
    const { paths } = await unpack(snap.file);
    assert.ok(paths.includes('bench'));
    assert.ok(paths.includes('elsewhere/run.sh'));
    assert.ok(!paths.some((p) => p.startsWith('bench/')));
  });

  it('names a file it cannot read instead of skipping it', async () => {
    const outDir = await fresh('out');
    const repo = await sampleRepository();
    const plain = await fresh('plain');
    for (const dir of [repo, plain]) {
      await writeFile(Buffer.from(`${dir}/latin1-\xe9.txt`, 'latin1'), 'x');
      await assert.rejects(snapshotWorktree({ dir, out: join(outDir, 'x.tar.gz') }), /cannot read .*latin1-/);
    }
  });
});
