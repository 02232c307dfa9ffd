import { writeCollectedRun } from '../fixtures/collected-run.ts';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { WorkflowEvent } from '../bed/events.ts';
import { issueCommentOnPullRequest, scheduleEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const reportDir = path.join(root, 'actions/report');
const BUCKET = 'history-results';
const PR = 21;
const TOOLS = ['alpha', 'beta', 'gamma'];
const SEEDS = 6;
const shaOf = (n: number): string => String(n).repeat(40).slice(0, 40);

/** A collected run of TOOLS x SEEDS, every experiment succeeded, `cov` = value(tool, seed). */
async function seedRun(
  dir: string,
  runId: string,
  value: (tool: string, seed: number) => number,
): Promise<string> {
  const out = await mkdtemp(path.join(dir, `results-${runId}-`));
  return writeCollectedRun(
    out,
    { bucket: BUCKET, prefix: 'gce-matrix', runId },
    TOOLS.flatMap((tool) =>
      Array.from({ length: SEEDS }, (_, i) => ({
        id: `${tool}-${i + 1}`,
        params: { tool, seed: i + 1 },
        metrics: { cov: value(tool, i + 1) },
      })),
    ),
  );
}

/** Seed noise of about ±1 around a centre. */
const NOISE = [-1, 0.6, -0.3, 0.9, -0.7, 0.2];

describe('actions/report keeps a branch history and scores a PR run against it (real bundle, stand-ins)', () => {
  let bed: TestBed;
  let defaultBranch: string;
  const log = (r: StepResult): string => r.jobLog.join('\n');
  const warnings = (r: StepResult): string[] =>
    r.allAnnotations.filter((a) => a.level === 'warning').map((a) => a.message);

  const report = async (
    resultsPath: string,
    event: WorkflowEvent,
    runId: string,
    sha: string,
    inputs: Record<string, string>,
  ): Promise<StepResult> =>
    runStep({
      actionDir: reportDir,
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event,
      context: {
        repository: bed.repository,
        runId,
        sha,
        ref: `refs/heads/${defaultBranch}`,
        token: bed.github.defaultToken,
        workflow: 'benchmarks',
      },
      env: bed.env,
      inputs: { path: resultsPath, project: bed.project, bucket: BUCKET, metrics: 'cov:higher', ...inputs },
    });
  const record = async (runId: string, sha: string, centre: number, history: string): Promise<StepResult> => {
    const results = await seedRun(
      bed.dir,
      runId,
      (tool, seed) => centre + TOOLS.indexOf(tool) * 10 + NOISE[seed - 1],
    );
    const r = await report(results, scheduleEvent('0 3 * * *', { repo: bed.repository }), runId, sha, {
      history,
    });
    assert.equal(r.conclusion, 'success', log(r));
    return r;
  };
  const historyObject = ():
    { entries: { runId: string; sha: string; combinations: Record<string, unknown> }[] } | undefined => {
    const o = bed.storage.getObject(BUCKET, `gce-matrix/baselines/${defaultBranch}/history.json`);
    return o ? (JSON.parse(o.data.toString('utf8')) as ReturnType<typeof historyObject>) : undefined;
  };
  const prEvent = (): WorkflowEvent =>
    issueCommentOnPullRequest({ repo: bed.repository, number: PR, body: '/gce-matrix run' });

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    const ev = scheduleEvent('0 3 * * *', { repo: bed.repository });
    defaultBranch = (ev.payload.repository as { default_branch: string }).default_branch;
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR,
      baseRef: defaultBranch,
      baseSha: shaOf(5),
    });
  });

  after(async () => {
    await bed.close();
  });

  it('compares as before on a branch without history.json, saying so in the log without a warning', async () => {
    await record('600', shaOf(6), 50, '0');
    assert.ok(bed.storage.getObject(BUCKET, `gce-matrix/baselines/${defaultBranch}/latest.json`));
    assert.equal(historyObject(), undefined, 'history: 0 keeps none');
    const pr = await seedRun(bed.dir, '650', (tool, seed) => 50 + TOOLS.indexOf(tool) * 10 + NOISE[seed - 1]);
    const r = await report(pr, prEvent(), '650', 'e'.repeat(40), {});
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(log(r), /No history of .*history\.json/);
    assert.deepEqual(
      warnings(r).filter((w) => /history/i.test(w)),
      [],
    );
    const body = bed.github.comments(bed.repository, PR)[0].body;
    assert.match(body, /### Against the baseline: 0 regression\(s\) of 3 comparison\(s\)/);
    assert.doesNotMatch(body, /z \(history\)/);
    // Without history.json, the HTML report has no trend section.
    const html = bed.artifacts.filesOf('gce-matrix-report-650').get('report.html')?.toString('utf8') ?? '';
    assert.match(html, /<table class="significance">/);
    assert.doesNotMatch(html, /<section id="trend">/);
  });

  it('keeps the newest K of K+1 recorded runs, then shows a far-off combination outside the noise', async () => {
    // Four nightly runs, the centre wandering a little; the last is the PR's merge base.
    const centres = [50, 50.8, 49.5, 50.3];
    for (const [i, centre] of centres.entries()) {
      const runId = String(701 + i);
      const rec = await record(runId, shaOf(i + 2), centre, '3');
      assert.match(rec.summary ?? '', /history\.json/);
      assert.equal(historyObject()?.entries.length, Math.min(i + 1, 3));
    }
    const h = historyObject();
    assert.deepEqual(
      h?.entries.map((x) => x.runId),
      ['702', '703', '704'],
      'the oldest of 4 dropped',
    );
    assert.equal(h?.entries[2].sha, shaOf(5));
    assert.deepEqual(Object.keys(h?.entries[2].combinations ?? {}).sort(), [
      'tool=alpha',
      'tool=beta',
      'tool=gamma',
    ]);

    // The PR: beta lost 15 points (its branch noise is under 1); alpha and gamma as usual.
    const pr = await seedRun(
      bed.dir,
      '800',
      (tool, seed) => 50 + TOOLS.indexOf(tool) * 10 + NOISE[seed - 1] - (tool === 'beta' ? 15 : 0),
    );
    const r = await report(pr, prEvent(), '800', 'f'.repeat(40), { history: '3' });
    assert.equal(r.conclusion, 'success', log(r));
    const comments = bed.github.comments(bed.repository, PR);
    assert.equal(comments.length, 1, 'the same comment updated');
    const body = comments[0].body;
    assert.match(body, /merge base `555555555555`/);
    assert.match(body, /\| verdict \| z \(history\) \|/);
    assert.match(body, /\| tool=beta \| cov \| [^\n]* \| 🔻 regressed \| -\d+\.\d ⚠️ outside the noise \|/);
    assert.doesNotMatch(body, /\| tool=alpha \|[^\n]*outside the noise/);
    assert.doesNotMatch(body, /\| tool=gamma \|[^\n]*outside the noise/);
    assert.match(body, /last 3 recorded run\(s\) of `[^`]+`/);
    assert.match(
      body,
      /outside the branch's run-to-run noise\. It is noted beside the verdict and does not change it/,
    );
    assert.equal(r.outputs.regressions, '1', 'the verdict is the test, not the z-score');
    const summary = JSON.parse(r.outputs['summary-json']) as {
      history: {
        runs: number;
        outside: number;
        zScores: { combination: string; z: number; outside: boolean }[];
      };
    };
    assert.equal(summary.history.runs, 3);
    assert.equal(summary.history.outside, 1);
    assert.equal(summary.history.zScores[0].combination, 'tool=beta');
    assert.ok(summary.history.zScores[0].z < -3, String(summary.history.zScores[0].z));
    assert.equal(historyObject()?.entries.length, 3, 'comparing never writes the history');

    // The HTML report, uploaded as this run's artifact and linked from the comment and the summary.
    const name = 'gce-matrix-report-800';
    assert.equal(r.outputs['report-artifact-name'], name);
    const uploaded = bed.artifacts.artifacts().filter((a) => a.finalized && a.name === name);
    assert.equal(uploaded.length, 1);
    assert.equal(r.outputs['report-artifact-id'], String(uploaded[0].id));
    assert.match(
      r.outputs['report-artifact-url'],
      new RegExp(`/actions/runs/800/artifacts/${uploaded[0].id}$`),
    );
    const line = new RegExp(
      `\\nFull report \\(HTML, with charts and trends\\): artifact \\[${name}\\]\\(\\S+/actions/runs/800#artifacts\\)\\.\\n`,
    );
    assert.match(body, line);
    assert.match(r.summary ?? '', line);
    const files = bed.artifacts.filesOf(name);
    assert.deepEqual([...files.keys()].sort(), ['report.html', 'report.md']);
    const html = files.get('report.html')?.toString('utf8') ?? '';
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<table class="significance">[\s\S]*<th scope="col" class="num">z \(history\)<\/th>/);
    assert.match(html, /<tr><td>tool=beta<\/td><td>cov<\/td>[^\n]*class="verdict-regressed"/);
    assert.match(html, /<svg class="chart"[^>]* data-metric="cov">/);
    assert.match(html, /<line class="error-bar"/);
    assert.match(html, /<table class="heatmap" data-metric="cov"/);
    const trend = /<section id="trend">[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
    assert.match(trend, /<h2>Trend on <code>[^<]+<\/code><\/h2>/);
    assert.match(trend, /the last 3 recorded runs of/);
    assert.equal(trend.match(/<svg class="sparkline"/g)?.length, 3, 'one sparkline per tool');
    assert.match(trend, /<tr class="outside"><td>tool=beta<\/td>/);
    const markdown = files.get('report.md')?.toString('utf8') ?? '';
    assert.match(markdown, /### Against the baseline: 1 regression\(s\) of 3 comparison\(s\)/);
    assert.doesNotMatch(markdown, /Full report \(HTML/, 'the artifact does not link to itself');
  });
});
