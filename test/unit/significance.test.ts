import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Baseline } from '../../src/report/compare.ts';
import type { ReportData, ReportExperiment } from '../../src/report/model.ts';
import { totalsOf } from '../../src/report/model.ts';
import { ConfigurationError } from '../../src/errors.ts';
import { significanceRule, summaryJson } from '../../src/report/render.ts';
import type { SignificanceOptions } from '../../src/report/significance.ts';
import {
  combinationOf,
  comparedWith,
  compareRepetitions,
  parseStatisticalMethod,
} from '../../src/report/significance.ts';

function exp(tool: string, seed: number, cov: number | undefined): ReportExperiment {
  return {
    id: `tool-${tool}_seed-${seed}`,
    status: cov === undefined ? 'failed' : 'succeeded',
    attempts: 1,
    zone: 'us-central1-a',
    durationSeconds: 60,
    costUsd: 0.01,
    params: { tool, seed: String(seed) },
    metrics: cov === undefined ? {} : { cov },
    reason: undefined,
    logTail: undefined,
    problems: [],
  };
}

function run(values: Record<string, readonly (number | undefined)[]>): ReportData {
  const experiments = Object.entries(values).flatMap(([tool, vs]) => vs.map((v, i) => exp(tool, i + 1, v)));
  return {
    runId: 'r',
    source: 'gs://b/p/runs/r/',
    experiments,
    totals: totalsOf(experiments),
    metrics: ['cov'],
  };
}

function baselineOf(values: Record<string, readonly number[]>): Baseline {
  const experiments: Record<string, { metrics: Record<string, number> }> = {};
  for (const [tool, vs] of Object.entries(values)) {
    vs.forEach((v, i) => (experiments[`tool-${tool}_seed-${i + 1}`] = { metrics: { cov: v } }));
  }
  return {
    schema: 1,
    ref: 'main',
    sha: 'a'.repeat(40),
    runId: 'b',
    recordedAt: '2026-01-01T00:00:00Z',
    experiments,
  };
}

// Seed noise of about ±1 around 50; "shifted" moves by 8 (far beyond its noise), "jitter" only reshuffles it.
const NOISE = [49.2, 50.8, 50.1, 49.6, 50.4, 49.9, 50.6, 49.4];
const plus = (d: number) => NOISE.map((v) => Number((v + d).toFixed(1)));
const reorder = [...NOISE].reverse().map((v, i) => Number((v + (i % 2 ? 0.3 : -0.3)).toFixed(1)));

