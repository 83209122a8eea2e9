import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Runtime } from "../../runtime.ts";
import { RollcallError, toRollcallError } from "../../errors.ts";
import { entraFetch } from "../../sources/entra/custom-urls.ts";
import { beginSignIn, bindingKey, completeSignIn, type SignInDeps } from "../../auth/signin.ts";
import { checkNativeRedirect, redeemNativeCode, toLoopback, type NativeLoopback } from "../../auth/native-signin.ts";
import { signInSources } from "../../auth/signin-sources.ts";
import { getUserRole, linkedUser, setUserRole } from "../../auth/user-roles.ts";
import { endMicrosoftSessions } from "../../core/accounts.ts";
import { chooserSecurityHeaders, chooseSourcePage, chooseWorkspacePage, pageSecurityHeaders, refusalPage } from "../../auth/pages.ts";
import { cookieIsSecure, startBrowserSession, visibleWorkspaces } from "../auth.ts";
import { apiPrefix } from "../openapi.ts";
import { route, type RouteModule } from "../route.ts";
import { accountSchema, roleSchema, timestamp, userSchema, workspaceParams } from "../schemas.ts";

/** Binds a sign-in to the browser that started it (login CSRF); only its hash is stored. One cookie per sign-in under way: rollcall_signin_<key>. */
const bindingCookie = (key: string) => `rollcall_signin_${key}`;
const flowPath = `${apiPrefix}/auth/microsoft`;
const window = "5 minutes";
const consoleAccessSchema = z.enum(["admin", "viewer", "none"]);

/**
 * Set when someone signs out in this browser: the next Microsoft sign-in asks for prompt=login, whatever prompt its
 * link asks for, so on a shared computer the last person's Microsoft session, still alive, signs nobody in
 * (select_account would offer their account to the next person, one click from signed in; none would sign them in).
 * Cleared by a sign-in.
 */
const signedOutCookie = "rollcall_signed_out";

export function rememberSignOut(reply: FastifyReply, request: FastifyRequest, config: Runtime["config"]): void {
  reply.setCookie(signedOutCookie, "1", { path: flowPath, httpOnly: true, sameSite: "lax", secure: cookieIsSecure(config, request), maxAge: 30 * 86_400 });
}

function deps(rt: Runtime): SignInDeps {
  return { db: rt.store.db, secrets: rt.secrets, fetch: entraFetch(rt.config), sessionHours: rt.config.sessionHours };
}

function origin(rt: Runtime, request: FastifyRequest): string {
  return rt.config.publicUrl?.replace(/\/$/, "") ?? `${request.protocol}://${request.host}`;
}

/** The redirect URI to register on the Entra app registration (Authentication > Web). */
export function callbackUrl(rt: Runtime, request: FastifyRequest): string {
  return `${origin(rt, request)}${flowPath}/callback`;
}

function page(reply: FastifyReply, status: number, html: string, headers: Record<string, string> = pageSecurityHeaders): void {
  void reply.status(status).headers(headers).type("text/html; charset=utf-8").send(html);
}

/**
 * Browser flows end on a page, not a JSON error: refusals say why; anything else is logged. A native client's
 * sign-in ends at its loopback instead, with an RFC 6749 §4.1.2.1 error saying the same, so the CLI stops waiting.
 */
function refusal(rt: Runtime, request: FastifyRequest, reply: FastifyReply, error: unknown, loopback?: NativeLoopback): void {
  const e = toRollcallError(error);
  if (e.code === "internal") request.log.error({ err: error }, "sign-in failed");
  else {
    // A refused app credential stops everyone's sign-in until an admin fixes the source: a warning, not news.
    const fields = { code: e.code, reason: e.details.reason, aadsts: e.details.aadsts, correlationId: e.details.correlationId, source: e.details.source };
    if (e.details.check) rt.logger.warn({ ...fields, check: e.details.check }, "sign-in refused: the source's app credentials were refused");
    else rt.logger.info(fields, "sign-in refused");
  }
  const message = e.code === "internal" ? `Something went wrong on the server; it has been logged (request ${request.id})` : e.message;
  const organizations = Array.isArray(e.details.organizations) ? (e.details.organizations as string[]) : [];
  if (loopback) {
    // The browser page offers each organization as a link; in a terminal, the flag that does the same.
    const through = organizations.length ? ` With rollcall login: --source ${organizations.map((name) => JSON.stringify(name)).join(" or --source ")}.` : "";
    const back = toLoopback(loopback, { error: e.code === "signin_refused" ? "access_denied" : "server_error", error_description: message + through });
    return void reply.header("cache-control", "no-store").redirect(back, 302);
  }
  const choices = organizations.map((name) => ({ label: name, href: `${flowPath}/start?${new URLSearchParams({ workspace: String(e.details.workspace), source: name })}` }));
  page(reply, e.code === "internal" ? 500 : e.status, refusalPage(message, String(e.details.reason ?? e.code), choices));
}

