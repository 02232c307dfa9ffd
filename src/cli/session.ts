import path from 'node:path';
import type { Manifest } from '../collect/manifest.ts';
import type { LocalExecutor } from '../local/executor.ts';
import type { LocalRunHooks, LocalRunResult } from './local-run.ts';
import { runPaths } from './local-run.ts';
import { ProgressDisplay } from './progress.ts';

/** Where the command line writes and what it reacts to; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Registers the Ctrl-C (and SIGTERM) handler; returns its removal. */
  readonly onInterrupt: (handler: () => void) => () => void;
  /** Ends the process at once (a second Ctrl-C). */
  readonly exit: (code: number) => void;
}

/** Prints one line. */
export function say(io: CliIo, line = ''): void {
  io.stdout.write(`${line}\n`);
}

/** The lines that end a run: counts, what failed, where the reports are. */
export function runSummary(result: LocalRunResult, cwd: string): string[] {
  const m: Manifest = result.manifest;
  const c = m.counts;
  const rel = (p: string): string => path.relative(cwd, p) || '.';
  const lines = [
    `${result.interrupted ? 'Interrupted' : 'Done'}: ${c.experiments} experiment(s): ${c.succeeded} succeeded, ${c.failed} failed, ${c.missing} missing` +
      (c.problems > 0 ? `, ${c.problems} problem(s)` : '') +
      '.',
  ];
  const bad = m.experiments.filter((e) => e.status !== 'succeeded');
  for (const e of bad.slice(0, 20)) {
    const code = e.exitCode === null || e.exitCode === undefined ? '' : ` (exit ${e.exitCode})`;
    lines.push(`  ${e.status.padEnd(10)} ${e.id}${code}${e.reason ? `: ${e.reason}` : ''}`);
  }
  if (bad.length > 20) lines.push(`  ... and ${bad.length - 20} more (see the report)`);
  lines.push(`Report: ${rel(result.report.markdown)}`);
  lines.push(`        ${rel(result.report.html)}`);
  lines.push(`Data:   ${rel(result.report.csv)} (one row per experiment and metric)`);
  lines.push(
    `Results: ${rel(runPaths(result.runDir).results)} (the bucket as the VMs wrote it: ${rel(runPaths(result.runDir).bucket)})`,
  );
  return lines;
}

/** Runs local experiments with a progress display and Ctrl-C handling; the exit code follows the results. */
export async function withProgress(
  io: CliIo,
  total: number,
  plain: boolean,
  body: (hooks: LocalRunHooks) => Promise<LocalRunResult>,
  notes: { stopping: string; forceStop: string } = {
    stopping:
      'Stopping: running experiments get their shutdown run (as a deleted VM would), then the partial results are reported. Ctrl-C again stops at once.',
    forceStop: 'no report written',
  },
): Promise<number> {
  const display = new ProgressDisplay({ out: io.stdout, total, tty: !plain && io.stdout.isTTY === true });
  const controller = new AbortController();
  let executor: LocalExecutor | undefined;
  let presses = 0;
  const remove = io.onInterrupt(() => {
    presses++;
    if (presses === 1) {
      display.line(notes.stopping);
      controller.abort(new Error('interrupted'));
    } else {
      executor?.killNow();
      display.stop();
      io.stderr.write(`gce-matrix: stopped at once; ${notes.forceStop}.\n`);
      io.exit(130);
    }
  });
  display.start();
  let result: LocalRunResult;
  try {
    result = await body({
      onEvent: (e, logTail) => display.onEvent(e, logTail),
      info: (line) => display.line(line),
      signal: controller.signal,
      env: io.env,
      onExecutor: (e) => (executor = e),
    });
  } finally {
    display.stop();
    remove();
  }
  for (const line of runSummary(result, io.cwd)) say(io, line);
  if (result.interrupted) return 130;
  const c = result.manifest.counts;
  return c.failed > 0 || c.missing > 0 || c.succeeded < c.experiments ? 1 : 0;
}
