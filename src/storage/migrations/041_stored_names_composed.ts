import { sql, type Kysely } from "kysely";

/**
 * Names and addresses stored before migration 037 keep the spelling they came in: decomposed (NFD) from a Mac's CSV,
 * where every edge now composes (NFC). Such a user's email matched no composed import or sync (a second user was
 * created) and a department filter missed their department. This composes what users and groups hold that an
 * edge composes: names, addresses, department, job title, employee ID, tags, custom attribute values, aliases and
 * card numbers, group names and descriptions. Phone numbers (E.164) and language tags are ASCII once validated.
 *
 * Only the rows holding a decomposed text are rewritten, keeping their updated_at and history (they read the same).
 * An address, alias, card number or group name whose composed spelling another row already holds (one stored
 * composed and one not: two users in the directory) is left as stored, and the row gets a warning in its history
 * naming the other, for an admin to keep one of the two: failing the upgrade or merging them would be worse.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await composeUsers(db);
  await composeIdentifiers(db);
  await composeGroups(db);
}

/** Whether a text is not composed; false for NULL. */
const decomposed = (text: string) => `(${text} IS NFC NORMALIZED) IS FALSE`;

const userTexts = ["display_name", "given_name", "surname", "email", "user_principal_name", "department", "job_title", "employee_id"];

async function composeUsers(db: Kysely<unknown>): Promise<void> {
  // Tags joined by U+001F, a character that composes with nothing: the text is composed iff each tag is.
  const tags = `array_to_string(u.tags, E'\\x1f')`;
  const anyDecomposed = [...userTexts.map((c) => decomposed(`u.${c}`)), decomposed(tags), `(u.custom_attributes <> '{}' AND ${decomposed("u.custom_attributes::text")})`].join(" OR ");
  await sql.raw(`
    CREATE TEMP TABLE composing_users AS
      SELECT u.id, u.workspace_id,
        CASE WHEN NOT (u.email IS NFC NORMALIZED) THEN lower(normalize(u.email, NFC)) END AS email_key,
        CASE WHEN NOT (u.user_principal_name IS NFC NORMALIZED) THEN lower(normalize(u.user_principal_name, NFC)) END AS upn_key
      FROM users u WHERE ${anyDecomposed};
    CREATE TEMP TABLE composing_users_kept AS
      SELECT c.id, 'email' AS field, o.id AS other_id FROM composing_users c JOIN users o ON o.workspace_id = c.workspace_id AND lower(o.email) = c.email_key AND o.id <> c.id
      UNION SELECT c.id, 'email', d.id FROM composing_users c JOIN composing_users d ON d.workspace_id = c.workspace_id AND d.email_key = c.email_key AND d.id <> c.id
      UNION SELECT c.id, 'userPrincipalName', o.id FROM composing_users c JOIN users o ON o.workspace_id = c.workspace_id AND lower(o.user_principal_name) = c.upn_key AND o.id <> c.id
      UNION SELECT c.id, 'userPrincipalName', d.id FROM composing_users c JOIN composing_users d ON d.workspace_id = c.workspace_id AND d.upn_key = c.upn_key AND d.id <> c.id;
  `).execute(db);
  const keptOr = (field: string, column: string) =>
    `CASE WHEN EXISTS (SELECT 1 FROM composing_users_kept k WHERE k.id = u.id AND k.field = '${field}') THEN u.${column} ELSE normalize(u.${column}, NFC) END`;
  await sql.raw(`
    UPDATE users u SET
      display_name = normalize(u.display_name, NFC), given_name = normalize(u.given_name, NFC), surname = normalize(u.surname, NFC),
      department = normalize(u.department, NFC), job_title = normalize(u.job_title, NFC), employee_id = normalize(u.employee_id, NFC),
      email = ${keptOr("email", "email")}, user_principal_name = ${keptOr("userPrincipalName", "user_principal_name")},
      tags = CASE WHEN ${tags} IS NFC NORMALIZED THEN u.tags ELSE ARRAY(
        -- A tag given both ways is one tag once composed (tags count in any case): the first one stays.
        SELECT tag FROM (SELECT DISTINCT ON (lower(tag)) tag, n FROM (SELECT normalize(raw, NFC) AS tag, n FROM unnest(u.tags) WITH ORDINALITY AS x(raw, n)) spelt
          ORDER BY lower(tag), n) once ORDER BY n) END,
      custom_attributes = CASE WHEN u.custom_attributes::text IS NFC NORMALIZED THEN u.custom_attributes ELSE
        (SELECT coalesce(jsonb_object_agg(key, normalize(value, NFC)), '{}') FROM jsonb_each_text(u.custom_attributes)) END
    FROM composing_users c WHERE c.id = u.id
  `).execute(db);
  await sql`
    INSERT INTO change_log (workspace_id, user_id, subject, action, after, actor)
    SELECT u.workspace_id, u.id, coalesce(u.email, u.user_principal_name, u.display_name), 'warning',
      jsonb_build_object('messages', jsonb_build_array(format(
        'The upgrade left this user''s %1$s %2$s as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is the %1$s of %3$s (%4$s, from %5$s). '
        'An import or a sync now matches that user, not this one: if they are one person, delete the user you no longer need; if not, change one of the two addresses.',
        CASE k.field WHEN 'email' THEN 'email' ELSE 'user principal name' END, CASE k.field WHEN 'email' THEN u.email ELSE u.user_principal_name END,
        o.display_name, coalesce(o.email, o.user_principal_name), o.source_name))),
      'rollcall'
    FROM composing_users_kept k JOIN users u ON u.id = k.id JOIN users o ON o.id = k.other_id
    ORDER BY u.id, k.field, o.id`.execute(db);
  await sql`DROP TABLE composing_users, composing_users_kept`.execute(db);
}

