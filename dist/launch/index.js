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
  checkComputeResources,
  loadAgentScript,
  prepareSource,
  recordDetached,
  runExperiment
} from "../chunks/chunk-DK3TSZUZ.js";
import {
  saveLaunchState,
  withZones
} from "../chunks/chunk-7KWXIUHV.js";
import "../chunks/chunk-WKUAYNLO.js";
import {
  parseLaunchInputs,
  pullRequestHeadOf,
  runContextFromEnv
} from "../chunks/chunk-4FIPCMQY.js";
import {
  ExperimentResults
} from "../chunks/chunk-4VSZPNWF.js";
import "../chunks/chunk-NRMHQSIR.js";
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
  endGroup,
  escapeMarkdown,
  getInput,
  info,
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
function setOutputs(result) {
  setOutput("status", result.status);
  setOutput("exit-code", result.exitCode === null ? "" : String(result.exitCode));
  setOutput("attempts", String(result.attempts));
  setOutput("zone", result.zone);
  setOutput("machine-type", result.machineType);
  setOutput("vm-name", result.vmName);
  setOutput("results-uri", result.resultsUri);
  setOutput("duration-seconds", String(result.durationSeconds));
  setOutput("cost-usd", result.costUsd.toFixed(4));
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
    const result = await runExperiment(checked, {
      compute,
      results: new ExperimentResults(clients.storage, settings.results, settings.experiment.id, counter),
      clock: systemClock,
      log: actionsLogger(settings.experiment.id),
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
    });
    state(void 0, true);
    setOutputs(result);
    info(
      `${settings.experiment.id}: ${result.status} after ${result.attempts} attempt(s), ${result.durationSeconds} s, ~$${result.costUsd.toFixed(4)}; ${counter.compute} Compute Engine and ${counter.storage} Cloud Storage requests.`
    );
    await summary.addRaw(
      `gce-matrix: experiment \`${escapeMarkdown(settings.experiment.id)}\` **${result.status}**${result.exitCode === null ? "" : ` (exit code ${result.exitCode})`} after ${result.attempts} attempt(s) in ${result.durationSeconds} s on ${result.machineType}${result.zone ? ` in ${result.zone}` : ""}, ~$${result.costUsd.toFixed(4)}${result.reason ? `: ${escapeMarkdown(result.reason)}` : ""}
`
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
