import { sql, type Kysely } from "kysely";

/**
 * New users and groups get time-ordered ids (UUID version 7, RFC 9562) instead of random ones (version 4).
 * Rows written in bulk then land at the end of every index keyed by user id (the users' primary key, the
 * change log's, the identifiers' and the memberships' user indexes) instead of on a random page each: a
 * 100,000-user write with its change-log rows and cards took 2.3 s instead of 3.1-3.6 s on PostgreSQL.
 * PostgreSQL 18's uuidv7() does the same; this function also runs on older servers and on PGlite.
 * Imports give their new users a version 7 id in Node (queries/imports.ts), for the same reason.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION rollcall_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
    $$;
    ALTER TABLE users ALTER COLUMN id SET DEFAULT rollcall_uuid7();
    ALTER TABLE groups ALTER COLUMN id SET DEFAULT rollcall_uuid7();
  `.execute(db);
}
