import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects, parseStatus } from '../../src/layout.ts';
import type { LocalMetadata } from '../../src/local/metadata-server.ts';
import { startLocalMetadata } from '../../src/local/metadata-server.ts';
import type { LocalStorage } from '../../src/local/storage-server.ts';
import { startLocalStorage } from '../../src/local/storage-server.ts';

const AGENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/agent/agent.sh');
/** The container engine stand-in of the agent's tests: runs "images" from a directory as processes. */
const ENGINE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent/engine');
const PROJECT = 'local-project';
const BUCKET = 'local-results';
const RUN = 'r1';
const SECRET_REF = `projects/${PROJECT}/secrets/api-key/versions/3`;
const SECRET = 'sup3r-s3cret-Value';
/** An agent that has not finished by then is stopped and the test fails. */
const AGENT_LIMIT_MS = 90_000;

interface AgentRun {
  readonly code: number | null;
  readonly console: string;
  readonly ms: number;
  /** The agent's TMPDIR. */
  readonly tmp: string;
}

/** Every regular file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

describe('the real VM agent, run as a local process against the local servers', () => {
  let dir: string;
  let storage: LocalStorage;
  let meta: LocalMetadata;
  const running = new Set<number>();
  const runs = new Map<string, Promise<AgentRun>>();
  const loc = { bucket: BUCKET, prefix: '', runId: RUN };
  const objectFile = (name: string): string => path.join(storage.root, ...name.split('/'));

  /** Registers instance `id` and runs `sh agent.sh startup` for it, as the local runner does. */
  const runAgent = async (
    id: string,
    command: string,
    extra: Record<string, string> = {},
    secrets: Record<string, string> = {},
    env: Record<string, string> = {},
  ): Promise<AgentRun> => {
    meta.register({
      name: id,
      attributes: {
        'gce-matrix-bucket': BUCKET,
        'gce-matrix-experiment-prefix': experimentObjects(loc, id).base,
        'gce-matrix-run-id': RUN,
        'gce-matrix-experiment': id,
        'gce-matrix-attempt': '1',
        'gce-matrix-command': command,
        'gce-matrix-heartbeat-seconds': '1',
        'gce-matrix-log-interval-seconds': '1',
        'gce-matrix-self-delete': 'false',
        'gce-matrix-local-run': 'true',
        'gce-matrix-endpoint-storage': storage.url,
        'gce-matrix-endpoint-secretmanager': meta.secretManagerEndpoint,
        ...extra,
      },
      secrets,
    });
    const tmp = path.join(dir, 'vms', id);
    await mkdir(tmp, { recursive: true });
    const started = Date.now();
    const child = spawn('sh', [AGENT, 'startup'], {
      cwd: tmp,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TMPDIR: tmp,
        GCE_METADATA_HOST: meta.hostFor(id),
        // The agent's storage calls do not bypass proxies as its metadata calls do.
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
        ...env,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child.pid!);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const limit = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), AGENT_LIMIT_MS);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(limit);
    running.delete(child.pid!);
    meta.unregister(id);
    return { code, console: output, ms: Date.now() - started, tmp };
  };

  const statusOf = async (id: string): Promise<ExperimentStatus> => {
    const name = experimentObjects(loc, id).status;
    return parseStatus(await readFile(objectFile(name), 'utf8'), name);
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gcem-agent-'));
    storage = await startLocalStorage({ root: path.join(dir, 'bucket'), bucket: BUCKET });
    meta = await startLocalMetadata({ project: PROJECT });
    // The three agents run at once, as a local run would run them.
    runs.set(
      'exp1',
      runAgent(
        'exp1',
        [
          'set -eu',
          `printf '{"score": 0.5}\\n' > "$GCE_MATRIX_METRICS_FILE"`,
          'mkdir -p "$GCE_MATRIX_OUTPUT_DIR/data"',
          `printf 'tool=%s seed=%s\\n' "$GCE_MATRIX_PARAM_TOOL" "$GCE_MATRIX_PARAM_SEED" > "$GCE_MATRIX_OUTPUT_DIR/data/result.txt"`,
          `printf 'step 7\\n' > "$GCE_MATRIX_CHECKPOINT_DIR/state.txt"`,
          'echo "hello from experiment $GCE_MATRIX_EXPERIMENT_ID"',
          'echo "secret length ${#API_KEY}"',
        ].join('\n'),
        {
          'gce-matrix-params': '{"tool":"a","seed":1}',
          'gce-matrix-param-env': 'TOOL=a\nSEED=1',
          'gce-matrix-secrets': `API_KEY=${SECRET_REF}`,
        },
        { [SECRET_REF]: SECRET },
      ),
    );
    runs.set('exp2', runAgent('exp2', 'echo failing; exit 3'));
    // A service beside the command, through the engine stand-in: an image is a directory with a run program.
    const images = path.join(dir, 'images');
    const web = path.join(images, 'local_web_1');
    await mkdir(web, { recursive: true });
    await writeFile(path.join(web, 'manifest'), `digest=sha256:${'ab'.repeat(32)}\n`);
    await writeFile(
      path.join(web, 'run'),
      [
        '#!/bin/sh',
        `exec node -e 'require("http").createServer((q, r) => r.end("pong " + process.env.WORD)).listen(Number(process.env.PORT_80), process.env.BIND_ADDR, () => console.log("up"))'`,
      ].join('\n'),
    );
    await chmod(path.join(web, 'run'), 0o755);
    const fake = path.join(dir, 'engine');
    await mkdir(fake, { recursive: true });
    runs.set(
      'exp4',
      runAgent(
        'exp4',
        'curl -fsS "$GCE_MATRIX_SERVICE_WEB_URL/" > "$GCE_MATRIX_OUTPUT_DIR/answer.txt"',
        {
          'gce-matrix-services':
            'service web\nimage local/web:1\nenv WORD=from the service\nport 80\nhealth-cmd curl -fsS -o /dev/null http://127.0.0.1:$PORT_80/\nhealth-interval 1',
        },
        {},
        { PATH: `${ENGINE_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}`, FAKE: fake, FAKE_IMAGES: images },
      ),
    );
    runs.set('exp3', runAgent('exp3', 'echo sleeping; sleep 30', { 'gce-matrix-timeout-seconds': '1' }));
  });

  after(async () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.allSettled(runs.values());
    await Promise.allSettled([storage?.close(), meta?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a succeeding command: outputs, checkpoint, log and status land in the bucket directory', async () => {
    const run = await runs.get('exp1')!;
    assert.equal(run.code, 0, run.console);
    const names = experimentObjects(loc, 'exp1');
    const status = await statusOf('exp1');
    assert.equal(status.state, 'succeeded', run.console);
    assert.equal(status.exitCode, 0);
    assert.equal(status.runId, RUN);
    assert.equal(status.experiment, 'exp1');
    assert.equal(status.attempt, 1);
    assert.deepEqual(
      [...status.outputs].sort((a, b) => (a.path < b.path ? -1 : 1)),
      [
        { path: 'data/result.txt', size: 'tool=a seed=1\n'.length },
        { path: 'metrics.json', size: '{"score": 0.5}\n'.length },
      ],
    );
    assert.equal(status.provenance.instance, 'exp1');
    assert.equal(status.provenance.zone, 'local');
    assert.equal(status.provenance.machineType, 'local');
    assert.deepEqual(status.provenance.parameters, { tool: 'a', seed: 1 });

    assert.equal(await readFile(objectFile(names.metrics), 'utf8'), '{"score": 0.5}\n');
    assert.equal(await readFile(objectFile(`${names.outputs}data/result.txt`), 'utf8'), 'tool=a seed=1\n');
    assert.equal(await readFile(objectFile(`${names.checkpoint}state.txt`), 'utf8'), 'step 7\n');
    const attemptStatus = await readFile(objectFile(`${names.base}attempts/1/status.json`), 'utf8');
    assert.equal(parseStatus(attemptStatus, 'attempts/1/status.json').state, 'succeeded');
    const heartbeat = JSON.parse(await readFile(objectFile(names.attempt(1).heartbeat), 'utf8')) as {
      attempt: number;
    };
    assert.equal(heartbeat.attempt, 1);

    const chunks = (await readdir(objectFile(names.logs(1)))).sort();
    assert.equal(chunks[0], '000001.txt');
    assert.deepEqual(
      chunks,
      chunks.map((_, i) => `${String(i + 1).padStart(6, '0')}.txt`),
    );
    const first = await readFile(objectFile(`${names.logs(1)}000001.txt`), 'utf8');
    assert.match(first, /^gce-matrix-agent: /);
    let log = '';
    for (const c of chunks) log += await readFile(objectFile(`${names.logs(1)}${c}`), 'utf8');
    assert.match(log, /^hello from experiment exp1$/m);
    assert.match(log, /^secret length 18$/m, 'the command got the secret');
  });

  it('leaves the secret in no file, in the bucket directory or on the "VM", but the agent\'s own redaction list', async () => {
    const run = await runs.get('exp1')!;
    const files = [...(await filesUnder(storage.root)), ...(await filesUnder(run.tmp))];
    assert.ok(files.length > 10, `only ${files.length} files`);
    const redactionList = files.filter(
      (f) => path.basename(f) === 'redact' && path.basename(path.dirname(f)) === 'state',
    );
    assert.equal(redactionList.length, 1, 'the agent keeps the forms it redacts');
    assert.equal((await stat(redactionList[0])).mode & 0o777, 0o600, 'readable by the agent alone');
    for (const f of files) {
      if (redactionList.includes(f)) continue;
      assert.ok(!(await readFile(f)).includes(SECRET), `${f} holds the secret value`);
    }
  });

  it('reports a failing command as failed with its exit code', async () => {
    const run = await runs.get('exp2')!;
    assert.equal(run.code, 0, run.console);
    const status = await statusOf('exp2');
    assert.equal(status.state, 'failed');
    assert.equal(status.exitCode, 3);
    assert.match(status.reason ?? '', /code 3/);
    assert.deepEqual(status.outputs, []);
  });

  it('runs a service beside the command on the local engine: reached at its URL, its log and digest reported', async () => {
    const run = await runs.get('exp4')!;
    assert.equal(run.code, 0, run.console);
    const status = await statusOf('exp4');
    assert.equal(status.state, 'succeeded', run.console);
    const names = experimentObjects(loc, 'exp4');
    assert.equal(await readFile(objectFile(`${names.outputs}answer.txt`), 'utf8'), 'pong from the service');
    assert.deepEqual(status.provenance.services, {
      web: { image: 'local/web:1', digest: `sha256:${'ab'.repeat(32)}` },
    });
    let log = '';
    for (const c of (await readdir(objectFile(names.logs(1)))).sort()) {
      log += await readFile(objectFile(`${names.logs(1)}${c}`), 'utf8');
    }
    assert.match(log, /^\[service web\] up$/m);
  });

  it('stops a command at its timeout and reports exit code 124', async () => {
    const run = await runs.get('exp3')!;
    assert.equal(run.code, 0, run.console);
    const status = await statusOf('exp3');
    assert.equal(status.state, 'failed');
    assert.equal(status.exitCode, 124);
    assert.match(status.reason ?? '', /timeout/);
    // The command ended at its TERM (a 30 s sleep, or one that needed the KILL 10 s later, would not fit),
    // and the whole run, staging and uploads included, stayed well short of the sleep.
    const commandMs = Date.parse(status.endedAt) - Date.parse(status.startedAt!);
    assert.ok(commandMs <= 8_000, `command to status took ${commandMs} ms`);
    assert.ok(run.ms < 20_000, `the agent took ${run.ms} ms`);
  });
});
