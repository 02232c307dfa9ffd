/**
 * The published JSON Schemas (schemas/) against the code that reads and writes those documents: the matrix spec
 * schema agrees with the plan's parser, spec by spec; status.json as the real agent writes it and manifest.json
 * as collect writes it validate; every field of the TypeScript types is in the schemas.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { collectRun } from '../../src/collect/collect.ts';
import type {
  CollectedFile,
  CollectedStatus,
  Manifest,
  ManifestCounts,
  ManifestExperiment,
  Problem,
  ProblemKind,
} from '../../src/collect/manifest.ts';
import { buildManifest, markLost, parseHeartbeat, statusFields } from '../../src/collect/manifest.ts';
import { ConfigurationError } from '../../src/errors.ts';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { connectGcp } from '../../src/gcp/clients.ts';
import type { JsonSchema } from '../../src/json-schema.ts';
import { jsonPath, validateJson } from '../../src/json-schema.ts';
import type {
  ExperimentState,
  ExperimentStatus,
  Heartbeat,
  OutputEntry,
  Provenance,
} from '../../src/layout.ts';
import { parseStatus } from '../../src/layout.ts';
import { RESOURCE_KEYS } from '../../src/launch/inputs.ts';
import { LAUNCH_KEYS, SPEC_KEYS, parseSpec } from '../../src/plan/spec.ts';
import { METRIC_KEYS } from '../../src/report/metric-info.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Obj = Record<string, unknown>;

async function schema(name: string): Promise<Obj> {
  return JSON.parse(await readFile(path.join(root, 'schemas', name), 'utf8')) as Obj;
}

function at(value: unknown, ...keys: string[]): Obj {
  let v = value;
  for (const k of keys) v = (v as Obj)[k];
  return v as Obj;
}

/** The keys a schema object lists under `properties`. */
function propertyKeys(s: Obj): string[] {
  return Object.keys(at(s, 'properties')).sort();
}

/** `Record<keyof T, true>` makes the compiler list every key of T here, no more: a field added to a type fails. */
function keysOf<T>(record: Record<keyof T, true>): string[] {
  return Object.keys(record).sort();
}

function messages(errors: readonly { path: readonly (string | number)[]; message: string }[]): string {
  return errors.map((e) => `${jsonPath(e.path) || '(root)'} ${e.message}`).join('\n');
}

describe('the validator (the JSON Schema subset the schemas use)', () => {
  const defs = {
    $defs: { positive: { type: 'integer', minimum: 1 } },
  };
  const cases: { name: string; schema: JsonSchema; value: unknown; errors: string[] }[] = [
    { name: 'a type', schema: { type: 'string' }, value: 1, errors: ['(root) must be string (got 1)'] },
    { name: 'one of several types', schema: { type: ['integer', 'null'] }, value: null, errors: [] },
    {
      name: 'integer refuses a fraction',
      schema: { type: 'integer' },
      value: 1.5,
      errors: ['(root) must be integer (got 1.5)'],
    },
    { name: 'number accepts an integer', schema: { type: 'number' }, value: 2, errors: [] },
    {
      name: 'number refuses Infinity',
      schema: { type: 'number' },
      value: Infinity,
      errors: ['(root) must be number (got null)'],
    },
    {
      name: 'object refuses a list',
      schema: { type: 'object' },
      value: [],
      errors: ['(root) must be object (got a list)'],
    },
    { name: 'const', schema: { const: 1 }, value: 2, errors: ['(root) must be 1 (got 2)'] },
    {
      name: 'enum',
      schema: { enum: ['a', null] },
      value: 'b',
      errors: ['(root) must be one of "a", null (got "b")'],
    },
    { name: 'pattern (unicode)', schema: { pattern: '^.$' }, value: '🚀', errors: [] },
    {
      name: 'pattern refused',
      schema: { pattern: '^a' },
      value: 'ba',
      errors: ['(root) must match the pattern ^a (got "ba")'],
    },
    { name: 'maxLength counts code points', schema: { maxLength: 1 }, value: '🚀', errors: [] },
    {
      name: 'minLength',
      schema: { minLength: 2 },
      value: 'a',
      errors: ['(root) must be at least 2 character(s) long (got "a")'],
    },
    { name: 'minimum', schema: { minimum: 1 }, value: 0, errors: ['(root) must be at least 1 (got 0)'] },
    { name: 'maximum', schema: { maximum: 1 }, value: 2, errors: ['(root) must be at most 1 (got 2)'] },
    {
      name: 'items',
      schema: { items: { type: 'string' } },
      value: ['a', 2],
      errors: ['[1] must be string (got 2)'],
    },
    {
      name: 'minItems',
      schema: { minItems: 1 },
      value: [],
      errors: ['(root) must list at least 1 item(s) (got 0)'],
    },
    {
      name: 'uniqueItems',
      schema: { uniqueItems: true },
      value: [
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ],
      errors: ['[1] repeats a mapping'],
    },
    { name: 'uniqueItems tells 1 from "1"', schema: { uniqueItems: true }, value: [1, '1'], errors: [] },
    {
      name: 'required and additionalProperties: false',
      schema: { properties: { a: true }, required: ['a'], additionalProperties: false },
      value: { b: 1 },
      errors: ['(root) must have the key "a"', 'b is not a known key here'],
    },
    {
      name: 'additionalProperties as a schema',
      schema: { additionalProperties: { type: 'number' } },
      value: { a: 'x' },
      errors: ['a must be number (got "x")'],
    },
    {
      name: 'propertyNames with not',
      schema: { propertyNames: { not: { const: 'launch' } } },
      value: { launch: 1 },
      errors: ['launch is not a valid name here: it is not allowed here (got "launch")'],
    },
    {
      name: 'minProperties',
      schema: { minProperties: 1 },
      value: {},
      errors: ['(root) must have at least 1 key(s) (got 0)'],
    },
    {
      name: '$ref into $defs',
      schema: { ...defs, $ref: '#/$defs/positive' },
      value: 0,
      errors: ['(root) must be at least 1 (got 0)'],
    },
    {
      name: 'a false schema',
      schema: { properties: { a: false } },
      value: { a: 1 },
      errors: ['a is not allowed here'],
    },
    {
      name: 'anyOf: the deepest alternative speaks',
      schema: { anyOf: [{ type: 'string' }, { type: 'object', properties: { a: { type: 'string' } } }] },
      value: { a: 1 },
      errors: ['a must be string (got 1)'],
    },
    {
      name: 'anyOf: none at the top',
      schema: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      value: true,
      errors: ['(root) matches none of the allowed forms (got true)'],
    },
    {
      name: 'oneOf refuses two matches',
      schema: { oneOf: [{ type: 'number' }, { minimum: 0 }] },
      value: 1,
      errors: ['(root) matches 2 of the alternatives, where exactly one must match'],
    },
    {
      name: 'annotations are ignored',
      schema: { title: 't', description: 'd', examples: [1], format: 'date-time' },
      value: 'x',
      errors: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        validateJson(c.schema, c.value).map((e) => `${jsonPath(e.path) || '(root)'} ${e.message}`),
        c.errors,
      );
    });
  }

  it('refuses a keyword it does not check, and a $ref it cannot resolve', () => {
    assert.throws(
      () => validateJson({ patternProperties: {} }, {}),
      /keyword patternProperties is not supported/,
    );
    assert.throws(() => validateJson({ $ref: 'other.json' }, 1), /cannot resolve \$ref other\.json/);
  });

  it('writes paths as a reader would', () => {
    assert.equal(jsonPath(['metrics', 'p 95', 'unit']), 'metrics["p 95"].unit');
    assert.equal(jsonPath(['axes', 'tool', 2]), 'axes.tool[2]');
    assert.equal(jsonPath([]), '');
  });
});

