import { existsSync } from "node:fs";
import { join } from "node:path";
import pino, { type DestinationStream, type Logger } from "pino";
import type { Config } from "./config.ts";
import { openStore, storeTarget, type Store } from "./storage/database.ts";
import { assertWritableDataDir } from "./storage/data-dir.ts";
import { loadSecretKey, previousSecretKeys, secretBox, type SecretBox } from "./security/encryption.ts";
import type { ProcessMetrics } from "./metrics/process.ts";

/** Everything a command or the server needs, opened once from the validated config. */
export interface Runtime {
  config: Config;
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  /** `rollcall serve`'s own counters (requests, sync runs) when ROLLCALL_METRICS_TOKEN is set; other commands count nothing. */
  metrics?: ProcessMetrics | undefined;
  close(): Promise<void>;
}

/** Rollcall's JSON logger, credentials under well-known keys redacted. */
export function createLogger(level: string, destination: DestinationStream = pino.destination(2)): Logger {
  // Logs go to standard error so that `--json` output on standard output stays a clean document.
  return pino(
    {
      level,
      redact: { paths: ["*.clientSecret", "*.client_secret", "*.password", "*.pin", "*.token", "*.authorization", "req.headers.authorization", "req.headers.cookie", "req.headers[\"x-csrf-token\"]"], censor: "[redacted]" },
    },
    destination,
  );
}

/** `waitForDatabase`: wait ROLLCALL_DATABASE_WAIT_SECONDS for a PostgreSQL server not reachable yet (`rollcall serve`). */
export async function openRuntime(config: Config, options: { command: string; logger?: Logger; brief?: boolean; waitForDatabase?: boolean }): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config.logLevel);
  if (!config.databaseUrl) assertWritableDataDir(config.dataDir);
  const secrets = secretBox(loadSecretKey(config, !config.databaseUrl && existsSync(join(config.dataDir, "pgdata"))), previousSecretKeys(config));
  const waitForPostgres = options.waitForDatabase ? { ms: config.databaseWaitMs, log: logger } : undefined;
  const store = await openStore(storeTarget(config), { command: options.command, brief: options.brief, waitForPostgres });
  // An upgrade's migrations, not a new database's (which starts with the first).
  if (store.migrated?.length && !store.migrated[0]!.startsWith("001_")) logger.info({ migrations: store.migrated }, "database schema upgraded");
  return { config, store, secrets, logger, close: () => store.close() };
}
