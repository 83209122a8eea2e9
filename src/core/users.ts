import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { z } from "zod";
import { RollcallError, invalidInput, notFound, type FieldProblem } from "../errors.ts";
import {
  createUserSchema,
  isSyncedSourceType,
  mergeCustomAttributes,
  normaliseUserFields,
  systemTags,
  updateUserSchema,
  type SourceType,
  type User,
  type UserDetail,
} from "../domain/user.ts";
import { logUsersLeavingGroups, selectNestedGroupsOf } from "../storage/queries/groups.ts";
import { openConflict, statusChange } from "./user-status.ts";
import { hashSecret } from "../security/hashing.ts";
import { changedUserRow, newUserRow } from "../storage/user-row.ts";
import { selectUser, type Page, type UserFilter } from "../storage/queries/users.ts";
import { findHolders, replaceIdentifiers } from "../storage/queries/user-identifiers.ts";
import { deletedUserId, pageOfChanges, recordChange, type ChangeRecord } from "./change-log.ts";
import { diffFields } from "../domain/change.ts";
import { markDirtyOutsideRun } from "../sync/dirty.ts";
import { logReportsLosingManager, selectDirectReports } from "../storage/queries/managers.ts";
import { bodyProblems, translateDatabaseError, type WorkspaceContext } from "./context.ts";
import { assertIfMatch, versionOf } from "./versions.ts";
import { photoSourceOf } from "./user-photos.ts";

export type { UserFilter, Page };
export { assertFilterNames, listDepartments, listTags, listUsers } from "./user-list.ts";

/** Fields a synced source owns: editing them by hand would be undone by the next sync, so it is refused (an import keeps them). */
export const sourceOwnedFields = [
  "userPrincipalName", "email", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage",
] as const;

