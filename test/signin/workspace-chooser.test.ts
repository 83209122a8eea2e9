import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser as Chromium } from "playwright-core";
import { ensureConsoleBuilt } from "../../src/console/build.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { hasChromium, launchBrowser, openPage, desktop } from "../console/harness.ts";
import { openSyncedHarness, type SignInHarness } from "./support.ts";

/**
 * With two workspaces offering Sign in with Microsoft, the start page asks which one. Its form goes to Rollcall,
 * which redirects to the organization's login host: Chromium checks the page's CSP form-action on that redirect
 * too, and blocked it while form-action allowed only Rollcall itself.
 */
describe.skipIf(!hasChromium)("console: Sign in with Microsoft through the workspace chooser", () => {
  let h: SignInHarness;
  let chromium: Chromium;

  beforeAll(async () => {
    await ensureConsoleBuilt();
    h = await openSyncedHarness();
    const other = h.emulator.tenants.add({ users: 3, groups: 0, seed: 4 });
    const branch = await createWorkspace(h.store.db, { name: "branch" });
    await createEntraSource({ ...h.ctx, workspace: branch }, {
      name: "fabrikam",
      config: { tenantId: other.id, clientId: other.defaultApp.clientId, loginUrl: h.emulator.loginUrl, graphUrl: h.emulator.graphUrl, signIn: true },
      credential: { kind: "secret", secret: other.defaultApp.clientSecret },
    });
    chromium = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await chromium?.close();
    await h?.close();
  });

  it("a person types their workspace, goes on to Microsoft's page and comes back signed in", async () => {
    const person = h.emulator.tenants.get(h.emulator.tenantId).listUsers().find((u) => u.accountEnabled && u.userType !== "Guest")!;
    const context = await chromium.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    try {
      const { page, errors } = await openPage(context);
      await page.goto(`${h.url}/login`);
      await page.getByRole("link", { name: "Sign in with Microsoft" }).click();
      await page.getByLabel("Your workspace").fill("default");
      await page.getByRole("button", { name: "Continue" }).click();
      await page.waitForURL((url) => url.href.startsWith(h.emulator.loginUrl));
      await page.locator("#account").selectOption(`${h.emulator.tenantId}:${person.id}`);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL(`${h.url}/w/default/users`);
      await expect.poll(() => page.getByTestId("account-name").textContent()).toBe(person.displayName);
      // The emulator's pages have no favicon; only Rollcall's own errors (a blocked form among them) count.
      expect(errors.filter((e) => !e.includes(new URL(h.emulator.loginUrl).origin))).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
