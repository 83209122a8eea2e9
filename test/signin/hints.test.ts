import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, openSyncedHarness, signInEngine, signInAs, type SignInHarness } from "./support.ts";

/**
 * What a sign-in link may tell Microsoft: login_hint (the account), domain_hint (the organization, skipping
 * home-realm discovery) and prompt (select_account to switch accounts, login to ask again, none for a silent
 * sign-in), forwarded as given; a parameter Rollcall does not know (a mail campaign's utm_*) is ignored.
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
describe(`Microsoft sign-in hints (${signInEngine})`, () => {
  let h: SignInHarness;

  beforeAll(async () => void (h = await openSyncedHarness()), 120_000);
  afterAll(async () => h?.close());

  const person = () => h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;

  it("forwards prompt, domain_hint and login_hint to Microsoft, and the person signs in", async () => {
    const who = person();
    const query = new URLSearchParams({ prompt: "select_account", domain_hint: "contoso.example", login_hint: who.userPrincipalName, returnTo: "/users" });
    const browser = new Browser(h.emulator.caPem);
    const start = await browser.request(`${h.url}/api/v1/auth/microsoft/start?${query}`);
    expect(start.status, start.text).toBe(302);
    const sent = new URL(start.location!).searchParams;
    expect(sent.get("prompt")).toBe("select_account");
    expect(sent.get("domain_hint")).toBe("contoso.example");
    expect(sent.get("login_hint")).toBe(who.userPrincipalName);

    const done = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start?${query}`, { tenantId: h.emulator.tenantId, userId: who.id });
    expect(done.status).toBe(302);
    expect(done.location).toBe("/users");
  });

  it("prompt=none signs a known person in without a page, and otherwise comes back with login_required explained", async () => {
    const who = person();
    const browser = new Browser(h.emulator.caPem);
    const start = await browser.request(`${h.url}/api/v1/auth/microsoft/start?${new URLSearchParams({ prompt: "none", login_hint: who.userPrincipalName })}`);
    expect(start.status).toBe(302);
    const silent = await browser.request(start.location!);
    expect(silent.status).toBe(302);
    const landed = await browser.request(silent.location!);
    expect(landed.status).toBe(302);
    expect(landed.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);

    const nobody = new Browser(h.emulator.caPem);
    const again = await nobody.request(`${h.url}/api/v1/auth/microsoft/start?prompt=none`);
    const back = await nobody.request(again.location!);
    expect(new URL(back.location!).searchParams.get("error")).toBe("login_required");
    const page = await nobody.request(back.location!);
    expect(page.status).toBe(403);
    expect(page.text).toContain("AADSTS50058");
  });

  it("ignores a parameter it does not know instead of answering a browser with JSON", async () => {
    const start = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?utm_source=newsletter&workspace=default`);
    expect(start.status, start.text).toBe(302);
    expect(new URL(start.location!).searchParams.get("utm_source")).toBeNull();
  });
});
