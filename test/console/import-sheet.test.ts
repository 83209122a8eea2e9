import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * A workbook whose first sheet is not the users' (a cover sheet, notes) is refused for its columns: the console
 * offers the workbook's sheets there, so the admin can pick the right one instead of editing the file.
 */
describe.skipIf(!hasChromium)("web console: importing another sheet of a workbook", () => {
  const ui = signedInConsole();

  it("offers the sheets when the first one has no users' columns, and imports the sheet chosen", async () => {
    const workbook = new ExcelJS.Workbook();
    workbook.addWorksheet("Read me").addRow(["Staff list, exported from HR on Monday"]);
    const staff = workbook.addWorksheet("Staff");
    staff.addRow(["Email", "Display name"]);
    staff.addRow(["hedy@contoso.com", "Hedy Lamarr"]);
    staff.addRow(["claude@contoso.com", "Claude Shannon"]);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    const page = ui.page;

    await page.getByRole("link", { name: "Import & export" }).click();
    await page.locator("#import-file").setInputFiles({ name: "hr.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer });
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByRole("heading", { name: "Columns" }).waitFor();
    // The refusal names the console's way to another sheet, not the CLI's.
    expect(await page.locator(".banner-error").textContent()).toContain('Sheet "Read me" (of "Read me", "Staff"; choose another in the Sheet list)');
    expect(await page.locator(".banner-error").textContent()).not.toContain("--sheet");
    const sheet = page.getByLabel("Sheet", { exact: true });
    expect(await sheet.locator("option").allTextContents()).toEqual(["Read me", "Staff"]);
    expect(await sheet.inputValue()).toBe("Read me");

    await sheet.selectOption("Staff");
    await page.getByRole("button", { name: "Check again with these columns" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 2, update 0");
    expect(await page.locator("section", { has: page.getByRole("heading", { name: "What this import will do" }) }).textContent()).toContain("sheet Staff");
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=hr.xlsx").then((r) => r.json() as Promise<{ total: number }>));
    expect(users.total).toBe(2);
  });

  it("shows a column of card numbers saved as numbers once, with its rows, apart from the warnings by row (a phone's extension)", async () => {
    const workbook = new ExcelJS.Workbook();
    const staff = workbook.addWorksheet("Staff");
    staff.addRow(["Email", "Display name", "Card", "Mobile"]);
    for (let i = 0; i < 6; i++) staff.addRow([`badge${i}@contoso.com`, `Badge Holder ${i}`, 4200 + i, i === 0 ? "+44 7911 123456 ext. 5" : ""]);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());
    const page = ui.page;
    await page.reload();
    await page.locator("#import-file").setInputFiles({ name: "badges.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer });
    await page.getByRole("button", { name: "Check file" }).click();
    const report = page.locator("section[aria-labelledby='report-h']");
    await page.getByRole("heading", { name: "Warnings by column" }).waitFor();
    expect(await page.locator("#report-h + ul.counts li").allTextContents()).toContain("2 warnings");
    const byColumn = report.locator("table").filter({ has: page.getByRole("columnheader", { name: "Rows", exact: true }) }).locator("tbody tr");
    expect(await byColumn.count()).toBe(1);
    expect(await byColumn.first().locator("td").allTextContents()).toEqual([
      "Card (C)",
      "6",
      "holds numbers, not text, in 6 rows (rows 2, 3, 4, 5, 6, …): Excel drops the leading zeros of a card number typed as a number (0042 is saved as 42), so any they had are lost. Format the column as Text in Excel, type the values again (or export them again as text), and import again",
    ]);
    // The phone's extension is the one warning a row still gets.
    await page.getByRole("heading", { name: "Warnings by row" }).waitFor();
    const byRow = report.locator("table").filter({ has: page.getByRole("columnheader", { name: "Row", exact: true }) }).filter({ hasText: "extension" }).locator("tbody tr");
    expect(await byRow.count()).toBe(1);
    expect(await byRow.first().locator("td").first().textContent()).toBe("2");
  });
});
