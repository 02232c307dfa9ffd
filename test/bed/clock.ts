/**
 * The test bed's notion of time. Virtual time runs `scale` times faster than the wall clock, so that an
 * hour-long scenario (a maxRunDuration, a token lifetime, a preemption budget) plays out in seconds.
 * Only the stand-ins use it; the product code under test keeps real time unless it is given a clock.
 */
export class BedClock {
  readonly scale: number;
  private readonly realStart = Date.now();
  private readonly virtualStart: number;

  constructor(scale = 1, virtualStart = Date.now()) {
    if (!(scale > 0)) throw new Error(`clock scale must be > 0, got ${scale}`);
    this.scale = scale;
    this.virtualStart = virtualStart;
  }

  /** Virtual epoch milliseconds. */
  now(): number {
    return this.virtualStart + (Date.now() - this.realStart) * this.scale;
  }

  /** Virtual time as an RFC 3339 string, as Google APIs print timestamps. */
  iso(at = this.now()): string {
    return new Date(at).toISOString();
  }

  /** Real milliseconds that `virtualMs` of virtual time take. */
  toReal(virtualMs: number): number {
    return Math.max(0, virtualMs / this.scale);
  }

  /** Runs `fn` after `virtualMs` of virtual time; returns a cancel function. The timer does not hold the process. */
  after(virtualMs: number, fn: () => void): () => void {
    const t = setTimeout(fn, this.toReal(virtualMs));
    t.unref();
    return () => clearTimeout(t);
  }

  /** Resolves after `virtualMs` of virtual time. */
  sleep(virtualMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.toReal(virtualMs)));
  }
}
