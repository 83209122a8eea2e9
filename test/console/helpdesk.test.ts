import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { disableUser } from "../../src/core/users.ts";
import { syncSource } from "../../src/sync/service.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * A help desk's "Anna can't badge in": found by the card number on her badge, her page says at a glance that the sync
 * of contoso disabled her because Entra ID has her account disabled, and the Enable dialog says, before saving, that the
 * next sync disables her again. Enabled anyway, the page says what the next sync does; and it does it.
 */
describe.skipIf(!hasChromium)("web console: why a user is disabled, and what the next sync does", () => {
  let emulator: RunningEmulator;
  let sync: () => Promise<unknown>;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 3, groups: 1, seed: 5 });
    const tenant = emulator.tenants.get(emulator.tenantId);
    const anna = tenant.createUser({ displayName: "Anna Kowalska", userPrincipalName: "anna@contoso.test", mail: "anna@contoso.test", onPremisesExtensionAttributes: { extensionAttribute1: "0042117" } });
    tenant.createUser({ displayName: "Bob Byrne", userPrincipalName: "bob@contoso.test", mail: "bob@contoso.test" });
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const ctx = { db: server.rt.store.db, workspace, actor: "ops@contoso.test", secrets: server.rt.secrets, entraCustomUrls: true };
    const config = {
      tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null,
      mapping: { cardNumbers: "onPremisesExtensionAttributes.extensionAttribute1" },
    };
    await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    sync = () => syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "ops@contoso.test" });
    await sync();
    tenant.updateUser(anna.id, { accountEnabled: false });
    await sync();
    await disableUser(ctx, "bob@contoso.test");
    // A second source of the same tenant: each of its users is a conflict.
    await createEntraSource(ctx, { name: "contoso-eu", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    await syncSource(server.rt, workspace, "contoso-eu", { trigger: "api", actor: "ops@contoso.test" });
  });
  afterAll(() => emulator?.close());

  it("says who disabled a synced user by hand, that the next sync enables them again, and what deleting them loses", async () => {
    const page = ui.page;
    await page.getByLabel("Search").fill("bob");
    await page.locator("tbody tr").getByRole("link", { name: "Bob Byrne" }).click();
    const why = page.locator(".status-why");
    await expect.poll(() => why.locator("p").first().textContent()).toMatch(/^Disabled by ops@contoso\.test on .+\.$/);
    expect(await why.locator(".banner").textContent()).toBe(
      "The next sync of contoso sets the status Entra ID has: if the account is enabled there, it enables them again. Disable the account in Entra ID to make this last.",
    );
    expect(await page.locator(".open-conflict").textContent()).toMatch(
      /^Conflict in the sync of contoso-eu: "bob@contoso\.test" is already synced by Entra ID source "contoso" \(user [0-9a-f-]+\), which reads the same tenant: two sources claim one account\. Leave it to one of them: scope the other to groups it is not in, or remove that source\. See the run$/,
    );
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.locator(".banner").textContent()).toMatch(/^This user comes from Entra ID: while the account is in the scope of contoso, its next sync creates them again, as a new user, with only what Entra ID holds: a PIN, cards, aliases, tags or console access given here are lost/);
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("finds Anna by her card number, says the sync disabled her and why, and warns before enabling her that the next sync undoes it", async () => {
    const page = ui.page;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.getByLabel("Search").fill("0042117");
    await page.waitForURL(/q=0042117/);
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1);
    await page.locator("tbody tr").getByRole("link", { name: "Anna Kowalska" }).click();
    const why = page.locator(".status-why");
    await expect.poll(() => why.textContent()).toMatch(/^Disabled by the sync of contoso on .+: Entra ID has the account disabled \(sign-in blocked there\)\. See the run$/);
    expect(await why.locator(".banner").count()).toBe(0); // a sync's own status: nothing for the next one to undo

    await page.getByRole("button", { name: "Enable", exact: true }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.locator(".banner").textContent()).toMatch(
      /^Disabled by the sync of contoso on .+\. Enabling them here lasts only until the next sync of contoso, which disables them again while Entra ID has the account disabled or outside the source's scope: enable the account in Entra ID\.$/,
    );
    await dialog.getByRole("button", { name: "Enable user" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => why.locator("p").first().textContent()).toMatch(/^Enabled by admin@rollcall\.test on .+\.$/);
    expect(await why.locator(".banner").textContent()).toBe(
      "The next sync of contoso sets the status Entra ID has: if the account is disabled there, or outside the source's scope, it disables them again. Enable the account in Entra ID to make this last.",
    );

    await sync();
    await page.reload();
    await expect.poll(() => why.textContent()).toMatch(/^Disabled by the sync of contoso on .+: Entra ID has the account disabled \(sign-in blocked there\)\. See the run$/);
    await why.getByRole("link", { name: "See the run" }).click();
    await page.getByRole("heading", { name: "Sync of contoso", level: 1 }).waitFor();
  });
});
