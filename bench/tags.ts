// Tags benchmark: the Users page's Tag picker (GET …/users/tags: every tag of the workspace with how many users hold
// each), and a tag filter's first page and count, at N users generated as the emulator generates them, on one engine.
// Each user holds their source's tag (six in ten ID synced, three Imported, one Manual) and 0 to 3 of 40 admin tags, a
// few of them in another case ("night shift" beside "Night shift"); the statistics a sync leaves (tags among them).
// Each round runs every query without an index on the tags as written (migration 045 undone), with a GIN index on them,
// and with 045's partial index per source's tag, each variant first in turn; milliseconds, the median of R rounds.
// The plans with --explain.
// --normalised: the other way measured, a table of (workspace, tag, user) filled from the users: the tags list and a
// source tag's count read from its primary key, and what filling it costs (what every write of users would add).
// --writes: what the indexes cost the writes instead: N users inserted in one statement under each variant, in turn, in CPU seconds of the database (PGlite's process, or the PostgreSQL backend's) and wall seconds.
// Run: node bin/run-ts.js bench/tags.ts [--engine pglite|postgres] [--users N] [--rounds R] [--explain] [--normalised] [--writes]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { pageIdsQuery, selectUsers, whereFilter, type Page, type UserFilter } from "../src/storage/queries/users.ts";
import { groupTagSpellings, selectTagSpellings } from "../src/storage/queries/user-tags.ts";
import type { Db } from "../src/storage/database.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs, sqlLiteral } from "./measure.ts";
import { connectionCpu } from "./cpu.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    users: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    explain: { type: "boolean", default: false },
    normalised: { type: "boolean", default: false },
    writes: { type: "boolean", default: false },
  },
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
/** No index on the tags as written (before 045), a GIN index on them, or one partial index per source's tag (045). */
const sourceTagIndexes = { users_synced_tag_idx: "ID synced", users_imported_tag_idx: "Imported", users_manual_tag_idx: "Manual" };
const dropAll = ["drop index if exists users_tags_idx", ...Object.keys(sourceTagIndexes).map((name) => `drop index if exists ${name}`)];
const variants = {
  without: dropAll,
  gin: [...dropAll, "create index users_tags_idx on users using gin (tags)"],
  partial: [...dropAll, ...Object.entries(sourceTagIndexes).map(([name, tag]) => `create index ${name} on users (workspace_id) where tags @> '{"${tag}"}'`)],
} as const;
type Variant = keyof typeof variants;
const names = Object.keys(variants) as Variant[];
const apply = async (variant: Variant, on: Db) => {
  for (const statement of variants[variant]) await sql.raw(statement).execute(on);
};
/** Round `round`'s order of the variants: each goes first in turn. */
const rotated = (round: number) => [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
/** Each user's source tag, and 0 to 3 admin tags: tag k of 40 goes to about one user in (k + 2), one in 7 of tag 1's holders write it in lower case. */
const tagsOf = (id: string) => sql`
  array[case when abs(hashtext(${sql.raw(id)}::text || 's')) % 10 < 6 then 'ID synced' when abs(hashtext(${sql.raw(id)}::text || 's')) % 10 < 9 then 'Imported' else 'Manual' end] || array(
    select case when k = 1 and hashtext(${sql.raw(id)}::text) % 7 = 0 then 'night shift' when k = 1 then 'Night shift' else 'Team ' || k end
    from generate_series(1, 40) k where abs(hashtext(${sql.raw(id)}::text || k::text)) % (k + 2) = 0 limit 3)`;
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");

const { store, dispose } = await openBenchStore(values.engine!, "tags");
const db = store.db;
log(`load average ${load()}`);
if (values.writes) await measureWrites();
else await measureReads();
log(`load average ${load()}`);
await dispose();

async function measureReads() {
  const started = performance.now();
  const { workspace } = await seedGeneratedUsers(store, USERS);
  await sql`update users set tags = ${tagsOf("id")} where workspace_id = ${workspace.id}`.execute(db);
  await sql`update users set source_type = case tags[1] when 'ID synced' then 'entra' when 'Manual' then 'manual' else 'import' end where workspace_id = ${workspace.id}`.execute(db);
  await sql`vacuum users`.execute(db);
  // The statistics a sync or an import leaves (sync/apply-groups.ts, queries/import-apply.ts), not a full ANALYZE's.
  await sql`analyze users (id, workspace_id, source_id, external_id, search_text, tags)`.execute(db);
  log(`${store.kind}: seeded and tagged ${USERS} users in ${Math.round(performance.now() - started)} ms`);

  const tags = groupTagSpellings(await selectTagSpellings(db, workspace.id));
  const own = tags.filter((t) => !t.source);
  const smallest = [...own].sort((a, b) => a.users - b.users)[0]!;
  const count = (tag: string) => tags.find((t) => t.tag.toLowerCase() === tag.toLowerCase())?.users ?? 0;
  const byName: Page = { limit: 50, offset: 0, sort: "displayName", order: "asc" };
  const newest: Page = { limit: 50, offset: 0, sort: "createdAt", order: "desc" };
  const cases: { name: string; filter: UserFilter; page: Page }[] = [
    ...["ID synced", "Imported", "Manual"].flatMap((tag) => [
      { name: `tag ${tag} (${count(tag)})`, filter: { tag }, page: byName },
      { name: `tag ${tag}, newest first`, filter: { tag }, page: newest },
    ]),
    { name: `tag NIGHT SHIFT (${count("night shift")})`, filter: { tag: "NIGHT SHIFT" }, page: byName },
    { name: `tag ${smallest.tag} (${smallest.users})`, filter: { tag: smallest.tag }, page: byName },
    { name: "a tag no one holds", filter: { tag: "Nobody's" }, page: byName },
  ];
  const times: Record<string, Partial<Record<Variant, number[]>>> = {};
  const found: Record<string, Partial<Record<Variant, string>>> = {};
  const time = async (name: string, variant: Variant, run: () => Promise<unknown>) => {
    const started = performance.now();
    const result = await run();
    ((times[name] ??= {})[variant] ??= []).push(performance.now() - started);
    (found[name] ??= {})[variant] = JSON.stringify(result);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of rotated(round)) {
      await apply(variant, db);
      await selectTagSpellings(db, workspace.id); // after the index's build, before anything is timed
      await time("tags list", variant, async () => groupTagSpellings(await selectTagSpellings(db, workspace.id)));
      for (const c of cases) {
        await time(`users list, ${c.name}`, variant, async () => {
          const { items, total } = await selectUsers(db, workspace.id, c.filter, c.page);
          return { ids: items.map((u) => u.id), total };
        });
      }
    }
    log(`round ${round + 1} of ${ROUNDS}: done (load average ${load()})`);
  }
  for (const [name, answers] of Object.entries(found)) if (new Set(Object.values(answers)).size !== 1) throw new Error(`${name}: the answers differ from one index to another`);
  const median = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
  const rows = Object.entries(times).map(([query, t]) => ({ query, ...Object.fromEntries(names.map((v) => [`${v}Ms`, median(t[v]!)])) }));
  console.table(rows);
  if (values.explain) {
    for (const variant of names) {
      await apply(variant, db);
      for (const c of cases) {
        const where = await whereFilter(db, workspace.id, c.filter);
        for (const [label, query] of [
          ["page", pageIdsQuery(db, where, c.page, "keyed", 51)],
          ["count", db.selectFrom("users as u").select(sql<number>`count(*)::int`.as("n")).where(where)],
        ] as const) {
          const compiled = query.compile();
          const text = compiled.sql.replace(/\$(\d+)/g, (_, i) => sqlLiteral(compiled.parameters[Number(i) - 1]));
          const plan = await sql.raw(`explain (analyze, costs off, timing off, summary on) ${text}`).execute(db);
          log(`${variant}: ${c.name}, ${label}:\n${(plan.rows as Record<string, string>[]).map((r) => Object.values(r)[0]).join("\n")}`);
        }
      }
    }
  }
  const normalised = values.normalised ? await measureNormalised(workspace.id) : undefined;
  process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: ROUNDS, tags: tags.length, results: rows, normalised }) + "\n");
}

