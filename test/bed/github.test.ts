import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Octokit } from 'octokit';
import { BedClock } from './clock.ts';
import {
  issueCommentOnPullRequest,
  loadEvent,
  pullRequestEvent,
  scheduleEvent,
  workflowDispatchEvent,
  workflowRunEvent,
} from './events.ts';
import type { GitFixture } from './git-fixture.ts';
import { createGitFixture } from './git-fixture.ts';
import { GITHUB_ACTIONS_BOT, GitHubStandIn } from './github.ts';
import { BedServer, Recorder } from './http.ts';

const run = promisify(execFile);

describe('GitHub stand-in through the real octokit', () => {
  const recorder = new Recorder();
  const gh = new GitHubStandIn();
  const server = new BedServer('github', recorder, gh.handle);
  let bot: Octokit;
  let user: Octokit;
  const repo = { owner: 'octo-org', repo: 'octo-repo' };

  before(async () => {
    await server.listen();
    gh.addRepo('octo-org/octo-repo');
    gh.addToken('ghp_maintainer', { login: 'mona', type: 'User', id: 583231 });
    gh.setRole('octo-org/octo-repo', 'mona', 'maintain');
    gh.addUser('stranger');
    gh.addPullRequest({
      repo: 'octo-org/octo-repo',
      number: 7,
      fork: 'stranger/octo-repo',
      headRef: 'patch-1',
    });
    // Octokit's retry and throttling plugins would turn the error cases into waits.
    const opts = { baseUrl: server.origin, retry: { enabled: false }, throttle: { enabled: false } };
    bot = new Octokit({ ...opts, auth: gh.githubToken });
    user = new Octokit({ ...opts, auth: 'ghp_maintainer' });
  });
  after(() => server.close());

  it('commit comments: created, listed with pages, updated by their author, refused on a bad sha', async () => {
    const sha = 'ab'.repeat(20);
    const created = await bot.rest.repos.createCommitComment({ ...repo, commit_sha: sha, body: 'first' });
    assert.equal(created.status, 201);
    assert.equal(created.data.commit_id, sha);
    assert.match(created.data.html_url, new RegExp(`/commit/${sha}#commitcomment-${created.data.id}$`));
    await bot.rest.repos.createCommitComment({ ...repo, commit_sha: sha, body: 'second' });
    const listed = await bot.paginate(bot.rest.repos.listCommentsForCommit, {
      ...repo,
      commit_sha: sha,
      per_page: 1,
    });
    assert.deepEqual(
      listed.map((c) => c.body),
      ['first', 'second'],
    );
    const updated = await bot.rest.repos.updateCommitComment({
      ...repo,
      comment_id: created.data.id,
      body: 'edited',
    });
    assert.equal(updated.data.body, 'edited');
    assert.equal(gh.commitComments('octo-org/octo-repo', sha)[0].body, 'edited');
    await assert.rejects(
      bot.rest.repos.createCommitComment({ ...repo, commit_sha: 'not-a-sha', body: 'x' }),
      (err: { status?: number }) => err.status === 422,
    );
  });

  it('paginates more than 100 comments with absolute Link URLs', async () => {
    for (let i = 0; i < 230; i++)
      gh.addComment('octo-org/octo-repo', 7, `comment ${i}`, i % 2 ? 'mona' : 'stranger');
    recorder.clear();
    const all = await bot.paginate(bot.rest.issues.listComments, { ...repo, issue_number: 7, per_page: 100 });
    assert.equal(all.length, 230);
    assert.deepEqual(
      all.slice(0, 3).map((c) => c.body),
      ['comment 0', 'comment 1', 'comment 2'],
    );
    assert.equal(all[229].body, 'comment 229');
    const pages = recorder.of('github', 'GET', '/issues/7/comments');
    assert.equal(pages.length, 3);
    assert.deepEqual(
      pages.map((p) => p.query.page ?? '1'),
      ['1', '2', '3'],
    );

    const first = await bot.rest.issues.listComments({ ...repo, issue_number: 7 });
    assert.equal(first.data.length, 30, 'GitHub pages 30 by default');
    const link = first.headers.link ?? '';
    // GitHub's links name the repository by id; octokit follows them as they are.
    assert.match(
      link,
      new RegExp(`<${server.origin}/repositories/\\d+/issues/7/comments\\?per_page=30&page=2>; rel="next"`),
    );
    assert.match(link, /page=8>; rel="last"/);
    const mid = await bot.rest.issues.listComments({ ...repo, issue_number: 7, page: 3 });
    assert.match(
      mid.headers.link ?? '',
      /page=2>; rel="prev".*page=4>; rel="next".*page=8>; rel="last".*page=1>; rel="first"/,
    );
    const capped = await bot.rest.issues.listComments({ ...repo, issue_number: 7, per_page: 500 });
    assert.equal(capped.data.length, 100, 'per_page is capped at 100');
    assert.equal(first.data[1].author_association, 'COLLABORATOR');
    assert.equal(first.data[0].user?.login, 'stranger');
  });

  it('creates, gets, updates and deletes a comment as github-actions[bot]', async () => {
    const created = await bot.rest.issues.createComment({ ...repo, issue_number: 7, body: 'hello' });
    assert.equal(created.status, 201);
    assert.equal(created.data.user?.login, 'github-actions[bot]');
    assert.equal(created.data.user?.type, 'Bot');
    assert.match(
      created.data.html_url,
      /^https:\/\/github\.com\/octo-org\/octo-repo\/pull\/7#issuecomment-\d+$/,
    );
    assert.match(created.data.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const id = created.data.id;
    const updated = await bot.rest.issues.updateComment({ ...repo, comment_id: id, body: 'hello again' });
    assert.equal(updated.data.body, 'hello again');
    const got = await bot.rest.issues.getComment({ ...repo, comment_id: id });
    assert.equal(got.data.body, 'hello again');
    const deleted = await bot.rest.issues.deleteComment({ ...repo, comment_id: id });
    assert.equal(deleted.status, 204);
    await assert.rejects(
      bot.rest.issues.getComment({ ...repo, comment_id: id }),
      (e: { status: number; response: { data: { message: string } } }) => {
        assert.equal(e.status, 404);
        assert.equal(e.response.data.message, 'Not Found');
        return true;
      },
    );
    assert.equal(gh.comments('octo-org/octo-repo', 7).filter((c) => c.id === id).length, 0);
  });

  it('adds reactions: 201 new, 200 for a repeat, 422 for an unknown content', async () => {
    const c = gh.addComment('octo-org/octo-repo', 7, '/gce-matrix run', 'mona');
    const r1 = await bot.rest.reactions.createForIssueComment({ ...repo, comment_id: c.id, content: 'eyes' });
    assert.equal(r1.status, 201);
    const r2 = await bot.rest.reactions.createForIssueComment({ ...repo, comment_id: c.id, content: 'eyes' });
    assert.equal(r2.status, 200);
    assert.equal(r2.data.id, r1.data.id);
    await user.rest.reactions.createForIssueComment({ ...repo, comment_id: c.id, content: 'rocket' });
    const list = await bot.rest.reactions.listForIssueComment({ ...repo, comment_id: c.id });
    assert.deepEqual(
      list.data.map((r) => `${r.user?.login}:${r.content}`),
      ['github-actions[bot]:eyes', 'mona:rocket'],
    );
    const comment = await bot.rest.issues.getComment({ ...repo, comment_id: c.id });
    assert.equal(comment.data.reactions?.total_count, 2);
    // Deliberately outside the typed set of contents.
    const invalid = 'thumbsup' as unknown as 'eyes';
    await assert.rejects(
      bot.rest.reactions.createForIssueComment({ ...repo, comment_id: c.id, content: invalid }),
      { status: 422 },
    );
  });

  it('answers collaborator permission with role_name, and 404 for unknown users', async () => {
    const mona = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'mona' });
    assert.deepEqual(
      [mona.data.permission, mona.data.role_name, mona.data.user?.login],
      ['write', 'maintain', 'mona'],
    );
    const owner = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'octo-org' });
    assert.equal(owner.data.permission, 'admin');
    const stranger = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'stranger' });
    assert.equal(stranger.data.permission, 'read', 'a public repository grants read to everyone');
    assert.equal(stranger.data.role_name, 'read');
    await assert.rejects(
      bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'nobody-here' }),
      {
        status: 404,
      },
    );
  });

  it('names each role in role_name while permission keeps the legacy base roles', async () => {
    const cases: [string, () => void, string, string, Record<string, boolean>][] = [
      [
        'triager',
        () => gh.setRole('octo-org/octo-repo', 'triager', 'triage'),
        'read',
        'triage',
        { admin: false, maintain: false, push: false, triage: true, pull: true },
      ],
      [
        'keeper',
        () => gh.setRole('octo-org/octo-repo', 'keeper', 'maintain'),
        'write',
        'maintain',
        { admin: false, maintain: true, push: true, triage: true, pull: true },
      ],
      [
        'deployer',
        () => gh.setCustomRole('octo-org/octo-repo', 'deployer', 'release-manager', 'maintain'),
        'write',
        'release-manager',
        { admin: false, maintain: true, push: true, triage: true, pull: true },
      ],
      [
        'octo-org',
        () => undefined,
        'admin',
        'admin',
        { admin: true, maintain: true, push: true, triage: true, pull: true },
      ],
    ];
    for (const [login, give, permission, roleName, flags] of cases) {
      give();
      const { data } = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: login });
      assert.deepEqual(
        [data.permission, data.role_name, data.user?.role_name, data.user?.permissions],
        [permission, roleName, roleName, flags],
        login,
      );
    }
    // A built-in role replaces a custom one.
    gh.setRole('octo-org/octo-repo', 'deployer', 'write');
    const { data } = await bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'deployer' });
    assert.deepEqual([data.permission, data.role_name], ['write', 'write']);
  });

  it('answers none for a user without access to a private repository', async () => {
    gh.addRepo('octo-org/secret-repo', { private: true });
    const { data } = await bot.rest.repos.getCollaboratorPermissionLevel({
      owner: 'octo-org',
      repo: 'secret-repo',
      username: 'stranger',
    });
    assert.deepEqual([data.permission, data.user?.permissions?.pull], ['none', false]);
  });

  it('serves a pull request from a fork with head/base and merge_commit_sha', async () => {
    const { data: pr } = await bot.rest.pulls.get({ ...repo, pull_number: 7 });
    assert.equal(pr.head.ref, 'patch-1');
    assert.equal(pr.head.repo?.full_name, 'stranger/octo-repo');
    assert.equal(pr.head.repo?.fork, true);
    assert.equal(pr.base.repo.full_name, 'octo-org/octo-repo');
    assert.match(pr.head.sha, /^[0-9a-f]{40}$/);
    assert.match(pr.merge_commit_sha ?? '', /^[0-9a-f]{40}$/);
    const { data: r } = await bot.rest.repos.get(repo);
    assert.equal(r.full_name, 'octo-org/octo-repo');
    await assert.rejects(bot.rest.pulls.get({ ...repo, pull_number: 999 }), { status: 404 });
  });

  it('rejects a bad token with 401 Bad credentials', async () => {
    const bad = new Octokit({ baseUrl: server.origin, auth: 'ghp_nope', retry: { enabled: false } });
    await assert.rejects(
      bad.rest.issues.listComments({ ...repo, issue_number: 7 }),
      (e: { status: number; message: string }) => {
        assert.equal(e.status, 401);
        assert.match(e.message, /Bad credentials/);
        return true;
      },
    );
  });

  it('rejects a comment body over 65536 characters with 422', async () => {
    const ok = await bot.rest.issues.createComment({ ...repo, issue_number: 7, body: 'x'.repeat(65536) });
    assert.equal(ok.status, 201);
    await assert.rejects(
      bot.rest.issues.createComment({ ...repo, issue_number: 7, body: 'x'.repeat(65537) }),
      (e: { status: number; response: { data: { errors: { message: string }[] } } }) => {
        assert.equal(e.status, 422);
        assert.equal(e.response.data.errors[0].message, 'body is too long (maximum is 65536 characters)');
        return true;
      },
    );
  });

  it('sends rate-limit headers and a 403 when the budget is spent', async () => {
    const res = await bot.rest.repos.get(repo);
    assert.equal(res.headers['x-ratelimit-limit'], '1000');
    assert.ok(Number(res.headers['x-ratelimit-remaining']) < 1000);
    assert.equal(res.headers['x-ratelimit-resource'], 'core');
    gh.addToken('ghp_spent', { login: 'spent', type: 'User', id: 1 });
    gh.setRateLimitRemaining('ghp_spent', 0);
    const spent = new Octokit({
      baseUrl: server.origin,
      auth: 'ghp_spent',
      retry: { enabled: false },
      throttle: { enabled: false },
    });
    await assert.rejects(
      spent.rest.repos.get(repo),
      (e: { status: number; response: { headers: Record<string, string> } }) => {
        assert.equal(e.status, 403);
        assert.equal(e.response.headers['x-ratelimit-remaining'], '0');
        return true;
      },
    );
  });

  it('refuses writes with a read-only token (fork PR GITHUB_TOKEN)', async () => {
    gh.addToken(
      'ghs_readonly',
      { login: 'github-actions[bot]', type: 'Bot', id: 41898282 },
      { readOnly: true },
    );
    const ro = new Octokit({ baseUrl: server.origin, auth: 'ghs_readonly', retry: { enabled: false } });
    await assert.rejects(ro.rest.issues.createComment({ ...repo, issue_number: 7, body: 'no' }), {
      status: 403,
    });
  });
});

