import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { backoffMs } from '../clock.ts';
import { ConfigurationError } from '../errors.ts';
import type { ComputeApi } from '../gcp/compute.ts';
import type { Failure } from '../gcp/errors.ts';
import { GcpError } from '../gcp/errors.ts';
import type { ExperimentResults } from '../gcp/results.ts';
import type { ExperimentStatus } from '../layout.ts';
import { experimentPrefix, gsUri } from '../layout.ts';
import { instanceName } from '../naming.ts';
import type { DetachReason } from '../record.ts';
import { estimateCostUsd } from './cost.ts';
import type { AttemptPlacement } from './instance.ts';
import { buildInstance, vmTtlSeconds } from './instance.ts';
import type { LaunchSettings } from './settings.ts';

/** Where launch reports progress; the action maps it onto @actions/core, tests record it. */
export interface LaunchLogger {
  info(message: string): void;
  warning(message: string): void;
  /** Lines of the VM's own log, to be shown verbatim but never interpreted as workflow commands. */
  vmLog(lines: readonly string[]): void;
  startGroup(title: string): void;
  endGroup(): void;
}

/** The VM of the current attempt, saved before the first API call that could create it. */
export interface VmHandle {
  readonly name: string;
  readonly zone: string;
  readonly attempt: number;
  /** True while the insert call is in flight: the VM may appear a moment after a cancel. */
  readonly creating?: boolean;
}

/**
 * How often launch looks at what while an attempt runs. The agent's records come first (each look is one Cloud
 * Storage list of the attempt's folder); Compute Engine is asked about the instance only when they fall silent,
 * so an experiment-hour costs a few Compute requests, not one a minute.
 */
export interface PollPolicy {
  /** Look at the attempt's folder (status, heartbeat, preemption record): one Cloud Storage list. */
  readonly statusMs: number;
  /** No new heartbeat for this long (or none yet this long after the VM was made): look at the instance. */
  readonly heartbeatLateMs: number;
  /** While the heartbeat is late, the instance is looked at this often. */
  readonly lateCheckMs: number;
  /** While heartbeats come, the instance is still looked at this often, as a safety net. */
  readonly instanceMs: number;
  /** A RUNNING instance whose agent has been silent this long is given up as hung. */
  readonly hungMs: number;
  /** How long to wait for the very first heartbeat (boot and agent start) of a RUNNING instance. */
  readonly bootGraceMs: number;
  /** While a preempted or stopping VM's shutdown run works, the instance is looked at this often. */
  readonly shutdownCheckMs: number;
  /**
   * After the preemption record is seen, the longest its shutdown run can still be working: Compute Engine
   * stops a preempted guest 30 s after its notice, and the record is written and seen a moment after it.
   */
  readonly preemptionMs: number;
}

/** The default policy for a heartbeat period; see PollPolicy. */
export function defaultPollPolicy(settings: LaunchSettings): PollPolicy {
  const heartbeat = settings.heartbeatSeconds * 1000;
  return {
    statusMs: 1000,
    heartbeatLateMs: Math.max(2 * heartbeat, heartbeat + 5000),
    lateCheckMs: 10_000,
    instanceMs: 10 * 60_000,
    hungMs: Math.max(10 * heartbeat, 5 * 60_000),
    bootGraceMs: 10 * 60_000,
    shutdownCheckMs: 2000,
    preemptionMs: 28_000,
  };
}

/** The Compute Engine calls launch makes (ComputeApi; tests may give a stand-in of the same shape). */
export type LaunchCompute = Pick<
  ComputeApi,
  'getInstance' | 'insertInstance' | 'deleteInstance' | 'serialOutput' | 'grantOnInstance'
>;

/** The Cloud Storage reads launch makes (ExperimentResults; tests may give a stand-in of the same shape). */
export type LaunchResults = Pick<
  ExperimentResults,
  | 'checkBucket'
  | 'previousAttempt'
  | 'clearMarkers'
  | 'clearCheckpoint'
  | 'probe'
  | 'readStatus'
  | 'newLogChunks'
>;

