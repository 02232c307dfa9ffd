/**
 * manifest.json: what actions/collect found for a run, written at the root of the results directory and the
 * artifact. actions/report and people read it; its shape is documented in actions/collect/README.md.
 */
import type {
  ExperimentState,
  ExperimentStatus,
  Heartbeat,
  OutputEntry,
  Provenance,
  RunLocation,
} from '../layout.ts';
import { gsUri, runPrefix } from '../layout.ts';

/**
 * An experiment's standing as collected: the agent's final state, or
 * `unfinished` (objects but no status.json: still running, or its VM died without a word),
 * `missing` (the plan lists it, the bucket holds nothing of it),
 * `corrupt` (status.json exists but cannot be read or parsed),
 * `lost` (left running detached, its VM ended or vanished without a status: set by the watcher).
 */
export type CollectedStatus = ExperimentState | 'unfinished' | 'missing' | 'corrupt' | 'lost';

/** Which of the three counts (outputs `succeeded`, `failed`, `missing`) an experiment adds to. */
export function countClass(status: CollectedStatus): 'succeeded' | 'failed' | 'missing' {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'missing' || status === 'unfinished' || status === 'lost') return 'missing';
  return 'failed';
}

/** What went wrong with one object or experiment; collecting carries on past every one of them. */
export type ProblemKind =
  /** The object's name could escape the results directory (or clashes); not collected. */
  | 'unsafe-name'
  /** The object's name had characters an artifact cannot hold; collected under another name. */
  | 'renamed'
  /** Larger than max-file-size; not collected. */
  | 'oversize'
  /** The bytes did not match the object's MD5/CRC32C, every try. */
  | 'checksum'
  /** The object could not be downloaded, every try. */
  | 'download'
  /** The object changed or went away while it was being collected. */
  | 'vanished'
  /** status.json is unreadable, or disagrees with where it was found. */
  | 'status'
  /** status.json names an output the bucket does not hold (or holds with another size). */
  | 'missing-output'
  /** The log was longer than max-file-size: only its tail was kept. */
  | 'log-truncated'
  /**
   * An earlier attempt ended without a status (preempted with its shutdown run cut short, or its VM lost): its
   * log is what its VM shipped, and may lack its last lines.
   */
  | 'log-incomplete'
  /** Found in the bucket but not in the plan given as `experiments`. */
  | 'unplanned';

/** Problems that mean the service did not deliver intact bytes: the step fails on them (after uploading). */
export const INFRASTRUCTURE_PROBLEMS: readonly ProblemKind[] = ['checksum', 'download'];

/** One problem, with the object it concerns when there is one. */
export interface Problem {
  readonly kind: ProblemKind;
  /** Full object name (untrusted text). */
  readonly object?: string;
  readonly message: string;
}

/** One collected file. */
export interface CollectedFile {
  /** Where it is, relative to the results directory (`/`-separated), e.g. `exp-1/outputs/metrics.json`. */
  readonly path: string;
  /** The object it came from (for log.txt: the prefix of the chunks). */
  readonly object: string;
  readonly size: number;
  /** The object's hashes as Cloud Storage reports them (base64), when it reports them. */
  readonly crc32c?: string;
  readonly md5?: string;
  readonly generation?: string;
  /** The check the downloaded bytes passed: MD5, else CRC32C, else only the size (no hash was reported). */
  readonly verified: 'md5' | 'crc32c' | 'size';
  /** For a file stored under another name: its name relative to outputs/ in the bucket. */
  readonly renamedFrom?: string;
  /** For log.txt: how many log chunks it joins. */
  readonly parts?: number;
}

/** One experiment in the manifest. */
export interface ManifestExperiment {
  readonly id: string;
  /** Its folder in the results directory (the id itself unless the id was unsafe). */
  readonly dir: string;
  readonly status: CollectedStatus;
  /** status.json's state, null without a readable status. */
  readonly state: ExperimentState | null;
  readonly exitCode: number | null;
  /** The number of the last attempt (from status.json, else the heartbeat or the logs), null when unknown. */
  readonly attempts: number | null;
  readonly reason?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  /** The matrix parameters: from the plan when given, else from the status's provenance. */
  readonly params?: Record<string, unknown>;
  readonly provenance?: Provenance;
  /** The last heartbeat, for an experiment without a status. */
  readonly heartbeat?: Heartbeat;
  /** Whether the plan lists it; null when no plan was given. */
  readonly planned: boolean | null;
  readonly files: readonly CollectedFile[];
  readonly problems: readonly Problem[];
}

/** Totals over all experiments. */
export interface ManifestCounts {
  readonly experiments: number;
  readonly succeeded: number;
  /** failed, error, preempted or corrupt. */
  readonly failed: number;
  /** missing, unfinished or lost: no status.json. */
  readonly missing: number;
  readonly byStatus: Readonly<Record<CollectedStatus, number>>;
  readonly files: number;
  readonly bytes: number;
  readonly problems: number;
}

/** The whole manifest. */
export interface Manifest {
  readonly schema: 1;
  readonly runId: string;
  readonly bucket: string;
  /** Object-name prefix of the run, ending in `/`. */
  readonly prefix: string;
  /** `gs://bucket/prefix/runs/RUN/` */
  readonly source: string;
  readonly collectedAt: string;
  readonly counts: ManifestCounts;
  readonly experiments: readonly ManifestExperiment[];
  /** Problems not tied to one experiment. */
  readonly problems: readonly Problem[];
}

const STATUSES: readonly CollectedStatus[] = [
  'succeeded',
  'failed',
  'preempted',
  'error',
  'unfinished',
  'missing',
  'corrupt',
  'lost',
];

