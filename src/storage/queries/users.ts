import { sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool } from "kysely";
import type { Db } from "../database.ts";
import { composed, sourceTagNamed, type ListedUser, type User } from "../../domain/user.ts";
import type { Database, UsersTable } from "../schema.ts";
import { identifierList, toUser, userColumns, userFields } from "../user-row.ts";
import { isGuid } from "../../domain/guid.ts";
import { searchHolders, userContains, type SearchHolders } from "./user-search.ts";

/** SQL for users: reads come back as the public `User` shape, with identifiers and group names joined in. */

export interface UserFilter {
  q?: string | undefined;
  source?: string | undefined;
  sourceType?: string | undefined;
  tag?: string | undefined;
  enabled?: boolean | undefined;
  /** Direct members of the group of this name (any case); with `nested`, the members of the groups nested in it too. */
  group?: string | undefined;
  /** With `group`: also the members of its member groups, theirs, and so on (a user in several counts once). */
  nested?: boolean | undefined;
  /** Exact, case-insensitive, spaces around ignored; users without a department (or a blank one) are not matched by any. */
  department?: string | undefined;
  /** True: users with a department (any); false: users without one, or with a blank one. */
  hasDepartment?: boolean | undefined;
  /** The direct reports of this user (their id). */
  manager?: string | undefined;
}

export const userSorts = ["displayName", "email", "createdAt", "updatedAt", "source"] as const;
export type UserSort = (typeof userSorts)[number];
export interface Page {
  limit: number;
  /** Skips this many (the console's numbered pages): a deep page reads every user it skips. Not with `after`. */
  offset?: number | undefined;
  /** Starts after this user, in this sort and order (keyset: a deep page costs what the first does). */
  after?: UserCursor | undefined;
  sort: UserSort;
  order: "asc" | "desc";
}

/** Where a page of users ended: the last user's sort key, as text (null: a user without one, listed last), and id. */
export interface UserCursor {
  key: string | null;
  id: string;
}

/**
 * A name in alphabetical order as people read it: the databases' default collation here is "C", code-point order,
 * which put "Émile" and "Ölaf" after "Zoe". ICU's root collation (in PGlite, and in PostgreSQL built with ICU, as
 * every distribution's is) sorts accents and case as secondary differences.
 */
export const alphabetical = (expression: string): string => `${expression} COLLATE "und-x-icu"`;

/**
 * Each sort's key: the expression ordered by, the key as a cursor keeps it (a time to the microsecond, which a
 * JavaScript Date would round), that text back as a value to compare with, and whether a user may have none.
 */
interface SortKey {
  expression: string;
  text: string;
  value: (key: string) => RawBuilder<unknown>;
  nullable: boolean;
}

