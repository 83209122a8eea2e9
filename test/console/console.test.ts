import { readFile } from "node:fs/promises";
import ExcelJS from "exceljs";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { admin, desktop, hasChromium, chromiumPath, launchBrowser, openPage, phone, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { seedDirectory } from "./seed.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createUser, getUser, updateUser } from "../../src/core/users.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { addMember, createGroup } from "../../src/core/groups.ts";

/** How many pixels the widest of these elements' content reaches past its box: 0 when everything fits. */
const overflow = (elements: Locator) => elements.evaluateAll((all) => Math.max(0, ...all.map((el) => el.scrollWidth - el.clientWidth)));

if (!hasChromium) {
  console.warn(`Skipping the web console tests: no Chromium at ${chromiumPath}. Install it with \`apt-get install -y chromium\` (CI does).`);
}

describe.skipIf(!hasChromium)("web console", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    server = await startConsoleServer();
    await seedDirectory(server.rt);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: desktop });
    ({ page, errors } = await openPage(context));
  });

  afterEach(() => {
    // Any browser console error or uncaught exception fails the test that caused it.
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("refuses a wrong password with a message, then signs the admin in", async () => {
    await page.goto(`${server.url}/`);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/email or password is wrong/i);
    // The focus is back on the password, selected: typing replaces it.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("password");
    await page.keyboard.type(admin.password);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/w/default/users");
  });

  it("lists the users with paging counts and sorts by a column header", async () => {
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–7 of 7");
    // An address past the last page (an old link) opens the last page that has users.
    await page.goto(`${server.url}/w/default/users?q=contoso&offset=100`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–7 of 7");
    expect(new URL(page.url()).searchParams.get("offset")).toBeNull();
    expect(await page.getByText("No users match these filters").count()).toBe(0);
    await page.goto(`${server.url}/w/default/users`);
    await page.getByRole("button", { name: /^Name/ }).click(); // displayName descending
    await page.waitForURL(/order=desc/);
    await expect.poll(() => page.locator("tbody tr").first().locator(`td[data-label="Name"]`).textContent()).toContain("Margaret Hamilton");
    // A date column starts with the newest.
    await page.getByRole("button", { name: /^Updated/ }).click();
    const sortedBy = (order: string) => (url: URL) => url.searchParams.get("sort") === "updatedAt" && url.searchParams.get("order") === order;
    await page.waitForURL(sortedBy("desc"));
    await page.getByRole("button", { name: /^Updated/ }).click();
    await page.waitForURL(sortedBy("asc"));
  });

  it("filters by tag, by source and by status, and searches", async () => {
    await page.getByLabel("Tag").selectOption("ID synced");
    await page.waitForURL(/tag=ID/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    await page.getByLabel("Tag").selectOption("");
    await page.getByLabel("Source").selectOption("type:import");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    await expect.poll(() => page.locator("tbody").textContent()).toContain("Alan Turing");
    await page.getByLabel("Source").selectOption("");
    await page.getByLabel("Status").selectOption("false");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await expect.poll(() => page.locator("tbody").textContent()).toContain("Front Desk");
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByLabel("Search").fill("grace");
    await page.waitForURL(/q=grace/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(7);

    // A group is found by name on the server; typed text applies on Enter once it names one.
    const groupField = page.getByLabel("Group", { exact: true });
    await groupField.fill("researc");
    await expect.poll(() => page.locator("#filter-group-names option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(["Research"]);
    await groupField.press("Enter");
    expect(new URL(page.url()).searchParams.get("group")).toBeNull();
    // A full name entered at once, before the names found for it have come, applies too.
    await groupField.fill("engineering");
    await groupField.press("Enter");
    await page.waitForURL(/group=Engineering/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    await page.getByRole("button", { name: "Remove group filter Engineering" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(7);
  });

  it("creates a user by hand and opens their page", async () => {
    // A dialog opens on its first field (not on ×, where a typed space would close it); Escape asks before it
    // discards what was typed, a second Escape closes it and gives the focus back to the button that opened it.
    const opener = page.getByRole("button", { name: "Add user" }).first();
    await opener.click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await page.keyboard.type("Barbara ");
    expect(await dialog.getByLabel("Display name").inputValue()).toBe("Barbara ");
    await page.keyboard.press("Escape");
    await dialog.getByRole("alertdialog", { name: "Discard your changes?" }).waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => opener.evaluate((button) => button === document.activeElement)).toBe(true);
    await opener.click();
    await dialog.getByLabel("Display name").fill("Barbara Liskov");
    await dialog.getByLabel("Email").fill("barbara@contoso.com");
    await dialog.getByLabel("Department").fill("Research");
    await dialog.getByLabel("Mobile phone").fill("(415) 555-0199");
    await dialog.getByLabel("Card numbers").fill("CARD-2000");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "Barbara Liskov", level: 1 }).waitFor();
    // The workspace's default country (US) turned the national number into E.164.
    await expect.poll(() => page.getByText("+14155550199").count()).toBe(1);
    await expect.poll(() => page.getByText("CARD-2000").count()).toBe(1);
  });

  it("shows the API's validation error under the field it belongs to", async () => {
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: /Edit Barbara Liskov/ });
    await dialog.getByLabel("Mobile phone").fill("12");
    await dialog.getByLabel("Job title").fill("Institute Professor");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    const phone = dialog.getByLabel("Mobile phone");
    await expect.poll(() => phone.getAttribute("aria-invalid")).toBe("true");
    const describedBy = (await phone.getAttribute("aria-describedby"))!;
    const message = await page.locator(`[id="${describedBy.split(" ")[0]}"]`).textContent();
    expect(message).toMatch(/phone|number/i);
    expect(await dialog.getByLabel("Job title").getAttribute("aria-invalid")).toBeNull();
    // An emptied display name is said in the API's words at its field, not as a type error.
    const displayName = dialog.getByLabel("Display name");
    await displayName.fill(" ");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    // Under its label the API's phrase reads as a sentence: with a capital (the API still says "display name is required").
    await expect.poll(() => dialog.locator(".field-error").first().textContent()).toBe("Display name is required");
    expect(await dialog.textContent()).not.toContain("expected string");
    await displayName.fill("Barbara Liskov");
    // Fix it and save: the dialog closes and the page shows the new values.
    await phone.fill("+44 20 7946 0018");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByText("Institute Professor").first().waitFor();
  });

  it("shows the user's history of changes", async () => {
    const history = page.locator(".history");
    await expect.poll(() => history.locator(".history-item").count()).toBe(2);
    const text = (await history.textContent()) ?? "";
    expect(text).toContain("Created");
    expect(text).toContain("Updated");
    expect(text).toContain("Institute Professor");
    expect(text).toContain("+442079460018");
  });

  it("pages through a long history, newest first", async () => {
    const userId = new URL(page.url()).pathname.split("/").at(-1)!;
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    await sql`
      insert into change_log (workspace_id, user_id, subject, actor, action, before, after)
      select ${workspace.id}, ${userId}, 'someone', 'test', 'update', jsonb_build_object('jobTitle', 'Title ' || i), jsonb_build_object('jobTitle', 'Title ' || (i + 1))
      from generate_series(1, 60) i order by i`.execute(server.rt.store.db);
    await page.reload();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 62");
    await expect.poll(() => page.locator(".history-item").first().textContent()).toContain("Title 61");
    await page.getByRole("button", { name: "Last page" }).click();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("51–62 of 62");
    await expect.poll(() => page.locator(".history-item").last().textContent()).toContain("Created");
  });

  it("refuses to save an edit made on values another admin changed meanwhile, and says so", async () => {
    const userId = new URL(page.url()).pathname.split("/").at(-1)!;
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: /Edit Barbara Liskov/ });
    await dialog.getByLabel("Department").fill("Theory");
    // Meanwhile another admin changes her, in another tab or with the API.
    const ctx = { db: server.rt.store.db, workspace: await resolveWorkspace(server.rt.store.db, "default"), actor: "another admin" };
    await updateUser(ctx, userId, { jobTitle: "Professor" });
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => dialog.textContent()).toContain("The user was changed since you read it");
    expect(await getUser(ctx, userId)).toMatchObject({ department: "Research", jobTitle: "Professor" });
    await page.keyboard.press("Escape");
    await dialog.getByRole("alertdialog", { name: "Discard your changes?" }).waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("opens a synced user with source, groups and cards, and keeps Entra-owned fields read-only", async () => {
    await page.getByRole("link", { name: "Users", exact: true }).first().click();
    await page.getByRole("link", { name: "Ada Lovelace" }).click();
    await page.getByRole("heading", { name: "Ada Lovelace", level: 1 }).waitFor();
    const source = await page.locator("section", { has: page.getByRole("heading", { name: "Source" }) }).textContent();
    expect(source).toContain("Entra ID: contoso");
    await expect.poll(() => page.getByRole("link", { name: "Engineering" }).count()).toBe(1);
    await expect.poll(() => page.getByText("CARD-1000").count()).toBe(1);
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.getByLabel("Email").getAttribute("readonly")).not.toBeNull();
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // Console access: read only until an admin says otherwise, then an admin of the workspace.
    const access = page.getByRole("combobox", { name: "Access" });
    await expect.poll(() => access.inputValue()).toBe("viewer");
    expect(await page.getByText("Has not signed in yet.").count()).toBe(1);
    const roleOnServer = () => page.evaluate(() => fetch("/api/v1/workspaces/default/users/ada@contoso.com/role").then((r) => r.json() as Promise<{ role: string | null }>).then((r) => r.role));
    // An arrow key in the select only asks; nothing changes until the admin confirms.
    await access.focus();
    await page.keyboard.press("ArrowDown");
    const confirm = page.getByRole("dialog", { name: "Make Ada Lovelace an admin of this workspace?" });
    await confirm.waitFor();
    expect(await roleOnServer()).toBeNull();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect(await access.inputValue()).toBe("viewer");
    expect(await roleOnServer()).toBeNull();
    await access.selectOption("admin");
    await confirm.getByRole("button", { name: "Make admin" }).click();
    await page.locator(".toast", { hasText: "Ada Lovelace is now an admin of this workspace" }).waitFor();
    expect(await roleOnServer()).toBe("admin");
    await expect.poll(() => page.getByText("Has not signed in yet.").count()).toBe(0);
    // The grant is in her history at once.
    await expect.poll(() => page.locator(".history-item").first().textContent()).toMatch(/^Grant access/);
    await access.selectOption("viewer");
    await page.getByRole("dialog", { name: "Make Ada Lovelace read only?" }).getByRole("button", { name: "Make read only" }).click();
    await page.locator(".toast", { hasText: "Ada Lovelace now has read-only access" }).waitFor();
    await expect.poll(() => page.locator(".history-item").first().textContent()).toMatch(/^Change access/);
  });

  it("lists groups with member counts and opens a group", async () => {
    await page.getByRole("link", { name: "Groups" }).first().click();
    await page.getByRole("heading", { name: "Groups", level: 1 }).waitFor();
    const row = page.locator("tbody tr", { hasText: "Engineering" });
    await expect.poll(() => row.locator("td.num").textContent()).toBe("3");
    await row.getByRole("link", { name: "Engineering" }).click();
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    await expect.poll(() => page.locator(".member-list li").count()).toBe(3);
    await page.goto(`${server.url}/w/default/groups?offset=100`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–2 of 2");
    expect(new URL(page.url()).searchParams.get("offset")).toBeNull();
  });

  it("creates a group and adds a member, with the API's error shown for an unknown member", async () => {
    await page.getByRole("link", { name: "Groups" }).first().click();
    await page.getByRole("button", { name: "New group" }).click();
    const dialog = page.getByRole("dialog", { name: "New group" });
    await page.keyboard.type("Front office"); // into the Name field, which has the focus
    expect(await dialog.getByLabel("Name").inputValue()).toBe("Front office");
    await dialog.getByRole("button", { name: "Create group" }).click();
    await page.getByRole("heading", { name: "Front office", level: 1 }).waitFor();
    await page.getByLabel("Add a member").fill("nobody@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.getByLabel("Add a member").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Add a member").fill("frontdesk@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator(".member-list li", { hasText: "frontdesk@contoso.com" }).waitFor();
    // The group's history follows, newest first, naming whom each entry is about.
    const history = page.locator("section", { has: page.getByRole("heading", { name: "History" }) }).locator(".history-item");
    await history.filter({ hasText: "Added to group Front office frontdesk@contoso.com" }).waitFor();
    expect(await history.allTextContents()).toEqual([expect.stringMatching(/^Added to group Front office frontdesk@contoso\.com · .* by /), expect.stringMatching(/^Create group Front office · /)]);
  });

  it("shows the workspace's activity newest first, filtered by kind of change", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Activity" }).click();
    await page.getByRole("heading", { name: "Activity", level: 1 }).waitFor();
    const items = page.locator(".history-item");
    await expect.poll(() => items.first().textContent()).toMatch(/^Added to group Front office frontdesk@contoso\.com · /);
    await page.getByLabel("Kind of change").selectOption("create group");
    await expect.poll(() => items.first().textContent()).toMatch(/^Create group Front office · /);
    expect((await items.allTextContents()).every((t) => t.startsWith("Create group"))).toBe(true);
    // The filters are in the address: a reload, or Back from another page, keeps them.
    await page.getByLabel("By").fill("seed");
    await page.getByLabel("By").press("Enter");
    await page.waitForURL(/actor=seed/);
    await expect.poll(() => items.first().textContent()).toMatch(/^Create group Research · .* by seed/);
    for (const leave of [() => page.reload(), () => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).click().then(() => page.goBack())]) {
      await leave();
      await expect.poll(() => items.first().textContent()).toMatch(/^Create group Research · .* by seed/);
      expect(await page.getByLabel("Kind of change").inputValue()).toBe("create group");
      expect(await page.getByLabel("By").inputValue()).toBe("seed");
      expect(await items.count()).toBe(2);
    }
  });

  it("acts on ticked users at once, and exports only the users the filters match", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
    const tick = async (...names: string[]) => {
      for (const name of names) await page.getByRole("checkbox", { name: `Select ${name}` }).check();
    };
    const toolbar = page.getByRole("group", { name: "Selected users" });
    const toast = (text: string) => page.locator(".toast", { hasText: text }).waitFor();

    await tick("Ada Lovelace", "Alan Turing");
    await expect.poll(() => toolbar.locator("strong").textContent()).toBe("2 users selected");
    await toolbar.getByRole("button", { name: "Add to group…" }).click();
    const groupDialog = page.getByRole("dialog", { name: "Add 2 users to a group" });
    // Suggestions are the server's, for the text typed (a workspace may hold thousands of groups).
    const suggestions = () => groupDialog.locator("datalist option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    await groupDialog.getByLabel("Group").fill("e");
    await expect.poll(suggestions).toEqual(["Engineering", "Front office", "Research"]);
    await groupDialog.getByLabel("Group").fill("fro");
    await expect.poll(suggestions).toEqual(["Front office"]);
    await groupDialog.getByLabel("Group").fill("");
    await groupDialog.getByRole("button", { name: "Add to group" }).click();
    await expect.poll(() => groupDialog.getByLabel("Group").getAttribute("aria-invalid")).toBe("true");
    expect(await groupDialog.locator(".field-error").textContent()).toBe("Enter a group name");
    expect(await groupDialog.locator(".banner-error").count()).toBe(0);
    await groupDialog.getByLabel("Group").fill("Front office");
    expect(await groupDialog.locator(".field-error").count()).toBe(0);
    await groupDialog.getByRole("button", { name: "Add to group" }).click();
    await toast("Added to \u2068Front office\u2069: 2 users");
    await expect.poll(() => toolbar.count()).toBe(0);

    await tick("Ada Lovelace", "Alan Turing");
    await toolbar.getByRole("button", { name: "Disable" }).click();
    const confirm = page.getByRole("dialog", { name: "Disable 2 users?" });
    await expect.poll(() => confirm.textContent()).toContain("1 user of these is synced from Entra ID: the next sync sets it back");
    await confirm.getByRole("button", { name: "Disable 2 users" }).click();
    await toast("Disabled 2 users");

    await page.getByLabel("Status").selectOption("false");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(3);
    // The Export menu closes like a menu: on Escape (the focus back on its button) and on a click outside it.
    const exportMenu = page.getByText("Export", { exact: true });
    await exportMenu.click();
    await page.getByRole("link", { name: "CSV" }).waitFor();
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("link", { name: "CSV" }).isVisible()).toBe(false);
    await expect.poll(() => exportMenu.evaluate((summary) => summary === document.activeElement)).toBe(true);
    await exportMenu.click();
    await page.getByRole("link", { name: "CSV" }).waitFor();
    await page.getByRole("heading", { name: "Users", level: 1 }).click();
    await expect.poll(() => page.getByRole("link", { name: "CSV" }).isVisible()).toBe(false);
    await exportMenu.click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "CSV" }).click()]);
    const exported = await readFile((await download.path())!, "utf8");
    expect(exported.trim().split("\r\n").slice(1).map((line) => line.split(",")[0])).toEqual(["ada@contoso.com", "alan@contoso.com", "frontdesk@contoso.com"]);
    await expect.poll(() => page.getByRole("link", { name: "CSV" }).isVisible()).toBe(false);

    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await page.getByRole("checkbox", { name: "Select Front Desk" }).uncheck();
    await toolbar.getByRole("button", { name: "Enable" }).click();
    await toast("Enabled 2 users");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await page.getByRole("button", { name: "Clear filters" }).click();
    const ada = await page.evaluate(() => fetch("/api/v1/workspaces/default/users/ada@contoso.com").then((r) => r.json()));
    expect(ada).toMatchObject({ enabled: true, groups: ["Engineering", "Front office"] });

    // More users match than a page shows: the whole page ticked offers every matching user.
    const ctx = { db: server.rt.store.db, workspace: await resolveWorkspace(server.rt.store.db, "default"), actor: "test" };
    for (let i = 0; i < 110; i++) await createUser(ctx, { email: `temp${i}@contoso.com`, displayName: `Temp ${i}` }, { type: "import", name: "temps.csv", id: null, externalId: null });
    await page.goto(`${server.url}/w/default/users?source=temps.csv`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 110");
    // The last page's users deleted, the page steps back to the page before instead of showing none of 100.
    await page.getByRole("button", { name: "Last page" }).click();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("101–110 of 110");
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Delete 10 users?" }).getByRole("button", { name: "Delete 10 users" }).click();
    await toast("Deleted 10 users");
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("51–100 of 100");
    expect(new URL(page.url()).searchParams.get("offset")).toBe("50");
    expect(await page.getByText("No users match these filters").count()).toBe(0);
    // While the next page loads, the pager and the check boxes are the shown page's: ticking now would select the
    // previous page's users, so the boxes wait for the rows.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(
      "**/api/v1/workspaces/default/users?*",
      async (route) => {
        await held;
        await route.continue();
      },
      { times: 1 },
    );
    await page.getByRole("button", { name: "First page" }).click();
    const tickPage = page.getByRole("checkbox", { name: "Select every user on this page" });
    await expect.poll(() => tickPage.isDisabled()).toBe(true);
    expect(await page.locator(".pager-count").textContent()).toBe("51–100 of 100");
    release();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 100");
    await tickPage.check();
    await toolbar.getByRole("button", { name: "Select all 100 matching users" }).click();
    await expect.poll(() => toolbar.locator("strong").textContent()).toBe("All 100 matching users selected");
    await toolbar.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Delete 100 users?" }).getByRole("button", { name: "Delete 100 users" }).click();
    await toast("Deleted 100 users");
    await page.getByText("No users match these filters").waitFor();
    const left = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?q=temp").then((r) => r.json() as Promise<{ total: number }>));
    expect(left.total).toBe(0);
    await page.getByRole("button", { name: "Clear filters" }).click();

    // Emails pasted into a group's member field are added together, or not at all.
    await page.goto(`${server.url}/w/default/groups/Front%20office`);
    const field = page.getByLabel("Add a member");
    await field.fill("grace@contoso.com, nobody@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.locator("#add-member-error").textContent()).toContain('No user "nobody@contoso.com"');
    await field.fill("grace@contoso.com; katherine@contoso.com ada@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await toast("Added to \u2068Front office\u2069: 2 users; 1 already a member");
    await page.locator(".member-list li", { hasText: "katherine@contoso.com" }).waitFor();
  });

  it("disables, enables and deletes every user a filter matches past 10,000, confirming with the count the server has then", async () => {
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const row = (i: number) => [workspace.id, `night${i}@contoso.com`, `Night ${String(i).padStart(5, "0")}`, "import", "night.csv"];
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "source_type", "source_name"], Array.from({ length: 10_050 }, (_, i) => row(i)));
    await page.goto(`${server.url}/w/default/users?source=night.csv`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 10,050");
    const toolbar = page.getByRole("group", { name: "Selected users" });
    const toast = (text: string) => page.locator(".toast", { hasText: text }).waitFor();
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 10,050 matching users" }).click();
    await expect.poll(() => toolbar.locator("strong").textContent()).toBe("All 10,050 matching users selected");

    // One more user matches by the time the admin is asked: the dialog counts what the server will change.
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "source_type", "source_name"], [row(10_050)]);
    await toolbar.getByRole("button", { name: "Disable" }).click();
    const disable = page.getByRole("dialog", { name: "Disable 10,051 users?" });
    await disable.getByRole("button", { name: "Disable 10,051 users" }).click();
    await toast("Disabled 10,051 users");
    await page.getByLabel("Status").selectOption("false");
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 10,051");

    // Enabling every matching user is asked first too (ticked users are enabled at once).
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 10,051 matching users" }).click();
    await toolbar.getByRole("button", { name: "Enable" }).click();
    await page.getByRole("dialog", { name: "Enable 10,051 users?" }).getByRole("button", { name: "Enable 10,051 users" }).click();
    await toast("Enabled 10,051 users");
    await page.getByText("No users match these filters").waitFor();

    await page.getByLabel("Status").selectOption("");
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 10,051");
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 10,051 matching users" }).click();
    await toolbar.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Delete 10,051 users?" }).getByRole("button", { name: "Delete 10,051 users" }).click();
    await toast("Deleted 10,051 users");
    await page.getByText("No users match these filters").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
  }, 60_000);

  it("creates an API token that is shown once, then revokes it", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    // A refused default country's message goes once the value is changed.
    const country = page.getByLabel("Default country");
    await country.fill("ZZ");
    await page.locator("section", { has: page.getByRole("heading", { name: "General" }) }).getByRole("button", { name: "Save" }).click();
    await expect.poll(() => country.getAttribute("aria-invalid")).toBe("true");
    await country.fill("US");
    expect(await country.getAttribute("aria-invalid")).toBeNull();
    expect(await page.locator("section", { has: page.getByRole("heading", { name: "General" }) }).locator(".field-error, .banner-error").count()).toBe(0);
    await page.getByRole("button", { name: "Create token" }).click();
    const dialog = page.getByRole("dialog", { name: "Create API token" });
    await page.keyboard.type("HR export job");
    expect(await dialog.getByLabel("Name").inputValue()).toBe("HR export job");
    expect(await dialog.getByLabel("Expires").inputValue()).toBe("90");
    await dialog.getByLabel("Expires").selectOption({ label: "In 30 days" });
    await dialog.getByRole("button", { name: "Create token" }).click();
    const token = await page.getByLabel("New API token").inputValue();
    expect(token).toMatch(/^rc_/);
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.locator("tbody tr", { hasText: "HR export job" });
    const in30Days = new Date(Date.now() + 30 * 86_400_000);
    expect(await row.locator("td[data-label='Expires']").textContent()).not.toBe("never");
    const tokens = await page.evaluate(() => fetch("/api/v1/workspaces/default/tokens").then((r) => r.json() as Promise<{ items: { name: string; expiresAt: string | null }[] }>));
    expect(Math.abs(Date.parse(tokens.items.find((t) => t.name === "HR export job")!.expiresAt!) - in30Days.getTime())).toBeLessThan(3_600_000);
    await page.getByRole("button", { name: "Revoke token HR export job" }).click();
    await page.getByRole("dialog", { name: /Revoke/ }).getByRole("button", { name: "Revoke token" }).click();
    await page.getByText(/^Revoked/).waitFor();
  });

  it("adds a read-only admin for the workspace, shows the password once, and lists them with their role", async () => {
    const longEmail = "amelia.patel10@northwindtraders.onmicrosoft.com";
    await createAccount(server.rt.store.db, { email: longEmail, displayName: "Amelia Patel", workspace: await resolveWorkspace(server.rt.store.db, "default"), role: "admin" }, "test");
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Add admin" }).click();
    const dialog = page.getByRole("dialog", { name: "Add admin" });
    await dialog.getByLabel("Email").fill("auditor@contoso.com");
    await dialog.getByLabel("Display name").fill("Audit Desk");
    await dialog.getByLabel("Access").selectOption("viewer");
    await dialog.getByRole("button", { name: "Add admin" }).click();
    const password = await page.getByLabel("Generated password").inputValue();
    expect(password.length).toBeGreaterThanOrEqual(12);
    await page.getByRole("button", { name: "Done" }).click();
    const row = page.locator("tr", { hasText: "auditor@contoso.com" });
    await row.waitFor();
    expect(await row.textContent()).toContain("Audit Desk");
    expect(await row.getByLabel("Role of auditor@contoso.com").inputValue()).toBe("viewer");
    // The same email again is refused at the field.
    await page.getByRole("button", { name: "Add admin" }).click();
    await dialog.getByLabel("Email").fill("auditor@contoso.com");
    await dialog.getByRole("button", { name: "Add admin" }).click();
    await expect.poll(() => dialog.getByLabel("Email").getAttribute("aria-invalid")).toBe("true");
    await dialog.getByRole("button", { name: "Cancel" }).click();

    // A role changes only once the owner confirms it: "No access" first asks.
    const role = row.getByLabel("Role of auditor@contoso.com");
    await role.selectOption("");
    const revoke = page.getByRole("dialog", { name: "Remove auditor@contoso.com's access to default?" });
    await revoke.getByRole("button", { name: "Cancel" }).click();
    expect(await role.inputValue()).toBe("viewer");
    const grants = await page.evaluate(() => fetch("/api/v1/accounts").then((r) => r.json() as Promise<{ items: { email: string; workspaces: { role: string }[] }[] }>));
    expect(grants.items.find((a) => a.email === "auditor@contoso.com")?.workspaces).toMatchObject([{ role: "viewer" }]);

    // The table fits its card, long emails and all, with every row's buttons in view; and at phone width too.
    const admins = page.locator("section", { has: page.getByRole("heading", { name: "Admins" }) });
    expect(await overflow(admins.locator(".table-wrap, td"))).toBe(0);
    const card = (await admins.boundingBox())!;
    const reset = (await page.getByRole("button", { name: `Reset password of ${longEmail}` }).boundingBox())!;
    expect(reset.x + reset.width).toBeLessThanOrEqual(card.x + card.width);
    await page.setViewportSize(phone);
    expect(await overflow(page.locator("html").or(admins.locator(".table-wrap, td")))).toBe(0);
    const select = (await page.getByLabel(`Role of ${longEmail}`).boundingBox())!;
    const phoneCard = (await admins.boundingBox())!;
    expect(select.x + select.width).toBeLessThanOrEqual(phoneCard.x + phoneCard.width);
    await page.setViewportSize(desktop);

    // Who gave the access is in the workspace's activity.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Activity" }).click();
    await page.getByLabel("Kind of change").selectOption("grant access");
    await expect.poll(() => page.locator(".history-item").first().textContent()).toMatch(/^Grant access auditor@contoso\.com · .* by admin@rollcall\.test.*Role.*viewer/);
    const download = await page.getByRole("link", { name: "Download CSV" }).getAttribute("href");
    expect(download).toBe("/api/v1/workspaces/default/activity.csv?action=grant+access");
    const csv = await page.evaluate((href) => fetch(href).then((r) => r.text()), download!);
    expect(csv).toContain(',admin@rollcall.test,Grant access,auditor@contoso.com,"Role: (empty) → viewer; Signs in with: (empty) → password",,');
    // Every change, 50 at a time: the bulk test's 60 deletions and 60 creations reach past the first page.
    await page.getByLabel("Kind of change").selectOption("");
    await expect.poll(() => page.locator(".history-item").count()).toBe(50);
    await page.getByRole("button", { name: "Show older changes" }).click();
    await expect.poll(() => page.locator(".history-item").count()).toBe(100);
    const shown = await page.locator(".history-item").allTextContents();
    expect(new Set(shown).size).toBeGreaterThan(90); // no page repeated
    expect(shown.slice(0, 3).join(" ")).toContain("Grant access auditor@contoso.com");
  });

  it("imports a CSV: preview with the bad row's problem, then the valid rows on confirmation", async () => {
    await page.getByRole("link", { name: "Import & export" }).click();
    const csv = ["Email,Display name,Department,Mobile phone", "linus@contoso.com,Linus Torvalds,Kernel,+1 415 555 0150 x12", "not-an-email,Broken Row,Kernel,", "ken@contoso.com,Ken Thompson,Unix,"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "new-hires.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByText(`new-hires.csv · ${Buffer.byteLength(csv)} bytes`).waitFor(); // not "0 KB"
    await page.getByRole("button", { name: "Check file" }).click();
    const problems = page.locator(".row-error");
    await expect.poll(() => problems.count()).toBeGreaterThan(0);
    expect(await problems.first().textContent()).toContain("not-an-email");
    // The extension a phone number cannot keep is a warning on its row, not a problem.
    await page.getByRole("heading", { name: "Warnings" }).waitFor();
    expect(await page.locator('td[data-label="Warning"]').allTextContents()).toEqual([expect.stringContaining("has the extension 12")]);
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    expect(await importButton.isDisabled()).toBe(true);
    await page.getByLabel("Import the valid rows even if some rows have problems").check(); // checked again at once
    await expect.poll(() => importButton.isEnabled()).toBe(true);
    expect(await importButton.textContent()).toBe("Import: create 2, update 0");
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    await page.getByRole("link", { name: "See the imported users" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    await expect.poll(() => page.locator("tbody").textContent()).toContain("Ken Thompson");
  });

  it("imports a file whose headings it does not know once the admin says which column holds what", async () => {
    await page.getByRole("link", { name: "Import & export" }).click();
    const csv = ["Mél professionnel,Nom affiché,Kostenstelle,Bureau", "frances@contoso.com,Frances Allen,4711,B12", "john@contoso.com,John Backus,4712,B14"].join("\n");
    await page.locator("#import-file").setInputFiles({ name: "personnel.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByRole("heading", { name: "Columns" }).waitFor();
    expect(await page.locator(".banner-error").textContent()).toContain('Not recognised: "Mél professionnel", "Kostenstelle", "Bureau".');
    expect(await page.getByLabel("Imported as, column Nom affiché").inputValue()).toBe("displayName");
    await page.getByLabel("Imported as, column Mél professionnel").selectOption({ label: "Email" });
    await page.getByLabel("Imported as, column Kostenstelle").selectOption({ label: "Custom attribute “kostenstelle”" });
    await page.getByRole("button", { name: "Check again with these columns" }).click();
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    await expect.poll(() => importButton.textContent()).toBe("Import: create 2, update 0");
    const report = page.locator("section", { has: page.getByRole("heading", { name: "What this import will do" }) });
    expect(await report.textContent()).toContain("Mél professionnel → Email");
    expect(await report.textContent()).toContain("not imported: Bureau");
    // Still changeable after the preview: a changed column asks for another check before anything is imported.
    await page.getByText("Columns: change which field a column fills").click();
    await page.getByLabel("Imported as, column Bureau").selectOption({ label: "Department" });
    expect(await importButton.isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Check again with these options" }).click();
    await expect.poll(() => report.textContent()).toContain("Bureau → Department");
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?source=personnel.csv").then((r) => r.json() as Promise<{ items: { email: string; department: string; customAttributes: Record<string, string> }[] }>));
    expect(users.items.map((u) => [u.email, u.department, u.customAttributes])).toEqual([["frances@contoso.com", "B12", { kostenstelle: "4711" }], ["john@contoso.com", "B14", { kostenstelle: "4712" }]]);
  });

  it("imports an Excel file through preview and confirmation", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("New hires");
    sheet.addRow(["Email", "Display name", "Department", "Mobile phone", "Card number"]);
    sheet.addRow(["hedy@contoso.com", "Hedy Lamarr", "Research", "+1 415 555 0160", "C-90"]);
    sheet.addRow(["claude@contoso.com", "Claude Shannon", "Research", "(415) 555-0161", "C-91"]);
    const buffer = Buffer.from(await workbook.xlsx.writeBuffer());

    await page.getByRole("link", { name: "Import & export" }).click();
    await page.locator("#import-file").setInputFiles({ name: "research.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer });
    await page.getByText("research.xlsx").first().waitFor();
    await page.getByRole("button", { name: "Check file" }).click();
    await page.getByRole("heading", { name: "What this import will do" }).waitFor();
    const report = page.locator("section", { has: page.getByRole("heading", { name: "What this import will do" }) });
    expect(await report.textContent()).toContain("XLSX");
    expect(await report.textContent()).toContain("sheet New hires");
    expect(await page.locator(".row-error").count()).toBe(0);
    // Nothing is written before the confirmation.
    const before = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?q=hedy").then((r) => r.json() as Promise<{ total: number }>));
    expect(before.total).toBe(0);
    const importButton = page.getByRole("button", { name: /^Import: create/ });
    expect(await importButton.textContent()).toBe("Import: create 2, update 0");
    await importButton.click();
    await page.getByText("Import finished.").waitFor();
    await page.getByRole("link", { name: "See the imported users" }).click();
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    await page.getByRole("link", { name: "Claude Shannon" }).click();
    await page.getByRole("heading", { name: "Claude Shannon", level: 1 }).waitFor();
    // The workspace's default country read the national number.
    await expect.poll(() => page.getByText("+14155550161").count()).toBe(1);
  });

  it("shows where a running import is: the commit's phase and its progress", async () => {
    // 300 PINs (about 17 ms of scrypt each) keep the commit going long enough for the page to poll it part-way.
    const csv = ["Email,Display name,PIN", ...Array.from({ length: 300 }, (_, i) => `badge${i}@contoso.com,Badge Holder ${i},${4000 + i}`)].join("\n");
    await page.getByRole("link", { name: "Import & export" }).click();
    await page.locator("#import-file").setInputFiles({ name: "badges.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.getByRole("button", { name: "Check file" }).click();
    const importButton = page.getByRole("button", { name: "Import: create 300, update 0" });
    await importButton.waitFor();
    await importButton.click();
    const hashing = page.getByRole("progressbar", { name: "Importing: hashing PINs (300 rows)" });
    await hashing.waitFor();
    expect(Number(await hashing.getAttribute("aria-valuenow"))).toBeLessThan(100);
    // Hashing is CPU-bound: on a loaded 2-core machine the commit can take far longer than Playwright's 30 s default.
    await page.getByText("Import finished.").waitFor({ timeout: 110_000 });
  }, 120_000);

  it("sets who gets notifications: field errors for a bad e-mail and URL, the webhook secret shown once and then only as set", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Notifications", level: 2 }) });
    await section.getByTestId("webhook-secret").getByText("Not set").waitFor();
    const emails = section.getByLabel("E-mail recipients");
    const url = section.getByLabel("Webhook URL");
    const save = section.getByRole("button", { name: "Save notification settings" });

    await emails.fill("it-ops@contoso.com\nnot-an-email");
    await save.click();
    await expect.poll(() => emails.getAttribute("aria-invalid")).toBe("true");
    expect(await section.locator(".field-error").textContent()).toContain("not-an-email");

    await emails.fill("it-ops@contoso.com, security@contoso.com");
    await url.fill("ftp://hooks.contoso.com/rollcall");
    await save.click();
    await expect.poll(() => url.getAttribute("aria-invalid")).toBe("true");
    expect(await emails.getAttribute("aria-invalid")).toBeNull();
    expect(await section.locator(".field-error").textContent()).toContain("https://");
    // A refused save changed nothing.
    const unchanged = await page.evaluate(() => fetch("/api/v1/workspaces/default/notification-settings").then((r) => r.json() as Promise<{ emailTo: string[] }>));
    expect(unchanged.emailTo).toEqual([]);

    await url.fill("https://hooks.contoso.com/rollcall");
    await save.click();
    const secret = await page.getByRole("textbox", { name: "Webhook signing secret" }).inputValue();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole("button", { name: "Done" }).click();
    await section.getByTestId("webhook-secret").getByText("Set", { exact: true }).waitFor();

    await page.reload();
    await section.getByTestId("webhook-secret").getByText("Set", { exact: true }).waitFor();
    expect(await emails.inputValue()).toBe("it-ops@contoso.com\nsecurity@contoso.com");
    expect(await url.inputValue()).toBe("https://hooks.contoso.com/rollcall");
    expect(await page.content()).not.toContain(secret);
    const saved = await page.evaluate(() => fetch("/api/v1/workspaces/default/notification-settings").then((r) => r.text()));
    expect(saved).not.toContain(secret);
    expect(JSON.parse(saved)).toMatchObject({ emailTo: ["it-ops@contoso.com", "security@contoso.com"], webhookUrl: "https://hooks.contoso.com/rollcall", webhookSecretSet: true });
    await section.getByText("Nothing sent yet.").waitFor();

    // A new secret on request, after a warning; shown once, then only as set again.
    await section.getByRole("button", { name: "Make a new secret" }).click();
    await page.getByRole("dialog", { name: "Make a new webhook signing secret?" }).getByRole("button", { name: "Make a new secret" }).click();
    const rotated = await page.getByRole("textbox", { name: "Webhook signing secret" }).inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    await page.getByRole("button", { name: "Done" }).click();
    await section.getByTestId("webhook-secret").getByText("Set", { exact: true }).waitFor();
    expect(await page.content()).not.toContain(rotated);
  });

  it("lists a group's members in its card at any width, and links a nested group to its page", async () => {
    const ctx = { db: server.rt.store.db, workspace: await resolveWorkspace(server.rt.store.db, "default"), actor: "test" };
    const long = "maximilian.oberhausenwinterfeldt@northwindtraders.onmicrosoft.com";
    await createUser(ctx, { email: long, displayName: "Maximilian Oberhausen-Winterfeld" });
    await createGroup(ctx, { name: "Night shift" });
    for (const member of [long, "Research"]) await addMember(ctx, "Night shift", member);
    await page.goto(`${server.url}/w/default/groups/Night%20shift`);
    const list = page.locator(".member-list");
    for (const viewport of [desktop, phone]) {
      await page.setViewportSize(viewport);
      const remove = (await page.getByRole("button", { name: `Remove ${long} from Night shift` }).boundingBox())!;
      const inside = (await list.boundingBox())!;
      expect(remove.x + remove.width, `${viewport.width} px`).toBeLessThanOrEqual(inside.x + inside.width);
      expect(await overflow(list), `${viewport.width} px`).toBe(0);
    }
    await page.setViewportSize(desktop);
    await list.getByRole("link", { name: "Research" }).click();
    await page.getByRole("heading", { name: "Research", level: 1 }).waitFor();
  });

  it("says a user or run that does not exist was not found, with a way back and no Try again", async () => {
    const missing = "00000000-0000-4000-8000-00000000dead";
    await page.goto(`${server.url}/w/default/users/${missing}`);
    await page.getByRole("alert").filter({ hasText: "The user could not be loaded." }).waitFor();
    expect(await page.getByRole("button", { name: "Try again" }).count()).toBe(0);
    await page.goto(`${server.url}/w/default/runs/${missing}`);
    await page.getByRole("alert").filter({ hasText: "The run could not be loaded." }).waitFor();
    expect(await page.getByRole("button", { name: "Try again" }).count()).toBe(0);
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("heading", { name: "User synchronization", level: 1 }).waitFor();
  });

  it("fits a phone's width with long emails in histories, and a tablet's with every Users column in view", async () => {
    const long = "maximilian.oberhausenwinterfeldt@northwindtraders.onmicrosoft.com"; // the member above
    const user = await page.evaluate((email) => fetch(`/api/v1/workspaces/default/users/${email}`).then((r) => r.json() as Promise<{ id: string }>), long);
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    await sql`insert into change_log (workspace_id, user_id, subject, actor, action, before, after)
      values (${workspace.id}, ${user.id}, ${long}, 'test', 'update', jsonb_build_object('aliases', jsonb_build_array(${`old.${long}`}::text)), jsonb_build_object('aliases', jsonb_build_array(${long}::text)))`.execute(server.rt.store.db);
    await page.setViewportSize(phone);
    for (const path of [`/users/${user.id}`, "/groups/Night%20shift", "/activity"]) {
      await page.goto(`${server.url}/w/default${path}`);
      await page.locator(".history-item", { hasText: long }).first().waitFor();
      expect(await overflow(page.locator("html")), path).toBe(0);
    }
    // The Users table's rows, stacked as cards, keep their content in them: the row's checkbox too.
    await page.goto(`${server.url}/w/default/users`);
    const tick = page.getByRole("checkbox", { name: "Select Ada Lovelace" });
    await tick.waitFor();
    expect(await overflow(page.locator("html").or(page.locator("tbody td")))).toBe(0);
    expect((await tick.boundingBox())!.width).toBeGreaterThan(10);
    // Beside the sidebar, below 1280 px: the email under the name, the status among the tags, nothing scrolled away.
    for (const width of [800, 1100, 1200]) {
      await page.setViewportSize({ width, height: 800 });
      await page.goto(`${server.url}/w/default/users`);
      const ada = page.locator("tbody tr", { has: page.getByRole("link", { name: "Ada Lovelace" }) });
      await ada.waitFor();
      expect(await overflow(page.locator(".table-wrap")), `${width} px`).toBe(0);
      for (const shown of [ada.getByText("ada@contoso.com"), ada.getByText("Enabled"), page.getByRole("columnheader", { name: "Updated" })]) expect(await shown.filter({ visible: true }).count(), `${width} px: ${shown}`).toBe(1);
    }
    await page.setViewportSize(desktop);
  });

  it("creates a workspace from the switcher, and opens on the workspace used last", async () => {
    await page.getByLabel("Workspace", { exact: true }).selectOption("__new");
    const dialog = page.getByRole("dialog", { name: "New workspace" });
    await page.keyboard.type("zeta");
    expect(await dialog.getByLabel("Name").inputValue()).toBe("zeta");
    await dialog.getByLabel("Default country").fill("de");
    await dialog.getByRole("button", { name: "Create workspace" }).click();
    await page.waitForURL(/\/w\/zeta\/users$/);
    await page.getByText("No users yet").waitFor();

    // "zeta" sorts after "default": without the remembered workspace, / would open "default".
    await page.goto(`${server.url}/`);
    await page.waitForURL(/\/w\/zeta\/users$/);
    expect(await page.getByLabel("Workspace", { exact: true }).inputValue()).toBe("zeta");

    await page.getByLabel("Workspace", { exact: true }).selectOption("default");
    await page.waitForURL(/\/w\/default\/users$/);
    await page.goto(`${server.url}/`);
    await page.waitForURL(/\/w\/default\/users$/);
    await page.getByRole("link", { name: "Ada Lovelace" }).waitFor();
  });

  it("works at phone size through the menu, and signs out", async () => {
    await page.goto(`${server.url}/w/default/users`);
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(await page.getByLabel("Sort by").isVisible()).toBe(false);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    await expect.poll(() => page.getByRole("link", { name: "Ada Lovelace" }).isVisible()).toBe(true);
    // No table headings at this width: the order is chosen with Sort by, which the desktop does not show.
    const names = () => page.locator("tbody tr td[data-label='Name'] a").allTextContents();
    const atoZ = await names();
    await page.getByLabel("Sort by").selectOption("displayName:desc");
    await page.waitForURL(/sort=displayName&order=desc/);
    await expect.poll(async () => (await names())[0]).not.toBe(atoZ[0]);
    const ztoA = await names();
    expect(ztoA).toEqual([...ztoA].sort((a, b) => b.localeCompare(a)));
    await page.getByLabel("Sort by").selectOption("displayName:asc");
    await expect.poll(names).toEqual(atoZ);
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to the console" }).waitFor();
    await page.setViewportSize(desktop);
    // The session is gone on the server too: the API refuses the old cookie.
    const status = await page.evaluate(() => fetch("/api/v1/auth/me").then((r) => r.status));
    expect(status).toBe(401);
  });
});
