/**
 * `node bin/run-ts.js test/console/screenshots.ts`: screenshots of every console screen at 1280×800
 * (and the main ones at 390×844) into docs/screenshots/, against a seeded throwaway server.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { desktop, hasChromium, chromiumPath, launchBrowser, openPage, phone, signIn, startConsoleServer } from "./harness.ts";
import { seedDirectory } from "./seed.ts";

const out = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

if (!hasChromium) {
  console.error(`No Chromium at ${chromiumPath}; install it with \`apt-get install -y chromium\`.`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const server = await startConsoleServer();
const browser = await launchBrowser();
const problems: string[] = [];
try {
  await seedDirectory(server.rt);
  const shots: { name: string; path: string; ready: (page: Page) => Promise<unknown>; act?: (page: Page) => Promise<unknown> }[] = [
    { name: "users", path: "/w/default/users", ready: (p) => p.getByRole("link", { name: "Ada Lovelace" }).waitFor() },
    { name: "users-filtered", path: "/w/default/users?tag=ID+synced", ready: (p) => p.getByRole("link", { name: "Grace Hopper" }).waitFor() },
    {
      name: "user-form-error",
      path: "/w/default/users",
      ready: (p) => p.getByRole("link", { name: "Ada Lovelace" }).waitFor(),
      act: async (p) => {
        await p.getByRole("button", { name: "Add user" }).first().click();
        const dialog = p.getByRole("dialog", { name: "Add user" });
        await dialog.getByLabel("Display name").fill("Barbara Liskov");
        await dialog.getByLabel("Email").fill("barbara@contoso.com");
        await dialog.getByLabel("Mobile phone").fill("12");
        await dialog.getByRole("button", { name: "Add user" }).click();
        await dialog.locator(".field-error").first().waitFor();
      },
    },
    { name: "user", path: "/w/default/users/ada@contoso.com", ready: (p) => p.getByRole("heading", { name: "Ada Lovelace" }).waitFor() },
    { name: "groups", path: "/w/default/groups", ready: (p) => p.getByRole("link", { name: "Engineering" }).waitFor() },
    { name: "group", path: "/w/default/groups/Engineering", ready: (p) => p.getByRole("heading", { name: "Engineering", level: 1 }).waitFor() },
    { name: "sync", path: "/w/default/sync", ready: (p) => p.getByRole("heading", { name: "User synchronization", level: 1 }).waitFor() },
    { name: "import", path: "/w/default/import", ready: (p) => p.getByRole("heading", { level: 1 }).waitFor() },
    { name: "settings", path: "/w/default/settings", ready: (p) => p.getByRole("heading", { name: "API tokens" }).waitFor() },
  ];
  for (const viewport of [desktop, phone]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const { page, errors } = await openPage(context);
    const suffix = viewport === phone ? "-phone" : "";
    if (viewport === desktop) {
      await page.goto(`${server.url}/login`);
      await page.getByLabel("Email").waitFor();
      await page.screenshot({ path: join(out, "sign-in.png") });
    }
    await signIn(page, server.url);
    for (const shot of shots) {
      if (viewport === phone && !["users", "user", "sync"].includes(shot.name)) continue;
      await page.goto(`${server.url}${shot.path}`);
      await shot.ready(page);
      await shot.act?.(page);
      await page.waitForTimeout(150);
      await page.screenshot({ path: join(out, `${shot.name}${suffix}.png`) });
      console.error(`  ${shot.name}${suffix}.png`);
    }
    problems.push(...errors);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
if (problems.length) {
  console.error(`Browser errors:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.error(`Screenshots written to ${out}`);
