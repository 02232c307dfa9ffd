import { ConfigurationError } from '../errors.ts';
import { readBoolean, readBucket, readProject } from '../inputs.ts';
import { SERVICE_ACCOUNT_EMAIL, parseAuthInputs } from '../gcp/auth-inputs.ts';
import { validateExperimentId, validateLabels } from '../naming.ts';
import { parseSourceRef } from '../source/snapshot.ts';
import { didYouMean } from '../suggest.ts';
import { describeValue, isMapping } from '../json-value.ts';
import { checkPacking, DEFAULT_BOOT_DISK_GB, MAX_PER_VM } from './machine-types.ts';
import { parseServices } from './services.ts';
import type {
  Accelerator,
  CommandCredentials,
  CommandIdentity,
  Experiment,
  LaunchSettings,
  PackedMember,
  Provisioning,
  Resources,
  SecretRef,
  StagedInput,
} from './settings.ts';

/**
 * A job on a GitHub-hosted runner is cancelled after 6 hours: the default wait leaves 30 minutes for the
 * steps around launch and for the hand-over itself.
 */
export const DEFAULT_WAIT_TIMEOUT_MINUTES = 330;

/** Reads one action input by its name as written in action.yml ('' when unset). */
export type InputReader = (name: string) => string;

const ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const MACHINE_TYPE = /^[a-z][-a-z0-9]{0,62}$/;
const SECRET = /^projects\/[^/\s]+\/secrets\/[A-Za-z0-9_-]{1,255}\/versions\/(latest|[0-9]+)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function list(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'));
}

function required(read: InputReader, name: string, hint: string): string {
  const value = read(name).trim();
  if (!value) throw new ConfigurationError(`input ${name} is required: ${hint}`);
  return value;
}

function number(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const raw = read(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(
      `input ${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

function integer(read: InputReader, name: string, fallback: number, min: number, max: number): number {
  const value = number(read, name, fallback, min, max);
  if (!Number.isInteger(value)) {
    throw new ConfigurationError(`input ${name} must be a whole number (got ${value})`);
  }
  return value;
}

function parseParams(params: unknown, where: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (params === undefined) return out;
  if (!params || typeof params !== 'object' || Array.isArray(params)) {
    throw new ConfigurationError(
      `${where} "params" must be an object of names to strings, numbers or booleans`,
    );
  }
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ConfigurationError(
        `${where} parameter ${JSON.stringify(k)} must be a string, number or boolean`,
      );
    }
    out[k] = v;
  }
  return out;
}

/** The members of a packed leg: each one an experiment id and its parameters, ids unique, at most 64. */
function parseMembers(value: unknown, groupId: string): PackedMember[] {
  const where = `input experiment ${JSON.stringify(groupId)}`;
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigurationError(
      `${where}: "members" must be a non-empty list of {"id": "...", "params": {...}}, as the plan step emits for a packed leg`,
    );
  }
  if (value.length > MAX_PER_VM) {
    throw new ConfigurationError(
      `${where} has ${value.length} members, more than the ${MAX_PER_VM} one VM may hold; plan it with a smaller per-vm`,
    );
  }
  const seen = new Set<string>();
  return value.map((m: unknown, i) => {
    const label = `input experiment members[${i}]`;
    if (!isMapping(m)) {
      throw new ConfigurationError(
        `${label} must be an object {"id": "...", "params": {...}} (got ${describeValue(m)})`,
      );
    }
    const { id, params } = m as { id?: unknown; params?: unknown };
    if (typeof id !== 'string') throw new ConfigurationError(`${label} has no string "id"`);
    validateExperimentId(id, `${label} id`);
    if (seen.has(id)) {
      throw new ConfigurationError(
        `${where} lists member ${JSON.stringify(id)} twice; each experiment runs once`,
      );
    }
    seen.add(id);
    return { id, params: parseParams(params, label) };
  });
}

/**
 * Parses the `experiment` input as the plan step emits it: `{"id": "...", "params": {...}}`, optionally with
 * `"launch": {...}`, or a packed leg, `{"id": "pack-...", "params": {}, "launch": {...}, "members": [...]}`.
 */
export function parseExperiment(text: string): Experiment {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(
      `input experiment is not valid JSON (${(err as Error).message}); pass the plan's matrix entry, e.g. \${{ toJSON(matrix.experiment) }}`,
    );
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      'input experiment must be a JSON object like {"id": "tool-a", "params": {"tool": "a"}}',
    );
  }
  const { id, params, launch, members } = value as {
    id?: unknown;
    params?: unknown;
    launch?: unknown;
    members?: unknown;
  };
  if (typeof id !== 'string') throw new ConfigurationError('input experiment has no string "id"');
  validateExperimentId(id, 'input experiment id');
  const experiment: Experiment = { id, params: parseParams(params, 'input experiment') };
  const withLaunch = launch === undefined ? experiment : { ...experiment, launch: parseOverrides(launch) };
  return members === undefined ? withLaunch : { ...withLaunch, members: parseMembers(members, id) };
}

