import type { protos } from '@google-cloud/compute';
import type { Clock } from '../clock.ts';
import { backoffMs } from '../clock.ts';
import type { Failure } from './errors.ts';
import { GcpError, classifyError, classifyOperationError, isTransient } from './errors.ts';
import type { GcpClients } from './clients.ts';

type Instance = protos.google.cloud.compute.v1.IInstance;
type Operation = protos.google.cloud.compute.v1.IOperation;

/** Counts the Compute Engine requests made, for the quota budget and the benchmark. */
export interface RequestCounter {
  compute: number;
  storage: number;
}

/** How many times a transient failure (429, 5xx) is retried before it is reported. */
const TRANSIENT_RETRIES = 6;
/** How long one operation may take before we stop waiting for it. */
const OPERATION_DEADLINE_MS = 15 * 60_000;

/**
 * The Compute Engine calls gce-matrix makes, over the generated v1 clients: retries of transient failures with
 * backoff (an insert keeps its requestId, so a retried insert never makes a second VM), operations waited
 * with `zoneOperations.wait` (the clients' `operation.promise()` does not exist at run time), and every failure
 * classified.
 */
export class ComputeApi {
  private readonly clients: GcpClients;
  private readonly clock: Clock;
  readonly counter: RequestCounter;

  constructor(clients: GcpClients, clock: Clock, counter: RequestCounter = { compute: 0, storage: 0 }) {
    this.clients = clients;
    this.clock = clock;
    this.counter = counter;
  }

  get project(): string {
    return this.clients.project;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      this.counter.compute += 1;
      try {
        return await fn();
      } catch (err) {
        const failure = classifyError(err);
        if (isTransient(failure) && retry < TRANSIENT_RETRIES) {
          await this.clock.sleep(backoffMs(retry, 1000, 30_000));
          continue;
        }
        throw new GcpError(what, failure);
      }
    }
  }

  /** The instance, or undefined when it does not exist. */
  async getInstance(zone: string, name: string): Promise<Instance | undefined> {
    try {
      const [instance] = await this.call(`get instance ${name}`, () =>
        this.clients.instances.get({ project: this.project, zone, instance: name }),
      );
      return instance;
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === 'not-found') return undefined;
      throw err;
    }
  }

  /**
   * Creates an instance and waits for the insert operation. Returns undefined on success and the classified
   * failure when the operation (or the call) failed in a way the caller may route around (stockout, quota,
   * already exists); other failures throw.
   */
  async insertInstance(zone: string, resource: Instance, requestId: string): Promise<Failure | undefined> {
    let operation: Operation;
    try {
      const [lro] = await this.call(`create instance ${resource.name ?? ''} in ${zone}`, () =>
        this.clients.instances.insert({ project: this.project, zone, instanceResource: resource, requestId }),
      );
      operation = lro.latestResponse as Operation;
    } catch (err) {
      if (err instanceof GcpError && ['stockout', 'quota', 'already-exists'].includes(err.failure.kind)) {
        return err.failure;
      }
      throw err;
    }
    const done = await this.waitOperation(zone, operation);
    if (done.error) {
      const failure = classifyOperationError(done.error);
      if (['stockout', 'quota', 'already-exists'].includes(failure.kind)) return failure;
      throw new GcpError(`create instance ${resource.name ?? ''} in ${zone}`, failure);
    }
    return undefined;
  }

  /** Deletes an instance and waits until it is gone; an instance that is already gone is fine. */
  async deleteInstance(zone: string, name: string): Promise<void> {
    let operation: Operation;
    try {
      const [lro] = await this.call(`delete instance ${name}`, () =>
        this.clients.instances.delete({ project: this.project, zone, instance: name }),
      );
      operation = lro.latestResponse as Operation;
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === 'not-found') return;
      // Already being deleted (by its own agent, or the janitor): wait for it to go instead.
      if (err instanceof GcpError && err.failure.reason === 'resourceNotReady') {
        await this.waitGone(zone, name);
        return;
      }
      throw err;
    }
    const done = await this.waitOperation(zone, operation);
    if (done.error) {
      const failure = classifyOperationError(done.error);
      if (failure.kind !== 'not-found' && !/RESOURCE_NOT_FOUND/.test(failure.reason ?? '')) {
        throw new GcpError(`delete instance ${name}`, failure);
      }
    }
  }

  /** The zones of a region that are UP, in name order. */
  async zonesOfRegion(region: string): Promise<string[]> {
    const [zones] = await this.call(`list zones of ${region}`, () =>
      this.clients.zones.list({ project: this.project }),
    );
    return zones
      .filter((z) => (z.region ?? '').endsWith(`/regions/${region}`) && (z.status ?? 'UP') === 'UP')
      .map((z) => z.name ?? '')
      .filter((name) => name !== '')
      .sort();
  }

  /** Polls until the instance no longer exists. */
  private async waitGone(zone: string, name: string): Promise<void> {
    const deadline = this.clock.now() + OPERATION_DEADLINE_MS;
    while (await this.getInstance(zone, name)) {
      if (this.clock.now() > deadline) {
        throw new GcpError(`delete instance ${name}`, {
          kind: 'unavailable',
          status: undefined,
          reason: 'timeout',
          message: `${name} was still there ${OPERATION_DEADLINE_MS / 60_000} minutes after its deletion began`,
        });
      }
      await this.clock.sleep(500);
    }
  }

  /** Instances matching a list filter (e.g. `labels.gce-matrix-run = "123"`), across pages. */
  async listInstances(zone: string, filter: string): Promise<Instance[]> {
    const out: Instance[] = [];
    let pageToken: string | undefined;
    do {
      const [items, , response] = await this.call(`list instances in ${zone}`, () =>
        this.clients.instances.list(
          { project: this.project, zone, filter, maxResults: 500, ...(pageToken ? { pageToken } : {}) },
          { autoPaginate: false },
        ),
      );
      out.push(...items);
      pageToken = response?.nextPageToken ?? undefined;
    } while (pageToken);
    return out;
  }

  /** Serial port 1 output from byte `start`; `next` is where the following call starts. */
  async serialOutput(
    zone: string,
    name: string,
    start = 0,
  ): Promise<{ contents: string; next: number } | undefined> {
    try {
      const [out] = await this.call(`read serial port of ${name}`, () =>
        this.clients.instances.getSerialPortOutput({
          project: this.project,
          zone,
          instance: name,
          port: 1,
          start,
        }),
      );
      return { contents: out.contents ?? '', next: Number(out.next ?? start) };
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === 'not-found') return undefined;
      throw err;
    }
  }

  private async waitOperation(zone: string, operation: Operation): Promise<Operation> {
    const name = operation.name;
    if (!name) throw new Error('bug: a Compute Engine operation without a name');
    const deadline = this.clock.now() + OPERATION_DEADLINE_MS;
    let current = operation;
    while (current.status !== 'DONE') {
      if (this.clock.now() > deadline) {
        throw new GcpError(`wait for operation ${name}`, {
          kind: 'unavailable',
          status: undefined,
          reason: 'timeout',
          message: `operation ${name} did not finish within ${OPERATION_DEADLINE_MS / 60_000} minutes`,
        });
      }
      const [next] = await this.call(`wait for operation ${name}`, () =>
        this.clients.zoneOperations.wait({ project: this.project, zone, operation: name }),
      );
      current = next;
    }
    return current;
  }
}
