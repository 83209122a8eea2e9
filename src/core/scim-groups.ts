import { sql, type SqlBool } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput, type FieldProblem } from "../errors.ts";
import { isGuid } from "../domain/guid.ts";
import { createGroupSchema } from "../domain/group.ts";
import { recordChange, recordChanges, type ChangeEntry } from "./change-log.ts";
import { logMembersLeaving, selectGroupRecord, selectParents, wouldCreateCycle } from "../storage/queries/groups.ts";
import { translateDatabaseError, zodProblems } from "./context.ts";
import { changeLocked, withSourceShared, type ScimContext } from "./scim-users.ts";
import { parseFilter } from "../sources/scim/filter.ts";
import { applyPatch, parsePatch } from "../sources/scim/patch.ts";
import { groupFromScim, scimGroup, type ScimGroupRecord, type ScimMember } from "../sources/scim/resources.ts";

/**
 * Groups pushed to a SCIM source: their name (displayName), externalId and members, which must be users or groups
 * of the same source. Every change is in the history, memberships as "add to group NAME" / "remove from group NAME".
 */
/** What groups are looked up by: displayName (Entra ID's matching attribute), externalId, id, and a member's id. */
export const scimGroupFilters = ["displayName", "externalId", "id", "members", "members.value"] as const;

const groupMatch = (attribute: string, value: string) => {
  const member = sql<SqlBool>`exists (select 1 from group_members m where m.group_id = g.id and (m.member_user_id::text = ${value.toLowerCase()} or m.member_group_id::text = ${value.toLowerCase()}))`;
  return ({ displayName: sql<SqlBool>`lower(g.name) = lower(${value})`, externalId: sql<SqlBool>`g.external_id = ${value}`, id: sql<SqlBool>`g.id::text = ${value.toLowerCase()}`, members: member, "members.value": member })[attribute]!;
};

export const groupLocation = (ctx: ScimContext, id: string) => `${ctx.baseUrl.replace(/\/+$/, "")}/scim/v2/Groups/${id}`;

export async function groupResource(ctx: ScimContext, group: ScimGroupRecord, withMembers: boolean): Promise<Record<string, unknown>> {
  return scimGroup(group, withMembers ? await membersOf(ctx.db, group.id) : null, { location: groupLocation(ctx, group.id) });
}

function records(db: Db) {
  return db.selectFrom("groups as g").select(["g.id", "g.name", "g.external_id", "g.created_at", "g.updated_at"]);
}

const toRecord = (r: { id: string; name: string; external_id: string | null; created_at: Date; updated_at: Date }): ScimGroupRecord => ({
  id: r.id, name: r.name, externalId: r.external_id, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
});

export async function sourceGroup(ctx: ScimContext, id: string): Promise<ScimGroupRecord> {
  const row = isGuid(id) ? await records(ctx.db).where("g.id", "=", id).where("g.source_id", "=", ctx.source.id).executeTakeFirst() : undefined;
  if (!row) throw new RollcallError("not_found", `Group ${id} not found: it is not one this source provisioned (or it was deleted)`, { resource: "group", key: id });
  return toRecord(row);
}

/** A member as SCIM lists it, and as the history names it (a user's email, else UPN, else name; a group's name). */
type Member = ScimMember & { label: string };

async function membersOf(db: Db, groupId: string): Promise<Member[]> {
  const { rows } = await sql<{ id: string; display: string; label: string; kind: "user" | "group" }>`
    select coalesce(u.id, g.id) as id, coalesce(u.display_name, g.name) as display, coalesce(u.email, u.user_principal_name, u.display_name, g.name) as label,
      case when u.id is null then 'group' else 'user' end as kind
    from group_members m left join users u on u.id = m.member_user_id left join groups g on g.id = m.member_group_id
    where m.group_id = ${groupId} order by 2, 1`.execute(db);
  return rows.map((r) => ({ value: r.id, display: r.display, label: r.label, type: r.kind === "user" ? "User" : "Group" }));
}

