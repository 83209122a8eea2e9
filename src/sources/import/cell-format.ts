/**
 * Turns a numeric XLSX cell into the text the admin sees in Excel, for the formats that matter in a
 * user list: zero-padded codes ("000123" card numbers kept with a 000000 format), plain integers that
 * must never become 1.2E+10 (long phone and card numbers), and dates. Pure.
 */
const builtinFormats: Record<number, string> = {
  0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
  14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
  22: "yyyy-mm-dd h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
  45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
};

export function formatCode(numFmtId: number, custom: Map<number, string>): string {
  return custom.get(numFmtId) ?? builtinFormats[numFmtId] ?? "General";
}

export function formatNumber(value: number, code: string, date1904 = false): string {
  const first = code.split(";")[0] ?? "General";
  const digits = Number.isInteger(value) && value >= 0 ? digitPattern(first, value) : undefined;
  if (digits !== undefined) return digits;
  const section = stripLiterals(first);
  if (/general/i.test(section)) return plainNumber(value);
  // A time of day alone ("h:mm" shows 08:24), not the day it counts from (1899-12-30).
  if (/[hs]/i.test(section) && !/[dy]/i.test(section)) return formatDate(value, true, date1904).slice(11, /s/i.test(section) ? 19 : 16);
  if (/[dmyhs]/i.test(section)) return formatDate(value, /[hs]/i.test(section), date1904);
  if (section.includes("%")) return `${plainNumber(Number((value * 100).toPrecision(15)))}%`;
  return plainNumber(value);
}

/**
 * A whole number in a format of digit placeholders and literals, as Excel shows it: 000000 keeps "000123",
 * "EMP"00000 gives "EMP00123", 00-0000 gives "00-0042", 000 000 "000 042". Undefined for any other format
 * (decimals, grouping, percentages, exponents, dates), which the caller reads its own way.
 */
function digitPattern(section: string, value: number): string | undefined {
  const parts: (string | { fill: string })[] = [];
  for (let i = 0; i < section.length; i++) {
    const c = section[i]!;
    if (c === '"') {
      const end = section.indexOf('"', i + 1);
      if (end < 0) return undefined;
      parts.push(section.slice(i + 1, end));
      i = end;
    } else if (c === "\\") parts.push(section[++i] ?? "");
    else if (c === "[") {
      const end = section.indexOf("]", i);
      if (end < 0) return undefined;
      i = end; // a colour or a condition
    } else if (c === "_" || c === "*") i++; // the width of a character, a fill: spacing only
    else if (c === "0" || c === "#" || c === "?") parts.push({ fill: c === "0" ? "0" : c === "?" ? " " : "" });
    else if (" -()+$".includes(c) || c.charCodeAt(0) > 127) parts.push(c);
    else return undefined;
  }
  const slots = parts.filter((part) => typeof part !== "string").length;
  if (slots === 0) return undefined;
  // Digits fill the placeholders from the right; the leftmost takes any digits beyond them.
  const number = value === 0 ? "" : plainNumber(value); // zero has no significant digit: "#" shows nothing, "0" a zero
  const spare = Math.max(0, number.length - slots);
  let slot = 0;
  return parts
    .map((part) => {
      if (typeof part === "string") return part;
      const at = number.length - slots + slot++;
      if (slot === 1 && spare) return number.slice(0, spare + 1);
      return at >= 0 ? number[at]! : part.fill;
    })
    .join("");
}

/** Every digit, never an exponent: 12345678901 stays "12345678901". */
export function plainNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return BigInt(value).toString();
  return value.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 15 });
}

function stripLiterals(section: string): string {
  return section
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/[_*]./g, "")
    .trim();
}

function formatDate(serial: number, withTime: boolean, date1904: boolean): string {
  // Excel's 1900 system counts the non-existent 29 Feb 1900, hence 25569 days to 1970-01-01.
  const epochDays = date1904 ? 24107 : 25569;
  const ms = Math.round((serial - epochDays) * 86_400_000);
  const iso = new Date(ms).toISOString();
  return withTime ? iso.slice(0, 19).replace("T", " ") : iso.slice(0, 10);
}
