import { joinList } from "../domain/list-cell.ts";
import { open } from "node:fs/promises";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { RollcallError } from "../errors.ts";
import { sql } from "kysely";
import type { Db } from "../storage/database.ts";
import { neutralise } from "../sources/import/formula.ts";
import { systemTagList } from "../storage/queries/imports.ts";
import { whereFilter, type UserFilter } from "../storage/queries/users.ts";
import { identifierList, userFields } from "../storage/user-row.ts";
import type { WorkspaceContext } from "./context.ts";
import { assertFilterNames } from "./users.ts";
import { assertNestedHasGroup, namesSomething } from "./user-list.ts";

/**
 * Export users as CSV or XLSX with the columns the importer reads back unchanged (the Rollcall
 * template). CSV cells that a spreadsheet would run as a formula get an apostrophe prefix, which the
 * importer removes again; XLSX cells are typed text, which no spreadsheet evaluates, so they need none.
 */
export type ExportFormat = "csv" | "xlsx";

export const templateColumns = [
  "email", "userPrincipalName", "displayName", "givenName", "surname", "department", "jobTitle", "employeeId",
  "mobilePhone", "businessPhones", "preferredLanguage", "enabled", "aliases", "cardNumbers", "groups", "tags", "manager",
] as const;

export interface ExportResult {
  format: ExportFormat;
  out: string;
  users: number;
  columns: string[];
}

interface Sink {
  write(cells: string[]): Promise<void>;
  close(): Promise<void>;
}

export interface ExportOptions {
  format: ExportFormat;
  /** The file to write; with `stream`, only the name the result gives it (e.g. "-" for standard output). */
  out: string;
  /** Write here instead of a file (the CLI's standard output): written to, and ended. */
  stream?: Writable | undefined;
  /** Only the users the Users page would list with these filters; all of them without. */
  filter?: UserFilter | undefined;
}

export async function exportUsers(ctx: Pick<WorkspaceContext, "db" | "workspace">, options: ExportOptions): Promise<ExportResult> {
  const filter = options.filter ?? {};
  assertNestedHasGroup(filter);
  // As `users list`: a misspelt source, group or department is an error, not an empty file.
  if (namesSomething(filter)) await assertFilterNames(ctx, filter);
  const customKeys = await customAttributeKeys(ctx.db, ctx.workspace.id, filter);
  // The id last: a row that keeps it updates that user, wherever the user came from (see matchExisting).
  const columns = [...templateColumns, ...customKeys.map((k) => `customAttributes.${k}`), "rollcallId"];
  const sink = await openSink(options.format, options.stream ?? options.out, columns);
  let users = 0;
  try {
    for await (const page of userPages(ctx.db, ctx.workspace.id, filter)) {
      for (const user of page) {
        await sink.write(columns.map((column) => cell(user, column)));
        users++;
      }
    }
  } finally {
    await sink.close();
  }
  return { format: options.format, out: options.out, users, columns };
}

/** An empty file with the Rollcall columns (and pin, which exports never contain). */
export async function writeTemplate(format: ExportFormat, out: string): Promise<{ format: ExportFormat; out: string; columns: string[] }> {
  const columns = [...templateColumns, "pin"];
  const sink = await openSink(format, out, columns);
  await sink.close();
  return { format, out, columns };
}

type ExportRow = Record<string, unknown> & { id: string };

/** Each stored field of a user, named as its column in the file. */
const exportedFields = sql.raw(userFields.map((f) => `u.${f.column} AS "${f.field}"`).join(", "));

const pageSize = 2000;

async function* userPages(db: Db, workspaceId: string, filter: UserFilter): AsyncGenerator<ExportRow[]> {
  // A stable, human order (by email), so two exports of the same directory are identical. It is taken once: no
  // index has its key, so paging by it sorted the whole workspace again for every page (18 s for 100,000 users).
  const sortKey = sql`lower(coalesce(u.email, u.user_principal_name, u.display_name))`;
  const row = await db
    .selectFrom("users as u")
    .select(sql<string[] | null>`array_agg(u.id ORDER BY ${sortKey}, u.id)`.as("ids"))
    .where(await whereFilter(db, workspaceId, filter))
    .executeTakeFirst();
  const ids = row?.ids ?? [];
  const page = async (at: number) => (await sql<ExportRow>`
      SELECT u.id, ${exportedFields},
             array(SELECT t FROM unnest(u.tags) t WHERE t <> ALL(${systemTagList}::text[])) AS tags,
             ${identifierList("alias")} AS aliases, ${identifierList("card")} AS "cardNumbers",
             array(SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.member_user_id = u.id ORDER BY lower(g.name)) AS groups,
             (SELECT coalesce(m.email, m.user_principal_name) FROM users m WHERE m.id = u.manager_id) AS manager
      FROM unnest(${ids.slice(at, at + pageSize)}::uuid[]) WITH ORDINALITY page(id, n) JOIN users u ON u.id = page.id AND u.workspace_id = ${workspaceId}
      ORDER BY page.n`.execute(db)).rows;
  // The next page is read while this one is written. Users deleted since the order was taken are left out.
  let next = ids.length ? page(0) : undefined;
  for (let at = 0; next; at += pageSize) {
    const rows = await next;
    next = at + pageSize < ids.length ? page(at + pageSize) : undefined;
    next?.catch(() => {}); // awaited on the next turn; a failure surfaces there
    yield rows;
  }
}

