import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import type { File } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { BedClock } from './clock.ts';
import { crc32c, crc32cBase64 } from './crc32c.ts';
import { BedServer, Recorder, googleError } from './http.ts';
import { StorageStandIn } from './storage.ts';
import { TokenRegistry } from './tokens.ts';

const BUCKET = 'bed-results';
const KiB = 1024;

let recorder: Recorder;
let server: BedServer;
let standIn: StorageStandIn;
let tokens: TokenRegistry;
let token: string;
let savedEmulatorHost: string | undefined;

/** A Storage client as the product builds one: emulator host from the environment, a bearer token, no ADC. */
function client(accessToken = token): Storage {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 24 * 3600 * 1000 });
  return new Storage({
    projectId: 'test-project',
    authClient: auth,
    // Without this the library sends no Authorization header to a custom endpoint at all.
    useAuthWithCustomEndpoint: true,
    // Keeps retry waits at 1 s; below that the library's upload retry (async-retry) refuses its own settings.
    retryOptions: { maxRetryDelay: 1 },
  });
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function status(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

async function raw(path: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.auth !== false) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${server.origin}${path}`, { ...init, headers });
}

before(async () => {
  const clock = new BedClock();
  tokens = new TokenRegistry(clock);
  token = tokens.issue({
    subject: 'serviceAccount:runner@test-project.iam.gserviceaccount.com',
    email: 'runner@test-project.iam.gserviceaccount.com',
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    kind: 'service-account',
  }).token;
  standIn = new StorageStandIn({ clock, tokens });
  recorder = new Recorder();
  server = await new BedServer('storage', recorder, standIn.handle).listen();
  savedEmulatorHost = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = server.origin;
  standIn.createBucket(BUCKET);
});

after(async () => {
  if (savedEmulatorHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = savedEmulatorHost;
  await server.close();
});

beforeEach(() => recorder.clear());

describe('crc32c', () => {
  it('matches the RFC 3720 and check-value test vectors', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  });

  it('continues a running checksum and prints big-endian base64', () => {
    const data = bytes(1000);
    assert.equal(crc32c(data.subarray(300), crc32c(data.subarray(0, 300))), crc32c(data));
    // 0xE3069283 big-endian
    assert.equal(
      crc32cBase64(Buffer.from('123456789')),
      Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'),
    );
  });
});

describe('StorageStandIn with @google-cloud/storage', () => {
  it('gets a bucket and answers notFound for a missing one', async () => {
    const storage = client();
    const [meta] = await storage.bucket(BUCKET).getMetadata();
    assert.equal(meta.kind, 'storage#bucket');
    assert.equal(meta.name, BUCKET);
    assert.deepEqual(await storage.bucket('no-such-bucket').exists(), [false]);
    const res = await raw('/storage/v1/b/no-such-bucket');
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { errors: { reason: string }[] } };
    assert.equal(body.error.errors[0].reason, 'notFound');
    // The library drops /storage/v1 for JSON calls when STORAGE_EMULATOR_HOST is set.
    assert.equal(recorder.of('storage', 'GET', `/b/${BUCKET}`).length, 1);
  });

  it('uploads multipart (resumable: false) with correct hashes and fields', async () => {
    const storage = client();
    const file = storage.bucket(BUCKET).file('multi/hello.txt');
    const data = Buffer.from('hello, multipart');
    await file.save(data, {
      resumable: false,
      contentType: 'text/plain',
      metadata: { metadata: { run: 'r1' } },
      validation: 'md5',
    });
    const [posted] = recorder.of('storage', 'POST');
    assert.equal(posted.path, `/upload/storage/v1/b/${BUCKET}/o`);
    assert.equal(posted.query.uploadType, 'multipart');
    assert.match(String(posted.headers['content-type']), /^multipart\/related; boundary=/);
    assert.match(String(posted.headers.authorization), /^Bearer ya29\.bed-/);

    const stored = standIn.getObject(BUCKET, 'multi/hello.txt');
    assert.deepEqual(stored?.data, data);
    const r = stored.resource;
    assert.equal(r.kind, 'storage#object');
    assert.equal(r.contentType, 'text/plain');
    assert.equal(r.size, String(data.length));
    assert.equal(r.crc32c, crc32cBase64(data));
    assert.equal(r.md5Hash, md5(data));
    assert.equal(r.metageneration, '1');
    assert.match(r.generation, /^\d+$/);
    assert.deepEqual(r.metadata, { run: 'r1' });
    assert.equal(r.id, `${BUCKET}/multi/hello.txt/${r.generation}`);
    assert.equal(r.selfLink, `${server.origin}/storage/v1/b/${BUCKET}/o/multi%2Fhello.txt`);
    assert.match(
      r.mediaLink,
      /\/download\/storage\/v1\/b\/bed-results\/o\/multi%2Fhello\.txt\?generation=\d+&alt=media$/,
    );

    const [meta] = await file.getMetadata();
    assert.equal(meta.crc32c, r.crc32c);
    assert.equal(meta.etag, r.etag);
  });

  it('shows the library starting resumable uploads without a token on a custom endpoint (401)', async () => {
    // save/createWriteStream drop useAuthWithCustomEndpoint when they start the session: the POST is anonymous.
    const file = client().bucket(BUCKET).file('resumable/anonymous.bin');
    assert.equal(await status(file.save(bytes(KiB), { resumable: true })), 401);
    const [start] = recorder.of('storage', 'POST');
    assert.equal(start.query.uploadType, 'resumable');
    assert.equal(start.headers.authorization, undefined);
    assert.equal(start.status, 401);
  });

  it('uploads resumable in one shot (session started with createResumableUpload)', async () => {
    const file = client().bucket(BUCKET).file('resumable/one.bin');
    const data = bytes(100 * KiB, 7);
    const [uri] = await file.createResumableUpload({
      metadata: { contentType: 'application/x-tar' },
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    await file.save(data, { uri, resumable: true, preconditionOpts: { ifGenerationMatch: 0 } });
    const stored = standIn.getObject(BUCKET, 'resumable/one.bin');
    assert.deepEqual(stored?.data, data);
    assert.equal(stored?.resource.contentType, 'application/x-tar');
    const [start] = recorder.of('storage', 'POST');
    assert.equal(start.path, `/upload/storage/v1/b/${BUCKET}/o`);
    assert.equal(start.query.uploadType, 'resumable');
    assert.equal(start.query.ifGenerationMatch, '0');
    assert.match(String(start.headers.authorization), /^Bearer /);
    const puts = recorder.of('storage', 'PUT');
    // Given a session URI, the library first asks how much the service holds (none: 308 without Range).
    assert.deepEqual(
      puts.map((p) => [p.headers['content-range'], p.status]),
      [
        ['bytes */*', 308],
        ['bytes 0-*/*', 200],
      ],
    );
    assert.ok(puts.every((p) => p.query.upload_id === new URL(uri).searchParams.get('upload_id')));
    assert.ok(puts.every((p) => p.headers.authorization === undefined));
    assert.equal(standIn.openUploads(), 0);
  });

  it('uploads resumable in chunks (308 with Range between them)', async () => {
    const file = client().bucket(BUCKET).file('resumable/chunked.bin');
    const data = bytes(700 * KiB, 9);
    const [uri] = await file.createResumableUpload({ preconditionOpts: { ifGenerationMatch: 0 } });
    await pipeline(
      Readable.from([data.subarray(0, 300 * KiB), data.subarray(300 * KiB)]),
      file.createWriteStream({ uri, resumable: true, chunkSize: 256 * KiB }),
    );
    assert.deepEqual(standIn.getObject(BUCKET, 'resumable/chunked.bin')?.data, data);
    const puts = recorder.of('storage', 'PUT');
    assert.deepEqual(
      puts.map((p) => [p.headers['content-range'], p.status]),
      [
        ['bytes */*', 308],
        ['bytes 0-262143/*', 308],
        ['bytes 262144-524287/*', 308],
        [`bytes 524288-${data.length - 1}/${data.length}`, 200],
      ],
    );
    assert.ok(puts.every((p) => p.query.upload_id === puts[0].query.upload_id));
  });

  it('runs the library default resumable path end to end when auth is not required', async () => {
    const open = new StorageStandIn({ clock: new BedClock(), tokens, requireAuth: false });
    open.createBucket(BUCKET);
    const openServer = await new BedServer('storage-open', recorder, open.handle).listen();
    process.env.STORAGE_EMULATOR_HOST = openServer.origin;
    try {
      const file = client().bucket(BUCKET).file('plain/save.bin');
      const data = bytes(300 * KiB, 4);
      await file.save(data);
      assert.deepEqual(open.getObject(BUCKET, 'plain/save.bin')?.data, data);
      const [downloaded] = await file.download();
      assert.deepEqual(downloaded, data);
    } finally {
      process.env.STORAGE_EMULATOR_HOST = server.origin;
      await openServer.close();
    }
  });

  it('downloads whole, ranged and streamed, validating crc32c and md5', async () => {
    const storage = client();
    const data = bytes(64 * KiB, 3);
    standIn.putObject(BUCKET, 'dl/data.bin', data, { contentType: 'application/octet-stream' });
    const file = storage.bucket(BUCKET).file('dl/data.bin');

    const [whole] = await file.download({ validation: 'crc32c' });
    assert.deepEqual(whole, data);
    const [withMd5] = await file.download({ validation: 'md5' });
    assert.deepEqual(withMd5, data);
    const get = recorder.of('storage', 'GET', '/b/bed-results/o/dl%2Fdata.bin')[0];
    assert.equal(get.query.alt, 'media');

    const [part] = await file.download({ start: 10, end: 19 });
    assert.deepEqual(part, data.subarray(10, 20));

    const chunks: Buffer[] = [];
    for await (const c of file.createReadStream({ start: 60 * KiB })) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), data.subarray(60 * KiB));

    const all: Buffer[] = [];
    for await (const c of file.createReadStream()) all.push(c as Buffer);
    assert.deepEqual(Buffer.concat(all), data);

    const ranged = recorder.of('storage', 'GET').filter((r) => r.headers.range);
    assert.deepEqual(
      ranged.map((r) => [r.headers.range, r.status]),
      [
        ['bytes=10-19', 206],
        [`bytes=${60 * KiB}-`, 206],
      ],
    );
  });

  it('lists with prefix and delimiter, page by page and automatically', async () => {
    for (const n of [
      'runs/r1/a.json',
      'runs/r1/b.json',
      'runs/r2/a.json',
      'runs/top.txt',
      'runs/zz.txt',
      'other',
    ]) {
      standIn.putObject(BUCKET, n, n);
    }
    const bucket = client().bucket(BUCKET);
    const [files, , resp] = await bucket.getFiles({ prefix: 'runs/', delimiter: '/', autoPaginate: false });
    assert.deepEqual(
      files.map((f) => f.name),
      ['runs/top.txt', 'runs/zz.txt'],
    );
    assert.deepEqual((resp as { prefixes?: string[] }).prefixes, ['runs/r1/', 'runs/r2/']);

    // Items and prefixes share the page budget.
    const seen: string[] = [];
    let query: object | null = { prefix: 'runs/', delimiter: '/', maxResults: 3, autoPaginate: false };
    let pages = 0;
    while (query) {
      const [page, next, apiResp]: [File[], object | null, unknown] = await bucket.getFiles(query);
      pages++;
      seen.push(...((apiResp as { prefixes?: string[] }).prefixes ?? []), ...page.map((f) => f.name));
      query = next;
    }
    assert.equal(pages, 2);
    assert.deepEqual(seen.sort(), ['runs/r1/', 'runs/r2/', 'runs/top.txt', 'runs/zz.txt']);

    for (let i = 0; i < 1005; i++) standIn.putObject(BUCKET, `many/${String(i).padStart(4, '0')}`, '');
    recorder.clear();
    const [many] = await bucket.getFiles({ prefix: 'many/' });
    assert.equal(many.length, 1005);
    const lists = recorder.of('storage', 'GET', `/b/${BUCKET}/o`);
    assert.equal(lists.length, 2);
    assert.ok(lists[1].query.pageToken);
    for (let i = 0; i < 1005; i++) standIn.deleteObject(BUCKET, `many/${String(i).padStart(4, '0')}`);

    const [ranged] = await bucket.getFiles({ startOffset: 'runs/r2', endOffset: 'runs/zz.txt' });
    assert.deepEqual(
      ranged.map((f) => f.name),
      ['runs/r2/a.json', 'runs/top.txt'],
    );
    const [globbed] = await bucket.getFiles({ matchGlob: 'runs/**/a.json' });
    assert.deepEqual(
      globbed.map((f) => f.name),
      ['runs/r1/a.json', 'runs/r2/a.json'],
    );
  });

  it('patches metadata, bumping the metageneration', async () => {
    standIn.putObject(BUCKET, 'meta/m.txt', 'm', { metadata: { keep: '1', drop: '2' } });
    const file = client().bucket(BUCKET).file('meta/m.txt');
    const [before] = await file.getMetadata();
    const [patched] = await file.setMetadata(
      { contentType: 'application/json', metadata: { drop: null, added: 'x' } },
      { ifMetagenerationMatch: 1 },
    );
    assert.equal(recorder.of('storage', 'PATCH')[0].path, '/b/bed-results/o/meta%2Fm.txt');
    assert.equal(patched.metageneration, '2');
    assert.equal(patched.generation, before.generation);
    assert.equal(patched.contentType, 'application/json');
    assert.deepEqual(patched.metadata, { keep: '1', added: 'x' });
    assert.notEqual(patched.etag, before.etag);
  });

  it('deletes', async () => {
    standIn.putObject(BUCKET, 'del/x', 'x');
    const file = client().bucket(BUCKET).file('del/x');
    await file.delete();
    assert.equal(standIn.getObject(BUCKET, 'del/x'), undefined);
    assert.equal(recorder.of('storage', 'DELETE')[0].status, 204);
    assert.equal(await status(file.delete()), 404);
    assert.deepEqual(await file.exists(), [false]);
  });

  it('creates buckets, copies (rewriteTo) and composes objects', async () => {
    const storage = client();
    const [bucket] = await storage.createBucket('bed-extra');
    assert.equal(recorder.of('storage', 'POST', '/b')[0].query.project, 'test-project');
    assert.equal(await status(storage.createBucket('bed-extra')), 409);
    await bucket.file('a').save('first-', { resumable: false });
    await bucket.file('b').save('second', { resumable: false });
    const [copy] = await bucket.file('a').copy(storage.bucket(BUCKET).file('copied/a'));
    assert.equal(copy.name, 'copied/a');
    assert.equal(standIn.getObject(BUCKET, 'copied/a')?.data.toString(), 'first-');
    assert.match(
      recorder.of('storage', 'POST').at(-1)!.path,
      /^\/b\/bed-extra\/o\/a\/rewriteTo\/b\/bed-results\/o\/copied%2Fa$/,
    );
    const [combined] = await bucket.combine(['a', 'b'], 'ab');
    const [data] = await combined.download();
    assert.equal(data.toString(), 'first-second');
    const [meta] = await combined.getMetadata();
    assert.equal(meta.componentCount, 2);
    assert.equal(meta.md5Hash, undefined);
    assert.equal(meta.crc32c, crc32cBase64(Buffer.from('first-second')));
  });

  it('enforces preconditions with 412 (and 304 for reads with NotMatch)', async () => {
    const storage = client();
    const bucket = storage.bucket(BUCKET);
    const marker = bucket.file('pre/marker.json');
    await marker.save('{"done":1}', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    assert.equal(
      await status(
        marker.save('{"done":2}', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
      ),
      412,
    );
    assert.equal(
      await status(marker.createResumableUpload({ preconditionOpts: { ifGenerationMatch: 0 } })),
      412,
    );
    assert.equal(standIn.getObject(BUCKET, 'pre/marker.json')?.data.toString(), '{"done":1}');
    const error = recorder.of('storage').find((r) => r.status === 412)!;
    assert.equal(error.method, 'POST');

    const [meta] = await marker.getMetadata();
    const gen = Number(meta.generation);
    assert.equal(await status(marker.getMetadata({ ifGenerationMatch: gen + 1 })), 412);
    assert.equal(await status(marker.getMetadata({ ifGenerationNotMatch: gen })), 304);
    assert.equal(await status(marker.getMetadata({ ifMetagenerationMatch: 2 })), 412);
    assert.equal(await status(marker.getMetadata({ ifMetagenerationNotMatch: 1 })), 304);
    assert.equal(
      await status(marker.setMetadata({ metadata: { a: 'b' } }, { ifMetagenerationMatch: 5 })),
      412,
    );
    assert.equal(
      await status(marker.setMetadata({ metadata: { a: 'b' } }, { ifMetagenerationNotMatch: 1 })),
      412,
    );
    assert.equal(await status(marker.delete({ ifGenerationMatch: gen + 1 })), 412);
    assert.equal(await status(marker.delete({ ifGenerationNotMatch: gen })), 412);
    await marker.save('{"done":3}', { resumable: false, preconditionOpts: { ifGenerationMatch: gen } });
    assert.equal(standIn.getObject(BUCKET, 'pre/marker.json')?.data.toString(), '{"done":3}');
    assert.equal(
      await status(
        bucket
          .file('pre/absent')
          .save('x', { resumable: false, preconditionOpts: { ifMetagenerationMatch: 1 } }),
      ),
      412,
    );
  });

  it('answers 401 for a bad token, without the library retrying', async () => {
    const bad = client('ya29.not-a-token');
    assert.equal(await status(bad.bucket(BUCKET).file('multi/hello.txt').getMetadata()), 401);
    const seen = recorder.of('storage', 'GET');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].status, 401);

    const res = await raw(`/storage/v1/b/${BUCKET}/o`, { auth: false });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    const body = (await res.json()) as { error: { code: number; errors: { reason: string }[] } };
    assert.equal(body.error.errors[0].reason, 'required');
    const invalid = await fetch(`${server.origin}/storage/v1/b/${BUCKET}/o`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(
      ((await invalid.json()) as { error: { errors: { reason: string }[] } }).error.errors[0].reason,
      'authError',
    );
  });

  it('lets the library retry an injected 503', async () => {
    standIn.putObject(BUCKET, 'flaky/x', 'flaky');
    recorder.inject({
      service: 'storage',
      method: 'GET',
      path: '/o/flaky%2Fx',
      status: 503,
      body: googleError(503, 'backendError', 'Backend Error'),
    });
    const [meta] = await client().bucket(BUCKET).file('flaky/x').getMetadata();
    assert.equal(meta.name, 'flaky/x');
    assert.deepEqual(
      recorder.of('storage', 'GET').map((r) => r.status),
      [503, 200],
    );
  });

  it('resumes a chunked upload after an injected 503, querying the session status', async () => {
    const data = bytes(600 * KiB, 11);
    recorder.inject({
      service: 'storage',
      method: 'PUT',
      when: (req) => req.headers['content-range'] === 'bytes 262144-524287/*',
      status: 503,
      body: googleError(503, 'backendError', 'Backend Error'),
    });
    const file = client().bucket(BUCKET).file('resumable/retried.bin');
    const [uri] = await file.createResumableUpload({ preconditionOpts: { ifGenerationMatch: 0 } });
    await pipeline(
      Readable.from([data]),
      file.createWriteStream({
        uri,
        resumable: true,
        chunkSize: 256 * KiB,
        preconditionOpts: { ifGenerationMatch: 0 },
      }),
    );
    assert.deepEqual(standIn.getObject(BUCKET, 'resumable/retried.bin')?.data, data);
    const puts = recorder.of('storage', 'PUT').map((p) => [p.headers['content-range'], p.status]);
    const failed = puts.findIndex(([range, s]) => range === 'bytes 262144-524287/*' && s === 503);
    assert.ok(failed > 0, JSON.stringify(puts));
    assert.deepEqual(puts[failed + 1], ['bytes */*', 308]);
    assert.deepEqual(puts[failed + 2], ['bytes 262144-524287/*', 308]);
    assert.equal(puts.at(-1)![1], 200);
  });
});

describe('StorageStandIn over raw HTTP (the paths curl and gsutil use)', () => {
  it('uploads with uploadType=media and reads back through /storage/v1 and /download', async () => {
    const up = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=raw%2Fx.txt`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'raw body',
    });
    assert.equal(up.status, 200);
    const r = (await up.json()) as { name: string; size: string; crc32c: string };
    assert.equal(r.name, 'raw/x.txt');
    assert.equal(r.size, '8');
    assert.equal(r.crc32c, crc32cBase64(Buffer.from('raw body')));

    const media = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Fx.txt?alt=media`);
    assert.equal(media.status, 200);
    assert.equal(media.headers.get('content-type'), 'text/plain');
    assert.match(media.headers.get('x-goog-hash') ?? '', /^crc32c=[^,]+,md5=/);
    assert.equal(await media.text(), 'raw body');
    const dl = await raw(`/download/storage/v1/b/${BUCKET}/o/raw%2Fx.txt?alt=media`);
    assert.equal(await dl.text(), 'raw body');
    // Unencoded slashes in the object name work too.
    assert.equal(await (await raw(`/storage/v1/b/${BUCKET}/o/raw/x.txt?alt=media`)).text(), 'raw body');
    const list = (await (await raw(`/storage/v1/b/${BUCKET}/o?prefix=raw/`)).json()) as {
      items: { name: string }[];
    };
    assert.deepEqual(
      list.items.map((i) => i.name),
      ['raw/x.txt'],
    );
  });

  it('serves suffix and open ranges, and 416 when unsatisfiable', async () => {
    standIn.putObject(BUCKET, 'raw/range', '0123456789');
    const tail = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Frange?alt=media`, {
      headers: { range: 'bytes=-3' },
    });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), 'bytes 7-9/10');
    assert.equal(await tail.text(), '789');
    const open = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Frange?alt=media`, {
      headers: { range: 'bytes=4-100' },
    });
    assert.equal(open.headers.get('content-range'), 'bytes 4-9/10');
    assert.equal(await open.text(), '456789');
    const bad = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Frange?alt=media`, {
      headers: { range: 'bytes=10-' },
    });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), 'bytes */10');
    const missing = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Fnope?alt=media`);
    assert.equal(missing.status, 404);
  });

  it('runs a resumable session as curl would: no auth on the PUTs, status queries, final commit', async () => {
    const start = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=raw%2Fres.bin`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'x-upload-content-type': 'application/x-tar',
      },
      body: JSON.stringify({ metadata: { from: 'curl' } }),
    });
    assert.equal(start.status, 200);
    const location = start.headers.get('location')!;
    assert.match(
      location,
      /^http:\/\/127\.0\.0\.1:\d+\/upload\/storage\/v1\/b\/bed-results\/o\?.*upload_id=/,
    );
    const data = bytes(256 * KiB + 6, 5);
    const put = (range: string, body?: Buffer): Promise<Response> =>
      fetch(location, { method: 'PUT', headers: { 'content-range': range }, body });

    const empty = await put('bytes */*');
    assert.equal(empty.status, 308);
    assert.equal(empty.headers.get('range'), null);
    const tooSmall = await put('bytes 0-9/*', data.subarray(0, 10));
    assert.equal(tooSmall.status, 400);
    const first = await put(`bytes 0-${256 * KiB - 1}/*`, data.subarray(0, 256 * KiB));
    assert.equal(first.status, 308);
    assert.equal(first.headers.get('range'), `bytes=0-${256 * KiB - 1}`);
    const query = await put('bytes */*');
    assert.equal(query.headers.get('range'), `bytes=0-${256 * KiB - 1}`);
    const last = await put(`bytes ${256 * KiB}-${data.length - 1}/${data.length}`, data.subarray(256 * KiB));
    assert.equal(last.status, 200);
    const r = (await last.json()) as { name: string; contentType: string; metadata: Record<string, string> };
    assert.equal(r.contentType, 'application/x-tar');
    assert.deepEqual(r.metadata, { from: 'curl' });
    assert.deepEqual(standIn.getObject(BUCKET, 'raw/res.bin')?.data, data);
    const again = await put(`bytes */${data.length}`);
    assert.equal(again.status, 200);
    const unknown = await fetch(location.replace(/upload_id=[^&]+/, 'upload_id=bogus'), {
      method: 'PUT',
      headers: { 'content-range': 'bytes */*' },
    });
    assert.equal(unknown.status, 404);
  });

  it('rejects client hashes that do not match the data', async () => {
    const good = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=raw%2Fh`, {
      method: 'POST',
      headers: { 'x-goog-hash': `crc32c=${crc32cBase64(Buffer.from('abc'))},md5=${md5(Buffer.from('abc'))}` },
      body: 'abc',
    });
    assert.equal(good.status, 200);
    const bad = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=raw%2Fh`, {
      method: 'POST',
      headers: { 'x-goog-hash': `crc32c=AAAAAA==` },
      body: 'abd',
    });
    assert.equal(bad.status, 400);
    const err = (await bad.json()) as { error: { message: string; errors: { reason: string }[] } };
    assert.equal(err.error.errors[0].reason, 'invalid');
    assert.match(err.error.message, /^Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C/);

    const boundary = 'b0undary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n` +
          JSON.stringify({ name: 'raw/mp', md5Hash: md5(Buffer.from('other')) }) +
          `\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\n`,
      ),
      Buffer.from('data'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const mp = await raw(`/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`, {
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}` },
      body,
    });
    assert.equal(mp.status, 400);
    assert.match(((await mp.json()) as { error: { message: string } }).error.message, /^Provided MD5 hash/);
    assert.equal(standIn.getObject(BUCKET, 'raw/mp'), undefined);
  });

  it('answers a read with a failed NotMatch precondition with 304', async () => {
    const r = standIn.putObject(BUCKET, 'raw/etag', 'x');
    const res = await raw(
      `/storage/v1/b/${BUCKET}/o/raw%2Fetag?alt=media&ifGenerationNotMatch=${r.generation}`,
    );
    assert.equal(res.status, 304);
    const ok = await raw(`/storage/v1/b/${BUCKET}/o/raw%2Fetag?alt=media&ifGenerationMatch=${r.generation}`);
    assert.equal(await ok.text(), 'x');
  });

  it('records every request', async () => {
    await raw(`/storage/v1/b/${BUCKET}`);
    const [rec] = recorder.of('storage');
    assert.equal(rec.method, 'GET');
    assert.equal(rec.path, `/storage/v1/b/${BUCKET}`);
    assert.equal(rec.status, 200);
  });
});
