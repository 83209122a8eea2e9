import { sql, type RawBuilder } from "kysely";
import type { Db } from "../database.ts";
import { identifierList, userColumnList, userFields } from "../user-row.ts";
import { matchedById, stagedColumns, stagedIn, systemTagList, targetExpressions, type StagedRows } from "./imports.ts";
import { insertImportGroups } from "./import-new-users.ts";

/**
 * SQL: whether a row's update takes its user out of group `g` when the row does not name it: a group of this
 * import's source, or (a row matched by its id: an export edited) any group but one synced from Entra ID.
 */
function leavesGroup(sourceName: string): RawBuilder<boolean> {
  return sql<boolean>`(g.source_type NOT IN ('entra', 'scim') AND (coalesce(${matchedById}, false) OR (g.source_type = 'import' AND lower(g.source_name) = lower(${sourceName}))))`;
}

/**
 * Classification, preview and the set-based apply of a staged import, or of one batch of it (the rows
 * `from`–`to`). `present` = fields whose column is in the file.
 */
export interface ApplyTarget extends StagedRows {
  workspaceId: string;
  sourceName: string;
  present: Set<string>;
}

/**
 * Matched rows become update or unchanged (new rows were staged as creates with their id). Each user's
 * identifiers and group names are gathered by its own index lookups (LATERAL): a batch holds at most some
 * thousands of rows, and joins planned on statistics that an import's transaction has outdated (PGlite has no
 * autovacuum at all) ran for minutes.
 */
export async function classify(db: Db, t: ApplyTarget, matched: number): Promise<void> {
  if (matched === 0) return;
  const diffs = [...changeTests(t, "all"), sql`s.pin_hash IS NOT NULL`];
  await sql`
    UPDATE import_rows s SET action = CASE WHEN ${sql.join(diffs, sql` OR `)} THEN 'update' ELSE 'unchanged' END
    FROM users u ${heldLaterals(t)}
    WHERE ${stagedIn(t)} AND s.action IS NULL AND u.id = s.user_id`.execute(db);
}

/**
 * Rows of users added by hand or imported from another file that would change nothing of them but their source
 * (an export of the workspace imported back) are unchanged, not users to take over: marked so before the
 * clashes are looked for, they are no problem, and the users stay where they are (`--update-existing` takes them
 * over, as before). `pinRows`: rows giving a PIN, not hashed yet, which may change it.
 */
export async function markUnchangedElsewhere(db: Db, t: ApplyTarget, pinRows: number[]): Promise<void> {
  const tags = t.present.has("tags")
    ? [sql`array(SELECT x FROM unnest(u.tags) x WHERE x <> ALL(${systemTagList}::text[])) IS DISTINCT FROM array(SELECT x FROM unnest(coalesce(s.tags, '{}')) x WHERE x <> ALL(${systemTagList}::text[]))`]
    : [];
  const diffs = [...changeTests(t, "fields"), ...tags];
  await sql`
    UPDATE import_rows s SET action = 'unchanged'
    FROM users u ${heldLaterals(t)}
    WHERE ${stagedIn(t)} AND s.action IS NULL AND u.id = s.user_id AND u.source_type NOT IN ('entra', 'scim')
      AND NOT (u.source_type = 'import' AND lower(u.source_name) = lower(${t.sourceName}))
      AND s.row_no <> ALL(${pinRows}::int[])
      ${diffs.length ? sql`AND NOT (${sql.join(diffs, sql` OR `)})` : sql``}`.execute(db);
}

