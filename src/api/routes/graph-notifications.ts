import { z } from "zod";
import { invalidInput } from "../../errors.ts";
import type { Runtime } from "../../runtime.ts";
import { entraFetch } from "../../sources/entra/custom-urls.ts";
import {
  authenticNotifications, markRemoved, reconcileSubscriptions, subscribingSource, subscriptionIdsOf, type AuthenticNotification, type DropReason, type SubscriptionDeps,
} from "../../core/change-subscriptions.ts";
import { droppedNotificationsLog, type DroppedNotificationsLog } from "../dropped-notifications-log.ts";
import { changeSyncTiming, requestChangeSync, wakeAt } from "../../sync/change-sync.ts";
import { route, type RouteModule } from "../route.ts";

/**
 * Microsoft Graph's webhook for sync on change (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the validation handshake when a subscription is made, then change and lifecycle notifications. Public, as Graph
 * calls it without credentials: a notification counts only when its subscription is one Rollcall holds and its
 * clientState that subscription's secret; the others are dropped, yet answered 202 like the rest, since Graph retries a
 * notification answered otherwise for 4 hours (a subscription Rollcall could not delete at Graph would be redelivered
 * on every change), and a forger learns nothing. The answer comes at once (Graph wants one within 3 seconds); the run, and a
 * reauthorization a lifecycle event asks for, happen after it. Dropped notifications are logged with the reason, at most
 * once a minute per reason (dropped-notifications-log.ts): a flood of forgeries does not fill the log.
 */
const notification = z
  .looseObject({
    subscriptionId: z.string().min(1).max(200),
    clientState: z.string().max(1024).nullable().optional(),
    changeType: z.string().max(100).optional().describe("Graph's (created, updated, deleted, comma-separated): any is a reason to sync, so it is left open"),
    resource: z.string().max(2000).optional(),
    tenantId: z.string().max(200).optional(),
    lifecycleEvent: z.string().max(100).optional().describe("reauthorizationRequired, subscriptionRemoved or missed: a lifecycle notification; open, as Graph may add events (another is acknowledged and ignored)"),
  })
  .describe("a change notification (changeType, resource, resourceData) or a lifecycle one (lifecycleEvent), as Microsoft Graph sends it");

const notifications = z.object({ value: z.array(notification).min(1).max(1000) }).describe("Microsoft Graph's changeNotificationCollection");

export const graphNotificationRoutes: RouteModule = {
  tag: "Microsoft Graph notifications",
  description: "Called by Microsoft Graph for sources with sync on change; not for people or scripts.",
  routes: [
    route({
      method: "POST",
      url: "/graph/notifications",
      summary: "Receive Microsoft Graph change and lifecycle notifications (sync on change)",
      description:
        "With `validationToken` (Graph validating the URL of a new subscription): answers 200 with the token as text/plain. Otherwise a changeNotificationCollection: " +
        "202 for any well-formed collection: only the notifications of a subscription Rollcall holds, with its clientState, are acted on; the others are dropped " +
        "unsaid (Graph retries any other answer for 4 hours: a subscription left at Graph, or a forgery, would be delivered again and again). " +
        "A change starts a delta run of its source ROLLCALL_CHANGE_SYNC_DELAY_SECONDS later (a burst is one run; trigger `notification`); a lifecycle event reauthorizes the subscription " +
        "(reauthorizationRequired: POST /subscriptions/{id}/reauthorize, else renewed, else made again), makes it again (subscriptionRemoved) or starts a delta run (missed); " +
        "a subscription made again starts a delta run too, for the changes it may have missed.",
      access: "public",
      query: z.object({ validationToken: z.string().min(1).max(4096).optional().describe("Graph's validation request: echoed back") }),
      body: notifications.optional(),
      status: 202,
      answers: {
        "200": { description: "the validationToken, echoed (Graph's validation handshake)", content: ["text/plain"] },
        "202": { description: "accepted: the notifications of subscriptions Rollcall holds are acted on after this answer, the others dropped" },
      },
      config: { rateLimit: { max: 3000, timeWindow: "1 minute" } },
      async handler({ query, body, rt, reply }) {
        if (query.validationToken !== undefined) {
          await reply.code(200).type("text/plain; charset=utf-8").send(query.validationToken);
          return;
        }
        if (!body) throw invalidInput([{ field: "(body)", message: "is missing: Microsoft Graph sends a JSON changeNotificationCollection" }]);
        const { authentic, dropped } = await authenticNotifications(rt.store.db, rt.secrets, body.value);
        for (const [reason, count] of Object.entries(dropped) as Array<[DropReason, number]>) if (count) droppedLogOf(rt).dropped(reason, count);
        await scheduleRuns(rt, authentic);
        void lifecycle(rt, authentic).catch((error: unknown) => rt.logger.error({ err: error }, "could not handle a Graph lifecycle notification"));
      },
    }),
  ],
};

/** The warnings of dropped notifications, at most one a minute per reason and logger (a flood would fill the log). */
const droppedLogs = new WeakMap<Runtime["logger"], DroppedNotificationsLog>();
function droppedLogOf(rt: Runtime): DroppedNotificationsLog {
  const log = droppedLogs.get(rt.logger) ?? droppedNotificationsLog(rt.logger);
  droppedLogs.set(rt.logger, log);
  return log;
}

/** Changes, and missed notifications, make their sources' delta runs due; this process wakes to run them. */
async function scheduleRuns(rt: Runtime, authentic: AuthenticNotification[]): Promise<void> {
  const sources = new Set(authentic.filter((n) => n.lifecycleEvent === undefined || n.lifecycleEvent === "missed").map((n) => n.sourceId));
  for (const sourceId of sources) wakeAt(rt, await requestChangeSync(rt.store.db, sourceId, changeSyncTiming(rt.config)));
}

/**
 * reauthorizationRequired: reauthorized (or renewed, or made again: change-subscriptions.ts); subscriptionRemoved: made
 * again. A subscription made again may have missed changes meanwhile: a delta run fetches them, as Microsoft advises.
 */
async function lifecycle(rt: Runtime, authentic: AuthenticNotification[]): Promise<void> {
  const deps: SubscriptionDeps = { db: rt.store.db, secrets: rt.secrets, fetch: entraFetch(rt.config), publicUrl: rt.config.publicUrl };
  for (const n of authentic) {
    if (n.lifecycleEvent !== "reauthorizationRequired" && n.lifecycleEvent !== "subscriptionRemoved") continue;
    rt.logger.info({ sourceId: n.sourceId, resource: n.resource, event: n.lifecycleEvent }, "Graph lifecycle notification");
    const source = await subscribingSource(rt.store.db, rt.secrets, n.sourceId);
    if (!source) continue;
    const before = await subscriptionIdsOf(rt.store.db, n.sourceId);
    if (n.lifecycleEvent === "subscriptionRemoved") {
      await markRemoved(rt.store.db, n.sourceId, n.resource);
      await reconcileSubscriptions(deps, source, { retryFailed: true });
    } else {
      await reconcileSubscriptions(deps, source, { reauthorize: [n.resource] });
    }
    const madeAgain = (await subscriptionIdsOf(rt.store.db, n.sourceId)).some((id) => !before.includes(id));
    if (madeAgain) wakeAt(rt, await requestChangeSync(rt.store.db, n.sourceId, changeSyncTiming(rt.config)));
  }
}
