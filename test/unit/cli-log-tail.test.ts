import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AGENT_LINE_PREFIX, lastLines, localLogTail, terminalLine } from '../../src/cli/log-tail.ts';
import { ProgressDisplay } from '../../src/cli/progress.ts';
import type { RunLocation } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';

describe('terminalLine', () => {
  const cases: [string, string, string][] = [
    ['plain text', 'about to fail', 'about to fail'],
    ['colours', '\u001b[1;31mred\u001b[0m text', 'red text'],
    ['a cursor move and a screen clear', '\u001b[2J\u001b[10;5Hhere', 'here'],
    ['a window title (OSC, BEL)', '\u001b]0;pwned\u0007after', 'after'],
    ['a hyperlink (OSC, ST)', '\u001b]8;;https://x.example\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['a device control string', 'a\u001bPq#0;2;0;0;0\u001b\\b', 'ab'],
    ['the 8-bit CSI', 'a\u009b31mb', 'ab'],
    ['a lone escape at the end', 'text\u001b', 'text'],
    ['a two-character escape', 'a\u001bcb', 'ab'],
    ['what a carriage return overwrote', ' 10%\r 50%\r100% done', '100% done'],
    ['a CRLF line end', 'windows line\r', 'windows line'],
    ['tabs', 'a\tb', 'a  b'],
    ['other control characters', 'a\u0000b\u0007c\u007fd\u0085e\u0008f', 'abcdef'],
    ['text beyond ASCII', 'naïve ✓ 漢字', 'naïve ✓ 漢字'],
  ];
  for (const [name, given, want] of cases) it(name, () => assert.equal(terminalLine(given), want));

  it('cuts a very long line', () => {
    const line = terminalLine('x'.repeat(1000));
    assert.equal(line.length, 300);
    assert.ok(line.endsWith('…'));
  });
});

describe('lastLines', () => {
  const agent = (s: string): string => `${AGENT_LINE_PREFIX}${s}`;
  const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `line ${i + 1}`);
  const cases: [string, string, number, boolean, string[]][] = [
    ['an empty log', '', 10, false, []],
    ['fewer lines than asked', 'a\nb\n', 10, false, ['a', 'b']],
    ['the last lines of many', `${numbered(30).join('\n')}\n`, 3, false, ['line 28', 'line 29', 'line 30']],
    ['blank lines at the end dropped', 'a\nb\n\n  \n\u001b[0m\n', 10, false, ['a', 'b']],
    ['blank lines inside kept', 'a\n\nb\n', 10, false, ['a', '', 'b']],
    ['a cut first line dropped', 'ut line\nwhole\nlast\n', 10, true, ['whole', 'last']],
    [
      "the agent's lines after the command's cut to the first",
      [
        agent('running the command'),
        'out 1',
        'out 2',
        agent('the command failed'),
        agent('uploaded 0'),
        '',
      ].join('\n'),
      10,
      false,
      [agent('running the command'), 'out 1', 'out 2', agent('the command failed')],
    ],
    [
      'a log of agent lines only kept whole',
      [agent('starting'), agent('could not download the snapshot'), agent('status written'), ''].join('\n'),
      10,
      false,
      [agent('starting'), agent('could not download the snapshot'), agent('status written')],
    ],
    ['escapes removed on every line', 'plain\n\u001b[31mred\u001b[0m\n', 10, false, ['plain', 'red']],
  ];
  for (const [name, text, count, partial, want] of cases) {
    it(name, () => assert.deepEqual(lastLines(text, count, partial), want));
  }
});

