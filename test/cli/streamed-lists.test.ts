import "../support/no-network.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/api/server.ts";
import { apiClient, type ApiClient } from "../../src/cli/api-client.ts";
import { invalidInput } from "../../src/errors.ts";
import { localDirectory, type Directory, type PageSizes } from "../../src/cli/directory.ts";
import { jsonPieces, type Pages } from "../../src/cli/json-stream.ts";
import { remoteDirectory } from "../../src/cli/remote-directory.ts";
import { recordChanges } from "../../src/core/change-log.ts";
import type { WorkspaceContext } from "../../src/core/context.ts";
import { addMember, createGroup } from "../../src/core/groups.ts";
import { runWithChanges } from "../../src/core/runs.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { createUser, listUsers } from "../../src/core/users.ts";
import { resolveWorkspace, type Workspace } from "../../src/core/workspaces.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { UserFilter, UserSort } from "../../src/storage/queries/users.ts";
import { engines, type TestStore } from "../support/db.ts";
import { testRuntime } from "../api/support.ts";

/**
 * What `users list --json` and `runs show ID --json` print, read a page at a time: locally from the database and
 * through a server's API (its real HTTP stack), with pages small enough that a handful of users takes several. Both
 * must print what JSON.stringify printed of the whole list, byte for byte.
 */
