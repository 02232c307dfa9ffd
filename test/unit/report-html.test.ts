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
import type { ChartSeries, RenderOptions } from '../../src/report/render.ts';
import { formatNumber } from '../../src/report/render.ts';
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

/** The bars of a chart (not the legend's swatches). */
function rects(svg: string): Record<string, string>[] {
  return [...svg.matchAll(/<rect class="bar[^>]*>/g)].map((m) => attributes(m[0]));
}

function errorBars(svg: string): Record<string, string>[] {
  return [...svg.matchAll(/<line class="error-bar"[^>]*>/g)].map((m) => attributes(m[0]));
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
  // b-y has no time. Bars go row by row (tool), a bar per service; a single value has no interval.
  const metricCases: {
    metric: string;
    rows: string[][];
    series: string[];
    bars: { value: number; low?: number; high?: number }[];
    heat: string[][];
  }[] = [
    {
      metric: 'cov',
      rows: [
        ['a', '11.5 (11–12, n=2)', '15.5 (15–16, n=2)'],
        ['b', '21.5 (21–22, n=2)', '25.5 (25–26, n=2)'],
        ['c', '31 (n=1)', '35.5 (35–36, n=2)'],
      ],
      series: ['x', 'y'],
      bars: [
        { value: 11.5, low: 11, high: 12 },
        { value: 15.5, low: 15, high: 16 },
        { value: 21.5, low: 21, high: 22 },
        { value: 25.5, low: 25, high: 26 },
        { value: 31 },
        { value: 35.5, low: 35, high: 36 },
      ],
      heat: [
        ['a', '11.5', '15.5'],
        ['b', '21.5', '25.5'],
        ['c', '31', '35.5'],
      ],
    },
    {
      metric: 'time',
      rows: [
        ['a', '3 (n=2, all equal)', '3 (n=2, all equal)'],
        ['b', '-2 (n=2, all equal)', '—'],
        ['c', '0 (n=1)', '0 (n=2, all equal)'],
      ],
      series: ['x', 'y'],
      bars: [
        { value: 3, low: 3, high: 3 },
        { value: 3, low: 3, high: 3 },
        { value: -2, low: -2, high: -2 },
        { value: 0 },
        { value: 0, low: 0, high: 0 },
      ],
      heat: [
        ['a', '3', '3'],
        ['b', '-2', '—'],
        ['c', '0', '0'],
      ],
    },
    {
      metric: 'mem',
      rows: [['a', '512 (n=1)']],
      series: ['x'],
      bars: [{ value: 512 }],
      heat: [['a', '512']],
    },
  ];

  it('is one HTML5 document with one pivot table, one chart and one heatmap per metric', () => {
    assert.ok(html.startsWith('<!doctype html>\n<html lang="en">'));
    assert.ok(html.trimEnd().endsWith('</html>'));
    for (const kind of ['pivot', 'heatmap']) {
      assert.deepEqual(
        tables(html, kind).map((t) => attributes(t)['data-metric']),
        metricCases.map((c) => c.metric),
      );
    }
    assert.deepEqual(
      svgs(html).map((s) => attributes(s)['data-metric']),
      metricCases.map((c) => c.metric),
    );
  });

  for (const c of metricCases) {
    it(`pivots, charts and maps ${c.metric}`, () => {
      const table = tables(html, 'pivot').find((t) => t.includes(`data-metric="${c.metric}"`));
      assert.ok(table);
      assert.deepEqual(bodyRows(table), c.rows);
      const svg = svgs(html).find((s) => s.includes(`data-metric="${c.metric}"`));
      assert.ok(svg);
      assert.match(svg, /^<svg class="chart" role="img" aria-label="Bar chart, /);
      const bars = rects(svg);
      assert.equal(bars.length, c.bars.length, 'one rect per bar');
      assert.deepEqual(
        bars.map((r) => [r['data-value'], r['data-low'], r['data-high']].map((v) => v && Number(v))),
        c.bars.map((b) => [b.value, b.low, b.high]),
      );
      assert.deepEqual(
        errorBars(svg).map((e) => [Number(e['data-low']), Number(e['data-high'])]),
        c.bars.filter((b) => b.low !== undefined).map((b) => [b.low, b.high]),
        'an error bar per interval, none for a single value',
      );
      assert.deepEqual(
        bars.map((r) => r.class),
        bars.map((r) => `bar s${c.series.indexOf(r['data-series'])}`),
        'a colour per service',
      );
      assert.deepEqual(
        [...svg.matchAll(/<g class="legend-item" data-series="([^"]*)"><rect class="swatch (s\d)"/g)].map(
          (m) => [m[1], m[2]],
        ),
        c.series.map((s, j) => [s, `s${j}`]),
      );
      const heat = tables(html, 'heatmap').find((t) => t.includes(`data-metric="${c.metric}"`));
      assert.ok(heat);
      assert.deepEqual(bodyRows(heat), c.heat);
    });
  }

  it("gives each bar a tooltip with its centre, interval, the interval's kind and n", () => {
    const svg = svgs(html)[0];
    const tips = [...svg.matchAll(/<rect class="bar[^>]*><title>([^<]*)<\/title>/g)].map((m) => text(m[1]));
    assert.deepEqual(tips.slice(3, 5), [
      'b, y: median 25.5; range (too few for a 95% interval): 25 to 26; n=2',
      'c, x: median 31; one value, no interval; n=1',
    ]);
    const label = attributes(svg.slice(0, svg.indexOf('>') + 1))['aria-label'];
    assert.equal(
      text(label),
      'Bar chart, cov by tool and service, median, error bars over each interval: ' +
        'a: x 11.5 (11 to 12), y 15.5 (15 to 16); b: x 21.5 (21 to 22), y 25.5 (25 to 26); c: x 31, y 35.5 (35 to 36)',
    );
  });

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
  /** A chart of one bar per row value, as `chartOf` gives it without a column axis. */
  const single = (bars: { value: number; low?: number; high?: number }[]): ChartSeries => ({
    metric: 'm',
    rowAxis: 'tool',
    columnAxis: undefined,
    centre: 'median',
    series: [''],
    groups: bars.map((b, i) => ({
      label: `v${i}`,
      bars: [
        {
          label: '',
          centre: b.value,
          low: b.low,
          high: b.high,
          kind: b.low === undefined ? 'single' : 'range',
          n: b.low === undefined ? 1 : 3,
        },
      ],
    })),
    totalRows: bars.length,
    totalColumns: 1,
  });
  const cases: { name: string; bars: { value: number; low?: number; high?: number }[] }[] = [
    {
      name: 'positive values',
      bars: [{ value: 1, low: 0.5, high: 1.5 }, { value: 2 }, { value: 4, low: 3, high: 5 }],
    },
    {
      name: 'negative and positive values',
      bars: [{ value: -5, low: -6, high: -4 }, { value: 7.25, low: 7, high: 8 }, { value: -1.5 }],
    },
    {
      name: 'an interval across zero',
      bars: [
        { value: 0.5, low: -1, high: 2 },
        { value: 3, low: 2, high: 3 },
      ],
    },
    { name: 'only negative values', bars: [{ value: -3 }, { value: -12, low: -20, high: -10 }] },
    { name: 'a single bar', bars: [{ value: 0.003 }] },
    { name: 'all zero', bars: [{ value: 0 }, { value: 0, low: 0, high: 0 }, { value: 0 }] },
    { name: 'a value that is not a number', bars: [{ value: Number.NaN }, { value: 12, low: 10, high: 14 }] },
    { name: 'large values', bars: [{ value: 12_000_000, low: 11_000_000, high: 12_500_000 }, { value: 3 }] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const svg = barChartSvg(single(c.bars));
      const finite = c.bars.filter((b) => Number.isFinite(b.value));
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
        assert.equal(value, finite[i].value);
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
      // Each error bar spans its interval on the bars' scale, with a whisker at either end.
      const intervals = finite.filter((b) => b.low !== undefined && b.high !== undefined);
      const errors = errorBars(svg);
      assert.equal(errors.length, intervals.length, 'an error bar per interval');
      const caps = [...svg.matchAll(/<line class="error-cap"[^>]*>/g)].map((m) => attributes(m[0]));
      assert.equal(caps.length, 2 * errors.length, 'two whiskers per error bar');
      for (const [i, e] of errors.entries()) {
        const want = intervals[i];
        assert.deepEqual([Number(e['data-low']), Number(e['data-high'])], [want.low, want.high]);
        if (pixelsPerUnit > 0) {
          assert.ok(Math.abs(Number(e.y1) - (zero - want.high! * pixelsPerUnit)) <= 0.03, `top of ${i}`);
          assert.ok(Math.abs(Number(e.y2) - (zero - want.low! * pixelsPerUnit)) <= 0.03, `bottom of ${i}`);
        }
        assert.deepEqual(
          caps.slice(2 * i, 2 * i + 2).map((cap) => [cap.y1, cap.y2]),
          [
            [e.y1, e.y1],
            [e.y2, e.y2],
          ],
        );
        assert.equal(e.x1, e.x2, 'vertical');
      }
      const label = text(attributes(svg.slice(0, svg.indexOf('>') + 1))['aria-label']);
      for (const [i, b] of c.bars.entries()) {
        const spoken = Number.isFinite(b.value)
          ? `${formatNumber(b.value)}${b.low === undefined ? '' : ` (${formatNumber(b.low)} to ${formatNumber(b.high!)})`}`
          : 'n/a';
        assert.ok(label.includes(`v${i}: ${spoken}`), `the aria-label reads v${i}: ${spoken} in ${label}`);
      }
      if (finite.length < c.bars.length) assert.match(svg, />n\/a</);
    });
  }

  it('groups bars by row, a colour per column value, leaving a gap for an empty cell', () => {
    const bar = (label: string, centre: number) => ({
      label,
      centre,
      low: centre - 1,
      high: centre + 1,
      kind: 'range' as const,
      n: 2,
    });
    const svg = barChartSvg(
      {
        metric: 'cov',
        rowAxis: 'service',
        columnAxis: 'tool',
        centre: 'median',
        series: ['a', 'b', 'c'],
        groups: [
          { label: 'x', bars: [bar('a', 10), bar('b', 20), bar('c', 30)] },
          { label: 'y', bars: [bar('a', 15), undefined, bar('c', 5)] },
        ],
        totalRows: 2,
        totalColumns: 3,
      },
      new Map([['cov', { unit: '%' }]]),
    );
    const drawn = rects(svg);
    assert.deepEqual(
      drawn.map((r) => [r.class, r['data-series'], r['data-value']]),
      [
        ['bar s0', 'a', '10'],
        ['bar s1', 'b', '20'],
        ['bar s2', 'c', '30'],
        ['bar s0', 'a', '15'],
        ['bar s2', 'c', '5'],
      ],
    );
    const middle = drawn.map((r) => Number(r.x) + Number(r.width) / 2);
    const step = middle[1] - middle[0];
    assert.ok(step > Number(drawn[0].width), 'bars of a group stand side by side');
    assert.ok(Math.abs(middle[2] - middle[1] - step) < 0.02);
    assert.ok(Math.abs(middle[4] - middle[3] - 2 * step) < 0.02, 'the empty cell keeps its place');
    assert.ok(middle[3] - middle[2] > step, 'groups are apart');
    assert.deepEqual(
      errorBars(svg).map((e) => Number(e.x1)),
      middle.map((m) => Math.round(m * 100) / 100),
      'each error bar on its bar',
    );
    assert.match(svg, /<text class="title"[^>]*>cov \(%\) by service and tool, median<\/text>/);
    assert.match(
      svg,
      /transform="rotate\(-90\)"[^>]*>cov \(%\)<\/text>/,
      'the y axis is the metric with its unit',
    );
    assert.match(svg, /<text class="legend-label"[^>]*>tool:<\/text>/);
  });

  it('draws nothing for no bars', () => {
    assert.equal(barChartSvg({ ...single([]), groups: [] }), '');
  });
});

describe('heatmaps', () => {
  // tool a < b < c in both services: the smallest cell is a/x, the largest c/y.
  const experiments = ['a', 'b', 'c'].flatMap((tool) =>
    ['x', 'y'].map((service) => experiment(`${tool}-${service}`, { tool, service })),
  );
  const files = new Map<string, ExperimentFiles>(
    experiments.map((x, i) => [x.id, { metrics: { cov: 10 * (i + 1) } }]),
  );
  const data = reportData(manifestOf(experiments), files);
  const cases: { name: string; directions: string; min: string; max: string; legend: RegExp }[] = [
    {
      name: 'higher is better',
      directions: 'cov:higher',
      min: 'rgb(232, 136, 76)',
      max: 'rgb(84, 142, 214)',
      legend: /10 worse.*60 better \(higher is better\)/,
    },
    {
      name: 'lower is better',
      directions: 'cov:lower',
      min: 'rgb(84, 142, 214)',
      max: 'rgb(232, 136, 76)',
      legend: /60 worse.*10 better \(lower is better\)/,
    },
    {
      name: 'no direction',
      directions: '',
      min: 'rgb(246, 246, 246)',
      max: 'rgb(64, 160, 150)',
      legend: /10 smallest.*60 largest/,
    },
  ];
  for (const c of cases) {
    it(`colours the cells by their centre: ${c.name}`, () => {
      const html = renderHtml(data, opts({ directions: parseDirections(c.directions) }));
      const [heat] = tables(html, 'heatmap');
      assert.deepEqual(bodyRows(heat), [
        ['a', '10', '20'],
        ['b', '30', '40'],
        ['c', '50', '60'],
      ]);
      const cells = [...heat.matchAll(/<td class="num heat"[^>]*>/g)].map((m) => attributes(m[0]));
      assert.deepEqual(
        cells.map((cell) => Number(cell['data-value'])),
        [10, 20, 30, 40, 50, 60],
      );
      const colour = (cell: Record<string, string>) =>
        /background-color: (rgb\([^)]*\))/.exec(cell.style)?.[1];
      assert.equal(colour(cells[0]), c.min);
      assert.equal(colour(cells[5]), c.max);
      assert.equal(new Set(cells.map(colour)).size, 6, 'every value its own shade');
      assert.match(text(/<p class="note heat-legend">([\s\S]*?)<\/p>/.exec(html)![1]), c.legend);
    });
  }
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
            ...comparedWith(data, baseline, directions, { thresholdPercent: 5 }),
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
            ...comparedWith(data, baseline, directions, { thresholdPercent: 5 }),
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
