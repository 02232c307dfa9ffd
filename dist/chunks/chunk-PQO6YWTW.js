import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  estimateCostUsd
} from "./chunk-NRMHQSIR.js";
import {
  mapLimited
} from "./chunk-M3JD4Y6G.js";
import {
  summarize
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  gsUri,
  runPrefix
} from "./chunk-F4TJMFJC.js";

// src/collect/manifest.ts
function countClass(status) {
  if (status === "succeeded") return "succeeded";
  if (status === "missing" || status === "unfinished" || status === "lost") return "missing";
  return "failed";
}
var INFRASTRUCTURE_PROBLEMS = ["checksum", "download"];
var STATUSES = [
  "succeeded",
  "failed",
  "preempted",
  "error",
  "unfinished",
  "missing",
  "corrupt",
  "lost"
];
function countExperiments(experiments) {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const classes = { succeeded: 0, failed: 0, missing: 0 };
  let files = 0;
  let bytes = 0;
  let problems = 0;
  for (const e of experiments) {
    byStatus[e.status] += 1;
    classes[countClass(e.status)] += 1;
    files += e.files.length;
    for (const f of e.files) bytes += f.size;
    problems += e.problems.filter((p) => p.kind !== "renamed").length;
  }
  return { experiments: experiments.length, ...classes, byStatus, files, bytes, problems };
}
function buildManifest(opts) {
  const experiments = [...opts.experiments].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const prefix = runPrefix(opts.location);
  const counts = countExperiments(experiments);
  const problems = opts.problems ?? [];
  return {
    schema: 1,
    runId: opts.location.runId,
    bucket: opts.location.bucket,
    prefix,
    source: gsUri(opts.location.bucket, prefix),
    collectedAt: opts.collectedAt.toISOString(),
    counts: { ...counts, problems: counts.problems + problems.length },
    experiments,
    problems
  };
}
function markLost(manifest, lost) {
  const experiments = manifest.experiments.map((e) => {
    const l = lost.get(e.id);
    if (!l || e.state !== null || e.status === "corrupt") return e;
    return { ...e, status: "lost", reason: l.reason, files: [...e.files, ...l.files ?? []] };
  });
  for (const [id, l] of lost) {
    if (experiments.some((e) => e.id === id)) continue;
    experiments.push({
      id,
      dir: l.dir,
      status: "lost",
      state: null,
      exitCode: null,
      attempts: null,
      reason: l.reason,
      planned: null,
      files: [...l.files ?? []],
      problems: []
    });
  }
  experiments.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const counts = countExperiments(experiments);
  return {
    ...manifest,
    experiments,
    counts: { ...counts, problems: counts.problems + manifest.problems.length }
  };
}
function statusFields(status, opts) {
  if (status) {
    return {
      status: status.state,
      state: status.state,
      exitCode: typeof status.exitCode === "number" ? status.exitCode : null,
      attempts: status.attempt,
      ...typeof status.reason === "string" ? { reason: status.reason } : {},
      ...typeof status.startedAt === "string" ? { startedAt: status.startedAt } : {},
      ...typeof status.endedAt === "string" ? { endedAt: status.endedAt } : {},
      ...status.provenance && typeof status.provenance === "object" ? { provenance: status.provenance } : {}
    };
  }
  const attempts = opts.heartbeat?.attempt ?? opts.lastAttempt ?? null;
  return {
    status: opts.corrupt ? "corrupt" : opts.anyObjects ? "unfinished" : "missing",
    state: null,
    exitCode: null,
    attempts,
    ...opts.heartbeat ? { heartbeat: opts.heartbeat } : {}
  };
}
function checkDeclaredOutputs(declared, present, outputsPrefix) {
  const problems = [];
  for (const d of declared) {
    if (!d || typeof d.path !== "string") continue;
    const size = present.get(d.path);
    if (size === void 0) {
      problems.push({
        kind: "missing-output",
        object: `${outputsPrefix}${d.path}`,
        message: `status.json lists outputs/${d.path}, but the bucket does not hold it`
      });
    } else if (typeof d.size === "number" && d.size !== size) {
      problems.push({
        kind: "missing-output",
        object: `${outputsPrefix}${d.path}`,
        message: `status.json lists outputs/${d.path} with ${d.size} bytes, but the bucket holds ${size}`
      });
    }
  }
  return problems;
}
function parseHeartbeat(text) {
  try {
    const v = JSON.parse(text);
    if (v && typeof v.attempt === "number" && typeof v.at === "string" && typeof v.phase === "string") {
      return { attempt: v.attempt, at: v.at, phase: v.phase };
    }
  } catch {
  }
  return void 0;
}

