import * as core from '@actions/core';
import * as github from '@actions/github';
import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '../errors.ts';
import { expandPlan } from './expand.ts';
import { gateComment } from './gate.ts';
import { commentOverrides, parsePlanInputs } from './inputs.ts';
import type { Overrides } from './overrides.ts';
import { planOutputs, planSummary } from './outputs.ts';
import type { SpecSource } from './spec.ts';
import { parseSpec } from './spec.ts';

async function readEvent(file: string | undefined): Promise<unknown> {
  if (!file) return {};
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return {};
  }
}

function describeOverrides(o: Overrides): string {
  const parts = [...o.axes].map(([k, v]) => `${k}=${v.join(',')}`);
  if (o.repetitions !== undefined) parts.push(`repetitions=${o.repetitions}`);
  return parts.join(' ');
}

/** The plan step (root action.yml): turns the matrix spec into the job matrix, before any VM exists. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = parsePlanInputs((name) => core.getInput(name), {
    runId: env.GITHUB_RUN_ID,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
  });
  const sources: SpecSource[] = [];
  if (settings.specFile) {
    const label = `input spec-file (${settings.specFile.given})`;
    let text: string;
    try {
      text = await readFile(settings.specFile.path, 'utf8');
    } catch (err) {
      throw new ConfigurationError(
        `${label} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a path relative to the repository root, and check out the repository before this step`,
      );
    }
    sources.push({ label, text });
  }
  if (settings.spec !== undefined) sources.push({ label: 'input spec', text: settings.spec });
  const event = await readEvent(env.GITHUB_EVENT_PATH);
  const comment = commentOverrides(env.GITHUB_EVENT_NAME ?? '', event);
  if (comment) {
    const token = core.getInput('github-token');
    if (!token)
      throw new ConfigurationError(
        'input github-token is required to check who may run a PR comment command',
      );
    const gate = await gateComment(github.getOctokit(token), event, settings.requiredPermission);
    if (!gate.allowed) {
      core.setOutput('allowed', 'false');
      core.warning(
        `${gate.login} has ${gate.permission} permission; /gce-matrix run needs ${settings.requiredPermission}. Nothing is planned.`,
      );
      core.setOutput('count', '0');
      return;
    }
    core.info(`${gate.login} has ${gate.permission} permission: the comment command may run.`);
  }
  const overrides = comment ? [settings.overrides, comment] : [settings.overrides];
  for (const o of overrides) {
    const text = describeOverrides(o);
    if (text) core.info(`Overrides from ${o.label}: ${text}`);
  }
  const plan = expandPlan(parseSpec(sources), overrides, settings.repetitions, settings.limits);
  const outputs = planOutputs(plan, settings.runId);
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  core.setOutput('allowed', 'true');
  core.info(
    `Planned ${plan.experiments.length} experiment(s) in ${plan.batches.length} batch(es) for run ${settings.runId}` +
      (plan.axes.length ? `; axes: ${plan.axes.join(', ')}` : '') +
      '.',
  );
  // Outside a runner (a local run) there is no summary file to write to.
  if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(planSummary(plan, settings.runId)).write();
}
