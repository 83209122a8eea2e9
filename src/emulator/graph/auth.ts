// Bearer token validation (signature with our keys, audience, expiry, known tenant) and Microsoft's
// permission rules for the endpoints we serve.
import { jwtVerify, decodeProtectedHeader, createLocalJWKSet, type JWTPayload } from "jose";
import type { TenantEntry } from "../handle.ts";
import type { TenantRegistry } from "../registry.ts";
import type { SigningKeys } from "../identity/keys.ts";
import { GRAPH_APP_ID } from "../identity/jwt.ts";
import { GraphHttpError, denied } from "./errors.ts";
import { USER_PROP_PERMISSIONS } from "./schema.ts";

export interface Caller {
  entry: TenantEntry;
  clientId: string;
  /** "app" tokens carry roles; "user" (delegated) tokens carry scp and the signed-in user's oid. */
  kind: "app" | "user";
  permissions: Set<string>;
  userId?: string;
}

const unauth = (message: string): GraphHttpError =>
  new GraphHttpError(401, "InvalidAuthenticationToken", message, { "www-authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"' });

export class GraphAuth {
  /** Tokens verified already, with the key that signed them: one no longer published is refused (an emergency rollover). */
  private cache = new Map<string, { claims: JWTPayload; kid: string | undefined }>();
  private jwks: ReturnType<typeof createLocalJWKSet>;
  private jwksOf: SigningKeys["keys"];

  constructor(private registry: TenantRegistry, private keys: SigningKeys) {
    this.jwksOf = keys.keys;
    this.jwks = createLocalJWKSet(keys.jwks("x") as Parameters<typeof createLocalJWKSet>[0]);
  }

  /** The published keys as they are now (rolled over by SigningKeys.rotate). */
  private currentJwks(): ReturnType<typeof createLocalJWKSet> {
    if (this.jwksOf !== this.keys.keys) {
      this.jwksOf = this.keys.keys;
      this.jwks = createLocalJWKSet(this.keys.jwks("x") as Parameters<typeof createLocalJWKSet>[0]);
    }
    return this.jwks;
  }

  async authenticate(authorization: string | undefined, origin: string): Promise<Caller> {
    if (!authorization) throw unauth("Access token is empty.");
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (!m) throw unauth("Access token is empty.");
    const token = m[1] as string;
    const known = this.cache.get(token);
    if (known && known.kid !== undefined && !this.keys.byKid(known.kid)) {
      this.cache.delete(token);
      throw unauth("Access token validation failure. Invalid signature.");
    }
    let claims = known?.claims;
    if (!claims) {
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        throw unauth("IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.");
      }
      try {
        ({ payload: claims } = await jwtVerify(token, this.currentJwks(), { algorithms: ["RS256"], clockTolerance: 0 }));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "ERR_JWT_EXPIRED") throw unauth("Lifetime validation failed, the token is expired.");
        throw unauth("Access token validation failure. Invalid signature.");
      }
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(token, { claims, kid });
    }
    if (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      this.cache.delete(token);
      throw unauth("Lifetime validation failed, the token is expired.");
    }
    const aud = claims.aud;
    const okAud = [origin, "https://graph.microsoft.com", GRAPH_APP_ID, `${origin}/`, "https://graph.microsoft.com/"];
    if (typeof aud !== "string" || !okAud.includes(aud)) throw unauth("Access token validation failure. Invalid audience.");
    const entry = this.registry.find(String(claims.tid ?? ""));
    if (!entry) throw unauth("Access token validation failure. Invalid issuer.");
    const clientId = String(claims.appid ?? claims.azp ?? "");
    const sp = entry.sps.get(clientId);
    if (claims.idtyp === "user" || typeof claims.scp === "string") {
      // Delegated: what the token says, limited to what is still consented.
      const current = new Set(sp?.effectiveScopes() ?? []);
      const scopes = String(claims.scp ?? "").split(" ").filter((s) => current.has(s));
      return { entry, clientId, kind: "user", permissions: new Set(scopes), userId: String(claims.oid) };
    }
    // App-only: the token's roles, minus any revoked since it was issued (the emulator applies
    // revocation at once; Microsoft keeps honouring a token's roles until it expires).
    const current = new Set(sp?.effectiveRoles() ?? []);
    const roles = Array.isArray(claims.roles) ? (claims.roles as string[]).filter((r) => current.has(r)) : [];
    return { entry, clientId, kind: "app", permissions: new Set(roles) };
  }
}

// Not User.ReadBasic.All: Microsoft answers an app-only token holding only that 403 Authorization_RequestDenied on GET
// /users (the permission reference lists User.ReadBasic.All as delegated: https://learn.microsoft.com/graph/permissions-reference).
const READ_USERS = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const READ_GROUPS = ["Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const READ_MEMBERS = [...READ_GROUPS, "GroupMember.Read.All", "GroupMember.ReadWrite.All"];

export type Need = "users" | "groups" | "members" | "memberOf" | "me" | "deletedUsers" | "deletedGroups"
  | "restoreUsers" | "restoreGroups" | "purgeUsers" | "purgeGroups";

export function requirePermission(c: Caller, need: Need): void {
  const has = (list: string[]): boolean => list.some((p) => c.permissions.has(p));
  let ok: boolean;
  switch (need) {
    case "users": ok = has(READ_USERS); break;
    case "groups": ok = has(READ_MEMBERS); break; // GroupMember.Read.All also lists groups
    case "members": ok = has(READ_MEMBERS); break;
    // Any user or group permission (https://learn.microsoft.com/graph/api/user-list-transitivememberof#permissions); groups
    // the app may not read come with limited information (readsGroups).
    case "memberOf": ok = has(READ_USERS) || has(READ_MEMBERS); break;
    case "me": ok = c.kind === "user" && (c.permissions.has("User.Read") || has(READ_USERS)); break;
    // Deleted items: a user permission for users, a group one for groups, GroupMember.* not among them
    // (https://learn.microsoft.com/graph/api/directory-deleteditems-list#permissions).
    case "deletedUsers": ok = has(READ_USERS); break;
    case "deletedGroups": ok = has(READ_GROUPS); break;
    // Restore and permanent delete (https://learn.microsoft.com/graph/api/directory-deleteditems-restore#permissions,
    // https://learn.microsoft.com/graph/api/directory-deleteditems-delete#permissions): a group's permanent delete is delegated only.
    case "restoreUsers": ok = has(["User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"]); break;
    case "restoreGroups": ok = has(["Group.ReadWrite.All", "Directory.ReadWrite.All"]); break;
    case "purgeUsers": ok = has(["User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"]); break;
    case "purgeGroups": ok = c.kind === "user" && has(["Group.ReadWrite.All", "Directory.ReadWrite.All"]); break;
  }
  if (!ok) throw denied();
}

/**
 * Whether the caller may read groups' properties. Without, a directoryObject collection (memberOf) still lists them,
 * "but with limited information ... only the @odata.type property for the object type and the id is returned, while other
 * properties are indicated as null" (https://learn.microsoft.com/graph/api/user-list-memberof, "limited information").
 */
export function readsGroups(c: Caller): boolean {
  return READ_MEMBERS.some((p) => c.permissions.has(p));
}

/** A user property in `$select` that needs a permission of its own (signInActivity: AuditLog.Read.All) answers 403 without it. */
export function requireSelectedProperties(c: Caller, select: string | null): void {
  for (const p of (select ?? "").split(",")) {
    const needed = USER_PROP_PERMISSIONS[p.trim()];
    if (needed && !c.permissions.has(needed)) throw denied();
  }
}
