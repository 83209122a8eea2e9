/**
 * The XML parts of an .xlsx file as the few events reading them needs: elements opened (local name and raw
 * attributes), text, elements closed. A workbook's worksheet is nearly all of it (50 MB of XML for 100,000
 * rows of ten columns): saxes, a conforming general parser, spent 0.9 s of CPU on that, this scanner, which
 * finds markup with `indexOf`, spends 0.3 s (BENCHMARKS.md, import, session 25). SheetJS reads
 * worksheets the same way. Elements are named without their namespace prefix (`<x:row>` is a row), as files
 * written with the Open XML SDK have them.
 *
 * It still refuses what is not well-formed: unbalanced or crossed elements, text or a second element
 * outside the root, unknown entities, a `<` inside a tag, an unterminated tag, comment or CDATA section,
 * and document type declarations, which Office Open XML forbids (ECMA-376 Part 2, rule M1.18). The errors are
 * plain `Error`s; the caller words them for the admin. test/import/xlsx-xml.test.ts compares its events
 * with saxes's.
 */
export interface XlsxXmlEvents {
  open(name: string, attributes: string): void;
  text(text: string): void;
  close(name: string): void;
}

/** The longest tag, comment or CDATA section kept across chunks (a cell holds at most 32,767 characters). */
const maxPending = 1024 * 1024;

export class XlsxXmlScanner {
  /** The start of a token the last chunk cut. */
  private pending = "";
  private readonly open: string[] = [];
  private rootClosed = false;

  constructor(private readonly events: XlsxXmlEvents) {}

  write(chunk: string): void {
    const text = this.pending + chunk;
    const done = this.scan(text);
    this.pending = done === text.length ? "" : text.slice(done);
    if (this.pending.length > maxPending) throw new Error(`a tag longer than ${maxPending} characters`);
  }

  end(): void {
    if (this.pending !== "") throw new Error(`it ends inside a tag ("${this.pending.slice(0, 40)}")`);
    if (this.open.length) throw new Error(`it ends before <${this.open.at(-1)}> is closed`);
    if (!this.rootClosed) throw new Error("it has no XML element");
  }

  /** Hands out every complete token of `s`; returns where the first incomplete one starts. */
  private scan(s: string): number {
    const n = s.length;
    let i = 0;
    while (i < n) {
      const lt = s.indexOf("<", i);
      if (lt !== i) {
        // Text. At the end of the chunk it may go on in the next one: keep back what could be half an entity or a CR LF.
        let end = lt;
        if (lt < 0) {
          const amp = s.lastIndexOf("&");
          end = amp >= i && s.indexOf(";", amp) < 0 ? amp : s.charCodeAt(n - 1) === 13 ? n - 1 : n;
        }
        if (end > i) this.text(s.slice(i, end));
        if (lt < 0) return end;
        i = lt;
      }
      if (i + 1 >= n) return i;
      const next = s.charCodeAt(i + 1);
      if (next === 47 /* / */) {
        const gt = s.indexOf(">", i);
        if (gt < 0) return i;
        this.close(s.slice(i + 2, gt).trimEnd());
        i = gt + 1;
      } else if (next === 63 /* ? */) {
        const end = s.indexOf("?>", i + 2);
        if (end < 0) return i;
        i = end + 2;
      } else if (next === 33 /* ! */) {
        const rest = n - i < 9 ? s.slice(i) : "";
        if (rest && ("<!--".startsWith(rest) || "<![CDATA[".startsWith(rest))) return i;
        if (s.startsWith("<!--", i)) {
          const end = s.indexOf("-->", i + 4);
          if (end < 0) return i;
          i = end + 3;
        } else if (s.startsWith("<![CDATA[", i)) {
          const end = s.indexOf("]]>", i + 9);
          if (end < 0) return i;
          if (!this.open.length) throw new Error("a CDATA section outside the root element");
          this.events.text(s.slice(i + 9, end));
          i = end + 3;
        } else {
          throw new Error("a document type declaration, which Office files never have");
        }
      } else {
        const gt = tagEnd(s, i + 1);
        if (gt < 0) return i;
        this.openTag(s, i + 1, gt);
        i = gt + 1;
      }
    }
    return n;
  }

