import { sql } from "kysely";
import type { Store } from "../storage/database.ts";

/**
 * How many dry runs a source keeps, each with its change set. A change set holds an entry per planned change
 * (105,000 for a first sync of 100,000 users), a dry run changes nothing, and only the newest tells what a run
 * would do now: kept for ever, an admin trying scopes and mappings grew the change log by a tenant each time.
 */
export const keptDryRuns = 5;

/** Deletes the source's finished dry runs older than its newest `keptDryRuns`, change sets first (run_id would be set to NULL). */
export async function forgetOlderDryRuns(store: Store, sourceId: string): Promise<number> {
  return store.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string }>`select id from sync_runs where source_id = ${sourceId} and dry_run and status <> 'running'
      order by started_at desc offset ${keptDryRuns}`.execute(trx);
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    await sql`delete from change_log where run_id = any(${ids}::uuid[])`.execute(trx);
    await sql`delete from sync_runs where id = any(${ids}::uuid[])`.execute(trx);
    return ids.length;
  });
}
