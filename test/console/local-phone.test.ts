import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * A first user added by hand, with the mobile number as people write it at home: refused at the field (a new
 * workspace has no default country), saying where to set one, and taken once it is set there.
 */
describe.skipIf(!hasChromium)("web console: a local phone number in a workspace without a default country", () => {
  const ui = signedInConsole();

  it("says at the field where the default country is set, and takes the number once it is", async () => {
    const { page } = ui;
    await page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Paula Manual");
    await dialog.getByLabel("Email").fill("paula@example.org");
    await dialog.getByLabel("Mobile phone").fill("07911 123456");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await expect.poll(() => dialog.locator(".field-error").first().textContent()).toBe(
      '"07911 123456" is not a phone number in international format: write it with its +country code, or set the workspace\'s default country (the console\'s Settings, or rollcall workspaces update --default-country) to read local numbers',
    );
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByLabel("Default country").fill("GB");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect.poll(() => page.getByLabel("Default country").inputValue()).toBe("GB");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
    await page.getByRole("button", { name: "Add user" }).first().click();
    await dialog.getByLabel("Display name").fill("Paula Manual");
    await dialog.getByLabel("Email").fill("paula@example.org");
    await dialog.getByLabel("Mobile phone").fill("07911 123456");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("heading", { name: "Paula Manual", level: 1 }).waitFor();
    await page.locator(".prop", { hasText: "Mobile phone" }).getByText("+447911123456").waitFor();
  });
});
