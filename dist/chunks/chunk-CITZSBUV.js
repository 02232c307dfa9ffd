import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  GcpError,
  classifyError,
  httpStatus
} from "./chunk-POAYJMSU.js";
import {
  ConfigurationError,
  EXPERIMENT_ID,
  parseAuthInputs,
  runPrefix
} from "./chunk-4TDRVGQU.js";

// src/report/inputs.ts
import path from "node:path";

// src/report/compare.ts
function baselineOf(data, opts) {
  const experiments = {};
  for (const e of data.experiments) {
    if (e.status === "succeeded" && Object.keys(e.metrics).length > 0) {
      experiments[e.id] = { metrics: { ...e.metrics } };
    }
  }
  return {
    schema: 1,
    ref: opts.ref,
    sha: opts.sha,
    runId: data.runId,
    recordedAt: opts.recordedAt.toISOString(),
    experiments
  };
}
function parseBaseline(text) {
  try {
    const v = JSON.parse(text);
    if (!v || v.schema !== 1 || !v.experiments || typeof v.experiments !== "object") return void 0;
    return {
      schema: 1,
      ref: String(v.ref ?? ""),
      sha: String(v.sha ?? ""),
      runId: String(v.runId ?? ""),
      recordedAt: String(v.recordedAt ?? ""),
      experiments: v.experiments
    };
  } catch {
    return void 0;
  }
}
function parseDirections(text) {
  const out = /* @__PURE__ */ new Map();
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (!item) continue;
    const i = item.lastIndexOf(":");
    const dir = i > 0 ? item.slice(i + 1).trim().toLowerCase() : "";
    if (dir !== "higher" && dir !== "lower") {
      throw new Error(`metrics: "${item}" must be name:higher or name:lower`);
    }
    out.set(item.slice(0, i).trim(), dir);
  }
  return out;
}
function verdictOf(baseline, current, direction, thresholdPercent) {
  const delta = current - baseline;
  const percent = baseline === 0 ? delta === 0 ? 0 : void 0 : delta / Math.abs(baseline) * 100;
  const beyond = percent === void 0 ? delta !== 0 : Math.abs(percent) > thresholdPercent;
  if (!beyond) return { percent, verdict: "unchanged" };
  if (!direction) return { percent, verdict: "changed" };
  const better = direction === "higher" ? delta > 0 : delta < 0;
  return { percent, verdict: better ? "improved" : "regressed" };
}
function compare(data, baseline, directions, thresholdPercent) {
  const deltas = [];
  let added = 0;
  const seen = /* @__PURE__ */ new Set();
  for (const e of data.experiments) {
    if (e.status !== "succeeded") continue;
    const base = Object.hasOwn(baseline.experiments, e.id) ? baseline.experiments[e.id] : void 0;
    if (!base || !base.metrics || typeof base.metrics !== "object") {
      if (Object.keys(e.metrics).length > 0) added += 1;
      continue;
    }
    seen.add(e.id);
    for (const [metric, current] of Object.entries(e.metrics)) {
      const b = Object.hasOwn(base.metrics, metric) ? base.metrics[metric] : void 0;
      if (typeof b !== "number" || !Number.isFinite(b)) continue;
      const direction = directions.get(metric);
      const { percent, verdict } = verdictOf(b, current, direction, thresholdPercent);
      deltas.push({
        experiment: e.id,
        metric,
        baseline: b,
        current,
        delta: current - b,
        percent,
        direction,
        verdict
      });
    }
  }
  const regressions = deltas.filter((d) => d.verdict === "regressed");
  return {
    deltas,
    regressions,
    improvements: deltas.filter((d) => d.verdict === "improved").length,
    notInRun: Object.keys(baseline.experiments).filter((id) => !seen.has(id)).length,
    new: added
  };
}

