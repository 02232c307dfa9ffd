/** Shapes of parsed YAML or JSON values, for the checks of user-written specs and inputs. */

/** A mapping: an object that is neither null nor a list. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a value is, for a message: `null`, `a list`, `a mapping`, or its type and JSON (`string "x"`). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
