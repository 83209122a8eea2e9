import { logReportsLosingManager } from "../storage/queries/managers.ts";
import { sql, type SqlBool } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput, type FieldProblem } from "../errors.ts";
import { isGuid } from "../domain/guid.ts";
import { linkedTags, mergeCustomAttributes, normaliseUserFields, systemTags, type NormalisedUser, type User } from "../domain/user.ts";
import { diffFields } from "../domain/change.ts";
import { scimActor } from "../domain/actor.ts";
import { newUserRow, changedUserRow } from "../storage/user-row.ts";
import { selectUser, selectUsersByKeys } from "../storage/queries/users.ts";
import { recordChange, recordChanges } from "./change-log.ts";
import { subjectOf } from "./users.ts";
import { logUsersLeavingGroups } from "../storage/queries/groups.ts";
import { translateDatabaseError, type WorkspaceContext } from "./context.ts";
import type { ScimCaller } from "./scim-sources.ts";
import { parseFilter } from "../sources/scim/filter.ts";
import { applyPatch, parsePatch, type PatchOperation } from "../sources/scim/patch.ts";
import { scimSchemas } from "../sources/scim/protocol.ts";
import { asScimProblem, scimUser, scimUserNameAttribute, userFromScim } from "../sources/scim/resources.ts";

/**
 * Users pushed by Entra ID's provisioning service to a SCIM source (api/scim.ts): created, looked up, changed and
 * removed as the source's own, with the same tables, history and linking rules as an Entra ID source's sync. A user
 * added by hand or imported with the same address is linked; one of another source is a 409 uniqueness conflict.
 */
export interface ScimContext extends WorkspaceContext {
  source: ScimCaller["source"];
  /** The Tenant URL's server (resources' meta.location). */
  baseUrl: string;
}

export function scimContext(db: Db, caller: ScimCaller, baseUrl: string): ScimContext {
  return { db, workspace: caller.workspace, actor: scimActor(caller.source.name), source: caller.source, baseUrl };
}

/**
 * The context in a transaction that creates a user or group of the source, with the source's name as it is now and its
 * row shared until the end: a rename (scim-sources.ts) waits for the creation, or the creation for it and takes its name.
 */
export async function withSourceShared(trx: Db, ctx: ScimContext): Promise<ScimContext> {
  const row = await trx.selectFrom("sources").select("name").where("id", "=", ctx.source.id).forShare().executeTakeFirst();
  const name = row?.name ?? ctx.source.name;
  return { ...ctx, db: trx, actor: scimActor(name), source: { ...ctx.source, name } };
}

/** Local phone numbers are read in the source's country, else the workspace's. */
const countryOf = (ctx: ScimContext) => ctx.source.config.country ?? ctx.workspace.defaultCountry;

/**
 * What users are looked up by: userName and externalId (Entra ID's matching attributes), the work email (the
 * tutorial's other uniqueness example), id, and `manager` (the manager's id: what an older job checks before changing it).
 */
export const scimUserFilters = ["userName", "externalId", "id", 'emails[type eq "work"].value', "emails.value", "manager", "manager.value"] as const;

const userMatch = (attribute: string, value: string) =>
  ({
    userName: sql<SqlBool>`(lower(u.user_principal_name) = lower(${value}) or lower(u.custom_attributes->>${scimUserNameAttribute}) = lower(${value}))`,
    externalId: sql<SqlBool>`u.external_id = ${value}`,
    id: sql<SqlBool>`u.id::text = ${value.toLowerCase()}`,
    'emails[type eq "work"].value': sql<SqlBool>`lower(u.email) = lower(${value})`,
    "emails.value": sql<SqlBool>`lower(u.email) = lower(${value})`,
    manager: sql<SqlBool>`u.manager_id::text = ${value.toLowerCase()}`,
    "manager.value": sql<SqlBool>`u.manager_id::text = ${value.toLowerCase()}`,
  })[attribute]!;

