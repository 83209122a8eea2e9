import type { Runtime } from "../runtime.ts";
import type { Store } from "../storage/database.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import {
  authenticNotifications, markRemoved, reconcileSubscriptions, subscribingSource, subscriptionIdsOf, type AuthenticNotification, type DropReason, type ReceivedNotification, type SubscriptionDeps,
} from "../core/change-subscriptions.ts";
import { checkCached } from "../core/subscription-cache.ts";
import { changeSyncTiming, requestChangeSync, wakeAt } from "../sync/change-sync.ts";
import { droppedNotificationsLog, type DroppedNotificationsLog } from "./dropped-notifications-log.ts";

/**
 * What Graph's webhook accepted and the database has not recorded yet, kept by this process; the webhook answers at
 * once, whatever the database is doing (Graph wants an answer within 3 seconds, and slows down, then drops, the
 * notifications of an endpoint often slower than that:
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#throttling). A notification of a
 * subscription this process knows (subscription-cache.ts) is told from a forgery at once; any other waits here for the
 * database to say. Coalesced as they come: a burst of changes is one source to make due, a forger's notifications
 * with the same id and clientState one look-up, so what waits stays small; past `maxUnverified` different ones
 * waiting, a delivery is refused (429: Graph delivers it again later) rather than held without bound.
 */
export const maxUnverified = 5_000;
/** How long a stopping server waits for the database to record what its webhook accepted. */
export const settleMs = 10_000;

interface Inbox {
  rt: Runtime;
  /** Sources whose delta run a change (or a missed notification) makes due. */
  changed: Set<string>;
  /** Lifecycle events to act on (reauthorize, make again), one per source, resource and event. */
  lifecycle: Map<string, AuthenticNotification>;
  /** Notifications of subscriptions not known here, one per id, clientState and event: for the database to check. */
  unverified: Map<string, ReceivedNotification>;
  working: Promise<void> | null;
  /** Lifecycle work going on (it asks Graph: not waited for by what follows). */
  side: Set<Promise<void>>;
  failing: boolean;
  stopping: boolean;
  gone: boolean;
}

const inboxes = new Map<Store, Inbox>();
const droppedLogs = new WeakMap<Runtime["logger"], DroppedNotificationsLog>();

function inboxOf(rt: Runtime): Inbox {
  const inbox = inboxes.get(rt.store) ?? { rt, changed: new Set(), lifecycle: new Map(), unverified: new Map(), working: null, side: new Set(), failing: false, stopping: false, gone: false };
  inbox.rt = rt;
  inboxes.set(rt.store, inbox);
  return inbox;
}

/** The warnings of dropped notifications, at most one a minute per reason and logger (a flood would fill the log). */
function droppedLogOf(rt: Runtime): DroppedNotificationsLog {
  const log = droppedLogs.get(rt.logger) ?? droppedNotificationsLog(rt.logger);
  droppedLogs.set(rt.logger, log);
  return log;
}

function logDropped(rt: Runtime, dropped: Partial<Record<DropReason, number>>): void {
  for (const [reason, count] of Object.entries(dropped) as Array<[DropReason, number]>) if (count) droppedLogOf(rt).dropped(reason, count);
}

/**
 * Takes a delivery's notifications, without the database: false (nothing taken) when too many different unknown ones
 * wait already. What is taken is recorded after the answer (work, below).
 */
export function acceptNotifications(rt: Runtime, items: ReceivedNotification[]): boolean {
  const inbox = inboxOf(rt);
  const known: AuthenticNotification[] = [];
  const unknown = new Map<string, ReceivedNotification>();
  let forged = 0;
  for (const item of items) {
    const held = checkCached(rt.store.db, item.subscriptionId, item.clientState);
    if (held === "wrong_client_state") forged++;
    else if (held) known.push({ ...held, lifecycleEvent: item.lifecycleEvent });
    else unknown.set(JSON.stringify([item.subscriptionId, item.clientState ?? null, item.lifecycleEvent ?? null]), item);
  }
  const adding = [...unknown.keys()].filter((key) => !inbox.unverified.has(key)).length;
  if (adding && inbox.unverified.size + adding > maxUnverified) return false;
  logDropped(rt, { wrong_client_state: forged });
  for (const [key, item] of unknown) inbox.unverified.set(key, { subscriptionId: item.subscriptionId, clientState: item.clientState, lifecycleEvent: item.lifecycleEvent });
  take(inbox, known);
  inbox.working ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => work(inbox));
  return true;
}

function take(inbox: Inbox, authentic: AuthenticNotification[]): void {
  for (const n of authentic) {
    if (n.lifecycleEvent === undefined || n.lifecycleEvent === "missed") inbox.changed.add(n.sourceId);
    else inbox.lifecycle.set(`${n.sourceId} ${n.resource} ${n.lifecycleEvent}`, n);
  }
}

