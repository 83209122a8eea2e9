import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { Role, RunMode, RunStatus } from "../storage/schema.ts";
import type { Workspace } from "./workspaces.ts";
import { lastRunOf, parseEntraConfig, runStateColumns, type RunStateColumns, type SourceStatus } from "./sources.ts";
import { scimQuiet, secretDaysLeft, type ScimQuiet } from "../domain/source.ts";
import { scimConfigSchema } from "./scim-sources.ts";
import { attentionOf, byAttention, type Attention } from "../domain/workspace-attention.ts";

export interface SourceOverview {
  name: string;
  type: "entra";
  lastRun: SourceStatus["lastRun"];
  running: string | null;
  awaitingReview: string | null;
  nextRunAt: string | null;
  secret: { set: boolean; expiresOn: string | null; daysLeft: number | null };
}

/** A SCIM source: what it holds, and when Entra ID's provisioning service last called it (its freshness, as a run is an Entra ID source's). */
export interface ScimSourceOverview {
  name: string;
  type: "scim";
  users: number;
  groups: number;
  lastRequestAt: string | null;
  createdAt: string;
  /** Silent for more than 3 hours (never called: 3 hours after it was added); null otherwise. */
  quiet: ScimQuiet | null;
  /** When the credential signing its users in with Microsoft expires: null when sign-in is off, or no date is recorded. */
  signInSecret: { kind: "secret" | "certificate"; expiresOn: string; daysLeft: number } | null;
}

export interface WorkspaceOverview {
  id: string;
  name: string;
  role: Role;
  users: number;
  /** Notifications neither resolved nor dismissed (what the banner shows). */
  notifications: number;
  attention: Attention;
  sources: SourceOverview[];
  scimSources: ScimSourceOverview[];
}

type SourceRow = RunStateColumns & {
  workspace_id: string; name: string; config: unknown; secret_set: boolean;
  last_id: string | null; last_status: RunStatus | null; last_mode: RunMode | null; last_dry_run: boolean | null; last_counts: unknown; last_started_at: Date | null; last_finished_at: Date | null;
};

type ScimRow = { workspace_id: string; name: string; config: unknown; secret_set: boolean; created_at: Date; last_request_at: Date | null; users: number; groups: number };

/**
 * The given workspaces (those the caller may use) at a glance, the ones needing attention first: four queries
 * whatever their number (their Entra ID sources with run state, their SCIM sources with their counts and last
 * request, their users counted, their open notifications counted).
 */
export async function workspaceOverview(db: Db, workspaces: (Workspace & { role: Role })[], now = new Date()): Promise<WorkspaceOverview[]> {
  if (workspaces.length === 0) return [];
  const ids = sql.join(workspaces.map((w) => w.id));
  const [sources, scimSources, users, notifications] = await Promise.all([
    sql<SourceRow>`select s.workspace_id, s.name, s.config, s.secret_ciphertext is not null as secret_set, ${runStateColumns},
        last.id::text as last_id, last.status as last_status, last.mode as last_mode, last.dry_run as last_dry_run, last.counts as last_counts,
        last.started_at as last_started_at, last.finished_at as last_finished_at
      from sources s
      left join lateral (select * from sync_runs r where r.source_id = s.id order by r.started_at desc limit 1) last on true
      where s.type = 'entra' and s.workspace_id in (${ids})
      order by lower(s.name)`.execute(db),
    sql<ScimRow>`select s.workspace_id, s.name, s.config, s.secret_ciphertext is not null as secret_set, s.created_at, t.last_request_at,
        (select count(*)::int from users where source_id = s.id) as users, (select count(*)::int from groups where source_id = s.id) as groups
      from sources s join scim_tokens t on t.source_id = s.id
      where s.type = 'scim' and s.workspace_id in (${ids})
      order by lower(s.name)`.execute(db),
    sql<{ workspace_id: string; n: number }>`select workspace_id, count(*)::int as n from users where workspace_id in (${ids}) group by workspace_id`.execute(db),
    sql<{ workspace_id: string; n: number }>`select workspace_id, count(*)::int as n from notifications
      where workspace_id in (${ids}) and resolved_at is null and dismissed_at is null group by workspace_id`.execute(db),
  ]);
  const countOf = (rows: { workspace_id: string; n: number }[]) => new Map(rows.map((r) => [r.workspace_id, r.n]));
  const [userCounts, notificationCounts] = [countOf(users.rows), countOf(notifications.rows)];
  return workspaces
    .map((w) => {
      const own = sources.rows.filter((s) => s.workspace_id === w.id).map((s) => sourceOverview(s, now));
      const scim = scimSources.rows.filter((s) => s.workspace_id === w.id).map((s) => scimSourceOverview(s, now));
      return { id: w.id, name: w.name, role: w.role, users: userCounts.get(w.id) ?? 0, notifications: notificationCounts.get(w.id) ?? 0, attention: attentionOf(own, scim), sources: own, scimSources: scim };
    })
    .sort(byAttention);
}

function sourceOverview(row: SourceRow, now: Date): SourceOverview {
  const config = parseEntraConfig(row.config);
  const last = row.last_id === null ? null : lastRunOf({
    id: row.last_id, status: row.last_status!, mode: row.last_mode!, dry_run: row.last_dry_run!, counts: row.last_counts, started_at: row.last_started_at!, finished_at: row.last_finished_at,
  });
  return {
    name: row.name,
    type: "entra",
    lastRun: last,
    running: row.running,
    awaitingReview: row.awaiting_review,
    nextRunAt: config.schedule && row.next_run_at ? new Date(row.next_run_at).toISOString() : null,
    secret: { set: row.secret_set, expiresOn: config.secretExpiresOn, daysLeft: config.secretExpiresOn ? secretDaysLeft(config.secretExpiresOn, now) : null },
  };
}

function scimSourceOverview(row: ScimRow, now: Date): ScimSourceOverview {
  const [createdAt, lastRequestAt] = [new Date(row.created_at).toISOString(), row.last_request_at && new Date(row.last_request_at).toISOString()];
  const config = scimConfigSchema.safeParse(row.config).data;
  const expiresOn = config?.signIn && row.secret_set ? config.secretExpiresOn : null;
  const signInSecret = expiresOn ? { kind: config!.credential, expiresOn, daysLeft: secretDaysLeft(expiresOn, now) } : null;
  return { name: row.name, type: "scim", users: row.users, groups: row.groups, lastRequestAt, createdAt, quiet: scimQuiet({ createdAt, lastRequestAt }, now), signInSecret };
}
