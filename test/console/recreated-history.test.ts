import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { deleteUser } from "../../src/core/users.ts";
import { syncSource } from "../../src/sync/service.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * A help desk opens Carl, whom an admin deleted by hand and the next sync created again as a new user: his history
 * says whom he replaces and links to that deleted user's history, which the console opens by the old id.
 */
describe.skipIf(!hasChromium)("web console: a recreated user's history links to the deleted user's", () => {
  let emulator: RunningEmulator;
  let deletedId = "";
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 2, groups: 1, seed: 7 });
    emulator.tenants.get(emulator.tenantId).createUser({ displayName: "Carl Jensen", userPrincipalName: "carl@contoso.test", mail: "carl@contoso.test", jobTitle: "Courier" });
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const ctx = { db: server.rt.store.db, workspace, actor: "ops@contoso.test", secrets: server.rt.secrets, entraCustomUrls: true };
    const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null };
    await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    const sync = () => syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "ops@contoso.test" });
    await sync();
    deletedId = (await deleteUser(ctx, "carl@contoso.test")).id;
    await sync();
  });
  afterAll(() => emulator?.close());

  it("says the sync of contoso created Carl again, replacing a user ops deleted, and opens that user's history", async () => {
    const page = ui.page;
    await page.getByLabel("Search").fill("carl");
    await page.locator("tbody tr").getByRole("link", { name: "Carl Jensen" }).click();
    const note = page.locator(".history-replaces");
    await expect.poll(() => note.textContent()).toMatch(/^Created by the sync of contoso — replaces a user deleted on .+ by ops@contoso\.test: see their history$/);
    expect(page.url()).not.toContain(deletedId);

    await note.getByRole("link", { name: "see their history" }).click();
    await page.waitForURL(new RegExp(`/users/${deletedId}$`));
    await expect.poll(() => page.locator("h1").textContent()).toBe("Deleted user");
    const entries = page.locator(".history-item strong");
    await expect.poll(() => entries.allTextContents()).toEqual(["Deleted", "Created"]);
    expect(await page.locator(".history-item").first().textContent()).toContain("by ops@contoso.test");

    // An id no user ever had is not a deleted user: the page says it was not found.
    await page.goto(page.url().replace(deletedId, "00000000-0000-4000-8000-000000000000"));
    await expect.poll(() => page.locator(".banner").first().textContent()).toMatch(/could not be loaded.*not found/s);
    expect(await page.locator("h1").count()).toBe(0);
  });
});
