import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { bundle } from '../../scripts/build.ts';
import { ArtifactStandIn } from './artifacts.ts';
import { issueCommentOnPullRequest } from './events.ts';
import { GitHubStandIn } from './github.ts';
import { BedServer, Recorder } from './http.ts';
import type { StepOptions } from './step-runner.ts';
import { evaluateCondition, parseCommand, parseFileCommand, runStep, startStep } from './step-runner.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const probeDir = path.resolve(here, '../fixtures/probe-action');

describe('step runner with the probe action', () => {
  const recorder = new Recorder();
  const gh = new GitHubStandIn();
  const artifacts = new ArtifactStandIn();
  const ghServer = new BedServer('github', recorder, gh.handle);
  const artifactServer = new BedServer('artifacts', recorder, artifacts.handle);
  const runBackendId = 'c4d7c21f-ba3f-4ddc-a8c8-6f2f626f8422';
  let actionDir: string;
  let runtimeToken: string;

  const event = issueCommentOnPullRequest({
    repo: 'octo-org/octo-repo',
    number: 7,
    body: '/gce-matrix run tool=a,b',
    author: 'mona',
    authorAssociation: 'MEMBER',
  });

  const step = (over: Partial<StepOptions> = {}): StepOptions => ({
    actionDir,
    event,
    context: { token: gh.githubToken, apiUrl: ghServer.origin, runId: '4242' },
    ...over,
    env: {
      ACTIONS_RESULTS_URL: `${artifactServer.origin}/`,
      ACTIONS_RUNTIME_TOKEN: runtimeToken,
      ...over.env,
    },
    inputs: { greeting: 'hello', ...over.inputs },
  });

  before(async () => {
    await ghServer.listen();
    await artifactServer.listen();
    gh.addRepo('octo-org/octo-repo');
    gh.addPullRequest({ repo: 'octo-org/octo-repo', number: 7 });
    runtimeToken = artifacts.mintRuntimeToken({ runBackendId });
    actionDir = await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-probe-'));
    await bundle(
      {
        index: path.join(probeDir, 'src/index.ts'),
        post: path.join(probeDir, 'src/post-index.ts'),
      },
      path.join(actionDir, 'dist'),
    );
    await copyFile(path.join(probeDir, 'action.yml'), path.join(actionDir, 'action.yml'));
    // The bundles are ESM, as in the repository, whose package.json says so.
    await writeFile(path.join(actionDir, 'package.json'), '{ "type": "module" }\n');
  });

  after(async () => {
    await ghServer.close();
    await artifactServer.close();
    await rm(actionDir, { recursive: true, force: true });
  });

  it('runs main and post as the runner does, against the GitHub and artifact stand-ins', async () => {
    const secret = 'hunter2-s3cr3t-value';
    const r = await runStep(
      step({ inputs: { 'max-attempts': '5', secret, 'artifact-name': 'probe-results' } }),
    );
    assert.equal(r.conclusion, 'success', r.jobLog.join('\n'));
    assert.equal(r.exitCode, 0);

    // INPUT_ names keep their hyphens and core.getInput reads them.
    assert.equal(r.processEnv['INPUT_MAX-ATTEMPTS'], '5');
    assert.equal(
      r.processEnv['INPUT_GITHUB-TOKEN'],
      gh.githubToken,
      'the ${{ github.token }} default is resolved',
    );
    assert.equal(r.processEnv.INPUT_GREETING, 'hello');
    assert.equal(r.processEnv.GITHUB_EVENT_NAME, 'issue_comment');
    assert.equal(r.processEnv.GITHUB_RUN_ID, '4242');
    assert.deepEqual(r.outputs.greeting, 'HELLO');
    assert.equal(r.outputs['max-attempts'], '5');
    assert.equal(r.outputs.multiline, 'line one\nline two', 'heredoc outputs are parsed');

    assert.equal(r.state.greeting, 'hello');
    assert.ok(r.post, 'post ran');
    assert.equal(r.post.conclusion, 'success');
    assert.equal(r.post.processEnv.STATE_greeting, 'hello');
    assert.ok(r.post.log.some((l) => l.startsWith('probe post: state greeting=hello started-at=20')));
    assert.match(r.summary ?? '', /<h1>Probe<\/h1>/);
    assert.match(r.summary ?? '', /greeting: hello/);
    assert.match(r.post.summary ?? '', /post saw hello/);

    const comments = gh.comments('octo-org/octo-repo', 7);
    assert.equal(comments.length, 1);
    assert.equal(comments[0].body, 'probe says hello (event issue_comment, run 4242)');
    assert.equal(comments[0].user.login, 'github-actions[bot]');
    assert.equal(r.outputs['comment-id'], String(comments[0].id));

    const stored = artifacts.artifacts().find((a) => a.name === 'probe-results');
    assert.ok(stored?.finalized);
    assert.equal(stored.runBackendId, runBackendId);
    assert.equal(r.outputs['artifact-id'], String(stored.id));
    assert.deepEqual(stored.uploads, ['block', 'blocklist']);
    const files = artifacts.filesOf('probe-results');
    assert.deepEqual([...files.keys()], ['result.json']);
    assert.deepEqual(JSON.parse(files.get('result.json')!.toString('utf8')), {
      greeting: 'hello',
      maxAttempts: '5',
    });

    assert.ok(r.masks.includes(secret));
    assert.ok(r.jobLog.includes('probe: the secret is ***'));
    for (const line of r.jobLog) {
      assert.ok(!line.includes(secret), `secret leaked: ${line}`);
      assert.ok(!line.includes(gh.githubToken), `token leaked: ${line}`);
    }
  });

  it('uses input defaults, and refuses a repeated artifact name within a run (409)', async () => {
    const first = await runStep(step({ inputs: { comment: 'false' } }));
    assert.equal(first.conclusion, 'success', first.jobLog.join('\n'));
    assert.equal(first.outputs['max-attempts'], '3');
    assert.equal(first.processEnv['INPUT_ARTIFACT-NAME'], 'probe-4242');
    const again = await runStep(step({ inputs: { comment: 'false' } }));
    assert.equal(again.conclusion, 'failure');
    assert.equal(again.exitCode, 1);
    const err = again.annotations.find((a) => a.level === 'error');
    assert.match(err?.message ?? '', /409/);
    assert.match(err?.message ?? '', /already exists/);
    assert.equal(again.post?.conclusion, 'success', 'post-if defaults to always()');
  });

  it('fails the upload with an expired runtime token (Twirp unauthenticated)', async () => {
    const expired = artifacts.mintRuntimeToken({ runBackendId, expiresInSeconds: -60 });
    const r = await runStep(
      step({
        inputs: { comment: 'false', 'artifact-name': 'late' },
        env: { ACTIONS_RUNTIME_TOKEN: expired },
      }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(r.annotations.find((a) => a.level === 'error')?.message ?? '', /401/);
  });

  it('respects ::stop-commands:: and renders annotations with properties', async () => {
    const raw = [
      '::stop-commands::fence-42',
      '::error::inside the fence',
      '::add-mask::not-a-mask',
      '::fence-42::',
      '::warning file=src/a.ts,line=3,col=5,title=Heads up::after the fence',
      '::group::Group A',
      'inside group',
      '::endgroup::',
      '::set-output name=legacy::value',
    ].join('\n');
    const r = await runStep(step({ inputs: { comment: 'false', 'artifact-name': '', 'raw-lines': raw } }));
    assert.equal(r.conclusion, 'success', r.jobLog.join('\n'));
    assert.ok(r.log.includes('::error::inside the fence'), 'fenced lines are printed as they are');
    assert.ok(r.log.includes('::add-mask::not-a-mask'));
    assert.ok(!r.masks.includes('not-a-mask'));
    assert.equal(r.annotations.filter((a) => a.message === 'inside the fence').length, 0);
    const warning = r.annotations.find((a) => a.message === 'after the fence');
    assert.deepEqual(warning, {
      level: 'warning',
      message: 'after the fence',
      title: 'Heads up',
      file: 'src/a.ts',
      line: 3,
      col: 5,
      phase: 'main',
    });
    assert.ok(r.log.includes('##[group]Group A'));
    assert.ok(r.log.includes('##[endgroup]'));
    assert.equal(r.outputs.legacy, 'value', 'the runner still applies ::set-output, with a warning');
    assert.ok(
      r.annotations.some((a) => a.level === 'warning' && /set-output. command is deprecated/.test(a.message)),
    );
  });

  it('cancels with SIGINT, then SIGTERM, then a kill, and then runs post', async () => {
    const run = startStep(
      step({
        inputs: { comment: 'false', 'artifact-name': '', 'sleep-ms': '60000', 'ignore-signals': 'true' },
        sigintGraceMs: 300,
        sigtermGraceMs: 300,
        onLine: (line) => {
          if (line === 'probe: sleeping') run.cancel();
        },
      }),
    );
    const r = await run.result;
    assert.equal(r.cancelled, true);
    assert.equal(r.conclusion, 'cancelled');
    assert.deepEqual(
      r.signalsSent.map((s) => s.signal),
      ['SIGINT', 'SIGTERM', 'SIGKILL'],
    );
    assert.ok(r.signalsSent[1].atMs - r.signalsSent[0].atMs >= 290);
    assert.equal(r.exitSignal, 'SIGKILL');
    assert.ok(r.log.includes('probe: got SIGINT'));
    assert.ok(r.log.includes('probe: got SIGTERM'));
    assert.ok(!r.log.includes('probe: main done'));
    assert.equal(r.post?.conclusion, 'success');
    assert.ok(r.post.log.some((l) => l.includes('state greeting=hello')));
  });

  it('cancels through an AbortSignal; a process that honours SIGINT gets nothing more', async () => {
    const ac = new AbortController();
    const r = await runStep(
      step({
        inputs: { comment: 'false', 'artifact-name': '', 'sleep-ms': '60000' },
        signal: ac.signal,
        onLine: (line) => {
          if (line === 'probe: sleeping') ac.abort();
        },
      }),
    );
    assert.equal(r.conclusion, 'cancelled');
    assert.deepEqual(
      r.signalsSent.map((s) => s.signal),
      ['SIGINT'],
    );
    assert.equal(r.exitSignal, 'SIGINT');
    assert.ok(r.post);
  });

  it('fails a step that runs past its timeout, and still runs post', async () => {
    const r = await runStep(
      step({
        inputs: { comment: 'false', 'artifact-name': '', 'sleep-ms': '60000' },
        timeoutMs: 1500,
      }),
    );
    assert.equal(r.timedOut, true);
    assert.equal(r.conclusion, 'failure');
    assert.equal(r.cancelled, false);
    assert.equal(r.post?.conclusion, 'success');
  });
});

describe('runner file commands and conditions', () => {
  it('parses name=value and heredoc lines', () => {
    assert.deepEqual(parseFileCommand('a=1\nb<<EOF\nx\n\ny=z\nEOF\nc=\nd=e=f\n'), {
      a: '1',
      b: 'x\n\ny=z',
      c: '',
      d: 'e=f',
    });
    assert.throws(() => parseFileCommand('b<<EOF\nnever closed\n'), /Matching delimiter not found/);
    assert.throws(() => parseFileCommand('no separator\n'), /Invalid format/);
  });

  it('parses workflow commands with escapes', () => {
    assert.deepEqual(parseCommand('::error file=a%3Ab.ts,title=x%2Cy::50%25%0Adone'), {
      name: 'error',
      props: { file: 'a:b.ts', title: 'x,y' },
      data: '50%\ndone',
    });
    assert.equal(parseCommand('not ::a command'), undefined);
  });

  it('evaluates status conditions', () => {
    assert.equal(evaluateCondition('always()', 'cancelled'), true);
    assert.equal(evaluateCondition('success()', 'failure'), false);
    assert.equal(evaluateCondition('${{ failure() || cancelled() }}', 'cancelled'), true);
    assert.equal(evaluateCondition('!cancelled()', 'cancelled'), false);
    assert.equal(evaluateCondition('true', 'failure'), false, 'no status function implies success()');
  });
});
