import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  GcpError,
  adjustPValues,
  classifyError,
  hodgesLehmann,
  httpStatus,
  mannWhitneyU,
  minimumAchievableP,
  smallestNForSignificance,
  summarize,
  welchT,
  wilcoxonSignedRank
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  EXPERIMENT_ID,
  compare,
  directionsOf,
  escapeMarkdown,
  parseAuthInputs,
  parseMetricInfos,
  parseMetricsText,
  readBoolean,
  readInteger,
  runPrefix
} from "./chunk-F4TJMFJC.js";

// src/report/inputs.ts
import path2 from "node:path";

// src/report/significance.ts
var SIGNIFICANCE_TESTS = ["mann-whitney", "welch", "signed-rank"];
var P_ADJUSTMENTS = ["holm", "bh"];
var REPLICATE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
var DEFAULT_METHOD = {
  test: "mann-whitney",
  adjust: "holm",
  alpha: 0.05,
  replicate: "seed"
};
function parseStatisticalMethod(raw, label) {
  const test = raw.test?.trim().toLowerCase() || DEFAULT_METHOD.test;
  if (!SIGNIFICANCE_TESTS.includes(test)) {
    throw new ConfigurationError(
      `${label("test")} must be mann-whitney (the default), welch or signed-rank (paired by the replicate parameter); got ${JSON.stringify(raw.test)}`
    );
  }
  const adjust = raw.adjust?.trim().toLowerCase() || DEFAULT_METHOD.adjust;
  if (!P_ADJUSTMENTS.includes(adjust)) {
    throw new ConfigurationError(
      `${label("adjust")} must be holm (the default) or bh (Benjamini-Hochberg); got ${JSON.stringify(raw.adjust)}`
    );
  }
  const alphaRaw = raw.alpha?.trim() ?? "";
  const alpha = alphaRaw === "" ? DEFAULT_METHOD.alpha : Number(alphaRaw);
  if (!/^[0-9.eE+-]+$/.test(alphaRaw || "0") || !(alpha > 0 && alpha < 0.5)) {
    throw new ConfigurationError(
      `${label("alpha")} must be a number above 0 and below 0.5, such as 0.05 (the default) or 0.01; got ${JSON.stringify(raw.alpha)}`
    );
  }
  const replicate = raw.replicate?.trim() || DEFAULT_METHOD.replicate;
  if (!REPLICATE_NAME.test(replicate)) {
    throw new ConfigurationError(
      `${label("replicate")} must be a parameter name (a letter, then letters, digits, _ . -), such as seed (the default); got ${JSON.stringify(raw.replicate)}`
    );
  }
  return { test, adjust, alpha, replicate };
}
function combinationOf(params, replicate) {
  const kept = Object.keys(params).filter((k) => k !== replicate).sort().map((k) => [k, params[k]]);
  return {
    key: JSON.stringify(kept),
    label: kept.map(([k, v]) => `${k}=${v}`).join(", "),
    params: Object.fromEntries(kept)
  };
}
function compareRepetitions(data, baseline, directions, opts) {
  const replicate = opts.replicate ?? DEFAULT_METHOD.replicate;
  const alpha = opts.alpha ?? DEFAULT_METHOD.alpha;
  const adjust = opts.adjust ?? DEFAULT_METHOD.adjust;
  const test = opts.test ?? DEFAULT_METHOD.test;
  const groups = /* @__PURE__ */ new Map();
  const groupOf = (id, params) => {
    const c = Object.hasOwn(params, replicate) ? combinationOf(params, replicate) : { key: JSON.stringify(["experiment", id]), label: id, params: { ...params } };
    let g = groups.get(c.key);
    if (!g) {
      g = { label: c.label, params: c.params, current: /* @__PURE__ */ new Map(), base: /* @__PURE__ */ new Map() };
      groups.set(c.key, g);
    }
    return g;
  };
  const put = (to, metric, id, value) => {
    const values = to.get(metric) ?? /* @__PURE__ */ new Map();
    values.set(id, value);
    to.set(metric, values);
  };
  for (const e of data.experiments) {
    const g = groupOf(e.id, e.params);
    if (e.status === "succeeded") {
      for (const [metric, value] of Object.entries(e.metrics)) put(g.current, metric, e.id, value);
    }
    const base = Object.hasOwn(baseline.experiments, e.id) ? baseline.experiments[e.id] : void 0;
    for (const [metric, value] of Object.entries(base?.metrics ?? {})) {
      if (typeof value === "number" && Number.isFinite(value)) put(g.base, metric, e.id, value);
    }
  }
  const drafts = [];
  const sorted = [...groups.values()].sort((a, b) => a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
  for (const g of sorted) {
    for (const metric of [...g.current.keys()].sort()) {
      const currentOf = g.current.get(metric) ?? /* @__PURE__ */ new Map();
      const baseOf = g.base.get(metric) ?? /* @__PURE__ */ new Map();
      const paired = test === "signed-rank";
      const pairs = paired ? [...currentOf].flatMap(([id, b]) => {
        const a = baseOf.get(id);
        return a === void 0 ? [] : [[a, b]];
      }) : [];
      const current = paired ? pairs.map(([, b]) => b) : [...currentOf.values()];
      const base = paired ? pairs.map(([a]) => a) : [...baseOf.values()];
      if (current.length === 0 || base.length === 0) continue;
      const baseSummary = summarize(base);
      const shift = paired ? medianShift(pairs.map(([a, b]) => b - a)) : hodgesLehmann(base, current);
      const scale = Math.abs(baseSummary.median);
      const percent = scale === 0 ? void 0 : {
        shift: shift.shift / scale * 100,
        low: shift.low / scale * 100,
        high: shift.high / scale * 100
      };
      let p;
      let needed;
      if (paired) {
        if (2 / 2 ** pairs.length >= alpha) needed = smallestPairsForSignificance(alpha);
        else p = wilcoxonSignedRank(pairs).p;
      } else if (minimumAchievableP(base.length, current.length) >= alpha) {
        needed = smallestNForSignificance(alpha);
      } else if (test === "welch") {
        p = base.length > 1 && current.length > 1 && !(allEqual(base) && allEqual(current)) ? welchT(base, current).p : void 0;
        if (p === void 0) needed = Math.max(2, smallestNForSignificance(alpha));
      } else {
        p = mannWhitneyU(base, current).p;
      }
      drafts.push({
        combination: g.label,
        params: g.params,
        metric,
        direction: directions.get(metric),
        baseline: baseSummary,
        current: summarize(current),
        shift,
        percent,
        test,
        ...paired ? { pairs: pairs.length } : {},
        p,
        ...needed !== void 0 ? { needed } : {}
      });
    }
  }
  const tested = drafts.filter((d) => d.p !== void 0);
  const adjusted = adjustPValues(
    tested.map((d) => d.p),
    adjust
  );
  const adjustedOf = new Map(tested.map((d, i) => [d, adjusted[i]]));
  const comparisons = drafts.map((d) => {
    const pAdjusted = adjustedOf.get(d);
    return { ...d, pAdjusted, verdict: verdictOf(d, pAdjusted, alpha, opts.thresholdPercent) };
  });
  return { comparisons, alpha, adjust, test, replicate };
}
function comparedWith(data, baseline, directions, opts) {
  return {
    comparison: compare(data, baseline, directions, opts.thresholdPercent),
    significance: compareRepetitions(data, baseline, directions, opts)
  };
}
function smallestPairsForSignificance(alpha) {
  if (!(alpha > 0 && alpha <= 1))
    throw new RangeError(`smallestPairsForSignificance: alpha must be in (0, 1] (got ${alpha})`);
  let n = 1;
  while (2 / 2 ** n >= alpha) n++;
  return n;
}
function medianShift(differences) {
  const s = summarize(differences);
  if (s.method === "order-statistics") {
    return {
      shift: s.median,
      low: s.low ?? s.min,
      high: s.high ?? s.max,
      method: "exact",
      ...s.achievedLevel !== void 0 ? { achievedLevel: s.achievedLevel } : {}
    };
  }
  return { shift: s.median, low: s.min, high: s.max, method: "range" };
}
function allEqual(values) {
  return values.every((v) => v === values[0]);
}
function verdictOf(d, pAdjusted, alpha, thresholdPercent) {
  if (pAdjusted === void 0) return "too-few";
  if (!(pAdjusted < alpha)) return "not-significant";
  const beyond = d.percent === void 0 ? d.shift.shift !== 0 : Math.abs(d.percent.shift) > thresholdPercent;
  if (!beyond) return "unchanged";
  if (!d.direction) return "changed";
  const better = d.direction === "higher" ? d.shift.shift > 0 : d.shift.shift < 0;
  return better ? "improved" : "regressed";
}

// src/report/history.ts
var DEFAULT_HISTORY = 20;
var MAX_HISTORY = 200;
var MIN_HISTORY_RUNS = 3;
var Z_LIMIT = 3;
var MAX_STORED_VALUES = 5;
var MAX_ENTRY_CELLS = 5e3;
var MAX_HISTORY_CHARS = 1e7;
function compact(n) {
  return Number(n.toPrecision(6));
}
function sampleSd(values) {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return Math.sqrt(ss / (values.length - 1));
}
function historyCellOf(values) {
  const s = summarize(values);
  return {
    n: s.n,
    centre: compact(s.centre),
    mean: compact(s.mean),
    ...s.low !== void 0 && s.high !== void 0 ? { low: compact(s.low), high: compact(s.high) } : {},
    ...s.n > 1 ? { sd: compact(values.every((v) => v === values[0]) ? 0 : sampleSd(values)) } : {},
    ...s.n > 1 && s.n <= MAX_STORED_VALUES ? { values: values.map(compact) } : {}
  };
}
function historyEntryOf(data, opts) {
  const replicate = opts.replicate ?? "seed";
  const groups = /* @__PURE__ */ new Map();
  for (const e of data.experiments) {
    if (e.status !== "succeeded") continue;
    const label = Object.hasOwn(e.params, replicate) ? combinationOf(e.params, replicate).label : e.id;
    let metrics = groups.get(label);
    if (!metrics) {
      metrics = /* @__PURE__ */ new Map();
      groups.set(label, metrics);
    }
    for (const [metric, value] of Object.entries(e.metrics)) {
      if (!Number.isFinite(value)) continue;
      const list = metrics.get(metric) ?? [];
      list.push(value);
      metrics.set(metric, list);
    }
  }
  const maxCells = opts.maxCells ?? MAX_ENTRY_CELLS;
  let cells = 0;
  let omitted = 0;
  const combinations = [];
  for (const label of [...groups.keys()].sort()) {
    const kept = [];
    for (const [metric, values] of [...groups.get(label) ?? []].sort(([a], [b]) => a < b ? -1 : 1)) {
      if (cells >= maxCells) {
        omitted += 1;
        continue;
      }
      kept.push([metric, historyCellOf(values)]);
      cells += 1;
    }
    if (kept.length > 0) combinations.push([label, Object.fromEntries(kept)]);
  }
  return {
    runId: data.runId,
    sha: opts.sha,
    recordedAt: opts.recordedAt.toISOString(),
    combinations: Object.fromEntries(combinations),
    ...omitted > 0 ? { omitted } : {}
  };
}
function appendHistory(history, entry, opts) {
  const entries = [...(history?.entries ?? []).filter((x) => x.runId !== entry.runId), entry];
  let kept = entries.slice(Math.max(0, entries.length - Math.max(1, opts.keep)));
  const maxChars = opts.maxChars ?? MAX_HISTORY_CHARS;
  const sizes = kept.map((x) => JSON.stringify(x).length + 1);
  let total = sizes.reduce((s, n) => s + n, 0);
  while (kept.length > 1 && total > maxChars) {
    total -= sizes.shift() ?? 0;
    kept = kept.slice(1);
  }
  return { schema: 1, ref: opts.ref, entries: kept };
}
var isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
var finite = (v) => typeof v === "number" && Number.isFinite(v);
function parseCell(v) {
  if (!isObj(v) || !finite(v.n) || v.n < 1 || !finite(v.centre)) return void 0;
  return {
    n: v.n,
    centre: v.centre,
    mean: finite(v.mean) ? v.mean : v.centre,
    ...finite(v.low) && finite(v.high) ? { low: v.low, high: v.high } : {},
    ...finite(v.sd) ? { sd: v.sd } : {},
    ...Array.isArray(v.values) && v.values.every(finite) ? { values: v.values } : {}
  };
}
function parseEntry(v) {
  if (!isObj(v) || typeof v.runId !== "string" || !isObj(v.combinations)) return void 0;
  const combinations = [];
  for (const [label, metrics] of Object.entries(v.combinations)) {
    if (!isObj(metrics)) continue;
    const cells = Object.entries(metrics).flatMap(([m, c]) => {
      const cell = parseCell(c);
      return cell ? [[m, cell]] : [];
    });
    if (cells.length > 0) combinations.push([label, Object.fromEntries(cells)]);
  }
  return {
    runId: v.runId,
    sha: typeof v.sha === "string" ? v.sha : "",
    recordedAt: typeof v.recordedAt === "string" ? v.recordedAt : "",
    combinations: Object.fromEntries(combinations),
    ...finite(v.omitted) && v.omitted > 0 ? { omitted: v.omitted } : {}
  };
}
function parseHistory(text) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return void 0;
  }
  if (!isObj(v) || v.schema !== 1 || !Array.isArray(v.entries)) return void 0;
  return {
    schema: 1,
    ref: typeof v.ref === "string" ? v.ref : "",
    entries: v.entries.flatMap((x) => {
      const entry = parseEntry(x);
      return entry ? [entry] : [];
    })
  };
}
function cellOf(entry, combination, metric) {
  const metrics = Object.hasOwn(entry.combinations, combination) ? entry.combinations[combination] : void 0;
  return metrics && Object.hasOwn(metrics, metric) ? metrics[metric] : void 0;
}
function zScore(centres, current, direction) {
  const runs = centres.length;
  if (runs < MIN_HISTORY_RUNS) {
    return { runs, note: `${runs} recorded run(s); needs ${MIN_HISTORY_RUNS}`, outside: false };
  }
  const mean = centres.reduce((s, v) => s + v, 0) / runs;
  if (centres.every((c) => c === centres[0])) {
    return {
      runs,
      mean: centres[0],
      sd: 0,
      note: "no run-to-run spread: every recorded run had this centre",
      outside: false
    };
  }
  const sd = sampleSd(centres);
  const z = (current - mean) / sd;
  const worse = direction === "higher" ? z < 0 : direction === "lower" ? z > 0 : true;
  return { runs, mean, sd, z, outside: Math.abs(z) > Z_LIMIT && worse };
}
function key(combination, metric) {
  return JSON.stringify([combination, metric]);
}
function compareWithHistory(history, comparisons, opts = {}) {
  const entries = history.entries.filter((x) => opts.runId === void 0 || x.runId !== opts.runId);
  const rows = comparisons.map((c) => {
    const centres = entries.flatMap((x) => {
      const cell = cellOf(x, c.combination, c.metric);
      return cell ? [cell.centre] : [];
    });
    return {
      combination: c.combination,
      metric: c.metric,
      current: c.current.centre,
      ...zScore(centres, c.current.centre, c.direction)
    };
  });
  return { ref: history.ref, history: { ...history, entries }, rows };
}
function historyRowOf(h) {
  if (!h) return () => void 0;
  const byKey = new Map(h.rows.map((r) => [key(r.combination, r.metric), r]));
  return (combination, metric) => byKey.get(key(combination, metric));
}
function formatZ(r) {
  if (!r) return "\u2014";
  if (r.z === void 0) return r.runs < MIN_HISTORY_RUNS ? `\u2014 (${r.runs} run(s))` : "\u2014 (no spread)";
  const text = `${r.z > 0 ? "+" : ""}${r.z.toFixed(1)}`;
  return r.outside ? `${text} \u26A0\uFE0F outside the noise` : text;
}

