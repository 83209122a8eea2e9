import { timeOrderedId } from "../time-ordered-id.ts";
import { sql, type RawBuilder } from "kysely";
import type { Db, Store } from "../database.ts";
import { arrayLiteral, type CopyValue } from "../copy-format.ts";
import type { ImportedUser } from "../../sources/import/row.ts";

/**
 * Set-based SQL for imports. Rows are COPYed into `import_rows` (one `run_id` per import), matched,
 * checked and classified there, and applied with a handful of INSERT … SELECT / UPDATE … FROM
 * statements: the cost is a few statements per import, not several per row.
 */
export interface StagedColumn {
  field: keyof ImportedUser;
  column: string;
  kind: "text" | "array" | "bool" | "json";
}

/** The user columns an import can write, in staging order. email, UPN and display name are always staged. */
export const stagedColumns: StagedColumn[] = [
  { field: "email", column: "email", kind: "text" },
  { field: "userPrincipalName", column: "user_principal_name", kind: "text" },
  { field: "displayName", column: "display_name", kind: "text" },
  { field: "givenName", column: "given_name", kind: "text" },
  { field: "surname", column: "surname", kind: "text" },
  { field: "department", column: "department", kind: "text" },
  { field: "jobTitle", column: "job_title", kind: "text" },
  { field: "employeeId", column: "employee_id", kind: "text" },
  { field: "mobilePhone", column: "mobile_phone", kind: "text" },
  { field: "businessPhones", column: "business_phones", kind: "array" },
  { field: "preferredLanguage", column: "preferred_language", kind: "text" },
  { field: "enabled", column: "enabled", kind: "bool" },
  { field: "aliases", column: "aliases", kind: "array" },
  { field: "cardNumbers", column: "card_numbers", kind: "array" },
  { field: "groups", column: "groups", kind: "array" },
  { field: "tags", column: "tags", kind: "array" },
  { field: "customAttributes", column: "custom_attributes", kind: "json" },
];

/** The staged rows of one import, or of one batch of it: row numbers `from` to `to`, both included. */
export interface StagedRows {
  runId: string;
  from?: number;
  to?: number;
}

/** The WHERE condition selecting `rows` from import_rows under `alias`. */
export function stagedIn(rows: StagedRows, alias = "s"): RawBuilder<boolean> {
  const table = sql.raw(alias);
  if (rows.from === undefined || rows.to === undefined) return sql<boolean>`${table}.run_id = ${rows.runId}`;
  return sql<boolean>`${table}.run_id = ${rows.runId} AND ${table}.row_no BETWEEN ${rows.from} AND ${rows.to}`;
}

/**
 * A staged row starts as a 'create' with a fresh id: most rows of a big import are new, and giving them
 * their id at COPY time saves rewriting every staged row later. matchExisting turns matched rows back
 * into undecided ones (action NULL) with the existing user's id. The ids are time-ordered (version 7),
 * as the database's own (migration 010), so the apply writes every user-keyed index in order.
 */
export function stagingRow(runId: string, user: ImportedUser): CopyValue[] {
  const values: CopyValue[] = [runId, user.row, timeOrderedId(), "create"];
  for (const { field, kind } of stagedColumns) {
    const value = user[field];
    if (value === undefined || value === null) values.push(null);
    else if (kind === "array") values.push(arrayLiteral(value as string[]));
    else if (kind === "json") values.push(JSON.stringify(value));
    else values.push(value as string | boolean);
  }
  values.push(user.rollcallId ?? null);
  return values;
}

export const stagingColumnNames = ["run_id", "row_no", "user_id", "action", ...stagedColumns.map((c) => c.column), "given_id"];

/** SQL: the staged row `s` was matched by the Rollcall id it gives (an export's row), so it updates its user where it is. */
export const matchedById = sql<boolean>`s.user_id = s.given_id`;

/**
 * `chunks`: stagingRow's rows, encoded (CopyEncoder). `transaction`: the one an import applies in, where the
 * database needs the rows staged inside it (PGlite).
 */
export async function stageRows(store: Store, chunks: Uint8Array[], transaction?: Db): Promise<void> {
  if (chunks.length) await store.copyEncoded("import_rows", stagingColumnNames, chunks, transaction);
}

