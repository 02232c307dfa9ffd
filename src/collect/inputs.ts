import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { readBoolean, readBucket, readInteger, readProject } from '../inputs.ts';
import { parseAuthInputs } from '../gcp/auth-inputs.ts';
import type { RunLocation } from '../layout.ts';
import { validateExperimentId } from '../naming.ts';
import type { InputReader, RunContext } from '../launch/inputs.ts';
import { parseMetricsText } from '../report/metric-info.ts';
import type { MetricInfo } from '../report/model.ts';

/** An experiment the plan says should exist, so one that never wrote anything is still listed. */
export interface ExpectedExperiment {
  readonly id: string;
  readonly params?: Record<string, unknown>;
}

/** Everything actions/collect needs, parsed and checked once. */
export interface CollectSettings {
  readonly project: string;
  readonly location: RunLocation;
  /** The plan's experiments, when given. */
  readonly expected: readonly ExpectedExperiment[] | undefined;
  /** Absolute local directory the results go into. */
  readonly path: string;
  readonly artifactName: string;
  /** Undefined: the repository's default retention. */
  readonly retentionDays: number | undefined;
  /** Upload the results as a workflow artifact (false: leave them on disk only). */
  readonly upload: boolean;
  /** Replace an artifact of the same name from an earlier attempt of the run. */
  readonly overwrite: boolean;
  /** Downloads (and listings) in flight at once. */
  readonly concurrency: number;
  /** Objects larger than this many bytes are refused. */
  readonly maxFileSize: number;
  /** Declared metrics (input `metrics`, as actions/report reads it), for the unit column of results.csv. */
  readonly metricInfo: ReadonlyMap<string, MetricInfo>;
  readonly workloadIdentityProvider: string | undefined;
  readonly serviceAccount: string | undefined;
}

/** What @actions/artifact refuses in an artifact name. */
const ARTIFACT_NAME_UNSAFE = /[":<>|*?\r\n\\/]/;
const GIB = 1024 ** 3;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: GIB,
  gib: GIB,
  gb: 1000 ** 3,
};

/** Parses a byte count: `1048576`, `500MB` (decimal), `2GiB` or `2G` (binary). */
export function parseByteSize(text: string, input = 'max-file-size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new ConfigurationError(
      `input ${input} must be a size in bytes, optionally with a unit (e.g. 2147483648, 500MB, 2GiB; got ${JSON.stringify(text)})`,
    );
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw new ConfigurationError(`input ${input} must be at least 1 byte`);
  return bytes;
}

/** The experiments of one matrix entry: itself, or a packed leg's members. */
function entriesOf(value: unknown): ExpectedExperiment[] | undefined {
  const v = value as { members?: unknown } | undefined;
  if (v && typeof v === 'object' && Array.isArray(v.members)) {
    const members = v.members.map(entryOf);
    return members.every((m) => m !== undefined) ? members : undefined;
  }
  const inner =
    value && typeof value === 'object' && !Array.isArray(value) && !('id' in value)
      ? Object.values(value).filter((x) => x && typeof x === 'object' && !Array.isArray(x))
      : [];
  if (inner.length === 1) return entriesOf(inner[0]);
  const one = entryOf(value);
  return one ? [one] : undefined;
}

function entryOf(value: unknown): ExpectedExperiment | undefined {
  if (typeof value === 'string') return { id: value };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as { id?: unknown; params?: unknown };
  if (typeof v.id === 'string') {
    const params =
      v.params && typeof v.params === 'object' && !Array.isArray(v.params)
        ? (v.params as Record<string, unknown>)
        : undefined;
    return params ? { id: v.id, params } : { id: v.id };
  }
  // A matrix include entry keyed by the axis name: {"experiment": {"id": ..., "params": ...}}.
  const inner = Object.values(value).filter((x) => x && typeof x === 'object' && !Array.isArray(x));
  return inner.length === 1 ? entryOf(inner[0]) : undefined;
}

