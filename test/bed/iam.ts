/**
 * The test bed's model of Google Cloud IAM: who a caller is, which permissions the predefined roles hold, which
 * allow-policy bindings reach a resource (its own, its bucket's or secret's, its project's), the part of the IAM
 * Conditions language that works on resource names, the 403 each Google API answers when IAM says no, and the
 * setup description read from the README's `gcloud` commands. Pure logic: no HTTP, no clock.
 */
import { accessDenied } from '../../src/emulator/storage/protocol.ts';
import type { StoragePermission } from '../../src/emulator/storage/protocol.ts';

// ---------------------------------------------------------------------------------------------------------------
// Principals

/**
 * Who makes a call, as the bed's access tokens record it: `subject` is the caller's own member string
 * (`serviceAccount:EMAIL`, `user:EMAIL`, or a federated `principal://iam.googleapis.com/.../subject/S`); a federated
 * caller also carries its workload identity pool (`projects/NUMBER/locations/global/workloadIdentityPools/POOL`)
 * and its mapped attributes (without the `attribute.` prefix).
 */
export interface Caller {
  readonly subject: string;
  readonly email?: string;
  readonly pool?: string;
  readonly attributes?: Readonly<Record<string, string>>;
}

const PRINCIPAL_SET_PREFIX = 'principalSet://iam.googleapis.com/';
const WORKLOAD_POOL = /^projects\/\d+\/locations\/global\/workloadIdentityPools\/[^/]+$/;

function isFederated(caller: Caller): boolean {
  return caller.subject.startsWith('principal://');
}

/** The address IAM matches a `serviceAccount:` or `user:` member against; emails compare without case. */
function accountAddress(caller: Caller): string | undefined {
  const m = /^(serviceAccount|user):(.+)$/.exec(caller.subject);
  return m ? `${m[1]}:${m[2].toLowerCase()}` : undefined;
}

/**
 * Whether the allow-policy member `member` names `caller` (undefined: a call without credentials). `allUsers`
 * names everyone; `allAuthenticatedUsers` every Google account and service account, but, as Google documents it,
 * no identity from an external identity provider; `principalSet://iam.googleapis.com/POOL/*` every identity of a
 * workload identity pool and `.../POOL/attribute.NAME/VALUE` those whose mapped attribute NAME is VALUE.
 */
export function memberMatches(member: string, caller: Caller | undefined): boolean {
  if (member === 'allUsers') return true;
  if (caller === undefined) return false;
  if (member === 'allAuthenticatedUsers') return !isFederated(caller);
  const account = /^(serviceAccount|user):(.+)$/.exec(member);
  if (account) return accountAddress(caller) === `${account[1]}:${account[2].toLowerCase()}`;
  if (member.startsWith('principal://')) return member === caller.subject;
  if (!member.startsWith(PRINCIPAL_SET_PREFIX) || caller.pool === undefined) return false;
  const rest = member.slice(PRINCIPAL_SET_PREFIX.length);
  if (rest === `${caller.pool}/*`) return true;
  const prefix = `${caller.pool}/attribute.`;
  if (!rest.startsWith(prefix)) return false;
  const attribute = rest.slice(prefix.length);
  const slash = attribute.indexOf('/');
  // Attribute values may themselves hold slashes (`attribute.repository/org/repo`): only the first one separates.
  return slash > 0 && caller.attributes?.[attribute.slice(0, slash)] === attribute.slice(slash + 1);
}

/**
 * Throws unless `member` is a principal identifier this model can match: `allUsers`, `allAuthenticatedUsers`,
 * `serviceAccount:EMAIL`, `user:EMAIL`, `principal://iam.googleapis.com/POOL/subject/S`,
 * `principalSet://iam.googleapis.com/POOL/*` or `principalSet://iam.googleapis.com/POOL/attribute.NAME/VALUE`.
 * Groups and domains are refused rather than silently never matching.
 */
export function validateMember(member: string): void {
  if (member === 'allUsers' || member === 'allAuthenticatedUsers') return;
  if (/^(serviceAccount|user):[^@\s]+@[^@\s]+$/.test(member)) return;
  const federated = /^principal(Set)?:\/\/iam\.googleapis\.com\/(.+)$/.exec(member);
  if (federated) {
    const rest = federated[2];
    const pool = /^(projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+)\/(.+)$/.exec(rest);
    if (pool && WORKLOAD_POOL.test(pool[1])) {
      const tail = pool[2];
      if (federated[1] === undefined && /^subject\/.+$/.test(tail)) return;
      if (federated[1] !== undefined && (tail === '*' || /^attribute\.[A-Za-z0-9_]+\/.+$/.test(tail))) return;
    }
  }
  throw new Error(`IAM member ${JSON.stringify(member)} is not one this model can match`);
}

