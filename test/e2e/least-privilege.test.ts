import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { mkdtemp } from 'node:fs/promises';
import { issueCommentOnPullRequest, workflowDispatchEvent } from '../bed/events.ts';
import type { WorkflowEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { readmeSetup, startTestBed } from '../bed/index.ts';
import { bedClients, insertBedVm } from '../bed/scenario.ts';
import type { StepOptions, StepResult } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launchDir = path.join(root, 'actions/launch');
const BUCKET = 'guarded-results';
const RUN_ID = '7300';
const ZONE = 'us-central1-a';
const RUNS = `gce-matrix/runs/${RUN_ID}`;

/**
 * What an attacker with a shell on the VM tries, printed as `attack NAME: HTTP-STATUS`: the VM's token from the
 * metadata server, at the address every process of a VM knows; then, with that token or else the experiment's
 * own credentials, each call least privilege must refuse. Then the experiment's own work.
 */
const ATTACK = String.raw`
token=$(curl -s --max-time 5 -H 'Metadata-Flavor: Google' \
  "http://$GCE_METADATA_IP/computeMetadata/v1/instance/service-accounts/default/token" |
  sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
echo "attack metadata-token: $([ -n "$token" ] && echo taken || echo refused)"
if [ -z "$token" ] && [ -n "$GCE_MATRIX_STORAGE_TOKEN_FILE" ]; then token=$(cat "$GCE_MATRIX_STORAGE_TOKEN_FILE"); fi
compute=$CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
storage=$STORAGE_EMULATOR_HOST
secrets=$CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER
try() {
  name=$1; shift
  echo "attack $name: $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$@")"
}
upload() {
  try "$1" -X POST -H 'Content-Type: application/json' --data '{"state":"succeeded","forged":true}' \
    "$storage/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$(printf %s "$2" | sed 's#/#%2F#g')"
}
upload write-own-output "$RUNS/experiments/$GCE_MATRIX_EXPERIMENT_ID/outputs/extra.json"
upload forge-sibling-status "$RUNS/experiments/victim/status.json"
upload plant-experiment "$RUNS/experiments/planted/status.json"
upload write-baseline gce-matrix/baselines/main/latest.json
upload write-run-record "$RUNS/run.json"
try delete-source -X DELETE "$storage/storage/v1/b/$BUCKET/o/$(printf %s "$RUNS/source/seeded.json" | sed 's#/#%2F#g')"
try read-secret "$secrets"v1/projects/$PROJECT/secrets/api-key/versions/latest:access
try delete-other-vm -X DELETE "$compute"projects/$PROJECT/zones/$ZONE/instances/gcem-victim-1
try create-vm -X POST -H 'Content-Type: application/json' \
  --data '{"name":"gcem-rogue-1","machineType":"zones/'"$ZONE"'/machineTypes/e2-small","disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/family/debian-12"}}],"networkInterfaces":[{"network":"global/networks/default"}]}' \
  "$compute"projects/$PROJECT/zones/$ZONE/instances
printf '{"score": 7}' > "$GCE_MATRIX_METRICS_FILE"
`;

describe('least privilege with the README grants (real bundle, real agent, IAM-checking stand-ins)', () => {
  let bed: TestBed;
  let owner: GcpClients;

  const step = (inputs: Record<string, string>, event?: WorkflowEvent): StepOptions => ({
    actionDir: launchDir,
    event: event ?? workflowDispatchEvent({}, { repo: bed.repository }),
    context: { repository: bed.repository, runId: RUN_ID, runAttempt: '1', sha: 'c0ffee' },
    env: bed.env,
    inputs: {
      project: bed.project,
      zones: ZONE,
      bucket: BUCKET,
      'vm-service-account': bed.vmServiceAccount,
      'heartbeat-seconds': '1',
      'log-interval-seconds': '1',
      'timeout-minutes': '5',
      source: 'none',
      ...inputs,
    },
  });

  /** Launches one attacking experiment; `seen` maps each attack to the HTTP status it got. */
  const attack = async (id: string, inputs: Record<string, string>) => {
    const command = `PROJECT=${bed.project} ZONE=${ZONE} BUCKET=${BUCKET} RUNS=${RUNS}\n${ATTACK}`;
    const r = await runStep(step({ experiment: JSON.stringify({ id, params: {} }), command, ...inputs }));
    const log = r.jobLog.join('\n');
    const line = new RegExp(`\\[${id}\\] attack ([a-z-]+): (\\S+)`, 'g');
    const seen = new Map([...log.matchAll(line)].map((m) => [m[1], m[2]] as const));
    return { r, log, seen };
  };

  /** Nothing outside the experiments' own objects changed. */
  const untouched = (): void => {
    assert.equal(bed.compute.inspect('gcem-victim-1', ZONE)?.status, 'RUNNING', 'the other VM still runs');
    assert.equal(bed.compute.inspect('gcem-rogue-1', ZONE), undefined, 'no rogue VM');
    assert.equal(bed.storage.getObject(BUCKET, 'gce-matrix/baselines/main/latest.json'), undefined);
    assert.equal(bed.storage.getObject(BUCKET, `${RUNS}/run.json`), undefined);
    assert.ok(bed.storage.getObject(BUCKET, `${RUNS}/source/seeded.json`));
  };

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    bed.storage.putObject(BUCKET, `${RUNS}/source/seeded.json`, '{}');
    // A secret granted to the VM account (as the README's setup does), given to none of these experiments.
    bed.secretManager.addSecret(bed.project, 'api-key', 'not-for-these-experiments');
    owner = bedClients(bed, { as: 'owner' }).clients;
    // Another experiment's VM: the target of the attacks.
    await insertBedVm(owner, { name: 'gcem-victim-1', zone: ZONE, labels: { 'gce-matrix': 'experiment' } });
  });

  after(async () => {
    await owner.close();
    await bed.close();
  });

  it('keeps the command from the VM token; its experiment credentials reach its own objects alone', async () => {
    const { r, log, seen } = await attack('attacker', { 'command-credentials': 'experiment' });
    assert.equal(r.conclusion, 'success', log);
    assert.equal(r.outputs.status, 'succeeded');
    assert.equal(seen.get('metadata-token'), 'refused', log);
    assert.equal(seen.get('write-own-output'), '200', log);
    for (const name of [
      'forge-sibling-status',
      'plant-experiment',
      'write-baseline',
      'write-run-record',
      'delete-source',
    ]) {
      assert.equal(seen.get(name), '403', `${name}\n${log}`);
    }
    // Credential access boundaries are Cloud Storage's alone: the other APIs refuse such a token outright.
    for (const name of ['read-secret', 'delete-other-vm', 'create-vm']) {
      assert.equal(seen.get(name), '401', `${name}\n${log}`);
    }
    untouched();
    assert.equal(bed.storage.getObject(BUCKET, `${RUNS}/experiments/planted/status.json`), undefined);
    const metrics = bed.storage.getObject(BUCKET, `${RUNS}/experiments/attacker/outputs/metrics.json`);
    assert.deepEqual(JSON.parse(metrics?.data.toString('utf8') ?? 'null'), { score: 7 });
    assert.doesNotMatch(log, /ya29\./, 'no token reaches the job log');

    // The experiment whose status it tried to forge first runs afterwards and reports its own result.
    const victim = await runStep(
      step({
        experiment: JSON.stringify({ id: 'victim', params: {} }),
        command: `printf '{"score": 1}' > "$GCE_MATRIX_METRICS_FILE"`,
      }),
    );
    assert.equal(victim.conclusion, 'success', victim.jobLog.join('\n'));
    const status = JSON.parse(
      bed.storage.getObject(BUCKET, `${RUNS}/experiments/victim/status.json`)?.data.toString('utf8') ?? '{}',
    ) as Record<string, unknown>;
    assert.equal(status.state, 'succeeded');
    assert.equal(status.forged, undefined);
  });

  it('lets the VM delete its own VM through the grant launch made on it alone', () => {
    const live = bed.compute
      .listAll()
      .filter((i) => i.status !== 'DELETED' && /attacker|victim-/.test(i.name));
    assert.deepEqual(
      live.map((i) => i.name),
      ['gcem-victim-1'],
    );
    const selfDeletes = bed.recorder
      .of('compute', 'DELETE', /\/instances\/gcem-[^/]*attacker[^/]*$/)
      .filter((req) => req.status === 200)
      .filter((req) => bed.tokens.check(req.headers.authorization)?.email === bed.vmServiceAccount);
    assert.ok(selfDeletes.length > 0, 'the agent deleted its own VM with the VM account');
  });

  it('refuses a command given the VM identity everything outside experiments and the secrets granted', async () => {
    const { r, log, seen } = await attack('opted-in', { 'command-identity': 'vm' });
    assert.equal(r.conclusion, 'success', log);
    assert.equal(seen.get('metadata-token'), 'taken', log);
    for (const name of [
      'delete-other-vm',
      'create-vm',
      'write-baseline',
      'write-run-record',
      'delete-source',
    ]) {
      assert.equal(seen.get(name), '403', `${name}\n${log}`);
    }
    // What the opt-in hands over, as the README says: the VM account's own rights, which reach every experiment's
    // objects and every secret granted to the account.
    assert.equal(seen.get('plant-experiment'), '200', log);
    assert.equal(seen.get('read-secret'), '200', log);
    untouched();
  });

  it('needs every project, bucket and service-account binding of the README setup but the source-snapshot read', () => {
    const used = new Set(bed.iam.usage().keys());
    const steps = readmeSetup({
      project: bed.project,
      projectNumber: '123456789012',
      repository: bed.repository,
      repositoryId: bed.oidc.repositoryId,
    })(BUCKET);
    const bindings = steps.flatMap((s) => {
      switch (s.kind) {
        case 'project-binding':
          return [`projects/${s.project} ${s.member} ${s.role}`];
        case 'bucket-binding':
          return [`projects/_/buckets/${s.bucket} ${s.member} ${s.role}`];
        case 'service-account-binding':
          return [`projects/-/serviceAccounts/${s.serviceAccount} ${s.member} ${s.role}`];
        case 'secret-binding':
          return [`projects/123456789012/secrets/${s.secret} ${s.member} ${s.role}`];
        default:
          return [];
      }
    });
    assert.equal(bindings.length, 7);
    // Source snapshots are read in test/e2e/source.test.ts; these experiments have none.
    const unused = bindings.filter((b) => !used.has(b) && !/objectViewer/.test(b));
    assert.deepEqual(unused, []);
  });

  it('renews the experiment credentials past their lifetime, in a detached experiment with no launch job alive', async () => {
    bed.tokens.lifetimeSeconds = 20;
    try {
      const command = String.raw`
for i in 1 2 3 4 5 6 7 8 9 10; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$GCE_MATRIX_STORAGE_TOKEN_FILE")"     --data "$i" "$STORAGE_EMULATOR_HOST/upload/storage/v1/b/$GCE_MATRIX_BUCKET/o?uploadType=media&name=$(printf %s "$GCE_MATRIX_EXPERIMENT_PREFIX" | sed 's#/#%2F#g')ticks%2Ftick-$i")
  echo "tick $i: $code"
  [ "$code" = 200 ] || exit 9
  sleep 5
done
printf '{"ticks": 10}' > "$GCE_MATRIX_METRICS_FILE"`;
      const r = await runStep(
        step({
          experiment: JSON.stringify({ id: 'long', params: {} }),
          command,
          'command-credentials': 'experiment',
          detach: 'true',
        }),
      );
      assert.equal(r.conclusion, 'success', r.jobLog.join('\n'));
      const statusName = `${RUNS}/experiments/long/status.json`;
      const deadline = Date.now() + 150_000;
      while (!bed.storage.getObject(BUCKET, statusName) && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 500));
      }
      const status = JSON.parse(bed.storage.getObject(BUCKET, statusName)?.data.toString('utf8') ?? '{}') as {
        state?: string;
      };
      const ticks = bed.storage.listObjects(BUCKET, `${RUNS}/experiments/long/ticks/tick-`).length;
      assert.equal(status.state, 'succeeded', `ticks written: ${ticks}`);
      assert.equal(ticks, 10);
      // 50 s of writes with tokens that live 20 s: the file was renewed at least twice.
      const exchanges = bed.recorder.of('sts', 'POST').filter((q) => /access_token/.test(q.bodyText));
      assert.ok(exchanges.length >= 3, String(exchanges.length));
    } finally {
      bed.tokens.lifetimeSeconds = 3600;
    }
  });

  it('keeps a secret the command prints off every surface: job logs, annotations, summaries, bucket, artifact, comment', async () => {
    const SECRET = 'L3ak-V4lue/9+x';
    bed.secretManager.addSecret(bed.project, 'leak-key', SECRET);
    bed.secretManager.grantAccessor(`serviceAccount:${bed.vmServiceAccount}`, bed.project, 'leak-key');
    const PR = 31;
    bed.github.addPullRequest({ repo: bed.repository, number: PR, baseRef: 'main', baseSha: 'b'.repeat(40) });
    const event = issueCommentOnPullRequest({ repo: bed.repository, number: PR, body: '/gce-matrix run' });
    const experiment = { id: 'leaky', params: { tool: 'x' } };
    const command = [
      'echo "plain: $LEAK"',
      'echo "base64: $(printf %s "$LEAK" | base64)"',
      `echo "url: $(printf %s "$LEAK" | sed 's#/#%2F#g; s#+#%2B#g')"`,
      'printf \'{"score": 3}\' > "$GCE_MATRIX_METRICS_FILE"',
      'echo "$LEAK" > "$GCE_MATRIX_OUTPUT_DIR/notes.txt"',
      'echo "failing with $LEAK" >&2',
      'exit 4',
    ].join('\n');
    const launch = await runStep(
      step({ experiment: JSON.stringify(experiment), command, secrets: 'LEAK=leak-key' }, event),
    );
    assert.equal(launch.conclusion, 'failure');
    const other = (action: string, inputs: Record<string, string>): Promise<StepResult> =>
      runStep({
        actionDir: path.join(root, action),
        event,
        context: {
          repository: bed.repository,
          runId: RUN_ID,
          runAttempt: '1',
          sha: 'c0ffee',
          token: bed.github.defaultToken,
        },
        env: bed.env,
        inputs,
      });
    const results = path.join(await mkdtemp(path.join(bed.dir, 'leak-')), 'results');
    const collect = await other('actions/collect', {
      project: bed.project,
      bucket: BUCKET,
      'run-id': RUN_ID,
      experiments: JSON.stringify({ include: [{ experiment }] }),
      path: results,
    });
    const report = await other('actions/report', {
      path: results,
      project: bed.project,
      bucket: BUCKET,
      'run-id': RUN_ID,
    });
    const forms = [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)];
    const prefix = `${RUNS}/experiments/leaky/`;
    const surfaces: [string, string][] = [
      ...[launch, collect, report].flatMap((r, i): [string, string][] => [
        [`job log ${i}`, r.jobLog.join('\n')],
        [`annotations ${i}`, JSON.stringify(r.allAnnotations)],
        [`summary ${i}`, r.summary ?? ''],
      ]),
      ...bed.storage
        .listObjects(BUCKET, prefix)
        .filter((o) => o.name !== `${prefix}outputs/notes.txt`)
        .map((o): [string, string] => [
          o.name,
          bed.storage.getObject(BUCKET, o.name)?.data.toString('utf8') ?? '',
        ]),
      ...bed.artifacts
        .artifacts()
        .flatMap((a) => [...bed.artifacts.filesOf(a.name)])
        .filter(([name]) => !name.endsWith('outputs/notes.txt'))
        .map(([name, data]): [string, string] => [`artifact ${name}`, data.toString('utf8')]),
      ...bed.github.comments(bed.repository, PR).map((c): [string, string] => [`comment ${c.id}`, c.body]),
    ];
    assert.ok(
      surfaces.some(([name, text]) => name.startsWith('comment') && /leaky/.test(text)),
      'the report commented on the failed experiment',
    );
    assert.ok(
      surfaces.some(([, text]) => /plain: \*\*\*/.test(text)),
      'the printed line arrived, redacted',
    );
    for (const [name, text] of surfaces) {
      for (const form of forms) assert.ok(!text.includes(form), `${name} holds the secret`);
    }
    // A file the command writes to its outputs is its own business, and is kept as written.
    assert.equal(
      bed.storage.getObject(BUCKET, `${prefix}outputs/notes.txt`)?.data.toString('utf8'),
      `${SECRET}\n`,
    );
  });
});
