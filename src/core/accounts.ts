import { randomBytes, timingSafeEqual } from "node:crypto";
import { sql } from "kysely";
import { isUniqueViolation, type Db } from "../storage/database.ts";
import type { Role } from "../storage/schema.ts";
import { RollcallError, invalidInput, notFound } from "../errors.ts";
import { hashSecret, hashToken, randomToken, verifySecret } from "../security/hashing.ts";
import { isValidEmail } from "../domain/user.ts";
import { translateDatabaseError } from "./context.ts";
import { recordChange } from "./change-log.ts";
import type { Workspace } from "./workspaces.ts";
import { isGuid } from "../domain/guid.ts";
import type { ChangeAction } from "../domain/change.ts";

/**
 * Admin accounts (people who run Rollcall, not the directory's users) and their browser sessions.
 * Owners administer every workspace; other accounts only the workspaces they hold a role in.
 */
export interface Account {
  id: string;
  email: string;
  displayName: string;
  isOwner: boolean;
  createdAt: string;
}

export interface WorkspaceGrant {
  workspaceId: string;
  workspace: string;
  role: Role;
}

type AccountRow = { id: string; email: string; display_name: string; is_owner: boolean; created_at: Date };

export function toAccount(row: AccountRow): Account {
  return { id: row.id, email: row.email, displayName: row.display_name, isOwner: row.is_owner, createdAt: new Date(row.created_at).toISOString() };
}

/** 24 URL-safe characters, 144 bits: strong enough that no policy beyond "use this" is needed. */
export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

const minPasswordLength = 12;

export async function findAccount(db: Db, email: string): Promise<Account | undefined> {
  const row = await db.selectFrom("accounts").selectAll().where(sql<boolean>`lower(email) = lower(${email})`).where("user_id", "is", null).executeTakeFirst();
  return row && toAccount(row);
}

export async function listAccounts(db: Db): Promise<(Account & { workspaces: WorkspaceGrant[] })[]> {
  // Password accounts only: a synced user's account (user_id set) is managed on their user page (role), never here.
  const rows = await db.selectFrom("accounts").selectAll().where("user_id", "is", null).orderBy(sql`lower(email)`).execute();
  return Promise.all(rows.map(async (row) => ({ ...toAccount(row), workspaces: await accountGrants(db, row.id) })));
}

/**
 * Creates the first owner when there are no accounts at all. Returns the password only when it was
 * generated here (the caller shows it once); `null` when accounts already exist.
 */
export async function ensureFirstAdmin(db: Db, input: { email: string; password?: string | undefined }): Promise<{ account: Account; password: string | null } | null> {
  const existing = await db.selectFrom("accounts").select("id").limit(1).executeTakeFirst();
  if (existing) return null;
  const password = input.password ?? generatePassword();
  try {
    const row = await db
      .insertInto("accounts")
      .values({ email: input.email, display_name: "Administrator", password_hash: await hashSecret(password), is_owner: true })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { account: toAccount(row), password: input.password ? null : password };
  } catch (error) {
    // Another process sharing the PostgreSQL server created it between our check and insert.
    if (isUniqueViolation(error)) return null;
    throw error;
  }
}

export async function createAccount(
  db: Db,
  input: { email: string; displayName?: string | undefined; owner?: boolean | undefined; workspace?: Workspace | undefined; role?: string | undefined; password?: string | undefined },
  actor: string,
): Promise<{ account: Account; password: string; workspaces: WorkspaceGrant[] }> {
  const email = input.email.trim();
  if (!isValidEmail(email)) throw invalidInput([{ field: "email", message: `"${email}" is not a valid email address`, value: email }]);
  const role = checkRole(input.role ?? "admin");
  if (!input.owner && !input.workspace) {
    throw invalidInput([{ field: "workspace", message: "is required for an account that is not an owner (give a workspace, or make it an owner)" }]);
  }
  if (input.password !== undefined && input.password.length < minPasswordLength) {
    throw invalidInput([{ field: "password", message: `must be at least ${minPasswordLength} characters` }]);
  }
  if (await findAccount(db, email)) throw new RollcallError("conflict", `An account for ${email} already exists; reset its password instead`, { field: "email", value: email });
  const password = input.password ?? generatePassword();
  const passwordHash = await hashSecret(password);
  const account = await db
    .transaction()
    .execute(async (trx) => {
      const row = await trx
        .insertInto("accounts")
        .values({ email, display_name: input.displayName?.trim() || email, password_hash: passwordHash, is_owner: input.owner ?? false })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (input.workspace) {
        await trx.insertInto("workspace_roles").values({ account_id: row.id, workspace_id: input.workspace.id, role }).execute();
        await recordAccess(trx, input.workspace.id, actor, { subject: email, action: "grant access", after: { role, signIn: "password" } });
      }
      return toAccount(row);
    })
    .catch(translateDatabaseError);
  return { account, password, workspaces: await accountGrants(db, account.id) };
}

