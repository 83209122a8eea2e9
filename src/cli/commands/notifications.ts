import { Command } from "commander";
import { listDeliveries, listNotifications } from "../../core/notifications.ts";
import { getNotificationSettings, updateNotificationSettings } from "../../core/notification-settings.ts";
import { createNotifier } from "../../notifications/worker.ts";
import { run, table, workspaceCommand, workspaceContext, withJson } from "../io.ts";

/** `rollcall notifications …`: the warnings, who gets them, and the delivery log. */
export function notificationsCommand(): Command {
  const root = new Command("notifications").description("warnings before things break (expiring client secrets, failed syncs and imports), by e-mail and webhook");
  root.addCommand(
    workspaceCommand("list", "notifications of a workspace, newest first")
      .option("--active", "only those neither resolved nor dismissed")
      .action(async (opts) =>
        run(opts, async (rt) => listNotifications(rt.store.db, (await workspaceContext(rt, opts)).workspace, { active: Boolean(opts.active) }), {
          human: (items) =>
            table(
              items.map((n) => ({ ...n, state: n.resolvedAt ? "resolved" : n.dismissedAt ? "dismissed" : "active", sent: n.deliveries.map((d) => `${d.channel}:${d.status}`).join(" ") })),
              ["createdAt", "severity", "state", "title", "sent"],
              `No ${opts.active ? "active " : ""}notifications in workspace ${opts.workspace}.`,
            ),
        }, "notifications"),
      ),
  );
  root.addCommand(
    workspaceCommand("settings", "show or change who gets notifications by e-mail, and the signed webhook")
      .option("--email <addresses>", "comma-separated recipients (\"\" for none)")
      .option("--webhook-url <url>", "https:// URL receiving signed JSON POSTs (\"none\" removes it)")
      .option("--rotate-webhook-secret", "make a new signing secret (printed once)")
      .action(async (opts) =>
        run(opts, async (rt) => {
          const { workspace } = await workspaceContext(rt, opts);
          const change = opts.email !== undefined || opts.webhookUrl !== undefined || opts.rotateWebhookSecret;
          if (!change) return { ...(await getNotificationSettings(rt.store.db, workspace)), webhookSecret: null, smtpConfigured: Boolean(rt.config.smtpUrl) };
          const emailTo = opts.email === undefined ? undefined : String(opts.email).split(",").map((s) => s.trim()).filter(Boolean);
          const webhookUrl = opts.webhookUrl === undefined ? undefined : opts.webhookUrl === "none" ? null : String(opts.webhookUrl);
          return { ...(await updateNotificationSettings(rt.store.db, rt.secrets, workspace, { emailTo, webhookUrl, rotateWebhookSecret: Boolean(opts.rotateWebhookSecret) }, "cli", { webhookPrivateNetwork: rt.config.webhookPrivateNetwork })), smtpConfigured: Boolean(rt.config.smtpUrl) };
        }, {
          human: (s) =>
            [
              `e-mail:  ${s.emailTo.length ? s.emailTo.join(", ") : "nobody"}${s.emailTo.length && !s.smtpConfigured ? " (ROLLCALL_SMTP_URL is not set: nothing can be sent)" : ""}`,
              `webhook: ${s.webhookUrl ?? "none"}`,
              ...(s.webhookSecret ? [`signing secret: ${s.webhookSecret}`, "(shown only once; verify Rollcall-Signature: t=…,v1=HMAC-SHA256(secret, \"t.body\"))"] : []),
            ].join("\n"),
        }, "notifications"),
      ),
  );
  root.addCommand(
    workspaceCommand("deliveries", "the delivery log: each e-mail and webhook attempt")
      .action(async (opts) =>
        run(opts, async (rt) => listDeliveries(rt.store.db, (await workspaceContext(rt, opts)).workspace), {
          human: (items) => table(items, ["createdAt", "channel", "target", "status", "attempts", "sentAt", "lastError"], `No notification deliveries in workspace ${opts.workspace}.`),
        }, "notifications"),
      ),
  );
  root.addCommand(
    withJson(new Command("check").description("look for what needs a warning and send what is due, now (rollcall serve does this every ROLLCALL_NOTIFY_INTERVAL_SECONDS)"))
      .action(async (opts) =>
        run(opts, (rt) => createNotifier(rt).tick(), { human: (r) => `raised ${r.raised}, sent ${r.sent}, failed ${r.failed}`, ok: (r) => r.failed === 0 }, "notifications"),
      ),
  );
  return root;
}
