import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { TestBed } from '../bed/index.ts';
import { readmeSetup, startTestBed } from '../bed/index.ts';
import { bedClients } from '../bed/scenario.ts';
import type { StepOptions } from '../bed/step-runner.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launchDir = path.join(root, 'actions/launch');
const BUCKET = 'guarded-results';
const RUN_ID = '7300';
const ZONE = 'us-central1-a';

/**
 * An experiment command that does what an attacker with a shell on the VM would: finds the metadata server the
 * way its parent processes reach it, takes the VM's token, and tries each call least privilege must refuse,
 * printing `attack NAME: HTTP-STATUS` for each. Then it does its own work.
 */
const ATTACK = String.raw`
md=
pid=$PPID
while [ -z "$md" ] && [ "$pid" -gt 1 ]; do
  md=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^GCE_METADATA_HOST=//p')
  pid=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || echo 1)
done
token=$(curl -s -H 'Metadata-Flavor: Google' "http://$md/computeMetadata/v1/instance/service-accounts/default/token" |
  sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
echo "attack token: $([ -n "$token" ] && echo taken || echo none)"
compute=$CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
storage=$STORAGE_EMULATOR_HOST
try() { # NAME curl-args...
  name=$1; shift
  echo "attack $name: $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$@")"
}
try delete-other-vm -X DELETE "$compute"projects/$PROJECT/zones/$ZONE/instances/gcem-victim-1
try create-vm -X POST -H 'Content-Type: application/json' \
  --data '{"name":"gcem-rogue-1","machineType":"zones/'"$ZONE"'/machineTypes/e2-small","disks":[{"boot":true,"initializeParams":{"sourceImage":"projects/debian-cloud/global/images/family/debian-12"}}],"networkInterfaces":[{"network":"global/networks/default"}]}' \
  "$compute"projects/$PROJECT/zones/$ZONE/instances
upload() { # NAME OBJECT
  try "$1" -X POST -H 'Content-Type: application/json' --data '{"forged":true}' \
    "$storage/upload/storage/v1/b/$BUCKET/o?uploadType=media&name=$(printf %s "$2" | sed 's#/#%2F#g')"
}
upload write-baseline gce-matrix/baselines/main/latest.json
upload write-run-record gce-matrix/runs/$RUN_ID/run.json
upload plant-run gce-matrix/runs/9999/run.json
try delete-source -X DELETE "$storage/storage/v1/b/$BUCKET/o/gce-matrix%2Fruns%2F$RUN_ID%2Fsource%2Fseeded.json"
printf '{"score": 7}' > "$GCE_MATRIX_METRICS_FILE"
`;

describe('least privilege with the README grants (real bundle, real agent, IAM-checking stand-ins)', () => {
  let bed: TestBed;
  let owner: GcpClients;

  const step = (inputs: Record<string, string>): StepOptions => ({
    actionDir: launchDir,
    event: workflowDispatchEvent({}, { repo: bed.repository }),
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

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
    bed.storage.putObject(BUCKET, `gce-matrix/runs/${RUN_ID}/source/seeded.json`, '{}');
    owner = bedClients(bed, { as: 'owner' }).clients;
    // Another experiment's VM, made by its own launch: the target of the attack.
    const [lro] = await owner.instances.insert({
      project: bed.project,
      zone: ZONE,
      instanceResource: {
        name: 'gcem-victim-1',
        machineType: `zones/${ZONE}/machineTypes/e2-small`,
        labels: { 'gce-matrix': 'experiment' },
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
          },
        ],
        networkInterfaces: [{ network: 'global/networks/default' }],
      },
    });
    const name = (lro.latestResponse as { name?: string }).name ?? '';
    await owner.zoneOperations.wait({ project: bed.project, zone: ZONE, operation: name });
  });

  after(async () => {
    await owner.close();
    await bed.close();
  });

  it("refuses the VM's own token every call outside its experiment, and the experiment still reports", async () => {
    const command = `PROJECT=${bed.project} ZONE=${ZONE} BUCKET=${BUCKET} RUN_ID=${RUN_ID}\n${ATTACK}`;
    const r = await runStep(step({ experiment: JSON.stringify({ id: 'attacker', params: {} }), command }));
    const log = r.jobLog.join('\n');
    assert.equal(r.conclusion, 'success', log);
    assert.equal(r.outputs.status, 'succeeded');
    const attempts = new Map(
      [...log.matchAll(/\[attacker\] attack ([a-z-]+): (\S+)/g)].map((m) => [m[1], m[2]] as const),
    );
    // Today's agent leaves the metadata server within the command's reach: the token is there to be abused.
    assert.equal(attempts.get('token'), 'taken', log);
    for (const name of [
      'delete-other-vm',
      'create-vm',
      'write-baseline',
      'write-run-record',
      'plant-run',
      'delete-source',
    ]) {
      assert.equal(attempts.get(name), '403', `${name}\n${log}`);
    }
    assert.equal(bed.compute.inspect('gcem-victim-1', ZONE)?.status, 'RUNNING', 'the other VM still runs');
    assert.equal(bed.compute.inspect('gcem-rogue-1', ZONE), undefined, 'no rogue VM');
    assert.equal(bed.storage.getObject(BUCKET, 'gce-matrix/baselines/main/latest.json'), undefined);
    assert.ok(bed.storage.getObject(BUCKET, `gce-matrix/runs/${RUN_ID}/source/seeded.json`));
    const metrics = bed.storage.getObject(
      BUCKET,
      `gce-matrix/runs/${RUN_ID}/experiments/attacker/outputs/metrics.json`,
    );
    assert.deepEqual(JSON.parse(metrics?.data.toString('utf8') ?? 'null'), { score: 7 });
  });

  it('lets the VM delete its own VM through the grant launch made on it alone', () => {
    const self = bed.compute.listAll().find((i) => i.name.includes('attacker') && i.status !== 'DELETED');
    assert.equal(self, undefined, 'the experiment VM is gone');
    const selfDeletes = bed.recorder
      .of('compute', 'DELETE', /\/instances\/gcem-[^/]*attacker[^/]*$/)
      .filter((req) => req.status === 200)
      .filter((req) => bed.tokens.check(req.headers.authorization)?.email === bed.vmServiceAccount);
    assert.ok(selfDeletes.length > 0, 'the agent deleted its own VM with the VM account');
  });

  it('needs every project, bucket and service-account binding of the README setup but the source-snapshot read', () => {
    const used = new Set([...bed.iam.usage().keys()]);
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
        default:
          return [];
      }
    });
    assert.ok(bindings.length >= 6, String(bindings.length));
    // Secrets and source snapshots have tests of their own; this run used neither.
    const unused = bindings.filter((b) => !used.has(b) && !/objectViewer/.test(b));
    assert.deepEqual(unused, []);
  });
});
