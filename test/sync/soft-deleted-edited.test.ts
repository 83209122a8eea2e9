import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch, type HttpFetch } from "../../src/net/http.ts";
import { getUser, updateUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";

/**
 * A user disabled while in Entra ID's deleted items, then a full run Graph refused deletedItems (it cannot tell a purge
 * from a soft delete), then the user changed here (a dirty mark: the next delta run plans it): that delta run must not
 * say the user was deleted for good in Entra ID, which nothing told it. Once Entra ID does purge it, a delta run says so.
 */
describe.each(engines)("a soft-deleted user changed here after a full run Graph refused deletedItems (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const purges = (userId: string) => listChanges(h.store.db, h.ctx.workspace.id, { userId, action: "purge" });
  const refusing = async <T>(step: (fetch: HttpFetch) => Promise<T>): Promise<T> => {
    const clientId = h.emulator.clientId;
    const revoked = ["User.Read.All", "Directory.Read.All"];
    const fetch: HttpFetch = async (url, init) => {
      if (url.includes("/directory/deletedItems/")) for (const p of revoked) tenant().revokePermission(clientId, p);
      return httpFetch(url, init);
    };
    try {
      return await step(fetch);
    } finally {
      for (const p of revoked) tenant().grantPermission(clientId, p);
    }
  };
  beforeAll(async () => {
    h = await openHarness(engine, { users: 20, groups: 2 });
    await h.addSource("corp", { groupMode: "all" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("gets no purge entry from the delta runs before the next full one, and one once Entra ID purges it", async () => {
    const leaver = tenant().listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    tenant().deleteUser(leaver.id);
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", counts: { disabled: 1 } });
    const user = await getUser(h.ctx, leaver.userPrincipalName);

    const refused = await refusing((fetch) => h.sync("corp", { full: true, fetch }));
    expect(refused).toMatchObject({ mode: "full", status: "succeeded", counts: { warnings: 1, deleted: 0 } });
    const [warning] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: refused.runId, action: "warning" });
    const [message] = (warning!.after as { messages: string[] }).messages;
    expect(message).toMatch(/^Graph refused to list the users deleted in Entra ID \(403 Authorization_RequestDenied\)/);
    expect(message).toContain("1 user the source holds disabled while restorable");
    expect(message).toContain("whether Entra ID has since deleted it for good");
    expect(message).toContain("User.Read.All");

    await updateUser(h.ctx, user.id, { tags: ["night-shift"] });
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded" });
    await updateUser(h.ctx, user.id, { cardNumbers: ["0042"] });
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await purges(user.id)).toEqual([]);
    expect(await getUser(h.ctx, user.id)).toMatchObject({ enabled: false, cardNumbers: ["0042"] });

    tenant().ageDeletedItems(30);
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await purges(user.id)).toHaveLength(1);
  });
});
