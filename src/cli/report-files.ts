import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import { baselineOf } from '../report/compare.ts';
import { RESULTS_CSV, tidyCsv } from '../report/csv.ts';
import { renderHtml } from '../report/html.ts';
import { readExperimentFiles, readManifest } from '../report/load.ts';
import { directionsOf, mergeMetricInfos, metricInfosJson, parseMetricsText } from '../report/metric-info.ts';
import type { MetricInfo, ReportData } from '../report/model.ts';
import { reportData } from '../report/model.ts';
import type { BaselineInfo, RenderOptions } from '../report/render.ts';
import { renderReport } from '../report/render.ts';
import type { StatisticalMethod } from '../report/significance.ts';
import { comparedWith, parseStatisticalMethod } from '../report/significance.ts';

/** How a local report is titled and laid out. */
export interface LocalReportOptions {
  readonly title: string;
  /** `rows,columns`, as the report action's `pivot` input. */
  readonly pivot?: string | undefined;
  /** `name:higher,...` or the JSON mapping of declared metrics, as the report action's `metrics` input. */
  readonly metrics?: string | undefined;
  /** Said under the title, e.g. that the run was interrupted. */
  readonly note?: string | undefined;
  /** An earlier run directory to compare with: deltas and regressions, as on a pull request. */
  readonly baselineDir?: string | undefined;
  /** A change beyond this many percent in the worse direction is a regression (default 5). */
  readonly thresholdPercent?: number | undefined;
  /** How repetitions are compared with the baseline's, as the report action's inputs of the same names. */
  readonly test?: string | undefined;
  readonly adjust?: string | undefined;
  readonly alpha?: string | undefined;
  readonly replicate?: string | undefined;
}

/** The report files a run wrote. */
export interface LocalReport {
  readonly markdown: string;
  readonly html: string;
  /** results.csv: the run as tidy data, one row per experiment and metric. */
  readonly csv: string;
  readonly data: ReportData;
}

/** The statistical method of the comparison with `--baseline`; a bad option is a ConfigurationError naming it. */
export function localMethod(o: LocalReportOptions): StatisticalMethod {
  return parseStatisticalMethod(o, (setting) => `option --${setting}`);
}

/** Checks the report options before anything runs, so a typo fails fast. */
export function renderOptions(o: LocalReportOptions): RenderOptions {
  localMethod(o);
  const pivot = o.pivot?.trim() ? o.pivot.split(',').map((s) => s.trim()) : undefined;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `option --pivot must be one or two axis names, rows,columns (got ${JSON.stringify(o.pivot)})`,
    );
  }
  const metricInfo = metricsOption(o.metrics);
  const baseline: BaselineInfo = { kind: 'off' };
  return {
    title: o.note ? `${o.title} (${o.note})` : o.title,
    pivot,
    directions: directionsOf(metricInfo),
    metricInfo,
    baseline,
  };
}

function metricsOption(text: string | undefined): Map<string, MetricInfo> {
  try {
    return parseMetricsText(text ?? '');
  } catch (err) {
    throw new ConfigurationError(`option --${(err as Error).message}`);
  }
}

/**
 * The report options of a run of a spec: `--title`, else the spec's title, else `defaultTitle`; the spec's
 * metrics with `--metrics` over them, field by field (a direction given alone keeps the spec's unit).
 */
export function withSpecReport(
  given: Omit<LocalReportOptions, 'title'> & { readonly title?: string | undefined },
  spec: {
    readonly title?: string | undefined;
    readonly metrics?: ReadonlyMap<string, MetricInfo> | undefined;
  },
  defaultTitle: string,
): LocalReportOptions {
  const declared = spec.metrics ?? new Map<string, MetricInfo>();
  const metrics =
    declared.size > 0
      ? metricInfosJson(mergeMetricInfos(declared, metricsOption(given.metrics)))
      : given.metrics;
  return {
    ...given,
    title: given.title ?? spec.title ?? defaultTitle,
    ...(metrics !== undefined ? { metrics } : {}),
  };
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
    opts = {
      ...opts,
      baseline: await compareWith(o.baselineDir, data, opts, {
        thresholdPercent: o.thresholdPercent ?? 5,
        ...localMethod(o),
      }),
    };
  const markdown = path.join(outDir, 'report.md');
  const html = path.join(outDir, 'report.html');
  const csv = path.join(outDir, RESULTS_CSV);
  await writeFile(markdown, renderReport(data, opts));
  await writeFile(html, renderHtml(data, opts));
  await writeFile(csv, tidyCsv(manifest.experiments, files, opts.metricInfo));
  return { markdown, html, csv, data };
}

/** The comparison of a run with an earlier local run's collected results. */
async function compareWith(
  dir: string,
  data: ReportData,
  opts: RenderOptions,
  method: StatisticalMethod & { readonly thresholdPercent: number },
): Promise<BaselineInfo> {
  const results = path.join(dir, 'results');
  const manifest = await readManifest(results).catch((err: unknown) => {
    throw new ConfigurationError(
      `option --baseline: ${dir} holds no collected run (${(err as Error).message}); give the directory of an earlier gce-matrix run`,
    );
  });
  const before = reportData(manifest, await readExperimentFiles(results, manifest));
  // An earlier run directory is one run, not a branch's recorded runs: no history, so no z-scores or trends.
  const ref = `run ${before.runId}`;
  const baseline = baselineOf(before, { ref, sha: '', recordedAt: new Date(manifest.collectedAt) });
  return {
    kind: 'compared',
    ref,
    which: 'earlier-run',
    baseline,
    ...comparedWith(data, baseline, opts.directions, method),
    thresholdPercent: method.thresholdPercent,
  };
}
