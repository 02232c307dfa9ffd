import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-2TP625P2.js";
import {
  COMMENT_COMMAND,
  commentArguments,
  expandPlan,
  parseOverrides,
  parseSpec
} from "../chunks/chunk-5WEK6UXJ.js";
import "../chunks/chunk-C6H6HGFJ.js";
import {
  getOctokit
} from "../chunks/chunk-SW2PZEV6.js";
import {
  readInteger
} from "../chunks/chunk-SGH33AVK.js";
import {
  escapeMarkdown
} from "../chunks/chunk-QUTAAEM7.js";
import {
  ConfigurationError,
  getInput,
  info,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-UEQNVQMM.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/plan/main.ts
import { readFile } from "node:fs/promises";

// src/plan/gate.ts
var LEVELS = ["none", "read", "triage", "write", "maintain", "admin"];
function permits(have, need) {
  const i = LEVELS.indexOf(have);
  return i >= 0 && i >= LEVELS.indexOf(need);
}
async function gateComment(octokit, payload, required) {
  const p = payload;
  const owner = p.repository?.owner?.login ?? "";
  const repo = p.repository?.name ?? "";
  const login = p.comment?.user?.login ?? "";
  const commentId = p.comment?.id;
  const issueNumber = p.issue?.number;
  let permission = "none";
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner,
      repo,
      username: login
    });
    permission = data.permission;
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const allowed = permits(permission, required);
  if (commentId !== void 0) {
    await octokit.rest.reactions.createForIssueComment({
      owner,
      repo,
      comment_id: commentId,
      content: allowed ? "rocket" : "-1"
    });
  }
  if (!allowed && issueNumber !== void 0) {
    await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: issueNumber,
      body: `gce-matrix: \`/gce-matrix run\` needs ${required} permission on this repository; the commenter has ${permission}. Nothing was launched.`
    });
  }
  return { allowed, login, permission };
}

// src/plan/inputs.ts
import path from "node:path";
var GITHUB_MATRIX_LIMIT = 256;
function parsePlanInputs(read, ctx) {
  const spec = read("spec").trim() || void 0;
  const given = read("spec-file").trim() || void 0;
  if (spec === void 0 && given === void 0) {
    throw new ConfigurationError(
      'input spec or spec-file is required: give the matrix inline (spec: "axes: {tool: [a, b]}") or a file in the repository (spec-file: .github/matrix.yml)'
    );
  }
  let specFile;
  if (given !== void 0) {
    const workspace = path.resolve(ctx.workspace);
    const full = path.resolve(workspace, given);
    if (full !== workspace && !full.startsWith(workspace + path.sep)) {
      throw new ConfigurationError(
        `input spec-file ${JSON.stringify(given)} is outside the workspace; give a path inside the repository`
      );
    }
    specFile = { path: full, given };
  }
  const runId = read("run-id").trim() || ctx.runId || "";
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/.test(runId)) {
    throw new ConfigurationError(
      runId ? `input run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -, starting with a letter or digit` : "input run-id is required outside GitHub Actions (GITHUB_RUN_ID is not set)"
    );
  }
  const repetitions = read("repetitions").trim();
  return {
    spec,
    specFile,
    overrides: parseOverrides(read("overrides"), "input overrides"),
    repetitions: repetitions ? { value: repetitions, label: "input repetitions" } : void 0,
    limits: {
      maxExperiments: readInteger(read, "max-experiments", 1e3, 1, 1e5),
      batchSize: readInteger(read, "batch-size", GITHUB_MATRIX_LIMIT, 1, GITHUB_MATRIX_LIMIT),
      maxBatches: readInteger(read, "max-batches", void 0, 1, 1e3)
    },
    runId,
    requiredPermission: parsePermission(read("required-permission"))
  };
}
function parsePermission(text) {
  const value = text.trim() || "write";
  if (!["read", "triage", "write", "maintain", "admin"].includes(value)) {
    throw new ConfigurationError(
      `input required-permission must be one of read, triage, write, maintain, admin (got ${JSON.stringify(value)})`
    );
  }
  return value;
}
function commentOverrides(eventName, payload) {
  if (eventName !== "issue_comment") return void 0;
  const comment = payload?.comment;
  const body = typeof comment?.body === "string" ? comment.body : "";
  const args = commentArguments(body);
  if (args === void 0) {
    throw new ConfigurationError(
      `the comment does not start with ${COMMENT_COMMAND}; run the plan only for such comments (if: startsWith(github.event.comment.body, '${COMMENT_COMMAND}'))`
    );
  }
  return parseOverrides(args, `the comment's ${COMMENT_COMMAND} arguments`);
}

