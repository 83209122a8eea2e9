import { Kysely, sql } from "kysely";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { RollcallError } from "../errors.ts";
import { encodeRows, recycleChunks } from "./copy-format.ts";
import { PGliteDialect } from "./pglite-dialect.ts";
import { PGliteThread } from "./pglite-thread.ts";
import { acquireDataDirLock } from "./lock.ts";
import { dataDirProblem } from "./data-dir.ts";
import { takeWarmPGlite } from "./pglite-head-start.ts";
import { sessionSettings, type Db, type Store } from "./database.ts";
import type { Database } from "./schema.ts";

/** The embedded database (PGlite in a thread of its own) in `dataDir`, or in memory when null. */
export async function openPGlite(dataDir: string | null, command: string, brief = false): Promise<Store> {
  const lock = dataDir === null ? undefined : await acquireDataDirLock(resolve(dataDir), command, lockLost(resolve(dataDir)));
  const pgdata = dataDir === null ? null : join(resolve(dataDir), "pgdata");
  // Looked at under the lock: a folder another process is creating is not ours to remove.
  const creating = pgdata !== null && !existsSync(pgdata);
  // A database this start began to create and could not finish (a disk that filled up) would not open next time.
  const removeIfCreated = () => {
    if (creating) rmSync(pgdata, { recursive: true, force: true });
  };
  let pglite: PGliteThread;
  try {
    pglite = await PGliteThread.open(pgdata, sessionSettings, brief, takeWarmPGlite());
  } catch (error) {
    removeIfCreated();
    await lock?.release();
    // A disk that filled up, or was made read-only, since the start-up check (or while PGlite created the database).
    throw (dataDir !== null && dataDirProblem(resolve(dataDir), error, "file system")) || new RollcallError("internal", `Could not open the embedded database in ${dataDir}: ${(error as Error).message}`, {}, { cause: error });
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
      await lock?.release();
    },
    async abandon() {
      await db.destroy();
      await pglite.kill();
      removeIfCreated();
      await lock?.release();
    },
  };
}

/**
 * This process stopped touching the folder's lock long enough for another to take it (a frozen or suspended process):
 * both now write the same files. Going on would lose data, so the process stops.
 */
function lockLost(dataDir: string) {
  return (error: Error) => {
    // A folder removed altogether has nothing left to protect (and every write to it fails on its own).
    if (!existsSync(dataDir)) return;
    process.stderr.write(`Stopping: the lock of the embedded database in ${dataDir} was lost (${error.message}); another process may have opened it.\n`);
    process.exit(1);
  };
}
