import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  withZones
} from "./chunk-7KWXIUHV.js";
import {
  downloadTarball,
  resolveCommit
} from "./chunk-Z425WIJF.js";
import {
  FULL_SHA,
  SOURCE_SCHEMA,
  checkFitsBootDisk,
  commitKey,
  manifestText,
  parseManifest,
  servicesAttribute,
  sourceAttribute,
  sourceObjects
} from "./chunk-VRTZOPY4.js";
import {
  estimateCostUsd
} from "./chunk-NRMHQSIR.js";
import {
  createObjectOnce,
  detachedRecord
} from "./chunk-UXA2X36L.js";
import {
  GcpError,
  backoffMs,
  classifyError,
  httpStatus
} from "./chunk-YT5EBHMA.js";
import {
  ConfigurationError,
  experimentKey,
  experimentObjects,
  experimentPrefix,
  gsUri,
  instanceName,
  labelValue,
  runKey
} from "./chunk-F4TJMFJC.js";

// src/launch/detach.ts
async function recordDetached(opts) {
  const { store, settings, detached } = opts;
  await store.createRun(opts.run);
  await store.writeDetached(
    detachedRecord({
      location: settings.results,
      experiment: settings.experiment.id,
      project: settings.project,
      zone: detached.vm.zone,
      instance: detached.vm.name,
      attempt: detached.vm.attempt,
      reason: detached.reason,
      machineType: settings.machineType,
      createdAt: detached.createdAt,
      ttlSeconds: detached.ttlSeconds,
      detachedAt: opts.now
    })
  );
  await store.markPending(settings.results.runId, opts.now);
}

// src/launch/agent-script.ts
import { readFile } from "node:fs/promises";
async function loadAgentScript() {
  return readFile(new URL("../agent/agent.sh", import.meta.url), "utf8");
}

// src/launch/experiment.ts
import { randomUUID } from "node:crypto";

