import { posix } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Readable } from "node:stream";
import { RollcallError } from "../../errors.ts";
import { formatCode } from "./cell-format.ts";
import { detached } from "./xlsx-cells.ts";
import { attributeValues, XlsxXmlScanner, type XlsxXmlEvents } from "./xlsx-xml.ts";
import { openEntry, type ZipEntry } from "./zip.ts";

/**
 * The parts of an .xlsx package around its sheets: relationships, the workbook's sheet list, shared strings and
 * number formats, each read whole (they are small), and the XML streaming the sheet reader shares.
 */

export interface SheetRef {
  name: string;
  path: string;
  hidden: boolean;
}

export interface Relationships {
  /** The part a relationship id points at, as a path in the ZIP. */
  byId(id: string): string | undefined;
  /** The part of the first relationship of a type, by the type's last segment ("sharedStrings"): transitional and strict URIs alike. */
  byType(type: string): string | undefined;
}

export async function readRelationships(path: string, entry: ZipEntry | undefined, folder: string): Promise<Relationships> {
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

export async function readWorkbook(path: string, entry: ZipEntry, rels: Relationships, folder: string): Promise<{ sheets: SheetRef[]; date1904: boolean }> {
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

export async function readSharedStrings(path: string, entry: ZipEntry | undefined): Promise<string[]> {
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

export interface Styles {
  /** Per cell style index (the `s` attribute): its number format code. */
  formats: string[];
}

export async function readStyles(path: string, entry: ZipEntry | undefined): Promise<Styles> {
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

const ignore = () => {};

async function parseEntry(path: string, entry: ZipEntry, events: Partial<XlsxXmlEvents>): Promise<void> {
  const stream = await openEntry(path, entry);
  for await (const _ of readXml(stream, new XlsxXmlScanner({ open: events.open ?? ignore, text: events.text ?? ignore, close: events.close ?? ignore }))) {
    // parsing for side effects only
  }
}

/** Feeds a stream to `scanner`; yields after every chunk so callers can hand out what was parsed. */
export async function* readXml(stream: Readable, scanner: XlsxXmlScanner): AsyncGenerator<void> {
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

export function damaged(error: unknown): RollcallError {
  if (error instanceof RollcallError) return error;
  const reason = (error as Error).message.split("\n")[0];
  return new RollcallError("unsupported_file", `The Excel file is damaged (${reason}). Save it again from Excel, or export it as CSV.`, {}, { cause: error });
}
