import type { Bucket, Storage } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ConfigurationError } from '../errors.ts';
import { GcpError, classifyError } from '../gcp/errors.ts';
import type { ExperimentStatus, Heartbeat, RunLocation } from '../layout.ts';
import { experimentObjects, parseStatus, runPrefix } from '../layout.ts';
import { RESULTS_CSV, tidyCsv } from '../report/csv.ts';
import { readExperimentFiles } from '../report/load.ts';
import type { MetricInfo } from '../report/model.ts';
import type { RemoteObject } from './download.ts';
import { Limiter } from '../concurrency.ts';
import { Downloader, listObjects } from './download.ts';
import type { ExpectedExperiment } from './inputs.ts';
import type { CollectedFile, Manifest, ManifestExperiment, Problem } from './manifest.ts';
import { buildManifest, checkDeclaredOutputs, parseHeartbeat, statusFields } from './manifest.ts';
import { PathAllocator, ROOT_FILES, experimentDir } from './paths.ts';

/** Where collect reports progress. */
export interface CollectLogger {
  info(message: string): void;
  warning(message: string): void;
}

/** What to collect and how. */
export interface CollectOptions {
  readonly storage: Storage;
  readonly location: RunLocation;
  readonly expected?: readonly ExpectedExperiment[] | undefined;
  /** Results directory: created; must not exist or be empty. */
  readonly root: string;
  readonly concurrency: number;
  readonly maxFileSize: number;
  readonly log?: CollectLogger;
  /** Tries per object (default 4) and the first back-off (default 250 ms). */
  readonly maxTries?: number;
  readonly backoffMs?: number;
  /** Declared metrics, for the unit column of results.csv. */
  readonly metricInfo?: ReadonlyMap<string, MetricInfo> | undefined;
}

/** What a collection produced. */
export interface CollectResult {
  readonly manifest: Manifest;
  readonly manifestPath: string;
  /** Absolute paths of every file written, manifest.json and results.csv included, for the artifact. */
  readonly files: string[];
  readonly stats: { requests: number; retries: number; bytes: number; durationMs: number };
}

/** status.json is a few kilobytes; one far larger is not a status, whatever it holds. */
const MAX_STATUS_BYTES = 1024 * 1024;
const MANIFEST = 'manifest.json';

const quiet: CollectLogger = { info: () => undefined, warning: () => undefined };

async function prepareRoot(root: string): Promise<void> {
  let entries: string[] | undefined;
  try {
    entries = await readdir(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new ConfigurationError(`input path ${root} is a file; give a directory that does not exist yet`);
    }
    if (code !== 'ENOENT') throw err;
  }
  // Writing into a directory we did not make could follow a link planted in it out of the workspace.
  if (entries && entries.length > 0) {
    throw new ConfigurationError(
      `input path ${root} already exists and is not empty; give a new directory for the results`,
    );
  }
  await mkdir(root, { recursive: true });
}

