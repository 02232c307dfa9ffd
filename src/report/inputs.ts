/**
 * The inputs of actions/report, and what the event says: the pull request, the branch to record or compare
 * against, and the run that produced the results (the current one, or the one a `workflow_run` follows).
 */
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { parseAuthInputs } from '../gcp/auth-inputs.ts';
import { readBoolean, readInteger } from '../inputs.ts';
import type { InputReader } from '../launch/inputs.ts';
import type { Centre, Direction, MetricInfo } from './model.ts';
import { directionsOf, parseMetricsText } from './metric-info.ts';
import type { PAdjustment, SignificanceTest } from './significance.ts';
import { parseStatisticalMethod } from './significance.ts';
import { DEFAULT_HISTORY, MAX_HISTORY } from './history.ts';
import { isArtifactName } from './report-artifact.ts';

/** What `baseline` resolves to for this event. */
export type BaselineMode = 'record' | 'compare' | 'none';

/** Everything actions/report needs, parsed and checked once. */
export interface ReportSettings {
  readonly path: string;
  readonly bucket: string | undefined;
  readonly prefix: string;
  readonly runId: string | undefined;
  readonly project: string | undefined;
  readonly workloadIdentityProvider: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly baseline: BaselineMode;
  /** The branch whose baseline is recorded or compared with. */
  readonly baselineRef: string;
  /** The commit a recorded baseline belongs to. */
  readonly sha: string;
  readonly pivot: readonly string[] | undefined;
  /** What pivot cells are centred on. */
  readonly centre: Centre;
  /** Which way each metric is better: the `better` of {@link ReportSettings.metricInfo}'s entries. */
  readonly directions: ReadonlyMap<string, Direction>;
  /** Units, directions and descriptions of metrics (input `metrics`, either form). */
  readonly metricInfo: ReadonlyMap<string, MetricInfo>;
  readonly thresholdPercent: number;
  /** How repetitions are compared with the baseline's: the test, the adjustment, the level, the replicate axis. */
  readonly test: SignificanceTest;
  readonly adjust: PAdjustment;
  readonly alpha: number;
  readonly replicate: string;
  /** Recorded runs kept in the branch's history.json (0: no history); absent: DEFAULT_HISTORY. */
  readonly history?: number;
  readonly prNumber: number | undefined;
  readonly githubToken: string;
  readonly comment: boolean;
  readonly title: string;
  /** The stable key of the hidden comment marker (per workflow and title). */
  readonly markerKey: string;
  readonly repository: string;
  readonly apiUrl: string;
  readonly runUrl: string;
  readonly artifactUrl: string;
  /** Where report.html and report.md are written; undefined: a new temporary directory (for the artifact only). */
  readonly reportPath?: string | undefined;
  /** Upload report.html and report.md as a workflow artifact (when the caller can upload); default true. */
  readonly reportArtifact?: boolean;
  /** The artifact's name; undefined: gce-matrix-report-RUN_ID. */
  readonly reportArtifactName?: string | undefined;
  /** Days to keep the report artifact; undefined: the repository's default. */
  readonly retentionDays?: number | undefined;
}

