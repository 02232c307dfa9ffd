import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { experimentKey, runKey } from '../../src/naming.ts';
import {
  agentAttributes,
  buildInstance,
  checkMetadataLimits,
  paramEnvLines,
} from '../../src/launch/instance.ts';
import type { RunContext } from '../../src/launch/inputs.ts';
import type { Resources } from '../../src/launch/settings.ts';
import { parseAccelerators, parseInputs, parseLaunchInputs, parseSecrets } from '../../src/launch/inputs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const ctx: RunContext = {
  runId: '7001',
  runAttempt: 2,
  repository: 'octo-org/bench',
  sha: 'abc123',
  defaultProject: 'bench-project',
};

const base: Record<string, string> = {
  zones: 'us-central1-a, us-central1-b',
  bucket: 'gs://bench-results/',
  'vm-service-account': 'gce-matrix-vm@bench-project.iam.gserviceaccount.com',
  experiment: '{"id":"tool-a_svc-b_1","params":{"tool":"a","service":"b","seed":1}}',
  command: './run.sh',
};

function reader(overrides: Record<string, string> = {}): (name: string) => string {
  const inputs = { ...base, ...overrides };
  return (name) => inputs[name] ?? '';
}

describe('parseLaunchInputs', () => {
  it('parses a minimal set of inputs with defaults', () => {
    const s = parseLaunchInputs(reader(), ctx);
    assert.equal(s.project, 'bench-project');
    assert.deepEqual(s.zones, ['us-central1-a', 'us-central1-b']);
    assert.equal(s.machineType, 'e2-standard-2');
    assert.equal(s.results.bucket, 'bench-results');
    assert.equal(s.results.runId, '7001');
    assert.equal(s.maxAttempts, 3);
    assert.equal(s.provisioning, 'standard');
    assert.deepEqual(s.experiment.params, { tool: 'a', service: 'b', seed: 1 });
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['missing zones', { zones: '' }, /input zones \(or region\) is required/],
    ['a bad region', { zones: '', region: 'us-central1-a' }, /input region "us-central1-a" is not a region/],
    ['a bad zone', { zones: 'us-central1' }, /input zones: "us-central1" is not a zone/],
    ['a bad machine type', { 'machine-type': 'N2 Standard' }, /input machine-type/],
    ['malformed experiment JSON', { experiment: '{id:' }, /input experiment is not valid JSON/],
    [
      'an experiment id that cannot become a name',
      { experiment: '{"id":"a/b"}' },
      /input experiment id "a\/b" is not valid/,
    ],
    [
      'nested parameters',
      { experiment: '{"id":"a","params":{"x":{"y":1}}}' },
      /parameter "x" must be a string/,
    ],
    ['an unknown provisioning', { provisioning: 'preemptible' }, /input provisioning must be/],
    ['a bad bucket', { bucket: 'Bad_Bucket!' }, /input bucket/],
    ['half of workload identity', { 'service-account': 'x@p.iam.gserviceaccount.com' }, /go together/],
    [
      'a bad provider',
      { 'workload-identity-provider': 'pool/x', 'service-account': 'launcher@p-123.iam.gserviceaccount.com' },
      /workload-identity-provider must look like/,
    ],
    ['a non-number timeout', { 'timeout-minutes': 'soon' }, /input timeout-minutes must be a number/],
    ['a fractional attempt count', { 'max-attempts': '1.5' }, /input max-attempts must be a whole number/],
    ['a reserved label', { labels: 'gce-matrix-run=x' }, /reserved/],
    ['an invalid label', { labels: 'Team=x' }, /label key "Team"/],
    ['a non-boolean', { 'external-ip': 'yes' }, /input external-ip must be true or false/],
  ];
  for (const [what, overrides, message] of bad) {
    it(`rejects ${what}, naming the input`, () => {
      assert.throws(
        () => parseLaunchInputs(reader(overrides), ctx),
        (err: unknown) => {
          assert.ok(err instanceof ConfigurationError, String(err));
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('needs a project from the input or the environment', () => {
    assert.throws(
      () => parseLaunchInputs(reader(), { ...ctx, defaultProject: undefined }),
      /input project is required/,
    );
  });
});

describe('small parsers', () => {
  it('parses accelerators', () => {
    assert.deepEqual(parseAccelerators('nvidia-l4:2, nvidia-tesla-t4'), [
      { type: 'nvidia-l4', count: 2 },
      { type: 'nvidia-tesla-t4', count: 1 },
    ]);
    assert.throws(() => parseAccelerators('l4=2'), /TYPE:COUNT/);
  });

  it('parses inputs and refuses escaping destinations', () => {
    assert.deepEqual(parseInputs('gs://b/data/set.tar\ngs://b/models/ models\ngs://b/w/ weights/'), [
      { source: 'gs://b/data/set.tar', dest: 'set.tar' },
      { source: 'gs://b/models/', dest: 'models' },
      { source: 'gs://b/w/', dest: 'weights/' },
    ]);
    assert.throws(() => parseInputs('gs://b/x ../etc'), /relative path/);
    assert.throws(() => parseInputs('/local/file'), /is not "gs:\/\/bucket/);
  });

  // Destinations the VM agent would refuse only once the VM runs.
  for (const line of [
    'gs://b/x /etc/x',
    'gs://b/x a/../b',
    'gs://b/x ./data',
    'gs://b/x data/.',
    'gs://b/x a//b',
    'gs://b/x data//',
    'gs://b/dir/.',
  ]) {
    it(`refuses the destination of ${JSON.stringify(line)}, naming the input`, () => {
      assert.throws(
        () => parseInputs(line),
        (err: unknown) =>
          err instanceof ConfigurationError &&
          /^input inputs: destination ".*" must be a relative path without \., \.\. or empty parts/.test(
            err.message,
          ),
      );
    });
  }

  it('parses secrets, completing short references', () => {
    assert.deepEqual(parseSecrets('API_KEY=api-key\nTOKEN=projects/p/secrets/t/versions/3', 'proj'), [
      { env: 'API_KEY', resource: 'projects/proj/secrets/api-key/versions/latest' },
      { env: 'TOKEN', resource: 'projects/p/secrets/t/versions/3' },
    ]);
    assert.throws(() => parseSecrets('1BAD=x', 'p'), /ENV_NAME/);
  });

  // [line, what the message must say]: each a name the VM agent refuses for a secret's variable.
  const refusedSecretNames: [string, RegExp][] = [
    ['PATH=api-key', /^input secrets: PATH cannot hold a secret \(.*own PATH\); .* e\.g\. MY_PATH=/],
    ['HOME=api-key', /^input secrets: HOME cannot hold a secret \(.*own HOME\); .* e\.g\. MY_HOME=/],
    [
      'GCE_MATRIX_TOKEN=api-key',
      /^input secrets: GCE_MATRIX_TOKEN cannot hold .*GCE_MATRIX_.*e\.g\. MY_TOKEN=/,
    ],
    ['GCE_MATRIX_RUN_ID=api-key', /^input secrets: GCE_MATRIX_RUN_ID cannot hold a secret/],
    ['GCE_MATRIX_=api-key', /^input secrets: GCE_MATRIX_ cannot hold a secret/],
    ['1BAD=api-key', /^input secrets: "1BAD" is not a variable name; ENV_NAME takes letters, digits and _/],
    ['API-KEY=api-key', /^input secrets: "API-KEY" is not a variable name/],
    ['API.KEY=api-key', /^input secrets: "API\.KEY" is not a variable name/],
    ['API KEY=api-key', /^input secrets: "API KEY" is not a variable name/],
    ['CLÉ=api-key', /^input secrets: "CLÉ" is not a variable name/],
    ['=api-key', /^input secrets: "=api-key" is not "ENV_NAME=/],
  ];
  for (const [line, message] of refusedSecretNames) {
    it(`refuses the secret variable of ${JSON.stringify(line)} before any VM, naming the input`, () => {
      assert.throws(
        () => parseSecrets(line, 'p'),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }

  it('keeps names that only look like the refused ones', () => {
    const names = [
      'path',
      'Home',
      'MY_PATH',
      'HOMEDIR',
      'GCE_MATRIX',
      'GCE_MATRIXX',
      'gce_matrix_x',
      '_X',
      'x1',
    ];
    assert.deepEqual(
      parseSecrets(names.map((n) => `${n}=s`).join('\n'), 'p').map((s) => s.env),
      names,
    );
  });

  it("refuses exactly the secret variable names the agent's own check refuses", () => {
    const agent = readFileSync(path.join(root, 'src/agent/agent.sh'), 'utf8');
    const fetch = agent.slice(agent.indexOf('gm_fetch_secrets() {'));
    const pattern = /case \$gm_fs_name in\s*\n\s*(.+)\)\n/.exec(fetch)?.[1];
    assert.ok(pattern, "the agent's check of secret variable names is where this test looks for it");
    const names = [
      ...refusedSecretNames.map(([line]) => line.slice(0, line.indexOf('='))).filter((n) => n !== ''),
      ...['path', 'Home', 'MY_PATH', 'HOMEDIR', 'GCE_MATRIX', 'gce_matrix_x', '_X', 'x1', 'A', 'PATHS'],
    ];
    const script = `for n in "$@"; do case $n in ${pattern}) echo refused ;; *) echo allowed ;; esac; done`;
    const verdicts = execFileSync('sh', ['-c', script, 'sh', ...names], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
    }).split('\n');
    names.forEach((name, i) => {
      const ours = (() => {
        try {
          parseSecrets(`${name}=s`, 'p');
          return 'allowed';
        } catch {
          return 'refused';
        }
      })();
      assert.equal(ours, verdicts[i], `${name}: the agent says ${verdicts[i]}, launch says ${ours}`);
    });
  });

  it('folds parameter names and refuses collisions and line breaks', () => {
    assert.equal(paramEnvLines({ tool: 'a', 'rate-limit': 5 }), 'TOOL=a\nRATE_LIMIT=5');
    assert.throws(() => paramEnvLines({ 'a-b': 1, a_b: 2 }), /both become GCE_MATRIX_PARAM_A_B/);
    assert.throws(() => paramEnvLines({ x: 'a\nb' }), /line break/);
  });
});

describe('buildInstance', () => {
  const settings = parseLaunchInputs(
    reader({
      accelerators: 'nvidia-l4:1',
      secrets: 'API_KEY=api-key',
      labels: 'team=bench',
      provisioning: 'spot',
    }),
    ctx,
  );
  const vm = buildInstance(settings, {
    name: 'gcem-7001-x-a1',
    zone: 'us-central1-b',
    attempt: 1,
    spot: true,
    agentScript: '#!/bin/sh\necho agent\n',
  });

  it('always sets a hard time limit that deletes the VM', () => {
    assert.equal(vm.scheduling?.instanceTerminationAction, 'DELETE');
    assert.equal(vm.scheduling?.maxRunDuration?.seconds, String(60 * 60 + 15 * 60));
    assert.equal(vm.scheduling?.provisioningModel, 'SPOT');
  });

  it('gives GPUs the host-maintenance policy they need', () => {
    assert.equal(vm.scheduling?.onHostMaintenance, 'TERMINATE');
    assert.deepEqual(vm.guestAccelerators, [
      { acceleratorType: 'zones/us-central1-b/acceleratorTypes/nvidia-l4', acceleratorCount: 1 },
    ]);
  });

  it('labels the VM with run, repo, experiment and attempts', () => {
    assert.deepEqual(vm.labels, {
      team: 'bench',
      'gce-matrix': 'managed',
      'gce-matrix-run': '7001',
      'gce-matrix-run-key': runKey('7001'),
      'gce-matrix-key': experimentKey('7001', 'tool-a_svc-b_1'),
      'gce-matrix-repo': 'octo-org_bench',
      'gce-matrix-experiment': 'tool-a_svc-b_1',
      'gce-matrix-attempt': '1',
      'gce-matrix-gh-attempt': '2',
    });

    it('keeps the VM within the 64 labels Compute Engine allows, with room for its own 8', () => {
      const many = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
      const s = parseLaunchInputs(reader({ labels: many(56) }), ctx);
      const placed = buildInstance(s, {
        name: 'gcem-7001-x-a1',
        zone: 'us-central1-b',
        attempt: 1,
        spot: false,
        agentScript: '',
      });
      assert.equal(Object.keys(placed.labels ?? {}).length, 64);
      assert.throws(
        () => parseLaunchInputs(reader({ labels: many(57) }), ctx),
        /input labels: at most 56 labels/,
      );
    });
  });

  it('puts only secret references in metadata', () => {
    const items: Record<string, string> = {};
    for (const i of vm.metadata?.items ?? []) items[i.key ?? ''] = i.value ?? '';
    assert.equal(
      items['gce-matrix-secrets'],
      'API_KEY=projects/bench-project/secrets/api-key/versions/latest',
    );
    assert.match(items['startup-script'] ?? '', /^GCE_MATRIX_MODE=startup\n#!\/bin\/sh/);
    assert.match(items['shutdown-script'] ?? '', /^GCE_MATRIX_MODE=shutdown\n/);
    assert.equal(items['gce-matrix-experiment-prefix'], 'gce-matrix/runs/7001/experiments/tool-a_svc-b_1/');
    assert.equal(items['gce-matrix-param-env'], 'TOOL=a\nSERVICE=b\nSEED=1');
  });

  it('refuses metadata over Compute Engine limits, naming the item', () => {
    assert.throws(
      () => checkMetadataLimits({ 'gce-matrix-command': 'x'.repeat(300 * 1024) }),
      /gce-matrix-command is 307200 bytes/,
    );
    assert.throws(
      () =>
        checkMetadataLimits({
          a: 'x'.repeat(200 * 1024),
          b: 'x'.repeat(200 * 1024),
          c: 'x'.repeat(200 * 1024),
        }),
      /totals/,
    );
  });
});

describe('per-experiment overrides', () => {
  it('lets an experiment set its own machine type and accelerators', () => {
    const s = parseLaunchInputs(
      reader({
        experiment: JSON.stringify({
          id: 'big',
          params: { tool: 'a' },
          launch: { 'machine-type': 'g2-standard-8', accelerators: 'nvidia-l4:1', 'timeout-minutes': 120 },
        }),
      }),
      ctx,
    );
    assert.equal(s.machineType, 'g2-standard-8');
    assert.deepEqual(s.accelerators, [{ type: 'nvidia-l4', count: 1 }]);
    assert.equal(s.timeoutMinutes, 120);
    assert.equal(s.results.bucket, 'bench-results');
  });

  it('refuses overrides of auth, bucket or unknown inputs, naming them', () => {
    for (const key of ['bucket', 'service-account', 'workload-identity-provider', 'machine_type']) {
      assert.throws(
        () =>
          parseLaunchInputs(reader({ experiment: JSON.stringify({ id: 'x', launch: { [key]: 'v' } }) }), ctx),
        new RegExp(`sets "${key}", which an experiment cannot override`),
      );
    }
  });

  it('still validates an overridden value', () => {
    assert.throws(
      () =>
        parseLaunchInputs(
          reader({ experiment: JSON.stringify({ id: 'x', launch: { 'machine-type': 'Big One' } }) }),
          ctx,
        ),
      /input machine-type "Big One"/,
    );
  });
});

describe('packed legs and resources', () => {
  const leg = (members: unknown, launch: Record<string, unknown> = {}): string =>
    JSON.stringify({ id: 'pack-0123456789', params: {}, launch, members });
  const two = [
    { id: 'tool-a_seed-1', params: { tool: 'a', seed: 1 } },
    { id: 'tool-b_seed-1', params: { tool: 'b', seed: 1 } },
  ];

  it('reads a packed leg: its id, its launch settings and its members in order', () => {
    const s = parseLaunchInputs(
      reader({
        experiment: leg(two, { 'machine-type': 'e2-standard-8', resources: 'cpus=2,memory-gb=4' }),
      }),
      ctx,
    );
    assert.equal(s.experiment.id, 'pack-0123456789');
    assert.deepEqual(s.members, two);
    assert.equal(s.machineType, 'e2-standard-8');
    assert.deepEqual(s.resources, { cpus: 2, memoryMb: 4096, gpus: 0, diskMb: 0 });
  });

  it('reads a single experiment with no members and no resources, as before', () => {
    const s = parseLaunchInputs(reader(), ctx);
    assert.deepEqual(s.members, []);
    assert.equal(s.resources, undefined);
    assert.equal(s.experiment.members, undefined);
  });

  const forms: [string, string, Resources][] = [
    ['key=value pairs', 'cpus=2,memory-gb=4', { cpus: 2, memoryMb: 4096, gpus: 0, diskMb: 0 }],
    [
      'pairs with spaces, in any order',
      ' memory-gb=0.5 , cpus=3 ',
      { cpus: 3, memoryMb: 512, gpus: 0, diskMb: 0 },
    ],
    ['cpus alone', 'cpus=4', { cpus: 4, memoryMb: 0, gpus: 0, diskMb: 0 }],
    ['memory alone (1 CPU)', 'memory-gb=1.5', { cpus: 1, memoryMb: 1536, gpus: 0, diskMb: 0 }],
    ['JSON', '{"cpus": 2, "memory-gb": 0.25}', { cpus: 2, memoryMb: 256, gpus: 0, diskMb: 0 }],
    [
      'JSON with text numbers',
      '{"cpus": "2", "memory-gb": "3"}',
      { cpus: 2, memoryMb: 3072, gpus: 0, diskMb: 0 },
    ],
    ['no memory reserved', 'cpus=1,memory-gb=0', { cpus: 1, memoryMb: 0, gpus: 0, diskMb: 0 }],
    [
      'GPUs and disk',
      'cpus=2,memory-gb=4,gpus=1,disk-gb=20',
      { cpus: 2, memoryMb: 4096, gpus: 1, diskMb: 20480 },
    ],
    ['fractional disk', 'disk-gb=0.5', { cpus: 1, memoryMb: 0, gpus: 0, diskMb: 512 }],
    ['JSON GPUs and disk', '{"gpus": 2, "disk-gb": "5"}', { cpus: 1, memoryMb: 0, gpus: 2, diskMb: 5120 }],
  ];
  const attributeCases: [string, Record<string, string>, boolean, string | undefined, string | undefined][] =
    [
      [
        'CPUs and memory alone, as always',
        { resources: 'cpus=2,memory-gb=1' },
        true,
        'cpus=2\nmemory-mb=1024',
        undefined,
      ],
      [
        'GPUs and disk of a packed leg, and the VM GPUs for the agent',
        { resources: 'gpus=1,disk-gb=5', accelerators: 'nvidia-tesla-t4:2' },
        true,
        'cpus=1\nmemory-mb=0\ngpus=1\ndisk-mb=5120',
        '2',
      ],
      ['disk alone', { resources: 'disk-gb=0.5' }, true, 'cpus=1\nmemory-mb=0\ndisk-mb=512', undefined],
      [
        'GPUs of a single host command: not written, as before',
        { accelerators: 'nvidia-l4:1' },
        false,
        undefined,
        undefined,
      ],
    ];
  for (const [what, inputs, packed, resources, gpus] of attributeCases) {
    it(`writes gce-matrix-resources and gce-matrix-gpus: ${what}`, () => {
      const s = parseLaunchInputs(
        reader({ ...(packed ? { experiment: leg(two) } : {}), 'machine-type': 'n1-standard-8', ...inputs }),
        ctx,
      );
      const attrs = agentAttributes(s, {
        name: 'gcem-7001-x-a1',
        zone: 'us-central1-b',
        attempt: 1,
        spot: false,
        agentScript: '',
        ...(packed ? { members: two.map((m) => ({ ...m, attempt: 1 })) } : {}),
      });
      assert.equal(attrs['gce-matrix-resources'], resources);
      assert.equal(attrs['gce-matrix-gpus'], gpus);
    });
  }

  it('accepts two members of 1 GPU and 20 GB on 2 GPUs and a 50 GB boot disk', () => {
    const s = parseLaunchInputs(
      reader({
        experiment: leg(two),
        resources: 'gpus=1,disk-gb=20',
        accelerators: 'nvidia-tesla-t4:2',
        'machine-type': 'n1-standard-8',
      }),
      ctx,
    );
    assert.deepEqual(s.resources, { cpus: 1, memoryMb: 0, gpus: 1, diskMb: 20480 });
  });
  for (const [what, text, resources] of forms) {
    it(`reads resources as ${what}`, () => {
      const s = parseLaunchInputs(
        reader({ resources: text, 'machine-type': 'n2-standard-8', accelerators: 'nvidia-tesla-t4:2' }),
        ctx,
      );
      assert.deepEqual(s.resources, resources);
    });
  }

  it("takes resources from the leg's launch settings, as JSON or text", () => {
    for (const resources of [{ cpus: 2, 'memory-gb': 1 }, 'cpus=2,memory-gb=1']) {
      const s = parseLaunchInputs(
        reader({ experiment: leg(two, { resources }), 'machine-type': 'e2-standard-4' }),
        ctx,
      );
      assert.deepEqual(s.resources, { cpus: 2, memoryMb: 1024, gpus: 0, diskMb: 0 });
    }
  });

  const refusals: [string, Record<string, string>, RegExp][] = [
    ['members that are not a list', { experiment: leg({ a: 1 }) }, /"members" must be a non-empty list/],
    ['no members', { experiment: leg([]) }, /"members" must be a non-empty list/],
    [
      'more than 64 members',
      { experiment: leg(Array.from({ length: 65 }, (_, i) => ({ id: `e${i}`, params: {} }))) },
      /has 65 members, more than the 64 one VM may hold/,
    ],
    ['a member that is not an object', { experiment: leg(['a']) }, /members\[0\] must be an object/],
    ['a member without an id', { experiment: leg([{ params: {} }]) }, /members\[0\] has no string "id"/],
    [
      'a member id that cannot become a name',
      { experiment: leg([{ id: 'a/b', params: {} }]) },
      /input experiment members\[0\] id "a\/b" is not valid/,
    ],
    [
      'a member listed twice',
      { experiment: leg([two[0], two[1], two[0]]) },
      /lists member "tool-a_seed-1" twice/,
    ],
    [
      'a nested member parameter',
      { experiment: leg([{ id: 'a', params: { x: [1] } }]) },
      /members\[0\] parameter "x" must be a string, number or boolean/,
    ],
    ['resources that are not pairs', { resources: 'two cpus' }, /input resources: "two" is not key=value/],
    ['resources of bad JSON', { resources: '{cpus: 2}' }, /input resources is not valid JSON/],
    [
      'resources as a JSON list',
      { resources: '[2]' },
      /^input resources must be a mapping of cpus, memory-gb, gpus and disk-gb, e.g. \{cpus: 2, memory-gb: 4\} \(got a list\)/,
    ],
    [
      'a misspelt resources key',
      { resources: 'cpu=2' },
      /input resources has an unknown key "cpu" \(did you mean "cpus"\?\); it may have cpus, memory-gb/,
    ],
    [
      'fractional CPUs',
      { resources: 'cpus=1.5' },
      /input resources: cpus must be a whole number from 1 to 416/,
    ],
    [
      'no CPUs',
      { resources: 'cpus=0' },
      /cpus must be a whole number from 1 to 416, the CPUs one experiment reserves \(got "0"\)/,
    ],
    ['negative memory', { resources: 'memory-gb=-1' }, /input resources: memory-gb must be a number from 0/],
    ['memory that is not a number', { resources: 'memory-gb=lots' }, /memory-gb must be a number/],
    [
      'more CPUs per experiment than the machine has',
      { resources: 'cpus=4', 'machine-type': 'e2-standard-2' },
      /^input resources asks for 4 CPUs per experiment, more than the 2 vCPUs of machine type e2-standard-2 \(input machine-type: 2 vCPUs, 8 GB\)/,
    ],
    [
      'a leg the machine cannot hold',
      { experiment: leg(two, { resources: 'cpus=2' }), 'machine-type': 'e2-standard-2' },
      /^input experiment pack-0123456789 \(a packed leg of 2\) puts 2 experiments of 2 CPUs each \(input resources\) on one VM: 4 CPUs, more than the 2 vCPUs of machine type e2-standard-2/,
    ],
    [
      'fractional GPUs',
      { resources: 'gpus=0.5' },
      /^input resources: gpus must be a whole number from 0 to 16, the GPUs one experiment reserves \(got "0\.5"\)$/,
    ],
    [
      'more than 16 GPUs',
      { resources: 'gpus=17' },
      /input resources: gpus must be a whole number from 0 to 16/,
    ],
    [
      'negative disk',
      { resources: 'disk-gb=-1' },
      /^input resources: disk-gb must be a number from 0 to 65536/,
    ],
    [
      'GPUs on a VM without accelerators',
      { resources: 'gpus=1' },
      /^input resources asks for 1 GPU per experiment: one experiment needs 1, more than the 0 GPUs of the VM \(input accelerators\); attach GPUs with accelerators/,
    ],
    [
      'a leg whose members need more GPUs than accelerators attach',
      {
        experiment: leg(Array.from({ length: 3 }, (_, i) => ({ id: `g${i}`, params: {} }))),
        resources: 'gpus=1',
        accelerators: 'nvidia-tesla-t4:2',
        'machine-type': 'n1-standard-8',
      },
      /^input resources asks for 1 GPU per experiment: 3 experiments \(input experiment pack-0123456789 \(a packed leg of 3\)\) need 3, more than the 2 GPUs of the VM \(input accelerators\); .*set per-vm to 2 or fewer$/,
    ],
    [
      'a leg whose members need more disk than the default boot disk leaves',
      { experiment: leg(two, { resources: 'disk-gb=25' }), 'machine-type': 'n2-standard-8' },
      /^input resources asks for 25 GB of disk per experiment: 2 experiments .* need 50 GB, more than the 40 GB that a boot disk of 50 GB \(input boot-disk-size-gb\) leaves to experiments .*raise boot-disk-size-gb to at least 60/,
    ],
    [
      'a leg whose members cannot have 1 CPU each',
      {
        experiment: leg(Array.from({ length: 3 }, (_, i) => ({ id: `e${i}`, params: {} }))),
        'machine-type': 'e2-standard-2',
      },
      /puts 3 experiments of 1 CPU each \(input resources \(not set: 1 CPU each\)\) on one VM/,
    ],
  ];
  for (const [what, overrides, message] of refusals) {
    it(`refuses ${what}, naming the input`, () => {
      assert.throws(
        () => parseLaunchInputs(reader(overrides), ctx),
        (err: unknown) => {
          assert.ok(err instanceof ConfigurationError, String(err));
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});
