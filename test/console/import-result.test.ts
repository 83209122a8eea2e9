import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { seedDirectory } from "./seed.ts";
import { signedInConsole } from "./signed-in.ts";

/** The preview says what an import will do; once it is applied, the same report says what it did. */
describe.skipIf(!hasChromium)("web console: an import's result", () => {
  const ui = signedInConsole((server) => seedDirectory(server.rt));

  it("speaks in the future before the import and in the past after it", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "Import & export" }).click();
    // Alan Turing was imported from hr-2026.csv: taking him over updates him.
    const csv = ["Email,Display name,Department", "hedy@contoso.com,Hedy Lamarr,Research", "alan@contoso.com,Alan Turing,Mathematics"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "hr-2026.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    const counts = page.locator("#report-h + ul.counts li");
    const summaries = page.locator("section[aria-labelledby='report-h'] details summary");
    await page.getByRole("heading", { name: "What this import will do" }).waitFor();
    expect(await counts.allTextContents()).toEqual(["2 rows", "1 to create", "1 to update", "0 unchanged", "0 rows with problems"]);
    expect(await summaries.allTextContents()).toEqual(["1 user to update", "1 user to create"]);

    await page.getByRole("button", { name: "Import: create 1, update 1" }).click();
    await page.getByText("Import finished.").waitFor();
    await page.getByRole("heading", { name: "Imported" }).waitFor();
    expect(await counts.allTextContents()).toEqual(["2 rows", "1 created", "1 updated", "0 unchanged", "0 rows with problems"]);
    expect(await summaries.allTextContents()).toEqual(["1 user updated", "1 user created"]);
  });

  it("says how to take over another source's user with the page's own fields, not the CLI's options", async () => {
    const page = ui.page;
    await page.reload();
    const csv = ["Email,Display name", "alan@contoso.com,Alan M. Turing"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "other.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    const problem = page.locator("section[aria-labelledby='report-h'] tbody tr", { hasText: "alan@contoso.com" });
    await problem.waitFor();
    const text = await problem.textContent();
    expect(text).toContain('imported from "hr-2026.csv" (not "other.csv"); set Source name to "hr-2026.csv", or tick Take over existing users with the same email');
    expect(text).not.toContain("--");
    const counts = await page.locator("#report-h + ul.counts li").allTextContents();
    expect(counts[0]).toBe("1 row");
    expect(counts).toContain("1 row with problems");
  });

  it("previews a file without a name column as updates of the users it matches, and names the row that would add one without a name", async () => {
    const page = ui.page;
    await page.reload();
    const csv = ["Email,Department", "alan@contoso.com,Logic", "nobody@contoso.com,Ops"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "hr-2026.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    const problem = page.locator("section[aria-labelledby='report-h'] tbody tr", { hasText: "would add a new user" });
    await problem.waitFor();
    expect(await problem.locator("td").allTextContents()).toEqual([
      "3", "Display name", "",
      "is missing, and this row would add a new user: the file has no name column (Display name, or First name and Last name), and the row matches no user by its email or userPrincipalName. Give this user's name (in a Display name column, or as a first and last name), or delete the row; rows that match a user keep that user's name",
    ]);
    expect(await page.locator("#report-h + ul.counts li").allTextContents()).toEqual(["2 rows", "0 to create", "1 to update", "0 unchanged", "1 skipped", "1 row with problems"]);
  });

  it("tells two columns of one heading apart by letter, so each can be given its own field", async () => {
    const page = ui.page;
    await page.reload();
    const csv = ["Email,Name,Name", "barbara@contoso.com,Barbara,Liskov"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "twins.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByRole("heading", { name: "Columns" }).waitFor();
    expect(await page.locator(".banner-error").textContent()).toContain('columns B "Name" and C "Name" both map to displayName');
    expect(await page.getByLabel("Imported as, column Name (column B)").inputValue()).toBe("displayName");
    await page.getByLabel("Imported as, column Name (column C)").selectOption({ value: "surname" });
    await page.getByRole("button", { name: "Check again with these columns" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 1, update 0");
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=twins.csv").then((r) => r.json() as Promise<{ items: { displayName: string; surname: string }[] }>));
    expect(users.items.map((u) => [u.displayName, u.surname])).toEqual([["Barbara", "Liskov"]]);
  });
});
