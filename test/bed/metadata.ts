import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { BedClock } from './clock.ts';
import { BedServer, Recorder } from './http.ts';
import type { BedRequest } from './http.ts';
import type { TokenRegistry } from './tokens.ts';

/** What one instance's metadata server shows; read afresh on every request, so changes show at once. */
export interface MetadataSnapshot {
  project: string;
  projectNumber: string;
  projectAttributes: Record<string, string>;
  name: string;
  id: string;
  zone: string;
  machineType: string;
  cpuPlatform: string;
  image: string;
  hostname: string;
  description: string;
  preempted: boolean;
  maintenanceEvent: string;
  attributes: Record<string, string>;
  tags: string[];
  networkIP: string;
  serviceAccounts: { email: string; scopes: string[] }[];
  scheduling: {
    automaticRestart: boolean;
    onHostMaintenance: string;
    preemptible: boolean;
    provisioningModel: string;
    instanceTerminationAction?: string;
    maxRunDurationSeconds?: number;
  };
}

export interface MetadataServerOptions {
  clock: BedClock;
  tokens: TokenRegistry;
  snapshot: () => MetadataSnapshot;
  /** Requests are recorded here (and faults taken from here) under `service`. */
  recorder?: Recorder;
  service?: string;
}

/** A leaf: its text form, and its form inside a `recursive=true` JSON document when that differs. */
interface Leaf {
  text: string;
  json?: unknown;
  contentType?: string;
}
type Dynamic = (query: URLSearchParams) => { status: number; body: string; contentType: string };
type Node = string | Leaf | { dir: Record<string, Node>; userKeys?: boolean } | { dynamic: Dynamic };

const dir = (entries: Record<string, Node>, userKeys = false): Node => ({ dir: entries, userKeys });
const isDir = (n: Node): n is { dir: Record<string, Node>; userKeys?: boolean } =>
  typeof n === 'object' && 'dir' in n;
const isDynamic = (n: Node): n is { dynamic: Dynamic } => typeof n === 'object' && 'dynamic' in n;

/**
 * One instance's metadata server (what `GCE_METADATA_HOST` points at inside the VM): the `computeMetadata/v1`
 * tree with attributes, identity, scheduling and preemption state, and access tokens for the instance's
 * service account, issued by the bed's TokenRegistry. Like the real one it insists on `Metadata-Flavor: Google`.
 */
export class MetadataServer {
  private readonly opts: MetadataServerOptions;
  private readonly server: BedServer;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(opts: MetadataServerOptions) {
    this.opts = opts;
    this.server = new BedServer(opts.service ?? 'metadata', opts.recorder ?? new Recorder(), (req, res) =>
      this.handle(req, res),
    );
  }

  async listen(): Promise<this> {
    await this.server.listen(0);
    return this;
  }

  get port(): number {
    return this.server.port;
  }

