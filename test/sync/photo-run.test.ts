// A run's photo step is part of the run, on each engine, against the emulator over real HTTPS with its photo requests
// slowed: the run stays "running" (phase "photos") with its directory changes already committed, the source stays busy,
// and a run cancelled or killed during its photos ends succeeded with a warning, never "failed, nothing was applied".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { until } from "../notifications/support.ts";
import { openHarness, type Harness } from "./harness.ts";
import { httpFetch } from "../../src/net/http.ts";
import { loadSourceForSync } from "../../src/core/sources.ts";
import { cancelRun } from "../../src/core/runs.ts";
import { runSync } from "../../src/sync/runner.ts";
import { failAbandonedRuns } from "../../src/sync/lease.ts";

type Row = { status: string; phase: string; counts: Record<string, number>; error: unknown };

describe.each(engines)("a run's photo step (%s)", (engine) => {
  let h: Harness;
  const tenant = () => h.emulator.tenants.get(h.emulator.tenantId);
  beforeAll(async () => {
    h = await openHarness(engine, { users: 60, groups: 2 });
    await h.addSource("corp", { photos: true, onRemove: "keep" });
  }, 120_000);
  afterAll(async () => h?.close());

  const row = async (id: string) =>
    (await sql<Row>`select status, progress->>'phase' as phase, counts, error from sync_runs where id = ${id}`.execute(h.store.db)).rows[0]!;
  const department = async (externalId: string) =>
    (await sql<{ department: string | null }>`select department from users where external_id = ${externalId}`.execute(h.store.db)).rows[0]?.department;
  const photoWarnings = async (id: string) =>
    (await sql<{ after: { messages: string[] } }>`select after from change_log where run_id = ${id} and action = 'warning' and subject = 'photos'`.execute(h.store.db)).rows.map((r) => r.after.messages[0]!);
  const photosCheckedAt = async () =>
    (await sql<{ at: Date | null }>`select photos_checked_at as at from source_state st join sources s on s.id = st.source_id where s.name = 'corp'`.execute(h.store.db)).rows[0]!.at;

  /**
   * Starts a full sync whose photo batches are answered only when the test releases them (`release`, or the run's end);
   * resolves once it is in its photo step. Held, not slowed: slowed batches could all be answered before a loaded
   * machine made the checks that need the run still in its photo step.
   */
  async function syncHeldInPhotos(options: { leaseMs?: number; signal?: AbortSignal } = {}) {
    let runId: string | undefined;
    const source = await loadSourceForSync(h.ctx, "corp");
    const release = () => h.emulator.setKnobs({ batchLatencyMs: 0 });
    h.emulator.setKnobs({ batchLatencyMs: 600_000 });
    const done = runSync(h.store, { workspaceId: h.ctx.workspace.id, source, trigger: "manual", full: true, actor: "test" }, {
      fetch: httpFetch,
      onStarted: (id) => (runId = id),
      ...options,
    }).finally(release);
    done.catch(() => undefined);
    await until(async () => !!runId && (await row(runId)).phase === "photos", 120_000, "the run's photo step");
    return { runId: runId!, done, release };
  }

  it("holds the source while it fetches photos: a second sync is refused naming the run, which shows running with its changes committed", { timeout: 240_000 }, async () => {
    const changed = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    tenant().updateUser(changed.id, { department: "Darkroom" });
    const { runId, done, release } = await syncHeldInPhotos();

    const during = await row(runId);
    expect(during).toMatchObject({ status: "running", phase: "photos", error: null });
    expect(during.counts.created).toBeGreaterThan(0); // the first run's counts, committed with its changes
    expect(await department(changed.id)).toBe("Darkroom");
    await expect(h.sync("corp")).rejects.toMatchObject({ code: "sync_running", details: { runId } });
    // A sweep finds its lease alive: the run goes on.
    await failAbandonedRuns(h.store.db);
    expect((await row(runId)).status).toBe("running");

    release();
    const summary = await done;
    expect(summary.status).toBe("succeeded");
    expect(summary.counts.photosChanged).toBeGreaterThan(0);
    const after = await row(runId);
    expect(after).toMatchObject({ status: "succeeded", phase: "done" });
    expect(after.counts.photosChanged).toBe(summary.counts.photosChanged);
    expect(await photosCheckedAt()).not.toBeNull();
  });

  it("cancelled during its photos: ends succeeded with its changes and a warning, and the next run checks every photo", { timeout: 240_000 }, async () => {
    const changed = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    tenant().updateUser(changed.id, { department: "Cancelled darkroom" });
    const { runId, done } = await syncHeldInPhotos();
    const cancelled = await cancelRun({ db: h.store.db, workspace: h.ctx.workspace, actor: "test" }, runId);
    expect(cancelled.status).toBe("succeeded");
    const summary = await done;
    expect(summary.status).toBe("succeeded");
    expect(summary.counts.warnings).toBeGreaterThanOrEqual(1);
    expect(await row(runId)).toMatchObject({ status: "succeeded", phase: "done", error: null });
    expect(await department(changed.id)).toBe("Cancelled darkroom");
    expect((await photoWarnings(runId)).join(" ")).toMatch(/^Photos were not finished \(Cancelled by .*\); the directory changes were applied/);
    expect(await photosCheckedAt()).toBeNull();
  });

  it("a run whose process died in its photo step is ended by the stale-run sweep as succeeded, with a warning; the next run takes the source", { timeout: 240_000 }, async () => {
    const changed = tenant().listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    tenant().updateUser(changed.id, { department: "Lost darkroom" });
    const stop = new AbortController();
    // A lease renewed every 100 s: the test expires it as a dead process's would, and the heartbeat does not renew it meanwhile.
    const { runId, done } = await syncHeldInPhotos({ leaseMs: 300_000, signal: stop.signal });
    await sql`update sync_runs set started_at = started_at - interval '2 minutes' where id = ${runId}`.execute(h.store.db);
    await sql`update source_state set lease_expires_at = now() - interval '1 second' where lease_run_id = ${runId}`.execute(h.store.db);
    expect(await failAbandonedRuns(h.store.db)).toBe(1);
    const swept = await row(runId);
    expect(swept).toMatchObject({ status: "succeeded", phase: "done", error: null });
    expect(swept.counts.updated).toBeGreaterThanOrEqual(1);
    expect(swept.counts.warnings).toBeGreaterThanOrEqual(1);
    expect(await photoWarnings(runId)).toEqual([expect.stringMatching(/^Photos were not finished \(the run's process stopped during its photo step\); the directory changes were applied/)]);
    expect(await department(changed.id)).toBe("Lost darkroom");
    expect(await photosCheckedAt()).toBeNull();
    stop.abort(new Error("test over"));
    await done;

    const next = await h.sync("corp");
    expect(next.status).toBe("succeeded");
    expect(await photosCheckedAt()).not.toBeNull();
  });
});
