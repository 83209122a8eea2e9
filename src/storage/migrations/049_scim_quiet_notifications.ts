import { sql, type Kysely } from "kysely";

/**
 * A notification kind for a SCIM source that Entra ID's provisioning service has stopped calling (scim_quiet), besides
 * those of 005. Its check is found by what it checks rather than by name, as 046 finds the source-type checks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select conname as name from pg_constraint
    where contype = 'c' and conrelid = 'notifications'::regclass and pg_get_constraintdef(oid) like '%''secret_expiry''%'`.execute(db);
  for (const check of rows) await sql`ALTER TABLE notifications DROP CONSTRAINT ${sql.id(check.name)}`.execute(db);
  await sql`ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('secret_expiry', 'sync_failed', 'sync_stopped', 'import_failed', 'scim_quiet'))`.execute(db);
}
