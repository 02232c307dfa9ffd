/**
 * A branch's run-to-run history: the last K recorded runs, each as per-combination summaries (not per-experiment
 * values, so a run of 10,000 experiments stays small), and how far this run's centre of each combination lies
 * from the centres those runs had (a z-score against the branch's run-to-run noise). Pure; the bucket is read
 * and written in baseline.ts.
 */
import type { Direction, ReportData } from './model.ts';
import type { SampleComparison } from './significance.ts';
import { combinationOf } from './significance.ts';
import { summarize } from './stats.ts';

/** Recorded runs kept per branch unless the `history` input says otherwise. */
export const DEFAULT_HISTORY = 20;
/** The most recorded runs the `history` input may keep. */
export const MAX_HISTORY = 200;
/** Fewest recorded runs (with the combination and metric) a z-score is computed from. */
export const MIN_HISTORY_RUNS = 3;
/** A |z| beyond this in the worse direction is outside the branch's run-to-run noise. */
export const Z_LIMIT = 3;
/** Repetitions are stored as values up to this many per cell; beyond it their interval and sd stand for them. */
export const MAX_STORED_VALUES = 5;
/** (combination, metric) cells one entry keeps at most; the rest (by label order) are counted as omitted. */
export const MAX_ENTRY_CELLS = 5000;
/** Characters of history.json past which the oldest entries are dropped even below K. */
export const MAX_HISTORY_CHARS = 10_000_000;

/** One combination and metric of one recorded run: its repetitions summarised. */
export interface HistoryCell {
  readonly n: number;
  /** The median of the repetitions (what the comparisons of repetitions centre on). */
  readonly centre: number;
  readonly mean: number;
  /** The 95% interval of the median (or the range, for n under 6); absent for n = 1. */
  readonly low?: number;
  readonly high?: number;
  /** Sample standard deviation of the repetitions (the run's own noise); absent for n = 1. */
  readonly sd?: number;
  /** The repetitions themselves, for 2 to MAX_STORED_VALUES of them. */
  readonly values?: readonly number[];
}

/** One recorded run of the branch. */
export interface HistoryEntry {
  readonly runId: string;
  readonly sha: string;
  readonly recordedAt: string;
  /** Combination label (as in the comparisons of repetitions) -> metric -> its summary. */
  readonly combinations: Readonly<Record<string, Readonly<Record<string, HistoryCell>>>>;
  /** Cells left out because the run had more than MAX_ENTRY_CELLS. */
  readonly omitted?: number;
}

/** PREFIX/baselines/<ref>/history.json: the branch's recorded runs, newest last. */
export interface History {
  readonly schema: 1;
  readonly ref: string;
  readonly entries: readonly HistoryEntry[];
}

/** Six significant digits: far finer than run-to-run noise, and a third of a double's JSON. */
function compact(n: number): number {
  return Number(n.toPrecision(6));
}

function sampleSd(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return Math.sqrt(ss / (values.length - 1));
}

/** The summary of one cell's repetitions, compactly. */
export function historyCellOf(values: readonly number[]): HistoryCell {
  const s = summarize(values);
  return {
    n: s.n,
    centre: compact(s.centre),
    mean: compact(s.mean),
    ...(s.low !== undefined && s.high !== undefined ? { low: compact(s.low), high: compact(s.high) } : {}),
    ...(s.n > 1 ? { sd: compact(values.every((v) => v === values[0]) ? 0 : sampleSd(values)) } : {}),
    ...(s.n > 1 && s.n <= MAX_STORED_VALUES ? { values: values.map(compact) } : {}),
  };
}

/**
 * The history entry of a run: each combination's (its parameters but `replicate`, labelled as the comparisons
 * of repetitions label it) succeeded repetitions per metric, summarised; at most `maxCells` cells.
 */
