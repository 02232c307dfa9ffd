import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseExperiment } from '../../src/launch/inputs.ts';
import type { Experiment } from '../../src/launch/settings.ts';
import { issueCommentOnPullRequest, scheduleEvent, workflowDispatchEvent } from '../bed/events.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import type { RepoRole } from '../bed/github.ts';
import { GitHubStandIn } from '../bed/github.ts';
import { BedServer, Recorder } from '../bed/http.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REPO = 'octo-org/bench';
const RUN_ID = '31337';
const SPEC = 'axes: {tool: [a, b, c], service: [x, y]}\nexclude: [{tool: c, service: y}]\nrepetitions: 2';

type Matrix = { include: { experiment: Experiment }[] };

function log(r: StepResult): string {
  return r.jobLog.join('\n');
}

/** The ids of a matrix output, after checking every entry is what actions/launch accepts. */
function matrixIds(text: string | undefined): string[] {
  const matrix = JSON.parse(text ?? 'null') as Matrix;
  return matrix.include.map(({ experiment }) => {
    assert.deepEqual(parseExperiment(JSON.stringify(experiment)), experiment);
    return experiment.id;
  });
}

describe('plan (root action.yml) end to end (real bundle, real payloads)', () => {
  let workspace: string;
  const gh = new GitHubStandIn();
  const ghServer = new BedServer('github', new Recorder(), gh.handle);
  gh.addRepo(REPO);
  gh.addPullRequest({ repo: REPO, number: 7 });

  /** A real issue_comment payload for a comment that exists on the GitHub stand-in, by a user with `role`. */
  const commentEvent = (body: string, author: string, role: RepoRole): WorkflowEvent => {
    gh.setRole(REPO, author, role);
    const stored = gh.addComment(REPO, 7, body, author);
    const event = issueCommentOnPullRequest({ repo: REPO, number: 7, body, author });
    (event.payload.comment as { id: number }).id = stored.id;
    return event;
  };

  before(async () => {
    await ghServer.listen();
    workspace = await mkdtemp(path.join(os.tmpdir(), 'gce-matrix-plan-ws-'));
    await mkdir(path.join(workspace, 'bench'));
    await copyFile(path.join(root, 'examples/matrix.yml'), path.join(workspace, 'bench/matrix.yml'));
  });

  after(async () => {
    await rm(workspace, { recursive: true, force: true });
    await ghServer.close();
  });

  const step = (inputs: Record<string, string>, over: Partial<StepOptions> = {}): StepOptions => ({
    actionDir: root,
    workspace,
    event: workflowDispatchEvent({}, { repo: REPO }),
    context: {
      repository: REPO,
      runId: RUN_ID,
      runAttempt: '1',
      token: gh.githubToken,
      apiUrl: ghServer.origin,
    },
    inputs,
    ...over,
  });

  it('plans a workflow_dispatch run from the spec file with the dispatch inputs as overrides', async () => {
    const dispatch = { tool: 'evomaster, random-baseline', service: '', repetitions: '3' };
    const r = await runStep(
      step(
        {
          'spec-file': 'bench/matrix.yml',
          // As a workflow writes it: tool=${{ inputs.tool }} service=${{ inputs.service }}
          overrides: `tool=${dispatch.tool} service=${dispatch.service}`,
          repetitions: dispatch.repetitions,
        },
        { event: workflowDispatchEvent(dispatch, { repo: REPO }) },
      ),
    );
    assert.equal(r.conclusion, 'success', log(r));
    // The overrides replace the tool axis, so random-baseline (only an include in the file) crosses both services.
    const expected = ['evomaster', 'random-baseline'].flatMap((tool) =>
      ['petclinic', 'features'].flatMap((service) =>
        [1, 2, 3].map((seed) => `tool-${tool}_service-${service}_seed-${seed}`),
      ),
    );
    assert.deepEqual(matrixIds(r.outputs.matrix), expected);
    const first = (JSON.parse(r.outputs.matrix) as Matrix).include[0].experiment;
    assert.deepEqual(first, {
      id: 'tool-evomaster_service-petclinic_seed-1',
      params: { tool: 'evomaster', service: 'petclinic', heap: '4g', seed: 1 },
      launch: { 'machine-type': 'e2-standard-4', provisioning: 'spot-then-standard' },
    });
    assert.equal(r.outputs.count, '12');
    assert.equal(r.outputs['batch-count'], '1');
    assert.deepEqual(JSON.parse(r.outputs.batches), [JSON.parse(r.outputs.matrix)]);
    assert.equal(r.outputs['run-id'], RUN_ID);
    assert.equal(r.outputs.axes, '["tool","service"]');
    assert.equal(r.outputs.repetitions, '3');
    assert.match(log(r), /Overrides from input overrides: tool=evomaster,random-baseline/);
    assert.match(r.summary ?? '', /### gce-matrix plan/);
    assert.match(
      r.summary ?? '',
      /\*\*12 experiments\*\*, run 31337, 3 repetitions each; axes: tool, service\./,
    );
    assert.match(
      r.summary ?? '',
      /\| 1 \| tool-evomaster&#95;service-petclinic&#95;seed-1 \| evomaster \| petclinic \|/,
    );
  });

  it('plans an issue_comment /gce-matrix run with its arguments', async () => {
    const r = await runStep(
      step(
        { spec: SPEC },
        {
          event: commentEvent('/gce-matrix run tool=a service=x', 'octocat', 'write'),
        },
      ),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.deepEqual(matrixIds(r.outputs.matrix), ['tool-a_service-x_seed-1', 'tool-a_service-x_seed-2']);
    assert.equal(r.outputs.count, '2');
    assert.match(log(r), /Overrides from the comment's \/gce-matrix run arguments: tool=a service=x/);
    assert.equal(r.outputs.allowed, 'true');
    const comment = gh.comments(REPO, 7).find((c) => c.body === '/gce-matrix run tool=a service=x');
    assert.deepEqual(
      comment?.reactions.map((x) => x.content),
      ['rocket'],
    );
  });

  it('plans nothing for a commenter without write permission, and says why', async () => {
    const event = commentEvent('/gce-matrix run tool=a', 'drive-by', 'read');
    const r = await runStep(step({ spec: SPEC }, { event }));
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.allowed, 'false');
    assert.equal(r.outputs.count, '0');
    assert.equal(r.outputs.matrix, undefined);
    const replies = gh.comments(REPO, 7).filter((c) => c.user.type === 'Bot');
    assert.match(
      replies.at(-1)?.body ?? '',
      /needs write permission on this repository; the commenter has read\. Nothing was launched\./,
    );
    const asked = gh.comments(REPO, 7).find((c) => c.user.login === 'drive-by');
    assert.deepEqual(
      asked?.reactions.map((x) => x.content),
      ['-1'],
    );
  });

  it('decides on the role: maintain passes where maintain is needed, a custom role counts as its base', async () => {
    const keeper = await runStep(
      step(
        { spec: SPEC, 'required-permission': 'maintain' },
        { event: commentEvent('/gce-matrix run tool=a', 'keeper', 'maintain') },
      ),
    );
    assert.equal(keeper.conclusion, 'success', log(keeper));
    assert.equal(keeper.outputs.allowed, 'true');
    const event = commentEvent('/gce-matrix run tool=a', 'deployer', 'write');
    gh.setCustomRole(REPO, 'deployer', 'release-manager', 'maintain');
    const deployer = await runStep(step({ spec: SPEC, 'required-permission': 'maintain' }, { event }));
    assert.equal(deployer.conclusion, 'success', log(deployer));
    assert.equal(deployer.outputs.allowed, 'false');
    const replies = gh.comments(REPO, 7).filter((c) => c.user.type === 'Bot');
    assert.match(
      replies.at(-1)?.body ?? '',
      /needs maintain permission on this repository; the commenter has the custom role &#34;release-manager&#34;, counted as its base permission write\./,
    );
  });

  it('gives the same plan on a schedule and on a re-run of the same run', async () => {
    const opts = (attempt: string): StepOptions =>
      step(
        { spec: SPEC },
        {
          event: scheduleEvent('0 3 * * *', { repo: REPO }),
          context: { repository: REPO, runId: RUN_ID, runAttempt: attempt },
        },
      );
    const [a, b] = [await runStep(opts('1')), await runStep(opts('2'))];
    assert.equal(a.conclusion, 'success', log(a));
    assert.equal(a.outputs.count, '10');
    assert.deepEqual(a.outputs, b.outputs);
  });

  it('splits a 300-experiment spec into valid batches of at most 256', async () => {
    const spec = JSON.stringify({
      axes: {
        task: Array.from({ length: 50 }, (_, i) => `task-${i + 1}`),
        agent: ['alpha', 'beta', 'gamma'],
      },
      repetitions: 2,
    });
    const r = await runStep(step({ spec, 'max-batches': '4' }));
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.count, '300');
    const all = matrixIds(r.outputs.matrix);
    assert.equal(new Set(all).size, 300);
    const batches = JSON.parse(r.outputs.batches) as Matrix[];
    assert.equal(r.outputs['batch-count'], String(batches.length));
    assert.equal(batches.length, 2);
    for (const batch of batches) {
      assert.ok(batch.include.length >= 1 && batch.include.length <= 256, `batch of ${batch.include.length}`);
    }
    assert.deepEqual(
      batches.flatMap((b) => matrixIds(JSON.stringify(b))),
      all,
    );
    assert.match(r.summary ?? '', /\*\*300 experiments\*\* in 2 batches \(150, 150\)/);
  });

  const failures: [string, Record<string, string>, Partial<StepOptions>, RegExp][] = [
    [
      'a malformed spec',
      { spec: 'axes:\n  tool: [a, b\n  service: [x]' },
      {},
      /^gce-matrix plan: input spec is not valid YAML or JSON: .*line 3, column 3/,
    ],
    [
      'a missing spec file',
      { 'spec-file': 'bench/nope.yml' },
      {},
      /^gce-matrix plan: input spec-file \(bench\/nope.yml\) cannot be read \(ENOENT\)/,
    ],
    [
      'an unknown axis in the overrides',
      { spec: SPEC, overrides: 'tool=a servce=x' },
      {},
      /^gce-matrix plan: input overrides: unknown axis "servce"; the spec's axes are tool, service/,
    ],
    [
      'an unknown axis in the comment',
      { spec: SPEC },
      { event: commentEvent('/gce-matrix run model=gpt', 'octocat', 'write') },
      /^gce-matrix plan: the comment's \/gce-matrix run arguments: unknown axis "model"/,
    ],
    [
      'too many experiments',
      { spec: SPEC, 'max-experiments': '5' },
      {},
      /^gce-matrix plan: the plan has 10 experiments, more than input max-experiments \(5\)/,
    ],
  ];
  for (const [what, inputs, over, message] of failures) {
    it(`fails on ${what}, naming the input, with no outputs`, async () => {
      const r = await runStep(step(inputs, over));
      assert.equal(r.conclusion, 'failure', log(r));
      const errors = r.annotations.filter((a) => a.level === 'error');
      assert.equal(errors.length, 1, log(r));
      assert.match(errors[0].message, message);
      assert.deepEqual(r.outputs, {});
    });
  }
});
