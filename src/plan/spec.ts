import { describeValue, isMapping } from '../json-value.ts';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigurationError } from '../errors.ts';
import specSchema from '../../schemas/matrix-spec.schema.json' with { type: 'json' };
import { jsonPath, validateJson } from '../json-schema.ts';
import { OVERRIDABLE_INPUTS, resourcesInput } from '../launch/inputs.ts';
import { MAX_PER_VM } from '../launch/machine-types.ts';
import { parseServices, servicesInput } from '../launch/services.ts';
import { parseMetricInfos } from '../report/metric-info.ts';
import type { MetricInfo } from '../report/model.ts';
import { didYouMean } from '../suggest.ts';

/** A parameter value: what an axis lists and what the experiment command gets as GCE_MATRIX_PARAM_*. */
export type Scalar = string | number | boolean;

/** Parameters of one combination, in a stable key order. */
export type Params = Record<string, Scalar>;

/** One `include` entry: parameters to match or add, and launch inputs for the experiments it touches. */
export interface IncludeEntry {
  readonly params: Readonly<Params>;
  readonly launch: Readonly<Record<string, string>> | undefined;
}

/** One axis and its values, in the order the spec lists them. */
export interface Axis {
  readonly name: string;
  readonly values: readonly Scalar[];
}

/** A matrix spec, checked: every name and value is usable, every key is known. */
export interface MatrixSpec {
  readonly axes: readonly Axis[];
  readonly include: readonly IncludeEntry[];
  readonly exclude: readonly Readonly<Params>[];
  readonly repetitions: number | undefined;
  /** Id template with `{param}` placeholders, e.g. `{tool}-{service}-{seed}`. */
  readonly id: string | undefined;
  /** Launch inputs every experiment gets (an include's own `launch` wins). */
  readonly launch: Readonly<Record<string, string>> | undefined;
  /** The report's title. */
  readonly title: string | undefined;
  /** What the spec declares about metrics (unit, which way is better, description), in its order. */
  readonly metrics: ReadonlyMap<string, MetricInfo>;
  /** Where each top-level key came from, for messages (`input spec`, `input spec-file (path)`). */
  readonly origin: Readonly<Record<string, string>>;
}

/** One source of spec text and the label its messages use. */
export interface SpecSource {
  readonly label: string;
  readonly text: string;
}

/** The keys a spec may have at its top level. */
export const SPEC_KEYS = [
  'axes',
  'include',
  'exclude',
  'repetitions',
  'id',
  'launch',
  'title',
  'metrics',
] as const;

/** The parameter repetitions add (1..N). */
export const SEED = 'seed';

/** Bounds of `repetitions`, wherever it is set. */
export const MAX_REPETITIONS = 100;

/** What a parameter (axis) name may be: it becomes GCE_MATRIX_PARAM_<NAME> on the VM and part of ids. */
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_VALUE_LENGTH = 200;
const MAX_TITLE_LENGTH = 200;

type Json = Record<string, unknown>;

/** Parses YAML (JSON is YAML too) into a mapping; syntax errors keep the parser's line and column. */
export function parseSpecText(source: SpecSource): Json {
  let value: unknown;
  try {
    value = parseYaml(source.text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0].replace(/:\s*$/, '');
    const where =
      err instanceof YAMLParseError && err.linePos && !/ at line \d+/.test(first)
        ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}`
        : '';
    throw new ConfigurationError(
      `${source.label} is not valid YAML or JSON: ${first}${where}; fix the syntax (a spec looks like "axes: {tool: [a, b]}")`,
    );
  }
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${source.label} must be a mapping with ${SPEC_KEYS.join(', ')} (got ${describeValue(value)}), e.g. "axes: {tool: [a, b]}"`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!(SPEC_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `${source.label} has an unknown key ${JSON.stringify(key)}${hint(key, SPEC_KEYS)}; a spec may have ${SPEC_KEYS.join(', ')}`,
      );
    }
  }
  return value;
}

/** Checks a parameter name; `where` says where it was found. */
export function checkParamName(name: string, where: string): void {
  if (!PARAM_NAME.test(name)) {
    throw new ConfigurationError(
      `${where}: parameter name ${JSON.stringify(name)} is not valid: start with a letter, then up to 63 of A-Z a-z 0-9 _ . -`,
    );
  }
}

/** The part of an experiment id a value becomes: runs of characters ids cannot hold turn into `-`. */
export function idPart(value: Scalar): string {
  return String(value)
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Checks a parameter value: a single-line string, number or boolean of sane length. */
export function checkScalar(value: unknown, where: string): Scalar {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (/[\r\n\0]/.test(value)) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(value)} holds a line break; values are single-line`,
      );
    }
    if (value.length > MAX_VALUE_LENGTH) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(value.slice(0, 40))}... is longer than ${MAX_VALUE_LENGTH} characters`,
      );
    }
    return value;
  }
  throw new ConfigurationError(
    `${where} is ${describeValue(value)}; values must be strings, numbers or booleans (quote it, or split a nested value into its own axis)`,
  );
}

