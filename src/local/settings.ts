import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';
import type { InputReader, RunContext } from '../launch/inputs.ts';
import { parseLaunchInputs } from '../launch/inputs.ts';
import type { Experiment, LaunchSettings } from '../launch/settings.ts';

/** The bucket name a local run's results directory stands for. */
export const LOCAL_BUCKET = 'gce-matrix-local';

/** The project a local run's metadata server reports. */
export const LOCAL_PROJECT = 'gce-matrix-local';

/**
 * What a local run puts where Compute Engine settings are required: the machine itself is the only "zone".
 * These never reach Google; they only let the local run check the rest with the same parser as the action.
 */
const LOCAL_PLACEHOLDERS: Readonly<Record<string, string>> = {
  project: LOCAL_PROJECT,
  zones: 'local-machine1-a',
  region: '',
  bucket: LOCAL_BUCKET,
  'vm-service-account': `gce-matrix-local@${LOCAL_PROJECT}.iam.gserviceaccount.com`,
  'workload-identity-provider': '',
  'service-account': '',
};

/** Settings with local defaults: heartbeats and log chunks come faster than on a VM, where they cost requests. */
const LOCAL_DEFAULTS: Readonly<Record<string, string>> = {
  'heartbeat-seconds': '5',
  'log-interval-seconds': '2',
  'max-attempts': '1',
};

/** Launch inputs that describe a Compute Engine VM and mean nothing on this machine. */
export const CLOUD_ONLY_INPUTS = [
  'zones',
  'region',
  'machine-type',
  'image',
  'boot-disk-size-gb',
  'boot-disk-type',
  'accelerators',
  'provisioning',
  'network',
  'subnetwork',
  'external-ip',
  'labels',
] as const;

/** Where an experiment's launch settings come from, strongest first: its own `launch`, then the command line. */
export function settingsReader(experiment: Experiment, given: Readonly<Record<string, string>>): InputReader {
  return (name) => experiment.launch?.[name] ?? given[name] ?? '';
}

/**
 * The launch settings of one experiment of a local run, checked by the same parser as actions/launch, so a
 * spec that runs locally means the same on Compute Engine. `given` holds `--input` values.
 */
export function localLaunchSettings(
  experiment: Experiment,
  given: Readonly<Record<string, string>>,
  ctx: RunContext,
): LaunchSettings {
  const read = settingsReader(experiment, given);
  if (!read('command').trim() && !read('container-image').trim()) {
    throw new ConfigurationError(
      `experiment ${experiment.id}: no command; set one for every experiment in the spec's launch block ` +
        `(launch: { command: "..." }) or give --input command=...`,
    );
  }
  if (read('inputs').trim()) {
    throw new ConfigurationError(
      `experiment ${experiment.id}: inputs (staged gs:// objects) need Cloud Storage; a local run cannot read them. ` +
        'Read local files from the command instead, or run with --cloud',
    );
  }
  const local: InputReader = (name) => {
    if (Object.hasOwn(LOCAL_PLACEHOLDERS, name)) return LOCAL_PLACEHOLDERS[name];
    const value = read(name);
    return value.trim() === '' && Object.hasOwn(LOCAL_DEFAULTS, name) ? LOCAL_DEFAULTS[name] : value;
  };
  // parseLaunchInputs lets an experiment's own launch object win; the placeholders must win over it here.
  const bare = {
    id: experiment.id,
    params: experiment.params,
    ...(experiment.members ? { members: experiment.members } : {}),
  };
  try {
    return parseLaunchInputs((name) => (name === 'experiment' ? JSON.stringify(bare) : local(name)), ctx);
  } catch (err) {
    if (err instanceof ConfigurationError) {
      throw new ConfigurationError(
        `experiment ${experiment.id}: ${err.message.replace(/^input /, 'launch setting ')}`,
      );
    }
    throw err;
  }
}

/** The cloud-only settings a spec gives, which a local run ignores (said once, not per experiment). */
export function ignoredCloudSettings(
  experiments: readonly Experiment[],
  given: Readonly<Record<string, string>>,
): string[] {
  const names = new Set<string>();
  for (const name of CLOUD_ONLY_INPUTS) {
    if (given[name]?.trim()) names.add(name);
    for (const e of experiments) if (e.launch?.[name]?.trim()) names.add(name);
  }
  return [...names];
}

/** Whether docker or podman is an executable on `pathEnv` (the agent uses whichever it finds, docker first). */
export function hasContainerEngine(pathEnv: string | undefined = process.env.PATH): boolean {
  for (const dir of (pathEnv ?? '').split(path.delimiter).filter(Boolean)) {
    for (const engine of ['docker', 'podman']) {
      try {
        accessSync(path.join(dir, engine), constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/**
 * Refuses a local run whose experiments have services when this machine has no container engine to run them,
 * before any experiment starts.
 */
export function checkLocalServices(
  settings: readonly LaunchSettings[],
  pathEnv: string | undefined = process.env.PATH,
): void {
  const first = settings.find((s) => s.services.length > 0);
  if (first === undefined || hasContainerEngine(pathEnv)) return;
  throw new ConfigurationError(
    `experiment ${first.experiment.id}: services need a container engine, and this machine has neither docker nor podman on PATH; install one, or run with --cloud`,
  );
}
