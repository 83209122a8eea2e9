import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { DeliveryChannel, NotificationKind, NotificationSeverity } from "../storage/schema.ts";
import type { SecretBox } from "../security/encryption.ts";
import { invalidInput, notFound, type FieldProblem } from "../errors.ts";
import { isValidEmail } from "../domain/user.ts";
import { randomToken } from "../security/hashing.ts";
import { privateAddressOf, privateNetworkRefusal } from "../net/private-network.ts";
import { entraConfigSchema } from "../sources/entra/config.ts";
import type { Workspace } from "./workspaces.ts";
import { recordChange } from "./change-log.ts";
import { secretDaysLeft } from "../domain/source.ts";

/**
 * Notifications warn admins before things break: a client secret expiring (30, 14, 7 and 1 days before,
 * and once expired), a sync that failed or stopped at the deletion threshold, an import that failed.
 *
 * Each is raised at most once: a row is unique per (workspace, kind, subject, milestone), and its
 * deliveries (e-mail per recipient, the workspace's webhook) are created in the same transaction as the
 * row that won the insert. Any number of processes may scan at the same time; deliveries are claimed with
 * one UPDATE … FOR UPDATE SKIP LOCKED, so each is sent by one process (notification-deliveries.ts).
 */
export interface Notification {
  id: string;
  kind: NotificationKind;
  subject: string;
  milestone: string;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link: string | null;
  data: Record<string, unknown>;
  createdAt: string;
  resolvedAt: string | null;
  dismissedAt: string | null;
  dismissedBy: string | null;
}

export interface Delivery {
  id: string;
  notificationId: string;
  channel: DeliveryChannel;
  target: string;
  status: "pending" | "sending" | "sent" | "failed";
  attempts: number;
  /** When it is tried (again); null once sent or given up. */
  nextAttemptAt: string | null;
  lastError: string | null;
  sentAt: string | null;
  createdAt: string;
}

const day = 86_400_000;
/** Milestones of a secret's expiry, most distant first; each is raised once, when its day comes. */
export const secretMilestones = [30, 14, 7, 1] as const;

