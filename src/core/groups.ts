import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput, notFound } from "../errors.ts";
import { createGroupSchema, membersShownCap, updateGroupSchema, type Group, type GroupDetail, type GroupMember, type GroupRecord, type GroupWithMembers } from "../domain/group.ts";
import {
  countNestedUsers,
  logMembersLeaving,
  selectFirstMemberLabels,
  selectGroup,
  selectGroupMembers,
  selectGroupRecord,
  selectGroups,
  selectMemberLabels,
  selectParentNames,
  selectParents,
  wouldCreateCycle,
  type GroupFilter,
  type MemberCursor,
} from "../storage/queries/groups.ts";
import { selectUser } from "../storage/queries/users.ts";
import { deletedGroup, pageOfChanges, recordChange, recordChanges, type ChangeRecord, type DeletedGroup } from "./change-log.ts";
import { translateDatabaseError, zodProblems, type WorkspaceContext } from "./context.ts";
import { assertIfMatch, versionOf } from "./versions.ts";
import { isGuid } from "../domain/guid.ts";
import { isSyncedSourceType } from "../domain/user.ts";
import { assertFilterNames, manualSource, subjectOf, type SourceRef } from "./users.ts";

type ReadContext = Pick<WorkspaceContext, "db" | "workspace">;

/** A page of groups, each with its member count, not its members. */
export async function listGroups(ctx: ReadContext, filter: GroupFilter, page: { limit: number; offset: number }): Promise<{ items: Group[]; total: number }> {
  const found = await selectGroups(ctx.db, ctx.workspace.id, filter, page);
  // A misspelt source would read as "no groups", as on the users list: say so, when nothing matched.
  if (found.total === 0 && filter.source) await assertFilterNames(ctx, { source: filter.source });
  return found;
}

/**
 * Groups with all their direct members' labels: a page of them (`limit`), or every matching group (`limit: null`,
 * `groups list --json`). The members of the whole page are read in one statement, whatever the page's size.
 */
export async function listGroupsWithMembers(ctx: ReadContext, filter: GroupFilter, page: { limit: number | null; offset: number }): Promise<{ items: GroupWithMembers[]; total: number }> {
  const found = await selectGroups(ctx.db, ctx.workspace.id, filter, page);
  if (found.total === 0 && filter.source) await assertFilterNames(ctx, { source: filter.source });
  const ids = found.items.map((g) => g.id);
  const [labels, parents] = await Promise.all([selectMemberLabels(ctx.db, ctx.workspace.id, ids), selectParentNames(ctx.db, ctx.workspace.id, ids)]);
  return { items: found.items.map((g) => withMembers(g, labels.get(g.id) ?? [], parents.get(g.id) ?? [])), total: found.total };
}

/** The CLI's --json and the API answer `members` after memberCount, as they always did. */
function withMembers(group: Group, members: string[], memberOf: string[]): GroupWithMembers {
  const { memberCount, createdAt, updatedAt, ...rest } = group;
  return { ...rest, members, memberOf, memberCount, createdAt, updatedAt };
}

/** A group with its member count, not its members (a heading). */
export async function groupSummary(ctx: ReadContext, key: string): Promise<Group> {
  const group = await selectGroup(ctx.db, ctx.workspace.id, key);
  if (!group) throw notFound("group", key);
  return group;
}

/** A group's own row (rules, names, versions): nothing counted or listed. */
export async function getGroupRecord(ctx: ReadContext, key: string): Promise<GroupRecord> {
  const group = await selectGroupRecord(ctx.db, ctx.workspace.id, key);
  if (!group) throw notFound("group", key);
  return group;
}

/** A group with every direct member (the CLI's `groups show`, `include=members`): a group of 96,000 lists 96,000. */
export async function getGroup(ctx: ReadContext, key: string): Promise<GroupDetail> {
  return showGroup(ctx, key, { allMembers: true });
}

/**
 * A group as GET …/groups/{id} shows it: its first `membersShownCap` members (every member of most groups), or all of
 * them when asked; `memberCount` says whether there are more, and …/members pages them.
 */
export async function showGroup(ctx: ReadContext, key: string, options: { allMembers?: boolean } = {}): Promise<GroupDetail> {
  const group = await groupSummary(ctx, key);
  const members =
    options.allMembers || group.memberCount <= membersShownCap
      ? ((await selectMemberLabels(ctx.db, ctx.workspace.id, [group.id])).get(group.id) ?? [])
      : await selectFirstMemberLabels(ctx.db, ctx.workspace.id, group.id, membersShownCap);
  const memberOf = (await selectParentNames(ctx.db, ctx.workspace.id, [group.id])).get(group.id) ?? [];
  const { memberCount, createdAt, updatedAt, ...rest } = withMembers(group, members, memberOf);
  return { ...rest, memberCount, nestedUserCount: await countNestedUsers(ctx.db, group.id), createdAt, updatedAt };
}

