import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";

/**
 * The Users page's Department filter: the workspace's departments with their counts, kept in the address, cleared with
 * the others, and what "Select all N matching users" and the export act on.
 */
describe.skipIf(!hasChromium)("web console: the Users page's department filter", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    // More Finance users than a page shows, so that the whole page ticked offers every matching user.
    const rows = Array.from({ length: 60 }, (_, i) => [ctx.workspace.id, `fin${i}@contoso.com`, `Finance ${String(i).padStart(2, "0")}`, i % 2 ? "Finance" : "finance", "import", "finance.csv"]);
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "department", "source_type", "source_name"], rows);
    const without = [["nodept1@contoso.com", "Nobody One", null], ["nodept2@contoso.com", "Nobody Two", ""]].map(([email, name, department]) => [ctx.workspace.id, email!, name!, department ?? null, "manual", "manual"]);
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "department", "source_type", "source_name"], without);
  });

  it("filters by a picked department, in the address; exports, disables every matching user, and clears", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users`);
    const department = page.getByLabel("Department");
    await expect.poll(() => department.locator("option").allTextContents()).toEqual(["Any department", "Engineering (3)", "Facilities (1)", "Finance (60)", "Research (3)", "No department (2)"]);
    await department.selectOption({ label: "Research (3)" });
    await page.waitForURL(/department=Research/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    expect(await page.locator("tbody").textContent()).toContain("Alan Turing");

    // Kept in the address: a reload shows the same filter, picked.
    await page.reload();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    expect(await department.inputValue()).toBe("name:Research");

    // The export is the department's users.
    await page.getByText("Export", { exact: true }).click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
    const exported = await readFile((await download.path())!, "utf8");
    expect(exported.trim().split("\r\n").slice(1).map((line) => line.split(",")[0]).sort()).toEqual(["alan@contoso.com", "edsger@contoso.com", "katherine@contoso.com"]);

    // Every user of a department bigger than a page, however its users spell it.
    await department.selectOption({ label: "Finance (60)" });
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 60");
    const toolbar = page.getByRole("group", { name: "Selected users" });
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 60 matching users" }).click();
    await toolbar.getByRole("button", { name: "Disable" }).click();
    await page.getByRole("dialog", { name: "Disable 60 users?" }).getByRole("button", { name: "Disable 60 users" }).click();
    await page.locator(".toast", { hasText: "Disabled 60 users" }).waitFor();
    const disabled = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?enabled=false&limit=500").then((r) => r.json() as Promise<{ items: { department: string | null }[] }>));
    // The 60 of Finance and Front Desk (disabled by the seed), and nobody else.
    expect(disabled.items.length).toBe(61);
    expect(disabled.items.filter((u) => u.department?.toLowerCase() !== "finance").map((u) => u.department)).toEqual(["Facilities"]);

    // The users without a department.
    await department.selectOption({ label: "No department (2)" });
    await page.waitForURL(/hasDepartment=false/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    expect(new URL(page.url()).searchParams.get("department")).toBeNull();
    expect(await page.locator("tbody").textContent()).toContain("Nobody Two");

    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get("hasDepartment")).toBeNull();
    expect(await department.inputValue()).toBe("");
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 69");
  });

  it("counts the departments again after a bulk action on the page, without leaving it", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users?department=Research`);
    const department = page.getByLabel("Department");
    await expect.poll(() => department.locator("option").allTextContents()).toContain("Research (3)");
    await page.getByRole("checkbox", { name: "Select Alan Turing" }).check();
    await page.getByRole("checkbox", { name: "Select Edsger Dijkstra" }).check();
    await page.getByRole("group", { name: "Selected users" }).getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Delete 2 users?" }).getByRole("button", { name: "Delete 2 users" }).click();
    await page.locator(".toast", { hasText: "Deleted 2 users" }).waitFor();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await expect.poll(() => department.locator("option").allTextContents()).toEqual(["Any department", "Engineering (3)", "Facilities (1)", "Finance (60)", "Research (1)", "No department (2)"]);
  });
});
