import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { updateEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { syncSource } from "../../src/sync/service.ts";
import type { RunSummary } from "../../src/sync/run-record.ts";
import { until } from "../notifications/support.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * Photos of an Entra ID source in the console: while the source does not sync them, its user's page offers an upload;
 * turned on, a run's page shows its photo step (held there by the emulator answering each $batch late, set before the
 * run starts) and then how many photos changed, and the user's page says where the photo comes from.
 */
describe.skipIf(!hasChromium)("web console: a run's photo step", () => {
  let emulator: RunningEmulator;
  let ctx: Awaited<ReturnType<typeof addEmulatorSource>>;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 20, groups: 2, seed: 5 });
    ctx = await addEmulatorSource(server, emulator);
  });
  afterAll(async () => {
    emulator?.setKnobs({ batchLatencyMs: 0 });
    await emulator?.close();
  });
  const userPage = async (externalId: string) => {
    const user = await ctx.db.selectFrom("users").select("id").where("external_id", "=", externalId).executeTakeFirstOrThrow();
    await ui.page.goto(`${ui.server.url}/w/default/users/${user.id}`);
  };

  it("offers an upload on an Entra ID user's page while the source does not sync photos", { timeout: 120_000 }, async () => {
    const workspace = await resolveWorkspace(ui.server.rt.store.db, "default");
    expect(await syncSource(ui.server.rt, workspace, "contoso", { trigger: "api", actor: "test" })).toMatchObject({ status: "succeeded" });
    const member = emulator.tenants.get(emulator.tenantId).listUsers().find((u) => u.userType !== "Guest")!;
    await userPage(member.id);
    await ui.page.getByText("Upload photo").or(ui.page.getByText("Replace photo")).waitFor();
    expect(await ui.page.getByText(/^Synced from/).count()).toBe(0);
  });

  it("shows the photos phase while the run checks photos, then how many changed", { timeout: 180_000 }, async () => {
    await updateEntraSource(ctx, "contoso", { config: { photos: true } });
    // Each $batch (the photo step's only requests) answered 3 s late: the run stays in its photo step for seconds.
    emulator.setKnobs({ batchLatencyMs: 3000 });
    const workspace = await resolveWorkspace(ui.server.rt.store.db, "default");
    let id = "";
    const running: Promise<RunSummary> = syncSource(ui.server.rt, workspace, "contoso", { trigger: "api", actor: "test" }, { onStarted: (runId) => (id = runId) });
    try {
      await until(() => id !== "", 60_000, "the run to start");
      await ui.page.goto(`${ui.server.url}/w/default/runs/${id}`);
      await ui.page.getByText("Changes applied · checking users' photos in Microsoft Graph").waitFor({ timeout: 60_000 });
      const summary = await running;
      expect(summary.status).toBe("succeeded");
      const changed = summary.counts.photosChanged!;
      const tenant = emulator.tenants.get(emulator.tenantId);
      expect(changed).toBe(tenant.listUsers().filter((u) => u.userType !== "Guest" && tenant.getUserPhoto(u.id)).length);
      expect(changed).toBeGreaterThan(1);
      await ui.page.locator("ul.counts").getByText(`${changed} photos changed`).waitFor({ timeout: 30_000 });
      expect(await ui.page.getByText("checking users' photos").count()).toBe(0);
    } finally {
      emulator.setKnobs({ batchLatencyMs: 0 });
      await running.catch(() => undefined);
    }
  });

  it("says where the photo comes from, with no upload, once the source syncs photos", async () => {
    const member = emulator.tenants.get(emulator.tenantId).listUsers().find((u) => u.userType !== "Guest")!;
    await userPage(member.id);
    await ui.page.getByText("Synced from contoso").waitFor();
    expect(await ui.page.getByText("Upload photo").or(ui.page.getByText("Replace photo")).count()).toBe(0);
  });
});
