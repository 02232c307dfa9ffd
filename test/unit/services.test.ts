import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { parseLaunchInputs } from '../../src/launch/inputs.ts';
import { buildInstance } from '../../src/launch/instance.ts';
import {
  parseServices,
  serviceEnvName,
  servicesAttribute,
  servicesInput,
} from '../../src/launch/services.ts';
import { parseSpec } from '../../src/plan/spec.ts';

describe('parseServices', () => {
  it('normalizes a full service and keeps the order', () => {
    const [db, cache] = parseServices(
      {
        db: {
          image: 'postgres:16',
          env: { POSTGRES_PASSWORD: 'test', N: 3 },
          ports: [5432, '8080/tcp'],
          command: 'postgres -c fsync=off',
          entrypoint: 'docker-entrypoint.sh',
          health: { cmd: 'pg_isready', 'interval-seconds': 1, 'timeout-seconds': '3', retries: 5 },
          cpus: '1.5',
          memory: '512M',
        },
        cache: 'redis:7',
      },
      'input services',
    );
    assert.deepEqual(db, {
      name: 'db',
      image: 'postgres:16',
      env: { POSTGRES_PASSWORD: 'test', N: '3' },
      ports: [5432, 8080],
      command: ['postgres', '-c', 'fsync=off'],
      entrypoint: 'docker-entrypoint.sh',
      health: { cmd: 'pg_isready', intervalSeconds: 1, timeoutSeconds: 3, retries: 5 },
      cpus: 1.5,
      memory: '512m',
    });
    assert.deepEqual(cache, { name: 'cache', image: 'redis:7', env: {}, ports: [] });
  });

  it('reads YAML or JSON text; empty text is no services', () => {
    assert.deepEqual(parseServices('', 'input services'), []);
    assert.deepEqual(
      parseServices('db:\n  image: postgres:16\n  ports: [5432]\n', 'input services')[0].ports,
      [5432],
    );
    assert.equal(parseServices('{"db":{"image":"x","health":"true"}}', 'i')[0].health?.retries, 30);
  });

  const bad: [string, unknown, RegExp][] = [
    ['a list', [{ image: 'x' }], /input services must be a mapping of service names/],
    ['no image', { db: { ports: [5432] } }, /input services\.db\.image is required: the container image/],
    ['empty image', { db: { image: '' } }, /input services\.db\.image is required/],
    [
      'a bad image',
      { db: { image: 'post gres' } },
      /input services\.db\.image "post gres" is not an image reference/,
    ],
    [
      'a name that is no DNS label',
      { DB_1: { image: 'x' } },
      /service name "DB_1" must be a DNS label.*e\.g\. "db-1"/,
    ],
    [
      'an unknown key',
      { db: { image: 'x', port: [1] } },
      /input services\.db sets "port" \(did you mean "ports"\?\)/,
    ],
    [
      'GitHub options',
      { db: { image: 'x', options: '--health-cmd x' } },
      /services\.db\.options is not supported: write the health check as health/,
    ],
    [
      'a fixed host port',
      { db: { image: 'x', ports: ['15432:5432'] } },
      /services\.db\.ports\[0\] is "15432:5432"; list the container port alone \(e\.g\. 5432\)/,
    ],
    [
      'a port out of range',
      { db: { image: 'x', ports: [70000] } },
      /services\.db\.ports\[0\] must be a whole number from 1 to 65535/,
    ],
    ['a port twice', { db: { image: 'x', ports: [1, 1] } }, /port 1 is listed twice/],
    [
      'an env that is no mapping',
      { db: { image: 'x', env: ['A=1'] } },
      /services\.db\.env must be a mapping/,
    ],
    [
      'a bad env name',
      { db: { image: 'x', env: { 'A-B': 1 } } },
      /services\.db\.env: "A-B" is not a variable name/,
    ],
    [
      'health without cmd',
      { db: { image: 'x', health: { retries: 3 } } },
      /services\.db\.health\.cmd is required/,
    ],
    [
      'an unknown health key',
      { db: { image: 'x', health: { cmd: 'x', retires: 1 } } },
      /health sets "retires" \(did you mean "retries"\?\)/,
    ],
    [
      'retries 0',
      { db: { image: 'x', health: { cmd: 'x', retries: 0 } } },
      /health\.retries must be a whole number from 1 to 1000/,
    ],
    ['cpus 0', { db: { image: 'x', cpus: 0 } }, /services\.db\.cpus must be a number above 0/],
    [
      'memory in words',
      { db: { image: 'x', memory: 'lots' } },
      /services\.db\.memory must be a size like 512m/,
    ],
    ['tiny memory', { db: { image: 'x', memory: '1m' } }, /at least 6m/],
    [
      'an empty command',
      { db: { image: 'x', command: [] } },
      /services\.db\.command must be a list of arguments/,
    ],
    [
      'too many',
      Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`s${i}`, 'x'])),
      /lists 11 services; at most 10/,
    ],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parseServices(value, 'input services'),
        (err: Error) => {
          assert.ok(err instanceof ConfigurationError, String(err));
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it('refuses text that is not YAML', () => {
    assert.throws(() => parseServices('db: [', 'input services'), /input services is not valid YAML or JSON/);
  });
});

