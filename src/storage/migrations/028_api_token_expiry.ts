import { sql, type Kysely } from "kysely";

/** An API token may expire (a script's access for a project, a contractor's); one without an expiry never does. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz`.execute(db);
}
