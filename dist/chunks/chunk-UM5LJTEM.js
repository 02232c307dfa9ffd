import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  getOctokit
} from "./chunk-SW2PZEV6.js";
import {
  SUMMARY_LIMIT,
  readExperimentFiles,
  readManifest,
  renderComment,
  renderReport,
  reportData,
  summaryJson
} from "./chunk-OGZGP2CU.js";
import {
  baselineOf,
  compare,
  markerLine,
  parseBaseline
} from "./chunk-IROX7BVM.js";

// src/watch/decide.ts
var ENDED = /* @__PURE__ */ new Set(["TERMINATED", "STOPPED", "SUSPENDED", "GONE"]);
function decideExperiment(o, now, graceMs) {
  if (o.status && o.status.attempt >= o.record.attempt) return { kind: "final", state: o.status.state };
  const vm = o.record.instance;
  if (ENDED.has(o.instance)) {
    return {
      kind: "lost",
      reason: o.instance === "GONE" ? `its VM ${vm} vanished without writing a status` : `its VM ${vm} is ${o.instance} without having written a status`
    };
  }
  const deadline = Date.parse(o.record.deadline);
  if (now > deadline + graceMs) {
    return {
      kind: "lost",
      reason: `its VM ${vm} passed its time limit (${o.record.deadline}) without writing a status`
    };
  }
  return { kind: "running", detail: `${vm} is ${o.instance}, time limit ${o.record.deadline}` };
}
function triageRun(opts) {
  if (opts.reported) return { action: "done", reason: `run ${opts.runId} was reported already` };
  if (!opts.run) return { action: "skip", reason: `run ${opts.runId} has no run.json; skipped` };
  if (!opts.run.ok) return { action: "skip", reason: `${opts.run.reason}; skipped` };
  const run = opts.run.value;
  if (run.runId !== opts.runId) {
    return { action: "skip", reason: `run ${opts.runId}: run.json names run ${run.runId}; skipped` };
  }
  if (opts.repository && run.repository.toLowerCase() !== opts.repository.toLowerCase()) {
    return {
      action: "skip",
      reason: `run ${opts.runId} belongs to ${run.repository}, not ${opts.repository}; skipped`
    };
  }
  return { action: "look", run };
}
function decideRun(opts) {
  const { run } = opts;
  const unreadable = opts.detached.filter((d) => !d.record.ok);
  if (unreadable.length > 0) {
    const first = unreadable[0].record;
    return {
      action: "skip",
      reason: `run ${run.runId}: ${unreadable.length} detached record(s) cannot be read (${first.ok ? "" : first.reason}); skipped`
    };
  }
  if (opts.detached.length === 0) {
    return { action: "skip", reason: `run ${run.runId} has no detached experiments; nothing to report` };
  }
  const running = [...opts.verdicts].filter(([, v]) => v.kind === "running").map(([id]) => id);
  if (running.length > 0) {
    return {
      action: "wait",
      reason: `run ${run.runId}: ${running.length} of ${opts.verdicts.size} detached experiment(s) still running (${running.slice(0, 5).join(", ")}${running.length > 5 ? ", ..." : ""})`
    };
  }
  const detachedIds = new Set(opts.verdicts.keys());
  const inlinePending = run.report === void 0 && run.experiments !== void 0 && run.experiments.some((id) => !detachedIds.has(id)) && opts.now - Date.parse(run.createdAt) < opts.inlineWaitMs;
  if (inlinePending) {
    return {
      action: "wait",
      reason: `run ${run.runId}: waiting for its inline report (experiments that were not detached may still run in their jobs)`
    };
  }
  const lost = /* @__PURE__ */ new Map();
  for (const [id, v] of opts.verdicts) if (v.kind === "lost") lost.set(id, v.reason);
  return { action: "report", lost };
}
var ENDED_STATUSES = /* @__PURE__ */ new Set([
  "succeeded",
  "failed",
  "error",
  "preempted",
  "corrupt",
  "lost"
]);
function inlineClaim(detachedIds, collected) {
  if (detachedIds.length === 0) return "none";
  return detachedIds.every((id) => {
    const s = collected.get(id);
    return s !== void 0 && ENDED_STATUSES.has(s);
  }) ? "final" : "partial";
}
function lockIsStale(lock, now, staleMs) {
  if (!lock.ok) return true;
  return now - Date.parse(lock.value.at) > staleMs;
}

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

// src/report/publish.ts
async function resolveBaseline(s, data, clients, explicitRef, io) {
  if (s.baseline === "none" || !clients || !s.bucket) return { kind: "off" };
  if (s.baseline === "record") {
    const baseline = baselineOf(data, { ref: s.baselineRef, sha: s.sha, recordedAt: /* @__PURE__ */ new Date() });
    const objects = await recordBaseline(clients.storage, s.bucket, s.prefix, baseline);
    io.info(
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
async function publishReport(opts) {
  const { settings: s, io } = opts;
  const manifest = await readManifest(s.path);
  if (s.runId && s.runId !== String(manifest.runId)) {
    io.warning(
      `manifest.json is of run ${String(manifest.runId)}, not ${s.runId} (input run-id): reporting it anyway`
    );
  }
  const started = Date.now();
  let data = reportData(manifest, await readExperimentFiles(s.path, manifest));
  if (opts.reasons && opts.reasons.size > 0) {
    const reasons = opts.reasons;
    data = {
      ...data,
      experiments: data.experiments.map(
        (x) => reasons.has(x.id) && (x.status === "unfinished" || x.status === "missing") ? { ...x, reason: reasons.get(x.id) } : x
      )
    };
  }
  const baseline = await resolveBaseline(s, data, opts.clients, opts.explicitRef, io);
  const marker = markerLine(s.markerKey);
  const render = {
    title: s.title,
    pivot: s.pivot,
    directions: s.directions,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl,
    note: opts.note
  };
  let summary = renderReport(data, render);
  if (summary.length > SUMMARY_LIMIT) summary = renderReport(data, render, 100);
  if (summary.length > SUMMARY_LIMIT) summary = renderComment(data, render);
  await io.summary(summary);
  const regressions = baseline.kind === "compared" ? baseline.comparison.regressions.length : 0;
  io.output("summary-json", summaryJson(data, baseline));
  io.output("regressions", String(regressions));
  io.info(
    `Rendered ${data.experiments.length} experiment(s), ${data.metrics.length} metric(s) in ${Date.now() - started} ms; ${regressions} regression(s).`
  );
  const done = (comment) => ({ data, regressions, comment });
  if (!s.comment || !opts.comment) return done();
  if (!s.prNumber) {
    io.info("No pull request for this event (and no pr-number): no comment, the job summary has the report.");
    return done();
  }
  if (!s.githubToken) {
    io.warning("No github-token: cannot comment on the pull request; the job summary has the report.");
    return done();
  }
  const body = renderComment(data, { ...render, marker });
  try {
    const c = await upsertComment({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      number: s.prNumber,
      marker,
      body
    });
    io.output("comment-id", String(c.id));
    io.output("comment-url", c.url);
    io.info(
      `${c.action === "created" ? "Created" : "Updated"} the report comment on #${s.prNumber} (${body.length} characters).`
    );
    return done({ id: c.id, url: c.url });
  } catch (err) {
    io.warning(
      `Could not comment on pull request #${s.prNumber}: ${err.message}. For pull requests from forks, report from a workflow_run workflow (see actions/report/README.md).`
    );
    return done();
  }
}

export {
  decideExperiment,
  triageRun,
  decideRun,
  inlineClaim,
  lockIsStale,
  publishReport
};
