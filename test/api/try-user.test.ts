import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { expectError, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { createUser } from "../../src/core/users.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { tryUserMapping } from "../../src/core/source-try.ts";
import { hiddenPin } from "../../src/sources/entra/try-user.ts";
import { userSelect } from "../../src/sources/entra/config.ts";

/**
 * "Try the mapping on one user" through the API (fastify inject) and the core, against the emulator's Graph over
 * HTTPS: the sync's own $select and mapper, the PIN never shown, scope (nested groups, guests), the Rollcall user it
 * would update or link, and the errors an admin meets (unknown user, wrong secret, missing permission).
 */
describe.each(engines)("try a source's mapping on one user (%s)", (engine) => {
  let api: TestApi;
  let emulator: RunningEmulator;
  let admin: Caller;
  let viewer: Caller;
  const ws = "workspaces/default";
  const tenant = () => emulator.tenants.get(emulator.tenantId);
  let ada: { id: string; userPrincipalName: string };
  let guest: { id: string; userPrincipalName: string };
  let outsider: { id: string; userPrincipalName: string };

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 5, groups: 1, seed: 5 });
    api = await testApi(engine);
    admin = await tokenCaller(api, "default", "admin");
    viewer = await tokenCaller(api, "default", "viewer");
    const t = tenant();
    const staff = t.createGroup({ displayName: "Staff" });
    const pilots = t.createGroup({ displayName: "Pilots" });
    t.addMember(staff.id, pilots.id);
    ada = t.createUser({
      userPrincipalName: `ada@${t.domain}`, mail: "ada.lovelace@example.com", displayName: "Ada Lovelace", accountEnabled: true, userType: "Member",
      mobilePhone: "call me maybe", businessPhones: ["+44 20 7946 0000"], usageLocation: "GB", officeLocation: "London",
      onPremisesExtensionAttributes: { extensionAttribute10: "0042;0043", extensionAttribute3: "2468" },
    });
    t.addMember(pilots.id, ada.id);
    guest = t.createUser({ userType: "Guest", userPrincipalName: `bo_example.org#EXT#@${t.domain}`, mail: "bo@example.org", displayName: "Bo Guest", accountEnabled: true });
    t.addMember(staff.id, guest.id);
    outsider = t.createUser({ userPrincipalName: `cy@${t.domain}`, mail: null, displayName: "Cy Outside", accountEnabled: true, userType: "Member" });
    const created = await admin("POST", `${ws}/sources`, {
      name: "corp", tenantId: emulator.tenantId, clientId: emulator.clientId, clientSecret: emulator.clientSecret, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl,
      users: "groups", scopeGroups: ["staff"], country: "US",
      mapping: { cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10", pin: "onPremisesExtensionAttributes.extensionAttribute3", "custom:office": "officeLocation" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });
  afterAll(async () => {
    await api?.close();
    await emulator?.close();
  });

  const tryUser = (user: string, as: Caller = admin, source = "corp") => as("GET", `${ws}/sources/${source}/try-user?user=${encodeURIComponent(user)}`);

  it("maps a user as the sync would: an extension attribute to cards, a bad phone dropped with a warning, the PIN only said to be set", async () => {
    const reply = await tryUser(ada.userPrincipalName.toUpperCase());
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const body = reply.body;
    expect(body.user).toMatchObject({
      externalId: ada.id, email: "ada.lovelace@example.com", userPrincipalName: ada.userPrincipalName, displayName: "Ada Lovelace", enabled: true,
      cardNumbers: ["0042", "0043"], mobilePhone: null, businessPhones: ["+442079460000"], customAttributes: { office: "London" }, pin: "set",
    });
    expect(body.origins).toMatchObject({ cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10", email: "mail", pin: "onPremisesExtensionAttributes.extensionAttribute3", "customAttributes.office": "officeLocation", enabled: "accountEnabled" });
    expect(body.warnings).toEqual([expect.stringMatching(/^mobilePhone: .*; dropped$/)]);
    // Graph's answer as given, with the sync's $select only, and the PIN's property hidden.
    expect(body.graph.onPremisesExtensionAttributes.extensionAttribute10).toBe("0042;0043");
    expect(body.graph.onPremisesExtensionAttributes.extensionAttribute3).toBe(hiddenPin);
    expect(body.graph.mobilePhone).toBe("call me maybe");
    // Exactly the properties a sync selects (the emulator's users have many more: createdDateTime, city, …).
    const source = (await admin("GET", `${ws}/sources/corp`)).body;
    expect(Object.keys(body.graph).sort()).toEqual(userSelect(source.config).sort());
    expect(JSON.stringify(body)).not.toContain("2468");
    expect(body.scope).toEqual({ inScope: true, reason: "a member (directly or through nested groups) of Staff" });
    expect(body.match).toEqual({ action: "create", user: null, message: expect.stringMatching(/^creates a new user/) });
  });

  it("finds the user by object ID and by mail too, and names the Rollcall user it would link", async () => {
    expect((await tryUser(ada.id)).body.user.externalId).toBe(ada.id);
    const manual = await createUser({ db: api.store.db, workspace: await resolveWorkspace(api.store.db, "default"), actor: "test" }, { displayName: "Ada by hand", email: "Ada.Lovelace@example.com" });
    const byMail = await tryUser("ada.lovelace@example.com");
    expect(byMail.status, JSON.stringify(byMail.body)).toBe(200);
    expect(byMail.body.match).toMatchObject({ action: "link", user: { id: manual.id, displayName: "Ada by hand", source: { type: "manual" } } });
  });

  it("finds a user whose UPN begins with $ (Graph takes it only as /users('$…')) and one whose UPN has a quote", async () => {
    const t = tenant();
    const service = t.createUser({ userPrincipalName: `$svc-print@${t.domain}`, mail: null, displayName: "Print service", accountEnabled: true, userType: "Member" });
    const quoted = t.createUser({ userPrincipalName: `$o'neil@${t.domain}`, mail: null, displayName: "Dan O'Neil", accountEnabled: true, userType: "Member" });
    for (const user of [service, quoted]) {
      const tried = await tryUser(user.userPrincipalName);
      expect(tried.status, JSON.stringify(tried.body)).toBe(200);
      expect(tried.body.user).toMatchObject({ externalId: user.id, email: user.userPrincipalName });
    }
  });

  it("says who is out of scope: a guest the source leaves out, a member of none of its groups", async () => {
    const bo = await tryUser(guest.userPrincipalName);
    expect(bo.status, JSON.stringify(bo.body)).toBe(200);
    expect(bo.body.scope).toEqual({ inScope: false, reason: expect.stringMatching(/^a guest \(userType Guest\), and this source leaves guests out/) });
    const cy = await tryUser(outsider.userPrincipalName);
    expect(cy.body.scope).toEqual({ inScope: false, reason: "not a member, directly or through nested groups, of any of the source's groups (staff)" });
    expect(cy.body.user.email).toBe(outsider.userPrincipalName);
    expect(cy.body.origins.email).toBe("userPrincipalName");
  });

  it("answers 404 naming a user Graph does not know, and 404 for an unknown source", async () => {
    const unknown = await tryUser("nobody@example.com");
    expectError(unknown, 404, "not_found");
    expect(unknown.body.error.message).toMatch(/^Entra ID has no user "nobody@example\.com" in tenant /);
    expectError(await tryUser("00000000-0000-4000-8000-000000000000"), 404, "not_found");
    expectError(await tryUser(ada.id, admin, "nope"), 404, "not_found");
    expectError(await admin("GET", `${ws}/sources/corp/try-user?user=`), 400, "invalid_input", ["user"]);
  });

  it("is for admins only", async () => {
    expectError(await tryUser(ada.id, viewer), 403, "forbidden");
  });

  it("reports a refused secret and a missing permission in the connect test's words", async () => {
    const base = { tenantId: emulator.tenantId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl };
    await admin("POST", `${ws}/sources`, { ...base, name: "wrong-secret", clientId: emulator.clientId, clientSecret: "not-the-secret-value" });
    const refused = await tryUser(ada.id, admin, "wrong-secret");
    expectError(refused, 502, "source_auth_failed");
    expect(refused.body.error.details.aadsts).toBe("AADSTS7000215");
    expect(refused.body.error.message).toContain("rollcall sources update wrong-secret --client-secret-env VAR");

    const none = tenant().registerApp({ displayName: "no permissions", appPermissions: [] });
    await admin("POST", `${ws}/sources`, { ...base, name: "unconsented", clientId: none.clientId, clientSecret: none.secrets[0]!.secretText });
    const denied = await tryUser(ada.id, admin, "unconsented");
    expectError(denied, 502, "source_permission_missing");
    expect(denied.body.error.details).toMatchObject({ graphCode: "Authorization_RequestDenied", permission: "User.Read.All" });

    // Users but not groups: the user is mapped, and its scope is said to be unknown rather than failing (Graph lists
    // the user's groups without their names, so "Staff" cannot be found among them).
    const usersOnly = tenant().registerApp({ displayName: "users only", appPermissions: ["User.Read.All"] });
    await admin("POST", `${ws}/sources`, { ...base, name: "users-only", clientId: usersOnly.clientId, clientSecret: usersOnly.secrets[0]!.secretText, users: "groups", scopeGroups: ["Staff"] });
    const partial = await tryUser(ada.id, admin, "users-only");
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    expect(partial.body.scope).toMatchObject({ inScope: null, reason: expect.stringMatching(/^Graph listed the user's groups without their names \(the app has no group permission: add Group\.Read\.All or GroupMember\.Read\.All\)/) });
  });

  it("is the same answer from the core, read-only", async () => {
    const ctx = { db: api.store.db, workspace: await resolveWorkspace(api.store.db, "default"), actor: "test", secrets: api.rt.secrets, entraCustomUrls: true as const };
    const before = (await admin("GET", `${ws}/users?limit=1`)).body.total;
    const tried = await tryUserMapping(ctx, "corp", ada.userPrincipalName);
    expect(tried).toMatchObject({ source: "corp", key: ada.userPrincipalName, user: { cardNumbers: ["0042", "0043"], pin: "set" } });
    expect((await admin("GET", `${ws}/users?limit=1`)).body.total).toBe(before);
  });
});
