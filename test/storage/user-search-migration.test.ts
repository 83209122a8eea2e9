import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { sql, type Kysely } from "kysely";
import { engines, freshDataFolder, openTestStore, type TestStore } from "../support/db.ts";
import { openStore, type Store } from "../../src/storage/database.ts";
import { migrations, migrator } from "../../src/storage/migrations/index.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { listUsers } from "../../src/core/users.ts";

const searchMigration = "032_user_search_text";
const before = Object.keys(migrations)[Object.keys(migrations).indexOf(searchMigration) - 1]!;
const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };

/** Users written by the version before the search text, one found by each field it searches. */
const addUsers = (db: Kysely<unknown>) => sql`insert into users (workspace_id, email, user_principal_name, display_name, employee_id, source_type, source_name)
  select w.id, u.email, u.upn, u.name, u.employee, 'manual', 'manual' from workspaces w,
    (values ('ada@example.com', null, 'Ada Lovelace', null), (null, 'grace@corp.example', 'Grace Hopper', 'E-1906'), ('alan@example.com', null, 'Alan Turing', null),
      ('jose@example.com', null, 'José Núñez', null))
    as u(email, upn, name, employee)
  where w.name = 'default'`.execute(db);

async function found(store: Store, q: string): Promise<string[]> {
  const ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default") };
  return (await listUsers(ctx, { q }, page)).items.map((u) => u.displayName);
}

async function expectSearchable(store: Store): Promise<void> {
  expect(await found(store, "LOVELACE")).toEqual(["Ada Lovelace"]);
  expect(await found(store, "grace@CORP")).toEqual(["Grace Hopper"]);
  expect(await found(store, "e-19")).toEqual(["Grace Hopper"]);
  expect(await found(store, "a")).toEqual(["Ada Lovelace", "Alan Turing", "Grace Hopper", "José Núñez"]);
  expect(await found(store, "nunez")).toEqual(["José Núñez"]); // migration 037 folds the accents of users written before it
}

describe.each(engines)("the user search migration on %s", (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });

  it("gives the users written before it their search text", async () => {
    store = await openTestStore(engine, { migrate: false });
    const db = store.db as unknown as Kysely<unknown>;
    expect((await migrator(db).migrateTo(before)).error).toBeUndefined();
    await addUsers(db);
    expect((await migrator(db).migrateToLatest()).error).toBeUndefined();
    await expectSearchable(store);
  });
});

describe("the user search migration on a data folder", () => {
  const folder = freshDataFolder("rollcall-search-upgrade-", "initialised");
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it("opens a data folder of the version before it and migrates it as it opens", async () => {
    const older = await openStore({ kind: "pglite", dataDir: folder }, { migrate: false });
    expect((await migrator(older.db as unknown as Kysely<unknown>).migrateTo(before)).error).toBeUndefined();
    await addUsers(older.db as unknown as Kysely<unknown>);
    await older.close();

    const store = await openStore({ kind: "pglite", dataDir: folder });
    try {
      expect(store.migrated).toContain(searchMigration);
      await expectSearchable(store);
    } finally {
      await store.close();
    }
  });
});
