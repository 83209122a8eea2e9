import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { withOwnUsers } from "../../src/storage/references.ts";

// Migration 009: the bulk-written tables hold their references with statement-level triggers instead of
// foreign keys. They must keep every guarantee a foreign key gave: no row pointing at nothing, cascades
// and SET NULL on delete, and a concurrent delete of a parent that cannot slip past an insert.
describe.each(engines)("references held by statement triggers on %s", (engine) => {
  let store: TestStore;
  let ws: string;
  let other: string;
  beforeAll(async () => {
    store = await openTestStore(engine);
    ws = (await sql<{ id: string }>`insert into workspaces (name) values ('refs') returning id`.execute(store.db)).rows[0]!.id;
    other = (await sql<{ id: string }>`insert into workspaces (name) values ('refs-other') returning id`.execute(store.db)).rows[0]!.id;
  });
  afterAll(() => store.dispose());

  const run = (query: ReturnType<typeof sql>) => query.execute(store.db);
  const failure = (query: ReturnType<typeof sql>) => run(query).then(() => null, (e: unknown) => e as { code?: string; message: string; detail?: string });
  const newUser = async (workspaceId = ws, name = `u${Math.random()}`) =>
    (await sql<{ id: string }>`insert into users (workspace_id, display_name, email, source_type, source_name)
      values (${workspaceId}, ${name}, ${`${name}@example.com`}, 'manual', 'manual') returning id`.execute(store.db)).rows[0]!.id;
  const newGroup = async (workspaceId = ws, name = `g${Math.random()}`) =>
    (await sql<{ id: string }>`insert into groups (workspace_id, name, source_type, source_name) values (${workspaceId}, ${name}, 'manual', 'manual') returning id`.execute(store.db)).rows[0]!.id;
  const count = async (query: ReturnType<typeof sql>) => Number((await sql<{ n: string }>`select count(*) as n from (${query}) q`.execute(store.db)).rows[0]!.n);
  const missingId = "00000000-0000-4000-8000-000000000001";

  it("refuses a whole statement when one of its rows points at a missing user, group or workspace, naming the key", async () => {
    const [user, group] = [await newUser(), await newGroup()];
    const error = await failure(sql`insert into group_members (workspace_id, group_id, member_user_id) values
      (${ws}, ${group}, ${user}), (${ws}, ${group}, ${missingId})`);
    expect(error?.code).toBe("23503");
    expect(error?.message).toMatch(/group_members.*group_members_member_user_id_fkey/);
    expect(error?.detail).toContain(missingId);
    expect(await count(sql`select 1 from group_members where group_id = ${group}`)).toBe(0);

    expect((await failure(sql`insert into group_members (workspace_id, group_id, member_group_id) values (${ws}, ${group}, ${missingId})`))?.code).toBe("23503");
    // The group must be in the membership's workspace (a composite reference).
    expect((await failure(sql`insert into group_members (workspace_id, group_id, member_user_id) values (${other}, ${group}, ${user})`))?.code).toBe("23503");
    expect((await failure(sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position) values (${ws}, 'card', 'k1', 'k1', ${missingId}, 0)`))?.code).toBe("23503");
    expect((await failure(sql`insert into change_log (workspace_id, subject, action, actor) values (${missingId}, 's', 'a', 't')`))?.code).toBe("23503");
    expect((await failure(sql`insert into entra_users (source_id, id, data) values (${missingId}, 'x', '{}')`))?.code).toBe("23503");
    // NULL refers to nothing, as with a foreign key.
    await run(sql`insert into change_log (workspace_id, run_id, subject, action, actor) values (${ws}, null, 's', 'a', 't')`);
  });

  it("checks an UPDATE that points a row elsewhere, and refuses to change a referenced key", async () => {
    const [user, group] = [await newUser(), await newGroup()];
    await run(sql`insert into group_members (workspace_id, group_id, member_user_id) values (${ws}, ${group}, ${user})`);
    const error = await failure(sql`update group_members set member_user_id = ${missingId} where group_id = ${group}`);
    expect(error?.code).toBe("23503");
    expect(error?.detail).toContain(missingId);
    const another = await newUser();
    await run(sql`update group_members set member_user_id = ${another} where group_id = ${group}`);
    expect((await failure(sql`update users set id = ${missingId} where id = ${another}`))?.code).toBe("23503");
  });

  it("cascades deletes of users, groups, sources and workspaces, and sets a deleted run's log entries to NULL", async () => {
    const [user, group, nested] = [await newUser(), await newGroup(), await newGroup()];
    await run(sql`insert into group_members (workspace_id, group_id, member_user_id) values (${ws}, ${group}, ${user})`);
    await run(sql`insert into group_members (workspace_id, group_id, member_group_id) values (${ws}, ${group}, ${nested})`);
    await run(sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position) values (${ws}, 'card', ${user}, '1', ${user}, 0)`);
    await run(sql`delete from users where id = ${user}`);
    expect(await count(sql`select 1 from group_members where member_user_id = ${user}`)).toBe(0);
    expect(await count(sql`select 1 from user_identifiers where user_id = ${user}`)).toBe(0);
    await run(sql`delete from groups where id = ${nested}`);
    expect(await count(sql`select 1 from group_members where group_id = ${group}`)).toBe(0);

    const source = (await sql<{ id: string }>`insert into sources (workspace_id, type, name) values (${ws}, 'entra', 'refs') returning id`.execute(store.db)).rows[0]!.id;
    const synced = await newUser();
    await run(sql`update users set source_id = ${source}, external_id = 'a' where id = ${synced}`);
    await run(sql`insert into entra_users (source_id, id, data) values (${source}, 'a', '{}')`);
    await run(sql`insert into entra_members (source_id, group_id, member_id, kind) values (${source}, 'g', 'a', 'user')`);
    const runId = (await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status) values (${ws}, ${source}, 'manual', 'full', 'succeeded') returning id`.execute(store.db)).rows[0]!.id;
    await run(sql`insert into change_log (workspace_id, run_id, subject, action, actor) values (${ws}, ${runId}, 'kept', 'a', 't')`);
    // The source's runs go with it (a foreign key), and their log entries stay, detached.
    await run(sql`delete from sources where id = ${source}`);
    expect(await count(sql`select 1 from entra_users where source_id = ${source} union all select 1 from entra_members where source_id = ${source}`)).toBe(0);
    expect((await sql<{ run_id: string | null }>`select run_id from change_log where subject = 'kept'`.execute(store.db)).rows).toEqual([{ run_id: null }]);
    expect((await sql<{ source_id: string | null }>`select source_id from users where id = ${synced}`.execute(store.db)).rows).toEqual([{ source_id: null }]);

    // A workspace's deletion reaches the memberships through its users (a foreign key, then a trigger).
    const gone = (await sql<{ id: string }>`insert into workspaces (name) values ('refs-gone') returning id`.execute(store.db)).rows[0]!.id;
    const [u, g] = [await newUser(gone), await newGroup(gone)];
    await run(sql`insert into group_members (workspace_id, group_id, member_user_id) values (${gone}, ${g}, ${u})`);
    await run(sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position) values (${gone}, 'alias', 'x', 'x', ${u}, 0)`);
    await run(sql`insert into change_log (workspace_id, subject, action, actor) values (${gone}, 's', 'a', 't')`);
    await run(sql`delete from workspaces where id = ${gone}`);
    expect(await count(sql`select 1 from users where id = ${u} union all select 1 from group_members where workspace_id = ${gone}
      union all select 1 from user_identifiers where workspace_id = ${gone}
      union all select 1 from change_log where workspace_id = ${gone}`)).toBe(0);
  });

  it("skips the check of users a writer says it inserted, only while it writes them, and never that of groups", async () => {
    const group = await newGroup();
    const insertUser = (name: string) => sql<{ id: string }>`insert into users (workspace_id, display_name, source_type, source_name)
      values (${ws}, ${name}, 'import', 'own.csv') returning id`;
    const member = (userId: string, groupId = group) => sql`insert into group_members (workspace_id, group_id, member_user_id) values (${ws}, ${groupId}, ${userId})`;
    const inTransaction = (work: (trx: typeof store.db) => Promise<unknown>) =>
      store.db.transaction().execute(work).then(() => null, (e: unknown) => e as { code?: string; detail?: string });

    // The users the transaction inserted are written without a lookup; a missing group is still refused.
    expect(await inTransaction(async (trx) => {
      const own = (await insertUser("own").execute(trx)).rows[0]!.id;
      await withOwnUsers(trx, () => member(own).execute(trx));
    })).toBeNull();
    // No lookup at all: the writer's word is taken (this transaction is rolled back, leaving nothing).
    expect((await inTransaction(async (trx) => {
      await withOwnUsers(trx, async () => {
        await member(missingId).execute(trx);
        await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position) values (${ws}, 'card', 'own-k', 'own-k', ${missingId}, 0)`.execute(trx);
      });
      throw Object.assign(new Error("accepted unchecked"), { code: "unchecked" });
    }))?.code).toBe("unchecked");
    expect((await inTransaction(async (trx) => {
      const own = (await insertUser("own, wrong group").execute(trx)).rows[0]!.id;
      await withOwnUsers(trx, () => member(own, missingId).execute(trx));
    }))?.code).toBe("23503");
    // Once the write is done, the next statement of the same transaction is checked again, and so is the next transaction.
    expect((await inTransaction(async (trx) => {
      await withOwnUsers(trx, async () => {});
      await member(missingId).execute(trx);
    }))?.detail).toContain(missingId);
    expect((await failure(member(missingId)))?.code).toBe("23503");
    expect(await count(sql`select 1 from group_members where group_id = ${group}`)).toBe(1);
  });

  it.runIf(engine === "postgres")("makes a concurrent delete of a parent wait for the inserting transaction, then cascade to the new rows", async () => {
    const [user, group] = [await newUser(), await newGroup()];
    const { db } = store;
    let deleted = false;
    let deleting: Promise<unknown> | undefined;
    await db.transaction().execute(async (trx) => {
      await sql`insert into group_members (workspace_id, group_id, member_user_id) values (${ws}, ${group}, ${user})`.execute(trx);
      // The insert locked the user: the delete on another connection must wait for this transaction to end.
      deleting = sql`delete from users where id = ${user}`.execute(db).then(() => (deleted = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(deleted).toBe(false);
    });
    await deleting;
    expect(await count(sql`select 1 from group_members where member_user_id = ${user}`)).toBe(0);
  });
});
