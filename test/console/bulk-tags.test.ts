import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";

/**
 * The Users page's "Add tag…" and "Remove tag…": a tag typed (the workspace's offered), refused at the field
 * when the server refuses it, confirmed with the count, for ticked users and for every user the filters match.
 */
describe.skipIf(!hasChromium)("web console: tagging selected users", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    // More users than a page shows, so that the whole page ticked offers every matching user.
    const rows = Array.from({ length: 60 }, (_, i) => [ctx.workspace.id, `shift${i}@contoso.com`, `Shift ${String(i).padStart(2, "0")}`, "import", "shifts.csv", "{Imported}"]);
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "source_type", "source_name", "tags"], rows);
  });

  it("adds a tag to ticked users, refusing a source's tag at the field, then to every matching user, and removes it from them all", async () => {
    const { page, server } = ui;
    const toolbar = page.getByRole("group", { name: "Selected users" });
    const toast = (text: string) => page.locator(".toast", { hasText: text }).waitFor();
    const api = <T,>(path: string) => page.evaluate((p) => fetch(`/api/v1/workspaces/default/${p}`).then((r) => r.json()), path) as Promise<T>;

    await page.goto(`${server.url}/w/default/users?source=shifts.csv`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 60");
    for (const name of ["Shift 00", "Shift 01"]) await page.getByRole("checkbox", { name: `Select ${name}` }).check();
    await toolbar.getByRole("button", { name: "Add tag…" }).click();
    const adding = page.getByRole("dialog", { name: "Tag 2 users" });
    const field = adding.getByLabel("Tag");
    const confirm = adding.getByRole("button", { name: "Add tag to 2 users" });
    await confirm.click();
    await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
    expect(await adding.locator(".field-error").textContent()).toBe("Must not be empty");
    await field.fill("ID synced");
    await confirm.click();
    await expect.poll(() => adding.locator(".field-error").textContent()).toMatch(/^"ID synced" is a source's tag: .* it cannot be added by hand$/);
    await field.fill("Night shift");
    expect(await adding.locator(".field-error").count()).toBe(0);
    await confirm.click();
    await toast("Tagged \u2068Night shift\u2069: 2 users");
    await expect.poll(() => toolbar.count()).toBe(0);
    await expect.poll(() => page.locator("tbody tr", { hasText: "Shift 01" }).locator(".tags").textContent()).toContain("Night shift");

    // Every matching user: the workspace's tags are offered, and those who have it already are counted apart.
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 60 matching users" }).click();
    await toolbar.getByRole("button", { name: "Add tag…" }).click();
    const addingAll = page.getByRole("dialog", { name: "Tag 60 users" });
    const suggestions = () => addingAll.locator("datalist option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    await expect.poll(suggestions).toEqual(["Night shift"]);
    await addingAll.getByLabel("Tag").fill("Night shift");
    await addingAll.getByRole("button", { name: "Add tag to 60 users" }).click();
    await toast("Tagged \u2068Night shift\u2069: 58 users; 2 already tagged");
    expect((await api<{ total: number }>("users?tag=Night%20shift&limit=1")).total).toBe(60);

    // Removed, in another case, from every user the tag filter matches.
    await page.goto(`${server.url}/w/default/users?tag=Night%20shift`);
    await expect.poll(() => page.locator(".pager-count").textContent()).toBe("1–50 of 60");
    await page.getByRole("checkbox", { name: "Select every user on this page" }).check();
    await toolbar.getByRole("button", { name: "Select all 60 matching users" }).click();
    await toolbar.getByRole("button", { name: "Remove tag…" }).click();
    const removing = page.getByRole("dialog", { name: "Remove a tag from 60 users" });
    await removing.getByLabel("Tag").fill("night shift");
    await removing.getByRole("button", { name: "Remove tag from 60 users" }).click();
    await toast("Removed tag \u2068night shift\u2069 from 60 users");
    await page.getByText("No users match these filters").waitFor();

    const history = await api<{ items: { action: string; actor: string; before: unknown; after: unknown }[] }>("users/shift1@contoso.com/changes");
    expect(history.items.map(({ action, before, after }) => ({ action, before, after }))).toEqual([
      { action: "update", before: { tags: ["Imported", "Night shift"] }, after: { tags: ["Imported"] } },
      { action: "update", before: { tags: ["Imported"] }, after: { tags: ["Imported", "Night shift"] } },
    ]);
  });
});
