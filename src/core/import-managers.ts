import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import type { ImportedUser, ImportProblem } from "../sources/import/row.ts";
import { managerLabel } from "../storage/queries/managers.ts";
import { recordChanges } from "./change-log.ts";

/**
 * The Manager column of an import. A row names its user's manager by email, UPN or Rollcall id: a user of the same
 * file (any row) or of the workspace; an empty cell removes the manager, as an empty cell clears any other field.
 * Checked once every row is read (a manager may come in a later row), set once every row is applied (the manager
 * may be a user the file creates), in the import's transaction. A synced user's manager is its source's: kept.
 */
interface ManagerCell {
  row: number;
  key: string | null;
  email: string | null;
  upn: string | null;
  rollcallId: string | null;
}

/** A row's change of its user's manager, with the row's action before the manager is counted. */
export interface ManagerChange {
  row: number;
  action: "update" | "unchanged";
  id: string;
  email: string | null;
  displayName: string;
  before: string | null;
  after: string | null;
}

interface DirectoryUser {
  id: string;
  email: string | null;
  upn: string | null;
  managerId: string | null;
  sourceType: string;
}

export class ImportManagers {
  private readonly cells: ManagerCell[] = [];
  /** Each valid row's own lower-case email and UPN → its row numbers. */
  private readonly rowsByKey = new Map<string, number[]>();
  /** Checked rows that change the manager of a user the workspace holds → the manager wanted (a user id, `row:N`: the new user of row N, null: none). */
  private readonly changing = new Map<number, string | null>();

  constructor(private readonly column: string) {}

  add(user: ImportedUser): void {
    for (const key of [user.email, user.userPrincipalName]) if (key) this.rowsByKey.set(key.toLowerCase(), [...(this.rowsByKey.get(key.toLowerCase()) ?? []), user.row]);
    if (user.manager === undefined) return;
    this.cells.push({ row: user.row, key: user.manager, email: user.email?.toLowerCase() ?? null, upn: user.userPrincipalName?.toLowerCase() ?? null, rollcallId: user.rollcallId ?? null });
  }

  /**
   * Problems (unknown, ambiguous, the user themselves, a loop) and warnings (a synced user's manager kept), once every
   * row is read; `invalid`: rows with problems so far (never a manager). Cells that are problems or kept are dropped.
   */
  async check(db: Db, input: { workspaceId: string; workspaceName: string; runId: string; invalid: ReadonlySet<number>; partial: boolean }): Promise<{ problems: ImportProblem[]; warnings: ImportProblem[] }> {
    const problems: ImportProblem[] = [];
    const warnings: ImportProblem[] = [];
    const cells = this.cells.filter((c) => !input.invalid.has(c.row));
    const keys = [...new Set(cells.flatMap((c) => (c.key ? [c.key] : [])))];
    const { rows: matched } = await sql<{ row_no: number; user_id: string }>`select s.row_no, s.user_id::text as user_id from import_rows s join users u on u.id = s.user_id where s.run_id = ${input.runId}`.execute(db);
    // Rows that describe a user the workspace holds (a new row's staged id is no one's yet).
    const rowUser = new Map(matched.map((r) => [r.row_no, r.user_id]));
    const users = await directoryUsers(db, input.workspaceId, [...new Set([...keys, ...rowUser.values(), ...cells.flatMap((c) => (c.rollcallId ? [c.rollcallId] : []))])]);
    const byId = new Map(users.map((u) => [u.id, u]));
    const node = (row: number) => rowUser.get(row) ?? `row:${row}`;
    const problem = (cell: ManagerCell, message: string) => problems.push({ row: cell.row, column: this.column, field: "manager", value: cell.key ?? "", message });
    const wanted = new Map<string, string | null>();
    const kept: (ManagerCell & { target: string | null })[] = [];
    for (const cell of cells) {
      const own = byId.get(rowUser.get(cell.row) ?? "");
      const target = cell.key ? this.resolve(cell.key, users, input.invalid, node) : { node: null };
      if (own && own.sourceType !== "manual" && own.sourceType !== "import") {
        if (!("problem" in target) && (target.node ?? null) !== own.managerId) {
          warnings.push({ row: cell.row, column: this.column, field: "manager", value: cell.key ?? "", message: `kept: the user is synced from their ${own.sourceType === "scim" ? "SCIM" : "Entra ID"} source, which owns their manager (set it there)` });
        }
        continue;
      }
      if ("problem" in target) problem(cell, target.problem.replace("{workspace}", input.workspaceName));
      else if (target.node === node(cell.row) || (cell.key && (cell.key === cell.email || cell.key === cell.upn))) problem(cell, "is the user themselves: a user cannot be their own manager; name another user or clear the cell");
      else {
        wanted.set(node(cell.row), target.node);
        kept.push({ ...cell, target: target.node });
        if (own && target.node !== own.managerId) this.changing.set(cell.row, target.node);
      }
    }
    const managerOf = await currentManagers(db, input.workspaceId);
    for (const cell of kept) {
      const start = node(cell.row);
      let at = wanted.get(start) ?? null;
      for (let depth = 0; at && depth < 10_000; depth++) {
        if (at === start) {
          problem(cell, "would make a loop: this manager reports to the user (directly or through others, in the file or the workspace); fix one of the rows");
          break;
        }
        at = wanted.has(at) ? wanted.get(at)! : (managerOf.get(at) ?? null);
      }
    }
    // With --partial, a new user whose row is refused is not created: the rows naming them as manager are refused in
    // turn (without, nothing is applied, and the one problem to fix is the first).
    const refused = new Set(problems.map((p) => p.row));
    for (let more = input.partial; more; ) {
      more = false;
      for (const cell of kept) {
        const row = cell.target?.startsWith("row:") ? Number(cell.target.slice(4)) : undefined;
        if (refused.has(cell.row) || row === undefined || !refused.has(row)) continue;
        problem(cell, `names the user of row ${row}, whose manager cell is refused: fix that row first`);
        refused.add(cell.row);
        more = true;
      }
    }
    this.cells.splice(0, this.cells.length, ...kept.filter((c) => !refused.has(c.row)));
    for (const row of refused) this.changing.delete(row);
    return { problems, warnings };
  }

