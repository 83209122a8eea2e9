import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { syncSource } from "../../src/sync/service.ts";
import { recordChange } from "../../src/core/change-log.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { keptDryRuns } from "../../src/sync/dry-run-history.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * A change a sync run made is logged under the admin who started the run: a user's history says it was the sync (its
 * source, and who or what started it) and links to the run, so that "by admin@…" after a sync is not read as an edit.
 */
describe.skipIf(!hasChromium)("web console: a sync run's changes in a user's history", () => {
  let emulator: RunningEmulator;
  let runId = "";
  let oldPreview = "";
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 3, groups: 1, seed: 7 });
    const { workspace } = await addEmulatorSource(server, emulator);
    ({ runId } = await syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "ops@contoso.com" }));
    // One dry run more than a source keeps the changes of: the oldest keeps its record, without them.
    const tenant = emulator.tenants.get(emulator.tenantId);
    const renamed = tenant.listUsers()[0]!;
    for (let i = 0; i <= keptDryRuns; i++) {
      tenant.updateUser(renamed.id, { displayName: `Renamed ${i}` });
      const { runId: dry } = await syncSource(server.rt, workspace, "contoso", { trigger: "api", dryRun: true });
      oldPreview ||= dry;
    }
  });
  afterAll(() => emulator?.close());

  it("says which entries a sync run made, with a link to the run, and not an edit by hand", async () => {
    const page = ui.page;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.locator("tbody tr a").first().click();
    await page.getByRole("button", { name: "Edit" }).waitFor();
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Tags").fill("Badge office");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "hidden" });

    const entries = page.locator(".history-item");
    await expect.poll(() => entries.count()).toBe(2);
    expect(await entries.nth(1).locator(".history-head").textContent()).toMatch(/^Created · .* · by the sync of contoso, started by ops@contoso\.com \(console or API\) · see the run$/);
    // The hand edit reads as before.
    expect(await entries.nth(0).locator(".history-head").textContent()).toMatch(/^Updated · .* · by admin@rollcall\.test$/);
    await entries.nth(1).getByRole("link", { name: "see the run" }).click();
    await page.waitForURL(`**/w/default/runs/${runId}`);
    await page.getByRole("heading", { name: "Sync of contoso", level: 1 }).waitFor();
    // The run's own change log does not link each entry back to the run it shows.
    await page.locator(".history-item").first().waitFor();
    expect(await page.locator(".history-item").getByRole("link", { name: "see the run" }).count()).toBe(0);
    expect(await page.locator(".history-item .history-head").first().textContent()).toContain("by the sync of contoso, started by ops@contoso.com (console or API)");
  });

  it("says a change made by a scheduled sync, or by one the CLI started, was that sync's", async () => {
    const page = ui.page;
    const { rt } = ui.server;
    const tenant = emulator.tenants.get(emulator.tenantId);
    const [first, second] = tenant.listUsers();
    const workspace = await resolveWorkspace(rt.store.db, "default");
    tenant.updateUser(first!.id, { jobTitle: "Night porter" });
    await syncSource(rt, workspace, "contoso", { trigger: "schedule", actor: "schedule" });
    tenant.updateUser(second!.id, { jobTitle: "Day porter" });
    await syncSource(rt, workspace, "contoso", { trigger: "manual", actor: "cli:alice" });
    const idOf = async (externalId: string) => (await rt.store.db.selectFrom("users").select("id").where("external_id", "=", externalId).executeTakeFirstOrThrow()).id;
    for (const [user, words] of [[first!, "by the scheduled sync of contoso · see the run"], [second!, "by the sync of contoso, started by alice (CLI) · see the run"]] as const) {
      await page.goto(`${ui.server.url}/w/default/users/${await idOf(user.id)}`);
      const head = page.locator(".history-item", { hasText: "porter" }).first().locator(".history-head");
      await expect.poll(() => head.textContent()).toMatch(new RegExp(`^Updated · .* · ${words.replace(/[()]/g, "\\$&")}$`));
    }
  });

  it("names the account that ran the CLI as the author of its changes: alice (CLI)", async () => {
    const page = ui.page;
    const { db } = ui.server.rt.store;
    const user = await db.selectFrom("users").select(["id", "workspace_id", "email"]).orderBy("email").executeTakeFirstOrThrow();
    await recordChange(db, { workspaceId: user.workspace_id, userId: user.id, actor: "cli:alice", subject: user.email ?? "", action: "update", before: { jobTitle: null }, after: { jobTitle: "Analyst" } });
    await page.goto(`${ui.server.url}/w/default/users/${user.id}`);
    await expect.poll(() => page.locator(".history-item .history-head").first().textContent()).toMatch(/^Updated · .* · by alice \(CLI\)$/);
  });

  it("says a preview's changes were deleted when newer previews came, and still shows its counts", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/runs/${oldPreview}`);
    await page.getByRole("heading", { name: "Preview of contoso", level: 1 }).waitFor();
    expect(await page.getByRole("status").filter({ hasText: "list of changes was deleted" }).textContent()).toMatch(/^This preview's list of changes was deleted on .+, when newer previews of contoso came: a source keeps the changes of its newest previews only\./);
    expect(await page.locator("#counts-h + .counts").textContent()).toContain("1 updated");
    expect(await page.locator("[data-kind='preview']").count()).toBe(0);
  });
});
