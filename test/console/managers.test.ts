import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";
import { getUser, updateUser } from "../../src/core/users.ts";

/** A user's page names their manager as a link and lists their direct reports; a manual user's manager is edited there. */
describe.skipIf(!hasChromium)("web console: managers and direct reports", () => {
  const ids: Record<string, string> = {};
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    for (const email of ["alan@contoso.com", "edsger@contoso.com"]) await updateUser(ctx, email, { manager: "margaret@contoso.com" });
    for (const name of ["alan", "edsger", "margaret"]) ids[name] = (await getUser(ctx, `${name}@contoso.com`)).id;
  });
  const prop = (label: string) => ui.page.locator(".prop", { has: ui.page.locator("dt", { hasText: new RegExp(`^${label}$`) }) }).locator("dd");

  it("links a user's manager to the manager's page, which lists the direct reports, each a link", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/users/${ids.alan}`);
    await page.getByRole("heading", { name: "Alan Turing", level: 1 }).waitFor();
    const manager = prop("Manager").getByRole("link");
    await expect.poll(() => manager.textContent()).toBe("Margaret Hamilton margaret@contoso.com");
    await manager.click();
    await page.getByRole("heading", { name: "Margaret Hamilton", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/w/default/users/${ids.margaret}`);
    const reports = page.getByRole("list", { name: "Direct reports" }).getByRole("link");
    expect(await reports.allTextContents()).toEqual(["Alan Turing alan@contoso.com", "Edsger Dijkstra edsger@contoso.com"]);
    expect(await prop("Manager").textContent()).toBe("—");
    await reports.nth(1).click();
    await page.getByRole("heading", { name: "Edsger Dijkstra", level: 1 }).waitFor();
  });

  it("sets a manual user's manager in the edit dialog, by email, and shows the API's refusal under the field", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/users/${ids.edsger}`);
    await page.getByRole("heading", { name: "Edsger Dijkstra", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: /Edit Edsger Dijkstra/ });
    const field = dialog.getByLabel("Manager");
    expect(await field.inputValue()).toBe("margaret@contoso.com");
    await field.fill("nobody@contoso.com");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
    await field.fill("ada@contoso.com");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => prop("Manager").textContent()).toBe("Ada Lovelace ada@contoso.com");
  });

  it("adds a user with a manager in the Add user dialog, after showing the API's refusal of an unknown one under the field", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/users`);
    await page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Frances Allen");
    await dialog.getByLabel("Email").fill("frances@contoso.com");
    const field = dialog.getByLabel("Manager");
    await field.fill("nobody@contoso.com");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
    const message = page.locator(`[id="${(await field.getAttribute("aria-describedby"))!.split(" ")[0]}"]`);
    expect(await message.textContent()).toContain('"nobody@contoso.com"');
    await field.fill("margaret@contoso.com");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "Frances Allen", level: 1 }).waitFor();
    await expect.poll(() => prop("Manager").textContent()).toBe("Margaret Hamilton margaret@contoso.com");
  });

  it("previews and reports an import row that changes only its user's manager as an update", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/import`);
    // Alan Turing was imported from hr-2026.csv, reporting to Margaret: the file changes his manager alone.
    const csv = ["Email,Display name,Manager", "alan@contoso.com,Alan Turing,ada@contoso.com"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "hr-2026.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByRole("heading", { name: "What this import will do" }).waitFor();
    const counts = page.locator("#report-h + ul.counts li");
    expect(await counts.allTextContents()).toEqual(["1 row", "0 to create", "1 to update", "0 unchanged", "0 rows with problems"]);
    const updated = page.locator("section[aria-labelledby='report-h'] details", { hasText: "1 user to update" });
    await updated.locator("summary").click();
    expect(await updated.textContent()).toContain("Ada Lovelace <ada@contoso.com>");
    await page.getByRole("button", { name: "Import: create 0, update 1" }).click();
    await page.getByRole("heading", { name: "Imported" }).waitFor();
    expect(await counts.allTextContents()).toEqual(["1 row", "0 created", "1 updated", "0 unchanged", "0 rows with problems"]);
    await page.goto(`${ui.server.url}/w/default/users/${ids.alan}`);
    await expect.poll(() => prop("Manager").textContent()).toBe("Ada Lovelace ada@contoso.com");
  });
});
