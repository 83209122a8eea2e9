import { RollcallError } from "../../errors.ts";
import { mapColumns, type ColumnMapping, type MappingFile } from "./mapping.ts";
import { openTable } from "./open.ts";
import { isBlankRow, readRow, type ImportedUser, type ImportProblem, type RowKeys } from "./row.ts";
import type { TableFile } from "./table.ts";

/**
 * The import source: a file becomes a header mapping plus a stream of checked rows. Nothing here
 * touches the database; duplicates within the file are caught here, duplicates against the directory
 * are the core's job.
 */
export interface ImportSource {
  table: TableFile;
  mapping: ColumnMapping;
  headerRow: number;
  rows: AsyncIterable<RowResult>;
}

export type RowResult = { row: number; user: ImportedUser; problems: [] } | { row: number; user?: undefined; problems: ImportProblem[] };

export async function openImportSource(path: string, options: { sheet?: string | undefined; mapping?: MappingFile | undefined; defaultCountry: string | null }): Promise<ImportSource> {
  const table = await openTable(path, { sheet: options.sheet });
  const iterator = table.rows[Symbol.asyncIterator]();
  let header: { row: number; cells: string[] } | undefined;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const { cells } = next.value;
    if (isBlankRow(cells)) continue;
    // Entra ID's bulk-create template starts with a "version:v1.0" line above the headers.
    if (/^version:v\d/i.test(cells[0]?.trim() ?? "") && cells.slice(1).every((c) => c.trim() === "")) continue;
    header = next.value;
    break;
  }
  if (!header) throw new RollcallError("import_invalid", table.format === "xlsx" ? `Sheet "${table.sheet}" is empty.` : "The file is empty.", { reason: "empty" });
  // A UTF-8 BOM read as Windows-1252 by another program ends up as "ï»¿" glued to the first header.
  const headers = header.cells.map((c, i) => (i === 0 ? c.replace(/^(\uFEFF|ï»¿)/, "") : c).trim());
  const mapping = mapColumns(headers, options.mapping ?? {});
  return { table, mapping, headerRow: header.row, rows: checkedRows(iterator, mapping, options.defaultCountry) };
}

async function* checkedRows(iterator: AsyncIterator<{ row: number; cells: string[] }>, mapping: ColumnMapping, defaultCountry: string | null): AsyncGenerator<RowResult> {
  const seen = new Duplicates(mapping);
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const { row, cells } = next.value;
    if (isBlankRow(cells)) continue;
    if (mapping.layout === "entra" && /^example\b/i.test(cells[0]?.trim() ?? "")) continue;
    const { user, keys, problems } = readRow(row, cells, mapping, defaultCountry);
    // A row with other problems still claims its email and cards: a later row naming them is a duplicate,
    // not a new user (with --partial, it would otherwise be imported in the first row's place).
    const duplicates = seen.check(keys);
    if (!user || duplicates.length) yield { row, problems: [...problems, ...duplicates] };
    else yield { row, user, problems: [] };
  }
}

/** Remembers each row's keys, first row first (memory: a few short strings per row, never the rows). */
class Duplicates {
  /** Row of the first use of each key, by kind: emails, UPNs and aliases lower-cased, cards as they are. */
  private readonly seen: Record<"email" | "userPrincipalName" | "aliases" | "cardNumbers", Map<string, number>> = {
    email: new Map(), userPrincipalName: new Map(), aliases: new Map(), cardNumbers: new Map(),
  };
  constructor(private readonly mapping: ColumnMapping) {}

  check(user: RowKeys): ImportProblem[] {
    const wanted: [keyof Duplicates["seen"], string, string][] = [];
    if (user.email) wanted.push(["email", user.email.toLowerCase(), user.email]);
    if (user.userPrincipalName) wanted.push(["userPrincipalName", user.userPrincipalName.toLowerCase(), user.userPrincipalName]);
    for (const alias of user.aliases ?? []) wanted.push(["aliases", alias.toLowerCase(), alias]);
    for (const card of user.cardNumbers ?? []) wanted.push(["cardNumbers", card, card]);
    let problems: ImportProblem[] | undefined;
    for (const [field, key, value] of wanted) {
      const first = this.seen[field].get(key);
      if (first !== undefined) (problems ??= []).push({ row: user.row, column: this.column(field), field, value, message: `"${value}" is also in row ${first}` });
    }
    if (problems) return problems;
    for (const [field, key] of wanted) this.seen[field].set(key, user.row);
    return [];
  }

  private column(field: string): string | null {
    const index = this.mapping.fields.findIndex((f) => f === field);
    return index < 0 ? null : this.mapping.headers[index]!;
  }
}