  /** Where `key` points: a row of the file (its user's id if it matched one) or a user of the workspace; or why not. */
  private resolve(key: string, users: DirectoryUser[], invalid: ReadonlySet<number>, node: (row: number) => string): { node: string } | { problem: string } {
    const rows = [...new Set(this.rowsByKey.get(key) ?? [])];
    const inFile = rows.filter((r) => !invalid.has(r));
    const inDirectory = users.filter((u) => u.id === key || u.email === key || u.upn === key);
    if (inFile.length > 1) return { problem: `is ambiguous: rows ${inFile.join(" and ")} both have it as email or user principal name; name the manager by the address only one of them has` };
    if (inFile.length === 0 && rows.length) return { problem: `names the user of row ${rows[0]}, which has problems: fix that row first` };
    if (inFile.length === 1) {
      const row = inFile[0]!;
      const others = inDirectory.filter((u) => u.id !== node(row) && !this.rowsByKey.get(u.email ?? "")?.includes(row) && !this.rowsByKey.get(u.upn ?? "")?.includes(row));
      if (others.length) return { problem: `is ambiguous: row ${row} and another user of the workspace (${others[0]!.email ?? others[0]!.upn}) both have it; name the manager by the address only one of them has` };
      return { node: node(row) };
    }
    if (inDirectory.length > 1) return { problem: `is ambiguous: it is the email of one user and the user principal name of another (${inDirectory.map((u) => u.email ?? u.upn).join(", ")}); name the manager by the other address or by Rollcall id` };
    if (inDirectory.length === 0) return { problem: `no user of this file or of workspace "{workspace}" has this email or user principal name: add the manager (a row of this file will do), correct the address, or clear the cell` };
    return { node: inDirectory[0]!.id };
  }

  /**
   * The checked rows that change a held user's manager, as the report shows them (once the rows are classified): a row
   * classified unchanged changes the manager alone, and is an update all the same.
   */
  async changes(db: Db, runId: string): Promise<ManagerChange[]> {
    if (!this.changing.size) return [];
    const rows = [...this.changing.keys()];
    const targets = [...this.changing.values()];
    const { rows: found } = await sql<ManagerChange>`
      select s.row_no as row, s.action, u.id::text as id, u.email, u.display_name as "displayName", ${managerLabel("bm")} as before,
        coalesce(${managerLabel("am")}, t.display_name || coalesce(' <' || t.email || '>', '')) as after
      from unnest(${rows}::int[], ${targets.map((t) => (t && !t.startsWith("row:") ? t : null))}::uuid[], ${targets.map((t) => (t?.startsWith("row:") ? Number(t.slice(4)) : null))}::int[]) c(row_no, target_id, target_row)
      join import_rows s on s.run_id = ${runId} and s.row_no = c.row_no
      join users u on u.id = s.user_id
      left join users bm on bm.id = u.manager_id
      left join users am on am.id = c.target_id
      left join import_rows t on t.run_id = ${runId} and t.row_no = c.target_row
      where s.action in ('update', 'unchanged')
      order by s.row_no`.execute(db);
    return found;
  }