/** Aliases and card numbers: the key an alias is found by is its value lower-cased, a card number's its value. */
async function composeIdentifiers(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TEMP TABLE composing_identifiers AS
      SELECT workspace_id, kind, key, user_id, normalize(key, NFC) AS composed_key FROM user_identifiers
      WHERE NOT (value IS NFC NORMALIZED);
    CREATE TEMP TABLE composing_identifiers_kept AS
      SELECT c.workspace_id, c.kind, c.key, o.user_id AS other_id FROM composing_identifiers c
        JOIN user_identifiers o ON o.workspace_id = c.workspace_id AND o.kind = c.kind AND o.key = c.composed_key
      UNION SELECT c.workspace_id, c.kind, c.key, d.user_id FROM composing_identifiers c
        JOIN composing_identifiers d ON d.workspace_id = c.workspace_id AND d.kind = c.kind AND d.composed_key = c.composed_key AND d.key <> c.key;
  `.execute(db);
  await sql`
    UPDATE user_identifiers i SET value = normalize(i.value, NFC), key = c.composed_key
    FROM composing_identifiers c
    WHERE i.workspace_id = c.workspace_id AND i.kind = c.kind AND i.key = c.key
      AND NOT EXISTS (SELECT 1 FROM composing_identifiers_kept k WHERE k.workspace_id = c.workspace_id AND k.kind = c.kind AND k.key = c.key)`.execute(db);
  await sql`
    INSERT INTO change_log (workspace_id, user_id, subject, action, after, actor)
    SELECT u.workspace_id, u.id, coalesce(u.email, u.user_principal_name, u.display_name), 'warning',
      jsonb_build_object('messages', jsonb_build_array(format(
        'The upgrade left this user''s %1$s %2$s as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is %3$s of %4$s (%5$s, from %6$s). '
        'Remove it from one of the two.',
        CASE i.kind WHEN 'alias' THEN 'alias' ELSE 'card number' END, i.value, CASE i.kind WHEN 'alias' THEN 'an alias' ELSE 'a card number' END,
        o.display_name, coalesce(o.email, o.user_principal_name), o.source_name))),
      'rollcall'
    FROM composing_identifiers_kept k
      JOIN user_identifiers i ON i.workspace_id = k.workspace_id AND i.kind = k.kind AND i.key = k.key
      JOIN users u ON u.id = i.user_id JOIN users o ON o.id = k.other_id
    ORDER BY u.id, i.kind, i.key, o.id`.execute(db);
  await sql`DROP TABLE composing_identifiers, composing_identifiers_kept`.execute(db);
}

async function composeGroups(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TEMP TABLE composing_groups AS
      SELECT id, workspace_id, CASE WHEN NOT (name IS NFC NORMALIZED) THEN lower(normalize(name, NFC)) END AS name_key FROM groups
      WHERE NOT (name IS NFC NORMALIZED) OR (description IS NFC NORMALIZED) IS FALSE;
    CREATE TEMP TABLE composing_groups_kept AS
      SELECT c.id, o.id AS other_id FROM composing_groups c JOIN groups o ON o.workspace_id = c.workspace_id AND lower(o.name) = c.name_key AND o.id <> c.id
      UNION SELECT c.id, d.id FROM composing_groups c JOIN composing_groups d ON d.workspace_id = c.workspace_id AND d.name_key = c.name_key AND d.id <> c.id;
  `.execute(db);
  await sql`
    UPDATE groups g SET description = normalize(g.description, NFC),
      name = CASE WHEN EXISTS (SELECT 1 FROM composing_groups_kept k WHERE k.id = g.id) THEN g.name ELSE normalize(g.name, NFC) END
    FROM composing_groups c WHERE c.id = g.id`.execute(db);
  await sql`
    INSERT INTO change_log (workspace_id, group_id, subject, action, after, actor)
    SELECT g.workspace_id, g.id, g.name, 'warning',
      jsonb_build_object('messages', jsonb_build_array(format(
        'The upgrade left this group''s name as stored, decomposed (Unicode NFD): composed (NFC), as Rollcall now stores it, it is the name of another group (from %s). '
        'An import or a sync now puts members in that group, not this one: move this group''s members there and delete it, or rename one of the two.',
        o.source_name))),
      'rollcall'
    FROM composing_groups_kept k JOIN groups g ON g.id = k.id JOIN groups o ON o.id = k.other_id
    ORDER BY g.id, o.id`.execute(db);
  await sql`DROP TABLE composing_groups, composing_groups_kept`.execute(db);
}
