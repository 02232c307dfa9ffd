/**
 * Renders the report as GitHub markdown: the headline, the baseline comparison, failures, a pivot table and
 * a Mermaid chart per metric, and every experiment. Every piece of untrusted text goes through
 * escapeMarkdown (or mermaidLabel inside charts). Pure: no I/O.
 */
import type { CollectedStatus } from '../collect/manifest.ts';
import { countClass } from '../collect/manifest.ts';
import { escapeMarkdown } from '../markdown.ts';
import type { Baseline, Comparison, Delta } from './compare.ts';
import type { Centre, Direction, MetricInfo, Pivot, ReportData, ReportExperiment } from './model.ts';
import { chooseAxes, metricLabel, pivotOf } from './model.ts';
import type {
  SampleComparison,
  SampleVerdict,
  SignificanceReport,
  SignificanceTest,
} from './significance.ts';
import type { Summary } from './stats.ts';
import type { HistoryComparison } from './history.ts';
import { formatZ, historyRowOf, MIN_HISTORY_RUNS, Z_LIMIT } from './history.ts';
import type { ReportArtifactLink } from './report-artifact.ts';
import { htmlArtifactLine } from './report-artifact.ts';

/** GitHub refuses a comment longer than this many characters. */
export const COMMENT_LIMIT = 65_536;
/** GitHub's job-summary limit is 1 MiB per step; stay below it with room for other steps. */
export const SUMMARY_LIMIT = 900_000;

/** Which baseline a comparison used, or why there is none. */
export type BaselineInfo =
  | { readonly kind: 'none'; readonly ref: string; readonly note?: string }
  | {
      readonly kind: 'recorded';
      readonly ref: string;
      readonly sha: string;
      readonly objects: readonly string[];
    }
  | {
      readonly kind: 'compared';
      readonly ref: string;
      /**
       * `merge-base`: the baseline of the PR's merge base; `latest`: the newest on the branch; `earlier-run`: a
       * run given by hand (a local comparison).
       */
      readonly which: 'merge-base' | 'latest' | 'earlier-run';
      readonly baseline: Baseline;
      /** Each experiment's values against the same experiment's in the baseline (seed against seed). */
      readonly comparison: Comparison;
      /** Each combination's repetitions against the baseline's: what regressions are flagged by. */
      readonly significance: SignificanceReport;
      readonly thresholdPercent: number;
      /** Each comparison's z-score against the branch's recorded runs (history.json), when there is a history. */
      readonly history?: HistoryComparison;
    }
  | { readonly kind: 'off' };

/** Everything a rendering needs besides the data. */
export interface RenderOptions {
  readonly title: string;
  /** `rows,columns` axes asked for; default the first two parameters. */
  readonly pivot?: readonly string[] | undefined;
  readonly directions: ReadonlyMap<string, Direction>;
  readonly baseline: BaselineInfo;
  /** Link to the run's job summary. */
  readonly runUrl?: string | undefined;
  /** Link to the results artifact. */
  readonly artifactUrl?: string | undefined;
  /** The uploaded HTML report (report.html and report.md) of this run, linked on a line of its own. */
  readonly htmlArtifact?: ReportArtifactLink | undefined;
  /** Hidden marker line the comment carries (not put in the summary). */
  readonly marker?: string | undefined;
  /** Markdown shown under the headline (built from escaped text), e.g. experiments still running detached. */
  readonly note?: string | undefined;
  /** What pivot cells are centred on (default the median). */
  readonly centre?: Centre | undefined;
  /** Units and descriptions of metrics, by name (from the spec's `metrics:` or the `metrics` input). */
  readonly metricInfo?: ReadonlyMap<string, MetricInfo> | undefined;
}

const MAX_PIVOT_ROWS = 60;
const MAX_PIVOT_COLUMNS = 25;
const MAX_CHART_BARS = 30;
/** Column values (bar colours) a Mermaid chart tells apart at most. */
const MAX_CHART_SERIES = 8;
const MAX_CHARTS = 12;
const MAX_PROBLEM_ROWS = 200;
const LOG_TAIL_LINES = 5;
const LOG_LINE_CHARS = 200;

const e = escapeMarkdown;

/** A number for a table: at most 4 significant digits, never exponent notation. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 1) return String(Number(n.toPrecision(4)));
  if (abs >= 0.0001) return String(Number(n.toFixed(4)));
  return n.toExponential(2);
}

/**
 * A pivot cell, compactly: `52 (n=1)`; the centre with the range where n is too small for a 95% interval,
 * `61.5 (59–64, n=2)`; the median with its 95% order-statistics interval, `47.2 [45.9, 48.5] (n=8)`; the mean
 * with its t interval, `47.2 ±1.3 (n=8)`; repetitions that all agree, `3 (n=2, all equal)`.
 */
