import { mapLimited } from '../concurrency.ts';
import { systemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import { ConfigurationError } from '../errors.ts';
import { connectGcp } from '../gcp/clients.ts';
import { ComputeApi } from '../gcp/compute.ts';
import { escapeMarkdown } from '../markdown.ts';
import { labelValue, runKey } from '../naming.ts';
import type { JanitorVm, Verdict } from './decide.ts';
import { MANAGED_FILTER, decide, toJanitorVm } from './decide.ts';

/** Default grace after a VM's own deadline or stop. */
export const DEFAULT_MARGIN_MINUTES = 30;
/** Default age limit of a VM without maxRunDuration. */
export const DEFAULT_MAX_AGE_HOURS = 24;
const DELETES_IN_FLIGHT = 8;
const SUMMARY_ROWS = 500;

/** What to sweep and how. */
export interface JanitorOptions {
  /** Compute Engine access; without it, clients are built from `project` and `env` (ADC or workload identity). */
  compute?: ComputeApi;
  project?: string;
  env?: NodeJS.ProcessEnv;
  workloadIdentityProvider?: string;
  serviceAccount?: string;
  /** Zones to look in; or `regions`, whose zones that are UP are all searched. */
  zones?: readonly string[];
  regions?: readonly string[];
  /** Runs known to be over (their VMs go whatever their age), e.g. the run a cleanup job belongs to. */
  endedRuns?: readonly string[];
  /** `owner/repo`: only that repository's VMs are looked at (and ended run ids are read within it). */
  repository?: string;
  marginMinutes?: number;
  maxAgeHours?: number;
  /** Decide and report, delete nothing. */
  dryRun?: boolean;
  /**
   * Names of the VMs of the ended runs that were left running detached, for the watcher; given the ended run
   * ids. Those VMs stay until their own time limit.
   */
  detachedVms?: (endedRuns: readonly string[]) => Promise<ReadonlySet<string>>;
  clock?: Clock;
  log?: (message: string) => void;
}

/** What a sweep found and did. */
export interface JanitorResult {
  readonly zones: readonly string[];
  readonly verdicts: readonly Verdict[];
  /** VMs deleted (none on a dry run). */
  readonly deleted: readonly Verdict[];
  /** VMs whose deletion failed, with the error. */
  readonly failed: readonly { verdict: Verdict; error: string }[];
  readonly dryRun: boolean;
}

/** The list filter for managed VMs, narrowed to one repository when given. */
export function janitorFilter(repository?: string): string {
  return repository
    ? `${MANAGED_FILTER} AND labels.gce-matrix-repo = "${labelValue(repository)}"`
    : MANAGED_FILTER;
}

async function resolveZones(compute: ComputeApi, opts: JanitorOptions): Promise<string[]> {
  const zones = new Set(opts.zones ?? []);
  for (const region of opts.regions ?? []) {
    const found = await compute.zonesOfRegion(region);
    if (found.length === 0) {
      throw new ConfigurationError(`region ${region} has no zone that is UP in project ${compute.project}`);
    }
    for (const z of found) zones.add(z);
  }
  if (zones.size === 0) {
    throw new ConfigurationError('the janitor needs zones or a region to look in, e.g. zones: us-central1-a');
  }
  return [...zones].sort();
}

/**
 * Finds every gce-matrix VM (label `gce-matrix=managed`) in the zones, decides which are stale, and deletes
 * those (unless `dryRun`). One failed deletion does not stop the others: it is returned in `failed`.
 */
export async function runJanitor(opts: JanitorOptions): Promise<JanitorResult> {
  const log = opts.log ?? (() => undefined);
  const clock = opts.clock ?? systemClock;
  let compute = opts.compute;
  let close = (): Promise<void> => Promise.resolve();
  if (!compute) {
    const env = opts.env ?? process.env;
    const project = opts.project || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT;
    if (!project) throw new ConfigurationError('project is required (or set GOOGLE_CLOUD_PROJECT)');
    const { clients, description } = connectGcp({
      project,
      env,
      workloadIdentityProvider: opts.workloadIdentityProvider,
      serviceAccount: opts.serviceAccount,
    });
    log(`Authenticating with ${description}.`);
    compute = new ComputeApi(clients, clock, undefined, { log });
    close = () => clients.close();
  }
  try {
    const zones = await resolveZones(compute, opts);
    const filter = janitorFilter(opts.repository);
    const vms: JanitorVm[] = [];
    for (const zone of zones) {
      for (const instance of await compute.listInstances(zone, filter)) vms.push(toJanitorVm(instance, zone));
    }
    const detached =
      opts.detachedVms && (opts.endedRuns ?? []).length > 0
        ? await opts.detachedVms(opts.endedRuns ?? [])
        : undefined;
    for (const name of detached ?? []) log(`${name} runs detached: left for the watcher.`);
    const policy = {
      detached,
      now: clock.now(),
      marginMs: (opts.marginMinutes ?? DEFAULT_MARGIN_MINUTES) * 60_000,
      maxAgeMs: (opts.maxAgeHours ?? DEFAULT_MAX_AGE_HOURS) * 3_600_000,
      endedRuns: new Set((opts.endedRuns ?? []).map(runKey)),
      repository: opts.repository ? labelValue(opts.repository) : undefined,
    };
    const verdicts = vms.map((vm) => decide(vm, policy));
    const stale = verdicts.filter((v) => v.action === 'delete');
    log(`Found ${vms.length} gce-matrix VM(s) in ${zones.length} zone(s); ${stale.length} stale.`);
    const deleted: Verdict[] = [];
    const failed: { verdict: Verdict; error: string }[] = [];
    if (opts.dryRun) {
      for (const v of stale) log(`Would delete ${v.vm.name} in ${v.vm.zone}: ${v.detail}.`);
    } else {
      const api = compute;
      await mapLimited(stale, DELETES_IN_FLIGHT, async (v) => {
        log(`Deleting ${v.vm.name} in ${v.vm.zone}: ${v.detail}.`);
        try {
          await api.deleteInstance(v.vm.zone, v.vm.name);
          deleted.push(v);
        } catch (err) {
          failed.push({ verdict: v, error: err instanceof Error ? err.message : String(err) });
        }
      });
    }
    const order = (v: Verdict): string => `${v.vm.zone}/${v.vm.name}`;
    deleted.sort((a, b) => order(a).localeCompare(order(b)));
    return { zones, verdicts, deleted, failed, dryRun: opts.dryRun ?? false };
  } finally {
    await close();
  }
}

/** A markdown table of the sweep: stale VMs first, then the ones kept. */
export function janitorSummary(result: JanitorResult): string {
  const failed = new Map(result.failed.map((f) => [f.verdict.vm, f.error]));
  const rows = [...result.verdicts].sort(
    (a, b) => Number(a.action === 'keep') - Number(b.action === 'keep') || a.vm.name.localeCompare(b.vm.name),
  );
  const stale = rows.filter((v) => v.action === 'delete').length;
  const head =
    `gce-matrix janitor: ${result.verdicts.length} VM(s) in ${result.zones.length} zone(s), ${stale} stale, ` +
    (result.dryRun ? 'dry run (nothing deleted)' : `${result.deleted.length} deleted`) +
    (result.failed.length > 0 ? `, ${result.failed.length} failed` : '') +
    '\n';
  if (rows.length === 0) return head;
  const cell = (t: string): string => escapeMarkdown(t);
  const lines = rows.slice(0, SUMMARY_ROWS).map((v) => {
    const run = v.vm.labels['gce-matrix-run'] ?? '';
    const error = failed.get(v.vm);
    const action =
      v.action === 'keep'
        ? 'kept'
        : error !== undefined
          ? `delete failed: ${cell(error)}`
          : result.dryRun
            ? `would delete (${v.reason})`
            : `deleted (${v.reason})`;
    return `| \`${cell(v.vm.name)}\` | ${cell(v.vm.zone)} | ${cell(run)} | ${cell(v.vm.status)} | ${action} | ${cell(v.detail)} |`;
  });
  const more = rows.length > SUMMARY_ROWS ? `\n... and ${rows.length - SUMMARY_ROWS} more\n` : '';
  return (
    `${head}\n| VM | zone | run | status | action | why |\n| --- | --- | --- | --- | --- | --- |\n` +
    `${lines.join('\n')}\n${more}`
  );
}
