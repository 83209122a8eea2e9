import { sql } from "kysely";
import type { Db } from "../storage/database.ts";

export interface ChangeEntry {
  workspaceId: string;
  actor: string;
  subject: string;
  action: string;
  userId?: string | null;
  groupId?: string | null;
  runId?: string | null;
  before?: object | null;
  after?: object | null;
}

/** Every change to the directory is explained: who, what, before and after. */
export async function recordChange(db: Db, entry: ChangeEntry): Promise<void> {
  await db
    .insertInto("change_log")
    .values({
      workspace_id: entry.workspaceId,
      run_id: entry.runId ?? null,
      user_id: entry.userId ?? null,
      group_id: entry.groupId ?? null,
      subject: entry.subject,
      action: entry.action,
      before: JSON.stringify(entry.before ?? null),
      after: JSON.stringify(entry.after ?? null),
      actor: entry.actor,
    })
    .execute();
}

export interface ChangeRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  subject: string;
  runId: string | null;
  before: unknown;
  after: unknown;
}

export interface ChangeFilter {
  userId?: string;
  groupId?: string;
  runId?: string;
  action?: string;
}

function matching(db: Db, workspaceId: string, filter: ChangeFilter) {
  let query = db.selectFrom("change_log").where("workspace_id", "=", workspaceId);
  if (filter.userId) query = query.where("user_id", "=", filter.userId);
  if (filter.groupId) query = query.where("group_id", "=", filter.groupId);
  if (filter.runId) query = query.where("run_id", "=", filter.runId);
  if (filter.action) query = query.where("action", "=", filter.action);
  return query;
}

/** A page of entries: a run's in the order it made them, a user's or a group's newest first. */
export async function listChanges(db: Db, workspaceId: string, filter: ChangeFilter & { limit?: number; offset?: number }): Promise<ChangeRecord[]> {
  const rows = await matching(db, workspaceId, filter)
    .selectAll()
    .orderBy("id", filter.runId ? "asc" : "desc")
    .limit(filter.limit ?? 200)
    .offset(filter.offset ?? 0)
    .execute();
  return rows.map((r) => ({
    id: String(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    runId: r.run_id,
    before: r.before,
    after: r.after,
  }));
}

/** How many entries match the filter, and how many of them each action has (a run's log is browsed by action). */
async function countChanges(db: Db, workspaceId: string, filter: ChangeFilter): Promise<{ total: number; actions: Record<string, number> }> {
  const rows = await matching(db, workspaceId, { ...filter, action: undefined })
    .select(["action", sql<number>`count(*)::int`.as("n")])
    .groupBy("action")
    .orderBy(sql`count(*)`, "desc")
    .orderBy("action")
    .execute();
  const actions = Object.fromEntries(rows.map((r) => [r.action, r.n]));
  const total = filter.action ? (actions[filter.action] ?? 0) : rows.reduce((sum, r) => sum + r.n, 0);
  return { total, actions };
}

/** One page of the entries matching the filter, with the counts a pager and a "by kind" filter need. */
export async function pageOfChanges(
  db: Db,
  workspaceId: string,
  filter: ChangeFilter,
  page: { limit: number; offset?: number },
): Promise<{ items: ChangeRecord[]; total: number; actions: Record<string, number> }> {
  const items = await listChanges(db, workspaceId, { ...filter, ...page });
  return { items, ...(await countChanges(db, workspaceId, filter)) };
}
