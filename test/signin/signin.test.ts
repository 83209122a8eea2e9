import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { Browser, directoryUser, loginWithCli, openSignInHarness, signInAs, startCliLogin, type SignInHarness } from "./support.ts";
import type { GraphUser } from "../../src/emulator/directory-types.ts";
import { pageOfChanges } from "../../src/core/change-log.ts";
import { safeReturnTo } from "../../src/auth/signin.ts";
import { getUserRole, setUserRole } from "../../src/auth/user-roles.ts";
import { listAccounts } from "../../src/core/accounts.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";

/**
 * Sign in with Microsoft end to end over HTTP: Rollcall's start and callback routes, the emulator's
 * real sign-in page, code + PKCE redemption and ID-token validation, matching on (tid, oid).
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

const members = (users: GraphUser[]) => users.filter((u) => u.accountEnabled && u.userType !== "Guest");

describe(`sign in with Microsoft (${engine})`, () => {
  let h: SignInHarness;
  let tenant1: string;
  let tenant2: string;
  let tenant3: string;

  beforeAll(async () => {
    h = await openSignInHarness(engine);
    tenant1 = h.emulator.tenantId;
    const home = h.emulator.tenants.get(tenant1);
    home.updateApp(h.emulator.clientId, { multiTenant: true });
    // A second organization synced into the same workspace with the same (multi-tenant) app, and a third
    // that consented to the app but that this workspace does not synchronize.
    const t2 = h.emulator.tenants.add({ users: 6, groups: 1, seed: 21 });
    const t3 = h.emulator.tenants.add({ users: 4, groups: 1, seed: 31 });
    tenant2 = t2.id;
    tenant3 = t3.id;
    t2.consentApp(h.emulator.clientId);
    t3.consentApp(h.emulator.clientId);
    await h.addSource("contoso");
    await h.sync("contoso");
  }, 120_000);

  afterAll(async () => h?.close());

  const userOf = (tenantId: string, index = 0) => members(h.emulator.tenants.get(tenantId).listUsers())[index]!;

  it("a synced user signs in through the emulator's page, lands in the console with a session, and sees their own profile", async () => {
    const person = userOf(tenant1);
    const browser = new Browser(h.emulator.caPem);
    const result = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start?returnTo=/profile`, { tenantId: tenant1, userId: person.id });
    expect(result.stage).toBe("callback");
    expect(result.status).toBe(302);
    expect(result.location).toBe("/profile");
    const cookie = result.setCookies.find((c) => c.startsWith("rollcall_session="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);

    const profile = await browser.request(`${h.url}/api/v1/auth/profile`);
    expect(profile.status).toBe(200);
    const body = JSON.parse(profile.text);
    expect(body.signInMethod).toBe("microsoft");
    expect(body.account.displayName).toBe(person.displayName);
    expect(body.user.source).toMatchObject({ type: "entra", name: "contoso", externalId: person.id });
    expect(body.workspaces).toEqual([expect.objectContaining({ name: "default", role: "viewer" })]);
    // The first visit is in the workspace's activity and the user's history, once.
    await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id });
    const { items } = await pageOfChanges(h.store.db, h.ctx.workspace.id, { userId: body.user.id, action: "grant access" }, { limit: 10 });
    expect(items).toEqual([expect.objectContaining({ actor: body.account.email, after: expect.objectContaining({ role: "viewer", signIn: "microsoft" }) })]);
    expect(await getUserRole(h.store.db, h.ctx.workspace, body.user.id)).toMatchObject({ role: "viewer" });
    expect(await getUserRole(h.store.db, h.ctx.workspace, userOf(tenant1, 1).userPrincipalName)).toMatchObject({ role: null });

    // Read-only: a viewer can read the directory but not change it, even with the CSRF token.
    const me = JSON.parse((await browser.request(`${h.url}/api/v1/auth/me`)).text);
    expect((await browser.request(`${h.url}/api/v1/workspaces/default/users?limit=1`)).status).toBe(200);
    const change = await browser.request(`${h.url}/api/v1/workspaces/default/users`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
      body: JSON.stringify({ displayName: "Nope", email: "nope@example.com" }),
    });
    expect(change.status).toBe(403);

    // The same person has no password: the password form cannot sign them in.
    const login = await browser.request(`${h.url}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: body.account.email, password: "anything-at-all" }) });
    expect(login.status).toBe(401);

    // Logout ends the session, and says where the browser can end its Microsoft session too: the organization's
    // sign-out page, which comes back to the callback (registered already), which leads to the console's sign-in page.
    const logout = await browser.request(`${h.url}/api/v1/auth/logout`, { method: "POST", headers: { "x-csrf-token": me.csrfToken } });
    expect(logout.status).toBe(200);
    const callback = `${h.url}/api/v1/auth/microsoft/callback`;
    const signOutUrl = JSON.parse(logout.text).microsoftSignOutUrl;
    expect(signOutUrl).toBe(`${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(callback)}`);
    expect((await browser.request(`${h.url}/api/v1/auth/profile`)).status).toBe(401);
    // The app has no login_hint claim, so Microsoft asks which account to sign out; once picked, back to the sign-in page.
    const picker = await browser.request(signOutUrl);
    expect(picker.text).toContain("Which account do you want to sign out of?");
    const account = /name="signout_account" value="([^"]+)">/.exec(picker.text)![1]!;
    const atMicrosoft = await browser.request(`${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout`, {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ post_logout_redirect_uri: callback, signout_account: account }).toString(),
    });
    expect(atMicrosoft).toMatchObject({ status: 302, location: callback });
    expect(await browser.request(callback)).toMatchObject({ status: 302, location: "/login?signedOut=microsoft" });
  });

  it("with the login_hint optional claim on the app, signing out of Microsoft names the account (logout_hint): no account picker", async () => {
    const home = h.emulator.tenants.get(tenant1);
    home.updateApp(h.emulator.clientId, { optionalClaims: { idToken: [{ name: "login_hint" }] } });
    try {
      const browser = new Browser(h.emulator.caPem);
      const [ann, bob] = [userOf(tenant1, 3), userOf(tenant1, 4)];
      // Two people signed in with Microsoft on one browser; Bob is the one signed in to Rollcall now.
      await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: ann.id });
      await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start?prompt=select_account`, { tenantId: tenant1, userId: bob.id }); // else Ann's single sign-on
      const me = JSON.parse((await browser.request(`${h.url}/api/v1/auth/me`)).text);
      expect(me.account.displayName).toBe(bob.displayName);
      const logout = await browser.request(`${h.url}/api/v1/auth/logout`, { method: "POST", headers: { "x-csrf-token": me.csrfToken } });
      const signOutUrl = new URL(JSON.parse(logout.text).microsoftSignOutUrl);
      expect(signOutUrl.searchParams.get("logout_hint")).toMatch(/^O\./);
      const callback = `${h.url}/api/v1/auth/microsoft/callback`;
      expect(await browser.request(signOutUrl.toString())).toMatchObject({ status: 302, location: callback });
      // Bob's Microsoft session ended, Ann's did not: Microsoft still offers only her on this browser.
      const left = await browser.request(`${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout?${new URLSearchParams({ post_logout_redirect_uri: callback })}`);
      expect(left.text).toContain(ann.userPrincipalName);
      expect(left.text).not.toContain(bob.userPrincipalName);
    } finally {
      home.updateApp(h.emulator.clientId, { optionalClaims: { idToken: [] } });
    }
  });

  it("signing out of Microsoft from another app ends the Rollcall session: front-channel logout names the browser session's sid", async () => {
    const home = h.emulator.tenants.get(tenant1);
    home.updateApp(h.emulator.clientId, { logoutUrl: `${h.url}/api/v1/auth/microsoft/frontchannel-logout` });
    try {
      const browser = new Browser(h.emulator.caPem);
      expect((await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: userOf(tenant1, 5).id })).status).toBe(302);
      expect((await browser.request(`${h.url}/api/v1/auth/me`)).status).toBe(200);
      // Microsoft's sign-out page, reached from another app: the person picks their account.
      const picker = await browser.request(`${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout`);
      const account = /name="signout_account" value="([^"]+)">/.exec(picker.text)![1]!;
      const signedOut = await browser.request(`${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout`, {
        method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ signout_account: account }).toString(),
      });
      const frame = /<iframe hidden src="([^"]+)"/.exec(signedOut.text)![1]!.replace(/&amp;/g, "&");
      expect(new URL(frame).pathname).toBe("/api/v1/auth/microsoft/frontchannel-logout");
      // A hidden third-party frame carries no Rollcall cookie: the sid alone names the sessions to end.
      expect((await fetch(frame)).status).toBe(200);
      expect((await browser.request(`${h.url}/api/v1/auth/me`)).status).toBe(401);
      expect((await fetch(`${h.url}/api/v1/auth/microsoft/frontchannel-logout?sid=unknown`)).status).toBe(200);
    } finally {
      home.updateApp(h.emulator.clientId, { logoutUrl: null });
    }
  });

  it("signs people in across Microsoft's signing-key rollovers, planned and emergency (a key not fetched before is fetched at once)", async () => {
    const signIn = async (index: number) => (await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: userOf(tenant1, index).id })).status;
    expect(await signIn(6)).toBe(302); // the signing keys are cached now
    await h.emulator.rotateSigningKeys();
    expect(await signIn(7)).toBe(302);
    await h.emulator.rotateSigningKeys({ emergency: true });
    expect(await signIn(6)).toBe(302);
  });

  it("offers no Microsoft sign-out once its source's login host may no longer be reached (ROLLCALL_ENTRA_CUSTOM_URLS off)", async () => {
    const browser = new Browser(h.emulator.caPem);
    await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: userOf(tenant1, 2).id });
    const me = JSON.parse((await browser.request(`${h.url}/api/v1/auth/me`)).text);
    const config = h.rt.config as { entraCustomUrls: boolean };
    config.entraCustomUrls = false;
    try {
      const logout = await browser.request(`${h.url}/api/v1/auth/logout`, { method: "POST", headers: { "x-csrf-token": me.csrfToken } });
      expect(logout.status).toBe(200);
      expect(JSON.parse(logout.text)).toEqual({ microsoftSignOutUrl: null });
    } finally {
      config.entraCustomUrls = true;
    }
  });

  it("returnTo stays on this site: a tab, line break or backslash that a browser would drop or read as a slash sends the person to /", async () => {
    for (const returnTo of ["/\t/evil.example", "/.//evil.example"]) {
      const landed = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?returnTo=${encodeURIComponent(returnTo)}`, { tenantId: tenant1, userId: userOf(tenant1, 6).id });
      expect(landed.status).toBe(302);
      expect(landed.location).toBe("/");
    }
    for (const path of ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\\evil.example", "/x\\..\\\\evil.example", "//evil.example", "https://evil.example", "/api/v1/auth/me", "/./api/v1/auth/me",
      // Dot segments that resolve to a path starting "//": another host to a browser.
      "/.//evil.example", "/..//evil.example", "/a/..//evil.example", "/%2e//evil.example", "/%2E%2E//evil.example"]) {
      expect(safeReturnTo(path), JSON.stringify(path)).toBeNull();
    }
    expect(safeReturnTo("/w/demo/users?q=ada#top")).toBe("/w/demo/users?q=ada#top");
    expect(safeReturnTo("/%09/x")).toBe("/%09/x");
  });

  it("a user of a second tenant of the workspace signs in (multi-tenant issuer checked against tid); a consented tenant the workspace does not sync is refused", async () => {
    await h.addSource("fabrikam", {}, { tenantId: tenant2, clientId: h.emulator.clientId, clientSecret: h.emulator.clientSecret });
    await h.sync("fabrikam");
    const ok = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId: tenant2, userId: userOf(tenant2).id });
    expect(ok.status).toBe(302);
    expect(ok.location).toBe("/");
    expect(ok.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);

    const stranger = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId: tenant3, userId: userOf(tenant3).id });
    expect(stranger.stage).toBe("callback");
    expect(stranger.status).toBe(403);
    expect(stranger.text).toContain('data-reason="unknown_tenant"');
    expect(stranger.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
    // A guest signs in through their host organization's own authority, never /organizations (where Microsoft signs
    // them in at home, with their home tid): the refusal offers each organization, and that link uses its tenant.
    const refusedLinks = [...stranger.text.matchAll(/<a class="organization" href="([^"]+)">([^<]+)</g)].map((m) => [m[1]!.replace(/&amp;/g, "&"), m[2]]);
    expect(refusedLinks.map(([, name]) => name)).toEqual(["contoso", "fabrikam"]);
    expect(stranger.text).toMatch(/guest/);
    const viaFabrikam = await new Browser(h.emulator.caPem).request(`${h.url}${refusedLinks[1]![0]}`);
    expect(viaFabrikam.status).toBe(302);
    expect(new URL(viaFabrikam.location!).pathname).toBe(`/${tenant2}/oauth2/v2.0/authorize`);
    const viaStart = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?workspace=default`);
    expect(new URL(viaStart.location!).pathname, "without a chosen organization: all of the app's tenants").toBe("/organizations/oauth2/v2.0/authorize");
    const member = await signInAs(new Browser(h.emulator.caPem), `${h.url}${refusedLinks[1]![0]}`, { tenantId: tenant2, userId: userOf(tenant2, 1).id });
    expect(member.status).toBe(302);

    // Their organization synchronized into the workspace by a source that does not sign people in: told so, not "not one this workspace synchronizes".
    await h.addSource("northwind", { signIn: false }, { tenantId: tenant3, clientId: h.emulator.clientId, clientSecret: h.emulator.clientSecret });
    const notOffered = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId: tenant3, userId: userOf(tenant3).id });
    expect(notOffered.status).toBe(403);
    expect(notOffered.text).toContain('data-reason="not_offered"');
    expect(notOffered.text).toContain("source &quot;northwind&quot;, which does not offer sign-in with Microsoft");
    expect(notOffered.text).toContain("rollcall sources update northwind --sign-in");
    await sql`update sources set config = config || '{"signIn": false}'::jsonb where name = 'fabrikam'`.execute(h.store.db);
  });

  it("a synced guest signs in through their host organization (its source's own authority), matched as the host's guest", async () => {
    const host = h.emulator.tenants.get(tenant1);
    const guest = host.createUser({ displayName: "Gita Guest", userPrincipalName: `gita_partner.example#EXT#@${host.domain}`, mail: "gita@partner.example", userType: "Guest" });
    await updateEntraSource(h.ctx, "contoso", { config: { includeGuests: true } });
    try {
      await h.sync("contoso");
      const browser = new Browser(h.emulator.caPem);
      const result = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start?workspace=default&source=contoso`, { tenantId: tenant1, userId: guest.id });
      expect([result.stage, result.status, result.location]).toEqual(["callback", 302, "/"]);
      const profile = JSON.parse((await browser.request(`${h.url}/api/v1/auth/profile`)).text);
      expect(profile.user.source).toMatchObject({ name: "contoso", externalId: guest.id });
      expect(profile.user.email).toBe("gita@partner.example");
    } finally {
      await updateEntraSource(h.ctx, "contoso", { config: { includeGuests: false } });
    }
  });

  it("sources of one multi-tenant app holding different secrets: a stale secret on one does not stop sign-in; when all are refused, the first is named", async () => {
    const signInFrom = (tenantId: string, index: number) =>
      signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId, userId: userOf(tenantId, index).id });
    await sql`update sources set config = config || '{"signIn": true}'::jsonb where name = 'fabrikam'`.execute(h.store.db);
    try {
      // The admin rotated the app's secret and updated fabrikam, not yet contoso (the first source of the app).
      await updateEntraSource(h.ctx, "contoso", { credential: { kind: "secret", secret: "St4le8Q~theSecretBeforeTheRotation0123456" } });
      expect((await signInFrom(tenant1, 2)).status).toBe(302);
      expect((await signInFrom(tenant2, 2)).status).toBe(302);
      await updateEntraSource(h.ctx, "fabrikam", { credential: { kind: "secret", secret: "St4le8Q~anotherSecretNoLongerValid0123456" } });
      const refused = await signInFrom(tenant1, 2);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain("the app registration of source &quot;contoso&quot;");
      expect(refused.text).toContain("AADSTS7000215");
    } finally {
      for (const name of ["contoso", "fabrikam"]) await updateEntraSource(h.ctx, name, { credential: { kind: "secret", secret: h.emulator.clientSecret } });
      await sql`update sources set config = config || '{"signIn": false}'::jsonb where name = 'fabrikam'`.execute(h.store.db);
    }
  });

  it("a user disabled in Rollcall is refused, and their open session ends for good", async () => {
    const person = userOf(tenant1, 1);
    const browser = new Browser(h.emulator.caPem);
    expect((await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id })).status).toBe(302);
    expect((await browser.request(`${h.url}/api/v1/auth/me`)).status).toBe(200);
    const row = await directoryUser(h.store, person.id);
    await h.store.db.updateTable("users").set({ enabled: false }).where("id", "=", row.id).execute();
    expect((await browser.request(`${h.url}/api/v1/auth/me`)).status).toBe(401);
    await h.store.db.updateTable("users").set({ enabled: true }).where("id", "=", row.id).execute();
    expect((await browser.request(`${h.url}/api/v1/auth/me`)).status, "enabled again, they sign in again; the old session stays ended").toBe(401);
    await h.store.db.updateTable("users").set({ enabled: false }).where("id", "=", row.id).execute();

    const again = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id });
    expect(again.status).toBe(403);
    expect(again.text).toContain('data-reason="disabled"');
  });

  it("an admin takes a synced person's access away: sessions and their API tokens end, sign-in is refused, and a sync does not undo it", async () => {
    const person = userOf(tenant1, 3);
    const row = await directoryUser(h.store, person.id);
    await setUserRole(h.store.db, h.ctx.workspace, row.id, "admin", "test");
    const browser = new Browser(h.emulator.caPem);
    expect((await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id })).status).toBe(302);
    const me = JSON.parse((await browser.request(`${h.url}/api/v1/auth/me`)).text) as { csrfToken: string };
    const created = await browser.request(`${h.url}/api/v1/workspaces/default/tokens`, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken }, body: JSON.stringify({ name: "their script", role: "admin" }) });
    expect(created.status, created.text).toBe(201);
    const bearer = { authorization: `Bearer ${JSON.parse(created.text).token}` };
    const tokenWorks = async () => (await fetch(`${h.url}/api/v1/workspaces/default/users?limit=1`, { headers: bearer })).status;
    expect(await tokenWorks()).toBe(200);
    // The owner's admin accounts are the password ones: a synced person's access is set on their user page.
    expect((await listAccounts(h.store.db)).map((a) => a.email)).not.toContain(person.mail ?? person.userPrincipalName);

    // Made a viewer, their admin token stops; admin again, it works again.
    await setUserRole(h.store.db, h.ctx.workspace, row.id, "viewer", "test");
    expect(await tokenWorks()).toBe(401);
    await setUserRole(h.store.db, h.ctx.workspace, row.id, "admin", "test");
    expect(await tokenWorks()).toBe(200);

    expect(await setUserRole(h.store.db, h.ctx.workspace, row.id, "none", "test")).toMatchObject({ role: "none" });
    expect((await browser.request(`${h.url}/api/v1/auth/me`)).status).toBe(401);
    const refused = await fetch(`${h.url}/api/v1/workspaces/default/users?limit=1`, { headers: bearer });
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.message).toBe(`The API token "their script" was created by ${person.mail ?? person.userPrincipalName}, who no longer holds its admin role in this workspace; an admin creates a new one`);
    await h.sync("contoso");
    const again = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id });
    expect(again.status).toBe(403);
    expect(again.text).toContain('data-reason="blocked"');
    expect(await getUserRole(h.store.db, h.ctx.workspace, row.id)).toMatchObject({ role: "none" });

    await setUserRole(h.store.db, h.ctx.workspace, row.id, "viewer", "test");
    expect((await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id })).status).toBe(302);
    // Disabled in Entra ID and synced, their tokens stop too.
    await setUserRole(h.store.db, h.ctx.workspace, row.id, "admin", "test");
    expect(await tokenWorks()).toBe(200);
    h.emulator.tenants.get(tenant1).setSignInEnabled(person.id, false);
    await h.sync("contoso");
    expect(await tokenWorks()).toBe(401);
    h.emulator.tenants.get(tenant1).setSignInEnabled(person.id, true);
    await h.sync("contoso");
  });

  it("a user deleted from Rollcall is refused, and one disabled at Microsoft never gets back to Rollcall (AADSTS50057)", async () => {
    const person = userOf(tenant1, 2);
    const row = await directoryUser(h.store, person.id);
    await h.store.db.deleteFrom("users").where("id", "=", row.id).execute();
    const deleted = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id });
    expect(deleted.status).toBe(403);
    expect(deleted.text).toContain('data-reason="unknown_user"');

    const other = userOf(tenant1, 3);
    h.emulator.tenants.get(tenant1).setSignInEnabled(other.id, false);
    const atMicrosoft = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: other.id });
    expect(atMicrosoft.stage).toBe("emulator");
    expect(atMicrosoft.text).toContain("AADSTS50057");
    h.emulator.tenants.get(tenant1).setSignInEnabled(other.id, true);
  });

  it("the callback refuses a replayed state and a sign-in finished in another browser (no session either way)", async () => {
    const person = userOf(tenant1, 4);
    const browser = new Browser(h.emulator.caPem);
    const done = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id });
    expect(done.status).toBe(302);
    const replay = await browser.request(done.callbackUrl!);
    expect(replay.status).toBe(403);
    expect(replay.text).toContain('data-reason="expired_request"');

    // Login CSRF: an attacker's own callback URL opened in the victim's browser (which lacks the binding cookie).
    const attacker = new Browser(h.emulator.caPem);
    const post = await signInAs(attacker, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: tenant1, userId: person.id }, { follow: false });
    const victim = new Browser(h.emulator.caPem);
    const forced = await victim.request(post.callbackUrl!);
    expect(forced.status).toBe(403);
    expect(forced.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
  });

  it("the sign-in page learns whether Microsoft sign-in is offered; turning it off on every source hides it", async () => {
    const browser = new Browser(h.emulator.caPem);
    expect(JSON.parse((await browser.request(`${h.url}/api/v1/auth/providers`)).text)).toEqual({ password: true, microsoft: true, microsoftRedirectUri: `${h.url}/api/v1/auth/microsoft/callback` });
    await sql`update sources set config = config || '{"signIn": false}'::jsonb`.execute(h.store.db);
    expect(JSON.parse((await browser.request(`${h.url}/api/v1/auth/providers`)).text)).toEqual({ password: true, microsoft: false, microsoftRedirectUri: `${h.url}/api/v1/auth/microsoft/callback` });
    const start = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    expect(start.status).toBe(403);
    expect(start.text).toContain('data-reason="not_offered"');
    await sql`update sources set config = config || '{"signIn": true}'::jsonb where name = 'contoso'`.execute(h.store.db);
  });

  it("rollcall login completes against the emulator: loopback redirect, one-time code + PKCE, a bearer session for the API and whoami", async () => {
    const person = userOf(tenant1, 5);
    const dir = mkdtempSync(join(tmpdir(), "rollcall-login-"));
    const sessionFile = join(dir, "session.json");
    h.emulator.tenants.get(tenant1).updateApp(h.emulator.clientId, { optionalClaims: { idToken: [{ name: "login_hint" }] } });
    try {
      const { url, back, landed, code: exitCode } = await loginWithCli(h, { tenantId: tenant1, userId: person.id }, { ROLLCALL_SESSION_FILE: sessionFile }, ["--workspace", "default", "--source", "contoso"]);
      expect(new URL(url).searchParams.get("client_redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(new URL(url).searchParams.get("source")).toBe("contoso");

      // The system browser: Rollcall → Microsoft (emulator) → Rollcall's callback → the CLI's loopback listener.
      expect(back.status).toBe(302);
      expect(back.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);
      // No cookie session is handed to the browser in a native sign-in.
      expect(back.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
      expect(landed.text).toContain("You are signed in to Rollcall");
      expect(exitCode).toBe(0);

      const saved = JSON.parse(readFileSync(sessionFile, "utf8"));
      expect(statSync(sessionFile).mode & 0o077).toBe(0);
      expect(saved.token).toMatch(/^rcs_/);
      expect(saved.account.displayName).toBe(person.displayName);
      const profile = await fetch(`${h.url}/api/v1/auth/profile`, { headers: { authorization: `Bearer ${saved.token}` } });
      expect(profile.status).toBe(200);
      expect((await profile.json()).user.source.externalId).toBe(person.id);

      // The one-time code cannot be used twice, nor without the verifier.
      const code = new URL(back.location!).searchParams.get("code")!;
      const replay = await fetch(`${h.url}/api/v1/auth/microsoft/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code, codeVerifier: "x".repeat(43) }) });
      expect(replay.status).toBe(403);

      const whoami = await runCli(["whoami", "--json"], { ROLLCALL_SESSION_FILE: sessionFile });
      expect(whoami.code).toBe(0);
      expect(whoami.json<{ account: { displayName: string } }>().account.displayName).toBe(person.displayName);
      const logout = await runCli(["logout"], { ROLLCALL_SESSION_FILE: sessionFile });
      expect(logout.code).toBe(0);
      // The browser that signed in keeps its Microsoft session: the person is told how to end it too.
      expect(logout.stdout).toContain(`Your browser is still signed in to Microsoft; to sign out of Microsoft too, open:\n  ${h.emulator.loginUrl}/${tenant1}/oauth2/v2.0/logout?`);
      // The login_hint claim came through the one-time code to the CLI's session: that link names the account.
      expect(logout.stdout).toMatch(/logout\?post_logout_redirect_uri=[^&\s]+&logout_hint=O\./);
      expect((await fetch(`${h.url}/api/v1/auth/profile`, { headers: { authorization: `Bearer ${saved.token}` } })).status).toBe(401);
    } finally {
      h.emulator.tenants.get(tenant1).updateApp(h.emulator.clientId, { optionalClaims: { idToken: [] } });
      rmSync(dir, { recursive: true, force: true });
    }
    // Three spawned CLI processes (login, whoami, logout); each starts TypeScript through tsx, slow on a busy machine.
  }, 300_000);

  it("rollcall login refused at the server (not in the directory) ends at once: the loopback hears why, shows it, and the CLI fails with it", async () => {
    const stranger = h.emulator.tenants.get(tenant1).createUser({ displayName: "Not Synced" });
    const dir = mkdtempSync(join(tmpdir(), "rollcall-login-"));
    const sessionFile = join(dir, "session.json");
    try {
      // --timeout 1: without the refusal reaching the loopback, the CLI would only end after a minute, with "No sign-in arrived".
      const login = await loginWithCli(h, { tenantId: tenant1, userId: stranger.id }, { ROLLCALL_SESSION_FILE: sessionFile }, ["--workspace", "default", "--timeout", "1"], async (url) => {
        // An error that does not carry this sign-in's state is not this sign-in's: ignored, the CLI keeps waiting.
        const forged = new URL(new URL(url).searchParams.get("client_redirect_uri")!);
        forged.search = new URLSearchParams({ error: "access_denied", error_description: "forged", state: "not-the-state" }).toString();
        expect((await fetch(forged)).status).toBe(400);
      });
      // Rollcall's callback sends the browser to the loopback the sign-in was started for, with an RFC 6749 error.
      expect(login.back.status).toBe(302);
      const back = new URL(login.back.location!);
      expect(back.origin + back.pathname).toBe(new URL(login.url).searchParams.get("client_redirect_uri"));
      expect(back.searchParams.get("error")).toBe("access_denied");
      expect(back.searchParams.get("error_description")).toMatch(/is not in the directory of workspace "default"/);
      expect(back.searchParams.get("state")).toBe(new URL(login.url).searchParams.get("client_state"));
      expect(back.searchParams.has("code")).toBe(false);
      expect(login.back.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
      expect(login.landed.text).toContain("Sign-in refused");
      expect(login.landed.text).toContain("is not in the directory of workspace &quot;default&quot;");

      expect(login.code).toBe(1);
      const printed = JSON.parse(login.stderr.trim().split("\n").at(-1)!) as { error: { code: string; message: string } };
      expect(printed.error.code).toBe("signin_refused");
      expect(printed.error.message).toMatch(/is not in the directory of workspace "default"/);
      expect(existsSync(sessionFile)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("rollcall login as someone of an organization the workspace does not synchronize is told the --source of each one it does", async () => {
    const elsewhere = h.emulator.tenants.add({ users: 2, groups: 0, seed: 41 });
    elsewhere.consentApp(h.emulator.clientId);
    await sql`update sources set config = config || '{"signIn": true}'::jsonb where name = 'fabrikam'`.execute(h.store.db);
    try {
      const person = members(elsewhere.listUsers())[0]!;
      const env = { ROLLCALL_SESSION_FILE: join(tmpdir(), "rollcall-never-written.json") };
      const login = await loginWithCli(h, { tenantId: elsewhere.id, userId: person.id }, env, ["--workspace", "default", "--timeout", "1"]);
      expect(login.code).toBe(1);
      expect(JSON.parse(login.stderr.trim().split("\n").at(-1)!).error.message).toMatch(/guest.*With rollcall login: --source "contoso" or --source "fabrikam"\.$/);
    } finally {
      await sql`update sources set config = config || '{"signIn": false}'::jsonb where name = 'fabrikam'`.execute(h.store.db);
    }
  }, 180_000);

  it("rollcall login for a workspace or organization without Microsoft sign-in ends at once, from the start link", async () => {
    const env = { ROLLCALL_SESSION_FILE: join(tmpdir(), "rollcall-never-written.json") };
    for (const [args, refusal] of [
      [["--workspace", "nosuch"], 'There is no workspace "nosuch" offering sign-in with Microsoft'],
      [["--workspace", "default", "--source", "nosuch"], 'Source "nosuch" does not offer sign-in with Microsoft'],
    ] as const) {
      // --timeout 1: without the refusal reaching the loopback, the CLI would only end after a minute.
      const login = await startCliLogin(h, env, [...args, "--timeout", "1"]);
      const browser = new Browser(h.emulator.caPem);
      const start = await browser.request(login.url);
      expect(start.status).toBe(302);
      const back = new URL(start.location!);
      const sent = new URL(login.url).searchParams;
      expect(back.origin + back.pathname).toBe(sent.get("client_redirect_uri"));
      expect([back.searchParams.get("error"), back.searchParams.get("error_description"), back.searchParams.get("state")]).toEqual(["access_denied", expect.stringContaining(refusal), sent.get("client_state")]);
      expect((await browser.request(start.location!)).text).toContain("Sign-in refused");
      expect(await login.exited).toBe(1);
      expect(JSON.parse(login.stderr().trim().split("\n").at(-1)!).error).toMatchObject({ code: "signin_refused", message: expect.stringContaining(refusal) });
    }
    // Only a loopback URI sent with a PKCE challenge is redirected to: anything else gets the refusal page.
    const challenge = "A".repeat(43);
    for (const [client, status] of [[`client_redirect_uri=${encodeURIComponent("https://elsewhere.example/callback")}&client_code_challenge=${challenge}`, 403], ["client_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback", 400]] as const) {
      const start = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?workspace=nosuch&${client}`);
      expect([start.status, start.location]).toEqual([status, null]);
    }
  }, 180_000);
});
