/**
 * The watcher: finds runs with detached experiments (the index in the bucket), decides which are over, and
 * collects and reports each of those exactly as the inline path does, once, whatever else runs at the same
 * time (the run is claimed through report.lock, and reported.json closes it). One run that cannot be read or
 * reported never stops the others.
 */
import type { Storage } from '@google-cloud/storage';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { CollectLogger } from '../collect/collect.ts';
import { collectRun, writeResultsCsv } from '../collect/collect.ts';
import type { CollectedFile, LostExperiment } from '../collect/manifest.ts';
import { markLost } from '../collect/manifest.ts';
import { experimentDir } from '../collect/paths.ts';
import type { ComputeApi } from '../gcp/compute.ts';
import { ExperimentResults } from '../gcp/results.ts';
import { RunStore } from '../gcp/run-store.ts';
import type { RunLocation } from '../layout.ts';
import type { DetachedRecord, RunRecord } from '../record.ts';
import { RECORD_SCHEMA } from '../record.ts';
import type { ReportSettings } from '../report/inputs.ts';
import { markerKey } from '../report/inputs.ts';
import type { ReportIO } from '../report/publish.ts';
import { publishReport } from '../report/publish.ts';
import type { ArtifactUploader } from '../report/report-artifact.ts';
import { DEFAULT_HISTORY } from '../report/history.ts';
import { DEFAULT_METHOD } from '../report/significance.ts';
import type { ExperimentObservation, ExperimentVerdict } from './decide.ts';
import { decideExperiment, decideRun, lockIsStale, triageRun } from './decide.ts';

/** Where the watcher reports progress; `untrusted` lines (a VM's serial console) must never act as commands. */
export interface WatchLogger {
  info(message: string): void;
  warning(message: string): void;
  untrusted(lines: readonly string[]): void;
}

/** Defaults of the watcher's timings. */
export const DEFAULT_LOST_GRACE_MINUTES = 10;
export const DEFAULT_LOCK_STALE_MINUTES = 60;
export const DEFAULT_INLINE_WAIT_HOURS = 24;
const SERIAL_TAIL_LINES = 40;

/** What to watch and how; every client is injected. */
export interface WatchOptions {
  readonly storage: Storage;
  readonly compute: ComputeApi;
  readonly bucket: string;
  readonly prefix: string;
  /** Only runs of this `owner/repo` are reported (its token can comment there); undefined: every run. */
  readonly repository: string | undefined;
  /** A directory the runs are collected into, one subdirectory per run. */
  readonly workDir: string;
  readonly github: { readonly token: string; readonly apiUrl: string };
  /** Links in the report: the watcher's own run summary and its artifacts. */
  readonly runUrl: string;
  readonly artifactUrl: string;
  /** Who claims runs, as written in report.lock (e.g. the workflow run). */
  readonly owner: string;
  readonly clock: Clock;
  readonly log: WatchLogger;
  /** Uploads a collected run, and its HTML report, as artifacts of the watcher's run; undefined: not uploaded. */
  readonly upload?: ArtifactUploader | undefined;
  /** Appends markdown to the job summary (each reported run's report). */
  readonly summary?: ((markdown: string) => Promise<void>) | undefined;
  /** How long past its deadline a VM without a status may still be shutting down. */
  readonly lostGraceMs?: number;
  /** Age after which a report lock whose holder never finished is broken. */
  readonly lockStaleMs?: number;
  /** How long a run without its inline report waits for it. */
  readonly inlineWaitMs?: number;
  readonly concurrency?: number;
  readonly maxFileSize?: number;
}

/** What the watcher did with one run. */
export interface WatchRunResult {
  readonly runId: string;
  /**
   * `reported`: collected and reported now; `waiting`: experiments still run; `busy`: someone else reports it;
   * `done`: reported before (index cleared); `skipped`: unreadable or not this watcher's; `failed`: an error.
   */
  readonly outcome: 'reported' | 'waiting' | 'busy' | 'done' | 'skipped' | 'failed';
  readonly message: string;
  readonly commentUrl?: string | undefined;
  readonly lost?: number;
}

