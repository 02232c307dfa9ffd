import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import { parseRunRecord, recordText } from '../../src/record.ts';
import { parseReportInputs } from '../../src/report/inputs.ts';
import { reportSettingsOf } from '../../src/report/main.ts';
import { watchReportSettings } from '../../src/watch/watch.ts';

const EVENT = { name: 'push', payload: {} };

/** actions/report's inputs: no baseline (so no bucket or credentials), plus the ones given. */
function parse(given: Record<string, string>) {
  const inputs: Record<string, string> = { baseline: 'none', ...given };
  return parseReportInputs((name) => inputs[name] ?? '', {}, EVENT, '/w');
}

describe('the statistical method inputs of actions/report', () => {
  it('defaults to Mann-Whitney, Holm, 0.05 over seed', () => {
    const s = parse({});
    assert.deepEqual([s.test, s.adjust, s.alpha, s.replicate], ['mann-whitney', 'holm', 0.05, 'seed']);
  });

  it('reads each one, and hands it to the watcher through the run record', () => {
    const s = parse({ test: 'signed-rank', adjust: 'bh', alpha: '0.01', replicate: 'trial' });
    assert.deepEqual([s.test, s.adjust, s.alpha, s.replicate], ['signed-rank', 'bh', 0.01, 'trial']);
    const record = parseRunRecord(
      recordText({
        schema: 1,
        runId: '7',
        repository: 'o/r',
        sha: 'c0ffee',
        ref: 'refs/heads/main',
        event: 'push',
        prNumber: null,
        workflow: 'bench',
        githubRunId: '7',
        createdAt: '2026-03-01T12:00:00.000Z',
        report: reportSettingsOf(s),
      }),
      'run.json',
    );
    assert.ok(record.ok, record.ok ? '' : record.reason);
    if (!record.ok) return;
    const w = watchReportSettings(record.value, {
      path: '/w',
      bucket: 'b',
      prefix: 'p',
      githubToken: '',
      apiUrl: '',
      runUrl: '',
      artifactUrl: '',
    });
    assert.deepEqual([w.test, w.adjust, w.alpha, w.replicate], ['signed-rank', 'bh', 0.01, 'trial']);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    [
      'test',
      { test: 'wilcoxon' },
      /^input test must be mann-whitney .*, welch or signed-rank .*got "wilcoxon"/,
    ],
    ['adjust', { adjust: 'fdr' }, /^input adjust must be holm .* or bh .*got "fdr"/],
    ['alpha of 0', { alpha: '0' }, /^input alpha must be a number above 0 and below 0\.5.*got "0"/],
    ['alpha of 0.5', { alpha: '0.5' }, /^input alpha must be a number above 0 and below 0\.5/],
    ['alpha as a percentage', { alpha: '5%' }, /^input alpha must be .*got "5%"/],
    ['alpha that is not a number', { alpha: 'strict' }, /^input alpha must be/],
    [
      'replicate that is not a parameter name',
      { replicate: 'seed value' },
      /^input replicate must be a parameter name/,
    ],
    ['replicate starting with a digit', { replicate: '0seed' }, /^input replicate must be a parameter name/],
  ];
  for (const [name, given, message] of bad) {
    it(`refuses ${name}, naming the input and what it takes`, () => {
      assert.throws(
        () => parse(given),
        (err: unknown) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }
});
