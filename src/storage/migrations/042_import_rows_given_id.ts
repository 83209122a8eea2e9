import { sql, type Kysely } from "kysely";

/**
 * The Rollcall id a row gives (an export's `rollcallId` column): such a row is matched to that user, whatever its
 * email now, and updates the user where it is (its source kept). A staged row matched by it has user_id = given_id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE import_rows ADD COLUMN given_id uuid`.execute(db);
}