/** What launch needs from the outside, all injected. */
export interface LaunchDeps {
  readonly compute: LaunchCompute;
  readonly results: LaunchResults;
  readonly clock: Clock;
  readonly log: LaunchLogger;
  readonly agentScript: string;
  /** Called with the VM of the attempt before the API call that creates it, and with undefined once it is gone. */
  readonly onVm: (vm: VmHandle | undefined) => void;
  readonly poll?: PollPolicy;
  readonly signal?: AbortSignal;
  /**
   * Records the experiment as detached (run record, detached record, watcher index) before launch leaves its
   * VM running. Without it launch never detaches: `detach` is refused and the wait has no hand-over.
   */
  readonly recordDetached?: (detached: DetachedVm) => Promise<void>;
  /** A packed leg's members' results, each under its own prefix (required for a packed leg). */
  readonly resultsFor?: (experimentId: string) => LaunchResults;
  /** Where a packed leg's member reports its progress and log lines; default `log`. */
  readonly logFor?: (experimentId: string) => LaunchLogger;
}

/** A VM launch leaves running for the watcher, and why. */
export interface DetachedVm {
  readonly vm: VmHandle;
  readonly reason: DetachReason;
  /** Epoch ms at which the VM was created (or adopted). */
  readonly createdAt: number;
  /** The VM's hard time limit (maxRunDuration), seconds. */
  readonly ttlSeconds: number;
}

/** How the experiment ended, across all attempts; `detached`: still running, left to the watcher. */
export type LaunchStatus = 'succeeded' | 'failed' | 'error' | 'lost' | 'detached';

/** The outcome of actions/launch, as outputs. */
export interface LaunchResult {
  readonly status: LaunchStatus;
  readonly exitCode: number | null;
  readonly attempts: number;
  readonly zone: string;
  readonly machineType: string;
  readonly vmName: string;
  readonly resultsUri: string;
  readonly durationSeconds: number;
  readonly costUsd: number;
  readonly reason: string;
  readonly final: ExperimentStatus | undefined;
  /** The last lines of the VM's log, for the failure message. */
  readonly logTail: readonly string[];
  /** A packed leg's experiments, one outcome each (absent for a leg of one experiment). */
  readonly experiments?: readonly MemberOutcome[];
}

/** How one experiment of a packed leg ended (the launch output `experiments` lists these). */
export interface MemberOutcome {
  readonly id: string;
  readonly status: Exclude<LaunchStatus, 'detached'>;
  readonly exitCode: number | null;
  /** The VMs this experiment ran on (its attempts). */
  readonly attempts: number;
  readonly resultsUri: string;
  readonly reason: string;
  /** Its share of the VMs' estimated cost: each VM's cost split by the members' reserved CPUs. */
  readonly costUsd: number;
  /** The VMs it ran on, in order. */
  readonly vms: readonly string[];
  readonly final: ExperimentStatus | undefined;
}

/** How one attempt ended, as launch saw it. */
export type AttemptEnd =
  | { kind: 'status'; status: ExperimentStatus }
  | { kind: 'handover' }
  /** Preempted, and its shutdown run ended before the status: the checkpoint is the last one synced. */
  | { kind: 'preempted'; reason: string }
  /** `console`: the serial console's last lines, read while the VM was still there to read. */
  | { kind: 'lost'; reason: string; console?: readonly string[] }
  | { kind: 'no-capacity'; reason: string };

export const LOG_TAIL_LINES = 40;

/**
 * Runs one experiment to its end: creates the VM of each attempt (zones in order, spot then standard if
 * allowed), waits on its completion marker while streaming its log, retries preemption and VM loss on a new
 * VM, and deletes every VM it made.
 */
