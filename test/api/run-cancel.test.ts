import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { until } from "../notifications/support.ts";
import { expectError, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { httpFetch } from "../../src/net/http.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { runSync } from "../../src/sync/runner.ts";
import { cancelRun } from "../../src/core/runs.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * POST …/runs/{id}/cancel stops a run going on in another runner (on PostgreSQL, over connections of its own, as
 * another process would): the request is recorded on the run, the runner sees it and fails the run as cancelled by
 * the caller, with nothing applied, even while it waits out a long Retry-After. A run of the server's own process
 * (the only kind on PGlite) is stopped at once, even in the middle of its apply's transaction.
 */
describe.each(engines)("stopping a running sync through the API (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let admin: Caller;
  let viewer: Caller;
  let runner: Store; // the other runner's database connections
  const ws = "workspaces/default";

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 30, groups: 3, seed: 4 });
    api = await testApi(engine);
    admin = await tokenCaller(api, "default", "admin");
    viewer = await tokenCaller(api, "default", "viewer");
    runner = engine === "postgres" ? await openStore({ kind: "postgres", url: api.store.url! }) : api.store;
    const added = await admin("POST", `${ws}/sources`, {
      name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all", clientSecret: emulator.clientSecret,
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
  });
  afterAll(async () => {
    emulator?.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
    if (runner && runner !== api.store) await runner.close();
    await api?.close();
    await emulator?.close();
  });

  it("fails the run as cancelled by the caller within seconds, though Graph asked it to wait a minute, with nothing applied", { timeout: 120_000 }, async () => {
    emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    emulator.resetStats();
    const workspace = await resolveWorkspace(runner.db, "default");
    const source = await loadSourceForSync({ db: runner.db, workspace, secrets: api.rt.secrets }, "corp");
    const running = runSync(runner, { workspaceId: workspace.id, source, trigger: "manual" }, { fetch: httpFetch });
    await until(() => emulator.stats().requests.some((r) => r.status === 429), 60_000, "a throttled Graph request");
    const [run] = (await admin("GET", `${ws}/runs`)).body.items;
    expect(run).toMatchObject({ status: "running", cancelRequested: null });

    expectError(await viewer("POST", `${ws}/runs/${run.id}/cancel`), 403, "forbidden");
    const asked = Date.now();
    const cancel = await admin("POST", `${ws}/runs/${run.id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    // Over the API's own connection the run is this process's, stopped before the answer.
    const here = runner === api.store;
    expect(cancel.body).toMatchObject({ id: run.id, status: here ? "failed" : "running", cancelRequested: { by: "token:admin token", at: expect.any(String) } });

    const summary = await running;
    expect(Date.now() - asked).toBeLessThan(30_000); // not the minute Graph asked for
    expect(summary).toMatchObject({ runId: run.id, status: "failed", error: { code: "sync_failed", message: expect.stringMatching(/^Cancelled by API token "admin token": /) } });
    expect(emulator.stats().requests.filter((r) => r.retryAttempt)).toEqual([]);
    const after = (await admin("GET", `${ws}/runs/${run.id}`)).body;
    expect(after).toMatchObject({ status: "failed", error: { message: expect.stringContaining('Cancelled by API token "admin token"') }, cancelRequested: { by: "token:admin token" } });
    expect((await admin("GET", `${ws}/users?source=corp&limit=1`)).body.total).toBe(0);
    expectError(await admin("POST", `${ws}/runs/${run.id}/cancel`), 409, "conflict");

    emulator.setKnobs({ throttleRate: 0 });
    const again = await admin("POST", `${ws}/sources/corp/sync`);
    expect(again.status, JSON.stringify(again.body)).toBe(202); // the source is free
    await until(async () => (await admin("GET", `${ws}/runs/${again.body.id}`)).body.status !== "running", 60_000, "the next run");
    expect((await admin("GET", `${ws}/runs/${again.body.id}`)).body).toMatchObject({ status: "succeeded", mode: "full" });
  });

  it("stops a run of the server's own process in the middle of its apply, at once, with nothing applied", async () => {
    const workspace = await resolveWorkspace(api.store.db, "default");
    const source = await loadSourceForSync({ db: api.store.db, workspace, secrets: api.rt.secrets }, "corp");
    const tenant = emulator.tenants.get(emulator.tenantId);
    for (const user of tenant.listUsers().slice(0, 5)) tenant.updateUser(user.id, { displayName: "Renamed Meanwhile" });
    const renamed = async () => (await admin("GET", `${ws}/users?source=corp&q=Renamed%20Meanwhile`)).body.total;
    let runId = "";
    let cancelled: ReturnType<typeof cancelRun> | undefined;
    const summary = await runSync(api.store, { workspaceId: workspace.id, source, trigger: "manual" }, {
      fetch: httpFetch,
      onStarted: (id) => (runId = id),
      // In the apply's transaction: on PGlite the cancel's own statements wait behind it.
      onProgress: (p) => {
        if (p.phase === "applying") cancelled ??= cancelRun({ db: api.store.db, workspace, actor: "token:admin token" }, runId);
      },
    });
    expect(summary).toMatchObject({ status: "failed", error: { message: expect.stringMatching(/^Cancelled by API token "admin token": /) } });
    expect(await cancelled).toMatchObject({ id: runId, status: "failed", cancelRequested: { by: "token:admin token" } });
    expect(await renamed()).toBe(0);
    expect(await runSync(api.store, { workspaceId: workspace.id, source, trigger: "manual" }, { fetch: httpFetch })).toMatchObject({ status: "succeeded", counts: { updated: 5 } });
    expect(await renamed()).toBe(5);
  });

  it("fails at once a run whose process no longer holds the source (killed), and knows no other run", async () => {
    const { rows } = await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status, counts, progress)
      select workspace_id, id, 'manual', 'delta', 'running', '{}', '{"phase":"fetching"}' from sources where name = 'corp' returning id`.execute(api.store.db);
    const cancel = await admin("POST", `${ws}/runs/${rows[0]!.id}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    expect(cancel.body).toMatchObject({ status: "failed", finishedAt: expect.any(String), error: { message: expect.stringMatching(/^Cancelled by API token "admin token": the run had stopped responding/) } });
    expectError(await admin("POST", `${ws}/runs/00000000-0000-0000-0000-000000000000/cancel`), 404, "not_found");
  });
});