/**
 * Deletes the run's staged rows and reclaims their space so the next import reuses its pages: on PGlite,
 * which has no autovacuum, the staging table (and every scan of it) would otherwise grow with each import.
 */
export async function clearStaging(store: Store, runId: string): Promise<void> {
  await sql`DELETE FROM import_rows WHERE run_id = ${runId}`.execute(store.db);
  await store.reclaim(["import_rows"]);
}

/**
 * Link each staged row to the existing user it describes (by the Rollcall id it gives, else by email, else by userPrincipalName); those
 * rows become undecided (action NULL) until classify. Returns how many rows matched.
 * A row left unmatched whose address is another user's in the other role (the row's email is a user's UPN, or
 * a UPN-only row's UPN is a user's email: an HR file beside Entra's bulk-create template) describes that user
 * too: created again, the same person would be in the directory twice. Email and UPN are each unique, so each
 * step finds at most one user per row.
 */
export async function matchExisting(db: Db, rows: StagedRows, workspaceId: string, byId: boolean): Promise<number> {
  // A Rollcall id the workspace does not hold (another workspace's export, a user deleted since) matches nothing:
  // the row is matched by its addresses as any other. `byId`: the file has a rollcallId column.
  const steps = [
    ...(byId ? [sql`u.id = s.given_id`] : []),
    sql`s.email IS NOT NULL AND lower(u.email) = lower(s.email) AND s.user_id IS DISTINCT FROM s.given_id`,
    sql`s.email IS NULL AND lower(u.user_principal_name) = lower(s.user_principal_name) AND s.user_id IS DISTINCT FROM s.given_id`,
    sql`s.action = 'create' AND s.email IS NOT NULL AND lower(u.user_principal_name) = lower(s.email)`,
    sql`s.action = 'create' AND s.email IS NULL AND lower(u.email) = lower(s.user_principal_name)`,
  ];
  let matched = 0;
  for (const condition of steps) {
    const result = await sql`
      UPDATE import_rows s SET user_id = u.id, action = NULL FROM users u
      WHERE ${stagedIn(rows)} AND u.workspace_id = ${workspaceId} AND ${condition}`.execute(db);
    matched += Number(result.numAffectedRows ?? 0n);
  }
  return matched;
}

/** A card number or employee ID a row gives as its user's without that one's leading zeros. */
export interface RestoredValue {
  row_no: number;
  /** cardNumbers, employeeId, or a custom attribute's field (customAttributes.site). */
  field: string;
  given: string;
  kept: string;
}

/**
 * A spreadsheet that opens an exported CSV reads codes as numbers: card 0042 comes back as 42, employee ID (or custom attribute) 00123 as
 * 123. A row matched to a user who holds 0042 and giving 42 means that card, not a new one: the row keeps 0042 (the
 * caller warns), and the person keeps the card they badge with. Only digits, and only a card the row does not also
 * give as it is held.
 */
