import { sql, type Kysely } from "kysely";

/**
 * A listing stages each group object's members as one row of arrays (Graph sends them that way, in the
 * group's `members@delta`), not one row per membership: about 5,000 rows instead of 290,000 at 100k users,
 * each of which cost a heap tuple, a sequence value and an index entry. The merge unnests them
 * (sync/merge.ts). Staging holds one run's scratch rows, so the table is replaced, not converted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE sync_stage_members;
    CREATE UNLOGGED TABLE sync_stage_members (
      run_id uuid NOT NULL,
      seq bigserial,
      group_id text NOT NULL,
      member_ids text[] NOT NULL,
      kinds text[] NOT NULL,
      removed boolean[] NOT NULL
    );
    CREATE INDEX sync_stage_members_idx ON sync_stage_members (run_id);
  `.execute(db);
}
