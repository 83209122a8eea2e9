import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";

/**
 * A first-time admin's way from a saved source to its first sync, as the brief tells it: Connect, choose which users
 * and groups to bring over, preview, Sync now. Each step says what comes next, and the keyboard focus follows.
 */
describe.skipIf(!hasChromium)("web console: a new source's first steps", () => {
  let emulator: RunningEmulator;
  let ctx: Awaited<ReturnType<typeof addEmulatorSource>>;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 30, groups: 4, seed: 21 });
    ctx = await addEmulatorSource(server, emulator);
  });
  afterAll(async () => {
    await emulator?.close();
  });
  const focused = () => ui.page.evaluate(() => (document.activeElement as HTMLElement | null)?.getAttribute("name") ?? document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.tagName);

  const cardButtons = () => ui.page.locator(".source-card").getByRole("button").allTextContents().then((texts) => texts.map((t) => t.trim()));
  const primary = () => ui.page.locator(".source-card .btn-primary").allTextContents().then((texts) => texts.map((t) => t.trim()));

  it("marks the client secret required, as the other required fields, unless a certificate is chosen, and says so when it is missing", async () => {
    const { page } = ui;
    await page.goto(`${ui.server.url}/w/default/sync`);
    await page.getByRole("button", { name: "Add Entra ID source" }).first().click();
    const form = page.getByRole("dialog", { name: "Add Entra ID source" });
    const secret = form.getByLabel("Client secret");
    expect(await secret.getAttribute("required")).not.toBeNull();
    expect(await form.locator("label", { hasText: "Client secret" }).locator(".required").textContent()).toBe(" *");
    expect(await form.locator("label", { hasText: "Application (client) ID" }).locator(".required").textContent()).toBe(" *");
    // A certificate instead: its two fields are the required ones.
    await form.getByLabel("Certificate", { exact: true }).check();
    expect(await form.getByLabel("Certificate (PEM)").getAttribute("required")).not.toBeNull();
    expect(await form.getByLabel("Private key (PEM)").getAttribute("required")).not.toBeNull();
    await form.getByLabel("Secret", { exact: true }).check();

    await form.getByRole("textbox", { name: "Name", exact: true }).fill("fabrikam");
    await form.getByLabel("Directory (tenant) ID").fill(emulator.tenantId);
    await form.getByLabel("Application (client) ID").fill(emulator.clientId);
    await form.getByRole("button", { name: "Add source" }).click();
    await expect.poll(() => secret.getAttribute("aria-invalid")).toBe("true");
    expect(await form.locator(".field-invalid", { has: page.locator("input[name='clientSecret']") }).locator(".field-error").textContent()).toContain(
      "Enter the client secret, or choose Certificate to sign in with one instead: create one under Certificates & secrets in the app registration.",
    );
    await expect.poll(() => secret.evaluate((input) => input === document.activeElement)).toBe(true);
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "hidden" });
  });

  it("a source never synced leads with Connect, in the order of the work: Connect, Preview changes, Sync now", async () => {
    const { page } = ui;
    await page.goto(`${ui.server.url}/w/default/sync`);
    await page.locator(".source-card").waitFor();
    expect(await cardButtons()).toEqual(["Connect", "Preview changes", "Sync now"]);
    expect(await primary()).toEqual(["Connect"]);
  });

  it("after Connect passes, says to choose users and groups, and opens the form there", async () => {
    const { page } = ui;
    await page.goto(`${ui.server.url}/w/default/sync/contoso`);
    await page.getByRole("heading", { name: "contoso", level: 1 }).waitFor();
    expect(await page.locator(".source-card .muted.small").first().textContent()).toContain("all users · no groups");
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Connected. Everything the source needs is in place.").waitFor({ timeout: 30_000 });
    const next = page.locator("[data-kind='next-step']");
    await expect.poll(() => next.textContent()).toContain("Next, choose which users and groups to bring over (now: all users, no groups)");
    await next.getByRole("button", { name: "Choose users and groups" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    await form.waitFor();
    // The keyboard focus starts at the scope, not at the source's name at the top of the form.
    await expect.poll(focused).toBe("users");

    // Groups found in Entra ID are added one after another from the keyboard: the focus stays on the button pressed.
    await form.getByLabel("Which users").selectOption("groups");
    await form.getByRole("button", { name: "Find", exact: true }).click();
    const [first, second] = emulator.tenants.get(emulator.tenantId).listGroups().map((g) => g.displayName).sort((a, b) => a.localeCompare(b));
    await form.getByRole("button", { name: `Add ${first}` }).click();
    await expect.poll(() => form.getByRole("button", { name: `Add ${first}` }).textContent()).toBe("Added");
    expect(await focused()).toBe(`Add ${first}`);
    // Pressed again, an added group is not listed twice.
    await page.keyboard.press("Enter");
    expect(await form.getByLabel("Groups whose members are synced").inputValue()).toBe(first);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    expect(await form.getByLabel("Groups whose members are synced").inputValue()).toBe(`${first}\n${second}`);
    await form.getByRole("button", { name: "Save source" }).click();
    await form.waitFor({ state: "hidden" });
    await expect.poll(() => page.locator(".source-card .muted.small").first().textContent()).toContain("members of 2 groups · no groups");
  });

  it("Replace secret moves the keyboard focus to the new secret's field", async () => {
    const { page } = ui;
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    await form.getByRole("button", { name: "Replace secret" }).click();
    await expect.poll(focused).toBe("clientSecret");
    // Left blank, the stored secret stays: not required here.
    expect(await form.getByLabel("Client secret").getAttribute("required")).toBeNull();
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "hidden" });
  });

  it("a preview's page starts the sync it previewed, and follows it to its end", async () => {
    const { page } = ui;
    await page.goto(`${ui.server.url}/w/default/sync/contoso`);
    await page.getByRole("button", { name: "Preview changes" }).click();
    await page.getByRole("link", { name: "See the changes it would make" }).click({ timeout: 60_000 });
    await page.getByRole("heading", { name: "Preview of contoso", level: 1 }).waitFor();
    const banner = page.locator("[data-kind='preview']");
    await expect.poll(() => banner.textContent()).toContain("This was a preview: the changes below were computed but not applied.");
    await banner.getByRole("button", { name: "Sync now" }).click();
    await page.getByRole("heading", { name: "Sync of contoso", level: 1 }).waitFor();
    await expect.poll(() => page.locator(".page-head .badge").textContent(), { timeout: 60_000 }).toBe("Succeeded");
    expect(await page.locator("#counts-h + .counts").textContent()).toMatch(/\d+ created/);
    const synced = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=contoso&limit=1").then((r) => r.json() as Promise<{ total: number }>));
    expect(synced.total).toBeGreaterThan(0);

    // Synced, the source leads with Sync now; Connect, to test it again, comes after.
    await page.goto(`${ui.server.url}/w/default/sync`);
    await page.locator(".source-card").waitFor();
    expect(await cardButtons()).toEqual(["Sync now", "Preview changes", "Connect"]);
    expect(await primary()).toEqual(["Sync now"]);
  });

  it("a synced user's page says they cannot sign in while their source is not used for Sign in with Microsoft", async () => {
    const { page } = ui;
    const { items } = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=contoso&limit=1").then((r) => r.json() as Promise<{ items: { id: string; displayName: string }[] }>));
    await page.goto(`${ui.server.url}/w/default/users/${items[0]!.id}`);
    await page.getByRole("heading", { name: items[0]!.displayName, level: 1 }).waitFor();
    await expect.poll(() => page.locator("[data-kind='sign-in-off']").textContent()).toBe(
      "Cannot sign in yet: source contoso is not used for Sign in with Microsoft (turn it on in the source's Edit settings).",
    );
    expect(await page.getByText("Signs in with Microsoft.").count()).toBe(0);
    await updateEntraSource(ctx, "contoso", { config: { signIn: true } });
    await page.reload();
    await page.getByText("Signs in with Microsoft.").waitFor();
    expect(await page.locator("[data-kind='sign-in-off']").count()).toBe(0);
  });
});
