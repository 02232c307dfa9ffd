/**
 * Service containers of an experiment: the `services` launch input (or spec `launch:` key), in the shape GitHub
 * Actions users know from `jobs.<id>.services`, checked before any VM exists and handed to the VM agent as the
 * `gce-matrix-services` instance attribute.
 */
import { describeValue, isMapping } from '../json-value.ts';
import { parse as parseYaml } from 'yaml';
import { ConfigurationError } from '../errors.ts';
import { didYouMean } from '../suggest.ts';

/** How the agent tells that a service is ready: a command run inside its container, as docker's health check. */
export interface ServiceHealth {
  /** Run with `sh -c` in the container; exit 0 means healthy. */
  readonly cmd: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  /** Checks before the service counts as never healthy. */
  readonly retries: number;
}

/** One service container, normalized. */
export interface ServiceSpec {
  /** A DNS label: lower-case letters, digits and `-`. */
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  /** Container ports; each gets a host port of its own, chosen on the VM. */
  readonly ports: readonly number[];
  /** The container's arguments (its CMD), when given. */
  readonly command?: readonly string[];
  readonly entrypoint?: string;
  readonly health?: ServiceHealth;
  /** CPUs, as docker's `--cpus`. */
  readonly cpus?: number;
  /** Memory limit in docker's form, e.g. `512m`. */
  readonly memory?: string;
}

/** At most this many services per experiment: each is a container beside the command on one VM. */
export const MAX_SERVICES = 10;

const SERVICE_KEYS = ['image', 'env', 'ports', 'command', 'entrypoint', 'health', 'cpus', 'memory'] as const;
const HEALTH_KEYS = ['cmd', 'interval-seconds', 'timeout-seconds', 'retries'] as const;
const NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MEMORY = /^([0-9]+)([bkmg]?)$/;

/** Keys of GitHub's service shape this form does not take, and what to write instead. */
const NOT_TAKEN: Readonly<Record<string, string>> = {
  options:
    'write the health check as health: {cmd, interval-seconds, timeout-seconds, retries} and limits as cpus and memory',
  credentials: 'images are pulled with the VM service account (gcr.io, *.pkg.dev) or anonymously',
  volumes: 'services get no volumes; stage files with inputs and bake data into the image',
};

function hint(name: string, known: readonly string[]): string {
  const text = didYouMean(name, known, (c) => JSON.stringify(c));
  return text === undefined ? '' : ` (${text})`;
}

function singleLine(value: unknown, where: string, example: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(
      `${where} must be non-empty text, e.g. ${example} (got ${describeValue(value)})`,
    );
  }
  if (/[\0\r\n]/.test(value))
    throw new ConfigurationError(`${where} holds a line break; keep it on one line`);
  return value.trim();
}

function wholeNumber(value: unknown, where: string, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigurationError(
      `${where} must be a whole number from ${min} to ${max} (got ${describeValue(value)})`,
    );
  }
  return n;
}

function parseEnv(value: unknown, where: string): Record<string, string> {
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of variable names to values, e.g. {POSTGRES_PASSWORD: test} (got ${describeValue(value)})`,
    );
  }
  const env: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(name)} is not a variable name; use letters, digits and _, not starting with a digit`,
      );
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ConfigurationError(
        `${where}.${name} must be a string, number or boolean (got ${describeValue(v)})`,
      );
    }
    if (String(v).includes('\0')) throw new ConfigurationError(`${where}.${name} holds a NUL character`);
    env[name] = String(v);
  }
  return env;
}

function parsePorts(value: unknown, where: string): number[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  const seen = new Set<number>();
  return list.map((p, i) => {
    const at = Array.isArray(value) ? `${where}[${i}]` : where;
    if (typeof p === 'string' && /^[0-9]+:[0-9]+/.test(p.trim())) {
      throw new ConfigurationError(
        `${at} is ${JSON.stringify(p)}; list the container port alone (e.g. ${p.split(':').pop()}): host ports are chosen per experiment on the VM and passed in GCE_MATRIX_SERVICE_* variables`,
      );
    }
    const text: unknown = typeof p === 'string' ? p.trim().replace(/\/tcp$/, '') : p;
    const port = wholeNumber(text, at, 1, 65535);
    if (seen.has(port)) throw new ConfigurationError(`${at}: port ${port} is listed twice; list it once`);
    seen.add(port);
    return port;
  });
}

