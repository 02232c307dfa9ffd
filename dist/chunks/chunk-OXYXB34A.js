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
  ConfigurationError,
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

// src/report/stats.ts
var MANN_WHITNEY_EXACT_LIMIT = 2500;
var EPS = 1e-15;
var TINY = 1e-300;
var MAX_ITERATIONS = 1e4;
var HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);
var LEVEL_SLACK = 1e-12;
function fail(fn, message) {
  throw new RangeError(`${fn}: ${message}`);
}
function checkNumber(fn, name, x) {
  if (typeof x !== "number" || !Number.isFinite(x))
    fail(fn, `${name} must be a finite number (got ${String(x)})`);
}
function checkSample(fn, name, values, minLength = 1) {
  if (!Array.isArray(values)) fail(fn, `${name} must be an array of numbers`);
  if (values.length < minLength) {
    const what = minLength === 1 ? "a value" : `${minLength} values`;
    fail(fn, `${name} must hold at least ${what} (got ${values.length})`);
  }
  for (let i = 0; i < values.length; i++) checkNumber(fn, `${name}[${i}]`, values[i]);
}
function checkLevel(fn, name, level) {
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    fail(fn, `${name} must be a number strictly between 0 and 1 (got ${String(level)})`);
  }
}
function checkAlternative(fn, alternative) {
  if (alternative !== "two-sided" && alternative !== "less" && alternative !== "greater") {
    fail(fn, `alternative must be 'two-sided', 'less' or 'greater' (got ${String(alternative)})`);
  }
}
function checkCount(fn, name, n) {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    fail(fn, `${name} must be a whole number >= 1 (got ${String(n)})`);
  }
}
function stirlingCorrection(z) {
  const inv = 1 / z;
  const inv2 = inv * inv;
  return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188 - inv2 * (691 / 360360 - inv2 / 156))))));
}
function logGamma(x) {
  checkNumber("logGamma", "x", x);
  if (x <= 0) fail("logGamma", `x must be positive (got ${x})`);
  let z = x;
  let product = 1;
  while (z < 15) {
    product *= z;
    z += 1;
  }
  return (z - 0.5) * Math.log(z) - z + HALF_LOG_TWO_PI + stirlingCorrection(z) - Math.log(product);
}
function logBeta(a, b) {
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  const corrections = (p >= 15 ? stirlingCorrection(p) : 0) + stirlingCorrection(q) - stirlingCorrection(p + q);
  if (p >= 15) {
    return HALF_LOG_TWO_PI - 0.5 * Math.log(p) + p * Math.log(p / (p + q)) - (q - 0.5) * Math.log1p(p / q) + corrections;
  }
  if (q >= 15) return logGamma(p) - (q - 0.5) * Math.log1p(p / q) - p * Math.log(p + q) + p + corrections;
  return logGamma(p) + logGamma(q) - logGamma(p + q);
}
function incompleteBeta(a, b, x, y) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(b, a, y, x);
  let f = 1;
  let c = 1;
  let d = 0;
  for (let j = 1; j <= MAX_ITERATIONS; j++) {
    const m = j >> 1;
    const coefficient = j % 2 === 1 ? -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1)) : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 + coefficient * d;
    if (Math.abs(d) < TINY) d = TINY;
    d = 1 / d;
    c = 1 + coefficient / c;
    if (Math.abs(c) < TINY) c = TINY;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) {
      const logX = x < 0.5 ? Math.log(x) : Math.log1p(-y);
      const logY = y < 0.5 ? Math.log(y) : Math.log1p(-x);
      return Math.exp(a * logX + b * logY - logBeta(a, b)) / (a * f);
    }
  }
  throw new Error(`incomplete beta did not converge for a=${a}, b=${b}, x=${x}`);
}
function upperIncompleteGamma(a, x) {
  if (x === 0) return 1;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n <= MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) return 1 - Math.exp(logPrefix) * sum;
    }
    throw new Error(`incomplete gamma series did not converge for a=${a}, x=${x}`);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let f = d;
  for (let i = 1; i <= MAX_ITERATIONS; i++) {
    const coefficient = -i * (i - a);
    b += 2;
    d = coefficient * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + coefficient / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) return Math.exp(logPrefix) * f;
  }
  throw new Error(`incomplete gamma fraction did not converge for a=${a}, x=${x}`);
}
function erfc(x) {
  checkNumber("erfc", "x", x);
  const q = upperIncompleteGamma(0.5, x * x);
  return x >= 0 ? q : 2 - q;
}
function normalCdf(z) {
  checkNumber("normalCdf", "z", z);
  return 0.5 * erfc(-z / Math.SQRT2);
}
function normalPdf(z) {
  return Math.exp(-0.5 * z * z - HALF_LOG_TWO_PI);
}
function solveIncreasing(h, lo, hi, start) {
  let x = start;
  for (let i = 0; i < 500; i++) {
    const [value, slope] = h(x);
    if (value === 0) return x;
    if (value < 0) lo = x;
    else hi = x;
    let next = x - value / slope;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 4 * Number.EPSILON * Math.abs(next) || hi - lo <= 4 * Number.EPSILON * Math.abs(hi)) {
      return next;
    }
    x = next;
  }
  return x;
}
function normalQuantileUnchecked(p) {
  if (p === 0.5) return 0;
  const u = p < 0.5 ? p : 1 - p;
  const target = Math.log(u);
  const z = solveIncreasing(
    (x) => {
      const cdf = normalCdf(x);
      return [Math.log(cdf) - target, normalPdf(x) / cdf];
    },
    -40,
    0,
    -Math.sqrt(-2 * target)
  );
  return p < 0.5 ? z : -z;
}
function studentTUpperTail(t, df) {
  const t2 = t * t;
  return 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}
