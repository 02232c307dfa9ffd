import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactStandIn } from './artifacts.ts';
import { BedClock } from './clock.ts';
import { ComputeStandIn } from './compute.ts';
import { GitHubStandIn } from './github.ts';
import { BedServer, Recorder } from './http.ts';
import type { SetupStep } from './iam.ts';
import { IamModel, applySetup, parseReadmeSetup } from './iam.ts';
import {
  CLOUD_PLATFORM_SCOPE,
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
  /**
   * Every Google stand-in checks calls against the grants of the README's "Set up" section (each bucket's part
   * applied when the bucket is created); this leaves out the steps it picks, to prove each of them needed.
   */
  withoutSetupSteps?: (step: SetupStep) => boolean;
  /** Virtual ms from insert to RUNNING and from RUNNING to the startup script (default 1500 and 500: quick). */
  bootDelayMs?: number;
  guestBootMs?: number;
}

/** Everything a test needs: the stand-ins, the recorder, and the environment that points clients at them. */
export interface TestBed {
  readonly clock: BedClock;
  readonly tokens: TokenRegistry;
  readonly recorder: Recorder;
  /** The allow policies of the bed's project, buckets, secrets, service accounts and instances. */
  readonly iam: IamModel;
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
  /**
   * An access token of the project's owner (`user:owner@example.com`, outside the README's setup), for a test's
   * own fixtures: VMs and objects made as someone other than gce-matrix. It never expires.
   */
  readonly ownerToken: string;
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

  const oidc = new GitHubOidcStandIn({ clock, repository });
  const iam = new IamModel({ projects: [{ id: project, number: projectNumber }] });
  // Google's public image projects let every authenticated caller use their images.
  for (const publisher of ['debian-cloud', 'ubuntu-os-cloud', 'cos-cloud']) {
    iam.grant(`projects/${publisher}`, 'allAuthenticatedUsers', 'roles/compute.imageUser');
  }
  const readme = readmeSetup({ project, projectNumber, repository, repositoryId: oidc.repositoryId });
  const leftOut = options.withoutSetupSteps ?? (() => false);
  const setupSteps = (bucket: string): readonly SetupStep[] => readme(bucket).filter((s) => !leftOut(s));
  const projectWide = (step: SetupStep): boolean => step.kind !== 'bucket' && step.kind !== 'bucket-binding';
  applySetup(iam, setupSteps(SETUP_BUCKET).filter(projectWide));
  const storage = new StorageStandIn({
    clock,
    tokens,
    iam,
    bucketCreated: (bucket) =>
      applySetup(
        iam,
        setupSteps(bucket).filter((s) => !projectWide(s)),
      ),
  });
  const sts = new StsStandIn({ clock, tokens, oidc });
  sts.rolePermissions = (role) => iam.rolePermissions(role);
  const iamCredentials = new IamCredentialsStandIn({ clock, tokens, iam });
  const secretManager = new SecretManagerStandIn({ clock, tokens, projectNumber, iam });
  const github = new GitHubStandIn({ repository });
  const artifacts = new ArtifactStandIn({});

  const endpointEnv: Record<string, string> = {};
  const compute = new ComputeStandIn({
    clock,
    tokens,
    iam,
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

  // The workload identity provider as the setup creates it (the README's binds the repository's numeric id, which
  // a deleted and recreated repository of the same name does not share, and its name).
  const providerStep = setupSteps(SETUP_BUCKET).find((s) => s.kind === 'workload-identity-provider');
  if (!providerStep) throw new Error('the bed setup creates no workload identity provider');
  const { pool, provider } = providerStep;
  const workloadIdentityProvider = sts.addProvider({
    projectNumber,
    pool,
    provider,
    attributeMapping: { ...providerStep.attributeMapping },
    ...(providerStep.attributeCondition ? { attributeCondition: providerStep.attributeCondition } : {}),
  });
  const serviceAccount = `gce-matrix-launcher@${project}.iam.gserviceaccount.com`;
  const vmServiceAccount = `gce-matrix-vm@${project}.iam.gserviceaccount.com`;
  const owner = 'owner@example.com';
  for (const role of ['roles/compute.instanceAdmin.v1', 'roles/storage.admin']) {
    iam.grant(`projects/${project}`, `user:${owner}`, role);
  }
  iam.grant(
    `projects/-/serviceAccounts/${vmServiceAccount}`,
    `user:${owner}`,
    'roles/iam.serviceAccountUser',
  );
  const ownerToken = tokens.issue(
    { subject: `user:${owner}`, email: owner, scopes: [CLOUD_PLATFORM_SCOPE], kind: 'user' },
    100 * 365 * 24 * 3600,
  ).token;

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
    iam,
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
    ownerToken,
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

/** The bucket name a setup is read with for its project-wide steps (bucket steps are read per bucket). */
const SETUP_BUCKET = 'bed-setup-bucket';

const README = new URL('../../README.md', import.meta.url);

/**
 * The README's setup as the bed's project sees it, read again for each bucket: the README's own values stand for
 * the bed's project, repository and the bucket being created.
 */
export function readmeSetup(opts: {
  project: string;
  projectNumber: string;
  repository: string;
  repositoryId: string;
}): (bucket: string) => readonly SetupStep[] {
  const markdown = readFileSync(README, 'utf8');
  const cache = new Map<string, readonly SetupStep[]>();
  return (bucket) => {
    let steps = cache.get(bucket);
    if (!steps) {
      steps = parseReadmeSetup(markdown, {
        PROJECT: opts.project,
        REPO: opts.repository,
        BUCKET: bucket,
        PREFIX: 'gce-matrix',
        REGION: 'us-central1',
        NUMBER: opts.projectNumber,
        REPO_ID: opts.repositoryId,
      }).steps;
      cache.set(bucket, steps);
    }
    return steps;
  };
}
