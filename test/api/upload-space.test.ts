import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipartFile, testApi, tokenCaller, type TestApi } from "./support.ts";

/**
 * The embedded database has no autovacuum: an upload deleted (discarded, committed, refused) must leave its space
 * for the next one, or every file uploaded stays in the data folder for good.
 */
describe("uploads on the embedded database", () => {
  let api: TestApi;
  let token: string;
  beforeAll(async () => {
    api = await testApi("pglite");
    token = (await tokenCaller(api, "default", "admin")).token;
  });
  afterAll(async () => api?.close());

  const chunksSize = async () => Number((await sql<{ n: string }>`select pg_total_relation_size('import_upload_chunks') as n`.execute(api.store.db)).rows[0]!.n);

  it("reuses the space of discarded uploads", async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `user${i}@example.com,User ${i},${Math.random().toString(36).repeat(4)}`).join("\n");
    const file = `Email,Name,Notes\n${rows}\n`;
    const upload = async () => {
      const { payload, headers } = multipartFile("big.csv", file);
      const reply = await api.app.inject({ method: "POST", url: "/api/v1/workspaces/default/imports", payload, headers: { ...headers, authorization: `Bearer ${token}` } });
      const id = reply.json().id as string;
      const discarded = await api.app.inject({ method: "DELETE", url: `/api/v1/workspaces/default/imports/${id}`, headers: { authorization: `Bearer ${token}` } });
      expect(discarded.statusCode).toBe(204);
    };
    await upload();
    const afterOne = await chunksSize();
    for (let i = 0; i < 4; i++) await upload();
    expect(await chunksSize(), `${file.length} bytes a file; ${afterOne} after the first`).toBeLessThan(afterOne * 2);
  });
});
