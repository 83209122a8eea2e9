import type { Selectable } from "kysely";
import type { Db } from "../storage/database.ts";
import type { SigninRequestsTable } from "../storage/schema.ts";
import type { SecretBox } from "../security/encryption.ts";
import type { HttpFetch } from "../net/http.ts";
import { hashToken } from "../security/hashing.ts";
import { createSession, sameSecret, type Session } from "../core/accounts.ts";
import { resolveWorkspace, type Workspace } from "../core/workspaces.ts";
import { parseAadsts } from "../sources/entra/token.ts";
import { aadstsReference, signInAdviceFor } from "./aadsts.ts";
import { checkNativeRedirect, toLoopback, type NativeClient, type NativeLoopback } from "./native-signin.ts";
import { authorizationUrl, discover, issuerTenant, refused, validateIdToken, type SignInHints } from "./oidc.ts";
import { randomValue } from "./pkce.ts";
import { accountFor } from "./signin-account.ts";
import { appKey, authorityOf, loginUrlOf, redeemWithSources, signInSources, type SignInSource } from "./signin-sources.ts";
import { explainUnknownTenant } from "./unknown-tenant.ts";
import { isGuid } from "../domain/guid.ts";

/**
 * Sign in with Microsoft for synced users. A workspace's Entra sources with `signIn: true` are its
 * authentication servers. The person is matched on (tid, oid) = (the source's tenant, the user's
 * externalId), never on email, must be enabled in Rollcall, and gets an account linked to their
 * directory row (viewer in that workspace unless an admin gave them the admin role).
 *
 * The flow state lives in `signin_requests` (not in process memory), so any process sharing the database
 * can complete it; the browser that started it is bound by a cookie whose hash is stored with it.
 */
export interface SignInDeps {
  db: Db;
  secrets: SecretBox;
  fetch: HttpFetch;
  sessionHours: number;
}

const requestTtlMs = 10 * 60_000;
const clientCodeTtlMs = 2 * 60_000;

export type BeginResult =
  | { kind: "redirect"; url: string; browserBinding: string; bindingKey: string }
  | { kind: "choose-workspace" }
  | { kind: "choose-source"; workspace: string; sources: { name: string }[] };

/**
 * A console path on this origin, or null. Browsers drop tabs and line breaks from a Location and read a
 * backslash as a slash, so "/\t/evil.example" would leave the site: such characters are refused anywhere.
 */
export function safeReturnTo(path: string | undefined): string | null {
  if (!path || !path.startsWith("/") || /[\u0000-\u001f\u007f\\]/.test(path)) return null;
  const base = "https://rollcall.invalid";
  const url = new URL(path, base);
  // Checked after parsing too: dot segments resolve "/.//evil.example" to the path "//evil.example", which a
  // browser reads as another host.
  if (url.origin !== base || url.pathname.startsWith("//") || url.pathname.startsWith("/api/")) return null;
  return url.pathname + url.search + url.hash;
}

/**
 * Starts a sign-in: picks the workspace and app registration, stores the request, and answers the
 * Microsoft authorization URL (or asks which workspace/source when that is not clear).
 */
