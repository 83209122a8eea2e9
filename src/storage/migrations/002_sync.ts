import { sql, type Kysely } from "kysely";

/**
 * Entra ID synchronization state.
 * - source_state: per source, the stored delta links, the last full run, the run lease (one run per source
 *   across processes: claimed with an atomic UPDATE … WHERE, expiring unless its heartbeat renews it) and the
 *   next scheduled run (claimed the same way so a schedule fires once, not once per process).
 * - entra_users / entra_groups / entra_members: the mirror of what Graph last said, per source. `dirty` marks
 *   rows changed since the directory was last brought in step, so a run killed after the mirror moved still
 *   converges: the next run plans every dirty row.
 * - sync_stage_*: pages as they arrive, keyed by run (COPY while fetching; merged into the mirror only once the
 *   listing is complete). `seq` keeps Graph's order so the latest copy of a replayed change wins.
 * - sync_plan_users: the planned user changes of a run, COPY'd in, applied set-based in one transaction.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE source_state (
      source_id uuid PRIMARY KEY REFERENCES sources ON DELETE CASCADE,
      users_delta_link text,
      groups_delta_link text,
      last_full_at timestamptz,
      lease_run_id uuid,
      lease_expires_at timestamptz,
      next_run_at timestamptz
    );

    CREATE TABLE entra_users (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      id text NOT NULL,
      data jsonb NOT NULL,
      dirty boolean NOT NULL DEFAULT true,
      PRIMARY KEY (source_id, id)
    );
    CREATE INDEX entra_users_dirty_idx ON entra_users (source_id) WHERE dirty;

    CREATE TABLE entra_groups (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      id text NOT NULL,
      data jsonb NOT NULL,
      PRIMARY KEY (source_id, id)
    );

    CREATE TABLE entra_members (
      source_id uuid NOT NULL REFERENCES sources ON DELETE CASCADE,
      group_id text NOT NULL,
      member_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('user', 'group')),
      PRIMARY KEY (source_id, group_id, member_id)
    );
    CREATE INDEX entra_members_member_idx ON entra_members (source_id, member_id);

    CREATE TABLE sync_stage_users (
      run_id uuid NOT NULL,
      seq bigserial,
      id text NOT NULL,
      data jsonb,
      removed text
    );
    CREATE INDEX sync_stage_users_idx ON sync_stage_users (run_id, id, seq);

    CREATE TABLE sync_stage_groups (
      run_id uuid NOT NULL,
      seq bigserial,
      id text NOT NULL,
      data jsonb,
      removed text
    );
    CREATE INDEX sync_stage_groups_idx ON sync_stage_groups (run_id, id, seq);

    CREATE TABLE sync_stage_members (
      run_id uuid NOT NULL,
      seq bigserial,
      group_id text NOT NULL,
      member_id text NOT NULL,
      kind text NOT NULL,
      removed boolean NOT NULL
    );
    CREATE INDEX sync_stage_members_idx ON sync_stage_members (run_id, group_id, member_id, seq);

    CREATE TABLE sync_plan_users (
      run_id uuid NOT NULL,
      action text NOT NULL,
      user_id uuid,
      external_id text NOT NULL,
      fields jsonb,
      before jsonb,
      subject text NOT NULL
    );
    CREATE INDEX sync_plan_users_idx ON sync_plan_users (run_id, action);

    ALTER TABLE sync_runs ADD COLUMN forced boolean NOT NULL DEFAULT false;
    ALTER TABLE sync_runs ADD COLUMN requested_by text;
    CREATE INDEX sync_runs_running_idx ON sync_runs (source_id) WHERE status = 'running';
  `.execute(db);
}
