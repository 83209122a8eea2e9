import type { FieldProblem } from "../errors.ts";

/**
 * The console's one door to the server: same-origin fetch with the session cookie, the CSRF header on
 * every state-changing request, and the API's error shape turned into an `ApiError` whose `fields`
 * the forms show next to the inputs they belong to.
 */
export type { FieldProblem };

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get fields(): FieldProblem[] {
    const fields = this.details.fields;
    return Array.isArray(fields) ? (fields as FieldProblem[]) : [];
  }

  /** Problems keyed by the form field they belong to: `businessPhones[1]` belongs to `businessPhones`. */
  fieldMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (const problem of this.fields) {
      const key = problem.field.replace(/[[.].*$/, "");
      const index = /^\w+\[(\d+)\]/.exec(problem.field)?.[1];
      const text = index !== undefined ? `Line ${Number(index) + 1}: ${problem.message}` : problem.message;
      map[key] = map[key] ? `${map[key]}; ${text}` : text;
    }
    return map;
  }
}

let csrfToken: string | null = null;
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Listener = () => void;
const unauthenticatedListeners = new Set<Listener>();
/** Called when any request finds the session gone (expired, signed out elsewhere). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Don't announce a 401 (the sign-in page's own probe). */
  quiet401?: boolean;
  /**
   * Send the version this tab last read of the path (its ETag) as If-Match: a change someone made meanwhile is then
   * refused (412) instead of overwritten by a form filled in on the old values.
   */
  ifMatch?: boolean;
}

/** The ETag each path answered last (GET, or the change that followed). */
const versions = new Map<string, string>();

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const resource = path.split("?")[0]!;
  const version = options.ifMatch ? versions.get(resource) : undefined;
  if (version) headers["If-Match"] = version;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: "same-origin", signal: options.signal });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network", "The Rollcall server could not be reached. Check that it is running and your network connection, then try again.");
  }
  if (response.status === 204) return undefined as T;
  const etag = response.headers.get("etag");
  if (etag) versions.set(resource, etag);
  const text = await response.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  // A record read by another key (a group by its name, a user by email) is changed at its id: keep its version there too.
  const id = (data as { id?: unknown } | undefined)?.id;
  if (etag && method === "GET" && typeof id === "string") versions.set(`${resource.slice(0, resource.lastIndexOf("/"))}/${encodeURIComponent(id)}`, etag);
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `The server answered ${response.status} ${response.statusText}. Try again; if it persists, check the server log.`,
      error?.details ?? {},
    );
    if (response.status === 401 && !options.quiet401) unauthenticatedListeners.forEach((listener) => listener());
    throw apiError;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query, options?: RequestOptions) => request<T>("GET", withQuery(path, query), undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, body ?? {}, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PATCH", path, body, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PUT", path, body, options),
  del: <T = void>(path: string, options?: RequestOptions) => request<T>("DELETE", path, undefined, options),
};

/** `/workspaces/{ws}` with the name escaped. */
export function ws(workspace: string, rest = ""): string {
  return `/workspaces/${encodeURIComponent(workspace)}${rest}`;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * A multipart upload with upload progress (fetch cannot report it): same cookie, CSRF header and error
 * shape as `request`.
 */
export function upload<T>(path: string, form: FormData, onProgress?: (sent: number, total: number) => void, signal?: AbortSignal, method: "POST" | "PUT" = "POST"): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `/api/v1${path}`);
    xhr.setRequestHeader("Accept", "application/json");
    if (csrfToken) xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded, event.lengthComputable ? event.total : 0);
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.onabort = () => reject(new DOMException("The upload was cancelled", "AbortError"));
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload failed: the server could not be reached. Check your connection and try again."));
    xhr.onload = () => {
      let data: unknown;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        data = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data as T);
      const error = (data as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
      if (xhr.status === 401) unauthenticatedListeners.forEach((listener) => listener());
      reject(new ApiError(xhr.status, error?.code ?? `http_${xhr.status}`, error?.message ?? `The server answered ${xhr.status}. Try again; if it persists, check the server log.`, error?.details ?? {}));
    };
    xhr.send(form);
  });
}
