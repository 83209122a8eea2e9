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

export async function listChanges(
  db: Db,
  workspaceId: string,
  filter: { userId?: string; groupId?: string; runId?: string; limit?: number },
): Promise<ChangeRecord[]> {
  let query = db.selectFrom("change_log").selectAll().where("workspace_id", "=", workspaceId);
  if (filter.userId) query = query.where("user_id", "=", filter.userId);
  if (filter.groupId) query = query.where("group_id", "=", filter.groupId);
  if (filter.runId) query = query.where("run_id", "=", filter.runId);
  const rows = await query.orderBy("id", filter.runId ? "asc" : "desc").limit(filter.limit ?? 200).execute();
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
