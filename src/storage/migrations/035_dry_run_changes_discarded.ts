import { sql, type Kysely } from "kysely";

/**
 * When a dry run's change set was discarded (a source keeps those of its newest few: sync/dry-run-history.ts). The
 * run itself stays, with its counts, so that a link to it still says what it was and why its changes are gone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE sync_runs ADD COLUMN changes_discarded_at timestamptz`.execute(db);
}
