import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import { countExperiments } from '../../src/collect/manifest.ts';
import { escapeMarkdown } from '../../src/markdown.ts';
import type { Baseline } from '../../src/report/compare.ts';
import { baselineOf, compare, parseDirections, verdictOf } from '../../src/report/compare.ts';
import { markerKey, prNumberOf } from '../../src/report/inputs.ts';
import type { ReportData, ReportExperiment } from '../../src/report/model.ts';
import { chooseAxes, pivotOf, reportData, toReportExperiment, totalsOf } from '../../src/report/model.ts';
import { renderHtml } from '../../src/report/html.ts';
import type { BaselineInfo, RenderOptions } from '../../src/report/render.ts';
import {
  COMMENT_LIMIT,
  chart,
  chartCapNote,
  chartOf,
  chartSeries,
  formatNumber,
  mermaidLabel,
  renderComment,
  renderReport,
} from '../../src/report/render.ts';
import { comparedWith, compareRepetitions } from '../../src/report/significance.ts';

function exp(id: string, over: Partial<ReportExperiment> = {}): ReportExperiment {
  return {
    id,
    status: 'succeeded',
    attempts: 1,
    zone: 'us-central1-a',
    durationSeconds: 600,
    costUsd: 0.01,
    params: {},
    metrics: {},
    reason: undefined,
    logTail: undefined,
    problems: [],
    ...over,
  };
}

function data(experiments: ReportExperiment[]): ReportData {
  const metrics = [...new Set(experiments.flatMap((x) => Object.keys(x.metrics)))];
  return { runId: 'r1', source: 'gs://b/p/runs/r1/', experiments, totals: totalsOf(experiments), metrics };
}

const opts = (over: Partial<RenderOptions> = {}): RenderOptions => ({
  title: 'bench',
  directions: new Map(),
  baseline: { kind: 'off' },
  runUrl: 'https://github.com/o/r/actions/runs/1',
  artifactUrl: 'https://github.com/o/r/actions/runs/1#artifacts',
  ...over,
});

