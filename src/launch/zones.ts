import { ConfigurationError } from '../errors.ts';
import type { ComputeApi } from '../gcp/compute.ts';
import type { LaunchSettings } from './settings.ts';

/** The settings with their zone list filled in from `region` when no zones were listed. */
export async function withZones(settings: LaunchSettings, compute: ComputeApi): Promise<LaunchSettings> {
  if (settings.zones.length > 0) return settings;
  const zones = await compute.zonesOfRegion(settings.region ?? '');
  if (zones.length === 0) {
    throw new ConfigurationError(
      `input region ${settings.region ?? ''} has no zone that is UP in project ${settings.project}; list zones instead`,
    );
  }
  return { ...settings, zones };
}
