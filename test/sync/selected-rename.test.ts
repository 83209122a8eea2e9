import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { updateEntraSource } from "../../src/core/sources.ts";

describe.each(engines)("a selected group renamed in Entra ID (%s)", (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness(engine, { users: 8, groups: 0 });
  });
  afterAll(async () => h?.close());

  const synced = async () => (await sql<{ name: string; external_id: string; members: number }>`select g.name, g.external_id,
    (select count(*)::int from group_members m where m.group_id = g.id) as members from groups g where g.source_id is not null order by g.name`.execute(h.store.db)).rows;

  it("is followed by its object ID with a warning, not deleted, until the selection names it again", async () => {
    const t = h.emulator.tenants.get(h.emulator.tenantId);
    const people = t.listUsers().filter((u) => u.userType === "Member");
    const sales = t.createGroup({ displayName: "Sales" });
    const it = t.createGroup({ displayName: "IT" });
    t.addMember(sales.id, people[0]!.id);
    t.addMember(it.id, people[1]!.id);
    await h.addSource("corp", { groupMode: "selected", groups: ["Sales", "IT"] });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { groupsCreated: 2 } });

    t.updateGroup(it.id, { displayName: "IT Department" });
    t.addMember(it.id, people[2]!.id);
    const run = await h.sync("corp");
    expect(run).toMatchObject({ status: "succeeded", counts: { groupsDeleted: 0, warnings: 1, membershipsAdded: 1 } });
    expect(await synced()).toEqual([{ name: "IT", external_id: it.id, members: 2 }, { name: "Sales", external_id: sales.id, members: 1 }]);
    const { rows } = await sql<{ subject: string; after: { messages: string[] } }>`select subject, after from change_log where run_id = ${run.runId} and action = 'warning'`.execute(h.store.db);
    expect(rows).toEqual([{ subject: "IT", after: { messages: [expect.stringMatching(/^Entra group "IT" was renamed there to "IT Department"; it is still synced by its object ID/)] } }]);
    expect(await h.sync("corp", { full: true })).toMatchObject({ status: "succeeded", counts: { groupsDeleted: 0, groupsUpdated: 0, warnings: 1 } });

    await updateEntraSource(h.ctx, "corp", { config: { groups: ["Sales", "IT Department"] } });
    expect(await h.sync("corp")).toMatchObject({ status: "succeeded", counts: { groupsDeleted: 0, groupsUpdated: 1, warnings: 0 } });
    expect(await synced()).toEqual([{ name: "IT Department", external_id: it.id, members: 2 }, { name: "Sales", external_id: sales.id, members: 1 }]);
  });
});
