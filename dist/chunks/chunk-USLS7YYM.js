import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ExperimentResults
} from "./chunk-4VSZPNWF.js";
import {
  collectRun,
  experimentDir,
  writeResultsCsv
} from "./chunk-BBSM2LXJ.js";
import {
  decideExperiment,
  decideRun,
  lockIsStale,
  publishReport,
  triageRun
} from "./chunk-R4DE7DWF.js";
import {
  markLost
} from "./chunk-PQO6YWTW.js";
import {
  DEFAULT_HISTORY,
  DEFAULT_METHOD,
  RECORD_SCHEMA,
  RunStore,
  markerKey
} from "./chunk-UXA2X36L.js";

// src/watch/watch.ts
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
var DEFAULT_LOST_GRACE_MINUTES = 10;
var DEFAULT_LOCK_STALE_MINUTES = 60;
var DEFAULT_INLINE_WAIT_HOURS = 24;
var SERIAL_TAIL_LINES = 40;
function watchReportSettings(run, opts) {
  const r = run.report;
  const title = r?.title ?? "gce-matrix report";
  const branch = run.ref.startsWith("refs/heads/") ? run.ref.slice("refs/heads/".length) : "";
  return {
    path: opts.path,
    bucket: opts.bucket,
    prefix: opts.prefix,
    runId: run.runId,
    project: void 0,
    workloadIdentityProvider: void 0,
    serviceAccount: void 0,
    baseline: r?.baseline ?? "compare",
    baselineRef: r?.baselineRef ?? (branch || "main"),
    sha: run.sha,
    pivot: r?.pivot ?? void 0,
    centre: r?.centre ?? "median",
    directions: new Map(Object.entries(r?.directions ?? {})),
    metricInfo: new Map(Object.entries(r?.metrics ?? {})),
    thresholdPercent: r?.thresholdPercent ?? 5,
    test: r?.test ?? DEFAULT_METHOD.test,
    adjust: r?.adjust ?? DEFAULT_METHOD.adjust,
    alpha: r?.alpha ?? DEFAULT_METHOD.alpha,
    replicate: r?.replicate ?? DEFAULT_METHOD.replicate,
    history: r?.history ?? DEFAULT_HISTORY,
    prNumber: run.prNumber ?? void 0,
    githubToken: opts.githubToken,
    comment: r?.comment ?? true,
    title,
    markerKey: r?.markerKey ?? markerKey(`${run.workflow || "workflow"}/${title}`),
    repository: run.repository,
    apiUrl: opts.apiUrl,
    runUrl: opts.runUrl,
    artifactUrl: opts.artifactUrl
  };
}
async function observe(opts, location, record) {
  let instance = "UNKNOWN";
  if (record.project === opts.compute.project) {
    const vm = await opts.compute.getInstance(record.zone, record.instance);
    instance = vm ? vm.status ?? "UNKNOWN" : "GONE";
  }
  const results = new ExperimentResults(opts.storage, location, record.experiment, {
    compute: 0,
    storage: 0
  });
  let status;
  try {
    const s = await results.readStatus();
    if (s) status = { state: s.state, attempt: s.attempt };
  } catch (err) {
    if (err instanceof Error && !("failure" in err)) status = { state: "error", attempt: record.attempt };
    else throw err;
  }
  return { record, instance, status };
}
async function serialTail(opts, record, instance) {
  if (instance === "GONE" || record.project !== opts.compute.project) return void 0;
  try {
    const out = await opts.compute.serialOutput(record.zone, record.instance);
    if (!out?.contents) return void 0;
    return `${out.contents.replace(/\n$/, "").split("\n").slice(-SERIAL_TAIL_LINES).join("\n")}
`;
  } catch (err) {
    opts.log.warning(`Could not read the serial console of ${record.instance}: ${err.message}`);
    return void 0;
  }
}
async function watchRun(opts, store, runId) {
  const location = { bucket: opts.bucket, prefix: opts.prefix, runId };
  const read = await store.readRun(runId);
  const triage = triageRun({
    runId,
    run: read?.record,
    reported: await store.isReported(runId),
    repository: opts.repository
  });
  if (triage.action === "done") {
    await store.clearPending(runId);
    return { runId, outcome: "done", message: triage.reason };
  }
  if (triage.action === "skip") return { runId, outcome: "skipped", message: triage.reason };
  const run = triage.run;
  const detached = await store.listDetached(runId);
  const now = opts.clock.now();
  const verdicts = /* @__PURE__ */ new Map();
  const observed = /* @__PURE__ */ new Map();
  for (const d of detached) {
    if (!d.record.ok) continue;
    const o = await observe(opts, location, d.record.value);
    observed.set(d.record.value.experiment, o);
    verdicts.set(
      d.record.value.experiment,
      decideExperiment(o, now, opts.lostGraceMs ?? DEFAULT_LOST_GRACE_MINUTES * 6e4)
    );
  }
  const verdict = decideRun({
    run,
    detached,
    verdicts,
    now,
    inlineWaitMs: opts.inlineWaitMs ?? DEFAULT_INLINE_WAIT_HOURS * 36e5
  });
  if (verdict.action === "skip") return { runId, outcome: "skipped", message: verdict.reason };
  if (verdict.action === "wait") return { runId, outcome: "waiting", message: verdict.reason };
  const lockRecord = {
    schema: RECORD_SCHEMA,
    owner: opts.owner,
    at: new Date(now).toISOString(),
    purpose: "final"
  };
  let lock = await store.claim(runId, lockRecord);
  if (!lock) {
    const held = await store.readLock(runId);
    if (held && lockIsStale(held.record, now, opts.lockStaleMs ?? DEFAULT_LOCK_STALE_MINUTES * 6e4)) {
      opts.log.warning(
        `run ${runId}: breaking a report lock whose holder never finished (${held.record.ok ? `${held.record.value.owner}, ${held.record.value.at}` : held.record.reason}).`
      );
      await store.release(runId, held.generation);
      lock = await store.claim(runId, lockRecord);
    }
  }
  if (!lock) return { runId, outcome: "busy", message: `run ${runId} is being reported by another step` };
  try {
    if (await store.isReported(runId)) {
      await store.clearPending(runId);
      return { runId, outcome: "done", message: `run ${runId} was reported already` };
    }
    const published = await reportRun(opts, run, location, observed, verdict.lost);
    await store.markReported(runId, {
      schema: RECORD_SCHEMA,
      at: new Date(opts.clock.now()).toISOString(),
      by: opts.owner,
      commentUrl: published.commentUrl ?? null,
      experiments: published.experiments,
      lost: verdict.lost.size
    });
    await store.clearPending(runId);
    return {
      runId,
      outcome: "reported",
      message: `run ${runId}: ${published.experiments} experiment(s) collected and reported` + (verdict.lost.size > 0 ? `, ${verdict.lost.size} lost` : "") + (published.commentUrl ? ` (${published.commentUrl})` : ""),
      commentUrl: published.commentUrl,
      lost: verdict.lost.size
    };
  } catch (err) {
    await store.release(runId, lock.generation).catch(() => false);
    throw err;
  }
}
async function reportRun(opts, run, location, observed, lostReasons) {
  const serials = /* @__PURE__ */ new Map();
  for (const [id] of lostReasons) {
    const o = observed.get(id);
    if (!o) continue;
    const tail = await serialTail(opts, o.record, o.instance);
    if (tail) {
      serials.set(id, tail);
      opts.log.info(`Last lines of ${o.record.instance}'s serial console (${id}, lost):`);
      opts.log.untrusted(tail.replace(/\n$/, "").split("\n"));
    }
  }
  for (const o of observed.values()) {
    if (o.instance === "GONE" || o.instance === "UNKNOWN") continue;
    opts.log.info(`Deleting ${o.record.instance} in ${o.record.zone} (${o.record.experiment} has ended).`);
    try {
      await opts.compute.deleteInstance(o.record.zone, o.record.instance);
    } catch (err) {
      opts.log.warning(`Could not delete ${o.record.instance}: ${err.message}`);
    }
  }
  const root = path.join(opts.workDir, run.runId);
  const expected = [.../* @__PURE__ */ new Set([...run.experiments ?? [], ...observed.keys()])].map((id) => ({ id }));
  const collectLog = { info: (m) => opts.log.info(m), warning: (m) => opts.log.warning(m) };
  const collected = await collectRun({
    storage: opts.storage,
    location,
    expected: run.experiments ? expected : void 0,
    root,
    concurrency: opts.concurrency ?? 16,
    maxFileSize: opts.maxFileSize ?? 2 * 1024 ** 3,
    log: collectLog,
    metricInfo: new Map(Object.entries(run.report?.metrics ?? {}))
  });
  const lost = /* @__PURE__ */ new Map();
  const files = [...collected.files];
  for (const [id, reason] of lostReasons) {
    const dir = collected.manifest.experiments.find((x) => x.id === id)?.dir ?? experimentDir(id);
    const tail = serials.get(id);
    const extra = [];
    if (tail) {
      const local = path.join(root, ...dir.split("/"), "serial.txt");
      await mkdir(path.dirname(local), { recursive: true });
      await writeFile(local, tail);
      files.push(local);
      const o = observed.get(id);
      extra.push({
        path: `${dir}/serial.txt`,
        object: `serial port 1 of ${o?.record.instance ?? ""}`,
        size: Buffer.byteLength(tail),
        verified: "size"
      });
    }
    lost.set(id, {
      reason: `${reason}${tail ? "" : " (its serial console could not be read: the VM no longer exists)"}`,
      files: extra,
      dir
    });
  }
  const manifest = markLost(collected.manifest, lost);
  await writeFile(collected.manifestPath, `${JSON.stringify(manifest, null, 2)}
`);
  await writeResultsCsv(root, manifest, new Map(Object.entries(run.report?.metrics ?? {})));
  if (opts.upload) await opts.upload(`gce-matrix-${run.runId}`, root, files);
  const io = {
    info: (m) => opts.log.info(m),
    warning: (m) => opts.log.warning(m),
    summary: async (markdown) => {
      await opts.summary?.(markdown);
    },
    output: () => void 0
  };
  const published = await publishReport({
    settings: watchReportSettings(run, {
      path: root,
      bucket: opts.bucket,
      prefix: opts.prefix,
      githubToken: opts.github.token,
      apiUrl: opts.github.apiUrl,
      runUrl: opts.runUrl,
      artifactUrl: opts.artifactUrl
    }),
    clients: { storage: opts.storage },
    explicitRef: run.report !== void 0,
    comment: true,
    commitComment: true,
    upload: opts.upload,
    io
  });
  return { experiments: published.data.totals.experiments, commentUrl: published.comment?.url };
}
async function runWatcher(opts) {
  const store = new RunStore(opts.storage, opts.bucket, opts.prefix);
  const { runIds, foreign } = await store.pendingRuns();
  for (const name of foreign)
    opts.log.warning(`gs://${opts.bucket}/${name} is not a run of the watcher's index; ignored.`);
  opts.log.info(`${runIds.length} run(s) with detached experiments in gs://${opts.bucket}/${opts.prefix}.`);
  const results = [];
  for (const runId of runIds) {
    let result;
    try {
      result = await watchRun(opts, store, runId);
    } catch (err) {
      result = { runId, outcome: "failed", message: `run ${runId}: ${err.message}` };
    }
    if (result.outcome === "skipped" || result.outcome === "failed") opts.log.warning(result.message);
    else opts.log.info(result.message);
    results.push(result);
  }
  return results;
}

export {
  DEFAULT_LOST_GRACE_MINUTES,
  DEFAULT_LOCK_STALE_MINUTES,
  DEFAULT_INLINE_WAIT_HOURS,
  runWatcher
};
