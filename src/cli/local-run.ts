import type { Storage } from '@google-cloud/storage';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collectRun } from '../collect/collect.ts';
import type { Manifest } from '../collect/manifest.ts';
import { ConfigurationError } from '../errors.ts';
import { loadAgentScript } from '../launch/agent-script.ts';
import type { RunContext } from '../launch/inputs.ts';
import type { Experiment, LaunchSettings } from '../launch/settings.ts';
import type { RunLocation } from '../layout.ts';
import { startLocalCloud } from '../local/cloud.ts';
import type { LocalCloud } from '../local/cloud.ts';
import type { ExecutorEvent, LocalJob, LocalOutcome } from '../local/executor.ts';
import { LocalExecutor } from '../local/executor.ts';
import { LOCAL_BUCKET, checkLocalServices, localLaunchSettings } from '../local/settings.ts';
import type { Plan } from '../plan/expand.ts';
import { expandPlan } from '../plan/expand.ts';
import { parseOverrides } from '../plan/overrides.ts';
import { parseSpec } from '../plan/spec.ts';
import type { SetChecks } from './spec-checks.ts';
import { checkPivot, checkSets } from './spec-checks.ts';
import { localLogTail } from './log-tail.ts';
import type { LocalReport, LocalReportOptions } from './report-files.ts';
import { renderOptions, withSpecReport, writeLocalReport } from './report-files.ts';
import { existsSync } from 'node:fs';
import { systemClock } from '../clock.ts';
import type { ParsedArgs } from './args.ts';
import { optionValue } from './args.ts';
import type { LocalSourceMode } from '../source/local.ts';
import type { SourceManifest } from '../source/snapshot.ts';
import { stageLocalSource } from '../source/local.ts';
import { withSnapshot } from '../launch/source.ts';

/** A local run's own record, beside its results: what rerun needs to run an experiment again. */
export interface LocalRunRecord {
  readonly schema: 1;
  readonly runId: string;
  readonly createdAt: string;
  readonly spec: string;
  /** `--input` values. */
  readonly inputs: Readonly<Record<string, string>>;
  readonly report: LocalReportOptions;
  readonly experiments: readonly Experiment[];
  /** The checkout each experiment's working directory is a snapshot of (absent in older records: none). */
  readonly source?: { readonly dir: string; readonly mode: LocalSourceMode };
  /** The snapshot the run's experiments ran, once stored: a rerun runs the same one. */
  readonly snapshot?: SourceManifest;
}

/** The record's file name in the run directory. */
export const RUN_RECORD = 'run.json';

/** What a run directory holds. */
export function runPaths(runDir: string): { bucket: string; work: string; results: string; record: string } {
  return {
    bucket: path.join(runDir, 'bucket'),
    work: path.join(runDir, 'work'),
    results: path.join(runDir, 'results'),
    record: path.join(runDir, RUN_RECORD),
  };
}

/**
 * Reads and plans a spec file as the plan action does (`--set` and `--repetitions` as its overrides), after
 * checking `--set` against the spec's axes and values.
 */
export async function planFile(
  specPath: string,
  sets: readonly string[],
  repetitions: string | undefined,
  checks: SetChecks = {},
): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(specPath, 'utf8');
  } catch (err) {
    throw new ConfigurationError(
      `spec ${specPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a matrix spec (YAML or JSON, see docs/matrix.md)`,
    );
  }
  const spec = parseSpec([{ label: `spec ${specPath}`, text }]);
  const overrides = parseOverrides(sets.join(' '), 'option --set');
  for (const line of checkSets(spec, overrides, checks.allowNewValues === true)) checks.warn?.(line);
  return expandPlan(
    spec,
    [overrides],
    repetitions === undefined ? undefined : { value: repetitions, label: 'option --repetitions' },
    { maxExperiments: 10_000, batchSize: 256, maxBatches: undefined },
  );
}

