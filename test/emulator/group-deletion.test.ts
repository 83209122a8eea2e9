// Deleting a group: Entra keeps Microsoft 365 groups and cloud-only security groups restorable (delta
// `@removed: changed`) and deletes the other kinds for good (`deleted`).
// https://learn.microsoft.com/graph/api/group-delete, https://learn.microsoft.com/graph/delta-query-overview
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";
import type { GroupInput } from "../../src/emulator/directory-types.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 20, groups: 3 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

const KINDS: Record<string, GroupInput> = {
  microsoft365: { groupTypes: ["Unified"], mailEnabled: true, securityEnabled: false },
  security: { groupTypes: [], mailEnabled: false, securityEnabled: true },
  dynamicSecurity: { groupTypes: ["DynamicMembership"], mailEnabled: false, securityEnabled: true, membershipRule: '(user.department -eq "X")', membershipRuleProcessingState: "On" },
  distribution: { groupTypes: [], mailEnabled: true, securityEnabled: false },
  mailEnabledSecurity: { groupTypes: [], mailEnabled: true, securityEnabled: true },
  syncedSecurity: { groupTypes: [], mailEnabled: false, securityEnabled: true, onPremisesSyncEnabled: true },
};

/** One delta round from `link`: every item, and the next round's deltaLink. */
async function round(link: string): Promise<{ items: any[]; deltaLink: string }> {
  const items: any[] = [];
  for (let next = link; ;) {
    const r = await t.graph(next, token);
    expect(r.status).toBe(200);
    items.push(...r.body.value);
    if (r.body["@odata.deltaLink"]) return { items, deltaLink: r.body["@odata.deltaLink"] };
    next = r.body["@odata.nextLink"];
  }
}

async function latest(): Promise<string> {
  return (await t.graph("/groups/delta?$deltatoken=latest&$select=displayName,members", token)).body["@odata.deltaLink"];
}

describe("deleting a group", () => {
  it("is soft for Microsoft 365 and cloud-only security groups (changed), hard for distribution, mail-enabled security and synced groups (deleted)", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const ids = Object.fromEntries(Object.entries(KINDS).map(([k, input]) => [k, tenant.createGroup({ displayName: `Deleted ${k}`, ...input }).id]));
    const link = await latest();
    for (const id of Object.values(ids)) tenant.deleteGroup(id);
    const reasons = Object.fromEntries((await round(link)).items.map((x) => [x.id, x["@removed"]?.reason]));
    expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, reasons[id]]))).toEqual({
      microsoft365: "changed", security: "changed", dynamicSecurity: "changed",
      distribution: "deleted", mailEnabledSecurity: "deleted", syncedSecurity: "deleted",
    });
  });

  it("permanent deletes any kind for good, also one already soft-deleted; deleting a soft-deleted group again without it is not found", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const m365 = tenant.createGroup({ displayName: "Gone at once", ...KINDS.microsoft365 });
    const later = tenant.createGroup({ displayName: "Gone later", ...KINDS.security });
    const link = await latest();
    tenant.deleteGroup(m365.id, { permanent: true });
    tenant.deleteGroup(later.id);
    const first = await round(link);
    expect(first.items).toEqual(expect.arrayContaining([
      { id: m365.id, "@removed": { reason: "deleted" } }, { id: later.id, "@removed": { reason: "changed" } },
    ]));
    expect(() => tenant.deleteGroup(later.id)).toThrow(/not found/);
    tenant.deleteGroup(later.id, { permanent: true });
    expect((await round(first.deltaLink)).items).toEqual([{ id: later.id, "@removed": { reason: "deleted" } }]);
  });
});

describe("restoring a soft-deleted group", () => {
  it("brings it back in the next delta round with its members and its own memberships; a group deleted for good cannot be restored", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const parent = tenant.createGroup({ displayName: "Restore parent", ...KINDS.security });
    const group = tenant.createGroup({ displayName: "Restored", ...KINDS.microsoft365 });
    const [a, b] = tenant.listUsers();
    tenant.addMember(group.id, a!.id);
    tenant.addMember(group.id, b!.id);
    tenant.addMember(parent.id, group.id);
    tenant.deleteGroup(group.id);
    expect(tenant.listMembers(parent.id)).toEqual([]);
    const link = await latest();
    tenant.deleteUser(b!.id); // a member deleted meanwhile does not come back with the group
    expect(tenant.restoreGroup(group.id).displayName).toBe("Restored");

    expect(tenant.listMembers(group.id)).toEqual([{ id: a!.id, kind: "user" }]);
    expect(tenant.listMemberOf(group.id)).toEqual([parent.id]);
    const items = (await round(link)).items;
    expect(items.find((x) => x.id === group.id)).toMatchObject({ displayName: "Restored", "members@delta": [{ "@odata.type": "#microsoft.graph.user", id: a!.id }] });
    expect(items.find((x) => x.id === parent.id)["members@delta"]).toEqual([{ "@odata.type": "#microsoft.graph.group", id: group.id }]);

    const gone = tenant.createGroup({ displayName: "Not restorable", ...KINDS.distribution });
    tenant.deleteGroup(gone.id);
    expect(() => tenant.restoreGroup(gone.id)).toThrow(/not found/);
    expect(() => tenant.restoreGroup(group.id)).toThrow(/not found/);
  });
});
