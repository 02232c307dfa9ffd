import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo, Server, Socket } from 'node:net';
import { endianness } from 'node:os';
import { escapeHtml } from '../html-escape.ts';

/** What the metadata server of one instance shows. Optional parts take the values of a plain standard VM. */
export interface MetadataInstance {
  project: string;
  projectNumber: string;
  projectAttributes?: Record<string, string>;
  name: string;
  id: string;
  /** The zone's short name (`us-central1-a`); served as `projects/NUMBER/zones/ZONE`. */
  zone: string;
  /** The machine type's short name (`e2-small`); served as `projects/NUMBER/machineTypes/TYPE`. */
  machineType: string;
  cpuPlatform: string;
  image: string;
  hostname: string;
  description?: string;
  preempted: boolean;
  /** `NONE` unless a host maintenance event is pending. */
  maintenanceEvent?: string;
  attributes: Record<string, string>;
  tags?: readonly string[];
  /** The primary internal address; without one there is no `network-interfaces/` directory. */
  networkIP?: string;
  /** The first is `default`. */
  serviceAccounts: readonly { email: string; scopes: readonly string[] }[];
  scheduling?: {
    automaticRestart: boolean;
    onHostMaintenance: string;
    preemptible: boolean;
    provisioningModel: string;
    instanceTerminationAction?: string;
    maxRunDurationSeconds?: number;
  };
}

/** Mints an access token for one of the instance's service accounts; `expiresAt` is in the clock's epoch ms. */
export type MetadataTokenSource = (
  email: string,
  scopes: readonly string[],
) => { token: string; expiresAt: number };

/** The time the emulator tells token lifetimes and waits `timeout_sec` by. */
export interface MetadataClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** How the emulator is wired to its instance. */
export interface MetadataEmulatorOptions {
  /**
   * The instance as it is now, read on every request. To flip `preempted` or `maintenanceEvent`, change what
   * this returns, then call `changed()` so that `wait_for_change` requests see it.
   */
  instance: () => MetadataInstance;
  tokens: MetadataTokenSource;
  /** Default: the wall clock. */
  clock?: MetadataClock;
}

/** A request as the emulator reads it; `url` is absolute, and its origin goes into redirects. */
export interface MetadataRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
}

const PREFIX = '/computeMetadata/v1';
const TEXT = 'application/text';
const JSON_TYPE = 'application/json';
const HTML = 'text/html; charset=UTF-8';
const STANDARD_SCHEDULING: NonNullable<MetadataInstance['scheduling']> = {
  automaticRestart: true,
  onHostMaintenance: 'MIGRATE',
  preemptible: false,
  provisioningModel: 'STANDARD',
};
/** The real server hands out its cached token until the token has five minutes left. */
const TOKEN_RENEW_MS = 300_000;

interface Rendered {
  status: number;
  body: string;
  contentType: string;
  location?: string;
  /** Computed afresh on every request (tokens): never waited on. */
  fresh?: boolean;
}

/** A value: its text form, and its JSON form when that differs (numbers, lists); some answer JSON unasked. */
interface Leaf {
  text: string;
  json?: unknown;
  jsonByDefault?: boolean;
}
interface Dir {
  dir: Record<string, Node>;
  /** Keys set by users (attributes, account emails) stay as they are in JSON instead of turning camelCase. */
  keepKeys?: boolean;
}
type Dynamic = { dynamic: (q: URLSearchParams) => Rendered };
type Node = string | Leaf | Dir | Dynamic;

const dir = (entries: Record<string, Node>, keepKeys = false): Dir => ({ dir: entries, keepKeys });
const isDir = (n: Node): n is Dir => typeof n === 'object' && 'dir' in n;
const isDynamic = (n: Node): n is Dynamic => typeof n === 'object' && 'dynamic' in n;

/**
 * The HTTP behaviour of one instance's Compute Engine metadata server (`/computeMetadata/v1/`): the
 * `Metadata-Flavor: Google` handshake both ways, `ETag`s, directory listings and `recursive=true`, `alt=json|text`,
 * `wait_for_change` with `last_etag` and `timeout_sec`, and cached access tokens from an injected source. It
 * does not listen by itself: hand `handle` to an HTTP server (see `listenMetadata`).
 */
