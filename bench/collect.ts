/**
 * Benchmark of actions/collect's downloader on the test bed: a run of 2,000 objects / 500 MB (20 experiments)
 * in the storage stand-in, downloaded three ways, each in its own process so its peak memory is its own:
 *   - collect: collectRun (listing, bounded-concurrency verified downloads, manifest),
 *   - @google-cloud/storage's TransferManager.downloadManyFiles over the same prefix, at the same concurrency,
 *   - a sequential loop of File#download.
 * Twice: over plain loopback, and with a first-byte delay on every download (`--latency-ms`, default 25) as
 * against Cloud Storage. Then the shipped bundle runs once through the step runner for its peak memory.
 * Prints throughput, the ratios and peak RSS beside their targets. `--quick`: 200 objects / 50 MB.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransferManager } from '@google-cloud/storage';
import { collectRun } from '../src/collect/collect.ts';
import { connectGcp } from '../src/gcp/clients.ts';
import { experimentObjects, runPrefix } from '../src/layout.ts';
import type { BedRequest } from '../test/bed/http.ts';
import { runStep } from '../test/bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const BUCKET = 'bench-collect';
const RUN_ID = 'bench';
const EXPERIMENTS = 20;
const CONCURRENCY = 16;
const location = { bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID };
const methods = ['collect', 'transfer-manager', 'sequential'] as const;
type Method = (typeof methods)[number];

interface WorkerResult {
  files: number;
  bytes: number;
  ms: number;
  peakRssMb: number;
  /** Peak RSS once the clients are built, before any download. */
  baselineMb: number;
}

/** This process's peak resident memory (VmHWM), MB. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 1024 / 1024;
}

/** Runs one method against the bed whose environment this process was given. */
async function worker(method: Method, out: string): Promise<WorkerResult> {
  const { clients } = connectGcp({ project: process.env.GOOGLE_CLOUD_PROJECT!, env: process.env });
  const bucket = clients.storage.bucket(BUCKET);
  const baselineMb = peakRssMb();
  const prefix = `${runPrefix(location)}experiments/`;
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  try {
    if (method === 'collect') {
      const r = await collectRun({
        storage: clients.storage,
        location,
        root: out,
        concurrency: CONCURRENCY,
        maxFileSize: 2 * 1024 ** 3,
      });
      files = r.manifest.counts.files;
      bytes = r.manifest.counts.bytes;
      if (r.manifest.counts.problems > 0) throw new Error(JSON.stringify(r.manifest.experiments[0].problems));
    } else if (method === 'transfer-manager') {
      const tm = new TransferManager(bucket);
      const results = await tm.downloadManyFiles(prefix, {
        concurrencyLimit: CONCURRENCY,
        passthroughOptions: { destination: out },
      });
      for (const r of results as unknown as { skipped?: boolean; error?: unknown; localPath?: string }[]) {
        if (r.skipped || r.error) throw new Error(`TransferManager skipped a file: ${String(r.error)}`);
        files += 1;
      }
      bytes = await sizeOf(out);
    } else {
      const [list] = await bucket.getFiles({ prefix });
      for (const f of list) {
        const dest = path.join(out, f.name);
        await mkdir(path.dirname(dest), { recursive: true });
        await f.download({ destination: dest });
        files += 1;
        bytes += Number(f.metadata.size);
      }
    }
  } finally {
    await clients.close();
  }
  return { files, bytes, ms: performance.now() - started, peakRssMb: peakRssMb(), baselineMb };
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += (await stat(path.join(e.parentPath, e.name))).size;
  }
  return total;
}