/** The report settings of a run, from what its inline report left in run.json (or the defaults). */
export function watchReportSettings(
  run: RunRecord,
  opts: {
    path: string;
    bucket: string;
    prefix: string;
    githubToken: string;
    apiUrl: string;
    runUrl: string;
    artifactUrl: string;
  },
): ReportSettings {
  const r = run.report;
  const title = r?.title ?? 'gce-matrix report';
  const branch = run.ref.startsWith('refs/heads/') ? run.ref.slice('refs/heads/'.length) : '';
  return {
    path: opts.path,
    bucket: opts.bucket,
    prefix: opts.prefix,
    runId: run.runId,
    project: undefined,
    workloadIdentityProvider: undefined,
    serviceAccount: undefined,
    baseline: r?.baseline ?? 'compare',
    baselineRef: r?.baselineRef ?? (branch || 'main'),
    sha: run.sha,
    pivot: r?.pivot ?? undefined,
    centre: r?.centre ?? 'median',
    directions: new Map(Object.entries(r?.directions ?? {})),
    metricInfo: new Map(Object.entries(r?.metrics ?? {})),
    thresholdPercent: r?.thresholdPercent ?? 5,
    test: r?.test ?? DEFAULT_METHOD.test,
    adjust: r?.adjust ?? DEFAULT_METHOD.adjust,
    alpha: r?.alpha ?? DEFAULT_METHOD.alpha,
    replicate: r?.replicate ?? DEFAULT_METHOD.replicate,
    history: r?.history ?? DEFAULT_HISTORY,
    prNumber: run.prNumber ?? undefined,
    githubToken: opts.githubToken,
    comment: r?.comment ?? true,
    title,
    markerKey: r?.markerKey ?? markerKey(`${run.workflow || 'workflow'}/${title}`),
    repository: run.repository,
    apiUrl: opts.apiUrl,
    runUrl: opts.runUrl,
    artifactUrl: opts.artifactUrl,
  };
}

/** Looks at a detached experiment: its VM first, then its status (see decideExperiment for why that order). */
async function observe(
  opts: WatchOptions,
  location: RunLocation,
  record: DetachedRecord,
): Promise<ExperimentObservation> {
  let instance = 'UNKNOWN';
  if (record.project === opts.compute.project) {
    const vm = await opts.compute.getInstance(record.zone, record.instance);
    instance = vm ? (vm.status ?? 'UNKNOWN') : 'GONE';
  }
  const results = new ExperimentResults(opts.storage, location, record.experiment, {
    compute: 0,
    storage: 0,
  });
  let status: ExperimentObservation['status'];
  try {
    const s = await results.readStatus();
    if (s) status = { state: s.state, attempt: s.attempt };
  } catch (err) {
    // A status.json that cannot be parsed was still written by the agent: the experiment has ended (corrupt).
    if (err instanceof Error && !('failure' in err)) status = { state: 'error', attempt: record.attempt };
    else throw err;
  }
  return { record, instance, status };
}

/** The last lines of a VM's serial console, or a sentence saying why there are none. */
async function serialTail(
  opts: WatchOptions,
  record: DetachedRecord,
  instance: string,
): Promise<string | undefined> {
  if (instance === 'GONE' || record.project !== opts.compute.project) return undefined;
  try {
    const out = await opts.compute.serialOutput(record.zone, record.instance);
    if (!out?.contents) return undefined;
    return `${out.contents.replace(/\n$/, '').split('\n').slice(-SERIAL_TAIL_LINES).join('\n')}\n`;
  } catch (err) {
    opts.log.warning(`Could not read the serial console of ${record.instance}: ${(err as Error).message}`);
    return undefined;
  }
}

