import { setTimeout as sleep } from "node:timers/promises";
import { RollcallError } from "../errors.ts";

/**
 * How `rollcall serve` waits at start for a PostgreSQL server that cannot be reached yet (started beside it by
 * a container runtime or systemd): for up to `ms` (ROLLCALL_DATABASE_WAIT_SECONDS), logging when it begins waiting
 * and when it gets through.
 */
export interface PostgresWait {
  ms: number;
  log: { warn(details: object, message: string): void; info(details: object, message: string): void };
}

/** The pause before retry number `retry` (0 first): 1 s, doubling, at most 10 s. */
export function retryDelayMs(retry: number): number {
  return Math.min(1_000 * 2 ** retry, 10_000);
}

/**
 * `connect` tried again after each database_unreachable until it succeeds or `wait.ms` have passed; any other
 * error (a wrong password, a missing database) is thrown at once, as waiting cannot fix it.
 */
export async function connectWaiting(connect: () => Promise<void>, wait: PostgresWait, where: string): Promise<void> {
  const started = performance.now();
  for (let retry = 0; ; retry++) {
    try {
      await connect();
      if (retry > 0) wait.log.info({ waitedSeconds: secondsSince(started) }, `connected to PostgreSQL at ${where} after waiting ${secondsSince(started)} s`);
      return;
    } catch (error) {
      if (!(error instanceof RollcallError && error.code === "database_unreachable")) throw error;
      const left = started + wait.ms - performance.now();
      if (left <= 0) throw error;
      const reason = String(error.details.reason);
      if (retry === 0) wait.log.warn({ reason }, `waiting for PostgreSQL at ${where}: ${reason}; retrying for up to ${wait.ms / 1000} s (ROLLCALL_DATABASE_WAIT_SECONDS)`);
      await sleep(Math.min(retryDelayMs(retry), left));
    }
  }
}

function secondsSince(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}
