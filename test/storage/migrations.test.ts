import { afterEach, describe, expect, it } from "vitest";
import { sql, type Kysely } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { migrations, migrator } from "../../src/storage/migrations/index.ts";
import { migrateToLatest } from "../../src/storage/database.ts";

async function schemaOf(db: Kysely<unknown>) {
  const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>`
    select table_name, column_name, data_type, is_nullable from information_schema.columns
    where table_schema = 'public' and table_name not like 'rollcall_migrations%'
    order by table_name, column_name`.execute(db);
  const indexes = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname`.execute(db);
  return { columns: columns.rows, indexes: indexes.rows };
}

describe.each(engines)("schema migrations on %s", (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });

  it("builds the latest schema on an empty database, with the default workspace", async () => {
    // Not from the run's migrated template (test/support/db.ts): every migration runs here, in order.
    store = await openTestStore(engine, { migrate: false });
    expect(await migrateToLatest(store.db)).toEqual(Object.keys(migrations));
    const workspaces = await store.db.selectFrom("workspaces").select("name").execute();
    expect(workspaces.map((w) => w.name)).toEqual(["default"]);
    expect(await migrateToLatest(store.db)).toEqual([]); // nothing left to do the second time

    // The shortcut for an up-to-date database (isMigrated) is not fooled by a migration missing in the middle.
    await sql`delete from rollcall_migrations where name = ${Object.keys(migrations)[5]!}`.execute(store.db);
    await expect(migrateToLatest(store.db)).rejects.toThrow(/Database migration failed/);
  });

  it("says a newer Rollcall migrated the database when it holds a migration this version does not know", async () => {
    store = await openTestStore(engine);
    await sql`insert into rollcall_migrations (name, timestamp) values ('999_from_the_future', ${new Date().toISOString()})`.execute(store.db);
    await expect(migrateToLatest(store.db)).rejects.toMatchObject({
      code: "config_invalid",
      message: "The database was brought up to date by a newer version of Rollcall: it has migration 999_from_the_future, which this version does not know. Run that version (or a later one), or restore the database from a backup taken before the upgrade.",
    });
  });

  // One walk instead of a test per version (each ran every migration again, minutes per engine): a user written
  // at each version is carried through every later migration, as an upgrade from that version carries it.
  it("upgrades from every earlier version to the latest without losing data", async () => {
    const fresh = await openTestStore(engine);
    const latest = await schemaOf(fresh.db as unknown as Kysely<unknown>).finally(() => fresh.dispose());
    store = await openTestStore(engine, { migrate: false });
    const db = store.db as unknown as Kysely<unknown>;
    const versions = Object.keys(migrations);
    for (const version of versions.slice(0, -1)) {
      expect((await migrator(db).migrateTo(version)).error, `migrating to ${version}`).toBeUndefined();
      // Data written at that version (001 columns exist in every later version).
      await sql`insert into users (workspace_id, email, display_name, source_type, source_name)
                select id, ${`user-${version}@example.com`}, ${`User ${version}`}, 'manual', 'manual' from workspaces where name = 'default'`.execute(db);
    }
    expect(await migrateToLatest(store.db)).toEqual(versions.slice(-1));
    const users = await store.db.selectFrom("users").select(["email", "display_name"]).orderBy("email").execute();
    expect(users).toEqual(versions.slice(0, -1).map((v) => ({ email: `user-${v}@example.com`, display_name: `User ${v}` })));
    expect(await schemaOf(db)).toEqual(latest);
  });

  it("018 leaves a removed source's users and groups managed in Rollcall, with the Entra object ID and an entry saying why", async () => {
    store = await openTestStore(engine, { migrate: false });
    const db = store.db as unknown as Kysely<unknown>;
    expect((await migrator(db).migrateTo("017_references_to_own_rows")).error).toBeUndefined();
    // What removing a source left before 018: entra rows whose source_id the foreign key had set to null.
    await sql`insert into users (workspace_id, email, display_name, source_type, source_name, external_id, tags)
              select id, 'kept@example.com', 'Kept', 'entra', 'corp', 'obj-1', array['ID synced', 'vip'] from workspaces where name = 'default'`.execute(db);
    await sql`insert into groups (workspace_id, name, source_type, source_name, external_id)
              select id, 'Pilots', 'entra', 'corp', 'grp-1' from workspaces where name = 'default'`.execute(db);
    await migrateToLatest(store.db);
    const user = await sql<{ source_type: string; source_name: string; external_id: string; tags: string[] }>`select source_type, source_name, external_id, tags from users`.execute(db);
    expect(user.rows).toEqual([{ source_type: "manual", source_name: "corp", external_id: "obj-1", tags: ["Manual", "vip"] }]);
    const group = await sql<{ source_type: string; external_id: string }>`select source_type, external_id from groups`.execute(db);
    expect(group.rows).toEqual([{ source_type: "manual", external_id: "grp-1" }]);
    const log = await sql<{ action: string; subject: string }>`select action, subject from change_log order by id`.execute(db);
    expect(log.rows).toEqual([{ action: "unlink", subject: "kept@example.com" }, { action: "unlink group", subject: "Pilots" }]);
  });
});
