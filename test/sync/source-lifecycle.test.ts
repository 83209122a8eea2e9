import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { getUser, updateUser } from "../../src/core/users.ts";
import { addMember, createGroup, deleteGroup, getGroup, groupHistory, listGroups } from "../../src/core/groups.ts";
import { createEntraSource, getSource, updateEntraSource } from "../../src/core/sources.ts";
import { removeSource } from "../../src/core/source-removal.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { claimLease } from "../../src/sync/lease.ts";

/** Renaming a source; removing it, then adding one again for the same tenant: an admin's "disconnect and reconnect". */
describe.each(engines)("renaming and removing a source, and adding it again (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const countOf = async (where: ReturnType<typeof sql>) => Number((await sql<{ n: string }>`select count(*) as n from users where ${where}`.execute(h.store.db)).rows[0]!.n);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 40, groups: 6 });
    await h.addSource("corp", { groupMode: "all", country: "US" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("renaming, removing and another run are refused while a run of the source holds its lease, not once it has ended", async () => {
    const source = await getSource(h.ctx, "corp");
    const { rows } = await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status)
      values (${h.ctx.workspace.id}, ${source.id}, 'manual', 'delta', 'running') returning id`.execute(h.store.db);
    await claimLease(h.store.db, source.id, rows[0]!.id, 60_000);
    await expect(removeSource(h.ctx, "corp")).rejects.toMatchObject({ code: "sync_running" });
    await expect(updateEntraSource(h.ctx, "corp", { name: "corp-hq" })).rejects.toMatchObject({ code: "sync_running" });
    expect((await getSource(h.ctx, "corp")).id).toBe(source.id);
    await expect(claimLease(h.store.db, source.id, randomUUID(), 60_000)).rejects.toMatchObject({ code: "sync_running", details: { runId: rows[0]!.id } });
    // The run has written its end and is clearing its staging, its lease still held: whoever saw it end may go on.
    await sql`update sync_runs set status = 'succeeded', finished_at = now() where id = ${rows[0]!.id}`.execute(h.store.db);
    await updateEntraSource(h.ctx, "corp", { name: "corp-renamed" });
    await updateEntraSource(h.ctx, "corp-renamed", { name: "corp" });
    const next = randomUUID();
    await claimLease(h.store.db, source.id, next, 60_000);
    expect((await sql<{ lease_run_id: string }>`select lease_run_id from source_state where source_id = ${source.id}`.execute(h.store.db)).rows[0]!.lease_run_id).toBe(next);
    await sql`update source_state set lease_run_id = null, lease_expires_at = null where source_id = ${source.id}`.execute(h.store.db);
    await sql`delete from sync_runs where id = ${rows[0]!.id}`.execute(h.store.db);
  });

  it("renames a source: its users and groups show the new name, and the next run changes nothing", async () => {
    await createEntraSource(h.ctx, { name: "other", config: { tenantId: "other.onmicrosoft.com", clientId: "11111111-1111-1111-1111-111111111111" }, credential: { kind: "secret", secret: "test-secret" } });
    await expect(updateEntraSource(h.ctx, "corp", { name: "OTHER" })).rejects.toMatchObject({ code: "conflict", details: { field: "name" } });
    await expect(updateEntraSource(h.ctx, "corp", { name: "manual" })).rejects.toMatchObject({ code: "invalid_input" });
    const synced = await countOf(sql`source_name = 'corp'`);
    const renamed = await updateEntraSource(h.ctx, "corp", { name: "corp-hq" });
    expect(renamed).toMatchObject({ name: "corp-hq", status: { syncedUsers: synced } });
    expect(await countOf(sql`source_name = 'corp-hq' and source_type = 'entra'`)).toBe(synced);
    expect(await countOf(sql`source_name = 'corp'`)).toBe(0);
    for (const g of (await listGroups(h.ctx, {}, { limit: 100, offset: 0 })).items) expect(g.source.name).toBe("corp-hq");
    const entry = (await listChanges(h.store.db, h.ctx.workspace.id, { action: "update source" }))[0];
    expect(entry).toMatchObject({ subject: "corp-hq", before: { name: "corp" }, after: { name: "corp-hq" } });
    const run = await h.sync("corp-hq");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { created: 0, updated: 0, linked: 0, conflicts: 0 } });
    expect(await differences(h, "corp-hq")).toEqual([]);
    await removeSource(h.ctx, "other");
  });

  it("keeps its users and groups, disabled, managed in Rollcall; a source added again takes them back by object ID", async () => {
    const synced = await countOf(sql`source_type = 'entra'`);
    const groups = (await listGroups(h.ctx, {}, { limit: 100, offset: 0 })).items;
    const member = { ...tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.mail)! };
    const mail = member.mail!;
    await updateUser(h.ctx, mail, { cardNumbers: ["0042"] });

    const removed = await removeSource(h.ctx, "corp-hq", "disable");
    expect(removed.removal).toEqual({ users: "disable", usersAffected: synced, groupsAffected: groups.length });
    expect(await countOf(sql`source_type = 'entra' or source_id is not null`)).toBe(0);
    expect(await countOf(sql`enabled`)).toBe(0);
    const kept = await getUser(h.ctx, mail);
    expect(kept.source).toEqual({ type: "manual", name: "corp-hq", externalId: member.id });
    expect(kept.tags).toContain("Manual");
    expect(kept.tags).not.toContain("ID synced");
    expect(kept.groups.length).toBeGreaterThan(0); // memberships stay
    const log = await listChanges(h.store.db, h.ctx.workspace.id, { userId: kept.id });
    expect(log[0]).toMatchObject({ action: "unlink", before: { enabled: true }, after: { enabled: false, message: expect.stringMatching(/"corp-hq" was removed/) } });

    // Now a manual user: every field can be changed here.
    await updateUser(h.ctx, kept.id, { department: "Changed by hand" });
    // Meanwhile the person's email changes in Entra ID: the object ID, not the email, finds the kept user.
    tenant().updateUser(member.id, { mail: `renamed.${mail}` });

    await h.addSource("corp-again", { groupMode: "all", country: "US", linkByEmail: false });
    const run = await h.sync("corp-again");
    expect(run.error).toBeUndefined();
    expect(run.counts).toMatchObject({ created: 0, linked: synced, conflicts: 0, groupsCreated: 0, groupConflicts: 0, membershipsAdded: 0, membershipsRemoved: 0 });
    expect(await differences(h, "corp-again")).toEqual([]);
    const back = await getUser(h.ctx, kept.id);
    expect(back).toMatchObject({ email: `renamed.${mail}`, enabled: true, department: member.department ?? null, cardNumbers: ["0042"] });
    expect(back.source).toEqual({ type: "entra", name: "corp-again", externalId: member.id });
    expect(back.tags).toContain("ID synced");
    for (const g of groups) expect((await getGroup(h.ctx, g.id)).source).toMatchObject({ type: "entra", name: "corp-again" });
  });

  it("deletes its users and groups when asked, each with an entry saying why", async () => {
    const synced = await countOf(sql`source_type = 'entra'`);
    const manual = await countOf(sql`source_type <> 'entra'`);
    // A group made here holding synced users: each of them leaves it in its history; the source's own groups go whole.
    const synced2 = (await sql<{ email: string }>`select email from users where source_type = 'entra' and email is not null order by email limit 2`.execute(h.store.db)).rows.map((r) => r.email);
    await createGroup(h.ctx, { name: "Badge holders" });
    for (const email of synced2) await addMember(h.ctx, "Badge holders", email);
    const removed = await removeSource(h.ctx, "corp-again", "delete");
    expect(removed.removal).toMatchObject({ users: "delete", usersAffected: synced });
    const kept = await groupHistory(h.ctx, "Badge holders", { limit: 2 });
    expect(kept.changes.map((c) => [c.action, c.subject, c.after]).sort()).toEqual(synced2.map((e) => ["remove from group Badge holders", e, { reason: 'Entra ID source "corp-again" was removed with its users and groups' }]).sort());
    await deleteGroup(h.ctx, "Badge holders");
    expect(await countOf(sql`true`)).toBe(manual);
    expect((await listGroups(h.ctx, {}, { limit: 100, offset: 0 })).total).toBe(0);
    const log = await listChanges(h.store.db, h.ctx.workspace.id, { action: "delete", limit: 1000 });
    expect(log.filter((c) => (c.after as { message?: string })?.message?.includes('"corp-again" was removed with its users'))).toHaveLength(synced);
    const entry = (await listChanges(h.store.db, h.ctx.workspace.id, { action: "remove source" }))[0];
    expect(entry).toMatchObject({ subject: "corp-again", after: { users: "delete", usersAffected: synced } });
  });
});
