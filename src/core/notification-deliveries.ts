import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { DeliveryChannel } from "../storage/schema.ts";
import type { SecretBox } from "../security/encryption.ts";
import { present, type Notification, type NotificationRow } from "./notifications.ts";

/**
 * The sending side of notifications (notifications/worker.ts): deliveries claimed by one process at a time, where
 * each may still go, and what came of it.
 */
/**
 * Where a claimed delivery may still go, and the webhook's secret: null when the settings no longer name its target
 * (changed while it waited), so a new secret never signs a post to the old URL.
 */
export async function deliveryTarget(db: Db, secrets: SecretBox, delivery: Pick<ClaimedDelivery, "workspaceId" | "channel" | "target">): Promise<{ secret: string | null } | null> {
  const row = await db.selectFrom("notification_settings").select(["webhook_url", "webhook_secret_ciphertext", "email_to"]).where("workspace_id", "=", delivery.workspaceId).executeTakeFirst();
  if (delivery.channel === "email") return row?.email_to.includes(delivery.target) ? { secret: null } : null;
  if (!row?.webhook_url || row.webhook_url !== delivery.target || !row.webhook_secret_ciphertext) return null;
  return { secret: secrets.open(row.webhook_secret_ciphertext) };
}

export interface ClaimedDelivery {
  id: string;
  channel: DeliveryChannel;
  target: string;
  attempts: number;
  workspaceId: string;
  workspace: string;
  notification: Notification;
}

/** How long a claim holds: a process that dies mid-send gives the delivery back after this. */
const claimMs = 2 * 60_000;

/**
 * Claims up to `limit` due deliveries for `worker` in one statement: pending ones whose time has come, and
 * ones whose claim lapsed. SKIP LOCKED lets concurrent claimers take disjoint rows.
 */
export async function claimDeliveries(db: Db, worker: string, limit = 20): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<{ id: string; channel: DeliveryChannel; target: string; attempts: number; notification_id: string; workspace_id: string }>`
    update notification_deliveries d
       set status = 'sending', attempts = d.attempts + 1, claimed_by = ${worker}, claimed_until = now() + ${`${claimMs} milliseconds`}::interval
     where d.id in (
       select id from notification_deliveries
        where (status = 'pending' and next_attempt_at <= now()) or (status = 'sending' and claimed_until < now())
        order by next_attempt_at
        limit ${limit}
        for update skip locked)
    returning d.id, d.channel, d.target, d.attempts, d.notification_id, d.workspace_id`.execute(db);
  if (rows.length === 0) return [];
  const notes = (await db
    .selectFrom("notifications as n")
    .innerJoin("workspaces as w", "w.id", "n.workspace_id")
    .selectAll("n")
    .select("w.name as workspace")
    .where("n.id", "in", [...new Set(rows.map((r) => r.notification_id))])
    .execute()) as (NotificationRow & { workspace: string })[];
  const byId = new Map(notes.map((n) => [n.id, n]));
  return rows.flatMap((r) => {
    const n = byId.get(r.notification_id);
    return n ? [{ id: r.id, channel: r.channel, target: r.target, attempts: r.attempts, workspaceId: r.workspace_id, workspace: n.workspace, notification: present(n) }] : [];
  });
}

export async function markDelivered(db: Db, worker: string, id: string): Promise<void> {
  await db
    .updateTable("notification_deliveries")
    .set({ status: "sent", sent_at: new Date(), last_error: null, claimed_by: null, claimed_until: null })
    .where("id", "=", id)
    .where("claimed_by", "=", worker)
    .execute();
}

/** A failed attempt: retried after base × 2^(attempt-1) (±20 %, at most 6 hours), or given up after the last attempt. */
export async function markFailed(db: Db, worker: string, delivery: Pick<ClaimedDelivery, "id" | "attempts">, error: string, policy: { baseMs: number; maxAttempts: number }): Promise<"retry" | "failed"> {
  const giveUp = delivery.attempts >= policy.maxAttempts;
  const delay = Math.min(6 * 3600_000, policy.baseMs * 2 ** (delivery.attempts - 1)) * (0.8 + Math.random() * 0.4);
  await db
    .updateTable("notification_deliveries")
    .set({ status: giveUp ? "failed" : "pending", last_error: error.slice(0, 1000), next_attempt_at: new Date(Date.now() + delay), claimed_by: null, claimed_until: null })
    .where("id", "=", delivery.id)
    .where("claimed_by", "=", worker)
    .execute();
  return giveUp ? "failed" : "retry";
}
