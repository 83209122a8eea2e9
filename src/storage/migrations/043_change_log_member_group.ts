import { sql, type Kysely } from "kysely";

/**
 * A group added to or removed from another is in both groups' histories: the entry's group_id is the group that
 * changed, member_group_id the group that joined or left it, so that one change stays one entry (in the workspace's
 * activity and in a run's log) while both groups' histories read it. Partial: no other entry holds a member group.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE change_log ADD COLUMN member_group_id uuid`.execute(db);
  await sql`CREATE INDEX change_log_member_group_idx ON change_log (member_group_id, id DESC) WHERE member_group_id IS NOT NULL`.execute(db);
}
