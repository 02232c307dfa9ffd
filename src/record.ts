/**
 * The run record: what a detached run leaves in Cloud Storage so that a later workflow run (the watcher) can
 * finish it, and the objects that make reporting it happen once. Pure builders and parsers; the I/O is in
 * src/gcp/run-store.ts.
 *
 * gs://BUCKET/PREFIX/runs/RUN_ID/
 *   run.json                 where the run came from (repository, commit, PR) and how to report it
 *   detached/EXPERIMENT.json one per experiment left running on its VM: instance, zone, attempt, deadline
 *   report.lock              created with ifGenerationMatch=0 by whoever reports (or comments on) the run
 *   reported.json            written once the final report is out: later watchers skip the run
 * gs://BUCKET/PREFIX/detached-runs/RUN_ID.json
 *                            the watcher's index of runs with detached experiments, removed once reported
 */
import type { RunLocation } from './layout.ts';
import { runPrefix } from './layout.ts';
import { EXPERIMENT_ID } from './naming.ts';
import { prNumberOf } from './report/inputs.ts';
import { MAX_HISTORY } from './report/history.ts';
import { parseMetricInfos } from './report/metric-info.ts';
import type { MetricInfo } from './report/model.ts';
import type { PAdjustment, SignificanceTest } from './report/significance.ts';
import { P_ADJUSTMENTS, REPLICATE_NAME, SIGNIFICANCE_TESTS } from './report/significance.ts';

/** The record schema this gce-matrix writes and reads. */
export const RECORD_SCHEMA = 1;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const INSTANCE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Object names of one run's records. */
export function runRecordObjects(loc: RunLocation) {
  const base = runPrefix(loc);
  return {
    run: `${base}run.json`,
    detachedPrefix: `${base}detached/`,
    detached: (experimentId: string) => `${base}detached/${experimentId}.json`,
    lock: `${base}report.lock`,
    reported: `${base}reported.json`,
  };
}

/** The prefix of the watcher's index of runs that have detached experiments. */
export function pendingRunsPrefix(prefix: string): string {
  const head = prefix.replace(/^\/+|\/+$/g, '');
  return `${head ? `${head}/` : ''}detached-runs/`;
}

/** The index entry of one run. */
export function pendingRunObject(prefix: string, runId: string): string {
  return `${pendingRunsPrefix(prefix)}${runId}.json`;
}

/** The run id an index entry names, or undefined for an object that is not one. */
export function runIdOfPendingObject(prefix: string, name: string): string | undefined {
  const base = pendingRunsPrefix(prefix);
  if (!name.startsWith(base) || !name.endsWith('.json')) return undefined;
  const id = name.slice(base.length, -'.json'.length);
  return RUN_ID.test(id) ? id : undefined;
}

/** How the report of a run is to be made, as the inline report step was configured. */
export interface RunReportSettings {
  readonly title: string;
  /** The hidden comment marker's key, so a later report updates the same comment. */
  readonly markerKey: string;
  readonly pivot: readonly string[] | null;
  /** Absent in records written before it existed: the median. */
  readonly centre?: 'median' | 'mean';
  /** Metric name -> which way is better. */
  readonly directions: Readonly<Record<string, 'higher' | 'lower'>>;
  /** Metric name -> its unit, direction and description; absent in older records and when none was declared. */
  readonly metrics?: Readonly<Record<string, MetricInfo>>;
  readonly thresholdPercent: number;
  /** The statistical method; each is absent in records written before it existed: the default (`DEFAULT_METHOD`). */
  readonly test?: SignificanceTest;
  readonly adjust?: PAdjustment;
  readonly alpha?: number;
  readonly replicate?: string;
  /** Recorded runs kept in the branch's history.json (0: none); absent in older records: the default. */
  readonly history?: number;
  readonly baseline: 'record' | 'compare' | 'none';
  readonly baselineRef: string;
  readonly comment: boolean;
}

/** run.json: where a run came from and how to report it. */
export interface RunRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly runId: string;
  /** `owner/repo` */
  readonly repository: string;
  readonly sha: string;
  /** `refs/heads/main`, `refs/pull/7/merge`, ... (may be empty) */
  readonly ref: string;
  /** The event of the workflow run (`pull_request`, `schedule`, ...). */
  readonly event: string;
  readonly prNumber: number | null;
  /** The workflow's name: with the report title it keys the comment. */
  readonly workflow: string;
  /** The GitHub workflow run that launched the experiments. */
  readonly githubRunId: string;
  readonly createdAt: string;
  /** The planned experiment ids, when known. */
  readonly experiments?: readonly string[];
  /** Set by the inline report step; absent: the defaults of actions/report. */
  readonly report?: RunReportSettings;
}

/** Why an experiment was left running. */
export type DetachReason = 'detach' | 'handover';

