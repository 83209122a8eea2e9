// Interactive endpoints: the sign-in page (GET authorize lists the tenant's users to pick, POST
// completes it), and admin consent. Errors that cannot be trusted to the redirect URI (unknown
// tenant/app, unregistered redirect URI) are shown on an error page, like Microsoft does.
import { decodeJwt } from "jose";
import type { AppRegistration } from "../apps.ts";
import type { TenantEntry } from "../handle.ts";
import { escapeHtml, formBody, html, redirect, type Req, type Res } from "../http.ts";
import { ACTIVE, type UserRec } from "../tenant-records.ts";
import { loginHintClaim, parseLoginHint, type SignedInAccount } from "./browser-session.ts";
import type { IdentityContext, SignInTxn } from "./context.ts";
import { aadErrorPage, aadErrorParts, MSG } from "./errors.ts";

const TXN_MS = 30 * 60_000;

function page(title: string, body: string): Res {
  return html(200, `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Segoe UI,Arial,sans-serif;max-width:40em;margin:3em auto">${body}</body></html>`,
  { "cache-control": "no-store, no-cache", "x-frame-options": "DENY" });
}

/** Send the result back to the app: query (302), fragment (302) or form_post (auto-submitting form). */
export function respondToApp(redirectUri: string, mode: string, params: Record<string, string | undefined>): Res {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (mode === "form_post") {
    const inputs = entries.map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}" />`).join("");
    return html(200, `<html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="POST" name="hiddenform" action="${escapeHtml(redirectUri)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form></body></html>`);
  }
  const qs = new URLSearchParams(entries).toString();
  if (mode === "fragment") return redirect(`${redirectUri}#${qs}`);
  return redirect(`${redirectUri}${redirectUri.includes("?") ? "&" : "?"}${qs}`);
}

/** An error sent back to the app, as Microsoft does: error, error_description (AADSTS…), error_uri to the code's page, state. */
function appError(origin: string, t: SignInTxn, error: string, code: number, text: string): Res {
  const p = aadErrorParts(error, code, text);
  return respondToApp(t.redirectUri, t.responseMode, { error, error_description: p.description, error_uri: `${origin}/error?code=${code}`, state: t.state });
}

/** Validate what must be valid before anything may go back to the redirect URI. */
function preflight(ctx: IdentityContext, segment: string, clientId: string | null, redirectUri: string | null, forConsent = false):
  { app: AppRegistration; entries: TenantEntry[]; redirectUri: string; oneTenant: boolean } | Res {
  const r = ctx.resolve(segment);
  if ("unknown" in r) return aadErrorPage(400, 90002, MSG.tenantNotFound(r.unknown));
  if (!clientId) return aadErrorPage(400, 900144, MSG.missingParam("client_id"));
  const app = ctx.registry.apps.get(clientId);
  const entries = "entry" in r ? [r.entry] : ctx.registry.list();
  const where = entries.filter((e) => app && (forConsent || e.sps.has(app.clientId)) && (app.multiTenant || app.homeTenantId === e.id));
  if (!app || where.length === 0) return aadErrorPage(400, 700016, MSG.appNotFound(clientId, "entry" in r ? r.entry.id : segment));
  // Microsoft shows a disabled app ("Enabled for users to sign in?" No) on its own page, before anyone signs in.
  if (!forConsent && !app.enabled) return aadErrorPage(400, 7000112, MSG.appDisabled(app.clientId, app.displayName));
  const uri = redirectUri ?? app.redirectUris[0] ?? "";
  if (!app.redirectUris.includes(uri)) return aadErrorPage(400, 50011, MSG.redirectMismatch(uri, app.clientId));
  return { app, entries: where, redirectUri: uri, oneTenant: "entry" in r };
}

/**
 * Who can sign in at this authority as one of its tenants' users. A guest (B2B) account is the host's record of
 * someone whose account lives elsewhere: at /organizations or /common Microsoft signs them in at home, with their
 * home tenant's tid and oid, never as the host's guest. The emulator models no home for its guests, so there it
 * finds them nowhere; at the host's own authority they sign in as the guest.
 * ("For guest scenarios … you must provide the tenant identifier to sign them into the resource tenant":
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code)
 */
