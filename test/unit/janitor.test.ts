import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JanitorPolicy, JanitorVm } from '../../src/janitor/decide.ts';
import { decide, toJanitorVm } from '../../src/janitor/decide.ts';
import type { JanitorResult } from '../../src/janitor/janitor.ts';
import { janitorFilter, janitorSummary } from '../../src/janitor/janitor.ts';
import { parseJanitorInputs } from '../../src/janitor/main.ts';
import { experimentKey, labelValue, runKey } from '../../src/naming.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;

function vm(over: Partial<JanitorVm> = {}): JanitorVm {
  return {
    name: 'gcem-1-a-abc-a1',
    zone: 'us-central1-a',
    status: 'RUNNING',
    labels: { 'gce-matrix': 'managed', 'gce-matrix-run': '42', 'gce-matrix-repo': 'octo_repo' },
    createdAt: NOW - 10 * MIN,
    lastStartAt: NOW - 9 * MIN,
    lastStopAt: undefined,
    maxRunSeconds: 75 * 60,
    ...over,
  };
}

const policy: JanitorPolicy = {
  now: NOW,
  marginMs: 30 * MIN,
  maxAgeMs: 24 * 60 * MIN,
  endedRuns: new Set([runKey('7')]),
  repository: 'octo_repo',
};

describe('janitor decide', () => {
  const cases: { name: string; vm: JanitorVm; policy?: Partial<JanitorPolicy>; want: string }[] = [
    { name: 'a young running VM is kept', vm: vm(), want: 'keep' },
    {
      name: 'a VM of an ended run goes',
      vm: vm({ labels: { ...vm().labels, 'gce-matrix-run': '7', 'gce-matrix-run-key': runKey('7') } }),
      want: 'run-ended',
    },
    {
      name: 'a VM of an ended run left running detached stays (for the watcher)',
      vm: vm({ labels: { ...vm().labels, 'gce-matrix-run': '7', 'gce-matrix-run-key': runKey('7') } }),
      policy: { detached: new Set(['gcem-1-a-abc-a1']) },
      want: 'keep',
    },
    {
      name: 'a detached VM still goes once past its own limit',
      vm: vm({
        labels: { ...vm().labels, 'gce-matrix-run': '7', 'gce-matrix-run-key': runKey('7') },
        lastStartAt: NOW - 106 * MIN,
      }),
      policy: { detached: new Set(['gcem-1-a-abc-a1']) },
      want: 'ttl-passed',
    },
    {
      name: 'an ended run id of another repository does not count',
      vm: vm({
        labels: {
          ...vm().labels,
          'gce-matrix-run': '7',
          'gce-matrix-run-key': runKey('7'),
          'gce-matrix-repo': 'other_repo',
        },
      }),
      want: 'keep',
    },
    {
      name: 'without a repository, any VM of an ended run id goes',
      vm: vm({
        labels: {
          ...vm().labels,
          'gce-matrix-run': '7',
          'gce-matrix-run-key': runKey('7'),
          'gce-matrix-repo': 'other_repo',
        },
      }),
      policy: { repository: undefined },
      want: 'run-ended',
    },
    {
      name: 'a VM of another run whose id rewrites to the same label stays (run R.1 ended, this is r_1)',
      vm: vm({
        labels: { ...vm().labels, 'gce-matrix-run': labelValue('r_1'), 'gce-matrix-run-key': runKey('r_1') },
      }),
      policy: { endedRuns: new Set([runKey('R.1')]) },
      want: 'keep',
    },
    {
      name: 'a VM just past its limit is kept within the margin',
      vm: vm({ lastStartAt: NOW - 100 * MIN }),
      want: 'keep',
    },
    {
      name: 'a VM past its limit and the margin goes',
      vm: vm({ lastStartAt: NOW - 106 * MIN }),
      want: 'ttl-passed',
    },
    {
      name: 'the limit counts from the last start, not the creation',
      vm: vm({ createdAt: NOW - 300 * MIN, lastStartAt: NOW - 5 * MIN }),
      want: 'keep',
    },
    {
      name: 'a VM that never started counts from its creation',
      vm: vm({ createdAt: NOW - 200 * MIN, lastStartAt: undefined, status: 'PROVISIONING' }),
      want: 'ttl-passed',
    },
    {
      name: 'a VM without a limit goes after the maximum age',
      vm: vm({ maxRunSeconds: undefined, lastStartAt: NOW - 25 * 60 * MIN }),
      want: 'too-old',
    },
    { name: 'a VM without a limit is kept before it', vm: vm({ maxRunSeconds: undefined }), want: 'keep' },
    {
      name: 'a VM stopped for longer than the margin goes',
      vm: vm({ status: 'TERMINATED', lastStopAt: NOW - 31 * MIN }),
      want: 'terminated',
    },
    {
      name: 'a VM stopped a moment ago is kept (launch may be replacing it)',
      vm: vm({ status: 'TERMINATED', lastStopAt: NOW - 2 * MIN }),
      want: 'keep',
    },
    { name: 'a stopped VM with no stop time goes', vm: vm({ status: 'TERMINATED' }), want: 'terminated' },
    { name: 'a suspended VM is treated as stopped', vm: vm({ status: 'SUSPENDED' }), want: 'terminated' },
    {
      name: 'a VM not labelled managed is never touched',
      vm: vm({ labels: { 'gce-matrix-run': '7', 'gce-matrix-run-key': runKey('7') }, status: 'TERMINATED' }),
      want: 'keep',
    },
    {
      name: 'a VM without timestamps is kept',
      vm: vm({ createdAt: undefined, lastStartAt: undefined }),
      want: 'keep',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const v = decide(c.vm, { ...policy, ...c.policy });
      assert.equal(v.action === 'keep' ? 'keep' : v.reason, c.want, v.detail);
      assert.ok(v.detail.length > 0);
    });
  }

  it('is pure: the same inputs give the same verdict', () => {
    const a = decide(vm({ lastStartAt: NOW - 200 * MIN }), policy);
    const b = decide(vm({ lastStartAt: NOW - 200 * MIN }), policy);
    assert.deepEqual(a, b);
  });
});

