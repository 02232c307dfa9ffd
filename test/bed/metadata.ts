import { MetadataEmulator } from '../../src/emulator/metadata.ts';
import type { MetadataInstance } from '../../src/emulator/metadata.ts';
import type { BedClock } from './clock.ts';
import { BedServer, Recorder } from './http.ts';
import type { TokenRegistry } from './tokens.ts';

/** What one instance's metadata server shows; read afresh on every request, so changes show at once. */
export type MetadataSnapshot = MetadataInstance;

/** What a VM's metadata server is built from: the bed's clock and token registry, and the VM's snapshot. */
export interface MetadataServerOptions {
  clock: BedClock;
  tokens: TokenRegistry;
  snapshot: () => MetadataSnapshot;
  /** Requests are recorded here (and faults taken from here) under `service`. */
  recorder?: Recorder;
  service?: string;
}

/**
 * One instance's metadata server (what `GCE_METADATA_HOST` points at inside the VM): the shared emulator on
 * its own loopback port, in virtual time, behind the bed's recording and fault injection, with access tokens
 * for the instance's service accounts issued by the bed's TokenRegistry.
 */
export class MetadataServer extends BedServer {
  private readonly emulator: MetadataEmulator;

  constructor(opts: MetadataServerOptions) {
    const emulator = new MetadataEmulator({
      instance: opts.snapshot,
      clock: opts.clock,
      tokens: (email, scopes) =>
        opts.tokens.issue({ subject: `serviceAccount:${email}`, email, scopes, kind: 'service-account' }),
    });
    super(opts.service ?? 'metadata', opts.recorder ?? new Recorder(), (req, res) =>
      emulator.handle(req, res),
    );
    this.emulator = emulator;
  }

  /** `127.0.0.1:PORT`, the form `GCE_METADATA_HOST` takes. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Wakes `wait_for_change` requests so they compare their value again. */
  changed(): void {
    this.emulator.changed();
  }

  override async close(): Promise<void> {
    this.emulator.close();
    await super.close();
  }
}
