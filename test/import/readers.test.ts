import { afterAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openTable } from "../../src/sources/import/open.ts";
import { openImportSource } from "../../src/sources/import/source.ts";
import { detectDelimiter } from "../../src/sources/import/csv.ts";
import { formatNumber, plainNumber } from "../../src/sources/import/cell-format.ts";
import { neutralise, textFormulaValue, unneutralise } from "../../src/sources/import/formula.ts";
import { RollcallError } from "../../src/errors.ts";
import { zipArchive } from "../support/zip.ts";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";

const fixture = (name: string) => join(import.meta.dirname, "../fixtures/import", name);
const scratch = await mkdtemp(join(tmpdir(), "rollcall-readers-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function readAll(path: string, sheet?: string) {
  const table = await openTable(path, { sheet });
  const rows: { row: number; cells: string[] }[] = [];
  for await (const row of table.rows) rows.push(row);
  return { table, rows };
}

async function failure(promise: Promise<unknown>): Promise<RollcallError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RollcallError);
  return error as RollcallError;
}

describe("CSV reading", () => {
  it("reads UTF-8 with a BOM, semicolons, CRLF and a quoted field holding the delimiter and a line break", async () => {
    const { table, rows } = await readAll(fixture("utf8-bom-semicolon.csv"));
    expect(table).toMatchObject({ format: "csv", encoding: "utf8", delimiter: ";" });
    expect(rows[0]!.cells[0]).toBe("E-Mail");
    expect(rows[1]!.cells).toEqual(["juergen@example.de", "Jürgen", "Groß", "Forschung; Entwicklung", "+49 30 901820"]);
    expect(rows[2]).toEqual({ row: 3, cells: ["zoe@example.de", "Zoë", "Weiß\r\nvon Adler", "Vertrieb", ""] });
  });

  it("reads Excel's Unicode text (UTF-16LE with BOM, tab-separated) with doubled quotes", async () => {
    const { table, rows } = await readAll(fixture("excel-unicode-text.txt"));
    expect(table).toMatchObject({ encoding: "utf16le", delimiter: "\t" });
    expect(rows[1]!.cells[1]).toBe("Søren Kierkegaard");
    expect(rows[2]!.cells[2]).toBe('Director, "Film"');
  });

  it("falls back to Windows-1252 when no byte sequence is UTF-8", async () => {
    const { table, rows } = await readAll(fixture("windows-1252.csv"));
    expect(table.encoding).toBe("windows-1252");
    expect(rows[2]!.cells).toEqual(["francois@example.fr", "François Œuvre", "Café – “Bar”"]);
  });

  it("reads the Windows code page of a Central European or Cyrillic PC, and keeps Western European text as it is", async () => {
    const saved = async (name: string, codePage: string, lines: string[]) => {
      const path = join(scratch, name);
      await writeFile(path, iconv.encode(`${lines.join("\r\n")}\r\n`, codePage));
      return readAll(path);
    };
    const polish = await saved("cp1250.csv", "windows-1250", ["email;displayName;department", "lukasz@example.pl;Łukasz Wołek;Sprzedaż", "zofia@example.pl;Zofia Woźniak;Księgowość"]);
    expect(polish.table.encoding).toBe("windows-1250");
    expect(polish.rows[1]!.cells).toEqual(["lukasz@example.pl", "Łukasz Wołek", "Sprzedaż"]);
    const russian = await saved("cp1251.csv", "windows-1251", ["email;displayName;department", "ivan@example.ru;Иван Петров;Продажи", "olga@example.ru;Ольга Smith;IT"]);
    expect(russian.table.encoding).toBe("windows-1251");
    expect(russian.rows[1]!.cells).toEqual(["ivan@example.ru", "Иван Петров", "Продажи"]);
    const western = await saved("cp1252.csv", "windows-1252", ["email;displayName;note", "jurgen@example.de;Jürgen Müller-Lüdenscheidt;£100 Prämie", "anais@example.fr;Anaïs Lefèvre;Œuvre à côté", "zoe@example.es;Zoë Núñez;¿Sí?"]);
    expect(western.table.encoding).toBe("windows-1252");
    expect(western.rows[1]!.cells[1]).toBe("Jürgen Müller-Lüdenscheidt");
  });

  it("reads a file in the encoding the admin names, any iconv-lite knows, from the bytes those programs write", async () => {
    // Bytes as each encoding writes the names (not made with iconv-lite, which reads them): a name in a column of ASCII.
    const named = async (file: string, encoding: string, name: Buffer) => {
      const path = join(scratch, file);
      await writeFile(path, Buffer.concat([Buffer.from("email,displayName\r\nperson@example.com,"), name, Buffer.from("\r\n")]));
      const table = await openTable(path, { encoding });
      const rows: string[][] = [];
      for await (const row of table.rows) rows.push(row.cells);
      return { encoding: table.encoding, name: rows[1]![1] };
    };
    const hex = (text: string) => Buffer.from(text.replace(/ /g, ""), "hex");
    expect(await named("baltic.csv", "windows-1257", hex("4a6f6e617320 de656d616974eb"))).toEqual({ encoding: "windows-1257", name: "Jonas Žemaitė" });
    expect(await named("dos.csv", "CP850", hex("539b72656e 204d816c6c6572"))).toEqual({ encoding: "cp850", name: "Søren Müller" });
    expect(await named("dos-us.csv", "cp437", hex("4d816c6c6572"))).toEqual({ encoding: "cp437", name: "Müller" });
    expect(await named("latin2.csv", "ISO-8859-2", hex("a3756b61737a 20576fb3656b"))).toEqual({ encoding: "iso-8859-2", name: "Łukasz Wołek" });
    expect(await named("koi8.csv", "koi8-r", hex("e9d7c1ce 20f0c5d4d2cfd7"))).toEqual({ encoding: "koi8-r", name: "Иван Петров" });
    expect(await named("sjis.csv", "Shift_JIS", hex("8e5293 6391be9859"))).toEqual({ encoding: "shift_jis", name: "山田太郎" });
    expect(await named("gbk.csv", "gb18030", hex("d5c5ceb0"))).toEqual({ encoding: "gb18030", name: "张伟" });
    // Detected, the Baltic file reads as Western European: the reason to name it.
    expect((await readAll(join(scratch, "baltic.csv"))).rows[1]!.cells[1]).toBe("Jonas Þemaitë");

    // A byte-order mark of the encoding named is skipped, not read into the first heading.
    const bom = join(scratch, "named-bom.csv");
    await writeFile(bom, Buffer.concat([hex("efbbbf"), Buffer.from("email,displayName\nrene@example.com,Ren\u00e9\n")]));
    const utf8 = await openTable(bom, { encoding: "utf8" });
    const cells: string[][] = [];
    for await (const row of utf8.rows) cells.push(row.cells);
    expect(cells).toEqual([["email", "displayName"], ["rene@example.com", "René"]]);
    // UTF-8 named is checked as detected UTF-8 is: a Windows-1252 é (0xE9) would read as "�".
    const latin = join(scratch, "named-utf8-latin.csv");
    await writeFile(latin, Buffer.concat([Buffer.from("email,displayName\nrene@example.com,Ren"), hex("e9"), Buffer.from("\n")]));
    const notUtf8 = await failure(openTable(latin, { encoding: "UTF-8" }));
    expect(notUtf8).toMatchObject({ code: "import_invalid", details: { reason: "not_utf8", detected: "windows-1252" } });
    expect(notUtf8.message).toBe("The file is not utf-8: it holds bytes UTF-8 does not have (it reads as windows-1252). Leave out the encoding to have it detected, or name the one the file was saved in.");
  });

  it("refuses an encoding it does not know with examples, one given for a workbook, and a binary file read as a code page", async () => {
    const path = join(scratch, "plain.csv");
    await writeFile(path, "email,displayName\nada@example.com,Ada\n");
    const unknown = await failure(openTable(path, { encoding: "latin-9000" }));
    expect(unknown.code).toBe("invalid_input");
    expect(unknown.message).toContain('"latin-9000" is not a text encoding Rollcall knows; give one such as utf-8, utf-16le, windows-1250, windows-1252, windows-1257, iso-8859-2, cp437, cp850, koi8-r, shift_jis, gb18030');
    expect(unknown.details).toMatchObject({ fields: [{ field: "encoding", value: "latin-9000" }] });
    const workbook = await failure(openTable(fixture("libreoffice.xlsx"), { encoding: "cp850" }));
    expect(workbook).toMatchObject({ code: "invalid_input", details: { field: "encoding", value: "cp850" } });
    expect(workbook.message).toContain("Excel (.xlsx) workbook, whose text is Unicode: leave out the encoding");
    const binary = join(scratch, "binary.csv");
    await writeFile(binary, Buffer.from([0x65, 0x6d, 0x00, 0x01, 0x02, 0x00, 0x41]));
    expect((await failure(openTable(binary, { encoding: "windows-1257" }))).code).toBe("unsupported_file");
  });

  it("refuses a file mixing UTF-8 and Windows-1252 and says where", async () => {
    const error = await failure(readAll(fixture("mixed-encodings.csv")));
    expect(error.code).toBe("import_invalid");
    expect(error.details).toMatchObject({ reason: "mixed_encodings", line: 3 });
  });

  it("refuses bytes that are not UTF-8 after a UTF-8 BOM, instead of reading them as \u201c\ufffd\u201d", async () => {
    const path = join(scratch, "bom-then-latin1.csv");
    await writeFile(path, Buffer.concat([Buffer.from("\uFEFFemail,name\nada@example.com,Ada\nrene@example.com,Ren", "utf8"), Buffer.from([0xe9]), Buffer.from(" Latin\n")]));
    const error = await failure(readAll(path));
    expect(error.details).toMatchObject({ reason: "mixed_encodings", line: 3 });
    const clean = join(scratch, "bom-utf8.csv");
    await writeFile(clean, "\uFEFFemail,name\nrene@example.com,René\n");
    expect((await readAll(clean)).rows[1]!.cells).toEqual(["rene@example.com", "René"]);
  });

  it("checks the encoding across the reader's 1 MiB chunks: a character cut in two, a bad byte further on, a cut last character", async () => {
    const path = join(scratch, "chunks.csv");
    // The filler ends 16 bytes before the 1 MiB boundary, so the last row's "€" (three bytes) straddles it.
    const header = "email,name\n";
    const rowsBefore = Math.floor((1024 * 1024 - header.length) / 64);
    const filler = Array.from({ length: rowsBefore }, (_, i) => `a${String(i).padStart(6, "0")}@b.co,${"x".repeat(50)}\n`).join("");
    const start = Buffer.from(header + filler + "y".repeat(1024 * 1024 - 16 - header.length - filler.length));
    const euro = Buffer.from(",c@d.co\nz@d.co,€uro\n");
    await writeFile(path, Buffer.concat([start, euro]));
    const { table, rows } = await readAll(path);
    expect(table.encoding).toBe("utf8");
    expect(rows.at(-1)!.cells).toEqual(["z@d.co", "€uro"]);

    const latin1 = Buffer.from("e@f.co,Caf\xe9\n", "latin1");
    await writeFile(path, Buffer.concat([start, euro, latin1]));
    const mixed = await failure(readAll(path));
    expect(mixed.details).toMatchObject({ reason: "mixed_encodings", line: rowsBefore + 4, byte: start.length + euro.length + "e@f.co,Caf".length + 1 });

    await writeFile(path, Buffer.concat([Buffer.from(header + filler), euro.subarray(0, 16)]));
    expect((await failure(readAll(path))).details).toMatchObject({ reason: "truncated_utf8" });
  });

  it("numbers rows as a spreadsheet does: blank lines count, a multi-line cell does not", async () => {
    const path = join(scratch, "lines.csv");
    await writeFile(path, 'email,name\n\na@b.co,"x\ny"\nc@d.co,z\n');
    const { rows } = await readAll(path);
    expect(rows.map((r) => r.row)).toEqual([1, 3, 4]);
    await writeFile(path, 'email,name\r\n\r\n\r\na@b.co,"x\r\ny"\r\n"",\r\nc@d.co,z\r\n');
    const crlf = await readAll(path);
    expect(crlf.rows.map((r) => [r.row, r.cells.length])).toEqual([[1, 2], [4, 2], [5, 2], [6, 2]]);
  });

  it("reads a CSV cell longer than Excel allows as a value too long where imported, and refuses a row past four such cells", async () => {
    const path = join(scratch, "long-cell.csv");
    const long = "x".repeat(40_000);
    await writeFile(path, `email,name,notes\n\na@b.co,A,"${long}"\nc@d.co,"${long}",short\n`);
    const results = [];
    for await (const result of (await openImportSource(path, { defaultCountry: null })).rows) results.push(result);
    expect(results.map((r) => [r.row, r.user?.email ?? null, r.problems.map((p) => `${p.column}: ${p.message}`)])).toEqual([
      [3, "a@b.co", []],
      [4, null, ["name: is too long (at most 256 characters)"]],
    ]);
    await writeFile(path, `email,name\na@b.co,"${"x".repeat(140_000)}"\n`);
    expect((await failure(readAll(path))).message).toMatch(/^A row is larger than 131068 characters \(near line 2\); the file is damaged or not a user list\.$/);
  });

  it("detects the delimiter from the header line, ignoring quoted ones and Entra's version line", () => {
    expect(detectDelimiter('"a;b",c,d\n1;2;3;4;5')).toBe(",");
    expect(detectDelimiter("version:v1.0\nName;Email\n")).toBe(";");
    expect(detectDelimiter("\uFEFFa\tb\tc")).toBe("\t");
    expect(detectDelimiter("email")).toBe(",");
  });

  it("takes the delimiter Excel's sep= line names, and skips that line above the headers", async () => {
    expect(detectDelimiter("sep=;\r\nName,Title;Email\n")).toBe(";");
    const path = join(scratch, "sep-line.csv");
    await writeFile(path, "sep=;\r\nEmail;Name\r\nada@example.com;Lovelace, Ada\r\n");
    const source = await openImportSource(path, { defaultCountry: null });
    expect([source.table.delimiter, source.mapping.headers]).toEqual([";", ["Email", "Name"]]);
  });

  it("refuses a 10 MB single cell with a clear error instead of reading it", async () => {
    const path = join(scratch, "huge-cell.csv");
    await writeFile(path, `email,name\na@b.co,"${"x".repeat(10 * 1024 * 1024)}"\n`);
    const error = await failure(readAll(path));
    expect(error.code).toBe("import_invalid");
    expect(error.message).toMatch(/larger than|more than/);
  });

  it("refuses an unclosed quote (a truncated file)", async () => {
    const path = join(scratch, "unclosed.csv");
    await writeFile(path, 'email,name\na@b.co,"Ada\n');
    const error = await failure(readAll(path));
    expect(error.message).toMatch(/never closed/);
  });

  it.each([
    ["empty.csv", "import_invalid", /empty/],
    ["garbage.bin", "unsupported_file", /binary/],
  ])("refuses %s", async (name, code, message) => {
    const error = await failure(readAll(fixture(name)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});

describe("XLSX reading", () => {
  it("reads a workbook written by LibreOffice keeping zero-padded cards, long numbers and dates as shown", async () => {
    const { table, rows } = await readAll(fixture("libreoffice.xlsx"));
    expect(table).toMatchObject({ format: "xlsx", sheet: "Staff", sheets: ["Staff", "Contractors"] });
    expect(rows[1]!.cells).toEqual(["ada@example.com", "Ada Lovelace", "000123", "+447911123456", "12345678901", "2024-03-01", "Engineers, Analysts"]);
    expect(rows[2]!.cells.slice(2, 6)).toEqual(["000042", "07911 123457", "98765432109876", "2023-12-31"]);
  });

  it("reads a named sheet case-insensitively and lists the sheets when the name is wrong", async () => {
    const { rows } = await readAll(fixture("libreoffice.xlsx"), "contractors");
    expect(rows[1]!.cells).toEqual(["linus@example.org", "Linus", "Torvalds"]);
    const error = await failure(readAll(fixture("libreoffice.xlsx"), "Nope"));
    expect(error.message).toContain("Staff, Contractors");
  });

  it("reads the first visible sheet by default, matches --sheet without surrounding spaces, and names the sheet in column problems", async () => {
    const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`;
    const cell = (ref: string, text: string) => `<c r="${ref}" t="inlineStr"><is><t>${text}</t></is></c>`;
    const sheet = (rows: string[][]) => `<worksheet ${ns}><sheetData>${rows.map((cells, r) => `<row r="${r + 1}">${cells.map((t, c) => cell(`${"AB"[c]}${r + 1}`, t)).join("")}</row>`).join("")}</sheetData></worksheet>`;
    const path = join(scratch, "hidden-lookup.xlsx");
    await writeFile(path, zipArchive({
      "xl/workbook.xml": `<workbook ${ns}><sheets><sheet name="Lookup" sheetId="1" state="hidden" r:id="rId1"/><sheet name="Staff " sheetId="2" r:id="rId2"/></sheets></workbook>`,
      "xl/_rels/workbook.xml.rels": `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="worksheets/sheet2.xml"/></Relationships>`,
      "xl/worksheets/sheet1.xml": sheet([["code", "value"], ["1", "Ops"]]),
      "xl/worksheets/sheet2.xml": sheet([["email", "name"], ["ada@example.com", "Ada"]]),
    }));
    expect((await readAll(path)).table.sheet).toBe("Staff ");
    expect((await readAll(path, "staff")).rows[1]!.cells).toEqual(["ada@example.com", "Ada"]);
    const error = await failure(openImportSource(path, { sheet: "Lookup", defaultCountry: null }));
    expect(error.message).toMatch(/^Sheet "Lookup" \(of "Lookup", "Staff "; choose another with --sheet, or the console's Sheet list\): Required columns are missing/);
  });

  // As the Open XML SDK writes them: every element with a prefix, shared strings with rich text and phonetic runs.
  const prefixed = (sheetData: string) => ({
    "[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
    "xl/workbook.xml": `<?xml version="1.0" encoding="utf-8"?><x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets><x:sheet name="People &amp; Cards" sheetId="1" r:id="rId7"/></x:sheets></x:workbook>`,
    "xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/></Relationships>`,
    "xl/sharedStrings.xml": `<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:si><x:t>email</x:t></x:si><x:si><x:t>card</x:t></x:si><x:si><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve">Ada </x:t></x:r><x:r><x:t>&lt;Lovelace&gt;</x:t></x:r><x:rPh sb="0" eb="1"><x:t>ignored</x:t></x:rPh></x:si></x:sst>`,
    "xl/styles.xml": `<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:cellXfs count="2"><x:xf numFmtId="0"/><x:xf numFmtId="49"/></x:cellXfs></x:styleSheet>`,
    "xl/worksheets/data.xml": `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>${sheetData}</x:sheetData></x:worksheet>`,
  });

  it("reads a cell merged down several rows as each of those rows' value, as Excel shows it; a title merged across one row stays as it is", async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet("Staff");
    sheet.addRows([
      ["Staff list"], ["Email", "Name", "Department", "Groups", "Site"],
      ["a@example.com", "A", "Sales", "Team A", "Leeds"], ["b@example.com", "B", null, null, null], ["c@example.com", "C", null, "Team C", "York"], ["d@example.com", "D", "Ops", null, null],
    ]);
    sheet.mergeCells("A1:E1");
    sheet.mergeCells("C3:C5");
    sheet.mergeCells("D3:E4");
    const path = join(scratch, "merged.xlsx");
    await workbook.xlsx.writeFile(path);
    const { rows } = await readAll(path);
    expect(rows.map((r) => r.cells)).toEqual([
      ["Staff list", "", "", "", ""], ["Email", "Name", "Department", "Groups", "Site"],
      ["a@example.com", "A", "Sales", "Team A", "Team A"], ["b@example.com", "B", "Sales", "Team A", "Team A"], ["c@example.com", "C", "Sales", "Team C", "York"], ["d@example.com", "D", "Ops"],
    ]);
  });

  it("reads a workbook whose elements all carry a namespace prefix, as the Open XML SDK writes them", async () => {
    const path = join(scratch, "prefixed.xlsx");
    await writeFile(path, zipArchive(prefixed(`<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>
      <x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>ada@example.com</x:t></x:is></x:c><x:c r="B2" s="1"><x:v>123</x:v></x:c><x:c r="C2" t="s"><x:v>2</x:v></x:c></x:row>`)));
    const { table, rows } = await readAll(path);
    expect(table).toMatchObject({ format: "xlsx", sheets: ["People & Cards"] });
    expect(rows).toEqual([{ row: 1, cells: ["email", "card"] }, { row: 2, cells: ["ada@example.com", "123", "Ada <Lovelace>"], numbers: [1] }]);
  });

  it("refuses column headings that are formulas without a saved result, naming their cells, instead of reading the next row as headings", async () => {
    const path = join(scratch, "heading-formulas.xlsx");
    const text = (ref: string, t: string) => `<x:c r="${ref}" t="inlineStr"><x:is><x:t>${t}</x:t></x:is></x:c>`;
    await writeFile(path, zipArchive(prefixed([
      `<x:row r="1"><x:c r="A1" t="str"><x:f>"email"</x:f></x:c><x:c r="B1" t="str"><x:f>"name"</x:f></x:c></x:row>`,
      `<x:row r="2">${text("A2", "email")}${text("B2", "name")}</x:row>`,
      `<x:row r="3">${text("A3", "ada@example.com")}${text("B3", "Ada")}</x:row>`,
    ].join(""))));
    const error = await failure(openImportSource(path, { defaultCountry: null }));
    expect(error).toMatchObject({ code: "import_invalid", details: { reason: "header_formula", cells: ["A1", "B1"] } });
    expect(error.message).toMatch(/^The column headings in A1, B1 are formulas with no saved result: open the file in Excel and save it/);
  });

  it("names an OpenDocument spreadsheet (.ods) and says how to save it as .xlsx", async () => {
    const path = join(scratch, "staff.xlsx");
    await writeFile(path, zipArchive({ mimetype: "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<office:document-content/>", "META-INF/manifest.xml": "<manifest/>" }));
    const error = await failure(readAll(path));
    expect(error).toMatchObject({ code: "unsupported_file", details: { reason: "ods" } });
    expect(error.message).toContain("File > Save As > Excel 2007-365 (.xlsx)");
  });

  // The package's relationships name the parts; Excel's paths are a convention other writers need not follow.
  it("finds the workbook, its sheets, shared strings and styles where the package's relationships say they are", async () => {
    const path = join(scratch, "elsewhere.xlsx");
    const rel = (type: string, target: string, id = type) => `<Relationship Id="${id}" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/${type}" Target="${target}"/>`;
    const ns = `xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`;
    await writeFile(path, zipArchive({
      "_rels/.rels": `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rel("officeDocument", "book/main.xml")}</Relationships>`,
      "book/main.xml": `<x:workbook ${ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets><x:sheet name="People" sheetId="1" r:id="rId9"/></x:sheets></x:workbook>`,
      "book/_rels/main.xml.rels": `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rel("worksheet", "../data/people.xml", "rId9")}${rel("sharedStrings", "words.xml")}${rel("styles", "/book/looks.xml")}</Relationships>`,
      "book/words.xml": `<x:sst ${ns}><x:si><x:t>email</x:t></x:si><x:si><x:t>card</x:t></x:si></x:sst>`,
      "book/looks.xml": `<x:styleSheet ${ns}><x:cellXfs count="2"><x:xf numFmtId="0"/><x:xf numFmtId="14"/></x:cellXfs></x:styleSheet>`,
      "data/people.xml": `<x:worksheet ${ns}><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c></x:row>
        <x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>ada@example.com</x:t></x:is></x:c><x:c r="B2" s="1"><x:v>45000</x:v></x:c></x:row></x:sheetData></x:worksheet>`,
    }));
    const { table, rows } = await readAll(path);
    expect(table).toMatchObject({ format: "xlsx", sheets: ["People"] });
    // 45000 in a date format (style 1 of looks.xml) reads as that date, so the styles were found too.
    expect(rows).toEqual([{ row: 1, cells: ["email", "card"] }, { row: 2, cells: ["ada@example.com", "2023-03-15"] }]);
  });

  // As programs that write formulas without computing them save a sheet: <f> without <v>. Excel saves each result in <v>.
  it("makes a formula cell without a saved result a problem at that cell where the import reads it, never a blank", async () => {
    const path = join(scratch, "formulas.xlsx");
    const text = (ref: string, t: string) => `<x:c r="${ref}" t="inlineStr"><x:is><x:t>${t}</x:t></x:is></x:c>`;
    await writeFile(path, zipArchive(prefixed([
      `<x:row r="1">${text("A1", "email")}${text("B1", "name")}${text("C1", "note")}</x:row>`,
      // A result saved beside its formula is read as the value.
      `<x:row r="2">${text("A2", "ada@example.com")}<x:c r="B2" t="str"><x:f>UPPER("ada")</x:f><x:v>ADA</x:v></x:c></x:row>`,
      // The email is computed and its result was never saved.
      `<x:row r="3"><x:c r="A3"><x:f>LOWER(B3)&amp;"@example.com"</x:f></x:c>${text("B3", "Grace")}</x:row>`,
      // A shared formula's other cells carry only a reference to it.
      `<x:row r="4">${text("A4", "linus@example.com")}<x:c r="B4" t="str"><x:f t="shared" si="0"/></x:c></x:row>`,
      // Not read by the import (an unknown column), nor a saved empty result: blank rows, skipped.
      `<x:row r="5"><x:c r="C5"><x:f>1+1</x:f></x:c></x:row>`,
      `<x:row r="6"><x:c r="A6" t="str"><x:f>""</x:f><x:v></x:v></x:c></x:row>`,
    ].join(""))));
    const { rows } = await readAll(path);
    expect(rows.slice(1)).toEqual([
      { row: 2, cells: ["ada@example.com", "ADA"] },
      { row: 3, cells: ["", "Grace"], formulasWithoutResult: [0] },
      { row: 4, cells: ["linus@example.com", ""], formulasWithoutResult: [1] },
      { row: 5, cells: ["", "", ""], formulasWithoutResult: [2] },
      { row: 6, cells: [""] },
    ]);
    const source = await openImportSource(path, { defaultCountry: null });
    const results: { row: number; user?: { email: string | null; displayName: string }; problems: unknown[] }[] = [];
    for await (const result of source.rows) results.push(result);
    expect(results).toEqual([
      { row: 2, user: expect.objectContaining({ email: "ada@example.com", displayName: "ADA" }), problems: [] },
      { row: 3, problems: [{ row: 3, column: "email", field: "email", message: "A3 holds a formula with no saved result: open the file in Excel and save it (or paste the values over the formulas), then import again" }] },
      { row: 4, problems: [{ row: 4, column: "name", field: "displayName", message: expect.stringMatching(/^B4 holds a formula with no saved result/) }] },
    ]);
  });

  it("refuses a worksheet that is not well-formed XML, saying where it breaks", async () => {
    const path = join(scratch, "crossed.xlsx");
    await writeFile(path, zipArchive(prefixed(`<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:row></x:c>`)));
    const error = await failure(readAll(path));
    expect(error.code).toBe("unsupported_file");
    expect(error.message).toBe("The Excel file is damaged (</x:row> closes <x:c>). Save it again from Excel, or export it as CSV.");
  });

  it.each([
    ["truncated.xlsx", "unsupported_file", /damaged or incomplete/],
    ["corrupt.xlsx", "unsupported_file", /damaged/],
    ["zip-bomb.xlsx", "payload_too_large", /zip bomb/],
    ["zip-bomb-lying.xlsx", "payload_too_large", /beyond its declared size/],
  ])("refuses %s", async (name, code, message) => {
    const error = await failure(readAll(fixture(name)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});

describe("cell text", () => {
  it("formats numbers as Excel shows them, never with an exponent", () => {
    expect(formatNumber(123, "000000")).toBe("000123");
    expect(formatNumber(12000000000, "General")).toBe("12000000000");
    expect(plainNumber(447911123456)).toBe("447911123456");
    expect(formatNumber(45352, "yyyy-mm-dd")).toBe("2024-03-01");
    expect(formatNumber(1.5, "General")).toBe("1.5");
  });

  it("keeps the literals and zeros of a digit pattern, as Excel shows the cell", () => {
    expect(formatNumber(123, '"EMP"00000')).toBe("EMP00123");
    expect(formatNumber(42, "00-0000")).toBe("00-0042");
    expect(formatNumber(123456, "00-0000")).toBe("12-3456");
    expect(formatNumber(1234567, "00-0000")).toBe("123-4567");
    expect(formatNumber(42, "000 000")).toBe("000 042");
    expect(formatNumber(42, "\\C#####")).toBe("C42");
    expect(formatNumber(7, '[Blue]"ID-"000;[Red]"-"000')).toBe("ID-007");
    expect(formatNumber(0, "#")).toBe("");
    // Not a digit pattern: read as before.
    expect(formatNumber(1234, "#,##0")).toBe("1234");
    expect(formatNumber(0.12, "0%")).toBe("12%");
    expect(formatNumber(0.07, "0.0%")).toBe("7%");
    expect(formatNumber(0.35, "h:mm")).toBe("08:24");
    expect(formatNumber(0.35, "hh:mm:ss")).toBe("08:24:00");
    expect(formatNumber(45352.35, "yyyy-mm-dd h:mm")).toBe("2024-03-01 08:24:00");
    expect(formatNumber(12.5, "00-0000")).toBe("12.5");
  });

  it("reads Excel's text formula =\"00123\" as the text it keeps", () => {
    expect(textFormulaValue('="00123"')).toBe("00123");
    expect(textFormulaValue('="say ""hi"""')).toBe('say "hi"');
    expect(textFormulaValue('=""')).toBe("");
    for (const value of ["=SUM(A1)", '="a"&"b"', '="open', "00123"]) expect(textFormulaValue(value)).toBe(value);
  });

  it("neutralises formula-like cells and strips exactly that prefix again", () => {
    for (const value of ["=SUM(A1)", "+447911123456", "-5", "@cmd", "\tx", "\rx"]) {
      expect(neutralise(value)).toBe(`'${value}`);
      expect(unneutralise(neutralise(value))).toBe(value);
    }
    expect(neutralise("Ada")).toBe("Ada");
    expect(unneutralise("'quoted")).toBe("'quoted");
    // A value with an apostrophe of its own before a trigger keeps it through the round trip.
    for (const value of ["'-lead", "''=x", "'@home"]) {
      expect(neutralise(value)).toBe(`'${value}`);
      expect(unneutralise(neutralise(value))).toBe(value);
    }
    expect(neutralise("'quoted")).toBe("'quoted");
  });
});
