/**
 * The code under test reaches every VM: the reusable workflow's job graph on the test bed, each step with the
 * `with:` the workflow file itself gives it, against a fixture repository whose `bench/run.sh` derives its metric
 * from a file of the repository. The emulated instances see only their image and what gce-matrix puts there, so
 * these experiments can only succeed through the source snapshot.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import { issueCommentOnPullRequest, scheduleEvent, workflowDispatchEvent } from '../bed/events.ts';
import type { GitFixture } from '../bed/git-fixture.ts';
import { createGitFixture } from '../bed/git-fixture.ts';
import { GITHUB_ACTIONS_BOT } from '../bed/github.ts';
import type { TokenPermissions } from '../bed/github.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'source-results';
const PR = 12;
const RUN_SH = `#!/bin/sh
# the benchmark: a number derived from a file of this repository, so the report shows which commit ran
set -eu
factor=$(cat data/factor.txt)
printf '{"score": %s}\\n' "$((factor * 10 + GCE_MATRIX_PARAM_SEED))" > "$GCE_MATRIX_METRICS_FILE"
`;
const SPEC = 'axes:\n  tool: [alpha, beta]\nrepetitions: 2\n';

interface WorkflowStep {
  uses?: string;
  id?: string;
  with?: Record<string, unknown>;
}
interface WorkflowJob {
  permissions?: Record<string, string>;
  steps: WorkflowStep[];
}
interface Workflow {
  on: { workflow_call: { inputs: Record<string, { default?: unknown }> } };
  jobs: Record<string, WorkflowJob>;
}

interface Planned {
  id: string;
  params: Record<string, string | number>;
}

describe('the code under test on every VM (reusable workflow, fixture repository, isolated instances)', () => {
  let bed: TestBed;
  let repo: GitFixture;
  let workflow: Workflow;
  let tokenN = 0;

  /** The `${{ }}` expressions gce-matrix.yml uses in its steps' `with:`. */
  const resolve = (value: unknown, ctx: Record<string, unknown>): string =>
    (typeof value === 'string' ? value : JSON.stringify(value ?? '')).replace(
      /\$\{\{\s*([^}]+?)\s*\}\}/g,
      (_m, expr: string) => {
        const json = /^toJSON\(([\w.-]+)\)$/.exec(expr);
        const lookup = (p: string): unknown =>
          p
            .split('.')
            .reduce<unknown>(
              (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
              ctx,
            );
        if (json) return JSON.stringify(lookup(json[1]));
        const operands = expr.split(/\s*\|\|\s*/);
        if (!operands.every((o) => /^[\w.-]+$/.test(o))) {
          throw new Error(`the test cannot evaluate \${{ ${expr} }}`);
        }
        // `a || b` is GitHub's: the first operand that is not falsy ('' , 0, false, null), else the last.
        const values = operands.map(lookup);
        const v = values.find((x) => x !== '' && x !== 0 && x !== false && x != null) ?? values.at(-1);
        if (v === undefined || v === null) return '';
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
        return JSON.stringify(v);
      },
    );

  /** Runs the step of `job` that uses `uses`, with the workflow's own `with:`, as the runner would. */
  async function jobStep(
    job: string,
    uses: string,
    event: WorkflowEvent,
    runId: string,
    ctx: { inputs: Record<string, unknown>; needs?: unknown; matrix?: unknown; steps?: unknown },
    workspace?: string,
    permissions?: TokenPermissions,
  ): Promise<StepResult> {
    const j = workflow.jobs[job];
    assert.ok(j, `gce-matrix.yml has no job ${job}`);
    const s = j.steps.find((x) => x.uses === uses);
    assert.ok(s, `job ${job} has no step ${uses}`);
    // The job's GITHUB_TOKEN has exactly the job's permissions.
    const token = `ghs_source_${++tokenN}`;
    bed.github.addToken(token, GITHUB_ACTIONS_BOT, {
      permissions: permissions ?? j.permissions ?? {},
    });
    const full = { ...ctx, github: { token } };
    const inputs = Object.fromEntries(
      Object.entries(s.with ?? {}).map(([k, v]) => [k, resolve(v, full)] as const),
    );
    const actionDir = path.join(root, uses.replace(/^\.\/\.gce-matrix\/?/, ''));
    const sha = (event.payload.after as string | undefined) ?? (await repo.rev('main'));
    return runStep({
      actionDir,
      workspace: workspace ?? (await mkdtemp(path.join(bed.dir, 'ws-'))),
      event,
      context: {
        repository: bed.repository,
        runId,
        sha,
        ref: 'refs/heads/main',
        token,
        workflow: 'gce-matrix',
      },
      env: bed.env,
      inputs,
    });
  }

  /** The caller's repository checked out at `sha` (the plan job's first step). */
  async function checkout(sha: string): Promise<string> {
    const ws = await mkdtemp(path.join(bed.dir, 'checkout-'));
    execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', repo.dir, sha, ws]);
    return ws;
  }

  /** plan -> launch (every experiment) -> results (collect, report), as gce-matrix.yml wires them. */
  async function pipeline(
    event: WorkflowEvent,
    runId: string,
    overInputs: Record<string, unknown> = {},
    beforeLaunch: () => Promise<void> = () => Promise.resolve(),
  ) {
    const inputs: Record<string, unknown> = {
      ...Object.fromEntries(
        Object.entries(workflow.on.workflow_call.inputs).map(([k, v]) => [k, v.default ?? '']),
      ),
      'spec-file': 'bench/matrix.yml',
      command: './bench/run.sh',
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'workload-identity-provider': bed.workloadIdentityProvider,
      'service-account': bed.serviceAccount,
      'heartbeat-seconds': '1',
      'timeout-minutes': 5,
      ...overInputs,
    };
    const log = (r: StepResult) => r.jobLog.join('\n');
    const plan = await jobStep(
      'plan',
      './.gce-matrix',
      event,
      runId,
      { inputs },
      await checkout(await repo.rev('main')),
    );
    assert.equal(plan.conclusion, 'success', log(plan));
    await beforeLaunch();
    const needs = { plan: { outputs: plan.outputs } };
    const batches = JSON.parse(plan.outputs.batches ?? '[]') as { include: { experiment: Planned }[] }[];
    const launches: StepResult[] = [];
    for (const m of batches[0]?.include ?? []) {
      const r = await jobStep('launch-1', './.gce-matrix/actions/launch', event, runId, {
        inputs,
        needs,
        matrix: { experiment: m.experiment },
      });
      assert.equal(r.conclusion, 'success', log(r));
      launches.push(r);
    }
    const resultsDir = path.join(await mkdtemp(path.join(bed.dir, 'collected-')), 'results');
    const collect = await jobStep('results', './.gce-matrix/actions/collect', event, runId, {
      inputs,
      needs,
    });
    assert.equal(collect.conclusion, 'success', log(collect));
    const report = await jobStep('results', './.gce-matrix/actions/report', event, runId, {
      inputs,
      needs,
      steps: { collect: { outputs: { ...collect.outputs, path: collect.outputs.path ?? resultsDir } } },
    });
    assert.equal(report.conclusion, 'success', log(report));
    const statuses = (batches[0]?.include ?? []).map((m) => {
      const o = experimentObjects({ bucket: BUCKET, prefix: 'gce-matrix', runId }, m.experiment.id);
      const obj = bed.storage.getObject(BUCKET, o.status);
      assert.ok(obj, `no status for ${m.experiment.id}`);
      const metrics = bed.storage.getObject(BUCKET, o.metrics);
      return {
        experiment: m.experiment,
        status: JSON.parse(obj.data.toString('utf8')) as ExperimentStatus,
        metrics: metrics ? (JSON.parse(metrics.data.toString('utf8')) as Record<string, number>) : undefined,
      };
    });
    return { plan, launches, collect, report, statuses };
  }

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    workflow = parseYaml(
      await readFile(path.join(root, '.github/workflows/gce-matrix.yml'), 'utf8'),
    ) as Workflow;
    repo = await createGitFixture({
      'bench/run.sh': { content: RUN_SH, mode: 0o755 },
      'bench/matrix.yml': SPEC,
      'data/factor.txt': '3\n',
    });
    bed.github.setRepositoryContent(bed.repository, repo.dir);
  });

  after(async () => {
    await bed?.close();
    await repo?.remove();
  });

  it('a schedule run records the baseline from the repository; a PR comment runs the approved head, not a later push', async () => {
    const main = await repo.rev('main');
    const nightly = await pipeline(scheduleEvent('0 3 * * *', { repo: bed.repository }), '8101');
    for (const s of nightly.statuses) {
      assert.equal(s.status.state, 'succeeded', JSON.stringify(s.status));
      assert.equal(s.metrics?.score, 30 + Number(s.experiment.params.seed));
      assert.equal(s.status.provenance.repoSha, main);
      assert.equal(s.status.provenance.sourceCommit, main);
      assert.match(s.status.provenance.sourceSha256 ?? '', /^[0-9a-f]{64}$/);
    }
    // one upload of the snapshot for the whole run, whatever the number of experiments
    const uploads = nightly.launches.filter((l) => l.jobLog.some((x) => /uploaded by this launch/.test(x)));
    assert.equal(uploads.length, 1);
    assert.equal(
      bed.storage
        .listObjects(BUCKET, 'gce-matrix/runs/8101/source/')
        .filter((o) => o.name.endsWith('.tar.gz')).length,
      1,
    );
    assert.equal(nightly.plan.outputs['source-sha'], main);

    // A pull request changes the file the benchmark reads; a maintainer asks for a run.
    const head = await repo.commit(
      'feature',
      { 'data/factor.txt': '5\n' },
      { from: main, message: 'factor 5' },
    );
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR,
      headRef: 'feature',
      headSha: head,
      baseRef: 'main',
      baseSha: main,
    });
    bed.github.setRole(bed.repository, 'maintainer', 'write');
    const asked = bed.github.addComment(bed.repository, PR, '/gce-matrix run', 'maintainer');
    const event = issueCommentOnPullRequest({
      repo: bed.repository,
      number: PR,
      body: '/gce-matrix run',
      author: 'maintainer',
    });
    (event.payload.comment as { id: number }).id = asked.id;
    let pushed = '';
    const run = await pipeline(event, '8102', { 'pr-number': String(PR) }, async () => {
      // After the gate approved the comment, someone pushes to the pull request.
      pushed = await repo.commit('feature', { 'data/factor.txt': '9\n' }, { message: 'factor 9' });
      bed.github.pushToPullRequest(bed.repository, PR, pushed);
    });
    assert.equal(run.plan.outputs['source-sha'], head);
    for (const s of run.statuses) {
      assert.equal(s.status.state, 'succeeded', JSON.stringify(s.status));
      assert.equal(
        s.metrics?.score,
        50 + Number(s.experiment.params.seed),
        'the approved head ran, not the push',
      );
      assert.equal(s.status.provenance.sourceCommit, head);
    }
    const comment = bed.github.comments(bed.repository, PR).find((c) => c.user.type === 'Bot')?.body ?? '';
    assert.match(comment, new RegExp(`code at \`${head.slice(0, 12)}\``));
    assert.doesNotMatch(comment, new RegExp(pushed.slice(0, 12)));
    assert.match(comment, /\| 31 \| 51 \| \+20 \(\+64\.5%\)/, 'deltas against the schedule baseline');
    assert.deepEqual(
      bed.compute.listAll().filter((v) => v.status !== 'DELETED'),
      [],
    );
  });

  it('a dispatch with source: none runs in an empty directory; a missing ref is refused before any VM', async () => {
    const before = bed.compute.listAll().length;
    const none = await pipeline(workflowDispatchEvent({}, { repo: bed.repository }), '8103', {
      source: 'none',
      command: `test ! -e bench/run.sh && printf '{"score": 1}' > "$GCE_MATRIX_METRICS_FILE"`,
    });
    for (const s of none.statuses) {
      assert.equal(s.status.state, 'succeeded', JSON.stringify(s.status));
      assert.equal(s.status.provenance.sourceSha256, undefined);
    }
    assert.equal(bed.compute.listAll().length, before + 4);

    const event = workflowDispatchEvent({}, { repo: bed.repository });
    const plan = await jobStep(
      'plan',
      './.gce-matrix',
      event,
      '8104',
      {
        inputs: {
          ...Object.fromEntries(
            Object.entries(workflow.on.workflow_call.inputs).map(([k, v]) => [k, v.default ?? '']),
          ),
          'spec-file': 'bench/matrix.yml',
          'source-ref': 'no-such-branch',
        },
      },
      await checkout(await repo.rev('main')),
    );
    assert.equal(plan.conclusion, 'failure');
    assert.match(plan.jobLog.join('\n'), /input source-ref "no-such-branch" names no commit, branch or tag/);
    assert.equal(bed.compute.listAll().length, before + 4, 'no VM');
  });

  it('a job token without contents: read, and a snapshot that fails its checksum on the VM, are clear errors', async () => {
    const inputs = {
      ...Object.fromEntries(
        Object.entries(workflow.on.workflow_call.inputs).map(([k, v]) => [k, v.default ?? '']),
      ),
      command: './bench/run.sh',
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'workload-identity-provider': bed.workloadIdentityProvider,
      'service-account': bed.serviceAccount,
      'heartbeat-seconds': '1',
    };
    const main = await repo.rev('main');
    const needs = { plan: { outputs: { 'run-id': '8105', 'source-sha': main } } };
    const event = workflowDispatchEvent({}, { repo: bed.repository });
    const vms = bed.compute.listAll().length;
    const denied = await jobStep(
      'launch-1',
      './.gce-matrix/actions/launch',
      event,
      '8105',
      {
        inputs,
        needs,
        matrix: { experiment: { id: 'tool-alpha_seed-1', params: { tool: 'alpha', seed: 1 } } },
      },
      undefined,
      { 'id-token': 'write' },
    );
    assert.equal(denied.conclusion, 'failure');
    assert.match(
      denied.jobLog.join('\n'),
      /cannot read .* \(403 Resource not accessible by integration\): give the job `permissions: contents: read`/,
    );
    assert.equal(bed.compute.listAll().length, vms, 'no VM before the snapshot is in place');

    // The snapshot is stored by a first experiment; then its bytes change in the bucket.
    const ok = await jobStep('launch-1', './.gce-matrix/actions/launch', event, '8105', {
      inputs,
      needs,
      matrix: { experiment: { id: 'tool-alpha_seed-1', params: { tool: 'alpha', seed: 1 } } },
    });
    assert.equal(ok.conclusion, 'success', ok.jobLog.join('\n'));
    const archive = bed.storage
      .listObjects(BUCKET, 'gce-matrix/runs/8105/source/')
      .find((o) => o.name.endsWith('.tar.gz'));
    assert.ok(archive);
    bed.storage.putObject(BUCKET, archive.name, 'not the archive that was checked in');
    const bad = await jobStep('launch-1', './.gce-matrix/actions/launch', event, '8105', {
      inputs,
      needs,
      matrix: { experiment: { id: 'tool-beta_seed-1', params: { tool: 'beta', seed: 1 } } },
    });
    assert.equal(bad.conclusion, 'failure');
    assert.match(
      bad.jobLog.join('\n'),
      /error: the source snapshot gs:\/\/source-results\/.* failed its checksum: expected sha256/,
    );
    assert.equal(bad.outputs.status, 'error');
    assert.deepEqual(
      bed.compute.listAll().filter((v) => v.status !== 'DELETED'),
      [],
      'nothing left behind',
    );
  });

  it('the same spec runs with gce-matrix run from a clone (the working tree, uncommitted change included)', async () => {
    const clone = await mkdtemp(path.join(bed.dir, 'clone-'));
    execFileSync('git', ['clone', '-q', repo.dir, clone]);
    await mkdir(path.join(clone, 'data'), { recursive: true });
    execFileSync('sh', ['-c', 'printf "4\\n" > data/factor.txt'], { cwd: clone });
    const out = path.join(await mkdtemp(path.join(bed.dir, 'out-')), 'run');
    const cli = path.join(root, 'dist/cli/index.js');
    execFileSync(
      process.execPath,
      [cli, 'run', 'bench/matrix.yml', '--out', out, '--no-progress', '--input', 'command=./bench/run.sh'],
      {
        cwd: clone,
        env: { ...process.env, NO_COLOR: '1' },
        encoding: 'utf8',
      },
    );
    const manifest = JSON.parse(await readFile(path.join(out, 'results/manifest.json'), 'utf8')) as {
      experiments: { id: string; status: string; provenance?: { sourceCommit?: string } }[];
    };
    assert.equal(manifest.experiments.length, 4);
    for (const e of manifest.experiments) assert.equal(e.status, 'succeeded');
    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(report, /\| 4[0-9](\.\d+)? /, 'scores from the uncommitted factor 4');
  });
});
