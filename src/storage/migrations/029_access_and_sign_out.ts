import { sql, type Kysely } from "kysely";

/**
 * An admin can take a synced person's console access away for good (the sync does not undo it, as it would a
 * disabled user): `sign_in_blocked_at` on their account. An API token remembers the account that created it, so
 * it works only while that person still holds the access it grants (Okta-style: a leaver's tokens stop with them).
 * No foreign key: a deleted creator must not turn its tokens into tokens of nobody. A Microsoft sign-in's session
 * keeps the ID token's `sid`: signing out of Microsoft elsewhere ends it (front-channel logout names the sid).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE accounts ADD COLUMN sign_in_blocked_at timestamptz`.execute(db);
  await sql`ALTER TABLE api_tokens ADD COLUMN created_by_account_id uuid`.execute(db);
  await sql`ALTER TABLE sessions ADD COLUMN microsoft_sid text`.execute(db);
  await sql`CREATE INDEX sessions_microsoft_sid_idx ON sessions (microsoft_sid) WHERE microsoft_sid IS NOT NULL`.execute(db);
}
