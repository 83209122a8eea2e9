import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killStarted, runCli, startCli } from "../support/cli.ts";
import { freePort, postgresBinaries, startOwnPostgres, type OwnPostgres } from "../support/own-postgres.ts";

type LogLine = { level: number; msg: string; reason?: string };

const logLines = (stderr: string): LogLine[] =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);

/** `rollcall serve` started before its PostgreSQL server (of this file's own), as containers and systemd units are. */
describe.skipIf(!postgresBinaries)("rollcall serve waits at start for its PostgreSQL server", () => {
  let server: OwnPostgres;
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-database-wait-"));
  const env = (overrides: Record<string, string>) => ({
    DATABASE_URL: server.url,
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_SECRET_KEY: "ab".repeat(32),
    ROLLCALL_ADMIN_PASSWORD: "a long enough password",
    ROLLCALL_PORT: "0",
    ROLLCALL_LOG_LEVEL: "info",
    ...overrides,
  });

  beforeAll(async () => {
    server = await startOwnPostgres();
  });
  afterAll(async () => {
    await killStarted();
    server?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("does not wait for a database the server does not have: fails at once, saying to create it", async () => {
    const started = performance.now();
    const result = await runCli(["serve"], env({ DATABASE_URL: server.url.replace(/\/postgres$/, "/nosuchdb") }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('database "nosuchdb" does not exist: create it first');
    expect(result.stderr).not.toContain("waiting for PostgreSQL");
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it("refuses a wait that is not a number of seconds from 0 to 3600", async () => {
    for (const value of ["soon", "-1", "3601"]) {
      const result = await runCli(["serve"], env({ ROLLCALL_DATABASE_WAIT_SECONDS: value }));
      expect(result.code, value).toBe(2);
      expect(result.stderr).toMatch(/ROLLCALL_DATABASE_WAIT_SECONDS: must be (a number of seconds|from 0 \(do not wait\) to 3600 seconds)/);
    }
  });

  it("with ROLLCALL_DATABASE_WAIT_SECONDS=1 gives up after a second: database_unreachable, exit code 1", { timeout: 60_000 }, async () => {
    server.stop();
    const started = performance.now();
    const result = await runCli(["serve"], env({ ROLLCALL_DATABASE_WAIT_SECONDS: "1" }));
    const elapsed = performance.now() - started;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error [database_unreachable]: Database unreachable: could not connect to PostgreSQL at ${server.url} (DATABASE_URL): connect ECONNREFUSED`);
    expect(result.stderr).toContain("(retried for 1 s: ROLLCALL_DATABASE_WAIT_SECONDS)");
    const waiting = logLines(result.stderr).filter((line) => line.msg.startsWith("waiting for PostgreSQL"));
    expect(waiting).toEqual([expect.objectContaining({ msg: expect.stringContaining(`at ${server.url} (DATABASE_URL): connect ECONNREFUSED`) })]);
    expect(waiting[0]!.msg).toMatch(/; retrying for up to 1 s \(ROLLCALL_DATABASE_WAIT_SECONDS\)$/);
    expect(elapsed).toBeGreaterThan(1_000);
    expect(elapsed).toBeLessThan(15_000);
  });

  it("other commands do not wait, whatever ROLLCALL_DATABASE_WAIT_SECONDS says", async () => {
    const started = performance.now();
    const result = await runCli(["users", "list"], env({ ROLLCALL_DATABASE_WAIT_SECONDS: "60" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error [database_unreachable]");
    expect(result.stderr).not.toContain("waiting for PostgreSQL");
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it("with ROLLCALL_DATABASE_WAIT_SECONDS=0 fails at once, as other commands do", async () => {
    const started = performance.now();
    const result = await runCli(["serve"], env({ ROLLCALL_DATABASE_WAIT_SECONDS: "0" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error [database_unreachable]");
    expect(result.stderr).not.toContain("retried for");
    expect(result.stderr).not.toContain("waiting for PostgreSQL");
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} while it waits stops it at once: exit code 0, one log line, no stack`, { timeout: 60_000 }, async () => {
      const port = await freePort();
      const serve = startCli(["serve"], env({ ROLLCALL_PORT: String(port) }));
      await expect.poll(() => serve.stderr(), { timeout: 60_000 }).toContain("waiting for PostgreSQL");
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/api/v1/health/live`).catch(() => undefined))?.status, { timeout: 30_000 }).toBe(200);
      const started = performance.now();
      serve.child.kill(signal);
      expect(await serve.exited).toBe(0);
      expect(performance.now() - started).toBeLessThan(2_000);
      const after = serve.stderr().slice(serve.stderr().indexOf("waiting for PostgreSQL"));
      const lines = after.split("\n").slice(1).filter(Boolean);
      expect(lines).toEqual([expect.stringContaining('"msg":"stopped while waiting for PostgreSQL"')]);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, signal });
      expect(serve.stderr()).not.toMatch(/\n\s+at /);
    });
  }

  it("started while the server is down: logs that it waits, comes up once the server does, and answers /api/v1/health 200", { timeout: 180_000 }, async () => {
    const port = await freePort();
    const serve = startCli(["serve"], env({ ROLLCALL_PORT: String(port) }));
    await expect.poll(() => serve.stderr(), { timeout: 60_000 }).toContain("waiting for PostgreSQL");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(serve.child.exitCode).toBeNull();
    expect(serve.stderr()).not.toContain("Rollcall is serving");
    // Meanwhile its port answers liveness (an orchestrator's probe keeps it) and readiness says it is not ready.
    const live = await fetch(`http://127.0.0.1:${port}/api/v1/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: "ok" });
    const notReady = await fetch(`http://127.0.0.1:${port}/api/v1/health`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ error: { code: "database_unreachable", message: expect.stringContaining("has not reached its PostgreSQL server yet") } });

    server.start();
    await expect.poll(() => /Rollcall is serving (http:\/\/\S+) /.exec(serve.stderr())?.[1], { timeout: 120_000 }).toBeDefined();
    const url = /Rollcall is serving (http:\/\/\S+) /.exec(serve.stderr())![1]!;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });

    const log = logLines(serve.stderr());
    const waiting = log.filter((line) => line.msg.startsWith("waiting for PostgreSQL"));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ level: 40, msg: `waiting for PostgreSQL at ${server.url} (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${server.port}; retrying for up to 60 s (ROLLCALL_DATABASE_WAIT_SECONDS)` });
    expect(log.filter((line) => line.msg.startsWith("connected to PostgreSQL"))).toEqual([
      expect.objectContaining({ level: 30, msg: expect.stringMatching(new RegExp(`^connected to PostgreSQL at ${server.url.replace(/[.:/]/g, "\\$&")} \\(DATABASE_URL\\) after waiting \\d+(\\.\\d)? s$`)) }),
    ]);

    serve.child.kill("SIGTERM");
    expect(await serve.exited).toBe(0);
  });
});
