import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { RollcallError } from "../../errors.ts";
import { changePassword, createSession, deleteSession, verifyLogin } from "../../core/accounts.ts";
import { clearSessionCookie, startBrowserSession, visibleWorkspaces } from "../auth.ts";
import { issueDeviceCookie, knownDevice } from "../device-cookie.ts";
import { route, type RouteModule } from "../route.ts";
import { callbackUrl, rememberSignOut } from "./signin.ts";
import { microsoftSignOutUrl } from "../../auth/signout.ts";
import { accountSchema, roleSchema, timestamp } from "../schemas.ts";

const loginBody = z.object({ email: z.string().trim().min(1, "is required").max(254), password: z.string().min(1, "is required").max(1024) }).strict();

const meResponse = z.object({
  account: accountSchema.nullable().describe("null when called with an API token"),
  token: z.object({ id: z.string(), name: z.string(), role: roleSchema }).nullable().describe("the API token in use, if any"),
  csrfToken: z.string().nullable().describe("send as X-CSRF-Token on every change made with the session cookie"),
  expiresAt: timestamp.nullable(),
  workspaces: z.array(z.object({ id: z.string(), name: z.string(), role: roleSchema })),
});

/** Sign-in attempts per client address and email (ROLLCALL_LOGIN_ATTEMPTS): generous for people, useless for guessing. */
const loginWindow = "5 minutes";

/**
 * Attempts per email from all addresses together, in multiples of ROLLCALL_LOGIN_ATTEMPTS: without it, every address
 * an attacker controls gets its own 10 guesses. 3× lets the account's owner use the whole per-address allowance from
 * a laptop, a phone and a VPN in the same window, and caps a distributed guesser at 30 guesses per 5 minutes.
 * It is keyed by the typed email, not the account, so an unknown email is refused the same way and the 429 does not
 * tell which accounts exist. A browser where the account signed in before (its device cookie) is exempt, with a limit
 * of its own: the guessing cannot keep the owner out.
 */
const perAccount = 3;

/** The email as typed, as the account lookup compares it (core/accounts.ts verifyLogin). */
function typedEmail(request: { body?: unknown }): string {
  const email = (request.body as { email?: unknown } | undefined)?.email;
  return typeof email === "string" ? email.trim().toLowerCase() : "";
}

