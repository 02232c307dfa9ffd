import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);

// src/layout.ts
function runPrefix(loc) {
  const head = loc.prefix.replace(/^\/+|\/+$/g, "");
  return `${head ? `${head}/` : ""}runs/${loc.runId}/`;
}
function experimentPrefix(loc, experimentId) {
  return `${runPrefix(loc)}experiments/${experimentId}/`;
}
function experimentObjects(loc, experimentId) {
  const base = experimentPrefix(loc, experimentId);
  return {
    base,
    status: `${base}status.json`,
    heartbeat: `${base}heartbeat.json`,
    outputs: `${base}outputs/`,
    metrics: `${base}outputs/metrics.json`,
    checkpoint: `${base}checkpoint/`,
    logs: (attempt) => `${base}attempts/${attempt}/log/`
  };
}
function gsUri(bucket, name = "") {
  return `gs://${bucket}/${name}`;
}
var STATES = ["succeeded", "failed", "preempted", "error"];
function parseStatus(text, objectName) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${objectName} is not valid JSON: ${err.message}`);
  }
  const s = value;
  if (!s || typeof s !== "object") throw new Error(`${objectName} is not a JSON object`);
  if (s.schema !== 1)
    throw new Error(`${objectName} has schema ${String(s.schema)}; this gce-matrix reads schema 1`);
  if (!s.state || !STATES.includes(s.state))
    throw new Error(`${objectName} has an unknown state ${String(s.state)}`);
  if (typeof s.attempt !== "number") throw new Error(`${objectName} has no attempt number`);
  if (!Array.isArray(s.outputs)) throw new Error(`${objectName} has no outputs list`);
  return s;
}

export {
  runPrefix,
  experimentPrefix,
  experimentObjects,
  gsUri,
  parseStatus
};
