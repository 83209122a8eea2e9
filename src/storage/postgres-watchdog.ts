import pg from "pg";
import { connectionLossReason } from "../errors.ts";

/** A pooled connection as the watchdog sees it. */
export interface WatchedConnection {
  /** Since when its oldest unanswered statement has waited (ms, performance.now()), or undefined when none waits. */
  waitingSince(): number | undefined;
  /** Ends the connection at once: its statements fail with database_unreachable for `reason`. */
  cut(reason: string): void;
}

/**
 * Cuts the connections of a PostgreSQL server that stopped answering without closing them (a frozen server, a
 * network cut that resets nothing): their statements would otherwise wait on TCP for many minutes. TCP keepalive
 * cannot tell, since a frozen server's kernel still acknowledges, and a time limit on statements would cut a big
 * sync's set-based SQL or a COPY. So a statement unanswered for `afterMs` has the watchdog ask the server for
 * `select 1` on a fresh connection: answered within `afterMs`, the statement is just long and goes on (asked again
 * every `afterMs`); not answered, every connection waiting that long is cut. A request thus fails within about twice
 * `afterMs` (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS), and the pool connects again once the server answers.
 */
export function watchConnections(connections: () => Iterable<WatchedConnection>, answers: () => Promise<boolean>, afterMs: number): { stop(): void } {
  let probing = false;
  let answeredAt = Number.NEGATIVE_INFINITY;
  const stalled = (now: number) => [...connections()].filter((connection) => now - (connection.waitingSince() ?? now) >= afterMs);
  const check = async () => {
    const now = performance.now();
    if (probing || now - answeredAt < afterMs || stalled(now).length === 0) return;
    probing = true;
    try {
      if (await answers()) answeredAt = performance.now();
      else for (const connection of stalled(performance.now())) connection.cut(`no answer within ${afterMs / 1000} s (ROLLCALL_DATABASE_CONNECT_TIMEOUT_SECONDS): the server stopped answering`);
    } finally {
      probing = false;
    }
  };
  const timer = setInterval(() => void check(), Math.min(1_000, afterMs));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Whether the server at `url` answers `select 1` on a new connection within `ms`. An error from the server (too many
 * connections, a password refused) is an answer too; only silence, a refused connection or a reset is not.
 */
export async function serverAnswers(url: string, ms: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: ms });
  client.on("error", () => {});
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const asked = client
    .connect()
    .then(() => client.query("select 1"))
    .then(
      () => true,
      (error: unknown) => connectionLossReason(error, { socket: true }) === undefined,
    );
  const answered = await Promise.race([asked, late]);
  clearTimeout(timer);
  if (answered) void client.end().catch(() => undefined);
  else destroySocket(client);
  return answered;
}

/** Closes a pg client's socket without the goodbye `end()` would wait for: an unanswering server never sends it. */
export function destroySocket(client: pg.Client | pg.PoolClient): void {
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}
