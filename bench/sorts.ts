// Users list sorts benchmark: a page of 50 users sorted by createdAt, updatedAt or source (each way), first, by
// cursor from the middle of the list, at offset 5,000 (the console's page 101), and under a search, a department
// and a source filter, at N users generated as the emulator generates them, spread as a workspace's imports and
// syncs leave them (ties: a batch shares its created_at, most users share a source). Each round runs every query
// without the sort indexes (migration 036 undone) and with them, alternating which goes first, so the machine's
// drift hits both alike; milliseconds, the median of the rounds. The plans with --explain.
// --writes: what the indexes cost the writes instead: N users inserted in one statement into an empty workspace (as
// a first sync or import writes them), then every one of them updated (as a bulk action or a full re-import), with
// none, all, and all but the updatedAt index (which takes every update of a user off the heap-only path), alternated,
// in CPU seconds of the database (PGlite's process, or the PostgreSQL backend's) and wall seconds.
// Run: node bin/run-ts.js bench/sorts.ts [--engine pglite|postgres] [--users N] [--rounds R] [--explain] [--writes]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { pageIdsQuery, selectUserPage, whereFilter, type Page, type UserCursor, type UserFilter, type UserSort } from "../src/storage/queries/users.ts";
import type { Db } from "../src/storage/database.ts";
import { resolveWorkspace } from "../src/core/workspaces.ts";
import { generateUsers } from "../src/emulator/generator.ts";
import { Tenant } from "../src/emulator/tenant.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, sqlLiteral } from "./measure.ts";
import { connectionCpu } from "./cpu.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    users: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
    explain: { type: "boolean", default: false },
    writes: { type: "boolean", default: false },
  },
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);

/** Migration 036's indexes, and what it replaced. */
const withIndexes = [
  "drop index if exists users_source_idx, users_created_idx, users_updated_idx",
  "create index users_source_idx on users (workspace_id, lower(source_name), id)",
  "create index users_created_idx on users (workspace_id, created_at, id)",
  "create index users_updated_idx on users (workspace_id, updated_at, id)",
];
const withoutIndexes = [
  "drop index if exists users_source_idx, users_created_idx, users_updated_idx",
  "create index users_source_idx on users (workspace_id, source_name)",
];
/** The created and source indexes only: an update of a user (which sets updated_at) may then still be HOT. */
const withoutUpdated = [...withIndexes.slice(0, 3)];
const variants = { without: withoutIndexes, with: withIndexes, "created and source only": withoutUpdated } as const;
type Variant = keyof typeof variants;

const { store, dispose } = await openBenchStore(values.engine!, "sorts");
const db = store.db;
if (values.writes) await measureWrites();
else await measureReads();
await dispose();

async function apply(variant: Variant, on: Db = db) {
  for (const statement of variants[variant]) await sql.raw(statement).execute(on);
}

