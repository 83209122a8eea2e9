import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream";
import { parse, CsvError } from "csv-parse";
import iconv from "iconv-lite";
import { RollcallError } from "../../errors.ts";
import { chosenEncoding, detectEncoding, namedEncoding, type TextEncoding } from "./encoding.ts";
import { maxCellLength, type TableFile, type TableRow } from "./table.ts";

/** Those a header line is split on to detect the delimiter; Excel's `sep=` line may name a vertical bar too. */
const detected = [",", ";", "\t"] as const;
export const csvDelimiters = [...detected, "|"] as const;
export type CsvDelimiter = (typeof csvDelimiters)[number];
const declaredDelimiter = new RegExp(`^sep=([${csvDelimiters.join("")}])\\r?\\n`, "i");

/**
 * A streaming CSV reader: encoding (unless the admin names it) and delimiter are detected, then rows are parsed as the file is read.
 * Quoted fields may hold delimiters, doubled quotes and line breaks; CRLF and LF both work.
 */
export async function openCsv(path: string, options: { encoding?: string | undefined } = {}): Promise<TableFile> {
  const { size } = await stat(path);
  const { encoding, bomLength } = options.encoding ? await namedEncoding(path, chosenEncoding(options.encoding)) : await detectEncoding(path);
  const sample = await decodeStart(path, encoding, bomLength);
  const delimiter = detectDelimiter(sample);
  let read = bomLength; // the byte-order mark is skipped, not unread: a fully read file reads as its size
  return {
    format: "csv",
    encoding,
    delimiter,
    totalBytes: size,
    bytesRead: () => read,
    rows: {
      [Symbol.asyncIterator]: () => csvRows(path, encoding, bomLength, delimiter, (n) => (read += n)),
    },
  };
}

async function* csvRows(path: string, encoding: TextEncoding, bomLength: number, delimiter: string, onBytes: (n: number) => void): AsyncGenerator<TableRow> {
  const source = createReadStream(path, { start: bomLength, highWaterMark: 256 * 1024 });
  source.on("data", (chunk) => onBytes(chunk.length));
  // Empty lines come out as records of one empty cell, counted and left out here: csv-parse's own line
  // counting (`info`) cost a third of its parsing time.
  const parser = parse({
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: maxCellLength * 4,
  });
  const decoded = encoding === "utf8" ? source : source.pipe(iconv.decodeStream(encoding));
  pipeline(decoded, parser, () => {});
  try {
    // Row numbers as a spreadsheet shows the file: a blank line is a row, a cell with line breaks is not several.
    let row = 0;
    for await (const cells of parser as AsyncIterable<string[]>) {
      row++;
      if (cells.length === 1 && cells[0] === "") continue;
      yield { row, cells };
    }
  } catch (error) {
    source.destroy();
    throw translate(error);
  }
}

function translate(error: unknown): unknown {
  if (!(error instanceof CsvError)) return error;
  const line = (error as unknown as { lines?: number }).lines;
  const where = line ? ` (near line ${line})` : "";
  if (error.code === "CSV_MAX_RECORD_SIZE") {
    return new RollcallError("import_invalid", `A row is larger than ${maxCellLength * 4} characters${where}; the file is damaged or not a user list.`, { line, reason: error.code });
  }
  if (error.code === "CSV_QUOTE_NOT_CLOSED") {
    return new RollcallError("import_invalid", `A quoted field is never closed${where}; the file is truncated or has a stray quote.`, { line, reason: error.code });
  }
  return new RollcallError("import_invalid", `The CSV file cannot be read${where}: ${error.message}`, { line, reason: error.code });
}

async function decodeStart(path: string, encoding: TextEncoding, bomLength: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start: bomLength, end: bomLength + 65_535 }) as AsyncIterable<Buffer>) chunks.push(chunk);
  const buffer = Buffer.concat(chunks);
  return encoding === "utf8" ? buffer.toString("utf8") : iconv.decode(buffer, encoding);
}

/** The delimiter that splits the header line into the most fields (quotes respected). Pure. */
export function detectDelimiter(sample: string): CsvDelimiter {
  let text = sample.replace(/^\uFEFF/, "");
  // Excel's "sep=;" first line names the delimiter (Excel writes it for lists whose separator is not the locale's).
  const declared = declaredDelimiter.exec(text)?.[1] as CsvDelimiter | undefined;
  if (declared) return declared;
  if (/^"?version:v\d/i.test(text)) text = text.slice(text.indexOf("\n") + 1);
  const counts = new Map<string, number>(detected.map((d) => [d, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === "\n" || char === "\r")) break;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best: CsvDelimiter = ",";
  for (const d of detected) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}