/** How Google's error messages name a caller: its email, or its principal identifier when it has none. */
export function callerName(caller: Caller): string {
  return caller.email ?? caller.subject.replace(/^(serviceAccount|user):/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Permissions and roles

/**
 * Every permission this model decides on: the ones the emulated Compute Engine, Cloud Storage, Secret Manager and
 * IAM Credentials check (or will), plus Artifact Registry's image pulls. A check for any other permission throws,
 * because the predefined roles below list only these and would wrongly refuse it.
 */
export const MODELLED_PERMISSIONS: readonly string[] = [
  'artifactregistry.dockerimages.get',
  'artifactregistry.dockerimages.list',
  'artifactregistry.repositories.downloadArtifacts',
  'artifactregistry.repositories.get',
  'artifactregistry.repositories.list',
  'compute.acceleratorTypes.get',
  'compute.acceleratorTypes.list',
  'compute.diskTypes.get',
  'compute.diskTypes.list',
  'compute.disks.create',
  'compute.disks.delete',
  'compute.disks.get',
  'compute.disks.list',
  'compute.disks.setLabels',
  'compute.disks.use',
  'compute.disks.useReadOnly',
  'compute.images.get',
  'compute.images.getFromFamily',
  'compute.images.list',
  'compute.images.useReadOnly',
  'compute.instances.create',
  'compute.instances.delete',
  'compute.instances.get',
  'compute.instances.getIamPolicy',
  'compute.instances.getSerialPortOutput',
  'compute.instances.list',
  'compute.instances.reset',
  'compute.instances.setIamPolicy',
  'compute.instances.setLabels',
  'compute.instances.setMetadata',
  'compute.instances.setScheduling',
  'compute.instances.setServiceAccount',
  'compute.instances.setTags',
  'compute.instances.start',
  'compute.instances.stop',
  'compute.instances.update',
  'compute.machineTypes.get',
  'compute.machineTypes.list',
  'compute.networks.get',
  'compute.networks.use',
  'compute.networks.useExternalIp',
  'compute.subnetworks.get',
  'compute.subnetworks.use',
  'compute.subnetworks.useExternalIp',
  'compute.zoneOperations.get',
  'compute.zoneOperations.list',
  'compute.zones.get',
  'compute.zones.list',
  'iam.serviceAccounts.actAs',
  'iam.serviceAccounts.get',
  'iam.serviceAccounts.getAccessToken',
  'iam.serviceAccounts.getOpenIdToken',
  'iam.serviceAccounts.implicitDelegation',
  'iam.serviceAccounts.list',
  'iam.serviceAccounts.signBlob',
  'iam.serviceAccounts.signJwt',
  'secretmanager.secrets.get',
  'secretmanager.secrets.getIamPolicy',
  'secretmanager.secrets.list',
  'secretmanager.versions.access',
  'secretmanager.versions.get',
  'secretmanager.versions.list',
  'storage.buckets.create',
  'storage.buckets.delete',
  'storage.buckets.get',
  'storage.buckets.getIamPolicy',
  'storage.buckets.list',
  'storage.buckets.setIamPolicy',
  'storage.buckets.update',
  'storage.objects.create',
  'storage.objects.delete',
  'storage.objects.get',
  'storage.objects.getIamPolicy',
  'storage.objects.list',
  'storage.objects.setIamPolicy',
  'storage.objects.update',
];

const MODELLED = new Set(MODELLED_PERMISSIONS);

/**
 * The predefined roles the README uses or least privilege may use, each with those of its real permissions that
 * are in {@link MODELLED_PERMISSIONS} (Google's role definitions hold many more, on services the bed does not
 * emulate). Note what they do not hold: `storage.objectAdmin` no `storage.buckets.*`, `compute.viewer` no
 * `compute.images.useReadOnly` and no `compute.subnetworks.use`.
 */
export const PREDEFINED_ROLES: Readonly<Record<string, readonly string[]>> = {
  'roles/artifactregistry.reader': [
    'artifactregistry.dockerimages.get',
    'artifactregistry.dockerimages.list',
    'artifactregistry.repositories.downloadArtifacts',
    'artifactregistry.repositories.get',
    'artifactregistry.repositories.list',
  ],
  'roles/compute.imageUser': [
    'compute.images.get',
    'compute.images.getFromFamily',
    'compute.images.list',
    'compute.images.useReadOnly',
  ],
  'roles/compute.instanceAdmin.v1': [
    'compute.acceleratorTypes.get',
    'compute.acceleratorTypes.list',
    'compute.diskTypes.get',
    'compute.diskTypes.list',
    'compute.disks.create',
    'compute.disks.delete',
    'compute.disks.get',
    'compute.disks.list',
    'compute.disks.setLabels',
    'compute.disks.use',
    'compute.disks.useReadOnly',
    'compute.images.get',
    'compute.images.getFromFamily',
    'compute.images.list',
    'compute.images.useReadOnly',
    'compute.instances.create',
    'compute.instances.delete',
    'compute.instances.get',
    'compute.instances.getSerialPortOutput',
    'compute.instances.list',
    'compute.instances.reset',
    'compute.instances.setLabels',
    'compute.instances.setMetadata',
    'compute.instances.setScheduling',
    'compute.instances.setServiceAccount',
    'compute.instances.setTags',
    'compute.instances.start',
    'compute.instances.stop',
    'compute.instances.update',
    'compute.machineTypes.get',
    'compute.machineTypes.list',
    'compute.networks.get',
    'compute.networks.use',
    'compute.networks.useExternalIp',
    'compute.subnetworks.get',
    'compute.subnetworks.use',
    'compute.subnetworks.useExternalIp',
    'compute.zoneOperations.get',
    'compute.zoneOperations.list',
    'compute.zones.get',
    'compute.zones.list',
  ],
  'roles/compute.viewer': [
    'compute.acceleratorTypes.get',
    'compute.acceleratorTypes.list',
    'compute.diskTypes.get',
    'compute.diskTypes.list',
    'compute.disks.get',
    'compute.disks.list',
    'compute.images.get',
    'compute.images.getFromFamily',
    'compute.images.list',
    'compute.instances.get',
    'compute.instances.getSerialPortOutput',
    'compute.instances.list',
    'compute.machineTypes.get',
    'compute.machineTypes.list',
    'compute.networks.get',
    'compute.subnetworks.get',
    'compute.zoneOperations.get',
    'compute.zoneOperations.list',
    'compute.zones.get',
    'compute.zones.list',
  ],
  'roles/iam.serviceAccountOpenIdTokenCreator': ['iam.serviceAccounts.getOpenIdToken'],
  'roles/iam.serviceAccountTokenCreator': [
    'iam.serviceAccounts.get',
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
    'iam.serviceAccounts.implicitDelegation',
    'iam.serviceAccounts.list',
    'iam.serviceAccounts.signBlob',
    'iam.serviceAccounts.signJwt',
  ],
  'roles/iam.serviceAccountUser': [
    'iam.serviceAccounts.actAs',
    'iam.serviceAccounts.get',
    'iam.serviceAccounts.list',
  ],
  'roles/iam.workloadIdentityUser': [
    'iam.serviceAccounts.get',
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
    'iam.serviceAccounts.list',
  ],
  'roles/secretmanager.secretAccessor': ['secretmanager.versions.access'],
  'roles/secretmanager.viewer': [
    'secretmanager.secrets.get',
    'secretmanager.secrets.getIamPolicy',
    'secretmanager.secrets.list',
    'secretmanager.versions.get',
    'secretmanager.versions.list',
  ],
  'roles/storage.admin': [
    'storage.buckets.create',
    'storage.buckets.delete',
    'storage.buckets.get',
    'storage.buckets.getIamPolicy',
    'storage.buckets.list',
    'storage.buckets.setIamPolicy',
    'storage.buckets.update',
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.getIamPolicy',
    'storage.objects.list',
    'storage.objects.setIamPolicy',
    'storage.objects.update',
  ],
  'roles/storage.objectAdmin': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.getIamPolicy',
    'storage.objects.list',
    'storage.objects.setIamPolicy',
    'storage.objects.update',
  ],
  'roles/storage.objectCreator': ['storage.objects.create'],
  'roles/storage.objectUser': [
    'storage.objects.create',
    'storage.objects.delete',
    'storage.objects.get',
    'storage.objects.list',
    'storage.objects.update',
  ],
  'roles/storage.objectViewer': ['storage.objects.get', 'storage.objects.list'],
};

/** Whether {@link IamModel.check} can decide on `permission`. */
export function isModelledPermission(permission: string): boolean {
  return MODELLED.has(permission);
}

const CUSTOM_ROLE_NAME = /^(projects|organizations)\/[^/]+\/roles\/[A-Za-z0-9_.]{3,64}$/;

// ---------------------------------------------------------------------------------------------------------------
// Resources as IAM sees them

/**
 * The resource of one check, with the attributes IAM Conditions see: `name` (e.g.
 * `projects/_/buckets/B/objects/O`, `projects/P/zones/Z/instances/N`, `projects/NUMBER/secrets/S/versions/V`),
 * `type` (`storage.googleapis.com/Object`) and `service` (`storage.googleapis.com`). `recognised: false` marks a
 * resource whose service does not support resource attributes: its conditions see empty strings.
 * `apiAttributes` are the request's `api.getAttribute()` values, e.g. `storage.googleapis.com/objectListPrefix`.
 */
export interface IamResource {
  readonly name: string;
  readonly type: string;
  readonly service: string;
  readonly recognised?: boolean;
  readonly apiAttributes?: Readonly<Record<string, string>>;
}

/** The `api.getAttribute()` key Cloud Storage sets to the `prefix` of an objects.list request. */
export const OBJECT_LIST_PREFIX = 'storage.googleapis.com/objectListPrefix';

const STORAGE = 'storage.googleapis.com';
const COMPUTE = 'compute.googleapis.com';
const SECRET_MANAGER = 'secretmanager.googleapis.com';

/** A project, for calls on the project itself (e.g. `storage.buckets.list`, `storage.buckets.create`). */
export function projectResource(project: string): IamResource {
  return {
    name: `projects/${project}`,
    type: 'cloudresourcemanager.googleapis.com/Project',
    service: 'cloudresourcemanager.googleapis.com',
  };
}

/** A Cloud Storage bucket (`projects/_/buckets/B`). */
export function bucketResource(bucket: string): IamResource {
  return { name: `projects/_/buckets/${bucket}`, type: `${STORAGE}/Bucket`, service: STORAGE };
}

/** A Cloud Storage object (`projects/_/buckets/B/objects/O`, the name not encoded). */
export function objectResource(bucket: string, object: string): IamResource {
  return {
    name: `projects/_/buckets/${bucket}/objects/${object}`,
    type: `${STORAGE}/Object`,
    service: STORAGE,
  };
}

/**
 * What IAM sees of an objects.list call: the bucket (so a condition on object names cannot grant a listing) and the
 * request's prefix as the `storage.googleapis.com/objectListPrefix` API attribute.
 */
export function objectListResource(bucket: string, prefix = ''): IamResource {
  return { ...bucketResource(bucket), apiAttributes: { [OBJECT_LIST_PREFIX]: prefix } };
}

/** A Compute Engine instance (`projects/P/zones/Z/instances/N`). */
export function instanceResource(project: string, zone: string, instance: string): IamResource {
  return {
    name: `projects/${project}/zones/${zone}/instances/${instance}`,
    type: `${COMPUTE}/Instance`,
    service: COMPUTE,
  };
}

/** A Compute Engine disk (`projects/P/zones/Z/disks/N`). */
export function diskResource(project: string, zone: string, disk: string): IamResource {
  return {
    name: `projects/${project}/zones/${zone}/disks/${disk}`,
    type: `${COMPUTE}/Disk`,
    service: COMPUTE,
  };
}

/** A Compute Engine image, by name or as `family/F` (`projects/P/global/images/...`). */
export function imageResource(project: string, image: string): IamResource {
  return { name: `projects/${project}/global/images/${image}`, type: `${COMPUTE}/Image`, service: COMPUTE };
}

/** A subnetwork (`projects/P/regions/R/subnetworks/S`). */
export function subnetworkResource(project: string, region: string, subnetwork: string): IamResource {
  return {
    name: `projects/${project}/regions/${region}/subnetworks/${subnetwork}`,
    type: `${COMPUTE}/Subnetwork`,
    service: COMPUTE,
  };
}

/**
 * Any other Compute Engine resource by its path under the project, e.g. `zones/Z`, `zones/Z/operations/OP`,
 * `zones/Z/machineTypes/T`, `zones/Z/acceleratorTypes/T`: kinds the resource-attribute list does not name, so
 * their conditions see empty attributes.
 */
export function computeResource(project: string, path: string): IamResource {
  return { name: `projects/${project}/${path}`, type: '', service: COMPUTE, recognised: false };
}

/** A Secret Manager secret; Secret Manager names it by the project NUMBER. */
export function secretResource(projectNumber: string, secret: string): IamResource {
  return {
    name: `projects/${projectNumber}/secrets/${secret}`,
    type: `${SECRET_MANAGER}/Secret`,
    service: SECRET_MANAGER,
  };
}

/** A version of a Secret Manager secret (`projects/NUMBER/secrets/S/versions/V`). */
export function secretVersionResource(projectNumber: string, secret: string, version: string): IamResource {
  return {
    name: `projects/${projectNumber}/secrets/${secret}/versions/${version}`,
    type: `${SECRET_MANAGER}/SecretVersion`,
    service: SECRET_MANAGER,
  };
}

/** A service account (`projects/-/serviceAccounts/EMAIL`); IAM offers no resource attributes for it. */
export function serviceAccountResource(email: string, project = '-'): IamResource {
  return {
    name: `projects/${project}/serviceAccounts/${email}`,
    type: 'iam.googleapis.com/ServiceAccount',
    service: 'iam.googleapis.com',
    recognised: false,
  };
}

/**
 * The resource a bare IAM resource name stands for, with its type and service read from the name's shape (what an
 * emulator's authorization hook passes). Throws for a name of no kind this model knows.
 */
export function resourceFromName(name: string): IamResource {
  let m = /^projects\/_\/buckets\/([^/]+)(?:\/objects\/([\s\S]+))?$/.exec(name);
  if (m) return m[2] === undefined ? bucketResource(m[1]) : objectResource(m[1], m[2]);
  m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(name);
  if (m) return m[3] === undefined ? secretResource(m[1], m[2]) : secretVersionResource(m[1], m[2], m[3]);
  m = /^projects\/([^/]+)\/serviceAccounts\/([^/]+)$/.exec(name);
  if (m) return serviceAccountResource(m[2], m[1]);
  m = /^projects\/([^/]+)\/zones\/([^/]+)\/(instances|disks)\/([^/]+)$/.exec(name);
  if (m) return m[3] === 'instances' ? instanceResource(m[1], m[2], m[4]) : diskResource(m[1], m[2], m[4]);
  m = /^projects\/([^/]+)\/global\/images\/(.+)$/.exec(name);
  if (m) return imageResource(m[1], m[2]);
  m = /^projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(name);
  if (m) return subnetworkResource(m[1], m[2], m[3]);
  m = /^projects\/([^/]+)\/(.+)$/.exec(name);
  if (m) return computeResource(m[1], m[2]);
  m = /^projects\/([^/]+)$/.exec(name);
  if (m) return projectResource(m[1]);
  throw new Error(`${JSON.stringify(name)} is not a resource name this model knows`);
}

// ---------------------------------------------------------------------------------------------------------------
// IAM Conditions

/** A binding's condition as gcloud takes it: `--condition=expression=...,title=...,description=...`. */
export interface IamCondition {
  readonly expression: string;
  readonly title: string;
  readonly description?: string;
}

type Expr =
  | { readonly k: 'string'; readonly value: string }
  | { readonly k: 'bool'; readonly value: boolean }
  | { readonly k: 'attribute'; readonly name: 'name' | 'type' | 'service' }
  | { readonly k: 'api'; readonly key: Expr; readonly fallback: Expr }
  | {
      readonly k: 'method';
      readonly method: 'startsWith' | 'endsWith' | 'extract';
      readonly target: Expr;
      readonly arg: Expr;
    }
  | { readonly k: 'compare'; readonly equal: boolean; readonly left: Expr; readonly right: Expr }
  | { readonly k: 'not'; readonly operand: Expr }
  | { readonly k: 'logic'; readonly and: boolean; readonly left: Expr; readonly right: Expr };

type Token = { readonly kind: 'string' | 'ident' | 'op'; readonly text: string; readonly at: number };

function lexCondition(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      const at = i;
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new Error(`unterminated string at ${at}`);
        const d = source[i];
        if (d === c) break;
        if (d === '\\') {
          const e = source[i + 1];
          const escaped: Record<string, string> = {
            '\\': '\\',
            "'": "'",
            '"': '"',
            n: '\n',
            t: '\t',
            r: '\r',
          };
          if (e === undefined || escaped[e] === undefined) throw new Error(`unsupported escape at ${i}`);
          text += escaped[e];
          i += 2;
        } else {
          text += d;
          i++;
        }
      }
      i++;
      tokens.push({ kind: 'string', text, at });
    } else if (/[A-Za-z0-9_]/.test(c)) {
      const m = /^[A-Za-z0-9_]+/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0], at: i });
      i += m[0].length;
    } else {
      // Operators the subset lacks (`<`, `+`, ...) still lex, so that the parser names what is unsupported.
      const op = ['&&', '||', '==', '!=', '<=', '>='].find((o) => source.startsWith(o, i)) ?? c;
      tokens.push({ kind: 'op', text: op, at: i });
      i += op.length;
    }
  }
  return tokens;
}

