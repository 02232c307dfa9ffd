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
  countClass
} from "./chunk-2CTBM5IU.js";
import {
  escapeMarkdown
} from "./chunk-QUTAAEM7.js";
import {
  ConfigurationError
} from "./chunk-UEQNVQMM.js";

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
async function readExperimentFiles(root, manifest) {
  const out = /* @__PURE__ */ new Map();
  const queue = [...manifest.experiments];
  const worker = async () => {
    for (let x = queue.shift(); x; x = queue.shift()) {
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
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return out;
}

// src/report/model.ts
function paramText(v) {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "";
}
function durationSeconds(start, end) {
  if (!start || !end) return void 0;
  const s = Date.parse(start);
  const e2 = Date.parse(end);
  return Number.isFinite(s) && Number.isFinite(e2) && e2 >= s ? (e2 - s) / 1e3 : void 0;
}
function numericMetrics(raw) {
  const out = {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
function toReportExperiment(e2, files = {}) {
  const rawParams = e2.params ?? e2.provenance?.parameters ?? {};
  const params = {};
  if (rawParams && typeof rawParams === "object") {
    for (const [k, v] of Object.entries(rawParams)) params[k] = paramText(v);
  }
  const seconds = durationSeconds(e2.startedAt, e2.endedAt);
  const machineType = e2.provenance?.machineType;
  const costUsd = seconds !== void 0 && typeof machineType === "string" ? estimateCostUsd(machineType, [], e2.provenance?.spot === true, seconds) : void 0;
  return {
    id: e2.id,
    status: e2.status,
    attempts: e2.attempts,
    zone: typeof e2.provenance?.zone === "string" ? e2.provenance.zone : void 0,
    durationSeconds: seconds,
    costUsd,
    params,
    metrics: numericMetrics(files.metrics),
    reason: e2.reason,
    logTail: files.logTail,
    serialTail: files.serialTail,
    problems: (e2.problems ?? []).filter((p) => p.kind !== "renamed").map((p) => `${String(p.kind)}: ${String(p.message)}`)
  };
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
  for (const e2 of experiments) {
    t.experiments += 1;
    if (e2.status === "lost") t.lost += 1;
    t[countClass(e2.status)] += 1;
    t.costUsd += e2.costUsd ?? 0;
    t.vmHours += (e2.durationSeconds ?? 0) / 3600;
    if (e2.attempts && e2.attempts > 1) t.retries += e2.attempts - 1;
  }
  return t;
}
function metricNames(experiments) {
  const names = /* @__PURE__ */ new Set();
  for (const e2 of experiments) for (const k of Object.keys(e2.metrics)) names.add(k);
  return [...names];
}
function paramNames(experiments) {
  const names = /* @__PURE__ */ new Set();
  for (const e2 of experiments) for (const k of Object.keys(e2.params)) names.add(k);
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
function pivotOf(experiments, metric, rowAxis, columnAxis) {
  const rows = [];
  const columns = [];
  const sums = /* @__PURE__ */ new Map();
  for (const e2 of experiments) {
    const value = e2.metrics[metric];
    if (value === void 0) continue;
    const r = e2.params[rowAxis] ?? "";
    const c = columnAxis === void 0 ? "" : e2.params[columnAxis] ?? "";
    if (!rows.includes(r)) rows.push(r);
    if (!columns.includes(c)) columns.push(c);
    const key = JSON.stringify([r, c]);
    const s = sums.get(key) ?? { sum: 0, n: 0 };
    s.sum += value;
    s.n += 1;
    sums.set(key, s);
  }
  rows.sort(byText);
  columns.sort(byText);
  const cells = rows.map(
    (r) => columns.map((c) => {
      const s = sums.get(JSON.stringify([r, c]));
      return s ? { mean: s.sum / s.n, n: s.n } : void 0;
    })
  );
  return { metric, rowAxis, columnAxis, rows, columns, cells };
}
function meansBy(experiments, metric, axis) {
  const groups = /* @__PURE__ */ new Map();
  for (const e2 of experiments) {
    const v = e2.metrics[metric];
    if (v === void 0) continue;
    const label = e2.params[axis] ?? "";
    const g = groups.get(label) ?? { sum: 0, n: 0 };
    g.sum += v;
    g.n += 1;
    groups.set(label, g);
  }
  return [...groups].sort(([a], [b]) => byText(a, b)).map(([label, g]) => ({ label, mean: g.sum / g.n, n: g.n }));
}
function reportData(manifest, files) {
  const experiments = manifest.experiments.map((e2) => toReportExperiment(e2, files.get(e2.id)));
  return {
    runId: String(manifest.runId),
    source: String(manifest.source),
    experiments,
    totals: totalsOf(experiments),
    metrics: metricNames(experiments)
  };
}

// src/report/render.ts
var COMMENT_LIMIT = 65536;
var SUMMARY_LIMIT = 9e5;
var MAX_PIVOT_ROWS = 60;
var MAX_PIVOT_COLUMNS = 25;
var MAX_CHART_BARS = 30;
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
  const safe = text.replace(/[^A-Za-z0-9 ._:+/=-]/g, "_").slice(0, 40);
  return safe.trim() || "_";
}
function headline(data, baseline) {
  const t = data.totals;
  const parts = [
    `Run \`${e(data.runId)}\`: ${t.experiments} experiment(s), **${t.succeeded} succeeded**, ${t.failed} failed, ${t.missing} missing${t.lost > 0 ? ` (**${t.lost} lost**)` : ""}`,
    `~$${t.costUsd.toFixed(2)} (estimate), ${t.vmHours.toFixed(2)} VM hours, ${t.retries} retr${t.retries === 1 ? "y" : "ies"}`
  ];
  if (baseline.kind === "compared") {
    const c = baseline.comparison;
    parts.push(
      c.regressions.length > 0 ? `**${c.regressions.length} regression(s)** beyond ${baseline.thresholdPercent}%` : `no regression beyond ${baseline.thresholdPercent}%`
    );
  }
  return `${parts.join("; ")}.`;
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
      const which = b.which === "merge-base" ? `the baseline of the merge base \`${e(base.sha.slice(0, 12))}\`` : `the newest baseline on \`${e(b.ref)}\` (\`${e(base.sha.slice(0, 12))}\`; none was recorded for the merge base)`;
      const c = b.comparison;
      return [
        `**Baseline:** compared with ${which}, run \`${e(base.runId)}\`, recorded ${e(base.recordedAt)}: ${c.deltas.length} value(s) compared, ${c.regressions.length} worse and ${c.improvements} better beyond ${b.thresholdPercent}%` + (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : "") + (c.new > 0 ? `; ${c.new} experiment(s) are new` : "") + "."
      ];
    }
  }
}
function deltaRows(deltas) {
  return deltas.map(
    (d) => `| ${e(d.experiment)} | ${e(d.metric)} | ${formatNumber(d.baseline)} | ${formatNumber(d.current)} | ${formatDelta(d)} | ${d.direction ? `${d.direction} is better` : "unknown"} | ${VERDICT_MARK[d.verdict]} |`
  );
}
var DELTA_HEADER = [
  "| experiment | metric | baseline | now | change | direction | verdict |",
  "| --- | --- | ---: | ---: | ---: | --- | --- |"
];
function regressionSection(b, limit = Infinity) {
  if (b.kind !== "compared" || b.comparison.regressions.length === 0) return [];
  const all = b.comparison.regressions;
  const shown = all.slice(0, limit);
  return [
    `### Regressions (${all.length})`,
    "",
    ...DELTA_HEADER,
    ...deltaRows(shown),
    ...all.length > shown.length ? ["", `... and ${all.length - shown.length} more.`] : []
  ];
}
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
    const p = pivotOf(data.experiments, metric, axes.rows, axes.columns);
    const dir = opts.directions.get(metric);
    const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
    const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
    out.push(
      `### ${e(metric)}${dir ? ` (${dir} is better)` : ""}`,
      "",
      `Mean over repetitions (n = experiments) by ${e(axes.rows)}${axes.columns ? ` \xD7 ${e(axes.columns)}` : ""}.`,
      "",
      `| ${e(axes.rows)} | ${axes.columns ? columns.map((c) => e(c)).join(" | ") : "mean"} |`,
      `| --- | ${columns.map(() => "---:").join(" | ")} |`,
      ...rows.map(
        (r, i) => `| ${e(r)} | ${columns.map((_, j) => {
          const cell = p.cells[i][j];
          return cell ? `${formatNumber(cell.mean)} (n=${cell.n})` : "";
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
function chartBars(data, metric, axis) {
  return meansBy(data.experiments, metric, axis).slice(0, MAX_CHART_BARS);
}
function chartSeries(data, opts) {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes) return [];
  return data.metrics.slice(0, MAX_CHARTS).map((metric) => ({ metric, axis: axes.rows, bars: chartBars(data, metric, axes.rows) })).filter((s) => s.bars.length > 0);
}
function mermaidChart(s) {
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${mermaidLabel(s.metric)} by ${mermaidLabel(s.axis)}, mean"`,
    `  x-axis [${s.bars.map((b) => `"${mermaidLabel(b.label)}"`).join(", ")}]`,
    `  y-axis "${mermaidLabel(s.metric)}"`,
    `  bar [${s.bars.map((b) => chartNumber(b.mean)).join(", ")}]`,
    "```"
  ];
}
function chartSection(data, opts) {
  const out = chartSeries(data, opts).flatMap((s) => [...mermaidChart(s), ""]);
  return out.length > 0 ? ["### Charts", "", ...out] : [];
}
function resultRow(x, metrics) {
  return `| ${e(x.id)} | ${STATUS_MARK[x.status]} | ${x.attempts ?? ""} | ${formatDuration(x.durationSeconds)} | ${e(x.zone ?? "")} | ${x.costUsd === void 0 ? "" : `$${x.costUsd.toFixed(4)}`} | ${metrics.map((m) => x.metrics[m] === void 0 ? "" : formatNumber(x.metrics[m])).join(" | ")} |`;
}
function resultsSection(data, limit) {
  const metrics = data.metrics.slice(0, 10);
  const shown = data.experiments.slice(0, limit);
  return [
    `<details><summary>All ${data.experiments.length} experiment(s)</summary>`,
    "",
    `| experiment | status | attempts | duration | zone | cost | ${metrics.map((m) => e(m)).join(" | ")} |`,
    `| --- | --- | ---: | ---: | --- | ---: | ${metrics.map(() => "---:").join(" | ")} |`,
    ...shown.map((x) => resultRow(x, metrics)),
    ...data.experiments.length > shown.length ? ["", `... and ${data.experiments.length - shown.length} more in manifest.json (in the artifact).`] : [],
    "",
    "</details>"
  ];
}
function deltaSection(b, limit) {
  if (b.kind !== "compared" || b.comparison.deltas.length === 0) return [];
  const all = b.comparison.deltas;
  const shown = all.slice(0, limit);
  return [
    `<details><summary>Changes against the baseline (${all.length} value(s))</summary>`,
    "",
    ...DELTA_HEADER,
    ...deltaRows(shown),
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
    baselineSection(opts.baseline),
    regressionSection(opts.baseline, rowLimit),
    failureSection(data, MAX_PROBLEM_ROWS),
    pivotSection(data, opts),
    chartSection(data, opts),
    deltaSection(opts.baseline, rowLimit),
    resultsSection(data, rowLimit),
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
    ...baselineSection(opts.baseline),
    "",
    `The full report is too long for a comment. ${links(opts).join("") || "See the job summary of the run."}`,
    ""
  ].join("\n");
  let body = head;
  for (const section of [regressionSection(opts.baseline), failureSection(data)]) {
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
      runId: baseline.baseline.runId
    } : baseline.kind === "recorded" ? { mode: "record", ref: baseline.ref, sha: baseline.sha } : baseline.kind === "none" ? { mode: "compare", ref: baseline.ref, found: false } : { mode: "none" },
    regressions: compared?.comparison.regressions.length ?? 0,
    improvements: compared?.comparison.improvements ?? 0,
    regressed: (compared?.comparison.regressions ?? []).slice(0, maxRegressions).map((d) => ({
      experiment: d.experiment,
      metric: d.metric,
      baseline: d.baseline,
      current: d.current,
      percent: d.percent === void 0 ? null : Math.round(d.percent * 100) / 100
    })),
    failed: data.experiments.filter((x) => countClass(x.status) !== "succeeded").slice(0, 100).map((x) => ({ id: x.id, status: x.status }))
  });
}

export {
  readManifest,
  readExperimentFiles,
  paramNames,
  chooseAxes,
  pivotOf,
  reportData,
  SUMMARY_LIMIT,
  formatNumber,
  formatDelta,
  formatDuration,
  failureReason,
  chartSeries,
  renderReport,
  renderComment,
  summaryJson
};
