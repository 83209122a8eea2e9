import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";

/**
 * Group members can be devices (and contacts, service principals): members@delta lists them with their own
 * @odata.type [group-delta, group-list-members]. Rollcall syncs users and groups only: such members, added or
 * removed, leave the directory's memberships as they are.
 */
describe.each(engines)("groups with device members (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 40, groups: 6 });
    await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => h?.close());

  it("a first run and delta runs converge, the devices left out", async () => {
    const t = tenant();
    const [g1, g2] = t.listGroups().slice(1, 3);
    const kiosk = t.createDevice({ displayName: "Kiosk 1" });
    t.addMember(g1!.id, kiosk.id);
    const first = await h.sync("corp");
    expect(first.error).toBeUndefined();
    expect(first.status).toBe("succeeded");
    expect(await differences(h, "corp")).toEqual([]);

    t.removeMember(g1!.id, kiosk.id);
    t.addMember(g2!.id, kiosk.id);
    t.addMember(g2!.id, t.createDevice({ displayName: "Kiosk 2" }).id);
    const second = await h.sync("corp");
    expect(second.error).toBeUndefined();
    expect(second).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await differences(h, "corp")).toEqual([]);
  });
});
