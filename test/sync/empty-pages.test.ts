import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";

/**
 * Graph may answer a page of a delta round with an empty value and a nextLink ("This is true even if the current
 * response may contain an empty result" [delta-query-overview]): the round goes on. Every page of every round here
 * comes after such an empty one (the emulator's deltaEmptyPages knob); a first run and a delta run still converge.
 */
describe.each(engines)("delta rounds with empty pages (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 8 });
    h.emulator.setKnobs({ deltaEmptyPages: true, deltaMembersPerPage: 20 });
    await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => h?.close());

  it("a first run and a delta run converge", async () => {
    const first = await h.sync("corp");
    expect(first.error).toBeUndefined();
    expect(first.status).toBe("succeeded");
    expect(await differences(h, "corp")).toEqual([]);

    const t = tenant();
    const [a, b] = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    t.updateUser(a!.id, { displayName: "After Empty Pages" });
    t.deleteUser(b!.id);
    const group = t.listGroups()[1]!;
    const member = t.listMembers(group.id)[0];
    if (member) t.removeMember(group.id, member.id);
    const second = await h.sync("corp");
    expect(second.error).toBeUndefined();
    expect(second).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await differences(h, "corp")).toEqual([]);
    const emptied = h.emulator.stats().requests.filter((r) => r.endpoint.includes("delta")).length;
    expect(emptied).toBeGreaterThanOrEqual(8); // two rounds of two chains, each page after an empty one
  });
});
