import { runAction } from '../action.ts';
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
import { pinExperimentRefs, plannedSource } from './source.ts';
import type { GitHubSource } from '../source/github.ts';
import { resolveCommit } from '../source/github.ts';

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
async function planStep(env: NodeJS.ProcessEnv): Promise<void> {
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
  const token = core.getInput('github-token');
  if (comment) {
    if (!token)
      throw new ConfigurationError(
        'input github-token is required to check who may run a PR comment command',
      );
    const gate = await gateComment(github.getOctokit(token), event, settings.requiredPermission);
    if (!gate.allowed) {
      core.setOutput('allowed', 'false');
      core.warning(
        `/gce-matrix run needs ${settings.requiredPermission} permission; ${gate.login} has ${gate.held}. Nothing is planned.`,
      );
      core.setOutput('count', '0');
      return;
    }
    core.info(
      `${gate.login} has ${gate.held}, enough for ${settings.requiredPermission}: the comment command may run.`,
    );
  }
  const repository = env.GITHUB_REPOSITORY ?? '';
  const gh: GitHubSource | undefined =
    token && repository
      ? { apiUrl: env.GITHUB_API_URL || 'https://api.github.com', token, repository }
      : undefined;
  const source = await plannedSource({
    sourceRef: settings.sourceRef,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    event,
    sha: env.GITHUB_SHA,
    github: gh,
    pullHead: async (n) => {
      if (!token)
        throw new ConfigurationError('input github-token is required to read the pull request head');
      const [owner = '', repo = ''] = repository.split('/');
      const { data } = await github.getOctokit(token).rest.pulls.get({ owner, repo, pull_number: n });
      return data.head.sha;
    },
  });
  if (source) core.info(`Source: ${repository || 'the repository'} at ${source.commit} (${source.how}).`);
  const overrides = comment ? [settings.overrides, comment] : [settings.overrides];
  for (const o of overrides) {
    const text = describeOverrides(o);
    if (text) core.info(`Overrides from ${o.label}: ${text}`);
  }
  const plan = await pinExperimentRefs(
    expandPlan(parseSpec(sources), overrides, settings.repetitions, settings.limits),
    async (ref, input) => {
      if (!gh)
        throw new ConfigurationError(
          `${input} ${JSON.stringify(ref)} needs input github-token to be resolved`,
        );
      return resolveCommit(gh, ref, input);
    },
  );
  const outputs = planOutputs(plan, settings.runId);
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
  if (source) core.setOutput('source-sha', source.commit);
  core.setOutput('allowed', 'true');
  core.info(
    `Planned ${plan.experiments.length} experiment(s)` +
      (plan.legs.length === plan.experiments.length ? '' : ` on ${plan.legs.length} VM(s)`) +
      ` in ${plan.batches.length} batch(es) for run ${settings.runId}` +
      (plan.axes.length ? `; axes: ${plan.axes.join(', ')}` : '') +
      '.',
  );
  // Outside a runner (a local run) there is no summary file to write to.
  if (env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(planSummary(plan, settings.runId)).write();
}

/**
 * The entry point any runner calls (the bundle's index, GitHub's local-action): a failure becomes a failed
 * step with the action's name, never a crash.
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runAction('plan', () => planStep(env));
}
