// Migration 041 (stored names composed) at N users generated as the emulator generates them (names of many countries,
// composed), copied in at the version before it, one in D of them then decomposed (NFD) as a Mac's CSV wrote them
// (--decomposed D; 0: none). Times the upgrade and counts the users it rewrote (their xmin changed), on one engine.
// Run: node bin/run-ts.js bench/compose-migration.ts [--engine pglite|postgres] [--users N] [--decomposed D]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql, type Kysely } from "kysely";
import { migrateToLatest } from "../src/storage/database.ts";
import { migrations, migrator } from "../src/storage/migrations/index.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log } from "./measure.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, decomposed: { type: "string", default: "0" } } });
const USERS = Number(values.users);
const ONE_IN = Number(values.decomposed);

const { store, dispose } = await openBenchStore(values.engine!, "compose", { migrate: false });
const db = store.db as unknown as Kysely<unknown>;
const versions = Object.keys(migrations);
const before = versions[versions.indexOf("041_stored_names_composed") - 1]!;
const { error } = await migrator(db).migrateTo(before);
if (error) throw error;
const started = performance.now();
await seedGeneratedUsers(store, USERS);
if (ONE_IN > 0) {
  await sql.raw(`
    UPDATE users SET display_name = normalize(display_name, NFD), given_name = normalize(given_name, NFD), surname = normalize(surname, NFD),
      email = normalize(email, NFD), user_principal_name = normalize(user_principal_name, NFD), department = normalize(department, NFD)
    WHERE abs(hashtext(id::text)) % ${ONE_IN} = 0`).execute(db);
}
await sql`vacuum users`.execute(db);
await sql`analyze users`.execute(db);
const count = async (where: string) => (await sql<{ n: number }>`select count(*)::int as n from users where ${sql.raw(where)}`.execute(db)).rows[0]!.n;
const decomposedUsers = await count(`NOT (concat_ws(' ', display_name, given_name, surname, email, user_principal_name, department) IS NFC NORMALIZED)`);
const nonAscii = await count(`octet_length(display_name || coalesce(email, '') || coalesce(department, '')) <> char_length(display_name || coalesce(email, '') || coalesce(department, ''))`);
await sql`create table bench_stamps as select id, xmin::text as stamp from users`.execute(db);
log(`${store.kind}: seeded ${USERS} users (${nonAscii} not ASCII, ${decomposedUsers} decomposed) in ${Math.round(performance.now() - started)} ms`);

const migrating = performance.now();
const ran = await migrateToLatest(store.db);
const ms = Math.round(performance.now() - migrating);
log(`${ran.join(", ")}: ${ms} ms`);
const rewritten = (await sql<{ n: number }>`select count(*)::int as n from users u join bench_stamps s on s.id = u.id where u.xmin::text <> s.stamp`.execute(db)).rows[0]!.n;
log(`${rewritten} users rewritten`);
process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, nonAscii, decomposed: decomposedUsers, migrationMs: ms, rewritten }) + "\n");
await dispose();
