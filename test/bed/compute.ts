import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { BedClock } from './clock.ts';
import { jsonBody, Recorder, sendGoogleResponse, sendJson } from './http.ts';
import type { BedRequest, Handler } from './http.ts';
import { downscopedTokenRefusal, isStorageOnly } from './access-boundary.ts';
import type { GoogleErrorResponse, IamModel, IamResource } from './iam.ts';
import {
  computeDenied,
  computeResource,
  computeServiceAccountAccessDenied,
  imageResource,
  instanceInsertPermissions,
  instanceResource,
  projectResource,
} from './iam.ts';
import { filterConnections } from '../../src/emulator/metadata.ts';
import { guestFirewall } from './guest-image.ts';
import { MetadataServer } from './metadata.ts';
import type { MetadataSnapshot } from './metadata.ts';
import type { Principal, TokenRegistry } from './tokens.ts';
import {
  checkSandbox,
  GUEST_AGENT_VERSION,
  GUEST_HOME,
  guestDirs,
  isAlive,
  killGroup,
  runScript,
  SerialPort,
  syslogLine,
} from './vm.ts';
import type { GuestDirs, GuestScript } from './vm.ts';

/** A machine type's size, as far as quotas and the metadata server care. */
export interface MachineType {
  guestCpus: number;
  memoryMb: number;
}

/** Zones the stand-in knows unless told otherwise. */
export const DEFAULT_ZONES: readonly string[] = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-b',
  'us-east1-c',
  'us-east1-d',
  'europe-west4-a',
  'europe-west4-b',
  'europe-west4-c',
];

/**
 * Predefined machine types the stand-in knows unless told otherwise. Custom types (`custom-2-4096`,
 * `n2-custom-4-16384`, ...) exist where their series does, in the shapes Compute Engine allows.
 */
export const DEFAULT_MACHINE_TYPES: Readonly<Record<string, MachineType>> = {
  'e2-micro': { guestCpus: 2, memoryMb: 1024 },
  'e2-small': { guestCpus: 2, memoryMb: 2048 },
  'e2-medium': { guestCpus: 2, memoryMb: 4096 },
  'e2-standard-2': { guestCpus: 2, memoryMb: 8192 },
  'e2-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'e2-standard-8': { guestCpus: 8, memoryMb: 32768 },
  'e2-standard-16': { guestCpus: 16, memoryMb: 65536 },
  'e2-highmem-4': { guestCpus: 4, memoryMb: 32768 },
  'e2-highcpu-8': { guestCpus: 8, memoryMb: 8192 },
  'n1-standard-1': { guestCpus: 1, memoryMb: 3840 },
  'n1-standard-2': { guestCpus: 2, memoryMb: 7680 },
  'n1-standard-4': { guestCpus: 4, memoryMb: 15360 },
  'n1-standard-8': { guestCpus: 8, memoryMb: 30720 },
  'n2-standard-2': { guestCpus: 2, memoryMb: 8192 },
  'n2-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'n2-standard-8': { guestCpus: 8, memoryMb: 32768 },
  'n2-standard-16': { guestCpus: 16, memoryMb: 65536 },
  'n2d-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'c2-standard-8': { guestCpus: 8, memoryMb: 32768 },
  'c3-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'c3-standard-8': { guestCpus: 8, memoryMb: 32768 },
  't2d-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'g2-standard-4': { guestCpus: 4, memoryMb: 16384 },
  'a2-highgpu-1g': { guestCpus: 12, memoryMb: 87040 },
};

/** An image as its project publishes it. */
export interface BedImage {
  name: string;
  family?: string;
  description: string;
  /** RFC 3339: a family's image is its newest one that is not deprecated. */
  created: string;
  diskSizeGb: number;
  /** `DEPRECATED` images still boot; `OBSOLETE` and `DELETED` ones are refused. */
  deprecated?: { state: 'DEPRECATED' | 'OBSOLETE' | 'DELETED'; replacement?: string };
  /**
   * The image ships a container engine (docker): Container-Optimized OS and the Deep Learning VM images do,
   * Debian's and Ubuntu's do not. Only then does an instance of it find one.
   */
  containerEngine?: boolean;
}

/** An accelerator type, the zones that offer it and how many cards one instance may have. */
export interface BedAccelerator {
  description: string;
  maximumCardsPerInstance: number;
  zones: readonly string[];
}

/**
 * Public images the stand-in serves unless told otherwise, by image project: a few of each project's families,
 * with one deprecated image. Every authenticated caller may read them, as on Compute Engine.
 */
export const DEFAULT_IMAGES: Readonly<Record<string, readonly BedImage[]>> = {
  'debian-cloud': [
    {
      name: 'debian-12-bookworm-v20250113',
      family: 'debian-12',
      description: 'Debian, Debian GNU/Linux, 12 (bookworm), amd64 built on 20250113',
      created: '2025-01-13T18:04:11.114-08:00',
      diskSizeGb: 10,
      deprecated: { state: 'DEPRECATED', replacement: 'debian-12-bookworm-v20250212' },
    },
    {
      name: 'debian-12-bookworm-v20250212',
      family: 'debian-12',
      description: 'Debian, Debian GNU/Linux, 12 (bookworm), amd64 built on 20250212',
      created: '2025-02-12T10:31:52.406-08:00',
      diskSizeGb: 10,
    },
    {
      name: 'debian-11-bullseye-v20250212',
      family: 'debian-11',
      description: 'Debian, Debian GNU/Linux, 11 (bullseye), amd64 built on 20250212',
      created: '2025-02-12T10:29:07.881-08:00',
      diskSizeGb: 10,
    },
  ],
  'ubuntu-os-cloud': [
    {
      name: 'ubuntu-2204-jammy-v20250128',
      family: 'ubuntu-2204-lts',
      description: 'Canonical, Ubuntu, 22.04 LTS, amd64 jammy image built on 2025-01-28',
      created: '2025-01-28T15:12:40.307-08:00',
      diskSizeGb: 10,
    },
    {
      name: 'ubuntu-2404-noble-amd64-v20250130',
      family: 'ubuntu-2404-lts-amd64',
      description: 'Canonical, Ubuntu, 24.04 LTS, amd64 noble image built on 2025-01-30',
      created: '2025-01-30T16:45:03.512-08:00',
      diskSizeGb: 10,
    },
  ],
  'cos-cloud': [
    {
      name: 'cos-stable-117-18613-164-4',
      family: 'cos-stable',
      containerEngine: true,
      description: 'Google, Container-Optimized OS, 117-18613.164.4 stable',
      created: '2025-01-22T13:20:18.961-08:00',
      diskSizeGb: 10,
    },
    {
      name: 'cos-113-18244-291-3',
      family: 'cos-113-lts',
      containerEngine: true,
      description: 'Google, Container-Optimized OS, 113-18244.291.3 LTS',
      created: '2025-01-22T13:18:44.215-08:00',
      diskSizeGb: 10,
    },
  ],
  'deeplearning-platform-release': [
    {
      name: 'common-cu124-v20250114-debian-11-py310',
      family: 'common-cu124-debian-11-py310',
      containerEngine: true,
      description:
        'Google, Deep Learning VM with CUDA 12.4, M127, Debian 11, Python 3.10. With CUDA 12.4 preinstalled.',
      created: '2025-01-14T21:07:36.027-08:00',
      diskSizeGb: 50,
    },
    {
      name: 'pytorch-2-4-cu124-v20250114-debian-11-py310',
      family: 'pytorch-2-4-cu124-debian-11-py310',
      containerEngine: true,
      description: 'Google, Deep Learning VM with PyTorch 2.4 and CUDA 12.4, M127, Debian 11, Python 3.10.',
      created: '2025-01-14T21:40:12.650-08:00',
      diskSizeGb: 50,
    },
  ],
};

const T4_ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-c',
  'us-east1-d',
  'europe-west4-a',
  'europe-west4-b',
  'europe-west4-c',
];
const L4_ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-east1-b',
  'us-east1-c',
  'us-east1-d',
  'europe-west4-a',
  'europe-west4-b',
  'europe-west4-c',
];
const A100_ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-b',
  'europe-west4-a',
  'europe-west4-b',
];

/** Accelerator types the stand-in offers unless told otherwise, in some of the default zones only. */
export const DEFAULT_ACCELERATORS: Readonly<Record<string, BedAccelerator>> = {
  'nvidia-tesla-t4': { description: 'NVIDIA T4', maximumCardsPerInstance: 4, zones: T4_ZONES },
  'nvidia-l4': { description: 'NVIDIA L4', maximumCardsPerInstance: 8, zones: L4_ZONES },
  'nvidia-tesla-a100': { description: 'NVIDIA A100 40GB', maximumCardsPerInstance: 16, zones: A100_ZONES },
  'nvidia-a100-80gb': {
    description: 'NVIDIA A100 80GB',
    maximumCardsPerInstance: 8,
    zones: ['us-central1-a', 'us-central1-c', 'europe-west4-a'],
  },
  'nvidia-tesla-v100': {
    description: 'NVIDIA V100',
    maximumCardsPerInstance: 8,
    zones: [
      'us-central1-a',
      'us-central1-b',
      'us-central1-c',
      'us-central1-f',
      'europe-west4-a',
      'europe-west4-b',
      'europe-west4-c',
    ],
  },
  'nvidia-tesla-p4': {
    description: 'NVIDIA P4',
    maximumCardsPerInstance: 4,
    zones: ['us-central1-a', 'us-central1-c', 'europe-west4-b', 'europe-west4-c'],
  },
  'nvidia-h100-80gb': {
    description: 'NVIDIA H100 80GB',
    maximumCardsPerInstance: 8,
    zones: ['us-central1-a', 'us-central1-c', 'europe-west4-b', 'europe-west4-c'],
  },
};

/**
 * Machine types only some zones offer (the series with GPUs built in go where their GPUs are); every other
 * machine type is offered in every zone.
 */
export const DEFAULT_MACHINE_TYPE_ZONES: Readonly<Record<string, readonly string[]>> = {
  'g2-standard-4': L4_ZONES,
  'a2-highgpu-1g': A100_ZONES,
};

export interface ComputeStandInOptions {
  clock: BedClock;
  tokens: TokenRegistry;
  /** When given, every call is checked against its policies, as Compute Engine checks IAM. */
  iam?: IamModel;
  /** Project id (default `bed-project`). */
  project?: string;
  /** Numeric project id (default `123456789012`). */
  projectNumber?: string;
  zones?: string[];
  machineTypes?: Record<string, MachineType>;
  /** Zones offering a machine type, for the types not offered everywhere (default DEFAULT_MACHINE_TYPE_ZONES). */
  machineTypeZones?: Record<string, readonly string[]>;
  /** Images by image project (default DEFAULT_IMAGES); these projects' images are readable by everyone. */
  images?: Record<string, readonly BedImage[]>;
  /** Accelerator types by name (default DEFAULT_ACCELERATORS). */
  accelerators?: Record<string, BedAccelerator>;
  /** Extra environment for booted VMs, read at each boot: the endpoint variables of the other stand-ins. */
  vmEnv?: () => Record<string, string>;
  /** Per-instance directories (the VM's "disk": its /var/tmp and /root) are made here. */
  workDir: string;
  /** Virtual ms from insert to RUNNING (default 15 s). */
  bootDelayMs?: number;
  /** Virtual ms from RUNNING to the startup script (the guest OS boot; default 8 s). */
  guestBootMs?: number;
  /** Virtual ms a shutdown script gets on delete/stop (Compute Engine: 90 s). */
  shutdownBudgetMs?: number;
  /** Virtual ms a shutdown script gets on preemption (Compute Engine: 30 s). */
  preemptionBudgetMs?: number;
  /** CPUS quota per region, enforced on insert over instances not TERMINATED. */
  cpuQuota?: Record<string, number>;
  /** Project metadata, shown under `project/attributes/` by the metadata servers. */
  projectMetadata?: Record<string, string>;
  /** Where the metadata servers' requests are recorded (service `metadata:<instance>`). */
  recorder?: Recorder;
  /** Prefix of resource URLs (selfLink, zone, ...); Compute Engine's own by default. */
  linkBase?: string;
  /** operations.wait returns after this much virtual time at most (Compute Engine: 2 minutes) ... */
  waitMaxMs?: number;
  /** ... and after this much real time at most, so that tests at scale 1 do not hang (default 10 s). */
  waitRealCapMs?: number;
}

