import type { protos } from '@google-cloud/compute';
import { ConfigurationError } from '../errors.ts';
import type { ComputeApi } from '../gcp/compute.ts';
import { GcpError } from '../gcp/errors.ts';
import type { LaunchLogger } from './experiment.ts';
import type { LaunchSettings } from './settings.ts';
import { withZones } from './zones.ts';

type Image = protos.google.cloud.compute.v1.IImage;

/** Where the `image` input points: one image by name, or the newest image of a family. */
export interface ImageRef {
  readonly project: string;
  readonly kind: 'image' | 'family';
  readonly name: string;
}

/** Where the checks report what they found and which zones they leave out. */
export type CheckLog = Pick<LaunchLogger, 'info' | 'warning'>;

const PROJECT_ID = /^(?:[-a-z0-9.]+:)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** Image and family names; an image may also be given by its numeric id. */
const RESOURCE_NAME = /^(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?|[1-9][0-9]{0,19})$/;
const IMAGE_PATH = /^projects\/([^/]+)\/global\/images\/(?:(family)\/)?([^/]+)$/;
const EXAMPLE_IMAGE = 'projects/debian-cloud/global/images/family/debian-12';

/**
 * Reads the `image` input in every form launch passes on as the boot disk's `sourceImage`: a URL of the Compute
 * Engine API, `projects/P/global/images/NAME`, `projects/P/global/images/family/F`, `global/images/...` (the
 * launching project's own images) and the same without the leading `projects/`.
 */
export function parseImageInput(image: string, ownProject: string): ImageRef {
  const text = image.trim();
  const url = /^https:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\/(projects\/.+)$/.exec(text);
  const resourcePath = url
    ? url[1]
    : text.startsWith('global/')
      ? `projects/${ownProject}/${text}`
      : text.startsWith('projects/')
        ? text
        : `projects/${text}`;
  const m = IMAGE_PATH.exec(resourcePath ?? '');
  if (!m || !PROJECT_ID.test(m[1] ?? '') || !RESOURCE_NAME.test(m[3] ?? '')) {
    throw new ConfigurationError(
      `input image ${JSON.stringify(image)} is not an image or an image family: give ` +
        `projects/PROJECT/global/images/NAME or projects/PROJECT/global/images/family/FAMILY, e.g. ${EXAMPLE_IMAGE}`,
    );
  }
  return { project: m[1] ?? '', kind: m[2] ? 'family' : 'image', name: m[3] ?? '' };
}

/** How a message names an image reference. */
export function describeImage(ref: ImageRef): string {
  return ref.kind === 'family'
    ? `image family ${ref.name} of project ${ref.project}`
    : `image ${ref.name} of project ${ref.project}`;
}

/**
 * Whether an image Compute Engine returned can boot a new VM: an error when it is obsolete, deleted or not
 * ready (the insert would be refused), a warning when it is only deprecated.
 */
export function imageUsability(image: Image): { error?: string; warning?: string } {
  const name = image.name ?? 'the image';
  const state = image.deprecated?.state ?? undefined;
  const replacement = image.deprecated?.replacement
    ? `; its replacement is ${image.deprecated.replacement.replace(/^https:\/\/[^/]+\/compute\/v1\//, '')}`
    : '';
  if (state === 'OBSOLETE' || state === 'DELETED') {
    return { error: `${name} is ${state.toLowerCase()} and can no longer boot a VM${replacement}` };
  }
  if (image.status && image.status !== 'READY') {
    return { error: `${name} is ${image.status}, not READY` };
  }
  if (state === 'DEPRECATED') return { warning: `${name} is deprecated${replacement}` };
  return {};
}

/**
 * A ConfigurationError for a get the launching identity may not make, or undefined for any other failure.
 * `input` is how the message starts (`input image X`), `what` the resource it could not read.
 */
function permissionError(
  err: unknown,
  input: string,
  what: string,
  fix: string,
): ConfigurationError | undefined {
  if (!(err instanceof GcpError) || err.failure.kind !== 'permission') return undefined;
  return new ConfigurationError(
    `${input}: the launching identity may not read ${what} (${err.failure.message}); ${fix}`,
  );
}

/** What one zone said about the machine type: offered, absent, or refused with Compute Engine's reason. */
interface MachineTypeAnswer {
  readonly zone: string;
  readonly offered: boolean;
  /** Compute Engine's 400 message, e.g. for a custom type whose shape its series does not allow. */
  readonly refusal?: string;
}

