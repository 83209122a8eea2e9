import { randomUUID } from "node:crypto";
import { RollcallError, toRollcallError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { httpFetch, publicHttpFetch, type HttpFetch } from "../net/http.ts";
import { scanNotifications } from "../core/notification-scan.ts";
import { notATarget } from "../core/notification-settings.ts";
import { claimDeliveries, deliveryTarget, markDelivered, markFailed, type ClaimedDelivery } from "../core/notification-deliveries.ts";
import { pruneExpired } from "../core/housekeeping.ts";
import { outageLog } from "../storage/outage-log.ts";
import { renderEmail, sendEmail } from "./email.ts";
import { postWebhook } from "./webhook.ts";

/**
 * The notifier every `rollcall serve` process runs: every ROLLCALL_NOTIFY_INTERVAL_SECONDS it raises what
 * needs raising and sends what is due. Several processes sharing one database cooperate through the
 * database alone (unique notifications, claimed deliveries); nothing is coordinated in memory.
 */
export interface Notifier {
  /** One scan and one round of deliveries now (the CLI's `notifications check`, tests). */
  tick(): Promise<{ raised: number; sent: number; failed: number }>;
  /** Rounds every ROLLCALL_NOTIFY_INTERVAL_SECONDS from now on, the first at once. */
  start(): void;
  stop(): Promise<void>;
}

export function createNotifier(rt: Pick<Runtime, "config" | "store" | "secrets" | "logger">, options: { fetch?: HttpFetch } = {}): Notifier {
  const worker = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const fetch = options.fetch ?? (rt.config.webhookPrivateNetwork ? httpFetch : publicHttpFetch);
  const db = rt.store.db;

  async function deliver(d: ClaimedDelivery): Promise<void> {
    const target = await deliveryTarget(db, rt.secrets, d);
    if (!target) throw undeliverable(notATarget[d.channel], d.channel);
    if (d.channel === "email") {
      // Retrying would not configure one: given up at once, and the delivery log says what to set.
      if (!rt.config.smtpUrl) throw undeliverable("not sent: no SMTP server is configured (set ROLLCALL_SMTP_URL)", d.channel);
      const mail = renderEmail(d.notification, d.workspace, rt.config.publicUrl);
      await sendEmail({ smtpUrl: rt.config.smtpUrl, from: rt.config.smtpFrom, to: d.target, deliveryId: d.id, ...mail });
    } else {
      await postWebhook(fetch, { url: d.target, secret: target.secret!, deliveryId: d.id, event: `notification.${d.notification.kind}`, payload: { type: `notification.${d.notification.kind}`, deliveryId: d.id, workspace: d.workspace, notification: d.notification } });
    }
  }

  async function tick(): Promise<{ raised: number; sent: number; failed: number }> {
    const { raised } = await scanNotifications(db);
    let sent = 0;
    let failed = 0;
    const batchSize = 20;
    for (;;) {
      const batch = await claimDeliveries(db, worker, batchSize);
      // Side by side: a receiver that never answers holds its own deliveries for the timeout, not every workspace's,
      // and the batch ends well within its claim.
      await Promise.all(batch.map(async (d) => {
        try {
          await deliver(d);
          await markDelivered(db, worker, d.id);
          sent++;
        } catch (error) {
          failed++;
          // The senders raise delivery_failed saying why and what to check; anything else is unexpected, and says so.
          const failure = toRollcallError(error);
          const outcome = await markFailed(db, worker, d, failure.message, { baseMs: rt.config.notifyRetryMs, maxAttempts: failure.details.retry === false ? 0 : rt.config.notifyMaxAttempts });
          rt.logger.warn({ delivery: d.id, channel: d.channel, attempt: d.attempts, outcome, code: failure.code, error: failure.message }, "notification delivery failed");
        }
      }));
      // A short batch means nothing else was due; a retry scheduled just now waits for a later round.
      if (batch.length < batchSize) break;
    }
    if (raised.length || sent || failed) rt.logger.info({ raised: raised.length, sent, failed }, "notifications");
    return { raised: raised.length, sent, failed };
  }

  // The same loop clears out what expired, hourly (core/housekeeping.ts).
  let prunedAt = 0;
  const prune = async () => {
    if (Date.now() - prunedAt < pruneEveryMs) return;
    prunedAt = Date.now();
    const pruned = await pruneExpired(rt.store, { historyDays: rt.config.historyDays });
    if (Object.values(pruned).some((n) => n > 0)) rt.logger.info({ pruned }, "expired rows deleted");
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const outage = outageLog(rt.logger, "notifier");
  const loop = () => {
    if (stopped) return;
    running = tick()
      .then(() => outage.succeeded(), (error: unknown) => outage.failed(error) || rt.logger.error({ err: error }, "notifier round failed"))
      .then(() => prune())
      .catch((error: unknown) => outage.failed(error) || rt.logger.error({ err: error }, "housekeeping failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, rt.config.notifyIntervalMs).unref();
      });
  };
  return {
    tick,
    start: loop,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

const pruneEveryMs = 3_600_000;

/** Starts the periodic notifier (first round at once). */
export function startNotifier(rt: Pick<Runtime, "config" | "store" | "secrets" | "logger">): Notifier {
  const notifier = createNotifier(rt);
  notifier.start();
  return notifier;
}

/** A delivery no retry would send: given up at once. */
function undeliverable(message: string, channel: string): RollcallError {
  return new RollcallError("delivery_failed", message, { channel, retry: false });
}
