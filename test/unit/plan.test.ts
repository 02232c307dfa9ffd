import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { EXPERIMENT_ID } from '../../src/naming.ts';
import type { PlanLimits, RepetitionsInput } from '../../src/plan/expand.ts';
import { expandPlan } from '../../src/plan/expand.ts';
import { commentOverrides, parsePlanInputs } from '../../src/plan/inputs.ts';
import { commentArguments, parseOverrides } from '../../src/plan/overrides.ts';
import { planOutputs, planSummary } from '../../src/plan/outputs.ts';
import { parseSpec } from '../../src/plan/spec.ts';
import { parseMetricsText } from '../../src/report/metric-info.ts';

const LIMITS: PlanLimits = { maxExperiments: 1000, batchSize: 256, maxBatches: undefined };

interface Case {
  spec: string;
  overrides?: string;
  comment?: string;
  repetitions?: string;
  limits?: Partial<PlanLimits>;
}

function plan(c: Case) {
  const spec = parseSpec([{ label: 'input spec', text: c.spec }]);
  const overrides = [parseOverrides(c.overrides ?? '', 'input overrides')];
  if (c.comment !== undefined) overrides.push(parseOverrides(c.comment, 'the comment'));
  const reps: RepetitionsInput | undefined =
    c.repetitions === undefined ? undefined : { value: c.repetitions, label: 'input repetitions' };
  return expandPlan(spec, overrides, reps, { ...LIMITS, ...c.limits });
}

function ids(c: Case): string[] {
  return plan(c).experiments.map((e) => e.id);
}

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigurationError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

