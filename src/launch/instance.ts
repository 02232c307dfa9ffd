import type { protos } from '@google-cloud/compute';
import { ConfigurationError } from '../errors.ts';
import { experimentObjects } from '../layout.ts';
import { experimentKey, labelValue, runKey } from '../naming.ts';
import { sourceAttribute } from '../source/snapshot.ts';
import { servicesAttribute } from './services.ts';
import type { LaunchSettings, PackedMember } from './settings.ts';

type Instance = protos.google.cloud.compute.v1.IInstance;

/** Compute Engine's metadata limits: one value, and all keys and values together. */
export const METADATA_VALUE_LIMIT = 256 * 1024;
export const METADATA_TOTAL_LIMIT = 512 * 1024;

/** Extra minutes a VM may live past the command's timeout: boot, staging, upload, self-delete. */
export const TTL_MARGIN_MINUTES = 15;

/** What varies between the VMs of one experiment. */
export interface AttemptPlacement {
  readonly name: string;
  readonly zone: string;
  readonly attempt: number;
  readonly spot: boolean;
  /** The agent script, as the VM runs it at boot and at shutdown. */
  readonly agentScript: string;
  /**
   * A packed VM's experiments, each with the attempt it makes on this VM (the members still to finish, a
   * subset of the leg's after a preemption); absent for a VM of one experiment.
   */
  readonly members?: readonly PlacedMember[];
  /**
   * How many times over the command's timeout the VM may need: its members run in this many rounds at most
   * when they cannot all be admitted at once (1 for a VM of one experiment).
   */
  readonly rounds?: number;
}

/** One experiment of a packed VM and the attempt it makes there. */
export interface PlacedMember extends PackedMember {
  readonly attempt: number;
}

/** The labels every gce-matrix VM carries, by which the post step and the janitor find it. */
export function managedLabels(settings: LaunchSettings, attempt: number): Record<string, string> {
  return {
    ...settings.labels,
    'gce-matrix': 'managed',
    'gce-matrix-run': labelValue(settings.results.runId),
    'gce-matrix-run-key': runKey(settings.results.runId),
    'gce-matrix-key': experimentKey(settings.results.runId, settings.experiment.id),
    'gce-matrix-repo': labelValue(settings.repository),
    'gce-matrix-experiment': labelValue(settings.experiment.id),
    'gce-matrix-attempt': String(attempt),
    'gce-matrix-gh-attempt': String(settings.githubRunAttempt),
  };
}

/** The `KEY=VALUE` lines the agent exports as `GCE_MATRIX_PARAM_KEY`; keys folded to `[A-Z0-9_]`. */
export function paramEnvLines(params: Readonly<Record<string, string | number | boolean>>): string {
  const seen = new Map<string, string>();
  const lines: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const name = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    const other = seen.get(name);
    if (other !== undefined) {
      throw new ConfigurationError(
        `experiment parameters ${JSON.stringify(other)} and ${JSON.stringify(key)} both become GCE_MATRIX_PARAM_${name}; rename one`,
      );
    }
    seen.set(name, key);
    const text = String(value);
    if (/[\r\n\0]/.test(text)) {
      throw new ConfigurationError(
        `experiment parameter ${JSON.stringify(key)} holds a line break; parameters are single-line`,
      );
    }
    lines.push(`${name}=${text}`);
  }
  return lines.join('\n');
}

/** The instance attributes the agent reads (see docs/agent.md). */
export function agentAttributes(
  settings: LaunchSettings,
  placement: AttemptPlacement,
): Record<string, string> {
  const objects = experimentObjects(settings.results, settings.experiment.id);
  const attrs: Record<string, string> = {
    'startup-script': `GCE_MATRIX_MODE=startup\n${placement.agentScript}`,
    'shutdown-script': `GCE_MATRIX_MODE=shutdown\n${placement.agentScript}`,
    'gce-matrix-bucket': settings.results.bucket,
    'gce-matrix-experiment-prefix': objects.base,
    'gce-matrix-run-id': settings.results.runId,
    'gce-matrix-experiment': settings.experiment.id,
    'gce-matrix-attempt': String(placement.attempt),
    'gce-matrix-command': settings.command,
    'gce-matrix-params': JSON.stringify(settings.experiment.params),
    'gce-matrix-param-env': paramEnvLines(settings.experiment.params),
    'gce-matrix-timeout-seconds': String(Math.round(settings.timeoutMinutes * 60)),
    'gce-matrix-heartbeat-seconds': String(settings.heartbeatSeconds),
    'gce-matrix-log-interval-seconds': String(settings.logIntervalSeconds),
    'gce-matrix-checkpoint-interval-seconds': String(settings.checkpointIntervalSeconds),
    'gce-matrix-repo-sha': settings.sha,
    'gce-matrix-spot': String(placement.spot),
    'gce-matrix-command-identity': settings.commandIdentity,
    'gce-matrix-command-credentials': settings.commandCredentials,
  };
  if (settings.snapshot) attrs['gce-matrix-source'] = sourceAttribute(settings.snapshot);
  if (settings.inputs.length > 0) {
    attrs['gce-matrix-inputs'] = settings.inputs.map((i) => `${i.source}\t${i.dest}`).join('\n');
  }
  // Only references travel in metadata; the agent resolves them on the VM with its own identity.
  if (settings.secrets.length > 0) {
    attrs['gce-matrix-secrets'] = settings.secrets.map((s) => `${s.env}=${s.resource}`).join('\n');
  }
  if (settings.services.length > 0) attrs['gce-matrix-services'] = servicesAttribute(settings.services);
  if (settings.containerImage) {
    attrs['gce-matrix-container-image'] = settings.containerImage;
  }
  // A packed VM's agent shares its GPUs out by id, for host commands too.
  if (settings.containerImage || (placement.members && settings.accelerators.length > 0)) {
    attrs['gce-matrix-gpus'] = String(settings.accelerators.reduce((n, a) => n + a.count, 0));
  }
  if (settings.resources) {
    const { cpus, memoryMb, gpus, diskMb } = settings.resources;
    attrs['gce-matrix-resources'] = [
      `cpus=${cpus}`,
      `memory-mb=${memoryMb}`,
      ...(gpus > 0 ? [`gpus=${gpus}`] : []),
      ...(diskMb > 0 ? [`disk-mb=${diskMb}`] : []),
    ].join('\n');
  }
  if (placement.members) Object.assign(attrs, memberAttributes(settings, placement.members));
  return attrs;
}

