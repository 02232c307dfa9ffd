import { Storage } from '@google-cloud/storage';
import { OAuth2Client } from 'google-auth-library';
import { startLocalMetadata } from './metadata-server.ts';
import type { LocalMetadata } from './metadata-server.ts';
import { LOCAL_BUCKET, LOCAL_PROJECT } from './settings.ts';
import { startLocalStorage } from './storage-server.ts';
import { STORAGE_RETRY } from '../gcp/retry.ts';
import type { LocalStorage } from './storage-server.ts';

/** The local stand-ins a local run talks to, and a Cloud Storage client for its results directory. */
export interface LocalCloud {
  readonly storage: LocalStorage;
  readonly metadata: LocalMetadata;
  /** The real Cloud Storage client, pointed at the results directory: collect and status read through it. */
  readonly storageClient: Storage;
  close(): Promise<void>;
}

/**
 * Serves `bucketRoot` as the bucket of a local run and starts the metadata server its experiments ask, both
 * on 127.0.0.1 only.
 */
export async function startLocalCloud(bucketRoot: string): Promise<LocalCloud> {
  const storage = await startLocalStorage({ root: bucketRoot, bucket: LOCAL_BUCKET });
  let metadata: LocalMetadata;
  try {
    metadata = await startLocalMetadata({ project: LOCAL_PROJECT });
  } catch (err) {
    await storage.close();
    throw err;
  }
  // The same client the actions use; the token is a placeholder the local server accepts.
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'local', expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
  const storageClient = new Storage({
    ...STORAGE_RETRY,
    projectId: LOCAL_PROJECT,
    apiEndpoint: storage.url,
    authClient,
    useAuthWithCustomEndpoint: true,
  });
  return {
    storage,
    metadata,
    storageClient,
    async close() {
      await Promise.allSettled([storage.close(), metadata.close()]);
    },
  };
}
