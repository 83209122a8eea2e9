import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { RollcallError } from "../../errors.ts";
import type { HttpFetch } from "../../net/http.ts";
import { unreachable, type TokenProvider } from "./token.ts";
import type { EntraConfig } from "./config.ts";
import { unknownPropertyAdvice, unknownPropertyIn } from "./property-advice.ts";

/**
 * The one Graph client: one retry policy, one paging generator, one token provider, and a cap on
 * requests in flight. Retries honour Retry-After (seconds, fractional seconds or an HTTP date) on 429,
 * 503 and 504, and back off exponentially with jitter when it is absent; each retry says so with the
 * Retry-Attempt header, like Microsoft's SDKs. [throttling, errors, paging]
 */
export interface GraphPage {
  value: Record<string, unknown>[];
  nextLink: string | undefined;
  deltaLink: string | undefined;
}

export interface GraphStats {
  requests: number;
  throttled: number;
}

/**
 * The ids Microsoft support asks for about a failed Graph request: the answer's `request-id` (its `innerError`, else
 * its header) and `date`, and the `client-request-id` we sent. https://learn.microsoft.com/graph/errors#error-resource-type
 */
export interface GraphSupportIds {
  requestId: string | null;
  clientRequestId: string | null;
  date: string | null;
}

export class GraphRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly location?: string,
    readonly url?: string,
    readonly ids: GraphSupportIds = { requestId: null, clientRequestId: null, date: null },
  ) {
    super(message);
  }
}

/** The support ids of an error answer: innerError's fields (Graph spells it innerError or innererror), else the headers. */
function supportIds(error: { innerError?: unknown; innererror?: unknown }, headers: Headers, sent: string): GraphSupportIds {
  const inner = (error.innerError ?? error.innererror ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" && value ? value : null);
  return {
    requestId: text(inner["request-id"]) ?? headers.get("request-id"),
    clientRequestId: text(inner["client-request-id"]) ?? headers.get("client-request-id") ?? sent,
    date: text(inner.date) ?? headers.get("date"),
  };
}

/** The ids an admin gives Microsoft support, briefly, for a failure message: "request-id …, date …". */
export function supportReference(ids: GraphSupportIds): string {
  return [ids.requestId && `request-id ${ids.requestId}`, ids.date && `date ${ids.date}`].filter(Boolean).join(", ");
}

/** The application permission a Graph request needs, by its endpoint (memberOf needs both: the group one is the one likely missing). */
export function permissionFor(url: string | undefined): string {
  const path = url ? new URL(url, "https://graph.invalid").pathname : "";
  if (/\/deletedItems\/microsoft\.graph\.user$/i.test(path)) return "User.Read.All";
  if (/\/groups(\/|$)|\/(transitive)?memberOf/i.test(path)) return "Group.Read.All";
  if (/\/users(\/|$)/i.test(path)) return "User.Read.All";
  return "User.Read.All and Group.Read.All";
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

// Up to 10 minutes: Graph has been seen to ask for 315 s, and retrying sooner only extends the throttling
// (https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling). The backoff without
// Retry-After stays near a minute at the last attempt (500 ms × 2^7). A cancelled run stops waiting at once.
export const defaultRetry: RetryPolicy = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 600_000 };

/** Milliseconds to wait before retry `attempt` (1-based): Retry-After when given, else backoff with jitter. Pure. */
export function retryDelay(retryAfter: string | null, attempt: number, policy: RetryPolicy, now = Date.now(), random = Math.random): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.min(policy.maxDelayMs, Math.max(0, seconds * 1000));
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.min(policy.maxDelayMs, Math.max(0, date - now));
  }
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

const retryable = new Set([429, 500, 502, 503, 504]);

