import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { desktop, hasChromium, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/** The Sources page's SCIM sources: added with a form, the Secret Token shown once, a new one revoking the old. */
describe.skipIf(!hasChromium)("web console: SCIM sources", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const users = (token: string) => fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

  beforeAll(async () => {
    server = await startConsoleServer();
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });
  afterEach(async (context) => {
    await screenshotIfFailed(page, context.task);
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("adds a SCIM source, shows its Tenant URL and Secret Token once, and issues a new token that revokes the old", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Add SCIM source" }).click();
    const form = page.getByRole("dialog", { name: "Add SCIM source" });
    await form.getByRole("textbox", { name: "Name" }).fill("Entra push");
    await form.getByLabel("When Entra ID deletes a user").selectOption("keep");
    await form.getByRole("button", { name: "Add SCIM source" }).click();

    const shown = page.getByRole("dialog", { name: "Secret Token of Entra push" });
    await shown.getByText(`${server.url}/scim/v2`).waitFor();
    const token = await shown.getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(token).toMatch(/^rcscim_/);
    expect(await users(token)).toBe(200);
    await shown.getByRole("button", { name: "Done" }).click();

    const card = page.locator("[data-kind='scim-source']", { has: page.getByRole("heading", { name: "Entra push" }) });
    await card.getByText("kept here, enabled").waitFor();
    await card.getByText(/^\d{4}|never/).first().waitFor();
    expect(await card.textContent()).not.toContain(token);

    await card.getByRole("button", { name: "New secret token" }).click();
    await page.getByRole("dialog", { name: "Issue a new Secret Token for Entra push?" }).getByRole("button", { name: "Issue new token" }).click();
    const renewed = await page.getByRole("dialog", { name: "Secret Token of Entra push" }).getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(renewed).not.toBe(token);
    expect(await users(token)).toBe(401);
    expect(await users(renewed)).toBe(200);
  });
});
