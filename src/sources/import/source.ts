import { RollcallError } from "../../errors.ts";
import { mapColumns, type ColumnMapping, type MappingFile } from "./mapping.ts";
import { openTable } from "./open.ts";
import { isBlankRow, readRow, type ImportedUser, type ImportProblem, type RowKeys } from "./row.ts";
import type { TableFile, TableRow } from "./table.ts";
import { columnName } from "./columns.ts";
import type { NumberCell } from "./number-cells.ts";

/**
 * The import source: a file becomes a header mapping plus a stream of checked rows. Nothing here
 * touches the database; duplicates within the file are caught here, duplicates against the directory
 * are the core's job.
 */
export interface ImportSource {
  table: TableFile;
  mapping: ColumnMapping;
  headerRow: number;
  /** About the file rather than one row: a title skipped above the headings. */
  warnings: ImportProblem[];
  rows: AsyncIterable<RowResult>;
}

/** `warnings`: what a valid row's values lost on the way in (see readRow); `numbers`: its cells that hold a number where text was due (summed up per column); the row is imported. */
export type RowResult = { row: number; user: ImportedUser; problems: []; warnings?: ImportProblem[]; numbers?: NumberCell[] } | { row: number; user?: undefined; problems: ImportProblem[] };

export async function openImportSource(path: string, options: { sheet?: string | undefined; encoding?: string | undefined; mapping?: MappingFile | undefined; defaultCountry: string | null }): Promise<ImportSource> {
  const table = await openTable(path, { sheet: options.sheet, encoding: options.encoding });
  const iterator = table.rows[Symbol.asyncIterator]();
  let header: TableRow | undefined;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const { cells, formulasWithoutResult } = next.value;
    if (isBlankRow(cells) && !formulasWithoutResult?.length) continue;
    // Entra ID's bulk-create template starts with a "version:v1.0" line above the headers.
    // Excel's "sep=;" line names the delimiter (read by openCsv), above the headers too.
    if (/^(version:v\d|sep=)/i.test(cells[0]?.trim() ?? "") && cells.slice(1).every((c) => c.trim() === "")) continue;
    header = next.value;
    break;
  }
  if (!header) throw new RollcallError("import_invalid", table.format === "xlsx" ? `Sheet "${table.sheet}" is empty.` : "The file is empty.", { reason: "empty" });
  // A UTF-8 BOM read as Windows-1252 by another program ends up as "ï»¿" glued to the first header.
  const computed = header.formulasWithoutResult ?? [];
  if (computed.length) {
    const cells = computed.map((index) => `${columnName(index + 1)}${header.row}`).join(", ");
    withSheetName(table, () => {
      throw new RollcallError("import_invalid", `The column heading${computed.length > 1 ? "s" : ""} in ${cells} ${computed.length > 1 ? "are formulas" : "is a formula"} with no saved result: open the file in Excel and save it (or type the headings as text), then import again.`, { reason: "header_formula", cells: cells.split(", ") });
    });
  }
  const { mapping, titleRows } = await findHeadings(table, header, iterator, options.mapping ?? {});
  const warnings = titleRows.length ? [skippedTitle(titleRows, mapping.headerRow)] : [];
  return { table, mapping: mapping.columns, headerRow: mapping.headerRow, warnings, rows: checkedRows(iterator, mapping.columns, options.defaultCountry, table.format === "csv") };
}

/** How many rows below a title the headings are looked for (a report's name, its date, a blank line, a note). */
const titleRowsAtMost = 5;

/**
 * The headings: the first row that is not blank, or, when that row is a title (one or two cells, none a heading
 * this import knows) and a row a little further down maps, that row. HR and badge-system reports put their name
 * and date above the table; without this, the admin had to delete those rows by hand.
 */