function parseCommand(value: unknown, where: string): string[] {
  if (typeof value === 'string') {
    const words = value.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0)
      throw new ConfigurationError(`${where} is empty; give the arguments or leave it out`);
    return words;
  }
  if (Array.isArray(value) && value.length > 0) {
    return value.map((a, i) => {
      if (typeof a !== 'string' && typeof a !== 'number') {
        throw new ConfigurationError(`${where}[${i}] must be text (got ${describeValue(a)})`);
      }
      if (String(a).includes('\0')) throw new ConfigurationError(`${where}[${i}] holds a NUL character`);
      return String(a);
    });
  }
  throw new ConfigurationError(
    `${where} must be a list of arguments, e.g. [postgres, -c, fsync=off], or a string split at blanks (got ${describeValue(value)})`,
  );
}

function parseHealth(value: unknown, where: string): ServiceHealth {
  if (typeof value === 'string') value = { cmd: value };
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping {cmd, interval-seconds, timeout-seconds, retries}, e.g. {cmd: pg_isready} (got ${describeValue(value)})`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!(HEALTH_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `${where} sets ${JSON.stringify(key)}${hint(key, HEALTH_KEYS)}; it takes ${HEALTH_KEYS.join(', ')}`,
      );
    }
  }
  if (value.cmd === undefined) {
    throw new ConfigurationError(
      `${where}.cmd is required: the command that exits 0 once the service is ready`,
    );
  }
  return {
    cmd: singleLine(value.cmd, `${where}.cmd`, 'pg_isready'),
    intervalSeconds:
      value['interval-seconds'] === undefined
        ? 2
        : wholeNumber(value['interval-seconds'], `${where}.interval-seconds`, 1, 300),
    timeoutSeconds:
      value['timeout-seconds'] === undefined
        ? 10
        : wholeNumber(value['timeout-seconds'], `${where}.timeout-seconds`, 1, 300),
    retries: value.retries === undefined ? 30 : wholeNumber(value.retries, `${where}.retries`, 1, 1000),
  };
}

function parseMemory(value: unknown, where: string): string {
  const text =
    typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : '';
  const m = MEMORY.exec(text);
  if (!m) {
    throw new ConfigurationError(
      `${where} must be a size like 512m or 2g (a number with b, k, m or g; got ${describeValue(value)})`,
    );
  }
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]]!;
  // docker refuses less than 6 MiB
  if (Number(m[1]) * unit < 6 * 1024 ** 2) {
    throw new ConfigurationError(`${where} is ${text}; a container needs at least 6m`);
  }
  return text;
}

function parseService(name: string, value: unknown, where: string): ServiceSpec {
  if (!NAME.test(name)) {
    throw new ConfigurationError(
      `${where}: service name ${JSON.stringify(name)} must be a DNS label: lower-case letters, digits and -, starting with a letter, at most 63 characters (e.g. ${JSON.stringify(
        name
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .replace(/^[^a-z]+|-+$/g, '') || 'db',
      )})`,
    );
  }
  const at = `${where}.${name}`;
  if (typeof value === 'string') value = { image: value };
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${at} must be a mapping with at least image, e.g. {image: postgres:16, ports: [5432]} (got ${describeValue(value)})`,
    );
  }
  for (const key of Object.keys(value)) {
    if (key in NOT_TAKEN) throw new ConfigurationError(`${at}.${key} is not supported: ${NOT_TAKEN[key]}`);
    if (!(SERVICE_KEYS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `${at} sets ${JSON.stringify(key)}${hint(key, SERVICE_KEYS)}; a service takes ${SERVICE_KEYS.join(', ')}`,
      );
    }
  }
  if (value.image === undefined || value.image === null || value.image === '') {
    throw new ConfigurationError(`${at}.image is required: the container image to run, e.g. postgres:16`);
  }
  const image = singleLine(value.image, `${at}.image`, 'postgres:16');
  if (!IMAGE.test(image)) {
    throw new ConfigurationError(
      `${at}.image ${JSON.stringify(image)} is not an image reference like postgres:16 or us-docker.pkg.dev/p/r/img@sha256:...`,
    );
  }
  let cpus: number | undefined;
  if (value.cpus !== undefined) {
    cpus = typeof value.cpus === 'string' ? Number(value.cpus) : (value.cpus as number);
    if (typeof cpus !== 'number' || !Number.isFinite(cpus) || cpus <= 0 || cpus > 416) {
      throw new ConfigurationError(
        `${at}.cpus must be a number above 0, e.g. 0.5 or 2 (got ${describeValue(value.cpus)})`,
      );
    }
  }
  return {
    name,
    image,
    env: value.env === undefined ? {} : parseEnv(value.env, `${at}.env`),
    ports: value.ports === undefined ? [] : parsePorts(value.ports, `${at}.ports`),
    ...(value.command === undefined ? {} : { command: parseCommand(value.command, `${at}.command`) }),
    ...(value.entrypoint === undefined
      ? {}
      : { entrypoint: singleLine(value.entrypoint, `${at}.entrypoint`, '/usr/local/bin/start') }),
    ...(value.health === undefined ? {} : { health: parseHealth(value.health, `${at}.health`) }),
    ...(cpus === undefined ? {} : { cpus }),
    ...(value.memory === undefined ? {} : { memory: parseMemory(value.memory, `${at}.memory`) }),
  };
}

