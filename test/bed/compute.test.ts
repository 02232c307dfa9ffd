import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AcceleratorTypesClient } from '@google-cloud/compute/build/src/v1/accelerator_types_client.js';
import { ImagesClient } from '@google-cloud/compute/build/src/v1/images_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { MachineTypesClient } from '@google-cloud/compute/build/src/v1/machine_types_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { ZonesClient } from '@google-cloud/compute/build/src/v1/zones_client.js';
import { OAuth2Client } from 'google-auth-library';
import { computeClientOptions } from '../../src/gcp/endpoints.ts';
import { BedClock } from './clock.ts';
import { ComputeStandIn, parseFilter } from './compute.ts';
import { BedServer, Recorder } from './http.ts';
import { MetadataServer } from './metadata.ts';
import type { MetadataSnapshot } from './metadata.ts';
import { TokenRegistry } from './tokens.ts';
import { isAlive, SerialPort } from './vm.ts';

type InstanceResource = NonNullable<Parameters<InstancesClient['insert']>[0]>['instanceResource'];

/** What gax's REST fallback puts on a failed call. */
interface GaxError extends Error {
  code: number;
  httpStatusCode?: number;
  reason?: string;
  domain?: string;
  errorInfoMetadata?: Record<string, string>;
}

const PROJECT = 'bed-project';
const ZONE = 'us-central1-a';
const VM_SA = `gce-matrix-vm@${PROJECT}.iam.gserviceaccount.com`;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// 100x: a 15 s boot takes 150 ms, the 30 s preemption budget 300 ms, a 60 s maxRunDuration 600 ms.
const clock = new BedClock(100);
const tokens = new TokenRegistry(clock);
const recorder = new Recorder();
const workDir = mkdtempSync(path.join(tmpdir(), 'compute-bed-'));
const standIn = new ComputeStandIn({
  clock,
  tokens,
  recorder,
  project: PROJECT,
  workDir,
  vmEnv: () => ({ BED_MARKER: 'from-vm-env' }),
});
const server = new BedServer('compute', recorder, standIn.handle);
let instances: InstancesClient;
let zoneOps: ZoneOperationsClient;
let zones: ZonesClient;
let machineTypes: MachineTypesClient;
let images: ImagesClient;
let acceleratorTypes: AcceleratorTypesClient;
/** Pids of background children the scripts report, checked dead at the end. */
const childPids: number[] = [];

function clientOptions(accessToken: string, expiry: number) {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: accessToken, expiry_date: expiry });
  return { ...computeClientOptions(new URL(`${server.origin}/compute/v1/`)), authClient, projectId: PROJECT };
}

before(async () => {
  await server.listen();
  const { token, expiresAt } = tokens.issue(
    { subject: 'user:tester', email: 'tester@example.com', scopes: [], kind: 'service-account' },
    3600 * 24 * 365,
  );
  instances = new InstancesClient(clientOptions(token, expiresAt));
  zoneOps = new ZoneOperationsClient(clientOptions(token, expiresAt));
  zones = new ZonesClient(clientOptions(token, expiresAt));
  machineTypes = new MachineTypesClient(clientOptions(token, expiresAt));
  images = new ImagesClient(clientOptions(token, expiresAt));
  acceleratorTypes = new AcceleratorTypesClient(clientOptions(token, expiresAt));
});

after(async () => {
  const pids = standIn.pids;
  await standIn.close();
  await server.close();
  await instances.close();
  await zoneOps.close();
  await Promise.all([zones.close(), machineTypes.close(), images.close(), acceleratorTypes.close()]);
  rmSync(workDir, { recursive: true, force: true });
  assert.ok(pids.length > 0, 'the suite booted VMs');
  assert.deepEqual([...pids, ...childPids].filter(isAlive), [], 'no VM process outlives the stand-in');
});

function vmResource(
  name: string,
  extra: Partial<InstanceResource> & { items?: Record<string, string> } = {},
) {
  const { items = {}, ...rest } = extra;
  return {
    name,
    machineType: `zones/${ZONE}/machineTypes/e2-small`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
      },
    ],
    networkInterfaces: [{ network: 'global/networks/default' }],
    serviceAccounts: [{ email: VM_SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
    metadata: { items: Object.entries(items).map(([key, value]) => ({ key, value })) },
    ...rest,
  } satisfies InstanceResource;
}

/** Waits on a zone operation the way the SPEC prescribes: `zoneOperations.wait` until DONE. */
async function waitOp(latest: unknown, zone = ZONE) {
  const name = (latest as { name: string }).name;
  for (;;) {
    const [op] = await zoneOps.wait({ project: PROJECT, zone, operation: name });
    if (op.status === 'DONE') return op;
  }
}

async function create(resource: InstanceResource, zone = ZONE) {
  const [lro] = await instances.insert({ project: PROJECT, zone, instanceResource: resource });
  return waitOp(lro.latestResponse, zone);
}

async function remove(name: string, zone = ZONE) {
  const [lro] = await instances.delete({ project: PROJECT, zone, instance: name });
  return waitOp(lro.latestResponse, zone);
}

async function get(name: string, zone = ZONE) {
  const [vm] = await instances.get({ project: PROJECT, zone, instance: name });
  return vm;
}

/** The response body gax keeps on the error: the only place `errors[].reason` survives. */
function rawBody(err: GaxError): string {
  const raw = (err as unknown as Record<symbol, unknown>)[Symbol.for('google-gax.rawHttpResponsePayload')];
  return typeof raw === 'string' ? raw : '';
}

async function rejection(p: Promise<unknown>): Promise<GaxError> {
  try {
    await p;
  } catch (err) {
    return err as GaxError;
  }
  assert.fail('expected the call to fail');
}

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const serial = (name: string) => standIn.inspect(name)?.serial ?? '';

