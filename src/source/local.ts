import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Storage } from '@google-cloud/storage';
import type { Clock } from '../clock.ts';
import type { RunLocation } from '../layout.ts';
import type { SourceManifest } from './snapshot.ts';
import { treeKey } from './snapshot.ts';
import { stageSource } from './stage.ts';
import { snapshotWorktree } from './worktree.ts';

/** What a run from a terminal puts into each experiment's working directory. */
export type LocalSourceMode = 'worktree' | 'head' | 'none';

/**
 * Snapshots a local checkout (the working tree with its uncommitted changes, or HEAD) and stores it in the run's
 * bucket as a launch stores GitHub's tarball, so the agent unpacks it the same way, locally or on a VM.
 */
export async function stageLocalSource(opts: {
  readonly storage: Storage;
  readonly location: RunLocation;
  readonly dir: string;
  readonly mode: Exclude<LocalSourceMode, 'none'>;
  /** Where the archive is built before it is stored. */
  readonly tmpDir: string;
  /** Paths under `dir` left out (a run directory inside the checkout). */
  readonly exclude: readonly string[];
  readonly clock: Clock;
  readonly log: (line: string) => void;
}): Promise<SourceManifest> {
  const work = await mkdtemp(path.join(opts.tmpDir, 'source-'));
  try {
    const snap = await snapshotWorktree({
      dir: opts.dir,
      out: path.join(work, 'snapshot.tar.gz'),
      mode: opts.mode,
      exclude: opts.exclude,
    });
    for (const note of snap.notes) opts.log(`source: ${note}`);
    opts.log(
      `Source: ${snap.mode === 'directory' ? 'the directory' : snap.mode === 'head' ? 'HEAD of' : 'the working tree of'} ${opts.dir}` +
        `${snap.commit ? ` at ${snap.commit.slice(0, 12)}${snap.dirty ? ' with uncommitted changes' : ''}` : ''}: ` +
        `${snap.fileCount} file(s), ${(snap.size / 1e6).toFixed(1)} MB, sha256 ${snap.sha256.slice(0, 12)}`,
    );
    const staged = await stageSource({
      storage: opts.storage,
      location: opts.location,
      key: treeKey(snap.sha256),
      build: () =>
        Promise.resolve({
          file: snap.file,
          sha256: snap.sha256,
          size: snap.size,
          unpackedBytes: snap.unpackedBytes,
          repository: 'local',
          commit: snap.commit ?? '',
          origin: snap.mode,
          dirty: snap.dirty,
        }),
      clock: opts.clock,
      log: opts.log,
      holder: 'local',
    });
    return staged.manifest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
