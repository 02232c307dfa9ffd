import * as core from '@actions/core';
import { readEvent } from '../event.ts';
import type { GcpClients } from '../gcp/clients.ts';
import { connectGcp } from '../gcp/clients.ts';
import { recordBaseline, findBaseline } from './baseline.ts';
import { pullRequestBase, upsertComment } from './comment.ts';
import { baselineOf, compare } from './compare.ts';
import type { ReportSettings } from './inputs.ts';
import { markerLine, parseReportInputs } from './inputs.ts';
import { readExperimentFiles, readManifest } from './load.ts';
import type { ReportData } from './model.ts';
import { reportData } from './model.ts';
import type { BaselineInfo, RenderOptions } from './render.ts';
import { renderComment, renderReport, summaryJson, SUMMARY_LIMIT } from './render.ts';

async function resolveBaseline(
  s: ReportSettings,
  data: ReportData,
  clients: GcpClients | undefined,
  explicitRef: boolean,
): Promise<BaselineInfo> {
  if (s.baseline === 'none' || !clients || !s.bucket) return { kind: 'off' };
  if (s.baseline === 'record') {
    const baseline = baselineOf(data, { ref: s.baselineRef, sha: s.sha, recordedAt: new Date() });
    const objects = await recordBaseline(clients.storage, s.bucket, s.prefix, baseline);
    core.info(
      `Recorded the baseline of ${s.baselineRef} (${Object.keys(baseline.experiments).length} experiment(s)).`,
    );
    return { kind: 'recorded', ref: s.baselineRef, sha: s.sha, objects };
  }
  let ref = s.baselineRef;
  let mergeBase: string | undefined;
  if (s.prNumber && s.githubToken) {
    const pr = await pullRequestBase({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      number: s.prNumber,
    });
    if (pr) {
      if (!explicitRef) ref = pr.ref;
      mergeBase = pr.mergeBase;
    }
  }
  const found = await findBaseline(clients.storage, s.bucket, s.prefix, ref, mergeBase);
  if (!found) return { kind: 'none', ref };
  return {
    kind: 'compared',
    ref,
    which: found.which,
    baseline: found.baseline,
    comparison: compare(data, found.baseline, s.directions, s.thresholdPercent),
    thresholdPercent: s.thresholdPercent,
  };
}

/** actions/report: the run's results as tables, charts and deltas in the job summary and one PR comment. */
export async function run(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const event = await readEvent(env);
  const s = parseReportInputs(
    (name) => core.getInput(name),
    env,
    event,
    env.GITHUB_WORKSPACE || process.cwd(),
  );
  const manifest = await readManifest(s.path);
  if (s.runId && s.runId !== String(manifest.runId)) {
    core.warning(
      `manifest.json is of run ${String(manifest.runId)}, not ${s.runId} (input run-id): reporting it anyway`,
    );
  }
  const started = Date.now();
  const data = reportData(manifest, await readExperimentFiles(s.path, manifest));

  let clients: GcpClients | undefined;
  if (s.baseline !== 'none' && s.project) {
    const connected = connectGcp({
      project: s.project,
      env,
      workloadIdentityProvider: s.workloadIdentityProvider,
      serviceAccount: s.serviceAccount,
    });
    clients = connected.clients;
    core.info(`Authenticating with ${connected.description} for baselines.`);
  }
  let baseline: BaselineInfo;
  try {
    baseline = await resolveBaseline(s, data, clients, core.getInput('baseline-ref').trim() !== '');
  } finally {
    await clients?.close();
  }

  const marker = markerLine(s.markerKey);
  const opts: RenderOptions = {
    title: s.title,
    pivot: s.pivot,
    directions: s.directions,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl,
  };
  let summary = renderReport(data, opts);
  if (summary.length > SUMMARY_LIMIT) summary = renderReport(data, opts, 100);
  if (summary.length > SUMMARY_LIMIT) summary = renderComment(data, opts);
  await core.summary.addRaw(summary).write();
  const regressions = baseline.kind === 'compared' ? baseline.comparison.regressions.length : 0;
  core.setOutput('summary-json', summaryJson(data, baseline));
  core.setOutput('regressions', String(regressions));
  core.info(
    `Rendered ${data.experiments.length} experiment(s), ${data.metrics.length} metric(s) in ${Date.now() - started} ms; ` +
      `${regressions} regression(s).`,
  );

  if (!s.comment) return;
  if (!s.prNumber) {
    core.info(
      'No pull request for this event (and no pr-number): no comment, the job summary has the report.',
    );
    return;
  }
  if (!s.githubToken) {
    core.warning('No github-token: cannot comment on the pull request; the job summary has the report.');
    return;
  }
  const body = renderComment(data, { ...opts, marker });
  try {
    const c = await upsertComment({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      number: s.prNumber,
      marker,
      body,
    });
    core.setOutput('comment-id', String(c.id));
    core.setOutput('comment-url', c.url);
    core.info(
      `${c.action === 'created' ? 'Created' : 'Updated'} the report comment on #${s.prNumber} (${body.length} characters).`,
    );
  } catch (err) {
    // A read-only token (a pull_request from a fork) cannot comment: the summary still has everything.
    core.warning(
      `Could not comment on pull request #${s.prNumber}: ${(err as Error).message}. ` +
        'For pull requests from forks, report from a workflow_run workflow (see actions/report/README.md).',
    );
  }
}
