import { sql } from "kysely";
import { resolveWorkspace } from "../core/workspaces.ts";
import { loadSourceForSync, parseEntraConfig } from "../core/sources.ts";
import { outageLog } from "../storage/outage-log.ts";
import { failAbandonedRuns } from "./lease.ts";
import { nextRunAt } from "./schedule.ts";
import { syncSource } from "./service.ts";
import { runDueChangeSyncs, type ChangeSyncDeps } from "./change-sync.ts";
import type { Config } from "../config.ts";

/**
 * Scheduled runs. Every process serving the API ticks; a due source is claimed by moving its next_run_at
 * forward with an atomic UPDATE … WHERE it is still due, so exactly one process wins (the others' UPDATE
 * re-reads the moved row and matches nothing) and the schedule fires once, however many processes share the database.
 */
export function startScheduler(rt: ChangeSyncDeps & { config: Partial<Pick<Config, "publicUrl">> }, options: { tickMs?: number } = {}): { stop(): Promise<void>; tick(): Promise<number> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function tick(): Promise<number> {
    const abandoned = await failAbandonedRuns(rt.store.db);
    if (abandoned) rt.logger.warn({ runs: abandoned }, "failed runs that stopped responding (their process was killed or lost the database)");
    // Change runs left due by a process that stopped before running them. Not awaited: a scheduled run due now should
    // not wait for a change run. (Graph subscriptions have a loop of their own: subscription-upkeep.ts.)
    void runDueChangeSyncs(rt).catch((error: unknown) => rt.logger.warn({ err: error }, "change sync check failed"));
    const { rows } = await sql<{ source_id: string; workspace_id: string; name: string; config: unknown; now: Date }>`
      select st.source_id, s.workspace_id, s.name, s.config, now() as now from source_state st join sources s on s.id = st.source_id
      where s.type = 'entra' and st.next_run_at is not null and st.next_run_at <= now()`.execute(rt.store.db);
    let started = 0;
    for (const due of rows) {
      if (stopped) break; // the server is stopping: it would only fail the run (serve.ts)
      const workspace = await resolveWorkspace(rt.store.db, due.workspace_id);
      // A process that cannot open the source's secret (another ROLLCALL_SECRET_KEY) leaves the run to one that can:
      // claimed here, it would only be dropped.
      const unreadable = await loadSourceForSync({ db: rt.store.db, workspace, secrets: rt.secrets }, due.source_id).then(() => null, (error: Error) => error);
      if (unreadable) {
        rt.logger.warn({ source: due.name, workspace: workspace.name, err: unreadable }, "not taking a scheduled sync this process cannot run");
        continue;
      }
      // From the database's clock, as "due" is: a process whose clock runs behind would otherwise fire again at once.
      const next = nextRunAt(parseEntraConfig(due.config).schedule, new Date(due.now));
      // "Still due" rather than "= the value read": a timestamp with microseconds (set by SQL) never equals its JS Date.
      const claimed = await sql`update source_state set next_run_at = ${next} where source_id = ${due.source_id} and next_run_at <= now()`.execute(rt.store.db);
      if (Number(claimed.numAffectedRows ?? 0) === 0) continue; // another process took it
      started++;
      running = syncSource(rt, workspace, due.name, { trigger: "schedule", actor: "schedule" }).catch((error: unknown) => {
        const busy = (error as { code?: string }).code === "sync_running";
        rt.logger[busy ? "info" : "error"]({ source: due.name, workspace: workspace.name, err: error }, busy ? "scheduled sync skipped: the source is syncing" : "scheduled sync did not run");
      });
      await running;
    }
    return started;
  }

  // It keeps ticking while the database is unreachable, logging that once, and goes on by itself when it is back.
  const outage = outageLog(rt.logger, "scheduler");
  const timer = setInterval(() => {
    if (stopped) return;
    void tick().then(
      () => outage.succeeded(),
      (error: unknown) => outage.failed(error) || rt.logger.warn({ err: error }, "scheduler tick failed"),
    );
  }, options.tickMs ?? 30_000);
  timer.unref();
  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
