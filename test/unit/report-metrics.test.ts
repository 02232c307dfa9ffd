import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { prepareLocalRun } from '../../src/cli/local-run.ts';
import { ConfigurationError } from '../../src/errors.ts';
import { parseCollectInputs } from '../../src/collect/inputs.ts';
import { renderOptions, withSpecReport } from '../../src/cli/report-files.ts';
import { escapeMarkdown } from '../../src/markdown.ts';
import { parseRunRecord, recordText } from '../../src/record.ts';
import type { RunRecord } from '../../src/record.ts';
import type { Baseline } from '../../src/report/compare.ts';
import { renderHtml } from '../../src/report/html.ts';
import { parseReportInputs } from '../../src/report/inputs.ts';
import { reportSettingsOf } from '../../src/report/main.ts';
import { mergeMetricInfos, metricInfosJson, parseMetricsText } from '../../src/report/metric-info.ts';
import type { MetricInfo, ReportData, ReportExperiment } from '../../src/report/model.ts';
import { totalsOf } from '../../src/report/model.ts';
import type { RenderOptions } from '../../src/report/render.ts';
import { renderReport } from '../../src/report/render.ts';
import { comparedWith, DEFAULT_METHOD } from '../../src/report/significance.ts';
import { watchReportSettings } from '../../src/watch/watch.ts';

const PLAN_JSON =
  '{"line_coverage":{"unit":"%","better":"higher","description":"Lines covered by the generated tests"},"time_s":{"unit":"s","better":"lower"}}';

function reader(inputs: Record<string, string>): (name: string) => string {
  return (name) => inputs[name] ?? '';
}

function reportInputs(inputs: Record<string, string>) {
  return parseReportInputs(
    reader({ baseline: 'none', ...inputs }),
    { GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '1', GITHUB_WORKFLOW: 'bench' },
    { name: 'push', payload: {} },
    '/ws',
  );
}

