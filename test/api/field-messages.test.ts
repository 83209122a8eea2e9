import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { caller, expectError, signIn, testApi, type Caller, type TestApi } from "./support.ts";

/**
 * What the API says at a field is what the console shows there: words an admin reads, not zod's type names.
 * And what a filter needs from the server, the server answers: a group by its exact name.
 */
describe.each(engines)("field messages and exact look-ups, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  let userId: string;
  const fieldMessages = (reply: { body: { error: { details: { fields: { field: string; message: string }[] } } } }) =>
    reply.body.error.details.fields.map((f) => `${f.field}: ${f.message}`);

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
    userId = (await as("POST", "workspaces/acme/users", { email: "ada@example.com", displayName: "Ada" })).body.id;
    for (const name of ["Pilots", "Pilots EMEA", "Co-pilots"]) await as("POST", "workspaces/acme/groups", { name });
  });
  afterAll(() => api?.close());

  it("says a user's display name is required, whether it is missing, null or blank, on create and on update", async () => {
    for (const body of [{ email: "b@example.com" }, { email: "b@example.com", displayName: null }, { email: "b@example.com", displayName: "   " }]) {
      const refused = await as("POST", "workspaces/acme/users", body);
      expectError(refused, 400, "invalid_input", ["displayName"]);
      expect(fieldMessages(refused)).toEqual(["displayName: display name is required"]);
    }
    for (const displayName of [null, ""]) {
      const refused = await as("PATCH", `workspaces/acme/users/${userId}`, { displayName });
      expect(fieldMessages(refused)).toEqual(["displayName: display name is required"]);
    }
    // A missing display name does not hide the other fields' problems: each is said at once.
    const several = await as("POST", "workspaces/acme/users", { email: "notanemail", mobilePhone: "abc" });
    expect(fieldMessages(several).map((m) => m.split(":")[0])).toEqual(["displayName", "email", "mobilePhone"]);
    expect(fieldMessages(await as("POST", "workspaces/acme/users", {}))).toEqual(["displayName: display name is required", "email: is required (or give a userPrincipalName)"]);
    // Other problems with it keep their own words.
    const tooLong = await as("PATCH", `workspaces/acme/users/${userId}`, { displayName: "x".repeat(300) });
    expect(fieldMessages(tooLong)).not.toContain("displayName: display name is required");
    expect((await as("GET", `workspaces/acme/users/${userId}`)).body.displayName).toBe("Ada");
  });

  it("words a wrong choice, a missing field and a wrong type as the rest of the API does, not in zod's default words", async () => {
    expect(fieldMessages(await as("POST", "workspaces/acme/tokens", { role: "owner" }))).toEqual(['role: must be one of "admin" or "viewer"']);
    expect(fieldMessages(await as("POST", "workspaces/acme/tokens", { name: 7 }))).toEqual(["name: must be a string"]);
    expect(fieldMessages(await as("POST", "workspaces/acme/groups", {}))).toEqual(["name: is required"]);
    expect(fieldMessages(await as("POST", "workspaces/acme/users", { email: "c@example.com", displayName: "C", tags: "vip" }))).toEqual(["tags: must be a list"]);
  });

  it("asks for a group name when a bulk add to (or remove from) a group names none", async () => {
    for (const action of ["addToGroup", "removeFromGroup"]) {
      for (const group of ["", "  "]) {
        const refused = await as("POST", "workspaces/acme/users/bulk", { action, group, users: [userId] });
        expectError(refused, 400, "invalid_input", ["group"]);
        expect(fieldMessages(refused)).toEqual(["group: enter a group name"]);
      }
    }
    expect((await as("GET", `workspaces/acme/users/${userId}`)).body.groups).toEqual([]);
    // A name with spaces around it is the group's name.
    expect((await as("POST", "workspaces/acme/users/bulk", { action: "addToGroup", group: " pilots ", users: [userId] })).body).toMatchObject({ group: "Pilots", changed: 1 });
  });

  it("finds a group by its exact name in any case, and no group for a part of a name", async () => {
    const names = async (query: string) => (await as("GET", `workspaces/acme/groups?${query}`)).body.items.map((g: { name: string }) => g.name);
    expect(await names("name=pilots")).toEqual(["Pilots"]);
    expect(await names("name=PILOTS%20emea")).toEqual(["Pilots EMEA"]);
    expect(await names("name=pilot")).toEqual([]);
    expect(await names("q=pilot")).toEqual(["Co-pilots", "Pilots", "Pilots EMEA"]);
    const empty = await as("GET", "workspaces/acme/groups?name=");
    expectError(empty, 400, "invalid_input", ["name"]);
    expect(fieldMessages(empty)).toEqual(["name: enter a group name"]);
  });

  it("refuses the NUL character at the field that holds it, in a body, a query or a path, instead of failing in the database", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "nul@example.com", displayName: "A\u0000B", aliases: ["ok", "b\u0000"], customAttributes: { office: "x\u0000" } });
    expectError(created, 400, "invalid_input", ["displayName", "aliases[1]", "customAttributes.office"]);
    expect(fieldMessages(created)[0]).toBe("displayName: must not contain the NUL character (U+0000)");
    expectError(await as("PATCH", `workspaces/acme/users/${userId}`, { jobTitle: "\u0000" }), 400, "invalid_input", ["jobTitle"]);
    for (const url of ["workspaces/acme/users?q=%00", "workspaces/acme/groups?q=a%00", "workspaces/acme/users/%00", "workspaces/acme/users/a%00/changes"]) {
      const refused = await as("GET", url);
      expect(refused.status, `${url}: ${JSON.stringify(refused.body)}`).toBe(400);
      expect(refused.body.error.code).toBe("invalid_input");
    }
    expect((await as("GET", "workspaces/acme/users?q=nul")).body.total).toBe(0);
  });

  it("refuses a body nested deeper than any request, before signing in too, rather than failing on it", async () => {
    const deep = `${"[".repeat(9000)}${"]".repeat(9000)}`;
    for (const [call, url, body] of [[caller(api.app), "auth/login", `{"email":${deep}}`], [as, "workspaces/acme/users", deep]] as const) {
      const refused = await call("POST", url, body, { "content-type": "application/json" });
      expectError(refused, 400, "invalid_input");
      expect(fieldMessages(refused)[0]).toMatch(/: nests deeper than 32 levels, which no request of this API does$/);
    }
  });
});
