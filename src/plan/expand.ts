import { ConfigurationError } from '../errors.ts';
import type { Experiment } from '../launch/settings.ts';
import { EXPERIMENT_ID } from '../naming.ts';
import type { MetricInfo } from '../report/model.ts';
import type { Overrides } from './overrides.ts';
import type { PackItem } from './pack.ts';
import { groupLegs } from './pack.ts';
import type { MatrixSpec, Params, Scalar } from './spec.ts';
import { checkAxisValue, idPart, parseRepetitions, PER_VM, SEED } from './spec.ts';

/** Limits from the step's inputs. */
export interface PlanLimits {
  readonly maxExperiments: number;
  /** Legs (VMs) per GitHub matrix (GitHub allows 256 jobs per matrix). */
  readonly batchSize: number;
  /** How many batches the workflow can run; undefined for no limit. */
  readonly maxBatches: number | undefined;
}

/** A repetitions value given outside the spec (the `repetitions` input), raw, with its label. */
export interface RepetitionsInput {
  readonly value: string;
  readonly label: string;
}

/** The expanded plan: every experiment in a stable order, the VM legs they run in, and the batches of legs. */
export interface Plan {
  /** Every experiment, in plan order; their `launch` holds what actions/launch reads (never per-vm). */
  readonly experiments: readonly Experiment[];
  /**
   * The matrix entries, one per VM: an experiment on its own, or a packed leg of experiments sharing one VM
   * (docs/matrix.md); without per-vm and resources, exactly `experiments`.
   */
  readonly legs: readonly Experiment[];
  /** Axis names for the report's pivot (the spec's axes; without `seed`, which repetitions add). */
  readonly axes: readonly string[];
  readonly repetitions: number;
  /** Consecutive slices of `legs`, each at most `batchSize` long, as even as possible. */
  readonly batches: readonly (readonly Experiment[])[];
  /** The spec's report title, when it gives one. */
  readonly title?: string | undefined;
  /** What the spec declares about metrics (absent: nothing). */
  readonly metrics?: ReadonlyMap<string, MetricInfo>;
}

/** Above this many raw combinations the spec is refused before they are built. */
const MAX_PRODUCT = 1_000_000;

interface Combination {
  params: Params;
  launch: Record<string, string> | undefined;
  /** Where each key of `launch` was set, for messages. */
  launchFrom: Record<string, string>;
  /**
   * The parameters the default id is made of: the axes (so an include that adds keys keeps ids stable), or
   * every key of an include entry that names no axis.
   */
  idKeys: string[];
  /** Where the combination came from, for messages. */
  label: string;
}

/** Whether `params` holds `key` with a value equal to `b` (as text, so 1 and "1" are one value). */
function has(params: Params, key: string, b: Scalar): boolean {
  return Object.hasOwn(params, key) && String(params[key]) === String(b);
}

function same(a: Scalar, b: Scalar): boolean {
  return String(a) === String(b);
}

function show(params: Params): string {
  return `{${Object.entries(params)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** Types an override value like the spec's value it names, else as a number or boolean when it reads as one. */
function typed(raw: string, known: readonly Scalar[]): Scalar {
  const match = known.find((v) => String(v) === raw);
  if (match !== undefined) return match;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  const n = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(n) && String(n) === raw) return n;
  return raw;
}

function resolveRepetitions(
  spec: MatrixSpec,
  input: RepetitionsInput | undefined,
  overrides: readonly Overrides[],
): { count: number; label: string | undefined } {
  let count = spec.repetitions ?? 1;
  let label = spec.repetitions === undefined ? undefined : `${spec.origin.repetitions}: repetitions`;
  if (input && input.value.trim() !== '') {
    label = input.label;
    count = parseRepetitions(input.value, label);
  }
  for (const o of overrides) {
    if (o.repetitions === undefined) continue;
    label = `${o.label}: repetitions`;
    count = parseRepetitions(o.repetitions, label);
  }
  return { count, label };
}

function overriddenAxes(spec: MatrixSpec, overrides: readonly Overrides[]): Map<string, Scalar[]> {
  const names = spec.axes.map((a) => a.name);
  const out = new Map<string, Scalar[]>();
  for (const o of overrides) {
    for (const [name, raw] of o.axes) {
      const axis = spec.axes.find((a) => a.name === name);
      if (!axis) {
        const known = names.length ? `the spec's axes are ${names.join(', ')}` : 'the spec declares no axes';
        throw new ConfigurationError(
          `${o.label}: unknown axis ${JSON.stringify(name)}; ${known} (and repetitions=N sets the repetitions)`,
        );
      }
      const values: Scalar[] = [];
      for (const r of raw) {
        const v = checkAxisValue(typed(r, axis.values), `${o.label}: ${name}`);
        if (!values.some((x) => same(x, v))) values.push(v);
      }
      out.set(name, values);
    }
  }
  return out;
}

