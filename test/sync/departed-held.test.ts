import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { updateUser } from "../../src/core/users.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { updateWorkspace } from "../../src/core/workspaces.ts";

/**
 * A user deleted in Entra ID stays the source's user, disabled (the default on-remove), with no mirror row left.
 * Enabled again by hand here, the next run sets it back (the source owns `enabled`); and when the source's
 * on-remove becomes delete, it is deleted once Entra ID deletes it for good (until then it is restorable there).
 */
describe.each(engines)("a user deleted in Entra ID that the source still holds (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 0, groups: 0 });
  });
  afterAll(async () => h?.close());

  const state = async (externalId: string) =>
    (await sql<{ enabled: boolean }>`select enabled from users where external_id = ${externalId}`.execute(h.store.db)).rows[0];

  it("is disabled again after an edit here, and deleted once on-remove is delete", async () => {
    const t = h.emulator.tenants.add({ users: 6, groups: 0 });
    const gone = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    await h.addSource("staff", { deletionThreshold: { percent: 100, count: 100 } }, { tenantId: t.id, clientId: t.defaultApp.clientId, clientSecret: t.defaultApp.clientSecret });
    expect(await h.sync("staff")).toMatchObject({ status: "succeeded" });

    t.deleteUser(gone.id);
    expect(await h.sync("staff")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1 } });
    expect(await state(gone.id)).toEqual({ enabled: false });

    await updateUser(h.ctx, gone.mail ?? gone.userPrincipalName, { enabled: true });
    expect(await h.sync("staff")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1 } });
    expect(await state(gone.id)).toEqual({ enabled: false });
    await updateUser(h.ctx, gone.mail ?? gone.userPrincipalName, { enabled: true });
    expect(await h.sync("staff", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { disabled: 1 } });
    expect(await state(gone.id)).toEqual({ enabled: false });
    // Left alone, a leaver kept disabled is not looked at again: nothing for a delta run to plan.
    expect(await h.sync("staff")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 0, unchanged: 0 } });

    // Re-hired: a new account with the same address (after the old one is purged, as Entra ID requires). The user kept
    // disabled for the old account is linked to it, not a conflict on every run that kept the person out.
    const stillHeld = (await sql<{ id: string }>`select id from users where external_id = ${gone.id}`.execute(h.store.db)).rows[0]!;
    t.deleteUser(gone.id, { permanent: true });
    const rehired = t.createUser({ displayName: gone.displayName ?? "Rehired", userPrincipalName: gone.userPrincipalName, mail: gone.mail ?? null });
    expect(await h.sync("staff")).toMatchObject({ mode: "delta", status: "succeeded", counts: { linked: 1, conflicts: 0 } });
    expect((await sql`select id, enabled, external_id from users where lower(user_principal_name) = lower(${gone.userPrincipalName})`.execute(h.store.db)).rows)
      .toEqual([{ id: stillHeld.id, enabled: true, external_id: rehired.id }]);
    expect(await h.sync("staff", { full: true })).toMatchObject({ status: "succeeded", counts: { created: 0, linked: 0, conflicts: 0, disabled: 0 } });
    t.deleteUser(rehired.id);
    expect(await h.sync("staff")).toMatchObject({ status: "succeeded", counts: { disabled: 1 } });

    await updateEntraSource(h.ctx, "staff", { config: { onRemove: "delete" } });
    const deleting = await h.sync("staff");
    // Still restorable in Entra ID (soft-deleted, @removed "changed"): kept disabled, even under on-remove delete.
    expect(deleting).toMatchObject({ mode: "full", status: "succeeded", counts: { deleted: 0 } });
    // A full run nobody asked for says why.
    expect((await sql<{ note: string }>`select progress->>'note' as note from sync_runs where id = ${deleting.runId}`.execute(h.store.db)).rows[0]!.note)
      .toBe("Full sync: no delta token is stored (the source's scope, mapping or removal settings changed since the last run, or it did not finish)");
    expect(await state(rehired.id)).toEqual({ enabled: false });
    // Deleted for good in Entra ID: deleted here.
    t.deleteUser(rehired.id, { permanent: true });
    expect(await h.sync("staff")).toMatchObject({ mode: "delta", status: "succeeded", counts: { deleted: 1 } });
    expect(await state(rehired.id)).toBeUndefined();
  });

  it("reads local phone numbers in the workspace's default country when neither the user nor the source has one, and again once it changes", async () => {
    const t = h.emulator.tenants.add({ users: 3, groups: 0 });
    const local = t.listUsers().find((u) => u.userType === "Member")!;
    t.updateUser(local.id, { usageLocation: null, mobilePhone: "07550 410929", businessPhones: [] });
    await h.addSource("local", {}, { tenantId: t.id, clientId: t.defaultApp.clientId, clientSecret: t.defaultApp.clientSecret });
    const phone = async () => (await sql<{ mobile_phone: string | null }>`select mobile_phone from users where external_id = ${local.id}`.execute(h.store.db)).rows[0]?.mobile_phone;
    expect(await h.sync("local")).toMatchObject({ status: "succeeded", counts: { warnings: 1 } });
    expect(await phone()).toBeNull();
    h.ctx.workspace = await updateWorkspace(h.store.db, h.ctx.workspace, { defaultCountry: "GB" }, "test");
    expect(await h.sync("local")).toMatchObject({ mode: "delta", status: "succeeded", counts: { updated: 1, warnings: 0 } });
    expect(await phone()).toBe("+447550410929");
  });
});
