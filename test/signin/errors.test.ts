import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, openSyncedHarness, signInEngine, signInAs, type SignInHarness } from "./support.ts";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { updateEntraSource } from "../../src/core/sources.ts";
import { runCli } from "../support/cli.ts";

/**
 * When Microsoft ends a sign-in with an AADSTS error, the page Rollcall shows says which code, what it
 * means and what the person or an admin does about it (and where in the admin center), with the
 * correlation ID to look the sign-in up by.
 * Runs on PostgreSQL when ROLLCALL_TEST_DATABASE_URL is set (PGlite otherwise).
 */
describe(`Microsoft sign-in errors (${signInEngine})`, () => {
  let h: SignInHarness;

  beforeAll(async () => void (h = await openSyncedHarness()), 120_000);
  afterAll(async () => h?.close());

  const reason = (text: string) => /<p id="signin-reason"[^>]*>([^<]*)</.exec(text)?.[1]?.replace(/&(gt|lt|quot|#39|amp);/g, (_, e: string) => ({ gt: ">", lt: "<", quot: '"', "#39": "'", amp: "&" })[e]!) ?? "";

  /** Starts a sign-in at Rollcall for real, then answers its callback as Microsoft does when it refuses. */
  async function refusedByMicrosoft(error: string, code: number, text: string): Promise<{ status: number; text: string }> {
    const browser = new Browser(h.emulator.caPem);
    const start = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    expect(start.status).toBe(302);
    const state = new URL(start.location!).searchParams.get("state")!;
    const description = `AADSTS${code}: ${text}\r\nTrace ID: 0000aaaa-11bb-cccc-dd33-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-09 02:02:12Z`;
    const back = new URLSearchParams({ error, error_description: description, error_uri: `https://login.microsoftonline.com/error?code=${code}`, state });
    return browser.request(`${h.url}/api/v1/auth/microsoft/callback?${back}`);
  }

  it("consent not granted (AADSTS65001): the page says an admin grants consent, and where", async () => {
    const page = await refusedByMicrosoft("consent_required", 65001, "The user or administrator has not consented to use the application with ID 'x' named 'Rollcall'.");
    expect(page.status).toBe(403);
    expect(page.text).toContain('data-reason="provider_error"');
    const text = reason(page.text);
    expect(text).toContain("AADSTS65001");
    expect(text).toMatch(/admin grants consent/);
    expect(text).toContain("Enterprise applications > the app > Permissions > Grant admin consent");
    expect(text).toContain("correlation ID aaaa0000-bb11-2222-33cc-444444dddddd");
  });

  it("not assigned to the app (AADSTS50105) and blocked by Conditional Access (AADSTS53003) each get their own explanation", async () => {
    const assignment = reason((await refusedByMicrosoft("access_denied", 50105, "Your administrator has configured the application to block users unless they are specifically granted ('assigned') access.")).text);
    expect(assignment).toContain("AADSTS50105");
    expect(assignment).toContain("Users and groups > Add user/group");
    expect(assignment).not.toMatch(/cancelled/);

    const blocked = reason((await refusedByMicrosoft("access_denied", 53003, "Access has been blocked by Conditional Access policies.")).text);
    expect(blocked).toContain("AADSTS53003");
    expect(blocked).toMatch(/Conditional Access policy/);
    expect(blocked).toContain("Sign-in logs");
  });

  it("cancelling on Microsoft's page comes back as access_denied AADSTS65004 with its error_uri, and the page says so and what to do", async () => {
    const browser = new Browser(h.emulator.caPem);
    const start = await browser.request(`${h.url}/api/v1/auth/microsoft/start`);
    const authorize = await browser.request(start.location!);
    const txn = /name="txn" value="([^"]+)"/.exec(authorize.text)![1]!;
    const action = /<form method="post" action="([^"]+)"/.exec(authorize.text)![1]!;
    const cancelled = await browser.request(new URL(action, start.location!).toString(), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ txn, action: "cancel" }).toString(),
    });
    expect(cancelled.status).toBe(302);
    const back = new URL(cancelled.location!).searchParams;
    expect(back.get("error")).toBe("access_denied");
    expect(back.get("error_description")).toMatch(/^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: /);
    expect(back.get("error_uri")).toBe(`${h.emulator.loginUrl}/error?code=65004`);
    expect(back.get("state")).toBe(new URL(start.location!).searchParams.get("state"));

    const page = await browser.request(cancelled.location!);
    expect(page.status).toBe(403);
    const text = reason(page.text);
    expect(text).toContain("AADSTS65004");
    expect(text).toMatch(/declined \(or cancelled\)/);
    expect(text).toContain(`correlation ID ${/Correlation ID: ([0-9a-f-]{36})/.exec(back.get("error_description")!)![1]}`);
  });

  it("a code Rollcall has no advice for still names it, with Microsoft's own words", async () => {
    const text = reason((await refusedByMicrosoft("invalid_request", 90014, "The required field 'nonce' is missing.")).text);
    expect(text).toContain("invalid_request: AADSTS90014: The required field 'nonce' is missing.");
    expect(text).toContain("correlation ID aaaa0000-bb11-2222-33cc-444444dddddd");
  });

  it("a source whose client secret is wrong or expired: the person is told it is not theirs to fix, the admin which source, which AADSTS code and what to run", async () => {
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    const signIn = async () => signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: person.id });
    await updateEntraSource(h.ctx, "contoso", { credential: { kind: "secret", secret: "Wr0ng8Q~notTheSecretValueAtAll0123456789a" } });
    try {
      const wrong = await signIn();
      expect(wrong.stage).toBe("callback");
      expect(wrong.status).toBe(403);
      expect(wrong.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(false);
      const text = reason(wrong.text);
      expect(text).toContain("AADSTS7000215");
      expect(text).toMatch(/not something you can fix/);
      expect(text).toContain('source "contoso"');
      expect(text).toContain("rollcall sources update contoso --client-secret-env VAR");
      expect(text).toMatch(/correlation ID [0-9a-f-]{36}/);
    } finally {
      await updateEntraSource(h.ctx, "contoso", { credential: { kind: "secret", secret: h.emulator.clientSecret } });
    }
    expect((await signIn()).status, "the right secret again: signed in").toBe(302);

    h.emulator.tenants.get(h.emulator.tenantId).expireSecret(h.emulator.clientId);
    const expired = reason((await signIn()).text);
    expect(expired).toContain("AADSTS7000222");
    expect(expired).toMatch(/has expired/);
    expect(expired).toContain("rollcall sources update contoso");

    // The admin creates a new secret and stores it: people sign in again.
    const fresh = h.emulator.tenants.get(h.emulator.tenantId).addSecret(h.emulator.clientId, { secretText: "Fr3sh8Q~aNewSecretValueForTheTests0123456" });
    await updateEntraSource(h.ctx, "contoso", { credential: { kind: "secret", secret: fresh.secretText } });
    expect((await signIn()).status).toBe(302);
  });

  it("an app disabled in the tenant (Enabled for users to sign in: No) stops the sign-in on Microsoft's page with AADSTS7000112, before any account is picked", async () => {
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const person = tenant.listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    tenant.updateApp(h.emulator.clientId, { enabled: false });
    try {
      const stopped = await signInAs(new Browser(h.emulator.caPem), `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: person.id });
      expect(stopped.stage).toBe("authorize");
      expect(stopped.status).toBe(400);
      expect(stopped.text).toContain("AADSTS7000112");
      expect(stopped.text).not.toContain('name="txn"');
    } finally {
      tenant.updateApp(h.emulator.clientId, { enabled: true });
    }
  });

  it("a token endpoint briefly unavailable (503 AADSTS90033, Retry-After) is waited out: the person is signed in, not refused", async () => {
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest")[1]!;
    const browser = new Browser(h.emulator.caPem);
    const back = await signInAs(browser, `${h.url}/api/v1/auth/microsoft/start`, { tenantId: h.emulator.tenantId, userId: person.id }, { follow: false });
    h.emulator.resetStats();
    h.emulator.setKnobs({ tokenFaultRate: 1, retryAfterSeconds: 1 });
    try {
      const callback = browser.request(back.callbackUrl!);
      // Once Rollcall has met the 503, Microsoft recovers (within its second of Retry-After). Waited for as long as it
      // takes, not two seconds: a loaded machine may not reach the token endpoint by then, and recovering first means no 503.
      for (const deadline = Date.now() + 60_000; !h.emulator.stats().requests.some((r) => r.status === 503);) {
        if (Date.now() > deadline) throw new Error("Rollcall never asked for a token");
        await new Promise((r) => setTimeout(r, 20));
      }
      h.emulator.setKnobs({ tokenFaultRate: 0 });
      const done = await callback;
      expect(done.status, reason(done.text)).toBe(302);
      expect(done.setCookies.some((c) => c.startsWith("rollcall_session="))).toBe(true);
      const tokenCalls = h.emulator.stats().requests.filter((r) => r.url.includes("/oauth2/v2.0/token")).map((r) => r.status);
      expect(tokenCalls).toEqual([503, 200]);
    } finally {
      h.emulator.setKnobs({ tokenFaultRate: 0 });
    }
  });

  it("rollcall login says at once, before any browser, that the server offers no Microsoft sign-in", async () => {
    await updateEntraSource(h.ctx, "contoso", { config: { signIn: false } });
    try {
      const sessionFile = join(tmpdir(), `rollcall-no-signin-${process.pid}.json`);
      const login = await runCli(["login", "--server", h.url, "--no-browser", "--timeout", "1"], { ROLLCALL_SESSION_FILE: sessionFile, ROLLCALL_LOG_LEVEL: "silent" });
      expect([login.code, login.stdout]).toEqual([1, ""]); // no sign-in URL was printed
      expect(login.stderr).toMatch(/^error \[signin_refused\]: \S+ offers no sign-in with Microsoft: none of its Entra ID sources has "Use for Sign in with Microsoft" on\./);
      expect(existsSync(sessionFile)).toBe(false);
    } finally {
      await updateEntraSource(h.ctx, "contoso", { config: { signIn: true } });
    }
  });
});