describe('comparisons of repetitions against the baseline', () => {
  const directions = new Map([['cov', 'higher' as const]]);

  it('flags the tool that truly shifts, with its interval and p-value, and calls the jitter not significant', () => {
    const report = compareRepetitions(
      run({ shifted: plus(-8), jitter: reorder }),
      baselineOf({ shifted: NOISE, jitter: NOISE }),
      directions,
      { thresholdPercent: 5 },
    );
    const byTool = new Map(report.comparisons.map((c) => [c.params.tool, c]));
    const shifted = byTool.get('shifted');
    const jitter = byTool.get('jitter');
    assert.equal(shifted?.verdict, 'regressed');
    assert.equal(shifted?.test, 'mann-whitney');
    // 8 vs 8, fully separated: exact two-sided p = 2 / C(16, 8) = 2 / 12870; Holm over 2 comparisons doubles it.
    assert.ok(Math.abs((shifted?.p ?? 1) - 2 / 12870) < 1e-12, String(shifted?.p));
    assert.ok(Math.abs((shifted?.pAdjusted ?? 1) - 4 / 12870) < 1e-12, String(shifted?.pAdjusted));
    assert.ok(Math.abs((shifted?.shift.shift ?? 0) + 8) < 1e-9, String(shifted?.shift.shift));
    assert.ok(
      (shifted?.shift.low ?? 0) < -8 && (shifted?.shift.high ?? 0) > -8.9 && (shifted?.shift.high ?? 0) < 0,
    );
    assert.ok((shifted?.percent?.shift ?? 0) < -15);
    assert.equal(jitter?.verdict, 'not-significant');
    assert.ok((jitter?.p ?? 0) > 0.5, String(jitter?.p));
    assert.ok((jitter?.shift.low ?? 0) < 0 && (jitter?.shift.high ?? 0) > 0, 'its interval holds 0');
  });

  it('says how many repetitions significance needs when there are too few ever to reach it', () => {
    const one = compareRepetitions(run({ a: [40] }), baselineOf({ a: [50] }), directions, {
      thresholdPercent: 5,
    });
    assert.deepEqual(
      one.comparisons.map((c) => [c.verdict, c.p, c.needed]),
      [['too-few', undefined, 4]],
    );
    // 3 vs 3 can at best reach p = 0.1; 4 vs 4 reaches 2/70.
    const three = compareRepetitions(run({ a: [1, 2, 3] }), baselineOf({ a: [7, 8, 9] }), directions, {
      thresholdPercent: 5,
    });
    assert.equal(three.comparisons[0]?.verdict, 'too-few');
    const four = compareRepetitions(run({ a: [1, 2, 3, 4] }), baselineOf({ a: [7, 8, 9, 10] }), directions, {
      thresholdPercent: 5,
    });
    assert.equal(four.comparisons[0]?.verdict, 'regressed');
    assert.ok(Math.abs((four.comparisons[0]?.p ?? 1) - 2 / 70) < 1e-12);
  });

  it('leaves a significant change within the threshold unchanged, and one without a direction changed', () => {
    const small = compareRepetitions(run({ a: plus(0.1) }), baselineOf({ a: plus(-0.1) }), directions, {
      thresholdPercent: 5,
    });
    assert.equal(small.comparisons[0]?.verdict, 'not-significant');
    const tight = compareRepetitions(
      run({ a: [10.1, 10.2, 10.3, 10.4, 10.5, 10.6] }),
      baselineOf({ a: [10, 10.01, 10.02, 10.03, 10.04, 10.05] }),
      directions,
      { thresholdPercent: 5 },
    );
    assert.equal(tight.comparisons[0]?.verdict, 'unchanged', 'significant, but about 3 %');
    const undirected = compareRepetitions(run({ a: plus(10) }), baselineOf({ a: NOISE }), new Map(), {
      thresholdPercent: 5,
    });
    assert.equal(undirected.comparisons[0]?.verdict, 'changed');
  });

  it("counts only this run's succeeded repetitions, and compares with Welch's t on request", () => {
    const r = compareRepetitions(
      run({ a: [...plus(8).slice(0, 6), undefined, undefined] }),
      baselineOf({ a: NOISE }),
      directions,
      { thresholdPercent: 5, test: 'welch' },
    );
    const c = r.comparisons[0];
    assert.equal(c?.current.n, 6);
    assert.equal(c?.baseline.n, 8);
    assert.equal(c?.test, 'welch');
    assert.equal(c?.verdict, 'improved');
    assert.ok((c?.p ?? 1) < 1e-6);
  });

  it('adjusts across every comparison of the report (Holm by default, Benjamini-Hochberg on request)', () => {
    const values = { a: plus(3), b: plus(2), c: plus(0) };
    const base = baselineOf({ a: NOISE, b: NOISE, c: NOISE });
    for (const adjust of ['holm', 'bh'] as const) {
      const r = compareRepetitions(run(values), base, directions, { thresholdPercent: 1, adjust });
      assert.equal(r.adjust, adjust);
      for (const c of r.comparisons)
        assert.ok((c.pAdjusted ?? 0) >= (c.p ?? 1), `${adjust} ${c.combination}`);
    }
  });

  it('names a combination by its parameters but the replicate axis', () => {
    assert.deepEqual(combinationOf({ seed: '3', tool: 'a', service: 'x' }, 'seed'), {
      key: JSON.stringify([
        ['service', 'x'],
        ['tool', 'a'],
      ]),
      label: 'service=x, tool=a',
      params: { service: 'x', tool: 'a' },
    });
  });
});

// Seeds that differ from each other by far more than the shift the tests look for.
const SPREAD = [40, 55, 47, 62, 51, 44, 58, 49];
/** SPREAD moved by one difference per seed, rounded as a metric would be written. */
const moved = (differences: readonly number[]) =>
  SPREAD.slice(0, differences.length).map((v, i) => Number((v + differences[i]).toFixed(2)));
/** Eight differences of distinct sizes 0.1..0.8 (rank i + 1), the ranks in `negative` below zero. */
const signed = (negative: readonly number[]) =>
  [1, 2, 3, 4, 5, 6, 7, 8].map((rank) => (negative.includes(rank) ? -0.1 : 0.1) * rank);

