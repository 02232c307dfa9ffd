import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ConfigurationError
} from "./chunk-I5G4NHP3.js";

// src/naming.ts
import { createHash } from "node:crypto";
var RESOURCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
var LABEL_KEY = /^[a-z][-_a-z0-9]{0,62}$/;
var LABEL_VALUE = /^[-_a-z0-9]{0,63}$/;
var EXPERIMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
function validateExperimentId(id, input = "experiment id") {
  if (!EXPERIMENT_ID.test(id)) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(id)} is not valid: use 1-200 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit`
    );
  }
}
function shortHash(text, length) {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}
function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}
function instanceName(runId, experimentId, attempt) {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > 99) {
    throw new ConfigurationError(`attempt must be a whole number from 1 to 99 (got ${attempt})`);
  }
  const hash = shortHash(`${runId}\0${experimentId}`, 8);
  const suffix = `-${hash}-a${attempt}`;
  const run = slug(runId).slice(0, 16).replace(/-+$/, "");
  const head = run ? `gcem-${run}` : "gcem";
  const room = 63 - head.length - suffix.length - 1;
  const exp = slug(experimentId).slice(0, Math.max(0, room)).replace(/-+$/, "");
  const name = exp ? `${head}-${exp}${suffix}` : `${head}${suffix}`;
  if (!RESOURCE_NAME.test(name)) throw new Error(`bug: instance name ${name} is not a valid resource name`);
  return name;
}
function labelValue(text) {
  const cleaned = text.toLowerCase().replace(/[^-_a-z0-9]+/g, "_");
  if (cleaned.length <= 63) return cleaned;
  return `${cleaned.slice(0, 54)}-${shortHash(text, 8)}`;
}
function validateLabels(labels, input = "labels") {
  const keys = Object.keys(labels);
  if (keys.length > 64)
    throw new ConfigurationError(`${input}: at most 64 labels are allowed (got ${keys.length})`);
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) {
      throw new ConfigurationError(
        `${input}: label key ${JSON.stringify(key)} is not valid: start with a lower-case letter, then up to 62 of a-z 0-9 _ -`
      );
    }
    if (!LABEL_VALUE.test(value)) {
      throw new ConfigurationError(
        `${input}: label ${key}=${JSON.stringify(value)} has an invalid value: up to 63 of a-z 0-9 _ -`
      );
    }
  }
}

export {
  EXPERIMENT_ID,
  validateExperimentId,
  instanceName,
  labelValue,
  validateLabels
};