describe('pivot tables', () => {
  const xs = [
    exp('a-x-1', { params: { tool: 'a', service: 'x', seed: '1' }, metrics: { cov: 10 } }),
    exp('a-x-2', { params: { tool: 'a', service: 'x', seed: '2' }, metrics: { cov: 20 } }),
    exp('a-y-1', { params: { tool: 'a', service: 'y', seed: '1' }, metrics: { cov: 5 } }),
    exp('b-x-1', { params: { tool: 'b', service: 'x', seed: '1' }, metrics: { cov: 1, time: 3 } }),
    exp('b-y-1', { params: { tool: 'b', service: 'y', seed: '1' }, metrics: {} }),
  ];
  const cases: { name: string; metric: string; rows: string; cols: string | undefined; want: unknown }[] = [
    {
      name: 'mean over seeds, n per cell, empty cell undefined',
      metric: 'cov',
      rows: 'tool',
      cols: 'service',
      want: [
        [
          { mean: 15, n: 2 },
          { mean: 5, n: 1 },
        ],
        [{ mean: 1, n: 1 }, undefined],
      ],
    },
    {
      name: 'transposed',
      metric: 'cov',
      rows: 'service',
      cols: 'tool',
      want: [
        [
          { mean: 15, n: 2 },
          { mean: 1, n: 1 },
        ],
        [{ mean: 5, n: 1 }, undefined],
      ],
    },
    {
      name: 'one axis',
      metric: 'cov',
      rows: 'tool',
      cols: undefined,
      want: [[{ mean: 35 / 3, n: 3 }], [{ mean: 1, n: 1 }]],
    },
    {
      name: 'a metric few report',
      metric: 'time',
      rows: 'tool',
      cols: 'service',
      want: [[{ mean: 3, n: 1 }]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cells = pivotOf(xs, c.metric, c.rows, c.cols).cells;
      assert.deepEqual(
        cells.map((row) => row.map((cell) => cell && { mean: cell.mean, n: cell.n })),
        c.want,
      );
    });
  }
  it("summarises each cell's repetitions: one value alone, the range below 6, the median's interval from 6", () => {
    const seeds = (tool: string, values: number[]) =>
      values.map((v, i) => exp(`${tool}-${i}`, { params: { tool, seed: String(i) }, metrics: { cov: v } }));
    const p = pivotOf(
      [...seeds('one', [7]), ...seeds('few', [3, 1, 2]), ...seeds('many', [5, 9, 1, 7, 3, 8, 2, 6, 4])],
      'cov',
      'tool',
      undefined,
    );
    const byRow = Object.fromEntries(p.rows.map((r, i) => [r, p.cells[i][0]?.summary]));
    assert.deepEqual([byRow.one?.method, byRow.one?.centre, byRow.one?.low], ['single', 7, undefined]);
    assert.deepEqual(
      [byRow.few?.method, byRow.few?.centre, byRow.few?.low, byRow.few?.high],
      ['range', 2, 1, 3],
    );
    // n = 9: the 2nd and 8th order statistics cover the median with probability 1 - 2 * 10/512 = 0.961
    assert.deepEqual(
      [byRow.many?.method, byRow.many?.centre, byRow.many?.low, byRow.many?.high],
      ['order-statistics', 5, 2, 8],
    );
    assert.ok(Math.abs((byRow.many?.achievedLevel ?? 0) - (1 - 20 / 512)) < 1e-12);
    const mean = pivotOf(seeds('m', [1, 2, 3, 4]), 'cov', 'tool', undefined, 'mean').cells[0][0]?.summary;
    assert.deepEqual([mean?.method, mean?.centre], ['t', 2.5]);
  });
  it('defaults to the first two parameters that are not seed', () => {
    assert.deepEqual(chooseAxes(xs, undefined), { rows: 'tool', columns: 'service' });
    assert.deepEqual(chooseAxes(xs, ['service', 'tool']), { rows: 'service', columns: 'tool' });
  });
  it('renders the pivot and a Mermaid bar chart', () => {
    const md = renderReport(data(xs), opts());
    assert.match(md, /\| tool \| x \| y \|/);
    assert.match(md, /\| a \| 15 \(10–20, n=2\) \| 5 \(n=1\) \|/);
    assert.match(md, /Median over repetitions \(n = experiments\) with its 95% interval/);
    // A category per cell, in row order; a bar line per service, zero outside its own cells.
    assert.match(
      md,
      /```mermaid\nxychart-beta\n {2}title "cov by tool and service, median"\n {2}x-axis \["a\/x", "a\/y", "b\/x"\]\n {2}y-axis "cov" 0 --> 15\n {2}bar \[15, 0, 1\]\n {2}bar \[0, 5, 0\]\n```/,
    );
  });
});