/** `NAME=VALUE` options into a map; a bad one names the option. */
export function parseInputOptions(values: readonly string[], option = 'input'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new ConfigurationError(`option --${option} ${JSON.stringify(v)} is not NAME=VALUE`);
    out[v.slice(0, eq).trim()] = v.slice(eq + 1);
  }
  return out;
}

/** The commit being run, for provenance, when the directory is a git checkout. */
export function gitSha(cwd: string): string {
  return gitOutput(cwd, ['rev-parse', 'HEAD']);
}

/** What a git command prints in `cwd`, trimmed; '' outside a checkout or without git. */
function gitOutput(cwd: string, args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The run context of a local run: no GitHub, the local commit. */
export function localContext(runId: string, cwd: string): RunContext {
  return { runId, runAttempt: 1, repository: 'local/local', sha: gitSha(cwd), defaultProject: undefined };
}

/** Secret values of a local run come from the caller's environment, under the name the command sees. */
export function localSecrets(
  settings: readonly LaunchSettings[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of settings) {
    for (const ref of s.secrets) {
      const value = env[ref.env];
      if (value === undefined) {
        throw new ConfigurationError(
          `experiment ${s.experiment.id}: secret ${ref.env} (${ref.resource}): a local run takes its value from the environment variable ${ref.env}; set it, e.g. ${ref.env}=... gce-matrix run ...`,
        );
      }
      out[ref.resource] = value;
    }
  }
  return out;
}

async function ensureEmptyDir(dir: string): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new ConfigurationError(
        `option --out: ${dir} is a file; give a directory that does not exist yet`,
      );
    }
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (entries.length > 0) {
    throw new ConfigurationError(
      `option --out: ${dir} already holds files; give a new directory (or another --run-id) so runs never mix`,
    );
  }
  await mkdir(dir, { recursive: true });
}

async function writeRunRecord(runDir: string, record: LocalRunRecord): Promise<void> {
  await writeFile(runPaths(runDir).record, `${JSON.stringify(record, null, 2)}\n`);
}

/** Creates a run directory (new or empty, so runs never mix) and writes its record. */
export async function startRunDir(
  runDir: string,
  fields: Omit<LocalRunRecord, 'schema' | 'createdAt'>,
): Promise<LocalRunRecord> {
  await ensureEmptyDir(runDir);
  const record: LocalRunRecord = { schema: 1, createdAt: new Date().toISOString(), ...fields };
  await writeRunRecord(runDir, record);
  return record;
}

/** What a local run or rerun ended with. */
export interface LocalRunResult {
  readonly runDir: string;
  readonly manifest: Manifest;
  readonly report: LocalReport;
  readonly interrupted: boolean;
}

/** Hooks of a local run: progress, lines for the user, Ctrl-C. */
export interface LocalRunHooks {
  /** An executor event; a failed attempt's comes with the last lines of its log. */
  readonly onEvent: (e: ExecutorEvent, logTail?: readonly string[]) => void;
  readonly info: (line: string) => void;
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** Given the executor once it exists, e.g. to kill everything on a second Ctrl-C. */
  readonly onExecutor?: (executor: LocalExecutor) => void;
}

/**
 * Collects a run into `RUN_DIR/results` with the same code as actions/collect (every planned experiment listed,
 * missing ones as missing), and writes the markdown and HTML reports beside it.
 */
export async function collectAndReport(opts: {
  readonly storage: Storage;
  readonly location: RunLocation;
  readonly runDir: string;
  readonly record: LocalRunRecord;
  readonly interrupted: boolean;
  readonly info: (line: string) => void;
}): Promise<LocalRunResult> {
  const results = runPaths(opts.runDir).results;
  await rm(results, { recursive: true, force: true });
  const collected = await collectRun({
    storage: opts.storage,
    location: opts.location,
    expected: opts.record.experiments.map((e) => ({ id: e.id, params: e.params })),
    root: results,
    concurrency: 8,
    maxFileSize: 2 * 1024 ** 3,
    log: { info: () => undefined, warning: (m) => opts.info(`warning: ${m}`) },
    metricInfo: renderOptions(opts.record.report).metricInfo,
  });
  const report = await writeLocalReport(results, opts.runDir, {
    ...opts.record.report,
    note: opts.interrupted ? 'interrupted: partial results' : opts.record.report.note,
  });
  return { runDir: opts.runDir, manifest: collected.manifest, report, interrupted: opts.interrupted };
}

