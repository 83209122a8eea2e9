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
import { createEntraSource, type SourceContext } from "../../src/core/sources.ts";
import { syncSource } from "../../src/sync/service.ts";
import { createScimSource } from "../../src/core/scim-sources.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

const out = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));

if (!hasChromium) {
  console.error(`No Chromium at ${chromiumPath}; install it with \`apt-get install -y chromium\`.`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const emulator = await startTrustedEmulator({ users: 120, groups: 8, seed: 5 });
const server = await startConsoleServer();
const browser = await launchBrowser();
const problems: string[] = [];
const runs: { synced?: string; stopped?: string; preview?: string } = {};
try {
  const ctx = await seedDirectory(server.rt);
  // An Entra ID source synced from the emulator, a preview, and a run stopped at the deletion threshold.
  const sourceCtx: SourceContext = { ...ctx, secrets: server.rt.secrets, entraCustomUrls: true };
  await createEntraSource(sourceCtx, {
    name: "contoso",
    config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all", secretExpiresOn: "2027-06-30", schedule: { everyMs: 3_600_000 } },
    credential: { kind: "secret", secret: emulator.clientSecret },
  });
  // A SCIM source beside it, which Entra ID's provisioning service pushes to (its card on the Sources page, and its own page).
  await createScimSource(sourceCtx, { name: "Entra push" }, "https://rollcall.example.com");
  const deps = { store: server.rt.store, secrets: server.rt.secrets, config: server.rt.config };
  runs.synced = (await syncSource(deps, ctx.workspace, "contoso", { trigger: "manual", actor: "admin@rollcall.test" })).runId;
  const tenant = emulator.tenants.get(emulator.tenantId);
  const people = tenant.listUsers().filter((u) => u.userType !== "Guest");
  for (const user of people.slice(0, 4)) tenant.updateUser(user.id, { department: "Platform Engineering" });
  tenant.createUser({ displayName: "Joan Clarke", givenName: "Joan", surname: "Clarke" });
  runs.preview = (await syncSource(deps, ctx.workspace, "contoso", { trigger: "manual", dryRun: true, actor: "admin@rollcall.test" })).runId;
  for (const user of people.slice(10, 60)) tenant.deleteUser(user.id);
  runs.stopped = (await syncSource(deps, ctx.workspace, "contoso", { trigger: "schedule" })).runId;
  const shots: { name: string; path: string; ready: (page: Page) => Promise<unknown>; act?: (page: Page) => Promise<unknown> }[] = [
    { name: "users", path: "/w/default/users", ready: (p) => p.getByRole("link", { name: "Ada Lovelace" }).waitFor() },
    {
      name: "users-filtered",
      path: "/w/default/users?tag=ID+synced",
      ready: (p) => p.getByRole("link", { name: "Grace Hopper" }).waitFor(),
      act: (p) => p.getByText("Export", { exact: true }).click(),
    },
    {
      name: "users-bulk",
      path: "/w/default/users",
      ready: (p) => p.getByRole("link", { name: "Ada Lovelace" }).waitFor(),
      act: async (p) => {
        for (const name of ["Ada Lovelace", "Alan Turing", "Grace Hopper"]) await p.getByRole("checkbox", { name: `Select ${name}` }).check();
        await p.getByRole("group", { name: "Selected users" }).getByRole("button", { name: "Disable" }).click();
        await p.getByRole("dialog", { name: "Disable 3 users?" }).waitFor();
      },
    },
    {
      name: "users-bulk-tag",
      path: "/w/default/users",
      ready: (p) => p.getByRole("link", { name: "Ada Lovelace" }).waitFor(),
      act: async (p) => {
        for (const name of ["Ada Lovelace", "Alan Turing", "Grace Hopper"]) await p.getByRole("checkbox", { name: `Select ${name}` }).check();
        await p.getByRole("group", { name: "Selected users" }).getByRole("button", { name: "Add tag…" }).click();
        const dialog = p.getByRole("dialog", { name: "Tag 3 users" });
        await dialog.getByLabel("Tag").fill("ID synced");
        await dialog.getByRole("button", { name: "Add tag to 3 users" }).click();
        await dialog.locator(".field-error").waitFor();
      },
    },
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
    { name: "scim-source", path: "/w/default/sync/Entra%20push", ready: (p) => p.getByRole("heading", { name: "Entra push", level: 1 }).waitFor() },
    {
      name: "sync-connect",
      path: "/w/default/sync/contoso",
      ready: (p) => p.getByRole("heading", { name: "contoso", level: 1 }).waitFor(),
      act: async (p) => {
        await p.getByRole("button", { name: "Connect" }).click();
        await p.locator(".check-result").waitFor();
      },
    },
    {
      name: "source-form",
      path: "/w/default/sync/contoso",
      ready: (p) => p.getByRole("heading", { name: "contoso", level: 1 }).waitFor(),
      act: (p) => p.getByRole("button", { name: "Edit settings" }).click(),
    },
    {
      name: "source-remove",
      path: "/w/default/sync/contoso",
      ready: (p) => p.getByRole("heading", { name: "contoso", level: 1 }).waitFor(),
      act: async (p) => {
        await p.getByRole("button", { name: "Remove source" }).click();
        await p.getByRole("radio", { name: "Keep them, disabled" }).check();
      },
    },
    { name: "run-preview", path: `/w/default/runs/${runs.preview}`, ready: (p) => p.locator(".history-item").first().waitFor() },
    { name: "run-stopped", path: `/w/default/runs/${runs.stopped}`, ready: (p) => p.getByRole("heading", { name: "This run needs your review" }).waitFor() },
    {
      name: "import-preview",
      path: "/w/default/import",
      ready: (p) => p.getByRole("heading", { name: "Import users" }).waitFor(),
      act: async (p) => {
        const csv = ["Email,Display name,Department,Mobile phone,Card number", "linus@contoso.com,Linus Torvalds,Kernel,+1 415 555 0150,C-77", "not-an-email,Broken Row,Kernel,12,", "ken@contoso.com,Ken Thompson,Unix,,C-78", "grace@contoso.com,Grace Hopper,Navy,,"].join("\n");
        await p.locator("#import-file").setInputFiles({ name: "new-hires.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
        await p.getByRole("button", { name: "Check file" }).click();
        await p.getByRole("heading", { name: "What this import will do" }).waitFor();
      },
    },
    {
      name: "import-columns",
      path: "/w/default/import",
      ready: (p) => p.getByRole("heading", { name: "Import users" }).waitFor(),
      act: async (p) => {
        const csv = ["Mél professionnel,Nom affiché,Kostenstelle,Bureau", "frances@contoso.com,Frances Allen,4711,B12"].join("\n");
        await p.locator("#import-file").setInputFiles({ name: "personnel.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
        await p.getByRole("button", { name: "Check file" }).click();
        await p.getByRole("heading", { name: "Columns" }).waitFor();
        await p.getByLabel("Imported as, column Mél professionnel").selectOption({ label: "Email" });
        await p.getByRole("heading", { name: "Columns" }).evaluate((el) => el.scrollIntoView({ block: "center" }));
      },
    },
    { name: "import", path: "/w/default/import", ready: (p) => p.getByRole("heading", { level: 1 }).waitFor() },
    { name: "activity", path: "/w/default/activity", ready: (p) => p.locator(".history-item").first().waitFor() },
    { name: "settings", path: "/w/default/settings", ready: (p) => p.getByRole("heading", { name: "API tokens" }).waitFor() },
    {
      name: "settings-notifications",
      path: "/w/default/settings",
      ready: (p) => p.getByRole("heading", { name: "Delivery log" }).waitFor(),
      act: async (p) => {
        const section = p.locator("section", { has: p.getByRole("heading", { name: "Notifications", level: 2 }) });
        await section.getByLabel("E-mail recipients").fill("it-ops@contoso.com\nsecurity@contoso.com");
        await section.getByLabel("Webhook URL").fill("https://hooks.contoso.com/rollcall");
        await section.getByRole("button", { name: "Save notification settings" }).click();
        await p.getByRole("button", { name: "Done" }).click();
        await section.getByTestId("webhook-secret").getByText("Set", { exact: true }).waitFor();
        await section.getByLabel("Webhook URL").fill("http://hooks.contoso.com/rollcall");
        await section.getByRole("button", { name: "Save notification settings" }).click();
        await section.locator(".field-error").waitFor();
        await p.locator(".toast").waitFor({ state: "detached", timeout: 10_000 });
        await section.evaluate((el) => el.scrollIntoView({ block: "start" }));
      },
    },
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
      if (viewport === phone && !["users", "user", "sync", "run-stopped"].includes(shot.name)) continue;
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
  await emulator.close();
}
if (problems.length) {
  console.error(`Browser errors:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.error(`Screenshots written to ${out}`);
