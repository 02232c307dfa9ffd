/**
 * Statistics for benchmark reports: the centre and spread of a pivot cell, and the comparison of a run's
 * repetitions with a baseline's. Pure and deterministic; the only state is a memo of exact null distributions
 * keyed by sample size, which never changes a result.
 *
 * Conventions shared by every comparison here:
 * - `a` is the baseline and `b` the run being judged. Every difference and shift is "b minus a".
 * - `alternative: 'greater'` means "b tends to be larger than a", `'less'` means smaller.
 * - A two-sided p-value is twice the smaller one-sided tail, capped at 1. The exact null distributions used
 *   here are symmetric, so this is the same as R's `wilcox.test` rule.
 * - A confidence interval from order statistics is closed. `achievedLevel` is its exact coverage for
 *   continuous data. Ties can only raise the coverage, so with ties it is a lower bound.
 *
 * Bad input (an empty sample where a value is needed, NaN, ±Infinity, a level outside (0, 1), an unknown
 * option) throws a RangeError whose message names the function and the argument.
 */

/** Which way a one-sided test looks, always about b relative to a (see the module comment). */
export type Alternative = 'two-sided' | 'less' | 'greater';

/**
 * Largest n1 * n2 for which the Mann-Whitney null distribution is computed exactly. It covers every design up
 * to 50 vs 50. Building it takes about (n1 n2)^2 / 4 additions (1.6 million at the bound, 5-15 ms), once per
 * size pair. Past it, the normal approximation is used. For balanced designs it is within about 2e-3 of the
 * exact p (checked at 50 vs 51). It is poor for very lopsided ones (1 vs 2600 is off by up to 0.1), which
 * repetitions of a benchmark do not produce.
 */
export const MANN_WHITNEY_EXACT_LIMIT = 2500;

/**
 * Largest number of non-zero differences for which the signed-rank null distribution is computed exactly.
 * This is R's bound. Building it takes about n^3 / 2 additions.
 */
export const SIGNED_RANK_EXACT_LIMIT = 50;

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);
// The coverage of an order-statistics interval is a binary fraction, but a level like 0.9 is not: 1 - 0.9
// is 0.09999999999999998 in doubles. Without this slack, an interval of coverage exactly 9/10 would miss it.
const LEVEL_SLACK = 1e-12;

// ---------------------------------------------------------------------------------------------------------
// Input checks

function fail(fn: string, message: string): never {
  throw new RangeError(`${fn}: ${message}`);
}

function checkNumber(fn: string, name: string, x: unknown): asserts x is number {
  if (typeof x !== 'number' || !Number.isFinite(x))
    fail(fn, `${name} must be a finite number (got ${String(x)})`);
}

function checkSample(fn: string, name: string, values: readonly number[], minLength = 1): void {
  if (!Array.isArray(values)) fail(fn, `${name} must be an array of numbers`);
  if (values.length < minLength) {
    const what = minLength === 1 ? 'a value' : `${minLength} values`;
    fail(fn, `${name} must hold at least ${what} (got ${values.length})`);
  }
  for (let i = 0; i < values.length; i++) checkNumber(fn, `${name}[${i}]`, values[i]);
}

function checkLevel(fn: string, name: string, level: unknown): asserts level is number {
  if (typeof level !== 'number' || !(level > 0 && level < 1)) {
    fail(fn, `${name} must be a number strictly between 0 and 1 (got ${String(level)})`);
  }
}

function checkAlternative(fn: string, alternative: unknown): asserts alternative is Alternative {
  if (alternative !== 'two-sided' && alternative !== 'less' && alternative !== 'greater') {
    fail(fn, `alternative must be 'two-sided', 'less' or 'greater' (got ${String(alternative)})`);
  }
}

