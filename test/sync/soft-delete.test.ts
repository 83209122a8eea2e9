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
 * deletes it for good, or a full listing no longer reports it soft-deleted.
 */
describe.each(engines)("users soft-deleted in Entra ID under --on-remove delete (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const members = () => tenant().listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
  const held = async (externalId: string) =>
    (await sql<{ id: string; enabled: boolean }>`select id, enabled from users where external_id = ${externalId}`.execute(h.store.db)).rows[0];
  beforeAll(async () => {
    h = await openHarness(engine, { users: 30, groups: 4 });
    await h.addSource("corp", { groupMode: "all", onRemove: "delete" });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("a soft delete disables the user, keeping its cards and PIN, and the restore brings it back as it was", async () => {
    const oops = members()[0]!;
    const user = await getUser(h.ctx, oops.userPrincipalName);
    await updateUser(h.ctx, user.id, { cardNumbers: ["0042"], pin: "2468" });
    tenant().deleteUser(oops.id);
    const run = await h.sync("corp");
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1, deleted: 0, removals: 1 } });
    expect(await held(oops.id)).toEqual({ id: user.id, enabled: false });
    const [entry] = await listChanges(h.store.db, h.ctx.workspace.id, { runId: run.runId, action: "disable" });
    expect(entry).toMatchObject({ subject: user.email, after: { enabled: false, reason: expect.stringMatching(/^deleted in Entra ID, restorable/) } });

    // A full listing that still reports it soft-deleted leaves it disabled.
    expect(await h.sync("corp", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 0, disabled: 0 } });
    expect(await held(oops.id)).toEqual({ id: user.id, enabled: false });

    tenant().restoreUser(oops.id);
    expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 0 } });
    const back = await getUser(h.ctx, user.id);
    expect(back).toMatchObject({ enabled: true, cardNumbers: ["0042"] });
    expect((await sql<{ pin: boolean }>`select pin_hash is not null as pin from users where id = ${user.id}`.execute(h.store.db)).rows[0]!.pin).toBe(true);
  });

  it("once Entra ID deletes it for good (@removed \"deleted\"), on-remove delete applies", async () => {
    const oops = members()[1]!;
    tenant().deleteUser(oops.id);
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { disabled: 1, deleted: 0 } });
    tenant().deleteUser(oops.id, { permanent: true }); // purged from deletedItems
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 1, removals: 1 } });
    expect(await held(oops.id)).toBeUndefined();
    // Deleted for good at once: deleted at once.
    const gone = members()[2]!;
    tenant().deleteUser(gone.id, { permanent: true });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { deleted: 1, disabled: 0 } });
    expect(await held(gone.id)).toBeUndefined();
  });

  it("a full listing that no longer reports it soft-deleted (absent) applies on-remove delete", async () => {
    const oops = members()[3]!;
    tenant().deleteUser(oops.id);
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { disabled: 1, deleted: 0 } });
    // A listing that leaves it out altogether, as once it is purged from deletedItems.
    const omitting: HttpFetch = async (url, init) => {
      const res = await httpFetch(url, init);
      if (!url.includes("/users/delta")) return res;
      const body = (await res.json()) as { value: Record<string, unknown>[] };
      body.value = body.value.filter((u) => u.id !== oops.id);
      return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
    };
    const run = await h.sync("corp", { full: true, fetch: omitting });
    expect(run.error).toBeUndefined();
    expect(run).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 1, removals: 1 } });
    expect(await held(oops.id)).toBeUndefined();
  });
});
