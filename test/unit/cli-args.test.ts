import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpText, optionInteger, optionValue, parseArgs } from '../../src/cli/args.ts';
import { localMethod, renderOptions } from '../../src/cli/report-files.ts';
import { ConfigurationError } from '../../src/errors.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { planFile } from '../../src/cli/local-run.ts';
import { checkPivot, checkSets, listedValues } from '../../src/cli/spec-checks.ts';
import { expandPlan } from '../../src/plan/expand.ts';
import { parseOverrides } from '../../src/plan/overrides.ts';
import { parseSpec } from '../../src/plan/spec.ts';

describe('parseArgs', () => {
  const ok: [
    string,
    string[],
    { command: string; positionals: string[]; options: Record<string, unknown> },
  ][] = [
    ['no arguments is help', [], { command: 'help', positionals: [], options: {} }],
    ['help COMMAND', ['help', 'run'], { command: 'help', positionals: ['run'], options: {} }],
    [
      '--help after a command',
      ['run', 'x.yml', '--help'],
      { command: 'help', positionals: ['run'], options: {} },
    ],
    ['-h after a command', ['run', '-h'], { command: 'help', positionals: ['run'], options: {} }],
    [
      '--help wins over a mistake on the same line',
      ['status', '--paralel', '-h'],
      { command: 'help', positionals: ['status'], options: {} },
    ],
    ['-h of janitor', ['janitor', '-h'], { command: 'help', positionals: ['janitor'], options: {} }],
    ['-h of rerun', ['rerun', '--help'], { command: 'help', positionals: ['rerun'], options: {} }],
    ['-h at the top level', ['-h'], { command: 'help', positionals: [], options: {} }],
    ['--help COMMAND', ['--help', 'run'], { command: 'help', positionals: ['run'], options: {} }],
    ['help --help', ['help', '--help'], { command: 'help', positionals: [], options: {} }],
    ['--version', ['--version'], { command: 'version', positionals: [], options: {} }],
    ['-V', ['-V'], { command: 'version', positionals: [], options: {} }],
    ['version', ['version'], { command: 'version', positionals: [], options: {} }],
    ['version -h', ['version', '-h'], { command: 'help', positionals: [], options: {} }],
    [
      'short aliases, also glued to their value',
      ['run', 's', '-p', '3', '-o', 'dir'],
      { command: 'run', positionals: ['s'], options: { parallel: '3', out: 'dir' } },
    ],
    [
      'a short alias with its value glued',
      ['run', 's', '-p3'],
      { command: 'run', positionals: ['s'], options: { parallel: '3' } },
    ],
    [
      '-o of status',
      ['status', 'r', '-o', 'runs'],
      { command: 'status', positionals: ['r'], options: { out: 'runs' } },
    ],
    [
      '--allow-new-values',
      ['run', 's', '--set', 'tool=x', '--allow-new-values'],
      { command: 'run', positionals: ['s'], options: { set: ['tool=x'], 'allow-new-values': true } },
    ],
    ['a lone - is a positional', ['status', '-'], { command: 'status', positionals: ['-'], options: {} }],
    [
      'janitor lists',
      ['janitor', '--run-id', 'a', '--run-id=b', '--delete'],
      { command: 'janitor', positionals: [], options: { 'run-id': ['a', 'b'], delete: true } },
    ],
    [
      'values both ways, flags and lists',
      [
        'run',
        'spec.yml',
        '--parallel',
        '3',
        '--out=o',
        '--set',
        'tool=a,b',
        '--set=service=x',
        '--no-progress',
      ],
      {
        command: 'run',
        positionals: ['spec.yml'],
        options: { parallel: '3', out: 'o', set: ['tool=a,b', 'service=x'], 'no-progress': true },
      },
    ],
    [
      '-- ends options',
      ['run', '--', '--odd-name.yml'],
      { command: 'run', positionals: ['--odd-name.yml'], options: {} },
    ],
    [
      'the statistical method of the comparison with a baseline',
      [
        'run',
        's',
        '--baseline',
        'b',
        '--test',
        'signed-rank',
        '--adjust=bh',
        '--alpha',
        '0.01',
        '--replicate',
        'trial',
      ],
      {
        command: 'run',
        positionals: ['s'],
        options: { baseline: 'b', test: 'signed-rank', adjust: 'bh', alpha: '0.01', replicate: 'trial' },
      },
    ],
    [
      'a value may hold =',
      ['run', 's', '--input', 'command=echo a=b'],
      { command: 'run', positionals: ['s'], options: { input: ['command=echo a=b'] } },
    ],
  ];
  for (const [name, argv, want] of ok) {
    it(name, () => assert.deepEqual(parseArgs(argv), want));
  }

  const bad: [string, string[], RegExp][] = [
    [
      'unknown command, nothing near: the list',
      ['launch'],
      /^unknown command "launch"; commands: run, status, janitor, rerun, help, version \(gce-matrix --help\)$/,
    ],
    ['unknown command, one near', ['rn'], /^unknown command "rn"; did you mean run\? \(gce-matrix --help\)$/],
    ['a swapped command', ['stauts', 'r'], /^unknown command "stauts"; did you mean status\?/],
    ['help of an unknown command', ['help', 'rerum'], /^unknown command "rerum"; did you mean rerun\?/],
    [
      '--help of an unknown command',
      ['--help', 'janitr'],
      /^unknown command "janitr"; did you mean janitor\?/,
    ],
    [
      'unknown option, one near',
      ['run', 's', '--paralel', '2'],
      /^run: unknown option --paralel; did you mean --parallel\? \(gce-matrix run --help lists the options\)$/,
    ],
    [
      'unknown option with its value',
      ['run', 's', '--pivto=a,b'],
      /^run: unknown option --pivto; did you mean --pivot\?/,
    ],
    [
      'unknown option, nothing near',
      ['run', 's', '--frobnicate'],
      /^run: unknown option --frobnicate \(gce-matrix run --help lists the options\)$/,
    ],
    ['unknown short option', ['run', 's', '-x'], /^run: unknown option -x \(gce-matrix run --help/],
    [
      'a short option in the wrong case',
      ['run', 's', '-P', '2'],
      /^run: unknown option -P; did you mean -p\?/,
    ],
    [
      'option of another command',
      ['status', 'r', '--parallel', '2'],
      /^status: unknown option --parallel; --parallel is an option of run \(gce-matrix status --help/,
    ],
    [
      'a command option before the command',
      ['--cloud', 'run'],
      /^unknown option --cloud; options go after the command: gce-matrix run \.\.\. --cloud/,
    ],
    ['a typo of --version', ['--verison'], /^unknown option --verison; did you mean --version\?/],
    ['version with arguments', ['version', 'x'], /^version takes no arguments \(got "x"\)/],
    ['missing value', ['run', 's', '--parallel'], /^run: option --parallel needs a value \(--parallel N\)$/],
    ['missing value of a short option', ['run', 's', '-o'], /^run: option -o needs a value \(--out DIR\)$/],
    [
      'value swallowing the next option',
      ['run', 's', '--out', '--cloud'],
      /^run: option --out needs a value \(--out DIR\); a value that starts with - goes as --out=VALUE$/,
    ],
    ['flag with a value', ['run', 's', '--cloud=yes'], /^run: option --cloud takes no value/],
    ['single option twice', ['run', 's', '--out', 'a', '--out', 'b'], /^run: option --out is given twice/],
    [
      'single option twice, once by its alias',
      ['run', 's', '-o', 'a', '--out=b'],
      /option --out is given twice/,
    ],
  ];
  for (const [name, argv, message] of bad) {
    it(`refuses: ${name}`, () => {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});

describe('optionInteger', () => {
  const args = (v: string) => parseArgs(['run', 's', `--parallel=${v}`]);
  it('reads a whole number in range', () => assert.equal(optionInteger(args('8'), 'parallel', 4, 1, 256), 8));
  it('falls back when absent', () =>
    assert.equal(optionInteger(parseArgs(['run', 's']), 'parallel', 4, 1, 256), 4));
  for (const v of ['0', '257', '2.5', 'two', '-1', '']) {
    it(`refuses ${JSON.stringify(v)}`, () => {
      assert.throws(
        () => optionInteger(args(v), 'parallel', 4, 1, 256),
        /option --parallel must be a whole number from 1 to 256/,
      );
    });
  }
});

describe('the statistical method options', () => {
  it('defaults what is not given, and reads what is', () => {
    assert.deepEqual(localMethod({ title: 't' }), {
      test: 'mann-whitney',
      adjust: 'holm',
      alpha: 0.05,
      replicate: 'seed',
    });
    const args = parseArgs([
      'run',
      's',
      '--test',
      'welch',
      '--adjust',
      'bh',
      '--alpha',
      '0.1',
      '--replicate',
      'rep',
    ]);
    assert.deepEqual(
      localMethod({
        title: 't',
        test: optionValue(args, 'test'),
        adjust: optionValue(args, 'adjust'),
        alpha: optionValue(args, 'alpha'),
        replicate: optionValue(args, 'replicate'),
      }),
      { test: 'welch', adjust: 'bh', alpha: 0.1, replicate: 'rep' },
    );
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['an unknown test', { test: 'ttest' }, /^option --test must be mann-whitney .*welch or signed-rank/],
    ['an unknown adjustment', { adjust: 'none' }, /^option --adjust must be holm .* or bh/],
    ['alpha of 1', { alpha: '1' }, /^option --alpha must be a number above 0 and below 0\.5/],
    ['alpha of -0.05', { alpha: '-0.05' }, /^option --alpha must be/],
    [
      'a replicate that is not a parameter name',
      { replicate: 'a b' },
      /^option --replicate must be a parameter name/,
    ],
  ];
  for (const [name, given, message] of bad) {
    it(`refuses ${name} when the report options are checked, before anything runs`, () => {
      assert.throws(
        () => renderOptions({ title: 't', ...given }),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});

describe('helpText', () => {
  it('lists every command', () => {
    const text = helpText();
    for (const c of ['run SPEC', 'status RUN', 'janitor', 'rerun EXPERIMENT'])
      assert.match(text, new RegExp(c));
  });
  it('says how to get the version and the options', () => {
    const text = helpText();
    assert.match(text, /gce-matrix version +print the version \(as --version, -V\)/);
    assert.match(text, /gce-matrix COMMAND --help \(or -h\) shows its options/);
  });
  it('shows every command with --help, its short aliases beside the long names', () => {
    for (const c of ['run', 'status', 'janitor', 'rerun'])
      assert.match(helpText(c), /\n {2}-h, --help +show this help\n/);
    assert.match(helpText('run'), /\n {2}-p, --parallel N +experiments at once/);
    assert.match(helpText('run'), /\n {6}--set AXIS=V1,V2 +run only these values/);
    assert.match(helpText('run'), /--allow-new-values +with --set: also run values the spec does not list/);
  });
  it('takes every option its help shows', () => {
    for (const c of ['run', 'status', 'janitor', 'rerun']) {
      const names = [...helpText(c).matchAll(/ --([a-z-]+)/g)].map((m) => m[1]).filter((n) => n !== 'help');
      assert.ok(names.length >= 2, c);
      for (const name of names) {
        const flagOrValue = [c, 'x', `--${name}=v`];
        // A flag refuses a value, a value option takes it: either way the option itself is known.
        try {
          parseArgs(flagOrValue);
        } catch (err) {
          assert.match(
            (err as Error).message,
            new RegExp(`option --${name} takes no value`),
            `${c} --${name}`,
          );
        }
      }
    }
  });
  it("lists a command's options", () => {
    const text = helpText('run');
    for (const o of [
      '--parallel N',
      '--cloud',
      '--set AXIS=V1,V2',
      '--no-progress',
      '--test mann-whitney|welch|signed-rank',
      '--adjust holm|bh',
      '--alpha P',
      '--replicate PARAM',
    ])
      assert.ok(text.includes(o), o);
  });
});

const SPEC = [
  'axes:',
  '  tool: [evomaster, schemathesis, restler]',
  '  service: [petstore, 1, true]',
  'include:',
  '  - {tool: evomaster, service: petstore, budget: 5}',
  '  - {tool: dredd, service: petstore}',
  '',
].join('\n');
const spec = () => parseSpec([{ label: 'spec s.yml', text: SPEC }]);
const sets = (text: string) => parseOverrides(text, 'option --set');

describe('--set against the spec', () => {
  it("knows each axis's values: its own, then those its include entries give it", () => {
    assert.deepEqual(Object.fromEntries(listedValues(spec())), {
      tool: ['evomaster', 'schemathesis', 'restler', 'dredd'],
      service: ['petstore', '1', 'true'],
    });
  });

  const ok: [string, string][] = [
    ['listed values', 'tool=evomaster,restler service=petstore'],
    ['a number and a boolean as the spec lists them', 'service=1,true'],
    ['a value an include entry gives the axis', 'tool=dredd'],
    ['repetitions, which is no axis', 'repetitions=3'],
    ['nothing', ''],
  ];
  for (const [name, text] of ok) {
    it(`takes ${name}`, () => assert.deepEqual(checkSets(spec(), sets(text), false), []));
  }

  const bad: [string, string, RegExp][] = [
    [
      'an axis typo',
      'tol=evomaster',
      /^option --set: the spec has no axis "tol"; did you mean tool\? \(axes: tool, service\)$/,
    ],
    [
      'an axis nothing is near',
      'budget=5',
      /^option --set: the spec has no axis "budget"; its axes are tool, service$/,
    ],
    [
      'a value typo',
      'tool=evomastr',
      /^option --set: the spec's axis tool does not list "evomastr"; did you mean evomaster\? \(to run a new value, add --allow-new-values\)$/,
    ],
    ['a value in the wrong case', 'tool=EvoMaster', /does not list "EvoMaster"; did you mean evomaster\?/],
    [
      'a new value nothing is near',
      'service=bank',
      /^option --set: the spec's axis service does not list "bank" \(it lists petstore, 1, true\); give one of those, or add --allow-new-values to run a new value$/,
    ],
    ['a number written another way', 'service=1.0', /the spec's axis service does not list "1\.0"/],
    [
      'one bad value among good ones',
      'tool=restler,schemathesys',
      /does not list "schemathesys"; did you mean schemathesis\?/,
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => checkSets(spec(), sets(text), false),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }

  it('refuses an unknown axis even with --allow-new-values', () => {
    assert.throws(() => checkSets(spec(), sets('tol=a'), true), /no axis "tol"; did you mean tool\?/);
  });
  it('says a spec without axes has nothing to narrow', () => {
    const noAxes = parseSpec([{ label: 's', text: 'include:\n  - {tool: a}\n' }]);
    assert.throws(() => checkSets(noAxes, sets('tool=a'), false), /no axis "tool"; it declares no axes/);
  });

  it('with --allow-new-values: one warning line per new value, naming the nearest listed one', () => {
    assert.deepEqual(checkSets(spec(), sets('tool=evomastr,restler,zzz service=1'), true), [
      `warning: option --set: the spec's axis tool does not list "evomastr" (did you mean evomaster?); running it, as --allow-new-values asks`,
      `warning: option --set: the spec's axis tool does not list "zzz"; running it, as --allow-new-values asks`,
    ]);
  });

  it('plans a new value only when allowed, warning once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-sets-'));
    try {
      const file = path.join(dir, 's.yml');
      await writeFile(file, SPEC);
      await assert.rejects(planFile(file, ['tool=evomastr'], undefined), /did you mean evomaster\?/);
      await assert.rejects(
        planFile(file, ['tool=evomastr'], undefined, { allowNewValues: false }),
        ConfigurationError,
      );
      const warnings: string[] = [];
      const plan = await planFile(file, ['tool=evomastr', 'service=petstore'], '1', {
        allowNewValues: true,
        warn: (line) => warnings.push(line),
      });
      assert.deepEqual(
        plan.experiments.map((e) => e.params.tool),
        ['evomastr'],
      );
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^warning: .*"evomastr" \(did you mean evomaster\?\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('--pivot against the plan', () => {
  const plan = () =>
    expandPlan(spec(), [], undefined, { maxExperiments: 1000, batchSize: 256, maxBatches: undefined });
  const ok: [string, string | undefined][] = [
    ['no pivot', undefined],
    ['two axes', 'service,tool'],
    ['one axis', 'tool'],
    ['seed, which repetitions add', 'tool,seed'],
    ['a parameter an include entry adds', 'budget,tool'],
    ['spaces around names', ' tool , service '],
  ];
  for (const [name, pivot] of ok) {
    it(`takes ${name}`, () => assert.doesNotThrow(() => checkPivot(pivot, plan())));
  }
  const bad: [string, string, RegExp][] = [
    [
      'a typo',
      'tool,servce',
      /^option --pivot: "servce" is not an axis of the plan; did you mean service\? \(axes: tool, service, seed, budget\)$/,
    ],
    ['a typo of seed', 'sed,tool', /"sed" is not an axis of the plan; did you mean seed\?/],
    [
      'a name nothing is near',
      'zone',
      /^option --pivot: "zone" is not an axis of the plan; give one of tool, service, seed, budget$/,
    ],
  ];
  for (const [name, pivot, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => checkPivot(pivot, plan()),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});
