/**
 * Credential Access Boundaries, as Google's Security Token Service applies them to an access token ("downscoped
 * credentials"): the `options` parameter of a token exchange, read and checked as STS checks it, and the decision
 * Cloud Storage makes with the boundary a downscoped token carries. Pure logic: no HTTP, no clock.
 *
 * What Google documents, and this model follows:
 * - A boundary holds 1 to 10 rules; the `options` value holds at most 2048 characters, a condition expression too.
 * - A rule's `availableResource` is a Cloud Storage bucket, `//storage.googleapis.com/projects/_/buckets/BUCKET`
 *   (only Cloud Storage supports boundaries); its `availablePermissions` are roles, each written `inRole:ROLE`
 *   (`inRole:roles/storage.objectViewer`, or a custom role `inRole:projects/P/roles/ID`); its optional
 *   `availabilityCondition` is an IAM condition (`expression`, optional `title` and `description`).
 * - The rules are a union: a permission is available on a resource when some rule names the resource's bucket,
 *   one of the rule's roles holds the permission, and the rule's condition, if any, holds for the resource. A
 *   boundary only takes away: the principal still needs an IAM grant for the permission.
 * - Listing a bucket is a call on the bucket, with the request's prefix as the API attribute
 *   `storage.googleapis.com/objectListPrefix`: a condition on object names does not make a listing available.
 * - A downscoped token expires with the token it was made from, stays the same principal, is accepted by Cloud
 *   Storage only (other APIs answer 401 UNAUTHENTICATED with `ACCESS_TOKEN_TYPE_UNSUPPORTED`), and cannot be
 *   downscoped again (STS refuses to add security attributes to a token that already has some).
 */
import type { GoogleErrorResponse, IamResource } from './iam.ts';
import { PREDEFINED_ROLES, compileCondition, isModelledPermission } from './iam.ts';
import type { Principal } from './tokens.ts';

/** Most rules one boundary may hold. */
export const MAX_ACCESS_BOUNDARY_RULES = 10;
/** Longest `options` value STS takes, in characters. */
export const MAX_OPTIONS_LENGTH = 2048;
/** Longest availability condition expression, in characters. */
export const MAX_CONDITION_LENGTH = 2048;
/** How a rule names a bucket: this prefix and the bucket's name. */
export const STORAGE_BUCKET_RESOURCE_PREFIX = '//storage.googleapis.com/projects/_/buckets/';

/** The condition of a rule, as the request spells it. */
export interface AvailabilityCondition {
  readonly expression: string;
  readonly title?: string;
  readonly description?: string;
}

/** One rule as the request spells it (what {@link accessBoundaryOptions} writes). */
export interface AccessBoundaryRuleSpec {
  readonly availableResource: string;
  readonly availablePermissions: readonly string[];
  readonly availabilityCondition?: AvailabilityCondition;
}

/** A checked rule: the request's fields, the bucket it names and the roles its permissions name. */
export interface AccessBoundaryRule extends AccessBoundaryRuleSpec {
  readonly bucket: string;
  /** Role names without the `inRole:` prefix, e.g. `roles/storage.objectViewer`. */
  readonly roles: readonly string[];
}

/** The checked rules of a boundary, as a downscoped token carries them. */
export type AccessBoundary = readonly AccessBoundaryRule[];

/** The permissions of a role, or a throw for a role that cannot be resolved. */
export type RolePermissions = (role: string) => readonly string[];

/**
 * A boundary STS refuses: it answers `400 {"error": "invalid_request", "error_description": message}`. Other throws
 * from the parser are the bed's own limits (a role it does not model), not Google's answer.
 */
export class AccessBoundaryError extends Error {
  /** The OAuth error code of STS's answer. */
  readonly error = 'invalid_request';
}

