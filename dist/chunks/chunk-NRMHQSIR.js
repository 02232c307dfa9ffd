import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);

// src/launch/cost.ts
var FAMILY_PRICES = {
  e2: { vcpu: 0.021811, gb: 2923e-6 },
  n1: { vcpu: 0.031611, gb: 4237e-6 },
  n2: { vcpu: 0.031611, gb: 4237e-6 },
  n2d: { vcpu: 0.027502, gb: 3686e-6 },
  n4: { vcpu: 0.0329, gb: 44e-4 },
  t2d: { vcpu: 0.027502, gb: 3686e-6 },
  c2: { vcpu: 0.03398, gb: 455e-5 },
  c2d: { vcpu: 0.029563, gb: 3959e-6 },
  c3: { vcpu: 0.03465, gb: 464e-5 },
  c3d: { vcpu: 0.029563, gb: 3959e-6 },
  g2: { vcpu: 0.03059, gb: 358e-5 },
  a2: { vcpu: 0.031611, gb: 4237e-6 }
};
var GPU_PRICES = {
  "nvidia-tesla-t4": 0.35,
  "nvidia-l4": 0.56,
  "nvidia-tesla-p4": 0.6,
  "nvidia-tesla-v100": 2.48,
  "nvidia-tesla-p100": 1.46,
  "nvidia-tesla-a100": 2.93,
  "nvidia-a100-80gb": 3.93,
  "nvidia-h100-80gb": 9.8
};
var SPOT_FACTOR = 0.35;
function machineShape(machineType) {
  const shared = {
    "e2-micro": { vcpus: 0.25, gb: 1 },
    "e2-small": { vcpus: 0.5, gb: 2 },
    "e2-medium": { vcpus: 1, gb: 4 }
  };
  if (shared[machineType]) return shared[machineType];
  const custom = /^(?:[a-z0-9]+-)?custom-(\d+)-(\d+)(?:-ext)?$/.exec(machineType);
  if (custom) return { vcpus: Number(custom[1]), gb: Number(custom[2]) / 1024 };
  const m = /^([a-z0-9]+)-(standard|highmem|highcpu|megamem|ultramem|highgpu)-(\d+)g?$/.exec(machineType);
  if (!m) return void 0;
  const vcpus = Number(m[3]);
  const family = m[1];
  const perCpu = {
    standard: family === "n1" ? 3.75 : 4,
    highmem: family === "n1" ? 6.5 : 8,
    highcpu: family === "n1" ? 0.9 : 1,
    megamem: 14.9,
    ultramem: 24,
    highgpu: 7.1
  };
  return { vcpus, gb: vcpus * (perCpu[m[2]] ?? 4) };
}
function estimateCostUsd(machineType, accelerators, spot, seconds) {
  const shape = machineShape(machineType);
  const price = FAMILY_PRICES[machineType.split("-")[0] ?? ""];
  let hourly = shape && price ? shape.vcpus * price.vcpu + shape.gb * price.gb : 0;
  for (const a of accelerators) hourly += (GPU_PRICES[a.type] ?? 0) * a.count;
  if (spot) hourly *= SPOT_FACTOR;
  return Math.round(hourly * (seconds / 3600) * 1e4) / 1e4;
}

export {
  estimateCostUsd
};
