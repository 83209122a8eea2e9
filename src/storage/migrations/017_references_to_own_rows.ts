import { sql, type Kysely } from "kysely";

/**
 * An INSERT's reference check (migrations 009, 012) is skipped for the parent tables named in the transaction-local
 * setting `rollcall.own_parents`, which a writer sets (see `withOwnParents`) only around statements whose
 * every reference to such a table is to a row it inserted itself, earlier in the same transaction: a first
 * import's cards and memberships point only at the users of its batch. Such a parent cannot be missing, and no
 * other transaction can see it to delete it, so the lookup and lock proved nothing: at 100,000 users they were
 * about 0.5 s of the server's 3.7 s. Every other parent (the workspace, the groups) is still checked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION rollcall_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      cols text := TG_ARGV[0]; parent text := TG_ARGV[1]; keys text := TG_ARGV[2];
      present text; matches text; wanted bigint; locked bigint; missing text;
    BEGIN
      IF parent = ANY (string_to_array(current_setting('rollcall.own_parents', true), ',')) THEN RETURN NULL; END IF;
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
