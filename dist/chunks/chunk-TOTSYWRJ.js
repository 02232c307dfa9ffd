import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  gsUri,
  runPrefix
} from "./chunk-4TDRVGQU.js";

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

export {
  countClass,
  INFRASTRUCTURE_PROBLEMS,
  buildManifest,
  markLost,
  statusFields,
  checkDeclaredOutputs,
  parseHeartbeat
};
