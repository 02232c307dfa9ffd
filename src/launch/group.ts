import { ConfigurationError } from '../errors.ts';
import { experimentPrefix, gsUri } from '../layout.ts';
import { escapeMarkdown } from '../markdown.ts';
import { instanceName } from '../naming.ts';
import { estimateCostUsd } from './cost.ts';
import type {
  AttemptEnd,
  LaunchDeps,
  LaunchLogger,
  LaunchResult,
  LaunchResults,
  LaunchStatus,
  MemberOutcome,
  VmHandle,
} from './experiment.ts';
import {
  checkpointForRerun,
  createVm,
  defaultPollPolicy,
  deleteVm,
  endingOf,
  LOG_TAIL_LINES,
  printSerialTail,
  retryReason,
  waitForEnd,
} from './experiment.ts';
import type { PlacedMember } from './instance.ts';
import { machineShape, perVmFit } from './machine-types.ts';
import type { LaunchSettings, PackedMember } from './settings.ts';

/** One experiment of the leg, as launch follows it across VMs. */
interface MemberRun {
  readonly member: PackedMember;
  readonly results: LaunchResults;
  readonly log: LaunchLogger;
  readonly tail: string[];
  /** VMs it has run on. */
  used: number;
  vms: string[];
  costUsd: number;
  end: AttemptEnd | undefined;
  done: boolean;
}

/**
 * How many rounds the members of one VM may need: all at once when the machine holds them side by side, else
 * one after another in the worst case (launch cannot see the VM's size for every machine type).
 */
export type RoundsOf = (settings: LaunchSettings, members: number) => number;

/**
 * Runs a packed leg: its experiments share one VM, whose agent admits each by its reserved resources. A VM
 * that is preempted or lost is replaced by one that runs only the experiments that had not finished (each
 * within its own max-attempts); every VM launch made is deleted. The VM's cost is split across the experiments
 * that ran on it by their reserved share (equal reservations: equal shares).
 */
export async function runPackedLeg(
  settings: LaunchSettings,
  deps: LaunchDeps,
  roundsOf: RoundsOf,
): Promise<LaunchResult> {
  const { resultsFor } = deps;
  if (!resultsFor) throw new Error('bug: a packed leg needs resultsFor');
  if (settings.detach) {
    throw new ConfigurationError(
      `input detach: a packed leg (${settings.experiment.id}, ${settings.members.length} experiments) cannot be detached yet; set detach: false or per-vm: 1`,
    );
  }
  const poll = deps.poll ?? defaultPollPolicy(settings);
  const started = deps.clock.now();
  const runs: MemberRun[] = settings.members.map((member) => ({
    member,
    results: resultsFor(member.id),
    log: deps.logFor?.(member.id) ?? deps.log,
    tail: [],
    used: 0,
    vms: [],
    costUsd: 0,
    end: undefined,
    done: false,
  }));
  await deps.results.checkBucket();

  // A re-run numbers its VMs (and every member's attempt on them) after the highest attempt an earlier run
  // left for any member, so no attempt's log or status is written twice.
  let vmAttempt = 0;
  for (const run of runs) {
    const previous = await run.results.previousAttempt();
    vmAttempt = Math.max(vmAttempt, previous.attempt);
    await run.results.clearMarkers();
    if (previous.attempt > 0) await checkpointForRerun(settings, { ...deps, results: run.results }, previous);
  }
  let lastVm: VmHandle | undefined;
  let vmCount = 0;
  for (;;) {
    const pending = runs.filter((r) => !r.done);
    if (pending.length === 0) break;
    deps.signal?.throwIfAborted();
    vmAttempt++;
    const name = instanceName(settings.results.runId, settings.experiment.id, vmAttempt);
    const members: PlacedMember[] = pending.map((r) => ({ ...r.member, attempt: vmAttempt }));
    const rounds = roundsOf(settings, members.length);
    const placed = await createVm(settings, deps, name, vmAttempt, { members, rounds });
    if ('failure' in placed) {
      for (const r of pending) {
        r.end = { kind: 'no-capacity', reason: placed.failure };
        r.done = true;
        r.used++;
      }
      break;
    }
    const { vm, spot } = placed;
    lastVm = vm;
    vmCount++;
    for (const r of pending) {
      r.used++;
      r.vms.push(vm.name);
    }
    deps.log.info(
      `${vm.name} runs ${pending.length} experiment(s) side by side: ${pending.map((r) => r.member.id).join(', ')}.`,
    );
    const vmStarted = deps.clock.now();
    const ends = await Promise.all(
      pending.map((r) =>
        waitForEnd(settings, { ...deps, results: r.results, log: r.log }, poll, vm, r.tail, Infinity, rounds),
      ),
    );
    const seconds = (deps.clock.now() - vmStarted) / 1000;
    const vmCost = estimateCostUsd(settings.machineType, settings.accelerators, spot, seconds);
    let again = 0;
    pending.forEach((r, i) => {
      const end = ends[i];
      r.end = end;
      // Equal reservations: an equal share of the VM each.
      r.costUsd += vmCost / pending.length;
      const why = retryReason(settings, end, vmAttempt, r.used);
      if (why === undefined) {
        r.done = true;
      } else {
        again++;
        r.log.warning(`${r.member.id}: ${why}`);
      }
    });
    if (ends.some((e) => e.kind !== 'status' || e.status.state !== 'succeeded')) {
      const lost = ends.find((e) => e.kind === 'lost');
      await printSerialTail(deps, vm, lost?.kind === 'lost' ? lost.console : undefined);
    }
    await deleteVm(deps, vm);
    if (again > 0) {
      deps.log.warning(
        `${again} of ${pending.length} experiment(s) on ${vm.name} had not finished; a new VM runs only those.`,
      );
    }
  }

  const outcomes: MemberOutcome[] = runs.map((r) => {
    if (!r.end) throw new Error('bug: a member never ran');
    const ending = endingOf(r.end, r.used);
    return {
      id: r.member.id,
      status: ending.status,
      exitCode: ending.exitCode,
      attempts: r.used,
      resultsUri: gsUri(settings.results.bucket, experimentPrefix(settings.results, r.member.id)),
      reason: ending.reason,
      costUsd: r.costUsd,
      vms: r.vms,
      final: ending.final,
    };
  });
  const status = legStatus(outcomes);
  const unwell = outcomes.filter((o) => o.status !== 'succeeded');
  const tail = runs.flatMap((r) =>
    r.end?.kind === 'status' && r.end.status.state === 'succeeded'
      ? []
      : r.tail.slice(-LOG_TAIL_LINES).map((line) => `[${r.member.id}] ${line}`),
  );
  return {
    status,
    exitCode: null,
    attempts: vmCount,
    zone: lastVm?.zone ?? '',
    machineType: settings.machineType,
    vmName: lastVm?.name ?? '',
    resultsUri: gsUri(settings.results.bucket, `${settings.results.prefix}${settings.results.runId}/`),
    durationSeconds: Math.round((deps.clock.now() - started) / 1000),
    costUsd: outcomes.reduce((n, o) => n + o.costUsd, 0),
    reason:
      unwell.length === 0
        ? ''
        : `${unwell.length} of ${outcomes.length} experiments did not succeed: ` +
          unwell.map((o) => `${o.id} ${o.status}${o.reason ? ` (${o.reason})` : ''}`).join('; '),
    final: undefined,
    logTail: tail.slice(-LOG_TAIL_LINES),
    experiments: outcomes,
  };
}