export function formatCell(cell: { readonly summary: Summary }): string {
  const s = cell.summary;
  const c = formatNumber(s.centre);
  if (s.method === 'single' || s.low === undefined || s.high === undefined) return `${c} (n=${s.n})`;
  if (s.min === s.max) return `${c} (n=${s.n}, all equal)`;
  if (s.method === 'range') return `${c} (${formatNumber(s.low)}–${formatNumber(s.high)}, n=${s.n})`;
  if (s.method === 't') return `${c} ±${formatNumber((s.high - s.low) / 2)} (n=${s.n})`;
  return `${c} [${formatNumber(s.low)}, ${formatNumber(s.high)}] (n=${s.n})`;
}

/** What the pivot's cells show, said once under each pivot. */
export function cellLegend(centre: Centre): string {
  return centre === 'mean'
    ? 'Mean ± half its 95% t interval over repetitions (n = experiments); with n = 1, the value alone.'
    : 'Median over repetitions (n = experiments) with its 95% interval from order statistics [low, high]; where n is too small for one (under 6), the range (min–max) instead; with n = 1, the value alone.';
}

/** A change against the baseline: `+1.5 (+3.2%)`. */
export function formatDelta(d: Delta): string {
  const sign = d.delta > 0 ? '+' : '';
  const pct = d.percent === undefined ? 'n/a' : `${d.percent > 0 ? '+' : ''}${d.percent.toFixed(1)}%`;
  return `${sign}${formatNumber(d.delta)} (${pct})`;
}

/** A duration for a table: seconds, minutes or hours; empty when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}

const STATUS_MARK: Record<CollectedStatus, string> = {
  succeeded: '✅ succeeded',
  failed: '❌ failed',
  error: '❌ error',
  preempted: '⚠️ preempted',
  corrupt: '❌ corrupt',
  unfinished: '⏳ unfinished',
  missing: '❔ missing',
  lost: '💀 lost',
};

const VERDICT_MARK = {
  improved: '🟢 better',
  regressed: '🔴 worse',
  unchanged: '⚪ same',
  changed: '🔵 changed',
};

/** Text a Mermaid label may hold: no quotes, brackets, newlines or markup; short. */
export function mermaidLabel(text: string): string {
  // A lone `%` is a common unit; two in a row could start a Mermaid comment or directive.
  const safe = text
    .replace(/[^A-Za-z0-9 ._:+/=%-]/g, '_')
    .replace(/%{2,}/g, '%')
    .slice(0, 40);
  return safe.trim() || '_';
}

/** `54 experiments packed on 14 VMs (up to 4 a VM; each pays its share)`. */
export function packedText(p: NonNullable<ReportData['totals']['packed']>): string {
  return `${p.experiments} experiment(s) packed on ${p.vms} VM(s) (up to ${p.mostPerVm} a VM; each costs its reserved share)`;
}

/** Where a packed experiment ran: its VM and CPUs, and how many shared the VM. */
export function placementText(x: ReportExperiment): string {
  if (!x.packing) return x.vm ?? '';
  const others = x.packing.neighbours.length;
  return `${x.vm ?? '?'}${x.packing.cpus ? ` CPU ${x.packing.cpus}` : ''}, with ${others} other${others === 1 ? '' : 's'}`;
}

/** The headline: counts, cost, time, and the baseline's verdict in one line. */
export function headline(data: ReportData, baseline: BaselineInfo): string {
  const t = data.totals;
  const parts = [
    `Run \`${e(data.runId)}\`: ${t.experiments} experiment(s), **${t.succeeded} succeeded**, ${t.failed} failed, ${t.missing} missing${t.lost > 0 ? ` (**${t.lost} lost**)` : ''}`,
    `~$${t.costUsd.toFixed(2)} (estimate), ${t.vmHours.toFixed(2)} VM hours, ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'}`,
  ];
  if (t.packed) parts.push(packedText(t.packed));
  const commits = data.commits ?? [];
  if (commits.length === 1) parts.push(`code at \`${commits[0].slice(0, 12)}\``);
  else if (commits.length > 1) {
    parts.push(
      `code at ${commits.length} commits (${commits
        .slice(0, 3)
        .map((c) => `\`${c.slice(0, 12)}\``)
        .join(', ')}${commits.length > 3 ? ', ...' : ''})`,
    );
  }
  if (baseline.kind === 'compared') {
    const r = significantRegressions(baseline).length;
    const rule = `beyond ${baseline.thresholdPercent}% and significant at ${baseline.significance.alpha}`;
    parts.push(r > 0 ? `**${r} regression(s)** ${rule}` : `no regression ${rule}`);
  }
  return `${parts.join('; ')}.`;
}

/** Says which experiments the bucket holds that the plan never had: they are left out of every count. */
export function unplannedNote(data: ReportData, shown = 5): string[] {
  const ids = data.unplanned ?? [];
  if (ids.length === 0) return [];
  const names = ids
    .slice(0, shown)
    .map((id) => `\`${e(id)}\``)
    .join(', ');
  return [
    `**Not counted:** the bucket also holds ${ids.length} experiment(s) that are not in the plan ` +
      `(${names}${ids.length > shown ? ', ...' : ''}).`,
  ];
}

