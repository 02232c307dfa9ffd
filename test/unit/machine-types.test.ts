import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import type { MachineShape } from '../../src/launch/machine-types.ts';
import { checkPacking, machineShape, perVmFit } from '../../src/launch/machine-types.ts';
import type { HostExtras } from '../../src/launch/machine-types.ts';
import type { Resources } from '../../src/launch/settings.ts';

/** Resources of cpus and memory, GPUs and disk (MiB) none unless given. */
function r(cpus: number, memoryMb: number, gpus = 0, diskMb = 0): Resources {
  return { cpus, memoryMb, gpus, diskMb };
}

describe('machineShape', () => {
  const cases: [string, MachineShape | undefined][] = [
    ['e2-standard-2', { vcpus: 2, memoryMb: 8192 }],
    ['n2-standard-8', { vcpus: 8, memoryMb: 32768 }],
    ['n2-highmem-4', { vcpus: 4, memoryMb: 32768 }],
    ['n2-highcpu-16', { vcpus: 16, memoryMb: 16384 }],
    ['e2-highcpu-8', { vcpus: 8, memoryMb: 8192 }],
    ['n1-standard-1', { vcpus: 1, memoryMb: 3840 }],
    ['n1-highmem-2', { vcpus: 2, memoryMb: 13312 }],
    ['n1-highcpu-4', { vcpus: 4, memoryMb: 3686 }],
    ['c3-highcpu-4', { vcpus: 4, memoryMb: 8192 }],
    ['c3-standard-4-lssd', { vcpus: 4, memoryMb: 16384 }],
    ['e2-micro', { vcpus: 2, memoryMb: 1024 }],
    ['e2-small', { vcpus: 2, memoryMb: 2048 }],
    ['e2-medium', { vcpus: 2, memoryMb: 4096 }],
    ['e2-custom-4-8192', { vcpus: 4, memoryMb: 8192 }],
    ['custom-2-4096', { vcpus: 2, memoryMb: 4096 }],
    ['n2-custom-8-65536-ext', { vcpus: 8, memoryMb: 65536 }],
    ['e2-custom-small-2048', { vcpus: 2, memoryMb: 2048 }],
    ['m1-megamem-96', undefined],
    ['a2-highgpu-1g', undefined],
    ['n2-standard', undefined],
    ['n2-standard-0', undefined],
    ['toString', undefined],
    ['', undefined],
  ];
  for (const [name, shape] of cases) {
    it(`${JSON.stringify(name)} -> ${shape ? `${shape.vcpus} vCPUs, ${shape.memoryMb} MiB` : 'unknown'}`, () => {
      assert.deepEqual(machineShape(name), shape);
    });
  }
});

describe('perVmFit', () => {
  const cases: [string, MachineShape, Resources | undefined, number][] = [
    ['one CPU each by default', { vcpus: 8, memoryMb: 32768 }, undefined, 8],
    ['CPUs bound', { vcpus: 16, memoryMb: 65536 }, r(4, 1024), 4],
    ['memory bound, less the system share', { vcpus: 16, memoryMb: 16384 }, r(1, 4096), 3],
    ['at most 64', { vcpus: 416, memoryMb: 1 << 22 }, r(1, 0), 64],
    ['not even one', { vcpus: 2, memoryMb: 1024 }, r(4, 0), 0],
  ];
  for (const [what, shape, resources, fit] of cases) {
    it(`${what}: ${fit}`, () => assert.equal(perVmFit(shape, resources), fit));
  }
  const withHost: [string, Resources, HostExtras, number][] = [
    ['GPUs bound', r(1, 0, 1), { gpus: 2 }, 2],
    ['GPUs not known: CPUs bound', r(1, 0, 1), {}, 8],
    ['no GPUs asked: the VM GPUs do not bind', r(1, 0, 0), { gpus: 1 }, 8],
    ['disk bound, less the system share', r(1, 0, 0, 15 * 1024), { bootDiskGb: 50 }, 2],
    ['disk not known: CPUs bound', r(1, 0, 0, 15 * 1024), {}, 8],
    ['GPUs of none: not even one', r(1, 0, 1), { gpus: 0 }, 0],
  ];
  for (const [what, resources, host, fit] of withHost) {
    it(`${what}: ${fit}`, () => assert.equal(perVmFit({ vcpus: 8, memoryMb: 32768 }, resources, host), fit));
  }
});

