import { sql, type ExpressionBuilder, type RawBuilder, type SqlBool } from "kysely";
import type { Db } from "../database.ts";
import type { Group, GroupMember, GroupRecord, NestedGroup } from "../../domain/group.ts";
import { composed, type SourceType } from "../../domain/user.ts";
import { isGuid } from "../../domain/guid.ts";
import type { Database, GroupsTable } from "../schema.ts";
import { alphabetical } from "./users.ts";
import { memberContains, textContains } from "./user-search.ts";

/*
 * A group may hold the whole tenant (an "All Employees" of 96,000 users): nothing here builds a group's member list
 * unless asked, and never for rows a list skips. Lists page the bare group ids first, then read that page's counts;
 * members come a page at a time (selectGroupMembers) or, when asked for, in one set-based query (selectMemberLabels).
 */

/**
 * Direct members counted through the two partial indexes on (group_id, member_…) (001_directory): group_members has
 * no index on group_id alone, so `count(*) where group_id = …` read the whole table, per group shown. An index-only
 * scan each: 96,000 members in ~0.1 s, 40 in under a millisecond.
 */
const memberCount = sql<number>`(
  (select count(*) from group_members m where m.group_id = g.id and m.member_user_id is not null)
  + (select count(*) from group_members m where m.group_id = g.id and m.member_group_id is not null))::int`;

function recordSelect(db: Db) {
  return db.selectFrom("groups as g").select(["g.id", "g.name", "g.description", "g.source_type", "g.source_name", "g.external_id", "g.created_at", "g.updated_at"]);
}

function groupSelect(db: Db) {
  return recordSelect(db).select(memberCount.as("member_count"));
}

type RecordRow = Awaited<ReturnType<ReturnType<typeof recordSelect>["executeTakeFirstOrThrow"]>>;

function toRecord(row: RecordRow): GroupRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    source: { type: row.source_type, name: row.source_name, externalId: row.external_id },
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function toGroup(row: RecordRow & { member_count: number }): Group {
  const { createdAt, updatedAt, ...record } = toRecord(row);
  return { ...record, memberCount: row.member_count, createdAt, updatedAt };
}

export interface GroupFilter {
  q?: string | undefined;
  name?: string | undefined;
  source?: string | undefined;
  /** Any of these source types. */
  sourceType?: SourceType[] | undefined;
}

function whereGroups(workspaceId: string, filter: GroupFilter) {
  return (eb: ExpressionBuilder<Database & { g: GroupsTable }, "g">) =>
    eb.and([
      eb("g.workspace_id", "=", workspaceId),
      ...(filter.q ? [textContains("g.name", filter.q)] : []),
      ...(filter.name ? [sql<SqlBool>`lower(g.name) = lower(${filter.name})`] : []),
      ...(filter.source ? [sql<SqlBool>`lower(g.source_name) = lower(${filter.source})`] : []),
      ...(filter.sourceType ? [eb("g.source_type", "in", filter.sourceType)] : []),
    ]);
}

const byName = sql.raw(`${alphabetical("g.name")}, g.id`);

/** A page of groups in name order, with how many match. `limit: null`: every matching group. */
export async function selectGroups(db: Db, workspaceId: string, filter: GroupFilter, page: { limit: number | null; offset: number }): Promise<{ items: Group[]; total: number }> {
  const matches = whereGroups(workspaceId, filter);
  const { total } = await db.selectFrom("groups as g").where(matches).select(sql<number>`count(*)::int`.as("total")).executeTakeFirstOrThrow();
  // Page the bare ids first, so that the counts run for this page's groups only, not for every row OFFSET skips.
  let ids = db.selectFrom("groups as g").select("g.id").where(matches).orderBy(byName);
  if (page.limit !== null) ids = ids.limit(page.limit);
  if (page.offset) ids = ids.offset(page.offset);
  const pageIds = (await ids.execute()).map((r) => r.id);
  if (pageIds.length === 0) return { items: [], total };
  const rows = await groupSelect(db).where("g.id", "in", pageIds).execute();
  const position = new Map(pageIds.map((id, index) => [id, index]));
  rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  return { items: rows.map(toGroup), total };
}

const byKey = (key: string) => (eb: ExpressionBuilder<Database & { g: GroupsTable }, "g">) =>
  eb.or([...(isGuid(key) ? [eb("g.id", "=", key)] : []), sql<SqlBool>`lower(g.name) = lower(${composed(key)})`]);

/** A group by id or name (case-insensitive), with its member count, without its members. */
export async function selectGroup(db: Db, workspaceId: string, key: string): Promise<Group | undefined> {
  const row = await groupSelect(db).where("g.workspace_id", "=", workspaceId).where(byKey(key)).executeTakeFirst();
  return row && toGroup(row);
}

