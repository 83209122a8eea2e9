import { SignJWT, generateKeyPair, decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { GUID, startTestEmulator, type TestEmu } from "./helpers.ts";

let t: TestEmu;
let token: string;
beforeAll(async () => {
  t = await startTestEmulator({ users: 250, groups: 12 });
  token = await t.appToken();
});
afterAll(async () => { await t.stop(); });

const DEFAULT_USER_KEYS = ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"];

function expectGraphError(r: { status: number; body: any; headers: any }, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.body.error.code).toBe(code);
  expect(typeof r.body.error.message).toBe("string");
  expect(r.body.error.innerError["request-id"]).toMatch(GUID);
  expect(r.body.error.innerError["client-request-id"]).toMatch(GUID);
  expect(r.body.error.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  expect(r.headers.get("request-id")).toBe(r.body.error.innerError["request-id"]);
}

describe("users", () => {
  it("lists with Microsoft's default property set, 100 a page, absolute opaque nextLinks", async () => {
    const r = await t.graph("/users", token);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.headers.get("request-id")).toMatch(GUID);
    expect(r.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users`);
    expect(r.body.value).toHaveLength(100);
    expect(Object.keys(r.body.value[0]).sort()).toEqual(DEFAULT_USER_KEYS);
    const next = r.body["@odata.nextLink"] as string;
    expect(next.startsWith(`${t.emu.graphUrl}/v1.0/users?`)).toBe(true);
    expect(new URL(next).searchParams.get("$skiptoken")).toBeTruthy();
    let all = r.body.value.length;
    let url: string | undefined = next;
    while (url) {
      const p = await t.graph(url, token);
      all += p.body.value.length;
      url = p.body["@odata.nextLink"];
    }
    expect(all).toBe(250);
  });

  it("$select returns exactly the asked properties, unset ones as null", async () => {
    const r = await t.graph("/users?$select=id,accountEnabled,department,employeeId,userType,onPremisesExtensionAttributes,onPremisesSamAccountName&$top=999", token);
    expect(r.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users(id,accountEnabled,department,employeeId,userType,onPremisesExtensionAttributes,onPremisesSamAccountName)`);
    expect(r.body.value).toHaveLength(250);
    expect(r.body["@odata.nextLink"]).toBeUndefined();
    for (const u of r.body.value) expect(Object.keys(u).sort()).toEqual(["accountEnabled", "department", "employeeId", "id", "onPremisesExtensionAttributes", "onPremisesSamAccountName", "userType"]);
    expect(r.body.value.some((u: any) => u.userType === "Guest")).toBe(true);
    expect(r.body.value.some((u: any) => u.accountEnabled === false)).toBe(true);
    expect(Object.keys(r.body.value[0].onPremisesExtensionAttributes)).toHaveLength(15);
  });

  it("an unknown $select property is Graph's OData parse error: 400 BadRequest (not a directory Request_* code)", async () => {
    for (const path of ["/users?$select=id,nope", "/users/delta?$select=id,nope"]) {
      const bad = await t.graph(path, token);
      expectGraphError(bad, 400, "BadRequest");
      expect(bad.body.error.message).toBe("Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.user'.");
    }
    const groups = await t.graph("/groups?$select=id,nope", token);
    expectGraphError(groups, 400, "BadRequest");
    expect(groups.body.error.message).toBe("Parsing OData Select and Expand failed: Could not find a property named 'nope' on type 'microsoft.graph.group'.");
  });

  it("a UPN that begins with $ is a 400 after a slash, and found as /users('$…') (quotes doubled), with its transitive groups", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const user = tenant.createUser({ userPrincipalName: `$it'admin@${tenant.domain}`, displayName: "IT admin", accountEnabled: true });
    onTestFinished(() => tenant.deleteUser(user.id, { permanent: true }));
    expectGraphError(await t.graph(`/users/${encodeURIComponent(user.userPrincipalName)}`, token), 400, "BadRequest");
    expectGraphError(await t.graph(`/users/$it'admin@${tenant.domain}`, token), 400, "BadRequest");
    const found = await t.graph(`/users('$it''admin@${tenant.domain}')?$select=id,userPrincipalName`, token);
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    expect(found.body).toMatchObject({ id: user.id, userPrincipalName: user.userPrincipalName });
    expect((await t.graph(`/users('$it''admin@${tenant.domain}')/transitiveMemberOf/microsoft.graph.group`, token)).status).toBe(200);
    expect((await t.graph(`/users('$nobody@${tenant.domain}')`, token)).status).toBe(404);
  });

  it("profile properties served only for one user: a listing is 501 NotImplemented, a delta query 400; GET /users/{id} gives them", async () => {
    const list = await t.graph("/users?$select=id,birthday", token);
    expectGraphError(list, 501, "NotImplemented");
    expect(list.body.error.message).toBe("This operation target is not yet supported.");
    const delta = await t.graph("/users/delta?$select=id,hireDate,skills", token);
    expectGraphError(delta, 400, "BadRequest");
    expect(delta.body.error.message).toBe("Invalid request for delta query: for this entity set, $expand/$select is not supported for the following properties: hireDate, skills");
    const one = await t.graph(`/users/${t.emu.tenants.get(t.emu.tenantId).listUsers()[0]!.id}?$select=id,hireDate,skills`, token);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ hireDate: null, skills: [] });
  });

  it("signInActivity: a listing serves it with AuditLog.Read.All (403 without), delta refuses it (400); $deltatoken=latest checks $select too", async () => {
    expectGraphError(await t.graph("/users?$select=id,signInActivity", token), 403, "Authorization_RequestDenied");
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const auditor = tenant.registerApp({ displayName: "auditor", appPermissions: ["User.Read.All", "AuditLog.Read.All"] });
    const audit = await t.appToken({ clientId: auditor.clientId, clientSecret: auditor.secrets[0]!.secretText });
    const list = await t.graph("/users?$top=1&$select=id,signInActivity", audit);
    expect(list.status).toBe(200);
    expect(list.body.value[0]).toEqual({ id: expect.any(String), signInActivity: null });
    for (const path of ["/users/delta?$select=id,signInActivity", "/users/delta?$select=id,signInActivity&$deltatoken=latest"]) {
      const delta = await t.graph(path, audit);
      expectGraphError(delta, 400, "BadRequest");
      expect(delta.body.error.message).toBe("Invalid request for delta query: for this entity set, $expand/$select is not supported for the following properties: signInActivity");
    }
    expectGraphError(await t.graph("/users/delta?$select=id,nope&$deltatoken=latest", audit), 400, "BadRequest");
    const latest = await t.graph("/users/delta?$select=id,displayName&$deltatoken=latest", token);
    expect(latest.status).toBe(200);
    expect(latest.body.value).toEqual([]);
    expect(latest.body["@odata.deltaLink"]).toMatch(/\$deltatoken=/);
  });

  it("a directory extension registered in the tenant: selectable in listings, one user and delta, given only when set; delta sends a cleared one as null", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const badge = tenant.defineUserExtension("badge");
    expect(badge).toBe(`extension_${tenant.defaultApp.clientId.replace(/-/g, "")}_badge`);
    const [holder, other] = tenant.listUsers();
    tenant.updateUser(holder!.id, { [badge]: "B-17" });
    const list = await t.graph(`/users?$select=id,${badge}&$top=999`, token);
    expect(list.body.value.find((u: any) => u.id === holder!.id)).toEqual({ id: holder!.id, [badge]: "B-17" });
    expect(list.body.value.find((u: any) => u.id === other!.id)).toEqual({ id: other!.id });
    expect((await t.graph(`/users/${holder!.id}`, token)).body[badge]).toBeUndefined(); // never without $select
    expect((await t.graph(`/users/${holder!.id}?$select=${badge}`, token)).body[badge]).toBe("B-17");
    expectGraphError(await t.graph(`/users?$select=id,${badge.replace("_badge", "_badges")}`, token), 400, "BadRequest");

    let page = await t.graph(`/users/delta?$select=id,${badge}`, token);
    while (page.body["@odata.nextLink"]) page = await t.graph(page.body["@odata.nextLink"], token);
    tenant.updateUser(holder!.id, { [badge]: null });
    const changes = await t.graph(page.body["@odata.deltaLink"], token);
    expect(changes.body.value).toEqual([{ id: holder!.id, [badge]: null }]);
  });

  it("$top outside 1..999 is a 400", async () => {
    expectGraphError(await t.graph("/users?$top=1000", token), 400, "Request_UnsupportedQuery");
    expectGraphError(await t.graph("/users?$top=0", token), 400, "Request_UnsupportedQuery");
  });

  it("$filter: eq, startswith, in, and/or; ne needs an advanced query", async () => {
    const all = t.emu.tenants.get(t.emu.tenantId).listUsers();
    const guests = await t.graph("/users?$filter=userType eq 'Guest'&$select=id,userType&$top=999", token);
    expect(guests.body.value.length).toBe(all.filter((u) => u.userType === "Guest").length);
    const dis = await t.graph("/users?$filter=accountEnabled eq false and userType eq 'Member'&$select=id&$top=999", token);
    expect(dis.body.value.length).toBe(all.filter((u) => !u.accountEnabled && u.userType === "Member").length);
    const u0 = all[3]!;
    const byUpn = await t.graph(`/users?$filter=${encodeURIComponent(`userPrincipalName eq '${u0.userPrincipalName.toUpperCase()}'`)}`, token);
    expect(byUpn.body.value.map((u: any) => u.id)).toEqual([u0.id]);
    const sw = await t.graph(`/users?$filter=${encodeURIComponent(`startswith(displayName,'${u0.displayName!.slice(0, 3)}')`)}&$top=999&$select=displayName`, token);
    expect(sw.body.value.every((u: any) => u.displayName.toLowerCase().startsWith(u0.displayName!.slice(0, 3).toLowerCase()))).toBe(true);
    const inq = await t.graph(`/users?$filter=${encodeURIComponent(`id in ('${all[0]!.id}','${all[1]!.id}') or employeeId eq '${all[2]!.employeeId}'`)}&$select=id`, token);
    expect(inq.body.value.length).toBeGreaterThanOrEqual(2);
    expectGraphError(await t.graph("/users?$filter=department ne 'Sales'", token), 400, "Request_UnsupportedQuery");
    const ne = await t.graph("/users?$filter=department ne 'Sales'&$count=true&$top=999&$select=department", token, { ConsistencyLevel: "eventual" });
    expect(ne.status).toBe(200);
    expect(ne.body.value.every((u: any) => u.department !== "Sales")).toBe(true);
    expectGraphError(await t.graph("/users?$filter=nosuch eq 'x'", token), 400, "Request_BadRequest");
  });

  it("$filter: each property takes the operators Graph's table gives it, some only in an advanced query", async () => {
    const eventual = { ConsistencyLevel: "eventual" };
    const q = (filter: string, entity = "users", advanced = false) =>
      t.graph(`/${entity}?$filter=${encodeURIComponent(filter)}&$top=999&$select=id${advanced ? "&$count=true" : ""}`, token, advanced ? eventual : {});
    const all = t.emu.tenants.get(t.emu.tenantId).listUsers();
    const someone = all.find((u) => u.officeLocation && u.mobilePhone)!;
    // Served only as advanced queries: officeLocation and mobilePhone even for eq, createdDateTime for in.
    for (const filter of [`officeLocation eq '${someone.officeLocation}'`, `startswith(mobilePhone,'+')`, `createdDateTime in ('2020-01-01T00:00:00Z')`]) {
      expectGraphError(await q(filter), 400, "Request_UnsupportedQuery");
      expect((await q(filter, "users", true)).status).toBe(200);
    }
    expect((await q(`officeLocation eq '${someone.officeLocation}'`, "users", true)).body.value.map((u: any) => u.id)).toContain(someone.id);
    // Not served at all: gt, startsWith on an extension attribute, a property without $filter.
    for (const filter of ["displayName gt 'M'", "startswith(onPremisesExtensionAttributes/extensionAttribute1,'x')", "faxNumber eq '1'"]) {
      expectGraphError(await q(filter, "users", true), 400, "Request_UnsupportedQuery");
    }
    expect((await q("createdDateTime ge 2020-01-01T00:00:00Z")).status).toBe(200);
    expectGraphError(await q("description eq 'x'", "groups"), 400, "Request_UnsupportedQuery");
    expect((await q("description eq 'x'", "groups", true)).status).toBe(200);
    // A collection is filtered through any; compared as one value it is an OData error.
    const withAddress = all.find((u) => (u.proxyAddresses ?? []).length > 0)!;
    const address = withAddress.proxyAddresses![0]!;
    expectGraphError(await q(`proxyAddresses eq '${address}'`), 400, "Request_BadRequest");
    expect((await q(`proxyAddresses/any(p:p eq '${address.toUpperCase()}')`)).body.value.map((u: any) => u.id)).toContain(withAddress.id);
    const smtp = await q(`proxyAddresses/any(p:startswith(p,'smtp:'))`);
    expect(smtp.body.value.length).toBe(all.filter((u) => u.proxyAddresses?.some((a) => a.toLowerCase().startsWith("smtp:"))).length);
    expectGraphError(await q(`proxyAddresses/any(p:endswith(p,'.com'))`), 400, "Request_UnsupportedQuery");
  });

  it("$search with ConsistencyLevel: eventual matches word prefixes", async () => {
    const u = t.emu.tenants.get(t.emu.tenantId).listUsers()[7]!;
    const word = u.surname!;
    expectGraphError(await t.graph(`/users?$search="displayName:${encodeURIComponent(word)}"`, token), 400, "Request_UnsupportedQuery");
    const r = await t.graph(`/users?$search=${encodeURIComponent(`"displayName:${word}"`)}&$select=id,displayName&$top=999`, token, { ConsistencyLevel: "eventual" });
    expect(r.status).toBe(200);
    expect(r.body.value.map((x: any) => x.id)).toContain(u.id);
    expect(r.body.value.every((x: any) => x.displayName.toLowerCase().includes(word.toLowerCase()))).toBe(true);
  });

  it("$count=true needs ConsistencyLevel: eventual (without it, silently ignored); @odata.count is on the first page only", async () => {
    const ignored = await t.graph("/users?$count=true&$top=5", token);
    expect(ignored.status).toBe(200);
    expect(ignored.body["@odata.count"]).toBeUndefined();
    expect(ignored.body.value).toHaveLength(5);
    const r = await t.graph("/users?$count=true&$top=100", token, { ConsistencyLevel: "eventual" });
    expect(r.body["@odata.count"]).toBe(250);
    const keys = Object.keys(r.body);
    expect(keys.indexOf("@odata.count")).toBeLessThan(keys.indexOf("value"));
    const p2 = await t.graph(r.body["@odata.nextLink"], token, { ConsistencyLevel: "eventual" });
    expect(p2.body["@odata.count"]).toBeUndefined();
  });

  it("the /$count segment answers a text/plain number with ConsistencyLevel: eventual, else 400 Request_BadRequest", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const eventual = { ConsistencyLevel: "eventual" };
    const users = await t.graph("/users/$count", token, eventual);
    expect(users.status).toBe(200);
    expect(users.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(users.body).toBe(250);
    const guests = await t.graph(`/users/$count?$filter=${encodeURIComponent("userType eq 'Guest'")}`, token, eventual);
    expect(guests.body).toBe(tenant.listUsers().filter((u) => u.userType === "Guest").length);
    expect((await t.graph("/groups/$count", token, eventual)).body).toBe(tenant.listGroups().length);
    const g = tenant.listGroups()[0]!;
    expect((await t.graph(`/groups/${g.id}/members/$count`, token, eventual)).body).toBe(tenant.listMembers(g.id).length);
    expect((await t.graph(`/groups/${g.id}/transitiveMembers/microsoft.graph.user/$count`, token, eventual)).body)
      .toBe(tenant.listMembers(g.id, { transitive: true }).filter((m) => m.kind === "user").length);
    const member = tenant.listMembers(g.id).find((m) => m.kind === "user")!;
    expect((await t.graph(`/users/${member.id}/memberOf/$count`, token, eventual)).body).toBe(tenant.listMemberOf(member.id).length);
    const refused = await t.graph("/users/$count", token);
    expectGraphError(refused, 400, "Request_BadRequest");
    expect(refused.body.error.message).toBe("$count is not currently supported.");
  });

  it("$orderby: displayName and userPrincipalName by default; other properties and $filter with it need an advanced query", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const names = async (path: string, headers: Record<string, string> = {}) => {
      const out: string[] = [];
      for (let url: string | undefined = path; url;) {
        const r = await t.graph(url, token, headers);
        expect(r.status).toBe(200);
        out.push(...r.body.value.map((u: any) => u.displayName ?? ""));
        url = r.body["@odata.nextLink"];
      }
      return out;
    };
    const byName = (a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
    const sorted = await names("/users?$orderby=displayName&$select=displayName&$top=60");
    expect(sorted).toHaveLength(250);
    expect(sorted).toEqual([...sorted].sort(byName));
    expect(sorted).not.toEqual(tenant.listUsers().map((u) => u.displayName ?? ""));
    const groups = await names("/groups?$orderby=displayName&$select=displayName");
    expect(groups).toEqual(tenant.listGroups().map((g) => g.displayName ?? "").sort(byName));
    const upns = await t.graph("/users?$orderby=userPrincipalName&$select=userPrincipalName&$top=999", token);
    const listed = upns.body.value.map((u: any) => u.userPrincipalName.toLowerCase());
    expect(listed).toEqual([...listed].sort());

    const byDate = await t.graph("/users?$orderby=createdDateTime&$select=id", token);
    expectGraphError(byDate, 400, "Request_UnsupportedQuery");
    expect(byDate.body.error.message).toBe("Unsupported sort property 'createdDateTime' for 'User'.");
    const withFilter = await t.graph("/users?$filter=accountEnabled eq true&$orderby=displayName", token);
    expectGraphError(withFilter, 400, "Request_UnsupportedQuery");
    expect(withFilter.body.error.message).toBe("Sorting not supported for current query.");
    const advanced = await names("/users?$filter=accountEnabled eq true&$orderby=displayName&$count=true&$select=displayName", { ConsistencyLevel: "eventual" });
    expect(advanced).toEqual(tenant.listUsers().filter((u) => u.accountEnabled).map((u) => u.displayName ?? "").sort(byName));
  });

  it("gets by id or UPN; unknown is 404 Request_ResourceNotFound", async () => {
    const u = t.emu.tenants.get(t.emu.tenantId).listUsers()[5]!;
    const byId = await t.graph(`/users/${u.id}`, token);
    expect(byId.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#users/$entity`);
    expect(byId.body.id).toBe(u.id);
    const byUpn = await t.graph(`/users/${encodeURIComponent(u.userPrincipalName)}?$select=id,department`, token);
    expect(byUpn.body).toMatchObject({ id: u.id, department: u.department });
    expectGraphError(await t.graph("/users/00000000-0000-0000-0000-000000000000", token), 404, "Request_ResourceNotFound");
    expectGraphError(await t.graph("/users/nobody@example.com", token), 404, "Request_ResourceNotFound");
    // A group has no other key than its object id: a name is no identifier, not a missing group.
    expectGraphError(await t.graph("/groups/00000000-0000-0000-0000-000000000000", token), 404, "Request_ResourceNotFound");
    const byName = await t.graph("/groups/Sales", token);
    expectGraphError(byName, 400, "Request_BadRequest");
    expect(byName.body.error.message).toBe("Invalid object identifier 'Sales'.");
    expectGraphError(await t.graph("/groups/Sales/members", token), 400, "Request_BadRequest");
  });
});