/** The milestone reached `daysLeft` days before expiry: the nearest threshold not yet passed, or "expired". */
export function secretMilestone(expiresOn: string, now: Date): { milestone: string; daysLeft: number } | null {
  const daysLeft = secretDaysLeft(expiresOn, now);
  if (daysLeft <= 0) return { milestone: "expired", daysLeft };
  const reached = [...secretMilestones].reverse().find((m) => daysLeft <= m);
  return reached === undefined ? null : { milestone: `${reached}d`, daysLeft };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export type NotificationRow = {
  id: string; kind: NotificationKind; subject: string; milestone: string; severity: NotificationSeverity; title: string; body: string;
  link: string | null; data: unknown; created_at: Date; resolved_at: Date | null; dismissed_at: Date | null; dismissed_by: string | null;
};

export function present(r: NotificationRow): Notification {
  return {
    id: r.id, kind: r.kind, subject: r.subject, milestone: r.milestone, severity: r.severity, title: r.title, body: r.body, link: r.link,
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
    createdAt: iso(r.created_at)!, resolvedAt: iso(r.resolved_at), dismissedAt: iso(r.dismissed_at), dismissedBy: r.dismissed_by,
  };
}

export interface RaiseInput {
  workspaceId: string;
  kind: NotificationKind;
  subject: string;
  milestone?: string;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link?: string | null;
  data?: Record<string, unknown>;
}

/** Raises a notification once; returns it when this call created it, null when it already existed. */
export async function raiseNotification(db: Db, input: RaiseInput): Promise<Notification | null> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("notifications")
      .values({
        workspace_id: input.workspaceId, kind: input.kind, subject: input.subject, milestone: input.milestone ?? "", severity: input.severity,
        title: input.title, body: input.body, link: input.link ?? null, data: JSON.stringify(input.data ?? {}),
      })
      .onConflict((oc) => oc.columns(["workspace_id", "kind", "subject", "milestone"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) return null;
    const settings = await trx.selectFrom("notification_settings").selectAll().where("workspace_id", "=", input.workspaceId).executeTakeFirst();
    const targets: { channel: DeliveryChannel; target: string }[] = [
      ...(settings?.email_to ?? []).map((to) => ({ channel: "email" as const, target: to })),
      ...(settings?.webhook_url ? [{ channel: "webhook" as const, target: settings.webhook_url }] : []),
    ];
    if (targets.length) {
      await trx
        .insertInto("notification_deliveries")
        .values(targets.map((t) => ({ notification_id: row.id, workspace_id: input.workspaceId, channel: t.channel, target: t.target })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    return present(row as NotificationRow);
  });
}

/** For the import pipeline: an import that failed (its report is linked). */
export function raiseImportFailed(db: Db, input: { workspace: Workspace; importId: string; fileName: string; message: string }): Promise<Notification | null> {
  return raiseNotification(db, {
    workspaceId: input.workspace.id, kind: "import_failed", subject: input.importId, severity: "warning",
    title: `Import of ${input.fileName} failed`, body: `${input.message} Nothing was changed; fix the file and import it again.`,
    link: `/w/${encodeURIComponent(input.workspace.name)}/import`, data: { importId: input.importId, fileName: input.fileName },
  });
}

/** Finished runs older than this are history, not news: a first scan on an old database does not flood anyone. */
const runLookbackMs = 3 * day;

/**
 * Looks at every workspace for what deserves a warning and raises it (once). Also resolves what no
 * longer holds: warnings about a secret that was replaced, earlier milestones of the same secret, and
 * failures of a source whose later run succeeded. Safe to run from several processes at once.
 */
export async function scanNotifications(db: Db, now = new Date()): Promise<{ raised: Notification[] }> {
  const raised: Notification[] = [];
  const sources = await db
    .selectFrom("sources as s")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.id", "s.name", "s.config", "s.workspace_id", "w.name as workspace"])
    .where("s.type", "=", "entra")
    .execute();
  for (const s of sources) {
    const parsed = entraConfigSchema.safeParse(s.config);
    const expiresOn = parsed.success ? parsed.data.secretExpiresOn : null;
    const subject = `${s.id}:${expiresOn ?? "none"}`;
    // A replaced secret (new expiry date, or none recorded) ends the warnings about the old one.
    await db
      .updateTable("notifications")
      .set({ resolved_at: now })
      .where("kind", "=", "secret_expiry")
      .where("resolved_at", "is", null)
      .where(sql<boolean>`split_part(subject, ':', 1) = ${s.id}`)
      .where("subject", "!=", subject)
      .execute();
    if (!expiresOn) continue;
    const reached = secretMilestone(expiresOn, now);
    if (!reached) continue;
    const link = `/w/${encodeURIComponent(s.workspace)}/sync/${encodeURIComponent(s.name)}`;
    const expired = reached.milestone === "expired";
    const when = expired ? `expired on ${expiresOn}` : `expires on ${expiresOn} (in ${reached.daysLeft} day${reached.daysLeft === 1 ? "" : "s"})`;
    const created = await raiseNotification(db, {
      workspaceId: s.workspace_id, kind: "secret_expiry", subject, milestone: reached.milestone,
      severity: expired || reached.daysLeft <= 7 ? "critical" : "warning",
      title: `The client secret of source ${s.name} ${when}`,
      body: expired
        ? `Synchronization from ${s.name} fails until it has a new secret. Create one in the Microsoft Entra admin center (App registrations > your app > Certificates & secrets), then enter it in Rollcall.`
        : `Create a new secret in the Microsoft Entra admin center (App registrations > your app > Certificates & secrets) and enter it in Rollcall with its expiry date before this one expires, or synchronization from ${s.name} stops.`,
      link, data: { sourceId: s.id, source: s.name, expiresOn, daysLeft: reached.daysLeft },
    });
    if (created) {
      raised.push(created);
      // The newest milestone supersedes the earlier ones of the same secret.
      await db.updateTable("notifications").set({ resolved_at: now }).where("kind", "=", "secret_expiry").where("subject", "=", subject).where("id", "!=", created.id).where("resolved_at", "is", null).execute();
    }
  }

  const runs = await db
    .selectFrom("sync_runs as r")
    .innerJoin("sources as s", "s.id", "r.source_id")
    .innerJoin("workspaces as w", "w.id", "r.workspace_id")
    .select(["r.id", "r.status", "r.error", "r.finished_at", "r.workspace_id", "r.source_id", "s.name as source", "w.name as workspace"])
    .where("r.status", "in", ["failed", "stopped"])
    .where("r.dry_run", "=", false)
    .where("r.finished_at", ">", new Date(now.getTime() - runLookbackMs))
    .execute();
  for (const r of runs) {
    const error = (typeof r.error === "string" ? JSON.parse(r.error) : r.error) as { code?: string; message?: string } | null;
    const stopped = r.status === "stopped";
    const created = await raiseNotification(db, {
      workspaceId: r.workspace_id, kind: stopped ? "sync_stopped" : "sync_failed", subject: r.id, severity: stopped ? "warning" : "critical",
      title: stopped ? `Sync of ${r.source} stopped at the deletion threshold` : `Sync of ${r.source} failed`,
      body: stopped
        ? `${error?.message ?? "The run would remove more users than the threshold allows."} Review the run and approve or reject it.`
        : `${error?.message ?? "The run failed."} The directory was left as it was before the run.`,
      link: `/w/${encodeURIComponent(r.workspace)}/runs/${r.id}`, data: { runId: r.id, sourceId: r.source_id, source: r.source, code: error?.code ?? null },
    });
    if (created) raised.push(created);
  }
  // A later successful run of the same source settles its earlier failures; so does a stopped run's approval or rejection.
  await sql`
    update notifications n set resolved_at = ${now}
    from sync_runs failed
    where n.kind in ('sync_failed', 'sync_stopped') and n.resolved_at is null and failed.id::text = n.subject
      and (failed.status not in ('failed', 'stopped') or exists (select 1 from sync_runs ok where ok.source_id = failed.source_id and ok.status in ('succeeded', 'applied', 'rejected') and ok.dry_run = false and ok.started_at > failed.started_at))`.execute(db);
  return { raised };
}

export async function listNotifications(db: Db, workspace: Workspace, options: { active?: boolean; limit?: number } = {}): Promise<(Notification & { deliveries: Delivery[] })[]> {
  return (await pageOfNotifications(db, workspace, { ...options, offset: 0 })).items;
}

/** Newest first (ties by id, so pages neither repeat nor skip one); `total`: all that the filter matches. */
export async function pageOfNotifications(db: Db, workspace: Workspace, options: { active?: boolean; limit?: number; offset: number }): Promise<{ items: (Notification & { deliveries: Delivery[] })[]; total: number }> {
  let query = db.selectFrom("notifications").where("workspace_id", "=", workspace.id);
  if (options.active) query = query.where("resolved_at", "is", null).where("dismissed_at", "is", null);
  const rows = (await query.selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(options.limit ?? 100).offset(options.offset).execute()) as NotificationRow[];
  const { total } = await query.select(sql<number>`count(*)::int`.as("total")).executeTakeFirstOrThrow();
  const deliveries = rows.length ? await deliveryRows(db, workspace.id, rows.map((r) => r.id)) : [];
  return { items: rows.map((r) => ({ ...present(r), deliveries: deliveries.filter((d) => d.notificationId === r.id) })), total };
}

async function deliveryRows(db: Db, workspaceId: string, notificationIds?: string[], limit = 500, offset = 0): Promise<Delivery[]> {
  let query = db.selectFrom("notification_deliveries").selectAll().where("workspace_id", "=", workspaceId).orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).offset(offset);
  if (notificationIds) query = query.where("notification_id", "in", notificationIds);
  return (await query.execute()).map((d) => ({
    id: d.id, notificationId: d.notification_id, channel: d.channel, target: d.target, status: d.status, attempts: d.attempts,
    nextAttemptAt: d.status === "pending" || d.status === "sending" ? iso(d.next_attempt_at)! : null, lastError: d.last_error, sentAt: iso(d.sent_at), createdAt: iso(d.created_at)!,
  }));
}

/** The delivery log of a workspace, newest first. */
export function listDeliveries(db: Db, workspace: Workspace, limit = 200): Promise<Delivery[]> {
  return deliveryRows(db, workspace.id, undefined, limit);
}

export async function pageOfDeliveries(db: Db, workspace: Workspace, page: { limit: number; offset: number }): Promise<{ items: Delivery[]; total: number }> {
  const { total } = await db.selectFrom("notification_deliveries").select(sql<number>`count(*)::int`.as("total")).where("workspace_id", "=", workspace.id).executeTakeFirstOrThrow();
  return { items: await deliveryRows(db, workspace.id, undefined, page.limit, page.offset), total };
}

export async function dismissNotification(db: Db, workspace: Workspace, id: string, actor: string): Promise<Notification> {
  const row = await db
    .updateTable("notifications")
    .set({ dismissed_at: new Date(), dismissed_by: actor })
    .where("workspace_id", "=", workspace.id)
    .where(sql<boolean>`id::text = ${id}`)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound("notification", id);
  return present(row as NotificationRow);
}

export interface NotificationSettings {
  emailTo: string[];
  webhookUrl: string | null;
  webhookSecretSet: boolean;
}

export async function getNotificationSettings(db: Db, workspace: Workspace): Promise<NotificationSettings> {
  const row = await db.selectFrom("notification_settings").selectAll().where("workspace_id", "=", workspace.id).executeTakeFirst();
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
  const current = await db.selectFrom("notification_settings").selectAll().where("workspace_id", "=", workspace.id).executeTakeFirst();
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
