import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Browser, Page } from "playwright-core";
import { desktop, launchBrowser, openPage, screenshotIfFailed, signIn, startConsoleServer, type ConsoleServer } from "./harness.ts";

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
