import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import { escapeMarkdown } from '../../src/markdown.ts';
import { formatNumber } from '../../src/report/render.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import { issueCommentOnPullRequest, scheduleEvent, workflowDispatchEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';
import { SERVICES, TOOLS } from '../fixtures/rest-study.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'pipeline-results';
const PR = 31;
const SPEC = JSON.stringify({ axes: { tool: TOOLS, service: SERVICES } });
/** How many experiments of each run really go through actions/launch and the VM agent; the rest are written as the agent writes them. */
const LAUNCHED = 2;

/**
 * A study with 8 repetitions: `slower` really gets 20% slower on the PR (its seed noise is within 1%), `steady`
 * only draws new noise. Coverage jitters for both.
 */
const REPEATED_SPEC = JSON.stringify({
  axes: { tool: ['slower', 'steady'], service: ['petclinic'] },
  repetitions: 8,
});
const NOISE = [0.8, -0.5, 0.3, -0.9, 0.6, -0.2, 0.1, -0.7];
const OTHER_NOISE = [-0.4, 0.7, -0.8, 0.2, -0.1, 0.9, -0.6, 0.4];

function repeatedStudy(pr: boolean): RunShape {
  return {
    spec: REPEATED_SPEC,
    metrics: (e) => {
      const noise = (pr ? OTHER_NOISE : NOISE)[e.params.seed - 1];
      const slower = pr && e.params.tool === 'slower';
      return { time_s: Math.round(((slower ? 120 : 100) + noise) * 10) / 10, coverage: 60 + noise };
    },
    report: { pivot: 'tool,service', metrics: 'time_s:lower, coverage:higher' },
    count: 16,
    lost: 0,
  };
}

interface PlannedExperiment {
  id: string;
  params: { tool: string; service: string; seed: number };
}

/** The coverage an experiment reports; `restlerFactor` scales restler's, to make a regression. */
function coverage(e: PlannedExperiment, restlerFactor: number): number {
  const t = TOOLS.indexOf(e.params.tool);
  const s = SERVICES.indexOf(e.params.service);
  return Math.round((50 + t * 5 + s) * (e.params.tool === 'restler' ? restlerFactor : 1) * 10) / 10;
}

/** The study of the first tests: 54 experiments, one fails in 20, the 54th never reports. */
function study(restlerFactor: number): RunShape {
  return {
    spec: SPEC,
    metrics: (e) => ({ coverage: coverage(e, restlerFactor), seconds: 3600 }),
    failed: (i) => i % 20 === 7,
    missing: (i) => i === 53,
    report: { pivot: 'tool,service', metrics: 'coverage:higher' },
    count: 54,
    lost: 1,
  };
}

/** What one run of the job graph is made of. */
interface RunShape {
  spec: string;
  metrics: (e: PlannedExperiment) => Record<string, number>;
  failed?: (index: number) => boolean;
  missing?: (index: number) => boolean;
  overrides?: string;
  report: Record<string, string>;
  /** Experiments planned, and of them never reported. */
  count: number;
  lost: number;
}

/**
 * The whole pipeline on the test bed with the real bundles, following the reusable workflow's job graph:
 * plan -> launch (matrix) -> collect -> report, once on a schedule (recording the baseline) and once from a PR
 * comment (comparing with it). A few experiments run on emulated VMs through the real agent; the others are
 * written to Cloud Storage exactly as the agent writes them, so that 54 experiments stay quick.
 */
