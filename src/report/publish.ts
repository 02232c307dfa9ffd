/**
 * Renders a collected run and publishes it: the job summary, the outputs and (when asked) the one PR comment
 * found by its marker. actions/report and the watcher both report through it.
 */
import type { Storage } from '@google-cloud/storage';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GcpClients } from '../gcp/clients.ts';
import { appendHistoryEntry, findBaseline, historyObject, readHistory, recordBaseline } from './baseline.ts';
import { pullRequestBase, upsertComment } from './comment.ts';
import { baselineOf } from './compare.ts';
import type { ReportSettings } from './inputs.ts';
import { markerLine } from './inputs.ts';
import { readExperimentFiles, readManifest } from './load.ts';
import type { ReportData } from './model.ts';
import { reportData } from './model.ts';
import type { BaselineInfo, RenderOptions } from './render.ts';
import { renderComment, renderReport, significantRegressions, summaryJson, SUMMARY_LIMIT } from './render.ts';
import { comparedWith } from './significance.ts';
import type { History } from './history.ts';
import { renderHtml } from './html.ts';
import type { ArtifactUploader, ReportArtifactLink } from './report-artifact.ts';
import {
  artifactDownloadUrl,
  REPORT_HTML,
  REPORT_MARKDOWN,
  reportArtifactLink,
  reportArtifactName,
  writeReportFiles,
} from './report-artifact.ts';
import { compareWithHistory, DEFAULT_HISTORY, historyEntryOf, MIN_HISTORY_RUNS } from './history.ts';

/** Where a report goes besides GitHub: the step's log, summary and outputs. */
export interface ReportIO {
  info(message: string): void;
  warning(message: string): void;
  /** Appends markdown to the job summary. */
  summary(markdown: string): Promise<void>;
  output(name: string, value: string): void;
}

/** What to publish and how. */
export interface PublishOptions {
  readonly settings: ReportSettings;
  /** Cloud Storage access for baselines; without it the report has none. */
  readonly clients: Pick<GcpClients, 'storage'> | undefined;
  /** The baseline branch was given explicitly (a PR's base branch does not replace it). */
  readonly explicitRef: boolean;
  /** Create or update the PR comment (when settings allow); false: the summary only. */
  readonly comment: boolean;
  /** Without a pull request, comment on the run's commit instead (a watcher finishing a scheduled run). */
  readonly commitComment?: boolean;
  /** Markdown under the headline, built from escaped text. */
  readonly note?: string | undefined;
  /** Reasons to show for experiments without a status (e.g. still running detached), by id. */
  readonly reasons?: ReadonlyMap<string, string> | undefined;
  /** Uploads report.html and report.md as a workflow artifact; undefined: not uploaded. */
  readonly upload?: ArtifactUploader | undefined;
  readonly io: ReportIO;
}

/** What was published. */
export interface PublishedReport {
  readonly data: ReportData;
  readonly regressions: number;
  readonly comment: { id: number; url: string } | undefined;
  /** The uploaded HTML report, linked from the summary and comment. */
  readonly htmlArtifact?: ReportArtifactLink | undefined;
}

