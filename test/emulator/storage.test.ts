import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import type { File } from '@google-cloud/storage';
import { CRC32C, Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { DirectoryObjectStore } from '../../src/emulator/storage/directory-store.ts';
import type { StorageAccessControl } from '../../src/emulator/storage/emulator.ts';
import { StorageEmulator } from '../../src/emulator/storage/emulator.ts';
import type { StoragePermission } from '../../src/emulator/storage/protocol.ts';
import { accessDenied } from '../../src/emulator/storage/protocol.ts';
import type { ObjectStore } from '../../src/emulator/storage/store.ts';
import { MemoryObjectStore } from '../../src/emulator/storage/store.ts';
import { Crc32c, crc32c } from '../../src/local/crc32c.ts';

const BUCKET = 'emu-bucket';
const KiB = 1024;

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('base64');
const crc = (data: Buffer | string): string => new Crc32c().update(Buffer.from(data)).base64();

interface ErrorBody {
  error: { code: number; message: string; errors: Record<string, string>[] } & Record<string, unknown>;
}

/** The error code the Google client attached to a rejection, or 200. */
async function codeOf(promise: Promise<unknown>): Promise<number | string | undefined> {
  try {
    await promise;
    return 200;
  } catch (err) {
    return (err as { code?: number | string }).code;
  }
}

/** What the test server saw of one request. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  range: string | undefined;
  status: number;
}

/** An emulator on a loopback port, with a log of its requests and a client for it. */
async function serve<P>(store: ObjectStore, access?: StorageAccessControl<P>) {
  const emulator = new StorageEmulator<P>({ store, ...(access ? { access } : {}) });
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: Seen = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      range: req.headers['content-range'],
      status: 0,
    };
    seen.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    emulator.listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'token-of-tester', expiry_date: Date.now() + 3600e3 });
  const storage = new Storage({
    projectId: 'emu-project',
    apiEndpoint: url,
    authClient,
    useAuthWithCustomEndpoint: true,
    // Keeps retry waits at 1 s; below that the library's upload retry refuses its own settings.
    retryOptions: { maxRetryDelay: 1 },
  });
  return {
    emulator,
    seen,
    url,
    storage,
    raw: (target: string, init?: RequestInit): Promise<Response> => fetch(`${url}${target}`, init),
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await emulator.close();
    },
  };
}

/** The stores the emulator runs on; every behaviour below is checked on each. */
const BACKENDS: {
  name: string;
  multipleBuckets: boolean;
  open(): Promise<[ObjectStore, () => Promise<void>]>;
}[] = [
  {
    name: 'objects in memory',
    multipleBuckets: true,
    open() {
      const store = new MemoryObjectStore();
      store.ensureBucket(BUCKET, Date.now());
      return Promise.resolve([store, () => Promise.resolve()]);
    },
  },
  {
    name: 'objects as files in a directory',
    multipleBuckets: false,
    async open() {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'gcem-emulator-'));
      const store = await DirectoryObjectStore.open(path.join(dir, 'bucket'), BUCKET);
      return [
        store,
        async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      ];
    },
  },
];