// src/launch/instance.ts
var METADATA_VALUE_LIMIT = 256 * 1024;
var METADATA_TOTAL_LIMIT = 512 * 1024;
var TTL_MARGIN_MINUTES = 15;
function managedLabels(settings, attempt) {
  return {
    ...settings.labels,
    "gce-matrix": "managed",
    "gce-matrix-run": labelValue(settings.results.runId),
    "gce-matrix-run-key": runKey(settings.results.runId),
    "gce-matrix-key": experimentKey(settings.results.runId, settings.experiment.id),
    "gce-matrix-repo": labelValue(settings.repository),
    "gce-matrix-experiment": labelValue(settings.experiment.id),
    "gce-matrix-attempt": String(attempt),
    "gce-matrix-gh-attempt": String(settings.githubRunAttempt)
  };
}
function paramEnvLines(params) {
  const seen = /* @__PURE__ */ new Map();
  const lines = [];
  for (const [key, value] of Object.entries(params)) {
    const name = key.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    const other = seen.get(name);
    if (other !== void 0) {
      throw new ConfigurationError(
        `experiment parameters ${JSON.stringify(other)} and ${JSON.stringify(key)} both become GCE_MATRIX_PARAM_${name}; rename one`
      );
    }
    seen.set(name, key);
    const text = String(value);
    if (/[\r\n\0]/.test(text)) {
      throw new ConfigurationError(
        `experiment parameter ${JSON.stringify(key)} holds a line break; parameters are single-line`
      );
    }
    lines.push(`${name}=${text}`);
  }
  return lines.join("\n");
}
function agentAttributes(settings, placement) {
  const objects = experimentObjects(settings.results, settings.experiment.id);
  const attrs = {
    "startup-script": `GCE_MATRIX_MODE=startup
${placement.agentScript}`,
    "shutdown-script": `GCE_MATRIX_MODE=shutdown
${placement.agentScript}`,
    "gce-matrix-bucket": settings.results.bucket,
    "gce-matrix-experiment-prefix": objects.base,
    "gce-matrix-run-id": settings.results.runId,
    "gce-matrix-experiment": settings.experiment.id,
    "gce-matrix-attempt": String(placement.attempt),
    "gce-matrix-command": settings.command,
    "gce-matrix-params": JSON.stringify(settings.experiment.params),
    "gce-matrix-param-env": paramEnvLines(settings.experiment.params),
    "gce-matrix-timeout-seconds": String(Math.round(settings.timeoutMinutes * 60)),
    "gce-matrix-heartbeat-seconds": String(settings.heartbeatSeconds),
    "gce-matrix-log-interval-seconds": String(settings.logIntervalSeconds),
    "gce-matrix-checkpoint-interval-seconds": String(settings.checkpointIntervalSeconds),
    "gce-matrix-repo-sha": settings.sha,
    "gce-matrix-spot": String(placement.spot),
    "gce-matrix-command-identity": settings.commandIdentity,
    "gce-matrix-command-credentials": settings.commandCredentials
  };
  if (settings.snapshot) attrs["gce-matrix-source"] = sourceAttribute(settings.snapshot);
  if (settings.inputs.length > 0) {
    attrs["gce-matrix-inputs"] = settings.inputs.map((i) => `${i.source}	${i.dest}`).join("\n");
  }
  if (settings.secrets.length > 0) {
    attrs["gce-matrix-secrets"] = settings.secrets.map((s) => `${s.env}=${s.resource}`).join("\n");
  }
  if (settings.services.length > 0) attrs["gce-matrix-services"] = servicesAttribute(settings.services);
  if (settings.containerImage) {
    attrs["gce-matrix-container-image"] = settings.containerImage;
  }
  if (settings.containerImage || placement.members && settings.accelerators.length > 0) {
    attrs["gce-matrix-gpus"] = String(settings.accelerators.reduce((n, a) => n + a.count, 0));
  }
  if (settings.resources) {
    const { cpus, memoryMb, gpus, diskMb } = settings.resources;
    attrs["gce-matrix-resources"] = [
      `cpus=${cpus}`,
      `memory-mb=${memoryMb}`,
      ...gpus > 0 ? [`gpus=${gpus}`] : [],
      ...diskMb > 0 ? [`disk-mb=${diskMb}`] : []
    ].join("\n");
  }
  if (placement.members) Object.assign(attrs, memberAttributes(settings, placement.members));
  return attrs;
}
function memberAttributes(settings, members) {
  const attrs = {
    "gce-matrix-members": String(members.length),
    "gce-matrix-experiment-prefix": experimentObjects(settings.results, members[0]?.id ?? "").base,
    "gce-matrix-params": "{}",
    "gce-matrix-param-env": ""
  };
  members.forEach((m, index) => {
    const i = index + 1;
    attrs[`gce-matrix-member-${i}`] = [
      `experiment=${m.id}`,
      `experiment-prefix=${experimentObjects(settings.results, m.id).base}`,
      `attempt=${m.attempt}`,
      `params=${JSON.stringify(m.params)}`
    ].join("\n");
    attrs[`gce-matrix-member-${i}-param-env`] = paramEnvLines(m.params);
  });
  return attrs;
}
function checkMetadataLimits(attrs) {
  let total = 0;
  for (const [key, value] of Object.entries(attrs)) {
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    total += size;
    if (Buffer.byteLength(value) > METADATA_VALUE_LIMIT) {
      throw new ConfigurationError(
        `instance metadata ${key} is ${Buffer.byteLength(value)} bytes; Compute Engine allows ${METADATA_VALUE_LIMIT} per value. ` + (key === "gce-matrix-command" ? "Put a long command in a script in the image or stage it as an input." : key === "gce-matrix-services" ? "Shorten the services: long environment values belong in the service image or a staged input." : "Shorten it.")
      );
    }
  }
  if (total > METADATA_TOTAL_LIMIT) {
    throw new ConfigurationError(
      `instance metadata totals ${total} bytes; Compute Engine allows ${METADATA_TOTAL_LIMIT}. Shorten the command, parameters, input list or services.`
    );
  }
}
function vmTtlSeconds(settings, rounds = 1) {
  return Math.ceil(settings.timeoutMinutes * 60) * rounds + TTL_MARGIN_MINUTES * 60;
}
function sourceImage(image) {
  return image.startsWith("https://") || image.startsWith("projects/") || image.startsWith("global/") ? image : `projects/${image}`;
}
function buildInstance(settings, placement) {
  const { zone } = placement;
  const attrs = agentAttributes(settings, placement);
  checkMetadataLimits(attrs);
  const hasGpu = settings.accelerators.length > 0;
  const network = {
    accessConfigs: settings.externalIp ? [{ name: "External NAT", type: "ONE_TO_ONE_NAT" }] : []
  };
  if (settings.network) network.network = settings.network;
  if (settings.subnetwork) network.subnetwork = settings.subnetwork;
  const ttlSeconds = vmTtlSeconds(settings, placement.rounds ?? 1);
  return {
    name: placement.name,
    machineType: `zones/${zone}/machineTypes/${settings.machineType}`,
    labels: managedLabels(settings, placement.attempt),
    metadata: { items: Object.entries(attrs).map(([key, value]) => ({ key, value })) },
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: sourceImage(settings.image),
          diskSizeGb: String(settings.bootDiskSizeGb),
          diskType: `zones/${zone}/diskTypes/${settings.bootDiskType}`
        }
      }
    ],
    networkInterfaces: [network],
    serviceAccounts: [
      { email: settings.vmServiceAccount, scopes: ["https://www.googleapis.com/auth/cloud-platform"] }
    ],
    guestAccelerators: settings.accelerators.map((a) => ({
      acceleratorType: `zones/${zone}/acceleratorTypes/${a.type}`,
      acceleratorCount: a.count
    })),
    scheduling: {
      provisioningModel: placement.spot ? "SPOT" : "STANDARD",
      instanceTerminationAction: "DELETE",
      maxRunDuration: { seconds: String(ttlSeconds) },
      onHostMaintenance: hasGpu || placement.spot ? "TERMINATE" : "MIGRATE",
      automaticRestart: false
    }
  };
}