async function askForMachineType(
  settings: LaunchSettings,
  compute: ComputeApi,
  zone: string,
): Promise<MachineTypeAnswer> {
  try {
    return { zone, offered: (await compute.getMachineType(zone, settings.machineType)) !== undefined };
  } catch (err) {
    if (err instanceof GcpError && err.failure.kind === 'invalid') {
      return { zone, offered: false, refusal: err.failure.message };
    }
    throw (
      permissionError(
        err,
        `input machine-type (${settings.machineType})`,
        'machine types (compute.machineTypes.get)',
        `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`,
      ) ?? err
    );
  }
}

/** Throws naming input `zones` when Compute Engine has no zone of that name. */
async function requireZone(settings: LaunchSettings, compute: ComputeApi, zone: string): Promise<void> {
  let found: Awaited<ReturnType<ComputeApi['getZone']>>;
  try {
    found = await compute.getZone(zone);
  } catch (err) {
    throw (
      permissionError(
        err,
        'input zones',
        `zone ${zone} (compute.zones.get)`,
        `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`,
      ) ?? err
    );
  }
  if (!found) {
    throw new ConfigurationError(
      `input zones: zone ${zone} does not exist in Compute Engine (project ${settings.project}); ` +
        'correct its name (zones look like us-central1-a) or give a region instead',
    );
  }
}

/** The image the settings name, checked to exist, to be readable and to be able to boot a VM. */
async function checkImage(settings: LaunchSettings, compute: ComputeApi, log: CheckLog): Promise<void> {
  const ref = parseImageInput(settings.image, settings.project);
  const what = describeImage(ref);
  let image: Image | undefined;
  try {
    image =
      ref.kind === 'family'
        ? await compute.getImageFromFamily(ref.project, ref.name)
        : await compute.getImage(ref.project, ref.name);
  } catch (err) {
    if (err instanceof GcpError && err.failure.kind === 'invalid') image = undefined;
    else {
      throw (
        permissionError(
          err,
          `input image ${settings.image}`,
          what,
          `grant it roles/compute.imageUser on project ${ref.project}, or choose a public image such as ${EXAMPLE_IMAGE}`,
        ) ?? err
      );
    }
  }
  if (!image) {
    throw new ConfigurationError(
      `input image ${settings.image}: Compute Engine has no ${what}` +
        `${ref.kind === 'family' ? ' (or no image of it that is not deprecated)' : ''}; ` +
        `correct the name, e.g. ${EXAMPLE_IMAGE}`,
    );
  }
  const usable = imageUsability(image);
  if (usable.error) {
    throw new ConfigurationError(`input image ${settings.image}: ${usable.error}; choose another image`);
  }
  if (usable.warning) log.warning(`input image ${settings.image}: ${usable.warning}.`);
  if (ref.kind === 'family') log.info(`Image family ${ref.name} of ${ref.project} is ${image.name ?? '?'}.`);
}

/**
 * The zones that offer every accelerator type the settings ask for, after checking that each type is offered in
 * at least one of `zones` and that no VM would get more cards of a type than Compute Engine allows.
 */
