// Nested groups benchmark: what a group's count of users at any depth costs (GET …/groups/{id}: `nestedUserCount`),
// on a 96,000-member group held directly and one made of four nested groups of 24,000, against the groups list's page
// of plain counts; a user's groups through nesting (GET …/users/{id}); and deleting a 20,000-member group, each
// member's history recording that they left it. Medians of R rounds (the delete: once).
// Run: node bin/run-ts.js bench/nested-groups.ts [--engine pglite|postgres] [--users N] [--rounds R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { addMember, createGroup, deleteGroup, listGroups, showGroup } from "../src/core/groups.ts";
import { showUser } from "../src/core/users.ts";
import { countNestedUsers } from "../src/storage/queries/groups.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs } from "./measure.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "96000" }, rounds: { type: "string", default: "5" } } });
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const DELETED = 20_000;

const { store, dispose } = await openBenchStore(values.engine!, "nested-groups");
const db = store.db;
const started = performance.now();
const { workspace } = await seedGeneratedUsers(store, USERS);
const ctx = { db, workspace, actor: "bench" };
const fill = (group: string, where: string) =>
  sql`insert into group_members (workspace_id, group_id, member_user_id)
    select ${workspace.id}, (select id from groups where name = ${group}), id from (select id, row_number() over (order by id) as n from users) u where ${sql.raw(where)}`.execute(db);
await createGroup(ctx, { name: "All employees" });
await fill("All employees", "true");
await createGroup(ctx, { name: "All staff" });
for (let part = 0; part < 4; part++) {
  await createGroup(ctx, { name: `Site ${part}` });
  await fill(`Site ${part}`, `n % 4 = ${part}`);
  await addMember(ctx, "All staff", `Site ${part}`);
}
for (let i = 0; i < 45; i++) await createGroup(ctx, { name: `Team ${String(i).padStart(2, "0")}` });
await createGroup(ctx, { name: "Leaving" });
await fill("Leaving", `n <= ${DELETED}`);
await sql`analyze`.execute(db);
log(`${store.kind}: seeded ${USERS} users and their groups in ${Math.round(performance.now() - started)} ms`);

const median = (run: () => Promise<unknown>) => medianMs(ROUNDS, run);
const { items: page } = await listGroups(ctx, {}, { limit: 50, offset: 0 });
const someone = (await sql<{ email: string }>`select email from users order by id limit 1`.execute(db)).rows[0]!.email;
const rows: Record<string, number> = {
  "groups list, a page of 50 (direct counts)": await median(() => listGroups(ctx, {}, { limit: 50, offset: 0 })),
  "the same page's users at any depth, counted each": await median(async () => { for (const g of page) await countNestedUsers(db, g.id); }),
  [`users at any depth, All employees (${USERS} direct)`]: await median(() => countNestedUsers(db, page.find((g) => g.name === "All employees")!.id)),
  [`users at any depth, All staff (4 nested groups of ${USERS / 4})`]: await median(() => countNestedUsers(db, page.find((g) => g.name === "All staff")!.id)),
  "GET a group, All employees": await median(() => showGroup(ctx, "All employees")),
  "GET a group, All staff": await median(() => showGroup(ctx, "All staff")),
  "GET a user in 3 groups, 1 through nesting": await median(() => showUser(ctx, someone)),
};
const deleting = performance.now();
await deleteGroup(ctx, "Leaving");
rows[`delete a group of ${DELETED} members, each one's history entry`] = Math.round(performance.now() - deleting);
const logged = (await sql<{ n: number }>`select count(*)::int as n from change_log where action = 'remove from group Leaving'`.execute(db)).rows[0]!.n;
console.log(JSON.stringify({ engine: store.kind, users: USERS, leftEntries: logged, ms: rows }, null, 2));
await dispose();
