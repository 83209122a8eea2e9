import { describe, expect, it } from "vitest";
import { raiseImportFailed } from "../../src/core/notifications.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { desktop, hasChromium, phone } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

describe.skipIf(!hasChromium)("web console: the notifications banner", () => {
  const ui = signedInConsole(async (server) => {
    const workspace = await resolveWorkspace(server.rt.store.db, "default");
    for (const n of [1, 2, 3, 4]) {
      await raiseImportFailed(server.rt.store.db, { workspace, importId: `import-${n}`, fileName: `staff-${n}.csv`, message: "Row 2 has no email." });
    }
  });

  it("shows three notices on a desktop and one at phone width, each with a link to the rest", async () => {
    const page = ui.page;
    const banner = page.getByTestId("notifications-banner");
    await page.goto(`${ui.server.url}/w/default/users`);
    await banner.getByRole("link", { name: "1 more notification" }).waitFor();
    expect(await banner.locator(".banner").count()).toBe(3);

    await page.setViewportSize(phone);
    await banner.getByRole("link", { name: "3 more notifications" }).waitFor();
    expect(await banner.locator(".banner").allTextContents()).toEqual([expect.stringContaining("Import of staff-4.csv failed")]);
    await banner.getByRole("link", { name: "3 more notifications" }).click();
    await page.getByRole("heading", { name: "Notifications" }).waitFor();
    await expect.poll(() => page.locator("main tbody tr", { hasText: "failed" }).count()).toBe(4);
    await page.setViewportSize(desktop);
  });
});
