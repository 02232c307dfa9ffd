/**
 * results.csv: a collected run as tidy data, one row per experiment and metric, for pandas, R or a spreadsheet.
 * Pure: the manifest and each experiment's metrics.json are read elsewhere and handed in.
 *
 * The format is RFC 4180: UTF-8 without a byte-order mark, comma-separated, every record (the header too)
 * ended by CRLF. A field is quoted when it holds a comma, a quote, CR or LF, or starts or ends with
 * whitespace; quotes inside are doubled. Numbers are JavaScript's shortest round-trip form (`0.1`, `1e-7`),
 * never localised. A text field that starts with `=`, `+`, `-`, `@`, tab or CR and is not a number gets a
 * leading `'`, so that a spreadsheet shows it rather than running it as a formula.
 */
import type { ManifestExperiment } from '../collect/manifest.ts';
import { estimateCostUsd } from '../launch/cost.ts';
import type { ExperimentFiles, MetricInfo } from './model.ts';
import { paramNames, toReportExperiment } from './model.ts';

/** The file's name, beside manifest.json in the results directory (and beside a local run's reports). */
export const RESULTS_CSV = 'results.csv';

/**
 * Prefix of the parameter columns: `param_tool` for the axis `tool`. No fixed column starts with it, so a
 * parameter named `status` or `value` cannot clash with one.
 */
export const PARAM_PREFIX = 'param_';

/** The columns after the parameters, in order. */
export const TIDY_COLUMNS = [
  'status',
  'attempt',
  'started_at',
  'ended_at',
  'duration_seconds',
  'cost_usd',
  'commit',
  'zone',
  'machine_type',
  'spot',
  'metric',
  'value',
  'unit',
] as const;

type Cell = string | number | boolean | undefined;

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One field, escaped: see the file's comment for the rules. */
export function csvField(value: Cell): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let text = String(value);
  if (FORMULA_START.test(text) && !NUMBER.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRecord(cells: readonly Cell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`;
}

/** A parameter's value as text: scalars as written, anything else as JSON, null as an empty cell. */
function paramCell(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The tidy table of a run: a header, then one row per experiment and numeric metric of its metrics.json
 * (experiments by id, metrics by name), and one row with empty `metric` and `value` for an experiment that
 * has none, so that no experiment is left out. Columns: `experiment`, one `param_NAME` per matrix parameter
 * (the union over the experiments; empty where an experiment lacks it), then {@link TIDY_COLUMNS}. What the
 * manifest does not know is an empty cell; `cost_usd` is the report's estimate, empty when the duration or the
 * machine type's price is unknown; `unit` is the metric's declared unit (`metricInfo`), empty when none is.
 */
export function tidyCsv(
  experiments: readonly ManifestExperiment[],
  files: ReadonlyMap<string, ExperimentFiles> = new Map(),
  metricInfo: ReadonlyMap<string, MetricInfo> = new Map(),
): string {
  const sorted = [...experiments].sort((a, b) => byCodeUnit(a.id, b.id));
  const shown = sorted.map((e) => toReportExperiment(e, files.get(e.id)));
  const params = paramNames(shown);
  const lines = [csvRecord(['experiment', ...params.map((p) => `${PARAM_PREFIX}${p}`), ...TIDY_COLUMNS])];
  sorted.forEach((e, i) => {
    const r = shown[i];
    const given: unknown = e.params ?? e.provenance?.parameters;
    const raw = given && typeof given === 'object' ? (given as Record<string, unknown>) : {};
    const prov = e.provenance && typeof e.provenance === 'object' ? e.provenance : undefined;
    const machineType = textOf(prov?.machineType);
    const spot = typeof prov?.spot === 'boolean' ? prov.spot : undefined;
    // The estimate counts an unknown machine type as free; that is not a cost anyone knows.
    const priced = machineType !== undefined && estimateCostUsd(machineType, [], spot === true, 3600) > 0;
    const fixed: Cell[] = [
      e.status,
      typeof e.attempts === 'number' ? e.attempts : undefined,
      textOf(e.startedAt),
      textOf(e.endedAt),
      r.durationSeconds,
      priced ? r.costUsd : undefined,
      r.commit,
      r.zone,
      machineType,
      spot,
    ];
    const head: Cell[] = [
      e.id,
      ...params.map((p) => (Object.hasOwn(raw, p) ? paramCell(raw[p]) : undefined)),
      ...fixed,
    ];
    const metrics = Object.entries(r.metrics).sort(([a], [b]) => byCodeUnit(a, b));
    if (metrics.length === 0) lines.push(csvRecord([...head, undefined, undefined, undefined]));
    for (const [name, value] of metrics) {
      lines.push(csvRecord([...head, name, value, metricInfo.get(name)?.unit]));
    }
  });
  return lines.join('');
}