/** A page of a group's direct members (GET …/groups/{id}/members): `next` is where the following page starts, null at the end. */
export interface MemberPage {
  items: GroupMember[];
  total: number;
  limit: number;
  next: string | null;
}

export async function groupMembers(ctx: ReadContext, key: string, page: { limit: number; after?: string | undefined; q?: string | undefined }): Promise<MemberPage> {
  const group = await getGroupRecord(ctx, key);
  const found = await selectGroupMembers(ctx.db, ctx.workspace.id, group.id, { limit: page.limit, after: page.after === undefined ? undefined : parseCursor(page.after), q: page.q });
  return { items: found.items, total: found.total, limit: page.limit, next: found.next && formatCursor(found.next) };
}

/** A members cursor is opaque to callers: the last member's sort key, as base64url JSON. */
function formatCursor(cursor: MemberCursor): string {
  return Buffer.from(JSON.stringify([cursor.kind, cursor.name, cursor.id])).toString("base64url");
}

function parseCursor(text: string): MemberCursor {
  try {
    const [kind, name, id] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if ((kind === "user" || kind === "group") && typeof name === "string" && typeof id === "string" && isGuid(id)) return { kind, name, id };
  } catch {
    // reported below
  }
  throw invalidInput([{ field: "after", message: "is not a cursor this list gave (use the `next` of the previous page)", value: text }]);
}

/**
 * A group and a page of its change log, newest first (its own changes and its members'), with how many entries there
 * are. A deleted group's history is kept: `group` is then null and `deleted` says which group it was.
 */
export interface GroupHistory {
  group: Group | null;
  deleted?: DeletedGroup;
  changes: ChangeRecord[];
  total: number;
}

export async function groupHistory(ctx: ReadContext, key: string, page: { limit: number; offset?: number; before?: string | undefined }): Promise<GroupHistory> {
  // The group with its count (a heading), not its members: a group of 96,000 reads its history as fast as one of 3.
  const group = await selectGroup(ctx.db, ctx.workspace.id, key);
  const deleted = group ? undefined : await deletedGroup(ctx.db, ctx.workspace.id, key);
  if (!group && !deleted) throw new RollcallError("not_found", `group "${key}" was not found, and no group deleted from this workspace had that id or name`, { resource: "group", key });
  const { items, total } = await pageOfChanges(ctx.db, ctx.workspace.id, { groupId: group?.id ?? deleted!.id }, page);
  return { group: group ?? null, ...(deleted && { deleted }), changes: items, total };
}

async function assertNameFree(ctx: ReadContext, name: string, exceptId: string | null): Promise<void> {
  const existing = await selectGroupRecord(ctx.db, ctx.workspace.id, name);
  if (existing && existing.id !== exceptId) {
    const { type, name: from } = existing.source;
    const origin = type === "entra" ? `synced from Entra ID source "${from}"` : type === "scim" ? `provisioned over SCIM by source "${from}"` : type === "import" ? `imported from "${from}"` : "added by hand";
    const message = `is another group's: "${existing.name}", ${origin}; choose another name`;
    throw new RollcallError("conflict", `name ${message} (group ${existing.id})`, { fields: [{ field: "name", message, value: name }] });
  }
}

export async function createGroup(ctx: WorkspaceContext, raw: unknown, source: SourceRef = manualSource): Promise<GroupDetail> {
  const parsed = createGroupSchema.safeParse(raw);
  if (!parsed.success) throw invalidInput(zodProblems(parsed.error));
  await assertNameFree(ctx, parsed.data.name, null);
  const id = await ctx.db
    .transaction()
    .execute(async (trx) => {
      const row = await trx
        .insertInto("groups")
        .values({
          workspace_id: ctx.workspace.id,
          name: parsed.data.name,
          description: parsed.data.description ?? null,
          source_type: source.type,
          source_name: source.name,
          source_id: source.id,
          external_id: source.externalId,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: row.id, subject: parsed.data.name, action: "create group", after: parsed.data });
      return row.id;
    })
    .catch(translateDatabaseError);
  return showGroup(ctx, id);
}

/** A group's version (ETag): what a change to it could overwrite (its members change through routes of their own). */
export function groupVersion(group: GroupRecord): string {
  return versionOf({ id: group.id, name: group.name, description: group.description, source: group.source });
}

