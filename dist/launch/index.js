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
  runAction
} from "../chunks/chunk-T6E4PII2.js";
import {
  LOG_TAIL_LINES,
  checkComputeResources,
  checkpointForRerun,
  createVm,
  defaultPollPolicy,
  deleteVm,
  endingOf,
  loadAgentScript,
  prepareSource,
  printSerialTail,
  recordDetached,
  retryReason,
  runExperiment,
  waitForEnd
} from "../chunks/chunk-RJVFNHKB.js";
import {
  saveLaunchState,
  withZones
} from "../chunks/chunk-7KWXIUHV.js";
import "../chunks/chunk-Z425WIJF.js";
import {
  machineShape,
  parseLaunchInputs,
  perVmFit,
  pullRequestHeadOf,
  runContextFromEnv
} from "../chunks/chunk-VRTZOPY4.js";
import {
  ExperimentResults
} from "../chunks/chunk-4VSZPNWF.js";
import {
  estimateCostUsd
} from "../chunks/chunk-NRMHQSIR.js";
import {
  ComputeApi
} from "../chunks/chunk-S3KYGDOF.js";
import {
  RunStore,
  runRecordFromEnv
} from "../chunks/chunk-UXA2X36L.js";
import {
  connectGcp,
  systemClock
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  ConfigurationError,
  endGroup,
  escapeMarkdown,
  experimentPrefix,
  getInput,
  gsUri,
  info,
  instanceName,
  setFailed,
  setOutput,
  setSecret,
  startGroup,
  summary,
  warning
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/main.ts
import { randomBytes } from "node:crypto";

// src/launch/group.ts
async function runPackedLeg(settings, deps, roundsOf) {
  const { resultsFor } = deps;
  if (!resultsFor) throw new Error("bug: a packed leg needs resultsFor");
  if (settings.detach) {
    throw new ConfigurationError(
      `input detach: a packed leg (${settings.experiment.id}, ${settings.members.length} experiments) cannot be detached yet; set detach: false or per-vm: 1`
    );
  }
  const poll = deps.poll ?? defaultPollPolicy(settings);
  const started = deps.clock.now();
  const runs = settings.members.map((member) => ({
    member,
    results: resultsFor(member.id),
    log: deps.logFor?.(member.id) ?? deps.log,
    tail: [],
    used: 0,
    vms: [],
    costUsd: 0,
    end: void 0,
    done: false
  }));
  await deps.results.checkBucket();
  let vmAttempt = 0;
  for (const run2 of runs) {
    const previous = await run2.results.previousAttempt();
    vmAttempt = Math.max(vmAttempt, previous.attempt);
    await run2.results.clearMarkers();
    if (previous.attempt > 0) await checkpointForRerun(settings, { ...deps, results: run2.results }, previous);
  }
  let lastVm;
  let vmCount = 0;
  for (; ; ) {
    const pending = runs.filter((r) => !r.done);
    if (pending.length === 0) break;
    deps.signal?.throwIfAborted();
    vmAttempt++;
    const name = instanceName(settings.results.runId, settings.experiment.id, vmAttempt);
    const members = pending.map((r) => ({ ...r.member, attempt: vmAttempt }));
    const rounds = roundsOf(settings, members.length);
    const placed = await createVm(settings, deps, name, vmAttempt, { members, rounds });
    if ("failure" in placed) {
      for (const r of pending) {
        r.end = { kind: "no-capacity", reason: placed.failure };
        r.done = true;
        r.used++;
      }
      break;
    }
    const { vm, spot } = placed;
    lastVm = vm;
    vmCount++;
    for (const r of pending) {
      r.used++;
      r.vms.push(vm.name);
    }
    deps.log.info(
      `${vm.name} runs ${pending.length} experiment(s) side by side: ${pending.map((r) => r.member.id).join(", ")}.`
    );
    const vmStarted = deps.clock.now();
    const ends = await Promise.all(
      pending.map(
        (r) => waitForEnd(settings, { ...deps, results: r.results, log: r.log }, poll, vm, r.tail, Infinity, rounds)
      )
    );
    const seconds = (deps.clock.now() - vmStarted) / 1e3;
    const vmCost = estimateCostUsd(settings.machineType, settings.accelerators, spot, seconds);
    let again = 0;
    pending.forEach((r, i) => {
      const end = ends[i];
      r.end = end;
      r.costUsd += vmCost / pending.length;
      const why = retryReason(settings, end, vmAttempt, r.used);
      if (why === void 0) {
        r.done = true;
      } else {
        again++;
        r.log.warning(`${r.member.id}: ${why}`);
      }
    });
    if (ends.some((e) => e.kind !== "status" || e.status.state !== "succeeded")) {
      const lost = ends.find((e) => e.kind === "lost");
      await printSerialTail(deps, vm, lost?.kind === "lost" ? lost.console : void 0);
    }
    await deleteVm(deps, vm);
    if (again > 0) {
      deps.log.warning(
        `${again} of ${pending.length} experiment(s) on ${vm.name} had not finished; a new VM runs only those.`
      );
    }
  }
  const outcomes = runs.map((r) => {
    if (!r.end) throw new Error("bug: a member never ran");
    const ending = endingOf(r.end, r.used);
    return {
      id: r.member.id,
      status: ending.status,
      exitCode: ending.exitCode,
      attempts: r.used,
      resultsUri: gsUri(settings.results.bucket, experimentPrefix(settings.results, r.member.id)),
      reason: ending.reason,
      costUsd: r.costUsd,
      vms: r.vms,
      final: ending.final
    };
  });
  const status = legStatus(outcomes);
  const unwell = outcomes.filter((o) => o.status !== "succeeded");
  const tail = runs.flatMap(
    (r) => r.end?.kind === "status" && r.end.status.state === "succeeded" ? [] : r.tail.slice(-LOG_TAIL_LINES).map((line) => `[${r.member.id}] ${line}`)
  );
  return {
    status,
    exitCode: null,
    attempts: vmCount,
    zone: lastVm?.zone ?? "",
    machineType: settings.machineType,
    vmName: lastVm?.name ?? "",
    resultsUri: gsUri(settings.results.bucket, `${settings.results.prefix}${settings.results.runId}/`),
    durationSeconds: Math.round((deps.clock.now() - started) / 1e3),
    costUsd: outcomes.reduce((n, o) => n + o.costUsd, 0),
    reason: unwell.length === 0 ? "" : `${unwell.length} of ${outcomes.length} experiments did not succeed: ` + unwell.map((o) => `${o.id} ${o.status}${o.reason ? ` (${o.reason})` : ""}`).join("; "),
    final: void 0,
    logTail: tail.slice(-LOG_TAIL_LINES),
    experiments: outcomes
  };
}
function legStatus(outcomes) {
  const order = ["error", "lost", "failed", "succeeded"];
  for (const s of order) if (outcomes.some((o) => o.status === s)) return s;
  return "succeeded";
}
function singleOutcome(id, result) {
  return {
    id,
    status: result.status,
    exitCode: result.exitCode,
    attempts: result.attempts,
    resultsUri: result.resultsUri,
    reason: result.reason,
    costUsd: result.costUsd,
    vms: result.vmName ? [result.vmName] : [],
    final: result.final
  };
}
function outcomesJson(outcomes) {
  return JSON.stringify(
    outcomes.map((o) => ({
      id: o.id,
      status: o.status,
      "exit-code": o.exitCode,
      attempts: o.attempts,
      "results-uri": o.resultsUri,
      reason: o.reason,
      "cost-usd": Number(o.costUsd.toFixed(4)),
      vms: o.vms
    }))
  );
}
function legSummary(result) {
  const rows = (result.experiments ?? []).map(
    (o) => `| \`${escapeMarkdown(o.id)}\` | ${o.status}${o.exitCode === null ? "" : ` (exit ${o.exitCode})`} | ${o.attempts} | ${o.vms.map(escapeMarkdown).join(", ")} | ~$${o.costUsd.toFixed(4)} | ${escapeMarkdown(o.reason)} |`
  );
  return [
    "| experiment | status | attempts | VMs | cost | reason |",
    "|---|---|---|---|---|---|",
    ...rows,
    ""
  ].join("\n");
}
var packedRounds = (settings, members) => {
  const shape = machineShape(settings.machineType);
  const fit = shape ? perVmFit(shape, settings.resources, {
    gpus: settings.accelerators.reduce((n, a) => n + a.count, 0),
    bootDiskGb: settings.bootDiskSizeGb
  }) : 0;
  return fit > 0 ? Math.ceil(members / fit) : members;
};

// src/launch/main.ts
function actionsLogger(experimentId) {
  return {
    info: (m) => info(m),
    warning: (m) => warning(m),
    startGroup: (t) => startGroup(t),
    endGroup: () => endGroup(),
    vmLog: (lines) => {
      if (lines.length === 0) return;
      const fence = randomBytes(16).toString("hex");
      process.stdout.write(`::stop-commands::${fence}
`);
      for (const line of lines) process.stdout.write(`[${experimentId}] ${line}
`);
      process.stdout.write(`::${fence}::
`);
    }
  };
}
function setOutputs(id, result) {
  setOutput("status", result.status);
  setOutput("exit-code", result.exitCode === null ? "" : String(result.exitCode));
  setOutput("attempts", String(result.attempts));
  setOutput("zone", result.zone);
  setOutput("machine-type", result.machineType);
  setOutput("vm-name", result.vmName);
  setOutput("results-uri", result.resultsUri);
  setOutput("duration-seconds", String(result.durationSeconds));
  setOutput("cost-usd", result.costUsd.toFixed(4));
  setOutput("experiments", outcomesJson(result.experiments ?? [singleOutcome(id, result)]));
}
async function launchStep(env) {
  const event = await readEvent(env);
  const parsed = parseLaunchInputs((name) => getInput(name), {
    ...runContextFromEnv(env),
    pullRequestHead: pullRequestHeadOf(event)
  });
  if (parsed.github.token) setSecret(parsed.github.token);
  const { clients, description } = connectGcp({
    project: parsed.project,
    env,
    workloadIdentityProvider: parsed.workloadIdentityProvider,
    serviceAccount: parsed.serviceAccount
  });
  info(`Authenticating with ${description}.`);
  const counter = { compute: 0, storage: 0 };
  let detached;
  const state = (vm, finished = false) => saveLaunchState({ project: parsed.project, vm, finished, detached });
  try {
    state(void 0);
    const settings = await prepareSource(parsed, {
      storage: clients.storage,
      clock: systemClock,
      log: (m) => info(m),
      ...env.RUNNER_TEMP ? { tmpDir: env.RUNNER_TEMP } : {}
    });
    const compute = new ComputeApi(clients, systemClock, counter, { log: (m) => warning(m) });
    const store = new RunStore(clients.storage, settings.results.bucket, settings.results.prefix);
    const checked = await checkComputeResources(
      await withZones(settings, compute),
      compute,
      actionsLogger(settings.experiment.id)
    );
    const deps = {
      compute,
      results: new ExperimentResults(clients.storage, settings.results, settings.experiment.id, counter),
      resultsFor: (id) => new ExperimentResults(clients.storage, settings.results, id, counter),
      clock: systemClock,
      log: actionsLogger(settings.experiment.id),
      logFor: (id) => actionsLogger(id),
      agentScript: await loadAgentScript(),
      onVm: (vm) => state(vm),
      recordDetached: async (d) => {
        const now = systemClock.now();
        await recordDetached({
          store,
          settings,
          run: runRecordFromEnv({ runId: settings.results.runId, env, event, now }),
          detached: d,
          now
        });
        detached = { name: d.vm.name, zone: d.vm.zone };
        state(void 0, true);
      }
    };
    const result = checked.members.length > 0 ? await runPackedLeg(checked, deps, packedRounds) : await runExperiment(checked, deps);
    state(void 0, true);
    setOutputs(settings.experiment.id, result);
    info(
      `${settings.experiment.id}: ${result.status} after ${result.attempts} attempt(s), ${result.durationSeconds} s, ~$${result.costUsd.toFixed(4)}; ${counter.compute} Compute Engine and ${counter.storage} Cloud Storage requests.`
    );
    await summary.addRaw(
      `gce-matrix: ${result.experiments ? `packed leg of ${result.experiments.length} experiments` : "experiment"} \`${escapeMarkdown(settings.experiment.id)}\` **${result.status}**${result.exitCode === null ? "" : ` (exit code ${result.exitCode})`} after ${result.attempts} attempt(s) in ${result.durationSeconds} s on ${result.machineType}${result.zone ? ` in ${result.zone}` : ""}, ~$${result.costUsd.toFixed(4)}${result.reason ? `: ${escapeMarkdown(result.reason)}` : ""}
` + (result.experiments ? `
${legSummary(result)}` : "")
    ).write();
    if (result.status === "detached") {
      info(
        `${settings.experiment.id}: ${result.reason}. Its VM ${result.vmName} in ${result.zone} ends by its own time limit at the latest.`
      );
    } else if (result.status !== "succeeded") {
      const tail = result.logTail.length > 0 ? `
Last lines of the experiment's log:
${result.logTail.join("\n")}` : "";
      setFailed(
        `experiment ${settings.experiment.id} ${result.status}${result.exitCode === null ? "" : ` with exit code ${result.exitCode}`}: ${result.reason}${tail}`
      );
    }
  } finally {
    await clients.close();
  }
}
async function run(env = process.env) {
  await runAction("launch", () => launchStep(env));
}

// src/launch/index.ts
await run();
