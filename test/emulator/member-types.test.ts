import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmu } from "./helpers.ts";

/**
 * Group members that are neither users nor groups: organizational contacts, service principals, devices. Each comes
 * with its own @odata.type [group-list-members, group-list-transitivemembers, group-delta], except that v1.0's
 * /members leaves service principals out (a known issue: https://learn.microsoft.com/graph/known-issues).
 */
let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 20, groups: 0 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

const ids = (body: any): string[] => body.value.map((m: any) => m.id).sort();

async function deltaRound(url: string): Promise<{ items: any[]; deltaLink: string }> {
  const items: any[] = [];
  for (let next = url; ;) {
    const r = await t.graph(next, token);
    expect(r.status).toBe(200);
    items.push(...r.body.value);
    if (!r.body["@odata.nextLink"]) return { items, deltaLink: r.body["@odata.deltaLink"] };
    next = r.body["@odata.nextLink"];
  }
}

describe("contacts, service principals and devices as group members", () => {
  it("come in members, transitiveMembers and $expand=members with their type and default properties; a cast lists one type", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.listUsers()[0]!;
    const parent = tenant.createGroup({ displayName: "Distribution List" });
    const child = tenant.createGroup({ displayName: "Security Group" });
    const contact = tenant.createContact({ displayName: "Adele Vance", givenName: "Adele", surname: "Vance", mail: "adele@adatum.com", companyName: "Adatum" });
    const sp = tenant.servicePrincipal(t.emu.clientId)!;
    const device = tenant.createDevice({ displayName: "Kiosk 1" });
    tenant.addMember(parent.id, user.id);
    tenant.addMember(parent.id, contact.id);
    tenant.addMember(parent.id, child.id);
    tenant.addMember(child.id, sp.id);
    tenant.addMember(child.id, device.id);
    expect(tenant.listMembers(child.id)).toEqual([{ id: sp.id, kind: "servicePrincipal" }, { id: device.id, kind: "device" }]);

    const members = await t.graph(`/groups/${parent.id}/members`, token);
    expect(members.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#directoryObjects`);
    const c = members.body.value.find((m: any) => m.id === contact.id);
    expect(c).toEqual({
      "@odata.type": "#microsoft.graph.orgContact", id: contact.id, deletedDateTime: null, companyName: "Adatum", department: null,
      displayName: "Adele Vance", proxyAddresses: ["SMTP:adele@adatum.com"], givenName: "Adele", imAddresses: [], jobTitle: null,
      mail: "adele@adatum.com", mailNickname: "adele", onPremisesLastSyncDateTime: null, onPremisesSyncEnabled: null, surname: "Vance",
      addresses: [{ city: null, countryOrRegion: null, officeLocation: null, postalCode: null, state: null, street: null }],
      onPremisesProvisioningErrors: [], phones: [{ number: null, type: "businessFax" }, { number: null, type: "mobile" }, { number: null, type: "business" }],
    });
    const selected = await t.graph(`/groups/${parent.id}/members?$select=id,displayName,mail,userPrincipalName`, token);
    expect(selected.body.value.find((m: any) => m.id === contact.id)).toEqual({ "@odata.type": "#microsoft.graph.orgContact", id: contact.id, displayName: "Adele Vance", mail: "adele@adatum.com" });
    expect(selected.body.value.find((m: any) => m.id === user.id)).toEqual({ "@odata.type": "#microsoft.graph.user", id: user.id, displayName: user.displayName, mail: user.mail, userPrincipalName: user.userPrincipalName });

    // v1.0 /members lists the device but not the service principal (nor counts it); transitiveMembers and $expand do.
    const direct = await t.graph(`/groups/${child.id}/members`, token);
    expect(direct.body.value).toEqual([expect.objectContaining({ "@odata.type": "#microsoft.graph.device", id: device.id, displayName: "Kiosk 1" })]);
    const count = await t.call(`${t.emu.graphUrl}/v1.0/groups/${child.id}/members/$count`, { headers: { authorization: `Bearer ${token}`, consistencylevel: "eventual" } });
    expect(await count.text()).toBe("1");
    const expanded = await t.graph(`/groups/${child.id}?$expand=members`, token);
    const spItem = expanded.body.members.find((m: any) => m.id === sp.id);
    expect(spItem).toEqual({
      "@odata.type": "#microsoft.graph.servicePrincipal", id: sp.id, accountEnabled: true, appDisplayName: "Rollcall", appId: t.emu.clientId,
      appOwnerOrganizationId: t.emu.tenantId, displayName: "Rollcall", servicePrincipalNames: [t.emu.clientId], servicePrincipalType: "Application",
      signInAudience: "AzureADMultipleOrgs", tags: [],
    });
    const trans = await t.graph(`/groups/${parent.id}/transitiveMembers?$select=id,appId`, token);
    expect(trans.body.value).toEqual(expect.arrayContaining([
      { "@odata.type": "#microsoft.graph.orgContact", id: contact.id },
      { "@odata.type": "#microsoft.graph.servicePrincipal", id: sp.id, appId: t.emu.clientId },
      { "@odata.type": "#microsoft.graph.device", id: device.id },
    ]));
    expect(trans.body.value).toHaveLength(5);

    for (const path of [`/groups/${parent.id}/members/microsoft.graph.user`, `/groups/${parent.id}/transitiveMembers/microsoft.graph.user`]) {
      expect(ids((await t.graph(`${path}?$select=id`, token)).body)).toEqual([user.id]);
    }
    expect(ids((await t.graph(`/groups/${parent.id}/transitiveMembers/microsoft.graph.group?$select=id`, token)).body)).toEqual([child.id]);
    // Casts to the other types list those alone, with their own properties, as their own entity set.
    const contacts = await t.graph(`/groups/${parent.id}/members/microsoft.graph.orgContact?$select=id,mail`, token);
    expect(contacts.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#contacts`);
    expect(contacts.body.value).toEqual([{ "@odata.type": "#microsoft.graph.orgContact", id: contact.id, mail: "adele@adatum.com" }]);
    expect(ids((await t.graph(`/groups/${child.id}/members/microsoft.graph.device`, token)).body)).toEqual([device.id]);
    expect(ids((await t.graph(`/groups/${parent.id}/transitiveMembers/microsoft.graph.servicePrincipal`, token)).body)).toEqual([sp.id]);
    expect((await t.graph(`/groups/${parent.id}/members/microsoft.graph.application`, token)).status).toBe(400);
  });

  it("come in members@delta as @odata.type and id, added and removed; removing the app takes its service principal out", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const group = tenant.createGroup({ displayName: "Mail-enabled Security" });
    const contact = tenant.createContact();
    const app = tenant.registerApp({ displayName: "Build Agent" });
    const sp = tenant.servicePrincipal(app.clientId)!;
    tenant.addMember(group.id, contact.id);
    tenant.addMember(group.id, sp.id);
    const r1 = await deltaRound(`${t.emu.graphUrl}/v1.0/groups/delta?$select=displayName,members&$filter=id eq '${group.id}'`);
    expect(r1.items).toEqual([{
      id: group.id, displayName: "Mail-enabled Security",
      "members@delta": [{ "@odata.type": "#microsoft.graph.orgContact", id: contact.id }, { "@odata.type": "#microsoft.graph.servicePrincipal", id: sp.id }],
    }]);

    tenant.removeMember(group.id, contact.id);
    tenant.removeApp(app.clientId);
    expect(tenant.listMembers(group.id)).toEqual([]);
    const r2 = await deltaRound(r1.deltaLink);
    expect(r2.items[0]["members@delta"]).toEqual([
      { "@odata.type": "#microsoft.graph.orgContact", id: contact.id, "@removed": { reason: "deleted" } },
      { "@odata.type": "#microsoft.graph.servicePrincipal", id: sp.id, "@removed": { reason: "deleted" } },
    ]);
    expect(() => tenant.addMember(group.id, sp.id)).toThrow(/not found/);
  });

  it("the control API makes contacts and devices, and names a service principal's object id to add", async () => {
    const ctl = async (method: string, path: string, body?: unknown) => {
      const res = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${t.emu.tenantId}${path}`, {
        method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    const group = (await ctl("POST", "/groups", { displayName: "Ctl Members" })).body;
    const contact = await ctl("POST", "/contacts", { displayName: "Ctl Contact", mail: "ctl@example.org" });
    expect(contact).toMatchObject({ status: 201, body: { displayName: "Ctl Contact", mail: "ctl@example.org" } });
    const device = await ctl("POST", "/devices", { displayName: "Ctl Device" });
    expect(device).toMatchObject({ status: 201, body: { displayName: "Ctl Device", accountEnabled: true } });
    const sp = (await ctl("GET", `/apps/${t.emu.clientId}`)).body.servicePrincipal;
    for (const id of [contact.body.id, device.body.id, sp.id]) expect((await ctl("POST", `/groups/${group.id}/members`, { id })).status).toBe(204);
    expect((await ctl("GET", `/groups/${group.id}/members`)).body).toEqual([
      { id: contact.body.id, kind: "orgContact" }, { id: device.body.id, kind: "device" }, { id: sp.id, kind: "servicePrincipal" },
    ]);
  });
});

// "When an application queries a relationship that returns a directoryObject type collection, if it doesn't have
// permission to read a certain resource type, members of that type are returned but with limited information":
// https://learn.microsoft.com/graph/api/user-list-transitivememberof (any of User.Read.All, GroupMember.Read.All, ...).
describe("memberOf without a group permission", () => {
  it("lists the user's groups with their id and @odata.type only, every other property null; with none of the permissions, 403", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.createUser({ displayName: "In two groups" });
    const parent = tenant.createGroup({ displayName: "Limited parent" });
    const child = tenant.createGroup({ displayName: "Limited child" });
    tenant.addMember(parent.id, child.id);
    tenant.addMember(child.id, user.id);
    const usersOnly = tenant.registerApp({ appPermissions: ["User.Read.All"] });
    const tok = await t.appToken({ clientId: usersOnly.clientId, clientSecret: usersOnly.secrets[0]!.secretText });
    const r = await t.graph(`/users/${user.id}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName`, tok);
    expect(r.status).toBe(200);
    expect(r.body.value.sort((a: any, b: any) => a.id.localeCompare(b.id))).toEqual([parent.id, child.id].sort().map((id) => ({ "@odata.type": "#microsoft.graph.group", id, displayName: null })));
    // With a group permission, in full.
    const full = await t.graph(`/users/${user.id}/memberOf?$select=id,displayName`, token);
    expect(full.body.value).toEqual([{ "@odata.type": "#microsoft.graph.group", id: child.id, displayName: "Limited child" }]);
    const membersOnly = tenant.registerApp({ appPermissions: ["GroupMember.Read.All"] });
    const tok2 = await t.appToken({ clientId: membersOnly.clientId, clientSecret: membersOnly.secrets[0]!.secretText });
    expect((await t.graph(`/users/${user.id}/memberOf?$select=id,displayName`, tok2)).body.value).toEqual(full.body.value);
    const none = tenant.registerApp({ appPermissions: ["AuditLog.Read.All"] });
    const tok3 = await t.appToken({ clientId: none.clientId, clientSecret: none.secrets[0]!.secretText });
    expect((await t.graph(`/users/${user.id}/memberOf`, tok3)).status).toBe(403);
  });
});
