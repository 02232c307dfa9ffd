import type { BucketResource, ObjectResource } from '../../src/emulator/storage/emulator.ts';
import { StorageEmulator, objectResource } from '../../src/emulator/storage/emulator.ts';
import { accessDenied, compareNames } from '../../src/emulator/storage/protocol.ts';
import { boundaryAllows } from './access-boundary.ts';
import type { IamModel } from './iam.ts';
import { callerName, objectListResource, resourceFromName } from './iam.ts';
import { MemoryObjectStore } from '../../src/emulator/storage/store.ts';
import type { BedClock } from './clock.ts';
import type { Handler } from './http.ts';
import type { Principal, TokenRegistry } from './tokens.ts';

export type { BucketResource, ObjectResource };

/** Options for {@link StorageStandIn.putObject}. */
export interface PutObjectOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

/**
 * The test bed's Cloud Storage: the product's emulator with objects in memory, the bed's virtual clock, and
 * every call checked against the bed's access tokens. Tests read and write objects directly through it.
 */
export class StorageStandIn {
  private readonly store = new MemoryObjectStore();
  private readonly emulator: StorageEmulator<Principal>;
  private readonly clock: BedClock;
  /** Origin used in links of resources handed out directly; learnt from the Host of the latest request. */
  private origin = 'http://127.0.0.1';

  private readonly bucketCreated: ((name: string) => void) | undefined;

  /**
   * `requireAuth` false: every request is served, with or without a token. `iam`: every call is checked against
   * it (otherwise any valid token may do anything). `bucketCreated` hears of each bucket {@link createBucket}
   * makes, e.g. to apply the bucket's part of a setup.
   */
  constructor(opts: {
    clock: BedClock;
    tokens: TokenRegistry;
    requireAuth?: boolean;
    iam?: IamModel;
    bucketCreated?: (name: string) => void;
  }) {
    this.clock = opts.clock;
    this.bucketCreated = opts.bucketCreated;
    const { tokens, iam } = opts;
    this.emulator = new StorageEmulator<Principal>({
      store: this.store,
      now: () => opts.clock.now(),
      projectNumber: '123456789012',
      access:
        opts.requireAuth === false
          ? undefined
          : {
              identify: (token) => tokens.check(`Bearer ${token}`),
              authorize: (who, permission, resource, request) => {
                if (!who) return accessDenied(undefined, permission, resource);
                if (!iam) return undefined;
                // Cloud Storage tells anyone that a bucket does not exist (its names are global): 404, not 403.
                const named = /^projects\/_\/buckets\/([^/]+)(\/objects\/)?/.exec(resource);
                if (named && !this.hasBucket(named[1])) return undefined;
                const asked =
                  request?.listPrefix !== undefined && named && !named[2]
                    ? objectListResource(named[1], request.listPrefix)
                    : resourceFromName(resource);
                // A downscoped token may do what its principal may, and only within its access boundary.
                const allowed =
                  iam.check(who, permission, asked).allowed &&
                  (who.accessBoundary === undefined ||
                    boundaryAllows(who.accessBoundary, permission, asked, (r) => iam.rolePermissions(r)));
                return allowed ? undefined : accessDenied(callerName(who), permission, resource);
              },
            },
    });
  }

  /** Creates a bucket (or returns the existing one). */
  createBucket(name: string): BucketResource {
    const existed = this.hasBucket(name);
    const bucket = this.emulator.bucketResource(this.store.ensureBucket(name, this.clock.now()), this.origin);
    if (!existed) this.bucketCreated?.(name);
    return bucket;
  }

  private hasBucket(name: string): boolean {
    return this.store.listBuckets().some((b) => b.name === name);
  }

  /** Stores an object directly, creating the bucket if needed; returns its resource. */
  putObject(
    bucket: string,
    name: string,
    data: Buffer | string,
    opts: PutObjectOptions = {},
  ): ObjectResource {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const metadata = {
      contentType: opts.contentType ?? 'application/octet-stream',
      metadata: { ...opts.metadata },
      headerFields: {},
    };
    return objectResource(this.store.put(bucket, name, bytes, metadata, this.clock.now()), this.origin);
  }

  /** An object's data and resource, or undefined. */
  getObject(bucket: string, name: string): { data: Buffer; resource: ObjectResource } | undefined {
    const found = this.store.get(bucket, name);
    return found && { data: found.data, resource: objectResource(found.record, this.origin) };
  }

  /** The resources of a bucket's objects whose names start with `prefix`, in name order. */
  listObjects(bucket: string, prefix = ''): ObjectResource[] {
    return this.store
      .listNames(bucket, { prefix })
      .sort(compareNames)
      .map((n) => objectResource(this.store.get(bucket, n)!.record, this.origin));
  }

  /** Deletes an object; true when it existed. */
  deleteObject(bucket: string, name: string): boolean {
    return this.store.delete(bucket, name);
  }

  /** Resumable upload sessions started and not yet committed or cancelled. */
  openUploads(): number {
    return this.emulator.openUploads();
  }

  /** The HTTP handler to serve with a `BedServer` (which records requests and injects faults). */
  readonly handle: Handler = async (req, res) => {
    this.origin = req.url.origin;
    const target = req.url.pathname + req.url.search;
    await this.emulator.handle({ method: req.method, target, headers: req.headers, body: [req.body] }, res);
  };
}
