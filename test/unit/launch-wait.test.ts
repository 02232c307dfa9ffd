import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import type { LaunchCompute, LaunchDeps, LaunchResults } from '../../src/launch/experiment.ts';
import { runExperiment } from '../../src/launch/experiment.ts';
import type { RunContext } from '../../src/launch/inputs.ts';
import { parseLaunchInputs } from '../../src/launch/inputs.ts';
import type { ExperimentStatus } from '../../src/layout.ts';

// How launch's waiting behaves over simulated hours: a world of VMs whose agents heartbeat, finish, die, hang or
// are preempted on a virtual clock, and counts of what launch asked Compute Engine.

const S = 1000;
const MIN = 60 * S;

/** What one attempt's VM does, in ms after its creation. */
interface Behaviour {
  /** The command ends (status succeeded) this long after boot. */
  readonly runMs?: number;
  /** The VM dies without a word. */
  readonly dieAt?: number;
  /** ... and its instance vanishes instead of ending TERMINATED. */
  readonly vanish?: boolean;
  /** Preempted: the record follows at once, the status after `statusAfterMs` (never, when undefined). */
  readonly preemptAt?: number;
  readonly statusAfterMs?: number;
  /** The agent stops heartbeating but the instance keeps RUNNING. */
  readonly hangAt?: number;
  /** Heartbeats pause (a Cloud Storage hiccup) over [from, to). */
  readonly gap?: readonly [number, number];
}

const BOOT_MS = 30 * S;
const HEARTBEAT_MS = 10 * S;
const PREEMPTION_MS = 30 * S;

class World {
  t = 0;
  readonly inserts: { at: number; name: string }[] = [];
  readonly calls = { get: 0, insert: 0, delete: 0, serial: 0 };
  private readonly vms = new Map<string, { attempt: number; createdAt: number; deletedAt?: number }>();
  private readonly byAttempt: readonly Behaviour[];

  constructor(byAttempt: readonly Behaviour[]) {
    this.byAttempt = byAttempt;
  }

  readonly clock: Clock = {
    now: () => this.t,
    sleep: (ms) => {
      this.t += ms;
      return Promise.resolve();
    },
  };

  private vmOf(attempt: number): { b: Behaviour; createdAt: number; deletedAt?: number } | undefined {
    const vm = [...this.vms.values()].find((v) => v.attempt === attempt);
    if (!vm) return undefined;
    return { b: this.byAttempt[attempt - 1] ?? {}, createdAt: vm.createdAt, deletedAt: vm.deletedAt };
  }

  /** ms since the VM of `attempt` was created. */
  private age(attempt: number): number {
    return this.t - (this.vmOf(attempt)?.createdAt ?? this.t);
  }

  private agentStopsAt(b: Behaviour): number {
    return Math.min(
      b.runMs !== undefined ? BOOT_MS + b.runMs : Infinity,
      b.dieAt ?? Infinity,
      b.preemptAt ?? Infinity,
      b.hangAt ?? Infinity,
    );
  }

  private statusAt(b: Behaviour): number | undefined {
    if (b.runMs !== undefined && BOOT_MS + b.runMs <= this.agentStopsAt(b)) return BOOT_MS + b.runMs;
    if (b.preemptAt !== undefined && b.statusAfterMs !== undefined && b.statusAfterMs < PREEMPTION_MS) {
      return b.preemptAt + b.statusAfterMs;
    }
    return undefined;
  }

  private status(attempt: number): ExperimentStatus | undefined {
    const vm = this.vmOf(attempt);
    if (!vm) return undefined;
    const at = this.statusAt(vm.b);
    if (at === undefined || this.age(attempt) < at) return undefined;
    return {
      schema: 1,
      runId: '7001',
      experiment: 'e',
      attempt,
      state: vm.b.preemptAt !== undefined ? 'preempted' : 'succeeded',
      exitCode: vm.b.preemptAt !== undefined ? null : 0,
      endedAt: new Date(this.t).toISOString(),
      outputs: [],
      provenance: {},
    };
  }

