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
  pivotOf,
  readExperimentFiles,
  readManifest,
  reportData
} from "./chunk-ZJODKGQF.js";
import {
  getOctokit
} from "./chunk-LAHZ6HFN.js";
import {
  DEFAULT_HISTORY,
  MIN_HISTORY_RUNS,
  Z_LIMIT,
  appendHistory,
  compareWithHistory,
  comparedWith,
  formatZ,
  historyEntryOf,
  historyRowOf,
  markerLine,
  parseHistory
} from "./chunk-QW2DTW2M.js";
import {
  escapeMarkdown
} from "./chunk-J3GQTCY5.js";
import {
  baselineOf,
  parseBaseline
} from "./chunk-JQUUWNOK.js";

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
async function appendHistoryEntry(storage, bucket, prefix, ref, entry, keep) {
  const name = historyObject(prefix, ref);
  const file = storage.bucket(bucket).file(name);
  for (let attempt = 1; ; attempt++) {
    let generation = 0;
    let current;
    let replaced;
    try {
      const [meta] = await file.getMetadata();
      generation = Number(meta.generation ?? 0);
      const [buf] = await file.download();
      current = parseHistory(buf.toString("utf8"));
      if (!current) replaced = `${name} was not a history (replaced by a new one)`;
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    const history = appendHistory(current, entry, { ref, keep });
    try {
      await file.save(JSON.stringify(history), {
        resumable: false,
        contentType: "application/json",
        preconditionOpts: { ifGenerationMatch: generation }
      });
      return { object: name, history, ...replaced ? { replaced } : {} };
    } catch (err) {
      if (status(err) !== 412 || attempt >= 5) throw err;
    }
  }
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
function headline(data, baseline) {
  const t = data.totals;
  const parts = [
    `Run \`${e(data.runId)}\`: ${t.experiments} experiment(s), **${t.succeeded} succeeded**, ${t.failed} failed, ${t.missing} missing${t.lost > 0 ? ` (**${t.lost} lost**)` : ""}`,
    `~$${t.costUsd.toFixed(2)} (estimate), ${t.vmHours.toFixed(2)} VM hours, ${t.retries} retr${t.retries === 1 ? "y" : "ies"}`
  ];
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
function historyRule(h, name = (text) => `\`${e(text)}\``) {
  const runs = h.history.entries.length;
  return `z (history): this run's median against the medians of the last ${runs} recorded run(s) of ${name(h.ref)} (their mean and standard deviation, from at least ${MIN_HISTORY_RUNS} runs); a |z| beyond ${Z_LIMIT} in the worse direction is outside the branch's run-to-run noise. It is noted beside the verdict and does not change it.`;
}
function withZColumn(h, header, rows, shown) {
  if (!h) return [...header, ...rows];
  const row = historyRowOf(h);
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
function resultRow(x, metrics) {
  return `| ${e(x.id)} | ${STATUS_MARK[x.status]} | ${x.attempts ?? ""} | ${formatDuration(x.durationSeconds)} | ${e(x.zone ?? "")} | ${x.costUsd === void 0 ? "" : `$${x.costUsd.toFixed(4)}`} | ${metrics.map((m) => x.metrics[m] === void 0 ? "" : formatNumber(x.metrics[m])).join(" | ")} |`;
}
function resultsSection(data, limit, info) {
  const metrics = data.metrics.slice(0, 10);
  const shown = data.experiments.slice(0, limit);
  return [
    `<details><summary>All ${data.experiments.length} experiment(s)</summary>`,
    "",
    `| experiment | status | attempts | duration | zone | cost | ${metrics.map((m) => e(metricLabel(m, info))).join(" | ")} |`,
    `| --- | --- | ---: | ---: | --- | ---: | ${metrics.map(() => "---:").join(" | ")} |`,
    ...shown.map((x) => resultRow(x, metrics)),
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
    ""
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
function historyJson(h, max) {
  const scored = h.rows.filter((r) => r.z !== void 0).sort((a, b) => Number(b.outside) - Number(a.outside) || Math.abs(b.z ?? 0) - Math.abs(a.z ?? 0));
  return {
    ref: h.ref,
    runs: h.history.entries.length,
    outside: h.rows.filter((r) => r.outside).length,
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
    centre: s.centre,
    directions: s.directions,
    metricInfo: s.metricInfo,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl,
    note: opts.note
  };
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
  const done = (comment) => ({ data, regressions, comment });
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
  formatNumber,
  formatCell,
  cellLegend,
  formatDelta,
  formatDuration,
  significantRegressions,
  sampleVerdict,
  formatShift,
  formatP,
  significanceRule,
  historyRule,
  byVerdict,
  failureReason,
  chartOf,
  intervalWords,
  chartTitle,
  chartCapNote,
  renderReport,
  publishReport
};
