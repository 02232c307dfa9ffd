import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);

// src/gcp/errors.ts
var STOCKOUT_CODES = /* @__PURE__ */ new Set([
  "ZONE_RESOURCE_POOL_EXHAUSTED",
  "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
  "RESOURCE_POOL_EXHAUSTED",
  "UNSUPPORTED_OPERATION_RESOURCE_POOL_EXHAUSTED"
]);
var GRPC_TO_HTTP = {
  3: 400,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  13: 500,
  14: 503,
  16: 401
};
function kindOfReason(reason) {
  if (STOCKOUT_CODES.has(reason)) return "stockout";
  if (/QUOTA_EXCEEDED|quotaExceeded/.test(reason)) return "quota";
  if (/rateLimitExceeded|userRateLimitExceeded|RATE_LIMIT_EXCEEDED/.test(reason)) return "rate-limit";
  if (/backendError|internalError|SERVICE_UNAVAILABLE/.test(reason)) return "unavailable";
  if (reason === "alreadyExists" || reason === "RESOURCE_ALREADY_EXISTS") return "already-exists";
  if (reason === "notFound" || reason === "RESOURCE_NOT_FOUND") return "not-found";
  if (reason === "forbidden" || reason === "insufficientPermissions" || reason === "accessNotConfigured")
    return "permission";
  if (reason === "invalid" || reason === "badRequest" || reason === "invalidParameter") return "invalid";
  return void 0;
}
function kindOfStatus(status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission";
    case 404:
      return "not-found";
    case 409:
      return "already-exists";
    case 429:
      return "rate-limit";
    case void 0:
      return "unknown";
    default:
      return status >= 500 ? "unavailable" : "unknown";
  }
}
function parseRaw(raw) {
  if (typeof raw === "string") {
    try {
      return JSON.parse(raw);
    } catch {
      return void 0;
    }
  }
  return raw && typeof raw === "object" ? raw : void 0;
}
var RAW_PAYLOAD = /* @__PURE__ */ Symbol.for("google-gax.rawHttpResponsePayload");
function findReason(err) {
  if (typeof err.reason === "string" && err.reason) return err.reason;
  const lists = [
    err.errors,
    parseRaw(err[RAW_PAYLOAD])?.error?.errors,
    err.response?.data?.error?.errors
  ];
  for (const list of lists) {
    if (Array.isArray(list)) {
      for (const e of list) {
        if (typeof e.reason === "string") return e.reason;
        if (typeof e.code === "string") return e.code;
      }
    }
  }
  const message = typeof err.message === "string" ? err.message : "";
  const m = /\b(ZONE_RESOURCE_POOL_EXHAUSTED(?:_WITH_DETAILS)?|QUOTA_EXCEEDED|rateLimitExceeded|quotaExceeded)\b/.exec(
    message
  );
  return m?.[1];
}
function classifyError(error) {
  const err = error ?? {};
  const message = typeof err.message === "string" ? err.message : String(error);
  let status;
  if (typeof err.httpStatusCode === "number") status = err.httpStatusCode;
  else if (typeof err.response?.status === "number") status = err.response.status;
  else if (typeof err.status === "number") status = err.status;
  else if (typeof err.code === "number") status = err.code >= 100 ? err.code : GRPC_TO_HTTP[err.code];
  const reason = findReason(err);
  if (status === void 0 && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|socket hang up|fetch failed/i.test(message)) {
    return { kind: "unavailable", status, reason: reason ?? "connection", message };
  }
  const kind = (reason ? kindOfReason(reason) : void 0) ?? kindOfStatus(status);
  return { kind, status, reason, message };
}
function classifyOperationError(error) {
  const first = error.errors?.[0];
  const reason = first?.code ?? void 0;
  const message = (error.errors ?? []).map((e) => `${e.code ?? ""}: ${e.message ?? ""}`).join("; ") || "operation failed";
  const kind = (reason ? kindOfReason(reason) : void 0) ?? "unknown";
  const zonesAvailable = (error.errors ?? []).flatMap((e) => e.errorDetails ?? []).flatMap((d) => (d.errorInfo?.metadatas?.zonesAvailable ?? "").split(",")).map((z) => z.trim()).filter((z) => z !== "");
  return {
    kind,
    status: void 0,
    reason,
    message,
    ...zonesAvailable.length > 0 ? { zonesAvailable } : {}
  };
}
function isTransient(f) {
  return f.kind === "rate-limit" || f.kind === "unavailable";
}
var GcpError = class extends Error {
  name = "GcpError";
  failure;
  constructor(context, failure) {
    super(`${context}: ${failure.message}`);
    this.failure = failure;
  }
};

export {
  classifyError,
  classifyOperationError,
  isTransient,
  GcpError
};
