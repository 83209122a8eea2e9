import { describe, expect, it } from "vitest";
import { countsSummary, describeProgress, startedBy, wouldStopWarning } from "../../src/console/sync-api.ts";
import { bulkSummary } from "../../src/console/components/BulkActions.tsx";

/** A run's counts as the console words them: only changes, each in the singular when there is one. */
describe("the console's words for a run's counts", () => {
  it("says one error, one warning, one group created; leaves out what is not a change", () => {
    const words = countsSummary({ created: 1, errors: 1, warnings: 1, conflicts: 2, groupsCreated: 1, membershipsAdded: 3, removals: 5, heldBefore: 40, wouldStopAtThreshold: 1 })
      .map((c) => `${c.value} ${c.label}`);
    expect(words).toEqual(["1 created", "2 conflicts", "1 warning", "1 group created", "3 memberships added", "1 error"]);
  });

  it("warns that a preview's real run would stop at the deletion threshold, and only then", () => {
    expect(wouldStopWarning({ dryRun: true, counts: { disabled: 2196, removals: 2196, heldBefore: 2402, wouldStopAtThreshold: 1 } })).toBe(
      "A real sync would stop at the deletion threshold: it would disable or delete 2,196 users of the 2,402 users the source holds. Sync now will stop for your review; these changes apply only once you approve them.",
    );
    expect(wouldStopWarning({ dryRun: true, counts: { disabled: 2 } })).toBeNull();
    expect(wouldStopWarning({ dryRun: false, counts: { wouldStopAtThreshold: 1 } })).toBeNull();
  });

  it("says a run plans again, not that a first plan starts over", () => {
    expect(describeProgress({ status: "running", progress: { phase: "replanning", planned: 10, toPlan: 40 } })).toEqual({
      value: 10, max: 40, label: "Comparing again: the directory changed meanwhile · 10 of 40",
    });
    // The photo step: the run is still going, its changes already applied.
    expect(describeProgress({ status: "running", progress: { phase: "photos" } })).toEqual({ value: null, max: null, label: "Changes applied · checking users' photos in Microsoft Graph" });
  });

  it("says one user was already a member, two were not members", () => {
    expect(bulkSummary({ action: "addToGroup", group: "Day Shift", tag: null, changed: 1, unchanged: 1, users: [], more: 0 })).toBe("Added to \u2068Day Shift\u2069: 1 user; 1 already a member");
    expect(bulkSummary({ action: "removeFromGroup", group: "Day Shift", tag: null, changed: 3, unchanged: 2, users: [], more: 0 })).toBe("Removed from \u2068Day Shift\u2069: 3 users; 2 not members");
  });

  it("says who started a run: the CLI's account, an admin or a token and how, the schedule", () => {
    expect(startedBy({ trigger: "manual", requestedBy: "cli:alice" })).toBe("alice (CLI)");
    expect(startedBy({ trigger: "manual", requestedBy: "cli" })).toBe("CLI");
    expect(startedBy({ trigger: "api", requestedBy: "ada@example.com" })).toBe("ada@example.com (console or API)");
    expect(startedBy({ trigger: "api", requestedBy: "token:deploy by ada@example.com" })).toBe('API token "deploy" (created by ada@example.com) (console or API)');
    expect(startedBy({ trigger: "schedule", requestedBy: "schedule" })).toBe("Schedule");
  });
});