export async function beginSignIn(
  deps: SignInDeps,
  input: { workspace?: string | undefined; source?: string | undefined; redirectUri: string; returnTo?: string | undefined; hints?: SignInHints | undefined; client?: NativeClient | undefined },
): Promise<BeginResult> {
  let workspace: Workspace | undefined;
  // Anyone may call this: a workspace that does not exist and one without Microsoft sign-in answer alike,
  // so names (and the name behind an id) cannot be probed.
  const noSuchWorkspace = () => refused("not_offered", `There is no workspace "${input.workspace}" offering sign-in with Microsoft`);
  if (input.workspace) {
    workspace = await resolveWorkspace(deps.db, input.workspace).catch(() => undefined);
    if (!workspace) throw noSuchWorkspace();
  }
  let sources = await signInSources(deps, workspace?.id);
  if (!workspace) {
    const ids = [...new Set(sources.map((s) => s.workspaceId))];
    if (ids.length === 0) throw refused("not_offered", "No workspace offers sign-in with Microsoft (an admin turns it on per Entra source: rollcall sources update NAME --sign-in)");
    if (ids.length > 1) return { kind: "choose-workspace" };
  }
  if (sources.length === 0) throw noSuchWorkspace();
  const workspaceId = sources[0]!.workspaceId;
  if (input.source) {
    const chosen = sources.find((s) => s.name.toLowerCase() === input.source!.toLowerCase() || s.id === input.source);
    if (!chosen) throw refused("not_offered", `Source "${input.source}" does not offer sign-in with Microsoft`);
    // The chosen organization's own authority, not /organizations: a guest only signs in as its guest there
    // (at /organizations Microsoft signs them in at home, with their home tenant's tid).
    sources = sources.filter((s) => appKey(s) === appKey(chosen) && s.config.tenantId.toLowerCase() === chosen.config.tenantId.toLowerCase());
  } else {
    const apps = new Set(sources.map(appKey));
    if (apps.size > 1) return { kind: "choose-source", workspace: sources[0]!.workspace, sources: sources.map((s) => ({ name: s.name })) };
  }
  const first = sources[0]!;
  const meta = await discover(deps.fetch, loginUrlOf(first.config), authorityOf(sources));
  const state = randomValue();
  const nonce = randomValue();
  const codeVerifier = randomValue(48);
  const browserBinding = randomValue();
  await deps.db.deleteFrom("signin_requests").where("expires_at", "<", new Date()).execute();
  await deps.db
    .insertInto("signin_requests")
    .values({
      state_hash: hashToken(state),
      workspace_id: workspaceId,
      source_ids: sources.map((s) => s.id),
      browser_hash: hashToken(browserBinding),
      nonce,
      code_verifier: codeVerifier,
      redirect_uri: input.redirectUri,
      return_to: safeReturnTo(input.returnTo),
      client_redirect: input.client ? checkNativeRedirect(input.client.redirectUri) : null,
      client_challenge: input.client?.challenge ?? null,
      client_state: input.client?.state ?? null,
      expires_at: new Date(Date.now() + requestTtlMs),
    })
    .execute();
  const url = authorizationUrl(meta, { clientId: first.config.clientId, redirectUri: input.redirectUri, state, nonce, codeVerifier, ...input.hints });
  return { kind: "redirect", url, browserBinding, bindingKey: bindingKey(state) };
}

/**
 * Names the cookie that binds one sign-in to its browser, from its state: each sign-in under way in a
 * browser (two tabs, a second click) keeps its own cookie, so finishing one never spoils another.
 */
export function bindingKey(state: string): string {
  return hashToken(`binding:${state}`).slice(0, 16);
}

export type CallbackResult =
  | { kind: "browser"; session: Session & { id: string }; returnTo: string | null; workspace: string }
  | { kind: "native"; redirect: string }
  | { kind: "native-refused"; error: unknown; loopback: NativeLoopback };

/**
 * Completes a sign-in at the redirect URI: checks state and browser, redeems the code, validates the ID token, matches the user.
 * A native client's sign-in refused past the state and browser checks answers "native-refused", for its loopback, instead of throwing.
 */
export async function completeSignIn(
  deps: SignInDeps,
  input: { state?: string | undefined; code?: string | undefined; error?: string | undefined; errorDescription?: string | undefined; browserBinding?: string | undefined },
): Promise<CallbackResult> {
  const expired = () => refused("expired_request", "This sign-in link has expired or was already used; start again from the sign-in page");
  if (!input.state) throw expired();
  const request = await deps.db.deleteFrom("signin_requests").where("state_hash", "=", hashToken(input.state)).where("client_code_hash", "is", null).returningAll().executeTakeFirst();
  if (!request || new Date(request.expires_at).getTime() < Date.now()) throw expired();
  if (!input.browserBinding || !sameSecret(hashToken(input.browserBinding), request.browser_hash)) {
    throw refused("expired_request", "This sign-in was started in another browser (or its cookie was lost); start again from the sign-in page");
  }
  if (!request.client_redirect) return finishSignIn(deps, request, input);
  // A native client waits on its loopback listener for a code that will not come now: it is told there why
  // (only this sign-in's own browser gets here, and only to the loopback URI the sign-in was started with).
  const loopback = { redirectUri: request.client_redirect, state: request.client_state };
  return finishSignIn(deps, request, input).catch((error: unknown) => ({ kind: "native-refused" as const, error, loopback }));
}

