/**
 * Stores a run's source snapshot in Cloud Storage once, however many launches ask for it at the same time: the
 * first takes the snapshot's lock (created with ifGenerationMatch=0), builds and uploads the archive and writes
 * the manifest; the others wait for the manifest. A lock whose holder died is taken over once it is stale.
 */
import { rm } from 'node:fs/promises';
import type { Storage } from '@google-cloud/storage';
import type { Clock } from '../clock.ts';
import { GcpError, classifyError, httpStatus } from '../gcp/errors.ts';
import { createObjectOnce } from '../gcp/objects.ts';
import type { RunLocation } from '../layout.ts';
import type { SourceManifest } from './snapshot.ts';
import { SOURCE_SCHEMA, manifestText, parseManifest, sourceObjects } from './snapshot.ts';

/** An archive built on this machine, ready to upload. */
export interface BuiltArchive {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly unpackedBytes: number;
  readonly repository: string;
  readonly commit: string;
  readonly origin: SourceManifest['origin'];
  readonly dirty: boolean;
  /** Remove the file once uploaded (a temporary download). */
  readonly temporary?: boolean;
}

/** What stageSource needs, injected. */
export interface StageOptions {
  readonly storage: Storage;
  readonly location: RunLocation;
  /** The manifest key: commitKey(sha) or treeKey(sha256). */
  readonly key: string;
  /** Builds the archive; called only by the launch that holds the lock. */
  readonly build: () => Promise<BuiltArchive>;
  readonly clock: Clock;
  readonly log: (message: string) => void;
  /** Who holds the lock, for the lock's content and messages. */
  readonly holder: string;
  /** A lock older than this is a dead holder's (default 15 minutes). */
  readonly staleLockMs?: number;
  /** How often a waiting launch looks for the manifest (default 3 s). */
  readonly pollMs?: number;
  /** How long a launch waits for another's upload before it gives up (default 30 minutes). */
  readonly maxWaitMs?: number;
}

/** The snapshot's manifest, and whether this call uploaded the archive. */
export interface StagedSource {
  readonly manifest: SourceManifest;
  readonly uploaded: boolean;
}

/** Makes sure the run's snapshot for `key` is in the bucket; returns its manifest. */
export async function stageSource(opts: StageOptions): Promise<StagedSource> {
  const { storage, location, key, clock } = opts;
  const names = sourceObjects(location);
  const bucket = storage.bucket(location.bucket);
  const manifestName = names.manifest(key);
  const lockName = names.lock(key);
  const staleMs = opts.staleLockMs ?? 15 * 60_000;
  const pollMs = opts.pollMs ?? 3000;
  const deadline = clock.now() + (opts.maxWaitMs ?? 30 * 60_000);
  const where = (name: string) => `gs://${location.bucket}/${name}`;

  const readManifest = async (): Promise<SourceManifest | undefined> => {
    try {
      const [data] = await bucket.file(manifestName).download();
      return parseManifest(data.toString('utf8'), where(manifestName));
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      if (err instanceof Error && !('code' in err)) throw err;
      throw new GcpError(`read ${where(manifestName)}`, classifyError(err));
    }
  };

  const createOnce = (name: string, text: string): Promise<string | undefined> =>
    createObjectOnce(bucket, name, text);

  const removeLock = async (generation: string): Promise<void> => {
    try {
      await bucket.file(lockName).delete(generation ? { ifGenerationMatch: Number(generation) } : {});
    } catch (err) {
      const status = httpStatus(err);
      if (status !== 404 && status !== 412)
        throw new GcpError(`delete ${where(lockName)}`, classifyError(err));
    }
  };

  let announced = false;
  for (;;) {
    const existing = await readManifest();
    if (existing) return { manifest: existing, uploaded: false };
    const lockText = JSON.stringify({ holder: opts.holder, at: new Date(clock.now()).toISOString() });
    const generation = await createOnce(lockName, lockText);
    if (generation !== undefined) {
      try {
        // The lock may be free because its holder just finished: its manifest is then there to use.
        const done = await readManifest();
        if (done) return { manifest: done, uploaded: false };
        const manifest = await buildAndUpload(opts);
        return { manifest, uploaded: true };
      } finally {
        await removeLock(generation);
      }
    }
    // Someone else is building it: wait for the manifest, or for their lock to go stale.
    if (!announced) {
      opts.log(
        `Another launch of this run is uploading the source snapshot; waiting for ${where(manifestName)}.`,
      );
      announced = true;
    }
    let lockMeta: { generation?: string | number; timeCreated?: string } | undefined;
    try {
      [lockMeta] = await bucket.file(lockName).getMetadata();
    } catch (err) {
      if (httpStatus(err) !== 404) throw new GcpError(`read ${where(lockName)}`, classifyError(err));
    }
    const created = Date.parse(String(lockMeta?.timeCreated ?? ''));
    if (lockMeta && Number.isFinite(created) && clock.now() - created > staleMs) {
      opts.log(`The source snapshot's lock ${where(lockName)} is stale (its holder stopped); taking over.`);
      await removeLock(String(lockMeta.generation ?? ''));
      continue;
    }
    if (clock.now() >= deadline) {
      throw new Error(
        `the source snapshot ${where(manifestName)} did not appear within ${Math.round((opts.maxWaitMs ?? 1_800_000) / 60_000)} minutes ` +
          `while another launch held ${where(lockName)}`,
      );
    }
    if (lockMeta) await clock.sleep(pollMs);
  }

  async function buildAndUpload(o: StageOptions): Promise<SourceManifest> {
    const built = await o.build();
    try {
      const objectName = names.archive(built.sha256);
      o.log(
        `Uploading the source snapshot of ${built.commit.slice(0, 12)} (${(built.size / 1e6).toFixed(1)} MB, sha256 ${built.sha256.slice(0, 12)}) to ${where(objectName)}.`,
      );
      try {
        await bucket.upload(built.file, {
          destination: objectName,
          resumable: false,
          contentType: 'application/gzip',
          preconditionOpts: { ifGenerationMatch: 0 },
        });
      } catch (err) {
        // Named by its content: an archive already there is this one.
        if (httpStatus(err) !== 412) throw new GcpError(`upload ${where(objectName)}`, classifyError(err));
      }
      const manifest: SourceManifest = {
        schema: SOURCE_SCHEMA,
        repository: built.repository,
        commit: built.commit,
        origin: built.origin,
        dirty: built.dirty,
        object: objectName,
        sha256: built.sha256,
        size: built.size,
        unpackedBytes: built.unpackedBytes,
        createdAt: new Date(o.clock.now()).toISOString(),
      };
      if ((await createOnce(manifestName, manifestText(manifest))) === undefined) {
        return (await readManifest()) ?? manifest;
      }
      return manifest;
    } finally {
      if (built.temporary) await rm(built.file, { force: true });
    }
  }
}
