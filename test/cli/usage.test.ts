import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bin, runCli } from "../support/cli.ts";
import { cliEngine, databaseForCli, freshDataFolder, type TestStore } from "../support/db.ts";

/**
 * PostgreSQL when the run has one, PGlite otherwise: how a command refuses its arguments does not depend on the
 * engine, and a CLI process opens PostgreSQL (or, refusing them, starts no embedded database) in a fraction of the
 * time PGlite's start takes.
 */
const engine = cliEngine;

/** Usage errors are invalid_input in every command, not only the root: exit 2, and one JSON error with --json. */
describe(`rollcall usage errors (${engine})`, () => {
  const dataDir = freshDataFolder("rollcall-usage-");
  let store: TestStore | undefined;
  const env: Record<string, string | undefined> = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined };
  const cli = (...args: string[]) => runCli(args, env);
  beforeAll(async () => {
    store = await databaseForCli(engine);
    if (store) env.DATABASE_URL = store.url;
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    [["sync"], "missing required argument 'source'"],
    [["sources", "add", "entra", "--tenant-id", "x"], "required option '--name <name>' not specified"],
    [["users", "list", "--frobnicate"], "unknown option '--frobnicate'"],
    [["runs", "list", "--limit", "0"], "option '--limit <n>' argument '0' is invalid"],
    [["--bogus"], "unknown option '--bogus'"],
    [["activity", "--before", "garbage"], "option '--before <entry>' argument 'garbage' is invalid"],
    [["users", "list", "--sort", "bogus"], "option '--sort <field>' argument 'bogus' is invalid. Allowed choices are displayName, email, createdAt, updatedAt, source."],
    [["users", "list", "--source-type", "entraa"], "option '--source-type <type>' argument 'entraa' is invalid. Allowed choices are manual, import, entra, scim."],
    [["export", "--out", join(dataDir, "x.csv"), "--source-type", "csv"], "option '--source-type <type>' argument 'csv' is invalid. Allowed choices are manual, import, entra, scim."],
  ])("rollcall %j exits 2, in text and as JSON, with a hint to --help", async (args, message) => {
    const text = await cli(...args);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(`error: ${message}`);
    // The error stays in view: a one-line hint follows it, not the whole help.
    expect(text.stderr).not.toContain("Usage:");
    expect(text.stderr).toMatch(/\n\(run `rollcall[a-z ]* --help` for usage\)\n$/);
    const json = await cli(...args, "--json");
    expect(json.code).toBe(2);
    expect(json.stdout).toBe("");
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "invalid_input", message: expect.stringContaining(message) } });
  });

  it.each([
    [["users", "update", "ada@example.com"], "rollcall users update --help"],
    [["workspaces", "update", "default"], "rollcall workspaces update --help"],
  ])("refuses rollcall %j with nothing to change (exit 2) rather than answering that it updated", async (args, help) => {
    expect((await cli("users", "add", "--email", "ada@example.com", "--display-name", "Ada")).code).toBeLessThan(5);
    const text = await cli(...args);
    expect(text.code).toBe(2);
    expect(text.stdout).toBe("");
    expect(text.stderr).toContain(`Nothing to change`);
    expect(text.stderr).toContain(help);
    const json = await cli(...args, "--json");
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "invalid_input", details: { reason: "nothing_to_change" } } });
  });

  it.each([
    [["export", "--out", "-", "--json"], "--json and --out - would both write to standard output"],
    [["template", "-"], 'a template is written to a file, not standard output ("-")'],
    [["template", join(dataDir, "users.doc")], 'cannot tell the format from "' + join(dataDir, "users.doc") + '"; use a .csv or .xlsx name\n'],
  ])("refuses rollcall %j with a message about the file it was given (exit 2)", async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("names a refused value by the flag that gave it, each problem on a line of its own; --json keeps the API's field names", async () => {
    const one = await cli("users", "add", "--email", "x@example.com");
    expect([one.code, one.stderr]).toEqual([2, "error [invalid_input]: --display-name: display name is required\n"]);
    const two = await cli("sources", "add", "entra", "--name", "x", "--tenant-id", "xyz", "--client-id", "1", "--client-secret-env", "HOME");
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/^error \[invalid_input\]: 2 problems:\n {2}- --tenant-id: must be the directory \(tenant\) ID, .*\n {2}- --client-id: must be the application \(client\) ID, a GUID\n$/);
    const json = await cli("users", "add", "--email", "x@example.com", "--json");
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { message: "displayName: display name is required", details: { fields: [{ field: "displayName" }] } } });
  });

  it("stops quietly, exit 0, when what reads its output stops early (| head)", async () => {
    // On the embedded database whatever the engine: the process must still end with its database's thread.
    const embedded = { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined };
    const rows = Array.from({ length: 400 }, (_, i) => `reader${i}@example.com,Reader ${i}`);
    writeFileSync(join(dataDir, "many.csv"), ["email,displayName", ...rows].join("\n"));
    expect((await runCli(["import", join(dataDir, "many.csv")], embedded)).code).toBe(0);
    const child = spawn(process.execPath, [bin, "users", "list", "--json", "--limit", "500"], { env: { ...process.env, ...embedded }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once("data", () => child.stdout.destroy()); // as `head -c 10` does after its first read
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    expect([code, stderr]).toEqual([0, ""]);
  });

  it("still exits 0 for --help and --version", async () => {
    expect((await cli("sync", "--help")).code).toBe(0);
    expect((await cli("--version")).stdout.trim()).toBe("0.1.0");
  });
});
