// Soft-deleted users and groups as Graph shows them: absent from every full listing (GET /users, /groups and a delta
// query's first round), reported `@removed: changed` by a round from a stored token, and listed in
// /directory/deletedItems until restored or purged.
// https://learn.microsoft.com/graph/delta-query-overview, https://learn.microsoft.com/graph/api/directory-deleteditems-list
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GUID, startTestEmulator, type TestEmu } from "./helpers.ts";
import type { TenantHandle } from "../../src/emulator/index.ts";

let t: TestEmu;
let token: string;
let tenant: TenantHandle;
beforeAll(async () => {
  t = await startTestEmulator({ users: 40, groups: 3 });
  token = await t.appToken();
  tenant = t.emu.tenants.get(t.emu.tenantId);
});
afterAll(async () => { await t.stop(); });

const DEFAULT_USER_KEYS = ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"];
const ids = (items: { id: string }[]) => items.map((x) => x.id);

/** Every page of a listing or a delta round: its items, and the round's deltaLink. */
async function all(path: string, tok = token): Promise<{ items: any[]; pages: any[]; deltaLink?: string }> {
  const items: any[] = [];
  const pages: any[] = [];
  for (let next: string | undefined = path; next;) {
    const r = await t.graph(next, tok);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    pages.push(r.body);
    items.push(...r.body.value);
    if (r.body["@odata.deltaLink"]) return { items, pages, deltaLink: r.body["@odata.deltaLink"] };
    next = r.body["@odata.nextLink"];
  }
  return { items, pages };
}

function expectError(r: { status: number; body: any }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.body.error.code).toBe(code);
  expect(r.body.error.innerError["request-id"]).toMatch(GUID);
}

describe("a soft-deleted user", () => {
  it("is left out of GET /users and of a delta query's first round; a round from a stored token reports it @removed changed", async () => {
    const [soft, purged, later] = tenant.listUsers();
    const before = await all("/users/delta?$select=displayName");
    tenant.deleteUser(soft!.id);
    tenant.deleteUser(purged!.id, { permanent: true });

    const listed = await all("/users?$select=id&$top=999");
    expect(ids(listed.items)).not.toContain(soft!.id);
    expect(listed.items).toHaveLength(tenant.listUsers().length);
    const first = await all("/users/delta?$select=displayName");
    expect(first.items).toHaveLength(tenant.listUsers().length);
    expect(first.items.filter((u) => u["@removed"])).toEqual([]);
    expectError(await t.graph(`/users/${soft!.id}`, token), 404, "Request_ResourceNotFound");

    const changes = await all(before.deltaLink!);
    expect(changes.items).toEqual(expect.arrayContaining([
      { id: soft!.id, "@removed": { reason: "changed" } },
      { id: purged!.id, "@removed": { reason: "deleted" } },
    ]));
    // Deleted after the first round began: the next round from its link reports it.
    tenant.deleteUser(later!.id);
    expect((await all(first.deltaLink!)).items).toEqual([{ id: later!.id, "@removed": { reason: "changed" } }]);
    tenant.restoreUser(later!.id);
  });
});