async function customAttributeKeys(db: Db, workspaceId: string, filter: UserFilter): Promise<string[]> {
  const rows = await db
    .selectFrom("users as u")
    .select(sql<string>`jsonb_object_keys(u.custom_attributes)`.as("key"))
    .where(await whereFilter(db, workspaceId, filter))
    .distinct()
    .orderBy("key")
    .execute();
  return rows.map((r) => r.key);
}

function cell(user: ExportRow, column: string): string {
  if (column === "rollcallId") return user.id;
  const value = column.startsWith("customAttributes.")
    ? (user.customAttributes as Record<string, string>)[column.slice("customAttributes.".length)]
    : user[column];
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return joinList(value.map(String));
  return String(value);
}

async function openSink(format: ExportFormat, out: string | Writable, columns: string[]): Promise<Sink> {
  return format === "csv" ? csvSink(out, columns) : xlsxSink(out, columns);
}

/** The file to write, opened at once so that a missing folder or a read-only place is an error, not a crash later. */
async function outputFile(out: string | Writable): Promise<{ stream: Writable; failed: () => Error | null }> {
  if (typeof out !== "string") return watched(out);
  const handle = await open(out, "w").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") throw new RollcallError("not_found", `Cannot write ${out}: its folder does not exist. Create it, or give another path.`, { path: out });
    if (error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS" || error.code === "EISDIR") {
      throw new RollcallError("invalid_input", `Cannot write ${out}: ${error.code === "EISDIR" ? "it is a folder" : "permission denied"}. Give a file path you can write to.`, { field: "out", path: out });
    }
    throw error;
  });
  return watched(handle.createWriteStream());
}

function watched(stream: Writable): { stream: Writable; failed: () => Error | null } {
  let failure: Error | null = null;
  // A write error (a full disk) surfaces at the next write or at close, never as an unhandled event.
  stream.on("error", (error) => (failure ??= error));
  return { stream, failed: () => failure };
}

async function csvSink(out: string | Writable, columns: string[]): Promise<Sink> {
  const { stream, failed } = await outputFile(out);
  const checked = async (text: string) => {
    await write(stream, text);
    const error = failed();
    if (error) throw error;
  };
  // A BOM makes Excel read the file as UTF-8; CRLF is what it writes itself.
  await checked("\uFEFF" + csvLine(columns));
  return {
    write: (cells) => checked(csvLine(cells.map(neutralise))),
    close: async () => {
      if (!failed()) {
        stream.end();
        await once(stream, "finish");
      }
      const error = failed();
      if (error) throw error;
    },
  };
}

export function csvLine(cells: string[]): string {
  return cells.map((c) => (/[",\r\n;]|^\s|\s$/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",") + "\r\n";
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

async function xlsxSink(out: string | Writable, columns: string[]): Promise<Sink> {
  // Loaded on first use: exceljs and its zip libraries take about 0.25 s to load, on every CLI command otherwise.
  const { default: ExcelJS } = await import("exceljs");
  const { stream, failed } = await outputFile(out);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream, useStyles: true, useSharedStrings: false });
  const sheet = workbook.addWorksheet("Users");
  // Text format on every column so numbers typed later in Excel (cards, phones) keep their leading zeros.
  sheet.columns = columns.map((header) => ({ header, key: header, width: Math.max(12, header.length + 2), style: { numFmt: "@" } }));
  return {
    write: async (cells) => sheet.addRow(cells).commit(),
    close: async () => {
      sheet.commit();
      await workbook.commit();
      const error = failed();
      if (error) throw error;
    },
  };
}
