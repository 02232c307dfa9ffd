import { printable } from '../text.ts';
import type { ExecutorEvent, LocalOutcome } from '../local/executor.ts';

/** How many experiments are where. */
export interface ProgressCounts {
  readonly total: number;
  readonly queued: number;
  readonly running: number;
  readonly succeeded: number;
  /** Failed, errored, lost or interrupted. */
  readonly failed: number;
}

/** `01:02:03` or `02:03`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A text bar of `width` cells: `#` done, `>` running, `.` queued. */
export function progressBar(c: ProgressCounts, width: number): string {
  if (c.total === 0 || width <= 0) return '';
  const done = c.succeeded + c.failed;
  const doneCells = Math.floor((done / c.total) * width);
  const runningCells = Math.min(width - doneCells, Math.ceil((c.running / c.total) * width));
  return '#'.repeat(doneCells) + '>'.repeat(runningCells) + '.'.repeat(width - doneCells - runningCells);
}

/** The one-line summary: `[####>...] 5/12 done · 2 running · 5 queued · 1 failed · 00:42`. */
export function progressLine(c: ProgressCounts, elapsedMs: number, columns = 80): string {
  const done = c.succeeded + c.failed;
  const text =
    `${done}/${c.total} done · ${c.running} running · ${c.queued} queued` +
    (c.failed > 0 ? ` · ${c.failed} failed` : '') +
    ` · ${formatElapsed(elapsedMs)}`;
  const barWidth = Math.min(30, columns - text.length - 3);
  return barWidth >= 5 ? `[${progressBar(c, barWidth)}] ${text}` : text;
}

const OUTCOME_WORD: Record<LocalOutcome, string> = {
  succeeded: 'succeeded',
  failed: 'FAILED',
  preempted: 'preempted',
  error: 'ERROR',
  lost: 'LOST',
  interrupted: 'interrupted',
  detached: 'detached',
};

/** The line an event prints. */
export function eventLine(e: ExecutorEvent): string {
  const attempt = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
  if (e.kind === 'started') return `started   ${printable(e.id)}${attempt}`;
  const code = e.exitCode === null ? '' : ` exit ${e.exitCode}`;
  const reason = e.outcome === 'succeeded' || !e.reason ? '' : `: ${printable(e.reason)}`;
  const hint =
    e.exitCode === 127 ? " (127: the command was not found; check the spec's command and PATH)" : '';
  return (
    `${OUTCOME_WORD[e.outcome].padEnd(9)} ${printable(e.id)}${attempt}${code} in ${e.seconds} s${reason}${hint}` +
    (e.retrying ? '; trying again' : '')
  );
}

/** Log lines under an event's line: under its experiment id, marked as quoted. */
const LOG_INDENT = `${' '.repeat(10)}| `;

/** Where the display writes: a terminal (redrawn in place) or anything else (plain lines). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * The live progress of a run. On a terminal one status line is redrawn in place under the event lines; on
 * anything else (CI logs, files, pipes) every event is a plain line and the status line follows each finish.
 */
export class ProgressDisplay {
  private readonly out: ProgressStream;
  private readonly tty: boolean;
  private readonly started: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private total: number;
  private running = 0;
  private succeeded = 0;
  private failed = 0;
  private shown = false;

  constructor(opts: { out: ProgressStream; total: number; tty?: boolean; now?: () => number }) {
    this.out = opts.out;
    this.total = opts.total;
    this.tty = opts.tty ?? opts.out.isTTY === true;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }

  /** The counts so far. */
  counts(): ProgressCounts {
    const done = this.succeeded + this.failed;
    return {
      total: this.total,
      queued: Math.max(0, this.total - done - this.running),
      running: this.running,
      succeeded: this.succeeded,
      failed: this.failed,
    };
  }

  /** Starts redrawing the status line (a terminal only). */
  start(): void {
    if (!this.tty) {
      this.out.write(`${progressLine(this.counts(), 0, 100)}\n`);
      return;
    }
    this.redraw();
    this.timer = setInterval(() => this.redraw(), 250);
    this.timer.unref();
  }

  /** Takes one executor event; `logTail` (already safe for a terminal) is shown indented under its line. */
  onEvent(e: ExecutorEvent, logTail: readonly string[] = []): void {
    if (e.kind === 'started') this.running++;
    else {
      this.running--;
      if (e.retrying) {
        // counted when its last attempt ends
      } else if (e.outcome === 'succeeded' || e.outcome === 'detached') this.succeeded++;
      else this.failed++;
    }
    this.line([eventLine(e), ...logTail.map((l) => `${LOG_INDENT}${l}`)].join('\n'));
    if (!this.tty && e.kind === 'finished' && !e.retrying) {
      this.out.write(`${progressLine(this.counts(), this.now() - this.started, 100)}\n`);
    }
  }

  /** Prints a line above the status line. */
  line(text: string): void {
    if (this.tty) this.out.write(`\r\x1b[2K${text}\n`);
    else this.out.write(`${text}\n`);
    if (this.tty) this.redraw();
  }

  /** Stops redrawing; the last status line stays. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.shown) {
      this.redraw();
      this.out.write('\n');
      this.shown = false;
    }
  }

  private redraw(): void {
    // A pseudo-terminal may report 0 columns: treat that as unknown.
    const columns = this.out.columns || 80;
    this.out.write(
      `\r\x1b[2K${progressLine(this.counts(), this.now() - this.started, columns).slice(0, columns - 1)}`,
    );
    this.shown = true;
  }
}
