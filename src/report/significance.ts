/**
 * Comparisons that are significant: each combination of the matrix (its parameters but the replicate axis) and
 * each metric, this run's repetitions against the baseline's, with the shift and its interval, a p-value from a
 * test suited to small non-normal samples, p-values adjusted across the comparisons, and a verdict that flags a
 * change only when it is both significant and beyond the threshold. Pure.
 */
import type { Baseline, Comparison } from './compare.ts';
import { compare } from './compare.ts';
import type { Direction, ReportData } from './model.ts';
import type { HodgesLehmannResult, Summary } from './stats.ts';
import {
  adjustPValues,
  hodgesLehmann,
  mannWhitneyU,
  minimumAchievableP,
  smallestNForSignificance,
  summarize,
  welchT,
} from './stats.ts';

/** How the comparisons are made. */
export interface SignificanceOptions {
  /** The parameter whose values are repetitions of one combination (default `seed`). */
  readonly replicate?: string;
  /** A change must also exceed this many percent of the baseline's median to be flagged. */
  readonly thresholdPercent: number;
  /** Significance level, after adjustment (default 0.05). */
  readonly alpha?: number;
  /** p-value adjustment across all comparisons of the report (default Holm). */
  readonly adjust?: 'holm' | 'bh';
  /** Mann-Whitney U (default) or Welch's t. */
  readonly test?: 'mann-whitney' | 'welch';
}

/**
 * The verdict of one comparison: `regressed`/`improved` (significant and beyond the threshold, for a metric with
 * a direction), `changed` (the same, for a metric without one), `unchanged` (significant but within the
 * threshold), `not-significant`, or `too-few` (these sample sizes can never reach the level: see `needed`).
 */
export type SampleVerdict =
  'regressed' | 'improved' | 'changed' | 'unchanged' | 'not-significant' | 'too-few';

/** One combination and metric, this run against the baseline. */
export interface SampleComparison {
  /** `tool=a, service=x`: the combination's parameters but the replicate axis, in name order. */
  readonly combination: string;
  readonly params: Readonly<Record<string, string>>;
  readonly metric: string;
  readonly direction: Direction | undefined;
  readonly baseline: Summary;
  readonly current: Summary;
  /** Hodges-Lehmann shift of this run from the baseline (current minus baseline), with its interval. */
  readonly shift: HodgesLehmannResult;
  /** The shift and its interval in percent of the baseline's median; undefined when that median is 0. */
  readonly percent: { readonly shift: number; readonly low: number; readonly high: number } | undefined;
  readonly test: 'mann-whitney' | 'welch';
  /** Raw two-sided p-value; undefined for `too-few`. */
  readonly p: number | undefined;
  /** After the adjustment across the report's comparisons. */
  readonly pAdjusted: number | undefined;
  readonly verdict: SampleVerdict;
  /** For `too-few`: repetitions per side that could reach the level. */
  readonly needed?: number;
}

/** All comparisons of a report, and how they were made. */
export interface SignificanceReport {
  readonly comparisons: readonly SampleComparison[];
  readonly alpha: number;
  readonly adjust: 'holm' | 'bh';
  readonly test: 'mann-whitney' | 'welch';
  readonly replicate: string;
}

/** The key and label of an experiment's combination: its parameters but `replicate`, in name order. */
export function combinationOf(
  params: Readonly<Record<string, string>>,
  replicate: string,
): { key: string; label: string; params: Record<string, string> } {
  const kept = Object.keys(params)
    .filter((k) => k !== replicate)
    .sort()
    .map((k) => [k, params[k]] as const);
  return {
    key: JSON.stringify(kept),
    label: kept.map(([k, v]) => `${k}=${v}`).join(', '),
    params: Object.fromEntries(kept),
  };
}

/**
 * Compares the run's repetitions of each combination with the baseline's, for every metric both have. A
 * baseline experiment belongs to the combination of the run's experiment of the same id (ids are made from the
 * parameters), so baselines stored before parameters were recorded keep working: one sample per experiment.
 */
