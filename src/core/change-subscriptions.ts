import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { SecretBox } from "../security/encryption.ts";
import { sameText } from "../security/hashing.ts";
import { forgetSubscriptions, rememberSubscription } from "./subscription-cache.ts";
import type { HttpFetch } from "../net/http.ts";
import { entraConfigSchema, type EntraConfig } from "../sources/entra/config.ts";
import { openCredential, type Credential } from "../sources/entra/token.ts";
import { graphOf } from "../sources/entra/connect.ts";
import type { GraphClient } from "../sources/entra/graph.ts";
import {
  createSubscription, deleteSubscription, deliversTo, isMissingSubscription, notificationUrl, publicUrlProblem, reauthorizeSubscription, renewSubscription, renewWithinMs, resourcesOf,
  subscriptionLifetimeMs, subscriptionProblem, type SubscribedResource,
} from "../sources/entra/subscriptions.ts";

/**
 * A source's Microsoft Graph subscriptions ("sync on change"), kept in step with its settings: made when it is turned
 * on (and at start-up), renewed before they expire, made again when Graph removed one, deleted when it is turned off or
 * the source removed. Graph is asked by one process at a time per subscription (a claim on its row). Nothing here
 * throws for Graph's sake: a subscription that cannot be made is the source's warning, with Graph's code.
 */
export interface SubscriptionDeps {
  db: Db;
  secrets: SecretBox;
  fetch: HttpFetch;
  publicUrl: string | undefined;
}

export type SubscriptionState = "pending" | "active" | "failed";

export interface SubscriptionStatus {
  resource: SubscribedResource;
  state: SubscriptionState;
  expiresAt: string | null;
  /** Why it could not be made or renewed: Graph's code (or ours) and what to do. */
  warning: { code: string; message: string } | null;
}

type Row = {
  source_id: string;
  resource: SubscribedResource;
  subscription_id: string | null;
  client_state_ciphertext: string | null;
  expires_at: Date | null;
  state: SubscriptionState;
  error: { code: string; message: string } | null;
  renew_claimed_at: Date | null;
  updated_at: Date;
};

export interface SubscribingSource {
  id: string;
  name: string;
  config: EntraConfig;
  credential: Credential | null;
}

/** A failed subscription is tried again by the subscription upkeep this long after (at once when the source is saved). */
const retryFailedAfterMs = 3_600_000;
/** A claim older than this belongs to a process that died while asking Graph. */
const claimLapsesMs = 120_000;

async function rowsOf(db: Db, sourceId: string): Promise<Row[]> {
  const { rows } = await sql<Row>`select * from graph_subscriptions where source_id = ${sourceId} order by resource desc`.execute(db);
  return rows;
}

export async function subscriptionStatuses(db: Db, sourceId: string): Promise<SubscriptionStatus[]> {
  return (await rowsOf(db, sourceId)).map((row) => ({
    resource: row.resource,
    state: row.state,
    expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
    warning: row.error,
  }));
}

/** Whether a resource's subscription needs Graph now: none yet, failed (retried hourly, or at once), or expiring. Pure. */
export function needsGraph(row: Pick<Row, "state" | "expires_at" | "updated_at"> | undefined, now: Date, retryFailed: boolean): boolean {
  if (!row) return true;
  if (row.state === "failed") return retryFailed || now.getTime() - new Date(row.updated_at).getTime() >= retryFailedAfterMs;
  if (row.state === "pending") return true;
  return !row.expires_at || new Date(row.expires_at).getTime() - now.getTime() < renewWithinMs;
}

/** One process at a time asks Graph about a source's resource: false when another one is at it. */
async function claim(db: Db, sourceId: string, resource: SubscribedResource): Promise<Row | null> {
  const { rows } = await sql<Row>`
    insert into graph_subscriptions (source_id, resource, state, renew_claimed_at) values (${sourceId}, ${resource}, 'pending', now())
    on conflict (source_id, resource) do update set renew_claimed_at = now()
      where graph_subscriptions.renew_claimed_at is null or graph_subscriptions.renew_claimed_at < now() - ${`${claimLapsesMs} milliseconds`}::interval
    returning *`.execute(db);
  return rows[0] ?? null;
}

async function record(db: Db, sourceId: string, resource: SubscribedResource, values: { state: SubscriptionState; subscriptionId: string | null; clientState?: string | null; expiresAt: Date | null; error: { code: string; message: string } | null }): Promise<void> {
  await sql`update graph_subscriptions set state = ${values.state}, subscription_id = ${values.subscriptionId},
      client_state_ciphertext = ${values.clientState === undefined ? sql`client_state_ciphertext` : values.clientState},
      expires_at = ${values.expiresAt}, error = ${values.error === null ? null : JSON.stringify(values.error)}::jsonb, renew_claimed_at = null, updated_at = now()
    where source_id = ${sourceId} and resource = ${resource}`.execute(db);
}