describe('plan expansion', () => {
  const cases: [string, Case, string[]][] = [
    [
      'the cross product, first axis slowest, one seed each',
      { spec: 'axes: {tool: [a, b], service: [x, y]}' },
      [
        'tool-a_service-x_seed-1',
        'tool-a_service-y_seed-1',
        'tool-b_service-x_seed-1',
        'tool-b_service-y_seed-1',
      ],
    ],
    [
      'repetitions as the innermost loop',
      { spec: 'axes: {tool: [a, b]}\nrepetitions: 2' },
      ['tool-a_seed-1', 'tool-a_seed-2', 'tool-b_seed-1', 'tool-b_seed-2'],
    ],
    [
      'JSON as well as YAML',
      { spec: '{"axes": {"tool": ["a"], "n": [1, 2]}}' },
      ['tool-a_n-1_seed-1', 'tool-a_n-2_seed-1'],
    ],
    [
      'an exclude matching part of a combination',
      {
        spec: 'axes: {tool: [a, b], service: [x, y]}\nexclude: [{tool: a, service: y}, {tool: b, service: x}]',
      },
      ['tool-a_service-x_seed-1', 'tool-b_service-y_seed-1'],
    ],
    [
      'an include matching no combination, added at the end with axis-only ids',
      { spec: 'axes: {tool: [a], service: [x]}\ninclude: [{tool: c, service: x, extra: 1}]' },
      ['tool-a_service-x_seed-1', 'tool-c_service-x_seed-1'],
    ],
    [
      'an include re-adding an excluded combination',
      { spec: 'axes: {tool: [a, b]}\nexclude: [{tool: b}]\ninclude: [{tool: b, note: back}]' },
      ['tool-a_seed-1', 'tool-b_seed-1'],
    ],
    [
      'an include-only spec, ids from every key',
      { spec: 'include: [{suite: smoke}, {suite: full, shards: 4}]' },
      ['suite-smoke_seed-1', 'suite-full_shards-4_seed-1'],
    ],
    [
      'an id template',
      { spec: 'axes: {tool: [a], service: [x]}\nrepetitions: 2\nid: "{tool}.{service}.r{seed}"' },
      ['a.x.r1', 'a.x.r2'],
    ],
    [
      'values sanitized into ids',
      { spec: 'axes: {image: ["ghcr.io/org/img:1.2", "a b"]}' },
      ['image-ghcr.io-org-img-1.2_seed-1', 'image-a-b_seed-1'],
    ],
    [
      'names that are also Object.prototype keys',
      { spec: 'axes: {constructor: [a]}\ninclude: [{toString: b}]\nid: "{constructor}-{toString}-{seed}"' },
      ['a-b-1'],
    ],
    [
      'a seed axis instead of repetitions',
      { spec: 'axes: {tool: [a], seed: [7, 9]}' },
      ['tool-a_seed-7', 'tool-a_seed-9'],
    ],
    [
      'overrides narrowing an axis, typed like the spec',
      { spec: 'axes: {tool: [a, b, c], n: [1, 2]}', overrides: 'tool=a,c n=2' },
      ['tool-a_n-2_seed-1', 'tool-c_n-2_seed-1'],
    ],
    [
      'overrides adding a value the spec does not list',
      { spec: 'axes: {tool: [a], service: [x]}', overrides: 'tool = d, e\nservice=x' },
      ['tool-d_service-x_seed-1', 'tool-e_service-x_seed-1'],
    ],
    [
      'an empty override changing nothing',
      { spec: 'axes: {tool: [a, b]}', overrides: 'tool= repetitions=' },
      ['tool-a_seed-1', 'tool-b_seed-1'],
    ],
    [
      'overrides dropping include-added combinations outside them',
      { spec: 'axes: {tool: [a, b]}\ninclude: [{tool: c}]', overrides: 'tool=a' },
      ['tool-a_seed-1'],
    ],
    [
      'overrides keeping an include-added combination they name',
      { spec: 'axes: {tool: [a, b]}\ninclude: [{tool: c, x: 1}]', overrides: 'tool=c' },
      ['tool-c_seed-1'],
    ],
    [
      'the comment after the overrides input, repetitions from it',
      {
        spec: 'axes: {tool: [a, b]}\nrepetitions: 5',
        overrides: 'tool=a',
        comment: 'tool=b repetitions=2',
        repetitions: '3',
      },
      ['tool-b_seed-1', 'tool-b_seed-2'],
    ],
    [
      'the repetitions input over the spec',
      { spec: 'axes: {tool: [a]}\nrepetitions: 5', repetitions: '2' },
      ['tool-a_seed-1', 'tool-a_seed-2'],
    ],
  ];
  for (const [what, c, expected] of cases) {
    it(`expands ${what}`, () => {
      const got = ids(c);
      assert.deepEqual(got, expected);
      for (const id of got) assert.match(id, EXPERIMENT_ID);
    });
  }

  it('extends matching combinations with keys and launch inputs, never changing an axis value', () => {
    const p = plan({
      spec: [
        'axes: {tool: [a, b], service: [x]}',
        'launch: {machine-type: e2-standard-4, provisioning: spot}',
        'include:',
        '  - {tool: a, heap: 4g, launch: {machine-type: n2-standard-8}}',
        '  - {color: green}',
        '  - {tool: b, color: blue}',
      ].join('\n'),
    });
    assert.deepEqual(plan({ spec: 'axes: {tool: [a]}' }).experiments[0], {
      id: 'tool-a_seed-1',
      params: { tool: 'a', seed: 1 },
    });
    assert.deepEqual(p.experiments, [
      {
        id: 'tool-a_service-x_seed-1',
        params: { tool: 'a', service: 'x', heap: '4g', color: 'green', seed: 1 },
        launch: { 'machine-type': 'n2-standard-8', provisioning: 'spot' },
      },
      {
        id: 'tool-b_service-x_seed-1',
        params: { tool: 'b', service: 'x', color: 'blue', seed: 1 },
        launch: { 'machine-type': 'e2-standard-4', provisioning: 'spot' },
      },
    ]);
    assert.deepEqual(p.axes, ['tool', 'service']);
  });

  it('keeps value types: numbers and booleans stay, override values take the spec value type', () => {
    const p = plan({ spec: 'axes: {n: [1, 2], fast: [true], v: ["1.0"]}', overrides: 'n=2 v=1.0' });
    assert.deepEqual(p.experiments[0]?.params, { n: 2, fast: true, v: '1.0', seed: 1 });
    const q = plan({ spec: 'axes: {n: [1]}', overrides: 'n=3,007' });
    assert.deepEqual(
      q.experiments.map((e) => e.params.n),
      [3, '007'],
    );
  });

  it('splits 1000 experiments into 4 even batches within 256, in order', () => {
    const p = plan({
      spec: `axes: {n: [${Array.from({ length: 500 }, (_, i) => i).join(', ')}]}\nrepetitions: 2`,
    });
    assert.equal(p.experiments.length, 1000);
    assert.deepEqual(
      p.batches.map((b) => b.length),
      [250, 250, 250, 250],
    );
    assert.deepEqual(p.batches.flat(), p.experiments);
    assert.deepEqual(
      plan({ spec: 'axes: {n: [1, 2, 3, 4, 5]}', limits: { batchSize: 2 } }).batches.map((b) => b.length),
      [2, 2, 1],
    );
  });
});

