import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import pg from "pg";
import pino from "pino";
import { openTestStore, type TestStore } from "../support/db.ts";
import { killStarted, runCli, startServe } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { openStore } from "../../src/storage/database.ts";
import { createEntraSource, updateEntraSource, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { startScheduler } from "../../src/sync/scheduler.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * One run per source across several Rollcall processes sharing one PostgreSQL server: real `rollcall serve`
 * processes and a `rollcall sync` beside them. A second sync request reports the running one, whichever process
 * it reaches; a scheduled run fires once, not once per process. (PGlite is one process's database: PostgreSQL only.)
 */
const secretKey = "6".repeat(64);
const secrets = secretBox(Buffer.from(secretKey, "hex"));

describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("two Rollcall processes sharing one PostgreSQL database", () => {
  let dir: string;
  let emulator: RunningEmulator;
  let store: TestStore;
  let ctx: SourceContext;
  let env: Record<string, string | undefined>;
  let token: string;
  const scheduledRuns = async () => (await sql<{ id: string; status: string }>`select id, status from sync_runs where trigger = 'schedule' order by started_at`.execute(store.db)).rows;
  const dueNow = () => sql`update source_state set next_run_at = now()`.execute(store.db);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-processes-"));
    emulator = await startTrustedEmulator({ users: 60, groups: 4, seed: 9 });
    store = await openTestStore("postgres");
    const workspace = await resolveWorkspace(store.db, "default");
    ctx = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: true };
    await createEntraSource(ctx, {
      name: "corp",
      config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all", schedule: { cron: "0 0 1 1 *" } },
      credential: { kind: "secret", secret: emulator.clientSecret },
    });
    token = (await createApiToken(store.db, workspace, { role: "admin", name: "processes test" }, "test")).token;
    env = { DATABASE_URL: store.url, ROLLCALL_SECRET_KEY: secretKey, NODE_EXTRA_CA_CERTS: emulator.caFile, ROLLCALL_DATA_DIR: join(dir, "data"), ROLLCALL_SCHEDULE_CHECK_SECONDS: "3" };
  });
  afterAll(async () => {
    await killStarted();
    await store?.dispose();
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("two schedulers on two connections ticking at the same moment start the due run once", async () => {
    const other = await openStore({ kind: "postgres", url: store.url! });
    const logger = pino({ level: "silent" });
    const one = startScheduler({ store, secrets, logger, config: { entraCustomUrls: true } }, { tickMs: 3_600_000 });
    const two = startScheduler({ store: other, secrets, logger, config: { entraCustomUrls: true } }, { tickMs: 3_600_000 });
    try {
      await dueNow();
      const started = await Promise.all([one.tick(), two.tick()]);
      expect(started[0] + started[1]).toBe(1);
      expect(await scheduledRuns()).toMatchObject([{ status: "succeeded" }]);
      const next = (await sql<{ next_run_at: Date }>`select next_run_at from source_state`.execute(store.db)).rows[0]!.next_run_at;
      expect(new Date(next).getUTCMonth()).toBe(0); // moved on to the next 1 January
      expect(new Date(next).getTime()).toBeGreaterThan(Date.now());
    } finally {
      await one.stop();
      await two.stop();
      await other.close();
    }
  });

  it("a sync running in one `rollcall serve` is reported by the other and by `rollcall sync`; a scheduled run fires once", { timeout: 300_000 }, async () => {
    const a = await startServe(env); // the first start builds the console once; the second reuses it
    const b = await startServe(env);
    const api = (server: { url: string }, method: string, path: string, body?: object) =>
      fetch(`${server.url}/api/v1/workspaces/default/${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body && { "content-type": "application/json" }) }, ...(body && { body: JSON.stringify(body) }) });

    // The run is held where it would fold its listing into the mirror (the test locks that table against writes), so it
    // is surely still running while the other process and a CLI are asked for a second one.
    let run = { id: "", status: "" };
    const holder = new pg.Client({ connectionString: store.url });
    await holder.connect();
    await holder.query("begin");
    await holder.query("lock table entra_users in share mode");
    try {
      const started = await api(a, "POST", "sources/corp/sync", { full: true });
      expect(started.status).toBe(202);
      run = (await started.json()) as { id: string; status: string };
      expect(run.status).toBe("running");

      const second = await api(b, "POST", "sources/corp/sync", {});
      expect(second.status).toBe(409);
      expect(((await second.json()) as { error: unknown }).error).toMatchObject({ code: "sync_running", details: { runId: run.id } });
      const cli = await runCli(["sync", "corp", "--json"], env);
      expect(cli.code, cli.stdout).not.toBe(0);
      expect(cli.stdout).toBe("");
      expect(JSON.parse(cli.stderr.trim().split("\n").at(-1)!).error).toMatchObject({ code: "sync_running", details: { runId: run.id } });
      let seen = { status: "", progress: { phase: "" } };
      await until(async () => (seen = (await (await api(b, "GET", `runs/${run.id}`)).json()) as typeof seen).progress.phase === "fetching", 30_000, "progress through the other process");
      expect(seen.status).toBe("running");
    } finally {
      await holder.query("commit");
      await holder.end();
    }
    let finished = { status: "running" };
    await until(async () => (finished = (await (await api(b, "GET", `runs/${run.id}`)).json()) as typeof finished).status !== "running", 120_000, "the run to finish");
    expect(finished.status).toBe("succeeded");

    // The schedule: due now; one process claims it at its next check (every 3 s here), and we count once every process
    // has checked again after that.
    const before = (await scheduledRuns()).length;
    await dueNow();
    await until(async () => (await scheduledRuns()).length > before && (await scheduledRuns()).every((r) => r.status !== "running"), 90_000, "the scheduled run to finish");
    await new Promise((r) => setTimeout(r, 4_000));
    const scheduled = await scheduledRuns();
    expect(scheduled).toHaveLength(before + 1);
    expect(scheduled.at(-1)!.status).toBe("succeeded");
    for (const server of [a, b]) expect(server.stderr()).not.toMatch(/scheduled sync did not run/);

    for (const server of [a, b]) {
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    }
  });
});
