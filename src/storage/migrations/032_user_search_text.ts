import { sql, type Kysely } from "kysely";

/**
 * Display name, email, UPN and employee ID joined by a separator and lower-cased as they are written: what user
 * search (`q`) reads (queries/user-search.ts). Lower-casing the four fields of every user at each search was most of
 * its time (0.1-0.7 s at 100,000 users); reading the stored text takes 30-90 ms, and writing it 0.1-0.3 CPU s per
 * 100,000 users inserted. A trigram index (pg_trgm) finds a rare term in a few milliseconds, but it made a first sync
 * of 100,000 users 10% (PostgreSQL) to 20% (PGlite) slower, and does nothing for a term of one or two letters
 * (BENCHMARKS.md, session 50). Adding the column rewrites the table: 1.6 s at 100,000 users on PGlite.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE users ADD COLUMN search_text text GENERATED ALWAYS AS (
      lower(display_name || E'\\x1f' || coalesce(email, '') || E'\\x1f' || coalesce(user_principal_name, '') || E'\\x1f' || coalesce(employee_id, ''))
    ) STORED;
    ANALYZE users (search_text);
  `.execute(db);
}
