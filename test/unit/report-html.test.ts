import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import { countExperiments } from '../../src/collect/manifest.ts';
import { escapeHtml } from '../../src/html-escape.ts';
import type { Baseline } from '../../src/report/compare.ts';
import { parseDirections } from '../../src/report/compare.ts';
import { barChartSvg, renderHtml } from '../../src/report/html.ts';
import type { ExperimentFiles, ReportData } from '../../src/report/model.ts';
import { reportData } from '../../src/report/model.ts';
import type { ChartBar, RenderOptions } from '../../src/report/render.ts';
import { comparedWith } from '../../src/report/significance.ts';

function experiment(
  id: string,
  params: Record<string, unknown>,
  over: Partial<ManifestExperiment> = {},
): ManifestExperiment {
  return {
    id,
    dir: id,
    status: 'succeeded',
    state: 'succeeded',
    exitCode: 0,
    attempts: 1,
    startedAt: '2025-01-01T00:00:00Z',
    endedAt: '2025-01-01T00:10:00Z',
    params,
    provenance: { zone: 'us-central1-a', machineType: 'e2-standard-4', spot: false },
    planned: true,
    files: [],
    problems: [],
    ...over,
  };
}

function manifestOf(experiments: ManifestExperiment[]): Manifest {
  return {
    schema: 1,
    runId: 'r1',
    bucket: 'b',
    prefix: 'p/',
    source: 'gs://b/p/runs/r1/',
    collectedAt: '2025-01-01T01:00:00Z',
    counts: countExperiments(experiments),
    experiments,
    problems: [],
  };
}

const opts = (over: Partial<RenderOptions> = {}): RenderOptions => ({
  title: 'bench',
  directions: new Map(),
  baseline: { kind: 'off' },
  ...over,
});