function baselineSection(b: BaselineInfo): string[] {
  switch (b.kind) {
    case 'off':
      return [];
    case 'none':
      return [
        `**Baseline:** none recorded for \`${e(b.ref)}\` yet, so there is nothing to compare with${b.note ? ` (${e(b.note)})` : ''}. ` +
          'A scheduled run on that branch records one.',
      ];
    case 'recorded':
      return [
        `**Baseline:** recorded this run as the baseline of \`${e(b.ref)}\` at \`${e(b.sha.slice(0, 12))}\` (${b.objects.map((o) => `\`${e(o)}\``).join(', ')}).`,
      ];
    case 'compared': {
      const base = b.baseline;
      const which =
        b.which === 'merge-base'
          ? `the baseline of the merge base \`${e(base.sha.slice(0, 12))}\``
          : b.which === 'earlier-run'
            ? 'an earlier run'
            : `the newest baseline on \`${e(b.ref)}\` (\`${e(base.sha.slice(0, 12))}\`; none was recorded for the merge base)`;
      const c = b.comparison;
      return [
        `**Baseline:** compared with ${which}, run \`${e(base.runId)}\`, recorded ${e(base.recordedAt)}: ` +
          `${c.deltas.length} value(s) compared, ${c.regressions.length} worse and ${c.improvements} better beyond ${b.thresholdPercent}%` +
          (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : '') +
          (c.new > 0 ? `; ${c.new} experiment(s) are new` : '') +
          '.',
      ];
    }
  }
}

/** The comparisons of repetitions that flag a regression: significant and beyond the threshold. */
export function significantRegressions(b: BaselineInfo): readonly SampleComparison[] {
  return b.kind === 'compared' ? b.significance.comparisons.filter((c) => c.verdict === 'regressed') : [];
}

const SAMPLE_VERDICT: Record<SampleVerdict, string> = {
  regressed: '🔻 regressed',
  improved: '🔺 improved',
  changed: '◆ changed',
  unchanged: 'within the threshold',
  'not-significant': '~ not significant',
  'too-few': 'too few repetitions',
};

/** A verdict in words, with the repetitions needed when there are too few. */
export function sampleVerdict(c: SampleComparison): string {
  return c.verdict === 'too-few'
    ? `${SAMPLE_VERDICT[c.verdict]} (needs ${c.needed ?? '?'} ${c.test === 'signed-rank' ? 'pairs' : 'per side'})`
    : SAMPLE_VERDICT[c.verdict];
}

/** A shift in percent with its interval, `-17.1% [-18.4, -15.8]`, or absolute when the baseline is 0. */
export function formatShift(c: SampleComparison): string {
  const sign = (n: number) => (n > 0 ? `+${formatNumber(n)}` : formatNumber(n));
  if (c.percent) {
    return `${sign(c.percent.shift)}% [${sign(c.percent.low)}, ${sign(c.percent.high)}]`;
  }
  return `${sign(c.shift.shift)} [${sign(c.shift.low)}, ${sign(c.shift.high)}]`;
}

/** A p-value for a table: 3 significant digits, `< 0.0001` below that. */
export function formatP(p: number | undefined): string {
  if (p === undefined) return '—';
  return p < 0.0001 ? '< 0.0001' : String(Number(p.toPrecision(3)));
}

/**
 * How the comparisons were made, in one sentence; `name` renders the replicate axis's (untrusted) name for the
 * target format (markdown code by default).
 */
export function significanceRule(
  s: SignificanceReport,
  thresholdPercent: number,
  name: (text: string) => string = (text) => `\`${e(text)}\``,
): string {
  const adjust = s.adjust === 'bh' ? 'Benjamini-Hochberg' : 'Holm';
  const method =
    `p adjusted by ${adjust} across ${s.comparisons.filter((c) => c.p !== undefined).length} comparison(s), alpha ${s.alpha}; ` +
    `flagged when the adjusted p is below ${s.alpha} and the shift is beyond ${thresholdPercent}%.`;
  if (s.test === 'signed-rank') {
    const counts = s.comparisons.map((c) => c.pairs ?? 0);
    const low = Math.min(...counts);
    const high = Math.max(...counts);
    const pairs = counts.length === 0 ? '0' : low === high ? String(low) : `${low} to ${high}`;
    return (
      `Each combination's repetitions paired with the baseline's by ${name(s.replicate)} (only values both have count): ` +
      `the shift is the median of the paired differences with its 95% interval; ` +
      `${TEST_NAME[s.test]} on ${pairs} pair(s), ${method}`
    );
  }
  return (
    `Each combination's repetitions (over ${name(s.replicate)}) against the baseline's: the shift is the ` +
    `Hodges-Lehmann estimate with its 95% interval; ${TEST_NAME[s.test]}, ${method}`
  );
}

const TEST_NAME: Record<SignificanceTest, string> = {
  'mann-whitney': 'Mann-Whitney U test',
  welch: "Welch's t test",
  'signed-rank': 'Wilcoxon signed-rank test',
};

const SIGNIFICANCE_HEADER = [
  '| combination | metric | baseline | now | shift | p (adjusted) | verdict |',
  '| --- | --- | ---: | ---: | ---: | ---: | --- |',
];

