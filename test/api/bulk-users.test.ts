import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, expectError, signIn, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("bulk actions on users, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const ids: Record<string, string> = {};
  const bulk = (body: unknown) => as("POST", "workspaces/acme/users/bulk", body);
  const user = async (key: string) => (await as("GET", `workspaces/acme/users/${key}`)).body;

  beforeAll(async () => {
    api = await testApi(engine);
    await createWorkspace(api.store.db, { name: "acme", defaultCountry: "GB" });
    await createWorkspace(api.store.db, { name: "other" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
    for (const name of ["ada", "bob", "cy", "dee"]) {
      ids[name] = (await as("POST", "workspaces/acme/users", { email: `${name}@example.com`, displayName: name })).body.id;
    }
    ids.elsewhere = (await as("POST", "workspaces/other/users", { email: "ada@example.com", displayName: "Other Ada" })).body.id;
    await as("POST", "workspaces/acme/groups", { name: "Pilots" });
  });
  afterAll(() => api?.close());

  it("disables and enables a selection, counting those already so as unchanged, with each change in the user's history", async () => {
    await as("POST", `workspaces/acme/users/${ids.cy}/disable`);
    const disabled = await bulk({ action: "disable", users: [ids.ada, "BOB@example.com", ids.cy, ids.ada] });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ action: "disable", group: null, changed: 2, unchanged: 1 });
    expect(disabled.body.users).toEqual([
      { id: ids.ada, subject: "ada@example.com", changed: true },
      { id: ids.bob, subject: "bob@example.com", changed: true },
      { id: ids.cy, subject: "cy@example.com", changed: false },
    ]);
    expect((await user(ids.bob!)).enabled).toBe(false);
    const history = (await as("GET", `workspaces/acme/users/${ids.bob}/changes`)).body.items;
    expect(history[0]).toMatchObject({ action: "disable", actor: "owner@example.com", before: { enabled: true }, after: { enabled: false } });

    const enabled = await bulk({ action: "enable", users: [ids.ada, ids.bob, ids.cy, ids.dee] });
    expect(enabled.body).toMatchObject({ changed: 3, unchanged: 1 });
    expect((await as("GET", "workspaces/acme/users?enabled=false")).body.total).toBe(0);
  });

  it("adds to and removes from a group; the group's history names each member", async () => {
    await as("POST", "workspaces/acme/groups/Pilots/members", { member: ids.ada });
    const added = await bulk({ action: "addToGroup", group: "pilots", users: [ids.ada, ids.bob, ids.cy] });
    expect(added.body).toMatchObject({ action: "addToGroup", group: "Pilots", changed: 2, unchanged: 1 });
    expect((await as("GET", "workspaces/acme/groups/Pilots")).body.members.sort()).toEqual(["ada@example.com", "bob@example.com", "cy@example.com"]);
    const groupHistory = (await as("GET", "workspaces/acme/groups/Pilots/changes")).body.items.map((c: { action: string; subject: string }) => `${c.action}: ${c.subject}`);
    expect(groupHistory).toEqual(expect.arrayContaining(["add to group Pilots: bob@example.com", "add to group Pilots: cy@example.com"]));

    const removed = await bulk({ action: "removeFromGroup", group: "Pilots", users: [ids.bob, ids.dee] });
    expect(removed.body).toMatchObject({ changed: 1, unchanged: 1 });
    expect((await user(ids.bob!)).groups).toEqual([]);
  });

  it("changes nothing when one key names no user of this workspace, and says which", async () => {
    const refused = await bulk({ action: "delete", users: [ids.dee, ids.elsewhere, "ghost@example.com"] });
    expectError(refused, 404, "not_found");
    expect(refused.body.error.message).toContain(`No user "${ids.elsewhere}", "ghost@example.com" in workspace acme; nothing was changed`);
    expect(refused.body.error.details.keys).toEqual([ids.elsewhere, "ghost@example.com"]);
    expect((await as("GET", `workspaces/acme/users/${ids.dee}`)).status).toBe(200);
    expect((await as("GET", `workspaces/other/users/${ids.elsewhere}`)).status).toBe(200);
  });

  it("acts on every user a filter matches, as GET …/users reads the same filter", async () => {
    await as("POST", "workspaces/acme/groups", { name: "Night shift" });
    await bulk({ action: "addToGroup", group: "Night shift", users: [ids.bob, ids.dee] });
    const listed = (await as("GET", "workspaces/acme/users?group=night%20shift&enabled=true")).body;
    const disabled = await bulk({ action: "disable", filter: { group: "night shift", enabled: true } });
    expect(disabled.status, JSON.stringify(disabled.body)).toBe(200);
    expect(disabled.body).toMatchObject({ changed: listed.total, unchanged: 0 });
    expect(disabled.body.users.map((u: { id: string }) => u.id).sort()).toEqual(listed.items.map((u: { id: string }) => u.id).sort());
    expect((await user(ids.ada!)).enabled).toBe(true);
    expectError(await bulk({ action: "disable", filter: { group: "night shift", enabled: true } }), 400, "invalid_input", ["filter"]);
    expect((await bulk({ action: "enable", filter: {} })).body).toMatchObject({ changed: 2, unchanged: 2 });
  });

  it("refuses bad requests with the field at fault", async () => {
    expectError(await bulk({ action: "disable", users: [ids.ada], filter: {} }), 400, "invalid_input", ["users"]);
    expectError(await bulk({ action: "disable" }), 400, "invalid_input", ["users"]);
    expectError(await bulk({ action: "disable", filter: { enabled: "maybe" } }), 400, "invalid_input");
    expectError(await bulk({ action: "addToGroup", users: [ids.ada] }), 400, "invalid_input", ["group"]);
    expectError(await bulk({ action: "disable", users: [] }), 400, "invalid_input");
    expectError(await bulk({ action: "archive", users: [ids.ada] }), 400, "invalid_input");
    expectError(await bulk({ action: "disable", users: Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`) }), 400, "invalid_input");
    expectError(await bulk({ action: "addToGroup", group: "Nobody", users: [ids.ada] }), 404, "not_found");
  });

  it("lets a viewer read but not act on a selection", async () => {
    const viewer = await accountCaller(api, "viewer@example.com", { workspace: "acme", role: "viewer" });
    expectError(await viewer("POST", "workspaces/acme/users/bulk", { action: "disable", users: [ids.ada] }), 403, "forbidden");
    expect((await user(ids.ada!)).enabled).toBe(true);
  });

  it("deletes a selection, each with a history entry", async () => {
    const deleted = await bulk({ action: "delete", users: [ids.cy, ids.dee] });
    expect(deleted.body).toMatchObject({ action: "delete", changed: 2, unchanged: 0 });
    expect((await as("GET", "workspaces/acme/users")).body.items.map((u: { email: string }) => u.email)).toEqual(["ada@example.com", "bob@example.com"]);
    const activity = (await as("GET", "workspaces/acme/activity?action=delete")).body.items.map((c: { subject: string }) => c.subject);
    expect(activity.sort()).toEqual(["cy@example.com", "dee@example.com"]);
  });
});
