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
  const section = stripLiterals(code.split(";")[0] ?? "General");
  const zeros = /^0+$/.exec(section);
  if (zeros && Number.isInteger(value) && value >= 0) return String(value).padStart(zeros[0].length, "0");
  if (/[dmyhs]/i.test(section) && !/general/i.test(section)) return formatDate(value, /[hs]/i.test(section), date1904);
  return plainNumber(value);
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