export async function runExperiment(settings: LaunchSettings, deps: LaunchDeps): Promise<LaunchResult> {
  const poll = deps.poll ?? defaultPollPolicy(settings);
  const started = deps.clock.now();
  const tail: string[] = [];
  let vmSeconds = 0;
  let lastVm: VmHandle | undefined;
  let lastSpot = settings.provisioning !== 'standard';
  let end: AttemptEnd | undefined;
  let attempt = 0;
  /** Attempts this launch made (or adopted). */
  let used = 0;
  /** Deletions of earlier attempts' VMs, under way while the next attempt runs. */
  const deleting: Promise<void>[] = [];
  if (settings.detach && !deps.recordDetached) {
    throw new ConfigurationError(
      'input detach: this runner cannot record detached experiments; set detach: false',
    );
  }
  const waitDeadline = started + settings.waitTimeoutMinutes * 60_000;
  const ttlSeconds = vmTtlSeconds(settings);
  const resultOf = (vm: VmHandle | undefined, seconds: number, spot: boolean) => ({
    attempts: Math.min(used, settings.maxAttempts),
    zone: vm?.zone ?? '',
    machineType: settings.machineType,
    vmName: vm?.name ?? '',
    resultsUri: gsUri(settings.results.bucket, experimentPrefix(settings.results, settings.experiment.id)),
    durationSeconds: Math.round((deps.clock.now() - started) / 1000),
    costUsd: estimateCostUsd(settings.machineType, settings.accelerators, spot, seconds),
    logTail: tail.slice(-LOG_TAIL_LINES),
  });
  const detach = async (vm: VmHandle, reason: DetachReason, createdAt: number): Promise<LaunchResult> => {
    await Promise.all(deleting);
    await deps.recordDetached!({ vm, reason, createdAt, ttlSeconds });
    const base = resultOf(vm, vmSeconds + (deps.clock.now() - createdAt) / 1000, lastSpot);
    const minutes = Math.round((deps.clock.now() - started) / 60_000);
    return {
      ...base,
      status: 'detached',
      exitCode: null,
      reason:
        reason === 'handover'
          ? `still running on ${vm.name} after ${minutes} min, the limit of wait-timeout-minutes (${settings.waitTimeoutMinutes}); handed over, the watcher reports it`
          : `running detached on ${vm.name}; the watcher reports it`,
      final: undefined,
    };
  };
  await deps.results.checkBucket();

  // A GitHub re-run of the job numbers its attempts after the ones an earlier run left in the bucket, so each
  // attempt keeps its own log and status; only a VM of the last attempt that still runs is adopted.
  const previous = await deps.results.previousAttempt();
  let nextAttempt = previous.attempt + 1;
  for (used = 1; used <= settings.maxAttempts; used++) {
    deps.signal?.throwIfAborted();
    // The last attempt's VM (the first one's, when an earlier run left no object yet) may still be running.
    const last = Math.max(previous.attempt, 1);
    const adopted =
      used === 1
        ? await findExisting(
            settings,
            deps,
            instanceName(settings.results.runId, settings.experiment.id, last),
          )
        : undefined;
    if (adopted) nextAttempt = last + 1;
    attempt = adopted ? last : nextAttempt++;
    const name = instanceName(settings.results.runId, settings.experiment.id, attempt);
    let vm: VmHandle;
    if (adopted) {
      vm = adopted.vm;
      lastSpot = adopted.spot;
      deps.log.info(
        `Adopting ${name} in ${vm.zone}, left running by an earlier run of this job: attempt ${attempt} continues.`,
      );
      deps.onVm(vm);
    } else {
      if (used === 1) {
        await deps.results.clearMarkers();
        if (previous.attempt > 0) await checkpointForRerun(settings, deps, previous);
      }
      const placed = await createVm(settings, deps, name, attempt);
      if ('failure' in placed) {
        end = { kind: 'no-capacity', reason: placed.failure };
        break;
      }
      vm = placed.vm;
      lastSpot = placed.spot;
    }
    lastVm = vm;
    const vmStarted = deps.clock.now();
    if (settings.detach) {
      deps.log.info(`${vm.name} runs detached: its status is left to the watcher.`);
      return detach(vm, 'detach', vmStarted);
    }
    deps.log.startGroup(`${settings.experiment.id}: attempt ${attempt} on ${vm.name} (${vm.zone})`);
    try {
      end = await waitForEnd(settings, deps, poll, vm, tail, deps.recordDetached ? waitDeadline : Infinity);
    } finally {
      deps.log.endGroup();
    }
    if (end.kind === 'handover') {
      deps.log.warning(
        `${settings.experiment.id} is still running after ${Math.round((deps.clock.now() - started) / 60_000)} min, the limit of ` +
          `wait-timeout-minutes: handing it over. ${vm.name} keeps running (until its own time limit); the watcher ` +
          'collects and reports it when it ends.',
      );
      vmSeconds += (deps.clock.now() - vmStarted) / 1000;
      return detach(vm, 'handover', vmStarted);
    }
    if (end.kind !== 'status' || end.status.state !== 'succeeded') {
      await printSerialTail(deps, vm, end.kind === 'lost' ? end.console : undefined);
    }
    vmSeconds += (deps.clock.now() - vmStarted) / 1000;
    const again = retryReason(settings, end, attempt, used);
    if (again === undefined) {
      await deleteVm(deps, vm);
      break;
    }
    deps.log.warning(again);
    // The next attempt's VM is created while this one is deleted: a preempted experiment loses no time to it.
    // Until it is gone, the post step finds it by its labels.
    deleting.push(
      deps.compute.deleteInstance(vm.zone, vm.name).catch((err: unknown) => {
        deps.log.warning(
          `Could not delete ${vm.name}: ${(err as Error).message}. Its time limit ends it; the janitor removes it earlier.`,
        );
      }),
    );
  }
  await Promise.all(deleting);
  used = Math.min(used, settings.maxAttempts);

  const base = resultOf(lastVm, vmSeconds, lastSpot);
  if (!end) throw new Error('bug: no attempt ran');
  return { ...base, ...endingOf(end, used) };
}

