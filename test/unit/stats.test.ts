import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alternative } from '../../src/report/stats.ts';
import {
  adjustPValues,
  erfc,
  hodgesLehmann,
  logGamma,
  mannWhitneyU,
  minimumAchievableP,
  normalCdf,
  normalQuantile,
  quantile,
  regularizedIncompleteBeta,
  smallestNForSignificance,
  studentTCdf,
  studentTQuantile,
  summarize,
  welchT,
  wilcoxonSignedRank,
} from '../../src/report/stats.ts';

/** |actual - expected| <= tol, relative to |expected| when that is above 1. */
function near(actual: number | undefined, expected: number, tol: number, label = ''): void {
  assert.ok(actual !== undefined, `${label}: undefined`);
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${label}: got ${actual}, expected ${expected} (tol ${tol})`,
  );
}

/** Relative closeness, for values far below 1 (tails). */
function nearRel(actual: number, expected: number, tol: number, label = ''): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.abs(expected),
    `${label}: got ${actual}, expected ${expected} (rel tol ${tol})`,
  );
}

/** A fixed pseudo-random sequence in [0, 1), so property tests see the same data every run. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** The permutation p-value of U by listing every split of the pooled values: independent of the module. */
function enumeratedMannWhitneyP(a: number[], b: number[], alternative: Alternative): number {
  const pooled = [...a, ...b];
  const statistic = (xs: number[], ys: number[]): number => {
    let count = 0;
    for (const y of ys) for (const x of xs) count += y > x ? 1 : y === x ? 0.5 : 0;
    return count;
  };
  const observed = statistic(a, b);
  let atMost = 0;
  let atLeast = 0;
  let total = 0;
  for (let mask = 0; mask < 1 << pooled.length; mask++) {
    const xs = pooled.filter((_, i) => (mask >> i) & 1);
    if (xs.length !== a.length) continue;
    const ys = pooled.filter((_, i) => !((mask >> i) & 1));
    const s = statistic(xs, ys);
    total++;
    if (s <= observed) atMost++;
    if (s >= observed) atLeast++;
  }
  if (alternative === 'less') return atMost / total;
  if (alternative === 'greater') return atLeast / total;
  return Math.min(1, (2 * Math.min(atMost, atLeast)) / total);
}

/** The sign-flip p-value of the signed-rank sum (untied |d|), by listing all 2^n sign patterns. */
function enumeratedSignedRankP(d: number[], alternative: Alternative): number {
  const byMagnitude = [...d].sort((x, y) => Math.abs(x) - Math.abs(y));
  const observed = byMagnitude.reduce((sum, x, i) => sum + (x > 0 ? i + 1 : 0), 0);
  let atMost = 0;
  let atLeast = 0;
  const total = 2 ** d.length;
  for (let mask = 0; mask < total; mask++) {
    let w = 0;
    for (let i = 0; i < d.length; i++) if ((mask >> i) & 1) w += i + 1;
    if (w <= observed) atMost++;
    if (w >= observed) atLeast++;
  }
  if (alternative === 'less') return atMost / total;
  if (alternative === 'greater') return atLeast / total;
  return Math.min(1, (2 * Math.min(atMost, atLeast)) / total);
}

// Data sets with published results.
// Hollander & Wolfe (1973), Nonparametric Statistical Methods, pp. 69f. (as cited in R's ?wilcox.test, which
// has the data): permeability constants of the human chorioamnion at term (R's x, here b) and at 12-26 weeks
// (R's y, here a).
const permeabilityTerm = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const permeabilityEarly = [1.15, 0.88, 0.9, 0.74, 1.21];
// Hollander & Wolfe (1973), pp. 29f. (as cited in R's ?wilcox.test): Hamilton depression scale of 9
// patients at the first (R's x) and second (R's y) visit after starting a tranquilizer. R tests x - y, so
// here a = second and b = first.
const depressionFirst = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
const depressionSecond = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
// Student (1908), Cushny & Peebles' extra hours of sleep under two drugs: R's datasets::sleep, group 1 (a)
// and group 2 (b).
const sleep1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const sleep2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe('special functions', () => {
  // [what, computed, reference, tolerance]. Sources:
  // - exact identities: Γ(1/2) = √π, Γ(n) = (n-1)!, I_x(1, b) = 1 - (1-x)^b, I_x(a, 1) = x^a,
  //   I_1/2(a, a) = 1/2, the Cauchy (t_1) CDF 1/2 + atan(t)/π and quantile tan(π(p - 1/2)), and the t_2 CDF
  //   1/2 + t / (2 √(2 + t²)) and quantile (2p - 1) / √(2p(1 - p));
  // - the other reference values were computed with mpmath 1.3.0 at 30 significant digits (erf(1) agrees
  //   with the 0.8427007929 printed in standard tables).
  const cases: [string, number, number, number][] = [
    ['lnΓ(1/2)', logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14],
    ['lnΓ(1)', logGamma(1), 0, 1e-14],
    ['lnΓ(2)', logGamma(2), 0, 1e-14],
    ['lnΓ(10) = ln 9!', logGamma(10), Math.log(362880), 1e-14],
    ['lnΓ(100) (mpmath)', logGamma(100), 359.13420536957539878, 1e-14],
    ['lnΓ(1e-8) (mpmath)', logGamma(1e-8), 18.420680738180208905, 1e-14],
    ['erfc(0)', erfc(0), 1, 1e-15],
    ['1 - erfc(1) = erf(1) (mpmath)', 1 - erfc(1), 0.842700792949715, 1e-14],
    ['erfc(-1) = 1 + erf(1)', erfc(-1), 1.842700792949715, 1e-14],
    ['Φ(1.96) (mpmath)', normalCdf(1.96), 0.97500210485177956379, 1e-14],
    ['Φ(-1) (mpmath)', normalCdf(-1), 0.15865525393145705141, 1e-14],
    ['Φ(0)', normalCdf(0), 0.5, 1e-15],
    ['Φ^-1(0.975) (mpmath)', normalQuantile(0.975), 1.959963984540054, 1e-13],
    ['Φ^-1(1e-10) (mpmath)', normalQuantile(1e-10), -6.361340902404056, 1e-13],
    ['Φ^-1(0.5)', normalQuantile(0.5), 0, 1e-15],
    ['I_0.3(1, 5)', regularizedIncompleteBeta(0.3, 1, 5), 1 - 0.7 ** 5, 1e-14],
    ['I_0.3(4, 1)', regularizedIncompleteBeta(0.3, 4, 1), 0.3 ** 4, 1e-14],
    ['I_0.5(7, 7)', regularizedIncompleteBeta(0.5, 7, 7), 0.5, 1e-14],
    ['I_0.5(40.5, 40.5)', regularizedIncompleteBeta(0.5, 40.5, 40.5), 0.5, 1e-13],
    ['I_0 and I_1', regularizedIncompleteBeta(0, 2, 3) + regularizedIncompleteBeta(1, 2, 3), 1, 1e-15],
    ['t_1 CDF at 2 (Cauchy)', studentTCdf(2, 1), 0.5 + Math.atan(2) / Math.PI, 1e-14],
    ['t_1 CDF at -30 (Cauchy)', studentTCdf(-30, 1), 0.5 + Math.atan(-30) / Math.PI, 1e-14],
    ['t_2 CDF at -2', studentTCdf(-2, 2), 0.5 - 2 / (2 * Math.sqrt(6)), 1e-14],
    ['t_2 CDF at 0', studentTCdf(0, 2), 0.5, 1e-15],
    ['t_1 quantile 0.975 = tan(0.475π)', studentTQuantile(0.975, 1), Math.tan(0.475 * Math.PI), 1e-13],
    ['t_2 quantile 0.975', studentTQuantile(0.975, 2), 0.95 / Math.sqrt(2 * 0.975 * 0.025), 1e-13],
    ['t_2 quantile 0.1', studentTQuantile(0.1, 2), -0.8 / Math.sqrt(2 * 0.1 * 0.9), 1e-13],
    // 2.262 and 2.750 in any printed t table (e.g. Fisher & Yates); full digits from mpmath.
    ['t_9 quantile 0.975', studentTQuantile(0.975, 9), 2.262157162798205, 1e-13],
    ['t_30 quantile 0.995', studentTQuantile(0.995, 30), 2.7499956535672254, 1e-13],
  ];
  for (const [what, computed, reference, tol] of cases) {
    it(`${what} = ${reference}`, () => near(computed, reference, tol, what));
  }

  it('keeps relative accuracy deep in the tails (mpmath references)', () => {
    nearRel(erfc(5), 1.5374597944280348502e-12, 1e-13, 'erfc(5)');
    nearRel(normalCdf(-10), 7.619853024160526066e-24, 1e-13, 'Φ(-10)');
  });

  it('agrees with a binomial tail summed directly: I_p(k, n-k+1) = P(Bin(n, p) >= k)', () => {
    for (const [n, p, k] of [
      [20, 0.3, 7],
      [10, 0.5, 3],
      [50, 0.9, 44],
      [7, 0.01, 1],
    ]) {
      let tail = 0;
      let choose = 1;
      for (let i = 0; i <= n; i++) {
        if (i >= k) tail += choose * p ** i * (1 - p) ** (n - i);
        choose = (choose * (n - i)) / (i + 1);
      }
      near(regularizedIncompleteBeta(p, k, n - k + 1), tail, 1e-13, `n=${n} p=${p} k=${k}`);
    }
  });

  // Positive arguments stay small: near a CDF of 1, the round trip is limited by the spacing of doubles.
  it('inverts its CDFs (round trips)', () => {
    for (const z of [-30, -8, -3, -1.5, -0.1, 0.3, 2]) near(normalQuantile(normalCdf(z)), z, 1e-9, `z=${z}`);
    for (const df of [1, 2.5, 4, 17.7, 200]) {
      for (const t of [-40, -2, -0.5, 0.7, 3]) {
        near(studentTQuantile(studentTCdf(t, df), df), t, 1e-8, `t=${t} df=${df}`);
      }
    }
  });
});

describe('quantile (Hyndman & Fan type 7, R default)', () => {
  // By hand from the definition: h = (n - 1) p, interpolate between x_(floor h) and x_(ceil h).
  const ten = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
  const cases: [number[], number, number][] = [
    [ten, 0, 1],
    [ten, 1, 10],
    [ten, 0.5, 5.5],
    [ten, 0.25, 3.25],
    [ten, 0.9, 9.1],
    [[7], 0.3, 7],
    [[1, 3], 0.5, 2],
    [[4, 1, 2], 0.5, 2],
  ];
  for (const [values, p, expected] of cases) {
    it(`quantile(${JSON.stringify(values)}, ${p}) = ${expected}`, () =>
      near(quantile(values, p), expected, 1e-15));
  }
});

describe('summarize', () => {
  const oneToTen = [3, 1, 4, 10, 5, 9, 2, 6, 8, 7];
  const oneToTwenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  // Median intervals [x_(k), x_(n+1-k)] with coverage 1 - 2 P(B <= k-1), B ~ binomial(n, 1/2), summed by
  // hand. This is the sign-test interval for the median in Conover (1999), Practical Nonparametric
  // Statistics.
  // n = 10: P(B <= 1) = 11/1024 and P(B <= 2) = 56/1024, so k = 2 and the coverage is 1 - 22/1024.
  // n = 20: P(B <= 5) = 21700/2^20 and P(B <= 6) = 60460/2^20, so k = 6.
  // n = 6: the full range covers 1 - 2/64. n = 5: 1 - 2/32 < 0.95, but >= 0.9.
  const cases: [string, number[], { centre?: 'median' | 'mean'; level?: number }, object][] = [
    [
      'n=10',
      oneToTen,
      {},
      { low: 2, high: 9, method: 'order-statistics', achievedLevel: 1 - 22 / 1024, median: 5.5, centre: 5.5 },
    ],
    [
      'n=20',
      oneToTwenty,
      {},
      { low: 6, high: 15, method: 'order-statistics', achievedLevel: 1 - 43400 / 2 ** 20 },
    ],
    [
      'n=6',
      [6, 5, 4, 3, 2, 1],
      {},
      { low: 1, high: 6, method: 'order-statistics', achievedLevel: 1 - 2 / 64 },
    ],
    ['n=5 at 95%', [5, 1, 4, 2, 3], {}, { low: 1, high: 5, method: 'range', achievedLevel: undefined }],
    ['n=5 at 90%', [5, 1, 4, 2, 3], { level: 0.9 }, { low: 1, high: 5, achievedLevel: 1 - 2 / 32 }],
    ['n=10 at 80%', oneToTen, { level: 0.8 }, { low: 3, high: 8, achievedLevel: 1 - 112 / 1024 }],
    [
      'n=1',
      [4.5],
      {},
      { n: 1, min: 4.5, max: 4.5, median: 4.5, low: undefined, high: undefined, method: 'single' },
    ],
    [
      'n=1, mean',
      [4.5],
      { centre: 'mean' },
      { centre: 4.5, low: undefined, high: undefined, method: 'single', achievedLevel: undefined },
    ],
    // R: t.test(1:10) prints "95 percent confidence interval: 3.334149 7.665851". Full digits from
    // SciPy 1.17.1.
    [
      'mean of 1..10',
      oneToTen,
      { centre: 'mean' },
      { centre: 5.5, low: 3.334149410331831, high: 7.665850589668169, method: 't', achievedLevel: 0.95 },
    ],
    ['constant, mean', [2, 2, 2], { centre: 'mean' }, { low: 2, high: 2, method: 't' }],
    [
      'constant, median',
      [2, 2, 2, 2, 2, 2, 2],
      {},
      { low: 2, high: 2, median: 2, method: 'order-statistics' },
    ],
  ];
  for (const [what, values, opts, expected] of cases) {
    it(`${what}: ${JSON.stringify(expected)}`, () => {
      const s = summarize(values, opts);
      for (const [key, value] of Object.entries(expected) as [keyof typeof s, unknown][]) {
        if (typeof value === 'number') near(s[key] as number, value, 1e-12, `${what} ${key}`);
        else assert.equal(s[key], value, `${what} ${key}`);
      }
    });
  }

  it('reports n, min, max, median and mean, whatever the order of the input', () => {
    const s = summarize([5, -1, 3, 3, 10]);
    assert.deepEqual(
      { n: s.n, min: s.min, max: s.max, median: s.median, mean: s.mean },
      { n: 5, min: -1, max: 10, median: 3, mean: 4 },
    );
  });

  it('needs n >= 6 for a 95% median interval, and then reaches the level', () => {
    for (let n = 2; n <= 60; n++) {
      const s = summarize(
        Array.from({ length: n }, (_, i) => i),
        { level: 0.95 },
      );
      assert.equal(s.method, n < 6 ? 'range' : 'order-statistics', `n=${n}`);
      if (s.achievedLevel !== undefined) assert.ok(s.achievedLevel >= 0.95, `n=${n}`);
    }
  });

  // SciPy 1.17.1 binom.cdf: the largest k with 2 P(B <= k - 1) <= 0.05 for n = 2001 is 957, with coverage
  // 0.9508724843431975.
  it('carries large n through the log-space binomial (n = 2001)', () => {
    const n = 2001;
    const s = summarize(Array.from({ length: n }, (_, i) => i));
    assert.equal(s.method, 'order-statistics');
    assert.equal(s.low, 956);
    assert.equal(s.high, n - 957);
    near(s.achievedLevel, 0.9508724843431975, 1e-11);
  });
});

describe('mannWhitneyU', () => {
  it('3 vs 3 fully separated: uA = 0, uB = 9, two-sided p = 2/20 = 0.1 exactly', () => {
    const r = mannWhitneyU([1, 2, 3], [4, 5, 6]);
    assert.deepEqual(
      { u: r.u, uA: r.uA, uB: r.uB, method: r.method },
      { u: 0, uA: 0, uB: 9, method: 'exact' },
    );
    near(r.p, 0.1, 1e-12);
    near(mannWhitneyU([1, 2, 3], [4, 5, 6], { alternative: 'greater' }).p, 0.05, 1e-12);
    near(mannWhitneyU([1, 2, 3], [4, 5, 6], { alternative: 'less' }).p, 1, 1e-12);
  });

  it('4 vs 4 fully separated: two-sided p = 2/70', () => {
    near(mannWhitneyU([1, 2, 3, 4], [5, 6, 7, 8]).p, 2 / 70, 1e-12);
  });

  // For 4 vs 4 the counts of U = 0..8 are the coefficients of the Gaussian binomial [8 choose 4]_q
  // (partitions of u into at most 4 parts of at most 4): 1, 1, 2, 3, 5, 5, 7, 7, 8, listed by hand. So
  // P(U <= u) = 1, 2, 4, 7, 12, 17, 24, 31, 39 over 70 (0.014, 0.029, 0.057, 0.100, ... in printed U tables).
  // The samples are ranks: a = {1, 2, 3, 4 + u} for u <= 4, and {1, 2, u - 1, 8} above, so that uA = u.
  const cumulative = [1, 2, 4, 7, 12, 17, 24, 31, 39];
  for (let u = 0; u <= 8; u++) {
    it(`4 vs 4: P(U <= ${u}) = ${cumulative[u]}/70`, () => {
      const a = u <= 4 ? [1, 2, 3, 4 + u] : [1, 2, u - 1, 8];
      const b = [1, 2, 3, 4, 5, 6, 7, 8].filter((x) => !a.includes(x));
      const r = mannWhitneyU(a, b, { alternative: 'greater' });
      assert.equal(r.uA, u);
      near(r.p, cumulative[u] / 70, 1e-12);
    });
  }

  // R's ?wilcox.test example, from Hollander & Wolfe (1973, pp. 69f.): wilcox.test(x, y, alternative = "g")
  // prints W = 35, p-value = 0.1272. The exact value, 382/3003, is the number of the 3003 rank arrangements
  // with U <= 15. It was counted by listing them all (in Python, independently of this module).
  it('Hollander & Wolfe permeability: uB = 35, one-sided p = 382/3003', () => {
    const r = mannWhitneyU(permeabilityEarly, permeabilityTerm, { alternative: 'greater' });
    assert.deepEqual(
      { u: r.u, uA: r.uA, uB: r.uB, method: r.method },
      { u: 15, uA: 15, uB: 35, method: 'exact' },
    );
    near(r.p, 382 / 3003, 1e-12);
    near(mannWhitneyU(permeabilityEarly, permeabilityTerm).p, 764 / 3003, 1e-12);
  });

  // R: wilcox.test(extra ~ group, data = sleep) prints W = 25.5, p-value = 0.06933 (ties, so the normal
  // approximation with continuity correction). Full digits: SciPy 1.17.1 mannwhitneyu(method='asymptotic').
  it('sleep data (ties): normal approximation, uA = 25.5, p = 0.0693275754336266', () => {
    const r = mannWhitneyU(sleep1, sleep2);
    assert.equal(r.method, 'normal');
    assert.equal(r.uA, 25.5);
    assert.equal(r.uB, 74.5);
    near(r.p, 0.06932757543362658, 1e-12);
    assert.ok((r.z ?? 0) > 0, 'b tends to be larger, so z > 0');
  });

  // 60 vs 60 without ties: past the exact limit. SciPy 1.17.1 mannwhitneyu(b, a, method='asymptotic').
  it('60 vs 60: normal approximation as SciPy computes it', () => {
    const a = Array.from({ length: 60 }, (_, i) => ((i * 37) % 101) + 0.25);
    const b = Array.from({ length: 60 }, (_, i) => ((i * 53) % 103) + 2.5);
    const r = mannWhitneyU(a, b);
    assert.equal(r.method, 'normal');
    assert.equal(r.uB, 1822);
    near(r.p, 0.910152859054505, 1e-12);
    near(mannWhitneyU(a, b, { alternative: 'greater' }).p, 0.4550764295272525, 1e-12);
  });

  it('matches a permutation test that lists every split (random untied samples up to 6 vs 6)', () => {
    const random = lcg(7);
    for (const [n1, n2] of [
      [1, 1],
      [1, 5],
      [2, 3],
      [3, 4],
      [5, 5],
      [6, 6],
      [2, 9],
    ]) {
      const a = Array.from({ length: n1 }, random);
      const b = Array.from({ length: n2 }, () => random() + 0.2);
      for (const alternative of ['two-sided', 'less', 'greater'] as const) {
        const r = mannWhitneyU(a, b, { alternative });
        assert.equal(r.method, 'exact');
        near(r.p, enumeratedMannWhitneyP(a, b, alternative), 1e-12, `${n1} vs ${n2} ${alternative}`);
      }
    }
  });

  it('is symmetric: swapping a and b swaps uA and uB, keeps two-sided p, swaps the one-sided ones', () => {
    const random = lcg(11);
    for (const [n1, n2] of [
      [4, 7],
      [12, 9],
      [60, 50],
    ]) {
      const a = Array.from({ length: n1 }, () => Math.round(random() * 20));
      const b = Array.from({ length: n2 }, () => Math.round(random() * 20) + 3);
      const ab = mannWhitneyU(a, b);
      const ba = mannWhitneyU(b, a);
      assert.equal(ab.uA, ba.uB);
      assert.equal(ab.u, ba.u);
      near(ab.p, ba.p, 1e-15);
      near(
        mannWhitneyU(a, b, { alternative: 'greater' }).p,
        mannWhitneyU(b, a, { alternative: 'less' }).p,
        1e-15,
      );
    }
  });

  it('edge cases: 1 vs 1, identical samples, all values equal', () => {
    const single = mannWhitneyU([1], [2]);
    assert.deepEqual(single, { u: 0, uA: 0, uB: 1, p: 1, method: 'exact' });
    near(mannWhitneyU([1], [2], { alternative: 'greater' }).p, 0.5, 1e-15);
    const same = mannWhitneyU([1, 2, 3], [1, 2, 3]);
    assert.equal(same.method, 'normal');
    assert.equal(same.uA, 4.5);
    assert.equal(same.p, 1);
    const flat = mannWhitneyU([5, 5], [5, 5, 5]);
    assert.deepEqual(flat, { u: 3, uA: 3, uB: 3, p: 1, method: 'normal' });
  });
});

describe('hodgesLehmann', () => {
  // Permeability data (Hollander & Wolfe 1973, pp. 69f.), shift = median of the 50 differences term - early.
  // The reference values were computed independently in Python: the differences were sorted with NumPy, and
  // the U distribution for 5 vs 10 came from listing all 3003 arrangements. At 95%, k = 9 with coverage
  // 1 - 2 P(U <= 8) = 961/1001. At 90%, k = 12 with coverage 2705/3003.
  const cases: [number, object][] = [
    [0.95, { shift: 0.305, low: -0.15, high: 0.76, method: 'exact', achievedLevel: 961 / 1001 }],
    [0.9, { shift: 0.305, low: -0.08, high: 0.72, method: 'exact', achievedLevel: 2705 / 3003 }],
  ];
  for (const [level, expected] of cases) {
    it(`permeability at ${level}: ${JSON.stringify(expected)}`, () => {
      const r = hodgesLehmann(permeabilityEarly, permeabilityTerm, level);
      for (const [key, value] of Object.entries(expected) as [keyof typeof r, unknown][]) {
        if (typeof value === 'number') near(r[key] as number, value, 1e-12, key);
        else assert.equal(r[key], value, key);
      }
    });
  }

  it('is "b minus a": a shifted copy gives that shift', () => {
    const a = [10, 12, 15, 11, 13, 14];
    const r = hodgesLehmann(
      a,
      a.map((x) => x + 2.5),
    );
    assert.equal(r.shift, 2.5);
    assert.ok(r.low < 2.5 && r.high > 2.5);
  });

  it('flips the sign when a and b are swapped', () => {
    const random = lcg(3);
    for (const [n1, n2] of [
      [7, 9],
      [6, 8],
      [70, 40],
    ]) {
      const a = Array.from({ length: n1 }, random);
      const b = Array.from({ length: n2 }, () => random() + 0.4);
      const ab = hodgesLehmann(a, b);
      const ba = hodgesLehmann(b, a);
      assert.equal(ab.shift, -ba.shift);
      assert.equal(ab.low, -ba.high);
      assert.equal(ab.high, -ba.low);
      assert.equal(ab.method, ba.method);
      assert.equal(ab.achievedLevel, ba.achievedLevel);
    }
  });

  it('3 vs 3: the full range reaches 90% (coverage 1 - 2/20), but 95% is out of reach', () => {
    assert.deepEqual(hodgesLehmann([1, 2, 3], [4, 5, 6], 0.9), {
      shift: 3,
      low: 1,
      high: 5,
      method: 'exact',
      achievedLevel: 0.9,
    });
    assert.deepEqual(hodgesLehmann([1, 2, 3], [4, 5, 6]), { shift: 3, low: 1, high: 5, method: 'range' });
    assert.deepEqual(hodgesLehmann([1], [4]), { shift: 3, low: 3, high: 3, method: 'range' });
  });

  // 60 vs 60 is past the exact limit. The exact k = 1427 comes from the exact U distribution for 60 vs 60
  // (integer recursion in Python), which the normal formula also gives. The differences were sorted with
  // NumPy.
  it('60 vs 60: the normal critical value picks the same order statistics as the exact one', () => {
    const a = Array.from({ length: 60 }, (_, i) => ((i * 37) % 101) + 0.25);
    const b = Array.from({ length: 60 }, (_, i) => ((i * 53) % 103) + 2.5);
    assert.deepEqual(hodgesLehmann(a, b), { shift: 0.25, low: -10.75, high: 11.25, method: 'normal' });
  });

  it('identical samples: shift 0, inside the interval', () => {
    const r = hodgesLehmann([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6]);
    assert.equal(r.shift, 0);
    assert.ok(r.low <= 0 && r.high >= 0);
  });
});

describe('welchT', () => {
  // R: t.test(extra ~ group, data = sleep) prints t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI
  // -3.3654832 0.2054832 for group 1 - group 2. Here it is b - a = group 2 - group 1, so the signs flip.
  // Full digits: SciPy 1.17.1 ttest_ind(equal_var=False) and its confidence_interval().
  it('sleep data, two-sided', () => {
    const r = welchT(sleep1, sleep2);
    near(r.t, 1.8608134674868526, 1e-12, 't');
    near(r.df, 17.776473516178488, 1e-12, 'df');
    near(r.p, 0.0793941401873583, 1e-12, 'p');
    near(r.meanDiff, 1.58, 1e-12, 'meanDiff');
    near(r.low, -0.20548323071171137, 1e-12, 'low');
    near(r.high, 3.3654832307117104, 1e-12, 'high');
    const r99 = welchT(sleep1, sleep2, 'two-sided', 0.99);
    near(r99.low, -0.86763291991904, 1e-12, 'low at 99%');
    near(r99.high, 4.027632919919039, 1e-12, 'high at 99%');
  });

  // SciPy 1.17.1 ttest_ind(b, a, equal_var=False, alternative='greater').confidence_interval(0.95); R prints
  // the mirror image, -Inf 0.1066185, for alternative = "less" on group 1 - group 2.
  it('sleep data, one-sided: half the p, a one-sided interval', () => {
    const greater = welchT(sleep1, sleep2, 'greater');
    near(greater.p, 0.0793941401873583 / 2, 1e-12, 'p');
    near(greater.low, 0.10661850266839323, 1e-12, 'low');
    assert.equal(greater.high, Infinity);
    // A one-sided level below 1/2 puts the bound past the estimate (SciPy, confidence_interval(0.3)).
    near(welchT(sleep1, sleep2, 'greater', 0.3).low, 2.0333600533680554, 1e-12, 'low at 30%');
    const less = welchT(sleep1, sleep2, 'less');
    near(less.p, 1 - 0.0793941401873583 / 2, 1e-12, 'p');
    assert.equal(less.low, -Infinity);
  });

  it('flips t and the interval when a and b are swapped, keeping df and p', () => {
    const ab = welchT(sleep1, sleep2);
    const ba = welchT(sleep2, sleep1);
    assert.equal(ab.t, -ba.t);
    assert.equal(ab.df, ba.df);
    near(ab.p, ba.p, 1e-15);
    near(ab.low, -ba.high, 1e-12);
  });

  it('one constant sample: df is n - 1 of the other; both constant is refused', () => {
    const r = welchT([5, 5, 5], [1, 2, 3, 4]);
    near(r.df, 3, 1e-12);
    assert.throws(() => welchT([5, 5], [7, 7]), /welchT: a and b are both constant/);
  });
});

describe('wilcoxonSignedRank', () => {
  const pairsOf = (a: number[], b: number[]): [number, number][] => a.map((x, i) => [x, b[i]]);

  // R's ?wilcox.test example, from Hollander & Wolfe (1973, pp. 29f.): wilcox.test(x, y, paired = TRUE,
  // alternative = "greater") prints V = 40, p-value = 0.01953. Exact: P(V >= 40) = P(V <= 5) for n = 9, and
  // the subsets of 1..9 summing to at most 5 are {}, 1, 2, 3, 12, 4, 13, 5, 14, 23. That is 10, so
  // p = 10/512.
  it('Hollander & Wolfe depression scale: w = 40, one-sided p = 10/512', () => {
    const r = wilcoxonSignedRank(pairsOf(depressionSecond, depressionFirst), 'greater');
    assert.deepEqual({ w: r.w, method: r.method, n: r.n }, { w: 40, method: 'exact', n: 9 });
    near(r.p, 10 / 512, 1e-12);
    near(wilcoxonSignedRank(pairsOf(depressionSecond, depressionFirst)).p, 20 / 512, 1e-12);
  });

  // R: wilcox.test(extra ~ group, data = sleep, paired = TRUE) prints V = 0, p-value = 0.009091, for
  // group 1 - group 2. Here w counts the positive b - a, so w = 45 of 45. One zero is dropped and 1.3 is
  // tied.
  // Full digits: SciPy 1.17.1 wilcoxon(zero_method='wilcox', correction=True, method='approx').
  it('sleep data (a zero and a tie): normal approximation, p = 0.00909069801592504', () => {
    const r = wilcoxonSignedRank(pairsOf(sleep1, sleep2));
    assert.deepEqual({ w: r.w, method: r.method, n: r.n }, { w: 45, method: 'normal', n: 9 });
    near(r.p, 0.009090698015925044, 1e-12);
  });

  // n = 60 is past the exact limit. SciPy 1.17.1 wilcoxon(b - a, correction=True, method='approx').
  it('60 pairs: normal approximation as SciPy computes it', () => {
    const a = Array.from({ length: 60 }, (_, i) => ((i * 37) % 101) + 0.25);
    const b = Array.from({ length: 60 }, (_, i) => ((i * 53) % 103) + 2.5);
    const r = wilcoxonSignedRank(pairsOf(a, b));
    assert.deepEqual({ w: r.w, method: r.method, n: r.n }, { w: 920, method: 'normal', n: 60 });
    near(r.p, 0.9735704566955596, 1e-12);
    near(wilcoxonSignedRank(pairsOf(a, b), 'greater').p, 0.4867852283477798, 1e-12);
    near(wilcoxonSignedRank(pairsOf(a, b), 'less').p, 0.5161499287849483, 1e-12);
  });

  it('matches a sign-flip test that lists every pattern (random untied differences, n up to 12)', () => {
    const random = lcg(5);
    for (const n of [1, 2, 5, 8, 12]) {
      const d = Array.from({ length: n }, () => random() - 0.3);
      for (const alternative of ['two-sided', 'less', 'greater'] as const) {
        const r = wilcoxonSignedRank(
          d.map((x) => [0, x]),
          alternative,
        );
        assert.equal(r.method, 'exact');
        near(r.p, enumeratedSignedRankP(d, alternative), 1e-12, `n=${n} ${alternative}`);
      }
    }
  });

  it('all positive: two-sided p = 2/2^n (n = 5: 0.0625, n = 6: 0.03125)', () => {
    near(wilcoxonSignedRank(pairsOf([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])).p, 2 / 32, 1e-15);
    near(wilcoxonSignedRank(pairsOf([0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6])).p, 2 / 64, 1e-15);
  });

  it('drops zero differences; all zero gives n = 0 and p = 1', () => {
    assert.deepEqual(wilcoxonSignedRank(pairsOf([1, 2, 3], [1, 2, 3])), {
      w: 0,
      p: 1,
      method: 'exact',
      n: 0,
    });
    const withZeros = wilcoxonSignedRank(pairsOf([0, 0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 0, 0]));
    assert.deepEqual(withZeros, wilcoxonSignedRank(pairsOf([0, 0, 0, 0, 0], [1, 2, 3, 4, 5])));
  });

  it('swapping the members of every pair keeps the two-sided p', () => {
    const random = lcg(9);
    const pairs = Array.from({ length: 14 }, (): [number, number] => [random(), random()]);
    const swapped = pairs.map(([a, b]): [number, number] => [b, a]);
    const n = pairs.length;
    assert.equal(wilcoxonSignedRank(pairs).w + wilcoxonSignedRank(swapped).w, (n * (n + 1)) / 2);
    near(wilcoxonSignedRank(pairs).p, wilcoxonSignedRank(swapped).p, 1e-15);
  });
});

describe('adjustPValues', () => {
  // By hand from the definitions (Holm 1979; Benjamini & Hochberg 1995). They agree with R's p.adjust.
  const cases: [number[], 'holm' | 'bh', number[]][] = [
    [[0.01, 0.02, 0.03, 0.04, 0.05], 'holm', [0.05, 0.08, 0.09, 0.09, 0.09]],
    [[0.01, 0.02, 0.03, 0.04, 0.05], 'bh', [0.05, 0.05, 0.05, 0.05, 0.05]],
    [[0.04, 0.001, 0.03, 0.5], 'holm', [0.09, 0.004, 0.09, 0.5]],
    [[0.04, 0.001, 0.03, 0.5], 'bh', [0.16 / 3, 0.004, 0.16 / 3, 0.5]],
    [[0.3, 0.6, 0.2], 'holm', [0.6, 0.6, 0.6]],
    [[0.3, 0.6, 0.2], 'bh', [0.45, 0.6, 0.45]],
    [[0.02, 0.02], 'holm', [0.04, 0.04]],
    [[0.7], 'holm', [0.7]],
    [[0.7], 'bh', [0.7]],
    [[], 'bh', []],
  ];
  for (const [ps, method, expected] of cases) {
    it(`${method} ${JSON.stringify(ps)}`, () => {
      const adjusted = adjustPValues(ps, method);
      assert.equal(adjusted.length, expected.length);
      adjusted.forEach((p, i) => near(p, expected[i], 1e-15, `#${i}`));
    });
  }

  it('stays in [raw, 1], keeps the order of the raw p-values, and Holm >= BH (random inputs)', () => {
    const random = lcg(13);
    for (let trial = 0; trial < 50; trial++) {
      const ps = Array.from({ length: 1 + (trial % 12) }, () => random() ** 3);
      const holm = adjustPValues(ps, 'holm');
      const bh = adjustPValues(ps, 'bh');
      for (let i = 0; i < ps.length; i++) {
        for (const adjusted of [holm, bh]) {
          assert.ok(adjusted[i] >= ps[i] && adjusted[i] <= 1);
          for (let j = 0; j < ps.length; j++) if (ps[i] <= ps[j]) assert.ok(adjusted[i] <= adjusted[j]);
        }
        assert.ok(holm[i] >= bh[i] - 1e-15);
      }
    }
  });
});

