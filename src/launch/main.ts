import { runAction } from '../action.ts';
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../clock.ts';
import { connectGcp } from '../gcp/clients.ts';
import { ComputeApi } from '../gcp/compute.ts';
import { ExperimentResults } from '../gcp/results.ts';
import { readEvent } from '../event.ts';
import { RunStore } from '../gcp/run-store.ts';
import { escapeMarkdown } from '../markdown.ts';
import { runRecordFromEnv } from '../record.ts';
import { recordDetached } from './detach.ts';
import { loadAgentScript } from './agent-script.ts';
import type { LaunchDeps, LaunchLogger, LaunchResult } from './experiment.ts';
import { legSummary, outcomesJson, packedRounds, runPackedLeg, singleOutcome } from './group.ts';
import { runExperiment } from './experiment.ts';
import { parseLaunchInputs, pullRequestHeadOf, runContextFromEnv } from './inputs.ts';
import { checkComputeResources } from './preflight.ts';
import { prepareSource } from './source.ts';
import { saveLaunchState } from './state.ts';
import { withZones } from './zones.ts';

/** Logs through @actions/core; the VM's lines are prefixed and fenced so they can never act as workflow commands. */
export function actionsLogger(experimentId: string): LaunchLogger {
  return {
    info: (m) => core.info(m),
    warning: (m) => core.warning(m),
    startGroup: (t) => core.startGroup(t),
    endGroup: () => core.endGroup(),
    vmLog: (lines) => {
      if (lines.length === 0) return;
      const fence = randomBytes(16).toString('hex');
      process.stdout.write(`::stop-commands::${fence}\n`);
      for (const line of lines) process.stdout.write(`[${experimentId}] ${line}\n`);
      process.stdout.write(`::${fence}::\n`);
    },
  };
}

function setOutputs(id: string, result: LaunchResult): void {
  core.setOutput('status', result.status);
  core.setOutput('exit-code', result.exitCode === null ? '' : String(result.exitCode));
  core.setOutput('attempts', String(result.attempts));
  core.setOutput('zone', result.zone);
  core.setOutput('machine-type', result.machineType);
  core.setOutput('vm-name', result.vmName);
  core.setOutput('results-uri', result.resultsUri);
  core.setOutput('duration-seconds', String(result.durationSeconds));
  core.setOutput('cost-usd', result.costUsd.toFixed(4));
  core.setOutput('experiments', outcomesJson(result.experiments ?? [singleOutcome(id, result)]));
}

/** actions/launch: runs one experiment on its own VM and deletes the VM. */
async function launchStep(env: NodeJS.ProcessEnv): Promise<void> {
  const event = await readEvent(env);
  const parsed = parseLaunchInputs((name) => core.getInput(name), {
    ...runContextFromEnv(env),
    pullRequestHead: pullRequestHeadOf(event),
  });
  if (parsed.github.token) core.setSecret(parsed.github.token);
  const { clients, description } = connectGcp({
    project: parsed.project,
    env,
    workloadIdentityProvider: parsed.workloadIdentityProvider,
    serviceAccount: parsed.serviceAccount,
  });
  core.info(`Authenticating with ${description}.`);
  const counter = { compute: 0, storage: 0 };
  let detached: { name: string; zone: string } | undefined;
  const state = (vm: Parameters<typeof saveLaunchState>[0]['vm'], finished = false): void =>
    saveLaunchState({ project: parsed.project, vm, finished, detached });
  try {
    state(undefined);
    const settings = await prepareSource(parsed, {
      storage: clients.storage,
      clock: systemClock,
      log: (m) => core.info(m),
      ...(env.RUNNER_TEMP ? { tmpDir: env.RUNNER_TEMP } : {}),
    });
    const compute = new ComputeApi(clients, systemClock, counter, { log: (m) => core.warning(m) });
    const store = new RunStore(clients.storage, settings.results.bucket, settings.results.prefix);
    const checked = await checkComputeResources(
      await withZones(settings, compute),
      compute,
      actionsLogger(settings.experiment.id),
    );
    const deps: LaunchDeps = {
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
          now,
        });
        // Saved before the step returns: from here on the post step leaves this VM alone.
        detached = { name: d.vm.name, zone: d.vm.zone };
        state(undefined, true);
      },
    };
    const result =
      checked.members.length > 0
        ? await runPackedLeg(checked, deps, packedRounds)
        : await runExperiment(checked, deps);
    state(undefined, true);
    setOutputs(settings.experiment.id, result);
    core.info(
      `${settings.experiment.id}: ${result.status} after ${result.attempts} attempt(s), ${result.durationSeconds} s, ` +
        `~$${result.costUsd.toFixed(4)}; ${counter.compute} Compute Engine and ${counter.storage} Cloud Storage requests.`,
    );
    await core.summary
      .addRaw(
        `gce-matrix: ${result.experiments ? `packed leg of ${result.experiments.length} experiments` : 'experiment'} ` +
          `\`${escapeMarkdown(settings.experiment.id)}\` **${result.status}**` +
          `${result.exitCode === null ? '' : ` (exit code ${result.exitCode})`} after ${result.attempts} attempt(s) ` +
          `in ${result.durationSeconds} s on ${result.machineType}${result.zone ? ` in ${result.zone}` : ''}, ` +
          `~$${result.costUsd.toFixed(4)}${result.reason ? `: ${escapeMarkdown(result.reason)}` : ''}\n` +
          (result.experiments ? `\n${legSummary(result)}` : ''),
      )
      .write();
    if (result.status === 'detached') {
      core.info(
        `${settings.experiment.id}: ${result.reason}. Its VM ${result.vmName} in ${result.zone} ends by its own time limit at the latest.`,
      );
    } else if (result.status !== 'succeeded') {
      const tail =
        result.logTail.length > 0
          ? `\nLast lines of the experiment's log:\n${result.logTail.join('\n')}`
          : '';
      core.setFailed(
        `experiment ${settings.experiment.id} ${result.status}` +
          `${result.exitCode === null ? '' : ` with exit code ${result.exitCode}`}: ${result.reason}${tail}`,
      );
    }
  } finally {
    await clients.close();
  }
}

/**
 * The entry point any runner calls (the bundle's index, GitHub's local-action): a failure becomes a failed
 * step with the action's name, never a crash.
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runAction('launch', () => launchStep(env));
}