/** The rest of a sign-in whose state and browser checked out: Microsoft's answer, the ID token, the person. */
async function finishSignIn(deps: SignInDeps, request: Selectable<SigninRequestsTable>, input: { code?: string | undefined; error?: string | undefined; errorDescription?: string | undefined }): Promise<CallbackResult> {
  if (input.error) {
    // Say which AADSTS code, what it means and who fixes it where, with the ids an admin or Microsoft support looks up.
    const failure = parseAadsts(input.error, input.errorDescription);
    const first = (input.errorDescription ?? "").split(/\r?\n/)[0] ?? "";
    const advice = signInAdviceFor(failure.code, input.error);
    const what = advice
      ? `Microsoft did not sign you in (AADSTS${failure.code}). ${advice}`
      : input.error === "access_denied" && failure.code === null
        ? "The sign-in was cancelled at Microsoft."
        : `Microsoft did not sign you in (${input.error}${first ? `: ${first}` : ""}).`;
    const reference = failure.code !== null || failure.correlationId ? ` For your admin: ${aadstsReference(failure)}.` : "";
    throw refused("provider_error", `${what}${reference}`, { error: input.error, aadsts: failure.code, correlationId: failure.correlationId, traceId: failure.traceId });
  }
  if (!input.code) throw refused("provider_error", "Microsoft answered without an authorization code");

  const sources = (await signInSources(deps, request.workspace_id)).filter((s) => request.source_ids.includes(s.id));
  if (sources.length === 0) throw refused("not_offered", "Sign-in with Microsoft was turned off for this workspace while you were signing in");
  const first = sources[0]!;
  const loginUrl = loginUrlOf(first.config);
  // The tenant GUID of each source: given, or read from its tenant's metadata (a verified domain was configured).
  // Several sources may sync one tenant (different scopes): the person may be in any of them.
  const tenantOf = new Map<string, SignInSource[]>();
  for (const s of sources) {
    const tid = isGuid(s.config.tenantId) ? s.config.tenantId.toLowerCase() : issuerTenant((await discover(deps.fetch, loginUrl, s.config.tenantId)).issuer);
    if (tid) tenantOf.set(tid, [...(tenantOf.get(tid) ?? []), s]);
  }
  const meta = await discover(deps.fetch, loginUrl, authorityOf(sources));
  const idToken = await redeemWithSources(deps, meta, sources, { clientId: first.config.clientId, code: input.code, redirectUri: request.redirect_uri, codeVerifier: request.code_verifier });
  const claims = await validateIdToken(deps.fetch, meta, idToken, { clientId: first.config.clientId, nonce: request.nonce, tenants: new Set(tenantOf.keys()) }).catch(async (error: unknown) => {
    throw await explainUnknownTenant(deps, error, request.workspace_id, loginUrl, sources);
  });
  const account = await accountFor(deps.db, tenantOf.get(claims.tenantId)!, claims);
  // Present when the app registration adds the login_hint optional claim: signing out of Microsoft then names the account.
  const microsoftLoginHint = typeof claims.claims.login_hint === "string" ? claims.claims.login_hint : null;

  if (request.client_redirect) {
    const code = randomValue();
    await deps.db
      .insertInto("signin_requests")
      .values({ ...request, state_hash: hashToken(`client:${code}`), client_code_hash: hashToken(code), account_id: account.id, expires_at: new Date(Date.now() + clientCodeTtlMs), created_at: new Date(), microsoft_login_hint: microsoftLoginHint })
      .execute();
    return { kind: "native", redirect: toLoopback({ redirectUri: request.client_redirect, state: request.client_state }, { code }) };
  }
  // Microsoft's browser session: signing out of Microsoft from another app ends this one too (front-channel logout).
  const microsoftSid = typeof claims.claims.sid === "string" ? claims.claims.sid : null;
  const session = await createSession(deps.db, account, deps.sessionHours, { microsoftLoginHint, microsoftSid });
  return { kind: "browser", session, returnTo: request.return_to, workspace: first.workspace };
}
