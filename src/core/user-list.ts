import { invalidInput, type FieldProblem } from "../errors.ts";
import type { ListedUser } from "../domain/user.ts";
import { isGuid } from "../domain/guid.ts";
import { filterNames, selectUser, selectDepartments, selectUserPage, selectUsers, userSorts, type Page, type UserCursor, type UserFilter, type UserSort, type DepartmentCount } from "../storage/queries/users.ts";
import { groupTagSpellings, selectTagSpellings, type TagCount } from "../storage/queries/user-tags.ts";
import type { WorkspaceContext } from "./context.ts";

type ReadContext = Pick<WorkspaceContext, "db" | "workspace">;
type Order = Page["order"];

type ListPage = Omit<Page, "after"> & { after?: string | undefined };

/** A page of users as GET …/users answers it; `next` is the `after` of the following page, null on the last. */
export interface UserPage {
  items: ListedUser[];
  /** Null when not counted. */
  total: number | null;
  next: string | null;
}

/** A page of the users `filter` matches, by offset (the console's numbered pages) or after a cursor, with how many match. */
export async function listUsers(ctx: ReadContext, filter: UserFilter, page: ListPage): Promise<UserPage & { total: number }>;
export async function listUsers(ctx: ReadContext, filter: UserFilter, page: ListPage, options: { count: boolean }): Promise<UserPage>;
export async function listUsers(ctx: ReadContext, filter: UserFilter, page: ListPage, options = { count: true }): Promise<UserPage> {
  assertNestedHasGroup(filter);
  if (page.after !== undefined && page.offset) throw invalidInput([{ field: "offset", message: "give offset or after, not both (after is where the last page ended)", value: page.offset }]);
  const after = page.after === undefined ? undefined : parseUserCursor(page.after, page.sort, page.order);
  const at = { ...page, after };
  const found = options.count ? await selectUsers(ctx.db, ctx.workspace.id, filter, at) : { ...(await selectUserPage(ctx.db, ctx.workspace.id, filter, at)), total: null };
  // A misspelt source, group or department would read as "no users": say so, when nothing matched (no cost otherwise).
  const none = found.total === 0 || (found.total === null && found.items.length === 0 && !after && !page.offset);
  if (none && namesSomething(filter)) await assertFilterNames(ctx, filter);
  return { items: found.items, total: found.total, next: found.next && formatUserCursor(page.sort, page.order, found.next) };
}

/**
 * Every user `filter` matches (or the first `limit`), a page at a time by cursor and never counted: what
 * `rollcall users list` prints as it reads, whatever the size of the directory.
 */
export async function* userPages(
  ctx: ReadContext,
  filter: UserFilter,
  options: { sort: UserSort; order: Order; limit?: number | undefined; pageSize: number },
): AsyncGenerator<ListedUser[]> {
  assertNestedHasGroup(filter);
  let after: UserCursor | undefined;
  for (let left = options.limit ?? Infinity; left > 0; ) {
    const page = await selectUserPage(ctx.db, ctx.workspace.id, filter, { sort: options.sort, order: options.order, limit: Math.min(options.pageSize, left), after });
    if (after === undefined && page.items.length === 0 && namesSomething(filter)) await assertFilterNames(ctx, filter);
    if (page.items.length) yield page.items;
    if (!page.next) return;
    left -= page.items.length;
    after = page.next;
  }
}

/** `nested` widens a group filter: without a group it would quietly match everyone, so it is refused. */
export function assertNestedHasGroup(filter: UserFilter): void {
  if (filter.nested && !filter.group) throw invalidInput([{ field: "nested", message: "nested needs a group: it adds the members of that group's member groups", value: filter.nested }]);
}

/** Whether `filter` names a source, group or department, which assertFilterNames checks. */
export function namesSomething(filter: UserFilter): boolean {
  return Boolean(filter.source || filter.group || filter.department || filter.manager);
}

/** A source, group or department filter that names none of the workspace's: refused with the names it has (it would match no one). */
export async function assertFilterNames(ctx: ReadContext, filter: UserFilter): Promise<void> {
  const known = await filterNames(ctx.db, ctx.workspace.id, { source: filter.source ?? "", group: filter.group ?? "", department: filter.department ?? "" });
  const problems: FieldProblem[] = [];
  for (const field of ["source", "group", "department"] as const) {
    const wanted = filter[field];
    if (!wanted || known[field].exists) continue;
    const { names } = known[field];
    const list = names.length ? `its ${field}s are ${names.map((n) => `"${n}"`).join(", ")}${names.length === 50 ? ", …" : ""}` : `it has no ${field}s`;
    problems.push({ field, value: wanted, message: `no ${field} is named "${wanted}" in workspace "${ctx.workspace.name}"; ${list}` });
  }
  if (filter.manager && !(await selectUser(ctx.db, ctx.workspace.id, filter.manager))) {
    problems.push({ field: "manager", value: filter.manager, message: `no user of workspace "${ctx.workspace.name}" is "${filter.manager}": name the manager by id, email or user principal name` });
  }
  if (problems.length) throw invalidInput(problems);
}

/** A users cursor is opaque to callers: the sort and order it belongs to, and the last user's key and id, as base64url JSON. */
export function formatUserCursor(sort: UserSort, order: Order, cursor: UserCursor): string {
  return Buffer.from(JSON.stringify([sort, order, cursor.key, cursor.id])).toString("base64url");
}

export function parseUserCursor(text: string, sort: UserSort, order: Order): UserCursor {
  let parsed: unknown[] = [];
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
  } catch {
    // reported below
  }
  const [cursorSort, cursorOrder, key, id] = Array.isArray(parsed) ? parsed : [];
  const wellFormed = userSorts.includes(cursorSort as UserSort) && (cursorOrder === "asc" || cursorOrder === "desc") && (typeof key === "string" || key === null) && typeof id === "string" && isGuid(id);
  if (!wellFormed) throw invalidInput([{ field: "after", message: "is not a cursor this list gave (use the `next` of the previous page)", value: text }]);
  if (cursorSort !== sort || cursorOrder !== order) {
    throw invalidInput([{ field: "after", message: `continues a list sorted by ${String(cursorSort)} ${String(cursorOrder)}; ask with that sort and order, or start again without after`, value: text }]);
  }
  return { key: key as string | null, id: id as string };
}

/** The workspace's departments with how many users each, for the Users page's picker. */
export function listDepartments(ctx: ReadContext): Promise<{ items: DepartmentCount[]; withoutDepartment: number }> {
  return selectDepartments(ctx.db, ctx.workspace.id);
}

/** The workspace's tags with how many users hold each, source tags marked: the Users page's Tag picker. */
export async function listTags(ctx: ReadContext): Promise<{ items: TagCount[] }> {
  return { items: groupTagSpellings(await selectTagSpellings(ctx.db, ctx.workspace.id)) };
}
