import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseByteSize, parseCollectInputs, parseExpected } from '../../src/collect/inputs.ts';
import { ConfigurationError } from '../../src/errors.ts';
import type { RunContext } from '../../src/launch/inputs.ts';

const ctx: RunContext = {
  runId: '123',
  runAttempt: 1,
  repository: 'o/r',
  sha: 'abc',
  defaultProject: 'my-project',
};

function parse(inputs: Record<string, string>) {
  return parseCollectInputs((n) => inputs[n] ?? '', ctx, '/home/runner/work/bench/bench');
}

describe('parseCollectInputs', () => {
  it('fills defaults', () => {
    const s = parse({ bucket: 'gs://my-bucket/' });
    assert.deepEqual(s.location, { bucket: 'my-bucket', prefix: 'gce-matrix', runId: '123' });
    assert.equal(s.project, 'my-project');
    assert.equal(s.path, '/home/runner/work/bench/bench/gce-matrix-results');
    assert.equal(s.artifactName, 'gce-matrix-123');
    assert.equal(s.retentionDays, undefined);
    assert.equal(s.upload, true);
    assert.equal(s.overwrite, true);
    assert.equal(s.concurrency, 16);
    assert.equal(s.maxFileSize, 2 * 1024 ** 3);
    assert.equal(s.expected, undefined);
  });

  it('takes every input', () => {
    const s = parse({
      bucket: 'b-1',
      prefix: '/p/q/',
      'run-id': 'run.7',
      project: 'other-project',
      path: '/abs/out',
      'artifact-name': 'results',
      'retention-days': '7',
      upload: 'false',
      overwrite: 'false',
      concurrency: '4',
      'max-file-size': '10MB',
      experiments: 'a, b\nc',
    });
    assert.deepEqual(s.location, { bucket: 'b-1', prefix: 'p/q', runId: 'run.7' });
    assert.equal(s.project, 'other-project');
    assert.equal(s.path, '/abs/out');
    assert.equal(s.artifactName, 'results');
    assert.equal(s.retentionDays, 7);
    assert.equal(s.upload, false);
    assert.equal(s.overwrite, false);
    assert.equal(s.concurrency, 4);
    assert.equal(s.maxFileSize, 10_000_000);
    assert.deepEqual(s.expected, [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['no bucket', {}, /input bucket is required/],
    ['bad bucket', { bucket: 'Bad_Bucket!' }, /input bucket/],
    ['bad run id', { bucket: 'bb1', 'run-id': '../x' }, /input run-id/],
    ['artifact name with a colon', { bucket: 'bb1', 'artifact-name': 'a:b' }, /input artifact-name/],
    ['artifact name with a slash', { bucket: 'bb1', 'artifact-name': 'a/b' }, /input artifact-name/],
    ['zero concurrency', { bucket: 'bb1', concurrency: '0' }, /input concurrency/],
    ['fractional retention', { bucket: 'bb1', 'retention-days': '1.5' }, /input retention-days/],
    ['bad size', { bucket: 'bb1', 'max-file-size': 'lots' }, /input max-file-size/],
    ['bad boolean', { bucket: 'bb1', upload: 'yes' }, /input upload/],
    [
      'half of workload identity',
      { bucket: 'bb1', 'service-account': 'sa-name@p.iam.gserviceaccount.com' },
      /go together/,
    ],
    ['bad experiment id', { bucket: 'bb1', experiments: 'ok, ../x' }, /input experiments/],
  ];
  for (const [what, inputs, message] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parse(inputs),
        (err) => err instanceof ConfigurationError && message.test(err.message),
      );
    });
  }

  it('needs a project from somewhere', () => {
    assert.throws(
      () => parseCollectInputs((n) => (n === 'bucket' ? 'bb1' : ''), { ...ctx, defaultProject: undefined }),
      /input project is required/,
    );
  });
});

describe('parseExpected', () => {
  it('reads the forms a plan can hand over', () => {
    const want = [{ id: 'a', params: { tool: 'x' } }, { id: 'b' }];
    assert.deepEqual(parseExpected('{"include": [{"id": "a", "params": {"tool": "x"}}, {"id": "b"}]}'), want);
    assert.deepEqual(
      parseExpected('{"experiment": [{"id": "a", "params": {"tool": "x"}}, {"id": "b"}]}'),
      want,
    );
    assert.deepEqual(
      parseExpected(
        '{"include": [{"experiment": {"id": "a", "params": {"tool": "x"}}}, {"experiment": {"id": "b"}}]}',
      ),
      want,
    );
    assert.deepEqual(parseExpected('[{"id": "a", "params": {"tool": "x"}}, "b"]'), want);
    assert.deepEqual(parseExpected('["a", "b", "a"]'), [{ id: 'a' }, { id: 'b' }]);
    assert.deepEqual(parseExpected('a,b'), [{ id: 'a' }, { id: 'b' }]);
    assert.equal(parseExpected('  '), undefined);
  });

  it("expects a packed leg's experiments, not the leg", () => {
    const leg = {
      id: 'pack-0123456789',
      params: {},
      members: [
        { id: 'a', params: { tool: 'x' } },
        { id: 'b', params: {} },
      ],
    };
    const want = [{ id: 'a', params: { tool: 'x' } }, { id: 'b', params: {} }, { id: 'c' }];
    assert.deepEqual(
      parseExpected(JSON.stringify({ include: [{ experiment: leg }, { experiment: { id: 'c' } }] })),
      want,
    );
    assert.deepEqual(parseExpected(JSON.stringify([leg, 'c'])), want);
    assert.throws(
      () => parseExpected(JSON.stringify([{ ...leg, members: [{ params: {} }] }])),
      /entry 1 has no "id"/,
    );
  });

  it('names what is wrong', () => {
    assert.throws(() => parseExpected('{"include": [1]}'), /entry 1 has no "id"/);
    assert.throws(() => parseExpected('{"a": [], "b": []}'), /expected the plan's matrix/);
    assert.throws(() => parseExpected('[oops'), /not valid JSON/);
  });
});

describe('parseByteSize', () => {
  const cases: [string, number][] = [
    ['1', 1],
    ['2048', 2048],
    ['1K', 1024],
    ['1KiB', 1024],
    ['1kb', 1000],
    ['500MB', 500_000_000],
    ['1.5M', 1.5 * 1024 * 1024],
    ['2GiB', 2 * 1024 ** 3],
    ['3 GB', 3_000_000_000],
  ];
  for (const [text, bytes] of cases) {
    it(`${text} = ${bytes}`, () => assert.equal(parseByteSize(text), bytes));
  }
  it('refuses nonsense and zero', () => {
    assert.throws(() => parseByteSize('10 parsecs'), ConfigurationError);
    assert.throws(() => parseByteSize('-1'), ConfigurationError);
    assert.throws(() => parseByteSize('0'), ConfigurationError);
  });
});
