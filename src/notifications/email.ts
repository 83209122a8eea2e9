import type { Transporter } from "nodemailer";
import type { Notification } from "../core/notifications.ts";
import { RollcallError } from "../errors.ts";
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

/** Sends one delivery; a message the SMTP server did not take is a delivery_failed error saying why, and what to check. */
export async function sendEmail(input: { smtpUrl: string; from: string; to: string; deliveryId: string; subject: string; text: string }): Promise<void> {
  try {
    await (await transport(input.smtpUrl)).sendMail({
      from: input.from,
      to: input.to,
      subject: input.subject,
      text: input.text,
      messageId: `<${input.deliveryId}@rollcall.notifications>`,
      headers: { "Auto-Submitted": "auto-generated" },
    });
  } catch (error) {
    throw smtpFailure(error, new URL(input.smtpUrl).host);
  }
}

/** nodemailer's error, said with the setting to check (its codes: EAUTH, ECONNECTION, ESOCKET, ETIMEDOUT, EDNS, EENVELOPE…). */
function smtpFailure(error: unknown, server: string): RollcallError {
  const { code, message } = error as { code?: string; message?: string };
  const details = { channel: "email", smtpCode: code ?? null };
  const said = message ?? String(error);
  const text =
    code === "EAUTH" ? `the SMTP server ${server} refused Rollcall's credentials (${said}): check the user and password in ROLLCALL_SMTP_URL`
    : code === "ECONNECTION" || code === "ESOCKET" || code === "ETIMEDOUT" || code === "EDNS" ? `could not reach the SMTP server ${server} (${said}): check the host and port in ROLLCALL_SMTP_URL, and that the server is up`
    : code === "EENVELOPE" ? `the SMTP server ${server} refused the sender or the recipient (${said}): check ROLLCALL_SMTP_FROM and the workspace's notification e-mail list`
    : `the SMTP server ${server} did not take the message (${said})`;
  return new RollcallError("delivery_failed", text, details, { cause: error });
}
