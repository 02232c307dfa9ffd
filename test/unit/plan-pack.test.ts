import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { parseExperiment } from '../../src/launch/inputs.ts';
import type { Experiment } from '../../src/launch/settings.ts';
import type { PlanLimits } from '../../src/plan/expand.ts';
import { expandPlan } from '../../src/plan/expand.ts';
import { planOutputs, planSummary } from '../../src/plan/outputs.ts';
import { parseSpec } from '../../src/plan/spec.ts';

const LIMITS: PlanLimits = { maxExperiments: 1000, batchSize: 256, maxBatches: undefined };

function plan(text: string, limits: Partial<PlanLimits> = {}) {
  return expandPlan(parseSpec([{ label: 'input spec', text }]), [], undefined, { ...LIMITS, ...limits });
}

/** What a packed leg's id must be: pack- and 10 hex digits of the SHA-256 of its member ids, one a line. */
function expectedId(ids: readonly string[]): string {
  return `pack-${createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 10)}`;
}

function memberIds(leg: Experiment): string[] {
  return (leg.members ?? []).map((m) => m.id);
}

const SERVICES = Array.from({ length: 9 }, (_, i) => `svc${i + 1}`);
const TOOLS = Array.from({ length: 6 }, (_, i) => `tool${i + 1}`);
const BENCH = `axes: {service: [${SERVICES.join(', ')}], tool: [${TOOLS.join(', ')}]}`;

