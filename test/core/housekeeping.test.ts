import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { pruneExpired } from "../../src/core/housekeeping.ts";

/** The hourly clear-out: what expired always goes; history only with ROLLCALL_HISTORY_DAYS, and never what is still needed. */
describe.each(engines)("housekeeping on %s", (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
  });
  afterAll(() => store?.dispose());

  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);
  const count = async (table: string, where = sql`true`) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(store.db)).rows[0]!.n);

  it("deletes what expired; with a history of 30 days, older history too, keeping each source's latest run and a run awaiting review", async () => {
    const ws = (await resolveWorkspace(store.db, "default")).id;
    const source = (await sql<{ id: string }>`insert into sources (workspace_id, type, name, config) values (${ws}, 'entra', 'old-corp', '{}') returning id`.execute(store.db)).rows[0]!.id;
    const run = async (status: string, days: number) =>
      (await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status, started_at, finished_at) values (${ws}, ${source}, 'manual', 'full', ${status}, ${daysAgo(days)}, ${daysAgo(days)}) returning id`.execute(store.db)).rows[0]!.id;
    const [oldRun, stoppedRun, latestRun] = [await run("succeeded", 90), await run("stopped", 80), await run("failed", 60)];
    for (const [days, runId] of [[90, oldRun], [40, null], [5, null]] as const) {
      await sql`insert into change_log (workspace_id, run_id, subject, action, actor, at) values (${ws}, ${runId}, ${`entry ${days}`}, 'update', 'test', ${daysAgo(days)})`.execute(store.db);
    }
    const account = (await sql<{ id: string }>`insert into accounts (email, display_name) values ('keeper@example.com', 'Keeper') returning id`.execute(store.db)).rows[0]!.id;
    await sql`insert into sessions (id_hash, account_id, csrf_token, expires_at) values ('gone', ${account}, 'c1', ${daysAgo(1)}), ('live', ${account}, 'c2', ${daysAgo(-1)})`.execute(store.db);
    await sql`insert into notifications (workspace_id, kind, subject, severity, title, body, resolved_at, dismissed_at) values
      (${ws}, 'sync_failed', 'resolved long ago', 'critical', 't', 'b', ${daysAgo(45)}, null),
      (${ws}, 'sync_failed', 'dismissed, still so', 'critical', 't', 'b', null, ${daysAgo(45)})`.execute(store.db);
    await sql`insert into api_tokens (workspace_id, name, role, token_hash, revoked_at, expires_at) values
      (${ws}, 'revoked long ago', 'admin', 'h1', ${daysAgo(31)}, null), (${ws}, 'expired long ago', 'admin', 'h2', null, ${daysAgo(40)}), (${ws}, 'live', 'admin', 'h3', null, null)`.execute(store.db);

    // Without a history setting only what expired goes.
    expect(await pruneExpired(store, { historyDays: 0 })).toMatchObject({ sessions: 1, changes: 0, runs: 0, notifications: 0, tokens: 0 });
    expect(await count("sessions", sql`account_id = ${account}`)).toBe(1);
    expect(await count("change_log", sql`subject like 'entry %'`)).toBe(3);

    expect(await pruneExpired(store, { historyDays: 30 })).toMatchObject({ changes: 2, runs: 1, notifications: 1, tokens: 2 });
    expect((await sql<{ subject: string }>`select subject from change_log where subject like 'entry %'`.execute(store.db)).rows).toEqual([{ subject: "entry 5" }]);
    expect((await sql<{ id: string }>`select id from sync_runs where source_id = ${source} order by started_at`.execute(store.db)).rows.map((r) => r.id)).toEqual([stoppedRun, latestRun]);
    expect((await sql<{ subject: string }>`select subject from notifications where workspace_id = ${ws}`.execute(store.db)).rows).toEqual([{ subject: "dismissed, still so" }]);
    expect((await sql<{ name: string }>`select name from api_tokens where workspace_id = ${ws} and token_hash like 'h%'`.execute(store.db)).rows).toEqual([{ name: "live" }]);
  });
});
