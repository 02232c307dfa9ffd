/**
 * The command line end to end: `src/cli/index.ts` (what the bundled `dist/cli/index.js` is built from; the
 * package test runs the bundle) runs example matrices through the real agent as local processes, collects and
 * reports them with the actions' code, and cleans up after Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'src/cli/index.ts');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the bundled CLI; `onStdout` sees the output as it comes. */
function startCli(
  args: string[],
  cwd: string,
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
  env: Record<string, string> = {},
) {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd,
    env: { ...process.env, CI: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    onStdout?.(stdout, child);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A run that hangs fails its test with what its experiments' consoles said, and leaves nothing running.
  const out = args.includes('--out') ? path.resolve(cwd, args[args.indexOf('--out') + 1]) : undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, CLI_DEADLINE_MS);
  const done = new Promise<CliRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!timedOut || !out) {
        resolve({ code, stdout, stderr });
        return;
      }
      void hangReport(out).then((report) =>
        resolve({
          code,
          stdout,
          stderr: `${stderr}\nthe CLI was killed after ${CLI_DEADLINE_MS} ms\n${report}`,
        }),
      );
    }),
  );
  return { child, done };
}

const CLI_DEADLINE_MS = 150_000;

/** The consoles and state files of every attempt under a run directory, and kills what is left running. */
async function hangReport(out: string): Promise<string> {
  const lines: string[] = [];
  for (const p of await processesUnder(out)) {
    lines.push(`still running: ${p}`);
    try {
      process.kill(Number(p.split(':')[0]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const workDir = path.join(out, 'work');
  for (const id of await readdir(workDir).catch(() => [] as string[])) {
    for (const attempt of await readdir(path.join(workDir, id)).catch(() => [] as string[])) {
      const dir = path.join(workDir, id, attempt);
      const text = await readFile(path.join(dir, 'console.log'), 'utf8').catch(() => '(no console.log)');
      const state = await readdir(path.join(dir, 'gce-matrix/state')).catch(() => [] as string[]);
      lines.push(`--- ${id}/${attempt} state: ${state.join(' ')}`, text.slice(-3000));
    }
  }
  return lines.join('\n');
}

function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, cwd, undefined, env).done;
}

/** Processes of this user whose environment mentions `dir` (every agent and command of a run has TMPDIR in it). */
async function processesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      if (environ.includes(dir))
        found.push(`${pid}: ${(await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ')}`);
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

let work: string;
before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'gce-matrix-cli-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('gce-matrix --version and --help', () => {
  it("prints package.json's version, as --version, -V and version", async () => {
    const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const args of [['--version'], ['-V'], ['version']]) {
      const r = await runCli(args, work);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `gce-matrix ${version}\n`);
      assert.equal(r.stderr, '');
    }
  });

  it('shows the options of every command with -h or --help, and the commands at the top level', async () => {
    const run = await runCli(['run', '-h'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^usage: gce-matrix run SPEC \[options\]\n/);
    assert.match(run.stdout, /-p, --parallel N +experiments at once/);
    assert.match(run.stdout, /--allow-new-values/);
    for (const c of ['status', 'janitor', 'rerun']) {
      const r = await runCli([c, '--help'], work);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: gce-matrix ${c} `));
    }
    const top = await runCli(['--help'], work);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /gce-matrix run SPEC \[options\]/);
    assert.match(top.stdout, /gce-matrix version +print the version/);
  });
});

describe('gce-matrix run (local)', () => {
  it('runs the quick example: progress, markdown and HTML reports with real numbers, exit 0', async () => {
    const out = path.join(work, 'quick');
    const r = await runCli(
      [
        'run',
        path.join(root, 'examples/quick/matrix.yml'),
        '--source-dir',
        path.join(root, 'examples'),
      ].concat(['--out', out, '--parallel', '4']),
      work,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Planned 8 experiment\(s\) from .*matrix\.yml \(axes: method, samples\)/);
    assert.match(r.stdout, /started {3}method-uniform_samples-1000_seed-1\n/);
    assert.match(r.stdout, /8\/8 done · 0 running · 0 queued · \d\d:\d\d/);
    assert.match(r.stdout, /Done: 8 experiment\(s\): 8 succeeded, 0 failed, 0 missing\./);
    const manifest = JSON.parse(await readFile(path.join(out, 'results/manifest.json'), 'utf8')) as {
      counts: { succeeded: number };
      experiments: { id: string; status: string; params: Record<string, unknown> }[];
    };
    assert.equal(manifest.counts.succeeded, 8);
    // The numbers are the experiment's own: the metrics file each one wrote.
    const one = manifest.experiments.find(
      (e) => e.params.method === 'stratified' && e.params.samples === 100000,
    );
    assert.ok(one);
    const metrics = JSON.parse(
      await readFile(path.join(out, 'results', one.id, 'outputs/metrics.json'), 'utf8'),
    ) as Record<string, number>;
    assert.ok(Math.abs(metrics.estimate - Math.PI) < 0.01, `estimate ${metrics.estimate}`);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /abs_error/);
    assert.ok(md.includes(String(metrics.estimate).slice(0, 4)), 'the report holds the measured estimate');
    const html = await readFile(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<table/);
    assert.match(html, /<svg/);
    // The bucket layout, as the agent writes it to Cloud Storage.
    const { runId } = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) as { runId: string };
    const experiments = await readdir(path.join(out, 'bucket/gce-matrix/runs', runId, 'experiments'));
    assert.equal(experiments.length, 8);
    assert.ok(
      existsSync(path.join(out, 'bucket/gce-matrix/runs', runId, 'experiments', one.id, 'status.json')),
    );
    assert.deepEqual(await processesUnder(out), []);

    // A second run compared with the first: the same seeds give the same numbers, so nothing got worse.
    const again = path.join(work, 'quick-again');
    const second = await runCli(
      [
        'run',
        path.join(root, 'examples/quick/matrix.yml'),
        '--source-dir',
        path.join(root, 'examples'),
        '--set',
        'samples=1000',
        '--out',
        again,
        '--baseline',
        out,
      ],
      work,
    );
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const compared = await readFile(path.join(again, 'report.md'), 'utf8');
    assert.match(compared, /\*\*Baseline:\*\* compared with an earlier run, run `local-/);
    assert.match(
      compared,
      /(\d+) value\(s\) compared, 0 worse and 0 better beyond 5%; 4 baseline experiment\(s\) have no result in this run/,
    );
    assert.match(await readFile(path.join(again, 'report.html'), 'utf8'), /Compared with an earlier run/);
  });

  it('redraws one progress line in place on a terminal; --allow-new-values runs a value the spec lacks', async () => {
    const out = path.join(work, 'tty');
    const command = [process.execPath, cli, 'run', path.join(root, 'examples/quick/matrix.yml')]
      .concat(['--source-dir', path.join(root, 'examples')])
      .concat(['--set', 'method=uniform', '--set', 'samples=500', '--allow-new-values', '--out', out])
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    // script(1) gives the command a pseudo-terminal, as an interactive shell would.
    const r = await new Promise<CliRun>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\r\u001b\[2K\[[#>.]+\] 0\/2 done · 0 running · 2 queued · 00:00/);
    assert.match(r.stdout, /\r\u001b\[2Ksucceeded method-uniform_samples-500_seed-1 exit 0/);
    assert.match(
      r.stdout,
      /gce-matrix: warning: option --set: the spec's axis samples does not list "500"; running it, as --allow-new-values asks\r?\n/,
    );
    assert.match(r.stdout, /\[#+\] 2\/2 done · 0 running · 0 queued · \d\d:\d\d\r?\n/);
    assert.match(r.stdout, /Done: 2 experiment\(s\): 2 succeeded/);
  });

  it('runs a packed spec with the same admission as a VM: one leg after another, each admitting its experiments', async () => {
    const src = path.join(work, 'packed-src');
    await mkdir(src, { recursive: true });
    const spec = path.join(src, 'packed.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  n: [1, 2, 3, 4]',
        'launch:',
        '  per-vm: 2',
        '  resources: { cpus: 1 }',
        '  command: |',
        '    printf \'{"n": %s, "square": %s}\' "$GCE_MATRIX_PARAM_N" $((GCE_MATRIX_PARAM_N * GCE_MATRIX_PARAM_N)) > "$GCE_MATRIX_METRICS_FILE"',
        '    echo "pinned to CPU $GCE_MATRIX_CPUS"',
        '',
      ].join('\n'),
    );
    const out = path.join(work, 'packed');
    const r = await runCli(['run', spec, '--out', out, '--source-dir', src], work);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Planned 4 experiment\(s\) from .*packed into 2 leg\(s\), run one after another/);
    assert.match(r.stdout, /Done: 4 experiment\(s\): 4 succeeded, 0 failed, 0 missing\./);
    const manifest = JSON.parse(await readFile(path.join(out, 'results', 'manifest.json'), 'utf8')) as {
      experiments: {
        id: string;
        params: { n: number };
        provenance?: {
          instance?: string;
          placement?: { members: number; neighbours: string[]; cpus?: string };
        };
      }[];
    };
    const byLeg = new Map<string, string[]>();
    for (const e of manifest.experiments) {
      const p = e.provenance?.placement;
      assert.equal(p?.members, 2, e.id);
      assert.equal(p?.neighbours.length, 1, e.id);
      assert.match(p?.cpus ?? '', /^\d+$/, e.id);
      const vm = e.provenance?.instance ?? '';
      byLeg.set(vm, [...(byLeg.get(vm) ?? []), e.id]);
    }
    // Two legs of two, each experiment's neighbour the other one of its leg.
    assert.deepEqual(
      [...byLeg.values()].map((ids) => ids.length),
      [2, 2],
    );
    for (const e of manifest.experiments) {
      const mates = [...byLeg.values()].find((ids) => ids.includes(e.id)) ?? [];
      assert.deepEqual(
        e.provenance?.placement?.neighbours,
        mates.filter((x) => x !== e.id),
      );
    }
    const csv = await readFile(path.join(out, 'results.csv'), 'utf8');
    for (const n of [1, 2, 3, 4]) assert.match(csv, new RegExp(`,square,${n * n},`));
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /4 experiment\(s\) packed on 2 VM\(s\) \(up to 2 a VM/);
  });

  it('reports a failing command and a command that is not found, and exits 1', async () => {
    // A directory outside git: it is the source, as a plain directory, and the command runs in its snapshot.
    const src = path.join(work, 'failing-src');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'fail.sh'), 'echo "about to fail"; exit 3\n');
    const spec = path.join(src, 'failing.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  case: [ok, fails, missing]',
        'launch:',
        '  command: |',
        '    case "$GCE_MATRIX_PARAM_CASE" in',
        '      ok) echo \'{"score": 1}\' > "$GCE_MATRIX_METRICS_FILE" ;;',
        '      fails) sh ./fail.sh ;;',
        '      missing) no-such-tool-gce-matrix --version ;;',
        '    esac',
        '',
      ].join('\n'),
    );
    const out = path.join(work, 'failing');
    const r = await runCli(['run', spec, '--out', out, '--source-dir', src], work);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Source: the directory .*failing-src: 2 file\(s\)/);
    assert.match(r.stdout, /FAILED {4}case-fails_seed-1 exit 3/);
    // The log's last lines, under the FAILED line and before any other line: the command's own output in them.
    assert.match(
      r.stdout,
      /FAILED {4}case-fails_seed-1 exit 3[^\n]*\n(?: {10}\| [^\n]*\n)* {10}\| about to fail\n/,
    );
    assert.match(r.stdout, / {10}\| gce-matrix-agent: the command failed with exit code 3\n/);
    assert.match(r.stdout, /FAILED {4}case-missing_seed-1 exit 127 .*the command was not found/);
    assert.match(r.stdout, /Done: 3 experiment\(s\): 1 succeeded, 2 failed, 0 missing\./);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /about to fail/, 'the failure section carries the log tail');
    // The tidy table beside the reports (and beside the manifest): failed experiments keep a row.
    assert.match(r.stdout, /Data: {3}failing\/results\.csv \(one row per experiment and metric\)/);
    const csv = await readFile(path.join(out, 'results.csv'), 'utf8');
    assert.equal(csv, await readFile(path.join(out, 'results/results.csv'), 'utf8'));
    const [header, ...rows] = csv
      .replace(/\r\n$/, '')
      .split('\r\n')
      .map((l) => l.split(','));
    const col = (name: string): number => header.indexOf(name);
    assert.deepEqual(header.slice(0, 4), ['experiment', 'param_case', 'param_seed', 'status']);
    assert.deepEqual(
      rows.map((x) => [x[0], x[col('param_case')], x[col('status')], x[col('metric')], x[col('value')]]),
      [
        ['case-fails_seed-1', 'fails', 'failed', '', ''],
        ['case-missing_seed-1', 'missing', 'failed', '', ''],
        ['case-ok_seed-1', 'ok', 'succeeded', 'score', '1'],
      ],
    );
    const ok = rows[2];
    assert.match(ok[col('started_at')], /^\d{4}-\d\d-\d\dT/);
    assert.ok(Number(ok[col('duration_seconds')]) >= 0, ok.join(','));
    assert.deepEqual(
      [ok[col('attempt')], ok[col('machine_type')], ok[col('cost_usd')]],
      ['1', 'local', ''],
      'no price is made up for a local run',
    );

    const status = await runCli(['status', out], work);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /3 experiment\(s\): /);
    assert.match(status.stdout, /case-fails_seed-1\s+failed\s+1\s+exit 3/);

    // rerun: the same experiment again, as attempt 2, then the whole run is reported again.
    const again = await runCli(['rerun', 'case-fails_seed-1', '--run', out], work);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    assert.match(again.stdout, /Re-running case-fails_seed-1 \(was failed, exit 3 on attempt 1\)/);
    assert.match(again.stdout, /Source: the run's own snapshot \(sha256 [0-9a-f]{12}\), as the first time/);
    assert.match(again.stdout, /FAILED {4}case-fails_seed-1 \(attempt 2\) exit 3/);
    const record = JSON.parse(await readFile(path.join(out, 'run.json'), 'utf8')) as { runId: string };
    const statusFile = path.join(
      out,
      'bucket/gce-matrix/runs',
      record.runId,
      'experiments/case-fails_seed-1/status.json',
    );
    const st = JSON.parse(await readFile(statusFile, 'utf8')) as { attempt: number };
    assert.equal(st.attempt, 2);
  });

  it('refuses bad input before anything runs, naming it', async () => {
    const bad = path.join(work, 'bad.yml');
    await writeFile(bad, 'axes:\n  tool: [a, b\n');
    const cases: [string[], RegExp][] = [
      [['run', bad], /gce-matrix: spec .*bad\.yml/],
      [['run', path.join(root, 'examples/quick/matrix.yml'), '--set', 'nosuchaxis=1'], /nosuchaxis/],
      [['run', path.join(work, 'nope.yml')], /spec .*nope\.yml cannot be read \(ENOENT\)/],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--parallel', '0'],
        /option --parallel must be a whole number/,
      ],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['rn', path.join(root, 'examples/quick/matrix.yml')], /unknown command "rn"; did you mean run\?/],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--paralel', '2'],
        /run: unknown option --paralel; did you mean --parallel\?/,
      ],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--pivot', 'method,sample'],
        /option --pivot: "sample" is not an axis of the plan; did you mean samples\?/,
      ],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--set', 'metod=uniform'],
        /option --set: the spec has no axis "metod"; did you mean method\?/,
      ],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--set', 'method=unifrom'],
        /option --set: the spec's axis method does not list "unifrom"; did you mean uniform\? \(to run a new value, add --allow-new-values\)/,
      ],
      [
        ['run', path.join(root, 'examples/quick/matrix.yml'), '--baseline', work],
        /option --baseline: .* is not the directory of an earlier run/,
      ],
    ];
    for (const [args, message] of cases) {
      const out = path.join(work, 'never');
      const r = await runCli([...args, ...(args[0] === 'run' ? ['--out', out] : [])], work);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing ran');
      assert.ok(!existsSync(out), 'nothing was created');
    }
  });

  it('Ctrl-C stops every experiment, leaves no process and writes a partial report', async () => {
    const spec = path.join(work, 'slow.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  n: [1, 2, 3, 4, 5, 6]',
        'launch:',
        '  command: |',
        '    echo "working on $GCE_MATRIX_PARAM_N"',
        '    echo "partial" > "$GCE_MATRIX_CHECKPOINT_DIR/step.txt"',
        '    sleep 60 &',
        '    wait',
        '',
      ].join('\n'),
    );
    const out = path.join(work, 'slow');
    let sent = false;
    const started = Date.now();
    const { done } = startCli(['run', spec, '--out', out, '--parallel', '2'], work, (text, child) => {
      if (!sent && (text.match(/started {3}/g) ?? []).length >= 2) {
        sent = true;
        // Let both commands get going before the interrupt.
        setTimeout(() => child.kill('SIGINT'), 2500);
      }
    });
    const r = await done;
    assert.ok(sent, r.stdout);
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 45_000, 'stopped well before the commands would have ended');
    assert.match(r.stdout, /Stopping: running experiments get their shutdown run/);
    assert.match(r.stdout, /interrupted n-\d/);
    assert.match(r.stdout, /Interrupted: 6 experiment\(s\): 0 succeeded, 2 failed, 4 missing\./);
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /interrupted: partial results/);
    const manifest = JSON.parse(await readFile(path.join(out, 'results/manifest.json'), 'utf8')) as {
      experiments: { id: string; status: string; files: { path: string }[] }[];
    };
    const stopped = manifest.experiments.filter((e) => e.status === 'error');
    assert.equal(stopped.length, 2);
    for (const e of stopped) {
      assert.ok(
        e.files.some((f) => f.path.endsWith('log.txt')),
        `${e.id} kept its log`,
      );
    }
    assert.equal(manifest.experiments.filter((e) => e.status === 'missing').length, 4);
    assert.deepEqual(await processesUnder(out), []);
  });
});