type Typed = { readonly expr: Expr; readonly type: 'string' | 'bool' };

/** Recursive descent over the subset of CEL that IAM Conditions offer for resource attributes. */
class ConditionParser {
  private i = 0;
  private readonly tokens: Token[];

  constructor(source: string) {
    this.tokens = lexCondition(source);
  }

  parse(): Expr {
    const e = this.or();
    const rest = this.tokens[this.i];
    if (rest) throw new Error(`unexpected ${JSON.stringify(rest.text)} at ${rest.at}`);
    return this.expect(e, 'bool', 'the condition').expr;
  }

  private peek(text: string): boolean {
    const t = this.tokens[this.i];
    return t !== undefined && t.kind === 'op' && t.text === text;
  }

  private take(text: string): void {
    const t = this.tokens[this.i];
    if (!this.peek(text)) throw new Error(`expected ${JSON.stringify(text)} at ${t ? t.at : 'the end'}`);
    this.i++;
  }

  private expect(e: Typed, type: 'string' | 'bool', what: string): Typed {
    if (e.type !== type) throw new Error(`${what} must be a ${type}, not a ${e.type}`);
    return e;
  }

  private or(): Typed {
    let left = this.and();
    while (this.peek('||')) {
      this.i++;
      const right = this.and();
      left = this.logic(false, left, right, '||');
    }
    return left;
  }

  private and(): Typed {
    let left = this.unary();
    while (this.peek('&&')) {
      this.i++;
      const right = this.unary();
      left = this.logic(true, left, right, '&&');
    }
    return left;
  }

  private logic(and: boolean, left: Typed, right: Typed, op: string): Typed {
    this.expect(left, 'bool', `the left side of ${op}`);
    this.expect(right, 'bool', `the right side of ${op}`);
    return { expr: { k: 'logic', and, left: left.expr, right: right.expr }, type: 'bool' };
  }

  private unary(): Typed {
    if (this.peek('!')) {
      this.i++;
      const operand = this.expect(this.unary(), 'bool', 'the operand of !');
      return { expr: { k: 'not', operand: operand.expr }, type: 'bool' };
    }
    return this.comparison();
  }

  private comparison(): Typed {
    const left = this.postfix();
    if (this.peek('==') || this.peek('!=')) {
      const equal = this.tokens[this.i].text === '==';
      this.i++;
      const right = this.postfix();
      if (left.type !== right.type) throw new Error(`cannot compare a ${left.type} with a ${right.type}`);
      return { expr: { k: 'compare', equal, left: left.expr, right: right.expr }, type: 'bool' };
    }
    return left;
  }

  private postfix(): Typed {
    let e = this.primary();
    while (this.peek('.')) {
      this.i++;
      const name = this.identifier();
      if (name !== 'startsWith' && name !== 'endsWith' && name !== 'extract') {
        throw new Error(`unsupported function ${name}()`);
      }
      this.expect(e, 'string', `the receiver of ${name}()`);
      this.take('(');
      const arg = this.expect(this.or(), 'string', `the argument of ${name}()`);
      this.take(')');
      e = {
        expr: { k: 'method', method: name, target: e.expr, arg: arg.expr },
        type: name === 'extract' ? 'string' : 'bool',
      };
    }
    return e;
  }

  private identifier(): string {
    const t = this.tokens[this.i];
    if (t?.kind !== 'ident') throw new Error(`expected a name at ${t ? t.at : 'the end'}`);
    this.i++;
    return t.text;
  }

  private primary(): Typed {
    const t = this.tokens[this.i];
    if (t === undefined) throw new Error('the condition ends too early');
    if (t.kind === 'string') {
      this.i++;
      return { expr: { k: 'string', value: t.text }, type: 'string' };
    }
    if (this.peek('(')) {
      this.i++;
      const e = this.or();
      this.take(')');
      return e;
    }
    const name = this.identifier();
    if (name === 'true' || name === 'false')
      return { expr: { k: 'bool', value: name === 'true' }, type: 'bool' };
    if (/^\d/.test(name)) throw new Error(`unsupported number ${name} (resource attributes are strings)`);
    if (name === 'resource') {
      this.take('.');
      const attribute = this.identifier();
      if (attribute !== 'name' && attribute !== 'type' && attribute !== 'service') {
        throw new Error(`unsupported attribute resource.${attribute}`);
      }
      return { expr: { k: 'attribute', name: attribute }, type: 'string' };
    }
    if (name === 'api') {
      this.take('.');
      const fn = this.identifier();
      if (fn !== 'getAttribute') throw new Error(`unsupported function api.${fn}()`);
      this.take('(');
      const key = this.expect(this.or(), 'string', 'the key of api.getAttribute()');
      this.take(',');
      const fallback = this.expect(this.or(), 'string', 'the default of api.getAttribute()');
      this.take(')');
      return { expr: { k: 'api', key: key.expr, fallback: fallback.expr }, type: 'string' };
    }
    throw new Error(
      `unsupported attribute ${name} (this model knows resource.name, resource.type, resource.service and api.getAttribute)`,
    );
  }
}

