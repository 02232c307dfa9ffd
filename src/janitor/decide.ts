import type { protos } from '@google-cloud/compute';

type Instance = protos.google.cloud.compute.v1.IInstance;

/** What the janitor needs to know about one VM, read from its instance resource. */
export interface JanitorVm {
  readonly name: string;
  readonly zone: string;
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Epoch ms; undefined when the resource did not say. */
  readonly createdAt: number | undefined;
  /** Epoch ms of the last start, when it has started at all. */
  readonly lastStartAt: number | undefined;
  /** Epoch ms of the last stop, when it has stopped. */
  readonly lastStopAt: number | undefined;
  /** `scheduling.maxRunDuration` in seconds, when the VM has one. */
  readonly maxRunSeconds: number | undefined;
}

/** Why a VM is deleted. */
export type DeleteReason = 'run-ended' | 'ttl-passed' | 'too-old' | 'terminated';

/** The verdict on one VM, with a sentence for the log and the summary. */
export type Verdict =
  | {
      readonly vm: JanitorVm;
      readonly action: 'delete';
      readonly reason: DeleteReason;
      readonly detail: string;
    }
  | { readonly vm: JanitorVm; readonly action: 'keep'; readonly detail: string };

/** The rules the janitor applies. */
export interface JanitorPolicy {
  /** Epoch ms. */
  readonly now: number;
  /** Grace after a VM's own deadline (and after a stop) before the janitor steps in, ms. */
  readonly marginMs: number;
  /** Age after which a VM without maxRunDuration is deleted, ms. */
  readonly maxAgeMs: number;
  /** Run keys (`gce-matrix-run-key`, see runKey) of runs known to be over. */
  readonly endedRuns: ReadonlySet<string>;
  /** When set, a run id only counts as ended for VMs with this `gce-matrix-repo` label value. */
  readonly repository?: string | undefined;
  /** Names of VMs left running detached (for the watcher): their run's end does not end them. */
  readonly detached?: ReadonlySet<string> | undefined;
}

/** The label every VM launch creates carries, and the janitor's list filter. */
export const MANAGED_FILTER = 'labels.gce-matrix = "managed"';

const STOPPED = new Set(['TERMINATED', 'STOPPED', 'SUSPENDED']);

function timestamp(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Reads the fields the janitor decides on from an instance resource listed in `zone`. */
export function toJanitorVm(instance: Instance, zone: string): JanitorVm {
  const seconds = Number(instance.scheduling?.maxRunDuration?.seconds ?? NaN);
  return {
    name: instance.name ?? '',
    zone,
    status: instance.status ?? '',
    labels: { ...(instance.labels ?? {}) },
    createdAt: timestamp(instance.creationTimestamp),
    lastStartAt: timestamp(instance.lastStartTimestamp),
    lastStopAt: timestamp(instance.lastStopTimestamp),
    maxRunSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : undefined,
  };
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

/**
 * Decides whether one VM is stale. Pure: the same VM, time and runs give the same verdict. A VM is deleted when
 * its run is known to be over, when it has been stopped for longer than the margin (launch replaces a stopped VM
 * at once, so one left stopped belongs to nobody), when it outlived its own maxRunDuration by the margin (Compute
 * Engine should have ended it), or, lacking a limit, when it is older than the maximum age.
 */
export function decide(vm: JanitorVm, policy: JanitorPolicy): Verdict {
  if (vm.labels['gce-matrix'] !== 'managed') {
    return { vm, action: 'keep', detail: 'not labelled gce-matrix=managed' };
  }
  // By the exact run key: the readable run label is lossy (run R.1 and run r_1 share it).
  const key = vm.labels['gce-matrix-run-key'];
  const run = vm.labels['gce-matrix-run'] ?? key;
  const sameRepo = policy.repository === undefined || vm.labels['gce-matrix-repo'] === policy.repository;
  if (key !== undefined && sameRepo && policy.endedRuns.has(key) && !policy.detached?.has(vm.name)) {
    return { vm, action: 'delete', reason: 'run-ended', detail: `run ${run} has ended` };
  }
  if (STOPPED.has(vm.status)) {
    const stoppedFor = vm.lastStopAt === undefined ? undefined : policy.now - vm.lastStopAt;
    if (stoppedFor === undefined || stoppedFor > policy.marginMs) {
      return {
        vm,
        action: 'delete',
        reason: 'terminated',
        detail: `${vm.status}${stoppedFor === undefined ? '' : ` for ${minutes(stoppedFor)}`}`,
      };
    }
    return { vm, action: 'keep', detail: `${vm.status} for ${minutes(stoppedFor)}, within the margin` };
  }
  const start = vm.lastStartAt ?? vm.createdAt;
  if (start === undefined) return { vm, action: 'keep', detail: 'no creation time' };
  const age = policy.now - start;
  if (vm.maxRunSeconds !== undefined) {
    const over = age - vm.maxRunSeconds * 1000;
    if (over > policy.marginMs) {
      return {
        vm,
        action: 'delete',
        reason: 'ttl-passed',
        detail: `running ${minutes(age)}, ${minutes(over)} past its limit of ${minutes(vm.maxRunSeconds * 1000)}`,
      };
    }
    return { vm, action: 'keep', detail: `running ${minutes(age)} of ${minutes(vm.maxRunSeconds * 1000)}` };
  }
  if (age > policy.maxAgeMs) {
    return {
      vm,
      action: 'delete',
      reason: 'too-old',
      detail: `no time limit and ${minutes(age)} old (maximum ${minutes(policy.maxAgeMs)})`,
    };
  }
  return { vm, action: 'keep', detail: `no time limit, ${minutes(age)} old` };
}
