import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  getOctokit
} from "../chunks/chunk-742LAVGA.js";
import {
  runAction
} from "../chunks/chunk-NZFLOCCC.js";
import {
  SUMMARY_LIMIT,
  baselineOf,
  compare,
  parseBaseline,
  parseDirections,
  readExperimentFiles,
  readManifest,
  renderComment,
  renderReport,
  reportData,
  summaryJson
} from "../chunks/chunk-W3S4RWZG.js";
import "../chunks/chunk-NRMHQSIR.js";
import "../chunks/chunk-Q5QQCR77.js";
import "../chunks/chunk-MI7TKXA3.js";
import {
  connectGcp
} from "../chunks/chunk-66KU2QE3.js";
import "../chunks/chunk-QUTAAEM7.js";
import {
  ConfigurationError,
  getInput,
  info,
  parseAuthInputs,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-USOZTD4I.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/report/main.ts
import { readFile } from "node:fs/promises";

// src/report/baseline.ts
var SHA = /^[0-9a-f]{7,64}$/;
function baselineObjects(prefix, ref, sha) {
  const head = prefix.replace(/^\/+|\/+$/g, "");
  const base = `${head ? `${head}/` : ""}baselines/${encodeURIComponent(ref)}/`;
  return {
    latest: `${base}latest.json`,
    ...sha && SHA.test(sha) ? { bySha: `${base}${sha}.json` } : {}
  };
}
function status(err) {
  const code = err?.code;
  return typeof code === "number" ? code : void 0;
}
async function writeGuarded(storage, bucket, name, text) {
  const file = storage.bucket(bucket).file(name);
  for (let attempt = 1; ; attempt++) {
    let generation = 0;
    try {
      const [meta] = await file.getMetadata();
      generation = Number(meta.generation ?? 0);
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    try {
      await file.save(text, {
        resumable: false,
        contentType: "application/json",
        preconditionOpts: { ifGenerationMatch: generation }
      });
      return;
    } catch (err) {
      if (status(err) !== 412 || attempt >= 3) throw err;
    }
  }
}
async function recordBaseline(storage, bucket, prefix, baseline) {
  const names = baselineObjects(prefix, baseline.ref, baseline.sha);
  const text = JSON.stringify(baseline);
  const written = [];
  if (names.bySha) {
    await writeGuarded(storage, bucket, names.bySha, text);
    written.push(names.bySha);
  }
  await writeGuarded(storage, bucket, names.latest, text);
  written.push(names.latest);
  return written;
}
async function readBaseline(storage, bucket, name) {
  try {
    const [buf] = await storage.bucket(bucket).file(name).download();
    return parseBaseline(buf.toString("utf8"));
  } catch (err) {
    if (status(err) === 404) return void 0;
    throw err;
  }
}
async function findBaseline(storage, bucket, prefix, ref, mergeBase) {
  const names = baselineObjects(prefix, ref, mergeBase);
  if (names.bySha) {
    const b = await readBaseline(storage, bucket, names.bySha);
    if (b) return { baseline: b, which: "merge-base" };
  }
  const latest = await readBaseline(storage, bucket, names.latest);
  return latest ? { baseline: latest, which: "latest" } : void 0;
}

// src/report/comment.ts
async function tokenIdentity(octokit) {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, type: data.type };
  } catch {
    return { login: void 0, type: "Bot" };
  }
}
async function upsertComment(opts) {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split("/");
  const me = await tokenIdentity(octokit);
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: opts.number,
    per_page: 100
  });
  const mine = comments.find(
    (c) => typeof c.body === "string" && c.body.includes(opts.marker) && c.user?.type === me.type && (me.login ? c.user.login === me.login : c.user.login.endsWith("[bot]"))
  );
  if (mine) {
    const { data: data2 } = await octokit.rest.issues.updateComment({
      owner,
      repo,
      comment_id: mine.id,
      body: opts.body
    });
    return { id: data2.id, url: data2.html_url, action: "updated" };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner,
    repo,
    issue_number: opts.number,
    body: opts.body
  });
  return { id: data.id, url: data.html_url, action: "created" };
}
async function pullRequestBase(opts) {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split("/");
  let pr;
  try {
    ({ data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: opts.number }));
  } catch {
    return void 0;
  }
  try {
    const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
      owner,
      repo,
      basehead: `${pr.base.sha}...${pr.head.sha}`,
      per_page: 1
    });
    return { ref: pr.base.ref, mergeBase: data.merge_base_commit.sha };
  } catch {
    return { ref: pr.base.ref, mergeBase: pr.base.sha };
  }
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
  const run2 = obj(p.workflow_run);
  const fromRun = event.name === "workflow_run";
  const originEvent = fromRun ? str(run2.event) : event.name;
  const repo = obj(p.repository);
  const defaultBranch = str(repo.default_branch) || "main";
  const branch = fromRun ? str(run2.head_branch) : (env.GITHUB_REF ?? "").replace(/^refs\/heads\//, "");
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
  const originRunId = fromRun ? str(run2.id) : env.GITHUB_RUN_ID ?? "";
  const workflowName = fromRun ? str(run2.name) || str(obj(p.workflow).name) : env.GITHUB_WORKFLOW || "";
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
    sha: (fromRun ? str(run2.head_sha) : env.GITHUB_SHA) || "",
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

// src/report/main.ts
async function readEvent(env) {
  let payload = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, "utf8"));
    } catch {
    }
  }
  return { name: env.GITHUB_EVENT_NAME ?? "", payload };
}
async function resolveBaseline(s, data, clients, explicitRef) {
  if (s.baseline === "none" || !clients || !s.bucket) return { kind: "off" };
  if (s.baseline === "record") {
    const baseline = baselineOf(data, { ref: s.baselineRef, sha: s.sha, recordedAt: /* @__PURE__ */ new Date() });
    const objects = await recordBaseline(clients.storage, s.bucket, s.prefix, baseline);
    info(
      `Recorded the baseline of ${s.baselineRef} (${Object.keys(baseline.experiments).length} experiment(s)).`
    );
    return { kind: "recorded", ref: s.baselineRef, sha: s.sha, objects };
  }
  let ref = s.baselineRef;
  let mergeBase;
  if (s.prNumber && s.githubToken) {
    const pr = await pullRequestBase({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      number: s.prNumber
    });
    if (pr) {
      if (!explicitRef) ref = pr.ref;
      mergeBase = pr.mergeBase;
    }
  }
  const found = await findBaseline(clients.storage, s.bucket, s.prefix, ref, mergeBase);
  if (!found) return { kind: "none", ref };
  return {
    kind: "compared",
    ref,
    which: found.which,
    baseline: found.baseline,
    comparison: compare(data, found.baseline, s.directions, s.thresholdPercent),
    thresholdPercent: s.thresholdPercent
  };
}
async function run(env = process.env) {
  const event = await readEvent(env);
  const s = parseReportInputs(
    (name) => getInput(name),
    env,
    event,
    env.GITHUB_WORKSPACE || process.cwd()
  );
  const manifest = await readManifest(s.path);
  if (s.runId && s.runId !== String(manifest.runId)) {
    warning(
      `manifest.json is of run ${String(manifest.runId)}, not ${s.runId} (input run-id): reporting it anyway`
    );
  }
  const started = Date.now();
  const data = reportData(manifest, await readExperimentFiles(s.path, manifest));
  let clients;
  if (s.baseline !== "none" && s.project) {
    const connected = connectGcp({
      project: s.project,
      env,
      workloadIdentityProvider: s.workloadIdentityProvider,
      serviceAccount: s.serviceAccount
    });
    clients = connected.clients;
    info(`Authenticating with ${connected.description} for baselines.`);
  }
  let baseline;
  try {
    baseline = await resolveBaseline(s, data, clients, getInput("baseline-ref").trim() !== "");
  } finally {
    await clients?.close();
  }
  const marker = markerLine(s.markerKey);
  const opts = {
    title: s.title,
    pivot: s.pivot,
    directions: s.directions,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl
  };
  let summary2 = renderReport(data, opts);
  if (summary2.length > SUMMARY_LIMIT) summary2 = renderReport(data, opts, 100);
  if (summary2.length > SUMMARY_LIMIT) summary2 = renderComment(data, opts);
  await summary.addRaw(summary2).write();
  const regressions = baseline.kind === "compared" ? baseline.comparison.regressions.length : 0;
  setOutput("summary-json", summaryJson(data, baseline));
  setOutput("regressions", String(regressions));
  info(
    `Rendered ${data.experiments.length} experiment(s), ${data.metrics.length} metric(s) in ${Date.now() - started} ms; ${regressions} regression(s).`
  );
  if (!s.comment) return;
  if (!s.prNumber) {
    info(
      "No pull request for this event (and no pr-number): no comment, the job summary has the report."
    );
    return;
  }
  if (!s.githubToken) {
    warning("No github-token: cannot comment on the pull request; the job summary has the report.");
    return;
  }
  const body = renderComment(data, { ...opts, marker });
  try {
    const c = await upsertComment({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      number: s.prNumber,
      marker,
      body
    });
    setOutput("comment-id", String(c.id));
    setOutput("comment-url", c.url);
    info(
      `${c.action === "created" ? "Created" : "Updated"} the report comment on #${s.prNumber} (${body.length} characters).`
    );
  } catch (err) {
    warning(
      `Could not comment on pull request #${s.prNumber}: ${err.message}. For pull requests from forks, report from a workflow_run workflow (see actions/report/README.md).`
    );
  }
}

// src/report/index.ts
await runAction("report", run);
