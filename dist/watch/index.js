import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  printable,
  uploadResults
} from "../chunks/chunk-FFWONPF7.js";
import {
  decideExperiment,
  decideRun,
  lockIsStale,
  publishReport,
  triageRun
} from "../chunks/chunk-UM5LJTEM.js";
import "../chunks/chunk-SW2PZEV6.js";
import {
  runAction
} from "../chunks/chunk-2TP625P2.js";
import {
  ExperimentResults
} from "../chunks/chunk-T43JU2LF.js";
import {
  collectRun,
  experimentDir
} from "../chunks/chunk-L6BWFJUO.js";
import {
  readBoolean,
  readInteger
} from "../chunks/chunk-MFJUMJEF.js";
import "../chunks/chunk-OGZGP2CU.js";
import "../chunks/chunk-NRMHQSIR.js";
import {
  markLost
} from "../chunks/chunk-2CTBM5IU.js";
import {
  ComputeApi
} from "../chunks/chunk-7PJ4ZGRB.js";
import {
  RECORD_SCHEMA,
  RunStore,
  markerKey,
  systemClock
} from "../chunks/chunk-IROX7BVM.js";
import {
  connectGcp
} from "../chunks/chunk-P7ID7MDH.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  escapeMarkdown
} from "../chunks/chunk-QUTAAEM7.js";
import {
  ConfigurationError,
  getInput,
  info,
  parseAuthInputs,
  setFailed,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-UEQNVQMM.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/watch/main.ts
import { randomBytes } from "node:crypto";
import path2 from "node:path";

// src/watch/watch.ts
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
var DEFAULT_LOST_GRACE_MINUTES = 10;
var DEFAULT_LOCK_STALE_MINUTES = 60;
var DEFAULT_INLINE_WAIT_HOURS = 24;
var SERIAL_TAIL_LINES = 40;
function watchReportSettings(run2, opts) {
  const r = run2.report;
  const title = r?.title ?? "gce-matrix report";
  const branch = run2.ref.startsWith("refs/heads/") ? run2.ref.slice("refs/heads/".length) : "";
  return {
    path: opts.path,
    bucket: opts.bucket,
    prefix: opts.prefix,
    runId: run2.runId,
    project: void 0,
    workloadIdentityProvider: void 0,
    serviceAccount: void 0,
    baseline: r?.baseline ?? "compare",
    baselineRef: r?.baselineRef ?? (branch || "main"),
    sha: run2.sha,
    pivot: r?.pivot ?? void 0,
    directions: new Map(Object.entries(r?.directions ?? {})),
    thresholdPercent: r?.thresholdPercent ?? 5,
    prNumber: run2.prNumber ?? void 0,
    githubToken: opts.githubToken,
    comment: r?.comment ?? true,
    title,
    markerKey: r?.markerKey ?? markerKey(`${run2.workflow || "workflow"}/${title}`),
    repository: run2.repository,
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
  const run2 = triage.run;
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
    run: run2,
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
    const published = await reportRun(opts, run2, location, observed, verdict.lost);
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
async function reportRun(opts, run2, location, observed, lostReasons) {
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
  const root = path.join(opts.workDir, run2.runId);
  const expected = [.../* @__PURE__ */ new Set([...run2.experiments ?? [], ...observed.keys()])].map((id) => ({ id }));
  const collectLog = { info: (m) => opts.log.info(m), warning: (m) => opts.log.warning(m) };
  const collected = await collectRun({
    storage: opts.storage,
    location,
    expected: run2.experiments ? expected : void 0,
    root,
    concurrency: opts.concurrency ?? 16,
    maxFileSize: opts.maxFileSize ?? 2 * 1024 ** 3,
    log: collectLog
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
  if (opts.upload) await opts.upload(`gce-matrix-${run2.runId}`, root, files);
  const io = {
    info: (m) => opts.log.info(m),
    warning: (m) => opts.log.warning(m),
    summary: async (markdown) => {
      await opts.summary?.(markdown);
    },
    output: () => void 0
  };
  const published = await publishReport({
    settings: watchReportSettings(run2, {
      path: root,
      bucket: opts.bucket,
      prefix: opts.prefix,
      githubToken: opts.github.token,
      apiUrl: opts.github.apiUrl,
      runUrl: opts.runUrl,
      artifactUrl: opts.artifactUrl
    }),
    clients: { storage: opts.storage },
    explicitRef: run2.report !== void 0,
    comment: true,
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

// src/watch/main.ts
var BUCKET = /^[a-z0-9][-_.a-z0-9]{1,221}[a-z0-9]$/;
var PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
function parseWatchInputs(read, env, workspace) {
  const project = read("project").trim() || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || "";
  if (!project) {
    throw new ConfigurationError(
      "input project is required (or set GOOGLE_CLOUD_PROJECT, as google-github-actions/auth does)"
    );
  }
  if (!PROJECT.test(project)) {
    throw new ConfigurationError(`input project ${JSON.stringify(project)} is not a Google Cloud project id`);
  }
  const bucket = read("bucket").trim().replace(/^gs:\/\//, "").replace(/\/+$/, "");
  if (!bucket) throw new ConfigurationError("input bucket is required: the bucket launch wrote results to");
  if (!BUCKET.test(bucket)) {
    throw new ConfigurationError(`input bucket ${JSON.stringify(bucket)} is not a bucket name`);
  }
  const scope = read("scope").trim() || "repository";
  if (scope !== "repository" && scope !== "all") {
    throw new ConfigurationError(`input scope must be repository or all (got ${JSON.stringify(scope)})`);
  }
  const repository = env.GITHUB_REPOSITORY ?? "";
  if (scope === "repository" && !repository) {
    throw new ConfigurationError("input scope repository needs GITHUB_REPOSITORY (or set scope: all)");
  }
  const retention = read("retention-days").trim();
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  return {
    project,
    bucket,
    prefix: (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, ""),
    repository: scope === "repository" ? repository : void 0,
    path: path2.resolve(workspace, read("path").trim() || "gce-matrix-watch"),
    upload: readBoolean(read, "upload", true),
    retentionDays: retention ? readInteger(read, "retention-days", 0, 1, 400) : void 0,
    githubToken: read("github-token").trim(),
    lostGraceMinutes: readInteger(read, "lost-grace-minutes", DEFAULT_LOST_GRACE_MINUTES, 0, 1440),
    lockStaleMinutes: readInteger(read, "lock-stale-minutes", DEFAULT_LOCK_STALE_MINUTES, 1, 10080),
    inlineWaitHours: readInteger(read, "inline-wait-hours", DEFAULT_INLINE_WAIT_HOURS, 0, 24 * 40),
    workloadIdentityProvider,
    serviceAccount
  };
}
var actionsLogger = {
  info: (m) => info(printable(m)),
  warning: (m) => warning(printable(m)),
  untrusted: (lines) => {
    if (lines.length === 0) return;
    const fence = randomBytes(16).toString("hex");
    process.stdout.write(`::stop-commands::${fence}
`);
    for (const line of lines) process.stdout.write(`${printable(line)}
`);
    process.stdout.write(`::${fence}::
`);
  }
};
var OUTCOME = {
  reported: "\u2705 reported",
  waiting: "\u23F3 waiting",
  busy: "\u{1F512} another step reports it",
  done: "\u2611\uFE0F reported before",
  skipped: "\u26A0\uFE0F skipped",
  failed: "\u274C failed"
};
function watchSummary(results) {
  const count = (o) => results.filter((r) => r.outcome === o).length;
  const head = `gce-matrix watch: ${results.length} run(s) with detached experiments; ${count("reported")} reported now, ${count("waiting")} still running, ${count("skipped")} skipped, ${count("failed")} failed
`;
  if (results.length === 0) return head;
  const rows = results.slice(0, 500).map((r) => `| \`${escapeMarkdown(r.runId)}\` | ${OUTCOME[r.outcome]} | ${escapeMarkdown(r.message)} |`);
  return `${head}
| run | outcome | detail |
| --- | --- | --- |
${rows.join("\n")}
`;
}
async function run(env = process.env) {
  const s = parseWatchInputs((name) => getInput(name), env, env.GITHUB_WORKSPACE || process.cwd());
  const { clients, description } = connectGcp({
    project: s.project,
    env,
    workloadIdentityProvider: s.workloadIdentityProvider,
    serviceAccount: s.serviceAccount
  });
  info(`Authenticating with ${description}.`);
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const runUrl = `${server}/${env.GITHUB_REPOSITORY ?? ""}/actions/runs/${env.GITHUB_RUN_ID ?? ""}`;
  try {
    const results = await runWatcher({
      storage: clients.storage,
      compute: new ComputeApi(clients, systemClock),
      bucket: s.bucket,
      prefix: s.prefix,
      repository: s.repository,
      workDir: s.path,
      github: {
        token: s.githubToken,
        apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "")
      },
      runUrl,
      artifactUrl: `${runUrl}#artifacts`,
      owner: `actions/watch in workflow run ${env.GITHUB_RUN_ID ?? "local"}`,
      clock: systemClock,
      log: actionsLogger,
      upload: s.upload ? async (name, root, files) => {
        const uploaded = await uploadResults({
          name,
          root,
          files,
          retentionDays: s.retentionDays,
          overwrite: true,
          log: actionsLogger
        });
        info(`Uploaded artifact ${name} (id ${uploaded.id}, ${uploaded.size} bytes).`);
      } : void 0,
      summary: async (markdown) => {
        await summary.addRaw(markdown).write();
      },
      lostGraceMs: s.lostGraceMinutes * 6e4,
      lockStaleMs: s.lockStaleMinutes * 6e4,
      inlineWaitMs: s.inlineWaitHours * 36e5
    });
    const count = (o) => String(results.filter((r) => r.outcome === o).length);
    setOutput("reported", count("reported"));
    setOutput("waiting", count("waiting"));
    setOutput("skipped", count("skipped"));
    setOutput("failed", count("failed"));
    await summary.addRaw(watchSummary(results)).write();
    const failed = results.filter((r) => r.outcome === "failed");
    if (failed.length > 0) {
      setFailed(
        `gce-matrix watch: ${failed.length} run(s) could not be reported (first: ${printable(failed[0].message)}); the others were handled, and the next pass tries again`
      );
    }
  } finally {
    await clients.close();
  }
}

// src/watch/index.ts
await runAction("watch", run);
