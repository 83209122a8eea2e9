import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { createGroup, getGroup, updateGroup } from "../../src/core/groups.ts";
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

  it("shows a big group's first page of members with the count, more on request, filters on the server, and removes without reloading", async () => {
    const page = ui.page;
    const ctx = { db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default"), actor: "test" };
    await sql`insert into users (workspace_id, email, display_name, source_type, source_name)
      select ${ctx.workspace.id}, 'crew' || lpad(i::text, 2, '0') || '@contoso.com', 'Crew ' || lpad(i::text, 2, '0'), 'manual', 'manual' from generate_series(1, 60) i`.execute(ctx.db);
    await sql`insert into groups (workspace_id, name, source_type, source_name) values (${ctx.workspace.id}, 'Crew', 'manual', 'manual')`.execute(ctx.db);
    await sql`insert into group_members (workspace_id, group_id, member_user_id)
      select ${ctx.workspace.id}, (select id from groups where name = 'Crew'), id from users where email like 'crew%'`.execute(ctx.db);
    const asked: string[] = [];
    page.on("request", (request) => asked.push(new URL(request.url()).pathname + new URL(request.url()).search));

    await page.goto(`${ui.server.url}/w/default/groups/Crew`);
    await page.getByRole("heading", { name: "Crew", level: 1 }).waitFor();
    const items = page.locator(".member-list li");
    await expect.poll(() => items.count()).toBe(50);
    expect(await page.locator("#member-count").textContent()).toBe("Showing 50 of 60");
    await page.getByRole("button", { name: "Show 10 more" }).click();
    await expect.poll(() => items.count()).toBe(60);
    expect(await items.last().textContent()).toContain("crew60@contoso.com");
    expect(await page.getByRole("button", { name: /^Show \d+ more$/ }).count()).toBe(0);

    // Removing one: the count and the list follow from the answer, the group is not loaded again.
    const before = asked.length;
    await page.getByRole("button", { name: "Remove crew07@contoso.com from Crew" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove member" }).click();
    await expect.poll(() => items.count()).toBe(59);
    await page.getByText(/^59 members ·/).waitFor();
    expect(asked.slice(before).filter((url) => url.startsWith("/api/v1/workspaces/default/groups/") && !url.includes("/changes") && !url.includes("/members/"))).toEqual([]);

    // The filter asks the server, which finds members on pages not shown.
    await page.getByLabel("Filter members").fill("crew5");
    await expect.poll(() => items.count()).toBe(10);
    expect(asked.some((url) => url.includes("/members?") && url.includes("q=crew5"))).toBe(true);
    expect(await page.locator("#member-count").textContent()).toBe("10 matching");
  });
  it("adds a group whose name holds a comma as one member, shows the groups a group is in, and says which it leaves on delete", async () => {
    const page = ui.page;
    const ctx = { db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default"), actor: "test" };
    await createGroup(ctx, { name: "Printer room 3, 2nd floor" });
    await page.goto(`${ui.server.url}/w/default/groups/Research`);
    await page.getByRole("heading", { name: "Research", level: 1 }).waitFor();
    // Not split at its comma into two "users" (it was, and neither was found).
    await page.getByLabel("Add a member").fill("Printer room 3, 2nd floor");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator(".member-list").getByRole("link", { name: "Printer room 3, 2nd floor" }).click();

    await page.getByRole("heading", { name: "Printer room 3, 2nd floor", level: 1 }).waitFor();
    const memberOf = page.locator(".prop", { has: page.locator("dt", { hasText: "Member of" }) }).locator("dd");
    await expect.poll(() => memberOf.textContent()).toBe("Research");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Delete Printer room 3, 2nd floor?" });
    expect(await dialog.textContent()).toContain("It leaves the group it is in: Research.");
    await dialog.getByRole("button", { name: "Delete group" }).click();
    await page.getByRole("heading", { name: "Groups", level: 1 }).waitFor();

    // Research's history says the group left it, and why.
    await page.goto(`${ui.server.url}/w/default/groups/Research`);
    const history = page.locator("section", { has: page.getByRole("heading", { name: "History" }) }).locator(".history-item");
    await expect.poll(() => history.first().textContent()).toMatch(/^Removed from group Research Printer room 3, 2nd floor · .*group "Printer room 3, 2nd floor" was deleted/);
    // Several emails pasted are still added at once.
    await page.getByLabel("Add a member").fill("katherine@contoso.com, alan@contoso.com ada@contoso.com");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(async () => (await getGroup(ctx, "Research")).members).toContain("ada@contoso.com");
  });
  it("lists only the groups of one kind of source, kept in the address", async () => {
    const page = ui.page;
    const ctx = { db: ui.server.rt.store.db, workspace: await resolveWorkspace(ui.server.rt.store.db, "default"), actor: "test" };
    await createGroup(ctx, { name: "All Staff" }, { type: "entra", name: "Contoso", id: null, externalId: "00000000-0000-4000-8000-0000000000a1" });
    await page.goto(`${ui.server.url}/w/default/groups`);
    const names = page.locator("table tbody tr td:first-child");
    await expect.poll(() => names.allTextContents()).toContain("All Staff");
    await page.getByLabel("Source").selectOption({ label: "Synced from Entra ID" });
    await expect.poll(() => names.allTextContents()).toEqual(["All Staff"]);
    expect(new URL(page.url()).searchParams.get("sourceType")).toBe("entra");
    expect(await page.locator(".page-head .muted").textContent()).toBe("1 matching");
    await page.getByLabel("Source").selectOption({ label: "Yours to change (created here or imported)" });
    await expect.poll(() => names.allTextContents()).not.toContain("All Staff");
    expect(await names.allTextContents()).toEqual(expect.arrayContaining(["Engineering", "Research"]));
    await page.reload();
    await expect.poll(() => page.getByLabel("Source").inputValue()).toBe("manual,import");
  });
});
