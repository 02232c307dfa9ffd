import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { BedClock } from './clock.ts';
import { BedServer, Recorder, googleError } from './http.ts';
import { StorageStandIn } from './storage.ts';
import { TokenRegistry } from './tokens.ts';

// What the emulator does is tested in test/emulator/storage.test.ts; here: what the bed adds to it.

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

async function status(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code;
  }
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

describe('the storage stand-in: the emulator behind the bed tokens, with recording and faults', () => {
  it('checks tokens: 401 without one (not retried by the library), 401 for an unknown or expired one', async () => {
    standIn.putObject(BUCKET, 'auth/x', 'x');
    assert.equal(await status(client('ya29.not-a-token').bucket(BUCKET).file('auth/x').getMetadata()), 401);
    assert.deepEqual(
      recorder.of('storage', 'GET').map((r) => r.status),
      [401],
    );
    const anonymous = await fetch(`${server.origin}/storage/v1/b/${BUCKET}/o`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
    const body = (await anonymous.json()) as { error: { message: string; errors: { reason: string }[] } };
    assert.equal(body.error.errors[0].reason, 'required');
    assert.match(body.error.message, /^Anonymous caller does not have storage\.objects\.list access/);
    const invalid = await fetch(`${server.origin}/storage/v1/b/${BUCKET}/o`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(
      ((await invalid.json()) as { error: { errors: { reason: string }[] } }).error.errors[0].reason,
      'authError',
    );

    const clock = new BedClock();
    const shortLived = new TokenRegistry(clock);
    const expiring = shortLived.issue({ subject: 'user:x', scopes: [], kind: 'federated' }).token;
    const other = new StorageStandIn({ clock, tokens: shortLived });
    other.createBucket(BUCKET);
    const otherServer = await new BedServer('storage-2', recorder, other.handle).listen();
    try {
      const get = () =>
        fetch(`${otherServer.origin}/storage/v1/b/${BUCKET}`, {
          headers: { authorization: `Bearer ${expiring}` },
        });
      assert.equal((await get()).status, 200);
      shortLived.expireAll();
      assert.equal((await get()).status, 401);
    } finally {
      await otherServer.close();
    }
  });

  it('sees the library start resumable uploads without a token on a custom endpoint (401)', async () => {
    // save/createWriteStream drop useAuthWithCustomEndpoint when they start the session: the POST is anonymous.
    const file = client().bucket(BUCKET).file('resumable/anonymous.bin');
    assert.equal(await status(file.save(randomBytes(KiB), { resumable: true })), 401);
    const [start] = recorder.of('storage', 'POST');
    assert.equal(start.query.uploadType, 'resumable');
    assert.equal(start.headers.authorization, undefined);
    assert.equal(start.status, 401);
    // With a session started with the token, its requests need none.
    const [uri] = await file.createResumableUpload();
    await file.save(randomBytes(KiB), { uri, resumable: true });
    assert.ok(recorder.of('storage', 'PUT').every((p) => p.headers.authorization === undefined));
    assert.equal(standIn.getObject(BUCKET, 'resumable/anonymous.bin')?.data.length, KiB);
  });

  it('serves every request when tokens are not required: the library default resumable path end to end', async () => {
    const open = new StorageStandIn({ clock: new BedClock(), tokens, requireAuth: false });
    open.createBucket(BUCKET);
    const openServer = await new BedServer('storage-open', recorder, open.handle).listen();
    process.env.STORAGE_EMULATOR_HOST = openServer.origin;
    try {
      const file = client().bucket(BUCKET).file('plain/save.bin');
      const data = randomBytes(300 * KiB);
      await file.save(data);
      assert.deepEqual(open.getObject(BUCKET, 'plain/save.bin')?.data, data);
      assert.deepEqual((await file.download())[0], data);
    } finally {
      process.env.STORAGE_EMULATOR_HOST = server.origin;
      await openServer.close();
    }
  });

  it('reads and writes objects directly for tests, alongside the clients', async () => {
    assert.equal(standIn.createBucket(BUCKET).name, BUCKET, 'creating an existing bucket returns it');
    const put = standIn.putObject(BUCKET, 'direct/a.json', '{"a":1}', {
      contentType: 'application/json',
      metadata: { k: 'v' },
    });
    assert.equal(put.contentType, 'application/json');
    assert.deepEqual(put.metadata, { k: 'v' });
    const [meta] = await client().bucket(BUCKET).file('direct/a.json').getMetadata();
    assert.deepEqual([meta.generation, meta.md5Hash, meta.crc32c], [put.generation, put.md5Hash, put.crc32c]);
    // The library drops /storage/v1 for JSON calls when STORAGE_EMULATOR_HOST is set; every call is recorded.
    assert.deepEqual(
      recorder.of('storage', 'GET').map((r) => [r.path, r.status]),
      [[`/b/${BUCKET}/o/direct%2Fa.json`, 200]],
    );

    await client().bucket(BUCKET).file('direct/b.txt').save('b', { resumable: false });
    const got = standIn.getObject(BUCKET, 'direct/b.txt');
    assert.equal(got?.data.toString(), 'b');
    assert.equal(got?.resource.selfLink, `${server.origin}/storage/v1/b/${BUCKET}/o/direct%2Fb.txt`);
    assert.deepEqual(
      standIn.listObjects(BUCKET, 'direct/').map((o) => o.name),
      ['direct/a.json', 'direct/b.txt'],
    );
    assert.ok(
      Number(standIn.getObject(BUCKET, 'direct/b.txt')!.resource.generation) > Number(put.generation),
    );
    assert.equal(standIn.deleteObject(BUCKET, 'direct/a.json'), true);
    assert.equal(standIn.deleteObject(BUCKET, 'direct/a.json'), false);
    assert.equal(standIn.getObject(BUCKET, 'direct/a.json'), undefined);
    assert.deepEqual(standIn.listObjects('no-such-bucket'), []);

    const before = standIn.openUploads();
    const [uri] = await client().bucket(BUCKET).file('direct/pending').createResumableUpload();
    assert.equal(standIn.openUploads(), before + 1);
    await fetch(uri, { method: 'DELETE' });
    assert.equal(standIn.openUploads(), before);
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
    const data = randomBytes(600 * KiB);
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
