import { describe, expect, it } from "vitest";
import { recordChange } from "../../src/core/change-log.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * The Activity page's By filter takes an actor as the page shows it ("alice (CLI)", 'API token "deploy"',
 * "SCIM (Entra push)"), not only as stored (cli:alice, token:deploy, scim:Entra push): typed from what one reads,
 * it lists that actor's entries and no one else's.
 */
describe.skipIf(!hasChromium)("web console: the activity filtered by an actor as shown", () => {
  const entries: [actor: string, group: string][] = [
    ["cli:alice", "Alice one"], ["cli:alice", "Alice two"], ["cli:bob", "Bob one"],
    ["token:deploy", "Deploy one"], ["token:deploy by ada@example.com", "Deploy two"], ["token:deployer", "Deployer one"],
    ["scim:Entra push", "Pushed one"], ["scim:Other push", "Other one"], ["admin@rollcall.test", "Admin one"],
  ];
  const ui = signedInConsole(async (server) => {
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    for (const [actor, group] of entries) await recordChange(server.rt.store.db, { workspaceId: workspace.id, actor, subject: group, action: "create group", after: { name: group } });
  });

  it("lists only the entries of the actor typed as the page shows it", async () => {
    const { page } = ui;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Activity" }).click();
    await page.getByRole("heading", { name: "Activity", level: 1 }).waitFor();
    const items = page.locator(".history-item");
    await items.filter({ hasText: "Admin one" }).waitFor();
    const cases: [typed: string, shown: RegExp, groups: string[]][] = [
      ["alice (CLI)", /by alice \(CLI\)$/, ["Alice two", "Alice one"]],
      ['API token "deploy"', /by API token "deploy"( \(created by ada@example\.com\))?$/, ["Deploy two", "Deploy one"]],
      ["SCIM (Entra push)", /by SCIM \(Entra push\)$/, ["Pushed one"]],
    ];
    for (const [typed, shown, groups] of cases) {
      await page.getByLabel("By").fill(typed);
      await page.getByLabel("By").press("Enter");
      await page.waitForURL((url) => url.searchParams.get("actor") === typed);
      await expect.poll(async () => (await items.allTextContents()).map((text) => /^Create group (.+?) · /.exec(text)?.[1])).toEqual(groups);
      for (const head of await page.locator(".history-item .history-head").allTextContents()) expect(head).toMatch(shown);
    }
  });
});
