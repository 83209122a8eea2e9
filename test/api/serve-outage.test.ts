import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killStarted, startServe } from "../support/cli.ts";
import { postgresBinaries, startOwnPostgres, type OwnPostgres } from "../support/own-postgres.ts";

/** A real `rollcall serve` process whose PostgreSQL server (of this file's own) restarts under it. */
describe.skipIf(!postgresBinaries)("rollcall serve through a restart of its PostgreSQL server", () => {
  let server: OwnPostgres | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-serve-outage-"));
  afterAll(async () => {
    await killStarted();
    server?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps running, answers 503 database_unreachable meanwhile, logs the outage once per loop, and works again without a restart", { timeout: 180_000 }, async () => {
    server = await startOwnPostgres();
    const serve = await startServe({
      DATABASE_URL: server.url,
      ROLLCALL_DATA_DIR: dataDir,
      ROLLCALL_SECRET_KEY: "ab".repeat(32),
      ROLLCALL_ADMIN_PASSWORD: "a long enough password",
      ROLLCALL_SCHEDULE_CHECK_SECONDS: "1",
      ROLLCALL_NOTIFY_INTERVAL_SECONDS: "1",
      ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS: "1",
      ROLLCALL_LOG_LEVEL: "info",
    });
    const health = async () => {
      const response = await fetch(`${serve.url}/api/v1/health`);
      return { status: response.status, body: (await response.json()) as { status?: string; error?: { code: string } } };
    };
    expect(await health()).toMatchObject({ status: 200, body: { status: "ok" } });

    server.stop();
    expect(await health()).toMatchObject({ status: 503, body: { error: { code: "database_unreachable" } } });
    expect((await fetch(`${serve.url}/api/v1/health/live`)).status).toBe(200);
    const log = () => serve
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; loop?: string; err?: unknown });
    // Each of the scheduler, the notifier and the subscription upkeep meets the outage (waited for, not a 3 s sleep: on
    // a loaded machine a loop could still be due when the database came back, and never log it).
    const unreachable = () => log().filter((entry) => entry.msg.startsWith("database unreachable")).map((entry) => entry.loop).sort();
    await expect.poll(unreachable, { timeout: 60_000 }).toEqual(["notifier", "scheduler", "subscription upkeep"]);
    expect(serve.child.exitCode).toBeNull();

    server.start();
    await expect.poll(async () => (await health()).status, { timeout: 60_000 }).toBe(200);
    expect(unreachable()).toEqual(["notifier", "scheduler", "subscription upkeep"]); // once each
    expect(log().filter((entry) => entry.err !== undefined)).toEqual([]); // no stack for an outage
    await expect.poll(() => serve.stderr().match(/database reachable again/g)?.length ?? 0, { timeout: 60_000 }).toBe(3);

    // Frozen (SIGSTOP: connections stay open, nothing answers): a request needing the database fails within seconds.
    const login = () => fetch(`${serve.url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "someone@example.com", password: "a password of some length" }) });
    expect((await login()).status).toBe(401);
    server.freeze();
    try {
      const started = performance.now();
      const frozen = await login(); // signing in counts the attempt in the database first
      expect(frozen.status).toBe(503);
      expect(((await frozen.json()) as { error: { code: string } }).error.code).toBe("database_unreachable");
      expect(performance.now() - started).toBeLessThan(6_000);
      expect((await fetch(`${serve.url}/api/v1/health/live`)).status).toBe(200);
    } finally {
      server.thaw();
    }
    await expect.poll(async () => (await login()).status, { timeout: 60_000 }).toBe(401);
    expect(serve.child.exitCode).toBeNull();

    serve.child.kill("SIGTERM");
    expect(await serve.exited).toBe(0);
  });
});
