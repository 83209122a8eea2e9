import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser } from "../../src/core/users.ts";
import { addMember, createGroup, deleteGroup, getGroup, listGroups, removeMember, updateGroup } from "../../src/core/groups.ts";
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

  it("refuses to delete a group synced from Entra ID, which the next sync would create again", async () => {
    await createGroup(ctx, { name: "Synced" }, { type: "entra", name: "contoso", id: null, externalId: "00000000-0000-4000-8000-000000000001" });
    const refused = await rejection(deleteGroup(ctx, "Synced"));
    expect(refused.code).toBe("invalid_input");
    expect(refused.message).toBe('Group "Synced" is synced from Entra ID source "contoso"; delete it in Entra ID, or leave it out of the source\'s groups (the next sync would create it again)');
    expect((await getGroup(ctx, "Synced")).source.type).toBe("entra");
  });
});