describe('plan validation', () => {
  const bad: [string, Case, RegExp][] = [
    [
      'malformed YAML',
      { spec: 'axes:\n  tool: [a, b\n  x: 1' },
      /^input spec is not valid YAML or JSON: .* at line 3, column 3/,
    ],
    [
      'malformed JSON',
      { spec: '{"axes": {"tool": ["a",, ]}}' },
      /^input spec is not valid YAML or JSON: .*line 1, column/,
    ],
    [
      'a duplicate key',
      { spec: 'axes: {tool: [a]}\naxes: {tool: [b]}' },
      /^input spec is not valid YAML.*unique/,
    ],
    ['a spec that is a list', { spec: '[1, 2]' }, /^input spec must be a mapping .*got a list/],
    [
      'an unknown top-level key',
      { spec: 'axes: {tool: [a]}\nmatrix: {}' },
      /^input spec has an unknown key "matrix"; a spec may have axes, include, exclude, repetitions, id, launch/,
    ],
    ['no axes and no include', { spec: 'repetitions: 2' }, /^input spec declares no experiments/],
    ['axes that are a list', { spec: 'axes: [tool]' }, /^input spec: axes must be a mapping/],
    ['an axis with no values', { spec: 'axes: {tool: []}' }, /^input spec: axes.tool lists no values/],
    [
      'a nested value',
      { spec: 'axes: {tool: [{name: a}]}' },
      /^input spec: axes.tool\[0\] is a mapping; values must be strings, numbers or booleans/,
    ],
    [
      'a null value',
      { spec: 'axes: {tool: [a, null]}' },
      /^input spec: axes.tool\[1\] is null; values must be/,
    ],
    [
      'a non-scalar include value',
      { spec: 'include: [{tool: [a, b]}]' },
      /^input spec: include\[0\].tool is a list/,
    ],
    ['a multi-line value', { spec: 'axes: {tool: ["a\\nb"]}' }, /axes.tool\[0\]: "a\\nb" holds a line break/],
    [
      'a value that cannot become a name',
      { spec: 'axes: {tool: ["!!!"]}' },
      /^input spec: axes.tool\[0\]: "!!!" cannot become part of an experiment id/,
    ],
    ['a repeated axis value', { spec: 'axes: {n: [1, "1"]}' }, /axes.n lists "1" twice/],
    [
      'a bad axis name',
      { spec: 'axes: {"my tool": [a]}' },
      /^input spec: axes: parameter name "my tool" is not valid/,
    ],
    [
      'names that collide on the VM',
      { spec: 'axes: {tool-name: [a], tool_name: [b]}' },
      /"tool-name" and "tool_name" both become GCE_MATRIX_PARAM_TOOL_NAME/,
    ],
    [
      'an exclude naming no axis',
      { spec: 'axes: {tool: [a]}\nexclude: [{tol: a}]' },
      /^input spec: exclude\[0\] names "tol", which is not an axis; exclude matches axes only \(tool\)/,
    ],
    [
      'an unknown launch input',
      { spec: 'axes: {tool: [a]}\nlaunch: {bucket: b}' },
      /^input spec: launch sets "bucket", which an experiment cannot set; it may set zones, machine-type/,
    ],
    [
      'repetitions out of range',
      { spec: 'axes: {tool: [a]}\nrepetitions: 0' },
      /^input spec: repetitions must be a whole number from 1 to 100 \(got 0\)/,
    ],
    [
      'a repetitions input out of range',
      { spec: 'axes: {tool: [a]}', repetitions: '101' },
      /^input repetitions must be a whole number from 1 to 100/,
    ],
    [
      'repetitions in overrides out of range',
      { spec: 'axes: {tool: [a]}', overrides: 'repetitions=1.5' },
      /^input overrides: repetitions must be a whole number/,
    ],
    [
      'repetitions with a seed axis',
      { spec: 'axes: {seed: [1, 2]}\nrepetitions: 3' },
      /^input spec: repetitions: the spec already has a "seed" parameter/,
    ],
    [
      'an unknown axis in the overrides',
      { spec: 'axes: {tool: [a], service: [x]}', overrides: 'tools=a' },
      /^input overrides: unknown axis "tools"; the spec's axes are tool, service/,
    ],
    [
      'an unknown axis in the comment',
      { spec: 'axes: {tool: [a]}', comment: 'servce=x' },
      /^the comment: unknown axis "servce"; the spec's axes are tool/,
    ],
    [
      'an override value that cannot become a name',
      { spec: 'axes: {tool: [a]}', overrides: 'tool=%%' },
      /^input overrides: tool value "%%" may hold only letters/,
    ],
    [
      'an empty matrix after excludes',
      { spec: 'axes: {tool: [a]}\nexclude: [{tool: a}]' },
      /^input spec: the spec's excludes remove every combination/,
    ],
    [
      'an empty matrix after overrides',
      { spec: 'axes: {tool: [a, b]}\nexclude: [{tool: c}]', overrides: 'tool=c' },
      /^input overrides \(tool=c\) leave no experiments; choose values the spec has \(tool: a, b\)/,
    ],
    [
      'duplicate ids after sanitizing',
      { spec: 'axes: {tool: ["a b", "a/b"]}' },
      /^input spec: experiments \{tool: "a b", seed: 1\} and \{tool: "a\/b", seed: 1\} both get the id "tool-a-b_seed-1"; make their values differ or set an "id" template/,
    ],
    [
      'duplicate ids from a template',
      { spec: 'axes: {tool: [a, b]}\nid: "run-{seed}"' },
      /^input spec: id template "run-\{seed\}": experiments .* both get the id "run-1"/,
    ],
    [
      'duplicate included combinations',
      { spec: 'include: [{tool: a}, {tool: a}]' },
      /both get the id "tool-a_seed-1"/,
    ],
    [
      'a template naming a missing parameter',
      { spec: 'axes: {tool: [a]}\nid: "{tool}-{svc}"' },
      /^input spec: id template "\{tool\}-\{svc\}" names \{svc\}, which experiment \{tool: "a", seed: 1\} does not have; use \{tool\}, \{seed\}/,
    ],
    [
      'a template giving an invalid id',
      { spec: 'axes: {tool: [a]}\nid: "runs/{tool}"' },
      /^input spec: id template "runs\/\{tool\}" gives "runs\/a" .* which is not a valid experiment id/,
    ],
    [
      'a template naming an inherited property',
      { spec: 'axes: {tool: [a]}\nid: "{tool}-{valueOf}"' },
      /names \{valueOf\}, which experiment \{tool: "a", seed: 1\} does not have/,
    ],
    [
      'an id template that is not a string',
      { spec: 'axes: {tool: [a]}\nid: [x]' },
      /^input spec: id must be a template string/,
    ],
    [
      'an id too long for the default rule',
      { spec: `axes: {tool: ["${'x'.repeat(199)}"]}` },
      /longer than 200 characters; set a shorter "id" template/,
    ],
    [
      'too many experiments',
      { spec: 'axes: {a: [1, 2, 3], b: [1, 2]}\nrepetitions: 2', limits: { maxExperiments: 10 } },
      /^the plan has 12 experiments, more than input max-experiments \(10\); narrow it with overrides/,
    ],
    [
      'an absurd cross product',
      {
        spec: `axes: {${'abcdefg'
          .split('')
          .map((k) => `${k}: [1,2,3,4,5,6,7,8,9,10]`)
          .join(', ')}}`,
      },
      /^input spec: the axes make 10000000 combinations/,
    ],
    [
      'more batches than the workflow runs',
      { spec: 'axes: {n: [1, 2, 3]}', limits: { batchSize: 1, maxBatches: 2 } },
      /need 3 batches of at most 1 \(input batch-size\), more than input max-batches \(2\)/,
    ],
  ];
  for (const [what, c, message] of bad) {
    it(`rejects ${what}`, () => rejects(() => plan(c), message));
  }

  it('names the spec-file for keys that came from it', () => {
    rejects(
      () =>
        parseSpec([
          { label: 'input spec-file (m.yml)', text: 'axes: {tool: [{x: 1}]}' },
          { label: 'input spec', text: 'repetitions: 2' },
        ]),
      /^input spec-file \(m.yml\): axes.tool\[0\] is a mapping/,
    );
    const merged = parseSpec([
      { label: 'input spec-file (m.yml)', text: 'axes: {tool: [a]}\nrepetitions: 3' },
      { label: 'input spec', text: 'repetitions: 2' },
    ]);
    assert.equal(merged.repetitions, 2);
    assert.equal(merged.origin.axes, 'input spec-file (m.yml)');
  });
});

