import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  buildManifest,
  checkDeclaredOutputs,
  paramNames,
  parseHeartbeat,
  readExperimentFiles,
  statusFields,
  toReportExperiment
} from "./chunk-PQO6YWTW.js";
import {
  estimateCostUsd
} from "./chunk-NRMHQSIR.js";
import {
  Limiter
} from "./chunk-M3JD4Y6G.js";
import {
  CRC32C,
  GcpError,
  classifyError
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  EXPERIMENT_ID,
  experimentObjects,
  parseStatus,
  runPrefix
} from "./chunk-F4TJMFJC.js";

// src/collect/collect.ts
import { randomBytes as randomBytes2 } from "node:crypto";
import { createReadStream, createWriteStream as createWriteStream2 } from "node:fs";
import { mkdir as mkdir2, readFile, readdir, rm as rm2, stat, writeFile } from "node:fs/promises";
import path2 from "node:path";
import { pipeline as pipeline2 } from "node:stream/promises";

// src/report/csv.ts
var RESULTS_CSV = "results.csv";
var PARAM_PREFIX = "param_";
var TIDY_COLUMNS = [
  "status",
  "attempt",
  "started_at",
  "ended_at",
  "duration_seconds",
  "cost_usd",
  "commit",
  "zone",
  "machine_type",
  "spot",
  "metric",
  "value",
  "unit"
];
var NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
var FORMULA_START = /^[=+\-@\t\r]/;
var NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;
function csvField(value) {
  if (value === void 0) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  let text = String(value);
  if (FORMULA_START.test(text) && !NUMBER.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
function csvRecord(cells) {
  return `${cells.map(csvField).join(",")}\r
`;
}
function paramCell(value) {
  if (value === null || value === void 0) return void 0;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
function textOf(value) {
  return typeof value === "string" ? value : void 0;
}
function byCodeUnit(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}
function tidyCsv(experiments, files = /* @__PURE__ */ new Map(), metricInfo = /* @__PURE__ */ new Map()) {
  const sorted = [...experiments].sort((a, b) => byCodeUnit(a.id, b.id));
  const shown = sorted.map((e) => toReportExperiment(e, files.get(e.id)));
  const params = paramNames(shown);
  const lines = [csvRecord(["experiment", ...params.map((p) => `${PARAM_PREFIX}${p}`), ...TIDY_COLUMNS])];
  sorted.forEach((e, i) => {
    const r = shown[i];
    const given = e.params ?? e.provenance?.parameters;
    const raw = given && typeof given === "object" ? given : {};
    const prov = e.provenance && typeof e.provenance === "object" ? e.provenance : void 0;
    const machineType = textOf(prov?.machineType);
    const spot = typeof prov?.spot === "boolean" ? prov.spot : void 0;
    const priced = machineType !== void 0 && estimateCostUsd(machineType, [], spot === true, 3600) > 0;
    const fixed = [
      e.status,
      typeof e.attempts === "number" ? e.attempts : void 0,
      textOf(e.startedAt),
      textOf(e.endedAt),
      r.durationSeconds,
      priced ? r.costUsd : void 0,
      r.commit,
      r.zone,
      machineType,
      spot
    ];
    const head = [
      e.id,
      ...params.map((p) => Object.hasOwn(raw, p) ? paramCell(raw[p]) : void 0),
      ...fixed
    ];
    const metrics = Object.entries(r.metrics).sort(([a], [b]) => byCodeUnit(a, b));
    if (metrics.length === 0) lines.push(csvRecord([...head, void 0, void 0, void 0]));
    for (const [name, value] of metrics) {
      lines.push(csvRecord([...head, name, value, metricInfo.get(name)?.unit]));
    }
  });
  return lines.join("");
}

// src/collect/download.ts
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
function remoteObject(f) {
  const m = f.metadata;
  return {
    name: f.name,
    size: Number(m.size ?? 0),
    ...typeof m.crc32c === "string" ? { crc32c: m.crc32c } : {},
    ...typeof m.md5Hash === "string" ? { md5Hash: m.md5Hash } : {},
    ...m.generation !== void 0 ? { generation: String(m.generation) } : {}
  };
}
async function listObjects(bucket, prefix, delimiter) {
  const objects = [];
  const prefixes = [];
  let pageToken;
  do {
    let page;
    try {
      page = await bucket.getFiles({
        prefix,
        autoPaginate: false,
        maxResults: 1e3,
        ...delimiter ? { delimiter } : {},
        ...pageToken ? { pageToken } : {}
      });
    } catch (err) {
      throw new GcpError(`list gs://${bucket.name}/${prefix}`, classifyError(err));
    }
    const [files, next, response] = page;
    for (const f of files) objects.push(remoteObject(f));
    const more = response?.prefixes;
    if (Array.isArray(more)) {
      for (const p of more) if (typeof p === "string") prefixes.push(p);
    }
    pageToken = next?.pageToken || void 0;
  } while (pageToken);
  return { objects, prefixes };
}
var Mismatch = class extends Error {
};
var STALL_MS = 6e4;
async function apiError(res) {
  const chunks = [];
  let size = 0;
  for await (const chunk of res) {
    if (size < 64 * 1024) chunks.push(chunk);
    size += chunk.length;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  let message = `HTTP ${res.statusCode}`;
  let errors;
  try {
    const body = JSON.parse(text);
    if (typeof body.error?.message === "string") message = `${message}: ${body.error.message}`;
    errors = body.error?.errors;
  } catch {
    if (text) message = `${message}: ${text.slice(0, 200)}`;
  }
  return Object.assign(new Error(message), { code: res.statusCode, errors });
}
var Downloader = class {
  stats = { requests: 0, retries: 0, bytes: 0 };
  storage;
  bucket;
  limiter;
  maxTries;
  backoffMs;
  tempDir;
  agent;
  constructor(storage, bucket, opts) {
    this.storage = storage;
    this.bucket = bucket;
    this.limiter = new Limiter(opts.concurrency);
    this.maxTries = opts.maxTries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.tempDir = opts.tempDir;
  }
  /** Downloads `obj` (the generation listed) to `dest`, verified; waits for a free slot first. */
  fetch(obj, dest) {
    return this.limiter.run(() => this.fetchWithRetries(obj, dest));
  }
  async fetchWithRetries(obj, dest) {
    let last = "";
    let lastKind = "download";
    for (let tryNo = 1; tryNo <= this.maxTries; tryNo++) {
      if (tryNo > 1) {
        this.stats.retries += 1;
        const wait = this.backoffMs * 2 ** (tryNo - 2);
        await new Promise((r) => setTimeout(r, wait + Math.random() * wait * 0.5));
      }
      try {
        const verified = await this.fetchOnce(obj, dest);
        return { ok: true, size: obj.size, verified, tries: tryNo };
      } catch (err) {
        if (isLocalDiskError(err)) throw err;
        if (err instanceof Mismatch) {
          last = err.message;
          lastKind = "checksum";
          continue;
        }
        const f = classifyError(err);
        if (f.kind === "not-found") {
          return {
            ok: false,
            kind: "vanished",
            message: `gs://${this.bucket}/${obj.name} changed or was deleted while collecting (generation ${obj.generation ?? "?"} is gone)`,
            tries: tryNo
          };
        }
        last = f.message;
        lastKind = "download";
        if (f.kind === "permission" || f.kind === "invalid") break;
      }
    }
    return { ok: false, kind: lastKind, message: last, tries: this.maxTries };
  }
  /**
   * Starts the media download of one object generation. Not File#createReadStream: on an error status it
   * throws from inside an event handler (teeny-request pipes into the stream it has just destroyed), which
   * ends the whole process rather than the one download; and plain HTTP keeps the stored bytes (no
   * transparent gunzip) at about twice the speed of the library's fetch layer.
   */
  async open(obj) {
    const url = new URL(
      `${this.storage.baseUrl}/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(obj.name)}`
    );
    url.searchParams.set("alt", "media");
    if (obj.generation) url.searchParams.set("generation", obj.generation);
    const auth = await this.storage.authClient.getRequestHeaders(url.href);
    const headers = { "accept-encoding": "gzip" };
    auth.forEach((value, key) => headers[key] = value);
    const secure = url.protocol === "https:";
    this.agent ??= secure ? new https.Agent({ keepAlive: true, maxSockets: this.limiter.limit, proxyEnv: process.env }) : new http.Agent({ keepAlive: true, maxSockets: this.limiter.limit, proxyEnv: process.env });
    const res = await new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, { headers, agent: this.agent }, resolve);
      req.on("error", reject);
      req.setTimeout(STALL_MS, () => req.destroy(new Error(`ETIMEDOUT: no data for ${STALL_MS / 1e3} s`)));
      req.end();
    });
    if (res.statusCode === 200) return res;
    throw await apiError(res);
  }
  /** Closes the kept-alive connections. */
  close() {
    this.agent?.destroy();
  }
  async fetchOnce(obj, dest) {
    this.stats.requests += 1;
    const source = await this.open(obj);
    const md5 = obj.md5Hash ? createHash("md5") : void 0;
    const crc = !md5 && obj.crc32c ? new CRC32C() : void 0;
    const expected = obj.size;
    let bytes = 0;
    const tmp = path.join(this.tempDir, randomBytes(12).toString("hex"));
    try {
      await pipeline(
        source,
        async function* (chunks) {
          for await (const chunk of chunks) {
            const buf = chunk;
            bytes += buf.length;
            if (bytes > expected) throw new Mismatch(`more bytes than the ${expected} listed`);
            if (md5) md5.update(buf);
            else crc?.update(buf);
            yield buf;
          }
        },
        createWriteStream(tmp, { flags: "wx" })
      );
      this.stats.bytes += bytes;
      if (bytes !== expected) throw new Mismatch(`got ${bytes} of ${expected} bytes`);
      if (md5) {
        const got = md5.digest("base64");
        if (got !== obj.md5Hash) throw new Mismatch(`MD5 ${got} does not match the object's ${obj.md5Hash}`);
      } else if (crc) {
        const got = crc.toString();
        if (got !== obj.crc32c) throw new Mismatch(`CRC32C ${got} does not match the object's ${obj.crc32c}`);
      }
      await mkdir(path.dirname(dest), { recursive: true });
      await rename(tmp, dest);
      return md5 ? "md5" : crc ? "crc32c" : "size";
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof Mismatch) {
        throw new Mismatch(`gs://${this.bucket}/${obj.name}: ${err.message}`);
      }
      throw err;
    }
  }
};
function isLocalDiskError(err) {
  return !!err && typeof err === "object" && typeof err.path === "string";
}

