import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/server.ts";
import { databaseRateLimitStore } from "../../src/api/rate-limit-store.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { caller, runtimeOver, testApi, type TestApi } from "./support.ts";
import { loadConfig } from "../../src/config.ts";

/** Login attempts from one client address (X-Forwarded-For, trusted from inject's loopback address). */
const login = (app: FastifyInstance, email: string, password: string, address = "192.0.2.1") =>
  caller(app)("POST", "auth/login", { email, password }, { "x-forwarded-for": address });

describe.each(engines)("password sign-in limit per account on %s", (engine) => {
  let api: TestApi;
  beforeAll(async () => {
    // 2 per address and email, 6 per email from all addresses.
    api = await testApi(engine, { config: { loginAttempts: 2 } });
    await createAccount(api.store.db, { email: "target@example.com", owner: true, password: "the real password" }, "test");
    await createAccount(api.store.db, { email: "other@example.com", owner: true, password: "the other password" }, "test");
  });
  afterAll(() => api?.close());

  it("refuses an email guessed from many addresses, each below its own limit, while another email still signs in", async () => {
    for (let i = 1; i <= 6; i++) expect((await login(api.app, " Target@example.com", `guess ${i}`, `198.51.100.${i}`)).status).toBe(401);
    const limited = await login(api.app, "target@example.com", "the real password", "198.51.100.99");
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: "rate_limited", message: "Too many attempts; try again in 5 minutes" });
    expect(limited.headers["retry-after"]).toMatch(/^\d+$/);
    expect(limited.headers["set-cookie"]).toBeUndefined();
    expect((await login(api.app, "other@example.com", "the other password", "198.51.100.99")).status).toBe(200);

    // Counters are stored under a hash: no address or email in the clear.
    const keys = await api.store.db.selectFrom("rate_limits").select("key").execute();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.some((k) => /example|198\.51/.test(k.key))).toBe(false);

    // Once the window has passed, the email may be tried again.
    await sql`update rate_limits set resets_at = now() - interval '1 second'`.execute(api.store.db);
    expect((await login(api.app, "target@example.com", "the real password", "198.51.100.99")).status).toBe(200);
  });

  it("refuses guesses at the current password through one session from many addresses", async () => {
    const session = ([] as string[]).concat((await login(api.app, "other@example.com", "the other password", "192.0.2.200")).headers["set-cookie"] as string[]).find((c) => c.startsWith("rollcall_session="))!;
    const signedIn = await caller(api.app)("GET", "auth/me", undefined, { cookie: session.split(";")[0]! });
    const change = (i: number) =>
      caller(api.app)("POST", "auth/password", { currentPassword: `guess ${i}`, newPassword: "a brand new password" }, { cookie: session.split(";")[0]!, "x-csrf-token": signedIn.body.csrfToken, "x-forwarded-for": `192.0.2.${210 + i}` });
    for (let i = 0; i < 2; i++) expect((await change(i)).body.error.code).not.toBe("rate_limited");
    const limited = await change(2);
    expect([limited.status, limited.body.error.code]).toEqual([429, "rate_limited"]);
  });

  it("does not count a malformed request against the email", async () => {
    for (let i = 0; i < 8; i++) expect((await caller(api.app)("POST", "auth/login", { email: "other@example.com" }, { "x-forwarded-for": `203.0.113.${i}` })).status).toBe(400);
    expect((await login(api.app, "other@example.com", "the other password", "203.0.113.50")).status).toBe(200);
  });

  it("lets a browser where the account signed in before (its device cookie) in while guesses from elsewhere hold the email's limit", async () => {
    await sql`delete from rate_limits`.execute(api.store.db);
    const deviceCookie = (response: { headers: Record<string, unknown> }) => ([] as string[]).concat((response.headers["set-cookie"] as string | string[] | undefined) ?? []).find((c) => c.startsWith("rollcall_device="))!;
    const withCookie = (value: string, email: string, password: string, address: string) =>
      caller(api.app)("POST", "auth/login", { email, password }, { "x-forwarded-for": address, cookie: value });
    const device = deviceCookie(await login(api.app, "target@example.com", "the real password", "192.0.2.60"));
    expect(device).toMatch(/HttpOnly/i);
    expect(device).toMatch(/SameSite=Strict/i);
    expect(device).toMatch(/Path=\/api\/v1\/auth\/login/);
    const cookie = device.split(";")[0]!;
    // A second admin signs in on the same browser: its cookie now names both accounts.
    const both = deviceCookie(await withCookie(cookie, "other@example.com", "the other password", "192.0.2.61")).split(";")[0]!;
    await sql`delete from rate_limits`.execute(api.store.db);

    // Someone guesses from many addresses until the email is refused everywhere else...
    for (let i = 1; i <= 6; i++) expect((await login(api.app, "target@example.com", `guess ${i}`, `198.51.100.${20 + i}`)).status).toBe(401);
    expect((await login(api.app, "target@example.com", "the real password", "198.51.100.40")).status).toBe(429);
    // ...but not on the owner's browser, from any address (a laptop that moved to another network).
    expect((await withCookie(cookie, " Target@example.com", "the real password", "203.0.113.70")).status).toBe(200);
    // A cookie made up, or issued for another account, exempts nothing.
    expect((await withCookie("rollcall_device=v1:made:up:value", "target@example.com", "the real password", "203.0.113.71")).status).toBe(429);
    for (let i = 1; i <= 6; i++) expect((await login(api.app, "other@example.com", `guess ${i}`, `198.51.100.${50 + i}`)).status).toBe(401);
    expect((await withCookie(cookie, "other@example.com", "the other password", "203.0.113.72")).status).toBe(429);
    expect((await withCookie(both, "other@example.com", "the other password", "203.0.113.73")).status).toBe(200);
    expect((await withCookie(both, "target@example.com", "the real password", "203.0.113.74")).status).toBe(200);

    // The device has a limit of its own (2 here): a stolen cookie does not buy unlimited guesses.
    await sql`delete from rate_limits`.execute(api.store.db);
    for (let i = 1; i <= 2; i++) expect((await withCookie(cookie, "target@example.com", `guess ${i}`, `203.0.113.${80 + i}`)).status).toBe(401);
    const limited = await withCookie(cookie, "target@example.com", "the real password", "203.0.113.90");
    expect([limited.status, limited.body.error.code]).toEqual([429, "rate_limited"]);
  });
});