function significanceRows(
  rows: readonly SampleComparison[],
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string[] {
  return rows.map(
    (c) =>
      `| ${e(c.combination)} | ${e(metricLabel(c.metric, info))} | ${formatCell({ summary: c.baseline })} | ${formatCell({ summary: c.current })} | ${formatShift(c)} | ${formatP(c.pAdjusted)} | ${sampleVerdict(c)} |`,
  );
}

/**
 * How the z column is made, in one sentence; `name` renders the (untrusted) branch name for the target format.
 */
export function historyRule(
  h: HistoryComparison,
  name: (text: string) => string = (text) => `\`${e(text)}\``,
): string {
  const runs = h.history.entries.length;
  return (
    `z (history): this run's median against the medians of the last ${runs} recorded run(s) of ${name(h.ref)} ` +
    `(their mean and standard deviation, from at least ${MIN_HISTORY_RUNS} runs); a |z| beyond ${Z_LIMIT} in the ` +
    "worse direction is outside the branch's run-to-run noise. It is noted beside the verdict and does not change it."
  );
}

/** The table's header and rows with a `z (history)` column appended, when there is a history. */
function withZColumn(
  h: HistoryComparison | undefined,
  header: readonly string[],
  rows: readonly string[],
  shown: readonly SampleComparison[],
): string[] {
  if (!h) return [...header, ...rows];
  const row = historyRowOf(h);
  return [
    `${header[0]} z (history) |`,
    `${header[1]} ---: |`,
    ...rows.map((line, i) => `${line} ${formatZ(row(shown[i].combination, shown[i].metric))} |`),
  ];
}

const VERDICT_ORDER: readonly SampleVerdict[] = [
  'regressed',
  'improved',
  'changed',
  'unchanged',
  'not-significant',
  'too-few',
];

/** The comparisons in the order the report lists them: flagged ones first, too few repetitions last. */
export function byVerdict(comparisons: readonly SampleComparison[]): SampleComparison[] {
  return [...comparisons].sort((x, y) => VERDICT_ORDER.indexOf(x.verdict) - VERDICT_ORDER.indexOf(y.verdict));
}

/**
 * The comparisons of repetitions: the flagged ones first, at most `limit` rows; a note when no combination has
 * enough repetitions for any difference to be significant.
 */
export function significanceSection(
  b: BaselineInfo,
  limit = Infinity,
  info?: ReadonlyMap<string, MetricInfo>,
): string[] {
  if (b.kind !== 'compared' || b.significance.comparisons.length === 0) return [];
  const all = byVerdict(b.significance.comparisons);
  const shown = all.slice(0, limit);
  const regressions = significantRegressions(b).length;
  const tooFew = all.filter((c) => c.verdict === 'too-few');
  return [
    `### Against the baseline: ${regressions} regression(s) of ${all.length} comparison(s)`,
    '',
    significanceRule(b.significance, b.thresholdPercent),
    ...(b.history ? ['', historyRule(b.history)] : []),
    ...(tooFew.length === all.length
      ? [
          '',
          `**Too few repetitions:** with these sample sizes no difference can be significant at ${b.significance.alpha}; ` +
            (b.significance.test === 'signed-rank'
              ? `significance needs at least ${Math.max(...tooFew.map((c) => c.needed ?? 0))} pairs per combination: repetitions of the same \`${e(b.significance.replicate)}\` in this run and in the baseline.`
              : `significance needs at least ${Math.max(...tooFew.map((c) => c.needed ?? 0))} repetitions per combination in this run and in the baseline.`),
        ]
      : []),
    '',
    ...withZColumn(b.history, SIGNIFICANCE_HEADER, significanceRows(shown, info), shown),
    ...(all.length > shown.length ? ['', `... and ${all.length - shown.length} more.`] : []),
  ];
}

function deltaRows(deltas: readonly Delta[], info: ReadonlyMap<string, MetricInfo> | undefined): string[] {
  return deltas.map(
    (d) =>
      `| ${e(d.experiment)} | ${e(metricLabel(d.metric, info))} | ${formatNumber(d.baseline)} | ${formatNumber(d.current)} | ${formatDelta(d)} | ${d.direction ? `${d.direction} is better` : 'unknown'} | ${VERDICT_MARK[d.verdict]} |`,
  );
}

const DELTA_HEADER = [
  '| experiment | metric | baseline | now | change | direction | verdict |',
  '| --- | --- | ---: | ---: | ---: | --- | --- |',
];

/** The regressions as a table (at most `limit` rows, with a count of the rest). */
export function regressionSection(
  b: BaselineInfo,
  limit = Infinity,
  info?: ReadonlyMap<string, MetricInfo>,
): string[] {
  if (b.kind !== 'compared' || b.comparison.regressions.length === 0) return [];
  const all = b.comparison.regressions;
  const shown = all.slice(0, limit);
  return [
    `### Regressions (${all.length})`,
    '',
    ...DELTA_HEADER,
    ...deltaRows(shown, info),
    ...(all.length > shown.length ? ['', `... and ${all.length - shown.length} more.`] : []),
  ];
}

function logTail(text: string | undefined, label = 'log tail'): string {
  if (!text) return '';
  const lines = text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(-LOG_TAIL_LINES)
    .map((l) => e(l.length > LOG_LINE_CHARS ? `...${l.slice(-LOG_LINE_CHARS)}` : l));
  return lines.length > 0 ? `<br>${label}:<br><code>${lines.join('</code><br><code>')}</code>` : '';
}

/** Why an experiment did not succeed: its reason, else what its status implies, else its first problem. */
export function failureReason(x: ReportExperiment): string | undefined {
  return (
    x.reason ??
    (x.status === 'missing'
      ? 'nothing in the bucket: never started, or its VM was lost before writing'
      : x.status === 'unfinished'
        ? 'no status.json: still running, or its VM died'
        : x.problems[0])
  );
}

/** Failed and missing experiments with their reasons and log tails (at most `limit`). */
export function failureSection(data: ReportData, limit = Infinity): string[] {
  const bad = data.experiments.filter((x) => x.status !== 'succeeded');
  if (bad.length === 0) return [];
  const shown = bad.slice(0, limit);
  const lines = shown.map((x) => {
    const why = failureReason(x);
    return `- \`${e(x.id)}\`: ${STATUS_MARK[x.status]}${x.attempts ? ` after ${x.attempts} attempt(s)` : ''}${why ? `: ${e(why)}` : ''}${logTail(x.logTail)}${logTail(x.serialTail, 'serial console tail')}`;
  });
  return [
    `### Failed and missing (${bad.length})`,
    '',
    ...lines,
    ...(bad.length > shown.length ? [`- ... and ${bad.length - shown.length} more.`] : []),
  ];
}

function pivotSection(data: ReportData, opts: RenderOptions): string[] {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes || data.metrics.length === 0) return [];
  const out: string[] = [];
  for (const metric of data.metrics) {
    const centre = opts.centre ?? 'median';
    const p = pivotOf(data.experiments, metric, axes.rows, axes.columns, centre);
    const dir = opts.directions.get(metric);
    const description = opts.metricInfo?.get(metric)?.description;
    const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
    const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
    out.push(
      `### ${e(metricLabel(metric, opts.metricInfo))}${dir ? ` (${dir} is better)` : ''}`,
      '',
      ...(description ? [e(description), ''] : []),
      `By ${e(axes.rows)}${axes.columns ? ` × ${e(axes.columns)}` : ''}. ${cellLegend(centre)}`,
      '',
      `| ${e(axes.rows)} | ${axes.columns ? columns.map((c) => e(c)).join(' | ') : centre} |`,
      `| --- | ${columns.map(() => '---:').join(' | ')} |`,
      ...rows.map(
        (r, i) =>
          `| ${e(r)} | ${columns
            .map((_, j) => {
              const cell = p.cells[i][j];
              return cell ? formatCell(cell) : '';
            })
            .join(' | ')} |`,
      ),
    );
    if (p.rows.length > rows.length || p.columns.length > columns.length) {
      out.push(
        '',
        `(${p.rows.length} × ${p.columns.length} cells; the first ${rows.length} × ${columns.length} shown.)`,
      );
    }
    out.push('');
  }
  return out;
}

