import { sql, type Kysely } from "kysely";

/**
 * A sync's staging and plan are scratch rows of one run, deleted when it ends, like an import's
 * (migration 003): UNLOGGED, they skip the write-ahead log. A crash loses them without harm, since it
 * ends the runs that wrote them; the mirror and the directory stay logged.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE sync_stage_users SET UNLOGGED;
    ALTER TABLE sync_stage_groups SET UNLOGGED;
    ALTER TABLE sync_stage_members SET UNLOGGED;
    ALTER TABLE sync_plan_users SET UNLOGGED;
  `.execute(db);
}
