import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, deleteUser, disableUser, getUser, listUsers, updateUser } from "../../src/core/users.ts";
import { listChanges } from "../../src/core/change-log.ts";
import { addMember, createGroup, listGroups } from "../../src/core/groups.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";
import { rejection } from "../support/assert.ts";
import { changedFields, fieldLabel } from "../../src/domain/change.ts";

const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };


describe.each(engines)("manual users on %s", (engine) => {
  let store: TestStore;
  let ctx: WorkspaceContext;

  beforeAll(async () => {
    store = await openTestStore(engine);
    const workspace = await createWorkspace(store.db, { name: "acme", defaultCountry: "GB" });
    ctx = { db: store.db, workspace, actor: "test" };
  });
  afterAll(() => store?.dispose());

  it("creates a user with phones in E.164, hashed PIN, identifiers and the Manual tag", async () => {
    const user = await createUser(ctx, {
      email: "Ada@Example.com",
      displayName: "Ada Lovelace",
      mobilePhone: "07911 123456",
      businessPhones: ["+1 (202) 555-0143"],
      cardNumbers: ["000123"],
      aliases: ["ada"],
      pin: "1234",
    });
    expect(user).toMatchObject({
      email: "Ada@Example.com",
      mobilePhone: "+447911123456",
      businessPhones: ["+12025550143"],
      cardNumbers: ["000123"],
      aliases: ["ada"],
      enabled: true,
      source: { type: "manual", name: "manual", externalId: null },
      tags: ["Manual"],
      groups: [],
    });
    expect(user).not.toHaveProperty("pin");
    const row = await store.db.selectFrom("users").select("pin_hash").where("id", "=", user.id).executeTakeFirstOrThrow();
    expect(row.pin_hash).toMatch(/^scrypt\$/);
    expect(row.pin_hash).not.toContain("1234");
  });

  it("refuses a duplicate email case-insensitively, naming the other user", async () => {
    const error = await rejection(createUser(ctx, { email: "ada@EXAMPLE.com", displayName: "Impostor" }));
    expect(error.code).toBe("conflict");
    expect(error.message).toContain("Ada Lovelace");
    expect(error.details.fields).toEqual([expect.objectContaining({ field: "email" })]);
    // An address is one user's in either role: Ada's email is nobody else's user principal name, and the reverse.
    const upn = await rejection(createUser(ctx, { email: "frank@example.com", userPrincipalName: "ADA@example.com", displayName: "Frank" }));
    expect([upn.code, upn.details.fields]).toEqual(["conflict", [expect.objectContaining({ field: "userPrincipalName", message: expect.stringContaining("Ada Lovelace") })]]);
    const gina = await createUser(ctx, { userPrincipalName: "gina@corp.example.com", displayName: "Gina" });
    const email = await rejection(createUser(ctx, { email: "Gina@corp.example.com", displayName: "Other Gina" }));
    expect([email.code, email.details.fields]).toEqual(["conflict", [expect.objectContaining({ field: "email", message: expect.stringContaining("Gina") })]]);
    // Her own address in both roles is hers.
    expect((await updateUser(ctx, gina.id, { email: "gina@corp.example.com" })).email).toBe("gina@corp.example.com");
    await deleteUser(ctx, gina.id);
  });

  it("takes a case-only change of a user's own email as an update that history records", async () => {
    const hal = await createUser(ctx, { email: "hal@example.com", displayName: "Hal" });
    expect((await updateUser(ctx, hal.id, { email: "Hal@Example.com" })).email).toBe("Hal@Example.com");
    const [last] = await listChanges(store.db, ctx.workspace.id, { userId: hal.id, limit: 1 });
    expect(last).toMatchObject({ action: "update", before: { email: "hal@example.com" }, after: { email: "Hal@Example.com" } });
    expect(changedFields(last!).map((c) => c.field)).toEqual(["email"]);
    await deleteUser(ctx, hal.id);
  });

  it("refuses a card number or alias already taken", async () => {
    const error = await rejection(createUser(ctx, { email: "bob@example.com", displayName: "Bob", cardNumbers: ["000123"], aliases: ["ADA"] }));
    expect(error.code).toBe("conflict");
    expect((error.details.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(["aliases", "cardNumbers"]);
    const { total } = await listUsers(ctx, { q: "bob" }, page);
    expect(total).toBe(0);
  });

  it("validates email, phone and PIN with field-specific messages", async () => {
    const error = await rejection(createUser(ctx, { email: "not-an-email", displayName: "X", mobilePhone: "12", pin: "12ab" }));
    expect(error.code).toBe("invalid_input");
    const fields = (error.details.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(["email", "mobilePhone", "pin"]);
    const short = await rejection(createUser(ctx, { email: "x@example.com", displayName: "X", pin: "123" }));
    expect(short.message).toContain("4 to 12");
  });

  it("updates, disables and deletes, recording each change", async () => {
    const updated = await updateUser(ctx, "ada@example.com", { department: "Engineering", cardNumbers: ["000123", "999"] });
    expect(updated.department).toBe("Engineering");
    expect(updated.cardNumbers).toEqual(["000123", "999"]);
    const disabled = await disableUser(ctx, updated.id);
    expect(disabled.enabled).toBe(false);
    // A change that changes nothing leaves no entry: disabling again, the same department.
    await disableUser(ctx, updated.id);
    await updateUser(ctx, updated.id, { department: "Engineering" });
    const changes = await listChanges(store.db, ctx.workspace.id, { userId: updated.id });
    expect(changes.map((c) => c.action)).toEqual(["disable", "update", "create"]);
    expect(changes[1]!.before).toMatchObject({ department: null });
    expect(changes[1]!.after).toMatchObject({ department: "Engineering" });
    // A PIN shows in words, never as its hash: removed, (removing none changes nothing), set, changed.
    for (const pin of ["", "", "2468", "1357"]) await updateUser(ctx, updated.id, { pin });
    const pins = (await listChanges(store.db, ctx.workspace.id, { userId: updated.id })).slice(0, 3).reverse();
    expect(pins.map((c) => changedFields(c).map((f) => [f.field, f.from, f.to]))).toEqual([[["pin", "set", "(empty)"]], [["pin", "(empty)", "changed"]], [["pin", "set", "changed"]]]);
    await deleteUser(ctx, "ada@example.com");
    expect((await rejection(getUser(ctx, updated.id))).code).toBe("not_found");
  });

  it("merges custom attributes key by key (null removes one), and logs only the keys that changed", async () => {
    const user = await createUser(ctx, { email: "cara@example.com", displayName: "Cara", customAttributes: { costCentre: "4711", site: "HQ", gone: null } });
    expect(user.customAttributes).toEqual({ costCentre: "4711", site: "HQ" });
    expect((await updateUser(ctx, user.id, { customAttributes: { office: "London" } })).customAttributes).toEqual({ costCentre: "4711", site: "HQ", office: "London" });
    const updated = await updateUser(ctx, user.id, { customAttributes: { site: null, office: "Paris", missing: null } });
    expect(updated.customAttributes).toEqual({ costCentre: "4711", office: "Paris" });
    const [last, first] = await listChanges(store.db, ctx.workspace.id, { userId: user.id, action: "update" });
    expect(changedFields(first!)).toEqual([{ field: "customAttributes.office", from: "(empty)", to: "London" }]);
    expect(changedFields(last!).map((f) => [fieldLabel(f.field), f.from, f.to])).toEqual([["Custom attribute “site”", "HQ", "(empty)"], ["Custom attribute “office”", "London", "Paris"]]);
    const error = await rejection(updateUser(ctx, user.id, { customAttributes: { site: 1 } }));
    expect(error.details.fields).toEqual([expect.objectContaining({ field: "customAttributes.site" })]);
  });

  it("filters, searches and pages server-side", async () => {
    for (let i = 0; i < 30; i++) {
      await createUser(ctx, { email: `user${i}@example.com`, displayName: `User ${String(i).padStart(2, "0")}`, enabled: i % 3 !== 0 });
    }
    const first = await listUsers(ctx, { enabled: false }, { ...page, limit: 5 });
    expect(first.total).toBe(10);
    expect(first.items.map((u) => u.displayName)).toEqual(["User 00", "User 03", "User 06", "User 09", "User 12"]);
    const search = await listUsers(ctx, { q: "user2" }, page);
    expect(search.total).toBe(11); // user2 and user20..user29
    expect(search.items.every((u) => u.email!.startsWith("user2"))).toBe(true);
    const tagged = await listUsers(ctx, { tag: "Manual", source: "manual" }, { ...page, sort: "email", order: "desc", limit: 2 });
    expect(tagged.items.map((u) => u.email)).toEqual(["user9@example.com", "user8@example.com"]);
  });

  it("sorts names alphabetically as people read them: accents and case beside their letter, not after Z", async () => {
    const abc = await createWorkspace(store.db, { name: "alphabet" });
    const abcCtx = { db: store.db, workspace: abc, actor: "test" };
    for (const name of ["Zoe", "Ölaf", "émile", "Eve", "Otto", "Émile Roux"]) {
      await createUser(abcCtx, { email: `${name.normalize("NFD").replace(/[^a-z]/gi, "").toLowerCase()}@example.com`, displayName: name });
      await createGroup(abcCtx, { name: `${name} team` });
    }
    const names = (await listUsers(abcCtx, {}, page)).items.map((u) => u.displayName);
    expect(names).toEqual(["émile", "Émile Roux", "Eve", "Ölaf", "Otto", "Zoe"]);
    expect((await listUsers(abcCtx, {}, { ...page, order: "desc" })).items.map((u) => u.displayName)).toEqual([...names].reverse());
    const groups = (await listGroups(abcCtx, {}, page)).items.map((g) => g.name);
    expect(groups).toEqual(["Émile Roux team", "émile team", "Eve team", "Ölaf team", "Otto team", "Zoe team"]);
    await addMember(abcCtx, "Zoe team", "eve@example.com");
    await addMember(abcCtx, "Ölaf team", "eve@example.com");
    await addMember(abcCtx, "Émile Roux team", "eve@example.com");
    expect((await getUser(abcCtx, "eve@example.com")).groups).toEqual(["Émile Roux team", "Ölaf team", "Zoe team"]);
  });

  it("keeps workspaces apart", async () => {
    const other = await createWorkspace(store.db, { name: "other" });
    const otherCtx = { db: store.db, workspace: other, actor: "test" };
    await createUser(otherCtx, { email: "user1@example.com", displayName: "Same email, other workspace" });
    expect((await rejection(getUser(otherCtx, "user2@example.com"))).code).toBe("not_found");
    expect((await resolveWorkspace(store.db, "OTHER")).id).toBe(other.id);
  });
});
