import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/** A save with several wrong fields marks every one of them at once, not one per attempt. */
describe.skipIf(!hasChromium)("web console: notification settings with several wrong fields", () => {
  const ui = signedInConsole();

  it("shows the e-mail recipients' and the webhook URL's errors together", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "Settings" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Notifications", level: 2 }) });
    const emails = section.getByLabel("E-mail recipients");
    const url = section.getByLabel("Webhook URL");
    await emails.fill("it-ops@contoso.com\nnot-an-email");
    await url.fill("ftp://hooks.contoso.com/rollcall");
    await section.getByRole("button", { name: "Save notification settings" }).click();
    await expect.poll(() => emails.getAttribute("aria-invalid")).toBe("true");
    expect(await url.getAttribute("aria-invalid")).toBe("true");
    expect(await section.locator(".field-error").allTextContents()).toEqual([expect.stringContaining("not-an-email"), expect.stringContaining("https://")]);
  });
});