/**
 * `extract(template)` as IAM Conditions define it: the text between the first occurrence of the template's part
 * before `{var}` and the next occurrence of its part after it (or the end); the empty string when either is missing.
 */
function extract(value: string, template: string): string {
  const m = /^([^{}]*)\{[^{}]+\}([^{}]*)$/.exec(template);
  if (!m) throw new Error(`extract() template ${JSON.stringify(template)} must hold exactly one {variable}`);
  const [, before, after] = m;
  const start = value.indexOf(before);
  if (start < 0) return '';
  const from = start + before.length;
  if (after === '') return value.slice(from);
  const end = value.indexOf(after, from);
  return end < 0 ? '' : value.slice(from, end);
}

function evaluate(e: Expr, resource: IamResource): string | boolean {
  switch (e.k) {
    case 'string':
    case 'bool':
      return e.value;
    case 'attribute':
      return resource.recognised === false ? '' : resource[e.name];
    case 'api':
      return resource.apiAttributes?.[text(e.key, resource)] ?? text(e.fallback, resource);
    case 'method': {
      const target = text(e.target, resource);
      const arg = text(e.arg, resource);
      if (e.method === 'startsWith') return target.startsWith(arg);
      if (e.method === 'endsWith') return target.endsWith(arg);
      return extract(target, arg);
    }
    case 'compare':
      return (evaluate(e.left, resource) === evaluate(e.right, resource)) === e.equal;
    case 'not':
      return !truth(e.operand, resource);
    case 'logic':
      return e.and
        ? truth(e.left, resource) && truth(e.right, resource)
        : truth(e.left, resource) || truth(e.right, resource);
  }
}

function text(e: Expr, resource: IamResource): string {
  const value = evaluate(e, resource);
  if (typeof value !== 'string') throw new Error('expected a string');
  return value;
}

function truth(e: Expr, resource: IamResource): boolean {
  const value = evaluate(e, resource);
  if (typeof value !== 'boolean') throw new Error('expected a bool');
  return value;
}

/**
 * Compiles a condition expression into a predicate over a resource; throws on syntax this model does not support:
 * string literals, `true`/`false`, `resource.name|type|service`, `api.getAttribute(KEY, DEFAULT)`, the string
 * functions `startsWith()`, `endsWith()`, `extract()`, `==`, `!=`, `!`, `&&`, `||` and parentheses. Matching is
 * literal: no character is a wildcard.
 */
export function compileCondition(expression: string): (resource: IamResource) => boolean {
  let expr: Expr;
  try {
    expr = new ConditionParser(expression).parse();
  } catch (err) {
    throw new Error(`condition ${JSON.stringify(expression)}: ${(err as Error).message}`);
  }
  return (resource) => truth(expr, resource);
}

/** Evaluates one condition expression against a resource (see {@link compileCondition}). */
export function evaluateCondition(expression: string, resource: IamResource): boolean {
  return compileCondition(expression)(resource);
}

// ---------------------------------------------------------------------------------------------------------------
// Policies and decisions

/** One role granted to one member on one resource, maybe under a condition. */
export interface Grant {
  /** The resource whose policy holds the binding (`projects/P`, `projects/_/buckets/B`, ...). */
  readonly resource: string;
  readonly member: string;
  readonly role: string;
  readonly condition?: IamCondition;
}

/** The outcome of {@link IamModel.check}; `reason` says which grant allowed it, or why nothing did. */
export type Decision =
  | { readonly allowed: true; readonly reason: string; readonly grant: Grant }
  | { readonly allowed: false; readonly reason: string };

interface StoredGrant extends Grant {
  readonly holds: (resource: IamResource) => boolean;
}

/** A project as IAM knows it: its id and its number (Secret Manager names resources by the number). */
export interface ProjectIdentity {
  readonly id: string;
  readonly number: string;
}

/**
 * Allow policies over the bed's resources and the decision IAM makes on each call: a call is allowed when a
 * binding on the resource or one of its ancestors (object -> bucket -> project; secret version -> secret ->
 * project; instance -> project; service account -> its project) grants a role holding the permission to a
 * member naming the caller, and the binding's condition, if any, holds for the resource called. Nothing else is
 * allowed.
 */
export class IamModel {
  private readonly projectsById = new Map<string, ProjectIdentity>();
  private readonly projectsByNumber = new Map<string, ProjectIdentity>();
  private readonly bucketProjects = new Map<string, string>();
  private readonly customRoles = new Map<string, readonly string[]>();
  private readonly policies = new Map<string, StoredGrant[]>();
  private readonly used = new Map<string, Set<string>>();

  constructor(opts: { projects?: readonly ProjectIdentity[] } = {}) {
    for (const p of opts.projects ?? []) this.addProject(p);
  }

  /** Declares a project's id and number. */
  addProject(project: ProjectIdentity): void {
    this.projectsById.set(project.id, project);
    this.projectsByNumber.set(project.number, project);
  }

  /** Declares which project a bucket belongs to, so that the project's policy reaches its objects. */
  setBucketProject(bucket: string, project: string): void {
    this.bucketProjects.set(bucket, this.projectId(project));
  }

  /** Defines a custom role (`projects/P/roles/ID` or `organizations/O/roles/ID`) with its permissions. */
  addCustomRole(name: string, permissions: readonly string[]): void {
    if (!CUSTOM_ROLE_NAME.test(name)) throw new Error(`${JSON.stringify(name)} is not a custom role name`);
    this.customRoles.set(name, [...permissions]);
  }

  /** The permissions of a predefined or custom role; throws for a role this model does not know. */
  rolePermissions(role: string): readonly string[] {
    const permissions = PREDEFINED_ROLES[role] ?? this.customRoles.get(role);
    if (permissions) return permissions;
    if (/^roles\/(owner|editor|viewer)$/.test(role)) {
      throw new Error(`${role} is a basic role; this model does not hold its thousands of permissions`);
    }
    throw new Error(
      `role ${role} is not modelled: add it with its real permissions, or define it as a custom role`,
    );
  }

  /**
   * Adds a binding to the policy of a project (`projects/P`), bucket (`projects/_/buckets/B`), secret
   * (`projects/P/secrets/S`, by id or number), service account (`projects/P|-/serviceAccounts/EMAIL`) or instance
   * (`projects/P/zones/Z/instances/N`). Throws for an unknown role, an unsupported member or condition, or a
   * resource that holds no policy.
   */
  grant(resourceName: string, member: string, role: string, condition?: IamCondition): void {
    this.rolePermissions(role);
    validateMember(member);
    const key = this.policyKey(resourceName);
    const holds = condition ? compileCondition(condition.expression) : () => true;
    const list = this.policies.get(key) ?? [];
    if (list.some((g) => g.member === member && g.role === role && sameCondition(g.condition, condition)))
      return;
    list.push({ resource: key, member, role, ...(condition ? { condition } : {}), holds });
    this.policies.set(key, list);
  }

  /** Removes the binding of `role` to `member` on a resource (whatever its condition); true when one existed. */
  revoke(resourceName: string, member: string, role: string): boolean {
    const key = this.policyKey(resourceName);
    const list = this.policies.get(key) ?? [];
    const kept = list.filter((g) => !(g.member === member && g.role === role));
    this.policies.set(key, kept);
    return kept.length !== list.length;
  }

  /**
   * Replaces the bindings on one resource's own policy (what a service's `setIamPolicy` does); each binding is
   * checked as {@link grant} checks it, and nothing changes when one is refused.
   */
  setPolicy(
    resourceName: string,
    bindings: readonly { role: string; member: string; condition?: IamCondition }[],
  ): void {
    const key = this.policyKey(resourceName);
    for (const b of bindings) {
      this.rolePermissions(b.role);
      validateMember(b.member);
      if (b.condition) compileCondition(b.condition.expression);
    }
    this.policies.set(key, []);
    for (const b of bindings) this.grant(key, b.member, b.role, b.condition);
  }

  /** Forgets a resource's own policy (the resource was deleted). */
  dropPolicy(resourceName: string): void {
    this.policies.delete(this.policyKey(resourceName));
  }

  /**
   * Each binding that allowed at least one call since the model was made, with the permissions it allowed:
   * `RESOURCE MEMBER ROLE` -> permissions. A setup's binding missing here was never needed by what ran.
   */
  usage(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.used;
  }

  /** The bindings on one resource's own policy. */
  grantsOn(resourceName: string): readonly Grant[] {
    return (this.policies.get(this.policyKey(resourceName)) ?? []).map(
      ({ resource, member, role, condition }) => ({
        resource,
        member,
        role,
        ...(condition ? { condition } : {}),
      }),
    );
  }

