import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { post } from '../../src/launch/cleanup.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';

// The post step against endpoints that accept connections and never answer: it must still end in time, say
// so, and leave the rest to the VM's own time limit. The limit is made short for the test.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('actions/launch post step, endpoints that never answer', () => {
  let bed: TestBed;
  let hanging: http.Server;
  let hangingUrl: string;
  const held: http.ServerResponse[] = [];

  before(async () => {
    bed = await startTestBed();
    hanging = http.createServer((_req, res) => {
      held.push(res);
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const res of held) res.destroy();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    await bed.close();
  });

  /**
   * Runs post() in a process of its own, with the step's inputs and state in its environment, as a runner does:
   * what counts is when that process ends, not when a promise settles.
   */
  async function runPost(env: NodeJS.ProcessEnv, limitMs: number) {
    const script =
      `import { post } from ${JSON.stringify(pathToFileURL(path.join(root, 'src/launch/cleanup.ts')).href)};\n` +
      `await post(process.env, { limitMs: ${limitMs} });\n`;
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        ...env,
        INPUT_PROJECT: bed.project,
        INPUT_ZONES: 'us-central1-a',
        INPUT_BUCKET: 'post-results',
        'INPUT_VM-SERVICE-ACCOUNT': bed.vmServiceAccount,
        INPUT_EXPERIMENT: '{"id":"post-1","params":{}}',
        INPUT_COMMAND: 'true',
        INPUT_SOURCE: 'none',
        GITHUB_RUN_ID: '4242',
        'STATE_gce-matrix-launch': JSON.stringify({
          project: bed.project,
          vm: { name: 'gcem-4242-post-1-1', zone: 'us-central1-a', attempt: 1 },
          finished: false,
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { tookMs: Date.now() - started, output, code };
  }

  it('ends within its limit when Compute Engine and Cloud Storage hang, and says what is left', async () => {
    const r = await runPost(
      {
        ...bed.env,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${hangingUrl}/compute/v1/`,
        STORAGE_EMULATOR_HOST: hangingUrl,
      },
      3000,
    );
    // node's start and the forced exit a second after the warning
    assert.ok(r.tookMs < 3000 + 3000, `took ${r.tookMs} ms`);
    assert.match(r.output, /::warning::.*could not confirm within 3 s that gcem-4242-post-1-1/);
    assert.match(r.output, /maxRunDuration/);
    assert.equal(r.code, 0, r.output);
  });

  it('ends within its limit when even the token exchange hangs', async () => {
    const creds = JSON.parse(await readFile(bed.credentialsFile, 'utf8')) as Record<string, unknown>;
    const hangingCreds = path.join(os.tmpdir(), `gce-matrix-post-creds-${process.pid}.json`);
    await writeFile(hangingCreds, JSON.stringify({ ...creds, token_url: `${hangingUrl}/v1/token` }));
    const r = await runPost(
      {
        ...bed.env,
        GOOGLE_APPLICATION_CREDENTIALS: hangingCreds,
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${hangingUrl}/compute/v1/`,
        STORAGE_EMULATOR_HOST: hangingUrl,
      },
      3000,
    );
    assert.ok(r.tookMs < 3000 + 3000, `took ${r.tookMs} ms`);
    assert.match(r.output, /::warning::.*could not confirm within 3 s/);
    assert.equal(r.code, 0, r.output);
  });

  it('says nothing and calls nothing when the main step created nothing', async () => {
    const requests = (): number => bed.recorder.of('compute').length + bed.recorder.of('storage').length;
    const before = requests();
    const saved = process.env;
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.env = {
      ...bed.env,
      'STATE_gce-matrix-launch': JSON.stringify({ project: 'p', finished: false }),
    };
    process.stdout.write = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    try {
      await post(process.env, { limitMs: 3000, exit: () => assert.fail('no exit') });
    } finally {
      process.stdout.write = write;
      process.env = saved;
    }
    assert.equal(lines.join(''), '');
    assert.equal(requests(), before);
  });
});