  private openTag(s: string, from: number, gt: number): void {
    const selfClosing = s.charCodeAt(gt - 1) === 47;
    const end = selfClosing ? gt - 1 : gt;
    let nameEnd = from;
    while (nameEnd < end && !isSpace(s.charCodeAt(nameEnd))) nameEnd++;
    const name = s.slice(from, nameEnd);
    if (name === "") throw new Error(`a tag without a name ("${s.slice(from - 1, Math.min(gt + 1, from + 40))}")`);
    if (this.rootClosed) throw new Error(`a second root element <${name}>`);
    const local = localName(name);
    this.events.open(local, s.slice(nameEnd, end));
    if (selfClosing) {
      this.events.close(local);
      if (!this.open.length) this.rootClosed = true;
    } else {
      this.open.push(name);
    }
  }

  private close(name: string): void {
    const expected = this.open.pop();
    if (expected !== name) throw new Error(expected ? `</${name}> closes <${expected}>` : `</${name}> closes nothing`);
    this.events.close(localName(name));
    if (!this.open.length) this.rootClosed = true;
  }

  private text(text: string): void {
    // XML reads every line break as LF (XML 1.0, §2.11), before entities: "&#13;" stays a CR.
    if (this.open.length) this.events.text(decodeEntities(text.indexOf("\r") < 0 ? text : text.replace(/\r\n?/g, "\n")));
    else if (text.trim() !== "") throw new Error(`text outside the root element ("${text.trim().slice(0, 40)}")`);
  }
}

/** The `>` ending the tag whose name starts at `from`, skipping quoted attribute values; -1 if the chunk cuts it. */
function tagEnd(s: string, from: number): number {
  let quote = 0;
  for (let j = from; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (quote) {
      if (c === quote) quote = 0;
      else if (c === 60) throw new Error("a < inside an attribute value");
    } else if (c === 62 /* > */) return j;
    else if (c === 34 || c === 39) quote = c;
    else if (c === 60) throw new Error(`an unterminated tag ("${s.slice(from - 1, j).slice(0, 40)}")`);
  }
  return -1;
}

/**
 * The values of the attributes named `names` (`r`, `t` and `s` of a cell: unprefixed, as SpreadsheetML's own
 * attributes are), decoded, in that order; undefined where the tag has no such attribute. Every attribute
 * must be well-formed.
 */
export function attributeValues(raw: string, names: readonly string[]): (string | undefined)[] {
  const values = new Array<string | undefined>(names.length);
  const n = raw.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(raw.charCodeAt(i))) i++;
    if (i >= n) return values;
    const eq = raw.indexOf("=", i);
    let nameEnd = eq;
    while (nameEnd > i && isSpace(raw.charCodeAt(nameEnd - 1))) nameEnd--;
    let q = eq + 1;
    while (q < n && isSpace(raw.charCodeAt(q))) q++;
    const quote = raw.charCodeAt(q);
    const close = eq > i && (quote === 34 || quote === 39) ? raw.indexOf(quote === 34 ? '"' : "'", q + 1) : -1;
    if (nameEnd === i || close < 0 || hasSpace(raw, i, nameEnd)) throw new Error(`a malformed attribute ("${raw.slice(i, i + 40)}")`);
    for (let k = 0; k < names.length; k++) {
      const name = names[k]!;
      if (nameEnd - i === name.length && raw.startsWith(name, i)) values[k] = decodeEntities(raw.slice(q + 1, close));
    }
    i = close + 1;
  }
}

function hasSpace(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (isSpace(s.charCodeAt(i))) return true;
  return false;
}

const namedEntities: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const entityPattern = /&(?:#x([0-9a-fA-F]{1,6});|#([0-9]{1,7});|(lt|gt|amp|quot|apos);)?/g;

function decodeEntities(text: string): string {
  if (text.indexOf("&") < 0) return text;
  return text.replace(entityPattern, (match, hex: string | undefined, decimal: string | undefined, name: string | undefined, at: number) => {
    if (name) return namedEntities[name]!;
    const code = hex ? parseInt(hex, 16) : decimal ? parseInt(decimal, 10) : -1;
    if (code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new Error(`an unknown entity ("${text.slice(at, at + 12)}")`);
    return String.fromCodePoint(code);
  });
}

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}
