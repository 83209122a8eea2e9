import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";
import { createUser } from "../../src/core/users.ts";

/**
 * The Users page's Tag filter: the workspace's tags with their counts (sources' apart), one whatever its case, kept in
 * the address; the tag dialog offering the workspace's tags, not only the ticked users' own; the counts read again after.
 */
describe.skipIf(!hasChromium)("web console: the Users page's tag filter and the tag dialog's suggestions", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    for (const [displayName, tag] of [["Vera One", "VIP"], ["Vera Two", "vip"], ["Vera Three", "vip"], ["Nina Night", "Night shift"]] as const) {
      await createUser(ctx, { displayName, email: `${displayName.replace(" ", ".").toLowerCase()}@contoso.com`, tags: [tag] });
    }
  });

  it("filters by a picked tag in any spelling, in the address; offers the workspace's tags to add, and counts again after", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users`);
    const picker = page.getByLabel("Tag", { exact: true });
    const options = () => picker.locator("option").allTextContents();
    await expect.poll(options).toEqual(["Any tag", "ID synced (3)", "Imported (2)", "Manual (6)", "Night shift (1)", "vip (3)"]);
    expect(await picker.locator("optgroup").evaluateAll((gs) => gs.map((g) => (g as HTMLOptGroupElement).label))).toEqual(["Sources' tags", "Tags given here"]);

    // One tag whatever its case: "VIP" and "vip" alike.
    await picker.selectOption({ label: "vip (3)" });
    await page.waitForURL(/tag=vip/);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–3 of 3");
    expect((await page.locator("tbody").textContent())!).toContain("Vera One");

    // Kept in the address, in another case too: a reload shows the same filter, picked.
    await page.goto(`${server.url}/w/default/users?tag=VIP`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–3 of 3");
    await expect.poll(() => picker.inputValue()).toBe("vip");

    // The dialog offers the workspace's tags, with how many hold each, not only the ticked users' own.
    const toolbar = page.getByRole("group", { name: "Selected users" });
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Add tag…" }).click();
    const adding = page.getByRole("dialog", { name: "Tag 3 users" });
    const suggestions = (dialog: typeof adding) => dialog.locator("datalist option").evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, (o as HTMLOptionElement).label]));
    await expect.poll(() => suggestions(adding)).toEqual([["Night shift", "1 user"], ["vip", "3 users"]]);
    await adding.getByLabel("Tag").fill("Night shift");
    await adding.getByRole("button", { name: "Add tag to 3 users" }).click();
    await page.locator(".toast", { hasText: "Tagged \u2068Night shift\u2069: 3 users" }).waitFor();

    // Counted again without a reload.
    await expect.poll(options).toEqual(["Any tag", "ID synced (3)", "Imported (2)", "Manual (6)", "Night shift (4)", "vip (3)"]);

    // Removing from ticked users offers what they hold.
    await page.getByRole("checkbox", { name: "Select Vera One" }).check();
    await toolbar.getByRole("button", { name: "Remove tag…" }).click();
    const removing = page.getByRole("dialog", { name: "Remove a tag from 1 user" });
    await expect.poll(() => suggestions(removing)).toEqual([["Night shift", ""], ["VIP", ""]]);
  });
});
