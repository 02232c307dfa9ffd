import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-T6E4PII2.js";
import {
  DEFAULT_MARGIN_MINUTES,
  DEFAULT_MAX_AGE_HOURS,
  janitorSummary,
  runJanitor
} from "../chunks/chunk-UFLNQFBZ.js";
import "../chunks/chunk-S3KYGDOF.js";
import {
  printable
} from "../chunks/chunk-LJETNWLR.js";
import {
  RunStore
} from "../chunks/chunk-UXA2X36L.js";
import "../chunks/chunk-M3JD4Y6G.js";
import {
  connectGcp
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  ConfigurationError,
  getInput,
  info,
  parseAuthInputs,
  readBucket,
  setFailed,
  setOutput,
  summary
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/janitor/main.ts
function list(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s !== "");
}
function number(read, name, fallback, min, max) {
  const text = read(name).trim();
  if (text === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ConfigurationError(
      `input ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`
    );
  }
  return n;
}
function boolean(read, name) {
  const text = read(name).trim().toLowerCase();
  if (text === "" || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigurationError(`input ${name} must be true or false, got ${JSON.stringify(text)}`);
}
function parseJanitorInputs(read, env) {
  const zones = list(read("zones"));
  for (const z of zones) {
    if (!/^[a-z]+-[a-z]+[0-9]+-[a-z]$/.test(z)) {
      throw new ConfigurationError(`input zones: ${JSON.stringify(z)} is not a zone name like us-central1-a`);
    }
  }
  const regions = list(read("region"));
  for (const r of regions) {
    if (!/^[a-z]+-[a-z]+[0-9]+$/.test(r)) {
      throw new ConfigurationError(
        `input region: ${JSON.stringify(r)} is not a region name like us-central1`
      );
    }
  }
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError(
      "input zones (or region) is required: where launch creates VMs, e.g. us-central1-a"
    );
  }
  const scope = read("scope").trim() || "repository";
  if (scope !== "repository" && scope !== "project") {
    throw new ConfigurationError(`input scope must be repository or project, got ${JSON.stringify(scope)}`);
  }
  const repository = read("repository").trim() || env.GITHUB_REPOSITORY || "";
  if (scope === "repository" && !repository) {
    throw new ConfigurationError(
      "input repository is required with scope repository (outside GitHub Actions)"
    );
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  const bucket = readBucket(read);
  return {
    ...bucket ? { bucket, prefix: (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, "") } : {},
    project: read("project").trim() || void 0,
    env,
    ...workloadIdentityProvider ? { workloadIdentityProvider, serviceAccount } : {},
    zones,
    regions,
    endedRuns: list(read("run-id")),
    ...scope === "repository" ? { repository } : {},
    marginMinutes: number(read, "margin-minutes", DEFAULT_MARGIN_MINUTES, 0, 10080),
    maxAgeHours: number(read, "max-age-hours", DEFAULT_MAX_AGE_HOURS, 1, 8760),
    dryRun: boolean(read, "dry-run")
  };
}
async function janitorStep(env) {
  const opts = parseJanitorInputs((name) => getInput(name), env);
  const { bucket, prefix } = opts;
  let closeStorage = () => Promise.resolve();
  let detachedVms;
  if (bucket && prefix !== void 0) {
    const project = opts.project || env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || "";
    const { clients } = connectGcp({
      project,
      env,
      workloadIdentityProvider: opts.workloadIdentityProvider,
      serviceAccount: opts.serviceAccount
    });
    closeStorage = () => clients.close();
    const store = new RunStore(clients.storage, bucket, prefix);
    detachedVms = async (runs) => {
      const names = /* @__PURE__ */ new Set();
      for (const runId of runs) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) continue;
        for (const d of await store.listDetached(runId)) if (d.record.ok) names.add(d.record.value.instance);
      }
      return names;
    };
  }
  let result;
  try {
    result = await runJanitor({ ...opts, detachedVms, log: (m) => info(printable(m)) });
  } finally {
    await closeStorage();
  }
  const stale = result.verdicts.filter((v) => v.action === "delete").length;
  setOutput("found", String(result.verdicts.length));
  setOutput("stale", String(stale));
  setOutput("deleted", String(result.deleted.length));
  setOutput("failed", String(result.failed.length));
  await summary.addRaw(janitorSummary(result)).write();
  if (result.failed.length > 0) {
    const first = result.failed[0];
    setFailed(
      `gce-matrix janitor: ${result.failed.length} VM(s) could not be deleted (first: ${printable(first?.verdict.vm.name ?? "")}: ${printable(first?.error ?? "")})`
    );
  }
}
async function run(env = process.env) {
  await runAction("janitor", () => janitorStep(env));
}

// src/janitor/index.ts
await run();
