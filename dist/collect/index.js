import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  uploadResults
} from "../chunks/chunk-OYZUGIW2.js";
import {
  runAction
} from "../chunks/chunk-T6E4PII2.js";
import {
  runContextFromEnv
} from "../chunks/chunk-VRTZOPY4.js";
import {
  collectRun
} from "../chunks/chunk-BBSM2LXJ.js";
import {
  INFRASTRUCTURE_PROBLEMS
} from "../chunks/chunk-PQO6YWTW.js";
import "../chunks/chunk-NRMHQSIR.js";
import "../chunks/chunk-5GCJFSFU.js";
import {
  printable
} from "../chunks/chunk-LJETNWLR.js";
import "../chunks/chunk-M3JD4Y6G.js";
import {
  connectGcp
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  ConfigurationError,
  endGroup,
  escapeMarkdown,
  getInput,
  info,
  parseAuthInputs,
  parseMetricsText,
  readBoolean,
  readBucket,
  readInteger,
  readProject,
  setFailed,
  setOutput,
  startGroup,
  summary,
  validateExperimentId,
  warning
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/collect/main.ts
import { randomBytes } from "node:crypto";

// src/collect/inputs.ts
import path from "node:path";
var ARTIFACT_NAME_UNSAFE = /[":<>|*?\r\n\\/]/;
var GIB = 1024 ** 3;
var UNITS = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1e3,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1e3 ** 2,
  g: GIB,
  gib: GIB,
  gb: 1e3 ** 3
};
function parseByteSize(text, input = "max-file-size") {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : void 0;
  if (!m || unit === void 0) {
    throw new ConfigurationError(
      `input ${input} must be a size in bytes, optionally with a unit (e.g. 2147483648, 500MB, 2GiB; got ${JSON.stringify(text)})`
    );
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw new ConfigurationError(`input ${input} must be at least 1 byte`);
  return bytes;
}
function entriesOf(value) {
  const v = value;
  if (v && typeof v === "object" && Array.isArray(v.members)) {
    const members = v.members.map(entryOf);
    return members.every((m) => m !== void 0) ? members : void 0;
  }
  const inner = value && typeof value === "object" && !Array.isArray(value) && !("id" in value) ? Object.values(value).filter((x) => x && typeof x === "object" && !Array.isArray(x)) : [];
  if (inner.length === 1) return entriesOf(inner[0]);
  const one = entryOf(value);
  return one ? [one] : void 0;
}
function entryOf(value) {
  if (typeof value === "string") return { id: value };
  if (!value || typeof value !== "object" || Array.isArray(value)) return void 0;
  const v = value;
  if (typeof v.id === "string") {
    const params = v.params && typeof v.params === "object" && !Array.isArray(v.params) ? v.params : void 0;
    return params ? { id: v.id, params } : { id: v.id };
  }
  const inner = Object.values(value).filter((x) => x && typeof x === "object" && !Array.isArray(x));
  return inner.length === 1 ? entryOf(inner[0]) : void 0;
}
function entriesOfJson(value) {
  if (Array.isArray(value)) return value;
  if (!value || typeof value !== "object") return void 0;
  const v = value;
  if (Array.isArray(v.include)) return v.include;
  const arrays = Object.values(v).filter((x) => Array.isArray(x));
  return arrays.length === 1 ? arrays[0] : void 0;
}
function parseExpected(text) {
  const trimmed = text.trim();
  if (!trimmed) return void 0;
  let entries;
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let value;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigurationError(
        `input experiments is not valid JSON (${err.message}); pass the plan's matrix, a JSON list of ids, or ids separated by commas`
      );
    }
    const list = entriesOfJson(value);
    if (!list) {
      throw new ConfigurationError(
        `input experiments: expected the plan's matrix ({"include": [{"id": ...}]}) or a JSON list of experiments`
      );
    }
    entries = list.flatMap((x, i) => {
      const e = entriesOf(x);
      if (!e) {
        throw new ConfigurationError(
          `input experiments: entry ${i + 1} has no "id" (${JSON.stringify(x).slice(0, 80)})`
        );
      }
      return e;
    });
  } else {
    entries = trimmed.split(/[\n,]/).map((s) => s.trim()).filter((s) => s.length > 0).map((id) => ({ id }));
  }
  const seen = /* @__PURE__ */ new Map();
  for (const e of entries) {
    validateExperimentId(e.id, "input experiments: id");
    if (!seen.has(e.id)) seen.set(e.id, e);
  }
  return [...seen.values()];
}
function parseCollectInputs(read, ctx, workspace = process.cwd()) {
  const project = readProject(read, ctx.defaultProject);
  const bucket = readBucket(read, "the bucket launch wrote results to");
  const runId = read("run-id").trim() || ctx.runId;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(`input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`);
  }
  const prefix = (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, "");
  const artifactName = read("artifact-name").trim() || `gce-matrix-${runId}`;
  if (ARTIFACT_NAME_UNSAFE.test(artifactName)) {
    throw new ConfigurationError(
      `input artifact-name ${JSON.stringify(artifactName)} holds a character artifacts refuse (" : < > | * ? \\ / CR LF)`
    );
  }
  const retention = read("retention-days").trim();
  const retentionDays = retention ? readInteger(read, "retention-days", 0, 1, 400) : void 0;
  const overwriteRaw = read("overwrite").trim().toLowerCase() || "true";
  if (overwriteRaw !== "true" && overwriteRaw !== "false") {
    throw new ConfigurationError(
      `input overwrite must be true or false (got ${JSON.stringify(overwriteRaw)})`
    );
  }
  const maxRaw = read("max-file-size").trim();
  let metricInfo;
  try {
    metricInfo = parseMetricsText(read("metrics"));
  } catch (err) {
    throw new ConfigurationError(`input ${err.message}`);
  }
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  return {
    project,
    location: { bucket, prefix, runId },
    expected: parseExpected(read("experiments")),
    path: path.resolve(workspace, read("path").trim() || "gce-matrix-results"),
    artifactName,
    retentionDays,
    upload: readBoolean(read, "upload", true),
    overwrite: readBoolean(read, "overwrite", true),
    concurrency: readInteger(read, "concurrency", 16, 1, 256),
    maxFileSize: maxRaw ? parseByteSize(maxRaw) : 2 * GIB,
    metricInfo,
    workloadIdentityProvider,
    serviceAccount
  };
}

