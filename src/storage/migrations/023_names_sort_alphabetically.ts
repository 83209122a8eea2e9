import { sql, type Kysely } from "kysely";

/** The users list sorts by display name in the root Unicode collation (queries/users.ts `alphabetical`); its index follows. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX users_list_idx;
    CREATE INDEX users_list_idx ON users (workspace_id, display_name COLLATE "und-x-icu", id);
  `.execute(db);
}
