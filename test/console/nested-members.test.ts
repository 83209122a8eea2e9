import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";
import { addMember, createGroup } from "../../src/core/groups.ts";

/**
 * "All staff" = {group Engineering, group Research}: its "Show members in the users table" listed no one, its
 * members being groups. The link now ticks "Include nested groups" for a group that holds groups, and the
 * Users page's checkbox adds or drops the nested groups' members.
 */
describe.skipIf(!hasChromium)("web console: a group's members including those of its nested groups", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    await createGroup(ctx, { name: "All staff" });
    for (const group of ["Engineering", "Research"]) await addMember(ctx, "All staff", group);
  });
  const count = () => ui.page.locator(".page-head > div > p.muted").textContent();
  const nestedBox = () => ui.page.getByRole("checkbox", { name: "Include nested groups" });

  it("shows a group of groups' members with the nested groups ticked; unticked, its direct members (none)", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/All%20staff`);
    await page.getByRole("heading", { name: "All staff", level: 1 }).waitFor();
    const link = page.getByRole("link", { name: "Show members in the users table" });
    await expect.poll(() => link.getAttribute("href")).toMatch(/group=All%20staff&nested=true$/);
    await link.click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    await expect.poll(count).toBe("6 matching");
    expect(await nestedBox().isChecked()).toBe(true);
    const names = await page.locator("tbody tr").allTextContents();
    for (const name of ["Ada Lovelace", "Grace Hopper", "Margaret Hamilton", "Katherine Johnson", "Alan Turing", "Edsger Dijkstra"]) expect(names.join(" ")).toContain(name);
    // The export (in the closed Export menu) takes the same filter.
    expect(await page.locator(".menu a[download]", { hasText: "CSV" }).getAttribute("href")).toContain("group=All+staff&nested=true");

    await nestedBox().uncheck();
    await expect.poll(count).toBe("0 matching");
    expect(new URL(page.url()).searchParams.get("nested")).toBeNull();
    await nestedBox().check();
    await expect.poll(count).toBe("6 matching");
    expect(new URL(page.url()).searchParams.get("nested")).toBe("true");

    // Removing the group filter takes the checkbox with it: nested alone filters nothing.
    await page.getByRole("button", { name: "Remove group filter All staff" }).click();
    await expect.poll(count).toBe("7 in this workspace");
    expect(await nestedBox().count()).toBe(0);
    expect(new URL(page.url()).searchParams.get("nested")).toBeNull();
  });

  it("links a group of users alone to its direct members, the checkbox unticked", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/groups/Engineering`);
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    await page.locator(".member-list li").first().waitFor();
    const link = page.getByRole("link", { name: "Show members in the users table" });
    await link.click();
    await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
    expect(new URL(page.url()).searchParams.get("nested")).toBeNull();
    await expect.poll(count).toBe("3 matching");
    expect(await nestedBox().isChecked()).toBe(false);
  });
  it("shows a user's groups through nesting apart from their own, each with the group it comes through, and a group's users at any depth", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/users/ada@contoso.com`);
    await page.getByRole("heading", { name: "Ada Lovelace", level: 1 }).waitFor();
    const groups = page.locator("section", { has: page.getByRole("heading", { name: "Groups", level: 2 }) });
    expect(await groups.getByRole("list", { name: "Direct groups" }).getByRole("listitem").allTextContents()).toEqual(["Engineering"]);
    await groups.getByRole("heading", { name: "Through nested groups", level: 3 }).waitFor();
    const nested = groups.getByRole("list", { name: "Through nested groups" });
    expect(await nested.getByRole("listitem").allTextContents()).toEqual(["All staff through Engineering"]);
    await nested.getByRole("link", { name: "All staff" }).click();
    await page.getByRole("heading", { name: "All staff", level: 1 }).waitFor();
    expect((await page.locator(".page-head > div > p.muted").textContent())!.replace(/\s+/g, " ")).toContain("2 members · 6 users at any depth");
    // A group of users alone says nothing more than its count.
    await page.goto(`${ui.server.url}/w/default/groups/Engineering`);
    await page.getByRole("heading", { name: "Engineering", level: 1 }).waitFor();
    expect(await page.locator(".page-head > div > p.muted").textContent()).not.toContain("at any depth");
  });
});
