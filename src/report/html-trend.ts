/**
 * The HTML report's "Trend on <ref>" section: per metric and combination, an inline SVG sparkline of the
 * centres the branch's recorded runs had (their intervals as a band where recorded) with this run's centre
 * highlighted at the end. No script; every label goes through escapeHtml. Pure.
 */
import { escapeHtml as h } from '../html-escape.ts';
import type { HistoryComparison, HistoryRow } from './history.ts';
import { cellOf, formatZ, historyRowOf, Z_LIMIT } from './history.ts';
import type { MetricInfo } from './model.ts';
import { metricLabel } from './model.ts';
import { formatNumber } from './render.ts';

/** Metrics and combinations the section shows at most (a page of sparklines, not a wall). */
export const MAX_TREND_METRICS = 12;
export const MAX_TREND_COMBINATIONS = 30;

const WIDTH = 180;
const HEIGHT = 40;
const PAD = 5;
const LINE = '#3b6fd4';
const CURRENT = '#1f2328';
const OUTSIDE = '#cf222e';

/** One recorded run's centre (with its interval, where recorded). */
export interface SparkPoint {
  readonly run: string;
  readonly centre: number;
  readonly low?: number;
  readonly high?: number;
}

function coord(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * An inline SVG sparkline: the recorded runs' centres as a line over their interval band, and `current` (this
 * run) as a larger dot after them, red when `outside` the noise. `description` starts the aria-label, which then
 * reads out every value. Empty string without points.
 */
