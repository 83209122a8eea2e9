import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { recordChanges, type ChangeEntry } from "../core/change-log.ts";
import type { ApplyInput } from "./apply.ts";
import { managerLabel as label } from "../storage/queries/managers.ts";

/**
 * Managers of a source that syncs them (config `syncManagers`): each synced user's manager is the Rollcall user the
 * source synced from the Entra user its mirror names as `manager` (fetch.ts withManager). Planned once every user of
 * the run exists (a manager may come in a later chunk, or in no chunk of a delta run at all), over the source's users
 * that have or want a manager, so a delta run and a full run end the same. A manager the source does not sync (out of
 * its scope, a guest left out, another tenant's contact) is left out, as group members outside the set are, with a
 * warning on the user when its Entra row changed.
 */
export interface ManagerRow {
  id: string;
  subject: string;
  externalId: string;
  /** The manager it has: its id and how the log names it. */
  current: { id: string; label: string } | null;
  /** The Entra object id its mirror names, and the source's user synced from it (if any). */
  wantedExternalId: string | null;
  wanted: { id: string; label: string } | null;
  /** Its mirror row changed since the last run (entra_dirty_users). */
  dirty: boolean;
}

export interface ManagerChange {
  userId: string;
  subject: string;
  before: { id: string; label: string } | null;
  after: { id: string; label: string } | null;
  /** Why the new manager is none although Entra ID names one. */
  reason?: string;
}

export interface ManagerPlan {
  changes: ManagerChange[];
  warnings: { userId: string; subject: string; externalId: string; message: string }[];
}

/** Pure: the rows (managerRows) → what changes and what is left out. */
export function planManagers(rows: readonly ManagerRow[]): ManagerPlan {
  const plan: ManagerPlan = { changes: [], warnings: [] };
  for (const row of rows) {
    const wanted = row.wanted && row.wanted.id !== row.id ? row.wanted : null;
    const leftOut = row.wantedExternalId !== null && wanted === null
      ? `manager: Entra ID names ${row.wantedExternalId}, a user this source does not sync (out of its scope, or not a user); left out`
      : undefined;
    const changes = (row.current?.id ?? null) !== (wanted?.id ?? null);
    if (changes) plan.changes.push({ userId: row.id, subject: row.subject, before: row.current, after: wanted, ...(leftOut && { reason: leftOut }) });
    else if (leftOut && row.dirty) plan.warnings.push({ userId: row.id, subject: row.subject, externalId: row.externalId, message: leftOut });
  }
  return plan;
}


/** The source's users that have a manager or whose Entra row names one. */
export async function managerRows(db: Db, sourceId: string): Promise<ManagerRow[]> {
  const { rows } = await sql<{ id: string; subject: string; external_id: string; cur_id: string | null; cur_label: string | null; want_ext: string | null; want_id: string | null; want_label: string | null; dirty: boolean }>`
    select u.id, coalesce(u.email, u.user_principal_name, u.display_name) as subject, u.external_id, cm.id as cur_id, ${label("cm")} as cur_label,
      e.data->>'manager' as want_ext, wm.id as want_id, ${label("wm")} as want_label,
      exists (select 1 from entra_dirty_users d where d.source_id = ${sourceId} and d.id = u.external_id) as dirty
    from users u
    join entra_users e on e.source_id = ${sourceId} and e.id = u.external_id
    left join users cm on cm.id = u.manager_id
    left join users wm on wm.source_id = ${sourceId} and wm.external_id = e.data->>'manager'
    where u.source_id = ${sourceId} and (u.manager_id is not null or e.data->>'manager' is not null)`.execute(db);
  return rows.map((r) => ({
    id: r.id, subject: r.subject, externalId: r.external_id, dirty: r.dirty, wantedExternalId: r.want_ext,
    current: r.cur_id ? { id: r.cur_id, label: r.cur_label ?? r.cur_id } : null,
    wanted: r.want_id ? { id: r.want_id, label: r.want_label ?? r.want_id } : null,
  }));
}

/** Plans and applies the source's managers in the run's transaction (a dry run's is rolled back, its log kept). Returns the warnings logged. */
export async function applyManagers(trx: Db, input: ApplyInput): Promise<{ changed: number; warnings: number }> {
  const plan = planManagers(await managerRows(trx, input.source.id));
  if (plan.changes.length) {
    await sql`update users u set manager_id = c.manager_id, updated_at = now()
      from unnest(${plan.changes.map((c) => c.userId)}::uuid[], ${plan.changes.map((c) => c.after?.id ?? null)}::uuid[]) as c(id, manager_id)
      where u.id = c.id`.execute(trx);
  }
  const entry = (e: Omit<ChangeEntry, "workspaceId" | "runId" | "actor">): ChangeEntry => ({ ...e, workspaceId: input.workspaceId, runId: input.runId, actor: input.actor });
  await recordChanges(trx, [
    ...plan.changes.map((c) => entry({
      userId: c.userId, subject: c.subject, action: "update",
      before: { manager: c.before?.label ?? null, managerId: c.before?.id ?? null },
      after: { manager: c.after?.label ?? null, managerId: c.after?.id ?? null, changed: ["manager"], ...(c.reason && { reason: c.reason }) },
    })),
    ...plan.warnings.map((w) => entry({ userId: w.userId, subject: w.subject, action: "warning", after: { externalId: w.externalId, messages: [w.message] } })),
  ]);
  return { changed: plan.changes.length, warnings: plan.warnings.length };
}