type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

/** The stand-in's view of one instance, for assertions. */
export interface InstanceInspection {
  name: string;
  zone: string;
  id: string;
  status: InstanceStatus | 'DELETED';
  /** The instance's directory on the host: its "disk", holding `varTmp`, `home` and its scripts. */
  dir: string;
  /** The host directory the guest sees as /var/tmp. */
  varTmp: string;
  /** The host directory the guest sees as /root, its HOME. */
  home: string;
  /** Every pid spawned for it (startup and shutdown scripts). */
  pids: number[];
  serial: string;
  preempted: boolean;
  /** `GCE_METADATA_HOST` of its metadata server, while it runs. */
  metadataHost: string | undefined;
}

interface MetadataItem {
  key: string;
  value: string;
}

interface Vm {
  name: string;
  zone: string;
  id: string;
  dir: string;
  disk: GuestDirs;
  body: Record<string, unknown>;
  machineType: string;
  cpus: number;
  /** The boot disk's image as `projects/P/global/images/NAME`, a family resolved to its image. */
  image: string | undefined;
  status: InstanceStatus;
  createdAt: number;
  lastStartAt?: number;
  lastStopAt?: number;
  labels: Record<string, string>;
  items: MetadataItem[];
  scheduling: Record<string, unknown>;
  preempted: boolean;
  serial: SerialPort;
  mds?: MetadataServer;
  startup?: GuestScript;
  pids: Set<number>;
  timers: Set<() => void>;
  busy?: 'deleting' | 'stopping';
  deleted: boolean;
  insertOp?: Operation;
  /** Extra guest boot time from slowBoot. */
  extraBootMs: number;
}

interface Operation {
  json: Record<string, unknown>;
  zone: string;
}

interface OpError {
  code: string;
  message: string;
  errorDetails?: unknown[];
  httpStatus: number;
  httpMessage: string;
}

interface PendingFault {
  kind: 'rateLimit' | 'unavailable';
  left: number;
}

interface QuotaFault {
  scope: string;
  metric: string;
  limit: number;
  left: number;
  inOperation: boolean;
}

const NAME_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY_RE = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE_RE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const METADATA_KEY_RE = /^[a-zA-Z0-9_-]{1,128}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Compute Engine error the handler answers with. */
class ComputeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: number,
    reason: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.extra = extra;
    this.headers = headers;
  }
}

/** A refusal built whole by the IAM model (several missing permissions in one answer). */
class ComputeRefusal extends Error {
  readonly response: GoogleErrorResponse;

  constructor(response: GoogleErrorResponse) {
    super('refused');
    this.response = response;
  }
}

/**
 * Compute Engine's REST API (`/compute/v1/projects/...`) for instances and zone operations, whose instances
 * really boot: each runs its `startup-script` as a local process group with a metadata server of its own, in a
 * bubblewrap sandbox that shows it the image and its own disk only (see `runScript`; the constructor fails when
 * no sandbox can be made), copies the script's output to serial port 1, runs its `shutdown-script` on delete, stop or preemption, and
 * honours `scheduling.maxRunDuration`. It also answers the gets a launch checks before its first insert (zones,
 * machine types, accelerator types per zone, and images of public image projects and of its own project), and
 * its inserts refuse what those gets would not find. Timings run on the bed's virtual clock. Serve `handle` with
 * `new BedServer('compute', recorder, standIn.handle)`; the REST base is `${origin}/compute/v1/`.
 */
export class ComputeStandIn {
  readonly project: string;
  readonly projectNumber: string;
  readonly zones: readonly string[];
  readonly machineTypes: Readonly<Record<string, MachineType>>;
  readonly machineTypeZones: Readonly<Record<string, readonly string[]>>;
  readonly accelerators: Readonly<Record<string, BedAccelerator>>;
  /** Boot delay (virtual ms, insert to RUNNING) of instances created from now on. */
  bootDelayMs: number;
  guestBootMs: number;
  shutdownBudgetMs: number;
  preemptionBudgetMs: number;

  private readonly clock: BedClock;
  private readonly tokens: TokenRegistry;
  private readonly opts: ComputeStandInOptions;
  private readonly recorder: Recorder;
  private readonly linkBase: string;
  private readonly vms: Vm[] = [];
  /** Images by the project that publishes them; a project absent here does not let the caller read its images. */
  private readonly images = new Map<string, BedImage[]>();
  private readonly ops = new Map<string, Operation>();
  private readonly requestIds = new Map<string, Operation>();
  private readonly opWaiters = new Map<string, Set<() => void>>();
  private readonly faults: PendingFault[] = [];
  private readonly quotaFaults: QuotaFault[] = [];
  private readonly stockouts: {
    zone: string;
    left: number;
    withDetails: boolean;
    zonesAvailable?: string[];
  }[] = [];
  private readonly slowBoots: { ms: number; left: number }[] = [];
  private readonly slowDeletes: { ms: number; left: number }[] = [];
  private readonly allPids = new Set<number>();
  private readonly background = new Set<Promise<unknown>>();
  private closed = false;
  private readonly exitHook = () => {
    for (const pid of this.allPids) killGroup(pid, 'SIGKILL');
  };

  constructor(opts: ComputeStandInOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.tokens = opts.tokens;
    this.project = opts.project ?? 'bed-project';
    this.projectNumber = opts.projectNumber ?? '123456789012';
    this.zones = opts.zones ?? DEFAULT_ZONES;
    this.machineTypes = opts.machineTypes ?? DEFAULT_MACHINE_TYPES;
    this.machineTypeZones = opts.machineTypeZones ?? DEFAULT_MACHINE_TYPE_ZONES;
    this.accelerators = opts.accelerators ?? DEFAULT_ACCELERATORS;
    for (const [imageProject, list] of Object.entries(opts.images ?? DEFAULT_IMAGES)) {
      this.images.set(imageProject, [...list]);
    }
    if (!this.images.has(this.project)) this.images.set(this.project, []);
    this.bootDelayMs = opts.bootDelayMs ?? 15_000;
    this.guestBootMs = opts.guestBootMs ?? 8_000;
    this.shutdownBudgetMs = opts.shutdownBudgetMs ?? 90_000;
    this.preemptionBudgetMs = opts.preemptionBudgetMs ?? 30_000;
    this.recorder = opts.recorder ?? new Recorder();
    this.linkBase = opts.linkBase ?? 'https://www.googleapis.com/compute/v1/';
    checkSandbox();
    mkdirSync(opts.workDir, { recursive: true });
    process.on('exit', this.exitHook);
  }

  // ---------------------------------------------------------------- catalogue

  /**
   * Publishes an image in `imageProject` (the bed's own project by default), as a test's custom image; another
   * project's images become readable by the caller, as if shared with it.
   */
  addImage(image: BedImage, imageProject: string = this.project): void {
    const list = this.images.get(imageProject) ?? [];
    list.push(image);
    this.images.set(imageProject, list);
  }

  /** Whether `zone` offers the machine type (a custom one when its series is offered there and its shape allowed). */
  offersMachineType(zone: string, type: string): boolean {
    if (this.machineTypes[type]) return this.machineTypeZones[type]?.includes(zone) ?? true;
    const custom = parseCustomMachineType(type);
    return custom !== undefined && this.offersSeries(zone, custom.series);
  }

  private offersSeries(zone: string, series: string): boolean {
    return Object.keys(this.machineTypes).some(
      (t) => t.startsWith(`${series}-`) && (this.machineTypeZones[t]?.includes(zone) ?? true),
    );
  }

  // ---------------------------------------------------------------- fault injection

  /** The next `times` inserts in `zone` fail in their operation with ZONE_RESOURCE_POOL_EXHAUSTED(_WITH_DETAILS). */
  stockout(
    zone: string,
    times = 1,
    opts: { withDetails?: boolean; zonesAvailable?: string[] } = {},
  ): () => void {
    const entry = {
      zone,
      left: times,
      withDetails: opts.withDetails ?? opts.zonesAvailable !== undefined,
      ...(opts.zonesAvailable ? { zonesAvailable: opts.zonesAvailable } : {}),
    };
    this.stockouts.push(entry);
    return () => void (entry.left = 0);
  }

  /**
   * Inserts in `scope` (a region like `us-central1`, or a zone) exceed quota `metric` (e.g. `CPUS`): answered
   * 403 quotaExceeded at once, or with `inOperation` as a QUOTA_EXCEEDED error of the insert operation.
   * Lasts until withdrawn unless `times` is given.
   */
  quota(
    scope: string,
    metric = 'CPUS',
    opts: { limit?: number; times?: number; inOperation?: boolean } = {},
  ): () => void {
    const entry: QuotaFault = {
      scope,
      metric,
      limit: opts.limit ?? 24,
      left: opts.times ?? Infinity,
      inOperation: opts.inOperation ?? false,
    };
    this.quotaFaults.push(entry);
    return () => void (entry.left = 0);
  }

  /** The next `times` Compute Engine requests (any method) are answered 429 rateLimitExceeded. */
  rateLimit(times = 1): void {
    this.faults.push({ kind: 'rateLimit', left: times });
  }

  /** The next `times` Compute Engine requests are answered 503 backendError. */
  unavailable(times = 1): void {
    this.faults.push({ kind: 'unavailable', left: times });
  }

  /** The next `times` instances created take `virtualMs` longer for their guest to boot (startup script later). */
  slowBoot(virtualMs: number, times = 1): () => void {
    const entry = { ms: virtualMs, left: times };
    this.slowBoots.push(entry);
    return () => void (entry.left = 0);
  }

  /** The next `times` deletes take `virtualMs` longer before their operation is DONE. */
  slowDelete(virtualMs: number, times = 1): () => void {
    const entry = { ms: virtualMs, left: times };
    this.slowDeletes.push(entry);
    return () => void (entry.left = 0);
  }

