import { sql, type Kysely } from "kysely";

/**
 * Sync on change: a source's Microsoft Graph subscriptions (one for users, one for groups when it reads groups), each
 * with its clientState sealed like a client secret, when Graph says it expires and why it could not be made, and
 * `change_sync_due_at`, when the delta run a burst of notifications asked for is due. Claimed with an atomic UPDATE
 * (as next_run_at is), so one process runs it however many received the notifications.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE graph_subscriptions (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      resource text NOT NULL CHECK (resource IN ('users', 'groups')),
      subscription_id text UNIQUE,
      client_state_ciphertext text,
      expires_at timestamptz,
      state text NOT NULL CHECK (state IN ('pending', 'active', 'failed')),
      error jsonb,
      renew_claimed_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source_id, resource)
    );
    ALTER TABLE source_state ADD COLUMN change_sync_due_at timestamptz;
  `.execute(db);
}
