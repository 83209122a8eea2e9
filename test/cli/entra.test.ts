import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator, type TenantHandle } from "../../src/emulator/index.ts";
import { killStarted, runCli, startCli } from "../support/cli.ts";

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error("timed out");
  }
}

/** `rollcall sources` / `sync` / `runs` against the emulator, on the embedded database, as an admin runs them. */
describe("rollcall with an Entra ID source", { timeout: 180_000 }, () => {
  let emulator: RunningEmulator;
  let tenant: TenantHandle;
  let dir: string;
  let env: Record<string, string | undefined>;
  const cli = (...args: string[]) => runCli(args, env);
  const source = (...extra: string[]) => [
    "--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--client-secret-env", "EMU_SECRET",
    "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, ...extra,
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-cli-entra-"));
    emulator = await startEmulator({ port: 0, dataDir: join(dir, "emu"), users: 30, groups: 3, quiet: true });
    tenant = emulator.tenants.get(emulator.tenantId);
    env = { ROLLCALL_DATA_DIR: join(dir, "data"), DATABASE_URL: undefined, NODE_EXTRA_CA_CERTS: emulator.caFile, EMU_SECRET: emulator.clientSecret };
  });
  afterAll(async () => {
    await killStarted();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sources test fails on a group attribute or mapping Graph does not have, naming it and the flag to fix", async () => {
    expect((await cli("sources", "add", "entra", "--name", "attr", ...source("--group-mode", "attribute", "--group-attribute", "costCenter"))).code).toBe(0);
    const attr = await cli("sources", "test", "attr", "--json");
    expect(attr.code).toBe(1);
    const users = attr.json<{ ok: boolean; checks: { name: string; ok: boolean; message: string }[] }>().checks.find((c) => c.name === "users")!;
    expect(users.ok).toBe(false);
    expect(users.message).toContain("'costCenter'");
    expect(users.message).toContain("rollcall sources update attr --group-attribute");

    expect((await cli("sources", "add", "entra", "--name", "mapped", ...source("--map", "jobTitle=costCentre"))).code).toBe(0);
    const mapped = await cli("sources", "test", "mapped");
    expect(mapped.code).toBe(1);
    expect(mapped.stdout).toMatch(/FAIL users .*'costCentre'.*--map jobTitle=PROPERTY/);

    expect((await cli("sources", "update", "mapped", "--map", "jobTitle=department")).code).toBe(0);
    expect((await cli("sources", "test", "mapped")).code).toBe(0);
  });

  it("names the missing permission when Graph refuses a sync", async () => {
    for (const [granted, missing] of [["User.Read.All", "Group.Read.All"], ["Group.Read.All", "User.Read.All"]] as const) {
      const app = tenant.registerApp({ displayName: `only ${granted}`, appPermissions: [granted] });
      const name = `only-${granted}`.toLowerCase();
      const add = await runCli(["sources", "add", "entra", "--name", name, ...source("--group-mode", "all"), "--client-id", app.clientId, "--client-secret-env", "APP_SECRET"], { ...env, APP_SECRET: app.secrets[0]!.secretText });
      expect(add.code, add.stderr).toBe(0);
      const sync = await cli("sync", name, "--json");
      expect(sync.code).toBe(1);
      expect(sync.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: "source_permission_missing", message: expect.stringContaining(`permission ${missing} and click`) });
    }
  });

  it("marks dry runs in the JSON summary and the runs table, and says when a real run would stop at the deletion threshold", async () => {
    expect((await cli("sources", "add", "entra", "--name", "dry", ...source("--deletion-threshold-count", "2"))).code).toBe(0);
    const first = await cli("sync", "dry", "--json");
    expect(first.json()).toMatchObject({ status: "succeeded", dryRun: false });
    for (const u of tenant.listUsers().filter((u) => u.userType === "Member" && u.accountEnabled).slice(0, 6)) tenant.deleteUser(u.id);

    const dry = await cli("sync", "dry", "--dry-run", "--json");
    expect(dry.code, dry.stderr).toBe(0);
    const summary = dry.json<{ runId: string; dryRun: boolean; counts: Record<string, number> }>();
    expect(summary).toMatchObject({ status: "succeeded", dryRun: true, counts: { removals: 6, wouldStopAtThreshold: 1 } });
    const human = await cli("sync", "dry", "--dry-run");
    expect(human.stdout).toMatch(/^Dry run .*\n(.*\n)*  a real run would stop at the deletion threshold: it would disable or delete 6 of the \d+ users/);
    expect((await cli("runs", "show", summary.runId)).stdout).toContain("a real run would stop at the deletion threshold");

    const list = (await cli("runs", "list", "--source", "dry")).stdout.split("\n");
    expect(list.filter((line) => line.includes(summary.runId))[0]).toContain("succeeded (dry run)");
    expect(list.filter((line) => line.includes(first.json<{ runId: string }>().runId))[0]).not.toContain("dry run");

    // Nothing waits for a decision after a dry run: rejecting it is refused.
    const reject = await cli("runs", "reject", summary.runId, "--json");
    expect(reject.code).toBe(4);
    expect(JSON.parse(reject.stderr)).toMatchObject({ error: { code: "conflict", message: expect.stringContaining("not waiting for a decision") } });
  });

  it("Ctrl-C during a sync ends the run as failed, rolled back, with the source free for the next run", async () => {
    expect((await cli("sources", "add", "entra", "--name", "ctrlc", ...source())).code).toBe(0);
    emulator.resetStats();
    emulator.setKnobs({ latencyMs: 2000 });
    try {
      const sync = startCli(["sync", "ctrlc", "--json"], env);
      // Interrupted while Graph is slowly answering its first listing, after the token.
      await until(() => emulator.stats().requests.some((r) => r.method === "POST" && r.status === 200), 60_000);
      await new Promise((r) => setTimeout(r, 500));
      const sent = Date.now();
      sync.child.kill("SIGINT");
      expect(await sync.exited).toBe(130);
      expect(Date.now() - sent).toBeLessThan(1900); // it did not wait for Graph's answer
      const summary = JSON.parse(sync.stdout()) as { runId: string; status: string; error: { code: string; message: string } };
      expect(summary).toMatchObject({ status: "failed", error: { code: "sync_failed", message: expect.stringContaining("Interrupted (SIGINT)") } });
      expect(sync.stderr()).toContain("SIGINT: stopping the run");
    } finally {
      emulator.setKnobs({ latencyMs: 0 });
    }
    const runs = (await cli("runs", "list", "--source", "ctrlc", "--json")).json<{ status: string; error: { message: string } | null }[]>();
    expect(runs).toMatchObject([{ status: "failed", error: { message: expect.stringContaining("Interrupted") } }]);
    expect((await cli("users", "list", "--source", "ctrlc", "--json")).json()).toEqual([]);
    const again = await cli("sync", "ctrlc", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ status: "succeeded", mode: "full" });
  });
});
