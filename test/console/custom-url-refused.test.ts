import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { desktop, hasChromium, launchBrowser, openPage, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/**
 * A login URL that is not one of Microsoft's clouds', on a server that allows no other: refused at the field,
 * the URL shown as typed (not "Https://…", as a phrase's first letter is raised to start a sentence).
 */
describe.skipIf(!hasChromium)("web console: a source's login URL refused by the server", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  beforeAll(async () => {
    server = await startConsoleServer({ ROLLCALL_ENTRA_CUSTOM_URLS: "false" });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("says which host is refused at the Login URL field, the URL as typed", async () => {
    await page.goto(`${server.url}/w/default/sync`);
    await page.getByRole("button", { name: "Add Entra ID source" }).first().click();
    const form = page.getByRole("dialog", { name: "Add Entra ID source" });
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("contoso");
    await form.getByLabel("Directory (tenant) ID").fill("11111111-1111-1111-1111-111111111111");
    await form.getByLabel("Application (client) ID").fill("22222222-2222-2222-2222-222222222222");
    await form.getByLabel("Client secret").fill("a secret");
    await form.getByRole("button", { name: /Show cloud, endpoints/ }).click();
    await form.getByLabel("Login URL").fill("https://login.contoso.test");
    await form.getByRole("button", { name: "Add source" }).click();
    await expect.poll(() => form.getByLabel("Login URL").getAttribute("aria-invalid")).toBe("true");
    const describedBy = (await form.getByLabel("Login URL").getAttribute("aria-describedby")) ?? "";
    const messages = await Promise.all(describedBy.split(" ").map((id) => page.locator(`[id="${id}"]`).textContent()));
    expect(messages).toContain("https://login.contoso.test is not a login or Graph host of Microsoft's clouds; other hosts (such as the Entra emulator's) are allowed only when whoever runs Rollcall sets ROLLCALL_ENTRA_CUSTOM_URLS=true");
    expect(errors).toEqual([]);
  });
});
