import { posix } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { RollcallError, invalidInput } from "../../errors.ts";
import { formatCode, formatNumber, plainNumber } from "./cell-format.ts";
import { maxCellLength, type TableFile, type TableRow } from "./table.ts";
import { attributeValues, XlsxXmlScanner, type XlsxXmlEvents } from "./xlsx-xml.ts";
import { defaultZipLimits, openEntry, readZipDirectory, type ZipEntry, type ZipLimits } from "./zip.ts";

/**
 * A streaming .xlsx reader: the sheet XML is inflated and parsed chunk by chunk, so a 100,000-row sheet
 * never sits in memory. Cells come back as the text Excel shows (shared strings, inline strings,
 * numbers through their number format), which keeps "000123" and 12-digit numbers intact.
 */
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

interface SheetRef {
  name: string;
  path: string;
  hidden: boolean;
}

interface Relationships {
  /** The part a relationship id points at, as a path in the ZIP. */
  byId(id: string): string | undefined;
  /** The part of the first relationship of a type, by the type's last segment ("sharedStrings"): transitional and strict URIs alike. */
  byType(type: string): string | undefined;
}

async function readRelationships(path: string, entry: ZipEntry | undefined, folder: string): Promise<Relationships> {
  const found: { id: string; type: string; target: string }[] = [];
  if (entry) {
    await parseEntry(path, entry, {
      open(name, raw) {
        if (name !== "Relationship") return;
        const [id, type, target, mode] = attributeValues(raw, ["Id", "Type", "Target", "TargetMode"]);
        if (mode === "External" || !target) return;
        found.push({ id: id ?? "", type: type ?? "", target: target.startsWith("/") ? target.slice(1) : posix.normalize(posix.join(folder, target)) });
      },
    });
  }
  return {
    byId: (id) => found.find((r) => r.id === id)?.target,
    byType: (type) => found.find((r) => r.type.endsWith(`/${type}`))?.target,
  };
}

async function readWorkbook(path: string, entry: ZipEntry, rels: Relationships, folder: string): Promise<{ sheets: SheetRef[]; date1904: boolean }> {
  const sheets: SheetRef[] = [];
  let date1904 = false;
  await parseEntry(path, entry, {
    open(name, raw) {
      if (name === "workbookPr") date1904 = /^(1|true)$/.test(attributeValues(raw, ["date1904"])[0] ?? "");
      if (name !== "sheet") return;
      const [sheetName, sheetId, relationship, state] = attributeValues(raw, ["name", "sheetId", "r:id", "state"]);
      const part = rels.byId(relationship ?? "") ?? `${folder}/worksheets/sheet${sheetId}.xml`;
      sheets.push({ name: sheetName ?? "", path: part, hidden: state === "hidden" || state === "veryHidden" });
    },
  });
  return { sheets, date1904 };
}

async function readSharedStrings(path: string, entry: ZipEntry | undefined): Promise<string[]> {
  const strings: string[] = [];
  if (!entry) return strings;
  let current = "";
  let inText = false;
  let inPhonetic = false;
  await parseEntry(path, entry, {
    open(name) {
      if (name === "si") current = "";
      else if (name === "rPh") inPhonetic = true;
      else if (name === "t" && !inPhonetic) inText = true;
    },
    text(text) {
      if (inText) current += text;
    },
    close(name) {
      if (name === "t") inText = false;
      else if (name === "rPh") inPhonetic = false;
      else if (name === "si") strings.push(detached(current));
    },
  });
  return strings;
}

interface Styles {
  /** Per cell style index (the `s` attribute): its number format code. */
  formats: string[];
}

async function readStyles(path: string, entry: ZipEntry | undefined): Promise<Styles> {
  const custom = new Map<number, string>();
  const ids: number[] = [];
  if (!entry) return { formats: [] };
  let inCellXfs = false;
  await parseEntry(path, entry, {
    open(name, raw) {
      if (name === "numFmt") {
        const [id, code] = attributeValues(raw, ["numFmtId", "formatCode"]);
        custom.set(Number(id), code ?? "General");
      } else if (name === "cellXfs") inCellXfs = true;
      else if (name === "xf" && inCellXfs) ids.push(Number(attributeValues(raw, ["numFmtId"])[0] ?? 0));
    },
    close(name) {
      if (name === "cellXfs") inCellXfs = false;
    },
  });
  return { formats: ids.map((id) => formatCode(id, custom)) };
}

