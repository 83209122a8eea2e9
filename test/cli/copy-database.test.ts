import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../src/emulator/index.ts";
import { runCli } from "../support/cli.ts";
import { seedDataFolder } from "../support/db.ts";
import { seedEmulatorFolder } from "../support/emulator.ts";
import { createScratchDatabase } from "../support/scratch-database.ts";

const server = process.env.ROLLCALL_TEST_DATABASE_URL;

/**
 * `rollcall copy-database`: an installation that outgrew its data folder moves to a PostgreSQL server and goes on
 * where it was: the same users and history, its source's secret opening with the folder's key, the next sync a delta.
 */
describe.skipIf(!server)("copying the embedded database into PostgreSQL", { timeout: 240_000 }, () => {
  let emulator: RunningEmulator;
  let dir: string;
  let local: Record<string, string | undefined>;
  let target: { url: string; drop(): Promise<void> };
  const cli = (env: Record<string, string | undefined>, ...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rollcall-copy-db-"));
    emulator = await startEmulator({ port: 0, dataDir: seedEmulatorFolder(join(dir, "emu")), users: 40, groups: 4, quiet: true });
    local = { ROLLCALL_DATA_DIR: seedDataFolder(join(dir, "data")), DATABASE_URL: undefined, ROLLCALL_SECRET_KEY: undefined, NODE_EXTRA_CA_CERTS: emulator.caFile, EMU_SECRET: emulator.clientSecret };
    target = await createScratchDatabase(server!, "rollcall_copy");
  });
  afterAll(async () => {
    await target?.drop();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies everything, refuses a database that is not empty, and the copy syncs on as a delta", async () => {
    const source = ["--tenant-id", emulator.tenantId, "--client-id", emulator.clientId, "--client-secret-env", "EMU_SECRET", "--login-url", emulator.loginUrl, "--graph-url", emulator.graphUrl, "--group-mode", "all"];
    expect((await cli(local, "sources", "add", "entra", "--name", "corp", ...source)).code).toBe(0);
    expect((await cli(local, "sync", "corp", "--json")).json()).toMatchObject({ mode: "full", status: "succeeded" });
    expect((await cli(local, "users", "add", "--email", "hand@example.com", "--display-name", "By Hand", "--card-number", "0042")).code).toBe(0);
    const before = (await cli(local, "users", "list", "--json")).json<{ email: string }[]>().map((u) => u.email).sort();

    const copied = await cli(local, "copy-database", "--to", target.url, "--json");
    expect(copied.code, copied.stderr).toBe(0);
    const report = copied.json<{ rows: number; tables: { table: string; rows: number }[]; secretKey: string }>();
    expect(report.secretKey).toBe(join(local.ROLLCALL_DATA_DIR!, "secret.key"));
    expect(report.tables.find((t) => t.table === "users")!.rows).toBe(before.length);
    expect(report.tables.map((t) => t.table)).toEqual(expect.arrayContaining(["change_log", "entra_users", "source_state", "sync_runs", "user_identifiers"]));

    const remote = { ...local, DATABASE_URL: target.url, ROLLCALL_SECRET_KEY: readFileSync(join(local.ROLLCALL_DATA_DIR!, "secret.key"), "utf8").trim(), ROLLCALL_DATA_DIR: join(dir, "elsewhere") };
    expect((await cli(remote, "users", "list", "--json")).json<{ email: string }[]>().map((u) => u.email).sort()).toEqual(before);
    expect((await cli(remote, "users", "show", "hand@example.com", "--json")).json()).toMatchObject({ cardNumbers: ["0042"] });
    expect((await cli(remote, "users", "history", "hand@example.com", "--json")).json()).toMatchObject({ total: 1 });
    expect((await cli(remote, "sync", "corp", "--json")).json()).toMatchObject({ mode: "delta", status: "succeeded" });
    expect((await cli(remote, "users", "add", "--email", "after@example.com", "--display-name", "After the move")).code).toBe(0);

    const again = await cli(local, "copy-database", "--to", target.url);
    expect([again.code, again.stderr]).toEqual([4, expect.stringContaining("The target database is not empty (it holds")]);
    // A database not created yet: the error names the flag the URL came from and what to do.
    const missing = new URL(target.url);
    missing.pathname = "/rollcall_not_created";
    const absent = await cli(local, "copy-database", "--to", missing.toString());
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/\(--to\): database "rollcall_not_created" does not exist: create it first \(createdb NAME/);
  });
});
