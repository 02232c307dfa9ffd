/**
 * A compact validator for the subset of JSON Schema (draft 2020-12) that the schemas in schemas/ use: type,
 * const, enum, pattern, minLength/maxLength, minimum/maximum, items, minItems/maxItems, uniqueItems,
 * properties, required, additionalProperties, propertyNames, minProperties, anyOf, oneOf, not and local
 * `$ref`s into `$defs`. Annotations (title, description, examples, ...) are ignored; any other keyword is an
 * error, so a schema can never rely on a check this validator silently skips. Pure.
 */
import { isMapping } from './json-value.ts';

/** A schema, or a boolean schema (`true` accepts everything, `false` nothing). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/** One reason a value does not match. */
export interface SchemaError {
  /** Where in the value, as keys and indices from the root (`[]` for the root itself). */
  readonly path: readonly (string | number)[];
  /** What is wrong, in words, e.g. `must be one of "higher", "lower"`. */
  readonly message: string;
}

/** Keywords that only describe; they never make a value invalid. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  '$defs',
  'title',
  'description',
  'markdownDescription',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'format',
]);

const CHECKED = new Set([
  '$ref',
  'type',
  'const',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'anyOf',
  'oneOf',
  'not',
]);

type Obj = { readonly [key: string]: unknown };

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function hasType(v: unknown, type: string): boolean {
  const actual = typeOf(v);
  if (type === 'number') return (actual === 'number' || actual === 'integer') && Number.isFinite(v);
  return actual === type;
}

/** JSON equality, key order aside: what `const`, `enum` and `uniqueItems` compare with. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
    );
  }
  return false;
}

function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/** Validates values against one root schema; patterns are compiled once per validator. */
class Validator {
  private readonly patterns = new Map<string, RegExp>();
  private readonly root: JsonSchema;

  constructor(root: JsonSchema) {
    this.root = root;
  }

  private regex(source: string): RegExp {
    let re = this.patterns.get(source);
    if (!re) {
      // JSON Schema patterns are ECMA-262 regular expressions over code points.
      re = new RegExp(source, 'u');
      this.patterns.set(source, re);
    }
    return re;
  }

  private resolve(ref: string): JsonSchema {
    const m = /^#\/\$defs\/([^/]+)$/.exec(ref);
    const defs = isMapping(this.root) ? this.root.$defs : undefined;
    const target = m && isMapping(defs) ? defs[m[1]] : undefined;
    if (typeof target !== 'boolean' && !isMapping(target)) {
      throw new Error(`schema: cannot resolve $ref ${ref} (only #/$defs/NAME is supported)`);
    }
    return target;
  }