/**
 * Waits `ms` (a Retry-After, a backoff), unless `signal` aborts first: then rejects at once with its reason,
 * so a run interrupted or cancelled during a throttled wait ends now, not when Graph would have it retry.
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal && { signal }).catch((error: unknown) => {
    throw signal?.aborted ? signal.reason : error;
  });
}

export class GraphClient {
  readonly stats: GraphStats = { requests: 0, throttled: 0 };
  private active = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly options: {
      graphUrl: string;
      tokens: TokenProvider;
      fetch: HttpFetch;
      retry?: RetryPolicy;
      concurrency?: number;
      sleep?: (ms: number) => Promise<void>;
      /** The run's: aborting it ends a wait between retries at once, with its reason. */
      signal?: AbortSignal;
    },
  ) {}

  url(path: string): string {
    return /^https:\/\//.test(path) ? path : `${this.options.graphUrl}/v1.0${path.startsWith("/") ? path : `/${path}`}`;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    await this.acquire();
    try {
      return await this.send(this.url(path), headers);
    } finally {
      this.release();
    }
  }

  /**
   * A request that changes something (subscriptions: POST, PATCH, DELETE), with a JSON body; an answer without one
   * (204) is `{}`. Retried as a GET is: Graph refuses a second subscription for the same URL and resource only by making two.
   */
  async change(method: "POST" | "PATCH" | "DELETE", path: string, body?: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.acquire();
    try {
      return await this.send(this.url(path), body === undefined ? {} : { "content-type": "application/json" }, { method, ...(body !== undefined && { body: JSON.stringify(body) }) });
    } finally {
      this.release();
    }
  }

  /** Every page of a collection, following @odata.nextLink until it is absent (headers re-sent each time). */
  async *pages(path: string, headers: Record<string, string> = {}): AsyncGenerator<GraphPage> {
    let next: string | undefined = this.url(path);
    while (next) {
      const body = await this.get(next, headers);
      const page: GraphPage = {
        value: Array.isArray(body.value) ? (body.value as Record<string, unknown>[]) : [],
        nextLink: typeof body["@odata.nextLink"] === "string" ? body["@odata.nextLink"] : undefined,
        deltaLink: typeof body["@odata.deltaLink"] === "string" ? body["@odata.deltaLink"] : undefined,
      };
      yield page;
      next = page.nextLink;
    }
  }

  private async send(url: string, headers: Record<string, string>, init: { method?: string; body?: string } = {}): Promise<Record<string, unknown>> {
    const policy = this.options.retry ?? defaultRetry;
    const sleep = this.options.sleep ?? ((ms: number) => pause(ms, this.options.signal));
    const clientRequestId = randomUUID();
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.options.tokens.token();
      const h: Record<string, string> = { ...headers, authorization: `Bearer ${token}`, accept: "application/json", "client-request-id": clientRequestId };
      if (attempt > 1) h["retry-attempt"] = String(attempt - 1);
      let response: Response;
      this.stats.requests++;
      try {
        response = await this.options.fetch(url, { ...init, headers: h });
      } catch (error) {
        if (error instanceof RollcallError) throw error; // the run was interrupted (its AbortSignal's reason): no retry
        if (attempt >= policy.maxAttempts) throw unreachable(url, error);
        await sleep(retryDelay(null, attempt, policy));
        continue;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        // The connection closed in the middle of the body: retried like one that closed before the answer.
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        if (error instanceof RollcallError) throw error;
        if (attempt >= policy.maxAttempts) throw unreachable(url, error);
        await sleep(retryDelay(null, attempt, policy));
        continue;
      }
      if (response.ok) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
      let error: { code?: string; message?: string; innerError?: unknown; innererror?: unknown } = {};
      try {
        error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
      } catch {
        // not JSON: reported with the status below
      }
      if (response.status === 429) this.stats.throttled++;
      if (retryable.has(response.status) && attempt < policy.maxAttempts) {
        await sleep(retryDelay(response.headers.get("retry-after"), attempt, policy));
        continue;
      }
      if (response.status === 401 && error.code === "InvalidAuthenticationToken" && !refreshed) {
        refreshed = true; // the token expired during a long run: get a new one, once
        await this.options.tokens.token({ refresh: true });
        continue;
      }
      throw new GraphRequestError(response.status, error.code ?? `HTTP${response.status}`, error.message ?? text.slice(0, 200), response.headers.get("location") ?? undefined, url, supportIds(error, response.headers, clientRequestId));
    }
  }

  private async acquire(): Promise<void> {
    if (this.active < (this.options.concurrency ?? 4)) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * Graph's ways of saying "this delta token is no longer good: start over". The delta-query overview documents
 * 410 Gone for a reset and, for an expired token, "a 40X-series error with error codes such as syncStateNotFound":
 * an open list (https://learn.microsoft.com/graph/delta-query-overview#token-duration). Expired page tokens have
 * also been seen as 400 Directory_ExpiredPageToken. So besides the codes we know, a 400 or 404 answering the first
 * request of a stored deltaLink (`storedLinks`: the links the round started from) counts as stale too: that
 * request is the token and nothing else, and a full listing (tried once) either heals it or fails on its own.
 */
export function isStaleDelta(error: unknown, storedLinks?: { users: string | null; groups: string | null } | null): boolean {
  if (!(error instanceof GraphRequestError)) return false;
  if (error.status === 410) return true;
  if (/^(syncStateNotFound|resyncRequired|syncStateInvalid|Directory_ExpiredPageToken)$/i.test(error.code)) return true;
  return (error.status === 400 || error.status === 404) && error.url !== undefined && storedLinks != null
    && (error.url === storedLinks.users || error.url === storedLinks.groups);
}

/** How a stale delta token was answered, for the run's note: "400 Directory_ExpiredPageToken". */
export function staleDeltaAnswer(error: unknown): string {
  return error instanceof GraphRequestError ? `${error.status} ${error.code}` : "unrecognised answer";
}

/** A Graph failure as a Rollcall error, with what to do about it (`config`: the source's settings, when one of them may be the cause). */
export function graphFailure(error: unknown, what: string, config?: EntraConfig): RollcallError {
  if (error instanceof RollcallError) return error;
  if (error instanceof GraphRequestError) {
    const ids = { requestId: error.ids.requestId, clientRequestId: error.ids.clientRequestId, date: error.ids.date };
    if (error.status === 403) {
      const permission = permissionFor(error.url);
      return new RollcallError(
        "source_permission_missing",
        `Graph refused to ${what} (403 ${error.code}): in App registrations > API permissions, add the Microsoft Graph application permission ${permission} and click "Grant admin consent".`,
        { graphCode: error.code, status: 403, permission, ...ids },
      );
    }
    const property = error.status === 400 ? unknownPropertyIn(error.message) : undefined;
    if (config && property) {
      return new RollcallError("sync_failed", `Graph refused to ${what} (400 ${error.code}): ${unknownPropertyAdvice(config, property)}`, { graphCode: error.code, status: 400, property, ...ids });
    }
    // Nothing for the admin to fix here: the ids Microsoft support asks for go into the message they will copy.
    const reference = supportReference(error.ids);
    return new RollcallError("sync_failed", `Graph failed to ${what}: ${error.status} ${error.code}: ${error.message}${reference ? ` (${reference})` : ""}`, { graphCode: error.code, status: error.status, ...ids });
  }
  return new RollcallError("sync_failed", `Could not ${what}: ${(error as Error).message}`, {}, { cause: error });
}
