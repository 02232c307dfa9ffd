import { ConfigurationError } from './errors.ts';

/** Reads one action input by its name as written in action.yml ('' when unset). */
export type InputReader = (name: string) => string;

/** A `true`/`false` input; empty gives `fallback`. */
export function readBoolean(read: InputReader, name: string, fallback: boolean): boolean {
  const raw = read(name).trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigurationError(`input ${name} must be true or false (got ${JSON.stringify(raw)})`);
}

/** A whole-number input within [min, max]; empty gives `fallback`. */
export function readInteger<F extends number | undefined>(
  read: InputReader,
  name: string,
  fallback: F,
  min: number,
  max: number,
): number | F {
  const raw = read(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `input ${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

const PROJECT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const BUCKET_NAME = /^[a-z0-9][-_.a-z0-9]{1,221}[a-z0-9]$/;

/** The `project` input, else `fallback` (GOOGLE_CLOUD_PROJECT and the like); required and checked. */
export function readProject(read: InputReader, fallback: string | undefined): string {
  const project = read('project').trim() || fallback;
  if (!project) {
    throw new ConfigurationError(
      'input project is required (or set GOOGLE_CLOUD_PROJECT, as google-github-actions/auth does)',
    );
  }
  if (!PROJECT_ID.test(project)) {
    throw new ConfigurationError(`input project ${JSON.stringify(project)} is not a Google Cloud project id`);
  }
  return project;
}

/**
 * The `bucket` input without a `gs://` scheme or trailing slashes, checked; undefined when empty and
 * `requiredHint` is not given, else a ConfigurationError saying what the bucket is for.
 */
export function readBucket(read: InputReader, requiredHint: string): string;
export function readBucket(read: InputReader, requiredHint?: undefined): string | undefined;
export function readBucket(read: InputReader, requiredHint?: string): string | undefined {
  const bucket = read('bucket')
    .trim()
    .replace(/^gs:\/\//, '')
    .replace(/\/+$/, '');
  if (!bucket) {
    if (requiredHint === undefined) return undefined;
    throw new ConfigurationError(`input bucket is required: ${requiredHint}`);
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigurationError(`input bucket ${JSON.stringify(bucket)} is not a bucket name`);
  }
  return bucket;
}