  /**
   * Decides whether `caller` (undefined: no credentials) holds `permission` on `resource` (an {@link IamResource}
   * or a bare name, see {@link resourceFromName}). Throws for a permission outside {@link MODELLED_PERMISSIONS}
   * and for a secret of a project whose number was not declared.
   */
  check(caller: Caller | undefined, permission: string, resource: IamResource | string): Decision {
    if (!isModelledPermission(permission)) {
      throw new Error(
        `permission ${permission} is not modelled: add it to MODELLED_PERMISSIONS and to every role that holds it`,
      );
    }
    const asked = this.normalise(typeof resource === 'string' ? resourceFromName(resource) : resource);
    const targets = this.policyTargets(asked.name);
    const unmet: string[] = [];
    for (const target of targets) {
      for (const g of this.policies.get(target) ?? []) {
        if (!this.rolePermissions(g.role).includes(permission) || !memberMatches(g.member, caller)) continue;
        let holds: boolean;
        try {
          holds = g.holds(asked);
        } catch {
          // IAM treats a condition that fails to evaluate as false.
          holds = false;
        }
        if (holds) {
          const grant: Grant = {
            resource: g.resource,
            member: g.member,
            role: g.role,
            ...(g.condition ? { condition: g.condition } : {}),
          };
          const key = `${g.resource} ${g.member} ${g.role}`;
          const permissions = this.used.get(key) ?? new Set<string>();
          permissions.add(permission);
          this.used.set(key, permissions);
          const why = g.condition ? ` under condition "${g.condition.title}"` : '';
          return { allowed: true, reason: `${g.member} has ${g.role} on ${target}${why}`, grant };
        }
        unmet.push(`${g.role} on ${target} for ${g.member} only when ${g.condition!.expression}`);
      }
    }
    const who = caller?.subject ?? 'a caller without credentials';
    const why = unmet.length
      ? `its conditions do not hold: ${unmet.join('; ')}`
      : `no binding on ${targets.join(', ')} grants it`;
    return { allowed: false, reason: `${who} lacks ${permission} on ${asked.name}: ${why}` };
  }

  private projectId(project: string): string {
    return this.projectsByNumber.get(project)?.id ?? project;
  }

  private projectNumber(project: string): string {
    if (/^\d+$/.test(project)) return project;
    const known = this.projectsById.get(project);
    if (!known) throw new Error(`project ${project}'s number is unknown; declare it with addProject`);
    return known.number;
  }

  /** The name as the service itself puts it in conditions: Secret Manager with project numbers, others with ids. */
  private normalise(resource: IamResource): IamResource {
    const secret = /^projects\/([^/]+)\/(secrets\/.+)$/.exec(resource.name);
    if (secret) return { ...resource, name: `projects/${this.projectNumber(secret[1])}/${secret[2]}` };
    const other = /^projects\/(\d+)(\/.*)?$/.exec(resource.name);
    if (other && this.projectsByNumber.has(other[1]) && !resource.name.startsWith('projects/_/')) {
      return { ...resource, name: `projects/${this.projectId(other[1])}${other[2] ?? ''}` };
    }
    return resource;
  }

  /** The key of the policy a grant on `resourceName` goes to; throws for resources that hold no policy here. */
  private policyKey(resourceName: string): string {
    let m = /^projects\/([^/]+)$/.exec(resourceName);
    if (m && m[1] !== '_') return `projects/${this.projectId(m[1])}`;
    m = /^projects\/_\/buckets\/([^/]+)$/.exec(resourceName);
    if (m) return resourceName;
    m = /^projects\/([^/]+)\/secrets\/([^/]+)$/.exec(resourceName);
    if (m) return `projects/${this.projectNumber(m[1])}/secrets/${m[2]}`;
    m = /^projects\/([^/]+)\/serviceAccounts\/([^/]+)$/.exec(resourceName);
    if (m) return `projects/-/serviceAccounts/${m[2].toLowerCase()}`;
    m = /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/.exec(resourceName);
    if (m) return `projects/${this.projectId(m[1])}/zones/${m[2]}/instances/${m[3]}`;
    throw new Error(
      `${JSON.stringify(resourceName)} holds no policy in this model (projects, buckets, secrets, service accounts and instances do; objects under uniform bucket-level access do not)`,
    );
  }

  /** The policies that reach a (normalised) resource name: its own, then its ancestors'. */
  private policyTargets(name: string): string[] {
    const project = (id: string | undefined): string[] =>
      id === undefined ? [] : [`projects/${this.projectId(id)}`];
    let m = /^projects\/_\/buckets\/([^/]+)(\/objects\/[\s\S]+)?$/.exec(name);
    if (m) return [`projects/_/buckets/${m[1]}`, ...project(this.bucketProjects.get(m[1]))];
    m = /^projects\/([^/]+)\/secrets\/([^/]+)(\/versions\/[^/]+)?$/.exec(name);
    if (m) return [`projects/${m[1]}/secrets/${m[2]}`, ...project(m[1])];
    m = /^projects\/([^/]+)\/serviceAccounts\/([^/]+)$/.exec(name);
    if (m) {
      const domain = /@([a-z][-a-z0-9]*)\.iam\.gserviceaccount\.com$/i.exec(m[2]);
      const owner = m[1] !== '-' ? m[1] : domain?.[1];
      return [`projects/-/serviceAccounts/${m[2].toLowerCase()}`, ...project(owner)];
    }
    m = /^projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/.exec(name);
    if (m) return [name, ...project(m[1])];
    m = /^projects\/([^/]+)(\/.*)?$/.exec(name);
    if (m) return project(m[1]);
    throw new Error(`${JSON.stringify(name)} is not a resource name this model knows`);
  }
}

function sameCondition(a: IamCondition | undefined, b: IamCondition | undefined): boolean {
  return a?.expression === b?.expression && a?.title === b?.title;
}

// ---------------------------------------------------------------------------------------------------------------
// Google's refusals

/** An HTTP answer: status, headers and JSON body. */
export interface GoogleErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/**
 * Cloud Storage's refusal (JSON API): `403 {"error": {"code", "message", "errors": [{"message", "domain": "global",
 * "reason": "forbidden"}]}}` with the message "EMAIL does not have PERMISSION access to the Google Cloud Storage
 * object|bucket|project. Permission 'PERMISSION' denied on resource (or it may not exist).", or a 401 when the call
 * carried no credentials. The storage emulator's own `accessDenied` builds it.
 */
export function storageDenied(
  caller: Caller | undefined,
  permission: StoragePermission,
  resourceName: string,
): GoogleErrorResponse {
  const refusal = accessDenied(caller && callerName(caller), permission, resourceName);
  return { status: refusal.status, headers: refusal.headers, body: refusal.body() };
}

/** One permission a Compute Engine call lacked, and on what. */
export interface MissingPermission {
  readonly permission: string;
  readonly resourceName: string;
}

/**
 * Compute Engine's refusal: `403 {"error": {"code": 403, "message": "Required 'PERMISSION' permission for
 * 'RESOURCE'", "errors": [{"message", "domain": "global", "reason": "forbidden"}, ...]}}`, one `errors` entry per
 * missing permission and the first one as the message.
 */
export function computeDenied(missing: readonly MissingPermission[]): GoogleErrorResponse {
  if (missing.length === 0) throw new Error('computeDenied needs at least one missing permission');
  const messages = missing.map((m) => `Required '${m.permission}' permission for '${m.resourceName}'`);
  return {
    status: 403,
    headers: {},
    body: {
      error: {
        code: 403,
        message: messages[0],
        errors: messages.map((message) => ({ message, domain: 'global', reason: 'forbidden' })),
      },
    },
  };
}

/** The error of a Compute Engine operation, as its `error.errors[0]` and `httpError*` fields carry it. */
export interface ComputeOperationError {
  readonly code: string;
  readonly message: string;
  readonly httpStatus: number;
  readonly httpMessage: string;
}

/**
 * How Compute Engine refuses to attach a service account the caller may not act as: the insert is accepted, and
 * its operation ends with `SERVICE_ACCOUNT_ACCESS_DENIED` (HTTP 400) and no instance.
 */
export function computeServiceAccountAccessDenied(
  serviceAccount: string,
  caller: Caller,
): ComputeOperationError {
  return {
    code: 'SERVICE_ACCOUNT_ACCESS_DENIED',
    message: `The user does not have access to service account '${serviceAccount}'.  User: '${callerName(caller)}'.  Ask a project owner to grant you the iam.serviceAccountUser role on the service account`,
    httpStatus: 400,
    httpMessage: 'BAD REQUEST',
  };
}

function permissionDenied(message: string, errorInfo: Record<string, unknown>): GoogleErrorResponse {
  return {
    status: 403,
    headers: {},
    body: {
      error: {
        code: 403,
        message,
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            ...errorInfo,
          },
        ],
      },
    },
  };
}

/**
 * Secret Manager's refusal: `403 {"error": {"code": 403, "message": "Permission 'PERMISSION' denied for resource
 * 'NAME' (or it may not exist).", "status": "PERMISSION_DENIED", "details": [ErrorInfo]}}`, NAME as the request
 * spelled it (project id or number, `latest` or a version number).
 */
export function secretManagerDenied(permission: string, requestedName: string): GoogleErrorResponse {
  return permissionDenied(
    `Permission '${permission}' denied for resource '${requestedName}' (or it may not exist).`,
    {
      domain: 'secretmanager.googleapis.com',
      metadata: { permission, resource: requestedName },
    },
  );
}

/**
 * IAM Service Account Credentials' refusal: `403 {"error": {"code": 403, "message": "Permission 'PERMISSION' denied
 * on resource (or it may not exist).", "status": "PERMISSION_DENIED", "details": [{ErrorInfo IAM_PERMISSION_DENIED,
 * "domain": "iam.googleapis.com", "metadata": {"permission"}}]}}`.
 */
