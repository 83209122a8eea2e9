import { sql, type Kysely } from "kysely";

/**
 * SCIM sources: Entra ID's provisioning service pushes users and groups over SCIM 2.0 (src/api/scim.ts). Their users
 * and groups are of source type `scim`; a source's bearer token is kept as a hash only, with when it last made a
 * request (shown on the source).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The source-type checks of 001, by what they check rather than by name: a database made otherwise may name them differently.
  const { rows } = await sql<{ table: string; name: string }>`
    select conrelid::regclass::text as table, conname as name from pg_constraint
    where contype = 'c' and conrelid in ('sources'::regclass, 'users'::regclass, 'groups'::regclass) and pg_get_constraintdef(oid) like '%''entra''%'`.execute(db);
  for (const check of rows) await sql`ALTER TABLE ${sql.id(check.table)} DROP CONSTRAINT ${sql.id(check.name)}`.execute(db);
  const types = sql.raw(`('manual', 'import', 'entra', 'scim')`);
  await sql`ALTER TABLE sources ADD CONSTRAINT sources_type_check CHECK (type IN ${types})`.execute(db);
  await sql`ALTER TABLE users ADD CONSTRAINT users_source_type_check CHECK (source_type IN ${types})`.execute(db);
  await sql`ALTER TABLE groups ADD CONSTRAINT groups_source_type_check CHECK (source_type IN ${types})`.execute(db);
  await sql`
    CREATE TABLE scim_tokens (
      source_id uuid PRIMARY KEY REFERENCES sources ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_request_at timestamptz
    )`.execute(db);
}
