import { sql, type Kysely } from "kysely";

/**
 * Mirror users Entra ID reports soft-deleted (delta `@removed` reason "changed": in deletedItems, restorable for
 * 30 days), as opposed to deleted for good ("deleted"). A run only disables such a user, even when the source
 * deletes the users it loses, so that a mistaken deletion restored in Entra ID keeps its PIN, cards and role here.
 * A row goes when a listing lists the user again, reports it deleted for good, or (a full listing) no longer
 * reports it soft-deleted. https://learn.microsoft.com/graph/delta-query-overview (resource representation)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE entra_restorable (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      id text NOT NULL,
      PRIMARY KEY (source_id, id)
    );
  `.execute(db);
}
