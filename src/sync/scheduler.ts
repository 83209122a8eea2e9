import { sql } from "kysely";
import type { Runtime } from "../runtime.ts";
import { resolveWorkspace } from "../core/workspaces.ts";
import { parseEntraConfig } from "../core/sources.ts";
import { nextRunAt } from "./schedule.ts";
import { syncSource, type SyncDeps } from "./service.ts";

/**
 * Scheduled runs. Every process serving the API ticks; a due source is claimed by moving its next_run_at
 * forward with an atomic UPDATE … WHERE it is still due, so exactly one process wins (the others' UPDATE
 * re-reads the moved row and matches nothing) and the schedule fires once, however many processes share the database.
 */
export function startScheduler(rt: SyncDeps & Pick<Runtime, "logger">, options: { tickMs?: number } = {}): { stop(): Promise<void>; tick(): Promise<number> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function tick(): Promise<number> {
    const { rows } = await sql<{ source_id: string; workspace_id: string; name: string; config: unknown; next_run_at: Date }>`
      select st.source_id, s.workspace_id, s.name, s.config, st.next_run_at from source_state st join sources s on s.id = st.source_id
      where s.type = 'entra' and st.next_run_at is not null and st.next_run_at <= now()`.execute(rt.store.db);
    let started = 0;
    for (const due of rows) {
      if (stopped) break; // the server is stopping: it would only fail the run (serve.ts)
      const config = parseEntraConfig(due.config);
      const next = nextRunAt(config.schedule, new Date());
      // "Still due" rather than "= the value read": a timestamp with microseconds (set by SQL) never equals its JS Date.
      const claimed = await sql`update source_state set next_run_at = ${next} where source_id = ${due.source_id} and next_run_at <= now()`.execute(rt.store.db);
      if (Number(claimed.numAffectedRows ?? 0) === 0) continue; // another process took it
      started++;
      const workspace = await resolveWorkspace(rt.store.db, due.workspace_id);
      running = syncSource(rt, workspace, due.name, { trigger: "schedule", actor: "schedule" })
        .then((s) => rt.logger.info({ source: due.name, runId: s.runId, status: s.status, counts: s.counts }, "scheduled sync finished"))
        .catch((error: unknown) => rt.logger.warn({ source: due.name, err: error }, "scheduled sync did not run"));
      await running;
    }
    return started;
  }

  const timer = setInterval(() => {
    if (!stopped) void tick().catch((error: unknown) => rt.logger.warn({ err: error }, "scheduler tick failed"));
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
