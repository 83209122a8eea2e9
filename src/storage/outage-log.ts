import type { Logger } from "pino";
import { toRollcallError } from "../errors.ts";

export interface OutageLog {
  /** A round failed: true when the database was unreachable (logged once per outage), false for any other error. */
  failed(error: unknown): boolean;
  /** A round reached the database: ends the outage, if there was one. */
  succeeded(): void;
}

/**
 * What a background loop (the scheduler, the notifier) logs while its database is unreachable: one error when the
 * outage begins and one line when the database answers again, rather than a stack trace every round.
 */
export function outageLog(logger: Pick<Logger, "error" | "info">, loop: string): OutageLog {
  let since: number | undefined;
  return {
    failed(error) {
      const failure = toRollcallError(error);
      if (failure.code !== "database_unreachable") return false;
      if (since === undefined) {
        since = Date.now();
        logger.error({ loop, reason: failure.details.reason }, `database unreachable: the ${loop} retries every round until it is back`);
      }
      return true;
    },
    succeeded() {
      if (since === undefined) return;
      logger.info({ loop, unreachableSeconds: Math.round((Date.now() - since) / 1000) }, `database reachable again: the ${loop} goes on`);
      since = undefined;
    },
  };
}