export class MetadataEmulator {
  private readonly opts: MetadataEmulatorOptions;
  private readonly clock: MetadataClock;
  private readonly waiters = new Set<() => void>();
  private readonly tokenCache = new Map<string, { token: string; expiresAt: number }>();
  private closed = false;

  constructor(opts: MetadataEmulatorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? {
      now: () => Date.now(),
      after(ms, fn) {
        const timer = setTimeout(fn, ms).unref();
        return () => clearTimeout(timer);
      },
    };
  }

  /** Wakes `wait_for_change` requests so they compare their value again. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Answers every waiting request with the value it has now; later waits answer at once. */
  close(): void {
    this.closed = true;
    this.changed();
  }

  /**
   * Answers one request. `mount` is the path the server is reached under (`/instances/NAME` when one HTTP
   * server holds several instances); the request's path must start with it.
   */
  async handle(req: MetadataRequest, res: ServerResponse, mount = ''): Promise<void> {
    const out = await this.respond(req, res, mount);
    if (out) send(res, out);
  }

  private async respond(req: MetadataRequest, res: ServerResponse, mount: string) {
    const full = req.url.pathname;
    const path = full.startsWith(mount) ? full.slice(mount.length) : undefined;
    // The levels above the API answer without the header.
    if (path === '' || path === '/') return ok('computeMetadata/\n');
    if (path === '/computeMetadata' || path === '/computeMetadata/') return ok('v1/\n');
    const forwarded = req.headers['x-forwarded-for'] !== undefined;
    if (forwarded || req.headers['metadata-flavor'] !== 'Google') {
      const why = forwarded
        ? 'Request had an X-Forwarded-For header.'
        : 'Missing Metadata-Flavor:Google header.';
      return error(403, `Your client does not have permission to get URL ${full} from this server. ${why}`);
    }
    if (req.method !== 'GET') return error(405, `Method ${req.method} is not allowed; use GET.`);
    if (path === undefined || (path !== PREFIX && !path.startsWith(`${PREFIX}/`))) return notFound(full);
    const q = req.url.searchParams;
    const wait = q.get('wait_for_change') === 'true';
    const timeout = q.get('timeout_sec');
    if (wait && timeout !== null && !/^[1-9]\d*$/.test(timeout)) {
      return error(400, `timeout_sec must be a positive whole number of seconds, not "${timeout}".`);
    }
    const base = `${req.url.origin}${mount}${PREFIX}`;
    const render = () => this.render(path.slice(PREFIX.length), q, base, wait);
    const now = render();
    if (!wait || now.status !== 200 || now.fresh) return now;
    return this.waitForChange(render, q.get('last_etag') ?? etag(now.body), Number(timeout ?? 0), res);
  }

  /** The value once it differs from `lastEtag`, or at the timeout; undefined when the client went away first. */
  private waitForChange(render: () => Rendered, lastEtag: string, timeoutSec: number, res: ServerResponse) {
    return new Promise<Rendered | undefined>((resolve) => {
      const finish = (out: Rendered | undefined) => {
        this.waiters.delete(wake);
        cancel();
        res.off('close', gone);
        resolve(out);
      };
      const check = (force: boolean) => {
        const now = render();
        if (force || this.closed || now.status !== 200 || etag(now.body) !== lastEtag) finish(now);
      };
      const wake = () => check(false);
      const gone = () => finish(undefined);
      const cancel = timeoutSec > 0 ? this.clock.after(timeoutSec * 1000, () => check(true)) : () => {};
      this.waiters.add(wake);
      res.once('close', gone);
      check(false);
    });
  }