/** The outcomes whose log's last lines the terminal shows (not an interruption the user asked for). */
const SHOWS_LOG: ReadonlySet<LocalOutcome> = new Set<LocalOutcome>(['failed', 'error', 'lost']);

/** Runs jobs in a run directory's local cloud, then collects and reports the whole run. */
export async function executeLocal(opts: {
  readonly runDir: string;
  readonly record: LocalRunRecord;
  readonly jobs: readonly LocalJob[];
  readonly secrets: Readonly<Record<string, string>>;
  readonly parallel: number;
  readonly hooks: LocalRunHooks;
}): Promise<LocalRunResult> {
  const paths = runPaths(opts.runDir);
  await mkdir(paths.bucket, { recursive: true });
  const locations = new Map(
    opts.jobs.flatMap((j) =>
      [j.settings.experiment, ...j.settings.members].map((e) => [e.id, j.settings.results] as const),
    ),
  );
  const onEvent = (e: ExecutorEvent): void => {
    const location = locations.get(e.id);
    const failed = e.kind === 'finished' && SHOWS_LOG.has(e.outcome) && location;
    opts.hooks.onEvent(e, failed ? localLogTail(paths.bucket, location, e.id, e.attempt) : undefined);
  };
  const cloud: LocalCloud = await startLocalCloud(paths.bucket);
  try {
    const executor = new LocalExecutor({
      storage: cloud.storage,
      metadata: cloud.metadata,
      agentScript: await loadAgentScript(),
      workRoot: paths.work,
      parallel: opts.parallel,
      env: opts.hooks.env,
      secrets: opts.secrets,
      onEvent,
      signal: opts.hooks.signal,
    });
    opts.hooks.onExecutor?.(executor);
    const staged = await withSourceSnapshot(
      opts.jobs.map((j) => j.settings),
      opts.record.source,
      opts.runDir,
      cloud.storageClient,
      opts.hooks.info,
      opts.record.snapshot,
    );
    const snapshot = staged.find((s) => s.snapshot)?.snapshot;
    if (snapshot && !opts.record.snapshot) await writeRunRecord(opts.runDir, { ...opts.record, snapshot });
    await executor.runAll(opts.jobs.map((j, i) => ({ ...j, settings: staged[i] })));
    return await collectAndReport({
      storage: cloud.storageClient,
      location: opts.jobs[0]?.settings.results ?? {
        bucket: LOCAL_BUCKET,
        prefix: 'gce-matrix',
        runId: opts.record.runId,
      },
      runDir: opts.runDir,
      record: opts.record,
      interrupted: opts.hooks.signal.aborted,
      info: opts.hooks.info,
    });
  } finally {
    await cloud.close();
  }
}

/**
 * Stores the snapshot of the run's source checkout in the run's bucket (the local one, or Cloud Storage for
 * --cloud) and gives it to every experiment that wants one (not those whose spec says `source: none`). The run
 * directory itself is left out of the snapshot.
 */
export async function withSourceSnapshot(
  settings: readonly LaunchSettings[],
  source: LocalRunRecord['source'],
  runDir: string,
  storage: Storage,
  info: (line: string) => void,
  reuse?: SourceManifest,
): Promise<LaunchSettings[]> {
  const wanted = settings.filter((s) => s.source.mode === 'repository');
  if (!source || source.mode === 'none' || wanted.length === 0) return [...settings];
  if (reuse) {
    info(
      `Source: the run's own snapshot (sha256 ${reuse.sha256.slice(0, 12)}${reuse.commit ? ` of ${reuse.commit.slice(0, 12)}` : ''}), as the first time.`,
    );
    return settings.map((s) => (s.source.mode === 'repository' ? withSnapshot(s, reuse) : s));
  }
  const rel = path.relative(source.dir, runDir);
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  await mkdir(runDir, { recursive: true });
  const manifest = await stageLocalSource({
    storage,
    location: wanted[0].results,
    dir: source.dir,
    mode: source.mode,
    tmpDir: runDir,
    exclude: inside ? [rel.split(path.sep).join('/')] : [],
    clock: systemClock,
    log: info,
  });
  return settings.map((s) => (s.source.mode === 'repository' ? withSnapshot(s, manifest) : s));
}

