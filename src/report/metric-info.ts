/**
 * What a spec (`metrics:`) or the report's `metrics` input declares about metrics: unit, which way is better,
 * description. One parser for both, so the plan's `metrics` output reads back exactly as the spec said. Pure.
 */
import { isMapping } from '../json-value.ts';
import { ConfigurationError } from '../errors.ts';
import { parseDirections } from './compare.ts';
import type { Direction, MetricInfo } from './model.ts';

/** Bounds of what a metric declaration may hold (it all ends up in headers and table cells). */
export const METRIC_LIMITS = { name: 100, unit: 20, description: 300 } as const;

/** The keys a metric's mapping may have. */
export const METRIC_KEYS = ['unit', 'better', 'description'] as const;

/** Line breaks and other control characters: headers, CSV cells and outputs are single-line. */
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

/** `metrics.line_coverage` for a plain name, `metrics["p 95"]` for any other. */
function keyPath(where: string, name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? `${where}.${name}` : `${where}[${JSON.stringify(name)}]`;
}

function direction(value: unknown, where: string): Direction {
  const d = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (d !== 'higher' && d !== 'lower') {
    throw new ConfigurationError(`${where} must be higher or lower (got ${shown(value)})`);
  }
  return d;
}

function line(value: unknown, where: string, max: number): string | undefined {
  if (typeof value !== 'string') {
    throw new ConfigurationError(`${where} must be text on one line (got ${shown(value)})`);
  }
  const text = value.trim();
  if (CONTROL.test(text)) {
    throw new ConfigurationError(`${where} holds a line break or control character; keep it on one line`);
  }
  if (text.length > max) {
    throw new ConfigurationError(`${where} is ${text.length} characters, more than ${max}; shorten it`);
  }
  return text || undefined;
}

function metricInfo(value: unknown, where: string): MetricInfo {
  if (typeof value === 'string') return { better: direction(value, where) };
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of ${METRIC_KEYS.join(', ')} or a direction (higher or lower), e.g. {unit: ms, better: lower} (got ${shown(value)})`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!(METRIC_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `${where} has an unknown key ${JSON.stringify(key)}; a metric may have ${METRIC_KEYS.join(', ')}`,
      );
    }
  }
  const unit = value.unit === undefined ? undefined : line(value.unit, `${where}.unit`, METRIC_LIMITS.unit);
  const better = value.better === undefined ? undefined : direction(value.better, `${where}.better`);
  const description =
    value.description === undefined
      ? undefined
      : line(value.description, `${where}.description`, METRIC_LIMITS.description);
  return {
    ...(unit !== undefined ? { unit } : {}),
    ...(better !== undefined ? { better } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

/**
 * Checks a `metrics` mapping (metric name to `{unit, better, description}`, or to a bare direction) and returns
 * it in the order given. `where` names the mapping in messages (`input spec: metrics`); a bad entry is named by
 * its key path (`input spec: metrics.time_s.better`).
 */
export function parseMetricInfos(value: unknown, where: string): Map<string, MetricInfo> {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of metric names to {unit, better, description}, e.g. {time_s: {unit: s, better: lower}} (got ${shown(value)})`,
    );
  }
  const out = new Map<string, MetricInfo>();
  for (const [name, info] of Object.entries(value)) {
    if (name.trim() === '' || CONTROL.test(name) || name.length > METRIC_LIMITS.name) {
      throw new ConfigurationError(
        `${where}: metric name ${JSON.stringify(name.slice(0, 40))} must be 1-${METRIC_LIMITS.name} characters on one line`,
      );
    }
    out.set(name, metricInfo(info, keyPath(where, name)));
  }
  return out;
}

/**
 * Parses the report's `metrics` text: the JSON mapping the plan step outputs (it starts with `{`), or
 * `name:higher, other:lower`. Messages start with `metrics`; the caller says whose (`input `, `option --`).
 */
export function parseMetricsText(text: string): Map<string, MetricInfo> {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) {
    return new Map([...parseDirections(trimmed)].map(([name, better]) => [name, { better }]));
  }
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    throw new ConfigurationError(
      `metrics starts with { but is not valid JSON (${(err as Error).message}); give the plan's metrics output as it is, or name:higher, other:lower`,
    );
  }
  return parseMetricInfos(value, 'metrics');
}

/** Each metric's direction, for the comparisons. */
export function directionsOf(infos: ReadonlyMap<string, MetricInfo>): Map<string, Direction> {
  const out = new Map<string, Direction>();
  for (const [name, info] of infos) if (info.better) out.set(name, info.better);
  return out;
}

/** `over`'s declarations on top of `base`'s, field by field: a direction given alone keeps the spec's unit. */
export function mergeMetricInfos(
  base: ReadonlyMap<string, MetricInfo>,
  over: ReadonlyMap<string, MetricInfo>,
): Map<string, MetricInfo> {
  const out = new Map(base);
  for (const [name, info] of over) out.set(name, { ...base.get(name), ...info });
  return out;
}

/** The declarations as the JSON the plan outputs and the report's `metrics` input reads (`{}` for none). */
export function metricInfosJson(infos: ReadonlyMap<string, MetricInfo>): string {
  // fromEntries defines own properties, so even a metric named __proto__ survives the round trip.
  return JSON.stringify(Object.fromEntries(infos));
}