describe('deltas, direction and threshold', () => {
  const cases: {
    base: number;
    now: number;
    dir: 'higher' | 'lower' | undefined;
    want: string;
    pct: number | undefined;
  }[] = [
    { base: 100, now: 110, dir: 'higher', want: 'improved', pct: 10 },
    { base: 100, now: 90, dir: 'higher', want: 'regressed', pct: -10 },
    { base: 100, now: 110, dir: 'lower', want: 'regressed', pct: 10 },
    { base: 100, now: 90, dir: 'lower', want: 'improved', pct: -10 },
    { base: 100, now: 104, dir: 'lower', want: 'unchanged', pct: 4 },
    { base: 100, now: 105, dir: 'lower', want: 'unchanged', pct: 5 },
    { base: 100, now: 120, dir: undefined, want: 'changed', pct: 20 },
    { base: 0, now: 0, dir: 'higher', want: 'unchanged', pct: 0 },
    { base: 0, now: 3, dir: 'lower', want: 'regressed', pct: undefined },
    { base: -10, now: -5, dir: 'higher', want: 'improved', pct: 50 },
  ];
  for (const c of cases) {
    it(`${c.base} -> ${c.now} (${c.dir ?? 'no direction'}): ${c.want}`, () => {
      const v = verdictOf(c.base, c.now, c.dir, 5);
      assert.equal(v.verdict, c.want);
      assert.equal(v.percent, c.pct);
    });
  }
  it('compares experiment by experiment and counts regressions', () => {
    const run = data([
      exp('e1', { metrics: { cov: 50, time: 10 } }),
      exp('e2', { metrics: { cov: 80 } }),
      exp('e3', { metrics: { cov: 1 } }),
      exp('e4', { status: 'failed', metrics: { cov: 0 } }),
    ]);
    const base: Baseline = {
      schema: 1,
      ref: 'main',
      sha: 'abc1234',
      runId: 'r0',
      recordedAt: '2025-01-01T00:00:00.000Z',
      experiments: {
        e1: { metrics: { cov: 60, time: 10 } },
        e2: { metrics: { cov: 79 } },
        e4: { metrics: { cov: 9 } },
      },
    };
    const c = compare(run, base, parseDirections('cov:higher, time:lower'), 5);
    assert.equal(c.deltas.length, 3);
    assert.deepEqual(
      c.regressions.map((d) => [d.experiment, d.metric, d.delta]),
      [['e1', 'cov', -10]],
    );
    assert.equal(c.new, 1);
    assert.equal(c.notInRun, 1, 'e4 failed in this run');
    const md = renderReport(
      run,
      opts({
        baseline: {
          kind: 'compared',
          ref: 'main',
          which: 'latest',
          baseline: base,
          comparison: c,
          significance: compareRepetitions(run, base, parseDirections('cov:higher, time:lower'), {
            thresholdPercent: 5,
          }),
          thresholdPercent: 5,
        },
      }),
    );
    // One value per experiment and no repetitions: significance cannot be claimed, and the report says so.
    assert.match(md, /no regression beyond 5% and significant at 0\.05/);
    assert.match(md, /\*\*Too few repetitions:\*\* .* at least 4 repetitions per combination/);
    assert.match(
      md,
      /\| e1 \| cov \| 60 \(n=1\) \| 50 \(n=1\) \| -16\.67% \[-16\.67, -16\.67\] \| — \| too few repetitions \(needs 4 per side\) \|/,
    );
    assert.match(md, /\| e1 \| cov \| 60 \| 50 \| -10 \(-16\.7%\) \| higher is better \| 🔴 worse \|/);
    assert.match(md, /newest baseline on `main`/);
  });
  it('records only succeeded experiments with metrics', () => {
    const b = baselineOf(
      data([
        exp('ok', { metrics: { m: 1 } }),
        exp('bad', { status: 'failed', metrics: { m: 2 } }),
        exp('none'),
      ]),
      {
        ref: 'main',
        sha: 'abc',
        recordedAt: new Date(0),
      },
    );
    assert.deepEqual(Object.keys(b.experiments), ['ok']);
  });
  it('refuses a metric direction that is not higher or lower', () => {
    assert.throws(() => parseDirections('cov:up'), /name:higher or name:lower/);
    assert.deepEqual(
      [...parseDirections('a.b:c:higher\nt:LOWER')],
      [
        ['a.b:c', 'higher'],
        ['t', 'lower'],
      ],
    );
  });
  it('says plainly when there is no baseline', () => {
    const md = renderReport(data([exp('e1')]), opts({ baseline: { kind: 'none', ref: 'main' } }));
    assert.match(md, /none recorded for `main` yet/);
  });
});

