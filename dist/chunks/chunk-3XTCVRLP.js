import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  readLaunchState,
  withZones
} from "./chunk-7KWXIUHV.js";
import {
  parseLaunchInputs,
  runContextFromEnv
} from "./chunk-VRTZOPY4.js";
import {
  ComputeApi
} from "./chunk-S3KYGDOF.js";
import {
  RunStore
} from "./chunk-UXA2X36L.js";
import {
  connectGcp,
  systemClock
} from "./chunk-YT5EBHMA.js";
import {
  experimentKey,
  getInput,
  info,
  warning
} from "./chunk-F4TJMFJC.js";

// src/launch/cleanup.ts
function experimentFilter(settings) {
  return `labels.gce-matrix-key = "${experimentKey(settings.results.runId, settings.experiment.id)}"`;
}
async function cleanUp(compute, settings, log, detached = /* @__PURE__ */ new Set()) {
  const state = readLaunchState();
  if (state?.finished) return 0;
  const targets = /* @__PURE__ */ new Map();
  if (state?.vm) targets.set(state.vm.name, state.vm.zone);
  for (const zone of settings.zones) {
    for (const vm of await compute.listInstances(zone, experimentFilter(settings))) {
      if (vm.name) targets.set(vm.name, zone);
    }
  }
  for (const name of [...detached, ...state?.detached ? [state.detached.name] : []]) {
    if (targets.delete(name)) log(`Leaving ${name} running: it is detached, the watcher reports it.`);
  }
  if (state?.vm?.creating && !await compute.getInstance(state.vm.zone, state.vm.name)) {
    for (let i = 0; i < 6; i++) {
      await systemClock.sleep(5e3);
      if (await compute.getInstance(state.vm.zone, state.vm.name)) break;
    }
  }
  let deleted = 0;
  for (const [name, zone] of targets) {
    log(`Deleting ${name} in ${zone}.`);
    await compute.deleteInstance(zone, name);
    deleted += 1;
  }
  return deleted;
}
async function post(env = process.env, opts = {}) {
  const state = readLaunchState();
  if (state?.finished) return;
  if (!state?.vm) return;
  const vm = state.vm;
  const limit = opts.limitMs ?? POST_LIMIT_MS;
  const exit = opts.exit ?? ((code) => process.exit(code));
  let timer;
  const outOfTime = new Promise((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limit);
  });
  try {
    const done = await Promise.race([deleteLeftovers(env), outOfTime]);
    if (done === "timeout") {
      warning(
        `gce-matrix launch (post): could not confirm within ${limit / 1e3} s that ${vm.name} in ${vm.zone} is gone; its own time limit (maxRunDuration) deletes it, and the janitor removes it earlier`
      );
      setTimeout(() => exit(0), 1e3).unref();
    }
  } finally {
    clearTimeout(timer);
  }
}
var POST_LIMIT_MS = 11e4;
async function deleteLeftovers(env) {
  const settings = parseLaunchInputs((name) => getInput(name), runContextFromEnv(env));
  const { clients, description } = connectGcp({
    project: settings.project,
    env,
    workloadIdentityProvider: settings.workloadIdentityProvider,
    serviceAccount: settings.serviceAccount
  });
  info(`Authenticating with ${description}.`);
  try {
    const compute = new ComputeApi(clients, systemClock, void 0, { log: (m) => warning(m) });
    const detached = /* @__PURE__ */ new Set();
    try {
      const record = await new RunStore(
        clients.storage,
        settings.results.bucket,
        settings.results.prefix
      ).readDetached(settings.results.runId, settings.experiment.id);
      if (record?.ok) detached.add(record.value.instance);
    } catch (err) {
      warning(`Could not look for a detached record of this experiment: ${err.message}`);
    }
    const n = await cleanUp(compute, await withZones(settings, compute), (m) => info(m), detached);
    info(n > 0 ? `Deleted ${n} VM(s) left by the cancelled or failed step.` : "No VM was left behind.");
  } finally {
    await clients.close();
  }
}

export {
  cleanUp,
  post
};