/** Inputs an experiment may set for itself in its `launch` object; auth, bucket and the run stay the step's. */
export const OVERRIDABLE_INPUTS = [
  'zones',
  'machine-type',
  'resources',
  'image',
  'container-image',
  'boot-disk-size-gb',
  'boot-disk-type',
  'accelerators',
  'provisioning',
  'timeout-minutes',
  'max-attempts',
  'retry-on-failure',
  'checkpoint-interval',
  'detach',
  'command',
  'inputs',
  'secrets',
  'services',
  'command-identity',
  'command-credentials',
  'labels',
  'source',
  'source-ref',
] as const;

function parseOverrides(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      'input experiment "launch" must be an object of input names to values, e.g. {"machine-type": "n2-standard-8"}',
    );
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(OVERRIDABLE_INPUTS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `input experiment "launch" sets ${JSON.stringify(key)}, which an experiment cannot override; it may set ${OVERRIDABLE_INPUTS.join(', ')}`,
      );
    }
    if ((key === 'services' || key === 'resources') && v !== null && typeof v === 'object') {
      out[key] = JSON.stringify(v);
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ConfigurationError(
        `input experiment "launch" value of ${key} must be a string, number or boolean`,
      );
    }
    out[key] = String(v);
  }
  return out;
}

/** The keys of `resources`, as the spec and the input write them. */
export const RESOURCE_KEYS = ['cpus', 'memory-gb', 'gpus', 'disk-gb'] as const;

/** The most CPUs one experiment may reserve (the largest Compute Engine machine types have 416 vCPUs). */
const MAX_CPUS = 416;
/** The most memory one experiment may reserve, in GB. */
const MAX_MEMORY_GB = 65536;
/** The most GPUs one experiment may reserve (a Compute Engine VM has at most 16). */
const MAX_GPUS = 16;
/** The most disk one experiment may reserve, in GB (the largest boot disk). */
const MAX_DISK_GB = 65536;

interface ResourceValues {
  readonly cpus: number;
  readonly memoryGb: number;
  readonly gpus: number;
  readonly diskGb: number;
}

/** A number, or decimal digits as text (the text form and YAML quoting); anything else is NaN. */
function resourceNumber(raw: unknown): number {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : NaN;
  if (typeof raw === 'string' && /^\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*$/.test(raw)) return Number(raw);
  return NaN;
}