export async function resetPassword(db: Db, email: string, actor: string, password?: string): Promise<{ account: Account; password: string }> {
  const account = await findAccount(db, email);
  if (!account) throw notFound("account", email);
  if (password !== undefined && password.length < minPasswordLength) {
    throw invalidInput([{ field: "password", message: `must be at least ${minPasswordLength} characters` }]);
  }
  const next = password ?? generatePassword();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("accounts").set({ password_hash: await hashSecret(next) }).where("id", "=", account.id).execute();
    // A reset is usually "someone may know the old one": end every session it opened.
    await trx.deleteFrom("sessions").where("account_id", "=", account.id).execute();
    for (const grant of await accountGrants(trx, account.id)) {
      await recordAccess(trx, grant.workspaceId, actor, { subject: account.email, action: "reset password", after: { message: "a new password was issued and the account's sessions were ended" } });
    }
  });
  return { account, password: next };
}

export async function accountGrants(db: Db, accountId: string): Promise<WorkspaceGrant[]> {
  const rows = await db
    .selectFrom("workspace_roles as r")
    .innerJoin("workspaces as w", "w.id", "r.workspace_id")
    .select(["r.workspace_id", "w.name", "r.role"])
    .where("r.account_id", "=", accountId)
    .orderBy(sql`lower(w.name)`)
    .execute();
  return rows.map((r) => ({ workspaceId: r.workspace_id, workspace: r.name, role: r.role }));
}

function checkRole(role: string): Role {
  if (role !== "admin" && role !== "viewer") throw invalidInput([{ field: "role", message: "must be admin or viewer", value: role }]);
  return role;
}

// Verifying against this when the email is unknown keeps the two failures equally slow.
let dummyHash: Promise<string> | undefined;

/** The account for these credentials. The error never says which of the two was wrong. */
export async function verifyLogin(db: Db, email: string, password: string): Promise<Account> {
  // Accounts of synced users (user_id set) have no password: they sign in with Microsoft only.
  const row = await db.selectFrom("accounts").selectAll().where(sql<boolean>`lower(email) = lower(${email.trim()})`).where("user_id", "is", null).executeTakeFirst();
  dummyHash ??= hashSecret(generatePassword());
  const ok = await verifySecret(password, row?.password_hash ?? (await dummyHash));
  if (!row || !row.password_hash || !ok) throw new RollcallError("unauthenticated", "The email or password is incorrect");
  return toAccount(row);
}

export interface Session {
  account: Account;
  csrfToken: string;
  expiresAt: string;
}

/**
 * A new session; only the hash of its id is stored, so a database leak does not hand out sessions.
 * `microsoftLoginHint`: the login_hint claim of the ID token a Microsoft sign-in came with, if the app adds it.
 */
export async function createSession(db: Db, account: Account, hours: number, options: { prefix?: string; microsoftLoginHint?: string | null; microsoftSid?: string | null } = {}): Promise<Session & { id: string }> {
  const id = randomToken(options.prefix ?? "", 32);
  const csrfToken = randomToken("", 24);
  const expiresAt = new Date(Date.now() + hours * 3600_000);
  await db.deleteFrom("sessions").where("expires_at", "<", new Date()).execute();
  await db.insertInto("sessions").values({ id_hash: hashToken(id), account_id: account.id, csrf_token: csrfToken, expires_at: expiresAt, microsoft_login_hint: options.microsoftLoginHint ?? null, microsoft_sid: options.microsoftSid ?? null }).execute();
  return { id, account, csrfToken, expiresAt: expiresAt.toISOString() };
}

