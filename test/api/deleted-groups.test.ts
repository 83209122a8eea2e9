import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { syncSource } from "../../src/sync/service.ts";
import { expectError, tokenCaller, testApi, type Caller, type TestApi } from "./support.ts";

/**
 * A synced group deleted in Entra ID, through the API: gone from every list, its history still answered by its id or
 * name (marked deleted); restored in Entra ID within 30 days, the same group again, back in the group an admin put it
 * in here. Kept here no longer than Entra ID keeps it: 30 days on, a group with its object id is a new group.
 */
describe.each(engines)("a synced group deleted and restored in Entra ID, through the API (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let admin: Caller;
  let sync: (full?: boolean) => Promise<void>;
  const tenant = () => emulator.tenants.get(emulator.tenantId);
  let crew = { id: "", entraId: "", member: "" };

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 3, groups: 0, seed: 5 });
    api = await testApi(engine);
    const entra = tenant().createGroup({ displayName: "Crew" });
    const person = tenant().listUsers().find((u) => u.userType === "Member")!;
    tenant().addMember(entra.id, person.id);
    const workspace = await resolveWorkspace(api.store.db, "default");
    const ctx = { db: api.store.db, workspace, actor: "test", secrets: api.rt.secrets, entraCustomUrls: true };
    const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null, groupMode: "all" as const };
    await createEntraSource(ctx, { name: "corp", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    sync = async (full = false) => {
      const run = await syncSource(api.rt, workspace, "corp", { trigger: "api", actor: "test", full });
      expect(run).toMatchObject({ status: "succeeded" });
    };
    await sync();
    admin = await tokenCaller(api, "default", "admin");
    const group = (await admin("GET", "workspaces/default/groups/Crew")).body;
    crew = { id: group.id, entraId: entra.id, member: group.members[0] };
    expect((await admin("POST", "workspaces/default/groups", { name: "Everyone" })).status).toBe(201);
    expect((await admin("POST", "workspaces/default/groups/Everyone/members", { member: "Crew" })).status).toBe(200);
  });
  afterAll(async () => {
    await api?.close();
    await emulator?.close();
  });

  it("deleted: in no list, count or membership, its history answered by id or name with the group marked deleted", async () => {
    tenant().deleteGroup(crew.entraId);
    await sync();
    expectError(await admin("GET", `workspaces/default/groups/${crew.id}`), 404, "not_found");
    const groups = (await admin("GET", "workspaces/default/groups")).body;
    expect(groups.items.map((g: { name: string }) => g.name)).toEqual(["Everyone"]);
    expect(groups.total).toBe(1);
    expect((await admin("GET", "workspaces/default/groups/Everyone")).body).toMatchObject({ memberCount: 0, members: [] });
    const user = (await admin("GET", `workspaces/default/users/${encodeURIComponent(crew.member)}`)).body;
    expect(user.groups).toEqual([]);
    for (const key of [crew.id, "Crew", "crew"]) {
      const history = await admin("GET", `workspaces/default/groups/${key}/changes`);
      expect(history.status, JSON.stringify(history.body)).toBe(200);
      expect(history.body.deleted).toEqual({ id: crew.id, name: "Crew", deletedAt: expect.any(String), deletedBy: "test" });
      expect(history.body.items.map((c: { action: string }) => c.action)).toEqual(expect.arrayContaining(["delete group", "create group", "remove from group Everyone", "remove from group Crew"]));
    }
    const unknown = await admin("GET", "workspaces/default/groups/00000000-0000-4000-8000-000000000000/changes");
    expectError(unknown, 404, "not_found");
    expect(unknown.body.error.message).toContain("no group deleted from this workspace had that id or name");
  });

  it("restored within 30 days (a full run): the same group, members and the group it was put in here, its history going on", async () => {
    tenant().restoreGroup(crew.entraId);
    await sync(true);
    const group = (await admin("GET", "workspaces/default/groups/Crew")).body;
    expect(group).toMatchObject({ id: crew.id, members: [crew.member], memberOf: ["Everyone"] });
    expect((await admin("GET", `workspaces/default/users/${encodeURIComponent(crew.member)}`)).body.groups).toEqual(["Crew"]);
    const history = (await admin("GET", `workspaces/default/groups/${crew.id}/changes`)).body;
    expect(history).not.toHaveProperty("deleted");
    const actions = history.items.map((c: { action: string }) => c.action);
    expect(actions.slice(0, 3).sort()).toEqual(["add to group Crew", "add to group Everyone", "restore group"]);
    expect(history.items.find((c: { action: string }) => c.action === "restore group").after).toMatchObject({ reason: "restored in Entra ID from deleted groups" });
    expect(actions).toEqual(expect.arrayContaining(["delete group", "create group"]));
  });

  it("kept 30 days only: a group Entra ID lists again after that is a new group naming the one it replaces", async () => {
    tenant().deleteGroup(crew.entraId);
    await sync();
    await sql`update entra_deleted_groups set deleted_at = deleted_at - interval '31 days'`.execute(api.store.db);
    await sync();
    expect((await sql`select 1 from entra_deleted_groups`.execute(api.store.db)).rows).toEqual([]);
    // The emulator's own clock has not moved: it still restores (Entra ID would have purged the group by then).
    tenant().restoreGroup(crew.entraId);
    await sync();
    const group = (await admin("GET", "workspaces/default/groups/Crew")).body;
    expect(group.id).not.toBe(crew.id);
    const history = (await admin("GET", `workspaces/default/groups/${group.id}/changes`)).body;
    const created = history.items.find((c: { action: string }) => c.action === "create group");
    expect(created.after.replaces).toMatchObject({ id: crew.id, source: "corp" });
  });
});
