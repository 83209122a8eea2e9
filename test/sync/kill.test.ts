import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, seedDataFolder, withProcessDb, type EngineName, type TestStore } from "../support/db.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";
import { until } from "../notifications/support.ts";
import { directorySnapshot } from "./harness.ts";
import type { RunningEmulator } from "../../src/emulator/index.ts";
import { httpFetch } from "../../src/net/http.ts";
import type { Store } from "../../src/storage/database.ts";
import { createEntraSource, loadSourceForSync, type SourceContext } from "../../src/core/sources.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { secretBox } from "../../src/security/encryption.ts";
import { runSync } from "../../src/sync/runner.ts";
import { startTrustedEmulator } from "../support/emulator.ts";

/**
 * `kill -9` of a real `rollcall sync` process, once while it lists Graph and once inside the apply transaction:
 * the directory keeps its state from before the run, the dead runs end failed with their reason when the next run
 * takes the source over, and that run converges to exactly what an undisturbed run gives in a second database.
 */
const secretKey = "5".repeat(64);
const secrets = secretBox(Buffer.from(secretKey, "hex"));

type RunRow = { id: string; status: string; error: { code: string; message: string } | null; phase: string | null };

describe.each(engines)("kill -9 mid-run (%s)", (engine: EngineName) => {
  let dir: string;
  let emulator: RunningEmulator;
  let clean: TestStore;
  let killedDb: TestStore | undefined; // PostgreSQL: the killed process's database, kept open by the test
  let env: Record<string, string | undefined>;

  /** The killed process's database, opened between CLI runs (withProcessDb). */
  const withKilledDb = <T>(fn: (store: Store) => Promise<T>) => withProcessDb(killedDb, join(dir, "data"), fn);
  const runsIn = async (s: Store) => (await sql<RunRow>`select id, status, error, progress->>'phase' as phase from sync_runs order by started_at`.execute(s.db)).rows;
  /** The directory as the killed process's database holds it, and its runs, oldest first. */
  const stateIn = async (s: Store) => ({ directory: await directorySnapshot(s.db, "corp"), runs: await runsIn(s) });
  const expireLeaseIn = (s: Store) => sql`update source_state set lease_expires_at = now() - interval '1 second'`.execute(s.db);

  async function addSource(store: Store): Promise<SourceContext> {
    const workspace = await resolveWorkspace(store.db, "default");
    const ctx: SourceContext = { db: store.db, workspace, actor: "test", secrets, entraCustomUrls: true };
    await createEntraSource(ctx, {
      name: "corp",
      config: { tenantId: emulator.tenantId, clientId: emulator.clientId, loginUrl: emulator.loginUrl, graphUrl: emulator.graphUrl, groupMode: "all", country: "US" },
      credential: { kind: "secret", secret: emulator.clientSecret },
    });
    return ctx;
  }
  async function syncClean(): Promise<void> {
    const workspace = await resolveWorkspace(clean.db, "default");
    const source = await loadSourceForSync({ db: clean.db, workspace, secrets }, "corp");
    const summary = await runSync(clean, { workspaceId: workspace.id, source, trigger: "manual" }, { fetch: httpFetch });
    expect(summary.status).toBe("succeeded");
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-kill-"));
    emulator = await startTrustedEmulator({ users: 80, groups: 6, seed: 5 });
    clean = await openTestStore(engine);
    env = { NODE_EXTRA_CA_CERTS: emulator.caFile, ROLLCALL_SECRET_KEY: secretKey, ROLLCALL_DATA_DIR: join(dir, "data") };
    if (engine === "postgres") {
      killedDb = await openTestStore("postgres");
      env.DATABASE_URL = killedDb.url;
    } else {
      env.DATABASE_URL = undefined; // the embedded database, whatever the environment says
      seedDataFolder(join(dir, "data")); // created and migrated
    }
  });
  afterAll(async () => {
    await killStarted();
    emulator?.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
    await killedDb?.dispose();
    await clean?.dispose();
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("leaves the directory as it was, fails the dead runs with their reason, and converges like an undisturbed run", { timeout: 300_000 }, async () => {
    await withKilledDb(addSource);
    await addSource(clean);
    const first = await runCli(["sync", "corp", "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    await syncClean();
    const before = await withKilledDb((s) => directorySnapshot(s.db, "corp"));
    expect(before).toEqual(await directorySnapshot(clean.db, "corp"));

    // Entra ID changes: renames, a new user, a leaver, membership moves, a renamed and a new group.
    const t = emulator.tenants.get(emulator.tenantId);
    const people = t.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled);
    t.updateUser(people[0]!.id, { displayName: "Renamed Person", department: "Moved" });
    t.createUser({ displayName: "New Starter", userPrincipalName: `new.starter@${t.domain}`, mail: `new.starter@${t.domain}`, accountEnabled: true });
    t.deleteUser(people[1]!.id);
    const groups = t.listGroups().map((g) => ({ g, members: new Set(t.listMembers(g.id).map((m) => m.id)) })).sort((a, b) => a.members.size - b.members.size);
    const { g: g1, members: inG1 } = groups[0]!;
    t.addMember(g1.id, people.find((u) => !inG1.has(u.id) && u.id !== people[1]!.id)!.id);
    const leaver = t.listMembers(g1.id).find((m) => m.kind === "user" && m.id !== people[1]!.id);
    if (leaver) t.removeMember(g1.id, leaver.id);
    t.updateGroup(groups[1]!.g.id, { displayName: "Renamed Group" });
    t.createGroup({ displayName: "Fresh Group" });
    await syncClean(); // the undisturbed run, in the second database
    const undisturbed = await directorySnapshot(clean.db, "corp");
    expect(undisturbed).not.toEqual(before);

    // 1. Killed while listing Graph: every Graph answer a 429 asking for a minute, so the listing is still waiting when
    // the first one is seen (slowed answers could all be in after two, the users and groups rounds going side by side).
    emulator.setKnobs({ throttleRate: 1, retryAfterSeconds: 60 });
    const listed = emulator.stats().requests.length;
    const listing = startCli(["sync", "corp", "--json"], env);
    await until(() => emulator.stats().requests.slice(listed).some((r) => r.status === 429) || listing.child.exitCode !== null, 60_000, "the sync to list Graph");
    expect(listing.child.exitCode, listing.stderr()).toBeNull();
    listing.child.kill("SIGKILL");
    await listing.exited;
    emulator.setKnobs({ throttleRate: 0, retryAfterSeconds: 1 });
    const afterListingKill = await withKilledDb(stateIn);
    expect(afterListingKill.directory).toEqual(before);
    const deadListing = afterListingKill.runs.at(-1)!;
    if (killedDb) {
      expect(deadListing.status).toBe("running");
      // Until its lease expires, the dead run still holds the source: a new run says which one.
      const refused = await runCli(["sync", "corp", "--json"], env);
      expect(refused.code).not.toBe(0);
      expect(JSON.parse(refused.stderr.trim().split("\n").at(-1)!).error).toMatchObject({ code: "sync_running", details: { runId: deadListing.id } });
      await withKilledDb(expireLeaseIn); // as if the lease's 90 seconds had passed
    } else {
      // The embedded database is one process's at a time: opened again, it fails at once what the killed one left running.
      expect(deadListing).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringMatching(/stopped responding/) } });
    }

    // 2. Killed inside the apply transaction (a trigger holds the memberships step).
    // PostgreSQL: short, since the orphaned backend finishes its statement before it notices the client is gone.
    const sleepSeconds = killedDb ? 10 : 60;
    // The embedded database's trigger also leaves a file in its data folder as it starts holding the apply: the test's
    // only sight of the process's own database (a fixed pause for planning to pass fails on a loaded machine).
    const holding = join(dir, "data", "pgdata", "slow_apply.holding");
    const mark = killedDb ? sql`` : sql`execute format('copy (select 1) to %L', current_setting('data_directory') || '/slow_apply.holding');`;
    await withKilledDb((s) => sql`create function slow_apply() returns trigger language plpgsql as $$ begin ${mark} perform pg_sleep(${sql.lit(sleepSeconds)}); return null; end $$;
      create trigger slow_apply before insert on group_members for each statement execute function slow_apply()`.execute(s.db));
    const applying = startCli(["sync", "corp", "--json"], env);
    if (killedDb) {
      await until(async () => (await sql<{ phase: string }>`select progress->>'phase' as phase from sync_runs where status = 'running' and id <> ${deadListing.id}`.execute(killedDb!.db)).rows[0]?.phase === "applying", 60_000, "the apply phase");
    } else {
      await until(() => existsSync(holding) || applying.child.exitCode !== null, 60_000, "the apply held by its trigger");
    }
    expect(applying.child.exitCode, applying.stderr()).toBeNull();
    applying.child.kill("SIGKILL");
    await applying.exited;
    rmSync(holding, { force: true });
    const afterApplyKill = await withKilledDb(async (s) => {
      await sql`drop trigger slow_apply on group_members; drop function slow_apply()`.execute(s.db);
      const state = await stateIn(s);
      await expireLeaseIn(s); // for step 3: as if the lease's 90 seconds had passed
      return state;
    });
    expect(afterApplyKill.directory).toEqual(before);
    const deadApply = afterApplyKill.runs.at(-1)!;
    expect(deadApply).toMatchObject({ status: killedDb ? "running" : "failed", phase: "applying" }); // it was killed inside the apply transaction
    // Taking the source over marked the first dead run failed, with the reason.
    expect(afterApplyKill.runs.find((r) => r.id === deadListing.id)).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringMatching(/stopped responding/) } });

    // 3. The next run (once the lease expired) converges to exactly the undisturbed state.
    const recovered = await runCli(["sync", "corp", "--json"], env);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.json()).toMatchObject({ status: "succeeded" });
    const { directory, runs, leftovers } = await withKilledDb(async (s) => ({
      ...(await stateIn(s)),
      leftovers: (await sql<{ n: number }>`select (select count(*) from sync_stage_users) + (select count(*) from sync_stage_groups) + (select count(*) from sync_stage_members) + (select count(*) from sync_plan_users) as n`.execute(s.db)).rows[0]!.n,
    }));
    expect(directory).toEqual(undisturbed);
    expect(runs.find((r) => r.id === deadApply.id)).toMatchObject({ status: "failed", error: { message: expect.stringMatching(/killed/) } });
    expect(Number(leftovers)).toBe(0);
    const again = await runCli(["sync", "corp", "--json"], env);
    expect(again.json()).toMatchObject({ status: "succeeded", counts: { created: 0, updated: 0, disabled: 0 } });
  });
});