  check(schema: JsonSchema, v: unknown, path: (string | number)[], out: SchemaError[]): void {
    if (schema === true) return;
    if (schema === false) {
      out.push({ path, message: 'is not allowed here' });
      return;
    }
    for (const keyword of Object.keys(schema)) {
      if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) {
        throw new Error(`schema: keyword ${keyword} is not supported by this validator`);
      }
    }
    const s: Obj = schema;
    if (typeof s.$ref === 'string') this.check(this.resolve(s.$ref), v, path, out);
    if (s.type !== undefined) {
      const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
      if (!types.some((t) => hasType(v, t))) {
        out.push({ path, message: `must be ${types.join(' or ')} (got ${shown(v)})` });
        return;
      }
    }
    if (s.const !== undefined && !jsonEqual(v, s.const)) {
      out.push({ path, message: `must be ${shown(s.const)} (got ${shown(v)})` });
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => jsonEqual(v, e))) {
      out.push({ path, message: `must be one of ${s.enum.map(shown).join(', ')} (got ${shown(v)})` });
    }
    if (typeof v === 'string') this.checkString(s, v, path, out);
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) {
        out.push({ path, message: `must be at least ${s.minimum} (got ${v})` });
      }
      if (typeof s.maximum === 'number' && v > s.maximum) {
        out.push({ path, message: `must be at most ${s.maximum} (got ${v})` });
      }
    }
    if (Array.isArray(v)) this.checkArray(s, v, path, out);
    if (isMapping(v)) this.checkObject(s, v, path, out);
    if (Array.isArray(s.anyOf)) this.checkAlternatives(s.anyOf as JsonSchema[], 'any', v, path, out);
    if (Array.isArray(s.oneOf)) this.checkAlternatives(s.oneOf as JsonSchema[], 'one', v, path, out);
    if (s.not !== undefined && this.errors(s.not as JsonSchema, v, path).length === 0) {
      out.push({ path, message: `is not allowed here (got ${shown(v)})` });
    }
  }

  private errors(schema: JsonSchema, v: unknown, path: (string | number)[]): SchemaError[] {
    const out: SchemaError[] = [];
    this.check(schema, v, path, out);
    return out;
  }

  private checkString(s: Obj, v: string, path: (string | number)[], out: SchemaError[]): void {
    const length = Array.from(v).length;
    if (typeof s.minLength === 'number' && length < s.minLength) {
      out.push({ path, message: `must be at least ${s.minLength} character(s) long (got ${shown(v)})` });
    }
    if (typeof s.maxLength === 'number' && length > s.maxLength) {
      out.push({ path, message: `must be at most ${s.maxLength} characters long (got ${length})` });
    }
    if (typeof s.pattern === 'string' && !this.regex(s.pattern).test(v)) {
      out.push({ path, message: `must match the pattern ${s.pattern} (got ${shown(v)})` });
    }
  }

  private checkArray(s: Obj, v: readonly unknown[], path: (string | number)[], out: SchemaError[]): void {
    if (typeof s.minItems === 'number' && v.length < s.minItems) {
      out.push({ path, message: `must list at least ${s.minItems} item(s) (got ${v.length})` });
    }
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) {
      out.push({ path, message: `must list at most ${s.maxItems} item(s) (got ${v.length})` });
    }
    if (s.uniqueItems === true) {
      const twice = v.findIndex((x, i) => v.slice(0, i).some((y) => jsonEqual(x, y)));
      if (twice >= 0) out.push({ path: [...path, twice], message: `repeats ${shown(v[twice])}` });
    }
    if (s.items !== undefined) {
      v.forEach((x, i) => this.check(s.items as JsonSchema, x, [...path, i], out));
    }
  }

  private checkObject(s: Obj, v: Obj, path: (string | number)[], out: SchemaError[]): void {
    const keys = Object.keys(v);
    const properties = isMapping(s.properties) ? s.properties : {};
    if (Array.isArray(s.required)) {
      for (const key of s.required as string[]) {
        if (!Object.hasOwn(v, key)) out.push({ path, message: `must have the key ${JSON.stringify(key)}` });
      }
    }
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) {
      out.push({ path, message: `must have at least ${s.minProperties} key(s) (got ${keys.length})` });
    }
    for (const key of keys) {
      if (s.propertyNames !== undefined) {
        for (const e of this.errors(s.propertyNames as JsonSchema, key, [...path, key])) {
          out.push({ path: e.path, message: `is not a valid name here: it ${e.message}` });
        }
      }
      if (Object.hasOwn(properties, key)) {
        this.check(properties[key] as JsonSchema, v[key], [...path, key], out);
      } else if (s.additionalProperties === false) {
        out.push({ path: [...path, key], message: 'is not a known key here' });
      } else if (s.additionalProperties !== undefined) {
        this.check(s.additionalProperties as JsonSchema, v[key], [...path, key], out);
      }
    }
  }

  private checkAlternatives(
    options: readonly JsonSchema[],
    mode: 'any' | 'one',
    v: unknown,
    path: (string | number)[],
    out: SchemaError[],
  ): void {
    const results = options.map((o) => this.errors(o, v, path));
    const passed = results.filter((r) => r.length === 0).length;
    if (mode === 'one' && passed > 1) {
      out.push({ path, message: `matches ${passed} of the alternatives, where exactly one must match` });
    }
    if (passed > 0) return;
    // The alternative that got furthest into the value says best what is wrong with it.
    const depth = (r: readonly SchemaError[]): number => Math.max(...r.map((e) => e.path.length));
    const best = results.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (depth(best) > path.length) out.push(...best);
    else out.push({ path, message: `matches none of the allowed forms (got ${shown(v)})` });
  }
}

/** Every way `value` fails `schema` (an empty list when it matches). */
export function validateJson(schema: JsonSchema, value: unknown): SchemaError[] {
  const out: SchemaError[] = [];
  new Validator(schema).check(schema, value, [], out);
  return out;
}

/** `axes.tool[2]`, `metrics["p 95"].unit`: a value's path as a reader of the document would write it. */
export function jsonPath(path: readonly (string | number)[]): string {
  return path
    .map((p, i) =>
      typeof p === 'number'
        ? `[${p}]`
        : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)
          ? `${i === 0 ? '' : '.'}${p}`
          : `[${JSON.stringify(p)}]`,
    )
    .join('');
}
