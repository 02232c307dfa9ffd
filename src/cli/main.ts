import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { experimentObjects, parseStatus } from '../layout.ts';
import { ignoredCloudSettings, localLaunchSettings } from '../local/settings.ts';
import type { ParsedArgs } from './args.ts';
import {
  helpText,
  optionFlag,
  optionInteger,
  optionList,
  optionValue,
  parseArgs,
  reportOptionsOf,
} from './args.ts';
import { runCloud, cloudStatus, cloudJanitor } from './cloud.ts';
import {
  executeLocal,
  localContext,
  localSecrets,
  parseInputOptions,
  prepareLocalRun,
  readRunRecord,
  runPaths,
  localSource,
} from './local-run.ts';
import type { CliIo } from './session.ts';
import { say, withProgress } from './session.ts';
import { setChecks } from './spec-checks.ts';
import { localStatus, statusTable } from './status.ts';
import { VERSION } from './version.ts';

/** The default directory runs go to. */
export const RESULTS_DIR = 'gce-matrix-results';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** `local-20261130-031500` */
export function defaultRunId(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `local-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
    exit: (code) => process.exit(code),
  };
}

function defaultParallel(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

async function runCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const spec = args.positionals[0];
  if (!spec || args.positionals.length > 1) {
    throw new ConfigurationError(
      'run takes one spec file: gce-matrix run SPEC [options] (gce-matrix help run)',
    );
  }
  if (optionFlag(args, 'cloud')) return runCloud(args, io);
  if (optionFlag(args, 'detach'))
    throw new ConfigurationError('option --detach needs --cloud: a local run ends with this command');
  const runId = optionValue(args, 'run-id') ?? defaultRunId(new Date());
  if (!RUN_ID.test(runId))
    throw new ConfigurationError(
      `option --run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`,
    );
  const runDir = path.resolve(io.cwd, optionValue(args, 'out') ?? path.join(RESULTS_DIR, runId));
  const parallel = optionInteger(args, 'parallel', defaultParallel(), 1, 256);
  const inputs = parseInputOptions(optionList(args, 'input'));
  const baselineGiven = optionValue(args, 'baseline');
  const baselineDir = baselineGiven === undefined ? undefined : path.resolve(io.cwd, baselineGiven);
  if (baselineDir && !existsSync(path.join(runPaths(baselineDir).results, 'manifest.json'))) {
    throw new ConfigurationError(
      `option --baseline: ${baselineGiven} is not the directory of an earlier run (no results/manifest.json in it)`,
    );
  }
  const prepared = await prepareLocalRun({
    specPath: path.resolve(io.cwd, spec),
    sets: optionList(args, 'set'),
    repetitions: optionValue(args, 'repetitions'),
    inputs,
    runId,
    runDir,
    report: { ...reportOptionsOf(args), ...(baselineDir ? { baselineDir } : {}) },
    env: io.env,
    source: localSource(args, io.cwd),
    setChecks: setChecks(args, io.stderr),
  });
  const n = prepared.plan.experiments.length;
  const legs = prepared.jobs.length;
  // A packed leg's agent admits its experiments against every CPU and all memory of this machine, as on a VM
  // of its own; two legs at once would each count the machine as theirs.
  const packed = prepared.jobs.some((j) => j.settings.members.length > 0);
  const running = packed ? 1 : parallel;
  say(
    io,
    `Planned ${n} experiment(s) from ${spec}` +
      (prepared.plan.axes.length ? ` (axes: ${prepared.plan.axes.join(', ')})` : '') +
      (packed
        ? `; packed into ${legs} leg(s), run one after another, each admitting its experiments by their reserved CPUs and memory`
        : `; running ${Math.min(parallel, n)} at a time`) +
      ` on this machine, run ${runId} in ${path.relative(io.cwd, runDir) || '.'}`,
  );
  const ignored = ignoredCloudSettings(prepared.plan.experiments, inputs);
  if (ignored.length > 0) say(io, `Ignored here (they describe a Compute Engine VM): ${ignored.join(', ')}.`);
  if (prepared.plan.experiments.some((e) => e.launch?.['source-ref']) || inputs['source-ref']) {
    say(
      io,
      'Ignored here: source-ref. A local run runs the checkout it is started in (--source head for its last commit, --source-dir for another checkout).',
    );
  }
  return withProgress(io, n, optionFlag(args, 'no-progress'), (hooks) =>
    executeLocal({
      runDir,
      record: prepared.record,
      jobs: prepared.jobs,
      secrets: prepared.secrets,
      parallel: running,
      hooks,
    }),
  );
}

/** The newest run directory under the default results directory. */
async function newestRun(cwd: string): Promise<string> {
  const root = path.resolve(cwd, RESULTS_DIR);
  let best: { dir: string; mtime: number } | undefined;
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch {
    // none yet
  }
  for (const name of names) {
    const dir = path.join(root, name);
    try {
      const s = await stat(runPaths(dir).record);
      if (!best || s.mtimeMs > best.mtime) best = { dir, mtime: s.mtimeMs };
    } catch {
      // not a run directory
    }
  }
  if (!best)
    throw new ConfigurationError(`no run found under ${RESULTS_DIR}/; run one first, or give --run DIR`);
  return best.dir;
}

async function rerunCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const id = args.positionals[0];
  if (!id || args.positionals.length > 1)
    throw new ConfigurationError('rerun takes one experiment id: gce-matrix rerun EXPERIMENT [--run DIR]');
  const given = optionValue(args, 'run');
  const runDir = given ? path.resolve(io.cwd, given) : await newestRun(io.cwd);
  const record = await readRunRecord(runDir);
  const planned = record.experiments.find((e) => e.id === id);
  if (!planned) {
    const ids = record.experiments.map((e) => e.id);
    throw new ConfigurationError(
      `run ${record.runId} has no experiment ${JSON.stringify(id)}; it has ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? `, ... (${ids.length})` : ''}`,
    );
  }
  const ctx = localContext(record.runId, path.dirname(record.spec));
  const base = localLaunchSettings(planned, record.inputs, ctx);
  // The result's provenance record says what actually ran; the plan is the fallback for one that never did.
  const statusObject = path.join(
    runPaths(runDir).bucket,
    ...experimentObjects(base.results, id).status.split('/'),
  );
  let lastAttempt = 0;
  let params = planned.params;
  try {
    const status = parseStatus(await readFile(statusObject, 'utf8'), statusObject);
    lastAttempt = status.attempt;
    const recorded = status.provenance.parameters;
    if (recorded && typeof recorded === 'object') params = recorded as typeof params;
    say(
      io,
      `Re-running ${id} (was ${status.state}${status.exitCode === null ? '' : `, exit ${status.exitCode}`} on attempt ${status.attempt}) with the parameters its provenance records.`,
    );
  } catch {
    say(io, `Re-running ${id} (it has no status yet) with the planned parameters.`);
  }
  const settings = localLaunchSettings({ ...planned, params }, record.inputs, ctx);
  const secrets = localSecrets([settings], io.env);
  const parallel = 1;
  return withProgress(io, 1, optionFlag(args, 'no-progress'), (hooks) =>
    executeLocal({
      runDir,
      record,
      jobs: [{ settings: { ...settings, maxAttempts: 1 }, firstAttempt: lastAttempt + 1 }],
      secrets,
      parallel,
      hooks,
    }),
  );
}

async function statusCommand(args: ParsedArgs, io: CliIo): Promise<number> {
  const target = args.positionals[0];
  if (!target || args.positionals.length > 1)
    throw new ConfigurationError('status takes one run: gce-matrix status RUN (a run directory or id)');
  if (optionFlag(args, 'cloud')) return cloudStatus(args, io);
  const candidates = [
    path.resolve(io.cwd, target),
    path.resolve(io.cwd, optionValue(args, 'out') ?? RESULTS_DIR, target),
  ];
  let runDir: string | undefined;
  for (const c of candidates) {
    try {
      await stat(runPaths(c).record);
      runDir = c;
      break;
    } catch {
      // next
    }
  }
  if (!runDir)
    throw new ConfigurationError(
      `no local run ${JSON.stringify(target)}: neither ${candidates.join(' nor ')} holds ${path.basename(runPaths(candidates[0]).record)} (for a run in a bucket, add --cloud --bucket NAME)`,
    );
  const rows = await localStatus(runDir);
  for (const line of statusTable(rows)) say(io, line);
  return 0;
}

/** `gce-matrix ARGS`: returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'help':
        io.stdout.write(helpText(args.positionals[0]));
        return 0;
      case 'version':
        say(io, `gce-matrix ${VERSION}`);
        return 0;
      case 'run':
        return await runCommand(args, io);
      case 'rerun':
        return await rerunCommand(args, io);
      case 'status':
        return await statusCommand(args, io);
      case 'janitor':
        return await cloudJanitor(args, io);
    }
  } catch (err) {
    if (err instanceof ConfigurationError) {
      io.stderr.write(`gce-matrix: ${err.message}\n`);
      return 2;
    }
    io.stderr.write(`gce-matrix: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return 70;
  }
}