export function compareRepetitions(
  data: ReportData,
  baseline: Baseline,
  directions: ReadonlyMap<string, Direction>,
  opts: SignificanceOptions,
): SignificanceReport {
  const replicate = opts.replicate ?? 'seed';
  const alpha = opts.alpha ?? 0.05;
  const adjust = opts.adjust ?? 'holm';
  const test = opts.test ?? 'mann-whitney';
  const groups = new Map<
    string,
    {
      label: string;
      params: Record<string, string>;
      current: Map<string, number[]>;
      base: Map<string, number[]>;
    }
  >();
  // An experiment without the replicate axis repeats nothing: it is a combination of its own.
  const groupOf = (id: string, params: Readonly<Record<string, string>>) => {
    const c = Object.hasOwn(params, replicate)
      ? combinationOf(params, replicate)
      : { key: JSON.stringify(['experiment', id]), label: id, params: { ...params } };
    let g = groups.get(c.key);
    if (!g) {
      g = { label: c.label, params: c.params, current: new Map(), base: new Map() };
      groups.set(c.key, g);
    }
    return g;
  };
  const push = (to: Map<string, number[]>, metric: string, value: number): void => {
    const list = to.get(metric) ?? [];
    list.push(value);
    to.set(metric, list);
  };
  for (const e of data.experiments) {
    const g = groupOf(e.id, e.params);
    if (e.status === 'succeeded') {
      for (const [metric, value] of Object.entries(e.metrics)) push(g.current, metric, value);
    }
    const base = Object.hasOwn(baseline.experiments, e.id) ? baseline.experiments[e.id] : undefined;
    for (const [metric, value] of Object.entries(base?.metrics ?? {})) {
      if (typeof value === 'number' && Number.isFinite(value)) push(g.base, metric, value);
    }
  }

  const drafts: Omit<SampleComparison, 'pAdjusted' | 'verdict'>[] = [];
  const sorted = [...groups.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  for (const g of sorted) {
    for (const metric of [...g.current.keys()].sort()) {
      const current = g.current.get(metric) ?? [];
      const base = g.base.get(metric) ?? [];
      if (current.length === 0 || base.length === 0) continue;
      const baseSummary = summarize(base);
      const shift = hodgesLehmann(base, current);
      const scale = Math.abs(baseSummary.median);
      const percent =
        scale === 0
          ? undefined
          : {
              shift: (shift.shift / scale) * 100,
              low: (shift.low / scale) * 100,
              high: (shift.high / scale) * 100,
            };
      let p: number | undefined;
      let needed: number | undefined;
      if (minimumAchievableP(base.length, current.length) >= alpha) {
        needed = smallestNForSignificance(alpha);
      } else if (test === 'welch') {
        p =
          base.length > 1 && current.length > 1 && !(allEqual(base) && allEqual(current))
            ? welchT(base, current).p
            : undefined;
        if (p === undefined) needed = Math.max(2, smallestNForSignificance(alpha));
      } else {
        p = mannWhitneyU(base, current).p;
      }
      drafts.push({
        combination: g.label,
        params: g.params,
        metric,
        direction: directions.get(metric),
        baseline: baseSummary,
        current: summarize(current),
        shift,
        percent,
        test,
        p,
        ...(needed !== undefined ? { needed } : {}),
      });
    }
  }

  const tested = drafts.filter((d) => d.p !== undefined);
  const adjusted = adjustPValues(
    tested.map((d) => d.p as number),
    adjust,
  );
  const adjustedOf = new Map(tested.map((d, i) => [d, adjusted[i]]));
  const comparisons = drafts.map((d): SampleComparison => {
    const pAdjusted = adjustedOf.get(d);
    return { ...d, pAdjusted, verdict: verdictOf(d, pAdjusted, alpha, opts.thresholdPercent) };
  });
  return { comparisons, alpha, adjust, test, replicate };
}

/**
 * Both views of a run against a baseline: each experiment against itself (seed against seed, for the details)
 * and each combination's repetitions (what regressions are flagged by).
 */
export function comparedWith(
  data: ReportData,
  baseline: Baseline,
  directions: ReadonlyMap<string, Direction>,
  thresholdPercent: number,
): { comparison: Comparison; significance: SignificanceReport } {
  return {
    comparison: compare(data, baseline, directions, thresholdPercent),
    significance: compareRepetitions(data, baseline, directions, { thresholdPercent }),
  };
}

function allEqual(values: readonly number[]): boolean {
  return values.every((v) => v === values[0]);
}

function verdictOf(
  d: Omit<SampleComparison, 'pAdjusted' | 'verdict'>,
  pAdjusted: number | undefined,
  alpha: number,
  thresholdPercent: number,
): SampleVerdict {
  if (pAdjusted === undefined) return 'too-few';
  if (!(pAdjusted < alpha)) return 'not-significant';
  const beyond = d.percent === undefined ? d.shift.shift !== 0 : Math.abs(d.percent.shift) > thresholdPercent;
  if (!beyond) return 'unchanged';
  if (!d.direction) return 'changed';
  const better = d.direction === 'higher' ? d.shift.shift > 0 : d.shift.shift < 0;
  return better ? 'improved' : 'regressed';
}