/** Whether a row changes its matched user: every field in the file, and (`all`) its source and tags too. */
function changeTests(t: ApplyTarget, scope: "all" | "fields"): RawBuilder<unknown>[] {
  const targets = Object.entries(targetExpressions(t.present, t.sourceName)).filter(([column]) => scope === "all" || !["source_type", "source_name", "tags"].includes(column));
  // Another owner's spelling of an address is kept: a row giving it in another case changes nothing of the user.
  const folded = (column: string) => scope === "fields" && (column === "email" || column === "user_principal_name");
  const diffs: RawBuilder<unknown>[] = targets.map(([column, target]) =>
    folded(column) ? sql`lower(u.${sql.raw(column)}) IS DISTINCT FROM lower(${target})` : sql`u.${sql.raw(column)} IS DISTINCT FROM ${target}`,
  );
  if (t.present.has("aliases")) diffs.push(sql`coalesce(ids.aliases, '{}') IS DISTINCT FROM coalesce(s.aliases, '{}')`);
  if (t.present.has("cardNumbers")) diffs.push(sql`coalesce(ids.cards, '{}') IS DISTINCT FROM coalesce(s.card_numbers, '{}')`);
  if (t.present.has("groups")) {
    const wanted = sql`array(SELECT lower(x) FROM unnest(coalesce(s.groups, '{}')) x)`;
    const leaving = sql`CASE WHEN ${matchedById} THEN grp.local ELSE grp.own END`;
    diffs.push(sql`NOT (${wanted} <@ coalesce(grp.names, '{}'))`, sql`NOT (coalesce(${leaving}, '{}') <@ ${wanted})`);
  }
  return diffs;
}

/** The matched user's identifiers and group names, for changeTests. */
function heldLaterals(t: ApplyTarget): RawBuilder<unknown> {
  return sql`
    CROSS JOIN LATERAL (
      SELECT array_agg(i.value ORDER BY i.position) FILTER (WHERE i.kind = 'alias') AS aliases,
             array_agg(i.value ORDER BY i.position) FILTER (WHERE i.kind = 'card') AS cards
      FROM user_identifiers i WHERE i.user_id = u.id) ids
    CROSS JOIN LATERAL (
      SELECT array_agg(lower(g.name)) AS names,
             array_agg(lower(g.name)) FILTER (WHERE g.source_type = 'import' AND lower(g.source_name) = lower(${t.sourceName})) AS own,
             array_agg(lower(g.name)) FILTER (WHERE g.source_type NOT IN ('entra', 'scim')) AS local
      FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_user_id = u.id) grp`;
}

function groupsOf(user: string): RawBuilder<string[]> {
  return sql<string[]>`array(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_user_id = ${sql.raw(user)}.id ORDER BY lower(g.name))`;
}

/** The compared fields as they are (before) and as the import makes them (after), keyed by public field name. */
function beforeAfter(t: ApplyTarget): { before: RawBuilder<unknown>; after: RawBuilder<unknown> } {
  const targets = targetExpressions(t.present, t.sourceName);
  const before: RawBuilder<unknown>[] = [];
  const after: RawBuilder<unknown>[] = [];
  for (const c of stagedColumns) {
    if (!t.present.has(c.field) || c.field === "tags") continue;
    const key = sql.lit(c.field);
    if (c.field === "aliases" || c.field === "cardNumbers") {
      before.push(key, identifierList(c.field === "aliases" ? "alias" : "card"));
      after.push(key, sql`coalesce(s.${sql.raw(c.column)}, '{}')`);
    } else if (c.field === "groups") {
      before.push(key, groupsOf("u"));
      after.push(key, sql`array(SELECT x FROM (
        SELECT g.name AS x FROM group_members m JOIN groups g ON g.id = m.group_id
        WHERE m.member_user_id = u.id AND NOT ${leavesGroup(t.sourceName)}
          AND lower(g.name) <> ALL(SELECT lower(y) FROM unnest(coalesce(s.groups, '{}')) y)
        UNION ALL SELECT coalesce((SELECT g.name FROM groups g WHERE g.workspace_id = u.workspace_id AND lower(g.name) = lower(n)), n)
        FROM unnest(coalesce(s.groups, '{}')) n) z ORDER BY lower(x))`);
    } else {
      before.push(key, sql`u.${sql.raw(c.column)}`);
      after.push(key, targets[c.column]!);
    }
  }
  if (t.present.has("pin")) {
    // A PIN is a secret: its change shows in words, never as a value or a hash. A row's pin_hash is set only for a
    // PIN that differs from the user's ("pending" in a dry run), so an unchanged one is null on both sides.
    before.push(sql.lit("pin"), sql`CASE WHEN s.pin_hash IS NOT NULL AND u.pin_hash IS NOT NULL THEN 'set' END`);
    after.push(sql.lit("pin"), sql`CASE WHEN s.pin_hash IS NOT NULL THEN 'changed' END`);
  }
  before.push(sql.lit("tags"), sql`u.tags`, sql.lit("source"), sql`u.source_type || ':' || u.source_name`);
  after.push(sql.lit("tags"), targets.tags!, sql.lit("source"), sql`${targets.source_type!} || ':' || ${targets.source_name!}`);
  return { before: sql`jsonb_build_object(${sql.join(before)})`, after: sql`jsonb_build_object(${sql.join(after)})` };
}

