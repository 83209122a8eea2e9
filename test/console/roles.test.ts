import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { createAccount } from "../../src/core/accounts.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { admin, desktop, hasChromium, launchBrowser, openPage, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { seedDirectory } from "./seed.ts";

/**
 * The console is read-only for viewers: the server refuses their changes with 403, so no page offers
 * them a control that would change anything, while an admin sees every one of those controls.
 */
const viewer = { email: "auditor@contoso.com", password: "viewer password 12345" };

interface Screen {
  name: string;
  path: string;
  /** What shows once every request behind the screen has answered, so a missing control means "not offered", not "not loaded yet". */
  ready: (page: Page) => Locator[];
  /** Every control on the screen that changes something. */
  controls: (page: Page) => Locator[];
}

const button = (page: Page, name: string | RegExp) => page.getByRole("main").getByRole("button", { name, exact: typeof name === "string" });
const screens: Screen[] = [
  { name: "Users", path: "/users", ready: (p) => [p.getByRole("link", { name: "Ada Lovelace" })], controls: (p) => [button(p, "Add user"), p.getByRole("main").getByRole("link", { name: "Import", exact: true }), p.getByRole("checkbox", { name: "Select every user on this page" })] },
  {
    name: "a user",
    path: "/users/ada@contoso.com",
    // Console access loads after the user: the control for an admin, the words for a viewer.
    ready: (p) => [p.getByRole("heading", { name: "Ada Lovelace", level: 1 }), p.getByRole("combobox", { name: "Access" }).or(p.getByText("Read only, from their first sign-in"))], controls: (p) => [button(p, "Edit"), button(p, "Disable"), button(p, "Delete"), p.getByRole("combobox", { name: "Access" })] },
  { name: "Groups", path: "/groups", ready: (p) => [p.getByRole("link", { name: "Engineering" })], controls: (p) => [button(p, "New group")] },
  {
    name: "a group",
    path: "/groups/Engineering",
    ready: (p) => [p.getByRole("heading", { name: "Engineering", level: 1 }), p.locator(".member-list li").first()],
    controls: (p) => [button(p, "Edit"), button(p, "Delete"), p.getByLabel("Add a member"), button(p, /^Remove .* from Engineering$/)],
  },
  {
    name: "User synchronization",
    path: "/sync",
    ready: (p) => [p.getByRole("main").getByRole("link", { name: "contoso", exact: true })],
    controls: (p) => [button(p, "Add Entra ID source"), button(p, "Sync now"), button(p, "Preview changes"), button(p, "Connect")],
  },
  {
    name: "a source",
    path: "/sync/contoso",
    // The heading comes from the address; the settings card only once the source has loaded.
    ready: (p) => [p.getByRole("heading", { name: "Settings", level: 2 })],
    controls: (p) => [button(p, "Edit settings"), button(p, "Remove source"), button(p, "Sync now"), button(p, "Connect")],
  },
  { name: "Import & export", path: "/import", ready: (p) => [p.getByRole("link", { name: "Export CSV" })], controls: (p) => [p.locator("#import-file"), button(p, "Check file")] },
  {
    name: "Settings",
    path: "/settings",
    ready: (p) => [p.getByLabel("Webhook URL")],
    controls: (p) => [button(p, "Save"), button(p, "Create token"), button(p, /^Revoke token/), button(p, "Save notification settings")],
  },
];

describe.skipIf(!hasChromium)("web console: read-only for viewers", () => {
  let server: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startConsoleServer();
    const ctx = await seedDirectory(server.rt);
    await createEntraSource(
      { ...ctx, secrets: server.rt.secrets, entraCustomUrls: true },
      { name: "contoso", config: { tenantId: "contoso.onmicrosoft.com", clientId: "11111111-2222-4333-8444-555555555555", schedule: null }, credential: { kind: "secret", secret: "not used here" } },
    );
    await createApiToken(server.rt.store.db, ctx.workspace, { name: "HR export job" }, "test");
    await createAccount(server.rt.store.db, { email: viewer.email, workspace: ctx.workspace, role: "viewer", password: viewer.password }, "test");
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  let errors: string[] = [];
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  async function visit(who: { email: string; password: string }, check: (page: Page, screen: Screen) => Promise<void>) {
    const context = await browser.newContext({ viewport: desktop });
    try {
      const opened = await openPage(context);
      errors = opened.errors;
      await signIn(opened.page, server.url, who);
      for (const screen of screens) {
        await opened.page.goto(`${server.url}/w/default${screen.path}`);
        for (const shown of screen.ready(opened.page)) await shown.waitFor();
        await check(opened.page, screen);
      }
      return opened.page;
    } finally {
      await context.close();
    }
  }

  it("shows an admin every control that changes something", async () => {
    await visit(admin, async (page, screen) => {
      if (screen.name === "Settings") await page.getByRole("cell", { name: "HR export job", exact: true }).waitFor();
      for (const control of screen.controls(page)) expect(await control.count(), `${screen.name}: ${control.toString()}`).toBeGreaterThan(0);
      expect(await page.locator("#ws-select option[value='__new']").count()).toBe(1);
    });
  });

  it("shows a viewer the same pages with none of those controls, and nothing editable", async () => {
    await visit(viewer, async (page, screen) => {
      expect(await page.getByText("read-only").first().isVisible()).toBe(true);
      for (const control of screen.controls(page)) expect(await control.count(), `${screen.name}: ${control.toString()}`).toBe(0);
      const main = page.getByRole("main");
      expect(await main.locator("button[type=submit], input[type=file]").count(), screen.name).toBe(0);
      // What is left to type in only searches or filters; every form field is read-only.
      expect(await main.locator("input:not([type=search]):not([readonly]), textarea:not([readonly])").count(), screen.name).toBe(0);
      expect(await page.locator("#ws-select option[value='__new']").count()).toBe(0);
      // Nor the API tokens: which systems hold one is the admins' business (the server refuses the list too).
      if (screen.name === "Settings") expect(await page.getByRole("heading", { name: "API tokens" }).count()).toBe(0);
    });
  });

  it("still lets a viewer read: the directory, the source's settings and the export", async () => {
    const context = await browser.newContext({ viewport: desktop });
    try {
      const { page, errors: pageErrors } = await openPage(context);
      errors = pageErrors;
      await signIn(page, server.url, viewer);
      await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–7 of 7");
      await page.getByLabel("Status").selectOption("false");
      await page.getByText("Export", { exact: true }).click();
      expect(await page.getByRole("link", { name: "Excel (.xlsx)" }).getAttribute("href")).toBe("/api/v1/workspaces/default/exports?format=xlsx&enabled=false");
      await page.goto(`${server.url}/w/default/sync/contoso`);
      await page.getByText("contoso.onmicrosoft.com").first().waitFor();
      await page.goto(`${server.url}/w/default/import`);
      await page.getByText("You have read-only access to this workspace").waitFor();
      expect(await page.getByRole("link", { name: "Export CSV" }).getAttribute("href")).toContain("/exports?format=csv");
      // And the server agrees with the screen: a viewer's change is refused.
      const status = await page.evaluate(async () => {
        const me = (await fetch("/api/v1/auth/me").then((r) => r.json())) as { csrfToken: string };
        return fetch("/api/v1/workspaces/default/groups", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrfToken }, body: JSON.stringify({ name: "Nope" }) }).then((r) => r.status);
      });
      expect(status).toBe(403);
    } finally {
      await context.close();
    }
  });
});
