import { isAscii, isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import iconv from "iconv-lite";
import { RollcallError, invalidInput } from "../../errors.ts";

/**
 * Which encoding a CSV file is in. BOMs decide first (UTF-8, and Excel's "Unicode text", which is
 * UTF-16LE with a BOM); then the whole file is checked as UTF-8; a file with no valid UTF-8
 * multi-byte sequence at all is in the Windows code page of the PC that saved it (what Excel on Windows writes as
 * "CSV"): Western European (1252) unless its text reads as Cyrillic (1251) or Central European (1250) instead.
 * A file with both valid UTF-8 and invalid bytes is mixed and refused: guessing would corrupt names.
 */
export type TextEncoding = "utf8" | "utf16le" | "utf16be" | CodePage | ChosenEncoding;
type CodePage = "windows-1252" | "windows-1250" | "windows-1251";
/** An encoding the admin named (any that iconv-lite knows), lower-cased: see chosenEncoding. */
type ChosenEncoding = string & { readonly chosen?: never };

const encodingExamples = "utf-8, utf-16le, windows-1250, windows-1252, windows-1257, iso-8859-2, cp437, cp850, koi8-r, shift_jis, gb18030";

/** Why `name` is not an encoding a file can be read in (undefined when it is one). Pure. */
export function encodingProblem(name: string): string | undefined {
  if (iconv.encodingExists(name.trim())) return undefined;
  return `"${name}" is not a text encoding Rollcall knows; give one such as ${encodingExamples} (any name iconv-lite knows), or leave it out to detect the file's`;
}

/** The encoding the admin named, checked and lower-cased (so "Windows-1257" and "windows-1257" are one choice). */
export function chosenEncoding(name: string): ChosenEncoding {
  const problem = encodingProblem(name);
  if (problem) throw invalidInput([{ field: "encoding", message: problem, value: name }]);
  return name.trim().toLowerCase();
}

/**
 * A file read in the encoding the admin named instead of a detected one (a DOS export in cp850, a Baltic
 * windows-1257 file that would read as Western European): only what cannot be text in it is refused, and a
 * byte-order mark of that encoding is skipped.
 */
export async function namedEncoding(path: string, encoding: ChosenEncoding): Promise<Detected> {
  if (/^(utf-?8|unicode-1-1-utf-8)$/.test(encoding)) return checkedUtf8(path, encoding);
  const sample = await readStart(path, 4096);
  if (sample.length === 0) throw new RollcallError("import_invalid", "The file is empty.", { reason: "empty" });
  refuseKnownBinary(sample);
  const bom = iconv.encode("\uFEFF", encoding);
  // A single-byte code page has no BOM (it encodes U+FEFF as "?"); UTF-16 and UTF-32 text holds zero bytes.
  const bomLength = bom.length > 1 && sample.subarray(0, bom.length).equals(bom) ? bom.length : 0;
  if (iconv.encode("A", encoding).length === 1 && sample.includes(0)) throw notText();
  return { encoding, bomLength };
}

export interface Detected {
  encoding: TextEncoding;
  /** Bytes to skip at the start (the BOM). */
  bomLength: number;
}

export function detectFromSample(sample: Buffer): { encoding: TextEncoding; bomLength: number } | { encoding: "unknown" } {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: "utf8", bomLength: 3 };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: "utf16le", bomLength: 2 };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: "utf16be", bomLength: 2 };
  // UTF-16 without a BOM: ASCII text has a zero in every other byte.
  const pairs = Math.min(256, Math.floor(sample.length / 2));
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < pairs; i++) {
    if (sample[2 * i] === 0) evenZeros++;
    if (sample[2 * i + 1] === 0) oddZeros++;
  }
  if (pairs >= 4 && oddZeros > pairs * 0.4 && evenZeros === 0) return { encoding: "utf16le", bomLength: 0 };
  if (pairs >= 4 && evenZeros > pairs * 0.4 && oddZeros === 0) return { encoding: "utf16be", bomLength: 0 };
  return { encoding: "unknown" };
}