// src/collect/paths.ts
import { createHash as createHash2 } from "node:crypto";
var ARTIFACT_UNSAFE = /[":<>|*?\u0000-\u001f\u007f]/g;
var MAX_SEGMENT_BYTES = 255;
function shortHash(text) {
  return createHash2("sha256").update(text).digest("hex").slice(0, 8);
}
function describeChars(chars) {
  return [...chars].map(
    (c) => c.charCodeAt(0) < 32 || c === "\x7F" ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : c
  ).join(" ");
}
function shortenSegment(segment) {
  if (Buffer.byteLength(segment) <= MAX_SEGMENT_BYTES) return segment;
  const dot = segment.lastIndexOf(".");
  const ext = dot > 0 && segment.length - dot <= 16 ? segment.slice(dot) : "";
  let head = segment.slice(0, segment.length - ext.length);
  const tail = `~${shortHash(segment)}${ext}`;
  while (Buffer.byteLength(head) + Buffer.byteLength(tail) > MAX_SEGMENT_BYTES) head = head.slice(0, -1);
  return `${head}${tail}`;
}
function decideRelativePath(name) {
  if (name === "") return { kind: "refused", reason: "the name is empty" };
  if (name.endsWith("/")) return { kind: "directory" };
  if (name.includes("\\")) {
    return {
      kind: "refused",
      reason: "it holds a backslash, a path separator on Windows that could escape the folder"
    };
  }
  if (name.startsWith("/")) return { kind: "refused", reason: "it is an absolute path" };
  const segments = name.split("/");
  if (segments.some((s) => s === ".."))
    return { kind: "refused", reason: "it climbs out of the folder with .." };
  if (segments.some((s) => s === ".")) return { kind: "refused", reason: "it holds a . segment" };
  if (segments.some((s) => s === ""))
    return { kind: "refused", reason: "it holds an empty path segment (//)" };
  const bad = new Set(name.match(ARTIFACT_UNSAFE) ?? []);
  const cleaned = segments.map((s) => shortenSegment(s.replace(ARTIFACT_UNSAFE, "_")));
  const path3 = cleaned.join("/");
  if (path3 === name) return { kind: "ok", path: path3 };
  const reasons = [];
  if (bad.size > 0) reasons.push(`characters an artifact cannot hold (${describeChars(bad)}) became _`);
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) {
    reasons.push(`a name segment over ${MAX_SEGMENT_BYTES} bytes was shortened`);
  }
  return { kind: "renamed", path: path3, reason: reasons.join("; ") };
}
var ROOT_FILES = ["manifest.json", "results.csv"];
function experimentDir(id) {
  if (EXPERIMENT_ID.test(id) && !ROOT_FILES.includes(id)) return id;
  const cleaned = id.replace(ARTIFACT_UNSAFE, "_").replace(/[/\\]/g, "_").replace(/^\.+/, "_").slice(0, 100);
  return `${cleaned || "_"}~${shortHash(id)}`;
}
function withCounter(path3, n) {
  const slash = path3.lastIndexOf("/");
  const dot = path3.lastIndexOf(".");
  if (dot > slash + 1) return `${path3.slice(0, dot)}~${n}${path3.slice(dot)}`;
  return `${path3}~${n}`;
}
var PathAllocator = class {
  files = /* @__PURE__ */ new Set();
  dirs = /* @__PURE__ */ new Set();
  constructor(reserved = []) {
    for (const r of reserved) this.take(r);
  }
  clashes(path3) {
    return this.files.has(path3) || this.dirs.has(path3);
  }
  parentIsFile(path3) {
    const parts = path3.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (this.files.has(parts.slice(0, i).join("/"))) return true;
    }
    return false;
  }
  take(path3) {
    this.files.add(path3);
    const parts = path3.split("/");
    for (let i = 1; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join("/"));
  }
  /** The path, or a `~N` variant of it, now taken; undefined when a parent folder is taken by a file. */
  allocate(path3) {
    if (this.parentIsFile(path3)) return void 0;
    if (!this.clashes(path3)) {
      this.take(path3);
      return path3;
    }
    for (let n = 2; n < 1e4; n++) {
      const candidate = withCounter(path3, n);
      if (!this.clashes(candidate)) {
        this.take(candidate);
        return candidate;
      }
    }
    return void 0;
  }
  /**
   * Decides and allocates a path for each name, unchanged names first. Returns one result per name, in the
   * input order: the decision, with `path` replaced by the unique one when it had to change.
   */
  allocateAll(names) {
    const decisions = names.map((n) => decideRelativePath(n));
    const out = [...decisions];
    const order = [...decisions.keys()].sort((a, b) => {
      const ra = decisions[a].kind === "ok" ? 0 : 1;
      const rb = decisions[b].kind === "ok" ? 0 : 1;
      return ra - rb || a - b;
    });
    for (const i of order) {
      const d = decisions[i];
      if (d.kind !== "ok" && d.kind !== "renamed") continue;
      const got = this.allocate(d.path);
      if (got === void 0) {
        out[i] = { kind: "refused", reason: `it clashes with another collected file at ${d.path}` };
      } else if (got !== d.path) {
        const why = `another file already has the name ${d.path}`;
        out[i] = { kind: "renamed", path: got, reason: d.kind === "renamed" ? `${d.reason}; ${why}` : why };
      }
    }
    return out;
  }
};