function signsInHere(rec: UserRec, oneTenant: boolean): boolean {
  return oneTenant || rec.u.userType !== "Guest";
}

export function authorizeGet(ctx: IdentityContext, req: Req, segment: string): Res {
  ctx.sweep();
  const q = req.query;
  const pre = preflight(ctx, segment, q.get("client_id"), q.get("redirect_uri"));
  if ("status" in pre) return pre;
  const txn: SignInTxn = {
    kind: "signin", tenantSegment: segment, clientId: pre.app.clientId, redirectUri: pre.redirectUri,
    responseMode: q.get("response_mode") ?? "query", scopes: (q.get("scope") ?? "").split(/\s+/).filter(Boolean),
    state: q.get("state") ?? undefined, nonce: q.get("nonce") ?? undefined,
    challenge: q.get("code_challenge") ?? undefined, challengeMethod: q.get("code_challenge_method") ?? (q.get("code_challenge") ? "plain" : undefined),
    expiresAt: Date.now() + TXN_MS,
  };
  const refused = refusedResponseType(q.get("response_type"));
  if (refused) return appError(req.origin, txn, refused.error, refused.code, refused.text);
  if (!txn.scopes.length) return appError(req.origin, txn, "invalid_request", 900144, MSG.missingParam("scope"));
  if (txn.challengeMethod && !["S256", "plain"].includes(txn.challengeMethod)) return appError(req.origin, txn, "invalid_request", 501491, "Invalid size of Code_Challenge parameter.");
  const hint = q.get("login_hint");
  if (q.get("prompt") === "none") {
    // The hint's account, else the one account this browser is signed in with here (several: Microsoft would ask which).
    // Only from the browser's session: a hint alone signs nobody in silently.
    const signedIn = ctx.browser.accounts(req).flatMap((a) => usableHere(pre, a) ?? []);
    if (!hint && signedIn.length > 1) return appError(req.origin, txn, "interaction_required", 16000, "Either multiple user identities are available for the current request or selected account is not supported for the scenario.");
    const hinted = hint ? findUser(pre, hint) : undefined;
    const user = hint ? signedIn.find((a) => a.id === hinted?.id) : signedIn[0];
    if (!user) return appError(req.origin, txn, "login_required", 50058, "A silent sign-in request was sent but no user is signed in.");
    // prompt=none never shows a page: what would stop the sign-in goes back to the app as interaction_required.
    if (!user.entry.tenant.userRec(user.id)?.u.accountEnabled) return appError(req.origin, txn, "interaction_required", 50057, MSG.userDisabled);
    return complete(ctx, req, txn, user.entry, user.id);
  }
  const hinted = hint ? findUser(pre, hint)?.id : undefined;
  // Single sign-on: without a prompt, a browser signed in here with one account (or with the hinted one) is signed in
  // again without a page; prompt=login asks for credentials, select_account and several accounts show the picker.
  if (q.get("prompt") === null) {
    const signedIn = ctx.browser.accounts(req).flatMap((a) => usableHere(pre, a) ?? []);
    const sso = hint ? signedIn.find((a) => a.id === hinted) : signedIn.length === 1 ? signedIn[0] : undefined;
    if (sso && sso.entry.tenant.userRec(sso.id)?.u.accountEnabled) return complete(ctx, req, txn, sso.entry, sso.id);
  }
  const id = ctx.newOpaque(24);
  ctx.txns.set(id, txn);
  const options = pre.entries.flatMap((e) => e.tenant.users.filter((u) => u.state === ACTIVE && signsInHere(u, pre.oneTenant)).map((u) =>
    `<option value="${e.id}:${u.u.id}"${hinted === u.u.id ? " selected" : ""}>${escapeHtml(`${u.u.displayName ?? ""} <${u.u.userPrincipalName}>${u.u.accountEnabled ? "" : " (disabled)"}`)}</option>`)).join("");
  return page("Sign in to your account", `<h1>Sign in</h1><p>to continue to ${escapeHtml(pre.app.displayName)}</p>
<form method="post" action="${escapeHtml(`/${segment}/oauth2/v2.0/authorize`)}">
<input type="hidden" name="txn" value="${id}" />
<label>Pick an account <select name="account" id="account">${options}</select></label>
<p><label>…or type a user name <input name="login" type="email" autocomplete="username" /></label></p>
<button type="submit" name="action" value="signin">Sign in</button> <button type="submit" name="action" value="cancel">Cancel</button>
</form><p><small>Rollcall Entra ID emulator: no password is checked.</small></p>`);
}

