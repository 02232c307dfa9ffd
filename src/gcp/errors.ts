/**
 * What kind of failure a Google API call or operation ended in, so callers decide between "next zone",
 * "retry the same call", and "stop and tell the user".
 */
export type FailureKind =
  /** The zone has no capacity for this machine (ZONE_RESOURCE_POOL_EXHAUSTED and friends): try another zone. */
  | 'stockout'
  /** A project or regional quota is used up: another region may still have room. */
  | 'quota'
  /** 429 / rateLimitExceeded: retry the same call later. */
  | 'rate-limit'
  /** 5xx / backendError / connection failure: retry the same call. */
  | 'unavailable'
  /** 401: credentials missing or expired. */
  | 'unauthenticated'
  /** 403 other than quota: a role is missing. */
  | 'permission'
  /** 400: a bad argument (machine type, image, name). */
  | 'invalid'
  | 'not-found'
  | 'already-exists'
  | 'unknown';

/** A classified failure. */
export interface Failure {
  readonly kind: FailureKind;
  /** HTTP status where known. */
  readonly status: number | undefined;
  /** The API's reason or operation error code (e.g. `rateLimitExceeded`, `ZONE_RESOURCE_POOL_EXHAUSTED`). */
  readonly reason: string | undefined;
  readonly message: string;
  /** For a stockout: zones Compute Engine said do have capacity (`errorInfo.metadatas.zonesAvailable`). */
  readonly zonesAvailable?: readonly string[];
}

const STOCKOUT_CODES = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'RESOURCE_POOL_EXHAUSTED',
  'UNSUPPORTED_OPERATION_RESOURCE_POOL_EXHAUSTED',
]);

/** gRPC codes the REST fallback maps HTTP statuses onto (google-gax), back to the HTTP status. */
const GRPC_TO_HTTP: Record<number, number> = {
  3: 400,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  13: 500,
  14: 503,
  16: 401,
};

/** Classifies an error code or reason string as Compute Engine and Cloud Storage spell them. */
function kindOfReason(reason: string): FailureKind | undefined {
  if (STOCKOUT_CODES.has(reason)) return 'stockout';
  if (/QUOTA_EXCEEDED|quotaExceeded/.test(reason)) return 'quota';
  if (/rateLimitExceeded|userRateLimitExceeded|RATE_LIMIT_EXCEEDED/.test(reason)) return 'rate-limit';
  if (/backendError|internalError|SERVICE_UNAVAILABLE/.test(reason)) return 'unavailable';
  if (reason === 'alreadyExists' || reason === 'RESOURCE_ALREADY_EXISTS') return 'already-exists';
  if (reason === 'notFound' || reason === 'RESOURCE_NOT_FOUND') return 'not-found';
  if (reason === 'forbidden' || reason === 'insufficientPermissions' || reason === 'accessNotConfigured')
    return 'permission';
  if (reason === 'invalid' || reason === 'badRequest' || reason === 'invalidParameter') return 'invalid';
  return undefined;
}

function kindOfStatus(status: number | undefined): FailureKind {
  switch (status) {
    case 400:
      return 'invalid';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'permission';
    case 404:
      return 'not-found';
    case 409:
      return 'already-exists';
    case 429:
      return 'rate-limit';
    case undefined:
      return 'unknown';
    default:
      return status >= 500 ? 'unavailable' : 'unknown';
  }
}

interface ErrorLike {
  code?: unknown;
  httpStatusCode?: unknown;
  status?: unknown;
  message?: unknown;
  reason?: unknown;
  errors?: unknown;
  response?: { status?: unknown; data?: unknown };
  statusDetails?: unknown;
  errorInfoMetadata?: unknown;
}

function parseRaw(raw: unknown): { error?: { errors?: unknown } } | undefined {
  if (typeof raw === 'string') {
    try {
      return JSON.parse(raw) as { error?: { errors?: unknown } };
    } catch {
      return undefined;
    }
  }
  return raw && typeof raw === 'object' ? raw : undefined;
}