export async function getUser(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<User> {
  const user = await selectUser(ctx.db, ctx.workspace.id, key);
  if (!user) throw await userNotFound(ctx, key);
  return user;
}

/** A user as their own page shows them (GET …/users/{id}, `users show`): the groups they are in through nesting, the change that gave them their status, a sync's open conflict over them. */
export async function showUser(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<UserDetail> {
  const user = await getUser(ctx, key);
  const [nestedGroups, directReports, status, conflict, photoSource] = await Promise.all([selectNestedGroupsOf(ctx.db, user.id), selectDirectReports(ctx.db, user.id), statusChange(ctx.db, user.id), openConflict(ctx.db, user.id), photoSourceOf(ctx.db, user)]);
  return { ...user, nestedGroups, directReports, statusChange: status, openConflict: conflict, photoSource };
}

/**
 * A user named by something other than their id, email or UPN: a help desk types the card number off a badge, or an
 * alias. The error names whose it is and how to name them; anything else, where to search.
 */
async function userNotFound(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<RollcallError> {
  const error = notFound("user", key);
  const [held] = await findHolders(ctx.db, ctx.workspace.id, { aliases: [key], cardNumbers: [key] }, null);
  const hint = held
    ? `${held.field === "aliases" ? "alias" : "card number"} ${held.value} is ${held.holder.displayName}'s: name them by id, email or user principal name (${held.holder.email ?? held.holder.id})`
    : "a user is named by id, email or user principal name; search for a card number, alias, phone or part of a name (users list -q, GET …/users?q=)";
  return new RollcallError("not_found", `${error.message}: ${hint}`, error.details);
}

/** Whose history `key` asks for: a user of the workspace, or else one deleted from it (then `user` is null). */
export async function historyUser(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string): Promise<{ userId: string; user: User | null }> {
  const user = await selectUser(ctx.db, ctx.workspace.id, key);
  if (user) return { userId: user.id, user };
  const userId = await deletedUserId(ctx.db, ctx.workspace.id, key);
  if (!userId) throw new RollcallError("not_found", `user "${key}" was not found, and no user deleted from this workspace had that id, email or userPrincipalName`, { resource: "user", key });
  return { userId, user: null };
}

/** A user and a page of their change log, newest first, with how many entries there are in all. */
export interface UserHistory {
  /** Null: the user was deleted (its history is kept). */
  user: User | null;
  changes: ChangeRecord[];
  total: number;
}

/** A user's history, by the key of a user of the workspace or of one deleted from it (see historyUser). */
export async function userHistory(ctx: Pick<WorkspaceContext, "db" | "workspace">, key: string, page: { limit: number; offset?: number; before?: string | undefined }): Promise<UserHistory> {
  const { userId, user } = await historyUser(ctx, key);
  const { items, total } = await pageOfChanges(ctx.db, ctx.workspace.id, { userId }, page);
  return { user, changes: items, total };
}

/**
 * Erases a deleted user's history (a request to forget a person): every change log entry about them goes, and the
 * workspace's activity keeps only that someone's history was erased, by whom, without who it was.
 */
export async function forgetDeletedUser(ctx: WorkspaceContext, key: string): Promise<{ userId: string; entries: number }> {
  const { userId, user } = await historyUser(ctx, key);
  if (user) throw new RollcallError("conflict", `${subjectOf(user)} is still a user of this workspace: delete them first, then erase their history`, { resource: "user", key });
  return ctx.db.transaction().execute(async (trx) => {
    // A conflict lasting over runs is in the user's history once and then on each run alone (user_id null,
    // sync/apply.ts), known by the person's Entra object ID: those go with the history.
    const repeats = await trx.deleteFrom("change_log").where("workspace_id", "=", ctx.workspace.id).where("user_id", "is", null).where("action", "=", "conflict")
      .where(sql<string>`after->>'externalId'`, "in", trx.selectFrom("change_log").select(sql<string>`after->>'externalId'`.as("id")).where("user_id", "=", userId).where("action", "=", "conflict"))
      .executeTakeFirst();
    const { numDeletedRows } = await trx.deleteFrom("change_log").where("workspace_id", "=", ctx.workspace.id).where("user_id", "=", userId).executeTakeFirst();
    const entries = Number(numDeletedRows) + Number(repeats.numDeletedRows);
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, subject: userId, action: "forget user", after: { entries } });
    return { userId, entries };
  });
}

export interface SourceRef {
  type: SourceType;
  name: string;
  id: string | null;
  externalId: string | null;
}

export const manualSource: SourceRef = { type: "manual", name: "manual", id: null, externalId: null };

/**
 * A user as a create or an update left it, with what the given values lost on the way ("mobilePhone: … has the
 * extension 123, …"), worded as a sync words them. Also recorded in the user's history, as a "warning" entry.
 */
export type SavedUser = User & { warnings: string[] };

const warningLines = (warnings: FieldProblem[]) => warnings.map((w) => `${w.field}: ${w.message}`);

/** A sync's per-user warnings are "warning" entries on the user, `after: { messages }`; a manual save's are too. */
async function recordWarnings(trx: WorkspaceContext["db"], ctx: WorkspaceContext, user: User, messages: string[]): Promise<void> {
  if (messages.length === 0) return;
  await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: user.id, subject: subjectOf(user), action: "warning", after: { messages } });
}

/**
 * A body the schema refuses is refused with every field's problem at once: those of the fields the schema
 * refused, and what the other fields' own checks (email, phone numbers…) would say of them.
 */
function refuseWhole(error: z.ZodError, raw: unknown, defaultCountry: string | null, more: FieldProblem[] = []): never {
  const problems = bodyProblems(error);
  const refused = new Set(error.issues.map((issue) => String(issue.path[0] ?? "")));
  const rest = raw && typeof raw === "object" ? Object.fromEntries(Object.entries(raw).filter(([key]) => !refused.has(key))) : {};
  const others = updateUserSchema.safeParse(rest);
  if (others.success) {
    const { customAttributes: _, ...fields } = others.data;
    problems.push(...normaliseUserFields(fields, defaultCountry).problems, ...more);
  }
  throw invalidInput(problems);
}