function resourceValues(value: unknown, where: string): ResourceValues {
  let map: unknown = value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      try {
        map = JSON.parse(text) as unknown;
      } catch (err) {
        throw new ConfigurationError(
          `${where} is not valid JSON (${(err as Error).message}); write it as cpus=2,memory-gb=4 or {"cpus": 2, "memory-gb": 4}`,
        );
      }
    } else {
      const pairs: Record<string, string> = {};
      for (const item of text.split(/[\s,]+/).filter((x) => x !== '')) {
        const eq = item.indexOf('=');
        if (eq <= 0) {
          throw new ConfigurationError(
            `${where}: ${JSON.stringify(item)} is not key=value; write it as cpus=2,memory-gb=4`,
          );
        }
        pairs[item.slice(0, eq)] = item.slice(eq + 1);
      }
      map = pairs;
    }
  }
  if (!isMapping(map)) {
    throw new ConfigurationError(
      `${where} must be a mapping of cpus, memory-gb, gpus and disk-gb, e.g. {cpus: 2, memory-gb: 4} (got ${describeValue(map)})`,
    );
  }
  for (const key of Object.keys(map)) {
    if (!(RESOURCE_KEYS as readonly string[]).includes(key)) {
      const near = didYouMean(key, RESOURCE_KEYS, (c) => JSON.stringify(c));
      throw new ConfigurationError(
        `${where} has an unknown key ${JSON.stringify(key)}${near ? ` (${near})` : ''}; it may have ${RESOURCE_KEYS.join(', ')}`,
      );
    }
  }
  const cpus = map.cpus === undefined ? 1 : resourceNumber(map.cpus);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
    throw new ConfigurationError(
      `${where}: cpus must be a whole number from 1 to ${MAX_CPUS}, the CPUs one experiment reserves (got ${JSON.stringify(map.cpus)})`,
    );
  }
  const memoryGb = map['memory-gb'] === undefined ? 0 : resourceNumber(map['memory-gb']);
  if (!(memoryGb >= 0 && memoryGb <= MAX_MEMORY_GB)) {
    throw new ConfigurationError(
      `${where}: memory-gb must be a number from 0 to ${MAX_MEMORY_GB}, the memory one experiment reserves, e.g. 0.5 or 4 (got ${JSON.stringify(map['memory-gb'])})`,
    );
  }
  const gpus = map.gpus === undefined ? 0 : resourceNumber(map.gpus);
  if (!Number.isInteger(gpus) || gpus < 0 || gpus > MAX_GPUS) {
    throw new ConfigurationError(
      `${where}: gpus must be a whole number from 0 to ${MAX_GPUS}, the GPUs one experiment reserves (got ${JSON.stringify(map.gpus)})`,
    );
  }
  const diskGb = map['disk-gb'] === undefined ? 0 : resourceNumber(map['disk-gb']);
  if (!(diskGb >= 0 && diskGb <= MAX_DISK_GB)) {
    throw new ConfigurationError(
      `${where}: disk-gb must be a number from 0 to ${MAX_DISK_GB}, the disk space one experiment reserves, e.g. 5 or 0.5 (got ${JSON.stringify(map['disk-gb'])})`,
    );
  }
  return { cpus, memoryGb, gpus, diskGb };
}

/**
 * Parses what one experiment reserves on its VM: a mapping `{cpus: C, memory-gb: M, gpus: G, disk-gb: D}` (the
 * spec), or text, either `cpus=C,memory-gb=M,gpus=G,disk-gb=D` or that JSON (the launch input). cpus is a whole
 * number 1-416 (default 1); memory-gb and disk-gb numbers of GB, fractions allowed (default 0: none reserved);
 * gpus whole GPUs 0-16 (default 0). `where` names the setting in messages.
 */
export function parseResources(value: unknown, where: string): Resources {
  const { cpus, memoryGb, gpus, diskGb } = resourceValues(value, where);
  return { cpus, memoryMb: Math.ceil(memoryGb * 1024), gpus, diskMb: Math.ceil(diskGb * 1024) };
}

/**
 * `resources` in the one form launch reads and the plan compares: `cpus=C,memory-gb=M`, plus `,gpus=G` and
 * `,disk-gb=D` when they are not 0 (so a leg without them reads as it always did).
 */
export function resourcesInput(value: unknown, where: string): string {
  const { cpus, memoryGb, gpus, diskGb } = resourceValues(value, where);
  return `cpus=${cpus},memory-gb=${memoryGb}${gpus > 0 ? `,gpus=${gpus}` : ''}${diskGb > 0 ? `,disk-gb=${diskGb}` : ''}`;
}

/** Parses `type:count` accelerator specs, e.g. `nvidia-l4:1`. */
export function parseAccelerators(text: string): Accelerator[] {
  return list(text).map((spec) => {
    const m = /^([a-z][-a-z0-9]*)(?::([0-9]+))?$/.exec(spec);
    if (!m)
      throw new ConfigurationError(
        `input accelerators: ${JSON.stringify(spec)} is not TYPE:COUNT (e.g. nvidia-l4:1)`,
      );
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (count < 1 || count > 16)
      throw new ConfigurationError(`input accelerators: count in ${spec} must be 1-16`);
    return { type: m[1], count };
  });
}

/** Parses `gs://bucket/object dest` lines (dest defaults to the object's base name). */
export function parseInputs(text: string): StagedInput[] {
  return lines(text).map((line) => {
    const [source, dest, extra] = line.split(/\s+/);
    if (!source || extra !== undefined || !/^gs:\/\/[a-z0-9][-_.a-z0-9]*\/\S+$/.test(source)) {
      throw new ConfigurationError(
        `input inputs: ${JSON.stringify(line)} is not "gs://bucket/object [destination]"`,
      );
    }
    const target = dest ?? source.replace(/\/+$/, '').split('/').pop()!;
    // As the VM agent checks it, once it has dropped one trailing /.
    const parts = target.replace(/\/$/, '').split('/');
    if (target.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new ConfigurationError(
        `input inputs: destination ${JSON.stringify(target)} must be a relative path without ., .. or empty parts (e.g. data/set.tar)`,
      );
    }
    return { source, dest: target };
  });
}

