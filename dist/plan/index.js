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
  COMMENT_COMMAND,
  commentArguments,
  expandPlan,
  parseOverrides,
  parseSpec
} from "../chunks/chunk-OHE2DZK7.js";
import {
  resolveCommit
} from "../chunks/chunk-Z425WIJF.js";
import {
  FULL_SHA,
  parseSourceRef
} from "../chunks/chunk-VRTZOPY4.js";
import {
  getOctokit
} from "../chunks/chunk-5GCJFSFU.js";
import {
  ConfigurationError,
  escapeMarkdown,
  getInput,
  info,
  metricInfosJson,
  readInteger,
  setOutput,
  summary,
  warning
} from "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/plan/main.ts
import { readFile } from "node:fs/promises";

// src/plan/gate.ts
var LEVELS = ["none", "read", "triage", "write", "maintain", "admin"];
function isLevel(text) {
  return LEVELS.includes(text);
}
function permits(have, need) {
  return isLevel(have) && LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}
function decidePermission(answer, required) {
  const role = answer.roleName ?? "";
  if (isLevel(role)) return { allowed: permits(role, required), held: role };
  const allowed = permits(answer.permission, required);
  if (!role) return { allowed, held: answer.permission };
  return {
    allowed,
    held: `the custom role ${JSON.stringify(role)}, counted as its base permission ${answer.permission}`
  };
}
async function gateComment(octokit, payload, required) {
  const p = payload;
  const owner = p.repository?.owner?.login ?? "";
  const repo = p.repository?.name ?? "";
  const login = p.comment?.user?.login ?? "";
  const commentId = p.comment?.id;
  const issueNumber = p.issue?.number;
  let answer = { permission: "none", roleName: "none" };
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
      owner,
      repo,
      username: login
    });
    answer = { permission: data.permission, roleName: data.role_name };
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const { allowed, held } = decidePermission(answer, required);
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
      body: `gce-matrix: \`/gce-matrix run\` needs ${required} permission on this repository; the commenter has ${escapeMarkdown(held)}. Nothing was launched.`
    });
  }
  return { allowed, login, held };
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
    requiredPermission: parsePermission(read("required-permission")),
    sourceRef: parseSourceRef(read("source-ref"))
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
    matrix: JSON.stringify(matrix(plan.legs)),
    batches: JSON.stringify(plan.batches.map(matrix)),
    "batch-count": String(plan.batches.length),
    count: String(plan.experiments.length),
    legs: String(plan.legs.length),
    "run-id": runId,
    axes: JSON.stringify(plan.axes),
    repetitions: String(plan.repetitions),
    title: plan.title ?? "",
    metrics: metricInfosJson(plan.metrics ?? /* @__PURE__ */ new Map())
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
  const legOf = /* @__PURE__ */ new Map();
  for (const leg of plan.legs) for (const m of leg.members ?? []) legOf.set(m.id, leg.id);
  const packed = legOf.size > 0;
  const keys = [
    ...plan.axes,
    ...new Set(plan.experiments.flatMap((e) => Object.keys(e.params)).filter((k) => !plan.axes.includes(k)))
  ];
  const withLaunch = plan.experiments.some((e) => e.launch);
  const header = [
    "#",
    "experiment",
    ...packed ? ["vm"] : [],
    ...keys.map(escapeMarkdown),
    ...withLaunch ? ["launch"] : []
  ];
  const rows = plan.experiments.slice(0, SUMMARY_ROWS).map((e, i) => {
    const cells = [
      String(i + 1),
      e.id,
      ...packed ? [legOf.get(e.id) ?? e.id] : [],
      ...keys.map((k) => Object.hasOwn(e.params, k) ? String(e.params[k]) : ""),
      ...withLaunch ? [
        Object.entries(e.launch ?? {}).map(([k, v]) => `${k}=${v}`).join(", ")
      ] : []
    ];
    return `| ${cells.map(escapeMarkdown).join(" | ")} |`;
  });
  const legs = plan.legs.length;
  const vms = packed ? ` on ${legs} VM${legs === 1 ? "" : "s"}` : "";
  const batches = plan.batches.length > 1 ? ` in ${plan.batches.length} batches (${plan.batches.map((b) => b.length).join(", ")}${packed ? " VMs" : ""})` : "";
  const lines = [
    "### gce-matrix plan",
    "",
    `**${count} experiment${count === 1 ? "" : "s"}**${vms}${batches}, run ${escapeMarkdown(runId)}` + (plan.repetitions > 1 ? `, ${plan.repetitions} repetitions each` : "") + (plan.axes.length ? `; axes: ${plan.axes.map(escapeMarkdown).join(", ")}` : "") + ".",
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows
  ];
  if (count > SUMMARY_ROWS) lines.push("", `... and ${count - SUMMARY_ROWS} more.`);
  return `${lines.join("\n")}
`;
}