  /** `127.0.0.1:PORT`, the form `GCE_METADATA_HOST` takes. */
  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** Wakes `wait_for_change` requests so they compare their value again. */
  changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.changed();
    await this.server.close();
  }

  private async handle(req: BedRequest, res: http.ServerResponse): Promise<void> {
    const path = req.url.pathname;
    if (path === '/' || path === '/computeMetadata' || path === '/computeMetadata/') {
      return send(res, 200, path === '/' ? 'computeMetadata/\n' : 'v1/\n', 'application/text');
    }
    if (req.headers['x-forwarded-for'] !== undefined || req.headers['metadata-flavor'] !== 'Google') {
      const why =
        req.headers['x-forwarded-for'] !== undefined
          ? 'Request had an X-Forwarded-For header.'
          : 'Missing Metadata-Flavor:Google header.';
      return send(
        res,
        403,
        htmlError(403, `Your client does not have permission to get URL ${path}. ${why}`),
      );
    }
    if (req.method !== 'GET') return send(res, 405, htmlError(405, 'Method not allowed.'));
    const prefix = '/computeMetadata/v1';
    if (path !== prefix && !path.startsWith(`${prefix}/`))
      return send(res, 404, htmlError(404, 'Not found.'));
    const q = req.url.searchParams;
    const render = () => this.render(path.slice(prefix.length), q);
    let out = render();
    if (q.get('wait_for_change') === 'true' && out.status === 200) {
      const lastEtag = q.get('last_etag') ?? etag(out.body);
      const timeoutSec = Number(q.get('timeout_sec') ?? 0);
      out = await this.waitForChange(render, lastEtag, timeoutSec);
    }
    send(res, out.status, out.body, out.contentType, out.location);
  }

  private waitForChange(render: () => Rendered, lastEtag: string, timeoutSec: number): Promise<Rendered> {
    return new Promise((resolve) => {
      const check = (force: boolean) => {
        const now = render();
        if (force || this.closed || now.status !== 200 || etag(now.body) !== lastEtag) {
          this.waiters.delete(wake);
          cancel();
          resolve(now);
        }
      };
      const wake = () => check(false);
      const cancel = timeoutSec > 0 ? this.opts.clock.after(timeoutSec * 1000, () => check(true)) : () => {};
      this.waiters.add(wake);
      check(false);
    });
  }

  private render(sub: string, q: URLSearchParams): Rendered {
    const parts = sub.split('/').filter((p) => p !== '');
    const trailingSlash = sub === '' || sub.endsWith('/');
    let node: Node = this.tree();
    for (const part of parts) {
      if (!isDir(node) || !(part in node.dir)) return notFound();
      node = node.dir[part]!;
    }
    const recursive = q.get('recursive') === 'true';
    if (isDir(node)) {
      if (recursive)
        return { status: 200, body: JSON.stringify(toJson(node)), contentType: 'application/json' };
      if (!trailingSlash) {
        return {
          status: 301,
          body: htmlError(301, 'Moved Permanently'),
          contentType: 'text/html',
          location: `/computeMetadata/v1${sub}/`,
        };
      }
      const lines = Object.entries(node.dir).map(([k, child]) => (isDir(child) ? `${k}/` : k));
      return { status: 200, body: lines.map((l) => `${l}\n`).join(''), contentType: 'application/text' };
    }
    if (trailingSlash) return notFound();
    if (isDynamic(node)) return node.dynamic(q);
    const leaf: Leaf = typeof node === 'string' ? { text: node } : node;
    if (q.get('alt') === 'json') {
      return { status: 200, body: JSON.stringify(leaf.json ?? leaf.text), contentType: 'application/json' };
    }
    return { status: 200, body: leaf.text, contentType: leaf.contentType ?? 'application/text' };
  }

  private tree(): Node {
    const s = this.opts.snapshot();
    const tf = (b: boolean) => (b ? 'TRUE' : 'FALSE');
    const accounts: Record<string, Node> = {};
    s.serviceAccounts.forEach((sa, i) => {
      const entry = dir({
        aliases: i === 0 ? 'default' : '',
        email: sa.email,
        scopes: { text: sa.scopes.map((x) => `${x}\n`).join(''), json: sa.scopes },
        token: { dynamic: (q) => this.token(sa, q) },
        identity: { dynamic: (q) => this.identity(s, sa, q) },
      });
      if (i === 0) accounts.default = entry;
      accounts[sa.email] = entry;
    });
    const scheduling: Record<string, Node> = {
      'automatic-restart': tf(s.scheduling.automaticRestart),
      'on-host-maintenance': s.scheduling.onHostMaintenance,
      preemptible: tf(s.scheduling.preemptible),
      'provisioning-model': s.scheduling.provisioningModel,
    };
    if (s.scheduling.instanceTerminationAction) {
      scheduling['instance-termination-action'] = s.scheduling.instanceTerminationAction;
    }
    if (s.scheduling.maxRunDurationSeconds !== undefined) {
      scheduling['max-run-duration'] = `${s.scheduling.maxRunDurationSeconds}s`;
    }
    return dir({
      instance: dir({
        attributes: dir({ ...s.attributes }, true),
        'cpu-platform': s.cpuPlatform,
        description: s.description,
        hostname: s.hostname,
        id: { text: s.id, json: Number(s.id) },
        image: s.image,
        'machine-type': `projects/${s.projectNumber}/machineTypes/${s.machineType}`,
        'maintenance-event': s.maintenanceEvent,
        name: s.name,
        'network-interfaces': dir({
          '0': dir({ ip: s.networkIP, network: `projects/${s.projectNumber}/networks/default` }),
        }),
        preempted: tf(s.preempted),
        scheduling: dir(scheduling),
        'service-accounts': dir(accounts),
        tags: { text: JSON.stringify(s.tags), json: s.tags, contentType: 'application/json' },
        zone: `projects/${s.projectNumber}/zones/${s.zone}`,
      }),
      project: dir({
        attributes: dir({ ...s.projectAttributes }, true),
        'numeric-project-id': { text: s.projectNumber, json: Number(s.projectNumber) },
        'project-id': s.project,
      }),
    });
  }

  private token(sa: { email: string; scopes: string[] }, q: URLSearchParams) {
    const scopes = q.get('scopes')?.split(',').filter(Boolean) ?? sa.scopes;
    const { token, expiresAt } = this.opts.tokens.issue({
      subject: `serviceAccount:${sa.email}`,
      email: sa.email,
      scopes,
      kind: 'service-account',
    });
    const expiresIn = Math.max(0, Math.floor((expiresAt - this.opts.clock.now()) / 1000) - 1);
    return {
      status: 200,
      body: JSON.stringify({ access_token: token, expires_in: expiresIn, token_type: 'Bearer' }),
      contentType: 'application/json',
    };
  }

  private identity(s: MetadataSnapshot, sa: { email: string }, q: URLSearchParams) {
    const audience = q.get('audience');
    if (!audience) {
      return { status: 400, body: 'non-empty audience parameter required\n', contentType: 'text/plain' };
    }
    const iat = Math.floor(this.opts.clock.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: audience,
      azp: sa.email,
      exp: iat + 3600,
      iat,
      iss: 'https://accounts.google.com',
      sub: String(BigInt('0x' + createHash('sha256').update(sa.email).digest('hex').slice(0, 15))),
    };
    if (q.get('format') === 'full') {
      claims.email = sa.email;
      claims.email_verified = true;
      claims.google = {
        compute_engine: {
          instance_creation_timestamp: iat,
          instance_id: s.id,
          instance_name: s.name,
          project_id: s.project,
          project_number: Number(s.projectNumber),
          zone: s.zone,
        },
      };
    }
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    // The signature is random: nothing in the bed verifies Google's signing keys.
    const jwt = `${b64({ alg: 'RS256', kid: 'bed-metadata', typ: 'JWT' })}.${b64(claims)}.${randomBytes(64).toString('base64url')}`;
    return { status: 200, body: jwt, contentType: 'text/html; charset=utf-8' };
  }
}

