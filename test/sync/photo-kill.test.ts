import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, seedDataFolder, withProcessDb, type EngineName, type TestStore } from "../support/db.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import type { Store } from "../../src/storage/database.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * `kill -9` of a real `rollcall sync` in its photo step: the changes it applied stay, and the dead run ends succeeded with
 * a warning that its photos were not finished (when the next run takes the source over on PostgreSQL, at once when the
 * next process opens the embedded database), never "failed, nothing was applied".
 */
const secretKey = "6".repeat(64);

type RunRow = { id: string; status: string; phase: string; error: unknown; counts: Record<string, number> };

describe.each(engines)("kill -9 during the photo step (%s)", (engine: EngineName) => {
  let dir: string;
  let emulator: RunningEmulator;
  let killedDb: TestStore | undefined;
  let env: Record<string, string | undefined>;

  const withDb = <T>(fn: (store: Store) => Promise<T>) => withProcessDb(killedDb, join(dir, "data"), fn);
  const runs = (s: Store) => sql<RunRow>`select id, status, progress->>'phase' as phase, error, counts from sync_runs order by started_at`.execute(s.db).then((r) => r.rows);
  const departmentOf = (s: Store, externalId: string) => sql<{ d: string | null }>`select department as d from users where external_id = ${externalId}`.execute(s.db).then((r) => r.rows[0]?.d);
  const photoBatchItems = () => emulator.stats().requests.filter((r) => r.batchItem).length;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-photo-kill-"));
    emulator = await startTrustedEmulator({ users: 60, groups: 2, seed: 9 });
    env = { NODE_EXTRA_CA_CERTS: emulator.caFile, ROLLCALL_SECRET_KEY: secretKey, ROLLCALL_DATA_DIR: join(dir, "data") };
    if (engine === "postgres") {
      killedDb = await openTestStore("postgres");
      env.DATABASE_URL = killedDb.url;
    } else {
      env.DATABASE_URL = undefined;
      seedDataFolder(join(dir, "data"));
    }
    await withDb(async (store) => {
      const workspace = await resolveWorkspace(store.db, "default");
      await createEntraSource({ db: store.db, workspace, actor: "test", secrets: secretBox(Buffer.from(secretKey, "hex")), entraCustomUrls: true }, {
        name: "corp",
        config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, photos: true, onRemove: "keep" },
        credential: { kind: "secret", secret: emulator.clientSecret },
      });
    });
  }, 120_000);
  afterAll(async () => {
    await killStarted();
    emulator?.setKnobs({ batchLatencyMs: 0 });
    await killedDb?.dispose();
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the applied changes and ends the dead run succeeded, with a warning; the next run checks every photo", { timeout: 300_000 }, async () => {
    const t = emulator.tenants.get(emulator.tenantId);
    const person = t.listUsers().find((u) => u.userType !== "Guest" && u.accountEnabled)!;
    t.updateUser(person.id, { department: "Killed darkroom" });
    emulator.resetStats();
    // Its photo batches are answered only after a minute: the process is killed in its photo step.
    emulator.setKnobs({ batchLatencyMs: 60_000 });
    const syncing = startCli(["sync", "corp", "--json"], env);
    await until(() => photoBatchItems() > 0 || syncing.child.exitCode !== null, 120_000, "the photo step");
    expect(syncing.child.exitCode, syncing.stderr()).toBeNull();
    syncing.child.kill("SIGKILL");
    await syncing.exited;
    emulator.setKnobs({ batchLatencyMs: 0 });

    const dead = await withDb(async (s) => {
      const [run] = await runs(s);
      expect(await departmentOf(s, person.id)).toBe("Killed darkroom");
      return run!;
    });
    if (killedDb) {
      expect(dead).toMatchObject({ status: "running", phase: "photos" });
      // Its lease still holds the source: a new run names it.
      const refused = await runCli(["sync", "corp", "--json"], env);
      expect(JSON.parse(refused.stderr.trim().split("\n").at(-1)!).error).toMatchObject({ code: "sync_running", details: { runId: dead.id } });
      await sql`update source_state set lease_expires_at = now() - interval '1 second'`.execute(killedDb.db);
    }
    const next = await runCli(["sync", "corp", "--json"], env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.json()).toMatchObject({ status: "succeeded", counts: { photosChanged: expect.any(Number) } });
    // The next run checked every photo (a delta run would check only the users it changed).
    expect(next.json<{ counts: { photosChanged: number } }>().counts.photosChanged).toBeGreaterThan(0);
    await withDb(async (s) => {
      const ended = (await runs(s)).find((r) => r.id === dead.id)!;
      expect(ended).toMatchObject({ status: "succeeded", phase: "done", error: null });
      expect(ended.counts.created).toBeGreaterThan(0); // its first run: every user, created and kept
      expect(ended.counts.warnings).toBeGreaterThanOrEqual(1);
      const { rows } = await sql<{ after: { messages: string[] } }>`select after from change_log where run_id = ${dead.id} and action = 'warning'`.execute(s.db);
      expect(rows.map((r) => r.after.messages[0])).toContainEqual(expect.stringMatching(/^Photos were not finished \(the run's process stopped during its photo step\); the directory changes were applied/));
      expect(await departmentOf(s, person.id)).toBe("Killed darkroom");
    });
  });
});
