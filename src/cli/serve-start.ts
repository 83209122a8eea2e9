import type { Config } from "../config.ts";
import { createLogger, openRuntime, type Runtime } from "../runtime.ts";
import { listenWhileWaiting, type WaitingListener } from "../api/waiting-listener.ts";

/**
 * `rollcall serve`'s runtime. While it may wait for its PostgreSQL server (ROLLCALL_DATABASE_WAIT_SECONDS), a stand-in
 * answers on its port (liveness 200, the rest 503), to be closed by the server proper as it listens there, and
 * SIGINT/SIGTERM end the process at once: nothing is open yet that a stop would need to close.
 */
export async function openServeRuntime(config: Config, listen: { host: string; port: number }): Promise<{ rt: Runtime; standIn?: WaitingListener }> {
  const logger = createLogger(config.logLevel);
  // Loaded only when configured: the CLI's other commands never load prom-client.
  const metrics = config.metricsToken ? (await import("../metrics/process.ts")).createProcessMetrics() : undefined;
  if (!config.databaseUrl || config.databaseWaitMs === 0) return { rt: { ...(await openRuntime(config, { command: "serve", logger })), metrics } };
  const standIn = await listenWhileWaiting(listen.host, listen.port);
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "stopped while waiting for PostgreSQL");
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    return { rt: { ...(await openRuntime(config, { command: "serve", logger, waitForDatabase: true })), metrics }, standIn };
  } catch (error) {
    await standIn.close();
    throw error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
