/**
 * Reads and writes the run records of src/record.ts in Cloud Storage. Every write is a single-request upload
 * with a generation precondition: `ifGenerationMatch: 0` creates an object only if it does not exist, which is
 * what makes "written once" and the report lock hold between concurrent writers.
 */
import type { Storage } from '@google-cloud/storage';
import type { RunLocation } from '../layout.ts';
import type {
  DetachedRecord,
  LockRecord,
  Parsed,
  PendingRunRecord,
  ReportedRecord,
  RunRecord,
} from '../record.ts';
import {
  RECORD_SCHEMA,
  parseDetachedRecord,
  parseLockRecord,
  parseRunRecord,
  pendingRunObject,
  pendingRunsPrefix,
  recordText,
  runIdOfPendingObject,
  runRecordObjects,
} from '../record.ts';
import { GcpError, classifyError, httpStatus } from './errors.ts';
import { createObjectOnce } from './objects.ts';

/** A lock this process holds: release it with its generation. */
export interface HeldLock {
  readonly generation: string;
}

/** A lock someone holds, as read. */
export interface LockState {
  readonly generation: string;
  readonly record: Parsed<LockRecord>;
}

/** The run records of one bucket and prefix. */
export class RunStore {
  private readonly storage: Storage;
  readonly bucket: string;
  readonly prefix: string;

  constructor(storage: Storage, bucket: string, prefix: string) {
    this.storage = storage;
    this.bucket = bucket;
    this.prefix = prefix;
  }

  private location(runId: string): RunLocation {
    return { bucket: this.bucket, prefix: this.prefix, runId };
  }

  private file(name: string) {
    return this.storage.bucket(this.bucket).file(name);
  }

  /** Creates `name` unless it exists; true when this call created it. */
  private async createOnce(name: string, text: string): Promise<{ created: boolean; generation: string }> {
    const generation = await createObjectOnce(this.storage.bucket(this.bucket), name, text);
    return { created: generation !== undefined, generation: generation ?? '' };
  }

  /** The object's text and generation, or undefined when it does not exist. */
  private async read(name: string): Promise<{ text: string; generation: string } | undefined> {
    try {
      const [meta] = await this.file(name).getMetadata();
      const generation = String(meta.generation ?? '');
      // The generation read is the one downloaded, so a guarded write after it cannot lose a newer one.
      const [data] = await this.storage
        .bucket(this.bucket)
        .file(name, generation ? { generation: Number(generation) } : {})
        .download();
      return { text: data.toString('utf8'), generation };
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw new GcpError(`read gs://${this.bucket}/${name}`, classifyError(err));
    }
  }

  private async exists(name: string): Promise<boolean> {
    try {
      const [exists] = await this.file(name).exists();
      return exists;
    } catch (err) {
      throw new GcpError(`look up gs://${this.bucket}/${name}`, classifyError(err));
    }
  }

