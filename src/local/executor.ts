import { mapLimited } from '../concurrency.ts';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { PlacedMember } from '../launch/instance.ts';
import { agentAttributes, checkMetadataLimits, TTL_MARGIN_MINUTES } from '../launch/instance.ts';
import type { LaunchSettings } from '../launch/settings.ts';
import type { ExperimentState, ExperimentStatus } from '../layout.ts';
import { experimentObjects, parseStatus } from '../layout.ts';
import type { LocalMetadata } from './metadata-server.ts';
import type { LocalStorage } from './storage-server.ts';

/** What happened to one experiment, as the progress display and the summary see it. */
export type LocalOutcome = ExperimentState | 'lost' | 'interrupted' | 'detached';

/** Events of a local run, in the order they happen for each experiment. */
export type ExecutorEvent =
  | { readonly kind: 'started'; readonly id: string; readonly attempt: number }
  | {
      readonly kind: 'finished';
      readonly id: string;
      readonly attempt: number;
      readonly outcome: LocalOutcome;
      readonly exitCode: number | null;
      readonly reason: string;
      readonly seconds: number;
      /** Another attempt follows. */
      readonly retrying: boolean;
    };

/** One experiment to run: its settings as actions/launch would have them, and the attempt to start at. */
export interface LocalJob {
  readonly settings: LaunchSettings;
  readonly firstAttempt?: number;
}

/** Everything the executor needs, injected. */
export interface ExecutorOptions {
  readonly storage: LocalStorage;
  readonly metadata: LocalMetadata;
  readonly agentScript: string;
  /** Per-experiment working directories go below this. */
  readonly workRoot: string;
  readonly parallel: number;
  /** The environment the agent starts from (the user's). */
  readonly env: NodeJS.ProcessEnv;
  /** Secret resource name -> value, resolved before the run. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly onEvent: (event: ExecutorEvent) => void;
  /** Aborting stops every running experiment as a VM deletion would, and starts no new one. */
  readonly signal: AbortSignal;
  /** How long the shutdown run may take before the process group is killed (default 30 s, as on a VM). */
  readonly shutdownGraceMs?: number;
}

/** The final outcome of each experiment that ran, by id. */
export type ExecutorResult = ReadonlyMap<
  string,
  { outcome: LocalOutcome; exitCode: number | null; attempts: number }
>;

const KILL_GRACE_MS = 3000;

/** How one attempt of one experiment ended: its status, or why there is none. */
interface AttemptOutcome {
  readonly status: ExperimentStatus | undefined;
  readonly reason: string;
}

const NO_STATUS: AttemptOutcome = { status: undefined, reason: 'no status was read' };

/**
 * Rounds of a packed leg on this machine: how many times over the timeout its experiments may need when they
 * cannot all be admitted at once.
 */
function localRounds(s: LaunchSettings, members: number): number {
  const fit = Math.max(1, Math.floor(availableParallelism() / (s.resources?.cpus ?? 1)));
  return Math.ceil(members / fit);
}

