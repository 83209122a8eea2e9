import { describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text as readText } from "node:stream/consumers";
import { SaxesParser } from "saxes";
import ExcelJS from "exceljs";
import { attributeValues, XlsxXmlScanner } from "../../src/sources/import/xlsx-xml.ts";
import { openEntry, readZipDirectory } from "../../src/sources/import/zip.ts";

type Event = ["open", string, string] | ["text", string] | ["close", string];

/** The scanner's events for `xml` fed in `pieces`, with consecutive text joined (a chunk may cut a text). */
function scan(pieces: string[]): Event[] {
  const events: Event[] = [];
  const scanner = new XlsxXmlScanner({
    open: (name, raw) => events.push(["open", name, JSON.stringify(attributeValues(raw, ["r", "t", "s"]))]),
    text: (text) => (events.at(-1)?.[0] === "text" ? ((events.at(-1) as ["text", string])[1] += text) : events.push(["text", text])),
    close: (name) => events.push(["close", name]),
  });
  for (const piece of pieces) scanner.write(piece);
  scanner.end();
  return events.filter((e) => e[0] !== "text" || e[1] !== "");
}

/** The same events from saxes, a conforming parser: what the scanner must agree with. */
function saxesEvents(xml: string): Event[] {
  const events: Event[] = [];
  const local = (name: string) => name.slice(name.indexOf(":") + 1);
  const parser = new SaxesParser();
  parser.on("error", (error) => {
    throw error;
  });
  parser.on("opentag", (tag) => {
    const attributes = tag.attributes as Record<string, string>;
    events.push(["open", local(tag.name), JSON.stringify([attributes.r, attributes.t, attributes.s])]);
  });
  parser.on("text", (text) => (events.at(-1)?.[0] === "text" ? ((events.at(-1) as ["text", string])[1] += text) : events.push(["text", text])));
  parser.on("cdata", (text) => (events.at(-1)?.[0] === "text" ? ((events.at(-1) as ["text", string])[1] += text) : events.push(["text", text])));
  parser.on("closetag", (tag) => events.push(["close", local(tag.name)]));
  parser.write(xml).close();
  // saxes reports whitespace outside the root as text; the scanner checks it and drops it.
  return events.filter((e, i) => e[0] !== "text" || (i > 0 && i < events.length - 1 && e[1] !== ""));
}

const handWritten = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- written by hand: what other programs put in a worksheet -->
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">
  <x:sheetData>
    <x:row r="1" spans="1:3" x14ac:dyDescent="0.25">
      <x:c r="A1" t="inlineStr"><x:is><x:t>Tom &amp; Jerry &lt;tj@example.com&gt; &quot;q&quot; &apos;a&apos; &#65;&#x42;&#x1F600;</x:t></x:is></x:c>
      <x:c r = 'B1'
           s = "3" t='str'><x:f>A1&amp;"&gt;"</x:f><x:v>1 &gt; 0</x:v></x:c>
      <x:c r="C1" t="inlineStr"><x:is><x:r><x:rPr><x:b/></x:rPr><x:t xml:space="preserve">  rich </x:t></x:r><x:r><x:t>text\r\non lines\rand &#13;kept</x:t></x:r></x:is></x:c>
    </x:row>
    <x:row r="3"><x:c r="A3" s="1"/><x:c r="B3" data-note="a > b"><x:v><![CDATA[12<34 & more]]></x:v></x:c></x:row>
    <x:row r="4"/>
  </x:sheetData>
</x:worksheet>
`;

async function sheetXml(path: string): Promise<string> {
  const entries = await readZipDirectory(path);
  return readText(await openEntry(path, entries.get("xl/worksheets/sheet1.xml")!));
}

async function exceljsSheet(): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet("Users");
  sheet.addRow(["email", "name", "card", "joined"]);
  sheet.addRow(["a&b@example.com", "Zoë <admin>", "000123", new Date(Date.UTC(2024, 2, 1))]);
  sheet.addRow([42, true, { formula: "A2&B2", result: "x" }, null]);
  const dir = await mkdtemp(join(tmpdir(), "rollcall-xlsx-xml-"));
  try {
    await workbook.xlsx.writeFile(join(dir, "users.xlsx"));
    return await sheetXml(join(dir, "users.xlsx"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the .xlsx XML scanner", () => {
  it("gives the events saxes gives, on sheets written by LibreOffice, by ExcelJS and by hand", async () => {
    const documents = [handWritten, `\uFEFF${handWritten}`, await sheetXml(join(import.meta.dirname, "../fixtures/import/libreoffice.xlsx")), await exceljsSheet()];
    for (const xml of documents) {
      const expected = saxesEvents(xml);
      expect(expected.length).toBeGreaterThan(20);
      expect(scan([xml])).toEqual(expected);
    }
    expect(scan([handWritten])).toContainEqual(["text", `Tom & Jerry <tj@example.com> "q" 'a' AB😀`]);
    expect(scan([handWritten])).toContainEqual(["open", "c", JSON.stringify(["B1", "str", "3"])]);
    expect(scan([handWritten])).toContainEqual(["text", "text\non lines\nand \rkept"]);
  });

  it("gives the same events wherever the stream's chunks cut the document", () => {
    const expected = scan([handWritten]);
    for (let cut = 1; cut < handWritten.length; cut++) {
      expect(scan([handWritten.slice(0, cut), handWritten.slice(cut)]), `cut at ${cut}`).toEqual(expected);
    }
    expect(scan([...handWritten])).toEqual(expected);
  });

  it.each([
    ["an element closed by another's end tag", "<a><b></a></b>", "</a> closes <b>"],
    ["an end tag with nothing open", "<a/></b>", "</b> closes nothing"],
    ["an element left open", "<a><b></b>", "before <a> is closed"],
    ["a second root element", "<a/><b/>", "a second root element"],
    ["text outside the root", "<a/>trailing words", "text outside the root element"],
    ["an unknown entity", "<a>&nbsp;</a>", "unknown entity"],
    ["a bare ampersand", "<a>Tom & Jerry</a>", "unknown entity"],
    ["a code point beyond Unicode", "<a>&#x110000;</a>", "unknown entity"],
    ["a < inside an attribute value", '<a b="<"/>', "a < inside an attribute value"],
    ["a tag cut by another", "<a <b/>", "an unterminated tag"],
    ["a document type declaration", '<!DOCTYPE a [<!ENTITY x "y">]><a/>', "document type declaration"],
    ["a comment never closed", "<a/><!-- to the end", "ends inside a tag"],
    ["a tag never closed", '<a><b r="1"', "ends inside a tag"],
    ["no element at all", "just text", "text outside the root element"],
    ["an empty part", "", "has no XML element"],
    ["a tag without a name", "< a/>", "a tag without a name"],
  ])("refuses %s", (_, xml, message) => {
    expect(() => scan([xml])).toThrow(message);
  });

  it("refuses a malformed attribute of a cell", () => {
    for (const raw of [' r="A1', " r=A1", " r", ' ="A1"', ' r s="1"']) expect(() => attributeValues(raw, ["r"])).toThrow("malformed attribute");
    expect(attributeValues(' xr:r="X" r="A1" t="s"', ["r", "t", "s"])).toEqual(["A1", "s", undefined]);
  });

  it("refuses a tag that never ends instead of holding it in memory", () => {
    const scanner = new XlsxXmlScanner({ open() {}, text() {}, close() {} });
    scanner.write('<a><b c="');
    expect(() => {
      for (let i = 0; i < 20; i++) scanner.write("x".repeat(64 * 1024));
    }).toThrow("a tag longer than");
  });
});