/** Checks a value that goes into experiment ids: it must leave at least one id character. */
export function checkAxisValue(value: unknown, where: string): Scalar {
  const v = checkScalar(value, where);
  if (idPart(v) === '') {
    throw new ConfigurationError(
      `${where}: ${JSON.stringify(v)} cannot become part of an experiment id; use letters, digits, . _ - in it`,
    );
  }
  return v;
}

/** The plan's own launch key: how many experiments share one VM; never forwarded to actions/launch. */
export const PER_VM = 'per-vm';

/** The keys a spec's `launch` may have: the inputs of actions/launch an experiment may set, and per-vm. */
export const LAUNCH_KEYS: readonly string[] = [...OVERRIDABLE_INPUTS, PER_VM];

/** Parses a `per-vm` value: a whole number from 1 to 64. */
export function parsePerVm(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\s*[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PER_VM) {
    throw new ConfigurationError(
      `${where} must be a whole number from 1 to ${MAX_PER_VM}, how many experiments share one VM (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

function parseLaunch(value: unknown, where: string): Record<string, string> {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of actions/launch inputs to values, e.g. {machine-type: n2-standard-8}`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!LAUNCH_KEYS.includes(key)) {
      throw new ConfigurationError(
        `${where} sets ${JSON.stringify(key)}, which an experiment cannot set${hint(key, LAUNCH_KEYS)}; it may set ${LAUNCH_KEYS.join(', ')}`,
      );
    }
    if (key === PER_VM) {
      out[key] = String(parsePerVm(v, `${where}.${key}`));
      continue;
    }
    if (key === 'resources') {
      out[key] = resourcesInput(v, `${where}.resources`);
      continue;
    }
    if (key === 'services') {
      out[key] = servicesInput(parseServices(v, `${where}.services`));
      continue;
    }
    out[key] =
      MULTILINE_LAUNCH.includes(key) && typeof v === 'string'
        ? checkMultiline(v, `${where}.${key}`)
        : String(checkScalar(v, `${where}.${key}`));
  }
  return out;
}

/** Launch inputs that are scripts or lists by nature: a YAML block (`command: |`) is the way to write them. */
const MULTILINE_LAUNCH: readonly string[] = ['command', 'inputs'];

/** The launch metadata limit is far above this; a command longer belongs in a script file. */
const MAX_MULTILINE_LENGTH = 64 * 1024;

function checkMultiline(value: string, where: string): string {
  if (value.includes('\0')) throw new ConfigurationError(`${where} holds a NUL character`);
  if (value.length > MAX_MULTILINE_LENGTH) {
    throw new ConfigurationError(
      `${where} is ${value.length} characters, more than ${MAX_MULTILINE_LENGTH}; put a long command in a script file`,
    );
  }
  return value;
}

function parseAxes(value: unknown, label: string): Axis[] {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${label}: axes must be a mapping of axis names to lists of values, e.g. {tool: [a, b], service: [x]}`,
    );
  }
  const axes: Axis[] = [];
  for (const [name, raw] of Object.entries(value)) {
    checkParamName(name, `${label}: axes`);
    if (name === 'launch') {
      throw new ConfigurationError(`${label}: axes.launch is reserved for launch inputs; rename the axis`);
    }
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0) {
      throw new ConfigurationError(
        `${label}: axes.${name} lists no values; give at least one, or remove the axis`,
      );
    }
    const seen = new Set<string>();
    const values = list.map((v, i) => {
      const value = checkAxisValue(v, `${label}: axes.${name}[${i}]`);
      if (seen.has(String(value))) {
        throw new ConfigurationError(
          `${label}: axes.${name} lists ${JSON.stringify(value)} twice; list it once`,
        );
      }
      seen.add(String(value));
      return value;
    });
    axes.push({ name, values });
  }
  return axes;
}

function parseEntry(value: unknown, where: string, allowLaunch: boolean): IncludeEntry {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of parameter names to values, e.g. {tool: a, service: x} (got ${describeValue(value)})`,
    );
  }
  const params: Params = {};
  let launch: Record<string, string> | undefined;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'launch' && allowLaunch) {
      launch = parseLaunch(v, `${where}.launch`);
      continue;
    }
    checkParamName(key, where);
    params[key] = checkScalar(v, `${where}.${key}`);
  }
  return { params, launch };
}

function parseList(value: unknown, key: string, label: string, allowLaunch: boolean): IncludeEntry[] {
  if (!Array.isArray(value)) {
    throw new ConfigurationError(`${label}: ${key} must be a list of mappings, e.g. [{tool: a, service: x}]`);
  }
  return value.map((entry, i) => parseEntry(entry, `${label}: ${key}[${i}]`, allowLaunch));
}

