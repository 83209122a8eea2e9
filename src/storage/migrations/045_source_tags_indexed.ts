import { sql, type Kysely } from "kysely";

/**
 * A source's tag (ID synced, Imported, Manual) is matched as the source writes it (`tags @> array['ID synced']`), and
 * since 039 nothing indexed the tags as written: the filter and its count read every user of the workspace. One
 * partial index per source's tag, on the workspace of the users holding it, is what the planner reads instead: the
 * count from the index alone, a rare tag's users without the others. A GIN index on the tags answered in 2-5 times
 * as long, its count reading the users' rows, and takes an entry for each of a user's tags where this takes one
 * (bench/tags.ts, BENCHMARKS.md, session 54). ANALYZE gives the planner the tags' statistics, which a sync and an
 * import now renew.
 * The predicates name the tags as domain/user.ts `systemTags` spells them: a new spelling needs a new index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX users_synced_tag_idx ON users (workspace_id) WHERE tags @> '{"ID synced"}'`.execute(db);
  await sql`CREATE INDEX users_imported_tag_idx ON users (workspace_id) WHERE tags @> '{Imported}'`.execute(db);
  await sql`CREATE INDEX users_manual_tag_idx ON users (workspace_id) WHERE tags @> '{Manual}'`.execute(db);
  await sql`ANALYZE users (tags)`.execute(db);
}
