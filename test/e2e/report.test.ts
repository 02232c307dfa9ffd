import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CollectedFile, ManifestExperiment } from '../../src/collect/manifest.ts';
import { buildManifest } from '../../src/collect/manifest.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import { issueCommentOnPullRequest, scheduleEvent, workflowRunEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';
import { SERVICES, TOOLS } from '../fixtures/rest-study.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const reportDir = path.join(root, 'actions/report');
const BUCKET = 'report-results';
const BASE_SHA = 'a'.repeat(40);
const PR = 12;

/** Writes a collected run of 9 services x 6 tools (3 failed, 1 missing) like actions/collect leaves it. */
async function seedRun(
  dir: string,
  runId: string,
  coverage: (tool: number, service: number) => number,
  opts: { extra?: number; idPad?: number } = {},
): Promise<string> {
  const out = await mkdtemp(path.join(dir, `results-${runId}-`));
  const experiments: ManifestExperiment[] = [];
  const combos: [number, number][] = [];
  for (let t = 0; t < TOOLS.length; t++) for (let s = 0; s < SERVICES.length; s++) combos.push([t, s]);
  for (let i = 0; i < (opts.extra ?? 0); i++) combos.push([i % TOOLS.length, i % SERVICES.length]);
  for (const [i, [t, s]] of combos.entries()) {
    const id = `${TOOLS[t]}-${SERVICES[s]}-${i}${'x'.repeat(opts.idPad ?? 0)}`;
    const failed = i % 20 === 7;
    const missing = i === 53;
    const files: CollectedFile[] = [];
    const put = async (rel: string, text: string): Promise<void> => {
      await mkdir(path.dirname(path.join(out, id, rel)), { recursive: true });
      await writeFile(path.join(out, id, rel), text);
      files.push({ path: `${id}/${rel}`, object: `x/${rel}`, size: text.length, verified: 'md5' });
    };
    if (!missing) {
      await put('outputs/metrics.json', JSON.stringify({ coverage: coverage(t, s), time: 100 + t }));
      if (failed) await put('log.txt', `starting\nError: @octocat fix #1 <img src=x> | boom ${i}\n`);
    }
    experiments.push({
      id,
      dir: id,
      status: missing ? 'missing' : failed ? 'failed' : 'succeeded',
      state: missing ? null : failed ? 'failed' : 'succeeded',
      exitCode: missing ? null : failed ? 2 : 0,
      attempts: missing ? null : failed ? 2 : 1,
      ...(failed ? { reason: 'the command exited with 2 @maintainers' } : {}),
      ...(missing ? {} : { startedAt: '2025-01-01T00:00:00Z', endedAt: '2025-01-01T01:00:00Z' }),
      params: { tool: TOOLS[t], service: SERVICES[s], seed: 1 },
      ...(missing ? {} : { provenance: { zone: 'us-central1-a', machineType: 'e2-standard-4', spot: true } }),
      planned: true,
      files,
      problems: [],
    });
  }
  const manifest = buildManifest({
    location: { bucket: BUCKET, prefix: 'gce-matrix', runId },
    experiments,
    collectedAt: new Date('2025-01-01T02:00:00Z'),
  });
  await writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest));
  return out;
}