  /** Sets the checked managers, once every row is applied (`trx`: the import's transaction), and logs each change as a manager set by hand is. */
  async apply(trx: Db, input: { workspaceId: string; actor: string }): Promise<void> {
    if (!this.cells.length) return;
    const keys = [...new Set(this.cells.flatMap((c) => [c.key, c.rollcallId, c.email, c.upn].filter((k): k is string => !!k)))];
    const users = await directoryUsers(trx, input.workspaceId, keys);
    const find = (key: string | null) => (key ? (users.find((u) => u.id === key) ?? users.find((u) => u.email === key) ?? users.find((u) => u.upn === key)) : undefined);
    const changes = new Map<string, string | null>();
    for (const cell of this.cells) {
      const user = find(cell.rollcallId) ?? find(cell.email) ?? find(cell.upn);
      const manager = cell.key ? find(cell.key) : null;
      if (!user || manager === undefined || user.managerId === (manager?.id ?? null)) continue;
      changes.set(user.id, manager?.id ?? null);
    }
    if (!changes.size) return;
    const { rows } = await sql<{ id: string; subject: string; before_id: string | null; before: string | null; after_id: string | null; after: string | null }>`
      with c(id, manager_id) as (select * from unnest(${[...changes.keys()]}::uuid[], ${[...changes.values()]}::uuid[])),
      old as (select u.id, coalesce(u.email, u.user_principal_name, u.display_name) as subject, bm.id as before_id, ${managerLabel("bm")} as before
        from users u join c on c.id = u.id left join users bm on bm.id = u.manager_id),
      upd as (update users u set manager_id = c.manager_id, updated_at = now() from c where u.id = c.id returning u.id, u.manager_id)
      select old.*, am.id as after_id, ${managerLabel("am")} as after from old join upd on upd.id = old.id left join users am on am.id = upd.manager_id`.execute(trx);
    // One entry per user and import: the manager joins the entry this import's rows wrote for the user (its create or
    // update, in this same transaction, so at = now()); a user whose row changed nothing else gets one of its own.
    const { rows: merged } = await sql<{ user_id: string }>`
      update change_log c set
        before = case when c.action = 'create' then c.before else (coalesce(c.before::jsonb, '{}') || jsonb_build_object('manager', m.before, 'managerId', m.before_id))::json end,
        after = (coalesce(c.after::jsonb, '{}') || jsonb_build_object('manager', m.after, 'managerId', m.after_id))::json
      from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.before)}::text[], ${rows.map((r) => r.before_id)}::uuid[], ${rows.map((r) => r.after)}::text[], ${rows.map((r) => r.after_id)}::uuid[]) m(id, before, before_id, after, after_id)
      where c.workspace_id = ${input.workspaceId} and c.user_id = m.id and c.actor = ${input.actor} and c.action in ('create', 'update') and c.run_id is null and c.at = now()
      returning c.user_id::text as user_id`.execute(trx);
    const logged = new Set(merged.map((r) => r.user_id));
    await recordChanges(trx, rows.filter((r) => !logged.has(r.id)).map((r) => ({
      workspaceId: input.workspaceId, runId: null, actor: input.actor, userId: r.id, subject: r.subject, action: "update" as const,
      before: { manager: r.before, managerId: r.before_id },
      after: { manager: r.after, managerId: r.after_id },
    })));
  }
}

type Previewed = { row: number; id: string; email: string | null; displayName: string; before: Record<string, unknown>; after: Record<string, unknown> };

/** The report's updated rows (`limit` at most) with their manager changes: a row that changes the manager alone is listed too. Pure. */
export function withManagerChanges(updated: Previewed[], changes: ManagerChange[], limit: number): Previewed[] {
  if (!changes.length) return updated;
  const byRow = new Map(updated.map((u) => [u.row, u]));
  for (const c of changes) {
    const listed = byRow.get(c.row);
    if (listed) byRow.set(c.row, { ...listed, before: { ...listed.before, manager: c.before }, after: { ...listed.after, manager: c.after } });
    else if (c.action === "unchanged") byRow.set(c.row, { row: c.row, id: c.id, email: c.email, displayName: c.displayName, before: { manager: c.before }, after: { manager: c.after } });
  }
  return [...byRow.values()].sort((a, b) => a.row - b.row).slice(0, limit);
}

/** Users of the workspace that `keys` (lower-case ids, emails, UPNs) name. */
async function directoryUsers(db: Db, workspaceId: string, keys: string[]): Promise<DirectoryUser[]> {
  if (!keys.length) return [];
  const { rows } = await sql<DirectoryUser>`select id::text as id, lower(email) as email, lower(user_principal_name) as upn, manager_id::text as "managerId", source_type as "sourceType"
    from users where workspace_id = ${workspaceId} and (id::text = any(${keys}::text[]) or lower(email) = any(${keys}::text[]) or lower(user_principal_name) = any(${keys}::text[]))`.execute(db);
  return rows;
}

/** Every user of the workspace that has a manager → that manager (to find loops through users the file leaves alone). */
async function currentManagers(db: Db, workspaceId: string): Promise<Map<string, string>> {
  const { rows } = await sql<{ id: string; manager_id: string }>`select id::text as id, manager_id::text as manager_id from users where workspace_id = ${workspaceId} and manager_id is not null`.execute(db);
  return new Map(rows.map((r) => [r.id, r.manager_id]));
}
