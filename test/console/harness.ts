import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { loadConfig } from "../../src/config.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { startServer } from "../../src/api/server.ts";
import { ensureConsoleBuilt } from "../../src/console/build.ts";
import { freshDataFolder } from "../support/db.ts";

/**
 * The console's end-to-end harness: the real server (`startServer`) on a temporary PGlite data folder
 * with a known admin password, the console built by Vite, and Debian's Chromium driven by playwright-core.
 */
export const chromiumPath = process.env.ROLLCALL_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(chromiumPath);
export const admin = { email: "admin@rollcall.test", password: "correct horse battery staple" };

export interface ConsoleServer {
  url: string;
  rt: Runtime;
  close(): Promise<void>;
}

/** `env`: settings of the server beyond the harness's own (which it may override). */
export async function startConsoleServer(env: Record<string, string> = {}): Promise<ConsoleServer> {
  await ensureConsoleBuilt();
  const dataDir = freshDataFolder("rollcall-console-");
  const config = loadConfig({
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_ADMIN_EMAIL: admin.email,
    ROLLCALL_ADMIN_PASSWORD: admin.password,
    ROLLCALL_LOG_LEVEL: "silent",
    ROLLCALL_COOKIE_SECURE: "false",
    ROLLCALL_ENTRA_CUSTOM_URLS: "true",
    ...env,
  });
  const rt = await openRuntime(config, { command: "console-test" });
  const server = await startServer(rt, { host: "127.0.0.1", port: 0, print: () => {} });
  return {
    url: server.url,
    rt,
    async close() {
      await server.close();
      await rt.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const launchArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * Its contexts read and write en-US (numbers as 100,000, dates as "Dec 7, 2026"), as the tests expect, whatever the
 * machine's LANG: the console formats with the browser's locale, which Chromium otherwise takes from the environment.
 */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: launchArgs });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = (options = {}) => newContext({ locale: "en-US", ...options });
  return browser;
}

export const desktop = { width: 1280, height: 800 };
export const phone = { width: 390, height: 844 };

/**
 * A page that records every browser console error and uncaught exception. The one kind of message
 * ignored is Chromium's own "Failed to load resource" line for a 4xx answer from /api/: those are
 * answers the console handles and shows (a 401 before sign-in, a 400 with field errors), not faults.
 */
export async function openPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  const handledApiFailures = new Set<string>();
  page.on("response", (response) => {
    if (response.url().includes("/api/") && response.status() >= 400 && response.status() < 500) handledApiFailures.add(response.url());
  });
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() !== "error") return;
    const location = message.location().url;
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()) && handledApiFailures.has(location)) return;
    errors.push(`console.error: ${message.text()} (${location})`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return { page, errors };
}

/** After a failed test: what its page showed, as a PNG in the temp folder named after the test. */
export async function screenshotIfFailed(page: Page | undefined, test: { name: string; result?: { state: string } }): Promise<void> {
  if (test.result?.state === "fail") await page?.screenshot({ path: join(tmpdir(), `rollcall-console-failed-${test.name.slice(0, 40).replace(/\W+/g, "-")}.png`) });
}

export async function signIn(page: Page, baseUrl: string, who: { email: string; password: string } = admin): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
}
