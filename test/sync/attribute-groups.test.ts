import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";

describe.each(engines)("attribute groups and case (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 12, groups: 0 });
  });
  afterAll(async () => h?.close());

  const groups = async () => {
    const { rows } = await sql<{ name: string; members: string[] }>`select g.name, array_agg(u.external_id order by u.external_id) as members
      from groups g join group_members m on m.group_id = g.id join users u on u.id = m.member_user_id where g.source_id is not null group by g.name order by g.name`.execute(h.store.db);
    return rows.filter((r) => r.name.toLowerCase() === "sales");
  };

  it("values differing only in case are one group, named by the most common spelling, with all of them as members", async () => {
    const t = h.emulator.tenants.get(h.emulator.tenantId);
    const [a, b, c] = t.listUsers().filter((u) => u.userType === "Member");
    t.updateUser(a!.id, { department: "sales" });
    t.updateUser(b!.id, { department: "Sales" });
    t.updateUser(c!.id, { department: " Sales" });
    await h.addSource("corp", { groupMode: "attribute", groupAttribute: "department" });
    const first = await h.sync("corp");
    expect(first).toMatchObject({ status: "succeeded", counts: { groupConflicts: 0 } });
    expect(await groups()).toEqual([{ name: "Sales", members: [a!.id, b!.id, c!.id].sort() }]);

    // The spelling most use changes: the same group is renamed, its members stay.
    t.updateUser(b!.id, { department: "sales" });
    const second = await h.sync("corp");
    expect(second).toMatchObject({ status: "succeeded", counts: { groupConflicts: 0, groupsUpdated: 1, groupsCreated: 0, groupsDeleted: 0 } });
    expect(await groups()).toEqual([{ name: "sales", members: [a!.id, b!.id, c!.id].sort() }]);
  });
});
