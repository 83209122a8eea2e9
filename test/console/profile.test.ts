import { describe, expect, it } from "vitest";
import { hasChromium } from "./harness.ts";
import { signedInConsole } from "./signed-in.ts";

/** The profile says what the signed-in account may do: an owner administers every workspace, as Settings > Admins says. */
describe.skipIf(!hasChromium)("web console: the profile of an owner", () => {
  const ui = signedInConsole();

  it("says the owner administers every workspace, not that they are an admin of each", async () => {
    await ui.page.getByTestId("account-name").click();
    await ui.page.getByTestId("profile-name").waitFor();
    const hint = ui.page.locator("main .hint").first();
    await expect.poll(() => hint.textContent()).toBe("Signed in with a Rollcall admin password. Owner: administers every workspace and its admins.");
  });
});
