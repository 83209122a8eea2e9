import type { Transporter } from "nodemailer";
import type { Notification } from "../core/notifications.ts";
import { trustedCas } from "../net/http.ts";

/**
 * E-mail over SMTP (ROLLCALL_SMTP_URL). One transport per process. The Message-ID is derived from the
 * delivery id, so a retry after a crash mid-send is recognisable as the same message.
 */
let cached: { url: string; transport: Transporter } | undefined;

async function transport(url: string): Promise<Transporter> {
  if (cached?.url !== url) {
    // Loaded on the first e-mail: most processes never send one.
    const { default: nodemailer } = await import("nodemailer");
    cached = { url, transport: nodemailer.createTransport(url, { tls: { ca: trustedCas() } } as never) };
  }
  return cached.transport;
}

export function renderEmail(notification: Notification, workspace: string, consoleUrl: string | undefined): { subject: string; text: string } {
  const link = notification.link && consoleUrl ? `${consoleUrl.replace(/\/$/, "")}${notification.link}` : null;
  return {
    subject: `[Rollcall] ${notification.title}`,
    text: [`Workspace: ${workspace}`, "", notification.title, "", notification.body, ...(link ? ["", `Open in Rollcall: ${link}`] : []), "", "-- ", "Rollcall notifications. Change who gets them in the workspace's settings (rollcall notifications settings)."].join("\n"),
  };
}

export async function sendEmail(input: { smtpUrl: string; from: string; to: string; deliveryId: string; subject: string; text: string }): Promise<void> {
  await (await transport(input.smtpUrl)).sendMail({
    from: input.from,
    to: input.to,
    subject: input.subject,
    text: input.text,
    messageId: `<${input.deliveryId}@rollcall.notifications>`,
    headers: { "Auto-Submitted": "auto-generated" },
  });
}