async function findHeadings(table: TableFile, first: TableRow, iterator: AsyncIterator<TableRow>, mappingFile: MappingFile) {
  const map = (row: TableRow) => {
    const headers = row.cells.map((c, i) => (i === 0 ? c.replace(/^(\uFEFF|ï»¿)/, "") : c).trim());
    return { columns: withSheetName(table, () => withDelimiter(table, headers, () => withHeaderRow(row.row, () => mapColumns(headers, mappingFile)))), headerRow: row.row };
  };
  try {
    const mapping = map(first);
    return { mapping, titleRows: [] };
  } catch (error) {
    if (!isTitle(first, error)) throw error;
    const titleRows = [first];
    for (let next = await iterator.next(); !next.done && titleRows.length <= titleRowsAtMost; next = await iterator.next()) {
      if (isBlankRow(next.value.cells)) continue;
      try {
        const mapping = map(next.value);
        return { mapping, titleRows };
      } catch {
        titleRows.push(next.value);
      }
    }
    throw error;
  }
}

function isTitle(row: TableRow, error: unknown): boolean {
  if (!(error instanceof RollcallError) || error.details.reason !== "columns") return false;
  const mapped = error.details.mapped as unknown[] | undefined;
  return row.cells.filter((c) => c.trim() !== "").length <= 2 && !mapped?.length;
}

function skippedTitle(titleRows: TableRow[], headerRow: number): ImportProblem {
  const text = titleRows[0]!.cells.find((c) => c.trim() !== "")!.trim();
  const rows = titleRows.length === 1 ? `row ${titleRows[0]!.row}` : `rows ${titleRows[0]!.row}-${titleRows.at(-1)!.row}`;
  return { row: titleRows[0]!.row, column: null, field: "row", value: text.slice(0, 80), message: `${rows} above the headings (row ${headerRow}) read as a title, not imported` };
}

async function* checkedRows(iterator: AsyncIterator<TableRow>, mapping: ColumnMapping, defaultCountry: string | null, csv: boolean): AsyncGenerator<RowResult> {
  const seen = new Duplicates(mapping);
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const { row, cells, formulasWithoutResult, inexactNumbers, numbers, hidden } = next.value;
    // A formula without its saved result reads as blank: in a column the import reads, the row is not blank.
    const unresolved = formulasWithoutResult?.filter((index) => mapping.fields[index]);
    if (isBlankRow(cells) && !unresolved?.length) continue;
    if (mapping.layout === "entra" && /^example\b/i.test(cells[0]?.trim() ?? "")) continue;
    const { user, keys, problems, warnings, numbers: numberCells } = readRow(row, cells, mapping, defaultCountry, { unresolved, inexact: inexactNumbers, numbers, csv });
    // A row with other problems still claims its email and cards: a later row naming them is a duplicate,
    // not a new user (with --partial, it would otherwise be imported in the first row's place).
    const duplicates = seen.check(keys);
    if (!user || duplicates.length) yield { row, problems: [...problems, ...duplicates] };
    else if (hidden) yield { row, user, problems: [], warnings: [hiddenRow(row), ...(warnings ?? [])], ...(numberCells && { numbers: numberCells }) };
    else if (numberCells) yield { row, user, problems: [], ...(warnings && { warnings }), numbers: numberCells };
    else yield warnings ? { row, user, problems: [], warnings } : { row, user, problems: [] };
  }
}

/** A sheet filtered down to some rows still holds the others, hidden: an import reads every row, and says so. */
function hiddenRow(row: number): ImportProblem {
  return { row, column: null, field: "row", message: "a row hidden in the sheet (filtered out, or hidden by hand) is imported like the others; delete the rows not to import, or copy the visible ones to a new sheet" };
}

/** Remembers each row's keys, first row first (memory: a few short strings per row, never the rows). */
class Duplicates {
  /**
   * Row of the first use of each key, by kind: addresses, aliases lower-cased, cards as they are. An email and a
   * userPrincipalName share one kind: an address is one user's, whichever role it has (as for users added by hand).
   */
  private readonly seen: Record<"address" | "aliases" | "cardNumbers" | "rollcallId", Map<string, { row: number; field: string }>> = {
    address: new Map(), aliases: new Map(), cardNumbers: new Map(), rollcallId: new Map(),
  };
  constructor(private readonly mapping: ColumnMapping) {}

