import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ConfigurationError,
  parseAuthInputs
} from "./chunk-I5G4NHP3.js";

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
import path from "node:path";
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

export {
  baselineOf,
  parseBaseline,
  compare,
  prNumberOf,
  markerLine,
  parseReportInputs
};
