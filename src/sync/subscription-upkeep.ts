import type { Config } from "../config.ts";
import { outageLog } from "../storage/outage-log.ts";
import { lookAfterSubscriptions, type ChangeSyncDeps } from "./change-sync.ts";

export interface SubscriptionUpkeep {
  /** One pass now (the loop's, or a test's); resolves when it is done. */
  pass(options?: { retryFailed?: boolean; verify?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sync on change's Graph subscriptions, looked after on a loop of their own rather than in the scheduler's tick: making
 * one waits for Graph's validation request to reach this server (Graph gives it 10 seconds), renewing one for Graph's
 * answer, and neither should hold up a scheduled run. The first pass, at start-up (`rollcall serve` listening), also
 * makes the failed ones again and checks the active ones still deliver to ROLLCALL_PUBLIC_URL; then one pass every
 * `everyMs` after the previous one ends (never two at once here). Each subscription is claimed by one process (its row),
 * so processes sharing a database ask Graph once.
 */
export function startSubscriptionUpkeep(rt: ChangeSyncDeps & { config: Partial<Pick<Config, "publicUrl">> }, options: { everyMs: number }): SubscriptionUpkeep {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const outage = outageLog(rt.logger, "subscription upkeep");

  const pass = (passOptions: { retryFailed?: boolean; verify?: boolean } = {}): Promise<void> => {
    const next = current.then(() => lookAfterSubscriptions(rt, passOptions));
    current = next.catch(() => undefined);
    return next;
  };

  const loop = (passOptions: { retryFailed?: boolean; verify?: boolean }) => {
    void pass(passOptions)
      .then(
        () => outage.succeeded(),
        (error: unknown) => outage.failed(error) || rt.logger.warn({ err: error }, "could not look after the Graph subscriptions"),
      )
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(() => loop({}), options.everyMs);
        timer.unref();
      });
  };
  loop({ retryFailed: true, verify: true });

  return {
    pass,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
