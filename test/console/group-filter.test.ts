import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";
import { createGroup } from "../../src/core/groups.ts";

/**
 * The Users page's Group filter in a workspace where many groups' names hold the name typed: the one named
 * exactly is asked of the server, wherever it would come in a list of the names containing it.
 */
describe.skipIf(!hasChromium)("web console: the Users page's group filter among many similar names", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    // 25 names containing "research" that sort before "Research" itself.
    for (let i = 1; i <= 25; i++) await createGroup(ctx, { name: `Applied research ${String(i).padStart(2, "0")}` });
  });

  it("filters by the group named in full, in any case, and by nothing for a part of a name", async () => {
    const groupField = ui.page.getByLabel("Group", { exact: true });
    await groupField.fill("applied research");
    await groupField.press("Enter");
    // A part of a name filters by nothing, and says that no group has that name.
    await ui.page.getByText('No group is named "applied research": pick one from the list as you type.').waitFor();
    expect(await groupField.getAttribute("aria-invalid")).toBe("true");
    expect(new URL(ui.page.url()).searchParams.get("group")).toBeNull();
    await groupField.fill("RESEARCH");
    expect(await groupField.getAttribute("aria-invalid")).not.toBe("true");
    await groupField.press("Enter");
    await ui.page.waitForURL(/group=Research/);
    await expect.poll(() => ui.page.locator("tbody tr").count()).toBe(3);
    expect(await ui.page.locator("tbody").textContent()).toContain("Alan Turing");
  });
});
