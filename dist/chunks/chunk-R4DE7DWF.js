import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  chooseAxes,
  countClass,
  metricLabel,
  paramNames,
  pivotOf,
  readExperimentFiles,
  readManifest,
  reportData
} from "./chunk-PQO6YWTW.js";
import {
  getOctokit
} from "./chunk-5GCJFSFU.js";
import {
  DEFAULT_HISTORY,
  MIN_HISTORY_RUNS,
  REPORT_HTML,
  REPORT_MARKDOWN,
  Z_LIMIT,
  appendHistory,
  artifactDownloadUrl,
  cellOf,
  compareWithHistory,
  comparedWith,
  formatZ,
  historyEntryOf,
  historyRowOf,
  htmlArtifactLine,
  markerLine,
  parseHistory,
  reportArtifactLink,
  reportArtifactName,
  writeReportFiles
} from "./chunk-UXA2X36L.js";
import {
  baselineOf,
  escapeMarkdown,
  parseBaseline
} from "./chunk-F4TJMFJC.js";

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

// src/report/publish.ts
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

// src/report/baseline.ts
var SHA = /^[0-9a-f]{7,64}$/;
function baselineObjects(prefix, ref, sha) {
  const base = branchFolder(prefix, ref);
  return {
    latest: `${base}latest.json`,
    ...sha && SHA.test(sha) ? { bySha: `${base}${sha}.json` } : {}
  };
}
function branchFolder(prefix, ref) {
  const head = prefix.replace(/^\/+|\/+$/g, "");
  return `${head ? `${head}/` : ""}baselines/${encodeURIComponent(ref)}/`;
}
function historyObject(prefix, ref) {
  return `${branchFolder(prefix, ref)}history.json`;
}
function status(err) {
  const code = err?.code;
  return typeof code === "number" ? code : void 0;
}
async function replaceGuarded(storage, bucket, name, next, opts) {
  const file = storage.bucket(bucket).file(name);
  for (let attempt = 1; ; attempt++) {
    let generation = 0;
    let current;
    try {
      const [meta] = await file.getMetadata();
      generation = Number(meta.generation ?? 0);
      if (opts.read) [current] = await file.download();
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    try {
      await file.save(next(current), {
        resumable: false,
        contentType: "application/json",
        preconditionOpts: { ifGenerationMatch: generation }
      });
      return;
    } catch (err) {
      if (status(err) !== 412 || attempt >= opts.attempts) throw err;
    }
  }
}
async function writeGuarded(storage, bucket, name, text) {
  await replaceGuarded(storage, bucket, name, () => text, { read: false, attempts: 3 });
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
async function appendHistoryEntry(storage, bucket, prefix, ref, entry, keep) {
  const name = historyObject(prefix, ref);
  let history;
  let replaced;
  await replaceGuarded(
    storage,
    bucket,
    name,
    (buf) => {
      const current = buf ? parseHistory(buf.toString("utf8")) : void 0;
      replaced = buf && !current ? `${name} was not a history (replaced by a new one)` : void 0;
      history = appendHistory(current, entry, { ref, keep });
      return JSON.stringify(history);
    },
    { read: true, attempts: 5 }
  );
  if (!history) throw new Error(`${name} was not written`);
  return { object: name, history, ...replaced ? { replaced } : {} };
}
async function readHistory(storage, bucket, prefix, ref) {
  const name = historyObject(prefix, ref);
  let text;
  try {
    const [buf] = await storage.bucket(bucket).file(name).download();
    text = buf.toString("utf8");
  } catch (err) {
    if (status(err) === 404) return void 0;
    throw err;
  }
  const history = parseHistory(text);
  if (!history) throw new Error(`${name} is not a history (not JSON of schema 1)`);
  return history;
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
function ownComment(comments, marker, me) {
  return comments.find(
    (c) => typeof c.body === "string" && c.body.includes(marker) && c.user?.type === me.type && (me.login ? c.user.login === me.login : c.user.login.endsWith("[bot]"))
  );
}
async function upsertComment(opts) {
  const octokit = getOctokit(opts.token, { baseUrl: opts.apiUrl });
  const [owner, repo] = opts.repository.split("/");
  const me = await tokenIdentity(octokit);
  const t = opts.target;
  const comments = "sha" in t ? await octokit.paginate(octokit.rest.repos.listCommentsForCommit, {
    owner,
    repo,
    commit_sha: t.sha,
    per_page: 100
  }) : await octokit.paginate(octokit.rest.issues.listComments, {
    owner,
    repo,
    issue_number: t.number,
    per_page: 100
  });
  const mine = ownComment(comments, opts.marker, me);
  const edit = { owner, repo, body: opts.body };
  if (mine) {
    const { data: data2 } = "sha" in t ? await octokit.rest.repos.updateCommitComment({ ...edit, comment_id: mine.id }) : await octokit.rest.issues.updateComment({ ...edit, comment_id: mine.id });
    return { id: data2.id, url: data2.html_url, action: "updated" };
  }
  const { data } = "sha" in t ? await octokit.rest.repos.createCommitComment({ ...edit, commit_sha: t.sha }) : await octokit.rest.issues.createComment({ ...edit, issue_number: t.number });
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

// src/report/render.ts
var COMMENT_LIMIT = 65536;
var SUMMARY_LIMIT = 9e5;
var MAX_PIVOT_ROWS = 60;
var MAX_PIVOT_COLUMNS = 25;
var MAX_CHART_BARS = 30;
var MAX_CHART_SERIES = 8;
var MAX_CHARTS = 12;
var MAX_PROBLEM_ROWS = 200;
var LOG_TAIL_LINES = 5;
var LOG_LINE_CHARS = 200;
var e = escapeMarkdown;
function formatNumber(n) {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e3) return n.toFixed(0);
  if (abs >= 1) return String(Number(n.toPrecision(4)));
  if (abs >= 1e-4) return String(Number(n.toFixed(4)));
  return n.toExponential(2);
}
function formatCell(cell) {
  const s = cell.summary;
  const c = formatNumber(s.centre);
  if (s.method === "single" || s.low === void 0 || s.high === void 0) return `${c} (n=${s.n})`;
  if (s.min === s.max) return `${c} (n=${s.n}, all equal)`;
  if (s.method === "range") return `${c} (${formatNumber(s.low)}\u2013${formatNumber(s.high)}, n=${s.n})`;
  if (s.method === "t") return `${c} \xB1${formatNumber((s.high - s.low) / 2)} (n=${s.n})`;
  return `${c} [${formatNumber(s.low)}, ${formatNumber(s.high)}] (n=${s.n})`;
}
function cellLegend(centre) {
  return centre === "mean" ? "Mean \xB1 half its 95% t interval over repetitions (n = experiments); with n = 1, the value alone." : "Median over repetitions (n = experiments) with its 95% interval from order statistics [low, high]; where n is too small for one (under 6), the range (min\u2013max) instead; with n = 1, the value alone.";
}
function formatDelta(d) {
  const sign = d.delta > 0 ? "+" : "";
  const pct = d.percent === void 0 ? "n/a" : `${d.percent > 0 ? "+" : ""}${d.percent.toFixed(1)}%`;
  return `${sign}${formatNumber(d.delta)} (${pct})`;
}
function formatDuration(seconds) {
  if (seconds === void 0) return "";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}
var STATUS_MARK = {
  succeeded: "\u2705 succeeded",
  failed: "\u274C failed",
  error: "\u274C error",
  preempted: "\u26A0\uFE0F preempted",
  corrupt: "\u274C corrupt",
  unfinished: "\u23F3 unfinished",
  missing: "\u2754 missing",
  lost: "\u{1F480} lost"
};
var VERDICT_MARK = {
  improved: "\u{1F7E2} better",
  regressed: "\u{1F534} worse",
  unchanged: "\u26AA same",
  changed: "\u{1F535} changed"
};
function mermaidLabel(text) {
  const safe = text.replace(/[^A-Za-z0-9 ._:+/=%-]/g, "_").replace(/%{2,}/g, "%").slice(0, 40);
  return safe.trim() || "_";
}
function packedText(p) {
  return `${p.experiments} experiment(s) packed on ${p.vms} VM(s) (up to ${p.mostPerVm} a VM; each costs its reserved share)`;
}
function placementText(x) {
  if (!x.packing) return x.vm ?? "";
  const others = x.packing.neighbours.length;
  return `${x.vm ?? "?"}${x.packing.cpus ? ` CPU ${x.packing.cpus}` : ""}, with ${others} other${others === 1 ? "" : "s"}`;
}
function headline(data, baseline) {
  const t = data.totals;
  const parts = [
    `Run \`${e(data.runId)}\`: ${t.experiments} experiment(s), **${t.succeeded} succeeded**, ${t.failed} failed, ${t.missing} missing${t.lost > 0 ? ` (**${t.lost} lost**)` : ""}`,
    `~$${t.costUsd.toFixed(2)} (estimate), ${t.vmHours.toFixed(2)} VM hours, ${t.retries} retr${t.retries === 1 ? "y" : "ies"}`
  ];
  if (t.packed) parts.push(packedText(t.packed));
  const commits = data.commits ?? [];
  if (commits.length === 1) parts.push(`code at \`${commits[0].slice(0, 12)}\``);
  else if (commits.length > 1) {
    parts.push(
      `code at ${commits.length} commits (${commits.slice(0, 3).map((c) => `\`${c.slice(0, 12)}\``).join(", ")}${commits.length > 3 ? ", ..." : ""})`
    );
  }
  if (baseline.kind === "compared") {
    const r = significantRegressions(baseline).length;
    const rule = `beyond ${baseline.thresholdPercent}% and significant at ${baseline.significance.alpha}`;
    parts.push(r > 0 ? `**${r} regression(s)** ${rule}` : `no regression ${rule}`);
  }
  return `${parts.join("; ")}.`;
}
function unplannedNote(data, shown = 5) {
  const ids = data.unplanned ?? [];
  if (ids.length === 0) return [];
  const names = ids.slice(0, shown).map((id) => `\`${e(id)}\``).join(", ");
  return [
    `**Not counted:** the bucket also holds ${ids.length} experiment(s) that are not in the plan (${names}${ids.length > shown ? ", ..." : ""}).`
  ];
}
function baselineSection(b) {
  switch (b.kind) {
    case "off":
      return [];
    case "none":
      return [
        `**Baseline:** none recorded for \`${e(b.ref)}\` yet, so there is nothing to compare with${b.note ? ` (${e(b.note)})` : ""}. A scheduled run on that branch records one.`
      ];
    case "recorded":
      return [
        `**Baseline:** recorded this run as the baseline of \`${e(b.ref)}\` at \`${e(b.sha.slice(0, 12))}\` (${b.objects.map((o) => `\`${e(o)}\``).join(", ")}).`
      ];
    case "compared": {
      const base = b.baseline;
      const which = b.which === "merge-base" ? `the baseline of the merge base \`${e(base.sha.slice(0, 12))}\`` : b.which === "earlier-run" ? "an earlier run" : `the newest baseline on \`${e(b.ref)}\` (\`${e(base.sha.slice(0, 12))}\`; none was recorded for the merge base)`;
      const c = b.comparison;
      return [
        `**Baseline:** compared with ${which}, run \`${e(base.runId)}\`, recorded ${e(base.recordedAt)}: ${c.deltas.length} value(s) compared, ${c.regressions.length} worse and ${c.improvements} better beyond ${b.thresholdPercent}%` + (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : "") + (c.new > 0 ? `; ${c.new} experiment(s) are new` : "") + "."
      ];
    }
  }
}
function significantRegressions(b) {
  return b.kind === "compared" ? b.significance.comparisons.filter((c) => c.verdict === "regressed") : [];
}
var SAMPLE_VERDICT = {
  regressed: "\u{1F53B} regressed",
  improved: "\u{1F53A} improved",
  changed: "\u25C6 changed",
  unchanged: "within the threshold",
  "not-significant": "~ not significant",
  "too-few": "too few repetitions"
};
function sampleVerdict(c) {
  return c.verdict === "too-few" ? `${SAMPLE_VERDICT[c.verdict]} (needs ${c.needed ?? "?"} ${c.test === "signed-rank" ? "pairs" : "per side"})` : SAMPLE_VERDICT[c.verdict];
}
function formatShift(c) {
  const sign = (n) => n > 0 ? `+${formatNumber(n)}` : formatNumber(n);
  if (c.percent) {
    return `${sign(c.percent.shift)}% [${sign(c.percent.low)}, ${sign(c.percent.high)}]`;
  }
  return `${sign(c.shift.shift)} [${sign(c.shift.low)}, ${sign(c.shift.high)}]`;
}
function formatP(p) {
  if (p === void 0) return "\u2014";
  return p < 1e-4 ? "< 0.0001" : String(Number(p.toPrecision(3)));
}
function significanceRule(s, thresholdPercent, name = (text) => `\`${e(text)}\``) {
  const adjust = s.adjust === "bh" ? "Benjamini-Hochberg" : "Holm";
  const method = `p adjusted by ${adjust} across ${s.comparisons.filter((c) => c.p !== void 0).length} comparison(s), alpha ${s.alpha}; flagged when the adjusted p is below ${s.alpha} and the shift is beyond ${thresholdPercent}%.`;
  if (s.test === "signed-rank") {
    const counts = s.comparisons.map((c) => c.pairs ?? 0);
    const low = Math.min(...counts);
    const high = Math.max(...counts);
    const pairs = counts.length === 0 ? "0" : low === high ? String(low) : `${low} to ${high}`;
    return `Each combination's repetitions paired with the baseline's by ${name(s.replicate)} (only values both have count): the shift is the median of the paired differences with its 95% interval; ${TEST_NAME[s.test]} on ${pairs} pair(s), ${method}`;
  }
  return `Each combination's repetitions (over ${name(s.replicate)}) against the baseline's: the shift is the Hodges-Lehmann estimate with its 95% interval; ${TEST_NAME[s.test]}, ${method}`;
}
var TEST_NAME = {
  "mann-whitney": "Mann-Whitney U test",
  welch: "Welch's t test",
  "signed-rank": "Wilcoxon signed-rank test"
};
var SIGNIFICANCE_HEADER = [
  "| combination | metric | baseline | now | shift | p (adjusted) | verdict |",
  "| --- | --- | ---: | ---: | ---: | ---: | --- |"
];
function significanceRows(rows, info) {
  return rows.map(
    (c) => `| ${e(c.combination)} | ${e(metricLabel(c.metric, info))} | ${formatCell({ summary: c.baseline })} | ${formatCell({ summary: c.current })} | ${formatShift(c)} | ${formatP(c.pAdjusted)} | ${sampleVerdict(c)} |`
  );
}
function historyRule(h2, name = (text) => `\`${e(text)}\``) {
  const runs = h2.history.entries.length;
  return `z (history): this run's median against the medians of the last ${runs} recorded run(s) of ${name(h2.ref)} (their mean and standard deviation, from at least ${MIN_HISTORY_RUNS} runs); a |z| beyond ${Z_LIMIT} in the worse direction is outside the branch's run-to-run noise. It is noted beside the verdict and does not change it.`;
}
function withZColumn(h2, header, rows, shown) {
  if (!h2) return [...header, ...rows];
  const row = historyRowOf(h2);
  return [
    `${header[0]} z (history) |`,
    `${header[1]} ---: |`,
    ...rows.map((line, i) => `${line} ${formatZ(row(shown[i].combination, shown[i].metric))} |`)
  ];
}
var VERDICT_ORDER = [
  "regressed",
  "improved",
  "changed",
  "unchanged",
  "not-significant",
  "too-few"
];
function byVerdict(comparisons) {
  return [...comparisons].sort((x, y) => VERDICT_ORDER.indexOf(x.verdict) - VERDICT_ORDER.indexOf(y.verdict));
}
function significanceSection(b, limit = Infinity, info) {
  if (b.kind !== "compared" || b.significance.comparisons.length === 0) return [];
  const all = byVerdict(b.significance.comparisons);
  const shown = all.slice(0, limit);
  const regressions = significantRegressions(b).length;
  const tooFew = all.filter((c) => c.verdict === "too-few");
  return [
    `### Against the baseline: ${regressions} regression(s) of ${all.length} comparison(s)`,
    "",
    significanceRule(b.significance, b.thresholdPercent),
    ...b.history ? ["", historyRule(b.history)] : [],
    ...tooFew.length === all.length ? [
      "",
      `**Too few repetitions:** with these sample sizes no difference can be significant at ${b.significance.alpha}; ` + (b.significance.test === "signed-rank" ? `significance needs at least ${Math.max(...tooFew.map((c) => c.needed ?? 0))} pairs per combination: repetitions of the same \`${e(b.significance.replicate)}\` in this run and in the baseline.` : `significance needs at least ${Math.max(...tooFew.map((c) => c.needed ?? 0))} repetitions per combination in this run and in the baseline.`)
    ] : [],
    "",
    ...withZColumn(b.history, SIGNIFICANCE_HEADER, significanceRows(shown, info), shown),
    ...all.length > shown.length ? ["", `... and ${all.length - shown.length} more.`] : []
  ];
}
function deltaRows(deltas, info) {
  return deltas.map(
    (d) => `| ${e(d.experiment)} | ${e(metricLabel(d.metric, info))} | ${formatNumber(d.baseline)} | ${formatNumber(d.current)} | ${formatDelta(d)} | ${d.direction ? `${d.direction} is better` : "unknown"} | ${VERDICT_MARK[d.verdict]} |`
  );
}
var DELTA_HEADER = [
  "| experiment | metric | baseline | now | change | direction | verdict |",
  "| --- | --- | ---: | ---: | ---: | --- | --- |"
];
function logTail(text, label = "log tail") {
  if (!text) return "";
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "").slice(-LOG_TAIL_LINES).map((l) => e(l.length > LOG_LINE_CHARS ? `...${l.slice(-LOG_LINE_CHARS)}` : l));
  return lines.length > 0 ? `<br>${label}:<br><code>${lines.join("</code><br><code>")}</code>` : "";
}
function failureReason(x) {
  return x.reason ?? (x.status === "missing" ? "nothing in the bucket: never started, or its VM was lost before writing" : x.status === "unfinished" ? "no status.json: still running, or its VM died" : x.problems[0]);
}
function failureSection(data, limit = Infinity) {
  const bad = data.experiments.filter((x) => x.status !== "succeeded");
  if (bad.length === 0) return [];
  const shown = bad.slice(0, limit);
  const lines = shown.map((x) => {
    const why = failureReason(x);
    return `- \`${e(x.id)}\`: ${STATUS_MARK[x.status]}${x.attempts ? ` after ${x.attempts} attempt(s)` : ""}${why ? `: ${e(why)}` : ""}${logTail(x.logTail)}${logTail(x.serialTail, "serial console tail")}`;
  });
  return [
    `### Failed and missing (${bad.length})`,
    "",
    ...lines,
    ...bad.length > shown.length ? [`- ... and ${bad.length - shown.length} more.`] : []
  ];
}
function pivotSection(data, opts) {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes || data.metrics.length === 0) return [];
  const out = [];
  for (const metric of data.metrics) {
    const centre = opts.centre ?? "median";
    const p = pivotOf(data.experiments, metric, axes.rows, axes.columns, centre);
    const dir = opts.directions.get(metric);
    const description = opts.metricInfo?.get(metric)?.description;
    const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
    const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
    out.push(
      `### ${e(metricLabel(metric, opts.metricInfo))}${dir ? ` (${dir} is better)` : ""}`,
      "",
      ...description ? [e(description), ""] : [],
      `By ${e(axes.rows)}${axes.columns ? ` \xD7 ${e(axes.columns)}` : ""}. ${cellLegend(centre)}`,
      "",
      `| ${e(axes.rows)} | ${axes.columns ? columns.map((c) => e(c)).join(" | ") : centre} |`,
      `| --- | ${columns.map(() => "---:").join(" | ")} |`,
      ...rows.map(
        (r, i) => `| ${e(r)} | ${columns.map((_, j) => {
          const cell = p.cells[i][j];
          return cell ? formatCell(cell) : "";
        }).join(" | ")} |`
      )
    );
    if (p.rows.length > rows.length || p.columns.length > columns.length) {
      out.push(
        "",
        `(${p.rows.length} \xD7 ${p.columns.length} cells; the first ${rows.length} \xD7 ${columns.length} shown.)`
      );
    }
    out.push("");
  }
  return out;
}
function chartNumber(n) {
  const s = String(Number(n.toPrecision(6)));
  return s.includes("e") ? n.toFixed(6) : s;
}
var MARKDOWN_CHART_LIMITS = { bars: MAX_CHART_BARS, series: MAX_CHART_SERIES };
function chartOf(p, centre, limits = MARKDOWN_CHART_LIMITS) {
  const columns = p.columns.slice(0, Math.max(1, limits.series));
  const room = Math.max(1, Math.floor(limits.bars / Math.max(1, columns.length)));
  const groups = [];
  for (const [i, label] of p.rows.entries()) {
    if (groups.length >= room) break;
    const bars = columns.map((column, j) => {
      const s = p.cells[i][j]?.summary;
      return s && { label: column, centre: s.centre, low: s.low, high: s.high, kind: s.method, n: s.n };
    });
    if (bars.some((b) => b !== void 0)) groups.push({ label, bars });
  }
  return {
    metric: p.metric,
    rowAxis: p.rowAxis,
    columnAxis: p.columnAxis,
    centre,
    series: columns,
    groups,
    totalRows: p.rows.length,
    totalColumns: p.columns.length
  };
}
function chartSeries(data, opts, limits = MARKDOWN_CHART_LIMITS, maxCharts = MAX_CHARTS) {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes) return [];
  const centre = opts.centre ?? "median";
  return data.metrics.slice(0, maxCharts).map(
    (metric) => chartOf(pivotOf(data.experiments, metric, axes.rows, axes.columns, centre), centre, limits)
  ).filter((s) => s.groups.length > 0);
}
function intervalWords(kind) {
  switch (kind) {
    case "order-statistics":
      return "95% interval of the median";
    case "t":
      return "95% t interval of the mean";
    case "range":
      return "range (too few for a 95% interval)";
    case "single":
      return "one value, no interval";
  }
}
function chartTitle(s, value, name) {
  const by = s.columnAxis === void 0 ? name(s.rowAxis) : `${name(s.rowAxis)} and ${name(s.columnAxis)}`;
  return `${value} by ${by}, ${s.centre}`;
}
function chartCapNote(s, name) {
  if (s.groups.length >= s.totalRows && s.series.length >= s.totalColumns) return "";
  const rows = `${s.groups.length} of ${s.totalRows} ${name(s.rowAxis)} values`;
  const columns = s.columnAxis === void 0 ? "" : ` and ${s.series.length} of ${s.totalColumns} ${name(s.columnAxis)} values`;
  return `Charted: the first ${rows}${columns}.`;
}
function distinctLabels(labels) {
  const seen = /* @__PURE__ */ new Set();
  return labels.map((label) => {
    let unique = label;
    for (let k = 2; seen.has(unique); k++) unique = `${label.slice(0, 36)} ${k}`;
    seen.add(unique);
    return unique;
  });
}
function mermaidChart(s, info) {
  const unit = info?.get(s.metric)?.unit;
  const value = `${mermaidLabel(s.metric)}${unit ? ` (${mermaidLabel(unit)})` : ""}`;
  const grouped = s.series.length > 1;
  const cells = s.groups.flatMap(
    (g) => g.bars.flatMap(
      (b, j) => b && Number.isFinite(b.centre) ? [
        {
          label: grouped ? `${mermaidLabel(g.label).slice(0, 20).trim()}/${mermaidLabel(b.label).slice(0, 19).trim()}` : mermaidLabel(g.label),
          j,
          centre: b.centre
        }
      ] : []
    )
  );
  const lo = Math.min(0, ...cells.map((c) => c.centre));
  const hi = Math.max(0, ...cells.map((c) => c.centre));
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${chartTitle(s, value, mermaidLabel)}"`,
    `  x-axis [${distinctLabels(cells.map((c) => c.label)).map((l) => `"${l}"`).join(", ")}]`,
    `  y-axis "${value}" ${chartNumber(lo)} --> ${chartNumber(hi > lo ? hi : lo + 1)}`,
    ...s.series.map(
      (_, j) => `  bar [${cells.map((c) => c.j === j ? chartNumber(c.centre) : "0").join(", ")}]`
    ),
    "```"
  ];
}
function chartLegend(s) {
  const what = s.series.length > 1 ? `Bars: the ${s.centre} of each cell, grouped by ${e(s.rowAxis)}; in each group, left to right by ${e(s.columnAxis ?? "")}: ${s.series.map((c) => c ? e(c) : "(none)").join(", ")}.` : `Bars: the ${s.centre} per ${e(s.rowAxis)}.`;
  const cap = chartCapNote(s, e);
  return `${what} Their intervals are in the table above.${cap ? ` ${cap}` : ""}`;
}
function chartSection(data, opts) {
  const out = chartSeries(data, opts).flatMap((s) => [
    ...mermaidChart(s, opts.metricInfo),
    "",
    chartLegend(s),
    ""
  ]);
  return out.length > 0 ? ["### Charts", "", ...out] : [];
}
function resultRow(x, metrics, packed) {
  return `| ${e(x.id)} | ${STATUS_MARK[x.status]} | ${x.attempts ?? ""} | ${formatDuration(x.durationSeconds)} | ${e(x.zone ?? "")} |${packed ? ` ${e(placementText(x))} |` : ""} ${x.costUsd === void 0 ? "" : `$${x.costUsd.toFixed(4)}`} | ${metrics.map((m) => x.metrics[m] === void 0 ? "" : formatNumber(x.metrics[m])).join(" | ")} |`;
}
function resultsSection(data, limit, info) {
  const metrics = data.metrics.slice(0, 10);
  const shown = data.experiments.slice(0, limit);
  const packed = data.totals.packed !== void 0;
  return [
    `<details><summary>All ${data.experiments.length} experiment(s)</summary>`,
    "",
    `| experiment | status | attempts | duration | zone |${packed ? " VM (packed) |" : ""} cost | ${metrics.map((m) => e(metricLabel(m, info))).join(" | ")} |`,
    `| --- | --- | ---: | ---: | --- |${packed ? " --- |" : ""} ---: | ${metrics.map(() => "---:").join(" | ")} |`,
    ...shown.map((x) => resultRow(x, metrics, packed)),
    ...data.experiments.length > shown.length ? ["", `... and ${data.experiments.length - shown.length} more in manifest.json (in the artifact).`] : [],
    "",
    "</details>"
  ];
}
function deltaSection(b, limit, info) {
  if (b.kind !== "compared" || b.comparison.deltas.length === 0) return [];
  const all = b.comparison.deltas;
  const shown = all.slice(0, limit);
  return [
    `<details><summary>Changes against the baseline (${all.length} value(s))</summary>`,
    "",
    ...DELTA_HEADER,
    ...deltaRows(shown, info),
    ...all.length > shown.length ? ["", `... and ${all.length - shown.length} more.`] : [],
    "",
    "</details>"
  ];
}
function links(opts) {
  const l = [
    opts.runUrl ? `[the run's summary](${opts.runUrl})` : "",
    opts.artifactUrl ? `[the results artifact](${opts.artifactUrl})` : ""
  ].filter(Boolean);
  return l.length > 0 ? [`Full report and raw results: ${l.join(", ")}.`] : [];
}
function join(blocks) {
  return `${blocks.filter((b) => b.length > 0).map((b) => b.join("\n")).join("\n\n")}
`;
}
function renderReport(data, opts, rowLimit = 1e3) {
  return join([
    opts.marker ? [opts.marker] : [],
    [`## ${e(opts.title)}`],
    [headline(data, opts.baseline)],
    opts.note ? [opts.note] : [],
    unplannedNote(data),
    baselineSection(opts.baseline),
    significanceSection(opts.baseline, rowLimit, opts.metricInfo),
    failureSection(data, MAX_PROBLEM_ROWS),
    pivotSection(data, opts),
    chartSection(data, opts),
    deltaSection(opts.baseline, rowLimit, opts.metricInfo),
    resultsSection(data, rowLimit, opts.metricInfo),
    opts.htmlArtifact ? [htmlArtifactLine(opts.htmlArtifact)] : [],
    links(opts)
  ]);
}
function renderComment(data, opts, limit = COMMENT_LIMIT) {
  const full = renderReport(data, opts, 300);
  if (full.length <= limit) return full;
  const head = [
    ...opts.marker ? [opts.marker, ""] : [],
    `## ${e(opts.title)}`,
    "",
    headline(data, opts.baseline),
    "",
    ...opts.note ? [opts.note, ""] : [],
    ...unplannedNote(data).flatMap((line) => [line, ""]),
    ...baselineSection(opts.baseline),
    "",
    `The full report is too long for a comment. ${links(opts).join("") || "See the job summary of the run."}`,
    "",
    ...opts.htmlArtifact ? [htmlArtifactLine(opts.htmlArtifact), ""] : []
  ].join("\n");
  let body = head;
  for (const section of [
    significanceSection(opts.baseline, Infinity, opts.metricInfo),
    failureSection(data)
  ]) {
    if (section.length === 0) continue;
    const room = limit - body.length - 200;
    const kept = [];
    let used = 0;
    for (const line of section) {
      if (used + line.length + 1 > room) break;
      kept.push(line);
      used += line.length + 1;
    }
    if (kept.length < section.length) kept.push("", `... and more: see the run's summary.`);
    body += `${kept.join("\n")}

`;
  }
  if (body.length > limit) body = `${body.slice(0, limit - 2).replace(/\n[^\n]*$/, "")}
`;
  return body;
}
function historyJson(h2, max) {
  const scored = h2.rows.filter((r) => r.z !== void 0).sort((a, b) => Number(b.outside) - Number(a.outside) || Math.abs(b.z ?? 0) - Math.abs(a.z ?? 0));
  return {
    ref: h2.ref,
    runs: h2.history.entries.length,
    outside: h2.rows.filter((r) => r.outside).length,
    zScores: scored.slice(0, max).map((r) => ({
      combination: r.combination,
      metric: r.metric,
      z: Math.round((r.z ?? 0) * 100) / 100,
      runs: r.runs,
      outside: r.outside
    }))
  };
}
function summaryJson(data, baseline, maxRegressions = 100) {
  const byStatus = {};
  for (const x of data.experiments) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
  const compared = baseline.kind === "compared" ? baseline : void 0;
  return JSON.stringify({
    runId: data.runId,
    counts: {
      experiments: data.totals.experiments,
      succeeded: data.totals.succeeded,
      failed: data.totals.failed,
      missing: data.totals.missing,
      lost: data.totals.lost,
      byStatus
    },
    totals: {
      costUsd: Math.round(data.totals.costUsd * 1e4) / 1e4,
      vmHours: Math.round(data.totals.vmHours * 1e3) / 1e3,
      retries: data.totals.retries
    },
    metrics: data.metrics.slice(0, 100),
    baseline: baseline.kind === "compared" ? {
      mode: "compare",
      ref: baseline.ref,
      which: baseline.which,
      sha: baseline.baseline.sha,
      runId: baseline.baseline.runId,
      significance: {
        test: baseline.significance.test,
        adjust: baseline.significance.adjust,
        alpha: baseline.significance.alpha,
        replicate: baseline.significance.replicate
      }
    } : baseline.kind === "recorded" ? { mode: "record", ref: baseline.ref, sha: baseline.sha } : baseline.kind === "none" ? { mode: "compare", ref: baseline.ref, found: false } : { mode: "none" },
    regressions: significantRegressions(baseline).length,
    improvements: compared?.significance.comparisons.filter((c) => c.verdict === "improved").length ?? 0,
    ...compared?.history ? { history: historyJson(compared.history, maxRegressions) } : {},
    regressed: significantRegressions(baseline).slice(0, maxRegressions).map((c) => ({
      combination: c.combination,
      metric: c.metric,
      baseline: c.baseline.centre,
      current: c.current.centre,
      percent: c.percent === void 0 ? null : Math.round(c.percent.shift * 100) / 100,
      p: c.pAdjusted ?? null
    })),
    failed: data.experiments.filter((x) => countClass(x.status) !== "succeeded").slice(0, 100).map((x) => ({ id: x.id, status: x.status }))
  });
}

