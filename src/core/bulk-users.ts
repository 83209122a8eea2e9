import { sql } from "kysely";
import { RollcallError, invalidInput } from "../errors.ts";
import type { User } from "../domain/user.ts";
import { countUsers, selectUsers, selectUsersByKeys, type UserFilter } from "../storage/queries/users.ts";
import { recordChanges, type ChangeEntry } from "./change-log.ts";
import type { WorkspaceContext } from "./context.ts";
import { getGroupRecord, assertManual } from "./groups.ts";
import { markForNextSync, subjectOf } from "./users.ts";
import { maxBulkMatching, maxBulkUsers, type BulkAction, type BulkResult } from "../domain/bulk.ts";

export interface BulkRequest {
  action: BulkAction;
  /** Ids, emails or user principal names; or, instead, */
  users?: string[] | undefined;
  /** every user the Users page's filters match (an empty filter: every user of the workspace). */
  filter?: UserFilter | undefined;
  /** The group, for addToGroup and removeFromGroup. */
  group?: string | undefined;
}

/**
 * One transaction for the whole selection: a key that names no user stops it before anything is written,
 * so a selection is never half-applied. Every changed user gets a history entry with the actor.
 */
export async function bulkUsers(ctx: WorkspaceContext, request: BulkRequest): Promise<BulkResult> {
  if ((request.users === undefined) === (request.filter === undefined)) {
    throw invalidInput([{ field: "users", message: "give either the users (ids, emails or UPNs) or a filter that selects them, not both" }]);
  }
  const users = request.users ? await resolveUsers(ctx, request.users) : await matchingUsers(ctx, request.filter!);
  const needsGroup = request.action === "addToGroup" || request.action === "removeFromGroup";
  if (needsGroup && !request.group) throw invalidInput([{ field: "group", message: `name the group to ${request.action === "addToGroup" ? "add the users to" : "remove the users from"}` }]);
  const group = needsGroup ? await getGroupRecord(ctx, request.group!) : null;
  if (group) assertManual(group);

  const changedIds = await ctx.db.transaction().execute(async (trx) => {
    // One array parameter, not one per user: 10,000 users stay one small statement.
    const ids = sql<string>`any(${users.map((u) => u.id)}::uuid[])`;
    const entry = (user: User, action: string, before: object | null = null, after: object | null = null): ChangeEntry =>
      ({ workspaceId: ctx.workspace.id, actor: ctx.actor, userId: user.id, groupId: group?.id ?? null, subject: subjectOf(user), action, before, after });
    let changed: Set<string>;
    switch (request.action) {
      case "disable":
      case "enable": {
        const enabled = request.action === "enable";
        const rows = await trx
          .updateTable("users")
          .set({ enabled, updated_at: sql`now()` })
          .where("id", "=", ids)
          .where("enabled", "=", !enabled)
          .returning("id")
          .execute();
        changed = new Set(rows.map((r) => r.id));
        const touched = users.filter((u) => changed.has(u.id));
        await markForNextSync(trx, touched);
        await recordChanges(trx, touched.map((u) => entry(u, request.action, { enabled: !enabled }, { enabled })));
        break;
      }
      case "delete": {
        await markForNextSync(trx, users);
        const rows = await trx.deleteFrom("users").where("id", "=", ids).returning("id").execute();
        changed = new Set(rows.map((r) => r.id));
        await recordChanges(trx, users.filter((u) => changed.has(u.id)).map((u) => entry(u, "delete", u)));
        break;
      }
      case "addToGroup": {
        const { rows } = await sql<{ id: string }>`
          insert into group_members (workspace_id, group_id, member_user_id)
          select ${ctx.workspace.id}, ${group!.id}, u.id from users u where u.id = ${ids}
          on conflict (group_id, member_user_id) where member_user_id is not null do nothing
          returning member_user_id as id`.execute(trx);
        changed = new Set(rows.map((r) => r.id));
        await recordChanges(trx, users.filter((u) => changed.has(u.id)).map((u) => entry(u, `add to group ${group!.name}`)));
        break;
      }
      case "removeFromGroup": {
        const rows = await trx.deleteFrom("group_members").where("group_id", "=", group!.id).where("member_user_id", "=", ids).returning("member_user_id").execute();
        changed = new Set(rows.map((r) => r.member_user_id!));
        await recordChanges(trx, users.filter((u) => changed.has(u.id)).map((u) => entry(u, `remove from group ${group!.name}`)));
        break;
      }
    }
    return changed;
  });

  const listed = users.map((u) => ({ id: u.id, subject: subjectOf(u), changed: changedIds.has(u.id) }));
  return { action: request.action, group: group?.name ?? null, changed: changedIds.size, unchanged: users.length - changedIds.size, users: listed };
}

/** Counted before any user is read: a filter matching 96,000 users is refused in milliseconds, not after reading 10,000. */
async function matchingUsers(ctx: WorkspaceContext, filter: UserFilter): Promise<User[]> {
  const total = await countUsers(ctx.db, ctx.workspace.id, filter);
  if (total === 0) throw invalidInput([{ field: "filter", message: "matches no user; nothing was changed" }]);
  if (total > maxBulkMatching) throw invalidInput([{ field: "filter", message: `matches ${total.toLocaleString("en-US")} users; at most ${maxBulkMatching.toLocaleString("en-US")} at once: narrow it` }]);
  return (await selectUsers(ctx.db, ctx.workspace.id, filter, { limit: maxBulkMatching, offset: 0, sort: "displayName", order: "asc" })).items;
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