/** A group's own row by id or name (case-insensitive): nothing counted, nothing listed. */
export async function selectGroupRecord(db: Db, workspaceId: string, key: string): Promise<GroupRecord | undefined> {
  const row = await recordSelect(db).where("g.workspace_id", "=", workspaceId).where(byKey(key)).executeTakeFirst();
  return row && toRecord(row);
}

/**
 * The direct members of the given groups as rows (group_id, id, kind, label, display_name, email), through the
 * partial indexes. `label` is what `members` lists: a user's email, else UPN, else display name; a group's name.
 */
function memberRows(workspaceId: string, groupIds: string[], q?: string) {
  return sql`
    select m.group_id, u.id, 'user' as kind, coalesce(u.email, u.user_principal_name, u.display_name) as label, u.display_name, u.email
      from group_members m join users u on u.id = m.member_user_id
     where m.group_id = any(${groupIds}::uuid[]) and m.member_user_id is not null and m.workspace_id = ${workspaceId}
       ${q ? sql`and ${memberContains("u", q)}` : sql``}
    union all
    select m.group_id, c.id, 'group', c.name, c.name, null
      from group_members m join groups c on c.id = m.member_group_id
     where m.group_id = any(${groupIds}::uuid[]) and m.member_group_id is not null and m.workspace_id = ${workspaceId}
       ${q ? sql`and ${textContains("c.name", q)}` : sql``}`;
}

const byLabel = sql.raw(`${alphabetical("label")}, id`);

/** The member labels of the given groups, each group's sorted, in one set-based query (a page of groups, or all of them). */
export async function selectMemberLabels(db: Db, workspaceId: string, groupIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  const { rows } = await sql<{ group_id: string; labels: string[] }>`
    select group_id, array_agg(label order by ${byLabel}) as labels from (${memberRows(workspaceId, groupIds)}) members group by group_id`.execute(db);
  for (const row of rows) result.set(row.group_id, row.labels);
  return result;
}

/** The names of the groups each of the given groups is a direct member of, each list sorted, in one statement. */
export async function selectParentNames(db: Db, workspaceId: string, groupIds: string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  const { rows } = await sql<{ member_group_id: string; names: string[] }>`
    select m.member_group_id, array_agg(p.name order by ${sql.raw(alphabetical("p.name"))}, p.id) as names
      from group_members m join groups p on p.id = m.group_id
     where m.member_group_id = any(${groupIds}::uuid[]) and m.workspace_id = ${workspaceId}
     group by m.member_group_id`.execute(db);
  for (const row of rows) result.set(row.member_group_id, row.names);
  return result;
}

/**
 * Memberships about to end with a deletion, each recorded first in its member's history ("remove from group NAME",
 * with why: `reason`, an expression over the group `g` and a member group `c`), in one statement written before the
 * delete takes them. `memberships`: a condition on the membership `m` and its group `g`.
 */
async function logLeaving(db: Db, entry: { workspaceId: string; runId?: string; actor: string; memberships: RawBuilder<unknown>; reason: RawBuilder<unknown> }): Promise<void> {
  await sql`insert into change_log (workspace_id, run_id, user_id, group_id, member_group_id, subject, action, before, after, actor)
    select ${entry.workspaceId}::uuid, ${entry.runId ?? null}::uuid, m.member_user_id, m.group_id, m.member_group_id, coalesce(u.email, u.user_principal_name, u.display_name, c.name),
      'remove from group ' || g.name, null, json_build_object('reason', ${entry.reason}), ${entry.actor}::text
    from group_members m join groups g on g.id = m.group_id left join users u on u.id = m.member_user_id left join groups c on c.id = m.member_group_id
    where ${entry.memberships}
    order by coalesce(m.member_user_id, m.member_group_id), m.group_id`.execute(db);
}

/**
 * The direct members of these groups, users and groups alike, each half through its partial index on (group_id,
 * member_…): group_members has no index on group_id alone, and a deleted group of 20,000 members would read it whole.
 */
const membersOf = (groupIds: string[]) =>
  sql`(m.group_id = any(${groupIds}::uuid[]) and m.member_user_id is not null or m.group_id = any(${groupIds}::uuid[]) and m.member_group_id is not null)`;

/** The members of a group an admin deletes leave it (20,000 in 0.4-2 s on PGlite: BENCHMARKS.md); the groups it was in are the caller's to log. */
export async function logMembersLeaving(db: Db, entry: { workspaceId: string; actor: string; groupId: string; reason: string }): Promise<void> {
  await logLeaving(db, { workspaceId: entry.workspaceId, actor: entry.actor, memberships: membersOf([entry.groupId]), reason: sql`${entry.reason}::text` });
}

