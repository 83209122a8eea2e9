import type { Db } from "../storage/database.ts";
import type { Role } from "../storage/schema.ts";
import { blockSignIn, grantRole } from "../core/accounts.ts";
import { getUser } from "../core/users.ts";
import { toWorkspace, type Workspace } from "../core/workspaces.ts";
import { invalidInput, notFound } from "../errors.ts";

/** Synced users as people who sign in: the account a user has, and the role it holds in the user's workspace. */

/** The directory user an account speaks for, or null for a local admin account. */
export async function linkedUser(db: Db, accountId: string) {
  const row = await db
    .selectFrom("accounts as a")
    .innerJoin("users as u", "u.id", "a.user_id")
    .innerJoin("workspaces as w", "w.id", "u.workspace_id")
    .select(["u.id as user_id", "w.id", "w.name", "w.default_country", "w.created_at"])
    .where("a.id", "=", accountId)
    .executeTakeFirst();
  if (!row) return null;
  const workspace = toWorkspace(row);
  return { workspace, user: await getUser({ db, workspace }, row.user_id) };
}

/** What a synced user may do in the console: a role, or "none" once an admin removed their access (the sync never undoes it). */
export type ConsoleAccess = Role | "none";

/** A synced user's access to their workspace; null until they first sign in (they then become a viewer) or are given one. */
export async function getUserRole(db: Db, workspace: Workspace, userKey: string): Promise<{ userId: string; displayName: string; role: ConsoleAccess | null }> {
  const user = await getUser({ db, workspace }, userKey);
  const row = await db
    .selectFrom("accounts as a")
    .leftJoin("workspace_roles as r", (join) => join.onRef("r.account_id", "=", "a.id").on("r.workspace_id", "=", workspace.id))
    .select(["r.role", "a.sign_in_blocked_at"])
    .where("a.user_id", "=", user.id)
    .executeTakeFirst();
  return { userId: user.id, displayName: user.displayName, role: row?.sign_in_blocked_at ? "none" : (row?.role ?? null) };
}

/**
 * Gives a synced user a role in their workspace: admin, or viewer (the default every synced user gets at first
 * sign-in), or takes their access away ("none": their sessions end, their API tokens stop, and signing in with
 * Microsoft is refused until they are given a role again; a disabled user comes back at the next sync, this does not).
 * Creates their account before their first sign-in if needed.
 */
export async function setUserRole(db: Db, workspace: Workspace, userKey: string, role: ConsoleAccess, actor: string): Promise<{ userId: string; displayName: string; role: ConsoleAccess }> {
  const user = await getUser({ db, workspace }, userKey);
  if (user.source.type !== "entra") throw invalidInput([{ field: "user", message: "only users synced from Entra ID sign in with Microsoft; local admins are managed with `rollcall admins`", value: userKey }]);
  const row = await db.selectFrom("users").select(["id", "display_name", "email", "user_principal_name"]).where("id", "=", user.id).executeTakeFirst();
  if (!row) throw notFound("user", userKey);
  const email = row.email ?? row.user_principal_name ?? row.id;
  const account = await db
    .insertInto("accounts")
    .values({ email, display_name: row.display_name, password_hash: null, is_owner: false, user_id: row.id })
    .onConflict((oc) => oc.column("user_id").where("user_id", "is not", null).doUpdateSet({ display_name: row.display_name }))
    .returning(["id", "sign_in_blocked_at"])
    .executeTakeFirstOrThrow();
  if (role === "none") {
    await blockSignIn(db, { accountId: account.id, subject: email, workspace, actor, userId: row.id });
  } else {
    if (account.sign_in_blocked_at) await db.updateTable("accounts").set({ sign_in_blocked_at: null }).where("id", "=", account.id).execute();
    await grantRole(db, { accountId: account.id, subject: email, workspace, role, actor, userId: row.id });
  }
  return { userId: row.id, displayName: row.display_name, role };
}