describe('minimumAchievableP and smallestNForSignificance', () => {
  // 2 / C(n1 + n2, n1), by hand: C(6,3) = 20, C(8,4) = 70, C(10,5) = 252, C(7,3) = 35, C(8,3) = 56.
  const minima: [number, number, number][] = [
    [1, 1, 1],
    [3, 3, 0.1],
    [4, 4, 2 / 70],
    [5, 5, 2 / 252],
    [4, 3, 2 / 35],
    [3, 5, 2 / 56],
  ];
  for (const [n1, n2, p] of minima) {
    it(`${n1} vs ${n2}: ${p}`, () => {
      near(minimumAchievableP(n1, n2), p, 1e-15);
      near(minimumAchievableP(n1, n2, 'greater'), p / 2, 1e-15);
    });
  }

  it('is what the exact test gives for fully separated samples', () => {
    for (const [n1, n2] of [
      [2, 7],
      [4, 4],
      [6, 5],
    ]) {
      const a = Array.from({ length: n1 }, (_, i) => i);
      const b = Array.from({ length: n2 }, (_, i) => 100 + i);
      near(mannWhitneyU(a, b).p, minimumAchievableP(n1, n2), 1e-12);
    }
  });

  // alpha 0.05: 3 vs 3 gives 0.1, 4 vs 4 gives 0.0286. alpha 0.01: 4 vs 4 no, 5 vs 5 gives 0.0079. alpha 0.1:
  // 3 vs 3 gives exactly 0.1, not below. Against n2 = 3 at 0.05: 4 vs 3 gives 2/35 = 0.057, 5 vs 3 gives
  // 2/56 = 0.036. Against n2 = 1: 2 / (n + 1) < alpha needs n > 2 / alpha - 1.
  const smallest: [number, number | undefined, Alternative | undefined, number][] = [
    [0.05, undefined, undefined, 4],
    [0.01, undefined, undefined, 5],
    [0.1, undefined, undefined, 4],
    [0.05, 3, undefined, 5],
    [0.05, 1, undefined, 40],
    [1e-9, 1, undefined, 2e9],
    [0.05, undefined, 'greater', 4],
    [0.1, undefined, 'greater', 3],
    [1, undefined, undefined, 2],
  ];
  for (const [alpha, n2, alternative, n] of smallest) {
    it(`alpha ${alpha}, n2 ${n2 ?? 'same'}, ${alternative ?? 'two-sided'}: n = ${n}`, () => {
      assert.equal(smallestNForSignificance(alpha, n2, alternative), n);
    });
  }
});

