import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getOctokit } from '@actions/github';
import { ConfigurationError } from '../../src/errors.ts';
import type { CollaboratorAnswer, PermissionLevel } from '../../src/plan/gate.ts';
import { decidePermission, gateComment } from '../../src/plan/gate.ts';
import { parsePlanInputs } from '../../src/plan/inputs.ts';
import { GitHubStandIn } from '../bed/github.ts';
import { BedServer, Recorder } from '../bed/http.ts';

describe('the comment gate decides on the role name', () => {
  // [permission, role_name, required, allowed, held]
  const cases: [string, string | undefined, PermissionLevel, boolean, string | RegExp][] = [
    ['admin', 'admin', 'admin', true, 'admin'],
    ['write', 'maintain', 'maintain', true, 'maintain'],
    ['write', 'maintain', 'admin', false, 'maintain'],
    // The legacy field calls both write; only the role tells them apart.
    ['write', 'write', 'maintain', false, 'write'],
    ['write', 'write', 'write', true, 'write'],
    ['read', 'triage', 'triage', true, 'triage'],
    ['read', 'triage', 'write', false, 'triage'],
    ['read', 'read', 'triage', false, 'read'],
    ['read', 'read', 'read', true, 'read'],
    ['none', 'none', 'read', false, 'none'],
    // A custom role is as strong as its legacy base permission, and the words say which role it was.
    ['write', 'release-manager', 'write', true, /^the custom role "release-manager", counted as .* write$/],
    ['write', 'release-manager', 'maintain', false, /custom role "release-manager".*base permission write/],
    ['read', 'labeller', 'triage', false, /custom role "labeller".*base permission read/],
    ['none', 'odd-role', 'read', false, /custom role "odd-role".*none/],
    // Role names are GitHub's own, in lower case; anything else is a custom role, not a built-in one.
    ['read', 'Admin', 'admin', false, /custom role "Admin"/],
    // Where the API predates role_name, the legacy permission is all there is.
    ['write', undefined, 'write', true, 'write'],
    ['write', '', 'maintain', false, 'write'],
    ['bogus', undefined, 'read', false, 'bogus'],
  ];
  for (const [permission, roleName, required, allowed, held] of cases) {
    it(`${permission}/${String(roleName)} against ${required}: ${allowed ? 'allowed' : 'refused'}`, () => {
      const answer: CollaboratorAnswer = { permission, roleName };
      const decision = decidePermission(answer, required);
      assert.equal(decision.allowed, allowed);
      if (typeof held === 'string') assert.equal(decision.held, held);
      else assert.match(decision.held, held);
    });
  }

  it('accepts every role as required-permission, and refuses anything else naming the input', () => {
    const read = (level: string) => (name: string) =>
      ({ spec: 'x: 1', 'required-permission': level })[name] ?? '';
    const ctx = { runId: '1', workspace: '/ws' };
    for (const level of ['read', 'triage', 'write', 'maintain', 'admin']) {
      assert.equal(parsePlanInputs(read(level), ctx).requiredPermission, level);
    }
    assert.equal(parsePlanInputs(read(''), ctx).requiredPermission, 'write');
    assert.throws(
      () => parsePlanInputs(read('owner'), ctx),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        /input required-permission must be one of read, triage, write, maintain, admin/.test(err.message),
    );
  });
});

describe('the comment gate against the GitHub stand-in', () => {
  const REPO = 'octo-org/octo-repo';
  const gh = new GitHubStandIn({ repository: REPO });
  const server = new BedServer('github', new Recorder(), gh.handle);
  let issue = 0;

  before(async () => {
    await server.listen();
    gh.addRepo(REPO);
    issue = gh.addPullRequest({ repo: REPO });
    gh.setRole(REPO, 'triager', 'triage');
    gh.setRole(REPO, 'keeper', 'maintain');
    gh.setRole(REPO, 'pusher', 'write');
    gh.setCustomRole(REPO, 'deployer', 'release-manager', 'maintain');
  });
  after(() => server.close());

  /** Gates a new comment by `author`; `login` is the one the payload names, as a deleted account may leave. */
  async function gate(author: string, required: PermissionLevel, login = author) {
    const comment = gh.addComment(REPO, issue, '/gce-matrix run', author);
    const payload = {
      comment: { id: comment.id, user: { login } },
      issue: { number: issue },
      repository: { name: 'octo-repo', owner: { login: 'octo-org' } },
    };
    const octokit = getOctokit(gh.githubToken, { baseUrl: server.origin });
    const decision = await gateComment(octokit, payload, required);
    const reaction = gh.comments(REPO, issue).find((c) => c.id === comment.id)?.reactions[0]?.content;
    const reply = gh.comments(REPO, issue).filter((c) => c.user.type === 'Bot' && c.id > comment.id)[0]?.body;
    return { decision, reaction, reply };
  }

  it('lets a triager through where triage is required, which the legacy read could not', async () => {
    const r = await gate('triager', 'triage');
    assert.deepEqual(
      [r.decision.allowed, r.decision.held, r.reaction, r.reply],
      [true, 'triage', 'rocket', undefined],
    );
  });

  it('tells a maintainer from a writer where maintain is required', async () => {
    const keeper = await gate('keeper', 'maintain');
    assert.equal(keeper.decision.allowed, true);
    const pusher = await gate('pusher', 'maintain');
    assert.equal(pusher.decision.allowed, false);
    assert.equal(pusher.reaction, '-1');
    assert.match(
      pusher.reply ?? '',
      /needs maintain permission on this repository; the commenter has write\./,
    );
  });

  it('judges a custom role by its base permission and says so in the reply', async () => {
    const r = await gate('deployer', 'maintain');
    assert.equal(r.decision.allowed, false);
    assert.match(r.reply ?? '', /the commenter has the custom role &#34;release-manager&#34;, counted as/);
    assert.match(r.reply ?? '', /base permission write\. Nothing was launched\./);
    assert.equal((await gate('deployer', 'write')).decision.allowed, true);
  });

  it('treats a user GitHub does not know as having no permission', async () => {
    const r = await gate('stranger', 'read', 'no-such-user');
    assert.deepEqual([r.decision.allowed, r.decision.held], [false, 'none']);
  });
});
