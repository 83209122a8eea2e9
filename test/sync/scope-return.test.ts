import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";

/**
 * A user scoped by groups who leaves the scope is disabled (the default on-remove) but stays the source's user.
 * Taken back into a scope group with no other change in Entra ID, the next run (delta or full) must enable it
 * again, with whatever changed in Entra ID while it was out.
 */
describe.each(engines)("a user back in a group scope (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 0, groups: 0 });
  });
  afterAll(async () => h?.close());

  const state = async (externalId: string) =>
    (await sql<{ enabled: boolean; department: string | null }>`select enabled, department from users where external_id = ${externalId}`.execute(h.store.db)).rows[0];

  it("enables it again on the next delta run, and on a full one", async () => {
    const t = h.emulator.tenants.add({ users: 8, groups: 0 });
    const people = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    const scope = t.createGroup({ displayName: "Door Access" });
    for (const p of people.slice(0, 4)) t.addMember(scope.id, p.id);
    const leaver = people[0]!;
    await h.addSource("door", { users: "groups", scopeGroups: ["Door Access"] }, { tenantId: t.id, clientId: t.defaultApp.clientId, clientSecret: t.defaultApp.clientSecret });
    expect(await h.sync("door")).toMatchObject({ status: "succeeded", counts: { created: 4 } });

    t.removeMember(scope.id, leaver.id);
    expect(await h.sync("door")).toMatchObject({ mode: "delta", status: "succeeded", counts: { disabled: 1 } });
    expect(await state(leaver.id)).toMatchObject({ enabled: false });

    t.addMember(scope.id, leaver.id);
    const back = await h.sync("door");
    expect(back).toMatchObject({ mode: "delta", status: "succeeded", counts: { updated: 1, disabled: 0 } });
    expect(await state(leaver.id)).toMatchObject({ enabled: true });

    // Out again, changed in Entra ID meanwhile, then back: a full run brings it back as Entra ID has it now.
    t.removeMember(scope.id, leaver.id);
    expect(await h.sync("door")).toMatchObject({ status: "succeeded", counts: { disabled: 1 } });
    t.updateUser(leaver.id, { department: "Moved While Out" });
    expect(await h.sync("door")).toMatchObject({ status: "succeeded", counts: { updated: 0 } });
    t.addMember(scope.id, leaver.id);
    expect(await h.sync("door", { full: true })).toMatchObject({ mode: "full", status: "succeeded", counts: { updated: 1 } });
    expect(await state(leaver.id)).toEqual({ enabled: true, department: "Moved While Out" });
  });
});
