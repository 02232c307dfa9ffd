import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectRun } from '../../src/collect/collect.ts';
import { ConfigurationError } from '../../src/errors.ts';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { connectGcp } from '../../src/gcp/clients.ts';
import { experimentObjects } from '../../src/layout.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';

const BUCKET = 'run-results';

describe('collectRun against the storage stand-in', () => {
  let bed: TestBed;
  let clients: GcpClients;
  const loc = (runId: string) => ({ bucket: BUCKET, prefix: 'gce-matrix', runId });
  const dest = async (): Promise<string> => path.join(await mkdtemp(path.join(bed.dir, 'c-')), 'out');

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    clients = connectGcp({ project: bed.project, env: bed.env }).clients;
  });
  after(async () => {
    await clients.close();
    await bed.close();
  });

  it('reads every page of a large listing', async () => {
    const names = experimentObjects(loc('paged'), 'many');
    for (let i = 0; i < 1205; i++) bed.storage.putObject(BUCKET, `${names.outputs}f/${i}.txt`, `n${i}`);
    const r = await collectRun({
      storage: clients.storage,
      location: loc('paged'),
      root: await dest(),
      concurrency: 8,
      maxFileSize: 1024,
    });
    const e = r.manifest.experiments[0];
    assert.equal(e.status, 'unfinished');
    assert.equal(e.files.length, 1205);
    const root = path.dirname(r.manifestPath);
    assert.equal(await readFile(path.join(root, 'many/outputs/f/1204.txt'), 'utf8'), 'n1204');
  });

  it("keeps every attempt's log: the last as log.txt, earlier ones as attempt-N/log.txt", async () => {
    const names = experimentObjects(loc('attempts'), 'e');
    bed.storage.putObject(BUCKET, `${names.logs(1)}000001.txt`, 'first attempt, part 1\n');
    bed.storage.putObject(BUCKET, `${names.logs(1)}000002.txt`, 'first attempt, part 2\n');
    bed.storage.putObject(BUCKET, `${names.logs(2)}000001.txt`, 'second attempt\n');
    bed.storage.putObject(BUCKET, `${names.logs(3)}000001.txt`, 'third attempt\n');
    const status = {
      schema: 1,
      runId: 'attempts',
      experiment: 'e',
      attempt: 3,
      state: 'succeeded',
      exitCode: 0,
      endedAt: '2026-12-01T00:00:00Z',
      outputs: [],
      provenance: {},
    };
    bed.storage.putObject(BUCKET, names.status, JSON.stringify(status));
    const r = await collectRun({
      storage: clients.storage,
      location: loc('attempts'),
      root: await dest(),
      concurrency: 4,
      maxFileSize: 1024,
    });
    const root = path.dirname(r.manifestPath);
    assert.equal(await readFile(path.join(root, 'e/log.txt'), 'utf8'), 'third attempt\n');
    assert.equal(
      await readFile(path.join(root, 'e/attempt-1/log.txt'), 'utf8'),
      'first attempt, part 1\nfirst attempt, part 2\n',
    );
    assert.equal(await readFile(path.join(root, 'e/attempt-2/log.txt'), 'utf8'), 'second attempt\n');
    assert.deepEqual(
      r.manifest.experiments[0]?.files.map((f) => f.path).filter((p) => p.endsWith('log.txt')),
      ['e/attempt-1/log.txt', 'e/attempt-2/log.txt', 'e/log.txt'],
    );
  });

  it('retries a dropped connection and a 503', async () => {
    const names = experimentObjects(loc('flaky'), 'e');
    bed.storage.putObject(BUCKET, `${names.outputs}a.bin`, Buffer.alloc(200_000, 1));
    bed.storage.putObject(BUCKET, `${names.outputs}b.bin`, Buffer.alloc(1000, 2));
    const media = (suffix: string) => (req: { url: URL }) =>
      req.url.searchParams.get('alt') === 'media' && decodeURIComponent(req.url.pathname).endsWith(suffix);
    bed.recorder.inject({ service: 'storage', when: media('a.bin'), drop: true });
    bed.recorder.inject({
      service: 'storage',
      when: media('b.bin'),
      status: 503,
      body: { error: { code: 503 } },
    });
    const r = await collectRun({
      storage: clients.storage,
      location: loc('flaky'),
      root: await dest(),
      concurrency: 2,
      maxFileSize: 1 << 20,
      backoffMs: 10,
    });
    const e = r.manifest.experiments[0];
    assert.deepEqual(e.problems, []);
    assert.deepEqual(
      e.files.map((f) => [f.path, f.size]),
      [
        ['e/outputs/a.bin', 200_000],
        ['e/outputs/b.bin', 1000],
      ],
    );
    assert.ok(r.stats.retries >= 2);
  });

  it('refuses a results directory that is not empty, and a bucket that does not exist', async () => {
    const root = await dest();
    await mkdir(root);
    await writeFile(path.join(root, 'x'), 'x');
    await assert.rejects(
      collectRun({ storage: clients.storage, location: loc('r'), root, concurrency: 1, maxFileSize: 1 }),
      (err) => err instanceof ConfigurationError && /not empty/.test(err.message),
    );
    await assert.rejects(
      collectRun({
        storage: clients.storage,
        location: { ...loc('r'), bucket: 'no-such-bucket' },
        root: await dest(),
        concurrency: 1,
        maxFileSize: 1,
      }),
      (err) => err instanceof ConfigurationError && /does not exist/.test(err.message),
    );
  });

  it('keeps the tail of a log over the size limit', async () => {
    const names = experimentObjects(loc('longlog'), 'e');
    for (let i = 1; i <= 5; i++) {
      bed.storage.putObject(BUCKET, `${names.logs(1)}${String(i).padStart(6, '0')}.txt`, `${i}`.repeat(10));
    }
    const r = await collectRun({
      storage: clients.storage,
      location: loc('longlog'),
      root: await dest(),
      concurrency: 4,
      maxFileSize: 25,
    });
    const e = r.manifest.experiments[0];
    const log = e.files.find((f) => f.path === 'e/log.txt');
    assert.equal(log?.parts, 2);
    assert.equal(
      await readFile(path.join(path.dirname(r.manifestPath), 'e/log.txt'), 'utf8'),
      '4'.repeat(10) + '5'.repeat(10),
    );
    assert.deepEqual(
      e.problems.map((p) => p.kind),
      ['log-truncated'],
    );
  });
});
