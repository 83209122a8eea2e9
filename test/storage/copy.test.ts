import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { CopyEncoder, recycleChunks } from "../../src/storage/copy-format.ts";
import { engines, openTestStore, type TestStore } from "../support/db.ts";

// Every bulk write of a sync or an import goes through Store.copyRows (or copyEncoded, for rows encoded as
// they are read): whatever a directory or a file holds must come back exactly as it went in.
describe.each(engines)("COPY of awkward values (%s)", (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine, { migrate: false });
    await sql`create table copied (n int, a text, b text, ok boolean, j jsonb)`.execute(store.db);
  });
  afterAll(async () => store?.dispose());

  it.each(["copyRows", "copyEncoded"] as const)("%s keeps NULLs, empty strings, delimiters, escapes, Unicode, values larger than a chunk and rows across chunks", async (method) => {
    await sql`truncate copied`.execute(store.db);
    const values = [
      null, "", "plain", 'say "hi"', "a,b;c", "tab\there", "line\nbreak", "carriage\r\nreturn", "back\\slash", "\\N", "\\", '\\"',
      "Zoë Øster 李雷 🙂", " leading and trailing ", "x".repeat(70_000), "NULL",
      // Enough multi-byte rows to fill several 64 KB chunks.
      ...Array.from({ length: 3000 }, (_, i) => `${"李".repeat(i % 97)} ${i} 🙂 Zoë\tØster`),
    ];
    const json = JSON.stringify({ note: 'a "quoted" \\ value\nwith a newline', name: "Zoë 🙂" });
    const input = values.map((v, i) => [i, v, i % 2 ? null : "other", i % 3 === 0, json]);
    const columns = ["n", "a", "b", "ok", "j"];
    if (method === "copyRows") await store.copyRows("copied", columns, input);
    else {
      const encoder = new CopyEncoder();
      for (const row of input) encoder.add(row);
      await store.copyEncoded("copied", columns, encoder.take());
    }
    const { rows } = await sql<{ n: number; a: string | null; b: string | null; ok: boolean; j: unknown }>`select n, a, b, ok, j from copied order by n`.execute(store.db);
    expect(rows).toEqual(values.map((v, i) => ({ n: i, a: v, b: i % 2 ? null : "other", ok: i % 3 === 0, j: JSON.parse(json) })));
  });
});

describe("CopyEncoder", () => {
  it("writes the next rows into the memory of chunks handed back after their COPY", () => {
    const encoder = new CopyEncoder();
    encoder.add(["first", null]);
    const [first] = encoder.take();
    expect(Buffer.from(first!).toString()).toBe("first\t\\N\n");
    recycleChunks([first!]);
    encoder.add(["second", "tab\there"]);
    const [second] = encoder.take();
    expect(second!.buffer).toBe(first!.buffer);
    expect(Buffer.from(second!).toString()).toBe("second\ttab\\there\n");
  });
});