describe("groups and memberships", () => {
  it("lists groups, members (with @odata.type), casts, transitive members and memberOf", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const groups = await t.graph("/groups?$select=id,displayName,groupTypes,securityEnabled,mailEnabled,membershipRule", token);
    expect(groups.body.value).toHaveLength(12);
    const nested = tenant.listGroups().find((g) => tenant.listMembers(g.id).some((m) => m.kind === "group"))!;
    expect(nested).toBeDefined();
    const members = await t.graph(`/groups/${nested.id}/members?$top=999`, token);
    expect(members.body["@odata.context"]).toBe(`${t.emu.graphUrl}/v1.0/$metadata#directoryObjects`);
    const types = new Set(members.body.value.map((m: any) => m["@odata.type"]));
    expect(types.has("#microsoft.graph.group")).toBe(true);
    const users = await t.graph(`/groups/${nested.id}/members/microsoft.graph.user?$top=999&$select=id,displayName`, token);
    expect(users.body.value.every((m: any) => m["@odata.type"] === "#microsoft.graph.user")).toBe(true);
    const trans = await t.graph(`/groups/${nested.id}/transitiveMembers?$top=999&$select=id`, token);
    const expected = tenant.listMembers(nested.id, { transitive: true });
    expect(trans.body.value.map((m: any) => m.id).sort()).toEqual(expected.map((m) => m.id).sort());
    expect(new Set(trans.body.value.map((m: any) => m.id)).size).toBe(trans.body.value.length);
    const someUser = tenant.listMembers(nested.id, { transitive: true }).find((m) => m.kind === "user")!;
    const mo = await t.graph(`/users/${someUser.id}/transitiveMemberOf?$select=id,displayName`, token);
    expect(mo.body.value.map((g: any) => g.id)).toContain(nested.id);
    const direct = await t.graph(`/users/${someUser.id}/memberOf`, token);
    expect(direct.body.value.every((g: any) => g["@odata.type"] === "#microsoft.graph.group")).toBe(true);
    expectGraphError(await t.graph(`/groups/00000000-0000-0000-0000-000000000000/members`, token), 404, "Request_ResourceNotFound");
  });

  it("$expand=members gives at most 20 members per group", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const all = tenant.listGroups()[0]!;
    const r = await t.graph(`/groups/${all.id}?$expand=members($select=id,displayName)`, token);
    expect(r.body.members).toHaveLength(20);
    expect(Object.keys(r.body.members[0]).sort()).toEqual(["@odata.type", "displayName", "id"]);
    const list = await t.graph("/groups?$select=id&$expand=members", token);
    for (const g of list.body.value) expect(g.members.length).toBe(Math.min(20, tenant.listMembers(g.id).length));
    expect((await t.graph("/groups?$expand=owners", token)).status).toBe(400);
  });

  it("generated data looks like a real directory", () => {
    const users = t.emu.tenants.get(t.emu.tenantId).listUsers();
    expect(users.some((u) => u.userPrincipalName.includes("#EXT#"))).toBe(true);
    expect(users.some((u) => u.mail === null)).toBe(true);
    expect(users.some((u) => /[^\x00-\x7f]/.test(u.displayName ?? ""))).toBe(true);
    expect(new Set(users.map((u) => u.usageLocation)).size).toBeGreaterThanOrEqual(5);
    expect(users.some((u) => u.onPremisesSamAccountName)).toBe(true);
  });
});

