import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, underTerminal } from "../support/cli.ts";
import { cliEngine, databaseForCli, freshDataFolder, type TestStore } from "../support/db.ts";

/**
 * PostgreSQL when the run has one, PGlite otherwise: when the CLI asks does not depend on the engine, and a CLI
 * process opens PostgreSQL in a fraction of the time PGlite's start takes.
 */
const engine = cliEngine;

/**
 * Commands that destroy a lot (a workspace, a source, users --matching) ask first on a terminal and go on only on
 * "y"; --yes skips the question, and a script (no terminal) is never asked, so pipelines and cron jobs keep working.
 */
describe(`rollcall asks before destroying a lot (${engine})`, { timeout: 300_000 }, () => {
  const dataDir = freshDataFolder("rollcall-confirm-");
  let store: TestStore | undefined;
  const env: Record<string, string | undefined> = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, ROLLCALL_LOG_LEVEL: "silent", CORP_SECRET: "a-secret-value" };
  const cli = (...args: string[]) => runCli(args, env);
  const workspaces = async () => (await cli("workspaces", "list", "--json")).json<{ name: string }[]>().map((w) => w.name);
  const emails = async () => (await cli("users", "list", "--workspace", "doomed", "--json")).json<{ email: string }[]>().map((u) => u.email);

  beforeAll(async () => {
    store = await databaseForCli(engine);
    if (store) env.DATABASE_URL = store.url;
    expect((await cli("workspaces", "add", "doomed")).code).toBe(0);
    for (const name of ["ada", "bob"]) expect((await cli("users", "add", "--workspace", "doomed", "--email", `${name}@example.com`, "--display-name", name)).code).toBe(0);
    const source = await cli("sources", "add", "entra", "--name", "corp", "--tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--client-id", "11111111-1111-1111-1111-111111111111", "--client-secret-env", "CORP_SECRET", "--workspace", "doomed");
    expect(source.code, source.stderr).toBe(0);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("changes nothing when the answer is not yes", async () => {
    const workspace = await underTerminal(["workspaces", "remove", "doomed"], env, "n\r");
    expect(workspace.output).toContain('Delete workspace "doomed" and everything in it (its users, groups, sources and history)? This cannot be undone. [y/N]');
    expect([workspace.code, workspace.output]).toEqual([1, expect.stringContaining("Nothing was changed.")]);
    const everyone = await underTerminal(["users", "remove", "--matching", "--workspace", "doomed"], env, "no\r");
    expect([everyone.code, everyone.output]).toEqual([1, expect.stringContaining("Delete all 2 user(s) of workspace doomed? This cannot be undone. [y/N]")]);
    const source = await underTerminal(["sources", "remove", "corp", "--users", "delete", "--workspace", "doomed"], env, "\r");
    expect([source.code, source.output]).toEqual([1, expect.stringContaining('Remove source "corp" (0 synced users) and DELETE its users and groups? [y/N]')]);
    expect(await workspaces()).toContain("doomed");
    expect(await emails()).toEqual(["ada@example.com", "bob@example.com"]);
    expect((await cli("sources", "list", "--workspace", "doomed", "--json")).json()).toHaveLength(1);
  });

  it("goes on at yes, or without asking given --yes", async () => {
    const filtered = await underTerminal(["users", "remove", "--matching", "--search", "ada", "--workspace", "doomed"], env, "y\r");
    expect([filtered.code, filtered.output]).toEqual([0, expect.stringContaining("Delete the 1 user(s) these filters match? This cannot be undone. [y/N]")]);
    expect(filtered.output).toContain("removed 1 user(s)");
    expect(await emails()).toEqual(["bob@example.com"]);
    const source = await underTerminal(["sources", "remove", "corp", "--yes", "--workspace", "doomed"], env);
    expect([source.code, source.output]).toEqual([0, expect.not.stringContaining("[y/N]")]);
    expect((await cli("sources", "list", "--workspace", "doomed", "--json")).json()).toEqual([]);
  });

  it("never asks a script: without a terminal the command runs as it always did", async () => {
    const removed = await cli("workspaces", "remove", "doomed");
    expect([removed.code, removed.stdout, removed.stderr]).toEqual([0, "removed workspace doomed\n", ""]);
    expect(await workspaces()).not.toContain("doomed");
  });
});
