import { z } from "zod";
import { invalidInput, RollcallError } from "../../errors.ts";
import { acceptNotifications } from "../notification-inbox.ts";
import { route, type RouteModule } from "../route.ts";

/**
 * Microsoft Graph's webhook for sync on change (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks):
 * the validation handshake when a subscription is made, then change and lifecycle notifications. Public, as Graph
 * calls it without credentials: a notification counts only when its subscription is one Rollcall holds and its
 * clientState that subscription's secret; the others are dropped, yet answered 202 like the rest, since Graph retries a
 * notification answered otherwise for 4 hours (a subscription Rollcall could not delete at Graph would be redelivered
 * on every change), and a forger learns nothing. The answer never waits for the database (Graph wants one within 3
 * seconds, and throttles, then drops, the notifications of an endpoint slower than that): notification-inbox.ts takes
 * the notifications and records them after it, whatever the database is doing; its rate limit counts in the process,
 * not in the database, for the same reason. Dropped notifications are logged with the reason, at most once a minute per
 * reason (dropped-notifications-log.ts): a flood of forgeries does not fill the log.
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
        "a subscription made again starts a delta run too, for the changes it may have missed. " +
        "The answer never waits for the database (Graph wants it within 3 seconds): the notifications are recorded after it, a notification of a subscription this " +
        "process does not know yet checked against the database then; 429 (Retry-After) only when thousands of such notifications already wait for a busy database.",
      access: "public",
      query: z.object({ validationToken: z.string().min(1).max(4096).optional().describe("Graph's validation request: echoed back") }),
      body: notifications.optional(),
      status: 202,
      answers: {
        "200": { description: "the validationToken, echoed (Graph's validation handshake)", content: ["text/plain"] },
        "202": { description: "accepted: the notifications of subscriptions Rollcall holds are acted on after this answer, the others dropped" },
      },
      // Counted in this process (rate-limit-store.ts): the database may be busy for longer than Graph waits.
      config: { rateLimit: { max: 3000, timeWindow: "1 minute", inProcess: true } },
      withoutDatabase: true,
      async handler({ query, body, rt, reply }) {
        if (query.validationToken !== undefined) {
          await reply.code(200).type("text/plain; charset=utf-8").send(query.validationToken);
          return;
        }
        if (!body) throw invalidInput([{ field: "(body)", message: "is missing: Microsoft Graph sends a JSON changeNotificationCollection" }]);
        if (!acceptNotifications(rt, body.value)) {
          void reply.header("retry-after", "60");
          throw new RollcallError("rate_limited", "Too many notifications of subscriptions this server does not know yet wait for the database; send them again in 1 minute", { retryAfter: "1 minute" });
        }
      },
    }),
  ],
};