describe.each(engines)("rate-limit store on %s", (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
  });
  afterAll(() => store?.dispose());

  const incr = (limits: ReturnType<typeof databaseRateLimitStore>, key: string, windowMs: number) => {
    const counter = new limits({}).child({ routeInfo: { method: "POST", url: "/test" } } as never);
    return new Promise<{ current: number; ttl: number }>((resolve, reject) => counter.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), windowMs, 1));
  };

  it("counts hits in a window, starts a new one once it has passed, and sweeps passed windows away", async () => {
    await sql`insert into rate_limits (key, hits, resets_at) values ('long gone', 7, now() - interval '1 hour')`.execute(store.db);
    const limits = databaseRateLimitStore(store.db);
    expect(await incr(limits, "k", 1000)).toMatchObject({ current: 1, ttl: expect.any(Number) });
    const second = await incr(limits, "k", 1000);
    expect(second.current).toBe(2);
    expect(second.ttl).toBeGreaterThan(0);
    expect(second.ttl).toBeLessThanOrEqual(1000);
    expect(await store.db.selectFrom("rate_limits").select("key").where("key", "=", "long gone").execute()).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await incr(limits, "k", 1000)).toMatchObject({ current: 1 });
    expect((await incr(limits, "other key", 1000)).current).toBe(1);
  });
});

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("two Rollcall processes sharing one PostgreSQL database", () => {
  let store: TestStore;
  let second: Store;
  let apps: FastifyInstance[];
  beforeAll(async () => {
    store = await openTestStore("postgres");
    second = await openStore({ kind: "postgres", url: store.url! });
    await createAccount(store.db, { email: "target@example.com", owner: true, password: "the real password" }, "test");
    apps = [await buildApp(runtimeOver(store, { loginAttempts: 4 })), await buildApp(runtimeOver(second, { loginAttempts: 4 }))];
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await second?.close();
    await store?.dispose();
  });

  it("share one limit: the attempt after the allowance is refused, whichever process it reaches", async () => {
    for (let i = 0; i < 4; i++) expect((await login(apps[i % 2]!, "target@example.com", `guess ${i}`)).status).toBe(401);
    for (const app of apps) expect((await login(app, "target@example.com", "the real password")).status).toBe(429);
  });

  it("count attempts arriving at the same moment on both exactly once each", async () => {
    const attempts = Array.from({ length: 16 }, (_, i) => login(apps[i % 2]!, "rush@example.com", `guess ${i}`));
    const statuses = (await Promise.all(attempts)).map((reply) => reply.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(4);
    expect(statuses.filter((status) => status === 429)).toHaveLength(12);
  });

  it("share the per-account limit across addresses too", async () => {
    // 4 per address and email, 12 per email from all addresses.
    for (let i = 0; i < 12; i++) expect((await login(apps[i % 2]!, "spread@example.com", `guess ${i}`, `198.51.100.${i}`)).status).toBe(401);
    expect((await login(apps[0]!, "spread@example.com", "a guess", "198.51.100.200")).status).toBe(429);
  });
});

describe("whose X-Forwarded-For counts (ROLLCALL_TRUST_PROXY)", () => {
  it("takes addresses, CIDR ranges and proxy-addr's names, and refuses anything else at start-up", () => {
    expect(loadConfig({}).trustProxy).toEqual(["loopback", "linklocal", "uniquelocal"]);
    expect(loadConfig({ ROLLCALL_TRUST_PROXY: " 10.0.0.5, 172.16.0.0/12,fd00::/8 " }).trustProxy).toEqual(["10.0.0.5", "172.16.0.0/12", "fd00::/8"]);
    for (const value of ["proxy.internal", "10.0.0.0/33", "10.0.0.0/8/1", "::1/129"]) {
      expect(() => loadConfig({ ROLLCALL_TRUST_PROXY: value }), value).toThrow(/ROLLCALL_TRUST_PROXY: must list addresses, CIDR ranges/);
    }
  });

  it("ignores the header from an address it does not name: a client cannot claim a new address for each guess", async () => {
    // inject's requests come from 127.0.0.1, which this server does not trust as a proxy.
    const api = await testApi("pglite", { config: { loginAttempts: 2, trustProxy: ["192.0.2.50"] } });
    try {
      await createAccount(api.store.db, { email: "target@example.com", owner: true, password: "the real password" }, "test");
      expect((await login(api.app, "target@example.com", "guess 1", "198.51.100.1")).status).toBe(401);
      expect((await login(api.app, "target@example.com", "guess 2", "198.51.100.2")).status).toBe(401);
      expect((await login(api.app, "target@example.com", "guess 3", "198.51.100.3")).status).toBe(429);
    } finally {
      await api.close();
    }
  });
});
