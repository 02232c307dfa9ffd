import { mapLimited } from '../concurrency.ts';
import path from 'node:path';
import { systemClock } from '../clock.ts';
import { ConfigurationError } from '../errors.ts';
import { connectGcp } from '../gcp/clients.ts';
import { ComputeApi } from '../gcp/compute.ts';
import { ExperimentResults } from '../gcp/results.ts';
import { runJanitor, janitorSummary } from '../janitor/janitor.ts';
import { loadAgentScript } from '../launch/agent-script.ts';
import { cleanUp } from '../launch/cleanup.ts';
import type { LaunchLogger } from '../launch/experiment.ts';
import { runExperiment } from '../launch/experiment.ts';
import type { RunContext } from '../launch/inputs.ts';
import { parseLaunchInputs } from '../launch/inputs.ts';
import { checkEachExperiment } from '../launch/preflight.ts';
import type { LaunchSettings } from '../launch/settings.ts';
import { withZones } from '../launch/zones.ts';
import type { ParsedArgs } from './args.ts';
import { optionFlag, optionInteger, optionList, optionValue, reportOptionsOf } from './args.ts';
import type { LocalRunRecord } from './local-run.ts';
import {
  collectAndReport,
  gitSha,
  localSource,
  parseInputOptions,
  planFile,
  startRunDir,
  withSourceSnapshot,
} from './local-run.ts';
import { renderOptions, withSpecReport } from './report-files.ts';
import type { CliIo } from './session.ts';
import { checkPivot, setChecks } from './spec-checks.ts';
import { runSummary, say, withProgress } from './session.ts';
import type { StatusRow } from './status.ts';
import { readRunStatus, statusTable } from './status.ts';
import type { GcpClients } from '../gcp/clients.ts';
import { RunStore } from '../gcp/run-store.ts';
import { recordDetached } from '../launch/detach.ts';
import type { RunRecord } from '../record.ts';
import { runRecordFromEnv } from '../record.ts';
import { decideExperiment } from '../watch/decide.ts';
import { DEFAULT_LOST_GRACE_MINUTES } from '../watch/watch.ts';
import { mkdir } from 'node:fs/promises';

/** Launch inputs the command line takes as options of their own (the rest through `--input NAME=VALUE`). */
const NAMED_INPUTS = [
  'project',
  'zones',
  'region',
  'bucket',
  'vm-service-account',
  'prefix',
  'run-id',
] as const;

/** The launch inputs of a cloud run: `--input` values, then the named options on top. */
export function cloudInputs(args: ParsedArgs): Record<string, string> {
  const inputs = parseInputOptions(optionList(args, 'input'));
  for (const name of NAMED_INPUTS) {
    const v = optionValue(args, name);
    if (v !== undefined) inputs[name] = v;
  }
  for (const name of ['workload-identity-provider', 'service-account']) {
    if (inputs[name]) {
      throw new ConfigurationError(
        `option --input ${name}: a cloud run from a terminal uses application default credentials (gcloud auth application-default login); workload identity federation is for GitHub Actions`,
      );
    }
  }
  return inputs;
}

/** The run context of a cloud run from a terminal. */
function cloudContext(runId: string, env: NodeJS.ProcessEnv, cwd: string): RunContext {
  return {
    runId,
    runAttempt: 1,
    repository: env.GITHUB_REPOSITORY || 'local/local',
    sha: gitSha(cwd),
    defaultProject: env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || env.GCLOUD_PROJECT || undefined,
  };
}

function cloudLogger(id: string, info: (line: string) => void): LaunchLogger {
  const clean = (t: string): string => t.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, ' ');
  return {
    info: (m) => info(`[${id}] ${clean(m)}`),
    warning: (m) => info(`[${id}] warning: ${clean(m)}`),
    // The VM's own log is in the results; the terminal shows progress, not every line of every VM.
    vmLog: () => undefined,
    startGroup: () => undefined,
    endGroup: () => undefined,
  };
}

