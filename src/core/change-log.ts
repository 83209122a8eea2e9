import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { isGuid } from "../domain/guid.ts";
import { changeKind, isMembershipKind, membershipKinds, type ChangeAction, type ChangeKind } from "../domain/change.ts";
import { actorPatterns, type RunOfChange } from "../domain/actor.ts";

export interface ChangeEntry {
  workspaceId: string;
  actor: string;
  subject: string;
  action: ChangeAction;
  userId?: string | null;
  groupId?: string | null;
  /** A membership entry's member when it is a group: the entry is in that group's history too. */
  memberGroupId?: string | null;
  runId?: string | null;
  before?: object | null;
  after?: object | null;
}

/** Every change to the directory is explained: who, what, before and after. */
export async function recordChange(db: Db, entry: ChangeEntry): Promise<void> {
  await recordChanges(db, [entry]);
}

export async function recordChanges(db: Db, entries: ChangeEntry[]): Promise<void> {
  // 10 parameters a row: batches stay far below PostgreSQL's 65,535 per statement.
  for (let at = 0; at < entries.length; at += 1000) {
    await db
      .insertInto("change_log")
      .values(
        entries.slice(at, at + 1000).map((entry) => ({
          workspace_id: entry.workspaceId,
          run_id: entry.runId ?? null,
          user_id: entry.userId ?? null,
          group_id: entry.groupId ?? null,
          member_group_id: entry.memberGroupId ?? null,
          subject: entry.subject,
          action: entry.action,
          before: JSON.stringify(entry.before ?? null),
          after: JSON.stringify(entry.after ?? null),
          actor: entry.actor,
        })),
      )
      .execute();
  }
}

export interface ChangeRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  /** The action's kind (changeKind): a membership change without its group. */
  kind: ChangeKind;
  subject: string;
  runId: string | null;
  /** The run that made it: its source and who or what started it (changeActor words it); null for a change made outside a run. */
  run: RunOfChange | null;
  before: unknown;
  after: unknown;
}

export interface ChangeFilter {
  userId?: string;
  groupId?: string;
  runId?: string;
  /** A kind of change (changeKind), or one action exactly. */
  action?: string | undefined;
  /** The workspace's activity: entries no sync run made, by one actor if given. */
  activity?: { actor?: string | undefined };
}

/** changeKind in SQL. */
const kindOfAction = sql<string>`case ${sql.join(membershipKinds.map((kind) => sql`when action like ${sql.lit(`${kind} %`)} then ${sql.lit(kind)}`), sql` `)} else action end`;

function matching(db: Db, workspaceId: string, filter: ChangeFilter) {
  let query = db.selectFrom("change_log").where("workspace_id", "=", workspaceId);
  if (filter.userId) query = query.where("user_id", "=", filter.userId);
  // A group's history: its own entries and its members', and its joining and leaving other groups (member_group_id).
  const { groupId } = filter;
  if (groupId) query = query.where((eb) => eb.or([eb("group_id", "=", groupId), eb("member_group_id", "=", groupId)]));
  if (filter.runId) query = query.where("run_id", "=", filter.runId);
  const kind = filter.action;
  if (kind) query = isMembershipKind(kind) ? query.where("action", "like", `${kind} %`) : query.where("action", "=", kind);
  if (filter.activity) query = query.where("run_id", "is", null);
  if (filter.activity?.actor) query = query.where(sql<boolean>`lower(actor) like any(${actorPatterns(filter.activity.actor)}::text[])`);
  return query;
}

/**
 * Every entry matching the filter, a page at a time by id (a first sync logs 100,000 entries): a run's in
 * the order it made them, anything else newest first.
 */
export async function* allChanges(db: Db, workspaceId: string, filter: ChangeFilter, pageSize = 2000): AsyncGenerator<ChangeRecord[]> {
  const order = filter.runId ? "asc" : "desc";
  for (let after: string | null = null; ; ) {
    let query = matching(db, workspaceId, filter);
    if (after !== null) query = query.where("id", order === "asc" ? ">" : "<", after as never);
    const rows = await query.selectAll().orderBy("id", order).limit(pageSize).execute();
    if (rows.length) yield await withRuns(db, rows.map(toRecord));
    if (rows.length < pageSize) return;
    after = String(rows.at(-1)!.id);
  }
}

/**
 * A page of entries: a run's in the order it made them, a user's or a group's newest first. `before`: older than an
 * entry already seen, a page that new entries logged meanwhile do not shift; `after`: past an entry in the list's own
 * order, a deep page costing what the first does.
 */
export async function listChanges(
  db: Db,
  workspaceId: string,
  filter: ChangeFilter & { limit?: number; offset?: number; before?: string | undefined; after?: string | undefined },
): Promise<ChangeRecord[]> {
  const order = filter.runId ? "asc" : "desc";
  let query = matching(db, workspaceId, filter);
  if (filter.before) query = query.where("id", "<", filter.before as never);
  if (filter.after) query = query.where("id", order === "asc" ? ">" : "<", filter.after as never);
  const rows = await query
    .selectAll()
    .orderBy("id", order)
    .limit(filter.limit ?? 200)
    .offset(filter.offset ?? 0)
    .execute();
  return withRuns(db, rows.map(toRecord));
}

