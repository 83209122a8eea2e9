import { sql } from "kysely";
import type { Store } from "../storage/database.ts";

/**
 * What `rollcall serve` clears out every hour, so the database does not grow for ever:
 * - always, what has expired: sessions, sign-in requests, rate-limit counts, uploads (not one being imported);
 * - with ROLLCALL_HISTORY_DAYS, history older than that: change log entries, finished runs (never a source's
 *   latest run, nor one stopped for review), notifications resolved that long ago with their deliveries, and
 *   API tokens revoked or expired that long ago.
 * On the embedded database, which has no autovacuum, the tables are vacuumed after, so the space is used again.
 */
export type Pruned = Record<"sessions" | "signinRequests" | "rateLimits" | "uploads" | "changes" | "runs" | "notifications" | "tokens", number>;

const batch = 10_000;

export async function pruneExpired(store: Store, options: { historyDays: number; now?: Date }): Promise<Pruned> {
  const { db } = store;
  const now = options.now ?? new Date();
  const count = (result: { numDeletedRows: bigint }[]) => result.reduce((n, r) => n + Number(r.numDeletedRows), 0);
  const pruned: Pruned = {
    sessions: count(await db.deleteFrom("sessions").where("expires_at", "<", now).execute()),
    signinRequests: count(await db.deleteFrom("signin_requests").where("expires_at", "<", now).execute()),
    rateLimits: count(await db.deleteFrom("rate_limits").where("resets_at", "<", now).execute()),
    uploads: count(await db.deleteFrom("import_uploads").where("expires_at", "<", now)
      .where((eb) => eb.or([eb("committing_until", "is", null), eb("committing_until", "<", now)])).execute()),
    changes: 0,
    runs: 0,
    notifications: 0,
    tokens: 0,
  };
  if (options.historyDays > 0) {
    const cutoff = new Date(now.getTime() - options.historyDays * 86_400_000);
    // Oldest first along the primary key (entries are numbered as they are written): `at` has no index of its
    // own, which every change written would pay for.
    for (;;) {
      const deleted = Number((await sql`delete from change_log where id in (select id from change_log order by id limit ${batch}) and at < ${cutoff}`.execute(db)).numAffectedRows ?? 0);
      pruned.changes += deleted;
      if (deleted < batch) break;
    }
    pruned.runs = Number((await sql`delete from sync_runs r where coalesce(r.finished_at, r.started_at) < ${cutoff} and r.status not in ('running', 'stopped')
      and r.id <> (select x.id from sync_runs x where x.source_id = r.source_id order by x.started_at desc limit 1)`.execute(db)).numAffectedRows ?? 0);
    pruned.notifications = count(await db.deleteFrom("notifications").where("resolved_at", "<", cutoff).execute());
    pruned.tokens = count(await db.deleteFrom("api_tokens").where((eb) => eb.or([eb("revoked_at", "<", cutoff), eb("expires_at", "<", cutoff)])).execute());
  }
  if (store.kind === "pglite" && Object.values(pruned).some((n) => n > 0)) {
    await store.reclaim(["sessions", "signin_requests", "import_uploads", "import_upload_chunks", "change_log", "sync_runs", "notifications", "notification_deliveries", "api_tokens"]);
  }
  return pruned;
}