export function iamCredentialsDenied(permission: string): GoogleErrorResponse {
  return permissionDenied(`Permission '${permission}' denied on resource (or it may not exist).`, {
    domain: 'iam.googleapis.com',
    metadata: { permission },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// What an instances.insert needs

/** The parts of an instance resource that decide which permissions its insert needs. */
export interface InstanceShape {
  readonly name?: string | null;
  readonly disks?:
    | readonly {
        readonly boot?: boolean | null;
        readonly source?: string | null;
        readonly deviceName?: string | null;
        readonly initializeParams?: {
          readonly sourceImage?: string | null;
          readonly diskName?: string | null;
        } | null;
      }[]
    | null;
  readonly networkInterfaces?:
    | readonly {
        readonly network?: string | null;
        readonly subnetwork?: string | null;
        readonly accessConfigs?: readonly unknown[] | null;
      }[]
    | null;
  readonly metadata?: { readonly items?: readonly unknown[] | null } | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly tags?: { readonly items?: readonly string[] | null } | null;
  readonly serviceAccounts?: readonly { readonly email?: string | null }[] | null;
}

/** One permission a call needs, on what, and whether the request or its operation fails without it. */
export interface RequiredPermission {
  readonly permission: string;
  readonly resource: IamResource;
  readonly failsIn: 'request' | 'operation';
}

/** `projects/P/...` from a full URL, a `projects/...` path or a project-relative path such as `global/images/X`. */
function projectPath(project: string, reference: string): string {
  const path = reference.replace(/^https:\/\/[^/]+\/compute\/(v1|beta|alpha)\//, '');
  return path.startsWith('projects/') ? path : `projects/${project}/${path}`;
}

/**
 * The permissions Compute Engine checks for `instances.insert` of `instance` in `project`/`zone`:
 * `compute.instances.create` on the instance; `compute.disks.create` on each new disk (named after the instance
 * unless given a name) and `compute.images.useReadOnly` on its source image; `compute.disks.use` on attached
 * disks; `compute.subnetworks.use` on each interface's subnetwork (the default network's `default` subnetwork when
 * none is named) and `compute.subnetworks.useExternalIp` when it has an access config; `compute.instances.setMetadata`,
 * `setLabels`, `setTags` and `setServiceAccount` when the instance sets them; and `iam.serviceAccounts.actAs` on
 * each attached service account, whose absence fails the operation rather than the request.
 */
export function instanceInsertPermissions(
  project: string,
  zone: string,
  instance: InstanceShape,
): RequiredPermission[] {
  const name = instance.name ?? '';
  const region = zone.replace(/-[a-z]$/, '');
  const request = (permission: string, resource: IamResource): RequiredPermission => ({
    permission,
    resource,
    failsIn: 'request',
  });
  const needs: RequiredPermission[] = [
    request('compute.instances.create', instanceResource(project, zone, name)),
  ];
  for (const disk of instance.disks ?? []) {
    if (disk.source) {
      needs.push(request('compute.disks.use', resourceFromName(projectPath(project, disk.source))));
      continue;
    }
    const diskName = disk.initializeParams?.diskName ?? (disk.boot ? name : (disk.deviceName ?? name));
    needs.push(request('compute.disks.create', diskResource(project, zone, diskName)));
    const image = disk.initializeParams?.sourceImage;
    if (image)
      needs.push(request('compute.images.useReadOnly', resourceFromName(projectPath(project, image))));
  }
  for (const nic of instance.networkInterfaces ?? []) {
    const subnetwork = nic.subnetwork
      ? resourceFromName(projectPath(project, nic.subnetwork))
      : subnetworkResource(project, region, (nic.network ?? 'default').replace(/^.*\//, ''));
    needs.push(request('compute.subnetworks.use', subnetwork));
    if ((nic.accessConfigs ?? []).length > 0)
      needs.push(request('compute.subnetworks.useExternalIp', subnetwork));
  }
  const self = instanceResource(project, zone, name);
  if ((instance.metadata?.items ?? []).length > 0) needs.push(request('compute.instances.setMetadata', self));
  if (Object.keys(instance.labels ?? {}).length > 0) needs.push(request('compute.instances.setLabels', self));
  if ((instance.tags?.items ?? []).length > 0) needs.push(request('compute.instances.setTags', self));
  const accounts = (instance.serviceAccounts ?? []).flatMap((a) => (a.email ? [a.email] : []));
  if (accounts.length > 0) needs.push(request('compute.instances.setServiceAccount', self));
  for (const email of accounts) {
    needs.push({
      permission: 'iam.serviceAccounts.actAs',
      resource: serviceAccountResource(email),
      failsIn: 'operation',
    });
  }
  return needs;
}

// ---------------------------------------------------------------------------------------------------------------
// The setup description

/** What a binding step grants. */
interface BindingFields {
  readonly member: string;
  readonly role: string;
  readonly condition?: IamCondition;
}

/**
 * One step of the project's setup, as the README's `gcloud` commands take it: policy bindings on a project,
 * bucket, secret, service account or instance; custom roles; and the resources the bindings refer to (buckets
 * with their project, service accounts, the workload identity pool and provider).
 */
export type SetupStep =
  | ({ readonly kind: 'project-binding'; readonly project: string } & BindingFields)
  | ({ readonly kind: 'bucket-binding'; readonly bucket: string } & BindingFields)
  | ({ readonly kind: 'secret-binding'; readonly project: string; readonly secret: string } & BindingFields)
  | ({ readonly kind: 'service-account-binding'; readonly serviceAccount: string } & BindingFields)
  | ({
      readonly kind: 'instance-binding';
      readonly project: string;
      readonly zone: string;
      readonly instance: string;
    } & BindingFields)
  | {
      readonly kind: 'custom-role';
      readonly project: string;
      readonly roleId: string;
      readonly permissions: readonly string[];
    }
  | {
      readonly kind: 'bucket';
      readonly bucket: string;
      readonly project: string;
      readonly location?: string;
      readonly uniformBucketLevelAccess: boolean;
    }
  | {
      readonly kind: 'service-account';
      readonly project: string;
      readonly accountId: string;
      readonly email: string;
    }
  | { readonly kind: 'workload-identity-pool'; readonly project: string; readonly pool: string }
  | {
      readonly kind: 'workload-identity-provider';
      readonly project: string;
      readonly pool: string;
      readonly provider: string;
      readonly issuerUri: string;
      readonly attributeMapping: Readonly<Record<string, string>>;
      readonly attributeCondition?: string;
      readonly allowedAudiences?: readonly string[];
    };

/** A setup script read as {@link SetupStep}s, with the commands that were run but are not part of the model. */
export interface ParsedSetup {
  readonly steps: SetupStep[];
  /** Each other command, expanded, e.g. `gh repo view`; `gcloud` commands that change IAM are never here. */
  readonly skipped: string[];
}

/** The text of the first ```sh block under the README's "## Set up" heading. */
export function readmeSetupScript(markdown: string): string {
  const heading = /^## Set up\b.*$/m.exec(markdown);
  if (!heading) throw new Error('the README has no "## Set up" section');
  const after = markdown.slice(heading.index + heading[0].length);
  const next = /^## /m.exec(after);
  const section = next ? after.slice(0, next.index) : after;
  const block = /^```(?:sh|bash|shell)[ \t]*\n([\s\S]*?)^```[ \t]*$/m.exec(section);
  if (!block) throw new Error('the README\'s "## Set up" section has no ```sh block');
  return block[1];
}

type WordPart =
  | { readonly kind: 'text'; readonly text: string; readonly quoted: boolean }
  | { readonly kind: 'variable'; readonly name: string; readonly quoted: boolean }
  | { readonly kind: 'command'; readonly text: string };

interface ShellCommand {
  readonly line: number;
  readonly words: WordPart[][];
}

type ShellNode =
  | { readonly kind: 'simple'; readonly command: ShellCommand }
  | {
      readonly kind: 'for';
      readonly line: number;
      readonly variable: string;
      readonly items: WordPart[][];
      readonly body: ShellNode[];
    };

/** Splits a POSIX shell script into simple commands, refusing the syntax a setup script has no need for. */
function splitCommands(script: string): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let words: WordPart[][] = [];
  let word: WordPart[] | undefined;
  let line = 1;
  let commandLine = 1;
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`setup line ${line}: ${what} is not supported; write the setup as plain commands`);
  };
  const part = (p: WordPart): void => {
    if (word === undefined) {
      word = [];
      if (words.length === 0) commandLine = line;
    }
    const last = word.at(-1);
    if (p.kind === 'text' && last?.kind === 'text' && last.quoted === p.quoted) {
      word[word.length - 1] = { kind: 'text', text: last.text + p.text, quoted: p.quoted };
    } else {
      word.push(p);
    }
  };
  const endWord = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push({ line: commandLine, words });
    words = [];
  };
  const dollar = (quoted: boolean): void => {
    const next = script[i + 1];
    if (next === '{') {
      const close = script.indexOf('}', i);
      const name = close < 0 ? '' : script.slice(i + 2, close);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`\${${name}...}`);
      part({ kind: 'variable', name, quoted });
      i = close + 1;
    } else if (next === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < script.length; j++) {
        const c = script[j];
        if (c === "'" || c === '"') {
          const end = script.indexOf(c, j + 1);
          if (end < 0) fail('an unterminated quote');
          j = end;
        } else if (c === '(') depth++;
        else if (c === ')' && --depth === 0) break;
        else if (c === '\n') line++;
      }
      if (j >= script.length) fail('an unterminated $(');
      part({ kind: 'command', text: script.slice(i + 2, j) });
      i = j + 1;
    } else if (next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(script.slice(i + 1))![0];
      part({ kind: 'variable', name, quoted });
      i += 1 + name.length;
    } else {
      part({ kind: 'text', text: '$', quoted });
      i++;
    }
  };
  while (i < script.length) {
    const c = script[i];
    if (c === '\\' && script[i + 1] === '\n') {
      i += 2;
      line++;
    } else if (c === '\n' || c === ';') {
      endCommand();
      if (c === '\n') line++;
      i++;
    } else if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++;
    } else if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) fail('an unterminated quote');
      const text = script.slice(i + 1, end);
      line += text.split('\n').length - 1;
      part({ kind: 'text', text, quoted: true });
      i = end + 1;
    } else if (c === '"') {
      part({ kind: 'text', text: '', quoted: true });
      i++;
      for (;;) {
        if (i >= script.length) fail('an unterminated quote');
        const d = script[i];
        if (d === '"') break;
        if (d === '\\' && script[i + 1] === '\n') {
          i += 2;
          line++;
        } else if (d === '\\' && '$`"\\'.includes(script[i + 1] ?? '')) {
          part({ kind: 'text', text: script[i + 1], quoted: true });
          i += 2;
        } else if (d === '$') {
          dollar(true);
        } else if (d === '`') {
          fail('a backquoted command');
        } else {
          if (d === '\n') line++;
          part({ kind: 'text', text: d, quoted: true });
          i++;
        }
      }
      i++;
    } else if (c === '$') {
      dollar(false);
    } else if ('|&<>()`'.includes(c)) {
      fail(`shell syntax ${JSON.stringify(c)}`);
    } else if (c === '\\') {
      part({ kind: 'text', text: script[i + 1] ?? '', quoted: true });
      i += 2;
    } else {
      part({ kind: 'text', text: c, quoted: false });
      i++;
    }
  }
  endCommand();
  return commands;
}

