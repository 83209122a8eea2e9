// What deserves a warning, found by looking at every workspace's sources and recent runs (notifications/worker.ts scans).
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { entraConfigSchema } from "../sources/entra/config.ts";
import { scimConfigSchema } from "./scim-sources.ts";
import { scimQuiet, scimQuietAfterHours, secretDaysLeft, secretUrgency } from "../domain/source.ts";
import { raiseNotification, type Notification, type RunNotificationData, type SecretMilestone } from "./notifications.ts";

const day = 86_400_000;
/** Milestones of a secret's expiry, most distant first; each is raised once, when its day comes. */
export const secretMilestones = [30, 14, 7, 1] as const;
/** The milestones as notifications name them: 30d, 14d, 7d, 1d, expired. */
export const secretMilestoneNames = [...secretMilestones.map((days) => `${days}d` as const), "expired"] as const;

/** The milestone reached `daysLeft` days before expiry: the nearest threshold not yet passed, or "expired". */
export function secretMilestone(expiresOn: string, now: Date): { milestone: SecretMilestone; daysLeft: number } | null {
  const daysLeft = secretDaysLeft(expiresOn, now);
  if (daysLeft <= 0) return { milestone: "expired", daysLeft };
  const reached = [...secretMilestones].reverse().find((m) => daysLeft <= m);
  return reached === undefined ? null : { milestone: `${reached}d`, daysLeft };
}

type ExpiryWording = { title: string; expired: string; expiring: string };

const entraWording = (name: string): ExpiryWording => ({
  title: `The client secret of source ${name}`,
  expired: `Synchronization from ${name} fails until it has a new secret. Create one in the Microsoft Entra admin center (App registrations > your app > Certificates & secrets), then enter it in Rollcall.`,
  expiring: `Create a new secret in the Microsoft Entra admin center (App registrations > your app > Certificates & secrets) and enter it in Rollcall with its expiry date before this one expires, or synchronization from ${name} stops.`,
});

/** A SCIM source's sign-in credential is watched while sign-in with Microsoft is on and one is stored with a date. */
function scimSignInExpiry(name: string, raw: unknown, secretSet: boolean): { expiresOn: string | null; wording: ExpiryWording } {
  const config = scimConfigSchema.safeParse(raw).data;
  const kind = config?.credential === "certificate" ? "certificate" : "client secret";
  const where = "the Microsoft Entra admin center (App registrations > the enterprise application's app registration > Certificates & secrets)";
  return {
    expiresOn: config?.signIn && secretSet ? config.secretExpiresOn : null,
    wording: {
      title: `The sign-in ${kind} of SCIM source ${name}`,
      expired: `People provisioned by ${name} cannot sign in with Microsoft until it has a new ${kind}. Create one in ${where}, then enter it in Rollcall (the source's Sign in with Microsoft settings).`,
      expiring: `Create a new ${kind} in ${where} and enter it in Rollcall with its expiry date (the source's Sign in with Microsoft settings) before this one expires, or people provisioned by ${name} can no longer sign in with Microsoft.`,
    },
  };
}

/** Finished runs older than this are history, not news: a first scan on an old database does not flood anyone. */
const runLookbackMs = 3 * day;

/**
 * Looks at every workspace for what deserves a warning and raises it (once). Also resolves what no
 * longer holds: warnings about a secret that was replaced (or a SCIM source's sign-in turned off), earlier milestones of the same secret,
 * failures of a source whose later run succeeded, and a quiet SCIM source that was called since. Safe to run
 * from several processes at once.
 */
