import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Octokit } from 'octokit';
import {
  issueCommentOnPullRequest,
  loadEvent,
  pullRequestEvent,
  scheduleEvent,
  workflowDispatchEvent,
  workflowRunEvent,
} from './events.ts';
import { GitHubStandIn } from './github.ts';
import { BedServer, Recorder } from './http.ts';

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
    await assert.rejects(
      bot.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: 'nobody-here' }),
      {
        status: 404,
      },
    );
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
