import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import { markLost } from '../../src/collect/manifest.ts';
import type { DetachedRecord, Parsed, RunRecord } from '../../src/record.ts';
import type { ExperimentObservation, ExperimentVerdict } from '../../src/watch/decide.ts';
import { decideExperiment, decideRun, inlineClaim, lockIsStale, triageRun } from '../../src/watch/decide.ts';
import { watchReportSettings } from '../../src/watch/watch.ts';
import { watchSummary } from '../../src/watch/main.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const GRACE = 10 * MIN;

const RECORD: DetachedRecord = {
  schema: 1,
  runId: '42',
  experiment: 'train-1',
  project: 'bed-project',
  zone: 'us-central1-a',
  instance: 'gcem-42-train-1-0123abcd-a2',
  attempt: 2,
  reason: 'handover',
  machineType: 'e2-standard-2',
  createdAt: new Date(NOW - 300 * MIN).toISOString(),
  deadline: new Date(NOW + 60 * MIN).toISOString(),
  detachedAt: new Date(NOW - 30 * MIN).toISOString(),
};

const RUN: RunRecord = {
  schema: 1,
  runId: '42',
  repository: 'octo-org/bench-repo',
  sha: 'c0ffee',
  ref: 'refs/heads/main',
  event: 'schedule',
  prNumber: null,
  workflow: 'bench',
  githubRunId: '42',
  createdAt: new Date(NOW - 400 * MIN).toISOString(),
};

