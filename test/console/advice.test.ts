import { afterAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { scanNotifications } from "../../src/core/notification-scan.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import { hasChromium } from "./harness.ts";
import { addEmulatorSource, signedInConsole } from "./signed-in.ts";
import { importAdvice, sourceAdvice } from "../../src/console/advice.ts";
import { mapColumns } from "../../src/sources/import/mapping.ts";
import { tokenError } from "../../src/sources/entra/token.ts";
import { missingGroupsAdvice } from "../../src/sources/entra/groups.ts";
import { adviceFor } from "../../src/sources/entra/advice.ts";

/** The server's advice for a source, as the console words it: its buttons and fields, not the CLI's flags. */
describe("the console's words for a source's advice", () => {
  const source = { name: "Contoso EU", workspace: "acme" };
  const advised = (code: number) => adviceFor(tokenError(401, { error: "invalid_client", error_codes: [code] }).message, source);

  it("says where to replace a wrong, expired or missing client secret", () => {
    expect(sourceAdvice(advised(7000215))).toBe(
      "AADSTS7000215: Wrong client secret. In App registrations > your app > Certificates & secrets, copy the secret's Value (not its Secret ID), or create a new secret, then paste its Value in the source's Edit settings > Replace secret.",
    );
    expect(sourceAdvice(advised(7000222))).toContain("then paste its Value in the source's Edit settings > Replace secret, with its expiry date.");
    expect(sourceAdvice(advised(7000218))).toBe("AADSTS7000218: No client secret is stored for this source. Set one in the source's Edit settings > Replace secret.");
  });

  it("says where to correct missing groups, and how to apply a run the threshold stopped", () => {
    const missing = sourceAdvice(adviceFor(missingGroupsAdvice(["Pilots"], ["scope", "synced"]), source));
    expect(missing).toMatch(/Then correct the source's groups \(in the source's Edit settings\)\.$/);
    const stopped = "Stopped before applying anything: this run would disable or delete 30 of the 40 users the source holds (threshold: more than 10% and more than 20). Check the source's scope in Entra ID; if the removals are expected, run it once with --force (or approve the run).";
    expect(sourceAdvice(stopped)).toMatch(/if the removals are expected, apply it with Apply these changes on the run's page\.$/);
  });

  it("leaves the CLI's command out of every message, and other messages as they are", () => {
    for (const code of [7000215, 7000222, 7000218]) expect(sourceAdvice(advised(code))).not.toMatch(/rollcall|--/);
    expect(sourceAdvice("AADSTS90002: Unknown directory (tenant) ID.")).toBe("AADSTS90002: Unknown directory (tenant) ID.");
  });
});

describe("the console's words for an import's advice", () => {
  it("names the Import page's fields and steps where the server names the CLI's options", () => {
    let refusal = "";
    try {
      mapColumns(["Email", "Name", "Name"]);
    } catch (error) {
      refusal = (error as Error).message;
    }
    expect(refusal).toContain("--mapping FILE");
    expect(importAdvice(refusal)).toMatch(/Rename the columns, or say which field each column holds \(in the Columns step\)\.$/);
    const manual = "\"ada@example.com\" belongs to Ada <ada@example.com>, who was added by hand; import with --update-existing to take the user over";
    expect(importAdvice(manual)).toMatch(/who was added by hand; tick Take over existing users with the same email to take the user over$/);
    expect(importAdvice('Sheet "Notes" (of "Notes", "Staff"; choose another with --sheet, or the console\'s Sheet list): no column holds the email')).toBe('Sheet "Notes" (of "Notes", "Staff"; choose another in the Sheet list): no column holds the email');
  });
});

describe.skipIf(!hasChromium)("web console: what to do about a wrong client secret", () => {
  let emulator: RunningEmulator;
  const ui = signedInConsole(async (server) => {
    emulator = await startTrustedEmulator({ users: 5, groups: 1, seed: 5 });
    await addEmulatorSource(server, emulator, { secret: "abc8Q~not-the-secret-value-of-this-app" });
  });
  afterAll(() => emulator?.close());

  it("says at Connect and on the failed run to replace the secret in the source's settings, not with a CLI command", async () => {
    const page = ui.page;
    await page.goto(`${ui.server.url}/w/default/sync/contoso`);
    await page.getByRole("button", { name: "Connect" }).click();
    const check = page.locator(".check-result .check-bad");
    await check.first().waitFor({ timeout: 30_000 });
    expect(await check.first().textContent()).toContain("Wrong client secret.");
    expect(await check.first().textContent()).toContain("then paste its Value in the source's Edit settings > Replace secret.");
    expect(await check.first().textContent()).not.toContain("rollcall sources update");
    // Its AADSTS code is said once, where the advice starts.
    expect((await check.first().textContent())!.match(/AADSTS7000215/g)).toHaveLength(1);

    await page.getByRole("button", { name: "Sync now" }).click();
    await page.getByRole("link", { name: "See the run's change log" }).click();
    await page.getByText("The sync failed; nothing was changed.").waitFor({ timeout: 30_000 });
    const failure = await page.locator(".banner-error", { hasText: "The sync failed; nothing was changed." }).textContent();
    expect(failure).toContain("Edit settings > Replace secret");
    expect(failure).not.toContain("rollcall sources update");
    // So does the notification of the failed sync, on every page and on the Notifications page.
    await scanNotifications(ui.server.rt.store.db);
    await page.reload();
    const banner = page.getByTestId("notifications-banner").locator(".banner", { hasText: "Wrong client secret" });
    await banner.waitFor();
    expect(await banner.textContent()).toContain("Edit settings > Replace secret");
    expect(await banner.textContent()).not.toContain("rollcall sources update");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications" }).click();
    const listed = page.locator("main tbody tr", { hasText: "Wrong client secret" });
    await listed.waitFor();
    expect(await listed.textContent()).toContain("Edit settings > Replace secret");
  });
});
