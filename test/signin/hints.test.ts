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

  it("prompt=none signs in the person Microsoft's session knows, without a page; a hint alone or several accounts come back explained", async () => {
    const [who, other] = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
    const silently = (browser: Browser, hint?: string) =>
      browser.request(`${h.url}/api/v1/auth/microsoft/start?${new URLSearchParams({ prompt: "none", ...(hint && { login_hint: hint }) })}`);
    const refusal = async (browser: Browser, start: { location: string | null }) => {
      const back = await browser.request(start.location!);
      const page = await browser.request(back.location!);
      expect(page.status).toBe(403);
      return { error: new URL(back.location!).searchParams.get("error"), text: page.text };
    };

    // A hint names an account; it does not sign it in: only a Microsoft session in this browser does.
    const fresh = new Browser(h.emulator.caPem);
    const hinted = await refusal(fresh, await silently(fresh, who!.userPrincipalName));
    expect(hinted.error).toBe("login_required");
    expect(hinted.text).toContain("AADSTS50058");

    const browser = new Browser(h.emulator.caPem);
    expect((await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: who!.id })).status).toBe(302);
    const silent = await browser.request((await browser.request((await silently(browser, who!.userPrincipalName)).location!)).location!);
    expect(silent.status).toBe(302);
    expect(silent.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);

    // With a second account at Microsoft, a silent sign-in without a hint cannot choose: pick your account.
    const second = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start?prompt=select_account`, { tenantId: h.emulator.tenantId, userId: other!.id });
    expect(second.status).toBe(302);
    const several = await refusal(browser, await silently(browser));
    expect(several.error).toBe("interaction_required");
    expect(several.text).toContain("AADSTS16000");
    expect(several.text).toContain("pick your account");
  });

  it("ignores a parameter it does not know instead of answering a browser with JSON", async () => {
    const start = await new Browser(h.emulator.caPem).request(`${h.url}/api/v1/auth/microsoft/start?utm_source=newsletter&workspace=default`);
    expect(start.status, start.text).toBe(302);
    expect(new URL(start.location!).searchParams.get("utm_source")).toBeNull();
  });
});
