import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { RollcallError, invalidInput, notFound } from "../errors.ts";
import { hashToken, randomToken } from "../security/hashing.ts";
import type { Role } from "../storage/schema.ts";
import type { Workspace } from "./workspaces.ts";
import { recordChange } from "./change-log.ts";
import { tokenNameProblem } from "../domain/actor.ts";

/** API tokens for scripts: scoped to one workspace and one role; only a hash is stored. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  workspace: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** After this the token is refused; null: it never expires. */
  expiresAt: string | null;
}

const roles: Role[] = ["admin", "viewer"];

/** `createdBy`: the signed-in account creating it (none for the CLI on the server): the token works while they hold its role. */
export async function createApiToken(db: Db, workspace: Workspace, input: { name?: string; role?: string; expiresInDays?: number | undefined }, actor: string, createdBy: string | null = null): Promise<ApiToken & { token: string }> {
  const role = (input.role ?? "admin") as Role;
  if (!roles.includes(role)) throw invalidInput([{ field: "role", message: `must be one of ${roles.join(", ")}`, value: input.role }]);
  const days = input.expiresInDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
    throw invalidInput([{ field: "expiresInDays", message: "must be a whole number of days from 1 to 3650 (leave it out for a token that never expires)", value: String(days) }]);
  }
  const name = input.name?.trim() || `token ${new Date().toISOString().slice(0, 16)}`;
  if (name.length > 100) throw invalidInput([{ field: "name", message: "must be at most 100 characters" }]);
  const misleading = tokenNameProblem(name);
  if (misleading) throw invalidInput([{ field: "name", message: misleading, value: name }]);
  const token = randomToken("rc_");
  const row = await db.transaction().execute(async (trx) => {
    const created = await trx
      .insertInto("api_tokens")
      .values({ workspace_id: workspace.id, name, role, token_hash: hashToken(token), created_by_account_id: createdBy, expires_at: days === undefined ? null : sql<Date>`now() + ${`${days} days`}::interval` })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordChange(trx, { workspaceId: workspace.id, actor, subject: name, action: "create token", after: { name, role, ...(created.expires_at && { expiresAt: new Date(created.expires_at).toISOString() }) } });
    return created;
  });
  return { ...present(row, workspace.name), token };
}

export async function listApiTokens(db: Db, workspace: Workspace): Promise<ApiToken[]> {
  const rows = await db.selectFrom("api_tokens").selectAll().where("workspace_id", "=", workspace.id).orderBy("created_at", "desc").execute();
  return rows.map((r) => present(r, workspace.name));
}

/** `refuse`: called once the token is found (an id of another workspace is not found first, whoever asks). */
export async function revokeApiToken(db: Db, workspace: Workspace, id: string, actor: string, refuse?: () => void): Promise<ApiToken> {
  const token = await db.selectFrom("api_tokens").selectAll().where("workspace_id", "=", workspace.id).where(sql<boolean>`id::text = ${id}`).executeTakeFirst();
  if (!token) throw notFound("token", id);
  refuse?.();
  if (token.revoked_at) return present(token, workspace.name); // revoked already: nothing to do, nothing to log
  const row = await db.transaction().execute(async (trx) => {
    const revoked = await trx.updateTable("api_tokens").set({ revoked_at: sql`coalesce(revoked_at, now())` }).where("id", "=", token.id).returningAll().executeTakeFirstOrThrow();
    await recordChange(trx, { workspaceId: workspace.id, actor, subject: revoked.name, action: "revoke token", before: { name: revoked.name, role: revoked.role } });
    return revoked;
  });
  return present(row, workspace.name);
}

/**
 * The workspace and role a bearer token grants, or an unauthenticated error. A token created by a signed-in person
 * works only while that person holds its role there (an owner, an admin for an admin token, any role for a viewer
 * token) and, synced from Entra ID, is enabled: their tokens stop when they leave, are disabled or demoted.
 */
export async function authenticateApiToken(db: Db, token: string): Promise<{ workspaceId: string; role: Role; tokenId: string; name: string; createdBy: string | null }> {
  const row = await db
    .selectFrom("api_tokens as t")
    .leftJoin("accounts as a", "a.id", "t.created_by_account_id")
    .leftJoin("users as u", "u.id", "a.user_id")
    .leftJoin("workspace_roles as r", (join) => join.onRef("r.account_id", "=", "a.id").onRef("r.workspace_id", "=", "t.workspace_id"))
    .select(["t.id", "t.workspace_id", "t.role", "t.revoked_at", "t.name", sql<boolean>`t.expires_at <= now()`.as("expired"), "t.expires_at", "t.created_by_account_id"])
    .select(["a.id as creator", "a.email as creator_email", "a.is_owner", "a.user_id", "a.sign_in_blocked_at", "u.enabled as creator_enabled", "r.role as creator_role"])
    .where("t.token_hash", "=", hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at) throw new RollcallError("unauthenticated", "The API token is unknown or has been revoked; create a new one with `rollcall tokens create`");
  if (row.expired) throw new RollcallError("unauthenticated", `The API token "${row.name}" expired on ${new Date(row.expires_at!).toISOString()}; create a new one with \`rollcall tokens create\``);
  if (row.created_by_account_id) {
    const holds = row.creator !== null && !row.sign_in_blocked_at && (row.user_id === null || row.creator_enabled === true)
      && (row.is_owner === true || row.creator_role === "admin" || (row.role === "viewer" && row.creator_role === "viewer"));
    if (!holds) {
      const who = row.creator_email ?? "an account since deleted";
      throw new RollcallError("unauthenticated", `The API token "${row.name}" was created by ${who}, who no longer holds its ${row.role} role in this workspace; an admin creates a new one`);
    }
  }
  await db.updateTable("api_tokens").set({ last_used_at: sql`now()` }).where("id", "=", row.id).execute();
  return { workspaceId: row.workspace_id, role: row.role, tokenId: row.id, name: row.name, createdBy: row.creator_email };
}

function present(
  row: { id: string; name: string; role: Role; created_at: Date; last_used_at: Date | null; revoked_at: Date | null; expires_at: Date | null },
  workspace: string,
): ApiToken {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return { id: row.id, name: row.name, role: row.role, workspace, createdAt: iso(row.created_at)!, lastUsedAt: iso(row.last_used_at), revokedAt: iso(row.revoked_at), expiresAt: iso(row.expires_at) };
}
