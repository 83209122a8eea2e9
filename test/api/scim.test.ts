import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { expectError, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser, userHistory } from "../../src/core/users.ts";
import { activityPage } from "../../src/core/change-log.ts";
import { describeActor } from "../../src/domain/actor.ts";
import { loadConfig } from "../../src/config.ts";

/**
 * SCIM 2.0 as Entra ID's provisioning service speaks it, over real HTTP: the request sequence of Microsoft's
 * validator (the "Develop and plan provisioning for a SCIM endpoint" tutorial's examples), then what its "Known
 * issues … SCIM 2.0 protocol compliance" page says it sends besides (capitalised ops, "False", PATCH without a path).
 */
const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

type Scim = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any; type: string | null; headers: Headers }>;

function scimClient(base: string, token: string | null): Scim {
  return async (method, path, body) => {
    const response = await fetch(`${base}/scim/v2${path}`, {
      method,
      headers: { ...(token !== null && { authorization: `Bearer ${token}` }), ...(body !== undefined && { "content-type": "application/scim+json; charset=utf-8" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, type: response.headers.get("content-type"), headers: response.headers };
  };
}

const validatorUser = (suffix: string) => ({
  schemas: [userSchema, enterprise],
  externalId: `ext-${suffix}`,
  userName: `Test_User_${suffix}`,
  active: true,
  emails: [{ primary: true, type: "work", value: `Test_User_${suffix}@testuser.com` }],
  meta: { resourceType: "User" },
  name: { formatted: "givenName familyName", familyName: "familyName", givenName: "givenName" },
  roles: [],
});

describe.each(engines)("SCIM provisioning from Entra ID (%s)", (engine) => {
  let api: TestApi;
  let base: string;
  let admin: Caller & { token: string };
  let scim: Scim;
  let scimToken: string;
  let otherScim: Scim;
  let tenantUrl: string;

  beforeAll(async () => {
    api = await testApi(engine);
    await api.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await createWorkspace(api.store.db, { name: "north", defaultCountry: "DE" });
    admin = await tokenCaller(api, "north", "admin");
    const created = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Entra push", onRemove: "disable" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.token).toMatch(/^rcscim_/);
    tenantUrl = created.body.tenantUrl;
    scimToken = created.body.token;
    scim = scimClient(base, scimToken);
    const other = await tokenCaller(api, "south", "admin");
    const south = await other("POST", "workspaces/south/sources", { type: "scim", name: "South push" });
    otherScim = scimClient(base, south.body.token);
  });
  afterAll(async () => api?.close());

  it("answers the validator's user requests: create, get, filter, duplicate 409, PATCH with capitalised ops, disable, delete", async () => {
    expect(tenantUrl).toMatch(/\/scim\/v2$/);
    const created = await scim("POST", "/Users", validatorUser("ab64"));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.type).toMatch(/^application\/scim\+json/);
    expect(created.body).toMatchObject({ userName: "Test_User_ab64", active: true, externalId: "ext-ab64", name: { givenName: "givenName", familyName: "familyName" }, emails: [{ value: "Test_User_ab64@testuser.com", type: "work", primary: true }] });
    const id = created.body.id as string;

    expect((await scim("GET", `/Users/${id}`)).body).toMatchObject({ id, userName: "Test_User_ab64", meta: { resourceType: "User" } });
    const found = await scim("GET", `/Users?filter=${encodeURIComponent('userName eq "Test_User_ab64"')}`);
    expect(found.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 1, startIndex: 1, Resources: [{ id }] });
    expect((await scim("GET", `/Users?filter=${encodeURIComponent('userName eq "non-existent user"')}`)).body).toMatchObject({ totalResults: 0, Resources: [] });
    expect((await scim("GET", `/Users?filter=${encodeURIComponent('externalId eq "ext-ab64"')}`)).body.totalResults).toBe(1);

    const duplicate = await scim("POST", "/Users", validatorUser("ab64"));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ schemas: [errorSchema], status: "409", scimType: "uniqueness", detail: expect.stringContaining("Test_User_ab64") });

    const patched = await scim("PATCH", `/Users/${id}`, {
      schemas: [patchOp],
      Operations: [
        { op: "Replace", path: 'emails[type eq "work"].value', value: "updated.email@testuser.com" },
        { op: "Replace", path: "name.familyName", value: "updatedFamilyName" },
        { op: "Add", path: 'phoneNumbers[type eq "mobile"].value', value: "0151 23456789" },
        { op: "Replace", path: `${enterprise}:department`, value: "Research" },
        { op: "replace", path: `${enterprise}:employeeNumber`, value: "E-42" },
      ],
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ emails: [{ value: "updated.email@testuser.com" }], name: { familyName: "updatedFamilyName" }, phoneNumbers: [{ value: "+4915123456789", type: "mobile" }], [enterprise]: { department: "Research", employeeNumber: "E-42" } });
    const user = await getUser({ db: api.store.db, workspace: await workspace("north") }, id);
    expect(user).toMatchObject({ email: "updated.email@testuser.com", surname: "updatedFamilyName", mobilePhone: "+4915123456789", department: "Research", employeeId: "E-42", tags: ["ID synced"], source: { type: "scim", name: "Entra push", externalId: "ext-ab64" } });

    // Single-valued: userName, now an address (Entra's default maps userPrincipalName to it).
    const renamed = await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "userName", value: "pat.upn@testuser.com" }] });
    expect(renamed.body.userName).toBe("pat.upn@testuser.com");

    // Entra ID's "active": "False" string, in an operation without a path.
    const disabled = await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", value: { active: "False", "name.givenName": "Pat" } }] });
    expect(disabled.body).toMatchObject({ active: false, name: { givenName: "Pat" } });
    const enabled = await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "active", value: "True" }] });
    expect(enabled.body.active).toBe(true);
    expect((await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "active", value: false }] })).body.active).toBe(false);

    expect((await scim("DELETE", `/Users/${id}`)).status).toBe(204);
    expect((await scim("GET", `/Users/${id}`)).status).toBe(404);
    // on-remove disable: the person stays, disabled, managed here and kept from the source.
    const kept = await getUser({ db: api.store.db, workspace: await workspace("north") }, id);
    expect(kept).toMatchObject({ enabled: false, tags: ["Manual"], source: { type: "manual", name: "Entra push", externalId: "ext-ab64" } });
  });

  it("answers the validator's group requests: create, excludedAttributes=members, filter by displayName, rename, members add and remove, delete", async () => {
    const member = (await scim("POST", "/Users", validatorUser("m1"))).body.id as string;
    const second = (await scim("POST", "/Users", validatorUser("m2"))).body.id as string;
    const created = await scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], externalId: "grp-1", displayName: "Pilots", meta: { resourceType: "Group" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ displayName: "Pilots", externalId: "grp-1" });

    const shown = await scim("GET", `/Groups/${id}?excludedAttributes=members`);
    expect(shown.body).toMatchObject({ id, displayName: "Pilots" });
    expect(shown.body.members).toBeUndefined();
    const filtered = await scim("GET", `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Pilots"')}`);
    expect(filtered.body).toMatchObject({ totalResults: 1, Resources: [{ id, displayName: "Pilots" }] });

    expect((await scim("PATCH", `/Groups/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "displayName", value: "Pilots updated" }] })).status).toBe(204);
    expect((await scim("PATCH", `/Groups/${id}`, { schemas: [patchOp], Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: member }, { value: second }] }] })).status).toBe(204);
    expect((await scim("GET", `/Groups/${id}`)).body.members.map((m: { value: string }) => m.value).sort()).toEqual([member, second].sort());
    expect((await scim("PATCH", `/Groups/${id}`, { schemas: [patchOp], Operations: [{ op: "Remove", path: "members", value: [{ $ref: null, value: member }] }] })).status).toBe(204);
    expect((await scim("PATCH", `/Groups/${id}`, { schemas: [patchOp], Operations: [{ op: "remove", path: `members[value eq "${second}"]` }] })).status).toBe(204);
    expect((await scim("GET", `/Groups/${id}`)).body).toMatchObject({ displayName: "Pilots updated", members: [] });

    const history = await userHistory({ db: api.store.db, workspace: await workspace("north") }, member, { limit: 10 });
    expect(history.changes.map((c) => c.action)).toEqual(["remove from group Pilots updated", "add to group Pilots updated", "create"]);
    expect(describeActor(history.changes[0]!.actor)).toBe("SCIM (Entra push)");

    expect((await scim("DELETE", `/Groups/${id}`)).status).toBe(204);
    expect((await scim("GET", `/Groups/${id}`)).status).toBe(404);
  });

  it("refuses a member of another source, a bad body and a bad filter with SCIM 400s naming the attribute", async () => {
    const { id: manual } = await createUser({ db: api.store.db, workspace: await workspace("north"), actor: "test" }, { email: "hand@north.example", displayName: "By Hand" });
    const group = await scim("POST", "/Groups", { displayName: "Mixed", members: [{ value: manual }] });
    expect(group.status).toBe(400);
    expect(group.body).toMatchObject({ status: "400", scimType: "invalidValue", detail: expect.stringContaining(`members[0].value: "${manual}" is not a user or group provisioned by source "Entra push"`) });

    const badActive = await scim("POST", "/Users", { ...validatorUser("bad"), active: "maybe" });
    expect(badActive.status).toBe(400);
    expect(badActive.body.detail).toContain('active: must be true or false, not "maybe"');
    const noUserName = await scim("POST", "/Users", { emails: [{ value: "x@north.example" }] });
    expect(noUserName.body.detail).toContain("userName: is required");
    const badEmail = await scim("POST", "/Users", { ...validatorUser("bademail"), emails: [{ type: "work", value: "not-an-address" }] });
    expect(badEmail.body.detail).toContain('emails[type eq "work"].value: "not-an-address" is not a valid email address');
    const badFilter = await scim("GET", `/Users?filter=${encodeURIComponent('title co "x"')}`);
    expect(badFilter.body).toMatchObject({ status: "400", scimType: "invalidFilter" });
    const badOp = await scim("PATCH", `/Users/${(await scim("POST", "/Users", validatorUser("op"))).body.id}`, { Operations: [{ op: "Move", path: "active", value: true }] });
    expect(badOp.body).toMatchObject({ status: "400", detail: expect.stringContaining("Operations[0].op") });

    // A body that is no JSON, or no resource, is invalidSyntax (RFC 7644 3.12); another media type a 415, in SCIM's terms.
    const raw = async (body: string, type = "application/scim+json") => {
      const response = await fetch(`${base}/scim/v2/Users`, { method: "POST", headers: { authorization: `Bearer ${scimToken}`, "content-type": type }, body });
      return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
    };
    expect(await raw("{not json")).toEqual({ status: 400, type: expect.stringMatching(/^application\/scim\+json/), body: { schemas: [errorSchema], status: "400", scimType: "invalidSyntax", detail: expect.stringContaining("not valid JSON") } });
    expect((await raw("[1, 2]")).body).toMatchObject({ scimType: "invalidSyntax", detail: expect.stringContaining("must be a SCIM User resource, a JSON object") });
    expect(await raw("<user/>", "application/xml")).toEqual({ status: 415, type: expect.stringMatching(/^application\/scim\+json/), body: { schemas: [errorSchema], status: "415", detail: "Send the request body as application/scim+json (or application/json)" } });
    expect((await scim("PUT", `/Groups/${(await scim("POST", "/Groups", { displayName: "Syntax" })).body.id}`, "Syntax")).body).toMatchObject({ status: "400", scimType: "invalidSyntax" });
  });

  it("drops a phone number it cannot read with a warning in the user's history", async () => {
    const created = await scim("POST", "/Users", { ...validatorUser("phone"), phoneNumbers: [{ type: "mobile", value: "call me" }, { type: "work", value: "030 1234567" }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.phoneNumbers).toEqual([{ value: "+49301234567", type: "work" }]);
    const history = await userHistory({ db: api.store.db, workspace: await workspace("north") }, created.body.id, { limit: 10 });
    expect(history.changes.map((c) => c.action)).toEqual(["warning", "create"]);
    expect(JSON.stringify(history.changes[0]!.after)).toContain('phoneNumbers[type eq \\"mobile\\"].value');
  });

  it("answers several business phones with one type each (work, then other), and Entra's replace of the work one changes that one only", async () => {
    const created = await scim("POST", "/Users", { ...validatorUser("phones"), phoneNumbers: [{ type: "other", value: "040 1234567" }, { type: "work", value: "030 1234567" }, { type: "mobile", value: "0151 23456789" }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.phoneNumbers).toEqual([{ value: "+4915123456789", type: "mobile" }, { value: "+49301234567", type: "work" }, { value: "+49401234567", type: "other" }]);
    const id = created.body.id as string;
    const patch = (operation: Record<string, unknown>) => scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [operation] });
    const replaced = await patch({ op: "Replace", path: 'phoneNumbers[type eq "work"].value', value: "030 7654321" });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body.phoneNumbers).toEqual([{ value: "+4915123456789", type: "mobile" }, { value: "+49307654321", type: "work" }, { value: "+49401234567", type: "other" }]);
    // Entra ID's form without a path: the same, and the same phones.
    const again = await patch({ op: "Replace", value: { 'phoneNumbers[type eq "work"].value': "030 1111111" } });
    expect(again.body.phoneNumbers.map((p: { type: string }) => p.type)).toEqual(["mobile", "work", "other"]);
    expect((await getUser({ db: api.store.db, workspace: await workspace("north") }, id)).businessPhones).toEqual(["+49301111111", "+49401234567"]);
  });

  it("links a user added by hand with the same email, and refuses one of another source with a 409", async () => {
    const ws = await workspace("north");
    const hand = await createUser({ db: api.store.db, workspace: ws, actor: "test" }, { email: "lee@north.example", displayName: "Lee", tags: ["Desk 4"] });
    const linked = await scim("POST", "/Users", { userName: "lee@north.example", emails: [{ type: "work", value: "lee@north.example" }], displayName: "Lee Park", externalId: "ext-lee" });
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);
    expect(linked.body.id).toBe(hand.id);
    expect(await getUser({ db: api.store.db, workspace: ws }, hand.id)).toMatchObject({ displayName: "Lee Park", tags: ["ID synced", "Desk 4"], source: { type: "scim", name: "Entra push", externalId: "ext-lee" } });
    expect((await userHistory({ db: api.store.db, workspace: ws }, hand.id, { limit: 5 })).changes.map((c) => c.action)).toEqual(["link", "create"]);

    await createUser({ db: api.store.db, workspace: ws, actor: "test" }, { email: "sam@north.example", displayName: "Sam" }, { type: "entra", name: "corp", id: null, externalId: "entra-sam" });
    const clash = await scim("POST", "/Users", { userName: "sam@north.example", displayName: "Sam" });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ scimType: "uniqueness", detail: expect.stringContaining('Entra ID source "corp"') });
    expect((await getUser({ db: api.store.db, workspace: ws }, "sam@north.example")).source.type).toBe("entra");
  });

  it("keeps workspaces apart: a token reaches only its own source's users and groups; no token or a bad one is a 401", async () => {
    const north = (await scim("POST", "/Users", validatorUser("iso"))).body.id as string;
    const group = (await scim("POST", "/Groups", { displayName: "North only" })).body.id as string;
    for (const [method, path] of [["GET", `/Users/${north}`], ["PATCH", `/Users/${north}`], ["PUT", `/Users/${north}`], ["DELETE", `/Users/${north}`], ["GET", `/Groups/${group}`], ["PATCH", `/Groups/${group}`], ["PUT", `/Groups/${group}`], ["DELETE", `/Groups/${group}`]] as const) {
      const body = method === "PATCH" ? { Operations: [{ op: "replace", path: "displayName", value: "Stolen" }] } : method === "PUT" ? { userName: "x@south.example", displayName: "Stolen" } : undefined;
      expect((await otherScim(method, path, body)).status, `${method} ${path}`).toBe(404);
    }
    expect((await otherScim("GET", `/Users?filter=${encodeURIComponent('userName eq "Test_User_iso"')}`)).body.totalResults).toBe(0);
    expect((await otherScim("GET", "/Groups")).body.totalResults).toBe(0);
    expect((await scim("GET", `/Users/${north}`)).status).toBe(200);

    for (const client of [scimClient(base, null), scimClient(base, "rcscim_not-a-token"), scimClient(base, admin.token)]) {
      const refused = await client("GET", "/Users");
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ schemas: [errorSchema], status: "401" });
    }
  });

  it("pages with startIndex and count, and lists the discovery endpoints", async () => {
    const all = await scim("GET", "/Users?count=200");
    const page = await scim("GET", "/Users?startIndex=2&count=2");
    expect(page.body).toMatchObject({ totalResults: all.body.totalResults, startIndex: 2, itemsPerPage: 2 });
    expect(page.body.Resources.map((r: { id: string }) => r.id)).toEqual(all.body.Resources.slice(1, 3).map((r: { id: string }) => r.id));
    expect((await scim("GET", "/ServiceProviderConfig")).body).toMatchObject({ patch: { supported: true }, filter: { supported: true } });
    expect((await scim("GET", "/ResourceTypes")).body.Resources.map((r: { id: string }) => r.id)).toEqual(["User", "Group"]);
    expect((await scim("GET", "/Schemas")).body.totalResults).toBe(3);
  });

  it("answers POST /Bulk, which ServiceProviderConfig says it does not support, with a SCIM 501 (RFC 7644 3.12), not a 404", async () => {
    expect((await scim("GET", "/ServiceProviderConfig")).body.bulk).toEqual({ supported: false, maxOperations: 0, maxPayloadSize: 0 });
    const bulk = await scim("POST", "/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [{ method: "POST", path: "/Users", bulkId: "q1", data: validatorUser("bulk") }] });
    expect([bulk.status, bulk.type]).toEqual([501, expect.stringMatching(/^application\/scim\+json/)]);
    expect(bulk.body).toEqual({ schemas: [errorSchema], status: "501", detail: expect.stringContaining("does not support SCIM bulk operations") });
    expect((await scim("GET", "/Users?filter=userName eq \"Test_User_bulk\"")).body.totalResults).toBe(0);
    expect((await scimClient(base, null)("POST", "/Bulk", {})).status).toBe(401);
  });

  it("shows the source with its counts and last request, issues a new token that revokes the old, and records it all in the activity", async () => {
    const shown = await admin("GET", "workspaces/north/sources/Entra push");
    expect(shown.status, JSON.stringify(shown.body)).toBe(200);
    expect(shown.body).toMatchObject({ type: "scim", config: { onRemove: "disable" }, status: { users: expect.any(Number), lastRequestAt: expect.any(String) } });
    expect(shown.body.status.users).toBeGreaterThan(0);
    expect(shown.body.token).toBeUndefined();
    const listed = await admin("GET", "workspaces/north/sources");
    expect(listed.body.scimSources.map((s: { name: string }) => s.name)).toEqual(["Entra push"]);

    const renewed = await admin("PATCH", "workspaces/north/sources/Entra push", { newScimToken: true });
    expect(renewed.body.token).toMatch(/^rcscim_/);
    expect((await scim("GET", "/Users")).status).toBe(401);
    scimToken = renewed.body.token;
    scim = scimClient(base, scimToken);
    expect((await scim("GET", "/Users")).status).toBe(200);

    const activity = await activityPage(api.store.db, (await workspace("north")).id, { actor: "scim:Entra push" }, { limit: 500 });
    expect(activity.items.map((c) => c.action)).toEqual(expect.arrayContaining(["create", "update", "disable", "link", "create group", "delete group", "warning"]));
  });

  it("keeps every change of PATCHes to one group or one user sent at the same time (none written over a stale read)", async () => {
    const users = await Promise.all(Array.from({ length: 12 }, async (_, n) => (await scim("POST", "/Users", validatorUser(`par${n}`))).body.id as string));
    const group = (await scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Parallel", externalId: "par-group" })).body.id as string;
    const adds = await Promise.all(users.map((id) => scim("PATCH", `/Groups/${group}`, { schemas: [patchOp], Operations: [{ op: "Add", path: "members", value: [{ value: id }] }] })));
    expect(adds.map((a) => a.status).filter((status) => status >= 300)).toEqual([]);
    const members = (await scim("GET", `/Groups/${group}`)).body.members.map((m: { value: string }) => m.value);
    expect(members.sort()).toEqual([...users].sort());

    const [first] = users;
    const patches = await Promise.all([
      scim("PATCH", `/Users/${first}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "title", value: "Pilot" }] }),
      scim("PATCH", `/Users/${first}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "name.givenName", value: "Ada" }] }),
      scim("PATCH", `/Users/${first}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: `${enterprise}:department`, value: "Flight" }] }),
    ]);
    expect(patches.map((p) => p.status)).toEqual([200, 200, 200]);
    expect((await scim("GET", `/Users/${first}`)).body).toMatchObject({ title: "Pilot", name: { givenName: "Ada" }, [enterprise]: { department: "Flight" } });
  });

  it("replaces a user with PUT (what it leaves out is cleared), and deletes one when the source's on-remove says delete", async () => {
    const created = (await scim("POST", "/Users", { ...validatorUser("put"), title: "Pilot", [enterprise]: { department: "Flight" } })).body;
    const replaced = await scim("PUT", `/Users/${created.id}`, { schemas: [userSchema], userName: "put.upn@testuser.com", displayName: "Put Person", emails: [{ type: "work", value: "put@testuser.com" }], active: "false" });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(200);
    expect(replaced.body).toMatchObject({ userName: "put.upn@testuser.com", displayName: "Put Person", active: false, externalId: "ext-put" });
    expect(replaced.body.title).toBeUndefined();
    expect(replaced.body[enterprise]).toBeUndefined();

    const changed = await admin("PATCH", "workspaces/north/sources/Entra push", { onRemove: "delete" });
    expect(changed.body.config.onRemove).toBe("delete");
    expect((await scim("DELETE", `/Users/${created.id}`)).status).toBe(204);
    const history = await userHistory({ db: api.store.db, workspace: await workspace("north") }, created.id, { limit: 5 });
    expect(history.user).toBeNull();
    expect(history.changes[0]).toMatchObject({ action: "delete", actor: "scim:Entra push" });
    await admin("PATCH", "workspaces/north/sources/Entra push", { onRemove: "disable" });
  });

  it("renames a SCIM source: its users and groups show the new name, history made before keeps the old one, what its token does next is by the new", async () => {
    const added = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Old push" });
    const client = scimClient(base, added.body.token);
    const user = (await client("POST", "/Users", validatorUser("ren1"))).body;
    const group = (await client("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Renamers", externalId: "ren-group", members: [{ value: user.id }] })).body;

    const read = await admin("GET", "workspaces/north/sources/Old push");
    const taken = await admin("PATCH", "workspaces/north/sources/Old push", { name: "entra PUSH" });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: "conflict", details: { field: "name" } });
    expectError(await admin("PATCH", "workspaces/north/sources/Old push", { name: "import" }), 400, "invalid_input", ["name"]);
    const renamed = await admin("PATCH", "workspaces/north/sources/Old push", { name: "New push", onRemove: "keep" }, { "if-match": read.headers.etag as string });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ name: "New push", config: { onRemove: "keep" }, status: { users: 1, groups: 1 } });
    expect((await admin("PATCH", "workspaces/north/sources/New push", { onRemove: "delete" }, { "if-match": read.headers.etag as string })).status).toBe(412);
    expect((await admin("GET", "workspaces/north/sources/Old push")).status).toBe(404);
    expect((await admin("GET", `workspaces/north/users?source=${encodeURIComponent("New push")}`)).body.items.map((u: { id: string }) => u.id)).toEqual([user.id]);
    expect((await admin("GET", `workspaces/north/groups?source=${encodeURIComponent("New push")}`)).body.items.map((g: { id: string }) => g.id)).toEqual([group.id]);

    // The same token, now acting as the renamed source.
    expect((await client("PATCH", `/Users/${user.id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "title", value: "Renamed" }] })).status).toBe(200);
    const second = (await client("POST", "/Users", validatorUser("ren2"))).body;
    expect(await getUser({ db: api.store.db, workspace: await workspace("north") }, second.id)).toMatchObject({ source: { type: "scim", name: "New push" } });
    const history = await userHistory({ db: api.store.db, workspace: await workspace("north") }, user.id, { limit: 10 });
    expect(history.changes.map((c) => [c.action, describeActor(c.actor)])).toEqual([["update", "SCIM (New push)"], ["add to group Renamers", "SCIM (Old push)"], ["create", "SCIM (Old push)"]]);
    const activity = await activityPage(api.store.db, (await workspace("north")).id, { action: "update source" }, { limit: 5 });
    expect(activity.items[0]).toMatchObject({ subject: "New push", actor: expect.stringMatching(/^token:admin token/), before: { name: "Old push", config: { onRemove: "disable" } }, after: { name: "New push", config: { onRemove: "keep" } } });

    // Users provisioned while it is renamed again all take the name it ends with: none keeps the one it was called by.
    const [again, ...created] = await Promise.all([
      admin("PATCH", "workspaces/north/sources/New push", { name: "Newer push" }),
      ...Array.from({ length: 8 }, (_, n) => client("POST", "/Users", validatorUser(`race${n}`))),
    ]);
    expect([again!.status, ...created.map((c) => c.status)]).toEqual([200, ...created.map(() => 201)]);
    const listed = await admin("GET", `workspaces/north/users?sourceType=scim&limit=100&q=race`);
    expect(listed.body.items.map((u: { source: { name: string } }) => u.source.name)).toEqual(created.map(() => "Newer push"));
    await admin("DELETE", "workspaces/north/sources/Newer push?users=delete");
  });

  it("removes a SCIM source: its users stay, disabled and managed here, and its token stops working", async () => {
    const added = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Temp push", country: "gb" });
    expect(added.body.config).toEqual({ onRemove: "disable", country: "GB", signIn: false, tenantId: null, clientId: null, cloud: "global", loginUrl: null, secretExpiresOn: null, credential: "secret" });
    const temp = scimClient(base, added.body.token);
    const user = (await temp("POST", "/Users", { userName: "temp@north.example", displayName: "Temp", phoneNumbers: [{ type: "mobile", value: "07911 123456" }] })).body;
    expect(user.phoneNumbers).toEqual([{ value: "+447911123456", type: "mobile" }]);
    const removed = await admin("DELETE", "workspaces/north/sources/Temp push?users=disable");
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.removal).toMatchObject({ users: "disable", usersAffected: 1 });
    expect(await getUser({ db: api.store.db, workspace: await workspace("north") }, user.id)).toMatchObject({ enabled: false, source: { type: "manual", name: "Temp push" } });
    expect((await temp("GET", "/Users")).status).toBe(401);
  });

  it("takes sign-in with Microsoft when a SCIM source is added, checked as an update checks it, nothing added when refused", async () => {
    expectError(await admin("POST", "workspaces/north/sources", { type: "scim", name: "Early push", signIn: true }), 400, "invalid_input", ["tenantId", "clientId", "clientSecret"]);
    expectError(await admin("POST", "workspaces/north/sources", { type: "scim", name: "Early push", tenantId: "common" }), 400, "invalid_input", ["tenantId"]);
    const secretId = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Early push", signIn: true, tenantId: "contoso.onmicrosoft.com", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e", clientSecret: "7c9e6679-7425-40de-944b-e07fc1f90ae7" });
    expect(secretId.body.error.details.fields).toEqual([expect.objectContaining({ field: "clientSecret", message: expect.stringContaining("secret's ID, not the secret") })]);
    expect((await admin("GET", "workspaces/north/sources/Early push")).status).toBe(404);

    const secret = "Q~early.push.secret";
    const added = await admin("POST", "workspaces/north/sources", { type: "scim", name: "Early push", signIn: true, tenantId: "contoso.onmicrosoft.com", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e", clientSecret: secret });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({ config: { signIn: true, tenantId: "contoso.onmicrosoft.com", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e" }, secret: { set: true }, token: expect.stringMatching(/^rcscim_/) });
    expect(JSON.stringify(added.body)).not.toContain(secret);
    const stored = await api.store.db.selectFrom("sources").select(["secret_ciphertext", "config"]).where("name", "=", "Early push").executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext).toBeTruthy();
    expect(stored.secret_ciphertext + JSON.stringify(stored.config)).not.toContain(secret);
    const { items } = await activityPage(api.store.db, (await workspace("north")).id, { action: "add source" }, { limit: 1 });
    expect(items[0]).toMatchObject({ subject: "Early push", after: { secret: "set" } });
    expect(JSON.stringify(items)).not.toContain(secret);
    expect((await admin("DELETE", "workspaces/north/sources/Early push")).status).toBe(200);
  });

  it("names both kinds of sources for a name that is neither's (show, change, remove), and says a SCIM source has nothing to sync", async () => {
    const names = 'in workspace "north"; its Entra ID sources are "hr" and its SCIM sources are ';
    await admin("POST", "workspaces/north/sources", { name: "hr", tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "0f8fad5b-d9cb-469f-a165-70867728950e", clientSecret: "Q~hr.secret.value" }).then((r) => expect(r.status, JSON.stringify(r.body)).toBe(201));
    for (const [method, path] of [["GET", "Entra psuh"], ["PATCH", "Entra psuh"], ["DELETE", "Entra psuh"]] as const) {
      const missing = await admin(method, `workspaces/north/sources/${path}`, method === "PATCH" ? { country: "DE" } : undefined);
      expectError(missing, 404, "not_found");
      expect(missing.body.error.message, method).toContain(`no source is named "Entra psuh" ${names}`);
      expect(missing.body.error.message, method).toContain('"Entra push"');
    }
    const sync = await admin("POST", "workspaces/north/sources/entra PUSH/sync", {});
    expectError(sync, 404, "not_found");
    expect(sync.body.error.message).toBe(`"Entra push" is a SCIM source: Entra ID's provisioning service pushes it; there is nothing to sync`);
    const typo = await admin("POST", "workspaces/north/sources/hrr/sync", {});
    expect(typo.body.error.message).toBe('no Entra ID source is named "hrr" in workspace "north"; its Entra ID sources are "hr"');
    expect((await admin("DELETE", "workspaces/north/sources/hr")).status).toBe(200);
  });

  it("answers the tutorial's requests as documented: its create body with nulls, Location, 404 bodies, filters joined by and", async () => {
    // "Example 2. Provision a user" of the SCIM endpoint tutorial, as printed (nulls, and its schema URN without a colon).
    const created = await scim("POST", "/Users", {
      schemas: [userSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"], externalId: "jyoung", userName: "jyoung@testuser.com", active: true, addresses: null,
      displayName: "Joy Young", emails: [{ type: "work", value: "jyoung@Contoso.com", primary: true }], meta: { resourceType: "User" }, name: { familyName: "Young", givenName: "Joy" },
      phoneNumbers: null, preferredLanguage: null, title: null, department: null, manager: null,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.headers.get("location")).toBe(created.body.meta.location);
    expect(created.body.meta.location).toBe(`${base}/scim/v2/Users/${created.body.id}`);
    const id = created.body.id as string;

    // Unknown ids: 404 with SCIM's Error body, whatever the id looks like.
    for (const path of ["/Users/5171a35d82074e068ce2", "/Users/00000000-0000-4000-8000-000000000000", "/Groups/00000000-0000-4000-8000-000000000000"]) {
      const missing = await scim("GET", path);
      expect([missing.status, missing.type], path).toEqual([404, expect.stringMatching(/^application\/scim\+json/)]);
      expect(missing.body).toEqual({ schemas: [errorSchema], status: "404", detail: expect.stringContaining("not found") });
    }
    expect((await scim("PATCH", "/Users/00000000-0000-4000-8000-000000000000", { Operations: [{ op: "Replace", path: "active", value: "False" }] })).status).toBe(404);
    expect((await scim("DELETE", "/Groups/00000000-0000-4000-8000-000000000000")).status).toBe(404);

    const total = async (resource: string, filter: string) => {
      const answer = await scim("GET", `/${resource}?filter=${filter}`);
      expect(answer.status, `${filter}: ${JSON.stringify(answer.body)}`).toBe(200);
      return answer.body.totalResults as number;
    };
    const q = encodeURIComponent;
    // The validator's query string (spaces as +), the work email (a uniqueness attribute must be filterable), the
    // sample code's bare mailNickname, and an older job's manager check (by the manager's id: no such user).
    expect(await total("Users", `userName+eq+"JYOUNG%40testuser.com"`)).toBe(1);
    expect(await total("Users", q('emails[type eq "work"].value eq "jyoung@contoso.com"'))).toBe(1);
    expect(await total("Users", q("externalId eq jyoung"))).toBe(1);
    expect(await total("Users", q(`id eq "${id}" and userName eq "jyoung@testuser.com"`))).toBe(1);
    expect(await total("Users", q(`id eq "${id}" and userName eq "someone.else@testuser.com"`))).toBe(0);
    expect(await total("Users", q(`id eq "${id}" and manager eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`))).toBe(0);
    const or = await scim("GET", `/Users?filter=${q('userName eq "a" or userName eq "b"')}`);
    expect(or.body).toMatchObject({ schemas: [errorSchema], status: "400", scimType: "invalidFilter" });

    // The manager Entra ID sends (both forms of the tutorial), here the user themselves: accepted, and left out (scim-managers.test.ts).
    const manager = await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [
      { op: "Add", path: "manager", value: [{ $ref: `${base}/scim/v2/Users/${id}`, value: id }] },
      { op: "Replace", path: `${enterprise}:manager`, value: id },
    ] });
    expect(manager.status, JSON.stringify(manager.body)).toBe(200);
    expect(manager.body[enterprise]?.manager).toBeUndefined();

    // A group as Entra ID creates it (with its ADSCIM schema), looked up by a member as the group lifecycle does.
    const group = await scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"], externalId: "8aa1a0c0", displayName: "Tutorial group", meta: { resourceType: "Group" } });
    expect([group.status, group.headers.get("location")]).toEqual([201, `${base}/scim/v2/Groups/${group.body.id}`]);
    expect(group.body.members).toEqual([]);
    expect((await scim("PATCH", `/Groups/${group.body.id}`, { schemas: [patchOp], Operations: [{ op: "Add", path: "members", value: [{ $ref: null, value: id }] }] })).status).toBe(204);
    expect(await total("Groups", q(`id eq "${group.body.id}" and members eq "${id}"`))).toBe(1);
    expect(await total("Groups", q(`members.value eq "${id}"`))).toBe(1);
    expect(await total("Groups", q(`id eq "${group.body.id}" and members eq "00000000-0000-4000-8000-000000000000"`))).toBe(0);

    // Disabled, the user stays in its groups: Entra ID does not add them back when it enables them again.
    expect((await scim("PATCH", `/Users/${id}`, { schemas: [patchOp], Operations: [{ op: "Replace", path: "active", value: "False" }] })).body.active).toBe(false);
    expect((await scim("GET", `/Groups/${group.body.id}`)).body.members).toEqual([{ value: id, display: "Joy Young", type: "User" }]);
    expect((await scim("GET", `/Users/${id}`)).body.active).toBe(false);
  });

  it("serves each schema and resource type at its meta.location", async () => {
    const schemas = (await scim("GET", "/Schemas")).body.Resources as Array<{ id: string; meta: { location: string } }>;
    for (const listed of [...schemas, ...(await scim("GET", "/ResourceTypes")).body.Resources]) {
      const one = await fetch(listed.meta.location, { headers: { authorization: `Bearer ${scimToken}` } });
      expect([one.status, await one.json()], listed.meta.location).toEqual([200, listed]);
    }
    expect((await scim("GET", `/Schemas/${enterprise.toUpperCase()}`)).body.id).toBe(enterprise);
    const unknown = await scim("GET", "/ResourceTypes/Device");
    expect([unknown.status, unknown.body.detail]).toEqual([404, 'There is no resource type "Device": this server has User, Group']);
  });

  it("takes a burst of a few hundred requests on one token at the default limit, as a provisioning cycle sends", async () => {
    expect(api.rt.config.scimRequestsPerMinute).toBe(3000);
    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      statuses.push(...(await Promise.all(Array.from({ length: 20 }, (_, n) => scim("GET", `/Users?filter=${encodeURIComponent(`userName eq "burst-${round}-${n}@testuser.com"`)}`)))).map((a) => a.status));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  const workspace = (name: string) => resolveWorkspace(api.store.db, name);
});

describe.each(engines)("SCIM requests a minute per token (%s)", (engine) => {
  let api: TestApi;
  let base: string;
  const tokens: string[] = [];

  beforeAll(async () => {
    api = await testApi(engine, { config: { scimRequestsPerMinute: 5 } });
    await api.app.listen({ host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await createWorkspace(api.store.db, { name: "north" });
    const admin = await tokenCaller(api, "north", "admin");
    for (const name of ["Busy push", "Quiet push"]) tokens.push((await admin("POST", "workspaces/north/sources", { type: "scim", name })).body.token);
  });
  afterAll(async () => api?.close());

  it("refuses a token over its limit with a SCIM 429 and Retry-After, while another source's token and the next minute go on", async () => {
    const [busy, quiet] = tokens.map((token) => scimClient(base, token)) as [Scim, Scim];
    // A guessed token is refused as unknown and counts against no one.
    for (let i = 0; i < 6; i++) expect((await scimClient(base, "rcscim_guessed")("GET", "/Users")).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await busy("GET", "/Users")).status).toBe(200);
    const refused = await busy("POST", "/Users", validatorUser("limited"));
    expect(refused.status).toBe(429);
    expect(refused.type).toMatch(/^application\/scim\+json/);
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(refused.body).toEqual({ schemas: [errorSchema], status: "429", detail: expect.stringContaining('Too many requests with SCIM source "Busy push"\'s token: 5 a minute at most (ROLLCALL_SCIM_REQUESTS_PER_MINUTE)') });
    expect((await busy("GET", `/Users?filter=${encodeURIComponent('userName eq "Test_User_limited"')}`)).status).toBe(429);
    expect((await quiet("GET", "/Users")).status).toBe(200);
    // Counted under a hash: no token in the clear in the database.
    const keys = (await api.store.db.selectFrom("rate_limits").select("key").execute()).map((k) => k.key);
    expect(keys.length).toBe(2);
    expect(keys.some((key) => tokens.some((token) => key.includes(token)) || key.includes("rcscim_"))).toBe(false);

    // Nothing of the refused request was applied; once the minute has passed the token is served again.
    await sql`update rate_limits set resets_at = now() - interval '1 second'`.execute(api.store.db);
    expect((await busy("GET", `/Users?filter=${encodeURIComponent('userName eq "Test_User_limited"')}`)).body.totalResults).toBe(0);
  });
});

describe("ROLLCALL_SCIM_REQUESTS_PER_MINUTE", () => {
  it("defaults to 3000, takes 0 for no limit, and refuses a limit a provisioning cycle would hit", () => {
    expect(loadConfig({}).scimRequestsPerMinute).toBe(3000);
    expect(loadConfig({ ROLLCALL_SCIM_REQUESTS_PER_MINUTE: "0" }).scimRequestsPerMinute).toBe(0);
    expect(loadConfig({ ROLLCALL_SCIM_REQUESTS_PER_MINUTE: "600" }).scimRequestsPerMinute).toBe(600);
    for (const bad of ["100", "1.5", "lots"]) {
      expect(() => loadConfig({ ROLLCALL_SCIM_REQUESTS_PER_MINUTE: bad }), bad).toThrow(/ROLLCALL_SCIM_REQUESTS_PER_MINUTE: must be/);
    }
  });
});