// src/html-escape.ts
var ENTITIES = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;"
};
function escapeHtml(text) {
  return text.replace(/[\u202a-\u202e\u2066-\u2069]/g, "").replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, " ").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

// src/report/html-trend.ts
var MAX_TREND_METRICS = 12;
var MAX_TREND_COMBINATIONS = 30;
var WIDTH = 180;
var HEIGHT = 40;
var PAD = 5;
var LINE = "#3b6fd4";
var CURRENT = "#1f2328";
var OUTSIDE = "#cf222e";
function coord(n) {
  return String(Math.round(n * 100) / 100);
}
function sparklineSvg(opts) {
  const { points, current } = opts;
  if (points.length === 0) return "";
  const count = points.length + (current === void 0 ? 0 : 1);
  const values = [
    ...points.flatMap((p) => [
      p.centre,
      ...p.low !== void 0 && p.high !== void 0 ? [p.low, p.high] : []
    ]),
    ...current === void 0 ? [] : [current]
  ];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const room = Math.abs(lo) * 0.05 || 1;
    lo -= room;
    hi += room;
  }
  const x = (i) => count === 1 ? WIDTH / 2 : PAD + i * (WIDTH - 2 * PAD) / (count - 1);
  const y = (v) => PAD + (hi - v) / (hi - lo) * (HEIGHT - 2 * PAD);
  const banded = points.flatMap(
    (p, i) => p.low !== void 0 && p.high !== void 0 ? [{ i, low: p.low, high: p.high }] : []
  );
  const band = banded.length >= 2 ? `<polygon class="band" fill="${LINE}" fill-opacity="0.15" stroke="none" points="${[
    ...banded.map((b) => `${coord(x(b.i))},${coord(y(b.high))}`),
    ...[...banded].reverse().map((b) => `${coord(x(b.i))},${coord(y(b.low))}`)
  ].join(" ")}"/>` : "";
  const line = points.length >= 2 ? `<polyline class="line" fill="none" stroke="${LINE}" stroke-width="1.5" points="${points.map((p, i) => `${coord(x(i))},${coord(y(p.centre))}`).join(" ")}"/>` : "";
  const interval = (p) => p.low !== void 0 && p.high !== void 0 ? ` [${formatNumber(p.low)}, ${formatNumber(p.high)}]` : "";
  const dots = points.map(
    (p, i) => `<circle class="run" cx="${coord(x(i))}" cy="${coord(y(p.centre))}" r="1.8" fill="${LINE}" data-value="${String(p.centre)}"><title>run ${escapeHtml(p.run)}: ${escapeHtml(formatNumber(p.centre))}${escapeHtml(interval(p))}</title></circle>`
  );
  const last = points.length - 1;
  const now = current === void 0 ? "" : `<line class="to-current" x1="${coord(x(last))}" y1="${coord(y(points[last].centre))}" x2="${coord(x(count - 1))}" y2="${coord(y(current))}" stroke="${CURRENT}" stroke-width="1" stroke-dasharray="2 2"/><circle class="current${opts.outside ? " outside" : ""}" cx="${coord(x(count - 1))}" cy="${coord(y(current))}" r="3.5" fill="${opts.outside ? OUTSIDE : CURRENT}" data-value="${String(current)}"><title>this run: ${escapeHtml(formatNumber(current))}</title></circle>`;
  const spoken = `${opts.description}: recorded runs, oldest first, ${points.map((p) => `${formatNumber(p.centre)}${interval(p)}`).join(", ")}` + (current === void 0 ? "" : `; this run ${formatNumber(current)}${opts.outside ? ", outside the noise" : ""}`);
  return [
    `<svg class="sparkline" role="img" aria-label="${escapeHtml(spoken)}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    band,
    line,
    ...dots,
    now,
    "</svg>"
  ].filter((part) => part !== "").join("");
}
function metricsOf(h2, order) {
  const seen = /* @__PURE__ */ new Set();
  for (const entry of h2.history.entries) {
    for (const metrics of Object.values(entry.combinations))
      for (const m of Object.keys(metrics)) seen.add(m);
  }
  return [...order.filter((m) => seen.has(m)), ...[...seen].filter((m) => !order.includes(m)).sort()];
}
function combinationsOf(h2, metric) {
  const seen = /* @__PURE__ */ new Set();
  for (const entry of h2.history.entries) {
    for (const [label, metrics] of Object.entries(entry.combinations)) {
      if (Object.hasOwn(metrics, metric)) seen.add(label);
    }
  }
  return [...seen].sort();
}
function spread(r) {
  return r?.mean !== void 0 && r.sd !== void 0 ? `${formatNumber(r.mean)} \xB1 ${formatNumber(r.sd)}` : "\u2014";
}
function trendSection(hc, metricOrder, info) {
  if (!hc || hc.history.entries.length < 2) return "";
  const entries = hc.history.entries;
  const rowOf = historyRowOf(hc);
  const metrics = metricsOf(hc, metricOrder);
  const shownMetrics = metrics.slice(0, MAX_TREND_METRICS);
  const tables = shownMetrics.map((metric) => {
    const all = combinationsOf(hc, metric);
    const shown = all.slice(0, MAX_TREND_COMBINATIONS);
    const rows = shown.map((combination) => {
      const points = entries.flatMap((entry) => {
        const c = cellOf(entry, combination, metric);
        return c ? [{ run: entry.runId, centre: c.centre, low: c.low, high: c.high }] : [];
      });
      const r = rowOf(combination, metric);
      const svg = sparklineSvg({
        points,
        current: r?.current,
        outside: r?.outside ?? false,
        description: `${metricLabel(metric, info)} of ${combination || "(no parameters)"} on ${hc.ref}`
      });
      return `<tr${r?.outside ? ' class="outside"' : ""}><td>${escapeHtml(combination)}</td><td>${svg}</td><td class="num">${points.length}</td><td class="num">${escapeHtml(spread(r))}</td><td class="num">${r ? escapeHtml(formatNumber(r.current)) : "\u2014"}</td><td class="num">${escapeHtml(formatZ(r))}</td></tr>`;
    });
    return [
      `<h3>${escapeHtml(metricLabel(metric, info))}</h3>`,
      '<div class="scroll">',
      `<table class="trend" data-metric="${escapeHtml(metric)}">`,
      '<thead><tr><th scope="col">combination</th><th scope="col">recorded runs, then this run</th><th scope="col" class="num">runs</th><th scope="col" class="num">mean \xB1 sd</th><th scope="col" class="num">this run</th><th scope="col" class="num">z</th></tr></thead>',
      "<tbody>",
      ...rows,
      "</tbody>",
      "</table>",
      "</div>",
      ...all.length > shown.length ? [`<p class="note truncated">The first ${shown.length} of ${all.length} combinations shown.</p>`] : []
    ].join("\n");
  });
  return [
    '<section id="trend">',
    `<h2>Trend on <code>${escapeHtml(hc.ref)}</code></h2>`,
    `<p class="note">The median of each combination in the last ${entries.length} recorded runs of <code>${escapeHtml(hc.ref)}</code>, oldest first, its 95% interval as a band where recorded; the larger dot is this run, red when outside the branch's run-to-run noise (|z| beyond ${Z_LIMIT} in the worse direction).</p>`,
    ...metrics.length > shownMetrics.length ? [`<p class="note truncated">The first ${shownMetrics.length} of ${metrics.length} metrics shown.</p>`] : [],
    ...tables,
    "</section>"
  ].join("\n");
}