// src/launch/experiment.ts
function defaultPollPolicy(settings) {
  const heartbeat = settings.heartbeatSeconds * 1e3;
  return {
    statusMs: 1e3,
    heartbeatLateMs: Math.max(2 * heartbeat, heartbeat + 5e3),
    lateCheckMs: 1e4,
    instanceMs: 10 * 6e4,
    hungMs: Math.max(10 * heartbeat, 5 * 6e4),
    bootGraceMs: 10 * 6e4,
    shutdownCheckMs: 2e3,
    preemptionMs: 28e3
  };
}
var LOG_TAIL_LINES = 40;
async function runExperiment(settings, deps) {
  const poll = deps.poll ?? defaultPollPolicy(settings);
  const started = deps.clock.now();
  const tail = [];
  let vmSeconds = 0;
  let lastVm;
  let lastSpot = settings.provisioning !== "standard";
  let end;
  let attempt = 0;
  let used = 0;
  const deleting = [];
  if (settings.detach && !deps.recordDetached) {
    throw new ConfigurationError(
      "input detach: this runner cannot record detached experiments; set detach: false"
    );
  }
  const waitDeadline = started + settings.waitTimeoutMinutes * 6e4;
  const ttlSeconds = vmTtlSeconds(settings);
  const resultOf = (vm, seconds, spot) => ({
    attempts: Math.min(used, settings.maxAttempts),
    zone: vm?.zone ?? "",
    machineType: settings.machineType,
    vmName: vm?.name ?? "",
    resultsUri: gsUri(settings.results.bucket, experimentPrefix(settings.results, settings.experiment.id)),
    durationSeconds: Math.round((deps.clock.now() - started) / 1e3),
    costUsd: estimateCostUsd(settings.machineType, settings.accelerators, spot, seconds),
    logTail: tail.slice(-LOG_TAIL_LINES)
  });
  const detach = async (vm, reason, createdAt) => {
    await Promise.all(deleting);
    await deps.recordDetached({ vm, reason, createdAt, ttlSeconds });
    const base2 = resultOf(vm, vmSeconds + (deps.clock.now() - createdAt) / 1e3, lastSpot);
    const minutes = Math.round((deps.clock.now() - started) / 6e4);
    return {
      ...base2,
      status: "detached",
      exitCode: null,
      reason: reason === "handover" ? `still running on ${vm.name} after ${minutes} min, the limit of wait-timeout-minutes (${settings.waitTimeoutMinutes}); handed over, the watcher reports it` : `running detached on ${vm.name}; the watcher reports it`,
      final: void 0
    };
  };
  await deps.results.checkBucket();
  const previous = await deps.results.previousAttempt();
  let nextAttempt = previous.attempt + 1;
  for (used = 1; used <= settings.maxAttempts; used++) {
    deps.signal?.throwIfAborted();
    const last = Math.max(previous.attempt, 1);
    const adopted = used === 1 ? await findExisting(
      settings,
      deps,
      instanceName(settings.results.runId, settings.experiment.id, last)
    ) : void 0;
    if (adopted) nextAttempt = last + 1;
    attempt = adopted ? last : nextAttempt++;
    const name = instanceName(settings.results.runId, settings.experiment.id, attempt);
    let vm;
    if (adopted) {
      vm = adopted.vm;
      lastSpot = adopted.spot;
      deps.log.info(
        `Adopting ${name} in ${vm.zone}, left running by an earlier run of this job: attempt ${attempt} continues.`
      );
      deps.onVm(vm);
    } else {
      if (used === 1) {
        await deps.results.clearMarkers();
        if (previous.attempt > 0) await checkpointForRerun(settings, deps, previous);
      }
      const placed = await createVm(settings, deps, name, attempt);
      if ("failure" in placed) {
        end = { kind: "no-capacity", reason: placed.failure };
        break;
      }
      vm = placed.vm;
      lastSpot = placed.spot;
    }
    lastVm = vm;
    const vmStarted = deps.clock.now();
    if (settings.detach) {
      deps.log.info(`${vm.name} runs detached: its status is left to the watcher.`);
      return detach(vm, "detach", vmStarted);
    }
    deps.log.startGroup(`${settings.experiment.id}: attempt ${attempt} on ${vm.name} (${vm.zone})`);
    try {
      end = await waitForEnd(settings, deps, poll, vm, tail, deps.recordDetached ? waitDeadline : Infinity);
    } finally {
      deps.log.endGroup();
    }
    if (end.kind === "handover") {
      deps.log.warning(
        `${settings.experiment.id} is still running after ${Math.round((deps.clock.now() - started) / 6e4)} min, the limit of wait-timeout-minutes: handing it over. ${vm.name} keeps running (until its own time limit); the watcher collects and reports it when it ends.`
      );
      vmSeconds += (deps.clock.now() - vmStarted) / 1e3;
      return detach(vm, "handover", vmStarted);
    }
    if (end.kind !== "status" || end.status.state !== "succeeded") {
      await printSerialTail(deps, vm, end.kind === "lost" ? end.console : void 0);
    }
    vmSeconds += (deps.clock.now() - vmStarted) / 1e3;
    const again = retryReason(settings, end, attempt, used);
    if (again === void 0) {
      await deleteVm(deps, vm);
      break;
    }
    deps.log.warning(again);
    deleting.push(
      deps.compute.deleteInstance(vm.zone, vm.name).catch((err) => {
        deps.log.warning(
          `Could not delete ${vm.name}: ${err.message}. Its time limit ends it; the janitor removes it earlier.`
        );
      })
    );
  }
  await Promise.all(deleting);
  used = Math.min(used, settings.maxAttempts);
  const base = resultOf(lastVm, vmSeconds, lastSpot);
  if (!end) throw new Error("bug: no attempt ran");
  return { ...base, ...endingOf(end, used) };
}
function endingOf(end, used) {
  switch (end.kind) {
    case "no-capacity":
      return { status: "error", exitCode: null, reason: end.reason, final: void 0 };
    case "handover":
      throw new Error("bug: a hand-over was not returned");
    case "preempted":
      return {
        status: "lost",
        exitCode: null,
        reason: `preempted on all ${used} attempts`,
        final: void 0
      };
    case "lost":
      return {
        status: "lost",
        exitCode: null,
        reason: `every attempt lost its VM (last: ${end.reason})`,
        final: void 0
      };
    case "status": {
      const s = end.status;
      if (s.state === "preempted") {
        return { status: "lost", exitCode: null, reason: `preempted on all ${used} attempts`, final: s };
      }
      return {
        status: s.state,
        exitCode: s.exitCode,
        reason: s.reason ?? (s.state === "succeeded" ? "" : `exit code ${String(s.exitCode)}`),
        final: s
      };
    }
  }
}
function retryReason(settings, end, attempt, used) {
  if (used >= settings.maxAttempts) return void 0;
  switch (end.kind) {
    case "status": {
      const s = end.status;
      if (s.state === "succeeded") return void 0;
      if (s.state === "preempted") return `Attempt ${attempt} was preempted; the checkpoint was saved.`;
      if (!settings.retryOnFailure) return void 0;
      return `Attempt ${attempt} ${s.state} (${s.reason ?? `exit code ${String(s.exitCode)}`}); retrying as asked.`;
    }
    case "preempted":
      return `Attempt ${attempt} was preempted: ${end.reason}.`;
    case "lost":
      return `Attempt ${attempt} lost its VM: ${end.reason}.`;
    default:
      return void 0;
  }
}
async function checkpointForRerun(settings, deps, previous) {
  const state = previous.status?.state;
  const ended = state === "succeeded" || state === "failed" || state === "error";
  const why = state ? `ended ${state}` : "left no status (its VM was lost)";
  if (settings.rerunCheckpoint === "keep" || settings.rerunCheckpoint === "auto" && !ended) {
    deps.log.info(
      `An earlier run's attempt ${previous.attempt} ${why}: this run resumes from its checkpoint (rerun-checkpoint: ${settings.rerunCheckpoint}).`
    );
    return;
  }
  const n = await deps.results.clearCheckpoint();
  deps.log.info(
    `An earlier run's attempt ${previous.attempt} ${why}: this run starts clean (${n} checkpoint object(s) removed; rerun-checkpoint: keep resumes instead).`
  );
}
async function findExisting(settings, deps, name) {
  for (const zone of settings.zones) {
    const found = await deps.compute.getInstance(zone, name);
    if (!found) continue;
    const attempt = Number(found.labels?.["gce-matrix-attempt"] ?? "1");
    const vm = { name, zone, attempt };
    if (found.status === "RUNNING" || found.status === "PROVISIONING" || found.status === "STAGING") {
      return { vm, spot: found.scheduling?.provisioningModel === "SPOT" };
    }
    deps.log.info(
      `Replacing ${name} in ${zone} (${found.status ?? "unknown state"}), left by an earlier run.`
    );
    deps.onVm(vm);
    await deleteVm(deps, vm);
  }
  return void 0;
}
async function createVm(settings, deps, name, attempt, packed = {}) {
  const models = settings.provisioning === "spot" ? [true] : settings.provisioning === "standard" ? [false] : [true, false];
  const failures = [];
  const rounds = 3;
  for (let round = 0; round < rounds; round++) {
    for (const spot of models) {
      const quotaRegions = /* @__PURE__ */ new Set();
      const queue = [...settings.zones];
      for (let zone = queue.shift(); zone !== void 0; zone = queue.shift()) {
        const region = zone.replace(/-[a-z]$/, "");
        if (quotaRegions.has(region)) continue;
        deps.signal?.throwIfAborted();
        const vm = { name, zone, attempt };
        deps.onVm({ ...vm, creating: true });
        const resource = buildInstance(settings, {
          name,
          zone,
          attempt,
          spot,
          agentScript: deps.agentScript,
          ...packed
        });
        let failure;
        try {
          failure = await deps.compute.insertInstance(zone, resource, randomUUID());
        } catch (err) {
          const explained = explain(err, settings, zone);
          if (explained instanceof ConfigurationError) deps.onVm(void 0);
          throw explained;
        }
        if (!failure) {
          deps.log.info(
            `Created ${name} in ${zone} (${spot ? "spot" : "standard"}, ${settings.machineType}).`
          );
          await grantSelfDelete(deps, settings, vm);
          return { vm, spot };
        }
        if (failure.kind === "already-exists") {
          deps.onVm(vm);
          deps.log.info(`${name} already exists in ${zone}; adopting it.`);
          return { vm, spot };
        }
        failures.push(`${zone} (${spot ? "spot" : "standard"}): ${failure.reason ?? failure.kind}`);
        if (failure.kind === "quota") {
          quotaRegions.add(region);
          deps.log.warning(`Quota exhausted in ${region}: ${failure.message}. Trying another region.`);
        } else {
          deps.log.warning(
            `No capacity for ${settings.machineType} in ${zone}: ${failure.reason ?? failure.message}.`
          );
          preferAvailable(queue, failure.zonesAvailable);
        }
      }
    }
    const onlyQuota = failures.length > 0 && failures.every((f) => /QUOTA|quota/.test(f));
    if (onlyQuota) break;
    if (round < rounds - 1) {
      const wait = 3e4 * (round + 1) + backoffMs(round, 1e3, 1e4);
      deps.log.info(`Every zone is out of capacity; trying again in ${Math.round(wait / 1e3)} s.`);
      await deps.clock.sleep(wait, deps.signal);
    }
  }
  deps.onVm(void 0);
  return {
    failure: `no VM could be created for ${settings.machineType}: ${failures.join("; ")}. Add zones (or regions) to input zones, or choose another machine type.`
  };
}
async function grantSelfDelete(deps, settings, vm) {
  try {
    await deps.compute.grantOnInstance(
      vm.zone,
      vm.name,
      `serviceAccount:${settings.vmServiceAccount}`,
      settings.vmSelfDeleteRole
    );
  } catch (err) {
    deps.log.warning(
      `Could not grant ${settings.vmSelfDeleteRole} on ${vm.name} to ${settings.vmServiceAccount}, so the VM cannot delete itself when done (launch, the watcher or the janitor will): ${err.message}. Create the role and grant the launcher compute.instances.setIamPolicy as the README's setup does.`
    );
  }
}
function preferAvailable(queue, available) {
  if (!available) return;
  const hinted = queue.filter((z) => available.includes(z));
  const rest = queue.filter((z) => !available.includes(z));
  queue.splice(0, queue.length, ...hinted, ...rest);
}
function explain(err, settings, zone) {
  if (!(err instanceof GcpError)) return err;
  const f = err.failure;
  if (f.kind === "permission") {
    return new ConfigurationError(
      `the launching identity may not create VMs in project ${settings.project} (${f.message}). Grant it the gceMatrixLauncher role of the README's setup (or roles/compute.instanceAdmin.v1), and roles/iam.serviceAccountUser on ${settings.vmServiceAccount}.`
    );
  }
  if (f.kind === "invalid" || f.kind === "not-found") {
    return new ConfigurationError(
      `Compute Engine refused the VM in ${zone}: ${f.message}. Check inputs machine-type (${settings.machineType}), image (${settings.image}), zones, accelerators and vm-service-account.`
    );
  }
  return err;
}
var DOWN_STATES = /* @__PURE__ */ new Set(["TERMINATED", "STOPPED", "SUSPENDED", "GONE"]);
var STOPPING_STATES = /* @__PURE__ */ new Set(["STOPPING", "SUSPENDING"]);
async function waitForEnd(settings, deps, poll, vm, tail, handoverAt, rounds = 1) {
  const start = deps.clock.now();
  const logEvery = settings.logIntervalSeconds * 1e3;
  const hardLimit = start + rounds * settings.timeoutMinutes * 6e4 + 20 * 6e4;
  let lastLogAt = 0;
  let lastChunk;
  let lastBeat;
  let lastBeatAt = start;
  let lastInstanceAt = start;
  let preemptedAt;
  let stopping = false;
  let consoleTail;
  const drainLog = async () => {
    const chunks = await deps.results.newLogChunks(vm.attempt, lastChunk);
    for (const c of chunks) {
      const lines = c.text.replace(/\n$/, "").split("\n");
      deps.log.vmLog(lines);
      tail.push(...lines);
      if (tail.length > 4 * LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
      lastChunk = c.name;
    }
  };
  const finalStatus = async () => {
    const own = await deps.results.readStatus(vm.attempt);
    if (own) return own;
    const marker = await deps.results.readStatus();
    return marker?.attempt === vm.attempt ? marker : void 0;
  };
  const ended = async (status) => {
    await drainLog();
    return { kind: "status", status };
  };
  for (; ; ) {
    deps.signal?.throwIfAborted();
    const now = deps.clock.now();
    const probe = await deps.results.probe(vm.attempt);
    if (probe.statusGeneration) {
      const status = await finalStatus();
      if (status) return ended(status);
    }
    if (now >= handoverAt) {
      await drainLog();
      return { kind: "handover" };
    }
    if (probe.heartbeatGeneration && probe.heartbeatGeneration !== lastBeat) {
      lastBeat = probe.heartbeatGeneration;
      lastBeatAt = now;
    }
    if (probe.preemptedGeneration && preemptedAt === void 0) {
      preemptedAt = now;
      deps.log.warning(
        `${vm.name} was preempted; its shutdown run is saving the checkpoint (Compute Engine gives it 30 s).`
      );
    }
    if (now - lastLogAt >= logEvery) {
      lastLogAt = now;
      await drainLog();
    }
    const silentFor = now - lastBeatAt;
    const every = preemptedAt !== void 0 || stopping ? poll.shutdownCheckMs : silentFor > poll.heartbeatLateMs ? poll.lateCheckMs : poll.instanceMs;
    if (now - lastInstanceAt >= every) {
      lastInstanceAt = now;
      const instance = await deps.compute.getInstance(vm.zone, vm.name);
      const state = instance?.status ?? "GONE";
      if (DOWN_STATES.has(state)) {
        const status = await finalStatus();
        if (status) return ended(status);
        await drainLog();
        if (preemptedAt !== void 0 || (await deps.results.probe(vm.attempt)).preemptedGeneration) {
          return {
            kind: "preempted",
            reason: `${vm.name} was preempted and its shutdown run ended before it wrote the status; the checkpoint is the last one synced`
          };
        }
        return {
          kind: "lost",
          reason: `${vm.name} is ${state === "GONE" ? "gone" : state} without a status (last heartbeat ${Math.round(silentFor / 1e3)} s before)`,
          ...consoleTail ? { console: consoleTail } : {}
        };
      }
      if (STOPPING_STATES.has(state) && !stopping) {
        deps.log.warning(`${vm.name} is ${state}; waiting for its shutdown run to write the status.`);
        consoleTail = await readSerialTail(deps, vm);
      }
      stopping = STOPPING_STATES.has(state);
      if (!stopping && preemptedAt === void 0) {
        if (lastBeat && silentFor > poll.hungMs) {
          return {
            kind: "lost",
            reason: `no heartbeat from ${vm.name} for ${Math.round(silentFor / 1e3)} s although it is ${state}`
          };
        }
        if (!lastBeat && silentFor > poll.bootGraceMs) {
          return {
            kind: "lost",
            reason: `${vm.name} never started its agent within ${Math.round(poll.bootGraceMs / 1e3)} s`
          };
        }
      }
    }
    if (preemptedAt !== void 0 && now - preemptedAt > poll.preemptionMs) {
      const status = await finalStatus();
      if (status) return ended(status);
      await drainLog();
      return {
        kind: "preempted",
        reason: `${vm.name} was preempted and wrote no status within ${Math.round(poll.preemptionMs / 1e3)} s; the checkpoint is the last one synced`
      };
    }
    if (now > hardLimit) {
      return { kind: "lost", reason: `${vm.name} outlived the timeout without writing a status` };
    }
    await deps.clock.sleep(poll.statusMs, deps.signal);
  }
}
async function printSerialTail(deps, vm, earlier) {
  const lines = await readSerialTail(deps, vm) ?? earlier;
  if (!lines || lines.length === 0) return;
  deps.log.info(`Last lines of ${vm.name}'s serial console:`);
  deps.log.vmLog([...lines]);
}
async function readSerialTail(deps, vm) {
  try {
    const out = await deps.compute.serialOutput(vm.zone, vm.name);
    if (!out || !out.contents) return void 0;
    return out.contents.replace(/\n$/, "").split("\n").slice(-LOG_TAIL_LINES);
  } catch (err) {
    deps.log.warning(`Could not read the serial console of ${vm.name}: ${err.message}`);
    return void 0;
  }
}
async function deleteVm(deps, vm) {
  await deps.compute.deleteInstance(vm.zone, vm.name);
  deps.onVm(void 0);
}

// src/launch/preflight.ts
var PROJECT_ID = /^(?:[-a-z0-9.]+:)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
var RESOURCE_NAME = /^(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})$/;
var IMAGE_PATH = /^projects\/([^/]+)\/global\/images\/(?:(family)\/)?([^/]+)$/;
var EXAMPLE_IMAGE = "projects/debian-cloud/global/images/family/debian-12";
function parseImageInput(image, ownProject) {
  const text = image.trim();
  const url = /^https:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\/(projects\/.+)$/.exec(text);
  const resourcePath = url ? url[1] : text.startsWith("global/") ? `projects/${ownProject}/${text}` : text.startsWith("projects/") ? text : `projects/${text}`;
  const m = IMAGE_PATH.exec(resourcePath ?? "");
  if (!m || !PROJECT_ID.test(m[1] ?? "") || !RESOURCE_NAME.test(m[3] ?? "")) {
    throw new ConfigurationError(
      `input image ${JSON.stringify(image)} is not an image or an image family: give projects/PROJECT/global/images/NAME or projects/PROJECT/global/images/family/FAMILY, e.g. ${EXAMPLE_IMAGE}`
    );
  }
  return { project: m[1] ?? "", kind: m[2] ? "family" : "image", name: m[3] ?? "" };
}
function describeImage(ref) {
  return ref.kind === "family" ? `image family ${ref.name} of project ${ref.project}` : `image ${ref.name} of project ${ref.project}`;
}
function imageUsability(image) {
  const name = image.name ?? "the image";
  const state = image.deprecated?.state ?? void 0;
  const replacement = image.deprecated?.replacement ? `; its replacement is ${image.deprecated.replacement.replace(/^https:\/\/[^/]+\/compute\/v1\//, "")}` : "";
  if (state === "OBSOLETE" || state === "DELETED") {
    return { error: `${name} is ${state.toLowerCase()} and can no longer boot a VM${replacement}` };
  }
  if (image.status && image.status !== "READY") {
    return { error: `${name} is ${image.status}, not READY` };
  }
  if (state === "DEPRECATED") return { warning: `${name} is deprecated${replacement}` };
  return {};
}
function permissionError(err, input, what, fix) {
  if (!(err instanceof GcpError) || err.failure.kind !== "permission") return void 0;
  return new ConfigurationError(
    `${input}: the launching identity may not read ${what} (${err.failure.message}); ${fix}`
  );
}
async function askForMachineType(settings, compute, zone) {
  try {
    return { zone, offered: await compute.getMachineType(zone, settings.machineType) !== void 0 };
  } catch (err) {
    if (err instanceof GcpError && err.failure.kind === "invalid") {
      return { zone, offered: false, refusal: err.failure.message };
    }
    throw permissionError(
      err,
      `input machine-type (${settings.machineType})`,
      "machine types (compute.machineTypes.get)",
      `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`
    ) ?? err;
  }
}
async function requireZone(settings, compute, zone) {
  let found;
  try {
    found = await compute.getZone(zone);
  } catch (err) {
    throw permissionError(
      err,
      "input zones",
      `zone ${zone} (compute.zones.get)`,
      `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`
    ) ?? err;
  }
  if (!found) {
    throw new ConfigurationError(
      `input zones: zone ${zone} does not exist in Compute Engine (project ${settings.project}); correct its name (zones look like us-central1-a) or give a region instead`
    );
  }
}
async function checkImage(settings, compute, log) {
  const ref = parseImageInput(settings.image, settings.project);
  const what = describeImage(ref);
  let image;
  try {
    image = ref.kind === "family" ? await compute.getImageFromFamily(ref.project, ref.name) : await compute.getImage(ref.project, ref.name);
  } catch (err) {
    if (err instanceof GcpError && err.failure.kind === "invalid") image = void 0;
    else {
      throw permissionError(
        err,
        `input image ${settings.image}`,
        what,
        `grant it roles/compute.imageUser on project ${ref.project}, or choose a public image such as ${EXAMPLE_IMAGE}`
      ) ?? err;
    }
  }
  if (!image) {
    throw new ConfigurationError(
      `input image ${settings.image}: Compute Engine has no ${what}${ref.kind === "family" ? " (or no image of it that is not deprecated)" : ""}; correct the name, e.g. ${EXAMPLE_IMAGE}`
    );
  }
  const usable = imageUsability(image);
  if (usable.error) {
    throw new ConfigurationError(`input image ${settings.image}: ${usable.error}; choose another image`);
  }
  if (usable.warning) log.warning(`input image ${settings.image}: ${usable.warning}.`);
  if (ref.kind === "family") log.info(`Image family ${ref.name} of ${ref.project} is ${image.name ?? "?"}.`);
}
async function zonesWithAccelerators(settings, compute, zones, log) {
  const types = [...new Set(settings.accelerators.map((a) => a.type))];
  if (types.length === 0) return [...zones];
  const offered = await Promise.all(
    types.map(async (type) => {
      const perZone = await Promise.all(
        zones.map(async (zone) => {
          try {
            return { zone, found: await compute.getAcceleratorType(zone, type) };
          } catch (err) {
            throw permissionError(
              err,
              "input accelerators",
              "accelerator types (compute.acceleratorTypes.get)",
              `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`
            ) ?? err;
          }
        })
      );
      return { type, perZone };
    })
  );
  for (const { type, perZone } of offered) {
    const found = perZone.flatMap((z) => z.found ? [z.found] : []);
    if (found.length === 0) {
      throw new ConfigurationError(
        `input accelerators: ${type} is offered in none of the zones ${zones.join(", ")}${zones.length < settings.zones.length ? ` (the zones that offer machine type ${settings.machineType})` : ""}; list zones that offer it, or choose another accelerator type`
      );
    }
    const limits = found.map((a) => a.maximumCardsPerInstance ?? Infinity);
    const limit = Math.min(...limits);
    const wanted = settings.accelerators.filter((a) => a.type === type).reduce((n, a) => n + a.count, 0);
    if (wanted > limit) {
      throw new ConfigurationError(
        `input accelerators: ${wanted} \xD7 ${type} on one VM; Compute Engine attaches at most ${limit}. Ask for ${limit} or fewer`
      );
    }
  }
  const kept = [];
  for (const zone of zones) {
    const missing = offered.filter((o) => !o.perZone.find((z) => z.zone === zone)?.found).map((o) => o.type);
    if (missing.length === 0) kept.push(zone);
    else log.warning(`Leaving out zone ${zone}: it has no ${missing.join(" or ")} accelerators.`);
  }
  if (kept.length === 0) {
    throw new ConfigurationError(
      `input accelerators: none of the zones ${zones.join(", ")} offers ${types.join(" and ")} together; list zones that offer all of them, or ask for fewer accelerator types`
    );
  }
  return kept;
}
async function checkComputeResources(settings, compute, log) {
  parseImageInput(settings.image, settings.project);
  const answers = await Promise.all(settings.zones.map((zone) => askForMachineType(settings, compute, zone)));
  for (const { zone, offered } of answers) if (!offered) await requireZone(settings, compute, zone);
  const withMachineType = answers.filter((a) => a.offered).map((a) => a.zone);
  if (withMachineType.length === 0) {
    const refusal = answers.find((a) => a.refusal !== void 0)?.refusal;
    throw new ConfigurationError(
      `input machine-type (${settings.machineType}) is offered in none of the zones ${settings.zones.join(", ")}${refusal ? ` (Compute Engine: ${refusal})` : ""}; choose a machine type these zones offer, or list zones (or a region) that offer ${settings.machineType}`
    );
  }
  for (const { zone, offered, refusal } of answers) {
    if (offered) continue;
    log.warning(
      refusal ? `Leaving out zone ${zone}: Compute Engine refuses machine type ${settings.machineType} there (${refusal}).` : `Leaving out zone ${zone}: it does not offer machine type ${settings.machineType}.`
    );
  }
  await checkImage(settings, compute, log);
  const zones = await zonesWithAccelerators(settings, compute, withMachineType, log);
  return zones.length === settings.zones.length ? settings : { ...settings, zones };
}
async function checkEachExperiment(all, compute, log) {
  const checked = /* @__PURE__ */ new Map();
  const out = [];
  for (const settings of all) {
    const key = JSON.stringify([
      settings.project,
      settings.zones,
      settings.region,
      settings.machineType,
      settings.image,
      settings.accelerators
    ]);
    let zones = checked.get(key);
    if (zones === void 0) {
      zones = (await checkComputeResources(await withZones(settings, compute), compute, log)).zones;
      checked.set(key, zones);
    }
    out.push({ ...settings, zones });
  }
  return out;
}

