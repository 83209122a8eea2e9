import { sql, type Kysely } from "kysely";

/**
 * Synced groups a run deleted because Entra ID no longer had them: deleted there, a group stays restorable for 30 days
 * ("A recently deleted item remains available for up to 30 days", https://learn.microsoft.com/graph/api/directory-deleteditems-restore),
 * and restored it keeps its object id. A run that finds the object id again within those days gives the group back its
 * Rollcall id (its history goes on), its creation time, and the groups of this workspace not synced from the source
 * that held it (`member_of`, set here; its own members are Entra ID's). Runs purge rows older than 30 days.
 * Also the deleted groups' own index, as deleted users have theirs (030): a deleted group's history is found by its
 * id or name from its last "delete group" entry.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE entra_deleted_groups (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      external_id text NOT NULL,
      group_id uuid NOT NULL,
      created_at timestamptz NOT NULL,
      member_of uuid[] NOT NULL DEFAULT '{}',
      deleted_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source_id, external_id)
    );
  `.execute(db);
  await sql`CREATE INDEX change_log_deleted_groups_idx ON change_log (workspace_id, id DESC) WHERE action = 'delete group' AND group_id IS NOT NULL`.execute(db);
}
