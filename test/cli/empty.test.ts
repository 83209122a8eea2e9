import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { cliEngine, databaseForCli, freshDataFolder, type TestStore } from "../support/db.ts";

/**
 * PostgreSQL when the run has one, PGlite otherwise: what the CLI prints over an empty list does not depend on the
 * engine (its lists are tested on both in test/core and test/api), and a CLI process opens PostgreSQL in a fraction
 * of the time PGlite's start takes.
 */
const engine = cliEngine;

/** An empty list says what is empty and how to fill it, instead of "(none)"; --json stays an empty array. */
describe(`rollcall lists in an empty workspace (${engine})`, { timeout: 120_000 }, () => {
  const dataDir = freshDataFolder("rollcall-empty-");
  let store: TestStore | undefined;
  const env: Record<string, string | undefined> = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined };
  const cli = (...args: string[]) => runCli(args, env);
  beforeAll(async () => {
    store = await databaseForCli(engine);
    if (store) env.DATABASE_URL = store.url;
    expect((await cli("workspaces", "add", "fresh")).code).toBe(0);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    [["users", "list"], "No users in workspace fresh yet: add one with `rollcall users add --email EMAIL --display-name NAME --workspace fresh`, or import a file with `rollcall import FILE --workspace fresh`."],
    [["users", "list", "--enabled", "false"], "No users in workspace fresh match these filters."],
    [["groups", "list"], "No groups in workspace fresh yet: add one with `rollcall groups add NAME --workspace fresh`."],
    [["groups", "list", "--source", "manual"], "No groups in workspace fresh match these filters."],
    [["sources", "list"], "No sources in workspace fresh yet: `rollcall sources add entra --help` (Rollcall reads Entra ID) or `rollcall sources add scim --help` (Entra ID pushes over SCIM) shows how to add one."],
    [["runs", "list"], "No sync runs in workspace fresh yet."],
    [["tokens", "list"], "No API tokens in workspace fresh yet: create one with `rollcall tokens create --workspace fresh`."],
  ])("rollcall %j says what is empty", async (args, message) => {
    const text = await cli(...args, "--workspace", "fresh");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(`${message}\n`);
    const json = await cli(...args, "--workspace", "fresh", "--json");
    expect(json.stdout).toBe("[]\n");
  });

  it("refuses a source filter that names no source, rather than an empty list", async () => {
    for (const args of [["users", "list"], ["groups", "list"]]) {
      const misspelt = await cli(...args, "--source", "Manul", "--workspace", "fresh");
      expect([misspelt.code, misspelt.stdout, misspelt.stderr]).toEqual([2, "", expect.stringContaining('no source is named "Manul" in workspace "fresh"; its sources are "manual"')]);
      // A list printed as it is read still prints nothing but the error.
      const json = await cli(...args, "--source", "Manul", "--workspace", "fresh", "--json");
      expect([json.code, json.stdout, JSON.parse(json.stderr)]).toEqual([2, "", { error: expect.objectContaining({ code: "invalid_input" }) }]);
    }
  });
});