function relName(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

function fileEntry(obj: RemoteObject, relPath: string, verified: CollectedFile['verified']): CollectedFile {
  return {
    path: relPath,
    object: obj.name,
    size: obj.size,
    ...(obj.crc32c ? { crc32c: obj.crc32c } : {}),
    ...(obj.md5Hash ? { md5: obj.md5Hash } : {}),
    ...(obj.generation ? { generation: obj.generation } : {}),
    verified,
  };
}

const WEAKER = { md5: 2, crc32c: 1, size: 0 } as const;

/** Collects one run: see actions/collect/README.md for what lands where. */
export async function collectRun(opts: CollectOptions): Promise<CollectResult> {
  const started = Date.now();
  const log = opts.log ?? quiet;
  const root = path.resolve(opts.root);
  await prepareRoot(root);
  const tempDir = path.join(root, `.gce-matrix-partial-${randomBytes(6).toString('hex')}`);
  await mkdir(tempDir);
  const bucket = opts.storage.bucket(opts.location.bucket);
  const downloader = new Downloader(opts.storage, opts.location.bucket, {
    concurrency: opts.concurrency,
    tempDir,
    ...(opts.maxTries !== undefined ? { maxTries: opts.maxTries } : {}),
    ...(opts.backoffMs !== undefined ? { backoffMs: opts.backoffMs } : {}),
  });
  const listings = new Limiter(opts.concurrency);
  const written: string[] = [];
  const runProblems: Problem[] = [];
  try {
    const base = `${runPrefix(opts.location)}experiments/`;
    let found;
    try {
      found = await listObjects(bucket, base, '/');
    } catch (err) {
      throw explainAccess(err, opts.location.bucket);
    }
    for (const o of found.objects) {
      runProblems.push({
        kind: 'unsafe-name',
        object: o.name,
        message: `an object directly under experiments/ belongs to no experiment; not collected`,
      });
    }
    const inBucket = found.prefixes.map((p) => p.slice(base.length, -1)).filter((id) => id.length > 0);
    const present = new Set(inBucket);
    const planned = opts.expected ? new Map(opts.expected.map((e) => [e.id, e])) : undefined;
    // With a plan, only its experiments are the run: anything else under experiments/ was not launched by it
    // (or was planted there), and is named, not collected or counted.
    const unplanned = planned ? inBucket.filter((id) => !planned.has(id)) : [];
    for (const id of unplanned) {
      runProblems.push({
        kind: 'unplanned',
        object: `${base}${id}/`,
        message: `${id} is in the bucket but not in the plan given as experiments: not collected, not counted`,
      });
    }
    const ids = planned ? [...planned.keys()] : inBucket;
    if (ids.length === 0) {
      log.warning(`No experiments found under gs://${opts.location.bucket}/${base} (and no plan given).`);
    } else {
      log.info(
        `Found ${inBucket.length} experiment(s) under gs://${opts.location.bucket}/${base}` +
          (planned ? `; the plan lists ${planned.size}.` : '.'),
      );
    }
    const dirs = new PathAllocator(ROOT_FILES);
    const work = ids.map((id) => {
      const dir =
        dirs.allocate(experimentDir(id)) ?? `${experimentDir(id)}~${randomBytes(4).toString('hex')}`;
      return collectExperiment({
        id,
        dir,
        expected: planned?.get(id),
        planGiven: planned !== undefined,
        inBucket: present.has(id),
        ctx: {
          bucket,
          location: opts.location,
          root,
          downloader,
          listings,
          tempDir,
          maxFileSize: opts.maxFileSize,
        },
      });
    });
    const experiments: ManifestExperiment[] = [];
    for (const r of await Promise.all(work)) {
      experiments.push(r.experiment);
      written.push(...r.written);
    }
    const manifest = buildManifest({
      location: opts.location,
      experiments,
      problems: runProblems,
      collectedAt: new Date(),
    });
    const manifestPath = path.join(root, MANIFEST);
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const csvPath = await writeResultsCsv(root, manifest, opts.metricInfo);
    return {
      manifest,
      manifestPath,
      files: [...written, manifestPath, csvPath],
      stats: { ...downloader.stats, durationMs: Date.now() - started },
    };
  } finally {
    downloader.close();
    await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * Writes results.csv (one row per experiment and metric) beside manifest.json in `root`, from the manifest and
 * the metrics files collected there, and returns its path. Whoever rewrites the manifest writes it again.
 */
export async function writeResultsCsv(
  root: string,
  manifest: Manifest,
  metricInfo?: ReadonlyMap<string, MetricInfo>,
): Promise<string> {
  const file = path.join(root, RESULTS_CSV);
  await writeFile(file, tidyCsv(manifest.experiments, await readExperimentFiles(root, manifest), metricInfo));
  return file;
}

function explainAccess(err: unknown, bucket: string): Error {
  const f = err instanceof GcpError ? err.failure : classifyError(err);
  if (f.kind === 'not-found') {
    return new ConfigurationError(
      `input bucket: gs://${bucket} does not exist; check the name launch wrote to`,
    );
  }
  if (f.kind === 'permission' || f.kind === 'unauthenticated') {
    return new ConfigurationError(
      `input bucket: this identity cannot list gs://${bucket} (${f.message}); grant it roles/storage.objectViewer on the bucket`,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

interface Context {
  readonly bucket: Bucket;
  readonly location: RunLocation;
  readonly root: string;
  readonly downloader: Downloader;
  readonly listings: Limiter;
  readonly tempDir: string;
  readonly maxFileSize: number;
}

interface ExperimentJob {
  readonly id: string;
  readonly dir: string;
  readonly expected: ExpectedExperiment | undefined;
  readonly planGiven: boolean;
  readonly inBucket: boolean;
  readonly ctx: Context;
}

async function collectExperiment(
  job: ExperimentJob,
): Promise<{ experiment: ManifestExperiment; written: string[] }> {
  const { id, dir, ctx } = job;
  const names = experimentObjects(ctx.location, id);
  const attemptsPrefix = names.attempts;
  const [top, outputs, attempts] = job.inBucket
    ? await Promise.all([
        ctx.listings.run(() => listObjects(ctx.bucket, names.base, '/')),
        ctx.listings.run(() => listObjects(ctx.bucket, names.outputs)),
        ctx.listings.run(() => listObjects(ctx.bucket, attemptsPrefix)),
      ])
    : [undefined, undefined, undefined];
  const files: CollectedFile[] = [];
  const problems: Problem[] = [];
  const written: string[] = [];
  const local = (rel: string): string => path.join(ctx.root, ...dir.split('/'), ...rel.split('/'));

  const fetchInto = async (obj: RemoteObject, rel: string, renamedFrom?: string): Promise<boolean> => {
    const r = await ctx.downloader.fetch(obj, local(rel));
    if (!r.ok) {
      problems.push({ kind: r.kind, object: obj.name, message: `${r.message} (after ${r.tries} tries)` });
      return false;
    }
    const entry = fileEntry(obj, `${dir}/${rel}`, r.verified);
    files.push(renamedFrom === undefined ? entry : { ...entry, renamedFrom });
    written.push(local(rel));
    return true;
  };

  const tooBig = (obj: RemoteObject, what: string): boolean => {
    if (obj.size <= ctx.maxFileSize) return false;
    problems.push({
      kind: 'oversize',
      object: obj.name,
      message: `${what} is ${obj.size} bytes, over max-file-size (${ctx.maxFileSize}); not collected`,
    });
    return true;
  };

  // status.json, or the heartbeat of an experiment without one
  const statusObj = top?.objects.find((o) => o.name === names.status);
  // the heartbeat of the highest attempt that wrote one
  const heartbeatObj = (attempts?.objects ?? [])
    .map((o) => ({
      o,
      n: Number(/^(\d+)\/heartbeat\.json$/.exec(relName(o.name, attemptsPrefix))?.[1] ?? NaN),
    }))
    .filter((x) => Number.isSafeInteger(x.n))
    .sort((a, b) => b.n - a.n)[0]?.o;
  let status: ExperimentStatus | undefined;
  let corrupt = false;
  let heartbeat: Heartbeat | undefined;
  const readStatus = async (): Promise<void> => {
    if (!statusObj) {
      if (
        heartbeatObj &&
        heartbeatObj.size <= MAX_STATUS_BYTES &&
        (await fetchInto(heartbeatObj, 'heartbeat.json'))
      ) {
        heartbeat = parseHeartbeat(await readFile(local('heartbeat.json'), 'utf8'));
      }
      return;
    }
    corrupt = true;
    if (statusObj.size > MAX_STATUS_BYTES) {
      problems.push({
        kind: 'status',
        object: statusObj.name,
        message: `status.json is ${statusObj.size} bytes, far more than a status holds; not read`,
      });
      return;
    }
    if (!(await fetchInto(statusObj, 'status.json'))) return;
    try {
      status = parseStatus(
        await readFile(local('status.json'), 'utf8'),
        `gs://${ctx.bucket.name}/${statusObj.name}`,
      );
      corrupt = false;
    } catch (err) {
      problems.push({ kind: 'status', object: statusObj.name, message: (err as Error).message });
      return;
    }
    if (status.experiment !== id) {
      problems.push({
        kind: 'status',
        object: statusObj.name,
        message: `status.json names experiment ${JSON.stringify(status.experiment)}, but it was found under ${id}`,
      });
    }
    if (status.runId !== ctx.location.runId) {
      problems.push({
        kind: 'status',
        object: statusObj.name,
        message: `status.json names run ${JSON.stringify(status.runId)}, but it was found under run ${ctx.location.runId}`,
      });
    }
  };

  // outputs/
  const outputObjects = outputs?.objects ?? [];
  const decisions = new PathAllocator().allocateAll(outputObjects.map((o) => relName(o.name, names.outputs)));
  const outputWork: Promise<unknown>[] = [];
  decisions.forEach((d, i) => {
    const obj = outputObjects[i];
    const rel = relName(obj.name, names.outputs);
    if (d.kind === 'directory') return;
    if (d.kind === 'refused') {
      problems.push({
        kind: 'unsafe-name',
        object: obj.name,
        message: `outputs/${rel}: ${d.reason}; not collected`,
      });
      return;
    }
    if (tooBig(obj, `outputs/${rel}`)) return;
    if (d.kind === 'renamed') {
      problems.push({
        kind: 'renamed',
        object: obj.name,
        message: `outputs/${rel} is stored as outputs/${d.path}: ${d.reason}`,
      });
      outputWork.push(fetchInto(obj, `outputs/${d.path}`, rel));
    } else {
      outputWork.push(fetchInto(obj, `outputs/${d.path}`));
    }
  });

  await Promise.all([readStatus(), ...outputWork]);

  // Every attempt's log, joined: the last one's as log.txt, earlier ones (preempted, lost, or an earlier run of the
  // job) as attempt-N/log.txt, so no byte any attempt produced is dropped.
  const chunksByAttempt = new Map<number, RemoteObject[]>();
  for (const o of attempts?.objects ?? []) {
    const m = /^(\d+)\/log\/([^/]+)$/.exec(relName(o.name, attemptsPrefix));
    if (!m) continue;
    const n = Number(m[1]);
    chunksByAttempt.set(n, [...(chunksByAttempt.get(n) ?? []), o]);
  }
  const lastListed = chunksByAttempt.size > 0 ? Math.max(...chunksByAttempt.keys()) : undefined;
  const attempt = status?.attempt ?? heartbeat?.attempt ?? lastListed;
  for (const [n, listed] of [...chunksByAttempt].sort((a, b) => a[0] - b[0])) {
    const chunks = listed.sort((a, b) => (a.name < b.name ? -1 : 1));
    const rel = n === attempt ? 'log.txt' : `attempt-${n}/log.txt`;
    const logFile = await joinLog(chunks, n, rel, { ...job, local, problems });
    if (logFile) {
      files.push(logFile);
      written.push(local(rel));
    }
    const ended = (attempts?.objects ?? []).some((o) => o.name === names.attempt(n).status);
    if (!ended && attempt !== undefined && n < attempt) {
      problems.push({
        kind: 'log-incomplete',
        object: names.attempt(n).prefix,
        message: `attempt ${n} ended without a status (preempted with its shutdown cut short, or its VM lost): ${rel} holds what its VM shipped and may lack its last lines`,
      });
    }
  }

  if (status && Array.isArray(status.outputs)) {
    const present = new Map(outputObjects.map((o) => [relName(o.name, names.outputs), o.size]));
    problems.push(...checkDeclaredOutputs(status.outputs, present, names.outputs));
  }
  const anyObjects = (top?.objects.length ?? 0) + (top?.prefixes.length ?? 0) > 0;
  const params =
    job.expected?.params ??
    (status?.provenance?.parameters && typeof status.provenance.parameters === 'object'
      ? status.provenance.parameters
      : undefined);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    experiment: {
      id,
      dir,
      ...statusFields(status, { corrupt, anyObjects, heartbeat, lastAttempt: lastListed }),
      ...(params ? { params } : {}),
      planned: job.planGiven ? job.expected !== undefined : null,
      files,
      problems,
    },
    written,
  };
}

/**
 * Downloads one attempt's log chunks (verified, in parallel) and joins them, in name order, into `rel`. A
 * log longer than max-file-size keeps its newest chunks: the end of a log is where a failure shows.
 */
async function joinLog(
  chunks: RemoteObject[],
  attempt: number,
  rel: string,
  job: ExperimentJob & { local: (rel: string) => string; problems: Problem[] },
): Promise<CollectedFile | undefined> {
  const { ctx, problems } = job;
  let keepFrom = chunks.length;
  let total = 0;
  while (keepFrom > 0 && total + chunks[keepFrom - 1].size <= ctx.maxFileSize) {
    keepFrom -= 1;
    total += chunks[keepFrom].size;
  }
  const prefix = `${experimentObjects(ctx.location, job.id).logs(attempt)}`;
  if (keepFrom > 0) {
    const dropped = chunks.slice(0, keepFrom).reduce((n, c) => n + c.size, 0);
    problems.push({
      kind: 'log-truncated',
      object: prefix,
      message: `the log of attempt ${attempt} is over max-file-size (${ctx.maxFileSize} bytes): its first ${keepFrom} chunk(s), ${dropped} bytes, were left out`,
    });
  }
  const kept = chunks.slice(keepFrom);
  if (kept.length === 0) return undefined;
  const parts = kept.map(() => path.join(ctx.tempDir, randomBytes(12).toString('hex')));
  const results = await Promise.all(kept.map((c, i) => ctx.downloader.fetch(c, parts[i])));
  let weakest: CollectedFile['verified'] = 'md5';
  let failed = false;
  results.forEach((r, i) => {
    if (!r.ok) {
      failed = true;
      problems.push({
        kind: r.kind,
        object: kept[i].name,
        message: `${r.message} (after ${r.tries} tries); ${rel} left out`,
      });
    } else if (WEAKER[r.verified] < WEAKER[weakest]) {
      weakest = r.verified;
    }
  });
  if (failed) {
    await Promise.all(parts.map((p) => rm(p, { force: true })));
    return undefined;
  }
  const dest = job.local(rel);
  await mkdir(path.dirname(dest), { recursive: true });
  const out = createWriteStream(dest, { flags: 'wx' });
  try {
    for (const p of parts) {
      await pipeline(createReadStream(p), out, { end: false });
      await rm(p, { force: true });
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
  return {
    path: `${job.dir}/${rel}`,
    object: prefix,
    size: (await stat(dest)).size,
    verified: weakest,
    parts: kept.length,
  };
}
