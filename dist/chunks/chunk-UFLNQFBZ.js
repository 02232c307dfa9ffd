import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ComputeApi
} from "./chunk-S3KYGDOF.js";
import {
  mapLimited
} from "./chunk-M3JD4Y6G.js";
import {
  connectGcp,
  systemClock
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  escapeMarkdown,
  labelValue,
  runKey
} from "./chunk-F4TJMFJC.js";

// src/janitor/decide.ts
var MANAGED_FILTER = 'labels.gce-matrix = "managed"';
var STOPPED = /* @__PURE__ */ new Set(["TERMINATED", "STOPPED", "SUSPENDED"]);
function timestamp(text) {
  if (!text) return void 0;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : void 0;
}
function toJanitorVm(instance, zone) {
  const seconds = Number(instance.scheduling?.maxRunDuration?.seconds ?? NaN);
  return {
    name: instance.name ?? "",
    zone,
    status: instance.status ?? "",
    labels: { ...instance.labels ?? {} },
    createdAt: timestamp(instance.creationTimestamp),
    lastStartAt: timestamp(instance.lastStartTimestamp),
    lastStopAt: timestamp(instance.lastStopTimestamp),
    maxRunSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : void 0
  };
}
function minutes(ms) {
  const m = Math.round(ms / 6e4);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}
function decide(vm, policy) {
  if (vm.labels["gce-matrix"] !== "managed") {
    return { vm, action: "keep", detail: "not labelled gce-matrix=managed" };
  }
  const key = vm.labels["gce-matrix-run-key"];
  const run = vm.labels["gce-matrix-run"] ?? key;
  const sameRepo = policy.repository === void 0 || vm.labels["gce-matrix-repo"] === policy.repository;
  if (key !== void 0 && sameRepo && policy.endedRuns.has(key) && !policy.detached?.has(vm.name)) {
    return { vm, action: "delete", reason: "run-ended", detail: `run ${run} has ended` };
  }
  if (STOPPED.has(vm.status)) {
    const stoppedFor = vm.lastStopAt === void 0 ? void 0 : policy.now - vm.lastStopAt;
    if (stoppedFor === void 0 || stoppedFor > policy.marginMs) {
      return {
        vm,
        action: "delete",
        reason: "terminated",
        detail: `${vm.status}${stoppedFor === void 0 ? "" : ` for ${minutes(stoppedFor)}`}`
      };
    }
    return { vm, action: "keep", detail: `${vm.status} for ${minutes(stoppedFor)}, within the margin` };
  }
  const start = vm.lastStartAt ?? vm.createdAt;
  if (start === void 0) return { vm, action: "keep", detail: "no creation time" };
  const age = policy.now - start;
  if (vm.maxRunSeconds !== void 0) {
    const over = age - vm.maxRunSeconds * 1e3;
    if (over > policy.marginMs) {
      return {
        vm,
        action: "delete",
        reason: "ttl-passed",
        detail: `running ${minutes(age)}, ${minutes(over)} past its limit of ${minutes(vm.maxRunSeconds * 1e3)}`
      };
    }
    return { vm, action: "keep", detail: `running ${minutes(age)} of ${minutes(vm.maxRunSeconds * 1e3)}` };
  }
  if (age > policy.maxAgeMs) {
    return {
      vm,
      action: "delete",
      reason: "too-old",
      detail: `no time limit and ${minutes(age)} old (maximum ${minutes(policy.maxAgeMs)})`
    };
  }
  return { vm, action: "keep", detail: `no time limit, ${minutes(age)} old` };
}