/** A new user needs a key to be matched by: an email, or a userPrincipalName. */
const keyRequired: FieldProblem = { field: "email", message: "is required (or give a userPrincipalName)" };

export async function createUser(ctx: WorkspaceContext, raw: unknown, source: SourceRef = manualSource): Promise<SavedUser> {
  const parsed = createUserSchema.safeParse(raw);
  if (!parsed.success) {
    const given = raw && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
    refuseWhole(parsed.error, raw, ctx.workspace.defaultCountry, given.email || given.userPrincipalName ? [] : [keyRequired]);
  }
  const { customAttributes, manager, ...fields } = parsed.data;
  const { value, problems, warnings: lost } = normaliseUserFields(fields, ctx.workspace.defaultCountry);
  const warnings = warningLines(lost);
  if (!value.email && !value.userPrincipalName) {
    problems.push(keyRequired);
  }
  if (problems.length) throw invalidInput(problems);
  const managerId = manager ? await managerFor(ctx, { id: null, email: value.email ?? null, userPrincipalName: value.userPrincipalName ?? null, displayName: value.displayName! }, manager) : null;
  await assertNoHolders(ctx, value, null);
  const pinHash = value.pin ? await hashSecret(value.pin) : null;
  const tags = unique([systemTags[source.type], ...(value.tags ?? [])]);

  const id = await ctx.db
    .transaction()
    .execute(async (trx) => {
      const row = await trx
        .insertInto("users")
        .values({
          workspace_id: ctx.workspace.id,
          ...newUserRow({ ...value, displayName: value.displayName!, customAttributes: mergeCustomAttributes({}, customAttributes ?? {}) }),
          pin_hash: pinHash,
          source_type: source.type,
          source_name: source.name,
          source_id: source.id,
          external_id: source.externalId,
          manager_id: managerId,
          tags,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      await replaceIdentifiers(trx, ctx.workspace.id, row.id, "alias", value.aliases ?? []);
      await replaceIdentifiers(trx, ctx.workspace.id, row.id, "card", value.cardNumbers ?? []);
      const created = (await selectUser(trx, ctx.workspace.id, row.id))!;
      await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: row.id, subject: subjectOf(created), action: "create", after: created });
      await recordWarnings(trx, ctx, created, warnings);
      return row.id;
    })
    .catch(translateDatabaseError);
  return { ...(await getUser(ctx, id)), warnings };
}

/**
 * A user's version, for optimistic concurrency (ETag / If-Match): any change to what the API shows of them, by an
 * admin, an import or a sync, gives another.
 */
export function userVersion(user: User): string {
  // What the user is, not what is said about them: a save's warnings, groups nested elsewhere, their reports, the change that gave their status, whose photo it is.
  const { warnings: _w, nestedGroups: _n, directReports: _d, statusChange: _s, openConflict: _c, photoSource: _p, ...shown } = user as SavedUser & Partial<UserDetail>;
  return versionOf(shown);
}