interface Rendered {
  status: number;
  body: string;
  contentType: string;
  location?: string;
}

function toJson(node: Node): unknown {
  if (typeof node === 'string') return node;
  if (isDir(node)) {
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(node.dir)) {
      if (isDynamic(child)) continue;
      // Built-in names become camelCase in JSON; user metadata keys stay as they were set.
      const key = node.userKeys ? k : k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      out[key] = toJson(child);
    }
    return out;
  }
  if (isDynamic(node)) return undefined;
  return node.json ?? node.text;
}

function notFound(): Rendered {
  return {
    status: 404,
    body: htmlError(404, 'The requested URL was not found on this server.'),
    contentType: 'text/html',
  };
}

function etag(body: string): string {
  return createHash('md5').update(body).digest('hex').slice(0, 16);
}

function htmlError(code: number, message: string): string {
  return `<!DOCTYPE html>\n<html lang=en>\n<title>Error ${code}</title>\n<p><b>${code}.</b> ${message}\n`;
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  contentType = 'text/html; charset=UTF-8',
  location?: string,
): void {
  const headers: Record<string, string | number> = {
    'metadata-flavor': 'Google',
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    server: 'Metadata Server for VM',
    etag: etag(body),
  };
  if (location) headers.location = location;
  res.writeHead(status, headers);
  res.end(body);
}