/**
 * Brings a source's subscriptions in line with its settings. `retryFailed`: try a failed one again now (the admin
 * saved the source); `reauthorize`: these, now (Graph's reauthorizationRequired lifecycle event); `verify`: ask
 * Graph whether an active one still delivers to this server's URL, and make it again if not (start-up: ROLLCALL_PUBLIC_URL
 * may have changed, and renewing never moves a subscription).
 */
export async function reconcileSubscriptions(deps: SubscriptionDeps, source: SubscribingSource, options: { retryFailed?: boolean; reauthorize?: SubscribedResource[]; verify?: boolean } = {}): Promise<void> {
  const wanted = resourcesOf(source.config);
  const rows = await rowsOf(deps.db, source.id);
  const unwanted = rows.filter((row) => !wanted.includes(row.resource));
  if (unwanted.length) await deleteAtGraph(deps, source, unwanted.flatMap((row) => (row.subscription_id ? [row.subscription_id] : [])));
  for (const row of unwanted) await sql`delete from graph_subscriptions where source_id = ${source.id} and resource = ${row.resource}`.execute(deps.db);
  forgetSubscriptions(deps.db, { ids: unwanted.flatMap((row) => (row.subscription_id ? [row.subscription_id] : [])) });
  const now = new Date();
  for (const resource of wanted) {
    const force = options.reauthorize?.includes(resource) ?? false;
    const verify = options.verify ?? false;
    if (!force && !verify && !needsGraph(rows.find((row) => row.resource === resource), now, options.retryFailed ?? false)) continue;
    const claimed = await claim(deps.db, source.id, resource);
    if (!claimed) continue;
    // Another process may have done it between the read and the claim.
    const verifying = verify && claimed.state === "active" && claimed.subscription_id !== null;
    if (!force && !verifying && claimed.state !== "pending" && !needsGraph(claimed, now, options.retryFailed ?? false)) {
      await release(deps.db, source.id, resource);
      continue;
    }
    await subscribe(deps, source, resource, claimed, { verify: verifying && !force && !needsGraph(claimed, now, false), reauthorize: force });
  }
}

async function release(db: Db, sourceId: string, resource: SubscribedResource): Promise<void> {
  await sql`update graph_subscriptions set renew_claimed_at = null where source_id = ${sourceId} and resource = ${resource}`.execute(db);
}

/**
 * Renews the subscription `row` holds, or makes a new one; records the outcome either way. `verify` (an active one,
 * not expiring): only when Graph no longer has it, or it delivers to another URL, is it made again. `reauthorize` (Graph
 * asked): an active one not expiring is reauthorized, as Microsoft documents, else renewed (which reauthorizes too); one
 * Graph no longer has is made again.
 */
async function subscribe(deps: SubscriptionDeps, source: SubscribingSource, resource: SubscribedResource, row: Row, options: { verify?: boolean; reauthorize?: boolean } = {}): Promise<void> {
  const fail = (warning: { code: string; message: string }) => record(deps.db, source.id, resource, { state: "failed", subscriptionId: row.subscription_id, expiresAt: row.expires_at, error: warning });
  const urlProblem = publicUrlProblem(deps.publicUrl);
  // Only checking a working subscription: this process's want of a URL or credential is no reason to fail it.
  if (options.verify && (urlProblem || !source.credential)) return release(deps.db, source.id, resource);
  if (urlProblem) return fail({ code: "config_invalid", message: urlProblem });
  if (!source.credential) return fail({ code: "source_auth_failed", message: "The source has no client secret or certificate: give it one, then save the source again" });
  const url = notificationUrl(deps.publicUrl!);
  const { graph } = graphOf(source.config, source.credential, deps.fetch);
  const expiresAt = new Date(Date.now() + subscriptionLifetimeMs);
  try {
    // Graph not answering the check leaves the subscription as it is (true): only a clear answer moves it.
    const delivers = options.verify && row.subscription_id ? await deliversTo(graph, row.subscription_id, url).catch(() => true) : undefined;
    if (delivers === true) return await release(deps.db, source.id, resource);
    if (delivers === false) {
      await deleteSubscription(graph, row.subscription_id!).catch(() => undefined); // it points at an address that no longer reaches us
    } else if (delivers === null) {
      // gone at Graph: made again below
    } else if (row.state === "active" && row.subscription_id) {
      const active: Active = { deps, graph, sourceId: source.id, resource, id: row.subscription_id, expiresAt: row.expires_at, url };
      if (options.reauthorize && !needsGraph(row, new Date(), false) ? await reauthorizeActive(active) : await renewActive(active)) return;
    } else if (row.subscription_id) {
      await deleteSubscription(graph, row.subscription_id).catch(() => undefined);
    }
    const clientState = randomBytes(32).toString("base64url");
    const made = await createSubscription(graph, { resource, notificationUrl: url, clientState, expiresAt });
    await record(deps.db, source.id, resource, { state: "active", subscriptionId: made.id, clientState: deps.secrets.seal(clientState), expiresAt: made.expiresAt, error: null });
    forgetSubscriptions(deps.db, { sourceId: source.id, resource });
    rememberSubscription(deps.db, made.id, { sourceId: source.id, resource }, clientState);
  } catch (error) {
    await fail(subscriptionProblem(error, resource, url));
  }
}

