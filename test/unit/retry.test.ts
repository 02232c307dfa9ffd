import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { GcpError } from '../../src/gcp/errors.ts';
import { DEFAULT_RETRY, withRetries } from '../../src/gcp/retry.ts';

/** A clock whose sleeps pass at once, recording them. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const c = {
    t: 0,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

const unavailable = Object.assign(new Error('backend error'), { code: 503 });
const forbidden = Object.assign(new Error('no permission'), { code: 403 });

describe('withRetries: the one retry layer', () => {
  const cases: {
    name: string;
    failures: readonly Error[];
    succeeds: boolean;
    tries: number | 'budget';
    logged: boolean;
  }[] = [
    { name: 'a success needs one try', failures: [], succeeds: true, tries: 1, logged: false },
    {
      name: 'transient failures are retried until it works',
      failures: [unavailable, unavailable],
      succeeds: true,
      tries: 3,
      logged: false,
    },
    {
      name: 'a permission error is not retried',
      failures: [forbidden],
      succeeds: false,
      tries: 1,
      logged: false,
    },
    {
      name: 'a lasting outage is given up when the budget is spent, and said',
      failures: Array.from({ length: 1000 }, () => unavailable),
      succeeds: false,
      tries: 'budget',
      logged: true,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const clock = fakeClock();
      const logged: string[] = [];
      let tries = 0;
      const call = withRetries(
        'get thing',
        () => {
          const f = c.failures[tries++];
          return f ? Promise.reject(f) : Promise.resolve('ok');
        },
        { clock, log: (m) => logged.push(m), random: () => 1 },
      );
      if (c.succeeds) {
        assert.equal(await call, 'ok');
      } else {
        await assert.rejects(call, (err: unknown) => {
          assert.ok(err instanceof GcpError);
          assert.match(err.message, /^get thing: /);
          if (c.logged) assert.match(err.message, /gave up after \d+ tries over \d+ s/);
          return true;
        });
      }
      if (c.tries === 'budget') {
        assert.ok(clock.t <= DEFAULT_RETRY.budgetMs, `${clock.t} ms spent`);
        assert.ok(tries > 3 && tries < 20, `${tries} tries`);
      } else {
        assert.equal(tries, c.tries);
      }
      assert.equal(logged.length, c.logged ? 1 : 0, logged.join('\n'));
    });
  }
});
