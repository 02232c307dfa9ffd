/**
 * Renders the report as one self-contained HTML page for reading from disk: the totals, the baseline comparison,
 * failures with their log tails, per metric a pivot table, an inline SVG grouped bar chart with error bars and a
 * heatmap, and every experiment.
 * No script and nothing loaded from anywhere (a Content-Security-Policy says so too); every piece of untrusted
 * text goes through escapeHtml. Pure: no I/O.
 */
import type { CollectedStatus } from '../collect/manifest.ts';
import { countClass } from '../collect/manifest.ts';
import { escapeHtml } from '../html-escape.ts';
import type { Delta, Verdict } from './compare.ts';
import type { Centre, Direction, MetricInfo, Pivot, ReportData, ReportExperiment } from './model.ts';
import { chooseAxes, metricLabel, paramNames, pivotOf } from './model.ts';
import type { BaselineInfo, ChartBar, ChartLimits, ChartSeries, RenderOptions } from './render.ts';
import {
  placementText,
  byVerdict,
  cellLegend,
  chartCapNote,
  chartOf,
  chartTitle,
  failureReason,
  formatCell,
  formatDelta,
  formatDuration,
  formatNumber,
  formatP,
  formatShift,
  intervalWords,
  sampleVerdict,
  historyRule,
  significanceRule,
  significantRegressions,
} from './render.ts';
import type { SampleComparison } from './significance.ts';
import type { HistoryComparison, HistoryRow } from './history.ts';
import { formatZ, historyRowOf } from './history.ts';
import { trendSection } from './html-trend.ts';

/** A page can hold more than a comment, but a browser still chokes on a table of millions of cells. */
const MAX_PIVOT_ROWS = 200;
const MAX_PIVOT_COLUMNS = 40;
const MAX_FAILURES = 200;
const MAX_RESULT_PARAMS = 10;
const MAX_RESULT_METRICS = 20;

const h = escapeHtml;

const VERDICT_TEXT: Record<Verdict, string> = {
  improved: 'better',
  regressed: 'worse',
  unchanged: 'same',
  changed: 'changed',
};

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --stripe: #f6f8fa;
  --head: #eef1f4; --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 24px 28px 48px; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 16px; margin: 26px 0 6px; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0; }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; padding: 0; }
