import { runAction } from '../action.ts';
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { systemClock } from '../clock.ts';
import { uploadResults } from '../collect/artifact.ts';
import { printable } from '../text.ts';
import { ConfigurationError } from '../errors.ts';
import { connectGcp } from '../gcp/clients.ts';
import { parseAuthInputs } from '../gcp/auth-inputs.ts';
import { ComputeApi } from '../gcp/compute.ts';
import type { InputReader } from '../inputs.ts';
import { readBoolean, readBucket, readInteger, readProject } from '../inputs.ts';
import { escapeMarkdown } from '../markdown.ts';
import type { WatchLogger, WatchRunResult } from './watch.ts';
import {
  DEFAULT_INLINE_WAIT_HOURS,
  DEFAULT_LOCK_STALE_MINUTES,
  DEFAULT_LOST_GRACE_MINUTES,
  runWatcher,
} from './watch.ts';

/** Everything actions/watch needs, parsed and checked once. */
export interface WatchSettings {
  readonly project: string;
  readonly bucket: string;
  readonly prefix: string;
  /** Only this repository's runs; undefined with scope all. */
  readonly repository: string | undefined;
  readonly path: string;
  readonly upload: boolean;
  readonly retentionDays: number | undefined;
  readonly githubToken: string;
  readonly lostGraceMinutes: number;
  readonly lockStaleMinutes: number;
  readonly inlineWaitHours: number;
  readonly workloadIdentityProvider: string | undefined;
  readonly serviceAccount: string | undefined;
}

/** Parses and checks the inputs of actions/watch; throws a ConfigurationError naming the first bad one. */
export function parseWatchInputs(
  read: InputReader,
  env: NodeJS.ProcessEnv,
  workspace: string,
): WatchSettings {
  const project = readProject(read, env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT);
  const bucket = readBucket(read, 'the bucket launch wrote results to');
  const scope = read('scope').trim() || 'repository';
  if (scope !== 'repository' && scope !== 'all') {
    throw new ConfigurationError(`input scope must be repository or all (got ${JSON.stringify(scope)})`);
  }
  const repository = env.GITHUB_REPOSITORY ?? '';
  if (scope === 'repository' && !repository) {
    throw new ConfigurationError('input scope repository needs GITHUB_REPOSITORY (or set scope: all)');
  }
  const retention = read('retention-days').trim();
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  return {
    project,
    bucket,
    prefix: (read('prefix').trim() || 'gce-matrix').replace(/^\/+|\/+$/g, ''),
    repository: scope === 'repository' ? repository : undefined,
    path: path.resolve(workspace, read('path').trim() || 'gce-matrix-watch'),
    upload: readBoolean(read, 'upload', true),
    retentionDays: retention ? readInteger(read, 'retention-days', 0, 1, 400) : undefined,
    githubToken: read('github-token').trim(),
    lostGraceMinutes: readInteger(read, 'lost-grace-minutes', DEFAULT_LOST_GRACE_MINUTES, 0, 1440),
    lockStaleMinutes: readInteger(read, 'lock-stale-minutes', DEFAULT_LOCK_STALE_MINUTES, 1, 10_080),
    inlineWaitHours: readInteger(read, 'inline-wait-hours', DEFAULT_INLINE_WAIT_HOURS, 0, 24 * 40),
    workloadIdentityProvider,
    serviceAccount,
  };
}

/** The log through @actions/core: cloud text escaped, a VM's lines fenced so none can act as a command. */
const actionsLogger: WatchLogger = {
  info: (m) => core.info(printable(m)),
  warning: (m) => core.warning(printable(m)),
  untrusted: (lines) => {
    if (lines.length === 0) return;
    const fence = randomBytes(16).toString('hex');
    process.stdout.write(`::stop-commands::${fence}\n`);
    for (const line of lines) process.stdout.write(`${printable(line)}\n`);
    process.stdout.write(`::${fence}::\n`);
  },
};

const OUTCOME: Record<WatchRunResult['outcome'], string> = {
  reported: '✅ reported',
  waiting: '⏳ waiting',
  busy: '🔒 another step reports it',
  done: '☑️ reported before',
  skipped: '⚠️ skipped',
  failed: '❌ failed',
};

/** The watcher's own summary table: one row per run it looked at. */
export function watchSummary(results: readonly WatchRunResult[]): string {
  const count = (o: WatchRunResult['outcome']): number => results.filter((r) => r.outcome === o).length;
  const head =
    `gce-matrix watch: ${results.length} run(s) with detached experiments; ${count('reported')} reported now, ` +
    `${count('waiting')} still running, ${count('skipped')} skipped, ${count('failed')} failed\n`;
  if (results.length === 0) return head;
  const rows = results
    .slice(0, 500)
    .map((r) => `| \`${escapeMarkdown(r.runId)}\` | ${OUTCOME[r.outcome]} | ${escapeMarkdown(r.message)} |`);
  return `${head}\n| run | outcome | detail |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
}

/** actions/watch: collects and reports every run whose detached experiments have all ended. */
async function watchStep(env: NodeJS.ProcessEnv): Promise<void> {
  const s = parseWatchInputs((name) => core.getInput(name), env, env.GITHUB_WORKSPACE || process.cwd());
  const { clients, description } = connectGcp({
    project: s.project,
    env,
    workloadIdentityProvider: s.workloadIdentityProvider,
    serviceAccount: s.serviceAccount,
  });
  core.info(`Authenticating with ${description}.`);
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const runUrl = `${server}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID ?? ''}`;
  try {
    const results = await runWatcher({
      storage: clients.storage,
      compute: new ComputeApi(clients, systemClock, undefined, { log: (m) => core.warning(m) }),
      bucket: s.bucket,
      prefix: s.prefix,
      repository: s.repository,
      workDir: s.path,
      github: {
        token: s.githubToken,
        apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
      },
      runUrl,
      artifactUrl: `${runUrl}#artifacts`,
      owner: `actions/watch in workflow run ${env.GITHUB_RUN_ID ?? 'local'}`,
      clock: systemClock,
      log: actionsLogger,
      upload: s.upload
        ? async (name, root, files) => {
            const uploaded = await uploadResults({
              name,
              root,
              files,
              retentionDays: s.retentionDays,
              overwrite: true,
              log: actionsLogger,
            });
            core.info(`Uploaded artifact ${name} (id ${uploaded.id}, ${uploaded.size} bytes).`);
            return uploaded.id;
          }
        : undefined,
      summary: async (markdown) => {
        await core.summary.addRaw(markdown).write();
      },
      lostGraceMs: s.lostGraceMinutes * 60_000,
      lockStaleMs: s.lockStaleMinutes * 60_000,
      inlineWaitMs: s.inlineWaitHours * 3_600_000,
    });
    const count = (o: WatchRunResult['outcome']): string =>
      String(results.filter((r) => r.outcome === o).length);
    core.setOutput('reported', count('reported'));
    core.setOutput('waiting', count('waiting'));
    core.setOutput('skipped', count('skipped'));
    core.setOutput('failed', count('failed'));
    await core.summary.addRaw(watchSummary(results)).write();
    const failed = results.filter((r) => r.outcome === 'failed');
    if (failed.length > 0) {
      core.setFailed(
        `gce-matrix watch: ${failed.length} run(s) could not be reported (first: ${printable(failed[0].message)}); ` +
          'the others were handled, and the next pass tries again',
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
  await runAction('watch', () => watchStep(env));
}
