import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { EntraConfig } from "../sources/entra/config.ts";
import { isIgnored, isSelected, planGroups, type GroupPlan, type HeldGroup, type SourceGroup } from "./plan-groups.ts";
import { attributePrefix, groupsNotInMirror, inScopeUsers, renamedSelections, wantedMemberships, type Touched } from "./scope.ts";
import { recordChange } from "../core/change-log.ts";
import { missingGroupsAdvice } from "../sources/entra/groups.ts";
import { adviceFor } from "../sources/entra/advice.ts";
import { manyRows } from "./merge.ts";
import { logGroupsDeletedBySync } from "../storage/queries/groups.ts";
import type { ApplyInput } from "./apply.ts";
import type { ChangeKind } from "../domain/change.ts";
import { keepDeletedGroups, rejoinParents, restoredGroupReason, takeKeptGroups } from "./deleted-groups.ts";

/**
 * The groups half of an apply, inside the applier's transaction: the source's groups as its group mode wants
 * them, then their direct memberships, diffed against what the directory holds.
 */
async function desiredGroups(trx: Db, sourceId: string, config: EntraConfig): Promise<SourceGroup[]> {
  const filter = { ignore: config.ignoreGroups, ignoreContaining: config.ignoreGroupsContaining };
  let groups: SourceGroup[] = [];
  if (config.groupMode === "attribute" && config.groupAttribute) {
    const path = config.groupAttribute.split(".");
    // Values that differ only by surrounding spaces or by case are one group, as group names are unique without
    // case (wantedMemberships joins the same way). It is named by its most common spelling, then the first in
    // code-point order. Its external id is the lower-cased value, or the one a group already held has.
    const { rows } = await sql<{ key: string; value: string; held: string | null }>`
      with v as (select trim(s.data #>> ${path}::text[]) as value from (${inScopeUsers(sourceId, config)}) s where nullif(trim(s.data #>> ${path}::text[]), '') is not null),
      spellings as (select lower(value) as key, value, count(*) as n from v group by value)
      select distinct on (key) key, value, (select min(g.external_id) from groups g where g.source_id = ${sourceId} and lower(g.external_id) = ${attributePrefix} || key) as held
      from spellings order by key, n desc, value collate "C"`.execute(trx);
    groups = rows.map((row) => ({ externalId: row.held ?? attributePrefix + row.key, name: row.value, description: `Users whose ${config.groupAttribute} is "${row.value}"` }));
  } else if (config.groupMode === "selected" || config.groupMode === "all") {
    const { rows } = await sql<{ id: string; data: { displayName: string | null; description: string | null } }>`select id, data from entra_groups where source_id = ${sourceId}`.execute(trx);
    const renamed = config.groupMode === "selected" ? new Map((await renamedSelections(trx, sourceId, config.groups)).map((r) => [r.externalId, r.heldName])) : new Map();
    groups = rows
      .filter((row) => row.data.displayName)
      .map((row) => ({ externalId: row.id, name: renamed.get(row.id) ?? row.data.displayName!.trim(), description: row.data.description ?? null }))
      .filter((g) => config.groupMode === "all" || isSelected(g, config.groups));
  }
  return groups.filter((g) => !isIgnored(g, filter)).sort((a, b) => (a.externalId < b.externalId ? -1 : 1));
}

/**
 * A warning on the run for each group the source syncs by name or ID that Entra ID does not have (misspelt,
 * renamed, deleted): the sync goes on without it, and says why it is missing. Returns how many.
 */
export async function logMissingGroups(trx: Db, input: ApplyInput): Promise<number> {
  if (input.config.groupMode !== "selected") return 0;
  const missing = await groupsNotInMirror(trx, input.source.id, input.config.groups);
  const renamed = new Map((await renamedSelections(trx, input.source.id, input.config.groups)).map((r) => [r.selected, r]));
  for (const name of missing) {
    const r = renamed.get(name);
    const message = adviceFor(r
      ? `Entra group "${name}" was renamed there to "${r.entraName}"; it is still synced by its object ID ${r.externalId}, under its old name. Update the source's groups to name it again (rollcall sources update NAME --group-mode selected --groups "…", or the source's settings in the console).`
      : missingGroupsAdvice([name], ["synced"]), { name: input.source.name, workspace: input.workspaceName ?? "default" });
    await recordChange(trx, { workspaceId: input.workspaceId, runId: input.runId, actor: input.actor, subject: name, action: "warning", after: { messages: [message] } });
  }
  return missing.length;
}