describe('spec title and metrics', () => {
  const AXES = 'axes: {tool: [a]}\n';
  const good: [string, string, string | undefined, Record<string, unknown>][] = [
    ['neither', '', undefined, {}],
    [
      'a title and metrics in full',
      'title: "REST API testing tools"\nmetrics:\n  line_coverage: {unit: "%", better: higher, description: "Lines covered by the generated tests"}\n  time_s: {unit: s, better: lower}',
      'REST API testing tools',
      {
        line_coverage: { unit: '%', better: 'higher', description: 'Lines covered by the generated tests' },
        time_s: { unit: 's', better: 'lower' },
      },
    ],
    [
      'a bare direction',
      'metrics: {score: higher, errors: " Lower "}',
      undefined,
      {
        score: { better: 'higher' },
        errors: { better: 'lower' },
      },
    ],
    [
      'any single-line metric name, a unit alone, an empty mapping',
      'metrics: {"p 95 (ms)": {unit: ms}, "ünïcode/x": {}}',
      undefined,
      { 'p 95 (ms)': { unit: 'ms' }, 'ünïcode/x': {} },
    ],
    [
      'a title trimmed, an empty unit dropped',
      'title: "  Bench  "\nmetrics: {x: {unit: ""}}',
      'Bench',
      { x: {} },
    ],
    [
      'markup kept as text (the report escapes it)',
      'metrics: {"<b>": {unit: "<b>|", description: "a | b <i>"}}',
      undefined,
      { '<b>': { unit: '<b>|', description: 'a | b <i>' } },
    ],
  ];
  for (const [what, text, title, metrics] of good) {
    it(`accepts ${what}`, () => {
      const spec = parseSpec([{ label: 'input spec', text: AXES + text }]);
      assert.equal(spec.title, title);
      assert.deepEqual(Object.fromEntries(spec.metrics), metrics);
      assert.deepEqual([...spec.metrics.keys()], Object.keys(metrics), 'the spec’s order is kept');
    });
  }

  const bad: [string, string, RegExp][] = [
    ['a title that is not text', 'title: 2024', /^input spec: title must be text.*got number 2024\); quote/],
    ['an empty title', 'title: "  "', /^input spec: title must be text/],
    ['a multi-line title', 'title: "a\\nb"', /^input spec: title holds a line break/],
    [
      'a title over 200 characters',
      `title: "${'t'.repeat(201)}"`,
      /^input spec: title is 201 characters, more than 200/,
    ],
    [
      'metrics that are a list',
      'metrics: [a, b]',
      /^input spec: metrics must be a mapping of metric names .*got a list/,
    ],
    [
      'a bad direction',
      'metrics: {line_coverage: {better: up}}',
      /^input spec: metrics\.line_coverage\.better must be higher or lower \(got "up"\)$/,
    ],
    [
      'a bad bare direction',
      'metrics: {score: best}',
      /^input spec: metrics\.score must be higher or lower \(got "best"\)/,
    ],
    [
      'an unknown key in a metric',
      'metrics: {time_s: {unit: s, units: ms}}',
      /^input spec: metrics\.time_s has an unknown key "units"; a metric may have unit, better, description$/,
    ],
    [
      'a metric that is a number',
      'metrics: {time_s: 3}',
      /^input spec: metrics\.time_s must be a mapping of unit, better, description or a direction/,
    ],
    [
      'a unit that is not text',
      'metrics: {t: {unit: 5}}',
      /^input spec: metrics\.t\.unit must be text on one line \(got 5\)/,
    ],
    [
      'a unit over 20 characters',
      `metrics: {t: {unit: "${'u'.repeat(21)}"}}`,
      /metrics\.t\.unit is 21 characters, more than 20/,
    ],
    [
      'a multi-line unit',
      'metrics: {t: {unit: "m\\ns"}}',
      /^input spec: metrics\.t\.unit holds a line break/,
    ],
    [
      'a description over 300 characters',
      `metrics: {t: {description: "${'d'.repeat(301)}"}}`,
      /metrics\.t\.description is 301 characters, more than 300/,
    ],
    [
      'a key path of an odd name',
      'metrics: {"p 95": {better: sideways}}',
      /^input spec: metrics\["p 95"\]\.better must be higher or lower/,
    ],
    [
      'a metric name over 100 characters',
      `metrics: {${'m'.repeat(101)}: higher}`,
      /^input spec: metrics: metric name "m+" must be 1-100 characters on one line/,
    ],
    [
      'a multi-line metric name',
      'metrics: {"a\\nb": higher}',
      /metric name "a\\nb" must be 1-100 characters on one line/,
    ],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, () =>
      rejects(() => parseSpec([{ label: 'input spec', text: AXES + text }]), message));
  }

  it('merges title and metrics from the file and the inline spec at top level, naming where each came from', () => {
    const file = {
      label: 'input spec-file (m.yml)',
      text: `${AXES}title: From file\nmetrics: {a: {unit: s}, b: lower}`,
    };
    const merged = parseSpec([file, { label: 'input spec', text: 'metrics: {c: higher}' }]);
    assert.equal(merged.title, 'From file');
    assert.deepEqual(
      Object.fromEntries(merged.metrics),
      { c: { better: 'higher' } },
      'the inline key replaces the file’s',
    );
    rejects(
      () => parseSpec([file, { label: 'input spec', text: 'title: [x]' }]),
      /^input spec: title must be text/,
    );
    rejects(
      () =>
        parseSpec([
          { ...file, text: `${AXES}metrics: {a: {better: up}}` },
          { label: 'input spec', text: 'title: T' },
        ]),
      /^input spec-file \(m.yml\): metrics\.a\.better/,
    );
  });

  it('outputs the title and the metrics as JSON the report reads back', () => {
    const p = plan({
      spec: `${AXES}title: "Bench <1>"\nmetrics: {line_coverage: {unit: "%", better: higher}, score: lower}`,
    });
    const out = planOutputs(p, '7');
    assert.equal(out.title, 'Bench <1>');
    assert.equal(out.metrics, '{"line_coverage":{"unit":"%","better":"higher"},"score":{"better":"lower"}}');
    assert.deepEqual(Object.fromEntries(parseMetricsText(out.metrics)), {
      line_coverage: { unit: '%', better: 'higher' },
      score: { better: 'lower' },
    });
    const none = planOutputs(plan({ spec: AXES }), '7');
    assert.equal(none.title, '');
    assert.equal(none.metrics, '{}');
  });
});

