import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { createUser, deleteUser, getUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { getGroup } from "../../src/core/groups.ts";
import { bulkUsers } from "../../src/core/bulk-users.ts";
import { httpFetch } from "../../src/net/http.ts";

describe.each(engines)("delta sync, dry run and safety (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 80, groups: 8 });
    await h.addSource("corp", { groupMode: "all", country: "US", deletionThreshold: { percent: 10, count: 5 } });
  });
  afterAll(async () => h?.close());

  it("a manual user with the same email is linked, not duplicated", async () => {
    const target = tenant().listUsers().find((u) => u.userType === "Member" && u.mail)!;
    const manual = await createUser(h.ctx, { displayName: "Hand made", email: target.mail, tags: ["vip"] });
    const run = await h.sync("corp");
    expect(run.status).toBe("succeeded");
    expect(run.counts.linked).toBe(1);
    const linked = await getUser(h.ctx, manual.id);
    expect(linked.source).toEqual({ type: "entra", name: "corp", externalId: target.id });
    expect(linked.tags).toEqual(["ID synced", "vip"]);
    expect(linked.displayName).toBe(target.displayName);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a case-only change of a synced user's mail in Entra is an update history records, and a full run keeps it", async () => {
    const target = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.mail && u.mail !== u.mail.toUpperCase())!;
    const mail = target.mail!;
    const recased = mail.toUpperCase();
    tenant().updateUser(target.id, { mail: recased });
    const run = await h.sync("corp");
    expect(run.counts).toMatchObject({ updated: 1, conflicts: 0 });
    const user = await getUser(h.ctx, target.userPrincipalName);
    expect(user.email).toBe(recased);
    const [last] = await listChanges(h.store.db, h.ctx.workspace.id, { userId: user.id, limit: 1 });
    expect(last).toMatchObject({ action: "update", runId: run.runId, before: { email: mail }, after: { email: recased } });
    expect((await h.sync("corp", { full: true })).counts).toMatchObject({ updated: 0, conflicts: 0 });
    expect((await getUser(h.ctx, user.id)).email).toBe(recased);
  });

  it("a delta run after updates, deletions, scope changes and membership changes converges, with a per-user change log", async () => {
    const t = tenant();
    const members = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const renamed = { ...members[0]! };
    t.updateUser(renamed.id, { displayName: "Renamed In Entra", jobTitle: "Chief Renamer" });
    t.deleteUser(members[1]!.id);
    t.updateUser(members[2]!.id, { userType: "Guest" }); // out of scope: guests are excluded
    t.setSignInEnabled(members[3]!.id, false);
    const group = t.listGroups()[0]!;
    const inGroup = t.listMembers(group.id).find((m) => m.kind === "user");
    if (inGroup) t.removeMember(group.id, inGroup.id);
    t.addMember(group.id, members[4]!.id);
    const created = t.createUser({ displayName: "New Hire", userPrincipalName: `new.hire@${t.domain}`, mail: `new.hire@${t.domain}` });

    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts).toMatchObject({ created: 1, disabled: 3 });
    expect(await differences(h, "corp")).toEqual([]);
    const user = await getUser(h.ctx, renamed.userPrincipalName);
    expect(user.jobTitle).toBe("Chief Renamer");
    expect((await getUser(h.ctx, created.userPrincipalName)).tags).toContain("ID synced");
    const log = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId });
    const update = log.find((c) => c.subject === user.email && c.action === "update")!;
    expect(update.before).toMatchObject({ displayName: renamed.displayName });
    expect(update.after).toMatchObject({ displayName: "Renamed In Entra" });
    expect((await getGroup(h.ctx, group.displayName)).members).toContain(members[4]!.mail ?? members[4]!.userPrincipalName);
  });

  it("a user and a group deleted for good in Entra (@removed reason \"deleted\", as distribution groups are) leave as soft-deleted ones do", async () => {
    const t = tenant();
    const user = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    const group = t.listGroups().at(-1)!;
    t.deleteUser(user.id, { permanent: true });
    t.deleteGroup(group.id, { permanent: true });
    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1 } });
    expect(await differences(h, "corp")).toEqual([]);
    expect((await getUser(h.ctx, user.userPrincipalName)).enabled).toBe(false);
    await expect(getGroup(h.ctx, group.displayName)).rejects.toMatchObject({ code: "not_found" });
  });

  it("a security group deleted in Entra (@removed reason \"changed\": restorable) leaves, and comes back with its members when restored", async () => {
    const t = tenant();
    const group = t.listGroups().find((g) => !g.groupTypes?.includes("Unified") && t.listMembers(g.id).some((m) => m.kind === "user"))!;
    const members = (await getGroup(h.ctx, group.displayName)).members;
    expect(members.length).toBeGreaterThan(0);
    t.deleteGroup(group.id);
    const gone = await h.sync("corp");
    expect(gone).toMatchObject({ mode: "delta", status: "succeeded" });
    await expect(getGroup(h.ctx, group.displayName)).rejects.toMatchObject({ code: "not_found" });
    // Each member's history says they left it, and why, as when an admin deletes a group.
    const left = (await listChanges(h.store.db, h.ctx.workspace.id, { runId: gone.runId })).filter((c) => c.action === `remove from group ${group.displayName}`);
    expect(left.map((c) => c.subject).sort()).toEqual([...members].sort());
    expect(left[0]!.after).toEqual({ reason: `group "${group.displayName}" was deleted by the sync of Entra ID source "corp"` });
    const oneMember = await getUser(h.ctx, members[0]!);
    expect((await listChanges(h.store.db, h.ctx.workspace.id, { userId: oneMember.id })).some((c) => c.runId === gone.runId && c.action === `remove from group ${group.displayName}`)).toBe(true);
    t.restoreGroup(group.id);
    const back = await h.sync("corp");
    expect(back).toMatchObject({ mode: "delta", status: "succeeded" });
    expect((await getGroup(h.ctx, group.displayName)).members.sort()).toEqual([...members].sort());
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a stale delta token falls back to a full run", async () => {
    tenant().expireDeltaTokens();
    tenant().updateUser(tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!.id, { department: "After Expiry" });
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a dry run reports the whole change set and changes nothing", async () => {
    const victim = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    tenant().updateUser(victim.id, { displayName: "Dry Run Name" });
    const before = await sql`select count(*)::int as n, max(updated_at) as at from users`.execute(h.store.db);
    const run = await h.sync("corp", { dryRun: true });
    expect(run).toMatchObject({ status: "succeeded", dryRun: true });
    expect(run.counts.updated).toBe(1);
    expect((await sql`select count(*)::int as n, max(updated_at) as at from users`.execute(h.store.db)).rows).toEqual(before.rows);
    expect((await getUser(h.ctx, victim.userPrincipalName)).displayName).not.toBe("Dry Run Name");
    const log = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId });
    expect(log.find((c) => c.action === "update")).toMatchObject({ after: { displayName: "Dry Run Name" } });
    const history = await listChanges(h.store.db, h.ctx.workspace.id, { userId: (await getUser(h.ctx, victim.userPrincipalName)).id });
    expect(history.some((c) => c.runId === run.runId)).toBe(false);
    // The change is still pending: the next real run applies it.
    const real = await h.sync("corp");
    expect(real.counts.updated).toBe(1);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("the deletion threshold stops a run before it applies anything; --force applies it once", async () => {
    const t = tenant();
    const doomed = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled).slice(0, 10);
    for (const u of doomed) t.deleteUser(u.id);
    const enabledBefore = (await sql<{ n: number }>`select count(*)::int as n from users where enabled`.execute(h.store.db)).rows[0]!.n;
    const held = (await sql<{ n: number }>`select count(*)::int as n from users where source_name = 'corp'`.execute(h.store.db)).rows[0]!.n;
    const stopped = await h.sync("corp");
    expect(stopped.status).toBe("stopped");
    expect(stopped.error).toMatchObject({ code: "sync_threshold_exceeded", details: { removals: 10, heldBefore: held } });
    expect(stopped.error!.message).toContain(`10 of the ${held} users`);
    expect(stopped.error!.message).toMatch(/--force/);
    expect((await sql<{ n: number }>`select count(*)::int as n from users where enabled`.execute(h.store.db)).rows[0]!.n).toBe(enabledBefore);
    const again = await h.sync("corp");
    expect(again.status).toBe("stopped");
    const forced = await h.sync("corp", { force: true });
    expect(forced.status).toBe("succeeded");
    expect(forced.counts.disabled).toBe(10);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("two runs of one source at once: the second reports the running one", async () => {
    // The first run held at its first request (made once it holds the source), released once the second is refused: a
    // fixed pause could let the second start first on a loaded machine.
    h.emulator.setKnobs({ latencyMs: 600_000 });
    try {
      let requested!: () => void;
      const holding = new Promise<void>((resolve) => (requested = resolve));
      const first = h.sync("corp", { full: true, fetch: (url, init) => (requested(), httpFetch(url, init)) });
      await holding;
      await expect(h.sync("corp")).rejects.toMatchObject({ code: "sync_running" });
      h.emulator.setKnobs({ latencyMs: 0 });
      expect((await first).status).toBe("succeeded");
    } finally {
      h.emulator.setKnobs({ latencyMs: 0 });
    }
  });

  it("users of a source disabled or deleted together by hand are set back by the next delta run, the manual one stays disabled", async () => {
    const synced = tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled && u.mail).slice(10, 13).map((u) => u.mail!);
    const manual = await createUser(h.ctx, { displayName: "Bulk Manual", email: "bulk.manual@example.com" });
    const disabled = await bulkUsers(h.ctx, { action: "disable", users: [synced[0]!, synced[1]!, manual.id] });
    expect(disabled).toMatchObject({ changed: 3, unchanged: 0 });
    await bulkUsers(h.ctx, { action: "delete", users: [synced[2]!] });
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts).toMatchObject({ created: 1, updated: 2 });
    for (const email of synced) expect((await getUser(h.ctx, email)).enabled).toBe(true);
    expect((await getUser(h.ctx, manual.id)).enabled).toBe(false);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("users of a source disabled or deleted by a filter are set back by the next delta run too", async () => {
    const mails = tenant().listUsers().filter((u) => u.mail).map((u) => u.mail!.toLowerCase());
    // Each a search matching that user alone: an email no other email contains.
    const synced = tenant()
      .listUsers()
      .filter((u) => u.userType === "Member" && u.accountEnabled && u.mail && mails.filter((m) => m.includes(u.mail!.toLowerCase())).length === 1)
      .slice(20, 22)
      .map((u) => u.mail!);
    const disabled = await bulkUsers(h.ctx, { action: "disable", filter: { q: synced[0]!, sourceType: "entra" } });
    expect(disabled).toMatchObject({ changed: 1, unchanged: 0, more: 0 });
    const deleted = await bulkUsers(h.ctx, { action: "delete", filter: { q: synced[1]!, sourceType: "entra" } });
    expect(deleted).toMatchObject({ changed: 1, unchanged: 0 });
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts).toMatchObject({ created: 1, updated: 1 });
    for (const email of synced) expect((await getUser(h.ctx, email)).enabled).toBe(true);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("delta runs retry what they left undone: a synced user deleted by hand comes back, a conflict resolves once its holder is gone", async () => {
    const t = tenant();
    const someone = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.mail)!;
    await deleteUser(h.ctx, someone.mail!);
    const back = await h.sync("corp");
    expect(back).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(back.counts.created).toBe(1);
    expect((await getUser(h.ctx, someone.mail!)).source.externalId).toBe(someone.id);

    const other = h.emulator.tenants.add({ users: 2, groups: 0 });
    const wanted = other.createUser({ displayName: "Wanted Elsewhere", userPrincipalName: `wanted@${other.domain}`, mail: `wanted@${other.domain}` });
    const holder = await createUser(h.ctx, { displayName: "Holds The Email", email: wanted.mail });
    await h.addSource("strict", { linkByEmail: false }, { tenantId: other.id, clientId: other.defaultApp.clientId, clientSecret: other.defaultApp.clientSecret });
    expect((await h.sync("strict")).counts.conflicts).toBe(1);
    const retried = await h.sync("strict");
    expect(retried).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(retried.counts.conflicts).toBe(1);
    await deleteUser(h.ctx, holder.id);
    const resolved = await h.sync("strict");
    expect(resolved).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(resolved.counts).toMatchObject({ created: 1, conflicts: 0 });
    expect((await getUser(h.ctx, wanted.mail!)).source.name).toBe("strict");
  });
});
