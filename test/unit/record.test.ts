import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetachedRecord, RunRecord, RunReportSettings } from '../../src/record.ts';
import {
  detachedRecord,
  parseDetachedRecord,
  parseLockRecord,
  parseRunRecord,
  pendingRunObject,
  recordText,
  runIdOfPendingObject,
  runRecordFromEnv,
  runRecordObjects,
} from '../../src/record.ts';
import { watchReportSettings } from '../../src/watch/watch.ts';

const RUN: RunRecord = {
  schema: 1,
  runId: '4242',
  repository: 'octo-org/bench-repo',
  sha: 'c0ffee',
  ref: 'refs/pull/7/merge',
  event: 'pull_request',
  prNumber: 7,
  workflow: 'bench',
  githubRunId: '4242',
  createdAt: '2026-03-01T12:00:00.000Z',
};

const DETACHED: DetachedRecord = detachedRecord({
  location: { bucket: 'b', prefix: 'gce-matrix', runId: '4242' },
  experiment: 'train-1',
  project: 'bed-project',
  zone: 'us-central1-a',
  instance: 'gcem-4242-train-1-0123abcd-a1',
  attempt: 1,
  reason: 'handover',
  machineType: 'e2-standard-2',
  createdAt: Date.parse('2026-03-01T12:00:00Z'),
  ttlSeconds: 600 * 60,
  detachedAt: Date.parse('2026-03-01T17:30:00Z'),
});

