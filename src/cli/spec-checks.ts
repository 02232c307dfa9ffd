import { ConfigurationError } from '../errors.ts';
import type { Plan } from '../plan/expand.ts';
import type { Overrides } from '../plan/overrides.ts';
import type { MatrixSpec } from '../plan/spec.ts';
import { SEED } from '../plan/spec.ts';
import { didYouMean } from '../suggest.ts';
import type { ParsedArgs } from './args.ts';
import { optionFlag } from './args.ts';

/** At most this many names in a message; the rest as `...`. */
const SHOWN = 8;

function list(names: readonly string[]): string {
  return names.length > SHOWN ? `${names.slice(0, SHOWN).join(', ')}, ...` : names.join(', ');
}

/**
 * The values the spec lists for each axis, as text: the axis's own, then those its include entries give it
 * (an override may pick an included combination by them).
 */
export function listedValues(spec: MatrixSpec): Map<string, string[]> {
  const out = new Map(spec.axes.map((a) => [a.name, a.values.map(String)]));
  for (const entry of spec.include) {
    for (const [name, value] of Object.entries(entry.params)) {
      const values = out.get(name);
      if (values && !values.includes(String(value))) values.push(String(value));
    }
  }
  return out;
}

/** How `--set` values the spec does not list are taken: refused (the default) or run with a warning. */
export interface SetChecks {
  readonly allowNewValues?: boolean;
  /** Gets each warning line. */
  readonly warn?: (line: string) => void;
}

/** `--allow-new-values` of a command line; warnings go to `stderr` as `gce-matrix: warning: ...`. */
export function setChecks(args: ParsedArgs, stderr: { write(text: string): unknown }): SetChecks {
  return {
    allowNewValues: optionFlag(args, 'allow-new-values'),
    warn: (line) => stderr.write(`gce-matrix: ${line}\n`),
  };
}

/**
 * `--set` against the spec before anything is planned: an axis the spec does not have is a ConfigurationError
 * naming the one meant; so is a value its axis does not list (a typo would otherwise run as a new value),
 * unless `allowNewValues`, when it is a warning. Returns the warnings, one line each.
 */
export function checkSets(spec: MatrixSpec, overrides: Overrides, allowNewValues: boolean): string[] {
  const listed = listedValues(spec);
  const axes = [...listed.keys()];
  const warnings: string[] = [];
  for (const [name, values] of overrides.axes) {
    const known = listed.get(name);
    if (!known) {
      const hint = didYouMean(name, axes);
      const fix =
        axes.length === 0
          ? 'it declares no axes, so --set has nothing to narrow'
          : hint
            ? `${hint} (axes: ${list(axes)})`
            : `its axes are ${list(axes)}`;
      throw new ConfigurationError(
        `${overrides.label}: the spec has no axis ${JSON.stringify(name)}; ${fix}`,
      );
    }
    for (const value of values) {
      if (known.includes(value)) continue;
      const hint = didYouMean(value, known);
      const what = `the spec's axis ${name} does not list ${JSON.stringify(value)}`;
      if (allowNewValues) {
        warnings.push(
          `warning: ${overrides.label}: ${what}${hint ? ` (${hint})` : ''}; running it, as --allow-new-values asks`,
        );
        continue;
      }
      throw new ConfigurationError(
        hint
          ? `${overrides.label}: ${what}; ${hint} (to run a new value, add --allow-new-values)`
          : `${overrides.label}: ${what} (it lists ${list(known)}); give one of those, or add --allow-new-values to run a new value`,
      );
    }
  }
  return warnings;
}

/**
 * `--pivot` against the plan before anything runs: each name must be a parameter of the experiments (the
 * spec's axes, `seed`, or a key an include entry adds), else a ConfigurationError naming the one meant.
 */
export function checkPivot(pivot: string | undefined, plan: Plan): void {
  const names = (pivot ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) return;
  const known = [...plan.axes];
  if (!known.includes(SEED)) known.push(SEED);
  for (const e of plan.experiments)
    for (const k of Object.keys(e.params)) if (!known.includes(k)) known.push(k);
  for (const name of names) {
    if (known.includes(name)) continue;
    const hint = didYouMean(name, known);
    throw new ConfigurationError(
      `option --pivot: ${JSON.stringify(name)} is not an axis of the plan; ${hint ? `${hint} (axes: ${list(known)})` : `give one of ${list(known)}`}`,
    );
  }
}
