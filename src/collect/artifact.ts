import { DefaultArtifactClient } from '@actions/artifact';
import { ConfigurationError } from '../errors.ts';
import type { CollectLogger } from './collect.ts';

/** What was uploaded. */
export interface UploadedArtifact {
  readonly id: number;
  readonly size: number;
  /** Id of the same-named artifact of an earlier attempt that this one replaced. */
  readonly replaced: number | undefined;
}

/**
 * Uploads `files` (absolute paths under `root`) as the workflow artifact `name`. Artifact names are unique
 * within a run, and a re-run of a workflow keeps the artifacts of its earlier attempts: with `overwrite`,
 * that earlier artifact is deleted first so the name (which later jobs download by) stays the same.
 */
export async function uploadResults(opts: {
  name: string;
  root: string;
  files: readonly string[];
  retentionDays: number | undefined;
  overwrite: boolean;
  /** The input that names the artifact, for errors (default collect's `artifact-name`). */
  nameInput?: string;
  log: CollectLogger;
}): Promise<UploadedArtifact> {
  const input = opts.nameInput ?? 'artifact-name';
  const client = new DefaultArtifactClient();
  const { artifacts } = await client.listArtifacts();
  const earlier = artifacts.find((a) => a.name === opts.name);
  let replaced: number | undefined;
  if (earlier) {
    if (!opts.overwrite) {
      throw new ConfigurationError(
        `input ${input}: this run already has an artifact named ${opts.name} (id ${earlier.id}, from an earlier attempt); set overwrite: true to replace it, or choose another name`,
      );
    }
    opts.log.info(
      `Replacing artifact ${opts.name} (id ${earlier.id}) left by an earlier attempt of this run.`,
    );
    await client.deleteArtifact(opts.name);
    replaced = earlier.id;
  }
  try {
    const r = await client.uploadArtifact(opts.name, [...opts.files], opts.root, {
      ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
    });
    return { id: r.id ?? 0, size: r.size ?? 0, replaced };
  } catch (err) {
    if (/\(409\)/.test((err as Error).message)) {
      throw new Error(
        `another step uploaded an artifact named ${opts.name} at the same time; give each step its own ${input}`,
      );
    }
    throw err;
  }
}
