import { sql, type Kysely } from "kysely";

/**
 * A synced person's session ends for good when they are disabled, moved off their source, or their source
 * stops signing people in. core/accounts.ts findSession already refuses such sessions while that lasts, but
 * re-enabling the person or the source within the session's lifetime brought the old session back. The
 * triggers delete the sessions at the moment of the change, whichever path makes it (a sync's set-based
 * apply, an edit, an import, a source update); their WHEN clauses keep the cost off every other row update.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION end_user_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE user_id = OLD.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER users_end_sessions AFTER UPDATE OF enabled, source_id ON users FOR EACH ROW
      WHEN ((OLD.enabled AND NOT NEW.enabled) OR OLD.source_id IS DISTINCT FROM NEW.source_id)
      EXECUTE FUNCTION end_user_sessions();

    CREATE FUNCTION end_source_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM sessions WHERE account_id IN (
        SELECT a.id FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.source_id = OLD.id);
      RETURN NULL;
    END $$;
    CREATE TRIGGER sources_end_sessions AFTER UPDATE OF config ON sources FOR EACH ROW
      WHEN ((OLD.config->>'signIn')::boolean IS TRUE AND (NEW.config->>'signIn')::boolean IS NOT TRUE)
      EXECUTE FUNCTION end_source_sessions();
  `.execute(db);
}