describe.each(engines)("users and a run's changes printed a page at a time, locally and through a server, on %s", (engine) => {
  let rt: Runtime;
  let store: TestStore;
  let app: FastifyInstance;
  let ctx: WorkspaceContext & { workspace: Workspace };
  let server: string;
  let token: string;
  let runId: string;

  beforeAll(async () => {
    ({ rt, store } = await testRuntime(engine));
    app = await buildApp(rt);
    await app.listen({ host: "127.0.0.1", port: 0 });
    server = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    ctx = { db: store.db, workspace: await resolveWorkspace(store.db, "default"), actor: "test" };
    const names = ["Zoe", "Émile", "ada", "Ada", "Bea", "Sam", "Sam"];
    for (const [n, name] of names.entries()) {
      await createUser(ctx, {
        displayName: name,
        ...(n % 3 !== 1 ? { email: `person${n}@example.com` } : { userPrincipalName: `person${n}@contoso.example` }),
        ...(n % 2 === 0 && { aliases: [`alias${n}`], customAttributes: { office: `Line one\nline "two"` }, tags: ["night"] }),
      });
    }
    await createGroup(ctx, { name: "Pilots" });
    await addMember(ctx, "Pilots", "person0@example.com");
    const { rows: sources } = await sql<{ id: string }>`insert into sources (workspace_id, type, name) values (${ctx.workspace.id}, 'entra', 'contoso') returning id`.execute(store.db);
    const { rows: runs } = await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status, counts, progress, finished_at)
      values (${ctx.workspace.id}, ${sources[0]!.id}, 'manual', 'full', 'succeeded', '{"created": 7}', '{}', now()) returning id`.execute(store.db);
    runId = runs[0]!.id;
    await recordChanges(store.db, [
      ...names.map((name, n) => ({ workspaceId: ctx.workspace.id, runId, actor: "sync", action: "create" as const, subject: `${name} ${n}`, after: { displayName: name, n } })),
      { workspaceId: ctx.workspace.id, runId, actor: "sync", action: "add to group Pilots" as const, subject: "Zoe 0" },
      { workspaceId: ctx.workspace.id, runId, actor: "sync", action: "warning" as const, subject: "Sam 6", after: { warnings: ["a phone number's extension\nwas dropped"] } },
    ]);
    token = (await createApiToken(store.db, ctx.workspace, { name: "script", role: "viewer" }, "test")).token;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const directories = (sizes: PageSizes): [string, Directory][] => [
    ["locally", localDirectory(rt, ctx, sizes)],
    ["through the server", remoteDirectory(apiClient(server, { token }), "default", sizes)],
    ["through a server older than cursor paging", remoteDirectory(olderServer(apiClient(server, { token })), "default", sizes)],
  ];

  /** A server from before `after` and `count`: it refused them, as any unknown query field, and paged by offset only. */
  function olderServer(api: ApiClient): ApiClient {
    return {
      ...api,
      async request(method, path, init) {
        const unknown = ["after", "count"].filter((field) => init?.query?.[field] !== undefined);
        if (unknown.length) throw invalidInput(unknown.map((field) => ({ field, message: "is not a known field" })));
        return api.request(method, path, init);
      },
    };
  }

  async function printed(value: unknown): Promise<string> {
    let text = "";
    for await (const piece of jsonPieces(value)) text += piece;
    return text;
  }

  async function pageLengths<T>(pages: Pages<T>): Promise<number[]> {
    const lengths: number[] = [];
    for await (const page of pages) lengths.push(page.length);
    return lengths;
  }

  const whole = async (filter: UserFilter, sort: UserSort, limit = 100) =>
    JSON.stringify((await listUsers(ctx, filter, { limit, offset: 0, sort, order: "asc" })).items, null, 2) + "\n";

  it("prints users as JSON.stringify printed the whole list: several pages, one page, the first few, none", async () => {
    const cases: { sizes: PageSizes; filter: UserFilter; sort: UserSort; limit?: number; pages: number[] }[] = [
      { sizes: { users: 2, changes: 2 }, filter: {}, sort: "displayName", pages: [2, 2, 2, 1] },
      { sizes: { users: 3, changes: 2 }, filter: {}, sort: "email", pages: [3, 3, 1] },
      { sizes: { users: 2, changes: 2 }, filter: {}, sort: "displayName", limit: 5, pages: [2, 2, 1] },
      { sizes: { users: 3, changes: 2 }, filter: { tag: "night" }, sort: "createdAt", pages: [3, 1] },
      { sizes: { users: 50, changes: 2 }, filter: {}, sort: "source", pages: [7] },
      { sizes: { users: 2, changes: 2 }, filter: { q: "nobody" }, sort: "displayName", pages: [] },
    ];
    for (const { sizes, filter, sort, limit, pages } of cases) {
      const expected = await whole(filter, sort, limit);
      for (const [where, directory] of directories(sizes)) {
        const about = `${where}, ${JSON.stringify({ sizes, filter, sort, limit })}`;
        expect(await pageLengths(directory.users.list(filter, { sort, limit })), about).toEqual(pages);
        expect(await printed(directory.users.list(filter, { sort, limit })), about).toBe(expected);
      }
    }
    expect(await whole({ q: "nobody" }, "displayName")).toBe("[]\n");
  });

  it("refuses a misspelt source before printing anything, locally and through the server", async () => {
    for (const [where, directory] of directories({ users: 2, changes: 2 })) {
      const pieces = jsonPieces(directory.users.list({ source: "hr.xlsx" }, { sort: "displayName" }));
      await expect(pieces.next(), where).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining('no source is named "hr.xlsx"') });
    }
  });

  it("prints a run with its change log as JSON.stringify printed it: the whole log over several pages, its first entries, one kind", async () => {
    const cases = [
      { sizes: { users: 2, changes: 2 }, action: undefined, limit: 1000, pages: [2, 2, 2, 2, 1] },
      { sizes: { users: 2, changes: 4 }, action: undefined, limit: 5, pages: [4, 1] },
      { sizes: { users: 2, changes: 3 }, action: "create", limit: 1000, pages: [3, 3, 1] },
      { sizes: { users: 2, changes: 5000 }, action: "disable", limit: 1000, pages: [] },
    ];
    for (const { sizes, action, limit, pages } of cases) {
      const expected = JSON.stringify(await runWithChanges(ctx, runId, { action, limit }), null, 2) + "\n";
      for (const [where, directory] of directories(sizes)) {
        const about = `${where}, ${JSON.stringify({ sizes, action, limit })}`;
        expect(await pageLengths((await directory.runs.get(runId, { action, limit })).changes), about).toEqual(pages);
        expect(await printed(await directory.runs.get(runId, { action, limit })), about).toBe(expected);
      }
    }
  });
});
