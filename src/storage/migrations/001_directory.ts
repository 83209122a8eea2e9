import { sql, type Kysely } from "kysely";

/** The workspace directory: workspaces, sources, users, groups, memberships, history, admins. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE workspaces (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      default_country text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX workspaces_name_key ON workspaces (lower(name));

    CREATE TABLE sources (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      type text NOT NULL CHECK (type IN ('manual', 'import', 'entra')),
      name text NOT NULL,
      config jsonb NOT NULL DEFAULT '{}',
      secret_ciphertext text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX sources_name_key ON sources (workspace_id, lower(name));

    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      user_principal_name text,
      email text,
      display_name text NOT NULL,
      given_name text,
      surname text,
      department text,
      job_title text,
      employee_id text,
      mobile_phone text,
      business_phones text[] NOT NULL DEFAULT '{}',
      preferred_language text,
      enabled boolean NOT NULL DEFAULT true,
      pin_hash text,
      custom_attributes jsonb NOT NULL DEFAULT '{}',
      source_type text NOT NULL CHECK (source_type IN ('manual', 'import', 'entra')),
      source_name text NOT NULL,
      source_id uuid REFERENCES sources ON DELETE SET NULL,
      external_id text,
      tags text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_key ON users (workspace_id, lower(email));
    CREATE UNIQUE INDEX users_upn_key ON users (workspace_id, lower(user_principal_name));
    CREATE UNIQUE INDEX users_external_key ON users (source_id, external_id);
    CREATE INDEX users_list_idx ON users (workspace_id, lower(display_name), id);
    CREATE INDEX users_source_idx ON users (workspace_id, source_name);
    CREATE INDEX users_tags_idx ON users USING gin (tags);

    CREATE TABLE user_identifiers (
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('alias', 'card')),
      key text NOT NULL,
      value text NOT NULL,
      user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
      position integer NOT NULL,
      PRIMARY KEY (workspace_id, kind, key)
    );
    CREATE INDEX user_identifiers_user_idx ON user_identifiers (user_id);

    CREATE TABLE groups (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      name text NOT NULL,
      description text,
      source_type text NOT NULL CHECK (source_type IN ('manual', 'import', 'entra')),
      source_name text NOT NULL,
      source_id uuid REFERENCES sources ON DELETE SET NULL,
      external_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX groups_name_key ON groups (workspace_id, lower(name));
    CREATE UNIQUE INDEX groups_external_key ON groups (source_id, external_id);

    CREATE TABLE group_members (
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      group_id uuid NOT NULL REFERENCES groups ON DELETE CASCADE,
      member_user_id uuid REFERENCES users ON DELETE CASCADE,
      member_group_id uuid REFERENCES groups ON DELETE CASCADE,
      CHECK ((member_user_id IS NULL) <> (member_group_id IS NULL)),
      CHECK (member_group_id IS DISTINCT FROM group_id)
    );
    CREATE UNIQUE INDEX group_members_user_key ON group_members (group_id, member_user_id) WHERE member_user_id IS NOT NULL;
    CREATE UNIQUE INDEX group_members_group_key ON group_members (group_id, member_group_id) WHERE member_group_id IS NOT NULL;
    CREATE INDEX group_members_member_user_idx ON group_members (member_user_id);
    CREATE INDEX group_members_member_group_idx ON group_members (member_group_id);

    CREATE TABLE sync_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      trigger text NOT NULL,
      mode text NOT NULL,
      dry_run boolean NOT NULL DEFAULT false,
      status text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      counts jsonb NOT NULL DEFAULT '{}',
      progress jsonb NOT NULL DEFAULT '{}',
      error jsonb,
      graph_requests integer NOT NULL DEFAULT 0,
      graph_throttled integer NOT NULL DEFAULT 0
    );
    CREATE INDEX sync_runs_source_idx ON sync_runs (source_id, started_at DESC);

    CREATE TABLE change_log (
      id bigserial PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      run_id uuid REFERENCES sync_runs ON DELETE SET NULL,
      user_id uuid,
      group_id uuid,
      subject text NOT NULL,
      action text NOT NULL,
      before jsonb,
      after jsonb,
      actor text NOT NULL,
      at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX change_log_user_idx ON change_log (user_id, id DESC);
    CREATE INDEX change_log_run_idx ON change_log (run_id, id);

    CREATE TABLE accounts (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      display_name text NOT NULL,
      password_hash text,
      is_owner boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

    CREATE TABLE workspace_roles (
      account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('admin', 'viewer')),
      PRIMARY KEY (account_id, workspace_id)
    );

    CREATE TABLE sessions (
      id_hash text PRIMARY KEY,
      account_id uuid NOT NULL REFERENCES accounts ON DELETE CASCADE,
      csrf_token text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    );

    CREATE TABLE api_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin', 'viewer')),
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );

    CREATE TABLE settings (
      key text PRIMARY KEY,
      value jsonb NOT NULL
    );

    INSERT INTO workspaces (name) VALUES ('default');
  `.execute(db);
}
