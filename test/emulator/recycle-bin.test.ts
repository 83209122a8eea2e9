// Entra's recycle bin through Graph: restore (POST /directory/deletedItems/{id}/restore), permanent delete (DELETE
// /directory/deletedItems/{id}), and the purge 30 days after a deletion, each as a delta round then reports it.
// https://learn.microsoft.com/graph/api/directory-deleteditems-restore, https://learn.microsoft.com/graph/api/directory-deleteditems-delete
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUID, startTestEmulator, type TestEmu } from "./helpers.ts";
import type { TenantHandle } from "../../src/emulator/index.ts";

let t: TestEmu;
let tenant: TenantHandle;
let reader: string; // the default app: read permissions only
let writer: string; // User.DeleteRestore.All and Group.ReadWrite.All
beforeAll(async () => {
  t = await startTestEmulator({ users: 20, groups: 3 });
  tenant = t.emu.tenants.get(t.emu.tenantId);
  reader = await t.appToken();
  const app = tenant.registerApp({ appPermissions: ["User.Read.All", "Group.Read.All", "User.DeleteRestore.All", "Group.ReadWrite.All"] });
  writer = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText });
});
afterAll(async () => { await t.stop(); });

async function send(method: "POST" | "DELETE", path: string, token: string): Promise<{ status: number; body: any }> {
  const res = await t.call(`${t.emu.graphUrl}/v1.0${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function round(link: string): Promise<{ items: any[]; deltaLink: string }> {
  const items: any[] = [];
  for (let next = link; ;) {
    const r = await t.graph(next, reader);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    items.push(...r.body.value);
    if (r.body["@odata.deltaLink"]) return { items, deltaLink: r.body["@odata.deltaLink"] };
    next = r.body["@odata.nextLink"];
  }
}
const latest = async (kind: "users" | "groups") =>
  (await t.graph(`/${kind}/delta?$deltatoken=latest&$select=displayName${kind === "groups" ? ",members" : ",accountEnabled"}`, reader)).body["@odata.deltaLink"] as string;

function expectError(r: { status: number; body: any }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.body.error.code).toBe(code);
  expect(r.body.error.innerError["request-id"]).toMatch(GUID);
}

describe("POST /directory/deletedItems/{id}/restore", () => {
  it("restores a user with its object id, name and groups: 200 with the directoryObject; the next delta round has it back whole", async () => {
    const group = tenant.listGroups()[0]!;
    const u = tenant.createUser({ displayName: "Back Again", userPrincipalName: `back.again@${tenant.domain}`, accountEnabled: true });
    tenant.addMember(group.id, u.id);
    let link = await latest("users");
    tenant.deleteUser(u.id);
    expect(tenant.listMembers(group.id).map((m) => m.id)).not.toContain(u.id);
    const gone = await round(link);
    expect(gone.items).toEqual([{ id: u.id, "@removed": { reason: "changed" } }]);
    link = gone.deltaLink;

    const r = await send("POST", `/directory/deletedItems/${u.id}/restore`, writer);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ "@odata.context": `${t.emu.graphUrl}/v1.0/$metadata#directoryObjects/$entity`, "@odata.type": "#microsoft.graph.user", id: u.id, displayName: "Back Again", userPrincipalName: `back.again@${tenant.domain}` });
    expect((await t.graph(`/users/${u.id}?$select=id,deletedDateTime`, reader)).body).toMatchObject({ id: u.id, deletedDateTime: null });
    expect(tenant.listMembers(group.id).map((m) => m.id)).toContain(u.id);
    // Restored: reported as an object again (no @removed), with its tracked properties.
    const back = await round(link);
    expect(back.items).toEqual([{ id: u.id, displayName: "Back Again", accountEnabled: true }]);
    // Not deleted (any more): not found, as for an id nobody has.
    expectError(await send("POST", `/directory/deletedItems/${u.id}/restore`, writer), 404, "Request_ResourceNotFound");
    expectError(await send("POST", "/directory/deletedItems/00000000-0000-0000-0000-000000000001/restore", writer), 404, "Request_ResourceNotFound");
  });

  it("needs User.DeleteRestore.All (or User.ReadWrite.All) for a user, Group.ReadWrite.All for a group: the read permissions get 403", async () => {
    const u = tenant.listUsers()[1]!;
    tenant.deleteUser(u.id);
    const refused = await send("POST", `/directory/deletedItems/${u.id}/restore`, reader);
    expectError(refused, 403, "Authorization_RequestDenied");
    expect(refused.body.error.message).toBe("Insufficient privileges to complete the operation.");
    expect(tenant.getUser(u.id)).toBeUndefined();
    const g = tenant.createGroup({ displayName: "Restore me", groupTypes: ["Unified"], mailEnabled: true, securityEnabled: false });
    tenant.deleteGroup(g.id);
    expectError(await send("POST", `/directory/deletedItems/${g.id}/restore`, reader), 403, "Authorization_RequestDenied");
    const usersOnly = tenant.registerApp({ appPermissions: ["User.ReadWrite.All"] });
    const tok = await t.appToken({ clientId: usersOnly.clientId, clientSecret: usersOnly.secrets[0]!.secretText });
    expectError(await send("POST", `/directory/deletedItems/${g.id}/restore`, tok), 403, "Authorization_RequestDenied");
    expect((await send("POST", `/directory/deletedItems/${u.id}/restore`, tok)).status).toBe(200);
  });

  it("restores a group with its members; a user whose name another user took meanwhile stays deleted (400)", async () => {
    const [a, b] = tenant.listUsers();
    const g = tenant.createGroup({ displayName: "Team back", groupTypes: [], mailEnabled: false, securityEnabled: true });
    tenant.addMember(g.id, a!.id);
    tenant.addMember(g.id, b!.id);
    const link = await latest("groups");
    tenant.deleteGroup(g.id);
    const r = await send("POST", `/directory/deletedItems/${g.id}/restore`, writer);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ "@odata.type": "#microsoft.graph.group", id: g.id, displayName: "Team back", securityEnabled: true });
    expect(tenant.listMembers(g.id).map((m) => m.id).sort()).toEqual([a!.id, b!.id].sort());
    const items = (await round(link)).items.filter((x) => x.id === g.id);
    expect(items.at(-1)).toMatchObject({ id: g.id, displayName: "Team back" });
    expect(items.at(-1)["@removed"]).toBeUndefined();

    const old = tenant.createUser({ userPrincipalName: `taken@${tenant.domain}` });
    tenant.deleteUser(old.id);
    const newer = tenant.createUser({ userPrincipalName: `taken@${tenant.domain}` }); // the name is free once deleted
    const clash = await send("POST", `/directory/deletedItems/${old.id}/restore`, writer);
    expectError(clash, 400, "Request_BadRequest");
    expect(clash.body.error.message).toBe("Another object with the same value for property userPrincipalName already exists.");
    tenant.deleteUser(newer.id, { permanent: true });
    expect((await send("POST", `/directory/deletedItems/${old.id}/restore`, writer)).status).toBe(200);
  });
});

