import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { RunStatus } from "../storage/schema.ts";
import { runCountsOf, type RunCounts } from "../domain/run-counts.ts";
import { parseEntraConfig, runStateColumns, type RunStateColumns } from "./sources.ts";
import { scimConfigSchema } from "./scim-sources.ts";

export interface WorkspaceFigures {
  workspace: string;
  users: number;
  /** Notifications neither resolved nor dismissed (what the console's banner shows). */
  openNotifications: number;
}

/** The newest finished real (not dry) run of a source. */
export interface LastRunFigures {
  status: Exclude<RunStatus, "running">;
  startedAt: Date;
  finishedAt: Date | null;
  counts: RunCounts;
  graphRequests: number;
  graphThrottled: number;
}

export interface SourceFigures {
  workspace: string;
  source: string;
  type: "entra" | "scim";
  createdAt: Date;
  users: number;
  groups: number;
  running: boolean;
  /** Its newest real run stopped at the deletion threshold, waiting for an admin to approve or reject it. */
  awaitingReview: boolean;
  /**
   * When the credential expires, where its date is set: an Entra ID source's (what it syncs with), or a SCIM source's
   * sign-in with Microsoft (when sign-in is on with a credential stored, as its expiry notifications count it).
   */
  secretExpiry: { expiresOn: string; use: "sync" | "sign-in"; credential: "secret" | "certificate" } | null;
  lastRun: LastRunFigures | null;
  lastSuccessAt: Date | null;
  /** A SCIM source's: when its provisioning service last called (to the minute), or null. */
  lastRequestAt: Date | null;
}

export interface MetricsSnapshot {
  workspaces: WorkspaceFigures[];
  sources: SourceFigures[];
}

type SourceRow = RunStateColumns & {
  workspace: string; source: string; type: SourceFigures["type"]; config: unknown; secret_set: boolean; created_at: Date; last_request_at: Date | null; users: number; groups: number; last_success_at: Date | null;
  last_status: LastRunFigures["status"] | null; last_started_at: Date | null; last_finished_at: Date | null; last_counts: unknown; last_graph_requests: number | null; last_graph_throttled: number | null;
};

/**
 * Every workspace's and every Entra ID and SCIM source's figures for a Prometheus scrape: two statements whatever their number
 * (each source's counts and runs are read through its indexes: users and groups by source, runs by source and start).
 */
export async function metricsSnapshot(db: Db): Promise<MetricsSnapshot> {
  const [workspaces, sources] = await Promise.all([
    sql<{ workspace: string; users: number; open_notifications: number }>`select w.name as workspace,
        (select count(*)::int from users u where u.workspace_id = w.id) as users,
        (select count(*)::int from notifications n where n.workspace_id = w.id and n.resolved_at is null and n.dismissed_at is null) as open_notifications
      from workspaces w order by w.name`.execute(db),
    sql<SourceRow>`select w.name as workspace, s.name as source, s.type, s.config, s.secret_ciphertext is not null as secret_set, s.created_at, t.last_request_at, ${runStateColumns},
        (select count(*)::int from users u where u.source_id = s.id) as users,
        (select count(*)::int from groups g where g.source_id = s.id) as groups,
        (select r.finished_at from sync_runs r where r.source_id = s.id and not r.dry_run and r.status = 'succeeded' order by r.started_at desc limit 1) as last_success_at,
        last.status as last_status, last.started_at as last_started_at, last.finished_at as last_finished_at, last.counts as last_counts,
        last.graph_requests as last_graph_requests, last.graph_throttled as last_graph_throttled
      from sources s join workspaces w on w.id = s.workspace_id
      left join lateral (select * from sync_runs r where r.source_id = s.id and not r.dry_run and r.status <> 'running' order by r.started_at desc limit 1) last on true
      left join scim_tokens t on t.source_id = s.id
      where s.type in ('entra', 'scim')
      order by w.name, lower(s.name)`.execute(db),
  ]);
  return {
    workspaces: workspaces.rows.map((w) => ({ workspace: w.workspace, users: w.users, openNotifications: w.open_notifications })),
    sources: sources.rows.map(sourceFigures),
  };
}

function sourceFigures(row: SourceRow): SourceFigures {
  const lastRun = row.last_status === null ? null : {
    status: row.last_status,
    startedAt: new Date(row.last_started_at!),
    finishedAt: row.last_finished_at === null ? null : new Date(row.last_finished_at),
    counts: runCountsOf(row.last_counts as Record<string, unknown> | null),
    graphRequests: row.last_graph_requests ?? 0,
    graphThrottled: row.last_graph_throttled ?? 0,
  };
  return {
    workspace: row.workspace,
    source: row.source,
    type: row.type,
    createdAt: new Date(row.created_at),
    users: row.users,
    groups: row.groups,
    running: row.running !== null,
    awaitingReview: row.awaiting_review !== null,
    secretExpiry: secretExpiryOf(row),
    lastRun,
    lastSuccessAt: row.last_success_at === null ? null : new Date(row.last_success_at),
    lastRequestAt: row.last_request_at === null ? null : new Date(row.last_request_at),
  };
}

function secretExpiryOf(row: SourceRow): SourceFigures["secretExpiry"] {
  if (row.type === "entra") {
    const config = parseEntraConfig(row.config);
    return config.secretExpiresOn ? { expiresOn: config.secretExpiresOn, use: "sync", credential: config.credential } : null;
  }
  const config = scimConfigSchema.safeParse(row.config ?? {}).data;
  return config?.signIn && row.secret_set && config.secretExpiresOn ? { expiresOn: config.secretExpiresOn, use: "sign-in", credential: config.credential } : null;
}
