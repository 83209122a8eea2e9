import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { DeliveryChannel, NotificationKind, NotificationSeverity } from "../storage/schema.ts";
import { notFound, type ErrorCode } from "../errors.ts";
import type { Workspace } from "./workspaces.ts";
import type { secretMilestoneNames } from "./notification-scan.ts";

/**
 * Notifications warn admins before things break: a client secret expiring (30, 14, 7 and 1 days before,
 * and once expired), a sync that failed or stopped at the deletion threshold, a SCIM source Entra ID has stopped
 * calling, an import that failed (notification-scan.ts finds the first three; the import raises its own).
 *
 * Each is raised at most once: a row is unique per (workspace, kind, subject, milestone), and its
 * deliveries (e-mail per recipient, the workspace's webhook) are created in the same transaction as the
 * row that won the insert. Any number of processes may scan at the same time; deliveries are claimed with
 * one UPDATE … FOR UPDATE SKIP LOCKED, so each is sent by one process (notification-deliveries.ts). Who they
 * go to is the workspace's notification settings (notification-settings.ts).
 */
export type Notification = {
  id: string;
  subject: string;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  resolvedAt: string | null;
  dismissedAt: string | null;
  dismissedBy: string | null;
} & NotificationOfKind;

export type SecretMilestone = (typeof secretMilestoneNames)[number];

/** A sync's failure or stop: the run, its source, and its error code (null when it recorded none). */
export interface RunNotificationData {
  runId: string;
  sourceId: string;
  source: string;
  code: ErrorCode | null;
}

/** A SCIM source Entra ID's provisioning service has stopped calling: since when (its last request, or when it was added). */
export interface ScimQuietNotificationData {
  sourceId: string;
  source: string;
  lastRequestAt: string | null;
  since: string;
}

/** Each kind's milestone (only a secret's expiry has them; the others' is "") and data. */
export type NotificationOfKind =
  | { kind: "secret_expiry"; milestone: SecretMilestone; data: { sourceId: string; source: string; expiresOn: string; daysLeft: number } }
  | { kind: "sync_failed" | "sync_stopped"; milestone: ""; data: RunNotificationData }
  | { kind: "import_failed"; milestone: ""; data: { importId: string; fileName: string } }
  | { kind: "scim_quiet"; milestone: ""; data: ScimQuietNotificationData };
true satisfies [Exclude<NotificationKind, NotificationOfKind["kind"]>] extends [never] ? true : false;

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

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

export type NotificationRow = {
  id: string; kind: NotificationKind; subject: string; milestone: string; severity: NotificationSeverity; title: string; body: string;
  link: string | null; data: unknown; created_at: Date; resolved_at: Date | null; dismissed_at: Date | null; dismissed_by: string | null;
};

export function present(r: NotificationRow): Notification {
  const kindOf = {
    kind: r.kind, milestone: r.milestone, data: typeof r.data === "string" ? JSON.parse(r.data) : r.data,
  } as NotificationOfKind; // written by raiseNotification, whose input is typed by kind
  return {
    id: r.id, ...kindOf, subject: r.subject, severity: r.severity, title: r.title, body: r.body, link: r.link,
    createdAt: iso(r.created_at)!, resolvedAt: iso(r.resolved_at), dismissedAt: iso(r.dismissed_at), dismissedBy: r.dismissed_by,
  };
}

export type RaiseInput = {
  workspaceId: string;
  subject: string;
  severity: NotificationSeverity;
  title: string;
  body: string;
  link?: string | null;
} & NotificationOfKind;

/** Raises a notification once; returns it when this call created it, null when it already existed. */
export async function raiseNotification(db: Db, input: RaiseInput): Promise<Notification | null> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("notifications")
      .values({
        workspace_id: input.workspaceId, kind: input.kind, subject: input.subject, milestone: input.milestone, severity: input.severity,
        title: input.title, body: input.body, link: input.link ?? null, data: JSON.stringify(input.data),
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
    workspaceId: input.workspace.id, kind: "import_failed", milestone: "", subject: input.importId, severity: "warning",
    title: `Import of ${input.fileName} failed`, body: `${input.message} Nothing was changed; fix the file and import it again.`,
    link: `/w/${encodeURIComponent(input.workspace.name)}/import`, data: { importId: input.importId, fileName: input.fileName },
  });
}

/**
 * For the import pipeline: a file imported after its import failed (the notification says "fix the file and import it
 * again") settles that failure, matched by the file's name, as a later successful run settles a sync's.
 */
export async function resolveImportFailures(db: Db, input: { workspace: Workspace; fileName: string }): Promise<void> {
  await db
    .updateTable("notifications")
    .set({ resolved_at: new Date() })
    .where("workspace_id", "=", input.workspace.id)
    .where("kind", "=", "import_failed")
    .where("resolved_at", "is", null)
    .where(sql<string>`data->>'fileName'`, "=", input.fileName)
    .execute();
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