export async function listScimGroups(ctx: ScimContext, query: { filter?: string | undefined; startIndex: number; count: number }): Promise<{ groups: ScimGroupRecord[]; total: number }> {
  let where = sql<SqlBool>`g.workspace_id = ${ctx.workspace.id} and g.source_id = ${ctx.source.id}`;
  for (const { attribute, value } of query.filter ? parseFilter(query.filter, scimGroupFilters) : []) where = sql<SqlBool>`${where} and ${groupMatch(attribute, value)}`;
  const { total } = await ctx.db.selectFrom("groups as g").select(sql<number>`count(*)::int`.as("total")).where(where).executeTakeFirstOrThrow();
  if (query.count === 0) return { groups: [], total };
  const rows = await records(ctx.db).where(where).orderBy("g.created_at").orderBy("g.id").offset(query.startIndex - 1).limit(query.count).execute();
  return { groups: rows.map(toRecord), total };
}

/** The body's name and members checked: a name free in the workspace, members that are the source's own. */
async function checked(ctx: ScimContext, body: unknown, self: string | null): Promise<{ name: string; externalId: string | null; members: Map<string, { kind: "user" | "group"; label: string }> }> {
  const input = groupFromScim(body);
  const problems: FieldProblem[] = [...input.problems];
  const parsed = input.name === null ? null : createGroupSchema.safeParse({ name: input.name });
  if (parsed && !parsed.success) problems.push(...zodProblems(parsed.error).map((p) => ({ ...p, field: "displayName" })));
  const ids = input.members.filter(isGuid);
  const { rows } = ids.length
    ? await sql<{ id: string; kind: "user" | "group"; label: string }>`
        select id, 'user' as kind, coalesce(email, user_principal_name, display_name) as label from users where id = any(${ids}::uuid[]) and source_id = ${ctx.source.id}
        union all select id, 'group', name from groups where id = any(${ids}::uuid[]) and source_id = ${ctx.source.id}`.execute(ctx.db)
    : { rows: [] };
  const members = new Map(rows.map((r) => [r.id, { kind: r.kind, label: r.label }]));
  input.members.forEach((id, index) => {
    if (!members.has(id.toLowerCase())) problems.push({ field: `members[${index}].value`, message: `"${id}" is not a user or group provisioned by source "${ctx.source.name}": a group's members are its own source's`, value: id });
    else if (id.toLowerCase() === self) problems.push({ field: `members[${index}].value`, message: "a group cannot be a member of itself", value: id });
  });
  if (problems.length) throw invalidInput(problems);
  const name = parsed!.success ? parsed!.data.name : input.name!;
  const taken = await selectGroupRecord(ctx.db, ctx.workspace.id, name);
  if (taken && taken.id !== self) {
    const whose = taken.source.type === "scim" && taken.source.name === ctx.source.name ? "this source's group" : `a group of ${taken.source.type} source "${taken.source.name}"`;
    throw new RollcallError("conflict", `displayName "${name}" is already ${whose} (${taken.id}): group names are unique in a workspace`, { scimType: "uniqueness" });
  }
  return { name, externalId: input.externalId, members };
}

/** Adds and removes the group's members to match `wanted`, each change in the history. */
async function setMembers(trx: Db, ctx: ScimContext, group: { id: string; name: string }, wanted: Map<string, { kind: "user" | "group"; label: string }>): Promise<void> {
  const current = new Map((await membersOf(trx, group.id)).map((m) => [m.value, m]));
  const entry = (id: string, kind: "user" | "group", label: string, verb: "add to group" | "remove from group"): ChangeEntry => ({
    workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: group.id, subject: label, action: `${verb} ${group.name}`, ...(kind === "user" ? { userId: id } : { memberGroupId: id }),
  });
  const gone = [...current.values()].filter((m) => !wanted.has(m.value));
  for (const m of gone) {
    await trx.deleteFrom("group_members").where("group_id", "=", group.id).where(m.type === "User" ? "member_user_id" : "member_group_id", "=", m.value).execute();
  }
  const added = [...wanted].filter(([id]) => !current.has(id));
  for (const [id, member] of added) {
    if (member.kind === "group" && (await wouldCreateCycle(trx, group.id, id))) {
      throw invalidInput([{ field: "members", message: `adding group "${member.label}" to "${group.name}" would make a group contain itself`, value: id }]);
    }
    await trx.insertInto("group_members").values({ workspace_id: ctx.workspace.id, group_id: group.id, member_user_id: member.kind === "user" ? id : null, member_group_id: member.kind === "group" ? id : null }).onConflict((oc) => oc.doNothing()).execute();
  }
  await recordChanges(trx, [
    ...gone.map((m) => entry(m.value, m.type === "User" ? "user" : "group", m.label, "remove from group")),
    ...added.map(([id, m]) => entry(id, m.kind, m.label, "add to group")),
  ]);
}

