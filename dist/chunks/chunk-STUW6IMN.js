import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  ConfigurationError,
  SERVICE_ACCOUNT_EMAIL,
  parseAuthInputs,
  readBoolean,
  readBucket,
  readProject,
  runPrefix,
  validateExperimentId,
  validateLabels
} from "./chunk-AEMUHN6J.js";

// src/source/snapshot.ts
var SOURCE_SCHEMA = 1;
var SHA256 = /^[0-9a-f]{64}$/;
var FULL_SHA = /^[0-9a-f]{40}$/;
function parseSourceRef(text, input = "input source-ref") {
  const ref = text.trim();
  if (!ref) return void 0;
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$/.test(ref) || ref.includes("..") || ref.endsWith("/")) {
    throw new ConfigurationError(
      `${input} ${JSON.stringify(ref)} is not a branch, tag or commit SHA of the repository`
    );
  }
  return ref;
}
var COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
function sourceObjects(loc) {
  const base = `${runPrefix(loc)}source/`;
  return {
    prefix: base,
    archive: (sha256) => `${base}sha256-${sha256}.tar.gz`,
    manifest: (key) => `${base}${key}.json`,
    lock: (key) => `${base}${key}.lock`
  };
}
function commitKey(commit) {
  if (!COMMIT.test(commit)) throw new Error(`not a full commit SHA: ${JSON.stringify(commit)}`);
  return `commit-${commit}`;
}
function treeKey(sha256) {
  return `tree-${sha256}`;
}
function manifestText(m) {
  return `${JSON.stringify(m)}
`;
}
function parseManifest(text, name) {
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${name} is not JSON`);
  }
  const m = v;
  if (!m || typeof m !== "object") throw new Error(`${name} is not a JSON object`);
  if (m.schema !== SOURCE_SCHEMA) {
    throw new Error(`${name} has schema ${String(m.schema)}; this gce-matrix reads ${SOURCE_SCHEMA}`);
  }
  const ok = typeof m.repository === "string" && typeof m.commit === "string" && typeof m.object === "string" && typeof m.sha256 === "string" && SHA256.test(m.sha256) && Number.isSafeInteger(m.size) && Number.isSafeInteger(m.unpackedBytes) && typeof m.createdAt === "string" && ["github", "worktree", "head", "directory"].includes(m.origin ?? "");
  if (!ok) throw new Error(`${name} lacks a field or has one of the wrong type`);
  return { ...m, dirty: m.dirty === true };
}
function sourceAttribute(m) {
  return [
    `object=${m.object}`,
    `sha256=${m.sha256}`,
    `size=${m.size}`,
    `commit=${m.commit}`,
    `unpacked-bytes=${m.unpackedBytes}`
  ].join("\n");
}
var IMAGE_RESERVE_GB = 10;
function checkFitsBootDisk(m, bootDiskSizeGb) {
  const gib = 1024 ** 3;
  const need = m.size + m.unpackedBytes;
  const room = (bootDiskSizeGb - IMAGE_RESERVE_GB) * gib;
  if (need > room) {
    const wanted = Math.ceil(need / gib) + IMAGE_RESERVE_GB + 10;
    throw new ConfigurationError(
      `the source snapshot of ${m.commit.slice(0, 12)} needs ${(need / gib).toFixed(1)} GiB on the VM (archive and unpacked tree), more than boot-disk-size-gb ${bootDiskSizeGb} leaves beside the image (${IMAGE_RESERVE_GB} GiB); set boot-disk-size-gb to ${wanted} or more, or source: none with the code in the image`
    );
  }
}

// src/launch/inputs.ts
var DEFAULT_WAIT_TIMEOUT_MINUTES = 330;
var ZONE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
var MACHINE_TYPE = /^[a-z][-a-z0-9]{0,62}$/;
var SECRET = /^projects\/[^/\s]+\/secrets\/[A-Za-z0-9_-]{1,255}\/versions\/(latest|[0-9]+)$/;
var ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
function list(text) {
  return text.split(/[\n,]/).map((s) => s.trim()).filter((s) => s.length > 0);
}
function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter((s) => s.length > 0 && !s.startsWith("#"));
}
function required(read, name, hint) {
  const value = read(name).trim();
  if (!value) throw new ConfigurationError(`input ${name} is required: ${hint}`);
  return value;
}
function number(read, name, fallback, min, max) {
  const raw = read(name).trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(
      `input ${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`
    );
  }
  return value;
}
function integer(read, name, fallback, min, max) {
  const value = number(read, name, fallback, min, max);
  if (!Number.isInteger(value)) {
    throw new ConfigurationError(`input ${name} must be a whole number (got ${value})`);
  }
  return value;
}
function parseExperiment(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(
      `input experiment is not valid JSON (${err.message}); pass the plan's matrix entry, e.g. \${{ toJSON(matrix.experiment) }}`
    );
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigurationError(
      'input experiment must be a JSON object like {"id": "tool-a", "params": {"tool": "a"}}'
    );
  }
  const { id, params, launch } = value;
  if (typeof id !== "string") throw new ConfigurationError('input experiment has no string "id"');
  validateExperimentId(id, "input experiment id");
  const out = {};
  if (params !== void 0) {
    if (!params || typeof params !== "object" || Array.isArray(params)) {
      throw new ConfigurationError(
        'input experiment "params" must be an object of names to strings, numbers or booleans'
      );
    }
    for (const [k, v] of Object.entries(params)) {
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        throw new ConfigurationError(
          `input experiment parameter ${JSON.stringify(k)} must be a string, number or boolean`
        );
      }
      out[k] = v;
    }
  }
  return launch === void 0 ? { id, params: out } : { id, params: out, launch: parseOverrides(launch) };
}
var OVERRIDABLE_INPUTS = [
  "zones",
  "machine-type",
  "image",
  "container-image",
  "boot-disk-size-gb",
  "boot-disk-type",
  "accelerators",
  "provisioning",
  "timeout-minutes",
  "max-attempts",
  "retry-on-failure",
  "checkpoint-interval",
  "detach",
  "command",
  "inputs",
  "secrets",
  "command-identity",
  "command-credentials",
  "labels",
  "source",
  "source-ref"
];
function parseOverrides(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigurationError(
      'input experiment "launch" must be an object of input names to values, e.g. {"machine-type": "n2-standard-8"}'
    );
  }
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (!OVERRIDABLE_INPUTS.includes(key)) {
      throw new ConfigurationError(
        `input experiment "launch" sets ${JSON.stringify(key)}, which an experiment cannot override; it may set ${OVERRIDABLE_INPUTS.join(", ")}`
      );
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new ConfigurationError(
        `input experiment "launch" value of ${key} must be a string, number or boolean`
      );
    }
    out[key] = String(v);
  }
  return out;
}
function parseAccelerators(text) {
  return list(text).map((spec) => {
    const m = /^([a-z][-a-z0-9]*)(?::([0-9]+))?$/.exec(spec);
    if (!m)
      throw new ConfigurationError(
        `input accelerators: ${JSON.stringify(spec)} is not TYPE:COUNT (e.g. nvidia-l4:1)`
      );
    const count = m[2] === void 0 ? 1 : Number(m[2]);
    if (count < 1 || count > 16)
      throw new ConfigurationError(`input accelerators: count in ${spec} must be 1-16`);
    return { type: m[1], count };
  });
}
function parseInputs(text) {
  return lines(text).map((line) => {
    const [source, dest, extra] = line.split(/\s+/);
    if (!source || extra !== void 0 || !/^gs:\/\/[a-z0-9][-_.a-z0-9]*\/\S+$/.test(source)) {
      throw new ConfigurationError(
        `input inputs: ${JSON.stringify(line)} is not "gs://bucket/object [destination]"`
      );
    }
    const target = dest ?? source.replace(/\/+$/, "").split("/").pop();
    const parts = target.replace(/\/$/, "").split("/");
    if (target.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new ConfigurationError(
        `input inputs: destination ${JSON.stringify(target)} must be a relative path without ., .. or empty parts (e.g. data/set.tar)`
      );
    }
    return { source, dest: target };
  });
}
function reservedSecretEnv(env) {
  if (env === "PATH" || env === "HOME") return `the command runs with the VM's own ${env}`;
  if (env.startsWith("GCE_MATRIX_")) return "gce-matrix sets the GCE_MATRIX_ variables itself";
  return void 0;
}
function parseSecrets(text, project) {
  return lines(text).map((line) => {
    const eq = line.indexOf("=");
    const env = eq > 0 ? line.slice(0, eq).trim() : "";
    let resource = eq > 0 ? line.slice(eq + 1).trim() : "";
    if (!env || !resource) {
      throw new ConfigurationError(
        `input secrets: ${JSON.stringify(line.slice(0, 80))} is not "ENV_NAME=projects/P/secrets/S/versions/V"`
      );
    }
    if (!ENV_NAME.test(env)) {
      throw new ConfigurationError(
        `input secrets: ${JSON.stringify(env.slice(0, 80))} is not a variable name; ENV_NAME takes letters, digits and _, not starting with a digit (e.g. API_KEY=${resource})`
      );
    }
    const reserved = reservedSecretEnv(env);
    if (reserved) {
      throw new ConfigurationError(
        `input secrets: ${env} cannot hold a secret (${reserved}); give it another variable name, e.g. MY_${env.replace(/^GCE_MATRIX_/, "")}=${resource}`
      );
    }
    if (/^[A-Za-z0-9_-]+$/.test(resource))
      resource = `projects/${project}/secrets/${resource}/versions/latest`;
    if (/^projects\/[^/]+\/secrets\/[^/]+$/.test(resource)) resource += "/versions/latest";
    if (!SECRET.test(resource)) {
      throw new ConfigurationError(
        `input secrets: ${env} must reference projects/P/secrets/S/versions/V (got ${resource})`
      );
    }
    return { env, resource };
  });
}
function parseLabels(text) {
  const labels = {};
  for (const item of list(text)) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigurationError(`input labels: ${JSON.stringify(item)} is not key=value`);
    labels[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  validateLabels(labels, "input labels");
  if (Object.keys(labels).length > 56) {
    throw new ConfigurationError(
      `input labels: at most 56 labels (gce-matrix adds 8 of the 64 Compute Engine allows); got ${Object.keys(labels).length}`
    );
  }
  for (const key of Object.keys(labels)) {
    if (key.startsWith("gce-matrix")) {
      throw new ConfigurationError(
        `input labels: ${key} is reserved for gce-matrix's own labels; choose another key`
      );
    }
  }
  return labels;
}
function runContextFromEnv(env = process.env) {
  return {
    runId: env.GITHUB_RUN_ID ?? "local",
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT ?? "1") || 1,
    repository: env.GITHUB_REPOSITORY ?? "local/local",
    sha: env.GITHUB_SHA ?? "",
    defaultProject: env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || env.GCLOUD_PROJECT || void 0,
    eventName: env.GITHUB_EVENT_NAME ?? "",
    apiUrl: env.GITHUB_API_URL || "https://api.github.com"
  };
}
function pullRequestHeadOf(event) {
  const sha = event?.pull_request?.head?.sha;
  return typeof sha === "string" && /^[0-9a-f]{40}$/.test(sha) ? sha : void 0;
}
function parseSource(read, ctx) {
  const mode = read("source").trim() || "repository";
  if (mode !== "repository" && mode !== "none") {
    throw new ConfigurationError(
      `input source must be repository (the repository at the commit under test becomes the working directory) or none (got ${JSON.stringify(mode)})`
    );
  }
  const given = parseSourceRef(read("source-ref"));
  if (mode === "none") return { mode, ref: given };
  if (given) return { mode, ref: given };
  if (ctx.pullRequestHead) return { mode, ref: ctx.pullRequestHead };
  if (ctx.eventName === "issue_comment") return { mode, ref: void 0 };
  return { mode, ref: ctx.sha || void 0 };
}
function parseLaunchInputs(readInput, ctx) {
  const experiment = parseExperiment(
    required(readInput, "experiment", "pass the matrix entry of the plan step")
  );
  const overrides = experiment.launch ?? {};
  const read = (name) => overrides[name] ?? readInput(name);
  const project = readProject(read, ctx.defaultProject);
  const zones = list(read("zones"));
  for (const z of zones) {
    if (!ZONE.test(z))
      throw new ConfigurationError(`input zones: ${JSON.stringify(z)} is not a zone name like us-central1-a`);
  }
  const region = read("region").trim() || void 0;
  if (region !== void 0 && !/^[a-z]+-[a-z]+[0-9]+$/.test(region)) {
    throw new ConfigurationError(
      `input region ${JSON.stringify(region)} is not a region name like us-central1`
    );
  }
  if (zones.length === 0 && region === void 0) {
    throw new ConfigurationError(
      'input zones (or region) is required: list the zones to try, e.g. "us-central1-a, us-central1-b"'
    );
  }
  const machineType = read("machine-type").trim() || "e2-standard-2";
  if (!MACHINE_TYPE.test(machineType)) {
    throw new ConfigurationError(
      `input machine-type ${JSON.stringify(machineType)} is not a machine type name like n2-standard-4`
    );
  }
  const provisioning = read("provisioning").trim() || "standard";
  if (!["spot", "standard", "spot-then-standard"].includes(provisioning)) {
    throw new ConfigurationError(
      `input provisioning must be spot, standard or spot-then-standard (got ${provisioning})`
    );
  }
  const bucket = readBucket(read, "name the Cloud Storage bucket for results");
  const vmServiceAccount = required(read, "vm-service-account", "the service account email the VM runs as");
  if (!SERVICE_ACCOUNT_EMAIL.test(vmServiceAccount)) {
    throw new ConfigurationError(
      `input vm-service-account ${JSON.stringify(vmServiceAccount)} is not a service account email`
    );
  }
  const vmSelfDeleteRole = read("vm-self-delete-role").trim() || `projects/${project}/roles/gceMatrixSelfDelete`;
  if (!/^(projects|organizations)\/[^/\s]+\/roles\/[A-Za-z0-9_.]{3,64}$|^roles\/[A-Za-z0-9_.]+$/.test(
    vmSelfDeleteRole
  )) {
    throw new ConfigurationError(
      `input vm-self-delete-role ${JSON.stringify(vmSelfDeleteRole)} is not a role name like projects/PROJECT/roles/gceMatrixSelfDelete`
    );
  }
  const commandIdentity = read("command-identity").trim().toLowerCase() || "isolated";
  if (commandIdentity !== "isolated" && commandIdentity !== "vm") {
    throw new ConfigurationError(
      `input command-identity must be isolated (the default: the command cannot use the VM's service account) or vm (it may); got ${JSON.stringify(commandIdentity)}`
    );
  }
  const commandCredentials = read("command-credentials").trim().toLowerCase() || "none";
  if (commandCredentials !== "none" && commandCredentials !== "experiment") {
    throw new ConfigurationError(
      `input command-credentials must be none (the default) or experiment (a Cloud Storage token limited to the experiment's own objects); got ${JSON.stringify(commandCredentials)}`
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const runId = read("run-id").trim() || ctx.runId;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(`input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`);
  }
  const prefix = (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, "");
  const timeoutMinutes = number(read, "timeout-minutes", 60, 1, 7 * 24 * 60);
  return {
    project,
    zones,
    region,
    machineType,
    image: read("image").trim() || "projects/debian-cloud/global/images/family/debian-12",
    containerImage: read("container-image").trim() || void 0,
    bootDiskSizeGb: integer(read, "boot-disk-size-gb", 50, 10, 65536),
    bootDiskType: read("boot-disk-type").trim() || "pd-balanced",
    accelerators: parseAccelerators(read("accelerators")),
    provisioning,
    network: read("network").trim() || void 0,
    subnetwork: read("subnetwork").trim() || void 0,
    externalIp: readBoolean(read, "external-ip", true),
    vmServiceAccount,
    vmSelfDeleteRole,
    commandIdentity,
    commandCredentials,
    labels: parseLabels(read("labels")),
    experiment,
    command: required(read, "command", "the command the VM runs for the experiment"),
    inputs: parseInputs(read("inputs")),
    secrets: parseSecrets(read("secrets"), project),
    results: { bucket, prefix, runId },
    timeoutMinutes,
    maxAttempts: integer(read, "max-attempts", 3, 1, 20),
    retryOnFailure: readBoolean(read, "retry-on-failure", false),
    rerunCheckpoint: parseRerunCheckpoint(read("rerun-checkpoint")),
    heartbeatSeconds: integer(read, "heartbeat-seconds", 10, 1, 3600),
    checkpointIntervalSeconds: integer(read, "checkpoint-interval", 300, 0, 86400),
    logIntervalSeconds: integer(read, "log-interval-seconds", 10, 1, 3600),
    detach: readBoolean(read, "detach", false),
    waitTimeoutMinutes: number(read, "wait-timeout-minutes", DEFAULT_WAIT_TIMEOUT_MINUTES, 0.05, 7 * 24 * 60),
    repository: ctx.repository,
    sha: ctx.sha,
    source: parseSource(read, ctx),
    github: {
      token: readInput("github-token").trim() || void 0,
      apiUrl: ctx.apiUrl ?? "https://api.github.com"
    },
    githubRunAttempt: ctx.runAttempt,
    workloadIdentityProvider,
    serviceAccount
  };
}
function parseRerunCheckpoint(text) {
  const v = text.trim() || "auto";
  if (v !== "auto" && v !== "keep" && v !== "clean") {
    throw new ConfigurationError(
      `input rerun-checkpoint must be auto (resume after a preemption or lost VM, else start clean), keep or clean (got ${JSON.stringify(v)})`
    );
  }
  return v;
}

export {
  SOURCE_SCHEMA,
  FULL_SHA,
  parseSourceRef,
  sourceObjects,
  commitKey,
  treeKey,
  manifestText,
  parseManifest,
  sourceAttribute,
  checkFitsBootDisk,
  OVERRIDABLE_INPUTS,
  runContextFromEnv,
  pullRequestHeadOf,
  parseLaunchInputs
};