/** The tags in a table of their own, (workspace, tag, user), filled from the users: what reading it and filling it cost. */
async function measureNormalised(workspaceId: string) {
  await sql`create table bench_user_tags (workspace_id uuid not null, tag text not null, user_id uuid not null, primary key (workspace_id, tag, user_id))`.execute(db);
  const started = performance.now();
  await sql`insert into bench_user_tags select workspace_id, t, id from users, unnest(tags) t`.execute(db);
  const fillMs = Math.round(performance.now() - started);
  await sql`vacuum analyze bench_user_tags`.execute(db);
  const result: Record<string, number> = { fillMs };
  result.tagsListMs = await medianMs(ROUNDS, () => sql`select tag, count(*)::int as users from bench_user_tags where workspace_id = ${workspaceId} group by tag`.execute(db));
  for (const tag of ["ID synced", "Imported", "Manual"]) {
    result[`count ${tag} ms`] = await medianMs(ROUNDS, () => sql`select count(*) from bench_user_tags where workspace_id = ${workspaceId} and tag = ${tag}`.execute(db));
  }
  console.table([result]);
  return result;
}

async function measureWrites() {
  const { workspace } = await seedGeneratedUsers(store, USERS);
  await sql`create table tags_bench_rows as select user_principal_name, email, display_name, employee_id, department, ${tagsOf("id")} as tags from users`.execute(db);
  await sql`delete from users`.execute(db);
  await sql`vacuum users`.execute(db);
  type Timed = { cpu: number; wall: number };
  const results = Object.fromEntries(names.map((v) => [v, [] as Timed[]])) as Record<Variant, Timed[]>;
  await db.connection().execute(async (conn) => {
    const cpu = await connectionCpu(store, conn);
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of rotated(round)) {
        await apply(variant, conn);
        const [start, wall] = [cpu(), performance.now()];
        await sql`
          insert into users (workspace_id, user_principal_name, email, display_name, employee_id, department, source_type, source_name, tags)
          select ${workspace.id}, user_principal_name, email, display_name, employee_id, department, 'entra', 'Contoso', tags
          from tags_bench_rows order by lower(email)`.execute(conn);
        const timed = { cpu: cpu() - start, wall: (performance.now() - wall) / 1000 };
        results[variant].push(timed);
        log(`round ${round + 1} ${variant}: insert ${timed.cpu.toFixed(2)} CPU s (${timed.wall.toFixed(2)} s), load average ${load()}`);
        await sql`delete from users`.execute(conn);
        await sql`vacuum users`.execute(conn);
      }
    }
  });
  const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
  const rows = names.map((variant) => ({ variant, insertCpuS: median(results[variant].map((t) => t.cpu)), insertS: median(results[variant].map((t) => t.wall)) }));
  console.table(rows);
  process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: ROUNDS, writes: rows }) + "\n");
}