describe('janitor instance reading', () => {
  it('reads the fields from an instance resource', () => {
    const got = toJanitorVm(
      {
        name: 'x',
        status: 'RUNNING',
        labels: { 'gce-matrix': 'managed' },
        creationTimestamp: '2026-03-01T03:00:00.000-08:00',
        lastStartTimestamp: '2026-03-01T11:01:00Z',
        scheduling: { maxRunDuration: { seconds: '4500' } },
      },
      'europe-west4-b',
    );
    assert.equal(got.zone, 'europe-west4-b');
    assert.equal(got.createdAt, Date.parse('2026-03-01T11:00:00Z'));
    assert.equal(got.lastStartAt, Date.parse('2026-03-01T11:01:00Z'));
    assert.equal(got.lastStopAt, undefined);
    assert.equal(got.maxRunSeconds, 4500);
  });

  it('treats a missing or bad duration and timestamps as unknown', () => {
    const got = toJanitorVm({ name: 'x', creationTimestamp: 'garbage', scheduling: {} }, 'z');
    assert.equal(got.createdAt, undefined);
    assert.equal(got.maxRunSeconds, undefined);
    assert.deepEqual(got.labels, {});
  });

  it('filters by the managed label, and by repository when given', () => {
    assert.equal(janitorFilter(), 'labels.gce-matrix = "managed"');
    assert.equal(
      janitorFilter('Octo-Org/Bench.Repo'),
      'labels.gce-matrix = "managed" AND labels.gce-matrix-repo = "octo-org_bench_repo"',
    );
  });
});

describe('janitor inputs', () => {
  const reader =
    (inputs: Record<string, string>) =>
    (name: string): string =>
      inputs[name] ?? '';
  const env = { GITHUB_REPOSITORY: 'octo/repo' };

  it('reads zones, run ids and defaults', () => {
    const o = parseJanitorInputs(reader({ zones: 'us-central1-a, us-east1-b', 'run-id': '12 13' }), env);
    assert.deepEqual(o.zones, ['us-central1-a', 'us-east1-b']);
    assert.deepEqual(o.endedRuns, ['12', '13']);
    assert.equal(o.repository, 'octo/repo');
    assert.equal(o.marginMinutes, 30);
    assert.equal(o.maxAgeHours, 24);
    assert.equal(o.dryRun, false);
  });

  it('scope project drops the repository', () => {
    const o = parseJanitorInputs(reader({ region: 'us-central1', scope: 'project', 'dry-run': 'true' }), env);
    assert.equal(o.repository, undefined);
    assert.deepEqual(o.regions, ['us-central1']);
    assert.equal(o.dryRun, true);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['no zones', {}, /input zones \(or region\) is required/],
    ['a bad zone', { zones: 'us-central1' }, /input zones: "us-central1"/],
    ['a bad region', { region: 'us-central1-a' }, /input region/],
    ['a bad scope', { zones: 'us-central1-a', scope: 'all' }, /input scope/],
    ['a bad margin', { zones: 'us-central1-a', 'margin-minutes': '-1' }, /input margin-minutes/],
    ['a bad age', { zones: 'us-central1-a', 'max-age-hours': 'soon' }, /input max-age-hours/],
    ['a bad dry-run', { zones: 'us-central1-a', 'dry-run': 'yes' }, /input dry-run/],
    ['half the credentials', { zones: 'us-central1-a', 'service-account': 'a@b' }, /go together/],
  ];
  for (const [name, inputs, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseJanitorInputs(reader(inputs), env), message);
    });
  }
});

describe('janitor summary', () => {
  it('lists stale VMs first and escapes what it shows', () => {
    const stale = decide(vm({ name: 'zz', status: 'TERMINATED' }), policy);
    const kept = decide(vm({ name: 'aa|<b>' }), policy);
    const result: JanitorResult = {
      zones: ['us-central1-a'],
      verdicts: [kept, stale],
      deleted: [stale],
      failed: [],
      dryRun: false,
    };
    const md = janitorSummary(result);
    assert.match(md, /2 VM\(s\) in 1 zone\(s\), 1 stale, 1 deleted/);
    const rows = md.split('\n').filter((l) => l.startsWith('| `'));
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /zz.*deleted \(terminated\)/);
    assert.doesNotMatch(rows[1] ?? '', /<b>/);
    assert.match(janitorSummary({ ...result, deleted: [], dryRun: true }), /would delete \(terminated\)/);
  });
});

describe('exact identity labels', () => {
  it('tell apart ids that the readable labels fold together', () => {
    for (const [a, b] of [
      ['tool-X', 'tool-x'],
      ['a.b', 'a_b'],
      ['R.1', 'r_1'],
    ] as const) {
      assert.equal(labelValue(a), labelValue(b), `${a} and ${b} share a readable label`);
      assert.notEqual(runKey(a), runKey(b));
      assert.notEqual(experimentKey('run', a), experimentKey('run', b));
      assert.match(runKey(a), /^[0-9a-f]{20}$/);
    }
    assert.notEqual(experimentKey('a', 'b-c'), experimentKey('a-b', 'c'));
  });
});
