import { describe, expect, it } from "vitest";
import { attentionOf, byAttention, type SourceGlance } from "../../src/domain/workspace-attention.ts";
import { scimQuiet } from "../../src/domain/source.ts";

const source = (over: Partial<SourceGlance> = {}): SourceGlance => ({
  name: "corp",
  lastRun: { status: "succeeded", mode: "delta", dryRun: false, counts: { conflicts: 0 }, startedAt: "2026-12-01T06:00:00.000Z" },
  awaitingReview: null,
  secret: { set: true, expiresOn: "2027-06-30", daysLeft: 200 },
  ...over,
});

describe("what makes a workspace need attention", () => {
  it("is nothing for a healthy source, or none at all", () => {
    expect(attentionOf([source()])).toEqual({ level: null, reasons: [] });
    expect(attentionOf([])).toEqual({ level: null, reasons: [] });
  });

  it("puts critical reasons before warnings, whichever source they come from", () => {
    const conflicts = source({ name: "a", lastRun: { ...source().lastRun!, counts: { conflicts: 2, groupConflicts: 1 } } });
    const expiring = source({ name: "b", secret: { set: true, expiresOn: "2026-12-27", daysLeft: 20 } });
    const stopped = source({ name: "c", awaitingReview: "run-1", lastRun: { ...source().lastRun!, status: "stopped" } });
    expect(attentionOf([conflicts, expiring, stopped])).toEqual({
      level: "critical",
      reasons: ["c: a run stopped at the deletion threshold and waits for review", "a: the last run found 3 conflicts", "b: the client secret expires in 20 days (2026-12-27)"],
    });
  });

  it("makes a secret critical within 7 days, and says a failed preview is a preview", () => {
    expect(attentionOf([source({ secret: { set: true, expiresOn: "2026-12-08", daysLeft: 1 } })])).toEqual({ level: "critical", reasons: ["corp: the client secret expires in 1 day (2026-12-08)"] });
    expect(attentionOf([source({ secret: { set: false, expiresOn: null, daysLeft: null } })]).reasons).toEqual(["corp: no client secret or certificate is set"]);
    expect(attentionOf([source({ lastRun: { ...source().lastRun!, status: "failed", dryRun: true } })]).reasons).toEqual(["corp: the last preview failed (2026-12-01)"]);
  });

  it("makes a SCIM source quiet after 3 hours without a request, or 3 hours after it was added when never called: a warning", () => {
    const now = new Date("2026-12-07T12:00:00.000Z");
    const added = "2026-12-01T08:00:00.000Z";
    expect(scimQuiet({ createdAt: added, lastRequestAt: "2026-12-07T09:00:00.000Z" }, now)).toBeNull();
    expect(scimQuiet({ createdAt: added, lastRequestAt: "2026-12-07T08:59:00.000Z" }, now)).toEqual({ since: "2026-12-07T08:59:00.000Z", neverCalled: false, hours: 3 });
    expect(scimQuiet({ createdAt: "2026-12-07T09:30:00.000Z", lastRequestAt: null }, now)).toBeNull();
    const never = scimQuiet({ createdAt: "2026-12-07T07:00:00.000Z", lastRequestAt: null }, now);
    expect(never).toEqual({ since: "2026-12-07T07:00:00.000Z", neverCalled: true, hours: 5 });
    const quiet = scimQuiet({ createdAt: added, lastRequestAt: "2026-12-06T12:00:00.000Z" }, now);
    expect(attentionOf([source()], [{ name: "push", quiet }, { name: "fresh", quiet: null }, { name: "new", quiet: never }])).toEqual({
      level: "warning",
      reasons: ["push: Entra ID's provisioning service has not called for 24 hours (last request 2026-12-06 12:00 UTC)", "new: Entra ID's provisioning service has never called it (added 5 hours ago, 2026-12-07 07:00 UTC)"],
    });
    expect(attentionOf([source({ lastRun: { ...source().lastRun!, status: "failed" } })], [{ name: "push", quiet }]).reasons[0]).toBe("corp: the last run failed (2026-12-01)");
  });

  it("sorts critical, then warning, then the rest, each by name whatever its case", () => {
    const of = (name: string, level: "critical" | "warning" | null) => ({ name, attention: { level, reasons: [] } });
    const sorted = [of("zeta", null), of("Beta", "warning"), of("alpha", null), of("omega", "critical"), of("acme", "warning")].sort(byAttention);
    expect(sorted.map((w) => w.name)).toEqual(["omega", "acme", "Beta", "alpha", "zeta"]);
  });
});