// src/collect/collect.ts
var MAX_STATUS_BYTES = 1024 * 1024;
var MANIFEST = "manifest.json";
var quiet = { info: () => void 0, warning: () => void 0 };
async function prepareRoot(root) {
  let entries;
  try {
    entries = await readdir(root);
  } catch (err) {
    const code = err.code;
    if (code === "ENOTDIR") {
      throw new ConfigurationError(`input path ${root} is a file; give a directory that does not exist yet`);
    }
    if (code !== "ENOENT") throw err;
  }
  if (entries && entries.length > 0) {
    throw new ConfigurationError(
      `input path ${root} already exists and is not empty; give a new directory for the results`
    );
  }
  await mkdir2(root, { recursive: true });
}
function relName(name, prefix) {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
function fileEntry(obj, relPath, verified) {
  return {
    path: relPath,
    object: obj.name,
    size: obj.size,
    ...obj.crc32c ? { crc32c: obj.crc32c } : {},
    ...obj.md5Hash ? { md5: obj.md5Hash } : {},
    ...obj.generation ? { generation: obj.generation } : {},
    verified
  };
}
var WEAKER = { md5: 2, crc32c: 1, size: 0 };
async function collectRun(opts) {
  const started = Date.now();
  const log = opts.log ?? quiet;
  const root = path2.resolve(opts.root);
  await prepareRoot(root);
  const tempDir = path2.join(root, `.gce-matrix-partial-${randomBytes2(6).toString("hex")}`);
  await mkdir2(tempDir);
  const bucket = opts.storage.bucket(opts.location.bucket);
  const downloader = new Downloader(opts.storage, opts.location.bucket, {
    concurrency: opts.concurrency,
    tempDir,
    ...opts.maxTries !== void 0 ? { maxTries: opts.maxTries } : {},
    ...opts.backoffMs !== void 0 ? { backoffMs: opts.backoffMs } : {}
  });
  const listings = new Limiter(opts.concurrency);
  const written = [];
  const runProblems = [];
  try {
    const base = `${runPrefix(opts.location)}experiments/`;
    let found;
    try {
      found = await listObjects(bucket, base, "/");
    } catch (err) {
      throw explainAccess(err, opts.location.bucket);
    }
    for (const o of found.objects) {
      runProblems.push({
        kind: "unsafe-name",
        object: o.name,
        message: `an object directly under experiments/ belongs to no experiment; not collected`
      });
    }
    const inBucket = found.prefixes.map((p) => p.slice(base.length, -1)).filter((id) => id.length > 0);
    const present = new Set(inBucket);
    const planned = opts.expected ? new Map(opts.expected.map((e) => [e.id, e])) : void 0;
    const unplanned = planned ? inBucket.filter((id) => !planned.has(id)) : [];
    for (const id of unplanned) {
      runProblems.push({
        kind: "unplanned",
        object: `${base}${id}/`,
        message: `${id} is in the bucket but not in the plan given as experiments: not collected, not counted`
      });
    }
    const ids = planned ? [...planned.keys()] : inBucket;
    if (ids.length === 0) {
      log.warning(`No experiments found under gs://${opts.location.bucket}/${base} (and no plan given).`);
    } else {
      log.info(
        `Found ${inBucket.length} experiment(s) under gs://${opts.location.bucket}/${base}` + (planned ? `; the plan lists ${planned.size}.` : ".")
      );
    }
    const dirs = new PathAllocator(ROOT_FILES);
    const work = ids.map((id) => {
      const dir = dirs.allocate(experimentDir(id)) ?? `${experimentDir(id)}~${randomBytes2(4).toString("hex")}`;
      return collectExperiment({
        id,
        dir,
        expected: planned?.get(id),
        planGiven: planned !== void 0,
        inBucket: present.has(id),
        ctx: {
          bucket,
          location: opts.location,
          root,
          downloader,
          listings,
          tempDir,
          maxFileSize: opts.maxFileSize
        }
      });
    });
    const experiments = [];
    for (const r of await Promise.all(work)) {
      experiments.push(r.experiment);
      written.push(...r.written);
    }
    const manifest = buildManifest({
      location: opts.location,
      experiments,
      problems: runProblems,
      collectedAt: /* @__PURE__ */ new Date()
    });
    const manifestPath = path2.join(root, MANIFEST);
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}
`);
    const csvPath = await writeResultsCsv(root, manifest, opts.metricInfo);
    return {
      manifest,
      manifestPath,
      files: [...written, manifestPath, csvPath],
      stats: { ...downloader.stats, durationMs: Date.now() - started }
    };
  } finally {
    downloader.close();
    await rm2(tempDir, { recursive: true, force: true });
  }
}
async function writeResultsCsv(root, manifest, metricInfo) {
  const file = path2.join(root, RESULTS_CSV);
  await writeFile(file, tidyCsv(manifest.experiments, await readExperimentFiles(root, manifest), metricInfo));
  return file;
}
function explainAccess(err, bucket) {
  const f = err instanceof GcpError ? err.failure : classifyError(err);
  if (f.kind === "not-found") {
    return new ConfigurationError(
      `input bucket: gs://${bucket} does not exist; check the name launch wrote to`
    );
  }
  if (f.kind === "permission" || f.kind === "unauthenticated") {
    return new ConfigurationError(
      `input bucket: this identity cannot list gs://${bucket} (${f.message}); grant it roles/storage.objectViewer on the bucket`
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
async function collectExperiment(job) {
  const { id, dir, ctx } = job;
  const names = experimentObjects(ctx.location, id);
  const attemptsPrefix = names.attempts;
  const [top, outputs, attempts] = job.inBucket ? await Promise.all([
    ctx.listings.run(() => listObjects(ctx.bucket, names.base, "/")),
    ctx.listings.run(() => listObjects(ctx.bucket, names.outputs)),
    ctx.listings.run(() => listObjects(ctx.bucket, attemptsPrefix))
  ]) : [void 0, void 0, void 0];
  const files = [];
  const problems = [];
  const written = [];
  const local = (rel) => path2.join(ctx.root, ...dir.split("/"), ...rel.split("/"));
  const fetchInto = async (obj, rel, renamedFrom) => {
    const r = await ctx.downloader.fetch(obj, local(rel));
    if (!r.ok) {
      problems.push({ kind: r.kind, object: obj.name, message: `${r.message} (after ${r.tries} tries)` });
      return false;
    }
    const entry = fileEntry(obj, `${dir}/${rel}`, r.verified);
    files.push(renamedFrom === void 0 ? entry : { ...entry, renamedFrom });
    written.push(local(rel));
    return true;
  };
  const tooBig = (obj, what) => {
    if (obj.size <= ctx.maxFileSize) return false;
    problems.push({
      kind: "oversize",
      object: obj.name,
      message: `${what} is ${obj.size} bytes, over max-file-size (${ctx.maxFileSize}); not collected`
    });
    return true;
  };
  const statusObj = top?.objects.find((o) => o.name === names.status);
  const heartbeatObj = (attempts?.objects ?? []).map((o) => ({
    o,
    n: Number(/^(\d+)\/heartbeat\.json$/.exec(relName(o.name, attemptsPrefix))?.[1] ?? NaN)
  })).filter((x) => Number.isSafeInteger(x.n)).sort((a, b) => b.n - a.n)[0]?.o;
  let status;
  let corrupt = false;
  let heartbeat;
  const readStatus = async () => {
    if (!statusObj) {
      if (heartbeatObj && heartbeatObj.size <= MAX_STATUS_BYTES && await fetchInto(heartbeatObj, "heartbeat.json")) {
        heartbeat = parseHeartbeat(await readFile(local("heartbeat.json"), "utf8"));
      }
      return;
    }
    corrupt = true;
    if (statusObj.size > MAX_STATUS_BYTES) {
      problems.push({
        kind: "status",
        object: statusObj.name,
        message: `status.json is ${statusObj.size} bytes, far more than a status holds; not read`
      });
      return;
    }
    if (!await fetchInto(statusObj, "status.json")) return;
    try {
      status = parseStatus(
        await readFile(local("status.json"), "utf8"),
        `gs://${ctx.bucket.name}/${statusObj.name}`
      );
      corrupt = false;
    } catch (err) {
      problems.push({ kind: "status", object: statusObj.name, message: err.message });
      return;
    }
    if (status.experiment !== id) {
      problems.push({
        kind: "status",
        object: statusObj.name,
        message: `status.json names experiment ${JSON.stringify(status.experiment)}, but it was found under ${id}`
      });
    }
    if (status.runId !== ctx.location.runId) {
      problems.push({
        kind: "status",
        object: statusObj.name,
        message: `status.json names run ${JSON.stringify(status.runId)}, but it was found under run ${ctx.location.runId}`
      });
    }
  };
  const outputObjects = outputs?.objects ?? [];
  const decisions = new PathAllocator().allocateAll(outputObjects.map((o) => relName(o.name, names.outputs)));
  const outputWork = [];
  decisions.forEach((d, i) => {
    const obj = outputObjects[i];
    const rel = relName(obj.name, names.outputs);
    if (d.kind === "directory") return;
    if (d.kind === "refused") {
      problems.push({
        kind: "unsafe-name",
        object: obj.name,
        message: `outputs/${rel}: ${d.reason}; not collected`
      });
      return;
    }
    if (tooBig(obj, `outputs/${rel}`)) return;
    if (d.kind === "renamed") {
      problems.push({
        kind: "renamed",
        object: obj.name,
        message: `outputs/${rel} is stored as outputs/${d.path}: ${d.reason}`
      });
      outputWork.push(fetchInto(obj, `outputs/${d.path}`, rel));
    } else {
      outputWork.push(fetchInto(obj, `outputs/${d.path}`));
    }
  });
  await Promise.all([readStatus(), ...outputWork]);
  const chunksByAttempt = /* @__PURE__ */ new Map();
  for (const o of attempts?.objects ?? []) {
    const m = /^(\d+)\/log\/([^/]+)$/.exec(relName(o.name, attemptsPrefix));
    if (!m) continue;
    const n = Number(m[1]);
    chunksByAttempt.set(n, [...chunksByAttempt.get(n) ?? [], o]);
  }
  const lastListed = chunksByAttempt.size > 0 ? Math.max(...chunksByAttempt.keys()) : void 0;
  const attempt = status?.attempt ?? heartbeat?.attempt ?? lastListed;
  for (const [n, listed] of [...chunksByAttempt].sort((a, b) => a[0] - b[0])) {
    const chunks = listed.sort((a, b) => a.name < b.name ? -1 : 1);
    const rel = n === attempt ? "log.txt" : `attempt-${n}/log.txt`;
    const logFile = await joinLog(chunks, n, rel, { ...job, local, problems });
    if (logFile) {
      files.push(logFile);
      written.push(local(rel));
    }
    const ended = (attempts?.objects ?? []).some((o) => o.name === names.attempt(n).status);
    if (!ended && attempt !== void 0 && n < attempt) {
      problems.push({
        kind: "log-incomplete",
        object: names.attempt(n).prefix,
        message: `attempt ${n} ended without a status (preempted with its shutdown cut short, or its VM lost): ${rel} holds what its VM shipped and may lack its last lines`
      });
    }
  }
  if (status && Array.isArray(status.outputs)) {
    const present = new Map(outputObjects.map((o) => [relName(o.name, names.outputs), o.size]));
    problems.push(...checkDeclaredOutputs(status.outputs, present, names.outputs));
  }
  const anyObjects = (top?.objects.length ?? 0) + (top?.prefixes.length ?? 0) > 0;
  const params = job.expected?.params ?? (status?.provenance?.parameters && typeof status.provenance.parameters === "object" ? status.provenance.parameters : void 0);
  files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  return {
    experiment: {
      id,
      dir,
      ...statusFields(status, { corrupt, anyObjects, heartbeat, lastAttempt: lastListed }),
      ...params ? { params } : {},
      planned: job.planGiven ? job.expected !== void 0 : null,
      files,
      problems
    },
    written
  };
}
async function joinLog(chunks, attempt, rel, job) {
  const { ctx, problems } = job;
  let keepFrom = chunks.length;
  let total = 0;
  while (keepFrom > 0 && total + chunks[keepFrom - 1].size <= ctx.maxFileSize) {
    keepFrom -= 1;
    total += chunks[keepFrom].size;
  }
  const prefix = `${experimentObjects(ctx.location, job.id).logs(attempt)}`;
  if (keepFrom > 0) {
    const dropped = chunks.slice(0, keepFrom).reduce((n, c) => n + c.size, 0);
    problems.push({
      kind: "log-truncated",
      object: prefix,
      message: `the log of attempt ${attempt} is over max-file-size (${ctx.maxFileSize} bytes): its first ${keepFrom} chunk(s), ${dropped} bytes, were left out`
    });
  }
  const kept = chunks.slice(keepFrom);
  if (kept.length === 0) return void 0;
  const parts = kept.map(() => path2.join(ctx.tempDir, randomBytes2(12).toString("hex")));
  const results = await Promise.all(kept.map((c, i) => ctx.downloader.fetch(c, parts[i])));
  let weakest = "md5";
  let failed = false;
  results.forEach((r, i) => {
    if (!r.ok) {
      failed = true;
      problems.push({
        kind: r.kind,
        object: kept[i].name,
        message: `${r.message} (after ${r.tries} tries); ${rel} left out`
      });
    } else if (WEAKER[r.verified] < WEAKER[weakest]) {
      weakest = r.verified;
    }
  });
  if (failed) {
    await Promise.all(parts.map((p) => rm2(p, { force: true })));
    return void 0;
  }
  const dest = job.local(rel);
  await mkdir2(path2.dirname(dest), { recursive: true });
  const out = createWriteStream2(dest, { flags: "wx" });
  try {
    for (const p of parts) {
      await pipeline2(createReadStream(p), out, { end: false });
      await rm2(p, { force: true });
    }
  } finally {
    await new Promise(
      (resolve, reject) => out.end((err) => err ? reject(err) : resolve())
    );
  }
  return {
    path: `${job.dir}/${rel}`,
    object: prefix,
    size: (await stat(dest)).size,
    verified: weakest,
    parts: kept.length
  };
}

export {
  RESULTS_CSV,
  tidyCsv,
  experimentDir,
  collectRun,
  writeResultsCsv
};