describe('packing experiments on VMs', () => {
  it('puts 54 experiments (9 services x 6 tools) with per-vm 4 on 14 VMs, members in plan order', () => {
    const p = plan(`${BENCH}\nlaunch: {per-vm: 4, machine-type: e2-standard-8, resources: {cpus: 2}}`);
    assert.equal(p.experiments.length, 54);
    assert.equal(p.legs.length, 14);
    assert.deepEqual(
      p.legs.map((l) => l.members?.length),
      [...Array<number>(13).fill(4), 2],
    );
    assert.deepEqual(
      p.legs.flatMap(memberIds),
      p.experiments.map((e) => e.id),
    );
    for (const leg of p.legs) {
      assert.equal(leg.id, expectedId(memberIds(leg)));
      assert.deepEqual(leg.params, {});
      assert.deepEqual(leg.launch, { 'machine-type': 'e2-standard-8', resources: 'cpus=2,memory-gb=0' });
      for (const m of leg.members ?? []) {
        assert.deepEqual(m.params, p.experiments.find((e) => e.id === m.id)?.params);
      }
    }
    assert.deepEqual(
      p.legs[0].members?.map((m) => m.id),
      [
        'service-svc1_tool-tool1_seed-1',
        'service-svc1_tool-tool2_seed-1',
        'service-svc1_tool-tool3_seed-1',
        'service-svc1_tool-tool4_seed-1',
      ],
    );
    // per-vm is the plan's alone: no experiment and no leg carries it to launch.
    assert.ok(p.experiments.every((e) => e.launch && !('per-vm' in e.launch)));
    assert.equal(new Set(p.legs.map((l) => l.id)).size, 14);
  });

  it('gives the same leg ids on every run, and other ids when the members change', () => {
    const text = `${BENCH}\nlaunch: {per-vm: 4}`;
    const a = plan(text).legs.map((l) => l.id);
    assert.deepEqual(
      plan(text).legs.map((l) => l.id),
      a,
    );
    assert.deepEqual(
      JSON.stringify(planOutputs(plan(text), '1')),
      JSON.stringify(planOutputs(plan(text), '1')),
    );
    // Another tool shifts every group after the first service: those ids change, the first leg's do not.
    const b = plan(
      `axes: {service: [${SERVICES.join(', ')}], tool: [${[...TOOLS, 'tool7'].join(', ')}]}\nlaunch: {per-vm: 4}`,
    ).legs.map((l) => l.id);
    assert.equal(b[0], a[0]);
    assert.notEqual(b[1], a[1]);
    const c = plan(`${BENCH}\nlaunch: {per-vm: 3}`).legs.map((l) => l.id);
    assert.equal(c.filter((id) => a.includes(id)).length, 0);
  });

  const pools: [string, string, string[][]][] = [
    [
      'an include with its own machine type makes a pool of its own, legs in order of their first member',
      'axes: {t: [a, b, c, d, e]}\nlaunch: {per-vm: 2}\ninclude: [{t: b, launch: {machine-type: n2-standard-8}}, {t: d, launch: {machine-type: n2-standard-8}}]',
      [['t-a_seed-1', 't-c_seed-1'], ['t-b_seed-1', 't-d_seed-1'], ['t-e_seed-1']],
    ],
    [
      'equal launch maps written in another key order share a pool',
      'axes: {t: [a, b]}\nlaunch: {per-vm: 2}\ninclude: [{t: a, launch: {zones: us-central1-a, machine-type: e2-standard-4}}, {t: b, launch: {machine-type: e2-standard-4, zones: us-central1-a}}]',
      [['t-a_seed-1', 't-b_seed-1']],
    ],
    [
      'resources written in two forms are one value',
      'axes: {t: [a, b]}\nlaunch: {per-vm: 2}\ninclude: [{t: a, launch: {resources: {cpus: 2}}}, {t: b, launch: {resources: "cpus=2,memory-gb=0"}}]',
      [['t-a_seed-1', 't-b_seed-1']],
    ],
    [
      'a different per-vm makes a pool of its own',
      'axes: {t: [a, b, c, d]}\nlaunch: {per-vm: 3}\ninclude: [{t: b, launch: {per-vm: 2}}, {t: c, launch: {per-vm: 2}}]',
      [
        ['t-a_seed-1', 't-d_seed-1'],
        ['t-b_seed-1', 't-c_seed-1'],
      ],
    ],
    [
      'repetitions pack with their combination, first groups full, the last the rest',
      'axes: {t: [a, b]}\nrepetitions: 3\nlaunch: {per-vm: 4}',
      [
        ['t-a_seed-1', 't-a_seed-2', 't-a_seed-3', 't-b_seed-1'],
        ['t-b_seed-2', 't-b_seed-3'],
      ],
    ],
    [
      'per-vm with a single experiment still makes a packed leg',
      'axes: {t: [a]}\nlaunch: {per-vm: 4}',
      [['t-a_seed-1']],
    ],
  ];
  for (const [what, text, groups] of pools) {
    it(what, () => {
      const p = plan(text);
      assert.deepEqual(p.legs.map(memberIds), groups);
      assert.ok(p.legs.every((l) => l.id === expectedId(memberIds(l))));
    });
  }

  const fits: [string, string, number[] | undefined][] = [
    ['as many as the CPUs hold', 'machine-type: n2-standard-8, resources: {cpus: 2}', [4, 4, 2]],
    [
      'as many as the memory holds, less the system share',
      'machine-type: e2-standard-4, resources: {cpus: 1, memory-gb: 4}',
      [3, 3, 3, 1],
    ],
    [
      'one each when the machine type is unknown',
      'machine-type: m1-megamem-96, resources: {cpus: 2}',
      undefined,
    ],
    ['one each when the machine type is not in the spec', 'resources: {cpus: 2}', undefined],
    ['one each when resources are not set', 'machine-type: n2-standard-8', undefined],
    [
      'as many as the GPUs of accelerators hold',
      'machine-type: n1-standard-16, accelerators: "nvidia-tesla-t4:4", resources: {gpus: 2}',
      [2, 2, 2, 2, 2],
    ],
    [
      'as many as the boot disk holds, less the system share',
      'machine-type: n2-standard-16, boot-disk-size-gb: 40, resources: {disk-gb: 10}',
      [3, 3, 3, 1],
    ],
    [
      'by the CPUs when the spec does not set the boot disk',
      'machine-type: n2-standard-8, resources: {cpus: 2, disk-gb: 100}',
      [4, 4, 2],
    ],
    [
      'one each when a single experiment fills the machine',
      'machine-type: e2-standard-2, resources: {cpus: 2}',
      undefined,
    ],
  ];
  for (const [what, launch, sizes] of fits) {
    it(`without per-vm, packs ${what}`, () => {
      const p = plan(`axes: {t: [a, b, c, d, e, f, g, h, i, j]}\nlaunch: {${launch}}`);
      if (sizes === undefined) {
        assert.deepEqual(p.legs, p.experiments);
        assert.ok(p.legs.every((l) => l.members === undefined));
      } else {
        assert.deepEqual(
          p.legs.map((l) => l.members?.length),
          sizes,
        );
      }
    });
  }

  it('leaves a plan without per-vm and resources exactly as it was', () => {
    const p = plan('axes: {t: [a, b]}\nlaunch: {machine-type: n2-standard-8}');
    assert.deepEqual(p.legs, p.experiments);
    assert.equal(
      planOutputs(p, '1').matrix,
      '{"include":[{"experiment":{"id":"t-a_seed-1","params":{"t":"a","seed":1},"launch":{"machine-type":"n2-standard-8"}}},{"experiment":{"id":"t-b_seed-1","params":{"t":"b","seed":1},"launch":{"machine-type":"n2-standard-8"}}}]}',
    );
    // An empty launch map stays in the matrix as it always did.
    assert.deepEqual(plan('axes: {t: [a]}\nlaunch: {}').legs[0].launch, {});
  });

  it('leaves out a launch map that held per-vm alone', () => {
    const p = plan('axes: {t: [a, b]}\nlaunch: {per-vm: 2}');
    assert.equal(p.legs[0].launch, undefined);
    assert.ok(p.experiments.every((e) => e.launch === undefined));
  });

  it('gives a single experiment its resources and never per-vm', () => {
    const p = plan('axes: {t: [a]}\nlaunch: {per-vm: 1, resources: {cpus: 2, memory-gb: 0.5}}');
    assert.deepEqual(p.legs, [
      { id: 't-a_seed-1', params: { t: 'a', seed: 1 }, launch: { resources: 'cpus=2,memory-gb=0.5' } },
    ]);
  });

  it("refuses an experiment whose id is a packed leg's", () => {
    const clash = expectedId(['a', 'b']);
    assert.throws(
      () =>
        plan(`id: "{t}"\ninclude: [{t: a, launch: {per-vm: 2}}, {t: b, launch: {per-vm: 2}}, {t: ${clash}}]`),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        err.message ===
          `the experiment id "${clash}" is also the id of a packed leg (pack-<hash>); give it another id`,
    );
  });

  const refusals: [string, string, RegExp][] = [
    [
      'resources.cpus above the machine type',
      'launch: {machine-type: e2-standard-4, resources: {cpus: 8}}',
      /^input spec: launch\.resources asks for 8 CPUs per experiment, more than the 4 vCPUs of machine type e2-standard-4 \(input spec: launch\.machine-type: 4 vCPUs, 16 GB\); lower resources\.cpus to 4 or fewer, or choose a machine type with at least 8 vCPUs$/,
    ],
    [
      'resources.memory-gb above what the machine leaves',
      'launch: {machine-type: e2-standard-2, resources: {memory-gb: 8}}',
      /^input spec: launch\.resources asks for 8 GB of memory per experiment, more than the 7\.5 GB that machine type e2-standard-2 .* leaves to experiments \(512 MiB stay with the system\); lower resources\.memory-gb/,
    ],
    [
      'per-vm x cpus above the vCPUs',
      'launch: {machine-type: e2-standard-4, per-vm: 3, resources: {cpus: 2}}',
      /^input spec: launch\.per-vm, for experiment t-a_seed-1, puts 3 experiments of 2 CPUs each \(input spec: launch\.resources\) on one VM: 6 CPUs, more than the 4 vCPUs of machine type e2-standard-4 \(input spec: launch\.machine-type: 4 vCPUs, 16 GB\); set per-vm to 2 or fewer, lower resources\.cpus, or choose a bigger machine type$/,
    ],
    [
      'per-vm of 1-CPU experiments above the vCPUs',
      'launch: {machine-type: e2-standard-2, per-vm: 4}',
      /^input spec: launch\.per-vm, for experiment t-a_seed-1, puts 4 experiments of 1 CPU each \(input spec: launch\.resources \(not set: 1 CPU each\)\) on one VM: 4 CPUs, more than the 2 vCPUs/,
    ],
    [
      'per-vm x memory above the machine',
      'launch: {machine-type: n2-highcpu-8, per-vm: 4}\ninclude: [{t: a, launch: {resources: {memory-gb: 3}}}]',
      /^input spec: launch\.per-vm, for experiment t-a_seed-1, puts 4 experiments of 3 GB each \(input spec: include\[0\]\.launch\.resources\) on one VM: 12 GB, more than the 8 GB of machine type n2-highcpu-8 \(input spec: launch\.machine-type: 8 vCPUs, 8 GB\); set per-vm to 2 or fewer/,
    ],
    [
      'per-vm x GPUs above the accelerators',
      'launch: {per-vm: 3, accelerators: "nvidia-tesla-t4:2", resources: {gpus: 1}}',
      /^input spec: launch\.resources asks for 1 GPU per experiment: 3 experiments \(input spec: launch\.per-vm, for experiment t-a_seed-1,\) need 3, more than the 2 GPUs of the VM \(input spec: launch\.accelerators\); raise the count in accelerators, lower resources\.gpus, or set per-vm to 2 or fewer$/,
    ],
    [
      'GPUs when the accelerators attach none of them',
      'launch: {machine-type: n1-standard-4, accelerators: "", resources: {gpus: 1}}',
      /^input spec: launch\.resources asks for 1 GPU per experiment: one experiment needs 1, more than the 0 GPUs of the VM \(input spec: launch\.accelerators\); attach GPUs with accelerators/,
    ],
    [
      'per-vm x disk above the boot disk less the system share',
      'launch: {per-vm: 2, boot-disk-size-gb: 30}\ninclude: [{t: a, launch: {resources: {disk-gb: 12}}}]',
      /^input spec: include\[0\]\.launch\.resources asks for 12 GB of disk per experiment: 2 experiments .* need 24 GB, more than the 20 GB that a boot disk of 30 GB \(input spec: launch\.boot-disk-size-gb\) leaves to experiments \(10 GB stay with the system\); raise boot-disk-size-gb to at least 34, lower resources\.disk-gb, or set per-vm to 1 or fewer$/,
    ],
    [
      'a fractional per-vm',
      'launch: {per-vm: 1.5}',
      /^input spec: launch\.per-vm must be a whole number from 1 to 64, how many experiments share one VM \(got 1\.5\)/,
    ],
    ['per-vm 0', 'launch: {per-vm: 0}', /^input spec: launch\.per-vm must be a whole number from 1 to 64/],
    [
      'per-vm above 64',
      'launch: {per-vm: 65}',
      /^input spec: launch\.per-vm must be a whole number from 1 to 64/,
    ],
    [
      'per-vm as words',
      'launch: {per-vm: four}',
      /^input spec: launch\.per-vm must be a whole number .*\(got "four"\)/,
    ],
    [
      'a misspelt per-vm',
      'launch: {per_vm: 4}',
      /^input spec: launch sets "per_vm", which an experiment cannot set \(did you mean "per-vm"\?\); it may set .*source-ref, per-vm$/,
    ],
    [
      'a misspelt resources key',
      'launch: {resources: {cpu: 2}}',
      /^input spec: launch\.resources has an unknown key "cpu" \(did you mean "cpus"\?\); it may have cpus, memory-gb, gpus, disk-gb$/,
    ],
    [
      'a misspelt memory key',
      'include: [{t: a, launch: {resources: {memory-db: 2}}}]',
      /^input spec: include\[0\]\.launch\.resources has an unknown key "memory-db" \(did you mean "memory-gb"\?\)/,
    ],
    [
      'fractional resources.cpus',
      'launch: {resources: {cpus: 0.5}}',
      /^input spec: launch\.resources: cpus must be a whole number from 1 to 416, the CPUs one experiment reserves \(got 0\.5\)/,
    ],
    [
      'negative resources.memory-gb',
      'launch: {resources: {memory-gb: -2}}',
      /^input spec: launch\.resources: memory-gb must be a number from 0 to 65536/,
    ],
    [
      'resources as a list',
      'launch: {resources: [2]}',
      /^input spec: launch\.resources must be a mapping of cpus, memory-gb, gpus and disk-gb, e\.g\. \{cpus: 2, memory-gb: 4\} \(got a list\)/,
    ],
  ];
  for (const [what, launch, message] of refusals) {
    it(`refuses ${what}, naming the key and the fix`, () => {
      assert.throws(
        () => plan(`axes: {t: [a, b]}\n${launch}`),
        (err: unknown) => {
          assert.ok(err instanceof ConfigurationError, String(err));
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('outputs of a packed plan', () => {
  const p = plan(`${BENCH}\nlaunch: {per-vm: 4}`, { batchSize: 5 });

  it('lists legs in the matrix and batches, counts experiments and legs', () => {
    const out = planOutputs(p, '9');
    const matrix = JSON.parse(out.matrix) as { include: { experiment: Experiment }[] };
    assert.deepEqual(
      matrix.include.map((e) => e.experiment),
      p.legs,
    );
    assert.equal(out.count, '54');
    assert.equal(out.legs, '14');
    const batches = JSON.parse(out.batches) as { include: unknown[] }[];
    assert.deepEqual(
      batches.map((b) => b.include.length),
      [5, 5, 4],
    );
    assert.equal(out['batch-count'], '3');
    for (const entry of matrix.include) {
      const leg = parseExperiment(JSON.stringify(entry.experiment));
      assert.deepEqual(leg.members, entry.experiment.members);
    }
  });

  it('counts batches by legs against max-batches', () => {
    assert.throws(
      () => plan(`${BENCH}\nlaunch: {per-vm: 4}`, { batchSize: 4, maxBatches: 3 }),
      /the plan's 54 experiments on 14 VMs need 4 batches of at most 4 \(input batch-size\), more than input max-batches \(3\) allows; narrow the plan, pack more per VM \(per-vm\) or raise batch-size/,
    );
    assert.equal(plan(`${BENCH}\nlaunch: {per-vm: 4}`, { batchSize: 5, maxBatches: 3 }).batches.length, 3);
  });

  it('shows in the summary which VM each experiment runs on', () => {
    const md = planSummary(p, '9');
    assert.match(
      md,
      /^### gce-matrix plan\n\n\*\*54 experiments\*\* on 14 VMs in 3 batches \(5, 5, 4 VMs\), run 9;/,
    );
    assert.match(md, /\| # \| experiment \| vm \| service \| tool \| seed \|/);
    // escapeMarkdown writes _ as &#95;.
    assert.ok(
      md.includes(`| 1 | service-svc1&#95;tool-tool1&#95;seed-1 | ${p.legs[0].id} | svc1 | tool1 | 1 |`),
    );
    assert.ok(
      md.includes(`| 54 | service-svc9&#95;tool-tool6&#95;seed-1 | ${p.legs[13].id} | svc9 | tool6 | 1 |`),
    );
  });

  it('keeps untrusted text escaped beside the vm column', () => {
    const md = planSummary(plan('axes: {t: ["<img src=x>", "@octocat"]}\nlaunch: {per-vm: 2}'), '1');
    assert.doesNotMatch(md, /<img|@octocat/);
    assert.match(md, /\| experiment \| vm \| t \| seed \|/);
  });

  it('has no vm column when no experiment shares a VM', () => {
    assert.doesNotMatch(planSummary(plan('axes: {t: [a]}'), '1'), /\| vm \|/);
  });
});

describe('docs/matrix.md', () => {
  it('shows a packed leg launch accepts, with the id its members give', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const docs = readFileSync(path.join(root, 'docs/matrix.md'), 'utf8');
    const block = /\*\*A packed leg\.\*\*[\s\S]*?```json\n([\s\S]*?)```/.exec(docs);
    assert.ok(block, 'docs/matrix.md shows a packed leg');
    const leg = parseExperiment(block[1]);
    assert.equal(leg.id, expectedId((leg.members ?? []).map((m) => m.id)));
    assert.equal(leg.members?.length, 2);
  });
});