/** Where google-gax keeps the raw JSON error body of a REST call (the `errors[].reason` strings live only there). */
const RAW_PAYLOAD = Symbol.for('google-gax.rawHttpResponsePayload');

function findReason(err: ErrorLike): string | undefined {
  if (typeof err.reason === 'string' && err.reason) return err.reason;
  const lists = [
    err.errors,
    parseRaw((err as Record<symbol, unknown>)[RAW_PAYLOAD])?.error?.errors,
    (err.response?.data as { error?: { errors?: unknown } } | undefined)?.error?.errors,
  ];
  for (const list of lists) {
    if (Array.isArray(list)) {
      for (const e of list as { reason?: unknown; code?: unknown }[]) {
        if (typeof e.reason === 'string') return e.reason;
        if (typeof e.code === 'string') return e.code;
      }
    }
  }
  const message = typeof err.message === 'string' ? err.message : '';
  const m =
    /\b(ZONE_RESOURCE_POOL_EXHAUSTED(?:_WITH_DETAILS)?|QUOTA_EXCEEDED|rateLimitExceeded|quotaExceeded)\b/.exec(
      message,
    );
  return m?.[1];
}

/** Classifies whatever a Google client library threw (gax GoogleError, gaxios error, fetch failure). */
export function classifyError(error: unknown): Failure {
  const err = (error ?? {}) as ErrorLike;
  const message = typeof err.message === 'string' ? err.message : String(error);
  let status: number | undefined;
  if (typeof err.httpStatusCode === 'number') status = err.httpStatusCode;
  else if (typeof err.response?.status === 'number') status = err.response.status;
  else if (typeof err.status === 'number') status = err.status;
  else if (typeof err.code === 'number') status = err.code >= 100 ? err.code : GRPC_TO_HTTP[err.code];
  const reason = findReason(err);
  if (
    status === undefined &&
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|fetch failed/i.test(message)
  ) {
    return { kind: 'unavailable', status, reason: reason ?? 'connection', message };
  }
  const kind = (reason ? kindOfReason(reason) : undefined) ?? kindOfStatus(status);
  // A 403 whose reason is a quota is a quota, not a missing role.
  return { kind, status, reason, message };
}

interface OperationErrorItem {
  code?: string | null;
  message?: string | null;
  errorDetails?: { errorInfo?: { metadatas?: Record<string, string> | null } | null }[] | null;
}

/** Classifies the `error` of a finished Compute Engine operation (`error.errors[].code`). */
export function classifyOperationError(error: { errors?: OperationErrorItem[] | null }): Failure {
  const first = error.errors?.[0];
  const reason = first?.code ?? undefined;
  const message =
    (error.errors ?? []).map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ') || 'operation failed';
  const kind = (reason ? kindOfReason(reason) : undefined) ?? 'unknown';
  const zonesAvailable = (error.errors ?? [])
    .flatMap((e) => e.errorDetails ?? [])
    .flatMap((d) => (d.errorInfo?.metadatas?.zonesAvailable ?? '').split(','))
    .map((z) => z.trim())
    .filter((z) => z !== '');
  return {
    kind,
    status: undefined,
    reason,
    message,
    ...(zonesAvailable.length > 0 ? { zonesAvailable } : {}),
  };
}

/** True for failures worth retrying the very same call for. */
export function isTransient(f: Failure): boolean {
  return f.kind === 'rate-limit' || f.kind === 'unavailable';
}

/** An error carrying its classification, thrown by the GCP layer. */
export class GcpError extends Error {
  override readonly name = 'GcpError';
  readonly failure: Failure;

  constructor(context: string, failure: Failure) {
    super(`${context}: ${failure.message}`);
    this.failure = failure;
  }
}

/** The HTTP status the storage library puts in an error's `code` (412 for a failed precondition), if any. */
export function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
