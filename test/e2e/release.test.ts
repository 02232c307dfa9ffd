/**
 * scripts/release.ts against a clone of this repository: the clone pushes to a bare copy standing in for
 * GitHub's git remote, and publishes through the GitHub stand-in, whose repository content is that bare copy.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GitHubStandIn } from '../bed/github.ts';
import { BedServer, Recorder } from '../bed/http.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'scripts/release.ts');
const REPOSITORY = 'octo-org/gce-matrix';

// The clone's own dist check would bundle the clone's sources with this checkout's node_modules, which need
// not match the committed lockfile: the clone gets a check that only says where it ran, or that dist/ is stale
// when told so. Whether dist/ is fresh is `npm run check-dist`'s test; this one is about the release.
const STUB_BUILD = `if (!process.argv.includes('--check')) throw new Error('the release must only check dist/');
if (process.env.STUB_DIST_STALE) {
  console.error('dist/ is stale (launch/index.js): run \`npm run build\` and commit dist/.');
  process.exit(1);
}
console.log('dist/ is up to date (checked in ' + process.cwd() + ').');
`;

const ENTRY = '- An entry of the release test, wrapped over\n  two lines.';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('scripts/release.ts on a clone of the repository', () => {
  const recorder = new Recorder();
  const gh = new GitHubStandIn();
  const server = new BedServer('github', recorder, gh.handle);
  let tmp: string;
  let origin: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let version: string;
  let major: string;
  let start: string;
  /** The first dry run, with the real dist check. */
  let realCheck: Run;

  function git(dir: string, ...args: string[]): Promise<string> {
    return exec('git', args, dir).then((r) => {
      assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    });
  }

  function exec(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): Promise<Run> {
    const child = spawn(cmd, args, { cwd, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) =>
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
      );
    });
  }

  function release(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Run> {
    return exec(process.execPath, [script, ...args], work, extra);
  }

  async function tagCommit(dir: string, tag: string): Promise<string | undefined> {
    const r = await exec('git', ['rev-parse', '--quiet', '--verify', `refs/tags/${tag}^{commit}`], dir);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  /** The next minor version above package.json's, so the test holds before and after real releases. */
  async function nextVersion(): Promise<string> {
    const pkg = JSON.parse(await readFile(path.join(work, 'package.json'), 'utf8')) as { version: string };
    const [a, b] = pkg.version.split('.').map(Number);
    return `${a}.${b + 1}.0`;
  }

  before(async () => {
    await server.listen();
    // Real path: git names the work tree by it, and so does the dist check's working directory.
    tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-release-')));
    origin = path.join(tmp, 'origin.git');
    work = path.join(tmp, 'work');
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT')) clean[k] = v;
    env = {
      ...clean,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: os.devNull,
      GIT_AUTHOR_NAME: 'Release Test',
      GIT_AUTHOR_EMAIL: 'release@bed.invalid',
      GIT_COMMITTER_NAME: 'Release Test',
      GIT_COMMITTER_EMAIL: 'release@bed.invalid',
      GITHUB_TOKEN: gh.githubToken,
      GITHUB_API_URL: server.origin,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: REPOSITORY,
    };
    // The checkout may belong to another user (CI runs the tests as root), be shallow or have a detached HEAD
    // (a pull request's merge commit): the remote gets its commit as main, whatever the checkout is on.
    await git(tmp, '-c', 'safe.directory=*', 'clone', '--quiet', '--bare', root, origin);
    await git(
      origin,
      'update-ref',
      'refs/heads/main',
      await git(root, '-c', 'safe.directory=*', 'rev-parse', 'HEAD'),
    );
    await git(origin, 'symbolic-ref', 'HEAD', 'refs/heads/main');
    await git(tmp, 'clone', '--quiet', origin, work);

    // A change to release whatever the state of the real CHANGELOG, and the stub check.
    const changelog = await readFile(path.join(work, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, /^## Unreleased$/m);
    await writeFile(
      path.join(work, 'CHANGELOG.md'),
      changelog.replace(/^## Unreleased\n/m, `## Unreleased\n\n### Fixed\n\n${ENTRY}\n`),
    );
    await git(work, 'commit', '--quiet', '-am', 'A change to release');
    // Once with the repository's real dist check, on this checkout's modules (ignored, as a clone's are).
    await symlink(path.join(root, 'node_modules'), path.join(work, 'node_modules'));
    await appendFile(path.join(work, '.git/info/exclude'), 'node_modules\n');
    realCheck = await release([await nextVersion(), '--dry-run']);
    await writeFile(path.join(work, 'scripts/build.ts'), STUB_BUILD);
    await git(work, 'commit', '--quiet', '-am', 'The stub dist check');
    version = await nextVersion();
    major = `v${version.split('.')[0]}`;
    // An earlier release's major tag, to be moved.
    await git(work, 'tag', '--force', major, 'HEAD~1');
    await git(work, 'push', '--quiet', '--force', 'origin', 'HEAD', `refs/tags/${major}`);
    start = await git(work, 'rev-parse', 'HEAD');

    gh.addRepo(REPOSITORY);
    gh.setRepositoryContent(REPOSITORY, origin);
    // As the release workflow's job grants it.
    gh.setTokenPermissions(gh.githubToken, { contents: 'write' });
  });
  after(async () => {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  });

  async function assertUnchanged(): Promise<void> {
    assert.equal(await git(work, 'status', '--porcelain'), '');
    assert.equal(await git(work, 'rev-parse', 'HEAD'), start);
    assert.equal(await git(origin, 'rev-parse', 'HEAD'), start);
    for (const dir of [work, origin]) {
      assert.equal(await tagCommit(dir, `v${version}`), undefined);
      assert.equal(await tagCommit(dir, major), await git(work, 'rev-parse', 'HEAD~1'));
    }
  }

  it('refuses a working tree with changes', async () => {
    await writeFile(path.join(work, 'stray.txt'), 'x');
    const r = await release([version, '--dry-run']);
    await rm(path.join(work, 'stray.txt'));
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^release: the working tree is not clean \(\?\? stray\.txt\): commit or remove/);
    await assertUnchanged();
  });

  it('passes the real dist check of the committed dist/ in a dry run', () => {
    assert.equal(realCheck.code, 0, realCheck.stderr);
    assert.match(realCheck.stdout, /^dist\/ is up to date \(\d+ files\)\.$/m);
  });

  it("runs the repository's own dist check in its root, and refuses a stale dist/", async () => {
    const r = await release([version, '--dry-run'], { STUB_DIST_STALE: '1' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dist\/ is stale \(launch\/index\.js\)/);
    assert.match(r.stderr, /release: scripts\/build\.ts --check failed \(see above\)/);
    const ok = await release([version, '--dry-run']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.includes(`dist/ is up to date (checked in ${work}).`), ok.stdout);
  });

  let dryNotes: string;

  it('a dry run prints the tag, the commit, the push, the API call and the notes, and changes nothing', async () => {
    const requests = recorder.requests.length;
    const r = await release([version, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const tag = `v${version}`;
    assert.match(r.stdout, new RegExp(`^Release ${tag} \\(dry run: nothing is changed\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^  commit:  "Release ${tag}" on main$`, 'm'));
    assert.match(r.stdout, new RegExp(`^  tag:     ${tag} \\(annotated\\) at that commit$`, 'm'));
    assert.match(
      r.stdout,
      new RegExp(`^  tag:     ${major} would move to that commit \\(now at [0-9a-f]{40}\\)$`, 'm'),
    );
    assert.ok(
      r.stdout.includes(
        `  push:    git push --atomic origin HEAD:refs/heads/main refs/tags/${tag}:refs/tags/${tag} +refs/tags/${major}:refs/tags/${major}\n`,
      ),
      r.stdout,
    );
    assert.ok(r.stdout.includes(`  api:     POST ${server.origin}/repos/${REPOSITORY}/releases\n`), r.stdout);
    dryNotes = r.stdout
      .slice(r.stdout.indexOf(`Release notes of ${tag}:\n`))
      .split('\n')
      .slice(1)
      .join('\n')
      .trim();
    // The notes are the Unreleased section, each wrapped entry on one line.
    const changelog = await readFile(path.join(work, 'CHANGELOG.md'), 'utf8');
    const unreleased = changelog.split(/^## Unreleased\n/m)[1].split(/^## /m)[0];
    const words = (s: string): string => s.replace(/\s+/g, ' ').trim();
    assert.equal(words(dryNotes), words(unreleased));
    assert.match(dryNotes, /^### Fixed\n\n- An entry of the release test, wrapped over two lines\.\n/);
    assert.doesNotMatch(dryNotes, /^ {2}\S/m, 'a continuation line was left wrapped');
    const body = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('           {'))!) as {
      tag_name: string;
      body: string;
    };
    assert.equal(body.tag_name, tag);
    assert.equal(body.body, dryNotes);

    assert.equal(recorder.requests.length, requests, 'a dry run called GitHub');
    assert.deepEqual(gh.releases(REPOSITORY), []);
    await assertUnchanged();
  });

  it('refuses a version GitHub has a release of already, before committing anything', async () => {
    const other = `${version.split('.')[0]}.${Number(version.split('.')[1]) + 5}.0`;
    const res = await fetch(`${server.origin}/repos/${REPOSITORY}/releases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gh.githubToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tag_name: `v${other}`, draft: false }),
    });
    assert.equal(res.status, 201);
    await git(origin, 'tag', '--delete', `v${other}`);
    const r = await release([other]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`release: GitHub has a release v${other} already \\(https://github\\.com/`),
    );
    assert.equal(gh.releases(REPOSITORY).length, 1);
    await assertUnchanged();
  });

  it('undoes the local commit and tags when the push is refused', async () => {
    const other = path.join(tmp, 'other');
    await git(tmp, 'clone', '--quiet', origin, other);
    await writeFile(path.join(other, 'NEWS'), 'pushed meanwhile\n');
    await git(other, 'add', 'NEWS');
    await git(other, 'commit', '--quiet', '-m', 'Pushed meanwhile');
    await git(other, 'push', '--quiet', 'origin', 'HEAD');
    const releases = gh.releases(REPOSITORY).length;

    const r = await release([version]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /^release: git push failed: [\s\S]*Nothing was pushed; the local commit and tags are undone\.$/m,
    );
    assert.equal(await git(work, 'status', '--porcelain'), '');
    assert.equal(await git(work, 'rev-parse', 'HEAD'), start);
    assert.equal(await tagCommit(work, `v${version}`), undefined);
    assert.equal(await tagCommit(work, major), await git(work, 'rev-parse', 'HEAD~1'));
    assert.equal(await tagCommit(origin, `v${version}`), undefined);
    assert.equal(gh.releases(REPOSITORY).length, releases);

    // Back to where the other tests expect the remote.
    await git(work, 'push', '--quiet', '--force', 'origin', `${start}:refs/heads/main`);
    await assertUnchanged();
  });

  it('a release commits, tags, moves the major tag, pushes, and publishes the notes on GitHub', async () => {
    const tag = `v${version}`;
    const r = await release([version]);
    assert.equal(r.code, 0, r.stderr);
    const head = await git(work, 'rev-parse', 'HEAD');
    assert.equal(await git(work, 'rev-parse', 'HEAD~1'), start);
    assert.equal(await git(work, 'log', '-1', '--format=%s'), `Release ${tag}`);
    assert.deepEqual((await git(work, 'diff', '--name-only', 'HEAD~1')).split('\n'), [
      'CHANGELOG.md',
      'package-lock.json',
      'package.json',
    ]);
    assert.equal(await git(work, 'status', '--porcelain'), '');

    const pkg = JSON.parse(await readFile(path.join(work, 'package.json'), 'utf8')) as { version: string };
    const lock = JSON.parse(await readFile(path.join(work, 'package-lock.json'), 'utf8')) as {
      version: string;
      packages: Record<string, { version?: string }>;
    };
    assert.deepEqual([pkg.version, lock.version, lock.packages[''].version], [version, version, version]);
    const changelog = await readFile(path.join(work, 'CHANGELOG.md'), 'utf8');
    const today = new Date().toISOString().slice(0, 10);
    assert.match(
      changelog,
      new RegExp(
        `^## Unreleased\\n\\n## \\[${version.replace(/\./g, '\\.')}\\] - ${today}\\n\\n### Fixed\\n`,
        'm',
      ),
    );
    assert.ok(changelog.includes(`\n[${version}]: https://github.com/${REPOSITORY}/`), changelog.slice(-300));

    // The release tag is annotated and carries the notes; the major tag moved; both are on the remote.
    assert.equal(await git(work, 'cat-file', '-t', `refs/tags/${tag}`), 'tag');
    assert.match(
      await git(work, 'tag', '-l', '--format=%(contents)', tag),
      /### Fixed\n\n- An entry of the release test/,
    );
    for (const dir of [work, origin]) {
      assert.equal(await tagCommit(dir, tag), head);
      assert.equal(await tagCommit(dir, major), head);
    }
    assert.equal(await git(origin, 'rev-parse', 'refs/heads/main'), head);

    const published = gh.releases(REPOSITORY).find((x) => x.tag_name === tag);
    assert.ok(published, 'no release on GitHub');
    assert.deepEqual(
      [published.name, published.body, published.draft, published.prerelease],
      [tag, dryNotes, false, false],
    );
    assert.ok(
      r.stdout.includes(`Released ${tag}: https://github.com/${REPOSITORY}/releases/tag/${tag}\n`),
      r.stdout,
    );
    assert.ok(r.stdout.includes(`@${head} # ${tag}\n`), r.stdout);
  });

  it('refuses to release the same version again, and changes nothing', async () => {
    const head = await git(work, 'rev-parse', 'HEAD');
    const releases = gh.releases(REPOSITORY).length;
    const r = await release([version]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^release: VERSION ${version.replace(/\./g, '\\.')} is released already \\(tag v`, 'm'),
    );
    assert.equal(await git(work, 'rev-parse', 'HEAD'), head);
    assert.equal(await git(origin, 'rev-parse', 'refs/heads/main'), head);
    assert.equal(gh.releases(REPOSITORY).length, releases);
  });
});
