import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { parseRunRecord, RECORD_SCHEMA } from '../../src/record.ts';
import type { Baseline } from '../../src/report/compare.ts';
import { baselineOf } from '../../src/report/compare.ts';
import type { History, HistoryEntry } from '../../src/report/history.ts';
import {
  appendHistory,
  compareWithHistory,
  formatZ,
  historyCellOf,
  historyEntryOf,
  MAX_STORED_VALUES,
  parseHistory,
  zScore,
} from '../../src/report/history.ts';
import { MAX_TREND_METRICS, sparklineSvg, trendSection } from '../../src/report/html-trend.ts';
import { renderHtml } from '../../src/report/html.ts';
import { parseReportInputs } from '../../src/report/inputs.ts';
import type { ReportData, ReportExperiment } from '../../src/report/model.ts';
import { totalsOf } from '../../src/report/model.ts';
import type { BaselineInfo } from '../../src/report/render.ts';
import { renderReport, significanceSection, summaryJson } from '../../src/report/render.ts';
import { comparedWith, DEFAULT_METHOD } from '../../src/report/significance.ts';

function exp(
  id: string,
  params: Record<string, string>,
  metrics: Record<string, number> | undefined,
): ReportExperiment {
  return {
    id,
    status: metrics ? 'succeeded' : 'failed',
    attempts: 1,
    zone: 'us-central1-a',
    durationSeconds: 60,
    costUsd: 0.01,
    params,
    metrics: metrics ?? {},
    reason: undefined,
    logTail: undefined,
    problems: [],
  };
}

function dataOf(runId: string, experiments: ReportExperiment[]): ReportData {
  const metrics = [...new Set(experiments.flatMap((e) => Object.keys(e.metrics)))];
  return { runId, source: `gs://b/p/runs/${runId}/`, experiments, totals: totalsOf(experiments), metrics };
}

/** A run of tools x seeds with `cov` = value(tool, seed). */
function run(runId: string, tools: Record<string, readonly number[]>): ReportData {
  return dataOf(
    runId,
    Object.entries(tools).flatMap(([tool, values]) =>
      values.map((v, i) => exp(`${tool}-${i + 1}`, { tool, seed: String(i + 1) }, { cov: v })),
    ),
  );
}

const entryOf = (data: ReportData, sha = 'a'.repeat(40)): HistoryEntry =>
  historyEntryOf(data, { sha, recordedAt: new Date('2026-01-01T00:00:00Z') });

function historyOf(runs: readonly ReportData[]): History {
  let h: History | undefined;
  for (const r of runs) h = appendHistory(h, entryOf(r), { ref: 'main', keep: 20 });
  if (!h) throw new Error('no runs');
  return h;
}