/** The parts of the runner's environment and event the report reads. */
export interface ReportEvent {
  readonly name: string;
  readonly payload: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

const REF = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

/** The PR the event is about: a pull_request event, a comment on a PR, a dispatch input, a workflow_run. */
export function prNumberOf(event: ReportEvent): number | undefined {
  const p = event.payload;
  let n: unknown;
  if (event.name === 'pull_request' || event.name === 'pull_request_target') n = obj(p.pull_request).number;
  else if (event.name === 'issue_comment' && obj(p.issue).pull_request) n = obj(p.issue).number;
  else if (event.name === 'workflow_dispatch') n = obj(p.inputs)['pr-number'];
  else if (event.name === 'workflow_run') {
    const prs = obj(p.workflow_run).pull_requests;
    if (Array.isArray(prs) && prs.length === 1) n = obj(prs[0]).number;
  }
  const v = Number(n);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** A stable, marker-safe key: letters, digits and `. _ / -`, no `--` (it would end an HTML comment). */
export function markerKey(text: string): string {
  return (
    text
      .replace(/[^A-Za-z0-9._/ -]/g, '-')
      .replace(/\s+/g, '-')
      .replace(/-{2,}/g, '-')
      .slice(0, 100) || 'default'
  );
}

/** The hidden line that identifies the report's comment. */
export function markerLine(key: string): string {
  return `<!-- gce-matrix-report: ${markerKey(key)} -->`;
}

/** Parses and checks every input of actions/report; throws a ConfigurationError naming the first bad one. */
export function parseReportInputs(
  read: InputReader,
  env: NodeJS.ProcessEnv,
  event: ReportEvent,
  workspace: string = process.cwd(),
): ReportSettings {
  const p = event.payload;
  const run = obj(p.workflow_run);
  const fromRun = event.name === 'workflow_run';
  // In fork-safe mode the results and their commit are the triggering run's, not this workflow's.
  const originEvent = fromRun ? str(run.event) : event.name;
  const repo = obj(p.repository);
  const defaultBranch = str(repo.default_branch) || 'main';
  const branch = fromRun ? str(run.head_branch) : (env.GITHUB_REF ?? '').replace(/^refs\/heads\//, '');

  const mode = (read('baseline').trim().toLowerCase() || 'auto') as BaselineMode | 'auto';
  if (!['auto', 'record', 'compare', 'none'].includes(mode)) {
    throw new ConfigurationError(
      `input baseline must be auto, record, compare or none (got ${JSON.stringify(mode)})`,
    );
  }
  const onDefault = branch === defaultBranch;
  const baseline: BaselineMode =
    mode !== 'auto'
      ? mode
      : (originEvent === 'schedule' || originEvent === 'push') && onDefault
        ? 'record'
        : 'compare';

  const prRaw = read('pr-number').trim();
  let prNumber: number | undefined;
  if (prRaw) {
    prNumber = Number(prRaw);
    if (!Number.isInteger(prNumber) || prNumber < 1) {
      throw new ConfigurationError(
        `input pr-number must be a pull request number (got ${JSON.stringify(prRaw)})`,
      );
    }
  } else {
    prNumber = prNumberOf(event);
  }

  const prBase = str(obj(obj(p.pull_request).base).ref);
  const baselineRef =
    read('baseline-ref').trim() ||
    (baseline === 'record' ? branch || defaultBranch : prBase || defaultBranch);
  if (!REF.test(baselineRef) || baselineRef.includes('..')) {
    throw new ConfigurationError(`input baseline-ref ${JSON.stringify(baselineRef)} is not a branch name`);
  }

  const bucket =
    read('bucket')
      .trim()
      .replace(/^gs:\/\//, '')
      .replace(/\/+$/, '') || undefined;
  if (baseline !== 'none' && !bucket) {
    throw new ConfigurationError(
      `input bucket is required to ${baseline} a baseline (or set baseline: none)`,
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const project =
    read('project').trim() ||
    env.GOOGLE_CLOUD_PROJECT ||
    env.CLOUDSDK_CORE_PROJECT ||
    env.GCLOUD_PROJECT ||
    undefined;
  if (baseline !== 'none' && !project) {
    throw new ConfigurationError('input project is required for baselines (or set GOOGLE_CLOUD_PROJECT)');
  }

  const pivotRaw = read('pivot').trim();
  const pivot = pivotRaw ? pivotRaw.split(',').map((s) => s.trim()) : undefined;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `input pivot must be one or two axis names, rows,columns (got ${JSON.stringify(pivotRaw)})`,
    );
  }
  const centre = (read('centre').trim().toLowerCase() || 'median') as Centre;
  if (centre !== 'median' && centre !== 'mean') {
    throw new ConfigurationError(
      `input centre must be median (the default: with a distribution-free interval) or mean (with a t interval); got ${JSON.stringify(centre)}`,
    );
  }
  let metricInfo: Map<string, MetricInfo>;
  try {
    metricInfo = parseMetricsText(read('metrics'));
  } catch (err) {
    throw new ConfigurationError(`input ${(err as Error).message}`);
  }
  const directions = directionsOf(metricInfo);
  const thresholdRaw = read('regression-threshold').trim() || '5';
  const thresholdPercent = Number(thresholdRaw.replace(/%$/, ''));
  if (!Number.isFinite(thresholdPercent) || thresholdPercent < 0) {
    throw new ConfigurationError(
      `input regression-threshold must be a percentage of 0 or more (got ${JSON.stringify(thresholdRaw)})`,
    );
  }
  const method = parseStatisticalMethod(
    { test: read('test'), adjust: read('adjust'), alpha: read('alpha'), replicate: read('replicate') },
    (setting) => `input ${setting}`,
  );
  const historyRaw = read('history').trim() || String(DEFAULT_HISTORY);
  const history = Number(historyRaw);
  if (!/^\d+$/.test(historyRaw) || history > MAX_HISTORY) {
    throw new ConfigurationError(
      `input history must be how many recorded runs of the branch to keep for z-scores and trends, a whole number from 0 (off) to ${MAX_HISTORY} (got ${JSON.stringify(historyRaw)})`,
    );
  }
  const commentRaw = read('comment').trim().toLowerCase() || 'true';
  if (commentRaw !== 'true' && commentRaw !== 'false') {
    throw new ConfigurationError(`input comment must be true or false (got ${JSON.stringify(commentRaw)})`);
  }
  const reportPath = read('report-path').trim();
  const reportArtifactName = read('report-artifact-name').trim() || undefined;
  if (reportArtifactName !== undefined && !isArtifactName(reportArtifactName)) {
    throw new ConfigurationError(
      `input report-artifact-name ${JSON.stringify(reportArtifactName)} holds a character artifacts refuse (" : < > | * ? \\ / CR LF); choose another name`,
    );
  }
  const retention = read('retention-days').trim();
  const title = read('title').trim() || 'gce-matrix report';
  const runIdInput = read('run-id').trim() || undefined;

  const repository = env.GITHUB_REPOSITORY ?? str(repo.full_name);
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const runUrl = `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID ?? ''}`;
  const originRunId = fromRun ? str(run.id) : (env.GITHUB_RUN_ID ?? '');
  const workflowName = fromRun ? str(run.name) || str(obj(p.workflow).name) : env.GITHUB_WORKFLOW || '';
  return {
    path: path.resolve(workspace, read('path').trim() || 'gce-matrix-results'),
    bucket,
    prefix: (read('prefix').trim() || 'gce-matrix').replace(/^\/+|\/+$/g, ''),
    runId: runIdInput,
    project,
    workloadIdentityProvider,
    serviceAccount,
    baseline,
    baselineRef,
    sha: (fromRun ? str(run.head_sha) : env.GITHUB_SHA) || '',
    pivot,
    centre,
    directions,
    metricInfo,
    thresholdPercent,
    ...method,
    history,
    prNumber,
    githubToken: read('github-token').trim(),
    comment: commentRaw === 'true',
    title,
    markerKey: markerKey(`${workflowName || 'workflow'}/${title}`),
    repository,
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    runUrl,
    artifactUrl: `${server}/${repository}/actions/runs/${originRunId}#artifacts`,
    reportPath: reportPath ? path.resolve(workspace, reportPath) : undefined,
    reportArtifact: readBoolean(read, 'report-artifact', true),
    reportArtifactName,
    retentionDays: retention ? readInteger(read, 'retention-days', 0, 1, 400) : undefined,
  };
}