describe('instances with the real @google-cloud/compute client', () => {
  test('insert, wait, get: the instance is RUNNING with the resource filled in like Compute Engine', async () => {
    const done = await create(vmResource('vm-basic', { labels: { run: 'r0' } }));
    assert.equal(done.status, 'DONE');
    assert.equal(done.operationType, 'insert');
    assert.ok(!done.error);
    assert.match(
      done.targetLink ?? '',
      /\/projects\/bed-project\/zones\/us-central1-a\/instances\/vm-basic$/,
    );
    const vm = await get('vm-basic');
    assert.equal(vm.status, 'RUNNING');
    assert.equal(vm.kind, 'compute#instance');
    assert.match(String(vm.id), /^\d+$/);
    assert.match(vm.machineType ?? '', /zones\/us-central1-a\/machineTypes\/e2-small$/);
    assert.match(vm.zone ?? '', /zones\/us-central1-a$/);
    assert.deepEqual(vm.labels, { run: 'r0' });
    assert.equal(vm.scheduling?.provisioningModel, 'STANDARD');
    assert.equal(vm.serviceAccounts?.[0]?.email, VM_SA);
    assert.ok(vm.metadata?.fingerprint);
    assert.ok(vm.lastStartTimestamp);
    assert.equal(vm.cpuPlatform, 'Intel Broadwell');
  });

  test('a startup script reads its attribute and a token from its own metadata server', async () => {
    const script = [
      '#!/bin/bash',
      'set -eu',
      'md() { curl -sf -H "Metadata-Flavor: Google" "http://$GCE_METADATA_HOST/computeMetadata/v1/$1"; }',
      'exp=$(md instance/attributes/experiment)',
      'token=$(md instance/service-accounts/default/token | sed -E \'s/.*"access_token":"([^"]+)".*/\\1/\')',
      'printf "%s" "$exp" > "$HOME/experiment.txt"',
      'printf "%s" "$token" > "$HOME/token.txt"',
      'echo "experiment=$exp name=$(md instance/name) zone=$(md instance/zone) preempted=$(md instance/preempted)"',
      'echo "noflavor=$(curl -s -o /dev/null -w "%{http_code}" "http://$GCE_METADATA_HOST/computeMetadata/v1/instance/name")"',
      'echo "marker=$BED_MARKER home=$HOME"',
      'sleep 300 &',
      'echo "child=$!"',
    ].join('\n');
    await create(
      vmResource('vm-script', { items: { 'startup-script': script, experiment: 'tool-a__svc-1' } }),
    );
    const dir = standIn.inspect('vm-script')!.home;
    await until('startup script to finish', () => serial('vm-script').includes('startup-script exit status'));
    const out = serial('vm-script');
    assert.match(out, /startup-script exit status 0/);
    assert.equal(readFileSync(path.join(dir, 'experiment.txt'), 'utf8'), 'tool-a__svc-1');
    const principal = tokens.check(`Bearer ${readFileSync(path.join(dir, 'token.txt'), 'utf8')}`);
    assert.equal(principal?.email, VM_SA, 'the metadata token is a live token of the VM service account');
    assert.match(
      out,
      /^\w{3} [ \d]\d \d\d:\d\d:\d\d vm-script google_metadata_script_runner\[\d+\]: startup-script: experiment=tool-a__svc-1 name=vm-script zone=projects\/123456789012\/zones\/us-central1-a preempted=FALSE$/m,
    );
    assert.match(out, /startup-script: noflavor=403$/m);
    assert.match(out, /startup-script: marker=from-vm-env home=\/root$/m);
    assert.match(out, /^SeaBIOS/, 'boot lines come first');
    childPids.push(Number(/startup-script: child=(\d+)/.exec(out)?.[1]));
    assert.equal((await get('vm-script')).status, 'RUNNING', 'the instance keeps running after its script');
  });

  test('serial port output pages with start/next like getSerialPortOutput', async () => {
    const script = 'for i in $(seq 1 200); do echo "line $i of the experiment log"; done';
    await create(vmResource('vm-serial', { items: { 'startup-script': script } }));
    await until('output', () => serial('vm-serial').includes('startup-script exit status'));
    const whole = serial('vm-serial');
    const total = Buffer.byteLength(whole);

    const [first] = await instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'vm-serial',
    });
    assert.equal(first.contents, whole);
    assert.equal(Number(first.start), 0);
    assert.equal(Number(first.next), total);

    const [mid] = await instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'vm-serial',
      port: 1,
      start: 100,
    });
    assert.equal(Number(mid.start), 100);
    assert.equal(mid.contents, Buffer.from(whole).subarray(100).toString());

    const [tail] = await instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'vm-serial',
      start: -10,
    });
    assert.equal(Number(tail.start), total - 10);
    assert.equal(
      tail.contents,
      Buffer.from(whole)
        .subarray(total - 10)
        .toString(),
    );

    const [beyond] = await instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'vm-serial',
      start: total + 50,
    });
    assert.equal(beyond.contents, '');
    assert.equal(Number(beyond.next), total + 50);
  });

  test('the serial buffer keeps the last 1 MB and moves a stale start up to the oldest byte', () => {
    const port = new SerialPort(1000);
    for (let i = 0; i < 300; i++) port.write('0123456789');
    assert.equal(port.total, 3000);
    const r = port.read(5);
    assert.equal(r.start, 2000);
    assert.equal(r.next, 3000);
    assert.equal(r.contents.length, 1000);
  });

  test('labels filter and pagination on list', async () => {
    await Promise.all([
      create(vmResource('vm-l1', { labels: { run: 'r1', exp: 'e1' } })),
      create(vmResource('vm-l2', { labels: { run: 'r1', exp: 'e2' } })),
      create(vmResource('vm-l3', { labels: { run: 'r2', exp: 'e1' } })),
    ]);
    const names = async (filter: string, maxResults?: number) => {
      const [list] = await instances.list({ project: PROJECT, zone: ZONE, filter, maxResults });
      return list.map((i) => i.name).sort();
    };
    assert.deepEqual(await names('labels.run = "r1"'), ['vm-l1', 'vm-l2']);
    assert.deepEqual(await names('labels.run=r1 AND labels.exp=e2'), ['vm-l2']);
    assert.deepEqual(await names('(labels.run = r1) (labels.exp = e1)'), ['vm-l1']);
    assert.deepEqual(await names('name = vm-l3'), ['vm-l3']);
    recorder.clear();
    assert.deepEqual(
      await names('labels.exp = e1', 1),
      ['vm-l1', 'vm-l3'],
      'autoPaginate follows nextPageToken',
    );
    assert.ok(recorder.of('compute', 'GET', /\/instances$/).some((r) => r.query.pageToken));
    const err = await rejection(instances.list({ project: PROJECT, zone: ZONE, filter: 'labels.run = ' }));
    assert.equal(err.httpStatusCode, 400);
    await Promise.all(['vm-l1', 'vm-l2', 'vm-l3'].map((n) => remove(n)));
  });

  test('each instance sees only the image and its own disk: no checkout, no host home, no other instance', async () => {
    await create(
      vmResource('vm-iso-a', {
        items: {
          'startup-script': 'echo secret > /var/tmp/secret-a\necho mine > "$HOME/home-a"\necho done-a',
        },
      }),
    );
    await until('the first instance', () => serial('vm-iso-a').includes('startup-script exit status'));
    const a = standIn.inspect('vm-iso-a')!;
    assert.ok(existsSync(path.join(a.varTmp, 'secret-a')), 'its /var/tmp is its own directory');
    assert.equal(readFileSync(path.join(a.home, 'home-a'), 'utf8'), 'mine\n');

    // As root on the host, an unsandboxed script could write there: names of its own to clean up after.
    const usrProbe = `/usr/.gce-matrix-probe-${process.pid}-${Date.now()}`;
    const etcProbe = `/etc/.gce-matrix-probe-${process.pid}-${Date.now()}`;
    const seen = (what: string, p: string) =>
      `if [ -e "${p}" ]; then echo "${what} visible"; else echo "${what} hidden"; fi`;
    const startup = [
      '#!/bin/bash',
      seen('checkout', path.join(repoRoot, 'package.json')),
      seen('repo', repoRoot),
      seen('other-instance', a.dir),
      seen('other-var-tmp', path.join(a.varTmp, 'secret-a')),
      seen('bed-dir', workDir),
      seen('host-home', '/home'),
      seen('work', '/work'),
      seen('opt', '/opt'),
      'echo "root=[$(ls -A /root)] tmp=[$(ls -A /tmp)] var-tmp=[$(ls -A /var/tmp)]"',
      'echo "env PATH=$PATH HOME=$HOME TMPDIR=${TMPDIR-unset} USER=$USER pwd=$(pwd)"',
      `if touch ${usrProbe} 2>/dev/null; then echo "usr writable"; else echo "usr read-only"; fi`,
      `if touch ${etcProbe} 2>/dev/null; then echo "etc writable"; else echo "etc read-only"; fi`,
      'echo "state of $$" > /var/tmp/state.txt',
      'sleep 600 &',
      'echo $! > /var/tmp/child.pid',
      'echo "child=$!"',
    ].join('\n');
    const shutdown = [
      '#!/bin/bash',
      'echo "state=[$(cat /var/tmp/state.txt)]"',
      'kill "$(cat /var/tmp/child.pid)" && echo "stopped the startup run\'s child"',
    ].join('\n');
    await create(
      vmResource('vm-iso-b', { items: { 'startup-script': startup, 'shutdown-script': shutdown } }),
    );
    await until('the sandboxed script', () => serial('vm-iso-b').includes('startup-script exit status'));
    const out = serial('vm-iso-b');
    const said = (line: string) => assert.match(out, new RegExp(`startup-script: ${line}$`, 'm'), out);
    try {
      assert.match(out, /startup-script exit status 0$/m, out);
      for (const what of [
        'checkout',
        'repo',
        'other-instance',
        'other-var-tmp',
        'bed-dir',
        'host-home',
        'work',
        'opt',
      ]) {
        said(`${what} hidden`);
      }
      said('root=\\[\\] tmp=\\[\\] var-tmp=\\[\\]');
      said(
        'env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=unset USER=root pwd=/',
      );
      said('usr read-only');
      said('etc read-only');
    } finally {
      rmSync(usrProbe, { force: true });
      rmSync(etcProbe, { force: true });
    }
    const child = Number(/startup-script: child=(\d+)/.exec(out)?.[1]);
    childPids.push(child);
    const b = standIn.inspect('vm-iso-b')!;
    const state = readFileSync(path.join(b.varTmp, 'state.txt'), 'utf8').trim();
    assert.match(state, /^state of \d+$/, "the guest's /var/tmp is the instance's disk");

    await remove('vm-iso-b');
    const end = serial('vm-iso-b');
    assert.ok(
      end.includes(`shutdown-script: state=[${state}]\n`),
      "the shutdown run sees the startup run's state",
    );
    assert.match(end, /shutdown-script: stopped the startup run's child$/m, end);
    await until('the child to die', () => !isAlive(child));
    await remove('vm-iso-a');
  });

  test('delete runs the shutdown script, kills the process group, and the instance is gone', async () => {
    await create(
      vmResource('vm-del', {
        items: {
          'startup-script': 'sleep 600 & echo "child=$!"; wait',
          'shutdown-script': '#!/bin/sh\necho "bye from $(hostname)"\ntouch "$HOME/shutdown-ran"',
        },
      }),
    );
    await until('child pid', () => /child=(\d+)/.exec(serial('vm-del')));
    const child = Number(/child=(\d+)/.exec(serial('vm-del'))![1]);
    childPids.push(child);
    const { home: dir, pids } = standIn.inspect('vm-del')!;
    assert.ok(isAlive(child));
    const [lro] = await instances.delete({ project: PROJECT, zone: ZONE, instance: 'vm-del' });
    const op = await waitOp(lro.latestResponse);
    assert.equal(op.operationType, 'delete');
    assert.ok(!op.error);
    assert.ok(existsSync(path.join(dir, 'shutdown-ran')));
    assert.match(serial('vm-del'), /shutdown-script: bye from /);
    const err = await rejection(get('vm-del'));
    assert.equal(err.code, 5);
    assert.equal(err.httpStatusCode, 404);
    assert.equal(
      err.message,
      "The resource 'projects/bed-project/zones/us-central1-a/instances/vm-del' was not found",
    );
    await until('processes to die', () => [child, ...pids].every((p) => !isAlive(p)));
  });

  test('deleting an instance that is still provisioning ends both operations and boots nothing', async () => {
    const [ins] = await instances.insert({
      project: PROJECT,
      zone: ZONE,
      instanceResource: vmResource('vm-early', { items: { 'startup-script': 'touch "$HOME/booted"' } }),
    });
    assert.equal((await get('vm-early')).status, 'PROVISIONING');
    await remove('vm-early');
    const insertOp = await waitOp(ins.latestResponse);
    assert.equal(insertOp.status, 'DONE');
    assert.equal((await rejection(get('vm-early'))).code, 5);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!existsSync(path.join(standIn.inspect('vm-early')!.home, 'booted')));
    assert.equal(standIn.inspect('vm-early')!.metadataHost, undefined);
  });

  test('requestId makes insert idempotent: the same operation comes back', async () => {
    const requestId = '3f1c6a1e-8d1b-4a57-9a55-2f4b8c0d1e7a';
    const resource = vmResource('vm-idem');
    const [a] = await instances.insert({
      project: PROJECT,
      zone: ZONE,
      instanceResource: resource,
      requestId,
    });
    const [b] = await instances.insert({
      project: PROJECT,
      zone: ZONE,
      instanceResource: resource,
      requestId,
    });
    assert.equal((a.latestResponse as { name: string }).name, (b.latestResponse as { name: string }).name);
    await waitOp(a.latestResponse);
    await remove('vm-idem');
  });

  test('a duplicate name is rejected with HTTP 409 (gax code 10 ABORTED, not 6)', async () => {
    await create(vmResource('vm-dup'));
    const err = await rejection(
      instances.insert({ project: PROJECT, zone: ZONE, instanceResource: vmResource('vm-dup') }),
    );
    assert.equal(err.code, 10);
    assert.equal(err.httpStatusCode, 409);
    assert.equal(
      err.message,
      "The resource 'projects/bed-project/zones/us-central1-a/instances/vm-dup' already exists",
    );
    assert.match(rawBody(err), /"reason":"alreadyExists"/);
    await remove('vm-dup');
  });

  test('invalid requests fail with 400 invalid and the field named', async () => {
    const bad = await rejection(
      instances.insert({ project: PROJECT, zone: ZONE, instanceResource: vmResource('Bad_Name') }),
    );
    assert.equal(bad.code, 3);
    assert.equal(bad.httpStatusCode, 400);
    assert.match(
      bad.message,
      /^Invalid value for field 'resource.name': 'Bad_Name'\. Must be a match of regex/,
    );
    const mt = await rejection(
      instances.insert({
        project: PROJECT,
        zone: ZONE,
        instanceResource: vmResource('vm-mt', { machineType: `zones/${ZONE}/machineTypes/n9-huge-7` }),
      }),
    );
    assert.match(mt.message, /Machine type with name 'n9-huge-7' does not exist in zone 'us-central1-a'\./);
    const label = await rejection(
      instances.insert({
        project: PROJECT,
        zone: ZONE,
        instanceResource: vmResource('vm-label', { labels: { repo: 'Octo-Org/Repo' } }),
      }),
    );
    assert.match(label.message, /Label value 'Octo-Org\/Repo' violates format constraints/);
    const zone = await rejection(get('vm-x', 'mars-central1-a'));
    assert.equal(zone.httpStatusCode, 404);
  });

  test('a stockout completes the insert operation DONE with ZONE_RESOURCE_POOL_EXHAUSTED; wait does not throw', async () => {
    standIn.stockout(ZONE);
    const op = await create(vmResource('vm-stockout'));
    assert.equal(op.status, 'DONE');
    assert.equal(op.error?.errors?.[0]?.code, 'ZONE_RESOURCE_POOL_EXHAUSTED');
    assert.match(
      op.error?.errors?.[0]?.message ?? '',
      /^The zone 'projects\/bed-project\/zones\/us-central1-a' does not have enough resources available to fulfill the request\./,
    );
    assert.equal(op.httpErrorStatusCode, 503);
    assert.equal((await rejection(get('vm-stockout'))).code, 5, 'the failed instance does not remain');

    standIn.stockout('us-central1-b', 1, { withDetails: true });
    const op2 = await create(
      vmResource('vm-stockout2', { machineType: 'zones/us-central1-b/machineTypes/e2-small' }),
      'us-central1-b',
    );
    assert.equal(op2.error?.errors?.[0]?.code, 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS');
    assert.equal(op2.error?.errors?.[0]?.errorDetails?.[0]?.errorInfo?.domain, 'compute.googleapis.com');
  });

  test('quota: 403 quotaExceeded on insert, or QUOTA_EXCEEDED inside the operation', async () => {
    const withdraw = standIn.quota('us-central1', 'CPUS');
    const err = await rejection(
      instances.insert({ project: PROJECT, zone: ZONE, instanceResource: vmResource('vm-quota') }),
    );
    withdraw();
    assert.equal(err.code, 7);
    assert.equal(err.httpStatusCode, 403);
    assert.equal(err.message, "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.");
    assert.equal(err.reason, 'QUOTA_EXCEEDED', 'ErrorInfo details are decoded into reason/domain');
    assert.equal(err.domain, 'compute.googleapis.com');
    assert.match(rawBody(err), /"reason":"quotaExceeded"/);

    standIn.quota('us-central1', 'SSD_TOTAL_GB', { times: 1, inOperation: true, limit: 500 });
    const op = await create(vmResource('vm-quota2'));
    assert.equal(op.error?.errors?.[0]?.code, 'QUOTA_EXCEEDED');
    assert.match(op.error?.errors?.[0]?.message ?? '', /^Quota 'SSD_TOTAL_GB' exceeded\.  Limit: 500\.0/);
  });

  test('429 is not retried by the library; 503 is retried on get but not on insert', async () => {
    standIn.rateLimit(1);
    const limited = await rejection(get('vm-basic'));
    assert.equal(limited.code, 8);
    assert.equal(limited.httpStatusCode, 429);
    assert.match(rawBody(limited), /"reason":"rateLimitExceeded"/);

    recorder.clear();
    standIn.unavailable(1);
    assert.equal((await get('vm-basic')).status, 'RUNNING');
    assert.deepEqual(
      recorder.of('compute', 'GET', /instances\/vm-basic$/).map((r) => r.status),
      [503, 200],
    );

    standIn.unavailable(1);
    const failed = await rejection(
      instances.insert({ project: PROJECT, zone: ZONE, instanceResource: vmResource('vm-503') }),
    );
    assert.equal(failed.code, 14);
    assert.equal(failed.httpStatusCode, 503);
  });

  test('an unknown or expired token is 401 and not retried', async () => {
    const stale = new InstancesClient(clientOptions('ya29.not-issued', Date.now() + 3_600_000));
    try {
      recorder.clear();
      const err = await rejection(stale.get({ project: PROJECT, zone: ZONE, instance: 'vm-basic' }));
      assert.equal(err.code, 16);
      assert.equal(err.httpStatusCode, 401);
      assert.equal(recorder.of('compute').length, 1);
    } finally {
      await stale.close();
    }
  });

  test('spot preemption: preempted=TRUE, shutdown script within budget, TERMINATED (or deleted)', async () => {
    const shutdown = [
      '#!/bin/bash',
      'p=$(curl -sf -H "Metadata-Flavor: Google" "http://$GCE_METADATA_HOST/computeMetadata/v1/instance/preempted")',
      'echo "$p" > "$HOME/preempted.txt"',
      'echo "shutting down, preempted=$p"',
    ].join('\n');
    const spot = { provisioningModel: 'SPOT', instanceTerminationAction: 'STOP' };
    await create(
      vmResource('vm-spot', {
        scheduling: spot,
        items: { 'startup-script': 'sleep 600', 'shutdown-script': shutdown },
      }),
    );
    const scheduling = (await get('vm-spot')).scheduling;
    assert.equal(scheduling?.preemptible, true);
    assert.equal(scheduling?.automaticRestart, false);
    assert.equal(scheduling?.onHostMaintenance, 'TERMINATE');
    await until('guest', () => serial('vm-spot').includes('Found startup-script'));
    const { home: dir, pids } = standIn.inspect('vm-spot')!;
    await standIn.preempt('vm-spot');
    assert.equal(readFileSync(path.join(dir, 'preempted.txt'), 'utf8').trim(), 'TRUE');
    assert.match(serial('vm-spot'), /shutdown-script: shutting down, preempted=TRUE/);
    const vm = await get('vm-spot');
    assert.equal(vm.status, 'TERMINATED');
    assert.ok(vm.lastStopTimestamp);
    assert.ok(pids.every((p) => !isAlive(p)));
    const [ops] = await zoneOps.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'operationType = compute.instances.preempted',
    });
    assert.equal(ops.length, 1);

    await create(
      vmResource('vm-spot-del', {
        scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'DELETE' },
        items: { 'startup-script': 'sleep 600' },
      }),
    );
    await standIn.preempt('vm-spot-del');
    assert.equal((await rejection(get('vm-spot-del'))).code, 5);
  });

  test('a shutdown script that overstays its budget is killed', async () => {
    await create(
      vmResource('vm-slowstop', {
        scheduling: { provisioningModel: 'SPOT', instanceTerminationAction: 'STOP' },
        items: { 'startup-script': 'true', 'shutdown-script': 'echo start; sleep 600; echo never' },
      }),
    );
    await until('guest', () => serial('vm-slowstop').includes('startup-script exit status'));
    const started = Date.now();
    await standIn.preempt('vm-slowstop');
    assert.ok(Date.now() - started < 5000, 'the 30 s virtual budget is 0.3 s real');
    assert.match(serial('vm-slowstop'), /Stopping timed out/);
    assert.doesNotMatch(serial('vm-slowstop'), /never/);
    assert.ok(standIn.inspect('vm-slowstop')!.pids.every((p) => !isAlive(p)));
  });

  test('silent death: killed without its shutdown script, instance TERMINATED', async () => {
    await create(
      vmResource('vm-silent', {
        items: { 'startup-script': 'sleep 600', 'shutdown-script': 'touch "$HOME/should-not-exist"' },
      }),
    );
    await until('guest', () => serial('vm-silent').includes('Found startup-script'));
    const { home: dir, pids } = standIn.inspect('vm-silent')!;
    await standIn.killSilently('vm-silent');
    assert.equal((await get('vm-silent')).status, 'TERMINATED');
    assert.ok(!existsSync(path.join(dir, 'should-not-exist')));
    await until('death', () => pids.every((p) => !isAlive(p)));
    await remove('vm-silent');
  });

  test('maxRunDuration with DELETE removes an overstaying instance after its shutdown script', async () => {
    await create(
      vmResource('vm-maxrun', {
        scheduling: { maxRunDuration: { seconds: 60 }, instanceTerminationAction: 'DELETE' },
        items: { 'startup-script': 'sleep 600', 'shutdown-script': 'touch "$HOME/max-run-shutdown"' },
      }),
    );
    const { home: dir } = standIn.inspect('vm-maxrun')!;
    assert.equal((await get('vm-maxrun')).scheduling?.maxRunDuration?.seconds, '60');
    const startedAt = clock.now();
    await until('deletion', async () => {
      try {
        await get('vm-maxrun');
        return undefined;
      } catch (err) {
        return (err as GaxError).code === 5;
      }
    });
    assert.ok(clock.now() - startedAt >= 55_000, 'not before its time');
    assert.ok(existsSync(path.join(dir, 'max-run-shutdown')));
  });

  test('slow boot and slow delete stretch the timeline in virtual time', async () => {
    standIn.slowBoot(120_000);
    await create(vmResource('vm-slowboot', { items: { 'startup-script': 'echo up' } }));
    const runningAt = clock.now();
    await until('guest', () => serial('vm-slowboot').includes('startup-script: up'));
    assert.ok(clock.now() - runningAt >= 120_000);
    standIn.slowDelete(60_000);
    const t = clock.now();
    await remove('vm-slowboot');
    assert.ok(clock.now() - t >= 60_000);
  });

  test('aggregatedList groups instances by zone', async () => {
    const seen: string[] = [];
    for await (const [scope, list] of instances.aggregatedListAsync({ project: PROJECT })) {
      for (const i of list.instances ?? []) seen.push(`${scope}/${i.name}`);
    }
    assert.ok(seen.includes('zones/us-central1-a/vm-basic'));
  });
});