function product(axes: readonly { name: string; values: readonly Scalar[] }[], label: string): Params[] {
  if (axes.length === 0) return [];
  const size = axes.reduce((n, a) => n * a.values.length, 1);
  if (size > MAX_PRODUCT) {
    throw new ConfigurationError(
      `${label}: the axes make ${size} combinations, far too many to plan; narrow them (or pass overrides such as ${axes[0].name}=${String(axes[0].values[0])})`,
    );
  }
  let combos: Params[] = [{}];
  for (const axis of axes) {
    combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.name]: v })));
  }
  return combos;
}

/**
 * GitHub's matrix rules: excludes remove matching combinations first; each include then extends every
 * remaining axis combination whose axis values it matches (adding keys, never changing an axis value), or,
 * when it matches none, becomes a combination of its own.
 */
function combinations(spec: MatrixSpec, overrides: ReadonlyMap<string, readonly Scalar[]>): Combination[] {
  const axisNames = spec.axes.map((a) => a.name);
  const axes = spec.axes.map((a) => ({ name: a.name, values: overrides.get(a.name) ?? a.values }));
  const axesLabel = spec.origin.axes ?? 'input spec';
  const base: Combination[] = product(axes, axesLabel)
    .filter((params) => !spec.exclude.some((ex) => Object.entries(ex).every(([k, v]) => has(params, k, v))))
    .map((params) => ({
      params,
      launch: undefined,
      launchFrom: {},
      idKeys: [...axisNames],
      label: axesLabel,
    }));
  const added: Combination[] = [];
  const includeLabel = spec.origin.include ?? 'input spec';
  spec.include.forEach((entry, i) => {
    const keys = Object.keys(entry.params).filter((k) => axisNames.includes(k));
    const from = Object.fromEntries(
      Object.keys(entry.launch ?? {}).map((k) => [k, `${includeLabel}: include[${i}].launch`]),
    );
    let matched = false;
    for (const combo of base) {
      if (!keys.every((k) => has(combo.params, k, entry.params[k]))) continue;
      matched = true;
      for (const [k, v] of Object.entries(entry.params)) if (!axisNames.includes(k)) combo.params[k] = v;
      if (entry.launch) {
        combo.launch = { ...combo.launch, ...entry.launch };
        combo.launchFrom = { ...combo.launchFrom, ...from };
      }
    }
    if (!matched) {
      const order = [
        ...axisNames.filter((k) => Object.hasOwn(entry.params, k)),
        ...Object.keys(entry.params).filter((k) => !axisNames.includes(k)),
      ];
      const params: Params = {};
      for (const k of order) params[k] = entry.params[k]!;
      added.push({
        params,
        launch: entry.launch && { ...entry.launch },
        launchFrom: from,
        idKeys: keys.length ? keys.sort((a, b) => axisNames.indexOf(a) - axisNames.indexOf(b)) : order,
        label: `${includeLabel}: include[${i}]`,
      });
    }
  });
  return [...base, ...added].filter((combo) =>
    [...overrides].every(([name, values]) => values.some((v) => has(combo.params, name, v))),
  );
}

function makeId(spec: MatrixSpec, combo: Combination, params: Params): string {
  if (spec.id === undefined) {
    const parts = combo.idKeys.map((k) => {
      const part = idPart(params[k]);
      if (part === '') {
        throw new ConfigurationError(
          `${combo.label}: value ${JSON.stringify(params[k])} of ${k} cannot become part of an experiment id; use letters, digits, . _ - in it, or set an "id" template that leaves it out`,
        );
      }
      return `${k}-${part}`;
    });
    const id = parts.join('_');
    if (!EXPERIMENT_ID.test(id)) {
      throw new ConfigurationError(
        `${combo.label}: the experiment id ${JSON.stringify(id.slice(0, 60))}... is longer than 200 characters; set a shorter "id" template such as "{${combo.idKeys[0]}}-{${SEED}}"`,
      );
    }
    return id;
  }
  const label = `${spec.origin.id}: id template ${JSON.stringify(spec.id)}`;
  const id = spec.id.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    const key = name.trim();
    const value = Object.hasOwn(params, key) ? params[key] : undefined;
    if (value === undefined) {
      throw new ConfigurationError(
        `${label} names {${key}}, which experiment ${show(params)} does not have; use ${Object.keys(params)
          .map((k) => `{${k}}`)
          .join(', ')}`,
      );
    }
    const part = idPart(value);
    if (part === '') {
      throw new ConfigurationError(
        `${label}: value ${JSON.stringify(value)} of ${key} cannot become part of an experiment id; use letters, digits, . _ - in it`,
      );
    }
    return part;
  });
  if (!EXPERIMENT_ID.test(id)) {
    throw new ConfigurationError(
      `${label} gives ${JSON.stringify(id)} for ${show(params)}, which is not a valid experiment id: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit`,
    );
  }
  return id;
}