function checkCount(fn: string, name: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    fail(fn, `${name} must be a whole number >= 1 (got ${String(n)})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Special functions

/** lnΓ(z) - [(z - 1/2) ln z - z + ln √(2π)] for z >= 15: the Stirling series (Abramowitz & Stegun 6.1.40). */
function stirlingCorrection(z: number): number {
  const inv = 1 / z;
  const inv2 = inv * inv;
  return (
    inv *
    (1 / 12 -
      inv2 *
        (1 / 360 -
          inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188 - inv2 * (691 / 360360 - inv2 / 156))))))
  );
}

/**
 * ln Γ(x) for x > 0. Uses the recurrence Γ(z+1) = zΓ(z) to move x up to z >= 15, then the Stirling series
 * to the z^-13 term, whose remainder there is below 1e-17. The absolute error is a few 1e-15.
 */
export function logGamma(x: number): number {
  checkNumber('logGamma', 'x', x);
  if (x <= 0) fail('logGamma', `x must be positive (got ${x})`);
  let z = x;
  let product = 1;
  while (z < 15) {
    product *= z;
    z += 1;
  }
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_TWO_PI + stirlingCorrection(z) - Math.log(product);
}

/**
 * ln B(a, b). For large arguments, the Stirling terms are combined by hand before adding. Otherwise the sum
 * lnΓ(a) + lnΓ(b) - lnΓ(a + b) would cancel and lose about log10(a + b) digits. The t distribution with
 * many degrees of freedom needs exactly this case.
 */
function logBeta(a: number, b: number): number {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  const corrections =
    (p >= 15 ? stirlingCorrection(p) : 0) + stirlingCorrection(q) - stirlingCorrection(p + q);
  if (p >= 15) {
    return (
      HALF_LOG_TWO_PI -
      0.5 * Math.log(p) +
      p * Math.log(p / (p + q)) -
      (q - 0.5) * Math.log1p(p / q) +
      corrections
    );
  }
  if (q >= 15) return logGamma(p) - (q - 0.5) * Math.log1p(p / q) - p * Math.log(p + q) + p + corrections;
  return logGamma(p) + logGamma(q) - logGamma(p + q);
}

/**
 * I_x(a, b) by its continued fraction (Abramowitz & Stegun 26.5.8), evaluated with the modified Lentz method.
 * `y` is 1 - x, passed separately because callers can often compute it without cancellation.
 */
function incompleteBeta(a: number, b: number, x: number, y: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  // The fraction converges fast only below the mean of the distribution. Above it, use the mirror I_y(b, a).
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(b, a, y, x);
  let f = 1;
  let c = 1;
  let d = 0;
  for (let j = 1; j <= MAX_ITERATIONS; j++) {
    const m = j >> 1;
    const coefficient =
      j % 2 === 1
        ? -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        : (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + coefficient * d;
    if (Math.abs(d) < TINY) d = TINY;
    d = 1 / d;
    c = 1 + coefficient / c;
    if (Math.abs(c) < TINY) c = TINY;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) {
      // Near 1, ln x is taken as log1p(-y). This keeps the accuracy of a y computed without rounding.
      const logX = x < 0.5 ? Math.log(x) : Math.log1p(-y);
      const logY = y < 0.5 ? Math.log(y) : Math.log1p(-x);
      return Math.exp(a * logX + b * logY - logBeta(a, b)) / (a * f);
    }
  }
  throw new Error(`incomplete beta did not converge for a=${a}, b=${b}, x=${x}`);
}

/**
 * The regularized incomplete beta function I_x(a, b), for 0 <= x <= 1 and a, b > 0. It is evaluated as a
 * continued fraction, which takes O(sqrt(max(a, b))) terms. The relative error is about 1e-14 for a, b up to
 * 1e3. It grows to about 1e-12 at 1e5, where the fraction cancels near the point at which it switches to
 * I_{1-x}(b, a).
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  const fn = 'regularizedIncompleteBeta';
  checkNumber(fn, 'x', x);
  checkNumber(fn, 'a', a);
  checkNumber(fn, 'b', b);
  if (x < 0 || x > 1) fail(fn, `x must be in [0, 1] (got ${x})`);
  if (a <= 0) fail(fn, `a must be positive (got ${a})`);
  if (b <= 0) fail(fn, `b must be positive (got ${b})`);
  return incompleteBeta(a, b, x, 1 - x);
}

/** Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function, for a > 0 and x >= 0. */
function upperIncompleteGamma(a: number, x: number): number {
  if (x === 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // Below a + 1 the power series for P = 1 - Q converges fast. There Q is not small, so 1 - P loses
    // nothing.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n <= MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) return 1 - Math.exp(logPrefix) * sum;
    }
    throw new Error(`incomplete gamma series did not converge for a=${a}, x=${x}`);
  }
  // Legendre's continued fraction for Γ(a, x) (Abramowitz & Stegun 6.5.31), by the modified Lentz method.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let f = d;
  for (let i = 1; i <= MAX_ITERATIONS; i++) {
    const coefficient = -i * (i - a);
    b += 2;
    d = coefficient * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + coefficient / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) return Math.exp(logPrefix) * f;
  }
  throw new Error(`incomplete gamma fraction did not converge for a=${a}, x=${x}`);
}

/**
 * The complementary error function, computed as erfc(x) = Q(1/2, x^2) for x >= 0, where Q is the
 * regularized upper incomplete gamma function. It has a relative error of about 1e-14, in the tails too.
 */
export function erfc(x: number): number {
  checkNumber('erfc', 'x', x);
  const q = upperIncompleteGamma(0.5, x * x);
  return x >= 0 ? q : 2 - q;
}

/** Φ(z), the standard normal CDF, as erfc(-z / √2) / 2. Relative error about 1e-14, in both tails. */
export function normalCdf(z: number): number {
  checkNumber('normalCdf', 'z', z);
  return 0.5 * erfc(-z / Math.SQRT2);
}

function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - HALF_LOG_TWO_PI);
}

/**
 * Finds the root of an increasing function on [lo, hi]. `h(x)` returns the value and the slope. It uses
 * Newton's method from `start`, and bisects whenever a step would leave the bracket (this also covers a NaN
 * or zero slope).
 */
function solveIncreasing(h: (x: number) => [number, number], lo: number, hi: number, start: number): number {
  let x = start;
  for (let i = 0; i < 500; i++) {
    const [value, slope] = h(x);
    if (value === 0) return x;
    if (value < 0) lo = x;
    else hi = x;
    let next = x - value / slope;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (
      Math.abs(next - x) <= 4 * Number.EPSILON * Math.abs(next) ||
      hi - lo <= 4 * Number.EPSILON * Math.abs(hi)
    ) {
      return next;
    }
    x = next;
  }
  return x;
}

/**
 * Returns the z for which Φ(z) = p, for 0 < p < 1. It is found by Newton's method on ln Φ (concave, so the
 * steps behave well in the far tail too), then polished to about 1e-15 relative.
 */
export function normalQuantile(p: number): number {
  checkLevel('normalQuantile', 'p', p);
  return normalQuantileUnchecked(p);
}

function normalQuantileUnchecked(p: number): number {
  if (p === 0.5) return 0;
  // Solve in the lower tail, where Φ is computed without cancellation. For p > 0.5, 1 - p is exact in
  // doubles.
  const u = p < 0.5 ? p : 1 - p;
  const target = Math.log(u);
  const z = solveIncreasing(
    (x) => {
      const cdf = normalCdf(x);
      return [Math.log(cdf) - target, normalPdf(x) / cdf];
    },
    -40,
    0,
    -Math.sqrt(-2 * target),
  );
  return p < 0.5 ? z : -z;
}

/** P(T > t) for t >= 0, computed without cancellation as I_{df/(df+t²)}(df/2, 1/2) / 2. */
function studentTUpperTail(t: number, df: number): number {
  const t2 = t * t;
  return 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

function studentTPdf(t: number, df: number): number {
  return Math.exp(
    logGamma((df + 1) / 2) -
      logGamma(df / 2) -
      0.5 * Math.log(df * Math.PI) -
      ((df + 1) / 2) * Math.log1p((t * t) / df),
  );
}

function checkDf(fn: string, df: unknown): asserts df is number {
  checkNumber(fn, 'df', df);
  if (df <= 0) fail(fn, `df must be positive (got ${df})`);
}

/** P(T <= t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  checkNumber('studentTCdf', 't', t);
  checkDf('studentTCdf', df);
  const tail = studentTUpperTail(Math.abs(t), df);
  return t < 0 ? tail : 1 - tail;
}

/** The t with P(T > t) = u, for 0 < u < 1, by safeguarded Newton on ln P(T > t) (for u < 1/2). */
function studentTUpperQuantile(u: number, df: number): number {
  if (u === 0.5) return 0;
  if (u > 0.5) return -studentTUpperQuantile(1 - u, df);
  const target = Math.log(u);
  const h = (t: number): [number, number] => {
    const tail = studentTUpperTail(t, df);
    return [target - Math.log(tail), studentTPdf(t, df) / tail];
  };
  const start = -normalQuantileUnchecked(u);
  let hi = Math.max(1, start);
  while (h(hi)[0] < 0) hi *= 2;
  return solveIncreasing(h, 0, hi, Math.min(start, hi));
}

/**
 * Returns the t for which P(T <= t) = p, for 0 < p < 1 and `df` > 0 degrees of freedom. It inverts
 * `studentTCdf` by Newton's method with a bisection safeguard. The relative error is about 1e-14 for df up to
 * 1e3, and about 1e-12 at 1e5 (see `regularizedIncompleteBeta`).
 */
export function studentTQuantile(p: number, df: number): number {
  checkLevel('studentTQuantile', 'p', p);
  checkDf('studentTQuantile', df);
  if (p === 0.5) return 0;
  return p < 0.5 ? -studentTUpperQuantile(p, df) : studentTUpperQuantile(1 - p, df);
}

// ---------------------------------------------------------------------------------------------------------
// Descriptive statistics

function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function quantileOfSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * The median of sorted values (the same as type 7 at p = 1/2). For even n it adds half of each middle value,
 * so negating the data negates the median exactly.
 */
function medianOfSorted(sorted: Float64Array): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : 0.5 * sorted[mid - 1] + 0.5 * sorted[mid];
}

/**
 * The p-quantile of `values` (0 <= p <= 1) by Hyndman & Fan's definition 7, R's default. Take h = (n - 1) p,
 * then interpolate linearly between the order statistics x_(floor h) and x_(ceil h), counted from 0. The
 * median is the usual one. Takes O(n log n) time.
 */
export function quantile(values: readonly number[], p: number): number {
  checkSample('quantile', 'values', values);
  checkNumber('quantile', 'p', p);
  if (p < 0 || p > 1) fail('quantile', `p must be in [0, 1] (got ${p})`);
  return quantileOfSorted(sortedCopy(values), p);
}

/** The median and its spread, with the kind of interval `summarize` could justify. */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly max: number;
  readonly median: number;
  readonly mean: number;
  /** The median or the mean, whichever was asked for. */
  readonly centre: number;
  /** Lower end of the interval. Absent for a single value. */
  readonly low?: number;
  /** Upper end of the interval. Absent for a single value. */
  readonly high?: number;
  /**
   * - `order-statistics`: a distribution-free interval for the median.
   * - `t`: a Student t interval for the mean.
   * - `range`: min..max, because n is too small for the level. It makes no claim of coverage.
   * - `single`: one value, so there is no interval.
   */
  readonly method: 'order-statistics' | 't' | 'range' | 'single';
  /**
   * For `order-statistics`, the exact coverage, which is at least the requested level. For `t`, the requested
   * level, exact only under normality. Absent otherwise.
   */
  readonly achievedLevel?: number;
}

/** The largest k with 2 P(B <= k - 1) <= 1 - level for B ~ binomial(n, 1/2), with its coverage, or k = 0. */
function medianOrderStatistic(n: number, level: number): { k: number; coverage: number } {
  const alpha = 1 - level + LEVEL_SLACK;
  // Each term is C(n, j) / 2^n. Up to n = 1000, 2^-n is a normal double, and for small n the recurrence is
  // exact. Past that, the terms are carried in logs.
  const useLogs = n > 1000;
  let logTerm = -n * Math.LN2;
  let term = useLogs ? Math.exp(logTerm) : 2 ** -n;
  let cumulative = 0;
  let k = 0;
  const kMax = Math.floor((n + 1) / 2);
  while (k < kMax) {
    const next = cumulative + term;
    if (2 * next > alpha) break;
    cumulative = next;
    k++;
    if (useLogs) {
      logTerm += Math.log((n - k + 1) / k);
      term = Math.exp(logTerm);
    } else {
      term = (term * (n - k + 1)) / k;
    }
  }
  return { k, coverage: 1 - 2 * cumulative };
}

/**
 * Summarizes one cell: n, min, max, median, mean, and an interval around the chosen centre.
 *
 * - `centre: 'median'` (the default) gives a distribution-free interval from order statistics
 *   [x_(k), x_(n+1-k)]. Its coverage is 1 - 2 P(B <= k - 1) for B ~ binomial(n, 1/2), and k is the largest
 *   whose coverage is at least `level`. That coverage is reported as `achievedLevel`. When even the full
 *   range falls short (n < 6 at 95%), the result is `range`: min..max, with no claim.
 * - `centre: 'mean'` gives the Student t interval mean ± t_{(1+level)/2, n-1} s / √n.
 *
 * A single value gives `single`, with no interval. Takes O(n log n) time.
 */
export function summarize(
  values: readonly number[],
  opts: { readonly centre?: 'median' | 'mean'; readonly level?: number } = {},
): Summary {
  const fn = 'summarize';
  checkSample(fn, 'values', values);
  const centreKind = opts.centre ?? 'median';
  if (centreKind !== 'median' && centreKind !== 'mean') {
    fail(fn, `opts.centre must be 'median' or 'mean' (got ${String(centreKind)})`);
  }
  const level = opts.level ?? 0.95;
  checkLevel(fn, 'opts.level', level);

  const sorted = sortedCopy(values);
  const n = sorted.length;
  const min = sorted[0];
  const max = sorted[n - 1];
  const median = medianOfSorted(sorted);
  const mean = meanOf(sorted);
  const base = { n, min, max, median, mean, centre: centreKind === 'mean' ? mean : median };
  if (n === 1) return { ...base, method: 'single' };

  if (centreKind === 'mean') {
    const sd = Math.sqrt(varianceOf(sorted, mean));
    const half = (studentTUpperQuantile((1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
    return { ...base, low: mean - half, high: mean + half, method: 't', achievedLevel: level };
  }
  const { k, coverage } = medianOrderStatistic(n, level);
  if (k === 0) return { ...base, low: min, high: max, method: 'range' };
  return {
    ...base,
    low: sorted[k - 1],
    high: sorted[n - k],
    method: 'order-statistics',
    achievedLevel: coverage,
  };
}

function meanOf(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** The sample variance (divisor n - 1), in two passes for accuracy. */
function varianceOf(values: ArrayLike<number>, mean: number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - mean) ** 2;
  return sum / (values.length - 1);
}

/** Mid-ranks (1-based, ties sharing the average rank) and the tie term Σ (t^3 - t) over groups of ties. */
function midRanks(values: Float64Array): { ranks: Float64Array; tieTerm: number } {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    const t = j - i;
    tieTerm += t * t * t - t;
    i = j;
  }
  return { ranks, tieTerm };
}

// ---------------------------------------------------------------------------------------------------------
// Exact null distributions (memoized; a memo never changes a result)

const MEMO_LIMIT = 256;
const mannWhitneyMemo = new Map<string, Float64Array>();
const signedRankMemo = new Map<number, Float64Array>();

function remember<K>(memo: Map<K, Float64Array>, key: K, value: Float64Array): Float64Array {
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as K);
  memo.set(key, value);
  return value;
}

/** Turns counts into the cumulative distribution P(X <= k). Exact while the counts stay below 2^53. */
function cumulativeOf(counts: Float64Array): Float64Array {
  let total = 0;
  for (const c of counts) total += c;
  const cdf = new Float64Array(counts.length);
  let running = 0;
  for (let k = 0; k < counts.length; k++) {
    running += counts[k];
    cdf[k] = running / total;
  }
  return cdf;
}

/**
 * P(U <= k) for k = 0..n1 n2, where U counts the pairs (x, y) with x from the first sample above y from the
 * second, under H0 and without ties. The distribution depends on the sizes only, and is the same for (n1, n2)
 * and (n2, n1).
 *
 * Let f(i, j, k) count the arrangements of i x's and j y's with U = k. The largest value is either an x
 * (above all j y's) or a y, so f(i, j, k) = f(i - 1, j, k - j) + f(i, j - 1, k). That costs O((n1 n2)^2 / 4)
 * additions of positive numbers (so no cancellation) and O(min(n1, n2)^2 max(n1, n2)) memory.
 */
function mannWhitneyCdf(n1: number, n2: number): Float64Array {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  const key = `${m},${n}`;
  const known = mannWhitneyMemo.get(key);
  if (known) return known;
  // counts[i] holds f(i, j, ·) for the current j.
  const counts: Float64Array[] = [];
  for (let i = 0; i <= m; i++) counts.push(Float64Array.of(1));
  for (let j = 1; j <= n; j++) {
    for (let i = 1; i <= m; i++) {
      const previous = counts[i];
      const shorter = counts[i - 1];
      const next = new Float64Array(i * j + 1);
      next.set(previous);
      for (let k = 0; k < shorter.length; k++) next[k + j] += shorter[k];
      counts[i] = next;
    }
  }
  return remember(mannWhitneyMemo, key, cumulativeOf(counts[m]));
}

/**
 * P(V <= k) for k = 0..n(n+1)/2, where V is the sum of the ranks 1..n that carry a plus sign, each sign fair
 * and independent. Computed by the subset-sum recurrence over ranks, in O(n^3 / 2) additions.
 */
function signedRankCdf(n: number): Float64Array {
  const known = signedRankMemo.get(n);
  if (known) return known;
  const total = (n * (n + 1)) / 2;
  const counts = new Float64Array(total + 1);
  counts[0] = 1;
  let reach = 0;
  for (let r = 1; r <= n; r++) {
    reach += r;
    for (let s = reach; s >= r; s--) counts[s] += counts[s - r];
  }
  return remember(signedRankMemo, n, cumulativeOf(counts));
}

function tailsToP(lower: number, upper: number, alternative: Alternative): number {
  if (alternative === 'less') return lower;
  if (alternative === 'greater') return upper;
  return Math.min(1, 2 * Math.min(lower, upper));
}

/**
 * The normal approximation for a statistic with the given null mean and variance, with the continuity
 * correction (half a unit towards the mean) that R applies.
 */
function normalApproximation(
  statistic: number,
  mean: number,
  variance: number,
  alternative: Alternative,
): { p: number; z?: number } {
  if (variance <= 0) return { p: 1 };
  const diff = statistic - mean;
  const correction =
    alternative === 'two-sided' ? Math.sign(diff) * 0.5 : alternative === 'greater' ? 0.5 : -0.5;
  const z = (diff - correction) / Math.sqrt(variance);
  const p =
    alternative === 'greater'
      ? normalCdf(-z)
      : alternative === 'less'
        ? normalCdf(z)
        : Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { p, z };
}

// ---------------------------------------------------------------------------------------------------------
// Two-sample and paired tests

/** The outcome of `mannWhitneyU`. */
export interface MannWhitneyResult {
  /** min(uA, uB), the statistic that classical tables list. */
  readonly u: number;
  /** Pairs (a_i, b_j) with a_i > b_j, ties counting 1/2. This is R's `W` for `wilcox.test(a, b)`. */
  readonly uA: number;
  /** Pairs with b_j > a_i, ties counting 1/2; uA + uB = n1 n2. Large when b tends to be larger. */
  readonly uB: number;
  readonly p: number;
  readonly method: 'exact' | 'normal';
  /**
   * For `normal`: (uB - n1 n2 / 2 ∓ 1/2) / σ, positive when b tends to be larger. Absent when every value is
   * the same (σ = 0, p = 1).
   */
  readonly z?: number;
}

/**
 * The Mann-Whitney U test (the Wilcoxon rank-sum test) of a (baseline) against b. `alternative: 'greater'`
 * asks whether b tends to be larger: p = P(U >= uB) under H0.
 *
 * The p-value is exact when there are no ties and n1 n2 <= `MANN_WHITNEY_EXACT_LIMIT`. Otherwise it uses the
 * normal approximation with the tie-corrected variance n1 n2 / 12 · (N + 1 - Σ(t^3 - t) / (N (N - 1))) and a
 * continuity correction, as R does. A two-sided p is twice the smaller tail, capped at 1.
 *
 * Takes O(N log N) time for N = n1 + n2. The first exact test of a size pair also builds its null
 * distribution (see `MANN_WHITNEY_EXACT_LIMIT`), which is memoized.
 */
export function mannWhitneyU(
  a: readonly number[],
  b: readonly number[],
  opts: { readonly alternative?: Alternative } = {},
): MannWhitneyResult {
  const fn = 'mannWhitneyU';
  checkSample(fn, 'a', a);
  checkSample(fn, 'b', b);
  const alternative = opts.alternative ?? 'two-sided';
  checkAlternative(fn, alternative);
  const n1 = a.length;
  const n2 = b.length;
  const pooled = new Float64Array(n1 + n2);
  pooled.set(a);
  pooled.set(b, n1);
  const { ranks, tieTerm } = midRanks(pooled);
  let rankSumA = 0;
  for (let i = 0; i < n1; i++) rankSumA += ranks[i];
  const uA = rankSumA - (n1 * (n1 + 1)) / 2;
  const uB = n1 * n2 - uA;
  const u = Math.min(uA, uB);

  if (tieTerm === 0 && n1 * n2 <= MANN_WHITNEY_EXACT_LIMIT) {
    const cdf = mannWhitneyCdf(n1, n2);
    // The null distribution is symmetric about n1 n2 / 2, so P(U >= uB) = P(U <= uA). No subtraction is
    // needed.
    const p = tailsToP(cdf[uB], cdf[uA], alternative);
    return { u, uA, uB, p, method: 'exact' };
  }
  const N = n1 + n2;
  const variance = ((n1 * n2) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  return { u, uA, uB, ...normalApproximation(uB, (n1 * n2) / 2, variance, alternative), method: 'normal' };
}

/** The outcome of `hodgesLehmann`. */
export interface HodgesLehmannResult {
  /** Median of all differences b_j - a_i: how far b sits above the baseline a. */
  readonly shift: number;
  readonly low: number;
  readonly high: number;
  /**
   * - `exact`: the interval's ends come from the exact Mann-Whitney null distribution.
   * - `normal`: n1 n2 is above `MANN_WHITNEY_EXACT_LIMIT`, so they come from its normal approximation.
   * - `range`: the samples are too small for the level, so this is the full range of differences, with no
   *   claim of coverage.
   */
  readonly method: 'exact' | 'normal' | 'range';
  /** For `exact`: the coverage 1 - 2 P(U <= k - 1), at least the level asked for. Absent otherwise. */
  readonly achievedLevel?: number;
}

/**
 * The Hodges-Lehmann estimate of the shift from a (baseline) to b, with its distribution-free confidence
 * interval. The estimate is the median of the n1 n2 differences b_j - a_i. The interval is
 * [D_(k), D_(n1 n2 + 1 - k)] over the sorted differences, where k is the largest with
 * 2 P(U <= k - 1) <= 1 - level (Hollander & Wolfe, ch. 4). This matches R's
 * `wilcox.test(b, a, conf.int = TRUE)` in the exact case.
 *
 * Past `MANN_WHITNEY_EXACT_LIMIT`, k = floor(n1 n2 / 2 + 1/2 - z σ) with σ² = n1 n2 (n1 + n2 + 1) / 12. When
 * no k >= 1 reaches the level (for example 3 vs 3 at 95%), the result is `range`.
 *
 * Takes O(n1 n2 log(n1 n2)) time and O(n1 n2) memory: every difference is formed and sorted.
 */
export function hodgesLehmann(a: readonly number[], b: readonly number[], level = 0.95): HodgesLehmannResult {
  const fn = 'hodgesLehmann';
  checkSample(fn, 'a', a);
  checkSample(fn, 'b', b);
  checkLevel(fn, 'level', level);
  const n1 = a.length;
  const n2 = b.length;
  const N = n1 * n2;
  const diffs = new Float64Array(N);
  for (let j = 0; j < n2; j++) for (let i = 0; i < n1; i++) diffs[j * n1 + i] = b[j] - a[i];
  diffs.sort();
  const shift = medianOfSorted(diffs);
  const alpha = 1 - level + LEVEL_SLACK;
  const kMax = Math.floor((N + 1) / 2);

  let k: number;
  let method: 'exact' | 'normal';
  let achievedLevel: number | undefined;
  if (N <= MANN_WHITNEY_EXACT_LIMIT) {
    const cdf = mannWhitneyCdf(n1, n2);
    k = 0;
    while (k < kMax && 2 * cdf[k] <= alpha) k++;
    method = 'exact';
    if (k > 0) achievedLevel = 1 - 2 * cdf[k - 1];
  } else {
    const z = -normalQuantileUnchecked((1 - level) / 2);
    k = Math.min(kMax, Math.floor(N / 2 + 0.5 - z * Math.sqrt((N * (n1 + n2 + 1)) / 12)));
    method = 'normal';
  }
  if (k < 1) return { shift, low: diffs[0], high: diffs[N - 1], method: 'range' };
  const result = { shift, low: diffs[k - 1], high: diffs[N - k], method };
  return achievedLevel === undefined ? result : { ...result, achievedLevel };
}

/** The outcome of `welchT`. */
export interface WelchResult {
  readonly t: number;
  /** Welch-Satterthwaite degrees of freedom; not necessarily whole. */
  readonly df: number;
  readonly p: number;
  /** mean(b) - mean(a). */
  readonly meanDiff: number;
  /** Confidence bounds for mean(b) - mean(a). -Infinity or Infinity on the open side of a one-sided test. */
  readonly low: number;
  readonly high: number;
}

/**
 * Welch's unequal-variance t test of mean(b) - mean(a), with t = (mean b - mean a) / √(s_a²/n_a + s_b²/n_b),
 * Welch-Satterthwaite df, and the matching confidence interval at `level`. For a one-sided alternative the
 * interval is one-sided too, as in R. Each sample needs at least 2 values. Two constant samples are refused,
 * as in R, because t is undefined. Takes O(n) time.
 */
export function welchT(
  a: readonly number[],
  b: readonly number[],
  alternative: Alternative = 'two-sided',
  level = 0.95,
): WelchResult {
  const fn = 'welchT';
  checkSample(fn, 'a', a, 2);
  checkSample(fn, 'b', b, 2);
  checkAlternative(fn, alternative);
  checkLevel(fn, 'level', level);
  const meanA = meanOf(a);
  const meanB = meanOf(b);
  const sa = varianceOf(a, meanA) / a.length;
  const sb = varianceOf(b, meanB) / b.length;
  const se2 = sa + sb;
  if (se2 === 0) fail(fn, 'a and b are both constant, so t is undefined');
  const se = Math.sqrt(se2);
  const meanDiff = meanB - meanA;
  const t = meanDiff / se;
  const df = (se2 * se2) / ((sa * sa) / (a.length - 1) + (sb * sb) / (b.length - 1));
  const upper = t >= 0 ? studentTUpperTail(t, df) : 1 - studentTUpperTail(-t, df);
  const lower = t <= 0 ? studentTUpperTail(-t, df) : 1 - studentTUpperTail(t, df);
  const p = tailsToP(lower, upper, alternative);
  if (alternative === 'two-sided') {
    const half = studentTUpperQuantile((1 - level) / 2, df) * se;
    return { t, df, p, meanDiff, low: meanDiff - half, high: meanDiff + half };
  }
  const half = studentTUpperQuantile(1 - level, df) * se;
  return alternative === 'greater'
    ? { t, df, p, meanDiff, low: meanDiff - half, high: Infinity }
    : { t, df, p, meanDiff, low: -Infinity, high: meanDiff + half };
}

/** The outcome of `wilcoxonSignedRank`. */
export interface SignedRankResult {
  /** Sum of the ranks of |d| over the positive differences d = b - a (R's `V`). */
  readonly w: number;
  readonly p: number;
  readonly method: 'exact' | 'normal';
  /** Number of non-zero differences, the ones that were ranked. */
  readonly n: number;
  /** For `normal`: (w - n(n+1)/4 ∓ 1/2) / σ, positive when b tends to be larger. */
  readonly z?: number;
}

/**
 * Wilcoxon's signed-rank test on paired values `[a, b]` (baseline first), with differences d = b - a.
 * `alternative: 'greater'` asks whether b tends to be larger. Zero differences are dropped (Wilcoxon's
 * method, R's default). Ties are exact equality of the computed differences, with no rounding.
 *
 * The p-value is exact when no |d| are tied and at most `SIGNED_RANK_EXACT_LIMIT` remain. R switches to the
 * normal approximation whenever there are zeros. Here the exact distribution is still used, because given
 * which differences are zero, the signs of the others are fair coins under H0. Otherwise the normal
 * approximation applies, with variance n(n+1)(2n+1)/24 - Σ(t^3 - t)/48 and a continuity correction.
 *
 * When every difference is zero, n = 0, w = 0 and p = 1, reported as exact. Takes O(n log n) time, plus a
 * memoized O(n^3) table for the first exact test of each n.
 */
export function wilcoxonSignedRank(
  pairs: readonly (readonly [number, number])[],
  alternative: Alternative = 'two-sided',
): SignedRankResult {
  const fn = 'wilcoxonSignedRank';
  const given: unknown = pairs;
  if (!Array.isArray(given)) fail(fn, 'pairs must be an array of [a, b] pairs');
  if (pairs.length === 0) fail(fn, 'pairs must hold at least one pair (got 0)');
  checkAlternative(fn, alternative);
  const nonZero: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    if (!Array.isArray(pair) || pair.length !== 2) fail(fn, `pairs[${i}] must be a pair [a, b]`);
    checkNumber(fn, `pairs[${i}][0]`, pair[0]);
    checkNumber(fn, `pairs[${i}][1]`, pair[1]);
    const d = pair[1] - pair[0];
    if (d !== 0) nonZero.push(d);
  }
  const n = nonZero.length;
  if (n === 0) return { w: 0, p: 1, method: 'exact', n: 0 };
  const { ranks, tieTerm } = midRanks(Float64Array.from(nonZero, Math.abs));
  let w = 0;
  for (let i = 0; i < n; i++) if (nonZero[i] > 0) w += ranks[i];
  const total = (n * (n + 1)) / 2;

  if (tieTerm === 0 && n <= SIGNED_RANK_EXACT_LIMIT) {
    const cdf = signedRankCdf(n);
    // Symmetric about total / 2: P(V >= w) = P(V <= total - w).
    return { w, p: tailsToP(cdf[w], cdf[total - w], alternative), method: 'exact', n };
  }
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  return { w, ...normalApproximation(w, total / 2, variance, alternative), method: 'normal', n };
}

// ---------------------------------------------------------------------------------------------------------
// Multiple comparisons and design

/**
 * Adjusts p-values for multiple comparisons, returning them in the order given.
 * - `holm`: Holm's step-down. The i-th smallest becomes max over j <= i of min(1, (m - j + 1) p_(j)).
 * - `bh`: Benjamini-Hochberg's step-up (false discovery rate). The i-th smallest becomes min over j >= i of
 *   min(1, m p_(j) / j).
 *
 * Both keep the order of the raw p-values, never go below them, and are capped at 1 (as R's `p.adjust`).
 * Takes O(m log m) time.
 */
export function adjustPValues(ps: readonly number[], method: 'holm' | 'bh'): number[] {
  const fn = 'adjustPValues';
  checkSample(fn, 'ps', ps, 0);
  for (let i = 0; i < ps.length; i++) {
    if (ps[i] < 0 || ps[i] > 1) fail(fn, `ps[${i}] must be in [0, 1] (got ${ps[i]})`);
  }
  if (method !== 'holm' && method !== 'bh') fail(fn, `method must be 'holm' or 'bh' (got ${String(method)})`);
  const m = ps.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => ps[i] - ps[j] || i - j);
  const adjusted = new Array<number>(m);
  if (method === 'holm') {
    let running = 0;
    for (let r = 0; r < m; r++) {
      running = Math.max(running, Math.min(1, (m - r) * ps[order[r]]));
      adjusted[order[r]] = running;
    }
  } else {
    let running = 1;
    for (let r = m - 1; r >= 0; r--) {
      running = Math.min(running, Math.min(1, (m / (r + 1)) * ps[order[r]]));
      adjusted[order[r]] = running;
    }
  }
  return adjusted;
}

/**
 * The smallest p-value the exact Mann-Whitney test can give for sizes n1 and n2. It comes from complete
 * separation: 1 / C(n1 + n2, n1) one-sided, twice that (capped at 1) two-sided. For example, 3 vs 3 gives
 * 0.1 and 4 vs 4 gives 2/70 two-sided. A design whose value is not below alpha can never be significant at
 * alpha, whatever the data. Takes O(min(n1, n2)) time.
 */
export function minimumAchievableP(n1: number, n2: number, alternative: Alternative = 'two-sided'): number {
  const fn = 'minimumAchievableP';
  checkCount(fn, 'n1', n1);
  checkCount(fn, 'n2', n2);
  checkAlternative(fn, alternative);
  return minimumP(n1, n2, alternative);
}

function minimumP(n1: number, n2: number, alternative: Alternative): number {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  // C(n + m, m) as a running product. Each partial product C(n + i, i) is a whole number, so it stays exact
  // while the products stay below 2^53. An overflow to Infinity gives p = 0, which is right for any alpha.
  let ways = 1;
  for (let i = 1; i <= m && Number.isFinite(ways); i++) ways = (ways * (n + i)) / i;
  const oneSided = 1 / ways;
  return alternative === 'two-sided' ? Math.min(1, 2 * oneSided) : oneSided;
}

/**
 * The smallest number of repetitions n for which the exact Mann-Whitney test can reach p < alpha at all,
 * with n per group, or n against a fixed other group of size `n2`. For example, alpha = 0.05 two-sided needs
 * 4 vs 4, since 3 vs 3 cannot go below 0.1. This is a floor, not a power calculation: reaching significance
 * also needs a real, large enough difference. Takes O(log(n) · min(n, n2)) time, by exponential then binary
 * search over the monotone `minimumAchievableP`.
 */
export function smallestNForSignificance(
  alpha: number,
  n2?: number,
  alternative: Alternative = 'two-sided',
): number {
  const fn = 'smallestNForSignificance';
  checkNumber(fn, 'alpha', alpha);
  if (!(alpha > 0 && alpha <= 1)) fail(fn, `alpha must be in (0, 1] (got ${alpha})`);
  if (n2 !== undefined) checkCount(fn, 'n2', n2);
  checkAlternative(fn, alternative);
  const reaches = (n: number): boolean => minimumP(n, n2 ?? n, alternative) < alpha;
  let hi = 1;
  while (!reaches(hi)) {
    hi *= 2;
    if (hi > Number.MAX_SAFE_INTEGER)
      fail(fn, `no n up to 2^53 reaches p < ${alpha} against a group of ${n2 ?? 'n'}`);
  }
  let lo = Math.floor(hi / 2);
  // Invariant: reaches(hi), and lo = 0 or !reaches(lo).
  if (hi === 1) return 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
