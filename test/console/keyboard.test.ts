import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/** Keyboard focus where an admin working without a mouse expects it: never dropped on the page's body. */
describe.skipIf(!hasChromium)("web console: keyboard focus", () => {
  const ui = signedInConsole();
  const focused = () => ui.page.evaluate(() => {
    const el = document.activeElement;
    return el === document.body || !el ? "body" : `${el.tagName.toLowerCase()}${el.getAttribute("aria-label") ? `[${el.getAttribute("aria-label")}]` : ""}:${(el.textContent ?? "").trim() || (el as HTMLInputElement).value || el.id}`;
  });

  it("a form's submit pressed with the keyboard keeps focus in the form once saved, though the button is disabled then", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/settings`);
    await page.getByLabel("Default country").fill("GB");
    await page.getByRole("button", { name: "Save" }).first().focus();
    await page.keyboard.press("Enter");
    await page.locator(".toast", { hasText: "Settings saved" }).waitFor();
    await expect.poll(focused).toBe("input:GB");
  });

  it("the phone-width menu takes focus, closes on Escape with focus back on its button, and the page behind is inert meanwhile", async () => {
    const page = ui.page;
    await page.setViewportSize({ width: 600, height: 800 });
    await page.goto(`${ui.server.url}/w/default/users`);
    const menu = page.getByRole("button", { name: "Menu" });
    await menu.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("true");
    await expect.poll(() => page.evaluate(() => document.getElementById("sidebar")!.contains(document.activeElement))).toBe(true);
    expect(await page.locator("main#main").getAttribute("inert")).not.toBeNull();
    await page.keyboard.press("Escape");
    await expect.poll(() => menu.getAttribute("aria-expanded")).toBe("false");
    expect(await page.evaluate(() => document.activeElement?.classList.contains("menu-button"))).toBe(true);
    expect(await page.locator("main#main").getAttribute("inert")).toBeNull();
  });
});
