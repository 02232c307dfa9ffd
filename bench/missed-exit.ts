/**
 * Stress figure of the VM agent: 500 one-line experiments run locally, 4 at a time, while two busy loops keep
 * both CPUs full; prints how many times the timeout watchdog fired although the command had already exited
 * (target 0) and the wall time. `--quick` runs 100.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = process.argv.includes('--quick') ? 100 : 500;
const dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-bench-exit-'));
const spec = path.join(dir, 'short.yml');
await writeFile(
  spec,
  // a spec allows at most 100 repetitions: 500 are 5 cases of 100
  `axes:\n  case: [${Array.from({ length: n / 100 }, (_, i) => `short-${i + 1}`).join(', ')}]\nrepetitions: 100\nlaunch:\n  timeout-minutes: 1\n  command: |\n    printf '{"ok": 1}' > "$GCE_MATRIX_METRICS_FILE"\n`,
);
const hogs = [0, 1].map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
const started = performance.now();
try {
  const out = path.join(dir, 'run');
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'dist/cli/index.js'),
        'run',
        spec,
        '--out',
        out,
        '--parallel',
        '4',
        '--source',
        'none',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  let fired = 0;
  for (const id of await readdir(path.join(out, 'work'))) {
    for (const attempt of await readdir(path.join(out, 'work', id))) {
      const text = await readFile(path.join(out, 'work', id, attempt, 'console.log'), 'utf8');
      if (/timeout: the command ran longer than/.test(text)) fired++;
    }
  }
  console.log(
    `missed command exits under full CPU load: ${n} one-line experiments, 4 at a time (exit ${code})`,
  );
  console.log(
    `  watchdog firings after the command ended: ${fired} of ${n} (target 0)  ${fired === 0 ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `  wall time: ${seconds.toFixed(0)} s (${((seconds * 4) / n).toFixed(2)} s of a slot per experiment)`,
  );
} finally {
  for (const h of hogs) h.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