/** Totals of a list of experiments. */
export function countExperiments(experiments: readonly ManifestExperiment[]): ManifestCounts {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<CollectedStatus, number>;
  const classes = { succeeded: 0, failed: 0, missing: 0 };
  let files = 0;
  let bytes = 0;
  let problems = 0;
  for (const e of experiments) {
    byStatus[e.status] += 1;
    classes[countClass(e.status)] += 1;
    files += e.files.length;
    for (const f of e.files) bytes += f.size;
    problems += e.problems.filter((p) => p.kind !== 'renamed').length;
  }
  return { experiments: experiments.length, ...classes, byStatus, files, bytes, problems };
}

/** Assembles the manifest; experiments are sorted by id so two collections of one run compare equal. */
export function buildManifest(opts: {
  location: RunLocation;
  experiments: readonly ManifestExperiment[];
  problems?: readonly Problem[];
  collectedAt: Date;
}): Manifest {
  const experiments = [...opts.experiments].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const prefix = runPrefix(opts.location);
  const counts = countExperiments(experiments);
  const problems = opts.problems ?? [];
  return {
    schema: 1,
    runId: opts.location.runId,
    bucket: opts.location.bucket,
    prefix,
    source: gsUri(opts.location.bucket, prefix),
    collectedAt: opts.collectedAt.toISOString(),
    counts: { ...counts, problems: counts.problems + problems.length },
    experiments,
    problems,
  };
}

/** Why an experiment is lost, and what was saved of it (its serial console tail). */
export interface LostExperiment {
  readonly reason: string;
  /** Its folder in the results directory (used when the bucket held nothing of it). */
  readonly dir: string;
  readonly files?: readonly CollectedFile[];
}

/**
 * Marks experiments without a status as lost (the watcher's verdict on detached ones whose VM is gone), with
 * the files saved for them, and counts again. Experiments that have a status keep it.
 */
export function markLost(manifest: Manifest, lost: ReadonlyMap<string, LostExperiment>): Manifest {
  const experiments: ManifestExperiment[] = manifest.experiments.map((e) => {
    const l = lost.get(e.id);
    if (!l || e.state !== null || e.status === 'corrupt') return e;
    return { ...e, status: 'lost' as const, reason: l.reason, files: [...e.files, ...(l.files ?? [])] };
  });
  // A VM lost before its agent wrote anything left nothing in the bucket (and the run had no plan listing it).
  for (const [id, l] of lost) {
    if (experiments.some((e) => e.id === id)) continue;
    experiments.push({
      id,
      dir: l.dir,
      status: 'lost',
      state: null,
      exitCode: null,
      attempts: null,
      reason: l.reason,
      planned: null,
      files: [...(l.files ?? [])],
      problems: [],
    });
  }
  experiments.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = countExperiments(experiments);
  return {
    ...manifest,
    experiments,
    counts: { ...counts, problems: counts.problems + manifest.problems.length },
  };
}

/** What status.json (or its absence) says about an experiment, as manifest fields. */
export function statusFields(
  status: ExperimentStatus | undefined,
  opts: {
    corrupt: boolean;
    anyObjects: boolean;
    heartbeat?: Heartbeat | undefined;
    lastAttempt?: number | undefined;
  },
): Pick<
  ManifestExperiment,
  | 'status'
  | 'state'
  | 'exitCode'
  | 'attempts'
  | 'reason'
  | 'startedAt'
  | 'endedAt'
  | 'provenance'
  | 'heartbeat'
> {
  if (status) {
    return {
      status: status.state,
      state: status.state,
      exitCode: typeof status.exitCode === 'number' ? status.exitCode : null,
      attempts: status.attempt,
      ...(typeof status.reason === 'string' ? { reason: status.reason } : {}),
      ...(typeof status.startedAt === 'string' ? { startedAt: status.startedAt } : {}),
      ...(typeof status.endedAt === 'string' ? { endedAt: status.endedAt } : {}),
      ...(status.provenance && typeof status.provenance === 'object'
        ? { provenance: status.provenance }
        : {}),
    };
  }
  const attempts = opts.heartbeat?.attempt ?? opts.lastAttempt ?? null;
  return {
    status: opts.corrupt ? 'corrupt' : opts.anyObjects ? 'unfinished' : 'missing',
    state: null,
    exitCode: null,
    attempts,
    ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
  };
}

/**
 * Compares what status.json says was uploaded with what the bucket holds under outputs/ (relative name ->
 * size): an output the agent names but the bucket lacks, or holds with another size, is a problem.
 */
export function checkDeclaredOutputs(
  declared: readonly OutputEntry[],
  present: ReadonlyMap<string, number>,
  outputsPrefix: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const d of declared) {
    if (!d || typeof d.path !== 'string') continue;
    const size = present.get(d.path);
    if (size === undefined) {
      problems.push({
        kind: 'missing-output',
        object: `${outputsPrefix}${d.path}`,
        message: `status.json lists outputs/${d.path}, but the bucket does not hold it`,
      });
    } else if (typeof d.size === 'number' && d.size !== size) {
      problems.push({
        kind: 'missing-output',
        object: `${outputsPrefix}${d.path}`,
        message: `status.json lists outputs/${d.path} with ${d.size} bytes, but the bucket holds ${size}`,
      });
    }
  }
  return problems;
}

/** Reads a heartbeat leniently: undefined unless it has the fields the agent writes. */
export function parseHeartbeat(text: string): Heartbeat | undefined {
  try {
    const v = JSON.parse(text) as Partial<Heartbeat> | null;
    if (v && typeof v.attempt === 'number' && typeof v.at === 'string' && typeof v.phase === 'string') {
      return { attempt: v.attempt, at: v.at, phase: v.phase };
    }
  } catch {
    // a torn or foreign heartbeat says nothing
  }
  return undefined;
}