  /**
   * Spot preemption: `instance/preempted` turns TRUE, the shutdown script runs with the preemption budget, the
   * processes are killed and the instance ends TERMINATED (deleted when its termination action is DELETE).
   * Resolves when that is over.
   */
  async preempt(name: string, zone?: string): Promise<void> {
    const vm = this.requireLive(name, zone);
    vm.preempted = true;
    vm.mds?.changed();
    const op = this.newOperation(vm.zone, 'compute.instances.preempted', vm, { email: 'system' });
    this.setOp(op, { status: 'RUNNING', startTime: this.clock.iso() });
    vm.serial.write(syslogLine(this.clock.now(), vm.name, 'google_guest_agent', 1, 'Instance preempted.'));
    await this.halt(vm, this.preemptionBudgetMs, 'stopping');
    if (vm.scheduling.instanceTerminationAction === 'DELETE') this.forget(vm);
    else this.terminated(vm);
    this.finishOp(op);
  }

  /** The VM dies without warning: SIGKILL, no shutdown script. It ends TERMINATED, or vanishes with `disappear`. */
  async killSilently(name: string, opts: { zone?: string; disappear?: boolean } = {}): Promise<void> {
    const vm = this.requireLive(name, opts.zone);
    this.cancelTimers(vm);
    for (const pid of vm.pids) killGroup(pid, 'SIGKILL');
    await this.stopMetadata(vm);
    if (opts.disappear) this.forget(vm);
    else this.terminated(vm);
  }

  // ---------------------------------------------------------------- inspection

  /** The newest instance of that name (deleted ones included), or undefined. */
  inspect(name: string, zone?: string): InstanceInspection | undefined {
    const vm = [...this.vms]
      .reverse()
      .find((v) => v.name === name && (zone === undefined || v.zone === zone));
    return vm ? this.describe(vm) : undefined;
  }

  private describe(vm: Vm): InstanceInspection {
    return {
      name: vm.name,
      zone: vm.zone,
      id: vm.id,
      status: vm.deleted ? 'DELETED' : vm.status,
      dir: vm.dir,
      varTmp: vm.disk.varTmp,
      home: vm.disk.home,
      pids: [...vm.pids],
      serial: vm.serial.text(),
      preempted: vm.preempted,
      metadataHost: vm.mds?.host,
    };
  }

  /** Every instance ever created, newest last (deleted ones with status DELETED). */
  listAll(): InstanceInspection[] {
    return this.vms.map((vm) => this.describe(vm));
  }

  /** Every pid ever spawned for any instance. */
  get pids(): number[] {
    return [...this.allPids];
  }

  /** Pids spawned by the stand-in that are still alive. */
  livePids(): number[] {
    return this.pids.filter(isAlive);
  }