/** `ifMatch`: the version the change was made on (If-Match); another one now is a 412, nothing changed. */
export async function updateUser(ctx: WorkspaceContext, key: string, raw: unknown, options: { ifMatch?: string | undefined } = {}): Promise<SavedUser> {
  const parsed = updateUserSchema.safeParse(raw);
  if (!parsed.success) refuseWhole(parsed.error, raw, ctx.workspace.defaultCountry);
  const before = await getUser(ctx, key);
  const { customAttributes, manager, ...input } = parsed.data;
  if (isSyncedSourceType(before.source.type)) {
    const owned = [...sourceOwnedFields.filter((f) => f in input), ...(manager !== undefined ? ["manager" as const] : [])];
    if (owned.length) {
      const from = before.source.type === "scim" ? `provisioned over SCIM by source "${before.source.name}"` : `synced from Entra ID source "${before.source.name}"`;
      throw invalidInput(
        owned.map((field) => ({ field, message: field === "manager"
          ? `is ${from}, which owns the user's manager: set it in Entra ID (an Entra ID source brings managers over with Sync managers on)`
          : `is ${from}; change it in Entra ID (the next sync or provisioning cycle would undo a change made here)` })),
      );
    }
  }
  const managerId = manager === undefined ? undefined : await managerFor(ctx, before, manager);
  const { value, problems, warnings: lost } = normaliseUserFields(input, ctx.workspace.defaultCountry);
  const warnings = warningLines(lost);
  const email = "email" in value ? value.email : before.email;
  const upn = "userPrincipalName" in value ? value.userPrincipalName : before.userPrincipalName;
  if (!email && !upn) problems.push({ field: "email", message: "cannot be removed while the user has no userPrincipalName" });
  if (problems.length) throw invalidInput(problems);
  await assertNoHolders(ctx, value, before.id);
  const pinHash = value.pin ? await hashSecret(value.pin) : value.pin;

  await ctx.db
    .transaction()
    .execute(async (trx) => {
      if (options.ifMatch !== undefined) await assertVersion(trx, ctx, before.id, options.ifMatch);
      const hadPin = pinHash !== undefined && (await trx.selectFrom("users").select("pin_hash").where("id", "=", before.id).executeTakeFirstOrThrow()).pin_hash !== null;
      const set = {
        ...changedUserRow({ ...value, ...(customAttributes && { customAttributes: mergeCustomAttributes(before.customAttributes, customAttributes) }) }),
        ...(pinHash !== undefined && { pin_hash: pinHash }),
        ...(managerId !== undefined && { manager_id: managerId }),
        ...(value.tags && { tags: unique([systemTags[before.source.type], ...value.tags]) }),
      };
      await trx.updateTable("users").set({ ...set, updated_at: sql`now()` }).where("id", "=", before.id).execute();
      await markForNextSync(trx, [before]);
      if (value.aliases) await replaceIdentifiers(trx, ctx.workspace.id, before.id, "alias", value.aliases);
      if (value.cardNumbers) await replaceIdentifiers(trx, ctx.workspace.id, before.id, "card", value.cardNumbers);
      const after = (await selectUser(trx, ctx.workspace.id, before.id))!;
      const action = value.enabled === false && before.enabled ? "disable" : value.enabled === true && !before.enabled ? "enable" : "update";
      // The PIN in words, as an import logs it: "set" → "changed", never the hash. A change that changes nothing is not logged.
      const pin = pinHash === undefined ? undefined : { before: hadPin ? "set" : null, after: pinHash ? "changed" : null };
      const logged = { before: { ...before, ...(pin && { pin: pin.before }) }, after: { ...after, ...(pin && { pin: pin.after }) } };
      if (diffFields(logged.before, logged.after).length) {
        await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: before.id, subject: subjectOf(after), action, ...logged });
      }
      await recordWarnings(trx, ctx, after, warnings);
    })
    .catch(translateDatabaseError);
  return { ...(await getUser(ctx, before.id)), warnings };
}

/**
 * The user `key` names, as `user`'s manager: another user of the workspace, and not one who reports to `user` (at any
 * depth). `user.id` null: a user being created (named by their own address, they are themselves; they have no reports).
 */