/** The leg's status: succeeded when every experiment did, else the worst one's (error, lost, failed). */
export function legStatus(
  outcomes: readonly Pick<MemberOutcome, 'status'>[],
): Exclude<LaunchStatus, 'detached'> {
  const order: Exclude<LaunchStatus, 'detached'>[] = ['error', 'lost', 'failed', 'succeeded'];
  for (const s of order) if (outcomes.some((o) => o.status === s)) return s;
  return 'succeeded';
}

/** A single experiment's result as the one entry of the output `experiments` (a detached one is `detached`). */
export function singleOutcome(id: string, result: LaunchResult): MemberOutcome | DetachedOutcome {
  return {
    id,
    status: result.status,
    exitCode: result.exitCode,
    attempts: result.attempts,
    resultsUri: result.resultsUri,
    reason: result.reason,
    costUsd: result.costUsd,
    vms: result.vmName ? [result.vmName] : [],
    final: result.final,
  };
}

/** A detached experiment's entry: still running, its status the watcher's to report. */
type DetachedOutcome = Omit<MemberOutcome, 'status'> & { readonly status: 'detached' };

/** The outcomes as the launch output `experiments`: no status objects, numbers rounded. */
export function outcomesJson(outcomes: readonly (MemberOutcome | DetachedOutcome)[]): string {
  return JSON.stringify(
    outcomes.map((o) => ({
      id: o.id,
      status: o.status,
      'exit-code': o.exitCode,
      attempts: o.attempts,
      'results-uri': o.resultsUri,
      reason: o.reason,
      'cost-usd': Number(o.costUsd.toFixed(4)),
      vms: o.vms,
    })),
  );
}

/** The job-summary lines of a packed leg: one row per experiment (ids and reasons escaped). */
export function legSummary(result: LaunchResult): string {
  const rows = (result.experiments ?? []).map(
    (o) =>
      `| \`${escapeMarkdown(o.id)}\` | ${o.status}${o.exitCode === null ? '' : ` (exit ${o.exitCode})`} | ${o.attempts} | ` +
      `${o.vms.map(escapeMarkdown).join(', ')} | ~$${o.costUsd.toFixed(4)} | ${escapeMarkdown(o.reason)} |`,
  );
  return [
    '| experiment | status | attempts | VMs | cost | reason |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/**
 * Rounds of a packed VM: 1 when its machine type holds every member side by side, else as many as admission
 * needs; one per member when the machine type's size is not known here.
 */
export const packedRounds: RoundsOf = (settings, members) => {
  const shape = machineShape(settings.machineType);
  const fit = shape
    ? perVmFit(shape, settings.resources, {
        gpus: settings.accelerators.reduce((n, a) => n + a.count, 0),
        bootDiskGb: settings.bootDiskSizeGb,
      })
    : 0;
  return fit > 0 ? Math.ceil(members / fit) : members;
};
