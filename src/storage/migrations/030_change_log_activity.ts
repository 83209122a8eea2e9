import { sql, type Kysely } from "kysely";

/**
 * The workspace's activity (entries no sync run made, newest first) and a deleted user's last delete entry were
 * found by walking the whole change log, which every run of a 100,000-user tenant grows by up to 100,000 entries
 * (about 0.3 s each at 200,000 entries, more as runs are kept). Both are a small part of the log: a partial index
 * each keeps them a few index pages away.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX change_log_activity_idx ON change_log (workspace_id, id DESC) WHERE run_id IS NULL`.execute(db);
  await sql`CREATE INDEX change_log_deleted_users_idx ON change_log (workspace_id, id DESC) WHERE action = 'delete' AND user_id IS NOT NULL`.execute(db);
}
