/**
 * Where a run's experiments live in Cloud Storage, and what the VM agent writes there. Launch, the agent,
 * collect and report all go through these names; the agent script spells the same layout in shell.
 *
 * gs://BUCKET/PREFIX/runs/RUN_ID/
 *   experiments/EXPERIMENT_ID/
 *     status.json                  written last: a reader that sees it sees complete results
 *     outputs/...                  the experiment's output directory (metrics.json among them)
 *     checkpoint/...               the checkpoint directory, synced and restored across attempts
 *     attempts/N/                  attempt N's own objects; N counts on across GitHub re-runs of the job
 *       heartbeat.json             rewritten every heartbeat period while the agent lives
 *       preempted.json             written first thing when the VM is preempted (the status follows)
 *       log/000001.txt             the command's log, in chunks, in order
 *       status.json                the attempt's own copy of its status, written after status.json
 */

/** Where one run's results live. */
export interface RunLocation {
  readonly bucket: string;
  /** Object-name prefix without leading or trailing `/`; may be empty. */
  readonly prefix: string;
  readonly runId: string;
}

/** The object-name prefix of a whole run, ending in `/`. */
export function runPrefix(loc: RunLocation): string {
  const head = loc.prefix.replace(/^\/+|\/+$/g, '');
  return `${head ? `${head}/` : ''}runs/${loc.runId}/`;
}

/** The object-name prefix of one experiment, ending in `/`. */
export function experimentPrefix(loc: RunLocation, experimentId: string): string {
  return `${runPrefix(loc)}experiments/${experimentId}/`;
}

/** Object names of one experiment's well-known files. */
export function experimentObjects(loc: RunLocation, experimentId: string) {
  const base = experimentPrefix(loc, experimentId);
  return {
    base,
    status: `${base}status.json`,
    outputs: `${base}outputs/`,
    metrics: `${base}outputs/metrics.json`,
    checkpoint: `${base}checkpoint/`,
    attempts: `${base}attempts/`,
    logs: (attempt: number) => `${base}attempts/${attempt}/log/`,
    attempt: (attempt: number) => ({
      prefix: `${base}attempts/${attempt}/`,
      status: `${base}attempts/${attempt}/status.json`,
      heartbeat: `${base}attempts/${attempt}/heartbeat.json`,
      preempted: `${base}attempts/${attempt}/preempted.json`,
    }),
  };
}

/** `gs://bucket/name` */
export function gsUri(bucket: string, name = ''): string {
  return `gs://${bucket}/${name}`;
}

/** How an attempt ended, as the agent reports it in status.json. */
export type ExperimentState =
  /** The command exited 0. */
  | 'succeeded'
  /** The command exited non-zero (or was killed by its timeout). */
  | 'failed'
  /** The VM was preempted; the checkpoint was synced. Another attempt may resume. */
  | 'preempted'
  /** The agent could not run the command (staging, image, secrets): `reason` says why. */
  | 'error';

/** One uploaded output, as listed in status.json. */
export interface OutputEntry {
  /** Path relative to the output directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
}

/** Where and on what an attempt ran. */
export interface Provenance {
  readonly instance?: string;
  readonly zone?: string;
  readonly machineType?: string;
  readonly cpuPlatform?: string;
  readonly image?: string;
  readonly containerImage?: string;
  readonly containerDigest?: string;
  /** The service containers beside the command, by name: the image as given, the digest pulled. */
  readonly services?: Readonly<Record<string, { readonly image: string; readonly digest?: string }>>;
  readonly spot?: boolean;
  /** The commit that ran: the source snapshot's commit, else the workflow's. */
  readonly repoSha?: string;
  /** The source snapshot unpacked as the working directory: its commit, SHA-256 and size in bytes. */
  readonly sourceCommit?: string;
  readonly sourceSha256?: string;
  readonly sourceBytes?: number;
  readonly parameters?: Record<string, unknown>;
  /** Present when the experiment shared its VM with others (a packed leg): where on the VM it ran. */
  readonly placement?: Placement;
}

/** Where a member of a packed VM ran: its share of the machine and who shared it. */
export interface Placement {
  readonly packed: true;
  /** How many experiments the VM ran. */
  readonly members: number;
  /** This experiment's index among them, from 1 (admission is first come by index). */
  readonly index: number;
  /** The other experiments on the VM, by id. */
  readonly neighbours: readonly string[];
  /** The CPUs the command was pinned to (GCE_MATRIX_CPUS, e.g. `2,3`); absent when it never got them. */
  readonly cpus?: string;
  /** The MiB reserved for it (0: none). */
  readonly memoryMb: number;
  /** The GPU ids reserved for it (GCE_MATRIX_GPUS, e.g. `0,1`); absent when it reserved none. */
  readonly gpus?: string;
  /** The MiB of disk reserved for it (0: none); absent from agents older than the disk reservation. */
  readonly diskMb?: number;
}

/** The completion marker: the object the agent writes last, after every output it names. */
export interface ExperimentStatus {
  readonly schema: 1;
  readonly runId: string;
  readonly experiment: string;
  readonly attempt: number;
  readonly state: ExperimentState;
  readonly exitCode: number | null;
  readonly reason?: string;
  readonly startedAt?: string;
  readonly endedAt: string;
  readonly outputs: readonly OutputEntry[];
  readonly provenance: Provenance;
}

/** The heartbeat the agent rewrites while it lives. */
export interface Heartbeat {
  readonly attempt: number;
  readonly at: string;
  /** `queued`: a member of a packed VM waiting for its CPUs and memory to be free. */
  readonly phase: 'staging' | 'queued' | 'running' | 'uploading';
}

const STATES: readonly ExperimentState[] = ['succeeded', 'failed', 'preempted', 'error'];

/** Parses and checks a status object; throws with the object's name when it is malformed. */
export function parseStatus(text: string, objectName: string): ExperimentStatus {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${objectName} is not valid JSON: ${(err as Error).message}`);
  }
  const s = value as Partial<ExperimentStatus> | null;
  if (!s || typeof s !== 'object') throw new Error(`${objectName} is not a JSON object`);
  if (s.schema !== 1)
    throw new Error(`${objectName} has schema ${String(s.schema)}; this gce-matrix reads schema 1`);
  if (!s.state || !STATES.includes(s.state))
    throw new Error(`${objectName} has an unknown state ${String(s.state)}`);
  if (typeof s.attempt !== 'number') throw new Error(`${objectName} has no attempt number`);
  if (!Array.isArray(s.outputs)) throw new Error(`${objectName} has no outputs list`);
  return s as ExperimentStatus;
}
