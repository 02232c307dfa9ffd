import { runAction } from '../action.ts';
import * as core from '@actions/core';
import { systemClock } from '../clock.ts';
import { readEvent } from '../event.ts';
import type { GcpClients } from '../gcp/clients.ts';
import { connectGcp } from '../gcp/clients.ts';
import { RunStore } from '../gcp/run-store.ts';
import { escapeMarkdown } from '../markdown.ts';
import type { RunRecord, RunReportSettings } from '../record.ts';
import { RECORD_SCHEMA, runRecordFromEnv } from '../record.ts';
import { inlineClaim } from '../watch/decide.ts';
import type { ReportSettings } from './inputs.ts';
import { parseReportInputs } from './inputs.ts';
import { readManifest } from './load.ts';
import type { PublishOptions, ReportIO } from './publish.ts';
import { publishReport } from './publish.ts';
import type { ArtifactUploader } from './report-artifact.ts';
import { uploadResults } from '../collect/artifact.ts';

/** The report settings a later watcher needs to report the run the same way (and update the same comment). */
export function reportSettingsOf(s: ReportSettings): RunReportSettings {
  return {
    title: s.title,
    markerKey: s.markerKey,
    pivot: s.pivot ? [...s.pivot] : null,
    centre: s.centre,
    directions: Object.fromEntries(s.directions),
    ...(s.metricInfo.size > 0 ? { metrics: Object.fromEntries(s.metricInfo) } : {}),
    thresholdPercent: s.thresholdPercent,
    test: s.test,
    adjust: s.adjust,
    alpha: s.alpha,
    replicate: s.replicate,
    ...(s.history !== undefined ? { history: s.history } : {}),
    baseline: s.baseline,
    baselineRef: s.baselineRef,
    comment: s.comment,
  };
}

const actionsIO: ReportIO = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  summary: async (markdown) => {
    await core.summary.addRaw(markdown).write();
  },
  output: (name, value) => core.setOutput(name, value),
};

/**
 * Uploads the HTML report through the same module as collect's results. A re-run of the workflow keeps the
 * artifacts of its earlier attempts: the newest report replaces the one of the same name.
 */
function reportUploader(s: ReportSettings): ArtifactUploader {
  return async (name, root, files) =>
    (
      await uploadResults({
        name,
        root,
        files,
        retentionDays: s.retentionDays,
        overwrite: true,
        nameInput: 'report-artifact-name',
        log: actionsIO,
      })
    ).id;
}

/**
 * Reports a run some of whose experiments run detached. It leaves its settings in run.json for the watcher,
 * then: when every detached experiment has ended, it claims the run (report.lock) and reports it for good;
 * while some still run, it comments what there is under the lock and releases it, leaving the final report
 * to the watcher; when another reporter holds the lock, or the run was reported, it writes the summary only.
 */
