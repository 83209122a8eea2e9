import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { fetch as undiciFetch } from "undici";
import { createApiToken } from "../../src/core/tokens.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import { openSignInHarness, type SignInHarness } from "../signin/support.ts";

/**
 * Stopping a sync that runs elsewhere: Ctrl-C of `rollcall sync --server` asks the server to stop the run it started
 * (instead of leaving it going), `rollcall runs cancel ID --server` stops it from another shell, and on PostgreSQL,
 * POST …/runs/{id}/cancel on the server, or `rollcall runs cancel ID` on the same database, stops a local
 * `rollcall sync` running in another process. Both runs wait on a throttled Graph (Retry-After: 60) when stopped.
 */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

describe(`stopping a sync that runs in another process (${engine})`, { timeout: 180_000 }, () => {
  let h: SignInHarness;
  let dir: string;
  let token: string;
  const throttled = () => h.emulator.stats().requests.some((r) => r.status === 429);
  const runs = async () => (await sql<{ id: string; status: string; error: { message: string } | null; trigger: string }>`select id, status, error, trigger from sync_runs order by started_at`.execute(h.store.db)).rows;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-remote-cancel-"));
    h = await openSignInHarness(engine);
    await h.addSource("contoso", { groupMode: "all" });
    token = (await createApiToken(h.store.db, h.ctx.workspace, { name: "ops", role: "admin" }, "test")).token;
  }, 300_000);
  afterEach(async () => {
    await killStarted();
    h.emulator.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
  });
  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("Ctrl-C of rollcall sync --server stops the run on the server, failed as cancelled by the caller, and exits 130", async () => {
    h.emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    h.emulator.resetStats();
    const env = { ROLLCALL_SERVER: h.url, ROLLCALL_TOKEN: token, ROLLCALL_DATA_DIR: join(dir, "cli"), DATABASE_URL: undefined };
    const sync = startCli(["sync", "contoso", "--json"], env);
    await until(async () => throttled() && (await runs()).some((r) => r.status === "running"), 60_000, "the server's run to wait on Graph");
    const sent = Date.now();
    sync.child.kill("SIGINT");
    expect(await sync.exited, sync.stderr()).toBe(130);
    expect(Date.now() - sent).toBeLessThan(30_000); // not the minute Graph asked for
    expect(sync.stderr()).toContain("SIGINT: asking the server to stop the run");
    const summary = JSON.parse(sync.stdout()) as { runId: string; status: string; error: { message: string } };
    expect(summary).toMatchObject({ status: "failed", error: { message: expect.stringMatching(/^Cancelled by API token "ops": /) } });
    expect(await runs()).toEqual([expect.objectContaining({ id: summary.runId, trigger: "api", status: "failed", error: expect.objectContaining({ message: summary.error.message }) })]);
    expect((await sql<{ n: number }>`select count(*)::int as n from users`.execute(h.store.db)).rows[0]!.n).toBe(0);

    h.emulator.setKnobs({ throttleRate: 0 });
    await h.sync("contoso"); // the source is free
  });

  it("rollcall runs cancel ID --server, from another shell, stops the run a rollcall sync --server follows", async () => {
    h.emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    h.emulator.resetStats();
    const before = (await runs()).length;
    const env = { ROLLCALL_SERVER: h.url, ROLLCALL_TOKEN: token, ROLLCALL_DATA_DIR: join(dir, "cli"), DATABASE_URL: undefined };
    const sync = startCli(["sync", "contoso", "--json"], env);
    await until(async () => throttled() && (await runs()).length > before, 60_000, "the server's run to wait on Graph");
    const run = (await runs()).at(-1)!;
    const cancel = await runCli(["runs", "cancel", run.id, "--json"], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id: run.id, cancelRequested: { by: "token:ops" } });
    expect(await sync.exited).toBe(1);
    expect(JSON.parse(sync.stdout())).toMatchObject({ runId: run.id, status: "failed", error: { message: expect.stringMatching(/^Cancelled by API token "ops": /) } });
    const again = await runCli(["runs", "cancel", run.id, "--json"], env);
    expect(again.code).toBe(4);
    expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: "conflict", message: expect.stringContaining("not running") } });
  });

  it.skipIf(engine !== "postgres")("POST …/runs/{id}/cancel on the server stops a local rollcall sync in another process", async () => {
    h.emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    h.emulator.resetStats();
    const before = (await runs()).length;
    const env = {
      DATABASE_URL: h.store.url, ROLLCALL_SECRET_KEY: "09".repeat(32), ROLLCALL_DATA_DIR: join(dir, "local"), NODE_EXTRA_CA_CERTS: h.emulator.caFile,
      ROLLCALL_SERVER: undefined, ROLLCALL_TOKEN: undefined,
    };
    const sync = startCli(["sync", "contoso", "--json"], env);
    await until(async () => {
      if (sync.child.exitCode !== null) throw new Error(`rollcall sync ended early: ${sync.stdout()} ${sync.stderr()}`);
      return throttled() && (await runs()).length > before;
    }, 60_000, "the local run to wait on Graph");
    const run = (await runs()).at(-1)!;
    expect(run).toMatchObject({ status: "running", trigger: "manual" });
    const asked = Date.now();
    const response = await undiciFetch(`${h.url}/api/v1/workspaces/default/runs/${run.id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(202);
    expect(await sync.exited).not.toBe(0);
    expect(Date.now() - asked).toBeLessThan(30_000);
    expect(JSON.parse(sync.stdout())).toMatchObject({ runId: run.id, status: "failed", error: { message: expect.stringMatching(/^Cancelled by API token "ops": /) } });

    // The same from a shell on the database, without the server.
    const second = startCli(["sync", "contoso", "--json"], env);
    await until(async () => (await runs()).some((r) => r.status === "running"), 60_000, "the second local run to start");
    const running = (await runs()).find((r) => r.status === "running")!;
    const cancel = await runCli(["runs", "cancel", running.id], env);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`run ${running.id}: asked to stop`);
    expect(await second.exited).not.toBe(0);
    expect(JSON.parse(second.stdout())).toMatchObject({ runId: running.id, status: "failed", error: { message: expect.stringMatching(new RegExp(`^Cancelled by ${userInfo().username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(CLI\\): `)) } });
  });
});