describe("DELETE /directory/deletedItems/{id}", () => {
  it("deletes a user for good: 204, delta @removed deleted, no longer restorable; a group only with a delegated token (app-only: 403)", async () => {
    const u = tenant.listUsers()[2]!;
    const link = await latest("users");
    tenant.deleteUser(u.id);
    expectError(await send("DELETE", `/directory/deletedItems/${u.id}`, reader), 403, "Authorization_RequestDenied");
    const r = await send("DELETE", `/directory/deletedItems/${u.id}`, writer);
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
    expect((await round(link)).items).toEqual([{ id: u.id, "@removed": { reason: "deleted" } }]);
    expectError(await t.graph(`/directory/deletedItems/${u.id}`, reader), 404, "Request_ResourceNotFound");
    expectError(await send("POST", `/directory/deletedItems/${u.id}/restore`, writer), 404, "Request_ResourceNotFound");

    const g = tenant.createGroup({ displayName: "Purge refused", groupTypes: ["Unified"], mailEnabled: true, securityEnabled: false });
    tenant.deleteGroup(g.id);
    expectError(await send("DELETE", `/directory/deletedItems/${g.id}`, writer), 403, "Authorization_RequestDenied");
    expect((await t.graph(`/directory/deletedItems/${g.id}?$select=id`, reader)).status).toBe(200);
  });
});

describe("30 days on", () => {
  it("a deleted user or group is purged: out of deleted items, delta @removed deleted, not restorable; 29 days are not enough", async () => {
    const u = tenant.listUsers()[3]!;
    const g = tenant.createGroup({ displayName: "Old news", groupTypes: ["Unified"], mailEnabled: true, securityEnabled: false });
    const users = await latest("users");
    const groups = await latest("groups");
    tenant.deleteUser(u.id);
    tenant.deleteGroup(g.id);
    expect(tenant.ageDeletedItems(29)).toEqual({ users: [], groups: [] });
    const stillThere = await t.graph(`/directory/deletedItems/${u.id}?$select=id,deletedDateTime`, reader);
    expect(Date.parse(stillThere.body.deletedDateTime)).toBeLessThan(Date.now() - 29 * 24 * 3600_000 + 60_000);

    // Through the control API, as a test driving the emulator from outside would.
    const aged = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${tenant.id}/deletedItems/age`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ days: 1 }) });
    expect(aged.status).toBe(200);
    const purged = (await aged.json()) as { users: string[]; groups: string[] };
    expect(purged.users).toContain(u.id);
    expect(purged.groups).toContain(g.id);
    expect(tenant.listUsers({ includeDeleted: true }).map((x) => x.id)).not.toContain(u.id);
    expect((await t.graph("/directory/deletedItems/microsoft.graph.group?$select=id", reader)).body.value.map((x: any) => x.id)).not.toContain(g.id);
    expect((await round(users)).items).toContainEqual({ id: u.id, "@removed": { reason: "deleted" } });
    expect((await round(groups)).items).toContainEqual({ id: g.id, "@removed": { reason: "deleted" } });
    expectError(await send("POST", `/directory/deletedItems/${u.id}/restore`, writer), 404, "Request_ResourceNotFound");
    const bad = await t.call(`${t.emu.loginUrl}/_emulator/tenants/${tenant.id}/deletedItems/age`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ days: -1 }) });
    expect(bad.status).toBe(400);
  });

  it("Graph purges what is due before it answers: no call to the emulator needed once the time has come", async () => {
    const u = tenant.listUsers()[4]!;
    tenant.deleteUser(u.id);
    expect(tenant.purgeDeletedItems(Date.now() + 29 * 24 * 3600_000)).toEqual({ users: [], groups: [] });
    // A deletion dated 30 days back (the clock moved), then any Graph request: gone.
    const rec = tenant.listUsers({ includeDeleted: true }).find((x) => x.id === u.id)!;
    rec.deletedDateTime = new Date(Date.now() - 30 * 24 * 3600_000).toISOString();
    expectError(await t.graph(`/directory/deletedItems/${u.id}`, reader), 404, "Request_ResourceNotFound");
  });
});
