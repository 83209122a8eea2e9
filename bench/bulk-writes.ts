// Bulk-write benchmark: the inserts a sync or an import makes by the hundred thousand, on the same engine and
// the same generated rows, under three schema versions, alternating them round by round so that the machine's
// drift hits each alike: per-row foreign keys with random ids (up to migration 008), statement-level reference
// triggers (009), and time-ordered ids on top (010).
// Run: node bin/run-ts.js bench/bulk-writes.ts [--engine pglite|postgres] [--users N] [--rounds R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql, type Kysely } from "kysely";
import { migrator } from "../src/storage/migrations/index.ts";
import { openBenchStore } from "./bench-store.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, rounds: { type: "string", default: "2" } } });
const users = Number(values.users);
const groups = Math.max(3, Math.round(users / 20));
const schemas: Record<string, string> = {
  "foreign keys": "008_sync_departed_users",
  "statement triggers": "009_statement_references",
  "+ time-ordered ids": "010_time_ordered_ids",
};
const names = Object.keys(schemas);

const open = () => openBenchStore(values.engine!, "bulk-writes", { migrate: false });

/** Milliseconds per statement: users, groups, three memberships a user, one log row a membership, one card a user. */
async function round(version: string): Promise<Record<string, number>> {
  const { store, dispose } = await open();
  try {
    const db = store.db as unknown as Kysely<unknown>;
    const migrated = await migrator(db).migrateTo(version);
    if (migrated.error) throw migrated.error;
    const ws = (await sql<{ id: string }>`insert into workspaces (name) values ('bench') returning id`.execute(db)).rows[0]!.id;
    const ms: Record<string, number> = {};
    const time = async (name: string, query: ReturnType<typeof sql>) => {
      const start = performance.now();
      await query.execute(db);
      ms[name] = Math.round(performance.now() - start);
    };
    await time("users", sql`insert into users (workspace_id, email, display_name, source_type, source_name)
      select ${ws}, 'user' || i || '@example.com', 'User ' || i, 'manual', 'bench' from generate_series(1, ${users}) i`);
    await time("groups", sql`insert into groups (workspace_id, name, source_type, source_name)
      select ${ws}, 'Group ' || i, 'manual', 'bench' from generate_series(1, ${groups}) i`);
    await sql`create temp table numbered_users as select id, row_number() over () as n from users`.execute(db);
    await sql`create temp table numbered_groups as select id, row_number() over () as n from groups`.execute(db);
    await sql`analyze numbered_users`.execute(db);
    await sql`analyze numbered_groups`.execute(db);
    const nth = (k: number) => sql`select ${ws}::uuid, g.id, u.id from numbered_users u join numbered_groups g on g.n = ((u.n + ${k}) % ${groups}) + 1`;
    await time("memberships", sql`insert into group_members (workspace_id, group_id, member_user_id) ${nth(0)} union all ${nth(1)} union all ${nth(2)}`);
    await time("change log", sql`insert into change_log (workspace_id, user_id, group_id, subject, action, actor)
      select workspace_id, member_user_id, group_id, 'member', 'add to group', 'bench' from group_members`);
    await time("cards", sql`insert into user_identifiers (workspace_id, kind, key, value, user_id, position) select ${ws}, 'card', id::text, id::text, id, 0 from users`);
    return ms;
  } finally {
    await dispose();
  }
}

const results: Record<string, Record<string, number>[]> = Object.fromEntries(names.map((name) => [name, []]));
for (let r = 0; r < Number(values.rounds); r++) {
  for (const name of names) {
    results[name]!.push(await round(schemas[name]!));
    process.stderr.write(`round ${r + 1}, ${name}: ${JSON.stringify(results[name]!.at(-1))}\n`);
  }
}
const steps = Object.keys(results[names[0]!]![0]!);
const best = (name: string, step: string): number =>
  step === "total" ? steps.reduce((sum, s) => sum + best(name, s), 0) : Math.min(...results[name]!.map((m) => m[step]!));
console.log(`${values.engine}, ${users} users, ${groups} groups, ${users * 3} memberships (best of ${values.rounds} rounds, ms; ratio: last ÷ first):`);
console.table(Object.fromEntries([...steps, "total"].map((step) => [step, {
  ...Object.fromEntries(names.map((name) => [name, best(name, step)])),
  ratio: Number((best(names.at(-1)!, step) / best(names[0]!, step)).toFixed(2)),
}])));