function chartNumber(n: number): string {
  const s = String(Number(n.toPrecision(6)));
  return s.includes('e') ? n.toFixed(6) : s;
}

/** What an error bar spans: the summary's interval (95% of the median or of the mean), the range, or nothing. */
export type IntervalKind = Summary['method'];

/** One bar of a chart: one pivot cell's centre, with the interval around it (none for a single value). */
export interface ChartBar {
  /** The cell's column value ('' without a column axis). */
  readonly label: string;
  readonly centre: number;
  readonly low?: number | undefined;
  readonly high?: number | undefined;
  readonly kind: IntervalKind;
  readonly n: number;
}

/** The bars of one row value: one per column value charted, `undefined` where that cell is empty. */
export interface ChartGroup {
  readonly label: string;
  readonly bars: readonly (ChartBar | undefined)[];
}

/**
 * One metric's chart, whatever it is rendered as: a group of bars per value of the pivot's row axis and, in each
 * group, a bar per value of its column axis (the same colour in every group), each bar a cell's centre with its
 * interval. Capped: the totals say how much was left out.
 */
export interface ChartSeries {
  readonly metric: string;
  readonly rowAxis: string;
  readonly columnAxis: string | undefined;
  readonly centre: Centre;
  /** The column values charted, in order (the legend); `['']` without a column axis. */
  readonly series: readonly string[];
  readonly groups: readonly ChartGroup[];
  /** How many row and column values the pivot has: more than charted when capped. */
  readonly totalRows: number;
  readonly totalColumns: number;
}

/** How much one chart may hold: bars in all, and column values (colours). */
export interface ChartLimits {
  readonly bars: number;
  readonly series: number;
}

/** What a Mermaid chart of the comment holds at most. */
export const MARKDOWN_CHART_LIMITS: ChartLimits = { bars: MAX_CHART_BARS, series: MAX_CHART_SERIES };

/**
 * The chart of a pivot: its first column values (at most `limits.series`) and, in reading order, the row values
 * with a cell among them, as many as fit in `limits.bars`. Each bar is the cell's summary: its centre, and its
 * interval's ends where it has one.
 */
