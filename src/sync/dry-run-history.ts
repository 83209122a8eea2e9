import { sql } from "kysely";
import type { Store } from "../storage/database.ts";

/**
 * How many dry runs a source keeps, each with its change set. A change set holds an entry per planned change
 * (105,000 for a first sync of 100,000 users), a dry run changes nothing, and only the newest tells what a run
 * would do now: kept for ever, an admin trying scopes and mappings grew the change log by a tenant each time.
 */
export const keptDryRuns = 5;

/**
 * Deletes the change sets of the source's finished dry runs older than its newest `keptDryRuns`. The runs stay, marked,
 * with their counts: a link to one (in a chat, a ticket) still says what it was, and that its changes are gone.
 */
export async function forgetOlderDryRuns(store: Store, sourceId: string): Promise<number> {
  return store.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: string; discarded: boolean }>`select id, changes_discarded_at is not null as discarded from sync_runs
      where source_id = ${sourceId} and dry_run and status <> 'running' order by started_at desc offset ${keptDryRuns}`.execute(trx);
    const ids = rows.filter((r) => !r.discarded).map((r) => r.id);
    if (ids.length === 0) return 0;
    await sql`delete from change_log where run_id = any(${ids}::uuid[])`.execute(trx);
    await sql`update sync_runs set changes_discarded_at = now() where id = any(${ids}::uuid[])`.execute(trx);
    return ids.length;
  });
}