export async function applyGroups(trx: Db, input: ApplyInput): Promise<GroupPlan["counts"]> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const desired = await desiredGroups(trx, source.id, input.config);
  const held = (await trx.selectFrom("groups").select(["id", "external_id", "name", "description"]).where("source_id", "=", source.id).execute()).map(
    (g): HeldGroup => ({ id: g.id, externalId: g.external_id ?? "", name: g.name, description: g.description }),
  );
  const others = await trx.selectFrom("groups").select(["id", "external_id", "name", "description", "source_id"]).where("workspace_id", "=", ws).where((eb) => eb.or([eb("source_id", "is", null), eb("source_id", "<>", source.id)])).execute();
  // Groups kept when their source was removed: the Entra group with their object ID takes them back.
  const wanted = new Set(desired.map((g) => g.externalId));
  const formers = others.filter((g) => g.source_id === null && g.external_id !== null && wanted.has(g.external_id)).map((g): HeldGroup => ({ id: g.id, externalId: g.external_id!, name: g.name, description: g.description }));
  const formerIds = new Set(formers.map((g) => g.id));
  const plan = planGroups({ desired, held, formers, otherNames: new Set(others.filter((g) => !formerIds.has(g.id)).map((g) => g.name.toLowerCase())) });
  const log = (groupId: string | null, subject: string, action: ChangeKind, before: unknown, after: unknown) => ({
    workspace_id: ws, run_id: r, group_id: groupId, subject, action, before: JSON.stringify(before ?? null), after: JSON.stringify(after ?? null), actor,
  });
  const logs: ReturnType<typeof log>[] = [];
  // Names that move between groups (two groups swapping names) are freed first: a placeholder no one can
  // hold, then the final names below.
  const renamed = plan.changes.flatMap((c) => (c.action === "update" && c.name.toLowerCase() !== c.before.name.toLowerCase() ? [c.id] : []));
  if (renamed.length) await sql`update groups set name = chr(1) || 'renaming ' || id where id = any(${renamed}::uuid[])`.execute(trx);
  const deleted = plan.changes.flatMap((c) => (c.action === "delete" ? [c.id] : []));
  if (deleted.length) await logGroupsDeletedBySync(trx, { workspaceId: ws, runId: r, actor, groupIds: deleted, sourceName: source.name });
  // Synced by object id, a group Entra ID deleted may be restored there: kept, before its memberships go with it.
  await keepDeletedGroups(trx, source.id, input.config.groupMode === "attribute" ? [] : deleted);
  for (const c of plan.changes) {
    if (c.action === "delete") {
      await trx.deleteFrom("groups").where("id", "=", c.id).execute();
      logs.push(log(c.id, c.name, "delete group", c.before, null));
    } else if (c.action === "update") {
      const link = c.link && { source_type: "entra" as const, source_name: source.name, source_id: source.id };
      await trx.updateTable("groups").set({ name: c.name, description: c.description, updated_at: sql`now()`, ...link }).where("id", "=", c.id).execute();
      logs.push(log(c.id, c.name, c.link ? "link group" : "update group", c.before, { name: c.name, description: c.description }));
    } else if (c.action === "conflict") logs.push(log(null, c.name, "conflict", null, { externalId: c.externalId, message: c.message }));
  }
  const creates = plan.changes.filter((c) => c.action === "create");
  const restored: { id: string; name: string; memberOf: string[] }[] = [];
  for (let at = 0; at < creates.length; at += 500) {
    const batch = creates.slice(at, at + 500);
    // Restored in Entra ID: the same group again, under the id (and creation time) it had.
    const kept = input.config.groupMode === "attribute" ? new Map() : await takeKeptGroups(trx, source.id, batch.map((c) => c.externalId));
    const rows = await trx
      .insertInto("groups")
      .values(batch.map((c) => {
        const back = kept.get(c.externalId);
        return { ...(back && { id: back.groupId, created_at: back.createdAt }), workspace_id: ws, name: c.name, description: c.description, source_type: "entra" as const, source_name: source.name, source_id: source.id, external_id: c.externalId };
      }))
      .returning(["id", "name", "description", "external_id"])
      .execute();
    const replaced = await replacedGroups(trx, source.id, rows.filter((g) => !kept.has(g.external_id ?? "")).map((g) => g.external_id ?? ""));
    for (const g of rows) {
      const back = kept.get(g.external_id ?? "");
      if (back) {
        restored.push({ id: g.id, name: g.name, memberOf: back.memberOf });
        logs.push(log(g.id, g.name, "restore group", null, { name: g.name, description: g.description, externalId: g.external_id, reason: restoredGroupReason }));
        continue;
      }
      const replaces = replaced.get(g.external_id ?? "");
      logs.push(log(g.id, g.name, "create group", null, { name: g.name, description: g.description, ...(replaces && { replaces: { ...replaces, source: source.name } }) }));
    }
  }
  for (let at = 0; at < logs.length; at += 500) await trx.insertInto("change_log").values(logs.slice(at, at + 500)).execute();
  await rejoinParents(trx, { workspaceId: ws, runId: r, actor }, restored);
  return plan.counts;
}

