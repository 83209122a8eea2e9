import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompiledQuery, sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace, type Workspace } from "../../src/core/workspaces.ts";
import { listTags, listUsers } from "../../src/core/user-list.ts";
import { whereFilter, type UserFilter } from "../../src/storage/queries/users.ts";

/**
 * A source's tag filter through its partial index (migration 045): 2,000 users, six in ten ID synced, three Imported, one
 * Manual, some with tags of their own, a few odd ones (a user holding two sources' tags, one holding a source's tag in
 * another case, one holding none). Each source tag, asked in any case, must find what it found before the index,
 * the tag matched as written by reading every user, and the planner must read the index for a tag few users hold.
 */
const USERS = 2000;

describe.each(engines)("a source's tag filter through its index on %s", (engine) => {
  let store: TestStore;
  let ctx: { db: TestStore["db"]; workspace: Workspace };

  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default") };
    await sql`
      insert into users (workspace_id, display_name, source_type, source_name, tags)
      select ${ctx.workspace.id}, 'User ' || i, 'manual', 'manual',
        case when i = 1 then array['ID synced', 'Imported'] when i = 2 then array['imported'] when i = 3 then '{}'::text[]
          else array[case when i % 10 < 6 then 'ID synced' when i % 10 < 9 then 'Imported' else 'Manual' end] || case when i % 7 = 0 then array['Night shift'] else '{}' end
        end
      from generate_series(1, ${USERS}) i`.execute(store.db);
    await sql`analyze users (id, workspace_id, tags)`.execute(store.db);
  });
  afterAll(() => store?.dispose());

  /** What the filter found before the index: every user of the workspace read, the tag compared as written. */
  async function readingEveryUser(tag: string): Promise<string[]> {
    return store.db.transaction().execute(async (trx) => {
      await sql`set local enable_indexscan = off`.execute(trx);
      await sql`set local enable_bitmapscan = off`.execute(trx);
      const { rows } = await sql<{ id: string }>`select id from users where workspace_id = ${ctx.workspace.id} and tags @> array[${tag}]::text[]
        order by display_name collate "und-x-icu", id`.execute(trx);
      return rows.map((r) => r.id);
    });
  }

  async function listed(filter: UserFilter): Promise<{ ids: string[]; total: number }> {
    const ids: string[] = [];
    let after: string | undefined;
    let total = 0;
    do {
      const page = await listUsers(ctx, filter, { limit: 500, sort: "displayName", order: "asc", after });
      ids.push(...page.items.map((u) => u.id));
      total = page.total;
      after = page.next ?? undefined;
    } while (after);
    return { ids, total };
  }

  it("finds each source's tag, asked in any case, as reading every user did: its holders as written, all of them", async () => {
    for (const [asked, stored] of [["ID synced", "ID synced"], ["id SYNCED", "ID synced"], ["Imported", "Imported"], ["IMPORTED", "Imported"], ["manual", "Manual"]] as const) {
      const want = await readingEveryUser(stored);
      expect(want.length, asked).toBeGreaterThan(100);
      const found = await listed({ tag: asked });
      expect(found.ids, asked).toEqual(want);
      expect(found.total, asked).toBe(want.length);
      const offsetPage = await listUsers(ctx, { tag: asked }, { limit: 50, offset: 100, sort: "displayName", order: "asc" });
      expect(offsetPage.items.map((u) => u.id), asked).toEqual(want.slice(100, 150));
      expect(offsetPage.total, asked).toBe(want.length);
    }
    // The tags list counts them as the filter finds them.
    const { items: tags } = await listTags(ctx);
    expect(tags.find((t) => t.tag === "Manual")?.users).toBe((await readingEveryUser("Manual")).length);
  });

  it("counts the holders of a source's tag from its partial index", async () => {
    const where = await whereFilter(store.db, ctx.workspace.id, { tag: "Manual" });
    const compiled = store.db.selectFrom("users as u").select(sql<number>`count(*)::int`.as("n")).where(where).compile();
    // With the tag as a parameter, as the list sends it: the index's predicate must be proved from its value.
    const { rows } = await store.db.executeQuery<Record<string, string>>(CompiledQuery.raw(`explain (costs off) ${compiled.sql}`, [...compiled.parameters]));
    const plan = rows.map((line) => Object.values(line)[0]).join("\n");
    expect(plan, plan).toContain("users_manual_tag_idx");
  });
});