describe('history cells', () => {
  const cases: { name: string; values: number[]; want: Record<string, unknown> }[] = [
    { name: 'one value: no interval, no sd, no values', values: [7], want: { n: 1, centre: 7, mean: 7 } },
    {
      name: 'a few: the range as interval, the sd, and the values themselves',
      values: [3, 1, 2],
      want: { n: 3, centre: 2, mean: 2, low: 1, high: 3, sd: 1, values: [3, 1, 2] },
    },
    {
      name: 'equal values: sd exactly 0',
      values: [0.1, 0.1, 0.1],
      want: { n: 3, centre: 0.1, mean: 0.1, low: 0.1, high: 0.1, sd: 0, values: [0.1, 0.1, 0.1] },
    },
    {
      name: 'many: the order-statistics interval and the sd stand for the values',
      values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      want: { n: 10, centre: 5.5, mean: 5.5, low: 2, high: 9, sd: 3.02765 },
    },
    {
      name: 'six significant digits are kept',
      values: [1 / 3],
      want: { n: 1, centre: 0.333333, mean: 0.333333 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(historyCellOf(c.values), c.want));
  }

  it(`stores values up to ${MAX_STORED_VALUES} repetitions only`, () => {
    assert.ok(historyCellOf(Array.from({ length: MAX_STORED_VALUES }, (_, i) => i)).values);
    assert.equal(historyCellOf(Array.from({ length: MAX_STORED_VALUES + 1 }, (_, i) => i)).values, undefined);
  });
});

describe('history entries', () => {
  it('summarises each combination over its seeds, leaving failures out, labelled as the comparisons are', () => {
    const data = dataOf('r1', [
      exp('a-1', { tool: 'a', svc: 'x', seed: '1' }, { cov: 10, time: 5 }),
      exp('a-2', { tool: 'a', svc: 'x', seed: '2' }, { cov: 12 }),
      exp('a-3', { tool: 'a', svc: 'x', seed: '3' }, undefined),
      exp('lone', { tool: 'b' }, { cov: 3 }),
    ]);
    const entry = entryOf(data, 'f'.repeat(40));
    assert.deepEqual(entry, {
      runId: 'r1',
      sha: 'f'.repeat(40),
      recordedAt: '2026-01-01T00:00:00.000Z',
      combinations: {
        'svc=x, tool=a': {
          cov: { n: 2, centre: 11, mean: 11, low: 10, high: 12, sd: 1.41421, values: [10, 12] },
          time: { n: 1, centre: 5, mean: 5 },
        },
        lone: { cov: { n: 1, centre: 3, mean: 3 } },
      },
    });
    const baseline: Baseline = baselineOf(data, { ref: 'main', sha: 'x', recordedAt: new Date(0) });
    const labels = comparedWith(data, baseline, new Map(), {
      ...DEFAULT_METHOD,
      thresholdPercent: 5,
    }).significance.comparisons.map((c) => c.combination);
    for (const label of labels) assert.ok(Object.hasOwn(entry.combinations, label), label);
  });

  it('keeps at most maxCells cells and counts the rest', () => {
    const data = run('r', { a: [1], b: [2], c: [3] });
    const entry = historyEntryOf(data, { sha: '', recordedAt: new Date(0), maxCells: 2 });
    assert.deepEqual(Object.keys(entry.combinations), ['tool=a', 'tool=b']);
    assert.equal(entry.omitted, 1);
  });

  it('keeps a 10,000-experiment run compact: per-combination summaries, far smaller than its baseline', () => {
    const experiments: ReportExperiment[] = [];
    for (let t = 0; t < 20; t++) {
      for (let s = 0; s < 50; s++) {
        for (let seed = 1; seed <= 10; seed++) {
          const i = experiments.length;
          experiments.push(
            exp(
              `tool-${t}_service-${s}_seed-${seed}`,
              { tool: `tool-${t}`, service: `service-${s}`, seed: String(seed) },
              { cov: 50 + t + Math.sin(i) * 3, time: 100 + s + Math.cos(i) },
            ),
          );
        }
      }
    }
    const data = dataOf('big', experiments);
    assert.equal(data.experiments.length, 10_000);
    const entry = entryOf(data);
    const size = JSON.stringify(entry).length;
    const baselineSize = JSON.stringify(
      baselineOf(data, { ref: 'main', sha: 'a'.repeat(40), recordedAt: new Date(0) }),
    ).length;
    assert.equal(Object.keys(entry.combinations).length, 1000);
    assert.equal(entry.omitted, undefined);
    // About 110 characters per cell (combination and metric), whatever the number of repetitions behind it.
    assert.ok(size < 2000 * 120, `entry is ${size} characters`);
    assert.ok(size * 3 < baselineSize, `entry ${size} vs baseline ${baselineSize} characters`);
  });
});

describe('appending to a history', () => {
  const entry = (runId: string): HistoryEntry => ({
    runId,
    sha: runId.padEnd(40, '0'),
    recordedAt: '2026-01-01T00:00:00Z',
    combinations: { 'tool=a': { cov: { n: 1, centre: Number(runId.slice(1)), mean: 1 } } },
  });
  const runsOf = (h: History): string[] => h.entries.map((x) => x.runId);
  const cases: { name: string; before: string[]; add: string; keep: number; want: string[] }[] = [
    { name: 'to nothing', before: [], add: 'r1', keep: 3, want: ['r1'] },
    { name: 'newest last', before: ['r1', 'r2'], add: 'r3', keep: 3, want: ['r1', 'r2', 'r3'] },
    { name: 'trimmed to keep', before: ['r1', 'r2', 'r3'], add: 'r4', keep: 3, want: ['r2', 'r3', 'r4'] },
    {
      name: 'trimmed further after keep shrank',
      before: ['r1', 'r2', 'r3'],
      add: 'r4',
      keep: 1,
      want: ['r4'],
    },
    {
      name: 'the same run replaced, not counted twice',
      before: ['r1', 'r2', 'r3'],
      add: 'r2',
      keep: 3,
      want: ['r1', 'r3', 'r2'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before: History = { schema: 1, ref: 'main', entries: c.before.map(entry) };
      const h = appendHistory(c.before.length ? before : undefined, entry(c.add), {
        ref: 'main',
        keep: c.keep,
      });
      assert.deepEqual(runsOf(h), c.want);
      assert.equal(h.ref, 'main');
    });
  }

  it('after K+1 appends holds the newest K', () => {
    let h: History | undefined;
    for (let i = 1; i <= 4; i++) h = appendHistory(h, entry(`r${i}`), { ref: 'main', keep: 3 });
    assert.deepEqual(runsOf(h as History), ['r2', 'r3', 'r4']);
  });

  it('drops the oldest entries while the object is too large, keeping the newest', () => {
    const one = JSON.stringify(entry('r1')).length + 1;
    let h: History | undefined;
    for (let i = 1; i <= 5; i++)
      h = appendHistory(h, entry(`r${i}`), { ref: 'main', keep: 20, maxChars: one * 2 + 5 });
    assert.deepEqual(runsOf(h as History), ['r4', 'r5']);
  });
});

describe('reading a history', () => {
  it('reads what it wrote', () => {
    const h = historyOf([run('r1', { a: [1, 2, 3] }), run('r2', { a: [2, 3, 4] })]);
    assert.deepEqual(parseHistory(JSON.stringify(h)), h);
  });

  const cases: { name: string; text: string; want: 'none' | string[] }[] = [
    { name: 'not JSON', text: '{', want: 'none' },
    { name: 'another schema', text: '{"schema":2,"entries":[]}', want: 'none' },
    { name: 'no entries', text: '{"schema":1}', want: 'none' },
    {
      name: 'malformed entries and cells dropped',
      text: JSON.stringify({
        schema: 1,
        ref: 'main',
        entries: [
          null,
          { runId: 5, combinations: {} },
          { runId: 'r1', combinations: { a: { cov: { n: 1, centre: 'x' } } } },
          { runId: 'r2', combinations: { a: { cov: { n: 2, centre: 3 } }, b: 'no' } },
        ],
      }),
      want: ['r1', 'r2'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = parseHistory(c.text);
      if (c.want === 'none') assert.equal(h, undefined);
      else
        assert.deepEqual(
          h?.entries.map((x) => x.runId),
          c.want,
        );
    });
  }

  it('keeps a `__proto__` label as a combination of its own without touching any prototype', () => {
    const text =
      '{"schema":1,"ref":"m","entries":[{"runId":"r","combinations":{"__proto__":{"cov":{"n":1,"centre":4}}}}]}';
    const h = parseHistory(text) as History;
    const combos = h.entries[0].combinations;
    assert.ok(Object.hasOwn(combos, '__proto__'));
    assert.equal(Object.getPrototypeOf(combos), Object.prototype);
    assert.equal(({} as Record<string, unknown>).cov, undefined);
  });
});

describe('z-scores against the run-to-run noise', () => {
  const cases: {
    name: string;
    centres: number[];
    current: number;
    direction?: 'higher' | 'lower';
    want: { z?: number; outside: boolean; note?: RegExp; sd?: number; mean?: number };
  }[] = [
    {
      name: 'no runs: not computed',
      centres: [],
      current: 5,
      want: { outside: false, note: /0 recorded run\(s\); needs 3/ },
    },
    {
      name: 'two runs: not computed',
      centres: [1, 2],
      current: 50,
      want: { outside: false, note: /needs 3/ },
    },
    {
      name: 'no spread: z undefined, with a note',
      centres: [0.1, 0.1, 0.1],
      current: 0.2,
      want: { outside: false, sd: 0, mean: 0.1, note: /no run-to-run spread/ },
    },
    {
      name: 'within the noise',
      centres: [9, 10, 11],
      current: 11,
      want: { z: 1, mean: 10, sd: 1, outside: false },
    },
    {
      name: 'far below, higher is better: outside',
      centres: [9, 10, 11],
      current: 5,
      direction: 'higher',
      want: { z: -5, outside: true },
    },
    {
      name: 'far above, higher is better: an improvement, not outside',
      centres: [9, 10, 11],
      current: 15,
      direction: 'higher',
      want: { z: 5, outside: false },
    },
    {
      name: 'far above, lower is better: outside',
      centres: [9, 10, 11],
      current: 15,
      direction: 'lower',
      want: { z: 5, outside: true },
    },
    {
      name: 'exactly 3 is not beyond 3',
      centres: [9, 10, 11],
      current: 7,
      direction: 'higher',
      want: { z: -3, outside: false },
    },
    { name: 'no direction: either way', centres: [9, 10, 11], current: 14, want: { z: 4, outside: true } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = zScore(c.centres, c.current, c.direction);
      assert.equal(r.runs, c.centres.length);
      assert.equal(r.outside, c.want.outside);
      if (c.want.z === undefined) assert.equal(r.z, undefined);
      else assert.ok(Math.abs((r.z as number) - c.want.z) < 1e-9, `z ${r.z}`);
      if (c.want.note) assert.match(r.note ?? '', c.want.note);
      else assert.equal(r.note, undefined);
      if (c.want.sd !== undefined) assert.equal(r.sd, c.want.sd);
      if (c.want.mean !== undefined) assert.equal(r.mean, c.want.mean);
    });
  }

  it('compares each combination with its own centres, leaving this run out of its own noise', () => {
    const h = historyOf([
      run('b1', { a: [10, 10, 10], b: [5] }),
      run('b2', { a: [11, 11, 11] }),
      run('b3', { a: [9, 9, 9], b: [6] }),
      run('pr', { a: [100, 100, 100] }),
    ]);
    const now = run('pr', { a: [4, 4, 4], b: [7] });
    const baseline = baselineOf(run('b3', { a: [9, 9, 9], b: [6] }), {
      ref: 'main',
      sha: '',
      recordedAt: new Date(0),
    });
    const { significance } = comparedWith(now, baseline, new Map([['cov', 'higher' as const]]), {
      ...DEFAULT_METHOD,
      thresholdPercent: 5,
    });
    const hc = compareWithHistory(h, significance.comparisons, { runId: 'pr' });
    assert.deepEqual(
      hc.history.entries.map((x) => x.runId),
      ['b1', 'b2', 'b3'],
    );
    const a = hc.rows.find((r) => r.combination === 'tool=a');
    assert.equal(a?.runs, 3);
    assert.equal(a?.z, -6);
    assert.equal(a?.outside, true);
    assert.equal(formatZ(a), '-6.0 ⚠️ outside the noise');
    const b = hc.rows.find((r) => r.combination === 'tool=b');
    assert.equal(b?.runs, 2);
    assert.equal(b?.z, undefined);
    assert.equal(formatZ(b), '— (2 run(s))');
  });
});

