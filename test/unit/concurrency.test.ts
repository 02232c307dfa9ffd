import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limiter, mapLimited } from '../../src/concurrency.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Limiter', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active += 1;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 1 + (i % 4)));
          active -= 1;
          return i;
        }),
      ),
    );
    assert.equal(peak, 3);
    assert.deepEqual(
      done,
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = new Limiter(1);
    await assert.rejects(limiter.run(() => Promise.reject(new Error('boom'))));
    assert.equal(await limiter.run(() => Promise.resolve(7)), 7);
  });
});

describe('mapLimited', () => {
  it("keeps at most `width` tasks running and returns the results in the items' order", async () => {
    let active = 0;
    let peak = 0;
    const out = await mapLimited([5, 1, 4, 2, 3, 1, 2], 3, async (ms, i) => {
      active += 1;
      peak = Math.max(peak, active);
      await tick(ms);
      active -= 1;
      return `${i}:${ms}`;
    });
    assert.equal(peak, 3);
    assert.deepEqual(out, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:1', '6:2']);
  });

  it('starts nothing once its signal is aborted, and waits for what runs', async () => {
    const abort = new AbortController();
    const started: number[] = [];
    let finished = 0;
    await mapLimited(
      [0, 1, 2, 3, 4, 5],
      2,
      async (i) => {
        started.push(i);
        if (i === 1) abort.abort();
        await tick(5);
        finished += 1;
      },
      abort.signal,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(finished, 2);
  });

  it('starts no further item after a failure and rejects with the first error once the others settle', async () => {
    const started: number[] = [];
    let settled = 0;
    await assert.rejects(
      mapLimited([0, 1, 2, 3, 4, 5], 2, async (i) => {
        started.push(i);
        await tick(i === 0 ? 1 : 10);
        settled += 1;
        if (i === 0) throw new Error('first');
      }),
      /first/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(settled, 2);
  });

  it('handles an empty list and a width above the count', async () => {
    assert.deepEqual(await mapLimited([], 4, () => Promise.resolve(1)), []);
    assert.deepEqual(await mapLimited([1, 2], 10, (x) => Promise.resolve(x * 2)), [2, 4]);
  });
});
