import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { accountCaller, caller, signIn, testApi, tokenCaller, type TestApi } from "./support.ts";

describe.each(engines)("admin accounts API on %s", (engine) => {
  let api: TestApi;
  let owner: Awaited<ReturnType<typeof signIn>>;

  beforeAll(async () => {
    api = await testApi(engine, { config: { loginAttempts: 1000 } });
    await createWorkspace(api.store.db, { name: "acme" });
    await createAccount(api.store.db, { email: "owner@example.com", owner: true, password: "owner password 1" }, "test");
    owner = await signIn(api.app, "owner@example.com", "owner password 1");
  });
  afterAll(() => api?.close());

  it("creates an account whose one-time password signs in with exactly the granted role", async () => {
    const created = await owner("POST", "accounts", { email: "helpdesk@example.com", workspace: "acme", role: "viewer" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ account: { email: "helpdesk@example.com", isOwner: false }, workspaces: [{ workspace: "acme", role: "viewer" }] });
    const helpdesk = await signIn(api.app, "helpdesk@example.com", created.body.password);
    expect((await helpdesk("GET", "workspaces")).body.items.map((w: { name: string }) => w.name)).toEqual(["acme"]);
    expect((await helpdesk("POST", "workspaces/acme/groups", { name: "x" })).status).toBe(403);

    const listed = await owner("GET", "accounts");
    expect(listed.body.items.map((a: { email: string }) => a.email)).toEqual(["helpdesk@example.com", "owner@example.com"]);
    expect(JSON.stringify(listed.body)).not.toMatch(/scrypt|password/i);
  });

  it("refuses bad input and duplicates, changing nothing", async () => {
    const before = (await owner("GET", "accounts")).body.total;
    for (const [body, field] of [
      [{ email: "nope", owner: true }, "email"],
      [{ email: "lost@example.com" }, "workspace"],
      [{ email: "x@example.com", workspace: "acme", role: "root" }, "role"],
      [{ email: "x@example.com", owner: "yes" }, "owner"],
    ] as const) {
      const reply = await owner("POST", "accounts", body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual([field]);
    }
    expect((await owner("POST", "accounts", { email: "x@example.com", workspace: "nowhere" })).status).toBe(404);
    expect((await owner("POST", "accounts", { email: "HELPDESK@example.com", owner: true })).body.error.code).toBe("conflict");
    expect((await owner("GET", "accounts")).body.total).toBe(before);
  });

  it("changes roles, resets passwords (ending sessions) and deletes accounts", async () => {
    const { password } = (await owner("POST", "accounts", { email: "temp@example.com", workspace: "acme", role: "viewer" })).body;
    const temp = await signIn(api.app, "temp@example.com", password);
    const promoted = await owner("PUT", "accounts/temp@example.com/workspaces/acme", { role: "admin" });
    expect(promoted.body.workspaces).toEqual([expect.objectContaining({ workspace: "acme", role: "admin" })]);
    expect((await temp("POST", "workspaces/acme/groups", { name: "temps" })).status).toBe(201);
    expect((await owner("PUT", "accounts/temp@example.com/workspaces/acme", { role: "god" })).status).toBe(400);

    const reset = await owner("POST", "accounts/temp@example.com/reset-password");
    expect(reset.body.password).not.toBe(password);
    expect((await temp("GET", "auth/me")).status).toBe(401);
    const again = await signIn(api.app, "temp@example.com", reset.body.password);

    const removed = await owner("DELETE", "accounts/temp@example.com/workspaces/acme");
    expect(removed.body.workspaces).toEqual([]);
    expect((await again("GET", "workspaces/acme/users")).status).toBe(404);
    expect((await owner("DELETE", "accounts/temp@example.com/workspaces/acme")).status).toBe(404);

    const deleted = await owner("DELETE", `accounts/${removed.body.id}`);
    expect(deleted.body.email).toBe("temp@example.com");
    expect((await again("GET", "auth/me")).status).toBe(401);
    expect((await owner("DELETE", "accounts/temp@example.com")).status).toBe(404);
  });

  it("records who gave or took access in the workspace's activity, never a password", async () => {
    const activity = async (subject: string) =>
      (await owner("GET", "workspaces/acme/activity?limit=100")).body.items
        .filter((c: { subject: string }) => c.subject === subject)
        .map((c: { action: string; actor: string; before: unknown; after: unknown }) => [c.action, c.actor, c.before, c.after]);
    const created = await owner("POST", "accounts", { email: "audited@example.com", workspace: "acme", role: "viewer" });
    await owner("PUT", "accounts/audited@example.com/workspaces/acme", { role: "admin" });
    await owner("PUT", "accounts/audited@example.com/workspaces/acme", { role: "admin" }); // the same role again: nothing to record
    await owner("POST", "accounts/audited@example.com/reset-password");
    await owner("DELETE", "accounts/audited@example.com");
    expect(await activity("audited@example.com")).toEqual([
      ["revoke access", "owner@example.com", { role: "admin" }, { message: "the account was deleted" }],
      ["reset password", "owner@example.com", null, { message: "a new password was issued and the account's sessions were ended" }],
      ["change access", "owner@example.com", { role: "viewer" }, { role: "admin", signIn: "password" }],
      ["grant access", "owner@example.com", null, { role: "viewer", signIn: "password" }],
    ]);
    const log = JSON.stringify((await owner("GET", "workspaces/acme/activity?limit=100")).body);
    expect(log).not.toContain(created.body.password);
    expect(log).not.toMatch(/scrypt/);
  });

  it("keeps the last owner and your own account, and is for owners only", async () => {
    const self = await owner("DELETE", "accounts/owner@example.com");
    expect(self.status).toBe(400);
    const second = await owner("POST", "accounts", { email: "owner2@example.com", owner: true });
    const owner2 = await signIn(api.app, "owner2@example.com", second.body.password);
    expect((await owner2("DELETE", "accounts/owner@example.com")).status).toBe(200);
    const last = await owner2("DELETE", "accounts/owner2@example.com");
    expect(last.status).toBe(400);

    const admin = await accountCaller(api, "ws-admin@example.com", { workspace: "acme", role: "admin" });
    const token = await tokenCaller(api, "acme", "admin");
    for (const who of [admin, token, caller(api.app)]) {
      const reply = await who("GET", "accounts");
      expect([401, 403]).toContain(reply.status);
      expect((await who("POST", "accounts", { email: "sneaky@example.com", owner: true })).status).toBeGreaterThanOrEqual(401);
    }
    expect((await owner2("GET", "accounts")).body.items.map((a: { email: string }) => a.email)).not.toContain("sneaky@example.com");
  });
});