describe('services on the wire', () => {
  const services = parseServices(
    {
      'my-db': {
        image: 'postgres:16',
        env: { MULTI: 'a\nb\\c' },
        ports: [5432],
        command: ['sh', '-c', 'a b'],
        health: 'pg_isready',
        memory: '1g',
      },
    },
    'input services',
  );

  it('round-trips through the launch input JSON', () => {
    assert.deepEqual(parseServices(servicesInput(services), 'input services'), services);
  });

  it('writes one line per value for the agent, escaped', () => {
    assert.equal(
      servicesAttribute(services),
      [
        'service my-db',
        'image postgres:16',
        'env MULTI=a\\nb\\\\c',
        'port 5432',
        'arg sh',
        'arg -c',
        'arg a b',
        'health-cmd pg_isready',
        'health-interval 2',
        'health-timeout 10',
        'health-retries 30',
        'memory 1g',
      ].join('\n'),
    );
    assert.equal(serviceEnvName('my-db'), 'MY_DB');
  });
});

const ctx = { runId: '1', runAttempt: 1, repository: 'o/r', sha: 'abc', defaultProject: 'bench-project' };
const inputs: Record<string, string> = {
  zones: 'us-central1-a',
  bucket: 'bench-results',
  'vm-service-account': 'gce-matrix-vm@bench-project.iam.gserviceaccount.com',
  command: './run.sh',
};

describe('services as a launch input', () => {
  it('comes from the input or the experiment, and reaches the instance metadata', () => {
    const s = parseLaunchInputs(
      (n) =>
        n === 'experiment'
          ? JSON.stringify({
              id: 'e1',
              params: {},
              launch: { services: { db: { image: 'pg', ports: [5432] } } },
            })
          : (inputs[n] ?? ''),
      ctx,
    );
    assert.deepEqual(s.services, [{ name: 'db', image: 'pg', env: {}, ports: [5432] }]);
    const instance = buildInstance(s, {
      name: 'vm-1',
      zone: 'us-central1-a',
      spot: false,
      attempt: 1,
      agentScript: 'true',
    });
    const items = instance.metadata?.items ?? [];
    assert.equal(
      items.find((i) => i.key === 'gce-matrix-services')?.value,
      'service db\nimage pg\nport 5432',
    );
  });

  it('refuses services beside container-image before any VM', () => {
    assert.throws(
      () =>
        parseLaunchInputs(
          (n) =>
            n === 'experiment'
              ? '{"id":"e1","params":{}}'
              : n === 'services'
                ? 'db: {image: pg}'
                : n === 'container-image'
                  ? 'runner:1'
                  : (inputs[n] ?? ''),
          ctx,
        ),
      /input services cannot be combined with container-image yet/,
    );
  });
});

describe('services in a spec', () => {
  it('passes the spec launch services on as a JSON input', () => {
    const spec = parseSpec([
      {
        label: 'matrix.yml',
        text: 'axes: {tool: [a]}\nlaunch:\n  services:\n    db:\n      image: postgres:16\n      ports: [5432]\n',
      },
    ]);
    assert.deepEqual(JSON.parse(spec.launch?.services ?? ''), {
      db: { image: 'postgres:16', env: {}, ports: [5432] },
    });
  });

  it('names the key path of a bad service in an include entry', () => {
    assert.throws(
      () =>
        parseSpec([
          {
            label: 'matrix.yml',
            text: 'axes: {tool: [a]}\ninclude:\n  - tool: a\n    launch:\n      services: {db: {ports: [5432]}}\n',
          },
        ]),
      /matrix\.yml: include\[0\]\.launch\.services\.db\.image is required/,
    );
  });
});