// src/plan/outputs.ts
var OUTPUT_LIMIT = 1e6;
var SUMMARY_ROWS = 500;
function matrix(experiments) {
  return { include: experiments.map((experiment) => ({ experiment })) };
}
function planOutputs(plan, runId) {
  const outputs = {
    matrix: JSON.stringify(matrix(plan.experiments)),
    batches: JSON.stringify(plan.batches.map(matrix)),
    "batch-count": String(plan.batches.length),
    count: String(plan.experiments.length),
    "run-id": runId,
    axes: JSON.stringify(plan.axes),
    repetitions: String(plan.repetitions)
  };
  const size = Object.values(outputs).reduce((n, v) => n + Buffer.byteLength(v), 0);
  if (size > OUTPUT_LIMIT) {
    throw new ConfigurationError(
      `the plan's outputs take ${size} bytes and GitHub keeps at most ${OUTPUT_LIMIT} per job; plan fewer experiments (input max-experiments, overrides) or shorter parameter values`
    );
  }
  return outputs;
}
function planSummary(plan, runId) {
  const count = plan.experiments.length;
  const keys = [
    ...plan.axes,
    ...new Set(plan.experiments.flatMap((e) => Object.keys(e.params)).filter((k) => !plan.axes.includes(k)))
  ];
  const withLaunch = plan.experiments.some((e) => e.launch);
  const header = ["#", "experiment", ...keys.map(escapeMarkdown), ...withLaunch ? ["launch"] : []];
  const rows = plan.experiments.slice(0, SUMMARY_ROWS).map((e, i) => {
    const cells = [
      String(i + 1),
      e.id,
      ...keys.map((k) => Object.hasOwn(e.params, k) ? String(e.params[k]) : ""),
      ...withLaunch ? [
        Object.entries(e.launch ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")
      ] : []
    ];
    return `| ${cells.map(escapeMarkdown).join(" | ")} |`;
  });
  const batches = plan.batches.length > 1 ? ` in ${plan.batches.length} batches (${plan.batches.map((b) => b.length).join(", ")})` : "";
  const lines = [
    "### gce-matrix plan",
    "",
    `**${count} experiment${count === 1 ? "" : "s"}**${batches}, run ${escapeMarkdown(runId)}` + (plan.repetitions > 1 ? `, ${plan.repetitions} repetitions each` : "") + (plan.axes.length ? `; axes: ${plan.axes.map(escapeMarkdown).join(", ")}` : "") + ".",
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows
  ];
  if (count > SUMMARY_ROWS) lines.push("", `... and ${count - SUMMARY_ROWS} more.`);
  return `${lines.join("\n")}
`;
}

// src/plan/main.ts
async function readEvent(file) {
  if (!file) return {};
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    return {};
  }
}
function describeOverrides(o) {
  const parts = [...o.axes].map(([k, v]) => `${k}=${v.join(",")}`);
  if (o.repetitions !== void 0) parts.push(`repetitions=${o.repetitions}`);
  return parts.join(" ");
}
async function run(env = process.env) {
  const settings = parsePlanInputs((name) => getInput(name), {
    runId: env.GITHUB_RUN_ID,
    workspace: env.GITHUB_WORKSPACE ?? process.cwd()
  });
  const sources = [];
  if (settings.specFile) {
    const label = `input spec-file (${settings.specFile.given})`;
    let text;
    try {
      text = await readFile(settings.specFile.path, "utf8");
    } catch (err) {
      throw new ConfigurationError(
        `${label} cannot be read (${err.code ?? err.message}); give a path relative to the repository root, and check out the repository before this step`
      );
    }
    sources.push({ label, text });
  }
  if (settings.spec !== void 0) sources.push({ label: "input spec", text: settings.spec });
  const event = await readEvent(env.GITHUB_EVENT_PATH);
  const comment = commentOverrides(env.GITHUB_EVENT_NAME ?? "", event);
  if (comment) {
    const token = getInput("github-token");
    if (!token)
      throw new ConfigurationError(
        "input github-token is required to check who may run a PR comment command"
      );
    const gate = await gateComment(getOctokit(token), event, settings.requiredPermission);
    if (!gate.allowed) {
      setOutput("allowed", "false");
      warning(
        `${gate.login} has ${gate.permission} permission; /gce-matrix run needs ${settings.requiredPermission}. Nothing is planned.`
      );
      setOutput("count", "0");
      return;
    }
    info(`${gate.login} has ${gate.permission} permission: the comment command may run.`);
  }
  const overrides = comment ? [settings.overrides, comment] : [settings.overrides];
  for (const o of overrides) {
    const text = describeOverrides(o);
    if (text) info(`Overrides from ${o.label}: ${text}`);
  }
  const plan = expandPlan(parseSpec(sources), overrides, settings.repetitions, settings.limits);
  const outputs = planOutputs(plan, settings.runId);
  for (const [name, value] of Object.entries(outputs)) setOutput(name, value);
  setOutput("allowed", "true");
  info(
    `Planned ${plan.experiments.length} experiment(s) in ${plan.batches.length} batch(es) for run ${settings.runId}` + (plan.axes.length ? `; axes: ${plan.axes.join(", ")}` : "") + "."
  );
  if (env.GITHUB_STEP_SUMMARY) await summary.addRaw(planSummary(plan, settings.runId)).write();
}

// src/plan/index.ts
await runAction("plan", run);
