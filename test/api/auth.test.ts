import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { createWorkspace, resolveWorkspace } from "../../src/core/workspaces.ts";
import { recordChange } from "../../src/core/change-log.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { hashToken } from "../../src/security/hashing.ts";
import { accountCaller, caller, signIn, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";

describe.each(engines)("API authentication on %s", (engine) => {
  let api: TestApi;
  let owner: Awaited<ReturnType<typeof accountCaller>>;
  const password = "correct horse battery";

  beforeAll(async () => {
    api = await testApi(engine, { config: { loginAttempts: 1000 } });
    await createWorkspace(api.store.db, { name: "a" });
    await createWorkspace(api.store.db, { name: "b" });
    await createAccount(api.store.db, { email: "root@example.com", owner: true, password }, "test");
    owner = await signIn(api.app, "root@example.com", password);
  });
  afterAll(() => api?.close());

  it("signs in with a hardened session cookie and stores only a hash of the session id", async () => {
    const response = await api.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { email: "ROOT@example.com", password } });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.account).toMatchObject({ email: "root@example.com", isOwner: true });
    expect(body.account).not.toHaveProperty("passwordHash");
    expect(body.csrfToken).toMatch(/^[\w-]{20,}$/);
    const cookie = response.cookies.find((c) => c.name === "rollcall_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/", maxAge: 12 * 3600 });
    expect(cookie.secure).toBeFalsy(); // plain http to localhost
    const stored = await api.store.db.selectFrom("sessions").select("id_hash").execute();
    expect(stored.map((s) => s.id_hash)).toContain(hashToken(cookie.value));
    expect(stored.map((s) => s.id_hash)).not.toContain(cookie.value);
  });

  it("marks the cookie Secure when the request did not come over plain http to loopback", async () => {
    const response = await api.app.inject({ method: "POST", url: "/api/v1/auth/login", headers: { host: "rollcall.example.com" }, payload: { email: "root@example.com", password } });
    expect(response.cookies.find((c) => c.name === "rollcall_session")!.secure).toBe(true);
  });

  it("answers me with the account, CSRF token and visible workspaces, and nothing after logout", async () => {
    const session = await signIn(api.app, "root@example.com", password);
    const me = await session("GET", "auth/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ account: { email: "root@example.com" }, csrfToken: session.session.csrf, token: null });
    expect(me.body.workspaces.map((w: { name: string }) => w.name)).toEqual(["a", "b", "default"]);
    const out = await session("POST", "auth/logout");
    expect(out.status).toBe(200);
    // A password session has no Microsoft session to end.
    expect(out.body).toEqual({ microsoftSignOutUrl: null });
    const after = await session("GET", "auth/me");
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("unauthenticated");
  });

  it("refuses a wrong password and an unknown email with the same message", async () => {
    const anonymous = caller(api.app);
    const wrong = await anonymous("POST", "auth/login", { email: "root@example.com", password: "not it at all" });
    const unknown = await anonymous("POST", "auth/login", { email: "nobody@example.com", password: "not it at all" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error).toMatchObject({ code: "unauthenticated", message: "The email or password is incorrect" });
    expect(wrong.headers["set-cookie"]).toBeUndefined();
  });

  it("rejects a missing field at login with a field-level error", async () => {
    const response = await caller(api.app)("POST", "auth/login", { email: "root@example.com" });
    expect(response.status).toBe(400);
    expect(response.body.error.details.fields).toEqual([expect.objectContaining({ field: "password" })]);
  });

  it("needs credentials for everything but health, login and the OpenAPI document", async () => {
    const anonymous = caller(api.app);
    expect((await anonymous("GET", "health")).status).toBe(200);
    expect((await anonymous("GET", "openapi.json")).status).toBe(200);
    for (const url of ["workspaces", "workspaces/a/users", "auth/me"]) {
      const response = await anonymous("GET", url);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe("unauthenticated");
    }
    const badToken = await caller(api.app, { token: "rc_nope" })("GET", "workspaces");
    expect(badToken.status).toBe(401);
    const badCookie = await caller(api.app, { cookie: "forged" })("GET", "workspaces");
    expect(badCookie.status).toBe(401);
  });

  it("requires the CSRF header on changes made with a session cookie, and changes nothing without it", async () => {
    const noCsrf = caller(api.app, { cookie: owner.session.cookie });
    const refused = await noCsrf("POST", "workspaces/a/users", { email: "csrf@example.com", displayName: "CSRF" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("csrf_failed");
    const wrong = await noCsrf("POST", "workspaces/a/users", { email: "csrf@example.com", displayName: "CSRF" }, { "x-csrf-token": "guess" });
    expect(wrong.body.error.code).toBe("csrf_failed");
    expect((await owner("GET", "workspaces/a/users/csrf@example.com")).status).toBe(404);
    // Reads need no CSRF token.
    expect((await noCsrf("GET", "workspaces/a/users")).status).toBe(200);
    expect((await owner("POST", "workspaces/a/users", { email: "csrf@example.com", displayName: "CSRF" })).status).toBe(201);
  });

  it("needs no CSRF header with a bearer token", async () => {
    const token = await tokenCaller(api, "a", "admin");
    const created = await token("POST", "workspaces/a/users", { email: "bot@example.com", displayName: "Made by a script" });
    expect(created.status).toBe(201);
    const history = await owner("GET", `workspaces/a/users/${created.body.id}/changes`);
    expect(history.body.items[0]).toMatchObject({ action: "create", actor: "token:admin token" });
  });

  it("records a token's changes by the token and the admin who created it; the activity filter and CSV say both", async () => {
    const made = await owner("POST", "workspaces/a/tokens", { name: "deploy", role: "admin" });
    expect(made.status).toBe(201);
    const deploy = caller(api.app, { token: made.body.token });
    const created = await deploy("POST", "workspaces/a/users", { email: "deployed@example.com", displayName: "Deployed" });
    expect(created.status).toBe(201);
    const history = await owner("GET", `workspaces/a/users/${created.body.id}/changes`);
    expect(history.body.items[0]).toMatchObject({ action: "create", actor: "token:deploy by root@example.com" });
    // An entry the local CLI made before it named its account, and one it made since.
    await recordChange(api.store.db, { workspaceId: (await resolveWorkspace(api.store.db, "a")).id, actor: "cli", subject: "old@example.com", action: "update" });
    await recordChange(api.store.db, { workspaceId: (await resolveWorkspace(api.store.db, "a")).id, actor: "cli:alice", subject: "new@example.com", action: "update" });
    const actors = async (actor: string) => (await owner("GET", `workspaces/a/activity?actor=${encodeURIComponent(actor)}`)).body.items.map((c: { actor: string }) => c.actor);
    expect(await actors("token:deploy")).toEqual(["token:deploy by root@example.com"]);
    expect(await actors("cli")).toEqual(["cli:alice", "cli"]);
    expect(await actors("CLI:Alice")).toEqual(["cli:alice"]);
    expect(await actors("cli:al%")).toEqual([]);
    // As the activity shows them, too.
    expect(await actors("alice (CLI)")).toEqual(["cli:alice"]);
    expect(await actors('API token "deploy"')).toEqual(["token:deploy by root@example.com"]);
    expect(await actors('API token "deploy" (created by root@example.com)')).toEqual(["token:deploy by root@example.com"]);
    // A name that ends as a creator does would read as made by that address (by anyone, the CLI among them).
    const misleading = await owner("POST", "workspaces/a/tokens", { name: "nightly by eve@example.com", role: "admin" });
    expect([misleading.status, misleading.body.error.details.fields]).toEqual([400, [expect.objectContaining({ field: "name", message: expect.stringContaining('must not end in " by eve@example.com"') })]]);
    const csv = (await owner("GET", "workspaces/a/activity.csv")).body as string;
    expect(csv).toContain(',"API token ""deploy"" (created by root@example.com)",Created,deployed@example.com,');
    expect(csv).toContain(",alice (CLI),Updated,new@example.com,");
    expect(csv).toContain(",CLI,Updated,old@example.com,");
  });

  it("lets a viewer read but not change, and leaves the data untouched", async () => {
    const viewer = await accountCaller(api, "viewer@example.com", { workspace: "a", role: "viewer" });
    expect((await viewer("GET", "workspaces/a/users")).status).toBe(200);
    for (const [method, url, body] of [
      ["POST", "workspaces/a/users", { email: "v@example.com", displayName: "V" }],
      ["PATCH", "workspaces/a/users/bot@example.com", { department: "Sales" }],
      ["DELETE", "workspaces/a/users/bot@example.com", undefined],
      ["POST", "workspaces/a/groups", { name: "viewers" }],
      ["POST", "workspaces/a/tokens", { role: "admin" }],
      ["PATCH", "workspaces/a", { defaultCountry: "GB" }],
      ["GET", "workspaces/a/tokens", undefined], // not even their names
    ] as const) {
      const response = await viewer(method, url, body);
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.error.code).toBe("forbidden");
    }
    const bot = await owner("GET", "workspaces/a/users/bot@example.com");
    expect(bot.body.department).toBeNull();
    const viewerToken = await tokenCaller(api, "a", "viewer");
    expect((await viewerToken("GET", "workspaces/a/users")).status).toBe(200);
    expect((await viewerToken("POST", "workspaces/a/users", { email: "vt@example.com", displayName: "VT" })).body.error.code).toBe("forbidden");
    expect((await viewerToken("GET", "workspaces/a/tokens")).body.error.code).toBe("forbidden");
  });

  it("keeps a workspace-A token and a workspace-A account out of workspace B", async () => {
    const bUser = await owner("POST", "workspaces/b/users", { email: "secret@b.example", displayName: "B only" });
    expect(bUser.status).toBe(201);
    const token = await tokenCaller(api, "a", "admin");
    const admin = await accountCaller(api, "a-admin@example.com", { workspace: "a", role: "admin" });
    for (const who of [token, admin] as Caller[]) {
      const list = await who("GET", "workspaces");
      expect(list.body.items.map((w: { name: string }) => w.name)).toEqual(["a"]);
      for (const [method, url, body] of [
        ["GET", "workspaces/b", undefined],
        ["GET", "workspaces/b/users", undefined],
        ["GET", `workspaces/b/users/${bUser.body.id}`, undefined],
        ["GET", `workspaces/b/users/${bUser.body.id}/changes`, undefined],
        ["PATCH", `workspaces/b/users/${bUser.body.id}`, { department: "Stolen" }],
        ["DELETE", `workspaces/b/users/${bUser.body.id}`, undefined],
        ["GET", "workspaces/b/groups", undefined],
        ["POST", "workspaces/b/groups", { name: "intruders" }],
        ["GET", "workspaces/b/tokens", undefined],
        ["POST", "workspaces/b/tokens", {}],
      ] as const) {
        const response = await who(method, url, body);
        expect(response.status, `${method} ${url}`).toBe(404);
        expect(response.body.error.code).toBe("not_found");
        expect(JSON.stringify(response.body)).not.toContain("secret@b.example");
      }
      // A user id of workspace B looked up inside workspace A is simply not there.
      expect((await who("GET", `workspaces/a/users/${bUser.body.id}`)).status).toBe(404);
    }
    const still = await owner("GET", `workspaces/b/users/${bUser.body.id}`);
    expect(still.body.department).toBeNull();
    expect((await owner("GET", "workspaces/b/groups")).body.total).toBe(0);
  });

  it("lets only an owner session create workspaces", async () => {
    const admin = await accountCaller(api, "a-admin2@example.com", { workspace: "a", role: "admin" });
    const token = await tokenCaller(api, "a", "admin");
    for (const who of [admin, token]) {
      const response = await who("POST", "workspaces", { name: "nope" });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe("forbidden");
    }
    const created = await owner("POST", "workspaces", { name: "c", defaultCountry: "de" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "c", defaultCountry: "DE", role: "admin" });
  });

  it("refuses an expired session and a revoked token", async () => {
    const session = await signIn(api.app, "root@example.com", password);
    await api.store.db.updateTable("sessions").set({ expires_at: new Date(Date.now() - 1000) }).where("id_hash", "=", hashToken(session.session.cookie)).execute();
    expect((await session("GET", "auth/me")).status).toBe(401);
    const created = await owner("POST", "workspaces/a/tokens", { name: "to revoke", role: "admin" });
    const token = caller(api.app, { token: created.body.token });
    expect((await token("GET", "workspaces/a/users")).status).toBe(200);
    expect((await owner("DELETE", `workspaces/a/tokens/${created.body.id}`)).body.revokedAt).not.toBeNull();
    const refused = await token("GET", "workspaces/a/users");
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain("revoked");
  });

  it("refuses an expired token, saying when it expired; one without an expiry keeps working", async () => {
    const lasting = await owner("POST", "workspaces/a/tokens", { name: "lasting", role: "viewer" });
    expect(lasting.body.expiresAt).toBeNull();
    const created = await owner("POST", "workspaces/a/tokens", { name: "for a month", role: "viewer", expiresInDays: 30 });
    expect(created.status).toBe(201);
    expect(Date.parse(created.body.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const token = caller(api.app, { token: created.body.token });
    expect((await token("GET", "workspaces/a/users")).status).toBe(200);
    await api.store.db.updateTable("api_tokens").set({ expires_at: new Date(Date.now() - 1000) }).where("id", "=", created.body.id).execute();
    const refused = await token("GET", "workspaces/a/users");
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toMatch(/^The API token "for a month" expired on \d{4}-\d\d-\d\dT/);
    expect((await caller(api.app, { token: lasting.body.token })("GET", "workspaces/a/users")).status).toBe(200);
    expect((await owner("POST", "workspaces/a/tokens", { expiresInDays: 0 })).status).toBe(400);
  });

  it("lets no API token create or revoke tokens: one could otherwise outlive its own revocation in the tokens it made", async () => {
    const token = await tokenCaller(api, "a", "admin");
    const other = await owner("POST", "workspaces/a/tokens", { name: "other", role: "viewer" });
    for (const [method, url] of [["POST", "workspaces/a/tokens"], ["DELETE", `workspaces/a/tokens/${other.body.id}`]] as const) {
      const refused = await token(method, url, method === "POST" ? { role: "admin" } : undefined);
      expect(refused.status, `${method} ${url}`).toBe(403);
      expect(refused.body.error.message).toMatch(/^An API token cannot (create|revoke) API tokens: sign in as an admin/);
    }
    expect((await token("GET", "workspaces/a/tokens")).status).toBe(200);
  });

  it("ends every session of an account whose password is reset", async () => {
    const { resetPassword } = await import("../../src/core/accounts.ts");
    await createAccount(api.store.db, { email: "reset@example.com", owner: true, password: "first password here" }, "test");
    const session = await signIn(api.app, "reset@example.com", "first password here");
    const { password: next } = await resetPassword(api.store.db, "reset@example.com", "test");
    expect((await session("GET", "auth/me")).status).toBe(401);
    expect((await caller(api.app)("POST", "auth/login", { email: "reset@example.com", password: "first password here" })).status).toBe(401);
    await expect(signIn(api.app, "reset@example.com", next)).resolves.toBeDefined();
  });
});

describe.each(engines)("changing your own password on %s", (engine) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await testApi(engine, { config: { loginAttempts: 1000 } });
  });
  afterAll(() => api?.close());

  it("needs the current password, keeps this session and signs out the others", async () => {
    await createAccount(api.store.db, { email: "me@example.com", owner: true, password: "generated password 1" }, "test");
    const here = await signIn(api.app, "me@example.com", "generated password 1");
    const elsewhere = await signIn(api.app, "me@example.com", "generated password 1");

    const wrong = await here("POST", "auth/password", { currentPassword: "nope nope nope", newPassword: "my own password 2" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details.fields).toEqual([expect.objectContaining({ field: "currentPassword" })]);
    const short = await here("POST", "auth/password", { currentPassword: "generated password 1", newPassword: "short" });
    expect(short.body.error.details.fields).toEqual([expect.objectContaining({ field: "newPassword" })]);
    expect((await elsewhere("GET", "auth/me")).status).toBe(200);

    expect((await here("POST", "auth/password", { currentPassword: "generated password 1", newPassword: "my own password 2" })).status).toBe(204);
    expect((await here("GET", "auth/me")).status).toBe(200);
    expect((await elsewhere("GET", "auth/me")).status).toBe(401);
    expect((await caller(api.app)("POST", "auth/login", { email: "me@example.com", password: "generated password 1" })).status).toBe(401);
    await expect(signIn(api.app, "me@example.com", "my own password 2")).resolves.toBeDefined();

    const token = await tokenCaller(api, "default", "admin");
    expect((await token("POST", "auth/password", { currentPassword: "x", newPassword: "my own password 3" })).status).toBe(400);
  });
});

describe.each(engines)("login rate limit on %s", (engine) => {
  let api: TestApi;
  beforeAll(async () => {
    api = await testApi(engine);
    await createAccount(api.store.db, { email: "target@example.com", owner: true, password: "the real password" }, "test");
    await createAccount(api.store.db, { email: "other@example.com", owner: true, password: "the other password" }, "test");
  });
  afterAll(() => api?.close());

  it("answers 429 rate_limited after 10 attempts, even with the right password", async () => {
    const anonymous = caller(api.app);
    for (let i = 0; i < 10; i++) {
      expect((await anonymous("POST", "auth/login", { email: "target@example.com", password: `guess ${i}` })).status).toBe(401);
    }
    const limited = await anonymous("POST", "auth/login", { email: "target@example.com", password: "the real password" });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(limited.headers["retry-after"]).toBeDefined();
    expect(limited.headers["set-cookie"]).toBeUndefined();
    // The limit is per address and email: another account from the same address can still sign in.
    expect((await anonymous("POST", "auth/login", { email: "other@example.com", password: "the other password" })).status).toBe(200);
  });
});