/** An active subscription being renewed or reauthorized, as held. */
interface Active {
  deps: SubscriptionDeps;
  graph: GraphClient;
  sourceId: string;
  resource: SubscribedResource;
  id: string;
  expiresAt: Date | null;
  url: string;
}

/**
 * Renews an active subscription: true when renewed, or kept as it is with the problem shown; false when Graph no longer
 * has it (expired, removed: to be made again). Any other refusal (throttled, a 5xx, the network, a permission taken
 * away) leaves a subscription that delivers until it expires: kept, and renewed at the next pass, rather than deleted
 * and made again an hour later. Throws when it has expired meanwhile.
 */
async function renewActive(active: Active): Promise<boolean> {
  const { deps, sourceId, resource } = active;
  try {
    const renewed = await renewSubscription(active.graph, active.id, new Date(Date.now() + subscriptionLifetimeMs));
    await record(deps.db, sourceId, resource, { state: "active", subscriptionId: renewed.id, expiresAt: renewed.expiresAt, error: null });
    return true;
  } catch (error) {
    if (isMissingSubscription(error)) return false;
    if (!active.expiresAt || new Date(active.expiresAt).getTime() <= Date.now()) throw error;
    await record(deps.db, sourceId, resource, { state: "active", subscriptionId: active.id, expiresAt: active.expiresAt, error: subscriptionProblem(error, resource, active.url) });
    return true;
  }
}

/**
 * Answers Graph's reauthorizationRequired as Microsoft documents: reauthorizes the subscription (its expiry unchanged);
 * refused, renews it instead (which reauthorizes too); false when Graph no longer has it (to be made again).
 */
async function reauthorizeActive(active: Active): Promise<boolean> {
  try {
    await reauthorizeSubscription(active.graph, active.id);
  } catch (error) {
    return isMissingSubscription(error) ? false : renewActive(active);
  }
  await record(active.deps.db, active.sourceId, active.resource, { state: "active", subscriptionId: active.id, expiresAt: active.expiresAt, error: null });
  return true;
}

/** Deletes subscriptions at Graph, as far as it can (a source being removed or turned off: its rows go anyway). */
export async function deleteAtGraph(deps: Pick<SubscriptionDeps, "fetch">, source: SubscribingSource, ids: string[]): Promise<void> {
  if (!ids.length || !source.credential) return;
  const { graph } = graphOf(source.config, source.credential, deps.fetch);
  for (const id of ids) await deleteSubscription(graph, id).catch(() => undefined);
}

export async function subscriptionIdsOf(db: Db, sourceId: string): Promise<string[]> {
  return (await rowsOf(db, sourceId)).flatMap((row) => (row.subscription_id ? [row.subscription_id] : []));
}

/** The Graph subscriptions of a workspace's sources, each with its source (a credential this process cannot open: left to expire). */
export async function workspaceSubscriptions(db: Db, secrets: SecretBox, workspaceId: string): Promise<Array<{ source: SubscribingSource; ids: string[] }>> {
  const { rows } = await sql<{ source_id: string }>`
    select distinct g.source_id from graph_subscriptions g join sources s on s.id = g.source_id where s.workspace_id = ${workspaceId} and g.subscription_id is not null`.execute(db);
  const held: Array<{ source: SubscribingSource; ids: string[] }> = [];
  for (const row of rows) {
    const source = await subscribingSource(db, secrets, row.source_id).catch(() => null);
    if (source) held.push({ source, ids: await subscriptionIdsOf(db, row.source_id) });
  }
  return held;
}

/** A source as the subscriptions need it, by id: settings and opened credential. */
export async function subscribingSource(db: Db, secrets: SecretBox, sourceId: string): Promise<SubscribingSource | null> {
  const { rows } = await sql<{ id: string; name: string; config: unknown; secret_ciphertext: string | null }>`
    select id, name, config, secret_ciphertext from sources where id = ${sourceId} and type = 'entra'`.execute(db);
  const row = rows[0];
  if (!row) return null;
  return { id: row.id, name: row.name, config: entraConfigSchema.parse(row.config), credential: openCredential(secrets, row.secret_ciphertext) };
}