/** `--source` and `--source-dir`, checked. */
export function localSource(args: ParsedArgs, cwd: string): { dir: string; mode: LocalSourceMode } {
  const mode = optionValue(args, 'source') ?? 'worktree';
  if (mode !== 'worktree' && mode !== 'head' && mode !== 'none') {
    throw new ConfigurationError(
      `option --source must be worktree (the checkout with its uncommitted changes), head (its last commit) or none (got ${JSON.stringify(mode)})`,
    );
  }
  const given = optionValue(args, 'source-dir');
  const dir = sourceRoot(cwd, given);
  if (mode !== 'none' && !existsSync(dir)) {
    throw new ConfigurationError(
      `option --source-dir: ${given ?? dir} does not exist; give the checkout to run`,
    );
  }
  return { dir, mode };
}

/** The checkout a local run snapshots: `--source-dir`, else the git checkout around `cwd`, else `cwd`. */
export function sourceRoot(cwd: string, given: string | undefined): string {
  if (given !== undefined) return path.resolve(cwd, given);
  return gitOutput(cwd, ['rev-parse', '--show-toplevel']) || cwd;
}

/** Plans a spec and prepares a local run: every setting checked before anything runs. */
export async function prepareLocalRun(opts: {
  readonly specPath: string;
  readonly sets: readonly string[];
  readonly repetitions: string | undefined;
  readonly inputs: Readonly<Record<string, string>>;
  readonly runId: string;
  readonly runDir: string;
  /** Without a title: the spec's, else one made of the spec's file name. */
  readonly report: Omit<LocalReportOptions, 'title'> & { readonly title?: string | undefined };
  readonly env: NodeJS.ProcessEnv;
  readonly source?: { readonly dir: string; readonly mode: LocalSourceMode };
  readonly setChecks?: SetChecks;
}): Promise<{ record: LocalRunRecord; jobs: LocalJob[]; secrets: Record<string, string>; plan: Plan }> {
  const plan = await planFile(opts.specPath, opts.sets, opts.repetitions, opts.setChecks);
  const report = withSpecReport(opts.report, plan, `gce-matrix: ${path.basename(opts.specPath)}`);
  renderOptions(report);
  checkPivot(report.pivot, plan);
  const ctx = localContext(opts.runId, path.dirname(path.resolve(opts.specPath)));
  // One job a leg: a packed leg's experiments share one agent, which admits them by their reserved resources.
  const settings = plan.legs.map((e) => localLaunchSettings(e, opts.inputs, ctx));
  checkLocalServices(settings);
  const secrets = localSecrets(settings, opts.env);
  const record = await startRunDir(opts.runDir, {
    runId: opts.runId,
    spec: path.resolve(opts.specPath),
    inputs: opts.inputs,
    report,
    experiments: plan.experiments,
    ...(opts.source ? { source: opts.source } : {}),
  });
  return { record, jobs: settings.map((s) => ({ settings: s })), secrets, plan };
}

/** Reads a run directory's record; a missing or foreign one is a clear error. */
export async function readRunRecord(runDir: string): Promise<LocalRunRecord> {
  const file = runPaths(runDir).record;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigurationError(
      `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a directory that gce-matrix run wrote`,
    );
  }
  const r = value as Partial<LocalRunRecord> | null;
  if (!r || r.schema !== 1 || typeof r.runId !== 'string' || !Array.isArray(r.experiments)) {
    throw new ConfigurationError(
      `${file} is not a gce-matrix run record (schema 1); was it written by a newer version?`,
    );
  }
  return r as LocalRunRecord;
}
