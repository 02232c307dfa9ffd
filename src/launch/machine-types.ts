import { ConfigurationError } from '../errors.ts';
import type { Resources } from './settings.ts';

/** What a machine type offers: its vCPUs and its memory in MiB (as Compute Engine's machineTypes API counts it). */
export interface MachineShape {
  readonly vcpus: number;
  readonly memoryMb: number;
}

/** Most experiments that may share one VM (`per-vm`). */
export const MAX_PER_VM = 64;

/** The VM agent keeps this much of the machine's memory for the system; members reserve from the rest. */
export const SYSTEM_MEMORY_MB = 512;

/**
 * GB of the boot disk kept for the system (the image, the agent, container images and logs); members reserve
 * `disk-gb` from the rest.
 */
export const SYSTEM_DISK_GB = 10;

/** The boot disk's size when launch input boot-disk-size-gb is not set. */
export const DEFAULT_BOOT_DISK_GB = 50;

/**
 * What the VM has besides its machine type, where the caller knows it: its GPUs (launch input accelerators) and
 * its boot disk in GB. undefined: not known here, not checked.
 */
export interface HostExtras {
  readonly gpus?: number | undefined;
  readonly bootDiskGb?: number | undefined;
}

/** GB of memory per vCPU by machine class, for series that follow the general rule. */
const GB_PER_VCPU: Readonly<Record<string, number>> = { standard: 4, highmem: 8, highcpu: 1 };

/** Series whose classes differ from the general rule. */
const SERIES_GB_PER_VCPU: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  n1: { standard: 3.75, highmem: 6.5, highcpu: 0.9 },
  // Their highcpu machines have 2 GB per vCPU, not 1.
  c2d: { standard: 4, highmem: 8, highcpu: 2 },
  c3: { standard: 4, highmem: 8, highcpu: 2 },
  c3d: { standard: 4, highmem: 8, highcpu: 2 },
  c4: { standard: 4, highmem: 8, highcpu: 2 },
  c4a: { standard: 4, highmem: 8, highcpu: 2 },
  c4d: { standard: 4, highmem: 8, highcpu: 2 },
  n4: { standard: 4, highmem: 8, highcpu: 2 },
};

/** Shared-core machine types, named in full. */
const SHARED_CORE: Readonly<Record<string, MachineShape>> = {
  'e2-micro': { vcpus: 2, memoryMb: 1024 },
  'e2-small': { vcpus: 2, memoryMb: 2048 },
  'e2-medium': { vcpus: 2, memoryMb: 4096 },
  'f1-micro': { vcpus: 1, memoryMb: 614 },
  'g1-small': { vcpus: 1, memoryMb: 1740 },
};

const PREDEFINED = /^([a-z][a-z0-9]*)-(standard|highmem|highcpu)-([1-9][0-9]*)(?:-lssd)?$/;
const CUSTOM = /^(?:([a-z][a-z0-9]*)-)?custom-([1-9][0-9]*)-([1-9][0-9]*)(?:-ext)?$/;
const E2_SHARED_CUSTOM = /^e2-custom-(micro|small|medium)-([1-9][0-9]*)$/;

/**
 * The vCPUs and memory of a Compute Engine machine type, from its name: predefined
 * `<series>-<standard|highmem|highcpu>-<N>` (n1 has 3.75, 6.5 and 0.9 GB per vCPU; the others 4, 8 and 1, or 2
 * for the highcpu of c2d, c3, c3d, c4, c4a, c4d and n4), the shared-core e2-micro, e2-small and e2-medium, and
 * custom `[<series>-]custom-<N>-<MB>[-ext]`. Names with no rule here (megamem, ultramem, GPU machine types, a
 * typo) give undefined: nothing is checked against them.
 *
 * @example machineShape('n2-standard-8') // { vcpus: 8, memoryMb: 32768 }
 */