/**
 * Checks a `services` value (a parsed mapping, or YAML/JSON text as an action input holds it) and returns the
 * services in their given order. `where` names it in errors (`input services`, `matrix.yml: launch.services`).
 * Empty text or an empty mapping is no services.
 */
export function parseServices(value: unknown, where: string): ServiceSpec[] {
  if (typeof value === 'string') {
    if (value.trim() === '') return [];
    try {
      value = parseYaml(value);
    } catch (err) {
      throw new ConfigurationError(
        `${where} is not valid YAML or JSON (${(err as Error).message.split('\n')[0]}); write a mapping of service names to {image, ...}`,
      );
    }
  }
  if (value === null || value === undefined) return [];
  if (!isMapping(value)) {
    throw new ConfigurationError(
      `${where} must be a mapping of service names to services, e.g. {db: {image: postgres:16, ports: [5432]}} (got ${describeValue(value)})`,
    );
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_SERVICES) {
    throw new ConfigurationError(
      `${where} lists ${entries.length} services; at most ${MAX_SERVICES} run beside one command`,
    );
  }
  return entries.map(([name, v]) => parseService(name, v, where));
}

/** The services as the JSON text a launch input carries (what the plan step passes on). */
export function servicesInput(services: readonly ServiceSpec[]): string {
  const out: Record<string, unknown> = {};
  for (const s of services) {
    const { name, health, ...rest } = s;
    out[name] = {
      ...rest,
      ...(health === undefined
        ? {}
        : {
            health: {
              cmd: health.cmd,
              'interval-seconds': health.intervalSeconds,
              'timeout-seconds': health.timeoutSeconds,
              retries: health.retries,
            },
          }),
    };
  }
  return JSON.stringify(out);
}

/** The name as it appears in GCE_MATRIX_SERVICE_<NAME>_* variables. */
export function serviceEnvName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

// A line-based value keeps the POSIX sh agent free of a JSON parser; backslash and newline are escaped so that
// every value is one line (the agent reads them back with printf %b).
function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

/**
 * The `gce-matrix-services` instance attribute: per service a line `service NAME`, then `KEY VALUE` lines
 * (image, env NAME=VALUE, port, arg, entrypoint, health-cmd, health-interval, health-timeout, health-retries,
 * cpus, memory), values escaped as docs/agent.md says.
 */
export function servicesAttribute(services: readonly ServiceSpec[]): string {
  const lines: string[] = [];
  for (const s of services) {
    lines.push(`service ${s.name}`, `image ${s.image}`);
    for (const [k, v] of Object.entries(s.env)) lines.push(`env ${k}=${escapeValue(v)}`);
    for (const p of s.ports) lines.push(`port ${p}`);
    if (s.entrypoint !== undefined) lines.push(`entrypoint ${escapeValue(s.entrypoint)}`);
    for (const a of s.command ?? []) lines.push(`arg ${escapeValue(a)}`);
    if (s.health) {
      lines.push(
        `health-cmd ${escapeValue(s.health.cmd)}`,
        `health-interval ${s.health.intervalSeconds}`,
        `health-timeout ${s.health.timeoutSeconds}`,
        `health-retries ${s.health.retries}`,
      );
    }
    if (s.cpus !== undefined) lines.push(`cpus ${s.cpus}`);
    if (s.memory !== undefined) lines.push(`memory ${s.memory}`);
  }
  return lines.join('\n');
}