/**
 * For groups about to be created, by external id, the newest group of the source that a run deleted with the same
 * one: a group deleted in Entra ID and restored there (or back in the source's groups) comes back under a new id,
 * its history staying with the old one (as replacedUsers in apply.ts). Synced groups are deleted by runs only
 * (core/groups.ts refuses), so the source is the run's. Only runs that deleted groups are read (their counts say so),
 * not every entry of the source's runs.
 */
async function replacedGroups(trx: Db, sourceId: string, externalIds: string[]): Promise<Map<string, { id: string; deletedAt: string; deletedBy: string }>> {
  const { rows } = await sql<{ externalId: string; id: string; deletedAt: string; deletedBy: string }>`
    select distinct on (d.before->>'externalId') d.before->>'externalId' as "externalId", d.group_id as id,
      to_char(d.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "deletedAt", d.actor as "deletedBy"
    from sync_runs s join change_log d on d.run_id = s.id
    where s.source_id = ${sourceId} and not s.dry_run and coalesce((s.counts->>'groupsDeleted')::int, 0) > 0
      and d.action = 'delete group' and d.group_id is not null and d.before->>'externalId' = any(${externalIds}::text[])
    order by d.before->>'externalId', d.id desc`.execute(trx);
  return new Map(rows.map(({ externalId, ...r }) => [externalId, r]));
}

