import { sql, type Kysely } from "kysely";

/**
 * An admin can take a synced person's console access away for good (the sync does not undo it, as it would a
 * disabled user): `sign_in_blocked_at` on their account. An API token remembers the account that created it, so
 * it works only while that person still holds the access it grants (Okta-style: a leaver's tokens stop with them).
 * No foreign key: a deleted creator must not turn its tokens into tokens of nobody.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE accounts ADD COLUMN sign_in_blocked_at timestamptz`.execute(db);
  await sql`ALTER TABLE api_tokens ADD COLUMN created_by_account_id uuid`.execute(db);
}
