import type { ServiceSpec } from './services.ts';
import type { RunLocation } from '../layout.ts';
import type { SourceManifest, SourceMode } from '../source/snapshot.ts';

/** A GPU or other accelerator to attach. */
export interface Accelerator {
  readonly type: string;
  readonly count: number;
}

/** Spot, standard, or spot first and standard when spot capacity is gone. */
export type Provisioning = 'spot' | 'standard' | 'spot-then-standard';

/** An object (or a prefix ending in `/`) to copy onto the VM before the command runs. */
export interface StagedInput {
  /** `gs://bucket/object` or `gs://bucket/prefix/` */
  readonly source: string;
  /** Path under the experiment's input directory. */
  readonly dest: string;
}

/** A Secret Manager version exposed to the command as an environment variable. */
export interface SecretRef {
  readonly env: string;
  /** `projects/P/secrets/S/versions/V` */
  readonly resource: string;
}

/** One experiment as the plan step emits it. */
export interface Experiment {
  readonly id: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
  /** Inputs of actions/launch this experiment sets for itself (e.g. a bigger machine type), by input name. */
  readonly launch?: Readonly<Record<string, string>>;
  /**
   * A packed leg: the experiments that share one VM (docs/packing.md). `id` is then the group's
   * (`pack-<hash>`), `params` is empty, and each member keeps its own id, parameters and results.
   */
  readonly members?: readonly PackedMember[];
}

/** One experiment of a packed leg. */
export interface PackedMember {
  readonly id: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
}

/** What one experiment reserves on its VM; the agent admits it only when this much is free. */
export interface Resources {
  /** Whole CPUs, pinned to the experiment (cpuset). */
  readonly cpus: number;
  /** MiB; 0 reserves none. */
  readonly memoryMb: number;
  /** Whole GPUs (resources `gpus`), given to the experiment by id; 0 reserves none. */
  readonly gpus: number;
  /** MiB of the agent's disk (resources `disk-gb`, times 1024, rounded up); 0 reserves none. */
  readonly diskMb: number;
}

/** Everything actions/launch needs, parsed and checked once from its inputs. */
export interface LaunchSettings {
  readonly project: string;
  /** Zones to try in order (stockout moves to the next); empty when they come from `region`. */
  readonly zones: readonly string[];
  /** A region whose zones (all that are UP) are tried when no zones are listed. */
  readonly region: string | undefined;
  readonly machineType: string;
  /** `projects/P/global/images/NAME` or `projects/P/global/images/family/F`. */
  readonly image: string;
  readonly containerImage: string | undefined;
  readonly bootDiskSizeGb: number;
  readonly bootDiskType: string;
  readonly accelerators: readonly Accelerator[];
  readonly provisioning: Provisioning;
  readonly network: string | undefined;
  readonly subnetwork: string | undefined;
  readonly externalIp: boolean;
  /** The service account the VM runs as (its agent uses it through the metadata server). */
  readonly vmServiceAccount: string;
  /** The role launch grants the VM account on the new instance alone, for the agent's self-delete. */
  readonly vmSelfDeleteRole: string;
  /** Whether the command may use the VM's service account (`vm`) or is kept from it (`isolated`). */
  readonly commandIdentity: CommandIdentity;
  /** What the command is handed to reach Cloud Storage itself: nothing, or a token for its own objects. */
  readonly commandCredentials: CommandCredentials;
  readonly labels: Readonly<Record<string, string>>;
  readonly experiment: Experiment;
  /** The experiments of a packed leg (empty for a leg of one experiment). */
  readonly members: readonly PackedMember[];
  /** What each experiment reserves on the VM (input `resources`); undefined: no admission. */
  readonly resources: Resources | undefined;
  readonly command: string;
  readonly inputs: readonly StagedInput[];
  readonly secrets: readonly SecretRef[];
  /** Service containers started beside the command (src/launch/services.ts). */
  readonly services: readonly ServiceSpec[];
  readonly results: RunLocation;
  /** How long one attempt's command may run. */
  readonly timeoutMinutes: number;
  readonly maxAttempts: number;
  /** Retry when the command itself fails (not only on preemption and infrastructure faults). */
  readonly retryOnFailure: boolean;
  /**
   * What a GitHub re-run does with an earlier run's checkpoint: `auto` resumes after a preemption or a lost VM
   * and starts clean after a command that ended; `keep` always resumes; `clean` never does.
   */
  readonly rerunCheckpoint: 'auto' | 'keep' | 'clean';
  readonly heartbeatSeconds: number;
  /** How often the agent syncs the checkpoint's changed files while the command runs (0: only at the end). */
  readonly checkpointIntervalSeconds: number;
  readonly logIntervalSeconds: number;
  /** Create the VM, record the experiment as detached and return at once; a watcher reports it later. */
  readonly detach: boolean;
  /**
   * How long the step may wait on the experiment before it hands it over to the watcher (switches it to
   * detached and returns), so that the job's own time limit never cuts an experiment short.
   */
  readonly waitTimeoutMinutes: number;
  /** `owner/repo` and commit, for labels and provenance. */
  readonly repository: string;
  readonly sha: string;
  /**
   * Where the command's working directory comes from: `repository` (a snapshot of `ref`, unpacked before the
   * command starts) or `none`. `ref` is a commit, branch or tag; undefined: the event's commit.
   */
  readonly source: { readonly mode: SourceMode; readonly ref: string | undefined };
  /** The token the repository's tarball is read with (`contents: read`), and GitHub's API address. */
  readonly github: { readonly token: string | undefined; readonly apiUrl: string };
  /** The snapshot once it is in the bucket (launch sets it before the first VM). */
  readonly snapshot?: SourceManifest;
  /** GitHub's run attempt (a re-run increments it), for labels. */
  readonly githubRunAttempt: number;
  readonly workloadIdentityProvider: string | undefined;
  readonly serviceAccount: string | undefined;
}

/** Whether the experiment's command may use the VM's service account. */
export type CommandIdentity = 'isolated' | 'vm';

/** The credentials the agent hands the experiment's command. */
export type CommandCredentials = 'none' | 'experiment';