/** The records with the runs that made them, read in one query (a page names few runs; a run's own log, one). */
async function withRuns(db: Db, records: ChangeRecord[]): Promise<ChangeRecord[]> {
  const ids = [...new Set(records.flatMap((r) => (r.runId ? [r.runId] : [])))];
  if (!ids.length) return records;
  const rows = await db
    .selectFrom("sync_runs as r")
    .leftJoin("sources as s", "s.id", "r.source_id")
    .select(["r.id", "r.trigger", "r.requested_by", "s.name"])
    .where("r.id", "in", ids)
    .execute();
  const runs = new Map(rows.map((r) => [String(r.id), { source: r.name, trigger: r.trigger, requestedBy: r.requested_by } satisfies RunOfChange]));
  return records.map((r) => (r.runId ? { ...r, run: runs.get(r.runId) ?? null } : r));
}

const toRecord = (r: { id: string | number | bigint; at: Date | string; actor: string; action: string; subject: string; run_id: string | null; before: unknown; after: unknown }): ChangeRecord => ({
  id: String(r.id),
  at: new Date(r.at).toISOString(),
  actor: r.actor,
  action: r.action,
  kind: changeKind(r.action),
  subject: r.subject,
  runId: r.run_id,
  run: null,
  before: r.before,
  after: r.after,
});

/** A page of the workspace's activity; `next` is the `before` of the following page, null on the last. */
export interface ActivityPage {
  items: ChangeRecord[];
  next: string | null;
}

/**
 * The workspace's activity, newest first: every change not made by a sync run (those are read by run):
 * people's edits in the console, the CLI and the API, imports, sources' settings, tokens, the workspace's
 * settings. Paged by entry: `next` is the `before` of the following page, null on the last.
 */
export async function activityPage(
  db: Db,
  workspaceId: string,
  filter: { actor?: string | undefined; action?: string | undefined },
  page: { limit: number; before?: string | undefined },
): Promise<ActivityPage> {
  let query = matching(db, workspaceId, { action: filter.action, activity: { actor: filter.actor } });
  if (page.before) query = query.where("id", "<", page.before as never);
  const rows = await query.selectAll().orderBy("id", "desc").limit(page.limit + 1).execute();
  const items = rows.slice(0, page.limit).map(toRecord);
  return { items, next: rows.length > page.limit ? items.at(-1)!.id : null };
}

/** How many entries match the filter, and how many of them each kind has (a run's log is browsed by kind). */
export async function countChanges(db: Db, workspaceId: string, filter: ChangeFilter): Promise<{ total: number; actions: Record<string, number> }> {
  const rows = await matching(db, workspaceId, { ...filter, action: undefined })
    .select([kindOfAction.as("kind"), sql<number>`count(*)::int`.as("n")])
    .groupBy(kindOfAction)
    .orderBy(sql`count(*)`, "desc")
    .orderBy(kindOfAction)
    .execute();
  const actions = Object.fromEntries(rows.map((r) => [r.kind, r.n]));
  if (!filter.action) return { total: rows.reduce((sum, r) => sum + r.n, 0), actions };
  if (Object.hasOwn(actions, filter.action)) return { total: actions[filter.action]!, actions };
  // One membership action exactly ("add to group Pilots"), or one this log does not have.
  const { n } = await matching(db, workspaceId, filter).select(sql<number>`count(*)::int`.as("n")).executeTakeFirstOrThrow();
  return { total: n, actions };
}

/**
 * The id of a user deleted from the workspace, by its id, email or userPrincipalName (its last delete entry): its
 * history outlives it. Read only when no user has the key; the delete entries have an index of their own (migration 030).
 */
export async function deletedUserId(db: Db, workspaceId: string, key: string): Promise<string | undefined> {
  const byId = isGuid(key);
  const row = await db
    .selectFrom("change_log")
    .select("user_id")
    .where("workspace_id", "=", workspaceId)
    .where("action", "=", "delete")
    .where(byId ? sql<boolean>`user_id = ${key}::uuid` : sql<boolean>`user_id IS NOT NULL AND (lower(subject) = lower(${key}) OR lower(before->>'email') = lower(${key}) OR lower(before->>'userPrincipalName') = lower(${key}))`)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.user_id ?? undefined;
}

/** A group deleted from the workspace, as its last "delete group" entry has it: its history outlives it. */
export interface DeletedGroup {
  id: string;
  name: string;
  deletedAt: string;
  deletedBy: string;
}

/** The group deleted from the workspace by its id or name (its newest delete entry), read only when no group has the key. */
export async function deletedGroup(db: Db, workspaceId: string, key: string): Promise<DeletedGroup | undefined> {
  const row = await db
    .selectFrom("change_log")
    .select(["group_id", "subject", "at", "actor"])
    .where("workspace_id", "=", workspaceId)
    .where("action", "=", "delete group")
    .where(isGuid(key) ? sql<boolean>`group_id = ${key}::uuid` : sql<boolean>`group_id IS NOT NULL AND lower(subject) = lower(${key})`)
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.group_id ? { id: row.group_id, name: row.subject, deletedAt: new Date(row.at as unknown as string | Date).toISOString(), deletedBy: row.actor } : undefined;
}

/** One page of the entries matching the filter, with the counts a pager and a "by kind" filter need. */
export async function pageOfChanges(
  db: Db,
  workspaceId: string,
  filter: ChangeFilter,
  page: { limit: number; offset?: number; before?: string | undefined; after?: string | undefined },
): Promise<{ items: ChangeRecord[]; total: number; actions: Record<string, number> }> {
  const items = await listChanges(db, workspaceId, { ...filter, ...page });
  return { items, ...(await countChanges(db, workspaceId, filter)) };
}
