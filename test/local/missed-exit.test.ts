/**
 * The agent never misses its command's end: 100 one-line experiments run locally, 4 at a time, while two busy
 * loops keep both CPUs full. Counted, not timed: no console may say the watchdog fired (which it did after a
 * command had already exited, when the agent waited on the command with the shell's `wait`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXPERIMENTS = 100;

describe('the agent under full CPU load', () => {
  let dir: string;
  const hogs: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-missed-exit-'));
  });
  after(async () => {
    for (const h of hogs) h.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it(`notices the end of ${EXPERIMENTS} short commands: no watchdog firing, every one succeeded`, async () => {
    const spec = path.join(dir, 'short.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  case: [short]',
        `repetitions: ${EXPERIMENTS}`,
        'launch:',
        '  timeout-minutes: 1',
        '  command: |',
        `    printf '{"ok": 1}' > "$GCE_MATRIX_METRICS_FILE"`,
        '',
      ].join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      hogs.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    }
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
    for (const h of hogs) h.kill('SIGKILL');
    const fired: string[] = [];
    let consoles = 0;
    for (const id of await readdir(path.join(out, 'work'))) {
      for (const attempt of await readdir(path.join(out, 'work', id))) {
        const text = await readFile(path.join(out, 'work', id, attempt, 'console.log'), 'utf8');
        consoles++;
        if (/timeout: the command ran longer than/.test(text)) fired.push(`${id}/${attempt}`);
      }
    }
    assert.equal(consoles, EXPERIMENTS);
    assert.deepEqual(fired, [], 'watchdog firings after the command had exited');
    assert.equal(code, 0);
  });
});