export function chartOf(p: Pivot, centre: Centre, limits: ChartLimits = MARKDOWN_CHART_LIMITS): ChartSeries {
  const columns = p.columns.slice(0, Math.max(1, limits.series));
  const room = Math.max(1, Math.floor(limits.bars / Math.max(1, columns.length)));
  const groups: ChartGroup[] = [];
  for (const [i, label] of p.rows.entries()) {
    if (groups.length >= room) break;
    const bars = columns.map((column, j): ChartBar | undefined => {
      const s = p.cells[i][j]?.summary;
      return s && { label: column, centre: s.centre, low: s.low, high: s.high, kind: s.method, n: s.n };
    });
    if (bars.some((b) => b !== undefined)) groups.push({ label, bars });
  }
  return {
    metric: p.metric,
    rowAxis: p.rowAxis,
    columnAxis: p.columnAxis,
    centre,
    series: columns,
    groups,
    totalRows: p.rows.length,
    totalColumns: p.columns.length,
  };
}

/**
 * The charts a report shows: one per metric (the first `maxCharts`), over the pivot's axes, leaving out metrics
 * without bars.
 */
export function chartSeries(
  data: ReportData,
  opts: Pick<RenderOptions, 'pivot' | 'centre'>,
  limits: ChartLimits = MARKDOWN_CHART_LIMITS,
  maxCharts = MAX_CHARTS,
): ChartSeries[] {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes) return [];
  const centre = opts.centre ?? 'median';
  return data.metrics
    .slice(0, maxCharts)
    .map((metric) =>
      chartOf(pivotOf(data.experiments, metric, axes.rows, axes.columns, centre), centre, limits),
    )
    .filter((s) => s.groups.length > 0);
}

/** What an error bar is, in words. */
export function intervalWords(kind: IntervalKind): string {
  switch (kind) {
    case 'order-statistics':
      return '95% interval of the median';
    case 't':
      return '95% t interval of the mean';
    case 'range':
      return 'range (too few for a 95% interval)';
    case 'single':
      return 'one value, no interval';
  }
}

/**
 * A chart's title, `line_coverage (%) by service and tool, median`: `value` is the metric (with its unit) as the
 * target format shows it, `name` renders an axis name for it.
 */
export function chartTitle(s: ChartSeries, value: string, name: (text: string) => string): string {
  const by = s.columnAxis === undefined ? name(s.rowAxis) : `${name(s.rowAxis)} and ${name(s.columnAxis)}`;
  return `${value} by ${by}, ${s.centre}`;
}

/** What a capped chart leaves out, or '' when it shows every cell; `name` renders an axis name. */
export function chartCapNote(s: ChartSeries, name: (text: string) => string): string {
  if (s.groups.length >= s.totalRows && s.series.length >= s.totalColumns) return '';
  const rows = `${s.groups.length} of ${s.totalRows} ${name(s.rowAxis)} values`;
  const columns =
    s.columnAxis === undefined
      ? ''
      : ` and ${s.series.length} of ${s.totalColumns} ${name(s.columnAxis)} values`;
  return `Charted: the first ${rows}${columns}.`;
}

/** Labels made distinct (Mermaid merges categories of the same name) by numbering repeats. */
function distinctLabels(labels: readonly string[]): string[] {
  const seen = new Set<string>();
  return labels.map((label) => {
    let unique = label;
    for (let k = 2; seen.has(unique); k++) unique = `${label.slice(0, 36)} ${k}`;
    seen.add(unique);
    return unique;
  });
}

function mermaidChart(s: ChartSeries, info?: ReadonlyMap<string, MetricInfo>): string[] {
  const unit = info?.get(s.metric)?.unit;
  const value = `${mermaidLabel(s.metric)}${unit ? ` (${mermaidLabel(unit)})` : ''}`;
  const grouped = s.series.length > 1;
  // Mermaid draws every `bar` line across the whole width of each category, so the bars of several lines in one
  // category would cover each other. Each cell gets a category of its own instead, in row order, and each line
  // (a column value, a colour) is zero outside its own cells: the bars stand side by side, grouped by row.
  const cells = s.groups.flatMap((g) =>
    g.bars.flatMap((b, j) =>
      b && Number.isFinite(b.centre)
        ? [
            {
              label: grouped
                ? `${mermaidLabel(g.label).slice(0, 20).trim()}/${mermaidLabel(b.label).slice(0, 19).trim()}`
                : mermaidLabel(g.label),
              j,
              centre: b.centre,
            },
          ]
        : [],
    ),
  );
  // An explicit range from zero: Mermaid's own starts at the smallest value, drawing that bar with no height.
  const lo = Math.min(0, ...cells.map((c) => c.centre));
  const hi = Math.max(0, ...cells.map((c) => c.centre));
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${chartTitle(s, value, mermaidLabel)}"`,
    `  x-axis [${distinctLabels(cells.map((c) => c.label))
      .map((l) => `"${l}"`)
      .join(', ')}]`,
    `  y-axis "${value}" ${chartNumber(lo)} --> ${chartNumber(hi > lo ? hi : lo + 1)}`,
    ...s.series.map(
      (_, j) => `  bar [${cells.map((c) => (c.j === j ? chartNumber(c.centre) : '0')).join(', ')}]`,
    ),
    '```',
  ];
}