interface RunningAgent {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  readonly agentFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly consoleFile: string;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** A proxy exclusion list with the loopback names added. */
export function noProxy(existing: string | undefined): string {
  const names = (existing ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const local of ['127.0.0.1', 'localhost']) if (!names.includes(local)) names.push(local);
  return names.join(',');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs experiments through the VM agent as local processes: each attempt gets its own working directory (the
 * agent's TMPDIR), its own "instance" on the local metadata server, and writes to the local bucket directory
 * exactly as a VM writes to Cloud Storage. At most `parallel` run at once.
 */
export class LocalExecutor {
  private readonly opts: ExecutorOptions;
  private readonly running = new Set<RunningAgent>();
  /** Agents being stopped, with the end of their shutdown run. */
  private readonly stopping = new Map<RunningAgent, Promise<void>>();
  /** Every process group started and not yet seen gone: startup and shutdown runs. */
  private readonly groups = new Set<number>();

  constructor(opts: ExecutorOptions) {
    this.opts = opts;
  }

  /** Runs every job; resolves when all ended or, after an abort, when every process is gone. */
  async runAll(jobs: readonly LocalJob[]): Promise<ExecutorResult> {
    const results = new Map<string, { outcome: LocalOutcome; exitCode: number | null; attempts: number }>();
    const stopAll = (): void => {
      for (const agent of this.running) this.stopping.set(agent, this.stopAgent(agent));
    };
    this.opts.signal.addEventListener('abort', stopAll, { once: true });
    try {
      await mapLimited(
        jobs,
        this.opts.parallel,
        async (job) => {
          for (const [id, r] of await this.runLeg(job)) results.set(id, r);
        },
        this.opts.signal,
      );
    } finally {
      this.opts.signal.removeEventListener('abort', stopAll);
      await Promise.all(this.stopping.values());
    }
    return results;
  }

  /**
   * Runs one leg: an experiment, or a packed leg's experiments as one "VM" whose agent admits them by their
   * reserved CPUs and memory on this machine. An attempt that leaves some unfinished runs only those again, each
   * within its own max-attempts.
   */
  private async runLeg(job: LocalJob): Promise<ExecutorResult> {
    const s = job.settings;
    const packed = s.members.length > 0;
    const first = job.firstAttempt ?? 1;
    const runs = (packed ? s.members : [s.experiment]).map((member) => ({
      member: { id: member.id, params: member.params },
      used: 0,
      result: undefined as { outcome: LocalOutcome; exitCode: number | null; attempts: number } | undefined,
    }));
    for (let attempt = first; ; attempt++) {
      const pending = runs.filter((r) => !r.result);
      if (pending.length === 0) break;
      const started = Date.now();
      for (const r of pending) this.opts.onEvent({ kind: 'started', id: r.member.id, attempt });
      const ends = await this.runAttempt(
        s,
        attempt,
        packed ? pending.map((r) => ({ ...r.member, attempt })) : undefined,
      );
      for (const r of pending) {
        r.used++;
        const end = ends.get(r.member.id) ?? NO_STATUS;
        const { outcome, retry } = this.judge(s, end, r.used < s.maxAttempts);
        this.opts.onEvent({
          kind: 'finished',
          id: r.member.id,
          attempt,
          outcome,
          exitCode: end.status?.exitCode ?? null,
          reason: end.status?.reason ?? end.reason,
          seconds: Math.round((Date.now() - started) / 100) / 10,
          retrying: retry,
        });
        if (!retry) r.result = { outcome, exitCode: end.status?.exitCode ?? null, attempts: r.used };
      }
    }
    return new Map(runs.map((r) => [r.member.id, r.result!]));
  }

  /** What an attempt's end makes of the experiment, and whether another attempt follows. */
  private judge(
    s: LaunchSettings,
    end: AttemptOutcome,
    attemptsLeft: boolean,
  ): { outcome: LocalOutcome; retry: boolean } {
    const aborted = this.opts.signal.aborted;
    const outcome: LocalOutcome =
      aborted && end.status?.state !== 'succeeded' && end.status?.state !== 'failed'
        ? 'interrupted'
        : (end.status?.state ?? 'lost');
    const retry =
      !aborted &&
      attemptsLeft &&
      (outcome === 'lost' ||
        outcome === 'error' ||
        outcome === 'preempted' ||
        (outcome === 'failed' && s.retryOnFailure));
    return { outcome, retry };
  }

  /** Runs one attempt (of a packed leg's `members`, when given) and reads each experiment's status. */
  private async runAttempt(
    s: LaunchSettings,
    attempt: number,
    members?: readonly PlacedMember[],
  ): Promise<Map<string, AttemptOutcome>> {
    const id = s.experiment.id;
    const ids = members ? members.map((m) => m.id) : [id];
    const everyOne = (outcome: AttemptOutcome) => new Map(ids.map((i) => [i, outcome]));
    const rounds = members ? localRounds(s, members.length) : 1;
    const dir = path.join(this.opts.workRoot, id, `attempt-${attempt}`);
    await mkdir(dir, { recursive: true });
    const name = `${id}-${attempt}`;
    const attributes: Record<string, string> = {
      ...agentAttributes(s, {
        name,
        zone: 'local',
        attempt,
        spot: false,
        agentScript: this.opts.agentScript,
        ...(members ? { members, rounds } : {}),
      }),
      'gce-matrix-self-delete': 'false',
      // A workstation, not a VM: the agent runs the command as its own user and changes nothing on the machine
      // (no user of its own, no firewall rule); it says so in the log.
      'gce-matrix-local-run': 'true',
      'gce-matrix-endpoint-storage': this.opts.storage.url,
      'gce-matrix-endpoint-secretmanager': this.opts.metadata.secretManagerEndpoint,
    };
    checkMetadataLimits(attributes);
    const secrets: Record<string, string> = {};
    for (const ref of s.secrets) secrets[ref.resource] = this.opts.secrets[ref.resource] ?? '';
    this.opts.metadata.register({ name, attributes, secrets });
    // The startup script arrives as the VM gets it: through metadata, written to a file and run with sh.
    const agentFile = path.join(dir, 'agent.sh');
    await writeFile(agentFile, attributes['startup-script'], { mode: 0o700 });
    const consoleFile = path.join(dir, 'console.log');
    const env: NodeJS.ProcessEnv = {
      ...this.opts.env,
      TMPDIR: dir,
      GCE_METADATA_HOST: this.opts.metadata.hostFor(name),
      // The local servers must be reached directly even where the user's shell sets a proxy.
      NO_PROXY: noProxy(this.opts.env.NO_PROXY ?? this.opts.env.no_proxy),
      no_proxy: noProxy(this.opts.env.no_proxy ?? this.opts.env.NO_PROXY),
    };
    delete env.STORAGE_EMULATOR_HOST;
    try {
      if (this.opts.signal.aborted)
        return everyOne({ status: undefined, reason: 'interrupted before it started' });
      const agent = this.startAgent(agentFile, 'startup', env, consoleFile);
      this.running.add(agent);
      // As a VM's maxRunDuration: an attempt that outlives its timeout by the same margin is stopped.
      const ttl = setTimeout(
        () => {
          if (!this.stopping.has(agent)) this.stopping.set(agent, this.stopAgent(agent));
        },
        (s.timeoutMinutes * rounds + TTL_MARGIN_MINUTES) * 60_000,
      );
      let code: number | null;
      try {
        code = await agent.exited;
        clearTimeout(ttl);
        // The startup agent leaves the status to a shutdown run that is under way: wait for it.
        await this.stopping.get(agent);
      } finally {
        this.running.delete(agent);
      }
      // A command that left children behind (a daemon, a stray `&`) must not outlive the experiment.
      if (groupAlive(agent.pid)) {
        killGroup(agent.pid, 'SIGTERM');
        await delay(500);
        killGroup(agent.pid, 'SIGKILL');
      }
      const ends = new Map<string, AttemptOutcome>();
      for (const one of ids) {
        const status = await this.readStatus(s, one, attempt);
        ends.set(
          one,
          status
            ? { status, reason: '' }
            : {
                status: undefined,
                reason: `the agent ended (exit ${code ?? 'by signal'}) without a status; see ${consoleFile}`,
              },
        );
      }
      return ends;
    } finally {
      this.opts.metadata.unregister(name);
    }
  }

  private startAgent(
    agentFile: string,
    mode: 'startup' | 'shutdown',
    env: NodeJS.ProcessEnv,
    consoleFile: string,
  ): RunningAgent {
    const fd = openSync(consoleFile, 'a');
    try {
      const child = spawn('sh', [agentFile, mode], {
        cwd: path.dirname(agentFile),
        env: { ...env, GCE_MATRIX_MODE: mode },
        // Its own process group, as a VM is its own machine: the whole tree can be stopped at once.
        detached: true,
        stdio: ['ignore', fd, fd],
      });
      const pid = child.pid ?? -1;
      if (pid > 0) this.groups.add(pid);
      const exited = new Promise<number | null>((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.once('error', () => resolve(null));
      });
      return { pid, exited, agentFile, env, consoleFile };
    } finally {
      closeSync(fd);
    }
  }

  /** Kills every process group this executor started, at once (a second Ctrl-C). */
  killNow(): void {
    for (const pid of this.groups) killGroup(pid, 'SIGKILL');
  }

  /** Process groups that still have a live member. */
  liveGroups(): number[] {
    for (const pid of this.groups) if (!groupAlive(pid)) this.groups.delete(pid);
    return [...this.groups];
  }

  /** Stops an experiment as deleting its VM would: the shutdown run first, then everything left is killed. */
  private async stopAgent(agent: RunningAgent): Promise<void> {
    const shutdown = this.startAgent(agent.agentFile, 'shutdown', agent.env, agent.consoleFile);
    const grace = this.opts.shutdownGraceMs ?? 30_000;
    const timer = setTimeout(() => killGroup(shutdown.pid, 'SIGKILL'), grace);
    await shutdown.exited;
    clearTimeout(timer);
    killGroup(shutdown.pid, 'SIGKILL');
    killGroup(agent.pid, 'SIGTERM');
    const deadline = Date.now() + KILL_GRACE_MS;
    while (groupAlive(agent.pid) && Date.now() < deadline) await delay(100);
    killGroup(agent.pid, 'SIGKILL');
  }

  private async readStatus(
    s: LaunchSettings,
    id: string,
    attempt: number,
  ): Promise<ExperimentStatus | undefined> {
    const objects = experimentObjects(s.results, id);
    const file = path.join(this.opts.storage.root, ...objects.status.split('/'));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const status = parseStatus(text, objects.status);
      return status.attempt === attempt ? status : undefined;
    } catch {
      return undefined;
    }
  }
}