// src/plan/source.ts
async function plannedSource(opts) {
  const resolve = async (ref, input) => {
    if (FULL_SHA.test(ref)) return ref;
    if (!opts.github) {
      throw new ConfigurationError(`${input} ${JSON.stringify(ref)} needs input github-token to be resolved`);
    }
    return resolveCommit(opts.github, ref, input);
  };
  if (opts.sourceRef) {
    return {
      commit: await resolve(opts.sourceRef, "input source-ref"),
      how: `input source-ref ${opts.sourceRef}`
    };
  }
  const e = opts.event ?? {};
  if (opts.eventName === "issue_comment") {
    const n = e.issue?.number;
    if (!e.issue?.pull_request || typeof n !== "number") {
      throw new ConfigurationError(
        `a /gce-matrix run comment on issue #${String(n)}, which is not a pull request: there is no code to benchmark; comment on a pull request`
      );
    }
    return {
      commit: await opts.pullHead(n),
      how: `the head of pull request #${n} when the comment was approved`
    };
  }
  const head = e.pull_request?.head?.sha;
  if (typeof head === "string" && FULL_SHA.test(head)) {
    return { commit: head, how: `the head of pull request #${String(e.pull_request?.number)}` };
  }
  if (opts.sha && FULL_SHA.test(opts.sha)) return { commit: opts.sha, how: "the workflow's commit" };
  return void 0;
}
async function pinExperimentRefs(plan, resolve) {
  const cache = /* @__PURE__ */ new Map();
  const pin = async (e) => {
    const ref = e.launch?.["source-ref"];
    if (!ref || FULL_SHA.test(ref)) return e;
    let sha = cache.get(ref);
    if (!sha) {
      sha = resolve(ref, `launch setting source-ref of experiment ${e.members?.[0]?.id ?? e.id}`);
      cache.set(ref, sha);
    }
    return { ...e, launch: { ...e.launch, "source-ref": await sha } };
  };
  if (!plan.experiments.some((e) => e.launch?.["source-ref"])) return plan;
  const experiments = await Promise.all(plan.experiments.map(pin));
  const legs = await Promise.all(plan.legs.map(pin));
  const byId = new Map(legs.map((e) => [e.id, e]));
  return {
    ...plan,
    experiments,
    legs,
    batches: plan.batches.map((b) => b.map((e) => byId.get(e.id) ?? e))
  };
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
async function planStep(env) {
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
  const token = getInput("github-token");
  if (comment) {
    if (!token)
      throw new ConfigurationError(
        "input github-token is required to check who may run a PR comment command"
      );
    const gate = await gateComment(getOctokit(token), event, settings.requiredPermission);
    if (!gate.allowed) {
      setOutput("allowed", "false");
      warning(
        `/gce-matrix run needs ${settings.requiredPermission} permission; ${gate.login} has ${gate.held}. Nothing is planned.`
      );
      setOutput("count", "0");
      return;
    }
    info(
      `${gate.login} has ${gate.held}, enough for ${settings.requiredPermission}: the comment command may run.`
    );
  }
  const repository = env.GITHUB_REPOSITORY ?? "";
  const gh = token && repository ? { apiUrl: env.GITHUB_API_URL || "https://api.github.com", token, repository } : void 0;
  const source = await plannedSource({
    sourceRef: settings.sourceRef,
    eventName: env.GITHUB_EVENT_NAME ?? "",
    event,
    sha: env.GITHUB_SHA,
    github: gh,
    pullHead: async (n) => {
      if (!token)
        throw new ConfigurationError("input github-token is required to read the pull request head");
      const [owner = "", repo = ""] = repository.split("/");
      const { data } = await getOctokit(token).rest.pulls.get({ owner, repo, pull_number: n });
      return data.head.sha;
    }
  });
  if (source) info(`Source: ${repository || "the repository"} at ${source.commit} (${source.how}).`);
  const overrides = comment ? [settings.overrides, comment] : [settings.overrides];
  for (const o of overrides) {
    const text = describeOverrides(o);
    if (text) info(`Overrides from ${o.label}: ${text}`);
  }
  const plan = await pinExperimentRefs(
    expandPlan(parseSpec(sources), overrides, settings.repetitions, settings.limits),
    async (ref, input) => {
      if (!gh)
        throw new ConfigurationError(
          `${input} ${JSON.stringify(ref)} needs input github-token to be resolved`
        );
      return resolveCommit(gh, ref, input);
    }
  );
  const outputs = planOutputs(plan, settings.runId);
  for (const [name, value] of Object.entries(outputs)) setOutput(name, value);
  if (source) setOutput("source-sha", source.commit);
  setOutput("allowed", "true");
  info(
    `Planned ${plan.experiments.length} experiment(s)` + (plan.legs.length === plan.experiments.length ? "" : ` on ${plan.legs.length} VM(s)`) + ` in ${plan.batches.length} batch(es) for run ${settings.runId}` + (plan.axes.length ? `; axes: ${plan.axes.join(", ")}` : "") + "."
  );
  if (env.GITHUB_STEP_SUMMARY) await summary.addRaw(planSummary(plan, settings.runId)).write();
}
async function run(env = process.env) {
  await runAction("plan", () => planStep(env));
}

// src/plan/index.ts
await run();
