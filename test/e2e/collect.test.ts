import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { BedRequest } from '../bed/http.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const collectDir = path.join(root, 'actions/collect');
const BUCKET = 'collect-results';
const RUN_ID = '4242';
const loc = { bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID };
const MAX = 64 * 1024;

function status(
  id: string,
  over: Partial<ExperimentStatus> & Pick<ExperimentStatus, 'state' | 'exitCode'>,
): string {
  const s: ExperimentStatus = {
    schema: 1,
    runId: RUN_ID,
    experiment: id,
    attempt: 1,
    startedAt: '2025-01-01T00:00:00Z',
    endedAt: '2025-01-01T00:10:00Z',
    outputs: [],
    provenance: {
      zone: 'us-central1-a',
      machineType: 'e2-standard-2',
      spot: false,
      parameters: { tool: id },
    },
    ...over,
  };
  return JSON.stringify(s);
}

/** Whether a request downloads the object `name` (whichever path form the client uses). */
function downloads(name: string): (req: BedRequest) => boolean {
  return (req) =>
    req.method === 'GET' &&
    req.url.searchParams.get('alt') === 'media' &&
    decodeURIComponent(req.url.pathname).endsWith(`/o/${name}`);
}

describe('actions/collect end to end (real bundle, stand-ins)', () => {
  let bed: TestBed;
  const put = (name: string, data: string | Buffer): void => {
    bed.storage.putObject(BUCKET, name, data);
  };

  const step = async (inputs: Record<string, string>): Promise<StepOptions> => ({
    actionDir: collectDir,
    workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
    event: workflowDispatchEvent({}, { repo: bed.repository }),
    context: { repository: bed.repository, runId: '777', runAttempt: '1', sha: 'c0ffee' },
    env: bed.env,
    inputs: {
      project: bed.project,
      bucket: BUCKET,
      'run-id': RUN_ID,
      'max-file-size': String(MAX),
      experiments: JSON.stringify({
        include: ['ok-1', 'fail-2', 'lost-3', 'never-4', 'hostile-5', 'corrupt-6'].map((id) => ({
          id,
          params: { tool: id.split('-')[0] },
        })),
      }),
      ...inputs,
    },
  });
  const log = (r: StepResult): string => r.jobLog.join('\n');
  const experimentOf = (m: Manifest, id: string): ManifestExperiment => {
    const e = m.experiments.find((x) => x.id === id);
    assert.ok(e, `manifest lists ${id}`);
    return e;
  };

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    const ok = experimentObjects(loc, 'ok-1');
    put(`${ok.outputs}metrics.json`, '{"score": 42}');
    put(`${ok.outputs}data/result.csv`, 'a,b\n1,2\n');
    put(ok.logs(1) + '000001.txt', 'first line\n');
    put(ok.logs(1) + '000002.txt', 'second line\n');
    put(ok.attempt(1).heartbeat, '{"attempt":1,"at":"2025-01-01T00:09:00Z","phase":"uploading"}');
    put(`${ok.checkpoint}state.bin`, 'not collected');
    put(
      ok.status,
      status('ok-1', {
        state: 'succeeded',
        exitCode: 0,
        outputs: [
          { path: 'metrics.json', size: 13 },
          { path: 'data/result.csv', size: 8 },
        ],
      }),
    );

    const fail = experimentObjects(loc, 'fail-2');
    put(fail.logs(1) + '000001.txt', 'attempt one\n');
    put(fail.logs(2) + '000001.txt', 'attempt two\n');
    put(fail.logs(2) + '000002.txt', 'exit 3\n');
    put(`${fail.outputs}metrics.json`, '{"score": 1}');
    put(
      fail.status,
      status('fail-2', {
        state: 'failed',
        exitCode: 3,
        attempt: 2,
        reason: 'the command exited with 3',
        outputs: [
          { path: 'metrics.json', size: 12 },
          { path: 'gone.txt', size: 5 },
        ],
      }),
    );

    const lost = experimentObjects(loc, 'lost-3');
    put(lost.attempt(1).heartbeat, '{"attempt":1,"at":"2025-01-01T00:05:00Z","phase":"running"}');
    put(lost.logs(1) + '000001.txt', 'still going\n');

    const hostile = experimentObjects(loc, 'hostile-5');
    put(`${hostile.outputs}../../etc/x`, 'escape');
    put(`${hostile.outputs}/abs`, 'absolute');
    put(`${hostile.outputs}win\\..\\..\\x`, 'backslash');
    put(`${hostile.outputs}a:b.txt`, 'colon');
    put(`${hostile.outputs}a_b.txt`, 'real a_b');
    put(`${hostile.outputs}line\nbreak::add-mask::x.txt`, 'newline');
    put(`${hostile.outputs}big.bin`, Buffer.alloc(MAX + 1, 7));
    put(`${hostile.outputs}fine.txt`, 'fine');
    put(hostile.status, status('hostile-5', { state: 'succeeded', exitCode: 0 }));

    put(experimentObjects(loc, 'corrupt-6').status, '{"schema": 1, "state": "succ');

    // planted by someone who could write to the bucket: the plan never had it
    const planted = experimentObjects(loc, 'planted-9');
    put(`${planted.outputs}metrics.json`, '{"score": 1000}');
    put(planted.status, status('planted-9', { state: 'succeeded', exitCode: 0 }));
  });

  after(async () => {
    await bed.close();
  });

  it('collects every experiment, verified, into one artifact with a manifest', async () => {
    const metrics = `${experimentObjects(loc, 'ok-1').outputs}metrics.json`;
    // One corrupted answer of the right length: only the checksum can tell.
    bed.recorder.inject({ service: 'storage', when: downloads(metrics), status: 200, body: 'X'.repeat(11) });
    const r = await runStep(await step({}));
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.succeeded, '2');
    assert.equal(r.outputs.failed, '2', 'fail-2 and corrupt-6');
    assert.equal(r.outputs.missing, '2', 'lost-3 and never-4');
    assert.equal(r.outputs.experiments, '6', 'only the planned ones');
    assert.match(
      log(r),
      /planted-9 is in the bucket but not in the plan given as experiments: not collected/,
    );
    assert.equal(r.outputs['artifact-name'], `gce-matrix-${RUN_ID}`);
    assert.ok(Number(r.outputs['artifact-id']) > 0);

    const attempts = bed.recorder
      .of('storage', 'GET')
      .filter((q) => q.query.alt === 'media' && decodeURIComponent(q.path).endsWith(metrics));
    assert.equal(attempts.length, 2, 'the corrupted download was tried again');

    const manifest = JSON.parse(await readFile(r.outputs.manifest, 'utf8')) as Manifest;
    assert.equal(manifest.runId, RUN_ID);
    assert.equal(manifest.source, `gs://${BUCKET}/gce-matrix/runs/${RUN_ID}/`);
    assert.deepEqual(
      manifest.problems.map((p) => [p.kind, p.object]),
      [['unplanned', `${experimentObjects(loc, 'planted-9').base}`]],
    );
    assert.ok(![...(await readdir(path.dirname(r.outputs.manifest)))].includes('planted-9'), 'not collected');
    assert.deepEqual(
      manifest.experiments.map((e) => [e.id, e.status]),
      [
        ['corrupt-6', 'corrupt'],
        ['fail-2', 'failed'],
        ['hostile-5', 'succeeded'],
        ['lost-3', 'unfinished'],
        ['never-4', 'missing'],
        ['ok-1', 'succeeded'],
      ],
    );

    const ok = experimentOf(manifest, 'ok-1');
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.attempts, 1);
    assert.deepEqual(ok.params, { tool: 'ok' });
    assert.equal(ok.provenance?.zone, 'us-central1-a');
    assert.deepEqual(
      ok.files.map((f) => [f.path, f.size, f.verified]),
      [
        ['ok-1/log.txt', 23, 'md5'],
        ['ok-1/outputs/data/result.csv', 8, 'md5'],
        ['ok-1/outputs/metrics.json', 13, 'md5'],
        ['ok-1/status.json', ok.files.find((f) => f.path === 'ok-1/status.json')!.size, 'md5'],
      ],
    );
    assert.ok(ok.files.every((f) => f.path.endsWith('log.txt') || (f.crc32c && f.md5)));
    assert.deepEqual(ok.problems, []);

    const fail = experimentOf(manifest, 'fail-2');
    assert.equal(fail.exitCode, 3);
    assert.equal(fail.attempts, 2);
    assert.equal(fail.reason, 'the command exited with 3');
    // attempt 1 left a log but no status of its own: its log may lack its end, and the manifest says so
    assert.deepEqual(
      fail.problems.map((p) => [p.kind, p.object]),
      [
        ['log-incomplete', `${experimentObjects(loc, 'fail-2').attempt(1).prefix}`],
        ['missing-output', `${experimentObjects(loc, 'fail-2').outputs}gone.txt`],
      ],
    );

    const lost = experimentOf(manifest, 'lost-3');
    assert.equal(lost.heartbeat?.phase, 'running');
    assert.equal(lost.attempts, 1);
    assert.deepEqual(experimentOf(manifest, 'never-4').files, []);
    assert.match(experimentOf(manifest, 'corrupt-6').problems[0]?.message ?? '', /not valid JSON/);

    const hostile = experimentOf(manifest, 'hostile-5');
    const problem = (kind: string): string[] =>
      hostile.problems.filter((p) => p.kind === kind).map((p) => p.object!.split('/outputs/')[1]);
    assert.deepEqual(problem('unsafe-name').sort(), ['../../etc/x', '/abs', 'win\\..\\..\\x']);
    assert.deepEqual(problem('oversize'), ['big.bin']);
    assert.deepEqual(problem('renamed').sort(), ['a:b.txt', 'line\nbreak::add-mask::x.txt']);
    const renamed = hostile.files.filter((f) => f.renamedFrom !== undefined);
    assert.deepEqual(renamed.map((f) => [f.renamedFrom, f.path]).sort(), [
      ['a:b.txt', 'hostile-5/outputs/a_b~2.txt'],
      ['line\nbreak::add-mask::x.txt', 'hostile-5/outputs/line_break__add-mask__x.txt'],
    ]);

    const files = bed.artifacts.filesOf(`gce-matrix-${RUN_ID}`);
    const names = [...files.keys()].sort();
    assert.deepEqual(names, [
      'corrupt-6/status.json',
      'fail-2/attempt-1/log.txt',
      'fail-2/log.txt',
      'fail-2/outputs/metrics.json',
      'fail-2/status.json',
      'hostile-5/outputs/a_b.txt',
      'hostile-5/outputs/a_b~2.txt',
      'hostile-5/outputs/fine.txt',
      'hostile-5/outputs/line_break__add-mask__x.txt',
      'hostile-5/status.json',
      'lost-3/heartbeat.json',
      'lost-3/log.txt',
      'manifest.json',
      'ok-1/log.txt',
      'ok-1/outputs/data/result.csv',
      'ok-1/outputs/metrics.json',
      'ok-1/status.json',
      'results.csv',
    ]);
    assert.equal(files.get('ok-1/outputs/metrics.json')?.toString(), '{"score": 42}');
    assert.equal(files.get('ok-1/log.txt')?.toString(), 'first line\nsecond line\n');
    assert.equal(files.get('fail-2/log.txt')?.toString(), 'attempt two\nexit 3\n', 'the last attempt');
    assert.equal(files.get('fail-2/attempt-1/log.txt')?.toString(), 'attempt one\n', 'and the earlier one');
    assert.equal(files.get('hostile-5/outputs/a_b.txt')?.toString(), 'real a_b');
    assert.equal(files.get('hostile-5/outputs/a_b~2.txt')?.toString(), 'colon');
    assert.deepEqual(JSON.parse(files.get('manifest.json')!.toString()), manifest);

    // The tidy table: one row per experiment and metric, every experiment there, unknowns left empty.
    const csv = files.get('results.csv')?.toString() ?? '';
    assert.equal(csv, await readFile(path.join(r.outputs.path, 'results.csv'), 'utf8'));
    const rows = csv.split('\r\n');
    assert.equal(rows.pop(), '', 'every record ends in CRLF');
    assert.deepEqual(
      rows.map((row) => row.split(',')[0]),
      ['experiment', 'corrupt-6', 'fail-2', 'hostile-5', 'lost-3', 'never-4', 'ok-1'],
    );
    const row = (id: string): string | undefined => rows.find((x) => x.startsWith(`${id},`));
    assert.equal(
      rows[0],
      'experiment,param_tool,status,attempt,started_at,ended_at,duration_seconds,cost_usd,commit,zone,machine_type,spot,metric,value,unit',
    );
    const ran = '2025-01-01T00:00:00Z,2025-01-01T00:10:00Z,600,0.0112,,us-central1-a,e2-standard-2,false';
    assert.equal(row('ok-1'), `ok-1,ok,succeeded,1,${ran},score,42,`);
    assert.equal(row('fail-2'), `fail-2,fail,failed,2,${ran},score,1,`);
    assert.equal(row('hostile-5'), `hostile-5,hostile,succeeded,1,${ran},,,`);
    assert.equal(row('never-4'), 'never-4,never,missing,,,,,,,,,,,,');

    // Left on disk too, with nothing outside the results directory and no partial files.
    const onDisk = (await readdir(r.outputs.path, { recursive: true })).sort();
    assert.ok(!onDisk.some((f) => f.startsWith('.gce-matrix-partial')), onDisk.join(', '));
    assert.ok(onDisk.includes('ok-1/outputs/metrics.json'));

    assert.match(r.summary ?? '', /6 experiment\(s\), \*\*2 succeeded\*\*, 2 failed, 2 missing/);
    assert.doesNotMatch(log(r), /^::add-mask::/m);
    assert.ok(!r.masks.includes('x.txt'), 'a hostile name cannot register a mask');
  });

  it('replaces the artifact of an earlier attempt, and fails when an object stays corrupt', async () => {
    const csv = `${experimentObjects(loc, 'ok-1').outputs}data/result.csv`;
    bed.recorder.inject({
      service: 'storage',
      when: downloads(csv),
      status: 200,
      body: 'Y'.repeat(6),
      times: 10,
    });
    const before = bed.artifacts.artifacts().filter((a) => a.name === `gce-matrix-${RUN_ID}`);
    assert.equal(before.length, 1);
    const r = await runStep(await step({ concurrency: '2' }));
    assert.equal(r.conclusion, 'failure');
    const error = r.annotations.find((a) => a.level === 'error');
    assert.match(error?.message ?? '', /1 object\(s\) could not be downloaded intact/);
    assert.match(log(r), /Replacing artifact gce-matrix-4242/);
    const now = bed.artifacts.artifacts().filter((a) => a.name === `gce-matrix-${RUN_ID}`);
    assert.equal(now.length, 1, 'one artifact of the name');
    assert.notEqual(now[0].id, before[0].id);
    const files = bed.artifacts.filesOf(`gce-matrix-${RUN_ID}`);
    assert.ok(!files.has('ok-1/outputs/data/result.csv'), 'a corrupt file is never uploaded');
    assert.ok(files.has('ok-1/outputs/metrics.json'));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest;
    const ok = experimentOf(manifest, 'ok-1');
    assert.deepEqual(
      ok.problems.map((p) => p.kind),
      ['checksum'],
    );
    assert.match(ok.problems[0].message, /MD5 .* does not match/);
  });

  it('refuses a bad input before touching the bucket', async () => {
    bed.recorder.clear();
    const r = await runStep(await step({ 'artifact-name': 'a:b', upload: 'true' }));
    assert.equal(r.conclusion, 'failure');
    assert.match(r.annotations[0]?.message ?? '', /artifact-name/);
    assert.equal(bed.recorder.of('storage').length, 0);
  });
});
