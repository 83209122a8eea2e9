// Sign-in for a native client (the CLI): its loopback redirect URI, and the one-time code it trades for a session.
import { createSession, sameSecret, toAccount, type Session } from "../core/accounts.ts";
import { invalidInput } from "../errors.ts";
import { hashToken } from "../security/hashing.ts";
import { refused } from "./oidc.ts";
import { pkceChallenge } from "./pkce.ts";
import type { SignInDeps } from "./signin.ts";

export interface NativeClient {
  /** The loopback URI the native client listens on (http://127.0.0.1:PORT/…, http://[::1]:PORT/… or http://localhost:PORT/…). */
  redirectUri: string;
  /** S256 challenge of the client's own verifier, checked when it redeems its one-time code. */
  challenge: string;
  state: string;
}

/** The native client's redirect URI, normalised, when it is a loopback http URL; refused otherwise. */
export function checkNativeRedirect(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidInput([{ field: "redirect_uri", message: "must be a URL", value: uri }]);
  }
  // RFC 8252 §7.3: loopback interface redirection, plain http, any port.
  if (url.protocol !== "http:" || !["127.0.0.1", "[::1]", "localhost"].includes(url.hostname) || url.username || url.password || url.hash) {
    throw invalidInput([{ field: "redirect_uri", message: "must be a loopback http URL (http://127.0.0.1:PORT/...)", value: uri }]);
  }
  return url.toString();
}

/** Where a native client's sign-in ends: the loopback URI it started with (checked then by checkNativeRedirect), and its state. */
export interface NativeLoopback {
  redirectUri: string;
  state: string | null;
}

/** The native client's loopback URI with `params` (a one-time code, or an RFC 6749 §4.1.2.1 error) and its state. */
export function toLoopback(loopback: NativeLoopback, params: Record<string, string>): string {
  const back = new URL(loopback.redirectUri);
  for (const [key, value] of Object.entries(params)) back.searchParams.set(key, value);
  if (loopback.state) back.searchParams.set("state", loopback.state);
  return back.toString();
}

/** A native client trades its one-time code (and the verifier of the challenge it sent) for a bearer session. */
export async function redeemNativeCode(deps: SignInDeps, input: { code: string; codeVerifier: string }): Promise<Session & { id: string }> {
  const bad = () => refused("expired_request", "This sign-in code is invalid, expired or was already used; run `rollcall login` again");
  const row = await deps.db.deleteFrom("signin_requests").where("client_code_hash", "=", hashToken(input.code)).returningAll().executeTakeFirst();
  if (!row || !row.account_id || new Date(row.expires_at).getTime() < Date.now()) throw bad();
  if (!row.client_challenge || !sameSecret(pkceChallenge(input.codeVerifier), row.client_challenge)) throw bad();
  const account = await deps.db.selectFrom("accounts").selectAll().where("id", "=", row.account_id).executeTakeFirst();
  if (!account) throw bad();
  return createSession(deps.db, toAccount(account), deps.sessionHours, { prefix: "rcs_", microsoftLoginHint: row.microsoft_login_hint });
}
