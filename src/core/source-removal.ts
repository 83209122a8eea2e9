import { logReportsLosingManager } from "../storage/queries/managers.ts";
import { sql } from "kysely";
import { lockIdleSource } from "../sync/lease.ts";
import type { Db } from "../storage/database.ts";
import { systemTags } from "../domain/user.ts";
import { recordChange } from "./change-log.ts";
import { logUsersLeavingGroups } from "../storage/queries/groups.ts";
import { getSource, loadSourceForSync, type Source, type SourceContext } from "./sources.ts";
import { deleteAtGraph, subscriptionIdsOf } from "./change-subscriptions.ts";
import { entraFetch } from "../sources/entra/custom-urls.ts";
import type { ScimSource } from "./scim-sources.ts";
import type { WorkspaceContext } from "./context.ts";

/** What happens to a removed source's users and groups. */
export const sourceRemovals = ["keep", "disable", "delete"] as const;
export type SourceRemoval = (typeof sourceRemovals)[number];

export interface RemovedSource extends Source {
  /** `usersKept`: with delete, users the source had linked (added by hand or imported before it), kept as manual ones. */
  removal: { users: SourceRemoval; usersAffected: number; groupsAffected: number; usersKept?: number };
}

/**
 * Removes a source with its settings, secret, mirror and run history. Its users and groups either stay,
 * managed in Rollcall from then on (`keep`; `disable` also disables the users), or go with it (`delete`).
 * Kept ones remember where they came from: the source's name, and their Entra object ID, by which a source
 * added later for the same tenant takes them back (sync/plan.ts), whatever their email has become.
 * All in one transaction; every user and group affected gets a change-log entry saying why.
 */
export async function removeSource(ctx: SourceContext, key: string, users: SourceRemoval = "keep"): Promise<RemovedSource> {
  const source = await getSource(ctx, key);
  // Its Graph subscriptions (sync on change) go with it: their rows with the source, at Graph once it is removed.
  const subscriptions = await subscriptionIdsOf(ctx.db, source.id);
  const credentialed = subscriptions.length ? await loadSourceForSync(ctx, source.id).catch(() => null) : null;
  const removal = await ctx.db.transaction().execute(async (trx) => {
    await lockIdleSource(trx, source);
    const scope: Scope = { workspaceId: ctx.workspace.id, sourceId: source.id, sourceName: source.name, sourceType: "entra", actor: ctx.actor };
    // People the source took over from a user added by hand or imported stay, as such users would have without it.
    const linkedIn = users === "delete" ? await linkedInUsers(trx, scope) : [];
    const kept = linkedIn.length ? await unlinkDirectory(trx, scope, false, linkedIn) : { users: 0 };
    const affected = users === "delete" ? await deleteDirectory(trx, scope) : await unlinkDirectory(trx, scope, users === "disable");
    await trx.deleteFrom("sources").where("id", "=", source.id).execute();
    await resolveSourceNotifications(trx, ctx.workspace.id, source.id);
    const result = { users, usersAffected: affected.users, groupsAffected: affected.groups, ...(users === "delete" && { usersKept: kept.users }) };
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: source.name, action: "remove source", before: { name: source.name, config: source.config }, after: result });
    return result;
  });
  if (credentialed) await deleteAtGraph({ fetch: entraFetch(ctx) }, credentialed, subscriptions);
  return { ...source, removal };
}

/** A removed source's warnings (failed or stopped runs, an expiring secret, a quiet provisioning service) are about something that no longer exists. */
async function resolveSourceNotifications(trx: Db, workspaceId: string, sourceId: string): Promise<void> {
  await trx.updateTable("notifications").set({ resolved_at: sql`now()` }).where("workspace_id", "=", workspaceId).where("resolved_at", "is", null).where(sql<boolean>`data->>'sourceId' = ${sourceId}`).execute();
}

interface Scope {
  workspaceId: string;
  sourceId: string;
  sourceName: string;
  sourceType: "entra" | "scim";
  actor: string;
}

const sourceLabel = (s: Scope) => `${s.sourceType === "scim" ? "SCIM" : "Entra ID"} source "${s.sourceName}"`;

/**
 * Removes a SCIM source with its token: its users and groups stay, managed in Rollcall (`keep`, `disable`), or go
 * with it (`delete`), as an Entra ID source's do. Entra ID's provisioning job then gets 401 for its token.
 */
export async function removeScimSource(ctx: WorkspaceContext, source: ScimSource, users: SourceRemoval = "keep"): Promise<ScimSource & { removal: RemovedSource["removal"] }> {
  const removal = await ctx.db.transaction().execute(async (trx) => {
    await trx.selectFrom("sources").select("id").where("id", "=", source.id).forUpdate().execute();
    const scope: Scope = { workspaceId: ctx.workspace.id, sourceId: source.id, sourceName: source.name, sourceType: "scim", actor: ctx.actor };
    const linkedIn = users === "delete" ? await linkedInUsers(trx, scope) : [];
    const kept = linkedIn.length ? await unlinkDirectory(trx, scope, false, linkedIn) : { users: 0 };
    const affected = users === "delete" ? await deleteDirectory(trx, scope) : await unlinkDirectory(trx, scope, users === "disable");
    await trx.deleteFrom("sources").where("id", "=", source.id).execute();
    await resolveSourceNotifications(trx, ctx.workspace.id, source.id);
    const result = { users, usersAffected: affected.users, groupsAffected: affected.groups, ...(users === "delete" && { usersKept: kept.users }) };
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: source.name, action: "remove source", before: { name: source.name, type: "scim", config: source.config }, after: result });
    return result;
  });
  return { ...source, removal };
}

