import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ConfigurationError
} from "./chunk-JQUUWNOK.js";

// src/inputs.ts
function readBoolean(read, name, fallback) {
  const raw = read(name).trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigurationError(`input ${name} must be true or false (got ${JSON.stringify(raw)})`);
}
function readInteger(read, name, fallback, min, max) {
  const raw = read(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `input ${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`
    );
  }
  return value;
}
var PROJECT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
var BUCKET_NAME = /^[a-z0-9][-_.a-z0-9]{1,221}[a-z0-9]$/;
function readProject(read, fallback) {
  const project = read("project").trim() || fallback;
  if (!project) {
    throw new ConfigurationError(
      "input project is required (or set GOOGLE_CLOUD_PROJECT, as google-github-actions/auth does)"
    );
  }
  if (!PROJECT_ID.test(project)) {
    throw new ConfigurationError(`input project ${JSON.stringify(project)} is not a Google Cloud project id`);
  }
  return project;
}
function readBucket(read, requiredHint) {
  const bucket = read("bucket").trim().replace(/^gs:\/\//, "").replace(/\/+$/, "");
  if (!bucket) {
    if (requiredHint === void 0) return void 0;
    throw new ConfigurationError(`input bucket is required: ${requiredHint}`);
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigurationError(`input bucket ${JSON.stringify(bucket)} is not a bucket name`);
  }
  return bucket;
}

export {
  readBoolean,
  readInteger,
  readProject,
  readBucket
};
