import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Baseline } from '../../src/report/compare.ts';
import type { ReportData, ReportExperiment } from '../../src/report/model.ts';
import { totalsOf } from '../../src/report/model.ts';
import { combinationOf, compareRepetitions } from '../../src/report/significance.ts';

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