export async function restoreLeadingZeros(db: Db, rows: StagedRows): Promise<RestoredValue[]> {
  const { rows: ids } = await sql<RestoredValue>`
    UPDATE import_rows s SET employee_id = u.employee_id FROM users u
    WHERE ${stagedIn(rows)} AND u.id = s.user_id AND s.employee_id ~ '^[1-9][0-9]*$' AND u.employee_id LIKE '0%' AND ltrim(u.employee_id, '0') = s.employee_id
    RETURNING s.row_no, 'employeeId' AS field, ltrim(u.employee_id, '0') AS given, u.employee_id AS kept`.execute(db);
  const { rows: cards } = await sql<RestoredValue>`
    WITH found AS (
      SELECT DISTINCT ON (s.row_no, c.ord) s.row_no, c.ord, c.v AS given, i.value AS kept
      FROM import_rows s
      CROSS JOIN LATERAL unnest(s.card_numbers) WITH ORDINALITY AS c(v, ord)
      JOIN user_identifiers i ON i.user_id = s.user_id AND i.kind = 'card' AND i.value LIKE '0%' AND ltrim(i.value, '0') = c.v
      WHERE ${stagedIn(rows)} AND s.user_id IS NOT NULL AND c.v ~ '^[1-9][0-9]*$' AND NOT (i.value = ANY(s.card_numbers))
      ORDER BY s.row_no, c.ord, i.position
    ), changed AS (
      UPDATE import_rows s SET card_numbers = (
        SELECT array_agg(coalesce(f.kept, c.v) ORDER BY c.ord) FROM unnest(s.card_numbers) WITH ORDINALITY AS c(v, ord)
        LEFT JOIN found f ON f.row_no = s.row_no AND f.ord = c.ord)
      WHERE ${stagedIn(rows)} AND s.row_no IN (SELECT row_no FROM found)
    )
    SELECT row_no, 'cardNumbers' AS field, given, kept FROM found ORDER BY row_no, ord`.execute(db);
  // A custom attribute such as a cost centre or a site code loses its zeros the same way.
  const { rows: attributes } = await sql<RestoredValue>`
    WITH found AS (
      SELECT s.row_no, e.k, e.v AS given, u.custom_attributes ->> e.k AS kept
      FROM import_rows s JOIN users u ON u.id = s.user_id CROSS JOIN LATERAL jsonb_each_text(s.custom_attributes) e(k, v)
      WHERE ${stagedIn(rows)} AND s.custom_attributes IS NOT NULL AND e.v ~ '^[1-9][0-9]*$'
        AND (u.custom_attributes ->> e.k) LIKE '0%' AND ltrim(u.custom_attributes ->> e.k, '0') = e.v
    ), changed AS (
      UPDATE import_rows s SET custom_attributes = s.custom_attributes || (SELECT jsonb_object_agg(f.k, f.kept) FROM found f WHERE f.row_no = s.row_no)
      WHERE ${stagedIn(rows)} AND s.row_no IN (SELECT row_no FROM found)
    )
    SELECT row_no, 'customAttributes.' || k AS field, given, kept FROM found ORDER BY row_no, k`.execute(db);
  return [...ids, ...cards, ...attributes].sort((a, b) => a.row_no - b.row_no);
}

/**
 * Fresh statistics, or the planner guesses a handful of staged rows and picks nested loops over 100k.
 * Only the columns the plans filter and join on: the others (arrays, JSON) are costly to analyse and never help.
 */
export async function analyzeStaging(db: Db): Promise<void> {
  await sql`ANALYZE import_rows (run_id, row_no, email, user_principal_name, user_id, action)`.execute(db);
}

export interface Clash {
  row_no: number;
  field: string;
  value: string;
  kind: "owner" | "holder" | "group";
  holder_id: string | null;
  holder_name: string | null;
  holder_email: string | null;
  holder_source_type: string | null;
  holder_source_name: string | null;
}

/** What the workspace holds that an import's rows could clash with: any user, any group synced from Entra ID. */
export async function clashTargets(db: Db, workspaceId: string): Promise<{ users: boolean; entraGroups: boolean }> {
  const { rows } = await sql<{ users: boolean; entraGroups: boolean }>`
    SELECT EXISTS (SELECT 1 FROM users WHERE workspace_id = ${workspaceId}) AS users,
           EXISTS (SELECT 1 FROM groups WHERE workspace_id = ${workspaceId} AND source_type = 'entra') AS "entraGroups"`.execute(db);
  return rows[0]!;
}

/**
 * Everything in the database that stops a staged row: owners that may not be overwritten, and values held by
 * someone else. Each card and alias is looked up on its own (a LATERAL subquery with LIMIT 1 is never turned
 * into a join, and the key is the only index of user_identifiers that starts with the workspace): planned as a
 * join on statistics that an import's own transaction had outdated, the identifiers of the workspace were
 * scanned for every staged row (12 s for a batch of 10,000). Group names are joined: the same LATERAL lookup
 * walked the workspace's groups by another index, for every name (13 s per 100,000 rows for 115 groups).
 * `users: false` (the workspace held no user when the import started) skips the users: those an import's
 * earlier batches created cannot clash with its later rows, whose duplicates within the file the source has
 * already reported (sources/import/source.ts). `entraGroups: false` skips the group names. A row naming a group synced
 * from Entra ID that its user is a member of (an export imported back) changes nothing of it: no clash.
 */
