import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bucket, File } from '@google-cloud/storage';
import { CRC32C, Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { collectRun } from '../../src/collect/collect.ts';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import { Crc32c, crc32cBase64, crc32cUpdate } from '../../src/local/crc32c.ts';
import type { LocalStorage } from '../../src/local/storage-server.ts';
import { startLocalStorage } from '../../src/local/storage-server.ts';

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

describe('CRC32C', () => {
  it('gives the published check values', () => {
    assert.equal(crc32cUpdate(0, Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32cUpdate(0, Buffer.alloc(0)), 0);
    assert.equal(crc32cUpdate(0, Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32cUpdate(0, Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32cBase64(0xe3069283), Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  });

  it('matches the Cloud Storage library for any length and any split', () => {
    for (let n = 0; n < 200; n += 7) {
      const data = randomBytes(n * 13 + (n % 5));
      const theirs = new CRC32C();
      theirs.update(data);
      const cut = Math.floor(data.length / 3);
      const ours = new Crc32c().update(data.subarray(0, cut)).update(data.subarray(cut));
      assert.equal(ours.base64(), theirs.toString(), `length ${data.length}`);
    }
  });
});

describe('local storage server, driven by the real Cloud Storage client', () => {
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

  it('serves its bucket, and answers other buckets with Google-shaped 404s', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const [meta] = await bucket.getMetadata();
    assert.equal(meta.name, BUCKET);
    assert.equal(meta.location, 'LOCAL');
    assert.equal(await codeOf(storage.bucket('someone-else').getMetadata()), 404);
    const res = await raw('/storage/v1/b/someone-else/o');
    assert.equal(res.status, 404);
    const body = (await res.json()) as ApiErrorBody;
    assert.equal(body.error.code, 404);
    assert.equal(body.error.errors[0].reason, 'notFound');
    assert.equal(body.error.errors[0].domain, 'global');
  });

  it('stores a single-request upload as a file and reads it back with matching hashes', async () => {
    const data = Buffer.from('a,b\n1,2\n');
    const file = bucket.file('single/table.csv');
    await file.save(data, { resumable: false, contentType: 'text/csv' });
    assert.deepEqual(await readFile(path.join(root, 'single', 'table.csv')), data);
    const [back] = await file.download();
    assert.deepEqual(back, data);
    const [meta] = await file.getMetadata();
    assert.equal(meta.size, String(data.length));
    assert.equal(meta.md5Hash, md5(data));
    assert.equal(meta.crc32c, crc(data));
    const theirs = new CRC32C();
    theirs.update(data);
    assert.equal(meta.crc32c, theirs.toString());
    assert.equal(meta.contentType, 'text/csv');
    assert.equal(meta.metageneration, '1');
    assert.match(String(meta.generation), /^\d{16}$/, 'microseconds, as the service counts');
    assert.ok(Number.isSafeInteger(Number(meta.generation)), 'a generation survives being a JS number');
  });

  it('serves files put into the directory by other means, hashing them on demand', async () => {
    const data = '{"written": "directly"}';
    await mkdir(path.join(root, 'direct'), { recursive: true });
    await writeFile(path.join(root, 'direct', 'notes.json'), data);
    const [meta] = await bucket.file('direct/notes.json').getMetadata();
    assert.equal(meta.contentType, 'application/json');
    assert.equal(meta.md5Hash, md5(data));
    assert.equal(meta.crc32c, crc(data));
    const [back] = await bucket.file('direct/notes.json').download();
    assert.equal(back.toString(), data);
    // A rewrite behind the server's back is a new generation with new hashes.
    await writeFile(path.join(root, 'direct', 'notes.json'), `${data}\n`);
    const [again] = await bucket.file('direct/notes.json').getMetadata();
    assert.equal(again.md5Hash, md5(`${data}\n`));
  });

  it('takes a multi-megabyte resumable upload in several chunks', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const file = bucket.file('big/blob.bin');
    await file.save(data, { resumable: true, chunkSize: 1024 * 1024 });
    assert.deepEqual(await readFile(path.join(root, 'big', 'blob.bin')), data);
    const [meta] = await file.getMetadata();
    assert.equal(meta.md5Hash, md5(data));
    assert.equal(meta.crc32c, crc(data));
    const [back] = await file.download();
    assert.ok(back.equals(data));
    // the partial file of the session is gone
    assert.deepEqual(
      await readdir(
        path.join(root, '.gce-matrix-uploads', (await readdir(path.join(root, '.gce-matrix-uploads')))[0]),
      ),
      [],
    );
  });

  it('speaks the resumable protocol: 308 with Range, status queries, overlapping retries, the final chunk', async () => {
    const data = randomBytes(600 * 1024);
    const start = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=proto%2Fr.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-upload-content-type': 'application/x-test' },
      body: '{}',
    });
    assert.equal(start.status, 200);
    const location = start.headers.get('location');
    assert.ok(location?.includes('upload_id='), `Location ${location}`);
    const put = (range: string, body?: Buffer, headers: Record<string, string> = {}) =>
      fetch(location!, {
        method: 'PUT',
        headers: { 'content-range': range, ...headers },
        ...(body ? { body } : {}),
      });

    const status0 = await put('bytes */*');
    assert.equal(status0.status, 308);
    assert.equal(status0.headers.get('range'), null, 'no bytes yet: no Range');
    const chunk1 = await put('bytes 0-262143/*', data.subarray(0, 262144));
    assert.equal(chunk1.status, 308);
    assert.equal(chunk1.headers.get('range'), 'bytes=0-262143');
    const query = await put('bytes */*');
    assert.equal(query.status, 308);
    assert.equal(query.headers.get('range'), 'bytes=0-262143');
    // A retry that resends bytes the server already has keeps only the new ones.
    const chunk2 = await put('bytes 0-524287/*', data.subarray(0, 524288));
    assert.equal(chunk2.headers.get('range'), 'bytes=0-524287');
    const gap = await put(`bytes 600000-${data.length - 1}/${data.length}`, data.subarray(600000));
    assert.equal(gap.status, 400, 'a chunk past the persisted offset is refused');
    const last = await put(`bytes 524288-${data.length - 1}/${data.length}`, data.subarray(524288), {
      'x-goog-hash': `crc32c=${crc(data)},md5=${md5(data)}`,
    });
    assert.equal(last.status, 200);
    const resource = (await last.json()) as Record<string, string>;
    assert.equal(resource.name, 'proto/r.bin');
    assert.equal(resource.size, String(data.length));
    assert.equal(resource.md5Hash, md5(data));
    assert.equal(resource.contentType, 'application/x-test');
    assert.deepEqual(await readFile(path.join(root, 'proto', 'r.bin')), data);
    const again = await put('bytes */*');
    assert.equal(again.status, 200, 'a finished session answers with the object');

    // A final chunk whose hash does not match is refused and nothing is stored.
    const s2 = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=proto%2Fbad.bin`, {
      method: 'POST',
    });
    const bad = await fetch(s2.headers.get('location')!, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 0-9/10', 'x-goog-hash': `md5=${md5('other')}` },
      body: Buffer.from('0123456789'),
    });
    assert.equal(bad.status, 400);
    await assert.rejects(stat(path.join(root, 'proto', 'bad.bin')), { code: 'ENOENT' });

    // A cancelled session is gone.
    const s3 = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=proto%2Fc.bin`, {
      method: 'POST',
    });
    const loc3 = s3.headers.get('location')!;
    assert.equal((await fetch(loc3, { method: 'DELETE' })).status, 499);
    assert.equal(
      (await fetch(loc3, { method: 'PUT', headers: { 'content-range': 'bytes */*' } })).status,
      404,
    );
  });

  it('takes multipart uploads and checks the hash they carry', async () => {
    const boundary = 'b0undary';
    const body = (meta: object, media: string) =>
      `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n` +
      `--${boundary}\r\nContent-Type: text/plain\r\n\r\n${media}\r\n--${boundary}--\r\n`;
    const post = (meta: object, media: string) =>
      raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`, {
        method: 'POST',
        headers: { 'content-type': `multipart/related; boundary=${boundary}` },
        body: body(meta, media),
      });
    const media = `line one\r\n--${boundary.slice(0, 4)} not a boundary\r\n`;
    const ok = await post({ name: 'multi/m.txt', md5Hash: md5(media) }, media);
    assert.equal(ok.status, 200);
    assert.equal(await readFile(path.join(root, 'multi', 'm.txt'), 'utf8'), media);
    const bad = await post({ name: 'multi/bad.txt', md5Hash: md5('something else') }, media);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as ApiErrorBody).error.message, /MD5/);
    await assert.rejects(stat(path.join(root, 'multi', 'bad.txt')), { code: 'ENOENT' });
  });

  it('lists by prefix and delimiter, in byte order, page by page', async () => {
    const names = [
      'list/a/1.txt',
      'list/a/2.txt',
      'list/b/1.txt',
      'list/c.txt',
      'list/d/e/f.txt',
      'list/Z.txt',
      'list/z.txt',
      'list/\uFF61.txt',
      'list/\u{1F600}.txt',
      'listing-not-under-prefix.txt',
    ];
    for (const n of names) await bucket.file(n).save(n, { resumable: false });
    const under = names.filter((n) => n.startsWith('list/'));
    // Byte order of UTF-8: U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80), unlike UTF-16 order.
    const byteOrder = [...under].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.equal(byteOrder.indexOf('list/\uFF61.txt') + 1, byteOrder.indexOf('list/\u{1F600}.txt'));

    const [all] = await bucket.getFiles({ prefix: 'list/' });
    assert.deepEqual(
      all.map((f) => f.name),
      byteOrder,
    );

    const [top, , response] = await bucket.getFiles({ prefix: 'list/', delimiter: '/', autoPaginate: false });
    assert.deepEqual(
      top.map((f) => f.name),
      byteOrder.filter((n) => n.indexOf('/', 'list/'.length) < 0),
    );
    assert.deepEqual((response as { prefixes?: string[] }).prefixes, ['list/a/', 'list/b/', 'list/d/']);

    const paged: string[] = [];
    let pages = 0;
    let pageToken: string | undefined;
    do {
      const [files, next]: [File[], { pageToken?: string } | null, unknown] = await bucket.getFiles({
        prefix: 'list/',
        maxResults: 3,
        autoPaginate: false,
        ...(pageToken ? { pageToken } : {}),
      });
      pages += 1;
      assert.ok(files.length <= 3);
      paged.push(...files.map((f) => f.name));
      if (next) assert.ok(next.pageToken, 'a next page comes with a token');
      pageToken = next?.pageToken;
    } while (pageToken);
    assert.deepEqual(paged, byteOrder);
    assert.equal(pages, Math.ceil(byteOrder.length / 3));

    // With a delimiter, items and prefixes page together.
    const entries: string[] = [];
    let token: string | undefined;
    do {
      const res = await raw(
        `/storage/v1/b/${BUCKET}/o?prefix=list%2F&delimiter=%2F&maxResults=1${token ? `&pageToken=${token}` : ''}`,
      );
      const page = (await res.json()) as {
        items?: { name: string }[];
        prefixes?: string[];
        nextPageToken?: string;
      };
      entries.push(...(page.prefixes ?? []), ...(page.items ?? []).map((i) => i.name));
      token = page.nextPageToken;
    } while (token);
    assert.deepEqual(entries, [
      'list/Z.txt',
      'list/a/',
      'list/b/',
      'list/c.txt',
      'list/d/',
      'list/z.txt',
      'list/\uFF61.txt',
      'list/\u{1F600}.txt',
    ]);

    const [ranged] = await bucket.getFiles({ prefix: 'list/', startOffset: 'list/b', endOffset: 'list/d' });
    assert.deepEqual(
      ranged.map((f) => f.name),
      ['list/b/1.txt', 'list/c.txt'],
    );

    const partial = (await (
      await raw(`/storage/v1/b/${BUCKET}/o?prefix=list%2Fa%2F&fields=items(name),nextPageToken`)
    ).json()) as { items: Record<string, unknown>[] };
    assert.deepEqual(partial, { items: [{ name: 'list/a/1.txt' }, { name: 'list/a/2.txt' }] });
  });

  it('streams byte ranges, and refuses ranges past the end', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const file = bucket.file('range/r.txt');
    await file.save(data, { resumable: false });
    const chunks: Buffer[] = [];
    for await (const c of file.createReadStream({ start: 10, end: 14 })) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'abcde');
    const tail = await raw(`/download/storage/v1/b/${BUCKET}/o/range%2Fr.txt?alt=media`, {
      headers: { range: 'bytes=-3' },
    });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), 'bytes 17-19/20');
    assert.equal(await tail.text(), 'hij');
    const whole = await raw(`/storage/v1/b/${BUCKET}/o/range%2Fr.txt?alt=media`);
    assert.equal(whole.headers.get('x-goog-hash'), `crc32c=${crc(data)},md5=${md5(data)}`);
    assert.equal(whole.headers.get('x-goog-stored-content-length'), '20');
    assert.equal(whole.headers.get('content-length'), '20');
    const [meta] = await file.getMetadata();
    assert.equal(whole.headers.get('x-goog-generation'), String(meta.generation));
    await whole.arrayBuffer();
    const past = await raw(`/storage/v1/b/${BUCKET}/o/range%2Fr.txt?alt=media`, {
      headers: { range: 'bytes=20-' },
    });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */20');
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
    assert.equal(await codeOf(bucket.file('gone/stays.txt').delete()), 404);
    const res = await raw(`/storage/v1/b/${BUCKET}/o/gone%2Fstays.txt`, { method: 'DELETE' });
    assert.equal(res.status, 404);
  });

  it('holds to generation preconditions, and a rewrite makes a new generation', async () => {
    const file = bucket.file('pre/once.txt');
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    assert.equal(
      await codeOf(file.save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })),
      412,
    );
    assert.equal(await readFile(path.join(root, 'pre', 'once.txt'), 'utf8'), 'first');
    const [m1] = await file.getMetadata();
    // Rewritten at once, within one tick of the file system clock: still a new generation.
    await file.save('second', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: Number(m1.generation) },
    });
    const [m2] = await file.getMetadata();
    assert.notEqual(m2.generation, m1.generation);
    await file.save('third', { resumable: false });
    const [m3] = await file.getMetadata();
    assert.notEqual(m3.generation, m2.generation);
    assert.equal(
      await codeOf(
        file.save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(m1.generation) } }),
      ),
      412,
    );
    assert.equal(await codeOf(file.getMetadata({ ifGenerationMatch: Number(m1.generation) })), 412);
    assert.equal(await codeOf(file.delete({ ifGenerationMatch: Number(m1.generation) })), 412);
    // The old generation cannot be read any more.
    assert.equal(
      await codeOf(bucket.file('pre/once.txt', { generation: Number(m1.generation) }).download()),
      404,
    );
    const res = await raw(
      `/storage/v1/b/${BUCKET}/o/pre%2Fonce.txt?ifGenerationNotMatch=${String(m3.generation)}`,
    );
    assert.equal(res.status, 304);
    await file.delete({ ifGenerationMatch: Number(m3.generation) });
    await assert.rejects(stat(path.join(root, 'pre', 'once.txt')), { code: 'ENOENT' });
  });

  it('refuses names it cannot store as files, with a clear message', async () => {
    const bad: [string, RegExp][] = [
      ['/abs.txt', /starts with \//],
      ['a//b.txt', /empty path segment/],
      ['trailing/', /empty path segment/],
      ['a/./b.txt', /\. or \.\. path segment/],
      ['a/../b.txt', /\. or \.\. path segment/],
      ['..', /\. or \.\. path segment/],
      ['line\nbreak.txt', /NUL, CR or LF/],
      ['cr\r.txt', /NUL, CR or LF/],
      ['.gce-matrix-uploads/x', /reserved/],
    ];
    for (const [name, why] of bad) {
      const res = await upload(name, 'x');
      assert.equal(res.status, 400, JSON.stringify(name));
      const body = (await res.json()) as ApiErrorBody;
      assert.equal(body.error.errors[0].reason, 'invalid');
      assert.match(body.error.message, why, JSON.stringify(name));
    }
    const empty = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=`, {
      method: 'POST',
      body: 'x',
    });
    assert.equal(empty.status, 400);
    assert.equal(await codeOf(bucket.file('up/../escape.txt').save('x', { resumable: false })), 400);
    await assert.rejects(stat(path.join(dir, 'escape.txt')), { code: 'ENOENT' });
    assert.equal((await raw(`/storage/v1/b/${BUCKET}/o/a%2F..%2F..%2Fetc`)).status, 400);

    // A directory-backed bucket cannot hold both `x` and `x/...`.
    assert.equal((await upload('clash', 'file')).status, 200);
    const under = await upload('clash/child', 'x');
    assert.equal(under.status, 409);
    assert.match(((await under.json()) as ApiErrorBody).error.message, /clash is an object/);
    assert.equal((await upload('clash2/child', 'x')).status, 200);
    const over = await upload('clash2', 'x');
    assert.equal(over.status, 409);
    assert.equal(await readFile(path.join(root, 'clash'), 'utf8'), 'file');
  });

  it('answers what it does not support with a Google-shaped 501', async () => {
    const res = await raw(`/storage/v1/b/${BUCKET}/o/clash/rewriteTo/b/${BUCKET}/o/copy`, { method: 'POST' });
    assert.equal(res.status, 501);
    const body = (await res.json()) as ApiErrorBody;
    assert.equal(body.error.code, 501);
    assert.match(body.error.message, /not supported/);
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
    assert.equal(
      (
        (await (await raw(`/storage/v1/b/${BUCKET}/o?prefix=.gce-matrix-uploads%2F`)).json()) as {
          items?: unknown;
        }
      ).items,
      undefined,
    );
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