describe('escaping hostile text', () => {
  const hostile = [
    { text: '@octocat please look', bad: /@octocat/ },
    { text: 'fixes #12', bad: /#12|&#35;12/ },
    { text: 'owner/repo#12', bad: /#12|&#35;12/ },
    { text: '<img src=x onerror=alert(1)>', bad: /<img/ },
    { text: 'a | b | c', bad: /\|/ },
    { text: '`code` ```fence```', bad: /`/ },
    { text: '[click](javascript:alert(1))', bad: /\]\(|\[/ },
    { text: '![x](https://evil.example/p.png)', bad: /!\[|https:\/\// },
    { text: 'line\n## heading\r\n- item', bad: /\n/ },
    { text: 'see www.evil.example', bad: /www\./ },
    { text: '$\\sqrt{x}$', bad: /\$/ },
    { text: 'a\u202eb', bad: /\u202e/ },
    { text: '</details><script>', bad: /<\// },
    // Every form of GitHub's autolinked references (issues, pull requests, commits) and mentions.
    { text: 'fixes GH-12', bad: /GH-\d/ },
    { text: 'fixes gh-12', bad: /gh-\d/i },
    { text: 'github-linguist/linguist#4039', bad: /#4039|&#35;4039/ },
    { text: 'https://github.com/jlord/sheetsee.js/issues/26', bad: /https:\/\// },
    { text: 'jlord@a5c3785ed8d6a35868bc169f07e40e889087fd2e', bad: /@[0-9a-z]/i },
    { text: 'jlord/sheetsee.js@a5c3785', bad: /@[0-9a-z]/i },
    { text: 'cc @octo-org/core-team', bad: /@octo-org/ },
    { text: 'mail octocat@example.com', bad: /octocat@example/ },
  ];
  for (const h of hostile) {
    it(`neutralises ${JSON.stringify(h.text)}`, () => {
      const out = escapeMarkdown(h.text);
      assert.doesNotMatch(out, h.bad);
      // Every escaped form still reads as the original once entities and zero-width characters go.
      const decoded = out
        .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
        .replace(/[\u200b\u200d]/g, '');
      assert.equal(decoded, h.text.replace(/[\u202a-\u202e]/g, '').replace(/[\r\n]+/g, ' '));
    });
  }
  it('keeps a bare commit SHA whole: its link notifies no one, and it is there to be copied', () => {
    const sha = 'a5c3785ed8d6a35868bc169f07e40e889087fd2e';
    assert.equal(escapeMarkdown(`commit ${sha}`), `commit ${sha}`);
  });
  it('keeps every untrusted field out of the markup of the whole report', () => {
    const evil = '@admin #1 <img src=x> | `x` ](javascript:alert(1))';
    const xs = [
      exp(`id-${evil}`, { params: { [`axis${evil}`]: evil, other: evil }, metrics: { [`m${evil}`]: 1 } }),
      exp('failed', { status: 'failed', reason: evil, logTail: `ok\n${evil}\n::error::x` }),
    ];
    const md = renderReport(data(xs), opts());
    const withoutMermaid = md.replace(/```mermaid[\s\S]*?```/g, '');
    assert.doesNotMatch(withoutMermaid, /@admin|#1\b|<img|\]\(javascript/);
    for (const line of withoutMermaid.split('\n').filter((l) => l.startsWith('|'))) {
      const cells = line.split('|').length;
      assert.ok(cells <= 14, `a table row keeps its columns: ${line}`);
    }
    const mermaid = md.match(/```mermaid[\s\S]*?```/g) ?? [];
    assert.ok(mermaid.length > 0);
    for (const block of mermaid) {
      // The y axis's range is Mermaid's own syntax, `lo --> hi`: the only `>` allowed.
      const inner = block.slice('```mermaid'.length, -3).replace(/ -?[\d.]+ --> -?[\d.]+$/m, '');
      assert.doesNotMatch(inner, /[<>`@#|()]|"[^"\n]*"[^,\]\n ]/);
    }
  });
  it('makes Mermaid labels plain', () => {
    assert.equal(mermaidLabel('a"b]c\n<d>'), 'a_b_c__d_');
    assert.equal(mermaidLabel('```'), '___');
    assert.equal(mermaidLabel(''), '_');
  });
  it('keys the comment marker safely', () => {
    assert.equal(markerKey('CI --> x/<b>'), 'CI-x/-b-');
    assert.doesNotMatch(markerKey('a -- b'), /--|>/);
  });
  it('shows a chart only for numbers', () => {
    assert.deepEqual(chart(data([exp('a')]), 'none', 'tool'), []);
  });
});

describe('the comment', () => {
  const many = (n: number): ReportExperiment[] =>
    Array.from({ length: n }, (_, i) =>
      exp(`experiment-with-a-long-name-${i}`, {
        status: i % 7 === 0 ? 'failed' : 'succeeded',
        reason: i % 7 === 0 ? `exit ${i} @someone #${i} <b>` : undefined,
        logTail: i % 7 === 0 ? 'x'.repeat(500) : undefined,
        params: { tool: `t${i % 13}`, service: `s${i % 17}`, seed: String(i) },
        metrics: { coverage: i, time: i * 2 },
      }),
    );
  for (const n of [10, 500, 5000]) {
    it(`stays within ${COMMENT_LIMIT} characters with ${n} experiments and keeps the headline`, () => {
      const d = data(many(n));
      const xs = d.experiments.filter((x) => x.status === 'succeeded');
      const baseline: Baseline = {
        schema: 1,
        ref: 'main',
        sha: 'abcdef1',
        runId: 'r0',
        recordedAt: 'then',
        experiments: Object.fromEntries(
          xs.map((x) => [x.id, { metrics: { coverage: x.metrics.coverage * 2 + 1, time: 1 } }]),
        ),
      };
      const info: BaselineInfo = {
        kind: 'compared',
        ref: 'main',
        which: 'merge-base',
        baseline,
        ...comparedWith(d, baseline, parseDirections('coverage:higher,time:lower'), { thresholdPercent: 5 }),
        thresholdPercent: 5,
      };
      const body = renderComment(d, opts({ baseline: info, marker: '<!-- gce-matrix-report: k -->' }));
      assert.ok(body.length <= COMMENT_LIMIT, `${body.length} characters`);
      assert.ok(body.startsWith('<!-- gce-matrix-report: k -->\n'));
      assert.match(body, new RegExp(`Run \`r1\`: ${n} experiment\\(s\\)`));
      assert.match(body, /### Against the baseline: \d+ regression\(s\) of \d+ comparison\(s\)/);
      if (n > 10) {
        assert.match(body, /too long for a comment/);
        assert.match(body, /\[the run's summary\]\(https:\/\/github\.com\/o\/r\/actions\/runs\/1\)/);
        assert.match(body, /\[the results artifact\]/);
        assert.match(body, /### Failed and missing|and more/);
      }
    });
  }
  it('fits even a tiny limit', () => {
    const body = renderComment(data(many(200)), opts(), 2000);
    assert.ok(body.length <= 2000);
    assert.match(body, /Run `r1`/);
  });
});

describe('manifest experiments and events', () => {
  it('computes duration and cost from the status and provenance', () => {
    const m: ManifestExperiment = {
      id: 'e',
      dir: 'e',
      status: 'failed',
      state: 'failed',
      exitCode: 1,
      attempts: 3,
      startedAt: '2025-01-01T00:00:00Z',
      endedAt: '2025-01-01T01:00:00Z',
      provenance: { zone: 'z', machineType: 'e2-standard-4', spot: false, parameters: { tool: 'a', n: 2 } },
      planned: true,
      files: [],
      problems: [],
    };
    const r = toReportExperiment(m, { metrics: { a: 1, b: 'x', c: Infinity, d: null } });
    assert.equal(r.durationSeconds, 3600);
    assert.ok(r.costUsd! > 0.1 && r.costUsd! < 0.2, String(r.costUsd));
    assert.deepEqual(r.params, { tool: 'a', n: '2' });
    assert.deepEqual(r.metrics, { a: 1 });
    assert.equal(totalsOf([r]).retries, 2);
  });

  it('gives a packed experiment its share of the VM, says where it ran and with whom, and counts the VMs', () => {
    const base: ManifestExperiment = {
      id: 'p1',
      dir: 'p1',
      status: 'succeeded',
      state: 'succeeded',
      exitCode: 0,
      attempts: 1,
      startedAt: '2025-01-01T00:00:00Z',
      endedAt: '2025-01-01T01:00:00Z',
      provenance: { zone: 'z', machineType: 'e2-standard-4', spot: false, instance: 'vm-1' },
      planned: true,
      files: [],
      problems: [],
    };
    const alone = toReportExperiment(base);
    const packed = ['p1', 'p2', 'p3', 'p4'].map((id, i) =>
      toReportExperiment({
        ...base,
        id,
        provenance: {
          ...base.provenance,
          placement: {
            packed: true,
            members: 4,
            index: i + 1,
            neighbours: ['p1', 'p2', 'p3', 'p4'].filter((x) => x !== id),
            cpus: String(i),
            memoryMb: 1024,
          },
        },
      }),
    );
    const other = toReportExperiment({
      ...base,
      id: 'q',
      provenance: {
        ...base.provenance,
        instance: 'vm-2',
        placement: { packed: true, members: 2, index: 1, neighbours: ['<b>x</b>'], cpus: '0,1', memoryMb: 0 },
      },
    });
    assert.ok(Math.abs(packed[0].costUsd! * 4 - alone.costUsd!) < 1e-12);
    assert.ok(Math.abs(other.costUsd! * 2 - alone.costUsd!) < 1e-12);
    const totals = totalsOf([...packed, other, exp('solo')]);
    assert.deepEqual(totals.packed, { experiments: 5, vms: 2, mostPerVm: 4 });
    assert.ok(Math.abs(totals.vmHours - (1 + 0.5 + 600 / 3600)) < 1e-9, String(totals.vmHours));
    assert.equal(totalsOf([alone]).packed, undefined);

    const d = data([...packed, other]);
    const md = renderReport(d, opts());
    assert.match(md, /5 experiment\(s\) packed on 2 VM\(s\) \(up to 4 a VM; each costs its reserved share\)/);
    assert.match(md, /\| zone \| VM \(packed\) \| cost \|/);
    assert.match(md, /\| vm-1 CPU 2, with 3 others \|/);
    const html = renderHtml(d, opts());
    assert.match(html, /<td title="shared with p1, p2, p4">vm-1 CPU 2, with 3 others<\/td>/);
    assert.match(html, /shared with &lt;b&gt;x&lt;\/b&gt;/);
    // Unpacked runs keep their table as it was.
    assert.doesNotMatch(renderReport(data([exp('solo')]), opts()), /VM \(packed\)/);
  });
  it('finds the pull request of the event', () => {
    const cases: [string, Record<string, unknown>, number | undefined][] = [
      ['pull_request', { pull_request: { number: 4 } }, 4],
      ['issue_comment', { issue: { number: 5, pull_request: {} } }, 5],
      ['issue_comment', { issue: { number: 5 } }, undefined],
      ['workflow_dispatch', { inputs: { 'pr-number': '6' } }, 6],
      ['workflow_run', { workflow_run: { pull_requests: [{ number: 7 }] } }, 7],
      ['schedule', {}, undefined],
    ];
    for (const [name, payload, want] of cases) assert.equal(prNumberOf({ name, payload }), want, name);
  });
  it('formats numbers without exponents', () => {
    assert.deepEqual([1, 1.23456, 12345.6, 0.000123, -2.5].map(formatNumber), [
      '1',
      '1.235',
      '12346',
      '0.0001',
      '-2.5',
    ]);
  });
});

describe('experiments the plan never had', () => {
  const manifest = (problems: Manifest['problems']): Manifest => ({
    schema: 1,
    runId: 'r1',
    bucket: 'b',
    prefix: 'p/runs/r1/',
    source: 'gs://b/p/runs/r1/',
    collectedAt: '2026-01-01T00:00:00Z',
    counts: countExperiments([]),
    experiments: [],
    problems,
  });

  it('are named, escaped, and left out of every count, in the comment and the HTML report', () => {
    const d = reportData(
      manifest([
        { kind: 'unplanned', object: 'p/runs/r1/experiments/@evil_planted/', message: 'x' },
        { kind: 'unsafe-name', object: 'p/runs/r1/experiments/stray', message: 'y' },
      ]),
      new Map(),
    );
    assert.deepEqual(d.unplanned, ['@evil_planted']);
    assert.equal(d.totals.experiments, 0);
    const md = renderReport(d, opts());
    assert.match(md, /\*\*Not counted:\*\* the bucket also holds 1 experiment\(s\) that are not in the plan/);
    assert.ok(md.includes(escapeMarkdown('@evil_planted')));
    assert.ok(!md.includes('`@evil_planted`'), 'the mention is neutralised');
    assert.match(renderComment(d, opts()), /Not counted/);
    assert.match(renderHtml(d, opts()), /Not counted: the bucket also holds 1 experiment\(s\)/);
  });

  it('says nothing when there are none', () => {
    const md = renderReport(reportData(manifest([]), new Map()), opts());
    assert.doesNotMatch(md, /Not counted/);
  });
});

describe('charts that compare', () => {
  // Rows: services (in reading order, s2 before s10); columns: tools. Seeds per cell chosen so that the cells
  // have every kind of interval: a single value, a range (n < 6), the median's order-statistics interval (n >= 6).
  const SEEDS: Record<string, number> = {
    's1/a': 1,
    's1/b': 3,
    's1/c': 7,
    's2/a': 2,
    's2/c': 1,
    's10/a': 2,
    's10/b': 2,
    's10/c': 2,
  };
  const TOOL: Record<string, number> = { a: 10, b: 20, c: 30 };
  const SERVICE: Record<string, number> = { s1: 0, s2: 100, s10: 200 };
  const xs = Object.entries(SEEDS).flatMap(([cell, seeds]) => {
    const [service, tool] = cell.split('/');
    return Array.from({ length: seeds }, (_, k) =>
      exp(`${tool}-${service}-${k}`, {
        params: { service, tool, seed: String(k + 1) },
        metrics: { cov: TOOL[tool] + SERVICE[service] + (k + 1) * 0.5 },
      }),
    );
  });
  const byServiceAndTool = opts({ pivot: ['service', 'tool'] });

  for (const centre of ['median', 'mean'] as const) {
    it(`gives each bar its cell's ${centre} and interval, in the pivot's order`, () => {
      const p = pivotOf(xs, 'cov', 'service', 'tool', centre);
      const [s] = chartSeries(data(xs), { pivot: ['service', 'tool'], centre });
      assert.deepEqual(s, chartOf(p, centre));
      assert.deepEqual(s.series, ['a', 'b', 'c']);
      assert.deepEqual(
        s.groups.map((g) => g.label),
        ['s1', 's2', 's10'],
      );
      const kinds = new Set<string>();
      for (const [i, g] of s.groups.entries()) {
        for (const [j, bar] of g.bars.entries()) {
          const summary = p.cells[i][j]?.summary;
          if (!summary) {
            assert.equal(bar, undefined, `${g.label}/${s.series[j]} is empty`);
            continue;
          }
          assert.deepEqual(bar, {
            label: s.series[j],
            centre: summary.centre,
            low: summary.low,
            high: summary.high,
            kind: summary.method,
            n: summary.n,
          });
          kinds.add(summary.method);
        }
      }
      assert.deepEqual(
        [...kinds].sort(),
        centre === 'median' ? ['order-statistics', 'range', 'single'] : ['single', 't'],
      );
      // Worked out by hand: s1/b holds 20.5, 21, 21.5; s1/c holds 30.5 ... 33.5.
      const s1 = s.groups[0].bars;
      if (centre === 'median') {
        assert.deepEqual([s1[1]?.centre, s1[1]?.low, s1[1]?.high, s1[1]?.kind], [21, 20.5, 21.5, 'range']);
        assert.deepEqual([s1[2]?.centre, s1[2]?.low, s1[2]?.high], [32, 30.5, 33.5]);
      }
      assert.deepEqual([s1[0]?.low, s1[0]?.high, s1[0]?.kind], [undefined, undefined, 'single']);
    });
  }

  const caps: {
    name: string;
    columns: string | undefined;
    limits: { bars: number; series: number };
    series: string[];
    groups: string[];
    note: string;
  }[] = [
    {
      name: 'everything fits',
      columns: 'tool',
      limits: { bars: 30, series: 8 },
      series: ['a', 'b', 'c'],
      groups: ['s1', 's2', 's10'],
      note: '',
    },
    {
      name: 'fewer colours and bars',
      columns: 'tool',
      limits: { bars: 4, series: 2 },
      series: ['a', 'b'],
      groups: ['s1', 's2'],
      note: 'Charted: the first 2 of 3 service values and 2 of 3 tool values.',
    },
    {
      name: 'room for one group only',
      columns: 'tool',
      limits: { bars: 2, series: 8 },
      series: ['a', 'b', 'c'],
      groups: ['s1'],
      note: 'Charted: the first 1 of 3 service values and 3 of 3 tool values.',
    },
    {
      name: 'no column axis',
      columns: undefined,
      limits: { bars: 2, series: 8 },
      series: [''],
      groups: ['s1', 's2'],
      note: 'Charted: the first 2 of 3 service values.',
    },
  ];
  for (const c of caps) {
    it(`caps a chart: ${c.name}`, () => {
      const s = chartOf(pivotOf(xs, 'cov', 'service', c.columns), 'median', c.limits);
      assert.deepEqual(s.series, c.series);
      assert.deepEqual(
        s.groups.map((g) => g.label),
        c.groups,
      );
      assert.ok(s.groups.every((g) => g.bars.length === c.series.length));
      assert.equal(
        chartCapNote(s, (t) => t),
        c.note,
      );
    });
  }

  /** The lines of the Mermaid block of `metric`, parsed. */
  function mermaid(md: string): { title: string; categories: string[]; yAxis: string; bars: number[][] } {
    const block = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1];
    assert.ok(block, 'a Mermaid chart');
    const line = (key: string) =>
      block
        .split('\n')
        .find((l) => l.startsWith(`  ${key} `))
        ?.trim() ?? '';
    return {
      title: line('title'),
      categories: [...line('x-axis').matchAll(/"([^"]*)"/g)].map((m) => m[1]),
      yAxis: line('y-axis'),
      bars: block
        .split('\n')
        .filter((l) => l.startsWith('  bar '))
        .map((l) => JSON.parse(l.slice('  bar '.length)) as number[]),
    };
  }

  it('draws a bar line per column value, each cell its own category in row order', () => {
    const md = renderReport(data(xs), byServiceAndTool);
    const m = mermaid(md);
    const p = pivotOf(xs, 'cov', 'service', 'tool');
    assert.equal(m.title, 'title "cov by service and tool, median"');
    const cells = p.rows.flatMap((r, i) =>
      p.columns.flatMap((c, j) => {
        const cell = p.cells[i][j];
        return cell ? [{ label: `${r}/${c}`, j, centre: cell.summary.centre }] : [];
      }),
    );
    assert.deepEqual(m.categories, ['s1/a', 's1/b', 's1/c', 's2/a', 's2/c', 's10/a', 's10/b', 's10/c']);
    assert.deepEqual(
      m.categories,
      cells.map((c) => c.label),
    );
    assert.equal(m.bars.length, p.columns.length, 'a bar line per tool');
    for (const [j, values] of m.bars.entries()) {
      assert.deepEqual(
        values,
        cells.map((c) => (c.j === j ? c.centre : 0)),
        `the line of ${p.columns[j]}`,
      );
    }
    assert.equal(m.yAxis, `y-axis "cov" 0 --> ${Math.max(...cells.map((c) => c.centre))}`);
    assert.ok(
      md.includes(
        'Bars: the median of each cell, grouped by service; in each group, left to right by tool: a, b, c. ' +
          'Their intervals are in the table above.',
      ),
      md,
    );
  });

  it('says what the bars are, with the unit, and draws one line without a column axis', () => {
    const md = renderReport(
      data(xs),
      opts({ pivot: ['service'], centre: 'mean', metricInfo: new Map([['cov', { unit: '%' }]]) }),
    );
    const m = mermaid(md);
    const p = pivotOf(xs, 'cov', 'service', undefined, 'mean');
    assert.equal(m.title, 'title "cov (%) by service, mean"');
    assert.match(m.yAxis, /^y-axis "cov \(%\)" 0 --> /);
    assert.deepEqual(m.categories, p.rows);
    // Mermaid gets 6 significant digits.
    assert.deepEqual(m.bars, [p.cells.map((row) => Number(row[0]!.summary.centre.toPrecision(6)))]);
    assert.ok(md.includes('Bars: the mean per service. Their intervals are in the table above.'));
  });

  it('says when a chart is capped', () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      exp(`e${i}`, { params: { service: `s${i}`, tool: `t${i % 4}` }, metrics: { cov: i } }),
    );
    const md = renderReport(data(many), byServiceAndTool);
    // 30 bars at most, 4 tools: 7 services.
    assert.match(md, /Charted: the first 7 of 40 service values and 4 of 4 tool values\./);
    assert.equal(mermaid(md).bars.length, 4);
  });

  it('keeps hostile axis values plain inside the chart and escaped under it', () => {
    const hostile = [
      'x"]\n  bar [999',
      'a%%{init: {"theme":"dark"}}%%',
      '`@admin #1` <img src=x>',
      'same<',
      'same>',
    ];
    const ys = hostile.flatMap((service, i) =>
      ['t"1', 't<2'].map((tool, k) =>
        exp(`h${i}-${k}`, { params: { service, tool }, metrics: { cov: i + k } }),
      ),
    );
    const md = renderReport(data(ys), byServiceAndTool);
    const block = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1] ?? '';
    const lines = block.trimEnd().split('\n');
    const label = '"[A-Za-z0-9 ._:+/=%-]*"';
    assert.equal(lines[0], 'xychart-beta');
    assert.match(lines[1], /^ {2}title "[A-Za-z0-9 ._:+/=%,()-]*"$/);
    assert.match(lines[2], new RegExp(`^ {2}x-axis \\[${label}(, ${label})*\\]$`));
    assert.match(lines[3], new RegExp(`^ {2}y-axis ${label} -?[\\d.]+ --> -?[\\d.]+$`));
    assert.deepEqual(
      lines.slice(4).map((l) => /^ {2}bar \[-?[\d.]+(, -?[\d.]+)*\]$/.test(l)),
      [true, true],
      'a bar line per tool and nothing else',
    );
    assert.doesNotMatch(block, /%%/);
    const m = mermaid(md);
    assert.equal(m.categories.length, hostile.length * 2);
    assert.equal(new Set(m.categories).size, m.categories.length, 'categories stay distinct');
    const legend = md.split('\n').find((l) => l.startsWith('Bars: ')) ?? '';
    assert.doesNotMatch(legend, /@admin|#1\b|<img|`/);
  });
});