/** The predefined roles this bed models; throws for any other role, naming it. */
export function predefinedRolePermissions(role: string): readonly string[] {
  const permissions = PREDEFINED_ROLES[role];
  if (permissions) return permissions;
  throw new Error(
    `role ${role} is not one the bed models: add it to PREDEFINED_ROLES with its real permissions (or give a resolver for custom roles); if it is misspelt, Google refuses it too`,
  );
}

const ROLE_NAME = /^(roles\/[A-Za-z0-9_.]+|(projects|organizations)\/[^/\s]+\/roles\/[A-Za-z0-9_.]{3,64})$/;
const OPTIONS_FIELDS = new Set(['accessBoundary', 'audiences', 'userProject']);
const RULE_FIELDS = new Set(['availableResource', 'availablePermissions', 'availabilityCondition']);
const CONDITION_FIELDS = new Set(['expression', 'title', 'description']);

function refuse(message: string): never {
  throw new AccessBoundaryError(message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyFields(value: Record<string, unknown>, allowed: Set<string>, where: string): void {
  const unknown = Object.keys(value).find((k) => !allowed.has(k));
  if (unknown !== undefined) refuse(`Invalid ${where}: unknown field "${unknown}".`);
}

/** Whether Cloud Storage takes `name` as a bucket name (3-63 characters per dot-separated part, at most 222). */
export function isBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 222) return false;
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) return false;
  if (!name.includes('.') && name.length > 63) return false;
  return name.split('.').every((part) => part.length > 0 && part.length <= 63);
}

function parseCondition(value: unknown, where: string): AvailabilityCondition {
  if (!isObject(value)) refuse(`Invalid ${where}.availabilityCondition: must be an object.`);
  onlyFields(value, CONDITION_FIELDS, `${where}.availabilityCondition`);
  const { expression, title, description } = value;
  if (typeof expression !== 'string' || expression.trim() === '') {
    refuse(`Invalid ${where}.availabilityCondition: "expression" is required.`);
  }
  if (expression.length > MAX_CONDITION_LENGTH) {
    refuse(
      `Invalid ${where}.availabilityCondition: the expression is longer than ${MAX_CONDITION_LENGTH} characters.`,
    );
  }
  for (const [name, field] of [
    ['title', title],
    ['description', description],
  ] as const) {
    if (field !== undefined && typeof field !== 'string') {
      refuse(`Invalid ${where}.availabilityCondition: "${name}" must be a string.`);
    }
  }
  try {
    compiled(expression);
  } catch (err) {
    refuse(`Invalid ${where}.availabilityCondition: ${(err as Error).message}.`);
  }
  return {
    expression,
    ...(typeof title === 'string' ? { title } : {}),
    ...(typeof description === 'string' ? { description } : {}),
  };
}

function parseRule(value: unknown, index: number, rolePermissions: RolePermissions): AccessBoundaryRule {
  const where = `accessBoundaryRules[${index}]`;
  if (!isObject(value)) refuse(`Invalid ${where}: must be an object.`);
  onlyFields(value, RULE_FIELDS, where);
  const resource = value.availableResource;
  if (typeof resource !== 'string' || resource === '')
    refuse(`Invalid ${where}: "availableResource" is required.`);
  const bucket = resource.startsWith(STORAGE_BUCKET_RESOURCE_PREFIX)
    ? resource.slice(STORAGE_BUCKET_RESOURCE_PREFIX.length)
    : undefined;
  if (bucket === undefined || !isBucketName(bucket)) {
    refuse(
      `Invalid ${where}.availableResource "${resource}": Credential Access Boundaries support only Cloud Storage buckets, named //storage.googleapis.com/projects/_/buckets/BUCKET.`,
    );
  }
  const permissions = value.availablePermissions;
  if (!Array.isArray(permissions) || permissions.length === 0) {
    refuse(`Invalid ${where}: "availablePermissions" must list at least one role.`);
  }
  const roles = permissions.map((p: unknown) => {
    const role = typeof p === 'string' && p.startsWith('inRole:') ? p.slice('inRole:'.length) : undefined;
    if (role === undefined || !ROLE_NAME.test(role)) {
      refuse(
        `Invalid ${where}.availablePermissions value ${JSON.stringify(p)}: only roles are supported, written inRole:ROLE (e.g. inRole:roles/storage.objectViewer).`,
      );
    }
    rolePermissions(role);
    return role;
  });
  const condition =
    value.availabilityCondition === undefined
      ? undefined
      : parseCondition(value.availabilityCondition, where);
  return {
    availableResource: resource,
    availablePermissions: permissions as string[],
    ...(condition ? { availabilityCondition: condition } : {}),
    bucket,
    roles,
  };
}