/**
 * Every source whose subscriptions need Graph (each pass of the subscription upkeep; at start-up with `retryFailed`): turned on and
 * missing, failed, expiring, or turned off with some left. Returns how many sources it looked after.
 */
export async function reconcileAllSubscriptions(deps: SubscriptionDeps, options: { retryFailed?: boolean; verify?: boolean; onError?: (error: unknown, sourceId: string) => void } = {}): Promise<number> {
  const { rows } = await sql<{ id: string; config: unknown }>`
    select s.id, s.config from sources s where s.type = 'entra'
      and (s.config->>'syncOnChange' = 'true' or exists (select 1 from graph_subscriptions g where g.source_id = s.id))`.execute(deps.db);
  let looked = 0;
  const now = new Date();
  for (const row of rows) {
    const config = entraConfigSchema.safeParse(row.config);
    if (!config.success) continue;
    const held = await rowsOf(deps.db, row.id);
    const wanted = resourcesOf(config.data);
    const due = (options.verify && held.some((r) => r.state === "active")) || held.some((r) => !wanted.includes(r.resource)) || wanted.some((resource) => needsGraph(held.find((r) => r.resource === resource), now, options.retryFailed ?? false));
    if (!due) continue;
    try {
      const source = await subscribingSource(deps.db, deps.secrets, row.id);
      if (source) await reconcileSubscriptions(deps, source, { retryFailed: options.retryFailed ?? false, verify: options.verify ?? false });
      looked++;
    } catch (error) {
      options.onError?.(error, row.id); // a secret this process cannot open: left to one that can
    }
  }
  return looked;
}

export interface ReceivedNotification {
  subscriptionId: string;
  clientState?: string | null | undefined;
  lifecycleEvent?: string | undefined;
}

/** Why a notification was dropped: no subscription held here has its id, or it has not that subscription's clientState. */
export type DropReason = "unknown_subscription" | "wrong_client_state";

export interface AuthenticNotification {
  sourceId: string;
  resource: SubscribedResource;
  lifecycleEvent: string | undefined;
}

/**
 * The notifications of a delivery that are ours: their subscription is one this installation holds, and their
 * clientState its secret (compared in constant time); and how many of the others were dropped for which reason (for the
 * log only: the answer to the sender never says).
 */
export async function authenticNotifications(db: Db, secrets: SecretBox, items: ReceivedNotification[]): Promise<{ authentic: AuthenticNotification[]; dropped: Record<DropReason, number> }> {
  const dropped: Record<DropReason, number> = { unknown_subscription: 0, wrong_client_state: 0 };
  const ids = [...new Set(items.map((item) => item.subscriptionId))];
  if (!ids.length) return { authentic: [], dropped };
  const { rows } = await sql<Pick<Row, "source_id" | "resource" | "subscription_id" | "client_state_ciphertext">>`
    select source_id, resource, subscription_id, client_state_ciphertext from graph_subscriptions
    where subscription_id in (${sql.join(ids)}) and client_state_ciphertext is not null`.execute(db);
  const held = new Map(rows.map((row) => [row.subscription_id!, row]));
  const authentic = items.flatMap((item) => {
    const row = held.get(item.subscriptionId);
    if (!row) return (dropped.unknown_subscription++, []);
    const expected = openSecret(secrets, row.client_state_ciphertext!);
    if (expected === null || !sameText(item.clientState ?? "", expected)) return (dropped.wrong_client_state++, []);
    // Known from now on: the webhook tells this subscription's notifications without the database (subscription-cache.ts).
    rememberSubscription(db, item.subscriptionId, { sourceId: row.source_id, resource: row.resource }, expected);
    return [{ sourceId: row.source_id, resource: row.resource, lifecycleEvent: item.lifecycleEvent }];
  });
  return { authentic, dropped };
}

function openSecret(secrets: SecretBox, sealed: string): string | null {
  try {
    return secrets.open(sealed);
  } catch {
    return null; // sealed under a key this process does not have
  }
}

/** Graph removed a subscription (lifecycle event subscriptionRemoved): it is made again at once. */
export async function markRemoved(db: Db, sourceId: string, resource: SubscribedResource): Promise<void> {
  forgetSubscriptions(db, { sourceId, resource });
  await sql`update graph_subscriptions set state = 'failed', subscription_id = null, expires_at = null, updated_at = now(),
      error = ${JSON.stringify({ code: "subscriptionRemoved", message: "Microsoft Graph removed the subscription; Rollcall makes a new one" })}::jsonb
    where source_id = ${sourceId} and resource = ${resource}`.execute(db);
}