async function reportDetached(opts: {
  base: Omit<PublishOptions, 'comment' | 'note' | 'reasons'>;
  store: RunStore;
  run: RunRecord;
  detached: readonly { id: string; instance: string; zone: string }[];
  owner: string;
}): Promise<void> {
  const { base, store, run } = opts;
  const s = base.settings;
  const manifest = await readManifest(s.path);
  const planned = manifest.experiments.filter((e) => e.planned !== false).map((e) => e.id);
  await store.updateRun(run.runId, run, (current) => ({
    ...current,
    ...(s.prNumber ? { prNumber: s.prNumber } : {}),
    experiments: planned,
    report: reportSettingsOf(s),
  }));
  const ids = opts.detached.map((d) => d.id);
  const claim = inlineClaim(ids, new Map(manifest.experiments.map((e) => [e.id, e.status])));
  const summaryOnly = async (why: string): Promise<void> => {
    core.info(why);
    await publishReport({ ...base, comment: false, note: escapeMarkdown(why) });
  };
  if (await store.isReported(run.runId)) {
    await summaryOnly(
      'The watcher already posted the final report of this run; this summary is for reference.',
    );
    return;
  }
  const at = new Date(systemClock.now()).toISOString();
  const lock = await store.claim(run.runId, {
    schema: RECORD_SCHEMA,
    owner: opts.owner,
    at,
    purpose: claim === 'final' ? 'final' : 'partial',
  });
  if (!lock) {
    await summaryOnly(
      'Another report of this run is being written (its report lock is held); this summary is for reference.',
    );
    return;
  }
  if (await store.isReported(run.runId)) {
    await store.release(run.runId, lock.generation);
    await summaryOnly(
      'The watcher already posted the final report of this run; this summary is for reference.',
    );
    return;
  }
  if (claim === 'final') {
    const published = await publishReport({ ...base, comment: true });
    await store.markReported(run.runId, {
      schema: RECORD_SCHEMA,
      at: new Date(systemClock.now()).toISOString(),
      by: opts.owner,
      commentUrl: published.comment?.url ?? null,
      experiments: published.data.totals.experiments,
      lost: published.data.totals.lost,
    });
    await store.clearPending(run.runId);
    core.info('Every detached experiment has ended: this is the final report of the run.');
    return;
  }
  const running = opts.detached.filter((d) => {
    const e = manifest.experiments.find((x) => x.id === d.id);
    return !e || e.status === 'unfinished' || e.status === 'missing';
  });
  const reasons = new Map(
    running.map((d) => [
      d.id,
      `running detached on ${d.instance} (${d.zone}); the watcher reports it when it ends`,
    ]),
  );
  try {
    await publishReport({
      ...base,
      comment: true,
      reasons,
      note:
        `⏳ ${running.length} experiment(s) still running detached: ` +
        `${running
          .slice(0, 10)
          .map((d) => `\`${escapeMarkdown(d.id)}\``)
          .join(', ')}${running.length > 10 ? ', ...' : ''}. ` +
        'This report is updated when they end.',
    });
  } finally {
    await store.release(run.runId, lock.generation);
  }
}

/** actions/report: the run's results as tables, charts and deltas in the job summary and one PR comment. */
async function reportStep(env: NodeJS.ProcessEnv): Promise<void> {
  const event = await readEvent(env);
  const s = parseReportInputs(
    (name) => core.getInput(name),
    env,
    event,
    env.GITHUB_WORKSPACE || process.cwd(),
  );
  let clients: GcpClients | undefined;
  if (s.project && s.bucket) {
    const connected = connectGcp({
      project: s.project,
      env,
      workloadIdentityProvider: s.workloadIdentityProvider,
      serviceAccount: s.serviceAccount,
    });
    clients = connected.clients;
    core.info(`Authenticating with ${connected.description} for baselines and detached experiments.`);
  }
  const explicitRef = core.getInput('baseline-ref').trim() !== '';
  const base = {
    settings: s,
    clients: s.baseline !== 'none' ? clients : undefined,
    explicitRef,
    upload: reportUploader(s),
    io: actionsIO,
  };
  try {
    let detached: { id: string; instance: string; zone: string }[] = [];
    let store: RunStore | undefined;
    const runId = s.runId ?? String((await readManifest(s.path)).runId);
    if (clients && s.bucket) {
      store = new RunStore(clients.storage, s.bucket, s.prefix);
      try {
        detached = (await store.listDetached(runId)).flatMap((d) =>
          d.record.ok
            ? [
                {
                  id: d.record.value.experiment,
                  instance: d.record.value.instance,
                  zone: d.record.value.zone,
                },
              ]
            : [],
        );
      } catch (err) {
        core.warning(`Could not look for detached experiments of run ${runId}: ${(err as Error).message}`);
      }
    }
    if (!store || detached.length === 0) {
      await publishReport({ ...base, comment: true });
      return;
    }
    const now = systemClock.now();
    await reportDetached({
      base,
      store,
      run: { ...runRecordFromEnv({ runId, env, event, now }), schema: RECORD_SCHEMA },
      detached,
      owner: `actions/report in workflow run ${env.GITHUB_RUN_ID ?? 'local'}`,
    });
  } finally {
    await clients?.close();
  }
}

/**
 * The entry point any runner calls (the bundle's index, GitHub's local-action): a failure becomes a failed
 * step with the action's name, never a crash.
 */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runAction('report', () => reportStep(env));
}
