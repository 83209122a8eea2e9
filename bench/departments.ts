// Departments benchmark: the Users page's department picker (GET …/users/departments: every department of the
// workspace with how many users each), a department filter's first page and count, and a misspelt department's
// refusal (which lists the departments), at N users generated as the emulator generates them, on one engine, with
// the statistics a first sync leaves. Medians of R rounds. No index on department: this says whether one is needed.
// Run: node bin/run-ts.js bench/departments.ts [--engine pglite|postgres] [--users N] [--rounds R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { filterNames, selectDepartments, selectUsers } from "../src/storage/queries/users.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs } from "./measure.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, rounds: { type: "string", default: "5" } } });
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);

const { store, dispose } = await openBenchStore(values.engine!, "departments");
const db = store.db;
const started = performance.now();
const { workspace } = await seedGeneratedUsers(store, USERS);
await sql`vacuum users`.execute(db);
await sql`analyze users (id, workspace_id, source_id, external_id, search_text)`.execute(db);
log(`${store.kind}: seeded ${USERS} users in ${Math.round(performance.now() - started)} ms`);

const median = (run: () => Promise<unknown>) => medianMs(ROUNDS, run);

const departments = await selectDepartments(db, workspace.id);
const biggest = [...departments.items].sort((a, b) => b.users - a.users)[0]!;
const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };
const rows = {
  "departments list": await median(() => selectDepartments(db, workspace.id)),
  [`users list, department ${biggest.department} (${biggest.users})`]: await median(() => selectUsers(db, workspace.id, { department: biggest.department.toUpperCase() }, page)),
  "misspelt department's names": await median(() => filterNames(db, workspace.id, { source: "", group: "", department: "Fnance" })),
};
console.log(JSON.stringify({ engine: store.kind, users: USERS, departments: departments.items.length, withoutDepartment: departments.withoutDepartment, ms: rows }, null, 2));
await dispose();
