import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * The console imports what it showed: its commit sends the options of the preview on screen, and the server refuses
 * them when the upload was previewed since with others (another tab, another admin), instead of importing either.
 */
describe.skipIf(!hasChromium)("web console: an import commits what its preview showed", () => {
  const ui = signedInConsole();

  it("is refused when the upload was checked elsewhere with other options, and imports once checked again", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "Import & export" }).click();
    await page.locator("#import-file").setInputFiles({ name: "desk.csv", mimeType: "text/csv", buffer: Buffer.from("Email,Name\nmax@contoso.com,Max Weber\n") });
    await page.getByLabel("Source name").fill("Front desk");
    const uploaded = page.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith("/imports"));
    await page.getByRole("button", { name: "Check file" }).click();
    const id = ((await (await uploaded).json()) as { id: string }).id;
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 1, update 0");

    // Another tab previews the same upload under another source name.
    const elsewhere = await page.evaluate((url) => fetch(url).then((r) => r.json() as Promise<{ source: string }>), `/api/v1/workspaces/default/imports/${id}?source=Reception`);
    expect(elsewhere.source).toBe("Reception");

    await importButton.click();
    await expect.poll(() => page.locator(".banner-error").textContent()).toContain("The file was checked again since, with other options (in another tab, or by another admin)");
    expect(await importButton.isDisabled()).toBe(true);
    const users = () => page.evaluate(() => fetch("/api/v1/workspaces/default/users?q=max%40contoso.com").then((r) => r.json() as Promise<{ items: { source: { name: string } }[] }>));
    expect((await users()).items).toEqual([]);

    await page.getByRole("button", { name: "Check again with these options" }).click();
    await expect.poll(() => importButton.isDisabled()).toBe(false);
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    expect((await users()).items).toEqual([expect.objectContaining({ source: expect.objectContaining({ name: "Front desk" }) })]);
  });

  it("clearing the source name goes back to the file name, in the preview and in the import", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/import`);
    await page.locator("#import-file").setInputFiles({ name: "lobby.csv", mimeType: "text/csv", buffer: Buffer.from("Email,Name\nrosa@contoso.com,Rosa Lux\n") });
    await page.getByLabel("Source name").fill("Lobby staff");
    await page.getByRole("button", { name: "Check file" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 1, update 0");
    await page.getByLabel("Source name").fill("");
    await page.getByRole("button", { name: "Check again with these options" }).click();
    await expect.poll(() => importButton.isDisabled()).toBe(false);
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=lobby.csv").then((r) => r.json() as Promise<{ total: number }>));
    expect(users.total).toBe(1);
  });
});
