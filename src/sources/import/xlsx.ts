import { posix } from "node:path";
import type { Readable } from "node:stream";
import { RollcallError, invalidInput } from "../../errors.ts";
import { columnIndex, columnName } from "./columns.ts";
import { maxCellLength, type TableFile, type TableRow } from "./table.ts";
import { cellText, detached } from "./xlsx-cells.ts";
import { MergedCells, readMerges, type Merge } from "./xlsx-merges.ts";
import { readRelationships, readSharedStrings, readStyles, readWorkbook, readXml, type Styles } from "./xlsx-parts.ts";
import { attributeValues, XlsxXmlScanner } from "./xlsx-xml.ts";
import { defaultZipLimits, openEntry, readZipDirectory, type ZipLimits } from "./zip.ts";

/**
 * A streaming .xlsx reader: the sheet XML is inflated and parsed chunk by chunk, so a 100,000-row sheet
 * never sits in memory. Cells come back as the text Excel shows (shared strings, inline strings,
 * numbers through their number format), which keeps "000123" and 12-digit numbers intact.
 */
/** A number's text as an identifier typed as a number shows it: digits, no leading zero (a date or a zero-padded format is not one). */
const wholeNumber = /^[1-9]\d*$/;

export async function openXlsx(path: string, options: { sheet?: string | undefined; limits?: ZipLimits } = {}): Promise<TableFile> {
  const entries = await readZipDirectory(path, options.limits ?? defaultZipLimits);
  // Excel writes xl/workbook.xml, but the package's relationships say where the workbook and its parts are:
  // other writers put them elsewhere (ECMA-376 Part 2, §9.3).
  const rootRels = await readRelationships(path, entries.get("_rels/.rels"), "");
  const workbookPath = rootRels.byType("officeDocument") ?? "xl/workbook.xml";
  const workbookEntry = entries.get(workbookPath);
  if (!workbookEntry) {
    // OpenDocument (LibreOffice, Google Sheets' .ods download) names itself in a "mimetype" entry and keeps its cells in content.xml.
    if (entries.has("content.xml") && entries.has("mimetype")) {
      throw new RollcallError("unsupported_file", "This is an OpenDocument spreadsheet (.ods). In LibreOffice use File > Save As > Excel 2007-365 (.xlsx), or save it as CSV, and import that.", { reason: "ods" });
    }
    throw new RollcallError("unsupported_file", `This ZIP file is not an Excel workbook (no ${workbookPath}). Upload an .xlsx or a CSV file.`, {});
  }
  const folder = posix.dirname(workbookPath);
  const rels = await readRelationships(path, entries.get(posix.join(folder, "_rels", `${posix.basename(workbookPath)}.rels`)), folder);
  const workbook = await readWorkbook(path, workbookEntry, rels, folder);
  if (workbook.sheets.length === 0) throw new RollcallError("unsupported_file", "The workbook has no worksheets.", {});
  // Without a name, the first sheet the admin sees: a hidden one first is usually a lookup list.
  const wanted = options.sheet
    ? workbook.sheets.find((s) => s.name.trim().toLowerCase() === options.sheet!.trim().toLowerCase())
    : (workbook.sheets.find((s) => !s.hidden) ?? workbook.sheets[0]);
  if (!wanted) {
    throw invalidInput([{ field: "sheet", message: `no sheet called "${options.sheet}"; the workbook has: ${workbook.sheets.map((s) => s.name).join(", ")}`, value: options.sheet }]);
  }
  const sheetEntry = entries.get(wanted.path);
  if (!sheetEntry) throw new RollcallError("unsupported_file", `The Excel file is damaged or incomplete (sheet "${wanted.name}" is missing).`, {});
  const sharedStrings = await readSharedStrings(path, entries.get(rels.byType("sharedStrings") ?? `${folder}/sharedStrings.xml`));
  const styles = await readStyles(path, entries.get(rels.byType("styles") ?? `${folder}/styles.xml`));
  const merges = await readMerges(path, sheetEntry);
  let read = 0;
  return {
    format: "xlsx",
    sheet: wanted.name,
    sheets: workbook.sheets.map((s) => s.name),
    totalBytes: sheetEntry.compressedSize,
    bytesRead: () => read,
    rows: {
      [Symbol.asyncIterator]: async function* () {
        const stream = await openEntry(path, sheetEntry, (n) => (read += n));
        yield* sheetRows(stream, { sharedStrings, styles, date1904: workbook.date1904, merges });
      },
    },
  };
}

