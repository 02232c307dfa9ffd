import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBed } from './index.ts';
import { startTestBed } from './index.ts';
import { bedClients, runBootScenario } from './scenario.ts';

describe('the whole test bed with the real clients', () => {
  let bed: TestBed;
  before(async () => {
    bed = await startTestBed();
  });
  after(async () => {
    await bed.close();
  });

  it("admits only the README's repository by its numeric id: a recreated repository of the same name is refused", async () => {
    const token = async (): Promise<string | null | undefined> => {
      const { clients } = bedClients(bed);
      try {
        return (await clients.storage.authClient.getAccessToken()) ?? undefined;
      } finally {
        await clients.close();
      }
    };
    assert.ok(await token());
    bed.oidc.claims.extra = { repository_id: String(Number(bed.oidc.repositoryId) + 1) };
    try {
      await assert.rejects(token(), /rejected by the attribute condition/);
    } finally {
      delete bed.oidc.claims.extra;
    }
  });

  it('exchanges an external_account credential and uses it for Compute Engine and Cloud Storage', async () => {
    const result = await runBootScenario(bed);
    assert.match(result.credentialSource, /credentials file/);
    assert.equal(result.objectText, 'written by gcem-boot-demo-1');
    assert.equal(result.instance.status, 'RUNNING');
    assert.match(result.serial, /startup-script: hello from gcem-boot-demo-1/);
    // The workflow side went OIDC -> STS -> IAM Credentials once, and its token reached both APIs.
    assert.ok(bed.recorder.of('oidc').length >= 1);
    assert.ok(bed.recorder.of('sts', 'POST', '/v1/token').length >= 1);
    assert.ok(bed.recorder.of('iamcredentials', 'POST', /generateAccessToken$/).length >= 1);
    const computeAuth = bed.recorder.of('compute', 'POST').map((r) => r.headers.authorization);
    const storageAuth = bed.recorder.of('storage', 'GET').map((r) => r.headers.authorization);
    assert.ok(
      computeAuth.length > 0 && computeAuth.every((h) => typeof h === 'string' && h.startsWith('Bearer ')),
    );
    assert.ok(
      storageAuth.some((h) => h === computeAuth[0]),
      'the same federated token reached both APIs',
    );
    // The VM's own write went with its service account's token from its metadata server.
    const vmWrite = bed.recorder.of('storage', 'POST', '/upload/storage/v1/b/bed-results/o')[0];
    assert.ok(vmWrite);
    assert.equal(bed.tokens.check(vmWrite.headers.authorization)?.email, bed.vmServiceAccount);
    assert.deepEqual(bed.compute.livePids(), []);
  });

  it('surfaces an injected stockout as the operation error the real service gives', async () => {
    const { clients } = bedClients(bed);
    try {
      bed.compute.stockout('us-central1-b', 1);
      const [lro] = await clients.instances.insert({
        project: bed.project,
        zone: 'us-central1-b',
        requestId: crypto.randomUUID(),
        instanceResource: {
          name: 'gcem-stocked-out',
          machineType: 'zones/us-central1-b/machineTypes/e2-small',
          disks: [
            {
              boot: true,
              initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
            },
          ],
          networkInterfaces: [{}],
        },
      });
      let [op] = await clients.zoneOperations.wait({
        project: bed.project,
        zone: 'us-central1-b',
        operation: String(lro.latestResponse.name),
      });
      while (op.status !== 'DONE') {
        [op] = await clients.zoneOperations.wait({
          project: bed.project,
          zone: 'us-central1-b',
          operation: String(op.name),
        });
      }
      assert.equal(op.error?.errors?.[0]?.code, 'ZONE_RESOURCE_POOL_EXHAUSTED');
    } finally {
      await clients.close();
    }
  });

  it('prints an environment a person can export', () => {
    for (const key of [
      'STORAGE_EMULATOR_HOST',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_STS',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'GITHUB_API_URL',
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_RESULTS_URL',
    ]) {
      assert.match(bed.env[key] ?? '', /127\.0\.0\.1|\//, key);
    }
  });
});
