import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { openHarness, type Harness } from "./harness.ts";
import { restoreChanges, spoolChanges } from "../../src/sync/change-spool.ts";

type Entry = { subject: string; action: string; before: unknown; after: unknown };
const entriesOf = async (h: Harness, runId: string): Promise<Entry[]> =>
  (await sql<Entry>`select subject, action, before, after from change_log where run_id = ${runId} order by id`.execute(h.store.db)).rows;
const sorted = (entries: Entry[]) => entries.map((e) => JSON.stringify(e)).sort();

describe.each(engines)("a dry run's change set, kept across the rollback of its apply (%s)", (engine) => {
  let dry: Harness;
  let real: Harness;
  beforeAll(async () => {
    dry = await openHarness(engine, { users: 30, groups: 4 });
    real = await openHarness(engine, {}, dry.emulator);
    for (const h of [dry, real]) await h.addSource("corp", { groupMode: "all" });
  });
  afterAll(async () => {
    await real?.close();
    await dry?.close();
  });

  it("is the change set the real run then makes", async () => {
    const planned = await dry.sync("corp", { dryRun: true, streamFirstSync: false });
    const applied = await real.sync("corp", { streamFirstSync: false });
    const [would, did] = [await entriesOf(dry, planned.runId), await entriesOf(real, applied.runId)];
    expect(would.length).toBeGreaterThan(30);
    expect(sorted(would)).toEqual(sorted(did));
    expect(await dry.store.db.selectFrom("users").select("id").execute()).toEqual([]);
  });

  it("is spooled and written back a page at a time, in order, and its file removed", async () => {
    const { runId } = (await sql<{ runId: string }>`select id as "runId" from sync_runs where dry_run`.execute(dry.store.db)).rows[0]!;
    const before = await entriesOf(dry, runId);
    const spooled = await spoolChanges(dry.store.db, runId, 7);
    expect(spooled.entries).toBe(before.length);
    await sql`delete from change_log where run_id = ${runId}`.execute(dry.store.db);
    await restoreChanges(dry.store, spooled, { id: runId, workspaceId: dry.ctx.workspace.id }, 7);
    expect(await entriesOf(dry, runId)).toEqual(before);
    expect(existsSync(dirname(spooled.file))).toBe(false);
  });
});
