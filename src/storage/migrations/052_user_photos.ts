import { sql, type Kysely } from "kysely";

/**
 * Users' profile photos: one image each (JPEG or PNG, at most 256 KiB), uploaded for a manual user or synced from an Entra
 * ID source that syncs photos, then with Graph's @odata.mediaEtag, which a full reconciliation compares to find a changed
 * photo without downloading it. source_state.photos_checked_at: when every user's photo of the source was last checked
 * (null: never, so the next run checks them all, as when the option is turned on).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE user_photos (
      user_id uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
      workspace_id uuid NOT NULL,
      content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
      bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 262144),
      media_etag text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`ALTER TABLE source_state ADD COLUMN photos_checked_at timestamptz`.execute(db);
}