/** What an experiment's last attempt end makes of it, after `used` attempts. */
export function endingOf(
  end: AttemptEnd,
  used: number,
): Pick<LaunchResult, 'exitCode' | 'reason' | 'final'> & { status: Exclude<LaunchStatus, 'detached'> } {
  switch (end.kind) {
    case 'no-capacity':
      return { status: 'error', exitCode: null, reason: end.reason, final: undefined };
    case 'handover':
      throw new Error('bug: a hand-over was not returned');
    case 'preempted':
      return {
        status: 'lost',
        exitCode: null,
        reason: `preempted on all ${used} attempts`,
        final: undefined,
      };
    case 'lost':
      return {
        status: 'lost',
        exitCode: null,
        reason: `every attempt lost its VM (last: ${end.reason})`,
        final: undefined,
      };
    case 'status': {
      const s = end.status;
      if (s.state === 'preempted') {
        return { status: 'lost', exitCode: null, reason: `preempted on all ${used} attempts`, final: s };
      }
      return {
        status: s.state,
        exitCode: s.exitCode,
        reason: s.reason ?? (s.state === 'succeeded' ? '' : `exit code ${String(s.exitCode)}`),
        final: s,
      };
    }
  }
}

/** Why the experiment goes on to another attempt after `end`, or undefined when it is over. */
export function retryReason(
  settings: LaunchSettings,
  end: AttemptEnd,
  attempt: number,
  used: number,
): string | undefined {
  if (used >= settings.maxAttempts) return undefined;
  switch (end.kind) {
    case 'status': {
      const s = end.status;
      if (s.state === 'succeeded') return undefined;
      if (s.state === 'preempted') return `Attempt ${attempt} was preempted; the checkpoint was saved.`;
      if (!settings.retryOnFailure) return undefined;
      return `Attempt ${attempt} ${s.state} (${s.reason ?? `exit code ${String(s.exitCode)}`}); retrying as asked.`;
    }
    case 'preempted':
      return `Attempt ${attempt} was preempted: ${end.reason}.`;
    case 'lost':
      return `Attempt ${attempt} lost its VM: ${end.reason}.`;
    default:
      return undefined;
  }
}

/**
 * What a re-run starts from: by default (`rerun-checkpoint: auto`) the checkpoint of an attempt that was
 * preempted or lost its VM is resumed, and that of one whose command ended (or could not start) is removed,
 * so a failed command is not continued by accident. `keep` and `clean` decide it always.
 */
export async function checkpointForRerun(
  settings: LaunchSettings,
  deps: LaunchDeps,
  previous: { attempt: number; status: ExperimentStatus | undefined },
): Promise<void> {
  const state = previous.status?.state;
  const ended = state === 'succeeded' || state === 'failed' || state === 'error';
  const why = state ? `ended ${state}` : 'left no status (its VM was lost)';
  if (settings.rerunCheckpoint === 'keep' || (settings.rerunCheckpoint === 'auto' && !ended)) {
    deps.log.info(
      `An earlier run's attempt ${previous.attempt} ${why}: this run resumes from its checkpoint (rerun-checkpoint: ${settings.rerunCheckpoint}).`,
    );
    return;
  }
  const n = await deps.results.clearCheckpoint();
  deps.log.info(
    `An earlier run's attempt ${previous.attempt} ${why}: this run starts clean (${n} checkpoint object(s) removed; rerun-checkpoint: keep resumes instead).`,
  );
}