describe('gce-matrix run --cloud (the test bed as Compute Engine and Cloud Storage)', () => {
  let bed: TestBed;
  const BUCKET = 'cli-results';

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
  });
  after(async () => {
    await bed.close();
  });

  const cloudArgs = (): string[] => [
    '--source-dir',
    path.join(root, 'examples'),
    '--cloud',
    '--project',
    bed.project,
    '--zones',
    'us-central1-a,us-central1-b',
    '--bucket',
    BUCKET,
    '--vm-service-account',
    bed.vmServiceAccount,
    '--input',
    'heartbeat-seconds=1',
    '--input',
    'log-interval-seconds=1',
  ];
  const live = (): string[] =>
    bed.compute
      .listAll()
      .filter((i) => i.status !== 'DELETED')
      .map((i) => i.name);

  it('runs each experiment on its own VM with application default credentials, then collects and reports', async () => {
    const spec = path.join(work, 'cloud.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  tool: [a, b]',
        'launch:',
        '  command: |',
        '    echo "tool $GCE_MATRIX_PARAM_TOOL on $(hostname)"',
        '    printf \'{"score": %s}\' "$(printf %s "$GCE_MATRIX_PARAM_TOOL" | wc -c)" > "$GCE_MATRIX_METRICS_FILE"',
        '',
      ].join('\n'),
    );
    const out = path.join(work, 'cloud-run');
    const { done } = startCli(
      ['run', spec, ...cloudArgs(), '--run-id', 'cli-cloud-1', '--out', out],
      work,
      undefined,
      bed.env,
    );
    const r = await done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /for Compute Engine project bed-project, run cli-cloud-1, results in gs:\/\/cli-results\/gce-matrix\//,
    );
    assert.match(r.stdout, /Done: 2 experiment\(s\): 2 succeeded, 0 failed, 0 missing\./);
    const inserts = bed.recorder.requests.filter((q) => q.method === 'POST' && /\/instances$/.test(q.path));
    assert.equal(inserts.length, 2, 'one VM per experiment');
    assert.deepEqual(live(), [], 'every VM deleted');
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /score/);
    const status = await runCli(
      ['status', 'cli-cloud-1', '--cloud', '--project', bed.project, '--bucket', BUCKET],
      work,
      bed.env,
    );
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /2 experiment\(s\): 2 succeeded/);
  });

  it('--detach leaves the VMs working and returns; status follows them and reports once all have ended', async () => {
    const spec = path.join(work, 'cloud-detach.yml');
    await writeFile(
      spec,
      [
        'axes:',
        '  tool: [a, b]',
        'launch:',
        '  command: |',
        '    sleep 4',
        '    printf \'{"score": 7}\' > "$GCE_MATRIX_METRICS_FILE"',
        '',
      ].join('\n'),
    );
    const out = path.join(work, 'cloud-detach');
    const r = await runCli(
      ['run', spec, ...cloudArgs(), '--detach', '--run-id', 'cli-detach-1', '--out', out],
      work,
      bed.env,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout.match(/^detached {2}tool-\w_seed-1 on /gm) ?? []).length, 2, r.stdout);
    assert.match(
      r.stdout,
      /gce-matrix status cli-detach-1 --cloud --project bed-project --bucket cli-results/,
    );
    assert.equal(live().length, 2, 'the VMs keep working after the command returned');
    const early = await runCli(
      ['status', 'cli-detach-1', '--cloud', '--project', bed.project, '--bucket', BUCKET, '--report'],
      work,
      bed.env,
    );
    assert.equal(early.code, 3, early.stdout + early.stderr);
    assert.match(early.stdout, /Not reported: 2 experiment\(s\) have not ended yet/);
    const deadline = Date.now() + 90_000;
    while (live().length > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(live(), [], 'each VM deleted itself when done');
    const report = path.join(work, 'cloud-detach-report');
    const done = await runCli(
      [
        'status',
        'cli-detach-1',
        '--cloud',
        '--project',
        bed.project,
        '--bucket',
        BUCKET,
        '--report',
        '--out',
        report,
      ],
      work,
      bed.env,
    );
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, /2 experiment\(s\): 2 succeeded/);
    assert.match(done.stdout, /Done: 2 experiment\(s\): 2 succeeded, 0 failed, 0 missing\./);
    assert.match(await readFile(path.join(report, 'report.md'), 'utf8'), /score/);
  });

  it('Ctrl-C deletes the VMs of the running experiments and reports what there is', async () => {
    const spec = path.join(work, 'cloud-slow.yml');
    await writeFile(spec, ['axes:', '  n: [1, 2, 3]', 'launch:', '  command: sleep 120', ''].join('\n'));
    const out = path.join(work, 'cloud-slow');
    let sent = false;
    const { child, done } = startCli(
      ['run', spec, ...cloudArgs(), '--run-id', 'cli-cloud-2', '--out', out, '--parallel', '2'],
      work,
      undefined,
      bed.env,
    );
    // Interrupt once both VMs of the first two experiments run.
    const poll = setInterval(() => {
      if (!sent && bed.compute.listAll().filter((i) => i.status === 'RUNNING').length >= 2) {
        sent = true;
        child.kill('SIGINT');
      }
    }, 200);
    const r = await done;
    clearInterval(poll);
    assert.ok(sent, r.stdout + r.stderr);
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.match(r.stdout, /Stopping: deleting the running experiments' VMs/);
    assert.match(r.stdout, /Interrupted: 3 experiment\(s\): 0 succeeded/);
    assert.deepEqual(live(), [], 'no VM left');
    assert.ok(existsSync(path.join(out, 'report.html')));

    const sweep = await runCli(
      ['janitor', '--project', bed.project, '--region', 'us-central1'],
      work,
      bed.env,
    );
    assert.equal(sweep.code, 0, sweep.stdout + sweep.stderr);
    assert.match(
      sweep.stdout,
      /gce-matrix janitor: 0 VM\(s\) in \d+ zone\(s\), 0 stale, dry run \(nothing deleted\)/,
    );
    const nowhere = await runCli(['janitor', '--project', bed.project], work, bed.env);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /janitor needs --zones or --region/);
  });
});
