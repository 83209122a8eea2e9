import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { allChanges } from "../../src/core/change-log.ts";
import { removeSource } from "../../src/core/source-removal.ts";
import { admin, desktop, hasChromium, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { addEmulatorSource } from "./signed-in.ts";

/**
 * User synchronization through the console, end to end: the real server syncs from the Entra emulator
 * over HTTPS while the browser adds the source, connects, previews, syncs, and reviews a run that the
 * deletion threshold stopped.
 */
describe.skipIf(!hasChromium)("web console: user synchronization", () => {
  let emulator: RunningEmulator;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 40, groups: 5, seed: 11 });
    server = await startConsoleServer();
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });

  afterEach(async (context) => {
    await screenshotIfFailed(page, context.task);
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await emulator?.close();
  });

  it("adds an Entra ID source with the form and connects with every check passing", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("heading", { name: "No Entra ID source yet" }).waitFor();
    await page.getByRole("button", { name: "Add Entra ID source" }).first().click();
    const form = page.getByRole("dialog", { name: "Add Entra ID source" });
    // Sent empty, the form marks every field it needs and puts the focus on the first.
    await form.getByRole("button", { name: "Add source" }).click();
    const invalid = form.locator("[aria-invalid='true']");
    await expect.poll(() => invalid.evaluateAll((fields) => fields.map((f) => f.getAttribute("name")))).toEqual(["name", "tenantId", "clientId", "clientSecret"]);
    await expect.poll(() => form.getByRole("textbox", { name: "Name", exact: true }).evaluate((field) => field === document.activeElement)).toBe(true);
    await form.getByRole("textbox", { name: "Name", exact: true }).fill("contoso");
    await form.getByLabel("Directory (tenant) ID").fill(emulator.tenantId);
    await form.getByLabel("Application (client) ID").fill(emulator.clientId);
    await form.getByRole("button", { name: /Show cloud, endpoints/ }).click();
    await form.getByLabel("Login URL").fill(emulator.loginUrl);
    await form.getByLabel("Graph URL").fill(emulator.graphUrl);
    // A new source syncs on its own once a day unless told otherwise.
    expect(await form.getByLabel("Sync automatically").inputValue()).toBe("every");
    expect(await form.getByLabel("Every (hours)").inputValue()).toBe("24");
    await form.getByLabel("Use for Sign in with Microsoft").check();
    // Without a secret the form says so at the field, before anything is sent.
    await form.getByRole("button", { name: "Add source" }).click();
    await expect.poll(() => form.getByLabel("Client secret").getAttribute("aria-invalid")).toBe("true");
    await form.getByLabel("Client secret").fill(emulator.clientSecret);
    // A cron expression the server cannot schedule is refused at its field, saying why.
    await form.getByLabel("Sync automatically").selectOption("cron");
    await form.getByLabel("Cron expression").fill("every tuesday");
    await form.getByRole("button", { name: "Add source" }).click();
    await expect.poll(() => form.getByLabel("Cron expression").getAttribute("aria-invalid")).toBe("true");
    await form.getByText(/must be a cron expression of five fields/).waitFor();
    // Its hours are in a time zone, the admin's own unless they pick another (a date that never comes in this test: 1 January).
    const browserZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(await form.getByLabel("Time zone").inputValue()).toBe(browserZone === "Asia/Calcutta" ? "Asia/Kolkata" : browserZone);
    await form.getByLabel("Cron expression").fill("0 0 1 1 *");
    await form.getByLabel("Time zone").selectOption("Asia/Kolkata");
    await form.getByRole("button", { name: "Add source" }).click();
    await page.getByRole("heading", { name: "contoso", level: 1 }).waitFor();
    await page.getByText("cron 0 0 1 1 * (Asia/Kolkata)").waitFor();
    // "Source saved" stands until the source is connected; the address does not keep it for a reload.
    await page.getByText("Source saved. Click Connect").waitFor();
    await expect.poll(() => page.url()).not.toContain("connect=");
    await expect.poll(() => page.getByText("Secret set").count()).toBeGreaterThan(0);
    await page.getByText("Used for sign-in").waitFor();
    // The emulator's endpoints replace the cloud's, and say so; the page does not link to itself.
    expect(await page.locator(".prop", { hasText: "Cloud" }).locator("dd").textContent()).toMatch(/^Custom endpoints: login https:\/\/\S+, Graph https:\/\/\S+$/);
    expect(await page.getByRole("main").getByRole("link", { name: "contoso" }).count()).toBe(0);

    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Connected. Everything the source needs is in place.").waitFor({ timeout: 30_000 });
    expect(await page.getByText("Source saved. Click Connect").count()).toBe(0);
    const checks = page.locator(".check-result .check");
    expect(await checks.count()).toBeGreaterThan(1);
    expect(await page.locator(".check-result .check-bad").count()).toBe(0);
  });

  it("previews the changes without applying them", async () => {
    await page.getByRole("button", { name: "Preview changes" }).click();
    await page.getByText("Preview ready: nothing was changed.").waitFor({ timeout: 60_000 });
    // The source's last run is the preview, and says so rather than "Succeeded".
    await expect.poll(() => page.locator(".stat", { hasText: "Last run" }).locator(".badge").textContent()).toBe("Preview ready");
    await page.getByRole("link", { name: "See the changes it would make" }).click();
    await page.getByRole("heading", { name: "Preview of contoso", level: 1 }).waitFor();
    await page.locator(".history-item").first().waitFor();
    expect(await page.locator("#counts-h").textContent()).toBe("Would change");
    expect(await page.locator("#counts-h + .counts").textContent()).toMatch(/\d+ created/);
    // A user the run would create names the groups it would join.
    expect(await page.locator(".history-item.action-create .history-groups").first().textContent()).toMatch(/^Groups: \S/);
    // Nothing reached the directory.
    const users = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?sourceType=entra").then((r) => r.json() as Promise<{ total: number }>));
    expect(users.total).toBe(0);
  });

  it("syncs now with progress, then shows the synced users and the run's change log", async () => {
    await page.getByRole("link", { name: "contoso" }).first().click();
    await page.getByRole("button", { name: "Sync now" }).click();
    await page.getByText("Sync finished.").waitFor({ timeout: 60_000 });
    const synced = await page.evaluate(() => fetch("/api/v1/workspaces/default/users?tag=ID%20synced&limit=1").then((r) => r.json() as Promise<{ total: number }>));
    expect(synced.total).toBeGreaterThan(20);
    await expect.poll(async () => (await page.locator(".stat", { hasText: "Synced users" }).textContent()) ?? "").toContain(String(synced.total));
    await expect.poll(() => page.locator("#runs-h ~ .table-wrap tbody tr").count()).toBe(2);
    await page.locator("#runs-h ~ .table-wrap tbody tr").first().getByRole("link").first().click();
    await expect.poll(() => page.locator("dt", { hasText: "Started by" }).locator("+ dd").textContent()).toBe(`${admin.email} (console or API)`);

    await page.getByRole("link", { name: "Users", exact: true }).click();
    await page.getByLabel("Tag").selectOption("ID synced");
    await expect.poll(async () => page.locator(".pager-count").textContent()).toContain(`of ${synced.total}`);

    // A second run finds nothing new about users: it says so, not only what it found about groups.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Sync now" }).click();
    const outcome = page.locator(".banner", { hasText: "Sync finished." });
    await outcome.waitFor({ timeout: 60_000 });
    expect(await outcome.textContent()).toMatch(/^Sync finished\. No user changed · \d+ groups unchanged/);
  });

  it("shows a synced group's members read-only, even to an admin: they change in Entra ID", async () => {
    const groups = await page.evaluate(() => fetch("/api/v1/workspaces/default/groups?limit=100").then((r) => r.json() as Promise<{ items: { name: string; memberCount: number; source: { type: string } }[] }>));
    const group = groups.items.find((g) => g.source.type === "entra" && g.memberCount > 0)!;
    expect(group).toBeDefined();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).click();
    await page.getByRole("link", { name: group.name, exact: true }).click();
    await page.getByRole("heading", { name: group.name, level: 1 }).waitFor();
    await page.getByText("This group is synced from Entra ID").waitFor();
    await expect.poll(() => page.locator(".member-list li").count()).toBe(group.memberCount);
    expect(await page.locator("h1 + p .badge").textContent()).toBe("Entra ID: contoso");
    const main = page.getByRole("main");
    for (const name of ["Edit", "Delete", /^Remove /]) expect(await main.getByRole("button", { name, exact: typeof name === "string" }).count(), String(name)).toBe(0);
    expect(await main.getByLabel("Add a member").count()).toBe(0);
  });

  it("stops a run over the deletion threshold, shows it for review, and applies it on approval", async () => {
    const tenant = emulator.tenants.get(emulator.tenantId);
    const members = tenant.listUsers().filter((u) => u.userType !== "Guest");
    const leaving = members.slice(0, Math.ceil(members.length * 0.6));
    for (const user of leaving) tenant.deleteUser(user.id);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("button", { name: "Sync now" }).click();
    await page.getByText("Stopped for review.").waitFor({ timeout: 60_000 });
    expect(await page.getByRole("link", { name: "Review and apply or reject" }).count()).toBe(1);
    // A preview after it does not hide it: the source's card still points at the run waiting for review.
    await page.getByRole("button", { name: "Preview changes" }).click();
    await page.getByText("Preview ready: nothing was changed.").waitFor({ timeout: 60_000 });
    // The preview says, in words, that Sync now would stop for review; its counts are only changes.
    const preview = (await page.locator(".run-tracker .banner").filter({ hasText: "Preview ready" }).textContent()) ?? "";
    expect(preview).toMatch(/A real sync would stop at the deletion threshold: it would disable or delete \d+ users of the \d+ users the source holds\. Sync now will stop for your review/);
    expect(preview).not.toMatch(/held before|would stop at threshold/);
    await page.getByRole("link", { name: "A stopped run needs review" }).click();
    await page.getByRole("heading", { name: "This run needs your review" }).waitFor();
    // Its message says how to apply it here, not with the CLI's --force.
    expect(await page.locator(".review").textContent()).toContain("if the removals are expected, apply it with Apply these changes on the run's page.");
    // The review lists the planned changes (none applied yet), the removals among them.
    await page.locator(".history-item").first().waitFor();
    expect(await page.locator("#counts-h").textContent()).toBe("Would change");
    await page.getByLabel("Show").selectOption("disable");
    await expect.poll(() => page.locator(".history-item").count()).toBe(leaving.filter((u) => u.accountEnabled).length);
    // Each says why, in words, rather than as a field called "reason".
    // (soft-deleted in Entra ID: restorable, and the note says so)
    expect(await page.locator(".history-item .history-note").first().textContent()).toMatch(/^deleted in Entra ID, restorable/);
    expect(await page.locator(".history-item").first().textContent()).not.toMatch(/Reason/);
    await page.getByLabel("Show").selectOption("");
    await page.getByRole("button", { name: "Apply these changes" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Apply changes" }).click();
    await expect.poll(async () => (await page.locator("h1 + p .badge").textContent()) ?? "", { timeout: 60_000 }).toMatch(/Succeeded/);
    expect(await page.locator("#counts-h + .counts").textContent()).toMatch(/\d+ disabled/);
    await page.locator(".history-item").first().waitFor();
  });

  it("rejects a run stopped at the deletion threshold: nothing changes and the run says so", async () => {
    // A tighter safety stop, set with the form, so the few users left can trip it.
    await page.getByRole("link", { name: "contoso" }).first().click();
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    // An emptied number is not read as 0 (a safety stop that stops every removal): it is refused at its field.
    const count = form.getByLabel("…and more than this many users");
    await count.fill("");
    await form.getByRole("button", { name: "Save source" }).click();
    await expect.poll(() => count.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator(`[id="${(await count.getAttribute("aria-describedby"))!.split(" ")[0]}"]`).textContent()).toMatch(/^Enter a number of users/);
    await expect.poll(() => count.evaluate((field) => field === document.activeElement)).toBe(true);
    expect(await form.getByLabel("Stop if more than this % would be removed").getAttribute("aria-invalid")).toBeNull();
    await count.fill("2");
    await form.getByRole("button", { name: "Save source" }).click();
    await form.waitFor({ state: "hidden" });
    await page.getByText("More than 10% and more than 2 users removed").waitFor();

    const enabledBefore = await enabledSyncedUsers();
    const tenant = emulator.tenants.get(emulator.tenantId);
    const left = tenant.listUsers().filter((u) => u.userType !== "Guest");
    for (const user of left.slice(0, Math.ceil(left.length / 2))) tenant.deleteUser(user.id);
    await page.getByRole("button", { name: "Sync now" }).click();
    await page.getByText("Stopped for review.").waitFor({ timeout: 60_000 });
    await page.getByRole("link", { name: "Review and apply or reject" }).click();
    await page.getByRole("heading", { name: "This run needs your review" }).waitFor();

    // A viewer can read the review but is offered neither Apply nor Reject.
    const viewer = { email: "auditor@contoso.com", password: "viewer password 12345" };
    await createAccount(server.rt.store.db, { ...viewer, workspace: await resolveWorkspace(server.rt.store.db, "default"), role: "viewer" }, "test");
    const viewerContext = await browser.newContext({ viewport: desktop });
    try {
      const { page: viewerPage, errors: viewerErrors } = await openPage(viewerContext);
      await signIn(viewerPage, server.url, viewer);
      await viewerPage.goto(page.url());
      await viewerPage.getByRole("heading", { name: "This run needs your review" }).waitFor();
      await viewerPage.locator("#counts-h").waitFor();
      expect(await viewerPage.getByRole("button", { name: "Apply these changes" }).count()).toBe(0);
      expect(await viewerPage.getByRole("button", { name: "Reject", exact: true }).count()).toBe(0);
      expect(viewerErrors).toEqual([]);
    } finally {
      await viewerContext.close();
    }

    await page.getByRole("button", { name: "Reject", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Reject this run?" });
    await dialog.getByText("Nothing is changed.").waitFor();
    await dialog.getByRole("button", { name: "Reject run" }).click();
    await expect.poll(async () => (await page.locator("h1 + p .badge").textContent()) ?? "").toBe("Rejected");
    // Decided: no more Apply or Reject, and the directory is as it was.
    expect(await page.getByRole("heading", { name: "This run needs your review" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Apply these changes" }).count()).toBe(0);
    expect(await enabledSyncedUsers()).toBe(enabledBefore);
    // Its counts are what it would have done, not changes made: here and in the source's run history.
    expect(await page.locator("#counts-h").textContent()).toBe("Not applied");
    await page.getByText("This run was rejected: none of the changes below were applied.").waitFor();
    await page.getByRole("link", { name: "contoso" }).first().click();
    const history = page.locator("#runs-h ~ .table-wrap tbody tr");
    await expect.poll(() => history.first().locator('td[data-label="Changes"]').textContent()).toMatch(/^Not applied: \d+ disabled/);
    const preview = history.filter({ has: page.locator('td[data-label="Kind"]', { hasText: /^Preview/ }) });
    // The first preview (the run history is newest first), from before the first sync.
    expect(await preview.last().locator('td[data-label="Changes"]').textContent()).toMatch(/^Would change: \d+ created/);
  });

  it("pages through a big run's change log, filtered by kind on the server", async () => {
    const db = server.rt.store.db;
    const workspace = await resolveWorkspace(db, "default");
    const source = await db.selectFrom("sources").select("id").where("workspace_id", "=", workspace.id).where("name", "=", "contoso").executeTakeFirstOrThrow();
    const { rows } = await sql<{ id: string }>`
      insert into sync_runs (workspace_id, source_id, trigger, mode, status, finished_at, counts)
      values (${workspace.id}, ${source.id}, 'manual', 'full', 'succeeded', now(), '{"created": 400, "warnings": 50}') returning id`.execute(db);
    const run = rows[0]!;
    // 450 entries in order: every ninth (50 of them) a warning, the rest creates.
    await sql`
      insert into change_log (workspace_id, run_id, subject, actor, action, after)
      select ${workspace.id}, ${run.id}, 'person' || i || '@contoso.com', 'test',
             case when i % 9 = 0 then 'warning' else 'create' end,
             case when i % 9 = 0 then jsonb_build_object('messages', jsonb_build_array('note ' || i)) else jsonb_build_object('email', 'person' || i || '@contoso.com') end
      from generate_series(0, 449) i order by i`.execute(db);

    await page.goto(`${server.url}/w/default/runs/${run.id}`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–200 of 450");
    expect(await page.getByLabel("Show").locator("option").allTextContents()).toEqual(["All changes (450)", "Created (400)", "Warning (50)"]);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("201–400 of 450");
    await expect.poll(() => page.locator(".history-item").first().textContent()).toContain("person200@contoso.com");
    // The page is in the address: a reload keeps it, Back returns to the first.
    await page.reload();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("201–400 of 450");
    await page.goBack();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–200 of 450");
    await page.goForward();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("201–400 of 450");
    await page.getByLabel("Show").selectOption("warning");
    await expect.poll(() => page.locator(".history-item").count()).toBe(50);
    await expect.poll(() => page.locator(".pager-count").count()).toBe(0);
    expect(await page.locator(".history-item .history-note").first().textContent()).toBe("note 0");
    // The kind shown is in the address; a count shows its own entries.
    expect(new URL(page.url()).searchParams.get("action")).toBe("warning");
    await page.getByRole("button", { name: "400 created" }).click();
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–200 of 400");
    expect(await page.getByLabel("Show").inputValue()).toBe("create");

    // The source's page points at the newest run's warnings.
    await page.goto(`${server.url}/w/default/sync/contoso`);
    await page.locator(".stat", { hasText: "Last run" }).getByRole("link", { name: "50 warnings" }).click();
    await page.waitForURL(new RegExp(`/runs/${run.id}\\?action=warning$`));
    await expect.poll(() => page.locator(".history-item").count()).toBe(50);

    // The download is the kind shown, every entry of it; read by id a page at a time, in the run's order.
    expect(await page.getByRole("link", { name: "Download CSV" }).getAttribute("href")).toBe(`/api/v1/workspaces/default/runs/${run.id}/changes.csv?action=warning`);
    const csv = await page.evaluate((id) => fetch(`/api/v1/workspaces/default/runs/${id}/changes.csv`).then((r) => r.text()), run.id);
    expect(csv.trim().split("\r\n")).toHaveLength(451);
    const subjects: string[] = [];
    for await (const entries of allChanges(db, workspace.id, { runId: run.id }, 7)) subjects.push(...entries.map((c) => c.subject));
    expect(subjects).toEqual(Array.from({ length: 450 }, (_, i) => `person${i}@contoso.com`));
  });

  it("replaces the client secret without ever showing the old or the new one", async () => {
    const tenant = emulator.tenants.get(emulator.tenantId);
    const fresh = tenant.addSecret(emulator.clientId, { displayName: "rotated", expiresInDays: 365 });
    tenant.removeSecret(emulator.clientId, tenant.defaultApp.secretId);
    const expiresOn = fresh.endDateTime.slice(0, 10);

    await page.getByRole("link", { name: "contoso" }).first().click();
    await page.getByRole("heading", { name: "contoso", level: 1 }).waitFor();
    // The stored secret is the removed one now: Connect says so.
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("The connection has problems:").waitFor({ timeout: 30_000 });

    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    // Write-only: the form says the secret is set and offers to replace it; there is no field holding it.
    await form.getByRole("button", { name: "Replace secret" }).waitFor();
    expect(await form.getByLabel("Client secret").count()).toBe(0);
    await form.getByRole("button", { name: "Replace secret" }).click();
    expect(await form.getByLabel("Client secret").inputValue()).toBe("");
    await form.getByLabel("Client secret").fill(fresh.secretText);
    await form.getByLabel("Secret expires on").fill(expiresOn);
    await form.getByRole("button", { name: "Save source" }).click();
    await form.waitFor({ state: "hidden" });
    // The page reloads the source after the save: wait for it rather than read the page once.
    await page.getByText(`Secret set, expires on ${expiresOn}`).first().waitFor();

    await page.getByRole("button", { name: "Edit settings" }).click();
    await form.getByText(`set, expires on ${expiresOn}`).waitFor();
    expect(await form.getByLabel("Client secret").count()).toBe(0);
    await form.getByRole("button", { name: "Cancel" }).click();
    for (const secret of [emulator.clientSecret, fresh.secretText]) {
      expect(await page.content()).not.toContain(secret);
      expect(await page.evaluate(() => fetch("/api/v1/workspaces/default/sources/contoso").then((r) => r.text()))).not.toContain(secret);
    }

    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("Connected. Everything the source needs is in place.").waitFor({ timeout: 30_000 });
  });

  it("finds the tenant's groups from the source form and adds the one picked to the list", async () => {
    const group = emulator.tenants.get(emulator.tenantId).listGroups()[0]!;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    await page.getByRole("link", { name: "contoso" }).first().click();
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    await form.getByLabel("Groups to sync").selectOption("selected");
    await form.getByLabel("Groups", { exact: true }).fill("Someone's typed group");
    await form.getByLabel("Find groups in Entra ID").fill(group.displayName.slice(0, 3).toLowerCase());
    // Enter searches; it does not submit the form.
    await form.getByLabel("Find groups in Entra ID").press("Enter");
    await form.getByRole("button", { name: `Add ${group.displayName}` }).click();
    expect(await form.getByLabel("Groups", { exact: true }).inputValue()).toBe(`Someone's typed group\n${group.displayName}`);
    expect(await form.getByRole("button", { name: `Add ${group.displayName}` }).textContent()).toBe("Added");
    await form.getByLabel("Find groups in Entra ID").fill("no group starts like this");
    await form.getByRole("button", { name: "Find", exact: true }).click();
    await form.getByText("No group’s name starts with “no group starts like this”.").waitFor();
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "hidden" });
    expect((await page.evaluate(() => fetch("/api/v1/workspaces/default/sources/contoso").then((r) => r.json() as Promise<{ config: { groupMode: string } }>))).config.groupMode).toBe("all");
  });

  it("renames the source from its form; the page follows the new name and its users show it", async () => {
    // A name no source has any more is refused, not counted as none.
    const count = (source: string) =>
      page.evaluate((s) => fetch(`/api/v1/workspaces/default/users?limit=1&source=${s}`).then((r) => r.json() as Promise<{ total?: number; error?: { code: string } }>).then((r) => r.total ?? r.error?.code), source);
    const synced = await count("contoso");
    for (const [from, to] of [["contoso", "contoso-eu"], ["contoso-eu", "contoso"]] as const) {
      await page.getByRole("button", { name: "Edit settings" }).click();
      const form = page.getByRole("dialog", { name: `Edit source ${from}` });
      await form.getByRole("textbox", { name: "Name", exact: true }).fill(to);
      await form.getByRole("button", { name: "Save source" }).click();
      await form.waitFor({ state: "hidden" });
      await page.getByRole("heading", { name: to, level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/w/default/sync/${to}`);
      expect(await count(to)).toBe(synced);
      expect(await count(from)).toBe("invalid_input");
    }
  });

  it("says on both sources' cards when another source reads the same tenant for the same users", async () => {
    const ctx = await addEmulatorSource(server, emulator, { name: "contoso-again" });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "User synchronization" }).click();
    const warnings = page.locator("[data-kind='overlapping']");
    await expect.poll(() => warnings.allTextContents()).toEqual([
      expect.stringMatching(/^"contoso-again" reads this tenant for some of the same users: a user both sources claim is a\s+conflict that neither changes\./),
      expect.stringMatching(/^"contoso" reads this tenant/),
    ]);
    await removeSource(ctx, "contoso-again");
    await page.getByRole("link", { name: "contoso", exact: true }).click();
    await page.getByRole("heading", { name: "contoso", level: 1 }).waitFor();
    expect(await warnings.count()).toBe(0);
  });

  it("turns sync on change on from the form (refused, saying so, without ROLLCALL_PUBLIC_URL), shows the subscription, and off again", async () => {
    const syncOnChange = page.locator(".prop", { hasText: "Sync on change" }).locator("dd");
    const atGraph = () => emulator.subscriptions.list(emulator.tenantId).map((s) => `${s.resource} ${s.notificationUrl}`).sort();
    await page.getByRole("button", { name: "Edit settings" }).click();
    const form = page.getByRole("dialog", { name: "Edit source contoso" });
    await form.getByLabel("Sync on change").check();
    await form.getByRole("button", { name: "Save source" }).click();
    await form.getByText(/sync on change needs ROLLCALL_PUBLIC_URL/).waitFor();
    server.rt.config.publicUrl = server.url;
    try {
      await form.getByRole("button", { name: "Save source" }).click();
      await form.waitFor({ state: "hidden" });
      // The source syncs the groups it was given: their changes are subscribed to as well.
      await expect.poll(() => syncOnChange.textContent()).toMatch(/^users: subscribed until .+; groups: subscribed until /);
      expect(atGraph()).toEqual(["groups", "users"].map((resource) => `${resource} ${server.url}/api/v1/graph/notifications`));
      await page.getByRole("button", { name: "Edit settings" }).click();
      await form.getByLabel("Sync on change").uncheck();
      await form.getByRole("button", { name: "Save source" }).click();
      await form.waitFor({ state: "hidden" });
      await expect.poll(() => syncOnChange.textContent()).toBe("Off");
      expect(atGraph()).toEqual([]);
    } finally {
      server.rt.config.publicUrl = undefined;
    }
  });

  it("removes the source only after confirmation, keeping its users disabled when asked", async () => {
    const count = (query: string) => page.evaluate((q) => fetch(`/api/v1/workspaces/default/users?limit=1&${q}`).then((r) => r.json() as Promise<{ total: number }>).then((r) => r.total), query);
    const usersBefore = await count("");
    const synced = await count("source=contoso");
    await page.getByRole("button", { name: "Remove source" }).click();
    const dialog = page.getByRole("dialog", { name: "Remove source contoso?" });
    await dialog.getByRole("group", { name: `Its ${synced.toLocaleString("en-US")} users and` }).waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("heading", { name: "contoso", level: 1 }).waitFor();

    await page.getByRole("button", { name: "Remove source" }).click();
    expect(await dialog.getByRole("radio", { name: "Keep them", exact: true }).isChecked()).toBe(true);
    await dialog.getByRole("radio", { name: "Delete them" }).check();
    await dialog.getByRole("button", { name: `Remove source and delete ${synced.toLocaleString("en-US")} users` }).waitFor();
    await dialog.getByRole("radio", { name: "Keep them, disabled" }).check();
    await dialog.getByRole("button", { name: "Remove source", exact: true }).click();
    await page.getByRole("heading", { name: "No Entra ID source yet" }).waitFor();
    const sources = await page.evaluate(() => fetch("/api/v1/workspaces/default/sources").then((r) => r.json() as Promise<{ items: unknown[] }>));
    expect(sources.items).toEqual([]);
    expect(await count("")).toBe(usersBefore);
    expect(await count("source=contoso&sourceType=manual&enabled=false")).toBe(synced);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.getByLabel("Source").selectOption("type:manual");
    await page.getByRole("cell", { name: "Kept from Entra ID: contoso" }).first().waitFor();
  });

  function enabledSyncedUsers(): Promise<number> {
    return page.evaluate(() => fetch("/api/v1/workspaces/default/users?tag=ID%20synced&enabled=true&limit=1").then((r) => r.json() as Promise<{ total: number }>)).then((r) => r.total);
  }
});
