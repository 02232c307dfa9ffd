import type { protos } from '@google-cloud/compute';
import { GoogleAuth, OAuth2Client } from 'google-auth-library';
import { createGoogleAuth } from '../../src/gcp/auth.ts';
import type { GcpClients } from '../../src/gcp/clients.ts';
import { createGcpClients } from '../../src/gcp/clients.ts';
import { endpointsFromEnv } from '../../src/gcp/endpoints.ts';
import type { TestBed } from './index.ts';

/** The startup script of the boot scenario: a token from its own metadata server, then an object via curl. */
export const BOOT_SCRIPT = `#!/bin/sh
set -eu
md="http://$GCE_METADATA_HOST/computeMetadata/v1"
bucket=$(curl -sSf -H 'Metadata-Flavor: Google' "$md/instance/attributes/bucket")
name=$(curl -sSf -H 'Metadata-Flavor: Google' "$md/instance/name")
token=$(curl -sSf -H 'Metadata-Flavor: Google' "$md/instance/service-accounts/default/token" |
  sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')
echo "hello from $name"
printf 'written by %s' "$name" |
  curl -sSf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: text/plain' --data-binary @- \\
    "$STORAGE_EMULATOR_HOST/upload/storage/v1/b/$bucket/o?uploadType=media&name=gce-matrix/runs/boot/experiments/$name/hello.txt" >/dev/null
echo "wrote gs://$bucket/gce-matrix/runs/boot/experiments/$name/hello.txt"
`;

/** What the boot scenario saw. */
export interface BootScenarioResult {
  readonly instance: protos.google.cloud.compute.v1.IInstance;
  readonly objectText: string;
  readonly serial: string;
  readonly credentialSource: string;
}

/**
 * Clients for the bed's project through its external_account file: the path google-github-actions/auth sets up,
 * as the launcher. `as: 'owner'`: as the project's owner instead, for fixtures gce-matrix itself could not make.
 */
export function bedClients(
  bed: TestBed,
  opts: { as?: 'launcher' | 'owner' } = {},
): { clients: GcpClients; source: string } {
  if (opts.as === 'owner') {
    const client = new OAuth2Client();
    client.setCredentials({ access_token: bed.ownerToken, expiry_date: Date.now() + 365 * 24 * 3600_000 });
    const auth = new GoogleAuth({ authClient: client, projectId: bed.project });
    return {
      clients: createGcpClients({ project: bed.project, auth, endpoints: endpointsFromEnv(bed.env) }),
      source: 'the project owner',
    };
  }
  const env = { ...bed.env };
  const creds = createGoogleAuth({ projectId: bed.project, env });
  return {
    clients: createGcpClients({ project: bed.project, auth: creds.auth, endpoints: endpointsFromEnv(env) }),
    source: creds.description,
  };
}

/** Waits for a zone operation to be DONE; throws with its error when it failed. */
export async function waitOperation(clients: GcpClients, zone: string, name: string): Promise<void> {
  for (;;) {
    const [op] = await clients.zoneOperations.wait({ project: clients.project, zone, operation: name });
    if (op.status === 'DONE') {
      if (op.error) throw new Error(`operation ${name} failed: ${JSON.stringify(op.error)}`);
      return;
    }
  }
}

/** What {@link insertBedVm} makes: a small Debian VM, by default with no service account and no metadata. */
export interface BedVmSpec {
  readonly name: string;
  readonly zone: string;
  readonly labels?: Record<string, string>;
  /** Instance metadata items (`startup-script`, ...). */
  readonly metadata?: Record<string, string>;
  /** The service account it runs as, with the cloud-platform scope. */
  readonly serviceAccount?: string;
  readonly maxRunSeconds?: number;
  /** The boot disk's image (default: Debian 12's family, which has no container engine). */
  readonly sourceImage?: string;
}

/** Creates a VM through the real Compute Engine client and waits until its insert is DONE. */
export async function insertBedVm(clients: GcpClients, vm: BedVmSpec): Promise<void> {
  const [lro] = await clients.instances.insert({
    project: clients.project,
    zone: vm.zone,
    requestId: crypto.randomUUID(),
    instanceResource: {
      name: vm.name,
      machineType: `zones/${vm.zone}/machineTypes/e2-small`,
      ...(vm.labels ? { labels: vm.labels } : {}),
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            sourceImage: vm.sourceImage ?? 'projects/debian-cloud/global/images/family/debian-12',
          },
        },
      ],
      networkInterfaces: [{}],
      ...(vm.serviceAccount
        ? {
            serviceAccounts: [
              { email: vm.serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
            ],
          }
        : {}),
      ...(vm.metadata
        ? { metadata: { items: Object.entries(vm.metadata).map(([key, value]) => ({ key, value })) } }
        : {}),
      ...(vm.maxRunSeconds
        ? {
            scheduling: {
              instanceTerminationAction: 'DELETE',
              maxRunDuration: { seconds: String(vm.maxRunSeconds) },
            },
          }
        : {}),
    },
  });
  await waitOperation(clients, vm.zone, String(lro.latestResponse.name));
}

/**
 * Boots one instance through the real Compute Engine client; its startup script takes a token from its metadata
 * server and writes an object to the storage stand-in with curl, which the real Storage client then reads.
 */
export async function runBootScenario(
  bed: TestBed,
  log: (line: string) => void = () => undefined,
): Promise<BootScenarioResult> {
  const { clients, source } = bedClients(bed);
  const zone = 'us-central1-a';
  const bucket = 'bed-results';
  const name = 'gcem-boot-demo-1';
  try {
    bed.storage.createBucket(bucket);
    log(`credentials: ${source}`);
    await insertBedVm(clients, {
      name,
      zone,
      labels: { 'gce-matrix': 'demo' },
      serviceAccount: bed.vmServiceAccount,
      metadata: { 'startup-script': BOOT_SCRIPT, bucket },
      maxRunSeconds: 600,
    });
    log(`created ${name} in ${zone}`);
    const file = clients.storage.bucket(bucket).file(`gce-matrix/runs/boot/experiments/${name}/hello.txt`);
    const deadline = Date.now() + 60_000;
    while (!(await file.exists())[0]) {
      if (Date.now() > deadline)
        throw new Error(
          `the startup script of ${name} never wrote gs://${bucket}/gce-matrix/runs/boot/experiments/${name}/hello.txt`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    const [data] = await file.download();
    log(`read gs://${bucket}/gce-matrix/runs/boot/experiments/${name}/hello.txt: ${data.toString('utf8')}`);
    const [instance] = await clients.instances.get({ project: bed.project, zone, instance: name });
    const [serial] = await clients.instances.getSerialPortOutput({
      project: bed.project,
      zone,
      instance: name,
      port: 1,
    });
    const [del] = await clients.instances.delete({ project: bed.project, zone, instance: name });
    await waitOperation(clients, zone, String(del.latestResponse.name));
    log(`deleted ${name}`);
    return {
      instance,
      objectText: data.toString('utf8'),
      serial: serial.contents ?? '',
      credentialSource: source,
    };
  } finally {
    await clients.close();
  }
}
