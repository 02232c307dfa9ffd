import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ConfigurationError,
  getState,
  saveState
} from "./chunk-F4TJMFJC.js";

// src/launch/zones.ts
async function withZones(settings, compute) {
  if (settings.zones.length > 0) return settings;
  const zones = await compute.zonesOfRegion(settings.region ?? "");
  if (zones.length === 0) {
    throw new ConfigurationError(
      `input region ${settings.region ?? ""} has no zone that is UP in project ${settings.project}; list zones instead`
    );
  }
  return { ...settings, zones };
}

// src/launch/state.ts
var KEY = "gce-matrix-launch";
function saveLaunchState(state) {
  saveState(KEY, JSON.stringify(state));
}
function readLaunchState() {
  const raw = getState(KEY);
  if (!raw) return void 0;
  try {
    return JSON.parse(raw);
  } catch {
    return void 0;
  }
}

export {
  withZones,
  saveLaunchState,
  readLaunchState
};
