/**
 * Benchmark of actions/launch on the test bed (real bundle, real agent, real client libraries):
 *   - time from the agent writing status.json to the launch step exiting (median over several runs),
 *   - Compute Engine and Cloud Storage requests per experiment-hour while waiting,
 *   - VM seconds alive after the experiment ends, and VMs leaked,
 *   - peak memory (RSS) of the waiting step.
 * Each figure is printed beside its target, as a ratio of it. `--quick` shortens the long wait.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestBed } from '../test/bed/index.ts';
import type { StepOptions } from '../test/bed/step-runner.ts';
import { runStep } from '../test/bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 5;
const LONG_WAIT_S = quick ? 30 : 75;
const BUCKET = 'bench-results';

const bed = await startTestBed();
bed.storage.createBucket(BUCKET);

function inputs(id: string, command: string): StepOptions {
  return {
    actionDir: path.join(root, 'actions/launch'),
    context: { repository: bed.repository, runId: 'bench', runAttempt: '1', sha: 'bench' },
    env: bed.env,
    inputs: {
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      experiment: JSON.stringify({ id, params: {} }),
      command,
      'heartbeat-seconds': '10',
      'log-interval-seconds': '10',
      source: 'none',
    },
  };
}

/** Peak RSS of any process running the launch bundle, sampled while `work` runs. */
async function withPeakRss<T>(work: Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = 0;
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/launch/index.js')) continue;
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // the process ended between the listing and the read
      }
    }
  }, 100);
  try {
    return { value: await work, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

function statusWrittenAt(id: string): number {
  const req = bed.recorder
    .of('storage', 'POST')
    .find((r) => r.query.name === `gce-matrix/runs/bench/experiments/${id}/status.json`);
  if (!req) throw new Error(`no status.json was written for ${id}`);
  return req.at;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const exitLags: number[] = [];
const aliveAfter: number[] = [];
let peakMb = 0;
try {
  for (let i = 0; i < RUNS; i++) {
    const id = `quick-${i}`;
    const started = Date.now();
    let goneAt: number | undefined;
    const watcher = setInterval(() => {
      const vm = bed.compute.listAll().find((v) => v.name.includes(id));
      if (vm && vm.status === 'DELETED' && goneAt === undefined) goneAt = Date.now();
    }, 20);
    const { value: r, peakMb: peak } = await withPeakRss(runStep(inputs(id, 'echo working; sleep 1')));
    clearInterval(watcher);
    if (r.conclusion !== 'success') throw new Error(`${id} failed:\n${r.jobLog.join('\n')}`);
    const written = statusWrittenAt(id);
    exitLags.push((started + r.durationMs - written) / 1000);
    aliveAfter.push(((goneAt ?? Date.now()) - written) / 1000);
    peakMb = Math.max(peakMb, peak);
  }

  // A longer wait, to count the requests a waiting step makes per hour.
  const id = 'long-wait';
  const { value: r, peakMb: peak } = await withPeakRss(
    runStep(inputs(id, `echo started; sleep ${LONG_WAIT_S}`)),
  );
  if (r.conclusion !== 'success') throw new Error(`${id} failed:\n${r.jobLog.join('\n')}`);
  peakMb = Math.max(peakMb, peak);
  const firstChunk = bed.recorder
    .of('storage', 'POST')
    .find((q) => (q.query.name ?? '').startsWith(`gce-matrix/runs/bench/experiments/${id}/attempts/1/log/`));
  const from = firstChunk?.at ?? 0;
  const to = statusWrittenAt(id);
  const hours = (to - from) / 3_600_000;
  const launcherRequests = (service: string): number =>
    bed.recorder
      .of(service)
      .filter((q) => q.at >= from && q.at <= to)
      // The agent's own requests carry the VM's token; count only the launch step's.
      .filter((q) => bed.tokens.check(q.headers.authorization)?.email !== bed.vmServiceAccount).length;
  const computePerHour = launcherRequests('compute') / hours;
  const storagePerHour = launcherRequests('storage') / hours;
  const leaked = bed.compute.listAll().filter((v) => v.status !== 'DELETED').length;

  const row = (what: string, value: string, target: string, ratio: number): void =>
    console.log(
      `${what.padEnd(52)} ${value.padStart(10)}   target ${target.padEnd(8)} ratio ${ratio.toFixed(2)}`,
    );
  console.log(`actions/launch on the test bed: ${RUNS} quick experiments and one ${LONG_WAIT_S} s wait`);
  row('median status written -> step exit (s)', median(exitLags).toFixed(2), '<= 2', median(exitLags) / 2);
  row(
    'Compute Engine requests per experiment-hour waiting',
    computePerHour.toFixed(0),
    '<= 60',
    computePerHour / 60,
  );
  console.log(
    `${'Cloud Storage requests per experiment-hour waiting'.padEnd(52)} ${storagePerHour.toFixed(0).padStart(10)}   (no target; ${(storagePerHour / 3600).toFixed(2)} per second)`,
  );
  row(
    'median VM seconds alive after the status (s)',
    median(aliveAfter).toFixed(2),
    '<= 15',
    median(aliveAfter) / 15,
  );
  row('VMs leaked', String(leaked), '0', leaked);
  row('peak memory of the launch step (MB)', peakMb.toFixed(0), '<= 250', peakMb / 250);
  if (leaked > 0) process.exitCode = 1;
} finally {
  await bed.close();
}
