import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactStandIn } from './artifacts.ts';
import { BedClock } from './clock.ts';
import { ComputeStandIn } from './compute.ts';
import { GitHubStandIn } from './github.ts';
import { BedServer, Recorder } from './http.ts';
import {
  GitHubOidcStandIn,
  IamCredentialsStandIn,
  SecretManagerStandIn,
  StsStandIn,
  externalAccountCredentials,
} from './identity.ts';
import { StorageStandIn } from './storage.ts';
import { TokenRegistry } from './tokens.ts';

/** How to start a test bed. */
export interface TestBedOptions {
  /** Virtual time runs this many times faster than real time (1 = real time). */
  timeScale?: number;
  /** The Google Cloud project the stand-ins serve. */
  project?: string;
  /** `owner/repo` of the GitHub side. */
  repository?: string;
  /** Fixed ports (for a person who wants stable addresses); 0 or absent: any free port. */
  basePort?: number;
  /** Virtual ms from insert to RUNNING and from RUNNING to the startup script (default 1500 and 500: quick). */
  bootDelayMs?: number;
  guestBootMs?: number;
}

/** Everything a test needs: the stand-ins, the recorder, and the environment that points clients at them. */
export interface TestBed {
  readonly clock: BedClock;
  readonly tokens: TokenRegistry;
  readonly recorder: Recorder;
  readonly storage: StorageStandIn;
  readonly compute: ComputeStandIn;
  readonly oidc: GitHubOidcStandIn;
  readonly sts: StsStandIn;
  readonly iamCredentials: IamCredentialsStandIn;
  readonly secretManager: SecretManagerStandIn;
  readonly github: GitHubStandIn;
  readonly artifacts: ArtifactStandIn;
  readonly project: string;
  readonly repository: string;
  /** The workload identity provider resource name the STS stand-in accepts. */
  readonly workloadIdentityProvider: string;
  /** The service account a workflow impersonates (allowed for `repository`). */
  readonly serviceAccount: string;
  /** The service account VMs run as. */
  readonly vmServiceAccount: string;
  /** A scratch directory that `close()` removes. */
  readonly dir: string;
  /** Path of an `external_account` credential file, as google-github-actions/auth writes it. */
  readonly credentialsFile: string;
  /**
   * The environment a job step sees: endpoint overrides, GitHub variables, OIDC and artifact service
   * variables, and `GOOGLE_APPLICATION_CREDENTIALS` (ADC, as after google-github-actions/auth).
   */
  readonly env: Record<string, string>;
  /** The endpoint variables alone (what a VM sees, besides its metadata server). */
  readonly endpointEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Starts every stand-in on loopback and wires them together. */
export async function startTestBed(options: TestBedOptions = {}): Promise<TestBed> {
  const project = options.project ?? 'bed-project';
  const projectNumber = '123456789012';
  const repository = options.repository ?? 'octo-org/bench-repo';
  const clock = new BedClock(options.timeScale ?? 1);
  const tokens = new TokenRegistry(clock);
  const recorder = new Recorder();
  const dir = await mkdtemp(path.join(tmpdir(), 'gce-matrix-bed-'));
  const port = (i: number): number => (options.basePort ? options.basePort + i : 0);

  const storage = new StorageStandIn({ clock, tokens });
  const oidc = new GitHubOidcStandIn({ clock, repository });
  const sts = new StsStandIn({ clock, tokens, oidc });
  const iamCredentials = new IamCredentialsStandIn({ clock, tokens });
  const secretManager = new SecretManagerStandIn({ clock, tokens, projectNumber });
  const github = new GitHubStandIn({ repository });
  const artifacts = new ArtifactStandIn({});

  const endpointEnv: Record<string, string> = {};
  const compute = new ComputeStandIn({
    clock,
    tokens,
    project,
    projectNumber,
    recorder,
    workDir: path.join(dir, 'vms'),
    vmEnv: () => endpointEnv,
    bootDelayMs: options.bootDelayMs ?? 1500,
    guestBootMs: options.guestBootMs ?? 500,
  });

  const servers = [
    new BedServer('storage', recorder, storage.handle),
    new BedServer('compute', recorder, compute.handle),
    new BedServer('oidc', recorder, oidc.handle),
    new BedServer('sts', recorder, sts.handle),
    new BedServer('iamcredentials', recorder, iamCredentials.handle),
    new BedServer('secretmanager', recorder, secretManager.handle),
    new BedServer('github', recorder, github.handle),
    new BedServer('artifacts', recorder, artifacts.handle),
  ];
  try {
    for (const [i, s] of servers.entries()) await s.listen(port(i));
  } catch (err) {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
  const [storageSrv, computeSrv, oidcSrv, stsSrv, iamSrv, smSrv, githubSrv, artifactSrv] = servers as [
    BedServer,
    BedServer,
    BedServer,
    BedServer,
    BedServer,
    BedServer,
    BedServer,
    BedServer,
  ];
  artifacts.setOrigin(artifactSrv.origin);

  Object.assign(endpointEnv, {
    STORAGE_EMULATOR_HOST: storageSrv.origin,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${computeSrv.origin}/compute/v1/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STS: `${stsSrv.origin}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS: `${iamSrv.origin}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER: `${smSrv.origin}/`,
  });

  const pool = 'github';
  const provider = 'bed-provider';
  const workloadIdentityProvider = `projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/providers/${provider}`;
  // As the README sets it up: the repository's numeric id, which a deleted and recreated repository of the same
  // name does not share, and its name.
  sts.addProvider({
    projectNumber,
    pool,
    provider,
    attributeMapping: {
      'google.subject': 'assertion.sub',
      'attribute.repository': 'assertion.repository',
      'attribute.repository_id': 'assertion.repository_id',
    },
    attributeCondition: `assertion.repository_id == '${oidc.repositoryId}' && assertion.repository == '${repository}'`,
  });
  const serviceAccount = `gce-matrix-launcher@${project}.iam.gserviceaccount.com`;
  const vmServiceAccount = `gce-matrix-vm@${project}.iam.gserviceaccount.com`;
  iamCredentials.allow(
    serviceAccount,
    `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/attribute.repository_id/${oidc.repositoryId}`,
  );

  const oidcRequestToken = oidc.requestToken;
  const oidcUrl = `${oidcSrv.origin}${oidc.requestPath}`;
  const credentialsFile = path.join(dir, 'gha-creds.json');
  await writeFile(
    credentialsFile,
    JSON.stringify(
      externalAccountCredentials({
        oidcUrl,
        oidcRequestToken,
        audience: `//iam.googleapis.com/${workloadIdentityProvider}`,
        stsUrl: `${stsSrv.origin}/v1/token`,
        iamCredentialsUrl: `${iamSrv.origin}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`,
        serviceAccount,
      }),
      null,
      2,
    ),
  );

  const env: Record<string, string> = {
    ...endpointEnv,
    GOOGLE_APPLICATION_CREDENTIALS: credentialsFile,
    GOOGLE_CLOUD_PROJECT: project,
    CLOUDSDK_CORE_PROJECT: project,
    GITHUB_API_URL: githubSrv.origin,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: repository,
    GITHUB_TOKEN: github.defaultToken,
    ACTIONS_ID_TOKEN_REQUEST_URL: oidcUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidcRequestToken,
    ACTIONS_RESULTS_URL: `${artifactSrv.origin}/`,
    ACTIONS_RUNTIME_TOKEN: artifacts.runtimeToken(),
  };

  return {
    clock,
    tokens,
    recorder,
    storage,
    compute,
    oidc,
    sts,
    iamCredentials,
    secretManager,
    github,
    artifacts,
    project,
    repository,
    workloadIdentityProvider,
    serviceAccount,
    vmServiceAccount,
    dir,
    credentialsFile,
    env,
    endpointEnv,
    async close() {
      await compute.close();
      await Promise.all(servers.map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
