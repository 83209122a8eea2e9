import { sql, type Kysely } from "kysely";

/**
 * Staging for imports: rows are COPYed here, checked and applied with set-based SQL, then deleted.
 * UNLOGGED because the rows are scratch data that a crash may lose without harm (the import is
 * simply not applied). PINs are never staged: they are hashed in memory.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE import_rows (
      run_id uuid NOT NULL,
      row_no integer NOT NULL,
      email text,
      user_principal_name text,
      display_name text NOT NULL,
      given_name text,
      surname text,
      department text,
      job_title text,
      employee_id text,
      mobile_phone text,
      business_phones text[],
      preferred_language text,
      enabled boolean,
      aliases text[],
      card_numbers text[],
      groups text[],
      tags text[],
      custom_attributes jsonb,
      user_id uuid,
      action text,
      pin_hash text,
      PRIMARY KEY (run_id, row_no)
    );
    CREATE INDEX import_rows_user_idx ON import_rows (run_id, user_id);
  `.execute(db);
}
