import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { sql } from "kysely";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { getUser } from "../../src/core/users.ts";
import { desktop, hasChromium, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/**
 * The Sources page's SCIM sources: added with a form, the Secret Token shown once, a new one revoking the old; each
 * source's own page: what it provisioned, its settings changed (a rename too), a quiet provisioning service, removal.
 */
describe.skipIf(!hasChromium)("web console: SCIM sources", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const users = (token: string) => fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  const provision = (token: string, path: string, body: object) =>
    fetch(`${server.url}/scim/v2${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
  let issued = ""; // the source's Secret Token, for the next test

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
    // The request just made with the token is its last request (a date in the browser's locale, never "never").
    await page.reload();
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toMatch(/Last request.{0,24}\d{4}/);
    expect(await card.textContent()).not.toContain(token);

    await card.getByRole("button", { name: "New secret token" }).click();
    await page.getByRole("dialog", { name: "Issue a new Secret Token for Entra push?" }).getByRole("button", { name: "Issue new token" }).click();
    const renewed = await page.getByRole("dialog", { name: "Secret Token of Entra push" }).getByRole("textbox", { name: "Secret Token" }).inputValue();
    expect(renewed).not.toBe(token);
    expect(await users(token)).toBe(401);
    expect(await users(renewed)).toBe(200);
    await page.getByRole("dialog", { name: "Secret Token of Entra push" }).getByRole("button", { name: "Done" }).click();
    issued = renewed;
  });

  it("opens a SCIM source's page from its card: its users and groups linked, its settings changed and its name too, then removes it keeping its users disabled", async () => {
    const user = await provision(issued, "/Users", { userName: "ada@north.example", displayName: "Ada Pilot", emails: [{ type: "work", value: "ada@north.example" }] });
    expect(user.status).toBe(201);
    expect((await provision(issued, "/Groups", { displayName: "Pilots", externalId: "pilots", members: [{ value: user.body.id }] })).status).toBe(201);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.locator("[data-kind='scim-source']").getByRole("link", { name: "Entra push" }).click();
    await page.getByRole("heading", { level: 1, name: "Entra push" }).waitFor();
    const provisioning = page.getByRole("region", { name: "Provisioning" });
    await provisioning.getByText(`${server.url}/scim/v2`).waitFor();
    await provisioning.getByText(/^(just now|\d+ (seconds?|minutes?) ago)$/).waitFor();
    expect(await page.locator("[data-kind='scim-quiet']").count()).toBe(0);

    await provisioning.getByRole("link", { name: "1 user", exact: true }).click();
    await page.waitForURL(/\/users\?source=Entra(%20|\+)push/);
    await page.getByRole("link", { name: "Ada Pilot" }).waitFor();
    await page.goBack();
    await page.getByRole("region", { name: "Provisioning" }).getByRole("link", { name: "1 group", exact: true }).click();
    await page.waitForURL(/\/groups\?source=Entra(%20|\+)push/);
    await page.getByText("Only the groups of source Entra push.").waitFor();
    await page.getByRole("link", { name: "Pilots" }).waitFor();
    await page.goBack();

    // Settings: a country that is none refused at its field, then saved with a new name.
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Settings of Entra push" });
    await form.getByRole("textbox", { name: "Name" }).fill("Entra sync");
    await form.getByRole("textbox", { name: "Phone country" }).fill("Germany");
    await form.getByRole("button", { name: "Save" }).click();
    await form.getByText("Must be an ISO 3166 two-letter country code").waitFor();
    await form.getByRole("textbox", { name: "Phone country" }).fill("de");
    await form.getByLabel("When Entra ID deletes a user").selectOption("delete");
    await form.getByRole("button", { name: "Save" }).click();
    await page.waitForURL(/\/sync\/Entra%20sync$/);
    await page.getByRole("heading", { level: 1, name: "Entra sync" }).waitFor();
    const settings = page.getByRole("region", { name: "Settings" });
    await settings.getByText("DE", { exact: true }).waitFor();
    await settings.getByText("deleted", { exact: true }).waitFor();
    const provisioned = await provision(issued, "/Users", { userName: "grace@north.example", displayName: "Grace Pilot" });
    const shown = await fetch(`${server.url}/scim/v2/Users/${provisioned.body.id}`, { headers: { authorization: `Bearer ${issued}` } });
    expect(shown.status).toBe(200);
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    expect(await getUser({ db: server.rt.store.db, workspace }, user.body.id)).toMatchObject({ source: { type: "scim", name: "Entra sync" } });

    // Entra ID silent for 5 hours: the page says so.
    const source = await server.rt.store.db.selectFrom("sources").select("id").where("name", "=", "Entra sync").executeTakeFirstOrThrow();
    await sql`update scim_tokens set last_request_at = now() - interval '5 hours' where source_id = ${source.id}`.execute(server.rt.store.db);
    await page.reload();
    await page.locator("[data-kind='scim-quiet']").getByText("Entra ID's provisioning service has not called for 5 hours").waitFor();

    await page.getByRole("button", { name: "Remove source" }).click();
    const remove = page.getByRole("dialog", { name: "Remove source Entra sync?" });
    await remove.getByText("Its 2 users and 1 groups").waitFor();
    await remove.getByText("Entra ID's provisioning service is refused from then on").waitFor();
    await remove.getByLabel("Keep them, disabled").check();
    await remove.getByRole("button", { name: "Remove source" }).click();
    await page.getByText("Source Entra sync removed; 2 users kept, disabled").waitFor();
    await page.waitForURL(/\/sync$/);
    expect(await page.locator("[data-kind='scim-source']").count()).toBe(0);
    expect(await getUser({ db: server.rt.store.db, workspace }, user.body.id)).toMatchObject({ enabled: false, source: { type: "manual", name: "Entra sync" } });
    expect(await users(issued)).toBe(401);
  });
});
