// Change notifications: /v1.0/subscriptions (create with the validation handshake, list, get, renew, reauthorize, delete) for
// users and groups, and the notifications a change to the directory sends, in Microsoft's wire format.
// https://learn.microsoft.com/graph/api/subscription-post-subscriptions, …/change-notifications-delivery-webhooks,
// …/change-notifications-lifecycle-events, …/subscription-reauthorize. One liberty: an http:// notification URL is taken on a loopback address
// (Rollcall's tests on this machine); Graph takes https:// only.
import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { Caller } from "./auth.ts";
import { requirePermission } from "./auth.ts";
import { badRequest, GraphHttpError } from "./errors.ts";
import type { GraphReq } from "./query.ts";

export type SubscribedResource = "users" | "groups";
export type LifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed";
/** A directory change as a subscription sees it: soft deletes are "updated" (Graph's note on the changeType property). */
export type DirectoryChange = "created" | "updated" | "deleted";

export interface Subscription {
  id: string;
  resource: SubscribedResource;
  applicationId: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  creatorId: string;
  latestSupportedTlsVersion: string;
  includeResourceData: boolean;
  tenantId: string;
}

/** A delivery the emulator made, for tests to read (GET /_emulator/tenants/{id}/subscriptions). */
export interface Delivery {
  at: string;
  subscriptionId: string;
  url: string;
  kind: "change" | LifecycleEvent;
  /** The endpoint's answer; 0 when it gave none within Graph's 3 seconds (or could not be reached). */
  status: number;
  /** How long the endpoint took to answer, in milliseconds (to the timeout when it did not). */
  ms: number;
  /** Graph counts an answer slower than 2,900 ms as slow (enough of them and it throttles, then drops, the endpoint's notifications). */
  slow: boolean;
}

/** Users and groups subscriptions live at most 41,760 minutes (under 29 days). */
export const maxMinutes = 41_760;
const validationTimeoutMs = 10_000;
/**
 * Graph publishes notifications with a 3-second timeout and counts an answer slower than 2,900 ms as slow
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#throttling). The throttling that follows
 * (after 100 notifications, 10% slow) is not emulated: a delivery says whether it was slow, for tests to assert.
 */
const deliveryTimeoutMs = 3_000;
const slowAfterMs = 2_900;
const changes = new Set(["created", "updated", "deleted"]);

type Post = (url: string, body: string, contentType: string, timeoutMs: number) => Promise<{ status: number; text: string }>;

