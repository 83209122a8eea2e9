import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { raiseImportFailed } from "../../src/core/notifications.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { route } from "../../src/api/route.ts";
import { caller, expectError, signIn, testApi, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("API routes on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  const failing = {
    tag: "Test",
    routes: [
      route({
        method: "GET",
        url: "/test/explode",
        summary: "throws an unexpected error",
        access: "public",
        async handler() {
          throw new Error("connection to db-secret-host.internal:5432 refused, password=hunter2");
        },
      }),
      route({
        method: "GET",
        url: "/test/leak",
        summary: "returns more than its schema",
        access: "public",
        response: z.object({ id: z.string() }),
        handler: async () => ({ id: "u1", pinHash: "scrypt$leak" }),
      }),
    ],
  };

  beforeAll(async () => {
    const dist = mkdtempSync(join(tmpdir(), "rollcall-console-"));
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>console</title><div id=root></div>");
    writeFileSync(join(dist, "app.js"), "console.log('app')");
    api = await testApi(engine, { modules: [failing], consoleDist: dist, config: { loginAttempts: 1000 } });
    await createWorkspace(api.store.db, { name: "acme", defaultCountry: "GB" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    as = await signIn(api.app, "owner@example.com", "owner password 1");
  });
  afterAll(() => api?.close());

  it("GET /health, with headers that keep API answers out of caches and frames", async () => {
    const health = await as("GET", "health");
    expect(health).toMatchObject({ status: 200, body: { status: "ok", database: engine } });
    expect(health.headers).toMatchObject({ "cache-control": "no-store", "x-content-type-options": "nosniff", "x-frame-options": "DENY" });
  });

  it("workspaces: list, show by name or id, create, update, and their bad input", async () => {
    const list = await as("GET", "workspaces");
    expect(list.body).toMatchObject({ total: 2, offset: 0 });
    expect(list.body.items.map((w: { name: string }) => w.name)).toEqual(["acme", "default"]);
    const acme = list.body.items[0];
    expect((await as("GET", `workspaces/${acme.id}`)).body).toMatchObject({ name: "acme", defaultCountry: "GB", role: "admin" });
    expect((await as("GET", "workspaces/ACME")).body.id).toBe(acme.id);
    expectError(await as("GET", "workspaces/nope"), 404, "not_found");

    expect((await as("PATCH", "workspaces/acme", { defaultCountry: "us" })).body.defaultCountry).toBe("US");
    expectError(await as("PATCH", "workspaces/acme", { defaultCountry: "XX" }), 400, "invalid_input", ["defaultCountry"]);
    expectError(await as("PATCH", "workspaces/acme", { colour: "red" }), 400, "invalid_input");
    expect((await as("GET", "workspaces/acme")).body.defaultCountry).toBe("US");
    await as("PATCH", "workspaces/acme", { defaultCountry: "GB" });

    expectError(await as("POST", "workspaces", { name: "has spaces" }), 400, "invalid_input", ["name"]);
    expectError(await as("POST", "workspaces", { name: "Acme" }), 409, "conflict");
    expectError(await as("POST", "workspaces", {}), 400, "invalid_input", ["name"]);
    expect((await as("GET", "workspaces")).body.total).toBe(2);
  });

  it("users: create, show by id or email, update, disable, history, delete", async () => {
    const created = await as("POST", "workspaces/acme/users", {
      email: "ada@example.com",
      displayName: "Ada Lovelace",
      mobilePhone: "07911 123456",
      pin: "4321",
      tags: ["vip"],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: "ada@example.com", mobilePhone: "+447911123456", tags: ["Manual", "vip"], enabled: true });
    expect(JSON.stringify(created.body)).not.toMatch(/pin|scrypt|4321/i);
    const id = created.body.id;

    // The answer to a save is the user as shown, with what its values lost on the way (nothing here); shown alone,
    // with the change that gave them their status.
    const { warnings, ...shown } = created.body;
    expect(warnings).toEqual([]);
    const byEmail = await as("GET", "workspaces/acme/users/ADA@example.com");
    // The user's own answer: the groups they are in through nesting, their direct reports, the change that gave their status, an open conflict.
    expect(byEmail.body).toEqual({ ...shown, nestedGroups: [], directReports: [], statusChange: expect.objectContaining({ enabled: true, action: "create", runId: null }), openConflict: null, photoSource: null });
    expect((await as("GET", `workspaces/acme/users/${id}`)).body.id).toBe(id);

    const updated = await as("PATCH", `workspaces/acme/users/${id}`, { department: "Engineering", jobTitle: "Analyst" });
    expect(updated).toMatchObject({ status: 200, body: { department: "Engineering", jobTitle: "Analyst", displayName: "Ada Lovelace" } });

    // customAttributes is a JSON merge patch: the keys sent are set, null removes one, the others stay.
    expect((await as("PATCH", `workspaces/acme/users/${id}`, { customAttributes: { a: "1" } })).body.customAttributes).toEqual({ a: "1" });
    expect((await as("PATCH", `workspaces/acme/users/${id}`, { customAttributes: { b: "2" } })).body.customAttributes).toEqual({ a: "1", b: "2" });
    expect((await as("PATCH", `workspaces/acme/users/${id}`, { customAttributes: { a: null } })).body.customAttributes).toEqual({ b: "2" });
    await as("PATCH", `workspaces/acme/users/${id}`, { customAttributes: { b: null } });

    const disabled = await as("POST", `workspaces/acme/users/${id}/disable`);
    expect(disabled).toMatchObject({ status: 200, body: { enabled: false } });

    const history = await as("GET", `workspaces/acme/users/${id}/changes`);
    expect(history.body).toMatchObject({ total: 7, limit: 100, offset: 0 });
    expect(history.body.items.map((c: { action: string }) => c.action)).toEqual(["disable", "update", "update", "update", "update", "update", "create"]);
    expect(history.body.items[0].actor).toBe("owner@example.com");
    const paged = await as("GET", `workspaces/acme/users/${id}/changes?limit=1&offset=6`);
    expect(paged.body.items.map((c: { action: string }) => c.action)).toEqual(["create"]);
    expect(JSON.stringify(history.body)).not.toMatch(/scrypt/);

    const removed = await as("DELETE", `workspaces/acme/users/${id}`);
    expect(removed).toMatchObject({ status: 200, body: { id, email: "ada@example.com" } });
    expectError(await as("GET", `workspaces/acme/users/${id}`), 404, "not_found");
    expectError(await as("DELETE", `workspaces/acme/users/${id}`), 404, "not_found");
    // Its history outlives it: asked for by the id or an address it had.
    for (const key of [id, "ADA@example.com"]) {
      const kept = await as("GET", `workspaces/acme/users/${key}/changes?limit=2`);
      expect(kept.body).toMatchObject({ total: 8, items: [{ action: "delete", subject: "ada@example.com" }, { action: "disable" }] });
    }
    const never = await as("GET", "workspaces/acme/users/nobody@example.com/changes");
    expectError(never, 404, "not_found");
    expect(never.body.error.message).toMatch(/no user deleted from this workspace had that id, email or userPrincipalName/);
  });

  it("users: bad input is a specific error and changes nothing", async () => {
    const base = await as("POST", "workspaces/acme/users", { email: "grace@example.com", displayName: "Grace Hopper" });
    const before = await as("GET", `workspaces/acme/users/${base.body.id}`);

    expectError(await as("POST", "workspaces/acme/users", { email: "x@example.com" }), 400, "invalid_input", ["displayName"]);
    expectError(await as("POST", "workspaces/acme/users", { displayName: "No Email" }), 400, "invalid_input", ["email"]);
    expectError(await as("POST", "workspaces/acme/users", { email: "not-an-email", displayName: "Bad" }), 400, "invalid_input", ["email"]);
    expectError(await as("POST", "workspaces/acme/users", { email: "p@example.com", displayName: "P", pin: "12ab" }), 400, "invalid_input", ["pin"]);
    expectError(await as("POST", "workspaces/acme/users", { email: "p@example.com", displayName: "P", shoeSize: 9 }), 400, "invalid_input", ["shoeSize"]);
    expectError(await as("POST", "workspaces/acme/users", { email: "p@example.com", displayName: 42 }), 400, "invalid_input", ["displayName"]);
    expectError(await as("POST", "workspaces/acme/users", { email: "GRACE@example.com", displayName: "Copy" }), 409, "conflict", ["email"]);
    expectError(await as("POST", "workspaces/acme/users", [1, 2]), 400, "invalid_input");
    const longName = await as("POST", "workspaces/acme/users", { email: "p@example.com", displayName: "P", customAttributes: { ["x".repeat(65)]: "1" } });
    expectError(longName, 400, "invalid_input", [`customAttributes.${"x".repeat(65)}`]);
    expect(longName.body.error.details.fields[0].message).toBe("a custom attribute's name is at most 64 characters");

    expectError(await as("PATCH", `workspaces/acme/users/${base.body.id}`, { mobilePhone: "12", department: "Ops" }), 400, "invalid_input", ["mobilePhone"]);
    expectError(await as("PATCH", `workspaces/acme/users/${base.body.id}`, { email: null }), 400, "invalid_input", ["email"]);
    expectError(await as("PATCH", "workspaces/acme/users/nobody@example.com", { department: "Ops" }), 404, "not_found");
    expectError(await as("POST", "workspaces/acme/users/nobody@example.com/disable"), 404, "not_found");
    expectError(await as("GET", "workspaces/acme/users/nobody@example.com/changes"), 404, "not_found");
    expectError(await as("GET", `workspaces/acme/users/${base.body.id}/changes?limit=9999`), 400, "invalid_input", ["limit"]);

    expect((await as("GET", `workspaces/acme/users/${base.body.id}`)).body).toEqual(before.body);
    expect((await as("GET", "workspaces/acme/users?q=example.com")).body.total).toBe(1);
  });

  it("users list: filters, search, sort, paging, and bad query parameters", async () => {
    for (const [email, displayName, department, tags] of [
      ["b1@list.test", "Bea One", "Sales", ["north"]],
      ["b2@list.test", "Bea Two", "Sales", []],
      ["c3@list.test", "Cal Three", "Ops", ["north"]],
    ] as const) {
      expect((await as("POST", "workspaces/acme/users", { email, displayName, department, tags })).status).toBe(201);
    }
    await as("POST", "workspaces/acme/users/b2@list.test/disable");
    const page = await as("GET", "workspaces/acme/users?q=list.test&sort=email&order=desc&limit=2");
    expect(page.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(page.body.items.map((u: { email: string }) => u.email)).toEqual(["c3@list.test", "b2@list.test"]);
    const next = await as("GET", "workspaces/acme/users?q=list.test&sort=email&order=desc&limit=2&offset=2");
    expect(next.body.items.map((u: { email: string }) => u.email)).toEqual(["b1@list.test"]);
    expect((await as("GET", "workspaces/acme/users?tag=north&enabled=true")).body.items.map((u: { email: string }) => u.email)).toEqual(["b1@list.test", "c3@list.test"]);
    expect((await as("GET", "workspaces/acme/users?enabled=false&sourceType=manual&source=manual")).body.items.map((u: { email: string }) => u.email)).toEqual(["b2@list.test"]);

    expectError(await as("GET", "workspaces/acme/users?limit=0"), 400, "invalid_input", ["limit"]);
    expectError(await as("GET", "workspaces/acme/users?limit=501"), 400, "invalid_input", ["limit"]);
    expectError(await as("GET", "workspaces/acme/users?limit=ten"), 400, "invalid_input", ["limit"]);
    expectError(await as("GET", "workspaces/acme/users?sort=password"), 400, "invalid_input", ["sort"]);
    expectError(await as("GET", "workspaces/acme/users?enabled=maybe"), 400, "invalid_input", ["enabled"]);
    expectError(await as("GET", "workspaces/acme/users?sourceType=ldap"), 400, "invalid_input", ["sourceType"]);
    expectError(await as("GET", "workspaces/acme/users?serch=bea"), 400, "invalid_input", ["serch"]);
    // A misspelt source or group is no "no users": it says what the workspace has. One that exists may match none.
    const misspelt = await as("GET", "workspaces/acme/users?source=Manul&group=nobody");
    expectError(misspelt, 400, "invalid_input", ["source", "group"]);
    expect(misspelt.body.error.message).toMatch(/^source: no source is named "Manul" in workspace "acme"; its sources are "manual"; group: no group is named "nobody"/);
    expect((await as("GET", "workspaces/acme/users?source=MANUAL&q=nomatch")).body).toMatchObject({ items: [], total: 0 });
  });

  it("groups: create, list, show, update, members, delete, and their bad input", async () => {
    await as("POST", "workspaces/acme/users", { email: "m1@groups.test", displayName: "Member One" });
    const created = await as("POST", "workspaces/acme/groups", { name: "Engineers", description: "builders" });
    expect(created).toMatchObject({ status: 201, body: { name: "Engineers", description: "builders", members: [], memberCount: 0 } });
    await as("POST", "workspaces/acme/groups", { name: "Everyone" });

    const added = await as("POST", "workspaces/acme/groups/engineers/members", { member: "m1@groups.test" });
    expect(added.body).toMatchObject({ members: ["m1@groups.test"], memberCount: 1 });
    expect((await as("POST", "workspaces/acme/groups/Everyone/members", { member: "Engineers" })).body.members).toEqual(["Engineers"]);
    expect((await as("GET", "workspaces/acme/users/m1@groups.test")).body.groups).toEqual(["Engineers"]);
    expect((await as("GET", "workspaces/acme/users?group=engineers")).body.items.map((u: { email: string }) => u.email)).toEqual(["m1@groups.test"]);

    const list = await as("GET", "workspaces/acme/groups?q=eng");
    expect(list.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
    expect((await as("GET", "workspaces/acme/groups?source=MANUAL&q=eng")).body).toMatchObject({ total: 1 });
    expect((await as("GET", "workspaces/acme/groups?source=manual&q=nomatch")).body).toMatchObject({ items: [], total: 0 });
    expect((await as("GET", "workspaces/acme/groups?sourceType=manual,import")).body).toMatchObject({ total: 2 });
    expect((await as("GET", "workspaces/acme/groups?sourceType=entra")).body).toMatchObject({ items: [], total: 0 });
    expect((await as("GET", "workspaces/acme/groups?sourceType=scim")).body).toMatchObject({ items: [], total: 0 });
    const unknownType = await as("GET", "workspaces/acme/groups?sourceType=manual,skim");
    expectError(unknownType, 400, "invalid_input", ["sourceType"]);
    expect(unknownType.body.error.message).toBe('sourceType: "skim" is not a source type; use manual, import, entra, scim, or several comma-separated');
    // A generated client repeats a list parameter: the same types, the same refusal.
    expect((await as("GET", "workspaces/acme/groups?sourceType=manual&sourceType=import")).body).toMatchObject({ total: 2 });
    const repeated = await as("GET", "workspaces/acme/groups?sourceType=import&sourceType=skim");
    expectError(repeated, 400, "invalid_input", ["sourceType"]);
    expect(repeated.body.error.message).toBe(unknownType.body.error.message);
    const misspelt = await as("GET", "workspaces/acme/groups?source=Manul");
    expectError(misspelt, 400, "invalid_input", ["source"]);
    expect(misspelt.body.error.message).toMatch(/^source: no source is named "Manul" in workspace "acme"; its sources are "manual"/);
    expect((await as("GET", `workspaces/acme/groups/${created.body.id}`)).body.name).toBe("Engineers");
    const renamed = await as("PATCH", "workspaces/acme/groups/Engineers", { name: "Builders" });
    expect(renamed.body).toMatchObject({ name: "Builders", description: "builders" });

    expectError(await as("POST", "workspaces/acme/groups", { name: "" }), 400, "invalid_input", ["name"]);
    const taken = await as("POST", "workspaces/acme/groups", { name: "everyone" });
    expectError(taken, 409, "conflict", ["name"]);
    // Which group holds the name, and where it comes from.
    expect(taken.body.error.details.fields[0].message).toBe('is another group\'s: "Everyone", added by hand; choose another name');
    expectError(await as("PATCH", "workspaces/acme/groups/Builders", { name: "Everyone" }), 409, "conflict");
    expectError(await as("PATCH", "workspaces/acme/groups/Builders", { owner: "me" }), 400, "invalid_input");
    expectError(await as("POST", "workspaces/acme/groups/Builders/members", { member: "Everyone" }), 400, "invalid_input", ["member"]);
    expectError(await as("POST", "workspaces/acme/groups/Builders/members", {}), 400, "invalid_input", ["member"]);
    expectError(await as("POST", "workspaces/acme/groups/Builders/members", { member: "ghost@example.com" }), 404, "not_found");
    expectError(await as("POST", "workspaces/acme/groups/nope/members", { member: "m1@groups.test" }), 404, "not_found");
    expectError(await as("GET", "workspaces/acme/groups?limit=-1"), 400, "invalid_input", ["limit"]);
    expect((await as("GET", "workspaces/acme/groups/Builders")).body).toMatchObject({ name: "Builders", members: ["m1@groups.test"] });

    const removed = await as("DELETE", "workspaces/acme/groups/Builders/members/m1@groups.test");
    expect(removed.body).toMatchObject({ members: [], memberCount: 0 });
    expectError(await as("DELETE", "workspaces/acme/groups/Builders/members/m1@groups.test"), 404, "not_found");

    // Its history, newest first, whatever it was called then; a deleted group's history goes with it.
    const history = await as("GET", "workspaces/acme/groups/Builders/changes?limit=2");
    expect(history.body).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(history.body.items.map((c: { action: string; subject: string }) => [c.action, c.subject])).toEqual([["remove from group Builders", "m1@groups.test"], ["update group", "Engineers"]]);
    // Its joining Everyone too, which Everyone's history reads as well.
    expect((await as("GET", "workspaces/acme/groups/Builders/changes?offset=2")).body.items.map((c: { action: string }) => c.action)).toEqual(["add to group Everyone", "add to group Engineers", "create group"]);
    expect((await as("DELETE", "workspaces/acme/groups/Builders")).body.name).toBe("Builders");
    // Its history is kept, marked deleted; the group itself is gone.
    const kept = (await as("GET", "workspaces/acme/groups/Builders/changes?limit=1")).body;
    expect(kept).toMatchObject({ total: 7, items: [{ action: "remove from group Everyone" }], deleted: { name: "Builders", deletedBy: "owner@example.com" } });
    expectError(await as("GET", "workspaces/acme/groups/Builders"), 404, "not_found");
    expect((await as("GET", "workspaces/acme/groups/Everyone")).body.members).toEqual([]);
  });

  it("tokens: create (shown once), list (never the value), revoke, and bad input", async () => {
    const created = await as("POST", "workspaces/acme/tokens", { name: "nightly export", role: "viewer" });
    expect(created).toMatchObject({ status: 201, body: { name: "nightly export", role: "viewer", workspace: "acme", revokedAt: null } });
    expect(created.body.token).toMatch(/^rc_/);
    const defaulted = await as("POST", "workspaces/acme/tokens");
    expect(defaulted).toMatchObject({ status: 201, body: { role: "admin" } });

    const list = await as("GET", "workspaces/acme/tokens");
    expect(list.body.total).toBe(2);
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect(list.body.items[0]).not.toHaveProperty("token");

    expectError(await as("POST", "workspaces/acme/tokens", { role: "root" }), 400, "invalid_input", ["role"]);
    expectError(await as("POST", "workspaces/acme/tokens", { name: "x".repeat(101) }), 400, "invalid_input", ["name"]);
    expectError(await as("DELETE", "workspaces/acme/tokens/00000000-0000-0000-0000-000000000000"), 404, "not_found");
    expect((await as("GET", "workspaces/acme/tokens")).body.total).toBe(2);

    const revoked = await as("DELETE", `workspaces/acme/tokens/${created.body.id}`);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await caller(api.app, { token: created.body.token })("GET", "workspaces/acme/users")).status).toBe(401);
    await as("DELETE", `workspaces/acme/tokens/${created.body.id}`); // already revoked: no second entry

    // The workspace's activity: who did what, newest first, a page at a time; never a token's value.
    const page = await as("GET", "workspaces/acme/activity?limit=3");
    expect(page.body.items.map((c: { action: string; subject: string; actor: string }) => [c.action, c.subject, c.actor])).toEqual([
      ["revoke token", "nightly export", "owner@example.com"], ["create token", defaulted.body.name, "owner@example.com"], ["create token", "nightly export", "owner@example.com"],
    ]);
    expect(JSON.stringify(page.body)).not.toContain(created.body.token);
    const older = await as("GET", `workspaces/acme/activity?limit=500&before=${page.body.next}`);
    expect(older.body.next).toBeNull();
    expect(older.body.items.map((c: { id: string }) => c.id).every((id: string) => BigInt(id) < BigInt(page.body.next))).toBe(true);
    expect(older.body.items.map((c: { action: string }) => c.action)).toEqual(expect.arrayContaining(["delete group", "create", "update workspace"]));
    const settings = await as("GET", "workspaces/acme/activity?action=update%20workspace");
    expect(settings.body.items.map((c: { before: unknown; after: unknown }) => [c.before, c.after])).toEqual([[{ defaultCountry: "US" }, { defaultCountry: "GB" }], [{ defaultCountry: "GB" }, { defaultCountry: "US" }]]);
    expect((await as("GET", "workspaces/acme/activity?actor=OWNER@example.com&limit=500")).body.items).toHaveLength(page.body.items.length + older.body.items.length);
    expect((await as("GET", "workspaces/acme/activity?actor=someone@example.com")).body).toEqual({ items: [], next: null });
    expectError(await as("GET", "workspaces/acme/activity?before=abc"), 400, "invalid_input", ["before"]);
    const unknownKind = await as("GET", "workspaces/acme/activity?action=frobnicate");
    expectError(unknownKind, 400, "invalid_input", ["action"]);
    expect(unknownKind.body.error.message).toContain("must be a kind of change: create, update,");
    expect((await as("GET", "workspaces/acme/activity?action=add%20to%20group%20Nobody")).body).toEqual({ items: [], next: null });

    // The same activity as a CSV download: every entry, in the words the console uses, formulas neutralised.
    const csv = await as("GET", "workspaces/acme/activity.csv?actor=OWNER@example.com");
    expect([csv.status, csv.headers["content-type"], csv.headers["content-disposition"]]).toEqual([200, "text/csv; charset=utf-8", 'attachment; filename="acme-activity.csv"']);
    const lines = (csv.body as string).replace(/^\uFEFF/, "").trim().split("\r\n");
    expect(lines[0]).toBe("time,by,change,subject,fields,notes,run");
    expect(lines).toHaveLength(page.body.items.length + older.body.items.length + 1);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[^,]+,owner@example\.com,Revoke token,nightly export,"Name: nightly export → \(empty\); Role: viewer → \(empty\)",,$/);
    expect((await as("GET", "workspaces/acme/activity.csv?action=update%20workspace")).body).toContain(",Update workspace,acme,Default country: US → GB,,");
    await as("POST", "workspaces/acme/groups", { name: "=1+2" });
    expect((await as("GET", "workspaces/acme/activity.csv?action=create%20group")).body).toContain(",Create group,'=1+2,");
    expectError(await as("GET", "workspaces/acme/activity.csv?limit=5"), 400, "invalid_input");
  });

  it("answers unknown API routes, wrong media types, bad JSON and oversized bodies in the error shape", async () => {
    expectError(await as("GET", "nope"), 404, "not_found");
    expectError(await as("DELETE", "workspaces"), 405, "method_not_allowed");
    expectError(await as("POST", "/not-api"), 404, "not_found");
    expectError(await as("POST", "workspaces/acme/groups", "name=x", { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
    expectError(await as("POST", "workspaces/acme/groups", "plain", { "content-type": "text/plain" }), 415, "unsupported_media_type");
    expectError(await as("POST", "workspaces/acme/groups", "{not json", { "content-type": "application/json" }), 400, "invalid_input", ["(body)"]);
    const huge = JSON.stringify({ name: "big", description: "x".repeat(2 * 1024 * 1024) });
    expectError(await as("POST", "workspaces/acme/groups", huge, { "content-type": "application/json" }), 413, "payload_too_large");
    expectError(await as("GET", "workspaces/acme/groups/big"), 404, "not_found");
  });

  it("takes an empty body sent as JSON as no body: routes without one work, routes that need one say it is missing", async () => {
    const json = { "content-type": "application/json" };
    const user = await as("POST", "workspaces/acme/users", { email: "empty-body@example.com", displayName: "Empty Body" });
    expect((await as("POST", `workspaces/acme/users/${user.body.id}/disable`, undefined, json)).body.enabled).toBe(false);
    expect((await as("DELETE", `workspaces/acme/users/${user.body.id}`, undefined, json)).status).toBe(200);
    for (const headers of [json, {}]) {
      const missing = await as("POST", "workspaces/acme/groups", undefined, headers);
      expectError(missing, 400, "invalid_input", ["(body)"]);
      expect(missing.body.error.details.fields[0].message).toBe("is missing: send a JSON object with Content-Type: application/json");
    }
    const notANumber = await as("GET", "workspaces/acme/users?limit=ten&offset=x");
    expect(notANumber.body.error.details.fields.map((f: { field: string; message: string }) => `${f.field}: ${f.message}`)).toEqual(["limit: must be a whole number", "offset: must be a whole number"]);
  });

  it("answers an unexpected failure with 500 and no internals", async () => {
    const reply = await as("GET", "test/explode");
    expectError(reply, 500, "internal");
    expect(JSON.stringify(reply.body)).not.toMatch(/hunter2|db-secret-host|stack/);
  });

  it("drops anything a response schema does not name (a hash can never leak)", async () => {
    expect((await as("GET", "test/leak")).body).toEqual({ id: "u1" });
  });

  it("serves the console, its files, and index.html for deep links; API paths never fall back", async () => {
    const root = await api.app.inject({ method: "GET", url: "/" });
    expect(root.statusCode).toBe(200);
    expect(root.body).toContain("<title>console</title>");
    expect((await api.app.inject({ method: "GET", url: "/app.js" })).body).toContain("console.log");
    const deep = await api.app.inject({ method: "GET", url: "/workspaces/acme/users/123" });
    expect(deep.statusCode).toBe(200);
    expect(deep.headers["content-type"]).toContain("text/html");
    expect(deep.body).toContain("<title>console</title>");
    const api404 = await api.app.inject({ method: "GET", url: "/api/v1/users" });
    expect(api404.statusCode).toBe(404);
    expect(api404.json().error.code).toBe("not_found");
  });

  it("a method a route does not take answers 405 with the ones it does; OPTIONS lists them; an unknown path stays 404", async () => {
    const wrong = await as("PUT", "workspaces/acme/users");
    expectError(wrong, 405, "method_not_allowed");
    expect(wrong.headers.allow).toBe("GET, POST, HEAD, OPTIONS");
    expect(wrong.body.error.message).toBe("PUT is not a method of /api/v1/workspaces/acme/users; it takes GET, POST");
    const options = await api.app.inject({ method: "OPTIONS", url: "/api/v1/workspaces/acme/users/u1/disable" });
    expect([options.statusCode, options.headers.allow]).toEqual([204, "POST, OPTIONS"]);
    expectError(await as("GET", "workspaces/acme/nothing-here"), 404, "not_found");
  });

  it("a PATCH with If-Match applies only to the version read (ETag): a change made meanwhile is a 412, not lost", async () => {
    const created = await as("POST", "workspaces/acme/users", { email: "etag@example.com", displayName: "E Tag", aliases: ["a1"] });
    const read = await as("GET", `workspaces/acme/users/${created.body.id}`);
    const version = read.headers.etag as string;
    expect(version).toMatch(/^"[\w-]{22}"$/);
    // Another admin adds an alias first; ours was made on the old list and would drop theirs.
    const theirs = await as("PATCH", `workspaces/acme/users/${created.body.id}`, { aliases: ["a1", "a2"] }, { "if-match": version });
    expect(theirs.status).toBe(200);
    expect(theirs.headers.etag).not.toBe(version);
    const ours = await as("PATCH", `workspaces/acme/users/${created.body.id}`, { aliases: ["a1", "b2"] }, { "if-match": version });
    expectError(ours, 412, "precondition_failed");
    expect((await as("GET", `workspaces/acme/users/${created.body.id}`)).body.aliases).toEqual(["a1", "a2"]);
    expect((await as("PATCH", `workspaces/acme/users/${created.body.id}`, { aliases: ["a1", "a2", "b2"] }, { "if-match": theirs.headers.etag as string })).status).toBe(200);
    expect((await as("PATCH", `workspaces/acme/users/${created.body.id}`, { department: "Ops" }, { "if-match": "*" })).status).toBe(200);

    // Paging a history while it grows: `before` the last entry seen neither repeats nor skips one.
    const history = `workspaces/acme/users/${created.body.id}/changes`;
    const newest = (await as("GET", `${history}?limit=2`)).body.items as { id: string }[];
    await as("PATCH", `workspaces/acme/users/${created.body.id}`, { department: "Research" });
    const shifted = (await as("GET", `${history}?limit=2&offset=2`)).body.items as { id: string }[];
    expect(shifted[0]!.id, "an offset shifts by the entry logged meanwhile").toBe(newest[1]!.id);
    const next = (await as("GET", `${history}?limit=2&before=${newest[1]!.id}`)).body;
    const all = ((await as("GET", `${history}?limit=500`)).body.items as { id: string }[]).map((c) => c.id);
    expect(next.items.map((c: { id: string }) => c.id)).toEqual(all.slice(all.indexOf(newest[1]!.id) + 1, all.indexOf(newest[1]!.id) + 3));
  });

  it("a group's PATCH with If-Match applies only to the version read; its members changing is not a new version", async () => {
    const group = (await as("POST", "workspaces/acme/groups", { name: "Versioned", description: "first" })).body;
    const version = (await as("GET", "workspaces/acme/groups/Versioned")).headers.etag as string;
    expect(version).toMatch(/^"[\w-]{22}"$/);
    const member = (await as("POST", "workspaces/acme/users", { email: "versioned@example.com", displayName: "V" })).body;
    await as("POST", `workspaces/acme/groups/${group.id}/members`, { member: member.id });
    expect((await as("GET", `workspaces/acme/groups/${group.id}`)).headers.etag).toBe(version);
    const theirs = await as("PATCH", `workspaces/acme/groups/${group.id}`, { description: "theirs" }, { "if-match": version });
    expect(theirs.status).toBe(200);
    const ours = await as("PATCH", `workspaces/acme/groups/${group.id}`, { name: "Renamed" }, { "if-match": version });
    expectError(ours, 412, "precondition_failed");
    expect((await as("GET", `workspaces/acme/groups/${group.id}`)).body).toMatchObject({ name: "Versioned", description: "theirs" });
    expect((await as("PATCH", `workspaces/acme/groups/${group.id}`, { name: "Renamed" }, { "if-match": theirs.headers.etag as string })).body.name).toBe("Renamed");
  });

  it("pages notifications and the delivery log like every list: limit, offset, total, no row twice", async () => {
    const notes = await createWorkspace(api.store.db, { name: "notes" });
    await updateNotificationSettings(api.store.db, api.rt.secrets, notes, { emailTo: ["ops@example.com"] }, "test");
    for (const n of [1, 2, 3]) await raiseImportFailed(api.store.db, { workspace: notes, importId: `import-${n}`, fileName: `staff-${n}.csv`, message: "Row 2 has no email." });
    const first = (await as("GET", "workspaces/notes/notifications?limit=2")).body;
    const second = (await as("GET", "workspaces/notes/notifications?limit=2&offset=2")).body;
    expect([first.total, first.items.length, second.items.length]).toEqual([3, 2, 1]);
    expect(new Set([...first.items, ...second.items].map((n: { subject: string }) => n.subject))).toEqual(new Set(["import-1", "import-2", "import-3"]));
    expect((await as("GET", "workspaces/notes/notification-deliveries?limit=1&offset=1")).body).toMatchObject({ total: 3, limit: 1, offset: 1, items: [{ channel: "email" }] });
  });

  it("groups at scale: the list answers counts and members only with include=members; a group's members page by cursor; a change answers cheaply", async () => {
    await as("POST", "workspaces/acme/groups", { name: "Scale-crew" });
    for (const n of [3, 1, 2]) {
      await as("POST", "workspaces/acme/users", { email: `scale${n}@groups.test`, displayName: `Scale ${n}` });
      expect((await as("POST", "workspaces/acme/groups/Scale-crew/members", { member: `scale${n}@groups.test` })).body).toMatchObject({ added: true, memberCount: expect.any(Number) });
    }
    const again = await as("POST", "workspaces/acme/groups/Scale-crew/members", { member: "scale1@groups.test" });
    expect(again.body).toMatchObject({ added: false, memberCount: 3, members: ["scale1@groups.test", "scale2@groups.test", "scale3@groups.test"] });

    const lean = await as("GET", "workspaces/acme/groups?q=scale");
    expect(lean.body.items).toEqual([expect.objectContaining({ name: "Scale-crew", memberCount: 3 })]);
    expect(lean.body.items[0]).not.toHaveProperty("members");
    const full = await as("GET", "workspaces/acme/groups?q=scale&include=members");
    expect(full.body.items[0]).toMatchObject({ name: "Scale-crew", memberCount: 3, members: ["scale1@groups.test", "scale2@groups.test", "scale3@groups.test"] });
    expectError(await as("GET", "workspaces/acme/groups?include=everything"), 400, "invalid_input", ["include"]);

    const first = await as("GET", "workspaces/acme/groups/Scale-crew/members?limit=2");
    expect(first.body).toMatchObject({ total: 3, limit: 2, next: expect.any(String) });
    expect(first.body.items).toEqual([
      { id: expect.any(String), kind: "user", displayName: "Scale 1", email: "scale1@groups.test" },
      { id: expect.any(String), kind: "user", displayName: "Scale 2", email: "scale2@groups.test" },
    ]);
    const second = await as("GET", `workspaces/acme/groups/Scale-crew/members?limit=2&after=${encodeURIComponent(first.body.next)}`);
    expect(second.body).toMatchObject({ total: 3, next: null, items: [{ displayName: "Scale 3" }] });
    expect((await as("GET", "workspaces/acme/groups/Scale-crew/members?q=SCALE2")).body).toMatchObject({ total: 1, items: [{ email: "scale2@groups.test" }], next: null });
    expectError(await as("GET", "workspaces/acme/groups/Scale-crew/members?after=nope"), 400, "invalid_input", ["after"]);
    expectError(await as("GET", "workspaces/acme/groups/nope/members"), 404, "not_found");

    // A member removed by the id the page gave, answered with the new count.
    const removed = await as("DELETE", `workspaces/acme/groups/Scale-crew/members/${first.body.items[0].id}`);
    expect(removed.body).toMatchObject({ memberCount: 2, members: ["scale2@groups.test", "scale3@groups.test"] });
    expect((await as("GET", "workspaces/acme/groups/Scale-crew?include=members")).body.members).toEqual(["scale2@groups.test", "scale3@groups.test"]);
  });
});

describe("console not built", () => {
  it("answers a page that says how to build it, for / and deep links", async () => {
    const api = await testApi("pglite", { consoleDist: join(tmpdir(), "rollcall-no-console-here") });
    try {
      for (const url of ["/", "/users"]) {
        const reply = await api.app.inject({ method: "GET", url });
        expect(reply.statusCode).toBe(200);
        expect(reply.body).toContain("npm run build:console");
      }
    } finally {
      await api.close();
    }
  });
});