/**
 * The emulator's apps have no implicit grant (the app registration's "Access tokens" and "ID tokens" boxes unticked, as
 * Microsoft advises): a response type asking for a token from the authorization endpoint is refused as Microsoft refuses it.
 */
function refusedResponseType(type: string | null): { error: string; code: number; text: string } | undefined {
  if (type === null) return { error: "invalid_request", code: 900144, text: MSG.missingParam("response_type") };
  const parts = type.split(/\s+/);
  if (parts.length === 1 && parts[0] === "code") return undefined;
  if (parts.includes("token")) return { error: "unsupported_response_type", code: 700051, text: "response_type 'token' is not enabled for the application." };
  if (parts.includes("id_token")) return { error: "unsupported_response_type", code: 700054, text: "response_type 'id_token' is not enabled for the application." };
  return { error: "unsupported_response_type", code: 900144, text: `The provided value for the input parameter 'response_type' is not valid: '${type}'.` };
}

/** The user a login_hint names: a user name or object id, or the login_hint claim of an earlier ID token. */
function findUser(at: { entries: TenantEntry[]; oneTenant: boolean }, key: string): { entry: TenantEntry; id: string } | undefined {
  const claim = parseLoginHint(key);
  if (claim) return usableHere(at, claim);
  for (const e of at.entries) {
    const rec = e.tenant.userRec(key);
    if (rec && signsInHere(rec, at.oneTenant)) return { entry: e, id: rec.u.id };
  }
  return undefined;
}

function usableHere(at: { entries: TenantEntry[]; oneTenant: boolean }, account: SignedInAccount): { entry: TenantEntry; id: string } | undefined {
  const entry = at.entries.find((e) => e.id === account.tenantId);
  const rec = entry?.tenant.userRec(account.userId);
  return entry && rec && rec.state === ACTIVE && signsInHere(rec, at.oneTenant) ? { entry, id: rec.u.id } : undefined;
}

export function authorizePost(ctx: IdentityContext, req: Req): Res {
  const form = formBody(req);
  const txn = ctx.txns.get(form.get("txn") ?? "");
  if (!txn || txn.kind !== "signin") return aadErrorPage(400, 90015, "Requested query string is too long or the session has expired. Please sign in again.");
  ctx.txns.delete(form.get("txn") as string);
  if (form.get("action") === "cancel") return appError(req.origin, txn, "access_denied", 65004, "User declined to consent to access the app.");
  const pre = preflight(ctx, txn.tenantSegment, txn.clientId, txn.redirectUri);
  if ("status" in pre) return pre;
  const login = form.get("login")?.trim();
  let user: { entry: TenantEntry; id: string } | undefined;
  if (login) user = findUser(pre, login);
  else {
    const [tid, uid] = (form.get("account") ?? "").split(":");
    const e = pre.entries.find((x) => x.id === tid);
    const rec = uid ? e?.tenant.userRec(uid) : undefined;
    if (e && rec && signsInHere(rec, pre.oneTenant)) user = { entry: e, id: rec.u.id };
  }
  if (!user) return aadErrorPage(400, 50034, "The user account does not exist in the directory. To sign into this application, the account must be added to the directory.");
  return complete(ctx, req, txn, user.entry, user.id);
}

