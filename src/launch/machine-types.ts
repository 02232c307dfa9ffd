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
}

function gb(mb: number): string {
  return `${Math.round((mb / 1024) * 100) / 100} GB`;
}

/**
 * How many experiments of `resources` (undefined: 1 CPU, no memory) fit on `shape` at once, at most
 * {@link MAX_PER_VM}; memory counts without the system's share ({@link SYSTEM_MEMORY_MB}). 0 when not even one.
 */
export function perVmFit(shape: MachineShape, resources: Resources | undefined): number {
  const cpus = resources?.cpus ?? 1;
  const memoryMb = resources?.memoryMb ?? 0;
  const byCpu = Math.floor(shape.vcpus / cpus);
  const byMemory =
    memoryMb > 0 ? Math.floor(Math.max(0, shape.memoryMb - SYSTEM_MEMORY_MB) / memoryMb) : MAX_PER_VM;
  return Math.min(byCpu, byMemory, MAX_PER_VM);
}

/**
 * Refuses, before any VM, a machine type that cannot hold `members` experiments of `resources` (undefined:
 * 1 CPU, no memory) each: one experiment's CPUs above the machine's vCPUs, its memory above what the agent
 * leaves to experiments (the machine's memory less {@link SYSTEM_MEMORY_MB}), or `members` times either above
 * the machine's vCPUs or memory. An unknown machine type ({@link machineShape}) is not checked. The plan and
 * launch both call this, each naming its own settings in `labels`.
 */
export function checkPacking(
  machineType: string,
  resources: Resources | undefined,
  members: number,
  labels: PackingLabels,
): void {
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
  const fit = perVmFit(shape, resources);
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
