import type { FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { sql, type Db } from "../storage/database.ts";
import { hashToken } from "../security/hashing.ts";

/** How often a process deletes the counters whose window has passed (they are reset in place when hit again anyway). */
const sweepEvery = 60_000;

/**
 * A @fastify/rate-limit store over the `rate_limits` table, so that every process sharing the database counts
 * against the same limits. One statement per counted request; each route counts apart, as with the plugin's own store.
 * Keys (client addresses, typed emails) are stored hashed: no one's attempts are kept in the clear, and an
 * arbitrary request body cannot make a key too long for the index.
 */
export function databaseRateLimitStore(db: Db): FastifyRateLimitStoreCtor {
  let nextSweep = 0;
  const count = async (key: string, windowMs: number) => {
    const result = await hit(db, hashToken(key), windowMs);
    if (Date.now() >= nextSweep) {
      nextSweep = Date.now() + sweepEvery;
      // Housekeeping only: a failed sweep is tried again at the next one and must not refuse the request.
      await db.deleteFrom("rate_limits").where("resets_at", "<", sql<Date>`now()`).execute().catch(() => undefined);
    }
    return result;
  };

  class DatabaseStore {
    constructor(
      _options?: unknown,
      private readonly scope = "",
    ) {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      count(`${this.scope}${key}`, timeWindow).then((result) => callback(null, result), callback);
    }

    /**
     * Called with the route's merged limit options (the plugin's types say route options): `routeInfo` is the route.
     * `inProcess`: counted in this process only, for a route that must answer whatever the database is doing.
     */
    child(options: { routeInfo?: { method?: unknown; url?: unknown }; inProcess?: boolean }): DatabaseStore | InProcessStore {
      if (options.inProcess) return new InProcessStore();
      const route = options.routeInfo;
      // A limiter made by createRateLimit has no route: its keys name their own scope.
      return new DatabaseStore(undefined, route?.url ? `${String(route.method)} ${String(route.url)}|` : "");
    }
  }
  return DatabaseStore as unknown as FastifyRateLimitStoreCtor;
}

/** Fixed windows in memory, at most `maxKeys` of them (the oldest forgotten first). */
class InProcessStore {
  private readonly windows = new Map<string, { hits: number; resetsAt: number }>();
  private static readonly maxKeys = 10_000;

  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= InProcessStore.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      window = { hits: 0, resetsAt: now + timeWindow };
      this.windows.set(key, window);
    }
    window.hits++;
    callback(null, { current: window.hits, ttl: window.resetsAt - now });
  }

  child(): InProcessStore {
    return new InProcessStore();
  }
}

/** Counts one request against `key`: a new window starts when there is none or the last one has passed. */
async function hit(db: Db, key: string, windowMs: number): Promise<{ current: number; ttl: number }> {
  // The time comes from the database's clock, the same for every process.
  const { rows } = await sql<{ current: number; ttl: number }>`
    insert into rate_limits as r (key, hits, resets_at) values (${key}, 1, now() + ${windowMs}::float8 * interval '1 millisecond')
    on conflict (key) do update set
      hits = case when r.resets_at <= now() then 1 else r.hits + 1 end,
      resets_at = case when r.resets_at <= now() then excluded.resets_at else r.resets_at end
    returning r.hits as current, greatest(0, ceil(extract(epoch from r.resets_at - now()) * 1000))::int as ttl`.execute(db);
  return rows[0]!;
}
