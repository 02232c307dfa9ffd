import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpText, optionInteger, optionValue, parseArgs } from '../../src/cli/args.ts';
import { localMethod, renderOptions } from '../../src/cli/report-files.ts';
import { ConfigurationError } from '../../src/errors.ts';

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
    ['unknown command', ['launch'], /unknown command "launch"; commands: run, status, janitor, rerun/],
    [
      'unknown option names the accepted ones',
      ['run', 's', '--paralel', '2'],
      /run: unknown option --paralel; it takes --parallel/,
    ],
    ['missing value', ['run', 's', '--parallel'], /option --parallel needs a value \(--parallel N\)/],
    ['value swallowing the next option', ['run', 's', '--out', '--cloud'], /option --out needs a value/],
    ['flag with a value', ['run', 's', '--cloud=yes'], /option --cloud takes no value/],
    ['single option twice', ['run', 's', '--out', 'a', '--out', 'b'], /option --out is given twice/],
    ['short option', ['run', 's', '-p', '2'], /option -p is not known/],
    ['option of another command', ['status', 'r', '--parallel', '2'], /status: unknown option --parallel/],
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
  const args = (v: string) => parseArgs(['run', 's', '--parallel', v]);
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
