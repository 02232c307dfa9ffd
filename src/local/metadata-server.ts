import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { crc32c } from './crc32c.ts';
import { decoded, listenMetadata, MetadataEmulator } from '../emulator/metadata.ts';
import type { MetadataRequest } from '../emulator/metadata.ts';

/** What to serve. */
export interface LocalMetadataOptions {
  /** The project id the instances report (`project/project-id`). */
  project: string;
  /** Address to listen on; default 127.0.0.1 (a free port is picked). */
  host?: string;
}

/** One local "VM" as its metadata server shows it. */
export interface LocalInstance {
  /** The instance name; also its place in the server's URL space. */
  name: string;
  /** The instance attributes (`instance/attributes/KEY`). */
  attributes: Record<string, string>;
  /**
   * The secret versions this instance's service account may read, by resource name
   * (`projects/P/secrets/S/versions/V`; without `/versions/V` it is `latest`) to value.
   */
  secrets?: Record<string, string>;
}

/** A running local metadata server, which also answers Secret Manager's access call. */
export interface LocalMetadata {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string;
  /** The `GCE_METADATA_HOST` value for an instance: `http://HOST:PORT/instances/NAME` (the agent appends `/computeMetadata/v1/`). */
  hostFor(name: string): string;
  /** The value for the instance attribute `gce-matrix-endpoint-secretmanager`: `http://HOST:PORT/secretmanager/`. */
  readonly secretManagerEndpoint: string;
  /** Adds an instance; throws if one of that name is registered. */
  register(instance: LocalInstance): void;
  /** Removes an instance: its metadata and its access tokens stop working. Unknown names are ignored. */
  unregister(name: string): void;
  /** Sets what `instance/preempted` answers (`TRUE`/`FALSE`); throws for an unknown instance. */
  setPreempted(name: string, preempted: boolean): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const TOKEN_LIFETIME_MS = 3600_000;
const SECRET_ERRORS: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  501: 'UNIMPLEMENTED',
};

interface Registered {
  readonly instance: LocalInstance;
  readonly emulator: MetadataEmulator;
  preempted: boolean;
}

/**
 * A Compute Engine metadata server for local "instances" (processes that run the VM agent), one URL space per
 * instance under `/instances/NAME/computeMetadata/v1/`, plus Secret Manager's `versions/V:access` under
 * `/secretmanager/v1/`. Each instance gets its own access tokens; Secret Manager reads the caller's token to
 * know which instance asks, and so which secrets it was given.
 */
export async function startLocalMetadata(opts: LocalMetadataOptions): Promise<LocalMetadata> {
  const project = opts.project;
  const projectNumber = numberFor(project);
  const instances = new Map<string, Registered>();
  const tokens = new Map<string, { instance: string; expiresAt: number }>();
  const serviceAccount = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const cpuPlatform = (os.cpus()[0]?.model ?? '').replace(/\s+/g, ' ').trim() || 'unknown';

  const accessSecret = (req: MetadataRequest, rest: string): { status: number; body: unknown } => {
    const fail = (code: number, message: string) => ({
      status: code,
      body: { error: { code, message, status: SECRET_ERRORS[code] } },
    });
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(rest);
    if (!m || req.method !== 'GET') {
      return fail(
        501,
        `${req.method} /secretmanager${rest} is not supported locally (only GET of versions/V:access is)`,
      );
    }
    const auth = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = auth ? tokens.get(auth[1]) : undefined;
    if (!token || token.expiresAt <= Date.now()) {
      return fail(
        401,
        'Request had invalid authentication credentials. Expected an access token of a registered local instance (from its metadata server).',
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
        `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${version}] not found, or instance ${token.instance} was not given it.`,
      );
    }
    const data = Buffer.from(found.value, 'utf8');
    const name = `projects/${projectNumber}/secrets/${secret}/versions/${found.version}`;
    const payload = { data: data.toString('base64'), dataCrc32c: String(crc32c(data)) };
    return { status: 200, body: { name, payload } };
  };

  const listener = await listenMetadata(
    (req, res) => {
      const path = req.url.pathname;
      const inst = /^\/instances\/([^/]+)/.exec(path);
      const r = inst ? instances.get(decoded(inst[1]) ?? '') : undefined;
      if (r && inst) return r.emulator.handle(req, res, inst[0]);
      if (!path.startsWith('/secretmanager/')) return;
      const { status, body } = accessSecret(req, path.slice('/secretmanager'.length));
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    },
    { host: opts.host },
  );
  const url = listener.url;

  return {
    url,
    hostFor: (name) => `${url}/instances/${encodeURIComponent(name)}`,
    secretManagerEndpoint: `${url}/secretmanager/`,
    register({ name, attributes, secrets }) {
      if (!name) throw new Error('a local instance needs a name');
      if (instances.has(name)) throw new Error(`local instance ${name} is already registered`);
      const id = BigInt(`0x${randomBytes(8).toString('hex')}`)
        .toString()
        .slice(0, 19);
      const r: Registered = {
        instance: { name, attributes: { ...attributes }, ...(secrets ? { secrets: { ...secrets } } : {}) },
        preempted: false,
        emulator: new MetadataEmulator({
          instance: () => ({
            project,
            projectNumber,
            name,
            id,
            zone: 'local',
            machineType: 'local',
            cpuPlatform,
            image: 'local',
            hostname: `${name}.local.c.${project}.internal`,
            preempted: r.preempted,
            attributes: r.instance.attributes,
            serviceAccounts: [
              { email: serviceAccount, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
            ],
          }),
          tokens: () => {
            const token = `local.${randomBytes(24).toString('base64url')}`;
            const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
            tokens.set(token, { instance: name, expiresAt });
            return { token, expiresAt };
          },
        }),
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
    close: () => listener.close(),
  };
}

/**
 * The value of `projects/P/secrets/S/versions/V` among an instance's secrets. `latest` matches a key that says
 * `latest` (or leaves the version out), else the highest numbered version given.
 */
function findSecret(
  secrets: Record<string, string>,
  project: string,
  projectNumber: string,
  secret: string,
  version: string,
): { value: string; version: string } | undefined {
  const numbered: { version: number; value: string }[] = [];
  for (const [ref, value] of Object.entries(secrets)) {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(ref);
    if (!m || m[2] !== secret || (m[1] !== project && m[1] !== projectNumber)) continue;
    const v = m[3] ?? 'latest';
    if (v === version) return { value, version: v === 'latest' ? '1' : v };
    if (/^\d+$/.test(v)) numbered.push({ version: Number(v), value });
  }
  if (version !== 'latest' || numbered.length === 0) return undefined;
  const newest = numbered.reduce((a, b) => (b.version > a.version ? b : a));
  return { value: newest.value, version: String(newest.version) };
}

/** A stable 12-digit project number for a project id, as Google's are numeric. */
function numberFor(project: string): string {
  const n = BigInt(`0x${createHash('sha256').update(project).digest('hex').slice(0, 12)}`) % 900_000_000_000n;
  return String(n + 100_000_000_000n);
}
