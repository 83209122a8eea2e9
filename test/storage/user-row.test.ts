import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { copyUserFields, userColumns, userFields } from "../../src/storage/user-row.ts";
import { openTestStore, type TestStore } from "../support/db.ts";

// copyUserFields is spelt out for speed, the list of stored fields is not: a field added to one and not the other
// would shift every column after it in a streamed first sync or a first import.
describe("a user's stored fields as COPY fields", () => {
  it("encode each field under its own column, in userColumns' order", () => {
    const given: Record<string, unknown> = {};
    for (const { field, kind } of userFields) {
      if (kind === "text") given[field] = `value of ${field}`;
      if (kind === "list") given[field] = [`first ${field}`, `second ${field}`];
      if (kind === "bool") given[field] = false;
    }
    const cells = copyUserFields(given, '{"custom":"attributes"}').split("\t");
    expect(cells).toHaveLength(userColumns.length);
    userFields.forEach(({ field, kind }, index) => {
      const expected = kind === "text" ? `value of ${field}` : kind === "list" ? `{"first ${field}","second ${field}"}` : kind === "bool" ? "false" : '{"custom":"attributes"}';
      expect(cells[index], field).toBe(expected);
    });
  });

  it("write a text field missing as NULL, the phones missing as none and enabled missing as true", () => {
    const cells = copyUserFields({ displayName: "Ada" }, "{}").split("\t");
    const at = (field: string) => cells[userFields.findIndex((f) => f.field === field)];
    expect(at("displayName")).toBe("Ada");
    expect(at("email")).toBe("\\N");
    expect(at("businessPhones")).toBe("{}");
    expect(at("enabled")).toBe("true");
  });
});

describe("the users table's columns", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore("pglite");
  });
  afterAll(async () => store?.dispose());

  it("are the stored fields' and the directory's own, nothing else", async () => {
    const { rows } = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'users' order by column_name`.execute(store.db);
    const own = ["id", "workspace_id", "pin_hash", "source_type", "source_name", "source_id", "external_id", "tags", "created_at", "updated_at", "search_text", "manager_id"];
    expect(rows.map((r) => r.column_name)).toEqual([...userColumns, ...own].sort());
  });
});