/**
 * The source's users that it linked when it found them added by hand or imported (its history's link entries say
 * so, as long as history is kept), not those kept from an Entra ID source before.
 */
async function linkedInUsers(trx: Db, s: Scope): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`select u.id from users u where u.source_id = ${s.sourceId} and exists (
      select 1 from change_log c where c.user_id = u.id and c.action = 'link' and c.before->>'sourceType' in ('manual', 'import')
        and c.before->>'externalId' is null)`.execute(trx); // one kept from an Entra ID source (it has an object ID) was an Entra user
  return rows.map((r) => r.id);
}

/**
 * The source's users (or only `only`) and groups become manual ones that keep the source's name and their Entra
 * object ID.
 */
async function unlinkDirectory(trx: Db, s: Scope, disable: boolean, only?: string[]): Promise<{ users: number; groups: number }> {
  const message = only
    ? `${sourceLabel(s)} was removed with its users; kept, as one that was here before the source linked it, managed in Rollcall from now on`
    : `${sourceLabel(s)} was removed; kept${disable ? " and disabled" : ""}, managed in Rollcall from now on`;
  const was = sql`json_build_object('type', ${s.sourceType}::text, 'name', ${s.sourceName}::text)`;
  const now = sql`json_build_object('type', 'manual', 'name', ${s.sourceName}::text)`;
  const users = await sql`
    with old as (select id, enabled, tags from users where source_id = ${s.sourceId} ${only ? sql`and id = any(${only}::uuid[])` : sql``} for update),
    unlinked as (
      update users u set source_type = 'manual', source_id = null, updated_at = now(),
        tags = array_prepend(${systemTags.manual}::text, array_remove(array_remove(u.tags, ${systemTags.entra}::text), ${systemTags.manual}::text)),
        enabled = u.enabled and not ${disable}
      from old where u.id = old.id
      returning u.id, u.email, u.user_principal_name, u.display_name, u.enabled, u.tags, old.enabled as was_enabled, old.tags as old_tags)
    insert into change_log (workspace_id, user_id, subject, action, before, after, actor)
    select ${s.workspaceId}, id, coalesce(email, user_principal_name, display_name), 'unlink',
      json_build_object('source', ${was}, 'enabled', was_enabled, 'tags', old_tags),
      json_build_object('source', ${now}, 'enabled', enabled, 'tags', tags, 'message', ${message}::text), ${s.actor}
    from unlinked`.execute(trx);
  if (only) return { users: Number(users.numAffectedRows ?? 0), groups: 0 };
  const groups = await sql`
    with unlinked as (update groups set source_type = 'manual', source_id = null, updated_at = now() where source_id = ${s.sourceId} returning id, name)
    insert into change_log (workspace_id, group_id, subject, action, before, after, actor)
    select ${s.workspaceId}, id, name, 'unlink group', json_build_object('source', ${was}), json_build_object('source', ${now}, 'message', ${message}::text), ${s.actor}
    from unlinked`.execute(trx);
  return { users: Number(users.numAffectedRows ?? 0), groups: Number(groups.numAffectedRows ?? 0) };
}

/** The source's users and groups are deleted, each with the last of its fields in its change-log entry. */
async function deleteDirectory(trx: Db, s: Scope): Promise<{ users: number; groups: number }> {
  const message = `${sourceLabel(s)} was removed with its users and groups`;
  await logUsersLeavingGroups(trx, { workspaceId: s.workspaceId, actor: s.actor, users: sql`select id from users where source_id = ${s.sourceId}`, reason: message, groupsOtherThan: s.sourceId });
  await logReportsLosingManager(trx, { workspaceId: s.workspaceId, runId: null, actor: s.actor, deleted: sql`select id from users where source_id = ${s.sourceId}`, reason: `the manager: ${message}` });
  const users = await sql`
    with gone as (delete from users where source_id = ${s.sourceId}
      returning id, email, user_principal_name, display_name, enabled, external_id)
    insert into change_log (workspace_id, user_id, subject, action, before, after, actor)
    select ${s.workspaceId}, id, coalesce(email, user_principal_name, display_name), 'delete',
      json_build_object('email', email, 'userPrincipalName', user_principal_name, 'displayName', display_name, 'enabled', enabled, 'externalId', external_id),
      json_build_object('message', ${message}::text), ${s.actor}
    from gone`.execute(trx);
  const groups = await sql`
    with gone as (delete from groups where source_id = ${s.sourceId} returning id, name, description, external_id)
    insert into change_log (workspace_id, group_id, subject, action, before, after, actor)
    select ${s.workspaceId}, id, name, 'delete group', json_build_object('name', name, 'description', description, 'externalId', external_id),
      json_build_object('message', ${message}::text), ${s.actor}
    from gone`.execute(trx);
  return { users: Number(users.numAffectedRows ?? 0), groups: Number(groups.numAffectedRows ?? 0) };
}
