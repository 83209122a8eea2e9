import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { getRun } from "../../src/core/runs.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { syncSource } from "../../src/sync/service.ts";
import type { RunSummary } from "../../src/sync/run-record.ts";
import { until } from "../notifications/support.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/** A running run's page has a Stop button: confirmed, the run stops within seconds, failed as stopped by the admin. */
describe.skipIf(!hasChromium)("web console: stopping a running sync", () => {
  let emulator: RunningEmulator;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 20, groups: 2, seed: 3 });
    await addEmulatorSource(server, emulator);
  });
  afterAll(async () => {
    emulator?.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
    await emulator?.close();
  });

  it("stops a run waiting on a throttled Graph once the admin confirms, and says it was stopped", { timeout: 180_000 }, async () => {
    emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    const workspace = await resolveWorkspace(ui.server.rt.store.db, "default");
    let id = "";
    const running: Promise<RunSummary> = syncSource(ui.server.rt, workspace, "contoso", { trigger: "api", actor: "test" }, { onStarted: (runId) => (id = runId) });
    await until(() => id !== "" && emulator.stats().requests.some((r) => r.status === 429), 60_000, "the run to wait on Graph");

    await ui.page.goto(`${ui.server.url}/w/default/runs/${id}`);
    await ui.page.getByRole("button", { name: "Stop", exact: true }).click();
    const dialog = ui.page.getByRole("dialog", { name: "Stop this run?" });
    await dialog.getByRole("button", { name: "Stop run" }).click();
    const asked = Date.now();
    await ui.page.getByText("The sync was stopped; nothing was changed.").waitFor({ timeout: 30_000 });
    expect(Date.now() - asked).toBeLessThan(30_000); // not the minute Graph asked for
    await ui.page.getByText(/Cancelled by admin@rollcall\.test/).waitFor();
    expect(await ui.page.getByRole("button", { name: "Stop", exact: true }).count()).toBe(0);
    expect(await running).toMatchObject({ runId: id, status: "failed" });
    expect(await getRun({ db: ui.server.rt.store.db, workspace }, id, { changes: 0 })).toMatchObject({ status: "failed", cancelRequested: { by: "admin@rollcall.test" } });
  });
});
