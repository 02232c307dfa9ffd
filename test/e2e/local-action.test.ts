/**
 * The actions under GitHub's own `@github/local-action`, an independent runner: it loads each action's logic
 * module (the `run()` a template action exports) with its own `@actions/core`, so these tests hold whatever
 * our step runner does. Plan and report run for real; bad inputs fail as a clean error line, never a crash;
 * launch's post entry point runs after its main step.
 */
import { writeCollectedRun } from '../fixtures/collected-run.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const exec = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'node_modules/.bin');

interface LocalActionRun {
  /** Everything it printed, its banner and tables included. */
  readonly output: string;
  /** `::set-output` lines, by name. */
  readonly outputs: Record<string, string>;
  /** `::error::` lines. */
  readonly errors: string[];
  /** What the step wrote to its job summary. */
  readonly summary: string;
}

describe('the actions under @github/local-action', () => {
  let dir: string;

  /** Runs `local-action run ACTION_DIR ENTRY ENV_FILE [--post POST]` with `env` as its dotenv file. */
  async function localAction(
    actionDir: string,
    entry: string,
    env: Record<string, string>,
    post?: string,
  ): Promise<LocalActionRun> {
    const envFile = path.join(await mkdtemp(path.join(dir, 'env-')), '.env');
    const summary = path.join(path.dirname(envFile), 'summary.md');
    const state = path.join(path.dirname(envFile), 'state');
    await writeFile(summary, '');
    await writeFile(state, '');
    const lines = Object.entries({
      GITHUB_WORKSPACE: root,
      GITHUB_REPOSITORY: 'octo-org/bench',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_RUN_ID: '9001',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_STATE: state,
      ...env,
    }).map(([k, v]) => `${k}=${v}`);
    await writeFile(envFile, `${lines.join('\n')}\n`);
    const args = ['run', actionDir, entry, envFile, ...(post ? ['--post', post] : [])];
    // A failed step may or may not make local-action itself exit non-zero: what it printed is the result.
    const { stdout, stderr } = await exec(path.join(bin, 'local-action'), args, {
      cwd: root,
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1' },
      maxBuffer: 64 * 1024 * 1024,
    }).catch((err: Error & { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? err.message,
    }));
    const output = `${stdout}\n${stderr}`;
    const outputs: Record<string, string> = {};
    for (const m of output.matchAll(/^::set-output name=([^:]+)::(.*)$/gm)) outputs[m[1]] = m[2];
    const errors = [...output.matchAll(/^::error::(.*)$/gm)].map((m) => m[1]);
    return { output, outputs, errors, summary: await readFile(summary, 'utf8') };
  }

  /** A run as actions/collect leaves it: 2 tools x 3 seeds, each with its metrics. */
  async function collectedRun(): Promise<string> {
    return writeCollectedRun(
      path.join(dir, 'collected'),
      { bucket: 'results', prefix: 'gce-matrix', runId: '9001' },
      ['evomaster', 'restler'].flatMap((tool, t) =>
        [1, 2, 3].map((seed) => ({
          id: `${tool}-${seed}`,
          params: { tool, seed },
          metrics: { coverage: 50 + 10 * t + seed },
        })),
      ),
    );
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-local-action-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('plans the example spec', async () => {
    const r = await localAction('.', 'src/plan/main.ts', { 'INPUT_SPEC-FILE': 'examples/matrix.yml' });
    assert.deepEqual(r.errors, []);
    assert.equal(r.outputs.count, '12');
    const matrix = JSON.parse(r.outputs.matrix ?? '') as { include: { experiment: { id: string } }[] };
    assert.equal(matrix.include.length, 12);
    assert.equal(r.outputs['run-id'], '9001');
  });

  it('fails a bad input with one line naming it, without a stack trace', async () => {
    const r = await localAction('.', 'src/plan/main.ts', {
      'INPUT_SPEC-FILE': 'examples/matrix.yml',
      INPUT_REPETITIONS: 'lots',
    });
    assert.deepEqual(r.errors, [
      'gce-matrix plan: input repetitions must be a whole number from 1 to 100 (got "lots")',
    ]);
    assert.doesNotMatch(r.output, /^\s+at .*\.ts:\d+/m);
    assert.equal(r.outputs.matrix, undefined);
  });

  it('reports a collected run: its summary and outputs', async () => {
    const results = await collectedRun();
    const r = await localAction('actions/report', '../../src/report/main.ts', {
      INPUT_PATH: results,
      INPUT_BASELINE: 'none',
      INPUT_COMMENT: 'false',
      INPUT_PIVOT: 'tool',
    });
    assert.deepEqual(r.errors, []);
    const summary = JSON.parse(r.outputs['summary-json'] ?? '{}') as { counts: { succeeded: number } };
    assert.equal(summary.counts.succeeded, 6);
    assert.equal(r.outputs.regressions, '0');
    assert.match(r.summary, /6 experiment\(s\), \*\*6 succeeded\*\*/);
    assert.match(r.summary, /\| evomaster \| 52 \(51–53, n=3\) \|/);
  });

  it("runs launch's post entry point after a main step that failed on its input", async () => {
    const r = await localAction(
      'actions/launch',
      '../../src/launch/main.ts',
      {
        INPUT_EXPERIMENT: JSON.stringify({ id: 'x', params: {} }),
        INPUT_PROJECT: 'p',
        INPUT_ZONES: 'us-central1-a',
        INPUT_BUCKET: 'results',
      },
      'src/launch/post-main.ts',
    );
    assert.deepEqual(r.errors, ['gce-matrix launch: input project "p" is not a Google Cloud project id']);
    assert.match(r.output, /Running Post Step/);
    assert.doesNotMatch(r.output, /^\s+at .*\.ts:\d+/m);
  });
});
