import { describe, expect, it } from "vitest";
import { jsonPieces, type Pages } from "../../src/cli/json-stream.ts";

async function* pagesOf<T>(...pages: T[][]): AsyncGenerator<T[]> {
  for (const page of pages) yield page;
}

async function text(value: unknown): Promise<string> {
  let all = "";
  for await (const piece of jsonPieces(value)) all += piece;
  return all;
}

const user = (n: number) => ({
  id: `u${n}`,
  displayName: `Person "${n}"\nsecond line\u2028`,
  email: n % 2 ? null : `p${n}@example.com`,
  tags: n % 3 ? [] : ["a", "b"],
  customAttributes: n % 2 ? {} : { office: "London", nested: { deep: [1, { x: null }] } },
  source: { type: "manual", name: "manual", externalId: null },
});

describe("a JSON document written a page at a time", () => {
  it("is JSON.stringify(value, null, 2) byte for byte: an empty list, one page, several pages and empty pages among them", async () => {
    const users = Array.from({ length: 7 }, (_, i) => user(i));
    expect(await text(pagesOf())).toBe("[]\n");
    expect(await text(pagesOf([], []))).toBe("[]\n");
    expect(await text(pagesOf(users))).toBe(JSON.stringify(users, null, 2) + "\n");
    expect(await text(pagesOf(users.slice(0, 3), [], users.slice(3, 4), users.slice(4), []))).toBe(JSON.stringify(users, null, 2) + "\n");
  });

  it("writes a list that is one property of an object in its place, with the rest as JSON.stringify puts it", async () => {
    const changes = Array.from({ length: 5 }, (_, i) => ({ id: String(i), action: "create", before: null, after: user(i) }));
    const run = { id: "r1", status: "succeeded", counts: { created: 5 }, changes, changesTotal: 5, changesByAction: { create: 5 } };
    expect(await text({ ...run, changes: pagesOf(changes.slice(0, 2), changes.slice(2)) })).toBe(JSON.stringify(run, null, 2) + "\n");
    expect(await text({ ...run, changes: pagesOf() })).toBe(JSON.stringify({ ...run, changes: [] }, null, 2) + "\n");
    const twoLists = { first: pagesOf([1, 2], [3]), middle: "x", last: pagesOf([{ a: [] }]) };
    expect(await text(twoLists)).toBe(JSON.stringify({ first: [1, 2, 3], middle: "x", last: [{ a: [] }] }, null, 2) + "\n");
    expect(await text({ plain: [1, { two: 2 }] })).toBe(JSON.stringify({ plain: [1, { two: 2 }] }, null, 2) + "\n");
  });

  it("reads one page ahead of what is written, no further, and the first page before writing anything", async () => {
    const read: number[] = [];
    async function* counted(): AsyncGenerator<number[]> {
      for (let page = 0; page < 3; page++) {
        read.push(page);
        yield [page];
      }
    }
    const pieces = jsonPieces(counted() as Pages<number>);
    expect((await pieces.next()).value).toBe("[\n  0");
    expect(read).toEqual([0, 1]);
    expect((await pieces.next()).value).toBe(",\n  1");
    expect(read).toEqual([0, 1, 2]);

    async function* failing(): AsyncGenerator<number[]> {
      throw new Error("no such source");
    }
    const refused = jsonPieces({ id: "r1", changes: failing() });
    await expect(refused.next()).rejects.toThrow("no such source");
  });
});
