import "../support/no-network.ts";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetch as undiciFetch } from "undici";
import { dispatcher } from "../../src/net/http.ts";
import { pageOfChanges } from "../../src/core/change-log.ts";
import type { CycleReport, GraphUser } from "../../src/emulator/index.ts";
import { tokenCaller, type Caller, type TestApi } from "../api/support.ts";
import { testCertificate } from "../emulator/helpers.ts";
import { Browser, openSignInHarness, signInAs, signInEngine, type SignInHarness } from "./support.ts";

/**
 * Sign in with Microsoft for users Entra ID provisions over SCIM, end to end over HTTP: the emulator's provisioning
 * service pushes a tenant to Rollcall's SCIM endpoint, an admin turns sign-in on with the enterprise application's app
 * registration (PATCH …/sources/NAME), and people sign in on the emulator's page. Entra ID's default mapping sends
 * externalId = mailNickname: a person is matched by user principal name once, then by their object ID.
 */
describe(`sign in with Microsoft as a user provisioned over SCIM (${signInEngine})`, () => {
  let h: SignInHarness;
  let admin: Caller;
  let tenant1: string;
  let tenant2: string;
  let tenant3: string;
  const tokens: Record<string, string> = {};

  const tenantOf = (id: string) => h.emulator.tenants.get(id);
  const people = (tenantId: string): GraphUser[] => tenantOf(tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
  const cycle = async (tenantId: string, source: string, body: Record<string, unknown> = {}): Promise<CycleReport> => {
    const response = await undiciFetch(`${h.emulator.loginUrl}/_emulator/tenants/${tenantId}/provisioning/cycles`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantUrl: `${h.url}/scim/v2`, secretToken: tokens[source], ...body }),
      dispatcher: await dispatcher(h.emulator.caPem),
    });
    const report = (await response.json()) as CycleReport;
    expect(response.status, JSON.stringify(report)).toBe(200);
    expect(report.entries.filter((e) => e.status === "failure"), "failures in the provisioning logs").toEqual([]);
    return report;
  };
  const addScimSource = async (name: string, settings: Record<string, unknown> = {}) => {
    const created = await admin("POST", "workspaces/default/sources", { type: "scim", name, ...settings });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    tokens[name] = created.body.token;
    return created.body;
  };
  const turnSignInOn = async (name: string, tenantId: string) => {
    const on = await admin("PATCH", `workspaces/default/sources/${name}`, { signIn: true, tenantId, clientId: h.emulator.clientId, clientSecret: h.emulator.clientSecret, loginUrl: h.emulator.loginUrl });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    return on.body;
  };
  const signIn = (tenantId: string, userId: string) => signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId, userId });
  const profileAfter = async (tenantId: string, userId: string) => {
    const browser = new Browser(h.emulator.caPem);
    const result = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start?workspace=default`, { tenantId, userId });
    expect(result.status, /<p id="signin-reason"[^>]*>[^<]*/.exec(result.text)?.[0] ?? result.text.slice(0, 300)).toBe(302);
    return JSON.parse((await browser.request(`${h.url}/api/v1/auth/profile`)).text);
  };
  const linkOf = (userId: string) => h.store.db.selectFrom("scim_signin_links").select(["object_id", "source_id"]).where("user_id", "=", userId).executeTakeFirst();

  beforeAll(async () => {
    h = await openSignInHarness(signInEngine);
    admin = await tokenCaller({ app: h.app, store: h.store } as TestApi, "default", "admin");
    tenant1 = h.emulator.tenantId;
    tenantOf(tenant1).updateApp(h.emulator.clientId, { multiTenant: true });
    tenant2 = h.emulator.tenants.add({ users: 4, groups: 1, seed: 21 }).id;
    tenant3 = h.emulator.tenants.add({ users: 3, groups: 1, seed: 31 }).id;
    tenantOf(tenant2).consentApp(h.emulator.clientId);
    tenantOf(tenant3).consentApp(h.emulator.clientId);
    await addScimSource("push");
    await cycle(tenant1, "push");
  }, 120_000);

  afterAll(async () => h?.close());

  it("sign-in settings are checked field by field, the client secret is write-only, and nothing is half-saved", async () => {
    const missing = await admin("PATCH", "workspaces/default/sources/push", { signIn: true });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["tenantId", "clientId", "clientSecret"]);
    const secretId = await admin("PATCH", "workspaces/default/sources/push", { signIn: true, tenantId: tenant1, clientId: h.emulator.clientId, clientSecret: "0f8fad5b-d9cb-469f-a165-70867728950e", loginUrl: h.emulator.loginUrl });
    expect(secretId.status).toBe(400);
    expect(secretId.body.error.details.fields).toEqual([expect.objectContaining({ field: "clientSecret", message: expect.stringContaining("secret's ID, not the secret") })]);
    const alias = await admin("PATCH", "workspaces/default/sources/push", { tenantId: "common" });
    expect(alias.status).toBe(400);
    expect((await admin("GET", "workspaces/default/sources/push")).body).toMatchObject({ config: { signIn: false, tenantId: null, clientId: null }, secret: { set: false } });
    // At creation, the same checks: nothing is added.
    const atCreation = await admin("POST", "workspaces/default/sources", { type: "scim", name: "early", signIn: true });
    expect(atCreation.status).toBe(400);
    expect(atCreation.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["tenantId", "clientId", "clientSecret"]);
    expect((await admin("GET", "workspaces/default/sources/early")).status).toBe(404);

    const on = await turnSignInOn("push", tenant1);
    expect(on).toMatchObject({ type: "scim", config: { signIn: true, tenantId: tenant1, clientId: h.emulator.clientId, loginUrl: h.emulator.loginUrl }, secret: { set: true } });
    expect(JSON.stringify(on)).not.toContain(h.emulator.clientSecret);
    const stored = await h.store.db.selectFrom("sources").select(["secret_ciphertext", "config"]).where("name", "=", "push").executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext).not.toContain(h.emulator.clientSecret);
    expect(JSON.stringify(stored.config)).not.toContain(h.emulator.clientSecret);
    const { items } = await pageOfChanges(h.store.db, h.ctx.workspace.id, { action: "update source" }, { limit: 10 });
    expect(items[0]).toMatchObject({ subject: "push", after: { secret: "replaced" } });
    expect(JSON.stringify(items)).not.toContain(h.emulator.clientSecret);
    // The stored secret goes only where it was entered for: another login host needs it again.
    const moved = await admin("PATCH", "workspaces/default/sources/push", { loginUrl: "https://login.example.net" });
    expect(moved.status).toBe(400);
    expect(moved.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["clientSecret"]);
  });

  it("a person provisioned with the default mapping (externalId = mailNickname) signs in by user principal name, and their object ID is theirs from then on, across a rename", async () => {
    const person = people(tenant1)[0]!;
    const profile = await profileAfter(tenant1, person.id);
    expect(profile.signInMethod).toBe("microsoft");
    expect(profile.user.source).toMatchObject({ type: "scim", name: "push", externalId: person.mailNickname });
    expect(await linkOf(profile.user.id)).toMatchObject({ object_id: person.id });

    // Renamed in Entra ID and provisioned again: the user principal name changed, the object ID did not.
    const renamed = `renamed.${person.userPrincipalName}`;
    tenantOf(tenant1).updateUser(person.id, { userPrincipalName: renamed });
    await cycle(tenant1, "push");
    const again = await profileAfter(tenant1, person.id);
    expect(again.user.id).toBe(profile.user.id);
    expect(again.user.userPrincipalName).toBe(renamed);
  });

  it("a user the application was unassigned from (disabled in Rollcall by provisioning) is refused, and signs in again once assigned", async () => {
    const person = people(tenant1)[1]!;
    const others = people(tenant1).filter((u) => u.id !== person.id).map((u) => u.id);
    await cycle(tenant1, "push", { scope: { users: others } });
    const refused = await signIn(tenant1, person.id);
    expect(refused.stage).toBe("callback");
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('data-reason="disabled"');
    expect(refused.text).toContain("is disabled in workspace &quot;default&quot;. Ask an admin to enable you.");
    expect(refused.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
    await cycle(tenant1, "push", { scope: "all" });
    expect((await signIn(tenant1, person.id)).status).toBe(302);
  });

  it("a user principal name given to someone new is refused for the user another object ID signed in as, until an admin deletes that user", async () => {
    const before = people(tenant1)[0]!; // signed in above: their object ID is linked to their user
    const upn = before.userPrincipalName;
    tenantOf(tenant1).deleteUser(before.id, { permanent: true });
    await cycle(tenant1, "push"); // DELETE: Rollcall disables the user and keeps it
    const newcomer = tenantOf(tenant1).createUser({ userPrincipalName: upn, displayName: "New Person", mailNickname: "newperson", accountEnabled: true });
    await cycle(tenant1, "push"); // finds the kept user by userName and makes it the newcomer's
    const refused = await signIn(tenant1, newcomer.id);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('data-reason="name_reused"');
    expect(refused.text).toContain(`another Microsoft account (object ID ${before.id})`);
    expect(refused.text).toContain("Ask an admin to unlink that Microsoft account from the user in Rollcall if the user is now yours (the user&#39;s page › Unlink Microsoft account, or rollcall users unlink-microsoft), or to delete that user if it is no longer theirs, then to provision you again");

    const deleted = await admin("DELETE", `workspaces/default/users/${encodeURIComponent(upn)}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    await cycle(tenant1, "push", { restart: true }); // an admin restarts provisioning (or provisions the newcomer on demand): created afresh
    const profile = await profileAfter(tenant1, newcomer.id);
    expect(profile.user.displayName).toBe("New Person");
    expect(await linkOf(profile.user.id)).toMatchObject({ object_id: newcomer.id });
  });

  it("an admin unlinks the Microsoft account pinned to a user whose Entra account was made again: the user is kept, the history says who did it, and the new account signs in", async () => {
    const before = people(tenant1)[4]!;
    const first = await profileAfter(tenant1, before.id);
    tenantOf(tenant1).deleteUser(before.id, { permanent: true });
    await cycle(tenant1, "push");
    const again = tenantOf(tenant1).createUser({ userPrincipalName: before.userPrincipalName, displayName: before.displayName, mailNickname: before.mailNickname, accountEnabled: true });
    await cycle(tenant1, "push");
    expect((await signIn(tenant1, again.id)).text).toContain('data-reason="name_reused"');

    const link = `workspaces/default/users/${encodeURIComponent(before.userPrincipalName)}/microsoft-link`;
    expect((await admin("GET", link)).body).toMatchObject({ userId: first.user.id, link: { objectId: before.id, source: "push", linkedAt: expect.any(String) } });
    const unlinked = await admin("DELETE", link);
    expect(unlinked.status, JSON.stringify(unlinked.body)).toBe(200);
    expect(unlinked.body).toMatchObject({ userId: first.user.id, unlinked: { objectId: before.id } });
    expect((await admin("GET", link)).body).toEqual({ userId: first.user.id, link: null });
    const twice = await admin("DELETE", link);
    expect(twice.status).toBe(404);
    expect(twice.body.error.message).toContain("has no Microsoft account pinned");
    const history = await admin("GET", `workspaces/default/users/${first.user.id}/changes?limit=1`);
    expect(history.body.items[0]).toMatchObject({ action: "update", actor: expect.stringMatching(/\S/), before: { microsoftAccount: before.id }, after: { microsoftAccount: null, message: expect.stringContaining(`Microsoft account ${before.id} unlinked`) } });

    const profile = await profileAfter(tenant1, again.id);
    expect(profile.user.id).toBe(first.user.id);
    expect(await linkOf(first.user.id)).toMatchObject({ object_id: again.id });
  });

  it("with objectId mapped to externalId, a person is matched by their object ID, with no name involved", async () => {
    await cycle(tenant1, "push", { externalId: "objectId" });
    const person = people(tenant1)[2]!;
    const profile = await profileAfter(tenant1, person.id);
    expect(profile.user.source).toMatchObject({ type: "scim", name: "push", externalId: person.id });
    expect(await linkOf(profile.user.id)).toBeUndefined();
  });

  it("each organization's people sign in through their own SCIM source (one added with sign-in on); someone of an organization the workspace does not provision is refused", async () => {
    const north = await addScimSource("north", { signIn: true, tenantId: tenant2, clientId: h.emulator.clientId, clientSecret: h.emulator.clientSecret, loginUrl: h.emulator.loginUrl });
    expect(north).toMatchObject({ config: { signIn: true, tenantId: tenant2 }, secret: { set: true } });
    await cycle(tenant2, "north", { scope: { users: people(tenant2).map((u) => u.id) } }); // its groups' names are taken by push's
    const person = people(tenant2)[0]!;
    const profile = await profileAfter(tenant2, person.id);
    expect(profile.user.source).toMatchObject({ type: "scim", name: "north" });

    const stranger = await signIn(tenant3, people(tenant3)[0]!.id);
    expect(stranger.stage).toBe("callback");
    expect(stranger.status).toBe(403);
    expect(stranger.text).toContain('data-reason="unknown_tenant"');
    expect(stranger.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
    // Their organization provisioned into the workspace by a SCIM source that does not sign people in: told which.
    await addScimSource("west");
    expect((await admin("PATCH", "workspaces/default/sources/west", { tenantId: tenant3, clientId: h.emulator.clientId })).status).toBe(200);
    const notOffered = await signIn(tenant3, people(tenant3)[0]!.id);
    expect(notOffered.status).toBe(403);
    expect(notOffered.text).toContain('data-reason="not_offered"');
    expect(notOffered.text).toContain("source &quot;west&quot;, which does not offer sign-in with Microsoft");
  });

  it("a certificate signs people in instead of a secret: write-only, its kind shown, needed again for another login host", async () => {
    const registered = testCertificate("rollcall-scim-signin");
    tenantOf(tenant1).addCertificate(h.emulator.clientId, { certificatePem: registered.certificatePem });
    const half = await admin("PATCH", "workspaces/default/sources/push", { certificatePem: registered.certificatePem });
    expect(half.status).toBe(400);
    expect(half.body.error.details.fields.map((f: { field: string }) => f.field)).toEqual(["privateKeyPem"]);
    const both = await admin("PATCH", "workspaces/default/sources/push", { clientSecret: "Q~x", ...registered });
    expect(both.status).toBe(400);
    const switched = await admin("PATCH", "workspaces/default/sources/push", registered);
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    // A certificate says when it expires: the source's date unless one is given, as an Entra ID source's.
    const validTo = new Date(new X509Certificate(registered.certificatePem).validTo).toISOString().slice(0, 10);
    expect(switched.body).toMatchObject({ config: { signIn: true, credential: "certificate", secretExpiresOn: validTo }, secret: { set: true, expiresOn: validTo } });
    expect(JSON.stringify(switched.body)).not.toContain("PRIVATE KEY");
    const profile = await profileAfter(tenant1, people(tenant1)[3]!.id);
    expect(profile.user.source).toMatchObject({ type: "scim", name: "push" });
    const moved = await admin("PATCH", "workspaces/default/sources/push", { loginUrl: "https://login.example.net" });
    expect(moved.status).toBe(400);
    expect(moved.body.error.details.fields).toEqual([expect.objectContaining({ field: "certificatePem", message: expect.stringContaining("the stored certificate is only sent where it was entered for") })]);
    // Back to a secret: the kind follows the credential given, and the certificate's date goes with it.
    expect((await turnSignInOn("push", tenant1)).config).toMatchObject({ credential: "secret", secretExpiresOn: null });
    const badDate = await admin("PATCH", "workspaces/default/sources/push", { secretExpiresOn: "30.06.2027" });
    expect(badDate.body.error.details.fields).toEqual([expect.objectContaining({ field: "secretExpiresOn", message: "must be a date as YYYY-MM-DD, e.g. 2027-06-30" })]);
  });

  it("turning sign-in off on the SCIM sources stops offering it", async () => {
    for (const name of ["push", "north"]) expect((await admin("PATCH", `workspaces/default/sources/${name}`, { signIn: false })).status).toBe(200);
    const start = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?workspace=default`);
    expect(start.status).toBe(403);
  });
});