/** Why the VM agent refuses `env` for a secret's variable, which it would find out only on the VM; else undefined. */
function reservedSecretEnv(env: string): string | undefined {
  if (env === 'PATH' || env === 'HOME') return `the command runs with the VM's own ${env}`;
  if (env.startsWith('GCE_MATRIX_')) return 'gce-matrix sets the GCE_MATRIX_ variables itself';
  return undefined;
}

/** Parses `ENV_NAME=projects/P/secrets/S/versions/V` lines (a bare secret name means this project, latest). */
export function parseSecrets(text: string, project: string): SecretRef[] {
  return lines(text).map((line) => {
    const eq = line.indexOf('=');
    const env = eq > 0 ? line.slice(0, eq).trim() : '';
    let resource = eq > 0 ? line.slice(eq + 1).trim() : '';
    if (!env || !resource) {
      throw new ConfigurationError(
        `input secrets: ${JSON.stringify(line.slice(0, 80))} is not "ENV_NAME=projects/P/secrets/S/versions/V"`,
      );
    }
    if (!ENV_NAME.test(env)) {
      throw new ConfigurationError(
        `input secrets: ${JSON.stringify(env.slice(0, 80))} is not a variable name; ENV_NAME takes letters, digits and _, not starting with a digit (e.g. API_KEY=${resource})`,
      );
    }
    const reserved = reservedSecretEnv(env);
    if (reserved) {
      throw new ConfigurationError(
        `input secrets: ${env} cannot hold a secret (${reserved}); give it another variable name, e.g. MY_${env.replace(/^GCE_MATRIX_/, '')}=${resource}`,
      );
    }
    if (/^[A-Za-z0-9_-]+$/.test(resource))
      resource = `projects/${project}/secrets/${resource}/versions/latest`;
    if (/^projects\/[^/]+\/secrets\/[^/]+$/.test(resource)) resource += '/versions/latest';
    if (!SECRET.test(resource)) {
      throw new ConfigurationError(
        `input secrets: ${env} must reference projects/P/secrets/S/versions/V (got ${resource})`,
      );
    }
    return { env, resource };
  });
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of list(text)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigurationError(`input labels: ${JSON.stringify(item)} is not key=value`);
    labels[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  validateLabels(labels, 'input labels');
  // Compute Engine allows 64 labels on an instance, and gce-matrix sets 8 of its own.
  if (Object.keys(labels).length > 56) {
    throw new ConfigurationError(
      `input labels: at most 56 labels (gce-matrix adds 8 of the 64 Compute Engine allows); got ${Object.keys(labels).length}`,
    );
  }
  for (const key of Object.keys(labels)) {
    if (key.startsWith('gce-matrix')) {
      throw new ConfigurationError(
        `input labels: ${key} is reserved for gce-matrix's own labels; choose another key`,
      );
    }
  }
  return labels;
}

/** What the runner tells every step about the run. */
export interface RunContext {
  readonly runId: string;
  readonly runAttempt: number;
  readonly repository: string;
  readonly sha: string;
  readonly defaultProject: string | undefined;
  /** `GITHUB_EVENT_NAME` */
  readonly eventName?: string;
  /** The pull request head of a `pull_request` event (the commit under test there, not GITHUB_SHA's merge). */
  readonly pullRequestHead?: string | undefined;
  /** `GITHUB_API_URL` */
  readonly apiUrl?: string;
}

/** Reads the runner's variables. */
export function runContextFromEnv(env: NodeJS.ProcessEnv = process.env): RunContext {
  return {
    runId: env.GITHUB_RUN_ID ?? 'local',
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT ?? '1') || 1,
    repository: env.GITHUB_REPOSITORY ?? 'local/local',
    sha: env.GITHUB_SHA ?? '',
    defaultProject: env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || env.GCLOUD_PROJECT || undefined,
    eventName: env.GITHUB_EVENT_NAME ?? '',
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
  };
}