export async function findSession(db: Db, id: string): Promise<Session | undefined> {
  const row = await db
    .selectFrom("sessions as s")
    .innerJoin("accounts as a", "a.id", "s.account_id")
    .select(["a.id", "a.email", "a.display_name", "a.is_owner", "a.created_at", "s.csrf_token", "s.expires_at"])
    .where("s.id_hash", "=", hashToken(id))
    .where("s.expires_at", ">", new Date())
    // A synced user's session lasts only while Rollcall has them enabled (deleting them deletes the account)
    // and their source still signs people in: not once sign-in is turned off or the source removed (users kept).
    .where((eb) =>
      eb.or([
        eb("a.user_id", "is", null),
        eb.exists(
          eb
            .selectFrom("users as u")
            .innerJoin("sources as src", "src.id", "u.source_id")
            .select("u.id")
            .whereRef("u.id", "=", "a.user_id")
            .where("u.enabled", "=", true)
            .where(sql<boolean>`(src.config->>'signIn')::boolean is true`),
        ),
      ]),
    )
    .executeTakeFirst();
  if (!row) return undefined;
  return { account: toAccount(row), csrfToken: row.csrf_token, expiresAt: new Date(row.expires_at).toISOString() };
}

/**
 * Front-channel logout: Microsoft's sign-out page loads the app's front-channel logout URL with the `sid` of the
 * browser session that signed out (in a hidden iframe, without the app's cookies), and every session it opened ends.
 */
export async function endMicrosoftSessions(db: Db, sid: string): Promise<number> {
  const ended = await db.deleteFrom("sessions").where("microsoft_sid", "=", sid).returning("id_hash").execute();
  return ended.length;
}

/** Ends the session; what is left of it: the login_hint of a Microsoft sign-in, for signing out there too. */
export async function deleteSession(db: Db, id: string): Promise<{ microsoftLoginHint: string | null }> {
  const row = await db.deleteFrom("sessions").where("id_hash", "=", hashToken(id)).returning("microsoft_login_hint").executeTakeFirst();
  return { microsoftLoginHint: row?.microsoft_login_hint ?? null };
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** An admin changes their own password: the current one must be right; their other sessions end. */
export async function changePassword(db: Db, account: Account, input: { currentPassword: string; newPassword: string }, keepSessionId?: string): Promise<void> {
  await verifyLogin(db, account.email, input.currentPassword).catch(() => {
    throw invalidInput([{ field: "currentPassword", message: "is not your current password" }]);
  });
  if (input.newPassword.length < minPasswordLength) throw invalidInput([{ field: "newPassword", message: `must be at least ${minPasswordLength} characters` }]);
  if (input.newPassword === input.currentPassword) throw invalidInput([{ field: "newPassword", message: "must differ from the current password" }]);
  const passwordHash = await hashSecret(input.newPassword);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("accounts").set({ password_hash: passwordHash }).where("id", "=", account.id).execute();
    let others = trx.deleteFrom("sessions").where("account_id", "=", account.id);
    if (keepSessionId) others = others.where("id_hash", "<>", hashToken(keepSessionId));
    await others.execute();
  });
}


/** A local (password) account by id or email, with its workspace roles. */
export async function getAccount(db: Db, key: string): Promise<Account & { workspaces: WorkspaceGrant[] }> {
  const row = await db
    .selectFrom("accounts")
    .selectAll()
    .where("user_id", "is", null)
    .where((eb) => (isGuid(key) ? eb("id", "=", key) : sql<boolean>`lower(email) = lower(${key})`))
    .executeTakeFirst();
  if (!row) throw notFound("account", key);
  return { ...toAccount(row), workspaces: await accountGrants(db, row.id) };
}

export async function setWorkspaceRole(db: Db, account: Account, workspace: Workspace, role: string, actor: string): Promise<WorkspaceGrant[]> {
  await grantRole(db, { accountId: account.id, subject: account.email, workspace, role: checkRole(role), actor });
  return accountGrants(db, account.id);
}

