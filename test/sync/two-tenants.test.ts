import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { createUser, deleteUser, forgetDeletedUser, getUser, updateUser } from "../../src/core/users.ts";
import { removeSource } from "../../src/core/source-removal.ts";
import { diffFields } from "../../src/domain/change.ts";

/**
 * One workspace fed by two Entra tenants (a company and the one it acquired) that name some of the same people:
 * a clash over an address holds back that address only, and a person who left one tenant for the other moves with
 * their cards, instead of a conflict on every run.
 */
describe.each(engines)("two tenants naming the same people (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 0, groups: 0 });
  });
  afterAll(async () => h?.close());

  const user = async (externalId: string) =>
    (await sql<{ id: string; email: string; enabled: boolean; department: string | null; source_name: string; external_id: string }>`
      select id, email, enabled, department, source_name, external_id from users where external_id = ${externalId}`.execute(h.store.db)).rows[0];
  const conflictsInHistory = async (userId: string) =>
    Number((await sql<{ n: string }>`select count(*) as n from change_log where user_id = ${userId} and action = 'conflict'`.execute(h.store.db)).rows[0]!.n);
  const conflictsInRun = async (runId: string) =>
    Number((await sql<{ n: string }>`select count(*) as n from change_log where run_id = ${runId} and action = 'conflict'`.execute(h.store.db)).rows[0]!.n);

  it("a clash over an address holds back the address alone: disabled in Entra ID is disabled here, and the history says it once", async () => {
    const acquired = h.emulator.tenants.add({ users: 0, groups: 0 });
    const company = h.emulator.tenants.add({ users: 0, groups: 0 });
    const quinn = acquired.createUser({ displayName: "Quinn", userPrincipalName: "quinn@acquired.test", mail: "quinn.old@acme.test", department: "Sales" });
    company.createUser({ displayName: "Rosa", userPrincipalName: "rosa@company.test", mail: "rosa@acme.test" });
    await h.addSource("acquired", {}, { tenantId: acquired.id, clientId: acquired.defaultApp.clientId, clientSecret: acquired.defaultApp.clientSecret });
    await h.addSource("company", {}, { tenantId: company.id, clientId: company.defaultApp.clientId, clientSecret: company.defaultApp.clientSecret });
    expect(await h.sync("acquired")).toMatchObject({ status: "succeeded", counts: { created: 1 } });
    expect(await h.sync("company")).toMatchObject({ status: "succeeded", counts: { created: 1 } });

    // Quinn leaves: disabled, moved to Research, and given an address the other tenant's Rosa has.
    acquired.updateUser(quinn.id, { mail: "rosa@acme.test", accountEnabled: false, department: "Research" });
    const run = await h.sync("acquired");
    expect(run).toMatchObject({ status: "succeeded", counts: { conflicts: 1, disabled: 1, skipped: 0 } });
    expect(await user(quinn.id)).toMatchObject({ email: "quinn.old@acme.test", enabled: false, department: "Research" });
    const quinnId = (await user(quinn.id))!.id;
    expect(await conflictsInHistory(quinnId)).toBe(1);

    // The clash lasts: every run lists it, the user's history does not grow.
    const again = await h.sync("acquired");
    expect(again).toMatchObject({ mode: "delta", status: "succeeded", counts: { conflicts: 1, disabled: 0 } });
    expect(await conflictsInRun(again.runId)).toBe(1);
    expect(await conflictsInHistory(quinnId)).toBe(1);

    // Quinn asks to be forgotten: the runs' repeats of the conflict, naming the address, go with the history.
    await deleteUser(h.ctx, quinnId);
    expect(await forgetDeletedUser(h.ctx, quinnId)).toEqual({ userId: quinnId, entries: expect.any(Number) });
    const left = await sql<{ n: string }>`select count(*) as n from change_log where user_id = ${quinnId} or after->>'externalId' = ${quinn.id}`.execute(h.store.db);
    expect(Number(left.rows[0]!.n)).toBe(0);
  });

  it("a person who left one tenant, disabled there by the default on-remove, is linked to their account in the other, cards kept", async () => {
    const old = h.emulator.tenants.add({ users: 0, groups: 0 });
    const next = h.emulator.tenants.add({ users: 0, groups: 0 });
    const before = old.createUser({ displayName: "Pat", userPrincipalName: "pat@old.test", mail: "pat@move.test" });
    await h.addSource("old", {}, { tenantId: old.id, clientId: old.defaultApp.clientId, clientSecret: old.defaultApp.clientSecret });
    await h.addSource("next", {}, { tenantId: next.id, clientId: next.defaultApp.clientId, clientSecret: next.defaultApp.clientSecret });
    expect(await h.sync("old")).toMatchObject({ status: "succeeded", counts: { created: 1 } });
    const pat = (await user(before.id))!;
    await updateUser(h.ctx, pat.id, { cardNumbers: ["7001"] });

    // Migrated: the new tenant has Pat's account while the old one still does: two tenants claim one person.
    const after = next.createUser({ displayName: "Pat", userPrincipalName: "pat@next.test", mail: "pat@move.test" });
    const claimed = await h.sync("next");
    expect(claimed).toMatchObject({ status: "succeeded", counts: { conflicts: 1, created: 0 } });
    // A holder still in its own tenant, disabled there, is not free either.
    old.updateUser(before.id, { accountEnabled: false });
    expect(await h.sync("old")).toMatchObject({ status: "succeeded", counts: { disabled: 1 } });
    expect(await h.sync("next")).toMatchObject({ status: "succeeded", counts: { conflicts: 1, linked: 0 } });

    // The old account goes: Pat is disabled for it, and the new tenant's next run links Pat, cards and all.
    old.deleteUser(before.id);
    expect(await h.sync("old")).toMatchObject({ status: "succeeded", counts: { disabled: 0 } });
    expect(await h.sync("next")).toMatchObject({ status: "succeeded", counts: { linked: 1, conflicts: 0 } });
    expect(await user(after.id)).toMatchObject({ id: pat.id, enabled: true, source_name: "next", external_id: after.id });
    expect((await sql<{ value: string }>`select value from user_identifiers where user_id = ${pat.id} and kind = 'card'`.execute(h.store.db)).rows).toEqual([{ value: "7001" }]);
    // Its history says where the person came from.
    const link = (await sql<{ before: Record<string, unknown>; after: Record<string, unknown> }>`select before, after from change_log where user_id = ${pat.id} and action = 'link'`.execute(h.store.db)).rows;
    expect(link).toHaveLength(1);
    expect(diffFields(link[0]!.before, link[0]!.after).map((f) => `${f.field}: ${f.from} → ${f.to}`)).toEqual([
      "source: entra: old → entra: next", "enabled: no → yes", "userPrincipalName: pat@old.test → pat@next.test",
    ]);
    // Settled: neither source plans anything for Pat again.
    expect(await h.sync("old", { full: true })).toMatchObject({ status: "succeeded", counts: { disabled: 0, created: 0, conflicts: 0 } });
    expect(await h.sync("next", { full: true })).toMatchObject({ status: "succeeded", counts: { linked: 0, created: 0, conflicts: 0 } });
  });

  it("removing a source with its users keeps those it had linked from users added by hand", async () => {
    const acquired = h.emulator.tenants.add({ users: 0, groups: 0 });
    const mia = await createUser(h.ctx, { email: "mia@acquired.test", displayName: "Mia", cardNumbers: ["9001"] });
    acquired.createUser({ displayName: "Mia", userPrincipalName: "mia@acq.test", mail: "mia@acquired.test" });
    const noel = acquired.createUser({ displayName: "Noel", userPrincipalName: "noel@acq.test", mail: "noel@acquired.test" });
    await h.addSource("acq", {}, { tenantId: acquired.id, clientId: acquired.defaultApp.clientId, clientSecret: acquired.defaultApp.clientSecret });
    expect(await h.sync("acq")).toMatchObject({ status: "succeeded", counts: { linked: 1, created: 1 } });

    const removed = await removeSource(h.ctx, "acq", "delete");
    expect(removed.removal).toEqual({ users: "delete", usersAffected: 1, groupsAffected: 0, usersKept: 1 });
    expect(await getUser(h.ctx, mia.id)).toMatchObject({ enabled: true, cardNumbers: ["9001"], source: { type: "manual" } });
    expect(await user(noel.id)).toBeUndefined();
  });
});