async function watchRun(opts: WatchOptions, store: RunStore, runId: string): Promise<WatchRunResult> {
  const location: RunLocation = { bucket: opts.bucket, prefix: opts.prefix, runId };
  const read = await store.readRun(runId);
  const triage = triageRun({
    runId,
    run: read?.record,
    reported: await store.isReported(runId),
    repository: opts.repository,
  });
  if (triage.action === 'done') {
    await store.clearPending(runId);
    return { runId, outcome: 'done', message: triage.reason };
  }
  if (triage.action === 'skip') return { runId, outcome: 'skipped', message: triage.reason };
  const run = triage.run;

  const detached = await store.listDetached(runId);
  const now = opts.clock.now();
  const verdicts = new Map<string, ExperimentVerdict>();
  const observed = new Map<string, ExperimentObservation>();
  for (const d of detached) {
    if (!d.record.ok) continue;
    const o = await observe(opts, location, d.record.value);
    observed.set(d.record.value.experiment, o);
    verdicts.set(
      d.record.value.experiment,
      decideExperiment(o, now, opts.lostGraceMs ?? DEFAULT_LOST_GRACE_MINUTES * 60_000),
    );
  }
  const verdict = decideRun({
    run,
    detached,
    verdicts,
    now,
    inlineWaitMs: opts.inlineWaitMs ?? DEFAULT_INLINE_WAIT_HOURS * 3_600_000,
  });
  if (verdict.action === 'skip') return { runId, outcome: 'skipped', message: verdict.reason };
  if (verdict.action === 'wait') return { runId, outcome: 'waiting', message: verdict.reason };

  const lockRecord = {
    schema: RECORD_SCHEMA,
    owner: opts.owner,
    at: new Date(now).toISOString(),
    purpose: 'final',
  } as const;
  let lock = await store.claim(runId, lockRecord);
  if (!lock) {
    const held = await store.readLock(runId);
    if (held && lockIsStale(held.record, now, opts.lockStaleMs ?? DEFAULT_LOCK_STALE_MINUTES * 60_000)) {
      opts.log.warning(
        `run ${runId}: breaking a report lock whose holder never finished (${held.record.ok ? `${held.record.value.owner}, ${held.record.value.at}` : held.record.reason}).`,
      );
      await store.release(runId, held.generation);
      lock = await store.claim(runId, lockRecord);
    }
  }
  if (!lock) return { runId, outcome: 'busy', message: `run ${runId} is being reported by another step` };
  try {
    if (await store.isReported(runId)) {
      await store.clearPending(runId);
      return { runId, outcome: 'done', message: `run ${runId} was reported already` };
    }
    const published = await reportRun(opts, run, location, observed, verdict.lost);
    await store.markReported(runId, {
      schema: RECORD_SCHEMA,
      at: new Date(opts.clock.now()).toISOString(),
      by: opts.owner,
      commentUrl: published.commentUrl ?? null,
      experiments: published.experiments,
      lost: verdict.lost.size,
    });
    await store.clearPending(runId);
    return {
      runId,
      outcome: 'reported',
      message:
        `run ${runId}: ${published.experiments} experiment(s) collected and reported` +
        (verdict.lost.size > 0 ? `, ${verdict.lost.size} lost` : '') +
        (published.commentUrl ? ` (${published.commentUrl})` : ''),
      commentUrl: published.commentUrl,
      lost: verdict.lost.size,
    };
  } catch (err) {
    // Leave the run to the next watcher rather than holding it until the lock goes stale.
    await store.release(runId, lock.generation).catch(() => false);
    throw err;
  }
}

