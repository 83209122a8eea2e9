import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, expectError, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("the users list's department filter, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const emails = (reply: { body: { items: { email: string }[] } }) => reply.body.items.map((u) => u.email).sort();

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createWorkspace(api.store.db, { name: "other" });
    as = await accountCaller(api, "owner@example.com", { owner: true });
    const people: [string, string | null][] = [["ada", "Finance"], ["bob", "finance"], ["cy", "Engineering"], ["dee", "Études"], ["eve", null], ["fay", ""]];
    for (const [name, department] of people) {
      const reply = await as("POST", "workspaces/acme/users", { email: `${name}@example.com`, displayName: name, ...(department !== null && { department }) });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    }
    await as("POST", "workspaces/other/users", { email: "zed@example.com", displayName: "zed", department: "Legal" });
  });
  afterAll(() => api?.close());

  it("lists the users of one department, matched whole and in any case, with the other filters", async () => {
    expect(emails(await as("GET", "workspaces/acme/users?department=FINANCE"))).toEqual(["ada@example.com", "bob@example.com"]);
    expect((await as("GET", "workspaces/acme/users?department=finance")).body.total).toBe(2);
    expect(emails(await as("GET", "workspaces/acme/users?department=Finance&q=bob"))).toEqual(["bob@example.com"]);
    // A department that is only part of a name is not that department.
    expectError(await as("GET", "workspaces/acme/users?department=Fin"), 400, "invalid_input", ["department"]);
  });

  it("refuses a department no user of the workspace has, naming those it has (and not another workspace's)", async () => {
    for (const department of ["Accounts", "Legal"]) {
      const reply = await as("GET", `workspaces/acme/users?department=${department}`);
      expectError(reply, 400, "invalid_input", ["department"]);
      expect(reply.body.error.details.fields[0].message).toBe(`no department is named "${department}" in workspace "acme"; its departments are "Engineering", "Études", "Finance"`);
    }
    const empty = await as("GET", "workspaces/other/users?department=Finance");
    expect(empty.body.error.details.fields[0].message).toBe(`no department is named "Finance" in workspace "other"; its departments are "Legal"`);
  });

  it("lists the departments alphabetically with how many users each, one per name whatever its case, and counts users without one", async () => {
    const reply = await as("GET", "workspaces/acme/users/departments");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.withoutDepartment).toBe(2);
    expect(reply.body.items.map((d: { department: string; users: number }) => [d.department.toLowerCase(), d.users])).toEqual([["engineering", 1], ["études", 1], ["finance", 2]]);
    expect((await as("GET", "workspaces/other/users/departments")).body).toEqual({ items: [{ department: "Legal", users: 1 }], withoutDepartment: 0 });
  });

  it("lists the users without a department (hasDepartment=false), none or empty alike, and those with one", async () => {
    expect(emails(await as("GET", "workspaces/acme/users?hasDepartment=false"))).toEqual(["eve@example.com", "fay@example.com"]);
    expect((await as("GET", "workspaces/acme/users?hasDepartment=true")).body.total).toBe(4);
    expect((await as("GET", "workspaces/acme/users?hasDepartment=false&department=Finance")).body.total).toBe(0);
    const exported = await as("GET", "workspaces/acme/exports?format=csv&hasDepartment=false");
    expect(exported.headers["rollcall-users"]).toBe("2");
    expectError(await as("GET", "workspaces/acme/users?hasDepartment=maybe"), 400, "invalid_input", ["hasDepartment"]);
  });

  it("exports the users of one department, and refuses an unknown one rather than writing an empty file", async () => {
    const exported = await as("GET", "workspaces/acme/exports?format=csv&department=finance");
    expect(exported.status).toBe(200);
    expect(exported.headers["rollcall-users"]).toBe("2");
    const text = String(exported.body);
    expect(text).toContain("ada@example.com");
    expect(text).toContain("bob@example.com");
    expect(text).not.toContain("cy@example.com");
    expectError(await as("GET", "workspaces/acme/exports?format=csv&department=Accounts"), 400, "invalid_input", ["department"]);
  });

  it("acts in bulk on every user of a department, and refuses an unknown department with the names, changing nothing", async () => {
    const refused = await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { department: "Acounts" } });
    expectError(refused, 400, "invalid_input", ["department"]);
    expect(refused.body.error.details.fields[0].message).toContain(`its departments are "Engineering", "Études", "Finance"`);
    const disabled = await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { department: "FINANCE" } });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ changed: 2, unchanged: 0, more: 0 });
    expect(emails(await as("GET", "workspaces/acme/users?enabled=false"))).toEqual(["ada@example.com", "bob@example.com"]);
    // A department whose users the filter's other conditions leave out matches no user: said so, not refused as unknown.
    const none = await as("POST", "workspaces/acme/users/bulk", { action: "enable", filter: { department: "Engineering", enabled: false } });
    expectError(none, 400, "invalid_input", ["filter"]);
    await as("POST", "workspaces/acme/users/bulk", { action: "enable", filter: { department: "finance" } });
    const withoutOne = await as("POST", "workspaces/acme/users/bulk", { action: "disable", filter: { hasDepartment: false } });
    expect(withoutOne.body).toMatchObject({ changed: 2 });
    expect(emails(await as("GET", "workspaces/acme/users?enabled=false"))).toEqual(["eve@example.com", "fay@example.com"]);
  });

  it("takes a department of spaces only for none, and one with spaces around it for the same department, in the filter and the list", async () => {
    // The API trims what it is given; an import or a sync keeps what its source spelt.
    const spaced = await createWorkspace(api.store.db, { name: "spaced" });
    const people: [string, string | null][] = [["ann", "Sales"], ["ben", " sales  "], ["cat", "   "], ["dan", null], ["eli", "Legal"]];
    await api.store.copyRows("users", ["workspace_id", "email", "display_name", "department", "source_type", "source_name"], people.map(([name, department]) => [spaced.id, `${name}@example.com`, name, department, "import", "staff.csv"]));
    expect((await as("GET", "workspaces/spaced/users/departments")).body).toEqual({ items: [{ department: "Legal", users: 1 }, { department: "Sales", users: 2 }], withoutDepartment: 2 });
    expect(emails(await as("GET", "workspaces/spaced/users?department=SALES"))).toEqual(["ann@example.com", "ben@example.com"]);
    expect(emails(await as("GET", `workspaces/spaced/users?department=${encodeURIComponent(" sales ")}`))).toEqual(["ann@example.com", "ben@example.com"]);
    expect(emails(await as("GET", "workspaces/spaced/users?hasDepartment=false"))).toEqual(["cat@example.com", "dan@example.com"]);
    expect((await as("GET", "workspaces/spaced/users?hasDepartment=true")).body.total).toBe(3);
    // Blank is no department's name: refused, naming the departments (trimmed), as a misspelt one is.
    const blank = await as("GET", `workspaces/spaced/users?department=${encodeURIComponent("   ")}`);
    expectError(blank, 400, "invalid_input", ["department"]);
    expect(blank.body.error.details.fields[0].message).toContain(`its departments are "Legal", "Sales"`);
  });
});