/** The text a browser shows for a fragment: tags dropped, entities decoded once. */
function text(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, '')
    .replace(
      /&(lt|gt|quot|#39|amp);/g,
      (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!,
    );
}

function tables(html: string, kind: string): string[] {
  return [...html.matchAll(new RegExp(`<table class="${kind}"[\\s\\S]*?</table>`, 'g'))].map((m) => m[0]);
}

/** The cell texts of each body row of a table. */
function bodyRows(table: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((r) =>
    [...r[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => text(c[1]).trim()),
  );
}

function attributes(tag: string): Record<string, string> {
  return Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function svgs(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

function rects(svg: string): Record<string, string>[] {
  return [...svg.matchAll(/<rect [^>]*>/g)].map((m) => attributes(m[0]));
}

function zeroLineY(svg: string): number {
  const line = /<line class="zero"[^>]*>/.exec(svg);
  assert.ok(line, 'a zero line');
  return Number(attributes(line[0]).y1);
}

describe('escapeHtml', () => {
  const cases: [string, string][] = [
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['"><img src=x onerror=1>', '&quot;&gt;&lt;img src=x onerror=1&gt;'],
    ['&amp;', '&amp;amp;'],
    ["' onmouseover='x", '&#39; onmouseover=&#39;x'],
    ['a\u202eb\u2066c\u2069d', 'abcd'],
    ['tab\tline\nbreak\r\n', 'tab\tline\nbreak\r\n'],
    ['nul\u0000bell\u0007esc\u001b[31m\u0085', 'nul bell esc [31m '],
    ['plain ünïcode ✓ 1 < 2', 'plain ünïcode ✓ 1 &lt; 2'],
  ];
  for (const [input, want] of cases) {
    it(`escapes ${JSON.stringify(input)}`, () => assert.equal(escapeHtml(input), want));
  }
});

describe('the HTML page of a run', () => {
  const TOOL: Record<string, number> = { a: 10, b: 20, c: 30 };
  const TIME: Record<string, number> = { a: 3, b: -2, c: 0 };
  const SERVICE: Record<string, number> = { x: 0, y: 4 };
  const experiments: ManifestExperiment[] = [];
  const files = new Map<string, ExperimentFiles>();
  for (const tool of Object.keys(TOOL)) {
    for (const service of Object.keys(SERVICE)) {
      for (const seed of [1, 2]) {
        const id = `${tool}-${service}-${seed}`;
        if (id === 'c-x-2') {
          experiments.push(experiment(id, { tool, service, seed }, { status: 'failed', state: 'failed' }));
          files.set(id, { logTail: 'boom' });
          continue;
        }
        experiments.push(experiment(id, { tool, service, seed }));
        const metrics: Record<string, number> = { cov: TOOL[tool] + SERVICE[service] + seed };
        if (id !== 'b-y-1' && id !== 'b-y-2') metrics.time = TIME[tool];
        if (id === 'a-x-1') metrics.mem = 512;
        files.set(id, { metrics });
      }
    }
  }
  const data = reportData(manifestOf(experiments), files);
  const html = renderHtml(data, opts());

  // Worked out by hand: cov = tool + service + seed, the median of seeds 1 and 2 with their range (c-x-2 failed);
  // b-y has no time.
  const metricCases: { metric: string; rows: string[][]; bars: Record<string, number> }[] = [
    {
      metric: 'cov',
      rows: [
        ['a', '11.5 (11–12, n=2)', '15.5 (15–16, n=2)'],
        ['b', '21.5 (21–22, n=2)', '25.5 (25–26, n=2)'],
        ['c', '31 (n=1)', '35.5 (35–36, n=2)'],
      ],
      bars: { a: 13.5, b: 23.5, c: 34 },
    },
    {
      metric: 'time',
      rows: [
        ['a', '3 (n=2, all equal)', '3 (n=2, all equal)'],
        ['b', '-2 (n=2, all equal)', '—'],
        ['c', '0 (n=1)', '0 (n=2, all equal)'],
      ],
      bars: { a: 3, b: -2, c: 0 },
    },
    { metric: 'mem', rows: [['a', '512 (n=1)']], bars: { a: 512 } },
  ];

  it('is one HTML5 document with one pivot table and one chart per metric', () => {
    assert.ok(html.startsWith('<!doctype html>\n<html lang="en">'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.deepEqual(
      tables(html, 'pivot').map((t) => attributes(t)['data-metric']),
      metricCases.map((c) => c.metric),
    );
    assert.deepEqual(
      svgs(html).map((s) => attributes(s)['data-metric']),
      metricCases.map((c) => c.metric),
    );
  });

  for (const c of metricCases) {
    it(`pivots and charts ${c.metric}`, () => {
      const table = tables(html, 'pivot').find((t) => t.includes(`data-metric="${c.metric}"`));
      assert.ok(table);
      assert.deepEqual(bodyRows(table), c.rows);
      const svg = svgs(html).find((s) => s.includes(`data-metric="${c.metric}"`));
      assert.ok(svg);
      assert.match(svg, /^<svg class="chart" role="img" aria-label="Bar chart, /);
      const bars = rects(svg);
      assert.equal(bars.length, Object.keys(c.bars).length, 'one rect per bar');
      assert.deepEqual(
        bars.map((r) => Number(r['data-value'])),
        Object.values(c.bars),
      );
      assert.equal((svg.match(/<title>/g) ?? []).length, 2 * bars.length, 'a tooltip per bar and per label');
    });
  }

  it('lists every experiment with its parameters and metrics, the failed one marked', () => {
    const [results] = tables(html, 'results');
    const rows = bodyRows(results);
    assert.equal(rows.length, experiments.length);
    assert.deepEqual(rows[0], [
      'a-x-1',
      'a',
      'x',
      '1',
      'succeeded',
      '1',
      '10.0 min',
      'us-central1-a',
      `$${data.experiments[0].costUsd!.toFixed(4)}`,
      '11',
      '3',
      '512',
    ]);
    const marked = [...results.matchAll(/<tr class="failed"><td><code>(.*?)<\/code>/g)].map((m) => m[1]);
    assert.deepEqual(marked, ['c-x-2']);
    assert.deepEqual(rows.find((r) => r[0] === 'c-x-2')?.slice(0, 6), [
      'c-x-2',
      'c',
      'x',
      '2',
      'failed',
      '1',
    ]);
    assert.match(html, /<pre class="log"[^>]*>boom<\/pre>/);
  });

  it('shows the totals', () => {
    const tiles = [...html.matchAll(/<dt>(.*?)<\/dt><dd>(.*?)<\/dd>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(tiles.slice(0, 4), [
      ['experiments', '12'],
      ['succeeded', '11'],
      ['failed', '1'],
      ['missing', '0'],
    ]);
  });

  it('leaves out pivots and charts when there are no parameters', () => {
    const bare = reportData(manifestOf([experiment('only', {})]), new Map([['only', { metrics: { m: 1 } }]]));
    const page = renderHtml(bare, opts());
    assert.equal(tables(page, 'pivot').length, 0);
    assert.equal(svgs(page).length, 0);
    assert.equal(bodyRows(tables(page, 'results')[0]).length, 1);
  });
});

describe('bar charts', () => {
  const cases: { name: string; values: number[] }[] = [
    { name: 'positive values', values: [1, 2, 4] },
    { name: 'negative and positive values', values: [-5, 7.25, -1.5] },
    { name: 'only negative values', values: [-3, -12] },
    { name: 'a single bar', values: [0.003] },
    { name: 'all zero', values: [0, 0, 0] },
    { name: 'a value that is not a number', values: [Number.NaN, 12] },
    { name: 'large values', values: [12_000_000, 3] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const bars: ChartBar[] = c.values.map((mean, i) => ({ label: `v${i}`, mean, n: 1 }));
      const svg = barChartSvg({ metric: 'm', axis: 'tool', bars });
      const finite = c.values.filter((v) => Number.isFinite(v));
      const drawn = rects(svg);
      assert.equal(drawn.length, finite.length, 'a rect per number');
      assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
      const zero = zeroLineY(svg);
      const largest = drawn.reduce((a, r) => Math.max(a, Math.abs(Number(r['data-value']))), 0);
      const pixelsPerUnit =
        largest === 0
          ? 0
          : Number(drawn.find((r) => Math.abs(Number(r['data-value'])) === largest)!.height) / largest;
      for (const [i, r] of drawn.entries()) {
        const value = Number(r['data-value']);
        assert.equal(value, finite[i]);
        const y = Number(r.y);
        const height = Number(r.height);
        assert.ok(height >= 0);
        if (value < 0) assert.equal(y, zero, 'a negative bar hangs from zero');
        else assert.ok(Math.abs(y + height - zero) < 0.02, 'a bar stands on zero');
        // Coordinates are rounded to hundredths of a pixel.
        assert.ok(Math.abs(height - Math.abs(value) * pixelsPerUnit) <= 0.011, `bar ${i} is ${height} tall`);
      }
      if (largest > 0)
        assert.ok(pixelsPerUnit > 50 / largest, 'the largest bar is drawn at a visible height');
      const label = attributes(svg.slice(0, svg.indexOf('>') + 1))['aria-label'];
      assert.equal(label.split(': ').length - 1, 1 + bars.length, 'the aria-label reads every value');
      if (finite.length < c.values.length) assert.match(svg, />n\/a</);
    });
  }
  it('draws nothing for no bars', () => {
    assert.equal(barChartSvg({ metric: 'm', axis: 'tool', bars: [] }), '');
  });
});

describe('hostile text', () => {
  const ALLOWED_TAGS = new Set(
    (
      'html head meta title style body header main footer section article h1 h2 h3 p code strong span small pre dl dt dd ' +
      'div table thead tbody tr th td details summary figure svg text line rect g'
    ).split(' '),
  );
  const hostile = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=1>',
    '&amp;',
    "' onmouseover='alert(1)",
    '</pre></textarea><style>*{}</style>',
    'rtl\u202eexe.txt\u2066x\u2069',
  ];
  for (const evil of hostile) {
    it(`keeps ${JSON.stringify(evil)} as text everywhere`, () => {
      const experiments = [
        experiment(`id-${evil}`, { [`axis${evil}`]: evil, other: `o${evil}` }),
        experiment(
          'failed',
          { [`axis${evil}`]: 'v' },
          { status: 'failed', state: 'failed', reason: `why ${evil}` },
        ),
      ];
      const files = new Map<string, ExperimentFiles>([
        [`id-${evil}`, { metrics: { [`m${evil}`]: 1, plain: 2 } }],
        ['failed', { logTail: `line 1\n${evil}\nline 3` }],
      ]);
      const data = reportData(manifestOf(experiments), files);
      const html = renderHtml(data, opts({ title: evil, baseline: { kind: 'none', ref: evil, note: evil } }));
      for (const tag of html.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)) {
        assert.ok(ALLOWED_TAGS.has(tag[1].toLowerCase()), `unexpected tag ${tag[0]}`);
        // Attribute values are quoted with every quote inside escaped: what is left are the attribute names.
        const names = tag[2].replace(/"[^"]*"/g, '""');
        assert.doesNotMatch(names, /\son\w+\s*=|\ssrc\s*=|\shref\s*=|'/i, tag[0]);
      }
      assert.doesNotMatch(html, /[\u202a-\u202e\u2066-\u2069]/);
      const shown = evil.replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
      assert.equal(text(/<h1>([\s\S]*?)<\/h1>/.exec(html)![1]), shown, 'the title reads as written');
      assert.equal(
        text(/<pre class="log"[^>]*>([\s\S]*?)<\/pre>/.exec(html)![1]),
        `line 1\n${shown}\nline 3`,
      );
      assert.ok(text(html).includes(`why ${shown}`), 'the reason reads as written');
      assert.ok(html.includes(`data-metric="${escapeHtml(`m${evil}`)}"`), 'the metric name, quoted safely');
      assert.equal((html.match(/<pre/g) ?? []).length, (html.match(/<\/pre>/g) ?? []).length);
    });
  }
});

describe('a self-contained page', () => {
  const experiments = [experiment('a-1', { tool: 'a', seed: 1 }), experiment('b-1', { tool: 'b', seed: 1 })];
  const files = new Map<string, ExperimentFiles>([
    ['a-1', { metrics: { cov: 1 } }],
    ['b-1', { metrics: { cov: 2 } }],
  ]);
  const html = renderHtml(
    reportData(manifestOf(experiments), files),
    opts({
      runUrl: 'https://github.com/o/r/actions/runs/1',
      artifactUrl: 'https://github.com/o/r/actions/runs/1#artifacts',
      marker: '<!-- gce-matrix-report: k -->',
    }),
  );
  const cases: [string, RegExp][] = [
    ['no URL of any kind', /\b(https?|ftp|file|data|javascript):/i],
    ['no src or href', /\b(src|href|xlink:href|srcset)\s*=/i],
    ['no script, link, image, frame or object', /<(script|link|img|iframe|object|embed|base)\b/i],
    ['no CSS import or url()', /@import|url\(/i],
    ['no comment marker', /<!--/],
  ];
  for (const [name, bad] of cases) {
    it(name, () => assert.doesNotMatch(html, bad));
  }
  it('forbids loading anything and running script', () => {
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
    );
    assert.match(html, /<meta charset="utf-8">/);
  });
});

describe('the baseline', () => {
  const experiments = [experiment('a-x-1', { tool: 'a' }), experiment('a-y-1', { tool: 'a' })];
  const files = new Map<string, ExperimentFiles>([
    ['a-x-1', { metrics: { cov: 11, time: 3, mem: 512 } }],
    ['a-y-1', { metrics: { cov: 15 } }],
  ]);
  const data = reportData(manifestOf(experiments), files);
  const baseline: Baseline = {
    schema: 1,
    ref: 'main',
    sha: '0123456789abcdef',
    runId: 'r0',
    recordedAt: '2024-12-31T00:00:00.000Z',
    experiments: {
      'a-x-1': { metrics: { cov: 20, time: 10, mem: 256 } },
      'a-y-1': { metrics: { cov: 15.2 } },
    },
  };
  const cases: { directions: string; regressions: string[][]; changes: string[][] }[] = [
    {
      directions: 'cov:higher, time:lower',
      regressions: [['a-x-1', 'cov', '20', '11', '-9 (-45.0%)', 'higher is better', 'worse']],
      changes: [
        ['a-x-1', 'cov', '20', '11', '-9 (-45.0%)', 'higher is better', 'worse'],
        ['a-x-1', 'time', '10', '3', '-7 (-70.0%)', 'lower is better', 'better'],
        ['a-x-1', 'mem', '256', '512', '+256 (+100.0%)', 'unknown', 'changed'],
        ['a-y-1', 'cov', '15.2', '15', '-0.2 (-1.3%)', 'higher is better', 'same'],
      ],
    },
    {
      directions: 'cov:lower, time:higher',
      regressions: [['a-x-1', 'time', '10', '3', '-7 (-70.0%)', 'higher is better', 'worse']],
      changes: [
        ['a-x-1', 'cov', '20', '11', '-9 (-45.0%)', 'lower is better', 'better'],
        ['a-x-1', 'time', '10', '3', '-7 (-70.0%)', 'higher is better', 'worse'],
        ['a-x-1', 'mem', '256', '512', '+256 (+100.0%)', 'unknown', 'changed'],
        ['a-y-1', 'cov', '15.2', '15', '-0.2 (-1.3%)', 'lower is better', 'same'],
      ],
    },
  ];
  for (const c of cases) {
    it(`shows deltas and regressions with ${c.directions}`, () => {
      const directions = parseDirections(c.directions);
      const html = renderHtml(
        data,
        opts({
          directions,
          baseline: {
            kind: 'compared',
            ref: 'main',
            which: 'merge-base',
            baseline,
            ...comparedWith(data, baseline, directions, 5),
            thresholdPercent: 5,
          },
        }),
      );
      // Seed against seed, for the details; what is flagged is decided on repetitions, and one seed is too few.
      assert.deepEqual(bodyRows(tables(html, 'deltas changes')[0]), c.changes);
      const significance = bodyRows(tables(html, 'significance')[0]);
      assert.ok(significance.length > 0);
      for (const row of significance)
        assert.equal(row[6], 'too few repetitions (needs 4 per side)', String(row));
      // Without a seed axis each experiment is a combination of its own.
      const [id, metric] = c.regressions[0] ?? [];
      assert.ok(
        significance.some((row) => row[0] === id && row[1] === metric),
        JSON.stringify(significance),
      );
      assert.match(html, /<dt>significant regressions beyond 5%<\/dt><dd>0<\/dd>/);
      assert.match(
        text(html),
        /Compared with the baseline of the merge base 0123456789ab, run r0, recorded 2024-12-31T00:00:00.000Z: 4 value\(s\) compared, 1 worse and 1 better beyond 5%\./,
      );
    });
  }
  it('says when there is none, and shows no tables', () => {
    const html = renderHtml(data, opts({ baseline: { kind: 'none', ref: 'main' } }));
    assert.match(text(html), /None recorded for main yet/);
    assert.equal(tables(html, 'significance').length, 0);
  });
});

describe('large runs', () => {
  const run = (n: number): ReportData => {
    const experiments = Array.from({ length: n }, (_, i) => experiment(`e-${i}`, { tool: `t${i % 3}` }));
    const files = new Map(experiments.map((x, i) => [x.id, { metrics: { cov: i } }]));
    return reportData(manifestOf(experiments), files);
  };
  const cases: { n: number; rowLimit: number | undefined; rows: number; note: RegExp | undefined }[] = [
    { n: 3, rowLimit: undefined, rows: 3, note: undefined },
    { n: 12, rowLimit: 12, rows: 12, note: undefined },
    {
      n: 12,
      rowLimit: 5,
      rows: 5,
      note: /… and 7 more experiment\(s\) not shown here \(the first 5 of 12\)/,
    },
    {
      n: 1001,
      rowLimit: undefined,
      rows: 1000,
      note: /… and 1 more experiment\(s\) not shown here \(the first 1000 of 1001\)/,
    },
  ];
  for (const c of cases) {
    it(`shows ${c.rows} of ${c.n} experiments with row limit ${c.rowLimit ?? 'default'}`, () => {
      const data = run(c.n);
      const baseline: Baseline = {
        schema: 1,
        ref: 'main',
        sha: 'abc',
        runId: 'r0',
        recordedAt: 'then',
        experiments: Object.fromEntries(data.experiments.map((x) => [x.id, { metrics: { cov: -1 } }])),
      };
      const directions = parseDirections('cov:lower');
      const html = renderHtml(
        data,
        opts({
          directions,
          baseline: {
            kind: 'compared',
            ref: 'main',
            which: 'latest',
            baseline,
            ...comparedWith(data, baseline, directions, 5),
            thresholdPercent: 5,
          },
        }),
        c.rowLimit,
      );
      assert.equal(bodyRows(tables(html, 'results')[0]).length, c.rows);
      assert.equal(bodyRows(tables(html, 'deltas changes')[0]).length, c.rows);
      assert.equal(bodyRows(tables(html, 'significance')[0]).length, c.rows);
      if (c.note) {
        assert.match(html, c.note);
        assert.match(html, new RegExp(`… and ${c.n - c.rows} more change\\(s\\), not shown`));
      } else {
        assert.doesNotMatch(html, /class="note truncated"/);
      }
    });
  }
});