function runWorker(method: Method, env: Record<string, string>, out: string): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // --no-warnings: the library's own streams warn of listener leaks on every download in the comparisons.
    const child = spawn(
      process.execPath,
      ['--no-warnings', fileURLToPath(import.meta.url), '--worker', method, out],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${method} worker exited with ${code}: ${stdout}`));
      else resolve(JSON.parse(line) as WorkerResult);
    });
  });
}

/** Sizes from 1/5 to 9/5 of the mean, in a fixed pseudo-random order, summing to `total`. */
function sizes(count: number, total: number): number[] {
  let seed = 42;
  const raw = Array.from({ length: count }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 0.2 + 1.6 * (seed / 2 ** 31);
  });
  const sum = raw.reduce((a, b) => a + b, 0);
  const out = raw.map((r) => Math.floor((r / sum) * total));
  out[0] += total - out.reduce((a, b) => a + b, 0);
  return out;
}

/** Peak RSS of the process running the collect bundle, sampled while `work` runs. */
async function withPeakRss<T>(work: Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = 0;
  const sample = (): void => {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dist/collect/index.js')) continue;
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // the process ended between the listing and the read
      }
    }
  };
  const timer = setInterval(sample, 50);
  try {
    return { value: await work, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}

function isMedia(req: BedRequest): boolean {
  return req.method === 'GET' && req.url.searchParams.get('alt') === 'media';
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const at = process.argv.indexOf('--latency-ms');
  const latencyMs = at >= 0 ? Number(process.argv[at + 1]) : 25;
  const objects = quick ? 200 : 2000;
  const totalBytes = (quick ? 50 : 500) * 1024 * 1024;
  const { startTestBed } = await import('../test/bed/index.ts');
  const bed = await startTestBed();
  const scratch = await mkdtemp(path.join(tmpdir(), 'gce-matrix-bench-collect-'));
  try {
    bed.storage.createBucket(BUCKET);
    const data = randomBytes(totalBytes);
    const perExperiment = objects / EXPERIMENTS;
    let offset = 0;
    sizes(objects, totalBytes).forEach((size, i) => {
      const exp = experimentObjects(
        location,
        `exp-${String(Math.floor(i / perExperiment)).padStart(2, '0')}`,
      );
      const name = `${exp.outputs}part-${String(i % perExperiment).padStart(4, '0')}.bin`;
      bed.storage.putObject(BUCKET, name, data.subarray(offset, offset + size));
      offset += size;
    });
    for (let e = 0; e < EXPERIMENTS; e++) {
      const id = `exp-${String(e).padStart(2, '0')}`;
      bed.storage.putObject(
        BUCKET,
        experimentObjects(location, id).status,
        JSON.stringify({
          schema: 1,
          runId: RUN_ID,
          experiment: id,
          attempt: 1,
          state: 'succeeded',
          exitCode: 0,
          endedAt: new Date().toISOString(),
          outputs: [],
          provenance: {},
        }),
      );
    }
    const mbps = (r: WorkerResult): number => r.bytes / 1024 / 1024 / (r.ms / 1000);
    const row = (what: string, value: number, target: string, ok: boolean): void =>
      console.log(
        `  ${what.padEnd(44)} ${value.toFixed(2).padStart(8)}   target ${target.padEnd(8)} ${ok ? 'met' : 'MISSED'}`,
      );
    console.log(
      `actions/collect on the test bed: ${objects} objects / ${totalBytes / 1024 / 1024} MB in ${EXPERIMENTS} experiments, concurrency ${CONCURRENCY}` +
        (quick ? ' (--quick: a tenth of the full run)' : ''),
    );
    for (const latency of [0, latencyMs]) {
      // Loopback answers in microseconds, so a sequential loop is bound by CPU, not by waiting as it is
      // against Cloud Storage; the second pass adds a first-byte delay to every download to model that.
      const withdraw = latency
        ? bed.recorder.inject({ service: 'storage', when: isMedia, delayMs: latency, times: Infinity })
        : () => undefined;
      const results = new Map<Method, WorkerResult>();
      for (const method of methods) {
        const out = path.join(scratch, method);
        const r = await runWorker(method, bed.env, out);
        if (r.files < objects) throw new Error(`${method} fetched ${r.files} of ${objects} objects`);
        results.set(method, r);
        await rm(out, { recursive: true, force: true });
      }
      withdraw();
      console.log(
        latency
          ? `\nwith ${latency} ms to the first byte of every download:`
          : '\nloopback, no added latency:',
      );
      for (const [name, r] of results) {
        console.log(
          `  ${name.padEnd(18)} ${(r.ms / 1000).toFixed(2).padStart(7)} s ${mbps(r).toFixed(1).padStart(8)} MB/s ${String(r.files).padStart(6)} files   peak RSS ${r.peakRssMb.toFixed(0).padStart(4)} MB (${r.baselineMb.toFixed(0)} MB before the first download)`,
        );
      }
      const c = results.get('collect')!;
      const tm = results.get('transfer-manager')!;
      const seq = results.get('sequential')!;
      row('collect / TransferManager throughput', mbps(c) / mbps(tm), '>= 1.0', mbps(c) >= mbps(tm));
      row('collect / sequential throughput', mbps(c) / mbps(seq), '>= 5.0', mbps(c) >= 5 * mbps(seq));
    }

    // The step as it ships: the bundle through the step runner, its memory sampled from outside.
    const workspace = path.join(scratch, 'step');
    await mkdir(workspace);
    const { value: step, peakMb } = await withPeakRss(
      runStep({
        actionDir: path.join(root, 'actions/collect'),
        workspace,
        context: { repository: bed.repository, runId: 'bench-step', runAttempt: '1', sha: 'bench' },
        env: bed.env,
        inputs: { project: bed.project, bucket: BUCKET, 'run-id': RUN_ID, upload: 'false' },
      }),
    );
    if (step.conclusion !== 'success') throw new Error(`the collect step failed:\n${step.jobLog.join('\n')}`);
    console.log(
      `\nthe collect step (dist/collect/index.js, upload off), loopback: ${(step.durationMs / 1000).toFixed(2)} s`,
    );
    row('collect step peak RSS (MB)', peakMb, '<= 300', peakMb <= 300);
  } finally {
    await bed.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--worker');
if (at >= 0) {
  const r = await worker(process.argv[at + 1] as Method, process.argv[at + 2]);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  await main();
}