/** A signed-in account: the code for the app, and the account added to the browser's session. */
function complete(ctx: IdentityContext, req: Req, txn: SignInTxn, entry: TenantEntry, userId: string): Res {
  const user = entry.tenant.userRec(userId)?.u;
  if (!user) return aadErrorPage(400, 50034, "The user account does not exist in the directory.");
  if (!user.accountEnabled) return aadErrorPage(400, 50057, MSG.userDisabled);
  const session = ctx.browser.signIn(req, { tenantId: entry.id, userId }, txn.clientId);
  const code = ctx.newOpaque(96);
  ctx.codes.set(code, {
    clientId: txn.clientId, tenantId: entry.id, userId, redirectUri: txn.redirectUri, scopes: txn.scopes, nonce: txn.nonce,
    challenge: txn.challenge, challengeMethod: txn.challengeMethod, expiresAt: Date.now() + ctx.codeLifetimeMs, redeemed: false, sid: session.sid,
  });
  const answer = respondToApp(txn.redirectUri, txn.responseMode, { code, state: txn.state, session_state: ctx.newOpaque(16) });
  Object.assign(answer.headers, session.headers);
  return answer;
}

export function adminConsentGet(ctx: IdentityContext, req: Req, segment: string): Res {
  const q = req.query;
  const pre = preflight(ctx, segment, q.get("client_id"), q.get("redirect_uri"), true);
  if ("status" in pre) return pre;
  const txn: SignInTxn = {
    kind: "adminconsent", tenantSegment: segment, clientId: pre.app.clientId, redirectUri: pre.redirectUri, responseMode: "query",
    scopes: [q.get("scope") ?? "https://graph.microsoft.com/.default"], state: q.get("state") ?? undefined, expiresAt: Date.now() + TXN_MS,
  };
  const id = ctx.newOpaque(24);
  ctx.txns.set(id, txn);
  // A multi-tenant app can be consented in any tenant: the admin's tenant decides which.
  const tenants = ctx.resolve(segment);
  const choices = "entry" in tenants ? [tenants.entry] : ctx.registry.list();
  const options = choices.map((e) => `<option value="${e.id}">${escapeHtml(`${e.displayName} (${e.domain})`)}</option>`).join("");
  return page("Permissions requested", `<h1>Permissions requested</h1><p><strong>${escapeHtml(pre.app.displayName)}</strong> wants to read all users' full profiles and all groups (application permissions) in your organization.</p>
<form method="post" action="${escapeHtml(`/${segment}/v2.0/adminconsent`)}"><input type="hidden" name="txn" value="${id}" />
<label>Organization <select name="tenant">${options}</select></label>
<p><button type="submit" name="action" value="accept">Accept</button> <button type="submit" name="action" value="cancel">Cancel</button></p></form>`);
}

export function adminConsentPost(ctx: IdentityContext, req: Req): Res {
  const form = formBody(req);
  const txn = ctx.txns.get(form.get("txn") ?? "");
  if (!txn || txn.kind !== "adminconsent") return aadErrorPage(400, 90015, "The session has expired. Please sign in again.");
  ctx.txns.delete(form.get("txn") as string);
  const entry = ctx.registry.find(form.get("tenant") ?? "") ?? ctx.registry.list()[0];
  const app = ctx.registry.apps.get(txn.clientId);
  if (!entry || !app) return aadErrorPage(400, 700016, MSG.appNotFound(txn.clientId, form.get("tenant") ?? ""));
  if (form.get("action") !== "accept") {
    const p = aadErrorParts("access_denied", 65004, "User declined to consent to access the app.");
    return respondToApp(txn.redirectUri, "query", { error: "access_denied", error_description: p.description, error_uri: `${req.origin}/error?code=65004`, admin_consent: "True", state: txn.state });
  }
  if (!app.multiTenant && app.homeTenantId !== entry.id) return aadErrorPage(400, 700016, MSG.appNotFound(app.clientId, entry.id));
  entry.consentApp(app.clientId);
  return respondToApp(txn.redirectUri, "query", { admin_consent: "True", tenant: entry.id, scope: txn.scopes[0], state: txn.state });
}

/**
 * GET|POST /{tenant}/oauth2/v2.0/logout. The browser's session at the login host holds accounts: without a logout_hint
 * Microsoft asks which one to sign out, "even if there is only one user account to select"; a logout_hint (the
 * login_hint claim of the account's ID token) signs that account out without asking. Then back to
 * post_logout_redirect_uri (with state) only when it is exactly one of the app's redirect URIs, else the signed-out page,
 * as Microsoft shows for an unregistered one. https://learn.microsoft.com/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
 * Microsoft knows the app from the browser's session; the emulator's keeps accounts only, so `client_id` (or the aud of
 * `id_token_hint`) names it, and without either any app of the tenant (all tenants for common/organizations) counts.
 */
