import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, expectError, testApi, type Caller, type TestApi } from "./support.ts";
import { shiftGroups } from "../support/shift-groups.ts";

/**
 * "All staff" = {group Night shift, group Day shift, eve}: filtered by it, an admin saw eve alone. nested=true
 * adds the members of its member groups, at any depth, each user once; without it, direct members as before.
 */
describe.each(engines)("the users filter group with nested=true (members of nested groups too), through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const emails = (reply: { body: { items: { email: string }[] } }) => reply.body.items.map((u) => u.email.split("@")[0]).sort();
  const everyone = ["ada", "bob", "cy", "dee", "eve"];

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createWorkspace(api.store.db, { name: "other" });
    as = await accountCaller(api, "owner@example.com", { owner: true });
    for (const name of [...everyone, "fay"]) await as("POST", "workspaces/acme/users", { email: `${name}@example.com`, displayName: name });
    for (const [group, keys] of Object.entries(shiftGroups)) {
      await as("POST", "workspaces/acme/groups", { name: group });
      for (const member of keys) expect((await as("POST", `workspaces/acme/groups/${group}/members`, { member })).status).toBe(200);
    }
    // Another workspace's group of the same name, with a member of its own: never counted in acme.
    await as("POST", "workspaces/other/users", { email: "zed@example.com", displayName: "zed" });
    await as("POST", "workspaces/other/groups", { name: "Night shift" });
    await as("POST", "workspaces/other/groups/Night shift/members", { member: "zed@example.com" });
  });
  afterAll(() => api?.close());

  it("lists direct members by default, and every member of the nested groups with nested=true, each user once", async () => {
    expect(emails(await as("GET", "workspaces/acme/users?group=All staff"))).toEqual(["eve"]);
    expect(emails(await as("GET", "workspaces/acme/users?group=All staff&nested=false"))).toEqual(["eve"]);
    const nested = await as("GET", "workspaces/acme/users?group=all STAFF&nested=true");
    expect(nested.status, JSON.stringify(nested.body)).toBe(200);
    expect(emails(nested)).toEqual(everyone);
    expect(nested.body.total).toBe(5);
    expect(emails(await as("GET", "workspaces/acme/users?group=Night shift&nested=true"))).toEqual(["ada", "bob", "cy"]);
    expect(emails(await as("GET", "workspaces/acme/users?group=Night leads&nested=true"))).toEqual(["cy"]);
    expect(emails(await as("GET", "workspaces/acme/users?group=All staff&nested=true&q=bo"))).toEqual(["bob"]);
  });

  it("pages the nested members by cursor, each once (bob is in two of the groups)", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { body: { items: { email: string }[]; next: string | null } } = await as("GET", `workspaces/acme/users?group=All staff&nested=true&limit=2${after ? `&after=${after}` : ""}`);
      seen.push(...page.body.items.map((u) => u.email.split("@")[0]!));
      after = page.body.next;
    } while (after);
    expect(seen).toEqual(everyone);
  });

  it("exports the nested members, and acts on them in bulk through a filter", async () => {
    const exported = await as("GET", "workspaces/acme/exports?format=csv&group=All staff&nested=true");
    expect(exported.status).toBe(200);
    expect(exported.headers["rollcall-users"]).toBe("5");
    expect(String(exported.body)).not.toContain("fay@example.com");
    expect((await as("GET", "workspaces/acme/exports?format=csv&group=All staff")).headers["rollcall-users"]).toBe("1");

    const disabled = await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { group: "All staff", nested: true } });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ changed: 5, unchanged: 0, more: 0 });
    expect(emails(await as("GET", "workspaces/acme/users?enabled=false"))).toEqual(everyone);
    expect((await as("POST", "workspaces/acme/users/bulk", { action: "enable", filter: { group: "All staff", nested: false } })).body).toMatchObject({ changed: 1 });
    expect((await as("POST", "workspaces/acme/users/bulk", { action: "enable", filter: { group: "All staff", nested: true } })).body).toMatchObject({ changed: 4, unchanged: 1 });
  });

  it("refuses nested without a group (it would match everyone), in the list, the export and a bulk filter, changing nothing", async () => {
    const list = await as("GET", "workspaces/acme/users?nested=true");
    expectError(list, 400, "invalid_input", ["nested"]);
    expect(list.body.error.details.fields[0].message).toBe("nested needs a group: it adds the members of that group's member groups");
    expectError(await as("GET", "workspaces/acme/exports?format=csv&nested=true"), 400, "invalid_input", ["nested"]);
    expectError(await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { nested: true } }), 400, "invalid_input", ["nested"]);
    expect((await as("GET", "workspaces/acme/users?enabled=false")).body.total).toBe(0);
    expectError(await as("GET", "workspaces/acme/users?group=All staff&nested=yes"), 400, "invalid_input", ["nested"]);
    expectError(await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { group: "All staff", nested: "true" } }), 400, "invalid_input", ["filter.nested"]);
    // A misspelt group is still named as such, nested or not.
    expectError(await as("GET", "workspaces/acme/users?group=All stuff&nested=true"), 400, "invalid_input", ["group"]);
  });

  it("ends on groups that hold each other (the API refuses such a loop; written here in the database, as a bug could)", async () => {
    const id = async (name: string) => (await as("GET", `workspaces/acme/groups/${name}`)).body.id as string;
    const loop = { workspace_id: (await as("GET", "workspaces/acme")).body.id as string, group_id: await id("Night leads"), member_group_id: await id("All staff"), member_user_id: null };
    await api.store.db.insertInto("group_members").values(loop).execute();
    try {
      expect(emails(await as("GET", "workspaces/acme/users?group=Night leads&nested=true"))).toEqual(everyone);
      expect(emails(await as("GET", "workspaces/acme/users?group=Night leads"))).toEqual(["cy"]);
    } finally {
      await api.store.db.deleteFrom("group_members").where("group_id", "=", loop.group_id).where("member_group_id", "=", loop.member_group_id).execute();
    }
  });
  it("shows a user's groups through nesting and a group's users at any depth; a group's history has its joining and leaving; its delete is in its members' histories", async () => {
    const cy = await as("GET", "workspaces/acme/users/cy@example.com");
    expect(cy.status).toBe(200);
    expect([cy.body.groups, cy.body.nestedGroups]).toEqual([["Night leads"], [{ name: "All staff", through: ["Night leads"] }, { name: "Night shift", through: ["Night leads"] }]]);
    // Its ETag is the user's, which a PATCH compares: the nesting does not make an edit on it stale.
    const saved = await as("PATCH", "workspaces/acme/users/cy@example.com", { jobTitle: "Lead" }, { "if-match": String(cy.headers.etag) });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).not.toHaveProperty("nestedGroups");

    const all = await as("GET", "workspaces/acme/groups/All staff");
    expect([all.body.memberCount, all.body.nestedUserCount]).toEqual([3, 5]);
    expect((await as("GET", "workspaces/acme/groups?q=All staff")).body.items[0]).not.toHaveProperty("nestedUserCount");

    const joined = await as("POST", "workspaces/acme/groups/Day shift/members", { member: "Night leads" });
    expect([joined.body.memberCount, joined.body.nestedUserCount]).toEqual([3, 3]);
    expect((await as("DELETE", "workspaces/acme/groups/Day shift/members/Night leads")).status).toBe(200);
    const history = await as("GET", "workspaces/acme/groups/Night leads/changes?limit=2");
    expect(history.body.items.map((c: { action: string; subject: string }) => [c.action, c.subject])).toEqual([["remove from group Day shift", "Night leads"], ["add to group Day shift", "Night leads"]]);

    expect((await as("DELETE", "workspaces/acme/groups/Night shift")).status).toBe(200);
    for (const member of ["users/ada@example.com", "groups/Night leads"]) {
      const [latest] = (await as("GET", `workspaces/acme/${member}/changes?limit=1`)).body.items;
      expect([latest.action, latest.after]).toEqual(["remove from group Night shift", { reason: 'group "Night shift" was deleted' }]);
    }
  });

  it("adds a group named like an email by name, and refuses that name as ambiguous once a user holds the email, naming both ids", async () => {
    const group = await as("POST", "workspaces/acme/groups", { name: "desk@example.com" });
    expect((await as("POST", "workspaces/acme/groups/All staff/members", { member: "desk@example.com" })).body.members).toContain("desk@example.com");
    const user = await as("POST", "workspaces/acme/users", { email: "desk@example.com", displayName: "Desk" });
    const refused = await as("POST", "workspaces/acme/groups/Day shift/members", { member: "desk@example.com" });
    expectError(refused, 400, "invalid_input", ["member"]);
    expect(refused.body.error.details.fields[0].message).toBe(`names both the user desk@example.com (id ${user.body.id}) and the group "desk@example.com" (id ${group.body.id}); give the id of the one you mean`);
    expectError(await as("DELETE", "workspaces/acme/groups/All staff/members/desk@example.com"), 400, "invalid_input", ["member"]);
    expect((await as("POST", "workspaces/acme/groups/Day shift/members", { member: user.body.id })).body.added).toBe(true);
    expect((await as("DELETE", `workspaces/acme/groups/All staff/members/${group.body.id}`)).status).toBe(200);
  });
});
