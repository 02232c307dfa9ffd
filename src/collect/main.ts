import { runAction } from '../action.ts';
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { connectGcp } from '../gcp/clients.ts';
import { runContextFromEnv } from '../launch/inputs.ts';
import { escapeMarkdown } from '../markdown.ts';
import { printable } from '../text.ts';
import { uploadResults } from './artifact.ts';
import type { CollectLogger } from './collect.ts';
import { collectRun } from './collect.ts';
import { parseCollectInputs } from './inputs.ts';
import type { Manifest, Problem } from './manifest.ts';
import { INFRASTRUCTURE_PROBLEMS } from './manifest.ts';

const SUMMARY_PROBLEMS = 50;

function allProblems(manifest: Manifest): { experiment: string | undefined; problem: Problem }[] {
  return [
    ...manifest.problems.map((problem) => ({ experiment: undefined, problem })),
    ...manifest.experiments.flatMap((e) => e.problems.map((problem) => ({ experiment: e.id, problem }))),
  ];
}

/** Prints untrusted lines fenced so none of them can act as a workflow command. */
function fenced(lines: string[]): void {
  if (lines.length === 0) return;
  const fence = randomBytes(16).toString('hex');
  process.stdout.write(`::stop-commands::${fence}\n`);
  for (const line of lines) process.stdout.write(`${printable(line)}\n`);
  process.stdout.write(`::${fence}::\n`);
}

/** `512 B`, `3.4 KB`, `120.0 MB`, `2.50 GB` */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

function summaryLine(manifest: Manifest, artifact: string | undefined): string {
  const c = manifest.counts;
  return (
    `gce-matrix collect: run \`${escapeMarkdown(manifest.runId)}\`: ${c.experiments} experiment(s), ` +
    `**${c.succeeded} succeeded**, ${c.failed} failed, ${c.missing} missing; ` +
    `${c.files} file(s), ${formatBytes(c.bytes)} verified` +
    (c.problems > 0 ? `; ${c.problems} problem(s)` : '') +
    (artifact ? `; artifact \`${escapeMarkdown(artifact)}\`` : '') +
    '\n'
  );
}

/** actions/collect: downloads and verifies every experiment's results of a run, and uploads them as an artifact. */
async function collectStep(env: NodeJS.ProcessEnv): Promise<void> {
  const settings = parseCollectInputs(
    (name) => core.getInput(name),
    runContextFromEnv(env),
    env.GITHUB_WORKSPACE || process.cwd(),
  );
  const { clients, description } = connectGcp({
    project: settings.project,
    env,
    workloadIdentityProvider: settings.workloadIdentityProvider,
    serviceAccount: settings.serviceAccount,
  });
  core.info(`Authenticating with ${description}.`);
  const log: CollectLogger = {
    info: (m) => core.info(printable(m)),
    warning: (m) => core.warning(printable(m)),
  };
  try {
    const result = await collectRun({
      storage: clients.storage,
      location: settings.location,
      expected: settings.expected,
      root: settings.path,
      concurrency: settings.concurrency,
      maxFileSize: settings.maxFileSize,
      log,
      metricInfo: settings.metricInfo,
    });
    const { manifest, stats } = result;
    const c = manifest.counts;
    core.info(
      `Collected ${c.files} file(s), ${stats.bytes} bytes, from ${c.experiments} experiment(s) into ${settings.path} ` +
        `in ${(stats.durationMs / 1000).toFixed(1)} s (${stats.requests} downloads, ${stats.retries} retried).`,
    );
    const problems = allProblems(manifest).filter((p) => p.problem.kind !== 'renamed');
    const renamed = allProblems(manifest).filter((p) => p.problem.kind === 'renamed');
    if (problems.length + renamed.length > 0) {
      core.startGroup(`Problems (${problems.length}) and renamed files (${renamed.length})`);
      fenced(
        [...problems, ...renamed].map(
          ({ experiment, problem }) => `${experiment ?? '(run)'}: ${problem.kind}: ${problem.message}`,
        ),
      );
      core.endGroup();
    }
    if (problems.length > 0) {
      const kinds = new Map<string, number>();
      for (const { problem } of problems) kinds.set(problem.kind, (kinds.get(problem.kind) ?? 0) + 1);
      core.warning(
        `${problems.length} problem(s) while collecting (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}); ` +
          'see the log and manifest.json; everything else was collected',
      );
    }

    let artifactId = '';
    if (settings.upload) {
      const uploaded = await uploadResults({
        name: settings.artifactName,
        root: settings.path,
        files: result.files,
        retentionDays: settings.retentionDays,
        overwrite: settings.overwrite,
        log,
      });
      artifactId = String(uploaded.id);
      core.info(`Uploaded artifact ${settings.artifactName} (id ${uploaded.id}, ${uploaded.size} bytes).`);
    }

    core.setOutput('path', settings.path);
    core.setOutput('manifest', result.manifestPath);
    core.setOutput('artifact-id', artifactId);
    core.setOutput('artifact-name', settings.upload ? settings.artifactName : '');
    core.setOutput('experiments', String(c.experiments));
    core.setOutput('succeeded', String(c.succeeded));
    core.setOutput('failed', String(c.failed));
    core.setOutput('missing', String(c.missing));
    core.setOutput('problems', String(c.problems));

    let summary = summaryLine(manifest, settings.upload ? settings.artifactName : undefined);
    if (problems.length > 0) {
      const shown = problems
        .slice(0, SUMMARY_PROBLEMS)
        .map(
          ({ experiment, problem }) =>
            `- ${experiment ? `\`${escapeMarkdown(experiment)}\` ` : ''}${problem.kind}: ${escapeMarkdown(problem.message)}`,
        );
      const more =
        problems.length > SUMMARY_PROBLEMS
          ? `\n- ... and ${problems.length - SUMMARY_PROBLEMS} more in manifest.json`
          : '';
      summary += `\n<details><summary>${problems.length} collection problem(s)</summary>\n\n${shown.join('\n')}${more}\n\n</details>\n`;
    }
    await core.summary.addRaw(summary).write();

    const broken = problems.filter(({ problem }) => INFRASTRUCTURE_PROBLEMS.includes(problem.kind));
    if (broken.length > 0) {
      core.setFailed(
        `gce-matrix collect: ${broken.length} object(s) could not be downloaded intact after retries ` +
          `(first: ${printable(broken[0].problem.message)}); everything else was collected${settings.upload ? ' and uploaded' : ''}`,
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
  await runAction('collect', () => collectStep(env));
}
