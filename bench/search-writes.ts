// What making user search fast costs the writes of a sync or an import: N users inserted in one statement into an
// empty workspace (as a first sync does), then the vacuum a sync runs after, under each way of keeping what search
// reads (nothing, the stored search_text column of migration 032, folded by migration 037, trigram indexes), alternated round by round so
// that the machine's drift hits each alike. CPU seconds are the embedded database's process, or the PostgreSQL
// backend's own (the server may be shared). The trigram variants need pg_trgm: PostgreSQL only (Rollcall's
// embedded database does not load it).
// Run: node bin/run-ts.js bench/search-writes.ts [--engine pglite|postgres] [--users N] [--rounds R] [--variants "neither|…"]
// PostgreSQL: ROLLCALL_BENCH_DATABASE_URL or ROLLCALL_TEST_DATABASE_URL (a server where databases may be created).
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { resolveWorkspace } from "../src/core/workspaces.ts";
import { generateUsers } from "../src/emulator/generator.ts";
import { Tenant } from "../src/emulator/tenant.ts";
import { openBenchStore } from "./bench-store.ts";
import { log } from "./measure.ts";
import { connectionCpu } from "./cpu.ts";

const { values } = parseArgs({ options: { engine: { type: "string", default: "pglite" }, users: { type: "string", default: "100000" }, rounds: { type: "string", default: "3" }, variants: { type: "string" } } });
const USERS = Number(values.users);

const searchText = `lower(display_name || E'\\x1f' || coalesce(email, '') || E'\\x1f' || coalesce(user_principal_name, '') || E'\\x1f' || coalesce(employee_id, ''))`;
const searchColumn = `alter table users add column search_text text generated always as (${searchText}) stored`;
const foldedColumn = searchColumn.replace("lower(", "rollcall_search_fold(");
const gin = (expression: string, options = "") => `create index users_search_idx on users using gin ((${expression}) gin_trgm_ops)${options}`;
/** Statements run before the insert (what it maintains), in its transaction, and after it there (built in bulk). */
interface Variant {
  before?: string[];
  settings?: string;
  after?: string;
}
const variants: Record<string, Variant> = {
  neither: {},
  "search_text column (migration 032)": { before: [searchColumn] },
  "accent-folded search_text column (migration 037)": { before: [foldedColumn] },
  "trigram GIN on one expression (fastupdate)": { before: [gin(searchText)] },
  "trigram GIN on one expression, built after the insert": { after: gin(searchText) },
  "trigram GIN on the search_text column": { before: [searchColumn, "create index users_search_idx on users using gin (search_text gin_trgm_ops)"] },
  "trigram GIN, fastupdate off": { before: [gin(searchText, " with (fastupdate = off)")] },
  "trigram GIN, work_mem 64 MB": { before: [gin(searchText)], settings: "set local work_mem = '64MB'" },
  "trigram GIN, pending list merged by the vacuum": { before: [gin(searchText, " with (gin_pending_list_limit = 2097151)")] },
  "trigram GIN without lower()": { before: [gin(searchText.replace(/^lower/, ""))] },
  "four trigram GINs (one a field)": { before: ["display_name", "email", "user_principal_name", "employee_id"].map((f) => `create index users_search_${f} on users using gin (${f} gin_trgm_ops)`) },
};
const only = values.variants?.split("|");

const { store, dispose } = await openBenchStore(values.engine!, "search-writes");
const workspace = await resolveWorkspace(store.db, "default");
const tenant = new Tenant("00000000-0000-0000-0000-000000000001", "contoso.example", "Contoso");
generateUsers(tenant, USERS, 1);
await sql`create table search_bench_rows (user_principal_name text, email text, display_name text, given_name text, surname text, employee_id text, department text, job_title text)`.execute(store.db);
await store.copyRows(
  "search_bench_rows",
  ["user_principal_name", "email", "display_name", "given_name", "surname", "employee_id", "department", "job_title"],
  tenant.users.map(({ u }) => [u.userPrincipalName, u.mail, u.displayName, u.givenName, u.surname, u.employeeId, u.department, u.jobTitle]),
);
// Rollcall's embedded database does not load pg_trgm: there, the variants with a trigram index are left out.
const trigrams = await sql`create extension if not exists pg_trgm`.execute(store.db).then(() => true, () => false);
await sql`drop index if exists users_search_idx`.execute(store.db);

const results: Record<string, { insert: number[]; insertCpu: number[]; vacuum: number[]; vacuumCpu: number[] }> = {};
await store.db.connection().execute(async (db) => {
  const cpu = await connectionCpu(store, db);
  const names = Object.keys(variants).filter((name) => (!only || only.includes(name)) && (trigrams || !JSON.stringify(variants[name]).includes("gin_trgm_ops")));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
      await sql`drop index if exists users_search_idx, users_search_display_name, users_search_email, users_search_user_principal_name, users_search_employee_id`.execute(db);
      await sql`alter table users drop column if exists search_text`.execute(db);
      const variant = variants[name]!;
      for (const statement of variant.before ?? []) await sql.raw(statement).execute(db);
      const timed = async (statement: () => Promise<unknown>) => {
        const [wall, cpuStart] = [performance.now(), cpu()];
        await statement();
        return [(performance.now() - wall) / 1000, cpu() - cpuStart] as const;
      };
      const [insert, insertCpu] = await timed(() => db.transaction().execute(async (trx) => {
        if (variant.settings) await sql.raw(variant.settings).execute(trx);
        await sql`
        insert into users (workspace_id, user_principal_name, email, display_name, given_name, surname, employee_id, department, job_title, source_type, source_name, tags)
        select ${workspace.id}, user_principal_name, email, display_name, given_name, surname, employee_id, department, job_title, 'entra', 'bench', array['ID synced']
        from search_bench_rows order by lower(email)`.execute(trx);
        if (variant.after) await sql.raw(variant.after).execute(trx);
      }));
      const [vacuum, vacuumCpu] = await timed(() => sql`vacuum users`.execute(db));
      const entry = (results[name] ??= { insert: [], insertCpu: [], vacuum: [], vacuumCpu: [] });
      entry.insert.push(insert);
      entry.insertCpu.push(insertCpu);
      entry.vacuum.push(vacuum);
      entry.vacuumCpu.push(vacuumCpu);
      log(`round ${round + 1} ${name}: insert ${insert.toFixed(2)} s (CPU ${insertCpu.toFixed(2)}), vacuum ${vacuum.toFixed(2)} s (CPU ${vacuumCpu.toFixed(2)})`);
      await sql`delete from users`.execute(db);
      await sql`vacuum users`.execute(db);
    }
  }
});

const median = (xs: number[]) => +[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
const table = Object.entries(results).map(([variant, r]) => ({ variant, insertS: median(r.insert), insertCpuS: median(r.insertCpu), vacuumS: median(r.vacuum), vacuumCpuS: median(r.vacuumCpu) }));
console.table(table);
process.stdout.write(JSON.stringify({ engine: store.kind, users: USERS, rounds: Number(values.rounds), results: table }) + "\n");
await dispose();
