import { describe, expect, it } from "vitest";
import { getGroup, updateGroup } from "../../src/core/groups.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { hasChromium } from "./harness.ts";
import { seedDirectory } from "./seed.ts";
import { signedInConsole } from "./signed-in.ts";

/** Adding a member the group already has changes nothing (the API answers the group as it was): the page says so. */
describe.skipIf(!hasChromium)("web console: adding a group's member again", () => {
  const ui = signedInConsole((server) => seedDirectory(server.rt));

  it("says the user is already a member instead of reporting them added", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/Engineering`);
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    const field = page.getByLabel("Add a member");
    await field.fill("ADA@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.locator("#add-member-error").textContent()).toBe("ADA@contoso.com is already a member of Engineering");
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await page.locator(".toast").allTextContents()).toEqual([]);
    expect(await page.locator(".member-list li").count()).toBe(3);

    // A new member is added as before, and the message goes.
    await field.fill("katherine@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.locator(".member-list li").count()).toBe(4);
    expect(await page.locator("#add-member-error").count()).toBe(0);
  });

  it("opens a member group's page afresh: nothing typed on the group before carries over", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/Engineering`);
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    await page.getByLabel("Add a member").fill("Research");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator(".member-list").getByRole("link", { name: "Research" }).waitFor();
    // Half-typed, then the member group followed: one click on Add must not put this into Research.
    await page.getByLabel("Add a member").fill("someone@example.com");
    await page.locator(".member-list").getByRole("link", { name: "Research" }).click();
    await page.getByRole("heading", { name: "Research", level: 1 }).waitFor();
    expect(await page.getByLabel("Add a member").inputValue()).toBe("");
    expect(await page.locator(".member-list li").count()).toBe(3);
  });

  it("refuses to save a group's edit made on a version another admin changed meanwhile, opened by its name", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/Research`);
    await page.getByRole("heading", { name: "Research", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Edit", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Edit Research" });
    await dialog.getByLabel("Description").fill("Labs");
    const ctx = { db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default"), actor: "another admin" };
    await updateGroup(ctx, "Research", { description: "Labs, theory and field work" });
    await dialog.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => dialog.textContent()).toContain("The group was changed since you read it");
    expect((await getGroup(ctx, "Research")).description).toBe("Labs, theory and field work");
  });
});