export const userLocation = (ctx: ScimContext, id: string) => `${ctx.baseUrl.replace(/\/+$/, "")}/scim/v2/Users/${id}`;
export const userResource = (ctx: ScimContext, user: User) => scimUser(user, { location: userLocation(ctx, user.id) });

const notFound = (what: "User" | "Group", id: string) => new RollcallError("not_found", `${what} ${id} not found: it is not one this source provisioned (or it was deleted)`, { resource: what.toLowerCase(), key: id });

/** A user of this source by id, or a SCIM 404. */
export async function sourceUser(ctx: ScimContext, id: string): Promise<User> {
  const owned = isGuid(id) && (await ctx.db.selectFrom("users").select("id").where("id", "=", id).where("source_id", "=", ctx.source.id).executeTakeFirst());
  const user = owned ? await selectUser(ctx.db, ctx.workspace.id, id) : undefined;
  if (!user) throw notFound("User", id);
  return user;
}

export async function listScimUsers(ctx: ScimContext, query: { filter?: string | undefined; startIndex: number; count: number }): Promise<{ users: User[]; total: number }> {
  let where = sql<SqlBool>`u.workspace_id = ${ctx.workspace.id} and u.source_id = ${ctx.source.id}`;
  for (const { attribute, value } of query.filter ? parseFilter(query.filter, scimUserFilters) : []) where = sql<SqlBool>`${where} and ${userMatch(attribute, value)}`;
  const { total } = await ctx.db.selectFrom("users as u").select(sql<number>`count(*)::int`.as("total")).where(where).executeTakeFirstOrThrow();
  if (query.count === 0) return { users: [], total };
  const ids = (await ctx.db.selectFrom("users as u").select("u.id").where(where).orderBy("u.created_at").orderBy("u.id").offset(query.startIndex - 1).limit(query.count).execute()).map((r) => r.id);
  const byId = await selectUsersByKeys(ctx.db, ctx.workspace.id, ids);
  return { users: ids.flatMap((id) => byId.get(id) ?? []), total };
}

/** The body as Rollcall's fields, normalised, or a SCIM 400 naming each attribute at fault. */
function fieldsOf(ctx: ScimContext, body: unknown): { value: NormalisedUser; otherUserName: string | null; externalId: string | null; managerId: string | null; warnings: string[] } {
  const input = userFromScim(body, countryOf(ctx));
  const { value, problems, warnings } = normaliseUserFields(input.fields, countryOf(ctx));
  const all: FieldProblem[] = [...input.problems, ...problems.map(asScimProblem)];
  if (input.problems.length === 0 && !value.email && !value.userPrincipalName) {
    all.push({ field: 'emails[type eq "work"].value', message: "is required when userName is not an address (name@domain): Rollcall finds users by email or user principal name" });
  }
  if (all.length) throw invalidInput(all);
  const lines = [...input.warnings, ...warnings.map(asScimProblem)].map((w) => `${w.field}: ${w.message}`);
  return { value, otherUserName: input.otherUserName, externalId: input.externalId, managerId: input.managerId, warnings: lines };
}

/**
 * The manager Entra ID names (by the id Rollcall gave them), as `userId`'s: a user of the workspace, not the user
 * themselves nor one who reports to them. Another is left out with a warning rather than refused: Entra ID provisions a
 * user whose manager it has not provisioned without one
 * (https://learn.microsoft.com/entra/identity/app-provisioning/known-issues#manager-isnt-provisioned), and a 400 would
 * hold back every other attribute of the user, cycle after cycle.
 */
