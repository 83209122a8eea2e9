import { describe, expect, it } from "vitest";
import { describeRun, describeSummary } from "../../src/cli/commands/sync.ts";
import type { RunWithChanges } from "../../src/core/runs.ts";
import type { RunSummary } from "../../src/sync/run-record.ts";

/** `rollcall sync`'s summary says where to read what it only counts: the warnings and conflicts of the run. */
describe("rollcall sync: the summary", () => {
  const run = (over: Partial<RunSummary>): RunSummary => ({ runId: "r1", mode: "delta", status: "succeeded", dryRun: false, counts: {}, graphRequests: 2, graphThrottled: 0, ...over });

  it("names the command that lists the run's warnings and conflicts", () => {
    const text = describeSummary(run({ counts: { updated: 1, warnings: 2, conflicts: 1 } }));
    expect(text).toContain("\n  2 warnings; 2 Graph requests (0 throttled)\n");
    expect(text).toContain("\n  read them with `rollcall runs show r1 --action warning` and `rollcall runs show r1 --action conflict`");
    expect(describeSummary(run({ counts: { warnings: 1 }, graphRequests: 1 }))).toContain("\n  1 warning; 1 Graph request (0 throttled)\n  read it with `rollcall runs show r1 --action warning`");
    expect(describeSummary(run({ counts: { updated: 1 } }))).not.toContain("read");
  });

  it("counts the photos a run of a source that syncs them changed, and says nothing of photos otherwise", () => {
    expect(describeSummary(run({ counts: { updated: 1, photosChanged: 3 } }))).toContain("\n  photos:  3 changed\n");
    expect(describeSummary(run({ counts: { updated: 1 } }))).not.toContain("photos");
  });

  it("says a dry run would stop at the deletion threshold, its numbers grouped by thousands", () => {
    const text = describeSummary(run({ dryRun: true, counts: { disabled: 2196, removals: 2196, heldBefore: 2402, wouldStopAtThreshold: 1 } }));
    expect(text).toContain("a real run would stop at the deletion threshold: it would disable or delete 2,196 of the 2,402 users the source holds");
  });

  it("offers a failed dry run's change set only when it has one", () => {
    expect(describeSummary(run({ dryRun: true, counts: { created: 3 } }))).toContain("nothing was applied; see the change set with `rollcall runs show r1`");
    const failed = describeSummary(run({ dryRun: true, status: "failed", counts: { errors: 1 }, error: { code: "sync_failed", message: "Graph failed" } }));
    expect(failed).toContain("\n  nothing was applied\n");
    expect(failed).not.toContain("change set");
  });

  it("says a failed run applied nothing, whatever it had planned", () => {
    const failed = describeSummary(run({ status: "failed", counts: { created: 0, errors: 1 }, error: { code: "sync_failed", message: "disk full" } }));
    expect(failed).toContain("\n  nothing was applied (a run applies its changes all at once, or none)\n  error [sync_failed]: disk full");
  });

  it("says a dry run's change set was deleted, when, and how to plan again", () => {
    const dry: RunWithChanges = {
      id: "r0", source: "corp", trigger: "manual", mode: "delta", dryRun: true, forced: false, status: "succeeded", startedAt: "2026-12-01T08:00:00.000Z", finishedAt: "2026-12-01T08:01:00.000Z",
      counts: { updated: 4 }, progress: { phase: "done" }, error: null, graphRequests: 2, graphThrottled: 0, requestedBy: null, cancelRequested: null,
      changesDiscardedAt: "2026-12-03T09:00:00.000Z", changes: [], changesTotal: 0, changesByAction: {},
    };
    const text = describeRun(dry);
    expect(text).toContain(", 4 updated,");
    expect(text).toContain("\n  its change set was deleted 2026-12-03T09:00:00.000Z, when newer dry runs of corp came (a source keeps those of its 5 newest); `rollcall sync corp --dry-run` plans again");
    expect(describeRun({ ...dry, changesDiscardedAt: null })).not.toContain("change set");
  });
});