async function reportRun(
  opts: WatchOptions,
  run: RunRecord,
  location: RunLocation,
  observed: ReadonlyMap<string, ExperimentObservation>,
  lostReasons: ReadonlyMap<string, string>,
): Promise<{ experiments: number; commentUrl: string | undefined }> {
  const serials = new Map<string, string>();
  for (const [id] of lostReasons) {
    const o = observed.get(id);
    if (!o) continue;
    const tail = await serialTail(opts, o.record, o.instance);
    if (tail) {
      serials.set(id, tail);
      opts.log.info(`Last lines of ${o.record.instance}'s serial console (${id}, lost):`);
      opts.log.untrusted(tail.replace(/\n$/, '').split('\n'));
    }
  }
  // Whatever ended, its VM has no more work: delete what is left (a lost VM stopped, a self-delete that failed).
  for (const o of observed.values()) {
    if (o.instance === 'GONE' || o.instance === 'UNKNOWN') continue;
    opts.log.info(`Deleting ${o.record.instance} in ${o.record.zone} (${o.record.experiment} has ended).`);
    try {
      await opts.compute.deleteInstance(o.record.zone, o.record.instance);
    } catch (err) {
      opts.log.warning(`Could not delete ${o.record.instance}: ${(err as Error).message}`);
    }
  }

  const root = path.join(opts.workDir, run.runId);
  const expected = [...new Set([...(run.experiments ?? []), ...observed.keys()])].map((id) => ({ id }));
  const collectLog: CollectLogger = { info: (m) => opts.log.info(m), warning: (m) => opts.log.warning(m) };
  const collected = await collectRun({
    storage: opts.storage,
    location,
    expected: run.experiments ? expected : undefined,
    root,
    concurrency: opts.concurrency ?? 16,
    maxFileSize: opts.maxFileSize ?? 2 * 1024 ** 3,
    log: collectLog,
    metricInfo: new Map(Object.entries(run.report?.metrics ?? {})),
  });
  const lost = new Map<string, LostExperiment>();
  const files = [...collected.files];
  for (const [id, reason] of lostReasons) {
    const dir = collected.manifest.experiments.find((x) => x.id === id)?.dir ?? experimentDir(id);
    const tail = serials.get(id);
    const extra: CollectedFile[] = [];
    if (tail) {
      const local = path.join(root, ...dir.split('/'), 'serial.txt');
      await mkdir(path.dirname(local), { recursive: true });
      await writeFile(local, tail);
      files.push(local);
      const o = observed.get(id);
      extra.push({
        path: `${dir}/serial.txt`,
        object: `serial port 1 of ${o?.record.instance ?? ''}`,
        size: Buffer.byteLength(tail),
        verified: 'size',
      });
    }
    lost.set(id, {
      reason: `${reason}${tail ? '' : ' (its serial console could not be read: the VM no longer exists)'}`,
      files: extra,
      dir,
    });
  }
  const manifest = markLost(collected.manifest, lost);
  await writeFile(collected.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  await writeResultsCsv(root, manifest, new Map(Object.entries(run.report?.metrics ?? {})));
  if (opts.upload) await opts.upload(`gce-matrix-${run.runId}`, root, files);

  const io: ReportIO = {
    info: (m) => opts.log.info(m),
    warning: (m) => opts.log.warning(m),
    summary: async (markdown) => {
      await opts.summary?.(markdown);
    },
    output: () => undefined,
  };
  const published = await publishReport({
    settings: watchReportSettings(run, {
      path: root,
      bucket: opts.bucket,
      prefix: opts.prefix,
      githubToken: opts.github.token,
      apiUrl: opts.github.apiUrl,
      runUrl: opts.runUrl,
      artifactUrl: opts.artifactUrl,
    }),
    clients: { storage: opts.storage },
    explicitRef: run.report !== undefined,
    comment: true,
    commitComment: true,
    upload: opts.upload,
    io,
  });
  return { experiments: published.data.totals.experiments, commentUrl: published.comment?.url };
}

/**
 * One pass of the watcher over every run in the index. Never throws for one run: its error becomes a
 * `failed` result and the pass goes on.
 */
export async function runWatcher(opts: WatchOptions): Promise<WatchRunResult[]> {
  const store = new RunStore(opts.storage, opts.bucket, opts.prefix);
  const { runIds, foreign } = await store.pendingRuns();
  for (const name of foreign)
    opts.log.warning(`gs://${opts.bucket}/${name} is not a run of the watcher's index; ignored.`);
  opts.log.info(`${runIds.length} run(s) with detached experiments in gs://${opts.bucket}/${opts.prefix}.`);
  const results: WatchRunResult[] = [];
  for (const runId of runIds) {
    let result: WatchRunResult;
    try {
      result = await watchRun(opts, store, runId);
    } catch (err) {
      result = { runId, outcome: 'failed', message: `run ${runId}: ${(err as Error).message}` };
    }
    if (result.outcome === 'skipped' || result.outcome === 'failed') opts.log.warning(result.message);
    else opts.log.info(result.message);
    results.push(result);
  }
  return results;
}
