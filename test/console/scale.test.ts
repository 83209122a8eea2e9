import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { desktop, hasChromium, launchBrowser, openPage, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/**
 * The Users page over 100,000 users in Chromium: server-side paging, search and sort bring the right rows.
 * Timings are printed for the record; they never decide the outcome.
 */
const count = 100_000;
const n = (i: number) => String(i).padStart(6, "0");
const name = (i: number) => `Person ${n(i)}`;
const email = (i: number) => `user-${n(i)}@corp.example`;

describe.skipIf(!hasChromium)("web console: the Users page at 100,000 users", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    server = await startConsoleServer();
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const started = performance.now();
    const rows = Array.from({ length: count }, (_, i) => [randomUUID(), workspace.id, email(i), name(i), i % 5 !== 0, "import", "hr.csv", "{Imported}"]);
    await server.rt.store.copyRows("users", ["id", "workspace_id", "email", "display_name", "enabled", "source_type", "source_name", "tags"], rows);
    await sql`ANALYZE`.execute(server.rt.store.db);
    console.log(`seeded ${count} users in ${Math.round(performance.now() - started)} ms`);
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
  }, 300_000);

  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Runs `act`, waits until the table shows `firstName` in its first row, and logs how long that took. */
  async function timed(label: string, act: () => Promise<unknown>, firstName: string) {
    const started = performance.now();
    await act();
    await expect.poll(() => firstCell(), { timeout: 60_000 }).toBe(firstName);
    console.log(`${label}: ${Math.round(performance.now() - started)} ms`);
  }
  const firstCell = () => page.locator("tbody tr").first().locator(`td[data-label="Name"] a`).textContent();
  const names = () => page.locator(`tbody tr td[data-label="Name"] a`).allTextContents();

  it("opens on the first page with the total", async () => {
    await timed("sign in and first page", () => signIn(page, server.url), name(0));
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe(`1–50 of ${count.toLocaleString("en-US")}`);
    expect(await names()).toEqual(Array.from({ length: 50 }, (_, i) => name(i)));
  });

  it("searches", async () => {
    // "04321" is in Person 004321 and Person 043210 to 043219.
    await timed("search", () => page.getByLabel("Search").fill("04321"), name(4321));
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–11 of 11");
    expect(await names()).toEqual([4321, ...Array.from({ length: 10 }, (_, i) => 43210 + i)].map(name));
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe(`1–50 of ${count.toLocaleString("en-US")}`);
  });

  it("sorts by email, descending", async () => {
    await timed("sort by email", async () => {
      await page.getByRole("button", { name: /^Email/ }).click();
      await page.waitForURL(/sort=email&order=asc/);
      await page.locator(".table-wrap:not(.is-loading)").waitFor();
    }, name(0));
    await timed("sort by email, descending", () => page.getByRole("button", { name: /^Email/ }).click(), name(count - 1));
    expect(await names()).toEqual(Array.from({ length: 50 }, (_, i) => name(count - 1 - i)));
  });

  it("goes to the last page and to a deep page by address", async () => {
    await timed("last page", () => page.getByRole("button", { name: "Last page" }).click(), name(49));
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe(`99,951–100,000 of 100,000`);
    expect(await names()).toEqual(Array.from({ length: 50 }, (_, i) => name(49 - i)));

    await timed("deep page by address", () => page.goto(`${page.url().split("?")[0]}?offset=73500&sort=displayName`), name(73_500));
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("73,501–73,550 of 100,000");
    await timed("next page", () => page.getByRole("button", { name: "Next" }).click(), name(73_550));
    expect(await names()).toEqual(Array.from({ length: 50 }, (_, i) => name(73_550 + i)));
  });

  it("filters by status on the full set", async () => {
    await timed("disabled only", () => page.getByLabel("Status").selectOption("false"), name(0));
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe(`1–50 of ${(count / 5).toLocaleString("en-US")}`);
    expect(await names()).toEqual(Array.from({ length: 50 }, (_, i) => name(i * 5)));
  });
});