async function measureReads() {
  let started = performance.now();
  await apply("without");
  const { workspace } = await seedGeneratedUsers(store, USERS);
  // 40 imports or syncs, each creating its users at one instant; later edits spread updated_at; a synced source
  // holds 60%, two files 30%, and 10% were added by hand.
  await sql`
    with n as (select id, row_number() over (order by id) as i from users)
    update users u set created_at = now() - (40 - n.i % 40) * interval '1 day',
      updated_at = now() - (40 - n.i % 40) * interval '1 day' + (n.i * 7919 % 100000) * interval '1 second',
      source_type = (case when n.i % 10 < 6 then 'entra' when n.i % 10 < 9 then 'import' else 'manual' end),
      source_name = (case when n.i % 10 < 6 then 'Contoso' when n.i % 10 < 8 then 'staff.csv' when n.i % 10 < 9 then 'Contractors.csv' else 'manual' end)
    from n where n.id = u.id`.execute(db);
  // The statistics a first sync leaves (sync/apply-groups.ts), not a full ANALYZE's.
  await sql`vacuum users`.execute(db);
  await sql`analyze users (id, workspace_id, source_id, external_id, search_text)`.execute(db);
  log(`${store.kind}: seeded ${USERS} users in ${Math.round(performance.now() - started)} ms`);

  const cases: { name: string; sort: UserSort; order: Page["order"]; filter: UserFilter; how: "first" | "cursor" | "offset" }[] = [];
  for (const sort of ["createdAt", "updatedAt", "source"] as const) {
    for (const order of ["asc", "desc"] as const) {
      for (const how of ["first", "cursor", "offset"] as const) cases.push({ name: `${sort} ${order} ${how}`, sort, order, filter: {}, how });
      for (const [label, filter] of [["q=an", { q: "an" }], ["department", { department: "Sales" }], ["source", { source: "staff.csv" }]] as const) {
        cases.push({ name: `${sort} ${order} ${label}`, sort, order, filter, how: "first" });
        cases.push({ name: `${sort} ${order} ${label} cursor`, sort, order, filter, how: "cursor" });
      }
    }
  }
  /** A cursor halfway through each list: where a script reading on by `next` is halfway. */
  const middle = new Map<string, UserCursor>();
  await apply("with");
  for (const c of cases) {
    if (c.how !== "cursor") continue;
    const half = await selectUserPage(db, workspace.id, c.filter, { limit: 1, offset: Math.floor((await count(workspace.id, c.filter)) / 2), sort: c.sort, order: c.order });
    const user = half.items[0]!;
    const key = c.sort === "source" ? user.source.name.toLowerCase() : await timeText(user.id, c.sort === "createdAt" ? "created_at" : "updated_at");
    middle.set(c.name, { key, id: user.id });
  }
  const pageOf = (c: (typeof cases)[number]): Page => ({
    limit: 50,
    sort: c.sort,
    order: c.order,
    ...(c.how === "offset" ? { offset: 5000 } : {}),
    ...(c.how === "cursor" ? { after: middle.get(c.name)! } : {}),
  });

  const times: Record<string, Record<"without" | "with", number[]>> = {};
  const firstIds: Record<string, Record<"without" | "with", string>> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of round % 2 === 0 ? (["without", "with"] as const) : (["with", "without"] as const)) {
      await apply(variant);
      for (const c of cases) {
        started = performance.now();
        const found = await selectUserPage(db, workspace.id, c.filter, pageOf(c));
        ((times[c.name] ??= { without: [], with: [] })[variant]).push(performance.now() - started);
        (firstIds[c.name] ??= { without: "", with: "" })[variant] = found.items.map((u) => u.id).join();
      }
      log(`round ${round + 1}, ${variant} the sort indexes: done`);
    }
  }
  for (const [name, ids] of Object.entries(firstIds)) if (ids.with !== ids.without) throw new Error(`${name}: the pages differ with and without the indexes`);
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
  const rows = Object.entries(times).map(([name, t]) => ({ query: name, withoutMs: median(t.without), withMs: median(t.with), ratio: +(median(t.with) / median(t.without)).toFixed(3) }));
  console.table(rows);
  if (values.explain) {
    for (const variant of ["without", "with"] as const) {
      await apply(variant);
      for (const c of cases) {
        const where = await whereFilter(db, workspace.id, c.filter);
        const compiled = pageIdsQuery(db, where, pageOf(c), c.how === "offset" ? "all" : "keyed", 51).compile();
        const text = compiled.sql.replace(/\$(\d+)/g, (_, i) => sqlLiteral(compiled.parameters[Number(i) - 1]));
        const plan = await sql.raw(`explain (analyze, costs off, timing off, summary on) ${text}`).execute(db);
        log(`${variant}: ${c.name}:\n${(plan.rows as Record<string, string>[]).map((r) => Object.values(r)[0]).join("\n")}`);
      }
    }
  }
  process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: ROUNDS, results: rows }) + "\n");

  async function count(workspaceId: string, filter: UserFilter) {
    const where = await whereFilter(db, workspaceId, filter);
    return (await db.selectFrom("users as u").select(sql<number>`count(*)::int`.as("n")).where(where).executeTakeFirstOrThrow()).n;
  }
  async function timeText(id: string, column: string) {
    const { rows } = await sql<{ key: string }>`select to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as key from users where id = ${id}`.execute(db);
    return rows[0]!.key;
  }
}

async function measureWrites() {
  const workspace = await resolveWorkspace(db, "default");
  const tenant = new Tenant("00000000-0000-0000-0000-000000000001", "contoso.example", "Contoso");
  generateUsers(tenant, USERS, 1);
  await sql`create table sorts_bench_rows (user_principal_name text, email text, display_name text, employee_id text, department text)`.execute(db);
  await store.copyRows(
    "sorts_bench_rows",
    ["user_principal_name", "email", "display_name", "employee_id", "department"],
    tenant.users.map(({ u }) => [u.userPrincipalName, u.mail, u.displayName, u.employeeId, u.department ?? null]),
  );
  const names = Object.keys(variants) as Variant[];
  type Timed = { cpu: number; wall: number };
  const results = Object.fromEntries(names.map((name) => [name, { insert: [] as Timed[], update: [] as Timed[] }])) as Record<Variant, { insert: Timed[]; update: Timed[] }>;
  await db.connection().execute(async (conn) => {
    const cpu = await connectionCpu(store, conn);
    const timed = async (statement: () => Promise<unknown>) => {
      const [start, wall] = [cpu(), performance.now()];
      await statement();
      return { cpu: cpu() - start, wall: (performance.now() - wall) / 1000 };
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
        await apply(variant, conn);
        const insert = await timed(() => sql`
          insert into users (workspace_id, user_principal_name, email, display_name, employee_id, department, source_type, source_name, tags)
          select ${workspace.id}, user_principal_name, email, display_name, employee_id, department, 'entra', 'Contoso', array['ID synced']
          from sorts_bench_rows order by lower(email)`.execute(conn));
        await sql`vacuum users`.execute(conn);
        const update = await timed(() => sql`update users set enabled = false, updated_at = now()`.execute(conn));
        results[variant].insert.push(insert);
        results[variant].update.push(update);
        log(`round ${round + 1} ${variant}: insert ${insert.cpu.toFixed(2)} CPU s (${insert.wall.toFixed(2)} s), update ${update.cpu.toFixed(2)} CPU s (${update.wall.toFixed(2)} s)`);
        await sql`delete from users`.execute(conn);
        await sql`vacuum users`.execute(conn);
      }
    }
  });
  const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
  const rows = names.map((variant) => {
    const [insert, update] = [results[variant].insert, results[variant].update];
    return { variant, insertCpuS: median(insert.map((t) => t.cpu)), insertS: median(insert.map((t) => t.wall)), updateAllCpuS: median(update.map((t) => t.cpu)), updateAllS: median(update.map((t) => t.wall)) };
  });
  console.table(rows);
  process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: ROUNDS, writes: rows }) + "\n");
}
