import { ConfigurationError } from './errors.ts';

/** Reads one action input by its name as written in action.yml ('' when unset). */
export type InputReader = (name: string) => string;

/** A `true`/`false` input; empty gives `fallback`. */
export function readBoolean(read: InputReader, name: string, fallback: boolean): boolean {
  const raw = read(name).trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigurationError(`input ${name} must be true or false (got ${JSON.stringify(raw)})`);
}

/** A whole-number input within [min, max]; empty gives `fallback`. */
export function readInteger<F extends number | undefined>(
  read: InputReader,
  name: string,
  fallback: F,
  min: number,
  max: number,
): number | F {
  const raw = read(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `input ${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}
