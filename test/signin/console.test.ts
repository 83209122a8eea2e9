import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser as Chromium } from "playwright-core";
import { ensureConsoleBuilt } from "../../src/console/build.ts";
import { scanNotifications } from "../../src/core/notification-scan.ts";
import { hasChromium, launchBrowser, openPage, desktop } from "../console/harness.ts";
import { openSignInHarness, type SignInHarness } from "./support.ts";

/**
 * The console end to end in Chromium: "Sign in with Microsoft" on the sign-in page, the emulator's own
 * sign-in page, back in the console signed in with the person's name, their profile, signing out of both; and the banner
 * warning about a client secret that expires in 10 days.
 * (Chromium ignores certificate errors for the emulator's private CA; Rollcall itself verifies it.)
 */
describe.skipIf(!hasChromium)("console: sign in with Microsoft and the notifications banner", () => {
  let h: SignInHarness;
  let chromium: Chromium;
  const expiresOn = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    await ensureConsoleBuilt();
    h = await openSignInHarness("pglite");
    await h.addSource("contoso", { secretExpiresOn: expiresOn });
    await h.sync("contoso");
    chromium = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await chromium?.close();
    await h?.close();
  });

  it("a synced user signs in with Microsoft through the emulator's page and sees their profile", async () => {
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    const context = await chromium.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    try {
      const { page, errors } = await openPage(context);
      await page.goto(`${h.url}/login`);
      await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
      await page.waitForURL((url) => url.href.startsWith(h.emulator.loginUrl));
      await page.locator("#account").selectOption(`${h.emulator.tenantId}:${person.id}`);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL(`${h.url}/w/default/users`);
      await expect.poll(() => page.getByTestId("account-name").textContent()).toBe(person.displayName);
      expect(await page.getByText("read-only").isVisible()).toBe(true);

      await page.getByTestId("account-name").click();
      await page.waitForURL(`${h.url}/w/default/profile`);
      await expect.poll(() => page.getByTestId("profile-name").textContent()).toBe(person.displayName);
      expect(await page.getByText("Signed in with your Microsoft account.").isVisible()).toBe(true);
      expect(await page.getByText(person.userPrincipalName).first().isVisible()).toBe(true);

      // Signing out of Rollcall offers, without forcing it, to sign the browser out of Microsoft too; that comes back to the sign-in page.
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(`${h.url}/login`);
      await page.getByText("You signed out of Rollcall. Your Microsoft account is still signed in on this browser").waitFor();
      await page.getByRole("link", { name: "Sign out of Microsoft too" }).click();
      // This app's tokens carry no login_hint claim, so Microsoft asks which account to sign out.
      await page.getByText("Which account do you want to sign out of?").waitFor();
      await page.getByRole("button", { name: person.userPrincipalName }).click();
      await page.waitForURL(`${h.url}/login?signedOut=microsoft`);
      await page.getByText("You signed out of Rollcall and of your Microsoft account on this browser.").waitFor();
      await page.getByRole("link", { name: "Sign in with Microsoft" }).waitFor(); // shown once /auth/providers has answered
      // The emulator's pages have no favicon; only the console's own errors count.
      expect(errors.filter((e) => !e.includes(new URL(h.emulator.loginUrl).origin))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("shows the banner for a client secret that expires in 10 days", async () => {
    // What each `rollcall serve` process's notifier does every minute.
    await scanNotifications(h.store.db);
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().filter((u) => u.accountEnabled && u.userType !== "Guest")[1]!;
    const context = await chromium.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    try {
      const { page, errors } = await openPage(context);
      await page.goto(`${h.url}/api/v1/auth/microsoft/start`);
      await page.locator("#account").selectOption(`${h.emulator.tenantId}:${person.id}`);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL(`${h.url}/w/default/users`);
      const banner = page.getByTestId("notifications-banner");
      await banner.waitFor();
      expect(await banner.textContent()).toContain(`The client secret of source contoso expires on ${expiresOn} (in 10 days)`);
      // A viewer sees the warning but cannot dismiss it.
      expect(await banner.getByRole("button", { name: /Dismiss/ }).count()).toBe(0);
      // The emulator's pages have no favicon; only the console's own errors count.
      expect(errors.filter((e) => !e.includes(new URL(h.emulator.loginUrl).origin))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