/** The line under a Mermaid chart: what the bars are and, as Mermaid draws no legend, the colours' order. */
function chartLegend(s: ChartSeries): string {
  const what =
    s.series.length > 1
      ? `Bars: the ${s.centre} of each cell, grouped by ${e(s.rowAxis)}; in each group, left to right by ` +
        `${e(s.columnAxis ?? '')}: ${s.series.map((c) => (c ? e(c) : '(none)')).join(', ')}.`
      : `Bars: the ${s.centre} per ${e(s.rowAxis)}.`;
  const cap = chartCapNote(s, e);
  return `${what} Their intervals are in the table above.${cap ? ` ${cap}` : ''}`;
}

/**
 * A Mermaid bar chart of `metric` by `rowAxis` (grouped by it, a bar per `columnAxis` value): each cell's centre.
 * Empty when no experiment reports the metric.
 */
export function chart(
  data: ReportData,
  metric: string,
  rowAxis: string,
  columnAxis?: string,
  centre: Centre = 'median',
  info?: ReadonlyMap<string, MetricInfo>,
): string[] {
  const s = chartOf(pivotOf(data.experiments, metric, rowAxis, columnAxis, centre), centre);
  return s.groups.length > 0 ? mermaidChart(s, info) : [];
}

function chartSection(data: ReportData, opts: RenderOptions): string[] {
  const out = chartSeries(data, opts).flatMap((s) => [
    ...mermaidChart(s, opts.metricInfo),
    '',
    chartLegend(s),
    '',
  ]);
  return out.length > 0 ? ['### Charts', '', ...out] : [];
}

function resultRow(x: ReportExperiment, metrics: readonly string[], packed: boolean): string {
  return `| ${e(x.id)} | ${STATUS_MARK[x.status]} | ${x.attempts ?? ''} | ${formatDuration(x.durationSeconds)} | ${e(x.zone ?? '')} |${packed ? ` ${e(placementText(x))} |` : ''} ${x.costUsd === undefined ? '' : `$${x.costUsd.toFixed(4)}`} | ${metrics.map((m) => (x.metrics[m] === undefined ? '' : formatNumber(x.metrics[m]))).join(' | ')} |`;
}

