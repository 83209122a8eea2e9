import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { trustExtraCa } from "../../src/net/http.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { getRun } from "../../src/core/runs.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { syncSource } from "../../src/sync/service.ts";
import type { RunSummary } from "../../src/sync/run-record.ts";
import { until } from "../notifications/support.ts";
import { desktop, hasChromium, launchBrowser, openPage, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

/** A running run's page has a Stop button: confirmed, the run stops within seconds, failed as stopped by the admin. */
describe.skipIf(!hasChromium)("web console: stopping a running sync", () => {
  let emulator: RunningEmulator;
  let emulatorDir: string;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    emulatorDir = mkdtempSync(join(tmpdir(), "rollcall-console-stop-"));
    emulator = await startEmulator({ port: 0, dataDir: emulatorDir, users: 20, groups: 2, seed: 3, quiet: true });
    trustExtraCa(emulator.caPem);
    server = await startConsoleServer();
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    await createEntraSource(
      { db: server.rt.store.db, workspace, actor: "test", secrets: server.rt.secrets },
      { name: "contoso", config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null }, credential: { kind: "secret", secret: emulator.clientSecret } },
    );
    browser = await launchBrowser();
    ({ page, errors } = await openPage(await browser.newContext({ viewport: desktop })));
    await signIn(page, server.url);
  });

  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    emulator?.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
    await browser?.close();
    await server?.close();
    await emulator?.close();
    if (emulatorDir) rmSync(emulatorDir, { recursive: true, force: true });
  });

  it("stops a run waiting on a throttled Graph once the admin confirms, and says it was stopped", { timeout: 180_000 }, async () => {
    emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    let id = "";
    const running: Promise<RunSummary> = syncSource(server.rt, workspace, "contoso", { trigger: "api", actor: "test" }, { onStarted: (runId) => (id = runId) });
    await until(() => id !== "" && emulator.stats().requests.some((r) => r.status === 429), 60_000, "the run to wait on Graph");

    await page.goto(`${server.url}/w/default/runs/${id}`);
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Stop this run?" });
    await dialog.getByRole("button", { name: "Stop run" }).click();
    const asked = Date.now();
    await page.getByText("The sync was stopped; nothing was changed.").waitFor({ timeout: 30_000 });
    expect(Date.now() - asked).toBeLessThan(30_000); // not the minute Graph asked for
    await page.getByText(/Cancelled by admin@rollcall\.test/).waitFor();
    expect(await page.getByRole("button", { name: "Stop", exact: true }).count()).toBe(0);
    expect(await running).toMatchObject({ runId: id, status: "failed" });
    expect(await getRun({ db: server.rt.store.db, workspace }, id, { changes: 0 })).toMatchObject({ status: "failed", cancelRequested: { by: "admin@rollcall.test" } });
  });
});