describe('plan -> launch -> collect -> report (real bundles, 9 services x 6 tools)', () => {
  let bed: TestBed;
  let defaultBranch: string;
  const log = (r: StepResult): string => r.jobLog.join('\n');
  /** Where the last run's collect step put the results. */
  let lastResults = '';

  const step = async (
    action: string,
    event: WorkflowEvent,
    runId: string,
    inputs: Record<string, string>,
  ): Promise<StepResult> =>
    runStep({
      actionDir: path.join(root, action),
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event,
      context: {
        repository: bed.repository,
        runId,
        sha: runId.padEnd(40, '0'),
        ref: `refs/heads/${defaultBranch}`,
        token: bed.github.defaultToken,
        workflow: 'gce-matrix',
      },
      env: bed.env,
      inputs,
    });

  /** Writes what the agent leaves for a finished experiment: outputs, the attempt's log and status, then status. */
  function writeAsAgent(
    runId: string,
    e: PlannedExperiment,
    failed: boolean,
    values: Record<string, number>,
  ): void {
    const o = experimentObjects({ bucket: BUCKET, prefix: 'gce-matrix', runId }, e.id);
    const metrics = JSON.stringify(values);
    bed.storage.putObject(BUCKET, `${o.outputs}metrics.json`, metrics);
    bed.storage.putObject(
      BUCKET,
      `${o.logs(1)}000001.txt`,
      failed ? 'Error: @octocat see #1 <img src=x>\n' : 'ok\n',
    );
    const status: ExperimentStatus = {
      schema: 1,
      runId,
      experiment: e.id,
      attempt: 1,
      state: failed ? 'failed' : 'succeeded',
      exitCode: failed ? 2 : 0,
      ...(failed ? { reason: 'the command exited with 2' } : {}),
      startedAt: '2026-11-29T00:00:00Z',
      endedAt: '2026-11-29T01:00:00Z',
      outputs: [{ path: 'metrics.json', size: metrics.length }],
      provenance: { zone: 'us-central1-a', machineType: 'e2-standard-2', spot: false, parameters: e.params },
    };
    bed.storage.putObject(BUCKET, `${o.base}attempts/1/status.json`, JSON.stringify(status));
    bed.storage.putObject(BUCKET, o.status, JSON.stringify(status));
  }

  /** One run of the job graph; returns the report step. */
  async function pipeline(event: WorkflowEvent, runId: string, shape: RunShape): Promise<StepResult> {
    const plan = await step('.', event, runId, { spec: shape.spec, overrides: shape.overrides ?? '' });
    assert.equal(plan.conclusion, 'success', log(plan));
    assert.equal(plan.outputs.count, String(shape.count));
    const matrix = JSON.parse(plan.outputs.matrix ?? '') as { include: { experiment: PlannedExperiment }[] };
    const experiments = matrix.include.map((m) => m.experiment);

    for (const [i, e] of experiments.entries()) {
      const values = shape.metrics(e);
      if (i < LAUNCHED) {
        const r = await step('actions/launch', event, runId, {
          project: bed.project,
          zones: 'us-central1-a',
          bucket: BUCKET,
          'vm-service-account': bed.vmServiceAccount,
          'run-id': plan.outputs['run-id'] ?? runId,
          experiment: JSON.stringify(e),
          command: `printf '%s' '${JSON.stringify(values)}' > "$GCE_MATRIX_METRICS_FILE"`,
          'heartbeat-seconds': '1',
          'log-interval-seconds': '1',
          // the commit here is made up; test/e2e/source.test.ts runs the repository's own code
          source: 'none',
        });
        assert.equal(r.conclusion, 'success', log(r));
      } else if (!shape.missing?.(i)) {
        writeAsAgent(runId, e, shape.failed?.(i) ?? false, values);
      }
    }

    const resultsPath = path.join(await mkdtemp(path.join(bed.dir, 'collected-')), 'results');
    const collect = await step('actions/collect', event, runId, {
      project: bed.project,
      bucket: BUCKET,
      'run-id': runId,
      experiments: plan.outputs.matrix ?? '',
      path: resultsPath,
    });
    assert.equal(collect.conclusion, 'success', log(collect));
    assert.equal(collect.outputs.missing, String(shape.lost));
    lastResults = resultsPath;

    const report = await step('actions/report', event, runId, {
      path: resultsPath,
      project: bed.project,
      bucket: BUCKET,
      'run-id': runId,
      ...shape.report,
    });
    assert.equal(report.conclusion, 'success', log(report));
    return report;
  }

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    const ev = scheduleEvent('0 3 * * *', { repo: bed.repository });
    defaultBranch = (ev.payload.repository as { default_branch: string }).default_branch;
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR,
      baseRef: defaultBranch,
      baseSha: '7001'.padEnd(40, '0'),
    });
  });

  after(async () => {
    await bed.close();
  });

  it('records a baseline nightly, then answers a PR comment with one comment of tables, a chart, failures and deltas', async () => {
    await pipeline(scheduleEvent('0 3 * * *', { repo: bed.repository }), '7001', study(1));
    assert.ok(
      bed.storage.getObject(BUCKET, `gce-matrix/baselines/${defaultBranch}/latest.json`),
      'baseline recorded',
    );
    assert.equal(bed.github.comments(bed.repository, PR).length, 0);

    // A maintainer asks from the PR; the comment exists on GitHub, and the plan asks GitHub who wrote it.
    bed.github.setRole(bed.repository, 'maintainer', 'write');
    const asked = bed.github.addComment(bed.repository, PR, '/gce-matrix run', 'maintainer');
    const event = issueCommentOnPullRequest({
      repo: bed.repository,
      number: PR,
      body: '/gce-matrix run',
      author: 'maintainer',
    });
    (event.payload.comment as { id: number }).id = asked.id;
    const report = await pipeline(event, '7002', study(0.8));
    const comments = bed.github.comments(bed.repository, PR).filter((c) => c.user.type === 'Bot');
    assert.equal(comments.length, 1);
    assert.deepEqual(
      bed.github.comments(bed.repository, PR)[0]?.reactions.map((r) => r.content),
      ['rocket'],
    );
    const body = comments[0]?.body ?? '';
    assert.match(body, /54 experiment\(s\), \*\*50 succeeded\*\*, 3 failed, 1 missing/);
    assert.match(body, /\| tool \| features \|/);
    assert.match(body, /```mermaid\nxychart-beta/);
    assert.match(body, /### Failed and missing \(4\)/);
    // One repetition of each combination: restler's drop shows seed against seed, flagged by nothing.
    assert.match(body, /no regression beyond 5% and significant at 0\.05/);
    assert.match(body, /\*\*Too few repetitions:\*\*/);
    assert.match(body, /\| higher is better \| 🔴 worse \|/);
    assert.doesNotMatch(body, /@octocat|<img/);
    assert.equal(report.outputs.regressions, '0');
    // Nothing was left running.
    assert.deepEqual(
      bed.compute.listAll().filter((v) => v.status !== 'DELETED'),
      [],
    );
  });

  it('flags exactly the tool whose repetitions truly shifted, with its interval and p-value, and calls the jitter not significant', async () => {
    const nightlySha = '7201'.padEnd(40, '0');
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR + 1,
      baseRef: defaultBranch,
      baseSha: nightlySha,
    });
    await pipeline(scheduleEvent('0 3 * * *', { repo: bed.repository }), '7201', repeatedStudy(false));
    const event = workflowDispatchEvent({ 'pr-number': String(PR + 1) }, { repo: bed.repository });
    const report = await pipeline(event, '7202', repeatedStudy(true));

    const comments = bed.github.comments(bed.repository, PR + 1).filter((c) => c.user.type === 'Bot');
    assert.equal(comments.length, 1);
    const body = comments[0]?.body ?? '';
    const summary = report.summary ?? '';
    const json = JSON.parse(report.outputs['summary-json'] ?? '{}') as {
      regressions: number;
      regressed: {
        combination: string;
        metric: string;
        baseline: number;
        current: number;
        percent: number;
        p: number;
      }[];
    };
    // 8 against 8, every value beyond the other side: the exact two-sided p is 2/C(16,8); Holm over 4 comparisons.
    const p = (4 * 2) / 12870;
    assert.equal(report.outputs.regressions, '1');
    assert.equal(json.regressions, 1);
    assert.equal(json.regressed.length, 1);
    const [flagged] = json.regressed;
    assert.equal(flagged?.combination, 'service=petclinic, tool=slower');
    assert.equal(flagged?.metric, 'time_s');
    assert.ok(Math.abs((flagged?.p ?? 0) - p) < 1e-12, String(flagged?.p));
    assert.ok((flagged?.percent ?? 0) > 18 && (flagged?.percent ?? 0) < 22, String(flagged?.percent));

    const row = (text: string, tool: string, metric: string): string =>
      text
        .split('\n')
        .find((l) => l.startsWith(`| service=petclinic, tool=${tool} | ${escapeMarkdown(metric)} |`)) ?? '';
    for (const text of [body, summary]) {
      assert.match(text, /### Against the baseline: 1 regression\(s\) of 4 comparison\(s\)/);
      const slower = row(text, 'slower', 'time_s');
      // The shift with its interval in percent, then the adjusted p, then the verdict.
      assert.match(
        slower,
        /\| \+\d+(\.\d+)?% \[\+\d+(\.\d+)?, \+\d+(\.\d+)?\] \| 0\.000622 \| 🔻 regressed \| /,
        slower,
      );
      assert.match(row(text, 'steady', 'time_s'), /\| ~ not significant \| /);
      assert.match(row(text, 'steady', 'coverage'), /\| ~ not significant \| /);
      assert.match(row(text, 'slower', 'coverage'), /\| ~ not significant \| /);
      assert.doesNotMatch(text, /Too few repetitions/);
    }
    // The CSV in the artifact holds the values the comment and summary-json summarise.
    const [header, ...records] = (await readFile(path.join(lastResults, 'results.csv'), 'utf8'))
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (name: string): number => header?.indexOf(name) ?? -1;
    const slowerTimes = records
      .filter((r) => r[col('param_tool')] === 'slower' && r[col('metric')] === 'time_s')
      .map((r) => Number(r[col('value')]))
      .sort((a, b) => a - b);
    assert.equal(slowerTimes.length, 8);
    assert.equal((slowerTimes[3] + slowerTimes[4]) / 2, flagged?.current);
    assert.match(row(body, 'slower', 'time_s'), new RegExp(`\\| ${formatNumber(flagged?.current ?? 0)} \\[`));
    // The HTML page (the report artifact) shows the same shift, interval and p.
    const html =
      bed.artifacts
        .filesOf(report.outputs['report-artifact-name'] ?? '')
        .get('report.html')
        ?.toString('utf8') ?? '';
    const shiftText = /\| (\+[\d.]+% \[[^\]]+\]) \|/.exec(row(body, 'slower', 'time_s'))?.[1] ?? '';
    assert.ok(shiftText && html.includes(shiftText), shiftText);
    assert.ok(html.includes('0.000622'));
    // The comment's shift is the summary-json's, rounded the same way a table rounds it.
    const shown = /\| \+(\d+(?:\.\d+)?)% \[/.exec(row(body, 'slower', 'time_s'))?.[1];
    assert.equal(Number(shown).toPrecision(3), (flagged?.percent ?? 0).toPrecision(3));
  });

  it('runs a workflow_dispatch with matrix inputs narrowing the axes', async () => {
    const event = workflowDispatchEvent({ tool: 'evomaster,restler' }, { repo: bed.repository });
    const report = await pipeline(event, '7003', {
      ...study(1),
      overrides: 'tool=evomaster,restler',
      count: 18,
      lost: 0,
    });
    const summary = JSON.parse(report.outputs['summary-json'] ?? '{}') as {
      counts?: { experiments?: number };
    };
    assert.equal(summary.counts?.experiments, 18);
  });
});
