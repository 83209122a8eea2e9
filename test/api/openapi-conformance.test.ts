import { createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InjectOptions } from "fastify";
import { request } from "undici";
import { engines } from "../support/db.ts";
import { until } from "../notifications/support.ts";
import { Browser, openSignInHarness, type SignInHarness } from "../signin/support.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { raiseNotification } from "../../src/core/notifications.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { conformance, type Conformance } from "./openapi-conformance.ts";
import { multipartFile } from "./support.ts";

/**
 * What the server sends is what its OpenAPI document says, for every operation: each call below is checked
 * against the document (status documented, content type, JSON body against the response schema with a real
 * JSON Schema validator, documented headers), as a strict generated client would read it. The calls run over
 * a realistic workspace: manual users, groups with members, an import, an Entra source synced from the
 * emulator (runs and change logs), a run stopped at the deletion threshold, tokens, notifications, and a
 * Microsoft sign-in.
 */
describe.each(engines)("the API answers what its OpenAPI document says (%s)", (engine) => {
  let h: SignInHarness;
  let api: Conformance;
  /** Operation → the statuses it answered in this run. */
  const seen = new Map<string, Set<number>>();
  const problems: string[] = [];
  type Who = { cookie?: string; csrf?: string; token?: string } | undefined;
  let owner: Who, adminToken: Who, viewerToken: Who;
  const W = "workspaces/default";
  const metricsToken = randomBytes(24).toString("hex");
  let settingUp = true;

  interface Sent {
    status: number;
    body: any;
    headers: Record<string, unknown>;
    text: string;
  }

  /** One request, checked against the document; `expected` is the status this call must answer. */
  async function send(who: Who, method: string, url: string, expected: number, options: { body?: unknown; headers?: Record<string, string>; payload?: Buffer | string; from?: string } = {}): Promise<Sent> {
    const path = url.startsWith("/") ? url : `/api/v1/${url}`;
    const inject: InjectOptions = {
      method: method as "GET",
      url: path,
      headers: {
        // The address the emulator's app registration has as its redirect URI's (the harness listens there too).
        host: new URL(h.url).host,
        ...(who?.cookie && { cookie: `rollcall_session=${who.cookie}` }),
        ...(who?.csrf && method !== "GET" && { "x-csrf-token": who.csrf }),
        ...(who?.token && { authorization: `Bearer ${who.token}` }),
        ...options.headers,
      },
      ...(options.body !== undefined && { payload: options.body as object }),
      ...(options.payload !== undefined && { payload: options.payload }),
      ...(options.from && { remoteAddress: options.from }),
    };
    const reply = await h.app.inject(inject);
    const text = reply.body;
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // a page or a file
    }
    const operation = api.operationOf(method, path);
    expect(operation, `${method} ${path} is not a documented operation`).toBeDefined();
    const found = api.problems(operation!, { status: reply.statusCode, headers: reply.headers, text });
    problems.push(...found);
    // Every mismatch of a test is reported, not only the first (beforeAll's calls are reported by the last test).
    if (!settingUp) expect.soft(found, `${method} ${url}`).toEqual([]);
    expect(reply.statusCode, `${method} ${url}: ${text.slice(0, 500)}`).toBe(expected);
    seen.set(operation!, (seen.get(operation!) ?? new Set()).add(reply.statusCode));
    return { status: reply.statusCode, body, headers: reply.headers, text };
  }

  async function signIn(email: string, password: string): Promise<Who> {
    const reply = await send(undefined, "POST", "auth/login", 200, { body: { email, password } });
    const cookie = String(reply.headers["set-cookie"]).match(/rollcall_session=([^;]+)/)![1]!;
    return { cookie, csrf: reply.body.csrfToken };
  }

  async function newAccount(email: string, grant: { owner: true } | { role: "admin" | "viewer" }): Promise<Who & { password: string }> {
    const workspace = "role" in grant ? await resolveWorkspace(h.store.db, "default") : undefined;
    const { password } = await createAccount(h.store.db, { email, owner: "owner" in grant, workspace, role: "role" in grant ? grant.role : undefined }, "test");
    return { ...(await signIn(email, password)), password };
  }

  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  const finished = async (id: string) => {
    let run: any;
    await until(async () => (run = (await send(adminToken, "GET", `${W}/runs/${id}?changes=50`, 200)).body).status !== "running", 60_000, `run ${id} to finish`);
    return run;
  };

  beforeAll(async () => {
    h = await openSignInHarness(engine, { ROLLCALL_WEBHOOK_PRIVATE_NETWORK: "true", ROLLCALL_METRICS_TOKEN: metricsToken });
    await h.addSource("contoso");
    await h.sync("contoso");
    const doc = await h.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    api = conformance(doc.json());
    const workspace = await resolveWorkspace(h.store.db, "default");
    adminToken = { token: (await createApiToken(h.store.db, workspace, { name: "conformance admin", role: "admin" }, "test")).token };
    viewerToken = { token: (await createApiToken(h.store.db, workspace, { name: "conformance viewer", role: "viewer" }, "test")).token };
    owner = await newAccount("owner@example.com", { owner: true });
    settingUp = false;
  }, 120_000);
  afterAll(() => h?.close());

  it("service, sign-in and admin accounts", async () => {
    await send(undefined, "GET", "health", 200);
    await send(undefined, "GET", "health/live", 200);
    await send(undefined, "GET", "openapi.json", 200);
    await send({ token: metricsToken }, "GET", "/metrics", 200);
    await send(undefined, "GET", "/metrics", 401);
    await send(adminToken, "GET", "/metrics", 401);
    await send(undefined, "GET", "auth/providers", 200);

    await send(undefined, "POST", "auth/login", 400, { body: { email: "" } });
    await send(undefined, "POST", "auth/login", 401, { body: { email: "nobody@example.com", password: "wrong password" } });
    await send(undefined, "POST", "auth/login", 415, { payload: "email=a", headers: { "content-type": "application/x-www-form-urlencoded" } });
    for (let attempt = 0; attempt < h.rt.config.loginAttempts; attempt++) await send(undefined, "POST", "auth/login", 401, { body: { email: "guessed@example.com", password: `guess ${attempt}` } });
    await send(undefined, "POST", "auth/login", 429, { body: { email: "guessed@example.com", password: "one more" } });

    await send(owner, "GET", "auth/me", 200);
    await send(adminToken, "GET", "auth/me", 200);
    await send(undefined, "GET", "auth/me", 401);
    await send(owner, "GET", "auth/profile", 200);
    await send(adminToken, "GET", "auth/profile", 400);

    const leaving = await newAccount("leaving@example.com", { role: "viewer" });
    await send(leaving, "POST", "auth/password", 400, { body: { currentPassword: "x", newPassword: "short" } });
    await send(adminToken, "POST", "auth/password", 400, { body: { currentPassword: "whatever it was", newPassword: "a new long password" } });
    await send(adminToken, "POST", "auth/logout", 400);
    await send(leaving, "POST", "auth/logout", 200);

    const changing = await newAccount("changing@example.com", { role: "viewer" });
    await send(changing, "POST", "auth/password", 403, { body: { currentPassword: changing.password, newPassword: "a new long password" }, headers: { "x-csrf-token": "not it" } });
    await send(changing, "POST", "auth/password", 204, { body: { currentPassword: changing.password, newPassword: "a new long password" } });

    await send(owner, "GET", "accounts", 200);
    await send(adminToken, "GET", "accounts", 403);
    const created = await send(owner, "POST", "accounts", 201, { body: { email: "ada@example.com", displayName: "Ada", workspace: "default", role: "viewer" } });
    await send(owner, "POST", "accounts", 409, { body: { email: "ada@example.com", workspace: "default" } });
    await send(owner, "POST", "accounts", 404, { body: { email: "bob@example.com", workspace: "nowhere" } });
    await send(owner, "POST", `accounts/${created.body.account.id}/reset-password`, 200);
    await send(owner, "POST", "accounts/nobody@example.com/reset-password", 404);
    await send(owner, "PUT", `accounts/${created.body.account.id}/workspaces/default`, 200, { body: { role: "admin" } });
    await send(owner, "DELETE", `accounts/${created.body.account.id}/workspaces/default`, 200);
    await send(owner, "DELETE", `accounts/${created.body.account.id}`, 200);
  });

  it("workspaces, users, groups and their histories", async () => {
    await send(owner, "GET", "workspaces", 200);
    await send(owner, "GET", "workspace-overview", 200);
    await send(owner, "POST", "workspaces", 201, { body: { name: "spare", defaultCountry: "FR" } });
    await send(owner, "POST", "workspaces", 409, { body: { name: "spare" } });
    await send(adminToken, "POST", "workspaces", 403, { body: { name: "not mine" } });
    await send(owner, "GET", "workspaces/spare", 200);
    await send(owner, "DELETE", "workspaces/spare", 204);
    await send(owner, "GET", "workspaces/spare", 404);
    await send(adminToken, "PATCH", W, 200, { body: { defaultCountry: "GB" } });
    await send(viewerToken, "PATCH", W, 403, { body: { defaultCountry: "GB" } });

    const ada = await send(adminToken, "POST", `${W}/users`, 201, {
      body: {
        email: "ada@example.com", displayName: "Ada Lovelace", givenName: "Ada", surname: "Lovelace", department: "Engines", jobTitle: "Analyst",
        employeeId: "E-1", mobilePhone: "07911 123456 ext. 12", businessPhones: ["+44 20 7946 0000"], preferredLanguage: "en-GB",
        aliases: ["ada"], cardNumbers: ["0042"], customAttributes: { office: "London" }, tags: ["pilot"], pin: "2468",
      },
    });
    expect(ada.body.warnings.length).toBeGreaterThan(0);
    const grace = await send(adminToken, "POST", `${W}/users`, 201, { body: { displayName: "Grace Hopper", email: "grace@example.com" } });
    await send(adminToken, "POST", `${W}/users`, 201, { body: { displayName: "Charles Babbage", userPrincipalName: "charles@corp.example" } });
    await send(adminToken, "POST", `${W}/users`, 409, { body: { displayName: "Ada Again", email: "ada@example.com" } });
    await send(adminToken, "POST", `${W}/users`, 400, { body: { email: "not an email" } });

    const page = await send(viewerToken, "GET", `${W}/users?limit=2&sort=email&order=desc`, 200);
    await send(viewerToken, "GET", `${W}/users?limit=2&sort=email&order=desc&after=${encodeURIComponent(page.body.next)}`, 200);
    await send(viewerToken, "GET", `${W}/users?q=ada&sourceType=manual&enabled=true&tag=pilot&department=engines&hasDepartment=true`, 200);
    await send(viewerToken, "GET", `${W}/users?department=Accounts`, 400);
    await send(viewerToken, "GET", `${W}/users/departments`, 200);
    await send(viewerToken, "GET", `${W}/users/tags`, 200);
    await send(viewerToken, "GET", `${W}/users?limit=0`, 400);
    const shown = await send(viewerToken, "GET", `${W}/users/ada@example.com`, 200);
    await send(viewerToken, "GET", `${W}/users/nobody@example.com`, 404);
    await send(adminToken, "PATCH", `${W}/users/${ada.body.id}`, 200, { body: { department: "Analytical Engines" }, headers: { "if-match": String(shown.headers.etag) } });
    await send(adminToken, "PATCH", `${W}/users/${ada.body.id}`, 412, { body: { department: "Stale" }, headers: { "if-match": String(shown.headers.etag) } });
    // A manual user's manager, set by email; the list filtered by it; an unknown one refused.
    const managed = await send(adminToken, "PATCH", `${W}/users/${grace.body.id}`, 200, { body: { manager: "ada@example.com" } });
    expect(managed.body.manager).toMatchObject({ id: ada.body.id, displayName: "Ada Lovelace" });
    expect((await send(viewerToken, "GET", `${W}/users?manager=ada@example.com`, 200)).body.total).toBe(1);
    expect((await send(viewerToken, "GET", `${W}/users/${ada.body.id}`, 200)).body.directReports).toEqual([expect.objectContaining({ id: grace.body.id })]);
    await send(viewerToken, "GET", `${W}/users?manager=nobody@example.com`, 400);
    await send(adminToken, "PATCH", `${W}/users/${grace.body.id}`, 400, { body: { manager: grace.body.id } });
    await send(adminToken, "PATCH", `${W}/users/${ada.body.id}`, 400, { body: { enabled: "yes" } });
    await send(viewerToken, "PATCH", `${W}/users/${ada.body.id}`, 403, { body: { department: "Nope" } });
    await send(adminToken, "POST", `${W}/users/${grace.body.id}/disable`, 200);
    await send(viewerToken, "GET", `${W}/users/${grace.body.id}/microsoft-link`, 200);
    await send(adminToken, "DELETE", `${W}/users/${grace.body.id}/microsoft-link`, 404);
    // As a first sign-in through a SCIM source pins a person's object ID (src/auth/signin-account.ts): unlinked, with what it was.
    const scim = await send(adminToken, "POST", `${W}/sources`, 201, { body: { type: "scim", name: "Conformance push" } });
    await h.store.db.insertInto("scim_signin_links").values({ user_id: grace.body.id, source_id: scim.body.id, object_id: "5f2c0c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f" }).execute();
    await send(viewerToken, "GET", `${W}/users/${grace.body.id}/microsoft-link`, 200);
    await send(adminToken, "DELETE", `${W}/users/${grace.body.id}/microsoft-link`, 200);
    await send(adminToken, "DELETE", `${W}/sources/Conformance%20push?users=disable`, 200);
    // Photos: uploaded (multipart), read with its ETag, 304 on If-None-Match, removed; 404 once gone.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);
    await send(viewerToken, "GET", `${W}/users/${ada.body.id}/photo`, 404);
    const photoPart = multipartFile("ada.jpg", jpeg, "photo");
    await send(adminToken, "PUT", `${W}/users/${ada.body.id}/photo`, 200, { payload: photoPart.payload, headers: photoPart.headers });
    const notPhoto = multipartFile("ada.txt", "not an image", "photo");
    await send(adminToken, "PUT", `${W}/users/${ada.body.id}/photo`, 415, { payload: notPhoto.payload, headers: notPhoto.headers });
    await send(adminToken, "PUT", `${W}/users/${ada.body.id}/photo`, 413, { ...(() => { const big = multipartFile("big.jpg", Buffer.concat([jpeg, Buffer.alloc(300 * 1024)]), "photo"); return { payload: big.payload, headers: big.headers }; })() });
    const photo = await send(viewerToken, "GET", `${W}/users/${ada.body.id}/photo`, 200);
    await send(viewerToken, "GET", `${W}/users/${ada.body.id}/photo`, 304, { headers: { "if-none-match": String(photo.headers.etag) } });
    await send(adminToken, "DELETE", `${W}/users/${ada.body.id}/photo`, 200);
    await send(adminToken, "DELETE", `${W}/users/${ada.body.id}/photo`, 404);
    await send(adminToken, "POST", `${W}/users/bulk`, 200, { body: { action: "enable", users: [grace.body.id, "ada@example.com"] } });
    await send(adminToken, "POST", `${W}/users/bulk`, 404, { body: { action: "disable", users: ["nobody@example.com"] } });

    const pilots = await send(adminToken, "POST", `${W}/groups`, 201, { body: { name: "Pilots", description: "Flight crew" } });
    const crew = await send(adminToken, "POST", `${W}/groups`, 201, { body: { name: "Crew" } });
    await send(adminToken, "POST", `${W}/groups`, 409, { body: { name: "pilots" } });
    await send(adminToken, "POST", `${W}/groups/Pilots/members`, 200, { body: { member: "ada@example.com" } });
    await send(adminToken, "POST", `${W}/groups/Pilots/members`, 200, { body: { member: "grace@example.com" } });
    await send(adminToken, "POST", `${W}/groups/Pilots/members`, 200, { body: { member: "Crew" } });
    await send(adminToken, "POST", `${W}/groups/Pilots/members`, 404, { body: { member: "nobody@example.com" } });
    await send(adminToken, "POST", `${W}/users/bulk`, 200, { body: { action: "addToGroup", filter: { q: "grace" }, group: "Crew" } });
    await send(viewerToken, "GET", `${W}/users?group=Pilots&nested=true`, 200);
    await send(viewerToken, "GET", `${W}/users?nested=true`, 400);
    await send(adminToken, "POST", `${W}/users/bulk`, 200, { body: { action: "addTag", tag: "Night shift", filter: { q: "grace" } } });
    await send(adminToken, "POST", `${W}/users/bulk`, 200, { body: { action: "removeTag", tag: "Night shift", users: ["grace@example.com"] } });
    await send(adminToken, "POST", `${W}/users/bulk`, 400, { body: { action: "removeTag", tag: "ID synced", users: ["grace@example.com"] } });
    await send(viewerToken, "GET", `${W}/groups`, 200);
    await send(viewerToken, "GET", `${W}/groups?include=members&sourceType=manual,entra&limit=5`, 200);
    await send(viewerToken, "GET", `${W}/groups?sourceType=manual&sourceType=import`, 200);
    await send(viewerToken, "GET", `${W}/groups?sourceType=manual&sourceType=skim`, 400);
    const group = await send(viewerToken, "GET", `${W}/groups/${pilots.body.id}`, 200);
    await send(viewerToken, "GET", `${W}/groups/Pilots?include=members`, 200);
    const members = await send(viewerToken, "GET", `${W}/groups/Pilots/members?limit=2`, 200);
    await send(viewerToken, "GET", `${W}/groups/Pilots/members?limit=2&after=${encodeURIComponent(members.body.next)}`, 200);
    await send(adminToken, "PATCH", `${W}/groups/Pilots`, 200, { body: { description: "Flight crew, Europe" }, headers: { "if-match": String(group.headers.etag) } });
    await send(adminToken, "PATCH", `${W}/groups/Pilots`, 412, { body: { name: "Stale" }, headers: { "if-match": String(group.headers.etag) } });
    await send(adminToken, "DELETE", `${W}/groups/Pilots/members/grace@example.com`, 200);
    await send(viewerToken, "GET", `${W}/groups/Pilots/changes`, 200);
    await send(viewerToken, "GET", `${W}/users/ada@example.com/changes?limit=5`, 200);
    await send(adminToken, "DELETE", `${W}/groups/${crew.body.id}`, 200);

    await send(adminToken, "DELETE", `${W}/users/grace@example.com/changes`, 409);
    await send(adminToken, "DELETE", `${W}/users/grace@example.com`, 200);
    await send(viewerToken, "GET", `${W}/users/${grace.body.id}/changes`, 200);
    await send(adminToken, "DELETE", `${W}/users/${grace.body.id}/changes`, 200);
    await send(viewerToken, "GET", `${W}/activity?limit=3`, 200);
    await send(viewerToken, "GET", `${W}/activity.csv?action=create`, 200);
    await send(viewerToken, "GET", `${W}/activity?action=explode`, 400);
  });

  it("API tokens", async () => {
    const admin = await newAccount("tokens@example.com", { role: "admin" });
    await send(admin, "GET", `${W}/tokens`, 200);
    await send(viewerToken, "GET", `${W}/tokens`, 403);
    const made = await send(admin, "POST", `${W}/tokens`, 201, { body: { name: "robot", role: "viewer", expiresInDays: 30 } });
    await send(admin, "POST", `${W}/tokens`, 201);
    await send(adminToken, "POST", `${W}/tokens`, 403, { body: { name: "from a token" } });
    await send({ token: made.body.token }, "GET", `${W}/users?limit=1`, 200);
    await send(admin, "DELETE", `${W}/tokens/${made.body.id}`, 200);
    await send({ token: made.body.token }, "GET", `${W}/users?limit=1`, 401);
    await send(admin, "DELETE", `${W}/tokens/not-a-token`, 404);
  });

  it("imports and exports", async () => {
    const upload = async (expected: number, fileName: string, content: string) => {
      const { payload, headers } = multipartFile(fileName, content);
      return send(adminToken, "POST", `${W}/imports`, expected, { payload, headers });
    };
    const csv = "Email,Full name,Mobile phone,Department,Groups\r\nalan@example.com,Alan Turing,07911 123456 ext. 7,Codes,Pilots\r\nbad,Bad Row,,,\r\nada@example.com,Ada Lovelace,,Engines,\r\n";
    const uploaded = await upload(201, "staff.csv", csv);
    await upload(422, "empty.csv", "");
    await upload(422, "headings.csv", "Colour,Size\r\nred,big\r\n");
    await send(adminToken, "POST", `${W}/imports`, 415, { body: { file: "not multipart" } });
    const mapping = encodeURIComponent('{"Department": null}');
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}?partial=true&updateExisting=true`, 200);
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}?partial=false&mapping=${mapping}`, 200);
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}/progress`, 200);
    await send(adminToken, "POST", `${W}/imports/${uploaded.body.id}/commit`, 422, { body: {} });
    await send(adminToken, "POST", `${W}/imports/${uploaded.body.id}/commit`, 409, { body: { partial: true } }); // not what was previewed
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}?partial=true&updateExisting=true&mapping=${mapping}`, 200);
    await send(adminToken, "POST", `${W}/imports/${uploaded.body.id}/commit`, 200, { body: { partial: true, updateExisting: true } });
    await send(adminToken, "POST", `${W}/imports/${uploaded.body.id}/commit`, 409, { body: { partial: true } });
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}`, 409);
    await send(adminToken, "GET", `${W}/imports/${uploaded.body.id}/progress`, 200);
    const discarded = await upload(201, "again.csv", csv);
    await send(adminToken, "DELETE", `${W}/imports/${discarded.body.id}`, 204);
    await send(adminToken, "DELETE", `${W}/imports/${discarded.body.id}`, 404);
    await send(viewerToken, "GET", `${W}/imports/template?format=xlsx`, 200);
    await send(viewerToken, "GET", `${W}/imports/template`, 200);
    await send(viewerToken, "GET", `${W}/exports?format=csv&sourceType=import`, 200);
    await send(viewerToken, "GET", `${W}/exports?format=xlsx`, 200);
    await send(viewerToken, "GET", `${W}/exports?format=pdf`, 400);
  });

  it("Entra sources, syncs and runs", async () => {
    const e = h.emulator;
    const settings = { tenantId: e.tenantId, clientId: e.clientId, loginUrl: e.loginUrl, graphUrl: e.graphUrl };
    await send(viewerToken, "GET", `${W}/sources`, 200);
    const contoso = await send(viewerToken, "GET", `${W}/sources/contoso`, 200);
    await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { deletionThreshold: { percent: 1, count: 1 }, secretExpiresOn: "2099-01-31" }, headers: { "if-match": String(contoso.headers.etag) } });
    await send(adminToken, "PATCH", `${W}/sources/contoso`, 412, { body: { onRemove: "keep" }, headers: { "if-match": String(contoso.headers.etag) } });
    await send(adminToken, "POST", `${W}/sources`, 201, { body: { name: "spare", ...settings, clientSecret: e.clientSecret, groupMode: "selected", groups: [tenant().listGroups()[0]!.displayName] } });
    await send(adminToken, "POST", `${W}/sources`, 400, { body: { name: "broken", ...settings } });
    await send(adminToken, "POST", `${W}/sources`, 409, { body: { name: "CONTOSO", ...settings, clientSecret: "x" } });
    await send(adminToken, "POST", `${W}/sources/contoso/test`, 200);
    await send(adminToken, "POST", `${W}/sources/contoso/find-groups`, 200, { body: { q: "" } });
    await send(adminToken, "POST", `${W}/sources/contoso/find-groups`, 200);
    const person = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    await send(adminToken, "GET", `${W}/sources/contoso/try-user?user=${encodeURIComponent(person.userPrincipalName)}`, 200);
    await send(adminToken, "GET", `${W}/sources/contoso/try-user?user=nobody@nowhere.example`, 404);
    await send(viewerToken, "GET", `${W}/sources/contoso/try-user?user=${encodeURIComponent(person.userPrincipalName)}`, 403);
    const badSecret = await send(adminToken, "POST", `${W}/sources`, 201, { body: { name: "refused", ...settings, clientSecret: "not the secret" } });
    await send(adminToken, "POST", `${W}/sources/refused/test`, 200);
    await send(adminToken, "POST", `${W}/sources/refused/find-groups`, 502, { body: { q: "a" } });
    await send(adminToken, "DELETE", `${W}/sources/${badSecret.body.id}?users=delete`, 200);

    const full = await send(adminToken, "POST", `${W}/sources/contoso/sync`, 202, { body: { full: true } });
    await finished(full.body.id);
    const preview = await send(adminToken, "POST", `${W}/sources/spare/sync`, 202, { body: { dryRun: true } });
    await finished(preview.body.id);
    const spare = await send(adminToken, "POST", `${W}/sources/spare/sync`, 202);
    await finished(spare.body.id);

    // Leavers past the deletion threshold: the run stops for review; one is approved, the next rejected.
    for (const u of tenant().listUsers().filter((u) => u.userType !== "Guest" && u.accountEnabled && u.id !== person.id).slice(0, 2)) tenant().deleteUser(u.id);
    const stopped = await finished((await send(adminToken, "POST", `${W}/sources/contoso/sync`, 202, { body: {} })).body.id);
    expect(stopped.status).toBe("stopped");
    await send(viewerToken, "GET", `${W}/sources/contoso`, 200);
    await send(adminToken, "POST", `${W}/runs/${stopped.id}/approve`, 202).then((r) => finished(r.body.id));
    await send(adminToken, "POST", `${W}/runs/${stopped.id}/approve`, 409);
    for (const u of tenant().listUsers().filter((u) => u.userType !== "Guest" && u.accountEnabled && u.id !== person.id).slice(0, 2)) tenant().deleteUser(u.id);
    const again = await finished((await send(adminToken, "POST", `${W}/sources/contoso/sync`, 202)).body.id);
    await send(adminToken, "POST", `${W}/runs/${again.id}/reject`, 200);
    await send(adminToken, "POST", `${W}/runs/${again.id}/cancel`, 409);

    await send(viewerToken, "GET", `${W}/runs`, 200);
    await send(viewerToken, "GET", `${W}/runs?source=contoso&limit=2&offset=1`, 200);
    await send(viewerToken, "GET", `${W}/runs/${full.body.id}`, 200);
    await send(viewerToken, "GET", `${W}/runs/${full.body.id}?changes=1000`, 200);
    await send(viewerToken, "GET", `${W}/runs/not-a-run`, 404);
    const first = (await send(viewerToken, "GET", `${W}/runs?source=contoso&limit=500`, 200)).body.items.at(-1);
    const changes = await send(viewerToken, "GET", `${W}/runs/${first.id}/changes?limit=5`, 200);
    await send(viewerToken, "GET", `${W}/runs/${first.id}/changes?limit=5&after=${changes.body.items.at(-1).id}&action=create`, 200);
    await send(viewerToken, "GET", `${W}/runs/${full.body.id}/changes.csv`, 200);
    await send(viewerToken, "GET", `${W}/runs/${stopped.id}/changes.csv?action=disable`, 200);
    await send(viewerToken, "GET", `${W}/users?source=contoso&limit=3`, 200);
    await send(viewerToken, "GET", `${W}/groups?source=contoso&include=members`, 200);
    await send(viewerToken, "GET", `${W}/users/${encodeURIComponent(person.userPrincipalName)}/changes`, 200);
    await send(adminToken, "PATCH", `${W}/users/${encodeURIComponent(person.userPrincipalName)}`, 400, { body: { department: "Synced fields are read-only" } });

    // A run another process is running: the cancel is recorded and answered with the run, still running.
    const source = await h.store.db.selectFrom("sources").select(["id", "workspace_id"]).where("name", "=", "spare").executeTakeFirstOrThrow();
    const running = (await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status, counts, progress)
      values (${source.workspace_id}, ${source.id}, 'manual', 'delta', 'running', '{}', '{"phase": "fetching", "users": 120, "groups": 4}') returning id`.execute(h.store.db)).rows[0]!.id;
    await send(adminToken, "POST", `${W}/runs/${running}/cancel`, 202);
    await send(viewerToken, "GET", `${W}/sources`, 200);
    await sql`update sync_runs set status = 'failed', finished_at = now() where id = ${running}`.execute(h.store.db);
    await send(adminToken, "DELETE", `${W}/sources/spare?users=disable`, 200);

    // Sync on change: Graph's handshake, a forged notification, a lifecycle one (it renews: no run starts).
    h.rt.config.publicUrl = h.url;
    const subscribed = await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { syncOnChange: true } });
    expect(subscribed.body.status.subscriptions).toMatchObject([{ resource: "users", state: "active" }]);
    await send(undefined, "POST", "graph/notifications?validationToken=token%20from%20Graph", 200, { headers: { "content-type": "text/plain; charset=utf-8" } });
    const held = h.emulator.subscriptions.list(h.emulator.tenantId)[0]!;
    await send(undefined, "POST", "graph/notifications", 202, { body: { value: [{ subscriptionId: held.id, clientState: "forged", changeType: "updated", resource: "Users/x" }] } });
    await send(undefined, "POST", "graph/notifications", 202, { body: { value: [{ subscriptionId: held.id, clientState: held.clientState, tenantId: h.emulator.tenantId, lifecycleEvent: "reauthorizationRequired" }] } });
    await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { syncOnChange: false } });
  }, 180_000);

  it("signing in with Microsoft, and a synced user's role", async () => {
    const person = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    await send(adminToken, "GET", `${W}/users/${encodeURIComponent(person.userPrincipalName)}/role`, 200);
    await send(adminToken, "PUT", `${W}/users/${encodeURIComponent(person.userPrincipalName)}/role`, 200, { body: { role: "admin" } });
    await send(adminToken, "PUT", `${W}/users/ada@example.com/role`, 400, { body: { role: "admin" } });

    // A native client's sign-in: start, Microsoft's page (the emulator), the callback, then the code for a token.
    const verifier = randomBytes(32).toString("base64url");
    const native = `client_redirect_uri=${encodeURIComponent("http://127.0.0.1:9/callback")}&client_code_challenge=${createHash("sha256").update(verifier).digest("base64url")}`;
    const landed = await signInWithMicrosoft(person.id, `workspace=default&${native}`, 302);
    const code = new URL(String(landed.headers.location)).searchParams.get("code")!;
    const session = await send(undefined, "POST", "auth/microsoft/token", 200, { body: { code, codeVerifier: verifier } });
    await send(undefined, "POST", "auth/microsoft/token", 403, { body: { code, codeVerifier: verifier } });
    await send(undefined, "POST", "auth/microsoft/token", 400, { body: { code } });
    await send({ token: session.body.token }, "GET", "auth/profile", 200);
    await send({ token: session.body.token }, "GET", "auth/me", 200);
    await send({ token: session.body.token }, "POST", "auth/logout", 200);

    await send(undefined, "GET", "auth/microsoft/start?workspace=nowhere", 403);
    await send(undefined, "GET", "auth/microsoft/start?prompt=sometimes", 400);
    await send(undefined, "GET", "auth/microsoft/callback", 302);
    await send(undefined, "GET", "auth/microsoft/callback?state=forged&code=stolen", 403);
    await send(undefined, "GET", "auth/microsoft/frontchannel-logout?sid=unknown", 200);
    // A second workspace offering sign-in: the start asks which; its organization, out of reach, is a 502 page.
    await send(owner, "POST", "workspaces", 201, { body: { name: "elsewhere" } });
    const unreachable = { tenantId: "cccccccc-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", loginUrl: "https://127.0.0.1:1", graphUrl: "https://127.0.0.1:1" };
    await send(owner, "POST", "workspaces/elsewhere/sources", 201, { body: { name: "far", ...unreachable, clientSecret: "far away", signIn: true } });
    await send(undefined, "GET", "auth/microsoft/start", 200);
    await send(undefined, "GET", "auth/microsoft/start?workspace=elsewhere", 502);
    // The same organization out of reach from its source's other routes: a run that fails, failed checks, 502s.
    const far = await send(owner, "POST", "workspaces/elsewhere/sources/far/sync", 202);
    await until(async () => (await send(owner, "GET", `workspaces/elsewhere/runs/${far.body.id}`, 200)).body.status === "failed", 30_000, "the run to fail");
    await send(owner, "POST", "workspaces/elsewhere/sources/far/test", 200);
    await send(owner, "GET", "workspaces/elsewhere/sources/far/try-user?user=someone@far.example", 502);
    await send(owner, "POST", "workspaces/elsewhere/sources/far/find-groups", 502);
    // While a person signs in, the source's secret is replaced by a wrong one (Microsoft refuses to redeem the code),
    // or its sign-in endpoints become unreachable.
    await signInWithMicrosoft(person.id, "workspace=default", 403, async () => {
      await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { clientSecret: "no longer the secret" } });
    });
    await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { clientSecret: h.emulator.clientSecret } });
    await signInWithMicrosoft(person.id, "workspace=default", 502, async () => {
      await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { loginUrl: unreachable.loginUrl, clientSecret: h.emulator.clientSecret } });
    });
    await send(adminToken, "PATCH", `${W}/sources/contoso`, 200, { body: { loginUrl: h.emulator.loginUrl, clientSecret: h.emulator.clientSecret } });
    await send(undefined, "GET", "auth/microsoft/start?workspace=default", 302);
  });

  /** Starts at Rollcall, signs in on the emulator's page as the person, and answers Rollcall's callback. */
  async function signInWithMicrosoft(personId: string, query: string, expected: number, beforeCallback?: () => Promise<void>): Promise<Sent> {
    const start = await send(undefined, "GET", `auth/microsoft/start?${query}`, 302);
    const binding = ([] as string[]).concat(start.headers["set-cookie"] as string[]).map((c) => c.split(";")[0]!).find((c) => c.startsWith("rollcall_signin_"))!;
    const browser = new Browser(h.emulator.caPem);
    const authorize = await browser.request(String(start.headers.location));
    const txn = /name="txn" value="([^"]+)"/.exec(authorize.text)![1]!;
    const action = /<form method="post" action="([^"]+)"/.exec(authorize.text)![1]!;
    const back = await browser.request(new URL(action.replace(/&amp;/g, "&"), String(start.headers.location)).toString(), {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ txn, account: `${h.emulator.tenantId}:${personId}`, action: "signin" }).toString(),
    });
    await beforeCallback?.();
    return send(undefined, "GET", `auth/microsoft/callback${new URL(back.location!).search}`, expected, { headers: { cookie: binding } });
  }

  it("notifications", async () => {
    const workspace = await resolveWorkspace(h.store.db, "default");
    await updateNotificationSettings(h.store.db, h.rt.secrets, workspace, { emailTo: ["ops@example.com"] }, "test");
    const raised = await raiseNotification(h.store.db, { workspaceId: workspace.id, kind: "sync_failed", milestone: "", data: { runId: "a run", sourceId: "a source", source: "contoso", code: "source_auth_failed" }, subject: "a run", severity: "critical", title: "contoso failed", body: "the sync failed", link: "/sync" });
    await send(viewerToken, "GET", `${W}/notifications`, 200);
    await send(viewerToken, "GET", `${W}/notifications?active=true&limit=5`, 200);
    await send(adminToken, "POST", `${W}/notifications/${raised!.id}/dismiss`, 200);
    await send(adminToken, "POST", `${W}/notifications/not-one/dismiss`, 404);
    await send(viewerToken, "GET", `${W}/notification-deliveries`, 200);
    await send(viewerToken, "GET", `${W}/notification-settings`, 200);
    await send(adminToken, "PUT", `${W}/notification-settings`, 200, { body: { emailTo: ["ops@example.com", "it@example.com"] } });
    await send(adminToken, "PUT", `${W}/notification-settings`, 200, { body: { webhookUrl: "http://127.0.0.1:9/hook" } });
    await send(adminToken, "PUT", `${W}/notification-settings`, 400, { body: { webhookUrl: "ftp://example.com" } });
  });

  it("the sign-in routes' refusals around their handlers: 429 pages, 431 and 405 in JSON, 413 on the JSON ones", async () => {
    // From an address of their own: the limits count per route and address, and the other tests sign in from 127.0.0.1.
    const from = "203.0.113.7";
    const browserFlows = ["auth/microsoft/start?workspace=default", "auth/microsoft/callback", "auth/microsoft/frontchannel-logout?sid=unknown"];
    for (const url of browserFlows) {
      const limit = h.rt.config.loginAttempts * 30;
      for (let attempt = 0; attempt < limit; attempt++) await h.app.inject({ method: "GET", url: `/api/v1/${url}`, remoteAddress: from });
      const refused = await send(undefined, "GET", url, 429, { from });
      expect(refused.headers["content-type"]).toMatch(/^text\/html/);
      expect(refused.text).toContain('data-reason="rate_limited"');
    }
    for (let attempt = 0; attempt < h.rt.config.loginAttempts * 3; attempt++) await send(undefined, "POST", "auth/microsoft/token", 403, { body: { code: `guess ${attempt}`, codeVerifier: "v".repeat(43) }, from });
    await send(undefined, "POST", "auth/microsoft/token", 429, { body: { code: "one more", codeVerifier: "v".repeat(43) }, from });

    const tooLarge = JSON.stringify({ code: "x".repeat(1024 * 1024), codeVerifier: "v".repeat(43) });
    await send(undefined, "POST", "auth/microsoft/token", 413, { payload: tooLarge, headers: { "content-type": "application/json" } });
    await send(undefined, "POST", "auth/login", 413, { payload: tooLarge, headers: { "content-type": "application/json" } });

    // Node's HTTP parser refuses headers over 16 KiB before fastify picks a route: over real HTTP, in JSON, a browser flow's too.
    for (const url of [...browserFlows, `${W}/users`]) {
      const reply = await request(`${h.url}/api/v1/${url}`, { headers: { cookie: `filler=${"a".repeat(20_000)}` } });
      const answer = { status: reply.statusCode, headers: reply.headers, text: await reply.body.text() };
      const operation = api.operationOf("GET", `/api/v1/${url}`)!;
      expect(answer.status, url).toBe(431);
      expect(api.problems(operation, answer), url).toEqual([]);
      seen.set(operation, (seen.get(operation) ?? new Set()).add(answer.status));
    }

    // A method a sign-in path does not take is no operation of the document: the shared Error, with Allow.
    for (const url of ["auth/microsoft/start", "auth/microsoft/callback"]) {
      const reply = await h.app.inject({ method: "POST", url: `/api/v1/${url}`, payload: {} });
      expect(reply.statusCode, url).toBe(405);
      expect(reply.headers.allow, url).toBe("GET, HEAD, OPTIONS");
      expect(api.errorProblems(`POST /api/v1/${url}`, { status: reply.statusCode, headers: reply.headers, text: reply.body }), url).toEqual([]);
      expect(reply.json().error).toMatchObject({ code: "method_not_allowed", details: { allowed: ["GET"] } });
    }
  });

  it("would report a field sent but not documented, a required one not sent, a wrong format, status or content type", async () => {
    const someone = (await send(viewerToken, "GET", `${W}/users?limit=1`, 200)).body.items[0];
    const shown = await send(viewerToken, "GET", `${W}/users/${someone.id}`, 200);
    const operation = "GET /api/v1/workspaces/{workspace}/users/{id}";
    const answer = (body: unknown, status = 200, type = "application/json; charset=utf-8") => api.problems(operation, { status, headers: { ...shown.headers, "content-type": type }, text: JSON.stringify(body) });
    expect(answer(shown.body)).toEqual([]);
    expect(answer({ ...shown.body, pinHash: "x" })).toEqual([expect.stringMatching(/^GET .*users\/\{id\} 200: \(body\) must NOT have additional properties \{"additionalProperty":"pinHash"\}/)]);
    expect(answer({ ...shown.body, source: { ...shown.body.source, note: "x" } })).toEqual([expect.stringMatching(/\/source must NOT have additional properties/)]);
    const { email: _email, ...withoutEmail } = shown.body;
    expect(answer(withoutEmail)).toEqual([expect.stringMatching(/must have required property 'email'/)]);
    expect(answer({ ...shown.body, department: null, enabled: null })).toEqual([expect.stringMatching(/\/enabled must be boolean/)]);
    expect(answer({ ...shown.body, createdAt: "yesterday" })).toEqual([expect.stringMatching(/\/createdAt must match format "date-time"/)]);
    expect(answer(shown.body, 418)).toEqual([expect.stringMatching(/answered 418, which it does not document/)]);
    expect(answer(shown.body, 200, "text/plain")).toEqual([expect.stringMatching(/sent text\/plain; documented: application\/json/)]);
    expect(api.problems(operation, { status: 200, headers: { "content-type": "application/json" }, text: shown.text })).toEqual([expect.stringMatching(/the documented ETag header was not sent/)]);
    expect(api.problems(operation, { status: 404, headers: shown.headers, text: JSON.stringify({ error: { code: "lost", message: "x", details: {} } }) })).toEqual([expect.stringMatching(/\/error\/code must be equal to one of the allowed values/)]);
  });

  it("would report a wrong value of each closed field: a change's kind and values, a status's action, a check's code, Graph's properties, a notice's kind, an import's timings and delimiter", async () => {
    const wrong = (sent: Sent, method: string, url: string, body: unknown) =>
      api.problems(api.operationOf(method, `/api/v1/${url}`)!, { status: sent.status, headers: sent.headers, text: JSON.stringify(body) });
    const problem = (pattern: RegExp) => expect.arrayContaining([expect.stringMatching(pattern)]);

    const run = (await send(viewerToken, "GET", `${W}/runs?source=contoso&limit=500`, 200)).body.items.at(-1);
    const changesUrl = `${W}/runs/${run.id}/changes?action=create&limit=1`;
    const changes = await send(viewerToken, "GET", changesUrl, 200);
    const change = (patch: object) => wrong(changes, "GET", changesUrl, { ...changes.body, items: [{ ...changes.body.items[0], ...patch }] });
    expect(change({})).toEqual([]);
    expect(change({ kind: "created" })).toEqual(problem(/\/items\/0\/kind must be equal to one of the allowed values/));
    expect(change({ action: "add to group" })).toEqual(problem(/\/items\/0\/action must match pattern/));
    expect(change({ after: { ...changes.body.items[0].after, enabled: "yes" } })).toEqual(problem(/\/items\/0\/after\/enabled must be boolean/));
    expect(change({ after: { changed: ["surename"] } })).toEqual(problem(/\/items\/0\/after\/changed\/0 must be equal to one of the allowed values/));

    const person = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    const userUrl = `${W}/users/${encodeURIComponent(person.userPrincipalName)}`;
    const user = await send(viewerToken, "GET", userUrl, 200);
    expect(wrong(user, "GET", userUrl, { ...user.body, statusChange: { ...user.body.statusChange, action: "delete" } })).toEqual(problem(/\/statusChange\/action must be equal to one of the allowed values/));

    const testUrl = `${W}/sources/contoso/test`;
    const tested = await send(adminToken, "POST", testUrl, 200);
    expect(wrong(tested, "POST", testUrl, { ...tested.body, checks: [{ ...tested.body.checks[0], ok: false, code: "AADSTS 7000215" }] })).toEqual(problem(/\/checks\/0\/code must match pattern/));

    const triedUrl = `${W}/sources/contoso/try-user?user=${encodeURIComponent(person.userPrincipalName)}`;
    const tried = await send(adminToken, "GET", triedUrl, 200);
    expect(wrong(tried, "GET", triedUrl, { ...tried.body, graph: { ...tried.body.graph, accountEnabled: "yes" } })).toEqual(problem(/\/graph\/accountEnabled must be boolean/));

    const noticesUrl = `${W}/notifications`;
    const notices = await send(viewerToken, "GET", noticesUrl, 200);
    const notice = (patch: object) => wrong(notices, "GET", noticesUrl, { ...notices.body, items: [{ ...notices.body.items[0], ...patch }] });
    expect(notices.body.items[0]).toMatchObject({ kind: "sync_failed", milestone: "" });
    expect(notice({})).toEqual([]);
    expect(notice({ milestone: "30d" })).toEqual(problem(/\/items\/0\/milestone must be equal to constant/));
    expect(notice({ data: { importId: "x", fileName: "staff.csv" } })).toEqual(problem(/\/items\/0\/data must have required property 'runId'/));

    const { payload, headers } = multipartFile("timed.csv", "Email,Full name\r\ngrace@example.com,Grace Hopper\r\n");
    const uploaded = await send(adminToken, "POST", `${W}/imports`, 201, { payload, headers });
    expect(Object.keys(uploaded.body.preview.timings)).toEqual(expect.arrayContaining(["read", "check", "total"]));
    const timings = { ...uploaded.body.preview.timings, parse: 1 };
    expect(wrong(uploaded, "POST", `${W}/imports`, { ...uploaded.body, preview: { ...uploaded.body.preview, timings } })).toEqual(problem(/\/preview\/timings must NOT have additional properties/));
    expect(uploaded.body.preview.file.delimiter).toBe(",");
    const file = { ...uploaded.body.preview.file, delimiter: ":" };
    expect(wrong(uploaded, "POST", `${W}/imports`, { ...uploaded.body, preview: { ...uploaded.body.preview, file } })).toEqual(problem(/\/preview\/file\/delimiter must be equal to one of the allowed values/));
    await send(adminToken, "DELETE", `${W}/imports/${uploaded.body.id}`, 204);
  });

  it("drove every documented operation to a success, and found every answer as documented", () => {
    const unanswered = api.operations.filter((o) => ![...(seen.get(o) ?? [])].some((status) => status < 400));
    expect(unanswered).toEqual([]);
    expect(problems).toEqual([]);
    // Errors too: each kind was checked against the shared Error schema somewhere.
    const statuses = new Set([...seen.values()].flatMap((s) => [...s]));
    for (const status of [400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 431, 502]) expect(statuses, String(status)).toContain(status);
  });
});
