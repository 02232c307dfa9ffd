import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManifestExperiment } from '../../src/collect/manifest.ts';
import {
  buildManifest,
  checkDeclaredOutputs,
  countClass,
  countExperiments,
  parseHeartbeat,
  statusFields,
} from '../../src/collect/manifest.ts';
import type { ExperimentStatus } from '../../src/layout.ts';

function experiment(id: string, over: Partial<ManifestExperiment> = {}): ManifestExperiment {
  return {
    id,
    dir: id,
    status: 'succeeded',
    state: 'succeeded',
    exitCode: 0,
    attempts: 1,
    planned: null,
    files: [],
    problems: [],
    ...over,
  };
}

const status: ExperimentStatus = {
  schema: 1,
  runId: 'r',
  experiment: 'e',
  attempt: 2,
  state: 'failed',
  exitCode: 3,
  reason: 'exit 3',
  startedAt: '2025-01-01T00:00:00Z',
  endedAt: '2025-01-01T01:00:00Z',
  outputs: [],
  provenance: { zone: 'us-east1-c', spot: true },
};

describe('manifest', () => {
  it('sorts every status into succeeded, failed or missing', () => {
    assert.equal(countClass('succeeded'), 'succeeded');
    for (const s of ['failed', 'error', 'preempted', 'corrupt'] as const)
      assert.equal(countClass(s), 'failed');
    for (const s of ['missing', 'unfinished'] as const) assert.equal(countClass(s), 'missing');
  });

  it('counts experiments, files, bytes and problems (renames are not problems)', () => {
    const counts = countExperiments([
      experiment('a', {
        files: [
          { path: 'a/x', object: 'o/x', size: 10, verified: 'md5' },
          { path: 'a/y', object: 'o/y', size: 5, verified: 'crc32c' },
        ],
        problems: [{ kind: 'renamed', message: 'r' }],
      }),
      experiment('b', { status: 'preempted', problems: [{ kind: 'oversize', message: 'big' }] }),
      experiment('c', { status: 'unfinished' }),
      experiment('d', { status: 'missing' }),
    ]);
    assert.equal(counts.experiments, 4);
    assert.equal(counts.succeeded, 1);
    assert.equal(counts.failed, 1);
    assert.equal(counts.missing, 2);
    assert.equal(counts.byStatus.preempted, 1);
    assert.equal(counts.byStatus.error, 0);
    assert.equal(counts.files, 2);
    assert.equal(counts.bytes, 15);
    assert.equal(counts.problems, 1);
  });

  it('builds a manifest sorted by id, with run-level problems counted', () => {
    const m = buildManifest({
      location: { bucket: 'bk', prefix: 'pfx', runId: '9' },
      experiments: [experiment('b'), experiment('a')],
      problems: [{ kind: 'unsafe-name', object: 'x', message: 'stray' }],
      collectedAt: new Date('2025-02-03T04:05:06Z'),
    });
    assert.equal(m.schema, 1);
    assert.equal(m.prefix, 'pfx/runs/9/');
    assert.equal(m.source, 'gs://bk/pfx/runs/9/');
    assert.equal(m.collectedAt, '2025-02-03T04:05:06.000Z');
    assert.deepEqual(
      m.experiments.map((e) => e.id),
      ['a', 'b'],
    );
    assert.equal(m.counts.problems, 1);
  });

  it('takes the fields of a status', () => {
    assert.deepEqual(statusFields(status, { corrupt: false, anyObjects: true }), {
      status: 'failed',
      state: 'failed',
      exitCode: 3,
      attempts: 2,
      reason: 'exit 3',
      startedAt: '2025-01-01T00:00:00Z',
      endedAt: '2025-01-01T01:00:00Z',
      provenance: { zone: 'us-east1-c', spot: true },
    });
  });

  it('tells unfinished, missing and corrupt apart without a status', () => {
    const hb = { attempt: 2, at: '2025-01-01T00:00:00Z', phase: 'running' as const };
    assert.deepEqual(statusFields(undefined, { corrupt: false, anyObjects: true, heartbeat: hb }), {
      status: 'unfinished',
      state: null,
      exitCode: null,
      attempts: 2,
      heartbeat: hb,
    });
    assert.equal(statusFields(undefined, { corrupt: false, anyObjects: false }).status, 'missing');
    assert.equal(statusFields(undefined, { corrupt: true, anyObjects: true }).status, 'corrupt');
    assert.equal(statusFields(undefined, { corrupt: false, anyObjects: true, lastAttempt: 3 }).attempts, 3);
  });

  it('checks the outputs a status names against the bucket', () => {
    const problems = checkDeclaredOutputs(
      [
        { path: 'm.json', size: 5 },
        { path: 'gone', size: 1 },
        { path: 'short', size: 10 },
      ],
      new Map([
        ['m.json', 5],
        ['short', 9],
        ['extra', 1],
      ]),
      'p/outputs/',
    );
    assert.deepEqual(
      problems.map((p) => [p.kind, p.object]),
      [
        ['missing-output', 'p/outputs/gone'],
        ['missing-output', 'p/outputs/short'],
      ],
    );
    assert.match(problems[1].message, /10 bytes, but the bucket holds 9/);
  });

  it('reads a heartbeat leniently', () => {
    assert.deepEqual(parseHeartbeat('{"attempt":1,"at":"t","phase":"running"}'), {
      attempt: 1,
      at: 't',
      phase: 'running',
    });
    assert.equal(parseHeartbeat('{"attempt":"1"}'), undefined);
    assert.equal(parseHeartbeat('{torn'), undefined);
  });
});
