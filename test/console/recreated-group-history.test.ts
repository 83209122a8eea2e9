import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { getGroup } from "../../src/core/groups.ts";
import { syncSource } from "../../src/sync/service.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * An admin opens Pilots, deleted in Entra ID and restored there: the sync created it again as a new group, and its
 * history says which deleted group it replaces, as a recreated user's does.
 */
describe.skipIf(!hasChromium)("web console: a recreated group's history names the deleted group", () => {
  let emulator: RunningEmulator;
  let oldId = "";
  let newId = "";
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 2, groups: 0, seed: 7 });
    const tenant = emulator.tenants.get(emulator.tenantId);
    const pilots = tenant.createGroup({ displayName: "Pilots" });
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    const ctx = { db: server.rt.store.db, workspace, actor: "ops@contoso.test", secrets: server.rt.secrets, entraCustomUrls: true };
    const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null, groupMode: "all" as const };
    await createEntraSource(ctx, { name: "contoso", config, credential: { kind: "secret", secret: emulator.clientSecret } });
    const sync = () => syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "ops@contoso.test" });
    await sync();
    oldId = (await getGroup(ctx, "Pilots")).id;
    tenant.deleteGroup(pilots.id);
    await sync();
    tenant.restoreGroup(pilots.id);
    await sync();
    newId = (await getGroup(ctx, "Pilots")).id;
  });
  afterAll(() => emulator?.close());

  it("says the sync of contoso created Pilots again, replacing the group deleted on its run", async () => {
    expect(newId).not.toBe(oldId);
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/${newId}`);
    const note = page.locator(".history-replaces");
    await expect.poll(() => note.textContent()).toMatch(new RegExp(`^Created by the sync of contoso — replaces a group deleted on .+ by .+ \\(the same Entra group, then group ${oldId}\\)$`));
  });
});
