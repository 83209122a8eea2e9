import type { Logger } from "pino";
import type { DropReason } from "../core/change-subscriptions.ts";

const messages: Record<DropReason, string> = {
  unknown_subscription: "dropped Graph notifications naming a subscription this installation does not hold (one left at Graph, or forged)",
  wrong_client_state: "dropped Graph notifications without their subscription's clientState (forged, or the subscription's secret was sealed under another ROLLCALL_SECRET_KEY)",
};

export interface DroppedNotificationsLog {
  /** One delivery (a POST from Graph, or from someone else) that had `notifications` dropped for `reason`. */
  dropped(reason: DropReason, notifications: number): void;
}

/**
 * A warning per kind of dropped delivery, at most once per `windowMs` (a minute): a flood of forged deliveries would
 * otherwise fill the log. The first at once; then, at the end of each window in which more came, one line with how many
 * came since the previous line. A window in which none came ends quietly, and the next one is logged at once again.
 */
export function droppedNotificationsLog(logger: Pick<Logger, "warn">, options: { windowMs: number } = { windowMs: 60_000 }): DroppedNotificationsLog {
  const windows = new Map<DropReason, { deliveries: number; notifications: number }>();

  const openWindow = (reason: DropReason) => {
    windows.set(reason, { deliveries: 0, notifications: 0 });
    const timer = setTimeout(() => {
      const since = windows.get(reason)!;
      windows.delete(reason);
      if (since.deliveries === 0) return;
      logger.warn({ reason, deliveries: since.deliveries, notifications: since.notifications, sinceSeconds: Math.round(options.windowMs / 1000) }, messages[reason]);
      openWindow(reason);
    }, options.windowMs);
    timer.unref();
  };

  return {
    dropped(reason, notifications) {
      const since = windows.get(reason);
      if (since) {
        since.deliveries++;
        since.notifications += notifications;
        return;
      }
      logger.warn({ reason, deliveries: 1, notifications }, messages[reason]);
      openWindow(reason);
    },
  };
}