/** A VM of this name left by an earlier run of the same job, in any candidate zone. */
async function findExisting(
  settings: LaunchSettings,
  deps: LaunchDeps,
  name: string,
): Promise<{ vm: VmHandle; spot: boolean } | undefined> {
  for (const zone of settings.zones) {
    const found = await deps.compute.getInstance(zone, name);
    if (!found) continue;
    const attempt = Number(found.labels?.['gce-matrix-attempt'] ?? '1');
    const vm = { name, zone, attempt };
    if (found.status === 'RUNNING' || found.status === 'PROVISIONING' || found.status === 'STAGING') {
      return { vm, spot: found.scheduling?.provisioningModel === 'SPOT' };
    }
    deps.log.info(
      `Replacing ${name} in ${zone} (${found.status ?? 'unknown state'}), left by an earlier run.`,
    );
    deps.onVm(vm);
    await deleteVm(deps, vm);
  }
  return undefined;
}

/** Tries zones in order (and standard after spot when allowed) until one VM is created. */
export async function createVm(
  settings: LaunchSettings,
  deps: LaunchDeps,
  name: string,
  attempt: number,
  packed: Pick<AttemptPlacement, 'members' | 'rounds'> = {},
): Promise<{ vm: VmHandle; spot: boolean } | { failure: string }> {
  const models: boolean[] =
    settings.provisioning === 'spot'
      ? [true]
      : settings.provisioning === 'standard'
        ? [false]
        : [true, false];
  const failures: string[] = [];
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    for (const spot of models) {
      const quotaRegions = new Set<string>();
      const queue = [...settings.zones];
      for (let zone = queue.shift(); zone !== undefined; zone = queue.shift()) {
        const region = zone.replace(/-[a-z]$/, '');
        if (quotaRegions.has(region)) continue;
        deps.signal?.throwIfAborted();
        const vm = { name, zone, attempt };
        deps.onVm({ ...vm, creating: true });
        const resource = buildInstance(settings, {
          name,
          zone,
          attempt,
          spot,
          agentScript: deps.agentScript,
          ...packed,
        });
        let failure: Failure | undefined;
        try {
          failure = await deps.compute.insertInstance(zone, resource, randomUUID());
        } catch (err) {
          const explained = explain(err, settings, zone);
          // A refused insert made nothing: the post step need not wait for a VM to appear.
          if (explained instanceof ConfigurationError) deps.onVm(undefined);
          throw explained;
        }
        if (!failure) {
          deps.log.info(
            `Created ${name} in ${zone} (${spot ? 'spot' : 'standard'}, ${settings.machineType}).`,
          );
          await grantSelfDelete(deps, settings, vm);
          return { vm, spot };
        }
        if (failure.kind === 'already-exists') {
          // Another run of this job created it between our look and our insert: wait on it rather than duplicate it.
          deps.onVm(vm);
          deps.log.info(`${name} already exists in ${zone}; adopting it.`);
          return { vm, spot };
        }
        failures.push(`${zone} (${spot ? 'spot' : 'standard'}): ${failure.reason ?? failure.kind}`);
        if (failure.kind === 'quota') {
          quotaRegions.add(region);
          deps.log.warning(`Quota exhausted in ${region}: ${failure.message}. Trying another region.`);
        } else {
          deps.log.warning(
            `No capacity for ${settings.machineType} in ${zone}: ${failure.reason ?? failure.message}.`,
          );
          preferAvailable(queue, failure.zonesAvailable);
        }
      }
    }
    const onlyQuota = failures.length > 0 && failures.every((f) => /QUOTA|quota/.test(f));
    if (onlyQuota) break;
    if (round < rounds - 1) {
      const wait = 30_000 * (round + 1) + backoffMs(round, 1000, 10_000);
      deps.log.info(`Every zone is out of capacity; trying again in ${Math.round(wait / 1000)} s.`);
      await deps.clock.sleep(wait, deps.signal);
    }
  }
  deps.onVm(undefined);
  return {
    failure: `no VM could be created for ${settings.machineType}: ${failures.join('; ')}. Add zones (or regions) to input zones, or choose another machine type.`,
  };
}

/**
 * Lets the VM's own account delete this VM and no other: the self-delete role bound on the instance alone. Without
 * it the experiment still runs and reports; the VM is then deleted by launch, the watcher or the janitor.
 */
async function grantSelfDelete(
  deps: { compute: LaunchCompute; log: LaunchLogger },
  settings: LaunchSettings,
  vm: { name: string; zone: string },
): Promise<void> {
  try {
    await deps.compute.grantOnInstance(
      vm.zone,
      vm.name,
      `serviceAccount:${settings.vmServiceAccount}`,
      settings.vmSelfDeleteRole,
    );
  } catch (err) {
    deps.log.warning(
      `Could not grant ${settings.vmSelfDeleteRole} on ${vm.name} to ${settings.vmServiceAccount}, so the VM cannot ` +
        `delete itself when done (launch, the watcher or the janitor will): ${(err as Error).message}. ` +
        `Create the role and grant the launcher compute.instances.setIamPolicy as the README's setup does.`,
    );
  }
}

