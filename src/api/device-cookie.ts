import type { FastifyReply, FastifyRequest } from "fastify";
import type { Runtime } from "../runtime.ts";
import { randomToken } from "../security/hashing.ts";
import { cookieIsSecure } from "./auth.ts";
import { apiPrefix } from "./openapi.ts";

/**
 * Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser where an account
 * signed in with its password gets a cookie naming that account, sealed with the server's secret key. On that
 * browser the account's limit across all addresses does not apply (a device of its own does instead), so someone
 * guessing the password from many addresses cannot keep the account's owner out.
 */
const cookie = "rollcall_device";
const path = `${apiPrefix}/auth/login`;
const lifetimeMs = 180 * 86_400_000;

interface DeviceClaim {
  email: string;
  device: string;
  issuedAt: number;
}

export function issueDeviceCookie(rt: Runtime, request: FastifyRequest, reply: FastifyReply, email: string): void {
  const claim: DeviceClaim = { email: email.toLowerCase(), device: randomToken("", 16), issuedAt: Date.now() };
  reply.setCookie(cookie, rt.secrets.seal(JSON.stringify(claim)), { path, httpOnly: true, sameSite: "strict", secure: cookieIsSecure(rt.config, request), maxAge: lifetimeMs / 1000 });
}

/** The device this browser is for `email` (as typed, lower-cased), if its cookie is one this server issued for that account and still valid. */
export function knownDevice(rt: Runtime, request: FastifyRequest, email: string): string | undefined {
  const value = request.cookies[cookie];
  if (!value || !email) return undefined;
  try {
    const claim = JSON.parse(rt.secrets.open(value)) as Partial<DeviceClaim>;
    const fresh = typeof claim.issuedAt === "number" && Date.now() - claim.issuedAt < lifetimeMs;
    return fresh && claim.email === email && typeof claim.device === "string" ? claim.device : undefined;
  } catch {
    return undefined; // not sealed with this key (another server's, or made up)
  }
}
