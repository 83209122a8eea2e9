import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { engines } from "../support/db.ts";
import { recordChanges } from "../../src/core/change-log.ts";
import { resolveWorkspace } from "../../src/core/workspaces.ts";
import { expectError, testApi, tokenCaller, type Caller, type TestApi } from "./support.ts";

/**
 * GET …/users and GET …/runs/{id}/changes read on by cursor, as GET …/groups/{id}/members and the histories do:
 * `after` the `next` of the page before (users) or the last entry's id (a run's changes).
 */
describe.each(engines)("the API's cursor paging of users and of a run's changes on %s", (engine) => {
  let api: TestApi;
  let as: Caller;
  let runId: string;
  const emails = Array.from({ length: 9 }, (_, n) => `person${n}@example.com`);

  beforeAll(async () => {
    api = await testApi(engine);
    as = await tokenCaller(api, "default", "viewer");
    const admin = await tokenCaller(api, "default", "admin");
    // Three share a name: their order is their ids'.
    for (const [n, email] of emails.entries()) expect((await admin("POST", "workspaces/default/users", { email, displayName: n < 3 ? "Sam" : `Person ${8 - n}` })).status).toBe(201);
    const workspace = await resolveWorkspace(api.store.db, "default");
    const { rows: sources } = await sql<{ id: string }>`insert into sources (workspace_id, type, name) values (${workspace.id}, 'entra', 'contoso') returning id`.execute(api.store.db);
    const { rows: runs } = await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status) values (${workspace.id}, ${sources[0]!.id}, 'manual', 'full', 'succeeded') returning id`.execute(api.store.db);
    runId = runs[0]!.id;
    await recordChanges(api.store.db, emails.map((email) => ({ workspaceId: workspace.id, runId, actor: "sync", action: "create", subject: email })));
  });
  afterAll(() => api?.close());

  async function everyPage(query: string): Promise<{ emails: string[][]; totals: number[] }> {
    const pages: string[][] = [];
    const totals: number[] = [];
    let after: string | null = null;
    do {
      const reply = await as("GET", `workspaces/default/users?${query}${after ? `&after=${encodeURIComponent(after)}` : ""}`);
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      expect(Object.keys(reply.body).sort()).toEqual(["items", "limit", "next", "offset", "total"]);
      pages.push(reply.body.items.map((u: { email: string }) => u.email));
      totals.push(reply.body.total);
      after = reply.body.next;
    } while (after && pages.length <= emails.length);
    return { emails: pages, totals };
  }

  it("answers next, the after of the following page, until the last page, whose next is null; the pages are the offset pages", async () => {
    for (const [sort, order] of [["displayName", "asc"], ["displayName", "desc"], ["email", "desc"], ["createdAt", "asc"], ["updatedAt", "desc"], ["source", "asc"]] as const) {
      const all = (await as("GET", `workspaces/default/users?sort=${sort}&order=${order}&limit=100`)).body;
      expect(all.next).toBeNull();
      const paged = await everyPage(`sort=${sort}&order=${order}&limit=4`);
      expect(paged.emails.map((p) => p.length), `${sort} ${order}`).toEqual([4, 4, 1]);
      expect(paged.emails.flat(), `${sort} ${order}`).toEqual(all.items.map((u: { email: string }) => u.email));
      expect(paged.totals).toEqual([9, 9, 9]);
      const byOffset = (await as("GET", `workspaces/default/users?sort=${sort}&order=${order}&limit=4&offset=4`)).body;
      expect(byOffset.items.map((u: { email: string }) => u.email)).toEqual(paged.emails[1]);
      expect(byOffset.offset).toBe(4);
    }
    const sams = (await everyPage("limit=2&q=sam")).emails;
    expect(sams.map((p) => p.length)).toEqual([2, 1]);
  });

  it("refuses an after it did not give, one of another sort or order, and after with an offset, naming the parameter", async () => {
    const { next } = (await as("GET", "workspaces/default/users?limit=2&sort=email")).body;
    expectError(await as("GET", "workspaces/default/users?after=bm90LWEtY3Vyc29y"), 400, "invalid_input", ["after"]);
    expectError(await as("GET", `workspaces/default/users?sort=email&order=desc&after=${next}`), 400, "invalid_input", ["after"]);
    expectError(await as("GET", `workspaces/default/users?after=${next}`), 400, "invalid_input", ["after"]);
    expectError(await as("GET", `workspaces/default/users?sort=email&offset=2&after=${next}`), 400, "invalid_input", ["offset"]);
    expect((await as("GET", `workspaces/default/users?sort=email&limit=2&after=${next}`)).body.items.map((u: { email: string }) => u.email)).toEqual(emails.slice(2, 4));
  });

  it("reads a run's changes on after an entry, in the order the run made them", async () => {
    const first = (await as("GET", `workspaces/default/runs/${runId}/changes?limit=4`)).body;
    expect(first.items.map((c: { subject: string }) => c.subject)).toEqual(emails.slice(0, 4));
    const second = (await as("GET", `workspaces/default/runs/${runId}/changes?limit=4&after=${first.items.at(-1).id}`)).body;
    expect(second).toMatchObject({ total: 9, actions: { create: 9 } });
    expect(second.items.map((c: { subject: string }) => c.subject)).toEqual(emails.slice(4, 8));
    expectError(await as("GET", `workspaces/default/runs/${runId}/changes?after=last`), 400, "invalid_input", ["after"]);
  });

  it("answers an entry an older version logged another way as stored, rather than failing the page it is on", async () => {
    const workspace = await resolveWorkspace(api.store.db, "default");
    const { rows } = await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status) select workspace_id, source_id, trigger, mode, status from sync_runs where id = ${runId} returning id`.execute(api.store.db);
    const older = { workspaceId: workspace.id, runId: rows[0]!.id, actor: "sync", action: "release" as never, subject: "old@example.com", before: { aliases: "a;b" }, after: { changed: ["phones"] } };
    await recordChanges(api.store.db, [older]);
    const reply = await as("GET", `workspaces/default/runs/${older.runId}/changes`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.items).toEqual([expect.objectContaining({ action: "release", kind: "release", before: { aliases: "a;b" }, after: { changed: ["phones"] } })]);
  });

  it("leaves total (and a run log's actions) null with count=false, the items the same; a misspelt source is still refused", async () => {
    const counted = (await as("GET", "workspaces/default/users?limit=4&sort=email")).body;
    const uncounted = (await as("GET", "workspaces/default/users?limit=4&sort=email&count=false")).body;
    expect(uncounted).toEqual({ ...counted, total: null });
    expect((await as("GET", `workspaces/default/users?limit=4&sort=email&count=false&after=${counted.next}`)).body).toMatchObject({ total: null, next: expect.any(String) });
    expect((await as("GET", "workspaces/default/users?count=true&limit=1")).body.total).toBe(9);
    expectError(await as("GET", "workspaces/default/users?count=false&source=nowhere"), 400, "invalid_input", ["source"]);
    expectError(await as("GET", "workspaces/default/users?count=no"), 400, "invalid_input", ["count"]);
    const changes = (await as("GET", `workspaces/default/runs/${runId}/changes?limit=4&after=${counted.items.length}&count=false`)).body;
    expect(changes).toMatchObject({ total: null, actions: null });
    expect(changes.items).toHaveLength(4);
  });

  it("gives the total of a last page by offset from the page itself, and counts any other page", async () => {
    expect((await as("GET", "workspaces/default/users?q=sam&limit=2&offset=2")).body).toMatchObject({ total: 3, next: null });
    expect((await as("GET", "workspaces/default/users?q=sam&limit=2")).body.total).toBe(3);
    expect((await as("GET", "workspaces/default/users?limit=5&offset=20")).body).toMatchObject({ items: [], total: 9 });
    expect((await as("GET", "workspaces/default/users?q=nobody&limit=5")).body).toMatchObject({ items: [], total: 0 });
  });

  it("documents after and next in the OpenAPI description", async () => {
    const doc = (await as("GET", "/api/v1/openapi.json")).body;
    const users = doc.paths["/api/v1/workspaces/{workspace}/users"].get;
    expect(users.description).toContain("pass the answer's next as after");
    expect(users.parameters.find((p: { name: string }) => p.name === "after")).toMatchObject({ in: "query", required: false, schema: { type: "string" } });
    const answer = users.responses["200"].content["application/json"].schema;
    expect(answer.properties.next).toMatchObject({ description: expect.stringContaining("after for the next page") });
    expect(answer.required).toContain("next");
    const changes = doc.paths["/api/v1/workspaces/{workspace}/runs/{id}/changes"].get;
    expect(changes.parameters.find((p: { name: string }) => p.name === "after")).toMatchObject({ in: "query", description: expect.stringContaining("the last id of the page before") });
  });
});
