/**
 * Renders the report of 10,000 experiments (6 tools x many services x seeds, 2 metrics, some failures, a
 * baseline with regressions) and prints the render time and the comment's length beside their targets.
 */
import type { Baseline } from '../src/report/compare.ts';
import { parseDirections } from '../src/report/compare.ts';
import type { ReportExperiment } from '../src/report/model.ts';
import { metricNames, totalsOf } from '../src/report/model.ts';
import {
  COMMENT_LIMIT,
  renderComment,
  renderReport,
  significantRegressions,
  summaryJson,
} from '../src/report/render.ts';
import { comparedWith } from '../src/report/significance.ts';

const N = 10_000;
const experiments: ReportExperiment[] = Array.from({ length: N }, (_, i) => ({
  id: `tool-${i % 6}_service-${Math.floor(i / 6) % 40}_seed-${Math.floor(i / 240) + 1}`,
  status: i % 97 === 0 ? 'failed' : i % 331 === 0 ? 'missing' : 'succeeded',
  attempts: i % 50 === 0 ? 2 : 1,
  zone: 'us-central1-a',
  durationSeconds: 3600,
  costUsd: 0.05,
  params: {
    tool: `tool-${i % 6}`,
    service: `service-${Math.floor(i / 6) % 40}`,
    seed: String(Math.floor(i / 240) + 1),
  },
  metrics: { coverage: 40 + (i % 37), requests: 1000 + (i % 101) },
  reason: i % 97 === 0 ? `exit 1 @someone #${i} <b>x</b>` : undefined,
  logTail: i % 97 === 0 ? 'line one\nError: something | went `wrong`\n'.repeat(3) : undefined,
  problems: [],
}));
const baseline: Baseline = {
  schema: 1,
  ref: 'main',
  sha: 'a'.repeat(40),
  runId: 'base',
  recordedAt: new Date(0).toISOString(),
  experiments: Object.fromEntries(
    experiments.map((x, i) => [
      x.id,
      { metrics: { coverage: (x.metrics.coverage ?? 0) * (i % 9 === 0 ? 1.2 : 1), requests: 1000 } },
    ]),
  ),
};

const start = performance.now();
const data = {
  runId: 'bench',
  source: 'gs://b/p/runs/bench/',
  experiments,
  totals: totalsOf(experiments),
  metrics: metricNames(experiments),
};
const compared = comparedWith(data, baseline, parseDirections('coverage:higher,requests:higher'), {
  thresholdPercent: 5,
});
const opts = {
  title: 'gce-matrix report',
  directions: parseDirections('coverage:higher,requests:higher'),
  baseline: {
    kind: 'compared',
    ref: 'main',
    which: 'merge-base',
    baseline,
    ...compared,
    thresholdPercent: 5,
  } as const,
  runUrl: 'https://github.com/o/r/actions/runs/1',
  artifactUrl: 'https://github.com/o/r/actions/runs/1#artifacts',
  marker: '<!-- gce-matrix-report: bench -->',
};
const summary = renderReport(data, opts);
const comment = renderComment(data, opts);
const json = summaryJson(data, opts.baseline);
const ms = performance.now() - start;

const ok = (pass: boolean): string => (pass ? 'ok' : 'MISSED');
console.log(
  `report: ${N} experiments, ${compared.comparison.regressions.length} per-experiment regressions, ` +
    `${significantRegressions(opts.baseline).length} significant of ${compared.significance.comparisons.length} comparisons`,
);
console.log(
  `  render (aggregate, compare, repetitions tested, summary, comment, JSON): ${ms.toFixed(0)} ms   target < 250 ms   ${ok(ms < 250)}`,
);
console.log(
  `  comment: ${comment.length} characters   target <= ${COMMENT_LIMIT}   ${ok(comment.length <= COMMENT_LIMIT)}`,
);
console.log(
  `  job summary: ${summary.length} characters (GitHub's limit 1 MiB); summary-json: ${json.length} characters`,
);
if (ms >= 250 || comment.length > COMMENT_LIMIT) process.exitCode = 1;