describe("authentication and authorization", () => {
  it("401 InvalidAuthenticationToken for missing, malformed, forged and expired tokens", async () => {
    const none = await t.call(`${t.emu.graphUrl}/v1.0/users`);
    expectGraphError({ status: none.status, body: await none.json(), headers: none.headers }, 401, "InvalidAuthenticationToken");
    expectGraphError(await t.graph("/users", "not-a-jwt"), 401, "InvalidAuthenticationToken");
    const { privateKey } = await generateKeyPair("RS256");
    const claims = decodeJwt(token);
    const forged = await new SignJWT(claims as any).setProtectedHeader({ alg: "RS256", kid: "x" }).sign(privateKey);
    expectGraphError(await t.graph("/users", forged), 401, "InvalidAuthenticationToken");
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const app = tenant.registerApp({ tokenLifetimeSeconds: 1 });
    const short = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText });
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await t.graph("/users", short);
    expectGraphError(expired, 401, "InvalidAuthenticationToken");
    expect(expired.body.error.message).toMatch(/expired/);
  });

  it("403 Authorization_RequestDenied without the permission; GroupMember.Read.All reads groups and members", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const app = tenant.registerApp({ appPermissions: ["GroupMember.Read.All"] });
    const tok = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText });
    const users = await t.graph("/users?$top=1&$select=id", tok);
    expectGraphError(users, 403, "Authorization_RequestDenied");
    expect(users.body.error.message).toBe("Insufficient privileges to complete the operation.");
    expect((await t.graph("/groups?$top=1&$select=id", tok)).status).toBe(200);
    const g = tenant.listGroups()[0]!;
    expect((await t.graph(`/groups/${g.id}/members?$top=1`, tok)).status).toBe(200);
    // revoking applies to tokens already issued
    tenant.revokePermission(app.clientId, "GroupMember.Read.All");
    expectGraphError(await t.graph("/groups?$top=1&$select=id", tok), 403, "Authorization_RequestDenied");
    // /me is for delegated tokens
    expectGraphError(await t.graph("/me", token), 400, "BadRequest");
  });

  it("an app-only User.ReadBasic.All is not enough to list or read users (403), as Microsoft answers", async () => {
    const tenant = t.emu.tenants.get(t.emu.tenantId);
    const app = tenant.registerApp({ appPermissions: ["User.ReadBasic.All"] });
    const tok = await t.appToken({ clientId: app.clientId, clientSecret: app.secrets[0]!.secretText });
    expectGraphError(await t.graph("/users?$top=1&$select=id", tok), 403, "Authorization_RequestDenied");
    expectGraphError(await t.graph(`/users/${tenant.listUsers()[0]!.id}?$select=id,displayName`, tok), 403, "Authorization_RequestDenied");
    expectGraphError(await t.graph("/users/delta?$select=id", tok), 403, "Authorization_RequestDenied");
  });
});