  private render(sub: string, q: URLSearchParams, base: string, wait: boolean): Rendered {
    const parts = sub.split('/').filter((p) => p !== '');
    let node: Node = this.tree();
    for (const raw of parts) {
      const part = decoded(raw);
      if (part === undefined) return error(400, `Invalid path segment ${raw}.`);
      if (!isDir(node) || !Object.hasOwn(node.dir, part)) return notFound(`${PREFIX}${sub}`);
      node = node.dir[part];
    }
    const trailingSlash = sub === '' || sub.endsWith('/');
    const alt = q.get('alt');
    if (isDir(node)) {
      if (q.get('recursive') === 'true') {
        return alt === 'text' ? ok(toText(node).join('')) : ok(JSON.stringify(toJson(node)), JSON_TYPE);
      }
      if (wait) return error(400, 'Non-recursive directory listings do not support wait_for_change option.');
      if (!trailingSlash) {
        const location = `${base}${sub}/${q.size > 0 ? `?${q.toString()}` : ''}`;
        return { ...error(301, `Moved Permanently: ${location}`), location };
      }
      const lines = Object.entries(node.dir).map(([k, child]) => (isDir(child) ? `${k}/\n` : `${k}\n`));
      return ok(lines.join(''));
    }
    if (trailingSlash) return notFound(`${PREFIX}${sub}`);
    if (isDynamic(node)) return node.dynamic(q);
    const leaf: Leaf = typeof node === 'string' ? { text: node } : node;
    const json = alt === 'json' || (alt !== 'text' && leaf.jsonByDefault);
    return json ? ok(JSON.stringify(leaf.json ?? leaf.text), JSON_TYPE) : ok(leaf.text);
  }

  private tree(): Dir {
    const s = this.opts.instance();
    const tf = (b: boolean) => (b ? 'TRUE' : 'FALSE');
    const lines = (items: readonly string[]) => items.map((x) => `${x}\n`).join('');
    const accounts: Record<string, Node> = {};
    s.serviceAccounts.forEach((sa, i) => {
      const entry = dir({
        aliases: i === 0 ? 'default' : '',
        email: sa.email,
        scopes: { text: lines(sa.scopes), json: sa.scopes },
        token: { dynamic: (q) => this.token(sa, q) },
        identity: { dynamic: (q) => this.identity(s, sa.email, q) },
      });
      if (i === 0) accounts.default = entry;
      accounts[sa.email] = entry;
    });
    const sch = s.scheduling ?? STANDARD_SCHEDULING;
    const scheduling = dir({
      'automatic-restart': tf(sch.automaticRestart),
      'on-host-maintenance': sch.onHostMaintenance,
      preemptible: tf(sch.preemptible),
      'provisioning-model': sch.provisioningModel,
      ...(sch.instanceTerminationAction
        ? { 'instance-termination-action': sch.instanceTerminationAction }
        : {}),
      ...(sch.maxRunDurationSeconds !== undefined
        ? { 'max-run-duration': `${sch.maxRunDurationSeconds}s` }
        : {}),
    });
    const number = (v: string): Leaf => ({ text: v, json: Number(v) });
    const instance: Record<string, Node> = {
      attributes: dir({ ...s.attributes }, true),
      'cpu-platform': s.cpuPlatform,
      description: s.description ?? '',
      hostname: s.hostname,
      id: number(s.id),
      image: s.image,
      'machine-type': `projects/${s.projectNumber}/machineTypes/${s.machineType}`,
      'maintenance-event': s.maintenanceEvent ?? 'NONE',
      name: s.name,
      preempted: tf(s.preempted),
      scheduling,
      'service-accounts': dir(accounts, true),
      tags: { text: lines(s.tags ?? []), json: s.tags ?? [], jsonByDefault: true },
      zone: `projects/${s.projectNumber}/zones/${s.zone}`,
    };
    if (s.networkIP !== undefined) {
      const network = `projects/${s.projectNumber}/networks/default`;
      instance['network-interfaces'] = dir({ '0': dir({ ip: s.networkIP, network }) });
    }
    return dir({
      instance: dir(instance),
      project: dir({
        attributes: dir({ ...s.projectAttributes }, true),
        'numeric-project-id': number(s.projectNumber),
        'project-id': s.project,
      }),
    });
  }

  private token(sa: MetadataInstance['serviceAccounts'][number], q: URLSearchParams): Rendered {
    const scopes = q.get('scopes')?.split(',').filter(Boolean) ?? sa.scopes;
    const key = `${sa.email} ${scopes.join(',')}`;
    const now = this.clock.now();
    let t = this.tokenCache.get(key);
    if (!t || t.expiresAt - now <= TOKEN_RENEW_MS) {
      t = this.opts.tokens(sa.email, scopes);
      this.tokenCache.set(key, t);
    }
    // A second short, so that a client adding expires_in to its own clock never overshoots the expiry.
    const expiresIn = Math.max(0, Math.floor((t.expiresAt - now) / 1000) - 1);
    const body = JSON.stringify({ access_token: t.token, expires_in: expiresIn, token_type: 'Bearer' });
    return { ...ok(body, JSON_TYPE), fresh: true };
  }

