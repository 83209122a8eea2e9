import { sql, type Kysely } from "kysely";

/**
 * The users list's other sorts (queries/users.ts `sortKeys`): created, updated and source, each with the id that
 * breaks its ties, so that a page in either direction, by cursor or by offset, walks an index and stops after it
 * instead of sorting the whole workspace (BENCHMARKS.md, session 52). The source index replaces the one on the bare
 * name, which nothing read: the source filter and imports compare `lower(source_name)`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX users_source_idx;
    CREATE INDEX users_source_idx ON users (workspace_id, lower(source_name), id);
    CREATE INDEX users_created_idx ON users (workspace_id, created_at, id);
    CREATE INDEX users_updated_idx ON users (workspace_id, updated_at, id);
  `.execute(db);
}