describe('actions/report end to end (real bundle, stand-ins)', () => {
  let bed: TestBed;
  let defaultBranch: string;

  const report = async (
    resultsPath: string,
    event: WorkflowEvent,
    runId: string,
    sha: string,
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
      inputs: {
        path: resultsPath,
        project: bed.project,
        bucket: BUCKET,
        metrics: 'coverage:higher, time:lower',
        pivot: 'tool,service',
      },
    });
  const log = (r: StepResult): string => r.jobLog.join('\n');

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    const ev = scheduleEvent('0 3 * * *', { repo: bed.repository });
    defaultBranch = (ev.payload.repository as { default_branch: string }).default_branch;
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR,
      baseRef: defaultBranch,
      baseSha: BASE_SHA,
    });
  });

  after(async () => {
    await bed.close();
  });

  it('records a baseline on a schedule, then comments once on the PR with tables, a chart, failures and deltas', async () => {
    const base = await seedRun(bed.dir, '100', (t, s) => 50 + t * 5 + s);
    const rec = await report(base, scheduleEvent('0 3 * * *', { repo: bed.repository }), '100', BASE_SHA);
    assert.equal(rec.conclusion, 'success', log(rec));
    const latest = bed.storage.getObject(BUCKET, `gce-matrix/baselines/${defaultBranch}/latest.json`);
    assert.ok(latest, 'latest.json recorded');
    assert.ok(bed.storage.getObject(BUCKET, `gce-matrix/baselines/${defaultBranch}/${BASE_SHA}.json`));
    const recorded = JSON.parse(latest.data.toString()) as {
      experiments: Record<string, unknown>;
      sha: string;
    };
    assert.equal(recorded.sha, BASE_SHA);
    assert.equal(Object.keys(recorded.experiments).length, 50, '54 - 3 failed - 1 missing');
    assert.equal(bed.github.comments(bed.repository, PR).length, 0, 'a scheduled run comments nowhere');
    assert.match(rec.summary ?? '', /recorded this run as the baseline/);

    // The PR run: restler lost 20% coverage everywhere.
    const pr = await seedRun(bed.dir, '200', (t, s) => (50 + t * 5 + s) * (TOOLS[t] === 'restler' ? 0.8 : 1));
    const event = issueCommentOnPullRequest({ repo: bed.repository, number: PR, body: '/gce-matrix run' });
    const first = await report(pr, event, '200', 'b'.repeat(40));
    assert.equal(first.conclusion, 'success', log(first));
    const comments = bed.github.comments(bed.repository, PR);
    assert.equal(comments.length, 1);
    const body = comments[0].body;
    assert.ok(body.startsWith('<!-- gce-matrix-report: benchmarks/gce-matrix-report -->'), body.slice(0, 80));
    assert.match(body, /54 experiment\(s\), \*\*50 succeeded\*\*, 3 failed, 1 missing/);
    assert.match(body, /\| tool \| features \| genome \| languagetool \| ncs \|/);
    assert.match(body, /\| restler \| 48\.8 \(n=1\) \| 53\.6 \(n=1\) \|/);
    assert.match(body, /```mermaid\nxychart-beta/);
    assert.match(body, /### Failed and missing \(4\)/);
    assert.match(body, /❔ missing/);
    assert.match(body, /merge base `aaaaaaaaaaaa`/);
    // One seed per combination: restler's 20% drop on each service shows seed against seed, but one repetition
    // can never make it significant, and the report says how many it needs instead of flagging it.
    assert.match(body, /no regression beyond 5% and significant at 0\.05/);
    assert.match(body, /\*\*Too few repetitions:\*\* .* at least 4 repetitions per combination/);
    assert.match(body, /-20\.0%\) \| higher is better \| 🔴 worse \|/);
    assert.doesNotMatch(body, /@octocat|@maintainers|#1 |<img/);
    assert.equal(first.outputs.regressions, '0');
    const summary = JSON.parse(first.outputs['summary-json']) as {
      counts: { failed: number };
      regressions: number;
    };
    assert.equal(summary.counts.failed, 3);
    assert.equal(summary.regressions, 0);
    assert.match(first.summary ?? '', /### coverage \(higher is better\)/);

    // A second report of the same workflow updates the same comment.
    const fixed = await seedRun(bed.dir, '201', (t, s) => 50 + t * 5 + s);
    const second = await report(fixed, event, '201', 'c'.repeat(40));
    assert.equal(second.conclusion, 'success', log(second));
    const after = bed.github.comments(bed.repository, PR);
    assert.equal(after.length, 1);
    assert.equal(after[0].id, comments[0].id);
    assert.match(after[0].body, /Run `201`/);
    assert.match(after[0].body, /no regression beyond 5% and significant/);
    assert.equal(second.outputs.regressions, '0');
  });

  it('keeps a huge report within 65,536 characters, updating the same comment', async () => {
    const huge = await seedRun(bed.dir, '300', (t, s) => 10 + t + s, { extra: 3000, idPad: 60 });
    const event = issueCommentOnPullRequest({ repo: bed.repository, number: PR, body: '/gce-matrix run' });
    const r = await report(huge, event, '300', 'd'.repeat(40));
    assert.equal(r.conclusion, 'success', log(r));
    const comments = bed.github.comments(bed.repository, PR);
    assert.equal(comments.length, 1);
    const body = comments[0].body;
    assert.ok(body.length <= 65_536, String(body.length));
    assert.match(body, /Run `300`: 3054 experiment\(s\)/);
    assert.match(body, /too long for a comment/);
    assert.match(body, /\/actions\/runs\/300#artifacts/);
    assert.match(
      body,
      /\nFull report \(HTML, with charts and trends\): artifact \[gce-matrix-report-300\]\(/,
    );
    const html = bed.artifacts.filesOf('gce-matrix-report-300').get('report.html')?.toString('utf8') ?? '';
    assert.match(html, /<table class="results">/);
    assert.ok((r.summary ?? '').length < 1024 * 1024);
  });

  it('says plainly when there is no baseline', async () => {
    const pr = await seedRun(bed.dir, '400', () => 1);
    const r = await runStep({
      actionDir: reportDir,
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: issueCommentOnPullRequest({ repo: bed.repository, number: PR }),
      context: {
        repository: bed.repository,
        runId: '400',
        token: bed.github.defaultToken,
        workflow: 'other',
      },
      env: bed.env,
      inputs: { path: pr, project: bed.project, bucket: BUCKET, 'baseline-ref': 'release-9' },
    });
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(r.summary ?? '', /none recorded for `release-9` yet/);
    assert.equal(bed.github.comments(bed.repository, PR).length, 2, 'another workflow has its own comment');
  });

  it('reports from a workflow_run workflow given only the artifact directory and pr-number (fork-safe)', async () => {
    const pr = await seedRun(bed.dir, '500', () => 2);
    const r = await runStep({
      actionDir: reportDir,
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: workflowRunEvent('completed', { repo: bed.repository }),
      context: {
        repository: bed.repository,
        runId: '501',
        token: bed.github.defaultToken,
        workflow: 'report',
      },
      env: bed.env,
      inputs: { path: pr, 'pr-number': String(PR), baseline: 'none' },
    });
    assert.equal(r.conclusion, 'success', log(r));
    const comments = bed.github.comments(bed.repository, PR);
    assert.equal(comments.length, 3);
    assert.match(comments[2].body, /Run `500`: 54 experiment\(s\)/);
    // The HTML report is named after the reported run but is an artifact of this one, and linked there.
    assert.equal(r.outputs['report-artifact-name'], 'gce-matrix-report-500');
    assert.match(
      comments[2].body,
      /\nFull report \(HTML, with charts and trends\): artifact \[gce-matrix-report-500\]\(\S+\/actions\/runs\/501#artifacts\)\.\n/,
    );
    const files = bed.artifacts.filesOf('gce-matrix-report-500');
    const html = files.get('report.html')?.toString('utf8') ?? '';
    assert.match(html, /<title>gce-matrix report · 500<\/title>/);
    assert.match(html, /<svg class="chart"[^>]* data-metric="coverage">/);
    assert.match(html, /<table class="heatmap" data-metric="coverage"/);
    assert.doesNotMatch(html, /<img|@octocat fix #1 <img/, 'log lines escaped in the page too');
  });

  it('reports without the link when the upload fails, and keeps the files when asked not to upload', async () => {
    const results = await seedRun(bed.dir, '600', () => 3);
    const step = async (inputs: Record<string, string>, env: Record<string, string>): Promise<StepResult> =>
      runStep({
        actionDir: reportDir,
        workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
        event: issueCommentOnPullRequest({ repo: bed.repository, number: PR }),
        context: {
          repository: bed.repository,
          runId: '600',
          token: bed.github.defaultToken,
          workflow: 'third',
        },
        env,
        inputs: { path: results, 'pr-number': String(PR), baseline: 'none', ...inputs },
      });
    const expired = await step(
      {},
      { ...bed.env, ACTIONS_RUNTIME_TOKEN: bed.artifacts.mintRuntimeToken({ expiresInSeconds: -60 }) },
    );
    assert.equal(expired.conclusion, 'success', log(expired));
    const warned = expired.allAnnotations.filter((a) => a.level === 'warning').map((a) => a.message);
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.match(
      warned[0],
      /^Could not upload the HTML report as artifact gce-matrix-report-600: .*The job summary still has the report\.$/s,
    );
    const body =
      bed.github.comments(bed.repository, PR).find((c) => c.body.includes('third/gce-matrix-report'))?.body ??
      '';
    assert.match(body, /Run `600`: 54 experiment\(s\)/);
    assert.doesNotMatch(body, /Full report \(HTML/);
    assert.doesNotMatch(expired.summary ?? '', /Full report \(HTML/);
    assert.equal(
      bed.artifacts.artifacts().filter((a) => a.name === 'gce-matrix-report-600' && a.finalized).length,
      0,
    );

    const kept = path.join(bed.dir, 'kept-report');
    const local = await step({ 'report-artifact': 'false', 'report-path': kept }, bed.env);
    assert.equal(local.conclusion, 'success', log(local));
    assert.equal(local.outputs['report-html'], path.join(kept, 'report.html'));
    assert.equal(local.outputs['report-artifact-name'] ?? '', '');
    assert.match(await readFile(path.join(kept, 'report.html'), 'utf8'), /<svg class="chart"/);
    assert.match(await readFile(path.join(kept, 'report.md'), 'utf8'), /Run `600`: 54 experiment\(s\)/);
    assert.equal(bed.artifacts.artifacts().filter((a) => a.name === 'gce-matrix-report-600').length, 0);
  });
});
