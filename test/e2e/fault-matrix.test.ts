import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { CollectedStatus, Manifest, ManifestExperiment } from '../../src/collect/manifest.ts';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects } from '../../src/layout.ts';
import { experimentKey, instanceName, labelValue } from '../../src/naming.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { BedRequest, RecordedRequest } from '../bed/http.ts';
import { googleError } from '../bed/http.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepOptions, StepResult, StepRun } from '../bed/step-runner.ts';
import { runStep, startStep } from '../bed/step-runner.ts';
import { TOOLS } from '../fixtures/rest-study.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'fault-matrix-results';
const RUN_ID = '6120';
const SHA = 'fa17'.padEnd(40, '0');
const MAX_PARALLEL = 8;
// `lang.tool` and `lang_tool` give two experiment ids whose label values are one and the same.
const SERVICES = [
  'petclinic',
  'features',
  'ncs',
  'scs',
  'news',
  'ocvn',
  'proxyprint',
  'lang.tool',
  'lang_tool',
];
const STEPS = 3;
const BIG_CHECKPOINT = 40 * 1024 * 1024;
const loc = { bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID };
const EXPERIMENTS_PREFIX = `gce-matrix/runs/${RUN_ID}/experiments/`;

interface PlannedExperiment {
  id: string;
  params: { tool: string; service: string; seed: number };
}

/** How the common command misbehaves for one experiment. */
interface Behaviour {
  /** On attempt 1, hang after writing this step (until the test disturbs the VM). */
  hangAt?: number;
  /** On attempt 1, exit 3 after the last step (a GitHub re-run of the job then succeeds). */
  failFirst?: boolean;
  /** Write a 40 MB file into the checkpoint before the first step. */
  bigCheckpoint?: boolean;
  /** Seconds to wait before the first step. */
  leadIn?: number;
}

type Role = 'upload-fail' | 'rerun' | 'cancelled' | 'partner' | 'preempted' | 'silent';

interface LaunchOutcome {
  status: string;
  exitCode: string;
  attempts: string;
}

/** What must come of an experiment. */
interface Expectation {
  behaviour: Behaviour;
  /** actions/launch's outputs in the run's first attempt; `cancelled`: the job was cancelled. */
  launch: LaunchOutcome | 'cancelled';
  /** actions/launch's outputs when the job is re-run (GitHub run attempt 2). */
  rerun?: LaunchOutcome;
  /** The experiment in collect's manifest. */
  collected: { status: CollectedStatus; exitCode: number | null; attempts: number; reason?: RegExp };
  /** The outputs that reach the bucket and the artifact. */
  outputs: readonly string[];
}

/** A disturbed experiment. */
interface Special extends Expectation {
  tool: string;
  service: string;
}

const ALL_OUTPUTS = ['metrics.json', 'result.csv'] as const;
const SUCCEEDED: LaunchOutcome = { status: 'succeeded', exitCode: '0', attempts: '1' };

const SPECIAL: Readonly<Record<Role, Special>> = {
  // Every upload of its result.csv is answered 503.
  'upload-fail': {
    tool: 'restler',
    service: 'petclinic',
    behaviour: {},
    launch: { status: 'error', exitCode: '0', attempts: '1' },
    collected: {
      status: 'error',
      exitCode: 0,
      attempts: 1,
      reason: /^outputs incomplete: 1 file\(s\) could not be uploaded: result\.csv$/,
    },
    outputs: ['metrics.json'],
  },
  // Fails on its first GitHub run; the job is re-run after the run ended. Launch's `attempts` output counts the
  // attempts the re-run job used (one); the status numbers that attempt 2.
  rerun: {
    tool: 'schemathesis',
    service: 'features',
    behaviour: { failFirst: true },
    launch: { status: 'failed', exitCode: '3', attempts: '1' },
    rerun: { status: 'succeeded', exitCode: '0', attempts: '1' },
    collected: { status: 'succeeded', exitCode: 0, attempts: 2 },
    outputs: ALL_OUTPUTS,
  },
  // Its label values equal its partner's; its job is cancelled while both VMs run.
  cancelled: {
    tool: 'arat-rl',
    service: 'lang.tool',
    behaviour: { hangAt: 1 },
    launch: 'cancelled',
    collected: {
      status: 'error',
      exitCode: null,
      attempts: 1,
      reason: /^the VM was stopped before the command finished$/,
    },
    outputs: [],
  },
  partner: {
    tool: 'arat-rl',
    service: 'lang_tool',
    behaviour: { leadIn: 10 },
    launch: SUCCEEDED,
    collected: { status: 'succeeded', exitCode: 0, attempts: 1 },
    outputs: ALL_OUTPUTS,
  },
  // Spot VM preempted after its periodic sync uploaded the 40 MB checkpoint; its shutdown run is cut short.
  preempted: {
    tool: 'evomaster',
    service: 'ncs',
    behaviour: { hangAt: 2, bigCheckpoint: true },
    launch: { status: 'succeeded', exitCode: '0', attempts: '2' },
    collected: { status: 'succeeded', exitCode: 0, attempts: 2 },
    outputs: ALL_OUTPUTS,
  },
  // Its VM dies without a word.
  silent: {
    tool: 'morest',
    service: 'scs',
    behaviour: { hangAt: 2 },
    launch: { status: 'succeeded', exitCode: '0', attempts: '2' },
    collected: { status: 'succeeded', exitCode: 0, attempts: 2 },
    outputs: ALL_OUTPUTS,
  },
};

