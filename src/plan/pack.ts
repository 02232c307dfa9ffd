import { createHash } from 'node:crypto';
import { ConfigurationError } from '../errors.ts';
import { parseAccelerators, parseResources } from '../launch/inputs.ts';
import type { HostExtras, PackingLabels } from '../launch/machine-types.ts';
import { checkPacking, machineShape, perVmFit } from '../launch/machine-types.ts';
import type { Experiment } from '../launch/settings.ts';
import { PER_VM } from './spec.ts';

/** One planned experiment, with what grouping needs to know about its launch settings. */
export interface PackItem {
  /** The experiment as launch gets it: its `launch` never holds per-vm. */
  readonly experiment: Experiment;
  /** The spec's per-vm for it, when set. */
  readonly perVm: number | undefined;
  /** Where each of its launch keys (per-vm included) was set, e.g. `input spec: include[2].launch`. */
  readonly from: Readonly<Record<string, string>>;
}

/** The VM legs of a plan, in order, and which leg each experiment is in. */
export interface Legs {
  readonly legs: readonly Experiment[];
  /** Experiment id to the id of its leg (its own id when it has a VM to itself). */
  readonly legOf: ReadonlyMap<string, string>;
}

/** The id of a packed leg: `pack-` and 10 hex digits of the SHA-256 of its member ids, one a line. */
export function packId(memberIds: readonly string[]): string {
  return `pack-${createHash('sha256').update(memberIds.join('\n')).digest('hex').slice(0, 10)}`;
}

/**
 * How many experiments share a VM with `item`, checked against its machine type when the plan knows the type:
 * per-vm when the spec sets it; else, when it sets resources and a machine type the plan knows, as many as fit;
 * else 1.
 */
export function effectivePerVm(item: PackItem): number {
  const launch = item.experiment.launch ?? {};
  const from = (key: string): string =>
    `${item.from[key] ?? item.from[PER_VM] ?? 'input spec: launch'}.${key}`;
  const resources =
    launch.resources === undefined ? undefined : parseResources(launch.resources, from('resources'));
  const machineType = launch['machine-type'];
  const labels: PackingLabels = {
    resources: resources ? from('resources') : `${from('resources')} (not set: 1 CPU each)`,
    perVm: `${from(PER_VM)}, for experiment ${item.experiment.id},`,
    machineType: from('machine-type'),
    accelerators: from('accelerators'),
    bootDisk: from('boot-disk-size-gb'),
  };
  // The plan knows the VM's GPUs and disk only when the spec sets them; the workflow may set them on launch.
  const host: HostExtras = {
    gpus:
      launch.accelerators === undefined
        ? undefined
        : parseAccelerators(launch.accelerators).reduce((n, a) => n + a.count, 0),
    bootDiskGb: launch['boot-disk-size-gb'] === undefined ? undefined : Number(launch['boot-disk-size-gb']),
  };
  const shape = machineType === undefined ? undefined : machineShape(machineType);
  const perVm = item.perVm ?? (resources && shape ? Math.max(1, perVmFit(shape, resources, host)) : 1);
  checkPacking(machineType ?? '', resources, perVm, labels, host);
  return perVm;
}

/** Launch maps compare by their entries in key order. */
function poolKey(launch: Readonly<Record<string, string>> | undefined, perVm: number): string {
  const entries = Object.entries(launch ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([perVm, entries]);
}

/**
 * Groups experiments onto VMs: experiments with equal launch settings (per-vm aside) and equal per-vm form a
 * pool, walked in plan order and cut into consecutive groups of per-vm (the last one the rest). Legs follow the
 * plan order of their first member. With per-vm above 1 a group is a packed leg
 * (`{"id": "pack-…", "params": {}, "launch": {…}, "members": [{"id", "params"}, …]}`); else the experiment is its
 * own leg, as it always was.
 */
export function groupLegs(items: readonly PackItem[]): Legs {
  interface Group {
    readonly perVm: number;
    readonly launch: Readonly<Record<string, string>> | undefined;
    readonly members: Experiment[];
  }
  const groups: Group[] = [];
  const open = new Map<string, Group>();
  const perVmOfPool = new Map<string, number>();
  for (const item of items) {
    // Experiments with equal launch maps and per-vm share every check: check a pool once.
    const rawKey = poolKey(item.experiment.launch, item.perVm ?? 0);
    let perVm = perVmOfPool.get(rawKey);
    if (perVm === undefined) {
      perVm = effectivePerVm(item);
      perVmOfPool.set(rawKey, perVm);
    }
    const key = poolKey(item.experiment.launch, perVm);
    let group = open.get(key);
    if (!group || group.members.length >= perVm) {
      group = { perVm, launch: item.experiment.launch, members: [] };
      open.set(key, group);
      groups.push(group);
    }
    group.members.push(item.experiment);
  }
  const legs: Experiment[] = [];
  const legOf = new Map<string, string>();
  const ids = new Set(items.map((i) => i.experiment.id));
  for (const group of groups) {
    if (group.perVm === 1) {
      const [experiment] = group.members;
      legs.push(experiment);
      legOf.set(experiment.id, experiment.id);
      continue;
    }
    const id = packId(group.members.map((m) => m.id));
    if (ids.has(id)) {
      throw new ConfigurationError(
        `the experiment id ${JSON.stringify(id)} is also the id of a packed leg (pack-<hash>); give it another id`,
      );
    }
    const members = group.members.map((m) => ({ id: m.id, params: m.params }));
    legs.push(group.launch ? { id, params: {}, launch: group.launch, members } : { id, params: {}, members });
    for (const m of members) legOf.set(m.id, id);
  }
  return { legs, legOf };
}