function resultsSection(
  data: ReportData,
  limit: number,
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string[] {
  const metrics = data.metrics.slice(0, 10);
  const shown = data.experiments.slice(0, limit);
  const packed = data.totals.packed !== undefined;
  return [
    `<details><summary>All ${data.experiments.length} experiment(s)</summary>`,
    '',
    `| experiment | status | attempts | duration | zone |${packed ? ' VM (packed) |' : ''} cost | ${metrics.map((m) => e(metricLabel(m, info))).join(' | ')} |`,
    `| --- | --- | ---: | ---: | --- |${packed ? ' --- |' : ''} ---: | ${metrics.map(() => '---:').join(' | ')} |`,
    ...shown.map((x) => resultRow(x, metrics, packed)),
    ...(data.experiments.length > shown.length
      ? ['', `... and ${data.experiments.length - shown.length} more in manifest.json (in the artifact).`]
      : []),
    '',
    '</details>',
  ];
}

function deltaSection(
  b: BaselineInfo,
  limit: number,
  info: ReadonlyMap<string, MetricInfo> | undefined,
): string[] {
  if (b.kind !== 'compared' || b.comparison.deltas.length === 0) return [];
  const all = b.comparison.deltas;
  const shown = all.slice(0, limit);
  return [
    `<details><summary>Changes against the baseline (${all.length} value(s))</summary>`,
    '',
    ...DELTA_HEADER,
    ...deltaRows(shown, info),
    ...(all.length > shown.length ? ['', `... and ${all.length - shown.length} more.`] : []),
    '',
    '</details>',
  ];
}

function links(opts: RenderOptions): string[] {
  const l = [
    opts.runUrl ? `[the run's summary](${opts.runUrl})` : '',
    opts.artifactUrl ? `[the results artifact](${opts.artifactUrl})` : '',
  ].filter(Boolean);
  return l.length > 0 ? [`Full report and raw results: ${l.join(', ')}.`] : [];
}

function join(blocks: string[][]): string {
  return `${blocks
    .filter((b) => b.length > 0)
    .map((b) => b.join('\n'))
    .join('\n\n')}\n`;
}

/** The full report, as the job summary (and the comment, when it fits) shows it. */
export function renderReport(data: ReportData, opts: RenderOptions, rowLimit = 1000): string {
  return join([
    opts.marker ? [opts.marker] : [],
    [`## ${e(opts.title)}`],
    [headline(data, opts.baseline)],
    opts.note ? [opts.note] : [],
    unplannedNote(data),
    baselineSection(opts.baseline),
    significanceSection(opts.baseline, rowLimit, opts.metricInfo),
    failureSection(data, MAX_PROBLEM_ROWS),
    pivotSection(data, opts),
    chartSection(data, opts),
    deltaSection(opts.baseline, rowLimit, opts.metricInfo),
    resultsSection(data, rowLimit, opts.metricInfo),
    opts.htmlArtifact ? [htmlArtifactLine(opts.htmlArtifact)] : [],
    links(opts),
  ]);
}

/**
 * The PR comment: the full report when it fits in `limit` characters, else the headline, the regressions and
 * the failures (as many as fit) with links to the full report. Never longer than `limit`.
 */
export function renderComment(data: ReportData, opts: RenderOptions, limit = COMMENT_LIMIT): string {
  const full = renderReport(data, opts, 300);
  if (full.length <= limit) return full;
  const head = [
    ...(opts.marker ? [opts.marker, ''] : []),
    `## ${e(opts.title)}`,
    '',
    headline(data, opts.baseline),
    '',
    ...(opts.note ? [opts.note, ''] : []),
    ...unplannedNote(data).flatMap((line) => [line, '']),
    ...baselineSection(opts.baseline),
    '',
    `The full report is too long for a comment. ${links(opts).join('') || 'See the job summary of the run.'}`,
    '',
    ...(opts.htmlArtifact ? [htmlArtifactLine(opts.htmlArtifact), ''] : []),
  ].join('\n');
  let body = head;
  for (const section of [
    significanceSection(opts.baseline, Infinity, opts.metricInfo),
    failureSection(data),
  ]) {
    if (section.length === 0) continue;
    const room = limit - body.length - 200;
    const kept: string[] = [];
    let used = 0;
    for (const line of section) {
      if (used + line.length + 1 > room) break;
      kept.push(line);
      used += line.length + 1;
    }
    if (kept.length < section.length) kept.push('', `... and more: see the run's summary.`);
    body += `${kept.join('\n')}\n\n`;
  }
  if (body.length > limit) body = `${body.slice(0, limit - 2).replace(/\n[^\n]*$/, '')}\n`;
  return body;
}

/** The z-scores for `summary-json`: those outside the noise first, then by |z|, at most `max`. */
function historyJson(h: HistoryComparison, max: number): object {
  const scored = h.rows
    .filter((r) => r.z !== undefined)
    .sort((a, b) => Number(b.outside) - Number(a.outside) || Math.abs(b.z ?? 0) - Math.abs(a.z ?? 0));
  return {
    ref: h.ref,
    runs: h.history.entries.length,
    outside: h.rows.filter((r) => r.outside).length,
    zScores: scored.slice(0, max).map((r) => ({
      combination: r.combination,
      metric: r.metric,
      z: Math.round((r.z ?? 0) * 100) / 100,
      runs: r.runs,
      outside: r.outside,
    })),
  };
}

/** The `summary-json` output: counts, totals, regressions (compact). */
export function summaryJson(data: ReportData, baseline: BaselineInfo, maxRegressions = 100): string {
  const byStatus: Record<string, number> = {};
  for (const x of data.experiments) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
  const compared = baseline.kind === 'compared' ? baseline : undefined;
  return JSON.stringify({
    runId: data.runId,
    counts: {
      experiments: data.totals.experiments,
      succeeded: data.totals.succeeded,
      failed: data.totals.failed,
      missing: data.totals.missing,
      lost: data.totals.lost,
      byStatus,
    },
    totals: {
      costUsd: Math.round(data.totals.costUsd * 10_000) / 10_000,
      vmHours: Math.round(data.totals.vmHours * 1000) / 1000,
      retries: data.totals.retries,
    },
    metrics: data.metrics.slice(0, 100),
    baseline:
      baseline.kind === 'compared'
        ? {
            mode: 'compare',
            ref: baseline.ref,
            which: baseline.which,
            sha: baseline.baseline.sha,
            runId: baseline.baseline.runId,
            significance: {
              test: baseline.significance.test,
              adjust: baseline.significance.adjust,
              alpha: baseline.significance.alpha,
              replicate: baseline.significance.replicate,
            },
          }
        : baseline.kind === 'recorded'
          ? { mode: 'record', ref: baseline.ref, sha: baseline.sha }
          : baseline.kind === 'none'
            ? { mode: 'compare', ref: baseline.ref, found: false }
            : { mode: 'none' },
    regressions: significantRegressions(baseline).length,
    improvements: compared?.significance.comparisons.filter((c) => c.verdict === 'improved').length ?? 0,
    ...(compared?.history ? { history: historyJson(compared.history, maxRegressions) } : {}),
    regressed: significantRegressions(baseline)
      .slice(0, maxRegressions)
      .map((c) => ({
        combination: c.combination,
        metric: c.metric,
        baseline: c.baseline.centre,
        current: c.current.centre,
        percent: c.percent === undefined ? null : Math.round(c.percent.shift * 100) / 100,
        p: c.pAdjusted ?? null,
      })),
    failed: data.experiments
      .filter((x) => countClass(x.status) !== 'succeeded')
      .slice(0, 100)
      .map((x) => ({ id: x.id, status: x.status })),
  });
}
