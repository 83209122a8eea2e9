import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Writable } from "node:stream";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pino from "pino";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { startTrustedEmulator } from "../support/emulator.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { createEntraSource, getSource, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { startScheduler } from "../../src/sync/scheduler.ts";

/** What every serving process's scheduler does as it ticks: start due runs it can run, and fail runs nobody runs any more. */
describe.each(engines)("the scheduler (%s)", (engine) => {
  let emulator: RunningEmulator;
  let store: TestStore;
  let ctx: SourceContext;
  const secrets = secretBox(Buffer.alloc(32, 7));
  const lines: string[] = [];
  const logger = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const scheduler = (keys = secrets) => startScheduler({ store, secrets: keys, logger, config: { entraCustomUrls: true } }, { tickMs: 3_600_000 });
  const nextRunAt = async () => (await sql<{ next_run_at: Date; due: boolean }>`select next_run_at, next_run_at <= now() as due from source_state`.execute(store.db)).rows[0]!;
  const dueNow = () => sql`update source_state set next_run_at = now() - interval '1 second'`.execute(store.db);

  beforeAll(async () => {
    emulator = await startTrustedEmulator({ users: 12, groups: 2, seed: 4 });
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test", secrets, entraCustomUrls: true };
    await createEntraSource(ctx, {
      name: "corp",
      config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, schedule: { everyMs: 30 * 60_000 } },
      credential: { kind: "secret", secret: emulator.clientSecret },
    });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await store?.dispose();
    await emulator?.close();
  });

  it("leaves a due run to a process that can open the source's secret (another ROLLCALL_SECRET_KEY would only drop it)", async () => {
    await dueNow();
    const wrongKey = scheduler(secretBox(Buffer.alloc(32, 9)));
    expect(await wrongKey.tick()).toBe(0);
    await wrongKey.stop();
    expect((await nextRunAt()).due).toBe(true);
    expect(lines.join("")).toContain("not taking a scheduled sync this process cannot run");
    const rightKey = scheduler();
    expect(await rightKey.tick()).toBe(1);
    await rightKey.stop();
    expect((await sql<{ status: string }>`select status from sync_runs where trigger = 'schedule'`.execute(store.db)).rows).toEqual([{ status: "succeeded" }]);
    expect(lines.join("")).toMatch(/"msg":"sync finished"/);
  });

  it("counts the next run from the database's clock: a process whose clock runs behind does not fire again at once", async () => {
    await dueNow();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() - 3_600_000);
    const behind = scheduler();
    try {
      expect(await behind.tick()).toBe(1);
    } finally {
      await behind.stop();
      vi.useRealTimers();
    }
    const next = await nextRunAt();
    expect(next.due).toBe(false);
    expect(new Date(next.next_run_at).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
  });

  it("fails a run that holds no live lease any more (its process was killed or lost the database), so status stops naming it", async () => {
    const source = await getSource(ctx, "corp");
    const dead = randomUUID();
    await sql`insert into sync_runs (id, workspace_id, source_id, trigger, mode, status, started_at)
      values (${dead}, ${ctx.workspace.id}, ${source.id}, 'api', 'full', 'running', now() - interval '5 minutes')`.execute(store.db);
    await sql`update source_state set lease_run_id = ${dead}, lease_expires_at = now() - interval '1 second'`.execute(store.db);
    expect((await getSource(ctx, "corp")).status.running).toBeNull();
    const ticking = scheduler();
    await ticking.tick();
    await ticking.stop();
    const run = (await sql<{ status: string; error: { message: string } }>`select status, error from sync_runs where id = ${dead}`.execute(store.db)).rows[0]!;
    expect(run).toMatchObject({ status: "failed", error: { message: expect.stringContaining("stopped responding") } });
  });
});