/** The JSON error body Compute Engine sends with a 404 for a resource that does not exist. */
function notFoundBody(resource: string): unknown {
  const message = `The resource '${resource}' was not found`;
  return { error: { code: 404, message, errors: [{ message, domain: 'global', reason: 'notFound' }] } };
}

describe('zones, machine types, images and accelerator types with the real clients', () => {
  test('zones.get: a zone UP in its region; an unknown zone is 404 notFound', async () => {
    const [zone] = await zones.get({ project: PROJECT, zone: 'europe-west4-b' });
    assert.equal(zone.name, 'europe-west4-b');
    assert.equal(zone.status, 'UP');
    assert.match(zone.region ?? '', /\/projects\/bed-project\/regions\/europe-west4$/);
    const err = await rejection(zones.get({ project: PROJECT, zone: 'us-east1-a' }));
    assert.equal(err.httpStatusCode, 404);
    assert.deepEqual(JSON.parse(rawBody(err)), notFoundBody('projects/bed-project/zones/us-east1-a'));
  });

  test('machineTypes.get: predefined types where the zone offers them, custom types of an offered series', async () => {
    const [e2] = await machineTypes.get({ project: PROJECT, zone: ZONE, machineType: 'e2-standard-4' });
    assert.deepEqual([e2.guestCpus, e2.memoryMb, e2.zone], [4, 16384, ZONE]);
    const [g2] = await machineTypes.get({ project: PROJECT, zone: ZONE, machineType: 'g2-standard-4' });
    assert.equal(g2.name, 'g2-standard-4');
    const absent = await rejection(
      machineTypes.get({ project: PROJECT, zone: 'us-central1-f', machineType: 'g2-standard-4' }),
    );
    assert.deepEqual(
      JSON.parse(rawBody(absent)),
      notFoundBody('projects/bed-project/zones/us-central1-f/machineTypes/g2-standard-4'),
    );
    const [listed] = await machineTypes.list({ project: PROJECT, zone: 'us-central1-f' });
    assert.ok(listed.some((t) => t.name === 'e2-small'));
    assert.ok(!listed.some((t) => t.name === 'g2-standard-4'));

    const custom: [string, number, number][] = [
      ['custom-2-4096', 2, 4096],
      ['custom-1-1024', 1, 1024],
      ['n2-custom-4-16384', 4, 16384],
      ['n2-custom-4-40960-ext', 4, 40960],
      ['e2-custom-small-2048', 2, 2048],
    ];
    for (const [name, cpus, memoryMb] of custom) {
      const [t] = await machineTypes.get({ project: PROJECT, zone: ZONE, machineType: name });
      assert.deepEqual([t.name, t.guestCpus, t.memoryMb], [name, cpus, memoryMb], name);
    }
    const noSeries = await rejection(
      machineTypes.get({ project: PROJECT, zone: ZONE, machineType: 'zz9-custom-2-4096' }),
    );
    assert.equal(noSeries.httpStatusCode, 404);
    const shapes: [string, RegExp][] = [
      ['custom-3-4096', /takes 1 or an even number up to 96 vCPUs/],
      ['e2-custom-4-40960', /at most 8192 MB of memory per vCPU/],
      ['e2-custom-4-16384-ext', /Extended memory is not available for E2/],
      ['n2-custom-4-1000', /multiple of 256 MB/],
      ['n2d-custom-6-12288', /takes 2, 4, 8, 16, 32, 48, 64, 80 or 96 vCPUs/],
    ];
    for (const [name, why] of shapes) {
      const err = await rejection(machineTypes.get({ project: PROJECT, zone: ZONE, machineType: name }));
      assert.equal(err.httpStatusCode, 400, name);
      assert.match(err.message, why, name);
      assert.match(rawBody(err), /"reason":"invalid"/);
    }
  });

  test('images.get and getFromFamily: public images for every caller, a family as its newest image that is not deprecated', async () => {
    const [image] = await images.getFromFamily({ project: 'debian-cloud', family: 'debian-12' });
    assert.equal(image.name, 'debian-12-bookworm-v20250212');
    assert.equal(image.family, 'debian-12');
    assert.equal(image.status, 'READY');
    assert.match(
      image.selfLink ?? '',
      /\/projects\/debian-cloud\/global\/images\/debian-12-bookworm-v20250212$/,
    );
    const [old] = await images.get({ project: 'debian-cloud', image: 'debian-12-bookworm-v20250113' });
    assert.equal(old.deprecated?.state, 'DEPRECATED');
    assert.match(old.deprecated?.replacement ?? '', /\/images\/debian-12-bookworm-v20250212$/);
    const [byId] = await images.get({ project: 'debian-cloud', image: String(image.id) });
    assert.equal(byId.name, image.name);
    for (const [project, family] of [
      ['ubuntu-os-cloud', 'ubuntu-2204-lts'],
      ['cos-cloud', 'cos-stable'],
      ['deeplearning-platform-release', 'common-cu124-debian-11-py310'],
    ] as const) {
      const [found] = await images.getFromFamily({ project, family });
      assert.equal(found.family, family);
    }

    const noFamily = await rejection(images.getFromFamily({ project: 'debian-cloud', family: 'debian-99' }));
    assert.equal(noFamily.httpStatusCode, 404);
    assert.deepEqual(
      JSON.parse(rawBody(noFamily)),
      notFoundBody('projects/debian-cloud/global/images/family/debian-99'),
    );
    const noImage = await rejection(images.get({ project: 'debian-cloud', image: 'debian-99-v1' }));
    assert.deepEqual(
      JSON.parse(rawBody(noImage)),
      notFoundBody('projects/debian-cloud/global/images/debian-99-v1'),
    );
    const closed = await rejection(images.get({ project: 'someone-elses-project', image: 'secret-image' }));
    assert.equal(closed.httpStatusCode, 403);
    assert.equal(
      closed.message,
      "Required 'compute.images.get' permission for 'projects/someone-elses-project/global/images/secret-image'",
    );
    assert.match(rawBody(closed), /"reason":"forbidden"/);

    const ownMissing = await rejection(images.getFromFamily({ project: PROJECT, family: 'bench-image' }));
    assert.equal(ownMissing.httpStatusCode, 404);
    standIn.addImage({
      name: 'bench-image-v2',
      family: 'bench-image',
      description: 'bench tools',
      created: '2025-03-01T00:00:00.000-08:00',
      diskSizeGb: 20,
    });
    const [own] = await images.getFromFamily({ project: PROJECT, family: 'bench-image' });
    assert.deepEqual([own.name, own.diskSizeGb], ['bench-image-v2', '20']);
  });

  test('acceleratorTypes.get: the type with its card limit in the zones that offer it, 404 elsewhere', async () => {
    const [t4] = await acceleratorTypes.get({
      project: PROJECT,
      zone: ZONE,
      acceleratorType: 'nvidia-tesla-t4',
    });
    assert.deepEqual(
      [t4.name, t4.maximumCardsPerInstance, t4.description],
      ['nvidia-tesla-t4', 4, 'NVIDIA T4'],
    );
    assert.match(t4.zone ?? '', /\/zones\/us-central1-a$/);
    const [l4] = await acceleratorTypes.get({
      project: PROJECT,
      zone: 'us-east1-b',
      acceleratorType: 'nvidia-l4',
    });
    assert.equal(l4.maximumCardsPerInstance, 8);
    const [a100] = await acceleratorTypes.get({
      project: PROJECT,
      zone: ZONE,
      acceleratorType: 'nvidia-tesla-a100',
    });
    assert.equal(a100.maximumCardsPerInstance, 16);
    const absent = await rejection(
      acceleratorTypes.get({ project: PROJECT, zone: 'us-central1-f', acceleratorType: 'nvidia-l4' }),
    );
    assert.deepEqual(
      JSON.parse(rawBody(absent)),
      notFoundBody('projects/bed-project/zones/us-central1-f/acceleratorTypes/nvidia-l4'),
    );
  });

  test('insert refuses what Compute Engine refuses: images, accelerators and machine types the zone lacks', async () => {
    const insert = (resource: InstanceResource, zone = ZONE) =>
      rejection(instances.insert({ project: PROJECT, zone, instanceResource: resource }));
    const withImage = (name: string, sourceImage: string) =>
      vmResource(name, {
        disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage } }],
      });
    const gpu = (name: string, type: string, count: number, onHostMaintenance = 'TERMINATE') =>
      vmResource(name, {
        guestAccelerators: [
          { acceleratorType: `zones/${ZONE}/acceleratorTypes/${type}`, acceleratorCount: count },
        ],
        scheduling: { onHostMaintenance, automaticRestart: false },
      });

    const noImage = await insert(withImage('vm-noimg', 'projects/debian-cloud/global/images/debian-99-v1'));
    assert.equal(noImage.httpStatusCode, 404);
    assert.equal(
      noImage.message,
      "The resource 'projects/debian-cloud/global/images/debian-99-v1' was not found",
    );
    const noFamily = await insert(
      withImage('vm-nofam', 'projects/debian-cloud/global/images/family/debian-99'),
    );
    assert.equal(
      noFamily.message,
      "The resource 'projects/debian-cloud/global/images/family/debian-99' was not found",
    );
    const closed = await insert(withImage('vm-closed', 'projects/someone-elses-project/global/images/x'));
    assert.equal(closed.httpStatusCode, 403);
    assert.match(closed.message, /^Required 'compute\.images\.useReadOnly' permission/);
    const malformed = await insert(withImage('vm-badurl', 'debian-12'));
    assert.equal(malformed.httpStatusCode, 400);
    assert.match(
      malformed.message,
      /resource\.disks\[0\]\.initializeParams\.sourceImage': 'debian-12'\. The URL is malformed/,
    );
    standIn.addImage({
      name: 'retired-image',
      description: 'retired',
      created: '2020-01-01T00:00:00.000-08:00',
      diskSizeGb: 10,
      deprecated: { state: 'OBSOLETE' },
    });
    const obsolete = await insert(withImage('vm-obsolete', 'global/images/retired-image'));
    assert.equal(obsolete.httpStatusCode, 400);
    assert.match(obsolete.message, /is obsolete/);

    const absent = await insert(
      vmResource('vm-nol4', {
        guestAccelerators: [
          { acceleratorType: 'zones/us-central1-f/acceleratorTypes/nvidia-l4', acceleratorCount: 1 },
        ],
        scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false },
        machineType: 'zones/us-central1-f/machineTypes/e2-small',
      }),
      'us-central1-f',
    );
    assert.equal(absent.httpStatusCode, 404);
    assert.equal(
      absent.message,
      "The resource 'projects/bed-project/zones/us-central1-f/acceleratorTypes/nvidia-l4' was not found",
    );
    const tooMany = await insert(gpu('vm-t4x8', 'nvidia-tesla-t4', 8));
    assert.equal(tooMany.httpStatusCode, 400);
    assert.match(tooMany.message, /acceleratorCount': '8'\. Must be between 1 and 4/);
    const migrating = await insert(gpu('vm-migrate', 'nvidia-tesla-t4', 1, 'MIGRATE'));
    assert.equal(migrating.httpStatusCode, 400);
    assert.equal(migrating.message, 'Instances with guest accelerators do not support live migration.');
    const g2 = await insert(
      vmResource('vm-g2', { machineType: 'zones/us-central1-f/machineTypes/g2-standard-4' }),
      'us-central1-f',
    );
    assert.match(
      g2.message,
      /Machine type with name 'g2-standard-4' does not exist in zone 'us-central1-f'\./,
    );
    const refused = [
      ...['vm-noimg', 'vm-nofam', 'vm-closed', 'vm-badurl', 'vm-obsolete'],
      ...['vm-nol4', 'vm-t4x8', 'vm-migrate', 'vm-g2'],
    ];
    assert.deepEqual(
      standIn.listAll().filter((i) => refused.includes(i.name)),
      [],
      'a refused insert makes no instance',
    );
  });

  test('an instance from a family boots its newest image and keeps its accelerators', async () => {
    await create(
      vmResource('vm-gpu', {
        guestAccelerators: [
          { acceleratorType: `zones/${ZONE}/acceleratorTypes/nvidia-tesla-t4`, acceleratorCount: 2 },
        ],
        scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false },
      }),
    );
    const vm = await get('vm-gpu');
    assert.equal(vm.guestAccelerators?.[0]?.acceleratorCount, 2);
    assert.match(
      vm.guestAccelerators?.[0]?.acceleratorType ?? '',
      /\/zones\/us-central1-a\/acceleratorTypes\/nvidia-tesla-t4$/,
    );
    const host = standIn.inspect('vm-gpu')?.metadataHost;
    const image = await fetch(`http://${host}/computeMetadata/v1/instance/image`, {
      headers: { 'Metadata-Flavor': 'Google' },
    });
    assert.equal(await image.text(), 'projects/debian-cloud/global/images/debian-12-bookworm-v20250212');
    await remove('vm-gpu');
  });
});