/**
 * Per client address, in multiples of ROLLCALL_LOGIN_ATTEMPTS. Nothing here can guess a password (Microsoft checks
 * those, and codes are random), so the limit is for flooding only and must let an office behind one NAT address sign in
 * at nine o'clock: 30× (300 sign-ins per 5 minutes by default) for the browser flow, 3× for native clients' code exchange.
 */
const browserFlow = 30;
const perAddress = (factor: number) => (rt: Runtime) => ({ rateLimit: { max: rt.config.loginAttempts * factor, timeWindow: window, keyGenerator: (request: { ip: string }) => `signin|${request.ip}` } });

// Loose: a sign-in link may carry parameters Rollcall does not know (a campaign's utm_*); they are ignored, not a JSON error in a browser.
const startQuery = z
  .looseObject({
    workspace: z.string().trim().min(1).max(200).optional().describe("workspace name or id; asked for when several workspaces offer Microsoft sign-in"),
    source: z.string().trim().min(1).max(200).optional().describe("the Entra source (organization) to sign in through, at its own tenant: asked when the workspace has several app registrations; guests of an organization sign in through it"),
    returnTo: z.string().max(2000).optional().describe("console path to land on afterwards (same origin only)"),
    login_hint: z.string().max(254).optional().describe("the account to sign in (its user principal name), filled in at Microsoft"),
    domain_hint: z.string().max(253).optional().describe("the organization's domain, so Microsoft skips asking where the account lives (federated domains go straight to their identity provider)"),
    prompt: z.enum(["login", "select_account", "consent", "none"]).optional().describe("select_account lets the person switch accounts, login asks for credentials again, none signs in silently or fails with login_required"),
    client_redirect_uri: z.string().max(2000).optional().describe("native clients: loopback URI that receives a one-time code (RFC 8252)"),
    client_code_challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a base64url SHA-256 (S256) challenge").optional(),
    client_state: z.string().max(500).optional(),
  });
const startKeys = ["returnTo", "login_hint", "domain_hint", "prompt", "client_redirect_uri", "client_code_challenge", "client_state"] as const;

/**
 * A native client refused at the start (a workspace or source without Microsoft sign-in) hears it at its loopback,
 * as it would at the callback, so `rollcall login` stops waiting. Only a loopback URI (checkNativeRedirect) sent with
 * a PKCE challenge qualifies: this request is anyone's, and must not be able to send a browser elsewhere.
 */
function startLoopback(query: z.infer<typeof startQuery>): NativeLoopback | undefined {
  if (!query.client_redirect_uri || !query.client_code_challenge) return undefined;
  try {
    return { redirectUri: checkNativeRedirect(query.client_redirect_uri), state: query.client_state ?? null };
  } catch {
    return undefined;
  }
}

const profileResponse = z.object({
  account: accountSchema,
  user: userSchema.nullable().describe("the directory user this account is, for people signed in with Microsoft; null for local admins"),
  workspace: z.object({ id: z.string(), name: z.string() }).nullable(),
  workspaces: z.array(z.object({ id: z.string(), name: z.string(), role: roleSchema })),
  signInMethod: z.enum(["password", "microsoft"]),
});

const userRoleParams = workspaceParams.extend({ user: z.string().describe("user id, email or user principal name") });

