// State shared by the identity endpoints: tenants, signing keys, one-time authorization codes,
// refresh tokens and pending sign-in transactions.
import { randomBytes } from "node:crypto";
import type { TenantEntry } from "../handle.ts";
import type { TenantRegistry } from "../registry.ts";
import { BrowserSessions } from "./browser-session.ts";
import type { SigningKeys } from "./keys.ts";

export const SPECIAL_TENANTS = new Set(["common", "organizations", "consumers"]);
export const CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export interface AuthCode {
  clientId: string; tenantId: string; userId: string; redirectUri: string; scopes: string[];
  nonce?: string; challenge?: string; challengeMethod?: string; expiresAt: number; redeemed: boolean;
  /** The browser session's id: the `sid` of every token this sign-in leads to. */
  sid: string;
}
export interface RefreshGrant { clientId: string; tenantId: string; userId: string; scopes: string[]; expiresAt: number; sid: string }
export interface SignInTxn {
  tenantSegment: string; clientId: string; redirectUri: string; responseMode: string; scopes: string[];
  state?: string; nonce?: string; challenge?: string; challengeMethod?: string; expiresAt: number; kind: "signin" | "adminconsent";
}

export class IdentityContext {
  codes = new Map<string, AuthCode>();
  refreshTokens = new Map<string, RefreshGrant>();
  txns = new Map<string, SignInTxn>();
  browser = new BrowserSessions();
  /** Authorization codes live this long (Microsoft: about 10 minutes). */
  codeLifetimeMs = 10 * 60_000;

  constructor(readonly registry: TenantRegistry, readonly keys: SigningKeys) {}

  /** A tenant path segment: "common"/"organizations"/"consumers", a known tenant, or unknown. */
  resolve(segment: string): { special: string } | { entry: TenantEntry } | { unknown: string } {
    const s = segment.toLowerCase();
    if (SPECIAL_TENANTS.has(s)) return { special: s };
    if (s === CONSUMERS_TENANT_ID) return { special: "consumers" };
    const entry = this.registry.find(s);
    return entry ? { entry } : { unknown: segment };
  }

  newOpaque(bytes = 48): string {
    return randomBytes(bytes).toString("base64url");
  }

  sweep(now = Date.now()): void {
    for (const [k, v] of this.codes) if (v.expiresAt + 3600_000 < now) this.codes.delete(k);
    for (const [k, v] of this.txns) if (v.expiresAt < now) this.txns.delete(k);
    this.browser.sweep(now);
  }
}

/** Scopes split into OIDC ones and Graph permission names ("https://graph.microsoft.com/User.Read" → "User.Read"). */
export function splitScopes(scope: string, graphResources: string[]): { oidc: string[]; graph: string[]; unknown: string[] } {
  const oidc: string[] = [], graph: string[] = [], unknown: string[] = [];
  for (const s of scope.split(/\s+/).filter(Boolean)) {
    if (["openid", "profile", "email", "offline_access"].includes(s)) { oidc.push(s); continue; }
    const res = graphResources.find((r) => s.startsWith(`${r}/`));
    if (res) graph.push(s.slice(res.length + 1));
    else if (/^[A-Za-z]+\.[A-Za-z.]+$/.test(s)) graph.push(s);
    else unknown.push(s);
  }
  return { oidc, graph, unknown };
}

export function graphResources(origin: string): string[] {
  return ["https://graph.microsoft.com", origin, "00000003-0000-0000-c000-000000000000"];
}