// The metadata server's HTTP behaviour is tested against the shared emulator (test/emulator/metadata.test.ts);
// here only what the bed adds: its snapshot, recording and faults, registry tokens and virtual time.
describe('metadata server', () => {
  const state = { preempted: false };
  const snapshot = (): MetadataSnapshot => ({
    project: PROJECT,
    projectNumber: '123456789012',
    name: 'vm-md',
    id: '4242',
    zone: ZONE,
    machineType: 'e2-small',
    cpuPlatform: 'Intel Broadwell',
    image: 'projects/debian-cloud/global/images/debian-12',
    hostname: `vm-md.${ZONE}.c.${PROJECT}.internal`,
    preempted: state.preempted,
    attributes: { 'gce-matrix-run': 'r1' },
    serviceAccounts: [{ email: VM_SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] }],
  });
  const mdRecorder = new Recorder();
  const mds = new MetadataServer({
    clock,
    tokens,
    snapshot,
    recorder: mdRecorder,
    service: 'metadata:vm-md',
  });
  const md = (p: string) =>
    fetch(`http://${mds.host}/computeMetadata/v1/${p}`, { headers: { 'Metadata-Flavor': 'Google' } });

  before(() => mds.listen());
  after(() => mds.close());

  test('serves its snapshot on 127.0.0.1, recorded and open to faults under its service name', async () => {
    assert.equal(mds.host, `127.0.0.1:${mds.port}`);
    assert.equal(await (await md('instance/zone')).text(), `projects/123456789012/zones/${ZONE}`);
    assert.equal(mdRecorder.of('metadata:vm-md', 'GET', '/computeMetadata/v1/instance/zone').length, 1);
    mdRecorder.inject({ service: 'metadata:vm-md', path: '/instance/name', status: 503 });
    assert.equal((await md('instance/name')).status, 503);
    assert.equal(await (await md('instance/name')).text(), 'vm-md');
  });

  test("its tokens are the registry's, for the VM service account, in virtual time", async () => {
    const tok = (await (await md('instance/service-accounts/default/token')).json()) as Record<
      string,
      unknown
    >;
    assert.ok(Number(tok.expires_in) > 3500 && Number(tok.expires_in) < 3600);
    const principal = tokens.check(`Bearer ${String(tok.access_token)}`);
    assert.equal(principal?.email, VM_SA);
    assert.deepEqual(principal?.scopes, ['https://www.googleapis.com/auth/cloud-platform']);
  });

  test('changed() wakes wait_for_change after preemption', async () => {
    const etag = (await md('instance/preempted')).headers.get('etag') ?? '';
    const waiting = md(`instance/preempted?wait_for_change=true&last_etag=${etag}`);
    await new Promise((r) => setTimeout(r, 50));
    state.preempted = true;
    mds.changed();
    assert.equal(await (await waiting).text(), 'TRUE');
    state.preempted = false;
  });
});

test('list filters parse like Compute Engine', () => {
  const r = { name: 'vm-a', status: 'RUNNING', labels: { run: 'r1' }, zone: 'https://x/zones/us-central1-a' };
  assert.ok(parseFilter('labels.run = "r1" AND status = RUNNING')(r));
  assert.ok(parseFilter('zone = us-central1-a')(r));
  assert.ok(parseFilter('name = vm-*')(r));
  assert.ok(parseFilter('labels.run:*')(r));
  assert.ok(!parseFilter('labels.exp:*')(r));
  assert.ok(parseFilter('name eq vm-.*')(r));
  assert.ok(!parseFilter('status != RUNNING')(r));
});
