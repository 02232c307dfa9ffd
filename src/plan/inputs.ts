import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { parseSourceRef } from '../source/snapshot.ts';
import { readInteger } from '../inputs.ts';
import type { InputReader } from '../launch/inputs.ts';
import type { PlanLimits, RepetitionsInput } from './expand.ts';
import type { Overrides } from './overrides.ts';
import { commentArguments, COMMENT_COMMAND, parseOverrides } from './overrides.ts';
import type { PermissionLevel } from './gate.ts';

/** GitHub runs at most this many jobs from one matrix. */
export const GITHUB_MATRIX_LIMIT = 256;

/** Everything the plan step needs, parsed and checked once from its inputs. */
export interface PlanSettings {
  /** The inline spec, when given. */
  readonly spec: string | undefined;
  /** The spec file: absolute path and the path as given, when given. */
  readonly specFile: { readonly path: string; readonly given: string } | undefined;
  readonly overrides: Overrides;
  readonly repetitions: RepetitionsInput | undefined;
  readonly limits: PlanLimits;
  readonly runId: string;
  /** The permission a PR comment's author needs for `/gce-matrix run`. */
  readonly requiredPermission: PermissionLevel;
  /** A branch, tag or SHA whose commit every experiment runs, instead of the event's. */
  readonly sourceRef: string | undefined;
}

/** What the runner tells the step. */
export interface PlanContext {
  /** GITHUB_RUN_ID: the same for every attempt of a run, so a re-run keeps its results prefix and VM names. */
  readonly runId: string | undefined;
  readonly workspace: string;
}

/** Parses and checks the plan step's inputs; throws a ConfigurationError naming the first bad one. */
export function parsePlanInputs(read: InputReader, ctx: PlanContext): PlanSettings {
  const spec = read('spec').trim() || undefined;
  const given = read('spec-file').trim() || undefined;
  if (spec === undefined && given === undefined) {
    throw new ConfigurationError(
      'input spec or spec-file is required: give the matrix inline (spec: "axes: {tool: [a, b]}") or a file in the repository (spec-file: .github/matrix.yml)',
    );
  }
  let specFile: PlanSettings['specFile'];
  if (given !== undefined) {
    const workspace = path.resolve(ctx.workspace);
    const full = path.resolve(workspace, given);
    if (full !== workspace && !full.startsWith(workspace + path.sep)) {
      throw new ConfigurationError(
        `input spec-file ${JSON.stringify(given)} is outside the workspace; give a path inside the repository`,
      );
    }
    specFile = { path: full, given };
  }
  const runId = read('run-id').trim() || ctx.runId || '';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(
      runId
        ? `input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -, starting with a letter or digit`
        : 'input run-id is required outside GitHub Actions (GITHUB_RUN_ID is not set)',
    );
  }
  const repetitions = read('repetitions').trim();
  return {
    spec,
    specFile,
    overrides: parseOverrides(read('overrides'), 'input overrides'),
    repetitions: repetitions ? { value: repetitions, label: 'input repetitions' } : undefined,
    limits: {
      maxExperiments: readInteger(read, 'max-experiments', 1000, 1, 100_000),
      batchSize: readInteger(read, 'batch-size', GITHUB_MATRIX_LIMIT, 1, GITHUB_MATRIX_LIMIT),
      maxBatches: readInteger(read, 'max-batches', undefined, 1, 1000),
    },
    runId,
    requiredPermission: parsePermission(read('required-permission')),
    sourceRef: parseSourceRef(read('source-ref')),
  };
}

function parsePermission(text: string): PermissionLevel {
  const value = text.trim() || 'write';
  if (!['read', 'triage', 'write', 'maintain', 'admin'].includes(value)) {
    throw new ConfigurationError(
      `input required-permission must be one of read, triage, write, maintain, admin (got ${JSON.stringify(value)})`,
    );
  }
  return value as PermissionLevel;
}

/**
 * The overrides a `/gce-matrix run ...` comment carries, for an issue_comment event; undefined for other
 * events. A comment that is not the command fails, as the workflow should not have run the plan for it.
 */
export function commentOverrides(eventName: string, payload: unknown): Overrides | undefined {
  if (eventName !== 'issue_comment') return undefined;
  const comment = (payload as { comment?: { body?: unknown } } | null)?.comment;
  const body = typeof comment?.body === 'string' ? comment.body : '';
  const args = commentArguments(body);
  if (args === undefined) {
    throw new ConfigurationError(
      `the comment does not start with ${COMMENT_COMMAND}; run the plan only for such comments (if: startsWith(github.event.comment.body, '${COMMENT_COMMAND}'))`,
    );
  }
  return parseOverrides(args, `the comment's ${COMMENT_COMMAND} arguments`);
}
