import { ConfigurationError } from '../errors.ts';

/** A service account email, user-managed or the Compute Engine default. */
export const SERVICE_ACCOUNT_EMAIL =
  /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.]+\.iam\.gserviceaccount\.com$|^[0-9]+-compute@developer\.gserviceaccount\.com$/;

const PROVIDER = /^projects\/[0-9]+\/locations\/global\/workloadIdentityPools\/[^/\s]+\/providers\/[^/\s]+$/;

/** The two inputs every gce-matrix action takes to authenticate itself; both undefined means ADC. */
export interface AuthInputs {
  readonly workloadIdentityProvider: string | undefined;
  readonly serviceAccount: string | undefined;
}

/**
 * Reads and checks `workload-identity-provider` and `service-account`, which go together: with both, the action
 * exchanges the job's OIDC token itself; with neither, it uses the credentials google-github-actions/auth left.
 */
export function parseAuthInputs(read: (name: string) => string): AuthInputs {
  const workloadIdentityProvider = read('workload-identity-provider').trim() || undefined;
  const serviceAccount = read('service-account').trim() || undefined;
  if ((workloadIdentityProvider === undefined) !== (serviceAccount === undefined)) {
    throw new ConfigurationError(
      'inputs workload-identity-provider and service-account go together: give both, or neither and run google-github-actions/auth first',
    );
  }
  if (workloadIdentityProvider && !PROVIDER.test(workloadIdentityProvider)) {
    throw new ConfigurationError(
      `input workload-identity-provider must look like projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER (got ${workloadIdentityProvider})`,
    );
  }
  if (serviceAccount && !SERVICE_ACCOUNT_EMAIL.test(serviceAccount)) {
    throw new ConfigurationError(
      `input service-account ${JSON.stringify(serviceAccount)} is not a service account email`,
    );
  }
  return { workloadIdentityProvider, serviceAccount };
}
