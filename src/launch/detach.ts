import type { RunStore } from '../gcp/run-store.ts';
import type { RunRecord } from '../record.ts';
import { detachedRecord } from '../record.ts';
import type { DetachedVm } from './experiment.ts';
import type { LaunchSettings } from './settings.ts';

/**
 * Records an experiment as detached, in the order a watcher can rely on: run.json first (kept if another
 * experiment of the run wrote it), then the experiment's detached record, then the run's entry in the
 * watcher's index. A watcher that finds the index entry finds the rest.
 */
export async function recordDetached(opts: {
  store: RunStore;
  settings: LaunchSettings;
  run: RunRecord;
  detached: DetachedVm;
  now: number;
}): Promise<void> {
  const { store, settings, detached } = opts;
  await store.createRun(opts.run);
  await store.writeDetached(
    detachedRecord({
      location: settings.results,
      experiment: settings.experiment.id,
      project: settings.project,
      zone: detached.vm.zone,
      instance: detached.vm.name,
      attempt: detached.vm.attempt,
      reason: detached.reason,
      machineType: settings.machineType,
      createdAt: detached.createdAt,
      ttlSeconds: detached.ttlSeconds,
      detachedAt: opts.now,
    }),
  );
  await store.markPending(settings.results.runId, opts.now);
}