export async function findClashes(
  db: Db,
  rows: StagedRows,
  scope: { workspaceId: string; sourceName: string; updateExisting: boolean; users: boolean; entraGroups: boolean },
  limit: number,
): Promise<Clash[]> {
  const { workspaceId, sourceName, updateExisting } = scope;
  const withUsers = [
    sql`
      SELECT s.row_no, CASE WHEN s.email IS NOT NULL THEN 'email' ELSE 'userPrincipalName' END AS field, coalesce(s.email, s.user_principal_name) AS value,
             'owner' AS kind, u.id AS holder_id, u.display_name AS holder_name, u.email AS holder_email, u.source_type AS holder_source_type, u.source_name AS holder_source_name
      FROM import_rows s JOIN users u ON u.id = s.user_id
      WHERE ${stagedIn(rows)} AND s.action IS NULL
        AND (u.source_type IN ('entra', 'scim') OR (NOT ${updateExisting} AND NOT (u.source_type = 'import' AND lower(u.source_name) = lower(${sourceName}))))
        AND NOT coalesce(${matchedById}, false)`,
    // A row matched by its id may give its user a new email: not one another user has, in either role (a branch
    // each, so that each looks the address up by its index).
    ...(["email", "user_principal_name"] as const).map((role) => sql`
      SELECT s.row_no, 'email', s.email, 'holder', h.id, h.display_name, h.email, h.source_type, h.source_name
      FROM import_rows s JOIN users h ON h.workspace_id = ${workspaceId} AND lower(h.${sql.raw(role)}) = lower(s.email) AND h.id <> s.user_id
      WHERE ${stagedIn(rows)} AND ${matchedById} ${role === "user_principal_name" ? sql`AND lower(h.email) IS DISTINCT FROM lower(s.email)` : sql``}`),
    sql`
      SELECT s.row_no, 'userPrincipalName', s.user_principal_name, 'holder', h.id, h.display_name, h.email, h.source_type, h.source_name
      FROM import_rows s JOIN users h ON h.workspace_id = ${workspaceId} AND lower(h.user_principal_name) = lower(s.user_principal_name) AND h.id IS DISTINCT FROM s.user_id
      WHERE ${stagedIn(rows)}`,
    // An address is one user's in either role: a row's UPN may not be another user's email (a row's email that is
    // another user's UPN matched that user: see matchExisting).
    sql`
      SELECT s.row_no, 'userPrincipalName', s.user_principal_name, 'holder', h.id, h.display_name, h.email, h.source_type, h.source_name
      FROM import_rows s JOIN users h ON h.workspace_id = ${workspaceId} AND lower(h.email) = lower(s.user_principal_name) AND h.id IS DISTINCT FROM s.user_id
      WHERE ${stagedIn(rows)} AND lower(h.user_principal_name) IS DISTINCT FROM lower(s.user_principal_name)`,
    sql`
      SELECT s.row_no, CASE x.kind WHEN 'card' THEN 'cardNumbers' ELSE 'aliases' END, x.v, 'holder', h.id, h.display_name, h.email, h.source_type, h.source_name
      FROM import_rows s
      CROSS JOIN LATERAL (SELECT 'card' AS kind, v, v AS key FROM unnest(s.card_numbers) v UNION ALL SELECT 'alias', v, lower(v) FROM unnest(s.aliases) v) x
      CROSS JOIN LATERAL (
        SELECT h.* FROM user_identifiers i JOIN users h ON h.id = i.user_id
        WHERE i.workspace_id = ${workspaceId} AND i.kind = x.kind AND i.key = x.key LIMIT 1) h
      WHERE ${stagedIn(rows)} AND h.id IS DISTINCT FROM s.user_id`,
  ];
  const entraGroups = sql`
      SELECT s.row_no AS row_no, 'groups' AS field, n AS value, 'group' AS kind, g.id AS holder_id, g.name AS holder_name, NULL AS holder_email, g.source_type AS holder_source_type, g.source_name AS holder_source_name
      FROM import_rows s CROSS JOIN LATERAL unnest(s.groups) n
      JOIN groups g ON g.workspace_id = ${workspaceId} AND lower(g.name) = lower(n) AND g.source_type IN ('entra', 'scim')
      WHERE ${stagedIn(rows)} AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.member_user_id = s.user_id)`;
  const branches = [...(scope.users ? withUsers : []), ...(scope.entraGroups ? [entraGroups] : [])];
  if (branches.length === 0) return [];
  const { rows: clashes } = await sql<Clash>`
    SELECT * FROM (${sql.join(branches, sql` UNION ALL `)}) c
    ORDER BY row_no, field LIMIT ${limit}`.execute(db);
  return clashes;
}