  check(user: RowKeys): ImportProblem[] {
    const { email, userPrincipalName, aliases, cardNumbers, rollcallId } = user;
    const keys: [keyof Duplicates["seen"], string, string, string][] = [];
    if (email) keys.push(["address", "email", email.toLowerCase(), email]);
    if (userPrincipalName && userPrincipalName.toLowerCase() !== email?.toLowerCase()) keys.push(["address", "userPrincipalName", userPrincipalName.toLowerCase(), userPrincipalName]);
    for (const alias of aliases ?? []) keys.push(["aliases", "aliases", alias.toLowerCase(), alias]);
    for (const card of cardNumbers ?? []) keys.push(["cardNumbers", "cardNumbers", card, card]);
    if (rollcallId) keys.push(["rollcallId", "rollcallId", rollcallId, rollcallId]);
    const problems: ImportProblem[] = [];
    for (const [kind, field, key, value] of keys) {
      const first = this.seen[kind].get(key);
      if (!first) continue;
      const role = first.field === field ? "" : ` (as its ${first.field})`;
      problems.push({ row: user.row, column: this.column(field), field, value, message: `"${value}" is also in row ${first.row}${role}` });
    }
    if (problems.length) return problems;
    for (const [kind, field, key] of keys) this.seen[kind].set(key, { row: user.row, field });
    return problems;
  }

  private column(field: string): string | null {
    const index = this.mapping.fields.findIndex((f) => f === field);
    return index < 0 ? null : this.mapping.headers[index]!;
  }
}

/** Missing columns also say which row was read as the headings: a title above them (a report's name) is read instead. */
function withHeaderRow<T>(row: number, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (!(error instanceof RollcallError) || error.details.reason !== "columns") throw error;
    throw new RollcallError(error.code, `${error.message} The headings were read from row ${row}, the first row that is not blank: if they are further down, delete the rows above them.`, { ...error.details, headerRow: row });
  }
}

const delimiterNames: Record<string, string> = { ",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar" };

/**
 * A CSV file's column problems say which delimiter the headings were split on when they hold another: a heading
 * line with as many of each ("Name, full;E-Mail") is read with the comma, and its columns come out wrong.
 */
function withDelimiter<T>(table: TableFile, headers: string[], body: () => T): T {
  try {
    return body();
  } catch (error) {
    const used = table.delimiter;
    const other = Object.keys(delimiterNames).find((d) => d !== used && headers.some((h) => h.includes(d)));
    if (!(error instanceof RollcallError) || error.details.reason !== "columns" || table.format !== "csv" || !used || !other) throw error;
    const hint = ` The headings were split on the ${delimiterNames[used] ?? used} (${JSON.stringify(used)}), and some hold a ${delimiterNames[other]} (${JSON.stringify(other)}): if the file is ${delimiterNames[other]}-separated, ${other === "\t" ? "" : `put the line sep=${other} above the headings, or `}save it again with one delimiter.`;
    throw new RollcallError(error.code, `${error.message}${hint}`, { ...error.details, delimiter: used });
  }
}

/**
 * A workbook's column problems name the sheet that was read and list the others (`details.sheets`, for the
 * console's Sheet list): with several, the admin may have meant another.
 */
function withSheetName<T>(table: TableFile, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (!(error instanceof RollcallError) || table.format !== "xlsx" || (table.sheets?.length ?? 1) < 2) throw error;
    throw new RollcallError(error.code, `Sheet "${table.sheet}" (of ${table.sheets!.map((s) => `"${s}"`).join(", ")}; choose another with --sheet, or the console's Sheet list): ${error.message}`, { ...error.details, sheet: table.sheet, sheets: table.sheets });
  }
}
