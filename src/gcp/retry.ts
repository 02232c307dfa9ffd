import type { Clock } from '../clock.ts';
import { backoffMs } from '../clock.ts';
import type { Failure } from './errors.ts';
import { GcpError, classifyError, isTransient } from './errors.ts';

/**
 * How gce-matrix retries one API call. It is the only retry layer: the client libraries' own retries are
 * switched off (Compute calls pass `retry: null`, Storage is built with `autoRetry: false`), so a call's total
 * time is this budget plus one request timeout, never a library's 600 s inside each of our attempts.
 */
export interface RetryPolicy {
  /** No retry starts once this much time has passed since the first try. */
  readonly budgetMs: number;
  /** First back-off (full jitter, doubling). */
  readonly baseMs: number;
  /** Longest back-off. */
  readonly capMs: number;
}

/** The default: two minutes of retries of a transient failure (429, 5xx, a dropped connection). */
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 120_000, baseMs: 1000, capMs: 20_000 };

/** How long one request may take before it counts as a transient failure. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** Where a retry layer says that it gave up. */
export type RetryLog = (message: string) => void;

/**
 * Runs `fn` until it succeeds, fails for good, or the budget is spent; transient failures are retried with
 * backoff. The error thrown when it gives up says how many tries over how long, and is also logged.
 */
export async function withRetries<T>(
  what: string,
  fn: () => Promise<T>,
  opts: {
    clock: Clock;
    policy?: RetryPolicy;
    log?: RetryLog;
    signal?: AbortSignal;
    /** Counts each try (for the request budget). */
    onTry?: () => void;
    /** Classifies a failure; the default reads Google API errors. */
    classify?: (err: unknown) => Failure;
    /** The jitter's source (tests make it repeatable). */
    random?: () => number;
  },
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  const classify = opts.classify ?? classifyError;
  const start = opts.clock.now();
  for (let tryNo = 1; ; tryNo++) {
    opts.onTry?.();
    try {
      return await fn();
    } catch (err) {
      const failure = classify(err);
      if (!isTransient(failure)) throw new GcpError(what, failure);
      const wait = backoffMs(tryNo - 1, policy.baseMs, policy.capMs, opts.random);
      const spent = opts.clock.now() - start;
      if (spent + wait > policy.budgetMs) {
        const given = new GcpError(what, {
          ...failure,
          message: `${failure.message} (gave up after ${tryNo} tries over ${Math.round(spent / 1000)} s)`,
        });
        opts.log?.(`gce-matrix: ${given.message}`);
        throw given;
      }
      await opts.clock.sleep(wait, opts.signal);
    }
  }
}

/**
 * The Storage client's settings for the same policy. Its calls are retried by the library alone (gce-matrix
 * wraps none of them in a loop of its own): transient failures of idempotent requests, for at most the same
 * budget, each request bounded by the same timeout.
 */
export const STORAGE_RETRY = {
  retryOptions: {
    autoRetry: true,
    maxRetries: 8,
    totalTimeout: DEFAULT_RETRY.budgetMs / 1000,
    retryDelayMultiplier: 2,
    maxRetryDelay: DEFAULT_RETRY.capMs / 1000,
  },
  timeout: REQUEST_TIMEOUT_MS,
} as const;