/** The event's pull request head SHA, for `pull_request` and `pull_request_target` events. */
export function pullRequestHeadOf(event: unknown): string | undefined {
  const sha = (event as { pull_request?: { head?: { sha?: unknown } } } | null)?.pull_request?.head?.sha;
  return typeof sha === 'string' && /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
}

/**
 * `source` and `source-ref`: which commit the command's working directory is a snapshot of. On a PR comment the
 * plan step's `source-sha` (the head the gate approved) must be passed: launch never reads a PR's head itself,
 * so the ref stays undefined there and launch refuses to stage.
 */
export function parseSource(read: InputReader, ctx: RunContext): LaunchSettings['source'] {
  const mode = read('source').trim() || 'repository';
  if (mode !== 'repository' && mode !== 'none') {
    throw new ConfigurationError(
      `input source must be repository (the repository at the commit under test becomes the working directory) or none (got ${JSON.stringify(mode)})`,
    );
  }
  const given = parseSourceRef(read('source-ref'));
  if (mode === 'none') return { mode, ref: given };
  if (given) return { mode, ref: given };
  if (ctx.pullRequestHead) return { mode, ref: ctx.pullRequestHead };
  // On a PR comment GITHUB_SHA is the default branch, not the code under test: only the plan knows the head.
  if (ctx.eventName === 'issue_comment') return { mode, ref: undefined };
  return { mode, ref: ctx.sha || undefined };
}

