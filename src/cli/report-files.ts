import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { baselineOf, parseDirections } from '../report/compare.ts';
import { RESULTS_CSV, tidyCsv } from '../report/csv.ts';
import { renderHtml } from '../report/html.ts';
import { readExperimentFiles, readManifest } from '../report/load.ts';
import type { ReportData } from '../report/model.ts';
import { reportData } from '../report/model.ts';
import type { BaselineInfo, RenderOptions } from '../report/render.ts';
import { renderReport } from '../report/render.ts';
import { comparedWith } from '../report/significance.ts';

/** How a local report is titled and laid out. */
export interface LocalReportOptions {
  readonly title: string;
  /** `rows,columns`, as the report action's `pivot` input. */
  readonly pivot?: string | undefined;
  /** `name:higher,...`, as the report action's `metrics` input. */
  readonly metrics?: string | undefined;
  /** Said under the title, e.g. that the run was interrupted. */
  readonly note?: string | undefined;
  /** An earlier run directory to compare with: deltas and regressions, as on a pull request. */
  readonly baselineDir?: string | undefined;
  /** A change beyond this many percent in the worse direction is a regression (default 5). */
  readonly thresholdPercent?: number | undefined;
}

/** The report files a run wrote. */
export interface LocalReport {
  readonly markdown: string;
  readonly html: string;
  /** results.csv: the run as tidy data, one row per experiment and metric. */
  readonly csv: string;
  readonly data: ReportData;
}

/** Checks the report options before anything runs, so a typo fails fast. */
export function renderOptions(o: LocalReportOptions): RenderOptions {
  const pivot = o.pivot?.trim() ? o.pivot.split(',').map((s) => s.trim()) : undefined;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `option --pivot must be one or two axis names, rows,columns (got ${JSON.stringify(o.pivot)})`,
    );
  }
  let directions;
  try {
    directions = parseDirections(o.metrics ?? '');
  } catch (err) {
    throw new ConfigurationError(`option --${(err as Error).message}`);
  }
  const baseline: BaselineInfo = { kind: 'off' };
  return { title: o.note ? `${o.title} (${o.note})` : o.title, pivot, directions, baseline };
}

/**
 * Reads what collect wrote in `resultsDir` and writes `report.md` and `report.html` into `outDir`, with the
 * same model and renderer as actions/report, and `results.csv` beside them.
 */
export async function writeLocalReport(
  resultsDir: string,
  outDir: string,
  o: LocalReportOptions,
): Promise<LocalReport> {
  const manifest = await readManifest(resultsDir);
  const files = await readExperimentFiles(resultsDir, manifest);
  const data = reportData(manifest, files);
  let opts = renderOptions(o);
  if (o.baselineDir)
    opts = { ...opts, baseline: await compareWith(o.baselineDir, data, opts, o.thresholdPercent ?? 5) };
  const markdown = path.join(outDir, 'report.md');
  const html = path.join(outDir, 'report.html');
  const csv = path.join(outDir, RESULTS_CSV);
  await writeFile(markdown, renderReport(data, opts));
  await writeFile(html, renderHtml(data, opts));
  await writeFile(csv, tidyCsv(manifest.experiments, files));
  return { markdown, html, csv, data };
}

/** The comparison of a run with an earlier local run's collected results. */
async function compareWith(
  dir: string,
  data: ReportData,
  opts: RenderOptions,
  thresholdPercent: number,
): Promise<BaselineInfo> {
  const results = path.join(dir, 'results');
  const manifest = await readManifest(results).catch((err: unknown) => {
    throw new ConfigurationError(
      `option --baseline: ${dir} holds no collected run (${(err as Error).message}); give the directory of an earlier gce-matrix run`,
    );
  });
  const before = reportData(manifest, await readExperimentFiles(results, manifest));
  const ref = `run ${before.runId}`;
  const baseline = baselineOf(before, { ref, sha: '', recordedAt: new Date(manifest.collectedAt) });
  return {
    kind: 'compared',
    ref,
    which: 'earlier-run',
    baseline,
    ...comparedWith(data, baseline, opts.directions, thresholdPercent),
    thresholdPercent,
  };
}