/**
 * A created user's stored columns from its staged row (s): a list not given is empty, enabled not given true, and
 * the custom attributes given blank are left out.
 */
const newUserValues: RawBuilder<unknown>[] = userFields.map(({ column, kind }) => {
  const staged = sql.raw(`s.${column}`);
  switch (kind) {
    case "text":
      return staged;
    case "list":
      return sql`coalesce(${staged}, '{}')`;
    case "bool":
      return sql`coalesce(${staged}, true)`;
    case "json":
      return sql`CASE WHEN ${staged} IS NULL THEN '{}'::jsonb
                ELSE (SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM jsonb_each(${staged}) e(k, v) WHERE v <> '""'::jsonb) END`;
  }
});

function createdJson(t: ApplyTarget): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  for (const c of stagedColumns) {
    if (t.present.has(c.field) || ["email", "userPrincipalName", "displayName"].includes(c.field)) parts.push(sql.lit(c.field), sql`s.${sql.raw(c.column)}`);
  }
  parts.push(sql.lit("source"), sql`'import:' || ${t.sourceName}::text`);
  return sql`json_build_object(${sql.join(parts)})`;
}

export async function countActions(db: Db, staged: StagedRows): Promise<Record<string, number>> {
  const { rows } = await sql<{ action: string; n: number }>`SELECT action, count(*)::int AS n FROM import_rows s WHERE ${stagedIn(staged)} GROUP BY action`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.action, r.n]));
}

export async function previewCreated(db: Db, runId: string, limit: number) {
  const { rows } = await sql<{ row: number; email: string | null; userPrincipalName: string | null; displayName: string }>`
    SELECT row_no AS row, email, user_principal_name AS "userPrincipalName", display_name AS "displayName"
    FROM import_rows WHERE run_id = ${runId} AND action = 'create' ORDER BY row_no LIMIT ${limit}`.execute(db);
  return rows;
}

export async function previewUpdated(db: Db, t: ApplyTarget, limit: number) {
  const { before, after } = beforeAfter(t);
  // LIMIT inside: the before/after subqueries then run for the listed rows only, not for every staged row before the sort.
  const { rows } = await sql<{ row: number; id: string; email: string | null; displayName: string; before: Record<string, unknown>; after: Record<string, unknown> }>`
    SELECT s.row_no AS row, u.id, u.email, u.display_name AS "displayName", ${before} AS before, ${after} AS after
    FROM (SELECT * FROM import_rows s WHERE ${stagedIn(t)} AND action = 'update' ORDER BY row_no LIMIT ${limit}) s
    JOIN users u ON u.id = s.user_id ORDER BY s.row_no`.execute(db);
  return rows;
}

/** `except`: rows that change their user's manager alone (counted as updates). */
export async function previewUnchanged(db: Db, runId: string, limit: number, except: number[] = []) {
  const { rows } = await sql<{ row: number; id: string; email: string | null; displayName: string }>`
    SELECT s.row_no AS row, u.id, u.email, u.display_name AS "displayName"
    FROM (SELECT row_no, user_id FROM import_rows WHERE run_id = ${runId} AND action = 'unchanged' ${except.length ? sql`AND row_no <> ALL(${except}::int[])` : sql``} ORDER BY row_no LIMIT ${limit}) s
    JOIN users u ON u.id = s.user_id ORDER BY s.row_no`.execute(db);
  return rows;
}

/**
 * Groups named in the file that do not exist yet (first spelling wins). Each spelling is taken once before
 * anything is compared: a batch names thousands of memberships but a few dozen groups. NOT IN hashes the
 * workspace's group names once (NOT EXISTS was planned, on PGlite, as one lookup per name).
 */
