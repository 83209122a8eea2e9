import type { FastifyReply, FastifyRequest } from "fastify";
import type { Runtime } from "../runtime.ts";
import { randomToken } from "../security/hashing.ts";
import { cookieIsSecure } from "./auth.ts";
import { apiPrefix } from "./openapi.ts";

/**
 * Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser where an account
 * signed in with its password gets a cookie naming that account, sealed with the server's secret key. On that
 * browser the account's limit across all addresses does not apply (a device of its own does instead), so someone
 * guessing the password from many addresses cannot keep the account's owner out. One cookie holds the accounts
 * that signed in on the browser last (a shared admin laptop), each with its own device id.
 */
const cookie = "rollcall_device";
const path = `${apiPrefix}/auth/login`;
const lifetimeMs = 180 * 86_400_000;
const accountsPerBrowser = 5;

interface DeviceClaim {
  email: string;
  device: string;
  issuedAt: number;
}

export function issueDeviceCookie(rt: Runtime, request: FastifyRequest, reply: FastifyReply, email: string): void {
  const others = claimsOf(rt, request).filter((c) => c.email !== email);
  const claims = [{ email, device: randomToken("", 16), issuedAt: Date.now() }, ...others].slice(0, accountsPerBrowser);
  reply.setCookie(cookie, rt.secrets.seal(JSON.stringify(claims)), { path, httpOnly: true, sameSite: "strict", secure: cookieIsSecure(rt.config, request), maxAge: lifetimeMs / 1000 });
}

/** The device this browser is for `email` (as typed, lower-cased), if its cookie is one this server issued for that account and still valid. */
export function knownDevice(rt: Runtime, request: FastifyRequest, email: string): string | undefined {
  return email ? claimsOf(rt, request).find((c) => c.email === email)?.device : undefined;
}

/** Opened once per request: each of the sign-in's limits asks. */
const opened = new WeakMap<FastifyRequest, DeviceClaim[]>();

/** The cookie's valid claims; none when it was not sealed with this server's key (another server's, or made up). */
function claimsOf(rt: Runtime, request: FastifyRequest): DeviceClaim[] {
  let claims = opened.get(request);
  if (!claims) opened.set(request, (claims = openClaims(rt, request.cookies[cookie])));
  return claims;
}

function openClaims(rt: Runtime, value: string | undefined): DeviceClaim[] {
  if (!value) return [];
  try {
    const claims = JSON.parse(rt.secrets.open(value)) as unknown;
    return (Array.isArray(claims) ? (claims as Partial<DeviceClaim>[]) : []).filter(
      (c): c is DeviceClaim => typeof c.email === "string" && typeof c.device === "string" && typeof c.issuedAt === "number" && Date.now() - c.issuedAt < lifetimeMs,
    );
  } catch {
    return [];
  }
}