const pending = (inbox: Inbox) => inbox.changed.size + inbox.lifecycle.size + inbox.unverified.size;

/**
 * Records what waits, until nothing does. The database failing (unreachable, a statement refused), what it could not
 * record waits on, tried again a little later: logged once until it works again.
 */
async function work(inbox: Inbox): Promise<void> {
  let backoffMs = 500;
  try {
    while (pending(inbox) && !inbox.gone) {
      try {
        await recordOnce(inbox);
        if (inbox.failing) inbox.rt.logger.info("Graph notifications recorded again");
        inbox.failing = false;
        backoffMs = 500;
      } catch (error) {
        if (inbox.gone) return;
        if (!inbox.failing) inbox.rt.logger.error({ err: error, waiting: pending(inbox) }, "could not record Graph notifications yet: tried again until the database answers");
        inbox.failing = true;
        await new Promise((resolve) => setTimeout(resolve, inbox.stopping ? 200 : backoffMs).unref());
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  } finally {
    inbox.working = null;
  }
}

async function recordOnce(inbox: Inbox): Promise<void> {
  const { rt } = inbox;
  if (inbox.unverified.size) {
    const batch = [...inbox.unverified.entries()];
    const { authentic, dropped } = await authenticNotifications(rt.store.db, rt.secrets, batch.map(([, item]) => item));
    for (const [key] of batch) inbox.unverified.delete(key);
    logDropped(rt, dropped);
    take(inbox, authentic);
  }
  for (const sourceId of [...inbox.changed]) {
    const inMs = await requestChangeSync(rt.store.db, sourceId, changeSyncTiming(rt.config));
    inbox.changed.delete(sourceId);
    // A stopping process wakes for nothing: the run stays due for another process, or the scheduler's tick.
    if (!inbox.stopping) wakeAt(rt, inMs);
  }
  for (const [key, n] of [...inbox.lifecycle]) {
    inbox.lifecycle.delete(key);
    const done: Promise<void> = lifecycle(rt, n)
      .catch((error: unknown) => rt.logger.error({ err: error, sourceId: n.sourceId, event: n.lifecycleEvent }, "could not handle a Graph lifecycle notification"))
      .finally(() => inbox.side.delete(done));
    inbox.side.add(done);
  }
}

/**
 * reauthorizationRequired: reauthorized (or renewed, or made again: change-subscriptions.ts); subscriptionRemoved: made
 * again. A subscription made again may have missed changes meanwhile: a delta run fetches them, as Microsoft advises.
 */
async function lifecycle(rt: Runtime, n: AuthenticNotification): Promise<void> {
  const deps: SubscriptionDeps = { db: rt.store.db, secrets: rt.secrets, fetch: entraFetch(rt.config), publicUrl: rt.config.publicUrl };
  rt.logger.info({ sourceId: n.sourceId, resource: n.resource, event: n.lifecycleEvent }, "Graph lifecycle notification");
  const source = await subscribingSource(rt.store.db, rt.secrets, n.sourceId);
  if (!source) return;
  const before = await subscriptionIdsOf(rt.store.db, n.sourceId);
  if (n.lifecycleEvent === "subscriptionRemoved") {
    await markRemoved(rt.store.db, n.sourceId, n.resource);
    await reconcileSubscriptions(deps, source, { retryFailed: true });
  } else {
    await reconcileSubscriptions(deps, source, { reauthorize: [n.resource] });
  }
  const madeAgain = (await subscriptionIdsOf(rt.store.db, n.sourceId)).some((id) => !before.includes(id));
  if (madeAgain) wakeAt(rt, await requestChangeSync(rt.store.db, n.sourceId, changeSyncTiming(rt.config)));
}

/** Whatever this process's webhook accepted is recorded (or nothing waits): for tests. */
export async function inboxSettled(store: Store): Promise<void> {
  const inbox = inboxes.get(store);
  while (inbox && (inbox.working || inbox.side.size)) await Promise.all([inbox.working, ...inbox.side]);
}

/**
 * A stopping server (its webhook answering no more) records what its webhook accepted, waiting up to `ms` for the
 * database; what it could not is logged as an error, by source: a delta run from their schedule, or their next
 * notification, still brings those changes.
 */
export async function settleInbox(store: Store, ms = settleMs): Promise<void> {
  const inbox = inboxes.get(store);
  if (!inbox) return;
  inbox.stopping = true;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  const outcome = await Promise.race([inboxSettled(store), late]);
  clearTimeout(timer);
  inboxes.delete(store);
  inbox.gone = true;
  if (outcome !== "late" && !pending(inbox)) return;
  inbox.rt.logger.error(
    { sources: [...inbox.changed, ...[...inbox.lifecycle.values()].map((n) => n.sourceId)], unverified: inbox.unverified.size, lifecycleGoingOn: inbox.side.size },
    "stopped before the database recorded every Graph notification this server accepted: their sources' next scheduled delta run (or next notification) brings those changes",
  );
}