describe('watcher decisions', () => {
  const experimentCases: {
    name: string;
    o: Partial<ExperimentObservation>;
    now?: number;
    want: ExperimentVerdict['kind'];
    reason?: RegExp;
  }[] = [
    { name: 'running, no status, before its deadline', o: { instance: 'RUNNING' }, want: 'running' },
    {
      name: 'a status of its attempt is final, VM gone or not',
      o: { instance: 'GONE', status: { state: 'succeeded', attempt: 2 } },
      want: 'final',
    },
    {
      name: 'a status of an earlier attempt is not its own',
      o: { instance: 'RUNNING', status: { state: 'preempted', attempt: 1 } },
      want: 'running',
    },
    {
      name: 'a VM gone without a status is lost at once',
      o: { instance: 'GONE' },
      want: 'lost',
      reason: /vanished without writing a status/,
    },
    {
      name: 'a TERMINATED VM without a status is lost',
      o: { instance: 'TERMINATED' },
      want: 'lost',
      reason: /is TERMINATED without having written a status/,
    },
    { name: 'a VM still shutting down is waited for', o: { instance: 'STOPPING' }, want: 'running' },
    {
      name: 'past its deadline within the grace: still waited for',
      o: { instance: 'RUNNING' },
      now: NOW + 65 * MIN,
      want: 'running',
    },
    {
      name: 'past its deadline and the grace: lost, whatever Compute Engine says',
      o: { instance: 'RUNNING' },
      now: NOW + 71 * MIN,
      want: 'lost',
      reason: /passed its time limit/,
    },
    {
      name: 'a VM in another project (unknown state) is lost only by its deadline',
      o: { instance: 'UNKNOWN' },
      now: NOW + 71 * MIN,
      want: 'lost',
    },
    {
      name: 'a failed status is final too',
      o: { instance: 'GONE', status: { state: 'failed', attempt: 2 } },
      want: 'final',
    },
  ];
  for (const c of experimentCases) {
    it(`experiment: ${c.name}`, () => {
      const v = decideExperiment(
        { record: RECORD, instance: 'RUNNING', status: undefined, ...c.o },
        c.now ?? NOW,
        GRACE,
      );
      assert.equal(v.kind, c.want);
      if (c.reason) assert.match(v.kind === 'lost' ? v.reason : '', c.reason);
    });
  }

  const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
  const triageCases: {
    name: string;
    run: Parsed<RunRecord> | undefined;
    reported?: boolean;
    repo?: string;
    want: string;
    reason?: RegExp;
  }[] = [
    { name: 'a readable run of this repository', run: ok(RUN), repo: 'Octo-Org/bench-repo', want: 'look' },
    { name: 'already reported', run: ok(RUN), reported: true, want: 'done' },
    { name: 'no run.json', run: undefined, want: 'skip', reason: /has no run\.json/ },
    {
      name: 'a corrupt run.json, with its reason',
      run: { ok: false, reason: 'gs://b/run.json is corrupt (not JSON: x)' },
      want: 'skip',
      reason: /is corrupt \(not JSON: x\); skipped/,
    },
    {
      name: 'another repository',
      run: ok(RUN),
      repo: 'other/repo',
      want: 'skip',
      reason: /belongs to octo-org\/bench-repo/,
    },
    {
      name: 'a run.json naming another run',
      run: ok({ ...RUN, runId: '43' }),
      want: 'skip',
      reason: /names run 43/,
    },
  ];
  for (const c of triageCases) {
    it(`triage: ${c.name}`, () => {
      const t = triageRun({ runId: '42', run: c.run, reported: c.reported ?? false, repository: c.repo });
      assert.equal(t.action, c.want);
      if (c.reason) assert.match(t.action === 'look' ? '' : t.reason, c.reason);
    });
  }

  const final: ExperimentVerdict = { kind: 'final', state: 'succeeded' };
  const running: ExperimentVerdict = { kind: 'running', detail: 'RUNNING' };
  const lost: ExperimentVerdict = { kind: 'lost', reason: 'its VM vanished' };
  const runCases: {
    name: string;
    run?: Partial<RunRecord>;
    detached?: { name: string; record: Parsed<DetachedRecord> }[];
    verdicts: [string, ExperimentVerdict][];
    want: string;
    reason?: RegExp;
    lost?: string[];
  }[] = [
    {
      name: 'all final',
      verdicts: [
        ['a', final],
        ['b', final],
      ],
      want: 'report',
      lost: [],
    },
    {
      name: 'final and lost',
      verdicts: [
        ['a', final],
        ['b', lost],
      ],
      want: 'report',
      lost: ['b'],
    },
    {
      name: 'one still running',
      verdicts: [
        ['a', final],
        ['b', running],
      ],
      want: 'wait',
      reason: /1 of 2 detached experiment\(s\) still running \(b\)/,
    },
    {
      name: 'an unreadable detached record',
      detached: [{ name: 'x', record: { ok: false, reason: 'x.json was written by a newer gce-matrix' } }],
      verdicts: [['a', final]],
      want: 'skip',
      reason: /1 detached record\(s\) cannot be read \(x\.json was written by a newer gce-matrix\)/,
    },
    {
      name: 'no detached record',
      detached: [],
      verdicts: [],
      want: 'skip',
      reason: /no detached experiments/,
    },
    {
      name: 'a plan with experiments not detached and no inline report yet',
      run: { experiments: ['a', 'c'] },
      verdicts: [['a', final]],
      want: 'wait',
      reason: /waiting for its inline report/,
    },
    {
      name: 'the same once the inline report left its settings',
      run: {
        experiments: ['a', 'c'],
        report: {
          title: 't',
          markerKey: 'k',
          pivot: null,
          directions: {},
          thresholdPercent: 5,
          baseline: 'none',
          baselineRef: 'main',
          comment: true,
        },
      },
      verdicts: [['a', final]],
      want: 'report',
    },
    {
      name: 'the same after the inline wait ran out',
      run: { experiments: ['a', 'c'], createdAt: new Date(NOW - 25 * 60 * MIN).toISOString() },
      verdicts: [['a', final]],
      want: 'report',
    },
    {
      name: 'a plan whose experiments were all detached',
      run: { experiments: ['a'] },
      verdicts: [['a', final]],
      want: 'report',
    },
  ];
  for (const c of runCases) {
    it(`run: ${c.name}`, () => {
      const detached =
        c.detached ?? c.verdicts.map(([id]) => ({ name: id, record: ok({ ...RECORD, experiment: id }) }));
      const v = decideRun({
        run: { ...RUN, ...c.run },
        detached,
        verdicts: new Map(c.verdicts),
        now: NOW,
        inlineWaitMs: 24 * 60 * MIN,
      });
      assert.equal(v.action, c.want);
      if (c.reason) assert.match(v.action === 'report' ? '' : v.reason, c.reason);
      if (c.lost) assert.deepEqual(v.action === 'report' ? [...v.lost.keys()] : undefined, c.lost);
    });
  }

  const claimCases: {
    name: string;
    ids: string[];
    collected: [string, ManifestExperiment['status']][];
    want: string;
  }[] = [
    { name: 'nothing detached', ids: [], collected: [['a', 'unfinished']], want: 'none' },
    {
      name: 'every detached one ended',
      ids: ['a', 'b'],
      collected: [
        ['a', 'succeeded'],
        ['b', 'failed'],
      ],
      want: 'final',
    },
    {
      name: 'one still without a status',
      ids: ['a', 'b'],
      collected: [
        ['a', 'succeeded'],
        ['b', 'unfinished'],
      ],
      want: 'partial',
    },
    { name: 'one not collected at all', ids: ['a', 'b'], collected: [['a', 'succeeded']], want: 'partial' },
    { name: 'a corrupt status has ended', ids: ['a'], collected: [['a', 'corrupt']], want: 'final' },
  ];
  for (const c of claimCases) {
    it(`inline claim: ${c.name}`, () => {
      assert.equal(inlineClaim(c.ids, new Map(c.collected)), c.want);
    });
  }

  it('breaks only a lock older than the stale age, or one it cannot read', () => {
    const lock = (at: number) =>
      ok({ schema: 1 as const, owner: 'x', at: new Date(at).toISOString(), purpose: 'final' as const });
    assert.equal(lockIsStale(lock(NOW - 59 * MIN), NOW, 60 * MIN), false);
    assert.equal(lockIsStale(lock(NOW - 61 * MIN), NOW, 60 * MIN), true);
    assert.equal(lockIsStale({ ok: false, reason: 'corrupt' }, NOW, 60 * MIN), true);
  });
});

