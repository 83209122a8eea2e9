import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, directoryUser, openSignInHarness, signInAs, type SignInHarness } from "./support.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { removeSource } from "../../src/core/source-removal.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";

/**
 * Sign-in and the sources behind it: two sources of one workspace sync different parts of the same tenant
 * with the same app registration, and people of either sign in; a session lasts only while its source signs people in.
 */
const engine = process.env.ROLLCALL_TEST_DATABASE_URL ? "postgres" : "pglite";

describe(`sign in with Microsoft and the sources behind it (${engine})`, () => {
  let h: SignInHarness;
  let staff: string[];
  let contractors: string[];

  beforeAll(async () => {
    h = await openSignInHarness(engine);
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const people = tenant.listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
    staff = people.slice(0, 2).map((u) => u.id);
    contractors = people.slice(2, 4).map((u) => u.id);
    const staffGroup = tenant.createGroup({ displayName: "Scope Staff" });
    const contractorGroup = tenant.createGroup({ displayName: "Scope Contractors" });
    for (const id of staff) tenant.addMember(staffGroup.id, id);
    for (const id of contractors) tenant.addMember(contractorGroup.id, id);
    await h.addSource("staff", { users: "groups", scopeGroups: [staffGroup.id], groupMode: "none" });
    await h.addSource("contractors", { users: "groups", scopeGroups: [contractorGroup.id], groupMode: "none" });
    await h.sync("staff");
    await h.sync("contractors");
  }, 120_000);

  afterAll(async () => h?.close());

  it("a person synced by either source signs in", async () => {
    for (const id of [staff[0]!, contractors[0]!]) {
      await directoryUser(h.store, id);
      const result = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: id });
      expect(result.stage).toBe("callback");
      expect(result.status, /data-reason="[^"]*"[^<]*/.exec(result.text)?.[0]).toBe(302);
      expect(result.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);
    }
  });

  it("a person synced only by a source that does not offer sign-in is told so, and what the admin turns on, not that they are missing from the directory", async () => {
    await updateEntraSource(h.ctx, "contractors", { config: { signIn: false } });
    try {
      const page = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: contractors[0]! });
      expect(page.status).toBe(403);
      expect(page.text).toContain('data-reason="not_offered"');
      const text = /<p id="signin-reason"[^>]*>([^<]*)</.exec(page.text)![1]!.replace(/&quot;/g, '"');
      expect(text).toContain('through source "contractors", which does not offer sign-in with Microsoft');
      expect(text).toContain("rollcall sources update contractors --sign-in");
      expect(text).not.toMatch(/not in the directory/);
    } finally {
      await updateEntraSource(h.ctx, "contractors", { config: { signIn: true } });
    }
  });

  it("answers a workspace without Microsoft sign-in as one that does not exist, by name or by id", async () => {
    const hidden = await createWorkspace(h.store.db, { name: "hidden-ops" });
    const refusal = async (workspace: string) => {
      const page = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?workspace=${encodeURIComponent(workspace)}`);
      return `${page.status} ${/<p id="signin-reason"[^>]*>([^<]*)</.exec(page.text)?.[1]}`;
    };
    expect(await refusal("no-such-place")).toBe("403 There is no workspace &quot;no-such-place&quot; offering sign-in with Microsoft");
    expect(await refusal("HIDDEN-OPS")).toBe("403 There is no workspace &quot;HIDDEN-OPS&quot; offering sign-in with Microsoft");
    expect(await refusal(hidden.id)).toBe(`403 There is no workspace &quot;${hidden.id}&quot; offering sign-in with Microsoft`);
  });

  it("ends a person's session when their source stops offering sign-in, or is removed with its users kept", async () => {
    const me = async (browser: Browser) => (await browser.request(`${h.url}/api/v1/auth/me`)).status;
    const signedIn = async (id: string) => {
      const browser = new Browser(h.emulator.caPem);
      expect((await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: id })).status).toBe(302);
      expect(await me(browser)).toBe(200);
      return browser;
    };
    const contractor = await signedIn(contractors[1]!);
    const employee = await signedIn(staff[1]!);
    await updateEntraSource(h.ctx, "contractors", { config: { signIn: false } });
    expect(await me(contractor)).toBe(401);
    expect(await me(employee)).toBe(200);
    await updateEntraSource(h.ctx, "contractors", { config: { signIn: true } });
    expect(await me(contractor), "sign-in offered again: the old session stays ended").toBe(401);

    await removeSource(h.ctx, "staff", "keep");
    expect((await directoryUser(h.store, staff[1]!)).enabled).toBe(true);
    expect(await me(employee)).toBe(401);
    const again = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: staff[1]! });
    expect(again.status).toBe(403);
  });
});