// src/report/load.ts
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
var MAX_MANIFEST = 256 * 1024 * 1024;
var MAX_METRICS = 1024 * 1024;
var LOG_TAIL_BYTES = 4096;
function insideRoot(root, relative) {
  if (typeof relative !== "string" || relative.includes("\0") || path.isAbsolute(relative)) return void 0;
  const full = path.resolve(root, relative);
  const rel = path.relative(root, full);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? full : void 0;
}
async function readBounded(file, max, tail = false) {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return void 0;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return void 0;
    if (!tail && st.size > max) return void 0;
    const length = Math.min(st.size, max);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, tail ? st.size - length : 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}
async function readManifest(root) {
  const file = path.join(root, "manifest.json");
  const text = await readBounded(file, MAX_MANIFEST);
  if (text === void 0) {
    throw new ConfigurationError(
      `input path: ${file} is missing (or not a regular file); point path at the directory actions/collect wrote (or the downloaded artifact)`
    );
  }
  let m;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(`${file} is not valid JSON: ${err.message}`);
  }
  if (!m || m.schema !== 1 || !Array.isArray(m.experiments)) {
    throw new ConfigurationError(`${file} is not a gce-matrix manifest (schema 1 with experiments)`);
  }
  const experiments = m.experiments.filter(
    (x) => !!x && typeof x === "object" && typeof x.id === "string" && typeof x.status === "string"
  );
  return { ...m, experiments };
}
var FILE_READS_IN_FLIGHT = 16;
async function readExperimentFiles(root, manifest) {
  const out = /* @__PURE__ */ new Map();
  await mapLimited(manifest.experiments, FILE_READS_IN_FLIGHT, async (x) => {
    const files = {};
    const names = new Set(
      (Array.isArray(x.files) ? x.files : []).map((f) => f?.path)
    );
    const dir = typeof x.dir === "string" ? x.dir : x.id;
    const metricsName = `${dir}/outputs/metrics.json`;
    const metricsPath = names.has(metricsName) ? insideRoot(root, metricsName) : void 0;
    if (metricsPath) {
      const text = await readBounded(metricsPath, MAX_METRICS);
      try {
        const v = text === void 0 ? void 0 : JSON.parse(text);
        if (v && typeof v === "object" && !Array.isArray(v)) files.metrics = v;
      } catch {
      }
    }
    const logName = `${dir}/log.txt`;
    const logPath = x.status !== "succeeded" && names.has(logName) ? insideRoot(root, logName) : void 0;
    if (logPath) {
      const tail = await readBounded(logPath, LOG_TAIL_BYTES, true);
      if (tail !== void 0) files.logTail = tail;
    }
    const serialName = `${dir}/serial.txt`;
    const serialPath = x.status !== "succeeded" && names.has(serialName) ? insideRoot(root, serialName) : void 0;
    if (serialPath) {
      const tail = await readBounded(serialPath, LOG_TAIL_BYTES, true);
      if (tail !== void 0) files.serialTail = tail;
    }
    out.set(x.id, files);
  });
  return out;
}