describe('localLogTail', () => {
  let bucket: string;
  const loc: RunLocation = { bucket: 'b', prefix: 'gce-matrix', runId: 'r1' };
  const logDir = (id: string, attempt: number): string =>
    path.join(bucket, ...experimentObjects(loc, id).logs(attempt).split('/'));

  before(async () => {
    bucket = await mkdtemp(path.join(tmpdir(), 'gce-matrix-log-tail-'));
  });
  after(async () => {
    await rm(bucket, { recursive: true, force: true });
  });

  it('joins the chunks the agent shipped, in name order, and takes the last lines', async () => {
    await mkdir(logDir('e1', 2), { recursive: true });
    await writeFile(path.join(logDir('e1', 2), '000002.txt'), 'ee\nfour\nfive\n\u001b[31msix\u001b[0m\n');
    await writeFile(path.join(logDir('e1', 2), '000001.txt'), 'one\ntwo\nthr');
    await writeFile(path.join(logDir('e1', 2), '000003.txt'), 'seven\n');
    assert.deepEqual(localLogTail(bucket, loc, 'e1', 2, 4), ['four', 'five', 'six', 'seven']);
    assert.deepEqual(localLogTail(bucket, loc, 'e1', 2, 10), [
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
    ]);
  });

  it('reads only the end of a long log, dropping the line it cut', async () => {
    await mkdir(logDir('e2', 1), { recursive: true });
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1} ${'.'.repeat(20)}`);
    await writeFile(path.join(logDir('e2', 1), '000001.txt'), `${lines.slice(0, 2500).join('\n')}\n`);
    await writeFile(path.join(logDir('e2', 1), '000002.txt'), `${lines.slice(2500).join('\n')}\n`);
    assert.deepEqual(localLogTail(bucket, loc, 'e2', 1, 2), lines.slice(-2));
    const many = localLogTail(bucket, loc, 'e2', 1, 10_000);
    assert.ok(many.length > 100 && many.length < 400, String(many.length));
    assert.equal(many[0], lines[lines.length - many.length], 'no cut line at the start');
  });

  it('has nothing for an attempt without a log', () => {
    assert.deepEqual(localLogTail(bucket, loc, 'nope', 1), []);
    assert.deepEqual(localLogTail(bucket, loc, 'e1', 9), []);
  });

  it('does not follow a symlink among the chunks', async () => {
    const secret = path.join(bucket, 'secret.txt');
    await writeFile(secret, 'do not show\n');
    await mkdir(logDir('e3', 1), { recursive: true });
    await writeFile(path.join(logDir('e3', 1), '000001.txt'), 'shown\n');
    await symlink(secret, path.join(logDir('e3', 1), '000002.txt'));
    assert.deepEqual(localLogTail(bucket, loc, 'e3', 1), ['shown']);
  });
});

describe('a failed attempt with its log tail on the display', () => {
  const failed = {
    kind: 'finished' as const,
    id: 'x',
    attempt: 1,
    outcome: 'failed' as const,
    exitCode: 3,
    reason: 'the command exited with code 3',
    seconds: 1,
    retrying: false,
  };
  it('in plain lines: the tail indented under the FAILED line, before the status line', () => {
    const chunks: string[] = [];
    const display = new ProgressDisplay({
      out: { write: (s: string) => chunks.push(s) },
      total: 1,
      tty: false,
    });
    display.onEvent({ kind: 'started', id: 'x', attempt: 1 });
    display.onEvent(failed, ['about to fail', 'last']);
    const text = chunks.join('');
    assert.match(
      text,
      /FAILED {4}x exit 3 in 1 s: the command exited with code 3\n {10}\| about to fail\n {10}\| last\n\[#+\] 1\/1 done/,
    );
  });
  it('on a terminal: the same lines above the redrawn status line', () => {
    const chunks: string[] = [];
    const display = new ProgressDisplay({
      out: { write: (s: string) => chunks.push(s), columns: 100 },
      total: 1,
      tty: true,
    });
    display.onEvent({ kind: 'started', id: 'x', attempt: 1 });
    display.onEvent(failed, ['about to fail']);
    assert.match(chunks.join(''), /\r\u001b\[2KFAILED {4}x exit 3 .*\n {10}\| about to fail\n\r\u001b\[2K\[/);
  });
});
