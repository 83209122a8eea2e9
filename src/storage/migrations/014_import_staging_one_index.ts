import { sql, type Kysely } from "kysely";

/**
 * An import's staged rows are only ever read by run and row number (a batch's range), then joined to the
 * users by their id: no query looks a staged row up by the user it matched. The index on (run_id, user_id)
 * cost every staged row an index entry for nothing: 0.2–0.5 s less database time per 100,000 rows on
 * PGlite without it (BENCHMARKS.md, session 17).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX import_rows_user_idx`.execute(db);
}
