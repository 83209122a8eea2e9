import { sql } from "kysely";
import { RollcallError } from "../errors.ts";
import type { Db, Store } from "./database.ts";

/**
 * Copies one Rollcall database into another, empty one of the same schema: the embedded database of a data folder
 * into a PostgreSQL server, when an installation outgrows it (`rollcall copy-database`). Every table of the schema,
 * parents before children (the foreign keys say which), in batches of rows carried as JSON, which each side reads
 * and writes in its own types; the tables that hold only a run's or an import's scratch rows are left behind.
 * The target's own row triggers stay off while it is filled: they would mark for sync, or count, rows the source
 * already holds as they were.
 */
const scratch = new Set(["sync_stage_users", "sync_stage_groups", "sync_stage_members", "sync_plan_users", "import_rows", "rate_limits", "rollcall_migrations", "rollcall_migrations_lock"]);
const batchRows = 2_000;

export interface CopiedTable {
  table: string;
  rows: number;
}

export async function copyDatabase(from: Store, to: Store, onTable: (copied: CopiedTable) => void = () => {}): Promise<CopiedTable[]> {
  const tables = await tablesInOrder(from.db);
  await assertEmpty(to.db, tables);
  const copied: CopiedTable[] = [];
  await to.db.transaction().execute(async (trx) => {
    for (const table of tables) {
      await sql`alter table ${sql.table(table)} disable trigger user`.execute(trx);
      const columns = sql.join((await writableColumns(trx, table)).map((column) => sql.ref(column)));
      let rows = 0;
      // Paged by physical position (a TID range scan): the source is not written meanwhile, and no table needs a key.
      for (let after = "(0,0)"; ; ) {
        const { rows: page } = await sql<{ at: string; row: unknown }>`select t.ctid::text as at, to_jsonb(t) as row from ${sql.table(table)} t
          where t.ctid > ${after}::tid order by t.ctid limit ${batchRows}`.execute(from.db);
        if (page.length === 0) break;
        const batch = JSON.stringify(page.map((p) => p.row));
        await sql`insert into ${sql.table(table)} (${columns}) select ${columns} from jsonb_populate_recordset(null::${sql.table(table)}, ${batch}::jsonb)`.execute(trx);
        rows += page.length;
        after = page.at(-1)!.at;
        if (page.length < batchRows) break;
      }
      await sql`alter table ${sql.table(table)} enable trigger user`.execute(trx);
      copied.push({ table, rows });
      onTable({ table, rows });
    }
    // Serial columns go on from the highest value copied, not from 1.
    const { rows: serials } = await sql<{ table_name: string; column_name: string; sequence: string }>`
      select c.table_name, c.column_name, pg_get_serial_sequence(c.table_name, c.column_name) as sequence
      from information_schema.columns c where c.table_schema = current_schema() and c.column_default like 'nextval(%'`.execute(trx);
    for (const s of serials.filter((s) => s.sequence && tables.includes(s.table_name))) {
      await sql`select setval(${s.sequence}, coalesce((select max(${sql.ref(s.column_name)}) from ${sql.table(s.table_name)}), 0) + 1, false)`.execute(trx);
    }
  });
  return copied;
}

/** The schema's tables, each after every table it references. */
async function tablesInOrder(db: Db): Promise<string[]> {
  const { rows: tables } = await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema() order by tablename`.execute(db);
  const { rows: references } = await sql<{ child: string; parent: string }>`
    select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent from pg_constraint c
    join pg_namespace n on n.oid = c.connamespace where c.contype = 'f' and n.nspname = current_schema()`.execute(db);
  const names = tables.map((t) => t.name).filter((name) => !scratch.has(name));
  const ordered: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (ordered.includes(name) || path.includes(name)) return;
    for (const r of references) if (r.child === name && r.parent !== name && names.includes(r.parent)) visit(r.parent, [...path, name]);
    ordered.push(name);
  };
  for (const name of names) visit(name, []);
  return ordered;
}

/** The table's columns but those PostgreSQL generates (users.search_text), which the target computes itself. */
async function writableColumns(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select attname as name from pg_attribute
    where attrelid = ${table}::regclass and attnum > 0 and not attisdropped and attgenerated = '' order by attnum`.execute(db);
  return rows.map((r) => r.name);
}

/** A target that holds anything but what a new database starts with (the default workspace) is refused. */
async function assertEmpty(db: Db, tables: string[]): Promise<void> {
  const held: string[] = [];
  for (const table of tables) {
    const { rows } = await sql<{ held: boolean }>`select exists (select 1 from ${sql.table(table)}) as held`.execute(db);
    if (rows[0]!.held) held.push(table);
  }
  const seeded = held.filter((t) => t !== "workspaces" && t !== "settings");
  const { rows } = await sql<{ n: string }>`select count(*) as n from workspaces where name <> 'default'`.execute(db);
  if (seeded.length || Number(rows[0]!.n) > 0) {
    throw new RollcallError("conflict", `The target database is not empty (it holds ${[...seeded, ...(Number(rows[0]!.n) ? ["workspaces"] : [])].join(", ")}): copy into a new, empty database, so that nothing in it is mixed with the copy`, { tables: seeded });
  }
  // A new database's own default workspace and settings give way to the copy's.
  await sql`delete from settings`.execute(db);
  await sql`delete from workspaces`.execute(db);
}
