import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { ComputeApi } from '../../src/gcp/compute.ts';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { runJanitor } from '../../src/janitor/janitor.ts';
import { labelValue, runKey } from '../../src/naming.ts';
import { scheduleEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import { bedClients } from '../bed/scenario.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const janitorDir = path.join(root, 'actions/janitor');
const ZONES = ['us-central1-a', 'us-central1-b'];

describe('actions/janitor end to end (real bundle, stand-ins)', () => {
  let bed: TestBed;
  let clients: GcpClients;

  async function insert(
    zone: string,
    name: string,
    labels: Record<string, string>,
    ttlSeconds = 3600,
  ): Promise<void> {
    const [lro] = await clients.instances.insert({
      project: bed.project,
      zone,
      requestId: crypto.randomUUID(),
      instanceResource: {
        name,
        machineType: `zones/${zone}/machineTypes/e2-small`,
        labels,
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
          },
        ],
        networkInterfaces: [{}],
        scheduling: { instanceTerminationAction: 'DELETE', maxRunDuration: { seconds: String(ttlSeconds) } },
      },
    });
    for (let op = String(lro.latestResponse.name); ;) {
      const [done] = await clients.zoneOperations.wait({ project: bed.project, zone, operation: op });
      if (done.status === 'DONE') {
        assert.ok(!done.error, `insert ${name}: ${JSON.stringify(done.error)}`);
        return;
      }
      op = String(done.name);
    }
  }

  const live = (): string[] =>
    bed.compute
      .listAll()
      .filter((i) => i.status !== 'DELETED')
      .map((i) => i.name)
      .sort();

  before(async () => {
    bed = await startTestBed();
    clients = bedClients(bed, { as: 'owner' }).clients;
    const repo = labelValue(bed.repository);
    const managed = (run: string, r = repo): Record<string, string> => ({
      'gce-matrix': 'managed',
      'gce-matrix-run': labelValue(run),
      'gce-matrix-run-key': runKey(run),
      'gce-matrix-repo': r,
      'gce-matrix-experiment': 'e',
      'gce-matrix-attempt': '1',
    });
    await insert('us-central1-a', 'gcem-live-1', managed('500'));
    await insert('us-central1-b', 'gcem-live-2', managed('500'));
    await insert('us-central1-a', 'gcem-ended-1', managed('R.400'));
    await insert('us-central1-b', 'gcem-ended-2', managed('R.400'));
    await insert('us-central1-a', 'gcem-stopped-1', managed('500'));
    await insert('us-central1-a', 'gcem-elsewhere-1', managed('R.400', 'someone_else_repo'));
    await insert('us-central1-a', 'not-ours', { 'gce-matrix': 'demo', 'gce-matrix-run': '400' });
    await insert('us-east1-b', 'gcem-other-zone', managed('R.400'));
    // Another run whose id rewrites to the same readable label as R.400: the janitor must tell them apart.
    await insert('us-central1-b', 'gcem-lookalike-1', managed('r_400'));
    // Wait for the boots, then leave one VM stopped, as a host failure would.
    const deadline = Date.now() + 30_000;
    while (bed.compute.listAll().some((i) => i.status !== 'RUNNING')) {
      if (Date.now() > deadline) throw new Error('the VMs never reached RUNNING');
      await new Promise((r) => setTimeout(r, 50));
    }
    await bed.compute.killSilently('gcem-stopped-1', { zone: 'us-central1-a' });
    await new Promise((r) => setTimeout(r, 20));
  });

  after(async () => {
    await clients.close();
    await bed.close();
  });

  const step = (inputs: Record<string, string>) =>
    runStep({
      actionDir: janitorDir,
      event: scheduleEvent('0 4 * * *', { repo: bed.repository }),
      context: { repository: bed.repository, runId: '600' },
      env: bed.env,
      inputs: { project: bed.project, zones: ZONES.join(', '), 'margin-minutes': '0', ...inputs },
    });

  it('reports without deleting on a dry run', async () => {
    const before = live();
    const r = await step({ 'run-id': 'R.400', 'dry-run': 'true' });
    assert.equal(r.conclusion, 'success', r.jobLog.join('\n'));
    assert.equal(r.outputs.found, '6');
    assert.equal(r.outputs.stale, '3');
    assert.equal(r.outputs.deleted, '0');
    assert.match(r.summary ?? '', /would delete \(run-ended\)/);
    assert.deepEqual(live(), before);
  });

  it('deletes exactly the VMs of the ended run and the stopped one', async () => {
    const r = await step({ 'run-id': 'R.400' });
    assert.equal(r.conclusion, 'success', r.jobLog.join('\n'));
    assert.equal(r.outputs.found, '6');
    assert.equal(r.outputs.deleted, '3');
    assert.equal(r.outputs.failed, '0');
    assert.deepEqual(live(), [
      'gcem-elsewhere-1',
      'gcem-live-1',
      'gcem-live-2',
      'gcem-lookalike-1',
      'gcem-other-zone',
      'not-ours',
    ]);
    assert.match(
      r.summary ?? '',
      /`gcem-ended-1` \| us-central1-a \| r&#95;400 \| RUNNING \| deleted \(run-ended\)/,
    );
    assert.match(r.summary ?? '', /`gcem-lookalike-1` .* kept/);
    assert.match(r.summary ?? '', /`gcem-stopped-1` .* deleted \(terminated\)/);
    assert.match(r.summary ?? '', /`gcem-live-1` .* kept/);
    assert.match(r.jobLog.join('\n'), /Deleting gcem-ended-2 in us-central1-b: run r_400 has ended/);
  });

  it('fails with a message naming the input when no zone is given', async () => {
    const r = await step({ zones: '' });
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.map((a) => a.message).join('\n'),
      /gce-matrix janitor: input zones \(or region\)/,
    );
  });

  it('as a function: deletes VMs past their time limit, across a region, in every repository', async () => {
    // Three hours from now: every VM made above (limit one hour) is past its limit and the margin.
    const later: Clock = {
      now: () => Date.now() + 3 * 3_600_000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    const launcher = bedClients(bed).clients;
    const compute = new ComputeApi(launcher, later);
    const lines: string[] = [];
    const result = await runJanitor({
      compute,
      clock: later,
      regions: ['us-central1'],
      marginMinutes: 30,
      log: (m) => lines.push(m),
    });
    assert.ok(
      result.zones.includes('us-central1-a') && result.zones.includes('us-central1-f'),
      String(result.zones),
    );
    assert.deepEqual(
      result.deleted.map((v) => [v.vm.name, v.action === 'delete' ? v.reason : 'keep']),
      [
        ['gcem-elsewhere-1', 'ttl-passed'],
        ['gcem-live-1', 'ttl-passed'],
        ['gcem-live-2', 'ttl-passed'],
        ['gcem-lookalike-1', 'ttl-passed'],
      ],
    );
    assert.deepEqual(live(), ['gcem-other-zone', 'not-ours']);
    assert.match(lines.join('\n'), /Found 4 gce-matrix VM\(s\)/);
    await launcher.close();
  });
});
