import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { desktop, hasChromium, launchBrowser, openPage, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { seedDirectory } from "./seed.ts";
import { createGroup } from "../../src/core/groups.ts";

/**
 * The Users page's Group filter in a workspace where many groups' names hold the name typed: the one named
 * exactly is asked of the server, wherever it would come in a list of the names containing it.
 */
describe.skipIf(!hasChromium)("web console: the Users page's group filter among many similar names", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    server = await startConsoleServer();
    const ctx = await seedDirectory(server.rt);
    // 25 names containing "research" that sort before "Research" itself.
    for (let i = 1; i <= 25; i++) await createGroup(ctx, { name: `Applied research ${String(i).padStart(2, "0")}` });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });

  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("filters by the group named in full, in any case, and by nothing for a part of a name", async () => {
    const groupField = page.getByLabel("Group", { exact: true });
    await groupField.fill("applied research");
    await groupField.press("Enter");
    await page.waitForTimeout(300);
    expect(new URL(page.url()).searchParams.get("group")).toBeNull();
    await groupField.fill("RESEARCH");
    await groupField.press("Enter");
    await page.waitForURL(/group=Research/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    expect(await page.locator("tbody").textContent()).toContain("Alan Turing");
  });
});
