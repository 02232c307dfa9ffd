import { ConfigurationError } from '../errors.ts';

/** The comment command that starts a run from a pull request. */
export const COMMENT_COMMAND = '/gce-matrix run';

/** `axis=v1,v2` settings from one source, and where they came from (for messages). */
export interface Overrides {
  readonly label: string;
  /** Axis name -> the raw values given, in order. */
  readonly axes: ReadonlyMap<string, readonly string[]>;
  /** `repetitions=N`, raw, when given. */
  readonly repetitions: string | undefined;
}

const KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/**
 * Override values come from text boxes and comments, and workflows often paste matrix values into shell
 * scripts: they are held to characters no shell or markdown treats specially. The spec may hold any value.
 */
const VALUE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$/;

/**
 * Parses `tool=a,b service=x` (space- or newline-separated; spaces around `=` and after commas are fine).
 * An empty value (`tool=`) sets nothing, so a workflow can pass optional dispatch inputs straight through.
 */
export function parseOverrides(text: string, label: string): Overrides {
  const axes = new Map<string, string[]>();
  let repetitions: string | undefined;
  const normalized = text
    .replace(/\s+=/g, '=')
    .replace(/\s*,\s*/g, ',')
    .trim();
  if (normalized === '') return { label, axes, repetitions };
  const tokens: string[] = [];
  for (const word of normalized.split(/\s+/)) {
    // `tool= a` is tool=a, while `tool= service=x` keeps tool empty: only a word without `=` joins.
    const last = tokens.length - 1;
    if (!word.includes('=') && last >= 0 && tokens[last].endsWith('=')) tokens[last] += word;
    else tokens.push(word);
  }
  for (const token of tokens) {
    const eq = token.indexOf('=');
    const key = eq > 0 ? token.slice(0, eq) : '';
    if (!KEY.test(key)) {
      throw new ConfigurationError(
        `${label}: ${JSON.stringify(token)} is not axis=value1,value2 (e.g. tool=a,b service=x repetitions=2)`,
      );
    }
    const values = token
      .slice(eq + 1)
      .split(',')
      .filter((v) => v !== '');
    for (const v of values) {
      if (!VALUE.test(v)) {
        throw new ConfigurationError(
          `${label}: ${key} value ${JSON.stringify(v)} may hold only letters, digits and . _ - : / @ + (at most 100, starting with a letter or digit); put other values in the spec`,
        );
      }
    }
    if (key === 'repetitions') {
      if (values.length > 1) {
        throw new ConfigurationError(`${label}: repetitions takes one number (got ${token.slice(eq + 1)})`);
      }
      if (repetitions !== undefined) {
        throw new ConfigurationError(`${label}: repetitions is given twice; give it once`);
      }
      repetitions = values[0];
      continue;
    }
    if (axes.has(key)) {
      throw new ConfigurationError(
        `${label}: ${key} is given twice; list all its values once, comma-separated (${key}=a,b)`,
      );
    }
    axes.set(key, values);
  }
  for (const [key, values] of [...axes]) if (values.length === 0) axes.delete(key);
  return { label, axes, repetitions };
}

/**
 * The arguments of a `/gce-matrix run ...` comment: the rest of its first line, or undefined when the
 * comment is not that command. Later lines are free text for people.
 */
export function commentArguments(body: string): string | undefined {
  const first = body.replace(/^\s+/, '').split(/\r?\n/, 1)[0] ?? '';
  if (!first.startsWith(COMMENT_COMMAND)) return undefined;
  const rest = first.slice(COMMENT_COMMAND.length);
  if (rest !== '' && !/^\s/.test(rest)) return undefined;
  return rest.trim();
}