const asText = (expression: string): Pick<SortKey, "text" | "value"> => ({ text: expression, value: (key) => sql`${key}::text` });
const asTime = (column: string): Pick<SortKey, "text" | "value"> => ({
  text: `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  value: (key) => sql`${key}::timestamptz`,
});

const sortKeys: Record<UserSort, SortKey> = {
  displayName: { expression: alphabetical("u.display_name"), text: "u.display_name", value: (key) => sql`${key} collate "und-x-icu"`, nullable: false },
  email: { expression: "lower(u.email)", ...asText("lower(u.email)"), nullable: true },
  createdAt: { expression: "u.created_at", ...asTime("u.created_at"), nullable: false },
  updatedAt: { expression: "u.updated_at", ...asTime("u.updated_at"), nullable: false },
  source: { expression: "lower(u.source_name)", ...asText("lower(u.source_name)"), nullable: false },
};

function userSelect(db: Db) {
  return db
    .selectFrom("users as u")
    .select(userColumns.map((column) => `u.${column}` as const))
    .select([
      "u.id", "u.source_type", "u.source_name", "u.external_id", "u.tags", "u.created_at", "u.updated_at",
      identifierList("alias").as("aliases"),
      identifierList("card").as("card_numbers"),
      groupNames("u").as("groups"),
      managerOf("u").as("manager"),
    ]);
}

/** A user's manager as UserRef (null for none); `user`: the users row's alias. */
export function managerOf(user: string): RawBuilder<User["manager"]> {
  return sql<User["manager"]>`(select json_build_object('id', m.id, 'displayName', m.display_name, 'email', m.email) from users m where m.id = ${sql.ref(`${user}.manager_id`)})`;
}

/** A user's groups' names, alphabetically ('{}' for none); `user`: the users row's alias. */
function groupNames(user: string): RawBuilder<string[]> {
  return sql<string[]>`coalesce((select array_agg(g.name order by ${sql.raw(alphabetical("g.name"))}) from group_members m join groups g on g.id = m.group_id where m.member_user_id = ${sql.ref(`${user}.id`)}), '{}')`;
}

/**
 * A user as JSON, the very `User` that toUser makes of userSelect's row, built in SQL for set-based writes (a deleted
 * user's history entry keeps the whole user); `user`: the users row's alias. `lists`: its aliases, cards and groups as
 * already read (by a join, for many users at once), instead of a subquery each.
 */
export function userJson(user: string, lists: Partial<Record<"aliases" | "cardNumbers" | "groups", RawBuilder<string[]>>> = {}): RawBuilder<unknown> {
  const column = (name: string) => sql.ref(`${user}.${name}`);
  const time = (name: string) => sql`to_char(${column(name)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const pairs = [
    sql`'id', ${column("id")}`,
    ...userFields.map(({ field, column: name }) => sql`${sql.lit(field)}, ${column(name)}`),
    sql`'aliases', ${lists.aliases ?? identifierList("alias", user)}`,
    sql`'cardNumbers', ${lists.cardNumbers ?? identifierList("card", user)}`,
    sql`'source', json_build_object('type', ${column("source_type")}, 'name', ${column("source_name")}, 'externalId', ${column("external_id")})`,
    sql`'tags', ${column("tags")}`,
    sql`'groups', ${lists.groups ?? groupNames(user)}`,
    sql`'manager', ${managerOf(user)}`,
    sql`'createdAt', ${time("created_at")}`,
    sql`'updatedAt', ${time("updated_at")}`,
  ];
  return sql`json_build_object(${sql.join(pairs)})`;
}

/** A filter's names composed (NFC), as names are stored: one typed or pasted decomposed (NFD) names the same group. */
function composedNames(filter: UserFilter): UserFilter {
  const { source, tag, group, department } = filter;
  return { ...filter, source: source && composed(source), tag: tag && composed(tag), group: group && composed(group), department: department && composed(department) };
}

/**
 * A department as the filter, the departments list and its picker compare it: trimmed, in lower case, and null for
 * none or blank (spaces only), which is no department. An import or a sync keeps the value as its source spelt it.
 */
const departmentKey = (column: string) => `lower(nullif(btrim(${column}), ''))`;

/**
 * The workspace's users that `filter` matches, as a where clause on `users as u`. Its group is found first and matched
 * by id, so the planner knows from its statistics how big the group is: matched by name inside the query, it guessed a
 * few dozen members for a group of 96,000 and sorted them all for each page of the users list (1.9 s); by id it walks
 * the sorted index and stops after a page (3 ms). Nested groups are found first too, as ids.
 */
export async function whereFilter(db: Db, workspaceId: string, filter: UserFilter) {
  const { group, nested, tag, ...rest } = composedNames(filter);
  const groupIds = group ? await groupIdsNamed(db, workspaceId, group, nested === true) : undefined;
  const holders = rest.q ? await searchHolders(db, workspaceId, rest.q) : undefined;
  // A manager named by email or user principal name, as users are named everywhere: found first, then matched by id.
  const manager = rest.manager && !isGuid(rest.manager) ? ((await selectUser(db, workspaceId, rest.manager))?.id ?? "none") : rest.manager;
  return whereResolved(workspaceId, { ...rest, manager, tag, groupIds, holders });
}

/**
 * The id of the group of this name (any case), and with `nested` the ids of the groups nested in it at any depth; null
 * for no such group. UNION (not UNION ALL) keeps each group once, so the recursion ends even if groups held each other.
 */
async function groupIdsNamed(db: Db, workspaceId: string, name: string, nested: boolean): Promise<string[] | null> {
  const named = sql`select id from groups where workspace_id = ${workspaceId} and lower(name) = lower(${name})`;
  const { rows } = nested
    ? await sql<{ id: string }>`with recursive within_group(id) as (
        ${named}
        union
        select m.member_group_id from group_members m join within_group w on m.group_id = w.id where m.member_group_id is not null
      ) select id from within_group`.execute(db)
    : await sql<{ id: string }>`${named}`.execute(db);
  return rows.length ? rows.map((r) => r.id) : null;
}

function whereResolved(workspaceId: string, filter: Omit<UserFilter, "group" | "nested"> & { groupIds: string[] | null | undefined; holders: SearchHolders | undefined }) {
  return (eb: ExpressionBuilder<Database & { u: UsersTable }, "u">) => {
    const conditions: Expression<SqlBool>[] = [eb("u.workspace_id", "=", workspaceId)];
    if (filter.q && filter.holders) conditions.push(userContains("u", filter.q, filter.holders));
    if (filter.source) conditions.push(sql<SqlBool>`lower(u.source_name) = lower(${filter.source})`);
    if (filter.sourceType) conditions.push(eb("u.source_type", "=", filter.sourceType as "manual"));
    if (filter.tag) conditions.push(holdsTag(filter.tag));
    if (filter.enabled !== undefined) conditions.push(eb("u.enabled", "=", filter.enabled));
    if (filter.department) conditions.push(sql<SqlBool>`${sql.raw(departmentKey("u.department"))} = lower(btrim(${filter.department}))`);
    if (filter.hasDepartment !== undefined) conditions.push(sql<SqlBool>`(${sql.raw(departmentKey("u.department"))} is not null) = ${filter.hasDepartment}`);
    if (filter.manager) conditions.push(isGuid(filter.manager) ? sql<SqlBool>`u.manager_id = ${filter.manager}::uuid` : sql<SqlBool>`false`);
    if (filter.groupIds === null) conditions.push(sql<SqlBool>`false`); // no such group
    if (filter.groupIds) conditions.push(memberOfAny(filter.groupIds));
    return eb.and(conditions);
  };
}

/** Users who are direct members of one of these groups (one id: compared as one, for the planner's estimate). */
function memberOfAny(groupIds: string[]) {
  const inGroups = groupIds.length === 1 ? sql`m.group_id = ${groupIds[0]}` : sql`m.group_id = any(${groupIds}::uuid[])`;
  return sql<SqlBool>`exists (select 1 from group_members m where m.member_user_id = u.id and ${inGroups})`;
}

/**
 * Users holding `tag` in any case, as a user's tags and GET …/users/tags count it, through users_lower_tags_idx
 * (migration 039). A source's tag is only ever stored as the source writes it, and often held by most users: matched
 * as written, through its partial index (migration 045: the count from the index alone), it costs a tenth of
 * lowering every user's tags (1 s at 100,000 users on PGlite, where the planner reads every user for a tag most hold).
 */
export function holdsTag(tag: string) {
  const sourceTag = sourceTagNamed(tag);
  return sourceTag ? sql<SqlBool>`u.tags @> array[${sourceTag}]::text[]` : sql<SqlBool>`rollcall_lower_tags(u.tags) @> array[lower(${tag})]`;
}

/**
 * Whether a user or group list's source, group and department filters name something of the workspace: a source (or
 * "manual", or a name users or groups keep from a removed source), a group and a department of one of its users. With
 * up to 50 of each name, for an error message.
 */
export async function filterNames(
  db: Db,
  workspaceId: string,
  asked: { source: string; group: string; department: string },
): Promise<Record<"source" | "group" | "department", { exists: boolean; names: string[] }>> {
  const wanted = { source: composed(asked.source), group: composed(asked.group), department: composed(asked.department) };
  const sources = sql`SELECT name FROM sources WHERE workspace_id = ${workspaceId} UNION SELECT 'manual'
    UNION SELECT DISTINCT source_name FROM users WHERE workspace_id = ${workspaceId} UNION SELECT DISTINCT source_name FROM groups WHERE workspace_id = ${workspaceId}`;
  const groups = sql`SELECT name FROM groups WHERE workspace_id = ${workspaceId}`;
  // Only looked for when a department was asked for: a department matching no one, and listing them, read every user of the workspace.
  const department = wanted.department
    ? sql<boolean>`EXISTS (SELECT 1 FROM users WHERE workspace_id = ${workspaceId} AND ${sql.raw(departmentKey("department"))} = lower(btrim(${wanted.department})))`
    : sql<boolean>`false`;
  const departments = wanted.department
    ? sql<string[]>`array(SELECT min(btrim(department)) FROM users WHERE workspace_id = ${workspaceId} AND btrim(department) <> '' GROUP BY ${sql.raw(departmentKey("department"))} ORDER BY ${sql.raw(alphabetical("min(btrim(department))"))} LIMIT 50)`
    : sql<string[]>`'{}'::text[]`;
  const { rows } = await sql<{ source: boolean; group: boolean; department: boolean; sources: string[]; groups: string[]; departments: string[] }>`
    SELECT EXISTS (SELECT 1 FROM (${sources}) n WHERE lower(name) = lower(${wanted.source})) AS source,
           EXISTS (SELECT 1 FROM (${groups}) n WHERE lower(name) = lower(${wanted.group})) AS "group",
           ${department} AS department,
           array(SELECT name FROM (${sources}) n ORDER BY lower(name) LIMIT 50) AS sources,
           array(SELECT name FROM (${groups}) n ORDER BY lower(name) LIMIT 50) AS groups,
           ${departments} AS departments`.execute(db);
  const row = rows[0]!;
  return { source: { exists: row.source, names: row.sources }, group: { exists: row.group, names: row.groups }, department: { exists: row.department, names: row.departments } };
}

/** A department of the workspace's users and how many have it; names differing only in case or surrounding spaces are one, shown as one of them, trimmed. */
export interface DepartmentCount {
  department: string;
  users: number;
}

/** The workspace's departments, alphabetically, with how many users each; and how many users have none. */
export async function selectDepartments(db: Db, workspaceId: string): Promise<{ items: DepartmentCount[]; withoutDepartment: number }> {
  const rows = await db
    .selectFrom("users")
    .select([sql<string | null>`min(nullif(btrim(department), ''))`.as("department"), sql<number>`count(*)::int`.as("users")])
    .where("workspace_id", "=", workspaceId)
    .groupBy(sql.raw(departmentKey("department")))
    .execute();
  const items = rows.flatMap((r) => (r.department ? [{ department: r.department, users: r.users }] : []));
  items.sort((a, b) => alphabeticalOrder.compare(a.department, b.department));
  return { items, withoutDepartment: rows.find((r) => !r.department)?.users ?? 0 };
}

const alphabeticalOrder = new Intl.Collator("und", { sensitivity: "base" });

export async function selectUsers(db: Db, workspaceId: string, filter: UserFilter, page: Page): Promise<{ items: ListedUser[]; total: number; next: UserCursor | null }> {
  const found = await selectUserPage(db, workspaceId, filter, page);
  // A last page read by offset tells how many match: a search for a rare term then reads the users once, not twice.
  const offset = page.offset ?? 0;
  const ended = !page.after && found.next === null && (found.items.length > 0 || offset === 0);
  return { ...found, total: ended ? offset + found.items.length : await countUsers(db, workspaceId, filter) };
}

/** A page of the users `filter` matches, without counting them, and where the next page starts (null: this is the last). */
export async function selectUserPage(db: Db, workspaceId: string, filter: UserFilter, page: Page): Promise<{ items: ListedUser[]; next: UserCursor | null }> {
  const where = await whereFilter(db, workspaceId, filter);
  const wanted = page.limit + 1;
  const ids = async (part: ListPart, limit: number) => (limit > 0 ? pageIds(db, where, page, part, limit) : []);
  // Page the bare ids first: the identifier and group subqueries then run for one page of users, not for every row
  // an OFFSET skips. By cursor, users with a key and users without are read apart, so that each part walks an index.
  let found: { id: string; key: string | null }[];
  if (page.offset) found = await ids("all", wanted);
  else {
    const keyed = page.after?.key === null ? [] : await ids("keyed", wanted);
    found = sortKeys[page.sort].nullable ? [...keyed, ...(await ids("unkeyed", wanted - keyed.length))] : keyed;
  }
  const shown = found.slice(0, page.limit);
  // hasPhoto: a probe of user_photos' primary key per user of the page, never the photo's bytes (kept out of line).
  const rows = shown.length === 0 ? [] : await userSelect(db)
    .select(sql<boolean>`exists (select 1 from user_photos p where p.user_id = u.id)`.as("has_photo"))
    .where("u.id", "in", shown.map((r) => r.id)).execute();
  const position = new Map(shown.map((r, index) => [r.id, index]));
  rows.sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  const last = shown.at(-1);
  return { items: rows.map((row) => ({ ...toUser(row), hasPhoto: row.has_photo })), next: found.length > page.limit && last ? { key: last.key, id: last.id } : null };
}

/** The whole list by offset; or, after the page's cursor, its users with a sort key, or those without (listed last, by id). */
export type ListPart = "all" | "keyed" | "unkeyed";

function pageIds(db: Db, where: Awaited<ReturnType<typeof whereFilter>>, page: Page, part: ListPart, limit: number) {
  return pageIdsQuery(db, where, page, part, limit).execute();
}

/**
 * The query of one part of a page (exported for the benchmarks' EXPLAIN). Ties go by id in the list's direction,
 * so that a descending list walks its index backwards; and a key no user lacks is ordered without NULLS LAST,
 * which a backward walk of its index does not give (the planner does not know the column is never null).
 */
export function pageIdsQuery(db: Db, where: Awaited<ReturnType<typeof whereFilter>>, page: Page, part: ListPart, limit: number) {
  const { expression, text, value, nullable } = sortKeys[page.sort];
  const key = sql.raw(expression);
  const order = sql.raw(page.order);
  const past = sql.raw(page.order === "asc" ? ">" : "<");
  const { after } = page;
  let query = db
    .selectFrom("users as u")
    .select(["u.id", sql<string | null>`${sql.raw(text)}`.as("key")])
    .where(where)
    .limit(limit);
  if (part === "all") return query.orderBy(sql`${key} ${order}${sql.raw(nullable ? " nulls last" : "")}, u.id ${order}`).offset(page.offset ?? 0);
  if (part === "unkeyed") {
    query = query.where(sql<SqlBool>`${key} is null`);
    if (after?.key === null) query = query.where(sql<SqlBool>`u.id ${past} ${after.id}::uuid`);
    return query.orderBy(sql`u.id ${order}`);
  }
  if (nullable) query = query.where(sql<SqlBool>`${key} is not null`);
  if (after?.key != null) query = query.where(sql<SqlBool>`(${key}, u.id) ${past} (${value(after.key)}, ${after.id}::uuid)`);
  return query.orderBy(sql`${key} ${order}, u.id ${order}`);
}

/** How many of the workspace's users `filter` matches. */
export async function countUsers(db: Db, workspaceId: string, filter: UserFilter): Promise<number> {
  const { total } = await db
    .selectFrom("users as u")
    .select(sql<number>`count(*)::int`.as("total"))
    .where(await whereFilter(db, workspaceId, filter))
    .executeTakeFirstOrThrow();
  return total;
}

/** A user by id, email or user principal name (in that order of precedence). */
export async function selectUser(db: Db, workspaceId: string, key: string): Promise<User | undefined> {
  return (await selectUsersByKeys(db, workspaceId, [key])).get(key);
}

/** Users by id, email or UPN, keyed by the key that found them; an id wins over an email, an email over a UPN. */
export async function selectUsersByKeys(db: Db, workspaceId: string, keys: string[]): Promise<Map<string, User>> {
  const uuids = keys.filter(isGuid);
  const lowered = keys.map((k) => k.toLowerCase());
  const rows = await userSelect(db)
    .where("u.workspace_id", "=", workspaceId)
    .where((eb) =>
      eb.or([
        ...(uuids.length ? [sql<SqlBool>`u.id = any(${uuids}::uuid[])`] : []),
        sql<SqlBool>`lower(u.email) = any(${lowered}::text[])`,
        sql<SqlBool>`lower(u.user_principal_name) = any(${lowered}::text[])`,
      ]),
    )
    .execute();
  const users = rows.map(toUser);
  const index = (keyOf: (u: User) => string | null) => new Map(users.flatMap((u) => (keyOf(u) ? [[keyOf(u)!.toLowerCase(), u] as const] : [])));
  const [byId, byEmail, byUpn] = [index((u) => u.id), index((u) => u.email), index((u) => u.userPrincipalName)];
  const byKey = new Map<string, User>();
  for (const key of keys) {
    const lower = key.toLowerCase();
    const user = byId.get(lower) ?? byEmail.get(lower) ?? byUpn.get(lower);
    if (user) byKey.set(key, user);
  }
  return byKey;
}
