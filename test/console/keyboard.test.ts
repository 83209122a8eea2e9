import { afterAll, describe, expect, it } from "vitest";
import type { Locator, Page } from "playwright-core";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { desktop, hasChromium } from "./harness.ts";
import { seedDirectory } from "./seed.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";

const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement);

/** Holds the next request to `url` until the returned function is called: the page stays busy meanwhile. */
async function hold(page: Page, url: string): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(
    url,
    async (route) => {
      await held;
      await route.continue();
    },
    { times: 1 },
  );
  return release;
}

/** What Chromium gives a screen reader as the open dialog's description. */
async function dialogDescription(page: Page): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { result } = await cdp.send("Runtime.evaluate", { expression: "document.querySelector('dialog[open]')" });
    const { nodes } = await cdp.send("Accessibility.getPartialAXTree", { objectId: result.objectId!, fetchRelatives: false });
    return String(nodes[0]?.description?.value ?? "");
  } finally {
    await cdp.detach();
  }
}

/** Keyboard focus where an admin working without a mouse expects it: never dropped on the page's body. */
describe.skipIf(!hasChromium)("web console: keyboard focus", () => {
  const ui = signedInConsole((server) => seedDirectory(server.rt));
  const focused = () => ui.page.evaluate(() => {
    const el = document.activeElement;
    return el === document.body || !el ? "body" : `${el.tagName.toLowerCase()}${el.getAttribute("aria-label") ? `[${el.getAttribute("aria-label")}]` : ""}:${(el.textContent ?? "").trim() || (el as HTMLInputElement).value || el.id}`;
  });

  it("a form's submit pressed with the keyboard keeps focus in the form once saved, though the button is disabled then", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/settings`);
    await page.getByLabel("Default country").fill("GB");
    await page.getByRole("button", { name: "Save" }).first().focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "Settings saved" }).waitFor();
    await expect.poll(focused).toBe("input:GB");
  });

  it("the phone-width menu takes focus, closes on Escape with focus back on its button, and the page behind is inert meanwhile", async () => {
    const page = ui.page;
    await page.setViewportSize({ width: 600, height: 800 });
    await page.goto(`${ui.server.url}/w/default/users`);
    const menu = page.getByRole("button", { name: "Menu" });
    await menu.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => page.evaluate(() => document.getElementById("sidebar")!.contains(document.activeElement))).toBe(true);
    expect(await page.locator("main#main").getAttribute("inert")).not.toBeNull();
    await page.keyboard.press("Escape");
    await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("false");
    expect(await page.evaluate(() => document.activeElement?.classList.contains("menu-button"))).toBe(true);
    expect(await page.locator("main#main").getAttribute("inert")).toBeNull();
  });

  it("a confirmation opens on Cancel, described by its text; once a bulk action is done focus goes to the page's heading, and a refused group name to its field", async () => {
    const page = ui.page;
    await page.setViewportSize(desktop);
    await page.goto(`${ui.server.url}/w/default/users`);
    const toolbar = page.getByRole("group", { name: "Selected users" });
    const heading = page.getByRole("heading", { name: "Users", level: 1 });
    const ada = page.getByRole("checkbox", { name: "Select Ada Lovelace" });
    await ada.check();

    await toolbar.getByRole("button", { name: "Add to group…" }).click();
    const groupDialog = page.getByRole("dialog", { name: "Add 1 user to a group" });
    const group = groupDialog.getByLabel("Group");
    await expect.poll(() => isFocused(group)).toBe(true);
    await page.keyboard.type("No such group");
    await groupDialog.getByRole("button", { name: "Add to group" }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => group.getAttribute("aria-invalid")).toBe("true");
    await expect.poll(() => isFocused(group)).toBe(true);
    await page.keyboard.press("Escape");
    await groupDialog.waitFor({ state: "hidden" });

    await toolbar.getByRole("button", { name: "Disable" }).focus();
    await page.keyboard.press("Enter");
    const confirm = page.getByRole("dialog", { name: "Disable 1 user?" });
    await confirm.waitFor();
    await expect.poll(() => isFocused(confirm.getByRole("button", { name: "Cancel" }))).toBe(true);
    expect(await dialogDescription(page)).toContain("Disabled users keep their record, groups and history but can no longer sign in.");
    await page.keyboard.press("Tab");
    expect(await isFocused(confirm.getByRole("button", { name: "Disable 1 user" }))).toBe(true);
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "Disabled 1 user" }).waitFor();
    await expect.poll(() => toolbar.count()).toBe(0);
    await expect.poll(() => isFocused(heading)).toBe(true);

    await ada.check();
    await toolbar.getByRole("button", { name: "Enable" }).focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "Enabled 1 user" }).waitFor();
    await expect.poll(() => isFocused(heading)).toBe(true);
  });

  it("the shown-once token opens on the token, and revoking a token leaves focus on the Tokens heading, not the page", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/settings`);
    await page.getByRole("button", { name: "Create token" }).click();
    const create = page.getByRole("dialog", { name: "Create API token" });
    await create.getByLabel("Name").fill("Badge printer");
    await create.getByRole("button", { name: "Create token" }).click();
    const token = page.getByLabel("New API token");
    await expect.poll(() => isFocused(token)).toBe(true);
    expect(await dialogDescription(page)).toContain("This is the only time the token is shown.");
    await page.getByRole("button", { name: "Done" }).click();

    await page.getByRole("button", { name: "Revoke token Badge printer" }).focus();
    await page.keyboard.press("Enter");
    const confirm = page.getByRole("dialog", { name: "Revoke Badge printer?" });
    await confirm.waitFor();
    await expect.poll(() => isFocused(confirm.getByRole("button", { name: "Cancel" }))).toBe(true);
    expect(await dialogDescription(page)).toBe("Anything that uses this token stops working at once. This cannot be undone.");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.locator("tbody tr", { hasText: "Badge printer" }).getByText(/^Revoked/).waitFor();
    await expect.poll(() => isFocused(page.getByRole("heading", { name: "API tokens" }))).toBe(true);
  });

  it("a user saved without an email has focus at Email, whose error says the form's words, not the API's field name", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/users`);
    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Nobody Yet");
    await dialog.getByRole("button", { name: "Add user" }).click();
    const email = dialog.getByLabel("Email", { exact: true });
    await expect.poll(() => email.getAttribute("aria-invalid")).toBe("true");
    await expect.poll(() => isFocused(email)).toBe(true);
    const describedBy = (await email.getAttribute("aria-describedby"))!.split(" ");
    const said = await Promise.all(describedBy.map((id) => page.locator(`[id="${id}"]`).textContent()));
    expect(said).toContain("Is required (or give a user principal name)");
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("checking and importing a file are each said in one line, with focus on the report once it is there", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/import`);
    const csv = ["Email,Display name", "linus@contoso.com,Linus Torvalds", "not-an-email,Broken Row"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "keyboard.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    const said = page.locator("section[aria-labelledby='import-h'] [aria-live='polite']");
    expect(await said.count()).toBe(1);

    const release = await hold(page, "**/api/v1/workspaces/default/imports");
    const check = page.getByRole("button", { name: "Check file" });
    await check.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => check.getAttribute("aria-disabled")).toBe("true");
    expect(await isFocused(check)).toBe(true);
    await expect.poll(() => said.textContent()).toBe("Checking the file…");
    // The progress (bytes sent, rows read) is shown, not announced.
    expect(await page.locator("[role=progressbar]").count()).toBe(1);
    expect(await page.locator(":is([aria-live], [role=status], [role=alert]) [role=progressbar]").count()).toBe(0);
    release();
    const preview = page.getByRole("heading", { name: "What this import will do" });
    await expect.poll(() => isFocused(preview)).toBe(true);
    expect(await said.textContent()).toBe("Checked: 1 to create, 1 row with problems");

    // Ticked, it is checked again at once: the focus stays on the box, not taken away to the report.
    const partial = page.getByLabel("Import the valid rows even if some rows have problems");
    await partial.focus();
    await page.keyboard.press("Space");
    await expect.poll(() => page.getByRole("button", { name: "Import: create 1, update 0" }).isEnabled()).toBe(true);
    expect(await isFocused(partial)).toBe(true);
    await page.getByRole("button", { name: "Import: create 1, update 0" }).focus();
    await page.keyboard.press("Enter");
    const imported = page.getByRole("heading", { name: "Imported" });
    await expect.poll(() => isFocused(imported)).toBe(true);
    expect(await said.textContent()).toMatch(/^Imported: 1 created\b/);
  });
});