/** `gce-matrix run --cloud`: the same plan on Compute Engine with application default credentials. */
export async function runCloud(args: ParsedArgs, io: CliIo): Promise<number> {
  const detach = optionFlag(args, 'detach');
  const spec = path.resolve(io.cwd, args.positionals[0]);
  const inputs = cloudInputs(args);
  if (detach) inputs.detach = 'true';
  const plan = await planFile(
    spec,
    optionList(args, 'set'),
    optionValue(args, 'repetitions'),
    setChecks(args, io.stderr),
  );
  const report = withSpecReport(reportOptionsOf(args), plan, `gce-matrix: ${path.basename(spec)}`);
  renderOptions(report);
  checkPivot(report.pivot, plan);
  const runId = inputs['run-id'] ?? `cli-${Date.now().toString(36)}`;
  const ctx = cloudContext(runId, io.env, path.dirname(spec));
  let settings: LaunchSettings[] = plan.experiments.map((e) =>
    parseLaunchInputs((name) => (name === 'experiment' ? JSON.stringify(e) : (inputs[name] ?? '')), ctx),
  );
  const source = localSource(args, io.cwd);
  const first = settings[0];
  const runDir = path.resolve(
    io.cwd,
    optionValue(args, 'out') ?? path.join('gce-matrix-results', first.results.runId),
  );
  const record = await startRunDir(runDir, {
    runId: first.results.runId,
    spec,
    inputs,
    report,
    experiments: plan.experiments,
    source,
  });
  const parallel = optionInteger(args, 'parallel', 8, 1, 256);
  const { clients, description } = connectGcp({ project: first.project, env: io.env });
  say(
    io,
    `Planned ${settings.length} experiment(s) from ${args.positionals[0]} for Compute Engine project ${first.project}, ` +
      `run ${first.results.runId}, results in gs://${first.results.bucket}/${first.results.prefix}/; ${parallel} VM(s) at a time; authenticating with ${description}.`,
  );
  try {
    const compute = new ComputeApi(clients, systemClock, undefined, { log: (m) => say(io, m) });
    const counter = { compute: 0, storage: 0 };
    await new ExperimentResults(clients.storage, first.results, first.experiment.id, counter).checkBucket();
    settings = await checkEachExperiment(settings, compute, {
      info: (line) => say(io, line),
      warning: (line) => say(io, `warning: ${line}`),
    });
    settings = await withSourceSnapshot(settings, source, runDir, clients.storage, (line) => say(io, line));
    const agentScript = await loadAgentScript();
    if (detach) {
      return await launchDetached({ io, settings, compute, clients, counter, agentScript, parallel, runDir });
    }
    return await withProgress(
      io,
      settings.length,
      optionFlag(args, 'no-progress'),
      async (hooks) => {
        await mapLimited(
          settings,
          parallel,
          async (planned) => {
            const s = await withZones(planned, compute);
            const id = s.experiment.id;
            const started = Date.now();
            hooks.onEvent({ kind: 'started', id, attempt: 1 });
            let made = false;
            try {
              const r = await runExperiment(s, {
                compute,
                results: new ExperimentResults(clients.storage, s.results, id, counter),
                clock: systemClock,
                log: cloudLogger(id, hooks.info),
                agentScript,
                onVm: (vm) => (made ||= vm !== undefined),
                signal: hooks.signal,
              });
              const outcome =
                r.status === 'succeeded' || r.status === 'failed' || r.status === 'error' ? r.status : 'lost';
              hooks.onEvent({
                kind: 'finished',
                id,
                attempt: r.attempts,
                outcome,
                exitCode: r.exitCode,
                reason: r.reason,
                seconds: r.durationSeconds,
                retrying: false,
              });
            } catch (err) {
              if (!hooks.signal.aborted) throw err;
              hooks.onEvent({
                kind: 'finished',
                id,
                attempt: 1,
                outcome: 'interrupted',
                exitCode: null,
                reason: 'stopped by Ctrl-C',
                seconds: Math.round((Date.now() - started) / 1000),
                retrying: false,
              });
            } finally {
              // Whatever happened, no VM of this experiment outlives the command (the post step's job in Actions).
              if (hooks.signal.aborted && made) {
                await cleanUp(compute, s, (m) => hooks.info(`[${id}] ${m}`));
              }
            }
          },
          hooks.signal,
        );
        return collectAndReport({
          storage: clients.storage,
          location: first.results,
          runDir,
          record,
          interrupted: hooks.signal.aborted,
          info: hooks.info,
        });
      },
      {
        stopping:
          "Stopping: deleting the running experiments' VMs, then the partial results are reported. Ctrl-C again stops at once.",
        forceStop:
          'VMs still running delete themselves at their time limit; `gce-matrix janitor --delete` removes them now',
      },
    );
  } finally {
    await clients.close();
  }
}

