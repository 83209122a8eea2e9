import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { getGroup } from "../../src/core/groups.ts";
import { getUser, updateUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";

/**
 * Entra ID's recycle bin as an admin lives it, under the default --on-remove disable: a user deleted in Entra ID is
 * disabled here; restored there (POST /directory/deletedItems/{id}/restore, within 30 days) it is the same Rollcall
 * user again (id, PIN, cards, tags, history), enabled if the account is, back in its groups; 30 days on, Entra ID
 * purges it and it stays disabled. Delta runs see `@removed: changed` then the object again; full runs see it vanish
 * from the listing (deletedItems tells it apart) then come back. https://learn.microsoft.com/graph/api/directory-deleteditems-restore
 */
const cases = engines.flatMap((engine) => ([false, true] as const).map((full) => [engine, full ? "full" : "delta", full] as const));

describe.each(cases)("a user deleted then restored in Entra ID, on-remove disable (%s, %s runs)", (engine, mode, full) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const sync = async () => {
    const run = await h.sync("corp", { full });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode, status: "succeeded" });
    return run;
  };
  const pinSet = async (id: string) => (await sql<{ pin: boolean }>`select pin_hash is not null as pin from users where id = ${id}`.execute(h.store.db)).rows[0]!.pin;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 4 });
    await h.addSource("corp", { groupMode: "all" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("disabled while in deleted items, then the same user enabled again, PIN, cards, tags and groups kept, its history saying why", async () => {
    const candidates = tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const oops = candidates.find((u) => tenant().listMemberOf(u.id).length > 0)!;
    const groups = tenant().listMemberOf(oops.id).map((g) => tenant().getGroup(g)!.displayName).sort();
    const user = await getUser(h.ctx, oops.userPrincipalName);
    expect([...user.groups].sort()).toEqual(groups);
    await updateUser(h.ctx, user.id, { cardNumbers: ["0042"], pin: "2468", tags: ["night-shift"] });

    tenant().deleteUser(oops.id);
    const gone = await sync();
    expect(gone.counts).toMatchObject({ disabled: 1, deleted: 0 });
    expect(await getUser(h.ctx, user.id)).toMatchObject({ enabled: false, groups: [] });
    const [disabled] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: gone.runId, action: "disable" });
    expect(disabled).toMatchObject({ subject: user.email, after: { enabled: false, reason: "deleted in Entra ID, restorable (for 30 days)" } });

    tenant().restoreUser(oops.id);
    const back = await sync();
    expect(back.counts).toMatchObject({ deleted: 0, created: 0 });
    const again = await getUser(h.ctx, oops.userPrincipalName);
    expect(again).toMatchObject({ id: user.id, enabled: true, cardNumbers: ["0042"] });
    expect(again.tags).toContain("night-shift");
    expect([...again.groups].sort()).toEqual(groups);
    expect(await pinSet(user.id)).toBe(true);
    const [enabled] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: back.runId, action: "enable" });
    expect(enabled).toMatchObject({ subject: user.email, after: { enabled: true, reason: "restored in Entra ID from deleted users, enabled there" } });
    // One history: the disable and the enable are the same user's.
    const history = await listChanges(h.store.db, h.ctx.workspace.id, { userId: user.id });
    expect(history.map((c) => c.action)).toEqual(expect.arrayContaining(["enable", "disable"]));
  });

  it("a user disabled in Entra ID before it was deleted stays disabled when restored", async () => {
    const blocked = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    tenant().setSignInEnabled(blocked.id, false);
    await sync();
    tenant().deleteUser(blocked.id);
    expect((await sync()).counts).toMatchObject({ disabled: 0, deleted: 0 });
    tenant().restoreUser(blocked.id);
    const back = await sync();
    expect(back.counts).toMatchObject({ disabled: 0, updated: 0, created: 0 });
    expect(await getUser(h.ctx, blocked.userPrincipalName)).toMatchObject({ enabled: false });
  });

  it("30 days on, Entra ID purges it: it stays disabled here, its history intact, and nothing is restored", async () => {
    const leaver = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    const user = await getUser(h.ctx, leaver.userPrincipalName);
    tenant().deleteUser(leaver.id);
    expect((await sync()).counts).toMatchObject({ disabled: 1 });
    expect(tenant().ageDeletedItems(30).users).toContain(leaver.id);
    const purged = await sync();
    expect(purged.counts).toMatchObject({ disabled: 0, deleted: 0, created: 0 });
    expect(await getUser(h.ctx, user.id)).toMatchObject({ enabled: false });
    expect((await sql`select 1 from entra_restorable where id = ${leaver.id}`.execute(h.store.db)).rows).toEqual([]);
  });

  it("a group deleted in Entra ID leaves with its memberships; restored, it is the same group again with its members, its history going on", async () => {
    const group = tenant().listGroups().find((g) => !g.mailEnabled && tenant().listMembers(g.id).some((m) => m.kind === "user"))!;
    const old = await getGroup(h.ctx, group.displayName);
    const members = [...old.members].sort();
    expect(members.length).toBeGreaterThan(0);
    tenant().deleteGroup(group.id);
    const gone = await sync();
    await expect(getGroup(h.ctx, group.displayName)).rejects.toMatchObject({ code: "not_found" });
    expect(await listChanges(h.store.db, h.ctx.workspace.id, { runId: gone.runId, action: "delete group" })).toMatchObject([{ subject: old.name }]);
    tenant().restoreGroup(group.id);
    const back = await sync();
    expect(back.counts).toMatchObject({ groupsCreated: 1 });
    const again = await getGroup(h.ctx, group.displayName);
    expect(again).toMatchObject({ id: old.id, createdAt: old.createdAt });
    expect([...again.members].sort()).toEqual(members);
    const [restored] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: back.runId, action: "restore group" });
    expect(restored).toMatchObject({ subject: again.name, after: { reason: "restored in Entra ID from deleted groups" } });
    expect(await listChanges(h.store.db, h.ctx.workspace.id, { runId: back.runId, action: "create group" })).toEqual([]);
    // One history: created, deleted, restored, members leaving and coming back.
    const history = await listChanges(h.store.db, h.ctx.workspace.id, { groupId: old.id });
    expect(history.map((c) => c.action)).toEqual(expect.arrayContaining(["restore group", "delete group", `add to group ${again.name}`, `remove from group ${again.name}`]));
    // Deleted and restored once more: the same group still.
    tenant().deleteGroup(group.id);
    await sync();
    tenant().restoreGroup(group.id);
    await sync();
    expect(await getGroup(h.ctx, group.displayName)).toMatchObject({ id: old.id });
  });

  it("a group new to the source names no group it replaces", async () => {
    tenant().createGroup({ displayName: "Brand new crew" });
    const run = await sync();
    const [created] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "create group" });
    expect(created).toMatchObject({ subject: "Brand new crew" });
    expect(created!.after).not.toHaveProperty("replaces");
  });
});

