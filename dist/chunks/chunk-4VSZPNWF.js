import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  GcpError,
  classifyError
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  experimentObjects,
  parseStatus
} from "./chunk-F4TJMFJC.js";

// src/gcp/results.ts
function isNotFound(err) {
  return classifyError(err).kind === "not-found";
}
var ExperimentResults = class {
  bucket;
  objects;
  counter;
  constructor(storage, location, experimentId, counter) {
    this.bucket = storage.bucket(location.bucket);
    this.objects = experimentObjects(location, experimentId);
    this.counter = counter;
  }
  /**
   * Checks, before any VM exists, that the results bucket is there and reachable: a missing bucket or a missing
   * role is a user error worth stopping for, not something to find after an hour of VM time.
   */
  async checkBucket() {
    this.counter.storage += 1;
    try {
      await this.bucket.getFiles({ prefix: this.objects.base, autoPaginate: false, maxResults: 1 });
    } catch (err) {
      const f = classifyError(err);
      if (f.kind === "not-found") {
        throw new ConfigurationError(
          `input bucket: gs://${this.bucket.name} does not exist; create it (gcloud storage buckets create gs://${this.bucket.name}) or fix the name`
        );
      }
      if (f.kind === "permission" || f.kind === "unauthenticated") {
        throw new ConfigurationError(
          `input bucket: the launching identity cannot list gs://${this.bucket.name} (${f.message}); grant it roles/storage.objectAdmin on the bucket`
        );
      }
      throw new GcpError(`check gs://${this.bucket.name}`, f);
    }
  }
  /** One list request over attempt `attempt`'s folder: which of its status, heartbeat and preemption record exist. */
  async probe(attempt) {
    const names = this.objects.attempt(attempt);
    this.counter.storage += 1;
    try {
      const [files] = await this.bucket.getFiles({
        prefix: names.prefix,
        delimiter: "/",
        autoPaginate: false,
        maxResults: 50
      });
      const generation = (name) => {
        const f = files.find((x) => x.name === name);
        return f ? String(f.metadata.generation ?? "") : void 0;
      };
      return {
        statusGeneration: generation(names.status),
        heartbeatGeneration: generation(names.heartbeat),
        preemptedGeneration: generation(names.preempted)
      };
    } catch (err) {
      throw new GcpError(`list gs://${this.bucket.name}/${names.prefix}`, classifyError(err));
    }
  }
  /**
   * The completion marker (`status.json`), or attempt `attempt`'s own copy of it; undefined when the agent has
   * not written it.
   */
  async readStatus(attempt) {
    const name = attempt === void 0 ? this.objects.status : this.objects.attempt(attempt).status;
    this.counter.storage += 1;
    try {
      const [data] = await this.bucket.file(name).download();
      return parseStatus(data.toString("utf8"), `gs://${this.bucket.name}/${name}`);
    } catch (err) {
      if (isNotFound(err)) return void 0;
      if (err instanceof Error && !("code" in err)) throw err;
      throw new GcpError(`read gs://${this.bucket.name}/${name}`, classifyError(err));
    }
  }
  /** Log chunks of `attempt` whose names sort after `after`, in order, with their text. */
  async newLogChunks(attempt, after) {
    const prefix = this.objects.logs(attempt);
    this.counter.storage += 1;
    const [files] = await this.bucket.getFiles({
      prefix,
      autoPaginate: false,
      maxResults: 100,
      ...after ? { startOffset: `${after}\0` } : {}
    });
    const chunks = [];
    for (const f of files.sort((a, b) => a.name.localeCompare(b.name))) {
      if (after && f.name <= after) continue;
      this.counter.storage += 1;
      try {
        const [data] = await f.download();
        chunks.push({ name: f.name, text: data.toString("utf8") });
      } catch (err) {
        if (!isNotFound(err))
          throw new GcpError(`read gs://${this.bucket.name}/${f.name}`, classifyError(err));
      }
    }
    return chunks;
  }
  /** The highest attempt number with objects under the experiment's `attempts/` (0: none), in one list request. */
  async lastAttempt() {
    const prefix = this.objects.attempts;
    this.counter.storage += 1;
    let prefixes = [];
    try {
      const [, , response] = await this.bucket.getFiles({ prefix, delimiter: "/", autoPaginate: false });
      prefixes = (response?.prefixes ?? []).map(String);
    } catch (err) {
      throw new GcpError(`list gs://${this.bucket.name}/${prefix}`, classifyError(err));
    }
    return Math.max(
      0,
      ...prefixes.map((p) => Number(/attempts\/(\d+)\/$/.exec(p)?.[1] ?? 0)).filter(Number.isSafeInteger)
    );
  }
  /**
   * The highest attempt an earlier run of this experiment left objects for (0: none) and that attempt's status,
   * so a GitHub re-run numbers its attempts after it and never writes into another attempt's objects.
   */
  async previousAttempt() {
    const attempt = await this.lastAttempt();
    if (attempt === 0) return { attempt, status: void 0 };
    try {
      return { attempt, status: await this.readStatus(attempt) };
    } catch (err) {
      if (err instanceof GcpError) throw err;
      return { attempt, status: void 0 };
    }
  }
  /** Deletes the experiment's checkpoint objects (a re-run that starts clean). */
  async clearCheckpoint() {
    this.counter.storage += 1;
    let names;
    try {
      const [files] = await this.bucket.getFiles({ prefix: this.objects.checkpoint });
      names = files.map((f) => f.name);
    } catch (err) {
      throw new GcpError(`list gs://${this.bucket.name}/${this.objects.checkpoint}`, classifyError(err));
    }
    for (const name of names) {
      this.counter.storage += 1;
      try {
        await this.bucket.file(name).delete();
      } catch (err) {
        if (!isNotFound(err))
          throw new GcpError(`delete gs://${this.bucket.name}/${name}`, classifyError(err));
      }
    }
    return names.length;
  }
  /** Removes an earlier run's completion marker, so a fresh start never reads a stale one. */
  async clearMarkers() {
    for (const name of [this.objects.status]) {
      this.counter.storage += 1;
      try {
        await this.bucket.file(name).delete();
      } catch (err) {
        if (!isNotFound(err))
          throw new GcpError(`delete gs://${this.bucket.name}/${name}`, classifyError(err));
      }
    }
  }
};

export {
  ExperimentResults
};
