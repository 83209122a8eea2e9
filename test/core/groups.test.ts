import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, deleteUser, getUser } from "../../src/core/users.ts";
import { bulkUsers } from "../../src/core/bulk-users.ts";
import { sql } from "kysely";
import { addMember, createGroup, deleteGroup, getGroup, groupHistory, groupMembers, listGroups, listGroupsWithMembers, removeMember, showGroup, updateGroup } from "../../src/core/groups.ts";
import { membersShownCap, type GroupMember } from "../../src/domain/group.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";
import { rejection } from "../support/assert.ts";


describe.each(engines)("groups on %s", (engine) => {
  let store: TestStore;
  let ctx: WorkspaceContext;

  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test" };
    await createUser(ctx, { email: "ada@example.com", displayName: "Ada" });
    await createUser(ctx, { userPrincipalName: "bob@corp.example", displayName: "Bob" });
  });
  afterAll(() => store?.dispose());

  it("holds users and groups as direct members, listed by email or name", async () => {
    await createGroup(ctx, { name: "Engineering", description: "Builders" });
    await createGroup(ctx, { name: "Staff" });
    await addMember(ctx, "engineering", "ada@example.com");
    await addMember(ctx, "Engineering", "bob@corp.example");
    const staff = await addMember(ctx, "Staff", "Engineering");
    expect(staff.members).toEqual(["Engineering"]);
    const engineering = await getGroup(ctx, "Engineering");
    expect(engineering).toMatchObject({ members: ["ada@example.com", "bob@corp.example"], memberCount: 2, source: { type: "manual" } });
    expect((await getUser(ctx, "ada@example.com")).groups).toEqual(["Engineering"]);
    // Adding twice is a no-op, not a duplicate.
    expect((await addMember(ctx, "Engineering", "ada@example.com")).memberCount).toBe(2);
  });

  it("refuses a loop, a duplicate name and unknown members", async () => {
    expect((await rejection(addMember(ctx, "Engineering", "Staff"))).message).toContain("contain itself");
    expect((await rejection(createGroup(ctx, { name: "STAFF" }))).code).toBe("conflict");
    expect((await rejection(addMember(ctx, "Staff", "nobody@example.com"))).code).toBe("not_found");
    expect((await rejection(createGroup(ctx, { name: "" }))).code).toBe("invalid_input");
  });

  it("renames, removes members and deletes without touching the users", async () => {
    await updateGroup(ctx, "Staff", { name: "Everyone", description: "All staff" });
    await removeMember(ctx, "Engineering", "ada@example.com");
    expect((await rejection(removeMember(ctx, "Engineering", "ada@example.com"))).code).toBe("not_found");
    await deleteGroup(ctx, "Engineering");
    expect((await listGroups(ctx, {}, { limit: 10, offset: 0 })).items.map((g) => g.name)).toEqual(["Everyone"]);
    expect((await getUser(ctx, "bob@corp.example")).groups).toEqual([]);
  });

  it("a deleted user leaves each of their groups with an entry in its history, by hand and in bulk", async () => {
    await createGroup(ctx, { name: "Leavers A" });
    await createGroup(ctx, { name: "Leavers B" });
    for (const email of ["cy@example.com", "dee@example.com", "eve@example.com"]) {
      await createUser(ctx, { email, displayName: email.split("@")[0]! });
      await addMember(ctx, "Leavers A", email);
    }
    await addMember(ctx, "Leavers B", "cy@example.com");
    await deleteUser(ctx, "cy@example.com");
    for (const group of ["Leavers A", "Leavers B"]) {
      const [latest] = (await groupHistory(ctx, group, { limit: 1 })).changes;
      expect([latest!.action, latest!.subject, latest!.after, latest!.actor]).toEqual([`remove from group ${group}`, "cy@example.com", { reason: "cy@example.com was deleted" }, "test"]);
    }
    await bulkUsers(ctx, { action: "delete", users: ["dee@example.com", "eve@example.com"] });
    const left = (await groupHistory(ctx, "Leavers A", { limit: 2 })).changes;
    expect(left.map((c) => [c.action, c.subject, c.after])).toEqual(
      expect.arrayContaining([["remove from group Leavers A", "dee@example.com", { reason: "the user was deleted" }], ["remove from group Leavers A", "eve@example.com", { reason: "the user was deleted" }]]),
    );
    expect((await showGroup(ctx, "Leavers A")).memberCount).toBe(0);
  });

  it("refuses to delete a group synced from Entra ID, which the next sync would create again", async () => {
    await createGroup(ctx, { name: "Synced" }, { type: "entra", name: "contoso", id: null, externalId: "00000000-0000-4000-8000-000000000001" });
    const refused = await rejection(deleteGroup(ctx, "Synced"));
    expect(refused.code).toBe("invalid_input");
    expect(refused.message).toBe('Group "Synced" is synced from Entra ID source "contoso"; delete it in Entra ID, or leave it out of the source\'s groups (the next sync would create it again)');
    expect((await getGroup(ctx, "Synced")).source.type).toBe("entra");
  });

  it("keeps a group's name in one spelling, on one line, and never an id, saying which rule a name breaks", async () => {
    // "Café" typed on a Mac (e + combining accent) is the "Café" typed elsewhere: one group, found by either spelling.
    const decomposed = "Cafe\u0301";
    const created = await createGroup(ctx, { name: decomposed });
    expect(created.name).toBe("Caf\u00e9");
    expect((await rejection(createGroup(ctx, { name: "Caf\u00e9" }))).code).toBe("conflict");
    expect((await getGroup(ctx, decomposed)).id).toBe(created.id);
    const problems = async (name: string) => (await rejection(createGroup(ctx, { name }))).details?.fields;
    expect(await problems("Night\nshift")).toEqual([expect.objectContaining({ field: "name", message: "must be on one line, without tabs or other control characters" })]);
    expect(await problems("Night\tshift")).toEqual([expect.objectContaining({ field: "name", message: "must be on one line, without tabs or other control characters" })]);
    expect(await problems("\u200b")).toEqual([expect.objectContaining({ field: "name", message: "must hold a visible character" })]);
    expect(await problems(created.id)).toEqual([expect.objectContaining({ field: "name", message: "cannot be an id: groups are looked up by id or name, and this would read as an id; add a word to it" })]);
    expect(await problems("   ")).toEqual([expect.objectContaining({ field: "name", message: "is required" })]);
    // A rename follows the same rules; commas and other punctuation are fine (a file quotes them).
    expect((await rejection(updateGroup(ctx, decomposed, { name: "Two\nlines" }))).code).toBe("invalid_input");
    expect((await updateGroup(ctx, decomposed, { name: "Printer room 3, 2nd floor" })).name).toBe("Printer room 3, 2nd floor");
    await deleteGroup(ctx, "Printer room 3, 2nd floor");
  });

  it("records a rename or a description change as what changed, and a save that changes nothing not at all", async () => {
    await createGroup(ctx, { name: "Night shift", description: "22:00 to 06:00" });
    const entries = async () => (await groupHistory(ctx, "Night shift", { limit: 10 })).changes.map((c) => [c.action, c.before, c.after]);
    await updateGroup(ctx, "night shift", { name: "Night shift", description: "22:00 to 06:00" });
    await updateGroup(ctx, "Night shift", { description: "22:00 to 06:00" });
    expect(await entries()).toEqual([["create group", null, { name: "Night shift", description: "22:00 to 06:00" }]]);
    await updateGroup(ctx, "Night shift", { name: "Night shift", description: "22:00 to 07:00" });
    expect((await entries())[0]).toEqual(["update group", { description: "22:00 to 06:00" }, { description: "22:00 to 07:00" }]);
  });

  it("shows the groups a group is in, and a deleted group leaves each of them with an entry in its history", async () => {
    await createGroup(ctx, { name: "Contractors" });
    await createGroup(ctx, { name: "Printer room 3" });
    await addMember(ctx, "Printer room 3", "Contractors");
    await addMember(ctx, "Night shift", "Contractors");
    expect((await showGroup(ctx, "Contractors")).memberOf).toEqual(["Night shift", "Printer room 3"]);
    expect((await listGroupsWithMembers(ctx, { q: "Contractors" }, { limit: null, offset: 0 })).items[0]!.memberOf).toEqual(["Night shift", "Printer room 3"]);
    expect((await showGroup(ctx, "Night shift")).memberOf).toEqual([]);

    const deleted = await deleteGroup(ctx, "Contractors");
    expect(deleted.memberOf).toEqual(["Night shift", "Printer room 3"]);
    for (const parent of ["Night shift", "Printer room 3"]) {
      const [latest] = (await groupHistory(ctx, parent, { limit: 1 })).changes;
      expect([latest!.action, latest!.subject, latest!.after, latest!.actor]).toEqual([`remove from group ${parent}`, "Contractors", { reason: 'group "Contractors" was deleted' }, "test"]);
      expect((await showGroup(ctx, parent)).memberCount).toBe(0);
    }
  });

  it("says why a synced group cannot be changed here, and what the next sync would do", async () => {
    const refused = await rejection(addMember(ctx, "Synced", "ada@example.com"));
    expect([refused.code, refused.message]).toEqual([
      "invalid_input",
      'Group "Synced" is synced from Entra ID source "contoso": its name, description and members are Entra ID\'s, and the next sync would undo a change made here. Change it in Entra ID, or create a group of your own (it may hold this one as a member)',
    ]);
    expect((await rejection(updateGroup(ctx, "Synced", { description: "x" }))).message).toBe(refused.message);
    // A group of one's own may hold it.
    expect((await addMember(ctx, "Night shift", "Synced")).members).toEqual(["Synced"]);
  });

  it("two nestings made at once cannot close a loop, and the same member added twice at once is added once", async () => {
    await createGroup(ctx, { name: "Day shift" });
    await createGroup(ctx, { name: "Weekend shift" });
    const both = await Promise.allSettled([addMember(ctx, "Day shift", "Weekend shift"), addMember(ctx, "Weekend shift", "Day shift")]);
    expect(both.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const refused = both.find((r): r is PromiseRejectedResult => r.status === "rejected")!.reason as { code: string; message: string };
    expect(refused.code).toBe("invalid_input");
    expect(refused.message).toMatch(/would make a group contain itself: "(Day|Weekend) shift" already holds "(Day|Weekend) shift", directly or through other groups$/);
    const memberships = [(await getGroup(ctx, "Day shift")).members, (await getGroup(ctx, "Weekend shift")).members];
    expect(memberships.flat()).toHaveLength(1);

    const twice = await Promise.all([addMember(ctx, "Day shift", "ada@example.com"), addMember(ctx, "Day shift", "ADA@example.com")]);
    expect(twice.map((g) => g.added).sort()).toEqual([false, true]);
    const entries = (await groupHistory(ctx, "Day shift", { limit: 10 })).changes.filter((c) => c.action === "add to group Day shift" && c.subject === "ada@example.com");
    expect(entries).toHaveLength(1);
    await deleteGroup(ctx, "Day shift");
    await deleteGroup(ctx, "Weekend shift");
  });

  it("a big group: lists count its members without listing them, pages them by cursor, and GET shows the first few", async () => {
    // More members than GET shows: users in one statement (a test of paging, not of adding users).
    const size = membersShownCap + 7;
    await sql`insert into users (workspace_id, email, display_name, source_type, source_name)
      select ${ctx.workspace.id}, 'crowd' || lpad(i::text, 3, '0') || '@example.com', 'Crowd ' || lpad(i::text, 3, '0'), 'manual', 'manual' from generate_series(1, ${size}) i`.execute(store.db);
    await createGroup(ctx, { name: "Crowd" });
    await sql`insert into group_members (workspace_id, group_id, member_user_id)
      select ${ctx.workspace.id}, (select id from groups where name = 'Crowd'), id from users where email like 'crowd%'`.execute(store.db);
    await createGroup(ctx, { name: "Crowd leads" });
    await addMember(ctx, "Crowd", "Crowd leads");

    // The lean list: counts, no member list (a 96,000-member group made every list page megabytes).
    const { items } = await listGroups(ctx, { q: "crowd" }, { limit: 10, offset: 0 });
    expect(items.map((g) => [g.name, g.memberCount])).toEqual([["Crowd", size + 1], ["Crowd leads", 0]]);
    expect(items[0]).not.toHaveProperty("members");
    // With members, every group's, as getGroup gives each (the CLI's groups list --json).
    const full = await listGroupsWithMembers(ctx, {}, { limit: null, offset: 0 });
    for (const group of full.items) {
      const { nestedUserCount: _, ...detail } = await getGroup(ctx, group.id); // a group's own answer counts at any depth too; lists do not
      expect(group).toEqual(detail);
    }
    expect(full.items.find((g) => g.name === "Crowd")!.members).toHaveLength(size + 1);

    // GET shows the first members only, in the order `members` always had; the count says there are more.
    const shown = await showGroup(ctx, "Crowd");
    expect(shown.memberCount).toBe(size + 1);
    expect(shown.members).toEqual(["Crowd leads", ...Array.from({ length: membersShownCap - 1 }, (_, i) => `crowd${String(i + 1).padStart(3, "0")}@example.com`)]);
    expect((await showGroup(ctx, "Crowd", { allMembers: true })).members).toHaveLength(size + 1);

    // Paged by cursor: member groups first, then users by display name; each member once, the last page says so.
    const seen: GroupMember[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await groupMembers(ctx, "crowd", { limit: 40, after });
      expect(page.total).toBe(size + 1);
      seen.push(...page.items);
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toHaveLength(size + 1);
    expect(seen[0]).toMatchObject({ kind: "group", displayName: "Crowd leads", email: null });
    expect(seen.slice(1).map((m) => m.displayName)).toEqual(Array.from({ length: size }, (_, i) => `Crowd ${String(i + 1).padStart(3, "0")}`));
    expect(seen[1]).toMatchObject({ kind: "user", email: "crowd001@example.com" });
    // A filter on the server, and a cursor it did not give refused.
    const matching = await groupMembers(ctx, "Crowd", { limit: 5, q: "crowd10" });
    expect([matching.total, matching.items.map((m) => m.email), matching.next]).toEqual([size - 99, ["crowd100@example.com", "crowd101@example.com", "crowd102@example.com", "crowd103@example.com", "crowd104@example.com"], expect.any(String)]);
    expect((await rejection(groupMembers(ctx, "Crowd", { limit: 5, after: "not-a-cursor" }))).code).toBe("invalid_input");

    // A change answers the group as GET shows it, and whether anything changed.
    const again = await addMember(ctx, "Crowd", "crowd001@example.com");
    expect([again.added, again.memberCount, again.members.length]).toEqual([false, size + 1, membersShownCap]);
    expect((await addMember(ctx, "Crowd", "ada@example.com")).added).toBe(true);
    expect((await removeMember(ctx, "Crowd", "ada@example.com")).memberCount).toBe(size + 1);
    expect((await groupHistory(ctx, "Crowd", { limit: 5 })).group).toMatchObject({ name: "Crowd", memberCount: size + 1 });
  });
});
