import { sql } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Db, Store } from "../storage/database.ts";
import { resolveWorkspace } from "../core/workspaces.ts";
import { syncSource, type SyncDeps } from "./service.ts";
import { reconcileAllSubscriptions } from "../core/change-subscriptions.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";

/** What running change syncs needs of a process: a scheduler's tick has no timing configured (the defaults then). */
export type ChangeSyncDeps = SyncDeps & { logger: Logger; config: Pick<Config, "entraCustomUrls"> & Partial<Pick<Config, "changeSyncDelayMs" | "changeSyncMinIntervalMs">> };

/**
 * Sync on change: a change notification makes its source's delta run due a delay after it (ROLLCALL_CHANGE_SYNC_DELAY_SECONDS),
 * unless one is due already, so a burst of notifications is one run; and never sooner than ROLLCALL_CHANGE_SYNC_MIN_INTERVAL_SECONDS
 * after the start of the source's last run a notification started, so a tenant changing all day is not synced every
 * delay. The due time is in the database (source_state);
 * whichever process claims it when it comes (an atomic UPDATE, as the scheduler claims a schedule) runs it, under the
 * source's lease like any run: several processes receiving notifications run it once. The process that received a
 * notification wakes at the due time; the scheduler's tick is the backstop should that process stop meanwhile
 * (runDueChangeSyncs).
 */
export const changeSyncActor = "Microsoft Graph change notification";

export interface ChangeSyncTiming {
  delayMs: number;
  minIntervalMs: number;
}

export const changeSyncTiming = (config: ChangeSyncDeps["config"]): ChangeSyncTiming => ({
  delayMs: config.changeSyncDelayMs ?? 30_000,
  minIntervalMs: config.changeSyncMinIntervalMs ?? 120_000,
});

/**
 * Makes the source's change run due (see above) unless one is due already; returns how long until it is due. A source
 * removed meanwhile (a notification handled after its answer) is left alone.
 */
export async function requestChangeSync(db: Db, sourceId: string, timing: ChangeSyncTiming): Promise<number> {
  await sql`insert into source_state (source_id) select id from sources where id = ${sourceId} on conflict do nothing`.execute(db);
  const { rows } = await sql<{ in_ms: number }>`
    update source_state set change_sync_due_at = coalesce(change_sync_due_at, greatest(
      now() + ${`${timing.delayMs} milliseconds`}::interval,
      (select max(started_at) from sync_runs where source_id = ${sourceId} and trigger = 'notification') + ${`${timing.minIntervalMs} milliseconds`}::interval))
    where source_id = ${sourceId}
    returning (extract(epoch from change_sync_due_at - now()) * 1000)::float8 as in_ms`.execute(db);
  return Math.max(0, Number(rows[0]?.in_ms ?? timing.delayMs));
}

/**
 * Runs the change runs that are due, claiming one at a time (each by one process): while this process runs one,
 * the others stay due for another process, and a process that stops loses no claim but the run it was making.
 * Returns how many it started.
 */
export async function runDueChangeSyncs(rt: ChangeSyncDeps): Promise<number> {
  for (let started = 0; ; started++) {
    const due = await claimDueChangeSync(rt.store.db);
    if (!due) return started;
    const workspace = await resolveWorkspace(rt.store.db, due.workspace_id);
    await syncSource(rt, workspace, due.source_id, { trigger: "notification", actor: changeSyncActor }).catch(async (error: unknown) => {
      // A run going on may have listed before the change: this one comes after it.
      const busy = (error as { code?: string }).code === "sync_running";
      if (busy) wakeAt(rt, await requestChangeSync(rt.store.db, due.source_id, changeSyncTiming(rt.config)));
      rt.logger[busy ? "info" : "error"]({ source: due.name, workspace: workspace.name, err: error }, busy ? "change sync postponed: the source is syncing" : "change sync did not run");
    });
  }
}

async function claimDueChangeSync(db: Db): Promise<{ source_id: string; workspace_id: string; name: string } | undefined> {
  const { rows } = await sql<{ source_id: string; workspace_id: string; name: string }>`
    update source_state st set change_sync_due_at = null from sources s
    where s.id = st.source_id and st.source_id = (
      select source_id from source_state where change_sync_due_at <= now() order by change_sync_due_at limit 1 for update skip locked)
    returning st.source_id, s.workspace_id, s.name`.execute(db);
  return rows[0];
}

/** This process's wake-ups, by when each fires (epoch ms). */
const wakeUps = new Map<Store, Map<NodeJS.Timeout, number>>();

/** Runs the change runs due in `inMs` from this process (a little after, so that the database's clock agrees they are due). */
export function wakeAt(rt: ChangeSyncDeps, inMs: number): void {
  const held = wakeUps.get(rt.store) ?? new Map<NodeJS.Timeout, number>();
  wakeUps.set(rt.store, held);
  const at = Date.now() + inMs + 50;
  // A burst of notifications makes one run due at one time: a wake-up already set for then serves them all.
  if ([...held.values()].some((firing) => firing >= at && firing <= at + 1000)) return;
  const timer = setTimeout(() => {
    held.delete(timer);
    runDueChangeSyncs(rt).catch((error: unknown) => rt.logger.warn({ err: error }, "change sync check failed"));
  }, at - Date.now());
  timer.unref();
  held.set(timer, at);
}

/** A stopping server's wake-ups: the runs stay due, for another process (or this one's next start) to claim. */
export function stopChangeSyncsHere(store: Store): void {
  for (const timer of wakeUps.get(store)?.keys() ?? []) clearTimeout(timer);
  wakeUps.delete(store);
}

/**
 * One pass of the subscription upkeep (subscription-upkeep.ts; with `retryFailed` and `verify` at start-up: active
 * subscriptions still delivering to ROLLCALL_PUBLIC_URL, made again there if not): the Graph subscriptions that need
 * Graph (missing, failed an hour ago, expiring within 3 days: each claimed by one process).
 */
export async function lookAfterSubscriptions(rt: ChangeSyncDeps & { config: Partial<Pick<Config, "publicUrl">> }, options: { retryFailed?: boolean; verify?: boolean } = {}): Promise<void> {
  const deps = { db: rt.store.db, secrets: rt.secrets, fetch: entraFetch(rt.config), publicUrl: rt.config.publicUrl };
  await reconcileAllSubscriptions(deps, { ...options, onError: (error, sourceId) => rt.logger.warn({ sourceId, err: error }, "could not look after a source's Graph subscriptions") });
}
