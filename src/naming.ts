import { createHash } from 'node:crypto';
import { ConfigurationError } from './errors.ts';

/** Compute Engine's rule for resource names (instances, among others). */
export const RESOURCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Compute Engine's rule for label keys; values may also be empty or start with a digit. */
const LABEL_KEY = /^[a-z][-_a-z0-9]{0,62}$/;
const LABEL_VALUE = /^[-_a-z0-9]{0,63}$/;
/** What an experiment id may hold: it becomes part of object names, VM names and file names. */
export const EXPERIMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Checks an experiment id; the message names the id and the rule. */
export function validateExperimentId(id: string, input = 'experiment id'): void {
  if (!EXPERIMENT_ID.test(id)) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(id)} is not valid: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit`,
    );
  }
}

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Lower-cases and replaces what a resource name cannot hold with `-`, collapsing repeats. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The VM name of one attempt of one experiment: a function of the run id, the experiment id and the
 * attempt number only, so a GitHub re-run of the same job finds (and adopts or replaces) the same VM.
 * Readable where the id allows it, and made unique by a hash of the full id when it had to be cut.
 */
export function instanceName(runId: string, experimentId: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 99) {
    throw new ConfigurationError(`attempt must be a whole number from 1 to 99 (got ${attempt})`);
  }
  const hash = shortHash(`${runId}\u0000${experimentId}`, 8);
  const suffix = `-${hash}-a${attempt}`;
  const run = slug(runId).slice(0, 16).replace(/-+$/, '');
  const head = run ? `gcem-${run}` : 'gcem';
  const room = 63 - head.length - suffix.length - 1;
  const exp = slug(experimentId).slice(0, Math.max(0, room)).replace(/-+$/, '');
  const name = exp ? `${head}-${exp}${suffix}` : `${head}${suffix}`;
  if (!RESOURCE_NAME.test(name)) throw new Error(`bug: instance name ${name} is not a valid resource name`);
  return name;
}

/**
 * Exact identities for labels, where the readable `gce-matrix-run`/`gce-matrix-experiment` values are lossy
 * (`tool-X` and `tool-x`, `a.b` and `a_b` share one): a hash of the run id, and of run and experiment together.
 * Cleanup and the janitor select VMs by these, never by a rewritten id.
 */
export function runKey(runId: string): string {
  return shortHash(`run\u0000${runId}`, 20);
}

/** The exact identity label value of one experiment of one run (see runKey). */
export function experimentKey(runId: string, experimentId: string): string {
  return shortHash(`${runId}\u0000${experimentId}`, 20);
}

/** Turns any text into a valid label value (lower-case, at most 63 characters, `[-_a-z0-9]`). */
export function labelValue(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^-_a-z0-9]+/g, '_');
  if (cleaned.length <= 63) return cleaned;
  return `${cleaned.slice(0, 54)}-${shortHash(text, 8)}`;
}

/** Checks user-given labels against Compute Engine's rules; the message names the bad key or value. */
export function validateLabels(labels: Record<string, string>, input = 'labels'): void {
  const keys = Object.keys(labels);
  if (keys.length > 64)
    throw new ConfigurationError(`${input}: at most 64 labels are allowed (got ${keys.length})`);
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) {
      throw new ConfigurationError(
        `${input}: label key ${JSON.stringify(key)} is not valid: start with a lower-case letter, then up to 62 of a-z 0-9 _ -`,
      );
    }
    if (!LABEL_VALUE.test(value)) {
      throw new ConfigurationError(
        `${input}: label ${key}=${JSON.stringify(value)} has an invalid value: up to 63 of a-z 0-9 _ -`,
      );
    }
  }
}
