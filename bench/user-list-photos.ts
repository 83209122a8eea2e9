// Users list with photos benchmark: what GET …/users costs (listUsers, as the console's Users page asks: 50 users by
// display name, counted) at N users of which 40% have a photo (JPEG-signed random bytes, stored out of line as a real
// photo is), first page, at offset 5,000, by cursor from the middle and under a search. Run it on a commit before and
// after a change to the list's query to compare; milliseconds, the median of the rounds, and the page's photo count;
// then the photo probe alone (what hasPhoto adds to a page) with its plan.
// Run: node bin/run-ts.js bench/user-list-photos.ts [--engine pglite|postgres] [--users N] [--rounds R]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { listUsers } from "../src/core/user-list.ts";
import { openBenchStore, seedGeneratedUsers } from "./bench-store.ts";
import { log, medianMs } from "./measure.ts";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "pglite" },
    users: { type: "string", default: "10000" },
    rounds: { type: "string", default: "15" },
  },
});
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);

const { store, dispose } = await openBenchStore(values.engine!, "user-list-photos");
const started = performance.now();
const { workspace } = await seedGeneratedUsers(store, USERS);
// About 6 KiB each, incompressible (as a JPEG is), so that PostgreSQL keeps the bytes out of the row, in TOAST.
await sql`
  insert into user_photos (user_id, workspace_id, content_type, bytes)
  select u.id, u.workspace_id, 'image/jpeg', '\\xffd8ff'::bytea || decode((select string_agg(md5(random()::text || u.id::text || g), '') from generate_series(1, 200) g), 'hex')
  from users u where abs(hashtext(u.id::text)) % 10 < 4`.execute(store.db);
await sql`vacuum analyze users`.execute(store.db);
await sql`vacuum analyze user_photos`.execute(store.db);
const { rows: [seeded] } = await sql<{ photos: number }>`select count(*)::int as photos from user_photos`.execute(store.db);
log(`${store.kind}: seeded ${USERS} users, ${seeded!.photos} with a photo, in ${Math.round(performance.now() - started)} ms`);

const ctx = { db: store.db, workspace };
const page = { limit: 50, sort: "displayName" as const, order: "asc" as const };
const middle = (await listUsers(ctx, {}, { ...page, offset: Math.floor(USERS / 2) - 1, limit: 1 })).next!;
const cases = [
  { name: "first page", run: () => listUsers(ctx, {}, page) },
  { name: "offset 5000", run: () => listUsers(ctx, {}, { ...page, offset: 5000 }) },
  { name: "cursor, middle", run: () => listUsers(ctx, {}, { ...page, after: middle }) },
  { name: "search 'an'", run: () => listUsers(ctx, { q: "an" }, page) },
];
for (const c of cases) {
  const answer = await c.run();
  const photos = answer.items.filter((u) => (u as { hasPhoto?: boolean }).hasPhoto).length;
  const ms = await medianMs(ROUNDS, c.run);
  log(`${c.name.padEnd(16)} ${ms.toFixed(2).padStart(7)} ms  (${answer.items.length} users, hasPhoto: ${"hasPhoto" in (answer.items[0] ?? {}) ? photos : "absent"})`);
}
// The part hasPhoto adds, alone: one probe of user_photos' primary key per user of a page, and its plan.
const ids = (await listUsers(ctx, {}, page)).items.map((u) => u.id);
const probe = sql<{ id: string; has_photo: boolean }>`select u.id, exists (select 1 from user_photos p where p.user_id = u.id) as has_photo from users u where u.id in (${sql.join(ids)})`;
log(`${"photo probe alone".padEnd(16)} ${(await medianMs(ROUNDS, () => probe.execute(store.db))).toFixed(2).padStart(7)} ms  (the 50 users of the first page)`);
const plan = await sql<Record<string, string>>`explain (analyze, costs off, timing off, summary off) ${probe}`.execute(store.db);
log(`plan (its scans):\n${plan.rows.map((r) => String(Object.values(r)[0])).filter((line) => /Scan|Heap Fetches/.test(line)).join("\n")}`);
await dispose();
