/**
 * Comparisons that are significant: each combination of the matrix (its parameters but the replicate axis) and
 * each metric, this run's repetitions against the baseline's, with the shift and its interval, a p-value from a
 * test suited to small non-normal samples, p-values adjusted across the comparisons, and a verdict that flags a
 * change only when it is both significant and beyond the threshold. Pure.
 */
import { ConfigurationError } from '../errors.ts';
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
  wilcoxonSignedRank,
} from './stats.ts';

/**
 * The test of a comparison: Mann-Whitney U and Welch's t compare the two samples as independent;
 * `signed-rank` pairs each repetition with the baseline's of the same replicate value (Wilcoxon signed-rank).
 */
export type SignificanceTest = 'mann-whitney' | 'welch' | 'signed-rank';
/** The tests, the default first. */
export const SIGNIFICANCE_TESTS: readonly SignificanceTest[] = ['mann-whitney', 'welch', 'signed-rank'];
/** How p-values are adjusted across a report's comparisons: Holm's step-down or Benjamini-Hochberg. */
export type PAdjustment = 'holm' | 'bh';
/** The adjustments, the default first. */
export const P_ADJUSTMENTS: readonly PAdjustment[] = ['holm', 'bh'];
/** A replicate axis must be a parameter name as a spec declares one. */
export const REPLICATE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** How the comparisons are made. */
export interface SignificanceOptions {
  /** The parameter whose values are repetitions of one combination (default `seed`). */
  readonly replicate?: string;
  /** A change must also exceed this many percent of the baseline's median to be flagged. */
  readonly thresholdPercent: number;
  /** Significance level, after adjustment (default 0.05). */
  readonly alpha?: number;
  /** p-value adjustment across all comparisons of the report (default Holm). */
  readonly adjust?: PAdjustment;
  /** Mann-Whitney U (default), Welch's t, or the paired Wilcoxon signed-rank test. */
  readonly test?: SignificanceTest;
}

/** The statistical method of a report, every choice made. */
export interface StatisticalMethod {
  readonly test: SignificanceTest;
  readonly adjust: PAdjustment;
  readonly alpha: number;
  readonly replicate: string;
}

/** The method used when nothing is configured. */
export const DEFAULT_METHOD: StatisticalMethod = {
  test: 'mann-whitney',
  adjust: 'holm',
  alpha: 0.05,
  replicate: 'seed',
};

/**
 * Parses the statistical method from its raw settings (blank or absent: the default). `label` names a setting
 * for the error message (`input test`, `option --test`); a bad one is a ConfigurationError naming it and the
 * valid values.
 */
export function parseStatisticalMethod(
  raw: {
    readonly test?: string | undefined;
    readonly adjust?: string | undefined;
    readonly alpha?: string | undefined;
    readonly replicate?: string | undefined;
  },
  label: (setting: 'test' | 'adjust' | 'alpha' | 'replicate') => string,
): StatisticalMethod {
  const test = (raw.test?.trim().toLowerCase() || DEFAULT_METHOD.test) as SignificanceTest;
  if (!SIGNIFICANCE_TESTS.includes(test)) {
    throw new ConfigurationError(
      `${label('test')} must be mann-whitney (the default), welch or signed-rank (paired by the replicate parameter); got ${JSON.stringify(raw.test)}`,
    );
  }
  const adjust = (raw.adjust?.trim().toLowerCase() || DEFAULT_METHOD.adjust) as PAdjustment;
  if (!P_ADJUSTMENTS.includes(adjust)) {
    throw new ConfigurationError(
      `${label('adjust')} must be holm (the default) or bh (Benjamini-Hochberg); got ${JSON.stringify(raw.adjust)}`,
    );
  }
  const alphaRaw = raw.alpha?.trim() ?? '';
  const alpha = alphaRaw === '' ? DEFAULT_METHOD.alpha : Number(alphaRaw);
  if (!/^[0-9.eE+-]+$/.test(alphaRaw || '0') || !(alpha > 0 && alpha < 0.5)) {
    throw new ConfigurationError(
      `${label('alpha')} must be a number above 0 and below 0.5, such as 0.05 (the default) or 0.01; got ${JSON.stringify(raw.alpha)}`,
    );
  }
  const replicate = raw.replicate?.trim() || DEFAULT_METHOD.replicate;
  if (!REPLICATE_NAME.test(replicate)) {
    throw new ConfigurationError(
      `${label('replicate')} must be a parameter name (a letter, then letters, digits, _ . -), such as seed (the default); got ${JSON.stringify(raw.replicate)}`,
    );
  }
  return { test, adjust, alpha, replicate };
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
  /**
   * The shift of this run from the baseline (current minus baseline), with its 95% interval. For the
   * independent tests, the two-sample Hodges-Lehmann estimate. For `signed-rank`, the median of the paired
   * differences with the distribution-free order-statistics interval of `summarize` over them (`exact`, with
   * its binomial coverage as `achievedLevel`; `range` when there are too few pairs for the level).
   */
  readonly shift: HodgesLehmannResult;
  /** The shift and its interval in percent of the baseline's median; undefined when that median is 0. */
  readonly percent: { readonly shift: number; readonly low: number; readonly high: number } | undefined;
  readonly test: SignificanceTest;
  /**
   * For `signed-rank`: how many replicate values both this run and the baseline have a value for. Only those
   * pairs count, and `baseline` and `current` summarize them.
   */
  readonly pairs?: number;
  /** Raw two-sided p-value; undefined for `too-few`. */
  readonly p: number | undefined;
  /** After the adjustment across the report's comparisons. */
  readonly pAdjusted: number | undefined;
  readonly verdict: SampleVerdict;
  /** For `too-few`: repetitions per side (pairs, for `signed-rank`) that could reach the level. */
  readonly needed?: number;
}

