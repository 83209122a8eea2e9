import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "../support/db.ts";
import { routeModules } from "../../src/api/routes/index.ts";
import type { Route } from "../../src/api/route.ts";
import { createAccount } from "../../src/core/accounts.ts";
import { createWorkspace } from "../../src/core/workspaces.ts";
import { createUser } from "../../src/core/users.ts";
import { setUserPhoto } from "../../src/core/user-photos.ts";
import { addMember, createGroup } from "../../src/core/groups.ts";
import { createEntraSource } from "../../src/core/sources.ts";
import { createScimSource } from "../../src/core/scim-sources.ts";
import { createApiToken } from "../../src/core/tokens.ts";
import { raiseNotification } from "../../src/core/notifications.ts";
import { updateNotificationSettings } from "../../src/core/notification-settings.ts";
import { accountCaller, tokenCaller, testApi, type Caller, type Reply, type TestApi } from "./support.ts";

async function uploadTo(api: TestApi, workspace: string, as: Session, fileName: string, csv: string): Promise<string> {
  const boundary = "isolation-boundary";
  const reply = await api.app.inject({
    method: "POST",
    url: `/api/v1/workspaces/${workspace}/imports`,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, cookie: `rollcall_session=${as.session.cookie}`, "x-csrf-token": as.session.csrf },
    payload: `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n\r\n${csv}--${boundary}--\r\n`,
  });
  expect(reply.statusCode, reply.body).toBe(201);
  return JSON.parse(reply.body).id;
}

/** What one workspace holds, as the keys its routes accept; every value is unique to the workspace. */
async function populate(api: TestApi, name: "a" | "b", owner: Session) {
  const db = api.store.db;
  const workspace = await createWorkspace(db, { name });
  const ctx = { db, workspace, actor: "test", secrets: api.rt.secrets, entraCustomUrls: true };
  const source = await createEntraSource(ctx, {
    name: `corp-${name}`,
    config: { tenantId: name === "a" ? "aaaaaaaa-1111-1111-1111-111111111111" : "bbbbbbbb-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222" },
    credential: { kind: "secret", secret: `secret-${name}-value` },
  });
  // A SCIM source: its name is a sources/:name key too (show, change, new token, remove), its token reaches only /scim/v2 (scim.test.ts).
  const pushed = await createScimSource(ctx, { name: `push-${name}` }, "http://rollcall.test");
  const user = await createUser(ctx, { email: `pat@${name}.example`, displayName: `Pat of ${name}-team`, department: `dept-${name}`, tags: [`tag-${name}`] });
  const synced = await createUser(ctx, { email: `sam@${name}.example`, userPrincipalName: `sam.upn@${name}.example`, displayName: `Sam of ${name}-team` }, { type: "entra", name: source.name, id: source.id, externalId: `ext-${name}` });
  // A photo for the manual user: GET …/users/:id/photo answers A's own (a tiny JPEG; its bytes are B's too, and no marker).
  await setUserPhoto(ctx, user.id, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]));
  const group = await createGroup(ctx, { name: `team-${name}`, description: `people of ${name}` });
  await addMember(ctx, group.id, user.id);
  await addMember(ctx, group.id, synced.id);
  const run = async (status: string) =>
    (await sql<{ id: string }>`insert into sync_runs (workspace_id, source_id, trigger, mode, status, counts, progress)
      values (${workspace.id}, ${source.id}, 'manual', 'full', ${status}, '{}', '{}') returning id`.execute(db)).rows[0]!.id;
  const [stopped, running] = [await run("stopped"), await run("running")];
  const token = await createApiToken(db, workspace, { name: `robot-${name}`, role: "admin" }, "test");
  const notification = await raiseNotification(db, { workspaceId: workspace.id, kind: "sync_failed", milestone: "", data: { runId: stopped, sourceId: source.id, source: source.name, code: "sync_failed" }, subject: stopped, severity: "critical", title: `corp-${name} failed`, body: `sync of ${name} failed` });
  await updateNotificationSettings(db, api.rt.secrets, workspace, { emailTo: [`ops@${name}.example`] }, "test");
  const { account } = await createAccount(db, { email: `admin@${name}.example`, workspace, role: "admin" }, "test");
  const upload = await uploadTo(api, name, owner, `staff-${name}.csv`, `Email,Full name\r\nnew@${name}.example,New of ${name}\r\n`);
  const keys: Record<string, string[]> = {
    "users/:id": [user.id, user.email!, synced.userPrincipalName!],
    "users/:user": [synced.id, synced.email!],
    "groups/:id": [group.id, group.name],
    "members/:member": [user.id, user.email!],
    "sources/:name": [source.id, source.name, pushed.id, pushed.name],
    "runs/:id": [stopped, running],
    "tokens/:id": [token.id],
    "imports/:id": [upload],
    "notifications/:id": [notification!.id],
    "accounts/:id": [account.id],
  };
  const markers = [...Object.values(keys).flat(), user.displayName, synced.displayName, `ext-${name}`, `people of ${name}`, `robot-${name}`, `corp-${name} failed`, `ops@${name}.example`, `staff-${name}.csv`, `secret-${name}-value`, `${name.repeat(8)}-1111`, `dept-${name}`, `tag-${name}`, pushed.token];
  return { workspace, keys, markers };
}
type Fixture = Awaited<ReturnType<typeof populate>>;
type Session = Awaited<ReturnType<typeof accountCaller>>;

