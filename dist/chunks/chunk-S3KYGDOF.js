import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  DEFAULT_RETRY,
  GcpError,
  REQUEST_TIMEOUT_MS,
  classifyOperationError,
  withRetries
} from "./chunk-YT5EBHMA.js";

// src/gcp/compute.ts
var CALL_OPTIONS = { retry: null, timeout: REQUEST_TIMEOUT_MS };
var OPERATION_WAIT_TIMEOUT_MS = 15e4;
var OPERATION_DEADLINE_MS = 15 * 6e4;
var ComputeApi = class {
  clients;
  clock;
  counter;
  retry;
  log;
  constructor(clients, clock, counter = { compute: 0, storage: 0 }, opts = {}) {
    this.clients = clients;
    this.clock = clock;
    this.counter = counter;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.log = opts.log;
  }
  get project() {
    return this.clients.project;
  }
  /** One call with the one retry layer; `fn` gets the per-call options to pass to the generated client. */
  call(what, fn) {
    return withRetries(what, () => fn(CALL_OPTIONS), {
      clock: this.clock,
      policy: this.retry,
      ...this.log ? { log: this.log } : {},
      onTry: () => {
        this.counter.compute += 1;
      }
    });
  }
  /** The instance, or undefined when it does not exist. */
  async getInstance(zone, name) {
    try {
      const [instance] = await this.call(
        `get instance ${name}`,
        (o) => this.clients.instances.get({ project: this.project, zone, instance: name }, o)
      );
      return instance;
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === "not-found") return void 0;
      throw err;
    }
  }
  /**
   * Creates an instance and waits for the insert operation. Returns undefined on success and the classified
   * failure when the operation (or the call) failed in a way the caller may route around (stockout, quota,
   * already exists); other failures throw.
   */
  async insertInstance(zone, resource, requestId) {
    let operation;
    try {
      const [lro] = await this.call(
        `create instance ${resource.name ?? ""} in ${zone}`,
        (o) => this.clients.instances.insert(
          { project: this.project, zone, instanceResource: resource, requestId },
          o
        )
      );
      operation = lro.latestResponse;
    } catch (err) {
      if (err instanceof GcpError && ["stockout", "quota", "already-exists"].includes(err.failure.kind)) {
        return err.failure;
      }
      throw err;
    }
    const done = await this.waitOperation(zone, operation);
    if (done.error) {
      const failure = classifyOperationError(done.error);
      if (["stockout", "quota", "already-exists"].includes(failure.kind)) return failure;
      throw new GcpError(`create instance ${resource.name ?? ""} in ${zone}`, failure);
    }
    return void 0;
  }
  /** Deletes an instance and waits until it is gone; an instance that is already gone is fine. */
  async deleteInstance(zone, name) {
    let operation;
    try {
      const [lro] = await this.call(
        `delete instance ${name}`,
        (o) => this.clients.instances.delete({ project: this.project, zone, instance: name }, o)
      );
      operation = lro.latestResponse;
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === "not-found") return;
      if (err instanceof GcpError && err.failure.reason === "resourceNotReady") {
        await this.waitGone(zone, name);
        return;
      }
      throw err;
    }
    const done = await this.waitOperation(zone, operation);
    if (done.error) {
      const failure = classifyOperationError(done.error);
      if (failure.kind !== "not-found" && !/RESOURCE_NOT_FOUND/.test(failure.reason ?? "")) {
        throw new GcpError(`delete instance ${name}`, failure);
      }
    }
  }
  /**
   * Grants `member` `role` on one instance alone, by a read-modify-write of the instance's own allow policy; a
   * change made meanwhile by someone else (409) makes it read again, up to three times.
   */
  async grantOnInstance(zone, name, member, role) {
    const target = { project: this.project, zone, resource: name };
    for (let round = 1; ; round++) {
      const [policy] = await this.call(
        `read the IAM policy of ${name}`,
        (o) => this.clients.instances.getIamPolicy(target, o)
      );
      const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...b.members ?? []] }));
      const same = bindings.find((b) => b.role === role && !b.condition);
      if (same?.members.includes(member)) return;
      if (same) same.members.push(member);
      else bindings.push({ role, members: [member] });
      try {
        await this.call(
          `grant ${role} on ${name}`,
          (o) => this.clients.instances.setIamPolicy(
            { ...target, zoneSetPolicyRequestResource: { policy: { ...policy, bindings } } },
            o
          )
        );
        return;
      } catch (err) {
        if (round < 3 && err instanceof GcpError && err.failure.status === 409) continue;
        throw err;
      }
    }
  }
  /** The zones of a region that are UP, in name order. */
  async zonesOfRegion(region) {
    const [zones] = await this.call(
      `list zones of ${region}`,
      (o) => this.clients.zones.list({ project: this.project }, o)
    );
    return zones.filter((z) => (z.region ?? "").endsWith(`/regions/${region}`) && (z.status ?? "UP") === "UP").map((z) => z.name ?? "").filter((name) => name !== "").sort();
  }
  /** The zone, or undefined when the project has no zone of that name. */
  async getZone(zone) {
    return this.found(
      this.call(`get zone ${zone}`, (o) => this.clients.zones.get({ project: this.project, zone }, o))
    );
  }
  /** The machine type as `zone` offers it (custom types included), or undefined when the zone does not. */
  async getMachineType(zone, machineType) {
    return this.found(
      this.call(
        `get machine type ${machineType} in ${zone}`,
        (o) => this.clients.machineTypes.get({ project: this.project, zone, machineType }, o)
      )
    );
  }
  /** An image of `project` (a public image project such as debian-cloud, or one's own), or undefined. */
  async getImage(project, image) {
    return this.found(
      this.call(`get image ${image} of ${project}`, (o) => this.clients.images.get({ project, image }, o))
    );
  }
  /** The newest image of a family that is not deprecated, or undefined when the family has none. */
  async getImageFromFamily(project, family) {
    return this.found(
      this.call(
        `get image family ${family} of ${project}`,
        (o) => this.clients.images.getFromFamily({ project, family }, o)
      )
    );
  }
  /** The accelerator type as `zone` offers it, or undefined when the zone has none of that type. */
  async getAcceleratorType(zone, acceleratorType) {
    return this.found(
      this.call(
        `get accelerator type ${acceleratorType} in ${zone}`,
        (o) => this.clients.acceleratorTypes.get({ project: this.project, zone, acceleratorType }, o)
      )
    );
  }
  /** The answer of a get, with not-found as undefined. */
  async found(answer) {
    try {
      const [resource] = await answer;
      return resource;
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === "not-found") return void 0;
      throw err;
    }
  }
  /** Polls until the instance no longer exists. */
  async waitGone(zone, name) {
    const deadline = this.clock.now() + OPERATION_DEADLINE_MS;
    while (await this.getInstance(zone, name)) {
      if (this.clock.now() > deadline) {
        throw new GcpError(`delete instance ${name}`, {
          kind: "unavailable",
          status: void 0,
          reason: "timeout",
          message: `${name} was still there ${OPERATION_DEADLINE_MS / 6e4} minutes after its deletion began`
        });
      }
      await this.clock.sleep(500);
    }
  }
  /** Instances matching a list filter (e.g. `labels.gce-matrix-run = "123"`), across pages. */
  async listInstances(zone, filter) {
    const out = [];
    let pageToken;
    do {
      const [items, , response] = await this.call(
        `list instances in ${zone}`,
        (o) => this.clients.instances.list(
          { project: this.project, zone, filter, maxResults: 500, ...pageToken ? { pageToken } : {} },
          { ...o, autoPaginate: false }
        )
      );
      out.push(...items);
      pageToken = response?.nextPageToken ?? void 0;
    } while (pageToken);
    return out;
  }
  /** Serial port 1 output from byte `start`; `next` is where the following call starts. */
  async serialOutput(zone, name, start = 0) {
    try {
      const [out] = await this.call(
        `read serial port of ${name}`,
        (o) => this.clients.instances.getSerialPortOutput(
          { project: this.project, zone, instance: name, port: 1, start },
          o
        )
      );
      return { contents: out.contents ?? "", next: Number(out.next ?? start) };
    } catch (err) {
      if (err instanceof GcpError && err.failure.kind === "not-found") return void 0;
      throw err;
    }
  }
  async waitOperation(zone, operation) {
    const name = operation.name;
    if (!name) throw new Error("bug: a Compute Engine operation without a name");
    const deadline = this.clock.now() + OPERATION_DEADLINE_MS;
    let current = operation;
    while (current.status !== "DONE") {
      if (this.clock.now() > deadline) {
        throw new GcpError(`wait for operation ${name}`, {
          kind: "unavailable",
          status: void 0,
          reason: "timeout",
          message: `operation ${name} did not finish within ${OPERATION_DEADLINE_MS / 6e4} minutes`
        });
      }
      const [next] = await this.call(
        `wait for operation ${name}`,
        (o) => (
          // Compute Engine answers a wait within about two minutes, DONE or not.
          this.clients.zoneOperations.wait(
            { project: this.project, zone, operation: name },
            { ...o, timeout: OPERATION_WAIT_TIMEOUT_MS }
          )
        )
      );
      current = next;
    }
    return current;
  }
};

export {
  ComputeApi
};