const NORMAL: Expectation = {
  behaviour: {},
  launch: SUCCEEDED,
  collected: { status: 'succeeded', exitCode: 0, attempts: 1 },
  outputs: ALL_OUTPUTS,
};

// one repetition: the plan adds seed 1 to every experiment
const idOf = (tool: string, service: string): string => `tool-${tool}_service-${service}_seed-1`;
const specialId = (role: Role): string => idOf(SPECIAL[role].tool, SPECIAL[role].service);

/** The deterministic metric of one pair: the command computes it from its parameters. */
function score(tool: string, service: string): number {
  return (TOOLS.indexOf(tool) + 1) * 10 + SERVICES.indexOf(service) + 1;
}

function resultCsv(tool: string, service: string): string {
  return `tool,service,score\n${tool},${service},${score(tool, service)}\n`;
}

const shellWords = (words: readonly string[]): string => words.map((w) => `'${w}'`).join(' ');

/**
 * The experiment command: a few steps of about a second, each recorded in the checkpoint, resuming from it; then
 * the metrics and result.csv. It prints a step line before recording the step, so a step seen in the bucket's
 * checkpoint has its line in the log already.
 */
function command(b: Behaviour): string {
  const ckpt = '"$GCE_MATRIX_CHECKPOINT_DIR"';
  return [
    'step=0',
    `if [ -f ${ckpt}/step ]; then step=$(cat ${ckpt}/step); echo "resumed at step $step"; fi`,
    ...(b.bigCheckpoint
      ? [`[ -f ${ckpt}/big.bin ] || head -c ${BIG_CHECKPOINT} /dev/urandom > ${ckpt}/big.bin`]
      : []),
    ...(b.leadIn ? [`sleep ${b.leadIn}`] : []),
    `while [ "$step" -lt ${STEPS} ]; do`,
    '  step=$((step + 1))',
    '  echo "step $step of $GCE_MATRIX_EXPERIMENT_ID on attempt $GCE_MATRIX_ATTEMPT"',
    `  echo "$step" > ${ckpt}/step`,
    ...(b.hangAt
      ? [`  if [ "$GCE_MATRIX_ATTEMPT" = 1 ] && [ "$step" = ${b.hangAt} ]; then sleep 300; fi`]
      : []),
    '  sleep 1',
    'done',
    ...(b.bigCheckpoint ? [`echo "big.bin md5 $(md5sum < ${ckpt}/big.bin | cut -d' ' -f1)"`] : []),
    ...(b.failFirst ? ['if [ "$GCE_MATRIX_ATTEMPT" = 1 ]; then echo "failing on purpose"; exit 3; fi'] : []),
    `t=$(printf '%s\\n' ${shellWords(TOOLS)} | grep -nxF -e "$GCE_MATRIX_PARAM_TOOL" | cut -d: -f1)`,
    `s=$(printf '%s\\n' ${shellWords(SERVICES)} | grep -nxF -e "$GCE_MATRIX_PARAM_SERVICE" | cut -d: -f1)`,
    'score=$((t * 10 + s))',
    `printf '{"score": %s}\\n' "$score" > "$GCE_MATRIX_METRICS_FILE"`,
    `printf 'tool,service,score\\n%s,%s,%s\\n' "$GCE_MATRIX_PARAM_TOOL" "$GCE_MATRIX_PARAM_SERVICE" "$score" > "$GCE_MATRIX_OUTPUT_DIR/result.csv"`,
  ].join('\n');
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** At most `size` units at once, granted in request order (a GitHub matrix's max-parallel). */
class Slots {
  private free: number;
  private readonly waiting: { n: number; go: () => void }[] = [];
  peak = 0;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
    this.free = size;
  }

  async use<T>(n: number, task: () => Promise<T>): Promise<T> {
    if (this.waiting.length > 0 || this.free < n) {
      await new Promise<void>((go) => this.waiting.push({ n, go }));
    } else {
      this.free -= n;
    }
    this.peak = Math.max(this.peak, this.size - this.free);
    try {
      return await task();
    } finally {
      this.free += n;
      while (this.waiting.length > 0 && this.free >= this.waiting[0].n) {
        const next = this.waiting.shift()!;
        this.free -= next.n;
        next.go();
      }
    }
  }
}

/** The object name an agent upload request writes (`uploadType=media&name=...`). */
const uploadedName = (r: RecordedRequest): string | undefined =>
  r.path.startsWith('/upload/') ? r.query.name : undefined;

/** Whether a request downloads object media of a name that `pick` accepts. */
function mediaGet(pick: (name: string) => boolean): (req: BedRequest) => boolean {
  return (req) => {
    if (req.method !== 'GET' || req.url.searchParams.get('alt') !== 'media') return false;
    const m = /\/o\/(.+)$/.exec(decodeURIComponent(req.url.pathname));
    return m !== null && pick(m[1]);
  };
}

const UNAVAILABLE = googleError(503, 'backendError', 'Backend Error');

describe('fault matrix: 54 experiments with every fault at once, nothing lost, nothing mixed', () => {
  let bed: TestBed;
  let planned: PlannedExperiment[] = [];
  const firstRuns = new Map<string, StepResult>();
  let rerun: StepResult | undefined;
  let silentNoticedMs = Number.NaN;
  let slots = new Slots(MAX_PARALLEL);
  let collect: StepResult | undefined;
  let manifest: Manifest | undefined;
  let artifact = new Map<string, Buffer>();

  const roleOf = (id: string): Role | undefined =>
    (Object.keys(SPECIAL) as Role[]).find((role) => specialId(role) === id);
  const expectationOf = (id: string): Expectation => {
    const role = roleOf(id);
    return role ? SPECIAL[role] : NORMAL;
  };
  const objects = (id: string) => experimentObjects(loc, id);
  const text = (name: string): string | undefined => bed.storage.getObject(BUCKET, name)?.data.toString();
  const log = (r: StepResult): string => r.jobLog.join('\n');
  const outcome = (r: StepResult): LaunchOutcome => ({
    status: r.outputs.status ?? '',
    exitCode: r.outputs['exit-code'] ?? '',
    attempts: r.outputs.attempts ?? '',
  });
  const liveInstances = (): string[] =>
    bed.compute
      .listAll()
      .filter((i) => i.status !== 'DELETED')
      .map((i) => i.name);
  const experimentOf = (id: string): ManifestExperiment => {
    const e = manifest?.experiments.find((x) => x.id === id);
    assert.ok(e, `the manifest lists ${id}`);
    return e;
  };
  /** Attempt N's log as the artifact holds it: log.txt for the last attempt, attempt-N/log.txt before it. */
  const artifactLog = (id: string, attempt: number): string | undefined => {
    const last = expectationOf(id).collected.attempts;
    return artifact.get(attempt === last ? `${id}/log.txt` : `${id}/attempt-${attempt}/log.txt`)?.toString();
  };

  const launchStep = (e: PlannedExperiment, runAttempt = '1'): StepOptions => {
    const role = roleOf(e.id);
    return {
      actionDir: path.join(root, 'actions/launch'),
      event: workflowDispatchEvent({}, { repo: bed.repository }),
      context: { repository: bed.repository, runId: RUN_ID, runAttempt, sha: SHA },
      env: bed.env,
      inputs: {
        project: bed.project,
        zones: 'us-central1-a',
        bucket: BUCKET,
        'vm-service-account': bed.vmServiceAccount,
        'run-id': RUN_ID,
        experiment: JSON.stringify(e),
        command: command(expectationOf(e.id).behaviour),
        'heartbeat-seconds': '1',
        'log-interval-seconds': '1',
        'checkpoint-interval': '1',
        'timeout-minutes': '5',
        // the command needs no code of the repository; test/e2e/source.test.ts covers the snapshot
        source: 'none',
        ...(role === 'preempted' ? { provisioning: 'spot' } : {}),
      },
      sigintGraceMs: 2000,
      sigtermGraceMs: 1000,
    };
  };

  /** Waits until attempt 1 of `id` has shipped the line of step `n` and synced that step into the checkpoint. */
  const reachedStep = (id: string, n: number) => async (): Promise<void> => {
    const o = objects(id);
    await until(`${id} to reach step ${n}`, () => {
      const logText = bed.storage
        .listObjects(BUCKET, o.logs(1))
        .map((c) => text(c.name) ?? '')
        .join('');
      return text(`${o.checkpoint}step`) === `${n}\n` && logText.includes(`step ${n} of ${id} on attempt 1`);
    });
  };

  async function preempted(e: PlannedExperiment): Promise<StepResult> {
    const run = startStep(launchStep(e));
    const o = objects(e.id);
    await until(
      'the periodic sync to upload the 40 MB checkpoint',
      () => bed.storage.getObject(BUCKET, `${o.checkpoint}big.bin`)?.data.length === BIG_CHECKPOINT,
    );
    await reachedStep(e.id, 2)();
    const budget = bed.compute.preemptionBudgetMs;
    bed.compute.preemptionBudgetMs = 300;
    try {
      await bed.compute.preempt(instanceName(RUN_ID, e.id, 1));
    } finally {
      bed.compute.preemptionBudgetMs = budget;
    }
    return run.result;
  }

  async function silent(e: PlannedExperiment): Promise<StepResult> {
    const run = startStep(launchStep(e));
    await reachedStep(e.id, 2)();
    const killedAt = Date.now();
    await bed.compute.killSilently(instanceName(RUN_ID, e.id, 1));
    const second = instanceName(RUN_ID, e.id, 2);
    await until('the second attempt of the silent VM', () =>
      bed.recorder.of('compute', 'POST', /\/instances$/).some((q) => q.bodyText.includes(`"${second}"`)),
    );
    silentNoticedMs = Date.now() - killedAt;
    return run.result;
  }

  /** The colliding pair, at the same time: the cancelled one is cancelled while both VMs run. */
  async function collision(cancelled: PlannedExperiment, partner: PlannedExperiment): Promise<StepResult[]> {
    const runs: StepRun[] = [startStep(launchStep(cancelled)), startStep(launchStep(partner))];
    const [mine, theirs] = [instanceName(RUN_ID, cancelled.id, 1), instanceName(RUN_ID, partner.id, 1)];
    await until('both colliding VMs to run', () => [mine, theirs].every((n) => liveInstances().includes(n)));
    await reachedStep(cancelled.id, 1)();
    assert.equal(text(objects(partner.id).status), undefined, 'the partner is still running');
    runs[0].cancel();
    const r = await runs[0].result;
    assert.ok(liveInstances().includes(theirs), "cancelling one job leaves the partner's VM alone");
    assert.ok(!liveInstances().includes(mine));
    return [r, await runs[1].result];
  }

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
  });

  after(async () => {
    await bed.close();
  });

  it('plans 6 tools x 9 services, two of whose ids collide after label rewriting', async () => {
    const plan = await runStep({
      actionDir: root,
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: workflowDispatchEvent({}, { repo: bed.repository }),
      context: { repository: bed.repository, runId: RUN_ID, sha: SHA, token: bed.github.defaultToken },
      env: bed.env,
      inputs: { spec: JSON.stringify({ axes: { tool: TOOLS, service: SERVICES } }) },
    });
    assert.equal(plan.conclusion, 'success', log(plan));
    assert.equal(plan.outputs.count, '54');
    assert.equal(plan.outputs['run-id'], RUN_ID);
    const matrix = JSON.parse(plan.outputs.matrix ?? '') as { include: { experiment: PlannedExperiment }[] };
    planned = matrix.include.map((m) => m.experiment);
    assert.deepEqual(
      planned.map((e) => e.id).sort(),
      TOOLS.flatMap((t) => SERVICES.map((s) => idOf(t, s))).sort(),
    );
    const [a, b] = [specialId('cancelled'), specialId('partner')];
    assert.equal(labelValue(a), labelValue(b), 'the two ids share their label value');
    assert.notEqual(instanceName(RUN_ID, a, 1), instanceName(RUN_ID, b, 1));
  });

  it(`launches all 54, ${MAX_PARALLEL} at a time, with every fault injected`, async (t) => {
    assert.equal(planned.length, 54, 'needs the plan');
    const began = Date.now();
    const failing = `${objects(specialId('upload-fail')).outputs}result.csv`;
    const withdraw = bed.recorder.inject({
      service: 'storage',
      method: 'POST',
      when: (req) => req.url.pathname.startsWith('/upload/') && req.url.searchParams.get('name') === failing,
      times: 1000,
      status: 503,
      body: UNAVAILABLE,
    });
    const byRole = (role: Role): PlannedExperiment => planned.find((e) => e.id === specialId(role))!;
    const one = async (e: PlannedExperiment): Promise<void> => {
      const role = roleOf(e.id);
      const r =
        role === 'preempted'
          ? await preempted(e)
          : role === 'silent'
            ? await silent(e)
            : await runStep(launchStep(e));
      firstRuns.set(e.id, r);
    };
    slots = new Slots(MAX_PARALLEL);
    const pair = [byRole('cancelled'), byRole('partner')] as const;
    // The long ones first, so that the others run beside them.
    const first = (['preempted', 'silent', 'upload-fail', 'rerun'] as const).map(byRole);
    const rest = planned.filter((e) => !roleOf(e.id));
    try {
      await Promise.all([
        slots.use(2, async () => {
          const [r0, r1] = await collision(...pair);
          firstRuns.set(pair[0].id, r0);
          firstRuns.set(pair[1].id, r1);
        }),
        ...[...first, ...rest].map((e) => slots.use(1, () => one(e))),
      ]);
    } finally {
      withdraw();
    }
    t.diagnostic(
      `54 launches in ${Math.round((Date.now() - began) / 1000)} s, ${slots.peak} at most at once`,
    );
    assert.ok(slots.peak <= MAX_PARALLEL, `at most ${MAX_PARALLEL} jobs at once (saw ${slots.peak})`);
    assert.equal(firstRuns.size, 54);

    for (const e of planned) {
      const r = firstRuns.get(e.id)!;
      const want = expectationOf(e.id).launch;
      if (want === 'cancelled') {
        assert.equal(r.cancelled, true, log(r));
      } else {
        assert.deepEqual(outcome(r), want, `${e.id}\n${log(r)}`);
        assert.equal(r.conclusion, want.status === 'succeeded' ? 'success' : 'failure', e.id);
      }
    }
  });

  it('reports the failed output upload by name, and keeps the outputs that did upload', () => {
    const id = specialId('upload-fail');
    const o = objects(id);
    const r = firstRuns.get(id)!;
    assert.match(
      r.annotations.find((a) => a.level === 'error')?.message ?? '',
      /outputs incomplete: .*result\.csv/,
    );
    const tries = bed.recorder
      .of('storage', 'POST')
      .filter((q) => uploadedName(q) === `${o.outputs}result.csv`);
    assert.ok(
      tries.length > 0 && tries.every((q) => q.status === 503),
      'every upload of result.csv was refused',
    );
    assert.equal(text(`${o.outputs}result.csv`), undefined);
    const { tool, service } = SPECIAL['upload-fail'];
    assert.deepEqual(JSON.parse(text(o.metrics) ?? 'null'), { score: score(tool, service) });
    const status = JSON.parse(text(o.status) ?? '{}') as ExperimentStatus;
    assert.deepEqual(
      status.outputs.map((x) => x.path),
      ['metrics.json'],
    );
    assert.match(status.reason ?? '', SPECIAL['upload-fail'].collected.reason!);
    // the file the reason names is the one the command wrote and the bucket never got
    const vm = bed.compute.inspect(instanceName(RUN_ID, id, 1));
    assert.equal(
      readFileSync(path.join(vm!.varTmp, 'gce-matrix', 'output', 'result.csv'), 'utf8'),
      resultCsv(tool, service),
    );
  });

  it('cancels one of the two colliding experiments: only its VM goes, the other succeeds', () => {
    const [a, b] = [specialId('cancelled'), specialId('partner')];
    const [mine, theirs] = [instanceName(RUN_ID, a, 1), instanceName(RUN_ID, b, 1)];
    const post = firstRuns.get(a)!.post?.log.join('\n') ?? '';
    assert.ok(post.includes(`Deleting ${mine}`), post);
    assert.ok(!post.includes(theirs), post);
    const inserted = (name: string) =>
      JSON.parse(
        bed.recorder.of('compute', 'POST', /\/instances$/).find((q) => q.bodyText.includes(`"${name}"`))!
          .bodyText,
      ) as { labels: Record<string, string> };
    const [la, lb] = [inserted(mine).labels, inserted(theirs).labels];
    assert.equal(la['gce-matrix-experiment'], lb['gce-matrix-experiment'], 'the label values collide');
    assert.equal(la['gce-matrix-key'], experimentKey(RUN_ID, a));
    assert.equal(lb['gce-matrix-key'], experimentKey(RUN_ID, b));
    assert.deepEqual(
      bed.recorder
        .of('compute', 'POST', /\/instances$/)
        .filter((q) => q.bodyText.includes(`"${theirs.replace(/-a1$/, '-a2')}"`)),
      [],
      'the partner needed no second VM',
    );
  });

  it('resumes the preempted experiment from the 40 MB checkpoint its periodic sync uploaded once', () => {
    const id = specialId('preempted');
    const o = objects(id);
    const r = firstRuns.get(id)!;
    // cut short, the shutdown run may not even get its preemption record out: then the VM is merely lost
    assert.match(log(r), /was preempted|lost its VM/);
    assert.ok(log(r).includes(`[${id}] resumed at step 2`), log(r));
    const bigUploads = bed.recorder
      .of('storage', 'POST')
      .filter((q) => uploadedName(q) === `${o.checkpoint}big.bin` && q.status === 200);
    assert.equal(bigUploads.length, 1, 'unchanged, the 40 MB file went up once');
    const big = bed.storage.getObject(BUCKET, `${o.checkpoint}big.bin`);
    assert.equal(big?.data.length, BIG_CHECKPOINT);
    const md5 = /big\.bin md5 ([0-9a-f]{32})/.exec(log(r))?.[1];
    assert.equal(
      md5,
      big && Buffer.from(big.resource.md5Hash ?? '', 'base64').toString('hex'),
      'restored intact',
    );
    assert.equal(text(o.attempt(1).status), undefined, 'the cut-short shutdown run wrote no status');
  });

  it('notices the silent VM death within 30 s and resumes on a new VM', (t) => {
    const r = firstRuns.get(specialId('silent'))!;
    assert.match(log(r), /lost its VM/);
    assert.match(log(r), /resumed at step 2/);
    t.diagnostic(`the second attempt was created ${silentNoticedMs} ms after the VM died`);
    assert.ok(silentNoticedMs < 30_000, `noticed after ${silentNoticedMs} ms`);
  });

  it('re-runs the failed job (run attempt 2): attempt 2 succeeds, attempt 1 stays as it was', async () => {
    const id = specialId('rerun');
    const o = objects(id);
    const generations = (prefix: string) =>
      new Map(bed.storage.listObjects(BUCKET, prefix).map((x) => [x.name, x.generation]));
    const rerunFirstObjects = generations(o.attempt(1).prefix);
    assert.ok(rerunFirstObjects.has(o.attempt(1).status));
    assert.ok(rerunFirstObjects.has(`${o.logs(1)}000001.txt`));
    const e = planned.find((x) => x.id === id)!;
    rerun = await runStep(launchStep(e, '2'));
    assert.equal(rerun.conclusion, 'success', log(rerun));
    assert.deepEqual(outcome(rerun), SPECIAL.rerun.rerun);
    assert.equal(rerun.outputs['vm-name'], instanceName(RUN_ID, id, 2));
    assert.match(log(rerun), /attempt 1 ended failed: this run starts clean/);
    assert.doesNotMatch(log(rerun), /resumed at step/);
    assert.deepEqual(generations(o.attempt(1).prefix), rerunFirstObjects, "attempt 1's objects untouched");
    const own = JSON.parse(text(o.attempt(2).status) ?? '{}') as ExperimentStatus;
    assert.deepEqual([own.attempt, own.state], [2, 'succeeded']);
    assert.ok(bed.storage.listObjects(BUCKET, o.logs(2)).length > 0);
  });

  it('collects the run while Cloud Storage answers 503 in bursts: exact counts, every file', async () => {
    assert.ok(rerun, 'needs the launches and the re-run');
    const normal = planned.filter((e) => !roleOf(e.id));
    const targets = [
      objects(normal[0].id).metrics,
      objects(normal[1].id).status,
      `${objects(normal[2].id).outputs}result.csv`,
      `${objects(specialId('preempted')).logs(1)}000001.txt`,
      objects(specialId('upload-fail')).metrics,
    ];
    for (const name of targets) {
      assert.ok(bed.storage.getObject(BUCKET, name), name);
    }
    const hits = new Map<string, number>();
    const withdraw = [
      ...targets.map((name) =>
        bed.recorder.inject({
          service: 'storage',
          when: mediaGet((n) => n === name),
          times: 3,
          status: 503,
          body: UNAVAILABLE,
        }),
      ),
      // a burst over whatever comes next, at most twice per object: collect tries each object 4 times
      bed.recorder.inject({
        service: 'storage',
        when: mediaGet((n) => {
          if (targets.includes(n) || (hits.get(n) ?? 0) >= 2) return false;
          hits.set(n, (hits.get(n) ?? 0) + 1);
          return true;
        }),
        times: 8,
        status: 503,
        body: UNAVAILABLE,
      }),
      bed.recorder.inject({
        service: 'storage',
        method: 'GET',
        when: (req) => /\/b\/[^/]+\/o$/.test(req.url.pathname) && req.url.searchParams.has('prefix'),
        times: 2,
        status: 503,
        body: UNAVAILABLE,
      }),
    ];
    const from = bed.recorder.requests.length;
    try {
      collect = await runStep({
        actionDir: path.join(root, 'actions/collect'),
        workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
        event: workflowDispatchEvent({}, { repo: bed.repository }),
        // the collect job runs again with the re-run of the job it needs
        context: { repository: bed.repository, runId: RUN_ID, runAttempt: '2', sha: SHA },
        env: bed.env,
        inputs: {
          project: bed.project,
          bucket: BUCKET,
          'run-id': RUN_ID,
          experiments: JSON.stringify({ include: planned.map((experiment) => ({ experiment })) }),
        },
      });
    } finally {
      for (const w of withdraw) w();
    }
    const refused = bed.recorder.requests
      .slice(from)
      .filter((q) => q.service === 'storage' && q.status === 503);
    assert.equal(refused.length, targets.length * 3 + 8 + 2, 'every burst was served');
    assert.equal(collect.conclusion, 'success', log(collect));
    assert.deepEqual(
      ['experiments', 'succeeded', 'failed', 'missing', 'problems'].map((k) => collect?.outputs[k]),
      // the two earlier attempts that ended without a status: their logs may lack their last lines
      ['54', '52', '2', '0', '2'],
    );
    manifest = JSON.parse(readFileSync(collect.outputs.manifest, 'utf8')) as Manifest;
    artifact = bed.artifacts.filesOf(`gce-matrix-${RUN_ID}`);
    assert.deepEqual(JSON.parse(artifact.get('manifest.json')?.toString() ?? 'null'), manifest);
    assert.deepEqual(manifest.counts.byStatus, {
      succeeded: 52,
      failed: 0,
      preempted: 0,
      error: 2,
      unfinished: 0,
      missing: 0,
      corrupt: 0,
      lost: 0,
    });
    assert.deepEqual(manifest.problems, []);

    for (const e of planned) {
      const want = expectationOf(e.id);
      const got = experimentOf(e.id);
      const role = roleOf(e.id);
      const abrupt = role === 'preempted' || role === 'silent';
      assert.deepEqual(
        {
          status: got.status,
          exitCode: got.exitCode,
          attempts: got.attempts,
          problems: got.problems.map((p) => ({ kind: p.kind, object: p.object })),
        },
        {
          status: want.collected.status,
          exitCode: want.collected.exitCode,
          attempts: want.collected.attempts,
          problems: abrupt ? [{ kind: 'log-incomplete', object: objects(e.id).attempt(1).prefix }] : [],
        },
        e.id,
      );
      if (want.collected.reason) assert.match(got.reason ?? '', want.collected.reason, e.id);
      else assert.equal(got.reason, undefined, e.id);
      assert.deepEqual(got.params, e.params);
      const { tool, service } = e.params;
      if (want.outputs.includes('metrics.json')) {
        assert.deepEqual(JSON.parse(artifact.get(`${e.id}/outputs/metrics.json`)?.toString() ?? 'null'), {
          score: score(tool, service),
        });
      }
      if (want.outputs.includes('result.csv')) {
        assert.equal(artifact.get(`${e.id}/outputs/result.csv`)?.toString(), resultCsv(tool, service));
      }
      const attempts = want.collected.attempts;
      const expected = [
        `${e.id}/log.txt`,
        `${e.id}/status.json`,
        ...want.outputs.map((f) => `${e.id}/outputs/${f}`),
        ...Array.from({ length: attempts - 1 }, (_, i) => `${e.id}/attempt-${i + 1}/log.txt`),
      ].sort();
      assert.deepEqual(
        [...artifact.keys()].filter((k) => k.startsWith(`${e.id}/`)).sort(),
        expected,
        `the artifact's files of ${e.id}`,
      );
      assert.deepEqual(got.files.map((f) => f.path).sort(), expected);
      checkLogs(e.id, attempts);
    }
    assert.ok(artifact.has('manifest.json') && artifact.has('results.csv'));
    assert.equal(artifact.size, 2 + planned.reduce((n, e) => n + experimentOf(e.id).files.length, 0));
  });

  /** Each log holds its own experiment's steps, in order, for its own attempt; resumptions where expected. */
  function checkLogs(id: string, attempts: number): void {
    const b = expectationOf(id).behaviour;
    for (let a = 1; a <= attempts; a++) {
      const logText = artifactLog(id, a) ?? '';
      const steps = [...logText.matchAll(/^step (\d+) of (\S+) on attempt (\d+)$/gm)];
      assert.ok(
        steps.every((m) => m[2] === id && Number(m[3]) === a),
        `${id} attempt ${a}: only its own lines\n${logText}`,
      );
      const resumedAt = a > 1 && b.hangAt ? b.hangAt : 0;
      const lastStep = a === 1 && b.hangAt ? b.hangAt : STEPS;
      assert.deepEqual(
        steps.map((m) => Number(m[1])),
        Array.from({ length: lastStep - resumedAt }, (_, i) => resumedAt + i + 1),
        `${id} attempt ${a}\n${logText}`,
      );
      assert.equal(/^resumed at step (\d+)$/m.exec(logText)?.[1], resumedAt ? String(resumedAt) : undefined);
      assert.ok(logText.includes(`starting attempt ${a} of experiment ${id} `), `${id} attempt ${a}`);
    }
  }

  it('accounts for every byte any attempt wrote: in the artifact, or named in the manifest', () => {
    assert.ok(manifest, 'needs the collection');
    const problemObjects = new Set(manifest.experiments.flatMap((e) => e.problems.map((p) => p.object)));
    // what an agent last sent under each name (text bodies only are recorded)
    const sent = new Map<string, RecordedRequest>();
    for (const q of bed.recorder.of('storage', 'POST')) {
      const name = uploadedName(q);
      if (name?.startsWith(EXPERIMENTS_PREFIX) && q.status === 200) sent.set(name, q);
    }
    assert.ok(sent.size > 54 * 4);
    const notCollected: RegExp[] = [/^attempts\/\d+\/(heartbeat|status|preempted)\.json$/, /^checkpoint\//];
    const accounted = (name: string): boolean => problemObjects.has(name);
    for (const [name, q] of sent) {
      const [id, rel] = [
        name.slice(EXPERIMENTS_PREFIX.length).split('/')[0],
        name.split('/').slice(5).join('/'),
      ];
      assert.ok(
        planned.some((e) => e.id === id),
        `${name} belongs to a planned experiment`,
      );
      if (notCollected.some((re) => re.test(rel))) continue;
      const stored = bed.storage.getObject(BUCKET, name);
      assert.ok(stored, `${name} is still in the bucket`);
      if (q.bodyText !== '') assert.equal(stored.data.toString(), q.bodyText, `${name} holds what was sent`);
      let m: RegExpExecArray | null;
      if (rel === 'status.json' || rel.startsWith('outputs/')) {
        assert.ok(
          accounted(name) || artifact.get(`${id}/${rel}`)?.equals(stored.data),
          `${name} is in the artifact as it is in the bucket`,
        );
      } else if ((m = /^attempts\/(\d+)\/log\/\d{6}\.txt$/.exec(rel))) {
        const attempt = Number(m[1]);
        const chunks = bed.storage.listObjects(BUCKET, objects(id).logs(attempt));
        assert.ok(chunks.some((c) => c.name === name));
        const joined = Buffer.concat(
          chunks.map((c) => bed.storage.getObject(BUCKET, c.name)!.data),
        ).toString();
        assert.ok(
          accounted(name) || artifactLog(id, attempt) === joined,
          `${id} attempt ${attempt}: the artifact's log is its chunks, joined in order`,
        );
      } else {
        assert.fail(`${name}: an object collect does not know`);
      }
    }
  });

  /** Per attempt: its VM's own log, and the lines of it that are not in the artifact. */
  function unshippedLines(): { id: string; attempt: number; lines: string[] }[] {
    const out: { id: string; attempt: number; lines: string[] }[] = [];
    for (const e of planned) {
      for (let a = 1; a <= expectationOf(e.id).collected.attempts; a++) {
        const vm = bed.compute.inspect(instanceName(RUN_ID, e.id, a));
        assert.ok(vm, `${e.id} attempt ${a} had a VM`);
        const local = readFileSync(path.join(vm.varTmp, 'gce-matrix', `attempt-${a}.log`), 'utf8');
        const shipped = artifactLog(e.id, a) ?? '';
        assert.ok(
          local.startsWith(shipped),
          `${e.id} attempt ${a}: the artifact's log is the VM's, in order`,
        );
        const lines = local
          .slice(shipped.length)
          .split('\n')
          .filter((l) => l !== '' && !l.startsWith('gce-matrix-agent: '));
        out.push({ id: e.id, attempt: a, lines });
      }
    }
    return out;
  }

  it("ships every line the commands printed before a fault, each VM's log in order", () => {
    assert.ok(manifest, 'needs the collection');
    for (const { id, attempt, lines } of unshippedLines()) {
      const cutShort = roleOf(id) === 'preempted' && attempt === 1;
      // Only a complete shutdown run ships what the command's shell prints when it is stopped.
      assert.deepEqual(
        lines.filter((l) => !(cutShort && l === 'Terminated')),
        [],
        `${id} attempt ${attempt}: the command's lines missing from the artifact`,
      );
    }
  });

  it('names in the manifest each attempt that ended without a status, whose log may have lost its end', () => {
    assert.ok(manifest, 'needs the collection');
    const lost = new Map(unshippedLines().map((u) => [`${u.id} ${u.attempt}`, u.lines]));
    for (const e of planned) {
      for (let a = 1; a < expectationOf(e.id).collected.attempts; a++) {
        const own = objects(e.id).attempt(a);
        if (text(own.status) !== undefined) continue;
        assert.ok(
          experimentOf(e.id).problems.some((p) => p.object?.startsWith(own.prefix)),
          `${e.id} attempt ${a} ended without a status (lines its VM never shipped: ` +
            `${JSON.stringify(lost.get(`${e.id} ${a}`))}); the manifest does not say so`,
        );
      }
    }
  });

  it('leaks no VM and deletes none wrongly', () => {
    assert.ok(manifest, 'needs the collection');
    assert.deepEqual(liveInstances(), []);
    const inserts = bed.recorder.of('compute', 'POST', /\/instances$/);
    const insertedNames = inserts.map((q) => (JSON.parse(q.bodyText) as { name: string }).name);
    const expected = planned.flatMap((e) =>
      Array.from({ length: expectationOf(e.id).collected.attempts }, (_, i) =>
        instanceName(RUN_ID, e.id, i + 1),
      ),
    );
    assert.deepEqual(insertedNames.sort(), expected.sort(), 'one VM per attempt, none more');
    for (const e of planned) {
      const role = roleOf(e.id);
      const attempts = expectationOf(e.id).collected.attempts;
      for (let a = 1; a <= attempts; a++) {
        const name = instanceName(RUN_ID, e.id, a);
        const deletes = bed.recorder.of('compute', 'DELETE', new RegExp(`/instances/${name}$`));
        const accepted = deletes.filter((q) => q.status === 200);
        // The agent deletes its own VM and launch deletes it to be sure: the later one finds it going (400) or gone.
        assert.ok(
          deletes.length <= 2 && deletes.every((q) => [200, 400, 404].includes(q.status)),
          `${name}: ${deletes.map((q) => q.status).join(', ')}`,
        );
        // a preempted spot VM is deleted by Compute Engine itself (instanceTerminationAction DELETE)
        const byPreemption = role === 'preempted' && a === 1;
        assert.equal(accepted.length, byPreemption ? 0 : 1, `${name}: deletions that took effect`);
        // these attempts wrote no status of their own before their VM went down
        const abrupt = (role === 'preempted' || role === 'silent') && a === 1;
        if (abrupt || role === 'cancelled') continue;
        const statusWritten = bed.recorder
          .of('storage', 'POST')
          .find((q) => uploadedName(q) === objects(e.id).attempt(a).status && q.status === 200);
        assert.ok(statusWritten, `${e.id} attempt ${a} wrote its status`);
        assert.ok(
          accepted[0].at >= statusWritten.at,
          `${name} was deleted only after its status was written`,
        );
      }
    }
  });
});
