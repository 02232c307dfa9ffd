import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { mapLimited } from '../../src/concurrency.ts';
import type { ExperimentStatus } from '../../src/layout.ts';
import { experimentObjects, parseStatus } from '../../src/layout.ts';
import { instanceName } from '../../src/naming.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { startTestBed } from '../bed/index.ts';
import type { StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';
import { SERVICES, TOOLS } from '../fixtures/rest-study.ts';
import { imageWithEngine } from '../fixtures/engine-image.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUCKET = 'packed-results';
const RUN_ID = '8101';
/** Services whose experiments of the first leg run until their VM is preempted (on their first attempt). */
const SLOW = ['ncs', 'scs'];

interface Leg {
  id: string;
  params: Record<string, never>;
  launch: Record<string, string>;
  members: { id: string; params: { tool: string; service: string } }[];
}

interface LaunchedOutcome {
  id: string;
  status: string;
  attempts: number;
  vms: string[];
  'cost-usd': number;
}

/** The score an experiment must report: a function of its parameters alone. */
function score(tool: string, service: string): number {
  return TOOLS.indexOf(tool) * 10 + SERVICES.indexOf(service);
}

/**
 * Each experiment asks its own service (the bed's web image, a process under the engine stand-in) over the
 * address the agent gives it, and reports a score made of its parameters and whether the service answered.
 */
const COMMAND = [
  'reply=$(curl -fsS "$GCE_MATRIX_SERVICE_API_URL/")',
  // The first leg's first VM: its four experiments wait for each other (they can only all run at once on 4 CPUs),
  // then the slow ones run on until the VM is preempted.
  `if [ "$GCE_MATRIX_ATTEMPT" = 1 ] && [ "$GCE_MATRIX_PARAM_TOOL" = ${TOOLS[0]} ]; then`,
  '  echo "pinned to CPU $GCE_MATRIX_CPUS"; : >"/tmp/started-$GCE_MATRIX_EXPERIMENT_ID"; n=0',
  '  while [ "$(ls /tmp | grep -c "^started-")" -lt 4 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done',
  `  case $GCE_MATRIX_PARAM_SERVICE in ${SLOW.join('|')}) sleep 300 ;; esac`,
  'fi',
  `tools='${TOOLS.join(' ')}'; services='${SERVICES.join(' ')}'`,
  'index() { i=0; for x in $2; do [ "$x" = "$1" ] && echo $i && return; i=$((i + 1)); done; }',
  't=$(index "$GCE_MATRIX_PARAM_TOOL" "$tools"); s=$(index "$GCE_MATRIX_PARAM_SERVICE" "$services")',
  'case $reply in *"web says ready"*) reached=1 ;; *) reached=0 ;; esac',
  'printf \'{"score": %d, "reached": %d, "cpus": "%s"}\' $((t * 10 + s)) "$reached" "$GCE_MATRIX_CPUS" >"$GCE_MATRIX_METRICS_FILE"',
].join('\n');

describe('packing on the test bed: 9 services x 6 tools, 4 per VM (real bundles, real agent)', () => {
  let bed: TestBed;
  /** An image with a container engine, for experiments with services. */
  let engineImage = '';
  const log = (r: StepResult): string => r.jobLog.join('\n');
  const event = () => workflowDispatchEvent({}, { repo: bed.repository });

  const step = async (action: string, inputs: Record<string, string>): Promise<StepResult> =>
    runStep({
      actionDir: path.join(root, action),
      workspace: await mkdtemp(path.join(bed.dir, 'workspace-')),
      event: event(),
      context: { repository: bed.repository, runId: RUN_ID, runAttempt: '1', sha: 'c0ffee'.padEnd(40, '0') },
      env: bed.env,
      inputs,
    });

  const status = (id: string): ExperimentStatus | undefined => {
    const o = experimentObjects({ bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID }, id);
    const text = bed.storage.getObject(BUCKET, o.status)?.data.toString('utf8');
    return text ? parseStatus(text, o.status) : undefined;
  };

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    engineImage = imageWithEngine(bed);
  });

  after(async () => {
    await bed.close();
  });

  it('runs 54 experiments on 14 VMs, each beside its own service; a preempted VM retries only its unfinished experiments', async () => {
    const spec = {
      axes: { tool: TOOLS, service: SERVICES },
      launch: {
        'per-vm': 4,
        resources: { cpus: 1, 'memory-gb': 1 },
        'machine-type': 'e2-standard-4',
        image: engineImage,
        provisioning: 'spot',
        command: COMMAND,
        services: {
          api: { image: 'bed/web:1', env: { MESSAGE: 'ready' }, ports: [8080], health: { cmd: './ready' } },
        },
      },
    };
    const plan = await step('.', { spec: JSON.stringify(spec), 'run-id': RUN_ID });
    assert.equal(plan.conclusion, 'success', log(plan));
    assert.equal(plan.outputs.count, '54');
    assert.equal(plan.outputs.legs, '14');
    const legs = (JSON.parse(plan.outputs.matrix ?? '') as { include: { experiment: Leg }[] }).include.map(
      (m) => m.experiment,
    );
    assert.deepEqual(
      legs.map((l) => l.members.length),
      [...Array<number>(13).fill(4), 2],
    );

    // The first leg's VM is preempted once its two quick experiments are done and its two slow ones still run.
    const first = legs[0];
    const quick = first.members.filter((m) => !SLOW.includes(m.params.service));
    const slow = first.members.filter((m) => SLOW.includes(m.params.service));
    assert.deepEqual([quick.length, slow.length], [2, 2]);
    const preempted = (async () => {
      const deadline = Date.now() + 240_000;
      while (!quick.every((m) => status(m.id)?.state === 'succeeded')) {
        if (Date.now() > deadline) throw new Error('the quick experiments of the first leg never finished');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(
        slow.every((m) => status(m.id) === undefined),
        'the slow ones are still running',
      );
      bed.compute.preemptionBudgetMs = 5000;
      await bed.compute.preempt(instanceName(RUN_ID, first.id, 1));
    })();

    const launched = await mapLimited(legs, 5, async (leg) => {
      const r = await step('actions/launch', {
        project: bed.project,
        zones: 'us-central1-a',
        bucket: BUCKET,
        'vm-service-account': bed.vmServiceAccount,
        'run-id': RUN_ID,
        experiment: JSON.stringify(leg),
        'heartbeat-seconds': '1',
        'log-interval-seconds': '1',
        'timeout-minutes': '5',
        source: 'none',
      });
      assert.equal(r.conclusion, 'success', log(r));
      return { leg, outcomes: JSON.parse(r.outputs.experiments ?? '[]') as LaunchedOutcome[] };
    });
    await preempted;

    // Every experiment's metrics are its own, and it reached its own service.
    for (const leg of legs) {
      for (const m of leg.members) {
        const s = status(m.id);
        assert.equal(s?.state, 'succeeded', m.id);
        const o = experimentObjects({ bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID }, m.id);
        const metrics = JSON.parse(
          bed.storage.getObject(BUCKET, o.metrics)?.data.toString('utf8') ?? '{}',
        ) as {
          score: number;
          reached: number;
          cpus: string;
        };
        assert.equal(metrics.score, score(m.params.tool, m.params.service), m.id);
        assert.equal(metrics.reached, 1, m.id);
        const placement = s?.provenance.placement;
        assert.equal(placement?.packed, true);
        assert.equal(placement?.cpus, metrics.cpus, `${m.id} ran on the CPUs its placement names`);
        assert.match(metrics.cpus, /^[0-3]$/);
        assert.deepEqual(
          [...(placement?.neighbours ?? [])].sort(),
          (s?.attempt === 1 ? leg.members : slow)
            .map((x) => x.id)
            .filter((x) => x !== m.id)
            .sort(),
        );
      }
    }

    // The guest of an e2-standard-4 has 4 CPUs (as its machine type says, not as the host running the bed has):
    // the first leg's four experiments, which waited for each other, ran at once, each on a CPU of its own.
    const firstAttempt = first.members.map((m) => {
      const o = experimentObjects({ bucket: BUCKET, prefix: 'gce-matrix', runId: RUN_ID }, m.id);
      const shipped = bed.storage
        .listObjects(BUCKET, o.logs(1))
        .map((x) => bed.storage.getObject(BUCKET, x.name)?.data.toString('utf8') ?? '')
        .join('');
      return /^pinned to CPU (\S+)$/m.exec(shipped)?.[1];
    });
    assert.deepEqual([...firstAttempt].sort(), ['0', '1', '2', '3']);

    // The preempted leg: its quick experiments kept their one attempt, the slow ones alone ran again.
    const firstOutcomes = launched.find((l) => l.leg.id === first.id)?.outcomes ?? [];
    for (const m of quick) {
      const o = firstOutcomes.find((x) => x.id === m.id);
      assert.deepEqual([o?.status, o?.attempts, o?.vms.length], ['succeeded', 1, 1], m.id);
    }
    for (const m of slow) {
      const o = firstOutcomes.find((x) => x.id === m.id);
      assert.deepEqual([o?.status, o?.attempts], ['succeeded', 2], m.id);
      assert.equal(status(m.id)?.attempt, 2);
      assert.deepEqual(o?.vms, [instanceName(RUN_ID, first.id, 1), instanceName(RUN_ID, first.id, 2)]);
    }
    for (const { leg, outcomes } of launched.slice(1)) {
      assert.deepEqual(
        outcomes.map((o) => [o.id, o.status, o.attempts]),
        leg.members.map((m) => [m.id, 'succeeded', 1]),
      );
    }

    // 14 VMs and the one retry, none left behind.
    const made = bed.compute.listAll().filter((v) => v.name.includes(`-${RUN_ID}-`));
    assert.equal(made.length, 15);
    assert.deepEqual(
      made.filter((v) => v.status !== 'DELETED').map((v) => v.name),
      [],
    );

    // Collect expects the experiments, not the legs.
    const resultsPath = path.join(await mkdtemp(path.join(bed.dir, 'collected-')), 'results');
    const collect = await step('actions/collect', {
      project: bed.project,
      bucket: BUCKET,
      'run-id': RUN_ID,
      experiments: plan.outputs.matrix ?? '',
      path: resultsPath,
    });
    assert.equal(collect.conclusion, 'success', log(collect));
    assert.equal(collect.outputs.missing, '0');
    assert.equal(collect.outputs.succeeded, '54');
    const manifest = JSON.parse(await readFile(path.join(resultsPath, 'manifest.json'), 'utf8')) as {
      experiments: { id: string }[];
    };
    assert.equal(manifest.experiments.length, 54);

    // The report says they were packed, and on how many VMs.
    const report = await step('actions/report', {
      path: resultsPath,
      project: bed.project,
      bucket: BUCKET,
      'run-id': RUN_ID,
      metrics: 'score:higher',
    });
    assert.equal(report.conclusion, 'success', log(report));
    assert.match(
      report.summary ?? '',
      /54 experiment\(s\) packed on 15 VM\(s\) \(up to 4 a VM; each costs its reserved share\)/,
    );
  });
});