  /** Kills every VM process group and metadata server; pending operation waits return. */
  async close(): Promise<void> {
    this.closed = true;
    for (const vm of this.vms) {
      this.cancelTimers(vm);
      for (const pid of vm.pids) killGroup(pid, 'SIGKILL');
    }
    for (const waiters of this.opWaiters.values()) for (const wake of waiters) wake();
    await Promise.all(this.vms.map((vm) => this.stopMetadata(vm)));
    await Promise.allSettled([...this.background]);
    const deadline = Date.now() + 3000;
    while (this.livePids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.off('exit', this.exitHook);
  }

  // ---------------------------------------------------------------- HTTP

  /** The request handler, to be served by a BedServer. */
  readonly handle: Handler = async (req, res) => {
    try {
      await this.route(req, res);
    } catch (err) {
      if (err instanceof ComputeRefusal) {
        sendGoogleResponse(res, err.response);
        return;
      }
      if (!(err instanceof ComputeError)) throw err;
      sendComputeError(res, err);
    }
  };

  private async route(req: BedRequest, res: http.ServerResponse): Promise<void> {
    const principal = this.tokens.check(req.headers.authorization);
    if (!principal) {
      throw new ComputeError(
        401,
        'authError',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        { status: 'UNAUTHENTICATED' },
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
    }
    // Credential access boundaries are Cloud Storage's alone: every other API refuses a downscoped token.
    if (isStorageOnly(principal)) {
      throw new ComputeRefusal(downscopedTokenRefusal('compute.googleapis.com', computeMethod(req)));
    }
    this.takeRequestFault();
    const m = /^\/compute\/v1\/projects\/([^/]+)\/(.*)$/.exec(req.url.pathname);
    if (!m) throw new ComputeError(404, 'notFound', `The requested URL ${req.url.pathname} was not found.`);
    const [, project, rest] = m as unknown as [string, string, string];
    const parts = rest.split('/').map(decodeURIComponent);
    const q = req.url.searchParams;
    const method = req.method;
    // Images live in their publisher's project (debian-cloud, ...), which any caller may read from.
    if (parts[0] === 'global' && parts[1] === 'images') {
      return this.routeImages(decodeURIComponent(project), parts.slice(2), req, res, principal);
    }
    if (project !== this.project && project !== this.projectNumber) {
      throw new ComputeError(404, 'notFound', `The resource 'projects/${project}' was not found`);
    }

    const can = (permission: string, resource: IamResource): void =>
      this.authorize(principal, [{ permission, resource }]);
    const onProject = projectResource(this.project);
    if (parts[0] === 'aggregated' && parts[1] === 'instances' && parts.length === 2 && method === 'GET') {
      can('compute.instances.list', onProject);
      return sendJson(res, 200, this.aggregatedList(q));
    }
    if (parts[0] !== 'zones') throw this.urlNotFound(req);
    if (parts.length === 1 && method === 'GET') {
      can('compute.zones.list', onProject);
      return sendJson(res, 200, this.listZones());
    }
    const zone = parts[1] ?? '';
    const under = (rel: string): IamResource => computeResource(this.project, `zones/${zone}${rel}`);
    if (parts.length === 2 && method === 'GET') can('compute.zones.get', under(''));
    if (!this.zones.includes(zone)) {
      throw new ComputeError(
        404,
        'notFound',
        `The resource 'projects/${this.project}/zones/${zone}' was not found`,
      );
    }
    if (parts.length === 2 && method === 'GET') return sendJson(res, 200, this.zoneJson(zone));
    const kind = parts[2];
    const name = parts[3];
    const sub = parts[4];
    if (kind === 'machineTypes' && method === 'GET') {
      if (name === undefined) can('compute.machineTypes.list', onProject);
      else can('compute.machineTypes.get', under(`/machineTypes/${name}`));
      if (name === undefined) {
        return sendJson(res, 200, {
          kind: 'compute#machineTypeList',
          id: `projects/${this.project}/zones/${zone}/machineTypes`,
          items: Object.keys(this.machineTypes)
            .filter((t) => this.offersMachineType(zone, t))
            .map((t) => this.machineTypeJson(zone, t)),
          selfLink: this.link(`zones/${zone}/machineTypes`),
        });
      }
      if (!this.offersMachineType(zone, name)) {
        throw new ComputeError(
          404,
          'notFound',
          `The resource 'projects/${this.project}/zones/${zone}/machineTypes/${name}' was not found`,
        );
      }
      const why = customShapeProblem(name);
      if (why) throw invalid('machineType', name, why);
      return sendJson(res, 200, this.machineTypeJson(zone, name));
    }
    if (kind === 'acceleratorTypes' && method === 'GET') {
      if (name === undefined) can('compute.acceleratorTypes.list', onProject);
      else can('compute.acceleratorTypes.get', under(`/acceleratorTypes/${name}`));
      if (name === undefined) {
        return sendJson(res, 200, {
          kind: 'compute#acceleratorTypeList',
          id: `projects/${this.project}/zones/${zone}/acceleratorTypes`,
          items: Object.keys(this.accelerators)
            .filter((t) => this.accelerators[t]?.zones.includes(zone))
            .map((t) => this.acceleratorTypeJson(zone, t)),
          selfLink: this.link(`zones/${zone}/acceleratorTypes`),
        });
      }
      if (!this.accelerators[name]?.zones.includes(zone)) throw this.acceleratorNotFound(zone, name);
      return sendJson(res, 200, this.acceleratorTypeJson(zone, name));
    }
    if (kind === 'operations') {
      if (name === undefined) can('compute.zoneOperations.list', onProject);
      else can('compute.zoneOperations.get', under(`/operations/${name}`));
      if (name === undefined && method === 'GET') return sendJson(res, 200, this.listOperations(zone, q));
      const op = name === undefined ? undefined : this.ops.get(name);
      if (!op || op.zone !== zone) {
        throw new ComputeError(
          404,
          'notFound',
          `The resource 'projects/${this.project}/zones/${zone}/operations/${name}' was not found`,
        );
      }
      if (sub === undefined && method === 'GET') return sendJson(res, 200, op.json);
      if (sub === 'wait' && method === 'POST') {
        await this.waitOp(op);
        return sendJson(res, 200, op.json);
      }
      throw this.urlNotFound(req);
    }
    if (kind !== 'instances') throw this.urlNotFound(req);
    if (name === undefined) {
      if (method === 'GET') {
        can('compute.instances.list', onProject);
        return sendJson(res, 200, this.listInstances(zone, q));
      }
      if (method === 'POST') return sendJson(res, 200, this.insert(zone, jsonBody(req), q, principal).json);
      throw this.urlNotFound(req);
    }
    const self = instanceResource(this.project, zone, name);
    if (sub === undefined && method === 'GET') {
      can('compute.instances.get', self);
      return sendJson(res, 200, this.render(this.requireVm(zone, name)));
    }
    if (sub === undefined && method === 'DELETE') {
      can('compute.instances.delete', self);
      return sendJson(res, 200, this.delete(zone, name, q.get('requestId'), principal).json);
    }
    if (sub === 'serialPort' && method === 'GET') {
      can('compute.instances.getSerialPortOutput', self);
      return sendJson(res, 200, this.serialPort(zone, name, q));
    }
    if (sub === 'getIamPolicy' && method === 'GET') {
      can('compute.instances.getIamPolicy', self);
      this.requireVm(zone, name);
      return sendJson(res, 200, this.instancePolicy(self.name));
    }
    if (sub === 'setIamPolicy' && method === 'POST') {
      can('compute.instances.setIamPolicy', self);
      this.requireVm(zone, name);
      return sendJson(res, 200, this.setInstancePolicy(self.name, jsonBody(req)));
    }
    throw this.urlNotFound(req);
  }

  /** `images.get` and `images.getFromFamily`: `global/images/NAME` and `global/images/family/FAMILY`. */
  private routeImages(
    imageProject: string,
    rest: string[],
    req: BedRequest,
    res: http.ServerResponse,
    principal: Principal,
  ): void {
    const [first, second] = rest;
    if (req.method !== 'GET' || first === undefined || rest.length > 2) throw this.urlNotFound(req);
    if (rest.length === 2 && first !== 'family') throw this.urlNotFound(req);
    this.authorize(principal, [
      second !== undefined
        ? {
            permission: 'compute.images.getFromFamily',
            resource: imageResource(imageProject, `family/${second}`),
          }
        : { permission: 'compute.images.get', resource: imageResource(imageProject, first) },
    ]);
    const image =
      second !== undefined
        ? this.lookUpImage(imageProject, 'family', second, 'compute.images.getFromFamily')
        : this.lookUpImage(imageProject, 'image', first, 'compute.images.get');
    sendJson(res, 200, this.imageJson(this.imageOwner(imageProject), image));
  }

  /** The project whose catalogue holds `imageProject`'s images (the bed's own project also by its number). */
  private imageOwner(imageProject: string): string {
    return imageProject === this.projectNumber ? this.project : imageProject;
  }

  /**
   * An image by name (or numeric id), or a family's newest image that is not deprecated; what Compute Engine
   * answers otherwise: 403 naming `permission` for a project whose images the caller may not read, 404 for none.
   */
  private lookUpImage(
    imageProject: string,
    kind: 'image' | 'family',
    name: string,
    permission: string,
  ): BedImage {
    const owner = this.imageOwner(imageProject);
    const resource = `projects/${imageProject}/global/images/${kind === 'family' ? 'family/' : ''}${name}`;
    const list = this.images.get(owner);
    if (!list) {
      throw new ComputeError(403, 'forbidden', `Required '${permission}' permission for '${resource}'`);
    }
    const image =
      kind === 'family'
        ? list
            .filter((i) => i.family === name && !i.deprecated)
            .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0]
        : list.find((i) => i.name === name || imageId(owner, i) === name);
    if (!image) throw new ComputeError(404, 'notFound', `The resource '${resource}' was not found`);
    return image;
  }

  /** Throws Compute Engine's 403 naming every permission of `needs` the caller lacks (nothing without IAM). */
  private authorize(
    principal: Principal,
    needs: readonly { permission: string; resource: IamResource }[],
  ): void {
    const iam = this.opts.iam;
    if (!iam) return;
    const missing = needs
      .filter((n) => !iam.check(principal, n.permission, n.resource).allowed)
      .map((n) => ({ permission: n.permission, resourceName: n.resource.name }));
    if (missing.length > 0) throw new ComputeRefusal(computeDenied(missing));
  }

  /** An instance's own allow policy as `getIamPolicy` answers it. */
  private instancePolicy(resourceName: string): Record<string, unknown> {
    const grants = this.opts.iam?.grantsOn(resourceName) ?? [];
    const byRole = new Map<string, { role: string; members: string[]; condition?: unknown }>();
    for (const g of grants) {
      const key = `${g.role} ${JSON.stringify(g.condition ?? null)}`;
      const binding = byRole.get(key) ?? {
        role: g.role,
        members: [],
        ...(g.condition ? { condition: { ...g.condition } } : {}),
      };
      binding.members.push(g.member);
      byRole.set(key, binding);
    }
    const bindings = [...byRole.values()];
    const etag = createHash('sha256').update(JSON.stringify(bindings)).digest('base64').slice(0, 12);
    return { version: 1, etag, ...(bindings.length > 0 ? { bindings } : {}) };
  }

  /** `setIamPolicy`: replaces the instance's policy, refusing a stale etag as Compute Engine does (409). */
  private setInstancePolicy(resourceName: string, body: Record<string, unknown>): Record<string, unknown> {
    const policy = (body.policy ?? {}) as {
      etag?: string;
      bindings?: { role?: string; members?: string[]; condition?: { expression?: string; title?: string } }[];
    };
    const current = this.instancePolicy(resourceName);
    if (policy.etag !== undefined && policy.etag !== current.etag) {
      throw new ComputeError(
        409,
        'conflict',
        'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
      );
    }
    const bindings = (policy.bindings ?? []).flatMap((b) =>
      (b.members ?? []).map((member) => ({
        role: str(b.role),
        member,
        ...(b.condition?.expression
          ? { condition: { expression: b.condition.expression, title: str(b.condition.title) } }
          : {}),
      })),
    );
    try {
      this.opts.iam?.setPolicy(resourceName, bindings);
    } catch (err) {
      throw new ComputeError(400, 'badRequest', `Invalid policy: ${(err as Error).message}`);
    }
    return this.instancePolicy(resourceName);
  }

  private acceleratorNotFound(zone: string, type: string): ComputeError {
    return new ComputeError(
      404,
      'notFound',
      `The resource 'projects/${this.project}/zones/${zone}/acceleratorTypes/${type}' was not found`,
    );
  }

  private urlNotFound(req: BedRequest): ComputeError {
    return new ComputeError(
      404,
      'notFound',
      `The requested URL ${req.method} ${req.url.pathname} was not found.`,
    );
  }

  private takeRequestFault(): void {
    const fault = this.faults.find((f) => f.left > 0);
    if (!fault) return;
    fault.left -= 1;
    if (fault.kind === 'rateLimit') {
      const msg =
        `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service ` +
        `'compute.googleapis.com' for consumer 'project_number:${this.projectNumber}'.`;
      throw new ComputeError(429, 'rateLimitExceeded', msg, {
        domain: 'usageLimits',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'RATE_LIMIT_EXCEEDED',
            domain: 'googleapis.com',
            metadata: {
              service: 'compute.googleapis.com',
              consumer: `projects/${this.projectNumber}`,
              quota_metric: 'compute.googleapis.com/default',
              quota_limit: 'defaultPerMinutePerProject',
            },
          },
        ],
      });
    }
    throw new ComputeError(
      503,
      'backendError',
      `Internal error. Please try again or contact Google Support. (Code: '${randomBytes(8).toString('hex')}')`,
    );
  }

  // ---------------------------------------------------------------- instances

  private requireVm(zone: string, name: string): Vm {
    const vm = this.findVm(zone, name);
    if (!vm) {
      throw new ComputeError(
        404,
        'notFound',
        `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`,
      );
    }
    return vm;
  }

  private findVm(zone: string, name: string): Vm | undefined {
    return this.vms.find((v) => !v.deleted && v.zone === zone && v.name === name);
  }

  private requireLive(name: string, zone?: string): Vm {
    const vm = this.vms.find((v) => !v.deleted && v.name === name && (zone === undefined || v.zone === zone));
    if (!vm) throw new Error(`compute stand-in: no instance ${name}`);
    return vm;
  }

  private insert(
    zone: string,
    body: Record<string, unknown>,
    q: URLSearchParams,
    principal: Principal,
  ): Operation {
    const requestId = q.get('requestId');
    if (requestId !== null) {
      if (!UUID_RE.test(requestId) || /^[0-]+$/.test(requestId)) {
        throw invalid(
          'requestId',
          requestId,
          'The request ID must be a valid UUID, and cannot be the zero UUID.',
        );
      }
      const seen = this.requestIds.get(requestId);
      if (seen) return seen;
    }
    const name = str(body.name);
    if (!NAME_RE.test(name)) {
      throw invalid(
        'resource.name',
        name,
        "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
      );
    }
    const machineType = this.parseMachineType(zone, body.machineType);
    const cpus = this.machineTypeSize(machineType).guestCpus;
    const labels = validateLabels(body.labels);
    const items = validateMetadata(body.metadata);
    const scheduling = this.normaliseScheduling(body.scheduling);
    const disks = Array.isArray(body.disks) ? (body.disks as Record<string, unknown>[]) : [];
    if (!disks.some((d) => d.boot === true)) {
      throw invalid('resource.disks', '', 'Boot disk must be specified.');
    }
    const needs = instanceInsertPermissions(this.project, zone, body);
    this.authorize(
      principal,
      needs.filter((n) => n.failsIn === 'request'),
    );
    const unusable = needs.find(
      (n) => n.failsIn === 'operation' && !this.opts.iam?.check(principal, n.permission, n.resource).allowed,
    );
    const bootDisk = this.bootImage(disks);
    const image = bootDisk?.ref;
    this.checkAccelerators(zone, body.guestAccelerators, scheduling);
    if (this.findVm(zone, name)) {
      throw new ComputeError(
        409,
        'alreadyExists',
        `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' already exists`,
      );
    }
    const region = zone.replace(/-[a-z]$/, '');
    const quota = this.quotaFaults.find((f) => f.left > 0 && (f.scope === zone || f.scope === region));
    if (quota) quota.left -= 1;
    if (quota && !quota.inOperation) throw this.quotaError(quota.metric, quota.limit, region);
    const limit = this.opts.cpuQuota?.[region];
    if (limit !== undefined) {
      const used = this.vms
        .filter((v) => !v.deleted && v.status !== 'TERMINATED' && v.zone.startsWith(`${region}-`))
        .reduce((n, v) => n + v.cpus, 0);
      if (used + cpus > limit) throw this.quotaError('CPUS', limit, region);
    }

    const id = BigInt.asUintN(62, BigInt(`0x${randomBytes(8).toString('hex')}`)).toString();
    const dir = path.join(this.opts.workDir, `${name}-${id.slice(-6)}`);
    const shape = this.machineTypeSize(machineType);
    const disk = guestDirs(dir, {
      containerEngine: bootDisk?.image.containerEngine === true,
      vcpus: shape.guestCpus,
      memoryMb: shape.memoryMb,
    });
    const slow = this.slowBoots.find((s) => s.left > 0);
    if (slow) slow.left -= 1;
    const vm: Vm = {
      name,
      zone,
      id,
      dir,
      disk,
      body,
      machineType,
      cpus,
      image,
      status: 'PROVISIONING',
      createdAt: this.clock.now(),
      labels,
      items,
      scheduling,
      preempted: false,
      serial: new SerialPort(),
      pids: new Set(),
      timers: new Set(),
      deleted: false,
      extraBootMs: slow?.ms ?? 0,
    };
    this.vms.push(vm);
    const op = this.newOperation(zone, 'insert', vm, principal);
    vm.insertOp = op;
    if (requestId !== null) this.requestIds.set(requestId, op);

    const stock = this.stockouts.find((s) => s.left > 0 && s.zone === zone);
    if (stock) stock.left -= 1;
    const boot = this.bootDelayMs;
    this.later(vm, Math.min(500, boot / 4), () =>
      this.setOp(op, { status: 'RUNNING', startTime: this.clock.iso() }),
    );
    if (stock || quota || (unusable && this.opts.iam)) {
      const error = stock
        ? this.stockoutError(zone, machineType, stock.withDetails, stock.zonesAvailable)
        : quota
          ? this.quotaOpError(quota.metric, quota.limit, region)
          : computeServiceAccountAccessDenied(
              unusable!.resource.name.replace(/^.*\/serviceAccounts\//, ''),
              principal,
            );
      this.later(vm, Math.min(3000, boot / 2), () => {
        this.forget(vm);
        this.finishOp(op, error);
      });
      return op;
    }
    this.later(vm, boot / 2, () => (vm.status = 'STAGING'));
    this.later(vm, boot, () => this.track(this.boot(vm)));
    return op;
  }

  private parseMachineType(zone: string, raw: unknown): string {
    const value = typeof raw === 'string' ? raw : '';
    const m = /(?:^|\/)zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(value);
    if (!m) {
      throw invalid(
        'resource.machineType',
        value,
        'Must be a URL to a valid Compute resource of the correct type.',
      );
    }
    const [, mtZone, type] = m as unknown as [string, string, string];
    if (mtZone !== zone) {
      throw invalid('resource.machineType', value, `Machine type must be in zone '${zone}'.`);
    }
    if (!this.offersMachineType(zone, type)) {
      throw invalid(
        'resource.machineType',
        value,
        `Machine type with name '${type}' does not exist in zone '${zone}'.`,
      );
    }
    const why = customShapeProblem(type);
    if (why) throw invalid('resource.machineType', value, why);
    return type;
  }

  /** Guest CPUs and memory of a predefined or custom machine type. */
  private machineTypeSize(type: string): MachineType {
    const custom = parseCustomMachineType(type);
    return this.machineTypes[type] ?? { guestCpus: custom?.cpus ?? 1, memoryMb: custom?.memoryMb ?? 1024 };
  }

  /**
   * The boot disk's image as `projects/P/global/images/NAME`, resolved as Compute Engine resolves
   * `initializeParams.sourceImage` (a URL, `projects/P/global/images/...`, or `global/images/...` of this
   * project; a family becomes its newest image); undefined for a boot disk made from an existing disk.
   */
  private bootImage(disks: Record<string, unknown>[]): { ref: string; image: BedImage } | undefined {
    const index = disks.findIndex((d) => d.boot === true);
    const boot = disks[index] ?? {};
    if (typeof boot.source === 'string' && boot.source !== '') return undefined;
    const raw = str((boot.initializeParams as Record<string, unknown> | undefined)?.sourceImage);
    if (raw === '') throw invalid(`resource.disks[${index}]`, '', 'Boot disk must have a source specified.');
    const field = `resource.disks[${index}].initializeParams.sourceImage`;
    const relative = raw.replace(/^https?:\/\/[^/]+\/compute\/v1\//, '');
    const full = relative.startsWith('global/') ? `projects/${this.project}/${relative}` : relative;
    const m = /^projects\/([^/]+)\/global\/images\/(?:(family)\/)?([^/]+)$/.exec(full);
    if (!m) throw invalid(field, raw, 'The URL is malformed.');
    const [, imageProject, family, name] = m as unknown as [string, string, string | undefined, string];
    const image = this.lookUpImage(
      imageProject,
      family ? 'family' : 'image',
      name,
      'compute.images.useReadOnly',
    );
    const state = image.deprecated?.state;
    if (state === 'OBSOLETE' || state === 'DELETED') {
      throw invalid(
        field,
        raw,
        `The image '${image.name}' is ${state.toLowerCase()} and can no longer be used.`,
      );
    }
    return { ref: `projects/${this.imageOwner(imageProject)}/global/images/${image.name}`, image };
  }

  /** Refuses accelerators the zone does not offer, too many cards, and GPUs with live migration. */
  private checkAccelerators(zone: string, raw: unknown, scheduling: Record<string, unknown>): void {
    const list = Array.isArray(raw) ? (raw as Record<string, unknown>[]) : [];
    for (const [i, g] of list.entries()) {
      const value = str(g.acceleratorType);
      const m = /(?:^|\/)zones\/([^/]+)\/acceleratorTypes\/([^/]+)$/.exec(value);
      if (!m) {
        throw invalid(
          `resource.guestAccelerators[${i}].acceleratorType`,
          value,
          'Must be a URL to a valid Compute resource of the correct type.',
        );
      }
      const [, accZone, type] = m as unknown as [string, string, string];
      if (accZone !== zone) {
        throw invalid(
          `resource.guestAccelerators[${i}].acceleratorType`,
          value,
          `Accelerator type must be in zone '${zone}'.`,
        );
      }
      const accelerator = this.accelerators[type];
      if (!accelerator?.zones.includes(zone)) throw this.acceleratorNotFound(zone, type);
      const count = Number(g.acceleratorCount ?? 1);
      if (!Number.isInteger(count) || count < 1 || count > accelerator.maximumCardsPerInstance) {
        throw invalid(
          `resource.guestAccelerators[${i}].acceleratorCount`,
          str(g.acceleratorCount),
          `Must be between 1 and ${accelerator.maximumCardsPerInstance} for accelerator type '${type}'.`,
        );
      }
    }
    if (list.length > 0 && scheduling.onHostMaintenance === 'MIGRATE') {
      throw new ComputeError(
        400,
        'badRequest',
        'Instances with guest accelerators do not support live migration.',
      );
    }
  }

  private normaliseScheduling(raw: unknown): Record<string, unknown> {
    const given = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const spot = given.provisioningModel === 'SPOT';
    const preemptible = given.preemptible === true || spot;
    if (preemptible && given.automaticRestart === true) {
      throw invalid(
        'resource.scheduling.automaticRestart',
        'true',
        'Preemptible instances cannot be automatically restarted.',
      );
    }
    if (preemptible && given.onHostMaintenance === 'MIGRATE') {
      throw invalid(
        'resource.scheduling.onHostMaintenance',
        'MIGRATE',
        'Preemptible instances cannot be migrated.',
      );
    }
    const out: Record<string, unknown> = {
      onHostMaintenance: given.onHostMaintenance ?? (preemptible ? 'TERMINATE' : 'MIGRATE'),
      automaticRestart: given.automaticRestart ?? !preemptible,
      preemptible,
      provisioningModel: given.provisioningModel ?? 'STANDARD',
    };
    const action = given.instanceTerminationAction ?? (spot ? 'STOP' : undefined);
    const duration = given.maxRunDuration as { seconds?: string | number; nanos?: number } | undefined;
    if ((duration !== undefined || given.terminationTime !== undefined) && action === undefined) {
      throw invalid(
        'resource.scheduling.instanceTerminationAction',
        '',
        'Instance termination action must be specified when maxRunDuration or terminationTime is set.',
      );
    }
    if (action !== undefined) {
      if (action !== 'STOP' && action !== 'DELETE') {
        throw invalid(
          'resource.scheduling.instanceTerminationAction',
          str(action),
          'Must be STOP or DELETE.',
        );
      }
      out.instanceTerminationAction = action;
    }
    if (duration !== undefined) {
      const seconds = Number(duration.seconds ?? 0);
      if (!(seconds >= 30 && seconds <= 120 * 24 * 3600)) {
        throw invalid(
          'resource.scheduling.maxRunDuration.seconds',
          String(duration.seconds ?? 0),
          'Must be between 30 seconds and 120 days.',
        );
      }
      out.maxRunDuration = { seconds: String(seconds), ...(duration.nanos ? { nanos: duration.nanos } : {}) };
    }
    if (typeof given.terminationTime === 'string') out.terminationTime = given.terminationTime;
    return out;
  }

  private quotaError(metric: string, limit: number, region: string): ComputeError {
    return new ComputeError(
      403,
      'quotaExceeded',
      `Quota '${metric}' exceeded.  Limit: ${limit.toFixed(1)} in region ${region}.`,
      {
        domain: 'usageLimits',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'QUOTA_EXCEEDED',
            domain: 'compute.googleapis.com',
            metadata: {
              quota_metric: `compute.googleapis.com/${metric.toLowerCase()}`,
              quota_limit: `${metric}-per-project-region`,
              quota_limit_value: String(limit),
              region,
            },
          },
        ],
      },
    );
  }

  private quotaOpError(metric: string, limit: number, region: string): OpError {
    return {
      code: 'QUOTA_EXCEEDED',
      message: `Quota '${metric}' exceeded.  Limit: ${limit.toFixed(1)} in region ${region}.`,
      errorDetails: [
        {
          quotaInfo: {
            metricName: `compute.googleapis.com/${metric.toLowerCase()}`,
            limitName: `${metric}-per-project-region`,
            dimensions: { region },
            limit,
          },
        },
      ],
      httpStatus: 403,
      httpMessage: 'FORBIDDEN',
    };
  }

  private stockoutError(
    zone: string,
    machineType: string,
    withDetails: boolean,
    zonesAvailable?: string[],
  ): OpError {
    const base = `The zone 'projects/${this.project}/zones/${zone}' does not have enough resources available to fulfill the request.`;
    if (!withDetails) {
      return {
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        message: `${base}  Try a different zone, or try again later.`,
        httpStatus: 503,
        httpMessage: 'SERVICE UNAVAILABLE',
      };
    }
    return {
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      message: `${base}  '(resource type:compute)'.`,
      errorDetails: [
        {
          errorInfo: {
            reason: 'resource_availability',
            domain: 'compute.googleapis.com',
            // Compute Engine names zones with capacity, when it knows some, as one comma-separated value.
            metadatas: {
              zone,
              vmType: machineType,
              ...(zonesAvailable ? { zonesAvailable: zonesAvailable.join(',') } : {}),
            },
          },
        },
        {
          help: {
            links: [
              {
                description: 'Troubleshooting documentation',
                url: 'https://cloud.google.com/compute/docs/resource-error',
              },
            ],
          },
        },
        {
          localizedMessage: {
            locale: 'en-US',
            message: `A ${machineType} VM instance is currently unavailable in the ${zone} zone. Capacity changes frequently, so try your request in a different zone, with a different VM hardware configuration, or at a later time. For more options, see troubleshooting documentation.`,
          },
        },
      ],
      httpStatus: 503,
      httpMessage: 'SERVICE UNAVAILABLE',
    };
  }

  /** Instance RUNNING: the insert is DONE, the metadata server starts, the guest boots and runs its startup script. */
  private async boot(vm: Vm): Promise<void> {
    if (this.closed || vm.deleted) return;
    const mds = new MetadataServer({
      clock: this.clock,
      tokens: this.tokens,
      snapshot: () => this.snapshot(vm),
      recorder: this.recorder,
      service: `metadata:${vm.name}`,
    });
    // The guest reaches its metadata server through its own firewall: what its root installed applies.
    filterConnections(mds.server, guestFirewall(vm.disk.kernel));
    await mds.listen();
    // A delete (or close) may have come in while the metadata server was starting.
    if (this.closed || vm.deleted || vm.busy) {
      await mds.close();
      return;
    }
    vm.mds = mds;
    vm.status = 'RUNNING';
    vm.lastStartAt = this.clock.now();
    if (vm.insertOp) this.finishOp(vm.insertOp);
    this.writeBootLog(vm);
    this.armTermination(vm);
    this.later(vm, this.guestBootMs + vm.extraBootMs, () => this.startGuest(vm));
  }

  private writeBootLog(vm: Vm): void {
    const mt = this.machineTypeSize(vm.machineType);
    const lines = [
      'SeaBIOS (version 1.8.2-google)',
      `Total RAM Size = 0x${(mt.memoryMb * 1024 * 1024).toString(16).padStart(16, '0')} = ${mt.memoryMb} MiB`,
      'Booting from Hard Disk 0...',
      '[    0.000000] Linux version 6.1.0-31-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.128-1 (2025-02-07)',
      '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-31-cloud-amd64 root=PARTUUID=7c1a5e3b-01 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200',
      `[    0.000000] DMI: Google Google Compute Engine/Google Compute Engine, BIOS Google ${new Date(vm.createdAt).toISOString().slice(0, 10)}`,
    ];
    vm.serial.write(lines.map((l) => `${l}\n`).join(''));
  }

  private startGuest(vm: Vm): void {
    if (this.closed || vm.deleted || vm.status !== 'RUNNING') return;
    const now = this.clock.now();
    vm.serial.write(
      syslogLine(
        now,
        vm.name,
        'systemd',
        1,
        'Started google-guest-agent.service - Google Compute Engine Guest Agent.',
      ) +
        syslogLine(
          now,
          vm.name,
          'google_guest_agent',
          600 + randomInt(300),
          `GCE Agent Started (version ${GUEST_AGENT_VERSION}).`,
        ),
    );
    const script = vm.items.find((i) => i.key === 'startup-script')?.value;
    if (script === undefined) {
      vm.serial.write(
        syslogLine(
          now,
          vm.name,
          'google_metadata_script_runner',
          700 + randomInt(300),
          'No startup scripts to run.',
        ),
      );
      return;
    }
    vm.startup = this.run(vm, 'startup-script', 'startup', script);
  }

  private run(vm: Vm, key: string, phase: string, content: string): GuestScript {
    return runScript({
      key,
      phase,
      content,
      dirs: vm.disk,
      env: this.guestEnv(vm),
      host: vm.name,
      serial: vm.serial,
      clock: this.clock,
      onSpawn: (pid) => {
        vm.pids.add(pid);
        this.allPids.add(pid);
      },
    });
  }

  private guestEnv(vm: Vm): Record<string, string> {
    // A Debian VM's root environment: no TMPDIR (the agent keeps its state in /var/tmp, the instance's disk)
    // and none of the host's PATH, which leads into the checkout's node_modules. The metadata server's address
    // is in the environment because it cannot be the fixed one a VM has (169.254.169.254:80): GCE_METADATA_IP
    // plays that part for every process of the guest, the way any process on a VM knows that address.
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: GUEST_HOME,
      LANG: 'C.UTF-8',
      USER: 'root',
      GCE_METADATA_HOST: vm.mds?.host ?? '',
      GCE_METADATA_IP: vm.mds?.host ?? '',
      ...this.opts.vmEnv?.(),
    };
  }

  private armTermination(vm: Vm): void {
    const seconds = Number(
      (vm.scheduling.maxRunDuration as { seconds?: string } | undefined)?.seconds ?? NaN,
    );
    let at: number | undefined;
    if (Number.isFinite(seconds)) at = (vm.lastStartAt ?? this.clock.now()) + seconds * 1000;
    if (typeof vm.scheduling.terminationTime === 'string') {
      const t = Date.parse(vm.scheduling.terminationTime);
      at = at === undefined ? t : Math.min(at, t);
    }
    if (at === undefined) return;
    this.later(vm, Math.max(0, at - this.clock.now()), () => {
      if (vm.deleted || vm.busy || vm.status !== 'RUNNING') return;
      this.track(
        (async () => {
          await this.halt(vm, this.shutdownBudgetMs, 'stopping');
          if (vm.scheduling.instanceTerminationAction === 'DELETE') this.forget(vm);
          else this.terminated(vm);
        })(),
      );
    });
  }

  /**
   * Guest shutdown: STOPPING, the shutdown script with `budgetMs` of virtual time, then every process of the
   * instance killed and its metadata server stopped.
   */
  private async halt(vm: Vm, budgetMs: number, busy: 'deleting' | 'stopping'): Promise<void> {
    vm.busy = busy;
    this.cancelTimers(vm);
    const guestUp = vm.status === 'RUNNING' && vm.mds !== undefined;
    vm.status = 'STOPPING';
    if (guestUp && !this.closed) {
      const script = vm.items.find((i) => i.key === 'shutdown-script')?.value;
      if (script !== undefined) {
        const shutdown = this.run(vm, 'shutdown-script', 'shutdown', script);
        let cancel = () => {};
        const outOfTime = new Promise<'timeout'>((resolve) => {
          cancel = this.clock.after(budgetMs, () => resolve('timeout'));
        });
        const result = await Promise.race([shutdown.exited, outOfTime]);
        cancel();
        if (result === 'timeout') {
          vm.serial.write(
            syslogLine(
              this.clock.now(),
              vm.name,
              'systemd',
              1,
              'google-shutdown-scripts.service: Stopping timed out. Killing.',
            ),
          );
          shutdown.signal('SIGKILL');
        }
      }
    }
    // What is left of the guest gets SIGTERM, a moment, then SIGKILL, as at power-off.
    for (const pid of vm.pids) killGroup(pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    for (const pid of vm.pids) killGroup(pid, 'SIGKILL');
    vm.serial.write(
      '[  OK  ] Reached target poweroff.target - System Power Off.\n[   42.000000] reboot: Power down\n',
    );
    await this.stopMetadata(vm);
  }

  private terminated(vm: Vm): void {
    vm.status = 'TERMINATED';
    vm.lastStopAt = this.clock.now();
    vm.busy = undefined;
    this.cancelTimers(vm);
  }

  private forget(vm: Vm): void {
    this.opts.iam?.dropPolicy(`projects/${this.project}/zones/${vm.zone}/instances/${vm.name}`);
    vm.deleted = true;
    vm.busy = undefined;
    this.cancelTimers(vm);
    for (const pid of vm.pids) killGroup(pid, 'SIGKILL');
    this.track(this.stopMetadata(vm));
  }

  private async stopMetadata(vm: Vm): Promise<void> {
    const mds = vm.mds;
    vm.mds = undefined;
    await mds?.close();
  }

  private delete(zone: string, name: string, requestId: string | null, principal: Principal): Operation {
    if (requestId !== null) {
      const seen = this.requestIds.get(requestId);
      if (seen) return seen;
    }
    const vm = this.requireVm(zone, name);
    if (vm.busy) {
      throw new ComputeError(
        400,
        'resourceNotReady',
        `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' is not ready`,
      );
    }
    vm.busy = 'deleting';
    const op = this.newOperation(zone, 'delete', vm, principal);
    if (requestId !== null) this.requestIds.set(requestId, op);
    const slow = this.slowDeletes.find((s) => s.left > 0);
    if (slow) slow.left -= 1;
    this.track(
      (async () => {
        await this.clock.sleep(Math.min(500, this.bootDelayMs / 4));
        this.setOp(op, { status: 'RUNNING', startTime: this.clock.iso() });
        if (vm.insertOp && vm.insertOp.json.status !== 'DONE') this.finishOp(vm.insertOp);
        await this.halt(vm, this.shutdownBudgetMs, 'deleting');
        if (slow) await this.clock.sleep(slow.ms);
        this.forget(vm);
        this.finishOp(op);
      })(),
    );
    return op;
  }

  private listInstances(zone: string, q: URLSearchParams): unknown {
    const matches = this.filtered(
      this.vms.filter((v) => !v.deleted && v.zone === zone).map((v) => this.render(v)),
      q.get('filter'),
    );
    return {
      kind: 'compute#instanceList',
      id: `projects/${this.project}/zones/${zone}/instances`,
      ...page(matches, q),
      selfLink: this.link(`zones/${zone}/instances`),
    };
  }

  private aggregatedList(q: URLSearchParams): unknown {
    const items: Record<string, unknown> = {};
    for (const zone of this.zones) {
      const instances = this.filtered(
        this.vms.filter((v) => !v.deleted && v.zone === zone).map((v) => this.render(v)),
        q.get('filter'),
      );
      items[`zones/${zone}`] =
        instances.length > 0
          ? { instances }
          : {
              warning: {
                code: 'NO_RESULTS_ON_PAGE',
                message: "There are no results for scope 'zones/" + zone + "' on this page.",
                data: [{ key: 'scope', value: `zones/${zone}` }],
              },
            };
    }
    return {
      kind: 'compute#instanceAggregatedList',
      id: `projects/${this.project}/aggregated/instances`,
      items,
      selfLink: this.link('aggregated/instances'),
    };
  }

  private listOperations(zone: string, q: URLSearchParams): unknown {
    const ops = this.filtered(
      [...this.ops.values()].filter((o) => o.zone === zone).map((o) => o.json),
      q.get('filter'),
    );
    return {
      kind: 'compute#operationList',
      id: `projects/${this.project}/zones/${zone}/operations`,
      ...page(ops, q),
      selfLink: this.link(`zones/${zone}/operations`),
    };
  }

  private filtered<T>(items: T[], filter: string | null): T[] {
    if (!filter?.trim()) return items;
    const predicate = parseFilter(filter);
    return items.filter((i) => predicate(i as Record<string, unknown>));
  }

  private serialPort(zone: string, name: string, q: URLSearchParams): unknown {
    const vm = this.requireVm(zone, name);
    const port = Number(q.get('port') ?? 1);
    if (!Number.isInteger(port) || port < 1 || port > 4) {
      throw invalid('port', String(q.get('port')), 'Must be between 1 and 4.');
    }
    const start = Number(q.get('start') ?? 0);
    if (!Number.isInteger(start)) throw invalid('start', String(q.get('start')), 'Must be an integer.');
    const out =
      port === 1
        ? vm.serial.read(start)
        : { contents: '', start: Math.max(0, start), next: Math.max(0, start) };
    return {
      kind: 'compute#serialPortOutput',
      contents: out.contents,
      start: String(out.start),
      next: String(out.next),
      selfLink: `${this.link(`zones/${zone}/instances/${name}`)}/serialPort`,
    };
  }

  // ---------------------------------------------------------------- rendering

  private link(rel: string): string {
    return `${this.linkBase}projects/${this.project}/${rel}`;
  }

  /** A partial resource URL (`zones/z/...`, `projects/p/global/...`) made absolute. */
  private absolute(rel: string): string {
    if (/^https?:\/\//.test(rel)) return rel;
    return this.link(rel.replace(/^projects\/[^/]+\//, ''));
  }

  private render(vm: Vm): Record<string, unknown> {
    const b = vm.body;
    const zonePath = `zones/${vm.zone}`;
    const items = vm.items;
    const labels = vm.labels;
    const disks = ((b.disks ?? []) as Record<string, unknown>[]).map((d, index) => {
      const init = (d.initializeParams ?? {}) as Record<string, unknown>;
      const diskName =
        (init.diskName as string | undefined) ?? (index === 0 ? vm.name : `${vm.name}-${index}`);
      return {
        kind: 'compute#attachedDisk',
        type: d.type ?? 'PERSISTENT',
        mode: d.mode ?? 'READ_WRITE',
        source: (d.source as string | undefined) ?? this.link(`${zonePath}/disks/${diskName}`),
        deviceName: d.deviceName ?? (index === 0 ? 'persistent-disk-0' : `persistent-disk-${index}`),
        index,
        boot: d.boot === true,
        autoDelete: d.autoDelete === true,
        interface: d.interface ?? 'SCSI',
        diskSizeGb: str(init.diskSizeGb, '10'),
        architecture: 'X86_64',
        guestOsFeatures: [{ type: 'UEFI_COMPATIBLE' }, { type: 'VIRTIO_SCSI_MULTIQUEUE' }, { type: 'GVNIC' }],
      };
    });
    const nics = ((b.networkInterfaces ?? []) as Record<string, unknown>[]).map((n, i) => ({
      kind: 'compute#networkInterface',
      network: this.absolute((n.network as string | undefined) ?? 'global/networks/default'),
      subnetwork: this.absolute(
        (n.subnetwork as string | undefined) ??
          `regions/${vm.zone.replace(/-[a-z]$/, '')}/subnetworks/default`,
      ),
      networkIP: `10.128.0.${(Number(BigInt(vm.id) % 250n) + 2 + i) % 255}`,
      name: `nic${i}`,
      fingerprint: fingerprint(`${vm.id}-nic${i}`),
      stackType: 'IPV4_ONLY',
      ...(Array.isArray(n.accessConfigs)
        ? {
            accessConfigs: (n.accessConfigs as Record<string, unknown>[]).map((a) => ({
              kind: 'compute#accessConfig',
              type: a.type ?? 'ONE_TO_ONE_NAT',
              name: a.name ?? 'External NAT',
              networkTier: a.networkTier ?? 'PREMIUM',
              ...(vm.status === 'RUNNING' ? { natIP: `34.${Number(BigInt(vm.id) % 200n) + 20}.${i}.7` } : {}),
            })),
          }
        : {}),
    }));
    const serviceAccounts = this.serviceAccounts(vm);
    const out: Record<string, unknown> = {
      kind: 'compute#instance',
      id: vm.id,
      creationTimestamp: this.clock.iso(vm.createdAt),
      name: vm.name,
      ...(b.description ? { description: b.description } : {}),
      tags: {
        ...(b.tags ?? {}),
        fingerprint: fingerprint(JSON.stringify(b.tags ?? {})),
      },
      machineType: this.link(`${zonePath}/machineTypes/${vm.machineType}`),
      status: vm.status,
      zone: this.link(zonePath),
      canIpForward: b.canIpForward === true,
      networkInterfaces: nics,
      disks,
      metadata: {
        kind: 'compute#metadata',
        fingerprint: fingerprint(JSON.stringify(items)),
        ...(items.length > 0 ? { items } : {}),
      },
      ...(serviceAccounts.length > 0 ? { serviceAccounts } : {}),
      selfLink: this.link(`${zonePath}/instances/${vm.name}`),
      scheduling: vm.scheduling,
      cpuPlatform:
        vm.status === 'RUNNING' || vm.status === 'STOPPING'
          ? cpuPlatform(vm.machineType)
          : 'Unknown CPU Platform',
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      labelFingerprint: fingerprint(JSON.stringify(labels)),
      startRestricted: false,
      deletionProtection: b.deletionProtection === true,
      shieldedInstanceConfig: { enableSecureBoot: false, enableVtpm: true, enableIntegrityMonitoring: true },
      fingerprint: fingerprint(`${vm.id}-${vm.status}`),
      satisfiesPzi: true,
      ...(vm.lastStartAt !== undefined ? { lastStartTimestamp: this.clock.iso(vm.lastStartAt) } : {}),
      ...(vm.lastStopAt !== undefined ? { lastStopTimestamp: this.clock.iso(vm.lastStopAt) } : {}),
    };
    if (Array.isArray(b.guestAccelerators) && b.guestAccelerators.length > 0) {
      out.guestAccelerators = (b.guestAccelerators as Record<string, unknown>[]).map((g) => ({
        acceleratorType: this.absolute(str(g.acceleratorType)),
        acceleratorCount: g.acceleratorCount ?? 1,
      }));
    }
    return out;
  }

  private serviceAccounts(vm: Vm): { email: string; scopes: string[] }[] {
    const given = (vm.body.serviceAccounts ?? []) as { email?: string; scopes?: string[] }[];
    return given.map((sa) => ({
      email:
        !sa.email || sa.email === 'default'
          ? `${this.projectNumber}-compute@developer.gserviceaccount.com`
          : sa.email,
      scopes: sa.scopes ?? ['https://www.googleapis.com/auth/cloud-platform'],
    }));
  }

  private snapshot(vm: Vm): MetadataSnapshot {
    const image = vm.image ?? 'projects/debian-cloud/global/images/debian-12-bookworm-v20250212';
    const tags = ((vm.body.tags as { items?: string[] } | undefined)?.items ?? []).slice();
    const s = vm.scheduling;
    return {
      project: this.project,
      projectNumber: this.projectNumber,
      projectAttributes: this.opts.projectMetadata ?? {},
      name: vm.name,
      id: vm.id,
      zone: vm.zone,
      machineType: vm.machineType,
      cpuPlatform: cpuPlatform(vm.machineType),
      image,
      hostname: `${vm.name}.${vm.zone}.c.${this.project}.internal`,
      description: str(vm.body.description),
      preempted: vm.preempted,
      maintenanceEvent: vm.preempted ? 'TERMINATE_ON_HOST_MAINTENANCE' : 'NONE',
      attributes: Object.fromEntries(vm.items.map((i) => [i.key, i.value])),
      tags,
      networkIP: `10.128.0.${(Number(BigInt(vm.id) % 250n) + 2) % 255}`,
      serviceAccounts: this.serviceAccounts(vm),
      scheduling: {
        automaticRestart: s.automaticRestart === true,
        onHostMaintenance: str(s.onHostMaintenance),
        preemptible: s.preemptible === true,
        provisioningModel: str(s.provisioningModel),
        ...(s.instanceTerminationAction
          ? { instanceTerminationAction: str(s.instanceTerminationAction) }
          : {}),
        ...(s.maxRunDuration
          ? { maxRunDurationSeconds: Number((s.maxRunDuration as { seconds: string }).seconds) }
          : {}),
      },
    };
  }

  private listZones(): unknown {
    return {
      kind: 'compute#zoneList',
      id: `projects/${this.project}/zones`,
      items: this.zones.map((z) => this.zoneJson(z)),
      selfLink: this.link('zones'),
    };
  }

  private zoneJson(zone: string): unknown {
    const region = zone.replace(/-[a-z]$/, '');
    return {
      kind: 'compute#zone',
      id: String(2000 + this.zones.indexOf(zone)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: zone,
      description: zone,
      status: 'UP',
      region: this.link(`regions/${region}`),
      selfLink: this.link(`zones/${zone}`),
      availableCpuPlatforms: ['Intel Broadwell', 'Intel Cascade Lake', 'AMD Milan', 'Intel Sapphire Rapids'],
      supportsPzs: false,
    };
  }

  private machineTypeJson(zone: string, type: string): unknown {
    const mt = this.machineTypeSize(type);
    const custom = this.machineTypes[type] ? undefined : parseCustomMachineType(type);
    return {
      kind: 'compute#machineType',
      id: String(800000 + Object.keys(this.machineTypes).indexOf(type)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: type,
      description: custom
        ? 'Custom created machine type.'
        : `${mt.guestCpus} vCPUs, ${(mt.memoryMb / 1024).toFixed(0)} GB RAM`,
      guestCpus: mt.guestCpus,
      memoryMb: mt.memoryMb,
      maximumPersistentDisks: 128,
      maximumPersistentDisksSizeGb: '263168',
      zone,
      selfLink: this.link(`zones/${zone}/machineTypes/${type}`),
      isSharedCpu: /^e2-(micro|small|medium)$/.test(type) || custom?.sharedCore !== undefined,
      architecture: 'X86_64',
    };
  }

  private acceleratorTypeJson(zone: string, type: string): unknown {
    const accelerator = this.accelerators[type];
    return {
      kind: 'compute#acceleratorType',
      id: String(10000 + Object.keys(this.accelerators).indexOf(type)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: type,
      description: accelerator?.description ?? type,
      zone: this.link(`zones/${zone}`),
      selfLink: this.link(`zones/${zone}/acceleratorTypes/${type}`),
      maximumCardsPerInstance: accelerator?.maximumCardsPerInstance ?? 1,
    };
  }

  private imageJson(owner: string, image: BedImage): unknown {
    const link = (rel: string) => `${this.linkBase}projects/${owner}/${rel}`;
    const deprecated = image.deprecated
      ? {
          state: image.deprecated.state,
          ...(image.deprecated.replacement
            ? { replacement: link(`global/images/${image.deprecated.replacement}`) }
            : {}),
        }
      : undefined;
    return {
      kind: 'compute#image',
      id: imageId(owner, image),
      creationTimestamp: image.created,
      name: image.name,
      description: image.description,
      sourceType: 'RAW',
      rawDisk: { source: '', containerType: 'TAR' },
      ...(deprecated ? { deprecated } : {}),
      status: 'READY',
      archiveSizeBytes: String(
        image.diskSizeGb * 74_000_000 + Number(BigInt(imageId(owner, image)) % 1_000_000n),
      ),
      diskSizeGb: String(image.diskSizeGb),
      licenses: [link(`global/licenses/${image.family ?? image.name}`)],
      ...(image.family ? { family: image.family } : {}),
      selfLink: link(`global/images/${image.name}`),
      labelFingerprint: '42WmSpB8rSM=',
      guestOsFeatures: [
        { type: 'UEFI_COMPATIBLE' },
        { type: 'VIRTIO_SCSI_MULTIQUEUE' },
        { type: 'GVNIC' },
        { type: 'SEV_CAPABLE' },
      ],
      storageLocations: ['eu', 'asia', 'us'],
      architecture: 'X86_64',
    };
  }

  // ---------------------------------------------------------------- operations

  private newOperation(
    zone: string,
    type: string,
    vm: Vm,
    principal: Pick<Principal, 'email'> & { subject?: string },
  ): Operation {
    const now = this.clock.now();
    const name = `operation-${now}-${randomBytes(7).toString('hex').slice(0, 13)}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
    const op: Operation = {
      zone,
      json: {
        kind: 'compute#operation',
        id: BigInt.asUintN(62, BigInt(`0x${randomBytes(8).toString('hex')}`)).toString(),
        name,
        zone: this.link(`zones/${zone}`),
        operationType: type,
        targetLink: this.link(`zones/${zone}/instances/${vm.name}`),
        targetId: vm.id,
        status: 'PENDING',
        user: principal.email ?? principal.subject ?? 'unknown',
        progress: 0,
        insertTime: this.clock.iso(now),
        selfLink: this.link(`zones/${zone}/operations/${name}`),
      },
    };
    this.ops.set(name, op);
    return op;
  }

  private setOp(op: Operation, patch: Record<string, unknown>): void {
    if (op.json.status === 'DONE') return;
    Object.assign(op.json, patch);
    for (const wake of this.opWaiters.get(String(op.json.name)) ?? []) wake();
  }

  private finishOp(op: Operation, error?: OpError): void {
    if (op.json.status === 'DONE') return;
    const now = this.clock.iso();
    const patch: Record<string, unknown> = { status: 'DONE', progress: 100, endTime: now };
    if (op.json.startTime === undefined) patch.startTime = now;
    if (error) {
      patch.error = {
        errors: [
          {
            code: error.code,
            message: error.message,
            ...(error.errorDetails ? { errorDetails: error.errorDetails } : {}),
          },
        ],
      };
      patch.httpErrorStatusCode = error.httpStatus;
      patch.httpErrorMessage = error.httpMessage;
    }
    this.setOp(op, patch);
  }

  private waitOp(op: Operation): Promise<void> {
    if (op.json.status === 'DONE' || this.closed) return Promise.resolve();
    const name = String(op.json.name);
    return new Promise((resolve) => {
      const waiters = this.opWaiters.get(name) ?? new Set();
      this.opWaiters.set(name, waiters);
      const realMs = Math.min(
        this.clock.toReal(this.opts.waitMaxMs ?? 120_000),
        this.opts.waitRealCapMs ?? 10_000,
      );
      const timer = setTimeout(() => done(), realMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const wake = () => {
        if (op.json.status === 'DONE' || this.closed) done();
      };
      waiters.add(wake);
    });
  }

  // ---------------------------------------------------------------- timers

  /** Runs `fn` after `virtualMs` unless the instance is torn down first. */
  private later(vm: Vm, virtualMs: number, fn: () => void): void {
    const cancel = this.clock.after(virtualMs, () => {
      vm.timers.delete(cancel);
      if (!this.closed) fn();
    });
    vm.timers.add(cancel);
  }

  private cancelTimers(vm: Vm): void {
    for (const cancel of vm.timers) cancel();
    vm.timers.clear();
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => console.error('[bed:compute]', err));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}

function sendComputeError(res: http.ServerResponse, err: ComputeError): void {
  const { domain, details, status } = err.extra as { domain?: string; details?: unknown[]; status?: string };
  // Compute Engine's errors carry no `status` string, which is why clients map 409 to ABORTED, not ALREADY_EXISTS.
  const body = {
    error: {
      code: err.code,
      message: err.message,
      errors: [{ message: err.message, domain: domain ?? 'global', reason: err.reason }],
      ...(status ? { status } : {}),
      ...(details ? { details } : {}),
    },
  };
  sendJson(res, err.code, body, err.headers);
}

/** The RPC name Compute Engine's errors give a call, e.g. `compute.v1.InstancesService.Insert`. */
function computeMethod(req: BedRequest): string {
  const parts = req.url.pathname.split('/').filter(Boolean);
  const kind = parts.includes('instances')
    ? 'Instances'
    : parts.includes('operations')
      ? 'ZoneOperations'
      : 'Zones';
  const verb = req.method === 'POST' ? 'Insert' : req.method === 'DELETE' ? 'Delete' : 'Get';
  return `compute.v1.${kind}Service.${verb}`;
}

/** A JSON scalar as text; anything else is `fallback`. */
function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : fallback;
}

function invalid(field: string, value: string, why: string): ComputeError {
  return new ComputeError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);
}

function validateLabels(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  const labels = raw as Record<string, unknown>;
  if (Object.keys(labels).length > 64) throw invalid('resource.labels', '', 'At most 64 labels are allowed.');
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY_RE.test(k)) {
      throw invalid(
        'resource.labels',
        '',
        `Label key '${k}' violates format constraints. The key must start with a lowercase character, can only contain lowercase letters, numeric characters, underscores and dashes. The key can be at most 63 characters long. International characters are allowed.`,
      );
    }
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v)) {
      throw invalid(
        'resource.labels',
        '',
        `Label value '${String(v)}' violates format constraints. The value can only contain lowercase letters, numeric characters, underscores and dashes. The value can be at most 63 characters long. International characters are allowed.`,
      );
    }
  }
  return { ...(labels as Record<string, string>) };
}

function validateMetadata(raw: unknown): MetadataItem[] {
  const items = ((raw as { items?: { key?: string; value?: string }[] } | undefined)?.items ?? []).map(
    (i) => ({
      key: String(i.key ?? ''),
      value: String(i.value ?? ''),
    }),
  );
  const seen = new Set<string>();
  let total = 0;
  for (const item of items) {
    if (!METADATA_KEY_RE.test(item.key)) {
      throw invalid(
        'resource.metadata',
        item.key,
        "Metadata key must be a match of regex '[a-zA-Z0-9-_]{1,128}'.",
      );
    }
    if (seen.has(item.key)) {
      throw invalid('resource.metadata', '', `Metadata has duplicate keys: ${item.key}.`);
    }
    seen.add(item.key);
    const size = Buffer.byteLength(item.value);
    if (size > 256 * 1024) {
      throw invalid(
        'resource.metadata',
        '',
        `Metadata value for key '${item.key}' is larger than 262144 bytes.`,
      );
    }
    total += size + item.key.length;
  }
  if (total > 512 * 1024) throw invalid('resource.metadata', '', 'Metadata total size exceeds 524288 bytes.');
  return items;
}

/** A custom machine type's series and shape. */
interface CustomMachineType {
  series: string;
  cpus: number;
  memoryMb: number;
  /** `-ext`: memory beyond the series' per-vCPU limit. */
  extended: boolean;
  /** E2's shared-core custom types, `e2-custom-small-2048` and the like. */
  sharedCore?: 'micro' | 'small' | 'medium';
}

/** What each series allows of a custom machine type (Compute Engine's documented limits). */
const CUSTOM_SERIES: Readonly<
  Record<
    string,
    {
      cpusAllowed: (n: number) => boolean;
      cpus: string;
      minMbPerCpu: number;
      maxMbPerCpu: number;
      extendedMaxMb?: number;
    }
  >
> = {
  n1: {
    cpusAllowed: (n) => n === 1 || (n % 2 === 0 && n >= 2 && n <= 96),
    cpus: '1 or an even number up to 96',
    minMbPerCpu: 922,
    maxMbPerCpu: 6656,
    extendedMaxMb: 624 * 1024,
  },
  e2: {
    cpusAllowed: (n) => n % 2 === 0 && n >= 2 && n <= 32,
    cpus: 'an even number from 2 to 32',
    minMbPerCpu: 512,
    maxMbPerCpu: 8192,
  },
  n2: {
    cpusAllowed: (n) => n >= 2 && (n <= 32 ? n % 2 === 0 : n <= 128 && n % 4 === 0),
    cpus: 'an even number up to 32, then a multiple of 4 up to 128',
    minMbPerCpu: 512,
    maxMbPerCpu: 8192,
    extendedMaxMb: 640 * 1024,
  },
  n2d: {
    cpusAllowed: (n) => [2, 4, 8, 16, 32, 48, 64, 80, 96].includes(n),
    cpus: '2, 4, 8, 16, 32, 48, 64, 80 or 96',
    minMbPerCpu: 512,
    maxMbPerCpu: 8192,
    extendedMaxMb: 768 * 1024,
  },
};

const SHARED_CORE_MEMORY_MB = { micro: [1024, 2048], small: [2048, 4096], medium: [4096, 8192] } as const;

/**
 * `custom-CPUS-MB` (N1), `SERIES-custom-CPUS-MB[-ext]` and `e2-custom-(micro|small|medium)-MB`; undefined for
 * any other name, and for a series without custom types.
 */
function parseCustomMachineType(type: string): CustomMachineType | undefined {
  const shared = /^e2-custom-(micro|small|medium)-(\d+)$/.exec(type);
  if (shared) {
    return {
      series: 'e2',
      cpus: 2,
      memoryMb: Number(shared[2]),
      extended: false,
      sharedCore: shared[1] as CustomMachineType['sharedCore'],
    };
  }
  const m = /^(?:([a-z][a-z0-9]*)-)?custom-(\d+)-(\d+)(-ext)?$/.exec(type);
  if (!m || !CUSTOM_SERIES[m[1] ?? 'n1']) return undefined;
  return { series: m[1] ?? 'n1', cpus: Number(m[2]), memoryMb: Number(m[3]), extended: m[4] !== undefined };
}

/** Why a custom machine type's shape is not allowed, or undefined when it is (or the type is not custom). */
function customShapeProblem(type: string): string | undefined {
  const c = parseCustomMachineType(type);
  if (!c) return undefined;
  if (c.memoryMb % 256 !== 0) return `Memory of a custom machine type must be a multiple of 256 MB.`;
  if (c.sharedCore) {
    const [min, max] = SHARED_CORE_MEMORY_MB[c.sharedCore];
    return c.memoryMb < min || c.memoryMb > max
      ? `Memory of an e2-custom-${c.sharedCore} machine type must be between ${min} MB and ${max} MB.`
      : undefined;
  }
  const rules = CUSTOM_SERIES[c.series];
  const series = c.series.toUpperCase();
  if (!rules.cpusAllowed(c.cpus)) return `A custom ${series} machine type takes ${rules.cpus} vCPUs.`;
  if (c.memoryMb < rules.minMbPerCpu * c.cpus) {
    return `A custom ${series} machine type needs at least ${rules.minMbPerCpu} MB of memory per vCPU.`;
  }
  if (c.extended && rules.extendedMaxMb === undefined) {
    return `Extended memory is not available for ${series} machine types.`;
  }
  if (!c.extended && c.memoryMb > rules.maxMbPerCpu * c.cpus) {
    return `A custom ${series} machine type takes at most ${rules.maxMbPerCpu} MB of memory per vCPU without extended memory.`;
  }
  if (c.extended && c.memoryMb > rules.extendedMaxMb!) {
    return `A custom ${series} machine type takes at most ${rules.extendedMaxMb} MB of memory.`;
  }
  return undefined;
}

/** An image's numeric id, stable for its project and name. */
function imageId(project: string, image: BedImage): string {
  const digest = createHash('sha1').update(`${project}/${image.name}`).digest('hex').slice(0, 15);
  return BigInt.asUintN(62, BigInt(`0x${digest}`)).toString();
}

function cpuPlatform(machineType: string): string {
  if (/^(n2d|t2d|c2d|c3d)-/.test(machineType)) return 'AMD Milan';
  if (/^c3-/.test(machineType)) return 'Intel Sapphire Rapids';
  if (/^(n2|c2)-/.test(machineType)) return 'Intel Cascade Lake';
  return 'Intel Broadwell';
}

function fingerprint(seed: string): string {
  return createHash('sha1').update(seed).digest('base64').slice(0, 11) + '=';
}

function page<T>(items: T[], q: URLSearchParams): { items?: T[]; nextPageToken?: string } {
  const max = Math.min(500, Math.max(1, Number(q.get('maxResults') ?? 500) || 500));
  const token = q.get('pageToken');
  let offset = 0;
  if (token) {
    offset = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(offset) || offset < 0) throw invalid('pageToken', token, 'Invalid page token.');
  }
  const slice = items.slice(offset, offset + max);
  const next =
    offset + max < items.length ? Buffer.from(`offset:${offset + max}`).toString('base64url') : undefined;
  return { ...(slice.length > 0 ? { items: slice } : {}), ...(next ? { nextPageToken: next } : {}) };
}

/**
 * Compute Engine's list filter: `field op value` terms joined by AND or spaces (optionally parenthesised),
 * with `=`, `!=`, `:` (has / substring) and the legacy `eq`/`ne` (regular expression) operators. Fields are
 * dotted paths into the resource, e.g. `labels.run`, `name`, `status`, `scheduling.provisioningModel`.
 */
export function parseFilter(filter: string): (resource: Record<string, unknown>) => boolean {
  const term =
    /\s*\(?\s*([A-Za-z_][\w.-]*)\s*(!=|=|:|\beq\b|\bne\b)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)\s*\)?\s*(?:\bAND\b)?/y;
  const terms: { field: string; op: string; value: string }[] = [];
  let pos = 0;
  const text = filter.trim();
  while (pos < text.length) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (!m || m[0].length === 0) {
      throw new ComputeError(400, 'invalid', `Invalid list filter expression '${filter}'.`);
    }
    let value = m[3] ?? '';
    if (/^["'].*["']$/.test(value)) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    terms.push({ field: m[1] ?? '', op: m[2] ?? '', value });
    pos = term.lastIndex;
  }
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
  return (resource) =>
    terms.every(({ field, op, value }) => {
      let v: unknown = resource;
      for (const key of field.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
      const present = v !== undefined && v !== null;
      const s = present ? String(v) : '';
      const last = s.slice(s.lastIndexOf('/') + 1);
      switch (op) {
        case '=':
          return present && (glob(value).test(s) || glob(value).test(last));
        case '!=':
          return !present || !(glob(value).test(s) || glob(value).test(last));
        case ':':
          return value === '*' ? present : present && s.includes(value);
        case 'eq':
          return present && new RegExp(`^(?:${value})$`).test(s);
        case 'ne':
          return !present || !new RegExp(`^(?:${value})$`).test(s);
        default:
          return false;
      }
    });
}