  private identity(s: MetadataInstance, email: string, q: URLSearchParams): Rendered {
    const aud = q.get('audience');
    if (!aud) return error(400, 'non-empty audience parameter required');
    const iat = Math.floor(this.clock.now() / 1000);
    const sub = String(BigInt('0x' + createHash('sha256').update(email).digest('hex').slice(0, 15)));
    const claims = { aud, azp: email, exp: iat + 3600, iat, iss: 'https://accounts.google.com', sub };
    const where = { instance_id: s.id, instance_name: s.name, project_id: s.project, zone: s.zone };
    const engine = { ...where, instance_creation_timestamp: iat, project_number: Number(s.projectNumber) };
    const full = { email, email_verified: true, google: { compute_engine: engine } };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const payload = b64(q.get('format') === 'full' ? { ...claims, ...full } : claims);
    // The signature is random: no stand-in verifies Google's signing keys.
    const jwt = `${b64({ alg: 'RS256', typ: 'JWT' })}.${payload}.${randomBytes(64).toString('base64url')}`;
    return { status: 200, body: jwt, contentType: 'text/html; charset=utf-8', fresh: true };
  }
}

/** One TCP connection to a metadata server, as a firewall between the client and the server sees it. */
export interface MetadataConnection {
  /** The client's end. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The server's end: the address and port the client connected to. */
  readonly localAddress: string;
  readonly localPort: number;
}

/** What becomes of a connection: served, or reset before a byte is read (a firewall's REJECT with tcp-reset). */
export type ConnectionVerdict = 'accept' | 'reject';

/** Decides on each connection as it is accepted; a filter that throws rejects. */
export type ConnectionFilter = (conn: MetadataConnection) => ConnectionVerdict;

/**
 * Puts `filter` in front of every connection `server` accepts from now on: a rejected one is reset (RST)
 * before anything is read from it, so its client sees the connection refused or reset, never an answer.
 */
export function filterConnections(server: Server, filter: ConnectionFilter): void {
  server.on('connection', (socket: Socket) => {
    const conn: MetadataConnection = {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    };
    let verdict: ConnectionVerdict;
    try {
      verdict = filter(conn);
    } catch {
      verdict = 'reject';
    }
    if (verdict !== 'accept') socket.resetAndDestroy();
  });
}

/** How an address appears in the kernel's socket tables: 32-bit words in host byte order, as hex. */
function procAddress(bytes: readonly number[]): string {
  const little = endianness() === 'LE';
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = bytes.slice(w, w + 4);
    for (const b of little ? word.reverse() : word) out += b.toString(16).padStart(2, '0');
  }
  return out.toUpperCase();
}

/** The 4 bytes of an IPv4 address or the 16 of an IPv6 one (IPv4-mapped and `::` shorthand understood). */
function addressBytes(address: string): number[] | undefined {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(address);
  if (v4) return v4.slice(1).map(Number);
  if (!address.includes(':')) return undefined;
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const all = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

/** The socket table lines of an IPv4 or IPv6 address: plain in `tcp`, IPv4-mapped in `tcp6`. */
function procEndpoints(address: string, port: number): { tcp?: string; tcp6?: string } {
  const bytes = addressBytes(address);
  if (!bytes) return {};
  const p = port.toString(16).toUpperCase().padStart(4, '0');
  if (bytes.length === 4) {
    return {
      tcp: `${procAddress(bytes)}:${p}`,
      tcp6: `${procAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...bytes])}:${p}`,
    };
  }
  return { tcp6: `${procAddress(bytes)}:${p}` };
}

/**
 * The uid that owns the client's socket of a connection made on this machine (loopback), from the kernel's TCP
 * socket tables (`/proc/net/tcp` and `tcp6`: the line whose local end is the client's address and port and
 * whose remote end is the server's). Undefined where there are no such tables, or the client's socket is gone.
 */
export function loopbackPeerUid(
  conn: MetadataConnection,
  read: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): number | undefined {
  const client = procEndpoints(conn.remoteAddress, conn.remotePort);
  const server = procEndpoints(conn.localAddress, conn.localPort);
  for (const table of ['tcp', 'tcp6'] as const) {
    const local = client[table];
    const remote = server[table];
    if (!local || !remote) continue;
    let text: string;
    try {
      text = read(`/proc/net/${table}`);
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[1] === local && f[2] === remote && /^\d+$/.test(f[7] ?? '')) return Number(f[7]);
    }
  }
  return undefined;
}

