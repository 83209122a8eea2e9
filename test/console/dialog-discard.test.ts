import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/**
 * A dialog holding a half-filled form does not throw it away on Escape, a click outside it or its ×: it asks
 * first. A form left as it opened closes at once.
 */
describe.skipIf(!hasChromium)("web console: leaving a dialog with unsaved changes", () => {
  const ui = signedInConsole();

  it("closes an untouched form at once", async () => {
    const page = ui.page;
    await page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("asks before Escape, a click outside or × discard what was typed", async () => {
    const page = ui.page;
    await page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Display name").fill("Barbara Liskov");

    await page.keyboard.press("Escape");
    const question = dialog.getByRole("alertdialog", { name: "Discard your changes?" });
    await question.waitFor();
    await question.getByRole("button", { name: "Keep editing" }).click();
    await question.waitFor({ state: "detached" });
    expect(await dialog.getByLabel("Display name").inputValue()).toBe("Barbara Liskov");

    await page.mouse.click(5, 5); // on the backdrop, outside the dialog
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.getByLabel("Display name").inputValue()).toBe("Barbara Liskov");

    await dialog.getByRole("button", { name: "Close" }).click();
    await question.getByRole("button", { name: "Discard changes" }).click();
    await dialog.waitFor({ state: "hidden" });

    // Discarded: the form opens empty again.
    await page.getByRole("button", { name: "Add user" }).first().click();
    expect(await dialog.getByLabel("Display name").inputValue()).toBe("");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("asks for a group's form too", async () => {
    const page = ui.page;
    await page.getByRole("link", { name: "Groups" }).first().click();
    await page.getByRole("button", { name: "New group" }).first().click();
    const dialog = page.getByRole("dialog", { name: "New group" });
    await dialog.getByLabel("Name").fill("Front office");
    await page.keyboard.press("Escape");
    await dialog.getByRole("alertdialog", { name: "Discard your changes?" }).waitFor();
    expect(await dialog.getByLabel("Name").inputValue()).toBe("Front office");
    // A second Escape while asked discards.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });
});
