/**
 * Bounded concurrency, one way for the whole project: a limiter for tasks that arrive from many places, and
 * a bounded map over a list that stops taking new items once its signal is aborted.
 */

/** Runs at most `limit` tasks at once; the rest wait in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  readonly limit: number;

  constructor(limit: number) {
    this.limit = Math.max(1, limit);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so `active` stays right without a race.
      if (next) next();
      else this.active -= 1;
    }
  }
}

/**
 * Calls `task` for each item in order, at most `width` at once, and resolves with the results in the items'
 * order (a slot left empty for an item not started). Once `signal` is aborted no further item starts; the
 * running ones are awaited. A rejection starts no further item and rejects the whole once the running tasks
 * settle (with the first error).
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  width: number,
  task: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal?.aborted && !failed) {
      const i = next++;
      try {
        out[i] = await task(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}
