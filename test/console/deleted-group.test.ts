import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource, updateEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { getGroup } from "../../src/core/groups.ts";
import { syncSource } from "../../src/sync/service.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * An admin opens Crew, deleted in Entra ID and restored there: the same group, its history saying so. And Pilots, left
 * out of the source's groups and then back: a new group, whose history links to the deleted one, which the console
 * opens by its old id as a "Deleted group" (it is in no list).
 */
describe.skipIf(!hasChromium)("web console: deleted and restored groups", () => {
  let emulator: RunningEmulator;
  let crewId = "";
  let oldPilotsId = "";
  let newPilotsId = "";
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 2, groups: 0, seed: 7 });
    const tenant = emulator.tenants.get(emulator.tenantId);
    tenant.createGroup({ displayName: "Pilots" });
    const crew = tenant.createGroup({ displayName: "Crew" });
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const ctx = { db: server.rt.store.db, workspace, actor: "ops@contoso.test", secrets: server.rt.secrets, entraCustomUrls: true };
    const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null, groupMode: "all" as const };
    await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    const sync = () => syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "ops@contoso.test" });
    await sync();
    crewId = (await getGroup(ctx, "Crew")).id;
    oldPilotsId = (await getGroup(ctx, "Pilots")).id;
    tenant.deleteGroup(crew.id);
    await updateEntraSource(ctx, "contoso", { config: { ignoreGroups: ["Pilots"] } });
    await sync();
    tenant.restoreGroup(crew.id);
    await updateEntraSource(ctx, "contoso", { config: { ignoreGroups: [] } });
    await sync();
    newPilotsId = (await getGroup(ctx, "Pilots")).id;
  });
  afterAll(() => emulator?.close());

  it("Crew restored in Entra ID is the same group, its history saying so", async () => {
    expect((await getGroup({ db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default") }, "Crew")).id).toBe(crewId);
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/${crewId}`);
    const entries = page.locator(".history-item strong");
    await expect.poll(() => entries.allTextContents()).toEqual(["Restore group", "Delete group", "Create group"]);
    expect(await page.locator(".history-item").first().textContent()).toContain("restored in Entra ID from deleted groups");
  });

  it("Pilots, back in the source's groups, links to the deleted group's page, which shows its history", async () => {
    expect(newPilotsId).not.toBe(oldPilotsId);
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/${newPilotsId}`);
    const note = page.locator(".history-replaces");
    await expect.poll(() => note.textContent()).toMatch(/^Created by the sync of contoso — replaces a group deleted on .+ by ops@contoso\.test \(the same Entra group\): see its history$/);
    await note.getByRole("link", { name: "see its history" }).click();
    await page.waitForURL(new RegExp(`/groups/${oldPilotsId}$`));
    await expect.poll(() => page.locator("h1").textContent()).toBe("Deleted group");
    expect(await page.locator(".deleted-group-summary").textContent()).toMatch(/^Pilots, deleted on .+ by ops@contoso\.test\./);
    const entries = page.locator(".history-item strong");
    await expect.poll(() => entries.allTextContents()).toEqual(["Delete group", "Create group"]);
    // The groups list shows the new Pilots only.
    await page.goto(`${ui.server.url}/w/default/groups`);
    await expect.poll(() => page.locator("tbody tr").allTextContents()).toHaveLength(2);
    expect((await page.locator("tbody tr").allTextContents()).filter((t) => t.includes("Pilots"))).toHaveLength(1);
    // An id no group ever had is not a deleted group: the page says it was not found.
    await page.goto(`${ui.server.url}/w/default/groups/00000000-0000-4000-8000-000000000000`);
    await expect.poll(() => page.locator(".banner").first().textContent()).toMatch(/could not be loaded.*not found/s);
    expect(await page.locator("h1").count()).toBe(0);
  });
});
