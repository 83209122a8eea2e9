import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { differences, openHarness, type Harness } from "./harness.ts";
import { getGroup } from "../../src/core/groups.ts";

// A delta run diffs only the memberships of groups and users that changed; these are the changes that
// touch memberships without touching the group's own member list.
describe.each(engines)("delta runs and memberships (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 8 });
    await h.addSource("corp", { groupMode: "all", country: "US", deletionThreshold: { percent: 100, count: 1000 } });
    expect((await h.sync("corp")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("a user disabled in one run and deleted in the next leaves its groups", async () => {
    const t = tenant();
    const group = t.listGroups()[1]!;
    const member = t.listMembers(group.id).find((m) => m.kind === "user" && t.listUsers().find((u) => u.id === m.id)?.userType === "Member")!;
    t.setSignInEnabled(member.id, false);
    expect((await h.sync("corp")).status).toBe("succeeded");
    expect(await differences(h, "corp")).toEqual([]);
    t.deleteUser(member.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(run.counts.membershipsRemoved).toBeGreaterThan(0);
    expect(await differences(h, "corp")).toEqual([]);
  });

  it("a group created in Entra as a member of an existing group is nested in the same run", async () => {
    const t = tenant();
    const parent = t.listGroups()[2]!;
    const child = t.createGroup({ displayName: "Brand New Team" });
    t.addMember(child.id, t.listUsers().find((u) => u.userType === "Member")!.id);
    t.addMember(parent.id, child.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect((await getGroup(h.ctx, parent.displayName)).members).toContain("Brand New Team");
    expect(await differences(h, "corp")).toEqual([]);
  });
});

describe.each(engines)("delta runs and attribute groups (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 40, groups: 2 });
    await h.addSource("depts", { groupMode: "attribute", groupAttribute: "department", country: "US" });
    expect((await h.sync("depts")).status).toBe("succeeded");
  });
  afterAll(async () => h?.close());

  it("attribute groups follow a user whose attribute changed, in a delta run", async () => {
    const t = tenant();
    const mover = t.listUsers().find((u) => u.userType === "Member" && u.accountEnabled && u.department)!;
    const label = mover.mail ?? mover.userPrincipalName;
    const before = mover.department!;
    const stayers = (await getGroup(h.ctx, before)).members.filter((m) => m !== label);
    expect((await getGroup(h.ctx, before)).members).toContain(label);
    t.updateUser(mover.id, { department: "Skunkworks" });
    const run = await h.sync("depts");
    expect(run).toMatchObject({ mode: "delta", status: "succeeded" });
    expect((await getGroup(h.ctx, "Skunkworks")).members).toEqual([label]);
    if (stayers.length) expect((await getGroup(h.ctx, before)).members).toEqual(stayers);
    else await expect(getGroup(h.ctx, before)).rejects.toMatchObject({ code: "not_found" });
  });
});
