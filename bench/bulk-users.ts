// Bulk actions on every user a filter matches (the Users page's "all matching", `users disable --matching`), at N
// users on one engine: each action over a filter selecting 40% of them and over one selecting all of them, in the
// order an admin might run them (disable, disable again: all unchanged, enable, add to a group, again, remove, add a tag,
// again, remove it, delete),
// with the process's peak RSS. Every action is what POST …/users/bulk runs (core bulkUsers), one transaction each.
// Before each selection's tag actions, the baseline: a plain UPDATE appending a tag to the same users (the filter's
// where clause, no history, no selection table), rolled back. --tags: the tag actions and their baseline only.
// Run: node bin/run-ts.js bench/bulk-users.ts [--engine pglite|postgres] [--users N] [--tags]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { resolveWorkspace } from "../src/core/workspaces.ts";
import { bulkUsers, type BulkRequest } from "../src/core/bulk-users.ts";
import { whereFilter, type UserFilter } from "../src/storage/queries/users.ts";
import { openBenchStore } from "./bench-store.ts";
import { log } from "./measure.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, tags: { type: "boolean", default: false } } });
const USERS = Number(values.users);

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50);
const { store, dispose } = await openBenchStore(values.engine!, "bulk-users");
const db = store.db;
const workspace = await resolveWorkspace(db, "default");
let started = performance.now();
await store.copyRows(
  "users",
  ["workspace_id", "email", "display_name", "department", "source_type", "source_name", "tags"],
  Array.from({ length: USERS }, (_, i) => {
    const n = String(i).padStart(6, "0");
    return [workspace.id, `user-${n}@corp.example`, `Person ${n}`, i % 5 < 2 ? "Operations" : "Sales", "import", "hr.csv", i % 5 < 2 ? "{Imported,north}" : "{Imported}"];
  }),
);
await db.insertInto("groups").values({ workspace_id: workspace.id, name: "Everyone", source_type: "manual", source_name: "manual" }).execute();
await sql`vacuum analyze users`.execute(db);
log(`${store.kind}: seeded ${USERS} users in ${Math.round(performance.now() - started)} ms`);

const ctx = { db, workspace, actor: "bench@example.com" };
class RolledBack extends Error {}
const rows: Record<string, unknown>[] = [];
const filters = { "40% (tag north)": { tag: "north" }, "all (source hr.csv)": { source: "hr.csv" } };
const actions: [string, Omit<BulkRequest, "filter">][] = [
  ["disable", { action: "disable" }],
  ["disable again (all unchanged)", { action: "disable" }],
  ["enable", { action: "enable" }],
  ["add to a group", { action: "addToGroup", group: "Everyone" }],
  ["add again (all unchanged)", { action: "addToGroup", group: "Everyone" }],
  ["remove from the group", { action: "removeFromGroup", group: "Everyone" }],
  ["add a tag", { action: "addTag", tag: "Reviewed" }],
  ["add the tag again (all unchanged)", { action: "addTag", tag: "Reviewed" }],
  ["remove the tag", { action: "removeTag", tag: "Reviewed" }],
  ["delete", { action: "delete" }],
];
for (const [selection, filter] of Object.entries(filters)) {
  for (const [name, request] of actions) {
    if (request.action === "delete" && selection.startsWith("40%")) continue; // the "all" pass needs them
    const tagAction = request.action === "addTag" || request.action === "removeTag";
    if (values.tags && !tagAction) continue;
    if (name === "add a tag") {
      const ms = await baselineTagUpdate(filter);
      rows.push({ selection, action: "baseline: UPDATE appending a tag (rolled back)", ms });
      log(`${selection}, baseline UPDATE: ${ms} ms`);
    }
    const heapBefore = process.memoryUsage().heapUsed;
    started = performance.now();
    const result = await bulkUsers(ctx, { ...request, filter });
    const ms = Math.round(performance.now() - started);
    rows.push({ selection, action: name, changed: result.changed, unchanged: result.unchanged, ms, "heap Δ MB": Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e5) / 10 });
    log(`${selection}, ${name}: ${ms} ms (${result.changed} changed, ${result.unchanged} unchanged)`);
  }
}
/** A plain UPDATE appending a tag to the users `filter` matches, timed, then rolled back: what the rows' writing alone costs. */
async function baselineTagUpdate(filter: UserFilter): Promise<number> {
  let ms = 0;
  await db.transaction().execute(async (trx) => {
    const matching = trx.selectFrom("users as u").select("u.id").where(await whereFilter(trx, workspace.id, filter));
    const started = performance.now();
    await sql`update users set tags = array_append(tags, 'Baseline'), updated_at = now() where id in (${matching})`.execute(trx);
    ms = Math.round(performance.now() - started);
    throw new RolledBack();
  }).catch((error) => { if (!(error instanceof RolledBack)) throw error; });
  return ms;
}
const { rows: logged } = await sql<{ n: number }>`select count(*)::int as n from change_log where actor = 'bench@example.com'`.execute(db);
clearInterval(sampler);
console.table(rows);
console.log(`${store.kind}, ${USERS} users: ${logged[0]!.n} history entries written; peak RSS ${Math.round(peakRss / 1e6)} MB`);
await dispose();
