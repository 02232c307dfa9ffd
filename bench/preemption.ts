/**
 * Benchmark of a spot preemption on the test bed (real launch bundle, real agent, real client libraries): the
 * time from the preemption to the insert of the next attempt's VM (target <= 30 s), side by side for
 *   - a shutdown run that saves its small checkpoint and writes the status,
 *   - a 40 MB checkpoint whose upload cannot finish in the 30 s Compute Engine gives (the shutdown run is cut
 *     short; the next attempt resumes from the last periodic sync),
 *   - the same cut-short preemption when the preemption record cannot be written, so launch has only the
 *     heartbeat and the instance's state to go by.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { instanceName } from '../src/naming.ts';
import { startTestBed } from '../test/bed/index.ts';
import { startStep } from '../test/bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUCKET = 'bench-results';
const RUN = 'preempt-bench';

const bed = await startTestBed();
bed.storage.createBucket(BUCKET);

async function until<T>(what: string, probe: () => T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One preemption; returns seconds from it to the next attempt's insert request. */
async function preemptionToInsert(
  id: string,
  checkpointBytes: number,
  opts: { slowCheckpoint: boolean; noRecord: boolean },
): Promise<number> {
  const command = [
    'if [ -f "$GCE_MATRIX_CHECKPOINT_DIR/step" ]; then echo "resumed at $(cat "$GCE_MATRIX_CHECKPOINT_DIR/step")"; exit 0; fi',
    `head -c ${checkpointBytes} /dev/zero > "$GCE_MATRIX_CHECKPOINT_DIR/state.bin"`,
    'echo 1 > "$GCE_MATRIX_CHECKPOINT_DIR/step"; echo working',
    // the state keeps changing, so the shutdown run has the whole file to upload again
    'while :; do date >> "$GCE_MATRIX_CHECKPOINT_DIR/state.bin"; sleep 1; done',
  ].join('\n');
  const prefix = `gce-matrix/runs/${RUN}/experiments/${id}/`;
  const run = startStep({
    actionDir: path.join(root, 'actions/launch'),
    context: { repository: bed.repository, runId: RUN, runAttempt: '1', sha: 'bench' },
    env: bed.env,
    inputs: {
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      experiment: JSON.stringify({ id, params: {} }),
      command,
      provisioning: 'spot',
      'checkpoint-interval': '2',
      source: 'none',
    },
  });
  // preempt once the periodic sync has the checkpoint
  await until('the first checkpoint sync', () =>
    bed.storage.getObject(BUCKET, `${prefix}checkpoint/step`) ? true : undefined,
  );
  const withdraw: (() => void)[] = [];
  if (opts.slowCheckpoint) {
    withdraw.push(
      bed.recorder.inject({
        service: 'storage',
        method: 'POST',
        when: (req) => (req.url.searchParams.get('name') ?? '').startsWith(`${prefix}checkpoint/`),
        times: 1000,
        delayMs: 60_000,
      }),
    );
  }
  if (opts.noRecord) {
    withdraw.push(
      bed.recorder.inject({
        service: 'storage',
        when: (req) => (req.url.searchParams.get('name') ?? '').endsWith('/preempted.json'),
        times: 1000,
        status: 503,
        body: { error: { code: 503, message: 'Backend Error', errors: [{ reason: 'backendError' }] } },
      }),
    );
  }
  const second = instanceName(RUN, id, 2);
  const preemptedAt = Date.now();
  void bed.compute.preempt(instanceName(RUN, id, 1));
  const insert = await until('the next attempt', () =>
    bed.recorder.of('compute', 'POST', /\/instances$/).find((r) => r.bodyText.includes(`"${second}"`)),
  );
  for (const w of withdraw) w();
  const r = await run.result;
  if (r.conclusion !== 'success' || !r.jobLog.join('\n').includes('resumed at 1')) {
    throw new Error(`${id} did not resume and succeed:\n${r.jobLog.join('\n')}`);
  }
  return (insert.at - preemptedAt) / 1000;
}

try {
  const saved = await preemptionToInsert('saved', 1024 * 1024, { slowCheckpoint: false, noRecord: false });
  const cut = await preemptionToInsert('cut-short', 40 * 1024 * 1024, {
    slowCheckpoint: true,
    noRecord: false,
  });
  const blind = await preemptionToInsert('no-record', 40 * 1024 * 1024, {
    slowCheckpoint: true,
    noRecord: true,
  });
  const row = (what: string, seconds: number): void =>
    console.log(
      `${what.padEnd(62)} ${seconds.toFixed(1).padStart(6)} s   target <= 30 s   ratio ${(seconds / 30).toFixed(2)}`,
    );
  console.log(
    'preemption -> next attempt VM insert, on the test bed (Compute Engine gives a preempted guest 30 s)',
  );
  row('shutdown run saves a 1 MB checkpoint and writes the status', saved);
  row('40 MB checkpoint, shutdown run cut short', cut);
  row('cut short, and no preemption record (heartbeat and state only)', blind);
  console.log(
    `the preemption record saves ${(blind - cut).toFixed(1)} s in the cut-short case (ratio ${(cut / blind).toFixed(2)})`,
  );
} finally {
  await bed.close();
}
