import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { Kysely } from "kysely";
import { runCli } from "../support/cli.ts";
import { freshDataFolder } from "../support/db.ts";
import { openStore } from "../../src/storage/database.ts";
import { migrations, migrator } from "../../src/storage/migrations/index.ts";

describe("rollcall migrate", () => {
  const dataDir = freshDataFolder("rollcall-migrate-", "initialised");
  const cli = (...args: string[]) => runCli(args, { ROLLCALL_DATA_DIR: dataDir, DATABASE_URL: undefined, ROLLCALL_SERVER: undefined });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("says which migrations an upgrade applied, and that there was nothing to apply the next time", async () => {
    // A database of the version before the last migration.
    const names = Object.keys(migrations);
    const older = await openStore({ kind: "pglite", dataDir }, { migrate: false });
    await migrator(older.db as Kysely<unknown>).migrateTo(names.at(-2)!);
    await older.close();

    const upgraded = await cli("migrate", "--json");
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.json<{ applied: string[] }>().applied).toEqual([names.at(-1)]);
    const again = await cli("migrate");
    expect(again.stdout.trim()).toBe("database (pglite) schema is up to date (nothing to apply)");
  });
});