async function zonesWithAccelerators(
  settings: LaunchSettings,
  compute: ComputeApi,
  zones: readonly string[],
  log: CheckLog,
): Promise<string[]> {
  const types = [...new Set(settings.accelerators.map((a) => a.type))];
  if (types.length === 0) return [...zones];
  const offered = await Promise.all(
    types.map(async (type) => {
      const perZone = await Promise.all(
        zones.map(async (zone) => {
          try {
            return { zone, found: await compute.getAcceleratorType(zone, type) };
          } catch (err) {
            throw (
              permissionError(
                err,
                'input accelerators',
                'accelerator types (compute.acceleratorTypes.get)',
                `grant it roles/compute.instanceAdmin.v1 on project ${settings.project}`,
              ) ?? err
            );
          }
        }),
      );
      return { type, perZone };
    }),
  );
  for (const { type, perZone } of offered) {
    const found = perZone.flatMap((z) => (z.found ? [z.found] : []));
    if (found.length === 0) {
      throw new ConfigurationError(
        `input accelerators: ${type} is offered in none of the zones ${zones.join(', ')}` +
          `${zones.length < settings.zones.length ? ` (the zones that offer machine type ${settings.machineType})` : ''}; ` +
          'list zones that offer it, or choose another accelerator type',
      );
    }
    const limits = found.map((a) => a.maximumCardsPerInstance ?? Infinity);
    const limit = Math.min(...limits);
    const wanted = settings.accelerators.filter((a) => a.type === type).reduce((n, a) => n + a.count, 0);
    if (wanted > limit) {
      throw new ConfigurationError(
        `input accelerators: ${wanted} × ${type} on one VM; Compute Engine attaches at most ${limit}. ` +
          `Ask for ${limit} or fewer`,
      );
    }
  }
  const kept: string[] = [];
  for (const zone of zones) {
    const missing = offered.filter((o) => !o.perZone.find((z) => z.zone === zone)?.found).map((o) => o.type);
    if (missing.length === 0) kept.push(zone);
    else log.warning(`Leaving out zone ${zone}: it has no ${missing.join(' or ')} accelerators.`);
  }
  if (kept.length === 0) {
    throw new ConfigurationError(
      `input accelerators: none of the zones ${zones.join(', ')} offers ${types.join(' and ')} together; ` +
        'list zones that offer all of them, or ask for fewer accelerator types',
    );
  }
  return kept;
}

/**
 * Checks with Compute Engine, before the first VM is created, that what the settings ask for exists: each listed
 * zone, the machine type (in at least one zone; custom types are checked by Compute Engine's get), the image or
 * image family (readable by the launching identity and able to boot), and each accelerator type and its count.
 * Returns the settings with only the zones that offer the machine type and every accelerator type, warning for
 * each zone it leaves out; throws a ConfigurationError naming the input and the fix. Requests: one machine type
 * get per zone, one image get, one accelerator type get per remaining zone and type, and a zone get only for a
 * zone whose machine type get failed.
 */
export async function checkComputeResources(
  settings: LaunchSettings,
  compute: ComputeApi,
  log: CheckLog,
): Promise<LaunchSettings> {
  // A malformed image input needs no request to be refused.
  parseImageInput(settings.image, settings.project);
  const answers = await Promise.all(settings.zones.map((zone) => askForMachineType(settings, compute, zone)));
  // Only a failed machine type get costs a zone get: was it the zone that does not exist?
  for (const { zone, offered } of answers) if (!offered) await requireZone(settings, compute, zone);
  const withMachineType = answers.filter((a) => a.offered).map((a) => a.zone);
  if (withMachineType.length === 0) {
    const refusal = answers.find((a) => a.refusal !== undefined)?.refusal;
    throw new ConfigurationError(
      `input machine-type (${settings.machineType}) is offered in none of the zones ${settings.zones.join(', ')}` +
        `${refusal ? ` (Compute Engine: ${refusal})` : ''}; choose a machine type these zones offer, ` +
        `or list zones (or a region) that offer ${settings.machineType}`,
    );
  }
  for (const { zone, offered, refusal } of answers) {
    if (offered) continue;
    log.warning(
      refusal
        ? `Leaving out zone ${zone}: Compute Engine refuses machine type ${settings.machineType} there (${refusal}).`
        : `Leaving out zone ${zone}: it does not offer machine type ${settings.machineType}.`,
    );
  }
  await checkImage(settings, compute, log);
  const zones = await zonesWithAccelerators(settings, compute, withMachineType, log);
  return zones.length === settings.zones.length ? settings : { ...settings, zones };
}

/**
 * `checkComputeResources` for the experiments of a run, with each one's zones filled in from its region first;
 * experiments that ask for the same VM (zones or region, machine type, image, accelerators) share one check.
 */
export async function checkEachExperiment(
  all: readonly LaunchSettings[],
  compute: ComputeApi,
  log: CheckLog,
): Promise<LaunchSettings[]> {
  const checked = new Map<string, readonly string[]>();
  const out: LaunchSettings[] = [];
  for (const settings of all) {
    const key = JSON.stringify([
      settings.project,
      settings.zones,
      settings.region,
      settings.machineType,
      settings.image,
      settings.accelerators,
    ]);
    let zones = checked.get(key);
    if (zones === undefined) {
      zones = (await checkComputeResources(await withZones(settings, compute), compute, log)).zones;
      checked.set(key, zones);
    }
    out.push({ ...settings, zones });
  }
  return out;
}