/** `--cloud --detach`: creates every VM, records it for a watcher, and returns while they work. */
async function launchDetached(opts: {
  io: CliIo;
  settings: readonly LaunchSettings[];
  compute: ComputeApi;
  clients: GcpClients;
  counter: { compute: number; storage: number };
  agentScript: string;
  parallel: number;
  runDir: string;
}): Promise<number> {
  const { io, settings, compute, clients } = opts;
  const first = settings[0];
  const store = new RunStore(clients.storage, first.results.bucket, first.results.prefix);
  const run: RunRecord = {
    ...runRecordFromEnv({
      runId: first.results.runId,
      env: io.env,
      event: { name: 'cli', payload: {} },
      now: Date.now(),
    }),
    experiments: settings.map((s) => s.experiment.id),
  };
  let failed = 0;
  await mapLimited(settings, opts.parallel, async (planned) => {
    const s = await withZones(planned, compute);
    const id = s.experiment.id;
    const r = await runExperiment(s, {
      compute,
      results: new ExperimentResults(clients.storage, s.results, id, opts.counter),
      clock: systemClock,
      log: cloudLogger(id, (line) => say(io, line)),
      agentScript: opts.agentScript,
      onVm: () => undefined,
      recordDetached: (d) => recordDetached({ store, settings: s, run, detached: d, now: Date.now() }),
    });
    if (r.status === 'detached') say(io, `detached  ${id} on ${r.vmName} in ${r.zone}`);
    else {
      failed++;
      say(io, `${r.status.toUpperCase()} ${id}: ${r.reason}`);
    }
  });
  const where = `--cloud --project ${first.project} --bucket ${first.results.bucket}${first.results.prefix === 'gce-matrix' ? '' : ` --prefix ${first.results.prefix}`}`;
  say(io, `${settings.length - failed} experiment(s) running detached, each VM with its own time limit.`);
  say(io, `Follow them:  gce-matrix status ${first.results.runId} ${where}`);
  say(
    io,
    `When all have ended: gce-matrix status ${first.results.runId} ${where} --report --out ${path.relative(io.cwd, opts.runDir) || '.'}`,
  );
  return failed > 0 ? 1 : 0;
}

/** Marks experiments whose detached VM is gone (or past its time limit) without a status as lost. */
async function withLost(
  rows: StatusRow[],
  store: RunStore,
  compute: ComputeApi,
  runId: string,
): Promise<StatusRow[]> {
  const out: StatusRow[] = [];
  for (const row of rows) {
    if (row.state !== 'running' && row.state !== 'not started') {
      out.push(row);
      continue;
    }
    const parsed = await store.readDetached(runId, row.id);
    if (!parsed || !parsed.ok) {
      out.push(row);
      continue;
    }
    const record = parsed.value;
    const vm = await compute.getInstance(record.zone, record.instance);
    const verdict = decideExperiment(
      { record, status: undefined, instance: vm ? (vm.status ?? 'UNKNOWN') : 'GONE' },
      Date.now(),
      DEFAULT_LOST_GRACE_MINUTES * 60_000,
    );
    out.push(
      verdict.kind === 'lost'
        ? { ...row, state: 'lost', detail: verdict.reason }
        : verdict.kind === 'running'
          ? { ...row, state: 'running', detail: [row.detail, verdict.detail].filter(Boolean).join('; ') }
          : row,
    );
  }
  return out;
}

