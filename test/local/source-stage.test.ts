import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { startLocalCloud } from '../../src/local/cloud.ts';
import type { LocalCloud } from '../../src/local/cloud.ts';
import { LOCAL_BUCKET } from '../../src/local/settings.ts';
import { commitKey, sourceObjects } from '../../src/source/snapshot.ts';
import type { BuiltArchive } from '../../src/source/stage.ts';
import { stageSource } from '../../src/source/stage.ts';

const COMMIT = '1'.repeat(40);

/**
 * The snapshot is stored once per run and commit, whatever the number of launches asking at once, through the
 * real Cloud Storage client against the local bucket server.
 */
describe('stageSource', () => {
  let dir: string;
  let cloud: LocalCloud;
  let n = 0;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-stage-'));
    cloud = await startLocalCloud(path.join(dir, 'bucket'));
  });
  after(async () => {
    await cloud.close();
    await rm(dir, { recursive: true, force: true });
  });

  const archive = async (text: string): Promise<BuiltArchive> => {
    const file = path.join(dir, `a-${++n}.tar.gz`);
    await writeFile(file, text);
    const { createHash } = await import('node:crypto');
    return {
      file,
      sha256: createHash('sha256').update(text).digest('hex'),
      size: text.length,
      unpackedBytes: text.length * 2,
      repository: 'o/r',
      commit: COMMIT,
      origin: 'github',
      dirty: false,
    };
  };
  const location = (runId: string) => ({ bucket: LOCAL_BUCKET, prefix: 'gce-matrix', runId });
  const fastClock = { now: () => Date.now(), sleep: (ms: number) => systemClock.sleep(Math.min(ms, 50)) };

  it('eight launches at once: one build, one upload, the same manifest for all', async () => {
    let builds = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        stageSource({
          storage: cloud.storageClient,
          location: location('r1'),
          key: commitKey(COMMIT),
          build: async () => {
            builds++;
            await systemClock.sleep(200);
            return archive('snapshot bytes');
          },
          clock: fastClock,
          log: () => undefined,
          holder: `e${i}`,
        }),
      ),
    );
    assert.equal(builds, 1);
    assert.equal(results.filter((r) => r.uploaded).length, 1);
    assert.equal(new Set(results.map((r) => JSON.stringify(r.manifest))).size, 1);
    const m = results[0].manifest;
    const stored = await readFile(path.join(dir, 'bucket', m.object));
    assert.equal(stored.toString(), 'snapshot bytes');
    assert.equal(m.commit, COMMIT);
    // the lock is gone once the manifest is written
    const names = sourceObjects(location('r1'));
    const [lockThere] = await cloud.storageClient
      .bucket(LOCAL_BUCKET)
      .file(names.lock(commitKey(COMMIT)))
      .exists();
    assert.equal(lockThere, false);
  });

  it('a holder that fails releases the lock; the next launch builds it', async () => {
    const first = stageSource({
      storage: cloud.storageClient,
      location: location('r2'),
      key: commitKey(COMMIT),
      build: async () => {
        await systemClock.sleep(100);
        throw new Error('tarball download failed');
      },
      clock: fastClock,
      log: () => undefined,
      holder: 'first',
    });
    await systemClock.sleep(20);
    const second = stageSource({
      storage: cloud.storageClient,
      location: location('r2'),
      key: commitKey(COMMIT),
      build: () => archive('second try'),
      clock: fastClock,
      log: () => undefined,
      holder: 'second',
    });
    await assert.rejects(first, /tarball download failed/);
    const got = await second;
    assert.equal(got.uploaded, true);
  });

  it('a lock whose holder died is taken over once stale; a wait that outlasts its limit says why', async () => {
    const names = sourceObjects(location('r3'));
    await cloud.storageClient
      .bucket(LOCAL_BUCKET)
      .file(names.lock(commitKey(COMMIT)))
      .save('{"holder":"dead"}', { resumable: false });
    const lines: string[] = [];
    await assert.rejects(
      stageSource({
        storage: cloud.storageClient,
        location: location('r3'),
        key: commitKey(COMMIT),
        build: () => archive('never'),
        clock: fastClock,
        log: (l) => lines.push(l),
        holder: 'waiter',
        maxWaitMs: 300,
      }),
      /did not appear within 0 minutes while another launch held/,
    );
    assert.match(lines.join('\n'), /Another launch of this run is uploading the source snapshot/);
    const took = await stageSource({
      storage: cloud.storageClient,
      location: location('r3'),
      key: commitKey(COMMIT),
      build: () => archive('after takeover'),
      clock: fastClock,
      log: (l) => lines.push(l),
      holder: 'taker',
      staleLockMs: 0,
    });
    assert.equal(took.uploaded, true);
    assert.match(lines.join('\n'), /is stale \(its holder stopped\); taking over/);
  });
});