export const authRoutes: RouteModule = {
  tag: "Authentication",
  description: "Admin sign-in with a session cookie. Scripts use API tokens instead (Authorization: Bearer rc_…).",
  routes: [
    route({
      method: "POST",
      url: "/auth/login",
      summary: "Sign in; sets the rollcall_session cookie",
      description:
        `Rate limited to ROLLCALL_LOGIN_ATTEMPTS (default 10) attempts per ${loginWindow} per client address and email, ` +
        `and ${perAccount} times as many per email from all addresses (429 rate_limited, with Retry-After). ` +
        "A browser where that account signed in before (the rollcall_device cookie a sign-in sets) is not held to the limit from all addresses, only to ROLLCALL_LOGIN_ATTEMPTS of its own.",
      access: "public",
      body: loginBody,
      errors: { 401: "unauthenticated: the email or password is wrong (which one is not said)" },
      response: z.object({ account: accountSchema, csrfToken: z.string(), expiresAt: timestamp }),
      config: (rt) => ({
        rateLimit: {
          max: rt.config.loginAttempts,
          timeWindow: loginWindow,
          // After body parsing, so the key can include the email.
          hook: "preHandler",
          keyGenerator: (request: { ip: string; body?: unknown }) => `${request.ip}|${typedEmail(request)}`,
        },
        moreRateLimits: [
          {
            max: rt.config.loginAttempts * perAccount,
            timeWindow: loginWindow,
            keyGenerator: (request: FastifyRequest) => `account|${typedEmail(request)}`,
            allowList: (request: FastifyRequest) => knownDevice(rt, request, typedEmail(request)) !== undefined,
          },
          {
            max: rt.config.loginAttempts,
            timeWindow: loginWindow,
            keyGenerator: (request: FastifyRequest) => `device|${knownDevice(rt, request, typedEmail(request))}`,
            allowList: (request: FastifyRequest) => knownDevice(rt, request, typedEmail(request)) === undefined,
          },
        ],
      }),
      async handler({ body, rt, request, reply }) {
        const account = await verifyLogin(rt.store.db, body.email, body.password);
        const session = await createSession(rt.store.db, account, rt.config.sessionHours);
        await startBrowserSession(rt.store.db, reply, request, rt.config, session.id);
        issueDeviceCookie(rt, request, reply, typedEmail(request));
        rt.logger.info({ account: account.email }, "admin signed in");
        return { account, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
      },
    }),
    route({
      method: "POST",
      url: "/auth/logout",
      summary: "Sign out: ends the session and clears the cookie",
      description:
        "For someone signed in with Microsoft, the answer also says where to send the browser to sign out of Microsoft as well " +
        "(their organization's sign-out page, which comes back to the sign-in page); Rollcall does not send it there itself, since that also signs the browser out of the person's other Microsoft apps.",
      access: "signed-in",
      errors: { 400: "invalid_input: signing out ends a session; an API token is revoked instead" },
      response: z.object({
        microsoftSignOutUrl: z.string().nullable().describe("Microsoft's sign-out page for the session's organization, for a session signed in with Microsoft; null otherwise"),
      }),
      async handler({ principal, rt, request, reply }) {
        if (principal.kind !== "session") throw new RollcallError("invalid_input", "Signing out applies to session cookies; revoke an API token instead");
        const { microsoftLoginHint } = await deleteSession(rt.store.db, principal.sessionId);
        const signOutUrl = await microsoftSignOutUrl(rt.store.db, principal.account.id, { postLogoutRedirectUri: callbackUrl(rt, request), customUrlsAllowed: rt.config.entraCustomUrls, logoutHint: microsoftLoginHint });
        clearSessionCookie(reply, request, rt.config);
        rememberSignOut(reply, request, rt.config);
        return { microsoftSignOutUrl: signOutUrl };
      },
    }),
    route({
      method: "POST",
      url: "/auth/password",
      summary: "Change your own password; your other sessions are signed out",
      description: `Rate limited to ROLLCALL_LOGIN_ATTEMPTS attempts per ${loginWindow} per client address, and as many per session from all addresses (429 rate_limited).`,
      access: "signed-in",
      status: 204,
      body: z.object({ currentPassword: z.string().min(1, "is required").max(1024), newPassword: z.string().min(12, "must be at least 12 characters").max(1024) }).strict(),
      // Per address, and per session from all addresses: a stolen session must not guess the current password faster from many.
      config: (rt) => ({
        rateLimit: { max: rt.config.loginAttempts, timeWindow: loginWindow, hook: "preHandler" },
        moreRateLimits: [{ max: rt.config.loginAttempts, timeWindow: loginWindow, keyGenerator: (request: FastifyRequest) => `password|${request.cookies.rollcall_session ?? request.ip}` }],
      }),
      async handler({ principal, body, rt }) {
        if (principal.kind !== "session") throw new RollcallError("invalid_input", "An API token has no password; sign in as the account to change it");
        await changePassword(rt.store.db, principal.account, body, principal.sessionId);
        rt.logger.info({ account: principal.account.email }, "admin changed their password");
      },
    }),
    route({
      method: "GET",
      url: "/auth/me",
      summary: "Who is signed in, their CSRF token and the workspaces they can use",
      access: "signed-in",
      response: meResponse,
      async handler({ principal, rt }) {
        const workspaces = (await visibleWorkspaces(rt.store.db, principal)).map((w) => ({ id: w.id, name: w.name, role: w.role }));
        if (principal.kind === "token") {
          return { account: null, token: { id: principal.tokenId, name: principal.name, role: principal.role }, csrfToken: null, expiresAt: null, workspaces };
        }
        return { account: principal.account, token: null, csrfToken: principal.csrfToken, expiresAt: principal.expiresAt, workspaces };
      },
    }),
  ],
};
