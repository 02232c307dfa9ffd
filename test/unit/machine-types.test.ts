import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import type { MachineShape } from '../../src/launch/machine-types.ts';
import { checkPacking, machineShape, perVmFit } from '../../src/launch/machine-types.ts';
import type { Resources } from '../../src/launch/settings.ts';

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
    ['CPUs bound', { vcpus: 16, memoryMb: 65536 }, { cpus: 4, memoryMb: 1024 }, 4],
    ['memory bound, less the system share', { vcpus: 16, memoryMb: 16384 }, { cpus: 1, memoryMb: 4096 }, 3],
    ['at most 64', { vcpus: 416, memoryMb: 1 << 22 }, { cpus: 1, memoryMb: 0 }, 64],
    ['not even one', { vcpus: 2, memoryMb: 1024 }, { cpus: 4, memoryMb: 0 }, 0],
  ];
  for (const [what, shape, resources, fit] of cases) {
    it(`${what}: ${fit}`, () => assert.equal(perVmFit(shape, resources), fit));
  }
});

describe('checkPacking', () => {
  const labels = { resources: 'R', perVm: 'P', machineType: 'M' };
  const fits: [string, string, Resources | undefined, number][] = [
    ['an unknown machine type, unchecked', 'x9-weird-1', { cpus: 400, memoryMb: 1 << 20 }, 64],
    ['one experiment on the whole machine', 'e2-standard-4', { cpus: 4, memoryMb: 15872 }, 1],
    ['four of 1 CPU and 4 GB on 16 GB', 'e2-standard-4', { cpus: 1, memoryMb: 4096 }, 4],
    ['no resources: 1 CPU each', 'n2-standard-8', undefined, 8],
  ];
  for (const [what, type, resources, members] of fits) {
    it(`accepts ${what}`, () => assert.doesNotThrow(() => checkPacking(type, resources, members, labels)));
  }
  const refusals: [string, string, Resources | undefined, number, RegExp][] = [
    [
      'more CPUs than the machine has',
      'e2-standard-4',
      { cpus: 8, memoryMb: 0 },
      1,
      /^R asks for 8 CPUs per experiment, more than the 4 vCPUs of machine type e2-standard-4 \(M: 4 vCPUs, 16 GB\); lower resources.cpus to 4 or fewer, or choose a machine type with at least 8 vCPUs$/,
    ],
    [
      'more memory than the system leaves',
      'e2-standard-2',
      { cpus: 1, memoryMb: 8192 },
      1,
      /^R asks for 8 GB of memory per experiment, more than the 7.5 GB that machine type e2-standard-2 \(M: 2 vCPUs, 8 GB\) leaves to experiments \(512 MiB stay with the system\)/,
    ],
    [
      'per-vm times CPUs above the vCPUs',
      'e2-standard-4',
      { cpus: 2, memoryMb: 0 },
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
      { cpus: 1, memoryMb: 3072 },
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
