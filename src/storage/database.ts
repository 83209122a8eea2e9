import { Kysely, sql } from "kysely";
import { resolve } from "node:path";
import { RollcallError } from "../errors.ts";
import type { CopyValue } from "./copy-format.ts";
import type { PostgresWait } from "./postgres-wait.ts";
import { isMigrated, migrator } from "./migrations/index.ts";
import { dataDirProblem } from "./data-dir.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;

/** The open database plus what plain Kysely cannot do the same way on both engines. */
export interface Store {
  db: Db;
  kind: "pglite" | "postgres";
  /**
   * Bulk load with COPY (text format). Rows are arrays of column values; null stays NULL. `reader`: a
   * transaction the caller holds open and reads the rows in. PGlite has one connection, so the rows go in
   * inside that transaction; PostgreSQL copies on a connection of its own and commits (the rows outlive a
   * rollback of the reader: stage only what is deleted afterwards anyway).
   */
  copyRows(table: string, columns: string[], rows: Iterable<CopyValue[]>, reader?: Db): Promise<void>;
  /** copyRows for rows already encoded (CopyEncoder), in chunks of whole lines; the chunks are recycled. */
  copyEncoded(table: string, columns: string[], chunks: Uint8Array[], reader?: Db): Promise<void>;
  /**
   * COPY of encoded rows inside `transaction` (which must be one), on both engines: they land or roll back
   * with it. Nothing else may run in the transaction meanwhile.
   */
  copyInto(transaction: Db, table: string, columns: string[], chunks: Uint8Array[]): Promise<void>;
  /**
   * Make the space of the tables' deleted and rewritten rows reusable. PostgreSQL's autovacuum does that by
   * itself; PGlite has none, so there it vacuums (skipping a table another statement holds).
   */
  reclaim(tables: string[]): Promise<void>;
  /** Tell the lock file how to reach this process (so a CLI started beside it can say so). */
  announce(url: string): void;
  /** The migrations opening the store applied (an upgrade's), in order; empty when the schema was up to date. */
  migrated?: string[];
  close(): Promise<void>;
  /**
   * Closes it after its start failed (its migrations): a new embedded database this start created is removed, so the
   * next start creates it afresh rather than meet a half-made one. An existing database is never touched.
   */
  abandon(): Promise<void>;
}

export type StoreTarget =
  | { kind: "pglite"; dataDir: string | null } // null = in memory (tests)
  /**
   * `setting`: where the URL came from, for the error when it cannot be reached (default DATABASE_URL).
   * `connectTimeoutMs`: how long a new connection may take (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS; default 5 s).
   */
  | { kind: "postgres"; url: string; setting?: string; connectTimeoutMs?: number };

export function storeTarget(config: { databaseUrl: string | undefined; dataDir: string; databaseConnectTimeoutMs?: number }): StoreTarget {
  return config.databaseUrl ? { kind: "postgres", url: config.databaseUrl, connectTimeoutMs: config.databaseConnectTimeoutMs } : { kind: "pglite", dataDir: config.dataDir };
}

/**
 * Planner settings for every session. JIT compiling costs about a second per big statement (a sync's joins
 * over the mirror are estimated expensive enough to trigger it) and never pays back on sub-second queries.
 * Random reads cost about what sequential ones do on SSDs and in PGlite's memory; with the default (4) the
 * planner scans all users instead of probing the email index for a sync chunk's 2,000 keys.
 */
export const sessionSettings = "SET jit = off; SET random_page_cost = 1.1";

export interface OpenOptions {
  /** Who holds an embedded database's lock (shown to a CLI started beside it). */
  command?: string;
  migrate?: boolean;
  /** The process reads or writes little (a CLI list or edit, not a sync, an import or a server). */
  brief?: boolean;
  /** Wait this long for a PostgreSQL server that cannot be reached yet (`rollcall serve`); other processes fail at once. */
  waitForPostgres?: PostgresWait;
}

export async function openStore(target: StoreTarget, options: OpenOptions = {}): Promise<Store> {
  // Each engine's driver is loaded only when it is used: a CLI command on one never pays for loading the other.
  const store =
    target.kind === "postgres"
      ? await (await import("./postgres-store.ts")).openPostgres(target.url, target.setting, target.connectTimeoutMs, options.waitForPostgres)
      : await (await import("./pglite-store.ts")).openPGlite(target.dataDir, options.command ?? "cli", options.brief);
  if (options.migrate !== false) {
    try {
      store.migrated = await migrateToLatest(store.db);
    } catch (error) {
      await store.abandon();
      // The embedded database's disk filled up (or turned read-only) while its tables were created.
      throw (target.kind === "pglite" && target.dataDir !== null && dataDirProblem(resolve(target.dataDir), (error as Error).cause, "file system")) || error;
    }
    if (store.kind === "pglite") await (await import("../sync/lease.ts")).failRunsOfEarlierProcesses(store.db);
  }
  return store;
}

/** A unique index refused a row (code 23505, on either engine: the PGlite thread keeps the error's fields). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "23505";
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  if (await isMigrated(db as Kysely<unknown>)) return [];
  const { error, results } = await migrator(db as Kysely<unknown>).migrateToLatest();
  const unknown = /previously executed migration (\S+) is missing/.exec(String((error as Error | undefined)?.message));
  if (unknown) {
    throw new RollcallError(
      "config_invalid",
      `The database was brought up to date by a newer version of Rollcall: it has migration ${unknown[1]}, which this version does not know. Run that version (or a later one), or restore the database from a backup taken before the upgrade.`,
      { migration: unknown[1] },
      { cause: error },
    );
  }
  if (error) {
    throw new RollcallError("internal", `Database migration failed: ${(error as Error).message}`, { results }, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

export { sql };
