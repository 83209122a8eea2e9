import { sql, type Kysely } from "kysely";

/**
 * A user's manager: another user of the same workspace (synced from Entra ID's `manager`, or set by hand on a manual
 * user). Deleting the manager clears it; the writers that delete users log that on the reports first. The index
 * holds only users with a manager (most have none when managers are not used): it serves the clearing on delete,
 * the direct reports of a user and the list's filter by manager.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE users ADD COLUMN manager_id uuid REFERENCES users (id) ON DELETE SET NULL`.execute(db);
  await sql`CREATE INDEX users_manager_idx ON users (manager_id) WHERE manager_id IS NOT NULL`.execute(db);
}