function split<T>(items: readonly T[], size: number): T[][] {
  const n = Math.ceil(items.length / size);
  const out: T[][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const len = Math.floor(items.length / n) + (i < items.length % n ? 1 : 0);
    out.push(items.slice(start, start + len));
    start += len;
  }
  return out;
}

/**
 * Expands a checked spec into experiments: overrides replace axis values (and drop included combinations
 * outside them), repetitions add `seed` 1..N, ids come from the template or the id parameters. Every
 * problem is a ConfigurationError naming the input that caused it.
 */
export function expandPlan(
  spec: MatrixSpec,
  overrides: readonly Overrides[],
  repetitionsInput: RepetitionsInput | undefined,
  limits: PlanLimits,
): Plan {
  const reps = resolveRepetitions(spec, repetitionsInput, overrides);
  const hasSeed =
    spec.axes.some((a) => a.name === SEED) || spec.include.some((e) => Object.hasOwn(e.params, SEED));
  if (hasSeed && reps.count > 1) {
    throw new ConfigurationError(
      `${reps.label}: the spec already has a "${SEED}" parameter, and repetitions would add another; drop one of them`,
    );
  }
  const over = overriddenAxes(spec, overrides);
  const combos = combinations(spec, over);
  if (combos.length === 0) {
    const given = [...over].map(([k, v]) => `${k}=${v.join(',')}`).join(' ');
    const values = spec.axes.map((a) => `${a.name}: ${a.values.join(', ')}`).join('; ');
    throw new ConfigurationError(
      given
        ? `${overrides.map((o) => o.label).join(' and ')} (${given}) leave no experiments; choose values the spec has (${values}) or that its excludes do not remove`
        : `${spec.origin.exclude ?? spec.origin.axes ?? 'input spec'}: the spec's excludes remove every combination; remove or narrow an exclude entry`,
    );
  }
  const count = combos.length * (hasSeed ? 1 : reps.count);
  if (count > limits.maxExperiments) {
    throw new ConfigurationError(
      `the plan has ${count} experiments, more than input max-experiments (${limits.maxExperiments}); narrow it with overrides (e.g. ${spec.axes[0]?.name ?? 'axis'}=...), fewer repetitions, or raise max-experiments`,
    );
  }
  const experiments: Experiment[] = [];
  const items: PackItem[] = [];
  const ids = new Map<string, Params>();
  const launchDefaults = spec.launch;
  const defaultsFrom = Object.fromEntries(
    Object.keys(launchDefaults ?? {}).map((k) => [k, `${spec.origin.launch ?? 'input spec'}: launch`]),
  );
  for (const combo of combos) {
    const seeds = hasSeed ? [undefined] : Array.from({ length: reps.count }, (_, i) => i + 1);
    for (const seed of seeds) {
      const params: Params = seed === undefined ? { ...combo.params } : { ...combo.params, [SEED]: seed };
      const idCombo = seed === undefined ? combo : { ...combo, idKeys: [...combo.idKeys, SEED] };
      const id = makeId(spec, idCombo, params);
      const other = ids.get(id);
      if (other) {
        throw new ConfigurationError(
          `${spec.id === undefined ? combo.label : `${spec.origin.id}: id template ${JSON.stringify(spec.id)}`}: experiments ${show(other)} and ${show(params)} both get the id ${JSON.stringify(id)}; make their values differ or set an "id" template that tells them apart`,
        );
      }
      ids.set(id, params);
      const given = launchDefaults || combo.launch ? { ...launchDefaults, ...combo.launch } : undefined;
      const { [PER_VM]: perVm, ...launch } = given ?? {};
      // per-vm is the plan's alone; a launch map that held nothing else is left out, as one never set.
      const keep = given !== undefined && (perVm === undefined || Object.keys(launch).length > 0);
      const experiment: Experiment = keep ? { id, params, launch } : { id, params };
      experiments.push(experiment);
      items.push({
        experiment,
        perVm: perVm === undefined ? undefined : Number(perVm),
        from: { ...defaultsFrom, ...combo.launchFrom },
      });
    }
  }
  const { legs } = groupLegs(items);
  const batches = split(legs, limits.batchSize);
  if (limits.maxBatches !== undefined && batches.length > limits.maxBatches) {
    const what =
      legs.length === count ? `${count} experiments` : `${count} experiments on ${legs.length} VMs`;
    throw new ConfigurationError(
      `the plan's ${what} need ${batches.length} batches of at most ${limits.batchSize} (input batch-size), more than input max-batches (${limits.maxBatches}) allows; narrow the plan${legs.length === count ? '' : ', pack more per VM (per-vm)'} or raise batch-size`,
    );
  }
  const axisNames = spec.axes.map((a) => a.name);
  const axes = axisNames.length
    ? axisNames
    : [...new Set(spec.include.flatMap((e) => Object.keys(e.params)))].filter((k) => k !== SEED || hasSeed);
  return {
    experiments,
    legs,
    axes,
    repetitions: hasSeed ? 1 : reps.count,
    batches,
    title: spec.title,
    metrics: spec.metrics,
  };
}
