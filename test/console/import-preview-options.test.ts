import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * The console imports what it showed: its commit sends the options of the preview on screen, and the server refuses
 * them when the upload was previewed since with others (another tab, another admin), instead of importing either.
 */
describe.skipIf(!hasChromium)("web console: an import commits what its preview showed, in the encoding chosen", () => {
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

  it("\"Import the valid rows\" takes effect at once: the server checks again by itself, and Import offers the valid rows", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/import`);
    const csv = ["Email,Display name", "lin@contoso.com,Lin Valid", "not-an-email,Broken Row", "kai@contoso.com,Kai Valid"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "partial.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 2, update 0");
    expect(await importButton.isDisabled()).toBe(true);
    await page.getByText("1 row has problems.").waitFor();

    const rechecked = page.waitForResponse((r) => r.request().method() === "GET" && /\/imports\/[^/?]+\?/.test(r.url()) && r.url().includes("partial=true"));
    const partial = page.getByLabel("Import the valid rows even if some rows have problems");
    await partial.check();
    await rechecked;
    // No "Check again" needed: nothing is stale, and the import takes the valid rows.
    await expect.poll(() => importButton.isEnabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Check again with these options" }).isDisabled()).toBe(true);
    expect(await page.getByText("The options changed").count()).toBe(0);
    expect(await page.getByText("1 row has problems.").count()).toBe(0);
    expect(await partial.evaluate((input) => input === document.activeElement)).toBe(true);

    // Unticked, the problem row stops the import again, as at once.
    await partial.uncheck();
    await expect.poll(() => importButton.isDisabled()).toBe(true);
    await page.getByText("1 row has problems.").waitFor();
    await partial.check();
    await expect.poll(() => importButton.isEnabled()).toBe(true);
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=partial.csv").then((r) => r.json() as Promise<{ items: { email: string }[] }>));
    expect(users.items.map((u) => u.email).sort()).toEqual(["kai@contoso.com", "lin@contoso.com"]);
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

  it("reads a CSV file in the text encoding the admin names when the detected one shows wrong letters", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/import`);
    // "Jonas Žemaitė" in Windows' Baltic code page (1257): read as Western European, "Jonas Þemaitë".
    const baltic = Buffer.concat([Buffer.from("Email,Name\njonas@contoso.com,Jonas "), Buffer.from([0xde]), Buffer.from("emait"), Buffer.from([0xeb]), Buffer.from("\n")]);
    await page.locator("#import-file").setInputFiles({ name: "baltic.csv", mimeType: "text/csv", buffer: baltic });
    await page.getByRole("button", { name: "Check file" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 1, update 0");
    const encoding = page.getByLabel("Text encoding");
    expect(await encoding.getAttribute("placeholder")).toBe("windows-1252 (detected)");
    await page.getByText("Jonas Þemaitë").waitFor({ state: "attached" }); // in the report's list of users to create, folded

    await encoding.fill("baltic");
    await page.getByRole("button", { name: "Check again with these options" }).click();
    await expect.poll(() => page.locator(".banner-error").textContent()).toContain('"baltic" is not a text encoding Rollcall knows; give one such as utf-8');
    await encoding.fill("windows-1257");
    // A check refused shows no report: the file is checked anew (the server still keeps it).
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByText("Jonas Žemaitė").waitFor({ state: "attached" });
    await expect.poll(() => importButton.isDisabled()).toBe(false);
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=baltic.csv").then((r) => r.json() as Promise<{ items: { displayName: string }[] }>));
    expect(users.items.map((u) => u.displayName)).toEqual(["Jonas Žemaitė"]);
  });
});
