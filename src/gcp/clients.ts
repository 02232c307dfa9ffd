import { Storage } from '@google-cloud/storage';
import { AcceleratorTypesClient } from '@google-cloud/compute/build/src/v1/accelerator_types_client.js';
import { ImagesClient } from '@google-cloud/compute/build/src/v1/images_client.js';
import { InstancesClient } from '@google-cloud/compute/build/src/v1/instances_client.js';
import { MachineTypesClient } from '@google-cloud/compute/build/src/v1/machine_types_client.js';
import { ZoneOperationsClient } from '@google-cloud/compute/build/src/v1/zone_operations_client.js';
import { ZonesClient } from '@google-cloud/compute/build/src/v1/zones_client.js';
import type { AuthClient, GoogleAuth } from 'google-auth-library';
import { createGoogleAuth } from './auth.ts';
import type { GoogleEndpoints } from './endpoints.ts';
import { endpointsFromEnv } from './endpoints.ts';
import { STORAGE_RETRY } from './retry.ts';
import { computeClientOptions } from './endpoints.ts';

/** The Google clients every gce-matrix action shares, built once with one set of credentials and endpoints. */
export interface GcpClients {
  readonly project: string;
  readonly instances: InstancesClient;
  readonly zoneOperations: ZoneOperationsClient;
  readonly zones: ZonesClient;
  readonly machineTypes: MachineTypesClient;
  readonly images: ImagesClient;
  readonly acceleratorTypes: AcceleratorTypesClient;
  readonly storage: Storage;
  close(): Promise<void>;
}

/** Builds the Compute Engine and Cloud Storage clients against `endpoints` with `auth`. */
export function createGcpClients(opts: {
  project: string;
  auth: GoogleAuth<AuthClient>;
  endpoints: GoogleEndpoints;
}): GcpClients {
  const compute = {
    ...computeClientOptions(opts.endpoints.compute),
    auth: opts.auth,
    projectId: opts.project,
  };
  const storage = new Storage({
    ...STORAGE_RETRY,
    projectId: opts.project,
    authClient: opts.auth,
    // On a custom endpoint the library sends no token unless told to; resumable session starts still go
    // without one, so gce-matrix writes its own small objects with single-request uploads.
    ...(opts.endpoints.storage
      ? { apiEndpoint: opts.endpoints.storage, useAuthWithCustomEndpoint: true }
      : {}),
  });
  // Compute clients load a large descriptor set when built: only actions that use Compute pay for it.
  let instances: InstancesClient | undefined;
  let zoneOperations: ZoneOperationsClient | undefined;
  let zones: ZonesClient | undefined;
  let machineTypes: MachineTypesClient | undefined;
  let images: ImagesClient | undefined;
  let acceleratorTypes: AcceleratorTypesClient | undefined;
  return {
    project: opts.project,
    get instances() {
      return (instances ??= new InstancesClient(compute));
    },
    get zoneOperations() {
      return (zoneOperations ??= new ZoneOperationsClient(compute));
    },
    get zones() {
      return (zones ??= new ZonesClient(compute));
    },
    get machineTypes() {
      return (machineTypes ??= new MachineTypesClient(compute));
    },
    get images() {
      return (images ??= new ImagesClient(compute));
    },
    get acceleratorTypes() {
      return (acceleratorTypes ??= new AcceleratorTypesClient(compute));
    },
    storage,
    async close() {
      await Promise.allSettled([
        instances?.close(),
        zoneOperations?.close(),
        zones?.close(),
        machineTypes?.close(),
        images?.close(),
        acceleratorTypes?.close(),
      ]);
    },
  };
}

/** Credentials (from inputs or ADC) and clients in one step, as every action starts. */
export function connectGcp(opts: {
  project: string;
  env: NodeJS.ProcessEnv;
  workloadIdentityProvider?: string | undefined;
  serviceAccount?: string | undefined;
}): { clients: GcpClients; description: string } {
  const credentials = createGoogleAuth({
    projectId: opts.project,
    env: opts.env,
    ...(opts.workloadIdentityProvider ? { workloadIdentityProvider: opts.workloadIdentityProvider } : {}),
    ...(opts.serviceAccount ? { serviceAccount: opts.serviceAccount } : {}),
  });
  const clients = createGcpClients({
    project: opts.project,
    auth: credentials.auth,
    endpoints: endpointsFromEnv(opts.env),
  });
  return { clients, description: credentials.description };
}