/** A staged row of the run that matched a user: what it leaves that user holding (null: none). */
export interface HolderRow {
  row_no: number;
  user_id: string;
  card_numbers: string[] | null;
  aliases: string[] | null;
}

/**
 * The run's staged rows (of every batch staged so far) that describe the given users. One scan of the run's rows:
 * no index leads from a user to its staged row (migration 014), and this is asked only when some value is held.
 */
export async function holderRows(db: Db, runId: string, userIds: string[]): Promise<HolderRow[]> {
  if (userIds.length === 0) return [];
  const { rows } = await sql<HolderRow>`
    SELECT row_no, user_id, card_numbers, aliases FROM import_rows
    WHERE run_id = ${runId} AND user_id = ANY(${userIds}::uuid[])`.execute(db);
  return rows;
}

export async function dropRows(db: Db, runId: string, rowNumbers: number[]): Promise<void> {
  if (rowNumbers.length) await sql`DELETE FROM import_rows WHERE run_id = ${runId} AND row_no = ANY(${rowNumbers}::int[])`.execute(db);
}

/** Matched rows that carry a PIN, with the hash the user has now (to tell an unchanged PIN from a new one). */
export async function currentPinHashes(db: Db, runId: string, rowNumbers: number[]): Promise<Map<number, string | null>> {
  const { rows } = await sql<{ row_no: number; pin_hash: string | null }>`
    SELECT s.row_no, u.pin_hash FROM import_rows s JOIN users u ON u.id = s.user_id
    WHERE s.run_id = ${runId} AND s.row_no = ANY(${rowNumbers}::int[])`.execute(db);
  return new Map(rows.map((r) => [r.row_no, r.pin_hash]));
}

export async function setPinHashes(db: Db, runId: string, hashes: Map<number, string>): Promise<void> {
  const entries = [...hashes];
  for (let i = 0; i < entries.length; i += 5000) {
    const part = entries.slice(i, i + 5000);
    await sql`
      UPDATE import_rows s SET pin_hash = v.h FROM unnest(${part.map((e) => e[0])}::int[], ${part.map((e) => e[1])}::text[]) AS v(r, h)
      WHERE s.run_id = ${runId} AND s.row_no = v.r`.execute(db);
  }
}

export const systemTagList = ["Imported", "Manual", "ID synced"];

/** SQL expressions for a user's new value of each present column (s = staged row, u = user now). */
export function targetExpressions(present: Set<string>, sourceName: string): Record<string, RawBuilder<unknown>> {
  const out: Record<string, RawBuilder<unknown>> = {};
  for (const c of stagedColumns) {
    if (!present.has(c.field) || ["aliases", "card_numbers", "groups", "tags", "custom_attributes", "enabled"].includes(c.column)) continue;
    out[c.column] = c.kind === "array" ? sql`coalesce(s.${sql.raw(c.column)}, '{}')` : sql`s.${sql.raw(c.column)}`;
  }
  if (present.has("enabled")) out.enabled = sql`coalesce(s.enabled, u.enabled)`;
  if (present.has("customAttributes")) {
    out.custom_attributes = sql`(SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM jsonb_each(u.custom_attributes || coalesce(s.custom_attributes, '{}'::jsonb)) e(k, v) WHERE v <> '""'::jsonb)`;
  }
  // A row matched by its Rollcall id updates its user where it is: the user keeps its source, and its source's tag.
  const sourceTags = sql`CASE WHEN ${matchedById} THEN array(SELECT t FROM unnest(u.tags) t WHERE t = ANY(${systemTagList}::text[])) ELSE ARRAY['Imported']::text[] END`;
  out.tags = present.has("tags")
    ? sql`${sourceTags} || array(SELECT t FROM unnest(coalesce(s.tags, '{}')) t WHERE t <> ALL(${systemTagList}::text[]))`
    : sql`${sourceTags} || array(SELECT t FROM unnest(u.tags) t WHERE t <> ALL(${systemTagList}::text[]))`;
  out.source_type = sql`CASE WHEN ${matchedById} THEN u.source_type ELSE 'import' END`;
  out.source_name = sql`CASE WHEN ${matchedById} THEN u.source_name ELSE ${sourceName}::text END`;
  return out;
}