async function managerFor(ctx: ScimContext, userId: string | null, given: string | null, warnings: string[]): Promise<string | null> {
  if (given === null) return null;
  const leftOut = (why: string) => {
    warnings.push(`${scimSchemas.enterprise}:manager: "${given}" ${why}; left out`);
    return null;
  };
  const manager = isGuid(given) ? await ctx.db.selectFrom("users").select(["id", "display_name"]).where("workspace_id", "=", ctx.workspace.id).where("id", "=", given.toLowerCase()).executeTakeFirst() : undefined;
  if (!manager) return leftOut(`is no user of workspace "${ctx.workspace.name}" (Entra ID names a manager by the id Rollcall gave them, once provisioned)`);
  if (manager.id === userId) return leftOut("is the user themselves: a user cannot be their own manager");
  if (userId) {
    const { rows } = await sql<{ id: string }>`with recursive chain(id, depth) as (
        select manager_id, 1 from users where id = ${manager.id} and manager_id is not null
        union all select u.manager_id, c.depth + 1 from users u join chain c on u.id = c.id where u.manager_id is not null and c.depth < 1000)
      select id from chain where id = ${userId} limit 1`.execute(ctx.db);
    if (rows.length) return leftOut(`(${manager.display_name}) reports to the user (directly or through others): it would make a loop`);
  }
  return manager.id;
}

/** The messages of the user's last warning entry, as JSON. */
async function lastWarning(db: Db, userId: string): Promise<string | null> {
  const last = await db.selectFrom("change_log").select(sql<string>`after->'messages'`.as("messages")).where("user_id", "=", userId).where("action", "=", "warning").orderBy("id", "desc").limit(1).executeTakeFirst();
  return last ? JSON.stringify(last.messages) : null;
}

/** The older tutorial's `manager` path (core schema, a list of {value, $ref}) is the enterprise extension's manager, where GET answers it. */
const managerInExtension = (operation: PatchOperation): PatchOperation =>
  operation.path && /^manager(\.value)?$/i.test(operation.path) ? { ...operation, path: `${scimSchemas.enterprise}:${operation.path}` } : operation;

/** Who else holds the address: none, a user to link (added by hand or imported), or a 409 uniqueness conflict. */
async function holderToLink(ctx: ScimContext, value: NormalisedUser, except: string | null): Promise<User | undefined> {
  const keys = [value.email, value.userPrincipalName].filter((k): k is string => Boolean(k));
  // An address is one user's in either role (selectUsersByKeys reads both): another user's UPN may not be this one's email.
  const holders = [...new Map([...(await selectUsersByKeys(ctx.db, ctx.workspace.id, keys)).values()].map((u) => [u.id, u])).values()].filter((u) => u.id !== except);
  const ids = new Set(holders.map((u) => u.id));
  if (ids.size === 0) return undefined;
  const holder = holders[0]!;
  const conflict = (message: string) => new RollcallError("conflict", message, { scimType: "uniqueness", conflictsWith: holders.map((h) => ({ id: h.id, displayName: h.displayName, email: h.email })) });
  if (ids.size > 1) throw conflict(`${keys.join(" and ")} belong to ${ids.size} different users (${[...ids].join(", ")})`);
  const address = keys.find((k) => [holder.email, holder.userPrincipalName].some((a) => a?.toLowerCase() === k.toLowerCase())) ?? keys[0];
  if (except === null && holder.source.type === "scim" && holder.source.name === ctx.source.name) throw conflict(`userName "${address}" is already provisioned by this source: user ${holder.id}`);
  if (except === null && (holder.source.type === "manual" || holder.source.type === "import")) return holder;
  const from = holder.source.type === "manual" || holder.source.type === "import" ? `${holder.source.type} user` : `user of ${holder.source.type === "scim" ? "SCIM" : "Entra ID"} source "${holder.source.name}"`;
  throw conflict(`"${address}" already belongs to ${holder.displayName} (${from} ${holder.id}); Rollcall does not overwrite another source's user`);
}

async function recordWarnings(trx: Db, ctx: ScimContext, user: User, messages: string[]): Promise<void> {
  if (messages.length) await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: user.id, subject: subjectOf(user), action: "warning", after: { messages } });
}

const customAttributesWith = (current: Record<string, string>, otherUserName: string | null) => mergeCustomAttributes(current, { [scimUserNameAttribute]: otherUserName });

