import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { instanceName } from '../../src/naming.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep, startStep } from '../bed/step-runner.ts';
import { imageWithEngine } from '../fixtures/engine-image.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launchDir = path.join(root, 'actions/launch');
const BUCKET = 'bench-results';
const RUN_ID = '9001';
const METRICS = `printf '{"score": 42, "latency_ms": 12.5}' > "$GCE_MATRIX_METRICS_FILE"`;

function experiment(id: string, params: Record<string, string | number> = { tool: 'a' }): string {
  return JSON.stringify({ id, params });
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
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

describe('actions/launch end to end (real bundle, real agent, stand-ins)', () => {
  let bed: TestBed;
  /** An image with a container engine, for experiments with services. */
  let engineImage = '';

  const step = (inputs: Record<string, string>, over: Partial<StepOptions> = {}): StepOptions => ({
    actionDir: launchDir,
    event: workflowDispatchEvent({}, { repo: bed.repository }),
    context: { repository: bed.repository, runId: RUN_ID, runAttempt: '1', sha: 'c0ffee' },
    env: bed.env,
    inputs: {
      project: bed.project,
      zones: 'us-central1-a, us-central1-b',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'heartbeat-seconds': '1',
      'log-interval-seconds': '1',
      'timeout-minutes': '5',
      // these experiments need no code of the repository; the source snapshot has tests of its own
      source: 'none',
      ...inputs,
    },
    sigintGraceMs: 2000,
    sigtermGraceMs: 1000,
    ...over,
  });

  const liveInstances = (): string[] =>
    bed.compute
      .listAll()
      .filter((i) => i.status !== 'DELETED')
      .map((i) => i.name);

  const log = (r: StepResult): string => r.jobLog.join('\n');

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    bed.secretManager.addSecret(bed.project, 'api-key', 'sup3r-s3cret-value');
    engineImage = imageWithEngine(bed);
  });

  after(async () => {
    await bed.close();
  });

  it('runs an experiment to success, streams its log and deletes the VM', async () => {
    const r = await runStep(
      step({
        experiment: experiment('ok-1', { tool: 'a', seed: 1 }),
        command: `echo "tool=$GCE_MATRIX_PARAM_TOOL seed=$GCE_MATRIX_PARAM_SEED attempt=$GCE_MATRIX_ATTEMPT"; ${METRICS}`,
      }),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.status, 'succeeded');
    assert.equal(r.outputs['exit-code'], '0');
    assert.equal(r.outputs.attempts, '1');
    assert.equal(r.outputs.zone, 'us-central1-a');
    assert.equal(r.outputs['results-uri'], `gs://${BUCKET}/gce-matrix/runs/${RUN_ID}/experiments/ok-1/`);
    const [only, ...none] = JSON.parse(r.outputs.experiments ?? '[]') as Record<string, unknown>[];
    assert.deepEqual(none, []);
    assert.deepEqual(
      [only?.id, only?.status, only?.['exit-code'], only?.attempts, only?.['results-uri']],
      ['ok-1', 'succeeded', 0, 1, r.outputs['results-uri']],
    );
    assert.match(log(r), /\[ok-1\] tool=a seed=1 attempt=1/);
    assert.match(r.summary ?? '', /ok-1.*succeeded/);
    const metrics = bed.storage.getObject(
      BUCKET,
      `gce-matrix/runs/${RUN_ID}/experiments/ok-1/outputs/metrics.json`,
    );
    assert.deepEqual(JSON.parse(metrics?.data.toString('utf8') ?? 'null'), { score: 42, latency_ms: 12.5 });
    assert.deepEqual(liveInstances(), []);
  });

  it('fails the step with the exit code and the log tail when the command fails', async () => {
    const r = await runStep(
      step({ experiment: experiment('exit-3'), command: 'echo "about to fail"; exit 3' }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.equal(r.outputs.status, 'failed');
    assert.equal(r.outputs['exit-code'], '3');
    assert.equal(r.outputs.attempts, '1', 'a failing command is not retried unless asked');
    const error = r.annotations.find((a) => a.level === 'error');
    assert.match(error?.message ?? '', /exit code 3/);
    assert.match(error?.message ?? '', /about to fail/);
    assert.deepEqual(liveInstances(), []);
  });

  it('moves to the next zone on a stockout', async () => {
    bed.compute.stockout('us-central1-a', 1);
    const r = await runStep(step({ experiment: experiment('stockout'), command: METRICS }));
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.zone, 'us-central1-b');
    assert.match(log(r), /No capacity .* us-central1-a/);
  });

  it('follows the zones a stockout names as available', async () => {
    bed.compute.stockout('us-central1-a', 1, { zonesAvailable: ['us-central1-f'] });
    const r = await runStep(
      step({
        experiment: experiment('hinted'),
        command: METRICS,
        zones: 'us-central1-a, us-central1-b, us-central1-f',
      }),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.zone, 'us-central1-f');
  });

  it('starts a second attempt after a spot preemption, and it finds its checkpoint', async () => {
    const command = [
      'if [ -f "$GCE_MATRIX_CHECKPOINT_DIR/progress" ]; then',
      '  echo "resumed at $(cat "$GCE_MATRIX_CHECKPOINT_DIR/progress") on attempt $GCE_MATRIX_ATTEMPT"',
      `  ${METRICS}; exit 0`,
      'fi',
      'echo step-1 > "$GCE_MATRIX_CHECKPOINT_DIR/progress"; echo "working"; sleep 120',
    ].join('\n');
    const run = startStep(step({ experiment: experiment('preempt'), command, provisioning: 'spot' }));
    const name = instanceName(RUN_ID, 'preempt', 1);
    await until('the command to start', () =>
      bed.storage.getObject(
        BUCKET,
        `gce-matrix/runs/${RUN_ID}/experiments/preempt/attempts/1/log/000001.txt`,
      ),
    );
    await bed.compute.preempt(name);
    const r = await run.result;
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.attempts, '2');
    assert.match(log(r), /resumed at step-1 on attempt 2/);
    assert.match(log(r), /preempted/);
    assert.deepEqual(liveInstances(), []);
  });

  it('notices a VM that died silently and retries on a new one', async () => {
    const command = `if [ "$GCE_MATRIX_ATTEMPT" = 1 ]; then echo "hanging"; sleep 300; fi; ${METRICS}`;
    const run = startStep(step({ experiment: experiment('silent'), command }));
    const name = instanceName(RUN_ID, 'silent', 1);
    await until('the command to start', () =>
      bed.storage.getObject(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/silent/attempts/1/log/000001.txt`),
    );
    const killedAt = Date.now();
    await bed.compute.killSilently(name);
    const r = await run.result;
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.attempts, '2');
    assert.match(log(r), /lost its VM/);
    assert.ok(Date.now() - killedAt < 30_000, `noticed after ${Date.now() - killedAt} ms`);
    assert.deepEqual(liveInstances(), []);
  });

  it('keeps secrets out of metadata, logs and outputs', async () => {
    // The command checks the value without spelling it, so that only a leak can put it into a request.
    const command = `[ "\${#API_KEY}" -eq 18 ] && [ "\${API_KEY%-value}" != "$API_KEY" ] && echo "secret ok"; ${METRICS}`;
    const r = await runStep(step({ experiment: experiment('secret'), command, secrets: 'API_KEY=api-key' }));
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(log(r), /secret ok/);
    const inserts = bed.recorder.of('compute', 'POST', /\/instances$/);
    for (const req of inserts) assert.doesNotMatch(req.bodyText, /sup3r-s3cret-value/);
    assert.doesNotMatch(log(r), /sup3r-s3cret-value/);
    assert.doesNotMatch(JSON.stringify(r.outputs), /sup3r-s3cret-value/);
    for (const o of bed.storage.listObjects(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/secret/`)) {
      const obj = bed.storage.getObject(BUCKET, o.name);
      assert.doesNotMatch(obj?.data.toString('utf8') ?? '', /sup3r-s3cret-value/, o.name);
    }
  });

  it('redacts a secret the command prints from the job log, the failure annotation, the summary and the bucket', async () => {
    const command = 'echo "the key is $API_KEY"; echo "encoded $(printf %s "$API_KEY" | base64)"; exit 4';
    const r = await runStep(
      step({ experiment: experiment('prints-secret'), command, secrets: 'API_KEY=api-key' }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(log(r), /\[prints-secret\] the key is \*\*\*/);
    assert.match(log(r), /\[prints-secret\] encoded \*\*\*/);
    const surfaces = [
      log(r),
      JSON.stringify(r.annotations),
      r.summary ?? '',
      ...bed.storage
        .listObjects(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/prints-secret/`)
        .map((o) => bed.storage.getObject(BUCKET, o.name)?.data.toString('utf8') ?? ''),
    ];
    for (const text of surfaces) {
      assert.doesNotMatch(text, /sup3r-s3cret-value/);
      assert.doesNotMatch(text, new RegExp(Buffer.from('sup3r-s3cret-value').toString('base64')));
    }
    assert.match(JSON.stringify(r.annotations), /the key is \*\*\*/);
  });

  it('gives every VM a hard time limit that deletes it', () => {
    const inserts = bed.recorder.of('compute', 'POST', /\/instances$/);
    assert.ok(inserts.length > 0);
    for (const req of inserts) {
      const body = JSON.parse(req.bodyText) as {
        scheduling?: { instanceTerminationAction?: string; maxRunDuration?: { seconds?: string } };
      };
      assert.equal(body.scheduling?.instanceTerminationAction, 'DELETE');
      assert.ok(Number(body.scheduling?.maxRunDuration?.seconds) > 0);
    }
  });

  it('leaves no VM when cancelled while the VM is being created', async () => {
    bed.compute.slowBoot(20_000);
    const run = startStep(step({ experiment: experiment('cancel-create'), command: 'sleep 300' }));
    await until('the insert call', () =>
      bed.recorder.of('compute', 'POST', /\/instances$/).find((r) => r.bodyText.includes('cancel-create')),
    );
    run.cancel();
    const r = await run.result;
    bed.compute.slowBoot(0);
    assert.equal(r.cancelled, true);
    assert.equal(r.post?.conclusion, 'success', r.post?.log.join('\n'));
    await until(
      'the VM to be gone',
      () => liveInstances().every((n) => !n.includes('cancel-create')) || undefined,
      30_000,
    );
  });

  it('leaves no VM when cancelled while waiting', async () => {
    const run = startStep(
      step({ experiment: experiment('cancel-wait'), command: 'echo started; sleep 300' }),
    );
    await until('the command to start', () =>
      bed.storage.getObject(
        BUCKET,
        `gce-matrix/runs/${RUN_ID}/experiments/cancel-wait/attempts/1/log/000001.txt`,
      ),
    );
    run.cancel();
    const r = await run.result;
    assert.equal(r.cancelled, true);
    assert.match(r.post?.log.join('\n') ?? '', /Deleting gcem-/);
    assert.deepEqual(
      liveInstances().filter((n) => n.includes('cancel-wait')),
      [],
    );
  });

  it('cancelling one experiment deletes only its VM, also when another id rewrites to the same label', async () => {
    const upper = startStep(step({ experiment: experiment('col-X'), command: 'echo started; sleep 300' }));
    const lower = startStep(step({ experiment: experiment('col-x'), command: 'echo started; sleep 300' }));
    const names = [instanceName(RUN_ID, 'col-X', 1), instanceName(RUN_ID, 'col-x', 1)];
    assert.notEqual(names[0], names[1]);
    await until('both VMs to run', () => names.every((n) => liveInstances().includes(n)));
    upper.cancel();
    const r = await upper.result;
    assert.equal(r.cancelled, true);
    assert.match(r.post?.log.join('\n') ?? '', new RegExp(`Deleting ${names[0]}`));
    assert.doesNotMatch(r.post?.log.join('\n') ?? '', new RegExp(names[1]));
    assert.ok(liveInstances().includes(names[1]), 'the other experiment keeps its VM');
    assert.ok(!liveInstances().includes(names[0]));
    lower.cancel();
    await lower.result;
    assert.deepEqual(
      liveInstances().filter((n) => names.includes(n)),
      [],
    );
  });

  it('adopts the VM of an earlier run of the same job instead of making a second one', async () => {
    const command = `echo waiting; sleep 4; ${METRICS}`;
    // The first runner dies mid-wait without its post step; the re-run finds the VM still working.
    const first = startStep(step({ experiment: experiment('rerun'), command }, { runPost: false }));
    await until('the VM to run', () => liveInstances().find((n) => n.includes('rerun')));
    first.cancel();
    await first.result;
    const r = await runStep(
      step(
        { experiment: experiment('rerun'), command },
        { context: { repository: bed.repository, runId: RUN_ID, runAttempt: '2', sha: 'c0ffee' } },
      ),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(log(r), /Adopting|already exists in .*; adopting it/);
    const inserts = bed.recorder
      .of('compute', 'POST', /\/instances$/)
      .filter((q) => q.bodyText.includes('"rerun"'));
    assert.equal(inserts.length, 1);
    assert.deepEqual(liveInstances(), []);
  });

  it('a re-run after a failed command gets attempts of its own: its own log and status, a clean checkpoint', async () => {
    const command = [
      'if [ -f "$GCE_MATRIX_CHECKPOINT_DIR/state" ]; then echo "resumed from the old checkpoint"; fi',
      'if [ "$GCE_MATRIX_ATTEMPT" = 1 ]; then',
      '  echo old > "$GCE_MATRIX_CHECKPOINT_DIR/state"; echo "line of the first run"; exit 3',
      'fi',
      `echo "line of the re-run, attempt $GCE_MATRIX_ATTEMPT"; ${METRICS}`,
    ].join('\n');
    const first = await runStep(step({ experiment: experiment('again'), command }));
    assert.equal(first.conclusion, 'failure', log(first));
    const again = await runStep(
      step(
        { experiment: experiment('again'), command },
        { context: { repository: bed.repository, runId: RUN_ID, runAttempt: '2', sha: 'c0ffee' } },
      ),
    );
    assert.equal(again.conclusion, 'success', log(again));
    assert.match(
      log(again),
      /attempt 1 ended failed: this run starts clean \(1 checkpoint object\(s\) removed/,
    );
    assert.match(log(again), /line of the re-run, attempt 2/);
    assert.doesNotMatch(log(again), /line of the first run|resumed from the old checkpoint/);
    const text = (n: number) =>
      bed.storage
        .listObjects(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/again/attempts/${n}/log/`)
        .map((o) => bed.storage.getObject(BUCKET, o.name)?.data.toString('utf8') ?? '')
        .join('');
    assert.match(text(1), /line of the first run/);
    assert.doesNotMatch(text(1), /re-run/);
    assert.match(text(2), /line of the re-run/);
    assert.doesNotMatch(text(2), /first run/);
    const status = JSON.parse(
      bed.storage
        .getObject(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/again/status.json`)
        ?.data.toString() ?? '{}',
    ) as { attempt?: number; state?: string };
    assert.deepEqual([status.attempt, status.state], [2, 'succeeded']);
    assert.ok(
      bed.storage.getObject(BUCKET, `gce-matrix/runs/${RUN_ID}/experiments/again/attempts/1/status.json`),
    );
    assert.deepEqual(liveInstances(), []);
  });

  it('rejects bad input before any VM is created', async () => {
    const before = bed.recorder.of('compute', 'POST').length;
    const r = await runStep(step({ experiment: '{"id": "bad/id"}', command: 'true' }));
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /gce-matrix launch: input experiment id "bad\/id" is not valid/,
    );
    // one annotation: the post step, with nothing created, says nothing
    assert.equal(r.annotations.filter((a) => a.level === 'error').length, 1, JSON.stringify(r.annotations));
    assert.deepEqual(r.post?.log.filter((l) => l.trim() !== '') ?? [], []);
    assert.equal(bed.recorder.of('compute', 'POST').length, before);
  });

  it('names a missing bucket before any VM is created', async () => {
    const before = bed.recorder.of('compute', 'POST').length;
    const r = await runStep(
      step({ experiment: experiment('no-bucket'), command: 'true', bucket: 'no-such-bucket' }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /input bucket: gs:\/\/no-such-bucket does not exist/,
    );
    assert.equal(bed.recorder.of('compute', 'POST').length, before);
  });

  it('turns an unknown machine type into a message naming the input, leaving nothing behind', async () => {
    const r = await runStep(
      step({ experiment: experiment('bad-type'), command: 'true', 'machine-type': 'e2-imaginary-7' }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /machine-type \(e2-imaginary-7\)/,
    );
    assert.deepEqual(
      liveInstances().filter((n) => n.includes('bad-type')),
      [],
    );
  });

  it('runs a service container beside the command: healthy first, reached at its URL, stopped after, its log and digest kept', async () => {
    const services = {
      web: { image: 'bed/web:1', env: { MESSAGE: 'hello' }, ports: [8080], health: { cmd: './ready' } },
    };
    const exp = JSON.stringify({
      id: 'with-web',
      params: {},
      launch: { services: JSON.stringify(services) },
    });
    const r = await runStep(
      step({
        experiment: exp,
        command: `curl -fsS "$GCE_MATRIX_SERVICE_WEB_URL/"; echo; ${METRICS}`,
        image: engineImage,
      }),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(log(r), /\[with-web\] web says hello/);
    const base = `gce-matrix/runs/${RUN_ID}/experiments/with-web/`;
    const status = JSON.parse(
      bed.storage.getObject(BUCKET, `${base}status.json`)?.data.toString('utf8') ?? '{}',
    ) as {
      provenance?: { services?: Record<string, { image: string; digest?: string }> };
    };
    assert.equal(status.provenance?.services?.web?.image, 'bed/web:1');
    assert.match(status.provenance?.services?.web?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
    const names = bed.storage
      .listObjects(BUCKET, `${base}attempts/1/log/`)
      .map((o) => o.name)
      .sort();
    const shipped = names.map((n) => bed.storage.getObject(BUCKET, n)?.data.toString('utf8') ?? '').join('');
    assert.match(shipped, /^\[service web\] web: serving$/m);
    assert.match(shipped, /^\[service web\] web: stopping$/m);
    assert.deepEqual(liveInstances(), []);
  });

  it('ends a service on an image without a container engine with an error that says so, after trying to install one', async () => {
    const exp = JSON.stringify({
      id: 'web-on-debian',
      params: {},
      launch: { services: JSON.stringify({ web: { image: 'bed/web:1', ports: [8080] } }) },
    });
    const r = await runStep(step({ experiment: exp, command: 'true', 'max-attempts': '1' }));
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /service web needs a container engine, but the VM image has neither docker nor podman, and installing docker\.io failed .*use an image that ships one \(input image\)/,
    );
    assert.deepEqual(liveInstances(), []);
  });

  it('refuses a packed leg its machine type cannot hold, before any VM is created', async () => {
    const before = bed.recorder.of('compute', 'POST').length;
    const leg = {
      id: 'pack-0000000000',
      params: {},
      members: [
        { id: 'big-1', params: {} },
        { id: 'big-2', params: {} },
      ],
    };
    const r = await runStep(
      step({
        experiment: JSON.stringify(leg),
        command: 'true',
        'machine-type': 'e2-standard-2',
        resources: 'cpus=2',
      }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(r.annotations.find((a) => a.level === 'error')?.message ?? '', /resources.*e2-standard-2/);
    assert.equal(bed.recorder.of('compute', 'POST').length, before);
  });

  it('refuses a service without an image before any VM is created', async () => {
    const before = bed.recorder.of('compute', 'POST').length;
    const r = await runStep(
      step({ experiment: experiment('svc-bad'), command: 'true', services: 'db: {ports: [5432]}' }),
    );
    assert.equal(r.conclusion, 'failure');
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /input services\.db\.image is required: the container image to run/,
    );
    assert.equal(bed.recorder.of('compute', 'POST').length, before);
  });

  it('tries the zones of a region when given a region, and honours per-experiment overrides', async () => {
    const exp = JSON.stringify({ id: 'by-region', params: {}, launch: { 'machine-type': 'e2-standard-4' } });
    const r = await runStep(step({ experiment: exp, command: METRICS, zones: '', region: 'europe-west4' }));
    assert.equal(r.conclusion, 'success', log(r));
    assert.match(r.outputs.zone ?? '', /^europe-west4-/);
    assert.equal(r.outputs['machine-type'], 'e2-standard-4');
  });
});