const httpPost: Post = async (url, body, contentType, timeoutMs) => {
  const response = await fetch(url, { method: "POST", headers: { "content-type": contentType }, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, text: await response.text() };
};

const invalid = (message: string): GraphHttpError => badRequest(message, "InvalidRequest");
const validationFailed = (message: string): GraphHttpError => new GraphHttpError(400, "ValidationError", message);
const missing = (id: string): GraphHttpError => new GraphHttpError(404, "ResourceNotFound", `The object '${id}' was not found.`);

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

function webhookUrl(value: unknown, property: string): string {
  if (typeof value !== "string" || !value) throw invalid(`Subscription property '${property}' is required.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`Subscription property '${property}' is not a valid URL.`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) throw invalid(`The '${property}' must use the https scheme.`);
  return value;
}

function expiration(value: unknown, now = Date.now()): string {
  const at = typeof value === "string" ? Date.parse(value) : NaN;
  if (!Number.isFinite(at)) throw invalid("Subscription property 'expirationDateTime' is required and must be a date and time.");
  if (at <= now) throw invalid("Subscription expiration must be in the future.");
  if (at > now + maxMinutes * 60_000) throw invalid(`Subscription expiration can only be ${maxMinutes} minutes in the future.`);
  return new Date(at).toISOString();
}

function resourceOf(value: unknown): SubscribedResource {
  const resource = typeof value === "string" ? value.replace(/^\/+/, "").toLowerCase() : "";
  if (resource === "users" || resource === "groups") return resource;
  throw invalid(`Resource '${String(value ?? "")}' is not supported by the emulator: subscribe to users or groups.`);
}

function changeTypeOf(value: unknown): string {
  const types = typeof value === "string" ? value.split(",").map((t) => t.trim()) : [];
  if (!types.length || types.some((t) => !changes.has(t))) throw invalid("Subscription property 'changeType' must be created, updated or deleted, or several of them separated by commas.");
  return types.join(",");
}

/** An operation on a subscription that a test can have Graph refuse once (refuseNext). */
export type RefusableOperation = "reauthorize" | "renew";

export class Subscriptions {
  private readonly byId = new Map<string, Subscription>();
  /** Subscriptions sent reauthorizationRequired and not reauthorized (or renewed) since. */
  private readonly awaitingReauthorization = new Set<string>();
  private readonly refusals = new Map<string, GraphHttpError>();
  readonly deliveries: Delivery[] = [];

  constructor(private readonly post: Post = httpPost) {}

  /** A request under /v1.0/subscriptions. */
  async handle(req: GraphReq, caller: Caller): Promise<{ status: number; body?: Record<string, unknown> }> {
    this.expire();
    const [, id, extra] = req.path.split("/").filter(Boolean);
    if (extra !== undefined && extra !== "reauthorize") throw badRequest(`Resource not found for the segment '${extra}'.`, "BadRequest");
    if (id === undefined) {
      if (req.method === "POST") return { status: 201, body: this.present(await this.create(req.body, caller)) };
      if (req.method === "GET") return { status: 200, body: { "@odata.context": `${req.origin}/v1.0/$metadata#subscriptions`, value: this.of(caller).map((s) => this.present(s)) } };
      throw new GraphHttpError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    }
    const sub = this.byId.get(id);
    if (!sub || sub.applicationId !== caller.clientId || sub.tenantId !== caller.entry.id) throw missing(id);
    if (extra === "reauthorize") {
      if (req.method !== "POST") throw new GraphHttpError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
      // Reauthorizing checks the app may still read the resource; the expiry stays as it is.
      requirePermission(caller, sub.resource);
      this.refused(sub.id, "reauthorize");
      this.awaitingReauthorization.delete(sub.id);
      return { status: 204 };
    }
    if (req.method === "GET") return { status: 200, body: this.present(sub) };
    if (req.method === "DELETE") {
      this.byId.delete(id);
      this.awaitingReauthorization.delete(id);
      return { status: 204 };
    }
    if (req.method === "PATCH") {
      this.refused(sub.id, "renew");
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (body.expirationDateTime !== undefined) sub.expirationDateTime = expiration(body.expirationDateTime);
      if (body.notificationUrl !== undefined) sub.notificationUrl = webhookUrl(body.notificationUrl, "notificationUrl");
      // Renewing reauthorizes too (change-notifications-lifecycle-events).
      this.awaitingReauthorization.delete(sub.id);
      return { status: 200, body: this.present(sub) };
    }
    throw new GraphHttpError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
  }

  private async create(raw: unknown, caller: Caller): Promise<Subscription> {
    const body = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const changeType = changeTypeOf(body.changeType);
    const notificationUrl = webhookUrl(body.notificationUrl, "notificationUrl");
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl === undefined || body.lifecycleNotificationUrl === null ? null : webhookUrl(body.lifecycleNotificationUrl, "lifecycleNotificationUrl");
    const resource = resourceOf(body.resource);
    const expirationDateTime = expiration(body.expirationDateTime);
    if (body.clientState !== undefined && body.clientState !== null && (typeof body.clientState !== "string" || body.clientState.length > 128)) {
      throw invalid("Subscription property 'clientState' must be a string of at most 128 characters.");
    }
    // Reading the resource is what a subscription to it needs (User.Read.All, Group.Read.All…).
    requirePermission(caller, resource);
    for (const url of new Set([notificationUrl, ...(lifecycleNotificationUrl ? [lifecycleNotificationUrl] : [])])) await this.validate(url);
    const sub: Subscription = {
      id: randomUUID(), resource, applicationId: caller.clientId, changeType, clientState: (body.clientState as string | undefined) ?? null,
      notificationUrl, lifecycleNotificationUrl, expirationDateTime, creatorId: caller.userId ?? caller.clientId,
      latestSupportedTlsVersion: "v1_2", includeResourceData: false, tenantId: caller.entry.id,
    };
    this.byId.set(sub.id, sub);
    return sub;
  }

  /** Graph's handshake: POST {url}?validationToken=… answered 200 with the token, as text/plain, within 10 seconds. */
  private async validate(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = `${url}${url.includes("?") ? "&" : "?"}validationToken=${encodeURIComponent(token)}`;
    let answer: { status: number; text: string };
    try {
      answer = await this.post(target, "", "text/plain; charset=utf-8", validationTimeoutMs);
    } catch (error) {
      if ((error as Error).name === "TimeoutError") throw validationFailed("Subscription validation request timed out.");
      throw validationFailed("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.");
    }
    if (answer.status !== 200) throw validationFailed("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.");
    if (answer.text !== token) throw validationFailed("Subscription validation request failed. Response must exactly match validationToken query parameter.");
  }

  private of(caller: Caller): Subscription[] {
    return [...this.byId.values()].filter((s) => s.applicationId === caller.clientId && s.tenantId === caller.entry.id);
  }

  /** Graph deletes a subscription once it expires. */
  private expire(now = Date.now()): void {
    for (const [id, s] of this.byId) if (Date.parse(s.expirationDateTime) <= now) this.byId.delete(id);
  }

  private present(s: Subscription): Record<string, unknown> {
    const { tenantId: _tenant, ...rest } = s;
    return { ...rest, notificationQueryOptions: null, notificationUrlAppId: null, encryptionCertificate: null, encryptionCertificateId: null, lifecycleNotificationUrl: s.lifecycleNotificationUrl };
  }

  /** The tenant's subscriptions, for the control API: whether each awaits reauthorization, and the deliveries made. */
  list(tenantId: string): Array<Subscription & { reauthorizationRequired: boolean; deliveries: Delivery[] }> {
    this.expire();
    return [...this.byId.values()].filter((s) => s.tenantId === tenantId).map((s) => ({
      ...s, reauthorizationRequired: this.awaitingReauthorization.has(s.id), deliveries: this.deliveries.filter((d) => d.subscriptionId === s.id),
    }));
  }

  /**
   * Graph refuses the next `operation` on the subscription with this error (control API): a Graph that does not offer
   * /reauthorize (400 BadRequest, as for any unknown segment), a transient failure… Throws when there is no such subscription.
   */
  refuseNext(tenantId: string, subscriptionId: string, operation: RefusableOperation, error: { status: number; code: string; message: string }): void {
    const s = this.byId.get(subscriptionId);
    if (!s || s.tenantId !== tenantId) throw new Error(`subscription ${subscriptionId} not found in tenant ${tenantId}`);
    this.refusals.set(`${subscriptionId} ${operation}`, new GraphHttpError(error.status, error.code, error.message));
  }

  private refused(subscriptionId: string, operation: RefusableOperation): void {
    const refusal = this.refusals.get(`${subscriptionId} ${operation}`);
    if (!refusal) return;
    this.refusals.delete(`${subscriptionId} ${operation}`);
    throw refusal;
  }

  /** A user or group of the tenant changed: each subscription to it that asked for that kind of change is told, one notification per change. */
  changed(tenantId: string, resource: SubscribedResource, id: string, change: DirectoryChange): void {
    this.expire();
    for (const s of this.byId.values()) {
      if (s.tenantId !== tenantId || s.resource !== resource) continue;
      const asked = s.changeType.split(",");
      // "updated" also brings creations (and soft deletes, which arrive as "updated" already).
      const sent = asked.includes(change) ? change : change === "created" && asked.includes("updated") ? "updated" : null;
      if (!sent) continue;
      const type = resource === "users" ? "User" : "Group";
      const path = `${resource === "users" ? "Users" : "Groups"}/${id}`;
      this.send(s, s.notificationUrl, "change", {
        subscriptionId: s.id, subscriptionExpirationDateTime: s.expirationDateTime, changeType: sent, resource: path,
        resourceData: { "@odata.type": `#Microsoft.Graph.${type}`, "@odata.id": path, id, organizationId: tenantId, sequenceNumber: Date.now() },
        clientState: s.clientState, tenantId,
      });
    }
  }

  /** A lifecycle event on a subscription (control API): subscriptionRemoved removes it first. Throws when there is no such subscription. */
  lifecycle(tenantId: string, subscriptionId: string, event: LifecycleEvent): void {
    const s = this.byId.get(subscriptionId);
    if (!s || s.tenantId !== tenantId) throw new Error(`subscription ${subscriptionId} not found in tenant ${tenantId}`);
    if (!s.lifecycleNotificationUrl) throw new Error(`subscription ${subscriptionId} has no lifecycleNotificationUrl: Graph sends it no lifecycle notifications`);
    if (event === "subscriptionRemoved") this.byId.delete(subscriptionId);
    if (event === "reauthorizationRequired") this.awaitingReauthorization.add(subscriptionId);
    this.send(s, s.lifecycleNotificationUrl, event, { subscriptionId: s.id, subscriptionExpirationDateTime: s.expirationDateTime, tenantId, clientState: s.clientState, lifecycleEvent: event });
  }

  private send(s: Subscription, url: string, kind: Delivery["kind"], item: Record<string, unknown>): void {
    const started = performance.now();
    const record = (status: number) => {
      const ms = Math.round(performance.now() - started);
      this.deliveries.push({ at: new Date().toISOString(), subscriptionId: s.id, url, kind, status, ms, slow: ms > slowAfterMs });
      if (this.deliveries.length > 1000) this.deliveries.shift();
    };
    void this.post(url, JSON.stringify({ value: [item] }), "application/json; charset=utf-8", deliveryTimeoutMs).then((r) => record(r.status), () => record(0));
  }
}
