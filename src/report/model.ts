/**
 * The report's data: each experiment of a manifest with its metrics, duration and cost, and what they add up
 * to. Pure: the files are read elsewhere (load.ts) and handed in.
 */
import type { CollectedStatus, Manifest, ManifestExperiment } from '../collect/manifest.ts';
import { countClass } from '../collect/manifest.ts';
import { estimateCostUsd } from '../launch/cost.ts';
import type { Summary } from './stats.ts';
import { summarize } from './stats.ts';

/** Which way a metric is better; `undefined` when the user did not say (shown without a verdict). */
export type Direction = 'higher' | 'lower';

/** What the spec (or the `metrics` input) declares about a metric. */
export interface MetricInfo {
  /** Shown after the metric's name in headers and on chart axes, e.g. `%` or `ms`. */
  readonly unit?: string;
  readonly better?: Direction;
  readonly description?: string;
}

/** A metric's name with its unit, for headers and axes: `line_coverage (%)`. */
export function metricLabel(metric: string, info?: ReadonlyMap<string, MetricInfo>): string {
  const unit = info?.get(metric)?.unit;
  return unit ? `${metric} (${unit})` : metric;
}

/** One experiment as the report shows it. */
export interface ReportExperiment {
  readonly id: string;
  readonly status: CollectedStatus;
  readonly attempts: number | null;
  readonly zone: string | undefined;
  readonly durationSeconds: number | undefined;
  /** Estimated USD of the last attempt's VM time (0 when the machine type is unknown). */
  readonly costUsd: number | undefined;
  readonly params: Readonly<Record<string, string>>;
  /** The numbers of its metrics.json (non-numbers dropped). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly reason: string | undefined;
  /** The last lines of its log, when it did not succeed. */
  readonly logTail: string | undefined;
  /** The last lines of its VM's serial console, saved when it was lost. */
  readonly serialTail?: string | undefined;
  /** Collection problems (kind: message), untrusted text. */
  readonly problems: readonly string[];
  /** The commit the experiment ran (its source snapshot's), when its status says. */
  readonly commit?: string | undefined;
  /** The VM it ran on (its last attempt's), when its status says. */
  readonly vm?: string | undefined;
  /** Present when it shared its VM with other experiments (a packed leg). */
  readonly packing?: ReportPacking | undefined;
}

/** How a packed experiment shared its VM. */
export interface ReportPacking {
  /** How many experiments the VM ran, this one included. */
  readonly members: number;
  /** The others, by id. */
  readonly neighbours: readonly string[];
  /** The CPUs it was pinned to, e.g. `2` or `2,3`. */
  readonly cpus: string | undefined;
}

/** Totals over the run. */
export interface ReportTotals {
  readonly experiments: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly missing: number;
  /** Of the missing: left running detached and lost with their VM. */
  readonly lost: number;
  readonly costUsd: number;
  readonly vmHours: number;
  /** Attempts beyond the first, summed. */
  readonly retries: number;
  /** Experiments that shared their VM with others, the VMs they ran on, and the most on one VM. */
  readonly packed?: { readonly experiments: number; readonly vms: number; readonly mostPerVm: number };
}

/** What load.ts found on disk for one experiment. */
export interface ExperimentFiles {
  readonly metrics?: Record<string, unknown>;
  readonly logTail?: string;
  readonly serialTail?: string;
}

function paramText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** Seconds between two ISO times, when both parse and the end is not before the start. */
export function durationSeconds(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  const s = Date.parse(start);
  const e = Date.parse(end);
  return Number.isFinite(s) && Number.isFinite(e) && e >= s ? (e - s) / 1000 : undefined;
}