export async function scanNotifications(db: Db, now = new Date()): Promise<{ raised: Notification[] }> {
  const raised: Notification[] = [];
  const sources = await db
    .selectFrom("sources as s")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.id", "s.name", "s.type", "s.config", "s.workspace_id", "w.name as workspace"])
    .select(sql<boolean>`s.secret_ciphertext is not null`.as("secret_set"))
    .execute();
  for (const s of sources) {
    const { expiresOn, wording } = s.type === "scim" ? scimSignInExpiry(s.name, s.config, s.secret_set) : { expiresOn: entraConfigSchema.safeParse(s.config).data?.secretExpiresOn ?? null, wording: entraWording(s.name) };
    const subject = `${s.id}:${expiresOn ?? "none"}`;
    // A replaced secret (new expiry date, or none recorded) ends the warnings about the old one; so does a SCIM source's sign-in turned off.
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
      severity: secretUrgency(reached.daysLeft) ?? "warning",
      title: `${wording.title} ${when}`,
      body: expired ? wording.expired : wording.expiring,
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
    const error = (typeof r.error === "string" ? JSON.parse(r.error) : r.error) as { code?: RunNotificationData["code"]; message?: string } | null;
    const stopped = r.status === "stopped";
    const created = await raiseNotification(db, {
      workspaceId: r.workspace_id, kind: stopped ? "sync_stopped" : "sync_failed", milestone: "", subject: r.id, severity: stopped ? "warning" : "critical",
      title: stopped ? `Sync of ${r.source} stopped at the deletion threshold` : `Sync of ${r.source} failed`,
      body: stopped
        ? `${error?.message ?? "The run would remove more users than the threshold allows."} Review the run and approve or reject it.`
        : `${error?.message ?? "The run failed."} The directory was left as it was before the run.`,
      link: `/w/${encodeURIComponent(r.workspace)}/runs/${r.id}`, data: { runId: r.id, sourceId: r.source_id, source: r.source, code: error?.code ?? null },
    });
    if (created) raised.push(created);
  }
  raised.push(...(await scanQuietScimSources(db, now)));
  // A later successful run of the same source settles its earlier failures; so does a stopped run's approval or rejection.
  await sql`
    update notifications n set resolved_at = ${now}
    from sync_runs failed
    where n.kind in ('sync_failed', 'sync_stopped') and n.resolved_at is null and failed.id::text = n.subject
      and (failed.status not in ('failed', 'stopped') or exists (select 1 from sync_runs ok where ok.source_id = failed.source_id and ok.status in ('succeeded', 'applied', 'rejected') and ok.dry_run = false and ok.started_at > failed.started_at))`.execute(db);
  return { raised };
}

/**
 * SCIM sources Entra ID's provisioning service has stopped calling (domain/source.ts scimQuiet): one notification per
 * quiet spell (its subject: the source and since when), settled once the service calls again.
 */
async function scanQuietScimSources(db: Db, now: Date): Promise<Notification[]> {
  const raised: Notification[] = [];
  const sources = await db
    .selectFrom("sources as s")
    .innerJoin("scim_tokens as t", "t.source_id", "s.id")
    .innerJoin("workspaces as w", "w.id", "s.workspace_id")
    .select(["s.id", "s.name", "s.workspace_id", "s.created_at", "t.last_request_at", "w.name as workspace"])
    .where("s.type", "=", "scim")
    .orderBy(sql`lower(s.name)`)
    .execute();
  for (const s of sources) {
    const lastRequestAt = s.last_request_at === null ? null : new Date(s.last_request_at).toISOString();
    const quiet = scimQuiet({ createdAt: new Date(s.created_at).toISOString(), lastRequestAt }, now);
    const subject = quiet ? `${s.id}:${quiet.since}` : null;
    let settled = db.updateTable("notifications").set({ resolved_at: now }).where("kind", "=", "scim_quiet").where("resolved_at", "is", null).where(sql<boolean>`split_part(subject, ':', 1) = ${s.id}`);
    if (subject) settled = settled.where("subject", "!=", subject);
    await settled.execute();
    if (!quiet || !subject) continue;
    const when = `${quiet.since.slice(0, 16).replace("T", " ")} UTC`;
    const created = await raiseNotification(db, {
      workspaceId: s.workspace_id, kind: "scim_quiet", subject, milestone: "", severity: "warning",
      title: quiet.neverCalled
        ? `Entra ID has not called SCIM source ${s.name} since it was added (${when})`
        : `Entra ID has not called SCIM source ${s.name} since ${when}`,
      body: `Its provisioning service runs a cycle about every 40 minutes, and has been silent for more than ${scimQuietAfterHours} hours: changes made in Entra ID are not reaching Rollcall. ` +
        "In the Azure portal, open the enterprise application's Provisioning: check that Provisioning Status is On, that its Tenant URL and Secret Token are this source's (a new token issued here must be pasted there), and its provisioning logs. " +
        "This resolves itself when the service calls again.",
      link: `/w/${encodeURIComponent(s.workspace)}/sync/${encodeURIComponent(s.name)}`,
      data: { sourceId: s.id, source: s.name, lastRequestAt, since: quiet.since },
    });
    if (created) raised.push(created);
  }
  return raised;
}
