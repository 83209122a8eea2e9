import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RollcallError } from "../errors.ts";
import { encodeRows, recycleChunks } from "./copy-format.ts";
import { sessionSettings, type Db, type Store } from "./database.ts";
import type { Database } from "./schema.ts";

/** A PostgreSQL server through a pool of up to 10 connections. */
export async function openPostgres(url: string, setting = "DATABASE_URL"): Promise<Store> {
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
    const message = (error as Error).message;
    // 3D000 invalid_catalog_name: the server is there, the database is not (Rollcall creates tables, not databases).
    const create = (error as { code?: string }).code === "3D000" ? ": create it first (createdb NAME, or CREATE DATABASE NAME in psql); Rollcall creates its tables in it" : "";
    throw new RollcallError("internal", `Could not connect to PostgreSQL at ${redact(url)} (${setting}): ${message}${create}`, {}, { cause: error });
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
