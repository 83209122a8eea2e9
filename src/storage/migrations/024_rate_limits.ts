import { sql, type Kysely } from "kysely";

/**
 * Rate-limit counters (api/rate-limit-store.ts) live in the database, so that every process behind a load
 * balancer counts against the same limit. UNLOGGED: each counted request writes a row, and a crash that
 * forgets the counters only shortens a window of at most minutes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE rate_limits (
      key text PRIMARY KEY,
      hits int NOT NULL,
      resets_at timestamptz NOT NULL
    );
  `.execute(db);
}