describe('run records', () => {
  it('names the objects under the run prefix, and the index outside it', () => {
    const o = runRecordObjects({ bucket: 'b', prefix: 'gce-matrix', runId: '4242' });
    assert.equal(o.run, 'gce-matrix/runs/4242/run.json');
    assert.equal(o.detached('train-1'), 'gce-matrix/runs/4242/detached/train-1.json');
    assert.equal(o.lock, 'gce-matrix/runs/4242/report.lock');
    assert.equal(o.reported, 'gce-matrix/runs/4242/reported.json');
    assert.equal(pendingRunObject('gce-matrix', '4242'), 'gce-matrix/detached-runs/4242.json');
    assert.equal(runIdOfPendingObject('gce-matrix', 'gce-matrix/detached-runs/4242.json'), '4242');
    assert.equal(runIdOfPendingObject('gce-matrix', 'gce-matrix/detached-runs/../x.json'), undefined);
    assert.equal(runIdOfPendingObject('gce-matrix', 'gce-matrix/detached-runs/4242.txt'), undefined);
  });

  it('computes the deadline from creation and the time limit', () => {
    assert.equal(DETACHED.deadline, '2026-03-01T22:00:00.000Z');
    assert.equal(DETACHED.reason, 'handover');
  });

  const runCases: { name: string; text: string; want: RegExp | 'ok' }[] = [
    { name: 'a record it wrote', text: recordText(RUN), want: 'ok' },
    {
      name: 'a record with report settings',
      text: recordText({
        ...RUN,
        experiments: ['a-1', 'b-1'],
        report: {
          title: 'bench',
          markerKey: 'bench/bench',
          pivot: ['tool'],
          directions: { score: 'higher', odd: 'sideways' },
          thresholdPercent: 3,
          baseline: 'compare',
          baselineRef: 'main',
          comment: true,
        },
      }),
      want: 'ok',
    },
    { name: 'not JSON', text: '{"schema": 1, "runId": ', want: /is corrupt \(not JSON/ },
    { name: 'not an object', text: '[1]', want: /is corrupt \(not a JSON object\)/ },
    { name: 'no schema', text: JSON.stringify({ ...RUN, schema: undefined }), want: /no schema number/ },
    {
      name: 'a newer schema',
      text: JSON.stringify({ ...RUN, schema: 99 }),
      want: /newer gce-matrix \(schema 99; this one reads schema 1\)/,
    },
    { name: 'a bad run id', text: JSON.stringify({ ...RUN, runId: '../x' }), want: /runId is not valid/ },
    {
      name: 'no repository',
      text: JSON.stringify({ ...RUN, repository: undefined }),
      want: /repository is missing/,
    },
    { name: 'a bad PR number', text: JSON.stringify({ ...RUN, prNumber: -3 }), want: /prNumber/ },
    {
      name: 'a bad time',
      text: JSON.stringify({ ...RUN, createdAt: 'yesterday' }),
      want: /createdAt is not a time/,
    },
    {
      name: 'bad experiment ids',
      text: JSON.stringify({ ...RUN, experiments: ['ok', '../evil'] }),
      want: /experiments is not a list of experiment ids/,
    },
    {
      name: 'a bad baseline mode',
      text: JSON.stringify({
        ...RUN,
        report: { title: 't', markerKey: 'k', baseline: 'maybe', baselineRef: 'main' },
      }),
      want: /report\.baseline/,
    },
    ...(
      [
        ['test', 'student'],
        ['adjust', 'bonferroni'],
        ['alpha', 0.5],
        ['alpha', '0.05'],
        ['replicate', '../seed'],
        ['centre', 'mode'],
      ] as const
    ).map(([key, value]) => ({
      name: `a bad report.${key} (${JSON.stringify(value)})`,
      text: JSON.stringify({
        ...RUN,
        report: { title: 't', markerKey: 'k', baseline: 'compare', baselineRef: 'main', [key]: value },
      }),
      want: new RegExp(`\\(report\\.${key}\\)`),
    })),
  ];
  for (const c of runCases) {
    it(`run.json: ${c.name}`, () => {
      const r = parseRunRecord(c.text, 'gs://b/run.json');
      if (c.want === 'ok') {
        assert.ok(r.ok, r.ok ? '' : r.reason);
      } else {
        assert.equal(r.ok, false);
        if (!r.ok) {
          assert.match(r.reason, c.want);
          assert.match(r.reason, /^gs:\/\/b\/run\.json /);
        }
      }
    });
  }

  it('run.json keeps what it was given and drops unknown directions', () => {
    const r = parseRunRecord(
      recordText({
        ...RUN,
        report: {
          title: 'bench',
          markerKey: 'bench/bench',
          pivot: null,
          directions: { score: 'higher', odd: 'sideways' },
          thresholdPercent: 3,
          baseline: 'compare',
          baselineRef: 'main',
          comment: false,
        },
      }),
      'run.json',
    );
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.value.prNumber, 7);
    assert.deepEqual(r.value.report?.directions, { score: 'higher' });
    assert.equal(r.value.report?.comment, false);
  });

  it('run.json keeps the statistical method through a round trip, and older records read as the defaults', () => {
    const settings: RunReportSettings = {
      title: 'bench',
      markerKey: 'bench/bench',
      pivot: null,
      centre: 'mean',
      directions: {},
      thresholdPercent: 3,
      test: 'signed-rank',
      adjust: 'bh',
      alpha: 0.01,
      replicate: 'trial',
      baseline: 'compare',
      baselineRef: 'main',
      comment: true,
    };
    const r = parseRunRecord(recordText({ ...RUN, report: settings }), 'run.json');
    assert.ok(r.ok, r.ok ? '' : r.reason);
    if (!r.ok) return;
    assert.deepEqual(r.value.report, settings);

    const added = new Set(['centre', 'test', 'adjust', 'alpha', 'replicate']);
    const older = Object.fromEntries(
      Object.entries(settings).filter(([key]) => !added.has(key)),
    ) as unknown as RunReportSettings;
    const old = parseRunRecord(recordText({ ...RUN, report: older }), 'run.json');
    assert.ok(old.ok, old.ok ? '' : old.reason);
    if (!old.ok) return;
    assert.deepEqual(old.value.report, older);
    const watched = watchReportSettings(old.value, {
      path: '/tmp/r',
      bucket: 'b',
      prefix: 'p',
      githubToken: '',
      apiUrl: '',
      runUrl: '',
      artifactUrl: '',
    });
    assert.deepEqual(
      [watched.centre, watched.test, watched.adjust, watched.alpha, watched.replicate],
      ['median', 'mann-whitney', 'holm', 0.05, 'seed'],
    );
  });

  const detachedCases: { name: string; text: string; want: RegExp | 'ok' }[] = [
    { name: 'a record it wrote', text: recordText(DETACHED), want: 'ok' },
    { name: 'a newer schema', text: JSON.stringify({ ...DETACHED, schema: 2 }), want: /newer gce-matrix/ },
    { name: 'a bad zone', text: JSON.stringify({ ...DETACHED, zone: 'moon' }), want: /zone is not valid/ },
    {
      name: 'a bad instance name',
      text: JSON.stringify({ ...DETACHED, instance: 'Bad Name' }),
      want: /instance is not valid/,
    },
    { name: 'no attempt', text: JSON.stringify({ ...DETACHED, attempt: 0 }), want: /attempt/ },
    {
      name: 'no deadline',
      text: JSON.stringify({ ...DETACHED, deadline: undefined }),
      want: /deadline is missing/,
    },
    { name: 'truncated', text: recordText(DETACHED).slice(0, 40), want: /not JSON/ },
  ];
  for (const c of detachedCases) {
    it(`detached record: ${c.name}`, () => {
      const r = parseDetachedRecord(c.text, 'detached/train-1.json');
      if (c.want === 'ok') assert.deepEqual(r, { ok: true, value: DETACHED });
      else {
        assert.equal(r.ok, false);
        if (!r.ok) assert.match(r.reason, c.want);
      }
    });
  }

  it('reads a lock, and refuses one it cannot', () => {
    const ok = parseLockRecord(
      JSON.stringify({ schema: 1, owner: 'run 5', at: RUN.createdAt, purpose: 'partial' }),
      'l',
    );
    assert.deepEqual(ok, {
      ok: true,
      value: { schema: 1, owner: 'run 5', at: RUN.createdAt, purpose: 'partial' },
    });
    assert.equal(parseLockRecord('{}', 'l').ok, false);
  });

  it('builds run.json from the runner and the event', () => {
    const r = runRecordFromEnv({
      runId: 'r-1',
      env: {
        GITHUB_REPOSITORY: 'octo-org/bench-repo',
        GITHUB_SHA: 'abc',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_WORKFLOW: 'bench',
        GITHUB_RUN_ID: '77',
      },
      event: { name: 'issue_comment', payload: { issue: { number: 12, pull_request: {} } } },
      now: Date.parse(RUN.createdAt),
    });
    assert.deepEqual(r, {
      schema: 1,
      runId: 'r-1',
      repository: 'octo-org/bench-repo',
      sha: 'abc',
      ref: 'refs/heads/main',
      event: 'issue_comment',
      prNumber: 12,
      workflow: 'bench',
      githubRunId: '77',
      createdAt: RUN.createdAt,
    });
    assert.equal(
      runRecordFromEnv({ runId: 'r', env: {}, event: { name: 'schedule', payload: {} }, now: 0 }).prNumber,
      null,
    );
  });
});