describe.skipIf(!hasChromium)("web console: keyboard focus on a sync source's buttons", () => {
  let emulator: RunningEmulator;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 5, groups: 1, seed: 7 });
    await addEmulatorSource(server, emulator);
  });
  afterAll(() => emulator?.close());

  it("Connect, Sync now and Preview changes keep the focus while they work, instead of dropping it on the page", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/sync`);
    const connect = page.getByRole("button", { name: "Connect" });
    let release = await hold(page, "**/api/v1/workspaces/default/sources/contoso/test");
    await connect.focus();
    await page.keyboard.press("Enter");
    const connecting = page.getByRole("button", { name: "Connecting…" });
    await expect.poll(() => connecting.getAttribute("aria-disabled")).toBe("true");
    expect(await isFocused(connecting)).toBe(true);
    release();
    await page.locator(".check-result").waitFor({ timeout: 30_000 });
    expect(await isFocused(connect)).toBe(true);

    for (const [name, done] of [["Sync now", "Sync of contoso finished"], ["Preview changes", "Preview of contoso ready"]] as const) {
      const button = page.getByRole("button", { name });
      release = await hold(page, "**/api/v1/workspaces/default/sources/contoso/sync");
      await button.focus();
      await page.keyboard.press("Enter");
      const starting = page.getByRole("button", { name: "Starting…" });
      await expect.poll(() => starting.getAttribute("aria-disabled")).toBe("true");
      expect(await isFocused(starting)).toBe(true);
      release();
      await page.locator(".toast", { hasText: done }).waitFor({ timeout: 30_000 });
      await expect.poll(() => button.getAttribute("aria-disabled")).toBeNull();
      expect(await isFocused(button)).toBe(true);
    }
  });
});
