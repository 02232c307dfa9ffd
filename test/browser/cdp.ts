/**
 * A tiny Chrome DevTools Protocol client over Node's global WebSocket: commands are `{id, method, params}`
 * answered by the message with the same id; events are waited for by name. Enough to drive one page in tests.
 */

/** An error the browser answered a command with. */
export class CdpError extends Error {}

interface Pending {
  readonly method: string;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Waiter {
  readonly method: string;
  readonly resolve: (params: Record<string, unknown>) => void;
  readonly reject: (err: Error) => void;
}

interface Message {
  readonly id?: number;
  readonly method?: string;
  readonly params?: Record<string, unknown>;
  readonly result?: unknown;
  readonly error?: { readonly message?: string; readonly code?: number };
}

/** One DevTools connection (a page target's webSocketDebuggerUrl). */
export interface CdpConnection {
  /** Sends a command and resolves with its result; rejects on an error answer, a closed socket or a timeout. */
  send<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** Resolves with the params of the next event named `method` (listen before causing it). */
  next(method: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens a DevTools connection; every command gives up after `timeoutMs`, so a stuck browser fails the test. */
export async function connectCdp(url: string, timeoutMs = 10_000): Promise<CdpConnection> {
  const socket = new WebSocket(url);
  const pending = new Map<number, Pending>();
  let waiters: Waiter[] = [];
  let nextId = 1;
  let closed: Error | undefined;

  const failAll = (err: Error): void => {
    closed ??= err;
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    pending.clear();
    for (const w of waiters) w.reject(err);
    waiters = [];
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no DevTools connection to ${url} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
    socket.addEventListener(
      'error',
      () => (clearTimeout(timer), reject(new Error(`DevTools connection to ${url} failed`))),
      { once: true },
    );
  });

  socket.addEventListener('message', (event: MessageEvent) => {
    const msg = JSON.parse(String(event.data)) as Message;
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error)
        p.reject(new CdpError(`${p.method}: ${msg.error.message ?? 'error'} (${msg.error.code})`));
      else p.resolve(msg.result);
    } else if (msg.method) {
      const matching = waiters.filter((w) => w.method === msg.method);
      waiters = waiters.filter((w) => w.method !== msg.method);
      for (const w of matching) w.resolve(msg.params ?? {});
    }
  });
  socket.addEventListener('close', () => failAll(new Error('the DevTools connection closed')));

  return {
    send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      if (closed) return Promise.reject(closed);
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    next(method: string, waitMs = timeoutMs): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no ${method} event in ${waitMs} ms`));
        }, waitMs);
        const waiter: Waiter = {
          method,
          resolve: (params) => (clearTimeout(timer), resolve(params)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        };
        if (closed) waiter.reject(closed);
        else waiters.push(waiter);
      });
    },
    close(): void {
      failAll(new Error('the DevTools connection was closed'));
      socket.close();
    },
  };
}