/** `gce-matrix status RUN --cloud`: each experiment's state, read from the bucket. */
export async function cloudStatus(args: ParsedArgs, io: CliIo): Promise<number> {
  const runId = args.positionals[0];
  const project = optionValue(args, 'project') || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  const bucket = optionValue(args, 'bucket')
    ?.replace(/^gs:\/\//, '')
    .replace(/\/+$/, '');
  if (!project)
    throw new ConfigurationError('option --project is required with --cloud (or set GOOGLE_CLOUD_PROJECT)');
  if (!bucket)
    throw new ConfigurationError('option --bucket is required with --cloud: the bucket the run wrote to');
  const prefix = (optionValue(args, 'prefix') ?? 'gce-matrix').replace(/^\/+|\/+$/g, '');
  const location = { bucket, prefix, runId };
  const { clients } = connectGcp({ project, env: io.env });
  try {
    const store = new RunStore(clients.storage, bucket, prefix);
    const compute = new ComputeApi(clients, systemClock, undefined, { log: (m) => say(io, m) });
    const experimentsPrefix = `${prefix}/runs/${runId}/experiments/`;
    const [, , listing] = await clients.storage
      .bucket(bucket)
      .getFiles({ prefix: experimentsPrefix, delimiter: '/', autoPaginate: false, maxResults: 1000 });
    // The planned ids (run.json), the detached ones and whatever the bucket holds: a VM still booting has
    // written nothing yet.
    const ids = new Set<string>();
    const run = await store.readRun(runId);
    if (run?.record.ok) for (const id of run.record.value.experiments ?? []) ids.add(id);
    for (const d of await store.listDetached(runId)) if (d.record.ok) ids.add(d.record.value.experiment);
    for (const p of (listing as { prefixes?: string[] } | undefined)?.prefixes ?? []) {
      ids.add(p.slice(experimentsPrefix.length).replace(/\/$/, ''));
    }
    const prefixes = [...ids].sort();
    if (prefixes.length === 0) {
      say(
        io,
        `gs://${bucket}/${prefix}/runs/${runId}/ holds no experiments (check the run id, --bucket and --prefix).`,
      );
      return 1;
    }
    const rows = await withLost(
      await readRunStatus(clients.storage, location, prefixes),
      store,
      compute,
      runId,
    );
    for (const line of statusTable(rows)) say(io, line);
    const open = rows.filter((r) => r.state === 'running' || r.state === 'not started').length;
    if (!optionFlag(args, 'report')) return 0;
    if (open > 0) {
      say(io, `Not reported: ${open} experiment(s) have not ended yet; ask again later.`);
      return 3;
    }
    const runDir = path.resolve(io.cwd, optionValue(args, 'out') ?? path.join('gce-matrix-results', runId));
    await mkdir(runDir, { recursive: true });
    const planned = prefixes;
    const record: LocalRunRecord = {
      schema: 1,
      runId,
      createdAt: new Date().toISOString(),
      spec: '',
      inputs: {},
      report: { title: `gce-matrix: run ${runId}` },
      experiments: planned.map((id) => ({ id, params: {} })),
    };
    const result = await collectAndReport({
      storage: clients.storage,
      location,
      runDir,
      record,
      interrupted: false,
      info: (line) => say(io, line),
    });
    for (const line of runSummary(result, io.cwd)) say(io, line);
    const c = result.manifest.counts;
    return c.failed > 0 || c.missing > 0 ? 1 : 0;
  } finally {
    await clients.close();
  }
}

/** `gce-matrix janitor`: leftover gce-matrix VMs by label, listed, and deleted with --delete. */
export async function cloudJanitor(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.positionals.length > 0)
    throw new ConfigurationError(`janitor takes no arguments (got ${args.positionals.join(' ')})`);
  const project = optionValue(args, 'project') || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  if (!project) throw new ConfigurationError('option --project is required (or set GOOGLE_CLOUD_PROJECT)');
  const zones = (optionValue(args, 'zones') ?? '')
    .split(',')
    .map((z) => z.trim())
    .filter(Boolean);
  const regions = (optionValue(args, 'region') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError('janitor needs --zones or --region to look in, e.g. --region us-central1');
  }
  const maxAge = optionValue(args, 'max-age-hours');
  const result = await runJanitor({
    project,
    env: io.env,
    ...(zones.length ? { zones } : {}),
    ...(regions.length ? { regions } : {}),
    endedRuns: optionList(args, 'run-id'),
    ...(optionValue(args, 'repository') ? { repository: optionValue(args, 'repository') } : {}),
    ...(maxAge !== undefined ? { maxAgeHours: optionInteger(args, 'max-age-hours', 24, 1, 24 * 365) } : {}),
    dryRun: !optionFlag(args, 'delete'),
    log: (m) => say(io, m),
  });
  for (const line of janitorSummary(result).split('\n')) if (line) say(io, line);
  if (result.dryRun && result.verdicts.some((v) => v.action === 'delete'))
    say(io, 'Nothing deleted: add --delete to delete the VMs marked stale.');
  return result.failed.length > 0 ? 1 : 0;
}