// src/launch/source.ts
import { mkdtemp, rm as rm2 } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

// src/source/stage.ts
import { rm } from "node:fs/promises";
async function stageSource(opts) {
  const { storage, location, key, clock } = opts;
  const names = sourceObjects(location);
  const bucket = storage.bucket(location.bucket);
  const manifestName = names.manifest(key);
  const lockName = names.lock(key);
  const staleMs = opts.staleLockMs ?? 15 * 6e4;
  const pollMs = opts.pollMs ?? 3e3;
  const deadline = clock.now() + (opts.maxWaitMs ?? 30 * 6e4);
  const where = (name) => `gs://${location.bucket}/${name}`;
  const readManifest = async () => {
    try {
      const [data] = await bucket.file(manifestName).download();
      return parseManifest(data.toString("utf8"), where(manifestName));
    } catch (err) {
      if (httpStatus(err) === 404) return void 0;
      if (err instanceof Error && !("code" in err)) throw err;
      throw new GcpError(`read ${where(manifestName)}`, classifyError(err));
    }
  };
  const createOnce = (name, text) => createObjectOnce(bucket, name, text);
  const removeLock = async (generation) => {
    try {
      await bucket.file(lockName).delete(generation ? { ifGenerationMatch: Number(generation) } : {});
    } catch (err) {
      const status = httpStatus(err);
      if (status !== 404 && status !== 412)
        throw new GcpError(`delete ${where(lockName)}`, classifyError(err));
    }
  };
  let announced = false;
  for (; ; ) {
    const existing = await readManifest();
    if (existing) return { manifest: existing, uploaded: false };
    const lockText = JSON.stringify({ holder: opts.holder, at: new Date(clock.now()).toISOString() });
    const generation = await createOnce(lockName, lockText);
    if (generation !== void 0) {
      try {
        const done = await readManifest();
        if (done) return { manifest: done, uploaded: false };
        const manifest = await buildAndUpload(opts);
        return { manifest, uploaded: true };
      } finally {
        await removeLock(generation);
      }
    }
    if (!announced) {
      opts.log(
        `Another launch of this run is uploading the source snapshot; waiting for ${where(manifestName)}.`
      );
      announced = true;
    }
    let lockMeta;
    try {
      [lockMeta] = await bucket.file(lockName).getMetadata();
    } catch (err) {
      if (httpStatus(err) !== 404) throw new GcpError(`read ${where(lockName)}`, classifyError(err));
    }
    const created = Date.parse(String(lockMeta?.timeCreated ?? ""));
    if (lockMeta && Number.isFinite(created) && clock.now() - created > staleMs) {
      opts.log(`The source snapshot's lock ${where(lockName)} is stale (its holder stopped); taking over.`);
      await removeLock(String(lockMeta.generation ?? ""));
      continue;
    }
    if (clock.now() >= deadline) {
      throw new Error(
        `the source snapshot ${where(manifestName)} did not appear within ${Math.round((opts.maxWaitMs ?? 18e5) / 6e4)} minutes while another launch held ${where(lockName)}`
      );
    }
    if (lockMeta) await clock.sleep(pollMs);
  }
  async function buildAndUpload(o) {
    const built = await o.build();
    try {
      const objectName = names.archive(built.sha256);
      o.log(
        `Uploading the source snapshot of ${built.commit.slice(0, 12)} (${(built.size / 1e6).toFixed(1)} MB, sha256 ${built.sha256.slice(0, 12)}) to ${where(objectName)}.`
      );
      try {
        await bucket.upload(built.file, {
          destination: objectName,
          resumable: false,
          contentType: "application/gzip",
          preconditionOpts: { ifGenerationMatch: 0 }
        });
      } catch (err) {
        if (httpStatus(err) !== 412) throw new GcpError(`upload ${where(objectName)}`, classifyError(err));
      }
      const manifest = {
        schema: SOURCE_SCHEMA,
        repository: built.repository,
        commit: built.commit,
        origin: built.origin,
        dirty: built.dirty,
        object: objectName,
        sha256: built.sha256,
        size: built.size,
        unpackedBytes: built.unpackedBytes,
        createdAt: new Date(o.clock.now()).toISOString()
      };
      if (await createOnce(manifestName, manifestText(manifest)) === void 0) {
        return await readManifest() ?? manifest;
      }
      return manifest;
    } finally {
      if (built.temporary) await rm(built.file, { force: true });
    }
  }
}

