import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { desktop, hasChromium, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/** "Try the mapping" on a source's page: one Entra user as the mapping makes it, errors at the field, the PIN never shown. */
describe.skipIf(!hasChromium)("web console: try a source's mapping on one user", () => {
  let emulator: RunningEmulator;
  let upn: string;
  const ui = {} as { server: ConsoleServer; browser: Browser; page: Page };
  let errors: string[] = [];

  beforeAll(async () => {
    ui.server = await startConsoleServer();
    emulator = await startTrustedEmulator({ users: 3, groups: 1, seed: 3 });
    const tenant = emulator.tenants.get(emulator.tenantId);
    upn = tenant.createUser({
      userPrincipalName: `ada@${tenant.domain}`, mail: "ada@example.com", displayName: "Ada Lovelace", accountEnabled: true, userType: "Member",
      mobilePhone: "12", onPremisesExtensionAttributes: { extensionAttribute10: "0042", extensionAttribute3: "97531" },
    }).userPrincipalName;
    const db = ui.server.rt.store.db;
    const ctx = { db, workspace: await resolveWorkspace(db, "default"), actor: "test", secrets: ui.server.rt.secrets, entraCustomUrls: true };
    const config = {
      tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null,
      mapping: { cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10", pin: "onPremisesExtensionAttributes.extensionAttribute3" },
    };
    await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    await createEntraSource(ctx, { name: "wrong", config, credential: { kind: "secret", secret: "abc8Q~not-the-secret-value-of-this-app" } });
    ui.browser = await launchBrowser();
    ({ page: ui.page, errors } = await openPage(await ui.browser.newContext({ viewport: desktop })));
    await signIn(ui.page, ui.server.url);
  });
  afterEach(async (context) => {
    await screenshotIfFailed(ui.page, context.task);
    // Chromium logs the 502 a refused secret answers (the harness lets 4xx answers go only): the form shows it at its field.
    expect(errors.splice(0).filter((e) => !/status of 502 .*\/sources\/wrong\/try-user\?/.test(e))).toEqual([]);
  });
  afterAll(async () => {
    await ui.browser?.close();
    await ui.server?.close();
    await emulator?.close();
  });

  it("shows each field with its Graph property, scope and warnings; an unknown user at the field", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/sync/contoso`);
    const card = page.getByRole("region", { name: "Try the mapping" });
    const field = card.getByRole("textbox", { name: "Entra user" });

    await field.fill("nobody@example.com");
    await card.getByRole("button", { name: "Try" }).click();
    await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
    await expect.poll(() => card.locator("#try-user-error").textContent()).toMatch(/^Entra ID has no user "nobody@example\.com" in tenant /);

    await field.fill(upn);
    await card.getByRole("button", { name: "Try" }).click();
    const result = card.getByRole("status");
    const table = result.getByRole("table");
    await table.waitFor();
    expect(await field.getAttribute("aria-invalid")).toBeNull();
    const row = (name: string) => table.getByRole("row", { name: new RegExp(`^${name} `) }).getByRole("cell").allTextContents();
    expect(await row("cardNumbers")).toEqual(["0042", "onPremisesExtensionAttributes.extensionAttribute10"]);
    expect(await row("email")).toEqual(["ada@example.com", "mail"]);
    expect(await row("pin")).toEqual(["set", "onPremisesExtensionAttributes.extensionAttribute3"]);
    expect(await result.textContent()).toContain("In scope");
    expect(await result.getByRole("listitem").allTextContents()).toEqual([expect.stringMatching(/^mobilePhone: "12" is not a phone number.*; dropped$/)]);
    expect(await page.content()).not.toContain("97531");
  });

  it("says at the field what to do about a refused secret, in the console's words", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/sync/wrong`);
    const card = page.getByRole("region", { name: "Try the mapping" });
    await card.getByRole("textbox", { name: "Entra user" }).fill(upn);
    await card.getByRole("button", { name: "Try" }).click();
    const error = card.locator("#try-user-error");
    await error.waitFor({ timeout: 30_000 });
    expect(await error.textContent()).toMatch(/^AADSTS7000215: Wrong client secret\..*then paste its Value in the source's Edit settings > Replace secret\.$/);
    expect(await card.getByRole("status").textContent()).toBe("");
  });
});