/**
 * Reads a Credential Access Boundary (`{"accessBoundaryRules": [...]}`) into checked rules. Throws
 * {@link AccessBoundaryError} for what STS refuses; roles are resolved with `rolePermissions` (default: the
 * predefined roles the bed models), whose own throws pass through.
 */
export function parseAccessBoundary(
  value: unknown,
  rolePermissions: RolePermissions = predefinedRolePermissions,
): AccessBoundary {
  if (!isObject(value)) refuse('Invalid accessBoundary: must be an object.');
  onlyFields(value, new Set(['accessBoundaryRules']), 'accessBoundary');
  const rules = value.accessBoundaryRules;
  if (!Array.isArray(rules) || rules.length === 0) {
    refuse('Invalid accessBoundary: "accessBoundaryRules" must hold at least one rule.');
  }
  if (rules.length > MAX_ACCESS_BOUNDARY_RULES) {
    refuse(
      `Invalid accessBoundary: ${rules.length} rules; one access boundary can contain at most ${MAX_ACCESS_BOUNDARY_RULES} rules.`,
    );
  }
  return rules.map((rule, i) => parseRule(rule, i, rolePermissions));
}

/**
 * Reads the `options` parameter of an STS token exchange (a JSON object whose `accessBoundary` is the boundary) into
 * checked rules. Throws {@link AccessBoundaryError} for what STS refuses: more than {@link MAX_OPTIONS_LENGTH}
 * characters, not JSON, unknown fields, no boundary, and every fault {@link parseAccessBoundary} finds.
 */
