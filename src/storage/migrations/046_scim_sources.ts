import { sql, type Kysely } from "kysely";

/**
 * SCIM sources: Entra ID's provisioning service pushes users and groups over SCIM 2.0 (src/api/scim.ts). Their users
 * and groups are of source type `scim`; a source's bearer token is kept as a hash only, with when it last made a
 * request (shown on the source).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const types = sql.raw(`('manual', 'import', 'entra', 'scim')`);
  await sql`ALTER TABLE sources DROP CONSTRAINT IF EXISTS sources_type_check, ADD CONSTRAINT sources_type_check CHECK (type IN ${types})`.execute(db);
  await sql`ALTER TABLE users DROP CONSTRAINT IF EXISTS users_source_type_check, ADD CONSTRAINT users_source_type_check CHECK (source_type IN ${types})`.execute(db);
  await sql`ALTER TABLE groups DROP CONSTRAINT IF EXISTS groups_source_type_check, ADD CONSTRAINT groups_source_type_check CHECK (source_type IN ${types})`.execute(db);
  await sql`
    CREATE TABLE scim_tokens (
      source_id uuid PRIMARY KEY REFERENCES sources ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_request_at timestamptz
    )`.execute(db);
}