function entriesOfJson(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.include)) return v.include as unknown[];
  const arrays = Object.values(v).filter((x) => Array.isArray(x));
  return arrays.length === 1 ? (arrays[0] as unknown[]) : undefined;
}

/**
 * Parses the `experiments` input: the plan's matrix (`{"include": [...]}` or `{"experiment": [...]}`), a JSON
 * list of ids or of `{"id", "params"}` entries, or ids separated by commas or newlines. Ids are deduplicated.
 */
export function parseExpected(text: string): ExpectedExperiment[] | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  let entries: ExpectedExperiment[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigurationError(
        `input experiments is not valid JSON (${(err as Error).message}); pass the plan's matrix, a JSON list of ids, or ids separated by commas`,
      );
    }
    const list = entriesOfJson(value);
    if (!list) {
      throw new ConfigurationError(
        'input experiments: expected the plan\'s matrix ({"include": [{"id": ...}]}) or a JSON list of experiments',
      );
    }
    entries = list.flatMap((x, i) => {
      const e = entriesOf(x);
      if (!e) {
        throw new ConfigurationError(
          `input experiments: entry ${i + 1} has no "id" (${JSON.stringify(x).slice(0, 80)})`,
        );
      }
      return e;
    });
  } else {
    entries = trimmed
      .split(/[\n,]/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((id) => ({ id }));
  }
  const seen = new Map<string, ExpectedExperiment>();
  for (const e of entries) {
    validateExperimentId(e.id, 'input experiments: id');
    if (!seen.has(e.id)) seen.set(e.id, e);
  }
  return [...seen.values()];
}

/** Parses and checks every input of actions/collect; throws a ConfigurationError naming the first bad one. */
export function parseCollectInputs(
  read: InputReader,
  ctx: RunContext,
  workspace: string = process.cwd(),
): CollectSettings {
  const project = readProject(read, ctx.defaultProject);
  const bucket = readBucket(read, 'the bucket launch wrote results to');
  const runId = read('run-id').trim() || ctx.runId;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(`input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`);
  }
  const prefix = (read('prefix').trim() || 'gce-matrix').replace(/^\/+|\/+$/g, '');
  const artifactName = read('artifact-name').trim() || `gce-matrix-${runId}`;
  if (ARTIFACT_NAME_UNSAFE.test(artifactName)) {
    throw new ConfigurationError(
      `input artifact-name ${JSON.stringify(artifactName)} holds a character artifacts refuse (" : < > | * ? \\ / CR LF)`,
    );
  }
  const retention = read('retention-days').trim();
  const retentionDays = retention ? readInteger(read, 'retention-days', 0, 1, 400) : undefined;
  const overwriteRaw = read('overwrite').trim().toLowerCase() || 'true';
  if (overwriteRaw !== 'true' && overwriteRaw !== 'false') {
    throw new ConfigurationError(
      `input overwrite must be true or false (got ${JSON.stringify(overwriteRaw)})`,
    );
  }
  const maxRaw = read('max-file-size').trim();
  let metricInfo: Map<string, MetricInfo>;
  try {
    metricInfo = parseMetricsText(read('metrics'));
  } catch (err) {
    throw new ConfigurationError(`input ${(err as Error).message}`);
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  return {
    project,
    location: { bucket, prefix, runId },
    expected: parseExpected(read('experiments')),
    path: path.resolve(workspace, read('path').trim() || 'gce-matrix-results'),
    artifactName,
    retentionDays,
    upload: readBoolean(read, 'upload', true),
    overwrite: readBoolean(read, 'overwrite', true),
    concurrency: readInteger(read, 'concurrency', 16, 1, 256),
    maxFileSize: maxRaw ? parseByteSize(maxRaw) : 2 * GIB,
    metricInfo,
    workloadIdentityProvider,
    serviceAccount,
  };
}
