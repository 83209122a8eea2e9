import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { deleteUser, getUser, userHistory } from "../../src/core/users.ts";
import { bulkUsers } from "../../src/core/bulk-users.ts";
import { listChanges } from "../../src/core/change-log.ts";

// A synced user deleted by hand comes back with the next sync under a new id; their history stays with the old one.
// Group mode "none" writes the create entries without splicing in groups: both ways of writing them are covered.
const cases = engines.flatMap((engine) => (["all", "none"] as const).map((groupMode) => [engine, groupMode] as const));

describe.each(cases)("a synced user deleted and recreated by the sync names the user it replaces (%s, group mode %s)", (engine, groupMode) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 3 });
    await h.addSource("corp", { groupMode, country: "US" });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded" });
  });
  afterAll(async () => h?.close());

  it("the create entry of a user deleted one by one or in bulk names the deleted user, when and by whom; a new one names none", async () => {
    const members = tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled && u.mail);
    const one = await getUser(h.ctx, members[0]!.mail!);
    const bulk = await getUser(h.ctx, members[1]!.mail!);
    await deleteUser(h.ctx, one.email!);
    await bulkUsers(h.ctx, { action: "delete", users: [bulk.id] });
    const hire = tenant().createUser({ displayName: "New Hire", userPrincipalName: `new.hire@${tenant().domain}`, mail: `new.hire@${tenant().domain}` });

    const run = await h.sync("corp");
    expect(run).toMatchObject({ status: "succeeded", counts: { created: 3 } });
    const created = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "create" });
    expect(created).toHaveLength(3);
    const again = await getUser(h.ctx, one.email!);
    expect(again.id).not.toBe(one.id);
    const entryOf = (email: string) => created.find((c) => c.subject.toLowerCase() === email.toLowerCase())!;
    const deletes = await listChanges(h.store.db, h.ctx.workspace.id, { userId: one.id, action: "delete" });
    expect(entryOf(one.email!).after).toMatchObject({ replaces: { id: one.id, deletedAt: deletes[0]!.at, deletedBy: "test", source: "corp" } });
    // The groups the user joined are still in the entry beside it.
    if (groupMode === "all") expect((entryOf(one.email!).after as { groups: string[] }).groups).toEqual(expect.arrayContaining(one.groups));
    expect(entryOf(bulk.email!).after).toMatchObject({ replaces: { id: bulk.id, deletedBy: "test" } });
    expect(entryOf(hire.mail!).after).not.toHaveProperty("replaces");
    // The old history is still there, under the id the entry names.
    expect((await userHistory(h.ctx, one.id, { limit: 10 })).changes[0]).toMatchObject({ action: "delete" });
  });

  it("deleted again, the user is recreated naming the newest deleted user (the one the last sync created)", async () => {
    const member = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.mail)!;
    const current = await getUser(h.ctx, member.mail!);
    await deleteUser(h.ctx, current.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ status: "succeeded", counts: { created: 1 } });
    const [entry] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "create" });
    expect(entry!.after).toMatchObject({ replaces: { id: current.id } });
  });
});
