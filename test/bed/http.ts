import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as a stand-in sees it: the body already read in full. */
export interface BedRequest {
  readonly service: string;
  readonly method: string;
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** What the recorder keeps of every request, for assertions. */
export interface RecordedRequest {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyText: string;
  status: number;
  readonly at: number;
}

/** A fault to answer instead of the stand-in, for requests that match. */
export interface FaultSpec {
  service?: string;
  method?: string;
  /** Matched against the URL path (string: substring; RegExp: test). */
  path?: string | RegExp;
  /** Further matching on the whole request. */
  when?: (req: BedRequest) => boolean;
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Answer with this status and JSON body ... */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** ... or destroy the connection without an answer. */
  drop?: boolean;
  /** Delay (real milliseconds) before answering or passing on to the stand-in. */
  delayMs?: number;
}

export type Handler = (req: BedRequest, res: http.ServerResponse) => void | Promise<void>;

/** Keeps every request of every stand-in and the faults waiting to be injected. */
export class Recorder {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: (FaultSpec & { left: number })[] = [];

  /** Queue a fault; returns a function that withdraws it. */
  inject(fault: FaultSpec): () => void {
    const entry = { ...fault, left: fault.times ?? 1 };
    this.faults.push(entry);
    return () => {
      const i = this.faults.indexOf(entry);
      if (i >= 0) this.faults.splice(i, 1);
    };
  }

  /** The requests one stand-in received, optionally filtered by method and path. */
  of(service: string, method?: string, path?: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        r.service === service &&
        (method === undefined || r.method === method) &&
        (path === undefined || matchPath(r.path, path)),
    );
  }

  clear(): void {
    this.requests.length = 0;
  }

  takeFault(req: BedRequest): FaultSpec | undefined {
    const i = this.faults.findIndex(
      (f) =>
        f.left > 0 &&
        (f.service === undefined || f.service === req.service) &&
        (f.method === undefined || f.method === req.method) &&
        (f.path === undefined || matchPath(req.url.pathname, f.path)) &&
        (f.when === undefined || f.when(req)),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i];
    fault.left -= 1;
    if (fault.left <= 0) this.faults.splice(i, 1);
    return fault;
  }
}

function matchPath(path: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);
}

/** A stand-in's HTTP server on loopback, with recording and fault injection in front of its handler. */
export class BedServer {
  readonly server: http.Server;
  readonly service: string;
  private readonly recorder: Recorder;
  private readonly handler: Handler;
  private readonly sockets = new Set<Socket>();

  constructor(service: string, recorder: Recorder, handler: Handler) {
    this.service = service;
    this.recorder = recorder;
    this.handler = handler;
    this.server = http.createServer((req, res) => {
      void this.dispatch(req, res);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on 127.0.0.1 (port 0: any free port). */
  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:PORT` */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of raw) chunks.push(chunk as Buffer);
    } catch {
      // The client went away before its request was whole (a VM stopped mid-upload, the bed closing): as a
      // real server, there is nobody to answer.
      return;
    }
    const body = Buffer.concat(chunks);
    const url = new URL(raw.url ?? '/', `http://${raw.headers.host ?? '127.0.0.1'}`);
    const req: BedRequest = {
      service: this.service,
      method: raw.method ?? 'GET',
      url,
      headers: raw.headers,
      body,
    };
    const record: RecordedRequest = {
      service: this.service,
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: raw.headers,
      bodyText: isText(raw.headers['content-type']) ? body.toString('utf8').slice(0, 1024 * 1024) : '',
      status: 0,
      at: Date.now(),
    };
    this.recorder.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    try {
      const fault = this.recorder.takeFault(req);
      if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault?.drop) {
        raw.socket.destroy();
        return;
      }
      if (fault?.status !== undefined) {
        sendJson(res, fault.status, fault.body ?? {}, fault.headers);
        return;
      }
      await this.handler(req, res);
    } catch (err) {
      if (!res.headersSent) {
        sendJson(res, 500, {
          error: { code: 500, message: `stand-in ${this.service} failed: ${String(err)}` },
        });
      } else {
        res.destroy();
      }
      console.error(`[bed:${this.service}]`, err);
    }
  }
}

function isText(contentType: string | undefined): boolean {
  return !!contentType && /json|text|x-www-form-urlencoded|xml/.test(contentType);
}

/** Answers with a JSON body. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Parses a JSON request body; an empty body is `{}`. */
export function jsonBody<T = Record<string, unknown>>(req: BedRequest): T {
  if (req.body.length === 0) return {} as T;
  return JSON.parse(req.body.toString('utf8')) as T;
}

/** The canonical status string Google APIs put in `error.status` for an HTTP code. */
export function googleStatus(code: number): string {
  const names: Record<number, string> = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ALREADY_EXISTS',
    412: 'FAILED_PRECONDITION',
    429: 'RESOURCE_EXHAUSTED',
    500: 'INTERNAL',
    503: 'UNAVAILABLE',
  };
  return names[code] ?? 'UNKNOWN';
}

/**
 * The error body Google's JSON APIs (Compute Engine, Cloud Storage, IAM Credentials, Secret Manager) send:
 * `{ error: { code, message, errors: [{ message, domain, reason }], status } }`.
 */
export function googleError(code: number, reason: string, message: string, domain = 'global'): unknown {
  return {
    error: {
      code,
      message,
      errors: [{ message, domain, reason }],
      status: googleStatus(code),
    },
  };
}

/** Sends a Google-shaped JSON error. */
export function sendGoogleError(
  res: http.ServerResponse,
  code: number,
  reason: string,
  message: string,
  domain?: string,
): void {
  sendJson(res, code, googleError(code, reason, message, domain));
}

/** Sends a refusal built whole (status, headers and JSON body), as the IAM model builds them. */
export function sendGoogleResponse(
  res: http.ServerResponse,
  response: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: unknown;
  },
): void {
  sendJson(res, response.status, response.body, { ...response.headers });
}