const rowAttributes = ["r", "hidden"];
const cellAttributes = ["r", "t", "s"];

async function* sheetRows(stream: Readable, context: { sharedStrings: string[]; styles: Styles; date1904: boolean; merges: Merge[] }): AsyncGenerator<TableRow> {
  const ready: TableRow[] = [];
  const merged = new MergedCells(context.merges);
  let rowNumber = 0;
  let cells: string[] = [];
  let column = 0;
  let cell: { type: string; style: number; text: string; collecting: boolean; formula: boolean; value: boolean } | undefined;
  /** Cells of the row holding a formula without its result, or a number rounded to 15 digits (see TableRow). */
  let unresolved: number[] | undefined;
  let inexact: number[] | undefined;
  /** Cells of the row holding a whole number shown without a leading zero (see TableRow.numbers). */
  let numbers: number[] | undefined;
  let hidden = false;

  const scanner = new XlsxXmlScanner({
    open(name, raw) {
      if (name === "row") {
        const [r, hiddenAttribute] = attributeValues(raw, rowAttributes);
        hidden = hiddenAttribute === "1" || hiddenAttribute === "true";
        rowNumber = r ? Number(r) : rowNumber + 1;
        cells = [];
        column = 0;
        unresolved = undefined;
        inexact = undefined;
        numbers = undefined;
      } else if (name === "c") {
        const [r, t, s] = attributeValues(raw, cellAttributes);
        column = r ? columnIndex(r) : column + 1;
        cell = { type: t ?? "n", style: Number(s ?? 0), text: "", collecting: false, formula: false, value: false };
      } else if (cell && (name === "v" || name === "t")) {
        cell.collecting = true;
        if (name === "v") cell.value = true;
      } else if (cell && name === "f") {
        cell.formula = true;
      }
    },
    text(text) {
      if (!cell?.collecting) return;
      cell.text += text;
      if (cell.text.length > maxCellLength) {
        throw new RollcallError("import_invalid", `Row ${rowNumber}, column ${columnName(column)}: a cell holds more than ${maxCellLength} characters (Excel's own limit); the file is damaged or not a user list.`, { row: rowNumber });
      }
    },
    close(name) {
      if ((name === "v" || name === "t") && cell) cell.collecting = false;
      else if (name === "c" && cell) {
        const text = cellText(cell.type, detached(cell.text), context.styles.formats[cell.style] ?? "General", context);
        cells[column - 1] = text;
        if (cell.type === "n" && wholeNumber.test(text)) (numbers ??= []).push(column - 1);
        // Excel saves each formula's last result beside it (<v>); programs that write formulas without computing them do not.
        if (cell.formula && !cell.value) (unresolved ??= []).push(column - 1);
        if (cell.type === "n" && Math.abs(Number(cell.text)) >= 1e15) (inexact ??= []).push(column - 1);
        cell = undefined;
      } else if (name === "row") {
        merged.fill(rowNumber, cells);
        for (let i = 0; i < cells.length; i++) cells[i] ??= "";
        ready.push(
          unresolved || inexact || numbers || hidden
            ? { row: rowNumber, cells, ...(unresolved && { formulasWithoutResult: unresolved }), ...(inexact && { inexactNumbers: inexact }), ...(numbers && { numbers }), ...(hidden && { hidden }) }
            : { row: rowNumber, cells },
        );
      }
    },
  });
  for await (const _ of readXml(stream, scanner)) {
    if (ready.length) yield* ready.splice(0);
  }
}