  private heartbeat(attempt: number): string | undefined {
    const vm = this.vmOf(attempt);
    if (!vm) return undefined;
    const age = Math.min(this.age(attempt), this.agentStopsAt(vm.b), vm.deletedAt ?? Infinity);
    if (age < BOOT_MS) return undefined;
    let beatAt = BOOT_MS + Math.floor((age - BOOT_MS) / HEARTBEAT_MS) * HEARTBEAT_MS;
    const gap = vm.b.gap;
    if (gap && beatAt >= gap[0] && beatAt < gap[1]) beatAt = gap[0] - HEARTBEAT_MS;
    return String(beatAt);
  }

  private instanceState(name: string): string | undefined {
    const vm = this.vms.get(name);
    if (!vm || vm.deletedAt !== undefined) return undefined;
    const b = this.byAttempt[vm.attempt - 1] ?? {};
    const age = this.t - vm.createdAt;
    if (b.dieAt !== undefined && age >= b.dieAt) return b.vanish ? undefined : 'TERMINATED';
    if (b.preemptAt !== undefined && age >= b.preemptAt) {
      return age >= b.preemptAt + PREEMPTION_MS ? 'TERMINATED' : 'STOPPING';
    }
    // a finished agent deletes its own VM a few seconds after the status
    const statusAt = this.statusAt(b);
    if (statusAt !== undefined && age >= statusAt + 5 * S) return undefined;
    return age < 15 * S ? 'PROVISIONING' : 'RUNNING';
  }

  readonly compute: LaunchCompute = {
    grantOnInstance: () => Promise.resolve(),
    getInstance: (_zone, name) => {
      this.calls.get += 1;
      const status = this.instanceState(name);
      return Promise.resolve(status ? { name, status } : undefined);
    },
    insertInstance: (_zone, resource) => {
      this.calls.insert += 1;
      const name = resource.name ?? '';
      this.inserts.push({ at: this.t, name });
      this.vms.set(name, { attempt: Number(resource.labels?.['gce-matrix-attempt']), createdAt: this.t });
      return Promise.resolve(undefined);
    },
    deleteInstance: (_zone, name) => {
      this.calls.delete += 1;
      const vm = this.vms.get(name);
      if (vm && vm.deletedAt === undefined) vm.deletedAt = this.t - vm.createdAt;
      return Promise.resolve();
    },
    serialOutput: () => {
      this.calls.serial += 1;
      return Promise.resolve(undefined);
    },
  };

  readonly results: LaunchResults = {
    checkBucket: () => Promise.resolve(),
    previousAttempt: () => Promise.resolve({ attempt: 0, status: undefined }),
    clearMarkers: () => Promise.resolve(),
    clearCheckpoint: () => Promise.resolve(0),
    newLogChunks: () => Promise.resolve([]),
    readStatus: (attempt?: number) => {
      const n = attempt ?? this.inserts.length;
      return Promise.resolve(this.status(n));
    },
    probe: (attempt: number) => {
      const vm = this.vmOf(attempt);
      const preempted =
        vm?.b.preemptAt !== undefined && this.age(attempt) >= vm.b.preemptAt + 500 ? 'p1' : undefined;
      return Promise.resolve({
        statusGeneration: this.status(attempt) ? 's1' : undefined,
        heartbeatGeneration: this.heartbeat(attempt),
        preemptedGeneration: preempted,
      });
    },
  };
}

const ctx: RunContext = {
  runId: '7001',
  runAttempt: 1,
  repository: 'octo-org/bench',
  sha: 'abc123',
  defaultProject: 'bench-project',
};

async function simulate(byAttempt: readonly Behaviour[], inputs: Record<string, string> = {}) {
  const world = new World(byAttempt);
  const all: Record<string, string> = {
    zones: 'us-central1-a',
    bucket: 'bench-results',
    'vm-service-account': 'gce-matrix-vm@bench-project.iam.gserviceaccount.com',
    experiment: '{"id":"e","params":{}}',
    command: './run.sh',
    'timeout-minutes': '600',
    'max-attempts': '3',
    ...inputs,
  };
  const settings = parseLaunchInputs((name) => all[name] ?? '', ctx);
  const warnings: string[] = [];
  const deps: LaunchDeps = {
    compute: world.compute,
    results: world.results,
    clock: world.clock,
    log: {
      info: () => undefined,
      warning: (m) => warnings.push(m),
      vmLog: () => undefined,
      startGroup: () => undefined,
      endGroup: () => undefined,
    },
    agentScript: '#!/bin/sh\n',
    onVm: () => undefined,
  };
  const result = await runExperiment(settings, deps);
  return { world, result, warnings };
}