describe('the paired comparison (Wilcoxon signed-rank)', () => {
  const directions = new Map([['cov', 'higher' as const]]);
  const close = (got: number | undefined, want: number) =>
    assert.ok(got !== undefined && Math.abs(got - want) < 1e-12, `${got} is not ${want}`);

  it('finds a shift every seed shows though it is small against the spread between seeds, where Mann-Whitney cannot', () => {
    // Every seed gains about 0.5 (1 % of the median) while the seeds themselves range over 40..62.
    const current = run({ a: moved([0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.57, 0.58]) });
    const base = baselineOf({ a: SPREAD });
    const opts = { thresholdPercent: 0.5 };
    const paired = compareRepetitions(current, base, directions, { ...opts, test: 'signed-rank' });
    const c = paired.comparisons[0];
    assert.equal(paired.test, 'signed-rank');
    assert.equal(c?.test, 'signed-rank');
    assert.equal(c?.pairs, 8);
    // All eight differences positive and of distinct sizes: the exact two-sided p is 2 / 2^8.
    close(c?.p, 2 / 256);
    assert.equal(c?.verdict, 'improved');
    // The median of the differences, and its interval (for 8 values: their range, 99.2 % coverage).
    close(c?.shift.shift, 0.545);
    assert.ok(Math.abs((c?.shift.low ?? 0) - 0.51) < 1e-9 && Math.abs((c?.shift.high ?? 0) - 0.58) < 1e-9);
    assert.equal(c?.shift.method, 'exact');

    const independent = compareRepetitions(current, base, directions, opts).comparisons[0];
    assert.equal(independent?.test, 'mann-whitney');
    assert.equal(independent?.pairs, undefined);
    assert.equal(independent?.verdict, 'not-significant');
    assert.ok((independent?.p ?? 0) > 0.5, String(independent?.p));
  });

  it('counts only complete pairs: a failed repetition and one missing from the baseline each drop a pair', () => {
    const current = run({ a: [...moved([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]), undefined] });
    const base = baselineOf({ a: SPREAD });
    delete (base.experiments as Record<string, unknown>)['tool-a_seed-1'];
    const c = compareRepetitions(current, base, directions, { thresholdPercent: 0, test: 'signed-rank' })
      .comparisons[0];
    // Seeds 2..7 are in both.
    assert.deepEqual([c?.pairs, c?.current.n, c?.baseline.n], [6, 6, 6]);
    close(c?.p, 2 / 64);
    // Mann-Whitney takes every value it has: 7 against 7.
    const u = compareRepetitions(current, base, directions, { thresholdPercent: 0 }).comparisons[0];
    assert.deepEqual([u?.pairs, u?.current.n, u?.baseline.n], [undefined, 7, 7]);
  });

  const tooFew: [string, number, SignificanceOptions['alpha'], number][] = [
    ['5 pairs at 0.05 (at best 2/32)', 5, 0.05, 6],
    ['8 pairs at 0.005 (at best 2/256)', 8, 0.005, 9],
    ['1 pair at 0.05', 1, 0.05, 6],
  ];
  for (const [name, n, alpha, needed] of tooFew) {
    it(`says how many pairs are needed when too few can ever reach the level: ${name}`, () => {
      const differences = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8].slice(0, n);
      const c = compareRepetitions(run({ a: moved(differences) }), baselineOf({ a: SPREAD }), directions, {
        thresholdPercent: 0,
        test: 'signed-rank',
        ...(alpha !== undefined ? { alpha } : {}),
      }).comparisons[0];
      assert.deepEqual([c?.verdict, c?.p, c?.pairs, c?.needed], ['too-few', undefined, n, needed]);
    });
  }

  // The smallest difference negative: p = 2 * 2 / 256 = 0.015625; 8 pairs can reach 2 / 256, so never too few.
  const levels: [number, string][] = [
    [0.05, 'improved'],
    [0.02, 'improved'],
    [0.01, 'not-significant'],
  ];
  for (const [alpha, verdict] of levels) {
    it(`honours alpha: signed-rank at ${alpha}`, () => {
      const r = compareRepetitions(run({ a: moved(signed([1])) }), baselineOf({ a: SPREAD }), directions, {
        thresholdPercent: 0,
        test: 'signed-rank',
        alpha,
      });
      assert.equal(r.alpha, alpha);
      close(r.comparisons[0]?.p, 4 / 256);
      assert.deepEqual([r.comparisons[0]?.verdict, r.comparisons[0]?.needed], [verdict, undefined]);
    });
  }

  it('honours alpha for Mann-Whitney too: 4 against 4 is significant at 0.05 and too few at 0.02', () => {
    const at = (alpha: number) =>
      compareRepetitions(run({ a: [1, 2, 3, 4] }), baselineOf({ a: [7, 8, 9, 10] }), directions, {
        thresholdPercent: 5,
        alpha,
      }).comparisons[0];
    assert.deepEqual([at(0.05)?.verdict, at(0.05)?.needed], ['regressed', undefined]);
    assert.deepEqual([at(0.02)?.verdict, at(0.02)?.needed], ['too-few', 5]);
  });

  it('flags by Holm or Benjamini-Hochberg: with p = 0.0156, 0.039, 0.039 Holm keeps one, BH all three', () => {
    // Negative ranks summing to 1 give p = 4/256; summing to 3, p = 10/256.
    const current = run({ a: moved(signed([1])), b: moved(signed([3])), c: moved(signed([1, 2])) });
    const base = baselineOf({ a: SPREAD, b: SPREAD, c: SPREAD });
    const flagged = (adjust: 'holm' | 'bh') => {
      const r = compareRepetitions(current, base, directions, {
        thresholdPercent: 0.5,
        test: 'signed-rank',
        adjust,
      });
      assert.deepEqual(
        r.comparisons.map((c) => c.p),
        [4 / 256, 10 / 256, 10 / 256],
      );
      return r.comparisons.filter((c) => c.verdict === 'improved').map((c) => c.params.tool);
    };
    assert.deepEqual(flagged('holm'), ['a']);
    assert.deepEqual(flagged('bh'), ['a', 'b', 'c']);
  });

  it('passes the whole method through comparedWith, and the report states it', () => {
    const data = run({ a: moved(signed([])), b: moved(signed([]).slice(0, 7)) });
    const base = baselineOf({ a: SPREAD, b: SPREAD });
    const { comparison, significance } = comparedWith(data, base, directions, {
      thresholdPercent: 0.5,
      test: 'signed-rank',
      adjust: 'bh',
      alpha: 0.01,
      replicate: 'seed',
    });
    assert.equal(comparison.deltas.length, 15);
    assert.deepEqual(
      [significance.test, significance.adjust, significance.alpha, significance.replicate],
      ['signed-rank', 'bh', 0.01, 'seed'],
    );
    const rule = significanceRule(significance, 0.5);
    assert.match(rule, /paired with the baseline's by `seed`/);
    assert.match(
      rule,
      /Wilcoxon signed-rank test on 7 to 8 pair\(s\), p adjusted by Benjamini-Hochberg across 1 comparison\(s\), alpha 0\.01;/,
    );
    const independent = comparedWith(data, base, directions, {
      thresholdPercent: 5,
      test: 'welch',
    }).significance;
    assert.match(
      significanceRule(independent, 5),
      /Welch's t test, p adjusted by Holm across 2 comparison\(s\), alpha 0\.05;/,
    );
    const json = JSON.parse(
      summaryJson(data, {
        kind: 'compared',
        ref: 'main',
        which: 'latest',
        baseline: base,
        comparison,
        significance,
        thresholdPercent: 0.5,
      }),
    ) as { baseline: { significance: unknown } };
    assert.deepEqual(json.baseline.significance, {
      test: 'signed-rank',
      adjust: 'bh',
      alpha: 0.01,
      replicate: 'seed',
    });
  });
});

