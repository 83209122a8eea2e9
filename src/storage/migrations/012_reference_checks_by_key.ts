import { sql, type Kysely } from "kysely";

/**
 * An INSERT's reference check (migration 009) looks each distinct parent up by its key, instead of joining
 * the statement's rows to the whole parent table. The planner hashed the new rows and scanned every parent
 * row: with 1,000,000 users across workspaces, checking 20,000 new memberships took 330 ms instead of 90 ms,
 * and an import or a sync pays that for every batch. A locking subquery (FOR KEY SHARE) is never merged
 * into the outer query, so each key is one index lookup whatever the statistics say. One statement now
 * both counts the keys and locks their parents.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION rollcall_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      cols text := TG_ARGV[0]; parent text := TG_ARGV[1]; keys text := TG_ARGV[2];
      present text; matches text; wanted bigint; locked bigint; missing text;
    BEGIN
      SELECT string_agg(format('%I IS NOT NULL', c), ' AND ') INTO present FROM unnest(string_to_array(cols, ',')) c;
      SELECT string_agg(format('p.%I = n.%I', k, c), ' AND ') INTO matches FROM unnest(string_to_array(keys, ','), string_to_array(cols, ',')) AS x(k, c);
      EXECUTE format('SELECT count(*), count(p.found) FROM (SELECT DISTINCT %s FROM new_rows WHERE %s) n
        LEFT JOIN LATERAL (SELECT 1 AS found FROM %I p WHERE %s FOR KEY SHARE) p ON true', cols, present, parent, matches) INTO wanted, locked;
      IF locked <> wanted THEN
        EXECUTE format('SELECT row(%s)::text FROM new_rows WHERE %s AND (%s) NOT IN (SELECT %s FROM %I) LIMIT 1', cols, present, cols, keys, parent) INTO missing;
        PERFORM rollcall_reference_missing(TG_TABLE_NAME, TG_NAME, cols, missing, parent);
      END IF;
      RETURN NULL;
    END $$;
  `.execute(db);
}