/** `ifMatch`: the version the change was made on (If-Match); another one now is a 412, nothing changed. */
export async function updateGroup(ctx: WorkspaceContext, key: string, raw: unknown, options: { ifMatch?: string | undefined } = {}): Promise<GroupDetail> {
  const parsed = updateGroupSchema.safeParse(raw);
  if (!parsed.success) throw invalidInput(zodProblems(parsed.error));
  const before = await getGroupRecord(ctx, key);
  assertManual(before);
  if (parsed.data.name) await assertNameFree(ctx, parsed.data.name, before.id);
  await ctx.db.transaction().execute(async (trx) => {
    await trx.selectFrom("groups").select("id").where("id", "=", before.id).forUpdate().execute();
    const now = await selectGroupRecord(trx, ctx.workspace.id, before.id);
    if (options.ifMatch !== undefined) assertIfMatch(options.ifMatch, now ? groupVersion(now) : null, "group");
    if (!now) throw notFound("group", key);
    // A save that changes nothing (the console's Save on an untouched form) writes nothing and leaves no history entry.
    const changed = changedFields(now, parsed.data);
    if (Object.keys(changed.after).length === 0) return;
    await trx
      .updateTable("groups")
      .set({ ...changed.after, updated_at: sql`now()` })
      .where("id", "=", before.id)
      .execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, subject: now.name, action: "update group", before: changed.before, after: changed.after });
  });
  return showGroup(ctx, before.id);
}

/** The fields `input` changes on `group`: their values before and after (none when the input holds what the group has). */
function changedFields(group: Pick<GroupRecord, "name" | "description">, input: { name?: string | undefined; description?: string | null | undefined }) {
  const before: { name?: string; description?: string | null } = {};
  const after: { name?: string; description?: string | null } = {};
  if (input.name !== undefined && input.name !== group.name) [before.name, after.name] = [group.name, input.name];
  if (input.description !== undefined && (input.description || null) !== group.description) [before.description, after.description] = [group.description, input.description || null];
  return { before, after };
}

/** Answers the group as it was, as GET showed it (its history entry too: a group of 96,000 keeps its first members and its count). */
export async function deleteGroup(ctx: WorkspaceContext, key: string): Promise<GroupDetail> {
  const before = await showGroup(ctx, key);
  // The next sync would create it again under a new id (the console offers no Delete for it either).
  if (isSyncedSourceType(before.source.type)) {
    throw new RollcallError("invalid_input", `Group "${before.name}" is ${before.source.type === "scim" ? "provisioned over SCIM by" : "synced from Entra ID"} source "${before.source.name}"; delete it in Entra ID, or leave it out of the source's groups (the next sync would create it again)`, { field: "group" });
  }
  const reason = { reason: `group "${before.name}" was deleted` };
  await ctx.db.transaction().execute(async (trx) => {
    // Held first: a member being added meanwhile (it holds the group FOR KEY SHARE) is in, and logged, or waits and is not found.
    await trx.selectFrom("groups").select("id").where("id", "=", before.id).forUpdate().execute();
    const parents = await selectParents(trx, before.id);
    // Each member leaves it in its own history, written in one statement before its memberships go with the group.
    await logMembersLeaving(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, reason: reason.reason });
    await trx.deleteFrom("groups").where("id", "=", before.id).execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: before.id, subject: before.name, action: "delete group", before });
    // Each group it was in says so in its own history, as when a member is removed from it.
    await recordChanges(
      trx,
      parents.map((parent) => ({ workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: parent.id, memberGroupId: before.id, subject: before.name, action: `remove from group ${parent.name}`, after: reason })),
    );
  });
  return before;
}

/**
 * The member named by `key`: a user (id, email, UPN) or a group (id or name). A group named like an email that a user
 * holds too is either: refused, naming both ids, rather than one picked silently.
 */
async function resolveMember(ctx: ReadContext, key: string): Promise<{ kind: "user" | "group"; id: string; label: string }> {
  const [user, group] = await Promise.all([selectUser(ctx.db, ctx.workspace.id, key), selectGroupRecord(ctx.db, ctx.workspace.id, key)]);
  if (user && group) {
    const message = `names both the user ${subjectOf(user)} (id ${user.id}) and the group "${group.name}" (id ${group.id}); give the id of the one you mean`;
    throw invalidInput([{ field: "member", message, value: key }]);
  }
  if (user) return { kind: "user", id: user.id, label: subjectOf(user) };
  if (group) return { kind: "group", id: group.id, label: group.name };
  throw new RollcallError("not_found", `No user or group "${key}" in workspace ${ctx.workspace.name}`, { resource: "member", key });
}

