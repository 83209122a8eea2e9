import { createHash, timingSafeEqual } from "node:crypto";
import type { Db } from "../storage/database.ts";
import type { SubscribedResource } from "../sources/entra/subscriptions.ts";

/**
 * This process's copy of the Graph subscriptions it knows it holds (id → source, resource, SHA-256 of the clientState),
 * so that Graph's webhook can tell a notification of one of them from a forgery without the database, which may be
 * busy for many seconds (a long sync, a large import) while Graph wants its answer within 3 seconds. A subscription's
 * id and clientState never change together (a new clientState comes with a new subscription), so an entry says the
 * truth about the secret for as long as it lives; what it may no longer say is that the subscription is still held
 * (another process sharing the database removed it): entries are dropped after `ttlMs`, and an id not here is looked up
 * in the database, never taken for a forgery.
 */
export interface HeldSubscription {
  sourceId: string;
  resource: SubscribedResource;
}

interface Entry extends HeldSubscription {
  digest: Buffer;
  at: number;
}

const ttlMs = 5 * 60_000;
/** Far more than an installation holds (two a source); a bound on memory whatever happens. */
const maxEntries = 10_000;
const caches = new WeakMap<Db, Map<string, Entry>>();

const digestOf = (text: string): Buffer => createHash("sha256").update(text).digest();

function cacheOf(db: Db): Map<string, Entry> {
  const cache = caches.get(db) ?? new Map<string, Entry>();
  caches.set(db, cache);
  return cache;
}

/** A subscription this process made, or found in the database with this clientState. */
export function rememberSubscription(db: Db, id: string, held: HeldSubscription, clientState: string): void {
  const cache = cacheOf(db);
  cache.delete(id);
  if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
  cache.set(id, { ...held, digest: digestOf(clientState), at: Date.now() });
}

/** Subscriptions this process deleted or saw removed: by id, or all of a source's (of one resource). */
export function forgetSubscriptions(db: Db, which: { ids?: string[]; sourceId?: string; resource?: SubscribedResource }): void {
  const cache = caches.get(db);
  if (!cache) return;
  for (const id of which.ids ?? []) cache.delete(id);
  if (which.sourceId === undefined) return;
  for (const [id, entry] of cache) if (entry.sourceId === which.sourceId && (which.resource === undefined || entry.resource === which.resource)) cache.delete(id);
}

/** Everything this process knew: its next look-ups go to the database (as after a restart). */
export function forgetAllSubscriptions(db: Db): void {
  caches.delete(db);
}

/**
 * What this process knows of a notification: its subscription's source when the clientState matches (compared in
 * constant time), "wrong_client_state" when it does not, undefined when the subscription is not known here (or no
 * longer fresh): for the database to say.
 */
export function checkCached(db: Db, subscriptionId: string, clientState: string | null | undefined): HeldSubscription | "wrong_client_state" | undefined {
  const cache = caches.get(db);
  const entry = cache?.get(subscriptionId);
  if (!entry) return undefined;
  if (Date.now() - entry.at > ttlMs) {
    cache!.delete(subscriptionId);
    return undefined;
  }
  if (!timingSafeEqual(digestOf(clientState ?? ""), entry.digest)) return "wrong_client_state";
  return { sourceId: entry.sourceId, resource: entry.resource };
}
