import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace, type Workspace } from "../../src/core/workspaces.ts";
import { listUsers } from "../../src/core/user-list.ts";
import { pageIdsQuery, whereFilter, type ListPart, type Page, type UserFilter } from "../../src/storage/queries/users.ts";

/**
 * The sorts by created, updated and source (migration 036) at a size where the planner walks their indexes: 3,000
 * users in big ties (six creation instants, a handful of update instants, four sources spelt in two cases), so that
 * only the id orders most neighbours. Every page, by cursor and by offset, must list what a sort in JavaScript does,
 * and read its page from the index, not sort the workspace.
 */
const USERS = 3000;
const sources = ["Contoso", "staff.csv", "STAFF.csv", "manual"];
const departments = ["Sales", "Finance", "Legal"];

interface Row {
  id: string;
  created: string;
  updated: string;
  source: string;
  department: string;
  name: string;
}

type SortedBy = "createdAt" | "updatedAt" | "source";

describe.each(engines)("the created, updated and source sorts over their indexes on %s", (engine) => {
  let store: TestStore;
  let ctx: { db: TestStore["db"]; workspace: Workspace };
  let rows: Row[];

  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default") };
    // Ids from gen_random_uuid(): their order has nothing to do with the insert's, so a tie broken otherwise shows.
    await sql`
      insert into users (id, workspace_id, display_name, created_at, updated_at, source_type, source_name, department)
      select gen_random_uuid(), ${ctx.workspace.id}, 'User ' || i,
        timestamptz '2026-01-01 00:00:00+00' + (i % 6) * interval '1 day',
        timestamptz '2026-02-01 00:00:00+00' + (i % 7) * interval '1 microsecond',
        case when i % 4 = 3 then 'manual' else 'import' end, (${sources}::text[])[i % 4 + 1], (${departments}::text[])[i % 3 + 1]
      from generate_series(1, ${USERS}) i`.execute(store.db);
    await sql`analyze users`.execute(store.db);
    const found = await sql<Row>`
      select id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as created,
        to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as updated, source_name as source, department, display_name as name
      from users where workspace_id = ${ctx.workspace.id}`.execute(store.db);
    rows = found.rows;
  });
  afterAll(() => store?.dispose());

  const keyOf: Record<SortedBy, (r: Row) => string> = { createdAt: (r) => r.created, updatedAt: (r) => r.updated, source: (r) => r.source.toLowerCase() };
  function expected(sort: SortedBy, order: Page["order"], keep: (r: Row) => boolean = () => true): string[] {
    const sign = order === "asc" ? 1 : -1;
    const compare = (a: string, b: string) => (a < b ? -sign : a > b ? sign : 0);
    return rows.filter(keep).sort((a, b) => compare(keyOf[sort](a), keyOf[sort](b)) || compare(a.id, b.id)).map((r) => r.id);
  }

  const filters: [string, UserFilter, (r: Row) => boolean][] = [
    ["no filter", {}, () => true],
    ["a department", { department: "sales" }, (r) => r.department === "Sales"],
    ["a search", { q: "user 1" }, (r) => r.name.toLowerCase().includes("user 1")],
    ["a source in another case", { source: "Staff.CSV" }, (r) => r.source.toLowerCase() === "staff.csv"],
  ];

  for (const sort of ["createdAt", "updatedAt", "source"] as const) {
    it.each([["asc"], ["desc"]] as const)(`pages by ${sort} %s by cursor and by offset in the order a sort in JavaScript gives, ties by id, with and without filters`, async (order) => {
      for (const [label, filter, keep] of filters) {
        const want = expected(sort, order, keep);
        const byCursor: string[] = [];
        let after: string | undefined;
        let pages = 0;
        do {
          const page = await listUsers(ctx, filter, { limit: 400, sort, order, after }, { count: false });
          byCursor.push(...page.items.map((u) => u.id));
          after = page.next ?? undefined;
          expect(++pages, label).toBeLessThanOrEqual(USERS / 400 + 1);
        } while (after);
        expect(byCursor, `${label}, by cursor`).toEqual(want);
        for (const offset of [0, 397, want.length - 5]) {
          const page = await listUsers(ctx, filter, { limit: 50, offset, sort, order });
          expect(page.items.map((u) => u.id), `${label}, offset ${offset}`).toEqual(want.slice(offset, offset + 50));
          expect(page.total).toBe(want.length);
        }
      }
    });
  }

  /** The plan of one part of a page of 50, as the list runs it. */
  async function plan(filter: UserFilter, page: Page, part: ListPart): Promise<string> {
    const compiled = pageIdsQuery(store.db, await whereFilter(store.db, ctx.workspace.id, filter), page, part, 51).compile();
    const text = compiled.sql.replace(/\$(\d+)/g, (_, i) => {
      const value = compiled.parameters[Number(i) - 1];
      return typeof value === "number" ? String(value) : `'${String(value).replace(/'/g, "''")}'`;
    });
    const { rows: lines } = await sql.raw<Record<string, string>>(`explain (costs off) ${text}`).execute(store.db);
    return lines.map((line) => Object.values(line)[0]).join("\n");
  }

  const indexOf: Record<SortedBy, string> = { createdAt: "users_created_idx", updatedAt: "users_updated_idx", source: "users_source_idx" };
  for (const sort of ["createdAt", "updatedAt", "source"] as const) {
    it.each([["asc"], ["desc"]] as const)(`reads a page by ${sort} %s from its index, first, after a cursor and at an offset, without sorting the users`, async (order) => {
      const middleId = expected(sort, order)[USERS / 2];
      const middle = rows.find((r) => r.id === middleId)!;
      const after = { key: sort === "source" ? middle.source.toLowerCase() : `${sort === "createdAt" ? middle.created : middle.updated}Z`, id: middle.id };
      for (const [label, page, part] of [
        ["first page", { limit: 50, sort, order }, "keyed"],
        ["after a cursor", { limit: 50, sort, order, after }, "keyed"],
        ["at an offset", { limit: 50, offset: 1000, sort, order }, "all"],
      ] as const) {
        const shown = await plan({}, page, part);
        expect(shown, `${label}:\n${shown}`).toContain(indexOf[sort]);
        expect(shown, `${label}:\n${shown}`).not.toMatch(/\bSort\b/);
      }
    });
  }
});
