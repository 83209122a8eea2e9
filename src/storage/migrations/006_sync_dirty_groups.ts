import { sql, type Kysely } from "kysely";

/**
 * Mirror groups carry a `dirty` flag like mirror users: set when a listing changes the group or its
 * members, cleared when a run has brought the directory in step. A delta run then diffs the memberships of
 * those groups (and of the users that changed) instead of every membership of the source, and a run killed
 * after the mirror moved still converges: the next run diffs every group left dirty.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE entra_groups ADD COLUMN dirty boolean NOT NULL DEFAULT true;
    CREATE INDEX entra_groups_dirty_idx ON entra_groups (source_id) WHERE dirty;
  `.execute(db);
}