for (const backend of BACKENDS) {
  describe(`the Cloud Storage emulator, ${backend.name}, driven by the real client and by raw HTTP`, () => {
    let s: Awaited<ReturnType<typeof serve>>;
    let closeStore: () => Promise<void>;
    const media = (name: string, body: string | Buffer, query = '', headers: Record<string, string> = {}) =>
      s.raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${encodeURIComponent(name)}${query}`, {
        method: 'POST',
        headers,
        body,
      });
    const startSession = (name: string, init: RequestInit = {}) =>
      s.raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=${encodeURIComponent(name)}`, {
        method: 'POST',
        ...init,
      });
    const objectPath = (name: string, query = '') =>
      `/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}${query ? `?${query}` : ''}`;

    before(async () => {
      const [store, close] = await backend.open();
      closeStore = close;
      s = await serve(store);
    });
    after(async () => {
      await s.close();
      await closeStore();
    });

    it('serves bucket metadata, lists buckets of a project, and answers what is missing with notFound', async () => {
      const [meta] = await s.storage.bucket(BUCKET).getMetadata();
      assert.equal(meta.kind, 'storage#bucket');
      assert.equal(meta.name, BUCKET);
      assert.equal(meta.location, 'US');
      const [buckets] = await s.storage.getBuckets();
      assert.ok(buckets.some((b) => b.name === BUCKET));
      assert.equal((await s.raw('/storage/v1/b')).status, 400, 'listing buckets needs the project');
      assert.deepEqual(await s.storage.bucket('no-such-bucket').exists(), [false]);
      for (const target of [
        '/storage/v1/b/no-such-bucket',
        '/storage/v1/b/no-such-bucket/o',
        objectPath('absent'),
      ]) {
        const res = await s.raw(target);
        assert.equal(res.status, 404, target);
        const body = (await res.json()) as ErrorBody;
        // The JSON API's error shape: no `status` field, one entry in `errors`.
        assert.deepEqual(Object.keys(body.error).sort(), ['code', 'errors', 'message']);
        assert.deepEqual(body.error.errors, [
          { domain: 'global', reason: 'notFound', message: body.error.message },
        ]);
      }
    });

    it('creates and deletes buckets where the store can hold more than one', async () => {
      if (!backend.multipleBuckets) {
        assert.equal(await codeOf(s.storage.createBucket('another-bucket')), 501);
        assert.equal(await codeOf(s.storage.createBucket(BUCKET)), 409);
        return;
      }
      const [extra] = await s.storage.createBucket('another-bucket');
      assert.equal(
        s.seen.find((r) => r.method === 'POST' && r.path === '/storage/v1/b')?.query.get('project'),
        'emu-project',
      );
      assert.equal(await codeOf(s.storage.createBucket('another-bucket')), 409);
      assert.equal(await codeOf(s.storage.createBucket('Bad_Name')), 400);
      await extra.file('x').save('x', { resumable: false });
      assert.equal(await codeOf(extra.delete()), 409, 'not empty');
      await extra.file('x').delete();
      await extra.delete();
      assert.deepEqual(await extra.exists(), [false]);
    });

    it('stores a multipart upload with its metadata and checksums, as the client reads them back', async () => {
      const data = Buffer.from('hello, multipart');
      const file = s.storage.bucket(BUCKET).file('multi/hello.txt');
      await file.save(data, {
        resumable: false,
        contentType: 'text/plain',
        metadata: { metadata: { run: 'r1' } },
        validation: 'md5',
      });
      const posted = s.seen.findLast((r) => r.method === 'POST')!;
      assert.equal(posted.path, `/upload/storage/v1/b/${BUCKET}/o`);
      assert.equal(posted.query.get('uploadType'), 'multipart');
      const [r] = await file.getMetadata();
      assert.equal(r.kind, 'storage#object');
      assert.equal(r.contentType, 'text/plain');
      assert.equal(r.size, String(data.length));
      assert.equal(r.md5Hash, md5(data));
      const theirs = new CRC32C();
      theirs.update(data);
      assert.equal(r.crc32c, theirs.toString());
      assert.equal(r.metageneration, '1');
      assert.match(String(r.generation), /^\d{16}$/, 'microseconds, as the service counts');
      assert.ok(Number.isSafeInteger(Number(r.generation)), 'a generation survives being a JS number');
      assert.deepEqual(r.metadata, { run: 'r1' });
      assert.equal(r.id, `${BUCKET}/multi/hello.txt/${r.generation}`);
      assert.equal(r.selfLink, `${s.url}/storage/v1/b/${BUCKET}/o/multi%2Fhello.txt`);
      assert.equal(
        r.mediaLink,
        `${s.url}/download/storage/v1/b/${BUCKET}/o/multi%2Fhello.txt?generation=${r.generation}&alt=media`,
      );
      assert.deepEqual((await file.download())[0], data);
    });

    it('reads multipart bodies as they arrive and checks the checksums they carry', async () => {
      const boundary = 'b0undary';
      const part = (meta: object, body: string, parts = 2): string =>
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n` +
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\n${body}\r\n` +
        (parts > 2 ? `--${boundary}\r\nContent-Type: text/plain\r\n\r\nthird\r\n` : '') +
        `--${boundary}--\r\n`;
      const post = (body: string, type = `multipart/related; boundary=${boundary}`) =>
        s.raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`, {
          method: 'POST',
          headers: { 'content-type': type },
          body,
        });
      const content = `line one\r\n--${boundary.slice(0, 4)} not a boundary\r\n`;
      const ok = await post(part({ name: 'multi/m.txt', md5Hash: md5(content) }, content));
      assert.equal(ok.status, 200);
      const [back] = await s.storage.bucket(BUCKET).file('multi/m.txt').download();
      assert.equal(back.toString(), content);
      assert.equal(
        ((await ok.json()) as { contentType: string }).contentType,
        'text/plain',
        'the media part type',
      );

      const cases: [string, Promise<Response>, RegExp][] = [
        [
          'md5 mismatch',
          post(part({ name: 'multi/bad.txt', md5Hash: md5('other') }, content)),
          /^Provided MD5 hash/,
        ],
        ['three parts', post(part({ name: 'multi/bad.txt' }, content, 3)), /exactly two parts/],
        [
          'no closing boundary',
          post(part({ name: 'multi/bad.txt' }, content).slice(0, -6)),
          /closing boundary/,
        ],
        ['no boundary', post('x', 'multipart/related'), /boundary/],
        ['no name', post(part({}, content)), /object name/],
      ];
      for (const [what, res, message] of cases) {
        const r = await res;
        assert.equal(r.status, 400, what);
        assert.match(((await r.json()) as ErrorBody).error.message, message, what);
      }
      assert.deepEqual(await s.storage.bucket(BUCKET).file('multi/bad.txt').exists(), [false]);
    });

    it('takes media uploads, and refuses data that does not match its x-goog-hash', async () => {
      const good = await media('raw/h', 'abc', '', {
        'x-goog-hash': `crc32c=${crc('abc')},md5=${md5('abc')}`,
      });
      assert.equal(good.status, 200);
      assert.equal(((await good.json()) as { crc32c: string }).crc32c, crc('abc'));
      const bad = await media('raw/h', 'abd', '', { 'x-goog-hash': 'crc32c=AAAAAA==' });
      assert.equal(bad.status, 400);
      const err = (await bad.json()) as ErrorBody;
      assert.equal(err.error.errors[0].reason, 'invalid');
      assert.match(err.error.message, /^Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C/);
      assert.equal(await (await s.raw(`${objectPath('raw/h')}?alt=media`)).text(), 'abc');
      for (const query of ['uploadType=media', 'uploadType=weird&name=x', 'name=x']) {
        const res = await s.raw(`/upload/storage/v1/b/${BUCKET}/o?${query}`, { method: 'POST', body: 'x' });
        assert.equal(res.status, 400, query);
      }
    });

    it('refuses object names Cloud Storage refuses', async () => {
      const names: [string, RegExp][] = [
        ['a\nb', /CR or LF/],
        ['a\rb', /CR or LF/],
        ['.', /\. or \.\./],
        ['..', /\. or \.\./],
        ['x'.repeat(1025), /longer than 1024 bytes/],
        ['.well-known/acme-challenge/x', /acme-challenge/],
      ];
      for (const [name, why] of names) {
        const res = await media(name, 'x');
        assert.equal(res.status, 400, JSON.stringify(name));
        const body = (await res.json()) as ErrorBody;
        assert.equal(body.error.errors[0].reason, 'invalid');
        assert.match(body.error.message, why);
      }
    });

    it('uploads resumable through the client: in one request, in 256 KiB chunks, and several MiB in MiB chunks', async () => {
      const bucket = s.storage.bucket(BUCKET);
      const one = bucket.file('resumable/one.bin');
      const data = randomBytes(100 * KiB);
      const [uri] = await one.createResumableUpload({
        metadata: { contentType: 'application/x-tar' },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      const mark = s.seen.length;
      await one.save(data, { uri, resumable: true, preconditionOpts: { ifGenerationMatch: 0 } });
      assert.deepEqual((await one.download())[0], data);
      assert.equal((await one.getMetadata())[0].contentType, 'application/x-tar');
      const puts = (from: number) => s.seen.slice(from).filter((r) => r.method === 'PUT');
      // Given a session URI, the client first asks how much the service holds (none: 308 without Range).
      assert.deepEqual(
        puts(mark).map((p) => [p.range, p.status]),
        [
          ['bytes */*', 308],
          ['bytes 0-*/*', 200],
        ],
      );

      const chunked = bucket.file('resumable/chunked.bin');
      const big = randomBytes(700 * KiB);
      const [uri2] = await chunked.createResumableUpload({ preconditionOpts: { ifGenerationMatch: 0 } });
      const mark2 = s.seen.length;
      await pipeline(
        Readable.from([big.subarray(0, 300 * KiB), big.subarray(300 * KiB)]),
        chunked.createWriteStream({ uri: uri2, resumable: true, chunkSize: 256 * KiB }),
      );
      assert.deepEqual((await chunked.download())[0], big);
      assert.deepEqual(
        puts(mark2).map((p) => [p.range, p.status]),
        [
          ['bytes */*', 308],
          ['bytes 0-262143/*', 308],
          ['bytes 262144-524287/*', 308],
          [`bytes 524288-${big.length - 1}/${big.length}`, 200],
        ],
      );

      const several = randomBytes(3 * 1024 * KiB + 12345);
      const file = bucket.file('resumable/several.bin');
      await file.save(several, { resumable: true, chunkSize: 1024 * KiB });
      const [meta] = await file.getMetadata();
      assert.equal(meta.md5Hash, md5(several));
      assert.equal(meta.crc32c, crc(several));
      assert.ok((await file.download())[0].equals(several));
      assert.equal(s.emulator.openUploads(), 0);
    });

    it('speaks the resumable protocol: status queries, 256 KiB granularity, overlapping retries, the last request, cancelling', async () => {
      const data = randomBytes(600 * KiB);
      const start = await startSession('proto/r.bin', {
        headers: {
          'content-type': 'application/json; charset=UTF-8',
          'x-upload-content-type': 'application/x-test',
        },
        body: JSON.stringify({ metadata: { from: 'curl' } }),
      });
      assert.equal(start.status, 200);
      const location = start.headers.get('location')!;
      assert.match(location, new RegExp(`^${s.url}/upload/storage/v1/b/${BUCKET}/o\\?.*upload_id=`));
      const put = (range: string, body?: Buffer, headers: Record<string, string> = {}) =>
        fetch(location, {
          method: 'PUT',
          headers: { 'content-range': range, ...headers },
          ...(body ? { body } : {}),
        });
      const held = async (): Promise<string | null> => (await put('bytes */*')).headers.get('range');

      const none = await put('bytes */*');
      assert.equal(none.status, 308);
      assert.equal(none.headers.get('range'), null, 'no bytes yet: no Range');
      assert.equal(
        (await put('bytes 0-9/*', data.subarray(0, 10))).status,
        400,
        'a non-final request under 256 KiB',
      );
      assert.equal(await held(), null, 'a refused request leaves nothing');
      const odd = await put('bytes 0-300000/*', data.subarray(0, 300001));
      assert.equal(odd.status, 308);
      assert.equal(odd.headers.get('range'), 'bytes=0-262143', 'only whole multiples of 256 KiB are kept');
      // A retry that resends bytes already held keeps only the new ones.
      const overlap = await put('bytes 0-524287/*', data.subarray(0, 524288));
      assert.equal(overlap.headers.get('range'), 'bytes=0-524287');
      const gap = await put(`bytes 600000-${data.length - 1}/${data.length}`, data.subarray(600000));
      assert.equal(gap.status, 400, 'a request past the bytes held is refused');
      assert.equal(
        (await put('bytes 524288-600000/*', data.subarray(524288, 524298))).status,
        400,
        'range and body disagree',
      );
      assert.equal((await put('bytes */*', Buffer.from('x'))).status, 400, 'a status query carries no data');
      assert.equal(await held(), 'bytes=0-524287');
      const last = await put(`bytes 524288-${data.length - 1}/${data.length}`, data.subarray(524288), {
        'x-goog-hash': `crc32c=${crc(data)},md5=${md5(data)}`,
      });
      assert.equal(last.status, 200);
      const r = (await last.json()) as {
        name: string;
        size: string;
        md5Hash: string;
        contentType: string;
        metadata: object;
      };
      assert.deepEqual(
        [r.name, r.size, r.md5Hash, r.contentType],
        ['proto/r.bin', String(data.length), md5(data), 'application/x-test'],
      );
      assert.deepEqual(r.metadata, { from: 'curl' });
      assert.equal(
        (await put(`bytes */${data.length}`)).status,
        200,
        'a finished session answers with the object',
      );
      assert.equal(
        (await fetch(location.replace(/upload_id=[^&]+/, 'upload_id=bogus'), { method: 'PUT' })).status,
        404,
      );

      // A last request whose checksum does not match is refused, nothing is stored, and the session is over.
      const s2 = (await startSession('proto/bad.bin')).headers.get('location')!;
      const bad = await fetch(s2, {
        method: 'PUT',
        headers: { 'content-range': 'bytes 0-9/10', 'x-goog-hash': `md5=${md5('other')}` },
        body: Buffer.from('0123456789'),
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(await s.storage.bucket(BUCKET).file('proto/bad.bin').exists(), [false]);
      assert.equal(
        (await fetch(s2, { method: 'PUT', headers: { 'content-range': 'bytes */*' } })).status,
        404,
      );

      // The size declared at the start must be the size sent.
      const s3 = await startSession('proto/declared.bin', { headers: { 'x-upload-content-length': '5' } });
      const short = await fetch(s3.headers.get('location')!, { method: 'PUT', body: 'abc' });
      assert.equal(short.status, 400);
      assert.match(((await short.json()) as ErrorBody).error.message, /X-Upload-Content-Length/);

      // A cancelled session is gone.
      const open = s.emulator.openUploads();
      const s4 = (await startSession('proto/c.bin')).headers.get('location')!;
      assert.equal(s.emulator.openUploads(), open + 1);
      assert.equal((await fetch(s4, { method: 'DELETE' })).status, 499);
      assert.equal(
        (await fetch(s4, { method: 'PUT', headers: { 'content-range': 'bytes */*' } })).status,
        404,
      );
      assert.equal(s.emulator.openUploads(), open);
    });

    it('downloads whole, ranged and streamed, with the checksum headers the client verifies', async () => {
      const data = randomBytes(64 * KiB);
      const file = s.storage.bucket(BUCKET).file('dl/data.bin');
      await file.save(data, { resumable: false });
      assert.deepEqual((await file.download({ validation: 'crc32c' }))[0], data);
      assert.deepEqual((await file.download({ validation: 'md5' }))[0], data);
      assert.deepEqual((await file.download({ start: 10, end: 19 }))[0], data.subarray(10, 20));
      const chunks: Buffer[] = [];
      for await (const c of file.createReadStream({ start: 60 * KiB })) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), data.subarray(60 * KiB));

      const [meta] = await file.getMetadata();
      const whole = await s.raw(objectPath('dl/data.bin', 'alt=media'));
      assert.equal(whole.headers.get('x-goog-hash'), `crc32c=${crc(data)},md5=${md5(data)}`);
      assert.equal(whole.headers.get('x-goog-generation'), String(meta.generation));
      assert.equal(whole.headers.get('x-goog-stored-content-length'), String(data.length));
      assert.equal(whole.headers.get('content-length'), String(data.length));
      await whole.arrayBuffer();
      const ranges: [string, number, string | null, Buffer | undefined][] = [
        ['bytes=-3', 206, `bytes ${data.length - 3}-${data.length - 1}/${data.length}`, data.subarray(-3)],
        ['bytes=65530-70000', 206, `bytes 65530-${data.length - 1}/${data.length}`, data.subarray(65530)],
        [`bytes=${data.length}-`, 416, `bytes */${data.length}`, undefined],
        ['bytes=9-3', 200, null, data],
      ];
      for (const [range, status, contentRange, body] of ranges) {
        const res = await s.raw(`/download/storage/v1/b/${BUCKET}/o/dl%2Fdata.bin?alt=media`, {
          headers: { range },
        });
        assert.equal(res.status, status, range);
        assert.equal(res.headers.get('content-range'), contentRange, range);
        if (body) assert.deepEqual(Buffer.from(await res.arrayBuffer()), body, range);
        else await res.arrayBuffer();
      }
      await media('dl/empty', '');
      const empty = await s.raw(objectPath('dl/empty', 'alt=media'), { headers: { range: 'bytes=0-10' } });
      assert.equal(empty.status, 200, 'an empty object has no range: it comes whole');
      assert.equal(await empty.text(), '');
      const head = await s.raw(objectPath('dl/data.bin', 'alt=media'), { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), String(data.length));
      assert.equal((await s.raw(objectPath('dl/absent', 'alt=media'))).status, 404);
      // Unencoded slashes in the object name work too.
      assert.equal((await s.raw(`/storage/v1/b/${BUCKET}/o/dl/empty?alt=media`)).status, 200);
    });

    it('lists with prefix, delimiter, offsets and globs, in byte order, items and prefixes paged together', async () => {
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
      for (const n of names) assert.equal((await media(n, n)).status, 200);
      const bucket = s.storage.bucket(BUCKET);
      // Byte order of UTF-8: U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80), unlike UTF-16 order.
      const byteOrder = names.slice(0, -1).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(byteOrder.indexOf('list/\uFF61.txt') + 1, byteOrder.indexOf('list/\u{1F600}.txt'));
      assert.deepEqual(
        (await bucket.getFiles({ prefix: 'list/' }))[0].map((f) => f.name),
        byteOrder,
      );

      const [top, , response] = await bucket.getFiles({
        prefix: 'list/',
        delimiter: '/',
        autoPaginate: false,
      });
      assert.deepEqual(
        top.map((f) => f.name),
        byteOrder.filter((n) => n.indexOf('/', 'list/'.length) < 0),
      );
      assert.deepEqual((response as { prefixes?: string[] }).prefixes, ['list/a/', 'list/b/', 'list/d/']);

      const paged: string[] = [];
      let query: object | null = { prefix: 'list/', maxResults: 3, autoPaginate: false };
      while (query) {
        const [files, next]: [File[], object | null, unknown] = await bucket.getFiles(query);
        assert.ok(files.length <= 3);
        paged.push(...files.map((f) => f.name));
        query = next;
      }
      assert.deepEqual(paged, byteOrder);

      const entries: string[] = [];
      let token: string | undefined;
      do {
        const res = await s.raw(
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

      const filtered: [object, string[]][] = [
        [{ prefix: 'list/', startOffset: 'list/b', endOffset: 'list/d' }, ['list/b/1.txt', 'list/c.txt']],
        [
          { startOffset: 'list/z', endOffset: 'listing' },
          ['list/z.txt', 'list/\uFF61.txt', 'list/\u{1F600}.txt'],
        ],
        [{ matchGlob: 'list/**/1.txt' }, ['list/a/1.txt', 'list/b/1.txt']],
        [{ matchGlob: 'list/*.txt', prefix: 'list/' }, byteOrder.filter((n) => n.indexOf('/', 5) < 0)],
        [{ matchGlob: 'list/{a,d}/**' }, ['list/a/1.txt', 'list/a/2.txt', 'list/d/e/f.txt']],
      ];
      for (const [q, want] of filtered) {
        assert.deepEqual(
          (await bucket.getFiles(q))[0].map((f) => f.name),
          want,
          JSON.stringify(q),
        );
      }
      const partial = await (
        await s.raw(`/storage/v1/b/${BUCKET}/o?prefix=list%2Fa%2F&fields=items(name),nextPageToken`)
      ).json();
      assert.deepEqual(partial, { items: [{ name: 'list/a/1.txt' }, { name: 'list/a/2.txt' }] });
      assert.deepEqual(await (await s.raw(`/storage/v1/b/${BUCKET}/o?prefix=nothing%2F`)).json(), {
        kind: 'storage#objects',
      });
      for (const bad of ['maxResults=x', 'pageToken=bm90LWEtdG9rZW4', 'matchGlob=%5Bx', 'fields=items(']) {
        assert.equal((await s.raw(`/storage/v1/b/${BUCKET}/o?${bad}`)).status, 400, bad);
      }
    });

    it('lists more than a page, which the client follows', async () => {
      const names = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(names.slice(i, i + 50).map((n) => media(n, '')));
      }
      const mark = s.seen.length;
      const [many] = await s.storage.bucket(BUCKET).getFiles({ prefix: 'many/' });
      assert.deepEqual(
        many.map((f) => f.name),
        names,
      );
      const lists = s.seen.slice(mark);
      assert.equal(lists.length, 2);
      assert.ok(lists[1].query.get('pageToken'));
    });

    it('updates metadata: a patch merges and bumps the metageneration, an update replaces', async () => {
      await s.storage
        .bucket(BUCKET)
        .file('meta/m.txt')
        .save('m', { resumable: false, metadata: { metadata: { keep: '1', drop: '2' } } });
      const file = s.storage.bucket(BUCKET).file('meta/m.txt');
      const [before] = await file.getMetadata();
      const [patched] = await file.setMetadata(
        { contentType: 'application/json', cacheControl: 'no-cache', metadata: { drop: null, added: 'x' } },
        { ifMetagenerationMatch: 1 },
      );
      assert.equal(
        s.seen.findLast((r) => r.method === 'PATCH')?.path,
        `/storage/v1/b/${BUCKET}/o/meta%2Fm.txt`,
      );
      assert.equal(patched.metageneration, '2');
      assert.equal(patched.generation, before.generation);
      assert.equal(patched.contentType, 'application/json');
      assert.deepEqual(patched.metadata, { keep: '1', added: 'x' });
      assert.notEqual(patched.etag, before.etag);
      const [again] = await file.getMetadata();
      assert.deepEqual([again.metageneration, again.cacheControl], ['2', 'no-cache']);
      const got = await s.raw(objectPath('meta/m.txt', 'alt=media'));
      assert.equal(got.headers.get('cache-control'), 'no-cache');
      assert.equal(got.headers.get('content-type'), 'application/json');
      await got.text();
      const replaced = await s.raw(objectPath('meta/m.txt'), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metadata: { only: 1 } }),
      });
      const r = (await replaced.json()) as {
        metadata: object;
        metageneration: string;
        cacheControl?: string;
      };
      assert.deepEqual([r.metadata, r.metageneration, r.cacheControl], [{ only: '1' }, '3', undefined]);
      const nested = await s.raw(objectPath('meta/m.txt'), {
        method: 'PATCH',
        body: '{"metadata": {"a": {"b": 1}}}',
      });
      assert.equal(nested.status, 400);
    });

    it('deletes, after which the object is gone', async () => {
      const file = s.storage.bucket(BUCKET).file('del/x');
      await file.save('x', { resumable: false });
      await file.delete();
      assert.equal(s.seen.findLast((r) => r.method === 'DELETE')?.status, 204);
      assert.equal(await codeOf(file.delete()), 404);
      assert.deepEqual(await file.exists(), [false]);
    });

    it('copies, rewrites and composes objects', async () => {
      const bucket = s.storage.bucket(BUCKET);
      await bucket.file('cc/a').save('first-', { resumable: false, contentType: 'text/plain' });
      await bucket.file('cc/b').save('second', { resumable: false });
      const [copy] = await bucket.file('cc/a').copy(bucket.file('cc/copied/a'));
      assert.equal(copy.name, 'cc/copied/a');
      assert.match(
        s.seen.findLast((r) => r.method === 'POST')!.path,
        /\/o\/cc%2Fa\/rewriteTo\/b\/emu-bucket\/o\/cc%2Fcopied%2Fa$/,
      );
      assert.equal((await copy.download())[0].toString(), 'first-');
      assert.equal(
        (await copy.getMetadata())[0].contentType,
        'text/plain',
        'the source metadata comes along',
      );
      const rewrite = await s.raw(`/storage/v1/b/${BUCKET}/o/cc%2Fb/rewriteTo/b/${BUCKET}/o/cc%2Frewritten`, {
        method: 'POST',
      });
      const rr = (await rewrite.json()) as {
        kind: string;
        done: boolean;
        objectSize: string;
        resource: { name: string };
      };
      assert.deepEqual(
        [rr.kind, rr.done, rr.objectSize, rr.resource.name],
        ['storage#rewriteResponse', true, '6', 'cc/rewritten'],
      );

      const [combined] = await bucket.combine(['cc/a', 'cc/b'], 'cc/ab');
      assert.equal((await combined.download())[0].toString(), 'first-second');
      const [meta] = await combined.getMetadata();
      assert.equal(meta.componentCount, 2);
      assert.equal(meta.md5Hash, undefined, 'a composed object has no MD5');
      assert.equal(meta.crc32c, crc('first-second'));
      const [twice] = await bucket.combine(['cc/ab', 'cc/a'], 'cc/aba');
      assert.equal((await twice.getMetadata())[0].componentCount, 3);

      const [a] = await bucket.file('cc/a').getMetadata();
      const refused: [string, number][] = [
        [`/storage/v1/b/${BUCKET}/o/cc%2Fnope/copyTo/b/${BUCKET}/o/cc%2Fx`, 404],
        [`/storage/v1/b/${BUCKET}/o/cc%2Fa/copyTo/b/${BUCKET}/o/cc%2Fx?sourceGeneration=1`, 404],
        [
          `/storage/v1/b/${BUCKET}/o/cc%2Fa/copyTo/b/${BUCKET}/o/cc%2Fx?ifSourceGenerationMatch=${Number(a.generation) + 1}`,
          412,
        ],
      ];
      for (const [target, status] of refused)
        assert.equal((await s.raw(target, { method: 'POST' })).status, status, target);
      const compose = (sources: object[]) =>
        s.raw(`/storage/v1/b/${BUCKET}/o/cc%2Fx/compose`, {
          method: 'POST',
          body: JSON.stringify({ sourceObjects: sources }),
        });
      assert.equal((await compose([{ name: 'cc/nope' }])).status, 404);
      assert.equal(
        (await compose([{ name: 'cc/a', objectPreconditions: { ifGenerationMatch: '1' } }])).status,
        412,
      );
      assert.equal((await compose(Array.from({ length: 33 }, () => ({ name: 'cc/a' })))).status, 400);
      assert.deepEqual(await bucket.file('cc/x').exists(), [false]);
    });

    it('holds to generation and metageneration preconditions: 412, or 304 for a read with NotMatch', async () => {
      assert.equal((await media('pre/p', 'one')).status, 200);
      const g = Number(
        ((await (await s.raw(objectPath('pre/p'))).json()) as { generation: string }).generation,
      );
      const get = (q: string) => s.raw(objectPath('pre/p', q));
      const calls: [string, () => Promise<Response>, number][] = [
        ['metadata, generation matches', () => get(`ifGenerationMatch=${g}`), 200],
        ['metadata, generation does not match', () => get(`ifGenerationMatch=${g + 1}`), 412],
        ['metadata, generation NotMatch fails', () => get(`ifGenerationNotMatch=${g}`), 304],
        ['metadata, metageneration does not match', () => get('ifMetagenerationMatch=2'), 412],
        ['metadata, metageneration NotMatch fails', () => get('ifMetagenerationNotMatch=1'), 304],
        ['download, generation NotMatch fails', () => get(`alt=media&ifGenerationNotMatch=${g}`), 304],
        ['download, generation does not match', () => get(`alt=media&ifGenerationMatch=${g + 1}`), 412],
        ['a generation that is not current', () => get(`generation=${g - 1}`), 404],
        ['a precondition that is not a number', () => get('ifGenerationMatch=abc'), 400],
        [
          'patch, metageneration does not match',
          () => s.raw(objectPath('pre/p', 'ifMetagenerationMatch=5'), { method: 'PATCH', body: '{}' }),
          412,
        ],
        [
          'patch, metageneration NotMatch fails',
          () => s.raw(objectPath('pre/p', 'ifMetagenerationNotMatch=1'), { method: 'PATCH', body: '{}' }),
          412,
        ],
        [
          'delete, generation does not match',
          () => s.raw(objectPath('pre/p', `ifGenerationMatch=${g + 1}`), { method: 'DELETE' }),
          412,
        ],
        [
          'delete, generation NotMatch fails',
          () => s.raw(objectPath('pre/p', `ifGenerationNotMatch=${g}`), { method: 'DELETE' }),
          412,
        ],
        ['create-only upload over an object', () => media('pre/p', 'two', '&ifGenerationMatch=0'), 412],
        [
          'upload, generation does not match',
          () => media('pre/p', 'two', `&ifGenerationMatch=${g + 1}`),
          412,
        ],
        ['upload, generation NotMatch fails', () => media('pre/p', 'two', `&ifGenerationNotMatch=${g}`), 412],
        [
          'upload where there is no object, metageneration',
          () => media('pre/absent', 'x', '&ifMetagenerationMatch=1'),
          412,
        ],
        [
          'upload where there is no object, NotMatch 0',
          () => media('pre/absent', 'x', '&ifGenerationNotMatch=0'),
          412,
        ],
        [
          'resumable start over an object',
          () =>
            s.raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=pre%2Fp&ifGenerationMatch=0`, {
              method: 'POST',
            }),
          412,
        ],
      ];
      for (const [what, call, status] of calls) {
        const res = await call();
        assert.equal(res.status, status, what);
        const text = await res.text();
        if (status === 412) {
          assert.deepEqual(
            JSON.parse(text),
            {
              error: {
                code: 412,
                message: 'At least one of the pre-conditions you specified did not hold.',
                errors: [
                  {
                    domain: 'global',
                    reason: 'conditionNotMet',
                    message: 'At least one of the pre-conditions you specified did not hold.',
                  },
                ],
              },
            },
            what,
          );
        }
        if (status === 304) assert.equal(text, '', what);
      }
      assert.equal(await (await get('alt=media')).text(), 'one', 'nothing refused changed the object');

      const file = s.storage.bucket(BUCKET).file('pre/p');
      assert.equal(
        await codeOf(file.save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })),
        412,
      );
      await file.save('three', { resumable: false, preconditionOpts: { ifGenerationMatch: g } });
      const [m] = await file.getMetadata();
      assert.notEqual(Number(m.generation), g, 'a new generation, even written at once');
      assert.equal(
        await codeOf(s.storage.bucket(BUCKET).file('pre/p', { generation: g }).download()),
        404,
        'the old generation is gone',
      );

      // A resumable upload checks its preconditions again when it ends.
      const session = (
        await s.raw(
          `/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=pre%2Flate&ifGenerationMatch=0`,
          { method: 'POST' },
        )
      ).headers.get('location')!;
      assert.equal((await media('pre/late', 'first')).status, 200);
      assert.equal((await fetch(session, { method: 'PUT', body: 'second' })).status, 412);
      assert.equal(
        (await fetch(session, { method: 'PUT', headers: { 'content-range': 'bytes */*' } })).status,
        404,
      );
      await file.delete({ ifGenerationMatch: Number(m.generation) });
    });

    it('serializes the writes to one object: of concurrent create-only uploads, exactly one wins', async () => {
      const statuses = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          media('race/once', `writer ${i}`, '&ifGenerationMatch=0').then((r) => r.status),
        ),
      );
      assert.deepEqual(statuses.filter((x) => x === 200).length, 1, JSON.stringify(statuses));
      assert.deepEqual(statuses.filter((x) => x === 412).length, 7);
    });

    it('answers what it does not serve with 404, 405 or 501', async () => {
      const answers: [string, string, number][] = [
        ['GET', '/nothing/here', 404],
        ['GET', `/storage/v1/b/${BUCKET}/iam`, 501],
        ['POST', `/storage/v1/b/${BUCKET}/o/x/restore`, 501],
        ['PUT', `/storage/v1/b/${BUCKET}/o`, 405],
        ['GET', `/upload/storage/v1/b/${BUCKET}/o`, 405],
        ['PATCH', `/storage/v1/b/${BUCKET}`, 405],
      ];
      for (const [method, target, status] of answers) {
        const res = await s.raw(target, { method });
        assert.equal(res.status, status, `${method} ${target}`);
        assert.equal(((await res.json()) as ErrorBody).error.code, status);
      }
    });
  });
}