/**
 * Groups a sync run deletes take their memberships with them: each of their members, and each group they were in,
 * records the membership's end, as an admin's delete of a group does.
 */
export async function logGroupsDeletedBySync(db: Db, entry: { workspaceId: string; runId: string; actor: string; groupIds: string[]; sourceName: string }): Promise<void> {
  const { workspaceId, runId, actor, groupIds } = entry;
  await logLeaving(db, {
    workspaceId, runId, actor,
    memberships: sql`(${membersOf(groupIds)} or m.member_group_id = any(${groupIds}::uuid[]))`,
    reason: sql`'group "' || case when g.id = any(${groupIds}::uuid[]) then g.name else c.name end || '" was deleted by the sync of Entra ID source "' || ${entry.sourceName}::text || '"'`,
  });
}

/**
 * Users about to be deleted leave their groups with them: each group a user was a direct member of records that they
 * left it, and why (their memberships would otherwise vanish from the group's history unsaid). `users`: a query of
 * their ids; `groupsOtherThan`: a source whose own groups are deleted too.
 */
export async function logUsersLeavingGroups(db: Db, entry: { workspaceId: string; runId?: string; actor: string; users: RawBuilder<unknown>; reason: string; groupsOtherThan?: string }): Promise<void> {
  const otherGroups = entry.groupsOtherThan ? sql`and g.source_id is distinct from ${entry.groupsOtherThan}::uuid` : sql``;
  const { workspaceId, runId, actor } = entry;
  await logLeaving(db, { workspaceId, ...(runId && { runId }), actor, memberships: sql`m.member_user_id in (${entry.users}) ${otherGroups}`, reason: sql`${entry.reason}::text` });
}

/**
 * How many distinct users a group holds at any depth: its direct users and those of the groups nested in it, each
 * once (what the users filter group=NAME&nested=true lists). The nested groups are found first through the partial
 * member index (UNION keeps each once, so it ends even on groups that held each other); a group holding none counts
 * its users as its member count does, without comparing them (a 96,000-member group: see README).
 */
export async function countNestedUsers(db: Db, groupId: string): Promise<number> {
  const { rows: groups } = await sql<{ id: string }>`
    with recursive inside(id) as (
      select ${groupId}::uuid
      union
      select m.member_group_id from group_members m join inside on m.group_id = inside.id where m.member_group_id is not null
    ) select id from inside`.execute(db);
  const ids = groups.map((g) => g.id);
  const { rows } = await (ids.length === 1
    ? sql<{ n: number }>`select count(*)::int as n from group_members m where m.group_id = ${groupId} and m.member_user_id is not null`
    : sql<{ n: number }>`select count(distinct m.member_user_id)::int as n from group_members m where m.group_id = any(${ids}::uuid[]) and m.member_user_id is not null`
  ).execute(db);
  return rows[0]?.n ?? 0;
}

/**
 * The groups a user is in only through nesting (a group holding one of theirs, at any depth), each with the user's
 * own groups it holds, sorted: walked up from the user's memberships by the member indexes, one statement. UNION
 * keeps each (group, own group) pair once, so the walk ends even on groups that held each other.
 */
export async function selectNestedGroupsOf(db: Db, userId: string): Promise<NestedGroup[]> {
  const { rows } = await sql<NestedGroup>`
    with recursive up(group_id, through_id) as (
      select m.group_id, m.group_id from group_members m where m.member_user_id = ${userId}
      union
      select p.group_id, up.through_id from group_members p join up on p.member_group_id = up.group_id
    )
    select g.name, array_agg(t.name order by ${icu("t.name")}, t.id) as through
      from up join groups g on g.id = up.group_id join groups t on t.id = up.through_id
     where up.group_id not in (select group_id from group_members where member_user_id = ${userId})
     group by g.id, g.name
     order by ${icu("g.name")}, g.id`.execute(db);
  return rows;
}

/** The groups `groupId` is a direct member of: what deleting it takes it out of. */
export async function selectParents(db: Db, groupId: string): Promise<{ id: string; name: string }[]> {
  return db.selectFrom("group_members as m").innerJoin("groups as p", "p.id", "m.group_id").select(["p.id", "p.name"]).where("m.member_group_id", "=", groupId).orderBy("p.id").execute();
}

const icu = (expression: string) => sql.raw(alphabetical(expression));

/**
 * The first `limit` direct members of one group in the members order: its member groups by name, then its users by
 * display name (then id), after `after`, matching `q`. The users' half walks users_list_idx (workspace, display name,
 * id) and looks each one up in the group's membership index, so a page of a 96,000-member group costs a few
 * milliseconds at any depth (sorting its members' labels took half a second a page).
 */