// src/launch/source.ts
async function prepareSource(settings, deps) {
  if (settings.source.mode === "none") {
    deps.log("Source: none (the command runs in an empty working directory; the image carries the code).");
    return settings;
  }
  const ref = settings.source.ref;
  if (!ref) {
    throw new ConfigurationError(
      "input source-ref is required here: on a PR comment pass the plan step's source-sha output (the head the permission gate approved); elsewhere give a branch, tag or SHA, or set source: none"
    );
  }
  if (!settings.github.token) {
    throw new ConfigurationError(
      "input github-token is empty: the repository snapshot is read with the job token (github-token: ${{ github.token }}, permissions: contents: read), or set source: none"
    );
  }
  const src = {
    apiUrl: settings.github.apiUrl,
    token: settings.github.token,
    repository: settings.repository
  };
  const commit = FULL_SHA.test(ref) ? ref : await resolveCommit(src, ref, "input source-ref");
  const dir = await mkdtemp(path.join(deps.tmpDir ?? tmpdir(), "gce-matrix-source-"));
  try {
    const staged = await stageSource({
      storage: deps.storage,
      location: settings.results,
      key: commitKey(commit),
      build: () => downloadTarball(src, commit, path.join(dir, `${commit}.tar.gz`)),
      clock: deps.clock,
      log: deps.log,
      holder: settings.experiment.id
    });
    const m = staged.manifest;
    checkFitsBootDisk(m, settings.bootDiskSizeGb);
    deps.log(
      `Source: ${settings.repository} at ${commit} (snapshot ${(m.size / 1e6).toFixed(1)} MB, sha256 ${m.sha256}${staged.uploaded ? ", uploaded by this launch" : ", already in the bucket"}).`
    );
    return withSnapshot(settings, m);
  } finally {
    await rm2(dir, { recursive: true, force: true });
  }
}
function withSnapshot(settings, snapshot) {
  return { ...settings, sha: snapshot.commit || settings.sha, snapshot };
}

export {
  recordDetached,
  loadAgentScript,
  TTL_MARGIN_MINUTES,
  agentAttributes,
  checkMetadataLimits,
  defaultPollPolicy,
  LOG_TAIL_LINES,
  runExperiment,
  endingOf,
  retryReason,
  checkpointForRerun,
  createVm,
  waitForEnd,
  printSerialTail,
  deleteVm,
  checkComputeResources,
  checkEachExperiment,
  stageSource,
  prepareSource,
  withSnapshot
};