describe('bad input is refused, naming the argument', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['empty sample', () => summarize([]), /summarize: values must hold at least a value/],
    ['NaN', () => summarize([1, NaN]), /summarize: values\[1\] must be a finite number \(got NaN\)/],
    ['Infinity', () => quantile([1, Infinity], 0.5), /quantile: values\[1\]/],
    [
      'level 1',
      () => summarize([1, 2], { level: 1 }),
      /summarize: opts.level must be a number strictly between/,
    ],
    ['centre', () => summarize([1, 2], { centre: 'mode' as 'mean' }), /summarize: opts.centre/],
    ['quantile p', () => quantile([1], 2), /quantile: p must be in \[0, 1\]/],
    ['mw empty a', () => mannWhitneyU([], [1]), /mannWhitneyU: a must hold at least a value/],
    ['mw b NaN', () => mannWhitneyU([1], [NaN]), /mannWhitneyU: b\[0\]/],
    [
      'mw alternative',
      () => mannWhitneyU([1], [2], { alternative: 'both' as Alternative }),
      /mannWhitneyU: alternative must be/,
    ],
    ['hl b Infinity', () => hodgesLehmann([1], [-Infinity]), /hodgesLehmann: b\[0\]/],
    ['hl level', () => hodgesLehmann([1], [2], 95), /hodgesLehmann: level/],
    ['welch n=1', () => welchT([1], [1, 2]), /welchT: a must hold at least 2 values \(got 1\)/],
    ['welch b NaN', () => welchT([1, 2], [1, NaN]), /welchT: b\[1\]/],
    [
      'signed rank empty',
      () => wilcoxonSignedRank([]),
      /wilcoxonSignedRank: pairs must hold at least one pair/,
    ],
    ['signed rank NaN', () => wilcoxonSignedRank([[1, NaN]]), /wilcoxonSignedRank: pairs\[0\]\[1\]/],
    [
      'signed rank not a pair',
      () => wilcoxonSignedRank([[1] as unknown as [number, number]]),
      /wilcoxonSignedRank: pairs\[0\] must be a pair/,
    ],
    ['adjust p > 1', () => adjustPValues([0.1, 1.5], 'holm'), /adjustPValues: ps\[1\] must be in \[0, 1\]/],
    ['adjust NaN', () => adjustPValues([NaN], 'bh'), /adjustPValues: ps\[0\] must be a finite number/],
    ['adjust method', () => adjustPValues([0.1], 'bonferroni' as 'bh'), /adjustPValues: method/],
    ['minimum n1', () => minimumAchievableP(0, 3), /minimumAchievableP: n1 must be a whole number/],
    ['minimum n2', () => minimumAchievableP(3, 2.5), /minimumAchievableP: n2/],
    ['alpha 0', () => smallestNForSignificance(0), /smallestNForSignificance: alpha must be in \(0, 1\]/],
    [
      'alpha NaN',
      () => smallestNForSignificance(NaN),
      /smallestNForSignificance: alpha must be a finite number/,
    ],
    ['t df', () => studentTQuantile(0.9, 0), /studentTQuantile: df must be positive/],
    ['normal p', () => normalQuantile(1), /normalQuantile: p must be/],
    ['log-gamma', () => logGamma(-1), /logGamma: x must be positive/],
    [
      'beta x',
      () => regularizedIncompleteBeta(1.5, 1, 1),
      /regularizedIncompleteBeta: x must be in \[0, 1\]/,
    ],
    ['cdf NaN', () => normalCdf(NaN), /normalCdf: z must be a finite number/],
  ];
  for (const [what, call, message] of cases) {
    it(what, () =>
      assert.throws(call, (err: unknown) => err instanceof RangeError && message.test(err.message)),
    );
  }
});