export function historyEntryOf(
  data: ReportData,
  opts: { sha: string; recordedAt: Date; replicate?: string; maxCells?: number },
): HistoryEntry {
  const replicate = opts.replicate ?? 'seed';
  const groups = new Map<string, Map<string, number[]>>();
  for (const e of data.experiments) {
    if (e.status !== 'succeeded') continue;
    const label = Object.hasOwn(e.params, replicate) ? combinationOf(e.params, replicate).label : e.id;
    let metrics = groups.get(label);
    if (!metrics) {
      metrics = new Map<string, number[]>();
      groups.set(label, metrics);
    }
    for (const [metric, value] of Object.entries(e.metrics)) {
      if (!Number.isFinite(value)) continue;
      const list = metrics.get(metric) ?? [];
      list.push(value);
      metrics.set(metric, list);
    }
  }
  const maxCells = opts.maxCells ?? MAX_ENTRY_CELLS;
  let cells = 0;
  let omitted = 0;
  const combinations: [string, Record<string, HistoryCell>][] = [];
  for (const label of [...groups.keys()].sort()) {
    const kept: [string, HistoryCell][] = [];
    for (const [metric, values] of [...(groups.get(label) ?? [])].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (cells >= maxCells) {
        omitted += 1;
        continue;
      }
      kept.push([metric, historyCellOf(values)]);
      cells += 1;
    }
    // Object.fromEntries makes own properties whatever the (untrusted) label, `__proto__` included.
    if (kept.length > 0) combinations.push([label, Object.fromEntries(kept)]);
  }
  return {
    runId: data.runId,
    sha: opts.sha,
    recordedAt: opts.recordedAt.toISOString(),
    combinations: Object.fromEntries(combinations),
    ...(omitted > 0 ? { omitted } : {}),
  };
}

/**
 * `history` with `entry` appended (newest last; an entry of the same run replaced, so a report run twice counts
 * once), trimmed to the newest `keep`, and further while the object would exceed `maxChars`.
 */
export function appendHistory(
  history: History | undefined,
  entry: HistoryEntry,
  opts: { ref: string; keep: number; maxChars?: number },
): History {
  const entries = [...(history?.entries ?? []).filter((x) => x.runId !== entry.runId), entry];
  let kept = entries.slice(Math.max(0, entries.length - Math.max(1, opts.keep)));
  const maxChars = opts.maxChars ?? MAX_HISTORY_CHARS;
  const sizes = kept.map((x) => JSON.stringify(x).length + 1);
  let total = sizes.reduce((s, n) => s + n, 0);
  while (kept.length > 1 && total > maxChars) {
    total -= sizes.shift() ?? 0;
    kept = kept.slice(1);
  }
  return { schema: 1, ref: opts.ref, entries: kept };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parseCell(v: unknown): HistoryCell | undefined {
  if (!isObj(v) || !finite(v.n) || v.n < 1 || !finite(v.centre)) return undefined;
  return {
    n: v.n,
    centre: v.centre,
    mean: finite(v.mean) ? v.mean : v.centre,
    ...(finite(v.low) && finite(v.high) ? { low: v.low, high: v.high } : {}),
    ...(finite(v.sd) ? { sd: v.sd } : {}),
    ...(Array.isArray(v.values) && v.values.every(finite) ? { values: v.values } : {}),
  };
}

function parseEntry(v: unknown): HistoryEntry | undefined {
  if (!isObj(v) || typeof v.runId !== 'string' || !isObj(v.combinations)) return undefined;
  const combinations: [string, Record<string, HistoryCell>][] = [];
  for (const [label, metrics] of Object.entries(v.combinations)) {
    if (!isObj(metrics)) continue;
    const cells = Object.entries(metrics).flatMap(([m, c]) => {
      const cell = parseCell(c);
      return cell ? [[m, cell] as const] : [];
    });
    if (cells.length > 0) combinations.push([label, Object.fromEntries(cells)]);
  }
  return {
    runId: v.runId,
    sha: typeof v.sha === 'string' ? v.sha : '',
    recordedAt: typeof v.recordedAt === 'string' ? v.recordedAt : '',
    combinations: Object.fromEntries(combinations),
    ...(finite(v.omitted) && v.omitted > 0 ? { omitted: v.omitted } : {}),
  };
}

/** Reads history.json leniently (malformed entries and cells are dropped); undefined when it is not one. */
export function parseHistory(text: string): History | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(v) || v.schema !== 1 || !Array.isArray(v.entries)) return undefined;
  return {
    schema: 1,
    ref: typeof v.ref === 'string' ? v.ref : '',
    entries: v.entries.flatMap((x) => {
      const entry = parseEntry(x);
      return entry ? [entry] : [];
    }),
  };
}

/** The cell of `combination` and `metric` in one entry, if it has one. */
export function cellOf(entry: HistoryEntry, combination: string, metric: string): HistoryCell | undefined {
  const metrics = Object.hasOwn(entry.combinations, combination)
    ? entry.combinations[combination]
    : undefined;
  return metrics && Object.hasOwn(metrics, metric) ? metrics[metric] : undefined;
}