export async function plannedGroups(db: Db, t: ApplyTarget): Promise<string[]> {
  if (!t.present.has("groups")) return [];
  const { rows } = await sql<{ name: string }>`
    SELECT name FROM (
      SELECT DISTINCT ON (lower(n)) n AS name FROM (
        SELECT n, min(s.row_no) AS first_row FROM import_rows s CROSS JOIN LATERAL unnest(s.groups) n
        WHERE ${stagedIn(t)} AND s.action IN ('create', 'update') GROUP BY n) w
      WHERE lower(n) NOT IN (SELECT lower(g.name) FROM groups g WHERE g.workspace_id = ${t.workspaceId})
      ORDER BY lower(n), first_row) w
    ORDER BY lower(name)`.execute(db);
  return rows.map((r) => r.name);
}

/**
 * Statistics on what the first batches of an import wrote, inside its transaction (ANALYZE counts the rows
 * the transaction itself inserted): planned on statistics in which the workspace still looked empty, the
 * next batch's match against the users walked the whole batch for every user (minutes for 10,000 rows). User search
 * plans on those of search_text, the tag filter on those of tags.
 */
export async function analyzeApplied(db: Db): Promise<void> {
  await sql`analyze users (id, workspace_id, search_text, tags), user_identifiers (workspace_id, user_id), group_members (workspace_id, group_id, member_user_id)`.execute(db);
}

/** What the apply is writing, reported as each of its steps starts: `done` of `total` steps finished. */
export type ApplyStepReport = (done: number, total: number, step?: string) => void;

/**
 * Writes the whole plan. Call inside one transaction: either all of it lands or none. `planned` (from
 * countActions) lets it skip the statements with nothing to do: with no updates, the deletes that make
 * room for updated identifiers and memberships still cost seconds at 100k rows.
 */
