import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config.ts";
import type { Db } from "../storage/database.ts";
import type { Role } from "../storage/schema.ts";
import { RollcallError } from "../errors.ts";
import { authenticateApiToken } from "../core/tokens.ts";
import { tokenActor } from "../domain/actor.ts";
import { deleteSession, findSession, sameSecret, type Account } from "../core/accounts.ts";
import { listWorkspaces, resolveWorkspace, type Workspace } from "../core/workspaces.ts";

/** Who is calling: an admin's browser session or a script's workspace-scoped API token. */
export type Principal =
  | { kind: "session"; sessionId: string; account: Account; csrfToken: string; expiresAt: string }
  | { kind: "token"; tokenId: string; name: string; createdBy: string | null; workspaceId: string; role: Role };

export const sessionCookie = "rollcall_session";
/** Sessions handed to native clients (`rollcall login`) are sent as `Authorization: Bearer rcs_…`. */
export const bearerSessionPrefix = "rcs_";
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The caller, or undefined when the request carries no credentials. Bad credentials are an error,
 * never a silent fall back to anonymous. A cookie session must echo its CSRF token on every
 * state-changing request; a bearer token cannot be sent by a browser on its own, so needs none.
 */
export async function authenticate(db: Db, request: FastifyRequest): Promise<Principal | undefined> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new RollcallError("unauthenticated", 'The Authorization header must be "Bearer <token>"');
    if (match[1]!.startsWith(bearerSessionPrefix)) {
      // A native client's session (rollcall login): a bearer credential, so no CSRF token is needed.
      const session = await findSession(db, match[1]!);
      if (!session) throw new RollcallError("unauthenticated", "Your session has expired or you have signed out; run `rollcall login` again");
      return { kind: "session", sessionId: match[1]!, ...session };
    }
    const token = await authenticateApiToken(db, match[1]!);
    return { kind: "token", tokenId: token.tokenId, name: token.name, createdBy: token.createdBy, workspaceId: token.workspaceId, role: token.role };
  }
  const sessionId = request.cookies[sessionCookie];
  if (!sessionId) return undefined;
  const session = await findSession(db, sessionId);
  if (!session) throw new RollcallError("unauthenticated", "Your session has expired or you have signed out; sign in again");
  if (!safeMethods.has(request.method)) {
    const sent = request.headers["x-csrf-token"];
    if (typeof sent !== "string" || !sameSecret(sent, session.csrfToken)) {
      throw new RollcallError("csrf_failed", "This change needs the X-CSRF-Token header with the csrfToken you received at sign-in (or from GET /api/v1/auth/me)");
    }
  }
  return { kind: "session", sessionId, ...session };
}

export function requirePrincipal(principal: Principal | undefined): Principal {
  if (!principal) throw new RollcallError("unauthenticated", "Sign in (POST /api/v1/auth/login) or send an API token as Authorization: Bearer <token>");
  return principal;
}

export function actorOf(principal: Principal): string {
  return principal.kind === "session" ? principal.account.email : tokenActor(principal.name, principal.createdBy);
}

async function roleIn(db: Db, principal: Principal, workspace: Workspace): Promise<Role | undefined> {
  if (principal.kind === "token") return principal.workspaceId === workspace.id ? principal.role : undefined;
  if (principal.account.isOwner) return "admin";
  const row = await db
    .selectFrom("workspace_roles")
    .select("role")
    .where("account_id", "=", principal.account.id)
    .where("workspace_id", "=", workspace.id)
    .executeTakeFirst();
  return row?.role;
}

/**
 * The workspace named in the URL if the caller may use it. A workspace the caller cannot see
 * answers exactly like one that does not exist, so names cannot be probed.
 */
export async function authorizeWorkspace(db: Db, principal: Principal, key: string, write: boolean): Promise<{ workspace: Workspace; role: Role }> {
  const hidden = () => new RollcallError("not_found", `Workspace "${key}" does not exist or you have no access to it`, { resource: "workspace", key });
  const workspace = await resolveWorkspace(db, key).catch((error: unknown) => {
    throw error instanceof RollcallError && error.code === "not_found" ? hidden() : error;
  });
  const role = await roleIn(db, principal, workspace);
  if (!role) throw hidden();
  if (write && role !== "admin") throw new RollcallError("forbidden", `You have the viewer role in workspace "${workspace.name}": you can read but not change it`, { role });
  return { workspace, role };
}

/** Every workspace the caller can see, with the role it holds there. */
export async function visibleWorkspaces(db: Db, principal: Principal): Promise<(Workspace & { role: Role })[]> {
  if (principal.kind === "token") return (await listWorkspaces(db, [principal.workspaceId])).map((w) => ({ ...w, role: principal.role }));
  if (principal.account.isOwner) return (await listWorkspaces(db)).map((w) => ({ ...w, role: "admin" as const }));
  const roles = await db.selectFrom("workspace_roles").select(["workspace_id", "role"]).where("account_id", "=", principal.account.id).execute();
  const byId = new Map(roles.map((r) => [r.workspace_id, r.role]));
  return (await listWorkspaces(db, [...byId.keys()])).map((w) => ({ ...w, role: byId.get(w.id)! }));
}

export function requireOwner(principal: Principal): void {
  if (principal.kind !== "session" || !principal.account.isOwner) {
    throw new RollcallError("forbidden", "Only an owner account can do this (API tokens and workspace admins cannot)");
  }
}

const loopbackHost = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/**
 * Secure unless told otherwise, or (auto) the request came over plain http to a loopback address,
 * where browsers would drop a Secure cookie and nothing crosses the network anyway.
 */
export function cookieIsSecure(config: Pick<Config, "cookieSecure" | "publicUrl">, request: FastifyRequest): boolean {
  if (config.cookieSecure !== "auto") return config.cookieSecure === "true";
  if (config.publicUrl?.startsWith("https:") || request.protocol === "https") return true;
  return !loopbackHost.test(request.hostname);
}

/**
 * Signs the browser in to a new session and ends the one its cookie held, if any: a session left behind by the
 * person before (a shared computer) must not stay usable for the rest of its hours (OWASP: renew on sign-in).
 */
export async function startBrowserSession(db: Db, reply: FastifyReply, request: FastifyRequest, config: Config, sessionId: string): Promise<void> {
  const previous = request.cookies[sessionCookie];
  if (previous && previous !== sessionId) await deleteSession(db, previous);
  setSessionCookie(reply, request, config, sessionId);
}

function setSessionCookie(reply: FastifyReply, request: FastifyRequest, config: Config, sessionId: string): void {
  reply.setCookie(sessionCookie, sessionId, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: cookieIsSecure(config, request),
    maxAge: Math.round(config.sessionHours * 3600),
  });
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest, config: Config): void {
  reply.clearCookie(sessionCookie, { path: "/", httpOnly: true, sameSite: "lax", secure: cookieIsSecure(config, request) });
}
