import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import type { RunContext } from '../../src/launch/inputs.ts';
import { parseSource, pullRequestHeadOf } from '../../src/launch/inputs.ts';
import type { Plan } from '../../src/plan/expand.ts';
import { pinExperimentRefs, plannedSource } from '../../src/plan/source.ts';
import type { SourceManifest } from '../../src/source/snapshot.ts';
import {
  checkFitsBootDisk,
  commitKey,
  manifestText,
  parseManifest,
  sourceAttribute,
  sourceObjects,
} from '../../src/source/snapshot.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const manifest: SourceManifest = {
  schema: 1,
  repository: 'o/r',
  commit: A,
  origin: 'github',
  dirty: false,
  object: 'p/runs/7/source/sha256-x.tar.gz',
  sha256: 'f'.repeat(64),
  size: 1000,
  unpackedBytes: 5000,
  createdAt: '2026-12-01T00:00:00.000Z',
};

describe('source snapshot records', () => {
  it('names the objects under the run', () => {
    const o = sourceObjects({ bucket: 'b', prefix: 'gce-matrix/', runId: '42' });
    assert.equal(o.archive('ab'), 'gce-matrix/runs/42/source/sha256-ab.tar.gz');
    assert.equal(o.manifest(commitKey(A)), `gce-matrix/runs/42/source/commit-${A}.json`);
    assert.equal(o.lock(commitKey(A)), `gce-matrix/runs/42/source/commit-${A}.lock`);
    assert.throws(() => commitKey('abc'), /not a full commit SHA/);
  });

  it('round-trips a manifest and refuses broken or newer ones', () => {
    assert.deepEqual(parseManifest(manifestText(manifest), 'm'), manifest);
    for (const [text, why] of [
      ['{', /not JSON/],
      ['[]', /schema undefined/],
      [JSON.stringify({ ...manifest, schema: 2 }), /schema 2/],
      [JSON.stringify({ ...manifest, sha256: 'xyz' }), /lacks a field/],
      [JSON.stringify({ ...manifest, origin: 'ftp' }), /lacks a field/],
      [JSON.stringify({ ...manifest, size: '1' }), /lacks a field/],
    ] as const) {
      assert.throws(() => parseManifest(text, 'm'), why, text);
    }
  });

  it('gives the agent object, checksum, size and commit', () => {
    assert.equal(
      sourceAttribute(manifest),
      `object=${manifest.object}\nsha256=${manifest.sha256}\nsize=1000\ncommit=${A}\nunpacked-bytes=5000`,
    );
  });

  it('refuses a snapshot the boot disk cannot hold beside the image, naming the setting', () => {
    const gib = 1024 ** 3;
    const cases: [number, number, boolean][] = [
      [gib, 5 * gib, true], // 6 GiB on a 50 GB disk
      [10 * gib, 30 * gib, true], // 40 of 40 GiB left
      [10 * gib, 31 * gib, false],
      [gib, 5 * gib, false], // on a 15 GB disk: 5 GiB left
    ];
    for (const [i, [size, unpacked, fits]] of cases.entries()) {
      const disk = i === 3 ? 15 : 50;
      const m = { ...manifest, size, unpackedBytes: unpacked };
      if (fits) checkFitsBootDisk(m, disk);
      else
        assert.throws(
          () => checkFitsBootDisk(m, disk),
          (e: Error) => e instanceof ConfigurationError && /boot-disk-size-gb/.test(e.message),
        );
    }
  });
});