/** Parses and checks every input of actions/launch; throws a ConfigurationError naming the first bad one. */
export function parseLaunchInputs(readInput: InputReader, ctx: RunContext): LaunchSettings {
  const experiment = parseExperiment(
    required(readInput, 'experiment', 'pass the matrix entry of the plan step'),
  );
  const overrides = experiment.launch ?? {};
  const read: InputReader = (name) => overrides[name] ?? readInput(name);
  const project = readProject(read, ctx.defaultProject);
  const zones = list(read('zones'));
  for (const z of zones) {
    if (!ZONE.test(z))
      throw new ConfigurationError(`input zones: ${JSON.stringify(z)} is not a zone name like us-central1-a`);
  }
  const region = read('region').trim() || undefined;
  if (region !== undefined && !/^[a-z]+-[a-z]+[0-9]+$/.test(region)) {
    throw new ConfigurationError(
      `input region ${JSON.stringify(region)} is not a region name like us-central1`,
    );
  }
  if (zones.length === 0 && region === undefined) {
    throw new ConfigurationError(
      'input zones (or region) is required: list the zones to try, e.g. "us-central1-a, us-central1-b"',
    );
  }
  const machineType = read('machine-type').trim() || 'e2-standard-2';
  if (!MACHINE_TYPE.test(machineType)) {
    throw new ConfigurationError(
      `input machine-type ${JSON.stringify(machineType)} is not a machine type name like n2-standard-4`,
    );
  }
  const provisioning = (read('provisioning').trim() || 'standard') as Provisioning;
  if (!['spot', 'standard', 'spot-then-standard'].includes(provisioning)) {
    throw new ConfigurationError(
      `input provisioning must be spot, standard or spot-then-standard (got ${provisioning})`,
    );
  }
  const bucket = readBucket(read, 'name the Cloud Storage bucket for results');
  const vmServiceAccount = required(read, 'vm-service-account', 'the service account email the VM runs as');
  if (!SERVICE_ACCOUNT_EMAIL.test(vmServiceAccount)) {
    throw new ConfigurationError(
      `input vm-service-account ${JSON.stringify(vmServiceAccount)} is not a service account email`,
    );
  }
  const vmSelfDeleteRole =
    read('vm-self-delete-role').trim() || `projects/${project}/roles/gceMatrixSelfDelete`;
  if (
    !/^(projects|organizations)\/[^/\s]+\/roles\/[A-Za-z0-9_.]{3,64}$|^roles\/[A-Za-z0-9_.]+$/.test(
      vmSelfDeleteRole,
    )
  ) {
    throw new ConfigurationError(
      `input vm-self-delete-role ${JSON.stringify(vmSelfDeleteRole)} is not a role name like projects/PROJECT/roles/gceMatrixSelfDelete`,
    );
  }
  const commandIdentity = (read('command-identity').trim().toLowerCase() || 'isolated') as CommandIdentity;
  if (commandIdentity !== 'isolated' && commandIdentity !== 'vm') {
    throw new ConfigurationError(
      `input command-identity must be isolated (the default: the command cannot use the VM's service account) or vm (it may); got ${JSON.stringify(commandIdentity)}`,
    );
  }
  const commandCredentials = (read('command-credentials').trim().toLowerCase() ||
    'none') as CommandCredentials;
  if (commandCredentials !== 'none' && commandCredentials !== 'experiment') {
    throw new ConfigurationError(
      `input command-credentials must be none (the default) or experiment (a Cloud Storage token limited to the experiment's own objects); got ${JSON.stringify(commandCredentials)}`,
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const runId = read('run-id').trim() || ctx.runId;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(`input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`);
  }
  const prefix = (read('prefix').trim() || 'gce-matrix').replace(/^\/+|\/+$/g, '');
  const timeoutMinutes = number(read, 'timeout-minutes', 60, 1, 7 * 24 * 60);
  const containerImage = read('container-image').trim() || undefined;
  const services = parseServices(read('services'), 'input services');
  if (services.length > 0 && containerImage !== undefined) {
    throw new ConfigurationError(
      'input services cannot be combined with container-image yet: services publish their ports on the VM, where a command in a container does not reach them; run the command on the VM (leave container-image out)',
    );
  }
  const resourcesText = read('resources').trim();
  const resources = resourcesText ? parseResources(resourcesText, 'input resources') : undefined;
  const members = experiment.members ?? [];
  const accelerators = parseAccelerators(read('accelerators'));
  const bootDiskSizeGb = integer(read, 'boot-disk-size-gb', DEFAULT_BOOT_DISK_GB, 10, 65536);
  checkPacking(
    machineType,
    resources,
    members.length,
    {
      resources: resourcesText ? 'input resources' : 'input resources (not set: 1 CPU each)',
      perVm: `input experiment ${experiment.id} (a packed leg of ${members.length})`,
      machineType: 'input machine-type',
    },
    { gpus: accelerators.reduce((n, a) => n + a.count, 0), bootDiskGb: bootDiskSizeGb },
  );
  return {
    project,
    zones,
    region,
    machineType,
    image: read('image').trim() || 'projects/debian-cloud/global/images/family/debian-12',
    containerImage,
    bootDiskSizeGb,
    bootDiskType: read('boot-disk-type').trim() || 'pd-balanced',
    accelerators,
    provisioning,
    network: read('network').trim() || undefined,
    subnetwork: read('subnetwork').trim() || undefined,
    externalIp: readBoolean(read, 'external-ip', true),
    vmServiceAccount,
    vmSelfDeleteRole,
    commandIdentity,
    commandCredentials,
    labels: parseLabels(read('labels')),
    experiment,
    members,
    resources,
    command: required(read, 'command', 'the command the VM runs for the experiment'),
    inputs: parseInputs(read('inputs')),
    secrets: parseSecrets(read('secrets'), project),
    services,
    results: { bucket, prefix, runId },
    timeoutMinutes,
    maxAttempts: integer(read, 'max-attempts', 3, 1, 20),
    retryOnFailure: readBoolean(read, 'retry-on-failure', false),
    rerunCheckpoint: parseRerunCheckpoint(read('rerun-checkpoint')),
    heartbeatSeconds: integer(read, 'heartbeat-seconds', 10, 1, 3600),
    checkpointIntervalSeconds: integer(read, 'checkpoint-interval', 300, 0, 86400),
    logIntervalSeconds: integer(read, 'log-interval-seconds', 10, 1, 3600),
    detach: readBoolean(read, 'detach', false),
    waitTimeoutMinutes: number(read, 'wait-timeout-minutes', DEFAULT_WAIT_TIMEOUT_MINUTES, 0.05, 7 * 24 * 60),
    repository: ctx.repository,
    sha: ctx.sha,
    source: parseSource(read, ctx),
    github: {
      token: readInput('github-token').trim() || undefined,
      apiUrl: ctx.apiUrl ?? 'https://api.github.com',
    },
    githubRunAttempt: ctx.runAttempt,
    workloadIdentityProvider,
    serviceAccount,
  };
}

function parseRerunCheckpoint(text: string): LaunchSettings['rerunCheckpoint'] {
  const v = text.trim() || 'auto';
  if (v !== 'auto' && v !== 'keep' && v !== 'clean') {
    throw new ConfigurationError(
      `input rerun-checkpoint must be auto (resume after a preemption or lost VM, else start clean), keep or clean (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}
