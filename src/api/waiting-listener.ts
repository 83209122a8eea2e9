import { createServer } from "node:http";
import { RollcallError, listenProblem } from "../errors.ts";
import { version } from "../version.ts";

export interface WaitingListener {
  /** The port it listens on (the one a port 0 picked): the server proper listens there after it. */
  port: number;
  close(): Promise<void>;
}

const notYet = new RollcallError(
  "database_unreachable",
  "Database unreachable: Rollcall is starting and has not reached its PostgreSQL server yet (it waits for up to ROLLCALL_DATABASE_WAIT_SECONDS); try again in a few seconds.",
  { reason: "not reached yet" },
);

/**
 * Stands in for the server on its port while `rollcall serve` waits at start for its PostgreSQL server: liveness
 * (`/api/v1/health/live`) answers 200, so an orchestrator's probe does not kill a process that is only waiting,
 * and everything else 503 database_unreachable (readiness says not ready). The server proper replaces it.
 */
export async function listenWhileWaiting(host: string, port: number): Promise<WaitingListener> {
  const server = createServer((request, response) => {
    const live = request.method === "GET" && request.url?.split("?")[0] === "/api/v1/health/live";
    response.writeHead(live ? 200 : 503, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    response.end(JSON.stringify(live ? { status: "ok", version } : { error: notYet }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(listenProblem(error, { host, port, setting: "ROLLCALL_PORT" })));
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a prober's kept-alive connection would hold the port's handover
      }),
  };
}