/** The keyword a word is when it is one plain unquoted word. */
function keyword(word: WordPart[] | undefined): string | undefined {
  if (word === undefined || word.some((p) => p.kind !== 'text' || p.quoted)) return undefined;
  return word.map((p) => (p as { text: string }).text).join('');
}

/** Groups simple commands into `for NAME in WORDS; do ...; done` loops. */
function structure(commands: ShellCommand[]): ShellNode[] {
  let i = 0;
  const block = (inLoop: boolean): ShellNode[] => {
    const nodes: ShellNode[] = [];
    while (i < commands.length) {
      const command = commands[i];
      const first = keyword(command.words[0]);
      if (first === 'done') {
        if (!inLoop || command.words.length > 1)
          throw new Error(`setup line ${command.line}: unexpected done`);
        i++;
        return nodes;
      }
      if (first === 'for') {
        const variable = keyword(command.words[1]);
        if (
          variable === undefined ||
          !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable) ||
          keyword(command.words[2]) !== 'in'
        ) {
          throw new Error(
            `setup line ${command.line}: only "for NAME in WORDS; do ... done" loops are supported`,
          );
        }
        i++;
        const opener = commands[i];
        if (opener === undefined || keyword(opener.words[0]) !== 'do') {
          throw new Error(`setup line ${command.line}: the for loop has no "do"`);
        }
        if (opener.words.length > 1) commands[i] = { line: opener.line, words: opener.words.slice(1) };
        else i++;
        const body = block(true);
        nodes.push({ kind: 'for', line: command.line, variable, items: command.words.slice(3), body });
        continue;
      }
      if (
        first !== undefined &&
        ['if', 'then', 'else', 'fi', 'while', 'until', 'case', 'esac', 'do', 'function'].includes(first)
      ) {
        throw new Error(
          `setup line ${command.line}: "${first}" is not supported; write the setup as plain commands`,
        );
      }
      nodes.push({ kind: 'simple', command });
      i++;
    }
    if (inLoop) throw new Error('setup: a for loop has no "done"');
    return nodes;
  };
  return block(false);
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;

/** Runs the structured script over variables, handing each expanded command to `run`. */
function execute(
  nodes: ShellNode[],
  env: Map<string, string>,
  fixed: ReadonlySet<string>,
  run: (argv: string[], line: number) => void,
): void {
  const expand = (word: WordPart[], line: number): string =>
    word
      .map((p) => {
        if (p.kind === 'text') return p.text;
        if (p.kind === 'command') {
          throw new Error(`setup line ${line}: $(${p.text}) runs a command; pass the value it stands for`);
        }
        const value = env.get(p.name);
        if (value === undefined) throw new Error(`setup line ${line}: $${p.name} is not set; pass its value`);
        if (!p.quoted && /\s/.test(value)) {
          throw new Error(`setup line ${line}: unquoted $${p.name} holds a space and would be split`);
        }
        return value;
      })
      .join('');
  for (const node of nodes) {
    if (node.kind === 'for') {
      const items = node.items.map((w) => expand(w, node.line));
      for (const item of items) {
        env.set(node.variable, item);
        execute(node.body, env, fixed, run);
      }
      continue;
    }
    const { words, line } = node.command;
    const assignments = words.map((w) => {
      const first = w[0];
      return first?.kind === 'text' && !first.quoted ? ASSIGNMENT.exec(first.text) : null;
    });
    if (assignments.every((a) => a !== null)) {
      for (const [n, w] of words.entries()) {
        const assignment = assignments[n];
        const name = assignment[1];
        if (fixed.has(name)) continue;
        const rest: WordPart[] = [
          { kind: 'text', text: assignment.input.slice(assignment[0].length), quoted: false },
          ...w.slice(1),
        ];
        if (rest.some((p) => p.kind === 'command')) {
          throw new Error(`setup line ${line}: ${name} is set from a command's output; pass its value`);
        }
        env.set(name, expand(rest, line));
      }
      continue;
    }
    if (assignments[0] !== null) {
      throw new Error(`setup line ${line}: variable assignments before a command are not supported`);
    }
    run(
      words.map((w) => expand(w, line)),
      line,
    );
  }
}

/** A gcloud command line split into positionals and `--flag=value` / `--flag value` / `--switch` flags. */
function gcloudArguments(
  args: string[],
  valueFlags: readonly string[],
  switches: readonly string[],
  line: number,
  command: string,
): { positionals: string[]; flags: Map<string, string> } {
  const positionals: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--([a-z][-a-z0-9]*)(?:=([\s\S]*))?$/.exec(arg);
    if (!m) {
      positionals.push(arg);
      continue;
    }
    const [, name, inline] = m;
    if (switches.includes(name) && inline === undefined) {
      flags.set(name, 'true');
    } else if (valueFlags.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new Error(`setup line ${line}: ${command} --${name} has no value`);
      flags.set(name, value);
    } else {
      throw new Error(`setup line ${line}: ${command} --${name} is not modelled`);
    }
  }
  return { positionals, flags };
}

