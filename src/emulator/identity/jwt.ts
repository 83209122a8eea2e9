// Minting tokens with Microsoft's claims. App-only and delegated Graph access tokens (v1.0 shape:
// appid, roles/scp, idtyp) and v2.0 ID tokens. Graph tokens are opaque to clients; the emulator's
// Graph validates them (signature, audience, expiry).
import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import type { SigningKeys } from "./keys.ts";

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

function uti(): string {
  return randomBytes(16).toString("base64url").slice(0, 22);
}

async function sign(keys: SigningKeys, claims: Record<string, unknown>): Promise<string> {
  const k = keys.active;
  return new SignJWT(claims).setProtectedHeader({ typ: "JWT", alg: "RS256", kid: k.kid, x5t: k.kid }).sign(k.privateKey);
}

export interface AppTokenInput {
  issuerBase: string; tenantId: string; clientId: string; appName: string; spObjectId: string;
  audience: string; roles: string[]; lifetime: number;
}

export async function appAccessToken(keys: SigningKeys, i: AppTokenInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    aud: i.audience, iss: `${i.issuerBase}/${i.tenantId}/v2.0`, iat: now, nbf: now, exp: now + i.lifetime,
    aio: randomBytes(24).toString("base64"), app_displayname: i.appName, appid: i.clientId, azp: i.clientId, appidacr: "1",
    idp: `https://sts.windows.net/${i.tenantId}/`, idtyp: "app", oid: i.spObjectId, rh: "0.AAAA.", sub: i.spObjectId,
    tenant_region_scope: "EU", tid: i.tenantId, uti: uti(), ver: "1.0", xms_tcdt: 1600000000,
  };
  if (i.roles.length) claims.roles = i.roles;
  return sign(keys, claims);
}

export interface UserTokenInput {
  issuerBase: string; tenantId: string; clientId: string; appName: string;
  user: { id: string; userPrincipalName: string; displayName: string | null; givenName: string | null; surname: string | null; mail: string | null };
  lifetime: number;
  /** The sign-in's browser session id: the same in the ID and access tokens of one session ("sid"). */
  sid: string;
}

export async function userAccessToken(keys: SigningKeys, i: UserTokenInput & { audience: string; scopes: string[] }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(keys, {
    aud: i.audience, iss: `${i.issuerBase}/${i.tenantId}/v2.0`, iat: now, nbf: now, exp: now + i.lifetime,
    acct: 0, acr: "1", aio: randomBytes(24).toString("base64"), amr: ["pwd"], app_displayname: i.appName,
    appid: i.clientId, azp: i.clientId, appidacr: "1", family_name: i.user.surname ?? undefined, given_name: i.user.givenName ?? undefined,
    idtyp: "user", name: i.user.displayName ?? undefined, oid: i.user.id, platf: "3", rh: "0.AAAA.",
    scp: i.scopes.join(" "), sid: i.sid, sub: pairwiseSub(i.clientId, i.user.id), tid: i.tenantId,
    unique_name: i.user.userPrincipalName, upn: i.user.userPrincipalName, uti: uti(), ver: "1.0",
  });
}

export function pairwiseSub(clientId: string, oid: string): string {
  return createHash("sha256").update(`${clientId}:${oid}`).digest("base64url").slice(0, 43);
}

/** `loginHint`: the login_hint optional claim's value, for an app whose token configuration adds it. */
export async function idToken(keys: SigningKeys, i: UserTokenInput & { nonce?: string; scopes: string[]; loginHint?: string | undefined }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    aud: i.clientId, iss: `${i.issuerBase}/${i.tenantId}/v2.0`, iat: now, nbf: now, exp: now + 3600,
    aio: randomBytes(24).toString("base64"), name: i.user.displayName ?? undefined, oid: i.user.id,
    preferred_username: i.user.userPrincipalName, rh: "0.AAAA.", sid: i.sid, sub: pairwiseSub(i.clientId, i.user.id),
    tid: i.tenantId, uti: uti(), ver: "2.0",
  };
  if (i.nonce !== undefined) claims.nonce = i.nonce;
  if (i.scopes.includes("email") && i.user.mail) claims.email = i.user.mail;
  if (i.loginHint !== undefined) claims.login_hint = i.loginHint;
  // "The profile scope is required to receive this claim", for all three; for oid "because the oid allows multiple apps
  // to correlate principals" (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
  if (!i.scopes.includes("profile")) {
    delete claims.name;
    delete claims.preferred_username;
    delete claims.oid;
    delete claims.login_hint;
  }
  return sign(keys, claims);
}
