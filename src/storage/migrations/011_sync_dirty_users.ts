import { sql, type Kysely } from "kysely";

/**
 * The mirror users a run must look at (a listing changed them, or someone changed the synced user here) are
 * rows of their own instead of a flag on the mirror row. Setting and clearing the flag rewrote every changed
 * mirror row twice: clearing it after a first sync of 100k users took 0.8 s on PostgreSQL and 1.4 s on
 * PGlite, left PGlite's entra_users at twice its live size, and left the flag's partial index pointing at
 * 96,000 dead row versions that the next run's search for dirty rows walked (0.3 s on PostgreSQL).
 * The reference to sources is held by statement-level triggers, as in migration 009.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE entra_dirty_users (
      source_id uuid NOT NULL,
      id text NOT NULL,
      PRIMARY KEY (source_id, id)
    );
    CREATE TRIGGER entra_dirty_users_source_id_fkey_insert AFTER INSERT ON entra_dirty_users REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollcall_check_references('source_id', 'sources', 'id');
    CREATE TRIGGER entra_dirty_users_source_id_fkey_update AFTER UPDATE OF source_id ON entra_dirty_users
      FOR EACH ROW WHEN (ROW(OLD.source_id) IS DISTINCT FROM ROW(NEW.source_id) AND NEW.source_id IS NOT NULL)
      EXECUTE FUNCTION rollcall_check_reference_row('source_id', 'sources', 'id');
    CREATE TRIGGER entra_dirty_users_source_id_fkey_delete AFTER DELETE ON sources REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollcall_cascade_references('entra_dirty_users', 'source_id', 'id', 'cascade');
    CREATE TRIGGER entra_dirty_users_source_id_fkey_key AFTER UPDATE OF id ON sources
      FOR EACH ROW WHEN (ROW(OLD.id) IS DISTINCT FROM ROW(NEW.id)) EXECUTE FUNCTION rollcall_keep_key('id');
    INSERT INTO entra_dirty_users (source_id, id) SELECT source_id, id FROM entra_users WHERE dirty;
    ALTER TABLE entra_users DROP COLUMN dirty;
  `.execute(db);
}