  private async remove(name: string, generation?: string): Promise<boolean> {
    try {
      await this.file(name).delete(generation ? { ifGenerationMatch: Number(generation) } : {});
      return true;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404 || status === 412) return false;
      throw new GcpError(`delete gs://${this.bucket}/${name}`, classifyError(err));
    }
  }

  private async names(prefix: string): Promise<string[]> {
    try {
      const [files] = await this.storage.bucket(this.bucket).getFiles({ prefix });
      return files.map((f) => f.name).sort();
    } catch (err) {
      throw new GcpError(`list gs://${this.bucket}/${prefix}`, classifyError(err));
    }
  }

  /** Writes run.json unless it exists (the first writer wins); true when written now. */
  async createRun(record: RunRecord): Promise<boolean> {
    const { created } = await this.createOnce(
      runRecordObjects(this.location(record.runId)).run,
      recordText(record),
    );
    return created;
  }

  /** run.json of a run: undefined when there is none, else parsed or why it cannot be read. */
  async readRun(runId: string): Promise<{ record: Parsed<RunRecord>; generation: string } | undefined> {
    const name = runRecordObjects(this.location(runId)).run;
    const got = await this.read(name);
    if (!got) return undefined;
    return { record: parseRunRecord(got.text, `gs://${this.bucket}/${name}`), generation: got.generation };
  }

  /**
   * Changes run.json with `change` (creating it from `fallback` when absent), guarded by the generation read:
   * a concurrent writer makes it read again. A corrupt or newer run.json is left alone (false).
   */
  async updateRun(
    runId: string,
    fallback: RunRecord,
    change: (current: RunRecord) => RunRecord,
  ): Promise<boolean> {
    const name = runRecordObjects(this.location(runId)).run;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readRun(runId);
      if (current && !current.record.ok) return false;
      const next = change(current?.record.ok ? current.record.value : fallback);
      const file = this.file(name);
      try {
        await file.save(recordText(next), {
          resumable: false,
          contentType: 'application/json',
          preconditionOpts: { ifGenerationMatch: current ? Number(current.generation) : 0 },
        });
        return true;
      } catch (err) {
        if (httpStatus(err) !== 412 || attempt >= 5) {
          throw new GcpError(`write gs://${this.bucket}/${name}`, classifyError(err));
        }
      }
    }
  }

  /** Writes an experiment's detached record (replacing an earlier one: a re-run detaches again). */
  async writeDetached(record: DetachedRecord): Promise<void> {
    const name = runRecordObjects(this.location(record.runId)).detached(record.experiment);
    try {
      await this.file(name).save(recordText(record), { resumable: false, contentType: 'application/json' });
    } catch (err) {
      throw new GcpError(`write gs://${this.bucket}/${name}`, classifyError(err));
    }
  }

  /** One experiment's detached record, when it has one. */
  async readDetached(runId: string, experiment: string): Promise<Parsed<DetachedRecord> | undefined> {
    const name = runRecordObjects(this.location(runId)).detached(experiment);
    const got = await this.read(name);
    return got ? parseDetachedRecord(got.text, `gs://${this.bucket}/${name}`) : undefined;
  }

  /** Every detached record of a run, parsed (or why not), by object name. */
  async listDetached(runId: string): Promise<{ name: string; record: Parsed<DetachedRecord> }[]> {
    const prefix = runRecordObjects(this.location(runId)).detachedPrefix;
    const out: { name: string; record: Parsed<DetachedRecord> }[] = [];
    for (const name of await this.names(prefix)) {
      if (!name.endsWith('.json') || name.slice(prefix.length).includes('/')) continue;
      const got = await this.read(name);
      if (got) out.push({ name, record: parseDetachedRecord(got.text, `gs://${this.bucket}/${name}`) });
    }
    return out;
  }

  /** Adds the run to the watcher's index (once). */
  async markPending(runId: string, now: number): Promise<void> {
    const record: PendingRunRecord = { schema: RECORD_SCHEMA, runId, at: new Date(now).toISOString() };
    await this.createOnce(pendingRunObject(this.prefix, runId), recordText(record));
  }

  /** Run ids in the watcher's index, and index objects that name no run. */
  async pendingRuns(): Promise<{ runIds: string[]; foreign: string[] }> {
    const runIds: string[] = [];
    const foreign: string[] = [];
    for (const name of await this.names(pendingRunsPrefix(this.prefix))) {
      const id = runIdOfPendingObject(this.prefix, name);
      if (id) runIds.push(id);
      else foreign.push(name);
    }
    return { runIds, foreign };
  }

  /** Removes the run from the watcher's index. */
  async clearPending(runId: string): Promise<void> {
    await this.remove(pendingRunObject(this.prefix, runId));
  }

  /** Takes the run's report lock; undefined when someone else holds it. */
  async claim(runId: string, lock: LockRecord): Promise<HeldLock | undefined> {
    const r = await this.createOnce(runRecordObjects(this.location(runId)).lock, recordText(lock));
    return r.created ? { generation: r.generation } : undefined;
  }

  /** The lock as it stands, when held. */
  async readLock(runId: string): Promise<LockState | undefined> {
    const name = runRecordObjects(this.location(runId)).lock;
    const got = await this.read(name);
    return got
      ? { generation: got.generation, record: parseLockRecord(got.text, `gs://${this.bucket}/${name}`) }
      : undefined;
  }

  /** Releases a lock, only if it is still the generation given (never someone else's). */
  async release(runId: string, generation: string): Promise<boolean> {
    return this.remove(runRecordObjects(this.location(runId)).lock, generation);
  }

  /** True once the run's final report is out. */
  async isReported(runId: string): Promise<boolean> {
    return this.exists(runRecordObjects(this.location(runId)).reported);
  }

  /** Marks the run reported (once). */
  async markReported(runId: string, record: ReportedRecord): Promise<void> {
    await this.createOnce(runRecordObjects(this.location(runId)).reported, recordText(record));
  }
}