/** A clock the test moves by hand. */
class ManualClock extends BedClock {
  at = Date.parse('2025-06-01T12:00:00Z');
  override now(): number {
    return this.at;
  }
}

/** What octokit rejects with on an HTTP error. */
interface OctokitError {
  status: number;
  response: { data: { message: string; documentation_url: string }; headers: Record<string, string> };
}

describe('GitHub stand-in serving source snapshots from a real git repository', () => {
  const recorder = new Recorder();
  const clock = new ManualClock();
  const gh = new GitHubStandIn({ clock });
  const server = new BedServer('github', recorder, gh.handle);
  const repo = { owner: 'octo-org', repo: 'bench' };
  const script = '#!/bin/sh\necho "factor $(cat data/factor.txt)"\n';
  let fixture: GitFixture;
  let work: string;
  let mainSha: string;
  let featureSha: string;
  const octokit = (auth: string): Octokit =>
    new Octokit({ baseUrl: server.origin, auth, retry: { enabled: false }, throttle: { enabled: false } });
  let bot: Octokit;

  /** Unpacks a tarball with the system tar; returns the directory it made. */
  async function untar(bytes: ArrayBuffer): Promise<string> {
    const dir = await mkdtemp(path.join(work, 'untar-'));
    await writeFile(path.join(dir, 'archive.tar.gz'), Buffer.from(bytes));
    await run('tar', ['-xzf', 'archive.tar.gz', '-C', dir], { cwd: dir });
    return dir;
  }

  before(async () => {
    await server.listen();
    work = await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-gh-test-'));
    fixture = await createGitFixture(
      { 'bench/run.sh': { content: script, mode: 0o755 }, 'data/factor.txt': '3' },
      { message: 'Initial commit\n\nWith a body.\n' },
    );
    mainSha = fixture.initialSha;
    featureSha = await fixture.commit(
      'feature',
      { 'data/factor.txt': '4', 'notes.md': '# notes\n' },
      { message: 'Factor 4', date: '2025-01-03T00:00:00Z' },
    );
    await fixture.tag('v1.0', 'main', 'First release');
    gh.addRepo('octo-org/bench');
    gh.setRepositoryContent('octo-org/bench', fixture.dir);
    gh.addPullRequest({ repo: 'octo-org/bench', number: 3, headRef: 'feature' });
    bot = octokit(gh.githubToken);
  });
  after(async () => {
    await server.close();
    await fixture.remove();
    await rm(work, { recursive: true, force: true });
  });

  it('the fixture makes the same commits from the same content and dates, without any git config', async () => {
    const again = await createGitFixture(
      { 'data/factor.txt': '3', 'bench/run.sh': { content: script, mode: 0o755 } },
      { message: 'Initial commit\n\nWith a body.\n' },
    );
    try {
      assert.equal(again.initialSha, mainSha);
      assert.equal(await again.git('status', '--porcelain'), '');
      assert.equal(await fixture.rev('feature'), featureSha);
    } finally {
      await again.remove();
    }
  });

  it('getCommit resolves a branch, a full or abbreviated SHA, refs/heads/, a tag and refs/pull/N/head', async () => {
    const byBranch = await bot.rest.repos.getCommit({ ...repo, ref: 'feature' });
    assert.equal(byBranch.data.sha, featureSha);
    assert.equal(byBranch.data.commit.message, 'Factor 4');
    assert.deepEqual(byBranch.data.commit.author, {
      name: 'Bed Fixture',
      email: 'fixture@bed.invalid',
      date: '2025-01-03T00:00:00Z',
    });
    assert.equal(byBranch.data.commit.tree.sha, (await fixture.git('rev-parse', 'feature^{tree}')).trim());
    assert.deepEqual(
      byBranch.data.parents.map((p) => p.sha),
      [mainSha],
    );
    assert.equal(byBranch.data.html_url, `https://github.com/octo-org/bench/commit/${featureSha}`);
    assert.deepEqual(
      byBranch.data.files?.map((f) => [f.filename, f.status, f.additions, f.deletions]),
      [
        ['data/factor.txt', 'modified', 1, 1],
        ['notes.md', 'added', 1, 0],
      ],
    );
    assert.deepEqual(byBranch.data.stats, { total: 3, additions: 2, deletions: 1 });

    const root = await bot.rest.repos.getCommit({ ...repo, ref: mainSha });
    assert.equal(root.data.commit.message, 'Initial commit\n\nWith a body.');
    assert.deepEqual(root.data.parents, []);
    for (const ref of [mainSha.slice(0, 7), 'refs/heads/main', 'main', 'v1.0', 'refs/tags/v1.0']) {
      const { data } = await bot.rest.repos.getCommit({ ...repo, ref });
      assert.equal(data.sha, mainSha, ref);
    }
    const pull = await bot.rest.repos.getCommit({ ...repo, ref: 'refs/pull/3/head' });
    assert.equal(pull.data.sha, featureSha);
    const { data: pr } = await bot.rest.pulls.get({ ...repo, pull_number: 3 });
    assert.equal(pr.head.sha, featureSha, 'the head of a pull request is its branch in the content');
    assert.equal(pr.base.sha, mainSha);
  });

  it('answers an unknown ref with 422, an unknown repository with 404, one without content with 409', async () => {
    await assert.rejects(bot.rest.repos.getCommit({ ...repo, ref: 'no-such-branch' }), (e: OctokitError) => {
      assert.equal(e.status, 422);
      assert.equal(e.response.data.message, 'No commit found for SHA: no-such-branch');
      assert.equal(
        e.response.data.documentation_url,
        'https://docs.github.com/rest/commits/commits#get-a-commit',
      );
      return true;
    });
    await assert.rejects(bot.rest.repos.getCommit({ ...repo, ref: '0'.repeat(40) }), { status: 422 });
    await assert.rejects(bot.rest.repos.getCommit({ ...repo, ref: 'refs/pull/99/head' }), { status: 422 });
    await assert.rejects(bot.rest.repos.getCommit({ ...repo, ref: '--output=/tmp/x' }), { status: 422 });
    await assert.rejects(bot.rest.repos.getCommit({ owner: 'octo-org', repo: 'nope', ref: 'main' }), {
      status: 404,
    });
    gh.addRepo('octo-org/empty');
    await assert.rejects(
      bot.rest.repos.getCommit({ owner: 'octo-org', repo: 'empty', ref: 'main' }),
      (e: OctokitError) => e.status === 409 && e.response.data.message === 'Git Repository is empty.',
    );
    await assert.rejects(bot.rest.repos.downloadTarballArchive({ ...repo, ref: 'no-such-branch' }), {
      status: 404,
    });
  });

  it('downloadTarballArchive follows the redirect to an archive tar unpacks, modes and all', async () => {
    const res = await bot.rest.repos.downloadTarballArchive({ ...repo, ref: 'main' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-gzip');
    const top = `octo-org-bench-${mainSha.slice(0, 7)}`;
    assert.equal(res.headers['content-disposition'], `attachment; filename=${top}.tar.gz`);
    const dir = await untar(res.data as ArrayBuffer);
    assert.equal(await readFile(path.join(dir, top, 'bench/run.sh'), 'utf8'), script);
    assert.ok((await stat(path.join(dir, top, 'bench/run.sh'))).mode & 0o100, 'run.sh stays executable');
    assert.equal((await stat(path.join(dir, top, 'data/factor.txt'))).mode & 0o111, 0);
    assert.equal(await readFile(path.join(dir, top, 'data/factor.txt'), 'utf8'), '3');
    // git archive records the commit in the tar's pax header, as GitHub's tarballs do.
    const { stdout } = await run('sh', ['-c', 'gzip -dc archive.tar.gz | git get-tar-commit-id'], {
      cwd: dir,
    });
    assert.equal(stdout.trim(), mainSha);

    const feature = await bot.rest.repos.downloadTarballArchive({ ...repo, ref: 'refs/pull/3/head' });
    const fdir = await untar(feature.data as ArrayBuffer);
    const ftop = `octo-org-bench-${featureSha.slice(0, 7)}`;
    assert.equal(await readFile(path.join(fdir, ftop, 'data/factor.txt'), 'utf8'), '4');
  });

  it('redirects with 302 to a codeload URL that needs no Authorization, works for one archive, and expires', async () => {
    const api = await fetch(`${server.origin}/repos/octo-org/bench/tarball/feature`, {
      headers: { authorization: `Bearer ${gh.githubToken}` },
      redirect: 'manual',
    });
    assert.equal(api.status, 302);
    assert.ok(api.headers.get('x-ratelimit-remaining'));
    const location = api.headers.get('location') ?? '';
    const url = new URL(location);
    assert.equal(url.origin, server.origin);
    assert.equal(url.pathname, `/_codeload/octo-org/bench/legacy.tar.gz/${featureSha}`);
    assert.match(url.searchParams.get('token') ?? '', /^[\w-]{20,}$/);

    const archive = await fetch(location);
    assert.equal(archive.status, 200);
    assert.equal(archive.headers.get('content-type'), 'application/x-gzip');
    const bytes = Buffer.from(await archive.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'gzip');
    const codeloadRequest = recorder.of('github', 'GET', url.pathname).at(-1);
    assert.equal(codeloadRequest?.headers.authorization, undefined);
    assert.equal(codeloadRequest?.status, 200);

    const tampered = new URL(location);
    tampered.searchParams.set('token', 'x'.repeat(32));
    const wrong = await fetch(tampered);
    assert.equal(wrong.status, 404);
    assert.equal(await wrong.text(), '404: Not Found');
    const otherArchive = await fetch(location.replace('legacy.tar.gz', 'legacy.zip'));
    assert.equal(otherArchive.status, 404, 'a codeload token is good for its one archive');

    clock.at += 6 * 60_000;
    const expired = await fetch(location);
    assert.equal(expired.status, 404);
    await expired.body?.cancel();
  });

  it('serves a zipball as a zip of the same tree', async () => {
    const res = await bot.rest.repos.downloadZipballArchive({ ...repo, ref: 'v1.0' });
    assert.equal(res.headers['content-type'], 'application/zip');
    const top = `octo-org-bench-${mainSha.slice(0, 7)}`;
    assert.equal(res.headers['content-disposition'], `attachment; filename=${top}.zip`);
    const bytes = Buffer.from(res.data as ArrayBuffer);
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK');
    const file = path.join(work, 'bench.zip');
    await writeFile(file, bytes);
    const { stdout } = await run('unzip', ['-p', file, `${top}/data/factor.txt`]);
    assert.equal(stdout, '3');
  });

  it('pushToPullRequest moves head.sha and refs/pull/N/head', async () => {
    const before = (await bot.rest.pulls.get({ ...repo, pull_number: 3 })).data;
    const pushed = await fixture.commit('feature', { 'data/factor.txt': '5' }, { message: 'Factor 5' });
    assert.equal(gh.pushToPullRequest('octo-org/bench', 3, pushed), pushed);
    const after = (await bot.rest.pulls.get({ ...repo, pull_number: 3 })).data;
    assert.equal(after.head.sha, pushed);
    assert.notEqual(after.head.sha, before.head.sha);
    assert.notEqual(after.merge_commit_sha, before.merge_commit_sha, 'GitHub makes a new test merge');
    const byPullRef = await bot.rest.repos.getCommit({ ...repo, ref: 'refs/pull/3/head' });
    assert.equal(byPullRef.data.sha, pushed);
    const tarball = await bot.rest.repos.downloadTarballArchive({ ...repo, ref: 'refs/pull/3/head' });
    const dir = await untar(tarball.data as ArrayBuffer);
    const top = `octo-org-bench-${pushed.slice(0, 7)}`;
    assert.equal(await readFile(path.join(dir, top, 'data/factor.txt'), 'utf8'), '5');

    assert.throws(() => gh.pushToPullRequest('octo-org/bench', 3, 'f'.repeat(40)), /no commit/);
    assert.throws(() => gh.pushToPullRequest('octo-org/bench', 99, pushed), /no pull request/);
    // A fork's branch, fetched into the base repository as GitHub does with refs/pull/N/head.
    const forkSha = await fixture.commit('fork-branch', { 'data/factor.txt': '6' }, { from: mainSha });
    gh.addPullRequest({ repo: 'octo-org/bench', number: 4, fork: 'stranger/bench', headRef: 'fork-branch' });
    const fork = (await bot.rest.pulls.get({ ...repo, pull_number: 4 })).data;
    assert.equal(fork.head.sha, forkSha);
    assert.equal(fork.head.repo?.full_name, 'stranger/bench');
    const given = 'ab'.repeat(20);
    gh.addPullRequest({ repo: 'octo-org/bench', number: 5, headRef: 'feature', headSha: given });
    assert.equal((await bot.rest.pulls.get({ ...repo, pull_number: 5 })).data.head.sha, given);
  });

  it("checks a token's permissions as GitHub does, with GitHub's 403", async () => {
    gh.addToken('ghs_no_contents', GITHUB_ACTIONS_BOT, {
      permissions: { 'pull-requests': 'write', issues: 'write' },
    });
    const noContents = octokit('ghs_no_contents');
    for (const call of [
      () => noContents.rest.repos.getCommit({ ...repo, ref: 'main' }),
      () => noContents.rest.repos.downloadTarballArchive({ ...repo, ref: 'main' }),
      () => noContents.rest.repos.downloadZipballArchive({ ...repo, ref: 'main' }),
    ]) {
      await assert.rejects(call(), (e: OctokitError) => {
        assert.equal(e.status, 403);
        assert.equal(e.response.data.message, 'Resource not accessible by integration');
        assert.match(e.response.data.documentation_url, /^https:\/\/docs\.github\.com\/rest\//);
        assert.equal(e.response.headers['x-accepted-github-permissions'], 'contents=read');
        return true;
      });
    }
    assert.equal((await noContents.rest.pulls.get({ ...repo, pull_number: 3 })).status, 200);
    const created = await noContents.rest.issues.createComment({ ...repo, issue_number: 3, body: 'ok' });
    assert.equal(created.status, 201);
    assert.equal((await noContents.rest.repos.get(repo)).status, 200, 'metadata is always readable');

    gh.addToken('ghs_contents_only', GITHUB_ACTIONS_BOT, {
      permissions: { contents: 'read', 'pull-requests': 'none', issues: 'none' },
    });
    const contentsOnly = octokit('ghs_contents_only');
    assert.equal((await contentsOnly.rest.repos.getCommit({ ...repo, ref: 'main' })).data.sha, mainSha);
    await assert.rejects(contentsOnly.rest.pulls.get({ ...repo, pull_number: 3 }), { status: 403 });
    await assert.rejects(
      contentsOnly.rest.issues.createComment({ ...repo, issue_number: 3, body: 'no' }),
      (e: OctokitError) => {
        assert.equal(e.status, 403);
        assert.equal(e.response.data.message, 'Resource not accessible by integration');
        assert.equal(
          e.response.headers['x-accepted-github-permissions'],
          'issues=write; pull_requests=write',
        );
        return true;
      },
    );
    await assert.rejects(
      contentsOnly.rest.repos.createCommitComment({ ...repo, commit_sha: mainSha, body: 'no' }),
      { status: 403 },
      'a commit comment needs contents: write',
    );

    const issue = gh.addIssue('octo-org/bench');
    gh.addToken('ghs_pulls_only', GITHUB_ACTIONS_BOT, { permissions: { 'pull-requests': 'write' } });
    const pullsOnly = octokit('ghs_pulls_only');
    await pullsOnly.rest.issues.createComment({ ...repo, issue_number: 3, body: 'on a pull request' });
    await assert.rejects(pullsOnly.rest.issues.createComment({ ...repo, issue_number: issue, body: 'no' }), {
      status: 403,
    });

    gh.addToken('github_pat_narrow', { login: 'mona', type: 'User', id: 583231 }, { permissions: {} });
    await assert.rejects(
      octokit('github_pat_narrow').rest.repos.getCommit({ ...repo, ref: 'main' }),
      (e: OctokitError) => e.response.data.message === 'Resource not accessible by personal access token',
    );

    gh.setTokenPermissions(gh.githubToken, 'read-all');
    try {
      assert.equal((await bot.rest.repos.getCommit({ ...repo, ref: 'main' })).status, 200);
      await assert.rejects(bot.rest.issues.createComment({ ...repo, issue_number: 3, body: 'no' }), {
        status: 403,
      });
    } finally {
      gh.setTokenPermissions(gh.githubToken, undefined);
    }
    assert.equal((await bot.rest.issues.createComment({ ...repo, issue_number: 3, body: 'x' })).status, 201);
  });

  it("keeps a private repository's commits and archives behind 404 for those without access", async () => {
    const secret = await createGitFixture({ 'secret.txt': 'hush' });
    try {
      gh.addRepo('octo-org/secret', { private: true });
      gh.setRepositoryContent('octo-org/secret', secret.dir);
      gh.addToken('ghp_stranger', { login: 'passer-by', type: 'User', id: 777 });
      gh.addToken('ghp_reader', { login: 'reader', type: 'User', id: 778 });
      gh.setRole('octo-org/secret', 'reader', 'read');
      const stranger = octokit('ghp_stranger');
      const where = { owner: 'octo-org', repo: 'secret', ref: 'main' };
      for (const call of [
        () => stranger.rest.repos.downloadTarballArchive(where),
        () => stranger.rest.repos.getCommit(where),
      ]) {
        await assert.rejects(
          call(),
          (e: OctokitError) => e.status === 404 && e.response.data.message === 'Not Found',
        );
      }
      const res = await octokit('ghp_reader').rest.repos.downloadTarballArchive(where);
      const dir = await untar(res.data as ArrayBuffer);
      const top = `octo-org-secret-${secret.initialSha.slice(0, 7)}`;
      assert.equal(await readFile(path.join(dir, top, 'secret.txt'), 'utf8'), 'hush');
    } finally {
      await secret.remove();
    }
  });
});

describe('webhook payloads as events', () => {
  it('turns a real issue_comment into one on a pull request, with overrides', () => {
    const ev = issueCommentOnPullRequest({
      repo: 'octo-org/bench',
      number: 12,
      body: '/gce-matrix run tool=a',
      author: 'mona',
      authorAssociation: 'MEMBER',
    });
    const p = ev.payload as {
      repository: { full_name: string; name: string; owner: { login: string }; url: string };
      issue: { number: number; pull_request: { url: string }; html_url: string };
      comment: {
        body: string;
        user: { login: string; type: string };
        author_association: string;
        issue_url: string;
      };
      sender: { login: string };
    };
    assert.equal(ev.name, 'issue_comment');
    assert.equal(p.repository.full_name, 'octo-org/bench');
    assert.equal(p.repository.name, 'bench');
    assert.equal(p.repository.owner.login, 'octo-org');
    assert.equal(p.repository.url, 'https://api.github.com/repos/octo-org/bench');
    assert.equal(p.issue.number, 12);
    assert.equal(p.issue.pull_request.url, 'https://api.github.com/repos/octo-org/bench/pulls/12');
    assert.equal(p.issue.html_url, 'https://github.com/octo-org/bench/pull/12');
    assert.equal(p.comment.issue_url, 'https://api.github.com/repos/octo-org/bench/issues/12');
    assert.equal(p.comment.body, '/gce-matrix run tool=a');
    assert.deepEqual([p.comment.user.login, p.comment.user.type, p.sender.login], ['mona', 'User', 'mona']);
    assert.equal(p.comment.author_association, 'MEMBER');
    assert.ok(!JSON.stringify(p).includes('Codertocat/Hello-World'));
  });

  it('loads the other triggers the actions handle', () => {
    const pr = pullRequestEvent('opened', { number: 3 }).payload as {
      action: string;
      number: number;
      pull_request: { number: number; head: { sha: string } };
    };
    assert.deepEqual([pr.action, pr.number, pr.pull_request.number], ['opened', 3, 3]);
    assert.match(pr.pull_request.head.sha, /^[0-9a-f]{40}$/);
    const dispatch = workflowDispatchEvent({ tools: 'a,b' }, { ref: 'refs/heads/dev' });
    assert.deepEqual(dispatch.payload.inputs, { tools: 'a,b' });
    assert.equal(dispatch.payload.ref, 'refs/heads/dev');
    const schedule = scheduleEvent('17 3 * * *', { repo: 'octo-org/bench' });
    assert.equal(schedule.name, 'schedule');
    assert.equal(schedule.payload.schedule, '17 3 * * *');
    assert.equal((schedule.payload.repository as { full_name: string }).full_name, 'octo-org/bench');
    const run = workflowRunEvent('completed').payload as { workflow_run: { id: number } };
    assert.ok(run.workflow_run.id);
    const succeeded = loadEvent('workflow_run', {
      action: 'completed',
      where: (p) => (p.workflow_run as { conclusion: string | null }).conclusion === 'success',
    });
    assert.equal((succeeded.payload.workflow_run as { status: string }).status, 'completed');
    const sync = loadEvent('pull_request', {
      action: 'synchronize',
      where: (p) => typeof p.after === 'string',
    });
    assert.match(sync.payload.after as string, /^[0-9a-f]{40}$/);
    assert.throws(() => loadEvent('issue_comment', { action: 'no-such-action' }), /no issue_comment example/);
  });
});

describe('GitHub stand-in: releases', () => {
  const recorder = new Recorder();
  const gh = new GitHubStandIn();
  const server = new BedServer('github', recorder, gh.handle);
  const repo = { owner: 'octo-org', repo: 'tool' };
  let fixture: GitFixture;
  let bot: Octokit;
  let readOnly: Octokit;

  before(async () => {
    await server.listen();
    fixture = await createGitFixture({ 'README.md': 'one\n' });
    await fixture.tag('v1.0.0', 'HEAD', 'v1.0.0');
    await fixture.commit('main', { 'README.md': 'two\n' });
    gh.setRepositoryContent('octo-org/tool', fixture.dir);
    gh.addToken('ghs_readonly', GITHUB_ACTIONS_BOT, { permissions: { contents: 'read' } });
    const opts = { baseUrl: server.origin, retry: { enabled: false }, throttle: { enabled: false } };
    bot = new Octokit({ ...opts, auth: gh.githubToken });
    readOnly = new Octokit({ ...opts, auth: 'ghs_readonly' });
  });
  after(async () => {
    await server.close();
    await fixture.remove();
  });

  it('creates a release of an existing tag, found by its tag, with the shape GitHub returns', async () => {
    const created = await bot.rest.repos.createRelease({
      ...repo,
      tag_name: 'v1.0.0',
      name: 'v1.0.0',
      body: '### Added\n\n- everything',
    });
    assert.equal(created.status, 201);
    assert.equal(
      created.headers.location,
      `${server.origin}/repos/octo-org/tool/releases/${created.data.id}`,
    );
    assert.equal(created.data.html_url, 'https://github.com/octo-org/tool/releases/tag/v1.0.0');
    assert.deepEqual(
      [
        created.data.tag_name,
        created.data.name,
        created.data.body,
        created.data.draft,
        created.data.prerelease,
      ],
      ['v1.0.0', 'v1.0.0', '### Added\n\n- everything', false, false],
    );
    assert.equal(created.data.author.login, 'github-actions[bot]');
    assert.equal(created.data.target_commitish, 'main');
    assert.ok(created.data.published_at);
    const found = await bot.rest.repos.getReleaseByTag({ ...repo, tag: 'v1.0.0' });
    assert.equal(found.data.id, created.data.id);
    // An existing tag keeps its commit: it is not moved to target_commitish.
    assert.equal(await fixture.rev('v1.0.0'), fixture.initialSha);
    assert.deepEqual(
      gh.releases('octo-org/tool').map((r) => r.tag_name),
      ['v1.0.0'],
    );
  });

  it('refuses a second release of a tag with GitHub 422 already_exists', async () => {
    await assert.rejects(
      bot.rest.repos.createRelease({ ...repo, tag_name: 'v1.0.0', name: 'again' }),
      (err: { status?: number; response?: { data?: { errors?: unknown } } }) => {
        assert.equal(err.status, 422);
        assert.deepEqual(err.response?.data?.errors, [
          { resource: 'Release', code: 'already_exists', field: 'tag_name' },
        ]);
        return true;
      },
    );
    assert.equal(gh.releases('octo-org/tool').length, 1);
  });

  it('creates a missing tag at target_commitish, and refuses one that names no commit', async () => {
    const created = await bot.rest.repos.createRelease({ ...repo, tag_name: 'v1.1.0' });
    assert.equal(created.data.name, null);
    assert.equal(await fixture.rev('v1.1.0'), await fixture.rev('main'));
    await assert.rejects(
      bot.rest.repos.createRelease({ ...repo, tag_name: 'v1.2.0', target_commitish: 'no-such-branch' }),
      (err: { status?: number; response?: { data?: { errors?: unknown } } }) =>
        err.status === 422 &&
        JSON.stringify(err.response?.data?.errors) ===
          JSON.stringify([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]),
    );
    assert.equal(await fixture.git('tag', '--list', 'v1.2.0'), '');
  });

  it('does not find a draft or a missing release by tag, and needs contents: write to create one', async () => {
    await bot.rest.repos.createRelease({ ...repo, tag_name: 'v2.0.0', draft: true });
    assert.equal(await fixture.git('tag', '--list', 'v2.0.0'), '', 'a draft creates no tag');
    for (const tag of ['v2.0.0', 'v9.9.9']) {
      await assert.rejects(bot.rest.repos.getReleaseByTag({ ...repo, tag }), (err: { status?: number }) => {
        return err.status === 404;
      });
    }
    await assert.rejects(
      readOnly.rest.repos.createRelease({ ...repo, tag_name: 'v3.0.0' }),
      (err: { status?: number }) => err.status === 403,
    );
    const found = await readOnly.rest.repos.getReleaseByTag({ ...repo, tag: 'v1.1.0' });
    assert.equal(found.status, 200);
  });
});
