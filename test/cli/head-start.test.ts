import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pretendHeld } from "../support/data-dir-lock.ts";
import { afterAll, describe, expect, it } from "vitest";
import { opensEmbeddedDatabase } from "../../src/cli/head-start.ts";
import { isBulkCommandLine } from "../../src/cli/bulk-commands.ts";
import { runCli } from "../support/cli.ts";
import { freshDataFolder } from "../support/db.ts";

/**
 * bin/rollcall.js starts loading the embedded database's thread before the CLI's code has loaded, on a guess from
 * the arguments (src/cli/head-start.ts). A wrong guess must cost nothing but time: no folder is opened or locked
 * for it, and the unused thread does not keep the process alive.
 */
describe("the CLI's head start on the embedded database", { timeout: 120_000 }, () => {
  it("is taken only for a command that opens this machine's database", () => {
    for (const args of [["users", "list"], ["sync", "contoso"], ["import", "people.csv"], ["runs", "approve", "r1"], ["workspaces", "add", "x"]]) {
      expect(opensEmbeddedDatabase(args, {}), args.join(" ")).toBe(true);
    }
    for (const [args, env] of [
      [["users", "list", "--server", "https://rollcall.example"], {}],
      [["users", "list", "--server=https://rollcall.example"], {}],
      [["users", "list"], { ROLLCALL_SERVER: "https://rollcall.example" }],
      [["users", "list"], { DATABASE_URL: "postgres://db/rollcall" }],
      [["users", "list", "--help"], {}],
      [["help", "users"], {}],
      [["--version"], {}],
      [["serve"], {}],
      [["login"], {}],
      [["emulator"], {}],
      [[], {}],
    ] as const) {
      expect(opensEmbeddedDatabase([...args], env), args.join(" ")).toBe(false);
    }
  });

  it("keeps V8's optimising compiler for a command line that may read or write a whole directory", () => {
    for (const args of [["sync", "contoso"], ["import", "people.csv"], ["export", "--out", "all.csv"], ["users", "tag", "--matching", "--add", "x"], ["users", "disable", "--matching", "--department", "Sales"]]) {
      expect(isBulkCommandLine(args), args.join(" ")).toBe(true);
    }
    for (const args of [["users", "list"], ["users", "tag", "a@example.com", "--add", "x"], ["groups", "list", "--json"], ["activity"], ["migrate"], []]) {
      expect(isBulkCommandLine(args), args.join(" ")).toBe(false);
    }
  });

  const dataDir = freshDataFolder("rollcall-head-start-");
  const cli = (...args: string[]) => runCli(args, { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, ROLLCALL_SERVER: undefined });
  const lockFile = join(dataDir, "rollcall.lock");
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("leaves the folder untouched when the command did not open it: a usage error, a command that needs no database", async () => {
    expect((await cli("workspaces", "add", "early")).code).toBe(0);
    const usage = await cli("users", "list", "--bogus");
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining("unknown option '--bogus'")]);
    expect(existsSync(lockFile)).toBe(false);
    const template = await cli("import", "--template", join(dataDir, "template.csv"));
    expect(template.code, template.stderr).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
    // The next command finds the folder as it was.
    const listed = await cli("workspaces", "list", "--json");
    expect(listed.json<{ name: string }[]>().map((w) => w.name)).toContain("early");
  });

  it("never opens a folder another process holds: the command reports the holder, whose lock stays", async () => {
    const holder = { pid: process.pid, command: "serve", url: "http://127.0.0.1:3000", startedAt: new Date().toISOString() };
    const free = pretendHeld(dataDir, holder);
    try {
      const refused = await cli("users", "list");
      expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining(`is in use by \`rollcall serve\` (pid ${process.pid} at http://127.0.0.1:3000)`)]);
      expect(JSON.parse(readFileSync(lockFile, "utf8"))).toEqual(holder);
    } finally {
      free();
    }
  });
});