describe('which commit runs', () => {
  const ctx: RunContext = { runId: '1', runAttempt: 1, repository: 'o/r', sha: A, defaultProject: 'p' };
  const read = (v: Record<string, string>) => (name: string) => v[name] ?? '';

  it('launch: source-ref, else the pull request head, else the workflow commit; none on issue_comment', () => {
    assert.deepEqual(parseSource(read({}), ctx), { mode: 'repository', ref: A });
    assert.deepEqual(parseSource(read({ 'source-ref': 'v1.2' }), ctx), { mode: 'repository', ref: 'v1.2' });
    assert.deepEqual(parseSource(read({}), { ...ctx, pullRequestHead: B }), { mode: 'repository', ref: B });
    assert.deepEqual(parseSource(read({}), { ...ctx, eventName: 'issue_comment' }), {
      mode: 'repository',
      ref: undefined,
    });
    assert.deepEqual(parseSource(read({ source: 'none' }), ctx), { mode: 'none', ref: undefined });
    assert.throws(
      () => parseSource(read({ source: 'git' }), ctx),
      /input source must be repository .* or none/,
    );
    for (const bad of ['../x', 'a..b', '-x', 'x/', 'a b'])
      assert.throws(() => parseSource(read({ 'source-ref': bad }), ctx), /input source-ref/, bad);
    assert.equal(pullRequestHeadOf({ pull_request: { head: { sha: B } } }), B);
    assert.equal(pullRequestHeadOf({ pull_request: { head: { sha: 'nope' } } }), undefined);
  });

  it('plan: the approved PR head on a comment, the PR head on pull_request, the workflow commit otherwise', async () => {
    const base = {
      sourceRef: undefined,
      sha: A,
      github: undefined,
      pullHead: (n: number) => Promise.resolve(n === 5 ? C : 'x'),
    };
    const table: [string, unknown, string | undefined][] = [
      ['schedule', {}, A],
      ['workflow_dispatch', {}, A],
      ['pull_request', { pull_request: { number: 3, head: { sha: B } } }, B],
      ['issue_comment', { issue: { number: 5, pull_request: {} } }, C],
    ];
    for (const [eventName, event, want] of table) {
      const got = await plannedSource({ ...base, eventName, event });
      assert.equal(got?.commit, want, eventName);
    }
    assert.equal(await plannedSource({ ...base, eventName: 'push', event: {}, sha: '' }), undefined);
    await assert.rejects(
      plannedSource({ ...base, eventName: 'issue_comment', event: { issue: { number: 9 } } }),
      /issue #9, which is not a pull request/,
    );
    const named = await plannedSource({ ...base, sourceRef: B, eventName: 'issue_comment', event: {} });
    assert.equal(named?.commit, B);
    await assert.rejects(
      plannedSource({ ...base, sourceRef: 'main', eventName: 'schedule', event: {} }),
      /input source-ref "main" needs input github-token/,
    );
  });

  it("plan: pins each experiment's own source-ref to a SHA once per ref, in the matrix and the batches", async () => {
    const e = (id: string, ref?: string) => ({
      id,
      params: {},
      ...(ref ? { launch: { 'source-ref': ref } } : {}),
    });
    const plan: Plan = {
      experiments: [e('a', 'v1'), e('b', 'v1'), e('c'), e('d', B)],
      legs: [e('a', 'v1'), e('b', 'v1'), e('c'), e('d', B)],
      axes: [],
      repetitions: 1,
      batches: [
        [e('a', 'v1'), e('b', 'v1')],
        [e('c'), e('d', B)],
      ],
    };
    const asked: string[] = [];
    const pinned = await pinExperimentRefs(plan, (ref) => {
      asked.push(ref);
      return Promise.resolve(C);
    });
    assert.deepEqual(asked, ['v1']);
    assert.deepEqual(
      pinned.experiments.map((x) => x.launch?.['source-ref']),
      [C, C, undefined, B],
    );
    assert.deepEqual(
      pinned.batches.flat().map((x) => x.launch?.['source-ref']),
      [C, C, undefined, B],
    );
    assert.deepEqual(
      pinned.legs.map((x) => x.launch?.['source-ref']),
      [C, C, undefined, B],
    );
  });

  it('plan: pins a packed leg and its members to one SHA', async () => {
    const launch = { 'source-ref': 'v2' };
    const members = [
      { id: 'a', params: {} },
      { id: 'b', params: {} },
    ];
    const leg = { id: 'pack-0123456789', params: {}, launch, members };
    const plan: Plan = {
      experiments: members.map((m) => ({ ...m, launch })),
      legs: [leg],
      axes: [],
      repetitions: 1,
      batches: [[leg]],
    };
    const pinned = await pinExperimentRefs(plan, () => Promise.resolve(C));
    assert.deepEqual(pinned.legs, [{ ...leg, launch: { 'source-ref': C } }]);
    assert.deepEqual(pinned.batches, [[{ ...leg, launch: { 'source-ref': C } }]]);
    assert.deepEqual(
      pinned.experiments.map((x) => x.launch?.['source-ref']),
      [C, C],
    );
  });
});
