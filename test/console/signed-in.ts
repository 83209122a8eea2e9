import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Browser, Page } from "playwright-core";
import { desktop, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";

export interface SignedInConsole {
  server: ConsoleServer;
  browser: Browser;
  page: Page;
}

/**
 * The hooks most console test files start with: a console server, prepared by `prepare` (seeding, say), a
 * desktop page signed in as the admin, and after each test no browser error left unexplained (and, when the
 * test failed, a screenshot of the page in the temp folder). Call it in a
 * `describe`; the returned object is filled in before the first test.
 */
export function signedInConsole(prepare: (server: ConsoleServer) => Promise<unknown> = async () => undefined): SignedInConsole {
  const ui = {} as SignedInConsole;
  let errors: string[] = [];
  beforeAll(async () => {
    ui.server = await startConsoleServer();
    await prepare(ui.server);
    ui.browser = await launchBrowser();
    ({ page: ui.page, errors } = await openPage(await ui.browser.newContext({ viewport: desktop })));
    await signIn(ui.page, ui.server.url);
  });
  afterEach(async (context) => {
    await screenshotIfFailed(ui.page, context.task);
    expect(errors.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await ui.browser?.close();
    await ui.server?.close();
  });
  return ui;
}

/**
 * Adds an Entra ID source of the emulator's tenant to the default workspace, unscheduled, with the emulator's secret
 * unless another is given. Returns the context it was added with (for syncing or removing it).
 */
export async function addEmulatorSource(server: ConsoleServer, emulator: RunningEmulator, options: { name?: string; secret?: string } = {}) {
  const workspace = await resolveWorkspace(server.rt.store.db, "default");
  const ctx = { db: server.rt.store.db, workspace, actor: "test", secrets: server.rt.secrets, entraCustomUrls: true };
  const config = { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: null };
  await createEntraSource(ctx, { name: options.name ?? "contoso", config, credential: { kind: "secret", secret: options.secret ?? emulator.clientSecret } });
  return ctx;
}