/** POST /Users: a new user of the source, or the one added by hand or imported with its address, linked. */
export async function createScimUser(ctx: ScimContext, body: unknown): Promise<{ user: User; linked: boolean }> {
  const { value, otherUserName, externalId, managerId: given, warnings } = fieldsOf(ctx, body);
  const holder = await holderToLink(ctx, value, null);
  const managerId = await managerFor(ctx, holder?.id ?? null, given, warnings);
  const id = await ctx.db
    .transaction()
    .execute(async (trx) => {
      const now = await withSourceShared(trx, ctx);
      if (holder) {
        await trx
          .updateTable("users")
          .set({
            ...changedUserRow({ ...value, customAttributes: customAttributesWith(holder.customAttributes, otherUserName) }),
            source_type: "scim", source_name: now.source.name, source_id: ctx.source.id, external_id: externalId, tags: linkedTags(holder.tags, holder.source.type, "scim"), manager_id: managerId, updated_at: sql`now()`,
          })
          .where("id", "=", holder.id)
          .execute();
        const after = (await selectUser(trx, ctx.workspace.id, holder.id))!;
        await recordChange(trx, { workspaceId: ctx.workspace.id, actor: now.actor, userId: holder.id, subject: subjectOf(after), action: "link", before: { ...holder, sourceType: holder.source.type }, after });
        await recordWarnings(trx, now, after, warnings);
        return holder.id;
      }
      const row = await trx
        .insertInto("users")
        .values({
          workspace_id: ctx.workspace.id,
          ...newUserRow({ ...value, displayName: value.displayName!, customAttributes: customAttributesWith({}, otherUserName) }),
          source_type: "scim", source_name: now.source.name, source_id: ctx.source.id, external_id: externalId, tags: [systemTags.scim], manager_id: managerId,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const created = (await selectUser(trx, ctx.workspace.id, row.id))!;
      await recordChange(trx, { workspaceId: ctx.workspace.id, actor: now.actor, userId: row.id, subject: subjectOf(created), action: "create", after: created });
      await recordWarnings(trx, now, created, warnings);
      return row.id;
    })
    .catch(translateDatabaseError);
  return { user: (await selectUser(ctx.db, ctx.workspace.id, id))!, linked: holder !== undefined };
}

/** PUT /Users/{id}: the user becomes what the body says; an attribute left out is cleared (RFC 7644 3.5.1). */
export async function replaceScimUser(ctx: ScimContext, id: string, body: unknown): Promise<User> {
  return withUserLocked(ctx, id, (locked, before) => saveUser(locked, before, body));
}

/** PATCH /Users/{id}: the operations applied to the user as GET shows it, then saved as a PUT of the result. */
export async function patchScimUser(ctx: ScimContext, id: string, body: unknown): Promise<User> {
  const operations = parsePatch(body).map(managerInExtension);
  return withUserLocked(ctx, id, (locked, before) => saveUser(locked, before, applyPatch(userResource(locked, before), operations)));
}

/**
 * Reads a user or group of the source and changes it in one transaction holding its row: two changes to one at the
 * same time (a SCIM client's requests in parallel: member adds to one group, attributes of one user) are made one
 * after the other, neither written over a stale read of the other. Returns its id.
 */
export async function changeLocked<T extends { id: string }>(ctx: ScimContext, table: "users" | "groups", id: string, read: (locked: ScimContext, id: string) => Promise<T>, change: (locked: ScimContext, before: T) => Promise<void>): Promise<string> {
  return ctx.db
    .transaction()
    .execute(async (trx) => {
      if (isGuid(id)) await trx.selectFrom(table).select("id").where("id", "=", id).where("source_id", "=", ctx.source.id).forUpdate().execute();
      const locked = { ...ctx, db: trx };
      const before = await read(locked, id);
      await change(locked, before);
      return before.id;
    })
    .catch(translateDatabaseError);
}

async function withUserLocked(ctx: ScimContext, id: string, change: (locked: ScimContext, before: User) => Promise<void>): Promise<User> {
  return (await selectUser(ctx.db, ctx.workspace.id, await changeLocked(ctx, "users", id, sourceUser, change)))!;
}

/** Writes the body over the user (in the caller's transaction), the change and its warnings in the history. */
async function saveUser(ctx: ScimContext, before: User, body: unknown): Promise<void> {
  const { value, otherUserName, externalId, managerId: given, warnings } = fieldsOf(ctx, body);
  await holderToLink(ctx, value, before.id);
  const managerId = await managerFor(ctx, before.id, given, warnings);
  const trx = ctx.db;
  await trx
    .updateTable("users")
    .set({ ...changedUserRow({ ...value, customAttributes: customAttributesWith(before.customAttributes, otherUserName) }), external_id: externalId ?? before.source.externalId, manager_id: managerId, updated_at: sql`now()` })
    .where("id", "=", before.id)
    .execute();
  const after = (await selectUser(trx, ctx.workspace.id, before.id))!;
  const action = !after.enabled && before.enabled ? "disable" : after.enabled && !before.enabled ? "enable" : "update";
  // A provisioning cycle sends a user again as it was (after a restart, or a number it cannot read again): no
  // change, and no warning repeated in the history each time. A manager left out changes nothing either (the user had
  // none), and Entra ID sends it again each cycle: its warning is logged once, unless it is the user's last already.
  if (diffFields(before, after).length) await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: before.id, subject: subjectOf(after), action, before, after });
  else if (!warnings.some((w) => w.startsWith(`${scimSchemas.enterprise}:manager:`)) || (await lastWarning(trx, before.id)) === JSON.stringify(warnings)) return;
  await recordWarnings(trx, ctx, after, warnings);
}