/**
 * Serves `handler` over HTTP on `at.host` (default 127.0.0.1) and `at.port` (default: a free one): one emulator
 * (`(req, res) => emulator.handle(req, res)`) or a router in front of several. A request the handler leaves
 * unanswered gets the server's 404 page, a failing handler a 500. With `at.filter`, each connection passes it
 * first (see `filterConnections`). Resolves to the server's `http://HOST:PORT` and a `close` that stops it and
 * drops its connections (waiting requests included).
 */
export async function listenMetadata(
  handler: (req: MetadataRequest, res: ServerResponse) => void | Promise<void>,
  at: { host?: string; port?: number; filter?: ConnectionFilter } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  let origin = '';
  const server = http.createServer((raw, res) => {
    // Bodies are never needed; reading them keeps the connection usable.
    raw.resume();
    // Concatenated, not resolved: a path starting with `//` must stay a path.
    const req = {
      method: raw.method ?? 'GET',
      url: new URL(`${origin}${raw.url ?? '/'}`),
      headers: raw.headers,
    };
    Promise.resolve()
      .then(() => handler(req, res))
      .then(() => {
        if (!res.headersSent) send(res, notFound(req.url.pathname));
      })
      .catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else send(res, error(500, `The metadata server failed: ${(err as Error).message}`));
      });
  });
  if (at.filter) filterConnections(server, at.filter);
  const host = at.host ?? '127.0.0.1';
  await once(server.listen(at.port ?? 0, host), 'listening');
  const { port } = server.address() as AddressInfo;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A directory as `recursive=true` prints it: built-in names in camelCase, user keys as they were set. */
function toJson(node: Dir): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(node.dir)) {
    // Computed values (tokens) are left out of recursive listings, as the real server does.
    if (isDynamic(child)) continue;
    const key = node.keepKeys ? k : k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (isDir(child)) out[key] = toJson(child);
    else out[key] = typeof child === 'string' ? child : (child.json ?? child.text);
  }
  return out;
}

/** A directory as `recursive=true&alt=text` prints it: `PATH VALUE`, one line per line of each value. */
function toText(node: Dir, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, child] of Object.entries(node.dir)) {
    if (isDynamic(child)) continue;
    if (isDir(child)) {
      out.push(...toText(child, `${prefix}${k}/`));
      continue;
    }
    const text = typeof child === 'string' ? child : child.text;
    for (const line of text.replace(/\n$/, '').split('\n')) out.push(`${prefix}${k} ${line}\n`);
  }
  return out;
}

function ok(body: string, contentType = TEXT): Rendered {
  return { status: 200, body, contentType };
}

function error(status: number, message: string): Rendered {
  const body = `<!DOCTYPE html>\n<html lang=en>\n<title>Error ${status}</title>\n<p><b>${status}.</b> ${escapeHtml(message)}\n`;
  return { status, body, contentType: HTML };
}

function notFound(path: string): Rendered {
  return error(404, `The requested URL ${path} was not found on this server.`);
}

/** A percent-decoded path segment; undefined when it is not valid percent-encoding. */
export function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function etag(body: string): string {
  return createHash('md5').update(body).digest('hex').slice(0, 16);
}

function send(res: ServerResponse, out: Rendered): void {
  const headers: Record<string, string | number> = {
    'metadata-flavor': 'Google',
    'content-type': out.contentType,
    'content-length': Buffer.byteLength(out.body),
    etag: etag(out.body),
    server: 'Metadata Server for VM',
    'x-xss-protection': '0',
    'x-frame-options': 'SAMEORIGIN',
  };
  if (out.location) headers.location = out.location;
  res.writeHead(out.status, headers).end(out.body);
}