/** gcloud's dictionary flags: `KEY=VALUE,KEY=VALUE`, or with another separator as `^SEP^KEY=VALUE SEP ...`. */
function gcloudDictionary(value: string): [string, string][] {
  const custom = /^\^([^^]+)\^([\s\S]*)$/.exec(value);
  const [separator, body] = custom ? [custom[1], custom[2]] : [',', value];
  return body.split(separator).map((item) => {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new Error(
        `${JSON.stringify(item)} is not KEY=VALUE (gcloud takes "^;^KEY=VALUE;..." for values with commas)`,
      );
    }
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/** `--condition`: `None`, or `expression=...,title=...[,description=...]` as gcloud requires it. */
function gcloudCondition(value: string | undefined, line: number): IamCondition | undefined {
  if (value === undefined || value === 'None') return undefined;
  let entries: [string, string][];
  try {
    entries = gcloudDictionary(value);
  } catch (err) {
    throw new Error(`setup line ${line}: --condition ${(err as Error).message}`);
  }
  const fields = new Map<string, string>();
  for (const [key, v] of entries) {
    if (!['expression', 'title', 'description'].includes(key) || fields.has(key)) {
      throw new Error(
        `setup line ${line}: --condition key ${JSON.stringify(key)} is not one gcloud takes (for values with commas, gcloud takes "^;^KEY=VALUE;...")`,
      );
    }
    fields.set(key, v);
  }
  const expression = fields.get('expression');
  const title = fields.get('title');
  if (!expression || !title)
    throw new Error(`setup line ${line}: --condition needs both expression= and title=`);
  const description = fields.get('description');
  return { expression, title, ...(description !== undefined ? { description } : {}) };
}

function required(flags: Map<string, string>, name: string, line: number, command: string): string {
  const value = flags.get(name);
  if (value === undefined || value === '') throw new Error(`setup line ${line}: ${command} needs --${name}`);
  return value;
}

function onePositional(positionals: string[], line: number, command: string): string {
  if (positionals.length !== 1)
    throw new Error(`setup line ${line}: ${command} takes one resource, got ${positionals.length}`);
  return positionals[0];
}

const BINDING_FLAGS = ['member', 'role', 'condition', 'project'];

/** Turns one expanded gcloud command into a setup step, or undefined for a command outside the model. */
function gcloudStep(argv: string[], line: number): SetupStep | undefined {
  const words = argv.slice(1).filter((w, i) => !(i === 0 && (w === 'alpha' || w === 'beta')));
  const path = (...p: string[]): boolean => p.every((w, i) => words[i] === w);
  const commandWords = words.filter((w) => /^[a-z][-a-z0-9]*$/.test(w));
  const removal = commandWords.findIndex((w) => w === 'remove-iam-policy-binding' || w === 'set-iam-policy');
  if (removal >= 0) {
    throw new Error(
      `setup line ${line}: gcloud ${commandWords.slice(0, removal + 1).join(' ')} is not modelled`,
    );
  }
  const parse = (depth: number, valueFlags: readonly string[], switches: readonly string[] = []) => {
    const command = `gcloud ${words.slice(0, depth).join(' ')}`;
    return { command, ...gcloudArguments(words.slice(depth), valueFlags, switches, line, command) };
  };
  const binding = (flags: Map<string, string>, command: string): BindingFields => {
    const condition = gcloudCondition(flags.get('condition'), line);
    return {
      member: required(flags, 'member', line, command),
      role: required(flags, 'role', line, command),
      ...(condition ? { condition } : {}),
    };
  };
  if (path('projects', 'add-iam-policy-binding')) {
    const { command, positionals, flags } = parse(2, BINDING_FLAGS);
    return {
      kind: 'project-binding',
      project: onePositional(positionals, line, command),
      ...binding(flags, command),
    };
  }
  if (path('storage', 'buckets', 'add-iam-policy-binding')) {
    const { command, positionals, flags } = parse(3, BINDING_FLAGS);
    const bucket = onePositional(positionals, line, command)
      .replace(/^gs:\/\//, '')
      .replace(/\/$/, '');
    return { kind: 'bucket-binding', bucket, ...binding(flags, command) };
  }
  if (path('storage', 'buckets', 'create')) {
    const { command, positionals, flags } = parse(
      3,
      ['project', 'location', 'default-storage-class'],
      ['uniform-bucket-level-access', 'no-uniform-bucket-level-access'],
    );
    const bucket = onePositional(positionals, line, command)
      .replace(/^gs:\/\//, '')
      .replace(/\/$/, '');
    const location = flags.get('location');
    return {
      kind: 'bucket',
      bucket,
      project: required(flags, 'project', line, command),
      ...(location ? { location } : {}),
      uniformBucketLevelAccess: flags.has('uniform-bucket-level-access'),
    };
  }
  if (path('secrets', 'add-iam-policy-binding')) {
    const { command, positionals, flags } = parse(2, BINDING_FLAGS);
    const secret = onePositional(positionals, line, command);
    const full = /^projects\/([^/]+)\/secrets\/([^/]+)$/.exec(secret);
    return {
      kind: 'secret-binding',
      project: full ? full[1] : required(flags, 'project', line, command),
      secret: full ? full[2] : secret,
      ...binding(flags, command),
    };
  }
  if (path('iam', 'service-accounts', 'add-iam-policy-binding')) {
    const { command, positionals, flags } = parse(3, BINDING_FLAGS);
    return {
      kind: 'service-account-binding',
      serviceAccount: onePositional(positionals, line, command),
      ...binding(flags, command),
    };
  }
  if (path('compute', 'instances', 'add-iam-policy-binding')) {
    const { command, positionals, flags } = parse(3, [...BINDING_FLAGS, 'zone']);
    return {
      kind: 'instance-binding',
      project: required(flags, 'project', line, command),
      zone: required(flags, 'zone', line, command),
      instance: onePositional(positionals, line, command),
      ...binding(flags, command),
    };
  }
  if (path('iam', 'roles', 'create')) {
    const { command, positionals, flags } = parse(3, [
      'project',
      'permissions',
      'title',
      'description',
      'stage',
    ]);
    return {
      kind: 'custom-role',
      project: required(flags, 'project', line, command),
      roleId: onePositional(positionals, line, command),
      permissions: required(flags, 'permissions', line, command)
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    };
  }
  if (path('iam', 'service-accounts', 'create')) {
    const { command, positionals, flags } = parse(3, ['project', 'display-name', 'description']);
    const accountId = onePositional(positionals, line, command);
    const project = required(flags, 'project', line, command);
    return {
      kind: 'service-account',
      project,
      accountId,
      email: `${accountId}@${project}.iam.gserviceaccount.com`,
    };
  }
  if (path('iam', 'workload-identity-pools', 'create')) {
    const { command, positionals, flags } = parse(3, ['project', 'location', 'display-name', 'description']);
    if (required(flags, 'location', line, command) !== 'global') {
      throw new Error(`setup line ${line}: workload identity pools live in location global`);
    }
    return {
      kind: 'workload-identity-pool',
      project: required(flags, 'project', line, command),
      pool: onePositional(positionals, line, command),
    };
  }
  if (path('iam', 'workload-identity-pools', 'providers', 'create-oidc')) {
    const { command, positionals, flags } = parse(4, [
      'project',
      'location',
      'workload-identity-pool',
      'issuer-uri',
      'attribute-mapping',
      'attribute-condition',
      'allowed-audiences',
      'display-name',
      'description',
    ]);
    const condition = flags.get('attribute-condition');
    const audiences = flags.get('allowed-audiences');
    return {
      kind: 'workload-identity-provider',
      project: required(flags, 'project', line, command),
      pool: required(flags, 'workload-identity-pool', line, command),
      provider: onePositional(positionals, line, command),
      issuerUri: required(flags, 'issuer-uri', line, command),
      attributeMapping: Object.fromEntries(
        gcloudDictionary(required(flags, 'attribute-mapping', line, command)),
      ),
      ...(condition !== undefined ? { attributeCondition: condition } : {}),
      ...(audiences !== undefined ? { allowedAudiences: audiences.split(',') } : {}),
    };
  }
  const otherBinding = commandWords.indexOf('add-iam-policy-binding');
  if (otherBinding >= 0 || path('iam', 'roles')) {
    const shown = otherBinding >= 0 ? commandWords.slice(0, otherBinding + 1) : commandWords.slice(0, 3);
    throw new Error(`setup line ${line}: gcloud ${shown.join(' ')} is not modelled`);
  }
  return undefined;
}

/**
 * Reads a setup script written as the README writes it: variable assignments (`values` take precedence over the
 * script's own, and must be given for those the script sets from a command's output, e.g. NUMBER and REPO_ID),
 * comments, line continuations, quoting, `for NAME in ...; do ...; done` loops and `gcloud` commands. IAM bindings,
 * custom roles, buckets, service accounts and the workload identity pool and provider become steps; other commands
 * are listed as skipped; anything else (pipes, `&&`, conditionals, unknown IAM commands or flags) throws, naming
 * the line.
 */
export function parseSetupScript(script: string, values: Readonly<Record<string, string>> = {}): ParsedSetup {
  const env = new Map(Object.entries(values));
  const steps: SetupStep[] = [];
  const skipped: string[] = [];
  execute(structure(splitCommands(script)), env, new Set(Object.keys(values)), (argv, line) => {
    const step = argv[0] === 'gcloud' ? gcloudStep(argv, line) : undefined;
    if (step) steps.push(step);
    else skipped.push(argv.join(' '));
  });
  return { steps, skipped };
}

/** Reads the README's setup block (see {@link readmeSetupScript} and {@link parseSetupScript}). */
export function parseReadmeSetup(
  markdown: string,
  values: Readonly<Record<string, string>> = {},
): ParsedSetup {
  return parseSetupScript(readmeSetupScript(markdown), values);
}

/** Adds a setup's custom roles, bucket projects and bindings to a model (the other steps are not IAM policy). */
export function applySetup(model: IamModel, steps: readonly SetupStep[]): IamModel {
  for (const step of steps) {
    if (step.kind === 'custom-role')
      model.addCustomRole(`projects/${step.project}/roles/${step.roleId}`, step.permissions);
    if (step.kind === 'bucket') model.setBucketProject(step.bucket, step.project);
  }
  for (const step of steps) {
    switch (step.kind) {
      case 'project-binding':
        model.grant(`projects/${step.project}`, step.member, step.role, step.condition);
        break;
      case 'bucket-binding':
        model.grant(`projects/_/buckets/${step.bucket}`, step.member, step.role, step.condition);
        break;
      case 'secret-binding':
        model.grant(
          `projects/${step.project}/secrets/${step.secret}`,
          step.member,
          step.role,
          step.condition,
        );
        break;
      case 'service-account-binding':
        model.grant(
          `projects/-/serviceAccounts/${step.serviceAccount}`,
          step.member,
          step.role,
          step.condition,
        );
        break;
      case 'instance-binding':
        model.grant(
          `projects/${step.project}/zones/${step.zone}/instances/${step.instance}`,
          step.member,
          step.role,
          step.condition,
        );
        break;
      default:
        break;
    }
  }
  return model;
}
