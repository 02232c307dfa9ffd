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
} from "../chunks/chunk-6NTAZUOM.js";
import {
  cleanUp
} from "../chunks/chunk-GEZ5GW7P.js";
import {
  withZones
} from "../chunks/chunk-66OBQNE5.js";
import {
  expandPlan,
  parseOverrides,
  parseSpec
} from "../chunks/chunk-D5LNYQRQ.js";
import "../chunks/chunk-DK7M3IUM.js";
import {
  parseLaunchInputs,
  treeKey
} from "../chunks/chunk-CID4GYLK.js";
import {
  janitorSummary,
  runJanitor
} from "../chunks/chunk-JPIOGK53.js";
import {
  DEFAULT_LOST_GRACE_MINUTES
} from "../chunks/chunk-5DFKXDL4.js";
import {
  ExperimentResults
} from "../chunks/chunk-NWX27XFD.js";
import {
  collectRun
} from "../chunks/chunk-YEHZSL2F.js";
import {
  chartSeries,
  chooseAxes,
  decideExperiment,
  failureReason,
  formatDelta,
  formatDuration,
  formatNumber,
  paramNames,
  pivotOf,
  readExperimentFiles,
  readManifest,
  renderReport,
  reportData
} from "../chunks/chunk-NCUEJWXJ.js";
import "../chunks/chunk-NRMHQSIR.js";
import {
  countClass,
  parseHeartbeat
} from "../chunks/chunk-TOTSYWRJ.js";
import "../chunks/chunk-C5PB5HGX.js";
import {
  ComputeApi
} from "../chunks/chunk-4HV3HYP7.js";
import {
  printable
} from "../chunks/chunk-LJETNWLR.js";
import "../chunks/chunk-HYROZFKP.js";
import {
  RunStore,
  baselineOf,
  compare,
  parseDirections,
  runRecordFromEnv
} from "../chunks/chunk-CO33JGQY.js";
import {
  STORAGE_RETRY,
  Storage,
  classifyError,
  connectGcp,
  require_src,
  systemClock
} from "../chunks/chunk-POAYJMSU.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-QUTAAEM7.js";
import {
  ConfigurationError,
  experimentObjects,
  parseStatus
} from "../chunks/chunk-4TDRVGQU.js";
import {
  __toESM
} from "../chunks/chunk-PDSOAN7B.js";

// src/cli/main.ts
import { availableParallelism } from "node:os";
import { existsSync as existsSync2 } from "node:fs";
import { readdir as readdir4, readFile as readFile3, stat as stat3 } from "node:fs/promises";
import path8 from "node:path";

// src/local/settings.ts
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
  const bare = { id: experiment.id, params: experiment.params };
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