describe("GET /directory/deletedItems/microsoft.graph.user", () => {
  it("lists soft-deleted users with the user default properties, the name prefixed with the object id, and deletedDateTime when selected", async () => {
    const gone = tenant.createUser({ displayName: "Gone Soft", userPrincipalName: `gone.soft@${tenant.domain}` });
    tenant.deleteUser(gone.id);
    const r = await t.graph("/directory/deletedItems/microsoft.graph.user", token);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users`);
    const item = r.body.value.find((u: any) => u.id === gone.id);
    expect(Object.keys(item).sort()).toEqual(DEFAULT_USER_KEYS);
    expect(item).toMatchObject({ displayName: "Gone Soft", userPrincipalName: `${gone.id.replace(/-/g, "")}gone.soft@${tenant.domain}` });
    // Only soft-deleted ones: not the active, not those purged.
    const deleted = tenant.listUsers({ includeDeleted: true }).filter((u) => !tenant.getUser(u.id));
    expect(ids(r.body.value).sort()).toEqual(ids(deleted).sort());

    const selected = await t.graph("/directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime", token);
    expect(selected.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users(id,deletedDateTime)`);
    const one = selected.body.value.find((u: any) => u.id === gone.id);
    expect(Object.keys(one).sort()).toEqual(["deletedDateTime", "id"]);
    expect(Date.parse(one.deletedDateTime)).toBeGreaterThan(Date.now() - 60_000);

    // Restored: back in the listings, out of deleted items, under its own name.
    tenant.restoreUser(gone.id);
    expect(ids((await t.graph("/directory/deletedItems/microsoft.graph.user?$select=id", token)).body.value)).not.toContain(gone.id);
    expect((await t.graph(`/users/${gone.id}?$select=userPrincipalName,deletedDateTime`, token)).body).toMatchObject({ userPrincipalName: `gone.soft@${tenant.domain}`, deletedDateTime: null });
  });

  it("pages with $top and absolute nextLinks that keep the $select; $top above 999 is refused", async () => {
    for (const u of tenant.listUsers().slice(0, 5)) tenant.deleteUser(u.id);
    const expected = tenant.listUsers({ includeDeleted: true }).filter((u) => !tenant.getUser(u.id)).length;
    expect(expected).toBeGreaterThanOrEqual(6);
    const paged = await all("/directory/deletedItems/microsoft.graph.user?$select=id&$top=2");
    expect(paged.pages.length).toBe(Math.ceil(expected / 2));
    expect(paged.items).toHaveLength(expected);
    expect(new Set(ids(paged.items)).size).toBe(expected);
    const next = new URL(paged.pages[0]["@odata.nextLink"]);
    expect(`${next.origin}${next.pathname}`).toBe(`${t.emu.graphUrl}/v1.0/directory/deletedItems/microsoft.graph.user`);
    expect(next.searchParams.get("$select")).toBe("id");
    for (const item of paged.items) expect(Object.keys(item)).toEqual(["id"]);
    expectError(await t.graph("/directory/deletedItems/microsoft.graph.user?$top=1000", token), 400, "Request_UnsupportedQuery");
  });

  it("answers one by id with its @odata.type; an id that is not deleted is 404; without a type it is 400", async () => {
    const gone = tenant.listUsers()[0]!;
    tenant.deleteUser(gone.id);
    const r = await t.graph(`/directory/deletedItems/${gone.id}?$select=id,displayName`, token);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ "@odata.context": `${t.emu.graphUrl}/v1.0/$metadata#directoryObjects/$entity`, "@odata.type": "#microsoft.graph.user", id: gone.id, displayName: gone.displayName });
    expectError(await t.graph(`/directory/deletedItems/${tenant.listUsers()[0]!.id}`, token), 404, "Request_ResourceNotFound");
    const untyped = await t.graph("/directory/deletedItems", token);
    expectError(untyped, 400, "Request_UnsupportedQuery");
    expect(untyped.body.error.message).toBe("Searches against this resource are not supported. Only specific instances can be queried.");
  });
});

describe("GET /directory/deletedItems/microsoft.graph.group", () => {
  it("lists the soft-deleted groups (Microsoft 365, cloud security), not those deleted for good; a delta query's first round leaves them out", async () => {
    const m365 = tenant.createGroup({ displayName: "Deleted M365", groupTypes: ["Unified"], mailEnabled: true, securityEnabled: false });
    const distribution = tenant.createGroup({ displayName: "Deleted distribution", groupTypes: [], mailEnabled: true, securityEnabled: false });
    tenant.deleteGroup(m365.id);
    tenant.deleteGroup(distribution.id);
    const r = await t.graph("/directory/deletedItems/microsoft.graph.group?$select=id,displayName,deletedDateTime", token);
    expect(r.status).toBe(200);
    expect(r.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#groups(id,displayName,deletedDateTime)`);
    expect(r.body.value).toEqual([{ id: m365.id, displayName: "Deleted M365", deletedDateTime: expect.stringMatching(/Z$/) }]);
    const first = await all("/groups/delta?$select=displayName");
    expect(ids(first.items)).not.toContain(m365.id);
    expect(first.items.filter((g) => g["@removed"])).toEqual([]);
    expect((await t.graph(`/directory/deletedItems/${m365.id}?$select=id`, token)).body).toMatchObject({ "@odata.type": "#microsoft.graph.group", id: m365.id });
  });
});

describe("permissions", () => {
  it("deleted users need a user permission (User.Read.All), deleted groups a group one (Group.Read.All): GroupMember.Read.All is not enough", async () => {
    const gone = tenant.listUsers()[0]!;
    tenant.deleteUser(gone.id);
    const least = tenant.registerApp({ appPermissions: ["User.Read.All", "GroupMember.Read.All"] });
    const tok = await t.appToken({ clientId: least.clientId, clientSecret: least.secrets[0]!.secretText });
    expect((await t.graph("/directory/deletedItems/microsoft.graph.user?$select=id", tok)).status).toBe(200);
    expect((await t.graph("/groups?$select=id", tok)).status).toBe(200);
    const groups = await t.graph("/directory/deletedItems/microsoft.graph.group?$select=id", tok);
    expectError(groups, 403, "Authorization_RequestDenied");
    expect(groups.body.error.message).toBe("Insufficient privileges to complete the operation.");

    const groupsOnly = tenant.registerApp({ appPermissions: ["Group.Read.All"] });
    const tok2 = await t.appToken({ clientId: groupsOnly.clientId, clientSecret: groupsOnly.secrets[0]!.secretText });
    expectError(await t.graph("/directory/deletedItems/microsoft.graph.user?$select=id", tok2), 403, "Authorization_RequestDenied");
    expectError(await t.graph(`/directory/deletedItems/${gone.id}`, tok2), 403, "Authorization_RequestDenied");
    expect((await t.graph("/directory/deletedItems/microsoft.graph.group?$select=id", tok2)).status).toBe(200);
  });
});
