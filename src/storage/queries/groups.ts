import { sql, type ExpressionBuilder, type SqlBool } from "kysely";
import type { Db } from "../database.ts";
import type { Group } from "../../domain/group.ts";
import type { Database, GroupsTable } from "../schema.ts";
import { alphabetical, containsPattern } from "./users.ts";

/** Member labels: a user's email (else UPN, else display name) and a group's name, sorted. */
const membersExpression = sql<string[]>`coalesce((
  select array_agg(label order by ${sql.raw(alphabetical("label"))}) from (
    select coalesce(u.email, u.user_principal_name, u.display_name) as label
      from group_members m join users u on u.id = m.member_user_id where m.group_id = g.id
    union all
    select c.name from group_members m join groups c on c.id = m.member_group_id where m.group_id = g.id
  ) labels), '{}')`;

function groupSelect(db: Db, withMembers: boolean) {
  return db
    .selectFrom("groups as g")
    .select([
      "g.id", "g.name", "g.description", "g.source_type", "g.source_name", "g.external_id", "g.created_at", "g.updated_at",
      sql<number>`(select count(*)::int from group_members m where m.group_id = g.id)`.as("member_count"),
      (withMembers ? membersExpression : sql<string[]>`'{}'::text[]`).as("members"),
    ]);
}

type GroupRow = Awaited<ReturnType<ReturnType<typeof groupSelect>["executeTakeFirstOrThrow"]>>;

function toGroup(row: GroupRow): Group {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    source: { type: row.source_type, name: row.source_name, externalId: row.external_id },
    members: row.members,
    memberCount: row.member_count,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export async function selectGroups(
  db: Db,
  workspaceId: string,
  filter: { q?: string | undefined; name?: string | undefined; source?: string | undefined },
  page: { limit: number; offset: number },
  withMembers = true,
): Promise<{ items: Group[]; total: number }> {
  const matches = (eb: ExpressionBuilder<Database & { g: GroupsTable }, "g">) =>
    eb.and([
      eb("g.workspace_id", "=", workspaceId),
      ...(filter.q ? [eb("g.name", "ilike", containsPattern(filter.q))] : []),
      ...(filter.name ? [sql<SqlBool>`lower(g.name) = lower(${filter.name})`] : []),
      ...(filter.source ? [sql<SqlBool>`lower(g.source_name) = lower(${filter.source})`] : []),
    ]);
  const { total } = await db.selectFrom("groups as g").where(matches).select(sql<number>`count(*)::int`.as("total")).executeTakeFirstOrThrow();
  const query = groupSelect(db, withMembers).where(matches);
  const rows = await query.orderBy(sql.raw(alphabetical("g.name"))).orderBy("g.id").limit(page.limit).offset(page.offset).execute();
  return { items: rows.map(toGroup), total };
}

/** A group by id or name (case-insensitive). */
export async function selectGroup(db: Db, workspaceId: string, key: string): Promise<Group | undefined> {
  const row = await groupSelect(db, true)
    .where("g.workspace_id", "=", workspaceId)
    .where((eb) => eb.or([sql<SqlBool>`g.id::text = ${key}`, sql<SqlBool>`lower(g.name) = lower(${key})`]))
    .executeTakeFirst();
  return row && toGroup(row);
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
