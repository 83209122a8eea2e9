import { describe, expect, it } from "vitest";
import { describeSource } from "../../src/cli/commands/sources.ts";
import { parseEntraConfig, type Source } from "../../src/core/sources.ts";

/** `rollcall sources show`: the settings that decide what a run writes, the mapping among them. */
describe("rollcall sources show", () => {
  const source = (config: Record<string, unknown>, nextRunAt: string | null = null, subscriptions: Source["status"]["subscriptions"] = []): Source => ({
    id: "s1", name: "corp", type: "entra", createdAt: "", updatedAt: "",
    config: parseEntraConfig({ tenantId: "contoso.onmicrosoft.com", clientId: "00000000-0000-0000-0000-000000000001", ...config }),
    secret: { set: true, expiresOn: null, daysLeft: null, description: "set" },
    status: { syncedUsers: 0, syncedGroups: 0, lastRun: null, nextRunAt, overlapping: [], awaitingReview: null, subscriptions } as unknown as Source["status"],
  });

  it("says whether the source's users sign in with Microsoft, and what the app registration needs for it", () => {
    expect(describeSource(source({}))).toContain("\n  sign-in:     off (`--sign-in` lets its users Sign in with Microsoft)\n");
    expect(describeSource(source({ signIn: true }))).toMatch(/\n {2}sign-in: {5}on: its users Sign in with Microsoft \(the app registration lists the server's \/api\/v1\/auth\/microsoft\/callback as a Web redirect URI and its \/api\/v1\/auth\/microsoft\/frontchannel-logout as the Front-channel logout URL; with the login_hint ID-token claim, .*\)\n/);
  });

  it("says whether it syncs on change, and each Graph subscription's expiry or why Graph refused it", () => {
    expect(describeSource(source({}))).toContain("\n  on change:   off (`--sync-on-change`: a delta run soon after each change in Entra ID)\n");
    const shown = describeSource(source({ syncOnChange: true, groupMode: "all" }, null, [
      { resource: "users", state: "active", expiresAt: "2027-01-04T09:00:00.000Z", warning: null },
      { resource: "groups", state: "failed", expiresAt: null, warning: { code: "Authorization_RequestDenied", message: "add Group.Read.All" } },
    ]));
    expect(shown).toContain("\n  on change:   on; users subscribed until 2027-01-04T09:00:00.000Z; groups NOT subscribed: [Authorization_RequestDenied] add Group.Read.All\n");
  });

  it("shows the mapping the source adds to the defaults, and the phones' default country", () => {
    const shown = describeSource(source({ mapping: { email: "employeeId", cardNumbers: "onPremisesExtensionAttributes.extensionAttribute10" }, country: "GB" }));
    expect(shown).toContain("\n  mapping:     email ← employeeId, cardNumbers ← onPremisesExtensionAttributes.extensionAttribute10 (other fields as default)\n");
    expect(shown).toContain("\n  phones:      local numbers read by each user's usage location, else as GB\n");
    const plain = describeSource(source({}));
    expect(plain).toContain("\n  mapping:     default (each field from the Graph property of its name; email ← mail, else userPrincipalName; enabled ← accountEnabled)\n");
    expect(plain).toContain("\n  phones:      local numbers read by each user's usage location only (no default country)\n");
  });

  it("gives the schedule and the full-sync interval in the units they were set in", () => {
    expect(describeSource(source({ schedule: { everyMs: 5 * 60_000 }, fullEveryMs: 12 * 3_600_000 }))).toContain("\n  schedule:    every 5m; a full listing at least every 12h\n");
    expect(describeSource(source({ schedule: { cron: "0 6 * * 1-5" } }))).toContain("\n  schedule:    0 6 * * 1-5 (UTC); a full listing at least every 7d\n");
    expect(describeSource(source({ schedule: { cron: "0 6 * * 1-5", timeZone: "Europe/Berlin" } }))).toContain("\n  schedule:    0 6 * * 1-5 (Europe/Berlin);");
    expect(describeSource(source({ schedule: { everyMs: 90_000 } }))).toContain("every 90s;");
  });

  it("gives the next run as a clock in the cron expression's zone shows it, daylight saving included", () => {
    const berlin = { schedule: { cron: "0 6 * * *", timeZone: "Europe/Berlin" } };
    expect(describeSource(source(berlin, "2026-12-07T05:00:00.000Z"))).toContain("0 6 * * * (Europe/Berlin) (next 2026-12-07 06:00 Europe/Berlin, 2026-12-07T05:00Z);");
    expect(describeSource(source(berlin, "2026-07-07T04:00:00.000Z"))).toContain("(next 2026-07-07 06:00 Europe/Berlin, 2026-07-07T04:00Z);");
    expect(describeSource(source({ schedule: { cron: "30 23 * * *", timeZone: "America/New_York" } }, "2026-12-08T04:30:00.000Z"))).toContain("(next 2026-12-07 23:30 America/New_York, 2026-12-08T04:30Z);");
    expect(describeSource(source({ schedule: { everyMs: 86_400_000 } }, "2026-12-07T05:00:00.000Z"))).toContain("every 1d (next 2026-12-07 05:00 UTC);");
  });
});