/** All comparisons of a report, and how they were made. */
export interface SignificanceReport {
  readonly comparisons: readonly SampleComparison[];
  readonly alpha: number;
  readonly adjust: PAdjustment;
  readonly test: SignificanceTest;
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
  const replicate = opts.replicate ?? DEFAULT_METHOD.replicate;
  const alpha = opts.alpha ?? DEFAULT_METHOD.alpha;
  const adjust = opts.adjust ?? DEFAULT_METHOD.adjust;
  const test = opts.test ?? DEFAULT_METHOD.test;
  const groups = new Map<
    string,
    {
      label: string;
      params: Record<string, string>;
      /** Metric -> experiment id -> value: the id joins a repetition with the baseline's for pairing. */
      current: Map<string, Map<string, number>>;
      base: Map<string, Map<string, number>>;
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
  const put = (to: Map<string, Map<string, number>>, metric: string, id: string, value: number): void => {
    const values = to.get(metric) ?? new Map<string, number>();
    values.set(id, value);
    to.set(metric, values);
  };
  for (const e of data.experiments) {
    const g = groupOf(e.id, e.params);
    if (e.status === 'succeeded') {
      for (const [metric, value] of Object.entries(e.metrics)) put(g.current, metric, e.id, value);
    }
    const base = Object.hasOwn(baseline.experiments, e.id) ? baseline.experiments[e.id] : undefined;
    for (const [metric, value] of Object.entries(base?.metrics ?? {})) {
      if (typeof value === 'number' && Number.isFinite(value)) put(g.base, metric, e.id, value);
    }
  }

  const drafts: Omit<SampleComparison, 'pAdjusted' | 'verdict'>[] = [];
  const sorted = [...groups.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  for (const g of sorted) {
    for (const metric of [...g.current.keys()].sort()) {
      const currentOf = g.current.get(metric) ?? new Map<string, number>();
      const baseOf = g.base.get(metric) ?? new Map<string, number>();
      // Paired, only the replicate values both sides have count: the experiment id joins them.
      const paired = test === 'signed-rank';
      const pairs = paired
        ? [...currentOf].flatMap(([id, b]): [number, number][] => {
            const a = baseOf.get(id);
            return a === undefined ? [] : [[a, b]];
          })
        : [];
      const current = paired ? pairs.map(([, b]) => b) : [...currentOf.values()];
      const base = paired ? pairs.map(([a]) => a) : [...baseOf.values()];
      if (current.length === 0 || base.length === 0) continue;
      const baseSummary = summarize(base);
      const shift = paired ? medianShift(pairs.map(([a, b]) => b - a)) : hodgesLehmann(base, current);
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
      if (paired) {
        if (2 / 2 ** pairs.length >= alpha) needed = smallestPairsForSignificance(alpha);
        else p = wilcoxonSignedRank(pairs).p;
      } else if (minimumAchievableP(base.length, current.length) >= alpha) {
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
        ...(paired ? { pairs: pairs.length } : {}),
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
 * and each combination's repetitions (what regressions are flagged by), with the method in `opts` (each
 * choice left out is the default).
 */
export function comparedWith(
  data: ReportData,
  baseline: Baseline,
  directions: ReadonlyMap<string, Direction>,
  opts: SignificanceOptions,
): { comparison: Comparison; significance: SignificanceReport } {
  return {
    comparison: compare(data, baseline, directions, opts.thresholdPercent),
    significance: compareRepetitions(data, baseline, directions, opts),
  };
}

/**
 * The smallest number of pairs whose exact two-sided signed-rank p-value can fall below alpha: with n pairs the
 * smallest is 2 / 2^n (every difference of one sign).
 */
export function smallestPairsForSignificance(alpha: number): number {
  if (!(alpha > 0 && alpha <= 1))
    throw new RangeError(`smallestPairsForSignificance: alpha must be in (0, 1] (got ${alpha})`);
  let n = 1;
  while (2 / 2 ** n >= alpha) n++;
  return n;
}

/** The median of paired differences with the order-statistics interval of their median (see `shift`). */
function medianShift(differences: readonly number[]): HodgesLehmannResult {
  const s = summarize(differences);
  if (s.method === 'order-statistics') {
    return {
      shift: s.median,
      low: s.low ?? s.min,
      high: s.high ?? s.max,
      method: 'exact',
      ...(s.achievedLevel !== undefined ? { achievedLevel: s.achievedLevel } : {}),
    };
  }
  return { shift: s.median, low: s.min, high: s.max, method: 'range' };
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
