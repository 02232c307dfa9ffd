import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { instanceName } from '../../src/naming.ts';
import { pullRequestEvent, scheduleEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep, startStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'detached-results';
/** Every run comes from its own pull request: run 5001 from #51, 5002 from #52, ... */
const prOf = (runId: string): number => Number(runId) - 4950;
const METRICS = `printf '{"score": 42}' > "$GCE_MATRIX_METRICS_FILE"`;
/**
 * Time is scaled through the inputs: one second of the experiment stands for an hour. The job limit (6 h) is a
 * 6-second wait-timeout-minutes, the 9-hour experiment sleeps 9 seconds.
 */
const HOUR_S = 1;

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('detached launches and the watcher (real bundles, real agent, stand-ins)', () => {
  let bed: TestBed;
  let defaultBranch: string;
  const log = (r: StepResult): string => r.jobLog.join('\n');

  const step = async (
    action: string,
    runId: string,
    inputs: Record<string, string>,
    over: Partial<StepOptions> = {},
  ): Promise<StepResult> =>
    runStep({
      actionDir: path.join(root, action),
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: pullRequestEvent('opened', { repo: bed.repository, number: prOf(runId) }),
      context: {
        repository: bed.repository,
        runId,
        sha: runId.padEnd(40, '0'),
        ref: `refs/pull/${prOf(runId)}/merge`,
        token: bed.github.defaultToken,
        workflow: 'bench',
      },
      env: bed.env,
      inputs,
      ...over,
    });

  const launch = (runId: string, id: string, command: string, inputs: Record<string, string> = {}) =>
    step('actions/launch', runId, {
      project: bed.project,
      zones: 'us-central1-a',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'run-id': runId,
      experiment: JSON.stringify({ id, params: { tool: 'a' } }),
      command,
      'heartbeat-seconds': '1',
      'log-interval-seconds': '1',
      'timeout-minutes': '30',
      // these experiments need no code of the repository; the source snapshot has tests of its own
      source: 'none',
      ...inputs,
    });

  const object = (name: string) => bed.storage.getObject(BUCKET, `gce-matrix/${name}`);
  const json = (name: string): Record<string, unknown> =>
    JSON.parse(object(name)?.data.toString('utf8') ?? 'null') as Record<string, unknown>;
  const status = (name: string) => bed.compute.inspect(name)?.status;
  const botComments = (runId: string) =>
    bed.github.comments(bed.repository, prOf(runId)).filter((c) => c.user.type === 'Bot');
  const artifactsNamed = (name: string) =>
    bed.artifacts.artifacts().filter((a) => a.finalized && a.name === name);

  let watcherRuns = 9100;
  /** One scheduled run of the watcher workflow: its own GitHub run, runtime token and workspace. */
  const watcherOptions = async (): Promise<StepOptions> => {
    const runId = String(watcherRuns++);
    return {
      actionDir: path.join(root, 'actions/watch'),
      workspace: await mkdtemp(path.join(bed.dir, 'watcher-')),
      event: scheduleEvent('*/10 * * * *', { repo: bed.repository }),
      context: {
        repository: bed.repository,
        runId,
        sha: 'f'.repeat(40),
        ref: `refs/heads/${defaultBranch}`,
        token: bed.github.defaultToken,
        workflow: 'gce-matrix watch',
      },
      env: { ...bed.env, ACTIONS_RUNTIME_TOKEN: bed.artifacts.mintRuntimeToken() },
      inputs: { project: bed.project, bucket: BUCKET },
    };
  };
  const watch = async (): Promise<StepResult> => runStep(await watcherOptions());

  /** The inline part of the reusable workflow after the launches: collect, then report. */
  const collectAndReport = async (runId: string, experiments: string): Promise<StepResult> => {
    const resultsPath = path.join(await mkdtemp(path.join(bed.dir, 'collected-')), 'results');
    const c = await step('actions/collect', runId, {
      project: bed.project,
      bucket: BUCKET,
      'run-id': runId,
      experiments,
      path: resultsPath,
    });
    assert.equal(c.conclusion, 'success', log(c));
    const r = await step('actions/report', runId, {
      path: resultsPath,
      project: bed.project,
      bucket: BUCKET,
      'run-id': runId,
      metrics: 'score:higher',
    });
    assert.equal(r.conclusion, 'success', log(r));
    return r;
  };

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    defaultBranch = (
      scheduleEvent('0 3 * * *', { repo: bed.repository }).payload.repository as {
        default_branch: string;
      }
    ).default_branch;
    for (let n = 51; n <= 60; n++) {
      bed.github.addPullRequest({
        repo: bed.repository,
        number: n,
        baseRef: defaultBranch,
        baseSha: 'b'.repeat(40),
      });
    }
  });

  after(async () => {
    await bed.close();
  });

  it('detach: true returns right after creating the VM, with the pending record written', async () => {
    const started = Date.now();
    const r = await launch('5001', 'quick', `sleep 30; ${METRICS}`, { detach: 'true' });
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.status, 'detached');
    assert.ok(Date.now() - started < 25_000, 'it did not wait for the experiment');
    const vm = instanceName('5001', 'quick', 1);
    assert.equal(r.outputs['vm-name'], vm);
    assert.equal(status(vm), 'RUNNING', 'the post step left the VM running');
    assert.ok(r.post, 'the post step ran');
    assert.doesNotMatch(r.post.log.join('\n'), /Deleting/);
    const record = json('runs/5001/detached/quick.json');
    assert.equal(record.instance, vm);
    assert.equal(record.zone, 'us-central1-a');
    assert.equal(record.reason, 'detach');
    assert.ok(Date.parse(String(record.deadline)) > Date.parse(String(record.createdAt)) + 30 * 60_000);
    const run = json('runs/5001/run.json');
    assert.equal(run.repository, bed.repository);
    assert.equal(run.prNumber, 51);
    assert.ok(object('detached-runs/5001.json'), 'the run is in the watcher index');
    assert.match(r.summary ?? '', /quick.*\*\*detached\*\*/);
  });

  it('a 9-hour experiment hands over at the wait limit: exit 0, status detached, the VM keeps running', async () => {
    const r = await launch('5002', 'train', `echo training; sleep ${9 * HOUR_S}; ${METRICS}`, {
      'wait-timeout-minutes': String((6 * HOUR_S) / 60),
    });
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.status, 'detached');
    assert.match(log(r), /handing it over/);
    assert.match(r.summary ?? '', /train.*\*\*detached\*\*.*handed over/);
    const vm = instanceName('5002', 'train', 1);
    assert.equal(status(vm), 'RUNNING');
    assert.equal(json('runs/5002/detached/train.json').reason, 'handover');

    // The rest of the workflow run: the inline report comments what there is and leaves the run to the watcher.
    const inline = await collectAndReport('5002', 'train');
    assert.match(inline.summary ?? '', /1 experiment\(s\) still running detached/);
    assert.equal(botComments('5002').length, 1);
    assert.match(botComments('5002')[0]?.body ?? '', /running detached on gcem-/);
    assert.equal(object('runs/5002/report.lock'), undefined, 'the partial report released its lock');

    // A scheduled watcher run before the experiment ends only waits.
    const early = await watch();
    assert.equal(early.conclusion, 'success', log(early));
    assert.match(log(early), /run 5002: 1 of 1 detached experiment\(s\) still running \(train\)/);
    assert.equal(status(vm), 'RUNNING');

    await until('the experiment to finish on its VM', () =>
      object('runs/5002/experiments/train/status.json'),
    );
    const inlineArtifacts = artifactsNamed('gce-matrix-5002').length;
    const inlineReports = artifactsNamed('gce-matrix-report-5002').length;
    const w = await watch();
    assert.equal(w.conclusion, 'success', log(w));
    assert.match(log(w), /run 5002: 1 experiment\(s\) collected and reported/);
    const comments = botComments('5002');
    assert.equal(comments.length, 1, 'the watcher updated the one comment');
    const body = comments[0]?.body ?? '';
    assert.match(body, /1 experiment\(s\), \*\*1 succeeded\*\*, 0 failed, 0 missing/);
    assert.match(body, /score/);
    assert.doesNotMatch(body, /still running detached/);
    assert.equal(artifactsNamed('gce-matrix-5002').length, inlineArtifacts + 1, 'the watcher uploaded one');
    // And the final HTML report, an artifact of the watcher's run, which the comment now links.
    assert.equal(artifactsNamed('gce-matrix-report-5002').length, inlineReports + 1);
    assert.match(
      body,
      /\nFull report \(HTML, with charts and trends\): artifact \[gce-matrix-report-5002\]\(\S+\/actions\/runs\/91\d\d#artifacts\)\.\n/,
    );
    const html = bed.artifacts.filesOf('gce-matrix-report-5002').get('report.html')?.toString('utf8') ?? '';
    assert.match(html, /<title>[^<]* · 5002<\/title>/);
    assert.match(html, /<dt>succeeded<\/dt><dd>1<\/dd>/);
    assert.doesNotMatch(html, /still running detached/, 'the final report, not the inline partial one');
    assert.ok(object('runs/5002/reported.json'));
    assert.equal(object('detached-runs/5002.json'), undefined, 'the run left the index');
    await until('the VM to be gone', () => status(vm) === 'DELETED');

    // Later passes leave the reported run alone.
    const later = await watch();
    assert.doesNotMatch(log(later), /run 5002/);
    assert.equal(botComments('5002').length, 1);
  });

  it('two watchers at once produce one report, one comment and one artifact', async () => {
    const r = await launch('5003', 'fast', METRICS, { detach: 'true' });
    assert.equal(r.outputs.status, 'detached', log(r));
    await until('the experiment to finish', () => object('runs/5003/experiments/fast/status.json'));
    const [a, b] = [startStep(await watcherOptions()), startStep(await watcherOptions())];
    const results = await Promise.all([a.result, b.result]);
    for (const x of results) assert.equal(x.conclusion, 'success', log(x));
    const reported = results.filter((x) => /run 5003: 1 experiment\(s\) collected and reported/.test(log(x)));
    assert.equal(reported.length, 1, results.map(log).join('\n----\n'));
    assert.equal(botComments('5003').length, 1);
    assert.equal(artifactsNamed('gce-matrix-5003').length, 1);
  });

  it('reports a VM that died without a status as lost, with its serial console, at the next pass', async () => {
    const hang = 'echo "working on it"; sleep 600';
    for (const id of ['killed', 'vanished']) {
      const r = await launch('5004', id, hang, { detach: 'true' });
      assert.equal(r.outputs.status, 'detached', log(r));
      await until(`${id} to start`, () => object(`runs/5004/experiments/${id}/attempts/1/log/000001.txt`));
    }
    const waiting = await watch();
    assert.match(log(waiting), /run 5004: 2 of 2 detached experiment\(s\) still running/);
    await bed.compute.killSilently(instanceName('5004', 'killed', 1));
    await bed.compute.killSilently(instanceName('5004', 'vanished', 1), { disappear: true });

    const w = await watch();
    assert.equal(w.conclusion, 'success', log(w));
    assert.match(log(w), /run 5004: 2 experiment\(s\) collected and reported, 2 lost/);
    const body = botComments('5004')[0]?.body ?? '';
    assert.match(body, /2 experiment\(s\), \*\*0 succeeded\*\*, 0 failed, 2 missing \(\*\*2 lost\*\*\)/);
    assert.match(
      body,
      /killed.*💀 lost.*is TERMINATED without having written a status.*serial console tail:/,
    );
    assert.match(
      body,
      /vanished.*💀 lost.*vanished without writing a status.*serial console could not be read/,
    );
    assert.match(body, /gce-matrix-agent/, 'the serial console tail is in the report');
    assert.equal(status(instanceName('5004', 'killed', 1)), 'DELETED', 'the watcher deleted the dead VM');
  });

  it('skips a corrupt run record and one from a newer version with a clear message, and reports a good run', async () => {
    bed.storage.putObject(BUCKET, 'gce-matrix/detached-runs/6001.json', '{"schema": 1, "runId": "6001"}');
    bed.storage.putObject(BUCKET, 'gce-matrix/runs/6001/run.json', '{"schema": 1, "runId": "6001", "repos');
    bed.storage.putObject(BUCKET, 'gce-matrix/detached-runs/6002.json', '{"schema": 1, "runId": "6002"}');
    bed.storage.putObject(
      BUCKET,
      'gce-matrix/runs/6002/run.json',
      JSON.stringify({ schema: 99, runId: '6002', somethingNew: true }),
    );
    const r = await launch('5005', 'good', METRICS, { detach: 'true' });
    assert.equal(r.outputs.status, 'detached', log(r));
    await until('the experiment to finish', () => object('runs/5005/experiments/good/status.json'));
    const w = await watch();
    assert.equal(w.conclusion, 'success', log(w));
    assert.match(log(w), /gs:\/\/detached-results\/gce-matrix\/runs\/6001\/run\.json is corrupt \(not JSON/);
    assert.match(
      log(w),
      /gs:\/\/detached-results\/gce-matrix\/runs\/6002\/run\.json was written by a newer gce-matrix \(schema 99/,
    );
    assert.match(log(w), /run 5005: 1 experiment\(s\) collected and reported/);
    assert.match(botComments('5005')[0]?.body ?? '', /\*\*1 succeeded\*\*/);
    assert.equal(w.outputs.skipped, '2');
    assert.match(w.summary ?? '', /\| `6001` \| ⚠️ skipped \|/);
  });
  it('reports a run that came from no pull request as one comment on its commit', async () => {
    const sha = 'c0ffee'.padEnd(40, '7');
    const r = await step(
      'actions/launch',
      '5007',
      {
        project: bed.project,
        zones: 'us-central1-a',
        bucket: BUCKET,
        'vm-service-account': bed.vmServiceAccount,
        'run-id': '5007',
        experiment: JSON.stringify({ id: 'nightly', params: { tool: 'a' } }),
        command: METRICS,
        'heartbeat-seconds': '1',
        'log-interval-seconds': '1',
        detach: 'true',
        source: 'none',
      },
      {
        event: scheduleEvent('0 3 * * *', { repo: bed.repository }),
        context: {
          repository: bed.repository,
          runId: '5007',
          sha,
          ref: 'refs/heads/main',
          token: bed.github.defaultToken,
          workflow: 'nightly',
        },
      },
    );
    assert.equal(r.outputs.status, 'detached', log(r));
    assert.equal(json('runs/5007/run.json').prNumber, null);
    await until('the experiment to finish', () => object('runs/5007/experiments/nightly/status.json'));
    const w = await watch();
    assert.equal(w.conclusion, 'success', log(w));
    assert.match(log(w), /run 5007: 1 experiment\(s\) collected and reported/);
    assert.match(log(w), /Created the report comment on commit c0ffee777777/);
    const comments = bed.github.commitComments(bed.repository, sha);
    assert.equal(comments.length, 1);
    assert.match(comments[0].body, /\*\*1 succeeded\*\*/);
    await watch();
    assert.equal(bed.github.commitComments(bed.repository, sha).length, 1, 'a later pass adds nothing');
  });
});