/** Keeps the finite numbers of a flat metrics object (metrics.json is untrusted and may hold anything). */
export function numericMetrics(raw: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

/** One manifest experiment plus its files, as the report shows it. */
export function toReportExperiment(e: ManifestExperiment, files: ExperimentFiles = {}): ReportExperiment {
  const rawParams = e.params ?? e.provenance?.parameters ?? {};
  const params: Record<string, string> = {};
  if (rawParams && typeof rawParams === 'object') {
    for (const [k, v] of Object.entries(rawParams)) params[k] = paramText(v);
  }
  const seconds = durationSeconds(e.startedAt, e.endedAt);
  const machineType = e.provenance?.machineType;
  const packing = packingOf(e.provenance?.placement);
  // A packed experiment pays for its reserved share of the VM while it ran (equal reservations: 1/members).
  const share = packing ? 1 / packing.members : 1;
  const costUsd =
    seconds !== undefined && typeof machineType === 'string'
      ? estimateCostUsd(machineType, [], e.provenance?.spot === true, seconds) * share
      : undefined;
  return {
    id: e.id,
    status: e.status,
    attempts: e.attempts,
    zone: typeof e.provenance?.zone === 'string' ? e.provenance.zone : undefined,
    durationSeconds: seconds,
    costUsd,
    params,
    metrics: numericMetrics(files.metrics),
    reason: e.reason,
    logTail: files.logTail,
    serialTail: files.serialTail,
    problems: (e.problems ?? [])
      .filter((p) => p.kind !== 'renamed')
      .map((p) => `${String(p.kind)}: ${String(p.message)}`),
    commit: commitOf(e.provenance?.sourceCommit) ?? commitOf(e.provenance?.repoSha),
    vm: typeof e.provenance?.instance === 'string' ? e.provenance.instance : undefined,
    packing,
  };
}

/** The placement of a status (untrusted: checked field by field), when it says the VM was shared. */
function packingOf(placement: unknown): ReportPacking | undefined {
  if (!placement || typeof placement !== 'object') return undefined;
  const p = placement as { packed?: unknown; members?: unknown; neighbours?: unknown; cpus?: unknown };
  if (p.packed !== true || typeof p.members !== 'number' || !Number.isInteger(p.members) || p.members < 1) {
    return undefined;
  }
  const neighbours = Array.isArray(p.neighbours) ? p.neighbours.filter((n) => typeof n === 'string') : [];
  return { members: p.members, neighbours, cpus: typeof p.cpus === 'string' ? p.cpus : undefined };
}

/** Totals of the report's experiments. */
export function totalsOf(experiments: readonly ReportExperiment[]): ReportTotals {
  const t = {
    experiments: 0,
    succeeded: 0,
    failed: 0,
    missing: 0,
    lost: 0,
    costUsd: 0,
    vmHours: 0,
    retries: 0,
  };
  let packed = 0;
  let mostPerVm = 0;
  const vms = new Set<string>();
  for (const e of experiments) {
    t.experiments += 1;
    if (e.status === 'lost') t.lost += 1;
    t[countClass(e.status)] += 1;
    t.costUsd += e.costUsd ?? 0;
    t.vmHours += (e.durationSeconds ?? 0) / 3600 / (e.packing?.members ?? 1);
    if (e.attempts && e.attempts > 1) t.retries += e.attempts - 1;
    if (e.packing) {
      packed += 1;
      if (e.vm) vms.add(e.vm);
      mostPerVm = Math.max(mostPerVm, e.packing.members);
    }
  }
  return packed > 0 ? { ...t, packed: { experiments: packed, vms: vms.size, mostPerVm } } : t;
}

/** Every metric name, in order of first appearance. */
export function metricNames(experiments: readonly ReportExperiment[]): string[] {
  const names = new Set<string>();
  for (const e of experiments) for (const k of Object.keys(e.metrics)) names.add(k);
  return [...names];
}

/** Every parameter name, in order of first appearance (`seed` last: it is a repetition, not an axis). */
export function paramNames(experiments: readonly ReportExperiment[]): string[] {
  const names = new Set<string>();
  for (const e of experiments) for (const k of Object.keys(e.params)) names.add(k);
  return [...names].sort((a, b) => Number(a === 'seed') - Number(b === 'seed'));
}

const collator = new Intl.Collator('en', { numeric: true });
/** Axis values in reading order: `s2` before `s10`. */
function byText(a: string, b: string): number {
  return collator.compare(a, b);
}

/** What a pivot cell summarises its repetitions by: the median (default) or the mean. */
export type Centre = 'median' | 'mean';

/** One pivot cell: the repetitions' values, their mean, and their centre with its spread. */
export interface PivotCell {
  readonly mean: number;
  readonly n: number;
  readonly values: readonly number[];
  readonly summary: Summary;
}

/** A pivot table of one metric: the experiments (repetitions, seeds) in each cell, summarised. */
export interface Pivot {
  readonly metric: string;
  readonly rowAxis: string;
  readonly columnAxis: string | undefined;
  readonly rows: readonly string[];
  readonly columns: readonly string[];
  /** cells[row][column], undefined for an empty cell. */
  readonly cells: readonly (readonly (PivotCell | undefined)[])[];
}

/** The axes to pivot over: the `pivot` input, else the first two parameters that are not `seed`. */
export function chooseAxes(
  experiments: readonly ReportExperiment[],
  requested: readonly string[] | undefined,
): { rows: string; columns: string | undefined } | undefined {
  if (requested && requested.length > 0) return { rows: requested[0], columns: requested[1] };
  const names = paramNames(experiments).filter((n) => n !== 'seed');
  return names.length > 0 ? { rows: names[0], columns: names[1] } : undefined;
}

/** Builds the pivot of `metric` over the two axes, from the experiments that report it. */
export function pivotOf(
  experiments: readonly ReportExperiment[],
  metric: string,
  rowAxis: string,
  columnAxis: string | undefined,
  centre: Centre = 'median',
): Pivot {
  const columnSet = new Set<string>();
  const byRow = new Map<string, Map<string, { sum: number; n: number; values: number[] }>>();
  for (const e of experiments) {
    const value = e.metrics[metric];
    if (value === undefined) continue;
    const r = e.params[rowAxis] ?? '';
    const c = columnAxis === undefined ? '' : (e.params[columnAxis] ?? '');
    columnSet.add(c);
    let row = byRow.get(r);
    if (!row) {
      row = new Map<string, { sum: number; n: number; values: number[] }>();
      byRow.set(r, row);
    }
    const s = row.get(c);
    if (s) {
      s.sum += value;
      s.n += 1;
      s.values.push(value);
    } else {
      row.set(c, { sum: value, n: 1, values: [value] });
    }
  }
  const rows = [...byRow.keys()].sort(byText);
  const columns = [...columnSet].sort(byText);
  const cells = rows.map((r) =>
    columns.map((c): PivotCell | undefined => {
      const s = byRow.get(r)?.get(c);
      return s
        ? { mean: s.sum / s.n, n: s.n, values: s.values, summary: summarize(s.values, { centre }) }
        : undefined;
    }),
  );
  return { metric, rowAxis, columnAxis, rows, columns, cells };
}

/** The whole report's data. */
export interface ReportData {
  readonly runId: string;
  readonly source: string;
  readonly experiments: readonly ReportExperiment[];
  readonly totals: ReportTotals;
  readonly metrics: readonly string[];
  /** The commits the experiments ran, most common first. */
  readonly commits?: readonly string[];
  /** Experiments found in the bucket that the plan does not list (untrusted text): not counted. */
  readonly unplanned?: readonly string[];
}

/** Builds the report's data from a manifest and the files found for each experiment (by id). */
export function reportData(manifest: Manifest, files: ReadonlyMap<string, ExperimentFiles>): ReportData {
  const experiments = manifest.experiments.map((e) => toReportExperiment(e, files.get(e.id)));
  return {
    runId: String(manifest.runId),
    source: String(manifest.source),
    experiments,
    totals: totalsOf(experiments),
    metrics: metricNames(experiments),
    commits: commitsOf(experiments),
    unplanned: (manifest.problems ?? [])
      .filter((p) => p.kind === 'unplanned')
      .map(
        (p) =>
          String(p.object ?? '')
            .replace(/\/$/, '')
            .split('/')
            .pop() ?? '',
      ),
  };
}

function commitOf(v: unknown): string | undefined {
  return typeof v === 'string' && /^[0-9a-f]{7,64}$/.test(v) ? v : undefined;
}

/** The distinct commits experiments ran, most common first (ties by name). */
export function commitsOf(experiments: readonly ReportExperiment[]): string[] {
  const n = new Map<string, number>();
  for (const x of experiments) if (x.commit) n.set(x.commit, (n.get(x.commit) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}
