import { sql, type Kysely } from "kysely";

/**
 * Each dirty mark gets a version, newer on every mark. A run clears only the marks it planned from (those up to
 * the version it saw as it started planning, sync/dirty.ts): a synced user edited or deleted here while a run
 * applies keeps its mark, and the next run sets it back, where clearing every mark of the source lost it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE SEQUENCE entra_dirty_users_version;
    ALTER TABLE entra_dirty_users ADD COLUMN version bigint NOT NULL DEFAULT nextval('entra_dirty_users_version');
  `.execute(db);
}