describe('lost experiments in the manifest', () => {
  const experiment = (id: string, over: Partial<ManifestExperiment> = {}): ManifestExperiment => ({
    id,
    dir: id,
    status: 'unfinished',
    state: null,
    exitCode: null,
    attempts: 1,
    planned: null,
    files: [],
    problems: [],
    ...over,
  });
  const manifest = (experiments: ManifestExperiment[]): Manifest => ({
    schema: 1,
    runId: '42',
    bucket: 'b',
    prefix: 'gce-matrix/runs/42/',
    source: 'gs://b/gce-matrix/runs/42/',
    collectedAt: new Date(NOW).toISOString(),
    counts: {
      experiments: 0,
      succeeded: 0,
      failed: 0,
      missing: 0,
      byStatus: {} as never,
      files: 0,
      bytes: 0,
      problems: 0,
    },
    experiments,
    problems: [],
  });

  it('marks unfinished ones lost with their serial file, adds ones the bucket never saw, keeps statuses', () => {
    const serial = {
      path: 'a/serial.txt',
      object: 'serial port 1 of vm-a',
      size: 10,
      verified: 'size' as const,
    };
    const m = markLost(
      manifest([
        experiment('a'),
        experiment('done', { status: 'succeeded', state: 'succeeded', exitCode: 0 }),
      ]),
      new Map([
        ['a', { reason: 'its VM vm-a vanished', dir: 'a', files: [serial] }],
        ['done', { reason: 'should not apply', dir: 'done' }],
        ['ghost', { reason: 'its VM vm-g vanished', dir: 'ghost' }],
      ]),
    );
    assert.deepEqual(
      m.experiments.map((e) => [e.id, e.status, e.reason ?? '']),
      [
        ['a', 'lost', 'its VM vm-a vanished'],
        ['done', 'succeeded', ''],
        ['ghost', 'lost', 'its VM vm-g vanished'],
      ],
    );
    assert.deepEqual(m.experiments[0]?.files, [serial]);
    assert.equal(m.counts.byStatus.lost, 2);
    assert.equal(m.counts.missing, 2);
    assert.equal(m.counts.succeeded, 1);
  });
});

describe('watcher report settings and summary', () => {
  const opts = {
    path: '/tmp/r',
    bucket: 'b',
    prefix: 'gce-matrix',
    githubToken: 't',
    apiUrl: 'https://api.github.com',
    runUrl: 'u',
    artifactUrl: 'a',
  };

  it('without the inline settings: the defaults, keyed like the inline report of the same workflow', () => {
    const s = watchReportSettings({ ...RUN, prNumber: 7 }, opts);
    assert.equal(s.title, 'gce-matrix report');
    assert.equal(s.markerKey, 'bench/gce-matrix-report');
    assert.equal(s.baseline, 'compare');
    assert.equal(s.baselineRef, 'main');
    assert.equal(s.prNumber, 7);
    assert.equal(s.repository, 'octo-org/bench-repo');
  });

  it('with them: exactly what the inline report used', () => {
    const s = watchReportSettings(
      {
        ...RUN,
        report: {
          title: 'Nightly',
          markerKey: 'nightly/Nightly',
          pivot: ['tool', 'service'],
          directions: { score: 'higher' },
          thresholdPercent: 2,
          baseline: 'record',
          baselineRef: 'main',
          comment: false,
        },
      },
      opts,
    );
    assert.equal(s.markerKey, 'nightly/Nightly');
    assert.deepEqual(s.pivot, ['tool', 'service']);
    assert.equal(s.directions.get('score'), 'higher');
    assert.equal(s.baseline, 'record');
    assert.equal(s.comment, false);
    assert.equal(s.prNumber, undefined);
  });

  it('summarises every run, escaping what it cannot trust', () => {
    const md = watchSummary([
      { runId: '1', outcome: 'reported', message: 'run 1: 3 experiment(s) collected and reported' },
      { runId: '2', outcome: 'skipped', message: 'gs://b/run.json is corrupt (not JSON: <img src=x>)' },
    ]);
    assert.match(
      md,
      /2 run\(s\) with detached experiments; 1 reported now, 0 still running, 1 skipped, 0 failed/,
    );
    assert.match(md, /\| `2` \| ⚠️ skipped \|/);
    assert.doesNotMatch(md, /<img/);
  });
});
