import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  readEvent
} from "../chunks/chunk-UL55I6ZL.js";
import {
  uploadResults
} from "../chunks/chunk-OYZUGIW2.js";
import {
  runAction
} from "../chunks/chunk-T6E4PII2.js";
import {
  inlineClaim,
  publishReport
} from "../chunks/chunk-R4DE7DWF.js";
import {
  readManifest
} from "../chunks/chunk-PQO6YWTW.js";
import "../chunks/chunk-NRMHQSIR.js";
import "../chunks/chunk-5GCJFSFU.js";
import {
  RECORD_SCHEMA,
  RunStore,
  parseReportInputs,
  runRecordFromEnv
} from "../chunks/chunk-UXA2X36L.js";
import "../chunks/chunk-M3JD4Y6G.js";
import {
  connectGcp,
  systemClock
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  escapeMarkdown,
  getInput,
  info,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/report/main.ts
function reportSettingsOf(s) {
  return {
    title: s.title,
    markerKey: s.markerKey,
    pivot: s.pivot ? [...s.pivot] : null,
    centre: s.centre,
    directions: Object.fromEntries(s.directions),
    ...s.metricInfo.size > 0 ? { metrics: Object.fromEntries(s.metricInfo) } : {},
    thresholdPercent: s.thresholdPercent,
    test: s.test,
    adjust: s.adjust,
    alpha: s.alpha,
    replicate: s.replicate,
    ...s.history !== void 0 ? { history: s.history } : {},
    baseline: s.baseline,
    baselineRef: s.baselineRef,
    comment: s.comment
  };
}
var actionsIO = {
  info: (m) => info(m),
  warning: (m) => warning(m),
  summary: async (markdown) => {
    await summary.addRaw(markdown).write();
  },
  output: (name, value) => setOutput(name, value)
};
function reportUploader(s) {
  return async (name, root, files) => (await uploadResults({
    name,
    root,
    files,
    retentionDays: s.retentionDays,
    overwrite: true,
    nameInput: "report-artifact-name",
    log: actionsIO
  })).id;
}
async function reportDetached(opts) {
  const { base, store, run: run2 } = opts;
  const s = base.settings;
  const manifest = await readManifest(s.path);
  const planned = manifest.experiments.filter((e) => e.planned !== false).map((e) => e.id);
  await store.updateRun(run2.runId, run2, (current) => ({
    ...current,
    ...s.prNumber ? { prNumber: s.prNumber } : {},
    experiments: planned,
    report: reportSettingsOf(s)
  }));
  const ids = opts.detached.map((d) => d.id);
  const claim = inlineClaim(ids, new Map(manifest.experiments.map((e) => [e.id, e.status])));
  const summaryOnly = async (why) => {
    info(why);
    await publishReport({ ...base, comment: false, note: escapeMarkdown(why) });
  };
  if (await store.isReported(run2.runId)) {
    await summaryOnly(
      "The watcher already posted the final report of this run; this summary is for reference."
    );
    return;
  }
  const at = new Date(systemClock.now()).toISOString();
  const lock = await store.claim(run2.runId, {
    schema: RECORD_SCHEMA,
    owner: opts.owner,
    at,
    purpose: claim === "final" ? "final" : "partial"
  });
  if (!lock) {
    await summaryOnly(
      "Another report of this run is being written (its report lock is held); this summary is for reference."
    );
    return;
  }
  if (await store.isReported(run2.runId)) {
    await store.release(run2.runId, lock.generation);
    await summaryOnly(
      "The watcher already posted the final report of this run; this summary is for reference."
    );
    return;
  }
  if (claim === "final") {
    const published = await publishReport({ ...base, comment: true });
    await store.markReported(run2.runId, {
      schema: RECORD_SCHEMA,
      at: new Date(systemClock.now()).toISOString(),
      by: opts.owner,
      commentUrl: published.comment?.url ?? null,
      experiments: published.data.totals.experiments,
      lost: published.data.totals.lost
    });
    await store.clearPending(run2.runId);
    info("Every detached experiment has ended: this is the final report of the run.");
    return;
  }
  const running = opts.detached.filter((d) => {
    const e = manifest.experiments.find((x) => x.id === d.id);
    return !e || e.status === "unfinished" || e.status === "missing";
  });
  const reasons = new Map(
    running.map((d) => [
      d.id,
      `running detached on ${d.instance} (${d.zone}); the watcher reports it when it ends`
    ])
  );
  try {
    await publishReport({
      ...base,
      comment: true,
      reasons,
      note: `\u23F3 ${running.length} experiment(s) still running detached: ${running.slice(0, 10).map((d) => `\`${escapeMarkdown(d.id)}\``).join(", ")}${running.length > 10 ? ", ..." : ""}. This report is updated when they end.`
    });
  } finally {
    await store.release(run2.runId, lock.generation);
  }
}
async function reportStep(env) {
  const event = await readEvent(env);
  const s = parseReportInputs(
    (name) => getInput(name),
    env,
    event,
    env.GITHUB_WORKSPACE || process.cwd()
  );
  let clients;
  if (s.project && s.bucket) {
    const connected = connectGcp({
      project: s.project,
      env,
      workloadIdentityProvider: s.workloadIdentityProvider,
      serviceAccount: s.serviceAccount
    });
    clients = connected.clients;
    info(`Authenticating with ${connected.description} for baselines and detached experiments.`);
  }
  const explicitRef = getInput("baseline-ref").trim() !== "";
  const base = {
    settings: s,
    clients: s.baseline !== "none" ? clients : void 0,
    explicitRef,
    upload: reportUploader(s),
    io: actionsIO
  };
  try {
    let detached = [];
    let store;
    const runId = s.runId ?? String((await readManifest(s.path)).runId);
    if (clients && s.bucket) {
      store = new RunStore(clients.storage, s.bucket, s.prefix);
      try {
        detached = (await store.listDetached(runId)).flatMap(
          (d) => d.record.ok ? [
            {
              id: d.record.value.experiment,
              instance: d.record.value.instance,
              zone: d.record.value.zone
            }
          ] : []
        );
      } catch (err) {
        warning(`Could not look for detached experiments of run ${runId}: ${err.message}`);
      }
    }
    if (!store || detached.length === 0) {
      await publishReport({ ...base, comment: true });
      return;
    }
    const now = systemClock.now();
    await reportDetached({
      base,
      store,
      run: { ...runRecordFromEnv({ runId, env, event, now }), schema: RECORD_SCHEMA },
      detached,
      owner: `actions/report in workflow run ${env.GITHUB_RUN_ID ?? "local"}`
    });
  } finally {
    await clients?.close();
  }
}
async function run(env = process.env) {
  await runAction("report", () => reportStep(env));
}

// src/report/index.ts
await run();