/** Four recorded runs of tools a (noisy around 50) and b (steady), then a PR run where a drops to 30. */
function comparedWithHistory(): { data: ReportData; info: BaselineInfo & { kind: 'compared' } } {
  const recorded = [49, 51, 50, 50.5].map((v, i) =>
    run(`base-${i + 1}`, { a: [v - 0.5, v, v + 0.5, v, v - 0.2, v + 0.2], b: [20, 20, 20, 20, 20, 20] }),
  );
  const h = historyOf(recorded);
  const data = run('pr', { a: [30, 30.5, 29.5, 30, 30.2, 29.8], b: [20, 20.1, 19.9, 20, 20, 20] });
  const baseline = baselineOf(recorded[3], { ref: 'main', sha: 'd'.repeat(40), recordedAt: new Date(0) });
  const directions = new Map([['cov', 'higher' as const]]);
  const compared = comparedWith(data, baseline, directions, { ...DEFAULT_METHOD, thresholdPercent: 5 });
  return {
    data,
    info: {
      kind: 'compared',
      ref: 'main',
      which: 'latest',
      baseline,
      ...compared,
      thresholdPercent: 5,
      history: compareWithHistory(h, compared.significance.comparisons, { runId: data.runId }),
    },
  };
}

describe('the z-score in the report', () => {
  it('adds a z (history) column and the rule to the markdown significance section, only with a history', () => {
    const { info } = comparedWithHistory();
    const md = significanceSection(info).join('\n');
    assert.match(md, /\| verdict \| z \(history\) \|\n\| --- .* \| ---: \|/);
    assert.match(md, /\| tool=a \| cov \| .* \| 🔻 regressed \| -\d+\.\d ⚠️ outside the noise \|/);
    assert.match(md, /\| tool=b \| cov \| .* \| — \(no spread\) \|/);
    assert.match(md, /last 4 recorded run\(s\) of `main`/);
    assert.match(md, /does not change it/);
    const plain = significanceSection({ ...info, history: undefined }).join('\n');
    assert.doesNotMatch(plain, /z \(history\)/);
  });

  it('puts the z-scores in summary-json, those outside the noise first', () => {
    const { data, info } = comparedWithHistory();
    const json = JSON.parse(summaryJson(data, info)) as {
      history: {
        ref: string;
        runs: number;
        outside: number;
        zScores: { combination: string; z: number; outside: boolean }[];
      };
    };
    assert.equal(json.history.ref, 'main');
    assert.equal(json.history.runs, 4);
    assert.equal(json.history.outside, 1);
    assert.equal(json.history.zScores.length, 1, 'b has no spread: no z');
    assert.equal(json.history.zScores[0].combination, 'tool=a');
    assert.ok(json.history.zScores[0].z < -3);
    assert.equal(json.history.zScores[0].outside, true);
  });

  it('shows the z column and a trend per combination in the HTML page, the run highlighted', () => {
    const { data, info } = comparedWithHistory();
    const html = renderHtml(data, { title: 't', directions: new Map(), baseline: info });
    assert.match(html, /<th scope="col" class="num">z \(history\)<\/th><\/tr><\/thead>/);
    assert.match(html, /<h2>Trend on <code>main<\/code><\/h2>/);
    const trend = /<section id="trend">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    const sparks = [...trend.matchAll(/<svg class="sparkline"[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    assert.equal(sparks.length, 2, 'one per combination');
    assert.match(
      sparks[0],
      /aria-label="cov of tool=a on main: recorded runs, oldest first, 49 \[48\.5, 49\.5\], 51 \[50\.5, 51\.5\], 50 \[49\.5, 50\.5\], 50\.5 \[50, 51\]; this run 30, outside the noise"/,
    );
    assert.match(sparks[0], /<polygon class="band"/);
    assert.equal([...sparks[0].matchAll(/<circle class="run"/g)].length, 4);
    assert.match(sparks[0], /<circle class="current outside"[^>]*data-value="30"/);
    assert.doesNotMatch(sparks[1], /outside/);
    assert.doesNotMatch(html, /<script/i);
    // The markdown report has the column too.
    assert.match(renderReport(data, { title: 't', directions: new Map(), baseline: info }), /z \(history\)/);
  });

  it('has no trend with fewer than 2 recorded runs', () => {
    const { info } = comparedWithHistory();
    const hc = info.history;
    assert.ok(hc);
    const one = { ...hc, history: { ...hc.history, entries: hc.history.entries.slice(0, 1) } };
    assert.equal(trendSection(one, ['cov']), '');
    assert.notEqual(trendSection(hc, ['cov']), '');
  });

  it('caps the metrics and combinations it draws, and says so', () => {
    const metrics = Array.from({ length: MAX_TREND_METRICS + 2 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const tools = Array.from({ length: 33 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const runOf = (runId: string, shift: number): ReportData =>
      dataOf(
        runId,
        tools.map((tool) =>
          exp(tool, { tool, seed: '1' }, Object.fromEntries(metrics.map((m, i) => [m, i + shift]))),
        ),
      );
    const h = historyOf([runOf('1', 0), runOf('2', 1)]);
    const html = trendSection(compareWithHistory(h, []), metrics);
    assert.match(html, /The first 12 of 14 metrics shown/);
    assert.match(html, /The first 30 of 33 combinations shown/);
    assert.equal([...html.matchAll(/<table class="trend"/g)].length, MAX_TREND_METRICS);
    assert.equal([...html.matchAll(/<svg class="sparkline"/g)].length, MAX_TREND_METRICS * 30);
  });

  it('escapes every label of a hostile combination and metric', () => {
    const evil = '"><img src=x onerror=1><script>alert(1)</script>';
    const runOf = (runId: string, v: number): ReportData =>
      dataOf(runId, [exp('x', { [evil]: evil, seed: '1' }, { [evil]: v })]);
    const h = historyOf([runOf('1', 1), runOf('2', 2)]);
    const html = trendSection(compareWithHistory(h, []), [evil]);
    assert.doesNotMatch(html, /<img|<script/);
    assert.match(html, /&lt;script&gt;/);
    const svg = sparklineSvg({ points: [{ run: evil, centre: 1 }], description: evil });
    assert.doesNotMatch(svg, /<img|<script/);
  });
});

describe('the history setting', () => {
  const settingsOf = (history: string | undefined) =>
    parseReportInputs(
      (name) => (name === 'baseline' ? 'none' : name === 'history' ? (history ?? '') : ''),
      { GITHUB_REF: 'refs/heads/main' },
      { name: 'push', payload: {} },
    );
  const cases: { text: string | undefined; want: number | RegExp }[] = [
    { text: undefined, want: 20 },
    { text: '0', want: 0 },
    { text: ' 3 ', want: 3 },
    { text: '200', want: 200 },
    { text: '201', want: /input history must .* from 0 \(off\) to 200 \(got "201"\)/ },
    { text: '-1', want: /input history/ },
    { text: '2.5', want: /input history/ },
    { text: 'lots', want: /input history/ },
  ];
  for (const c of cases) {
    it(`input history ${JSON.stringify(c.text)}`, () => {
      if (typeof c.want === 'number') assert.equal(settingsOf(c.text).history, c.want);
      else
        assert.throws(
          () => settingsOf(c.text),
          (err: unknown) => err instanceof ConfigurationError && (c.want as RegExp).test(err.message),
        );
    });
  }

  const record = (history: unknown): string =>
    JSON.stringify({
      schema: RECORD_SCHEMA,
      runId: '1',
      repository: 'o/r',
      sha: 'a'.repeat(40),
      ref: 'refs/heads/main',
      event: 'push',
      prNumber: null,
      workflow: 'w',
      githubRunId: '1',
      createdAt: '2026-01-01T00:00:00Z',
      report: {
        title: 't',
        markerKey: 'k',
        pivot: null,
        directions: {},
        thresholdPercent: 5,
        baseline: 'record',
        baselineRef: 'main',
        comment: true,
        ...(history === undefined ? {} : { history }),
      },
    });
  const recordCases: { history: unknown; want: number | undefined | 'corrupt' }[] = [
    { history: undefined, want: undefined },
    { history: 3, want: 3 },
    { history: 0, want: 0 },
    { history: 201, want: 'corrupt' },
    { history: '3', want: 'corrupt' },
  ];
  for (const c of recordCases) {
    it(`run record report.history ${JSON.stringify(c.history)}`, () => {
      const r = parseRunRecord(record(c.history), 'run.json');
      if (c.want === 'corrupt') {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, /report\.history/);
      } else {
        assert.ok(r.ok, r.ok ? '' : r.reason);
        if (r.ok) assert.equal(r.value.report?.history, c.want);
      }
    });
  }
});
