import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { seedThreeWorkspaces } from "../support/workspace-overview.ts";
import { findAccount, setWorkspaceRole } from "../../src/core/accounts.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, caller, expectError, testApi, tokenCaller, type TestApi } from "./support.ts";

/** GET /workspace-overview: every workspace the caller may use, and only those, the ones needing attention first. */
describe.each(engines)("the workspaces' overview (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 4, groups: 1, seed: 5 });
    api = await testApi(engine);
    await seedThreeWorkspaces(api.rt, emulator);
  });
  afterAll(async () => {
    await api?.close();
    await emulator?.close();
  });

  it("shows someone with roles in two of three workspaces only those two, the failed one first with why", async () => {
    const msp = await accountCaller(api, "msp@example.com", { workspace: "calm", role: "viewer" });
    const account = (await findAccount(api.store.db, "msp@example.com"))!;
    await setWorkspaceRole(api.store.db, account, await resolveWorkspace(api.store.db, "acme"), "admin", "test");
    const reply = await msp("GET", "workspace-overview");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.items.map((w: { name: string; role: string }) => [w.name, w.role])).toEqual([["acme", "admin"], ["calm", "viewer"]]);
    expect(JSON.stringify(reply.body)).not.toMatch(/beta|"hr"/);
    const [acme, calm] = reply.body.items;
    expect(acme.attention).toEqual({ level: "critical", reasons: [expect.stringMatching(/^corp: the last run failed \(\d{4}-\d\d-\d\d\)$/)] });
    expect(acme.sources[0]).toMatchObject({ name: "corp", type: "entra", lastRun: { status: "failed", mode: "full", dryRun: false }, running: null, awaitingReview: null, nextRunAt: null });
    expect(calm).toMatchObject({ users: 4, notifications: 0, attention: { level: null, reasons: [] } });
    expect(calm.sources[0]).toMatchObject({ name: "main", lastRun: { status: "succeeded", counts: { created: 4, conflicts: 0 } }, secret: { set: true, daysLeft: 200 } });
  });

  it("sorts a failed run and an expired secret first for an owner, each with its reason", async () => {
    const owner = await accountCaller(api, "root@example.com", { owner: true });
    const { body } = await owner("GET", "workspace-overview");
    expect(body.items.map((w: { name: string; attention: { level: string | null } }) => [w.name, w.attention.level])).toEqual([
      ["acme", "critical"], ["beta", "critical"], ["calm", null], ["default", null],
    ]);
    expect(body.items[1].attention.reasons).toEqual([expect.stringMatching(/^hr: the client secret expired on \d{4}-\d\d-\d\d$/)]);
    expect(body.items[1].sources[0].secret.daysLeft).toBe(-3);
    expect(body.total).toBe(4);
  });

  it("shows SCIM sources with what they provisioned and their last request; one Entra ID stopped calling 3 hours ago, or never called, is a warning", async () => {
    const admin = await tokenCaller(api, "calm", "admin");
    const ids = new Map<string, string>();
    for (const name of ["Push", "Quiet push", "Unused push"]) ids.set(name, (await admin("POST", "workspaces/calm/sources", { type: "scim", name })).body.id);
    await sql`update scim_tokens set last_request_at = now() - interval '10 minutes' where source_id = ${ids.get("Push")!}`.execute(api.store.db);
    await sql`update scim_tokens set last_request_at = now() - interval '5 hours 10 minutes' where source_id = ${ids.get("Quiet push")!}`.execute(api.store.db);
    await sql`update sources set created_at = now() - interval '4 hours' where id = ${ids.get("Unused push")!}`.execute(api.store.db);

    const owner = await accountCaller(api, "scim-owner@example.com", { owner: true });
    const reply = await owner("GET", "workspace-overview");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const calm = reply.body.items.find((w: { name: string }) => w.name === "calm");
    expect(calm.attention).toEqual({
      level: "warning",
      reasons: [
        expect.stringMatching(/^Quiet push: Entra ID's provisioning service has not called for 5 hours \(last request \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/),
        expect.stringMatching(/^Unused push: Entra ID's provisioning service has never called it \(added 4 hours ago, \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/),
      ],
    });
    expect(calm.sources.map((s: { name: string }) => s.name)).toEqual(["main"]);
    expect(calm.scimSources).toEqual([
      { name: "Push", type: "scim", users: 0, groups: 0, lastRequestAt: expect.any(String), createdAt: expect.any(String), quiet: null, signInSecret: null },
      { name: "Quiet push", type: "scim", users: 0, groups: 0, lastRequestAt: expect.any(String), createdAt: expect.any(String), quiet: { since: expect.any(String), neverCalled: false, hours: 5 }, signInSecret: null },
      { name: "Unused push", type: "scim", users: 0, groups: 0, lastRequestAt: null, createdAt: expect.any(String), quiet: { since: expect.any(String), neverCalled: true, hours: 4 }, signInSecret: null },
    ]);
    // A warning sorts after the critical workspaces, before the healthy ones.
    expect(reply.body.items.map((w: { name: string; attention: { level: string | null } }) => [w.name, w.attention.level])).toEqual([
      ["acme", "critical"], ["beta", "critical"], ["calm", "warning"], ["default", null],
    ]);
    for (const name of ids.keys()) await admin("DELETE", `workspaces/calm/sources/${encodeURIComponent(name)}`);
  });

  it("shows an API token its own workspace only, and nobody signed out anything", async () => {
    const token = await tokenCaller(api, "calm", "viewer");
    expect((await token("GET", "workspace-overview")).body.items.map((w: { name: string }) => w.name)).toEqual(["calm"]);
    expectError(await caller(api.app)("GET", "workspace-overview"), 401, "unauthenticated");
  });
});