/**
 * Adds a direct member; the answer is the group as GET shows it (its first members: cheap however big the group is),
 * and `added`: false when it was a member already (nothing changed).
 */
export async function addMember(ctx: WorkspaceContext, groupKey: string, memberKey: string): Promise<GroupDetail & { added: boolean }> {
  const group = await getGroupRecord(ctx, groupKey);
  assertManual(group);
  const member = await resolveMember(ctx, memberKey);
  const added = await ctx.db.transaction().execute(async (trx) => {
    await holdForMembership(trx, ctx, group, member);
    if (member.kind === "group") {
      // One nesting at a time in a workspace: two made at once ("A" into "B", "B" into "A") each passed the check alone.
      await sql`select pg_advisory_xact_lock(7302, hashtext(${ctx.workspace.id}::text))`.execute(trx);
      if (await wouldCreateCycle(trx, group.id, member.id)) {
        throw invalidInput([{ field: "member", message: `adding group "${member.label}" to "${group.name}" would make a group contain itself: "${member.label}" already holds "${group.name}", directly or through other groups`, value: memberKey }]);
      }
    }
    // Two admins adding the same member at once: the second finds it there (added: false) rather than failing.
    const inserted = await trx
      .insertInto("group_members")
      .values({ workspace_id: ctx.workspace.id, group_id: group.id, member_user_id: member.kind === "user" ? member.id : null, member_group_id: member.kind === "group" ? member.id : null })
      .onConflict((oc) => oc.doNothing())
      .returning("group_id")
      .executeTakeFirst();
    if (!inserted) return false;
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: group.id, ...memberIds(member), subject: member.label, action: `add to group ${group.name}` });
    return true;
  });
  return { ...(await showGroup(ctx, group.id)), added };
}

/**
 * The group and the member, held until the transaction ends so that neither can be deleted under the new membership
 * (its insert failed as an internal error): one deleted since it was looked up is not found, and nothing changes.
 */
async function holdForMembership(trx: Db, ctx: ReadContext, group: GroupRecord, member: { kind: "user" | "group"; id: string; label: string }): Promise<void> {
  const heldGroup = await trx.selectFrom("groups").select("id").where("id", "=", group.id).forKeyShare().executeTakeFirst();
  if (!heldGroup) throw new RollcallError("not_found", `No group "${group.name}" in workspace ${ctx.workspace.name} (it was deleted meanwhile); nothing was changed`, { resource: "group", key: group.name });
  const heldMember = await trx.selectFrom(member.kind === "user" ? "users" : "groups").select("id").where("id", "=", member.id).forKeyShare().executeTakeFirst();
  if (!heldMember) throw new RollcallError("not_found", `No ${member.kind} "${member.label}" in workspace ${ctx.workspace.name} (it was deleted meanwhile); nothing was changed`, { resource: "member", key: member.label });
}

export async function removeMember(ctx: WorkspaceContext, groupKey: string, memberKey: string): Promise<GroupDetail> {
  const group = await getGroupRecord(ctx, groupKey);
  assertManual(group);
  const member = await resolveMember(ctx, memberKey);
  const column = member.kind === "user" ? "member_user_id" : "member_group_id";
  const removed = await ctx.db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom("group_members").where("group_id", "=", group.id).where(column, "=", member.id).executeTakeFirst();
    if (Number(result.numDeletedRows ?? 0) === 0) return false;
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: group.id, ...memberIds(member), subject: member.label, action: `remove from group ${group.name}` });
    return true;
  });
  if (!removed) throw new RollcallError("not_found", `${member.label} is not a direct member of group "${group.name}"`, { resource: "membership" });
  return showGroup(ctx, group.id);
}

/** Who a membership entry is about besides its group: a user's or a member group's history reads it too. */
function memberIds(member: { kind: "user" | "group"; id: string }): { userId: string | null; memberGroupId: string | null } {
  return { userId: member.kind === "user" ? member.id : null, memberGroupId: member.kind === "group" ? member.id : null };
}

export function assertManual(group: GroupRecord): void {
  if (isSyncedSourceType(group.source.type)) {
    throw new RollcallError(
      "invalid_input",
      `Group "${group.name}" is ${group.source.type === "scim" ? "provisioned over SCIM by" : "synced from Entra ID"} source "${group.source.name}": its name, description and members are Entra ID's, and the next sync would undo a change made here. Change it in Entra ID, or create a group of your own (it may hold this one as a member)`,
      { field: "group" },
    );
  }
}
