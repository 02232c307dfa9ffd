import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { instanceName } from '../../src/naming.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import { pullRequestEvent, scheduleEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'detached-results';
const PR = 44;
const METRICS = `printf '{"score": 42}' > "$GCE_MATRIX_METRICS_FILE"`;
/**
 * Time is scaled through the inputs: one second of the experiment stands for an hour. The job limit (6 h) is a
 * 6-second wait-timeout-minutes, the 9-hour experiment sleeps 9 seconds.
 */
const HOUR_S = 1;

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('detached launches and the watcher (real bundles, real agent, stand-ins)', () => {
  let bed: TestBed;
  let prEvent: WorkflowEvent;
  const log = (r: StepResult): string => r.jobLog.join('\n');

  const step = async (
    action: string,
    runId: string,
    inputs: Record<string, string>,
    over: Partial<StepOptions> = {},
  ): Promise<StepResult> =>
    runStep({
      actionDir: path.join(root, action),
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: prEvent,
      context: {
        repository: bed.repository,
        runId,
        sha: runId.padEnd(40, '0'),
        ref: `refs/pull/${PR}/merge`,
        token: bed.github.defaultToken,
        workflow: 'bench',
      },
      env: bed.env,
      inputs,
      ...over,
    });

  const launch = (runId: string, id: string, command: string, inputs: Record<string, string> = {}) =>
    step('actions/launch', runId, {
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'run-id': runId,
      experiment: JSON.stringify({ id, params: { tool: 'a' } }),
      command,
      'heartbeat-seconds': '1',
      'log-interval-seconds': '1',
      'timeout-minutes': '30',
      ...inputs,
    });

  const object = (name: string) => bed.storage.getObject(BUCKET, `gce-matrix/${name}`);
  const json = (name: string): Record<string, unknown> =>
    JSON.parse(object(name)?.data.toString('utf8') ?? 'null') as Record<string, unknown>;
  const status = (name: string) => bed.compute.inspect(name)?.status;

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    prEvent = pullRequestEvent('opened', { repo: bed.repository, number: PR });
    const defaultBranch = (
      scheduleEvent('0 3 * * *', { repo: bed.repository }).payload.repository as {
        default_branch: string;
      }
    ).default_branch;
    bed.github.addPullRequest({
      repo: bed.repository,
      number: PR,
      baseRef: defaultBranch,
      baseSha: 'b'.repeat(40),
    });
  });

  after(async () => {
    await bed.close();
  });

  it('detach: true returns right after creating the VM, with the pending record written', async () => {
    const started = Date.now();
    const r = await launch('5001', 'quick', `sleep 30; ${METRICS}`, { detach: 'true' });
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.status, 'detached');
    assert.ok(Date.now() - started < 25_000, 'it did not wait for the experiment');
    const vm = instanceName('5001', 'quick', 1);
    assert.equal(r.outputs['vm-name'], vm);
    assert.equal(status(vm), 'RUNNING', 'the post step left the VM running');
    assert.ok(r.post, 'the post step ran');
    assert.doesNotMatch(r.post.log.join('\n'), /Deleting/);
    const record = json('runs/5001/detached/quick.json');
    assert.equal(record.instance, vm);
    assert.equal(record.zone, 'us-central1-a');
    assert.equal(record.reason, 'detach');
    assert.ok(Date.parse(String(record.deadline)) > Date.parse(String(record.createdAt)) + 30 * 60_000);
    const run = json('runs/5001/run.json');
    assert.equal(run.repository, bed.repository);
    assert.equal(run.prNumber, PR);
    assert.ok(object('detached-runs/5001.json'), 'the run is in the watcher index');
    assert.match(r.summary ?? '', /quick.*\*\*detached\*\*/);
  });

  it('a 9-hour experiment hands over at the wait limit: exit 0, status detached, the VM keeps running', async () => {
    const r = await launch('5002', 'train', `echo training; sleep ${9 * HOUR_S}; ${METRICS}`, {
      'wait-timeout-minutes': String((6 * HOUR_S) / 60),
    });
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.status, 'detached');
    assert.match(log(r), /handing it over/);
    assert.match(r.summary ?? '', /train.*\*\*detached\*\*.*handed over/);
    const vm = instanceName('5002', 'train', 1);
    assert.equal(status(vm), 'RUNNING');
    assert.equal(json('runs/5002/detached/train.json').reason, 'handover');
    await until('the experiment to finish on its VM', () =>
      object('runs/5002/experiments/train/status.json'),
    );
  });
});