function studentTPdf(t, df) {
  return Math.exp(
    logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - (df + 1) / 2 * Math.log1p(t * t / df)
  );
}
function studentTUpperQuantile(u, df) {
  if (u === 0.5) return 0;
  if (u > 0.5) return -studentTUpperQuantile(1 - u, df);
  const target = Math.log(u);
  const h = (t) => {
    const tail = studentTUpperTail(t, df);
    return [target - Math.log(tail), studentTPdf(t, df) / tail];
  };
  const start = -normalQuantileUnchecked(u);
  let hi = Math.max(1, start);
  while (h(hi)[0] < 0) hi *= 2;
  return solveIncreasing(h, 0, hi, Math.min(start, hi));
}
function sortedCopy(values) {
  return Float64Array.from(values).sort();
}
function medianOfSorted(sorted) {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid] : 0.5 * sorted[mid - 1] + 0.5 * sorted[mid];
}
function medianOrderStatistic(n, level) {
  const alpha = 1 - level + LEVEL_SLACK;
  const useLogs = n > 1e3;
  let logTerm = -n * Math.LN2;
  let term = useLogs ? Math.exp(logTerm) : 2 ** -n;
  let cumulative = 0;
  let k = 0;
  const kMax = Math.floor((n + 1) / 2);
  while (k < kMax) {
    const next = cumulative + term;
    if (2 * next > alpha) break;
    cumulative = next;
    k++;
    if (useLogs) {
      logTerm += Math.log((n - k + 1) / k);
      term = Math.exp(logTerm);
    } else {
      term = term * (n - k + 1) / k;
    }
  }
  return { k, coverage: 1 - 2 * cumulative };
}
function summarize(values, opts = {}) {
  const fn = "summarize";
  checkSample(fn, "values", values);
  const centreKind = opts.centre ?? "median";
  if (centreKind !== "median" && centreKind !== "mean") {
    fail(fn, `opts.centre must be 'median' or 'mean' (got ${String(centreKind)})`);
  }
  const level = opts.level ?? 0.95;
  checkLevel(fn, "opts.level", level);
  const sorted = sortedCopy(values);
  const n = sorted.length;
  const min = sorted[0];
  const max = sorted[n - 1];
  const median = medianOfSorted(sorted);
  const mean = meanOf(sorted);
  const base = { n, min, max, median, mean, centre: centreKind === "mean" ? mean : median };
  if (n === 1) return { ...base, method: "single" };
  if (centreKind === "mean") {
    const sd = Math.sqrt(varianceOf(sorted, mean));
    const half = studentTUpperQuantile((1 - level) / 2, n - 1) * sd / Math.sqrt(n);
    return { ...base, low: mean - half, high: mean + half, method: "t", achievedLevel: level };
  }
  const { k, coverage } = medianOrderStatistic(n, level);
  if (k === 0) return { ...base, low: min, high: max, method: "range" };
  return {
    ...base,
    low: sorted[k - 1],
    high: sorted[n - k],
    method: "order-statistics",
    achievedLevel: coverage
  };
}
function meanOf(values) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}
function varianceOf(values, mean) {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - mean) ** 2;
  return sum / (values.length - 1);
}
function midRanks(values) {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => values[i] - values[j]);
  const ranks = new Float64Array(n);
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    const t = j - i;
    tieTerm += t * t * t - t;
    i = j;
  }
  return { ranks, tieTerm };
}
var MEMO_LIMIT = 256;
var mannWhitneyMemo = /* @__PURE__ */ new Map();
function remember(memo, key, value) {
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value);
  memo.set(key, value);
  return value;
}
function cumulativeOf(counts) {
  let total = 0;
  for (const c of counts) total += c;
  const cdf = new Float64Array(counts.length);
  let running = 0;
  for (let k = 0; k < counts.length; k++) {
    running += counts[k];
    cdf[k] = running / total;
  }
  return cdf;
}
function mannWhitneyCdf(n1, n2) {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  const key = `${m},${n}`;
  const known = mannWhitneyMemo.get(key);
  if (known) return known;
  const counts = [];
  for (let i = 0; i <= m; i++) counts.push(Float64Array.of(1));
  for (let j = 1; j <= n; j++) {
    for (let i = 1; i <= m; i++) {
      const previous = counts[i];
      const shorter = counts[i - 1];
      const next = new Float64Array(i * j + 1);
      next.set(previous);
      for (let k = 0; k < shorter.length; k++) next[k + j] += shorter[k];
      counts[i] = next;
    }
  }
  return remember(mannWhitneyMemo, key, cumulativeOf(counts[m]));
}
function tailsToP(lower, upper, alternative) {
  if (alternative === "less") return lower;
  if (alternative === "greater") return upper;
  return Math.min(1, 2 * Math.min(lower, upper));
}
function normalApproximation(statistic, mean, variance, alternative) {
  if (variance <= 0) return { p: 1 };
  const diff = statistic - mean;
  const correction = alternative === "two-sided" ? Math.sign(diff) * 0.5 : alternative === "greater" ? 0.5 : -0.5;
  const z = (diff - correction) / Math.sqrt(variance);
  const p = alternative === "greater" ? normalCdf(-z) : alternative === "less" ? normalCdf(z) : Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { p, z };
}
function mannWhitneyU(a, b, opts = {}) {
  const fn = "mannWhitneyU";
  checkSample(fn, "a", a);
  checkSample(fn, "b", b);
  const alternative = opts.alternative ?? "two-sided";
  checkAlternative(fn, alternative);
  const n1 = a.length;
  const n2 = b.length;
  const pooled = new Float64Array(n1 + n2);
  pooled.set(a);
  pooled.set(b, n1);
  const { ranks, tieTerm } = midRanks(pooled);
  let rankSumA = 0;
  for (let i = 0; i < n1; i++) rankSumA += ranks[i];
  const uA = rankSumA - n1 * (n1 + 1) / 2;
  const uB = n1 * n2 - uA;
  const u = Math.min(uA, uB);
  if (tieTerm === 0 && n1 * n2 <= MANN_WHITNEY_EXACT_LIMIT) {
    const cdf = mannWhitneyCdf(n1, n2);
    const p = tailsToP(cdf[uB], cdf[uA], alternative);
    return { u, uA, uB, p, method: "exact" };
  }
  const N = n1 + n2;
  const variance = n1 * n2 / 12 * (N + 1 - tieTerm / (N * (N - 1)));
  return { u, uA, uB, ...normalApproximation(uB, n1 * n2 / 2, variance, alternative), method: "normal" };
}
function hodgesLehmann(a, b, level = 0.95) {
  const fn = "hodgesLehmann";
  checkSample(fn, "a", a);
  checkSample(fn, "b", b);
  checkLevel(fn, "level", level);
  const n1 = a.length;
  const n2 = b.length;
  const N = n1 * n2;
  const diffs = new Float64Array(N);
  for (let j = 0; j < n2; j++) for (let i = 0; i < n1; i++) diffs[j * n1 + i] = b[j] - a[i];
  diffs.sort();
  const shift = medianOfSorted(diffs);
  const alpha = 1 - level + LEVEL_SLACK;
  const kMax = Math.floor((N + 1) / 2);
  let k;
  let method;
  let achievedLevel;
  if (N <= MANN_WHITNEY_EXACT_LIMIT) {
    const cdf = mannWhitneyCdf(n1, n2);
    k = 0;
    while (k < kMax && 2 * cdf[k] <= alpha) k++;
    method = "exact";
    if (k > 0) achievedLevel = 1 - 2 * cdf[k - 1];
  } else {
    const z = -normalQuantileUnchecked((1 - level) / 2);
    k = Math.min(kMax, Math.floor(N / 2 + 0.5 - z * Math.sqrt(N * (n1 + n2 + 1) / 12)));
    method = "normal";
  }
  if (k < 1) return { shift, low: diffs[0], high: diffs[N - 1], method: "range" };
  const result = { shift, low: diffs[k - 1], high: diffs[N - k], method };
  return achievedLevel === void 0 ? result : { ...result, achievedLevel };
}
function welchT(a, b, alternative = "two-sided", level = 0.95) {
  const fn = "welchT";
  checkSample(fn, "a", a, 2);
  checkSample(fn, "b", b, 2);
  checkAlternative(fn, alternative);
  checkLevel(fn, "level", level);
  const meanA = meanOf(a);
  const meanB = meanOf(b);
  const sa = varianceOf(a, meanA) / a.length;
  const sb = varianceOf(b, meanB) / b.length;
  const se2 = sa + sb;
  if (se2 === 0) fail(fn, "a and b are both constant, so t is undefined");
  const se = Math.sqrt(se2);
  const meanDiff = meanB - meanA;
  const t = meanDiff / se;
  const df = se2 * se2 / (sa * sa / (a.length - 1) + sb * sb / (b.length - 1));
  const upper = t >= 0 ? studentTUpperTail(t, df) : 1 - studentTUpperTail(-t, df);
  const lower = t <= 0 ? studentTUpperTail(-t, df) : 1 - studentTUpperTail(t, df);
  const p = tailsToP(lower, upper, alternative);
  if (alternative === "two-sided") {
    const half2 = studentTUpperQuantile((1 - level) / 2, df) * se;
    return { t, df, p, meanDiff, low: meanDiff - half2, high: meanDiff + half2 };
  }
  const half = studentTUpperQuantile(1 - level, df) * se;
  return alternative === "greater" ? { t, df, p, meanDiff, low: meanDiff - half, high: Infinity } : { t, df, p, meanDiff, low: -Infinity, high: meanDiff + half };
}
function adjustPValues(ps, method) {
  const fn = "adjustPValues";
  checkSample(fn, "ps", ps, 0);
  for (let i = 0; i < ps.length; i++) {
    if (ps[i] < 0 || ps[i] > 1) fail(fn, `ps[${i}] must be in [0, 1] (got ${ps[i]})`);
  }
  if (method !== "holm" && method !== "bh") fail(fn, `method must be 'holm' or 'bh' (got ${String(method)})`);
  const m = ps.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => ps[i] - ps[j] || i - j);
  const adjusted = new Array(m);
  if (method === "holm") {
    let running = 0;
    for (let r = 0; r < m; r++) {
      running = Math.max(running, Math.min(1, (m - r) * ps[order[r]]));
      adjusted[order[r]] = running;
    }
  } else {
    let running = 1;
    for (let r = m - 1; r >= 0; r--) {
      running = Math.min(running, Math.min(1, m / (r + 1) * ps[order[r]]));
      adjusted[order[r]] = running;
    }
  }
  return adjusted;
}
function minimumAchievableP(n1, n2, alternative = "two-sided") {
  const fn = "minimumAchievableP";
  checkCount(fn, "n1", n1);
  checkCount(fn, "n2", n2);
  checkAlternative(fn, alternative);
  return minimumP(n1, n2, alternative);
}
function minimumP(n1, n2, alternative) {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  let ways = 1;
  for (let i = 1; i <= m && Number.isFinite(ways); i++) ways = ways * (n + i) / i;
  const oneSided = 1 / ways;
  return alternative === "two-sided" ? Math.min(1, 2 * oneSided) : oneSided;
}
function smallestNForSignificance(alpha, n2, alternative = "two-sided") {
  const fn = "smallestNForSignificance";
  checkNumber(fn, "alpha", alpha);
  if (!(alpha > 0 && alpha <= 1)) fail(fn, `alpha must be in (0, 1] (got ${alpha})`);
  if (n2 !== void 0) checkCount(fn, "n2", n2);
  checkAlternative(fn, alternative);
  const reaches = (n) => minimumP(n, n2 ?? n, alternative) < alpha;
  let hi = 1;
  while (!reaches(hi)) {
    hi *= 2;
    if (hi > Number.MAX_SAFE_INTEGER)
      fail(fn, `no n up to 2^53 reaches p < ${alpha} against a group of ${n2 ?? "n"}`);
  }
  let lo = Math.floor(hi / 2);
  if (hi === 1) return 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

// src/report/model.ts
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
  const costUsd = seconds !== void 0 && typeof machineType === "string" ? estimateCostUsd(machineType, [], e.provenance?.spot === true, seconds) : void 0;
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
    commit: commitOf(e.provenance?.sourceCommit) ?? commitOf(e.provenance?.repoSha)
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
  for (const e of experiments) {
    t.experiments += 1;
    if (e.status === "lost") t.lost += 1;
    t[countClass(e.status)] += 1;
    t.costUsd += e.costUsd ?? 0;
    t.vmHours += (e.durationSeconds ?? 0) / 3600;
    if (e.attempts && e.attempts > 1) t.retries += e.attempts - 1;
  }
  return t;
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
  const rows = [];
  const columns = [];
  const sums = /* @__PURE__ */ new Map();
  for (const e of experiments) {
    const value = e.metrics[metric];
    if (value === void 0) continue;
    const r = e.params[rowAxis] ?? "";
    const c = columnAxis === void 0 ? "" : e.params[columnAxis] ?? "";
    if (!rows.includes(r)) rows.push(r);
    if (!columns.includes(c)) columns.push(c);
    const key = JSON.stringify([r, c]);
    const s = sums.get(key) ?? { sum: 0, n: 0, values: [] };
    s.sum += value;
    s.n += 1;
    s.values.push(value);
    sums.set(key, s);
  }
  rows.sort(byText);
  columns.sort(byText);
  const cells = rows.map(
    (r) => columns.map((c) => {
      const s = sums.get(JSON.stringify([r, c]));
      return s ? { mean: s.sum / s.n, n: s.n, values: s.values, summary: summarize(s.values, { centre }) } : void 0;
    })
  );
  return { metric, rowAxis, columnAxis, rows, columns, cells };
}
function meansBy(experiments, metric, axis) {
  const groups = /* @__PURE__ */ new Map();
  for (const e of experiments) {
    const v = e.metrics[metric];
    if (v === void 0) continue;
    const label = e.params[axis] ?? "";
    const g = groups.get(label) ?? { sum: 0, n: 0 };
    g.sum += v;
    g.n += 1;
    groups.set(label, g);
  }
  return [...groups].sort(([a], [b]) => byText(a, b)).map(([label, g]) => ({ label, mean: g.sum / g.n, n: g.n }));
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
  summarize,
  mannWhitneyU,
  hodgesLehmann,
  welchT,
  adjustPValues,
  minimumAchievableP,
  smallestNForSignificance,
  toReportExperiment,
  paramNames,
  chooseAxes,
  pivotOf,
  meansBy,
  reportData,
  readManifest,
  readExperimentFiles
};
