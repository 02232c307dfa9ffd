import * as core from '@actions/core';
import { systemClock } from '../clock.ts';
import { connectGcp } from '../gcp/clients.ts';
import { ComputeApi } from '../gcp/compute.ts';
import { RunStore } from '../gcp/run-store.ts';
import { experimentKey } from '../naming.ts';
import { parseLaunchInputs, runContextFromEnv } from './inputs.ts';
import type { LaunchSettings } from './settings.ts';
import { readLaunchState } from './state.ts';
import { withZones } from './zones.ts';

/**
 * The list filter that finds every VM of one experiment of one run, whatever its attempt: by the exact identity
 * label, so `tool-X` never finds the VMs of `tool-x`.
 */
export function experimentFilter(settings: LaunchSettings): string {
  return `labels.gce-matrix-key = "${experimentKey(settings.results.runId, settings.experiment.id)}"`;
}

/**
 * Deletes the VMs the main step may have left when the job was cancelled or failed: the one in the saved
 * state, else every VM of this experiment found by its labels in the candidate zones.
 */
export async function cleanUp(
  compute: ComputeApi,
  settings: LaunchSettings,
  log: (m: string) => void,
  detached: ReadonlySet<string> = new Set(),
): Promise<number> {
  const state = readLaunchState();
  if (state?.finished) return 0;
  const targets = new Map<string, string>();
  if (state?.vm) targets.set(state.vm.name, state.vm.zone);
  for (const zone of settings.zones) {
    for (const vm of await compute.listInstances(zone, experimentFilter(settings))) {
      if (vm.name) targets.set(vm.name, zone);
    }
  }
  for (const name of [...detached, ...(state?.detached ? [state.detached.name] : [])]) {
    if (targets.delete(name)) log(`Leaving ${name} running: it is detached, the watcher reports it.`);
  }
  // An insert still in flight when the job was cancelled may create its VM a moment after we looked.
  if (state?.vm?.creating && !(await compute.getInstance(state.vm.zone, state.vm.name))) {
    for (let i = 0; i < 6; i++) {
      await systemClock.sleep(5000);
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

/**
 * The post step of actions/launch. It ends within `limitMs` whatever the endpoints do: calls still in flight
 * then are abandoned and the process ends through `exit` (a runner waits for a step's process, not its promise).
 */
export async function post(
  env: NodeJS.ProcessEnv = process.env,
  opts: { limitMs?: number; exit?: (code: number) => void } = {},
): Promise<void> {
  const state = readLaunchState();
  if (state?.finished) return;
  // The main step saves the VM before any call that could create it: without one, nothing was created, and
  // the main step has already said why it stopped.
  if (!state?.vm) return;
  const vm = state.vm;
  const limit = opts.limitMs ?? POST_LIMIT_MS;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), limit);
  });
  try {
    const done = await Promise.race([deleteLeftovers(env), outOfTime]);
    if (done === 'timeout') {
      core.warning(
        `gce-matrix launch (post): could not confirm within ${limit / 1000} s that ${vm.name} in ${vm.zone} is gone; ` +
          'its own time limit (maxRunDuration) deletes it, and the janitor removes it earlier',
      );
      // Calls still in flight must not hold the job: the step ends now.
      setTimeout(() => exit(0), 1000).unref();
    }
  } finally {
    clearTimeout(timer);
  }
}

/** How long the post step may take, whatever the endpoints do. */
export const POST_LIMIT_MS = 110_000;

async function deleteLeftovers(env: NodeJS.ProcessEnv): Promise<void> {
  const settings = parseLaunchInputs((name) => core.getInput(name), runContextFromEnv(env));
  const { clients, description } = connectGcp({
    project: settings.project,
    env,
    workloadIdentityProvider: settings.workloadIdentityProvider,
    serviceAccount: settings.serviceAccount,
  });
  core.info(`Authenticating with ${description}.`);
  try {
    const compute = new ComputeApi(clients, systemClock, undefined, { log: (m) => core.warning(m) });
    // A step cancelled just after it recorded the experiment as detached has not saved that yet.
    const detached = new Set<string>();
    try {
      const record = await new RunStore(
        clients.storage,
        settings.results.bucket,
        settings.results.prefix,
      ).readDetached(settings.results.runId, settings.experiment.id);
      if (record?.ok) detached.add(record.value.instance);
    } catch (err) {
      core.warning(`Could not look for a detached record of this experiment: ${(err as Error).message}`);
    }
    const n = await cleanUp(compute, await withZones(settings, compute), (m) => core.info(m), detached);
    core.info(n > 0 ? `Deleted ${n} VM(s) left by the cancelled or failed step.` : 'No VM was left behind.');
  } finally {
    await clients.close();
  }
}
