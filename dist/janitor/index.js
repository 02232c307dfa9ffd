import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ComputeApi
} from "../chunks/chunk-YVYUEC23.js";
import {
  RunStore,
  systemClock
} from "../chunks/chunk-FSY4KCVE.js";
import {
  connectGcp
} from "../chunks/chunk-WEZX2YKL.js";
import {
  escapeMarkdown
} from "../chunks/chunk-QUTAAEM7.js";
import {
  ConfigurationError,
  getInput,
  info,
  labelValue,
  parseAuthInputs,
  runAction,
  setFailed,
  setOutput,
  summary
} from "../chunks/chunk-223UMF5V.js";
import "../chunks/chunk-TVQJ4HKQ.js";
import "../chunks/chunk-PDSOAN7B.js";

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
  const run2 = vm.labels["gce-matrix-run"];
  const sameRepo = policy.repository === void 0 || vm.labels["gce-matrix-repo"] === policy.repository;
  if (run2 !== void 0 && sameRepo && policy.endedRuns.has(run2) && !policy.detached?.has(vm.name)) {
    return { vm, action: "delete", reason: "run-ended", detail: `run ${run2} has ended` };
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
async function pool(items, width, fn) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
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
    compute = new ComputeApi(clients, clock);
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
      endedRuns: new Set((opts.endedRuns ?? []).map(labelValue)),
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
      await pool(stale, DELETES_IN_FLIGHT, async (v) => {
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
    const run2 = v.vm.labels["gce-matrix-run"] ?? "";
    const error = failed.get(v.vm);
    const action = v.action === "keep" ? "kept" : error !== void 0 ? `delete failed: ${cell(error)}` : result.dryRun ? `would delete (${v.reason})` : `deleted (${v.reason})`;
    return `| \`${cell(v.vm.name)}\` | ${cell(v.vm.zone)} | ${cell(run2)} | ${cell(v.vm.status)} | ${action} | ${cell(v.detail)} |`;
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

// src/janitor/main.ts
function printable(text) {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
function list(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== "");
}
function number(read, name, fallback, min, max) {
  const text = read(name).trim();
  if (text === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigurationError(
      `input ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`
    );
  }
  return n;
}
function boolean(read, name) {
  const text = read(name).trim().toLowerCase();
  if (text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigurationError(`input ${name} must be true or false, got ${JSON.stringify(text)}`);
}
function parseJanitorInputs(read, env) {
  const zones = list(read("zones"));
  for (const z of zones) {
    if (!/^[a-z]+-[a-z]+[0-9]+-[a-z]$/.test(z)) {
      throw new ConfigurationError(`input zones: ${JSON.stringify(z)} is not a zone name like us-central1-a`);
    }
  }
  const regions = list(read("region"));
  for (const r of regions) {
    if (!/^[a-z]+-[a-z]+[0-9]+$/.test(r)) {
      throw new ConfigurationError(
        `input region: ${JSON.stringify(r)} is not a region name like us-central1`
      );
    }
  }
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError(
      "input zones (or region) is required: where launch creates VMs, e.g. us-central1-a"
    );
  }
  const scope = read("scope").trim() || "repository";
  if (scope !== "repository" && scope !== "project") {
    throw new ConfigurationError(`input scope must be repository or project, got ${JSON.stringify(scope)}`);
  }
  const repository = read("repository").trim() || env.GITHUB_REPOSITORY || "";
  if (scope === "repository" && !repository) {
    throw new ConfigurationError(
      "input repository is required with scope repository (outside GitHub Actions)"
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const bucket = read("bucket").trim().replace(/^gs:\/\//, "").replace(/\/+$/, "") || void 0;
  if (bucket !== void 0 && !/^[a-z0-9][-_.a-z0-9]{1,221}[a-z0-9]$/.test(bucket)) {
    throw new ConfigurationError(`input bucket ${JSON.stringify(bucket)} is not a bucket name`);
  }
  return {
    ...bucket ? { bucket, prefix: (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, "") } : {},
    project: read("project").trim() || void 0,
    env,
    ...workloadIdentityProvider ? { workloadIdentityProvider, serviceAccount } : {},
    zones,
    regions,
    endedRuns: list(read("run-id")),
    ...scope === "repository" ? { repository } : {},
    marginMinutes: number(read, "margin-minutes", DEFAULT_MARGIN_MINUTES, 0, 10080),
    maxAgeHours: number(read, "max-age-hours", DEFAULT_MAX_AGE_HOURS, 1, 8760),
    dryRun: boolean(read, "dry-run")
  };
}
async function run(env = process.env) {
  const opts = parseJanitorInputs((name) => getInput(name), env);
  const { bucket, prefix } = opts;
  let closeStorage = () => Promise.resolve();
  let detachedVms;
  if (bucket && prefix !== void 0) {
    const project = opts.project || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || "";
    const { clients } = connectGcp({
      project,
      env,
      workloadIdentityProvider: opts.workloadIdentityProvider,
      serviceAccount: opts.serviceAccount
    });
    closeStorage = () => clients.close();
    const store = new RunStore(clients.storage, bucket, prefix);
    detachedVms = async (runs) => {
      const names = /* @__PURE__ */ new Set();
      for (const runId of runs) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) continue;
        for (const d of await store.listDetached(runId)) if (d.record.ok) names.add(d.record.value.instance);
      }
      return names;
    };
  }
  let result;
  try {
    result = await runJanitor({ ...opts, detachedVms, log: (m) => info(printable(m)) });
  } finally {
    await closeStorage();
  }
  const stale = result.verdicts.filter((v) => v.action === "delete").length;
  setOutput("found", String(result.verdicts.length));
  setOutput("stale", String(stale));
  setOutput("deleted", String(result.deleted.length));
  setOutput("failed", String(result.failed.length));
  await summary.addRaw(janitorSummary(result)).write();
  if (result.failed.length > 0) {
    const first = result.failed[0];
    setFailed(
      `gce-matrix janitor: ${result.failed.length} VM(s) could not be deleted (first: ${printable(first?.verdict.vm.name ?? "")}: ${printable(first?.error ?? "")})`
    );
  }
}

// src/janitor/index.ts
await runAction("janitor", run);
