import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { admin, desktop, hasChromium, launchBrowser, openPage, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { seedDirectory } from "./seed.ts";

/**
 * Where a bare /login opens after `rollcall demo`: the workspace that holds users, not the empty "default" that sorts
 * first; the workspace the admin went to last once they went to one; and /w/NAME links as they are.
 */
describe.skipIf(!hasChromium)("web console: the workspace a bare sign-in opens", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let errors: string[] = [];
  beforeAll(async () => {
    server = await startConsoleServer();
    await createWorkspace(server.rt.store.db, { name: "demo" });
    await createWorkspace(server.rt.store.db, { name: "empty" });
    await seedDirectory(server.rt, "demo");
    browser = await launchBrowser();
  });
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh browser (nothing remembered, unless `remembered` sets the storage first) signed in at the bare /login. */
  async function signInFresh(init?: () => void) {
    const context = await browser.newContext({ viewport: desktop });
    if (init) await context.addInitScript(init);
    const opened = await openPage(context);
    errors = opened.errors;
    const page = opened.page;
    await page.goto(`${server.url}/login`);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill(admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    return page;
  }

  it("opens the workspace with users, not the empty default that sorts first, and then the one the admin went to", async () => {
    const page = await signInFresh();
    await page.waitForURL(/\/w\/demo\/users$/);
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    expect(await page.getByLabel("Workspace", { exact: true }).inputValue()).toBe("demo");

    // Opened on its own, demo is not remembered as a choice; an explicit link to another workspace is kept, and is.
    await page.goto(`${server.url}/w/empty/users`);
    await page.getByText("No users yet").waitFor();
    expect(await page.getByLabel("Workspace", { exact: true }).inputValue()).toBe("empty");
    await page.goto(`${server.url}/`);
    await page.waitForURL(/\/w\/empty\/users$/);
    await page.close();
  });

  it("is not held on the empty default by what an older console remembered of its own first landing", async () => {
    const page = await signInFresh(() => localStorage.setItem("rollcall.workspace", "default"));
    await page.waitForURL(/\/w\/demo\/users$/);
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    await page.close();
  });
});