/** Moves the zones Compute Engine said have capacity to the front of the queue (only zones the user allowed). */
function preferAvailable(queue: string[], available: readonly string[] | undefined): void {
  if (!available) return;
  const hinted = queue.filter((z) => available.includes(z));
  const rest = queue.filter((z) => !available.includes(z));
  queue.splice(0, queue.length, ...hinted, ...rest);
}

/** Turns an API failure on create into a message that names the input or role to fix. */
function explain(err: unknown, settings: LaunchSettings, zone: string): unknown {
  if (!(err instanceof GcpError)) return err;
  const f = err.failure;
  if (f.kind === 'permission') {
    return new ConfigurationError(
      `the launching identity may not create VMs in project ${settings.project} (${f.message}). Grant it ` +
        `the gceMatrixLauncher role of the README's setup (or roles/compute.instanceAdmin.v1), and ` +
        `roles/iam.serviceAccountUser on ${settings.vmServiceAccount}.`,
    );
  }
  if (f.kind === 'invalid' || f.kind === 'not-found') {
    return new ConfigurationError(
      `Compute Engine refused the VM in ${zone}: ${f.message}. Check inputs machine-type (${settings.machineType}), ` +
        `image (${settings.image}), zones, accelerators and vm-service-account.`,
    );
  }
  return err;
}

/** Instance states in which the guest is off: whatever its shutdown run wrote is in the bucket already. */
const DOWN_STATES = new Set(['TERMINATED', 'STOPPED', 'SUSPENDED', 'GONE']);
/** Instance states in which the guest is shutting down: its shutdown run may still write the status. */
const STOPPING_STATES = new Set(['STOPPING', 'SUSPENDING']);

/**
 * Waits for the attempt's status, streaming the VM's log. A preemption is noticed by the record its shutdown
 * run writes first; a VM that dies without a word by its heartbeat falling late, confirmed by the instance's
 * state.
 */