// src/report/inputs.ts
var obj = (v) => v && typeof v === "object" && !Array.isArray(v) ? v : {};
var str = (v) => typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
var REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
function prNumberOf(event) {
  const p = event.payload;
  let n;
  if (event.name === "pull_request" || event.name === "pull_request_target") n = obj(p.pull_request).number;
  else if (event.name === "issue_comment" && obj(p.issue).pull_request) n = obj(p.issue).number;
  else if (event.name === "workflow_dispatch") n = obj(p.inputs)["pr-number"];
  else if (event.name === "workflow_run") {
    const prs = obj(p.workflow_run).pull_requests;
    if (Array.isArray(prs) && prs.length === 1) n = obj(prs[0]).number;
  }
  const v = Number(n);
  return Number.isInteger(v) && v > 0 ? v : void 0;
}
function markerKey(text) {
  return text.replace(/[^A-Za-z0-9._/ -]/g, "-").replace(/\s+/g, "-").replace(/-{2,}/g, "-").slice(0, 100) || "default";
}
function markerLine(key) {
  return `<!-- gce-matrix-report: ${markerKey(key)} -->`;
}
function parseReportInputs(read, env, event, workspace = process.cwd()) {
  const p = event.payload;
  const run = obj(p.workflow_run);
  const fromRun = event.name === "workflow_run";
  const originEvent = fromRun ? str(run.event) : event.name;
  const repo = obj(p.repository);
  const defaultBranch = str(repo.default_branch) || "main";
  const branch = fromRun ? str(run.head_branch) : (env.GITHUB_REF ?? "").replace(/^refs\/heads\//, "");
  const mode = read("baseline").trim().toLowerCase() || "auto";
  if (!["auto", "record", "compare", "none"].includes(mode)) {
    throw new ConfigurationError(
      `input baseline must be auto, record, compare or none (got ${JSON.stringify(mode)})`
    );
  }
  const onDefault = branch === defaultBranch;
  const baseline = mode !== "auto" ? mode : (originEvent === "schedule" || originEvent === "push") && onDefault ? "record" : "compare";
  const prRaw = read("pr-number").trim();
  let prNumber;
  if (prRaw) {
    prNumber = Number(prRaw);
    if (!Number.isInteger(prNumber) || prNumber < 1) {
      throw new ConfigurationError(
        `input pr-number must be a pull request number (got ${JSON.stringify(prRaw)})`
      );
    }
  } else {
    prNumber = prNumberOf(event);
  }
  const prBase = str(obj(obj(p.pull_request).base).ref);
  const baselineRef = read("baseline-ref").trim() || (baseline === "record" ? branch || defaultBranch : prBase || defaultBranch);
  if (!REF.test(baselineRef) || baselineRef.includes("..")) {
    throw new ConfigurationError(`input baseline-ref ${JSON.stringify(baselineRef)} is not a branch name`);
  }
  const bucket = read("bucket").trim().replace(/^gs:\/\//, "").replace(/\/+$/, "") || void 0;
  if (baseline !== "none" && !bucket) {
    throw new ConfigurationError(
      `input bucket is required to ${baseline} a baseline (or set baseline: none)`
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const project = read("project").trim() || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || env.GCLOUD_PROJECT || void 0;
  if (baseline !== "none" && !project) {
    throw new ConfigurationError("input project is required for baselines (or set GOOGLE_CLOUD_PROJECT)");
  }
  const pivotRaw = read("pivot").trim();
  const pivot = pivotRaw ? pivotRaw.split(",").map((s) => s.trim()) : void 0;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `input pivot must be one or two axis names, rows,columns (got ${JSON.stringify(pivotRaw)})`
    );
  }
  const centre = read("centre").trim().toLowerCase() || "median";
  if (centre !== "median" && centre !== "mean") {
    throw new ConfigurationError(
      `input centre must be median (the default: with a distribution-free interval) or mean (with a t interval); got ${JSON.stringify(centre)}`
    );
  }
  let directions;
  try {
    directions = parseDirections(read("metrics"));
  } catch (err) {
    throw new ConfigurationError(`input ${err.message}`);
  }
  const thresholdRaw = read("regression-threshold").trim() || "5";
  const thresholdPercent = Number(thresholdRaw.replace(/%$/, ""));
  if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0) {
    throw new ConfigurationError(
      `input regression-threshold must be a percentage of 0 or more (got ${JSON.stringify(thresholdRaw)})`
    );
  }
  const commentRaw = read("comment").trim().toLowerCase() || "true";
  if (commentRaw !== "true" && commentRaw !== "false") {
    throw new ConfigurationError(`input comment must be true or false (got ${JSON.stringify(commentRaw)})`);
  }
  const title = read("title").trim() || "gce-matrix report";
  const runIdInput = read("run-id").trim() || void 0;
  const repository = env.GITHUB_REPOSITORY ?? str(repo.full_name);
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const runUrl = `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID ?? ""}`;
  const originRunId = fromRun ? str(run.id) : env.GITHUB_RUN_ID ?? "";
  const workflowName = fromRun ? str(run.name) || str(obj(p.workflow).name) : env.GITHUB_WORKFLOW || "";
  return {
    path: path.resolve(workspace, read("path").trim() || "gce-matrix-results"),
    bucket,
    prefix: (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, ""),
    runId: runIdInput,
    project,
    workloadIdentityProvider,
    serviceAccount,
    baseline,
    baselineRef,
    sha: (fromRun ? str(run.head_sha) : env.GITHUB_SHA) || "",
    pivot,
    centre,
    directions,
    thresholdPercent,
    prNumber,
    githubToken: read("github-token").trim(),
    comment: commentRaw === "true",
    title,
    markerKey: markerKey(`${workflowName || "workflow"}/${title}`),
    repository,
    apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""),
    runUrl,
    artifactUrl: `${server}/${repository}/actions/runs/${originRunId}#artifacts`
  };
}

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
function str2(o, key, name, pattern) {
  const v = o[key];
  if (typeof v !== "string" || pattern && !pattern.test(v)) {
    throw new Error(`${name} is corrupt (${key} is ${v === void 0 ? "missing" : "not valid"})`);
  }
  return v;
}
function time(o, key, name) {
  const v = str2(o, key, name);
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
    title: str2(o, "title", name),
    markerKey: str2(o, "markerKey", name),
    pivot,
    directions,
    thresholdPercent: threshold,
    baseline,
    baselineRef: str2(o, "baselineRef", name),
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
      runId: str2(o, "runId", name, RUN_ID),
      repository: str2(o, "repository", name, /^[^/\s]+\/[^/\s]+$/),
      sha: str2(o, "sha", name),
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
      runId: str2(o, "runId", name, RUN_ID),
      experiment: str2(o, "experiment", name, EXPERIMENT_ID),
      project: str2(o, "project", name),
      zone: str2(o, "zone", name, ZONE),
      instance: str2(o, "instance", name, INSTANCE),
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
    owner: str2(o, "owner", name),
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

// src/gcp/objects.ts
async function createObjectOnce(bucket, name, text) {
  const file = bucket.file(name);
  try {
    await file.save(text, {
      resumable: false,
      contentType: "application/json",
      preconditionOpts: { ifGenerationMatch: 0 }
    });
    return String(file.metadata.generation ?? "");
  } catch (err) {
    if (httpStatus(err) === 412) return void 0;
    throw new GcpError(`write gs://${bucket.name}/${name}`, classifyError(err));
  }
}

// src/gcp/run-store.ts
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
    const generation = await createObjectOnce(this.storage.bucket(this.bucket), name, text);
    return { created: generation !== void 0, generation: generation ?? "" };
  }
  /** The object's text and generation, or undefined when it does not exist. */
  async read(name) {
    try {
      const [meta] = await this.file(name).getMetadata();
      const generation = String(meta.generation ?? "");
      const [data] = await this.storage.bucket(this.bucket).file(name, generation ? { generation: Number(generation) } : {}).download();
      return { text: data.toString("utf8"), generation };
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

export {
  baselineOf,
  parseBaseline,
  parseDirections,
  compare,
  markerKey,
  markerLine,
  parseReportInputs,
  RECORD_SCHEMA,
  detachedRecord,
  runRecordFromEnv,
  createObjectOnce,
  RunStore
};
