/**
 * What the watcher (and the inline report) decide about a run with detached experiments. Pure: the same
 * observations and time give the same verdict.
 */
import type { CollectedStatus } from '../collect/manifest.ts';
import type { ExperimentState } from '../layout.ts';
import type { DetachedRecord, LockRecord, Parsed, RunRecord } from '../record.ts';

/** What one look at a detached experiment showed: its VM first, then its completion marker. */
export interface ExperimentObservation {
  readonly record: DetachedRecord;
  /** The instance's status (`RUNNING`, `TERMINATED`, ...), or `GONE` when it does not exist. */
  readonly instance: string;
  /** status.json, when it exists and could be read. */
  readonly status: { readonly state: ExperimentState; readonly attempt: number } | undefined;
}

/** The verdict on one detached experiment. */
export type ExperimentVerdict =
  | { readonly kind: 'final'; readonly state: ExperimentState }
  | { readonly kind: 'lost'; readonly reason: string }
  | { readonly kind: 'running'; readonly detail: string };

/** Instance states in which nothing runs on the VM any more: no agent is left to write a status. */
const ENDED = new Set(['TERMINATED', 'STOPPED', 'SUSPENDED', 'GONE']);

/**
 * Decides one detached experiment. A status of the recorded attempt (or a later one) is final. The VM is
 * looked at before the status is read and the agent writes the status before its VM goes, so a VM that is
 * gone or stopped with no status will never write one: lost. A VM still up past its deadline (creation plus
 * maxRunDuration) by more than `graceMs` is lost too, whatever Compute Engine says.
 */
export function decideExperiment(o: ExperimentObservation, now: number, graceMs: number): ExperimentVerdict {
  if (o.status && o.status.attempt >= o.record.attempt) return { kind: 'final', state: o.status.state };
  const vm = o.record.instance;
  if (ENDED.has(o.instance)) {
    return {
      kind: 'lost',
      reason:
        o.instance === 'GONE'
          ? `its VM ${vm} vanished without writing a status`
          : `its VM ${vm} is ${o.instance} without having written a status`,
    };
  }
  const deadline = Date.parse(o.record.deadline);
  if (now > deadline + graceMs) {
    return {
      kind: 'lost',
      reason: `its VM ${vm} passed its time limit (${o.record.deadline}) without writing a status`,
    };
  }
  return { kind: 'running', detail: `${vm} is ${o.instance}, time limit ${o.record.deadline}` };
}

/** Whether a run may be looked at further, before any of its experiments is. */
export type RunTriage =
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'done'; readonly reason: string }
  | { readonly action: 'look'; readonly run: RunRecord };

/** Decides from run.json and reported.json alone: unreadable, foreign, already reported, or to look at. */
export function triageRun(opts: {
  runId: string;
  run: Parsed<RunRecord> | undefined;
  reported: boolean;
  /** `owner/repo` the watcher reports for; runs of other repositories are not its to report. */
  repository: string | undefined;
}): RunTriage {
  if (opts.reported) return { action: 'done', reason: `run ${opts.runId} was reported already` };
  if (!opts.run) return { action: 'skip', reason: `run ${opts.runId} has no run.json; skipped` };
  if (!opts.run.ok) return { action: 'skip', reason: `${opts.run.reason}; skipped` };
  const run = opts.run.value;
  if (run.runId !== opts.runId) {
    return { action: 'skip', reason: `run ${opts.runId}: run.json names run ${run.runId}; skipped` };
  }
  if (opts.repository && run.repository.toLowerCase() !== opts.repository.toLowerCase()) {
    return {
      action: 'skip',
      reason: `run ${opts.runId} belongs to ${run.repository}, not ${opts.repository}; skipped`,
    };
  }
  return { action: 'look', run };
}

/** Whether a run whose experiments were looked at is ready to report. */
export type RunVerdict =
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'report'; readonly lost: ReadonlyMap<string, string> };

/**
 * A run is reported once every detached experiment is final or lost, and once the rest of the run is over:
 * its inline report step has run (it leaves its settings in run.json), or no plan says more experiments
 * exist, or every planned one is detached, or `inlineWaitMs` has passed since the run began.
 */
export function decideRun(opts: {
  run: RunRecord;
  detached: readonly { name: string; record: Parsed<DetachedRecord> }[];
  verdicts: ReadonlyMap<string, ExperimentVerdict>;
  now: number;
  inlineWaitMs: number;
}): RunVerdict {
  const { run } = opts;
  const unreadable = opts.detached.filter((d) => !d.record.ok);
  if (unreadable.length > 0) {
    const first = unreadable[0].record;
    return {
      action: 'skip',
      reason: `run ${run.runId}: ${unreadable.length} detached record(s) cannot be read (${first.ok ? '' : first.reason}); skipped`,
    };
  }
  if (opts.detached.length === 0) {
    return { action: 'skip', reason: `run ${run.runId} has no detached experiments; nothing to report` };
  }
  const running = [...opts.verdicts].filter(([, v]) => v.kind === 'running').map(([id]) => id);
  if (running.length > 0) {
    return {
      action: 'wait',
      reason: `run ${run.runId}: ${running.length} of ${opts.verdicts.size} detached experiment(s) still running (${running.slice(0, 5).join(', ')}${running.length > 5 ? ', ...' : ''})`,
    };
  }
  const detachedIds = new Set(opts.verdicts.keys());
  const inlinePending =
    run.report === undefined &&
    run.experiments !== undefined &&
    run.experiments.some((id) => !detachedIds.has(id)) &&
    opts.now - Date.parse(run.createdAt) < opts.inlineWaitMs;
  if (inlinePending) {
    return {
      action: 'wait',
      reason: `run ${run.runId}: waiting for its inline report (experiments that were not detached may still run in their jobs)`,
    };
  }
  const lost = new Map<string, string>();
  for (const [id, v] of opts.verdicts) if (v.kind === 'lost') lost.set(id, v.reason);
  return { action: 'report', lost };
}

/** Statuses with which an experiment has ended, as collected. */
const ENDED_STATUSES: ReadonlySet<CollectedStatus> = new Set([
  'succeeded',
  'failed',
  'error',
  'preempted',
  'corrupt',
  'lost',
]);

/**
 * What the inline report step does with a run that has detached experiments: `none` (it has none: report as
 * always), `final` (every detached one has ended: claim the run and report it for good), `partial` (some
 * still run: comment what there is, under the lock, and leave the run to the watcher).
 */
export function inlineClaim(
  detachedIds: readonly string[],
  collected: ReadonlyMap<string, CollectedStatus>,
): 'none' | 'final' | 'partial' {
  if (detachedIds.length === 0) return 'none';
  return detachedIds.every((id) => {
    const s = collected.get(id);
    return s !== undefined && ENDED_STATUSES.has(s);
  })
    ? 'final'
    : 'partial';
}

/**
 * Whether a held lock may be broken: its holder stopped without finishing (a crashed step) when it is older
 * than `staleMs`. An unreadable lock was not written by a gce-matrix that can finish it: stale.
 */
export function lockIsStale(lock: Parsed<LockRecord>, now: number, staleMs: number): boolean {
  if (!lock.ok) return true;
  return now - Date.parse(lock.value.at) > staleMs;
}