/** The synced users the staged updates change (their source and Entra object id), for the next sync to look at again. */
export function updatedSyncedUsers(rows: StagedRows): RawBuilder<unknown> {
  return sql`
    SELECT u.source_id, u.external_id AS id FROM import_rows s JOIN users u ON u.id = s.user_id
    WHERE ${stagedIn(rows)} AND s.action = 'update' AND u.source_type = 'entra' AND u.source_id IS NOT NULL AND u.external_id IS NOT NULL`;
}

/** A row matched by id to a user synced from Entra ID, and the fields it gives that the sync owns but differ. */
export interface KeptSyncedRow {
  row_no: number;
  fields: string[];
  holder_name: string;
  holder_email: string | null;
  source_name: string;
}

/**
 * Rows matched by their id to a user synced from Entra ID take the fields the sync owns (`owned`, of those in the
 * file) from the user as it is: the rest of the row (cards, PIN, tags…) is imported. Returns the rows that gave
 * another value for one of them, with those fields.
 */
export async function keepSyncedFields(db: Db, rows: StagedRows, present: Set<string>, owned: readonly string[]): Promise<KeptSyncedRow[]> {
  const columns = stagedColumns.filter((c) => owned.includes(c.field) && present.has(c.field));
  if (columns.length === 0) return [];
  const given = (c: StagedColumn) => (c.kind === "array" ? sql`coalesce(s.${sql.raw(c.column)}, '{}')` : sql`s.${sql.raw(c.column)}`);
  const differs = columns.map((c) => sql`CASE WHEN u.${sql.raw(c.column)} IS DISTINCT FROM ${given(c)} THEN ${c.field} END`);
  const { rows: kept } = await sql<KeptSyncedRow>`
    WITH kept AS (
      SELECT s.row_no, array_remove(ARRAY[${sql.join(differs)}]::text[], NULL) AS fields, u.display_name AS holder_name, u.email AS holder_email, u.source_name
      FROM import_rows s JOIN users u ON u.id = s.user_id
      WHERE ${stagedIn(rows)} AND ${matchedById} AND u.source_type IN ('entra', 'scim')
    ), reset AS (
      UPDATE import_rows s SET ${sql.join(columns.map((c) => sql`${sql.raw(c.column)} = u.${sql.raw(c.column)}`))}
      FROM users u WHERE ${stagedIn(rows)} AND ${matchedById} AND u.id = s.user_id AND u.source_type IN ('entra', 'scim')
    )
    SELECT * FROM kept WHERE cardinality(fields) > 0 ORDER BY row_no`.execute(db);
  return kept;
}

/**
 * Rows that give no name (staged as ''; see ImportedUser.displayName) take their matched user's, which is kept; those
 * that match no user would add one without a name: they are dropped, and their row numbers returned.
 */
export async function keepNamesOrDropUnnamed(db: Db, rows: StagedRows): Promise<number[]> {
  await sql`
    UPDATE import_rows s SET display_name = u.display_name FROM users u
    WHERE ${stagedIn(rows)} AND s.display_name = '' AND u.id = s.user_id`.execute(db);
  const { rows: dropped } = await sql<{ row_no: number }>`
    DELETE FROM import_rows s WHERE ${stagedIn(rows)} AND s.display_name = '' RETURNING s.row_no`.execute(db);
  return dropped.map((r) => r.row_no).sort((a, b) => a - b);
}

/** A group synced from Entra ID that a row matched by its id leaves out of its `groups` cell, though its user is a member. */
export interface KeptEntraGroup {
  row_no: number;
  group_name: string;
  source_name: string;
}

/** The memberships of groups synced from Entra ID that rows matched by their id no longer name: the update keeps them (leavesGroup). */
export async function keptEntraGroups(db: Db, rows: StagedRows): Promise<KeptEntraGroup[]> {
  const { rows: kept } = await sql<KeptEntraGroup>`
    SELECT s.row_no, g.name AS group_name, g.source_name
    FROM import_rows s JOIN group_members m ON m.member_user_id = s.user_id JOIN groups g ON g.id = m.group_id AND g.source_type IN ('entra', 'scim')
    WHERE ${stagedIn(rows)} AND ${matchedById} AND lower(g.name) <> ALL(SELECT lower(x) FROM unnest(coalesce(s.groups, '{}')) x)
    ORDER BY s.row_no, lower(g.name)`.execute(db);
  return kept;
}
