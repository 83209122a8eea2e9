import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { Readable, Writable, finished } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RollcallError, connectionLossReason, databaseUnreachable } from "../errors.ts";
import { encodeRows, recycleChunks } from "./copy-format.ts";
import { connectWaiting, type PostgresWait } from "./postgres-wait.ts";
import { destroySocket, serverAnswers, watchConnections, type WatchedConnection } from "./postgres-watchdog.ts";
import { sessionSettings, type Db, type Store } from "./database.ts";
import type { Database } from "./schema.ts";

/** ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS's default. */
export const defaultConnectTimeoutMs = 5_000;

/**
 * A PostgreSQL server through a pool of up to 10 connections. While the server is unreachable (restarting, failing
 * over, cut off) every query fails within `connectTimeoutMs` with database_unreachable; the pool connects again for
 * each one, so everything works again once it is back. With `wait`, a server that cannot be reached yet is waited for
 * (`rollcall serve` started beside it); without, opening fails at once. A server that stops answering without closing
 * its connections has them cut by a watchdog (postgres-watchdog.ts), so those queries fail too rather than hang.
 */
export async function openPostgres(url: string, setting = "DATABASE_URL", connectTimeoutMs = defaultConnectTimeoutMs, wait?: PostgresWait): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 10, Client: connectionClass(connectTimeoutMs) });
  // An idle pooled connection can be cut by the server (restart, DROP DATABASE … FORCE). pg drops that
  // client from the pool and reports the error here; without a listener it would crash the process.
  pool.on("error", () => {});
  // Each pooled client by its server process: copyInto finds the one a Kysely transaction holds (Kysely does
  // not expose it) by asking the transaction for its backend's pid.
  const clients = new Map<number, pg.PoolClient>();
  const processOf = (client: pg.PoolClient) => (client as unknown as { processID: number }).processID;
  pool.on("connect", (client) => {
    // A connection cut while checked out and between queries (a transaction awaiting Graph) is reported as an 'error'
    // event, which would crash the process unheard: its next query fails instead (database_unreachable), and
    // releasing it drops it from the pool.
    client.on("error", () => {});
    clients.set(processOf(client), client);
    client.query(sessionSettings).catch(() => undefined);
  });
  pool.on("remove", (client) => clients.delete(processOf(client)));
  const connectOnce = async () => (await pool.connect()).release();
  try {
    await (wait?.ms ? connectWaiting(connectOnce, wait, `${redact(url)} (${setting})`) : connectOnce());
  } catch (error) {
    await pool.end();
    if (error instanceof RollcallError && error.code === "database_unreachable") {
      const reason = String(error.details.reason);
      const waited = wait?.ms ? ` (retried for ${wait.ms / 1000} s: ROLLCALL_DATABASE_WAIT_SECONDS)` : "";
      throw new RollcallError("database_unreachable", `Database unreachable: could not connect to PostgreSQL at ${redact(url)} (${setting}): ${reason}${waited}. Check that the server is running and reachable from here.`, { reason }, { cause: error });
    }
    const message = (error as Error).message;
    // 3D000 invalid_catalog_name: the server is there, the database is not (Rollcall creates tables, not databases).
    const create = (error as { code?: string }).code === "3D000" ? ": create it first (createdb NAME, or CREATE DATABASE NAME in psql); Rollcall creates its tables in it" : "";
    throw new RollcallError("internal", `Could not connect to PostgreSQL at ${redact(url)} (${setting}): ${message}${create}`, {}, { cause: error });
  }
  const watchdog = watchConnections(() => clients.values() as Iterable<pg.PoolClient & WatchedConnection>, () => serverAnswers(url, connectTimeoutMs), connectTimeoutMs);
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
    } catch (error) {
      const cut = (client as pg.PoolClient & Partial<TimedConnection>).cutReason;
      throw cut ? databaseUnreachable(cut, error) : error;
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
  const close = async () => {
    watchdog.stop();
    await db.destroy();
  };
  return {
    db,
    kind: "postgres",
    copyRows: (table, columns, rows) => copyToPostgres(table, columns, encodeRows(rows)),
    copyEncoded: (table, columns, chunks) => copyToPostgres(table, columns, chunks),
    copyInto: async (transaction, table, columns, chunks) => copyToPostgres(table, columns, chunks, await clientOf(transaction)),
    reclaim: async () => {},
    announce: () => {},
    close,
    abandon: close,
  };
}

type Connection = { connect(callback?: (error?: Error) => void): Promise<void> | void; query(...args: unknown[]): unknown };

/** What the watchdog reads and does on a pooled connection (TimedConnection). */
interface TimedConnection extends WatchedConnection {
  /** Why the watchdog cut this connection, if it did. */
  cutReason: string | undefined;
}

/**
 * pg's client, with a time limit on connecting only (the pool's own would also fail a request waiting for a busy
 * pool's free connection), and the errors of a server that cannot be reached or cut the connection translated into
 * database_unreachable: socket errors here surely come from the database. It keeps how long its statements have
 * waited for an answer, for the watchdog.
 */
function connectionClass(connectTimeoutMs: number): typeof pg.Client {
  const unreachable = (error: unknown, reason = connectionLossReason(error, { socket: true })) => (reason ? databaseUnreachable(reason, error) : error);
  const Base = pg.Client as unknown as new (config: pg.ClientConfig) => Connection;
  class TimedPgConnection extends Base implements TimedConnection {
    cutReason: string | undefined;
    #unanswered = 0;
    #lastAnswerAt = 0;

    constructor(config: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectTimeoutMs });
    }

    override connect(callback?: (error?: Error) => void): Promise<void> | void {
      const started = performance.now();
      // pg says "timeout expired" or only "Connection terminated" when the time is up. Its timer can fire a little
      // before connectTimeoutMs by the clock here (a busy event loop's cached time), hence the slack.
      const timedOut = (error: unknown) => (error as Error | undefined)?.message === "timeout expired" || performance.now() - started >= connectTimeoutMs * 0.9;
      const translate = (error: unknown) => unreachable(error, timedOut(error) ? `no answer within ${connectTimeoutMs / 1000} s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS)` : undefined);
      if (!callback) return (super.connect() as Promise<void>).catch((error: unknown) => Promise.reject(translate(error)));
      return super.connect((error) => callback(error && (translate(error) as Error)));
    }

    override query(...args: unknown[]): unknown {
      if (this.#unanswered++ === 0) this.#lastAnswerAt = performance.now();
      const answered = () => {
        this.#unanswered--;
        this.#lastAnswerAt = performance.now();
      };
      let result: unknown;
      try {
        result = super.query(...args);
      } catch (error) {
        answered();
        throw error;
      }
      // A promise for a statement's rows; a COPY stream reports its error its own way (copyToPostgres translates it).
      if (result instanceof Promise) return result.then((rows: unknown) => (answered(), rows), (error: unknown) => (answered(), Promise.reject(unreachable(error, this.cutReason))));
      if (result instanceof Writable || result instanceof Readable) finished(result, answered);
      else answered(); // a callback query (none of Rollcall's): not watched
      return result;
    }

    waitingSince(): number | undefined {
      return this.#unanswered > 0 ? this.#lastAnswerAt : undefined;
    }

    cut(reason: string): void {
      this.cutReason = reason;
      destroySocket(this as unknown as pg.Client);
    }
  }
  return TimedPgConnection as unknown as typeof pg.Client;
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
