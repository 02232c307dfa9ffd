import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Storage } from '@google-cloud/storage';
import type { Clock } from '../clock.ts';
import { ConfigurationError } from '../errors.ts';
import { downloadTarball, resolveCommit } from '../source/github.ts';
import type { GitHubSource } from '../source/github.ts';
import type { SourceManifest } from '../source/snapshot.ts';
import { FULL_SHA, checkFitsBootDisk, commitKey } from '../source/snapshot.ts';
import { stageSource } from '../source/stage.ts';
import type { LaunchSettings } from './settings.ts';

/**
 * Puts the repository at the commit under test into the run's bucket (once per run and commit, whichever launch
 * comes first) and returns the settings with the snapshot set, so every VM of the experiment unpacks it as the
 * command's working directory. With `source: none` the settings come back unchanged.
 */
export async function prepareSource(
  settings: LaunchSettings,
  deps: { storage: Storage; clock: Clock; log: (message: string) => void; tmpDir?: string },
): Promise<LaunchSettings> {
  if (settings.source.mode === 'none') {
    deps.log('Source: none (the command runs in an empty working directory; the image carries the code).');
    return settings;
  }
  const ref = settings.source.ref;
  if (!ref) {
    throw new ConfigurationError(
      "input source-ref is required here: on a PR comment pass the plan step's source-sha output (the head the permission gate approved); " +
        'elsewhere give a branch, tag or SHA, or set source: none',
    );
  }
  if (!settings.github.token) {
    throw new ConfigurationError(
      'input github-token is empty: the repository snapshot is read with the job token (github-token: ${{ github.token }}, permissions: contents: read), or set source: none',
    );
  }
  const src: GitHubSource = {
    apiUrl: settings.github.apiUrl,
    token: settings.github.token,
    repository: settings.repository,
  };
  const commit = FULL_SHA.test(ref) ? ref : await resolveCommit(src, ref, 'input source-ref');
  const dir = await mkdtemp(path.join(deps.tmpDir ?? tmpdir(), 'gce-matrix-source-'));
  try {
    const staged = await stageSource({
      storage: deps.storage,
      location: settings.results,
      key: commitKey(commit),
      build: () => downloadTarball(src, commit, path.join(dir, `${commit}.tar.gz`)),
      clock: deps.clock,
      log: deps.log,
      holder: settings.experiment.id,
    });
    const m = staged.manifest;
    checkFitsBootDisk(m, settings.bootDiskSizeGb);
    deps.log(
      `Source: ${settings.repository} at ${commit} (snapshot ${(m.size / 1e6).toFixed(1)} MB, sha256 ${m.sha256}` +
        `${staged.uploaded ? ', uploaded by this launch' : ', already in the bucket'}).`,
    );
    return withSnapshot(settings, m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The settings of an experiment that runs in `snapshot`: its commit becomes the one provenance names. */
export function withSnapshot(settings: LaunchSettings, snapshot: SourceManifest): LaunchSettings {
  return { ...settings, sha: snapshot.commit || settings.sha, snapshot };
}
