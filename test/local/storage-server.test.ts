import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bucket } from '@google-cloud/storage';
import { Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { collectRun } from '../../src/collect/collect.ts';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import { Crc32c } from '../../src/local/crc32c.ts';
import type { LocalStorage } from '../../src/local/storage-server.ts';
import { startLocalStorage } from '../../src/local/storage-server.ts';

// What the emulator does is tested in test/emulator/storage.test.ts on this store too; here: the directory.

const BUCKET = 'local-results';

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('base64');
const crc = (data: Buffer | string): string => new Crc32c().update(Buffer.from(data)).base64();

/** The error code the Google client attached to a rejection. */
async function codeOf(promise: Promise<unknown>): Promise<number | string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: number | string }).code;
  }
  assert.fail('expected the call to fail');
}

interface ApiErrorBody {
  error: { code: number; message: string; errors: { reason: string; message: string; domain: string }[] };
}

describe('the local storage server: one directory served as one bucket', () => {
  let dir: string;
  let root: string;
  let server: LocalStorage;
  let storage: Storage;
  let bucket: Bucket;

  const raw = (pathAndQuery: string, init?: RequestInit): Promise<Response> =>
    fetch(`${server.url}${pathAndQuery}`, init);
  const upload = (name: string, body: string): Promise<Response> =>
    raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(name)}`, {
      method: 'POST',
      body,
    });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gcem-storage-'));
    root = path.join(dir, 'bucket');
    server = await startLocalStorage({ root, bucket: BUCKET });
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'local', expiry_date: Date.now() + 3600e3 });
    storage = new Storage({
      projectId: 'local',
      apiEndpoint: server.url,
      authClient,
      useAuthWithCustomEndpoint: true,
    });
    bucket = storage.bucket(BUCKET);
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves its one bucket, located LOCAL, to any caller, and no other bucket', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.root, root);
    const [meta] = await bucket.getMetadata();
    assert.deepEqual([meta.name, meta.location, meta.projectNumber], [BUCKET, 'LOCAL', '0']);
    assert.equal(await codeOf(storage.bucket('someone-else').getMetadata()), 404);
    assert.equal(
      (await raw(`/storage/v1/b/${BUCKET}/o`, { headers: { authorization: 'Bearer anything' } })).status,
      200,
    );
  });

  it('keeps every object as the file of its name, whichever way it was uploaded', async () => {
    const data = Buffer.from('a,b\n1,2\n');
    await bucket.file('single/table.csv').save(data, { resumable: false, contentType: 'text/csv' });
    assert.deepEqual(await readFile(path.join(root, 'single', 'table.csv')), data);
    assert.equal((await upload('single/media.txt', 'media')).status, 200);
    assert.equal(await readFile(path.join(root, 'single', 'media.txt'), 'utf8'), 'media');
    const big = randomBytes(2 * 1024 * 1024 + 12345);
    await bucket.file('big/blob.bin').save(big, { resumable: true, chunkSize: 1024 * 1024 });
    assert.deepEqual(await readFile(path.join(root, 'big', 'blob.bin')), big);
    // the staged bytes of finished sessions are gone
    const uploads = path.join(root, '.gce-matrix-uploads');
    assert.deepEqual(await readdir(path.join(uploads, (await readdir(uploads))[0])), []);
  });

  it('serves files put into the directory by other means, typed by their extension, hashed on demand', async () => {
    const data = '{"written": "directly"}';
    await mkdir(path.join(root, 'direct'), { recursive: true });
    await writeFile(path.join(root, 'direct', 'notes.json'), data);
    await writeFile(path.join(root, 'direct', 'blob'), 'no extension');
    const [meta] = await bucket.file('direct/notes.json').getMetadata();
    assert.equal(meta.contentType, 'application/json');
    assert.equal(meta.md5Hash, md5(data));
    assert.equal(meta.crc32c, crc(data));
    assert.equal((await bucket.file('direct/blob').getMetadata())[0].contentType, 'application/octet-stream');
    assert.equal((await bucket.file('direct/notes.json').download())[0].toString(), data);
    const [listed] = await bucket.getFiles({ prefix: 'direct/' });
    assert.deepEqual(
      listed.map((f) => f.name),
      ['direct/blob', 'direct/notes.json'],
    );
    // A rewrite behind the server's back is a new generation with new checksums.
    await writeFile(path.join(root, 'direct', 'notes.json'), `${data}\n`);
    const [again] = await bucket.file('direct/notes.json').getMetadata();
    assert.equal(again.md5Hash, md5(`${data}\n`));
    assert.notEqual(again.generation, meta.generation);
  });

  it('gives a file rewritten within one tick of the file system clock a new generation', async () => {
    const file = bucket.file('gen/once.txt');
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const [m1] = await file.getMetadata();
    await file.save('second', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: Number(m1.generation) },
    });
    const [m2] = await file.getMetadata();
    assert.ok(Number(m2.generation) > Number(m1.generation));
    const mtimeUs = (await stat(path.join(root, 'gen', 'once.txt'), { bigint: true })).mtimeNs / 1000n;
    assert.equal(String(mtimeUs), String(m2.generation), 'the generation is the modification time in µs');
  });

  it('refuses names a path cannot hold, and an object where a directory of objects is', async () => {
    const bad: [string, RegExp][] = [
      ['/abs.txt', /starts with \//],
      ['a//b.txt', /empty path segment/],
      ['trailing/', /empty path segment/],
      ['a/./b.txt', /\. or \.\. path segment/],
      ['a/../b.txt', /\. or \.\. path segment/],
      ['nul\0.txt', /NUL/],
      ['.gce-matrix-uploads/x', /reserved/],
    ];
    for (const [name, why] of bad) {
      const res = await upload(name, 'x');
      assert.equal(res.status, 400, JSON.stringify(name));
      const body = (await res.json()) as ApiErrorBody;
      assert.equal(body.error.errors[0].reason, 'invalid');
      assert.match(body.error.message, why, JSON.stringify(name));
    }
    assert.equal(await codeOf(bucket.file('up/../escape.txt').save('x', { resumable: false })), 400);
    await assert.rejects(stat(path.join(dir, 'escape.txt')), { code: 'ENOENT' });
    assert.equal((await raw(`/storage/v1/b/${BUCKET}/o/a%2F..%2F..%2Fetc`)).status, 400);

    assert.equal((await upload('clash', 'file')).status, 200);
    const under = await upload('clash/child', 'x');
    assert.equal(under.status, 409);
    assert.match(((await under.json()) as ApiErrorBody).error.message, /clash is an object/);
    assert.equal((await upload('clash2/child', 'x')).status, 200);
    assert.equal((await upload('clash2', 'x')).status, 409);
    assert.equal(await readFile(path.join(root, 'clash'), 'utf8'), 'file');

    // A symbolic link planted in the tree does not lead out of it.
    await writeFile(path.join(dir, 'outside.txt'), 'secret');
    await symlink(dir, path.join(root, 'link'));
    assert.equal((await raw(`/storage/v1/b/${BUCKET}/o/link%2Foutside.txt?alt=media`)).status, 404);
    assert.equal((await upload('link/new.txt', 'x')).status, 403);
    await rm(path.join(root, 'link'));
  });

  it('deletes objects and the directories they leave empty, never the root', async () => {
    await bucket.file('gone/deep/er/x.txt').save('x', { resumable: false });
    await bucket.file('gone/stays.txt').save('y', { resumable: false });
    await bucket.file('gone/deep/er/x.txt').delete();
    await assert.rejects(stat(path.join(root, 'gone', 'deep')), { code: 'ENOENT' });
    assert.equal(await readFile(path.join(root, 'gone', 'stays.txt'), 'utf8'), 'y');
    await bucket.file('gone/stays.txt').delete();
    await assert.rejects(stat(path.join(root, 'gone')), { code: 'ENOENT' });
    assert.ok((await stat(root)).isDirectory());
  });

  it('never lists its upload area, even with an upload in progress', async () => {
    const s = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=pending.bin`, {
      method: 'POST',
    });
    await fetch(s.headers.get('location')!, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 0-262143/*' },
      body: randomBytes(262144),
    });
    const [files] = await bucket.getFiles();
    assert.ok(files.length > 0);
    assert.ok(!files.some((f) => f.name.includes('.gce-matrix-uploads') || f.name === 'pending.bin'));
    const inUploads = (await (
      await raw(`/storage/v1/b/${BUCKET}/o?prefix=.gce-matrix-uploads%2F`)
    ).json()) as {
      items?: unknown;
    };
    assert.equal(inUploads.items, undefined);
  });
});

describe('collect (the real code) against a directory laid out as the agent writes it', () => {
  let dir: string;
  let server: LocalStorage;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gcem-collect-'));
    server = await startLocalStorage({ root: path.join(dir, 'bucket'), bucket: BUCKET });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('collects every experiment with each file verified', async () => {
    const loc = { bucket: BUCKET, prefix: '', runId: 'r9' };
    const put = async (name: string, data: string | Buffer): Promise<void> => {
      const file = path.join(server.root, ...name.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, data);
    };
    const status = (id: string, over: Partial<ExperimentStatus>): string =>
      JSON.stringify({
        schema: 1,
        runId: 'r9',
        experiment: id,
        attempt: 1,
        state: 'succeeded',
        exitCode: 0,
        startedAt: '2025-01-01T00:00:00Z',
        endedAt: '2025-01-01T00:01:00Z',
        outputs: [],
        provenance: { zone: 'local', machineType: 'local', parameters: { tool: id } },
        ...over,
      } satisfies ExperimentStatus);
    const ok = experimentObjects(loc, 'ok-1');
    const big = randomBytes(3 * 1024 * 1024);
    await put(`${ok.outputs}metrics.json`, '{"score": 0.5}');
    await put(`${ok.outputs}data/big.bin`, big);
    await put(`${ok.logs(1)}000001.txt`, 'first\n');
    await put(`${ok.logs(1)}000002.txt`, 'second\n');
    await put(`${ok.checkpoint}state.bin`, 'ckpt');
    await put(`${ok.base}attempts/1/status.json`, status('ok-1', {}));
    await put(
      ok.status,
      status('ok-1', {
        outputs: [
          { path: 'metrics.json', size: 14 },
          { path: 'data/big.bin', size: big.length },
        ],
      }),
    );
    const bad = experimentObjects(loc, 'bad-2');
    await put(`${bad.logs(1)}000001.txt`, 'exit 3\n');
    await put(
      bad.status,
      status('bad-2', { state: 'failed', exitCode: 3, reason: 'the command exited with code 3' }),
    );
    const running = experimentObjects(loc, 'running-3');
    await put(running.attempt(1).heartbeat, '{"attempt":1,"at":"2025-01-01T00:00:30Z","phase":"running"}');

    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'local', expiry_date: Date.now() + 3600e3 });
    const storage = new Storage({
      projectId: 'local',
      apiEndpoint: server.url,
      authClient,
      useAuthWithCustomEndpoint: true,
    });
    const out = path.join(dir, 'collected');
    const r = await collectRun({
      storage,
      location: loc,
      root: out,
      concurrency: 4,
      maxFileSize: 16 * 1024 * 1024,
    });
    const m = r.manifest;
    assert.deepEqual(
      m.experiments.map((e) => [e.id, e.status, e.exitCode]),
      [
        ['bad-2', 'failed', 3],
        ['ok-1', 'succeeded', 0],
        ['running-3', 'unfinished', null],
      ],
    );
    const okEntry = m.experiments.find((e) => e.id === 'ok-1')!;
    assert.deepEqual(okEntry.problems, []);
    assert.deepEqual(
      okEntry.files.map((f) => [f.path, f.verified]),
      [
        ['ok-1/log.txt', 'md5'],
        ['ok-1/outputs/data/big.bin', 'md5'],
        ['ok-1/outputs/metrics.json', 'md5'],
        ['ok-1/status.json', 'md5'],
      ],
    );
    assert.ok((await readFile(path.join(out, 'ok-1', 'outputs', 'data', 'big.bin'))).equals(big));
    assert.equal(await readFile(path.join(out, 'ok-1', 'log.txt'), 'utf8'), 'first\nsecond\n');
    assert.equal(m.counts.problems, 0);
  });
});

describe('closing the local storage server', () => {
  it('drops unfinished uploads and leaves the objects', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gcem-close-'));
    try {
      const root = path.join(dir, 'bucket');
      const server = await startLocalStorage({ root, bucket: BUCKET });
      const base = `${server.url}/upload/storage/v1/b/${BUCKET}/o`;
      await fetch(`${base}?uploadType=media&name=kept.txt`, { method: 'POST', body: 'kept' });
      const session = await fetch(`${base}?uploadType=resumable&name=half.bin`, { method: 'POST' });
      await fetch(session.headers.get('location')!, {
        method: 'PUT',
        headers: { 'content-range': 'bytes 0-262143/*' },
        body: randomBytes(262144),
      });
      assert.ok((await readdir(root)).includes('.gce-matrix-uploads'));
      await server.close();
      assert.deepEqual(await readdir(root), ['kept.txt']);
      await assert.rejects(fetch(base), 'nothing listens any more');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