export async function waitForEnd(
  settings: LaunchSettings,
  deps: LaunchDeps,
  poll: PollPolicy,
  vm: VmHandle,
  tail: string[],
  handoverAt: number,
  rounds = 1,
): Promise<AttemptEnd> {
  const start = deps.clock.now();
  const logEvery = settings.logIntervalSeconds * 1000;
  // A packed VM's last member may wait for its neighbours before it starts: `rounds` timeouts in all.
  const hardLimit = start + rounds * settings.timeoutMinutes * 60_000 + 20 * 60_000;
  let lastLogAt = 0;
  let lastChunk: string | undefined;
  let lastBeat: string | undefined;
  let lastBeatAt = start;
  let lastInstanceAt = start;
  let preemptedAt: number | undefined;
  let stopping = false;
  let consoleTail: string[] | undefined;

  const drainLog = async (): Promise<void> => {
    const chunks = await deps.results.newLogChunks(vm.attempt, lastChunk);
    for (const c of chunks) {
      const lines = c.text.replace(/\n$/, '').split('\n');
      deps.log.vmLog(lines);
      tail.push(...lines);
      if (tail.length > 4 * LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
      lastChunk = c.name;
    }
  };
  /** The attempt's status: its own copy, or the experiment's marker when only that was written. */
  const finalStatus = async (): Promise<ExperimentStatus | undefined> => {
    const own = await deps.results.readStatus(vm.attempt);
    if (own) return own;
    const marker = await deps.results.readStatus();
    return marker?.attempt === vm.attempt ? marker : undefined;
  };
  const ended = async (status: ExperimentStatus): Promise<AttemptEnd> => {
    await drainLog();
    return { kind: 'status', status };
  };

  for (;;) {
    deps.signal?.throwIfAborted();
    const now = deps.clock.now();
    const probe = await deps.results.probe(vm.attempt);
    if (probe.statusGeneration) {
      const status = await finalStatus();
      if (status) return ended(status);
    }
    if (now >= handoverAt) {
      await drainLog();
      return { kind: 'handover' };
    }
    if (probe.heartbeatGeneration && probe.heartbeatGeneration !== lastBeat) {
      lastBeat = probe.heartbeatGeneration;
      lastBeatAt = now;
    }
    if (probe.preemptedGeneration && preemptedAt === undefined) {
      preemptedAt = now;
      deps.log.warning(
        `${vm.name} was preempted; its shutdown run is saving the checkpoint (Compute Engine gives it 30 s).`,
      );
    }
    if (now - lastLogAt >= logEvery) {
      lastLogAt = now;
      await drainLog();
    }

    const silentFor = now - lastBeatAt;
    const every =
      preemptedAt !== undefined || stopping
        ? poll.shutdownCheckMs
        : silentFor > poll.heartbeatLateMs
          ? poll.lateCheckMs
          : poll.instanceMs;
    if (now - lastInstanceAt >= every) {
      lastInstanceAt = now;
      const instance = await deps.compute.getInstance(vm.zone, vm.name);
      const state = instance?.status ?? 'GONE';
      if (DOWN_STATES.has(state)) {
        const status = await finalStatus();
        if (status) return ended(status);
        await drainLog();
        if (preemptedAt !== undefined || (await deps.results.probe(vm.attempt)).preemptedGeneration) {
          return {
            kind: 'preempted',
            reason: `${vm.name} was preempted and its shutdown run ended before it wrote the status; the checkpoint is the last one synced`,
          };
        }
        return {
          kind: 'lost',
          reason: `${vm.name} is ${state === 'GONE' ? 'gone' : state} without a status (last heartbeat ${Math.round(silentFor / 1000)} s before)`,
          ...(consoleTail ? { console: consoleTail } : {}),
        };
      }
      if (STOPPING_STATES.has(state) && !stopping) {
        deps.log.warning(`${vm.name} is ${state}; waiting for its shutdown run to write the status.`);
        // Its console goes with it: what the agent said (a refused write, say) is read while it can be.
        consoleTail = await readSerialTail(deps, vm);
      }
      stopping = STOPPING_STATES.has(state);
      if (!stopping && preemptedAt === undefined) {
        if (lastBeat && silentFor > poll.hungMs) {
          return {
            kind: 'lost',
            reason: `no heartbeat from ${vm.name} for ${Math.round(silentFor / 1000)} s although it is ${state}`,
          };
        }
        if (!lastBeat && silentFor > poll.bootGraceMs) {
          return {
            kind: 'lost',
            reason: `${vm.name} never started its agent within ${Math.round(poll.bootGraceMs / 1000)} s`,
          };
        }
      }
    }
    if (preemptedAt !== undefined && now - preemptedAt > poll.preemptionMs) {
      // The guest is stopped by now whatever the instance's state says: nothing more will be written.
      const status = await finalStatus();
      if (status) return ended(status);
      await drainLog();
      return {
        kind: 'preempted',
        reason: `${vm.name} was preempted and wrote no status within ${Math.round(poll.preemptionMs / 1000)} s; the checkpoint is the last one synced`,
      };
    }
    if (now > hardLimit) {
      return { kind: 'lost', reason: `${vm.name} outlived the timeout without writing a status` };
    }
    await deps.clock.sleep(poll.statusMs, deps.signal);
  }
}

/** Prints the serial console's last lines; `earlier`, read before the VM went away, when it is gone now. */
export async function printSerialTail(
  deps: LaunchDeps,
  vm: VmHandle,
  earlier?: readonly string[],
): Promise<void> {
  const lines = (await readSerialTail(deps, vm)) ?? earlier;
  if (!lines || lines.length === 0) return;
  deps.log.info(`Last lines of ${vm.name}'s serial console:`);
  deps.log.vmLog([...lines]);
}

/** The serial console's last lines, or undefined when the VM (or its console) is gone. */
async function readSerialTail(deps: LaunchDeps, vm: VmHandle): Promise<string[] | undefined> {
  try {
    const out = await deps.compute.serialOutput(vm.zone, vm.name);
    if (!out || !out.contents) return undefined;
    return out.contents.replace(/\n$/, '').split('\n').slice(-LOG_TAIL_LINES);
  } catch (err) {
    deps.log.warning(`Could not read the serial console of ${vm.name}: ${(err as Error).message}`);
    return undefined;
  }
}

export async function deleteVm(deps: LaunchDeps, vm: VmHandle): Promise<void> {
  await deps.compute.deleteInstance(vm.zone, vm.name);
  deps.onVm(undefined);
}