/** This run's centre against the centres of the branch's recorded runs. */
export interface ZScore {
  /** Recorded runs with this combination and metric. */
  readonly runs: number;
  /** Mean and standard deviation of their centres (with at least MIN_HISTORY_RUNS runs). */
  readonly mean?: number;
  readonly sd?: number;
  /** (this run's centre - mean) / sd; undefined with too few runs or no spread (see `note`). */
  readonly z?: number;
  /** Why there is no z. */
  readonly note?: string;
  /**
   * |z| > Z_LIMIT in the worse direction (either way for a metric without a direction): outside the branch's
   * run-to-run noise. Shown beside the verdict, never part of it.
   */
  readonly outside: boolean;
}

/** The z-score of `current` against the run-to-run noise of `centres` (the branch's per-run centres). */
export function zScore(
  centres: readonly number[],
  current: number,
  direction: Direction | undefined,
): ZScore {
  const runs = centres.length;
  if (runs < MIN_HISTORY_RUNS) {
    return { runs, note: `${runs} recorded run(s); needs ${MIN_HISTORY_RUNS}`, outside: false };
  }
  const mean = centres.reduce((s, v) => s + v, 0) / runs;
  // Equal centres can still give a rounding-sized sd (a mean of 0.1s is not 0.1): call it what it is.
  if (centres.every((c) => c === centres[0])) {
    return {
      runs,
      mean: centres[0],
      sd: 0,
      note: 'no run-to-run spread: every recorded run had this centre',
      outside: false,
    };
  }
  const sd = sampleSd(centres);
  const z = (current - mean) / sd;
  const worse = direction === 'higher' ? z < 0 : direction === 'lower' ? z > 0 : true;
  return { runs, mean, sd, z, outside: Math.abs(z) > Z_LIMIT && worse };
}

/** One comparison of repetitions with its z-score against the branch's history. */
export interface HistoryRow extends ZScore {
  readonly combination: string;
  readonly metric: string;
  /** This run's centre (the comparison's `current.centre`). */
  readonly current: number;
}

/** The comparisons of a report against the history of the baseline's branch. */
export interface HistoryComparison {
  readonly ref: string;
  /** The recorded runs used (this run's own entry, if there, left out), oldest first. */
  readonly history: History;
  readonly rows: readonly HistoryRow[];
}

function key(combination: string, metric: string): string {
  return JSON.stringify([combination, metric]);
}

/**
 * Each comparison's centre against the history's centres of the same combination and metric. The entry of
 * `runId` (this run, when it was recorded too) is left out: a run is no evidence of its own noise.
 */
export function compareWithHistory(
  history: History,
  comparisons: readonly Pick<SampleComparison, 'combination' | 'metric' | 'direction' | 'current'>[],
  opts: { runId?: string } = {},
): HistoryComparison {
  const entries = history.entries.filter((x) => opts.runId === undefined || x.runId !== opts.runId);
  const rows = comparisons.map((c): HistoryRow => {
    const centres = entries.flatMap((x) => {
      const cell = cellOf(x, c.combination, c.metric);
      return cell ? [cell.centre] : [];
    });
    return {
      combination: c.combination,
      metric: c.metric,
      current: c.current.centre,
      ...zScore(centres, c.current.centre, c.direction),
    };
  });
  return { ref: history.ref, history: { ...history, entries }, rows };
}

/** The history row of a combination and metric, if any (for the tables' z column). */
export function historyRowOf(
  h: HistoryComparison | undefined,
): (combination: string, metric: string) => HistoryRow | undefined {
  if (!h) return () => undefined;
  const byKey = new Map(h.rows.map((r) => [key(r.combination, r.metric), r]));
  return (combination, metric) => byKey.get(key(combination, metric));
}

/** A z-score for a table: one decimal with its sign, and a mark when outside the noise; why not, else. */
export function formatZ(r: HistoryRow | undefined): string {
  if (!r) return '—';
  if (r.z === undefined) return r.runs < MIN_HISTORY_RUNS ? `— (${r.runs} run(s))` : '— (no spread)';
  const text = `${r.z > 0 ? '+' : ''}${r.z.toFixed(1)}`;
  return r.outside ? `${text} ⚠️ outside the noise` : text;
}