// src/janitor/janitor.ts
var DEFAULT_MARGIN_MINUTES = 30;
var DEFAULT_MAX_AGE_HOURS = 24;
var DELETES_IN_FLIGHT = 8;
var SUMMARY_ROWS = 500;
function janitorFilter(repository) {
  return repository ? `${MANAGED_FILTER} AND labels.gce-matrix-repo = "${labelValue(repository)}"` : MANAGED_FILTER;
}
async function resolveZones(compute, opts) {
  const zones = new Set(opts.zones ?? []);
  for (const region of opts.regions ?? []) {
    const found = await compute.zonesOfRegion(region);
    if (found.length === 0) {
      throw new ConfigurationError(`region ${region} has no zone that is UP in project ${compute.project}`);
    }
    for (const z of found) zones.add(z);
  }
  if (zones.size === 0) {
    throw new ConfigurationError("the janitor needs zones or a region to look in, e.g. zones: us-central1-a");
  }
  return [...zones].sort();
}
async function runJanitor(opts) {
  const log = opts.log ?? (() => void 0);
  const clock = opts.clock ?? systemClock;
  let compute = opts.compute;
  let close = () => Promise.resolve();
  if (!compute) {
    const env = opts.env ?? process.env;
    const project = opts.project || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT;
    if (!project) throw new ConfigurationError("project is required (or set GOOGLE_CLOUD_PROJECT)");
    const { clients, description } = connectGcp({
      project,
      env,
      workloadIdentityProvider: opts.workloadIdentityProvider,
      serviceAccount: opts.serviceAccount
    });
    log(`Authenticating with ${description}.`);
    compute = new ComputeApi(clients, clock, void 0, { log });
    close = () => clients.close();
  }
  try {
    const zones = await resolveZones(compute, opts);
    const filter = janitorFilter(opts.repository);
    const vms = [];
    for (const zone of zones) {
      for (const instance of await compute.listInstances(zone, filter)) vms.push(toJanitorVm(instance, zone));
    }
    const detached = opts.detachedVms && (opts.endedRuns ?? []).length > 0 ? await opts.detachedVms(opts.endedRuns ?? []) : void 0;
    for (const name of detached ?? []) log(`${name} runs detached: left for the watcher.`);
    const policy = {
      detached,
      now: clock.now(),
      marginMs: (opts.marginMinutes ?? DEFAULT_MARGIN_MINUTES) * 6e4,
      maxAgeMs: (opts.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS) * 36e5,
      endedRuns: new Set((opts.endedRuns ?? []).map(runKey)),
      repository: opts.repository ? labelValue(opts.repository) : void 0
    };
    const verdicts = vms.map((vm) => decide(vm, policy));
    const stale = verdicts.filter((v) => v.action === "delete");
    log(`Found ${vms.length} gce-matrix VM(s) in ${zones.length} zone(s); ${stale.length} stale.`);
    const deleted = [];
    const failed = [];
    if (opts.dryRun) {
      for (const v of stale) log(`Would delete ${v.vm.name} in ${v.vm.zone}: ${v.detail}.`);
    } else {
      const api = compute;
      await mapLimited(stale, DELETES_IN_FLIGHT, async (v) => {
        log(`Deleting ${v.vm.name} in ${v.vm.zone}: ${v.detail}.`);
        try {
          await api.deleteInstance(v.vm.zone, v.vm.name);
          deleted.push(v);
        } catch (err) {
          failed.push({ verdict: v, error: err instanceof Error ? err.message : String(err) });
        }
      });
    }
    const order = (v) => `${v.vm.zone}/${v.vm.name}`;
    deleted.sort((a, b) => order(a).localeCompare(order(b)));
    return { zones, verdicts, deleted, failed, dryRun: opts.dryRun ?? false };
  } finally {
    await close();
  }
}
function janitorSummary(result) {
  const failed = new Map(result.failed.map((f) => [f.verdict.vm, f.error]));
  const rows = [...result.verdicts].sort(
    (a, b) => Number(a.action === "keep") - Number(b.action === "keep") || a.vm.name.localeCompare(b.vm.name)
  );
  const stale = rows.filter((v) => v.action === "delete").length;
  const head = `gce-matrix janitor: ${result.verdicts.length} VM(s) in ${result.zones.length} zone(s), ${stale} stale, ` + (result.dryRun ? "dry run (nothing deleted)" : `${result.deleted.length} deleted`) + (result.failed.length > 0 ? `, ${result.failed.length} failed` : "") + "\n";
  if (rows.length === 0) return head;
  const cell = (t) => escapeMarkdown(t);
  const lines = rows.slice(0, SUMMARY_ROWS).map((v) => {
    const run = v.vm.labels["gce-matrix-run"] ?? "";
    const error = failed.get(v.vm);
    const action = v.action === "keep" ? "kept" : error !== void 0 ? `delete failed: ${cell(error)}` : result.dryRun ? `would delete (${v.reason})` : `deleted (${v.reason})`;
    return `| \`${cell(v.vm.name)}\` | ${cell(v.vm.zone)} | ${cell(run)} | ${cell(v.vm.status)} | ${action} | ${cell(v.detail)} |`;
  });
  const more = rows.length > SUMMARY_ROWS ? `
... and ${rows.length - SUMMARY_ROWS} more
` : "";
  return `${head}
| VM | zone | run | status | action | why |
| --- | --- | --- | --- | --- | --- |
${lines.join("\n")}
${more}`;
}

export {
  DEFAULT_MARGIN_MINUTES,
  DEFAULT_MAX_AGE_HOURS,
  runJanitor,
  janitorSummary
};
