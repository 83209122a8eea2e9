import { sql, type Kysely } from "kysely";

/**
 * Sign in with Microsoft and notifications.
 * - A synced user who signs in gets an account linked to their directory row (`accounts.user_id`); the row
 *   going away (deleted by a sync or by hand) takes the account and its sessions with it. Linked accounts
 *   have no password, and the email index covers local accounts only, so a synced user whose address
 *   equals a local admin's never shadows or matches it.
 * - `signin_requests`: one row per authorization request in flight (state, nonce, PKCE verifier, the
 *   browser binding), so any process sharing the database can finish it. Native clients (rollcall login)
 *   get a one-time code bound to their own PKCE challenge.
 * - Notifications are unique per (workspace, kind, subject, milestone); deliveries are claimed by UPDATE,
 *   so several processes sharing one PostgreSQL send each one once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE accounts ADD COLUMN user_id uuid REFERENCES users ON DELETE CASCADE;
    CREATE UNIQUE INDEX accounts_user_key ON accounts (user_id) WHERE user_id IS NOT NULL;
    DROP INDEX accounts_email_key;
    CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email)) WHERE user_id IS NULL;

    CREATE TABLE signin_requests (
      state_hash text PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      source_ids uuid[] NOT NULL,
      browser_hash text NOT NULL,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      redirect_uri text NOT NULL,
      return_to text,
      client_redirect text,
      client_challenge text,
      client_state text,
      client_code_hash text UNIQUE,
      account_id uuid REFERENCES accounts ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );

    CREATE TABLE notifications (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('secret_expiry', 'sync_failed', 'sync_stopped', 'import_failed')),
      subject text NOT NULL,
      milestone text NOT NULL DEFAULT '',
      severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
      title text NOT NULL,
      body text NOT NULL,
      link text,
      data jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      resolved_at timestamptz,
      dismissed_at timestamptz,
      dismissed_by text
    );
    CREATE UNIQUE INDEX notifications_key ON notifications (workspace_id, kind, subject, milestone);
    CREATE INDEX notifications_list_idx ON notifications (workspace_id, created_at DESC);

    CREATE TABLE notification_settings (
      workspace_id uuid PRIMARY KEY REFERENCES workspaces ON DELETE CASCADE,
      email_to text[] NOT NULL DEFAULT '{}',
      webhook_url text,
      webhook_secret_ciphertext text,
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE notification_deliveries (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      notification_id uuid NOT NULL REFERENCES notifications ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
      target text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claimed_by text,
      claimed_until timestamptz,
      last_error text,
      sent_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX notification_deliveries_key ON notification_deliveries (notification_id, channel, target);
    CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
  `.execute(db);
}
