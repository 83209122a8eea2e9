import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createAccount, findAccount, setWorkspaceRole } from "../../src/core/accounts.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { createScimSource } from "../../src/core/scim-sources.ts";
import { sql } from "kysely";
import { startTrustedEmulator } from "../support/emulator.ts";
import { seedThreeWorkspaces } from "../support/workspace-overview.ts";
import { desktop, hasChromium, openPage, signIn } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/** The "All workspaces" page: beside the workspace menu for someone with several, the ones needing attention first. */
describe.skipIf(!hasChromium)("web console: all workspaces at a glance", () => {
  let emulator: RunningEmulator;
  const people: Record<string, string> = {};
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 3, groups: 1, seed: 9 });
    await seedThreeWorkspaces(server.rt, emulator);
    const db = server.rt.store.db;
    const [acme, calm] = [await resolveWorkspace(db, "acme"), await resolveWorkspace(db, "calm")];
    people.msp = (await createAccount(db, { email: "msp@example.com", workspace: acme, role: "admin" }, "test")).password;
    await setWorkspaceRole(db, (await findAccount(db, "msp@example.com"))!, calm, "viewer", "test");
    people.solo = (await createAccount(db, { email: "solo@example.com", workspace: calm, role: "admin" }, "test")).password;
  });
  afterAll(() => emulator?.close());

  const rows = (page: typeof ui.page) => page.getByRole("table", { name: "All workspaces" }).locator("tbody tr");

  it("lists the failed run and the expired secret first with why, and links to each workspace's synchronization page", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "All workspaces" }).click();
    await page.getByRole("heading", { name: "All workspaces", level: 1 }).waitFor();
    await rows(page).first().waitFor();
    expect(await rows(page).locator("th").allInnerTexts()).toEqual(["acme", "beta", "calm", "default"]);
    await expect.poll(() => rows(page).nth(0).innerText()).toMatch(/Needs attention\s+corp: the last run failed/);
    expect(await rows(page).nth(1).innerText()).toMatch(/Needs attention\s+hr: the client secret expired on \d{4}-\d\d-\d\d/);
    expect(await rows(page).nth(2).innerText()).toMatch(/OK\s+main: last run succeeded .*\s+\d+ users?\s+None/);
    await rows(page).nth(0).getByRole("link", { name: "acme" }).click();
    await page.waitForURL(`${ui.server.url}/w/acme/sync`);
  });

  it("shows someone with roles in two of three workspaces those two only", async () => {
    const { page } = await openPage(await ui.browser.newContext({ viewport: desktop }));
    await signIn(page, ui.server.url, { email: "msp@example.com", password: people.msp! });
    await page.getByRole("link", { name: "All workspaces" }).click();
    await rows(page).first().waitFor();
    expect(await rows(page).locator("th").allInnerTexts()).toEqual(["acme", "calm · read-only"]);
    await page.context().close();
  });

  it("shows a workspace's SCIM sources, one Entra ID has not called 3 hours after it was added as a check, before the healthy ones", async () => {
    const db = ui.server.rt.store.db;
    const ctx = { db, workspace: await resolveWorkspace(db, "default"), actor: "test", secrets: ui.server.rt.secrets, entraCustomUrls: false };
    const quiet = await createScimSource(ctx, { name: "Quiet push" }, ui.server.url);
    await sql`update sources set created_at = now() - interval '4 hours' where id = ${quiet.id}`.execute(db);
    const page = ui.page;
    await page.getByRole("link", { name: "All workspaces" }).click();
    await rows(page).first().waitFor();
    expect(await rows(page).locator("th").allInnerTexts()).toEqual(["acme", "beta", "default", "calm"]);
    expect(await rows(page).nth(2).innerText()).toMatch(/Check\s+Quiet push: Entra ID's provisioning service has never called it \(added 4 hours ago, .* UTC\)\s+Quiet push \(SCIM\): 0 users, 0 groups; never called/);
  });

  it("is not offered to someone with one workspace", async () => {
    const { page } = await openPage(await ui.browser.newContext({ viewport: desktop }));
    await signIn(page, ui.server.url, { email: "solo@example.com", password: people.solo! });
    await expect.poll(() => page.getByLabel("Workspace").inputValue()).toBe("calm");
    expect(await page.getByRole("link", { name: "All workspaces" }).count()).toBe(0);
    await page.context().close();
  });
});