/**
 * The attributes that tell a packed VM's agent its experiments: `gce-matrix-members` (how many), and for each
 * member i its id, prefix, attempt and parameters (`gce-matrix-member-<i>`) and its parameter variables
 * (`gce-matrix-member-<i>-param-env`). The experiment-level attributes name the group.
 */
export function memberAttributes(
  settings: LaunchSettings,
  members: readonly PlacedMember[],
): Record<string, string> {
  const attrs: Record<string, string> = {
    'gce-matrix-members': String(members.length),
    'gce-matrix-experiment-prefix': experimentObjects(settings.results, members[0]?.id ?? '').base,
    'gce-matrix-params': '{}',
    'gce-matrix-param-env': '',
  };
  members.forEach((m, index) => {
    const i = index + 1;
    attrs[`gce-matrix-member-${i}`] = [
      `experiment=${m.id}`,
      `experiment-prefix=${experimentObjects(settings.results, m.id).base}`,
      `attempt=${m.attempt}`,
      `params=${JSON.stringify(m.params)}`,
    ].join('\n');
    attrs[`gce-matrix-member-${i}-param-env`] = paramEnvLines(m.params);
  });
  return attrs;
}

/** Fails with a message naming the biggest item when metadata exceeds Compute Engine's limits. */
export function checkMetadataLimits(attrs: Record<string, string>): void {
  let total = 0;
  for (const [key, value] of Object.entries(attrs)) {
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    total += size;
    if (Buffer.byteLength(value) > METADATA_VALUE_LIMIT) {
      throw new ConfigurationError(
        `instance metadata ${key} is ${Buffer.byteLength(value)} bytes; Compute Engine allows ${METADATA_VALUE_LIMIT} per value. ` +
          (key === 'gce-matrix-command'
            ? 'Put a long command in a script in the image or stage it as an input.'
            : key === 'gce-matrix-services'
              ? 'Shorten the services: long environment values belong in the service image or a staged input.'
              : 'Shorten it.'),
      );
    }
  }
  if (total > METADATA_TOTAL_LIMIT) {
    throw new ConfigurationError(
      `instance metadata totals ${total} bytes; Compute Engine allows ${METADATA_TOTAL_LIMIT}. Shorten the command, parameters, input list or services.`,
    );
  }
}

/** A VM's hard time limit: its rounds of the command's timeout, and the margin for boot, staging and upload. */
export function vmTtlSeconds(settings: LaunchSettings, rounds = 1): number {
  return Math.ceil(settings.timeoutMinutes * 60) * rounds + TTL_MARGIN_MINUTES * 60;
}

/** The full image URL part Compute Engine accepts as `sourceImage`. */
function sourceImage(image: string): string {
  return image.startsWith('https://') || image.startsWith('projects/') || image.startsWith('global/')
    ? image
    : `projects/${image}`;
}

/**
 * The instance resource of one attempt. Every VM gets a hard time limit (maxRunDuration with DELETE) so that
 * none outlives its job even when the runner dies; GPUs get the host-maintenance policy they require.
 */
export function buildInstance(settings: LaunchSettings, placement: AttemptPlacement): Instance {
  const { zone } = placement;
  const attrs = agentAttributes(settings, placement);
  checkMetadataLimits(attrs);
  const hasGpu = settings.accelerators.length > 0;
  const network: protos.google.cloud.compute.v1.INetworkInterface = {
    accessConfigs: settings.externalIp ? [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] : [],
  };
  if (settings.network) network.network = settings.network;
  if (settings.subnetwork) network.subnetwork = settings.subnetwork;
  const ttlSeconds = vmTtlSeconds(settings, placement.rounds ?? 1);
  return {
    name: placement.name,
    machineType: `zones/${zone}/machineTypes/${settings.machineType}`,
    labels: managedLabels(settings, placement.attempt),
    metadata: { items: Object.entries(attrs).map(([key, value]) => ({ key, value })) },
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: sourceImage(settings.image),
          diskSizeGb: String(settings.bootDiskSizeGb),
          diskType: `zones/${zone}/diskTypes/${settings.bootDiskType}`,
        },
      },
    ],
    networkInterfaces: [network],
    serviceAccounts: [
      { email: settings.vmServiceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
    ],
    guestAccelerators: settings.accelerators.map((a) => ({
      acceleratorType: `zones/${zone}/acceleratorTypes/${a.type}`,
      acceleratorCount: a.count,
    })),
    scheduling: {
      provisioningModel: placement.spot ? 'SPOT' : 'STANDARD',
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: String(ttlSeconds) },
      onHostMaintenance: hasGpu || placement.spot ? 'TERMINATE' : 'MIGRATE',
      automaticRestart: false,
    },
  };
}
