import v8 from "node:v8";
import pino, { type Logger } from "pino";
import type { Config } from "./config.ts";
import { openStore, storeTarget, type Store } from "./storage/database.ts";
import { loadSecretKey, secretBox, type SecretBox } from "./security/encryption.ts";

/** Everything a command or the server needs, opened once from the validated config. */
export interface Runtime {
  config: Config;
  store: Store;
  secrets: SecretBox;
  logger: Logger;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, options: { command: string; logger?: Logger }): Promise<Runtime> {
  // Logs go to standard error so that `--json` output on standard output stays a clean document.
  const logger =
    options.logger ??
    pino(
      {
        level: config.logLevel,
        redact: { paths: ["*.clientSecret", "*.client_secret", "*.password", "*.pin", "*.token", "*.authorization", "req.headers.authorization", "req.headers.cookie"], censor: "[redacted]" },
      },
      pino.destination(2),
    );
  const store = await openStore(storeTarget(config), { command: options.command });
  const secrets = secretBox(loadSecretKey(config));
  return { config, store, secrets, logger, close: () => store.close() };
}

/**
 * Rollcall's garbage is mostly large strings (Graph pages, COPY text, query results), which V8 puts straight
 * into the old generation, so only a full collection frees them. By default V8 lets the old generation grow
 * to up to four times its live size before collecting it: in a 100,000-user sync that was about 190 MB of heap
 * for 50 MB live. Growing by 25% at most keeps it under 80 MB, for the same sync time (BENCHMARKS.md).
 * V8 reads this flag at every collection, so setting it when the process starts is enough.
 */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString("--heap-growing-percent=25");
}