/** `created`: users and groups this apply created. */
export async function applyMemberships(trx: Db, input: ApplyInput, created: number): Promise<{ added: number; removed: number; newMembers: string }> {
  const { runId: r, workspaceId: ws, source, actor } = input;
  const s = source.id;
  // Users and groups created by the thousand need fresh statistics, or the diff below runs as nested loops
  // (PGlite has no autovacuum to catch up); user search needs them of search_text, or it sorts every user a common
  // term matches for a page of 50, and the source's tag filter those of tags (migration 045), for the same reason.
  if (created >= manyRows) await sql`analyze users (id, workspace_id, source_id, external_id, search_text, tags), groups (id, workspace_id, source_id, external_id), group_members`.execute(trx);
  // A source's first run holds no memberships: everything it wants is new. Later runs, full or delta, look
  // at what they touched (a full listing marks every group whose members changed as dirty).
  const holdsAny = (await sql`select 1 from group_members gm join groups g on g.id = gm.group_id where g.source_id = ${s} limit 1`.execute(trx)).rows.length > 0;
  const touched = holdsAny && input.config.users === "all" ? await touchedByRun(trx, s, r) : undefined;
  // One uuid column for the member (user and group ids never collide) so both diffs are plain hash anti-joins.
  await sql`create temp table want_members on commit drop as
    select distinct w.group_id, w.member_user_id, w.member_group_id, coalesce(w.member_user_id, w.member_group_id) as member_id
    from (${wantedMemberships(s, input.config, touched)}) w`.execute(trx);
  const held = touched
    ? sql`(select gm.* from group_members gm join touched_groups t on gm.group_id = t.id
        union select gm.* from group_members gm join touched_users t on gm.member_user_id = t.id
        union select gm.* from group_members gm join touched_groups t on gm.member_group_id = t.id)`
    : sql`group_members`;
  await sql`create temp table have_members on commit drop as
    select gm.group_id, gm.member_user_id, gm.member_group_id, coalesce(gm.member_user_id, gm.member_group_id) as member_id
    from ${held} gm join groups g on g.id = gm.group_id where g.source_id = ${s}`.execute(trx);
  await sql`analyze want_members`.execute(trx);
  await sql`analyze have_members`.execute(trx);
  await sql`create temp table gone_members on commit drop as
    select h.* from have_members h where not exists (select 1 from want_members w where w.group_id = h.group_id and w.member_id = h.member_id)`.execute(trx);
  const newMembers = holdsAny ? "new_members" : "want_members";
  if (holdsAny) {
    await sql`create temp table new_members on commit drop as
      select w.* from want_members w where not exists (select 1 from have_members h where h.group_id = w.group_id and h.member_id = w.member_id)`.execute(trx);
  }
  const label = sql.raw(`coalesce(u.email, u.user_principal_name, u.display_name, c.name, 'deleted member')`);
  // Rows written in index order (member, then group), not in hash order: a replay of 290,000 took 1.2 s against 2.2 s.
  // A member group's history reads the entry too (member_group_id), as a member user's does (user_id).
  const log = (table: string, verb: "remove from group " | "add to group ", where = sql``) => sql`insert into change_log (workspace_id, run_id, user_id, group_id, member_group_id, subject, action, before, after, actor)
    select ${ws}, ${r}, x.member_user_id, x.group_id, x.member_group_id, ${label}, ${verb} || g.name, null, null, ${actor}
    from ${sql.table(table)} x join groups g on g.id = x.group_id left join users u on u.id = x.member_user_id left join groups c on c.id = x.member_group_id
    ${where} order by x.member_id, x.group_id`;
  await log("gone_members", "remove from group ").execute(trx);
  const removed = await sql`delete from group_members gm using gone_members x
    where gm.group_id = x.group_id and (gm.member_user_id = x.member_user_id or gm.member_group_id = x.member_group_id)`.execute(trx);
  const added = await sql`insert into group_members (workspace_id, group_id, member_user_id, member_group_id)
    select ${ws}, group_id, member_user_id, member_group_id from ${sql.table(newMembers)} order by group_id, member_id`.execute(trx);
  // Users created by this run carry their groups in their "create" entry (logCreatedUsers).
  await log(newMembers, "add to group ", sql`where not exists (select 1 from created_users n where n.id = x.member_user_id)`).execute(trx);
  const counts = { added: Number(added.numAffectedRows ?? 0), removed: Number(removed.numAffectedRows ?? 0) };
  // The next run plans its joins on these statistics: PGlite never refreshes them by itself.
  if (counts.added + counts.removed >= manyRows) await sql`analyze group_members, change_log (workspace_id, run_id, user_id, group_id)`.execute(trx);
  return { ...counts, newMembers };
}

/**
 * What a run can have changed memberships of (users scoped as "all"): groups whose mirror row is dirty or
 * that this transaction created or renamed, and users this run planned or whose mirror row is dirty or
 * departed. Every other membership is as the last run left it.
 */
async function touchedByRun(trx: Db, s: string, r: string): Promise<Touched> {
  await sql`create temp table touched_groups on commit drop as
    select g.id, g.external_id from groups g where g.source_id = ${s}
      and (g.updated_at = now() or g.external_id in (select e.id from entra_groups e where e.source_id = ${s} and e.dirty))`.execute(trx);
  await sql`create temp table touched_users on commit drop as
    select u.id, u.external_id from users u join (
        select external_id as id from sync_plan_users where run_id = ${r} and external_id is not null
        union select id from entra_dirty_users where source_id = ${s}
        union select id from entra_departed where source_id = ${s}) t on u.external_id = t.id
    where u.source_id = ${s}`.execute(trx);
  await sql`analyze touched_groups`.execute(trx);
  await sql`analyze touched_users`.execute(trx);
  return { groups: "touched_groups", users: "touched_users" };
}
