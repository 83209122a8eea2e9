import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join, resolve } from "node:path";
import { RollcallError } from "../errors.ts";
import { encodeRows, recycleChunks, type CopyValue } from "./copy-format.ts";
import { PGliteDialect } from "./pglite-dialect.ts";
import { PGliteThread } from "./pglite-thread.ts";
import { acquireDataDirLock } from "./lock.ts";
import { isMigrated, migrator } from "./migrations/index.ts";
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
  close(): Promise<void>;
}

export type StoreTarget =
  | { kind: "pglite"; dataDir: string | null } // null = in memory (tests)
  | { kind: "postgres"; url: string };

export function storeTarget(config: { databaseUrl: string | undefined; dataDir: string }): StoreTarget {
  return config.databaseUrl ? { kind: "postgres", url: config.databaseUrl } : { kind: "pglite", dataDir: config.dataDir };
}

/**
 * Planner settings for every session. JIT compiling costs about a second per big statement (a sync's joins
 * over the mirror are estimated expensive enough to trigger it) and never pays back on sub-second queries.
 * Random reads cost about what sequential ones do on SSDs and in PGlite's memory; with the default (4) the
 * planner scans all users instead of probing the email index for a sync chunk's 2,000 keys.
 */
const sessionSettings = "SET jit = off; SET random_page_cost = 1.1";

export async function openStore(target: StoreTarget, options: { command?: string; migrate?: boolean } = {}): Promise<Store> {
  const store = target.kind === "postgres" ? await openPostgres(target.url) : await openPGlite(target.dataDir, options.command ?? "cli");
  if (options.migrate !== false) await migrateToLatest(store.db);
  return store;
}

/** A unique index refused a row (code 23505, on either engine: the PGlite thread keeps the error's fields). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "23505";
}

export async function migrateToLatest(db: Db): Promise<string[]> {
  if (await isMigrated(db as Kysely<unknown>)) return [];
  const { error, results } = await migrator(db as Kysely<unknown>).migrateToLatest();
  if (error) {
    throw new RollcallError("internal", `Database migration failed: ${(error as Error).message}`, { results }, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

async function openPGlite(dataDir: string | null, command: string): Promise<Store> {
  const lock = dataDir === null ? undefined : acquireDataDirLock(resolve(dataDir), command);
  let pglite: PGliteThread;
  try {
    pglite = await PGliteThread.open(dataDir === null ? null : join(resolve(dataDir), "pgdata"), sessionSettings);
  } catch (error) {
    lock?.release();
    throw new RollcallError("internal", `Could not open the embedded database in ${dataDir}: ${(error as Error).message}`, {}, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  const copyEncoded: Store["copyEncoded"] = async (table, columns, chunks, reader) => {
    const copy = () => pglite.copy(`COPY ${table} (${columns.join(", ")}) FROM '/dev/blob'`, chunks);
    // The reader's transaction holds the only connection; anyone else goes through Kysely's queue, so a
    // COPY never lands inside someone else's transaction.
    if (reader?.isTransaction) await copy();
    else await db.connection().execute(copy);
    recycleChunks(chunks);
  };
  return {
    db,
    kind: "pglite",
    async copyRows(table, columns, rows, reader) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of encodeRows(rows)) chunks.push(chunk);
      await copyEncoded(table, columns, chunks, reader);
    },
    copyEncoded,
    copyInto: (transaction, table, columns, chunks) => copyEncoded(table, columns, chunks, transaction),
    async reclaim(tables) {
      await sql`vacuum (skip_locked) ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
    },
    announce: (url) => lock?.update({ url }),
    async close() {
      await db.destroy();
      await pglite.close();
      lock?.release();
    },
  };
}

async function openPostgres(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled connection can be cut by the server (restart, DROP DATABASE … FORCE). pg drops that
  // client from the pool and reports the error here; without a listener it would crash the process.
  pool.on("error", () => {});
  // Each pooled client by its server process: copyInto finds the one a Kysely transaction holds (Kysely does
  // not expose it) by asking the transaction for its backend's pid.
  const clients = new Map<number, pg.PoolClient>();
  const processOf = (client: pg.PoolClient) => (client as unknown as { processID: number }).processID;
  pool.on("connect", (client) => {
    clients.set(processOf(client), client);
    client.query(sessionSettings).catch(() => undefined);
  });
  pool.on("remove", (client) => clients.delete(processOf(client)));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw new RollcallError("internal", `Could not connect to PostgreSQL at ${redact(url)}: ${(error as Error).message}`, {}, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const copyToPostgres = async (table: string, columns: string[], chunks: AsyncIterable<Uint8Array> | Uint8Array[], into?: pg.PoolClient) => {
    // Past Kysely's guard: a COPY sent after its transaction ended would commit on its own.
    if (into && into.getTransactionStatus() === "I") throw new Error(`COPY into ${table} after its transaction ended`);
    const client = into ?? (await pool.connect());
    const sent: Uint8Array[] = [];
    const sending = async function* () {
      for await (const chunk of chunks) {
        sent.push(chunk);
        yield chunk;
      }
    };
    try {
      await pipeline(Readable.from(sending()), client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`)));
      // The COPY has ended: the server has every byte, the socket holds none of them.
      recycleChunks(sent);
    } finally {
      if (!into) client.release();
    }
  };
  const transactionClients = new WeakMap<Db, pg.PoolClient>();
  const clientOf = async (transaction: Db): Promise<pg.PoolClient> => {
    if (!transaction.isTransaction) throw new Error("copyInto needs a transaction");
    let client = transactionClients.get(transaction);
    if (!client) {
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(transaction);
      client = clients.get(rows[0]!.pid);
      if (!client) throw new Error(`no pooled client for server process ${rows[0]!.pid}`);
      transactionClients.set(transaction, client);
    }
    return client;
  };
  return {
    db,
    kind: "postgres",
    copyRows: (table, columns, rows) => copyToPostgres(table, columns, encodeRows(rows)),
    copyEncoded: (table, columns, chunks) => copyToPostgres(table, columns, chunks),
    copyInto: async (transaction, table, columns, chunks) => copyToPostgres(table, columns, chunks, await clientOf(transaction)),
    reclaim: async () => {},
    announce: () => {},
    close: () => db.destroy(),
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

export { sql };