/** detached/EXPERIMENT.json: an experiment left running on its VM. */
export interface DetachedRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly runId: string;
  readonly experiment: string;
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
  readonly attempt: number;
  readonly reason: DetachReason;
  readonly machineType: string;
  /** When the VM was created (launch's clock). */
  readonly createdAt: string;
  /** Creation plus the VM's maxRunDuration: Compute Engine ends it by then. */
  readonly deadline: string;
  readonly detachedAt: string;
}

/** report.lock: who holds the run's report, and what for. */
export interface LockRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly owner: string;
  readonly at: string;
  /** `final`: the report of a finished run; `partial`: a comment while experiments still run. */
  readonly purpose: 'final' | 'partial';
}

/** reported.json: the final report is out. */
export interface ReportedRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly at: string;
  readonly by: string;
  readonly commentUrl: string | null;
  readonly experiments: number;
  readonly lost: number;
}

/** detached-runs/RUN.json: the watcher's index entry. */
export interface PendingRunRecord {
  readonly schema: typeof RECORD_SCHEMA;
  readonly runId: string;
  readonly at: string;
}

/** A parsed record, or why it cannot be used; never throws. */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

type Obj = Record<string, unknown>;

function bad<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

/** JSON text -> object with a schema gce-matrix can read; the reason names the object. */
function envelope(text: string, name: string): Parsed<Obj> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`${name} is corrupt (not JSON: ${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return bad(`${name} is corrupt (not a JSON object)`);
  }
  const o = value as Obj;
  if (typeof o.schema !== 'number' || !Number.isInteger(o.schema) || o.schema < 1) {
    return bad(`${name} is corrupt (no schema number)`);
  }
  if (o.schema > RECORD_SCHEMA) {
    return bad(
      `${name} was written by a newer gce-matrix (schema ${o.schema}; this one reads schema ${RECORD_SCHEMA}): upgrade the watcher`,
    );
  }
  return { ok: true, value: o };
}

function str(o: Obj, key: string, name: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || (pattern && !pattern.test(v))) {
    throw new Error(`${name} is corrupt (${key} is ${v === undefined ? 'missing' : 'not valid'})`);
  }
  return v;
}

function time(o: Obj, key: string, name: string): string {
  const v = str(o, key, name);
  if (!Number.isFinite(Date.parse(v))) throw new Error(`${name} is corrupt (${key} is not a time)`);
  return v;
}

function guard<T>(name: string, fn: () => T): Parsed<T> {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return bad((err as Error).message || `${name} is corrupt`);
  }
}

function metricsOf(v: unknown, name: string): { metrics?: Record<string, MetricInfo> } {
  if (v === undefined) return {};
  try {
    return { metrics: Object.fromEntries(parseMetricInfos(v, 'report.metrics')) };
  } catch {
    throw new Error(`${name} is corrupt (report.metrics)`);
  }
}

function parseReportSettings(v: unknown, name: string): RunReportSettings {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${name} is corrupt (report)`);
  const o = v as Obj;
  const directions: Record<string, 'higher' | 'lower'> = {};
  const rawDirections = o.directions && typeof o.directions === 'object' ? (o.directions as Obj) : {};
  for (const [k, d] of Object.entries(rawDirections)) {
    if (d === 'higher' || d === 'lower') directions[k] = d;
  }
  const baseline = o.baseline;
  if (baseline !== 'record' && baseline !== 'compare' && baseline !== 'none') {
    throw new Error(`${name} is corrupt (report.baseline)`);
  }
  const pivot = Array.isArray(o.pivot) && o.pivot.every((p) => typeof p === 'string') ? o.pivot : null;
  const threshold =
    typeof o.thresholdPercent === 'number' && o.thresholdPercent >= 0 ? o.thresholdPercent : 5;
  // Absent: written before the setting existed, so the default applies. Present: as the inputs allowed it.
  const optional = <T>(key: string, valid: (x: unknown) => x is T): { [key: string]: T } => {
    if (o[key] === undefined) return {};
    if (!valid(o[key])) throw new Error(`${name} is corrupt (report.${key})`);
    return { [key]: o[key] };
  };
  return {
    title: str(o, 'title', name),
    markerKey: str(o, 'markerKey', name),
    pivot,
    ...optional('centre', (x): x is 'median' | 'mean' => x === 'median' || x === 'mean'),
    directions,
    ...metricsOf(o.metrics, name),
    thresholdPercent: threshold,
    ...optional('test', (x): x is SignificanceTest => SIGNIFICANCE_TESTS.includes(x as SignificanceTest)),
    ...optional('adjust', (x): x is PAdjustment => P_ADJUSTMENTS.includes(x as PAdjustment)),
    ...optional('alpha', (x): x is number => typeof x === 'number' && x > 0 && x < 0.5),
    ...optional('replicate', (x): x is string => typeof x === 'string' && REPLICATE_NAME.test(x)),
    ...optional(
      'history',
      (x): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= MAX_HISTORY,
    ),
    baseline,
    baselineRef: str(o, 'baselineRef', name),
    comment: o.comment !== false,
  };
}

