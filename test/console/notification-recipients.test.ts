import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * The e-mail recipients are one address per line (or separated by commas or semicolons): a line that is not an
 * address, such as a name with its address as a mail program copies it, is named whole in the error, not in pieces.
 */
describe.skipIf(!hasChromium)("web console: notification recipients", () => {
  const ui = signedInConsole();

  it("names a line that is not an address as typed, and still reads addresses separated by spaces", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "Settings" }).click();
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Notifications", level: 2 }) });
    const emails = section.getByLabel("E-mail recipients");
    const save = section.getByRole("button", { name: "Save notification settings" });

    await emails.fill("it-ops@contoso.com\nSecurity Team <security@contoso.com>");
    await save.click();
    await expect.poll(() => emails.getAttribute("aria-invalid")).toBe("true");
    expect(await section.locator(".field-error").textContent()).toContain("Not valid email addresses: Security Team <security@contoso.com>");

    await emails.fill("it-ops@contoso.com security@contoso.com; desk@contoso.com");
    await save.click();
    await expect.poll(() => emails.getAttribute("aria-invalid")).toBeNull();
    await expect.poll(() => page.evaluate(() => fetch("/api/v1/workspaces/default/notification-settings").then((r) => r.json() as Promise<{ emailTo: string[] }>).then((s) => s.emailTo))).toEqual([
      "it-ops@contoso.com",
      "security@contoso.com",
      "desk@contoso.com",
    ]);
  });
});
