import { sql, type Kysely } from "kysely";

/**
 * A group's history (GET …/groups/:id/changes, `rollcall groups history`) reads the change log by group.
 * Partial: the entries a first sync or import writes by the hundred thousand (a user's creation, with its
 * groups inside) have no group, and cost this index nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX change_log_group_idx ON change_log (group_id, id DESC) WHERE group_id IS NOT NULL`.execute(db);
}
