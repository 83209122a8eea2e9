import { sql, type Kysely } from "kysely";

/**
 * Stopping a running sync (POST …/runs/{id}/cancel, the console's Stop, a remote `rollcall sync`'s Ctrl-C). The run
 * may be going on in another process sharing the database, so the request is recorded on the run: its runner
 * polls for it and aborts, failing the run "cancelled by" whoever asked, with nothing it had not committed applied.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE sync_runs ADD COLUMN cancel_requested_at timestamptz;
    ALTER TABLE sync_runs ADD COLUMN cancel_requested_by text;
  `.execute(db);
}
