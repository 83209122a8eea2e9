import { sql } from "kysely";
import { RollcallError, invalidInput } from "../errors.ts";
import { composed, isSystemTag, maxUserTags, systemTags, userTag, type User } from "../domain/user.ts";
import { selectUsersByKeys, type UserFilter } from "../storage/queries/users.ts";
import * as selection from "../storage/queries/bulk-selection.ts";
import type { Db } from "../storage/database.ts";
import type { WorkspaceContext } from "./context.ts";
import { assertManual, getGroupRecord } from "./groups.ts";
import { subjectOf } from "./users.ts";
import { assertFilterNames, assertNestedHasGroup, namesSomething } from "./user-list.ts";
import { zodProblems } from "./context.ts";
import { maxBulkListed, maxBulkUsers, type BulkAction, type BulkResult } from "../domain/bulk.ts";
import type { GroupRecord } from "../domain/group.ts";

export interface BulkRequest {
  action: BulkAction;
  /** Ids, emails or user principal names; or, instead, */
  users?: string[] | undefined;
  /** every user the Users page's filters match (an empty filter: every user of the workspace). */
  filter?: UserFilter | undefined;
  /** The group, for addToGroup and removeFromGroup. */
  group?: string | undefined;
  /** The tag, for addTag and removeTag. */
  tag?: string | undefined;
}

/** What each action locks its users against: a delete against everything, a status change against other updates, a membership against deletes. */
const locks: Record<BulkAction, selection.SelectionLock> = {
  delete: "for update",
  disable: "for no key update",
  enable: "for no key update",
  addToGroup: "for key share",
  removeFromGroup: "for key share",
  addTag: "for no key update",
  removeTag: "for no key update",
};

/**
 * One transaction for the whole selection, so that it is never half-applied: the users are selected (by the
 * filter, evaluated in the transaction, or by the keys given) and locked, then changed, logged with the actor
 * and counted by set-based statements; a key that names no user stops it before anything is written.
 */
export async function bulkUsers(ctx: WorkspaceContext, request: BulkRequest): Promise<BulkResult> {
  if ((request.users === undefined) === (request.filter === undefined)) {
    throw invalidInput([{ field: "users", message: "give either the users (ids, emails or UPNs) or a filter that selects them, not both" }]);
  }
  if (request.filter) assertNestedHasGroup(request.filter);
  const needsGroup = request.action === "addToGroup" || request.action === "removeFromGroup";
  if (needsGroup && !request.group) throw invalidInput([{ field: "group", message: `name the group to ${request.action === "addToGroup" ? "add the users to" : "remove the users from"}` }]);
  const needsTag = request.action === "addTag" || request.action === "removeTag";
  const tag = needsTag ? checkedTag(request.tag, request.action === "addTag") : null;
  const listed = request.users ? await resolveUsers(ctx, request.users) : null;

  return ctx.db.transaction().execute(async (trx) => {
    const group = needsGroup ? await lockedGroup({ ...ctx, db: trx }, request.group!) : null;
    const lock = locks[request.action];
    const selected = listed ? await selection.selectListed(trx, ctx.workspace.id, listed.map((u) => u.id), lock) : await selection.selectMatching(trx, ctx.workspace.id, request.filter!, lock);
    if (!listed && selected === 0) {
      // A misspelt source, group or department says so, with the workspace's names, rather than "matches no user".
      if (namesSomething(request.filter!)) await assertFilterNames({ ...ctx, db: trx }, request.filter!);
      throw invalidInput([{ field: "filter", message: "matches no user; nothing was changed" }]);
    }
    if (request.action === "addTag") await assertRoomForTag(trx, tag!);
    const changed = await apply(trx, ctx, request.action, group, tag);

    const rows = await selection.selectedUsers(trx, listed ? maxBulkUsers : maxBulkListed);
    const base = { action: request.action, group: group?.name ?? null, tag, changed };
    if (!listed) return { ...base, unchanged: selected - changed, users: rows, more: selected - rows.length };
    // Named users are answered each, even one deleted meanwhile (not selected: unchanged).
    const changedIds = new Set(rows.filter((r) => r.changed).map((r) => r.id));
    const users = listed.map((u) => ({ id: u.id, subject: subjectOf(u), changed: changedIds.has(u.id) }));
    return { ...base, unchanged: listed.length - changed, users, more: 0 };
  });
}

