import { isIP } from "node:net";
import { RollcallError } from "../../errors.ts";
import { GraphRequestError, supportReference, type GraphClient } from "./graph.ts";
import { needsGroups, type EntraConfig } from "./config.ts";

/**
 * Microsoft Graph subscriptions to a tenant's users and groups ("sync on change"): the requests, and Graph's refusals
 * in our words. https://learn.microsoft.com/graph/api/subscription-post-subscriptions,
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
 */
export const subscribedResources = ["users", "groups"] as const;
export type SubscribedResource = (typeof subscribedResources)[number];

/** The longest a users or groups subscription may live (https://learn.microsoft.com/graph/api/resources/subscription#subscription-lifetime). */
export const maxSubscriptionMinutes = 41_760;
/** What Rollcall asks for: an hour under the maximum, so that a clock a little ahead of Graph's is never refused. */
export const subscriptionLifetimeMs = (maxSubscriptionMinutes - 60) * 60_000;
/** A subscription with less left than this is renewed by the subscription upkeep (a few passes' worth of margin, and a weekend's). */
export const renewWithinMs = 3 * 86_400_000;

/** "updated" also says a user or group was created or soft-deleted; "deleted" that it was deleted for good. */
export const subscribedChanges = "updated,deleted";

/** The resources a source subscribes to: users, and groups when it reads them. */
export function resourcesOf(config: Pick<EntraConfig, "syncOnChange" | "users" | "groupMode">): SubscribedResource[] {
  if (!config.syncOnChange) return [];
  return needsGroups(config) ? ["users", "groups"] : ["users"];
}

/** The webhook Graph posts change and lifecycle notifications to (the same URL for both, as Graph allows). */
export const notificationPath = "/api/v1/graph/notifications";
export const notificationUrl = (publicUrl: string): string => `${publicUrl.replace(/\/+$/, "")}${notificationPath}`;

/**
 * Why Microsoft Graph could not deliver to this Rollcall (undefined when it can): it needs ROLLCALL_PUBLIC_URL, and
 * https there (http only for a loopback address: a test against the emulator on this machine).
 */
export function publicUrlProblem(publicUrl: string | undefined): string | undefined {
  if (!publicUrl) {
    return "sync on change needs ROLLCALL_PUBLIC_URL: the https:// address at which Microsoft Graph reaches this Rollcall server (it posts to ROLLCALL_PUBLIC_URL/api/v1/graph/notifications). Set it on every Rollcall process, restart them, and turn sync on change on again";
  }
  const url = new URL(publicUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || (isIP(host) === 4 && host.startsWith("127.")) || host === "::1";
  if (url.protocol !== "https:" && !loopback) {
    return `ROLLCALL_PUBLIC_URL is ${url.origin}: Microsoft Graph delivers change notifications only to an https:// URL reachable from the internet; serve Rollcall over HTTPS (a reverse proxy) and set ROLLCALL_PUBLIC_URL to that address`;
  }
  return undefined;
}

export interface GraphSubscription {
  id: string;
  expiresAt: Date;
}

function subscriptionOf(body: Record<string, unknown>): GraphSubscription {
  const expires = Date.parse(String(body.expirationDateTime ?? ""));
  if (typeof body.id !== "string" || !Number.isFinite(expires)) throw new RollcallError("sync_failed", "Microsoft Graph answered a subscription request without its id or expirationDateTime");
  return { id: body.id, expiresAt: new Date(expires) };
}

export async function createSubscription(
  graph: GraphClient,
  input: { resource: SubscribedResource; notificationUrl: string; clientState: string; expiresAt: Date },
): Promise<GraphSubscription> {
  return subscriptionOf(await graph.change("POST", "/subscriptions", {
    changeType: subscribedChanges,
    notificationUrl: input.notificationUrl,
    lifecycleNotificationUrl: input.notificationUrl,
    resource: input.resource,
    expirationDateTime: input.expiresAt.toISOString(),
    clientState: input.clientState,
  }));
}

export async function renewSubscription(graph: GraphClient, id: string, expiresAt: Date): Promise<GraphSubscription> {
  return subscriptionOf(await graph.change("PATCH", `/subscriptions/${encodeURIComponent(id)}`, { expirationDateTime: expiresAt.toISOString() }));
}

/**
 * Answers Graph's reauthorizationRequired lifecycle event: the subscription goes on delivering, its expiry unchanged
 * (204). https://learn.microsoft.com/graph/api/subscription-reauthorize
 */
export async function reauthorizeSubscription(graph: GraphClient, id: string): Promise<void> {
  await graph.change("POST", `/subscriptions/${encodeURIComponent(id)}/reauthorize`);
}

/**
 * Whether a subscription Graph holds still delivers to `url` (both its notification and lifecycle URLs): false when it
 * points elsewhere (ROLLCALL_PUBLIC_URL changed since it was made), null when Graph no longer has it.
 */
export async function deliversTo(graph: GraphClient, id: string, url: string): Promise<boolean | null> {
  try {
    const held = await graph.get(`/subscriptions/${encodeURIComponent(id)}`);
    return held.notificationUrl === url && held.lifecycleNotificationUrl === url;
  } catch (error) {
    if (isMissingSubscription(error)) return null;
    throw error;
  }
}

/** Deletes a subscription; one Graph no longer has (expired, removed) is already gone. */
export async function deleteSubscription(graph: GraphClient, id: string): Promise<void> {
  try {
    await graph.change("DELETE", `/subscriptions/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
  }
}

export const isMissingSubscription = (error: unknown): boolean => error instanceof GraphRequestError && error.status === 404;

/** A subscription that could not be made or renewed, as the source's warning: Graph's code and what to do. */
export function subscriptionProblem(error: unknown, resource: SubscribedResource, url: string): { code: string; message: string } {
  if (error instanceof GraphRequestError) {
    const reference = supportReference(error.ids);
    const said = `${error.status} ${error.code}: ${error.message}${reference ? ` (${reference})` : ""}`;
    if (error.status === 403) {
      const permission = resource === "users" ? "User.Read.All" : "Group.Read.All";
      return { code: error.code, message: `Microsoft Graph refused to subscribe to changes of ${resource} (${said}): in App registrations > API permissions, add the Microsoft Graph application permission ${permission} and click "Grant admin consent", then save the source again` };
    }
    if (error.status === 400 && /validat/i.test(`${error.code} ${error.message}`)) {
      return { code: error.code, message: `Microsoft Graph could not validate the notification URL ${url} (${said}): it must be reachable from the internet over HTTPS and answer as Rollcall does. Check ROLLCALL_PUBLIC_URL, your firewall and reverse proxy, that \`rollcall serve\` is running there, then save the source again` };
    }
    return { code: error.code, message: `Microsoft Graph refused to subscribe to changes of ${resource} (${said}); save the source again to retry` };
  }
  const rollcall = error instanceof RollcallError ? error : null;
  return { code: rollcall?.code ?? "source_unreachable", message: `Could not subscribe to changes of ${resource}: ${(error as Error).message}` };
}