// src/cli/args.ts
var CLOUD_OPTIONS = {
  project: { kind: "value", arg: "ID", help: "Google Cloud project (default: GOOGLE_CLOUD_PROJECT)" },
  bucket: { kind: "value", arg: "NAME", help: "results bucket (--cloud)" },
  prefix: { kind: "value", arg: "PATH", help: "object prefix in the bucket (default gce-matrix)" }
};
var RUN_OPTIONS = {
  parallel: { kind: "value", arg: "N", help: "experiments at once (default: CPU count, at most 4)" },
  out: { kind: "value", arg: "DIR", help: "where the run goes (default gce-matrix-results/RUN)" },
  set: { kind: "list", arg: "AXIS=V1,V2", help: "run only these values of an axis (repeatable)" },
  repetitions: { kind: "value", arg: "N", help: "repetitions of each combination (overrides the spec)" },
  "run-id": { kind: "value", arg: "ID", help: "run id (default: local-DATE-TIME)" },
  title: { kind: "value", arg: "TEXT", help: "report title" },
  pivot: { kind: "value", arg: "ROWS,COLUMNS", help: "the two axes of the pivot tables" },
  metrics: { kind: "value", arg: "NAME:higher,...", help: "which way is better per metric" },
  baseline: {
    kind: "value",
    arg: "DIR",
    help: "an earlier run directory: the report shows deltas against it"
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
    options: RUN_OPTIONS
  },
  status: {
    usage: "gce-matrix status RUN [options]",
    summary: "show where each experiment of a run is (RUN: a local run directory, or a run id with --cloud)",
    options: {
      out: { kind: "value", arg: "DIR", help: "the runs directory (default gce-matrix-results)" },
      cloud: { kind: "flag", help: "read the run from the bucket" },
      report: {
        kind: "flag",
        help: "with --cloud: once every experiment has ended, collect and report the run here"
      },
      ...CLOUD_OPTIONS
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
      delete: { kind: "flag", help: "delete what is listed (default: list only)" }
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
      "no-progress": { kind: "flag", help: "plain lines even on a terminal" }
    }
  }
};
function parseArgs(argv) {
  const [first, ...rest] = argv;
  if (first === void 0 || first === "help" || first === "--help" || first === "-h") {
    return { command: "help", positionals: first === "help" ? rest : [], options: {} };
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    throw new ConfigurationError(
      `unknown command ${JSON.stringify(first)}; commands: ${Object.keys(COMMANDS).join(", ")} (gce-matrix help)`
    );
  }
  const command = first;
  const specs = COMMANDS[command].options;
  const positionals = [];
  const options = {};
  let onlyPositionals = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (onlyPositionals || !arg.startsWith("--") || arg === "-") {
      if (!onlyPositionals && arg.startsWith("-") && arg !== "-") {
        throw new ConfigurationError(
          `${command}: option ${arg} is not known; options start with -- (gce-matrix help ${command})`
        );
      }
      positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositionals = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? void 0 : eq);
    if (name === "help") return { command: "help", positionals: [command], options: {} };
    const spec = Object.hasOwn(specs, name) ? specs[name] : void 0;
    if (!spec) {
      throw new ConfigurationError(
        `${command}: unknown option --${name}; it takes ${Object.keys(specs).map((o) => `--${o}`).join(", ")}`
      );
    }
    if (spec.kind === "flag") {
      if (eq >= 0) throw new ConfigurationError(`${command}: option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = rest[i + 1];
      if (next === void 0 || next.startsWith("--")) {
        throw new ConfigurationError(
          `${command}: option --${name} needs a value (--${name} ${spec.arg ?? "VALUE"})`
        );
      }
      value = next;
      i++;
    }
    if (spec.kind === "list") {
      const list = options[name] ?? [];
      list.push(value);
      options[name] = list;
    } else {
      if (Object.hasOwn(options, name))
        throw new ConfigurationError(`${command}: option --${name} is given twice`);
      options[name] = value;
    }
  }
  return { command, positionals, options };
}
function optionValue(args, name) {
  const v = args.options[name];
  return typeof v === "string" ? v : void 0;
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
function helpText(command) {
  if (command && Object.hasOwn(COMMANDS, command)) {
    const c = COMMANDS[command];
    const rows = Object.entries(c.options).map(([name, o]) => [
      `--${name}${o.arg ? ` ${o.arg}` : ""}`,
      o.help
    ]);
    const width2 = Math.max(...rows.map(([l]) => l.length));
    return [
      `usage: ${c.usage}`,
      "",
      c.summary,
      "",
      ...rows.map(([l, h2]) => `  ${l.padEnd(width2)}  ${h2}`),
      ""
    ].join("\n");
  }
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    "gce-matrix: run an experiment matrix, on this machine or on Compute Engine, and report the results.",
    "",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "gce-matrix help COMMAND shows its options. The spec format is in docs/matrix.md.",
    ""
  ].join("\n");
}

// src/cli/cloud.ts
import path7 from "node:path";

// src/cli/local-run.ts
import { execFileSync } from "node:child_process";
import { mkdir as mkdir3, readdir as readdir3, readFile as readFile2, rm as rm4, writeFile as writeFile3 } from "node:fs/promises";
import path5 from "node:path";

// src/local/cloud.ts
var import_google_auth_library = __toESM(require_src(), 1);

// src/local/metadata-server.ts
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import os from "node:os";

// src/local/crc32c.ts
var REFLECTED_POLYNOMIAL = 2197175160;
var TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? crc >>> 1 ^ REFLECTED_POLYNOMIAL : crc >>> 1;
    t[byte] = crc;
  }
  for (let k = 1; k < 8; k++) {
    for (let byte = 0; byte < 256; byte++) {
      const prev = t[(k - 1) * 256 + byte];
      t[k * 256 + byte] = prev >>> 8 ^ t[prev & 255];
    }
  }
  return t;
})();
function crc32cUpdate(crc, data) {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const whole = data.length - data.length % 8;
  for (; i < whole; i += 8) {
    const lo = (c ^ (data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24)) >>> 0;
    const hi = data[i + 4] | data[i + 5] << 8 | data[i + 6] << 16 | data[i + 7] << 24;
    c = t[7 * 256 + (lo & 255)] ^ t[6 * 256 + (lo >>> 8 & 255)] ^ t[5 * 256 + (lo >>> 16 & 255)] ^ t[4 * 256 + (lo >>> 24)] ^ t[3 * 256 + (hi & 255)] ^ t[2 * 256 + (hi >>> 8 & 255)] ^ t[256 + (hi >>> 16 & 255)] ^ t[hi >>> 24 & 255];
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]) & 255] ^ c >>> 8;
  return ~c >>> 0;
}
function crc32cBase64(crc) {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString("base64");
}
var Crc32c = class {
  /** The CRC of everything passed to `update` so far, unsigned. */
  value = 0;
  update(data) {
    this.value = crc32cUpdate(this.value, data);
    return this;
  }
  /** In Cloud Storage's base64 form. */
  base64() {
    return crc32cBase64(this.value);
  }
};

// src/local/metadata-server.ts
var TEXT = "text/plain; charset=utf-8";
var TOKEN_LIFETIME_MS = 36e5;
var TOKEN_RENEW_MS = 3e5;
async function startLocalMetadata(opts) {
  const project2 = opts.project;
  const projectNumber = numberFor(project2);
  const instances = /* @__PURE__ */ new Map();
  const tokens = /* @__PURE__ */ new Map();
  const serviceAccount = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const cpuPlatform = (os.cpus()[0]?.model ?? "").replace(/\s+/g, " ").trim() || "unknown";
  const issueToken = (r) => {
    const now = Date.now();
    if (!r.token || r.token.expiresAt - now < TOKEN_RENEW_MS) {
      r.token = {
        value: `local.${randomBytes(24).toString("base64url")}`,
        expiresAt: now + TOKEN_LIFETIME_MS
      };
      tokens.set(r.token.value, { instance: r.instance.name, expiresAt: r.token.expiresAt });
    }
    return { value: r.token.value, expiresIn: Math.floor((r.token.expiresAt - now) / 1e3) };
  };
  const metadataTree = (r) => {
    const name = r.instance.name;
    return {
      instance: {
        attributes: { ...r.instance.attributes },
        "cpu-platform": cpuPlatform,
        description: "",
        hostname: `${name}.local.c.${project2}.internal`,
        id: r.id,
        image: "local",
        "machine-type": `projects/${projectNumber}/machineTypes/local`,
        name,
        preempted: r.preempted ? "TRUE" : "FALSE",
        "service-accounts": {
          default: {
            aliases: "default",
            email: serviceAccount,
            scopes: "https://www.googleapis.com/auth/cloud-platform\n",
            token: () => {
              const t = issueToken(r);
              return {
                contentType: "application/json",
                body: JSON.stringify({
                  access_token: t.value,
                  expires_in: t.expiresIn,
                  token_type: "Bearer"
                })
              };
            }
          }
        },
        zone: `projects/${projectNumber}/zones/local`
      },
      project: {
        attributes: {},
        "numeric-project-id": projectNumber,
        "project-id": project2
      }
    };
  };
  const serveMetadata = (req, res, name, rest, query) => {
    if (req.headers["x-forwarded-for"] !== void 0) {
      return sendMetadata(res, 403, "Request had an X-Forwarded-For header.\n", TEXT);
    }
    if (req.headers["metadata-flavor"] !== "Google") {
      return sendMetadata(res, 403, "Missing Metadata-Flavor:Google header.\n", TEXT);
    }
    if (req.method !== "GET" && req.method !== "HEAD")
      return sendMetadata(res, 405, "Method not allowed.\n", TEXT);
    const r = instances.get(name);
    if (!r) return sendMetadata(res, 404, `No instance ${name} on this local metadata server.
`, TEXT);
    if (query.has("wait_for_change")) {
      return sendMetadata(
        res,
        400,
        "wait_for_change is not supported by the gce-matrix local metadata server.\n",
        TEXT
      );
    }
    const prefix = "/computeMetadata/v1";
    if (rest !== prefix && !rest.startsWith(`${prefix}/`))
      return sendMetadata(res, 404, "Not found.\n", TEXT);
    const sub = rest.slice(prefix.length);
    const parts = sub.split("/").filter((p) => p !== "");
    let node = metadataTree(r);
    for (const raw of parts) {
      const part = decoded(raw);
      if (part === void 0) return sendMetadata(res, 400, `Invalid path segment ${raw}.
`, TEXT);
      if (!isDir(node) || !Object.hasOwn(node, part)) return sendMetadata(res, 404, "Not found.\n", TEXT);
      node = node[part];
    }
    const trailingSlash = sub === "" || sub.endsWith("/");
    if (isDir(node)) {
      if (query.get("recursive") === "true") {
        return sendMetadata(
          res,
          200,
          JSON.stringify(toJson(node, parts[parts.length - 1] === "attributes")),
          "application/json"
        );
      }
      if (!trailingSlash) {
        res.setHeader("location", `${hostFor(name)}${prefix}${sub}/`);
        return sendMetadata(res, 301, "Moved permanently.\n", TEXT);
      }
      const lines = Object.entries(node).map(([k, child]) => isDir(child) ? `${k}/` : k);
      return sendMetadata(res, 200, lines.map((l) => `${l}
`).join(""), TEXT);
    }
    if (trailingSlash) return sendMetadata(res, 404, "Not found.\n", TEXT);
    if (typeof node === "function") {
      const out = node();
      return sendMetadata(res, 200, out.body, out.contentType);
    }
    if (query.get("alt") === "json") return sendMetadata(res, 200, JSON.stringify(node), "application/json");
    sendMetadata(res, 200, node, TEXT);
  };
  const serveSecret = (req, res, rest) => {
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(rest);
    if (!m) {
      return sendGoogleError(
        res,
        501,
        "UNIMPLEMENTED",
        `${req.method ?? "GET"} /secretmanager${rest} is not supported by the gce-matrix local server (only versions/V:access is)`
      );
    }
    if (req.method !== "GET") {
      return sendGoogleError(
        res,
        501,
        "UNIMPLEMENTED",
        `${req.method} ${rest} is not supported; access is a GET.`
      );
    }
    const auth = /^Bearer\s+(\S+)$/i.exec(headerValue(req.headers.authorization) ?? "");
    const token = auth ? tokens.get(auth[1]) : void 0;
    if (!token || token.expiresAt <= Date.now()) {
      if (auth) tokens.delete(auth[1]);
      return sendGoogleError(
        res,
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected an access token of a registered local instance (from its metadata server)."
      );
    }
    const r = instances.get(token.instance);
    const [projectRef, secret, version] = m.slice(1).map((s) => decoded(s) ?? s);
    if (projectRef !== project2 && projectRef !== projectNumber) {
      return sendGoogleError(
        res,
        403,
        "PERMISSION_DENIED",
        `Permission denied on project ${projectRef} (this local server serves ${project2}).`
      );
    }
    const found = r && findSecret(r.instance.secrets ?? {}, project2, projectNumber, secret, version);
    if (!found) {
      return sendGoogleError(
        res,
        404,
        "NOT_FOUND",
        `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${version}] not found, or instance ${token.instance} was not given it.`
      );
    }
    const data = Buffer.from(found.value, "utf8");
    sendMetadata(
      res,
      200,
      JSON.stringify({
        name: `projects/${projectNumber}/secrets/${secret}/versions/${found.version}`,
        payload: { data: data.toString("base64"), dataCrc32c: String(crc32cUpdate(0, data)) }
      }),
      "application/json; charset=UTF-8",
      false
    );
  };
  const server = http.createServer((req, res) => {
    req.resume();
    try {
      const raw = req.url ?? "/";
      const q = raw.indexOf("?");
      const rawPath = q < 0 ? raw : raw.slice(0, q);
      const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
      const inst = /^\/instances\/([^/]+)(\/.*)?$/.exec(rawPath);
      const name = inst ? decoded(inst[1]) : void 0;
      if (inst && name !== void 0) return serveMetadata(req, res, name, inst[2] ?? "", query);
      if (rawPath.startsWith("/secretmanager/"))
        return serveSecret(req, res, rawPath.slice("/secretmanager".length));
      sendMetadata(
        res,
        404,
        "Not found: the local metadata server serves /instances/NAME/computeMetadata/v1/ and /secretmanager/v1/.\n",
        TEXT
      );
    } catch (err) {
      if (!res.headersSent)
        sendMetadata(res, 500, `gce-matrix local metadata server: ${err.message}
`, TEXT);
      else res.destroy();
    }
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise((resolve2, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve2();
    });
  });
  const { port } = server.address();
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const hostFor = (name) => `${url}/instances/${encodeURIComponent(name)}`;
  let closed;
  return {
    url,
    hostFor,
    secretManagerEndpoint: `${url}/secretmanager/`,
    register(instance) {
      if (!instance.name) throw new Error("a local instance needs a name");
      if (instances.has(instance.name))
        throw new Error(`local instance ${instance.name} is already registered`);
      instances.set(instance.name, {
        instance: {
          name: instance.name,
          attributes: { ...instance.attributes },
          ...instance.secrets ? { secrets: { ...instance.secrets } } : {}
        },
        id: BigInt(`0x${randomBytes(8).toString("hex")}`).toString().slice(0, 19),
        preempted: false,
        token: void 0
      });
    },
    unregister(name) {
      instances.delete(name);
      for (const [value, t] of tokens) if (t.instance === name) tokens.delete(value);
    },
    setPreempted(name, preempted) {
      const r = instances.get(name);
      if (!r) throw new Error(`no local instance ${name} is registered`);
      r.preempted = preempted;
    },
    close() {
      closed ??= new Promise((resolve2) => {
        server.close(() => resolve2());
        server.closeAllConnections();
      });
      return closed;
    }
  };
}
function isDir(n) {
  return typeof n === "object";
}
function toJson(dir, keepKeys = false) {
  const out = {};
  for (const [key, child] of Object.entries(dir)) {
    if (typeof child === "function") continue;
    const jsonKey = keepKeys ? key : key.replace(/-([a-z])/g, (_m, c) => c.toUpperCase());
    out[jsonKey] = typeof child === "string" ? child : toJson(child, key === "attributes");
  }
  return out;
}
function findSecret(secrets, project2, projectNumber, secret, version) {
  const numbered = [];
  for (const [ref, value] of Object.entries(secrets)) {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(ref);
    if (!m || m[2] !== secret || m[1] !== project2 && m[1] !== projectNumber) continue;
    const v = m[3] ?? "latest";
    if (v === version) return { value, version: v === "latest" ? "1" : v };
    if (/^\d+$/.test(v)) numbered.push({ version: Number(v), value });
  }
  if (version !== "latest" || numbered.length === 0) return void 0;
  const newest = numbered.reduce((a, b) => b.version > a.version ? b : a);
  return { value: newest.value, version: String(newest.version) };
}
function numberFor(project2) {
  const n = BigInt(`0x${createHash("sha256").update(project2).digest("hex").slice(0, 12)}`) % 900000000000n;
  return String(n + 100000000000n);
}
function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return void 0;
  }
}
function headerValue(v) {
  return Array.isArray(v) ? v[0] : v;
}
function sendMetadata(res, status, body, contentType, flavor = true) {
  res.writeHead(status, {
    ...flavor ? { "metadata-flavor": "Google" } : {},
    "content-type": contentType,
    "content-length": Buffer.byteLength(body)
  }).end(body);
}
function sendGoogleError(res, code, status, message) {
  sendMetadata(
    res,
    code,
    JSON.stringify({ error: { code, message, status } }),
    "application/json; charset=UTF-8",
    false
  );
}

// src/local/storage-server.ts
import { createHash as createHash2, randomBytes as randomBytes2 } from "node:crypto";
import { createWriteStream } from "node:fs";
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes
} from "node:fs/promises";
import http2 from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";
async function startLocalStorage(opts) {
  const root = path.resolve(opts.root);
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const uploads = path.join(root, UPLOADS_DIR, randomBytes2(8).toString("hex"));
  await mkdir(uploads, { recursive: true });
  const bucket = new DirectoryBucket(opts.bucket, root, realRoot, uploads);
  const server = http2.createServer((req, res) => {
    void bucket.handle(req, res);
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise((resolve2, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => {
      server.off("error", reject);
      resolve2();
    });
  });
  const { port } = server.address();
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  bucket.origin = url;
  let closed;
  return {
    url,
    bucket: opts.bucket,
    root,
    close() {
      closed ??= (async () => {
        const done = new Promise((resolve2) => server.close(() => resolve2()));
        server.closeAllConnections();
        await done;
        await rm(uploads, { recursive: true, force: true });
        await rmdir(path.dirname(uploads)).catch(() => void 0);
      })();
      return closed;
    }
  };
}
var UPLOADS_DIR = ".gce-matrix-uploads";
var MAX_NAME_BYTES = 1024;
var MAX_PAGE = 1e3;
var MAX_JSON_BYTES = 1024 * 1024;
var CACHE_ENTRIES = 1e5;
var HASH_CONCURRENCY = 16;
var CONTENT_TYPES = {
  json: "application/json",
  txt: "text/plain",
  log: "text/plain",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  md: "text/markdown",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  webp: "image/webp",
  pdf: "application/pdf",
  gz: "application/gzip",
  tgz: "application/gzip",
  zip: "application/zip",
  tar: "application/x-tar"
};
var ApiError = class extends Error {
  status;
  reason;
  headers;
  constructor(status, reason, message, headers = {}) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.headers = headers;
  }
};
var NotModified = class extends Error {
};
var invalid = (message) => new ApiError(400, "invalid", message);
var notImplemented = (what) => new ApiError(501, "notImplemented", `${what} is not supported by the gce-matrix local storage server`);
var conditionNotMet = () => new ApiError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
var PRECONDITIONS = [
  "ifGenerationMatch",
  "ifGenerationNotMatch",
  "ifMetagenerationMatch",
  "ifMetagenerationNotMatch"
];
var DirectoryBucket = class {
  name;
  root;
  realRoot;
  uploads;
  hashes = /* @__PURE__ */ new Map();
  /** Content types sent with uploads, valid while the object is still the generation uploaded. */
  contentTypes = /* @__PURE__ */ new Map();
  sessions = /* @__PURE__ */ new Map();
  locks = /* @__PURE__ */ new Map();
  created = (/* @__PURE__ */ new Date()).toISOString();
  /** `http://host:port` of the server, for the links in resources; known once it listens. */
  origin = "";
  constructor(name, root, realRoot, uploads) {
    this.name = name;
    this.root = root;
    this.realRoot = realRoot;
    this.uploads = uploads;
  }
  async handle(req, res) {
    try {
      await this.route(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof NotModified) {
        res.writeHead(304).end();
        return;
      }
      const e = err instanceof ApiError ? err : new ApiError(500, "backendError", `gce-matrix local storage server: ${err.message}`);
      sendJson(
        res,
        e.status,
        {
          error: {
            code: e.status,
            message: e.message,
            errors: [{ message: e.message, domain: "global", reason: e.reason }]
          }
        },
        e.headers
      );
    }
  }
  async route(req, res) {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
    const method = req.method ?? "GET";
    let kind = "json";
    let rest = rawPath;
    for (const k of ["upload", "download"]) {
      if (rest.startsWith(`/${k}/`)) {
        kind = k;
        rest = rest.slice(k.length + 1);
      }
    }
    if (rest.startsWith("/storage/v1/")) rest = rest.slice("/storage/v1".length);
    const seg = rest.split("/").slice(1);
    if (seg[seg.length - 1] === "" && seg.length <= 4) seg.pop();
    if (seg[0] !== "b") throw new ApiError(404, "notFound", `Not Found: ${rawPath}`);
    if (seg.length === 1) {
      if (method === "GET")
        return sendJson(res, 200, { kind: "storage#buckets", items: [this.bucketResource()] });
      throw notImplemented(`${method} on the bucket list`);
    }
    const bucketName = decodeSegment(seg[1]);
    if (bucketName !== this.name) {
      throw new ApiError(
        404,
        "notFound",
        `The specified bucket does not exist (this server serves only ${this.name}).`
      );
    }
    if (seg.length === 2) {
      if (method === "GET") return sendJson(res, 200, this.bucketResource());
      throw notImplemented(`${method} on a bucket`);
    }
    if (seg[2] !== "o") throw notImplemented(`The bucket sub-resource ${seg[2]}`);
    if (seg.length === 3) {
      if (kind === "upload") {
        if (query.has("upload_id")) return this.resumableRequest(req, res, query.get("upload_id"), method);
        if (method !== "POST")
          throw new ApiError(405, "methodNotAllowed", `${method} is not allowed on uploads.`);
        return this.upload(req, res, query);
      }
      if (method === "GET") return this.list(res, query);
      if (method === "POST") throw notImplemented("Creating an object without data (POST .../o)");
      throw new ApiError(405, "methodNotAllowed", `${method} is not allowed on the object list.`);
    }
    const objectPath = seg.slice(3).join("/");
    if (method === "POST") throw notImplemented("Copy, rewrite and compose (POST on an object)");
    const name = decodeSegment(objectPath);
    switch (method) {
      case "GET":
      case "HEAD":
        if (query.get("alt") === "media" || kind === "download") return this.download(req, res, name, query);
        return this.getMetadata(res, name, query);
      case "DELETE":
        return this.remove(res, name, query);
      case "PATCH":
      case "PUT":
        throw notImplemented("Updating object metadata");
      default:
        throw new ApiError(405, "methodNotAllowed", `${method} is not allowed on an object.`);
    }
  }
  // ---- names and files
  /** The file of an object name, after checking the name can be one. */
  fileOf(name) {
    const why = nameProblem(name);
    if (why) throw invalid(`Invalid object name ${JSON.stringify(name)}: ${why}.`);
    return path.join(this.root, ...name.split("/"));
  }
  /** Refuses a path whose real location is outside the root (a symbolic link planted in the tree). */
  async checkInside(dir) {
    let real;
    try {
      real = await realpath(dir);
    } catch {
      return true;
    }
    return real === this.realRoot || real.startsWith(this.realRoot + path.sep);
  }
  async current(file) {
    try {
      const st = await lstat(file, { bigint: true });
      if (st.isDirectory()) return "directory";
      return st.isFile() ? st : void 0;
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR")) return void 0;
      throw err;
    }
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
  /** MD5 and CRC32C of a file, from the cache when the file is the one hashed. */
  async hashesOf(file, st, fh) {
    const hit = this.hashes.get(file);
    if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeNs === st.mtimeNs) return hit;
    const own = fh ?? await open(file, "r");
    try {
      const md5 = createHash2("md5");
      const crc = new Crc32c();
      const buf = Buffer.allocUnsafe(Math.max(1, Math.min(Number(st.size), 1024 * 1024)));
      for (let pos = 0; ; ) {
        const { bytesRead } = await own.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        md5.update(buf.subarray(0, bytesRead));
        crc.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
      const hashes = { md5: md5.digest("base64"), crc32c: crc.base64() };
      this.remember(file, st, hashes);
      return hashes;
    } finally {
      if (!fh) await own.close();
    }
  }
  remember(file, st, hashes) {
    this.hashes.delete(file);
    this.hashes.set(file, { ...hashes, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs });
    if (this.hashes.size > CACHE_ENTRIES) this.hashes.delete(this.hashes.keys().next().value);
  }
  contentTypeOf(name, st) {
    const known = this.contentTypes.get(name);
    if (known && known.generation === generationOf(st)) return known.contentType;
    const dot = name.lastIndexOf(".");
    const ext = dot > name.lastIndexOf("/") ? name.slice(dot + 1).toLowerCase() : "";
    return CONTENT_TYPES[ext] ?? "application/octet-stream";
  }
  // ---- resources
  bucketResource() {
    return {
      kind: "storage#bucket",
      id: this.name,
      selfLink: `${this.origin}/storage/v1/b/${encodeURIComponent(this.name)}`,
      projectNumber: "0",
      name: this.name,
      timeCreated: this.created,
      updated: this.created,
      metageneration: "1",
      location: "LOCAL",
      locationType: "region",
      storageClass: "STANDARD",
      etag: "CAE="
    };
  }
  objectResource(name, st, hashes) {
    const generation = generationOf(st).toString();
    const enc = encodeURIComponent(name);
    const bucket = encodeURIComponent(this.name);
    const updated = isoFromNs(st.mtimeNs);
    const born = st.birthtimeNs > 0n && st.birthtimeNs < st.mtimeNs ? st.birthtimeNs : st.mtimeNs;
    return {
      kind: "storage#object",
      id: `${this.name}/${name}/${generation}`,
      selfLink: `${this.origin}/storage/v1/b/${bucket}/o/${enc}`,
      mediaLink: `${this.origin}/download/storage/v1/b/${bucket}/o/${enc}?generation=${generation}&alt=media`,
      name,
      bucket: this.name,
      generation,
      metageneration: "1",
      contentType: this.contentTypeOf(name, st),
      storageClass: "STANDARD",
      size: st.size.toString(),
      ...hashes ? { md5Hash: hashes.md5, crc32c: hashes.crc32c } : {},
      etag: Buffer.from(`${generation}/1`).toString("base64"),
      timeCreated: isoFromNs(born),
      updated,
      timeStorageClassUpdated: isoFromNs(born)
    };
  }
  /** The object's stat (and hashes when wanted), opened once so that both describe the same file. */
  async describe(name, file, wantHashes) {
    const st = await this.current(file);
    if (!st || st === "directory") return void 0;
    if (!wantHashes) return { st, hashes: void 0 };
    const hit = this.hashes.get(file);
    if (hit && hit.ino === st.ino && hit.size === st.size && hit.mtimeNs === st.mtimeNs)
      return { st, hashes: hit };
    let fh;
    try {
      fh = await open(file, "r");
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR", "EISDIR")) return void 0;
      throw err;
    }
    try {
      const now = await fh.stat({ bigint: true });
      if (!now.isFile()) return void 0;
      return { st: now, hashes: await this.hashesOf(file, now, fh) };
    } catch (err) {
      throw new Error(`cannot read ${name}: ${err.message}`);
    } finally {
      await fh.close();
    }
  }
  // ---- reads
  async getMetadata(res, name, query) {
    const file = this.fileOf(name);
    const fields = parseFields(query.get("fields"));
    if (!await this.checkInside(path.dirname(file))) throw noSuchObject(this.name, name);
    const found = await this.describe(name, file, wants(fields, ["md5Hash"]) || wants(fields, ["crc32c"]));
    if (!found) throw noSuchObject(this.name, name);
    const generation = query.get("generation");
    if (generation && generation !== generationOf(found.st).toString()) throw noSuchObject(this.name, name);
    checkPreconditions(readPreconditions(query), generationOf(found.st), "read");
    sendJson(res, 200, project(this.objectResource(name, found.st, found.hashes), fields));
  }
  async download(req, res, name, query) {
    const file = this.fileOf(name);
    if (!await this.checkInside(path.dirname(file))) throw noSuchObject(this.name, name);
    let fh;
    try {
      fh = await open(file, "r");
    } catch (err) {
      if (isCode(err, "ENOENT", "ENOTDIR", "EISDIR", "ELOOP")) throw noSuchObject(this.name, name);
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) throw noSuchObject(this.name, name);
      const generation = query.get("generation");
      if (generation && generation !== generationOf(st).toString()) throw noSuchObject(this.name, name);
      checkPreconditions(readPreconditions(query), generationOf(st), "read");
      const hashes = await this.hashesOf(file, st, fh);
      const size = Number(st.size);
      const headers = {
        "content-type": this.contentTypeOf(name, st),
        "x-goog-hash": `crc32c=${hashes.crc32c},md5=${hashes.md5}`,
        "x-goog-generation": generationOf(st).toString(),
        "x-goog-metageneration": "1",
        "x-goog-stored-content-length": String(size),
        "x-goog-stored-content-encoding": "identity",
        "x-goog-storage-class": "STANDARD",
        etag: Buffer.from(`${generationOf(st)}/1`).toString("base64"),
        "last-modified": new Date(Number(st.mtimeNs / 1000000n)).toUTCString(),
        "accept-ranges": "bytes"
      };
      const range = parseRange(headerValue2(req.headers.range), size);
      if (range === "unsatisfiable") {
        throw new ApiError(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.", {
          "content-range": `bytes */${size}`
        });
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      if (range) headers["content-range"] = `bytes ${start}-${end}/${size}`;
      headers["content-length"] = end - start + 1;
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === "HEAD" || end < start) {
        res.end();
        return;
      }
      await pipeline(fh.createReadStream({ start, end, autoClose: false }), res);
    } finally {
      await fh.close();
    }
  }
  async list(res, query) {
    if (query.has("matchGlob")) throw notImplemented("Listing with matchGlob");
    const prefix = query.get("prefix") ?? "";
    const delimiter = query.get("delimiter") ?? "";
    const startOffset = query.get("startOffset") ?? "";
    const endOffset = query.get("endOffset") ?? "";
    const includeTrailing = query.get("includeTrailingDelimiter") === "true";
    const fields = parseFields(query.get("fields"));
    let max = MAX_PAGE;
    const maxRaw = query.get("maxResults");
    if (maxRaw !== null && maxRaw !== "") {
      if (!/^\d+$/.test(maxRaw)) throw invalid(`Invalid value for maxResults: ${maxRaw}`);
      max = Math.min(MAX_PAGE, Math.max(1, Number(maxRaw)));
    }
    let after;
    const token = query.get("pageToken");
    if (token) {
      const decoded2 = Buffer.from(token, "base64url").toString("utf8");
      if (!decoded2.startsWith("after:")) throw invalid(`Invalid page token: ${token}`);
      after = Buffer.from(decoded2.slice("after:".length));
    }
    const bytes = (s) => Buffer.from(s);
    const startKey = startOffset ? bytes(startOffset) : void 0;
    const endKey = endOffset ? bytes(endOffset) : void 0;
    const from = [after, startKey].filter((b) => b !== void 0);
    const names = (await this.walk(prefix, from, endKey)).map((name) => ({ name, key: bytes(name) })).filter(
      (n) => (!startKey || Buffer.compare(n.key, startKey) >= 0) && (!endKey || Buffer.compare(n.key, endKey) < 0)
    ).sort((a, b) => Buffer.compare(a.key, b.key));
    const entries = [];
    let lastPrefix;
    for (const n of names) {
      if (delimiter) {
        const cut = n.name.indexOf(delimiter, prefix.length);
        if (cut >= 0) {
          const p = n.name.slice(0, cut + delimiter.length);
          if (p !== lastPrefix) {
            lastPrefix = p;
            entries.push({ key: bytes(p), name: p, isPrefix: true });
          }
          if (!(includeTrailing && p === n.name)) continue;
        }
      }
      entries.push({ key: n.key, name: n.name, isPrefix: false });
    }
    let first = 0;
    if (after) {
      const a = after;
      first = entries.findIndex((e) => Buffer.compare(e.key, a) > 0);
      if (first < 0) first = entries.length;
    }
    const page = entries.slice(first, first + max);
    const wantHashes = wants(fields, ["items", "md5Hash"]) || wants(fields, ["items", "crc32c"]);
    const itemFields = fields?.get("items");
    const namesOnly = itemFields instanceof Map && [...itemFields.keys()].every((k) => k === "name");
    const described = await mapLimit(
      page.filter((e) => !e.isPrefix),
      HASH_CONCURRENCY,
      async (e) => {
        if (namesOnly) return { name: e.name };
        const found = await this.describe(e.name, path.join(this.root, ...e.name.split("/")), wantHashes);
        return found && this.objectResource(e.name, found.st, found.hashes);
      }
    );
    const out = { kind: "storage#objects" };
    const prefixes = page.filter((e) => e.isPrefix).map((e) => e.name);
    if (prefixes.length > 0) out.prefixes = prefixes;
    const items = described.filter((r) => r !== void 0);
    if (items.length > 0) out.items = items;
    if (first + max < entries.length) {
      out.nextPageToken = Buffer.from(`after:${page[page.length - 1].name}`).toString("base64url");
    }
    sendJson(res, 200, project(out, fields));
  }
  /**
   * Every object name under `prefix`, unsorted: one walk of the directories the prefix can reach, leaving
   * out directories whose names all sort below `from` (the page token, startOffset) or from `to` on.
   */
  async walk(prefix, from, to) {
    const cut = prefix.lastIndexOf("/");
    const base = cut < 0 ? "" : prefix.slice(0, cut + 1);
    if (base && nameProblem(base.slice(0, -1))) return [];
    const baseDir = path.join(this.root, ...base.split("/").filter(Boolean));
    if (!await this.checkInside(baseDir)) return [];
    const skipDir = (dirKey) => from.some((b) => Buffer.compare(dirKey, b) < 0 && !startsWith(b, dirKey)) || to !== void 0 && Buffer.compare(dirKey, to) > 0 && !startsWith(to, dirKey);
    const out = [];
    const pending = [base];
    while (pending.length > 0) {
      const rel = pending.pop();
      let entries;
      try {
        entries = await readdir(path.join(this.root, ...rel.split("/").filter(Boolean)), {
          withFileTypes: true
        });
      } catch (err) {
        if (isCode(err, "ENOENT", "ENOTDIR")) continue;
        throw err;
      }
      for (const e of entries) {
        if (rel === "" && e.name === UPLOADS_DIR) continue;
        const name = rel + e.name;
        if (!name.startsWith(prefix) && !prefix.startsWith(name)) continue;
        if (e.isDirectory()) {
          if (!skipDir(Buffer.from(`${name}/`))) pending.push(`${name}/`);
        } else if (e.isFile() && name.startsWith(prefix) && !nameProblem(name)) {
          out.push(name);
        }
      }
    }
    return out;
  }
  // ---- deletes
  async remove(res, name, query) {
    const file = this.fileOf(name);
    const pre = readPreconditions(query);
    if (!await this.checkInside(path.dirname(file))) throw noSuchObject(this.name, name);
    await this.locked(name, async () => {
      const st = await this.current(file);
      if (!st || st === "directory") throw noSuchObject(this.name, name);
      const generation = query.get("generation");
      if (generation && generation !== generationOf(st).toString()) throw noSuchObject(this.name, name);
      checkPreconditions(pre, generationOf(st), "write");
      try {
        await unlink(file);
      } catch (err) {
        if (isCode(err, "ENOENT")) throw noSuchObject(this.name, name);
        throw err;
      }
      this.hashes.delete(file);
      this.contentTypes.delete(name);
      for (let dir = path.dirname(file); dir !== this.root && dir.startsWith(this.root); dir = path.dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    });
    res.writeHead(204, { "content-length": 0 }).end();
  }
  // ---- uploads
  async upload(req, res, query) {
    const type = query.get("uploadType");
    const pre = readPreconditions(query);
    if (type === "media") {
      const name = query.get("name");
      if (!name)
        throw new ApiError(400, "required", "A media upload needs the object name in the name parameter.");
      this.fileOf(name);
      const tmp = this.tempFile();
      try {
        const received = await receive(req, tmp);
        checkClientHashes(received, hashesFromHeader(req.headers["x-goog-hash"]));
        const contentType = headerValue2(req.headers["content-type"]);
        sendJson(res, 200, await this.commit(name, tmp, pre, received, contentType));
      } finally {
        await rm(tmp, { force: true });
      }
      return;
    }
    if (type === "multipart") {
      const tmp = this.tempFile();
      try {
        const { metadata, mediaType, received } = await receiveMultipart(req, tmp);
        const name = query.get("name") || (typeof metadata.name === "string" ? metadata.name : "");
        if (!name)
          throw new ApiError(400, "required", "A multipart upload needs the object name in its metadata.");
        this.fileOf(name);
        checkClientHashes(received, {
          ...hashesFromMetadata(metadata),
          ...hashesFromHeader(req.headers["x-goog-hash"])
        });
        const contentType = typeof metadata.contentType === "string" && metadata.contentType || mediaType;
        sendJson(res, 200, await this.commit(name, tmp, pre, received, contentType));
      } finally {
        await rm(tmp, { force: true });
      }
      return;
    }
    if (type === "resumable") return this.startResumable(req, res, query, pre);
    throw invalid(
      type ? `uploadType=${type} is not supported by the gce-matrix local storage server (media, multipart and resumable are)` : "Upload requests must include an uploadType URL parameter and a URL-encoded object name."
    );
  }
  tempFile() {
    return path.join(this.uploads, randomBytes2(12).toString("hex"));
  }
  async startResumable(req, res, query, pre) {
    const metadata = await readJson(req);
    const name = query.get("name") || (typeof metadata.name === "string" ? metadata.name : "");
    if (!name) throw new ApiError(400, "required", "A resumable upload needs the object name.");
    const file = this.fileOf(name);
    const st = await this.current(file);
    checkPreconditions(pre, st && st !== "directory" ? generationOf(st) : void 0, "write");
    const declared = headerValue2(req.headers["x-upload-content-length"]);
    const id = randomBytes2(24).toString("base64url");
    const session = {
      id,
      name,
      tmp: path.join(this.uploads, `session-${id}`),
      size: 0,
      contentType: typeof metadata.contentType === "string" && metadata.contentType || headerValue2(req.headers["x-upload-content-type"]),
      declaredSize: declared && /^\d+$/.test(declared) ? Number(declared) : void 0,
      preconditions: pre,
      result: void 0
    };
    await (await open(session.tmp, "wx")).close();
    this.sessions.set(id, session);
    const location = new URLSearchParams({ uploadType: "resumable", name, upload_id: id });
    const origin = `http://${headerValue2(req.headers.host) ?? "localhost"}`;
    res.writeHead(200, {
      location: `${origin}/upload/storage/v1/b/${encodeURIComponent(this.name)}/o?${location.toString()}`,
      "x-guploader-uploadid": id,
      "content-length": 0
    }).end();
  }
  async resumableRequest(req, res, id, method) {
    const session = this.sessions.get(id);
    if (!session) throw new ApiError(404, "notFound", `No such upload session: ${id}`);
    await this.locked(`\0upload:${id}`, async () => {
      if (method === "DELETE") {
        this.sessions.delete(id);
        await rm(session.tmp, { force: true });
        res.writeHead(499, { "content-length": 0 }).end();
        return;
      }
      if (method !== "PUT" && method !== "POST") {
        throw new ApiError(405, "methodNotAllowed", `${method} is not allowed on an upload session.`);
      }
      if (session.result) return sendJson(res, 200, session.result);
      const range = parseContentRange(headerValue2(req.headers["content-range"]));
      if (range.kind === "status") {
        if (range.total !== void 0 && range.total === session.size) {
          return sendJson(res, 200, await this.finishResumable(req, session));
        }
        if (range.total !== void 0 && range.total < session.size) {
          throw invalid(
            `Content-Range total ${range.total} is less than the ${session.size} bytes already uploaded.`
          );
        }
        return incomplete(res, session.size);
      }
      if (range.kind === "whole" && session.size > 0) {
        throw invalid("Missing Content-Range on an upload already in progress.");
      }
      const start = range.kind === "whole" ? 0 : range.start;
      if (start > session.size) {
        throw invalid(
          `The upload offset ${start} is past the ${session.size} byte(s) already uploaded; query the session for its offset.`
        );
      }
      let sent;
      try {
        sent = await appendFrom(req, session.tmp, session.size, session.size - start);
      } finally {
        session.size = Number((await stat(session.tmp)).size);
      }
      if (range.kind === "chunk" && range.end !== void 0 && sent !== range.end - start + 1) {
        throw invalid(
          `Content-Range ${headerValue2(req.headers["content-range"])} does not match the ${sent} byte(s) sent.`
        );
      }
      const total = range.kind === "whole" ? session.size : range.total;
      if (total !== void 0 && session.size > total) {
        throw invalid(`Content-Range total ${total} is less than the ${session.size} bytes uploaded.`);
      }
      const last = total !== void 0 ? session.size === total : range.kind === "chunk" && range.end === void 0;
      if (!last) return incomplete(res, session.size);
      sendJson(res, 200, await this.finishResumable(req, session));
    });
  }
  async finishResumable(req, session) {
    try {
      if (session.declaredSize !== void 0 && session.declaredSize !== session.size) {
        throw invalid(
          `The upload has ${session.size} bytes but X-Upload-Content-Length declared ${session.declaredSize}.`
        );
      }
      const st = await stat(session.tmp, { bigint: true });
      const hashes = await this.hashesOf(session.tmp, st);
      this.hashes.delete(session.tmp);
      checkClientHashes(hashes, hashesFromHeader(req.headers["x-goog-hash"]));
      session.result = await this.commit(
        session.name,
        session.tmp,
        session.preconditions,
        { ...hashes, size: session.size },
        session.contentType
      );
      return session.result;
    } catch (err) {
      this.sessions.delete(session.id);
      await rm(session.tmp, { force: true });
      throw err;
    }
  }
  /**
   * Moves a received temporary file into place as object `name`, under the preconditions; answers the new
   * object's resource. Writes to one name are serialized, so checking a precondition and replacing the file
   * are one step.
   */
  async commit(name, tmp, pre, received, contentType) {
    const file = this.fileOf(name);
    return this.locked(name, async () => {
      const existing = await this.current(file);
      if (existing === "directory") {
        throw new ApiError(
          409,
          "conflict",
          `Cannot store ${name}: objects named ${name}/... exist, and a directory-backed bucket cannot hold an object and names under it.`
        );
      }
      checkPreconditions(pre, existing && generationOf(existing), "write");
      if (existing) await distinctGeneration(tmp, generationOf(existing));
      for (let attempt = 1; ; attempt++) {
        await this.makeParent(name, file);
        try {
          if (pre.ifGenerationMatch === 0n) {
            await link(tmp, file);
            await unlink(tmp);
          } else {
            await rename(tmp, file);
          }
          break;
        } catch (err) {
          if (isCode(err, "EEXIST") && pre.ifGenerationMatch === 0n) throw conditionNotMet();
          if (isCode(err, "ENOENT") && attempt < 5) continue;
          if (isCode(err, "EISDIR", "ENOTEMPTY", "EEXIST", "ENOTDIR")) {
            throw new ApiError(
              409,
              "conflict",
              `Cannot store ${name}: a directory of other objects has that name.`
            );
          }
          if (isCode(err, "ENAMETOOLONG"))
            throw invalid(`Object name ${name} is too long for the file system.`);
          throw err;
        }
      }
      const st = await lstat(file, { bigint: true });
      this.remember(file, st, received);
      if (contentType) {
        this.contentTypes.delete(name);
        this.contentTypes.set(name, { generation: generationOf(st), contentType });
        if (this.contentTypes.size > CACHE_ENTRIES)
          this.contentTypes.delete(this.contentTypes.keys().next().value);
      } else {
        this.contentTypes.delete(name);
      }
      return this.objectResource(name, st, received);
    });
  }
  /** Creates the directories above an object's file; an object standing where one must go is a 409. */
  async makeParent(name, file) {
    const dir = path.dirname(file);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      if (!isCode(err, "ENOTDIR", "EEXIST")) {
        if (isCode(err, "ENAMETOOLONG"))
          throw invalid(`Object name ${name} is too long for the file system.`);
        throw err;
      }
      const parts = name.split("/");
      let blocker = parts[0];
      for (let i = 1; i < parts.length; i++) {
        const st = await this.current(path.join(this.root, ...parts.slice(0, i)));
        if (st && st !== "directory") {
          blocker = parts.slice(0, i).join("/");
          break;
        }
      }
      throw new ApiError(
        409,
        "conflict",
        `Cannot store ${name}: ${blocker} is an object, and a directory-backed bucket cannot hold an object and names under it.`
      );
    }
    if (!await this.checkInside(dir)) {
      throw new ApiError(
        403,
        "forbidden",
        `Cannot store ${name}: its directory leads outside the served root.`
      );
    }
  }
};
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
function noSuchObject(bucket, name) {
  return new ApiError(404, "notFound", `No such object: ${bucket}/${name}`);
}
function isCode(err, ...codes) {
  return !!err && typeof err === "object" && codes.includes(err.code ?? "");
}
function headerValue2(v) {
  return Array.isArray(v) ? v[0] : v;
}
function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalid(`Invalid percent-encoding in the path: ${s}`);
  }
}
function startsWith(buf, head) {
  return buf.length >= head.length && buf.subarray(0, head.length).equals(head);
}
function isoFromNs(ns) {
  return new Date(Number(ns / 1000000n)).toISOString();
}
function nameProblem(name) {
  if (name === "") return "it is empty";
  if (!name.isWellFormed() || name.includes("\uFFFD")) return "it is not valid UTF-8";
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes`;
  if (/[\0\r\n]/.test(name)) return "it contains NUL, CR or LF";
  if (name.startsWith("/")) return "it starts with /";
  const segments = name.split("/");
  if (segments.includes("")) return "it has an empty path segment (// or a trailing /)";
  if (segments.some((s) => s === "." || s === "..")) return "it has a . or .. path segment";
  if (segments[0] === UPLOADS_DIR) return `${UPLOADS_DIR}/ is reserved for the server's partial uploads`;
  return void 0;
}
function readPreconditions(query) {
  const out = {};
  for (const key of PRECONDITIONS) {
    const v = query.get(key);
    if (v === null) continue;
    if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value for ${key}: ${v}`);
    out[key] = BigInt(v);
  }
  return out;
}
function checkPreconditions(pre, generation, mode) {
  const exists = generation !== void 0;
  if (pre.ifGenerationMatch !== void 0 && (exists ? generation !== pre.ifGenerationMatch : pre.ifGenerationMatch !== 0n)) {
    throw conditionNotMet();
  }
  if (pre.ifMetagenerationMatch !== void 0 && (!exists || pre.ifMetagenerationMatch !== 1n))
    throw conditionNotMet();
  const notMatchFailed = pre.ifGenerationNotMatch !== void 0 && (exists ? generation === pre.ifGenerationNotMatch : pre.ifGenerationNotMatch === 0n) || pre.ifMetagenerationNotMatch !== void 0 && exists && pre.ifMetagenerationNotMatch === 1n;
  if (notMatchFailed) {
    if (mode === "read") throw new NotModified();
    throw conditionNotMet();
  }
}
function generationOf(st) {
  return st.mtimeNs / 1000n;
}
async function distinctGeneration(tmp, previous) {
  let st = await stat(tmp, { bigint: true });
  for (const step of [1n, 1000n, 1000000n, 2000000n]) {
    if (generationOf(st) > previous) return;
    const targetNs = (previous + step) * 1000n + 500n;
    const seconds = Number(targetNs / 1000000000n) + Number(targetNs % 1000000000n) / 1e9;
    await utimes(tmp, seconds, seconds);
    st = await stat(tmp, { bigint: true });
  }
  if (generationOf(st) <= previous) {
    throw new Error("the file system keeps modification times too coarse to tell generations apart");
  }
}
async function receive(source, tmp) {
  const md5 = createHash2("md5");
  const crc = new Crc32c();
  let size = 0;
  await pipeline(
    source,
    async function* (chunks) {
      for await (const chunk of chunks) {
        md5.update(chunk);
        crc.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(tmp, { flags: "wx" })
  );
  return { md5: md5.digest("base64"), crc32c: crc.base64(), size };
}
async function appendFrom(source, file, offset, skip) {
  let sent = 0;
  let toSkip = skip;
  await pipeline(
    source,
    async function* (chunks) {
      for await (const chunk of chunks) {
        sent += chunk.length;
        if (toSkip >= chunk.length) {
          toSkip -= chunk.length;
          continue;
        }
        const fresh = toSkip > 0 ? chunk.subarray(toSkip) : chunk;
        toSkip = 0;
        yield fresh;
      }
    },
    createWriteStream(file, { flags: "r+", start: offset })
  );
  return sent;
}
async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) throw invalid(`The object metadata is larger than ${MAX_JSON_BYTES} bytes.`);
    chunks.push(chunk);
  }
  return parseJsonObject(Buffer.concat(chunks));
}
function parseJsonObject(body) {
  const text = body.toString("utf8").trim();
  if (text === "") return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
  }
  throw new ApiError(400, "parseError", "The object metadata is not a JSON object.");
}
async function receiveMultipart(req, tmp) {
  const type = headerValue2(req.headers["content-type"]) ?? "";
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  if (!/^multipart\//i.test(type) || !m) {
    throw invalid("A multipart upload needs a multipart/related Content-Type with a boundary.");
  }
  const delimiter = Buffer.from(`\r
--${m[1] ?? m[2]}`);
  const input = req[Symbol.asyncIterator]();
  let buf = Buffer.from("\r\n");
  let ended = false;
  const more = async () => {
    if (ended) return false;
    const next = await input.next();
    if (next.done) {
      ended = true;
      return false;
    }
    buf = Buffer.concat([buf, next.value]);
    if (buf.length > MAX_JSON_BYTES + delimiter.length * 4) {
      throw invalid("The multipart metadata part is too large or the body is malformed.");
    }
    return true;
  };
  const malformed = () => invalid("Malformed multipart body: expected a metadata part and a media part.");
  const until = async (needle) => {
    for (; ; ) {
      const at = buf.indexOf(needle);
      if (at >= 0) {
        const before = buf.subarray(0, at);
        buf = buf.subarray(at + needle.length);
        return before;
      }
      if (!await more()) throw malformed();
    }
  };
  const partHeaders = async () => {
    const restOfLine = await until(Buffer.from("\r\n"));
    if (restOfLine.subarray(0, 2).toString() === "--") {
      throw invalid("A multipart upload must have exactly two parts: metadata and media.");
    }
    const headers = {};
    for (; ; ) {
      const line = (await until(Buffer.from("\r\n"))).toString("latin1");
      if (line === "") return headers;
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  };
  await until(delimiter);
  await partHeaders();
  const metadata = parseJsonObject(await until(delimiter));
  const mediaHeaders = await partHeaders();
  const body = async function* () {
    for (; ; ) {
      const at = buf.indexOf(delimiter);
      if (at >= 0) {
        if (at > 0) yield buf.subarray(0, at);
        const tail = buf.subarray(at + delimiter.length);
        buf = tail;
        while (buf.length < 2 && await more()) ;
        if (!buf.subarray(0, 2).equals(Buffer.from("--"))) {
          throw invalid("A multipart upload must have exactly two parts: metadata and media.");
        }
        while (await more()) buf = Buffer.alloc(0);
        return;
      }
      const keep = delimiter.length - 1;
      if (buf.length > keep) {
        yield buf.subarray(0, buf.length - keep);
        buf = buf.subarray(buf.length - keep);
      }
      if (ended) throw invalid("The multipart body ends before its closing boundary.");
      const next = await input.next();
      if (next.done) {
        ended = true;
        continue;
      }
      buf = Buffer.concat([buf, next.value]);
    }
  };
  const received = await receive(body(), tmp);
  return { metadata, mediaType: mediaHeaders["content-type"], received };
}
function hashesFromHeader(h2) {
  const out = {};
  for (const value of Array.isArray(h2) ? h2 : h2 ? [h2] : []) {
    for (const pair of value.split(",")) {
      const i = pair.indexOf("=");
      if (i < 0) continue;
      const key = pair.slice(0, i).trim().toLowerCase();
      const v = pair.slice(i + 1).trim();
      if (key === "md5") out.md5 = v;
      else if (key === "crc32c") out.crc32c = v;
    }
  }
  return out;
}
function hashesFromMetadata(metadata) {
  const out = {};
  if (typeof metadata.md5Hash === "string") out.md5 = metadata.md5Hash;
  if (typeof metadata.crc32c === "string") out.crc32c = metadata.crc32c;
  return out;
}
function checkClientHashes(actual, given) {
  if (given.crc32c !== void 0 && given.crc32c !== actual.crc32c) {
    throw invalid(`Provided CRC32C "${given.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`);
  }
  if (given.md5 !== void 0 && given.md5 !== actual.md5) {
    throw invalid(`Provided MD5 hash "${given.md5}" doesn't match calculated MD5 hash "${actual.md5}".`);
  }
}
function parseContentRange(header) {
  if (header === void 0) return { kind: "whole" };
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw invalid(`Invalid Content-Range header: ${header}`);
  const total = m[4] === "*" ? void 0 : Number(m[4]);
  if (m[1] === "*") return { kind: "status", total };
  return { kind: "chunk", start: Number(m[2]), end: m[3] === "*" ? void 0 : Number(m[3]), total };
}
function parseRange(header, size) {
  if (!header) return void 0;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || m[1] === "" && m[2] === "") return void 0;
  if (size === 0) return void 0;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (start >= size) return "unsatisfiable";
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return void 0;
  return { start, end };
}
function parseFields(spec) {
  if (spec === null || spec.trim() === "") return void 0;
  const s = spec.replace(/\s+/g, "");
  let i = 0;
  const fail = () => new ApiError(400, "invalidParameter", `Invalid field selection ${spec}`);
  const parsePath = (into) => {
    const m = /^[A-Za-z0-9_*]+/.exec(s.slice(i));
    if (!m) throw fail();
    i += m[0].length;
    const key = m[0];
    const c = s[i];
    if (c !== "/" && c !== "(") {
      into.set(key, null);
      return;
    }
    i++;
    let sub = into.get(key);
    if (sub === null) sub = /* @__PURE__ */ new Map();
    else if (sub === void 0) {
      sub = /* @__PURE__ */ new Map();
      into.set(key, sub);
    }
    if (c === "/") parsePath(sub);
    else parseList(sub, true);
  };
  const parseList = (into, nested) => {
    for (; ; ) {
      parsePath(into);
      if (i >= s.length) {
        if (nested) throw fail();
        return;
      }
      if (s[i] === ",") {
        i++;
        continue;
      }
      if (s[i] === ")" && nested) {
        i++;
        return;
      }
      throw fail();
    }
  };
  const root = /* @__PURE__ */ new Map();
  parseList(root, false);
  return root;
}
function wants(fields, at) {
  let node = fields;
  for (const key of at) {
    if (node === void 0 || node === null) return true;
    const next = node.get(key) ?? node.get("*");
    if (next === void 0) return false;
    node = next;
  }
  return true;
}
function project(value, fields) {
  if (fields === void 0) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, fields));
  if (!value || typeof value !== "object") return value;
  const src = value;
  const out = {};
  for (const [key, sub] of fields) {
    const keys = key === "*" ? Object.keys(src) : key in src ? [key] : [];
    for (const k of keys) out[k] = sub === null ? src[k] : project(src[k], sub);
  }
  return out;
}
async function mapLimit(items, limit, task) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
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
import path2 from "node:path";
var KILL_GRACE_MS = 3e3;
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
    let next = 0;
    const stopAll = () => {
      for (const agent of this.running) this.stopping.set(agent, this.stopAgent(agent));
    };
    this.opts.signal.addEventListener("abort", stopAll, { once: true });
    const worker = async () => {
      while (next < jobs.length && !this.opts.signal.aborted) {
        const job = jobs[next++];
        results.set(job.settings.experiment.id, await this.runJob(job));
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, Math.min(this.opts.parallel, jobs.length)) }, worker)
      );
    } finally {
      this.opts.signal.removeEventListener("abort", stopAll);
      await Promise.all(this.stopping.values());
    }
    return results;
  }
  async runJob(job) {
    const s = job.settings;
    const first = job.firstAttempt ?? 1;
    const last = first + s.maxAttempts - 1;
    for (let attempt = first; ; attempt++) {
      const started = Date.now();
      this.opts.onEvent({ kind: "started", id: s.experiment.id, attempt });
      const end = await this.runAttempt(s, attempt);
      const aborted = this.opts.signal.aborted;
      const outcome = aborted && end.status?.state !== "succeeded" && end.status?.state !== "failed" ? "interrupted" : end.status?.state ?? "lost";
      const retry = !aborted && attempt < last && (outcome === "lost" || outcome === "error" || outcome === "failed" && s.retryOnFailure);
      this.opts.onEvent({
        kind: "finished",
        id: s.experiment.id,
        attempt,
        outcome,
        exitCode: end.status?.exitCode ?? null,
        reason: end.status?.reason ?? end.reason,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        retrying: retry
      });
      if (!retry) return { outcome, exitCode: end.status?.exitCode ?? null, attempts: attempt - first + 1 };
    }
  }
  async runAttempt(s, attempt) {
    const id = s.experiment.id;
    const dir = path2.join(this.opts.workRoot, id, `attempt-${attempt}`);
    await mkdir2(dir, { recursive: true });
    const name = `${id}-${attempt}`;
    const attributes = {
      ...agentAttributes(s, {
        name,
        zone: "local",
        attempt,
        spot: false,
        agentScript: this.opts.agentScript
      }),
      "gce-matrix-self-delete": "false",
      "gce-matrix-endpoint-storage": this.opts.storage.url,
      "gce-matrix-endpoint-secretmanager": this.opts.metadata.secretManagerEndpoint
    };
    checkMetadataLimits(attributes);
    const secrets = {};
    for (const ref of s.secrets) secrets[ref.resource] = this.opts.secrets[ref.resource] ?? "";
    this.opts.metadata.register({ name, attributes, secrets });
    const agentFile = path2.join(dir, "agent.sh");
    await writeFile(agentFile, attributes["startup-script"], { mode: 448 });
    const consoleFile = path2.join(dir, "console.log");
    const env = {
      ...this.opts.env,
      TMPDIR: dir,
      GCE_METADATA_HOST: this.opts.metadata.hostFor(name),
      // The local servers must be reached directly even where the user's shell sets a proxy.
      NO_PROXY: noProxy(this.opts.env.NO_PROXY ?? this.opts.env.no_proxy),
      no_proxy: noProxy(this.opts.env.no_proxy ?? this.opts.env.NO_PROXY)
    };
    delete env.STORAGE_EMULATOR_HOST;
    try {
      if (this.opts.signal.aborted) return { status: void 0, reason: "interrupted before it started" };
      const agent = this.startAgent(agentFile, "startup", env, consoleFile);
      this.running.add(agent);
      const ttl = setTimeout(
        () => {
          if (!this.stopping.has(agent)) this.stopping.set(agent, this.stopAgent(agent));
        },
        (s.timeoutMinutes + TTL_MARGIN_MINUTES) * 6e4
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
      const status = await this.readStatus(s, attempt);
      if (status) return { status, reason: "" };
      return {
        status: void 0,
        reason: `the agent ended (exit ${code ?? "by signal"}) without a status; see ${consoleFile}`
      };
    } finally {
      this.opts.metadata.unregister(name);
    }
  }
  startAgent(agentFile, mode, env, consoleFile) {
    const fd = openSync(consoleFile, "a");
    try {
      const child = spawn("sh", [agentFile, mode], {
        cwd: path2.dirname(agentFile),
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
  async readStatus(s, attempt) {
    const objects = experimentObjects(s.results, s.experiment.id);
    const file = path2.join(this.opts.storage.root, ...objects.status.split("/"));
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

// src/cli/report-files.ts
import { writeFile as writeFile2 } from "node:fs/promises";
import path3 from "node:path";

// src/html-escape.ts
var ENTITIES = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;"
};
function escapeHtml(text) {
  return text.replace(/[\u202a-\u202e\u2066-\u2069]/g, "").replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, " ").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

// src/report/html.ts
var MAX_PIVOT_ROWS = 200;
var MAX_PIVOT_COLUMNS = 40;
var MAX_FAILURES = 200;
var MAX_RESULT_PARAMS = 10;
var MAX_RESULT_METRICS = 20;
var h = escapeHtml;
var VERDICT_TEXT = {
  improved: "better",
  regressed: "worse",
  unchanged: "same",
  changed: "changed"
};
var STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --stripe: #f6f8fa;
  --head: #eef1f4; --good: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da;
  --bar: #3b6fd4; --bar-negative: #d4593b; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1280px; padding: 24px 28px 48px; color: var(--fg); background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--border); }
h3 { font-size: 16px; margin: 26px 0 6px; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.muted, .note { color: var(--muted); }
.note { font-size: 13px; margin: 4px 0; }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0; padding: 0; }
.tile { border: 1px solid var(--border); border-radius: 8px; padding: 8px 16px; min-width: 120px; }
.tile dt { font-size: 12px; color: var(--muted); }
.tile dd { margin: 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile.good dd { color: var(--good); } .tile.bad dd { color: var(--bad); } .tile.warn dd { color: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0 4px; }
th, td { padding: 4px 10px; border: 1px solid var(--border); text-align: left; vertical-align: top; }
thead th, thead td { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) { background: var(--stripe); }
tbody th { font-weight: 600; overflow-wrap: anywhere; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td small { color: var(--muted); }
td.empty { color: var(--muted); text-align: center; }
table.results td { white-space: nowrap; }
tbody tr.failed { background: #ffebe9; } tr.failed td:first-child { box-shadow: inset 3px 0 var(--bad); }
tbody tr.missing { background: #fff8c5; } tr.missing td:first-child { box-shadow: inset 3px 0 var(--warn); }
.status-succeeded { color: var(--good); } .status-failed { color: var(--bad); font-weight: 600; }
.status-missing { color: var(--warn); font-weight: 600; }
.verdict-improved { color: var(--good); font-weight: 600; } .verdict-regressed { color: var(--bad); font-weight: 600; }
.verdict-changed { color: var(--info); } .verdict-unchanged { color: var(--muted); }
.failure { border: 1px solid var(--border); border-left: 4px solid var(--bad); border-radius: 6px;
  padding: 6px 14px 10px; margin: 12px 0; }
.failure h3 { margin: 6px 0; font-size: 15px; }
pre { background: var(--stripe); border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px;
  margin: 6px 0 0; max-height: 320px; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
details { margin: 12px 0; } summary { cursor: pointer; font-weight: 600; }
figure { margin: 14px 0 4px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg.chart .title { font-size: 13px; font-weight: 600; }
svg.chart .axis-title { fill: var(--muted); font-size: 12px; }
svg.chart .grid { stroke: #e6e9ec; } svg.chart .zero { stroke: #8c959f; }
svg.chart rect.bar { fill: var(--bar); } svg.chart rect.bar.negative { fill: var(--bar-negative); }
svg.chart .value { font-weight: 600; } svg.chart .missing-value { fill: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;
function coord(n) {
  return String(Math.round(n * 100) / 100);
}
function clip(text, max) {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}\u2026` : text;
}
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}
function valueScale(values) {
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (lo === hi) {
    hi = 1;
  } else {
    const room = (hi - lo) * 0.08;
    if (lo < 0) lo -= room;
    if (hi > 0) hi += room;
  }
  const step = niceStep((hi - lo) / 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const count = Math.round((hi - lo) / step);
  const ticks = Array.from({ length: count + 1 }, (_, i) => Number((lo + i * step).toPrecision(12)));
  return { lo, hi, ticks };
}
var PLOT_TOP = 44;
var PLOT_HEIGHT = 220;
var PLOT_LEFT = 70;
var PLOT_RIGHT = 16;
var LABEL_ANGLE = 35;
var MIN_PLOT_WIDTH = 360;
var CHAR_WIDTH = 6.5;
function barChartSvg(series) {
  const { metric, axis, bars } = series;
  if (bars.length === 0) return "";
  const { lo, hi, ticks } = valueScale(bars.map((b) => b.mean).filter((v) => Number.isFinite(v)));
  const y = (v) => PLOT_TOP + (hi - v) / (hi - lo) * PLOT_HEIGHT;
  const zeroY = y(0);
  const preferredSlot = bars.length <= 4 ? 96 : bars.length <= 12 ? 64 : 40;
  const slot = Math.max(preferredSlot, MIN_PLOT_WIDTH / bars.length);
  const plotWidth = slot * bars.length;
  const barWidth = Math.min(slot * 0.62, 72);
  const rotate = bars.some((b) => b.label.length * CHAR_WIDTH > slot - 6);
  const labelChars = rotate ? 18 : Math.floor((slot - 6) / CHAR_WIDTH);
  const slantedReach = Math.max(...bars.map((b) => Math.min(b.label.length, labelChars))) * CHAR_WIDTH * Math.cos(LABEL_ANGLE * Math.PI / 180);
  const left = rotate ? Math.max(PLOT_LEFT, slantedReach - slot / 2 + 8) : PLOT_LEFT;
  const labelTop = PLOT_TOP + PLOT_HEIGHT + 16;
  const height = labelTop + (rotate ? 96 : 24) + 14;
  const width = left + plotWidth + PLOT_RIGHT;
  const title = `${metric} by ${axis}, mean`;
  const spoken = bars.map((b) => `${b.label || "(none)"}: ${Number.isFinite(b.mean) ? formatNumber(b.mean) : "n/a"}`).join(", ");
  const grid = ticks.map((t) => {
    const ty = coord(y(t));
    return `<line class="grid" x1="${coord(left)}" x2="${coord(left + plotWidth)}" y1="${ty}" y2="${ty}"/><text class="tick" x="${coord(left - 6)}" y="${ty}" dy="0.32em" text-anchor="end">${h(formatNumber(t))}</text>`;
  });
  const columns = bars.map((b, i) => {
    const cx = left + slot * (i + 0.5);
    const labelX = coord(cx);
    const axisLabel = rotate ? `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="end" transform="rotate(-${LABEL_ANGLE} ${labelX} ${labelTop})">` : `<text class="label" x="${labelX}" y="${labelTop}" text-anchor="middle">`;
    const label = `${axisLabel}<title>${h(b.label || "(none)")}</title>${h(clip(b.label, labelChars) || "(none)")}</text>`;
    if (!Number.isFinite(b.mean)) {
      return `<g class="column" data-label="${h(b.label)}"><text class="missing-value" x="${labelX}" y="${coord(zeroY - 6)}" text-anchor="middle">n/a</text>${label}</g>`;
    }
    const top = b.mean >= 0 ? y(b.mean) : zeroY;
    const barHeight = Math.abs(y(b.mean) - zeroY);
    const valueY = b.mean >= 0 ? top - 5 : top + barHeight + 13;
    return `<g class="column" data-label="${h(b.label)}"><rect class="bar${b.mean < 0 ? " negative" : ""}" x="${coord(cx - barWidth / 2)}" y="${coord(top)}" width="${coord(barWidth)}" height="${coord(barHeight)}" data-value="${String(b.mean)}"><title>${h(b.label || "(none)")}: ${h(formatNumber(b.mean))} (mean of ${b.n})</title></rect><text class="value" x="${labelX}" y="${coord(valueY)}" text-anchor="middle">${h(formatNumber(b.mean))}</text>${label}</g>`;
  });
  return [
    `<svg class="chart" role="img" aria-label="${h(`Bar chart, ${title}: ${spoken}`)}" width="${coord(width)}" height="${coord(height)}" viewBox="0 0 ${coord(width)} ${coord(height)}" data-metric="${h(metric)}">`,
    `<text class="title" x="${coord(left)}" y="20">${h(title)}</text>`,
    ...grid,
    `<line class="zero" x1="${coord(left)}" x2="${coord(left + plotWidth)}" y1="${coord(zeroY)}" y2="${coord(zeroY)}"/>`,
    ...columns,
    `<text class="axis-title" x="${coord(left + plotWidth / 2)}" y="${coord(height - 6)}" text-anchor="middle">${h(axis)}</text>`,
    `<text class="axis-title" transform="rotate(-90)" x="${coord(-(PLOT_TOP + PLOT_HEIGHT / 2))}" y="16" text-anchor="middle">${h(clip(metric, 40))}</text>`,
    "</svg>"
  ].join("\n");
}
function statusCell(status) {
  return `<span class="status-${countClass(status)}">${h(status)}</span>`;
}
function summarySection(data, b) {
  const t = data.totals;
  const tiles = [
    ["experiments", String(t.experiments), ""],
    ["succeeded", String(t.succeeded), t.succeeded === t.experiments ? "good" : ""],
    ["failed", String(t.failed), t.failed > 0 ? "bad" : ""],
    ["missing", String(t.missing), t.missing > 0 ? "warn" : ""],
    ...t.lost > 0 ? [["lost with their VM", String(t.lost), "bad"]] : [],
    ["cost (estimate)", `$${t.costUsd.toFixed(2)}`, ""],
    ["VM hours", t.vmHours.toFixed(2), ""],
    ["retries", String(t.retries), t.retries > 0 ? "warn" : ""]
  ];
  if (b.kind === "compared") {
    const r = b.comparison.regressions.length;
    tiles.push([`regressions beyond ${b.thresholdPercent}%`, String(r), r > 0 ? "bad" : "good"]);
  }
  return [
    '<section id="summary" aria-label="Summary">',
    '<dl class="totals">',
    ...tiles.map(
      ([name, value, tone]) => `<div class="tile${tone ? ` ${tone}` : ""}"><dt>${name}</dt><dd>${value}</dd></div>`
    ),
    "</dl>",
    "</section>"
  ].join("\n");
}
function deltaTable(deltas, limit, className) {
  const shown = deltas.slice(0, limit);
  return [
    '<div class="scroll">',
    `<table class="deltas ${className}">`,
    '<thead><tr><th scope="col">experiment</th><th scope="col">metric</th><th scope="col" class="num">baseline</th><th scope="col" class="num">now</th><th scope="col" class="num">change</th><th scope="col">direction</th><th scope="col">verdict</th></tr></thead>',
    "<tbody>",
    ...shown.map(
      (d) => `<tr><td><code>${h(d.experiment)}</code></td><td>${h(d.metric)}</td><td class="num">${h(formatNumber(d.baseline))}</td><td class="num">${h(formatNumber(d.current))}</td><td class="num">${h(formatDelta(d))}</td><td>${d.direction ? `${d.direction} is better` : "unknown"}</td><td class="verdict-${d.verdict}">${VERDICT_TEXT[d.verdict]}</td></tr>`
    ),
    "</tbody>",
    "</table>",
    "</div>",
    ...deltas.length > shown.length ? [`<p class="note truncated">\u2026 and ${deltas.length - shown.length} more change(s), not shown.</p>`] : []
  ].join("\n");
}
function baselineSection(b, limit) {
  switch (b.kind) {
    case "off":
      return "";
    case "none":
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>None recorded for <code>${h(b.ref)}</code> yet, so there is nothing to compare with${b.note ? ` (${h(b.note)})` : ""}. A scheduled run on that branch records one.</p>`,
        "</section>"
      ].join("\n");
    case "recorded":
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>Recorded this run as the baseline of <code>${h(b.ref)}</code> at <code>${h(b.sha.slice(0, 12))}</code> (${b.objects.map((o) => `<code>${h(o)}</code>`).join(", ")}).</p>`,
        "</section>"
      ].join("\n");
    case "compared": {
      const base = b.baseline;
      const c = b.comparison;
      const which = b.which === "merge-base" ? `the baseline of the merge base <code>${h(base.sha.slice(0, 12))}</code>` : b.which === "earlier-run" ? "an earlier run" : `the newest baseline on <code>${h(b.ref)}</code> (<code>${h(base.sha.slice(0, 12))}</code>; none was recorded for the merge base)`;
      return [
        '<section id="baseline">',
        "<h2>Baseline</h2>",
        `<p>Compared with ${which}, run <code>${h(base.runId)}</code>, recorded ${h(base.recordedAt)}: ${c.deltas.length} value(s) compared, <strong>${c.regressions.length} worse</strong> and ${c.improvements} better beyond ${b.thresholdPercent}%` + (c.notInRun > 0 ? `; ${c.notInRun} baseline experiment(s) have no result in this run` : "") + (c.new > 0 ? `; ${c.new} experiment(s) are new` : "") + ".</p>",
        ...c.regressions.length > 0 ? [
          `<h3>Regressions (${c.regressions.length})</h3>`,
          deltaTable(c.regressions, limit, "regressions")
        ] : [],
        ...c.deltas.length > 0 ? [
          `<details><summary>Changes against the baseline (${c.deltas.length} value(s))</summary>`,
          deltaTable(c.deltas, limit, "changes"),
          "</details>"
        ] : [],
        "</section>"
      ].join("\n");
    }
  }
}
function plainLog(text) {
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, "").replace(/\r\n?/g, "\n");
}
function failureSection(data) {
  const bad = data.experiments.filter((x) => x.status !== "succeeded");
  if (bad.length === 0) return "";
  const shown = bad.slice(0, MAX_FAILURES);
  return [
    '<section id="failures">',
    `<h2>Failed and missing (${bad.length})</h2>`,
    ...shown.map((x) => {
      const why = failureReason(x);
      const log = x.logTail ? plainLog(x.logTail).trim() : "";
      return [
        `<article class="failure">`,
        `<h3><code>${h(x.id)}</code> ${statusCell(x.status)}${x.attempts ? ` <span class="muted">after ${x.attempts} attempt(s)</span>` : ""}</h3>`,
        ...why ? [`<p class="reason">${h(why)}</p>`] : [],
        ...log ? [`<pre class="log" aria-label="log tail">${h(log)}</pre>`] : [],
        ...x.serialTail?.trim() ? [`<pre class="log" aria-label="serial console tail">${h(plainLog(x.serialTail).trim())}</pre>`] : [],
        "</article>"
      ].join("\n");
    }),
    ...bad.length > shown.length ? [`<p class="note truncated">\u2026 and ${bad.length - shown.length} more, not shown.</p>`] : [],
    "</section>"
  ].join("\n");
}
function pivotTable(data, metric, rowAxis, columnAxis) {
  const p = pivotOf(data.experiments, metric, rowAxis, columnAxis);
  const columns = p.columns.slice(0, MAX_PIVOT_COLUMNS);
  const rows = p.rows.slice(0, MAX_PIVOT_ROWS);
  const head = columnAxis ? [
    `<tr><td></td><th scope="colgroup" colspan="${columns.length}">${h(columnAxis)}</th></tr>`,
    `<tr><th scope="col">${h(rowAxis)}</th>${columns.map((c) => `<th scope="col" class="num">${h(c)}</th>`).join("")}</tr>`
  ] : [`<tr><th scope="col">${h(rowAxis)}</th><th scope="col" class="num">mean</th></tr>`];
  const body = rows.map(
    (r, i) => `<tr><th scope="row">${h(r)}</th>${columns.map((_, j) => {
      const cell = p.cells[i][j];
      return cell ? `<td class="num">${h(formatNumber(cell.mean))} <small>(n=${cell.n})</small></td>` : '<td class="num empty" title="no result">\u2014</td>';
    }).join("")}</tr>`
  );
  return [
    '<div class="scroll">',
    `<table class="pivot" data-metric="${h(metric)}">`,
    `<thead>${head.join("")}</thead>`,
    "<tbody>",
    ...body,
    "</tbody>",
    "</table>",
    "</div>",
    ...p.rows.length > rows.length || p.columns.length > columns.length ? [
      `<p class="note truncated">${p.rows.length} \xD7 ${p.columns.length} cells; the first ${rows.length} \xD7 ${columns.length} shown.</p>`
    ] : []
  ].join("\n");
}
function metricSections(data, opts) {
  const axes = chooseAxes(data.experiments, opts.pivot);
  if (!axes || data.metrics.length === 0) return "";
  const charts = new Map(chartSeries(data, opts).map((s) => [s.metric, s]));
  return [
    '<section id="metrics">',
    "<h2>Metrics</h2>",
    `<p class="note">Mean over repetitions (n = experiments) by ${h(axes.rows)}${axes.columns ? ` \xD7 ${h(axes.columns)}` : ""}; charts by ${h(axes.rows)}.</p>`,
    ...data.metrics.map((metric) => {
      const dir = opts.directions.get(metric);
      const series = charts.get(metric);
      return [
        '<section class="metric">',
        `<h3>${h(metric)}${dir ? ` <span class="muted">(${dir} is better)</span>` : ""}</h3>`,
        pivotTable(data, metric, axes.rows, axes.columns),
        ...series ? [`<figure>${barChartSvg(series)}</figure>`] : [],
        "</section>"
      ].join("\n");
    }),
    "</section>"
  ].join("\n");
}
function resultRow(x, params, metrics) {
  const tone = countClass(x.status);
  return `<tr${tone === "succeeded" ? "" : ` class="${tone}"`}><td><code>${h(x.id)}</code></td>` + params.map((p) => `<td>${h(x.params[p] ?? "")}</td>`).join("") + `<td>${statusCell(x.status)}</td><td class="num">${x.attempts ?? ""}</td><td class="num">${h(formatDuration(x.durationSeconds))}</td><td>${h(x.zone ?? "")}</td><td class="num">${x.costUsd === void 0 ? "" : `$${x.costUsd.toFixed(4)}`}</td>` + metrics.map((m) => `<td class="num">${x.metrics[m] === void 0 ? "" : h(formatNumber(x.metrics[m]))}</td>`).join("") + "</tr>";
}
function resultsSection(data, limit) {
  const params = paramNames(data.experiments).slice(0, MAX_RESULT_PARAMS);
  const metrics = data.metrics.slice(0, MAX_RESULT_METRICS);
  const shown = data.experiments.slice(0, limit);
  const notShown = data.experiments.length - shown.length;
  return [
    '<section id="results">',
    `<h2>All ${data.experiments.length} experiment(s)</h2>`,
    '<div class="scroll">',
    '<table class="results">',
    `<thead><tr><th scope="col">experiment</th>${params.map((p) => `<th scope="col">${h(p)}</th>`).join("")}<th scope="col">status</th><th scope="col" class="num">attempts</th><th scope="col" class="num">duration</th><th scope="col">zone</th><th scope="col" class="num">cost</th>${metrics.map((m) => `<th scope="col" class="num">${h(m)}</th>`).join("")}</tr></thead>`,
    "<tbody>",
    ...shown.map((x) => resultRow(x, params, metrics)),
    "</tbody>",
    "</table>",
    "</div>",
    ...notShown > 0 ? [
      `<p class="note truncated">\u2026 and ${notShown} more experiment(s) not shown here (the first ${shown.length} of ${data.experiments.length}); manifest.json lists every one.</p>`
    ] : [],
    ...data.metrics.length > metrics.length ? [
      `<p class="note">The first ${metrics.length} of ${data.metrics.length} metrics are shown as columns.</p>`
    ] : [],
    "</section>"
  ].join("\n");
}
function renderHtml(data, opts, rowLimit = 1e3) {
  const body = [
    "<header>",
    `<h1>${h(opts.title)}</h1>`,
    `<p class="muted">Run <code>${h(data.runId)}</code> \xB7 ${h(data.source)}${(data.commits ?? []).length > 0 ? ` \xB7 code at ${(data.commits ?? []).map((c) => `<code>${h(c.slice(0, 12))}</code>`).join(", ")}` : ""}</p>`,
    "</header>",
    "<main>",
    summarySection(data, opts.baseline),
    baselineSection(opts.baseline, rowLimit),
    failureSection(data),
    metricSections(data, opts),
    resultsSection(data, rowLimit),
    "</main>",
    "<footer>Written by gce-matrix. Costs are estimates from list prices.</footer>"
  ].filter((part) => part !== "");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    // Even if a string slipped through unescaped, the page could neither run script nor load anything.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${h(opts.title)} \xB7 ${h(data.runId)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
    ""
  ].join("\n");
}

// src/cli/report-files.ts
function renderOptions(o) {
  const pivot = o.pivot?.trim() ? o.pivot.split(",").map((s) => s.trim()) : void 0;
  if (pivot && (pivot.length > 2 || pivot.some((s) => !s))) {
    throw new ConfigurationError(
      `option --pivot must be one or two axis names, rows,columns (got ${JSON.stringify(o.pivot)})`
    );
  }
  let directions;
  try {
    directions = parseDirections(o.metrics ?? "");
  } catch (err) {
    throw new ConfigurationError(`option --${err.message}`);
  }
  const baseline = { kind: "off" };
  return { title: o.note ? `${o.title} (${o.note})` : o.title, pivot, directions, baseline };
}
async function writeLocalReport(resultsDir, outDir, o) {
  const manifest = await readManifest(resultsDir);
  const data = reportData(manifest, await readExperimentFiles(resultsDir, manifest));
  let opts = renderOptions(o);
  if (o.baselineDir)
    opts = { ...opts, baseline: await compareWith(o.baselineDir, data, opts, o.thresholdPercent ?? 5) };
  const markdown = path3.join(outDir, "report.md");
  const html = path3.join(outDir, "report.html");
  await writeFile2(markdown, renderReport(data, opts));
  await writeFile2(html, renderHtml(data, opts));
  return { markdown, html, data };
}
async function compareWith(dir, data, opts, thresholdPercent) {
  const results = path3.join(dir, "results");
  const manifest = await readManifest(results).catch((err) => {
    throw new ConfigurationError(
      `option --baseline: ${dir} holds no collected run (${err.message}); give the directory of an earlier gce-matrix run`
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
    comparison: compare(data, baseline, opts.directions, thresholdPercent),
    thresholdPercent
  };
}

// src/cli/local-run.ts
import { existsSync } from "node:fs";

// src/source/local.ts
import { mkdtemp as mkdtemp2, rm as rm3 } from "node:fs/promises";
import path4 from "node:path";

// src/source/worktree.ts
import { execFile } from "node:child_process";
import { createWriteStream as createWriteStream2 } from "node:fs";
import { constants as constants2, lstat as lstat2, mkdtemp, open as open3, readdir as readdir2, readlink, rm as rm2, stat as stat2 } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { promisify } from "node:util";

// src/source/tar.ts
import { createHash as createHash3 } from "node:crypto";
import { once } from "node:events";
import { constants, open as open2 } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline as pipeline2 } from "node:stream/promises";
import { createGzip } from "node:zlib";
var BLOCK = 512;
var USTAR_MAX_OCTAL = 8 ** 11 - 1;
var TYPE_FLAGS = { file: "0", directory: "5", symlink: "2" };
var NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
function checkEntryPath(path9) {
  const segments = path9.split("/");
  if (path9.includes("\0") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(
      `tar: refusing path ${JSON.stringify(path9)}: it must be relative, with no empty or .. parts`
    );
  }
}
function splitUstarName(path9) {
  if (Buffer.byteLength(path9) <= 100) return { prefix: "", name: path9 };
  for (let slash = path9.indexOf("/"); slash > 0; slash = path9.indexOf("/", slash + 1)) {
    const prefix = path9.slice(0, slash);
    const name = path9.slice(slash + 1);
    if (Buffer.byteLength(prefix) > 155) return void 0;
    if (name !== "" && Buffer.byteLength(name) <= 100) return { prefix, name };
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
function ustarHeaderBlocks(h2) {
  checkEntryPath(h2.path);
  if (!Number.isSafeInteger(h2.mtime) || h2.mtime < 0 || h2.mtime > USTAR_MAX_OCTAL) {
    throw new Error(`tar: mtime ${h2.mtime} is out of range`);
  }
  const path9 = h2.type === "directory" ? `${h2.path}/` : h2.path;
  const linkTarget = h2.linkTarget ?? "";
  const split = splitUstarName(path9);
  const pax = {};
  if (!split) pax.path = path9;
  if (Buffer.byteLength(linkTarget) > 100) pax.linkpath = linkTarget;
  if (h2.size > USTAR_MAX_OCTAL) pax.size = String(h2.size);
  const member = ustarHeader({
    name: split?.name ?? path9,
    prefix: split?.prefix ?? "",
    typeFlag: TYPE_FLAGS[h2.type],
    mode: h2.mode,
    size: h2.size > USTAR_MAX_OCTAL ? 0 : h2.size,
    mtime: h2.mtime,
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
    mtime: h2.mtime,
    linkName: ""
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), member]);
}
function padding(size) {
  return (BLOCK - size % BLOCK) % BLOCK;
}
var TarGzWriter = class {
  #gzip = createGzip({ level: 6 });
  #hash = createHash3("sha256");
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
    this.#done = pipeline2(this.#gzip, measure, out);
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
      handle = await open2(file, constants.O_RDONLY | NO_FOLLOW);
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
    if (!this.#gzip.write(bytes)) await Promise.race([once(this.#gzip, "drain"), this.#done]);
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
      const prefix = text(345, 155);
      const name = pax.path ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
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
var NO_FOLLOW2 = constants2.O_NOFOLLOW ?? 0;
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
async function findRepository(dir) {
  let lines;
  try {
    lines = (await git(dir, ["rev-parse", "--show-toplevel", "--show-prefix"])).split("\n");
  } catch (err) {
    if (err.code === "ENOENT") return "git was not found";
    const said = (err.stderr ?? "").split("\n")[0];
    return `it is not in a git repository (git: ${said})`;
  }
  const [toplevel = dir, prefix = ""] = lines;
  try {
    const [commit, time] = (await git(dir, ["show", "-s", "--format=%H %ct", "HEAD^{commit}"])).trim().split(" ");
    return { toplevel, prefix, commit, commitTime: Number(time) };
  } catch {
    return { toplevel, prefix, commit: void 0, commitTime: void 0 };
  }
}
async function snapshotWorktree(opts) {
  const dir = resolve(opts.dir);
  const topDir = opts.topDir ?? "snapshot";
  if (topDir.includes("/")) throw new Error(`topDir ${JSON.stringify(topDir)} must be a single path segment`);
  checkEntryPath(topDir);
  if (!(await stat2(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  const repository = await findRepository(dir);
  const notes = [];
  const leftOut = [relative(dir, resolve(opts.out)).split(sep).join("/"), ...opts.exclude ?? []].map(
    (p) => p.replace(/\/+$/, "")
  );
  const ownOutput = (path9) => leftOut.some((x) => path9 === x || path9.startsWith(`${x}/`));
  let collected;
  let mode;
  let commit;
  let mtime = FALLBACK_MTIME;
  let dirty = false;
  let cleanup;
  try {
    if (typeof repository === "string") {
      if (opts.mode === "head") throw new Error(`cannot snapshot HEAD of ${dir}: ${repository}`);
      mode = "directory";
      notes.push(`${dir} is archived as a plain directory (every file except .git): ${repository}`);
      collected = await collectDirectory(dir, ownOutput, notes);
    } else {
      commit = repository.commit;
      mtime = repository.commitTime ?? FALLBACK_MTIME;
      mode = opts.mode ?? "worktree";
      if (mode === "head") {
        if (!commit) throw new Error(`cannot snapshot HEAD of ${dir}: the repository has no commit yet`);
        cleanup = await mkdtemp(join(tmpdir(), "gce-matrix-head-"));
        collected = await collectHead(repository, join(cleanup, "head.tar"), notes);
      } else {
        collected = await collectWorktree(dir, ownOutput, notes);
        const status = await git(dir, ["status", "--porcelain", "-z", "--ignore-submodules=all", "--", "."]);
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
var submoduleNote = (path9) => `submodule ${path9} is not included: gce-matrix does not fetch submodules for local runs; vendor it or fetch it in the command`;
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
    ...[...directories].filter((d) => !known.has(d)).map((path9) => ({ kind: "directory", path: path9 }))
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
async function diskEntry(path9, absolute, info, lfsPointers) {
  if (info.isSymbolicLink()) return { kind: "symlink", path: path9, target: await readlink(absolute) };
  const mode = info.mode & 64 ? 493 : 420;
  if (info.size >= SMALL_FILE) return { kind: "file", path: path9, mode, content: { file: absolute } };
  let content;
  try {
    const handle = await open3(absolute, constants2.O_RDONLY | NO_FOLLOW2);
    try {
      content = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new Error(`cannot read ${absolute}: ${err.message}`, { cause: err });
  }
  if (content.subarray(0, LFS_POINTER.length).equals(LFS_POINTER)) lfsPointers.push(path9);
  return { kind: "file", path: path9, mode, content };
}
async function collectWorktree(dir, ownOutput, notes) {
  const [listedPaths, staged, deletedPaths] = await Promise.all([
    git(dir, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]),
    git(dir, ["ls-files", "-z", "--stage"]),
    git(dir, ["ls-files", "-z", "--deleted"])
  ]);
  const submodules = new Set(
    zSeparated(staged).filter((line) => line.startsWith("160000 ")).map((line) => line.slice(line.indexOf("	") + 1))
  );
  const deleted = new Set(zSeparated(deletedPaths));
  const entries = [];
  const lfsPointers = [];
  const realDirectories = /* @__PURE__ */ new Map();
  for (const path9 of new Set(zSeparated(listedPaths))) {
    if (ownOutput(path9)) continue;
    if (submodules.has(path9)) {
      notes.push(submoduleNote(path9));
      continue;
    }
    if (path9.endsWith("/")) {
      notes.push(`nested git repository ${path9.slice(0, -1)} is not included (it is not a submodule)`);
      continue;
    }
    checkEntryPath(path9);
    const absolute = join(dir, path9);
    if (!await insideRealDirectories(dir, path9, realDirectories)) continue;
    const info = await lstat2(absolute).catch(() => void 0);
    if (!info) {
      if (deleted.has(path9)) continue;
      throw new Error(
        `cannot read ${absolute}: it is gone (removed while archiving, or its name is not UTF-8)`
      );
    }
    if (info.isSymbolicLink() || info.isFile()) {
      entries.push(await diskEntry(path9, absolute, info, lfsPointers));
    } else if (!deleted.has(path9)) {
      notes.push(`${path9} is skipped: it is neither a file nor a symlink`);
    }
  }
  return { entries, lfsPointers };
}
async function insideRealDirectories(dir, path9, cache) {
  const segments = path9.split("/");
  for (let i = 1; i < segments.length; i++) {
    const parent = segments.slice(0, i).join("/");
    let real = cache.get(parent);
    if (real === void 0) {
      real = (await lstat2(join(dir, parent)).catch(() => void 0))?.isDirectory() ?? false;
      cache.set(parent, real);
    }
    if (!real) return false;
  }
  return true;
}
async function collectDirectory(dir, ownOutput, notes) {
  const entries = [];
  const lfsPointers = [];
  const walk = async (relativeDir) => {
    const absoluteDir = relativeDir ? join(dir, relativeDir) : dir;
    for (const name of await readdir2(absoluteDir)) {
      if (name === ".git") continue;
      const path9 = relativeDir ? `${relativeDir}/${name}` : name;
      if (ownOutput(path9)) continue;
      const absolute = join(dir, path9);
      let info;
      try {
        info = await lstat2(absolute);
      } catch (err) {
        throw new Error(`cannot read ${absolute}: ${err.message}`, { cause: err });
      }
      if (info.isDirectory()) {
        entries.push({ kind: "directory", path: path9 });
        await walk(path9);
      } else if (info.isSymbolicLink() || info.isFile()) {
        entries.push(await diskEntry(path9, absolute, info, lfsPointers));
      } else {
        notes.push(`${path9} is skipped: it is neither a file, a directory nor a symlink`);
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
  const work = await mkdtemp2(path4.join(opts.tmpDir, "source-"));
  try {
    const snap = await snapshotWorktree({
      dir: opts.dir,
      out: path4.join(work, "snapshot.tar.gz"),
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
    bucket: path5.join(runDir, "bucket"),
    work: path5.join(runDir, "work"),
    results: path5.join(runDir, "results"),
    record: path5.join(runDir, RUN_RECORD)
  };
}
async function planFile(specPath, sets, repetitions) {
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
async function ensureEmptyDir(dir) {
  let entries = [];
  try {
    entries = await readdir3(dir);
  } catch (err) {
    if (err.code === "ENOTDIR") {
      throw new ConfigurationError(
        `option --out: ${dir} is a file; give a directory that does not exist yet`
      );
    }
    if (err.code !== "ENOENT") throw err;
  }
  if (entries.length > 0) {
    throw new ConfigurationError(
      `option --out: ${dir} already holds files; give a new directory (or another --run-id) so runs never mix`
    );
  }
  await mkdir3(dir, { recursive: true });
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
    log: { info: () => void 0, warning: (m) => opts.info(`warning: ${m}`) }
  });
  const report = await writeLocalReport(results, opts.runDir, {
    ...opts.record.report,
    note: opts.interrupted ? "interrupted: partial results" : opts.record.report.note
  });
  return { runDir: opts.runDir, manifest: collected.manifest, report, interrupted: opts.interrupted };
}
async function executeLocal(opts) {
  const paths = runPaths(opts.runDir);
  await mkdir3(paths.bucket, { recursive: true });
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
      onEvent: opts.hooks.onEvent,
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
  const rel = path5.relative(source.dir, runDir);
  const inside = rel !== "" && !rel.startsWith("..") && !path5.isAbsolute(rel);
  await mkdir3(runDir, { recursive: true });
  const manifest = await stageLocalSource({
    storage,
    location: wanted[0].results,
    dir: source.dir,
    mode: source.mode,
    tmpDir: runDir,
    exclude: inside ? [rel.split(path5.sep).join("/")] : [],
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
  const dir = sourceRoot(cwd, given);
  if (mode !== "none" && !existsSync(dir)) {
    throw new ConfigurationError(
      `option --source-dir: ${given ?? dir} does not exist; give the checkout to run`
    );
  }
  return { dir, mode };
}
function sourceRoot(cwd, given) {
  if (given !== void 0) return path5.resolve(cwd, given);
  return gitOutput(cwd, ["rev-parse", "--show-toplevel"]) || cwd;
}
async function prepareLocalRun(opts) {
  const plan = await planFile(opts.specPath, opts.sets, opts.repetitions);
  renderOptions(opts.report);
  const ctx = localContext(opts.runId, path5.dirname(path5.resolve(opts.specPath)));
  const settings = plan.experiments.map((e) => localLaunchSettings(e, opts.inputs, ctx));
  const secrets = localSecrets(settings, opts.env);
  const record = await startRunDir(opts.runDir, {
    runId: opts.runId,
    spec: path5.resolve(opts.specPath),
    inputs: opts.inputs,
    report: opts.report,
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
import path6 from "node:path";

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
  /** Takes one executor event. */
  onEvent(e) {
    if (e.kind === "started") this.running++;
    else {
      this.running--;
      if (e.retrying) {
      } else if (e.outcome === "succeeded" || e.outcome === "detached") this.succeeded++;
      else this.failed++;
    }
    this.line(eventLine(e));
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
  const rel = (p) => path6.relative(cwd, p) || ".";
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
      onEvent: (e) => display.onEvent(e),
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
async function lastAttempt(storage, location, prefix) {
  const [, , response] = await storage.bucket(location.bucket).getFiles({ prefix, delimiter: "/", autoPaginate: false });
  const prefixes = response?.prefixes ?? [];
  return Math.max(
    0,
    ...prefixes.map((p) => Number(/(\d+)\/$/.exec(p)?.[1] ?? 0)).filter(Number.isSafeInteger)
  );
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
    const last = await lastAttempt(storage, location, objects.attempts);
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
  const spec = path7.resolve(io.cwd, args.positionals[0]);
  const inputs = cloudInputs(args);
  if (detach) inputs.detach = "true";
  const plan = await planFile(spec, optionList(args, "set"), optionValue(args, "repetitions"));
  const report = {
    title: optionValue(args, "title") ?? `gce-matrix: ${path7.basename(spec)}`,
    pivot: optionValue(args, "pivot"),
    metrics: optionValue(args, "metrics")
  };
  renderOptions(report);
  const runId = inputs["run-id"] ?? `cli-${Date.now().toString(36)}`;
  const ctx = cloudContext(runId, io.env, path7.dirname(spec));
  let settings = plan.experiments.map(
    (e) => parseLaunchInputs((name) => name === "experiment" ? JSON.stringify(e) : inputs[name] ?? "", ctx)
  );
  const source = localSource(args, io.cwd);
  const first = settings[0];
  const runDir = path7.resolve(
    io.cwd,
    optionValue(args, "out") ?? path7.join("gce-matrix-results", first.results.runId)
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
        let next = 0;
        const worker = async () => {
          while (next < settings.length && !hooks.signal.aborted) {
            const s = await withZones(settings[next++], compute);
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
          }
        };
        await Promise.all(Array.from({ length: Math.min(parallel, settings.length) }, worker));
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
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < settings.length) {
      const s = await withZones(settings[next++], compute);
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
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, settings.length) }, worker));
  const where = `--cloud --project ${first.project} --bucket ${first.results.bucket}${first.results.prefix === "gce-matrix" ? "" : ` --prefix ${first.results.prefix}`}`;
  say(io, `${settings.length - failed} experiment(s) running detached, each VM with its own time limit.`);
  say(io, `Follow them:  gce-matrix status ${first.results.runId} ${where}`);
  say(
    io,
    `When all have ended: gce-matrix status ${first.results.runId} ${where} --report --out ${path7.relative(io.cwd, opts.runDir) || "."}`
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
  const project2 = optionValue(args, "project") || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  const bucket = optionValue(args, "bucket")?.replace(/^gs:\/\//, "").replace(/\/+$/, "");
  if (!project2)
    throw new ConfigurationError("option --project is required with --cloud (or set GOOGLE_CLOUD_PROJECT)");
  if (!bucket)
    throw new ConfigurationError("option --bucket is required with --cloud: the bucket the run wrote to");
  const prefix = (optionValue(args, "prefix") ?? "gce-matrix").replace(/^\/+|\/+$/g, "");
  const location = { bucket, prefix, runId };
  const { clients } = connectGcp({ project: project2, env: io.env });
  try {
    const store = new RunStore(clients.storage, bucket, prefix);
    const compute = new ComputeApi(clients, systemClock, void 0, { log: (m) => say(io, m) });
    const experimentsPrefix = `${prefix}/runs/${runId}/experiments/`;
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
        `gs://${bucket}/${prefix}/runs/${runId}/ holds no experiments (check the run id, --bucket and --prefix).`
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
    const runDir = path7.resolve(io.cwd, optionValue(args, "out") ?? path7.join("gce-matrix-results", runId));
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
  const project2 = optionValue(args, "project") || io.env.GOOGLE_CLOUD_PROJECT || io.env.CLOUDSDK_CORE_PROJECT;
  if (!project2) throw new ConfigurationError("option --project is required (or set GOOGLE_CLOUD_PROJECT)");
  const zones = (optionValue(args, "zones") ?? "").split(",").map((z) => z.trim()).filter(Boolean);
  const regions = (optionValue(args, "region") ?? "").split(",").map((r) => r.trim()).filter(Boolean);
  if (zones.length === 0 && regions.length === 0) {
    throw new ConfigurationError("janitor needs --zones or --region to look in, e.g. --region us-central1");
  }
  const maxAge = optionValue(args, "max-age-hours");
  const result = await runJanitor({
    project: project2,
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
  return Math.max(1, Math.min(4, availableParallelism()));
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
  const runDir = path8.resolve(io.cwd, optionValue(args, "out") ?? path8.join(RESULTS_DIR, runId));
  const parallel = optionInteger(args, "parallel", defaultParallel(), 1, 256);
  const inputs = parseInputOptions(optionList(args, "input"));
  const baselineGiven = optionValue(args, "baseline");
  const baselineDir = baselineGiven === void 0 ? void 0 : path8.resolve(io.cwd, baselineGiven);
  if (baselineDir && !existsSync2(path8.join(runPaths(baselineDir).results, "manifest.json"))) {
    throw new ConfigurationError(
      `option --baseline: ${baselineGiven} is not the directory of an earlier run (no results/manifest.json in it)`
    );
  }
  const prepared = await prepareLocalRun({
    specPath: path8.resolve(io.cwd, spec),
    sets: optionList(args, "set"),
    repetitions: optionValue(args, "repetitions"),
    inputs,
    runId,
    runDir,
    report: {
      title: optionValue(args, "title") ?? `gce-matrix: ${path8.basename(spec)}`,
      pivot: optionValue(args, "pivot"),
      metrics: optionValue(args, "metrics"),
      ...baselineDir ? { baselineDir } : {}
    },
    env: io.env,
    source: localSource(args, io.cwd)
  });
  const n = prepared.jobs.length;
  say(
    io,
    `Planned ${n} experiment(s) from ${spec}` + (prepared.plan.axes.length ? ` (axes: ${prepared.plan.axes.join(", ")})` : "") + `; running ${Math.min(parallel, n)} at a time on this machine, run ${runId} in ${path8.relative(io.cwd, runDir) || "."}`
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
      parallel,
      hooks
    })
  );
}
async function newestRun(cwd) {
  const root = path8.resolve(cwd, RESULTS_DIR);
  let best;
  let names = [];
  try {
    names = await readdir4(root);
  } catch {
  }
  for (const name of names) {
    const dir = path8.join(root, name);
    try {
      const s = await stat3(runPaths(dir).record);
      if (!best || s.mtimeMs > best.mtime) best = { dir, mtime: s.mtimeMs };
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
  const runDir = given ? path8.resolve(io.cwd, given) : await newestRun(io.cwd);
  const record = await readRunRecord(runDir);
  const planned = record.experiments.find((e) => e.id === id);
  if (!planned) {
    const ids = record.experiments.map((e) => e.id);
    throw new ConfigurationError(
      `run ${record.runId} has no experiment ${JSON.stringify(id)}; it has ${ids.slice(0, 10).join(", ")}${ids.length > 10 ? `, ... (${ids.length})` : ""}`
    );
  }
  const ctx = localContext(record.runId, path8.dirname(record.spec));
  const base = localLaunchSettings(planned, record.inputs, ctx);
  const statusObject = path8.join(
    runPaths(runDir).bucket,
    ...experimentObjects(base.results, id).status.split("/")
  );
  let lastAttempt2 = 0;
  let params = planned.params;
  try {
    const status = parseStatus(await readFile3(statusObject, "utf8"), statusObject);
    lastAttempt2 = status.attempt;
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
      jobs: [{ settings: { ...settings, maxAttempts: 1 }, firstAttempt: lastAttempt2 + 1 }],
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
    path8.resolve(io.cwd, target),
    path8.resolve(io.cwd, optionValue(args, "out") ?? RESULTS_DIR, target)
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
      `no local run ${JSON.stringify(target)}: neither ${candidates.join(" nor ")} holds ${path8.basename(runPaths(candidates[0]).record)} (for a run in a bucket, add --cloud --bucket NAME)`
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
