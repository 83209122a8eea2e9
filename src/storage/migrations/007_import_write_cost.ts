import { sql, type Kysely } from "kysely";

/**
 * A membership checks its group and its workspace with one composite foreign key instead of two
 * triggers per row (and the group must now be in the membership's workspace). Indexes on columns that are NULL for most rows index only the rows that have a value: imports log
 * their changes without a sync run, and most memberships are of users, not of groups. An import of
 * 100,000 users writes about 100,000 change-log rows and 200,000 memberships, none of them indexed here.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNIQUE INDEX groups_workspace_id_key ON groups (workspace_id, id);
    ALTER TABLE group_members DROP CONSTRAINT group_members_workspace_id_fkey, DROP CONSTRAINT group_members_group_id_fkey,
      ADD CONSTRAINT group_members_group_fkey FOREIGN KEY (workspace_id, group_id) REFERENCES groups (workspace_id, id) ON DELETE CASCADE;
    DROP INDEX group_members_member_group_idx;
    CREATE INDEX group_members_member_group_idx ON group_members (member_group_id) WHERE member_group_id IS NOT NULL;
    DROP INDEX change_log_run_idx;
    CREATE INDEX change_log_run_idx ON change_log (run_id, id) WHERE run_id IS NOT NULL;
  `.execute(db);
}
