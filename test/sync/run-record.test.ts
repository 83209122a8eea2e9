import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { createEntraSource, getSource, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { RunRecord } from "../../src/sync/run-record.ts";
import { runCountsOf, type RunCounts } from "../../src/domain/run-counts.ts";

describe.each(engines)("a run's record (%s)", (engine) => {
  let store: TestStore;
  let ctx: SourceContext;
  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets: secretBox(Buffer.alloc(32, 3)), entraCustomUrls: true };
    await createEntraSource(ctx, { name: "corp", config: { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222" }, credential: { kind: "secret", secret: "s" } });
  });
  afterAll(() => store?.dispose());

  it("ends when the run ended, though written in the apply's transaction, which began long before", async () => {
    const source = await getSource(ctx, "corp");
    const id = randomUUID();
    await sql`insert into sync_runs (id, workspace_id, source_id, trigger, mode, status) values (${id}, ${ctx.workspace.id}, ${source.id}, 'api', 'full', 'running')`.execute(store.db);
    const record = new RunRecord(store.db, { id, sourceId: source.id, mode: "full", dryRun: false }, { ms: 60_000 }, new AbortController());
    try {
      await store.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx); // the transaction has begun (a streamed first sync's, as the listing starts)
        await new Promise((resolve) => setTimeout(resolve, 400));
        await record.end(trx, "succeeded", {});
      });
    } finally {
      await record.close();
    }
    const { ms } = (await sql<{ ms: number }>`select extract(epoch from finished_at - started_at) * 1000 as ms from sync_runs where id = ${id}`.execute(store.db)).rows[0]!;
    expect(Number(ms)).toBeGreaterThanOrEqual(380);
  });

  it("stores only the counts the API documents: a key merged in that RunCounts does not name was stored, then dropped from every answer", async () => {
    const source = await getSource(ctx, "corp");
    const id = randomUUID();
    await sql`insert into sync_runs (id, workspace_id, source_id, trigger, mode, status) values (${id}, ${ctx.workspace.id}, ${source.id}, 'api', 'full', 'running')`.execute(store.db);
    const record = new RunRecord(store.db, { id, sourceId: source.id, mode: "full", dryRun: false }, { ms: 60_000 }, new AbortController());
    const counts: RunCounts = { created: 2, errors: 0 };
    Object.assign(counts, { created: 3, membershipsAdded: 1 }, { newMembers: 4 }); // as the runner merges an apply's counts in
    try {
      await record.finish("succeeded", counts);
    } finally {
      await record.close();
    }
    const stored = await store.db.selectFrom("sync_runs").select("counts").where("id", "=", id).executeTakeFirstOrThrow();
    expect(stored.counts).toEqual({ created: 3, errors: 0, membershipsAdded: 1 });
    expect(stored.counts).toEqual(runCountsOf(stored.counts as Record<string, unknown>));
  });
});