export function parseAccessBoundaryOptions(
  options: string,
  rolePermissions: RolePermissions = predefinedRolePermissions,
): AccessBoundary {
  if (options.length > MAX_OPTIONS_LENGTH) {
    refuse(`Invalid value for "options": longer than ${MAX_OPTIONS_LENGTH} characters.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(options);
  } catch {
    refuse('Invalid value for "options": not a JSON object.');
  }
  if (!isObject(parsed)) refuse('Invalid value for "options": not a JSON object.');
  onlyFields(parsed, OPTIONS_FIELDS, '"options"');
  if (parsed.userProject !== undefined) {
    if (typeof parsed.userProject !== 'string' || parsed.userProject.length > 32) {
      refuse('Invalid value for "options": "userProject" must be a project id or number.');
    }
  }
  if (parsed.accessBoundary === undefined) {
    refuse('Invalid value for "options": an access token can only be exchanged with an "accessBoundary".');
  }
  return parseAccessBoundary(parsed.accessBoundary, rolePermissions);
}

/** The `options` value of a downscoping exchange for these rules (what a client URL-encodes into the form). */
export function accessBoundaryOptions(rules: readonly AccessBoundaryRuleSpec[]): string {
  return JSON.stringify({
    accessBoundary: {
      accessBoundaryRules: rules.map((r) => ({
        availableResource: r.availableResource,
        availablePermissions: [...r.availablePermissions],
        ...(r.availabilityCondition ? { availabilityCondition: r.availabilityCondition } : {}),
      })),
    },
  });
}

const conditions = new Map<string, (resource: IamResource) => boolean>();

function compiled(expression: string): (resource: IamResource) => boolean {
  let holds = conditions.get(expression);
  if (!holds) {
    holds = compileCondition(expression);
    conditions.set(expression, holds);
  }
  return holds;
}

/** The bucket a Cloud Storage resource (bucket, object, or a listing of a bucket) belongs to. */
function bucketOf(resource: IamResource): string | undefined {
  if (resource.service !== 'storage.googleapis.com') return undefined;
  return /^projects\/_\/buckets\/([^/]+)(?:\/objects\/.+)?$/.exec(resource.name)?.[1];
}

/**
 * Whether the boundary leaves `permission` available on `resource` (an {@link IamResource} from `bucketResource`,
 * `objectResource` or `objectListResource`): some rule names the resource's bucket, one of its roles holds the
 * permission, and its condition (if any) holds; a condition that fails to evaluate counts as false, as in IAM.
 * Nothing outside Cloud Storage buckets is ever available. Throws for a permission the IAM model does not know.
 */
export function boundaryAllows(
  rules: AccessBoundary,
  permission: string,
  resource: IamResource,
  rolePermissions: RolePermissions = predefinedRolePermissions,
): boolean {
  if (!isModelledPermission(permission)) {
    throw new Error(`permission ${permission} is not modelled: add it to MODELLED_PERMISSIONS`);
  }
  const bucket = bucketOf(resource);
  if (bucket === undefined) return false;
  return rules.some((rule) => {
    if (rule.bucket !== bucket) return false;
    if (!rule.roles.some((role) => rolePermissions(role).includes(permission))) return false;
    if (!rule.availabilityCondition) return true;
    try {
      return compiled(rule.availabilityCondition.expression)(resource);
    } catch {
      return false;
    }
  });
}

/**
 * Whether the token behind `principal` is a downscoped one, which only Cloud Storage accepts: every other API
 * should answer {@link downscopedTokenRefusal}. Cloud Storage checks IAM and then {@link boundaryAllows}, and answers
 * a boundary's refusal as it answers IAM's (403, "Permission '...' denied on resource (or it may not exist).").
 */
export function isStorageOnly(principal: Pick<Principal, 'accessBoundary'>): boolean {
  return principal.accessBoundary !== undefined;
}

const INVALID_CREDENTIALS =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

/** APIs whose errors still carry the older `errors: [{domain, reason, message}]` list beside `status`. */
const LEGACY_ERROR_LIST = new Set(['compute.googleapis.com', 'storage.googleapis.com']);

/**
 * What an API other than Cloud Storage answers to a downscoped token (Credential Access Boundaries are "only
 * available for Cloud Storage"): the token is not one it accepts, `401 UNAUTHENTICATED` with the usual invalid
 * credentials message, a `WWW-Authenticate: Bearer ... error="invalid_token"` header and an ErrorInfo
 * `{reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED", domain: "googleapis.com", metadata: {service, method}}`. `service` is
 * the API's name (`compute.googleapis.com`, `secretmanager.googleapis.com`, `iamcredentials.googleapis.com`),
 * `method` its RPC name (e.g. `google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion`,
 * `google.iam.credentials.v1.IAMCredentials.GenerateAccessToken`). Compute Engine's answer also has its `errors`
 * list (`reason: "authError"`, location the Authorization header). The Google client libraries do not retry a 401.
 */
export function downscopedTokenRefusal(service: string, method: string): GoogleErrorResponse {
  const error: Record<string, unknown> = { code: 401, message: INVALID_CREDENTIALS };
  if (LEGACY_ERROR_LIST.has(service)) {
    error.errors = [
      {
        message: 'Invalid Credentials',
        domain: 'global',
        reason: 'authError',
        location: 'Authorization',
        locationType: 'header',
      },
    ];
  }
  error.status = 'UNAUTHENTICATED';
  error.details = [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
      domain: 'googleapis.com',
      metadata: { service, method },
    },
  ];
  return {
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
    body: { error },
  };
}