function memberPage(workspaceId: string, groupId: string, page: { limit: number; after?: MemberCursor | undefined; q?: string | undefined }) {
  const { after } = page;
  const groupsPart =
    after?.kind === "user"
      ? sql`select null::uuid as id, 'group' as kind, null::text as display_name, null::text as email, null::text as user_principal_name where false`
      : sql`select c.id, 'group' as kind, c.name as display_name, null::text as email, null::text as user_principal_name
              from group_members m join groups c on c.id = m.member_group_id
             where m.group_id = ${groupId} and m.member_group_id is not null
               ${page.q ? sql`and ${textContains("c.name", page.q)}` : sql``}
               ${after ? sql`and (${icu("c.name")}, c.id) > (${after.name} collate "und-x-icu", ${after.id}::uuid)` : sql``}
             order by ${icu("c.name")}, c.id limit ${page.limit}`;
  const usersPart = sql`select u.id, 'user', u.display_name, u.email, u.user_principal_name
      from users u join group_members m on m.member_user_id = u.id and m.group_id = ${groupId} and m.member_user_id is not null
     where u.workspace_id = ${workspaceId}
       ${page.q ? sql`and ${memberContains("u", page.q)}` : sql``}
       ${after?.kind === "user" ? sql`and (${icu("u.display_name")}, u.id) > (${after.name} collate "und-x-icu", ${after.id}::uuid)` : sql``}
     order by ${icu("u.display_name")}, u.id limit ${page.limit}`;
  return sql<{ id: string; kind: "user" | "group"; display_name: string; email: string | null; user_principal_name: string | null }>`
    select * from ((${groupsPart}) union all (${usersPart})) page order by kind, ${icu("display_name")}, id limit ${page.limit}`;
}

/**
 * A group's labels as GET …/groups/{id} lists them: every member's, sorted, for a group of up to `cap` members; for a
 * bigger one, the first `cap` members of the members order (…/members), their labels sorted the same way.
 */
export async function selectFirstMemberLabels(db: Db, workspaceId: string, groupId: string, cap: number): Promise<string[]> {
  const { rows } = await sql<{ label: string }>`
    select coalesce(email, user_principal_name, display_name) as label from (${memberPage(workspaceId, groupId, { limit: cap })}) first
     order by ${icu("coalesce(email, user_principal_name, display_name)")}, id`.execute(db);
  return rows.map((r) => r.label);
}

/** Where a page of members ended: the last member's kind, name and id (the order is groups, then users, by name, then id). */
export interface MemberCursor {
  kind: "user" | "group";
  name: string;
  id: string;
}

/**
 * A page of a group's direct members after `after` (keyset: a deep page costs what the first does), matching `q`
 * (name, email or UPN contains), with how many match and where the next page starts.
 */
export async function selectGroupMembers(
  db: Db,
  workspaceId: string,
  groupId: string,
  page: { limit: number; after?: MemberCursor | undefined; q?: string | undefined },
): Promise<{ items: GroupMember[]; total: number; next: MemberCursor | null }> {
  const { rows } = await memberPage(workspaceId, groupId, { ...page, limit: page.limit + 1 }).execute(db);
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown.at(-1);
  return {
    items: shown.map((r) => ({ id: r.id, kind: r.kind, displayName: r.display_name, email: r.email })),
    // A first page that holds them all is the count: a search for a rare name reads the members once.
    total: !more && !page.after ? rows.length : await countMembers(db, workspaceId, groupId, page.q),
    next: more && last ? { kind: last.kind, name: last.display_name, id: last.id } : null,
  };
}

async function countMembers(db: Db, workspaceId: string, groupId: string, q: string | undefined): Promise<number> {
  const { rows } = q
    ? await sql<{ total: number }>`select count(*)::int as total from (${memberRows(workspaceId, [groupId], q)}) members`.execute(db)
    : await sql<{ total: number }>`select ${memberCount} as total from groups g where g.id = ${groupId}`.execute(db);
  return rows[0]?.total ?? 0;
}

/** Would making `memberGroupId` a member of `groupId` close a loop (groupId already inside memberGroupId)? */
export async function wouldCreateCycle(db: Db, groupId: string, memberGroupId: string): Promise<boolean> {
  if (groupId === memberGroupId) return true;
  const result = await sql<{ found: boolean }>`
    with recursive inside(id) as (
      select member_group_id from group_members where group_id = ${memberGroupId} and member_group_id is not null
      union
      select m.member_group_id from group_members m join inside on m.group_id = inside.id where m.member_group_id is not null
    )
    select exists (select 1 from inside where id = ${groupId}) as found`.execute(db);
  return result.rows[0]?.found ?? false;
}