export function logout(ctx: IdentityContext, req: Req, segment: string): Res {
  const q = req.method === "POST" ? formBody(req) : req.query;
  const signedIn = ctx.browser.accounts(req);
  // A logout_hint that is no login_hint claim (a user name, say: "don't use UPNs") is no hint.
  const named = q.get(PICKED) ?? q.get("logout_hint");
  const account = named === null ? undefined : parseLoginHint(named);
  if (!account && signedIn.length > 0) return signOutPicker(ctx, segment, q, signedIn);
  const signedOut = account ? ctx.browser.signOut(req, account) : undefined;
  // Front-channel logout: each app the session signed in to that has a logout URL is loaded with the session's sid,
  // in a hidden iframe of the sign-out page (Entra sends sid only, not iss).
  const frontChannel = (signedOut?.apps ?? []).flatMap((id) => ctx.registry.apps.get(id)?.logoutUrl ?? [])
    .map((url) => `<iframe hidden src="${escapeHtml(`${url}${url.includes("?") ? "&" : "?"}sid=${encodeURIComponent(signedOut!.sid)}`)}"></iframe>`).join("");
  const uri = q.get("post_logout_redirect_uri");
  if (uri && logoutApps(ctx, segment, q.get("client_id") ?? audience(q.get("id_token_hint"))).some((app) => app.redirectUris.includes(uri))) {
    const state = q.get("state");
    const back = state ? `${uri}${uri.includes("?") ? "&" : "?"}state=${encodeURIComponent(state)}` : uri;
    if (!frontChannel) return redirect(back);
    return page("Sign out", `<h1>Signing you out…</h1>${frontChannel}<p><a id="continue" href="${escapeHtml(back)}">Continue</a></p>
<script>addEventListener("load", () => location.replace(document.getElementById("continue").href));</script>`);
  }
  return page("Sign out", `<h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>${frontChannel}`);
}

/** The picker's answer: the chosen account, as a login_hint claim (the emulator's own field; Microsoft's page is its own). */
const PICKED = "signout_account";

function signOutPicker(ctx: IdentityContext, segment: string, q: URLSearchParams, accounts: SignedInAccount[]): Res {
  const carried = ["post_logout_redirect_uri", "state", "client_id", "id_token_hint"].flatMap((name) => {
    const value = q.get(name);
    return value === null ? [] : [`<input type="hidden" name="${name}" value="${escapeHtml(value)}" />`];
  });
  const buttons = accounts.flatMap((a) => {
    const user = ctx.registry.find(a.tenantId)?.tenant.userRec(a.userId)?.u;
    if (!user) return [];
    const hint = loginHintClaim({ ...a, userPrincipalName: user.userPrincipalName });
    return [`<p><button type="submit" name="${PICKED}" value="${escapeHtml(hint)}">${escapeHtml(`${user.displayName ?? ""} <${user.userPrincipalName}>`)}</button></p>`];
  });
  return page("Sign out", `<h1>Pick an account</h1><p>Which account do you want to sign out of?</p>
<form method="post" action="${escapeHtml(`/${segment}/oauth2/v2.0/logout`)}">${carried.join("")}${buttons.join("")}</form>`);
}

function logoutApps(ctx: IdentityContext, segment: string, clientId: string | undefined): AppRegistration[] {
  const r = ctx.resolve(segment);
  const entries = "entry" in r ? [r.entry] : "special" in r ? ctx.registry.list() : [];
  const ids = new Set(entries.flatMap((e) => [...e.sps.keys()]));
  return [...ids].filter((id) => !clientId || id.toLowerCase() === clientId.toLowerCase())
    .flatMap((id) => ctx.registry.apps.get(id) ?? []);
}

function audience(idToken: string | null): string | undefined {
  try {
    const aud = idToken ? decodeJwt(idToken).aud : undefined;
    return Array.isArray(aud) ? aud[0] : aud;
  } catch {
    return undefined;
  }
}
