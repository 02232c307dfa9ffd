/**
 * Benchmark of packing, run side by side in one go through the real CLI and VM agent on this machine:
 *   - per-vm 1: every experiment its own "VM" (leg), two at a time (this machine has 2 cores, as two VMs of one
 *     vCPU each would), the scheduler free to place them;
 *   - per-vm 2: two experiments a VM, admitted by their one reserved CPU each and pinned to it (cpuset).
 * It prints VM count, VM-hours (each leg's life: from its first experiment's start to its last one's end),
 * total wall time, and the coefficient of variation of a CPU-bound metric (a fixed amount of arithmetic, timed)
 * across the repetitions. Target: packing with pinned CPUs raises the CV by at most 10% relative.
 *
 * REPETITIONS (default 12) sets how many experiments each side runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'src/cli/index.ts');
const repetitions = Number(process.env.REPETITIONS ?? 12);

/** The experiment: the same arithmetic every time; its duration in ms is the metric. */
const COMMAND = [
  'start=$(date +%s%N)',
  "awk 'BEGIN { s = 0; for (i = 0; i < 6000000; i++) s += i % 7; print s }' >/dev/null",
  'end=$(date +%s%N)',
  'printf \'{"work_ms": %s}\' $(( (end - start) / 1000000 )) >"$GCE_MATRIX_METRICS_FILE"',
].join('\n');

interface Side {
  readonly perVm: number;
  readonly vms: number;
  readonly vmHours: number;
  readonly wallSeconds: number;
  readonly values: readonly number[];
}

interface ManifestExperiment {
  id: string;
  startedAt?: string;
  endedAt?: string;
  provenance?: { instance?: string };
}

function runSide(perVm: number, work: string): Side {
  const src = mkdtempSync(path.join(work, `src-${perVm}-`));
  const spec = path.join(src, 'bench.yml');
  writeFileSync(
    spec,
    JSON.stringify({
      axes: { kind: ['work'] },
      repetitions,
      launch: { 'per-vm': perVm, resources: { cpus: 1 }, command: COMMAND },
    }),
  );
  const out = path.join(work, `out-${perVm}`);
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [cli, 'run', spec, '--out', out, '--source-dir', src, '--parallel', '2', '--no-progress'],
    { encoding: 'utf8', cwd: work },
  );
  const wallSeconds = (Date.now() - started) / 1000;
  if (r.status !== 0)
    throw new Error(`per-vm ${perVm}: the run failed (${r.status})\n${r.stdout}\n${r.stderr}`);
  const manifest = JSON.parse(readFileSync(path.join(out, 'results', 'manifest.json'), 'utf8')) as {
    experiments: ManifestExperiment[];
  };
  const legs = new Map<string, { start: number; end: number }>();
  for (const e of manifest.experiments) {
    const vm = e.provenance?.instance ?? e.id;
    const start = Date.parse(e.startedAt ?? '');
    const end = Date.parse(e.endedAt ?? '');
    const leg = legs.get(vm) ?? { start, end };
    legs.set(vm, { start: Math.min(leg.start, start), end: Math.max(leg.end, end) });
  }
  const csv = readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split(/\r?\n/);
  const header = csv[0]?.split(',') ?? [];
  const metric = header.indexOf('metric');
  const value = header.indexOf('value');
  const values = csv
    .slice(1)
    .map((l) => l.split(','))
    .filter((f) => f[metric] === 'work_ms')
    .map((f) => Number(f[value]));
  if (values.length !== repetitions)
    throw new Error(`per-vm ${perVm}: ${values.length} values of ${repetitions}`);
  const vmSeconds = [...legs.values()].reduce((n, l) => n + Math.max(1, l.end - l.start) / 1000, 0);
  return { perVm, vms: legs.size, vmHours: vmSeconds / 3600, wallSeconds, values };
}

function cv(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return sd / mean;
}

const work = mkdtempSync(path.join(tmpdir(), 'gce-matrix-bench-packing-'));
try {
  const one = runSide(1, work);
  const two = runSide(2, work);
  const rows = [one, two].map((s) => [
    `per-vm ${s.perVm}`,
    String(s.vms),
    s.vmHours.toFixed(4),
    s.wallSeconds.toFixed(1),
    (s.values.reduce((a, b) => a + b, 0) / s.values.length).toFixed(0),
    (cv(s.values) * 100).toFixed(2),
  ]);
  console.log(
    `packing: ${repetitions} CPU-bound experiments of 1 reserved CPU each, side by side on this machine`,
  );
  console.log(['', 'VMs', 'VM-hours', 'wall s', 'work ms (mean)', 'CV %'].join('\t'));
  for (const r of rows) console.log(r.join('\t'));
  const ratio = cv(two.values) / cv(one.values);
  console.log(
    `CV packed/alone: ${ratio.toFixed(2)} (target <= 1.10); VMs ${two.vms}/${one.vms}; ` +
      `VM-hours ${(two.vmHours / one.vmHours).toFixed(2)}; wall time ${(two.wallSeconds / one.wallSeconds).toFixed(2)}`,
  );
  if (ratio > 1.1) {
    console.log('packing raised the coefficient of variation by more than 10% relative: MISSED');
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