export async function applyStaged(
  trx: Db,
  t: ApplyTarget,
  input: { sourceId: string; actor: string; newGroups: string[]; planned: Record<string, number> },
  onStep: ApplyStepReport = () => {},
): Promise<void> {
  const { workspaceId, sourceName } = t;
  const staged = stagedIn(t);
  const { sourceId, actor, newGroups } = input;
  const updates = (input.planned.update ?? 0) > 0;
  const writes = updates || (input.planned.create ?? 0) > 0;
  const steps: [label: string, run: () => Promise<unknown>][] = [];
  if (newGroups.length) steps.push(["groups", () => insertImportGroups(trx, { workspaceId, sourceName, sourceId, actor }, newGroups.map((name) => ({ name })))]);
  const { before, after } = beforeAfter(t);
  // The log keeps only the fields that change (as the report's diff does), not every column of the file;
  // a new PIN shows as "pin": "set" (if the user had one) → "changed", never the hash (see beforeAfter).
  const changed = (from: string, other: string) =>
    sql`coalesce((SELECT jsonb_object_agg(e.k, e.v) FROM jsonb_each(d.${sql.raw(from)}) e(k, v) WHERE e.v IS DISTINCT FROM d.${sql.raw(other)} -> e.k), '{}')`;
  const set = Object.entries(targetExpressions(t.present, sourceName)).map(([column, target]) => sql`${sql.raw(column)} = ${target}`);
  steps.push(["updates", async () => {
    if (!updates) return;
    // Logged first: the log's "before" is the row as it is now.
    await sql`
      INSERT INTO change_log (workspace_id, user_id, subject, action, before, after, actor)
      SELECT ${workspaceId}, d.id, d.subject, 'update', ${changed("before", "after")},
             ${changed("after", "before")}, ${actor}
      FROM (SELECT u.id, s.row_no, coalesce(s.email, s.user_principal_name, s.display_name) AS subject, ${before} AS before, ${after} AS after
            FROM import_rows s JOIN users u ON u.id = s.user_id WHERE ${staged} AND s.action = 'update') d
      ORDER BY d.row_no`.execute(trx);
    await sql`
      UPDATE users u SET ${sql.join(set)}, pin_hash = coalesce(s.pin_hash, u.pin_hash),
          source_id = CASE WHEN ${matchedById} THEN u.source_id ELSE ${sourceId}::uuid END, updated_at = now()
      FROM import_rows s WHERE ${staged} AND s.action = 'update' AND u.id = s.user_id`.execute(trx);
  }]);
  steps.push(["new users", () => sql`
    INSERT INTO users (id, workspace_id, ${userColumnList()}, pin_hash, source_type, source_name, source_id, tags)
    SELECT s.user_id, ${workspaceId}, ${sql.join(newUserValues)}, s.pin_hash, 'import', ${sourceName}, ${sourceId},
           CASE WHEN s.tags IS NULL THEN ARRAY['Imported']::text[] ELSE ARRAY['Imported']::text[] || array(SELECT t FROM unnest(s.tags) t WHERE t <> 'Imported') END
    FROM import_rows s WHERE ${staged} AND s.action = 'create'`.execute(trx)]);
  steps.push(["change log", () => sql`
    INSERT INTO change_log (workspace_id, user_id, subject, action, after, actor)
    SELECT ${workspaceId}, s.user_id, coalesce(s.email, s.user_principal_name, s.display_name), 'create', ${createdJson(t)}, ${actor}
    FROM import_rows s WHERE ${staged} AND s.action = 'create' ORDER BY s.row_no`.execute(trx)]);

  for (const [field, kind, column] of [["aliases", "alias", "aliases"], ["cardNumbers", "card", "card_numbers"]] as const) {
    if (!t.present.has(field)) continue;
    steps.push([field === "aliases" ? "aliases" : "cards", async () => {
      if (!writes) return;
      if (updates) await sql`DELETE FROM user_identifiers i USING import_rows s WHERE ${staged} AND s.action = 'update' AND i.user_id = s.user_id AND i.kind = ${kind}`.execute(trx);
      await sql`
        INSERT INTO user_identifiers (workspace_id, kind, key, value, user_id, position)
        SELECT ${workspaceId}, ${kind}, ${kind === "alias" ? sql`lower(a.v)` : sql`a.v`}, a.v, s.user_id, a.ord - 1
        FROM import_rows s CROSS JOIN LATERAL unnest(s.${sql.raw(column)}) WITH ORDINALITY a(v, ord)
        WHERE ${staged} AND s.action IN ('create', 'update')`.execute(trx);
    }]);
  }
  if (t.present.has("groups")) {
    steps.push(["memberships", async () => {
      if (!writes) return;
      if (updates) await sql`
        DELETE FROM group_members m USING import_rows s, groups g
        WHERE ${staged} AND s.action = 'update' AND m.member_user_id = s.user_id AND g.id = m.group_id
          AND ${leavesGroup(sourceName)}
          AND lower(g.name) <> ALL(SELECT lower(x) FROM unnest(coalesce(s.groups, '{}')) x)`.execute(trx);
      // New users cannot hold a membership yet (and names are de-duplicated per row), so only updates need ON CONFLICT.
      // The workspace's group names are lower-cased once (MATERIALIZED), and the rows' names unnested in the select
      // list: joined per row (LATERAL), each staged row hashed its names and lower-cased every group again
      // (100,000 rows into a workspace of 57 groups: 3.3 s of the server's time, 1.6 s now).
      const add = (action: "create" | "update") => sql`
        WITH g AS MATERIALIZED (SELECT id, lower(name) AS key FROM groups WHERE workspace_id = ${workspaceId})
        INSERT INTO group_members (workspace_id, group_id, member_user_id)
        SELECT ${workspaceId}::uuid, g.id, m.user_id
        FROM (SELECT s.user_id, lower(unnest(s.groups)) AS key FROM import_rows s WHERE ${staged} AND s.action = ${action}) m JOIN g ON g.key = m.key
        ${action === "update" ? sql`ON CONFLICT (group_id, member_user_id) WHERE member_user_id IS NOT NULL DO NOTHING` : sql``}`.execute(trx);
      await add("create");
      if (updates) await add("update");
    }]);
  }
  for (const [done, [label, run]] of steps.entries()) {
    onStep(done, steps.length, label);
    await run();
  }
  onStep(steps.length, steps.length);
}