describe('the matrix spec schema', () => {
  let spec: Obj;
  before(async () => {
    spec = await schema('matrix-spec.schema.json');
  });

  it('lists the keys the parser knows: top level, launch inputs, metric fields', () => {
    assert.deepEqual(propertyKeys(spec), [...SPEC_KEYS].sort());
    assert.equal(spec.additionalProperties, false);
    const launch = at(spec, '$defs', 'launch');
    assert.deepEqual(Object.keys(at(launch, 'properties')), [...LAUNCH_KEYS]);
    assert.equal(launch.additionalProperties, false);
    const resources = (at(launch, 'properties', 'resources').anyOf as Obj[])[0];
    assert.deepEqual(Object.keys(at(resources, 'properties')), [...RESOURCE_KEYS]);
    assert.equal(resources.additionalProperties, false);
    const metricObject = (at(spec, '$defs', 'metric').anyOf as Obj[])[1];
    assert.deepEqual(propertyKeys(metricObject), [...METRIC_KEYS].sort());
    assert.equal(metricObject.additionalProperties, false);
  });

  it('gives every property of the three schemas a title and a description', async () => {
    const missing: string[] = [];
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) node.forEach((n, i) => visit(n, `${where}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Obj;
      for (const [name, prop] of Object.entries((o.properties as Obj | undefined) ?? {})) {
        const p = prop as Obj;
        // Bare constraints on a property inside anyOf (`axes: {minProperties: 1}`) describe nothing new.
        const constraintOnly = Object.keys(p).every((k) => /^min|^max/.test(k));
        if (!constraintOnly && (typeof p.title !== 'string' || typeof p.description !== 'string')) {
          missing.push(`${where}.${name}`);
        }
      }
      for (const [k, v] of Object.entries(o)) visit(v, `${where}.${k}`);
    };
    const names = ['matrix-spec.schema.json', 'status.schema.json', 'manifest.schema.json'];
    for (const name of names) visit(await schema(name), name);
    assert.deepEqual(missing, []);
  });

  it('accepts every example spec, and the one in docs/matrix.md, as the parser does', async () => {
    const files = (await readdir(path.join(root, 'examples'), { recursive: true }))
      .filter((f) => /(^|\/)matrix\.ya?ml$/.test(f))
      .map((f) => path.join('examples', f));
    assert.ok(files.length >= 3, `found ${files.join(', ')}`);
    const texts = await Promise.all(
      files.map(async (f) => ({ label: f, text: await readFile(path.join(root, f), 'utf8') })),
    );
    const docs = await readFile(path.join(root, 'docs/matrix.md'), 'utf8');
    const block = /## The spec[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs);
    assert.ok(block, 'docs/matrix.md has a spec example');
    texts.push({ label: 'docs/matrix.md', text: block[1] });
    for (const { label, text } of texts) {
      assert.deepEqual(messages(validateJson(spec, parseYaml(text))), '', label);
      assert.doesNotThrow(() => parseSpec([{ label, text }]), label);
    }
  });

  it('points every example at the schema on its first line, by a path that leads to it', async () => {
    const files = (await readdir(path.join(root, 'examples'), { recursive: true })).filter((f) =>
      /(^|\/)matrix\.ya?ml$/.test(f),
    );
    for (const f of files) {
      const file = path.join(root, 'examples', f);
      const first = (await readFile(file, 'utf8')).split('\n')[0];
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      assert.ok(m, `${f} starts with the schema comment`);
      assert.equal(
        path.resolve(path.dirname(file), m[1]),
        path.join(root, 'schemas/matrix-spec.schema.json'),
        f,
      );
    }
  });

  /** Specs the parser and the schema both accept. */
  const good: { name: string; text: string }[] = [
    { name: 'a single value for an axis', text: 'axes: {tool: a}' },
    { name: 'strings, numbers and booleans', text: 'axes: {tool: [a, 1, true, 2.5, -a-]}' },
    { name: 'JSON', text: '{"axes": {"tool": ["a"]}, "repetitions": 2}' },
    { name: 'include only, an empty entry among them', text: 'include: [{tool: a}, {}]' },
    { name: 'repetitions as text', text: 'axes: {t: [a]}\nrepetitions: " 3 "' },
    { name: 'the most repetitions', text: 'axes: {t: [a]}\nrepetitions: 100' },
    { name: 'an id with spaces around', text: 'axes: {t: [a]}\nid: " {t}-{seed} "' },
    { name: 'a title with spaces around', text: `axes: {t: [a]}\ntitle: "  ${'x'.repeat(200)}  "` },
    { name: 'a title with a tab inside... trimmed away', text: 'axes: {t: [a]}\ntitle: "\\tREST tools\\n"' },
    {
      name: 'metrics in every form',
      text: [
        'axes: {t: [a]}',
        'metrics:',
        '  score: " Higher "',
        '  "p 95": {unit: ms, better: lower, description: "  "}',
        `  long: {unit: "${'u'.repeat(20)}", description: "${'d'.repeat(300)}"}`,
        '  bare: {}',
      ].join('\n'),
    },
    {
      name: 'launch inputs, a multi-line command among them',
      text: 'axes: {t: [a]}\nlaunch:\n  timeout-minutes: 5\n  detach: true\n  command: |\n    echo one\n    echo two\n',
    },
    { name: 'launch in an include entry', text: 'include: [{t: x, launch: {machine-type: e2-standard-8}}]' },
    { name: 'an exclude entry', text: 'axes: {t: [a, b]}\nexclude: [{t: b}]' },
    {
      name: 'resources and per-vm',
      text: 'axes: {t: [a]}\nlaunch: {machine-type: e2-standard-8, resources: {cpus: 2, memory-gb: 0.5}, per-vm: 4}',
    },
    {
      name: 'resources in the text form',
      text: 'axes: {t: [a]}\nlaunch: {resources: "cpus=2, memory-gb=1.5"}',
    },
    {
      name: 'resources with numbers as text',
      text: 'axes: {t: [a]}\nlaunch: {resources: {cpus: "416", memory-gb: "0"}}',
    },
    { name: 'per-vm as text, in an include', text: 'include: [{t: a, launch: {per-vm: " 64 "}}]' },
    { name: 'empty resources: one CPU, no memory', text: 'axes: {t: [a]}\nlaunch: {resources: {}}' },
    {
      name: 'resources with GPUs and disk',
      text: 'axes: {t: [a]}\nlaunch: {accelerators: "nvidia-tesla-t4:2", resources: {gpus: 1, disk-gb: 2.5}, per-vm: 2}',
    },
    {
      name: 'GPUs and disk in the text form, as text numbers',
      text: 'axes: {t: [a]}\nlaunch: {resources: "gpus=0,disk-gb=1.5", boot-disk-size-gb: 20}',
    },
  ];
  for (const c of good) {
    it(`accepts ${c.name}`, () => {
      assert.doesNotThrow(() => parseSpec([{ label: 'input spec', text: c.text }]));
      assert.equal(messages(validateJson(spec, parseYaml(c.text))), '');
    });
  }

  /**
   * Specs the parser refuses, with the message naming the key; `schema` is where the schema refuses it (a path
   * prefix), or `false` for what no schema can say (the parser alone refuses it: the schema's description says so).
   */
  const bad: { name: string; text: string; message: RegExp; schema: (string | number)[] | false }[] = [
    {
      name: 'a misspelt top-level key',
      text: 'axis: {tool: [a]}',
      message:
        /^input spec has an unknown key "axis" \(did you mean "axes"\?\); a spec may have axes, include/,
      schema: ['axis'],
    },
    {
      name: 'an unknown top-level key',
      text: 'axes: {t: [a]}\nbucket: b',
      message: /^input spec has an unknown key "bucket"; a spec may have/,
      schema: ['bucket'],
    },
    {
      name: 'a list for a spec',
      text: '[a]',
      message: /^input spec must be a mapping with axes, include/,
      schema: [],
    },
    {
      name: 'nothing to run',
      text: 'repetitions: 2',
      message: /declares no experiments: give axes .* or include entries/,
      schema: [],
    },
    {
      name: 'no axis and no include entry',
      text: 'axes: {}\ninclude: []',
      message: /declares no experiments/,
      schema: [],
    },
    {
      name: 'axes as a list',
      text: 'axes: [a, b]',
      message: /^input spec: axes must be a mapping/,
      schema: ['axes'],
    },
    {
      name: 'an axis name with a digit first',
      text: 'axes: {1tool: [a]}',
      message: /^input spec: axes: parameter name "1tool" is not valid/,
      schema: ['axes', '1tool'],
    },
    {
      name: 'an axis name too long',
      text: `axes: {a${'b'.repeat(64)}: [a]}`,
      message: /parameter name "ab+" is not valid/,
      schema: ['axes'],
    },
    {
      name: 'an axis named launch',
      text: 'axes: {launch: [a]}',
      message: /^input spec: axes\.launch is reserved/,
      schema: ['axes', 'launch'],
    },
    {
      name: 'an axis without values',
      text: 'axes: {tool: []}',
      message: /^input spec: axes\.tool lists no values/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'a value listed twice',
      text: 'axes: {tool: [a, a]}',
      message: /^input spec: axes\.tool lists "a" twice/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'a mapping as a value',
      text: 'axes: {tool: [a, {x: 1}]}',
      message: /^input spec: axes\.tool\[1\] is a mapping/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'null as a value',
      text: 'axes: {tool: [~]}',
      message: /^input spec: axes\.tool\[0\] is null/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'a line break in a value',
      text: 'axes: {tool: ["a\\nb"]}',
      message: /^input spec: axes\.tool\[0\]: "a\\nb" holds a line break/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'a value with no id character',
      text: 'axes: {tool: ["!!"]}',
      message: /^input spec: axes\.tool\[0\]: "!!" cannot become part of an experiment id/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'a value too long',
      text: `axes: {tool: [${'v'.repeat(201)}]}`,
      message: /^input spec: axes\.tool\[0\]: "v+"\.\.\. is longer than 200 characters/,
      schema: ['axes', 'tool'],
    },
    {
      name: 'exclude as a mapping',
      text: 'axes: {t: [a]}\nexclude: {t: a}',
      message: /^input spec: exclude must be a list of mappings/,
      schema: ['exclude'],
    },
    {
      name: 'an exclude entry that is not a mapping',
      text: 'axes: {t: [a]}\nexclude: [a]',
      message: /^input spec: exclude\[0\] must be a mapping/,
      schema: ['exclude', 0],
    },
    {
      name: 'launch in an exclude entry',
      text: 'axes: {t: [a]}\nexclude: [{launch: {zones: z}}]',
      message: /^input spec: exclude\[0\]\.launch is a mapping/,
      schema: ['exclude', 0],
    },
    {
      name: 'a list in an include entry',
      text: 'include: [{tool: [a, b]}]',
      message: /^input spec: include\[0\]\.tool is a list/,
      schema: ['include', 0, 'tool'],
    },
    {
      name: 'a bad name in an include entry',
      text: 'include: [{"a b": 1}]',
      message: /^input spec: include\[0\]: parameter name "a b" is not valid/,
      schema: ['include', 0, 'a b'],
    },
    {
      name: 'a misspelt launch input in an include entry',
      text: 'include: [{t: a, launch: {machine_type: e2-standard-8}}]',
      message:
        /^input spec: include\[0\]\.launch sets "machine_type", which an experiment cannot set \(did you mean "machine-type"\?\); it may set zones, machine-type/,
      schema: ['include', 0, 'launch', 'machine_type'],
    },
    {
      name: 'repetitions 0',
      text: 'axes: {t: [a]}\nrepetitions: 0',
      message: /^input spec: repetitions must be a whole number from 1 to 100 \(got 0\)/,
      schema: ['repetitions'],
    },
    {
      name: 'repetitions 101',
      text: 'axes: {t: [a]}\nrepetitions: 101',
      message: /^input spec: repetitions must be a whole number from 1 to 100/,
      schema: ['repetitions'],
    },
    {
      name: 'repetitions 2.5',
      text: 'axes: {t: [a]}\nrepetitions: 2.5',
      message: /^input spec: repetitions must be a whole number/,
      schema: ['repetitions'],
    },
    {
      name: 'repetitions as words',
      text: 'axes: {t: [a]}\nrepetitions: many',
      message: /^input spec: repetitions must be a whole number/,
      schema: ['repetitions'],
    },
    {
      name: 'repetitions true',
      text: 'axes: {t: [a]}\nrepetitions: true',
      message: /^input spec: repetitions must be a whole number/,
      schema: ['repetitions'],
    },
    {
      name: 'an empty id',
      text: 'axes: {t: [a]}\nid: "  "',
      message: /^input spec: id must be a template string/,
      schema: ['id'],
    },
    {
      name: 'a number for an id',
      text: 'axes: {t: [a]}\nid: 5',
      message: /^input spec: id must be a template string/,
      schema: ['id'],
    },
    {
      name: 'launch as a list',
      text: 'axes: {t: [a]}\nlaunch: [a]',
      message: /^input spec: launch must be a mapping of actions\/launch inputs/,
      schema: ['launch'],
    },
    {
      name: 'a misspelt launch input',
      text: 'axes: {t: [a]}\nlaunch: {machine_type: e2-standard-8}',
      message:
        /^input spec: launch sets "machine_type", which an experiment cannot set \(did you mean "machine-type"\?\); it may set/,
      schema: ['launch', 'machine_type'],
    },
    {
      name: 'a launch input no experiment may set',
      text: 'axes: {t: [a]}\nlaunch: {bucket: b}',
      message: /^input spec: launch sets "bucket", which an experiment cannot set; it may set/,
      schema: ['launch', 'bucket'],
    },
    {
      name: 'a line break in a single-line launch input',
      text: 'axes: {t: [a]}\nlaunch: {zones: "a\\nb"}',
      message: /^input spec: launch\.zones: "a\\nb" holds a line break/,
      schema: ['launch', 'zones'],
    },
    {
      name: 'a NUL in a command',
      text: 'axes: {t: [a]}\nlaunch: {command: "a\\0b"}',
      message: /^input spec: launch\.command holds a NUL/,
      schema: ['launch', 'command'],
    },
    {
      name: 'a command too long',
      text: `axes: {t: [a]}\nlaunch: {command: ${'c'.repeat(65537)}}`,
      message: /^input spec: launch\.command is 65537 characters/,
      schema: ['launch', 'command'],
    },
    {
      name: 'a mapping for a launch input',
      text: 'axes: {t: [a]}\nlaunch: {machine-type: {a: 1}}',
      message: /^input spec: launch\.machine-type is a mapping/,
      schema: ['launch', 'machine-type'],
    },
    {
      name: 'a number for a title',
      text: 'axes: {t: [a]}\ntitle: 5',
      message: /^input spec: title must be text/,
      schema: ['title'],
    },
    {
      name: 'a blank title',
      text: 'axes: {t: [a]}\ntitle: "  "',
      message: /^input spec: title must be text/,
      schema: ['title'],
    },
    {
      name: 'a line break in a title',
      text: 'axes: {t: [a]}\ntitle: "a\\nb"',
      message: /^input spec: title holds a line break/,
      schema: ['title'],
    },
    {
      name: 'a title too long',
      text: `axes: {t: [a]}\ntitle: ${'x'.repeat(201)}`,
      message: /^input spec: title is 201 characters, more than 200/,
      schema: ['title'],
    },
    {
      name: 'metrics as a list',
      text: 'axes: {t: [a]}\nmetrics: [a]',
      message: /^input spec: metrics must be a mapping/,
      schema: ['metrics'],
    },
    {
      name: 'a direction that is none',
      text: 'axes: {t: [a]}\nmetrics: {s: up}',
      message: /^input spec: metrics\.s must be higher or lower/,
      schema: ['metrics', 's'],
    },
    {
      name: 'a number for better',
      text: 'axes: {t: [a]}\nmetrics: {s: {better: 1}}',
      message: /^input spec: metrics\.s\.better must be higher or lower/,
      schema: ['metrics', 's'],
    },
    {
      name: 'null for a metric',
      text: 'axes: {t: [a]}\nmetrics: {s: ~}',
      message: /^input spec: metrics\.s must be a mapping of unit, better, description/,
      schema: ['metrics', 's'],
    },
    {
      name: 'an unknown key in a metric',
      text: 'axes: {t: [a]}\nmetrics: {s: {units: ms}}',
      message: /^input spec: metrics\.s has an unknown key "units"/,
      schema: ['metrics', 's'],
    },
    {
      name: 'a unit too long',
      text: `axes: {t: [a]}\nmetrics: {s: {unit: ${'u'.repeat(21)}}}`,
      message: /^input spec: metrics\.s\.unit is 21 characters, more than 20/,
      schema: ['metrics', 's'],
    },
    {
      name: 'a line break in a description',
      text: 'axes: {t: [a]}\nmetrics: {s: {description: "a\\nb"}}',
      message: /^input spec: metrics\.s\.description holds a line break/,
      schema: ['metrics', 's'],
    },
    {
      name: 'a blank metric name',
      text: 'axes: {t: [a]}\nmetrics: {" ": higher}',
      message: /^input spec: metrics: metric name " " must be 1-100 characters/,
      schema: ['metrics', ' '],
    },
    {
      name: 'a metric name too long',
      text: `axes: {t: [a]}\nmetrics: {${'m'.repeat(101)}: higher}`,
      message: /^input spec: metrics: metric name "m+" must be 1-100 characters/,
      schema: ['metrics'],
    },
    {
      name: 'per-vm 0',
      text: 'axes: {t: [a]}\nlaunch: {per-vm: 0}',
      message: /^input spec: launch\.per-vm must be a whole number from 1 to 64/,
      schema: ['launch', 'per-vm'],
    },
    {
      name: 'per-vm above 64',
      text: 'include: [{t: a, launch: {per-vm: "65"}}]',
      message: /^input spec: include\[0\]\.launch\.per-vm must be a whole number from 1 to 64/,
      schema: ['include', 0, 'launch', 'per-vm'],
    },
    {
      name: 'a fractional per-vm',
      text: 'axes: {t: [a]}\nlaunch: {per-vm: 2.5}',
      message: /^input spec: launch\.per-vm must be a whole number/,
      schema: ['launch', 'per-vm'],
    },
    {
      name: 'a misspelt resources key',
      text: 'axes: {t: [a]}\nlaunch: {resources: {cpu: 2}}',
      message: /^input spec: launch\.resources has an unknown key "cpu" \(did you mean "cpus"\?\)/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources.cpus 0',
      text: 'axes: {t: [a]}\nlaunch: {resources: {cpus: 0}}',
      message: /^input spec: launch\.resources: cpus must be a whole number from 1 to 416/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources.cpus above 416',
      text: 'axes: {t: [a]}\nlaunch: {resources: {cpus: "417"}}',
      message: /^input spec: launch\.resources: cpus must be a whole number from 1 to 416/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'negative resources.memory-gb',
      text: 'axes: {t: [a]}\nlaunch: {resources: {memory-gb: -1}}',
      message: /^input spec: launch\.resources: memory-gb must be a number from 0 to 65536/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'fractional resources.gpus',
      text: 'axes: {t: [a]}\nlaunch: {resources: {gpus: 1.5}}',
      message: /^input spec: launch\.resources: gpus must be a whole number from 0 to 16/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources.gpus above 16, as text',
      text: 'axes: {t: [a]}\nlaunch: {resources: {gpus: "17"}}',
      message: /^input spec: launch\.resources: gpus must be a whole number from 0 to 16/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'negative resources.disk-gb',
      text: 'axes: {t: [a]}\nlaunch: {resources: {disk-gb: -1}}',
      message: /^input spec: launch\.resources: disk-gb must be a number from 0 to 65536/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'a misspelt key in the text form',
      text: 'axes: {t: [a]}\nlaunch: {resources: "gpu=1"}',
      message: /^input spec: launch\.resources has an unknown key "gpu" \(did you mean "gpus"\?\)/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources.memory-gb as words',
      text: 'axes: {t: [a]}\nlaunch: {resources: {memory-gb: lots}}',
      message: /^input spec: launch\.resources: memory-gb must be a number/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources text that is not key=value',
      text: 'axes: {t: [a]}\nlaunch: {resources: "2 cpus"}',
      message: /^input spec: launch\.resources: "2" is not key=value/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'resources as a number',
      text: 'axes: {t: [a]}\nlaunch: {resources: 2}',
      message: /^input spec: launch\.resources must be a mapping of cpus, memory-gb, gpus and disk-gb/,
      schema: ['launch', 'resources'],
    },
    // What a schema cannot say: the parser alone refuses these.
    {
      name: 'an exclude key that is not an axis',
      text: 'axes: {t: [a]}\nexclude: [{s: x}]',
      message: /^input spec: exclude\[0\] names "s", which is not an axis/,
      schema: false,
    },
    {
      name: 'two names for one variable',
      text: 'axes: {a.b: [1], a_b: [2]}',
      message: /parameters "a\.b" and "a_b" both become GCE_MATRIX_PARAM_A_B/,
      schema: false,
    },
    {
      name: 'a resources key in the text form misspelt',
      text: 'axes: {t: [a]}\nlaunch: {resources: "cpus=2,memory=4"}',
      message: /^input spec: launch\.resources has an unknown key "memory"/,
      schema: ['launch', 'resources'],
    },
    {
      name: 'two values equal as text',
      text: 'axes: {t: [1, "1"]}',
      message: /^input spec: axes\.t lists "1" twice/,
      schema: false,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}${c.schema === false ? ' (the parser alone)' : ', the parser and the schema both'}`, () => {
      assert.throws(
        () => parseSpec([{ label: 'input spec', text: c.text }]),
        (err: unknown) => err instanceof ConfigurationError && c.message.test(err.message),
      );
      const errors = validateJson(spec, parseYaml(c.text));
      if (c.schema === false) {
        assert.equal(messages(errors), '');
        return;
      }
      const where = c.schema;
      assert.ok(
        errors.some((e) => where.every((p, i) => e.path[i] === p)),
        `the schema refuses it at ${jsonPath(where) || '(root)'}; it said:\n${messages(errors) || 'nothing'}`,
      );
    });
  }

  it('has the plan refuse what the schema refuses, even past the hand checks', () => {
    // The hand checks read "1e1" as the number 10; the schema asks for digits.
    const text = 'axes: {t: [a]}\nrepetitions: "1e1"';
    assert.notEqual(messages(validateJson(spec, parseYaml(text))), '');
    assert.throws(
      () => parseSpec([{ label: 'input spec-file (m.yml)', text }]),
      /input spec-file \(m\.yml\): repetitions matches none of the allowed forms \(got "1e1"\); see schemas\/matrix-spec\.schema\.json/,
    );
  });
});

/** Runs the real VM agent with the shell tests' stand-ins (test/agent) and returns the bucket it wrote. */
async function agentBucket(
  experiment: string,
  command: string,
  attributes: Record<string, string> = {},
): Promise<Map<string, Buffer>> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'gce-matrix-schema-agent-'));
  const extra = Object.entries(attributes)
    .map(([k, v]) => `attr ${k} '${v.replace(/'/g, `'\\''`)}'`)
    .join('\n');
  const script = `
    . "$BATS_TEST_DIRNAME/helpers.bash"
    setup_fake
    EXP=pfx/runs/r1/experiments/$1
    attr experiment "$1"
    attr experiment-prefix "$EXP/"
    attr command "$2"
    ${extra}
    timeout 60 sh "$AGENT" startup >"$BATS_TEST_TMPDIR/agent.out" 2>&1 || { cat "$BATS_TEST_TMPDIR/agent.out"; exit 1; }
  `;
  await run('bash', ['-c', script, 'agent', experiment, command], {
    env: { ...process.env, BATS_TEST_DIRNAME: path.join(root, 'test/agent'), BATS_TEST_TMPDIR: tmp },
  });
  const bucket = path.join(tmp, 'fake/gcs/bkt');
  const objects = new Map<string, Buffer>();
  for (const e of await readdir(bucket, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    objects.set(path.relative(bucket, file).split(path.sep).join('/'), await readFile(file));
  }
  return objects;
}

describe('the status.json and manifest.json schemas', () => {
  let status: Obj;
  let manifest: Obj;
  let bed: TestBed;
  let clients: GcpClients;
  /** The objects the real agent wrote, per experiment. */
  const agentRuns = new Map<string, Map<string, Buffer>>();
  const base = (id: string): string => `pfx/runs/r1/experiments/${id}/`;

  before(async () => {
    status = await schema('status.schema.json');
    manifest = await schema('manifest.schema.json');
    const runs: [string, string, Record<string, string>?][] = [
      [
        'ok',
        `echo hi; echo '{"score":1}' > "$GCE_MATRIX_METRICS_FILE"; printf x > "$GCE_MATRIX_OUTPUT_DIR/a:b.txt"`,
      ],
      ['failed', 'echo oops; exit 3'],
      ['error', 'echo never', { secrets: 'API_KEY=projects/bed-project/secrets/missing/versions/1' }],
      // a packed VM of one member: the member's status carries provenance.placement, with the GPU launch
      // attached (gce-matrix-gpus: no nvidia-smi here) and disk it reserved
      [
        'packed',
        'echo "$GCE_MATRIX_CPUS"',
        {
          members: '1',
          'member-1':
            'experiment=packed\nexperiment-prefix=pfx/runs/r1/experiments/packed/\nattempt=1\nparams={}',
          resources: 'cpus=1\nmemory-mb=0\ngpus=1\ndisk-mb=1',
          gpus: '1',
        },
      ],
    ];
    for (const [id, command, attributes] of runs)
      agentRuns.set(id, await agentBucket(id, command, attributes));
    bed = await startTestBed();
    clients = connectGcp({ project: bed.project, env: bed.env }).clients;
  });
  after(async () => {
    await clients?.close();
    await bed?.close();
  });

  it('documents every field of the TypeScript types, and their enumerations', () => {
    const defs = (s: Obj, name: string): Obj => at(s, '$defs', name);
    const statusKeys = keysOf<ExperimentStatus>({
      schema: true,
      runId: true,
      experiment: true,
      attempt: true,
      state: true,
      exitCode: true,
      reason: true,
      startedAt: true,
      endedAt: true,
      outputs: true,
      provenance: true,
    });
    assert.deepEqual(propertyKeys(status), statusKeys);
    assert.deepEqual(propertyKeys(defs(status, 'output')), keysOf<OutputEntry>({ path: true, size: true }));
    const provenanceKeys = keysOf<Provenance>({
      instance: true,
      zone: true,
      machineType: true,
      cpuPlatform: true,
      image: true,
      containerImage: true,
      containerDigest: true,
      services: true,
      spot: true,
      repoSha: true,
      sourceCommit: true,
      sourceSha256: true,
      sourceBytes: true,
      parameters: true,
      placement: true,
    });
    assert.deepEqual(propertyKeys(defs(status, 'provenance')), provenanceKeys);
    // The manifest copies the status's provenance: one shape in both schemas.
    assert.deepEqual(
      at(defs(manifest, 'provenance'), 'properties'),
      at(defs(status, 'provenance'), 'properties'),
    );
    const states = keysOf<Record<ExperimentState, unknown>>({
      succeeded: true,
      failed: true,
      preempted: true,
      error: true,
    });
    assert.deepEqual([...(defs(status, 'state').enum as string[])].sort(), states);

    assert.deepEqual(
      propertyKeys(manifest),
      keysOf<Manifest>({
        schema: true,
        runId: true,
        bucket: true,
        prefix: true,
        source: true,
        collectedAt: true,
        counts: true,
        experiments: true,
        problems: true,
      }),
    );
    assert.deepEqual(
      propertyKeys(defs(manifest, 'counts')),
      keysOf<ManifestCounts>({
        experiments: true,
        succeeded: true,
        failed: true,
        missing: true,
        byStatus: true,
        files: true,
        bytes: true,
        problems: true,
      }),
    );
    assert.deepEqual(
      propertyKeys(defs(manifest, 'experiment')),
      keysOf<ManifestExperiment>({
        id: true,
        dir: true,
        status: true,
        state: true,
        exitCode: true,
        attempts: true,
        reason: true,
        startedAt: true,
        endedAt: true,
        params: true,
        provenance: true,
        heartbeat: true,
        planned: true,
        files: true,
        problems: true,
      }),
    );
    assert.deepEqual(
      propertyKeys(defs(manifest, 'file')),
      keysOf<CollectedFile>({
        path: true,
        object: true,
        size: true,
        crc32c: true,
        md5: true,
        generation: true,
        verified: true,
        renamedFrom: true,
        parts: true,
      }),
    );
    assert.deepEqual(
      propertyKeys(defs(manifest, 'problem')),
      keysOf<Problem>({ kind: true, object: true, message: true }),
    );
    assert.deepEqual(
      propertyKeys(defs(manifest, 'heartbeat')),
      keysOf<Heartbeat>({ attempt: true, at: true, phase: true }),
    );
    const statuses = keysOf<Record<CollectedStatus, unknown>>({
      succeeded: true,
      failed: true,
      preempted: true,
      error: true,
      unfinished: true,
      missing: true,
      corrupt: true,
      lost: true,
    });
    assert.deepEqual([...(defs(manifest, 'collectedStatus').enum as string[])].sort(), statuses);
    assert.deepEqual(propertyKeys(at(defs(manifest, 'counts'), 'properties', 'byStatus')), statuses);
    const kinds = keysOf<Record<ProblemKind, unknown>>({
      'unsafe-name': true,
      renamed: true,
      oversize: true,
      checksum: true,
      download: true,
      vanished: true,
      status: true,
      'missing-output': true,
      'log-truncated': true,
      'log-incomplete': true,
      unplanned: true,
    });
    assert.deepEqual(
      [...(at(defs(manifest, 'problem'), 'properties', 'kind').enum as string[])].sort(),
      kinds,
    );
    const verified = keysOf<Record<CollectedFile['verified'], unknown>>({
      md5: true,
      crc32c: true,
      size: true,
    });
    assert.deepEqual(
      [...(at(defs(manifest, 'file'), 'properties', 'verified').enum as string[])].sort(),
      verified,
    );
    const phases = keysOf<Record<Heartbeat['phase'], unknown>>({
      staging: true,
      queued: true,
      running: true,
      uploading: true,
    });
    assert.deepEqual(
      [...(at(defs(manifest, 'heartbeat'), 'properties', 'phase').enum as string[])].sort(),
      phases,
    );
  });

  it('validates the statuses the real agent writes: succeeded, failed, error', () => {
    const seen = new Set<string>();
    for (const [id, objects] of agentRuns) {
      for (const name of [`${base(id)}status.json`, `${base(id)}attempts/1/status.json`]) {
        const text = objects.get(name)?.toString('utf8');
        assert.ok(text, `the agent wrote ${name}`);
        const value = JSON.parse(text) as unknown;
        assert.equal(messages(validateJson(status, value)), '', name);
        seen.add(parseStatus(text, name).state);
      }
    }
    assert.deepEqual([...seen].sort(), ['error', 'failed', 'succeeded']);
    const packed = agentRuns
      .get('packed')
      ?.get(`${base('packed')}status.json`)
      ?.toString('utf8');
    const placement = parseStatus(packed ?? '', 'packed').provenance.placement;
    assert.equal(placement?.index, 1);
    assert.equal(placement?.gpus, '0');
    assert.equal(placement?.diskMb, 1);
  });

  it('validates a status with every field, and refuses what parseStatus refuses', () => {
    const full: ExperimentStatus = {
      schema: 1,
      runId: '4242',
      experiment: 'tool-a_seed-1',
      attempt: 2,
      state: 'failed',
      exitCode: 124,
      reason: 'timeout: the command ran longer than 60 seconds',
      startedAt: '2025-01-01T00:00:00Z',
      endedAt: '2025-01-01T00:01:00.000Z',
      outputs: [{ path: 'sub dir/metrics.json', size: 13 }],
      provenance: {
        instance: 'gcem-4242-tool-a-seed-1-0a1b2c3d-a2',
        zone: 'us-central1-a',
        machineType: 'e2-standard-2',
        cpuPlatform: 'Intel Broadwell',
        image: 'projects/debian-cloud/global/images/debian-12-bookworm-v20250101',
        containerImage: 'python:3.12',
        containerDigest: 'sha256:0123',
        spot: false,
        repoSha: '0123456789abcdef0123456789abcdef01234567',
        sourceCommit: '0123456789abcdef0123456789abcdef01234567',
        sourceSha256: 'ab'.repeat(32),
        sourceBytes: 2048,
        parameters: { tool: 'a', seed: 1 },
      },
    };
    assert.equal(messages(validateJson(status, full)), '');
    const bad: [string, Obj, RegExp][] = [
      ['another schema', { ...full, schema: 2 }, /has schema 2/],
      ['an unknown state', { ...full, state: 'done' }, /unknown state done/],
      ['no attempt number', { ...full, attempt: '2' }, /no attempt number/],
      ['no outputs list', { ...full, outputs: {} }, /no outputs list/],
    ];
    for (const [name, value, message] of bad) {
      assert.throws(() => parseStatus(JSON.stringify(value), 's.json'), message, name);
      assert.notEqual(messages(validateJson(status, value)), '', name);
    }
    const noEnd: Obj = { ...full };
    delete noEnd.endedAt;
    assert.match(messages(validateJson(status, noEnd)), /must have the key "endedAt"/);
    assert.match(messages(validateJson(status, { ...full, extra: 1 })), /^extra is not a known key here$/);
  });

  it('validates manifests built by buildManifest, statusFields and markLost', () => {
    const heartbeat = parseHeartbeat('{"attempt":1,"at":"2025-01-01T00:00:05Z","phase":"running"}');
    assert.ok(heartbeat);
    const experiments: ManifestExperiment[] = [
      {
        id: 'a',
        dir: 'a',
        ...statusFields(
          {
            schema: 1,
            runId: '9',
            experiment: 'a',
            attempt: 1,
            state: 'succeeded',
            exitCode: 0,
            startedAt: '2025-01-01T00:00:00Z',
            endedAt: '2025-01-01T00:00:09Z',
            outputs: [],
            provenance: { zone: 'z', spot: true, parameters: { t: 'a' } },
          },
          { corrupt: false, anyObjects: true },
        ),
        params: { t: 'a' },
        planned: true,
        files: [
          {
            path: 'a/outputs/m.json',
            object: 'p/m.json',
            size: 3,
            md5: 'x',
            crc32c: 'y',
            generation: '1',
            verified: 'md5',
          },
          {
            path: 'a/outputs/a_b.txt',
            object: 'p/a:b.txt',
            size: 1,
            verified: 'size',
            renamedFrom: 'a:b.txt',
          },
          { path: 'a/log.txt', object: 'p/attempts/1/log/', size: 10, verified: 'crc32c', parts: 2 },
        ],
        problems: [{ kind: 'renamed', object: 'p/a:b.txt', message: 'renamed' }],
      },
      {
        id: 'b',
        dir: 'b',
        ...statusFields(undefined, { corrupt: false, anyObjects: true, heartbeat }),
        planned: true,
        files: [],
        problems: [],
      },
      {
        id: 'c',
        dir: 'c',
        ...statusFields(undefined, { corrupt: true, anyObjects: true }),
        planned: null,
        files: [],
        problems: [{ kind: 'status', message: 'bad' }],
      },
      {
        id: 'd',
        dir: 'd',
        ...statusFields(undefined, { corrupt: false, anyObjects: false }),
        planned: false,
        files: [],
        problems: [],
      },
    ];
    const built = buildManifest({
      location: { bucket: 'bk', prefix: 'gce-matrix', runId: '9' },
      experiments,
      problems: [
        { kind: 'unplanned', object: 'gce-matrix/runs/9/experiments/x/', message: 'not in the plan' },
      ],
      collectedAt: new Date('2025-01-01T01:00:00Z'),
    });
    assert.equal(messages(validateJson(manifest, built)), '');
    const lost = markLost(
      built,
      new Map([
        ['b', { reason: 'its VM is gone', dir: 'b' }],
        ['z', { reason: 'never seen', dir: 'z' }],
      ]),
    );
    assert.deepEqual(
      lost.experiments.map((e) => e.status),
      ['succeeded', 'lost', 'corrupt', 'missing', 'lost'],
    );
    assert.equal(messages(validateJson(manifest, lost)), '');
    assert.match(
      messages(validateJson(manifest, { ...built, counts: { ...built.counts, byStatus: {} } })),
      /must have the key "lost"/,
    );
  });

  it('validates the manifest.json collect writes for what the real agent left in the bucket', async () => {
    const bucket = 'schema-results';
    bed.storage.createBucket(bucket);
    for (const objects of agentRuns.values()) {
      for (const [name, data] of objects) bed.storage.putObject(bucket, name, data);
    }
    // Still running: the agent's own heartbeat and a log chunk, no status. Unreadable: a torn status.
    const ok = agentRuns.get('ok')!;
    bed.storage.putObject(
      bucket,
      `${base('running')}attempts/1/heartbeat.json`,
      ok.get(`${base('ok')}attempts/1/heartbeat.json`)!,
    );
    bed.storage.putObject(bucket, `${base('running')}attempts/1/log/000001.txt`, 'started\n');
    bed.storage.putObject(bucket, `${base('torn')}status.json`, '{"schema":1,');
    bed.storage.putObject(bucket, `${base('stray')}outputs/x.txt`, 'x');
    const plan = ['ok', 'failed', 'error', 'packed', 'running', 'torn', 'never'].map((id) => ({
      id,
      params: { tool: id },
    }));
    const dest = path.join(await mkdtemp(path.join(bed.dir, 'collect-')), 'out');
    const result = await collectRun({
      storage: clients.storage,
      location: { bucket, prefix: 'pfx', runId: 'r1' },
      expected: plan,
      root: dest,
      concurrency: 4,
      maxFileSize: 1024 * 1024,
    });
    const written = JSON.parse(await readFile(result.manifestPath, 'utf8')) as Manifest;
    assert.equal(messages(validateJson(manifest, written)), '');
    const byId = new Map(written.experiments.map((e) => [e.id, e]));
    assert.deepEqual([...byId].map(([id, e]) => `${id}:${e.status}`).sort(), [
      'error:error',
      'failed:failed',
      'never:missing',
      'ok:succeeded',
      'packed:succeeded',
      'running:unfinished',
      'torn:corrupt',
    ]);
    assert.deepEqual(
      written.problems.map((p) => p.kind),
      ['unplanned'],
    );
    // The document exercises the optional fields: a heartbeat, a provenance, a renamed output, a log's parts.
    assert.ok(byId.get('running')?.heartbeat);
    assert.ok(byId.get('ok')?.provenance?.machineType);
    assert.equal(byId.get('packed')?.provenance?.placement?.packed, true);
    const okFiles = byId.get('ok')?.files ?? [];
    assert.ok(
      okFiles.some((f) => f.renamedFrom === 'a:b.txt'),
      JSON.stringify(okFiles),
    );
    assert.ok(okFiles.some((f) => f.parts !== undefined));
  });
});