// src/report/model.ts
function metricLabel(metric, info) {
  const unit = info?.get(metric)?.unit;
  return unit ? `${metric} (${unit})` : metric;
}
function paramText(v) {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "";
}
function durationSeconds(start, end) {
  if (!start || !end) return void 0;
  const s = Date.parse(start);
  const e = Date.parse(end);
  return Number.isFinite(s) && Number.isFinite(e) && e >= s ? (e - s) / 1e3 : void 0;
}
function numericMetrics(raw) {
  const out = {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
function toReportExperiment(e, files = {}) {
  const rawParams = e.params ?? e.provenance?.parameters ?? {};
  const params = {};
  if (rawParams && typeof rawParams === "object") {
    for (const [k, v] of Object.entries(rawParams)) params[k] = paramText(v);
  }
  const seconds = durationSeconds(e.startedAt, e.endedAt);
  const machineType = e.provenance?.machineType;
  const packing = packingOf(e.provenance?.placement);
  const share = packing ? 1 / packing.members : 1;
  const costUsd = seconds !== void 0 && typeof machineType === "string" ? estimateCostUsd(machineType, [], e.provenance?.spot === true, seconds) * share : void 0;
  return {
    id: e.id,
    status: e.status,
    attempts: e.attempts,
    zone: typeof e.provenance?.zone === "string" ? e.provenance.zone : void 0,
    durationSeconds: seconds,
    costUsd,
    params,
    metrics: numericMetrics(files.metrics),
    reason: e.reason,
    logTail: files.logTail,
    serialTail: files.serialTail,
    problems: (e.problems ?? []).filter((p) => p.kind !== "renamed").map((p) => `${String(p.kind)}: ${String(p.message)}`),
    commit: commitOf(e.provenance?.sourceCommit) ?? commitOf(e.provenance?.repoSha),
    vm: typeof e.provenance?.instance === "string" ? e.provenance.instance : void 0,
    packing
  };
}
function packingOf(placement) {
  if (!placement || typeof placement !== "object") return void 0;
  const p = placement;
  if (p.packed !== true || typeof p.members !== "number" || !Number.isInteger(p.members) || p.members < 1) {
    return void 0;
  }
  const neighbours = Array.isArray(p.neighbours) ? p.neighbours.filter((n) => typeof n === "string") : [];
  return { members: p.members, neighbours, cpus: typeof p.cpus === "string" ? p.cpus : void 0 };
}
function totalsOf(experiments) {
  const t = {
    experiments: 0,
    succeeded: 0,
    failed: 0,
    missing: 0,
    lost: 0,
    costUsd: 0,
    vmHours: 0,
    retries: 0
  };
  let packed = 0;
  let mostPerVm = 0;
  const vms = /* @__PURE__ */ new Set();
  for (const e of experiments) {
    t.experiments += 1;
    if (e.status === "lost") t.lost += 1;
    t[countClass(e.status)] += 1;
    t.costUsd += e.costUsd ?? 0;
    t.vmHours += (e.durationSeconds ?? 0) / 3600 / (e.packing?.members ?? 1);
    if (e.attempts && e.attempts > 1) t.retries += e.attempts - 1;
    if (e.packing) {
      packed += 1;
      if (e.vm) vms.add(e.vm);
      mostPerVm = Math.max(mostPerVm, e.packing.members);
    }
  }
  return packed > 0 ? { ...t, packed: { experiments: packed, vms: vms.size, mostPerVm } } : t;
}
function metricNames(experiments) {
  const names = /* @__PURE__ */ new Set();
  for (const e of experiments) for (const k of Object.keys(e.metrics)) names.add(k);
  return [...names];
}
function paramNames(experiments) {
  const names = /* @__PURE__ */ new Set();
  for (const e of experiments) for (const k of Object.keys(e.params)) names.add(k);
  return [...names].sort((a, b) => Number(a === "seed") - Number(b === "seed"));
}
var collator = new Intl.Collator("en", { numeric: true });
function byText(a, b) {
  return collator.compare(a, b);
}
function chooseAxes(experiments, requested) {
  if (requested && requested.length > 0) return { rows: requested[0], columns: requested[1] };
  const names = paramNames(experiments).filter((n) => n !== "seed");
  return names.length > 0 ? { rows: names[0], columns: names[1] } : void 0;
}
function pivotOf(experiments, metric, rowAxis, columnAxis, centre = "median") {
  const columnSet = /* @__PURE__ */ new Set();
  const byRow = /* @__PURE__ */ new Map();
  for (const e of experiments) {
    const value = e.metrics[metric];
    if (value === void 0) continue;
    const r = e.params[rowAxis] ?? "";
    const c = columnAxis === void 0 ? "" : e.params[columnAxis] ?? "";
    columnSet.add(c);
    let row = byRow.get(r);
    if (!row) {
      row = /* @__PURE__ */ new Map();
      byRow.set(r, row);
    }
    const s = row.get(c);
    if (s) {
      s.sum += value;
      s.n += 1;
      s.values.push(value);
    } else {
      row.set(c, { sum: value, n: 1, values: [value] });
    }
  }
  const rows = [...byRow.keys()].sort(byText);
  const columns = [...columnSet].sort(byText);
  const cells = rows.map(
    (r) => columns.map((c) => {
      const s = byRow.get(r)?.get(c);
      return s ? { mean: s.sum / s.n, n: s.n, values: s.values, summary: summarize(s.values, { centre }) } : void 0;
    })
  );
  return { metric, rowAxis, columnAxis, rows, columns, cells };
}
function reportData(manifest, files) {
  const experiments = manifest.experiments.map((e) => toReportExperiment(e, files.get(e.id)));
  return {
    runId: String(manifest.runId),
    source: String(manifest.source),
    experiments,
    totals: totalsOf(experiments),
    metrics: metricNames(experiments),
    commits: commitsOf(experiments),
    unplanned: (manifest.problems ?? []).filter((p) => p.kind === "unplanned").map(
      (p) => String(p.object ?? "").replace(/\/$/, "").split("/").pop() ?? ""
    )
  };
}
function commitOf(v) {
  return typeof v === "string" && /^[0-9a-f]{7,64}$/.test(v) ? v : void 0;
}
function commitsOf(experiments) {
  const n = /* @__PURE__ */ new Map();
  for (const x of experiments) if (x.commit) n.set(x.commit, (n.get(x.commit) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c]) => c);
}

export {
  countClass,
  INFRASTRUCTURE_PROBLEMS,
  buildManifest,
  markLost,
  statusFields,
  checkDeclaredOutputs,
  parseHeartbeat,
  metricLabel,
  toReportExperiment,
  paramNames,
  chooseAxes,
  pivotOf,
  reportData,
  readManifest,
  readExperimentFiles
};
