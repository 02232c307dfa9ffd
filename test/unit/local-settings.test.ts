import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localSecrets } from '../../src/cli/local-run.ts';
import { ConfigurationError } from '../../src/errors.ts';
import type { Experiment } from '../../src/launch/settings.ts';
import { noProxy } from '../../src/local/executor.ts';
import {
  checkLocalServices,
  hasContainerEngine,
  ignoredCloudSettings,
  LOCAL_BUCKET,
  localLaunchSettings,
} from '../../src/local/settings.ts';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ctx = {
  runId: 'local-1',
  runAttempt: 1,
  repository: 'local/local',
  sha: 'abc',
  defaultProject: undefined,
};
const exp = (launch?: Record<string, string>): Experiment => ({
  id: 'tool-a',
  params: { tool: 'a' },
  ...(launch ? { launch } : {}),
});

describe('localLaunchSettings', () => {
  it('checks settings with the launch parser and fills the cloud-only ones for this machine', () => {
    const s = localLaunchSettings(
      exp({ command: 'echo hi', 'timeout-minutes': '2', zones: 'europe-west4-a' }),
      {},
      ctx,
    );
    assert.equal(s.command, 'echo hi');
    assert.equal(s.timeoutMinutes, 2);
    assert.equal(s.results.bucket, LOCAL_BUCKET);
    assert.equal(s.results.runId, 'local-1');
    assert.deepEqual(s.zones, ['local-machine1-a'], 'an experiment cannot send a local run to a zone');
    assert.equal(s.heartbeatSeconds, 5, 'local heartbeat default');
    assert.equal(s.maxAttempts, 1);
    assert.deepEqual(s.experiment, { id: 'tool-a', params: { tool: 'a' } });
  });

  it('lets the experiment win over --input, and --input over the defaults', () => {
    const s = localLaunchSettings(
      exp({ command: 'echo mine' }),
      { command: 'echo given', 'max-attempts': '3' },
      ctx,
    );
    assert.equal(s.command, 'echo mine');
    assert.equal(s.maxAttempts, 3);
  });

  const bad: [string, Experiment, Record<string, string>, RegExp][] = [
    [
      'no command',
      exp(),
      {},
      /experiment tool-a: no command; set one for every experiment in the spec's launch block/,
    ],
    [
      'staged gs:// inputs',
      exp({ command: 'x', inputs: 'gs://b/o' }),
      {},
      /inputs \(staged gs:\/\/ objects\) need Cloud Storage/,
    ],
    [
      'a bad timeout, named as a launch setting',
      exp({ command: 'x', 'timeout-minutes': 'soon' }),
      {},
      /experiment tool-a: launch setting timeout-minutes must be a number/,
    ],
    [
      'a bad secret reference',
      exp({ command: 'x' }),
      { secrets: 'API_KEY=projects/p/nope' },
      /experiment tool-a: launch setting secrets/,
    ],
  ];
  for (const [name, e, given, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => localLaunchSettings(e, given, ctx),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});

describe('ignoredCloudSettings', () => {
  it('names each cloud-only setting once, from the spec or the command line', () => {
    const got = ignoredCloudSettings(
      [
        exp({ command: 'x', 'machine-type': 'n2-standard-8' }),
        exp({ command: 'x', 'machine-type': 'e2-small', provisioning: 'spot' }),
      ],
      { zones: 'us-central1-a', command: 'x' },
    );
    assert.deepEqual(got.sort(), ['machine-type', 'provisioning', 'zones']);
  });
});

describe('localSecrets', () => {
  const s = localLaunchSettings(
    exp({ command: 'x' }),
    { secrets: 'API_KEY=projects/p1/secrets/key/versions/2' },
    ctx,
  );
  it('takes a secret from the environment variable of its name', () => {
    assert.deepEqual(localSecrets([s], { API_KEY: 's3cret' }), {
      'projects/p1/secrets/key/versions/2': 's3cret',
    });
  });
  it('says which variable to set when it is missing', () => {
    assert.throws(
      () => localSecrets([s], {}),
      /secret API_KEY \(projects\/p1\/secrets\/key\/versions\/2\): a local run takes its value from the environment variable API_KEY/,
    );
  });
});

describe('noProxy', () => {
  const table: [string | undefined, string][] = [
    [undefined, '127.0.0.1,localhost'],
    ['', '127.0.0.1,localhost'],
    ['corp.example, .internal', 'corp.example,.internal,127.0.0.1,localhost'],
    ['localhost,127.0.0.1', 'localhost,127.0.0.1'],
  ];
  for (const [given, want] of table)
    it(`${JSON.stringify(given)} -> ${want}`, () => assert.equal(noProxy(given), want));
});

describe('services in a local run', () => {
  const withServices = localLaunchSettings(
    exp({ command: 'true', services: '{"db": {"image": "postgres:16", "ports": [5432]}}' }),
    {},
    ctx,
  );

  it('keeps the services of the spec', () => {
    assert.deepEqual(withServices.services, [{ name: 'db', image: 'postgres:16', env: {}, ports: [5432] }]);
  });

  it('needs docker or podman on PATH, said before anything runs', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'gcem-path-'));
    assert.equal(hasContainerEngine(empty), false);
    assert.throws(
      () => checkLocalServices([withServices], empty),
      /experiment tool-a: services need a container engine, and this machine has neither docker nor podman on PATH; install one, or run with --cloud/,
    );
    checkLocalServices([localLaunchSettings(exp({ command: 'true' }), {}, ctx)], empty);
    writeFileSync(path.join(empty, 'podman'), '#!/bin/sh\n');
    chmodSync(path.join(empty, 'podman'), 0o755);
    assert.equal(hasContainerEngine(empty), true);
    checkLocalServices([withServices], empty);
  });
});