async function resolveBaseline(
  s: ReportSettings,
  data: ReportData,
  clients: Pick<GcpClients, 'storage'> | undefined,
  explicitRef: boolean,
  io: ReportIO,
): Promise<BaselineInfo> {
  if (s.baseline === 'none' || !clients || !s.bucket) return { kind: 'off' };
  if (s.baseline === 'record') {
    const baseline = baselineOf(data, { ref: s.baselineRef, sha: s.sha, recordedAt: new Date() });
    const objects = await recordBaseline(clients.storage, s.bucket, s.prefix, baseline);
    io.info(
      `Recorded the baseline of ${s.baselineRef} (${Object.keys(baseline.experiments).length} experiment(s)).`,
    );
    const kept = await recordHistory(s, data, clients.storage, s.bucket, io);
    return { kind: 'recorded', ref: s.baselineRef, sha: s.sha, objects: kept ? [...objects, kept] : objects };
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
  const compared: Extract<BaselineInfo, { kind: 'compared' }> = {
    kind: 'compared',
    ref,
    which: found.which,
    baseline: found.baseline,
    ...comparedWith(data, found.baseline, s.directions, {
      thresholdPercent: s.thresholdPercent,
      test: s.test,
      adjust: s.adjust,
      alpha: s.alpha,
      replicate: s.replicate,
    }),
    thresholdPercent: s.thresholdPercent,
  };
  return withHistory(compared, s, data, clients.storage, s.bucket, io);
}

/** Appends this run to the branch's history.json (unless `history` is 0); its object name, or undefined. */
async function recordHistory(
  s: ReportSettings,
  data: ReportData,
  storage: Storage,
  bucket: string,
  io: ReportIO,
): Promise<string | undefined> {
  const keep = s.history ?? DEFAULT_HISTORY;
  if (keep === 0) return undefined;
  const entry = historyEntryOf(data, { sha: s.sha, recordedAt: new Date(), replicate: s.replicate });
  try {
    const w = await appendHistoryEntry(storage, bucket, s.prefix, s.baselineRef, entry, keep);
    if (w.replaced) io.warning(w.replaced);
    io.info(
      `Kept ${w.history.entries.length} recorded run(s) of ${s.baselineRef} in ${w.object} (at most ${keep}).`,
    );
    return w.object;
  } catch (err) {
    // The baseline itself is recorded: a history that could not be kept costs z-scores, not the report.
    io.warning(`Could not add this run to the history of ${s.baselineRef}: ${(err as Error).message}`);
    return undefined;
  }
}

/** `compared` with each comparison's z-score against the branch's history.json, when there is one to read. */
async function withHistory(
  compared: Extract<BaselineInfo, { kind: 'compared' }>,
  s: ReportSettings,
  data: ReportData,
  storage: Storage,
  bucket: string,
  io: ReportIO,
): Promise<BaselineInfo> {
  if ((s.history ?? DEFAULT_HISTORY) === 0) return compared;
  let history: History | undefined;
  try {
    history = await readHistory(storage, bucket, s.prefix, compared.ref);
  } catch (err) {
    io.warning(
      `Could not read the history of ${compared.ref} (${(err as Error).message}): reporting without z-scores.`,
    );
    return compared;
  }
  if (!history) {
    // Every branch starts without one: a note, not a warning on each PR until the first scheduled run.
    io.info(
      `No history of ${compared.ref} yet (${historyObject(s.prefix, compared.ref)}): z-scores appear once ${MIN_HISTORY_RUNS} runs are recorded there.`,
    );
    return compared;
  }
  return {
    ...compared,
    history: compareWithHistory(history, compared.significance.comparisons, { runId: data.runId }),
  };
}

/**
 * Writes report.html and report.md (into `reportPath`, else a temporary directory when they are only for the
 * artifact) and uploads them. Anything that goes wrong is a warning: the summary and comment still report.
 */
async function publishHtml(
  s: ReportSettings,
  data: ReportData,
  render: RenderOptions,
  upload: ArtifactUploader | undefined,
  io: ReportIO,
): Promise<ReportArtifactLink | undefined> {
  const uploading = upload !== undefined && s.reportArtifact !== false;
  if (!s.reportPath && !uploading) return undefined;
  const name = s.reportArtifactName ?? reportArtifactName(data.runId);
  let doing = 'write the HTML report';
  try {
    // A self-hosted runner keeps the system's temporary directory between jobs; RUNNER_TEMP is emptied after each.
    const temp = process.env.RUNNER_TEMP || tmpdir();
    const dir = s.reportPath ?? (await mkdtemp(path.join(temp, 'gce-matrix-report-')));
    const files = await writeReportFiles(dir, renderHtml(data, render), renderReport(data, render));
    io.output('report-html', files[0]);
    io.info(`Wrote ${REPORT_HTML} and ${REPORT_MARKDOWN} to ${dir}.`);
    if (!upload || !uploading) return undefined;
    doing = `upload the HTML report as artifact ${name}`;
    const id = await upload(name, dir, files);
    const link = reportArtifactLink(name, s.runUrl);
    io.output('report-artifact-name', name);
    io.output('report-artifact-id', id === undefined ? '' : String(id));
    io.output('report-artifact-url', id === undefined ? link.url : artifactDownloadUrl(s.runUrl, id));
    io.info(`Uploaded the HTML report as artifact ${name}${id === undefined ? '' : ` (id ${id})`}.`);
    return link;
  } catch (err) {
    io.warning(`Could not ${doing}: ${(err as Error).message}. The job summary still has the report.`);
    return undefined;
  }
}

/** Publishes the report of the collected run in `settings.path` (see the module comment). */
export async function publishReport(opts: PublishOptions): Promise<PublishedReport> {
  const { settings: s, io } = opts;
  const manifest = await readManifest(s.path);
  if (s.runId && s.runId !== String(manifest.runId)) {
    io.warning(
      `manifest.json is of run ${String(manifest.runId)}, not ${s.runId} (input run-id): reporting it anyway`,
    );
  }
  const started = Date.now();
  let data = reportData(manifest, await readExperimentFiles(s.path, manifest));
  if (opts.reasons && opts.reasons.size > 0) {
    const reasons = opts.reasons;
    data = {
      ...data,
      experiments: data.experiments.map((x) =>
        reasons.has(x.id) && (x.status === 'unfinished' || x.status === 'missing')
          ? { ...x, reason: reasons.get(x.id) }
          : x,
      ),
    };
  }
  const baseline = await resolveBaseline(s, data, opts.clients, opts.explicitRef, io);

  const marker = markerLine(s.markerKey);
  let render: RenderOptions = {
    title: s.title,
    pivot: s.pivot,
    centre: s.centre,
    directions: s.directions,
    metricInfo: s.metricInfo,
    baseline,
    runUrl: s.runUrl,
    artifactUrl: s.artifactUrl,
    note: opts.note,
  };
  const htmlArtifact = await publishHtml(s, data, render, opts.upload, io);
  if (htmlArtifact) render = { ...render, htmlArtifact };
  let summary = renderReport(data, render);
  if (summary.length > SUMMARY_LIMIT) summary = renderReport(data, render, 100);
  if (summary.length > SUMMARY_LIMIT) summary = renderComment(data, render);
  await io.summary(summary);
  const regressions = significantRegressions(baseline).length;
  io.output('summary-json', summaryJson(data, baseline));
  io.output('regressions', String(regressions));
  io.info(
    `Rendered ${data.experiments.length} experiment(s), ${data.metrics.length} metric(s) in ${Date.now() - started} ms; ` +
      `${regressions} regression(s).`,
  );

  const done = (comment?: { id: number; url: string }): PublishedReport => ({
    data,
    regressions,
    comment,
    htmlArtifact,
  });
  if (!s.comment || !opts.comment) return done();
  const onCommit = !s.prNumber && opts.commitComment === true && /^[0-9a-f]{40}$/.test(s.sha);
  if (!s.prNumber && !onCommit) {
    io.info('No pull request for this event (and no pr-number): no comment, the job summary has the report.');
    return done();
  }
  const where = s.prNumber ? `pull request #${s.prNumber}` : `commit ${s.sha.slice(0, 12)}`;
  if (!s.githubToken) {
    io.warning(`No github-token: cannot comment on the ${where}; the job summary has the report.`);
    return done();
  }
  const body = renderComment(data, { ...render, marker });
  try {
    const c = await upsertComment({
      token: s.githubToken,
      apiUrl: s.apiUrl,
      repository: s.repository,
      target: s.prNumber ? { number: s.prNumber } : { sha: s.sha },
      marker,
      body,
    });
    io.output('comment-id', String(c.id));
    io.output('comment-url', c.url);
    io.info(
      `${c.action === 'created' ? 'Created' : 'Updated'} the report comment on ${s.prNumber ? `#${s.prNumber}` : `commit ${s.sha.slice(0, 12)}`} (${body.length} characters).`,
    );
    return done({ id: c.id, url: c.url });
  } catch (err) {
    // A read-only token (a pull_request from a fork, or no contents: write for a commit) cannot comment: the
    // summary still has everything.
    io.warning(
      `Could not comment on ${where}: ${(err as Error).message}. ` +
        (s.prNumber
          ? 'For pull requests from forks, report from a workflow_run workflow (see actions/report/README.md).'
          : 'The job summary has the report (commit comments need contents: write).'),
    );
    return done();
  }
}
