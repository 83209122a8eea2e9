import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { maxBulkListed } from "../../src/domain/bulk.ts";
import { accountCaller, expectError, signIn, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("bulk actions on users, through the API, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const ids: Record<string, string> = {};
  let acmeId: string;
  const bulk = (body: unknown) => as("POST", "workspaces/acme/users/bulk", body);
  const user = async (key: string) => (await as("GET", `workspaces/acme/users/${key}`)).body;

  beforeAll(async () => {
    api = await testApi(engine);
    acmeId = (await createWorkspace(api.store.db, { name: "acme", defaultCountry: "GB" })).id;
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
    expect(disabled.body.more).toBe(0);
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

  it("adds and removes a tag, counting users who have it already (in any case) or lack it, each change an update of the user's tags in its history", async () => {
    await as("PATCH", `workspaces/acme/users/${ids.bob}`, { tags: ["vip"] });
    const history = async (id: string) => (await as("GET", `workspaces/acme/users/${id}/changes`)).body.items;
    const bobEntries = (await history(ids.bob!)).length;
    const added = await bulk({ action: "addTag", tag: " VIP ", users: [ids.ada, "bob@example.com", ids.cy] });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ action: "addTag", group: null, tag: "VIP", changed: 2, unchanged: 1, more: 0 });
    expect(added.body.users.map((u: { changed: boolean }) => u.changed)).toEqual([true, false, true]);
    expect((await user(ids.ada!)).tags).toEqual(["Manual", "VIP"]);
    expect((await user(ids.bob!)).tags).toEqual(["Manual", "vip"]);
    expect((await history(ids.ada!))[0]).toMatchObject({ action: "update", actor: "owner@example.com", subject: "ada@example.com", before: { tags: ["Manual"] }, after: { tags: ["Manual", "VIP"] } });
    expect(await history(ids.bob!)).toHaveLength(bobEntries);
    // The tag filter, too, takes a tag in any case: bob's "vip" is VIP.
    expect((await as("GET", "workspaces/acme/users?tag=VIP")).body.total).toBe(3);

    const removed = await bulk({ action: "removeTag", tag: "vip", filter: {} });
    expect(removed.body).toMatchObject({ action: "removeTag", tag: "vip", changed: 3, unchanged: 1, more: 0 });
    expect(removed.body.users.filter((u: { changed: boolean }) => !u.changed).map((u: { subject: string }) => u.subject)).toEqual(["dee@example.com"]);
    for (const name of ["ada", "bob", "cy", "dee"]) expect((await user(ids[name]!)).tags).toEqual(["Manual"]);
    expect((await history(ids.bob!))[0]).toMatchObject({ action: "update", before: { tags: ["Manual", "vip"] }, after: { tags: ["Manual"] } });
    expectError(await bulk({ action: "removeTag", tag: "vip", filter: { tag: "vip" } }), 400, "invalid_input", ["filter"]);
  });

  it("refuses a bad tag at the field, by the rules editing a user's tags follows, before changing anyone", async () => {
    const refusal = async (body: object) => {
      const reply = await bulk({ users: [ids.ada], ...body });
      expectError(reply, 400, "invalid_input", ["tag"]);
      return reply.body.error.details.fields[0].message as string;
    };
    expect(await refusal({ action: "addTag" })).toBe("enter the tag to add");
    expect(await refusal({ action: "removeTag" })).toBe("enter the tag to remove");
    expect(await refusal({ action: "addTag", tag: "  " })).toBe("must not be empty");
    expect(await refusal({ action: "addTag", tag: "x".repeat(65) })).toBe("must be at most 64 characters long");
    expect(await refusal({ action: "addTag", tag: "imported" })).toMatch(/^"imported" is a source's tag: .*; it cannot be added by hand$/);
    expect(await refusal({ action: "removeTag", tag: "ID synced" })).toBe('"ID synced" is a source\'s tag: Rollcall gives each user their source\'s (ID synced for users synced from Entra ID, Imported for imported ones, Manual for those added by hand) and keeps it; it cannot be removed by hand');
    expect((await user(ids.ada!)).tags).toEqual(["Manual"]);
  });

  it("keeps a synced user's ID synced tag through a tag added and removed, and refuses to take it away", async () => {
    const synced = await api.store.db
      .insertInto("users")
      .values({ workspace_id: acmeId, email: "synced@example.com", display_name: "Synced", source_type: "entra", source_name: "contoso", external_id: randomUUID(), tags: ["ID synced", "night"], custom_attributes: "{}" })
      .returning("id")
      .executeTakeFirstOrThrow();
    expectError(await bulk({ action: "removeTag", tag: "id synced", users: [synced.id] }), 400, "invalid_input", ["tag"]);
    expect((await bulk({ action: "addTag", tag: "Contractor", users: [synced.id] })).body).toMatchObject({ changed: 1 });
    expect((await bulk({ action: "removeTag", tag: "night", users: [synced.id] })).body).toMatchObject({ changed: 1 });
    expect((await user(synced.id)).tags).toEqual(["ID synced", "Contractor"]);
    await api.store.db.deleteFrom("users").where("id", "=", synced.id).execute(); // the tests below count the workspace's deletes
  });

  it("refuses to give a user more tags than editing them allows, naming them, and changes no one", async () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect((await as("PATCH", `workspaces/acme/users/${ids.dee}`, { tags: fifty })).status).toBe(200);
    const refused = await bulk({ action: "addTag", tag: "one more", users: [ids.ada, ids.dee] });
    expectError(refused, 400, "invalid_input", ["tag"]);
    expect(refused.body.error.details.fields[0].message).toBe("1 selected user holds 50 tags already, the most a user may have (dee@example.com); remove one of theirs first. Nothing was changed");
    expect((await user(ids.ada!)).tags).toEqual(["Manual"]);
    // One the full user has already takes them past nothing.
    expect((await bulk({ action: "addTag", tag: "T7", users: [ids.ada, ids.dee] })).body).toMatchObject({ changed: 1, unchanged: 1 });
    expect((await bulk({ action: "removeTag", tag: "t7", filter: {} })).body).toMatchObject({ changed: 2 });
    await as("PATCH", `workspaces/acme/users/${ids.dee}`, { tags: [] });
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
    expect(disabled.body).toMatchObject({ changed: listed.total, unchanged: 0, more: 0 });
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

  it("keeps a deleted user whole in its history: the delete entry is the user as GET …/users/ID showed it", async () => {
    const created = await as("POST", "workspaces/acme/users", {
      email: "whole@example.com", userPrincipalName: "whole@corp.example", displayName: "Whole Person", department: "Ops", mobilePhone: "+44 7911 123456",
      businessPhones: ["+44 20 7946 0000", "+44 20 7946 0001"], aliases: ["whole-b", "whole-a"], cardNumbers: ["0042", "0007"], customAttributes: { office: "London" }, tags: ["keep"],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await as("POST", "workspaces/acme/groups", { name: "Zulu" });
    await bulk({ action: "addToGroup", group: "Zulu", users: [created.body.id] });
    await bulk({ action: "addToGroup", group: "Pilots", users: [created.body.id] });
    const { nestedGroups, ...shown } = await user(created.body.id); // the user's own answer; the entry keeps the user as lists show them
    expect([shown.groups, nestedGroups]).toEqual([["Pilots", "Zulu"], []]);
    const deleted = await bulk({ action: "delete", filter: { q: "whole person" } });
    expect(deleted.body).toMatchObject({ changed: 1, unchanged: 0, users: [{ id: created.body.id, subject: "whole@example.com", changed: true }], more: 0 });
    const history = (await as("GET", `workspaces/acme/users/${created.body.id}/changes`)).body.items;
    expect(history[0]).toMatchObject({ action: "delete", actor: "owner@example.com", after: null });
    // The user, not what GET says about them beside (the change that gave their status, a conflict, their reports, whose photo it is).
    const { statusChange: _status, openConflict: _conflict, directReports: _reports, photoSource: _photoSource, ...userShown } = shown;
    expect(history[0].before).toEqual(userShown);
  });
});

/** `count` users of a workspace written at once, as an import writes them; every third tagged night, every fifth disabled. */
async function seedUsers(api: TestApi, workspaceId: string, count: number): Promise<{ id: string; email: string; displayName: string; night: boolean; enabled: boolean }[]> {
  const users = Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(5, "0");
    return { id: randomUUID(), email: `person-${n}@big.example`, displayName: `Person ${n}`, night: i % 3 === 0, enabled: i % 5 !== 0 };
  });
  await api.store.copyRows(
    "users",
    ["id", "workspace_id", "email", "display_name", "enabled", "source_type", "source_name", "tags"],
    users.map((u) => [u.id, workspaceId, u.email, u.displayName, u.enabled, "import", "hr.csv", u.night ? "{Imported,night}" : "{Imported}"]),
  );
  await sql`analyze users`.execute(api.store.db);
  return users;
}

describe.each(engines)("bulk actions on every user a filter matches, past 10,000, on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  let users: Awaited<ReturnType<typeof seedUsers>>;
  let workspaceId: string;
  const bulk = (body: unknown) => as("POST", "workspaces/big/users/bulk", body);
  const entries = async (action: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from change_log where workspace_id = ${workspaceId} and action = ${action}`.execute(api.store.db)).rows[0]!.n;
  const count = async (query: string) => (await as("GET", `workspaces/big/users?limit=1&${query}`)).body.total as number;

  beforeAll(async () => {
    api = await testApi(engine);
    workspaceId = (await createWorkspace(api.store.db, { name: "big" })).id;
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
    users = await seedUsers(api, workspaceId, 12_000);
  }, 120_000);
  afterAll(() => api?.close());

  it("disables the 12,000 users of a filter in one request, counting those already disabled, each changed one in its history", async () => {
    const disabled = await bulk({ action: "disable", filter: { source: "hr.csv" } });
    expect(disabled.status, JSON.stringify(disabled.body).slice(0, 300)).toBe(200);
    const already = users.filter((u) => !u.enabled).length;
    expect(disabled.body).toMatchObject({ action: "disable", group: null, changed: 12_000 - already, unchanged: already, more: 12_000 - maxBulkListed });
    // A filter's answer lists the first users by display name, not all 12,000.
    expect(disabled.body.users).toHaveLength(maxBulkListed);
    expect(disabled.body.users.slice(0, 2)).toEqual([
      { id: users[0]!.id, subject: "person-00000@big.example", changed: false },
      { id: users[1]!.id, subject: "person-00001@big.example", changed: true },
    ]);
    expect(await count("enabled=true")).toBe(0);
    expect(await entries("disable")).toBe(12_000 - already);
    const history = (await as("GET", `workspaces/big/users/${users[1]!.id}/changes`)).body.items;
    expect(history).toEqual([expect.objectContaining({ action: "disable", actor: "owner@example.com", subject: "person-00001@big.example", before: { enabled: true }, after: { enabled: false } })]);
    expect((await as("GET", `workspaces/big/users/${users[0]!.id}/changes`)).body.items).toEqual([]);

    const again = await bulk({ action: "disable", filter: { tag: "night" } });
    expect(again.body).toMatchObject({ changed: 0, unchanged: users.filter((u) => u.night).length });
    const enabled = await bulk({ action: "enable", filter: { tag: "night" } });
    expect(enabled.body).toMatchObject({ changed: users.filter((u) => u.night).length, unchanged: 0 });
    expect(await count("enabled=true")).toBe(users.filter((u) => u.night).length);
  }, 30_000);

  it("adds the users of a filter to a group and takes them out, counting members already in as unchanged", async () => {
    await as("POST", "workspaces/big/groups", { name: "Night crew" });
    const first = users.find((u) => u.night)!;
    await as("POST", "workspaces/big/groups/Night crew/members", { member: first.id });
    const added = await bulk({ action: "addToGroup", group: "night crew", filter: { tag: "night", enabled: true } });
    const night = users.filter((u) => u.night).length;
    expect(added.body).toMatchObject({ action: "addToGroup", group: "Night crew", changed: night - 1, unchanged: 1 });
    expect((await as("GET", "workspaces/big/groups/Night crew")).body.memberCount).toBe(night);
    expect(await entries("add to group Night crew")).toBe(night - 1 + 1); // the one added alone logged its own
    const removed = await bulk({ action: "removeFromGroup", group: "Night crew", filter: { source: "hr.csv" } });
    expect(removed.body).toMatchObject({ changed: night, unchanged: 12_000 - night });
    expect((await as("GET", "workspaces/big/groups/Night crew")).body.memberCount).toBe(0);
    expect(await entries("remove from group Night crew")).toBe(night);
  }, 30_000);

  it("tags the users of a filter and takes the tag from them, set-based, each changed one in its history", async () => {
    const night = users.filter((u) => u.night).length;
    const updates = await entries("update");
    const added = await bulk({ action: "addTag", tag: "Late", filter: { tag: "night" } });
    expect(added.status, JSON.stringify(added.body).slice(0, 300)).toBe(200);
    expect(added.body).toMatchObject({ action: "addTag", tag: "Late", changed: night, unchanged: 0, more: night - maxBulkListed });
    expect(added.body.users).toHaveLength(maxBulkListed);
    expect(await count("tag=Late")).toBe(night);
    expect((await as("GET", `workspaces/big/users/${users[0]!.id}`)).body.tags).toEqual(["Imported", "night", "Late"]);
    const removed = await bulk({ action: "removeTag", tag: "late", filter: { source: "hr.csv" } });
    expect(removed.body).toMatchObject({ changed: night, unchanged: 12_000 - night });
    expect(await count("tag=Late")).toBe(0);
    expect(await entries("update")).toBe(updates + 2 * night);
    const history = (await as("GET", `workspaces/big/users/${users[0]!.id}/changes`)).body.items;
    expect(history.slice(0, 2)).toEqual([
      expect.objectContaining({ action: "update", actor: "owner@example.com", before: { tags: ["Imported", "night", "Late"] }, after: { tags: ["Imported", "night"] } }),
      expect.objectContaining({ action: "update", before: { tags: ["Imported", "night"] }, after: { tags: ["Imported", "night", "Late"] } }),
    ]);
  }, 30_000);

  it("changes nothing when a statement of the action fails after the users were changed", async () => {
    // A fault in the history's insert, after the users' update: the update must not outlive it.
    const victim = users.find((u) => u.night && u.enabled)!.email;
    await sql`create function fail_bulk_disable() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(api.store.db);
    await sql.raw(`create trigger fail_bulk_disable before insert on change_log for each row when (new.action = 'disable' and new.subject = '${victim}') execute function fail_bulk_disable()`).execute(api.store.db);
    try {
      const before = await count("enabled=true");
      const logged = await entries("disable");
      const failed = await bulk({ action: "disable", filter: { tag: "night" } });
      expect(failed.status).toBe(500);
      expect(await count("enabled=true")).toBe(before);
      expect(await entries("disable")).toBe(logged);
    } finally {
      await sql`drop function fail_bulk_disable() cascade`.execute(api.store.db);
    }
  }, 30_000);

  it("refuses a group it may not change, or none, before changing anyone", async () => {
    await api.store.db.insertInto("groups").values({ workspace_id: workspaceId, name: "Synced staff", source_type: "entra", source_name: "contoso" }).execute();
    const synced = await bulk({ action: "addToGroup", group: "Synced staff", filter: { tag: "night" } });
    expectError(synced, 400, "invalid_input");
    expect(synced.body.error.message).toContain("is synced from Entra ID");
    expectError(await bulk({ action: "addToGroup", group: "Nobody", filter: { tag: "night" } }), 404, "not_found");
    expect((await as("GET", "workspaces/big/groups/Synced staff")).body.memberCount).toBe(0);
    expectError(await bulk({ action: "enable", filter: { tag: "no such tag" } }), 400, "invalid_input", ["filter"]);
  });

  it.skipIf(engine !== "postgres")("changes nothing when the group is deleted while the action waits for it", async () => {
    await as("POST", "workspaces/big/groups", { name: "Doomed" });
    const group = (await as("GET", "workspaces/big/groups/Doomed")).body;
    const action = await whileHeld(api, sql`delete from groups where id = ${group.id}`, () => bulk({ action: "addToGroup", group: "Doomed", filter: { tag: "night" } }));
    expectError(action, 404, "not_found");
    expect(action.body.error.message).toContain("(it was deleted meanwhile); nothing was changed");
    expect(await entries("add to group Doomed")).toBe(0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from group_members where group_id = ${group.id}`.execute(api.store.db);
    expect(rows[0]!.n).toBe(0);
  }, 30_000);

  it.skipIf(engine !== "postgres")("loses no tag given meanwhile: a user tagged while the action waits keeps that tag and counts as already tagged", async () => {
    const meanwhile = users.find((u) => u.night)!;
    const action = await whileHeld(api, sql`update users set tags = array_append(tags, 'Audit') || array['Extra'] where id = ${meanwhile.id}`, () =>
      bulk({ action: "addTag", tag: "audit", filter: { tag: "night" } }),
    );
    expect(action.status, JSON.stringify(action.body).slice(0, 300)).toBe(200);
    const night = users.filter((u) => u.night).length;
    expect(action.body).toMatchObject({ changed: night - 1, unchanged: 1 });
    expect((await as("GET", `workspaces/big/users/${meanwhile.id}`)).body.tags).toEqual(["Imported", "night", "Audit", "Extra"]);
    expect((await bulk({ action: "removeTag", tag: "AUDIT", filter: { tag: "night" } })).body).toMatchObject({ changed: night, unchanged: 0 });
    expect((await as("GET", `workspaces/big/users/${meanwhile.id}`)).body.tags).toEqual(["Imported", "night", "Extra"]);
  }, 30_000);

  it.skipIf(engine !== "postgres")("selects by the filter as it holds once a change made meanwhile commits: a user disabled meanwhile is neither matched nor counted", async () => {
    await bulk({ action: "enable", filter: {} });
    const meanwhile = users[7]!;
    const disables = async () => (await as("GET", `workspaces/big/users/${meanwhile.id}/changes`)).body.items.filter((c: { action: string }) => c.action === "disable").length;
    const disabledBefore = await disables();
    const action = await whileHeld(api, sql`update users set enabled = false where id = ${meanwhile.id}`, () => bulk({ action: "disable", filter: { enabled: true } }));
    expect(action.status, JSON.stringify(action.body).slice(0, 300)).toBe(200);
    expect(action.body).toMatchObject({ changed: 12_000 - 1, unchanged: 0 });
    expect(await disables()).toBe(disabledBefore);
  }, 30_000);
});

/**
 * Runs `change` in a transaction of its own and holds it open while `act` starts, until `act` waits for one of its
 * locks; then commits it and answers what `act` answered.
 */
async function whileHeld<T>(api: TestApi, change: ReturnType<typeof sql>, act: () => Promise<T>): Promise<T> {
  let commit!: () => void;
  const committing = new Promise<void>((resolve) => (commit = resolve));
  let changed!: () => void;
  const madeChange = new Promise<void>((resolve) => (changed = resolve));
  const holder = api.store.db.transaction().execute(async (trx) => {
    await change.execute(trx);
    changed();
    await committing;
  });
  await madeChange;
  const acting = act();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(api.store.db);
    if (rows[0]!.n > 0) break;
    if (Date.now() > deadline) throw new Error("the action never waited for the held change");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  commit();
  await holder;
  return acting;
}