/** Parses a `repetitions` value from any source; `where` names it. */
export function parseRepetitions(value: unknown, where: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_REPETITIONS) {
    throw new ConfigurationError(
      `${where} must be a whole number from 1 to ${MAX_REPETITIONS} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

/**
 * Reads the spec from its sources (spec-file first, the inline spec's top-level keys over it) and checks
 * its shape: known keys only, names that can become environment variables, scalar values.
 */
export function parseSpec(sources: readonly SpecSource[]): MatrixSpec {
  const merged: Json = {};
  const origin: Record<string, string> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(parseSpecText(source))) {
      merged[key] = value;
      origin[key] = source.label;
    }
  }
  const label = (key: string): string => origin[key] ?? 'input spec';
  const axes = merged.axes === undefined ? [] : parseAxes(merged.axes, label('axes'));
  const include =
    merged.include === undefined ? [] : parseList(merged.include, 'include', label('include'), true);
  const exclude =
    merged.exclude === undefined
      ? []
      : parseList(merged.exclude, 'exclude', label('exclude'), false).map((e) => e.params);
  const axisNames = axes.map((a) => a.name);
  exclude.forEach((entry, i) => {
    for (const key of Object.keys(entry)) {
      if (!axisNames.includes(key)) {
        throw new ConfigurationError(
          `${label('exclude')}: exclude[${i}] names ${JSON.stringify(key)}, which is not an axis; exclude matches axes only (${axisNames.join(', ') || 'none declared'})`,
        );
      }
    }
  });
  if (axes.length === 0 && include.length === 0) {
    throw new ConfigurationError(
      `${sources.map((s) => s.label).join(' and ')} declares no experiments: give axes (e.g. "axes: {tool: [a, b]}") or include entries`,
    );
  }
  const repetitions =
    merged.repetitions === undefined
      ? undefined
      : parseRepetitions(merged.repetitions, `${label('repetitions')}: repetitions`);
  let id: string | undefined;
  if (merged.id !== undefined) {
    if (typeof merged.id !== 'string' || merged.id.trim() === '') {
      throw new ConfigurationError(
        `${label('id')}: id must be a template string such as "{tool}-{service}-{seed}"`,
      );
    }
    id = merged.id.trim();
  }
  const launch =
    merged.launch === undefined ? undefined : parseLaunch(merged.launch, `${label('launch')}: launch`);
  checkEnvNames([...axisNames, ...include.flatMap((e) => Object.keys(e.params)), SEED], sources);
  const title = merged.title === undefined ? undefined : parseTitle(merged.title, `${label('title')}: title`);
  const metrics =
    merged.metrics === undefined
      ? new Map<string, MetricInfo>()
      : parseMetricInfos(merged.metrics, `${label('metrics')}: metrics`);
  checkAgainstSchema(merged, label);
  return { axes, include, exclude, repetitions, id, launch, title, metrics, origin };
}

/** ` (did you mean "axes"?)` when a known name is near the unknown one, else nothing. */
function hint(name: string, known: readonly string[]): string {
  const text = didYouMean(name, known, (c) => JSON.stringify(c));
  return text === undefined ? '' : ` (${text})`;
}

/**
 * The published schema (schemas/matrix-spec.schema.json) is what editors check a spec against; the plan
 * refuses whatever it refuses too, so a spec an editor flags never passes. The checks above word the
 * messages; this catches whatever they would let through.
 */
function checkAgainstSchema(merged: Json, label: (key: string) => string): void {
  const [first] = validateJson(specSchema, merged);
  if (!first) return;
  const top = typeof first.path[0] === 'string' ? first.path[0] : '';
  throw new ConfigurationError(
    `${label(top)}: ${jsonPath(first.path) || 'the spec'} ${first.message}; see schemas/matrix-spec.schema.json and docs/matrix.md`,
  );
}

function parseTitle(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(
      `${where} must be text, e.g. "REST API testing tools" (got ${describeValue(value)}); quote a title that YAML reads as a number`,
    );
  }
  const text = value.trim();
  if (/[\u0000-\u001f\u007f\u2028\u2029]/.test(text)) {
    throw new ConfigurationError(`${where} holds a line break or control character; keep it on one line`);
  }
  if (text.length > MAX_TITLE_LENGTH) {
    throw new ConfigurationError(
      `${where} is ${text.length} characters, more than ${MAX_TITLE_LENGTH}; shorten it`,
    );
  }
  return text;
}

/** Two names that fold to one GCE_MATRIX_PARAM_* variable would overwrite each other on the VM. */
function checkEnvNames(names: readonly string[], sources: readonly SpecSource[]): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const env = name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    const other = seen.get(env);
    if (other !== undefined && other !== name) {
      throw new ConfigurationError(
        `${sources.map((s) => s.label).join(' and ')}: parameters ${JSON.stringify(other)} and ${JSON.stringify(name)} both become GCE_MATRIX_PARAM_${env}; rename one`,
      );
    }
    seen.set(env, name);
  }
}
