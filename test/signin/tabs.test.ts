import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, openSyncedHarness, signInEngine, type SignInHarness } from "./support.ts";

/**
 * One browser, several sign-ins under way (two tabs whose session ended, or a second click on "Sign in with
 * Microsoft" before the first finished): each is bound to the browser by a cookie of its own, so finishing
 * any of them works, while another browser still cannot finish them (login CSRF).
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
describe(`Microsoft sign-in in several tabs (${signInEngine})`, () => {
  let h: SignInHarness;

  beforeAll(async () => void (h = await openSyncedHarness()), 120_000);
  afterAll(async () => h?.close());

  /** The emulator's sign-in page for an authorization URL, as a tab shows it. */
  async function microsoftPage(browser: Browser, authorizeUrl: string): Promise<{ authorizeUrl: string; txn: string; action: string }> {
    const page = await browser.request(authorizeUrl);
    const txn = /name="txn" value="([^"]+)"/.exec(page.text)![1]!;
    const action = /<form method="post" action="([^"]+)"/.exec(page.text)![1]!;
    return { authorizeUrl, txn, action };
  }

  /** The emulator's page for an authorization URL: pick the account; answers where Microsoft sends the browser back. */
  async function atMicrosoft(browser: Browser, authorizeUrl: string | Awaited<ReturnType<typeof microsoftPage>>, userId: string): Promise<string> {
    const { txn, action } = typeof authorizeUrl === "string" ? await microsoftPage(browser, authorizeUrl) : authorizeUrl;
    const url = typeof authorizeUrl === "string" ? authorizeUrl : authorizeUrl.authorizeUrl;
    const post = await browser.request(new URL(action, url).toString(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ txn, account: `${h.emulator.tenantId}:${userId}`, action: "signin" }).toString(),
    });
    expect(post.status).toBe(302);
    return post.location!;
  }

  it("two sign-ins started in one browser both finish, in either order; each binding cookie is HttpOnly, Lax, on the flow's path, for 10 minutes", async () => {
    const people = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
    const browser = new Browser(h.emulator.caPem);
    const tab1 = await browser.request(`${h.url}/api/v1/auth/microsoft/start?returnTo=/one`);
    const tab2 = await browser.request(`${h.url}/api/v1/auth/microsoft/start?returnTo=/two`);
    const binding = tab1.setCookies.find((c) => c.startsWith("rollcall_signin"))!;
    expect(binding).toMatch(/HttpOnly/i);
    expect(binding).toMatch(/SameSite=Lax/i);
    expect(binding).toMatch(/Path=\/api\/v1\/auth\/microsoft(;|$)/);
    expect(binding).toMatch(/Max-Age=600/);

    // Both tabs show Microsoft's page before either signs in (after the first, Microsoft would sign the second in on its own).
    const [page1, page2] = [await microsoftPage(browser, tab1.location!), await microsoftPage(browser, tab2.location!)];
    const back1 = await atMicrosoft(browser, page1, people[0]!.id);
    const back2 = await atMicrosoft(browser, page2, people[1]!.id);
    const done1 = await browser.request(back1);
    expect(done1.status, done1.text).toBe(302);
    expect(done1.location).toBe("/one");
    const first = browser.cookies.get("rollcall_session")!;
    const done2 = await browser.request(back2);
    expect(done2.status, done2.text).toBe(302);
    expect(done2.location).toBe("/two");
    // The second sign-in ended the first one's session on the server, not only in this browser's cookie.
    expect(browser.cookies.get("rollcall_session")).not.toBe(first);
    expect((await fetch(`${h.url}/api/v1/auth/me`, { headers: { cookie: `rollcall_session=${first}` } })).status).toBe(401);

    // Still bound to this browser: another one cannot finish a sign-in started here.
    const tab3 = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    const back3 = await atMicrosoft(browser, tab3.location!, people[2]!.id);
    const elsewhere = await new Browser(h.emulator.caPem).request(back3);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.text).toContain('data-reason="expired_request"');
  });

  it("after signing out, the next sign-in in that browser asks Microsoft for credentials again (prompt=login), so on a shared computer nobody signs in as the last person from their Microsoft session", async () => {
    const people = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest");
    const browser = new Browser(h.emulator.caPem);
    const fresh = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    expect(new URL(fresh.location!).searchParams.get("prompt"), "a browser that never signed out: Microsoft decides").toBeNull();
    const done = await browser.request(await atMicrosoft(browser, fresh.location!, people[3]!.id));
    expect(done.status).toBe(302);

    const me = JSON.parse((await browser.request(`${h.url}/api/v1/auth/me`)).text);
    expect((await browser.request(`${h.url}/api/v1/auth/logout`, { method: "POST", headers: { "x-csrf-token": me.csrfToken } })).status).toBe(200);
    const next = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    expect(new URL(next.location!).searchParams.get("prompt")).toBe("login");
    // Why: without it, Microsoft's single sign-on would send the last person straight back to Rollcall, no page shown.
    const withoutPrompt = new URL(next.location!);
    withoutPrompt.searchParams.delete("prompt");
    const sso = await browser.request(withoutPrompt.toString());
    expect(sso.status).toBe(302);
    expect(new URL(sso.location!).searchParams.get("code")).toBeTruthy();
    expect((await browser.request(next.location!)).text).toContain('name="txn"'); // with it, the sign-in page
    // Nor may a link's own prompt let them back in: none would sign them in silently, select_account one click away.
    for (const prompt of ["none", "select_account"]) {
      const explicit = await browser.request(`${h.url}/api/v1/auth/microsoft/start?prompt=${prompt}`);
      expect(new URL(explicit.location!).searchParams.get("prompt"), prompt).toBe("login");
    }

    // Once someone has signed in again, back to Microsoft's own choice.
    expect((await browser.request(await atMicrosoft(browser, next.location!, people[4]!.id))).status).toBe(302);
    expect(new URL((await browser.request(`${h.url}/api/v1/auth/microsoft/start`)).location!).searchParams.get("prompt")).toBeNull();
  });
});
