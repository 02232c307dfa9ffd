import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eventLine,
  formatElapsed,
  progressBar,
  progressLine,
  ProgressDisplay,
} from '../../src/cli/progress.ts';

describe('progress text', () => {
  const table: [string, string][] = [
    [formatElapsed(0), '00:00'],
    [formatElapsed(61_999), '01:01'],
    [formatElapsed(3_600_000 + 125_000), '1:02:05'],
    [progressBar({ total: 10, queued: 5, running: 2, succeeded: 2, failed: 1 }, 10), '###>>.....'],
    [progressBar({ total: 3, queued: 0, running: 0, succeeded: 3, failed: 0 }, 6), '######'],
    [progressBar({ total: 0, queued: 0, running: 0, succeeded: 0, failed: 0 }, 6), ''],
    [
      progressLine({ total: 12, queued: 5, running: 2, succeeded: 4, failed: 1 }, 42_000, 100),
      '[############>>>>>.............] 5/12 done · 2 running · 5 queued · 1 failed · 00:42',
    ],
    [
      progressLine({ total: 12, queued: 12, running: 0, succeeded: 0, failed: 0 }, 0, 30),
      '0/12 done · 0 running · 12 queued · 00:00',
    ],
  ];
  for (const [got, want] of table) it(want || '(empty)', () => assert.equal(got, want));

  it('says why a command was not found, and escapes control characters', () => {
    const line = eventLine({
      kind: 'finished',
      id: 'a\u001b[31mb',
      attempt: 1,
      outcome: 'failed',
      exitCode: 127,
      reason: 'exit code 127',
      seconds: 0.4,
      retrying: false,
    });
    assert.match(
      line,
      /^FAILED {4}a\\x1b\[31mb exit 127 in 0.4 s: exit code 127 \(127: the command was not found/,
    );
    assert.ok(!line.includes('\u001b'));
  });
});

describe('ProgressDisplay', () => {
  function capture(tty: boolean) {
    const chunks: string[] = [];
    let t = 0;
    const display = new ProgressDisplay({
      out: { write: (s: string) => chunks.push(s), columns: 100 },
      total: 2,
      tty,
      now: () => t,
    });
    return { display, chunks, advance: (ms: number) => (t += ms) };
  }

  it('prints plain lines with counts when not a terminal', () => {
    const { display, chunks, advance } = capture(false);
    display.start();
    display.onEvent({ kind: 'started', id: 'x', attempt: 1 });
    advance(3000);
    display.onEvent({
      kind: 'finished',
      id: 'x',
      attempt: 1,
      outcome: 'succeeded',
      exitCode: 0,
      reason: '',
      seconds: 3,
      retrying: false,
    });
    display.stop();
    const text = chunks.join('');
    assert.ok(!text.includes('\r') && !text.includes('\u001b'), 'no terminal control in plain mode');
    assert.match(text, /started {3}x\n/);
    assert.match(text, /succeeded x exit 0 in 3 s\n/);
    assert.match(text, /1\/2 done · 0 running · 1 queued · 00:03\n/);
  });

  it('redraws one status line on a terminal, and counts a retried attempt once', () => {
    const { display, chunks } = capture(true);
    display.start();
    display.onEvent({ kind: 'started', id: 'x', attempt: 1 });
    display.onEvent({
      kind: 'finished',
      id: 'x',
      attempt: 1,
      outcome: 'error',
      exitCode: null,
      reason: 'boom',
      seconds: 1,
      retrying: true,
    });
    display.onEvent({ kind: 'started', id: 'x', attempt: 2 });
    display.onEvent({
      kind: 'finished',
      id: 'x',
      attempt: 2,
      outcome: 'failed',
      exitCode: 1,
      reason: 'exit',
      seconds: 1,
      retrying: false,
    });
    assert.deepEqual(display.counts(), { total: 2, queued: 1, running: 0, succeeded: 0, failed: 1 });
    display.stop();
    const text = chunks.join('');
    assert.match(text, /\r\u001b\[2K\[/);
    assert.match(text, /trying again/);
    assert.ok(text.endsWith('\n'));
  });
});
