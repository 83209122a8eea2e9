import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/server.ts";
import { databaseRateLimitStore } from "../../src/api/rate-limit-store.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { caller, runtimeOver } from "./support.ts";

/** Login attempts from one client address (X-Forwarded-For, trusted from inject's loopback address). */
const login = (app: FastifyInstance, email: string, password: string, address = "192.0.2.1") =>
  caller(app)("POST", "auth/login", { email, password }, { "x-forwarded-for": address });

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
});