describe('the metrics input: directions or the plan’s JSON', () => {
  const good: [string, string, Record<string, MetricInfo>][] = [
    ['empty', '', {}],
    [
      'directions',
      'score:higher, time_s:lower',
      { score: { better: 'higher' }, time_s: { better: 'lower' } },
    ],
    [
      'the plan’s JSON',
      PLAN_JSON,
      {
        line_coverage: { unit: '%', better: 'higher', description: 'Lines covered by the generated tests' },
        time_s: { unit: 's', better: 'lower' },
      },
    ],
    ['JSON with a bare direction, after blanks', '  {"score": "lower"}', { score: { better: 'lower' } }],
    ['the plan’s output for no metrics', '{}', {}],
  ];
  for (const [what, text, want] of good) {
    it(`reads ${what}`, () => {
      const s = reportInputs({ metrics: text });
      assert.deepEqual(Object.fromEntries(s.metricInfo), want);
      const directions = Object.entries(want).flatMap(([k, v]) => (v.better ? [[k, v.better]] : []));
      assert.deepEqual([...s.directions], directions);
    });
  }

  const bad: [string, string, RegExp][] = [
    [
      'broken JSON',
      '{"a": ',
      /^input metrics starts with \{ but is not valid JSON .*name:higher, other:lower$/,
    ],
    [
      'a JSON list',
      '{"a": [1]}',
      /^input metrics\.a must be a mapping of unit, better, description or a direction/,
    ],
    [
      'a bad direction in JSON',
      '{"a": {"better": "up"}}',
      /^input metrics\.a\.better must be higher or lower \(got "up"\)$/,
    ],
    ['an unknown key in JSON', '{"a": {"colour": "red"}}', /^input metrics\.a has an unknown key "colour"/],
    ['a bad direction in text', 'a:up', /^input metrics: "a:up" must be name:higher or name:lower/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => reportInputs({ metrics: text }),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }

  it('keeps the default title when the plan has none', () => {
    assert.equal(reportInputs({ title: '' }).title, 'gce-matrix report');
    assert.equal(reportInputs({ title: 'REST API testing tools' }).title, 'REST API testing tools');
  });

  it('collect reads the same input for the unit column of results.csv', () => {
    const s = parseCollectInputs(
      reader({ bucket: 'my-bucket', 'run-id': 'r1', project: 'my-project', metrics: PLAN_JSON }),
      { runId: 'r1', runAttempt: 1, repository: 'o/r', sha: 'abc', defaultProject: undefined },
      '/ws',
    );
    assert.equal(s.metricInfo.get('line_coverage')?.unit, '%');
    assert.throws(
      () =>
        parseCollectInputs(
          reader({ bucket: 'my-bucket', 'run-id': 'r1', project: 'my-project', metrics: '{"a": 1}' }),
          { runId: 'r1', runAttempt: 1, repository: 'o/r', sha: 'abc', defaultProject: undefined },
          '/ws',
        ),
      /^ConfigurationError: input metrics\.a must be a mapping/,
    );
  });

  it('merges declarations field by field, the later winning, and writes JSON that reads back', () => {
    const merged = mergeMetricInfos(
      parseMetricsText(PLAN_JSON),
      parseMetricsText('line_coverage:lower, new:higher'),
    );
    assert.deepEqual(Object.fromEntries(merged), {
      line_coverage: { unit: '%', better: 'lower', description: 'Lines covered by the generated tests' },
      time_s: { unit: 's', better: 'lower' },
      new: { better: 'higher' },
    });
    assert.deepEqual(parseMetricsText(metricInfosJson(merged)), merged);
    const proto = parseMetricsText('{"__proto__": {"unit": "x"}}');
    assert.deepEqual(parseMetricsText(metricInfosJson(proto)).get('__proto__'), { unit: 'x' });
  });
});

describe('run.json keeps the metrics for the watcher', () => {
  const RUN: RunRecord = {
    schema: 1,
    runId: '4242',
    repository: 'o/r',
    sha: 'c0ffee',
    ref: 'refs/pull/7/merge',
    event: 'pull_request',
    prNumber: 7,
    workflow: 'bench',
    githubRunId: '4242',
    createdAt: '2026-03-01T12:00:00.000Z',
  };
  const WATCH = {
    path: '/tmp/r',
    bucket: 'b',
    prefix: 'gce-matrix',
    githubToken: 't',
    apiUrl: 'https://api.github.com',
    runUrl: 'https://github.com/o/r/actions/runs/9',
    artifactUrl: 'https://github.com/o/r/actions/runs/9#artifacts',
  };

  it('round-trips the inline report’s metrics into the watcher’s settings', () => {
    const inline = reportInputs({ metrics: PLAN_JSON, title: 'REST API testing tools' });
    const parsed = parseRunRecord(recordText({ ...RUN, report: reportSettingsOf(inline) }), 'run.json');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    if (!parsed.ok) return;
    const watched = watchReportSettings(parsed.value, WATCH);
    assert.deepEqual(watched.metricInfo, inline.metricInfo);
    assert.deepEqual(watched.directions, inline.directions);
    assert.equal(watched.title, 'REST API testing tools');
  });

  it('reads an older record without metrics, and leaves them out when none were declared', () => {
    const old = {
      title: 't',
      markerKey: 'k',
      pivot: null,
      directions: { a: 'higher' },
      thresholdPercent: 5,
      baseline: 'compare',
      baselineRef: 'main',
      comment: true,
    };
    const parsed = parseRunRecord(recordText({ ...RUN, report: old }), 'run.json');
    assert.ok(parsed.ok);
    if (!parsed.ok) return;
    assert.equal(parsed.value.report?.metrics, undefined);
    assert.equal(watchReportSettings(parsed.value, WATCH).metricInfo.size, 0);
    assert.equal('metrics' in reportSettingsOf(reportInputs({ metrics: 'a:higher' })), true);
    assert.equal('metrics' in reportSettingsOf(reportInputs({})), false);
  });

  it('calls a record with malformed metrics corrupt', () => {
    const report = {
      title: 't',
      markerKey: 'k',
      pivot: null,
      directions: {},
      thresholdPercent: 5,
      baseline: 'compare',
      baselineRef: 'main',
      comment: true,
      metrics: { a: { better: 'up' } },
    };
    const parsed = parseRunRecord(recordText({ ...RUN, report }), 'run.json');
    assert.equal(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.reason, /^run\.json is corrupt \(report\.metrics\)/);
  });
});

function exp(id: string, params: Record<string, string>, metrics: Record<string, number>): ReportExperiment {
  return {
    id,
    status: 'succeeded',
    attempts: 1,
    zone: 'us-central1-a',
    durationSeconds: 60,
    costUsd: 0.01,
    params,
    metrics,
    reason: undefined,
    logTail: undefined,
    problems: [],
  };
}

describe('units and descriptions in the report', () => {
  const experiments = ['a', 'b'].flatMap((tool) =>
    [1, 2, 3].map((seed) =>
      exp(
        `${tool}-${seed}`,
        { tool, seed: String(seed) },
        { line_coverage: tool === 'a' ? 40 + seed : 60 + seed, '<b>': seed },
      ),
    ),
  );
  const data: ReportData = {
    runId: 'r1',
    source: 'gs://b/p/runs/r1/',
    experiments,
    totals: totalsOf(experiments),
    metrics: ['line_coverage', '<b>'],
  };
  const baseline: Baseline = {
    schema: 1,
    ref: 'main',
    sha: 'abc1234',
    runId: 'r0',
    recordedAt: '2025-01-01T00:00:00.000Z',
    experiments: Object.fromEntries(
      experiments.map((x) => [x.id, { metrics: { line_coverage: 90, '<b>': 100 } }]),
    ),
  };
  const metricInfo = parseMetricsText(
    JSON.stringify({
      line_coverage: { unit: '%', better: 'higher', description: 'Lines <i>covered</i> | "all" of them' },
      '<b>': { unit: '<b>|', better: 'lower', description: '<script>x</script>' },
    }),
  );
  const directions = new Map([...metricInfo].map(([k, v]) => [k, v.better ?? 'higher']));
  const opts: RenderOptions = {
    title: 'REST API testing tools',
    directions,
    metricInfo,
    baseline: {
      kind: 'compared',
      ref: 'main',
      which: 'latest',
      baseline,
      ...comparedWith(data, baseline, directions, { thresholdPercent: 5, ...DEFAULT_METHOD }),
      thresholdPercent: 5,
    },
  };

  it('markdown: the unit in the pivot heading, the results header and the baseline tables; hostile text escaped', () => {
    const md = renderReport(data, opts);
    const label = escapeMarkdown('line_coverage (%)');
    const hostile = escapeMarkdown('<b> (<b>|)');
    assert.ok(md.includes(`\n### ${label} (higher is better)\n\n`), md);
    assert.ok(md.includes(`\n${escapeMarkdown('Lines <i>covered</i> | "all" of them')}\n`));
    assert.ok(md.includes(`\n### ${hostile} (lower is better)\n`));
    assert.ok(
      md.includes(`| experiment | status | attempts | duration | zone | cost | ${label} | ${hostile} |`),
    );
    assert.ok(
      md.includes(`| tool=a | ${label} | 90 (n=3, all equal) |`),
      'the significance table names the unit',
    );
    assert.ok(md.includes(`| a-1 | ${label} | 90 | 41 |`), 'the delta table names the unit');
    assert.doesNotMatch(md, /<b>|<i>|<script>/);
    // A `|` in a unit or description cannot add a cell: every row of a table has as many as its header.
    const tables = md.split('\n\n').filter((block) => block.startsWith('| '));
    assert.equal(tables.length, 5, 'significance, two pivots, deltas, results');
    for (const table of tables) {
      const cells = table.split('\n').map((row) => row.split('|').length);
      assert.equal(new Set(cells).size, 1, table);
    }
  });

  it('HTML: the unit in headings, headers and captions; the description as a tooltip and a note, escaped', () => {
    const html = renderHtml(data, opts);
    assert.match(
      html,
      /<h3 title="Lines &lt;i&gt;covered&lt;\/i&gt; \| &quot;all&quot; of them">line_coverage \(%\) <span class="muted">\(higher is better\)<\/span><\/h3>/,
    );
    assert.match(
      html,
      /<p class="note description">Lines &lt;i&gt;covered&lt;\/i&gt; \| &quot;all&quot; of them<\/p>/,
    );
    assert.match(
      html,
      /<table class="pivot" data-metric="line_coverage" aria-label="line_coverage \(%\) by tool">/,
    );
    assert.match(html, /<th scope="col" class="num" title="Lines [^"]*">line_coverage \(%\)<\/th>/);
    assert.match(html, /<h3 title="&lt;script&gt;x&lt;\/script&gt;">&lt;b&gt; \(&lt;b&gt;\|\)/);
    assert.match(html, /<td>line_coverage \(%\)<\/td>/, 'the significance and delta tables name the unit');
    assert.doesNotMatch(html, /<b>|<i>|<script>/);
  });

  it('renders as before without declarations', () => {
    const plain = { ...opts, metricInfo: undefined };
    assert.ok(
      renderReport(data, plain).includes(`\n### ${escapeMarkdown('line_coverage')} (higher is better)\n`),
    );
    assert.doesNotMatch(renderHtml(data, plain), /line_coverage \(%\)|class="note description"/);
  });
});

describe('a local run takes the spec’s title and metrics', () => {
  const spec = {
    title: 'REST API testing tools',
    metrics: parseMetricsText(PLAN_JSON),
  };
  const cases: [string, { title?: string; metrics?: string }, string, Record<string, MetricInfo>][] = [
    ['the spec’s alone', {}, 'REST API testing tools', Object.fromEntries(spec.metrics)],
    [
      '--title and --metrics over them, per metric',
      { title: 'Mine', metrics: 'time_s:higher, score:lower' },
      'Mine',
      {
        line_coverage: { unit: '%', better: 'higher', description: 'Lines covered by the generated tests' },
        time_s: { unit: 's', better: 'higher' },
        score: { better: 'lower' },
      },
    ],
  ];
  for (const [what, given, title, metrics] of cases) {
    it(what, () => {
      const o = withSpecReport(given, spec, 'gce-matrix: matrix.yml');
      assert.equal(o.title, title);
      const render = renderOptions(o);
      assert.deepEqual(Object.fromEntries(render.metricInfo ?? new Map()), metrics);
      assert.equal(render.directions.get('time_s'), metrics.time_s.better);
    });
  }

  it('without a spec title or metrics: the default title and --metrics as given', () => {
    const o = withSpecReport({ metrics: 'a:lower' }, { metrics: new Map() }, 'gce-matrix: matrix.yml');
    assert.equal(o.title, 'gce-matrix: matrix.yml');
    assert.equal(o.metrics, 'a:lower');
    assert.throws(
      () => withSpecReport({ metrics: 'a:up' }, spec, 'x'),
      /^ConfigurationError: option --metrics: "a:up" must be name:higher or name:lower/,
    );
  });

  it('gce-matrix run records the spec’s title and merged metrics for the report (and for rerun)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'metrics-spec-'));
    try {
      const specPath = path.join(dir, 'matrix.yml');
      await writeFile(
        specPath,
        'title: Bench title\nmetrics: {time_s: {unit: s, better: lower}}\naxes: {tool: [a]}\nlaunch: {command: "true"}\n',
      );
      const run = (report: { title?: string; metrics?: string }, runId: string) =>
        prepareLocalRun({
          specPath,
          sets: [],
          repetitions: undefined,
          inputs: {},
          runId,
          runDir: path.join(dir, runId),
          report,
          env: {},
        });
      const spec = (await run({}, 'r1')).record.report;
      assert.equal(spec.title, 'Bench title');
      assert.deepEqual(Object.fromEntries(renderOptions(spec).metricInfo ?? new Map()), {
        time_s: { unit: 's', better: 'lower' },
      });
      const given = (await run({ title: 'Given', metrics: 'time_s:higher' }, 'r2')).record.report;
      assert.equal(given.title, 'Given');
      assert.deepEqual(renderOptions(given).metricInfo?.get('time_s'), { unit: 's', better: 'higher' });
      await writeFile(specPath, 'axes: {tool: [a]}\nlaunch: {command: "true"}\n');
      assert.equal((await run({}, 'r3')).record.report.title, 'gce-matrix: matrix.yml');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
