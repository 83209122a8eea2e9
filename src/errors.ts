/**
 * One error class for the whole product. Every failure a user can see has a stable `code`
 * (scripts branch on it), a message that says what to do, and optional structured details.
 * Foreign errors (database, Graph, AADSTS) are translated into this at the edge that meets them.
 */
export type ErrorCode =
  | "invalid_input"
  | "not_found"
  | "method_not_allowed"
  | "not_implemented"
  | "conflict"
  | "unauthenticated"
  | "forbidden"
  | "csrf_failed"
  | "rate_limited"
  | "database_locked"
  | "database_unreachable"
  | "config_invalid"
  | "payload_too_large"
  | "headers_too_large"
  | "request_timeout"
  | "unsupported_file"
  | "unsupported_media_type"
  | "import_invalid"
  | "import_preview_changed"
  | "source_auth_failed"
  | "source_permission_missing"
  | "source_unreachable"
  | "source_scope_invalid"
  | "precondition_failed"
  | "sync_running"
  | "sync_threshold_exceeded"
  | "sync_plan_changed"
  | "sync_failed"
  | "signin_refused"
  | "delivery_failed"
  | "server_stopping"
  | "server_unreachable"
  | "internal";

const httpStatus: Record<ErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  method_not_allowed: 405,
  not_implemented: 501,
  conflict: 409,
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  rate_limited: 429,
  database_locked: 503,
  database_unreachable: 503,
  config_invalid: 500,
  payload_too_large: 413,
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_file: 415,
  unsupported_media_type: 415,
  import_invalid: 422,
  import_preview_changed: 409,
  source_auth_failed: 502,
  source_permission_missing: 502,
  source_unreachable: 502,
  source_scope_invalid: 422,
  precondition_failed: 412,
  sync_running: 409,
  sync_threshold_exceeded: 409,
  sync_plan_changed: 409,
  sync_failed: 502,
  signin_refused: 403,
  delivery_failed: 502,
  server_stopping: 503,
  server_unreachable: 502,
  internal: 500,
};

/** Every code, for the OpenAPI document's Error schema. */
export const errorCodes = Object.keys(httpStatus) as [ErrorCode, ...ErrorCode[]];

export type ErrorDetails = Record<string, unknown>;

export class RollcallError extends Error {
  override readonly name = "RollcallError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return httpStatus[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** One field-level problem, shared by API responses, CLI output and import row reports. */
export interface FieldProblem {
  field: string;
  message: string;
  value?: unknown;
}

export function invalidInput(problems: FieldProblem[], message?: string): RollcallError {
  const summary = message ?? problems.map((p) => `${p.field}: ${p.message}`).join("; ");
  return new RollcallError("invalid_input", summary, { fields: problems });
}

export function notFound(what: string, key: string): RollcallError {
  return new RollcallError("not_found", `${what} "${key}" was not found`, { resource: what, key });
}

export function toRollcallError(error: unknown): RollcallError {
  if (error instanceof RollcallError) return error;
  const lost = connectionLossReason(error);
  if (lost) return databaseUnreachable(lost, error);
  const message = error instanceof Error ? error.message : String(error);
  return new RollcallError("internal", `Unexpected error: ${message}`, {}, { cause: error });
}

/** Why a file could not be read, in words rather than Node's "ENOENT: no such file or directory, open 'x'". */
export function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a folder, not a file";
  if (code === "EROFS") return "the file system is read-only";
  if (code === "ENOSPC") return "the disk is full";
  if (code === "EDQUOT") return "the disk quota is used up";
  return error instanceof Error ? error.message : String(error);
}

/** A server that cannot listen, said with the setting that moves it ("listen EADDRINUSE …" says neither). */
export function listenProblem(error: unknown, where: { host: string; port: number; setting: string }): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const at = `${where.host}:${where.port}`;
  const setTo = where.setting.startsWith("--") ? `give ${where.setting}` : `set ${where.setting} to`;
  if (code === "EADDRINUSE") return new RollcallError("config_invalid", `Cannot listen on ${at}: the port is in use (another Rollcall server, or another program). Stop it, or ${setTo} a free port (0 picks one).`, { host: where.host, port: where.port });
  if (code === "EACCES") return new RollcallError("config_invalid", `Cannot listen on ${at}: not allowed (ports below 1024 need privileges). ${setTo.replace(/^./, (c) => c.toUpperCase())} a port from 1024 up.`, { host: where.host, port: where.port });
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new RollcallError("config_invalid", `Cannot listen on ${at}: the name ${where.host} does not resolve to an address of this machine. Set ${where.setting === "--port" ? "--host" : "ROLLCALL_HOST"} to one of its addresses (127.0.0.1, or 0.0.0.0 for all).`, { host: where.host, port: where.port });
  if (code === "EADDRNOTAVAIL") return new RollcallError("config_invalid", `Cannot listen on ${at}: this machine has no such address. Set ${where.setting === "--port" ? "--host" : "ROLLCALL_HOST"} to one of its addresses (127.0.0.1, or 0.0.0.0 for all).`, { host: where.host, port: where.port });
  return error;
}

/** Socket errors of a connection that could not be made or was cut. */
const socketFailures = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

/**
 * Why the PostgreSQL server cannot be reached or cut the connection, when `error` says so: SQLSTATE class 08
 * (connection exception) or 57P01-57P03 (shutting down, crashed, starting up), or node-postgres's words for a lost
 * connection. Socket errors count only with `socket` (an error that surely came from the database connection: a
 * webhook's or Graph's ECONNREFUSED is not the database's).
 */
export function connectionLossReason(error: unknown, options: { socket?: boolean } = {}): string | undefined {
  if (!error || typeof error !== "object") return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  if (typeof code === "string" && (code.startsWith("08") || ["57P01", "57P02", "57P03"].includes(code) || (options.socket && socketFailures.has(code)))) return text || code;
  if (/^Connection terminated|is not queryable$/.test(text)) return "the connection to the database was lost";
  return undefined;
}

/**
 * The database cannot be reached (503), rather than an internal error. Each request and each round of the background
 * work connects again, so what failed works again once the database is back, without a restart.
 */
export function databaseUnreachable(reason: string, cause?: unknown): RollcallError {
  return new RollcallError("database_unreachable", `Database unreachable: ${reason}; retrying: Rollcall connects again for each request, so try again once the database is back.`, { reason }, { cause });
}
