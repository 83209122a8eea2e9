// The browser's session at the login host (Microsoft's ESTSAUTH cookie): the accounts this browser has signed in
// with. It is what lets prompt=none sign someone in without a page, and what the sign-out page ends, one account
// at a time. The login_hint optional claim names one of those accounts, opaquely, for login_hint and logout_hint.
import { randomBytes, randomUUID } from "node:crypto";
import { header, type Req } from "../http.ts";

export const SESSION_COOKIE = "ESTSAUTH";

export interface SignedInAccount {
  tenantId: string;
  userId: string;
}

const sameAccount = (a: SignedInAccount, b: SignedInAccount) => a.tenantId === b.tenantId && a.userId === b.userId;

/** A browser session unused this long is forgotten (Microsoft's last about a day without "stay signed in"). */
const SESSION_IDLE_MS = 24 * 3600_000;

export class BrowserSessions {
  private sessions = new Map<string, SignedInAccount[]>();
  private lastUsed = new Map<string, number>();
  /** The session's id as tokens carry it (the `sid` claim): the same for every sign-in of this browser session. */
  private sids = new Map<string, string>();
  /** The apps (client ids) the session signed in to: those a sign-out tells, through their front-channel logout URL. */
  private apps = new Map<string, Set<string>>();

  /** The accounts signed in on the browser that sent `req`, oldest first. */
  accounts(req: Req): SignedInAccount[] {
    const id = sessionId(req) ?? "";
    if (this.sessions.has(id)) this.lastUsed.set(id, Date.now());
    return [...(this.sessions.get(id) ?? [])];
  }

  sweep(now = Date.now()): void {
    for (const [id, at] of this.lastUsed) {
      if (at + SESSION_IDLE_MS > now) continue;
      this.sessions.delete(id);
      this.lastUsed.delete(id);
      this.sids.delete(id);
      this.apps.delete(id);
    }
  }

  /** Adds the account to the browser's session (a new session if it has none): the Set-Cookie header to answer with, and its sid. */
  signIn(req: Req, account: SignedInAccount, clientId: string): { headers: Record<string, string>; sid: string } {
    const known = sessionId(req);
    const id = known && this.sessions.has(known) ? known : randomBytes(24).toString("base64url");
    const accounts = (this.sessions.get(id) ?? []).filter((a) => !sameAccount(a, account));
    this.sessions.set(id, [...accounts, account]);
    this.lastUsed.set(id, Date.now());
    const sid = this.sids.get(id) ?? randomUUID();
    this.sids.set(id, sid);
    this.apps.set(id, (this.apps.get(id) ?? new Set()).add(clientId));
    return { headers: { "set-cookie": `${SESSION_COOKIE}=${id}; path=/; secure; HttpOnly; SameSite=None` }, sid };
  }

  /** Signs the account out of the browser's session: the session's sid and the apps it signed in to, for front-channel logout. */
  signOut(req: Req, account: SignedInAccount): { sid: string; apps: string[] } | undefined {
    const id = sessionId(req);
    const accounts = id ? this.sessions.get(id) : undefined;
    if (!id || !accounts) return undefined;
    this.sessions.set(id, accounts.filter((a) => !sameAccount(a, account)));
    return { sid: this.sids.get(id)!, apps: [...(this.apps.get(id) ?? [])] };
  }
}

function sessionId(req: Req): string | undefined {
  for (const part of (header(req, "cookie") ?? "").split(";")) {
    const [name, value] = part.trim().split("=");
    if (name === SESSION_COOKIE && value) return value;
  }
  return undefined;
}

/**
 * The login_hint optional claim: "an opaque, reliable login hint claim that's base64 encoded. Don't modify this value"
 * (https://learn.microsoft.com/entra/identity-platform/optional-claims-reference). Microsoft's look like "O." and a
 * base64 protobuf of the account's ids; these do too (1: object id, 2: tenant id, 3: user name).
 */
export function loginHintClaim(account: SignedInAccount & { userPrincipalName: string }): string {
  const field = (tag: number, text: string) => {
    const bytes = Buffer.from(text, "utf8");
    return Buffer.concat([Buffer.from([(tag << 3) | 2, ...varint(bytes.length)]), bytes]);
  };
  return `O.${Buffer.concat([field(1, account.userId), field(2, account.tenantId), field(3, account.userPrincipalName)]).toString("base64")}`;
}

/** The account a login_hint claim (given back as login_hint or logout_hint) names; undefined for anything else. */
export function parseLoginHint(value: string): SignedInAccount | undefined {
  if (!value.startsWith("O.")) return undefined;
  const bytes = Buffer.from(value.slice(2), "base64");
  const fields = new Map<number, string>();
  for (let at = 0; at < bytes.length;) {
    const tag = bytes[at++]!;
    let length = 0;
    for (let shift = 0; at < bytes.length; shift += 7) {
      const b = bytes[at++]!;
      length |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if ((tag & 7) !== 2 || at + length > bytes.length) return undefined;
    fields.set(tag >> 3, bytes.subarray(at, at + length).toString("utf8"));
    at += length;
  }
  const userId = fields.get(1), tenantId = fields.get(2);
  return userId && tenantId ? { tenantId, userId } : undefined;
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