export const signInRoutes: RouteModule = {
  tag: "Sign in with Microsoft",
  description:
    "Users synced from Entra ID sign in with their Microsoft account (OpenID Connect, authorization code + PKCE). Register " +
    `${flowPath}/callback on the source's app registration (Web platform) and turn sign-in on per source (signIn: true).`,
  routes: [
    route({
      method: "GET",
      url: "/auth/providers",
      summary: "Which sign-in methods the sign-in page offers",
      access: "public",
      response: z.object({
        password: z.boolean(),
        microsoft: z.boolean().describe("true when any Entra source is used as authentication server"),
        microsoftRedirectUri: z.string().describe("the redirect URI to register on a sign-in source's app registration (Authentication > Web)"),
      }),
      async handler({ rt, request }) {
        return { password: true, microsoft: (await signInSources(deps(rt))).length > 0, microsoftRedirectUri: callbackUrl(rt, request) };
      },
    }),
    route({
      method: "GET",
      url: "/auth/microsoft/start",
      summary: "Start signing in with Microsoft (redirects the browser to Microsoft)",
      description: `Answers 302 to Microsoft's authorization endpoint, or a page asking for the workspace (or organization) when it is not clear. Rate limited per client address.`,
      access: "public",
      answers: {
        "302": { description: "To Microsoft's authorization endpoint; for a native client refused here, to its loopback URI with error=access_denied and error_description" },
        "200": { description: "A page asking for the workspace, or the organization", content: ["text/html"] },
        "403": { description: "A page saying why sign-in is not offered (no error JSON: this is a browser flow)", content: ["text/html"] },
      },
      query: startQuery,
      errors: { 502: "source_unreachable: the organization's sign-in endpoints (its OpenID configuration) could not be reached" },
      browserPage: true,
      config: perAddress(browserFlow),
      async handler({ query, rt, request, reply }) {
        try {
          const client = query.client_redirect_uri
            ? { redirectUri: query.client_redirect_uri, challenge: query.client_code_challenge ?? "", state: query.client_state ?? "" }
            : undefined;
          if (client && !client.challenge) throw new RollcallError("invalid_input", "A native client must send client_code_challenge (S256) with client_redirect_uri");
          const result = await beginSignIn(deps(rt), {
            workspace: query.workspace, source: query.source, redirectUri: callbackUrl(rt, request), returnTo: query.returnTo,
            hints: { loginHint: query.login_hint, domainHint: query.domain_hint, prompt: request.cookies[signedOutCookie] ? "login" : query.prompt }, client,
          });
          const hidden = Object.fromEntries(startKeys.flatMap((k) => (typeof query[k] === "string" ? [[k, query[k]]] : []))) as Record<string, string>;
          if (result.kind === "choose-workspace") return page(reply, 200, chooseWorkspacePage(`${flowPath}/start`, hidden), chooserSecurityHeaders);
          if (result.kind === "choose-source") return page(reply, 200, chooseSourcePage(`${flowPath}/start`, result.workspace, result.sources, hidden));
          reply.setCookie(bindingCookie(result.bindingKey), result.browserBinding, { path: flowPath, httpOnly: true, sameSite: "lax", secure: cookieIsSecure(rt.config, request), maxAge: 600 });
          void reply.header("cache-control", "no-store").redirect(result.url, 302);
        } catch (error) {
          refusal(rt, request, reply, error, startLoopback(query));
        }
      },
    }),
    route({
      method: "GET",
      url: "/auth/microsoft/callback",
      summary: "Redirect URI: Microsoft sends the browser back here",
      description:
        "Checks state and the browser binding, redeems the code with the PKCE verifier, validates the ID token (signature, iss, aud, exp, nonce, tenant), " +
        "matches the user on tenant + object ID, then sets the session cookie and returns to the console (or hands a native client its one-time code). Refusals answer a page saying why (a native client's, a redirect to its loopback URI with error and error_description).",
      access: "public",
      answers: {
        "302": { description: "Signed in: to the console (returnTo), with the session cookie; or, for a native client, to its loopback URI with a one-time code, or with error=access_denied and error_description when refused; back from Microsoft's sign-out page (no code, state or error), to the console's sign-in page" },
        "403": { description: "A page saying why the sign-in was refused; its data-reason names the case (expired_request, unknown_user, disabled, …)", content: ["text/html"] },
      },
      query: z.looseObject({ code: z.string().max(4000).optional(), state: z.string().max(500).optional(), error: z.string().max(200).optional(), error_description: z.string().max(4000).optional() }),
      errors: { 502: "source_unreachable: Microsoft could not be reached to redeem the code or check the ID token" },
      browserPage: true,
      config: perAddress(browserFlow),
      async handler({ query, rt, request, reply }) {
        // Back from Microsoft's sign-out page (see auth/signout.ts), which sends nothing along.
        if (query.code === undefined && query.state === undefined && query.error === undefined) {
          return void reply.header("cache-control", "no-store").redirect("/login?signedOut=microsoft", 302);
        }
        const cookie = query.state ? bindingCookie(bindingKey(query.state)) : undefined;
        if (cookie) reply.clearCookie(cookie, { path: flowPath, httpOnly: true, sameSite: "lax", secure: cookieIsSecure(rt.config, request) });
        try {
          const result = await completeSignIn(deps(rt), { state: query.state, code: query.code, error: query.error, errorDescription: query.error_description, browserBinding: cookie && request.cookies[cookie] });
          if (result.kind === "native") {
            return void reply.header("cache-control", "no-store").redirect(result.redirect, 302);
          }
          if (result.kind === "native-refused") return refusal(rt, request, reply, result.error, result.loopback);
          await startBrowserSession(rt.store.db, reply, request, rt.config, result.session.id);
          reply.clearCookie(signedOutCookie, { path: flowPath, httpOnly: true, sameSite: "lax", secure: cookieIsSecure(rt.config, request) });
          rt.logger.info({ account: result.session.account.email, workspace: result.workspace }, "signed in with Microsoft");
          void reply.header("cache-control", "no-store").redirect(result.returnTo ?? "/", 302);
        } catch (error) {
          refusal(rt, request, reply, error);
        }
      },
    }),
    route({
      method: "GET",
      url: "/auth/microsoft/frontchannel-logout",
      summary: "Front-channel logout URL: Microsoft ends here the sessions of a browser that signed out of Microsoft",
      description:
        "Register it as the app registration's Front-channel logout URL (Authentication). When someone signs out of Microsoft, in any app, Microsoft's sign-out page loads it " +
        "(in a hidden iframe) with the sid of their browser session, and every Rollcall session that sign-in opened ends. Answers an empty page, whatever the sid.",
      access: "public",
      answers: { "200": { description: "An empty page", content: ["text/html"] } },
      // Microsoft sends sid only (not iss, unlike the OpenID spec); anything else it may add is ignored.
      query: z.looseObject({ sid: z.string().max(200).optional() }),
      browserPage: true,
      config: perAddress(browserFlow),
      async handler({ query, rt, reply }) {
        const ended = query.sid ? await endMicrosoftSessions(rt.store.db, query.sid) : 0;
        if (ended) rt.logger.info({ sessions: ended }, "signed out at Microsoft: sessions ended");
        void reply.header("cache-control", "no-store");
        page(reply, 200, "<!doctype html><title>Signed out</title>");
      },
    }),
    route({
      method: "POST",
      url: "/auth/microsoft/token",
      summary: "Native clients: trade the one-time code for a session token",
      description: "The code arrives on the client's loopback redirect; code_verifier must match the client_code_challenge sent to /auth/microsoft/start. Send the token as Authorization: Bearer rcs_….",
      access: "public",
      body: z.object({ code: z.string().min(1).max(200), codeVerifier: z.string().min(43).max(128) }).strict(),
      errors: { 403: "signin_refused (details.reason expired_request): the code is invalid, expired or already used, or codeVerifier does not match its challenge" },
      response: z.object({ token: z.string(), account: accountSchema, expiresAt: timestamp }),
      config: perAddress(3),
      async handler({ body, rt }) {
        const session = await redeemNativeCode(deps(rt), body);
        rt.logger.info({ account: session.account.email }, "native client signed in with Microsoft");
        return { token: session.id, account: session.account, expiresAt: session.expiresAt };
      },
    }),
    route({
      method: "GET",
      url: "/auth/profile",
      summary: "The signed-in person's own profile",
      access: "signed-in",
      errors: { 400: "invalid_input: an API token has no profile; sign in as a person" },
      response: profileResponse,
      async handler({ principal, rt }) {
        if (principal.kind !== "session") throw new RollcallError("invalid_input", "An API token has no profile; sign in as a person");
        const linked = await linkedUser(rt.store.db, principal.account.id);
        const workspaces = (await visibleWorkspaces(rt.store.db, principal)).map((w) => ({ id: w.id, name: w.name, role: w.role }));
        return {
          account: principal.account,
          user: linked?.user ?? null,
          workspace: linked ? { id: linked.workspace.id, name: linked.workspace.name } : null,
          workspaces,
          signInMethod: linked ? ("microsoft" as const) : ("password" as const),
        };
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/users/:user/role",
      summary: "A synced user's access to the console: admin, viewer, none (taken away by an admin), or null before their first sign-in (they then become a viewer)",
      access: "workspace",
      params: userRoleParams,
      response: z.object({ userId: z.string(), displayName: z.string(), role: consoleAccessSchema.nullable() }),
      handler: ({ ctx, params }) => getUserRole(ctx.db, ctx.workspace, params.user),
    }),
    route({
      method: "PUT",
      url: "/workspaces/:workspace/users/:user/role",
      summary: "Give a synced user the admin or viewer role (they sign in with Microsoft), or take their access away (none)",
      description: "Every synced user who signs in is a viewer (read-only console) unless given admin here. With none, their sessions end, the API tokens they created stop working, and signing in with Microsoft is refused until they are given a role again; unlike disabling the user, the next sync does not undo it.",
      access: "workspace",
      params: userRoleParams,
      body: z.object({ role: consoleAccessSchema }).strict(),
      response: z.object({ userId: z.string(), displayName: z.string(), role: consoleAccessSchema }),
      async handler({ ctx, params, body }) {
        return setUserRole(ctx.db, ctx.workspace, params.user, body.role, ctx.actor);
      },
    }),
  ],
};