describe('the statistical method, as configured', () => {
  const label = (setting: string) => `input ${setting}`;
  it('defaults every choice left blank', () => {
    assert.deepEqual(parseStatisticalMethod({ test: ' ', adjust: '', alpha: '' }, label), {
      test: 'mann-whitney',
      adjust: 'holm',
      alpha: 0.05,
      replicate: 'seed',
    });
  });
  it('reads every choice', () => {
    assert.deepEqual(
      parseStatisticalMethod(
        { test: 'Signed-Rank', adjust: 'BH', alpha: '1e-2', replicate: 'run.index' },
        label,
      ),
      { test: 'signed-rank', adjust: 'bh', alpha: 0.01, replicate: 'run.index' },
    );
  });
  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'an unknown test',
      { test: 't-test' },
      /^input test must be mann-whitney .*welch or signed-rank.*"t-test"/,
    ],
    ['an unknown adjustment', { adjust: 'bonferroni' }, /^input adjust must be holm .* or bh .*"bonferroni"/],
    ['alpha 0', { alpha: '0' }, /^input alpha must be a number above 0 and below 0\.5.*"0"/],
    ['alpha 0.5', { alpha: '0.5' }, /^input alpha must be a number above 0 and below 0\.5/],
    ['alpha negative', { alpha: '-0.01' }, /^input alpha must be/],
    ['alpha as a percentage', { alpha: '5%' }, /^input alpha must be/],
    ['alpha in hex', { alpha: '0x0' }, /^input alpha must be/],
    ['alpha not a number', { alpha: 'low' }, /^input alpha must be/],
    [
      'a replicate starting with a digit',
      { replicate: '1seed' },
      /^input replicate must be a parameter name/,
    ],
    ['a replicate with a space', { replicate: 'my seed' }, /^input replicate must be a parameter name/],
  ];
  for (const [name, raw, message] of bad) {
    it(`refuses ${name}, naming the input and the valid values`, () => {
      assert.throws(
        () => parseStatisticalMethod(raw, label),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});