describe('checkPacking', () => {
  const labels = { resources: 'R', perVm: 'P', machineType: 'M' };
  const fits: [string, string, Resources | undefined, number][] = [
    ['an unknown machine type, unchecked', 'x9-weird-1', r(400, 1 << 20), 64],
    ['one experiment on the whole machine', 'e2-standard-4', r(4, 15872), 1],
    ['four of 1 CPU and 4 GB on 16 GB', 'e2-standard-4', r(1, 4096), 4],
    ['no resources: 1 CPU each', 'n2-standard-8', undefined, 8],
  ];
  for (const [what, type, resources, members] of fits) {
    it(`accepts ${what}`, () => assert.doesNotThrow(() => checkPacking(type, resources, members, labels)));
  }
  const hostLabels = { ...labels, accelerators: 'A', bootDisk: 'B' };
  const extrasFit: [string, string, Resources, number, HostExtras][] = [
    ['two of 1 GPU on 2 GPUs', 'n1-standard-8', r(1, 0, 1), 2, { gpus: 2 }],
    ['GPUs the caller does not know', 'n1-standard-8', r(1, 0, 4), 2, {}],
    ['GPUs on an unknown machine type', 'a2-highgpu-2g', r(1, 0, 1), 2, { gpus: 2 }],
    ['two of 20 GB on 50 GB less 10', 'n2-standard-8', r(1, 0, 0, 20 * 1024), 2, { bootDiskGb: 50 }],
    ['disk the caller does not know', 'n2-standard-8', r(1, 0, 0, 1 << 20), 2, {}],
  ];
  for (const [what, type, resources, members, host] of extrasFit) {
    it(`accepts ${what}`, () =>
      assert.doesNotThrow(() => checkPacking(type, resources, members, hostLabels, host)));
  }
  const extrasRefused: [string, string, Resources, number, HostExtras, RegExp][] = [
    [
      'members times GPUs above the accelerators',
      'n1-standard-8',
      r(1, 0, 1),
      3,
      { gpus: 2 },
      /^R asks for 1 GPU per experiment: 3 experiments \(P\) need 3, more than the 2 GPUs of the VM \(A\); raise the count in accelerators, lower resources.gpus, or set per-vm to 2 or fewer$/,
    ],
    [
      'GPUs on a VM without accelerators',
      'x9-weird-1',
      r(1, 0, 1),
      1,
      { gpus: 0 },
      /^R asks for 1 GPU per experiment: one experiment needs 1, more than the 0 GPUs of the VM \(A\); attach GPUs with accelerators, e\.g\. nvidia-tesla-t4:1, or set resources.gpus to 0$/,
    ],
    [
      'members times disk above the boot disk less the system share',
      'n2-standard-8',
      r(1, 0, 0, 15 * 1024),
      3,
      { bootDiskGb: 50 },
      /^R asks for 15 GB of disk per experiment: 3 experiments \(P\) need 45 GB, more than the 40 GB that a boot disk of 50 GB \(B\) leaves to experiments \(10 GB stay with the system\); raise boot-disk-size-gb to at least 55, lower resources.disk-gb, or set per-vm to 2 or fewer$/,
    ],
    [
      'one experiment more disk than the boot disk leaves',
      'n2-standard-8',
      r(1, 0, 0, 45 * 1024),
      1,
      { bootDiskGb: 50 },
      /^R asks for 45 GB of disk per experiment: one experiment needs 45 GB, more than the 40 GB .*raise boot-disk-size-gb to at least 55, lower resources.disk-gb$/,
    ],
  ];
  for (const [what, type, resources, members, host, message] of extrasRefused) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => checkPacking(type, resources, members, hostLabels, host),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
  const refusals: [string, string, Resources | undefined, number, RegExp][] = [
    [
      'more CPUs than the machine has',
      'e2-standard-4',
      r(8, 0),
      1,
      /^R asks for 8 CPUs per experiment, more than the 4 vCPUs of machine type e2-standard-4 \(M: 4 vCPUs, 16 GB\); lower resources.cpus to 4 or fewer, or choose a machine type with at least 8 vCPUs$/,
    ],
    [
      'more memory than the system leaves',
      'e2-standard-2',
      r(1, 8192),
      1,
      /^R asks for 8 GB of memory per experiment, more than the 7.5 GB that machine type e2-standard-2 \(M: 2 vCPUs, 8 GB\) leaves to experiments \(512 MiB stay with the system\)/,
    ],
    [
      'per-vm times CPUs above the vCPUs',
      'e2-standard-4',
      r(2, 0),
      3,
      /^P puts 3 experiments of 2 CPUs each \(R\) on one VM: 6 CPUs, more than the 4 vCPUs of machine type e2-standard-4 .*; set per-vm to 2 or fewer/,
    ],
    [
      'per-vm of default 1-CPU experiments above the vCPUs',
      'e2-standard-2',
      undefined,
      3,
      /^P puts 3 experiments of 1 CPU each \(R\) on one VM: 3 CPUs, more than the 2 vCPUs/,
    ],
    [
      'per-vm times memory above the memory',
      'n2-highcpu-8',
      r(1, 3072),
      3,
      /^P puts 3 experiments of 3 GB each \(R\) on one VM: 9 GB, more than the 8 GB of machine type n2-highcpu-8 .*; set per-vm to 2 or fewer, lower resources.memory-gb/,
    ],
  ];
  for (const [what, type, resources, members, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => checkPacking(type, resources, members, labels),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});