/**
 * Under --on-remove delete a user in Entra ID's deleted items is only disabled (soft-delete.test.ts): restored, it is
 * the same user enabled again; purged 30 days on, it is deleted here. Deleted here all the same (Graph refused to say
 * which users are only soft-deleted), a restore in Entra ID brings it back as a new user naming the one it replaces.
 */
describe.each(engines)("restored in Entra ID under on-remove delete (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 4 });
    await h.addSource("corp", { groupMode: "all", onRemove: "delete" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("restored within 30 days: the same user enabled again; purged 30 days on: deleted here", async () => {
    const [oops, leaver] = members();
    const user = await getUser(h.ctx, oops!.userPrincipalName);
    tenant().deleteUser(oops!.id);
    tenant().deleteUser(leaver!.id);
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 2, deleted: 0 } });
    tenant().restoreUser(oops!.id);
    expect(tenant().ageDeletedItems(30).users).toEqual([leaver!.id]);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 1, updated: 1, created: 0 } });
    expect(await getUser(h.ctx, oops!.userPrincipalName)).toMatchObject({ id: user.id, enabled: true });
    const [enabled] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "enable" });
    expect(enabled).toMatchObject({ subject: user.email, after: { reason: "restored in Entra ID from deleted users, enabled there" } });
    await expect(getUser(h.ctx, leaver!.userPrincipalName)).rejects.toMatchObject({ code: "not_found" });
  });

  it("deleted here because Graph refused deletedItems, then restored in Entra ID: recreated, naming the user it replaces", async () => {
    const oops = members()[2]!;
    const user = await getUser(h.ctx, oops.userPrincipalName);
    tenant().deleteUser(oops.id);
    // Graph refuses deletedItems (no user permission left by then), so the full run cannot tell a soft delete.
    const clientId = h.emulator.clientId;
    const revoked = ["User.Read.All", "Directory.Read.All"];
    const losingPermission: HttpFetch = async (url, init) => {
      if (url.includes("/directory/deletedItems/")) for (const p of revoked) tenant().revokePermission(clientId, p);
      return httpFetch(url, init);
    };
    try {
      expect(await h.sync("corp", { full: true, fetch: losingPermission })).toMatchObject({ status: "succeeded", counts: { deleted: 1, warnings: 1 } });
    } finally {
      for (const p of revoked) tenant().grantPermission(clientId, p);
    }
    await expect(getUser(h.ctx, user.id)).rejects.toMatchObject({ code: "not_found" });

    tenant().restoreUser(oops.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ status: "succeeded", counts: { created: 1 } });
    const again = await getUser(h.ctx, oops.userPrincipalName);
    expect(again.id).not.toBe(user.id);
    const [created] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "create" });
    expect(created!.after).toMatchObject({ replaces: { id: user.id, source: "corp" } });
  });
});
