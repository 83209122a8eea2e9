import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { differences, directorySnapshot, openHarness, type Harness } from "./harness.ts";
import { createUser } from "../../src/core/users.ts";
import { keptDryRuns } from "../../src/sync/dry-run-history.ts";
import { getRun } from "../../src/core/runs.ts";

const sourceState = async (h: Harness) =>
  (await sql`select users_delta_link, groups_delta_link, last_full_at from source_state`.execute(h.store.db)).rows;

describe.each(engines)("a dry run leaves the source's sync state as it was (%s)", (engine) => {
  let dry: Harness;
  let plain: Harness;
  const tenant = () => dry.emulator.tenants.get(dry.emulator.tenantId);
  beforeAll(async () => {
    dry = await openHarness(engine, { users: 40, groups: 5 });
    plain = await openHarness(engine, {}, dry.emulator);
    for (const h of [dry, plain]) await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => {
    await plain?.close();
    await dry?.close();
  });

  it("a source's first real run after a dry run is full, and ends as a run without the dry run", async () => {
    const before = await sourceState(dry);
    expect(await dry.sync("corp", { dryRun: true })).toMatchObject({ mode: "full", status: "succeeded", dryRun: true });
    expect(await sourceState(dry)).toEqual(before);
    // A user made by hand meanwhile: the real run cannot stream into an empty directory, it goes through the mirror.
    await createUser(dry.ctx, { displayName: "Hand made", email: "hand.made@example.com" });
    const run = await dry.sync("corp");
    expect(run).toMatchObject({ mode: "full", status: "succeeded" });
    expect(await plain.sync("corp")).toMatchObject({ mode: "full", status: "succeeded" });
    expect(await differences(dry, "corp")).toEqual([]);
    expect(await directorySnapshot(dry.store.db, "corp")).toEqual(await directorySnapshot(plain.store.db, "corp"));
  });

  it("a dry run between delta runs neither moves the delta links nor loses the changes it saw", async () => {
    const t = tenant();
    const [a, b] = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    t.updateUser(a!.id, { displayName: "Seen By The Dry Run" });
    const group = t.listGroups()[0]!;
    t.addMember(group.id, b!.id);
    const before = await sourceState(dry);
    expect(await dry.sync("corp", { dryRun: true })).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await sourceState(dry)).toEqual(before);
    t.updateUser(b!.id, { jobTitle: "After The Dry Run" });
    for (const h of [dry, plain]) expect(await h.sync("corp")).toMatchObject({ mode: "delta", status: "succeeded" });
    expect(await differences(dry, "corp")).toEqual([]);
    expect(await directorySnapshot(dry.store.db, "corp")).toEqual(await directorySnapshot(plain.store.db, "corp"));
  });
});

describe("a source keeps its newest dry runs only", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness("pglite", { users: 12, groups: 2 });
    await h.addSource("corp");
  });
  afterAll(async () => h?.close());

  it(`deletes the change sets of dry runs older than its ${keptDryRuns} newest, keeps those runs marked with their counts, and leaves its other runs and the activity alone`, async () => {
    const count = async (where: ReturnType<typeof sql>) => Number((await sql<{ n: string }>`select count(*) as n from change_log where ${where}`.execute(h.store.db)).rows[0]!.n);
    await createUser(h.ctx, { displayName: "Hand made", email: "hand.made@example.com" });
    const real = await h.sync("corp");
    const activity = await count(sql`run_id is null`);
    const logged = await count(sql`run_id = ${real.runId}`);
    expect(logged).toBeGreaterThan(0);
    const dry: string[] = [];
    const tenant = h.emulator.tenants.get(h.emulator.tenantId);
    const renamed = tenant.listUsers().find((u) => u.userType === "Member" && u.accountEnabled)!;
    for (let i = 0; i <= keptDryRuns; i++) {
      tenant.updateUser(renamed.id, { displayName: `Renamed ${i}` });
      dry.push((await h.sync("corp", { dryRun: true })).runId);
      expect(await count(sql`run_id = ${dry[i]}`)).toBe(1);
    }
    const runs = (await sql<{ id: string; discarded: Date | null }>`select id, changes_discarded_at as discarded from sync_runs order by started_at`.execute(h.store.db)).rows;
    expect(runs.map((r) => r.id)).toEqual([real.runId, ...dry]);
    expect(runs.map((r) => r.discarded !== null)).toEqual([false, true, ...dry.slice(1).map(() => false)]);
    expect(await count(sql`run_id = ${dry[0]}`)).toBe(0);
    // The run stays, with its counts, and says its change set is gone.
    const kept = await getRun(h.ctx, dry[0]!);
    expect(kept).toMatchObject({ dryRun: true, status: "succeeded", counts: expect.objectContaining({ updated: 1 }), changesDiscardedAt: runs[1]!.discarded!.toISOString() });
    expect((await getRun(h.ctx, dry[1]!)).changesDiscardedAt).toBeNull();
    tenant.updateUser(renamed.id, { displayName: "Renamed again" });
    const newest = (await h.sync("corp", { dryRun: true })).runId;
    expect((await getRun(h.ctx, dry[0]!)).changesDiscardedAt).toBe(kept.changesDiscardedAt); // discarded once, not again
    expect((await getRun(h.ctx, dry[1]!)).changesDiscardedAt).not.toBeNull();
    expect(await count(sql`run_id = ${newest}`)).toBe(1);
    expect(await count(sql`run_id is null`)).toBe(activity); // the forgotten run's entries are gone, not left without their run
    expect(await count(sql`run_id = ${real.runId}`)).toBe(logged);
  });
});