/**
 * Gives an account a role in a workspace (a password account, or a synced user who signs in with Microsoft),
 * recording a grant or a change of role in the workspace's activity; the same role again records nothing.
 */
export async function grantRole(db: Db, grant: { accountId: string; subject: string; workspace: Workspace; role: Role; actor: string; userId?: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom("workspace_roles").select("role").where("account_id", "=", grant.accountId).where("workspace_id", "=", grant.workspace.id).forUpdate().executeTakeFirst();
    if (before?.role === grant.role) return;
    await trx
      .insertInto("workspace_roles")
      .values({ account_id: grant.accountId, workspace_id: grant.workspace.id, role: grant.role })
      .onConflict((oc) => oc.columns(["account_id", "workspace_id"]).doUpdateSet({ role: grant.role }))
      .execute();
    await recordAccess(trx, grant.workspace.id, grant.actor, {
      subject: grant.subject,
      userId: grant.userId,
      action: before ? "change access" : "grant access",
      before: before ? { role: before.role } : null,
      after: { role: grant.role, signIn: grant.userId ? "microsoft" : "password" },
    });
  });
}

/** Takes a synced person's access away: no role, no session, refused at sign-in until given a role again. */
export async function blockSignIn(db: Db, block: { accountId: string; subject: string; workspace: Workspace; actor: string; userId: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom("accounts").select("sign_in_blocked_at").where("id", "=", block.accountId).forUpdate().executeTakeFirstOrThrow();
    await trx.updateTable("accounts").set({ sign_in_blocked_at: sql`now()` }).where("id", "=", block.accountId).where("sign_in_blocked_at", "is", null).execute();
    const removed = await trx.deleteFrom("workspace_roles").where("account_id", "=", block.accountId).where("workspace_id", "=", block.workspace.id).returning("role").executeTakeFirst();
    await trx.deleteFrom("sessions").where("account_id", "=", block.accountId).execute();
    if (before.sign_in_blocked_at && !removed) return; // blocked already: nothing to log
    await recordAccess(trx, block.workspace.id, block.actor, { subject: block.subject, userId: block.userId, action: "revoke access", before: removed ? { role: removed.role } : null, after: { role: "none", signIn: "microsoft" } });
  });
}

export async function removeWorkspaceRole(db: Db, account: Account, workspace: Workspace, actor: string): Promise<WorkspaceGrant[]> {
  await db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom("workspace_roles").where("account_id", "=", account.id).where("workspace_id", "=", workspace.id).returning("role").executeTakeFirst();
    if (!removed) throw new RollcallError("not_found", `${account.email} has no role in workspace "${workspace.name}"`, { resource: "role" });
    await recordAccess(trx, workspace.id, actor, { subject: account.email, action: "revoke access", before: { role: removed.role } });
  });
  return accountGrants(db, account.id);
}

/** Who gained or lost access to a workspace, in its activity (never a password or a session). */
function recordAccess(db: Db, workspaceId: string, actor: string, entry: { subject: string; action: ChangeAction; userId?: string | undefined; before?: object | null; after?: object | null }): Promise<void> {
  return recordChange(db, { workspaceId, actor, ...entry });
}

/** Deletes an account (and so its sessions). Nobody deletes themselves, and the last owner stays. */
export async function deleteAccount(db: Db, account: Account, actingAccountId: string, actor: string): Promise<void> {
  if (account.id === actingAccountId) throw new RollcallError("invalid_input", "You cannot delete your own account; ask another owner", { field: "id" });
  await db.transaction().execute(async (trx) => {
    if (account.isOwner) {
      const { owners } = await trx.selectFrom("accounts").select(sql<number>`count(*)::int`.as("owners")).where("is_owner", "=", true).executeTakeFirstOrThrow();
      if (owners <= 1) throw new RollcallError("invalid_input", "This is the last owner account; make another account an owner first", { field: "id" });
    }
    for (const grant of await accountGrants(trx, account.id)) {
      await recordAccess(trx, grant.workspaceId, actor, { subject: account.email, action: "revoke access", before: { role: grant.role }, after: { message: "the account was deleted" } });
    }
    await trx.deleteFrom("accounts").where("id", "=", account.id).execute();
  });
}