/** Changes the selected users, logs each one changed, marks synced ones for the next sync; returns how many changed. */
async function apply(trx: Db, ctx: WorkspaceContext, action: BulkAction, group: GroupRecord | null, tag: string | null): Promise<number> {
  const entry = { workspaceId: ctx.workspace.id, actor: ctx.actor, groupId: group?.id ?? null };
  switch (action) {
    case "disable":
    case "enable": {
      const enabled = action === "enable";
      const changed = await selection.setEnabled(trx, enabled);
      await selection.markSelectedForNextSync(trx, { changedOnly: true });
      const state = (value: boolean) => sql`${JSON.stringify({ enabled: value })}::json`;
      await selection.logChanged(trx, { ...entry, action, before: state(!enabled), after: state(enabled) });
      return changed;
    }
    case "delete":
      await selection.markSelectedForNextSync(trx, { changedOnly: false });
      return selection.deleteSelected(trx, { ...entry, action: "delete" });
    case "addToGroup":
    case "removeFromGroup": {
      const changed = action === "addToGroup" ? await selection.addToGroup(trx, ctx.workspace.id, group!.id) : await selection.removeFromGroup(trx, group!.id);
      const none = sql`'null'::json`;
      await selection.logChanged(trx, { ...entry, action: `${action === "addToGroup" ? "add to" : "remove from"} group ${group!.name}`, before: none, after: none });
      return changed;
    }
    case "addTag":
    case "removeTag":
      // Tags are Rollcall's own, on synced users too: nothing for the next sync to set back.
      return selection.changeTag(trx, { tag: tag!, add: action === "addTag", workspaceId: ctx.workspace.id, actor: ctx.actor });
  }
}

/**
 * The tag to add or remove, by the rules a user's tags are edited by (trimmed, 1 to 64 characters). A source's
 * own tag is refused: editing a user keeps their source's and drops any other given, so adding or removing one
 * here would either do nothing or claim a source the user is not from.
 */
function checkedTag(given: string | undefined, adding: boolean): string {
  if (given === undefined) throw invalidInput([{ field: "tag", message: `enter the tag to ${adding ? "add" : "remove"}` }]);
  const parsed = userTag.safeParse(given);
  if (!parsed.success) throw invalidInput(zodProblems(parsed.error).map((p) => ({ ...p, field: "tag", value: given })));
  const tag = composed(parsed.data);
  if (isSystemTag(tag)) {
    const sources = `${systemTags.entra} for users synced from Entra ID, ${systemTags.import} for imported ones, ${systemTags.manual} for those added by hand`;
    throw invalidInput([{ field: "tag", message: `"${tag}" is a source's tag: Rollcall gives each user their source's (${sources}) and keeps it; it cannot be ${adding ? "added" : "removed"} by hand`, value: given }]);
  }
  return tag;
}

/** Adding the tag must not take any selected user past the most tags a user holds, as editing them would refuse. */
async function assertRoomForTag(trx: Db, tag: string): Promise<void> {
  const full = await selection.tagsFull(trx, tag, maxUserTags, Object.values(systemTags));
  if (full.count === 0) return;
  const named = full.subjects.join(", ") + (full.count > full.subjects.length ? ` and ${full.count - full.subjects.length} more` : "");
  throw invalidInput([{ field: "tag", message: `${full.count === 1 ? "1 selected user holds" : `${full.count} selected users hold`} ${maxUserTags} tags already, the most a user may have (${named}); remove one of theirs first. Nothing was changed`, value: tag }]);
}

/**
 * The group, held until the transaction ends so that it cannot be deleted under the action: one deleted while the
 * action waited for it is not found, and nothing is changed.
 */
async function lockedGroup(ctx: WorkspaceContext, key: string): Promise<GroupRecord> {
  const group = await getGroupRecord(ctx, key);
  assertManual(group);
  const held = await ctx.db.selectFrom("groups").select("id").where("id", "=", group.id).forKeyShare().executeTakeFirst();
  if (!held) throw new RollcallError("not_found", `No group "${key}" in workspace ${ctx.workspace.name} (it was deleted meanwhile); nothing was changed`, { resource: "group", key });
  return group;
}

/** Every key's user, each once, in the order given; all the keys that name none in one error. */
async function resolveUsers(ctx: WorkspaceContext, keys: string[]): Promise<User[]> {
  if (keys.length === 0) throw invalidInput([{ field: "users", message: "select at least one user" }]);
  if (keys.length > maxBulkUsers) throw invalidInput([{ field: "users", message: `at most ${maxBulkUsers} at once (${keys.length} given)` }]);
  const found = await selectUsersByKeys(ctx.db, ctx.workspace.id, keys);
  const missing = keys.filter((key) => !found.has(key));
  if (missing.length) {
    const shown = missing.slice(0, 5).map((k) => `"${k}"`).join(", ");
    throw new RollcallError("not_found", `No user ${shown}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""} in workspace ${ctx.workspace.name}; nothing was changed`, {
      resource: "user",
      keys: missing,
    });
  }
  const byId = new Map<string, User>();
  for (const key of keys) {
    const user = found.get(key)!;
    byId.set(user.id, user);
  }
  return [...byId.values()];
}