/** Bodies valid enough to get past validation to the record look-up, so a 404 is the look-up's and not a 400's. */
const bodies: Record<string, (b: Fixture) => unknown> = {
  "POST /workspaces/:workspace/users": () => ({ email: "intruder@example.com", displayName: "Intruder" }),
  "PATCH /workspaces/:workspace/users/:id": () => ({ department: "Stolen" }),
  "POST /workspaces/:workspace/users/bulk": (b) => ({ action: "delete", users: b.keys["users/:id"] }),
  "POST /workspaces/:workspace/groups": () => ({ name: "intruders" }),
  "PATCH /workspaces/:workspace/groups/:id": () => ({ description: "Stolen" }),
  "POST /workspaces/:workspace/groups/:id/members": (b) => ({ member: b.keys["users/:id"]![0] }),
  "POST /workspaces/:workspace/tokens": () => ({ name: "stolen", role: "admin" }),
  "POST /workspaces/:workspace/sources": () => ({ name: "stolen", tenantId: "cccccccc-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222", clientSecret: "x" }),
  "PATCH /workspaces/:workspace/sources/:name": () => ({ clientSecret: "replaced by A" }),
  "POST /workspaces/:workspace/sources/:name/sync": () => ({ dryRun: true }),
  "PUT /workspaces/:workspace/users/:user/role": () => ({ role: "admin" }),
  "PUT /workspaces/:workspace/notification-settings": () => ({ emailTo: ["intruder@example.com"] }),
  "PATCH /workspaces/:workspace": () => ({ defaultCountry: "FR" }),
  "PUT /accounts/:id/workspaces/:workspace": () => ({ role: "admin" }),
};

/** Queries a route requires, so that it gets past validation to the record look-up too. */
const queries: Record<string, string> = {
  "GET /workspaces/:workspace/sources/:name/try-user": "?user=someone@example.com",
};
/** Reads that ask Entra ID: A's own source, made up for this test, has no tenant to answer them. */
const asksEntra = new Set(["GET /workspaces/:workspace/sources/:name/try-user"]);

const routeKey = (r: Route) => `${r.method} ${r.url}`;
const tenantRoutes = routeModules.flatMap((m) => m.routes).filter((r) => r.url.includes("/:workspace"));
const otherParams = (r: Route) => [...r.url.matchAll(/([\w-]+)\/:(\w+)/g)].map((m) => `${m[1]}/:${m[2]}`).filter((p) => p !== "workspaces/:workspace");

function bodyOf(r: Route, b: Fixture): unknown {
  const make = bodies[routeKey(r)];
  if (make) return make(b);
  // A route with a body the table does not know would answer 400 before looking anything up, and prove nothing.
  if (r.body && !r.body.safeParse({}).success) throw new Error(`${routeKey(r)}: add a valid body to the table`);
  return r.body ? {} : undefined;
}

function fill(r: Route, workspace: string, values: Record<string, string>): string {
  return r.url.replace(/([\w-]+)\/:(\w+)/g, (whole, segment: string, param: string) => {
    if (segment === "workspaces" && param === "workspace") return `workspaces/${workspace}`;
    const value = values[`${segment}/:${param}`];
    if (value === undefined) throw new Error(`${routeKey(r)}: no value for ${segment}/:${param}; teach the isolation table what it takes`);
    return `${segment}/${encodeURIComponent(value)}`;
  }).slice(1) + (queries[routeKey(r)] ?? "");
}

