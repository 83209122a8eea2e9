import { sql, type Kysely } from "kysely";

/**
 * User search ignores accents: `rollcall_search_fold` lower-cases a text, takes it apart (NFKD: "é" is "e" and an
 * accent, full-width "Ｍ" is "M"), drops the accents and spells out the letters that have none to drop (ß, æ, œ,
 * ø, ł, đ, ı), so "jose" finds "José", "lodz" "Łódź" and "strasse" "Straße", whether the name was stored composed
 * (NFC) or not (NFD, from a Mac's CSV). users.search_text is that fold of the four fields (migration 032 stored
 * them only lower-cased), and the search folds its term with the same function (queries/user-search.ts).
 * A text of ASCII alone (most emails, UPNs, employee IDs and many names) is only lower-cased: taking it apart
 * changes nothing and costs (BENCHMARKS.md, session 52). Immutable, and no extension (unaccent is one PostgreSQL
 * servers need not have), so a generated column may use it on both engines. Not STRICT: PostgreSQL then inlines it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION rollcall_search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN octet_length($1) = char_length($1) THEN lower($1) ELSE
        replace(replace(replace(replace(replace(replace(replace(
          regexp_replace(normalize(lower($1), NFKD), '[\u0300-\u036f]', '', 'g'),
          'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'ø', 'o'), 'ł', 'l'), 'đ', 'd'), 'ı', 'i')
      END
    $$;
    ALTER TABLE users DROP COLUMN search_text;
    ALTER TABLE users ADD COLUMN search_text text GENERATED ALWAYS AS (
      rollcall_search_fold(display_name || E'\\x1f' || coalesce(email, '') || E'\\x1f' || coalesce(user_principal_name, '') || E'\\x1f' || coalesce(employee_id, ''))
    ) STORED;
    ANALYZE users (search_text);
  `.execute(db);
}
