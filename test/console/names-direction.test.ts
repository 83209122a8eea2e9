import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";

/**
 * Names in Hebrew or Arabic among Latin ones: each is set in its own direction (dir="auto", <bdi>), so its
 * parentheses, digits and hyphens stay where its writer put them; and the search box finds names without their accents.
 */
describe.skipIf(!hasChromium)("web console: right-to-left names and accent-insensitive search", () => {
  const ui = signedInConsole(async (server) => {
    const ctx = await seedDirectory(server.rt);
    const people = [["david@contoso.com", "דוד כהן (IT)"], ["layla@contoso.com", "ليلى حداد"], ["lucja@contoso.com", "Łucja Wiśniewska-Łódź"]];
    await server.rt.store.copyRows("users", ["workspace_id", "email", "display_name", "source_type", "source_name"], people.map(([email, name]) => [ctx.workspace.id, email!, name!, "manual", "manual"]));
  });

  const direction = (locator: import("playwright-core").Locator) => locator.evaluate((el) => getComputedStyle(el).direction);

  it("sets each name in its own direction, in the list and on the user's page", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users`);
    const name = (text: string) => page.locator("tbody td.cell-name a", { hasText: text });
    await name("דוד כהן").waitFor();
    expect(await direction(name("דוד כהן"))).toBe("rtl");
    expect(await direction(name("ليلى حداد"))).toBe("rtl");
    expect(await direction(name("Łucja"))).toBe("ltr");
    await name("דוד כהן").click();
    const heading = page.locator("h1 bdi", { hasText: "דוד כהן (IT)" });
    await heading.waitFor();
    expect(await direction(heading)).toBe("rtl");
  });

  it("finds Łódź by lodz, from the search box", async () => {
    const { page, server } = ui;
    await page.goto(`${server.url}/w/default/users`);
    await page.getByLabel("Search").fill("lodz");
    await expect.poll(() => page.locator("tbody td.cell-name a").allTextContents()).toEqual(["Łucja Wiśniewska-Łódź"]);
  });
});