/** Parses run.json. */
export function parseRunRecord(text: string, name: string): Parsed<RunRecord> {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => {
    const pr = o.prNumber;
    if (pr !== null && pr !== undefined && !(typeof pr === 'number' && Number.isInteger(pr) && pr > 0)) {
      throw new Error(`${name} is corrupt (prNumber is not a pull request number)`);
    }
    let experiments: string[] | undefined;
    if (o.experiments !== undefined) {
      if (
        !Array.isArray(o.experiments) ||
        !o.experiments.every((x) => typeof x === 'string' && EXPERIMENT_ID.test(x))
      ) {
        throw new Error(`${name} is corrupt (experiments is not a list of experiment ids)`);
      }
      experiments = o.experiments as string[];
    }
    return {
      schema: RECORD_SCHEMA,
      runId: str(o, 'runId', name, RUN_ID),
      repository: str(o, 'repository', name, /^[^/\s]+\/[^/\s]+$/),
      sha: str(o, 'sha', name),
      ref: typeof o.ref === 'string' ? o.ref : '',
      event: typeof o.event === 'string' ? o.event : '',
      prNumber: typeof pr === 'number' ? pr : null,
      workflow: typeof o.workflow === 'string' ? o.workflow : '',
      githubRunId: typeof o.githubRunId === 'string' ? o.githubRunId : '',
      createdAt: time(o, 'createdAt', name),
      ...(experiments ? { experiments } : {}),
      ...(o.report !== undefined ? { report: parseReportSettings(o.report, name) } : {}),
    };
  });
}

/** Parses detached/EXPERIMENT.json. */
export function parseDetachedRecord(text: string, name: string): Parsed<DetachedRecord> {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => {
    const attempt = o.attempt;
    if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
      throw new Error(`${name} is corrupt (attempt is not a whole number)`);
    }
    const reason = o.reason === 'handover' ? 'handover' : 'detach';
    return {
      schema: RECORD_SCHEMA,
      runId: str(o, 'runId', name, RUN_ID),
      experiment: str(o, 'experiment', name, EXPERIMENT_ID),
      project: str(o, 'project', name),
      zone: str(o, 'zone', name, ZONE),
      instance: str(o, 'instance', name, INSTANCE),
      attempt,
      reason,
      machineType: typeof o.machineType === 'string' ? o.machineType : '',
      createdAt: time(o, 'createdAt', name),
      deadline: time(o, 'deadline', name),
      detachedAt: time(o, 'detachedAt', name),
    };
  });
}

/** Parses report.lock. */
export function parseLockRecord(text: string, name: string): Parsed<LockRecord> {
  const e = envelope(text, name);
  if (!e.ok) return e;
  const o = e.value;
  return guard(name, () => ({
    schema: RECORD_SCHEMA,
    owner: str(o, 'owner', name),
    at: time(o, 'at', name),
    purpose: o.purpose === 'partial' ? 'partial' : 'final',
  }));
}

/** The record of one detached experiment. */
export function detachedRecord(opts: {
  location: RunLocation;
  experiment: string;
  project: string;
  zone: string;
  instance: string;
  attempt: number;
  reason: DetachReason;
  machineType: string;
  createdAt: number;
  ttlSeconds: number;
  detachedAt: number;
}): DetachedRecord {
  return {
    schema: RECORD_SCHEMA,
    runId: opts.location.runId,
    experiment: opts.experiment,
    project: opts.project,
    zone: opts.zone,
    instance: opts.instance,
    attempt: opts.attempt,
    reason: opts.reason,
    machineType: opts.machineType,
    createdAt: new Date(opts.createdAt).toISOString(),
    deadline: new Date(opts.createdAt + opts.ttlSeconds * 1000).toISOString(),
    detachedAt: new Date(opts.detachedAt).toISOString(),
  };
}

/** run.json as a launch step knows it: from the runner's variables and the event. */
export function runRecordFromEnv(opts: {
  runId: string;
  env: NodeJS.ProcessEnv;
  event: { name: string; payload: Record<string, unknown> };
  now: number;
}): RunRecord {
  const { env } = opts;
  return {
    schema: RECORD_SCHEMA,
    runId: opts.runId,
    repository: env.GITHUB_REPOSITORY || 'local/local',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    event: opts.event.name,
    prNumber: prNumberOf(opts.event) ?? null,
    workflow: env.GITHUB_WORKFLOW ?? '',
    githubRunId: env.GITHUB_RUN_ID ?? '',
    createdAt: new Date(opts.now).toISOString(),
  };
}

/** Serialises a record as gce-matrix writes it. */
export function recordText(record: object): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
