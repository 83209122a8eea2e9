// Where a workspace's notifications go: e-mail recipients and a signed webhook, and the pending deliveries that follow them.
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { SecretBox } from "../security/encryption.ts";
import { invalidInput, type FieldProblem } from "../errors.ts";
import { isValidEmail } from "../domain/user.ts";
import { randomToken } from "../security/hashing.ts";
import { privateAddressOf, privateNetworkRefusal } from "../net/private-network.ts";
import type { Workspace } from "./workspaces.ts";
import { recordChange } from "./change-log.ts";

export interface NotificationSettings {
  emailTo: string[];
  webhookUrl: string | null;
  webhookSecretSet: boolean;
}

function settingsRow(db: Db, workspaceId: string) {
  return db.selectFrom("notification_settings").selectAll().where("workspace_id", "=", workspaceId).executeTakeFirst();
}

export async function getNotificationSettings(db: Db, workspace: Workspace): Promise<NotificationSettings> {
  const row = await settingsRow(db, workspace.id);
  return { emailTo: row?.email_to ?? [], webhookUrl: row?.webhook_url ?? null, webhookSecretSet: Boolean(row?.webhook_secret_ciphertext) };
}

const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** What is wrong with a webhook URL, if anything. */
async function webhookUrlProblem(value: string, privateNetwork: boolean): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback.test(url.hostname))) return privateNetwork ? "must be https:// (plain http:// only to a receiver on this machine)" : "must be https://";
  if (url.username || url.password) return "must not carry credentials; the body is signed instead";
  const address = privateNetwork ? undefined : await privateAddressOf(url.hostname);
  return address ? privateNetworkRefusal(url.hostname, address) : undefined;
}

/**
 * Sets the e-mail recipients and the webhook. A new webhook URL (or `rotateWebhookSecret`) gets a new
 * signing secret, returned here once and stored sealed.
 */
export async function updateNotificationSettings(
  db: Db,
  secrets: SecretBox,
  workspace: Workspace,
  input: { emailTo?: string[] | undefined; webhookUrl?: string | null | undefined; rotateWebhookSecret?: boolean | undefined },
  actor: string,
  options: { webhookPrivateNetwork: boolean } = { webhookPrivateNetwork: false },
): Promise<NotificationSettings & { webhookSecret: string | null }> {
  const current = await settingsRow(db, workspace.id);
  const emailTo = input.emailTo?.map((e) => e.trim()).filter(Boolean);
  const newUrl = input.webhookUrl || null;
  // Every wrong field at once, so a form marks them all in one go.
  const problems: FieldProblem[] = [];
  const bad = emailTo?.filter((e) => !isValidEmail(e)) ?? [];
  if (bad.length) problems.push({ field: "emailTo", message: `not valid email addresses: ${bad.join(", ")}`, value: bad });
  const urlProblem = newUrl === null ? undefined : await webhookUrlProblem(newUrl, options.webhookPrivateNetwork);
  if (urlProblem) problems.push({ field: "webhookUrl", message: urlProblem, value: newUrl });
  if (problems.length) throw invalidInput(problems);
  const webhookUrl = input.webhookUrl === undefined ? (current?.webhook_url ?? null) : newUrl === null ? null : new URL(newUrl).toString();
  const newSecret = webhookUrl && (input.rotateWebhookSecret || webhookUrl !== current?.webhook_url || !current?.webhook_secret_ciphertext) ? randomToken("whsec_", 32) : null;
  const values = {
    workspace_id: workspace.id,
    email_to: emailTo ? [...new Set(emailTo)] : (current?.email_to ?? []),
    webhook_url: webhookUrl,
    webhook_secret_ciphertext: webhookUrl ? (newSecret ? secrets.seal(newSecret) : (current?.webhook_secret_ciphertext ?? null)) : null,
    updated_at: new Date(),
  };
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("notification_settings")
      .values(values)
      .onConflict((oc) => oc.column("workspace_id").doUpdateSet({ email_to: values.email_to, webhook_url: values.webhook_url, webhook_secret_ciphertext: values.webhook_secret_ciphertext, updated_at: values.updated_at }))
      .execute();
    await retargetPendingDeliveries(trx, workspace.id, { webhookUrl: values.webhook_url, emailTo: values.email_to });
    // Never the secret itself: only that a new one was issued.
    await recordChange(trx, {
      workspaceId: workspace.id, actor, subject: workspace.name, action: "update notification settings",
      before: { emailTo: current?.email_to ?? [], webhookUrl: current?.webhook_url ?? null },
      after: { emailTo: values.email_to, webhookUrl: values.webhook_url, ...(newSecret && { webhookSecret: "new" }) },
    });
  });
  return { ...(await getNotificationSettings(db, workspace)), webhookSecret: newSecret };
}

/**
 * Deliveries still waiting for a retry follow the settings: a webhook's go to the new URL (signed with its secret,
 * the only one its receiver knows), and those to a webhook removed or an address taken off the list are given up.
 * The old URL's owner no longer receives the workspace's events.
 */
async function retargetPendingDeliveries(db: Db, workspaceId: string, now: { webhookUrl: string | null; emailTo: string[] }): Promise<void> {
  if (now.webhookUrl) {
    await sql`
      update notification_deliveries d set target = ${now.webhookUrl}, next_attempt_at = now()
       where d.workspace_id = ${workspaceId} and d.channel = 'webhook' and d.status = 'pending' and d.target <> ${now.webhookUrl}
         and not exists (select 1 from notification_deliveries o where o.notification_id = d.notification_id and o.channel = 'webhook' and o.target = ${now.webhookUrl})`.execute(db);
  }
  await sql`
    update notification_deliveries set status = 'failed', last_error = ${notATarget.webhook}
     where workspace_id = ${workspaceId} and channel = 'webhook' and status = 'pending' and target is distinct from ${now.webhookUrl}`.execute(db);
  await sql`
    update notification_deliveries set status = 'failed', last_error = ${notATarget.email}
     where workspace_id = ${workspaceId} and channel = 'email' and status = 'pending' and not (target = any(${now.emailTo}::text[]))`.execute(db);
}

/** Why a delivery was given up when the settings moved away from its target. */
export const notATarget = {
  webhook: "not sent: the workspace's webhook URL was changed or removed before this delivery went through",
  email: "not sent: the address was taken off the workspace's notification e-mail list before this delivery went through",
};