// src/collect/main.ts
var SUMMARY_PROBLEMS = 50;
function allProblems(manifest) {
  return [
    ...manifest.problems.map((problem) => ({ experiment: void 0, problem })),
    ...manifest.experiments.flatMap((e) => e.problems.map((problem) => ({ experiment: e.id, problem })))
  ];
}
function fenced(lines) {
  if (lines.length === 0) return;
  const fence = randomBytes(16).toString("hex");
  process.stdout.write(`::stop-commands::${fence}
`);
  for (const line of lines) process.stdout.write(`${printable(line)}
`);
  process.stdout.write(`::${fence}::
`);
}
function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
function summaryLine(manifest, artifact) {
  const c = manifest.counts;
  return `gce-matrix collect: run \`${escapeMarkdown(manifest.runId)}\`: ${c.experiments} experiment(s), **${c.succeeded} succeeded**, ${c.failed} failed, ${c.missing} missing; ${c.files} file(s), ${formatBytes(c.bytes)} verified` + (c.problems > 0 ? `; ${c.problems} problem(s)` : "") + (artifact ? `; artifact \`${escapeMarkdown(artifact)}\`` : "") + "\n";
}
async function collectStep(env) {
  const settings = parseCollectInputs(
    (name) => getInput(name),
    runContextFromEnv(env),
    env.GITHUB_WORKSPACE || process.cwd()
  );
  const { clients, description } = connectGcp({
    project: settings.project,
    env,
    workloadIdentityProvider: settings.workloadIdentityProvider,
    serviceAccount: settings.serviceAccount
  });
  info(`Authenticating with ${description}.`);
  const log = {
    info: (m) => info(printable(m)),
    warning: (m) => warning(printable(m))
  };
  try {
    const result = await collectRun({
      storage: clients.storage,
      location: settings.location,
      expected: settings.expected,
      root: settings.path,
      concurrency: settings.concurrency,
      maxFileSize: settings.maxFileSize,
      log,
      metricInfo: settings.metricInfo
    });
    const { manifest, stats } = result;
    const c = manifest.counts;
    info(
      `Collected ${c.files} file(s), ${stats.bytes} bytes, from ${c.experiments} experiment(s) into ${settings.path} in ${(stats.durationMs / 1e3).toFixed(1)} s (${stats.requests} downloads, ${stats.retries} retried).`
    );
    const problems = allProblems(manifest).filter((p) => p.problem.kind !== "renamed");
    const renamed = allProblems(manifest).filter((p) => p.problem.kind === "renamed");
    if (problems.length + renamed.length > 0) {
      startGroup(`Problems (${problems.length}) and renamed files (${renamed.length})`);
      fenced(
        [...problems, ...renamed].map(
          ({ experiment, problem }) => `${experiment ?? "(run)"}: ${problem.kind}: ${problem.message}`
        )
      );
      endGroup();
    }
    if (problems.length > 0) {
      const kinds = /* @__PURE__ */ new Map();
      for (const { problem } of problems) kinds.set(problem.kind, (kinds.get(problem.kind) ?? 0) + 1);
      warning(
        `${problems.length} problem(s) while collecting (${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ")}); see the log and manifest.json; everything else was collected`
      );
    }
    let artifactId = "";
    if (settings.upload) {
      const uploaded = await uploadResults({
        name: settings.artifactName,
        root: settings.path,
        files: result.files,
        retentionDays: settings.retentionDays,
        overwrite: settings.overwrite,
        log
      });
      artifactId = String(uploaded.id);
      info(`Uploaded artifact ${settings.artifactName} (id ${uploaded.id}, ${uploaded.size} bytes).`);
    }
    setOutput("path", settings.path);
    setOutput("manifest", result.manifestPath);
    setOutput("artifact-id", artifactId);
    setOutput("artifact-name", settings.upload ? settings.artifactName : "");
    setOutput("experiments", String(c.experiments));
    setOutput("succeeded", String(c.succeeded));
    setOutput("failed", String(c.failed));
    setOutput("missing", String(c.missing));
    setOutput("problems", String(c.problems));
    let summary2 = summaryLine(manifest, settings.upload ? settings.artifactName : void 0);
    if (problems.length > 0) {
      const shown = problems.slice(0, SUMMARY_PROBLEMS).map(
        ({ experiment, problem }) => `- ${experiment ? `\`${escapeMarkdown(experiment)}\` ` : ""}${problem.kind}: ${escapeMarkdown(problem.message)}`
      );
      const more = problems.length > SUMMARY_PROBLEMS ? `
- ... and ${problems.length - SUMMARY_PROBLEMS} more in manifest.json` : "";
      summary2 += `
<details><summary>${problems.length} collection problem(s)</summary>

${shown.join("\n")}${more}

</details>
`;
    }
    await summary.addRaw(summary2).write();
    const broken = problems.filter(({ problem }) => INFRASTRUCTURE_PROBLEMS.includes(problem.kind));
    if (broken.length > 0) {
      setFailed(
        `gce-matrix collect: ${broken.length} object(s) could not be downloaded intact after retries (first: ${printable(broken[0].problem.message)}); everything else was collected${settings.upload ? " and uploaded" : ""}`
      );
    }
  } finally {
    await clients.close();
  }
}
async function run(env = process.env) {
  await runAction("collect", () => collectStep(env));
}

// src/collect/index.ts
await run();
