import { z } from "zod";
import { dismissNotification, pageOfDeliveries, pageOfNotifications } from "../../core/notifications.ts";
import { getNotificationSettings, updateNotificationSettings } from "../../core/notification-settings.ts";
import { route, type RouteModule } from "../route.ts";
import { booleanParam, day, limitParam, listOf, offsetParam, storedAs, timestamp, workspaceParams } from "../schemas.ts";
import { errorCodes } from "../../errors.ts";
import { secretMilestoneNames } from "../../core/notification-scan.ts";

const deliverySchema = z.object({
  id: z.string(),
  notificationId: z.string(),
  channel: z.enum(["email", "webhook"]),
  target: z.string(),
  status: z.enum(["pending", "sending", "sent", "failed"]),
  attempts: z.number().int(),
  nextAttemptAt: timestamp.nullable().describe("when it is tried (again); null once sent or given up"),
  lastError: z.string().nullable(),
  sentAt: timestamp.nullable(),
  createdAt: timestamp,
});

/** A notification of one kind (its milestone and its data are the kind's own), with what `extra` adds. */
function notificationOf<K extends string, M extends z.ZodType, D extends z.ZodType, E extends z.ZodRawShape>(kind: K, milestone: M, data: D, extra: E) {
  return z.object({
    id: z.string(),
    kind: z.literal(kind),
    subject: z.string(),
    milestone: storedAs(milestone),
    severity: z.enum(["info", "warning", "critical"]),
    title: z.string(),
    body: z.string(),
    link: z.string().nullable().describe("console path of what it is about"),
    data: storedAs(data),
    createdAt: timestamp,
    resolvedAt: timestamp.nullable().describe("set when it no longer holds (secret replaced, a later run succeeded, a newer milestone)"),
    dismissedAt: timestamp.nullable(),
    dismissedBy: z.string().nullable(),
    ...extra,
  });
}

const noMilestone = z.literal("").describe("only a secret's expiry has milestones");
const runData = z.object({
  runId: z.string(),
  sourceId: z.string(),
  source: z.string().describe("the source's name"),
  code: z.enum(errorCodes).nullable().describe("the run's error code"),
});

/** One of five kinds, each with its milestone and data: a client switches on kind. */
function notificationSchema<E extends z.ZodRawShape>(extra: E) {
  return z.discriminatedUnion("kind", [
    notificationOf(
      "secret_expiry",
      z.enum(secretMilestoneNames).describe("the days left it warns at, or expired"),
      z.object({ sourceId: z.string(), source: z.string(), expiresOn: day, daysLeft: z.number().int().describe("0 or less once expired") }),
      extra,
    ),
    notificationOf("sync_failed", noMilestone, runData, extra),
    notificationOf("sync_stopped", noMilestone, runData, extra),
    notificationOf("import_failed", noMilestone, z.object({ importId: z.string(), fileName: z.string() }), extra),
    notificationOf(
      "scim_quiet",
      noMilestone,
      z.object({
        sourceId: z.string(),
        source: z.string().describe("the SCIM source's name"),
        lastRequestAt: timestamp.nullable().describe("its last request; null: never called"),
        since: timestamp.describe("silent since: its last request, or when it was added"),
      }),
      extra,
    ),
  ]);
}

const settingsSchema = z.object({
  emailTo: z.array(z.string()),
  webhookUrl: z.string().nullable(),
  webhookSecretSet: z.boolean(),
  smtpConfigured: z.boolean().describe("false when ROLLCALL_SMTP_URL is not set: e-mails cannot be sent"),
});

export const notificationRoutes: RouteModule = {
  tag: "Notifications",
  description:
    "Warnings before things break (client secret expiring in 30/14/7/1 days or expired, failed or stopped syncs, a SCIM source Entra ID's provisioning service has not called for 3 hours, failed imports), " +
    "shown in the console and optionally sent by e-mail and to a signed webhook (Rollcall-Signature: t=…,v1=HMAC-SHA256(secret, t.body)).",
  routes: [
    route({
      method: "GET",
      url: "/workspaces/:workspace/notifications",
      summary: "Notifications, newest first, each with its deliveries",
      access: "workspace",
      params: workspaceParams,
      query: z.object({ active: booleanParam.optional().describe("only those neither resolved nor dismissed (the banner)"), limit: limitParam(500, 100), offset: offsetParam }).strict(),
      response: listOf(notificationSchema({ deliveries: z.array(deliverySchema) }).meta({ id: "NotificationWithDeliveries" })),
      async handler({ ctx, query }) {
        const page = await pageOfNotifications(ctx.db, ctx.workspace, { active: query.active ?? false, limit: query.limit, offset: query.offset });
        return { ...page, limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: "POST",
      url: "/workspaces/:workspace/notifications/:id/dismiss",
      summary: "Dismiss a notification (hides it from the banner; e-mail and webhook are unaffected)",
      access: "workspace",
      params: workspaceParams.extend({ id: z.string() }),
      response: notificationSchema({}).meta({ id: "Notification" }),
      async handler({ ctx, params }) {
        return dismissNotification(ctx.db, ctx.workspace, params.id, ctx.actor);
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/notification-deliveries",
      summary: "The delivery log: every e-mail and webhook attempt's outcome",
      access: "workspace",
      params: workspaceParams,
      query: z.object({ limit: limitParam(500, 200), offset: offsetParam }).strict(),
      response: listOf(deliverySchema),
      async handler({ ctx, query }) {
        return { ...(await pageOfDeliveries(ctx.db, ctx.workspace, query)), limit: query.limit, offset: query.offset };
      },
    }),
    route({
      method: "GET",
      url: "/workspaces/:workspace/notification-settings",
      summary: "Who gets notifications by e-mail, and the webhook",
      access: "workspace",
      params: workspaceParams,
      response: settingsSchema,
      async handler({ ctx, rt }) {
        return { ...(await getNotificationSettings(ctx.db, ctx.workspace)), smtpConfigured: Boolean(rt.config.smtpUrl) };
      },
    }),
    route({
      method: "PUT",
      url: "/workspaces/:workspace/notification-settings",
      summary: "Set e-mail recipients and the webhook; a new webhook URL gets a new signing secret, shown once",
      access: "workspace",
      params: workspaceParams,
      body: z
        .object({
          emailTo: z.array(z.string().max(254)).max(50).optional(),
          webhookUrl: z.string().max(2000).nullable().optional().describe("https:// (http only to loopback), a public address unless ROLLCALL_WEBHOOK_PRIVATE_NETWORK=true; null removes it"),
          rotateWebhookSecret: z.boolean().optional(),
        })
        .strict(),
      response: settingsSchema.extend({ webhookSecret: z.string().nullable().describe("the new signing secret, only when one was made") }),
      async handler({ ctx, rt, body }) {
        return { ...(await updateNotificationSettings(ctx.db, rt.secrets, ctx.workspace, body, ctx.actor, { webhookPrivateNetwork: rt.config.webhookPrivateNetwork })), smtpConfigured: Boolean(rt.config.smtpUrl) };
      },
    }),
  ],
};