/**
 * DELETE /Users/{id}: what the source's on-remove says. `delete` deletes the user; `disable` (the default) and
 * `keep` leave them managed here, disabled or as they are, and out of the source's groups: "kept from" the source,
 * which links them again should Entra ID provision the same address later.
 */
export async function deleteScimUser(ctx: ScimContext, id: string): Promise<void> {
  const before = await sourceUser(ctx, id);
  const entry = { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: before.id, subject: subjectOf(before) };
  const onRemove = ctx.source.config.onRemove;
  await ctx.db.transaction().execute(async (trx) => {
    const reason = `${subjectOf(before)} was deleted in Entra ID (SCIM source "${ctx.source.name}", on remove: ${onRemove})`;
    if (onRemove === "delete") {
      await logUsersLeavingGroups(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, users: sql`select ${before.id}::uuid`, reason });
      await logReportsLosingManager(trx, { workspaceId: ctx.workspace.id, runId: null, actor: ctx.actor, deleted: sql`select ${before.id}::uuid`, reason: `the manager, ${reason}` });
      await trx.deleteFrom("users").where("id", "=", before.id).execute();
      await recordChange(trx, { ...entry, action: "delete", before, after: { reason } });
      return;
    }
    const left = await trx
      .deleteFrom("group_members")
      .where("member_user_id", "=", before.id)
      .where("group_id", "in", trx.selectFrom("groups").select("id").where("source_id", "=", ctx.source.id))
      .returning("group_id")
      .execute();
    const groups = left.length ? await trx.selectFrom("groups").select(["id", "name"]).where("id", "in", left.map((g) => g.group_id)).execute() : [];
    await recordChanges(trx, groups.map((g) => ({ ...entry, groupId: g.id, action: `remove from group ${g.name}`, after: { reason } })));
    await trx
      .updateTable("users")
      .set({ source_type: "manual", source_id: null, tags: linkedTags(before.tags, "scim", "manual"), ...(onRemove === "disable" && { enabled: false }), updated_at: sql`now()` })
      .where("id", "=", before.id)
      .execute();
    const after = (await selectUser(trx, ctx.workspace.id, before.id))!;
    await recordChange(trx, { ...entry, action: onRemove === "disable" && before.enabled ? "disable" : "unlink", before, after: { ...after, reason } });
  });
}