export async function createScimGroup(ctx: ScimContext, body: unknown): Promise<ScimGroupRecord> {
  const { name, externalId, members } = await checked(ctx, body, null);
  const id = await ctx.db
    .transaction()
    .execute(async (trx) => {
      const now = await withSourceShared(trx, ctx);
      const row = await trx
        .insertInto("groups")
        .values({ workspace_id: ctx.workspace.id, name, description: null, source_type: "scim", source_name: now.source.name, source_id: ctx.source.id, external_id: externalId })
        .returning("id")
        .executeTakeFirstOrThrow();
      await recordChange(trx, { workspaceId: ctx.workspace.id, actor: now.actor, groupId: row.id, subject: name, action: "create group", after: { name, externalId } });
      await setMembers(trx, now, { id: row.id, name }, members);
      return row.id;
    })
    .catch(translateDatabaseError);
  return sourceGroup(ctx, id);
}

/** PUT /Groups/{id}: its name, externalId and members become the body's (members left out: none). */
export async function replaceScimGroup(ctx: ScimContext, id: string, body: unknown): Promise<ScimGroupRecord> {
  return withGroupLocked(ctx, id, async (locked, before) => saveGroup(locked, before, body));
}

/** PATCH /Groups/{id}: the operations applied to the group with all its members, then saved as a PUT of the result. */
export async function patchScimGroup(ctx: ScimContext, id: string, body: unknown): Promise<ScimGroupRecord> {
  const operations = parsePatch(body);
  return withGroupLocked(ctx, id, async (locked, before) => saveGroup(locked, before, applyPatch(await groupResource(locked, before, true), operations)));
}

async function withGroupLocked(ctx: ScimContext, id: string, change: (locked: ScimContext, before: ScimGroupRecord) => Promise<void>): Promise<ScimGroupRecord> {
  return sourceGroup(ctx, await changeLocked(ctx, "groups", id, sourceGroup, change));
}

/** Writes the body over the group (in the caller's transaction): its name and externalId, then its members. */
async function saveGroup(ctx: ScimContext, before: ScimGroupRecord, body: unknown): Promise<void> {
  const { name, externalId, members } = await checked(ctx, body, before.id);
  const trx = ctx.db;
  const changed = name !== before.name || (externalId ?? before.externalId) !== before.externalId;
  if (changed) {
    await trx.updateTable("groups").set({ name, external_id: externalId ?? before.externalId, updated_at: sql`now()` }).where("id", "=", before.id).execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, subject: name, action: "update group", before: { name: before.name, externalId: before.externalId }, after: { name, externalId: externalId ?? before.externalId } });
  }
  await setMembers(trx, ctx, { id: before.id, name }, members);
}

export async function deleteScimGroup(ctx: ScimContext, id: string): Promise<void> {
  const before = await sourceGroup(ctx, id);
  const reason = `group "${before.name}" was deleted in Entra ID (SCIM source "${ctx.source.name}")`;
  await ctx.db.transaction().execute(async (trx) => {
    await trx.selectFrom("groups").select("id").where("id", "=", before.id).forUpdate().execute();
    const parents = await selectParents(trx, before.id);
    await logMembersLeaving(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, reason });
    await trx.deleteFrom("groups").where("id", "=", before.id).execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, subject: before.name, action: "delete group", before: { name: before.name, externalId: before.externalId } });
    await recordChanges(trx, parents.map((parent) => ({ workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: parent.id, memberGroupId: before.id, subject: before.name, action: `remove from group ${parent.name}`, after: { reason } })));
  });
}
