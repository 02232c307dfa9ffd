/**
 * The check before the first VM: machine type, zones, image and accelerators asked of the Compute Engine
 * stand-in, in process through the real clients and through the bundled actions/launch.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock.ts';
import { ConfigurationError } from '../../src/errors.ts';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { ComputeApi } from '../../src/gcp/compute.ts';
import { parseLaunchInputs } from '../../src/launch/inputs.ts';
import { checkComputeResources, checkEachExperiment } from '../../src/launch/preflight.ts';
import type { LaunchSettings } from '../../src/launch/settings.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import { bedClients } from '../bed/scenario.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launchDir = path.join(root, 'actions/launch');
const BUCKET = 'preflight-results';
const RUN_ID = '9101';

describe('checkComputeResources against the Compute Engine stand-in', () => {
  let bed: TestBed;
  let clients: GcpClients;
  let compute: ComputeApi;
  let warnings: string[];
  let infos: string[];
  const log = { info: (m: string) => infos.push(m), warning: (m: string) => warnings.push(m) };

  before(async () => {
    bed = await startTestBed();
    clients = bedClients(bed).clients;
  });
  after(async () => {
    await clients.close();
    await bed.close();
  });

  /** Settings as actions/launch parses them, with `inputs` over a minimal set. */
  const settings = (inputs: Record<string, string> = {}): LaunchSettings => {
    const all: Record<string, string> = {
      project: bed.project,
      zones: 'us-central1-a, us-central1-b',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      experiment: JSON.stringify({ id: 'pre-1', params: {} }),
      command: 'true',
      ...inputs,
    };
    return parseLaunchInputs((name) => all[name] ?? '', {
      runId: RUN_ID,
      runAttempt: 1,
      repository: bed.repository,
      sha: 'c0ffee',
      defaultProject: bed.project,
    });
  };

  /** Runs the check with a fresh request counter and log. */
  const check = (s: LaunchSettings): Promise<LaunchSettings> => {
    compute = new ComputeApi(clients, systemClock);
    warnings = [];
    infos = [];
    return checkComputeResources(s, compute, log);
  };

  const inserts = (): number => bed.recorder.of('compute', 'POST', /\/instances$/).length;

  /** Asserts that the check refuses `s` with a ConfigurationError whose message matches `message`. */
  const refuses = async (s: LaunchSettings, message: RegExp): Promise<void> => {
    const before = inserts();
    await assert.rejects(check(s), (err: unknown) => {
      assert.ok(err instanceof ConfigurationError, String(err));
      assert.match(err.message, message);
      return true;
    });
    assert.equal(inserts(), before, 'no VM insert');
  };

  it('passes good settings unchanged with one machine type get per zone and one image get', async () => {
    const s = settings();
    const checked = await check(s);
    assert.deepEqual(checked.zones, ['us-central1-a', 'us-central1-b']);
    assert.equal(compute.counter.compute, 3);
    assert.deepEqual(
      bed.recorder
        .of('compute')
        .slice(-3)
        .map((r) => r.path.replace(/^\/compute\/v1\//, ''))
        .sort(),
      [
        'projects/bed-project/zones/us-central1-a/machineTypes/e2-standard-2',
        'projects/bed-project/zones/us-central1-b/machineTypes/e2-standard-2',
        'projects/debian-cloud/global/images/family/debian-12',
      ],
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(infos, ['Image family debian-12 of debian-cloud is debian-12-bookworm-v20250212.']);
  });

  it('refuses a machine type no zone offers, naming input machine-type and the zones', async () => {
    await refuses(
      settings({ 'machine-type': 'e2-imaginary-7' }),
      /^input machine-type \(e2-imaginary-7\) is offered in none of the zones us-central1-a, us-central1-b; choose a machine type these zones offer/,
    );
  });

  it('leaves out a zone without the machine type, with a warning', async () => {
    const checked = await check(
      settings({ 'machine-type': 'g2-standard-4', zones: 'us-central1-f, us-central1-a, us-east1-d' }),
    );
    assert.deepEqual(checked.zones, ['us-central1-a', 'us-east1-d']);
    assert.deepEqual(warnings, [
      'Leaving out zone us-central1-f: it does not offer machine type g2-standard-4.',
    ]);
  });

  it('accepts a custom machine type and refuses a shape its series does not allow, in Compute Engine words', async () => {
    assert.deepEqual((await check(settings({ 'machine-type': 'custom-2-4096' }))).zones, [
      'us-central1-a',
      'us-central1-b',
    ]);
    await refuses(
      settings({ 'machine-type': 'custom-3-4096' }),
      /^input machine-type \(custom-3-4096\) is offered in none of the zones .*\(Compute Engine: .*1 or an even number up to 96 vCPUs/,
    );
  });

  it('refuses a zone that does not exist, naming it and input zones', async () => {
    await refuses(
      settings({ zones: 'us-central1-a, us-east1-a' }),
      /^input zones: zone us-east1-a does not exist in Compute Engine \(project bed-project\)/,
    );
  });

  it('refuses an unknown image and an unknown image family, naming input image', async () => {
    await refuses(
      settings({ image: 'projects/debian-cloud/global/images/debian-99-v1' }),
      /^input image projects\/debian-cloud\/global\/images\/debian-99-v1: Compute Engine has no image debian-99-v1 of project debian-cloud; correct the name/,
    );
    await refuses(
      settings({ image: 'projects/debian-cloud/global/images/family/debian-99' }),
      /^input image .*: Compute Engine has no image family debian-99 of project debian-cloud/,
    );
    await refuses(
      settings({ image: 'debian-12' }),
      /^input image "debian-12" is not an image or an image family/,
    );
    assert.equal(compute.counter.compute, 0, 'a malformed image is refused without a request');
  });

  it('refuses an image the launching identity may not read, saying which role to grant', async () => {
    await refuses(
      settings({ image: 'projects/someone-elses-project/global/images/family/tools' }),
      /^input image projects\/someone-elses-project\/global\/images\/family\/tools: the launching identity may not read image family tools of project someone-elses-project \(Required 'compute\.images\.getFromFamily' permission for .*\); grant it roles\/compute\.imageUser on project someone-elses-project/,
    );
  });

  it('accepts an image of its own project, and warns about a deprecated one', async () => {
    // As the README says for images of one's own project, beyond its least-privilege setup.
    bed.iam.grant(
      `projects/${bed.project}`,
      `serviceAccount:${bed.serviceAccount}`,
      'roles/compute.imageUser',
    );
    bed.compute.addImage({
      name: 'bench-base-v1',
      family: 'bench-base',
      description: 'bench tools',
      created: '2025-03-01T00:00:00.000-08:00',
      diskSizeGb: 20,
    });
    await check(settings({ image: 'global/images/family/bench-base' }));
    assert.deepEqual(infos, ['Image family bench-base of bed-project is bench-base-v1.']);
    await check(settings({ image: 'projects/debian-cloud/global/images/debian-12-bookworm-v20250113' }));
    assert.match(
      warnings.join('\n'),
      /debian-12-bookworm-v20250113 is deprecated; its replacement is projects\/debian-cloud\/global\/images\/debian-12-bookworm-v20250212/,
    );
  });

  it('refuses an accelerator that none of the zones offers, naming input accelerators', async () => {
    await refuses(
      settings({ 'machine-type': 'n1-standard-4', zones: 'us-central1-f', accelerators: 'nvidia-l4:1' }),
      /^input accelerators: nvidia-l4 is offered in none of the zones us-central1-f; list zones that offer it/,
    );
  });

  it('refuses more cards than Compute Engine attaches to one VM', async () => {
    await refuses(
      settings({ 'machine-type': 'n1-standard-8', accelerators: 'nvidia-tesla-t4:8' }),
      /^input accelerators: 8 × nvidia-tesla-t4 on one VM; Compute Engine attaches at most 4/,
    );
  });

  it('leaves out a zone without the accelerator, with one accelerator get per zone', async () => {
    const checked = await check(
      settings({
        'machine-type': 'n1-standard-4',
        zones: 'us-east1-b, us-central1-a',
        accelerators: 'nvidia-tesla-t4:2',
      }),
    );
    assert.deepEqual(checked.zones, ['us-central1-a']);
    assert.deepEqual(warnings, ['Leaving out zone us-east1-b: it has no nvidia-tesla-t4 accelerators.']);
    assert.equal(compute.counter.compute, 2 + 1 + 2);
  });

  it('checks each distinct VM of a run once, filling zones from the region', async () => {
    compute = new ComputeApi(clients, systemClock);
    warnings = [];
    infos = [];
    const a = settings({ zones: '', region: 'europe-west4' });
    const b = { ...a, experiment: { id: 'pre-2', params: {} } };
    const checked = await checkEachExperiment([a, b], compute, log);
    assert.deepEqual(
      checked.map((s) => s.zones),
      [
        ['europe-west4-a', 'europe-west4-b', 'europe-west4-c'],
        ['europe-west4-a', 'europe-west4-b', 'europe-west4-c'],
      ],
    );
    assert.equal(compute.counter.compute, 1 + 3 + 1, 'one zone list, three machine type gets, one image get');
  });
});

describe('actions/launch checks machine type, zones, image and accelerators before any VM (real bundle)', () => {
  let bed: TestBed;

  const step = (inputs: Record<string, string>): StepOptions => ({
    actionDir: launchDir,
    event: workflowDispatchEvent({}, { repo: bed.repository }),
    context: { repository: bed.repository, runId: RUN_ID, runAttempt: '1', sha: 'c0ffee' },
    env: bed.env,
    inputs: {
      project: bed.project,
      zones: 'us-central1-a, us-central1-b',
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'heartbeat-seconds': '1',
      'log-interval-seconds': '1',
      'timeout-minutes': '5',
      source: 'none',
      ...inputs,
    },
    sigintGraceMs: 2000,
    sigtermGraceMs: 1000,
  });
  const log = (r: StepResult): string => r.jobLog.join('\n');
  const error = (r: StepResult): string => r.annotations.find((a) => a.level === 'error')?.message ?? '';
  const inserts = (): number => bed.recorder.of('compute', 'POST', /\/instances$/).length;

  /** Runs the step and asserts it failed with `message`, made no VM and left its post step nothing to do. */
  const refused = async (inputs: Record<string, string>, message: RegExp): Promise<void> => {
    const before = inserts();
    const r = await runStep(
      step({ experiment: JSON.stringify({ id: 'refused', params: {} }), command: 'true', ...inputs }),
    );
    assert.equal(r.conclusion, 'failure', log(r));
    assert.match(error(r), message);
    assert.equal(inserts(), before, 'no VM insert');
    assert.deepEqual(r.post?.log.filter((l) => l.trim() !== '') ?? [], []);
  };

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
  });
  after(async () => {
    await bed.close();
  });

  it('refuses an unknown machine type, naming input machine-type and the zones', async () => {
    await refused(
      { 'machine-type': 'e2-imaginary-7' },
      /^gce-matrix launch: input machine-type \(e2-imaginary-7\) is offered in none of the zones us-central1-a, us-central1-b/,
    );
  });

  it('refuses a zone that does not exist', async () => {
    await refused({ zones: 'us-central1-a, us-east1-a' }, /input zones: zone us-east1-a does not exist/);
  });

  it('refuses an unknown image family', async () => {
    await refused(
      { image: 'projects/debian-cloud/global/images/family/debian-99' },
      /input image .*: Compute Engine has no image family debian-99 of project debian-cloud/,
    );
  });

  it('refuses an accelerator no zone offers, and too many cards', async () => {
    await refused(
      { 'machine-type': 'n1-standard-4', zones: 'us-central1-f', accelerators: 'nvidia-l4:1' },
      /input accelerators: nvidia-l4 is offered in none of the zones us-central1-f/,
    );
    await refused(
      { 'machine-type': 'n1-standard-8', accelerators: 'nvidia-tesla-t4:8' },
      /input accelerators: 8 × nvidia-tesla-t4 on one VM; Compute Engine attaches at most 4/,
    );
  });

  it('runs in the zones that offer the machine type, warning about the one left out', async () => {
    const r = await runStep(
      step({
        experiment: JSON.stringify({ id: 'left-out', params: {} }),
        command: 'echo ran',
        'machine-type': 'g2-standard-4',
        zones: 'us-central1-f, us-central1-a',
      }),
    );
    assert.equal(r.conclusion, 'success', log(r));
    assert.equal(r.outputs.zone, 'us-central1-a');
    assert.ok(
      r.annotations.some(
        (a) =>
          a.level === 'warning' &&
          a.message === 'Leaving out zone us-central1-f: it does not offer machine type g2-standard-4.',
      ),
      JSON.stringify(r.annotations),
    );
    const zonesInserted = bed.recorder
      .of('compute', 'POST', /\/instances$/)
      .filter((q) => q.bodyText.includes('left-out'))
      .map((q) => /\/zones\/([^/]+)\/instances$/.exec(q.path)?.[1]);
    assert.deepEqual(zonesInserted, ['us-central1-a']);
  });
});
