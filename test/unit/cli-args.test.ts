import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpText, optionInteger, parseArgs } from '../../src/cli/args.ts';
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

describe('helpText', () => {
  it('lists every command', () => {
    const text = helpText();
    for (const c of ['run SPEC', 'status RUN', 'janitor', 'rerun EXPERIMENT'])
      assert.match(text, new RegExp(c));
  });
  it("lists a command's options", () => {
    const text = helpText('run');
    for (const o of ['--parallel N', '--cloud', '--set AXIS=V1,V2', '--no-progress'])
      assert.ok(text.includes(o), o);
  });
});