export function machineShape(type: string): MachineShape | undefined {
  const name = type.trim();
  const shared = Object.hasOwn(SHARED_CORE, name) ? SHARED_CORE[name] : undefined;
  if (shared) return shared;
  const custom = CUSTOM.exec(name);
  if (custom) return { vcpus: Number(custom[2]), memoryMb: Number(custom[3]) };
  const sharedCustom = E2_SHARED_CUSTOM.exec(name);
  if (sharedCustom) return { vcpus: 2, memoryMb: Number(sharedCustom[2]) };
  const m = PREDEFINED.exec(name);
  if (!m) return undefined;
  const [, series, kind, count] = m;
  const perVcpu = (Object.hasOwn(SERIES_GB_PER_VCPU, series) ? SERIES_GB_PER_VCPU[series] : GB_PER_VCPU)[
    kind
  ];
  const vcpus = Number(count);
  return { vcpus, memoryMb: Math.floor(vcpus * perVcpu * 1024) };
}

/** How the caller names the settings a packing message is about: each label says where the setting was made. */
export interface PackingLabels {
  /** e.g. `input spec: launch.resources`, or `input resources`. */
  readonly resources: string;
  /** e.g. `input spec: launch.per-vm`, or `input experiment (packed leg pack-0123456789 of 4)`. */
  readonly perVm: string;
  /** e.g. `input spec: launch.machine-type`, or `input machine-type`. */
  readonly machineType: string;
  /** e.g. `input spec: launch.accelerators`; default `input accelerators`. */
  readonly accelerators?: string;
  /** e.g. `input spec: launch.boot-disk-size-gb`; default `input boot-disk-size-gb`. */
  readonly bootDisk?: string;
}

function gb(mb: number): string {
  return `${Math.round((mb / 1024) * 100) / 100} GB`;
}

/**
 * How many experiments of `resources` (undefined: 1 CPU, no memory) fit on `shape` at once, at most
 * {@link MAX_PER_VM}; memory counts without the system's share ({@link SYSTEM_MEMORY_MB}), disk without
 * {@link SYSTEM_DISK_GB}; GPUs and disk count only when `host` knows them. 0 when not even one.
 */
export function perVmFit(
  shape: MachineShape,
  resources: Resources | undefined,
  host: HostExtras = {},
): number {
  const cpus = resources?.cpus ?? 1;
  const memoryMb = resources?.memoryMb ?? 0;
  const byCpu = Math.floor(shape.vcpus / cpus);
  const byMemory =
    memoryMb > 0 ? Math.floor(Math.max(0, shape.memoryMb - SYSTEM_MEMORY_MB) / memoryMb) : MAX_PER_VM;
  return Math.min(byCpu, byMemory, byExtras(resources, host), MAX_PER_VM);
}

/** How many experiments of `resources` the VM's GPUs and disk hold, as far as `host` knows them. */
function byExtras(resources: Resources | undefined, host: HostExtras): number {
  const gpus = resources?.gpus ?? 0;
  const diskMb = resources?.diskMb ?? 0;
  const byGpu = gpus > 0 && host.gpus !== undefined ? Math.floor(host.gpus / gpus) : MAX_PER_VM;
  const byDisk =
    diskMb > 0 && host.bootDiskGb !== undefined
      ? Math.floor(usableDiskMb(host.bootDiskGb) / diskMb)
      : MAX_PER_VM;
  return Math.min(byGpu, byDisk);
}

function usableDiskMb(bootDiskGb: number): number {
  return Math.max(0, bootDiskGb - SYSTEM_DISK_GB) * 1024;
}

/**
 * Refuses, before any VM, `members` experiments of `resources` whose GPUs exceed the VM's accelerators or
 * whose disk exceeds its boot disk less {@link SYSTEM_DISK_GB}, as far as `host` knows them.
 */
