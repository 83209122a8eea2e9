import { describe, expect, it } from "vitest";
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
});
