import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";
import { seedDirectory } from "./seed.ts";

/**
 * A phone number typed with an extension is saved in E.164, without it: the user's page says so after the save,
 * naming the field as the form labels it, on adding (the page the console opens) and on editing.
 */
describe.skipIf(!hasChromium)("web console: what a saved user's values lost", () => {
  const ui = signedInConsole((server) => seedDirectory(server.rt));

  const notice = () => ui.page.locator(".save-warnings");

  it("says on the new user's page that the mobile phone's extension was dropped, once", async () => {
    await ui.page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = ui.page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Frances Allen");
    await dialog.getByLabel("Email").fill("frances@contoso.com");
    await dialog.getByLabel("Mobile phone").fill("+1 425 555 0100 ext. 123");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await ui.page.getByRole("heading", { name: "Frances Allen", level: 1 }).waitFor();
    await expect.poll(() => notice().textContent()).toContain(
      'Mobile phone: "+1 425 555 0100 ext. 123" has the extension 123, which a phone number in E.164 cannot hold: kept +14255550100 without it',
    );
    expect(await notice().getAttribute("role")).toBe("status");
    // The user's history keeps it; the notice belongs to the save and is gone on the next visit.
    await expect.poll(() => ui.page.locator(".history").textContent()).toContain("has the extension 123");
    await ui.page.reload();
    await ui.page.getByRole("heading", { name: "Frances Allen", level: 1 }).waitFor();
    expect(await notice().count()).toBe(0);
  });

  it("says after an edit which business phone lost its extension, and nothing after an edit that lost none", async () => {
    await ui.page.getByRole("button", { name: "Edit" }).click();
    const dialog = ui.page.getByRole("dialog", { name: /Edit Frances Allen/ });
    // One phone per line, as the field says: the comma before the extension does not split the number.
    await dialog.getByLabel("Business phones").fill("+44 20 7946 0000\n+1 425 555 0199, ext. 77");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => notice().textContent()).toContain('Business phones, line 2: "+1 425 555 0199, ext. 77" has the extension 77');
    expect(await notice().textContent()).not.toContain("Mobile phone");

    await ui.page.getByRole("button", { name: "Dismiss" }).click();
    expect(await notice().count()).toBe(0);
    await ui.page.getByRole("button", { name: "Edit" }).click();
    await dialog.getByLabel("Job title").fill("Professor");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "hidden" });
    await ui.page.getByText("Professor").first().waitFor();
    expect(await notice().count()).toBe(0);
  });
});