export function sparklineSvg(opts: {
  readonly points: readonly SparkPoint[];
  readonly current?: number | undefined;
  readonly outside?: boolean;
  readonly description: string;
}): string {
  const { points, current } = opts;
  if (points.length === 0) return '';
  const count = points.length + (current === undefined ? 0 : 1);
  const values = [
    ...points.flatMap((p) => [
      p.centre,
      ...(p.low !== undefined && p.high !== undefined ? [p.low, p.high] : []),
    ]),
    ...(current === undefined ? [] : [current]),
  ];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const room = Math.abs(lo) * 0.05 || 1;
    lo -= room;
    hi += room;
  }
  const x = (i: number): number => (count === 1 ? WIDTH / 2 : PAD + (i * (WIDTH - 2 * PAD)) / (count - 1));
  const y = (v: number): number => PAD + ((hi - v) / (hi - lo)) * (HEIGHT - 2 * PAD);
  const banded = points.flatMap((p, i) =>
    p.low !== undefined && p.high !== undefined ? [{ i, low: p.low, high: p.high }] : [],
  );
  const band =
    banded.length >= 2
      ? `<polygon class="band" fill="${LINE}" fill-opacity="0.15" stroke="none" points="${[
          ...banded.map((b) => `${coord(x(b.i))},${coord(y(b.high))}`),
          ...[...banded].reverse().map((b) => `${coord(x(b.i))},${coord(y(b.low))}`),
        ].join(' ')}"/>`
      : '';
  const line =
    points.length >= 2
      ? `<polyline class="line" fill="none" stroke="${LINE}" stroke-width="1.5" points="${points
          .map((p, i) => `${coord(x(i))},${coord(y(p.centre))}`)
          .join(' ')}"/>`
      : '';
  const interval = (p: SparkPoint): string =>
    p.low !== undefined && p.high !== undefined ? ` [${formatNumber(p.low)}, ${formatNumber(p.high)}]` : '';
  const dots = points.map(
    (p, i) =>
      `<circle class="run" cx="${coord(x(i))}" cy="${coord(y(p.centre))}" r="1.8" fill="${LINE}" data-value="${String(p.centre)}">` +
      `<title>run ${h(p.run)}: ${h(formatNumber(p.centre))}${h(interval(p))}</title></circle>`,
  );
  const last = points.length - 1;
  const now =
    current === undefined
      ? ''
      : `<line class="to-current" x1="${coord(x(last))}" y1="${coord(y(points[last].centre))}" x2="${coord(x(count - 1))}" y2="${coord(y(current))}" stroke="${CURRENT}" stroke-width="1" stroke-dasharray="2 2"/>` +
        `<circle class="current${opts.outside ? ' outside' : ''}" cx="${coord(x(count - 1))}" cy="${coord(y(current))}" r="3.5" fill="${opts.outside ? OUTSIDE : CURRENT}" data-value="${String(current)}">` +
        `<title>this run: ${h(formatNumber(current))}</title></circle>`;
  const spoken =
    `${opts.description}: recorded runs, oldest first, ${points.map((p) => `${formatNumber(p.centre)}${interval(p)}`).join(', ')}` +
    (current === undefined
      ? ''
      : `; this run ${formatNumber(current)}${opts.outside ? ', outside the noise' : ''}`);
  return [
    `<svg class="sparkline" role="img" aria-label="${h(spoken)}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    band,
    line,
    ...dots,
    now,
    '</svg>',
  ]
    .filter((part) => part !== '')
    .join('');
}

/** The metrics of the history, those of the run first (in its order), then the rest by name. */
function metricsOf(h: HistoryComparison, order: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const entry of h.history.entries) {
    for (const metrics of Object.values(entry.combinations))
      for (const m of Object.keys(metrics)) seen.add(m);
  }
  return [...order.filter((m) => seen.has(m)), ...[...seen].filter((m) => !order.includes(m)).sort()];
}

function combinationsOf(h: HistoryComparison, metric: string): string[] {
  const seen = new Set<string>();
  for (const entry of h.history.entries) {
    for (const [label, metrics] of Object.entries(entry.combinations)) {
      if (Object.hasOwn(metrics, metric)) seen.add(label);
    }
  }
  return [...seen].sort();
}

function spread(r: HistoryRow | undefined): string {
  return r?.mean !== undefined && r.sd !== undefined
    ? `${formatNumber(r.mean)} ± ${formatNumber(r.sd)}`
    : '—';
}

/**
 * The section: one table per metric (at most MAX_TREND_METRICS) of its combinations (at most
 * MAX_TREND_COMBINATIONS), each with its sparkline, the recorded runs' mean ± sd, this run's centre and z; saying
 * what was left out. Empty without at least 2 recorded runs.
 */
export function trendSection(
  hc: HistoryComparison | undefined,
  metricOrder: readonly string[],
  info?: ReadonlyMap<string, MetricInfo>,
): string {
  if (!hc || hc.history.entries.length < 2) return '';
  const entries = hc.history.entries;
  const rowOf = historyRowOf(hc);
  const metrics = metricsOf(hc, metricOrder);
  const shownMetrics = metrics.slice(0, MAX_TREND_METRICS);
  const tables = shownMetrics.map((metric) => {
    const all = combinationsOf(hc, metric);
    const shown = all.slice(0, MAX_TREND_COMBINATIONS);
    const rows = shown.map((combination) => {
      const points = entries.flatMap((entry): SparkPoint[] => {
        const c = cellOf(entry, combination, metric);
        return c ? [{ run: entry.runId, centre: c.centre, low: c.low, high: c.high }] : [];
      });
      const r = rowOf(combination, metric);
      const svg = sparklineSvg({
        points,
        current: r?.current,
        outside: r?.outside ?? false,
        description: `${metricLabel(metric, info)} of ${combination || '(no parameters)'} on ${hc.ref}`,
      });
      return (
        `<tr${r?.outside ? ' class="outside"' : ''}><td>${h(combination)}</td><td>${svg}</td>` +
        `<td class="num">${points.length}</td><td class="num">${h(spread(r))}</td>` +
        `<td class="num">${r ? h(formatNumber(r.current)) : '—'}</td><td class="num">${h(formatZ(r))}</td></tr>`
      );
    });
    return [
      `<h3>${h(metricLabel(metric, info))}</h3>`,
      '<div class="scroll">',
      `<table class="trend" data-metric="${h(metric)}">`,
      '<thead><tr><th scope="col">combination</th><th scope="col">recorded runs, then this run</th><th scope="col" class="num">runs</th><th scope="col" class="num">mean ± sd</th><th scope="col" class="num">this run</th><th scope="col" class="num">z</th></tr></thead>',
      '<tbody>',
      ...rows,
      '</tbody>',
      '</table>',
      '</div>',
      ...(all.length > shown.length
        ? [`<p class="note truncated">The first ${shown.length} of ${all.length} combinations shown.</p>`]
        : []),
    ].join('\n');
  });
  return [
    '<section id="trend">',
    `<h2>Trend on <code>${h(hc.ref)}</code></h2>`,
    `<p class="note">The median of each combination in the last ${entries.length} recorded runs of <code>${h(hc.ref)}</code>, oldest first, ` +
      `its 95% interval as a band where recorded; the larger dot is this run, red when outside the branch's run-to-run noise (|z| beyond ${Z_LIMIT} in the worse direction).</p>`,
    ...(metrics.length > shownMetrics.length
      ? [`<p class="note truncated">The first ${shownMetrics.length} of ${metrics.length} metrics shown.</p>`]
      : []),
    ...tables,
    '</section>',
  ].join('\n');
}
