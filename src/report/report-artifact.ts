/**
 * The report as files beside the job summary and comment: report.html (the self-contained page, with charts,
 * heatmaps and the branch's trend) and report.md (the full markdown, never shortened to fit a comment), kept as
 * one small workflow artifact per reported run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeMarkdown } from '../markdown.ts';

/** The file names inside the report directory (and the artifact). */
export const REPORT_HTML = 'report.html';
export const REPORT_MARKDOWN = 'report.md';

/** Uploads `files` (absolute paths under `root`) as the workflow artifact `name`; resolves to its id when known. */
export type ArtifactUploader = (
  name: string,
  root: string,
  files: readonly string[],
) => Promise<number | undefined>;

/** What a report artifact is called and where the comment and summary send readers for it. */
export interface ReportArtifactLink {
  readonly name: string;
  readonly url: string;
}

/** Characters @actions/artifact refuses in an artifact name. */
const UNSAFE = /[":<>|*?\r\n\\/]/g;

/**
 * The default name of a run's report artifact: `gce-matrix-report-RUN_ID`. The run id comes from a manifest
 * (possibly a fork's run), so what an artifact name cannot hold becomes `_`.
 */
export function reportArtifactName(runId: string): string {
  return `gce-matrix-report-${runId.slice(0, 100).replace(UNSAFE, '_') || 'run'}`;
}

/** Whether `name` is one @actions/artifact accepts (nothing it refuses, not empty). */
export function isArtifactName(name: string): boolean {
  return name.trim() !== '' && !new RegExp(UNSAFE.source).test(name);
}

/**
 * Where readers find the artifact: the artifacts list of the run that uploaded it (`runUrl#artifacts`). This
 * is the reporting run, which for a `workflow_run` report is not the run whose results it reports.
 */
export function reportArtifactLink(name: string, runUrl: string): ReportArtifactLink {
  return { name, url: `${runUrl}#artifacts` };
}

/** The artifact's own page (a download of its zip), as GitHub addresses it by id. */
export function artifactDownloadUrl(runUrl: string, id: number): string {
  return `${runUrl}/artifacts/${id}`;
}

/** The markdown line of the comment and job summary that points to the HTML report. */
export function htmlArtifactLine(link: ReportArtifactLink): string {
  return `Full report (HTML, with charts and trends): artifact [${escapeMarkdown(link.name)}](${link.url}).`;
}

/** Writes report.html and report.md into `dir` (created if need be); their absolute paths, the HTML first. */
export async function writeReportFiles(
  dir: string,
  html: string,
  markdown: string,
): Promise<[html: string, markdown: string]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string] = [path.resolve(dir, REPORT_HTML), path.resolve(dir, REPORT_MARKDOWN)];
  await writeFile(files[0], html);
  await writeFile(files[1], markdown);
  return files;
}
