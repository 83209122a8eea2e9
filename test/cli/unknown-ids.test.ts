import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { freshDataFolder } from "../support/db.ts";

/** An id that names nothing is not_found (exit 3) whatever its shape, never an internal error from the database. */
describe("rollcall with an id that names nothing", () => {
  const dataDir = freshDataFolder("rollcall-unknown-ids-");
  const cli = (...args: string[]) => runCli(args, { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([["runs", "approve"], ["runs", "reject"], ["runs", "cancel"], ["runs", "show"]])("rollcall %s %s nope exits 3 with not_found", async (...command) => {
    const result = await cli(...command, "nope", "--json");
    expect(result.code, result.stderr).toBe(3);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: "not_found", details: { resource: "run", key: "nope" } } });
  });
});
