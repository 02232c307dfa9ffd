import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  prNumberOf
} from "./chunk-6VDLVWI7.js";
import {
  runPrefix
} from "./chunk-MI7TKXA3.js";
import {
  GcpError,
  classifyError
} from "./chunk-3Y5IHQFX.js";
import {
  EXPERIMENT_ID
} from "./chunk-JWPEKFU6.js";
import {
  ConfigurationError,
  getState,
  saveState
} from "./chunk-I5G4NHP3.js";

// src/record.ts
var RECORD_SCHEMA = 1;
var RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
var ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
var INSTANCE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
function runRecordObjects(loc) {
  const base = runPrefix(loc);
  return {
    run: `${base}run.json`,
    detachedPrefix: `${base}detached/`,
    detached: (experimentId) => `${base}detached/${experimentId}.json`,
    lock: `${base}report.lock`,
    reported: `${base}reported.json`
  };
}
function pendingRunsPrefix(prefix) {
  const head = prefix.replace(/^\/+|\/+$/g, "");
  return `${head ? `${head}/` : ""}detached-runs/`;
}
function pendingRunObject(prefix, runId) {
  return `${pendingRunsPrefix(prefix)}${runId}.json`;
}
function runIdOfPendingObject(prefix, name) {
  const base = pendingRunsPrefix(prefix);
  if (!name.startsWith(base) || !name.endsWith(".json")) return void 0;
  const id = name.slice(base.length, -".json".length);
  return RUN_ID.test(id) ? id : void 0;
}
function bad(reason) {
  return { ok: false, reason };
}
function envelope(text, name) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`${name} is corrupt (not JSON: ${err.message})`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return bad(`${name} is corrupt (not a JSON object)`);
  }
  const o = value;
  if (typeof o.schema !== "number" || !Number.isInteger(o.schema) || o.schema < 1) {
    return bad(`${name} is corrupt (no schema number)`);
  }
  if (o.schema > RECORD_SCHEMA) {
    return bad(
      `${name} was written by a newer gce-matrix (schema ${o.schema}; this one reads schema ${RECORD_SCHEMA}): upgrade the watcher`
    );
  }
  return { ok: true, value: o };
}
function str(o, key, name, pattern) {
  const v = o[key];
  if (typeof v !== "string" || pattern && !pattern.test(v)) {
    throw new Error(`${name} is corrupt (${key} is ${v === void 0 ? "missing" : "not valid"})`);
  }
  return v;
}
function time(o, key, name) {
  const v = str(o, key, name);
  if (!Number.isFinite(Date.parse(v))) throw new Error(`${name} is corrupt (${key} is not a time)`);
  return v;
}
function guard(name, fn) {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return bad(err.message || `${name} is corrupt`);
  }
}
function parseReportSettings(v, name) {
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${name} is corrupt (report)`);
  const o = v;
  const directions = {};
  const rawDirections = o.directions && typeof o.directions === "object" ? o.directions : {};
  for (const [k, d] of Object.entries(rawDirections)) {
    if (d === "higher" || d === "lower") directions[k] = d;
  }
  const baseline = o.baseline;
  if (baseline !== "record" && baseline !== "compare" && baseline !== "none") {
    throw new Error(`${name} is corrupt (report.baseline)`);
  }
  const pivot = Array.isArray(o.pivot) && o.pivot.every((p) => typeof p === "string") ? o.pivot : null;
  const threshold = typeof o.thresholdPercent === "number" && o.thresholdPercent >= 0 ? o.thresholdPercent : 5;
  return {
    title: str(o, "title", name),
    markerKey: str(o, "markerKey", name),
    pivot,
    directions,
    thresholdPercent: threshold,
    baseline,
    baselineRef: str(o, "baselineRef", name),
    comment: o.comment !== false
  };
}
function parseRunRecord(text, name) {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => {
    const pr = o.prNumber;
    if (pr !== null && pr !== void 0 && !(typeof pr === "number" && Number.isInteger(pr) && pr > 0)) {
      throw new Error(`${name} is corrupt (prNumber is not a pull request number)`);
    }
    let experiments;
    if (o.experiments !== void 0) {
      if (!Array.isArray(o.experiments) || !o.experiments.every((x) => typeof x === "string" && EXPERIMENT_ID.test(x))) {
        throw new Error(`${name} is corrupt (experiments is not a list of experiment ids)`);
      }
      experiments = o.experiments;
    }
    return {
      schema: RECORD_SCHEMA,
      runId: str(o, "runId", name, RUN_ID),
      repository: str(o, "repository", name, /^[^/\s]+\/[^/\s]+$/),
      sha: str(o, "sha", name),
      ref: typeof o.ref === "string" ? o.ref : "",
      event: typeof o.event === "string" ? o.event : "",
      prNumber: typeof pr === "number" ? pr : null,
      workflow: typeof o.workflow === "string" ? o.workflow : "",
      githubRunId: typeof o.githubRunId === "string" ? o.githubRunId : "",
      createdAt: time(o, "createdAt", name),
      ...experiments ? { experiments } : {},
      ...o.report !== void 0 ? { report: parseReportSettings(o.report, name) } : {}
    };
  });
}
function parseDetachedRecord(text, name) {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => {
    const attempt = o.attempt;
    if (typeof attempt !== "number" || !Number.isInteger(attempt) || attempt < 1) {
      throw new Error(`${name} is corrupt (attempt is not a whole number)`);
    }
    const reason = o.reason === "handover" ? "handover" : "detach";
    return {
      schema: RECORD_SCHEMA,
      runId: str(o, "runId", name, RUN_ID),
      experiment: str(o, "experiment", name, EXPERIMENT_ID),
      project: str(o, "project", name),
      zone: str(o, "zone", name, ZONE),
      instance: str(o, "instance", name, INSTANCE),
      attempt,
      reason,
      machineType: typeof o.machineType === "string" ? o.machineType : "",
      createdAt: time(o, "createdAt", name),
      deadline: time(o, "deadline", name),
      detachedAt: time(o, "detachedAt", name)
    };
  });
}
function parseLockRecord(text, name) {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => ({
    schema: RECORD_SCHEMA,
    owner: str(o, "owner", name),
    at: time(o, "at", name),
    purpose: o.purpose === "partial" ? "partial" : "final"
  }));
}
function detachedRecord(opts) {
  return {
    schema: RECORD_SCHEMA,
    runId: opts.location.runId,
    experiment: opts.experiment,
    project: opts.project,
    zone: opts.zone,
    instance: opts.instance,
    attempt: opts.attempt,
    reason: opts.reason,
    machineType: opts.machineType,
    createdAt: new Date(opts.createdAt).toISOString(),
    deadline: new Date(opts.createdAt + opts.ttlSeconds * 1e3).toISOString(),
    detachedAt: new Date(opts.detachedAt).toISOString()
  };
}
function runRecordFromEnv(opts) {
  const { env } = opts;
  return {
    schema: RECORD_SCHEMA,
    runId: opts.runId,
    repository: env.GITHUB_REPOSITORY || "local/local",
    sha: env.GITHUB_SHA ?? "",
    ref: env.GITHUB_REF ?? "",
    event: opts.event.name,
    prNumber: prNumberOf(opts.event) ?? null,
    workflow: env.GITHUB_WORKFLOW ?? "",
    githubRunId: env.GITHUB_RUN_ID ?? "",
    createdAt: new Date(opts.now).toISOString()
  };
}
function recordText(record) {
  return `${JSON.stringify(record, null, 2)}
`;
}

// src/gcp/run-store.ts
function httpStatus(err) {
  const code = err?.code;
  return typeof code === "number" ? code : void 0;
}
var RunStore = class {
  storage;
  bucket;
  prefix;
  constructor(storage, bucket, prefix) {
    this.storage = storage;
    this.bucket = bucket;
    this.prefix = prefix;
  }
  location(runId) {
    return { bucket: this.bucket, prefix: this.prefix, runId };
  }
  file(name) {
    return this.storage.bucket(this.bucket).file(name);
  }
  /** Creates `name` unless it exists; true when this call created it. */
  async createOnce(name, text) {
    const file = this.file(name);
    try {
      await file.save(text, {
        resumable: false,
        contentType: "application/json",
        preconditionOpts: { ifGenerationMatch: 0 }
      });
      return { created: true, generation: String(file.metadata.generation ?? "") };
    } catch (err) {
      if (httpStatus(err) === 412) return { created: false, generation: "" };
      throw new GcpError(`write gs://${this.bucket}/${name}`, classifyError(err));
    }
  }
  /** The object's text and generation, or undefined when it does not exist. */
  async read(name) {
    const file = this.file(name);
    try {
      const [data] = await file.download();
      return { text: data.toString("utf8"), generation: String(file.metadata.generation ?? "") };
    } catch (err) {
      if (httpStatus(err) === 404) return void 0;
      throw new GcpError(`read gs://${this.bucket}/${name}`, classifyError(err));
    }
  }
  async exists(name) {
    try {
      const [exists] = await this.file(name).exists();
      return exists;
    } catch (err) {
      throw new GcpError(`look up gs://${this.bucket}/${name}`, classifyError(err));
    }
  }
  async remove(name, generation) {
    try {
      await this.file(name).delete(generation ? { ifGenerationMatch: Number(generation) } : {});
      return true;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404 || status === 412) return false;
      throw new GcpError(`delete gs://${this.bucket}/${name}`, classifyError(err));
    }
  }
  async names(prefix) {
    try {
      const [files] = await this.storage.bucket(this.bucket).getFiles({ prefix });
      return files.map((f) => f.name).sort();
    } catch (err) {
      throw new GcpError(`list gs://${this.bucket}/${prefix}`, classifyError(err));
    }
  }
  /** Writes run.json unless it exists (the first writer wins); true when written now. */
  async createRun(record) {
    const { created } = await this.createOnce(
      runRecordObjects(this.location(record.runId)).run,
      recordText(record)
    );
    return created;
  }
  /** run.json of a run: undefined when there is none, else parsed or why it cannot be read. */
  async readRun(runId) {
    const name = runRecordObjects(this.location(runId)).run;
    const got = await this.read(name);
    if (!got) return void 0;
    return { record: parseRunRecord(got.text, `gs://${this.bucket}/${name}`), generation: got.generation };
  }
  /**
   * Changes run.json with `change` (creating it from `fallback` when absent), guarded by the generation read:
   * a concurrent writer makes it read again. A corrupt or newer run.json is left alone (false).
   */
  async updateRun(runId, fallback, change) {
    const name = runRecordObjects(this.location(runId)).run;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readRun(runId);
      if (current && !current.record.ok) return false;
      const next = change(current?.record.ok ? current.record.value : fallback);
      const file = this.file(name);
      try {
        await file.save(recordText(next), {
          resumable: false,
          contentType: "application/json",
          preconditionOpts: { ifGenerationMatch: current ? Number(current.generation) : 0 }
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
  async writeDetached(record) {
    const name = runRecordObjects(this.location(record.runId)).detached(record.experiment);
    try {
      await this.file(name).save(recordText(record), { resumable: false, contentType: "application/json" });
    } catch (err) {
      throw new GcpError(`write gs://${this.bucket}/${name}`, classifyError(err));
    }
  }
  /** One experiment's detached record, when it has one. */
  async readDetached(runId, experiment) {
    const name = runRecordObjects(this.location(runId)).detached(experiment);
    const got = await this.read(name);
    return got ? parseDetachedRecord(got.text, `gs://${this.bucket}/${name}`) : void 0;
  }
  /** Every detached record of a run, parsed (or why not), by object name. */
  async listDetached(runId) {
    const prefix = runRecordObjects(this.location(runId)).detachedPrefix;
    const out = [];
    for (const name of await this.names(prefix)) {
      if (!name.endsWith(".json") || name.slice(prefix.length).includes("/")) continue;
      const got = await this.read(name);
      if (got) out.push({ name, record: parseDetachedRecord(got.text, `gs://${this.bucket}/${name}`) });
    }
    return out;
  }
  /** Adds the run to the watcher's index (once). */
  async markPending(runId, now) {
    const record = { schema: RECORD_SCHEMA, runId, at: new Date(now).toISOString() };
    await this.createOnce(pendingRunObject(this.prefix, runId), recordText(record));
  }
  /** Run ids in the watcher's index, and index objects that name no run. */
  async pendingRuns() {
    const runIds = [];
    const foreign = [];
    for (const name of await this.names(pendingRunsPrefix(this.prefix))) {
      const id = runIdOfPendingObject(this.prefix, name);
      if (id) runIds.push(id);
      else foreign.push(name);
    }
    return { runIds, foreign };
  }
  /** Removes the run from the watcher's index. */
  async clearPending(runId) {
    await this.remove(pendingRunObject(this.prefix, runId));
  }
  /** Takes the run's report lock; undefined when someone else holds it. */
  async claim(runId, lock) {
    const r = await this.createOnce(runRecordObjects(this.location(runId)).lock, recordText(lock));
    return r.created ? { generation: r.generation } : void 0;
  }
  /** The lock as it stands, when held. */
  async readLock(runId) {
    const name = runRecordObjects(this.location(runId)).lock;
    const got = await this.read(name);
    return got ? { generation: got.generation, record: parseLockRecord(got.text, `gs://${this.bucket}/${name}`) } : void 0;
  }
  /** Releases a lock, only if it is still the generation given (never someone else's). */
  async release(runId, generation) {
    return this.remove(runRecordObjects(this.location(runId)).lock, generation);
  }
  /** True once the run's final report is out. */
  async isReported(runId) {
    return this.exists(runRecordObjects(this.location(runId)).reported);
  }
  /** Marks the run reported (once). */
  async markReported(runId, record) {
    await this.createOnce(runRecordObjects(this.location(runId)).reported, recordText(record));
  }
};

// src/launch/state.ts
var KEY = "gce-matrix-launch";
function saveLaunchState(state) {
  saveState(KEY, JSON.stringify(state));
}
function readLaunchState() {
  const raw = getState(KEY);
  if (!raw) return void 0;
  try {
    return JSON.parse(raw);
  } catch {
    return void 0;
  }
}

// src/launch/zones.ts
async function withZones(settings, compute) {
  if (settings.zones.length > 0) return settings;
  const zones = await compute.zonesOfRegion(settings.region ?? "");
  if (zones.length === 0) {
    throw new ConfigurationError(
      `input region ${settings.region ?? ""} has no zone that is UP in project ${settings.project}; list zones instead`
    );
  }
  return { ...settings, zones };
}

export {
  detachedRecord,
  runRecordFromEnv,
  RunStore,
  saveLaunchState,
  readLaunchState,
  withZones
};
