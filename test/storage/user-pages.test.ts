import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines, openTestStore, type TestStore } from "../support/db.ts";
import { resolveWorkspace, type Workspace } from "../../src/core/workspaces.ts";
import { listUsers, userPages } from "../../src/core/user-list.ts";
import { userSorts, type UserSort } from "../../src/storage/queries/users.ts";

interface Seed {
  id: string;
  displayName: string;
  email: string | null;
  createdAt: string;
  updatedAt: string;
  source: string;
}

const id = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, "0")}`;
const at = (micros: number) => `2024-05-01 12:00:00.${String(micros).padStart(6, "0")}+00`;

/**
 * Users whose sort keys tie (the same name, no email, the same microsecond, one source spelt two ways), differ only in
 * accents or case, or differ by a microsecond (which a JavaScript Date would round away). Ids are given out of order,
 * so that a tie broken by anything but the id shows.
 */
const seeds: Seed[] = [
  { id: id(9), displayName: "Sam", email: "sam.9@example.com", createdAt: at(1), updatedAt: at(7), source: "hr.csv" },
  { id: id(3), displayName: "Sam", email: null, createdAt: at(1), updatedAt: at(7), source: "HR.csv" },
  { id: id(14), displayName: "Sam", email: null, createdAt: at(2), updatedAt: at(7), source: "hr.csv" },
  { id: id(1), displayName: "Sam", email: "Sam.1@Example.com", createdAt: at(1), updatedAt: at(3), source: "manual" },
  { id: id(7), displayName: "sam", email: "a.7@example.com", createdAt: at(3), updatedAt: at(3), source: "manual" },
  { id: id(12), displayName: "Émile", email: "emile@example.com", createdAt: at(2), updatedAt: at(1), source: "Contoso" },
  { id: id(2), displayName: "Zoe", email: null, createdAt: at(999999), updatedAt: at(2), source: "contoso" },
  { id: id(11), displayName: "Ölaf", email: "olaf@example.com", createdAt: at(2), updatedAt: at(999998), source: "Contoso" },
  { id: id(5), displayName: "ada", email: "ada@example.com", createdAt: at(0), updatedAt: at(999999), source: "manual" },
  { id: id(13), displayName: "Ada", email: "ADA.2@example.com", createdAt: at(0), updatedAt: at(7), source: "hr.csv" },
  { id: id(4), displayName: "Ádá", email: null, createdAt: at(1), updatedAt: at(3), source: "manual" },
  { id: id(8), displayName: "Bea", email: "bea@example.com", createdAt: at(1), updatedAt: at(7), source: "HR.CSV" },
  { id: id(6), displayName: "Sam", email: "zed@example.com", createdAt: at(2), updatedAt: at(2), source: "contoso" },
  { id: id(10), displayName: "Bea", email: null, createdAt: at(1), updatedAt: at(1), source: "manual" },
];

/** Each sort's key in JavaScript, where it can be said exactly (uuids compare as their lower-case text does). */
const keyOf: Record<Exclude<UserSort, "displayName">, (s: Seed) => string | null> = {
  email: (s) => s.email?.toLowerCase() ?? null,
  createdAt: (s) => s.createdAt,
  updatedAt: (s) => s.updatedAt,
  source: (s) => s.source.toLowerCase(),
};

function expectedOrder(sort: Exclude<UserSort, "displayName">, order: "asc" | "desc"): string[] {
  const sign = order === "asc" ? 1 : -1;
  const compare = (a: string, b: string) => (a < b ? -sign : a > b ? sign : 0);
  return [...seeds]
    .sort((a, b) => {
      const [ka, kb] = [keyOf[sort](a), keyOf[sort](b)];
      if (ka === null || kb === null) return ka === kb ? compare(a.id, b.id) : ka === null ? 1 : -1; // no key: last, either way
      return compare(ka, kb) || compare(a.id, b.id);
    })
    .map((s) => s.id);
}

describe.each(engines)("users paged by cursor on %s", (engine) => {
  let store: TestStore;
  let ctx: { db: TestStore["db"]; workspace: Workspace };

  beforeAll(async () => {
    store = await openTestStore(engine);
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default") };
    for (const s of seeds) {
      await sql`insert into users (id, workspace_id, display_name, email, created_at, updated_at, source_type, source_name)
        values (${s.id}, ${ctx.workspace.id}, ${s.displayName}, ${s.email}, ${s.createdAt}::timestamptz, ${s.updatedAt}::timestamptz, 'import', ${s.source})`.execute(store.db);
    }
  });
  afterAll(() => store?.dispose());

  /** Every page of the list by cursor, `limit` at a time: the ids of each page, and how many pages said there was a next. */
  async function walk(sort: UserSort, order: "asc" | "desc", limit: number): Promise<string[][]> {
    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await listUsers(ctx, {}, { limit, sort, order, after });
      expect(page.total).toBe(seeds.length);
      pages.push(page.items.map((u) => u.id));
      after = page.next ?? undefined;
      expect(pages.length).toBeLessThanOrEqual(seeds.length);
    } while (after);
    return pages;
  }

  const byOffset = async (sort: UserSort, order: "asc" | "desc") => (await listUsers(ctx, {}, { limit: 100, offset: 0, sort, order })).items.map((u) => u.id);

  for (const sort of userSorts.filter((s) => s !== "displayName") as Exclude<UserSort, "displayName">[]) {
    it.each([["asc"], ["desc"]] as const)(`sorts by ${sort} %s, ties by id, users without a key last, the same by cursor and by offset`, async (order) => {
      const expected = expectedOrder(sort, order);
      expect(await byOffset(sort, order)).toEqual(expected);
      expect((await listUsers(ctx, {}, { limit: 5, offset: 4, sort, order })).items.map((u) => u.id)).toEqual(expected.slice(4, 9));
      for (const limit of [1, 2, 3, 5, 13, 14, 50]) {
        const pages = await walk(sort, order, limit);
        expect(pages.flat(), `pages of ${limit}`).toEqual(expected);
        expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
      }
    });
  }

  it.each([["asc"], ["desc"]] as const)("sorts by display name %s as people read it (accents and case after the letter), ties by id, by cursor as by offset", async (order) => {
    const all = await listUsers(ctx, {}, { limit: 100, offset: 0, sort: "displayName", order });
    const names = all.items.map((u) => u.displayName);
    // ICU's root collation: accents, then case (lower first), only where the letters are the same.
    const ascending = ["ada", "Ada", "Ádá", "Bea", "Émile", "Ölaf", "sam", "Sam", "Zoe"];
    expect(names.filter((n, i) => names.indexOf(n) === i)).toEqual(order === "asc" ? ascending : [...ascending].reverse());
    const sams = all.items.filter((u) => u.displayName === "Sam").map((u) => u.id);
    const samsById = [id(1), id(3), id(6), id(9), id(14)];
    expect(sams).toEqual(order === "asc" ? samsById : [...samsById].reverse());
    for (const limit of [1, 2, 4, 14]) expect((await walk("displayName", order, limit)).flat(), `pages of ${limit}`).toEqual(all.items.map((u) => u.id));
  });

  it("keeps to a cursor while users come and go: a page after it is not shifted by users added or removed before it", async () => {
    const first = await listUsers(ctx, {}, { limit: 4, sort: "email", order: "asc" });
    const rest = expectedOrder("email", "asc").slice(4);
    await sql`insert into users (id, workspace_id, display_name, email, source_type, source_name) values (${id(100)}, ${ctx.workspace.id}, 'Aaron', 'aaa@example.com', 'manual', 'manual')`.execute(store.db);
    await sql`delete from users where id = ${first.items[0]!.id}`.execute(store.db);
    try {
      const second = await listUsers(ctx, {}, { limit: 4, sort: "email", order: "asc", after: first.next! });
      expect(second.items.map((u) => u.id)).toEqual(rest.slice(0, 4));
    } finally {
      await sql`delete from users where id = ${id(100)}`.execute(store.db);
      const gone = seeds.find((s) => s.id === first.items[0]!.id)!;
      await sql`insert into users (id, workspace_id, display_name, email, created_at, updated_at, source_type, source_name)
        values (${gone.id}, ${ctx.workspace.id}, ${gone.displayName}, ${gone.email}, ${gone.createdAt}::timestamptz, ${gone.updatedAt}::timestamptz, 'import', ${gone.source})`.execute(store.db);
    }
  });

  it("streams every user, or the first limit, a page at a time, filtered; a misspelt source is an error, not an empty list", async () => {
    const pages: string[][] = [];
    for await (const page of userPages(ctx, {}, { sort: "createdAt", order: "asc", pageSize: 3 })) pages.push(page.map((u) => u.id));
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3, 2]);
    expect(pages.flat()).toEqual(expectedOrder("createdAt", "asc"));

    const limited: number[] = [];
    for await (const page of userPages(ctx, {}, { sort: "displayName", order: "asc", pageSize: 4, limit: 6 })) limited.push(page.length);
    expect(limited).toEqual([4, 2]);

    const manual: string[] = [];
    for await (const page of userPages(ctx, { source: "MANUAL" }, { sort: "source", order: "asc", pageSize: 2 })) manual.push(...page.map((u) => u.id));
    expect(manual).toEqual([id(1), id(4), id(5), id(7), id(10)]);

    const misspelt = userPages(ctx, { source: "hr.xlsx" }, { sort: "displayName", order: "asc", pageSize: 2 });
    await expect(misspelt.next()).rejects.toMatchObject({ code: "invalid_input", details: { fields: [expect.objectContaining({ field: "source" })] } });
  });

  it("refuses a cursor it did not give, one of another sort or order, and a cursor with an offset", async () => {
    const { next } = await listUsers(ctx, {}, { limit: 2, sort: "email", order: "asc" });
    expect(next).toEqual(expect.any(String));
    await expect(listUsers(ctx, {}, { limit: 2, sort: "email", order: "asc", after: "not-a-cursor" })).rejects.toMatchObject({ code: "invalid_input", details: { fields: [expect.objectContaining({ field: "after" })] } });
    await expect(listUsers(ctx, {}, { limit: 2, sort: "email", order: "desc", after: next! })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("sorted by email asc") });
    await expect(listUsers(ctx, {}, { limit: 2, sort: "createdAt", order: "asc", after: next! })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(listUsers(ctx, {}, { limit: 2, offset: 2, sort: "email", order: "asc", after: next! })).rejects.toMatchObject({ code: "invalid_input", details: { fields: [expect.objectContaining({ field: "offset" })] } });
  });
});
