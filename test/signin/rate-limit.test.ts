import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSignInHarness, type SignInHarness } from "./support.ts";

/**
 * Microsoft sign-in routes are rate limited per client address (ROLLCALL_LOGIN_ATTEMPTS, here 2:
 * start and callback allow 30× that per 5 minutes, the native token exchange 3×). Clients are told
 * apart by address; behind a proxy on loopback, by X-Forwarded-For, which the server trusts from there.
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

describe(`Microsoft sign-in rate limit (${engine})`, () => {
  let h: SignInHarness;
  const from = (address?: string): Record<string, string> => (address ? { "x-forwarded-for": address } : {});
  const start = (address?: string) => fetch(`${h.url}/api/v1/auth/microsoft/start?workspace=default`, { redirect: "manual", headers: from(address) });
  const redeem = (address?: string) =>
    fetch(`${h.url}/api/v1/auth/microsoft/token`, {
      method: "POST",
      headers: { "content-type": "application/json", ...from(address) },
      body: JSON.stringify({ code: "not-a-code", codeVerifier: "v".repeat(43) }),
    });

  beforeAll(async () => {
    h = await openSignInHarness(engine, { ROLLCALL_LOGIN_ATTEMPTS: "2" });
    await h.addSource("contoso");
  }, 120_000);
  afterAll(async () => h?.close());

  it("answers 429 rate_limited with a clear message once one client goes past the limit, while other clients still sign in", async () => {
    // An office behind one address: 60 people start signing in within the window.
    for (let i = 0; i < 60; i++) expect((await start("203.0.113.10")).status).toBe(302);
    const limited = await start("203.0.113.10");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
    // A browser opened this link: a page saying so, not the API's JSON.
    expect(limited.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await limited.text();
    expect(page).toContain('data-reason="rate_limited"');
    expect(page).toContain("Too many attempts; try again in 5 minutes");

    const other = await start("203.0.113.11");
    expect(other.status).toBe(302);
    expect(other.headers.get("location")).toContain(h.emulator.loginUrl);
    expect((await start()).status).toBe(302);
    expect((await start("203.0.113.10")).status).toBe(429);
  });

  it("a malformed sign-in link answers a page naming the parameter, as a browser shows it, not the API's JSON", async () => {
    const bad = await fetch(`${h.url}/api/v1/auth/microsoft/start?workspace=default&prompt=sometimes`, { redirect: "manual", headers: from("192.0.2.44") });
    expect([bad.status, bad.headers.get("content-type")]).toEqual([400, expect.stringMatching(/^text\/html/)]);
    const page = await bad.text();
    expect(page).toContain('data-reason="invalid_input"');
    expect(page).toMatch(/prompt/);
    const described = (await (await fetch(`${h.url}/api/v1/openapi.json`)).json()).paths["/api/v1/auth/microsoft/start"].get.responses;
    expect(Object.keys(described["429"].content)).toEqual(["text/html"]);
  });

  it("limits the native clients' code exchange tighter, per client as well", async () => {
    for (let i = 0; i < 6; i++) expect((await redeem("198.51.100.7")).status).toBe(403);
    const limited = await redeem("198.51.100.7");
    expect(limited.status).toBe(429);
    expect((await limited.json()).error.code).toBe("rate_limited");
    expect((await redeem("198.51.100.8")).status).toBe(403);
  });
});
