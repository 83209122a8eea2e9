import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { openStore, sql, type Store } from "../../src/storage/database.ts";
import { toRollcallError } from "../../src/errors.ts";
import { buildApp } from "../../src/api/server.ts";
import { startScheduler } from "../../src/sync/scheduler.ts";
import { startNotifier } from "../../src/notifications/worker.ts";
import { runtimeOver, tokenCaller, type TestApi } from "../api/support.ts";
import { postgresBinaries, startOwnPostgres, type OwnPostgres } from "../support/own-postgres.ts";

/**
 * The PostgreSQL server goes away under a running Rollcall (a restart, a failover) and comes back: nothing crashes,
 * every request meanwhile fails at once with 503 database_unreachable, and everything works again with no restart.
 * A server of this file's own, stopped and started here.
 */
describe.skipIf(!postgresBinaries)("a PostgreSQL server that goes away and comes back", () => {
  let server: OwnPostgres;
  let store: Store;
  let api: TestApi;
  const lines: string[] = [];
  const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const logged = (message: string) => lines.map((line) => JSON.parse(line) as { msg: string; loop?: string }).filter((entry) => entry.msg.startsWith(message));

  beforeAll(async () => {
    server = await startOwnPostgres();
    store = await openStore({ kind: "postgres", url: server.url, connectTimeoutMs: 1_000 });
    const rt = runtimeOver(store, { scheduleCheckMs: 100, notifyIntervalMs: 100 }, logger);
    const app = await buildApp(rt);
    api = { app, rt, store: { ...store, dispose: () => store.close() }, close: () => app.close() };
  });
  afterAll(async () => {
    await api?.app.close();
    await store?.close();
    server?.remove();
  });

  it("a connection cut while a transaction holds it does not crash the process: the transaction fails with database_unreachable, and the next query works once the server is back", async () => {
    const failure = await store.db
      .transaction()
      .execute(async (trx) => {
        await sql`select 1`.execute(trx);
        server.stop(); // ends every session while this one waits between two statements (a sync awaiting Graph)
        await new Promise((resolve) => setTimeout(resolve, 200)); // the server's goodbye arrives as an 'error' event meanwhile
        await sql`select 1`.execute(trx);
      })
      .then(() => undefined, (error: unknown) => toRollcallError(error));
    expect(failure).toMatchObject({ code: "database_unreachable", status: 503 });

    const started = performance.now();
    const down = await sql`select 1`.execute(store.db).then(() => undefined, (error: unknown) => toRollcallError(error));
    expect(down).toMatchObject({ code: "database_unreachable", message: expect.stringMatching(/^Database unreachable: .*ECONNREFUSED.*; retrying/) });
    expect(performance.now() - started).toBeLessThan(1_000);

    server.start();
    expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([{ one: 1 }]);
  });

  it("while the server is down the API answers 503 database_unreachable at once, readiness says so and liveness stays up; it all works again once it is back", async () => {
    const admin = await tokenCaller(api, "default", "admin");
    expect((await admin("GET", "health")).body).toMatchObject({ status: "ok", database: "postgres" });
    expect((await admin("GET", "workspaces/default/users")).status).toBe(200);

    server.stop();
    const started = performance.now();
    const ready = await admin("GET", "health");
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ code: "database_unreachable", message: expect.stringMatching(/^Database unreachable: .+; retrying/) });
    const users = await admin("GET", "workspaces/default/users");
    expect(users.status).toBe(503);
    expect(users.body.error.code).toBe("database_unreachable");
    expect(JSON.stringify(users.body)).not.toMatch(/ at .*\.(ts|js):\d+/); // no stack
    // Signing in counts the attempt in the database (rate limits) before it checks anything.
    const login = await api.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email: "someone@example.com", password: "a password of some length" } });
    expect(login.statusCode).toBe(503);
    expect(login.json().error.code).toBe("database_unreachable");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await admin("GET", "health/live")).toMatchObject({ status: 200, body: { status: "ok" } });
    // Expected failures, not the server's own: no "request failed" error with a stack in the log.
    expect(logged("request failed")).toEqual([]);

    server.start();
    expect(await admin("GET", "health")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect((await admin("GET", "workspaces/default/users")).status).toBe(200);
  });

  it("the scheduler and the notifier keep going through an outage, logging it once each when it begins and once when it ends", async () => {
    const scheduler = startScheduler({ ...api.rt, logger }, { tickMs: 100 });
    const notifier = startNotifier(api.rt);
    let down = false;
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      lines.length = 0;
      server.stop();
      down = true;
      // Each loop meets the outage (waited for: a loaded machine may not run a round of each in a set time), then goes
      // on for about ten more rounds without logging it again.
      await expect.poll(() => logged("database unreachable").map((entry) => entry.loop).sort(), { timeout: 30_000 }).toEqual(["notifier", "scheduler"]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(logged("database unreachable").map((entry) => entry.loop).sort()).toEqual(["notifier", "scheduler"]);
      expect(logged("scheduler tick failed")).toEqual([]);
      expect(logged("notifier round failed")).toEqual([]);

      server.start();
      down = false;
      await expect.poll(() => logged("database reachable again").map((entry) => entry.loop).sort(), { timeout: 30_000 }).toEqual(["notifier", "scheduler"]);
      expect(logged("database unreachable")).toHaveLength(2);
    } finally {
      if (down) server.start(); // a failure here must not leave the next tests without their server
      await scheduler.stop();
      await notifier.stop();
    }
  });

  it("readiness says a server that stops answering on a connection already made is unreachable, within the connect time limit, rather than hanging", async () => {
    const proxy = await freezableProxy(server.port);
    const throughProxy = await openStore({ kind: "postgres", url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, connectTimeoutMs: 500 }, { migrate: false });
    const app = await buildApp(runtimeOver(throughProxy, { databaseConnectTimeoutMs: 500 }));
    try {
      const health = () => app.inject({ method: "GET", url: "/api/v1/health" });
      expect((await health()).statusCode).toBe(200); // the pool now holds a connection through the proxy
      proxy.freeze();
      const started = performance.now();
      const frozen = await health();
      expect(frozen.statusCode).toBe(503);
      expect(frozen.json().error).toMatchObject({ code: "database_unreachable", message: expect.stringContaining("no answer within 0.5 s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)") });
      expect(performance.now() - started).toBeLessThan(2_000);
      expect((await app.inject({ method: "GET", url: "/api/v1/health/live" })).statusCode).toBe(200);
      proxy.thaw();
      expect((await health()).statusCode).toBe(200);
    } finally {
      proxy.thaw();
      await app.close();
      await throughProxy.close();
      await proxy.close();
    }
  });

  it("a server that freezes (SIGSTOP) under queries fails them with database_unreachable within about twice the connect time limit, more queries than the pool holds included, and answers again once it goes on (SIGCONT)", async () => {
    const admin = await tokenCaller(api, "default", "admin");
    expect((await admin("GET", "workspaces/default/users")).status).toBe(200);
    await Promise.all(Array.from({ length: 10 }, () => sql`select pg_sleep(0.05)`.execute(store.db))); // a full pool of connections made
    server.freeze();
    try {
      const started = performance.now();
      const queries = Array.from({ length: 12 }, () => sql`select 1`.execute(store.db).then(() => undefined, (error: unknown) => toRollcallError(error)));
      const users = await admin("GET", "workspaces/default/users");
      expect(users.status).toBe(503);
      expect(users.body.error).toMatchObject({ code: "database_unreachable", message: expect.stringContaining("no answer within 1 s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)") });
      for (const failure of await Promise.all(queries)) expect(failure).toMatchObject({ code: "database_unreachable" });
      // 1 s unanswered, 1 s for the watchdog's own question, 1 s for a waiting query's new connection, plus its rounds
      expect(performance.now() - started).toBeLessThan(6_000);
    } finally {
      server.thaw();
    }
    expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows).toEqual([{ one: 1 }]);
    expect((await admin("GET", "workspaces/default/users")).status).toBe(200);
  });

  it("a statement longer than the connect time limit on a server that answers is not cut", async () => {
    const started = performance.now();
    await sql`select pg_sleep(3.5)`.execute(store.db); // the watchdog asks the server three times meanwhile
    expect(performance.now() - started).toBeGreaterThan(3_400);
  });

  it("a network cut that resets nothing fails a query in flight with database_unreachable rather than leaving it waiting, and the pool connects again once the network is back", async () => {
    const proxy = await freezableProxy(server.port);
    const throughProxy = await openStore({ kind: "postgres", url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, connectTimeoutMs: 500 }, { migrate: false });
    try {
      const long = sql`select pg_sleep(0.3)`.execute(throughProxy.db).then(() => undefined, (error: unknown) => toRollcallError(error));
      proxy.freeze(); // the statement's answer never arrives
      const started = performance.now();
      expect(await long).toMatchObject({ code: "database_unreachable", message: expect.stringContaining("no answer within 0.5 s") });
      expect(performance.now() - started).toBeLessThan(3_000);
      proxy.thaw();
      expect((await sql<{ one: number }>`select 1 as one`.execute(throughProxy.db)).rows).toEqual([{ one: 1 }]);
    } finally {
      proxy.thaw();
      await throughProxy.close();
      await proxy.close();
    }
  });

  it("a server that takes connections but never answers fails a query after ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS, saying so, instead of hanging", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = performance.now();
      const refused = await openStore({ kind: "postgres", url: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeoutMs: 300 }).then(
        () => undefined,
        (error: unknown) => toRollcallError(error),
      );
      expect(refused).toMatchObject({ code: "database_unreachable", message: expect.stringContaining("no answer within 0.3 s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)") });
      expect(refused!.message).toContain(`could not connect to PostgreSQL at postgres://postgres@127.0.0.1:${port}/postgres (DATABASE_URL)`);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

/** A TCP proxy to PostgreSQL that can stop passing bytes on without closing anything, as a frozen server or a silent network cut does. */
async function freezableProxy(port: number): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets: Socket[] = [];
  const pass = (from: Socket, to: Socket) => from.on("data", (chunk) => (frozen ? held.push(() => to.write(chunk)) : to.write(chunk)));
  const proxy = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    sockets.push(client, upstream);
    pass(client, upstream);
    pass(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port: (proxy.address() as { port: number }).port,
    freeze: () => void (frozen = true),
    thaw() {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
