import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DirectoryObjectStore } from '../emulator/storage/directory-store.ts';
import { StorageEmulator } from '../emulator/storage/emulator.ts';

/** Where and what to serve. */
export interface LocalStorageOptions {
  /** The directory that holds the bucket's objects: object `a/b.txt` is the file `root/a/b.txt`. Created. */
  root: string;
  /** The one bucket name served; any other is answered as a bucket that does not exist. */
  bucket: string;
  /** Address to listen on; default 127.0.0.1 (a free port is picked). */
  host?: string;
}

/** A running local Cloud Storage server. */
export interface LocalStorage {
  /** `http://HOST:PORT`, no trailing slash: the `apiEndpoint` of the Node client, or the agent's storage endpoint. */
  readonly url: string;
  readonly bucket: string;
  /** The absolute directory served. */
  readonly root: string;
  /** Stops listening, drops open connections and removes unfinished uploads. */
  close(): Promise<void>;
}

/**
 * Serves one directory as one Cloud Storage bucket (see {@link DirectoryObjectStore} for the layout), so that
 * the real clients and the VM agent run unchanged against local files. Every caller may do everything: the
 * local runner's token is a placeholder.
 */
export async function startLocalStorage(opts: LocalStorageOptions): Promise<LocalStorage> {
  const store = await DirectoryObjectStore.open(opts.root, opts.bucket);
  const emulator = new StorageEmulator({
    store,
    projectNumber: '0',
    location: 'LOCAL',
    locationType: 'region',
  });
  const server = http.createServer(emulator.listener);
  const host = opts.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    bucket: opts.bucket,
    root: store.root,
    close() {
      closed ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await done;
        await emulator.close();
        await store.close();
      })();
      return closed;
    },
  };
}