.tile { border: 1px solid var(--border); border-radius: 8px; padding: 8px 16px; min-width: 120px; }
.tile dt { font-size: 12px; color: var(--muted); }
.tile dd { margin: 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile.good dd { color: var(--good); } .tile.bad dd { color: var(--bad); } .tile.warn dd { color: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 4px; }
th, td { padding: 4px 10px; border: 1px solid var(--border); text-align: left; vertical-align: top; }
thead th, thead td { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody th { font-weight: 600; overflow-wrap: anywhere; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small { color: var(--muted); }
td.empty { color: var(--muted); text-align: center; }
table.results td { white-space: nowrap; }
tbody tr.failed { background: #ffebe9; } tr.failed td:first-child { box-shadow: inset 3px 0 var(--bad); }
tbody tr.missing { background: #fff8c5; } tr.missing td:first-child { box-shadow: inset 3px 0 var(--warn); }
.status-succeeded { color: var(--good); } .status-failed { color: var(--bad); font-weight: 600; }
.status-missing { color: var(--warn); font-weight: 600; }
.verdict-improved { color: var(--good); font-weight: 600; } .verdict-regressed { color: var(--bad); font-weight: 600; }
.verdict-changed { color: var(--info); } .verdict-unchanged { color: var(--muted); }
.failure { border: 1px solid var(--border); border-left: 4px solid var(--bad); border-radius: 6px;
  padding: 6px 14px 10px; margin: 12px 0; }
.failure h3 { margin: 6px 0; font-size: 15px; }
pre { background: var(--stripe); border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px;
  margin: 6px 0 0; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin: 12px 0; } summary { cursor: pointer; font-weight: 600; }
figure { margin: 14px 0 4px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .axis-title { fill: var(--muted); font-size: 12px; }
svg.chart .grid { stroke: #e6e9ec; } svg.chart .zero { stroke: #8c959f; }
svg.chart .s0 { fill: #3b6fd4; } svg.chart .s1 { fill: #e07b39; } svg.chart .s2 { fill: #2a9d6f; }
svg.chart .s3 { fill: #a44fb3; } svg.chart .s4 { fill: #c9a227; } svg.chart .s5 { fill: #3fa7c4; }
svg.chart .s6 { fill: #d4593b; } svg.chart .s7 { fill: #7a7f87; } svg.chart .s8 { fill: #8c6d46; } svg.chart .s9 { fill: #e377c2; }
svg.chart .error-bar, svg.chart .error-cap { stroke: var(--fg); stroke-width: 1.25; }
svg.chart .legend-label { fill: var(--muted); }
table.heatmap td.heat { text-align: center; min-width: 56px; }
.heat-legend .ramp { display: inline-block; width: 160px; height: 12px; margin: 0 6px; vertical-align: middle;
  border: 1px solid var(--border); border-radius: 2px; }
svg.chart .value { font-weight: 600; } svg.chart .missing-value { fill: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

/** A number for an SVG attribute: two decimals are finer than a pixel. */
function coord(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** `text`, cut to `max` characters with an ellipsis. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/** A round step near `raw`: 1, 2 or 5 times a power of ten. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/**
 * The value axis: always through zero, so a bar's length is proportional to its value, with room for the value
 * labels beyond the longest bars, widened to round ticks. All-zero (or no) values still get a unit axis.
 */
function valueScale(values: readonly number[]): { lo: number; hi: number; ticks: number[] } {
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) {
    hi = 1;
  } else {
    const room = (hi - lo) * 0.08;
    if (lo < 0) lo -= room;
    if (hi > 0) hi += room;
  }
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const count = Math.round((hi - lo) / step);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((lo + i * step).toPrecision(12)));
  return { lo, hi, ticks };
}

const PLOT_TOP = 44;
const PLOT_HEIGHT = 220;
const PLOT_LEFT = 70;
const PLOT_RIGHT = 16;
const LABEL_ANGLE = 35;
const MIN_PLOT_WIDTH = 360;
/** Rough width of one 11px character, to decide whether axis labels fit under their bars. */
const CHAR_WIDTH = 6.5;

/** Bar colours (CSS classes `s0`…): the same column value has the same colour in every group and chart. */
const SERIES_COLOURS = 10;
/** What the page's chart of one metric holds at most. */
const HTML_CHART_LIMITS: ChartLimits = { bars: 120, series: SERIES_COLOURS };
const LEGEND_LINE = 16;

/** An error bar's interval in words: `range 61–62 (too few for a 95% interval)`. */
function intervalText(b: ChartBar): string {
  if (b.low === undefined || b.high === undefined) return intervalWords('single');
  return `${intervalWords(b.kind)}: ${formatNumber(b.low)} to ${formatNumber(b.high)}`;
}

/** The legend of the colours, one line per `width` pixels: what each swatch and label is, and where. */
function legendSvg(
  axis: string,
  series: readonly string[],
  left: number,
  top: number,
  width: number,
): { svg: string; lines: number } {
  const parts: string[] = [];
  const head = `${clip(axis, 24)}:`;
  parts.push(`<text class="legend-label" x="${coord(left)}" y="${coord(top + 10)}">${h(head)}</text>`);
  let x = left + head.length * CHAR_WIDTH + 10;
  let line = 0;
  for (const [j, value] of series.entries()) {
    const text = clip(value || '(none)', 24);
    const w = 16 + text.length * CHAR_WIDTH + 14;
    if (x + w > left + width && x > left) {
      line += 1;
      x = left;
    }
    const y = top + line * LEGEND_LINE;
    parts.push(
      `<g class="legend-item" data-series="${h(value)}"><rect class="swatch s${j % SERIES_COLOURS}" x="${coord(x)}" y="${coord(y)}" width="12" height="12"/>` +
        `<text x="${coord(x + 16)}" y="${coord(y + 10)}"><title>${h(value || '(none)')}</title>${h(text)}</text></g>`,
    );
    x += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, lines: line + 1 };
}

/**
 * An inline SVG bar chart of one metric: a group of bars per row value and, within it, a bar per column value in
 * that value's colour (`<rect class="bar" data-value data-low data-high>` with a `<title>` tooltip giving the
 * centre, the interval, its kind and n), each with an error bar over the cell's interval
 * (`<line class="error-bar" data-low data-high>` with whisker caps; none for a single value). Round ticks through
 * zero (negative bars hang below it), a legend of the colours when there is a column axis, axis titles (the
 * metric with its unit from `info`), and an aria-label that reads out every value. A bar whose centre is not a
 * finite number is drawn as `n/a` without a rect. Empty string for a chart without bars.
 */
export function barChartSvg(series: ChartSeries, info?: ReadonlyMap<string, MetricInfo>): string {
  const { metric, rowAxis, columnAxis, groups } = series;
  if (groups.length === 0) return '';
  const count = Math.max(1, series.series.length);
  const bars = groups.flatMap((g) => g.bars.filter((b): b is ChartBar => b !== undefined));
  const extent = bars
    .flatMap((b) => [b.centre, b.low, b.high])
    .filter((v): v is number => v !== undefined && Number.isFinite(v));
  const { lo, hi, ticks } = valueScale(extent);
  let slot: number;
  let barWidth: number;
  if (count === 1) {
    const preferredSlot = groups.length <= 4 ? 96 : groups.length <= 12 ? 64 : 40;
    slot = Math.max(preferredSlot, MIN_PLOT_WIDTH / groups.length);
    barWidth = Math.min(slot * 0.62, 72);
  } else {
    barWidth = count * groups.length <= 24 ? 22 : 14;
    slot = Math.max(count * barWidth + 18, MIN_PLOT_WIDTH / groups.length);
  }
  const plotWidth = slot * groups.length;
  const rotate = groups.some((g) => g.label.length * CHAR_WIDTH > slot - 6);
  const labelChars = rotate ? 18 : Math.floor((slot - 6) / CHAR_WIDTH);
  // A slanted label ends under its group and reaches left: the first one must not leave the picture.
  const slantedReach =
    Math.max(...groups.map((g) => Math.min(g.label.length, labelChars))) *
    CHAR_WIDTH *
    Math.cos((LABEL_ANGLE * Math.PI) / 180);
  const left = rotate ? Math.max(PLOT_LEFT, slantedReach - slot / 2 + 8) : PLOT_LEFT;
  const width = left + plotWidth + PLOT_RIGHT;
  const legend =
    columnAxis === undefined ? undefined : legendSvg(columnAxis, series.series, left, 32, plotWidth);
  const plotTop = PLOT_TOP + (legend ? legend.lines * LEGEND_LINE : 0);
  const y = (v: number): number => plotTop + ((hi - v) / (hi - lo)) * PLOT_HEIGHT;
  const zeroY = y(0);
  const labelTop = plotTop + PLOT_HEIGHT + 16;
  const height = labelTop + (rotate ? 96 : 24) + 14;
  const valueLabel = metricLabel(metric, info);
  const title = chartTitle(series, valueLabel, (text) => text);
  const cap = Math.min(barWidth * 0.3, 6);

  const spokenBar = (b: ChartBar): string =>
    Number.isFinite(b.centre)
      ? `${formatNumber(b.centre)}${b.low !== undefined && b.high !== undefined ? ` (${formatNumber(b.low)} to ${formatNumber(b.high)})` : ''}`
      : 'n/a';
  const spoken = groups
    .map((g) => {
      const shown = g.bars.filter((b): b is ChartBar => b !== undefined);
      return columnAxis === undefined
        ? `${g.label || '(none)'}: ${shown.map(spokenBar).join(', ')}`
        : `${g.label || '(none)'}: ${shown.map((b) => `${b.label || '(none)'} ${spokenBar(b)}`).join(', ')}`;
    })
    .join('; ');

  const grid = ticks.map((t) => {
    const ty = coord(y(t));
    return (
      `<line class="grid" x1="${coord(left)}" x2="${coord(left + plotWidth)}" y1="${ty}" y2="${ty}"/>` +
      `<text class="tick" x="${coord(left - 6)}" y="${ty}" dy="0.32em" text-anchor="end">${h(formatNumber(t))}</text>`
    );
  });
  const drawn = groups.map((g, i) => {
    const gx = left + slot * (i + 0.5);
    const labelX = coord(gx);
    const axisLabel = rotate
      ? `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="end" transform="rotate(-${LABEL_ANGLE} ${labelX} ${labelTop})">`
      : `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="middle">`;
    const label = `${axisLabel}<title>${h(g.label || '(none)')}</title>${h(clip(g.label, labelChars) || '(none)')}</text>`;
    const cells = g.bars.map((b, j) => {
      if (!b) return '';
      const cx = gx + (j - (count - 1) / 2) * barWidth;
      if (!Number.isFinite(b.centre)) {
        return `<text class="missing-value" x="${coord(cx)}" y="${coord(zeroY - 6)}" text-anchor="middle">n/a</text>`;
      }
      const name =
        columnAxis === undefined ? g.label || '(none)' : `${g.label || '(none)'}, ${b.label || '(none)'}`;
      const tip = `${name}: ${series.centre} ${formatNumber(b.centre)}; ${intervalText(b)}; n=${b.n}`;
      const top = b.centre >= 0 ? y(b.centre) : zeroY;
      const barHeight = Math.abs(y(b.centre) - zeroY);
      const rectWidth = count === 1 ? barWidth : barWidth - 2;
      const interval =
        b.low !== undefined && b.high !== undefined && Number.isFinite(b.low) && Number.isFinite(b.high)
          ? { low: b.low, high: b.high }
          : undefined;
      const rect =
        `<rect class="bar s${j % SERIES_COLOURS}" x="${coord(cx - rectWidth / 2)}" y="${coord(top)}" width="${coord(rectWidth)}" height="${coord(barHeight)}" ` +
        `data-value="${String(b.centre)}"${interval ? ` data-low="${String(interval.low)}" data-high="${String(interval.high)}"` : ''} data-n="${b.n}" data-kind="${b.kind}" data-series="${h(b.label)}">` +
        `<title>${h(tip)}</title></rect>`;
      const whisker = (v: number): string =>
        `<line class="error-cap" x1="${coord(cx - cap)}" x2="${coord(cx + cap)}" y1="${coord(y(v))}" y2="${coord(y(v))}"/>`;
      const errorBar = interval
        ? `<line class="error-bar" x1="${coord(cx)}" x2="${coord(cx)}" y1="${coord(y(interval.high))}" y2="${coord(y(interval.low))}" data-low="${String(interval.low)}" data-high="${String(interval.high)}"/>` +
          whisker(interval.high) +
          whisker(interval.low)
        : '';
      // With one bar per group there is room to print the value, beyond the bar and its error bar.
      const value =
        count === 1
          ? `<text class="value" x="${coord(cx)}" y="${coord(
              b.centre >= 0
                ? Math.min(top, interval ? y(interval.high) : top) - 5
                : Math.max(top + barHeight, interval ? y(interval.low) : 0) + 13,
            )}" text-anchor="middle">${h(formatNumber(b.centre))}</text>`
          : '';
      return rect + errorBar + value;
    });
    return `<g class="group" data-label="${h(g.label)}">${cells.join('')}${label}</g>`;
  });
  return [
    `<svg class="chart" role="img" aria-label="${h(`Bar chart, ${title}, error bars over each interval: ${spoken}`)}" width="${coord(width)}" height="${coord(height)}" viewBox="0 0 ${coord(width)} ${coord(height)}" data-metric="${h(metric)}">`,
    `<text class="title" x="${coord(left)}" y="20">${h(title)}</text>`,
    ...(legend ? [legend.svg] : []),
    ...grid,
    `<line class="zero" x1="${coord(left)}" x2="${coord(left + plotWidth)}" y1="${coord(zeroY)}" y2="${coord(zeroY)}"/>`,
    ...drawn,
    `<text class="axis-title" x="${coord(left + plotWidth / 2)}" y="${coord(height - 6)}" text-anchor="middle">${h(rowAxis)}</text>`,
    `<text class="axis-title" transform="rotate(-90)" x="${coord(-(plotTop + PLOT_HEIGHT / 2))}" y="16" text-anchor="middle">${h(clip(valueLabel, 40))}</text>`,
    '</svg>',
  ].join('\n');
}

type Rgb = readonly [number, number, number];
/** Where a direction is known: worse (orange) through neutral to better (blue), told apart without red-green. */
const HEAT_WORSE: Rgb = [232, 136, 76];
const HEAT_NEUTRAL: Rgb = [246, 246, 246];
const HEAT_BETTER: Rgb = [84, 142, 214];
/** Where none is: light (smallest) to teal (largest). */
const HEAT_HIGH: Rgb = [64, 160, 150];

function mix(a: Rgb, b: Rgb, t: number): string {
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c.join(', ')})`;
}

/** A cell's colour at `t` (0 the smallest centre, 1 the largest): better is blue, worse orange when known. */
function heatColour(t: number, direction: Direction | undefined): string {
  if (direction === undefined) return mix(HEAT_NEUTRAL, HEAT_HIGH, t);
  const good = direction === 'higher' ? t : 1 - t;
  return good < 0.5 ? mix(HEAT_WORSE, HEAT_NEUTRAL, good * 2) : mix(HEAT_NEUTRAL, HEAT_BETTER, good * 2 - 1);
}

/**
 * A heatmap of a pivot: a table of its cells (capped like the pivot table), each printing its centre on a colour
 * scaled between the smallest and the largest centre shown; where the metric's direction is known, the better end
 * is blue and the worse orange. A legend above it says which end is which. Empty for a pivot without cells.
 */
export function heatmapTable(
  p: Pivot,
  centre: Centre,
  direction: Direction | undefined,
  label: string,
): string {
  const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
  const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
  let min = Infinity;
  let max = -Infinity;
  for (const row of p.cells.slice(0, rows.length)) {
    for (const cell of row.slice(0, columns.length)) {
      const c = cell?.summary.centre;
      if (c === undefined || !Number.isFinite(c)) continue;
      min = Math.min(min, c);
      max = Math.max(max, c);
    }
  }
  if (min > max) return '';
  const scale = (v: number): number => (max === min ? 0.5 : (v - min) / (max - min));
  const head = p.columnAxis
    ? `<tr><th scope="col">${h(p.rowAxis)}</th>${columns.map((c) => `<th scope="col" class="num">${h(c)}</th>`).join('')}</tr>`
    : `<tr><th scope="col">${h(p.rowAxis)}</th><th scope="col" class="num">${centre}</th></tr>`;
  const body = rows.map(
    (r, i) =>
      `<tr><th scope="row">${h(r)}</th>${columns
        .map((c, j) => {
          const cell = p.cells[i][j];
          if (!cell || !Number.isFinite(cell.summary.centre)) {
            return '<td class="num empty" title="no result">—</td>';
          }
          const v = cell.summary.centre;
          const t = scale(v);
          const where = p.columnAxis ? `${r}, ${c}` : r;
          return (
            `<td class="num heat" style="background-color: ${heatColour(t, direction)}" data-value="${String(v)}" data-scale="${t.toFixed(3)}" ` +
            `title="${h(`${where}: ${formatCell(cell)}`)}">${h(formatNumber(v))}</td>`
          );
        })
        .join('')}</tr>`,
  );
  const [from, to] = direction === 'lower' ? [max, min] : [min, max];
  const ends =
    direction === undefined ? ['smallest', 'largest'] : ['worse', `better (${direction} is better)`];
  const ramp = [0, 0.25, 0.5, 0.75, 1].map((t) => heatColour(direction === 'lower' ? 1 - t : t, direction));
  const by = p.columnAxis ? `${p.rowAxis} × ${p.columnAxis}` : p.rowAxis;
  return [
    `<p class="note heat-legend">Heatmap of the ${centre}: ${h(formatNumber(from))} ${ends[0]}` +
      `<span class="ramp" style="background: linear-gradient(to right, ${ramp.join(', ')})"></span>` +
      `${h(formatNumber(to))} ${ends[1]}; scaled between the smallest and the largest cell shown.</p>`,
    '<div class="scroll">',
    `<table class="heatmap" data-metric="${h(p.metric)}" aria-label="${h(`Heatmap of ${label} by ${by}: the ${centre} of each cell, coloured from ${ends[0]} to ${ends[1]}`)}">`,
    `<thead>${head}</thead>`,
    '<tbody>',
    ...body,
    '</tbody>',
    '</table>',
    '</div>',
  ].join('\n');
}

function statusCell(status: CollectedStatus): string {
  return `<span class="status-${countClass(status)}">${h(status)}</span>`;
}

function summarySection(data: ReportData, b: BaselineInfo): string {
  const t = data.totals;
  const tiles: [string, string, string][] = [
    ['experiments', String(t.experiments), ''],
    ['succeeded', String(t.succeeded), t.succeeded === t.experiments ? 'good' : ''],
    ['failed', String(t.failed), t.failed > 0 ? 'bad' : ''],
    ['missing', String(t.missing), t.missing > 0 ? 'warn' : ''],
    ...(t.lost > 0 ? [['lost with their VM', String(t.lost), 'bad'] as [string, string, string]] : []),
    ['cost (estimate)', `$${t.costUsd.toFixed(2)}`, ''],
    ['VM hours', t.vmHours.toFixed(2), ''],
    ...(t.packed
      ? [
          [
            `packed, up to ${t.packed.mostPerVm} a VM`,
            `${t.packed.experiments} on ${t.packed.vms} VMs`,
            '',
          ] as [string, string, string],
        ]
      : []),
    ['retries', String(t.retries), t.retries > 0 ? 'warn' : ''],
  ];
  if (b.kind === 'compared') {
    const r = significantRegressions(b).length;
    tiles.push([`significant regressions beyond ${b.thresholdPercent}%`, String(r), r > 0 ? 'bad' : 'good']);
  }
  return [
    '<section id="summary" aria-label="Summary">',
    '<dl class="totals">',
    ...tiles.map(
      ([name, value, tone]) =>
        `<div class="tile${tone ? ` ${tone}` : ''}"><dt>${name}</dt><dd>${value}</dd></div>`,
    ),
    '</dl>',
    '</section>',
  ].join('\n');
}

function deltaTable(
  deltas: readonly Delta[],
  limit: number,
  className: string,
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string {
  const shown = deltas.slice(0, limit);
  return [
    '<div class="scroll">',
    `<table class="deltas ${className}">`,
    '<thead><tr><th scope="col">experiment</th><th scope="col">metric</th><th scope="col" class="num">baseline</th><th scope="col" class="num">now</th><th scope="col" class="num">change</th><th scope="col">direction</th><th scope="col">verdict</th></tr></thead>',
    '<tbody>',
    ...shown.map(
      (d) =>
        `<tr><td><code>${h(d.experiment)}</code></td><td>${h(metricLabel(d.metric, info))}</td>` +
        `<td class="num">${h(formatNumber(d.baseline))}</td><td class="num">${h(formatNumber(d.current))}</td>` +
        `<td class="num">${h(formatDelta(d))}</td><td>${d.direction ? `${d.direction} is better` : 'unknown'}</td>` +
        `<td class="verdict-${d.verdict}">${VERDICT_TEXT[d.verdict]}</td></tr>`,
    ),
    '</tbody>',
    '</table>',
    '</div>',
    ...(deltas.length > shown.length
      ? [`<p class="note truncated">… and ${deltas.length - shown.length} more change(s), not shown.</p>`]
      : []),
  ].join('\n');
}

/** The comparisons of repetitions, flagged ones first (the same rows as the comment's). */
function significanceTable(
  comparisons: readonly SampleComparison[],
  limit: number,
  info: ReadonlyMap<string, MetricInfo> | undefined,
  history?: HistoryComparison,
): string {
  const all = byVerdict(comparisons);
  const shown = all.slice(0, limit);
  const zOf = historyRowOf(history);
  return [
    '<div class="scroll">',
    '<table class="significance">',
    '<thead><tr><th scope="col">combination</th><th scope="col">metric</th><th scope="col" class="num">baseline</th><th scope="col" class="num">now</th><th scope="col" class="num">shift [95% interval]</th><th scope="col" class="num">p (adjusted)</th><th scope="col">verdict</th>' +
      `${history ? '<th scope="col" class="num">z (history)</th>' : ''}</tr></thead>`,
    '<tbody>',
    ...shown.map(
      (c) =>
        `<tr><td>${h(c.combination)}</td><td>${h(metricLabel(c.metric, info))}</td>` +
        `<td class="num">${h(formatCell({ summary: c.baseline }))}</td><td class="num">${h(formatCell({ summary: c.current }))}</td>` +
        `<td class="num">${h(formatShift(c))}</td><td class="num" title="raw p ${h(formatP(c.p))}">${h(formatP(c.pAdjusted))}</td>` +
        `<td class="verdict-${c.verdict}">${h(sampleVerdict(c))}</td>` +
        `${history ? zCell(zOf(c.combination, c.metric)) : ''}</tr>`,
    ),
    '</tbody>',
    '</table>',
    '</div>',
    ...(all.length > shown.length
      ? [`<p class="note truncated">… and ${all.length - shown.length} more comparison(s), not shown.</p>`]
      : []),
  ].join('\n');
}

function zCell(r: HistoryRow | undefined): string {
  const title =
    r?.mean !== undefined && r.sd !== undefined
      ? ` title="${h(`recorded runs: ${r.runs}, mean ${formatNumber(r.mean)}, sd ${formatNumber(r.sd)}`)}"`
      : '';
  return `<td class="num${r?.outside ? ' verdict-regressed' : ''}"${title}>${h(formatZ(r))}</td>`;
}

function baselineSection(
  b: BaselineInfo,
  limit: number,
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string {
  switch (b.kind) {
    case 'off':
      return '';
    case 'none':
      return [
        '<section id="baseline">',
        '<h2>Baseline</h2>',
        `<p>None recorded for <code>${h(b.ref)}</code> yet, so there is nothing to compare with${b.note ? ` (${h(b.note)})` : ''}. A scheduled run on that branch records one.</p>`,
        '</section>',
      ].join('\n');
    case 'recorded':
      return [
        '<section id="baseline">',
        '<h2>Baseline</h2>',
        `<p>Recorded this run as the baseline of <code>${h(b.ref)}</code> at <code>${h(b.sha.slice(0, 12))}</code> (${b.objects.map((o) => `<code>${h(o)}</code>`).join(', ')}).</p>`,
        '</section>',
      ].join('\n');
    case 'compared': {
      const base = b.baseline;
      const c = b.comparison;
      const which =
        b.which === 'merge-base'
          ? `the baseline of the merge base <code>${h(base.sha.slice(0, 12))}</code>`
          : b.which === 'earlier-run'
            ? 'an earlier run'
            : `the newest baseline on <code>${h(b.ref)}</code> (<code>${h(base.sha.slice(0, 12))}</code>; none was recorded for the merge base)`;
      return [
        '<section id="baseline">',
        '<h2>Baseline</h2>',
        `<p>Compared with ${which}, run <code>${h(base.runId)}</code>, recorded ${h(base.recordedAt)}: ` +
          `${c.deltas.length} value(s) compared, <strong>${c.regressions.length} worse</strong> and ${c.improvements} better beyond ${b.thresholdPercent}%` +
          (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : '') +
          (c.new > 0 ? `; ${c.new} experiment(s) are new` : '') +
          '.</p>',
        ...(b.significance.comparisons.length > 0
          ? [
              `<h3>Against the baseline: ${significantRegressions(b).length} regression(s) of ${b.significance.comparisons.length} comparison(s)</h3>`,
              `<p class="note">${significanceRule(b.significance, b.thresholdPercent, (text) => `<code>${h(text)}</code>`)}</p>`,
              ...(b.history
                ? [`<p class="note">${historyRule(b.history, (text) => `<code>${h(text)}</code>`)}</p>`]
                : []),
              significanceTable(b.significance.comparisons, limit, info, b.history),
            ]
          : []),
        ...(c.deltas.length > 0
          ? [
              `<details><summary>Changes against the baseline (${c.deltas.length} value(s))</summary>`,
              deltaTable(c.deltas, limit, 'changes', info),
              '</details>',
            ]
          : []),
        '</section>',
      ].join('\n');
    }
  }
}

/** Log text as a terminal showed it: colour codes gone, carriage returns as line breaks. */
function plainLog(text: string): string {
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '').replace(/\r\n?/g, '\n');
}

function failureSection(data: ReportData): string {
  const bad = data.experiments.filter((x) => x.status !== 'succeeded');
  if (bad.length === 0) return '';
  const shown = bad.slice(0, MAX_FAILURES);
  return [
    '<section id="failures">',
    `<h2>Failed and missing (${bad.length})</h2>`,
    ...shown.map((x) => {
      const why = failureReason(x);
      const log = x.logTail ? plainLog(x.logTail).trim() : '';
      return [
        `<article class="failure">`,
        `<h3><code>${h(x.id)}</code> ${statusCell(x.status)}${x.attempts ? ` <span class="muted">after ${x.attempts} attempt(s)</span>` : ''}</h3>`,
        ...(why ? [`<p class="reason">${h(why)}</p>`] : []),
        ...(log ? [`<pre class="log" aria-label="log tail">${h(log)}</pre>`] : []),
        ...(x.serialTail?.trim()
          ? [`<pre class="log" aria-label="serial console tail">${h(plainLog(x.serialTail).trim())}</pre>`]
          : []),
        '</article>',
      ].join('\n');
    }),
    ...(bad.length > shown.length
      ? [`<p class="note truncated">… and ${bad.length - shown.length} more, not shown.</p>`]
      : []),
    '</section>',
  ].join('\n');
}

function pivotTable(
  data: ReportData,
  metric: string,
  rowAxis: string,
  columnAxis: string | undefined,
  centre: Centre,
  label: string,
): string {
  const p = pivotOf(data.experiments, metric, rowAxis, columnAxis, centre);
  const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
  const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
  const head = columnAxis
    ? [
        `<tr><td></td><th scope="colgroup" colspan="${columns.length}">${h(columnAxis)}</th></tr>`,
        `<tr><th scope="col">${h(rowAxis)}</th>${columns.map((c) => `<th scope="col" class="num">${h(c)}</th>`).join('')}</tr>`,
      ]
    : [`<tr><th scope="col">${h(rowAxis)}</th><th scope="col" class="num">${centre}</th></tr>`];
  const body = rows.map(
    (r, i) =>
      `<tr><th scope="row">${h(r)}</th>${columns
        .map((_, j) => {
          const cell = p.cells[i][j];
          if (!cell) return '<td class="num empty" title="no result">—</td>';
          const s = cell.summary;
          const hover = `min ${formatNumber(s.min)}, median ${formatNumber(s.median)}, max ${formatNumber(s.max)}; mean ${formatNumber(s.mean)}; n=${s.n}`;
          return `<td class="num" title="${h(hover)}">${h(formatCell(cell))}</td>`;
        })
        .join('')}</tr>`,
  );
  return [
    '<div class="scroll">',
    `<table class="pivot" data-metric="${h(metric)}" aria-label="${h(`${label} by ${rowAxis}${columnAxis ? ` × ${columnAxis}` : ''}`)}">`,
    `<thead>${head.join('')}</thead>`,
    '<tbody>',
    ...body,
    '</tbody>',
    '</table>',
    '</div>',
    ...(p.rows.length > rows.length || p.columns.length > columns.length
      ? [
          `<p class="note truncated">${p.rows.length} × ${p.columns.length} cells; the first ${rows.length} × ${columns.length} shown.</p>`,
        ]
      : []),
  ].join('\n');
}

function metricSections(data: ReportData, opts: RenderOptions): string {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes || data.metrics.length === 0) return '';
  const centre = opts.centre ?? 'median';
  return [
    '<section id="metrics">',
    '<h2>Metrics</h2>',
    `<p class="note">By ${h(axes.rows)}${axes.columns ? ` × ${h(axes.columns)}` : ''}. ${h(cellLegend(opts.centre ?? 'median'))} Hover a cell for its min, median, max and mean. Charts: each cell's ${centre} as a bar${axes.columns ? `, grouped by ${h(axes.rows)}, a colour per ${h(axes.columns)}` : ''}, with an error bar over its interval. Heatmaps: each cell coloured between the smallest and the largest ${centre}.</p>`,
    ...data.metrics.map((metric) => {
      const dir = opts.directions.get(metric);
      const pivot = pivotOf(data.experiments, metric, axes.rows, axes.columns, centre);
      const series = chartOf(pivot, centre, HTML_CHART_LIMITS);
      const capped = chartCapNote(series, h);
      const label = metricLabel(metric, opts.metricInfo);
      const description = opts.metricInfo?.get(metric)?.description;
      return [
        '<section class="metric">',
        `<h3${description ? ` title="${h(description)}"` : ''}>${h(label)}${dir ? ` <span class="muted">(${dir} is better)</span>` : ''}</h3>`,
        ...(description ? [`<p class="note description">${h(description)}</p>`] : []),
        pivotTable(data, metric, axes.rows, axes.columns, opts.centre ?? 'median', label),
        ...(series.groups.length > 0 ? [`<figure>${barChartSvg(series, opts.metricInfo)}</figure>`] : []),
        ...(capped ? [`<p class="note capped">${capped}</p>`] : []),
        heatmapTable(pivot, centre, dir ?? opts.metricInfo?.get(metric)?.better, label),
        '</section>',
      ].join('\n');
    }),
    '</section>',
  ].join('\n');
}

/** A metric's column header: its name with the unit, its description as the tooltip. */
function metricHeader(metric: string, info: ReadonlyMap<string, MetricInfo> | undefined): string {
  const description = info?.get(metric)?.description;
  return `<th scope="col" class="num"${description ? ` title="${h(description)}"` : ''}>${h(metricLabel(metric, info))}</th>`;
}

function resultRow(
  x: ReportExperiment,
  params: readonly string[],
  metrics: readonly string[],
  packed: boolean,
): string {
  const tone = countClass(x.status);
  const shared = x.packing ? ` title="${h(`shared with ${x.packing.neighbours.join(', ')}`)}"` : '';
  return (
    `<tr${tone === 'succeeded' ? '' : ` class="${tone}"`}><td><code>${h(x.id)}</code></td>` +
    params.map((p) => `<td>${h(x.params[p] ?? '')}</td>`).join('') +
    `<td>${statusCell(x.status)}</td><td class="num">${x.attempts ?? ''}</td>` +
    `<td class="num">${h(formatDuration(x.durationSeconds))}</td><td>${h(x.zone ?? '')}</td>` +
    (packed ? `<td${shared}>${h(placementText(x))}</td>` : '') +
    `<td class="num">${x.costUsd === undefined ? '' : `$${x.costUsd.toFixed(4)}`}</td>` +
    metrics
      .map((m) => `<td class="num">${x.metrics[m] === undefined ? '' : h(formatNumber(x.metrics[m]))}</td>`)
      .join('') +
    '</tr>'
  );
}

function resultsSection(
  data: ReportData,
  limit: number,
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string {
  const params = paramNames(data.experiments).slice(0, MAX_RESULT_PARAMS);
  const metrics = data.metrics.slice(0, MAX_RESULT_METRICS);
  const shown = data.experiments.slice(0, limit);
  const notShown = data.experiments.length - shown.length;
  const packed = data.totals.packed !== undefined;
  return [
    '<section id="results">',
    `<h2>All ${data.experiments.length} experiment(s)</h2>`,
    '<div class="scroll">',
    '<table class="results">',
    `<thead><tr><th scope="col">experiment</th>${params.map((p) => `<th scope="col">${h(p)}</th>`).join('')}` +
      '<th scope="col">status</th><th scope="col" class="num">attempts</th><th scope="col" class="num">duration</th>' +
      `<th scope="col">zone</th>${packed ? '<th scope="col">VM (packed)</th>' : ''}<th scope="col" class="num">cost</th>${metrics.map((m) => metricHeader(m, info)).join('')}</tr></thead>`,
    '<tbody>',
    ...shown.map((x) => resultRow(x, params, metrics, packed)),
    '</tbody>',
    '</table>',
    '</div>',
    ...(notShown > 0
      ? [
          `<p class="note truncated">… and ${notShown} more experiment(s) not shown here (the first ${shown.length} of ${data.experiments.length}); manifest.json lists every one.</p>`,
        ]
      : []),
    ...(data.metrics.length > metrics.length
      ? [
          `<p class="note">The first ${metrics.length} of ${data.metrics.length} metrics are shown as columns.</p>`,
        ]
      : []),
    '</section>',
  ].join('\n');
}

/**
 * The full report as a self-contained HTML5 page (inline CSS and SVG, no script, no external reference), to be
 * written to a file and opened from disk. At most `rowLimit` rows in the results and baseline tables, as in
 * renderReport; the links of `opts` (run, artifact) and the comment marker are left out, as they point elsewhere.
 */
export function renderHtml(data: ReportData, opts: RenderOptions, rowLimit = 1000): string {
  const body = [
    '<header>',
    `<h1>${h(opts.title)}</h1>`,
    `<p class="muted">Run <code>${h(data.runId)}</code> · ${h(data.source)}${(data.commits ?? []).length > 0 ? ` · code at ${(data.commits ?? []).map((c) => `<code>${h(c.slice(0, 12))}</code>`).join(', ')}` : ''}</p>`,
    ...((data.unplanned ?? []).length > 0
      ? [
          `<p class="note">Not counted: the bucket also holds ${(data.unplanned ?? []).length} experiment(s) that are not in the plan (${(
            data.unplanned ?? []
          )
            .slice(0, 5)
            .map((id) => `<code>${h(id)}</code>`)
            .join(', ')}${(data.unplanned ?? []).length > 5 ? ', …' : ''}).</p>`,
        ]
      : []),
    '</header>',
    '<main>',
    summarySection(data, opts.baseline),
    baselineSection(opts.baseline, rowLimit, opts.metricInfo),
    opts.baseline.kind === 'compared'
      ? trendSection(opts.baseline.history, data.metrics, opts.metricInfo)
      : '',
    failureSection(data),
    metricSections(data, opts),
    resultsSection(data, rowLimit, opts.metricInfo),
    '</main>',
    '<footer>Written by gce-matrix. Costs are estimates from list prices.</footer>',
  ].filter((part) => part !== '');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Even if a string slipped through unescaped, the page could neither run script nor load anything.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(opts.title)} · ${h(data.runId)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
