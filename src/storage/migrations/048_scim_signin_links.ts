import { sql, type Kysely } from "kysely";

/**
 * Sign in with Microsoft for SCIM sources: Entra ID's default mapping sends externalId = mailNickname, not the object
 * ID, so a person is first matched by their user principal name. The object ID (oid) that first signed in as a user
 * is kept here, so the user is matched by it afterwards, and another person later given the same name is refused.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE scim_signin_links (
      user_id uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      object_id text NOT NULL,
      linked_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (source_id, object_id)
    )`.execute(db);
}
