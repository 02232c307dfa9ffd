/**
 * Baselines and deltas: what a recorded run keeps (per-experiment metrics), and how a new run compares with
 * it, direction-aware. Pure; the bucket is read and written in baseline.ts.
 */
import type { Direction, ReportData } from './model.ts';

/** What `record` stores per run: PREFIX/baselines/<ref>/latest.json and <sha>.json. */
export interface Baseline {
  readonly schema: 1;
  readonly ref: string;
  readonly sha: string;
  readonly runId: string;
  readonly recordedAt: string;
  /** Experiment id -> its metrics (succeeded experiments only). */
  readonly experiments: Readonly<Record<string, { readonly metrics: Readonly<Record<string, number>> }>>;
}

/** The baseline of a report: succeeded experiments with their metrics. */
export function baselineOf(data: ReportData, opts: { ref: string; sha: string; recordedAt: Date }): Baseline {
  const experiments: Record<string, { metrics: Record<string, number> }> = {};
  for (const e of data.experiments) {
    if (e.status === 'succeeded' && Object.keys(e.metrics).length > 0) {
      experiments[e.id] = { metrics: { ...e.metrics } };
    }
  }
  return {
    schema: 1,
    ref: opts.ref,
    sha: opts.sha,
    runId: data.runId,
    recordedAt: opts.recordedAt.toISOString(),
    experiments,
  };
}

/** Reads a stored baseline leniently: undefined when it is not one. */
export function parseBaseline(text: string): Baseline | undefined {
  try {
    const v = JSON.parse(text) as Partial<Baseline> | null;
    if (!v || v.schema !== 1 || !v.experiments || typeof v.experiments !== 'object') return undefined;
    return {
      schema: 1,
      ref: String(v.ref ?? ''),
      sha: String(v.sha ?? ''),
      runId: String(v.runId ?? ''),
      recordedAt: String(v.recordedAt ?? ''),
      experiments: v.experiments,
    };
  } catch {
    return undefined;
  }
}

/** Parses `metrics`: `name:higher` / `name:lower`, separated by commas or newlines. */
export function parseDirections(text: string): Map<string, Direction> {
  const out = new Map<string, Direction>();
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (!item) continue;
    const i = item.lastIndexOf(':');
    const dir =
      i > 0
        ? item
            .slice(i + 1)
            .trim()
            .toLowerCase()
        : '';
    if (dir !== 'higher' && dir !== 'lower') {
      throw new Error(`metrics: "${item}" must be name:higher or name:lower`);
    }
    out.set(item.slice(0, i).trim(), dir);
  }
  return out;
}

/** How a change reads. */
export type Verdict = 'improved' | 'regressed' | 'unchanged' | 'changed';

/** One metric of one experiment against its baseline. */
export interface Delta {
  readonly experiment: string;
  readonly metric: string;
  readonly baseline: number;
  readonly current: number;
  readonly delta: number;
  /** Percent of the baseline; undefined when the baseline is 0 and the value moved. */
  readonly percent: number | undefined;
  readonly direction: Direction | undefined;
  /** `changed` for a metric without a direction that moved beyond the threshold. */
  readonly verdict: Verdict;
}

/** The verdict of one change: beyond `threshold` percent, better or worse for the direction. */
export function verdictOf(
  baseline: number,
  current: number,
  direction: Direction | undefined,
  thresholdPercent: number,
): { percent: number | undefined; verdict: Verdict } {
  const delta = current - baseline;
  const percent = baseline === 0 ? (delta === 0 ? 0 : undefined) : (delta / Math.abs(baseline)) * 100;
  const beyond = percent === undefined ? delta !== 0 : Math.abs(percent) > thresholdPercent;
  if (!beyond) return { percent, verdict: 'unchanged' };
  if (!direction) return { percent, verdict: 'changed' };
  const better = direction === 'higher' ? delta > 0 : delta < 0;
  return { percent, verdict: better ? 'improved' : 'regressed' };
}

/** The comparison of a run with a baseline. */
export interface Comparison {
  readonly deltas: readonly Delta[];
  readonly regressions: readonly Delta[];
  readonly improvements: number;
  /** Experiments of the baseline the run has no metrics for. */
  readonly notInRun: number;
  /** Experiments with metrics the baseline does not know. */
  readonly new: number;
}

/** Compares every metric the run and the baseline both have for an experiment. */
export function compare(
  data: ReportData,
  baseline: Baseline,
  directions: ReadonlyMap<string, Direction>,
  thresholdPercent: number,
): Comparison {
  const deltas: Delta[] = [];
  let added = 0;
  const seen = new Set<string>();
  for (const e of data.experiments) {
    if (e.status !== 'succeeded') continue;
    const base = Object.hasOwn(baseline.experiments, e.id) ? baseline.experiments[e.id] : undefined;
    if (!base || !base.metrics || typeof base.metrics !== 'object') {
      if (Object.keys(e.metrics).length > 0) added += 1;
      continue;
    }
    seen.add(e.id);
    for (const [metric, current] of Object.entries(e.metrics)) {
      const b = Object.hasOwn(base.metrics, metric) ? base.metrics[metric] : undefined;
      if (typeof b !== 'number' || !Number.isFinite(b)) continue;
      const direction = directions.get(metric);
      const { percent, verdict } = verdictOf(b, current, direction, thresholdPercent);
      deltas.push({
        experiment: e.id,
        metric,
        baseline: b,
        current,
        delta: current - b,
        percent,
        direction,
        verdict,
      });
    }
  }
  const regressions = deltas.filter((d) => d.verdict === 'regressed');
  return {
    deltas,
    regressions,
    improvements: deltas.filter((d) => d.verdict === 'improved').length,
    notInRun: Object.keys(baseline.experiments).filter((id) => !seen.has(id)).length,
    new: added,
  };
}
