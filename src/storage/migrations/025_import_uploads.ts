import { sql, type Kysely } from "kysely";

/**
 * Uploaded import files live in the database, not in one process's data folder: behind a load balancer the
 * preview and the commit may reach another process than the upload did. A file is kept in chunks of up to
 * 1 MB (never one value of 50 MB in memory); spreadsheets are zip files already, so the chunks are stored
 * uncompressed (STORAGE EXTERNAL). A commit under way holds a lease (committing_by/_until), renewed as it
 * reports progress, so any process can refuse a second commit and show the first one's progress, and a commit
 * whose process died frees the upload when its lease runs out.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE import_uploads (
      id uuid PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces ON DELETE CASCADE,
      file_name text NOT NULL,
      size integer NOT NULL,
      uploaded_by text NOT NULL,
      uploaded_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      options jsonb,
      committing_by text,
      committing_until timestamptz,
      progress jsonb
    );
    CREATE INDEX import_uploads_expiry_idx ON import_uploads (expires_at);
    CREATE TABLE import_upload_chunks (
      upload_id uuid NOT NULL REFERENCES import_uploads ON DELETE CASCADE,
      seq int NOT NULL,
      data bytea NOT NULL,
      PRIMARY KEY (upload_id, seq)
    );
    ALTER TABLE import_upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
  `.execute(db);
}