/** A range of merged cells spanning rows, 1-based and inclusive. */
interface Merge {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/**
 * The sheet's merged ranges that span several rows. Excel keeps a merged range's value in its top-left cell only,
 * and shows it across the range: a Department or Groups cell merged down a team's rows is meant for each of them.
 * The ranges are listed after the rows (<mergeCells>), so the sheet is inflated once more first, scanning its text
 * only (a tenth of the time parsing takes).
 */
async function readMerges(path: string, entry: ZipEntry): Promise<Merge[]> {
  // The bytes are searched for <mergeCells> (a few KB after the rows): decoding the whole sheet to look cost more.
  const parts: Buffer[] = [];
  let carry: Buffer = Buffer.alloc(0);
  const stream = await openEntry(path, entry);
  try {
    for await (const chunk of stream) {
      const bytes = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      if (parts.length) {
        parts.push(chunk as Buffer);
        continue;
      }
      const at = bytes.indexOf("mergeCells");
      if (at >= 0) parts.push(bytes.subarray(at));
      else carry = bytes.subarray(Math.max(0, bytes.length - 16));
    }
  } catch (error) {
    stream.destroy();
    throw damaged(error);
  }
  const merges: Merge[] = [];
  for (const m of Buffer.concat(parts).toString("utf8").matchAll(/<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"/g)) {
    const [top, bottom] = [Number(m[2]), Number(m[4])];
    if (bottom > top) merges.push({ top, left: columnIndex(m[1]!), bottom, right: columnIndex(m[3]!) });
  }
  return merges.sort((a, b) => a.top - b.top);
}

/** Fills each row's cells that lie in a merged range with the range's value, as Excel shows them. */
class MergedCells {
  private next = 0;
  private active: (Merge & { value: string })[] = [];
  constructor(private readonly merges: Merge[]) {}

  fill(row: number, cells: string[]): void {
    if (this.merges.length === 0) return;
    this.active = this.active.filter((m) => m.bottom >= row);
    for (; this.next < this.merges.length && this.merges[this.next]!.top <= row; this.next++) {
      const merge = this.merges[this.next]!;
      if (merge.top === row) this.active.push({ ...merge, value: cells[merge.left - 1] ?? "" });
    }
    for (const m of this.active) {
      for (let column = m.left; column <= m.right; column++) if (!cells[column - 1]) cells[column - 1] = m.value;
    }
  }
}

const ignore = () => {};

async function parseEntry(path: string, entry: ZipEntry, events: Partial<XlsxXmlEvents>): Promise<void> {
  const stream = await openEntry(path, entry);
  for await (const _ of readXml(stream, new XlsxXmlScanner({ open: events.open ?? ignore, text: events.text ?? ignore, close: events.close ?? ignore }))) {
    // parsing for side effects only
  }
}

/** Feeds a stream to `scanner`; yields after every chunk so callers can hand out what was parsed. */
async function* readXml(stream: Readable, scanner: XlsxXmlScanner): AsyncGenerator<void> {
  const decoder = new StringDecoder("utf8");
  try {
    for await (const chunk of stream) {
      scanner.write(decoder.write(chunk as Buffer));
      yield;
    }
    scanner.write(decoder.end());
    scanner.end();
  } catch (error) {
    stream.destroy();
    throw damaged(error);
  }
  yield;
}

function damaged(error: unknown): RollcallError {
  if (error instanceof RollcallError) return error;
  const reason = (error as Error).message.split("\n")[0];
  return new RollcallError("unsupported_file", `The Excel file is damaged (${reason}). Save it again from Excel, or export it as CSV.`, {}, { cause: error });
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
        cells[column - 1] = cellText(cell.type, detached(cell.text), context.styles.formats[cell.style] ?? "General", context);
        // Excel saves each formula's last result beside it (<v>); programs that write formulas without computing them do not.
        if (cell.formula && !cell.value) (unresolved ??= []).push(column - 1);
        if (cell.type === "n" && Math.abs(Number(cell.text)) >= 1e15) (inexact ??= []).push(column - 1);
        cell = undefined;
      } else if (name === "row") {
        merged.fill(rowNumber, cells);
        for (let i = 0; i < cells.length; i++) cells[i] ??= "";
        ready.push(unresolved || inexact || hidden ? { row: rowNumber, cells, ...(unresolved && { formulasWithoutResult: unresolved }), ...(inexact && { inexactNumbers: inexact }), ...(hidden && { hidden }) } : { row: rowNumber, cells });
      }
    },
  });
  for await (const _ of readXml(stream, scanner)) {
    if (ready.length) yield* ready.splice(0);
  }
}

/**
 * `text` in a string of its own. The scanner hands out text as slices of the chunk it is reading, and V8 keeps a
 * slice's whole chunk (64 KB) alive: emails kept to find duplicates held on to every chunk of a sheet, 50 MB
 * for 100,000 rows, which the garbage collector then marked again and again. V8 copies slices shorter than 13
 * characters anyway; a concatenation, once sliced, is flattened into a new string.
 */
function detached(text: string): string {
  return text.length < 13 ? text : (" " + text).slice(1);
}

function cellText(type: string, raw: string, format: string, context: { sharedStrings: string[]; date1904: boolean }): string {
  switch (type) {
    case "s":
      return context.sharedStrings[Number(raw)] ?? "";
    case "b":
      return raw === "1" ? "TRUE" : "FALSE";
    case "inlineStr":
    case "str":
    case "e":
    case "d":
      return raw;
    default: {
      if (raw.trim() === "") return "";
      const value = Number(raw);
      if (!Number.isFinite(value)) return raw;
      return format === "@" ? plainNumber(value) : formatNumber(value, format, context.date1904);
    }
  }
}

/** The number of the column a cell reference ("C7") or letter names (A is 1). */
export function columnIndex(reference: string): number {
  let index = 0;
  for (const char of reference) {
    const code = char.charCodeAt(0);
    if (code < 65 || code > 90) break;
    index = index * 26 + (code - 64);
  }
  return index;
}

export function columnName(index: number): string {
  let name = "";
  for (let n = index; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}