/** Reads the file once (streaming) to choose between UTF-8 and Windows-1252, or refuse it. */
export async function detectEncoding(path: string): Promise<Detected> {
  const sample = await readStart(path, 4096);
  if (sample.length === 0) throw new RollcallError("import_invalid", "The file is empty.", { reason: "empty" });
  refuseKnownBinary(sample);
  const fromSample = detectFromSample(sample);
  // A UTF-8 BOM still gets the whole file checked: bytes that are not UTF-8 after it would become "�" in names.
  const utf8Bom = fromSample.encoding === "utf8";
  if (fromSample.encoding !== "unknown" && !utf8Bom) return fromSample as Detected;
  if (sample.includes(0)) throw notText();

  let validMultibyte = false;
  let invalidAt = -1;
  let offset = 0;
  // Bytes of a character cut by the chunk's end, checked with the next chunk (they hold no newline).
  let carried = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    if (chunk.includes(0)) throw notText();
    const bytes = carried.length ? Buffer.concat([carried, chunk]) : chunk;
    const whole = bytes.subarray(0, bytes.length - cutCharacterLength(bytes));
    // Checked without decoding: most files are ASCII, and valid UTF-8 that is not ASCII has multi-byte characters.
    if (invalidAt < 0 && !isAscii(whole)) {
      if (isUtf8(whole)) validMultibyte = true;
      else invalidAt = offset - carried.length + firstInvalidUtf8(whole);
    }
    if (invalidAt >= 0 && !validMultibyte && hasValidMultibyte(whole)) validMultibyte = true;
    carried = Buffer.from(bytes.subarray(whole.length));
    offset += chunk.length;
  }
  if (invalidAt < 0) {
    if (carried.length) throw new RollcallError("import_invalid", "The file ends in the middle of a UTF-8 character; it is truncated.", { reason: "truncated_utf8" });
    return { encoding: "utf8", bomLength: utf8Bom ? 3 : 0 };
  }
  if (validMultibyte || utf8Bom) {
    const invalidLine = await lineAt(path, invalidAt);
    throw new RollcallError(
      "import_invalid",
      `The file mixes encodings: it contains UTF-8 text but also bytes that are not UTF-8 (first at line ${invalidLine}, byte ${invalidAt}). Save it again as "CSV UTF-8" and retry.`,
      { reason: "mixed_encodings", line: invalidLine, byte: invalidAt },
    );
  }
  return { encoding: guessCodePage(await readStart(path, 1024 * 1024)), bomLength: 0 };
}

/** UTF-8 named is checked as detection checks it: bytes that are not UTF-8 would otherwise become "�" in names. */
async function checkedUtf8(path: string, name: string): Promise<Detected> {
  const detected = await detectEncoding(path);
  if (detected.encoding === "utf8") return detected;
  throw new RollcallError(
    "import_invalid",
    `The file is not ${name}: it holds bytes UTF-8 does not have (it reads as ${detected.encoding}). Leave out the encoding to have it detected, or name the one the file was saved in.`,
    { reason: "not_utf8", detected: detected.encoding },
  );
}

/** A letter, a character no word holds (£ ³ ¹ ¿ ¥ ¯: what Polish ł ą ż Ą Ż read as Western European), a letter. */
const oddInWord = /\p{L}[\p{S}\p{No}\u00A1\u00BF]\p{L}/gu;

/**
 * Which Windows code page single-byte text is in, from its first megabyte. Cyrillic read as Western European is
 * words of accented letters only ("Èâàí Ïåòðîâ"), which no Western language writes; Central European text read as
 * Western European has symbols inside words ("Wo³ek" for Wołek), which its own code page reads as letters. Anything
 * else stays Western European: a wrong guess would corrupt names that were right. Pure.
 */
export function guessCodePage(bytes: Buffer): CodePage {
  const western = iconv.decode(bytes, "windows-1252");
  const accented = western.match(/[\p{L}]*[\u00C0-\u00FF][\p{L}]*/gu) ?? [];
  const allAccented = accented.filter((word) => word.length >= 3 && /^[\u00C0-\u00FF]+$/.test(word)).length;
  if (allAccented > 0 && allAccented * 2 >= accented.length) return "windows-1251";
  const odd = (text: string) => text.match(oddInWord)?.length ?? 0;
  if (odd(western) > 0 && odd(iconv.decode(bytes, "windows-1250")) === 0) return "windows-1250";
  return "windows-1252";
}

function refuseKnownBinary(sample: Buffer): void {
  if (sample.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) {
    throw new RollcallError("unsupported_file", "This is an old Excel 97-2003 (.xls) file. Save it as .xlsx or CSV and import that.", { reason: "xls" });
  }
  if (sample.subarray(0, 5).toString("latin1") === "%PDF-") {
    throw new RollcallError("unsupported_file", "This is a PDF, not a spreadsheet. Import a CSV or .xlsx file.", { reason: "pdf" });
  }
}

function notText(): RollcallError {
  return new RollcallError("unsupported_file", "The file is not a CSV or Excel file (it contains binary data). Import a CSV or .xlsx file.", { reason: "binary" });
}

async function readStart(path: string, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks, total);
}

// Two-, three- and four-byte UTF-8 sequences with correct lead and continuation bytes.
const multibyte = /[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}/;

function hasValidMultibyte(chunk: Buffer): boolean {
  return multibyte.test(chunk.toString("latin1"));
}

/** How many bytes at the end of `bytes` begin a character that the next bytes would complete. */
function cutCharacterLength(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if (byte < 0x80) return 0;
    if (byte >= 0xc0) return (byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2) > back ? back : 0;
  }
  return 0;
}

/** The offset of the first byte that is not valid UTF-8 in a chunk that holds one. */
function firstInvalidUtf8(chunk: Buffer): number {
  let lo = 0;
  let hi = chunk.length;
  // Binary search for the shortest prefix that is not valid (a prefix that ends inside a character is not cut off here).
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const prefix = chunk.subarray(0, mid + 1);
    if (isUtf8(prefix.subarray(0, prefix.length - cutCharacterLength(prefix)))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The line (from 1) that holds the byte at `offset`: read again, for an error message only. */
async function lineAt(path: string, offset: number): Promise<number> {
  let line = 1;
  for await (const chunk of createReadStream(path, { end: Math.max(0, offset - 1) }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) line++;
  }
  return line;
}