async function managerFor(ctx: WorkspaceContext, user: Pick<User, "email" | "userPrincipalName" | "displayName"> & { id: string | null }, key: string | null): Promise<string | null> {
  if (key === null) return null;
  const refuse = (message: string) => invalidInput([{ field: "manager", value: key, message }]);
  const own = [user.email, user.userPrincipalName].some((address) => address?.toLowerCase() === key.toLowerCase());
  if (user.id === null && own) throw refuse("is the user themselves: a user cannot be their own manager");
  const manager = await selectUser(ctx.db, ctx.workspace.id, key);
  if (!manager) throw refuse(`no user of workspace "${ctx.workspace.name}" is "${key}": name the manager by id, email or user principal name`);
  if (manager.id === user.id) throw refuse("is the user themselves: a user cannot be their own manager");
  if (user.id === null) return manager.id;
  const { rows } = await sql<{ id: string }>`with recursive chain(id, depth) as (
      select manager_id, 1 from users where id = ${manager.id} and manager_id is not null
      union all select u.manager_id, c.depth + 1 from users u join chain c on u.id = c.id where u.manager_id is not null and c.depth < 1000)
    select id from chain where id = ${user.id} limit 1`.execute(ctx.db);
  if (rows.length) throw refuse(`${subjectOf(manager)} reports to ${subjectOf(user)} (directly or through others): making them ${subjectOf(user)}'s manager would make a loop`);
  return manager.id;
}

async function assertVersion(trx: Db, ctx: WorkspaceContext, id: string, ifMatch: string): Promise<void> {
  await trx.selectFrom("users").select("id").where("id", "=", id).forUpdate().execute();
  const now = await selectUser(trx, ctx.workspace.id, id);
  assertIfMatch(ifMatch, now ? userVersion(now) : null, "user");
}

export async function disableUser(ctx: WorkspaceContext, key: string): Promise<User> {
  const { warnings: _none, ...user } = await updateUser(ctx, key, { enabled: false });
  return user;
}

export async function deleteUser(ctx: WorkspaceContext, key: string): Promise<User> {
  const before = await getUser(ctx, key);
  await ctx.db.transaction().execute(async (trx) => {
    await markForNextSync(trx, [before]);
    await logUsersLeavingGroups(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, users: sql`select ${before.id}::uuid`, reason: `${subjectOf(before)} was deleted` });
    await logReportsLosingManager(trx, { workspaceId: ctx.workspace.id, runId: null, actor: ctx.actor, deleted: sql`select ${before.id}::uuid`, reason: `the manager, ${subjectOf(before)}, was deleted` });
    await trx.deleteFrom("users").where("id", "=", before.id).execute();
    await recordChange(trx, { workspaceId: ctx.workspace.id, actor: ctx.actor, userId: before.id, subject: subjectOf(before), action: "delete", before });
  });
  return before;
}

/**
 * A synced user changed or deleted here is looked at again by the next sync, delta or full (runs plan the
 * dirty marks): a deleted one comes back, a field the source owns (enabled, mapped aliases, cards or
 * attributes) is set back to what Entra ID says. One that has left Entra ID (no mirror row; disabled, the
 * default on-remove) and is enabled here by hand is disabled again.
 */
export async function markForNextSync(trx: WorkspaceContext["db"], users: User[]): Promise<void> {
  const ids = users.filter((u) => u.source.type === "entra").map((u) => u.id);
  if (ids.length === 0) return;
  await markDirtyOutsideRun(trx, sql`select source_id, external_id as id from users where id = any(${ids}::uuid[]) and source_id is not null and external_id is not null`);
}

export function subjectOf(user: Pick<User, "email" | "userPrincipalName" | "displayName">): string {
  return user.email ?? user.userPrincipalName ?? user.displayName;
}

async function assertNoHolders(
  ctx: WorkspaceContext,
  value: { email?: string | null; userPrincipalName?: string | null; aliases?: string[]; cardNumbers?: string[] },
  exceptUserId: string | null,
): Promise<void> {
  const holders = await findHolders(ctx.db, ctx.workspace.id, value, exceptUserId);
  if (holders.length === 0) return;
  const problems: FieldProblem[] = holders.map(({ field, value: v, holder }) => ({
    field,
    message: `"${v}" already belongs to ${holder.displayName}${holder.email ? ` <${holder.email}>` : ""} (user ${holder.id})`,
    value: v,
  }));
  throw new RollcallError("conflict", problems.map((p) => `${p.field}: ${p.message}`).join("; "), {
    fields: problems,
    conflictsWith: holders.map((h) => h.holder),
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