/** Compute Engine requests of the calls made: an insert or delete is a call plus about two operation waits. */
function computeRequests(calls: World['calls']): number {
  return calls.get + calls.serial + 3 * (calls.insert + calls.delete);
}

describe('launch waiting on an attempt (simulated time)', () => {
  it('keeps a healthy one-hour experiment within 60 Compute Engine requests', async () => {
    const { world, result } = await simulate([{ runMs: 60 * MIN }]);
    assert.equal(result.status, 'succeeded');
    const hours = world.t / (60 * MIN);
    assert.ok(hours > 1, `${hours}`);
    const perHour = computeRequests(world.calls) / hours;
    assert.ok(
      perHour <= 60,
      `${perHour} Compute requests per experiment-hour (${JSON.stringify(world.calls)})`,
    );
  });

  it('does not give up on a running VM whose heartbeats pause for a minute', async () => {
    const { world, result } = await simulate([{ runMs: 10 * MIN, gap: [5 * MIN, 6 * MIN] }]);
    assert.equal(result.status, 'succeeded');
    assert.equal(world.inserts.length, 1);
    assert.ok(world.calls.get >= 4, 'the silent minute is checked against the instance');
  });

  const table: { name: string; first: Behaviour; eventAt: number; limitMs: number; reason: RegExp }[] = [
    {
      name: 'a silent death',
      first: { dieAt: 20 * MIN },
      eventAt: 20 * MIN,
      limitMs: 30 * S,
      reason: /lost/,
    },
    {
      name: 'a VM that vanishes',
      first: { dieAt: 20 * MIN, vanish: true },
      eventAt: 20 * MIN,
      limitMs: 30 * S,
      reason: /lost/,
    },
    {
      name: 'a preemption whose shutdown run writes the status',
      first: { preemptAt: 20 * MIN, statusAfterMs: 4 * S },
      eventAt: 20 * MIN,
      limitMs: 10 * S,
      reason: /preempted/,
    },
    {
      name: 'a preemption whose shutdown run is cut short',
      first: { preemptAt: 20 * MIN },
      eventAt: 20 * MIN,
      limitMs: 30 * S,
      reason: /preempted/,
    },
    {
      name: 'a death right after a heartbeat',
      first: { dieAt: 20 * MIN + 30 * S + 1 },
      eventAt: 20 * MIN + 30 * S + 1,
      limitMs: 30 * S,
      reason: /lost/,
    },
  ];
  for (const c of table) {
    it(`starts the next attempt within ${c.limitMs / S} s of ${c.name}`, async () => {
      const { world, result, warnings } = await simulate([c.first, { runMs: 5 * MIN }]);
      assert.equal(result.status, 'succeeded');
      assert.equal(world.inserts.length, 2);
      const first = world.inserts[0];
      const second = world.inserts[1];
      const delay = second.at - (first.at + c.eventAt);
      assert.ok(delay >= 0 && delay <= c.limitMs, `next insert ${delay / S} s after the event`);
      assert.match(warnings.join('\n'), c.reason);
      assert.equal(world.calls.delete, 2, 'both VMs deleted');
    });
  }

  it('gives up on a RUNNING VM whose agent hangs, after minutes, not seconds', async () => {
    const { world, result } = await simulate([{ hangAt: 10 * MIN }, { runMs: MIN }]);
    assert.equal(result.status, 'succeeded');
    const delay = world.inserts[1].at - (world.inserts[0].at + 10 * MIN);
    assert.ok(delay >= 4 * MIN && delay <= 6 * MIN, `${delay / S} s`);
  });

  it('reports preempted on every attempt as lost, with the reason', async () => {
    const { result } = await simulate(
      [{ preemptAt: MIN }, { preemptAt: MIN, statusAfterMs: 2 * S }, { preemptAt: MIN }],
      { 'max-attempts': '3' },
    );
    assert.equal(result.status, 'lost');
    assert.match(result.reason, /preempted on all 3 attempts/);
  });
});
