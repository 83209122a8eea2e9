import { sql, type Kysely } from "kysely";

/**
 * Mirror users that a listing removed (deleted in Entra ID, or absent from a full listing), kept until a run
 * has applied their removal (a dry run, a stopped or a failed run leaves them for the next). With the dirty
 * mirror rows they are everything a delta run has to plan when every user is in scope, so it no longer
 * compares the whole mirror with the whole directory to find them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE entra_departed (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      id text NOT NULL,
      PRIMARY KEY (source_id, id)
    );
  `.execute(db);
}
