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
  DEFAULT_INLINE_WAIT_HOURS,
  DEFAULT_LOCK_STALE_MINUTES,
  DEFAULT_LOST_GRACE_MINUTES,
  runWatcher
} from "../chunks/chunk-USLS7YYM.js";
import "../chunks/chunk-4VSZPNWF.js";
import "../chunks/chunk-BBSM2LXJ.js";
import "../chunks/chunk-R4DE7DWF.js";
import "../chunks/chunk-PQO6YWTW.js";
import "../chunks/chunk-NRMHQSIR.js";
import "../chunks/chunk-5GCJFSFU.js";
import {
  ComputeApi
} from "../chunks/chunk-S3KYGDOF.js";
import {
  printable
} from "../chunks/chunk-LJETNWLR.js";
import "../chunks/chunk-UXA2X36L.js";
import "../chunks/chunk-M3JD4Y6G.js";
import {
  connectGcp,
  systemClock
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  ConfigurationError,
  escapeMarkdown,
  getInput,
  info,
  parseAuthInputs,
  readBoolean,
  readBucket,
  readInteger,
  readProject,
  setFailed,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/watch/main.ts
import { randomBytes } from "node:crypto";
import path from "node:path";
function parseWatchInputs(read, env, workspace) {
  const project = readProject(read, env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT);
  const bucket = readBucket(read, "the bucket launch wrote results to");
  const scope = read("scope").trim() || "repository";
  if (scope !== "repository" && scope !== "all") {
    throw new ConfigurationError(`input scope must be repository or all (got ${JSON.stringify(scope)})`);
  }
  const repository = env.GITHUB_REPOSITORY ?? "";
  if (scope === "repository" && !repository) {
    throw new ConfigurationError("input scope repository needs GITHUB_REPOSITORY (or set scope: all)");
  }
  const retention = read("retention-days").trim();
  const { workloadIdentityProvider, serviceAccount } = parseAuthInputs(read);
  return {
    project,
    bucket,
    prefix: (read("prefix").trim() || "gce-matrix").replace(/^\/+|\/+$/g, ""),
    repository: scope === "repository" ? repository : void 0,
    path: path.resolve(workspace, read("path").trim() || "gce-matrix-watch"),
    upload: readBoolean(read, "upload", true),
    retentionDays: retention ? readInteger(read, "retention-days", 0, 1, 400) : void 0,
    githubToken: read("github-token").trim(),
    lostGraceMinutes: readInteger(read, "lost-grace-minutes", DEFAULT_LOST_GRACE_MINUTES, 0, 1440),
    lockStaleMinutes: readInteger(read, "lock-stale-minutes", DEFAULT_LOCK_STALE_MINUTES, 1, 10080),
    inlineWaitHours: readInteger(read, "inline-wait-hours", DEFAULT_INLINE_WAIT_HOURS, 0, 24 * 40),
    workloadIdentityProvider,
    serviceAccount
  };
}
var actionsLogger = {
  info: (m) => info(printable(m)),
  warning: (m) => warning(printable(m)),
  untrusted: (lines) => {
    if (lines.length === 0) return;
    const fence = randomBytes(16).toString("hex");
    process.stdout.write(`::stop-commands::${fence}
`);
    for (const line of lines) process.stdout.write(`${printable(line)}
`);
    process.stdout.write(`::${fence}::
`);
  }
};
var OUTCOME = {
  reported: "\u2705 reported",
  waiting: "\u23F3 waiting",
  busy: "\u{1F512} another step reports it",
  done: "\u2611\uFE0F reported before",
  skipped: "\u26A0\uFE0F skipped",
  failed: "\u274C failed"
};
function watchSummary(results) {
  const count = (o) => results.filter((r) => r.outcome === o).length;
  const head = `gce-matrix watch: ${results.length} run(s) with detached experiments; ${count("reported")} reported now, ${count("waiting")} still running, ${count("skipped")} skipped, ${count("failed")} failed
`;
  if (results.length === 0) return head;
  const rows = results.slice(0, 500).map((r) => `| \`${escapeMarkdown(r.runId)}\` | ${OUTCOME[r.outcome]} | ${escapeMarkdown(r.message)} |`);
  return `${head}
| run | outcome | detail |
| --- | --- | --- |
${rows.join("\n")}
`;
}
async function watchStep(env) {
  const s = parseWatchInputs((name) => getInput(name), env, env.GITHUB_WORKSPACE || process.cwd());
  const { clients, description } = connectGcp({
    project: s.project,
    env,
    workloadIdentityProvider: s.workloadIdentityProvider,
    serviceAccount: s.serviceAccount
  });
  info(`Authenticating with ${description}.`);
  const server = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const runUrl = `${server}/${env.GITHUB_REPOSITORY ?? ""}/actions/runs/${env.GITHUB_RUN_ID ?? ""}`;
  try {
    const results = await runWatcher({
      storage: clients.storage,
      compute: new ComputeApi(clients, systemClock, void 0, { log: (m) => warning(m) }),
      bucket: s.bucket,
      prefix: s.prefix,
      repository: s.repository,
      workDir: s.path,
      github: {
        token: s.githubToken,
        apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "")
      },
      runUrl,
      artifactUrl: `${runUrl}#artifacts`,
      owner: `actions/watch in workflow run ${env.GITHUB_RUN_ID ?? "local"}`,
      clock: systemClock,
      log: actionsLogger,
      upload: s.upload ? async (name, root, files) => {
        const uploaded = await uploadResults({
          name,
          root,
          files,
          retentionDays: s.retentionDays,
          overwrite: true,
          log: actionsLogger
        });
        info(`Uploaded artifact ${name} (id ${uploaded.id}, ${uploaded.size} bytes).`);
        return uploaded.id;
      } : void 0,
      summary: async (markdown) => {
        await summary.addRaw(markdown).write();
      },
      lostGraceMs: s.lostGraceMinutes * 6e4,
      lockStaleMs: s.lockStaleMinutes * 6e4,
      inlineWaitMs: s.inlineWaitHours * 36e5
    });
    const count = (o) => String(results.filter((r) => r.outcome === o).length);
    setOutput("reported", count("reported"));
    setOutput("waiting", count("waiting"));
    setOutput("skipped", count("skipped"));
    setOutput("failed", count("failed"));
    await summary.addRaw(watchSummary(results)).write();
    const failed = results.filter((r) => r.outcome === "failed");
    if (failed.length > 0) {
      setFailed(
        `gce-matrix watch: ${failed.length} run(s) could not be reported (first: ${printable(failed[0].message)}); the others were handled, and the next pass tries again`
      );
    }
  } finally {
    await clients.close();
  }
}
async function run(env = process.env) {
  await runAction("watch", () => watchStep(env));
}

// src/watch/index.ts
await run();
