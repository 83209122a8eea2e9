import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { deleteUser, getUser, userHistory } from "../../src/core/users.ts";
import { bulkUsers } from "../../src/core/bulk-users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { streamsFirstSync } from "../../src/sync/first-sync.ts";

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

// A first sync into a workspace whose users were all deleted streams on PostgreSQL (sync/first-sync.ts): its create
// entries name the deleted users too.
describe.skipIf(!process.env.ROLLCALL_TEST_DATABASE_URL)("a streamed first sync names the deleted users it replaces", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness("postgres", { users: 12, groups: 2 });
    await h.addSource("flat", { groupMode: "none", country: "US" });
  });
  afterAll(async () => h?.close());

  it("every user deleted in bulk comes back naming the deleted one", async () => {
    expect(await h.sync("flat")).toMatchObject({ status: "succeeded" });
    const before = (await listChanges(h.store.db, h.ctx.workspace.id, { action: "create" })).map((c) => c.subject);
    expect(await bulkUsers(h.ctx, { action: "delete", filter: {} })).toMatchObject({ changed: before.length });
    const source = await loadSourceForSync(h.ctx, "flat");
    expect(await streamsFirstSync(h.store, { workspaceId: h.ctx.workspace.id, sourceId: source.id, config: source.config, mode: "full" })).toBe(true);

    const run = await h.sync("flat", { full: true });
    expect(run).toMatchObject({ status: "succeeded", counts: { created: before.length } });
    const created = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "create" });
    const deleted = await listChanges(h.store.db, h.ctx.workspace.id, { action: "delete" });
    const deletedIdOf = new Map(deleted.map((c) => [c.subject, (c.before as { id: string }).id]));
    expect(created.map((c) => [c.subject, (c.after as { replaces?: { id: string } }).replaces?.id])).toEqual(created.map((c) => [c.subject, deletedIdOf.get(c.subject)]));
    expect(created.every((c) => deletedIdOf.get(c.subject))).toBe(true);
  });
});