describe("$batch", () => {
  it("answers each request with its own status, headers and body", async () => {
    const u = t.emu.tenants.get(t.emu.tenantId).listUsers()[0]!;
    const res = await t.call(`${t.emu.graphUrl}/v1.0/$batch`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ requests: [
        { id: "1", method: "GET", url: "/users?$top=2&$select=id" },
        { id: "2", method: "GET", url: `/users/${u.id}?$select=id,displayName` },
        { id: "3", method: "GET", url: "/users/00000000-0000-0000-0000-000000000000" },
        { id: "4", method: "GET", url: "/groups?$top=1", dependsOn: ["3"] },
      ] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const byId = Object.fromEntries(body.responses.map((r: any) => [r.id, r]));
    expect(byId["1"].status).toBe(200);
    expect(byId["1"].body.value).toHaveLength(2);
    expect(byId["1"].headers["Content-Type"]).toMatch(/json/);
    expect(byId["2"].body).toMatchObject({ id: u.id, displayName: u.displayName });
    expect(byId["3"].status).toBe(404);
    expect(byId["3"].body.error.code).toBe("Request_ResourceNotFound");
    expect(byId["4"].status).toBe(424);
    // Answered out of order, as Graph may: pairing by position would give request 1 the answer of another.
    expect(body.responses.map((r: any) => r.id)).not.toEqual(["1", "2", "3", "4"]);
  });

  it("refuses an item without a method or url", async () => {
    const res = await t.call(`${t.emu.graphUrl}/v1.0/$batch`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ requests: [{ id: "1", method: "GET", url: "/users?$top=1" }, { id: "2", url: "/users?$top=1" }] }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code: "BadRequest", message: "Invalid batch payload format." });
  });

  it("refuses more than 20 requests", async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: "GET", url: "/users?$top=1" }));
    const res = await t.call(`${t.emu.graphUrl}/v1.0/$batch`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ requests }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe("BadRequest");
  });
});