// src/report/html.ts
var MAX_PIVOT_ROWS2 = 200;
var MAX_PIVOT_COLUMNS2 = 40;
var MAX_FAILURES = 200;
var MAX_RESULT_PARAMS = 10;
var MAX_RESULT_METRICS = 20;
var h = escapeHtml;
var VERDICT_TEXT = {
  improved: "better",
  regressed: "worse",
  unchanged: "same",
  changed: "changed"
};
var STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --stripe: #f6f8fa;
  --head: #eef1f4; --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 24px 28px 48px; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 16px; margin: 26px 0 6px; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0; }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; padding: 0; }
.tile { border: 1px solid var(--border); border-radius: 8px; padding: 8px 16px; min-width: 120px; }
.tile dt { font-size: 12px; color: var(--muted); }
.tile dd { margin: 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile.good dd { color: var(--good); } .tile.bad dd { color: var(--bad); } .tile.warn dd { color: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 4px; }
th, td { padding: 4px 10px; border: 1px solid var(--border); text-align: left; vertical-align: top; }
thead th, thead td { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody th { font-weight: 600; overflow-wrap: anywhere; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small { color: var(--muted); }
td.empty { color: var(--muted); text-align: center; }
table.results td { white-space: nowrap; }
tbody tr.failed { background: #ffebe9; } tr.failed td:first-child { box-shadow: inset 3px 0 var(--bad); }
tbody tr.missing { background: #fff8c5; } tr.missing td:first-child { box-shadow: inset 3px 0 var(--warn); }
.status-succeeded { color: var(--good); } .status-failed { color: var(--bad); font-weight: 600; }
.status-missing { color: var(--warn); font-weight: 600; }
.verdict-improved { color: var(--good); font-weight: 600; } .verdict-regressed { color: var(--bad); font-weight: 600; }
.verdict-changed { color: var(--info); } .verdict-unchanged { color: var(--muted); }
.failure { border: 1px solid var(--border); border-left: 4px solid var(--bad); border-radius: 6px;
  padding: 6px 14px 10px; margin: 12px 0; }
.failure h3 { margin: 6px 0; font-size: 15px; }
pre { background: var(--stripe); border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px;
  margin: 6px 0 0; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin: 12px 0; } summary { cursor: pointer; font-weight: 600; }
figure { margin: 14px 0 4px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .axis-title { fill: var(--muted); font-size: 12px; }
svg.chart .grid { stroke: #e6e9ec; } svg.chart .zero { stroke: #8c959f; }
svg.chart .s0 { fill: #3b6fd4; } svg.chart .s1 { fill: #e07b39; } svg.chart .s2 { fill: #2a9d6f; }
svg.chart .s3 { fill: #a44fb3; } svg.chart .s4 { fill: #c9a227; } svg.chart .s5 { fill: #3fa7c4; }
svg.chart .s6 { fill: #d4593b; } svg.chart .s7 { fill: #7a7f87; } svg.chart .s8 { fill: #8c6d46; } svg.chart .s9 { fill: #e377c2; }
svg.chart .error-bar, svg.chart .error-cap { stroke: var(--fg); stroke-width: 1.25; }
svg.chart .legend-label { fill: var(--muted); }
table.heatmap td.heat { text-align: center; min-width: 56px; }
.heat-legend .ramp { display: inline-block; width: 160px; height: 12px; margin: 0 6px; vertical-align: middle;
  border: 1px solid var(--border); border-radius: 2px; }
svg.chart .value { font-weight: 600; } svg.chart .missing-value { fill: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;
function coord2(n) {
  return String(Math.round(n * 100) / 100);
}
function clip(text, max) {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}\u2026` : text;
}
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}
function valueScale(values) {
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) {
    hi = 1;
  } else {
    const room = (hi - lo) * 0.08;
    if (lo < 0) lo -= room;
    if (hi > 0) hi += room;
  }
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const count = Math.round((hi - lo) / step);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((lo + i * step).toPrecision(12)));
  return { lo, hi, ticks };
}
var PLOT_TOP = 44;
var PLOT_HEIGHT = 220;
var PLOT_LEFT = 70;
var PLOT_RIGHT = 16;
var LABEL_ANGLE = 35;
var MIN_PLOT_WIDTH = 360;
var CHAR_WIDTH = 6.5;
var SERIES_COLOURS = 10;
var HTML_CHART_LIMITS = { bars: 120, series: SERIES_COLOURS };
var LEGEND_LINE = 16;
function intervalText(b) {
  if (b.low === void 0 || b.high === void 0) return intervalWords("single");
  return `${intervalWords(b.kind)}: ${formatNumber(b.low)} to ${formatNumber(b.high)}`;
}
function legendSvg(axis, series, left, top, width) {
  const parts = [];
  const head = `${clip(axis, 24)}:`;
  parts.push(`<text class="legend-label" x="${coord2(left)}" y="${coord2(top + 10)}">${h(head)}</text>`);
  let x = left + head.length * CHAR_WIDTH + 10;
  let line = 0;
  for (const [j, value] of series.entries()) {
    const text = clip(value || "(none)", 24);
    const w = 16 + text.length * CHAR_WIDTH + 14;
    if (x + w > left + width && x > left) {
      line += 1;
      x = left;
    }
    const y = top + line * LEGEND_LINE;
    parts.push(
      `<g class="legend-item" data-series="${h(value)}"><rect class="swatch s${j % SERIES_COLOURS}" x="${coord2(x)}" y="${coord2(y)}" width="12" height="12"/><text x="${coord2(x + 16)}" y="${coord2(y + 10)}"><title>${h(value || "(none)")}</title>${h(text)}</text></g>`
    );
    x += w;
  }
  return { svg: `<g class="legend">${parts.join("")}</g>`, lines: line + 1 };
}
function barChartSvg(series, info) {
  const { metric, rowAxis, columnAxis, groups } = series;
  if (groups.length === 0) return "";
  const count = Math.max(1, series.series.length);
  const bars = groups.flatMap((g) => g.bars.filter((b) => b !== void 0));
  const extent = bars.flatMap((b) => [b.centre, b.low, b.high]).filter((v) => v !== void 0 && Number.isFinite(v));
  const { lo, hi, ticks } = valueScale(extent);
  let slot;
  let barWidth;
  if (count === 1) {
    const preferredSlot = groups.length <= 4 ? 96 : groups.length <= 12 ? 64 : 40;
    slot = Math.max(preferredSlot, MIN_PLOT_WIDTH / groups.length);
    barWidth = Math.min(slot * 0.62, 72);
  } else {
    barWidth = count * groups.length <= 24 ? 22 : 14;
    slot = Math.max(count * barWidth + 18, MIN_PLOT_WIDTH / groups.length);
  }
  const plotWidth = slot * groups.length;
  const rotate = groups.some((g) => g.label.length * CHAR_WIDTH > slot - 6);
  const labelChars = rotate ? 18 : Math.floor((slot - 6) / CHAR_WIDTH);
  const slantedReach = Math.max(...groups.map((g) => Math.min(g.label.length, labelChars))) * CHAR_WIDTH * Math.cos(LABEL_ANGLE * Math.PI / 180);
  const left = rotate ? Math.max(PLOT_LEFT, slantedReach - slot / 2 + 8) : PLOT_LEFT;
  const width = left + plotWidth + PLOT_RIGHT;
  const legend = columnAxis === void 0 ? void 0 : legendSvg(columnAxis, series.series, left, 32, plotWidth);
  const plotTop = PLOT_TOP + (legend ? legend.lines * LEGEND_LINE : 0);
  const y = (v) => plotTop + (hi - v) / (hi - lo) * PLOT_HEIGHT;
  const zeroY = y(0);
  const labelTop = plotTop + PLOT_HEIGHT + 16;
  const height = labelTop + (rotate ? 96 : 24) + 14;
  const valueLabel = metricLabel(metric, info);
  const title = chartTitle(series, valueLabel, (text) => text);
  const cap = Math.min(barWidth * 0.3, 6);
  const spokenBar = (b) => Number.isFinite(b.centre) ? `${formatNumber(b.centre)}${b.low !== void 0 && b.high !== void 0 ? ` (${formatNumber(b.low)} to ${formatNumber(b.high)})` : ""}` : "n/a";
  const spoken = groups.map((g) => {
    const shown = g.bars.filter((b) => b !== void 0);
    return columnAxis === void 0 ? `${g.label || "(none)"}: ${shown.map(spokenBar).join(", ")}` : `${g.label || "(none)"}: ${shown.map((b) => `${b.label || "(none)"} ${spokenBar(b)}`).join(", ")}`;
  }).join("; ");
  const grid = ticks.map((t) => {
    const ty = coord2(y(t));
    return `<line class="grid" x1="${coord2(left)}" x2="${coord2(left + plotWidth)}" y1="${ty}" y2="${ty}"/><text class="tick" x="${coord2(left - 6)}" y="${ty}" dy="0.32em" text-anchor="end">${h(formatNumber(t))}</text>`;
  });
  const drawn = groups.map((g, i) => {
    const gx = left + slot * (i + 0.5);
    const labelX = coord2(gx);
    const axisLabel = rotate ? `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="end" transform="rotate(-${LABEL_ANGLE} ${labelX} ${labelTop})">` : `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="middle">`;
    const label = `${axisLabel}<title>${h(g.label || "(none)")}</title>${h(clip(g.label, labelChars) || "(none)")}</text>`;
    const cells = g.bars.map((b, j) => {
      if (!b) return "";
      const cx = gx + (j - (count - 1) / 2) * barWidth;
      if (!Number.isFinite(b.centre)) {
        return `<text class="missing-value" x="${coord2(cx)}" y="${coord2(zeroY - 6)}" text-anchor="middle">n/a</text>`;
      }
      const name = columnAxis === void 0 ? g.label || "(none)" : `${g.label || "(none)"}, ${b.label || "(none)"}`;
      const tip = `${name}: ${series.centre} ${formatNumber(b.centre)}; ${intervalText(b)}; n=${b.n}`;
      const top = b.centre >= 0 ? y(b.centre) : zeroY;
      const barHeight = Math.abs(y(b.centre) - zeroY);
      const rectWidth = count === 1 ? barWidth : barWidth - 2;
      const interval = b.low !== void 0 && b.high !== void 0 && Number.isFinite(b.low) && Number.isFinite(b.high) ? { low: b.low, high: b.high } : void 0;
      const rect = `<rect class="bar s${j % SERIES_COLOURS}" x="${coord2(cx - rectWidth / 2)}" y="${coord2(top)}" width="${coord2(rectWidth)}" height="${coord2(barHeight)}" data-value="${String(b.centre)}"${interval ? ` data-low="${String(interval.low)}" data-high="${String(interval.high)}"` : ""} data-n="${b.n}" data-kind="${b.kind}" data-series="${h(b.label)}"><title>${h(tip)}</title></rect>`;
      const whisker = (v) => `<line class="error-cap" x1="${coord2(cx - cap)}" x2="${coord2(cx + cap)}" y1="${coord2(y(v))}" y2="${coord2(y(v))}"/>`;
      const errorBar = interval ? `<line class="error-bar" x1="${coord2(cx)}" x2="${coord2(cx)}" y1="${coord2(y(interval.high))}" y2="${coord2(y(interval.low))}" data-low="${String(interval.low)}" data-high="${String(interval.high)}"/>` + whisker(interval.high) + whisker(interval.low) : "";
      const value = count === 1 ? `<text class="value" x="${coord2(cx)}" y="${coord2(
        b.centre >= 0 ? Math.min(top, interval ? y(interval.high) : top) - 5 : Math.max(top + barHeight, interval ? y(interval.low) : 0) + 13
      )}" text-anchor="middle">${h(formatNumber(b.centre))}</text>` : "";
      return rect + errorBar + value;
    });
    return `<g class="group" data-label="${h(g.label)}">${cells.join("")}${label}</g>`;
  });
  return [
    `<svg class="chart" role="img" aria-label="${h(`Bar chart, ${title}, error bars over each interval: ${spoken}`)}" width="${coord2(width)}" height="${coord2(height)}" viewBox="0 0 ${coord2(width)} ${coord2(height)}" data-metric="${h(metric)}">`,
    `<text class="title" x="${coord2(left)}" y="20">${h(title)}</text>`,
    ...legend ? [legend.svg] : [],
    ...grid,
    `<line class="zero" x1="${coord2(left)}" x2="${coord2(left + plotWidth)}" y1="${coord2(zeroY)}" y2="${coord2(zeroY)}"/>`,
    ...drawn,
    `<text class="axis-title" x="${coord2(left + plotWidth / 2)}" y="${coord2(height - 6)}" text-anchor="middle">${h(rowAxis)}</text>`,
    `<text class="axis-title" transform="rotate(-90)" x="${coord2(-(plotTop + PLOT_HEIGHT / 2))}" y="16" text-anchor="middle">${h(clip(valueLabel, 40))}</text>`,
    "</svg>"
  ].join("\n");
}
var HEAT_WORSE = [232, 136, 76];
var HEAT_NEUTRAL = [246, 246, 246];
var HEAT_BETTER = [84, 142, 214];
var HEAT_HIGH = [64, 160, 150];
function mix(a, b, t) {
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
  return `rgb(${c.join(", ")})`;
}
function heatColour(t, direction) {
  if (direction === void 0) return mix(HEAT_NEUTRAL, HEAT_HIGH, t);
  const good = direction === "higher" ? t : 1 - t;
  return good < 0.5 ? mix(HEAT_WORSE, HEAT_NEUTRAL, good * 2) : mix(HEAT_NEUTRAL, HEAT_BETTER, good * 2 - 1);
}
function heatmapTable(p, centre, direction, label) {
  const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS2);
  const rows = p.rows.slice(0, MAX_PIVOT_ROWS2);
  let min = Infinity;
  let max = -Infinity;
  for (const row of p.cells.slice(0, rows.length)) {
    for (const cell of row.slice(0, columns.length)) {
      const c = cell?.summary.centre;
      if (c === void 0 || !Number.isFinite(c)) continue;
      min = Math.min(min, c);
      max = Math.max(max, c);
    }
  }
  if (min > max) return "";
  const scale = (v) => max === min ? 0.5 : (v - min) / (max - min);
  const head = p.columnAxis ? `<tr><th scope="col">${h(p.rowAxis)}</th>${columns.map((c) => `<th scope="col" class="num">${h(c)}</th>`).join("")}</tr>` : `<tr><th scope="col">${h(p.rowAxis)}</th><th scope="col" class="num">${centre}</th></tr>`;
  const body = rows.map(
    (r, i) => `<tr><th scope="row">${h(r)}</th>${columns.map((c, j) => {
      const cell = p.cells[i][j];
      if (!cell || !Number.isFinite(cell.summary.centre)) {
        return '<td class="num empty" title="no result">\u2014</td>';
      }
      const v = cell.summary.centre;
      const t = scale(v);
      const where = p.columnAxis ? `${r}, ${c}` : r;
      return `<td class="num heat" style="background-color: ${heatColour(t, direction)}" data-value="${String(v)}" data-scale="${t.toFixed(3)}" title="${h(`${where}: ${formatCell(cell)}`)}">${h(formatNumber(v))}</td>`;
    }).join("")}</tr>`
  );
  const [from, to] = direction === "lower" ? [max, min] : [min, max];
  const ends = direction === void 0 ? ["smallest", "largest"] : ["worse", `better (${direction} is better)`];
  const ramp = [0, 0.25, 0.5, 0.75, 1].map((t) => heatColour(direction === "lower" ? 1 - t : t, direction));
  const by = p.columnAxis ? `${p.rowAxis} \xD7 ${p.columnAxis}` : p.rowAxis;
  return [
    `<p class="note heat-legend">Heatmap of the ${centre}: ${h(formatNumber(from))} ${ends[0]}<span class="ramp" style="background: linear-gradient(to right, ${ramp.join(", ")})"></span>${h(formatNumber(to))} ${ends[1]}; scaled between the smallest and the largest cell shown.</p>`,
    '<div class="scroll">',
    `<table class="heatmap" data-metric="${h(p.metric)}" aria-label="${h(`Heatmap of ${label} by ${by}: the ${centre} of each cell, coloured from ${ends[0]} to ${ends[1]}`)}">`,
    `<thead>${head}</thead>`,
    "<tbody>",
    ...body,
    "</tbody>",
    "</table>",
    "</div>"
  ].join("\n");
}
function statusCell(status2) {
  return `<span class="status-${countClass(status2)}">${h(status2)}</span>`;
}
function summarySection(data, b) {
  const t = data.totals;
  const tiles = [
    ["experiments", String(t.experiments), ""],
    ["succeeded", String(t.succeeded), t.succeeded === t.experiments ? "good" : ""],
    ["failed", String(t.failed), t.failed > 0 ? "bad" : ""],
    ["missing", String(t.missing), t.missing > 0 ? "warn" : ""],
    ...t.lost > 0 ? [["lost with their VM", String(t.lost), "bad"]] : [],
    ["cost (estimate)", `$${t.costUsd.toFixed(2)}`, ""],
    ["VM hours", t.vmHours.toFixed(2), ""],
    ...t.packed ? [
      [
        `packed, up to ${t.packed.mostPerVm} a VM`,
        `${t.packed.experiments} on ${t.packed.vms} VMs`,
        ""
      ]
    ] : [],
    ["retries", String(t.retries), t.retries > 0 ? "warn" : ""]
  ];
  if (b.kind === "compared") {
    const r = significantRegressions(b).length;
    tiles.push([`significant regressions beyond ${b.thresholdPercent}%`, String(r), r > 0 ? "bad" : "good"]);
  }
  return [
    '<section id="summary" aria-label="Summary">',
    '<dl class="totals">',
    ...tiles.map(
      ([name, value, tone]) => `<div class="tile${tone ? ` ${tone}` : ""}"><dt>${name}</dt><dd>${value}</dd></div>`
    ),
    "</dl>",
    "</section>"
  ].join("\n");
}
function deltaTable(deltas, limit, className, info) {
  const shown = deltas.slice(0, limit);
  return [
    '<div class="scroll">',
    `<table class="deltas ${className}">`,
    '<thead><tr><th scope="col">experiment</th><th scope="col">metric</th><th scope="col" class="num">baseline</th><th scope="col" class="num">now</th><th scope="col" class="num">change</th><th scope="col">direction</th><th scope="col">verdict</th></tr></thead>',
    "<tbody>",
    ...shown.map(
      (d) => `<tr><td><code>${h(d.experiment)}</code></td><td>${h(metricLabel(d.metric, info))}</td><td class="num">${h(formatNumber(d.baseline))}</td><td class="num">${h(formatNumber(d.current))}</td><td class="num">${h(formatDelta(d))}</td><td>${d.direction ? `${d.direction} is better` : "unknown"}</td><td class="verdict-${d.verdict}">${VERDICT_TEXT[d.verdict]}</td></tr>`
    ),
    "</tbody>",
    "</table>",
    "</div>",
    ...deltas.length > shown.length ? [`<p class="note truncated">\u2026 and ${deltas.length - shown.length} more change(s), not shown.</p>`] : []
  ].join("\n");
}
function significanceTable(comparisons, limit, info, history) {
  const all = byVerdict(comparisons);
  const shown = all.slice(0, limit);
  const zOf = historyRowOf(history);
  return [
    '<div class="scroll">',
    '<table class="significance">',
    `<thead><tr><th scope="col">combination</th><th scope="col">metric</th><th scope="col" class="num">baseline</th><th scope="col" class="num">now</th><th scope="col" class="num">shift [95% interval]</th><th scope="col" class="num">p (adjusted)</th><th scope="col">verdict</th>${history ? '<th scope="col" class="num">z (history)</th>' : ""}</tr></thead>`,
    "<tbody>",
    ...shown.map(
      (c) => `<tr><td>${h(c.combination)}</td><td>${h(metricLabel(c.metric, info))}</td><td class="num">${h(formatCell({ summary: c.baseline }))}</td><td class="num">${h(formatCell({ summary: c.current }))}</td><td class="num">${h(formatShift(c))}</td><td class="num" title="raw p ${h(formatP(c.p))}">${h(formatP(c.pAdjusted))}</td><td class="verdict-${c.verdict}">${h(sampleVerdict(c))}</td>${history ? zCell(zOf(c.combination, c.metric)) : ""}</tr>`
    ),
    "</tbody>",
    "</table>",
    "</div>",
    ...all.length > shown.length ? [`<p class="note truncated">\u2026 and ${all.length - shown.length} more comparison(s), not shown.</p>`] : []
  ].join("\n");
}
function zCell(r) {
  const title = r?.mean !== void 0 && r.sd !== void 0 ? ` title="${h(`recorded runs: ${r.runs}, mean ${formatNumber(r.mean)}, sd ${formatNumber(r.sd)}`)}"` : "";
  return `<td class="num${r?.outside ? " verdict-regressed" : ""}"${title}>${h(formatZ(r))}</td>`;
}
function baselineSection2(b, limit, info) {
  switch (b.kind) {
    case "off":
      return "";
    case "none":
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>None recorded for <code>${h(b.ref)}</code> yet, so there is nothing to compare with${b.note ? ` (${h(b.note)})` : ""}. A scheduled run on that branch records one.</p>`,
        "</section>"
      ].join("\n");
    case "recorded":
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>Recorded this run as the baseline of <code>${h(b.ref)}</code> at <code>${h(b.sha.slice(0, 12))}</code> (${b.objects.map((o) => `<code>${h(o)}</code>`).join(", ")}).</p>`,
        "</section>"
      ].join("\n");
    case "compared": {
      const base = b.baseline;
      const c = b.comparison;
      const which = b.which === "merge-base" ? `the baseline of the merge base <code>${h(base.sha.slice(0, 12))}</code>` : b.which === "earlier-run" ? "an earlier run" : `the newest baseline on <code>${h(b.ref)}</code> (<code>${h(base.sha.slice(0, 12))}</code>; none was recorded for the merge base)`;
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>Compared with ${which}, run <code>${h(base.runId)}</code>, recorded ${h(base.recordedAt)}: ${c.deltas.length} value(s) compared, <strong>${c.regressions.length} worse</strong> and ${c.improvements} better beyond ${b.thresholdPercent}%` + (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : "") + (c.new > 0 ? `; ${c.new} experiment(s) are new` : "") + ".</p>",
        ...b.significance.comparisons.length > 0 ? [
          `<h3>Against the baseline: ${significantRegressions(b).length} regression(s) of ${b.significance.comparisons.length} comparison(s)</h3>`,
          `<p class="note">${significanceRule(b.significance, b.thresholdPercent, (text) => `<code>${h(text)}</code>`)}</p>`,
          ...b.history ? [`<p class="note">${historyRule(b.history, (text) => `<code>${h(text)}</code>`)}</p>`] : [],
          significanceTable(b.significance.comparisons, limit, info, b.history)
        ] : [],
        ...c.deltas.length > 0 ? [
          `<details><summary>Changes against the baseline (${c.deltas.length} value(s))</summary>`,
          deltaTable(c.deltas, limit, "changes", info),
          "</details>"
        ] : [],
        "</section>"
      ].join("\n");
    }
  }
}
function plainLog(text) {
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, "").replace(/\r\n?/g, "\n");
}
function failureSection2(data) {
  const bad = data.experiments.filter((x) => x.status !== "succeeded");
  if (bad.length === 0) return "";
  const shown = bad.slice(0, MAX_FAILURES);
  return [
    '<section id="failures">',
    `<h2>Failed and missing (${bad.length})</h2>`,
    ...shown.map((x) => {
      const why = failureReason(x);
      const log = x.logTail ? plainLog(x.logTail).trim() : "";
      return [
        `<article class="failure">`,
        `<h3><code>${h(x.id)}</code> ${statusCell(x.status)}${x.attempts ? ` <span class="muted">after ${x.attempts} attempt(s)</span>` : ""}</h3>`,
        ...why ? [`<p class="reason">${h(why)}</p>`] : [],
        ...log ? [`<pre class="log" aria-label="log tail">${h(log)}</pre>`] : [],
        ...x.serialTail?.trim() ? [`<pre class="log" aria-label="serial console tail">${h(plainLog(x.serialTail).trim())}</pre>`] : [],
        "</article>"
      ].join("\n");
    }),
    ...bad.length > shown.length ? [`<p class="note truncated">\u2026 and ${bad.length - shown.length} more, not shown.</p>`] : [],
    "</section>"
  ].join("\n");
}
function pivotTable(data, metric, rowAxis, columnAxis, centre, label) {
  const p = pivotOf(data.experiments, metric, rowAxis, columnAxis, centre);
  const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS2);
  const rows = p.rows.slice(0, MAX_PIVOT_ROWS2);
  const head = columnAxis ? [
    `<tr><td></td><th scope="colgroup" colspan="${columns.length}">${h(columnAxis)}</th></tr>`,
    `<tr><th scope="col">${h(rowAxis)}</th>${columns.map((c) => `<th scope="col" class="num">${h(c)}</th>`).join("")}</tr>`
  ] : [`<tr><th scope="col">${h(rowAxis)}</th><th scope="col" class="num">${centre}</th></tr>`];
  const body = rows.map(
    (r, i) => `<tr><th scope="row">${h(r)}</th>${columns.map((_, j) => {
      const cell = p.cells[i][j];
      if (!cell) return '<td class="num empty" title="no result">\u2014</td>';
      const s = cell.summary;
      const hover = `min ${formatNumber(s.min)}, median ${formatNumber(s.median)}, max ${formatNumber(s.max)}; mean ${formatNumber(s.mean)}; n=${s.n}`;
      return `<td class="num" title="${h(hover)}">${h(formatCell(cell))}</td>`;
    }).join("")}</tr>`
  );
  return [
    '<div class="scroll">',
    `<table class="pivot" data-metric="${h(metric)}" aria-label="${h(`${label} by ${rowAxis}${columnAxis ? ` \xD7 ${columnAxis}` : ""}`)}">`,
    `<thead>${head.join("")}</thead>`,
    "<tbody>",
    ...body,
    "</tbody>",
    "</table>",
    "</div>",
    ...p.rows.length > rows.length || p.columns.length > columns.length ? [
      `<p class="note truncated">${p.rows.length} \xD7 ${p.columns.length} cells; the first ${rows.length} \xD7 ${columns.length} shown.</p>`
    ] : []
  ].join("\n");
}
function metricSections(data, opts) {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes || data.metrics.length === 0) return "";
  const centre = opts.centre ?? "median";
  return [
    '<section id="metrics">',
    "<h2>Metrics</h2>",
    `<p class="note">By ${h(axes.rows)}${axes.columns ? ` \xD7 ${h(axes.columns)}` : ""}. ${h(cellLegend(opts.centre ?? "median"))} Hover a cell for its min, median, max and mean. Charts: each cell's ${centre} as a bar${axes.columns ? `, grouped by ${h(axes.rows)}, a colour per ${h(axes.columns)}` : ""}, with an error bar over its interval. Heatmaps: each cell coloured between the smallest and the largest ${centre}.</p>`,
    ...data.metrics.map((metric) => {
      const dir = opts.directions.get(metric);
      const pivot = pivotOf(data.experiments, metric, axes.rows, axes.columns, centre);
      const series = chartOf(pivot, centre, HTML_CHART_LIMITS);
      const capped = chartCapNote(series, h);
      const label = metricLabel(metric, opts.metricInfo);
      const description = opts.metricInfo?.get(metric)?.description;
      return [
        '<section class="metric">',
        `<h3${description ? ` title="${h(description)}"` : ""}>${h(label)}${dir ? ` <span class="muted">(${dir} is better)</span>` : ""}</h3>`,
        ...description ? [`<p class="note description">${h(description)}</p>`] : [],
        pivotTable(data, metric, axes.rows, axes.columns, opts.centre ?? "median", label),
        ...series.groups.length > 0 ? [`<figure>${barChartSvg(series, opts.metricInfo)}</figure>`] : [],
        ...capped ? [`<p class="note capped">${capped}</p>`] : [],
        heatmapTable(pivot, centre, dir ?? opts.metricInfo?.get(metric)?.better, label),
        "</section>"
      ].join("\n");
    }),
    "</section>"
  ].join("\n");
}
function metricHeader(metric, info) {
  const description = info?.get(metric)?.description;
  return `<th scope="col" class="num"${description ? ` title="${h(description)}"` : ""}>${h(metricLabel(metric, info))}</th>`;
}
function resultRow2(x, params, metrics, packed) {
  const tone = countClass(x.status);
  const shared = x.packing ? ` title="${h(`shared with ${x.packing.neighbours.join(", ")}`)}"` : "";
  return `<tr${tone === "succeeded" ? "" : ` class="${tone}"`}><td><code>${h(x.id)}</code></td>` + params.map((p) => `<td>${h(x.params[p] ?? "")}</td>`).join("") + `<td>${statusCell(x.status)}</td><td class="num">${x.attempts ?? ""}</td><td class="num">${h(formatDuration(x.durationSeconds))}</td><td>${h(x.zone ?? "")}</td>` + (packed ? `<td${shared}>${h(placementText(x))}</td>` : "") + `<td class="num">${x.costUsd === void 0 ? "" : `$${x.costUsd.toFixed(4)}`}</td>` + metrics.map((m) => `<td class="num">${x.metrics[m] === void 0 ? "" : h(formatNumber(x.metrics[m]))}</td>`).join("") + "</tr>";
}
function resultsSection2(data, limit, info) {
  const params = paramNames(data.experiments).slice(0, MAX_RESULT_PARAMS);
  const metrics = data.metrics.slice(0, MAX_RESULT_METRICS);
  const shown = data.experiments.slice(0, limit);
  const notShown = data.experiments.length - shown.length;
  const packed = data.totals.packed !== void 0;
  return [
    '<section id="results">',
    `<h2>All ${data.experiments.length} experiment(s)</h2>`,
    '<div class="scroll">',
    '<table class="results">',
    `<thead><tr><th scope="col">experiment</th>${params.map((p) => `<th scope="col">${h(p)}</th>`).join("")}<th scope="col">status</th><th scope="col" class="num">attempts</th><th scope="col" class="num">duration</th><th scope="col">zone</th>${packed ? '<th scope="col">VM (packed)</th>' : ""}<th scope="col" class="num">cost</th>${metrics.map((m) => metricHeader(m, info)).join("")}</tr></thead>`,
    "<tbody>",
    ...shown.map((x) => resultRow2(x, params, metrics, packed)),
    "</tbody>",
    "</table>",
    "</div>",
    ...notShown > 0 ? [
      `<p class="note truncated">\u2026 and ${notShown} more experiment(s) not shown here (the first ${shown.length} of ${data.experiments.length}); manifest.json lists every one.</p>`
    ] : [],
    ...data.metrics.length > metrics.length ? [
      `<p class="note">The first ${metrics.length} of ${data.metrics.length} metrics are shown as columns.</p>`
    ] : [],
    "</section>"
  ].join("\n");
}
function renderHtml(data, opts, rowLimit = 1e3) {
  const body = [
    "<header>",
    `<h1>${h(opts.title)}</h1>`,
    `<p class="muted">Run <code>${h(data.runId)}</code> \xB7 ${h(data.source)}${(data.commits ?? []).length > 0 ? ` \xB7 code at ${(data.commits ?? []).map((c) => `<code>${h(c.slice(0, 12))}</code>`).join(", ")}` : ""}</p>`,
    ...(data.unplanned ?? []).length > 0 ? [
      `<p class="note">Not counted: the bucket also holds ${(data.unplanned ?? []).length} experiment(s) that are not in the plan (${(data.unplanned ?? []).slice(0, 5).map((id) => `<code>${h(id)}</code>`).join(", ")}${(data.unplanned ?? []).length > 5 ? ", \u2026" : ""}).</p>`
    ] : [],
    "</header>",
    "<main>",
    summarySection(data, opts.baseline),
    baselineSection2(opts.baseline, rowLimit, opts.metricInfo),
    opts.baseline.kind === "compared" ? trendSection(opts.baseline.history, data.metrics, opts.metricInfo) : "",
    failureSection2(data),
    metricSections(data, opts),
    resultsSection2(data, rowLimit, opts.metricInfo),
    "</main>",
    "<footer>Written by gce-matrix. Costs are estimates from list prices.</footer>"
  ].filter((part) => part !== "");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    // Even if a string slipped through unescaped, the page could neither run script nor load anything.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(opts.title)} \xB7 ${h(data.runId)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
    ""
  ].join("\n");
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
    const kept = await recordHistory(s, data, clients.storage, s.bucket, io);
    return { kind: "recorded", ref: s.baselineRef, sha: s.sha, objects: kept ? [...objects, kept] : objects };
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
  const compared = {
    kind: "compared",
    ref,
    which: found.which,
    baseline: found.baseline,
    ...comparedWith(data, found.baseline, s.directions, {
      thresholdPercent: s.thresholdPercent,
      test: s.test,
      adjust: s.adjust,
      alpha: s.alpha,
      replicate: s.replicate
    }),
    thresholdPercent: s.thresholdPercent
  };
  return withHistory(compared, s, data, clients.storage, s.bucket, io);
}
async function recordHistory(s, data, storage, bucket, io) {
  const keep = s.history ?? DEFAULT_HISTORY;
  if (keep === 0) return void 0;
  const entry = historyEntryOf(data, { sha: s.sha, recordedAt: /* @__PURE__ */ new Date(), replicate: s.replicate });
  try {
    const w = await appendHistoryEntry(storage, bucket, s.prefix, s.baselineRef, entry, keep);
    if (w.replaced) io.warning(w.replaced);
    io.info(
      `Kept ${w.history.entries.length} recorded run(s) of ${s.baselineRef} in ${w.object} (at most ${keep}).`
    );
    return w.object;
  } catch (err) {
    io.warning(`Could not add this run to the history of ${s.baselineRef}: ${err.message}`);
    return void 0;
  }
}
async function withHistory(compared, s, data, storage, bucket, io) {
  if ((s.history ?? DEFAULT_HISTORY) === 0) return compared;
  let history;
  try {
    history = await readHistory(storage, bucket, s.prefix, compared.ref);
  } catch (err) {
    io.warning(
      `Could not read the history of ${compared.ref} (${err.message}): reporting without z-scores.`
    );
    return compared;
  }
  if (!history) {
    io.info(
      `No history of ${compared.ref} yet (${historyObject(s.prefix, compared.ref)}): z-scores appear once ${MIN_HISTORY_RUNS} runs are recorded there.`
    );
    return compared;
  }
  return {
    ...compared,
    history: compareWithHistory(history, compared.significance.comparisons, { runId: data.runId })
  };
}
async function publishHtml(s, data, render, upload, io) {
  const uploading = upload !== void 0 && s.reportArtifact !== false;
  if (!s.reportPath && !uploading) return void 0;
  const name = s.reportArtifactName ?? reportArtifactName(data.runId);
  let doing = "write the HTML report";
  try {
    const temp = process.env.RUNNER_TEMP || tmpdir();
    const dir = s.reportPath ?? await mkdtemp(path.join(temp, "gce-matrix-report-"));
    const files = await writeReportFiles(dir, renderHtml(data, render), renderReport(data, render));
    io.output("report-html", files[0]);
    io.info(`Wrote ${REPORT_HTML} and ${REPORT_MARKDOWN} to ${dir}.`);
    if (!upload || !uploading) return void 0;
    doing = `upload the HTML report as artifact ${name}`;
    const id = await upload(name, dir, files);
    const link = reportArtifactLink(name, s.runUrl);
    io.output("report-artifact-name", name);
    io.output("report-artifact-id", id === void 0 ? "" : String(id));
    io.output("report-artifact-url", id === void 0 ? link.url : artifactDownloadUrl(s.runUrl, id));
    io.info(`Uploaded the HTML report as artifact ${name}${id === void 0 ? "" : ` (id ${id})`}.`);
    return link;
  } catch (err) {
    io.warning(`Could not ${doing}: ${err.message}. The job summary still has the report.`);
    return void 0;
  }
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
  let render = {
    title: s.title,
    pivot: s.pivot,
    centre: s.centre,
    directions: s.directions,
    metricInfo: s.metricInfo,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl,
    note: opts.note
  };
  const htmlArtifact = await publishHtml(s, data, render, opts.upload, io);
  if (htmlArtifact) render = { ...render, htmlArtifact };
  let summary = renderReport(data, render);
  if (summary.length > SUMMARY_LIMIT) summary = renderReport(data, render, 100);
  if (summary.length > SUMMARY_LIMIT) summary = renderComment(data, render);
  await io.summary(summary);
  const regressions = significantRegressions(baseline).length;
  io.output("summary-json", summaryJson(data, baseline));
  io.output("regressions", String(regressions));
  io.info(
    `Rendered ${data.experiments.length} experiment(s), ${data.metrics.length} metric(s) in ${Date.now() - started} ms; ${regressions} regression(s).`
  );
  const done = (comment) => ({
    data,
    regressions,
    comment,
    htmlArtifact
  });
  if (!s.comment || !opts.comment) return done();
  const onCommit = !s.prNumber && opts.commitComment === true && /^[0-9a-f]{40}$/.test(s.sha);
  if (!s.prNumber && !onCommit) {
    io.info("No pull request for this event (and no pr-number): no comment, the job summary has the report.");
    return done();
  }
  const where = s.prNumber ? `pull request #${s.prNumber}` : `commit ${s.sha.slice(0, 12)}`;
  if (!s.githubToken) {
    io.warning(`No github-token: cannot comment on the ${where}; the job summary has the report.`);
    return done();
  }
  const body = renderComment(data, { ...render, marker });
  try {
    const c = await upsertComment({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      target: s.prNumber ? { number: s.prNumber } : { sha: s.sha },
      marker,
      body
    });
    io.output("comment-id", String(c.id));
    io.output("comment-url", c.url);
    io.info(
      `${c.action === "created" ? "Created" : "Updated"} the report comment on ${s.prNumber ? `#${s.prNumber}` : `commit ${s.sha.slice(0, 12)}`} (${body.length} characters).`
    );
    return done({ id: c.id, url: c.url });
  } catch (err) {
    io.warning(
      `Could not comment on ${where}: ${err.message}. ` + (s.prNumber ? "For pull requests from forks, report from a workflow_run workflow (see actions/report/README.md)." : "The job summary has the report (commit comments need contents: write).")
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
  renderReport,
  escapeHtml,
  renderHtml,
  publishReport
};