function checkExtras(
  resources: Resources | undefined,
  members: number,
  labels: PackingLabels,
  host: HostExtras,
): void {
  const gpus = resources?.gpus ?? 0;
  const diskMb = resources?.diskMb ?? 0;
  const n = Math.max(1, members);
  const each = n === 1 ? 'one experiment' : `${n} experiments (${labels.perVm})`;
  if (gpus > 0 && host.gpus !== undefined && n * gpus > host.gpus) {
    const fit = Math.floor(host.gpus / gpus);
    throw new ConfigurationError(
      `${labels.resources} asks for ${gpus} GPU${gpus === 1 ? '' : 's'} per experiment: ${each} ${n === 1 ? 'needs' : 'need'} ${n * gpus}, more than the ${host.gpus} GPU${host.gpus === 1 ? '' : 's'} of the VM (${labels.accelerators ?? 'input accelerators'}); ${host.gpus === 0 ? 'attach GPUs with accelerators, e.g. nvidia-tesla-t4:1, or set resources.gpus to 0' : `raise the count in accelerators, lower resources.gpus${n > 1 ? `, or set per-vm to ${fit} or fewer` : ''}`}`,
    );
  }
  if (diskMb > 0 && host.bootDiskGb !== undefined && n * diskMb > usableDiskMb(host.bootDiskGb)) {
    const fit = Math.floor(usableDiskMb(host.bootDiskGb) / diskMb);
    throw new ConfigurationError(
      `${labels.resources} asks for ${gb(diskMb)} of disk per experiment: ${each} ${n === 1 ? 'needs' : 'need'} ${gb(n * diskMb)}, more than the ${Math.max(0, host.bootDiskGb - SYSTEM_DISK_GB)} GB that a boot disk of ${host.bootDiskGb} GB (${labels.bootDisk ?? 'input boot-disk-size-gb'}) leaves to experiments (${SYSTEM_DISK_GB} GB stay with the system); raise boot-disk-size-gb to at least ${Math.ceil((n * diskMb) / 1024) + SYSTEM_DISK_GB}, lower resources.disk-gb${n > 1 ? `, or set per-vm to ${fit} or fewer` : ''}`,
    );
  }
}

/**
 * Refuses, before any VM, a machine type that cannot hold `members` experiments of `resources` (undefined:
 * 1 CPU, no memory) each: one experiment's CPUs above the machine's vCPUs, its memory above what the agent
 * leaves to experiments (the machine's memory less {@link SYSTEM_MEMORY_MB}), or `members` times either above
 * the machine's vCPUs or memory; and `members` times its GPUs or disk above the VM's accelerators or its boot
 * disk less {@link SYSTEM_DISK_GB}, where `host` knows them. An unknown machine type ({@link machineShape}) is
 * not checked for CPUs and memory. The plan and launch both call this, each naming its own settings in `labels`.
 */
export function checkPacking(
  machineType: string,
  resources: Resources | undefined,
  members: number,
  labels: PackingLabels,
  host: HostExtras = {},
): void {
  checkExtras(resources, members, labels, host);
  const shape = machineShape(machineType);
  if (!shape) return;
  const cpus = resources?.cpus ?? 1;
  const memoryMb = resources?.memoryMb ?? 0;
  const machine = `machine type ${machineType} (${labels.machineType}: ${shape.vcpus} vCPUs, ${gb(shape.memoryMb)})`;
  if (cpus > shape.vcpus) {
    throw new ConfigurationError(
      `${labels.resources} asks for ${cpus} CPUs per experiment, more than the ${shape.vcpus} vCPUs of ${machine}; lower resources.cpus to ${shape.vcpus} or fewer, or choose a machine type with at least ${cpus} vCPUs`,
    );
  }
  const usable = shape.memoryMb - SYSTEM_MEMORY_MB;
  if (memoryMb > usable) {
    throw new ConfigurationError(
      `${labels.resources} asks for ${gb(memoryMb)} of memory per experiment, more than the ${gb(Math.max(0, usable))} that ${machine} leaves to experiments (${SYSTEM_MEMORY_MB} MiB stay with the system); lower resources.memory-gb or choose a machine type with more memory`,
    );
  }
  if (members <= 1) return;
  const fit = perVmFit(shape, resources, host);
  if (members * cpus > shape.vcpus) {
    throw new ConfigurationError(
      `${labels.perVm} puts ${members} experiments of ${cpus} CPU${cpus === 1 ? '' : 's'} each (${labels.resources}) on one VM: ${members * cpus} CPUs, more than the ${shape.vcpus} vCPUs of ${machine}; set per-vm to ${fit} or fewer, lower resources.cpus, or choose a bigger machine type`,
    );
  }
  if (members * memoryMb > shape.memoryMb) {
    throw new ConfigurationError(
      `${labels.perVm} puts ${members} experiments of ${gb(memoryMb)} each (${labels.resources}) on one VM: ${gb(members * memoryMb)}, more than the ${gb(shape.memoryMb)} of ${machine}; set per-vm to ${fit} or fewer, lower resources.memory-gb, or choose a machine type with more memory`,
    );
  }
}
