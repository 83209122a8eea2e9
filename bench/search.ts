// User search benchmark: the Users page's search (`q`: display name, email, UPN or employee ID contains, or a card
// number, alias or phone number) and a
// group's member search, at N users generated as the emulator generates them (names of many countries), on one
// engine, with the statistics a first sync leaves. For each term, the median of R rounds of the page (50 users by
// display name, as the console asks) and of the count, each on its own; of the users list (what GET …/users?q= runs:
// the page, then the count unless the page ends the list); and of the first page of a group of everyone's members.
// The plans with --explain.
// Run: node bin/run-ts.js bench/search.ts [--engine pglite|postgres] [--users N] [--rounds R] [--explain]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { countUsers, selectUsers, whereFilter } from "../src/storage/queries/users.ts";
import { selectGroupMembers } from "../src/storage/queries/groups.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs, sqlLiteral } from "./measure.ts";

const { values } = parseArgs({
  options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, rounds: { type: "string", default: "5" }, explain: { type: "boolean", default: false } },
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);

const { store, dispose } = await openBenchStore(values.engine!, "search");
const db = store.db;
const started = performance.now();
const { workspace, tenant } = await seedGeneratedUsers(store, USERS);
const group = await db.insertInto("groups").values({ workspace_id: workspace.id, name: "All Employees", source_type: "import", source_name: "bench.csv" }).returning("id").executeTakeFirstOrThrow();
await sql`insert into group_members (workspace_id, group_id, member_user_id) select workspace_id, ${group.id}, id from users`.execute(db);
// A badge for every user, an alias for one in four and a mobile number, as a help desk's directory holds them: the
// search looks through card numbers, aliases and phones too.
await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
  select workspace_id, 'card', lpad(n::text, 7, '0'), lpad(n::text, 7, '0'), id, 0 from (select id, workspace_id, row_number() over (order by id) as n from users) s`.execute(db);
await sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position)
  select workspace_id, 'alias', 'alias' || n, 'Alias' || n, id, 0 from (select id, workspace_id, row_number() over (order by id) as n from users) s where n % 4 = 0`.execute(db);
await sql`update users u set mobile_phone = '+447911' || lpad(s.n::text, 6, '0') from (select id, row_number() over (order by id) as n from users) s where s.id = u.id`.execute(db);
// The statistics a first sync of that many users leaves (sync/apply-groups.ts), not a full ANALYZE's.
await sql`vacuum users, groups, group_members`.execute(db);
await sql`analyze users (id, workspace_id, source_id, external_id, search_text), groups (id, workspace_id, source_id, external_id), group_members`.execute(db);
log(`${store.kind}: seeded ${USERS} users and a group of all of them in ${Math.round(performance.now() - started)} ms`);

const sample = tenant.users[Math.floor(USERS / 2)]!.u;
const terms = { "an": "an", "zq": "zq", "e": "e", "ann": "ann", "contoso": "contoso", "surname": sample.surname!, "full email": sample.mail ?? sample.userPrincipalName, "no match": "nobody-here", "card": "0050000", "phone": "07911 050000", "phone prefix": "07911" };

const median = (run: () => Promise<unknown>) => medianMs(ROUNDS, run);

const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };
const rows: Record<string, unknown>[] = [];
for (const [name, q] of Object.entries(terms)) {
  const total = await countUsers(db, workspace.id, { q });
  const pageOnly = async () => {
    const where = await whereFilter(db, workspace.id, { q });
    return db.selectFrom("users as u").select("u.id").where(where).orderBy(sql`u.display_name collate "und-x-icu", u.id`).limit(50).execute();
  };
  rows.push({
    term: name,
    q,
    matches: total,
    pageMs: await median(pageOnly),
    countMs: await median(() => countUsers(db, workspace.id, { q })),
    listUsersMs: await median(() => selectUsers(db, workspace.id, { q }, page)),
    groupMembersMs: await median(() => selectGroupMembers(db, workspace.id, group.id, { limit: 50, q })),
  });
  if (values.explain) {
    const where = await whereFilter(db, workspace.id, { q });
    for (const query of [
      db.selectFrom("users as u").select("u.id").where(where).orderBy(sql`u.display_name collate "und-x-icu", u.id`).limit(50),
      db.selectFrom("users as u").select(sql`count(*)`.as("n")).where(where),
    ]) {
      const compiled = query.compile();
      const plan = await sql.raw(`explain (analyze, costs off, timing off, summary on) ${compiled.sql.replace(/\$(\d+)/g, (_, i) => sqlLiteral(compiled.parameters[Number(i) - 1]))}`).execute(db);
      log(`plan for ${JSON.stringify(q)}:\n${(plan.rows as Record<string, string>[]).map((r) => Object.values(r)[0]).join("\n")}`);
    }
  }
}
console.table(rows);
process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: ROUNDS, results: rows }) + "\n");
await dispose();
