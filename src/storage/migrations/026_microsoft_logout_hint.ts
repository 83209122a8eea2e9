import { sql, type Kysely } from "kysely";

/**
 * The login_hint claim of the ID token a session was signed in with (when the app registration adds that optional
 * claim): signing out of Microsoft passes it as logout_hint, so Microsoft signs that account out without asking
 * which. A native client's sign-in keeps it on its request until the client trades its code for a session.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE sessions ADD COLUMN microsoft_login_hint text;
    ALTER TABLE signin_requests ADD COLUMN microsoft_login_hint text;
  `.execute(db);
}
