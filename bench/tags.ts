// Tags benchmark: the Users page's Tag picker (GET …/users/tags: every tag of the workspace with how many users hold
// each), and a tag filter's first page and count (in any case, through the GIN index on the lowered tags), at N users generated as the emulator generates them, on one engine. Each user holds their source's tag
// and 0 to 3 of 40 admin tags, a few of them in another case ("night shift" beside "Night shift"). Medians of R rounds.
// Run: node bin/run-ts.js bench/tags.ts [--engine pglite|postgres] [--users N] [--rounds R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { selectUsers } from "../src/storage/queries/users.ts";
import { groupTagSpellings, selectTagSpellings } from "../src/storage/queries/user-tags.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs } from "./measure.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, rounds: { type: "string", default: "5" } } });
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);

const { store, dispose } = await openBenchStore(values.engine!, "tags");
const db = store.db;
const started = performance.now();
const { workspace } = await seedGeneratedUsers(store, USERS);
// Tag k of 40 goes to about one user in (k + 2): a few big tags, many small; one user in 7 writes "night shift" in lower case.
await sql`
  UPDATE users SET tags = array['Imported'] || array(
    SELECT CASE WHEN k = 1 AND hashtext(id::text) % 7 = 0 THEN 'night shift' WHEN k = 1 THEN 'Night shift' ELSE 'Team ' || k END
    FROM generate_series(1, 40) k
    WHERE abs(hashtext(id::text || k::text)) % (k + 2) = 0
    LIMIT 3)
  WHERE workspace_id = ${workspace.id}`.execute(db);
await sql`vacuum users`.execute(db);
await sql`analyze users`.execute(db);
log(`${store.kind}: seeded and tagged ${USERS} users in ${Math.round(performance.now() - started)} ms`);

const median = (run: () => Promise<unknown>) => medianMs(ROUNDS, run);

const tags = groupTagSpellings(await selectTagSpellings(db, workspace.id));
const own = tags.filter((t) => !t.source);
const biggest = [...own].sort((a, b) => b.users - a.users)[0]!;
const smallest = [...own].sort((a, b) => a.users - b.users)[0]!;
const page = { limit: 50, offset: 0, sort: "displayName" as const, order: "asc" as const };
const rows = {
  "tags list": await median(async () => groupTagSpellings(await selectTagSpellings(db, workspace.id))),
  [`users list, tag ${biggest.tag.toUpperCase()} (${biggest.users})`]: await median(() => selectUsers(db, workspace.id, { tag: biggest.tag.toUpperCase() }, page)),
  [`users list, tag ${smallest.tag} (${smallest.users})`]: await median(() => selectUsers(db, workspace.id, { tag: smallest.tag }, page)),
  "users list, tag Imported (a source's)": await median(() => selectUsers(db, workspace.id, { tag: "Imported" }, page)),
  "users list, a tag no one holds": await median(() => selectUsers(db, workspace.id, { tag: "Nobody's" }, page)),
};
console.log(JSON.stringify({ engine: store.kind, users: USERS, tags: tags.length, ms: rows }, null, 2));
await dispose();
