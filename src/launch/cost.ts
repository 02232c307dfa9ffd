import type { Accelerator } from './settings.ts';

/**
 * Rough on-demand list prices (USD per hour, us-central1) per vCPU and per GB of memory, by machine family.
 * An estimate for the report, not a bill: regions, discounts and disks are left out, and it says so.
 */
const FAMILY_PRICES: Record<string, { vcpu: number; gb: number }> = {
  e2: { vcpu: 0.021811, gb: 0.002923 },
  n1: { vcpu: 0.031611, gb: 0.004237 },
  n2: { vcpu: 0.031611, gb: 0.004237 },
  n2d: { vcpu: 0.027502, gb: 0.003686 },
  n4: { vcpu: 0.0329, gb: 0.0044 },
  t2d: { vcpu: 0.027502, gb: 0.003686 },
  c2: { vcpu: 0.03398, gb: 0.00455 },
  c2d: { vcpu: 0.029563, gb: 0.003959 },
  c3: { vcpu: 0.03465, gb: 0.00464 },
  c3d: { vcpu: 0.029563, gb: 0.003959 },
  g2: { vcpu: 0.03059, gb: 0.00358 },
  a2: { vcpu: 0.031611, gb: 0.004237 },
};

const GPU_PRICES: Record<string, number> = {
  'nvidia-tesla-t4': 0.35,
  'nvidia-l4': 0.56,
  'nvidia-tesla-p4': 0.6,
  'nvidia-tesla-v100': 2.48,
  'nvidia-tesla-p100': 1.46,
  'nvidia-tesla-a100': 2.93,
  'nvidia-a100-80gb': 3.93,
  'nvidia-h100-80gb': 9.8,
};

/** Spot VMs cost a fraction of on-demand; this is a typical one. */
const SPOT_FACTOR = 0.35;

/** vCPUs and GB of memory of a predefined or custom machine type, where the name tells. */
export function machineShape(machineType: string): { vcpus: number; gb: number } | undefined {
  const shared: Record<string, { vcpus: number; gb: number }> = {
    'e2-micro': { vcpus: 0.25, gb: 1 },
    'e2-small': { vcpus: 0.5, gb: 2 },
    'e2-medium': { vcpus: 1, gb: 4 },
  };
  if (shared[machineType]) return shared[machineType];
  const custom = /^(?:[a-z0-9]+-)?custom-(\d+)-(\d+)(?:-ext)?$/.exec(machineType);
  if (custom) return { vcpus: Number(custom[1]), gb: Number(custom[2]) / 1024 };
  const m = /^([a-z0-9]+)-(standard|highmem|highcpu|megamem|ultramem|highgpu)-(\d+)g?$/.exec(machineType);
  if (!m) return undefined;
  const vcpus = Number(m[3]);
  const family = m[1];
  const perCpu: Record<string, number> = {
    standard: family === 'n1' ? 3.75 : 4,
    highmem: family === 'n1' ? 6.5 : 8,
    highcpu: family === 'n1' ? 0.9 : 1,
    megamem: 14.9,
    ultramem: 24,
    highgpu: 7.1,
  };
  return { vcpus, gb: vcpus * (perCpu[m[2]] ?? 4) };
}

/** Estimated USD for `seconds` of one VM; 0 when the machine family is unknown. */
export function estimateCostUsd(
  machineType: string,
  accelerators: readonly Accelerator[],
  spot: boolean,
  seconds: number,
): number {
  const shape = machineShape(machineType);
  const price = FAMILY_PRICES[machineType.split('-')[0] ?? ''];
  let hourly = shape && price ? shape.vcpus * price.vcpu + shape.gb * price.gb : 0;
  for (const a of accelerators) hourly += (GPU_PRICES[a.type] ?? 0) * a.count;
  if (spot) hourly *= SPOT_FACTOR;
  return Math.round(hourly * (seconds / 3600) * 10_000) / 10_000;
}