// src/report/report-artifact.ts
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
var REPORT_HTML = "report.html";
var REPORT_MARKDOWN = "report.md";
var UNSAFE = /[":<>|*?\r\n\\/]/g;
function reportArtifactName(runId) {
  return `gce-matrix-report-${runId.slice(0, 100).replace(UNSAFE, "_") || "run"}`;
}
function isArtifactName(name) {
  return name.trim() !== "" && !new RegExp(UNSAFE.source).test(name);
}
function reportArtifactLink(name, runUrl) {
  return { name, url: `${runUrl}#artifacts` };
}
function artifactDownloadUrl(runUrl, id) {
  return `${runUrl}/artifacts/${id}`;
}
function htmlArtifactLine(link) {
  return `Full report (HTML, with charts and trends): artifact [${escapeMarkdown(link.name)}](${link.url}).`;
}
async function writeReportFiles(dir, html, markdown) {
  await mkdir(dir, { recursive: true });
  const files = [path.resolve(dir, REPORT_HTML), path.resolve(dir, REPORT_MARKDOWN)];
  await writeFile(files[0], html);
  await writeFile(files[1], markdown);
  return files;
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
function markerLine(key2) {
  return `<!-- gce-matrix-report: ${markerKey(key2)} -->`;
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
  let metricInfo;
  try {
    metricInfo = parseMetricsText(read("metrics"));
  } catch (err) {
    throw new ConfigurationError(`input ${err.message}`);
  }
  const directions = directionsOf(metricInfo);
  const thresholdRaw = read("regression-threshold").trim() || "5";
  const thresholdPercent = Number(thresholdRaw.replace(/%$/, ""));
  if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0) {
    throw new ConfigurationError(
      `input regression-threshold must be a percentage of 0 or more (got ${JSON.stringify(thresholdRaw)})`
    );
  }
  const method = parseStatisticalMethod(
    { test: read("test"), adjust: read("adjust"), alpha: read("alpha"), replicate: read("replicate") },
    (setting) => `input ${setting}`
  );
  const historyRaw = read("history").trim() || String(DEFAULT_HISTORY);
  const history = Number(historyRaw);
  if (!/^\d+$/.test(historyRaw) || history > MAX_HISTORY) {
    throw new ConfigurationError(
      `input history must be how many recorded runs of the branch to keep for z-scores and trends, a whole number from 0 (off) to ${MAX_HISTORY} (got ${JSON.stringify(historyRaw)})`
    );
  }
  const commentRaw = read("comment").trim().toLowerCase() || "true";
  if (commentRaw !== "true" && commentRaw !== "false") {
    throw new ConfigurationError(`input comment must be true or false (got ${JSON.stringify(commentRaw)})`);
  }
  const reportPath = read("report-path").trim();
  const reportArtifactName2 = read("report-artifact-name").trim() || void 0;
  if (reportArtifactName2 !== void 0 && !isArtifactName(reportArtifactName2)) {
    throw new ConfigurationError(
      `input report-artifact-name ${JSON.stringify(reportArtifactName2)} holds a character artifacts refuse (" : < > | * ? \\ / CR LF); choose another name`
    );
  }
  const retention = read("retention-days").trim();
  const title = read("title").trim() || "gce-matrix report";
  const runIdInput = read("run-id").trim() || void 0;
  const repository = env.GITHUB_REPOSITORY ?? str(repo.full_name);
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const runUrl = `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID ?? ""}`;
  const originRunId = fromRun ? str(run.id) : env.GITHUB_RUN_ID ?? "";
  const workflowName = fromRun ? str(run.name) || str(obj(p.workflow).name) : env.GITHUB_WORKFLOW || "";
  return {
    path: path2.resolve(workspace, read("path").trim() || "gce-matrix-results"),
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
    metricInfo,
    thresholdPercent,
    ...method,
    history,
    prNumber,
    githubToken: read("github-token").trim(),
    comment: commentRaw === "true",
    title,
    markerKey: markerKey(`${workflowName || "workflow"}/${title}`),
    repository,
    apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""),
    runUrl,
    artifactUrl: `${server}/${repository}/actions/runs/${originRunId}#artifacts`,
    reportPath: reportPath ? path2.resolve(workspace, reportPath) : void 0,
    reportArtifact: readBoolean(read, "report-artifact", true),
    reportArtifactName: reportArtifactName2,
    retentionDays: retention ? readInteger(read, "retention-days", 0, 1, 400) : void 0
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
function str2(o, key2, name, pattern) {
  const v = o[key2];
  if (typeof v !== "string" || pattern && !pattern.test(v)) {
    throw new Error(`${name} is corrupt (${key2} is ${v === void 0 ? "missing" : "not valid"})`);
  }
  return v;
}
function time(o, key2, name) {
  const v = str2(o, key2, name);
  if (!Number.isFinite(Date.parse(v))) throw new Error(`${name} is corrupt (${key2} is not a time)`);
  return v;
}
function guard(name, fn) {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return bad(err.message || `${name} is corrupt`);
  }
}
function metricsOf(v, name) {
  if (v === void 0) return {};
  try {
    return { metrics: Object.fromEntries(parseMetricInfos(v, "report.metrics")) };
  } catch {
    throw new Error(`${name} is corrupt (report.metrics)`);
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
  const optional = (key2, valid) => {
    if (o[key2] === void 0) return {};
    if (!valid(o[key2])) throw new Error(`${name} is corrupt (report.${key2})`);
    return { [key2]: o[key2] };
  };
  return {
    title: str2(o, "title", name),
    markerKey: str2(o, "markerKey", name),
    pivot,
    ...optional("centre", (x) => x === "median" || x === "mean"),
    directions,
    ...metricsOf(o.metrics, name),
    thresholdPercent: threshold,
    ...optional("test", (x) => SIGNIFICANCE_TESTS.includes(x)),
    ...optional("adjust", (x) => P_ADJUSTMENTS.includes(x)),
    ...optional("alpha", (x) => typeof x === "number" && x > 0 && x < 0.5),
    ...optional("replicate", (x) => typeof x === "string" && REPLICATE_NAME.test(x)),
    ...optional(
      "history",
      (x) => Number.isInteger(x) && x >= 0 && x <= MAX_HISTORY
    ),
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
  DEFAULT_METHOD,
  parseStatisticalMethod,
  comparedWith,
  DEFAULT_HISTORY,
  MIN_HISTORY_RUNS,
  Z_LIMIT,
  historyEntryOf,
  appendHistory,
  parseHistory,
  cellOf,
  compareWithHistory,
  historyRowOf,
  formatZ,
  REPORT_HTML,
  REPORT_MARKDOWN,
  reportArtifactName,
  reportArtifactLink,
  artifactDownloadUrl,
  htmlArtifactLine,
  writeReportFiles,
  markerKey,
  markerLine,
  parseReportInputs,
  RECORD_SCHEMA,
  detachedRecord,
  runRecordFromEnv,
  createObjectOnce,
  RunStore
};
