import { sql, type Kysely } from "kysely";

/**
 * An upload that was imported keeps a note of it (when, by whom, the counts) until it expires, its file gone:
 * a commit sent again (a client retrying after a timeout) is told the file was imported, not that it never was.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE import_uploads ADD COLUMN committed jsonb`.execute(db);
}