describe('the access hook', () => {
  const calls: [string | undefined, StoragePermission, string][] = [];
  let deny: (permission: StoragePermission) => boolean = () => false;
  const access: StorageAccessControl<string> = {
    identify: (token) => ({ 'token-of-tester': 'tester@emu.iam.gserviceaccount.com' })[token],
    authorize(who, permission, resource) {
      calls.push([who, permission, resource]);
      if (who === undefined) return accessDenied(undefined, permission, resource);
      return deny(permission) ? accessDenied(who, permission, resource) : undefined;
    },
  };
  let s: Awaited<ReturnType<typeof serve<string>>>;
  const auth = { authorization: 'Bearer token-of-tester' };
  const call = (method: string, target: string, body?: string, headers: Record<string, string> = {}) =>
    s.raw(target, { method, headers: { ...auth, ...headers }, ...(body !== undefined ? { body } : {}) });
  const o = (name: string) => `projects/_/buckets/${BUCKET}/objects/${name}`;

  before(async () => {
    const store = new MemoryObjectStore();
    store.ensureBucket(BUCKET, Date.now());
    store.put(
      BUCKET,
      'acl/a',
      Buffer.from('a'),
      { contentType: 'text/plain', metadata: {}, headerFields: {} },
      Date.now(),
    );
    store.put(
      BUCKET,
      'acl/b',
      Buffer.from('b'),
      { contentType: 'text/plain', metadata: {}, headerFields: {} },
      Date.now(),
    );
    s = await serve(store, access);
  });
  after(() => s.close());

  it('is asked for each permission a call needs, naming the caller and the resource as IAM does', async () => {
    const b = `/storage/v1/b/${BUCKET}`;
    const upload = `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=`;
    const table: [string, () => Promise<Response>, [StoragePermission, string][]][] = [
      [
        'list buckets',
        () => call('GET', '/storage/v1/b?project=emu-project'),
        [['storage.buckets.list', 'projects/emu-project']],
      ],
      [
        'create a bucket',
        () => call('POST', '/storage/v1/b?project=emu-project', '{"name": "acl-bucket"}'),
        [['storage.buckets.create', 'projects/emu-project']],
      ],
      [
        'delete a bucket',
        () => call('DELETE', '/storage/v1/b/acl-bucket'),
        [['storage.buckets.delete', 'projects/_/buckets/acl-bucket']],
      ],
      ['get a bucket', () => call('GET', b), [['storage.buckets.get', `projects/_/buckets/${BUCKET}`]]],
      [
        'list objects',
        () => call('GET', `${b}/o`),
        [['storage.objects.list', `projects/_/buckets/${BUCKET}`]],
      ],
      ['get metadata', () => call('GET', `${b}/o/acl%2Fa`), [['storage.objects.get', o('acl/a')]]],
      ['download', () => call('GET', `${b}/o/acl%2Fa?alt=media`), [['storage.objects.get', o('acl/a')]]],
      [
        'upload a new object',
        () => call('POST', `${upload}acl%2Fnew`, 'n'),
        [['storage.objects.create', o('acl/new')]],
      ],
      [
        'replace an object',
        () => call('POST', `${upload}acl%2Fnew`, 'n'),
        [
          ['storage.objects.create', o('acl/new')],
          ['storage.objects.delete', o('acl/new')],
        ],
      ],
      [
        'patch metadata',
        () => call('PATCH', `${b}/o/acl%2Fnew`, '{}'),
        [['storage.objects.update', o('acl/new')]],
      ],
      [
        'delete an object',
        () => call('DELETE', `${b}/o/acl%2Fnew`),
        [['storage.objects.delete', o('acl/new')]],
      ],
      [
        'copy',
        () => call('POST', `${b}/o/acl%2Fa/copyTo/b/${BUCKET}/o/acl%2Fc`),
        [
          ['storage.objects.get', o('acl/a')],
          ['storage.objects.create', o('acl/c')],
        ],
      ],
      [
        'compose',
        () =>
          call(
            'POST',
            `${b}/o/acl%2Fd/compose`,
            JSON.stringify({ sourceObjects: [{ name: 'acl/a' }, { name: 'acl/b' }] }),
          ),
        [
          ['storage.objects.create', o('acl/d')],
          ['storage.objects.get', o('acl/a')],
          ['storage.objects.get', o('acl/b')],
        ],
      ],
    ];
    for (const [what, run, wanted] of table) {
      calls.length = 0;
      const res = await run();
      assert.ok(res.status < 300, `${what}: ${res.status} ${await res.text()}`);
      assert.deepEqual(
        calls,
        wanted.map(([p, r]) => ['tester@emu.iam.gserviceaccount.com', p, r]),
        what,
      );
    }

    // A resumable session is checked when it starts; its requests carry no token, and replacing an object
    // when it ends is checked for the principal that started it.
    calls.length = 0;
    const start = await call('POST', `/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=acl%2Fa`);
    assert.equal(start.status, 200);
    const done = await fetch(start.headers.get('location')!, { method: 'PUT', body: 'A' });
    assert.equal(done.status, 200);
    assert.deepEqual(calls, [
      ['tester@emu.iam.gserviceaccount.com', 'storage.objects.create', o('acl/a')],
      ['tester@emu.iam.gserviceaccount.com', 'storage.objects.delete', o('acl/a')],
    ]);
  });

  it('answers its refusals in Cloud Storage shape: 401 for no token or a bad one, 403 for a caller without the permission', async () => {
    const anonymous = await s.raw(`/storage/v1/b/${BUCKET}/o/acl%2Fa`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    const message =
      "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).";
    assert.deepEqual(await anonymous.json(), {
      error: {
        code: 401,
        message,
        errors: [
          {
            domain: 'global',
            reason: 'required',
            message,
            locationType: 'header',
            location: 'Authorization',
          },
        ],
      },
    });
    calls.length = 0;
    for (const header of ['Bearer not-a-token', 'Basic dXNlcg==']) {
      const bad = await s.raw(`/storage/v1/b/${BUCKET}/o`, { headers: { authorization: header } });
      assert.equal(bad.status, 401);
      assert.match(bad.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
      const body = (await bad.json()) as ErrorBody;
      assert.deepEqual(
        [body.error.message, body.error.errors[0].reason],
        ['Invalid Credentials', 'authError'],
      );
    }
    assert.deepEqual(calls, [], 'an unknown token is refused before any permission is asked');

    deny = (permission) => permission === 'storage.objects.delete';
    try {
      const replace = await call(
        'POST',
        `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=acl%2Fb`,
        'B',
      );
      assert.equal(replace.status, 403);
      const body = (await replace.json()) as ErrorBody;
      assert.equal(body.error.errors[0].reason, 'forbidden');
      assert.equal(
        body.error.message,
        "tester@emu.iam.gserviceaccount.com does not have storage.objects.delete access to the Google Cloud Storage object. Permission 'storage.objects.delete' denied on resource (or it may not exist).",
      );
      assert.equal(
        await (await call('GET', `/storage/v1/b/${BUCKET}/o/acl%2Fb?alt=media`)).text(),
        'b',
        'not replaced',
      );
      const fresh = await call(
        'POST',
        `/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=acl%2Ffresh`,
        'F',
      );
      assert.equal(fresh.status, 200, 'a new object needs create only');
      const listBuckets = await s.raw('/storage/v1/b?project=emu-project', { headers: auth });
      assert.equal(listBuckets.status, 200);
      deny = (permission) => permission === 'storage.buckets.list';
      const refused = (await (await call('GET', '/storage/v1/b?project=emu-project')).json()) as ErrorBody;
      assert.match(refused.error.message, /access to the Google Cloud Storage project\./);
    } finally {
      deny = () => false;
    }
  });
});

describe('CRC32C', () => {
  it('gives the published check values, in both forms the stand-ins answer with', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(new Uint8Array(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
    assert.equal(
      new Crc32c().update(Buffer.from('1234')).update(Buffer.from('56789')).base64(),
      Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'),
    );
  });
});
