import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { openHarness, type Harness } from "./harness.ts";
import { getUser, updateUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";

/**
 * Graph's `@removed` reason: "changed" = soft-deleted, restorable from deletedItems for 30 days; "deleted" = gone
 * for good [delta-query-overview]. Under --on-remove delete, a user deleted by mistake in Entra ID (still
 * restorable) used to be deleted here too, losing its PIN, cards and role. It is only disabled until Entra ID
 * deletes it for good.
 * A full listing (the weekly reconciliation) leaves soft-deleted users out altogether, as Graph does: a full run
 * asks deletedItems which of the users it holds and no longer finds are only soft-deleted. That run used to
 * delete them, within Entra ID's 30 days to restore them.
 */
describe.each(engines)("users soft-deleted in Entra ID under --on-remove delete (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
  const held = async (externalId: string) =>
    (await sql<{ id: string; enabled: boolean }>`select id, enabled from users where external_id = ${externalId}`.execute(h.store.db)).rows[0];
  const restorable = async (externalId: string) =>
    (await sql`select 1 from entra_restorable where id = ${externalId}`.execute(h.store.db)).rows.length === 1;
  const deletedItemsRequests = () => h.emulator.stats().byEndpoint["GET /v1.0/directory/deletedItems/microsoft.graph.user"] ?? 0;
  const graphRequests = () => Object.entries(h.emulator.stats().byEndpoint).filter(([k]) => k.includes(" /v1.0/")).reduce((n, [, v]) => n + v, 0);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 4 });
    await h.addSource("corp", { groupMode: "all", onRemove: "delete" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("a full run finds a soft-deleted user in deletedItems: disabled and restorable, its cards and PIN kept; restored, the same user is enabled again", async () => {
    const oops = members()[0]!;
    const user = await getUser(h.ctx, oops.userPrincipalName);
    await updateUser(h.ctx, user.id, { cardNumbers: ["0042"], pin: "2468" });
    tenant().deleteUser(oops.id);
    h.emulator.resetStats();
    const run = await h.sync("corp", { full: true });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "full", status: "succeeded", counts: { disabled: 1, deleted: 0, removals: 1 } });
    // One request to deletedItems, counted with the run's others.
    expect(deletedItemsRequests()).toBe(1);
    expect(run.graphRequests).toBe(graphRequests());
    expect(await held(oops.id)).toEqual({ id: user.id, enabled: false });
    expect(await restorable(oops.id)).toBe(true);
    const [entry] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "disable" });
    expect(entry).toMatchObject({ subject: user.email, after: { enabled: false, reason: expect.stringMatching(/^deleted in Entra ID, restorable/) } });

    // Still soft-deleted at the next full run: left disabled; a delta run asks deletedItems nothing.
    expect(await h.sync("corp", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 0, disabled: 0 } });
    h.emulator.resetStats();
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 0, disabled: 0 } });
    expect(deletedItemsRequests()).toBe(0);
    expect(await held(oops.id)).toEqual({ id: user.id, enabled: false });

    tenant().restoreUser(oops.id);
    h.emulator.resetStats();
    expect(await h.sync("corp", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 0, updated: 1 } });
    // Nobody missing from the listing: nothing to ask.
    expect(deletedItemsRequests()).toBe(0);
    expect(await restorable(oops.id)).toBe(false);
    const back = await getUser(h.ctx, user.id);
    expect(back).toMatchObject({ enabled: true, cardNumbers: ["0042"] });
    expect((await sql<{ pin: boolean }>`select pin_hash is not null as pin from users where id = ${user.id}`.execute(h.store.db)).rows[0]!.pin).toBe(true);
  });

  it("a delta run that reports it soft-deleted disables it; once Entra ID deletes it for good (@removed \"deleted\"), on-remove delete applies", async () => {
    const oops = members()[1]!;
    tenant().deleteUser(oops.id);
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1, deleted: 0 } });
    expect(await restorable(oops.id)).toBe(true);
    tenant().deleteUser(oops.id, { permanent: true }); // purged from deletedItems
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 1, removals: 1 } });
    expect(await held(oops.id)).toBeUndefined();
    // Deleted for good at once: deleted at once.
    // One in groups: each of them records that the user left it, in the run that deleted them.
    let gone = members()[2]!;
    for (const candidate of members().slice(2)) {
      if ((await getUser(h.ctx, candidate.userPrincipalName)).groups.length > 0) {
        gone = candidate;
        break;
      }
    }
    const { email, groups } = await getUser(h.ctx, gone.userPrincipalName);
    expect(groups.length).toBeGreaterThan(0);
    tenant().deleteUser(gone.id, { permanent: true });
    const deleting = await h.sync("corp");
    expect(deleting).toMatchObject({ status: "succeeded", counts: { deleted: 1, disabled: 0 } });
    expect(await held(gone.id)).toBeUndefined();
    const left = (await listChanges(h.store.db, h.ctx.workspace.id, { runId: deleting.runId })).filter((c) => c.action.startsWith("remove from group "));
    expect(left.map((c) => [c.subject, c.action]).sort()).toEqual(groups.map((g) => [email, `remove from group ${g}`]).sort());
    expect(left[0]!.after).toEqual({ reason: 'the user was deleted by the sync of Entra ID source "corp"' });
  });

  it("purged from deletedItems after a full run kept it disabled: the next full run deletes it", async () => {
    const oops = members()[3]!;
    tenant().deleteUser(oops.id);
    expect(await h.sync("corp", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { disabled: 1, deleted: 0 } });
    tenant().deleteUser(oops.id, { permanent: true });
    const run = await h.sync("corp", { full: true });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 1, removals: 1 } });
    expect(await held(oops.id)).toBeUndefined();
    expect(await restorable(oops.id)).toBe(false);
  });

  it("Graph refusing deletedItems (403) fails nothing: the run applies on-remove as before, and its log says which permission to grant", async () => {
    const oops = members()[4]!;
    tenant().deleteUser(oops.id);
    // No permission reads users but not deleted users (both need User.Read.All or Directory.*), so the app loses its
    // user permissions once the users are listed, just before the run asks deletedItems: the emulator refuses as Graph does.
    const clientId = h.emulator.clientId;
    const revoked = ["User.Read.All", "Directory.Read.All"];
    let refusedAt = 0;
    const losingPermission: HttpFetch = async (url, init) => {
      if (url.includes("/directory/deletedItems/") && !refusedAt) {
        for (const p of revoked) tenant().revokePermission(clientId, p);
        const res = await httpFetch(url, init);
        refusedAt = res.status;
        return res;
      }
      return httpFetch(url, init);
    };
    try {
      const run = await h.sync("corp", { full: true, fetch: losingPermission });
      expect(refusedAt).toBe(403);
      expect(run.error).toBeUndefined();
      expect(run).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 1, disabled: 0, warnings: 1 } });
      expect(await held(oops.id)).toBeUndefined();
      const [warning] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "warning" });
      expect(warning).toMatchObject({ subject: "Users deleted in Entra ID" });
      expect((warning!.after as { messages: string[] }).messages[0]).toMatch(/^Graph refused to list the users deleted in Entra ID \(403 Authorization_RequestDenied\), .* 1 user the source holds .*add the Microsoft Graph application permission User\.Read\.All/);
    } finally {
      for (const p of revoked) tenant().grantPermission(clientId, p);
    }
  });
});
