import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, expectError, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("users' managers, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const ids: Record<string, string> = {};
  const emails = (reply: { body: { items: { email: string }[] } }) => reply.body.items.map((u) => u.email).sort();

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme" });
    await createWorkspace(api.store.db, { name: "other" });
    as = await accountCaller(api, "owner@example.com", { owner: true });
    for (const name of ["boss", "ada", "bob", "cy"]) {
      const reply = await as("POST", "workspaces/acme/users", { email: `${name}@example.com`, displayName: name.charAt(0).toUpperCase() + name.slice(1) });
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expect(reply.body.manager).toBeNull();
      ids[name] = reply.body.id;
    }
    ids.zed = (await as("POST", "workspaces/other/users", { email: "zed@example.com", displayName: "Zed" })).body.id;
  });
  afterAll(() => api?.close());

  it("sets a manual user's manager by id or email, shows it on the user and the reports on the manager, and logs it by name", async () => {
    const set = await as("PATCH", `workspaces/acme/users/${ids.ada}`, { manager: "BOSS@example.com" });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.manager).toEqual({ id: ids.boss, displayName: "Boss", email: "boss@example.com" });
    expect((await as("PATCH", `workspaces/acme/users/${ids.bob}`, { manager: ids.boss })).status).toBe(200);
    const boss = await as("GET", `workspaces/acme/users/${ids.boss}`);
    expect(boss.body.directReports).toEqual([{ id: ids.ada, displayName: "Ada", email: "ada@example.com" }, { id: ids.bob, displayName: "Bob", email: "bob@example.com" }]);
    expect(boss.body.manager).toBeNull();
    const listed = await as("GET", "workspaces/acme/users?q=ada");
    expect(listed.body.items[0].manager).toEqual({ id: ids.boss, displayName: "Boss", email: "boss@example.com" });
    const history = await as("GET", `workspaces/acme/users/${ids.ada}/changes`);
    const entry = history.body.items.find((c: { action: string }) => c.action === "update");
    expect(entry.before.manager).toBeNull();
    expect(entry.after.manager).toMatchObject({ displayName: "Boss" });
  });

  it("filters the list by manager, named by id, email or user principal name; an unknown one is refused, naming it", async () => {
    expect(emails(await as("GET", `workspaces/acme/users?manager=${ids.boss}`))).toEqual(["ada@example.com", "bob@example.com"]);
    expect(emails(await as("GET", "workspaces/acme/users?manager=boss@example.com"))).toEqual(["ada@example.com", "bob@example.com"]);
    expect((await as("GET", `workspaces/acme/users?manager=${ids.cy}`)).body.total).toBe(0);
    const unknown = await as("GET", "workspaces/acme/users?manager=nobody@example.com");
    expectError(unknown, 400, "invalid_input", ["manager"]);
    expect(unknown.body.error.details.fields[0].message).toContain('is "nobody@example.com"');
  });

  it("refuses a manager of another workspace, the user themselves, and a loop, changing nothing", async () => {
    expectError(await as("PATCH", `workspaces/acme/users/${ids.cy}`, { manager: ids.zed }), 400, "invalid_input", ["manager"]);
    expectError(await as("PATCH", `workspaces/acme/users/${ids.cy}`, { manager: ids.cy }), 400, "invalid_input", ["manager"]);
    const loop = await as("PATCH", `workspaces/acme/users/${ids.boss}`, { manager: ids.ada, jobTitle: "CEO" });
    expectError(loop, 400, "invalid_input", ["manager"]);
    expect(loop.body.error.details.fields[0].message).toContain("would make a loop");
    expect((await as("GET", `workspaces/acme/users/${ids.boss}`)).body).toMatchObject({ manager: null, jobTitle: null });
  });

  it("creates a user with a manager, with the same checks as a change: another workspace's user, the user themselves, an unknown one refused at the field", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "dee@example.com", displayName: "Dee", manager: "boss@example.com" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.manager).toEqual({ id: ids.boss, displayName: "Boss", email: "boss@example.com" });
    const history = (await as("GET", `workspaces/acme/users/${created.body.id}/changes`)).body.items;
    expect(history).toEqual([expect.objectContaining({ action: "create", after: expect.objectContaining({ manager: { id: ids.boss, displayName: "Boss", email: "boss@example.com" } }) })]);
    expect((await as("POST", "workspaces/acme/users", { email: "eve@example.com", displayName: "Eve", manager: null })).body.manager).toBeNull();

    const refused = async (body: Record<string, unknown>, message: string) => {
      const reply = await as("POST", "workspaces/acme/users", { displayName: "Fay", ...body });
      expectError(reply, 400, "invalid_input", ["manager"]);
      expect(reply.body.error.details.fields[0]).toMatchObject({ field: "manager", message: expect.stringContaining(message) });
    };
    await refused({ email: "fay@example.com", manager: "nobody@example.com" }, 'no user of workspace "acme" is "nobody@example.com"');
    await refused({ email: "fay@example.com", manager: ids.zed }, 'no user of workspace "acme"');
    await refused({ email: "fay@example.com", manager: "FAY@example.com" }, "is the user themselves");
    await refused({ userPrincipalName: "fay.upn@example.com", manager: "fay.upn@example.com" }, "is the user themselves");
    expectError(await as("POST", "workspaces/acme/users", { email: "fay@example.com", displayName: "Fay", manager: "" }), 400, "invalid_input", ["manager"]);
    expect((await as("GET", "workspaces/acme/users/fay@example.com")).status).toBe(404);
  });

  it("clears a manager with null; deleting a manager clears it on the reports, with an entry on each", async () => {
    expect((await as("PATCH", `workspaces/acme/users/${ids.bob}`, { manager: null })).body.manager).toBeNull();
    expect((await as("PATCH", `workspaces/acme/users/${ids.cy}`, { manager: ids.ada })).status).toBe(200);
    expect((await as("DELETE", `workspaces/acme/users/${ids.ada}`)).status).toBe(200);
    const cy = await as("GET", `workspaces/acme/users/${ids.cy}`);
    expect(cy.body.manager).toBeNull();
    const entry = (await as("GET", `workspaces/acme/users/${ids.cy}/changes`)).body.items[0];
    expect(entry).toMatchObject({ action: "update", before: { manager: "Ada <ada@example.com>" }, after: { manager: null, reason: "the manager, ada@example.com, was deleted" } });
  });
});
