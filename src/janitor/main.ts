import { runAction } from '../action.ts';
import * as core from '@actions/core';
import { ConfigurationError } from '../errors.ts';
import { parseAuthInputs } from '../gcp/auth-inputs.ts';
import { readBucket } from '../inputs.ts';
import { connectGcp } from '../gcp/clients.ts';
import { RunStore } from '../gcp/run-store.ts';
import { printable } from '../text.ts';
import type { JanitorOptions } from './janitor.ts';
import { DEFAULT_MARGIN_MINUTES, DEFAULT_MAX_AGE_HOURS, janitorSummary, runJanitor } from './janitor.ts';

/** Reads one input by name (`core.getInput` in the action). */
export type InputReader = (name: string) => string;

function list(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function number(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const text = read(name).trim();
  if (text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigurationError(
      `input ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

function boolean(read: InputReader, name: string): boolean {
  const text = read(name).trim().toLowerCase();
  if (text === '' || text === 'false') return false;
  if (text === 'true') return true;
  throw new ConfigurationError(`input ${name} must be true or false, got ${JSON.stringify(text)}`);
}

/** Parses the inputs of actions/janitor into options for {@link runJanitor}; a bad input names itself. */
export function parseJanitorInputs(
  read: InputReader,
  env: NodeJS.ProcessEnv,
): JanitorOptions & { bucket?: string; prefix?: string } {
  const zones = list(read('zones'));
  for (const z of zones) {
    if (!/^[a-z]+-[a-z]+[0-9]+-[a-z]$/.test(z)) {
      throw new ConfigurationError(`input zones: ${JSON.stringify(z)} is not a zone name like us-central1-a`);
    }
  }
  const regions = list(read('region'));
  for (const r of regions) {
    if (!/^[a-z]+-[a-z]+[0-9]+$/.test(r)) {
      throw new ConfigurationError(
        `input region: ${JSON.stringify(r)} is not a region name like us-central1`,
      );
    }
  }
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError(
      'input zones (or region) is required: where launch creates VMs, e.g. us-central1-a',
    );
  }
  const scope = read('scope').trim() || 'repository';
  if (scope !== 'repository' && scope !== 'project') {
    throw new ConfigurationError(`input scope must be repository or project, got ${JSON.stringify(scope)}`);
  }
  const repository = read('repository').trim() || env.GITHUB_REPOSITORY || '';
  if (scope === 'repository' && !repository) {
    throw new ConfigurationError(
      'input repository is required with scope repository (outside GitHub Actions)',
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const bucket = readBucket(read);
  return {
    ...(bucket ? { bucket, prefix: (read('prefix').trim() || 'gce-matrix').replace(/^\/+|\/+$/g, '') } : {}),
    project: read('project').trim() || undefined,
    env,
    ...(workloadIdentityProvider ? { workloadIdentityProvider, serviceAccount } : {}),
    zones,
    regions,
    endedRuns: list(read('run-id')),
    ...(scope === 'repository' ? { repository } : {}),
    marginMinutes: number(read, 'margin-minutes', DEFAULT_MARGIN_MINUTES, 0, 10_080),
    maxAgeHours: number(read, 'max-age-hours', DEFAULT_MAX_AGE_HOURS, 1, 8_760),
    dryRun: boolean(read, 'dry-run'),
  };
}

/** actions/janitor: deletes gce-matrix VMs whose run has ended or whose time is up. */
async function janitorStep(env: NodeJS.ProcessEnv): Promise<void> {
  const opts = parseJanitorInputs((name) => core.getInput(name), env);
  const { bucket, prefix } = opts;
  let closeStorage = (): Promise<void> => Promise.resolve();
  let detachedVms: JanitorOptions['detachedVms'];
  if (bucket && prefix !== undefined) {
    const project = opts.project || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || '';
    const { clients } = connectGcp({
      project,
      env,
      workloadIdentityProvider: opts.workloadIdentityProvider,
      serviceAccount: opts.serviceAccount,
    });
    closeStorage = () => clients.close();
    const store = new RunStore(clients.storage, bucket, prefix);
    detachedVms = async (runs) => {
      const names = new Set<string>();
      for (const runId of runs) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) continue;
        for (const d of await store.listDetached(runId)) if (d.record.ok) names.add(d.record.value.instance);
      }
      return names;
    };
  }
  let result;
  try {
    result = await runJanitor({ ...opts, detachedVms, log: (m) => core.info(printable(m)) });
  } finally {
    await closeStorage();
  }
  const stale = result.verdicts.filter((v) => v.action === 'delete').length;
  core.setOutput('found', String(result.verdicts.length));
  core.setOutput('stale', String(stale));
  core.setOutput('deleted', String(result.deleted.length));
  core.setOutput('failed', String(result.failed.length));
  await core.summary.addRaw(janitorSummary(result)).write();
  if (result.failed.length > 0) {
    const first = result.failed[0];
    core.setFailed(
      `gce-matrix janitor: ${result.failed.length} VM(s) could not be deleted ` +
        `(first: ${printable(first?.verdict.vm.name ?? '')}: ${printable(first?.error ?? '')})`,
    );
  }
}

/**
 * The entry point any runner calls (the bundle's index, GitHub's local-action): a failure becomes a failed
 * step with the action's name, never a crash.
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runAction('janitor', () => janitorStep(env));
}