describe.each(engines)("workspace isolation over the API on %s", (engine) => {
  let api: TestApi;
  let owner: Session;
  let a: Fixture;
  let b: Fixture;
  let asA: [string, Caller][];
  const dataDir = mkdtempSync(join(tmpdir(), "rollcall-isolation-"));

  /** Everything of B: its rows in every table with a workspace_id, and what hangs off them, its uploads' files included. */
  async function snapshotB(): Promise<string> {
    const db = api.store.db;
    const id = b.workspace.id;
    const { rows: tables } = await sql<{ table_name: string }>`select table_name from information_schema.columns
      where column_name = 'workspace_id' and table_schema = current_schema() order by table_name`.execute(db);
    expect(tables.length).toBeGreaterThan(8);
    const dump: Record<string, unknown> = {};
    for (const { table_name } of tables) dump[table_name] = (await sql`select * from ${sql.table(table_name)} where workspace_id = ${id}`.execute(db)).rows.map((r) => JSON.stringify(r)).sort();
    dump.workspace = (await sql`select * from workspaces where id = ${id}`.execute(db)).rows;
    dump.sourceState = (await sql`select * from source_state where source_id in (select id from sources where workspace_id = ${id})`.execute(db)).rows;
    dump.accounts = (await sql`select * from accounts where user_id in (select id from users where workspace_id = ${id}) or email like '%@b.example'`.execute(db)).rows;
    dump.uploadChunks = (await sql`select upload_id, seq, md5(data) from import_upload_chunks where upload_id in (select id from import_uploads where workspace_id = ${id}) order by upload_id, seq`.execute(db)).rows;
    return JSON.stringify(dump);
  }

  function expectNothingOfB(reply: Reply, sent: string[], what: string): void {
    const text = (typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? "")).toLowerCase();
    for (const marker of b.markers.filter((m) => !sent.includes(m))) expect(text, `${what} leaks ${marker}`).not.toContain(marker.toLowerCase());
  }

  beforeAll(async () => {
    api = await testApi(engine, { config: { dataDir, loginAttempts: 1000 } });
    owner = await accountCaller(api, "root@example.com", { owner: true });
    a = await populate(api, "a", owner);
    b = await populate(api, "b", owner);
    asA = [["A's admin token", await tokenCaller(api, "a", "admin")], ["A's admin account", await accountCaller(api, "admin2@a.example", { workspace: "a", role: "admin" })]];
  });
  afterAll(async () => {
    await api?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("fills every tenant route's parameters: A's own records answer every read", async () => {
    expect(tenantRoutes.length).toBeGreaterThan(40);
    for (const r of tenantRoutes.filter((r) => r.method === "GET" && r.access === "workspace" && !asksEntra.has(routeKey(r)))) {
      const url = fill(r, "a", Object.fromEntries(Object.entries(a.keys).map(([k, v]) => [k, v[0]!])));
      const reply = await asA[0]![1]("GET", url);
      expect(reply.status, `GET ${url}: ${JSON.stringify(reply.body)}`).toBe(200);
    }
  });

  it("answers 404 to B's ids, names and emails inside A's path, and changes nothing of B", async () => {
    const before = await snapshotB();
    let calls = 0;
    for (const r of tenantRoutes.filter((r) => r.access === "workspace" && otherParams(r).length > 0)) {
      const params = otherParams(r);
      const own = Object.fromEntries(params.map((p) => [p, a.keys[p]![0]!]));
      // B's value in one parameter at a time (A's own in the others), then B's in all of them.
      const variants = params.flatMap((p) => {
        if (!b.keys[p]) throw new Error(`${routeKey(r)}: no value producer for ${p}`);
        return b.keys[p]!.map((value) => ({ ...own, [p]: value }));
      });
      if (params.length > 1) variants.push(Object.fromEntries(params.map((p) => [p, b.keys[p]![0]!])));
      for (const values of variants) {
        const url = fill(r, "a", values);
        const reply = await asA[0]![1](r.method, url, bodyOf(r, b));
        expect(reply.status, `${r.method} ${url}: ${JSON.stringify(reply.body)}`).toBe(404);
        expect(reply.body.error.code).toBe("not_found");
        expectNothingOfB(reply, Object.values(values), `${r.method} ${url}`);
        calls++;
      }
    }
    expect(calls).toBeGreaterThan(50);
    expect(await snapshotB()).toBe(before);
  });

  it("answers 404 to every tenant route with B in the path (403 to the owner-only ones), and changes nothing of B", async () => {
    const before = await snapshotB();
    for (const [who, call] of asA) {
      for (const r of tenantRoutes) {
        const url = fill(r, "b", Object.fromEntries(Object.entries(b.keys).map(([k, v]) => [k, v[0]!])));
        const reply = await call(r.method, url, bodyOf(r, b));
        const [status, code] = r.access === "owner" ? [403, "forbidden"] : [404, "not_found"];
        expect(reply.status, `${who}: ${r.method} ${url}: ${JSON.stringify(reply.body)}`).toBe(status);
        expect(reply.body.error.code).toBe(code);
        expectNothingOfB(reply, Object.values(b.keys).map((v) => v[0]!), `${who}: ${r.method} ${url}`);
      }
    }
    expect(await snapshotB()).toBe(before);
  });

  it("refuses B's records named in A's bodies (404) and filters (400: a filter's names are checked, listing A's own)", async () => {
    const before = await snapshotB();
    const group = encodeURIComponent(a.keys["groups/:id"]![0]!);
    const aUser = a.keys["users/:id"]![0]!;
    for (const [status, method, url, body] of [
      ...[...b.keys["users/:id"]!, "team-b"].map((member) => [404, "POST", `workspaces/a/groups/${group}/members`, { member }] as const),
      [404, "POST", "workspaces/a/users/bulk", { action: "disable", users: [b.keys["users/:id"]![0]] }],
      [404, "POST", "workspaces/a/users/bulk", { action: "addToGroup", users: [aUser], group: "team-b" }],
      [404, "POST", "workspaces/a/users/bulk", { action: "removeFromGroup", users: [aUser], group: b.keys["groups/:id"]![0] }],
      [404, "POST", "workspaces/a/users/bulk", { action: "addTag", users: [b.keys["users/:id"]![0]], tag: "stolen" }],
      [400, "GET", "workspaces/a/users?group=team-b", undefined],
      [400, "GET", "workspaces/a/users?source=corp-b", undefined],
      [400, "GET", "workspaces/a/runs?source=corp-b", undefined],
      [400, "GET", "workspaces/a/exports?source=corp-b", undefined],
      [400, "GET", "workspaces/a/users?department=dept-b", undefined],
      [400, "GET", "workspaces/a/exports?department=dept-b", undefined],
      [400, "POST", "workspaces/a/users/bulk", { action: "disable", filter: { department: "dept-b" } }],
    ] as const) {
      const reply = await asA[0]![1](method, url, body);
      expect(reply.status, `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`).toBe(status);
      expect(reply.body.error.code).toBe(status === 404 ? "not_found" : "invalid_input");
      expectNothingOfB(reply, [...b.keys["users/:id"]!, ...b.keys["groups/:id"]!, "corp-b", "dept-b"], `${method} ${url}`);
    }
    expect(await snapshotB()).toBe(before);
  });

  it("shows A alone in the workspaces' overview, nothing of B", async () => {
    for (const [who, call] of asA) {
      const reply = await call("GET", "workspace-overview");
      expect(reply.body.items.map((w: { name: string }) => w.name), who).toEqual(["a"]);
      expectNothingOfB(reply, [], `${who}: GET /workspace-overview`);
    }
  });

  it("lists A's departments only, counting A's users", async () => {
    const reply = await asA[0]![1]("GET", "workspaces/a/users/departments");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ items: [{ department: "dept-a", users: 1 }], withoutDepartment: 1 });
  });

  it("lists A's tags only, counting A's users; B's tag filters A's users to none", async () => {
    const reply = await asA[0]![1]("GET", "workspaces/a/users/tags");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ items: [{ tag: "ID synced", users: 1, source: true }, { tag: "Manual", users: 1, source: true }, { tag: "tag-a", users: 1, source: false }] });
    const filtered = await asA[0]![1]("GET", "workspaces/a/users?tag=TAG-B");
    expect([filtered.status, filtered.body.total]).toEqual([200, 0]);
    expect((await asA[0]![1]("GET", "workspaces/a/users?tag=TAG-A")).body.total).toBe(1);
  });

  it("does not tell A that B's upload is being committed", async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `bulk${i}@b.example,Bulk ${i}`).join("\r\n");
    const id = await uploadTo(api, "b", owner, "bulk-b.csv", `Email,Full name\r\n${rows}\r\n`);
    let finished = false;
    const commit = owner("POST", `workspaces/b/imports/${id}/commit`, {}).finally(() => (finished = true));
    // Not past its end: a commit over before a poll saw it would leave this loop polling for ever.
    while (!finished && !(await owner("GET", `workspaces/b/imports/${id}/progress`)).body.committing) await new Promise((r) => setTimeout(r, 5));
    const reply = await asA[0]![1]("DELETE", `workspaces/a/imports/${id}`);
    expect((await commit).status).toBe(200);
    expect(reply.status, JSON.stringify(reply.body)).toBe(404);
    expect(reply.body.error.code).toBe("not_found");
  });
});
