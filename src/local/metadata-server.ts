import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { crc32cUpdate } from './crc32c.ts';

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

/** Values are plain text, one per answer; listings one name a line. */
const TEXT = 'text/plain; charset=utf-8';

/** How long an access token lives, and when a fresh one is handed out instead of the current one. */
const TOKEN_LIFETIME_MS = 3600_000;
const TOKEN_RENEW_MS = 300_000;

interface Registered {
  readonly instance: LocalInstance;
  readonly id: string;
  preempted: boolean;
  token: { value: string; expiresAt: number } | undefined;
}

/**
 * A Compute Engine metadata server for local "instances" (processes that run the VM agent), one URL space per
 * instance under `/instances/NAME/computeMetadata/v1/`, plus Secret Manager's `versions/V:access` under
 * `/secretmanager/v1/`. Like the real server it insists on `Metadata-Flavor: Google`. Each instance gets its
 * own access token; Secret Manager reads the caller's token to know which instance asks, and so which
 * secrets it was given.
 */
export async function startLocalMetadata(opts: LocalMetadataOptions): Promise<LocalMetadata> {
  const project = opts.project;
  const projectNumber = numberFor(project);
  const instances = new Map<string, Registered>();
  const tokens = new Map<string, { instance: string; expiresAt: number }>();
  const serviceAccount = `${projectNumber}-compute@developer.gserviceaccount.com`;
  const cpuPlatform = (os.cpus()[0]?.model ?? '').replace(/\s+/g, ' ').trim() || 'unknown';

  const issueToken = (r: Registered): { value: string; expiresIn: number } => {
    const now = Date.now();
    if (!r.token || r.token.expiresAt - now < TOKEN_RENEW_MS) {
      r.token = {
        value: `local.${randomBytes(24).toString('base64url')}`,
        expiresAt: now + TOKEN_LIFETIME_MS,
      };
      tokens.set(r.token.value, { instance: r.instance.name, expiresAt: r.token.expiresAt });
    }
    return { value: r.token.value, expiresIn: Math.floor((r.token.expiresAt - now) / 1000) };
  };

  const metadataTree = (r: Registered): Dir => {
    const name = r.instance.name;
    return {
      instance: {
        attributes: { ...r.instance.attributes },
        'cpu-platform': cpuPlatform,
        description: '',
        hostname: `${name}.local.c.${project}.internal`,
        id: r.id,
        image: 'local',
        'machine-type': `projects/${projectNumber}/machineTypes/local`,
        name,
        preempted: r.preempted ? 'TRUE' : 'FALSE',
        'service-accounts': {
          default: {
            aliases: 'default',
            email: serviceAccount,
            scopes: 'https://www.googleapis.com/auth/cloud-platform\n',
            token: () => {
              const t = issueToken(r);
              return {
                contentType: 'application/json',
                body: JSON.stringify({
                  access_token: t.value,
                  expires_in: t.expiresIn,
                  token_type: 'Bearer',
                }),
              };
            },
          },
        },
        zone: `projects/${projectNumber}/zones/local`,
      },
      project: {
        attributes: {},
        'numeric-project-id': projectNumber,
        'project-id': project,
      },
    };
  };

  const serveMetadata = (
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    rest: string,
    query: URLSearchParams,
  ) => {
    if (req.headers['x-forwarded-for'] !== undefined) {
      return sendMetadata(res, 403, 'Request had an X-Forwarded-For header.\n', TEXT);
    }
    if (req.headers['metadata-flavor'] !== 'Google') {
      return sendMetadata(res, 403, 'Missing Metadata-Flavor:Google header.\n', TEXT);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendMetadata(res, 405, 'Method not allowed.\n', TEXT);
    const r = instances.get(name);
    if (!r) return sendMetadata(res, 404, `No instance ${name} on this local metadata server.\n`, TEXT);
    if (query.has('wait_for_change')) {
      return sendMetadata(
        res,
        400,
        'wait_for_change is not supported by the gce-matrix local metadata server.\n',
        TEXT,
      );
    }
    const prefix = '/computeMetadata/v1';
    if (rest !== prefix && !rest.startsWith(`${prefix}/`))
      return sendMetadata(res, 404, 'Not found.\n', TEXT);
    const sub = rest.slice(prefix.length);
    const parts = sub.split('/').filter((p) => p !== '');
    let node: Node = metadataTree(r);
    for (const raw of parts) {
      const part = decoded(raw);
      if (part === undefined) return sendMetadata(res, 400, `Invalid path segment ${raw}.\n`, TEXT);
      if (!isDir(node) || !Object.hasOwn(node, part)) return sendMetadata(res, 404, 'Not found.\n', TEXT);
      node = node[part];
    }
    const trailingSlash = sub === '' || sub.endsWith('/');
    if (isDir(node)) {
      if (query.get('recursive') === 'true') {
        return sendMetadata(
          res,
          200,
          JSON.stringify(toJson(node, parts[parts.length - 1] === 'attributes')),
          'application/json',
        );
      }
      if (!trailingSlash) {
        res.setHeader('location', `${hostFor(name)}${prefix}${sub}/`);
        return sendMetadata(res, 301, 'Moved permanently.\n', TEXT);
      }
      const lines = Object.entries(node).map(([k, child]) => (isDir(child) ? `${k}/` : k));
      return sendMetadata(res, 200, lines.map((l) => `${l}\n`).join(''), TEXT);
    }
    if (trailingSlash) return sendMetadata(res, 404, 'Not found.\n', TEXT);
    if (typeof node === 'function') {
      const out = node();
      return sendMetadata(res, 200, out.body, out.contentType);
    }
    if (query.get('alt') === 'json') return sendMetadata(res, 200, JSON.stringify(node), 'application/json');
    sendMetadata(res, 200, node, TEXT);
  };

  const serveSecret = (req: IncomingMessage, res: ServerResponse, rest: string) => {
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(rest);
    if (!m) {
      return sendGoogleError(
        res,
        501,
        'UNIMPLEMENTED',
        `${req.method ?? 'GET'} /secretmanager${rest} is not supported by the gce-matrix local server (only versions/V:access is)`,
      );
    }
    if (req.method !== 'GET') {
      return sendGoogleError(
        res,
        501,
        'UNIMPLEMENTED',
        `${req.method} ${rest} is not supported; access is a GET.`,
      );
    }
    const auth = /^Bearer\s+(\S+)$/i.exec(headerValue(req.headers.authorization) ?? '');
    const token = auth ? tokens.get(auth[1]) : undefined;
    if (!token || token.expiresAt <= Date.now()) {
      if (auth) tokens.delete(auth[1]);
      return sendGoogleError(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected an access token of a registered local instance (from its metadata server).',
      );
    }
    const r = instances.get(token.instance);
    const [projectRef, secret, version] = m.slice(1).map((s) => decoded(s) ?? s);
    if (projectRef !== project && projectRef !== projectNumber) {
      return sendGoogleError(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission denied on project ${projectRef} (this local server serves ${project}).`,
      );
    }
    const found = r && findSecret(r.instance.secrets ?? {}, project, projectNumber, secret, version);
    if (!found) {
      return sendGoogleError(
        res,
        404,
        'NOT_FOUND',
        `Secret Version [projects/${projectNumber}/secrets/${secret}/versions/${version}] not found, or instance ${token.instance} was not given it.`,
      );
    }
    const data = Buffer.from(found.value, 'utf8');
    sendMetadata(
      res,
      200,
      JSON.stringify({
        name: `projects/${projectNumber}/secrets/${secret}/versions/${found.version}`,
        payload: { data: data.toString('base64'), dataCrc32c: String(crc32cUpdate(0, data)) },
      }),
      'application/json; charset=UTF-8',
      false,
    );
  };

  const server = http.createServer((req, res) => {
    // Bodies are never needed; reading them keeps the connection usable.
    req.resume();
    try {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const rawPath = q < 0 ? raw : raw.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
      const inst = /^\/instances\/([^/]+)(\/.*)?$/.exec(rawPath);
      const name = inst ? decoded(inst[1]) : undefined;
      if (inst && name !== undefined) return serveMetadata(req, res, name, inst[2] ?? '', query);
      if (rawPath.startsWith('/secretmanager/'))
        return serveSecret(req, res, rawPath.slice('/secretmanager'.length));
      sendMetadata(
        res,
        404,
        'Not found: the local metadata server serves /instances/NAME/computeMetadata/v1/ and /secretmanager/v1/.\n',
        TEXT,
      );
    } catch (err) {
      if (!res.headersSent)
        sendMetadata(res, 500, `gce-matrix local metadata server: ${(err as Error).message}\n`, TEXT);
      else res.destroy();
    }
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const hostFor = (name: string): string => `${url}/instances/${encodeURIComponent(name)}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    hostFor,
    secretManagerEndpoint: `${url}/secretmanager/`,
    register(instance) {
      if (!instance.name) throw new Error('a local instance needs a name');
      if (instances.has(instance.name))
        throw new Error(`local instance ${instance.name} is already registered`);
      instances.set(instance.name, {
        instance: {
          name: instance.name,
          attributes: { ...instance.attributes },
          ...(instance.secrets ? { secrets: { ...instance.secrets } } : {}),
        },
        id: BigInt(`0x${randomBytes(8).toString('hex')}`)
          .toString()
          .slice(0, 19),
        preempted: false,
        token: undefined,
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
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** A directory of the metadata tree: values are text leaves, sub-directories or computed answers. */
interface Dir {
  [key: string]: Node;
}
type Computed = () => { body: string; contentType: string };
type Node = string | Dir | Computed;

function isDir(n: Node): n is Dir {
  return typeof n === 'object';
}

/** A directory as `recursive=true` prints it: built-in names in camelCase, attribute keys as they were set. */
function toJson(dir: Dir, keepKeys = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(dir)) {
    // Computed values (the token) are left out of recursive listings, as the real server does.
    if (typeof child === 'function') continue;
    const jsonKey = keepKeys ? key : key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    out[jsonKey] = typeof child === 'string' ? child : toJson(child, key === 'attributes');
  }
  return out;
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

/** A percent-decoded path segment; undefined when it is not valid percent-encoding. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sendMetadata(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  flavor = true,
): void {
  res
    .writeHead(status, {
      ...(flavor ? { 'metadata-flavor': 'Google' } : {}),
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
}

/** Google's JSON error shape for the gRPC-style APIs (Secret Manager). */
function sendGoogleError(res: ServerResponse, code: number, status: string, message: string): void {
  sendMetadata(
    res,
    code,
    JSON.stringify({ error: { code, message, status } }),
    'application/json; charset=UTF-8',
    false,
  );
}