describe('overrides and comments', () => {
  const good: [string, string, Record<string, string[]>, string | undefined][] = [
    ['space-separated', 'tool=a,b service=x', { tool: ['a', 'b'], service: ['x'] }, undefined],
    [
      'newline-separated with spaces',
      'tool = a, b\n  service=x\n',
      { tool: ['a', 'b'], service: ['x'] },
      undefined,
    ],
    ['with repetitions', 'tool=a repetitions=3', { tool: ['a'] }, '3'],
    ['an empty value before the next axis', 'tool= service=x', { service: ['x'] }, undefined],
    ['a value after "= "', 'tool= a,b', { tool: ['a', 'b'] }, undefined],
    ['empty values ignored', 'tool= service=,x,', { service: ['x'] }, undefined],
    ['nothing', '  \n', {}, undefined],
  ];
  for (const [what, text, axes, reps] of good) {
    it(`parses ${what}`, () => {
      const o = parseOverrides(text, 'input overrides');
      assert.deepEqual(Object.fromEntries(o.axes), axes);
      assert.equal(o.repetitions, reps);
    });
  }

  const bad: [string, string, RegExp][] = [
    ['a token without =', 'tool=a b', /^input overrides: "b" is not axis=value1,value2/],
    ['a key that is not a name', '1x=a', /^input overrides: "1x=a" is not axis=value1,value2/],
    [
      'an axis given twice',
      'tool=a tool=b',
      /^input overrides: tool is given twice; list all its values once/,
    ],
    ['two repetitions', 'repetitions=1,2', /^input overrides: repetitions takes one number/],
    [
      'a value with shell characters',
      'tool=$(id)',
      /^input overrides: tool value "\$\(id\)" may hold only letters, digits/,
    ],
    ['a value with a backtick', 'tool=a`id`', /^input overrides: tool value "a`id`" may hold only/],
  ];
  for (const [what, text, message] of bad) {
    it(`rejects ${what}`, () => rejects(() => parseOverrides(text, 'input overrides'), message));
  }

  const comments: [string, string | undefined][] = [
    ['/gce-matrix run tool=a,b service=x repetitions=2', 'tool=a,b service=x repetitions=2'],
    ['  /gce-matrix run tool=a\r\nThanks, bot!', 'tool=a'],
    ['/gce-matrix run', ''],
    ['/gce-matrix runner tool=a', undefined],
    ['please /gce-matrix run tool=a', undefined],
    ['/gce-matrix status', undefined],
  ];
  for (const [body, args] of comments) {
    it(`reads the command in ${JSON.stringify(body)}`, () => assert.equal(commentArguments(body), args));
  }

  it('takes overrides from an issue_comment event only', () => {
    const o = commentOverrides('issue_comment', { comment: { body: '/gce-matrix run tool=a service=x' } });
    assert.deepEqual(Object.fromEntries(o?.axes ?? []), { tool: ['a'], service: ['x'] });
    assert.match(o?.label ?? '', /comment's \/gce-matrix run arguments/);
    assert.equal(commentOverrides('workflow_dispatch', { inputs: {} }), undefined);
    rejects(
      () => commentOverrides('issue_comment', { comment: { body: 'LGTM' } }),
      /^the comment does not start with \/gce-matrix run; run the plan only for such comments/,
    );
  });
});

describe('plan inputs', () => {
  const ctx = { runId: '4242', workspace: '/ws' };
  const reader =
    (inputs: Record<string, string>) =>
    (name: string): string =>
      inputs[name] ?? '';

  it('reads defaults', () => {
    const s = parsePlanInputs(reader({ 'spec-file': 'bench/matrix.yml' }), ctx);
    assert.deepEqual(s.specFile, { path: '/ws/bench/matrix.yml', given: 'bench/matrix.yml' });
    assert.equal(s.spec, undefined);
    assert.equal(s.runId, '4242');
    assert.deepEqual(s.limits, { maxExperiments: 1000, batchSize: 256, maxBatches: undefined });
    assert.equal(s.repetitions, undefined);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['no spec at all', {}, /^input spec or spec-file is required/],
    [
      'a spec-file outside the workspace',
      { 'spec-file': '../etc/passwd' },
      /^input spec-file "..\/etc\/passwd" is outside the workspace/,
    ],
    ['a bad run id', { spec: 'x: 1', 'run-id': 'a/b' }, /^input run-id "a\/b" must be 1-80 of/],
    [
      'a batch size over GitHub’s limit',
      { spec: 'x: 1', 'batch-size': '300' },
      /^input batch-size must be a whole number from 1 to 256/,
    ],
    [
      'a non-number max-experiments',
      { spec: 'x: 1', 'max-experiments': 'lots' },
      /^input max-experiments must be a whole number/,
    ],
    [
      'a bad max-batches',
      { spec: 'x: 1', 'max-batches': '0' },
      /^input max-batches must be a whole number from 1/,
    ],
    [
      'bad overrides',
      { spec: 'x: 1', overrides: 'tool' },
      /^input overrides: "tool" is not axis=value1,value2/,
    ],
  ];
  for (const [what, inputs, message] of bad) {
    it(`rejects ${what}`, () => rejects(() => parsePlanInputs(reader(inputs), ctx), message));
  }

  it('needs a run id outside Actions', () => {
    rejects(
      () => parsePlanInputs(reader({ spec: 'x: 1' }), { runId: undefined, workspace: '/ws' }),
      /^input run-id is required outside GitHub Actions/,
    );
  });
});

describe('plan outputs and summary', () => {
  it('emits fromJSON-ready matrices and batches', () => {
    const p = plan({ spec: 'axes: {tool: [a, b], service: [x]}\nrepetitions: 2', limits: { batchSize: 3 } });
    const out = planOutputs(p, '77');
    const matrix = JSON.parse(out.matrix) as { include: { experiment: { id: string } }[] };
    assert.deepEqual(
      matrix.include.map((e) => e.experiment.id),
      [
        'tool-a_service-x_seed-1',
        'tool-a_service-x_seed-2',
        'tool-b_service-x_seed-1',
        'tool-b_service-x_seed-2',
      ],
    );
    const batches = JSON.parse(out.batches) as { include: unknown[] }[];
    assert.deepEqual(
      batches.map((b) => b.include.length),
      [2, 2],
    );
    assert.deepEqual(
      batches.flatMap((b) => b.include),
      matrix.include,
    );
    assert.equal(out['batch-count'], '2');
    assert.equal(out.count, '4');
    assert.equal(out['run-id'], '77');
    assert.equal(out.axes, '["tool","service"]');
    assert.equal(out.repetitions, '2');
  });

  it('refuses outputs over GitHub’s 1 MB per job', () => {
    const pad = Object.fromEntries(['p1', 'p2', 'p3', 'p4', 'p5'].map((k) => [k, 'v'.repeat(190)]));
    const spec = `axes: {n: [${Array.from({ length: 1000 }, (_, i) => i).join(', ')}]}\ninclude: [${JSON.stringify(pad)}]`;
    rejects(
      () => planOutputs(plan({ spec }), '1'),
      /GitHub keeps at most 1000000 per job; plan fewer experiments/,
    );
  });

  it('writes a summary table with untrusted text escaped', () => {
    const p = plan({
      spec: 'axes: {tool: ["<img src=x>", "@octocat"], svc: ["a|b"]}\ninclude: [{tool: "@octocat", launch: {machine-type: n2-standard-8}}]',
    });
    const md = planSummary(p, '77');
    assert.match(md, /^### gce-matrix plan\n\n\*\*2 experiments\*\*, run 77; axes: tool, svc\.\n/);
    assert.match(md, /\| # \| experiment \| tool \| svc \| seed \| launch \|/);
    assert.doesNotMatch(md, /<img/);
    assert.doesNotMatch(md, /a\|b/);
    assert.doesNotMatch(md, /@octocat/);
    assert.match(md, /machine-type=n2-standard-8/);
    assert.equal(md.trim().split('\n').length, 8);
  });
});

describe('multi-line launch settings', () => {
  it('keeps a YAML block command whole, for every experiment', () => {
    const spec = parseSpec([
      {
        label: 'spec',
        text: 'axes: {tool: [a, b]}\nlaunch:\n  command: |\n    set -eu\n    echo "$GCE_MATRIX_PARAM_TOOL"\n',
      },
    ]);
    assert.equal(spec.launch?.command, 'set -eu\necho "$GCE_MATRIX_PARAM_TOOL"\n');
  });
  const bad: [string, string, RegExp][] = [
    [
      'a line break in a single-line setting',
      'launch:\n  machine-type: "e2\\nsmall"\n',
      /launch.machine-type: .* holds a line break/,
    ],
    ['a NUL in a command', 'launch:\n  command: "echo \\0"\n', /launch.command holds a NUL character/],
    [
      'a command longer than 64 KiB',
      `launch:\n  command: "${'x'.repeat(70_000)}"\n`,
      /launch.command is 70000 characters, more than 65536; put a long command in a script file/,
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseSpec([{ label: 'spec', text: `axes: {tool: [a]}\n${text}` }]),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});
