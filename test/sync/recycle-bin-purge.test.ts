import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { getUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { historyText } from "../../src/cli/change-lines.ts";
import { purgedReason } from "../../src/sync/plan.ts";

/**
 * Under the default --on-remove disable, a user deleted in Entra ID is disabled here while restorable; once Entra ID
 * deletes it for good (purged 30 days on, or "Delete permanently" in Deleted users), the next run says so once in its
 * history ("purge"), the user left as it was. A delta run learns it from `@removed: {reason: "deleted"}`, a full run
 * from deletedItems no longer listing it. https://learn.microsoft.com/graph/delta-query-overview
 */
const cases = engines.flatMap((engine) => ([false, true] as const).map((full) => [engine, full ? "full" : "delta", full] as const));

describe.each(cases)("a user Entra ID deletes for good, on-remove disable (%s, %s runs)", (engine, mode, full) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
  const sync = async (options: { fetch?: HttpFetch; full?: boolean } = {}) => {
    const run = await h.sync("corp", { full, ...options });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ status: "succeeded" });
    return run;
  };
  const purges = async (filter: { runId?: string; userId?: string }) => listChanges(h.store.db, h.ctx.workspace.id, { ...filter, action: "purge" });
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 2 });
    await h.addSource("corp", { groupMode: "all" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("purged 30 days on: the next run records once that it can no longer be restored, and leaves the user as it was", async () => {
    const leaver = members()[0]!;
    tenant().deleteUser(leaver.id);
    expect((await sync()).counts).toMatchObject({ disabled: 1 });
    const before = await getUser(h.ctx, leaver.userPrincipalName);
    expect(tenant().ageDeletedItems(30).users).toContain(leaver.id);
    const run = await sync();
    expect(run).toMatchObject({ mode, counts: { disabled: 0, deleted: 0, updated: 0, created: 0 } });
    const [purge, ...more] = await purges({ runId: run.runId });
    expect(more).toEqual([]);
    expect(purge).toMatchObject({ action: "purge", subject: before.email, after: { reason: purgedReason } });
    expect(historyText("x", { changes: [purge!], total: 1 })).toContain(`Deleted for good in Entra ID by`);
    expect(await getUser(h.ctx, before.id)).toEqual(before);
    // Said once: later runs, full or delta, add nothing.
    await sync({ full: true });
    await sync({ full: false });
    expect(await purges({ userId: before.id })).toHaveLength(1);
    expect(await getUser(h.ctx, before.id)).toMatchObject({ enabled: false });
  });

  it("deleted permanently from Deleted users: the same", async () => {
    const leaver = members()[0]!;
    tenant().deleteUser(leaver.id);
    await sync();
    const user = await getUser(h.ctx, leaver.userPrincipalName);
    tenant().deleteUser(leaver.id, { permanent: true });
    const run = await sync();
    expect(await purges({ runId: run.runId })).toMatchObject([{ subject: user.email }]);
  });

  it("a user restored in Entra ID, or disabled for leaving the scope, is not said to be deleted for good", async () => {
    const [oops, blocked] = members();
    tenant().deleteUser(oops!.id);
    tenant().setSignInEnabled(blocked!.id, false);
    await sync();
    tenant().restoreUser(oops!.id);
    tenant().deleteUser(blocked!.id, { permanent: true });
    const run = await sync();
    expect(await purges({ runId: run.runId })).toEqual([]);
    expect(await getUser(h.ctx, oops!.userPrincipalName)).toMatchObject({ enabled: true });
  });

  it("a full run Graph refused deleted users cannot tell a purge, and says none", async () => {
    const leaver = members()[0]!;
    tenant().deleteUser(leaver.id);
    await sync();
    const user = await getUser(h.ctx, leaver.userPrincipalName);
    const clientId = h.emulator.clientId;
    const revoked = ["User.Read.All", "Directory.Read.All"];
    const losingPermission: HttpFetch = async (url, init) => {
      if (url.includes("/directory/deletedItems/")) for (const p of revoked) tenant().revokePermission(clientId, p);
      return httpFetch(url, init);
    };
    try {
      const run = await sync({ full: true, fetch: losingPermission });
      expect(run.counts).toMatchObject({ warnings: 1 });
      expect(await purges({ runId: run.runId })).toEqual([]);
    } finally {
      for (const p of revoked) tenant().grantPermission(clientId, p);
    }
    expect(await purges({ userId: user.id })).toEqual([]);
  });
});

describe.each(engines)("a user Entra ID deletes for good, on-remove delete (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 2 });
    await h.addSource("corp", { groupMode: "all", onRemove: "delete" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("is deleted here as before, with no purge entry", async () => {
    const leaver = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    tenant().deleteUser(leaver.id);
    expect((await h.sync("corp")).counts).toMatchObject({ disabled: 1 });
    tenant().ageDeletedItems(30);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ status: "succeeded", counts: { deleted: 1 } });
    expect(await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "purge" })).toEqual([]);
  });
});
